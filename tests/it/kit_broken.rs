//! Fourteen broken projections, one mistake each, and the law of `detente::testing` that must
//! catch it at the kit's default settings (`FoldLaws::<P>::new()`: 64 cases per in-memory law).
//!
//! In the test suite each runs from a fixed seed, so it cannot flake. The same table drives
//! `examples/kit_catch_rate.rs`, which runs each mistake many times from random seeds and
//! prints how often it is caught (`docs/testing.md`, "How often the kit catches a mistake").

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use chrono::{DateTime, NaiveDate, Utc};
use detente::domain::{Event, ItemId, NewEvent, Projection, ReadMode, RecordedEvent};
use detente::testing::proptest::strategy::{Strategy, ValueTree};
use detente::testing::strategies::valid_log;
use detente::testing::{FoldLaws, Law, LawConfig, LawFailure, Trap, history_from_jsonl, traps_in};

/// One mistake: the projection that makes it, and the law that must report it.
pub struct Mistake {
    /// What is wrong, in a few words.
    pub name: &'static str,
    /// The law that must catch it.
    pub law: Law,
    /// Runs the kit on the projection with these settings.
    pub run: fn(LawConfig) -> Result<(), LawFailure>,
    /// Checks one law on one given history (a pasted regression).
    pub replay: fn(&[NewEvent], Law) -> Result<(), LawFailure>,
}

/// [`Mistake::run`] for `P`.
pub fn run<P: Projection>(config: LawConfig) -> Result<(), LawFailure> {
    FoldLaws::<P>::with_config(config).check()
}

/// [`Mistake::replay`] for `P`.
pub fn replay<P: Projection>(history: &[NewEvent], law: Law) -> Result<(), LawFailure> {
    FoldLaws::<P>::new().laws(&[law]).check_history(history)
}

/// The fourteen mistakes, in the order of the issue that listed them.
pub const MISTAKES: [Mistake; 14] = [
    Mistake {
        name: "latest talks chosen by recorded_at",
        law: Law::AppendOrderIndependence,
        run: run::<LatestTalksByRecordedAt>,
        replay: replay::<LatestTalksByRecordedAt>,
    },
    Mistake {
        name: "latest talks chosen by version",
        law: Law::AppendOrderIndependence,
        run: run::<LatestTalksByVersion>,
        replay: replay::<LatestTalksByVersion>,
    },
    Mistake {
        name: "a thread-local table shared by all dyads",
        law: Law::Determinism,
        run: run::<ThreadLocalTable>,
        replay: replay::<ThreadLocalTable>,
    },
    Mistake {
        name: "output built from HashMap order",
        law: Law::Determinism,
        run: run::<HashMapOrder>,
        replay: replay::<HashMapOrder>,
    },
    Mistake {
        name: "a field set from the clock",
        law: Law::Determinism,
        run: run::<ClockField>,
        replay: replay::<ClockField>,
    },
    Mistake {
        name: "a random sample",
        law: Law::Determinism,
        run: run::<RandomTopic>,
        replay: replay::<RandomTopic>,
    },
    Mistake {
        name: "unwrap on an orphan claim",
        law: Law::NoPanic,
        run: run::<ClaimStatuses>,
        replay: replay::<ClaimStatuses>,
    },
    Mistake {
        name: "an index field that serde skips",
        law: Law::SnapshotAndContinue,
        run: run::<ClaimsWithSkippedIndex>,
        replay: replay::<ClaimsWithSkippedIndex>,
    },
    Mistake {
        name: "duplicates skipped below a high-water mark of position",
        law: Law::AppendOrderIndependence,
        run: run::<HighWaterMark>,
        replay: replay::<HighWaterMark>,
    },
    Mistake {
        name: "a raw-log projection that expects dates to only go forward",
        law: Law::NoPanic,
        run: run::<RawLogGaps>,
        replay: replay::<RawLogGaps>,
    },
    Mistake {
        name: "a u32 counter that underflows when an irritant is resolved twice",
        law: Law::NoPanic,
        run: run::<OpenIrritants>,
        replay: replay::<OpenIrritants>,
    },
    Mistake {
        name: "a mean that is NaN before the first talks",
        law: Law::SnapshotAndContinue,
        run: run::<MeanDuration>,
        replay: replay::<MeanDuration>,
    },
    Mistake {
        name: "map keys that do not serialize as JSON",
        law: Law::Determinism,
        run: run::<StagesByStepAndStage>,
        replay: replay::<StagesByStepAndStage>,
    },
    Mistake {
        name: "unwrap on the first character of a city",
        law: Law::NoPanic,
        run: run::<CityInitials>,
        replay: replay::<CityInitials>,
    },
];

