//! The fold laws: what every projection must obey, checked on generated valid histories.

use std::collections::BTreeSet;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{
    Config as RunnerConfig, RngSeed, TestCaseError, TestError, TestRunner,
};
use serde_json::Value;

use super::quiet::silenced;
use super::records;
use super::strategies::{HistoryConfig, query_in, valid_history, valid_log};
use crate::domain::{
    Dyad, NewEvent, Projection, Query, ReadMode, RecordedEvent, effective_timeline,
};
use crate::engine::{Config as EngineConfig, Engine};
use crate::store::Durability;

/// One law of the kit. Each is checked on its own generated cases and reported by name.
///
/// # Example
///
/// ```
/// use detente::testing::Law;
///
/// assert_eq!(Law::SnapshotAndContinue.name(), "snapshot_and_continue");
/// assert_eq!(Law::ALL.len(), 9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Law {
    /// The build checks integer overflow, so that a counter that underflows panics (and
    /// [`Law::NoPanic`] reports it) instead of wrapping silently, as it does in a release build
    /// without `overflow-checks`.
    OverflowChecks,
    /// The fold never panics, whatever valid history it reads (retractions leave orphans:
    /// a step progressed whose agreement was retracted) and whatever query bounds it (a
    /// `known_at` at which an item's move is known and its raise is not yet).
    NoPanic,
    /// Folding the same events twice gives the same value (no clocks, no globals, no
    /// randomness), and the value serializes as JSON.
    Determinism,
    /// The fold equals the user's reference fold ([`FoldLaws::with_oracle`]) on every stream
    /// of every history; checked only when an oracle is given.
    Oracle,
    /// A value folded over a prefix, saved and restored through serde, then continued with
    /// the rest equals the fold of everything: what the engine does with stored projections.
    SnapshotAndContinue,
    /// Facts on distinct dates recorded in another order (so with other positions, versions
    /// and `recorded_at`) give the same value: an effective-timeline projection reads the
    /// timeline, not the append order.
    AppendOrderIndependence,
    /// A dyad's value does not change when other dyads' events are recorded
    /// (effective-timeline projections, which are per dyad).
    DyadIsolation,
    /// Recorded into an engine, the value kept current on every record, the engine's replay,
    /// the value restored after a reopen and the in-memory fold of the stored log are equal.
    ReplayEqualsFold,
    /// Recording the same events again stores nothing and changes no value.
    IdempotentRecord,
}

impl Law {
    /// Every law, in the order the kit checks them: the build, then the cheap in-memory laws,
    /// then those that open an engine (so a failure that an in-memory law finds is reported in
    /// milliseconds).
    pub const ALL: [Law; 9] = [
        Law::OverflowChecks,
        Law::NoPanic,
        Law::Determinism,
        Law::Oracle,
        Law::SnapshotAndContinue,
        Law::AppendOrderIndependence,
        Law::DyadIsolation,
        Law::ReplayEqualsFold,
        Law::IdempotentRecord,
    ];

    /// Its name in reports, in `snake_case`.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::testing::Law;
    ///
    /// assert_eq!(Law::SnapshotAndContinue.name(), "snapshot_and_continue");
    /// assert_eq!(Law::ReplayEqualsFold.to_string(), Law::ReplayEqualsFold.name());
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Law::OverflowChecks => "overflow_checks",
            Law::NoPanic => "no_panic",
            Law::Determinism => "determinism",
            Law::Oracle => "oracle",
            Law::SnapshotAndContinue => "snapshot_and_continue",
            Law::AppendOrderIndependence => "append_order_independence",
            Law::DyadIsolation => "dyad_isolation",
            Law::ReplayEqualsFold => "replay_equals_fold",
            Law::IdempotentRecord => "idempotent_record",
        }
    }

    /// Whether it opens an engine (and so runs [`LawConfig::engine_cases`] cases).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::testing::Law;
    ///
    /// assert!(Law::ReplayEqualsFold.uses_engine());
    /// assert!(!Law::Determinism.uses_engine());
    /// ```
    pub fn uses_engine(self) -> bool {
        matches!(
            self,
            Law::DyadIsolation | Law::ReplayEqualsFold | Law::IdempotentRecord
        )
    }

    /// Whether it applies to projections of this read mode.
    ///
    /// A raw-log projection reads the log as a feed, in position order with retractions
    /// included: its answer may rightly depend on that order and on retracted records (an
    /// export feed, an audit trail), which is what the mode is for, so no law can require it
    /// to ignore them. The two laws about the effective timeline do not apply; the others run
    /// on raw logs in which dyads interleave, dates go back and retractions arrive, and an
    /// oracle ([`FoldLaws::with_oracle`]) states what a raw-log answer should be.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::ReadMode;
    /// use detente::testing::Law;
    ///
    /// assert!(Law::Determinism.applies_to(ReadMode::RawLog));
    /// assert!(!Law::AppendOrderIndependence.applies_to(ReadMode::RawLog));
    /// assert!(Law::AppendOrderIndependence.applies_to(ReadMode::EffectiveTimeline));
    /// ```
    pub fn applies_to(self, mode: ReadMode) -> bool {
        match self {
            Law::AppendOrderIndependence | Law::DyadIsolation => mode != ReadMode::RawLog,
            _ => true,
        }
    }
}

