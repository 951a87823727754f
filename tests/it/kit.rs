//! The property-testing kit (`detente::testing`) on the project's own projection, on the
//! example's, and on deliberately broken ones: each must be reported by the law that guards
//! against its mistake, with a shrunk history that reproduces it when pasted back.

use std::sync::atomic::{AtomicU64, Ordering};

use detente::domain::*;
use detente::scenario::recorded;
use detente::testing::proptest::prelude::*;
use detente::testing::proptest::strategy::ValueTree;
use detente::testing::strategies::{HistoryConfig, query_in, valid_history, valid_log};
use detente::testing::{FoldLaws, Law, LawFailure, assert_fold_laws, history_from_jsonl};

#[path = "../../examples/custom_projection.rs"]
mod custom_projection;
use custom_projection::RoundsPerCity;

#[test]
fn the_example_runs() {
    custom_projection::run().unwrap();
}

#[test]
fn the_kit_passes_on_bilateral_state() {
    assert_fold_laws::<BilateralState>();
}

#[test]
fn the_kit_passes_on_the_example_projection() {
    // The one test the README shows.
    assert_fold_laws::<RoundsPerCity>();
}

/// A raw-log projection (an audit counter) goes through the laws of its mode.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
struct RetractionsSeen(Vec<String>);

impl Projection for RetractionsSeen {
    const NAME: &'static str = "retractions_seen";
    const VERSION: u32 = 1;
    const MODE: ReadMode = ReadMode::RawLog;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::EventRetracted(retraction) = &event.event {
            self.0
                .push(format!("{} by {}", retraction.target, event.id));
        }
    }
}

#[test]
fn the_kit_passes_on_a_raw_log_projection() {
    FoldLaws::<RetractionsSeen>::new()
        .cases(32)
        .engine_cases(8)
        .assert();
}

// --- Broken projections, each with the law that must catch it. ---

/// Wrong: "the latest talks" as the one recorded last (highest position), not the one last in
/// the effective timeline. Deterministic, restorable, and the engine's replay agrees with it;
/// only recording the same facts in another order shows it.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
struct LatestTalksByPosition {
    city: Option<String>,
    position: u64,
}

impl Projection for LatestTalksByPosition {
    const NAME: &'static str = "latest_talks_by_position";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event
            && event.position > self.position
        {
            self.city = Some(talks.location.city.clone());
            self.position = event.position;
        }
    }
}

static APPLIED_EVER: AtomicU64 = AtomicU64::new(0);

/// Wrong: numbers events with a process-wide counter.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
struct GlobalSerial {
    last_serial: u64,
}

impl Projection for GlobalSerial {
    const NAME: &'static str = "global_serial";
    const VERSION: u32 = 1;
    fn apply(&mut self, _: &RecordedEvent) {
        self.last_serial = APPLIED_EVER.fetch_add(1, Ordering::Relaxed) + 1;
    }
}

/// Wrong: assumes every progressed step was agreed in the timeline it reads, which a
/// retraction of the agreement breaks.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
struct StepStages(std::collections::BTreeMap<String, Vec<String>>);

impl Projection for StepStages {
    const NAME: &'static str = "step_stages";
    const VERSION: u32 = 1;
    #[allow(clippy::unwrap_used)] // the mistake under test
    fn apply(&mut self, event: &RecordedEvent) {
        match &event.event {
            Event::StepAgreed(agreed) => {
                self.0
                    .insert(agreed.step.to_string(), vec!["agreed".into()]);
            }
            Event::StepProgressed(progressed) => {
                let stages = self.0.get_mut(progressed.step.as_str()).unwrap();
                stages.push(format!("{:?}", progressed.stage));
            }
            _ => {}
        }
    }
}

/// Wrong: the count of irritants raised is not part of its serde form, so a stored value
/// restarts it from zero; its summary, which is stored, then drifts.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
struct IrritantSummary {
    #[serde(skip)]
    raised: u32,
    summary: String,
}

impl Projection for IrritantSummary {
    const NAME: &'static str = "irritant_summary";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::IrritantRaised(_) = &event.event {
            self.raised += 1;
        }
        self.summary = format!("{} irritants raised", self.raised);
    }
}

/// Checks that the kit reports `P` as breaking `law`, and that the printed history, pasted
/// back into `check_history`, reproduces it: the report is ready for a regression test.
#[track_caller]
fn check_caught<P: Projection>(law: Law) -> LawFailure {
    let failure = match FoldLaws::<P>::new().check() {
        Ok(()) => panic!("the kit let {} through", P::NAME),
        Err(failure) => failure,
    };
    assert_eq!(failure.law, law, "{failure}");
    let report = failure.to_string();
    assert!(report.contains(law.name()), "{report}");
    let pasted = history_from_jsonl(&failure.history_jsonl()).unwrap();
    assert_eq!(pasted, failure.history);
    assert!(!pasted.is_empty(), "{report}");
    let again = FoldLaws::<P>::new()
        .laws(&[law])
        .check_history(&pasted)
        .expect_err("the pasted history reproduces the failure");
    assert_eq!(again.law, law);
    failure
}