/// Wrong: "the latest talks" as the ones recorded last, by `recorded_at`; talks held earlier
/// but recorded later come out as latest.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct LatestTalksByRecordedAt {
    city: Option<String>,
    recorded_at: Option<DateTime<Utc>>,
}

impl Projection for LatestTalksByRecordedAt {
    const NAME: &'static str = "latest_talks_by_recorded_at";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event
            && self.recorded_at.is_none_or(|at| event.recorded_at > at)
        {
            self.city = Some(talks.location.city.clone());
            self.recorded_at = Some(event.recorded_at);
        }
    }
}

/// Wrong: "the latest talks" as the ones that arrived last in the dyad, by `version`.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct LatestTalksByVersion {
    city: Option<String>,
    version: u64,
}

impl Projection for LatestTalksByVersion {
    const NAME: &'static str = "latest_talks_by_version";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event
            && event.version > self.version
        {
            self.city = Some(talks.location.city.clone());
            self.version = event.version;
        }
    }
}

thread_local! {
    /// Rounds per city, meant per dyad but shared by every fold on the thread.
    static ROUNDS_PER_CITY: RefCell<BTreeMap<String, u32>> = const { RefCell::new(BTreeMap::new()) };
}

/// Wrong: counts rounds per city in a thread-local table that every dyad (and every fold)
/// shares.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct ThreadLocalTable {
    rounds_in_last_city: u32,
}

impl Projection for ThreadLocalTable {
    const NAME: &'static str = "thread_local_table";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event {
            self.rounds_in_last_city = ROUNDS_PER_CITY.with(|table| {
                let mut table = table.borrow_mut();
                let rounds = table.entry(talks.location.city.clone()).or_default();
                *rounds += 1;
                *rounds
            });
        }
    }
}

/// Wrong: lists host cities in the iteration order of a `HashMap`, which differs from one
/// map to the next.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct HashMapOrder {
    rounds: HashMap<String, u32>,
    cities: Vec<String>,
}

impl Projection for HashMapOrder {
    const NAME: &'static str = "hash_map_order";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event {
            *self.rounds.entry(talks.location.city.clone()).or_default() += 1;
            self.cities = self.rounds.keys().cloned().collect();
        }
    }
}

/// Wrong: stamps the value with the time it was folded.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClockField {
    events: u64,
    folded_at_nanos: u128,
}

impl Projection for ClockField {
    const NAME: &'static str = "clock_field";
    const VERSION: u32 = 1;
    fn apply(&mut self, _: &RecordedEvent) {
        self.events += 1;
        self.folded_at_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
    }
}

/// Wrong: keeps one topic of each talks, drawn at random.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct RandomTopic {
    headlines: Vec<String>,
}

impl Projection for RandomTopic {
    const NAME: &'static str = "random_topic";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event
            && !talks.topics.is_empty()
        {
            let random = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            let at = usize::try_from(random % talks.topics.len() as u64).unwrap_or(0);
            self.headlines.push(talks.topics[at].clone());
        }
    }
}

/// Wrong: assumes every claim progressed was raised in the timeline it reads, which a
/// retraction of the raise (or a `known_at` before its report) breaks.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClaimStatuses(BTreeMap<ItemId, Vec<String>>);