impl fmt::Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many cases the kit tries, on what histories, and from which seed.
///
/// # Example
///
/// ```
/// use detente::testing::LawConfig;
///
/// let quick = LawConfig { cases: 16, engine_cases: 4, ..LawConfig::default() };
/// assert_eq!(quick.history.dyads, 3);
/// assert_eq!(LawConfig::default().cases, 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawConfig {
    /// Cases per in-memory law.
    pub cases: u32,
    /// Cases per law that opens an engine on a temporary directory (slower: a few ms each).
    pub engine_cases: u32,
    /// The shape of the generated histories.
    pub history: HistoryConfig,
    /// The laws to check, in order; the first that fails is reported.
    pub laws: Vec<Law>,
    /// The seed of every law's random runner: `None` draws one per run (or takes proptest's
    /// `PROPTEST_RNG_SEED`), `Some` makes the run repeat exactly (for CI).
    pub seed: Option<u64>,
    /// How long the kit may spend shrinking a failure of a law that opens an engine (each try
    /// opens one) before it reports the smallest history found so far.
    pub engine_shrink_time: Duration,
    /// Whether a failure is shrunk before it is reported (the default). Without, the report
    /// holds the failing case as generated: whether a mistake is caught, and by which law, is
    /// the same either way, so measuring catch rates need not pay for shrinking.
    pub shrink: bool,
}

impl Default for LawConfig {
    fn default() -> Self {
        LawConfig {
            cases: 64,
            engine_cases: 16,
            history: HistoryConfig {
                max_candidates: 24,
                ..HistoryConfig::default()
            },
            laws: Law::ALL.to_vec(),
            seed: None,
            engine_shrink_time: Duration::from_secs(3),
            shrink: true,
        }
    }
}

/// A reference fold, given to [`FoldLaws::with_oracle`]: from the events a projection reads
/// (a dyad's effective timeline, or the raw log), the value it must have.
pub type Oracle<P> = Arc<dyn Fn(&[&RecordedEvent]) -> P + Send + Sync>;

/// A law the projection broke, with the shrunk history that shows it.
///
/// Its `Display` names the law and the projection, says what differed, and prints the history
/// as JSON Lines of [`NewEvent`] (the wire format), ready to paste into a regression test
/// that calls [`FoldLaws::check_history`].
///
/// # Example
///
/// ```
/// use detente::domain::{Projection, RecordedEvent};
/// use detente::testing::{FoldLaws, Law};
///
/// /// Counts events, but forgets the count when restored.
/// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
/// struct Forgetful {
///     #[serde(skip_deserializing)]
///     count: u64,
/// }
/// impl Projection for Forgetful {
///     const NAME: &'static str = "forgetful";
///     const VERSION: u32 = 1;
///     fn apply(&mut self, _: &RecordedEvent) { self.count += 1 }
/// }
///
/// let failure = FoldLaws::<Forgetful>::new().cases(32).check().unwrap_err();
/// assert_eq!(failure.law, Law::SnapshotAndContinue);
/// assert!(failure.to_string().contains("\"occurred_on\""));
/// ```
#[derive(Debug, Clone)]
pub struct LawFailure {
    /// The law broken.
    pub law: Law,
    /// The projection's Rust type name, without its module path.
    pub projection: &'static str,
    /// What went wrong, with the case's other inputs (query, split, order).
    pub message: String,
    /// The shrunk history, in append order.
    pub history: Vec<NewEvent>,
}

impl LawFailure {
    /// The history as JSON Lines of [`NewEvent`], one event a line.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::{Projection, RecordedEvent};
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// /// Counts events, but forgets the count when restored.
    /// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
    /// struct Forgetful {
    ///     #[serde(skip_deserializing)]
    ///     count: u64,
    /// }
    /// impl Projection for Forgetful {
    ///     const NAME: &'static str = "forgetful";
    ///     const VERSION: u32 = 1;
    ///     fn apply(&mut self, _: &RecordedEvent) { self.count += 1 }
    /// }
    ///
    /// let failure = FoldLaws::<Forgetful>::new().cases(32).check().unwrap_err();
    /// let history = detente::testing::history_from_jsonl(&failure.history_jsonl())?;
    /// assert_eq!(history, failure.history);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn history_jsonl(&self) -> String {
        to_jsonl(&self.history)
    }
}

impl fmt::Display for LawFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "law `{}` fails for projection `{}`: {}",
            self.law, self.projection, self.message
        )?;
        writeln!(
            f,
            "shrunk history ({} events, JSON Lines of the wire format); paste it into a regression test:",
            self.history.len()
        )?;
        let jsonl = self.history_jsonl();
        let hashes = "#".repeat(raw_string_hashes(&jsonl));
        writeln!(
            f,
            "    let history = detente::testing::history_from_jsonl(r{hashes}\""
        )?;
        f.write_str(&jsonl)?;
        writeln!(f, "\"{hashes})?;")?;
        write!(
            f,
            "    detente::testing::FoldLaws::<{}>::new().check_history(&history)?;",
            self.projection
        )
    }
}

impl std::error::Error for LawFailure {}

/// How many `#` a raw string literal holding `text` needs: one more than the longest run of
/// `#` after a `"` in it, so that whatever the generated strings hold, the pasted regression
/// compiles.
///
/// # Example
///
/// ```text
/// {"city":"a\"#"}  needs r##"…"##
/// ```
pub(crate) fn raw_string_hashes(text: &str) -> usize {
    let mut longest = 0;
    for (at, _) in text.match_indices('"') {
        let run = text[at + 1..].bytes().take_while(|&b| b == b'#').count();
        longest = longest.max(run);
    }
    longest + 1
}

