//! The engine: what library users hold. It checks new facts, appends them to the store, keeps
//! projections and snapshots current, and answers the bitemporal queries of `docs/contract.md` (the time model),
//! always exactly what [`state_at`] answers, only faster.
//!
//! **Invariant:** every answer of the engine equals the reference fold over the stored log.
//! Everything the engine keeps besides the log (projections, snapshots, checkpoints) is a
//! cache: `verify` proves it equal to a replay, and a rebuild reproduces it.

mod binary;
mod import;
mod keys;
mod ladder;
mod maintain;
mod query;
mod record;
mod subscribe;
mod sync;
mod verify;

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{
    BilateralState, Dyad, Event, EventId, NewEvent, Projection, Query, ReadMode, RecordedEvent,
    Rejection, StateDiff, effective_timeline, state_at,
};
use crate::store::{
    AnyBackend, AppendOptions, Durability, OpenMode, Store, StoreConfig, StoreError,
};

pub use crate::store::{Appended, Head, StoreStats};
pub use import::{ImportError, Imported};
use keys::TimeKey;
pub use record::{Recorded, Restored, Warning};
pub use subscribe::Subscription;
pub use verify::{VerifyFailure, VerifyReport};

/// How an engine runs.
///
/// # Example
///
/// ```
/// use detente::engine::Config;
///
/// let config = Config { snapshot_every: 128, ..Config::default() };
/// assert_eq!(config.max_retries, 8);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// How appends reach the disk; the default returns only after a flush.
    pub durability: Durability,
    /// How many events of a dyad's effective timeline lie between two snapshots of its
    /// `BilateralState` (default 1,024). Smaller: fewer events folded after the snapshot an
    /// `as_of` query or a back-dated record starts from, but a snapshot is the whole state, so
    /// disk grows as (events of the dyad)² / `snapshot_every` (`docs/performance.md`).
    pub snapshot_every: u64,
    /// How many events of a dyad's effective timeline lie between two states an `as_of`
    /// query keeps in memory as it folds (default 256): the next `as_of` near that date folds
    /// at most this many. These states share structure with each other, so each costs about
    /// the events between them; the engine keeps a bounded weight of them, dropping the least
    /// recently asked dyads first.
    pub rung_every: u64,
    /// How often a record re-checks and retries after a version conflict.
    pub max_retries: u32,
    /// The most bytes of pages the store keeps in memory
    /// ([`StoreConfig::cache_capacity`], default 64 MiB).
    pub cache_capacity: u64,
    /// Whether opening may create a store (the default) or requires one
    /// ([`OpenMode::Existing`], what readers want: an absent or empty path is then
    /// [`StoreError::NoStore`] and nothing is created).
    pub open: OpenMode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            durability: Durability::default(),
            snapshot_every: 1024,
            rung_every: ladder::RUNG_EVERY,
            max_retries: 8,
            cache_capacity: crate::store::DEFAULT_CACHE_CAPACITY,
            open: OpenMode::default(),
        }
    }
}

/// What can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event of a batch was refused by the checks of `docs/contract.md` (checking a new event); nothing was stored.
    #[error("event {} of the batch (`{id}`) is refused: {rejection}", .index + 1)]
    Rejected {
        /// Its index in the batch, from 0.
        index: usize,
        /// Its id.
        id: EventId,
        /// Why.
        rejection: Rejection,
    },
    /// An event's id is already recorded with other content; nothing was stored.
    #[error("event {} of the batch: id `{id}` is already recorded at position {position} with other content: use another id, or retract the stored event and record the correction", .index + 1)]
    IdConflict {
        /// Its index in the batch, from 0.
        index: usize,
        /// The id.
        id: EventId,
        /// The stored record's position (0 when the other is earlier in the same batch).
        position: u64,
    },
    /// Other writers kept changing the dyads; nothing was stored.
    #[error(
        "the batch met a version conflict {attempts} times in a row: other writers keep changing its dyads; try again"
    )]
    TooManyConflicts {
        /// How many times it was tried.
        attempts: u32,
    },
    /// The engine's cached data in the store does not decode.
    #[error(
        "the engine's {what} does not decode: {reason}; run `detente verify`, or rebuild the projections"
    )]
    BadCache {
        /// What was read.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A registered projection was asked for that is not registered.
    #[error("projection `{name}` is not registered: call `Engine::register` first")]
    NotRegistered {
        /// Its name.
        name: &'static str,
    },
    /// Verification found a fault.
    #[error("verification failed: {0}")]
    Verify(VerifyFailure),
    /// A record to restore breaks a rule that every record keeps, whatever the edition of the
    /// rules it was written under ([`check_record_alone`](crate::domain::check_record_alone)):
    /// the export was forged or damaged, even if its chain holds; nothing was restored.
    #[error(
        "the record at position {position} (`{id}`) breaks a rule every record keeps: {rejection}: the export was edited or forged, whatever its hashes say; nothing was restored"
    )]
    BadRecord {
        /// Its position.
        position: u64,
        /// Its id.
        id: EventId,
        /// The rule it breaks.
        rejection: Rejection,
    },
    /// A strict restore met records that break a rule of history; nothing was restored.
    #[error(
        "{} record{} of the export break{} a rule of history, the first at {}; nothing was restored (without --strict they are restored and reported)",
        .findings.len(),
        if .findings.len() == 1 { "" } else { "s" },
        if .findings.len() == 1 { "s" } else { "" },
        .findings.first().map(ToString::to_string).unwrap_or_default()
    )]
    Findings {
        /// The records and the rules they break, in position order.
        findings: Vec<crate::domain::Finding>,
    },
}