impl Projection for ClaimStatuses {
    const NAME: &'static str = "claim_statuses";
    const VERSION: u32 = 1;
    #[allow(clippy::unwrap_used)] // the mistake under test
    fn apply(&mut self, event: &RecordedEvent) {
        match &event.event {
            Event::PropertyClaimRaised(raised) => {
                self.0.insert(raised.claim.clone(), vec!["raised".into()]);
            }
            Event::ClaimProgressed(progressed) => {
                let statuses = self.0.get_mut(&progressed.claim).unwrap();
                statuses.push(format!("{:?}", progressed.status));
            }
            _ => {}
        }
    }
}

/// Wrong: the index from a claim's id to its row is not part of the serde form, so a value the
/// engine restores loses track of the claims raised before it was saved.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClaimsWithSkippedIndex {
    rows: Vec<(String, String)>,
    #[serde(skip)]
    index: BTreeMap<ItemId, usize>,
}

impl Projection for ClaimsWithSkippedIndex {
    const NAME: &'static str = "claims_with_skipped_index";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        match &event.event {
            Event::PropertyClaimRaised(raised) => {
                self.index.insert(raised.claim.clone(), self.rows.len());
                self.rows.push((raised.claim.to_string(), "raised".into()));
            }
            Event::ClaimProgressed(progressed) => {
                if let Some(&row) = self.index.get(&progressed.claim) {
                    self.rows[row].1 = format!("{:?}", progressed.status);
                }
            }
            _ => {}
        }
    }
}

/// Wrong: skips an event at or below the highest position seen, "a duplicate"; in a timeline a
/// retroactive event comes before events recorded earlier, which are then skipped.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct HighWaterMark {
    high_water_mark: u64,
    events: u64,
}

impl Projection for HighWaterMark {
    const NAME: &'static str = "high_water_mark";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if event.position <= self.high_water_mark {
            return;
        }
        self.high_water_mark = event.position;
        self.events += 1;
    }
}

/// Wrong: a raw-log feed of the days between records that expects dates to only go forward;
/// in the log, dyads interleave and retroactive events arrive.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawLogGaps {
    last: Option<NaiveDate>,
    gaps_in_days: Vec<u64>,
}

impl Projection for RawLogGaps {
    const NAME: &'static str = "raw_log_gaps";
    const VERSION: u32 = 1;
    const MODE: ReadMode = ReadMode::RawLog;
    #[allow(clippy::expect_used)] // the mistake under test
    fn apply(&mut self, event: &RecordedEvent) {
        if let Some(last) = self.last {
            let gap = (event.occurred_on - last)
                .to_std()
                .expect("dates only go forward");
            self.gaps_in_days.push(gap.as_secs() / 86_400);
        }
        self.last = Some(event.occurred_on);
    }
}

/// Wrong: a `u32` count of open irritants, decremented on every resolution: an irritant
/// resolved without its raise in the timeline (or twice) takes it below zero.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct OpenIrritants {
    open: u32,
}

impl Projection for OpenIrritants {
    const NAME: &'static str = "open_irritants";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        match &event.event {
            Event::IrritantRaised(_) => self.open += 1,
            Event::IrritantResolved(_) => self.open -= 1,
            _ => {}
        }
    }
}

/// Wrong: a mean duration of talks that is 0 / 0 (NaN, which serde_json writes as `null` and
/// cannot read back as a number) until the first talks with a duration.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct MeanDuration {
    minutes: f64,
    talks: f64,
    mean: f64,
}

impl Projection for MeanDuration {
    const NAME: &'static str = "mean_duration";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event
            && let Some(minutes) = talks.duration_minutes
        {
            self.minutes += f64::from(minutes);
            self.talks += 1.0;
        }
        self.mean = self.minutes / self.talks;
    }
}

/// Wrong: a map keyed by a pair, which JSON cannot hold as an object key.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct StagesByStepAndStage(BTreeMap<(String, String), u32>);

impl Projection for StagesByStepAndStage {
    const NAME: &'static str = "stages_by_step_and_stage";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::StepProgressed(progressed) = &event.event {
            let key = (
                progressed.step.to_string(),
                format!("{:?}", progressed.stage),
            );
            *self.0.entry(key).or_default() += 1;
        }
    }
}

/// Wrong: the first letter of every host city, unwrapped; a city may be given as `""`.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct CityInitials(String);