/// `P`'s type name without its module path (generic arguments keep theirs).
fn short_type_name<P>() -> &'static str {
    let name = std::any::type_name::<P>();
    let end = name.find('<').unwrap_or(name.len());
    match name[..end].rfind("::") {
        Some(at) => &name[at + 2..],
        None => name,
    }
}

/// Prints `history` as JSON Lines of [`NewEvent`].
pub(crate) fn to_jsonl(history: &[NewEvent]) -> String {
    let mut out = String::new();
    for event in history {
        match serde_json::to_string(event) {
            Ok(line) => out.push_str(&line),
            Err(err) => out.push_str(&format!("(unprintable event: {err})")),
        }
        out.push('\n');
    }
    out
}

/// The fold laws for projection `P`: a builder, then [`FoldLaws::check`].
///
/// # Example
///
/// ```
/// use detente::domain::BilateralState;
/// use detente::testing::FoldLaws;
///
/// FoldLaws::<BilateralState>::new().cases(8).engine_cases(2).check()?;
/// # Ok::<(), detente::testing::LawFailure>(())
/// ```
pub struct FoldLaws<P> {
    config: LawConfig,
    oracle: Option<Oracle<P>>,
}

impl<P: Projection> Default for FoldLaws<P> {
    fn default() -> Self {
        FoldLaws::new()
    }
}

impl<P: Projection> FoldLaws<P> {
    /// Every law, with the default [`LawConfig`].
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::BilateralState;
    /// use detente::testing::FoldLaws;
    ///
    /// FoldLaws::<BilateralState>::new().cases(4).engine_cases(1).check()?;
    /// # Ok::<(), detente::testing::LawFailure>(())
    /// ```
    pub fn new() -> Self {
        FoldLaws::with_config(LawConfig::default())
    }

    /// With `config`.
    ///
    /// ```
    /// use detente::domain::BilateralState;
    /// use detente::testing::{FoldLaws, Law, LawConfig};
    ///
    /// let config = LawConfig { laws: vec![Law::Determinism], cases: 8, ..LawConfig::default() };
    /// FoldLaws::<BilateralState>::with_config(config).check()?;
    /// # Ok::<(), detente::testing::LawFailure>(())
    /// ```
    pub fn with_config(config: LawConfig) -> Self {
        FoldLaws {
            config,
            oracle: None,
        }
    }

    /// Cases per in-memory law.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::BilateralState;
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// FoldLaws::<BilateralState>::new().laws(&[Law::Determinism]).cases(4).check()?;
    /// # Ok::<(), detente::testing::LawFailure>(())
    /// ```
    pub fn cases(mut self, cases: u32) -> Self {
        self.config.cases = cases;
        self
    }

    /// Cases per law that opens an engine.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::BilateralState;
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// FoldLaws::<BilateralState>::new().laws(&[Law::IdempotentRecord]).engine_cases(2).check()?;
    /// # Ok::<(), detente::testing::LawFailure>(())
    /// ```
    pub fn engine_cases(mut self, cases: u32) -> Self {
        self.config.engine_cases = cases;
        self
    }

    /// Only these laws, in this order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::{Projection, RecordedEvent};
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// /// Counts events, but forgets the count when restored.
    /// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
    /// struct Forgetful {
    ///     #[serde(skip_deserializing)]
    ///     count: u64,
    /// }
    /// impl Projection for Forgetful {
    ///     const NAME: &'static str = "forgetful";
    ///     const VERSION: u32 = 1;
    ///     fn apply(&mut self, _: &RecordedEvent) { self.count += 1 }
    /// }
    ///
    /// // Forgetting on restore breaks no law but the one about snapshots.
    /// FoldLaws::<Forgetful>::new().laws(&[Law::NoPanic, Law::Determinism]).cases(8).check()?;
    /// # Ok::<(), detente::testing::LawFailure>(())
    /// ```
    pub fn laws(mut self, laws: &[Law]) -> Self {
        self.config.laws = laws.to_vec();
        self
    }

    /// A fixed seed for every law's runner, so that the run repeats exactly (CI).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::BilateralState;
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// let laws = FoldLaws::<BilateralState>::new().laws(&[Law::Determinism]).cases(4).seed(7);
    /// assert!(laws.check().is_ok());
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Also checks [`Law::Oracle`]: on every generated history and query, the fold of each
    /// stream the projection reads (a dyad's effective timeline, or the raw log) must equal
    /// `oracle` of the same events, compared through their JSON. The oracle is a reference
    /// written the simplest way (often from the whole stream at once rather than event by
    /// event), and it catches what no general law can: a projection that undoes retractions
    /// by hand (the timeline has already dropped what they retract), or a raw-log projection
    /// that forgets that dates go back.
    ///
    /// ```
    /// use detente::domain::{Event, Projection, RecordedEvent};
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// /// Talks held, counted event by event.
    /// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
    /// struct Talks(u64);
    /// impl Projection for Talks {
    ///     const NAME: &'static str = "talks";
    ///     const VERSION: u32 = 1;
    ///     fn apply(&mut self, event: &RecordedEvent) {
    ///         match &event.event {
    ///             Event::TalksHeld(_) => self.0 += 1,
    ///             // Wrong: the timeline has already dropped the retracted talks.
    ///             Event::EventRetracted(_) => self.0 = self.0.saturating_sub(1),
    ///             _ => {}
    ///         }
    ///     }
    /// }
    ///
    /// let failure = FoldLaws::<Talks>::new()
    ///     .with_oracle(|events| Talks(events.iter().filter(|e| matches!(e.event, Event::TalksHeld(_))).count() as u64))
    ///     .laws(&[Law::Oracle])
    ///     .seed(7)
    ///     .check()
    ///     .unwrap_err();
    /// assert_eq!(failure.law, Law::Oracle);
    /// ```
    pub fn with_oracle(
        mut self,
        oracle: impl Fn(&[&RecordedEvent]) -> P + Send + Sync + 'static,
    ) -> Self {
        self.oracle = Some(Arc::new(oracle));
        self
    }