#[test]
fn append_order_independence_catches_a_projection_reading_positions() {
    check_caught::<LatestTalksByPosition>(Law::AppendOrderIndependence);
}

#[test]
fn determinism_catches_a_projection_with_global_state() {
    check_caught::<GlobalSerial>(Law::Determinism);
}

#[test]
fn no_panic_catches_a_projection_that_panics_on_an_orphan() {
    let failure = check_caught::<StepStages>(Law::NoPanic);
    assert!(failure.message.contains("panicked"), "{failure}");
    // The shrunk history is an orphan's story: a step agreed and progressed, then its
    // agreement retracted, or reported only after the progress (seen by a `known_at` query).
    let kinds: Vec<&str> = failure
        .history
        .iter()
        .map(|e| match e.event {
            Event::StepAgreed(_) => "agreed",
            Event::StepProgressed(_) => "progressed",
            Event::EventRetracted(_) => "retracted",
            _ => "other",
        })
        .collect();
    assert!(
        kinds == ["agreed", "progressed", "retracted"] || kinds == ["agreed", "progressed"],
        "{failure}"
    );
}

#[test]
fn snapshot_and_continue_catches_a_projection_that_loses_a_field_in_serde() {
    check_caught::<IrritantSummary>(Law::SnapshotAndContinue);
}

// --- The strategies. ---

fn some_history_configs() -> impl Strategy<Value = HistoryConfig> {
    (1..=3usize, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(dyads, retractions, retroactive, distinct_dates)| HistoryConfig {
            max_candidates: 30,
            dyads,
            retractions,
            retroactive,
            distinct_dates,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn valid_histories_are_valid(
        (config, log) in some_history_configs().prop_flat_map(|config| (Just(config), valid_log(config)))
    ) {
        let events = recorded(log.clone());
        for n in 0..events.len() {
            let verdict = check_in_history(&events[..n], &events[n]);
            prop_assert!(verdict.is_ok(), "event {} is refused: {:?}", events[n].id, verdict);
        }
        let dyads: std::collections::BTreeSet<Dyad> = events.iter().map(|e| e.dyad).collect();
        prop_assert!(dyads.len() <= config.dyads);
        let retractions = events.iter().filter(|e| matches!(e.event, Event::EventRetracted(_))).count();
        if !config.retractions {
            prop_assert_eq!(retractions, 0);
        }
        if config.distinct_dates {
            for dyad in dyads {
                let dates: Vec<_> = events.iter().filter(|e| e.dyad == dyad).map(|e| e.occurred_on).collect();
                prop_assert!(dates.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", dates);
            }
        }
    }

    #[test]
    fn queries_fall_inside_their_history(
        (history, query) in valid_history("RUS-USA".parse().unwrap(), HistoryConfig::default())
            .prop_flat_map(|history| { let query = query_in(&history); (Just(history), query) })
    ) {
        if let Some(at) = query.at_position {
            prop_assert!(at <= history.len() as u64);
        }
        if let (Some(as_of), Some(last)) = (query.as_of, history.iter().map(|e| e.occurred_on).max()) {
            prop_assert!(as_of <= last);
        }
    }
}

#[test]
fn default_histories_often_leave_an_orphan_after_a_retraction() {
    // The no_panic law only finds a projection that panics on an orphan if the histories hold
    // some: a step agreed, progressed, and its agreement retracted.
    let mut runner = detente::testing::proptest::test_runner::TestRunner::deterministic();
    let strategy = valid_log(HistoryConfig::default());
    let n_cases = 64;
    let mut with_orphans = 0;
    for _ in 0..n_cases {
        let log = recorded(strategy.new_tree(&mut runner).unwrap().current());
        let dyads: std::collections::BTreeSet<Dyad> = log.iter().map(|e| e.dyad).collect();
        let orphaned = dyads.into_iter().any(|dyad| {
            let mine: Vec<&RecordedEvent> = log.iter().filter(|e| e.dyad == dyad).collect();
            state_at(mine, &Query::default())
                .anomalies
                .iter()
                .any(|a| a.reason.contains("step"))
        });
        with_orphans += usize::from(orphaned);
    }
    assert!(
        with_orphans * 5 >= n_cases,
        "only {with_orphans} of {n_cases} histories leave an orphaned step"
    );
}