impl Projection for CityInitials {
    const NAME: &'static str = "city_initials";
    const VERSION: u32 = 1;
    #[allow(clippy::unwrap_used)] // the mistake under test
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event {
            self.0.push(talks.location.city.chars().next().unwrap());
        }
    }
}

/// How often each trap appears in the histories the in-memory laws draw at the default
/// settings, over `n_histories` from a fixed seed, in the order of [`Trap::all`].
pub fn trap_frequencies(n_histories: u32, seed: u64) -> Vec<(Trap, f64)> {
    use detente::testing::proptest::test_runner::{Config, RngSeed, TestRunner};
    let config = Config {
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = valid_log(LawConfig::default().history);
    let all = Trap::all();
    let mut counts = vec![0u32; all.len()];
    for _ in 0..n_histories {
        let log = strategy.new_tree(&mut runner).unwrap().current();
        for trap in traps_in(&log) {
            let at = all.iter().position(|t| *t == trap).unwrap();
            counts[at] += 1;
        }
    }
    all.into_iter()
        .zip(counts)
        .map(|(trap, n)| (trap, f64::from(n) / f64::from(n_histories)))
        .collect()
}

/// Checks that the kit, from a fixed seed, reports `mistake` as breaking its law, with a
/// report that names the law, and that the printed history, pasted back into
/// `check_history`, reproduces it: the report is ready for a regression test.
#[track_caller]
pub fn check(mistake: &Mistake) -> LawFailure {
    let seeded = LawConfig {
        seed: Some(1),
        ..LawConfig::default()
    };
    let failure = match (mistake.run)(seeded) {
        Ok(()) => panic!("the kit let through: {}", mistake.name),
        Err(failure) => failure,
    };
    assert_eq!(failure.law, mistake.law, "{}: {failure}", mistake.name);
    let report = failure.to_string();
    assert!(report.contains(mistake.law.name()), "{report}");
    let pasted = history_from_jsonl(&failure.history_jsonl()).unwrap();
    assert_eq!(pasted, failure.history);
    assert!(!pasted.is_empty(), "{report}");
    let again = (mistake.replay)(&pasted, mistake.law)
        .expect_err("the pasted history reproduces the failure");
    assert_eq!(again.law, mistake.law);
    failure
}
#[test]
fn latest_talks_chosen_by_recorded_at() {
    check(&MISTAKES[0]);
}

#[test]
fn latest_talks_chosen_by_version() {
    check(&MISTAKES[1]);
}

#[test]
fn a_thread_local_table_shared_by_all_dyads() {
    check(&MISTAKES[2]);
}

#[test]
fn output_built_from_hash_map_order() {
    check(&MISTAKES[3]);
}

#[test]
fn a_field_set_from_the_clock() {
    check(&MISTAKES[4]);
}

#[test]
fn a_random_sample() {
    check(&MISTAKES[5]);
}

#[test]
fn an_unwrap_on_an_orphan_claim() {
    let failure = check(&MISTAKES[6]);
    assert!(failure.message.contains("panicked"), "{failure}");
}

#[test]
fn an_index_field_that_serde_skips() {
    check(&MISTAKES[7]);
}

#[test]
fn duplicates_skipped_below_a_high_water_mark_of_position() {
    check(&MISTAKES[8]);
}

#[test]
fn a_raw_log_projection_that_expects_dates_to_only_go_forward() {
    check(&MISTAKES[9]);
}

#[test]
fn a_u32_counter_that_underflows() {
    check(&MISTAKES[10]);
}

#[test]
fn a_mean_that_is_nan_before_the_first_talks() {
    let failure = check(&MISTAKES[11]);
    assert!(
        failure.message.contains("does not deserialize"),
        "{failure}"
    );
}

#[test]
fn map_keys_that_do_not_serialize_as_json() {
    let failure = check(&MISTAKES[12]);
    assert!(failure.message.contains("does not serialize"), "{failure}");
}

#[test]
fn an_unwrap_on_the_first_character_of_a_city() {
    check(&MISTAKES[13]);
}