    /// Checks the laws in order on generated histories; the first broken is returned with
    /// its shrunk history. Panics of the projection are caught, and their messages silenced on
    /// this thread while the kit runs (other threads print theirs as usual): the one report is
    /// the returned failure.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::{Projection, RecordedEvent};
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// /// Counts events, but forgets the count when restored.
    /// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
    /// struct Forgetful {
    ///     #[serde(skip_deserializing)]
    ///     count: u64,
    /// }
    /// impl Projection for Forgetful {
    ///     const NAME: &'static str = "forgetful";
    ///     const VERSION: u32 = 1;
    ///     fn apply(&mut self, _: &RecordedEvent) { self.count += 1 }
    /// }
    ///
    /// let failure = FoldLaws::<Forgetful>::new().cases(32).check().unwrap_err();
    /// assert_eq!(failure.law, Law::SnapshotAndContinue);
    /// ```
    pub fn check(&self) -> Result<(), LawFailure> {
        for &law in &self.config.laws {
            if self.applies(law) {
                self.check_law(law)?;
            }
        }
        Ok(())
    }

    /// Whether `law` is checked for `P`: of its read mode, and the oracle's only with one.
    fn applies(&self, law: Law) -> bool {
        law.applies_to(P::MODE) && (law != Law::Oracle || self.oracle.is_some())
    }

    /// Checks the laws, panicking with the report of the first broken.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::BilateralState;
    /// use detente::testing::{FoldLaws, Law};
    ///
    /// FoldLaws::<BilateralState>::new().laws(&[Law::Determinism]).cases(4).assert();
    /// ```
    #[track_caller]
    pub fn assert(&self) {
        if let Err(failure) = self.check() {
            panic!("{failure}");
        }
    }