/// The part of a stored projection value that the engine needs to continue it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredProjection {
    /// The projection's version when it was stored.
    version: u32,
    /// The last position folded into it.
    position: u64,
    /// The last place of the effective timeline folded (per-dyad projections).
    last: Option<(NaiveDate, u64)>,
    /// Timeline events folded since the last snapshot.
    since_snapshot: u64,
    /// The value.
    value: serde_json::Value,
}

/// One dyad's fold of a projection along its effective timeline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fold<P> {
    pub value: P,
    pub last: Option<TimeKey>,
    pub since_snapshot: u64,
    /// Timeline events folded since the last in-memory rung (not stored).
    pub since_rung: u64,
    pub position: u64,
}

/// Writes to the store's auxiliary space: a key and its new value, or `None` to remove it.
pub(crate) type AuxEntries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A registered user projection, behind a type-erased face.
pub(crate) trait Slot: Send + Sync {
    fn name(&self) -> &'static str;
    fn as_any(&self) -> &dyn Any;
    /// Brings the slot up to date after `records` (position order) were appended;
    /// `refold` holds the dyads whose effective timeline changed before their end.
    fn advance(
        &mut self,
        engine: &Shared,
        records: &[RecordedEvent],
        refold: &BTreeMap<Dyad, TimeKey>,
    ) -> Result<(), EngineError>;
    /// The values to persist.
    fn persist(&mut self, head: u64) -> Result<AuxEntries, EngineError>;
    /// Checks the persisted values against a replay.
    fn verify(&self, engine: &Shared) -> Result<(), VerifyFailure>;
}

/// The state shared by an engine's handles and subscriptions.
pub(crate) struct Shared {
    /// The log: a sled folder or a PostgreSQL database, by the location opened.
    pub store: Store<AnyBackend>,
    pub path: PathBuf,
    pub config: Config,
    /// Held for the whole record path: check, append, maintain.
    pub writer: Mutex<()>,
    /// The in-memory folds and registered projections; the snapshots
    /// in the store change only under its write lock.
    pub folds: RwLock<Folds>,
    /// In-memory states along the timelines of the dyads asked about (`ladder.rs`); its
    /// rungs are dropped where a timeline changes, under the write lock of `folds`.
    pub ladders: Mutex<ladder::Ladders>,
    /// The head position, for subscribers.
    pub head: Mutex<u64>,
    pub head_changed: Condvar,
}

#[derive(Default)]
pub(crate) struct Folds {
    pub dyads: HashMap<Dyad, Fold<BilateralState>>,
    pub slots: Vec<Box<dyn Slot>>,
    /// Dyads whose fold changed since it was last stored.
    pub dirty: std::collections::HashSet<Dyad>,
    /// Events folded into `dirty` dyads since then.
    pub dirty_events: u64,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Best effort: a fold not stored here is re-folded on the next open.
        let folds = self.folds.get_mut().unwrap_or_else(|p| p.into_inner());
        let mut folds = std::mem::take(folds);
        let _ = self.persist_now(&mut folds);
    }
}