    /// Checks the laws on one given history (a regression test: paste the history of a
    /// [`LawFailure`]), with fixed other inputs: no query bounds and the bounds of every
    /// event's dates, every split point, the reversed append order (for histories of one dyad
    /// on distinct dates without retractions).
    ///
    /// ```
    /// use detente::domain::BilateralState;
    /// use detente::testing::{FoldLaws, history_from_jsonl};
    ///
    /// let history = history_from_jsonl(r#"
    /// {"id":"e0","dyad":"RUS-USA","occurred_on":"2025-01-01","reported_on":"2025-01-01","event":{"type":"StepAgreed","step":"a","description":"x"}}
    /// {"id":"e1","dyad":"RUS-USA","occurred_on":"2025-01-02","reported_on":"2025-01-02","event":{"type":"StepProgressed","step":"a","stage":"implemented"}}
    /// "#)?;
    /// FoldLaws::<BilateralState>::new().check_history(&history)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_history(&self, history: &[NewEvent]) -> Result<(), LawFailure> {
        let log = records(history);
        let mut queries = vec![Query::default()];
        for event in &log {
            let (as_of, known_at, at_position) = (
                Some(event.occurred_on),
                Some(event.reported_on),
                Some(event.position),
            );
            queries.extend([
                Query {
                    as_of,
                    known_at,
                    at_position,
                },
                Query {
                    as_of,
                    ..Query::default()
                },
                Query {
                    known_at,
                    ..Query::default()
                },
                Query {
                    at_position,
                    ..Query::default()
                },
            ]);
        }
        let splits: Vec<usize> = (0..=log.len()).collect();
        let one_dyad_in_order = log
            .windows(2)
            .all(|pair| pair[0].dyad == pair[1].dyad && pair[0].occurred_on < pair[1].occurred_on)
            && !log
                .iter()
                .any(|r| matches!(r.event, crate::domain::Event::EventRetracted(_)));
        for &law in &self.config.laws {
            if !self.applies(law) {
                continue;
            }
            let outcome = match law {
                Law::OverflowChecks => overflow_checks(),
                Law::NoPanic => guarded(|| {
                    queries
                        .iter()
                        .try_for_each(|query| no_panic::<P>(&log, query))
                }),
                Law::Determinism => guarded(|| {
                    queries
                        .iter()
                        .try_for_each(|query| determinism::<P>(&log, query, 8))
                }),
                Law::Oracle => guarded(|| {
                    queries
                        .iter()
                        .try_for_each(|query| self.oracle_agrees(&log, query))
                }),
                Law::SnapshotAndContinue => guarded(|| {
                    splits
                        .iter()
                        .try_for_each(|&split| snapshot_and_continue::<P>(&log, Split::At(split)))
                }),
                Law::AppendOrderIndependence if one_dyad_in_order => guarded(|| {
                    let reversed: Vec<NewEvent> = history.iter().rev().cloned().collect();
                    append_order_independence::<P>(history, &reversed)
                }),
                Law::AppendOrderIndependence => Ok(()),
                Law::DyadIsolation => guarded(|| dyad_isolation::<P>(history)),
                Law::ReplayEqualsFold => guarded(|| replay_equals_fold::<P>(history, &[])),
                Law::IdempotentRecord => guarded(|| idempotent_record::<P>(history)),
            };
            outcome.map_err(|message| LawFailure {
                law,
                projection: short_type_name::<P>(),
                message,
                history: history.to_vec(),
            })?;
        }
        Ok(())
    }

    /// Whether the oracle agrees with the fold on every stream of `log` under `query`.
    fn oracle_agrees(&self, log: &[RecordedEvent], query: &Query) -> Result<(), String> {
        let Some(oracle) = &self.oracle else {
            return Ok(());
        };
        for (label, events) in streams::<P>(log, query) {
            let (folded, expected) = (json(&fold::<P>(&events))?, json(&oracle(&events))?);
            if folded != expected {
                return Err(format!(
                    "{label} ({query:?}): the fold is {folded}, the oracle says {expected}"
                ));
            }
        }
        Ok(())
    }

    fn check_law(&self, law: Law) -> Result<(), LawFailure> {
        if law == Law::OverflowChecks {
            return overflow_checks().map_err(|message| LawFailure {
                law,
                projection: short_type_name::<P>(),
                message,
                history: Vec::new(),
            });
        }
        let (cases, max_shrink_iters, max_shrink_time) = if law.uses_engine() {
            let millis = self.config.engine_shrink_time.as_millis();
            (
                self.config.engine_cases,
                256,
                u32::try_from(millis).unwrap_or(u32::MAX).max(1),
            )
        } else {
            // The kit's own minimizing does the rest, faster than proptest re-generating.
            (self.config.cases, 512, 0)
        };
        let max_shrink_iters = if self.config.shrink {
            max_shrink_iters
        } else {
            0
        };
        let runner_config = RunnerConfig {
            cases,
            failure_persistence: None,
            max_shrink_iters,
            max_shrink_time,
            ..RunnerConfig::default()
        };
        let runner_config = match self.config.seed {
            // Each law its own stream of cases, from the one seed.
            Some(seed) => RunnerConfig {
                rng_seed: RngSeed::Fixed(seed ^ (law as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                ..runner_config
            },
            None => runner_config,
        };
        let mut runner = TestRunner::new(runner_config);
        let history = self.config.history;
        let outcome = match law {
            Law::AppendOrderIndependence => {
                let ordered = HistoryConfig {
                    retractions: false,
                    retroactive: false,
                    distinct_dates: true,
                    ..history
                };
                let dyad: Dyad = match "RUS-USA".parse() {
                    Ok(dyad) => dyad,
                    Err(_) => unreachable!("RUS-USA is a dyad"),
                };
                let strategy = valid_history(dyad, ordered).prop_flat_map(|history| {
                    let shuffled = Just(history.clone()).prop_shuffle();
                    (Just(history), shuffled)
                });
                runner
                    .run(&strategy, |(history, shuffled)| {
                        guarded(|| append_order_independence::<P>(&history, &shuffled))
                            .map_err(TestCaseError::fail)
                    })
                    .map_err(|err| failure_of(err, |(history, _)| history))
            }
            _ => {
                let strategy = valid_log(history).prop_flat_map(|history| {
                    let query = query_in(&history);
                    (
                        Just(history),
                        query,
                        any::<Index>(),
                        prop::collection::vec(1..4usize, 0..8),
                    )
                });
                runner
                    .run(&strategy, |(history, query, split, batches)| {
                        let log = records(&history);
                        guarded(|| match law {
                            Law::NoPanic => telling_queries(&log, query)
                                .iter()
                                .try_for_each(|query| no_panic::<P>(&log, query)),
                            Law::Determinism => determinism::<P>(&log, &Query::default(), 2)
                                .and_then(|()| determinism::<P>(&log, &query, 1)),
                            Law::Oracle => self
                                .oracle_agrees(&log, &Query::default())
                                .and_then(|()| self.oracle_agrees(&log, &query)),
                            Law::SnapshotAndContinue => {
                                snapshot_and_continue::<P>(&log, Split::Index(split))
                            }
                            Law::DyadIsolation => dyad_isolation::<P>(&history),
                            Law::ReplayEqualsFold => replay_equals_fold::<P>(&history, &batches),
                            Law::IdempotentRecord => idempotent_record::<P>(&history),
                            Law::AppendOrderIndependence | Law::OverflowChecks => Ok(()),
                        })
                        .map_err(TestCaseError::fail)
                    })
                    .map_err(|err| failure_of(err, |(history, _, _, _)| history))
            }
        };
        outcome.map_err(|(message, history)| self.minimize(law, message, history))
    }

    /// Shrinks a failing history further than proptest can through the generator: drops
    /// events one at a time, then their sources, keeping each change that leaves the history
    /// valid and still failing [`FoldLaws::check_history`] on `law`. The result is what
    /// [`LawFailure`] prints, so pasting it into `check_history` reproduces the failure. For a
    /// law that opens an engine, it stops after [`LawConfig::engine_shrink_time`].
    fn minimize(&self, law: Law, message: String, history: Vec<NewEvent>) -> LawFailure {
        if !self.config.shrink {
            return LawFailure {
                law,
                projection: short_type_name::<P>(),
                message,
                history,
            };
        }
        let only = FoldLaws::<P> {
            config: LawConfig {
                laws: vec![law],
                ..self.config.clone()
            },
            oracle: self.oracle.clone(),
        };
        let Err(mut failure) = only.check_history(&history) else {
            // The generated case needs inputs check_history does not try: keep it as shrunk.
            return LawFailure {
                law,
                projection: short_type_name::<P>(),
                message,
                history,
            };
        };
        let deadline = law
            .uses_engine()
            .then(|| Instant::now() + self.config.engine_shrink_time);
        let out_of_time = || deadline.is_some_and(|deadline| Instant::now() > deadline);
        let still_fails = |candidate: &[NewEvent]| -> Option<LawFailure> {
            if !is_valid(candidate) {
                return None;
            }
            only.check_history(candidate).err()
        };
        let mut changed = true;
        while changed && !out_of_time() {
            changed = false;
            for index in (0..failure.history.len()).rev() {
                if out_of_time() {
                    break;
                }
                let Some(candidate) = without(&failure.history, index) else {
                    continue;
                };
                if let Some(smaller) = still_fails(&candidate) {
                    failure = smaller;
                    changed = true;
                }
            }
        }
        for index in 0..failure.history.len() {
            if failure.history[index].sources.is_empty() || out_of_time() {
                continue;
            }
            let mut candidate = failure.history.clone();
            candidate[index].sources.clear();
            if let Some(simpler) = still_fails(&candidate) {
                failure = simpler;
            }
        }
        failure
    }
}

/// The queries [`Law::NoPanic`] folds a generated log under: no bounds, the generated
/// `query`, and `known_at` each day an event of the log was reported on, where an item's move
/// may be known before its raise is (an orphan that only such a query shows).
fn telling_queries(log: &[RecordedEvent], query: Query) -> Vec<Query> {
    let reported: BTreeSet<_> = log.iter().map(|r| r.reported_on).collect();
    let mut queries = vec![Query::default(), query];
    queries.extend(reported.into_iter().map(Query::known_at));
    queries
}

/// [`Law::OverflowChecks`]: whether integer overflow panics in this build.
fn overflow_checks() -> Result<(), String> {
    let probe = || std::hint::black_box(u32::MAX) + std::hint::black_box(1u32);
    let wrapped = silenced(|| catch_unwind(probe)).is_ok();
    if wrapped {
        Err("overflow checks are off in this build (a release build wraps integers silently), so a counter that underflows goes unnoticed: run the tests without `--release`, or set `overflow-checks = true` in `[profile.release]` of the workspace's Cargo.toml; to skip this check, leave `Law::OverflowChecks` out of `LawConfig::laws`".to_owned())
    } else {
        Ok(())
    }
}

/// `history` without its event at `index` and the retractions of it (a retraction without
/// its target is invalid), or `None` past the end.
fn without(history: &[NewEvent], index: usize) -> Option<Vec<NewEvent>> {
    let dropped = history.get(index)?.effective_id();
    Some(
        history
            .iter()
            .enumerate()
            .filter(|(at, event)| {
                *at != index
                    && !matches!(&event.event, crate::domain::Event::EventRetracted(r) if r.target == dropped)
            })
            .map(|(_, event)| event.clone())
            .collect(),
    )
}

/// Whether every event passes [`check_in_history`](crate::domain::check_in_history) against
/// those before it.
fn is_valid(history: &[NewEvent]) -> bool {
    let log = records(history);
    (0..log.len()).all(|n| crate::domain::check_in_history(&log[..n], &log[n]).is_ok())
}

/// Checks every fold law for `P` with the default [`LawConfig`], panicking with a report
/// (the law, what differed, the shrunk history in the wire format) when one is broken.
///
/// # Example
///
/// ```
/// use detente::domain::{Event, Projection, RecordedEvent};
///
/// /// Diplomats expelled, in total.
/// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
/// struct Expelled(u64);
///
/// impl Projection for Expelled {
///     const NAME: &'static str = "expelled";
///     const VERSION: u32 = 1;
///     fn apply(&mut self, event: &RecordedEvent) {
///         if let Event::DiplomatsExpelled(e) = &event.event {
///             self.0 += u64::from(e.count);
///         }
///     }
/// }
///
/// detente::testing::assert_fold_laws::<Expelled>();
/// ```
#[track_caller]
pub fn assert_fold_laws<P: Projection>() {
    FoldLaws::<P>::new().assert();
}

/// The shrunk case of a failed run, as a message and a history.
fn failure_of<T: fmt::Debug>(
    err: TestError<T>,
    history: impl FnOnce(T) -> Vec<NewEvent>,
) -> (String, Vec<NewEvent>) {
    match err {
        TestError::Fail(reason, case) => (reason.message().to_owned(), history(case)),
        TestError::Abort(reason) => (
            format!("the kit gave up before finding a case: {reason}"),
            Vec::new(),
        ),
    }
}

/// Runs a law's body, turning a panic of the projection into a failure.
fn guarded(body: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    match silenced(|| catch_unwind(AssertUnwindSafe(body))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-text panic".to_owned());
            Err(format!("the projection panicked: {text}"))
        }
    }
}

/// The streams a projection of `P`'s mode reads from `log` under `query`, with a label: each
/// dyad's effective timeline, or the raw log up to `at_position`.
fn streams<'a, P: Projection>(
    log: &'a [RecordedEvent],
    query: &Query,
) -> Vec<(String, Vec<&'a RecordedEvent>)> {
    match P::MODE {
        ReadMode::RawLog => vec![(
            "the raw log".to_owned(),
            log.iter()
                .filter(|r| query.at_position.is_none_or(|at| r.position <= at))
                .collect(),
        )],
        _ => dyads_of(log)
            .into_iter()
            .map(|dyad| {
                let timeline = effective_timeline(log.iter().filter(|r| r.dyad == dyad), query);
                (format!("dyad {dyad}"), timeline)
            })
            .collect(),
    }
}

fn dyads_of(log: &[RecordedEvent]) -> BTreeSet<Dyad> {
    log.iter().map(|r| r.dyad).collect()
}

fn fold<P: Projection>(events: &[&RecordedEvent]) -> P {
    let mut value = P::default();
    for event in events {
        value.apply(event);
    }
    value
}

fn json<P: Projection>(value: &P) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|err| format!("the projection does not serialize: {err}"))
}

fn ids(events: &[&RecordedEvent]) -> String {
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    format!("[{}]", ids.join(", "))
}