/// An open store with its projections: the handle library users hold.
///
/// Cheap to clone; clones share one store and may be used from many threads.
///
/// # Example
///
/// ```
/// use detente::engine::Engine;
/// use detente::scenario;
///
/// let dir = tempfile::tempdir()?;
/// let engine = Engine::open(dir.path())?;
/// engine.record_batch(scenario::istanbul_2025())?;
/// let state = engine.state("RUS-USA".parse()?)?;
/// assert_eq!(state.rounds.len(), 1);
/// assert_eq!(state.claims.values().next().map(|c| c.count), Some(6));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    /// Opens (creating where absent) the store at `path` with the default [`Config`].
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path().join("store"))?;
    /// assert_eq!(engine.head().position, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Engine, EngineError> {
        Engine::open_with(path, Config::default())
    }

    /// Opens the store at `path` with `config`. Cached projections behind the log catch up;
    /// those of an older projection or layout version are rebuilt.
    ///
    /// ```
    /// # use detente::engine::{Engine, Config};
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open_with(dir.path(), Config { snapshot_every: 64, ..Config::default() })?;
    /// assert!(engine.dyads()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, config: Config) -> Result<Engine, EngineError> {
        let store = Store::open_location(
            path.as_ref(),
            StoreConfig {
                durability: config.durability,
                cache_capacity: config.cache_capacity,
                open: config.open,
                ..StoreConfig::default()
            },
        )?;
        // The location as errors name it: a URL without its password.
        let path = store.path().to_path_buf();
        let head = store.head().position;
        let shared = Shared {
            store,
            path,
            config,
            writer: Mutex::new(()),
            folds: RwLock::new(Folds::default()),
            ladders: Mutex::new(ladder::Ladders::default()),
            head: Mutex::new(head),
            head_changed: Condvar::new(),
        };
        shared.catch_up()?;
        Ok(Engine {
            shared: Arc::new(shared),
        })
    }

    /// The store's path.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// assert_eq!(engine.path(), dir.path());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The format version the store was migrated from when this engine opened it, if it was
    /// (see [`Store::migrated_from`]): the one change a reader's open may make to the log.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(Engine::open(dir.path())?.migrated_from(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn migrated_from(&self) -> Option<u32> {
        self.shared.store.migrated_from_any()
    }

    /// The head an import that did not finish had started from, and how many of its records
    /// this engine's open rolled back, if it found one (a process killed during
    /// [`Engine::import`]; see [`Store::rolled_back_on_open`]): running the import again
    /// completes it.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(Engine::open(dir.path())?.rolled_back_on_open(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rolled_back_on_open(&self) -> Option<(Head, u64)> {
        self.shared.store.rolled_back_on_open()
    }

    /// Records one event: see [`Engine::record_batch`].
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// use detente::domain::NewEvent;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let input: NewEvent = serde_json::from_str(r#"{"dyad": "RUS-USA", "occurred_on": "2018-03-26",
    ///     "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 60}}"#)?;
    /// let first = engine.record(input.clone())?;
    /// assert_eq!((first.record.position, first.stored), (1, true));
    /// // The same content again is a no-op that returns the stored record.
    /// let again = engine.record(input)?;
    /// assert_eq!((again.record.position, again.stored), (1, false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record(&self, event: NewEvent) -> Result<Appended, EngineError> {
        let mut appended = self.record_batch(vec![event])?;
        match appended.pop() {
            Some(one) => Ok(one),
            None => unreachable!("one input gives one result"),
        }
    }

    /// Records a batch, all or nothing. Each event is checked (`docs/contract.md`, checking a new event) against the
    /// state it lands in, including the batch's earlier events, then the batch is appended
    /// with the dyad versions it was checked against; on a version conflict it is checked
    /// again and retried, at most [`Config::max_retries`] times. An event whose id is stored
    /// with the same content is a no-op that returns the stored record.
    ///
    /// ```
    /// # use detente::engine::{Engine, EngineError};
    /// use detente::domain::NewEvent;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let orphan: NewEvent = serde_json::from_str(r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01",
    ///     "event": {"type": "StepProgressed", "step": "never-agreed", "stage": "implemented"}}"#)?;
    /// let err = engine.record_batch(vec![orphan]).unwrap_err();
    /// assert!(matches!(err, EngineError::Rejected { index: 0, .. }));
    /// assert_eq!(engine.head().position, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_batch(&self, events: Vec<NewEvent>) -> Result<Vec<Appended>, EngineError> {
        Ok(self.record_batch_with_warnings(events)?.appended)
    }

    /// [`Engine::record_batch`], with the warnings of `docs/contract.md`, checking a new event: a retraction that
    /// leaves events without effect, and likely duplicates.
    ///
    /// The batch is checked as a whole: it is accepted when every event is valid in the
    /// effective timeline that includes all of them (the order of the inputs does not matter,
    /// as long as no event names an item raised by a later input of the same date) and it adds
    /// no anomaly but those of its retractions; otherwise the lowest index among the failing
    /// inputs is named ([`EngineError::Rejected`]). A batch whose inputs, taken in order, are
    /// each valid against the state the earlier ones leave is checked event by event, the fast
    /// way; any other batch, and any batch of several inputs with a retraction, with
    /// [`check_batch`](crate::domain::check_batch) over the timelines of its dyads.
    ///
    /// ```
    /// # use detente::engine::{Engine, Warning};
    /// use detente::domain::NewEvent;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let expelled = |extra: &str| -> NewEvent { serde_json::from_str(&format!(r#"{{"dyad": "RUS-USA",
    ///     "occurred_on": "2018-03-26"{extra}, "event": {{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 60}}}}"#)).unwrap() };
    /// engine.record(expelled(""))?;
    /// let again = engine.record_batch_with_warnings(vec![expelled(r#", "reported_on": "2018-03-26""#)])?;
    /// assert!(matches!(again.warnings[..], [Warning::LikelyDuplicate { position: 1, .. }]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_batch_with_warnings(
        &self,
        events: Vec<NewEvent>,
    ) -> Result<Recorded, EngineError> {
        let shared = &self.shared;
        let _writer = lock(&shared.writer);
        let attempts = shared.config.max_retries.saturating_add(1);
        // Several inputs with a retraction among them are checked as a whole from the start:
        // the event-by-event check lets a retraction leave a later input without effect.
        let whole_first = events.len() > 1
            && events
                .iter()
                .any(|input| matches!(input.event, Event::EventRetracted(_)));
        for _ in 0..attempts {
            // Other processes' appends first (a shared log): the plan checks against them.
            shared.sync()?;
            // A conflict plans again from `events`, so the plan's inputs are moved, not copied.
            let mut plan = match shared.plan(&events, whole_first) {
                Err(EngineError::Rejected { .. }) if !whole_first && events.len() > 1 => {
                    shared.plan(&events, true)?
                }
                other => other?,
            };
            let options = AppendOptions {
                expected: std::mem::take(&mut plan.expected),
                durability: shared.config.durability,
            };
            // Queries wait from the append until the caches know of it: one that read the new
            // log from a cached state made before it could mix the two timelines.
            let mut folds = write(&shared.folds);
            let appended = match shared
                .store
                .append(std::mem::take(&mut plan.inputs), &options)
            {
                Ok(appended) => appended,
                Err(StoreError::Conflict { .. }) => continue,
                Err(err) => return Err(err.into()),
            };
            let (records, stored): (Vec<RecordedEvent>, Vec<bool>) = appended
                .into_iter()
                .map(|appended| (appended.record, appended.stored))
                .unzip();
            if shared.store.is_shared() {
                // The store may have caught up with other processes' records before this
                // batch's: the caches take every record up to the new head, in order.
                shared.sync_locked(&mut folds)?;
            } else if stored.iter().all(|&stored| stored) {
                // The usual case: every record is new, and the caches take them as they are.
                if !records.is_empty() {
                    shared.maintain(&mut folds, &records)?;
                    shared.publish_head(shared.store.head().position);
                }
            } else {
                let new: Vec<RecordedEvent> = records
                    .iter()
                    .zip(&stored)
                    .filter(|(_, stored)| **stored)
                    .map(|(record, _)| record.clone())
                    .collect();
                if !new.is_empty() {
                    shared.maintain(&mut folds, &new)?;
                    shared.publish_head(shared.store.head().position);
                }
            }
            let warnings = std::mem::take(&mut plan.warnings);
            return Ok(Recorded {
                appended: plan.results(records, &stored),
                warnings,
            });
        }
        Err(EngineError::TooManyConflicts { attempts })
    }

    /// The end of the log.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// assert_eq!(engine.head().position, 0);
    /// let recorded = engine.record_batch(detente::scenario::istanbul_2025())?;
    /// assert_eq!(engine.head().position, recorded.len() as u64);
    /// assert_eq!(engine.head().hash, recorded.last().unwrap().record.hash);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn head(&self) -> Head {
        // On a shared log, the head as stored now; should the server not answer, the last
        // head known (the next call that can fail says why).
        if self.shared.store.is_shared() {
            let _ = self.shared.sync();
        }
        self.shared.store.head()
    }

    /// Every dyad with its version.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let dyads = engine.dyads()?;
    /// assert_eq!(dyads[0].0.to_string(), "RUS-USA");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dyads(&self) -> Result<Vec<(Dyad, u64)>, EngineError> {
        Ok(self.shared.store.dyads()?)
    }

    /// Counts and sizes of the store.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let stats = engine.stats()?;
    /// assert_eq!((stats.events, stats.dyads), (engine.head().position, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Result<StoreStats, EngineError> {
        self.shared.sync()?;
        Ok(self.shared.store.stats()?)
    }

    /// The current state of a dyad: every known fact, no bounds. Served from memory.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let state = engine.state("RUS-USA".parse()?)?;
    /// assert_eq!(state.events_applied, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state(&self, dyad: Dyad) -> Result<BilateralState, EngineError> {
        self.shared.sync()?;
        if let Some(log) = self.continued_log(dyad)? {
            return Ok(state_at(&log, &Query::default()));
        }
        if let Some(fold) = read(&self.shared.folds).dyads.get(&dyad) {
            return Ok(fold.value.clone());
        }
        let mut folds = write(&self.shared.folds);
        Ok(self.shared.fold_of(&mut folds, dyad)?.value.clone())
    }

    /// The state of a dyad for a bitemporal query. An `as_of`-only query folds from the
    /// nearest snapshot at or before that date; a query with `known_at` or `at_position`
    /// folds the dyad's whole log (see `docs/architecture.md`).
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// use detente::domain::Query;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let before_talks = Query { as_of: Some("2025-02-26".parse()?), ..Query::default() };
    /// let state = engine.query("RUS-USA".parse()?, &before_talks)?;
    /// assert!(state.rounds.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn query(&self, dyad: Dyad, query: &Query) -> Result<BilateralState, EngineError> {
        let shared = &self.shared;
        shared.sync()?;
        if let Some(log) = self.continued_log(dyad)? {
            return Ok(state_at(&log, query));
        }
        let unbounded_knowledge = query.known_at.is_none()
            && query
                .at_position
                .is_none_or(|at| at >= shared.store.head().position);
        match (unbounded_knowledge, query.as_of) {
            (true, None) => self.state(dyad),
            (true, Some(as_of)) => {
                let folds = read(&shared.folds);
                let result = shared.fold_as_of(dyad, as_of);
                drop(folds);
                result
            }
            (false, _) => {
                let events = shared.dyad_log(dyad)?;
                Ok(state_at(&events, query))
            }
        }
    }

    /// The dyad's effective timeline (retractions applied, ordered by `(occurred_on,
    /// position)`), with each event's dates and sources, between two dates (each included
    /// where given).
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let talks_day = "2025-02-27".parse()?;
    /// let day = engine.history("RUS-USA".parse()?, Some(talks_day), Some(talks_day))?;
    /// assert!(day.iter().all(|e| e.occurred_on == talks_day));
    /// assert!(!day.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn history(
        &self,
        dyad: Dyad,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<RecordedEvent>, EngineError> {
        self.shared.sync()?;
        let folds = read(&self.shared.folds);
        let result = match self.shared.continued_records(dyad)? {
            Some(records) => Ok(effective_timeline(&records, &Query::default())
                .into_iter()
                .filter(|record| {
                    from.is_none_or(|from| record.occurred_on >= from)
                        && to.is_none_or(|to| record.occurred_on <= to)
                })
                .cloned()
                .collect()),
            None => self.shared.timeline(dyad, from, to),
        };
        drop(folds);
        result
    }

    /// The records of a dyad and of the dyads it continues (`docs/contract.md`, successions:
    /// `RUS-USA` continues `SUN-USA`), as stored, each of its own dyad, in position order:
    /// the records whose [`effective_timeline`] is the
    /// dyad's, for any query. For a dyad that continues none, its [`Engine::stream`] in
    /// position order.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// use detente::domain::NewEvent;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let line = |dyad: &str, on: &str, by: &str| -> NewEvent { serde_json::from_str(&format!(
    ///     r#"{{"dyad": "{dyad}", "occurred_on": "{on}", "event": {{"type": "DiplomatsExpelled", "expelled_by": "{by}", "count": 5}}}}"#)).unwrap() };
    /// engine.record(line("SUN-USA", "1986-10-21", "SUN"))?;
    /// engine.record(line("RUS-USA", "2001-03-21", "RUS"))?;
    /// assert_eq!(engine.continued_stream("RUS-USA".parse()?)?.len(), 2);
    /// assert_eq!(engine.continued_stream("SUN-USA".parse()?)?.len(), 1);
    /// // The Soviet expulsion is read as Russia's in RUS-USA.
    /// let state = engine.state("RUS-USA".parse()?)?;
    /// assert_eq!(state.reciprocity.diplomats_expelled[&"RUS".parse()?], 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn continued_stream(&self, dyad: Dyad) -> Result<Vec<RecordedEvent>, EngineError> {
        let folds = read(&self.shared.folds);
        let records = match self.shared.continued_records(dyad)? {
            Some(records) => records,
            None => self.shared.dyad_log(dyad)?,
        };
        drop(folds);
        Ok(records)
    }

    /// [`Shared::continued_log`] under the folds' read lock, so that an append in between
    /// cannot show half a batch.
    fn continued_log(&self, dyad: Dyad) -> Result<Option<Vec<RecordedEvent>>, EngineError> {
        let folds = read(&self.shared.folds);
        let log = self.shared.continued_log(dyad);
        drop(folds);
        log
    }

    /// What changed in the dyad's state between the states as of `from` and as of `to`.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let diff = engine.diff("RUS-USA".parse()?, "2025-01-01".parse()?, "2025-03-01".parse()?)?;
    /// assert_eq!(diff.rounds_added.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff(
        &self,
        dyad: Dyad,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<StateDiff, EngineError> {
        let before = self.query(
            dyad,
            &Query {
                as_of: Some(from),
                ..Query::default()
            },
        )?;
        let after = self.query(
            dyad,
            &Query {
                as_of: Some(to),
                ..Query::default()
            },
        )?;
        Ok(StateDiff::between(&before, &after))
    }

    /// The whole log from `from_position` on, in position order, streaming.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let first = engine.log(1).next().transpose()?;
    /// assert_eq!(first.map(|r| r.position), Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log(
        &self,
        from_position: u64,
    ) -> impl Iterator<Item = Result<RecordedEvent, EngineError>> + '_ {
        self.shared
            .store
            .read_log(from_position)
            .map(|r| r.map_err(EngineError::from))
    }

    /// A dyad's recorded events in version order (its raw stream), streaming.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let versions: Vec<u64> = engine
    ///     .stream("RUS-USA".parse()?)
    ///     .map(|record| record.map(|record| record.version))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream(
        &self,
        dyad: Dyad,
    ) -> impl Iterator<Item = Result<RecordedEvent, EngineError>> + '_ {
        self.shared
            .store
            .read_dyad(dyad, 1..=u64::MAX)
            .map(|r| r.map_err(EngineError::from))
    }

    /// One recorded event by id.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let talks = engine.get(&"istanbul-2025-talks".parse()?)?;
    /// assert_eq!(talks.map(|record| record.occurred_on.to_string()), Some("2025-02-27".to_owned()));
    /// assert!(engine.get(&"no-such-event".parse()?)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, id: &EventId) -> Result<Option<RecordedEvent>, EngineError> {
        Ok(self.shared.store.get(id)?)
    }

    /// Restores recorded events verbatim (an export into an empty store, or continuing one):
    /// positions, versions, `recorded_at` and hashes are kept and the chain is verified.
    /// Records the store already holds, identical, are skipped, so a repeat is a no-op;
    /// returns how many records were restored.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let source = Engine::open(dir.path().join("a"))?;
    /// source.record_batch(detente::scenario::istanbul_2025())?;
    /// let records = source.log(1).collect::<Result<Vec<_>, _>>()?;
    /// let copy = Engine::open(dir.path().join("b"))?;
    /// assert_eq!(copy.restore(records.clone())?, copy.head().position);
    /// assert_eq!(copy.head(), source.head());
    /// assert_eq!(copy.restore(records)?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore(&self, records: Vec<RecordedEvent>) -> Result<u64, EngineError> {
        Ok(self.restore_checked(records, false)?.restored)
    }

    /// [`Engine::restore`], with the checks of `docs/contract.md`, checking a new event reported. A record that
    /// breaks a rule needing no history ([`check_record_alone`](crate::domain::check_record_alone):
    /// shape and limits, parties, `reported_on` before `occurred_on`, a retraction whose target
    /// is not an earlier record of its dyad or is a retraction) is refused
    /// ([`EngineError::BadRecord`]), even with a recomputed chain. Records that break a rule of
    /// history, which a genuine log written under an earlier edition of the rules may, are
    /// restored and returned as findings ([`findings`](crate::domain::findings)); with
    /// `strict`, they refuse the restore ([`EngineError::Findings`]). Nothing is stored on a
    /// refusal.
    ///
    /// ```
    /// # use detente::engine::{Engine, EngineError};
    /// # let dir = tempfile::tempdir()?;
    /// let source = Engine::open(dir.path().join("a"))?;
    /// source.record_batch(detente::scenario::istanbul_2025())?;
    /// let records = source.log(1).collect::<Result<Vec<_>, _>>()?;
    /// let copy = Engine::open(dir.path().join("b"))?;
    /// // A forged record, known before it happened, and the chain hashed again after it.
    /// let mut forged = records.clone();
    /// forged[0].reported_on = "2001-01-01".parse()?;
    /// let mut previous = detente::domain::ChainHash::ZERO;
    /// for record in &mut forged {
    ///     record.hash = record.chain_hash(&previous);
    ///     previous = record.hash;
    /// }
    /// let err = copy.restore_checked(forged, false).unwrap_err();
    /// assert!(matches!(err, EngineError::BadRecord { position: 1, .. }));
    /// assert_eq!(copy.head().position, 0);
    /// let restored = copy.restore_checked(records, true)?;
    /// assert!(restored.findings.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore_checked(
        &self,
        records: Vec<RecordedEvent>,
        strict: bool,
    ) -> Result<Restored, EngineError> {
        let shared = &self.shared;
        let _writer = lock(&shared.writer);
        shared.sync()?;
        let head = shared.store.head().position;
        let mut folds = write(&shared.folds);
        // The rules are checked once the store has checked the chain, so that a record edited
        // without its hashes is named as such; the refusal is carried out of the store's hook.
        let mut refusal: Option<EngineError> = None;
        let mut findings = Vec::new();
        let outcome = shared.store.restore_from_checked(&records, &mut || {
            let checked = shared
                .check_restore(&records, head)
                .and_then(|found| match found {
                    found if strict && !found.is_empty() => {
                        Err(EngineError::Findings { findings: found })
                    }
                    found => Ok(found),
                });
            match checked {
                Ok(found) => {
                    findings = found;
                    true
                }
                Err(err) => {
                    refusal = Some(err);
                    false
                }
            }
        });
        let restored = match (outcome?, refusal) {
            (Some(restored), _) => restored,
            (None, Some(err)) => return Err(err),
            (None, None) => 0,
        };
        let new = &records[records.len().saturating_sub(restored as usize)..];
        if shared.store.is_shared() {
            shared.sync_locked(&mut folds)?;
        } else if !new.is_empty() {
            shared.maintain(&mut folds, new)?;
            shared.publish_head(shared.store.head().position);
        }
        Ok(Restored { restored, findings })
    }

    /// Registers a user projection: it is loaded from the store (rebuilt when absent, of
    /// another version, or behind the log) and kept current on every record from then on.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// use detente::domain::{Projection, RecordedEvent};
    ///
    /// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
    /// struct Count(u64);
    /// impl Projection for Count {
    ///     const NAME: &'static str = "count";
    ///     const VERSION: u32 = 1;
    ///     fn apply(&mut self, _: &RecordedEvent) { self.0 += 1 }
    /// }
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.register::<Count>()?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let count = engine.projection::<Count>(Some("RUS-USA".parse()?))?;
    /// assert_eq!(count.0, engine.state("RUS-USA".parse()?)?.events_applied);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register<P: Projection>(&self) -> Result<(), EngineError> {
        let shared = &self.shared;
        let _writer = lock(&shared.writer);
        shared.sync()?;
        let mut folds = write(&shared.folds);
        if folds.slots.iter().any(|slot| slot.name() == P::NAME) {
            return Ok(());
        }
        let mut slot = maintain::Registered::<P>::load(shared)?;
        let updates = slot.persist(shared.store.head().position)?;
        shared.store.aux_put(updates)?;
        folds.slots.push(Box::new(slot));
        Ok(())
    }

    /// A registered projection's current value: per dyad, or for `None` the raw-log value of a
    /// [`ReadMode::RawLog`] projection.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::{Projection, ReadMode, RecordedEvent};
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    ///
    /// /// Every record of the log, retractions included.
    /// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
    /// struct Records(u64);
    /// impl Projection for Records {
    ///     const NAME: &'static str = "records";
    ///     const VERSION: u32 = 1;
    ///     const MODE: ReadMode = ReadMode::RawLog;
    ///     fn apply(&mut self, _: &RecordedEvent) { self.0 += 1 }
    /// }
    ///
    /// engine.register::<Records>()?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// assert_eq!(engine.projection::<Records>(None)?.0, engine.head().position);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn projection<P: Projection>(&self, dyad: Option<Dyad>) -> Result<P, EngineError> {
        self.shared.sync()?;
        if let (Some(dyad), false) = (dyad, P::MODE == ReadMode::RawLog)
            && let Some(log) = self.continued_log(dyad)?
        {
            // A dyad that continues others: its projection is folded from their records too
            // (the registered value holds the dyad's own timeline only).
            let registered = read(&self.shared.folds)
                .slots
                .iter()
                .any(|slot| slot.name() == P::NAME);
            if !registered {
                return Err(EngineError::NotRegistered { name: P::NAME });
            }
            return Ok(fold_timeline(&log));
        }
        let folds = read(&self.shared.folds);
        let slot = folds
            .slots
            .iter()
            .find(|slot| slot.name() == P::NAME)
            .and_then(|slot| slot.as_any().downcast_ref::<maintain::Registered<P>>())
            .ok_or(EngineError::NotRegistered { name: P::NAME })?;
        Ok(slot.value(dyad))
    }

    /// Folds one dyad into any projection, registered or not: its effective timeline, or for
    /// a [`ReadMode::RawLog`] projection its records in position order.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// use detente::domain::BilateralState;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let dyad = "RUS-USA".parse()?;
    /// assert_eq!(engine.replay_dyad::<BilateralState>(dyad)?, engine.state(dyad)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay_dyad<P: Projection>(&self, dyad: Dyad) -> Result<P, EngineError> {
        let folds = read(&self.shared.folds);
        let result = self.shared.replay_continued::<P>(dyad);
        drop(folds);
        result
    }

    /// Folds every dyad into a fresh projection, dyad by dyad, on all cores, and hands each
    /// finished value to `each` (in no particular order). It gives for every dyad what
    /// [`Engine::replay_dyad`] gives (for `BilateralState`: `state_at` over the dyad's log),
    /// and holds at most a few dyads' values in memory at a time.
    ///
    /// Each worker thread reads its dyads' effective timelines from the store (one range scan
    /// each: a dyad's records are contiguous, in timeline order),
    /// reading and decoding the records itself, so that reading, decoding and folding use
    /// every core.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// use detente::domain::BilateralState;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let mut states = Vec::new();
    /// engine.replay_dyads::<BilateralState>(|dyad, state| states.push((dyad, state)))?;
    /// assert_eq!(states.len(), 1);
    /// assert_eq!(states[0].1, engine.state(states[0].0)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay_dyads<P: Projection>(
        &self,
        mut each: impl FnMut(Dyad, P),
    ) -> Result<(), EngineError> {
        let shared = &*self.shared;
        let folds = read(&shared.folds);
        let mut dyads = shared.store.dyads()?;
        // The largest dyads first (a dyad's version is its number of events): each worker
        // takes the next dyad when it is done with one, so the last ones to be taken, which
        // decide when the slowest worker finishes, are the smallest.
        dyads.sort_by_key(|&(_, version)| std::cmp::Reverse(version));
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(dyads.len())
            .max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let result = std::thread::scope(|scope| {
            let (sender, receiver) =
                std::sync::mpsc::sync_channel::<Result<(Dyad, P), EngineError>>(workers * 2);
            for _ in 0..workers {
                let sender = sender.clone();
                let (dyads, next) = (&dyads, &next);
                scope.spawn(move || {
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(dyad, _)) = dyads.get(index) else {
                            return;
                        };
                        let folded = shared
                            .replay_continued::<P>(dyad)
                            .map(|value| (dyad, value));
                        let failed = folded.is_err();
                        if sender.send(folded).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            drop(sender);
            for folded in receiver {
                match folded {
                    Ok((dyad, value)) => each(dyad, value),
                    Err(err) => {
                        // Stop the other workers early: they find no dyad left.
                        next.store(usize::MAX / 2, std::sync::atomic::Ordering::Relaxed);
                        return Err(err);
                    }
                }
            }
            Ok(())
        });
        drop(folds);
        result
    }

    /// Folds the whole log into any projection: a [`ReadMode::RawLog`] projection sees every
    /// record once in position order; an effective-timeline one sees each dyad's effective
    /// timeline in turn, dyads in canonical order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::{BilateralState, Projection, RecordedEvent};
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    ///
    /// /// How many events each effective timeline folds, over every dyad.
    /// #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
    /// struct Folded(u64);
    /// impl Projection for Folded {
    ///     const NAME: &'static str = "folded";
    ///     const VERSION: u32 = 1;
    ///     fn apply(&mut self, _: &RecordedEvent) { self.0 += 1 }
    /// }
    ///
    /// let state: BilateralState = engine.state("RUS-USA".parse()?)?;
    /// assert_eq!(engine.replay::<Folded>()?.0, state.events_applied);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay<P: Projection>(&self) -> Result<P, EngineError> {
        let mut value = P::default();
        match P::MODE {
            ReadMode::RawLog => {
                for record in self.shared.store.read_log(1) {
                    value.apply(&record?);
                }
            }
            _ => {
                let folds = read(&self.shared.folds);
                for (dyad, _) in self.shared.store.dyads()? {
                    // Streamed: one record decoded at a time, not each dyad's whole timeline.
                    for record in self.shared.timeline_after(dyad, None, None) {
                        value.apply(&record?);
                    }
                }
                drop(folds);
            }
        }
        Ok(value)
    }

    /// A live feed of newly recorded events, in position order, starting after the current
    /// head. A slow reader never blocks writers: it reads from the log at its own pace.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let mut feed = engine.subscribe();
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let first = feed.try_next()?.expect("an event was recorded");
    /// assert_eq!(first.position, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(&self) -> Subscription {
        let head = *lock(&self.shared.head);
        Subscription::new(Arc::clone(&self.shared), head + 1)
    }

    /// Checks everything: the hash chain, the store's indexes and retraction marks, every
    /// stored projection and snapshot against a replay of the log. The first fault is an
    /// error naming its position, dyad or projection.
    ///
    /// ```
    /// # use detente::engine::Engine;
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// let report = engine.verify()?;
    /// assert_eq!(report.events, engine.head().position);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Result<VerifyReport, EngineError> {
        let _writer = lock(&self.shared.writer);
        self.shared.sync()?;
        self.shared.persist_now(&mut write(&self.shared.folds))?;
        let folds = read(&self.shared.folds);
        let report = self.shared.verify(&folds);
        drop(folds);
        report.map_err(EngineError::Verify)
    }

    /// Flushes everything to disk (appends are flushed already in the default durability).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// engine.flush()?;
    /// drop(engine);
    /// assert_eq!(Engine::open(dir.path())?.head().position, 14);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self) -> Result<(), EngineError> {
        {
            let _writer = lock(&self.shared.writer);
            self.shared.persist_now(&mut write(&self.shared.folds))?;
        }
        Ok(self.shared.store.flush()?)
    }

    /// Test-only: deletes every cache the engine keeps in the store (folds, snapshots,
    /// projections, checkpoint), as if they had been lost; the next open rebuilds
    /// them from the log.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn drop_caches_for_tests(&self) -> Result<(), EngineError> {
        let _writer = lock(&self.shared.writer);
        let mut folds = write(&self.shared.folds);
        let mut entries = Vec::new();
        for prefix in [&b"s\0"[..], b"v\0", b"f\0", b"p\0", b"c\0"] {
            for entry in self.shared.store.aux_scan(prefix) {
                entries.push((entry?.0, None));
            }
        }
        self.shared.store.aux_put(entries)?;
        lock(&self.shared.ladders).clear();
        folds.dyads.clear();
        folds.dirty.clear();
        folds.dirty_events = 0;
        Ok(())
    }

    /// Test-only: moves the caches' checkpoint back to `position`, as a crash between the
    /// log append and the cache write would leave it; the next open catches up from there.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn rewind_checkpoint_for_tests(&self, position: u64) -> Result<(), EngineError> {
        let _writer = lock(&self.shared.writer);
        let entry = (
            keys::CHECKPOINT.to_vec(),
            Some(position.to_be_bytes().to_vec()),
        );
        self.shared.store.aux_put(vec![entry])?;
        Ok(())
    }

    /// Test-only: takes the event `id` out of its dyad's effective timeline behind the
    /// engine's back (it marks it retracted, by the event itself, in the store), so that
    /// tests can prove `verify` finds it. Never use it on a real store.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn untrack_for_tests(&self, id: &EventId) -> Result<(), EngineError> {
        let _writer = lock(&self.shared.writer);
        if let Some(record) = self.shared.store.get(id)? {
            self.shared
                .store
                .tamper_mark_any_for_tests(record.position, Some(record.position))?;
        }
        Ok(())
    }

    /// Test-only: alters the stored `BilateralState` of `dyad` behind the engine's back, so
    /// that tests can prove `verify` finds it. Never use it on a real store.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn tamper_projection_for_tests(&self, dyad: Dyad) -> Result<(), EngineError> {
        let _writer = lock(&self.shared.writer);
        self.shared.persist_now(&mut write(&self.shared.folds))?;
        let key = keys::fold(dyad);
        let Some(bytes) = self.shared.store.aux_get(&key)? else {
            return Ok(());
        };
        let mut stored = keys::decode_fold(dyad, &bytes)?;
        stored.value.events_applied += 1;
        self.shared
            .store
            .aux_put(vec![(key, Some(keys::encode_fold(&stored.borrowed())?))])?;
        Ok(())
    }
}

/// A projection folded along the effective timeline of `log` (every bound open).
pub(crate) fn fold_timeline<P: Projection>(log: &[RecordedEvent]) -> P {
    let mut value = P::default();
    for record in effective_timeline(log, &Query::default()) {
        value.apply(record);
    }
    value
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, EngineError> {
    serde_json::from_slice(bytes).map_err(|err| EngineError::BadCache {
        what: what.to_owned(),
        reason: err.to_string(),
    })
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, EngineError> {
    serde_json::to_vec(value).map_err(|err| EngineError::BadCache {
        what: "value to store".to_owned(),
        reason: err.to_string(),
    })
}