fn no_panic<P: Projection>(log: &[RecordedEvent], query: &Query) -> Result<(), String> {
    for (_, events) in streams::<P>(log, query) {
        let _ = fold::<P>(&events);
    }
    Ok(())
}

/// Folds each stream `1 + again` times: every fold must give the first one's value (a
/// projection that draws at random between two values agrees with itself by chance once in
/// two folds, so a pasted regression folds more often than a generated case).
fn determinism<P: Projection>(
    log: &[RecordedEvent],
    query: &Query,
    again: usize,
) -> Result<(), String> {
    for (label, events) in streams::<P>(log, query) {
        let first = json(&fold::<P>(&events))?;
        for _ in 0..again {
            let next = json(&fold::<P>(&events))?;
            if first != next {
                return Err(format!(
                    "folding {label} ({query:?}) again gave {first} then {next}"
                ));
            }
        }
    }
    Ok(())
}

/// Where to split a stream: a generated index, or a given count of events.
#[derive(Debug, Clone, Copy)]
enum Split {
    Index(Index),
    At(usize),
}

fn snapshot_and_continue<P: Projection>(log: &[RecordedEvent], split: Split) -> Result<(), String> {
    for (label, events) in streams::<P>(log, &Query::default()) {
        let k = match split {
            Split::Index(index) => index.index(events.len() + 1),
            Split::At(k) if k <= events.len() => k,
            Split::At(_) => continue,
        };
        let (prefix, rest) = events.split_at(k);
        let saved = fold::<P>(prefix);
        let text = serde_json::to_string(&saved)
            .map_err(|err| format!("the projection does not serialize: {err}"))?;
        let mut restored: P = serde_json::from_str(&text).map_err(|err| {
            format!("the projection's own JSON does not deserialize: {err}: {text}")
        })?;
        let (saved_json, restored_json) = (json(&saved)?, json(&restored)?);
        if saved_json != restored_json {
            return Err(format!(
                "{label}: the value after {k} events {saved_json} reads back as {restored_json}"
            ));
        }
        for event in rest {
            restored.apply(event);
        }
        let (continued, whole) = (json(&restored)?, json(&fold::<P>(&events))?);
        if continued != whole {
            return Err(format!(
                "{label}: saved after {k} events {}, restored and continued with {} it is {continued}, but the fold of all is {whole}",
                ids(prefix),
                ids(rest)
            ));
        }
    }
    Ok(())
}

fn append_order_independence<P: Projection>(
    history: &[NewEvent],
    shuffled: &[NewEvent],
) -> Result<(), String> {
    let (log, other) = (records(history), records(shuffled));
    let (ours, theirs) = (
        streams::<P>(&log, &Query::default()),
        streams::<P>(&other, &Query::default()),
    );
    for ((label, events), (_, other_events)) in ours.iter().zip(&theirs) {
        let (expected, found) = (json(&fold::<P>(events))?, json(&fold::<P>(other_events))?);
        if expected != found {
            let order: Vec<String> = shuffled
                .iter()
                .map(|e| e.effective_id().to_string())
                .collect();
            return Err(format!(
                "{label}: recorded in the order shown the value is {expected}; the same facts (distinct dates) recorded in the order [{}] give {found}",
                order.join(", ")
            ));
        }
    }
    Ok(())
}

/// An engine on a fresh temporary directory, with `P` registered.
struct TempEngine {
    engine: Engine,
    dir: tempfile::TempDir,
}

fn engine_config() -> EngineConfig {
    EngineConfig {
        durability: Durability::Buffered,
        snapshot_every: 4,
        ..EngineConfig::default()
    }
}

fn open_engine<P: Projection>() -> Result<TempEngine, String> {
    let dir = tempfile::tempdir().map_err(|err| format!("no temporary directory: {err}"))?;
    let engine = reopen::<P>(dir.path())?;
    Ok(TempEngine { engine, dir })
}

fn reopen<P: Projection>(path: &std::path::Path) -> Result<Engine, String> {
    let engine = Engine::open_with(path, engine_config())
        .map_err(|err| format!("the engine does not open: {err}"))?;
    engine
        .register::<P>()
        .map_err(|err| format!("the projection does not register: {err}"))?;
    Ok(engine)
}

fn record_all(engine: &Engine, events: &[NewEvent], batches: &[usize]) -> Result<(), String> {
    let mut rest = events;
    let mut sizes = batches.iter().copied().chain(std::iter::repeat(1));
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(1).clamp(1, rest.len());
        let (batch, after) = rest.split_at(n);
        engine.record_batch(batch.to_vec()).map_err(|err| {
            format!(
                "the engine refused a valid event (a bug in detente, not in the projection): {err}"
            )
        })?;
        rest = after;
    }
    Ok(())
}

fn stored_log(engine: &Engine) -> Result<Vec<RecordedEvent>, String> {
    engine
        .log(1)
        .collect::<Result<_, _>>()
        .map_err(|err| format!("the engine's log does not read: {err}"))
}

/// The engine's kept values of `P`: per dyad, or the raw-log one.
fn kept_values<P: Projection>(engine: &Engine) -> Result<Vec<(String, Value)>, String> {
    let values = match P::MODE {
        ReadMode::RawLog => vec![("the raw log".to_owned(), None)],
        _ => dyads_of(&stored_log(engine)?)
            .into_iter()
            .map(|dyad| (format!("dyad {dyad}"), Some(dyad)))
            .collect(),
    };
    values
        .into_iter()
        .map(|(label, dyad)| {
            let value = engine
                .projection::<P>(dyad)
                .map_err(|err| format!("the engine has no value: {err}"))?;
            Ok((label, json(&value)?))
        })
        .collect()
}

fn in_memory_values<P: Projection>(log: &[RecordedEvent]) -> Result<Vec<(String, Value)>, String> {
    streams::<P>(log, &Query::default())
        .into_iter()
        .map(|(label, events)| Ok((label, json(&fold::<P>(&events))?)))
        .collect()
}

fn compare(
    what: &str,
    expected: &[(String, Value)],
    found: &[(String, Value)],
) -> Result<(), String> {
    for ((label, expected), (_, found)) in expected.iter().zip(found) {
        if expected != found {
            return Err(format!(
                "{label}: the in-memory fold of the stored log is {expected}, {what} is {found}"
            ));
        }
    }
    if expected.len() != found.len() {
        return Err(format!(
            "{what} has {} values, the in-memory fold {}",
            found.len(),
            expected.len()
        ));
    }
    Ok(())
}

fn dyad_isolation<P: Projection>(history: &[NewEvent]) -> Result<(), String> {
    let Some(first) = history.first().map(|e| e.dyad) else {
        return Ok(());
    };
    let temp = open_engine::<P>()?;
    let (ours, theirs): (Vec<NewEvent>, Vec<NewEvent>) =
        history.iter().cloned().partition(|e| e.dyad == first);
    record_all(&temp.engine, &ours, &[])?;
    let read = |engine: &Engine| {
        engine
            .projection::<P>(Some(first))
            .map_err(|err| format!("the engine has no value: {err}"))
            .and_then(|value| json(&value))
    };
    let alone = read(&temp.engine)?;
    record_all(&temp.engine, &theirs, &[])?;
    let mixed = read(&temp.engine)?;
    if alone != mixed {
        return Err(format!(
            "dyad {first}: its value was {alone}, and after {} events of other dyads it is {mixed}",
            theirs.len()
        ));
    }
    let log = stored_log(&temp.engine)?;
    compare(
        "the engine's value",
        &in_memory_values::<P>(&log)?,
        &kept_values::<P>(&temp.engine)?,
    )
}

fn replay_equals_fold<P: Projection>(
    history: &[NewEvent],
    batches: &[usize],
) -> Result<(), String> {
    let temp = open_engine::<P>()?;
    record_all(&temp.engine, history, batches)?;
    let log = stored_log(&temp.engine)?;
    let expected = in_memory_values::<P>(&log)?;
    compare(
        "the value the engine kept current while recording",
        &expected,
        &kept_values::<P>(&temp.engine)?,
    )?;
    let replayed: Vec<(String, Value)> = match P::MODE {
        ReadMode::RawLog => {
            let value = temp
                .engine
                .replay::<P>()
                .map_err(|err| format!("the engine does not replay: {err}"))?;
            vec![("the raw log".to_owned(), json(&value)?)]
        }
        _ => dyads_of(&log)
            .into_iter()
            .map(|dyad| {
                let value = temp
                    .engine
                    .replay_dyad::<P>(dyad)
                    .map_err(|err| format!("the engine does not replay: {err}"))?;
                Ok((format!("dyad {dyad}"), json(&value)?))
            })
            .collect::<Result<_, String>>()?,
    };
    compare("the engine's replay", &expected, &replayed)?;
    let TempEngine { engine, dir } = temp;
    drop(engine);
    let engine = reopen::<P>(dir.path())?;
    compare(
        "the value the engine restored after a reopen",
        &expected,
        &kept_values::<P>(&engine)?,
    )
}

fn idempotent_record<P: Projection>(history: &[NewEvent]) -> Result<(), String> {
    let temp = open_engine::<P>()?;
    record_all(&temp.engine, history, &[])?;
    let head = temp.engine.head();
    let before = kept_values::<P>(&temp.engine)?;
    for event in history {
        let again = temp
            .engine
            .record(event.clone())
            .map_err(|err| format!("recording `{}` again failed: {err}", event.effective_id()))?;
        if again.stored {
            return Err(format!(
                "recording `{}` again stored it twice",
                event.effective_id()
            ));
        }
    }
    record_all(&temp.engine, history, &[history.len().max(1)])?;
    if temp.engine.head() != head {
        return Err("recording the history again moved the head of the log".to_owned());
    }
    let after = kept_values::<P>(&temp.engine)?;
    for ((label, before), (_, after)) in before.iter().zip(&after) {
        if before != after {
            return Err(format!(
                "{label}: the value was {before}, and after recording the same events again it is {after}"
            ));
        }
    }
    compare(
        "the engine's value",
        &in_memory_values::<P>(&stored_log(&temp.engine)?)?,
        &after,
    )
}
