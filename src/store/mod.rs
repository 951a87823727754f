//! The event log: its rules, written once, above a backend.
//!
//! [`Store`] holds the log's rules (positions, versions, expected versions, idempotency by
//! id, the hash chain, `recorded_at`, retraction marks, the effective timeline's order,
//! restore's checks and verify's) and keeps what they decide in a [`Backend`]: sled
//! ([`SledBackend`], a folder, behind [`Store::open`]) or memory ([`MemoryBackend`], for
//! tests, behind [`Store::in_memory`]).
//!
//! **Invariant:** only `src/store/sled_backend/` knows sled.

mod any;
mod backend;
mod location;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sled_backend;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{ChainHash, Dyad, Event, EventId, NewEvent, RecordedEvent, SCHEMA_VERSION};
pub use any::AnyBackend;
pub use backend::{Backend, LogEnd, StoredMark};
pub use location::{Location, redact};
pub use memory::MemoryBackend;
#[cfg(feature = "postgres")]
pub use postgres::{POSTGRES_FORMAT_VERSION, Paged, PostgresBackend, PostgresBatch};
pub use sled_backend::{HIGH_WATER_MARK_FILE, SALVAGE_MARK_FILE, SledBackend};

/// How an append reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Durability {
    /// The default: the append returns after sled's `flush` of the write.
    #[default]
    Flushed,
    /// Returns before the write is flushed; sled's background flusher writes it within
    /// `flush_every_ms`. A kill may lose the last acknowledged appends. Must be asked for.
    Buffered,
    /// [`Durability::Flushed`], then an `fdatasync` of sled's data file, so that the append
    /// also survives a power loss (sled's flush alone uses `sync_file_range`, which does not
    /// flush the disk's cache nor the file's size). See `docs/durability.md` for its cost.
    Synced,
}

/// The dyad version an append expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExpectedVersion {
    /// Whatever it is.
    #[default]
    Any,
    /// The dyad has no event yet.
    NoStream,
    /// The dyad is at exactly this version.
    Exact(u64),
}

/// Options of one append.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// Expected versions, by dyad; a dyad not named expects [`ExpectedVersion::Any`].
    pub expected: HashMap<Dyad, ExpectedVersion>,
    /// How the append reaches the disk.
    pub durability: Durability,
}

/// Options of a store as a whole.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The durability of restores and the default for appends.
    pub durability: Durability,
    /// The durability of auxiliary writes (the engine's caches). They default to
    /// [`Durability::Buffered`]: a cache is rebuilt from the log after a crash, so it need not
    /// pay for a flush of its own; the next flushed append carries it to disk.
    pub aux_durability: Durability,
    /// The most bytes of pages sled keeps in memory ([`DEFAULT_CACHE_CAPACITY`] by default;
    /// sled's own default is 1 GiB). A dyad's records are contiguous, so a replay reads each
    /// page once and a small cache costs it little (`docs/performance.md`).
    pub cache_capacity: u64,
    /// Whether opening may create a store ([`OpenMode::OpenOrCreate`], the default) or
    /// requires one to be there ([`OpenMode::Existing`]).
    pub open: OpenMode,
}

/// What opening a store does where the path holds none.
///
/// Whatever the mode, a path that holds something other than a store (a file, or a directory
/// with files of its own and none of a store's) is refused with [`StoreError::NotAStore`]
/// before anything is written there.
///
/// # Example
///
/// ```
/// use detente::store::{OpenMode, Store, StoreConfig, StoreError};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("store");
/// let existing = StoreConfig { open: OpenMode::Existing, ..StoreConfig::default() };
/// let err = Store::open(&path, existing.clone()).unwrap_err();
/// assert!(matches!(err, StoreError::NoStore { .. }));
/// assert!(!path.exists()); // nothing was created
///
/// drop(Store::open(&path, StoreConfig::default())?); // creates it
/// assert_eq!(Store::open(&path, existing)?.head().position, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OpenMode {
    /// Open the store at the path, or create one where the path is absent or an empty
    /// directory.
    #[default]
    OpenOrCreate,
    /// Open the store at the path only: an absent path or an empty directory is
    /// [`StoreError::NoStore`], and nothing is created. For readers: sled 0.34 cannot open its
    /// files read-only, so it still writes its own files on open, but no event, index or format
    /// version changes, except by a migration of an older format
    /// ([`Store::migrated_from`]).
    Existing,
}

/// The default of [`StoreConfig::cache_capacity`]: 64 MiB.
pub const DEFAULT_CACHE_CAPACITY: u64 = 64 * 1024 * 1024;

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            durability: Durability::default(),
            aux_durability: Durability::Buffered,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            open: OpenMode::default(),
        }
    }
}

/// A place on a dyad's effective timeline: `(occurred_on, position)`, the order of
/// `docs/contract.md` (the time model) and of a dyad's records in the store.
///
/// # Example
///
/// ```
/// use detente::store::TimeKey;
///
/// let earlier = TimeKey { on: "2016-12-29".parse()?, position: 9 };
/// let later = TimeKey { on: "2017-01-01".parse()?, position: 2 };
/// assert!(earlier < later); // by date first, then by position
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeKey {
    /// The event's `occurred_on`.
    pub on: NaiveDate,
    /// The event's position.
    pub position: u64,
}

impl TimeKey {
    /// The place of a recorded event.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::TimeKey;
    ///
    /// let events = detente::scenario::recorded(detente::scenario::istanbul_2025());
    /// let at = TimeKey::of(&events[0]);
    /// assert_eq!((at.on, at.position), (events[0].occurred_on, events[0].position));
    /// ```
    pub fn of(record: &RecordedEvent) -> TimeKey {
        TimeKey {
            on: record.occurred_on,
            position: record.position,
        }
    }

    /// The place just before every event of the day `on` (positions start at 1): reading a
    /// timeline after it starts on that day.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::TimeKey;
    ///
    /// let day = "2025-02-27".parse()?;
    /// assert!(TimeKey::before_day(day) < TimeKey { on: day, position: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn before_day(on: NaiveDate) -> TimeKey {
        TimeKey { on, position: 0 }
    }
}

/// The result of appending one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The record as stored.
    pub record: RecordedEvent,
    /// `false` when the id was already stored with the same content (nothing was written).
    pub stored: bool,
}

/// The end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// The last position (0 for an empty store).
    pub position: u64,
    /// Its hash ([`ChainHash::ZERO`] for an empty store).
    pub hash: ChainHash,
}

/// Counts and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Events stored.
    pub events: u64,
    /// Dyads with at least one event.
    pub dyads: u64,
    /// The last position.
    pub head_position: u64,
    /// Bytes on disk, as sled reports them.
    pub size_on_disk: u64,
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process has the store open.
    #[error("store {path} is in use by another process: close it there, or use another --store")]
    Locked {
        /// The store path.
        path: PathBuf,
    },
    /// The store was written by a newer version of detente.
    #[error(
        "store {path} has format version {found}, newer than the {supported} this build reads: upgrade detente"
    )]
    NewerFormat {
        /// The store path.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A stale expected version.
    #[error(
        "version conflict on dyad {dyad}: expected {expected:?}, but it is at version {actual}"
    )]
    Conflict {
        /// The dyad.
        dyad: Dyad,
        /// What the append expected.
        expected: ExpectedVersion,
        /// The actual version.
        actual: u64,
    },
    /// The same id with other content.
    #[error(
        "event id `{id}` is already recorded at position {position} with other content: use another id, or retract the stored event first"
    )]
    IdConflict {
        /// The id.
        id: EventId,
        /// The stored record's position.
        position: u64,
    },
    /// A stored record that does not decode, or whose hash does not match.
    #[error("record at position {position} is corrupt: {reason}")]
    Corrupt {
        /// The position.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// A restored record that does not continue the log; match on its `reason` to tell a
    /// newer export or a foreign store from an edited one.
    #[error("record at position {position} does not continue the log: {reason}")]
    BadRestore {
        /// The position of the record that does not fit.
        position: u64,
        /// What is wrong.
        reason: RestoreMismatch,
    },
    /// The store's files are damaged: sled cannot open them, or they hold less than the store
    /// held when it was last used. Nothing was changed by detente.
    #[error(
        "the store at {path} is damaged: {what}: restore it from an export with `detente import` into a new, empty store (keep this one aside for inspection)"
    )]
    Damaged {
        /// The store path.
        path: PathBuf,
        /// What was found.
        what: String,
    },
    /// A salvaged copy of a damaged store (one whose high-water mark was set aside as
    /// [`SALVAGE_MARK_FILE`]) holds less than the store it came from. `verify` reports it, so
    /// that what sled kept is never taken for the whole log.
    #[error(
        "the store at {path} is a salvaged copy that holds less than the store it came from: {}, but that store reached position {reached} (its mark is in {SALVAGE_MARK_FILE}): positions {} to {reached} are lost; export what is left into a new store, or restore the whole log from an earlier export",
        if *.position == 0 { "it holds no events".to_owned() } else { format!("its log ends at position {}", .position) },
        .position + 1
    )]
    Salvaged {
        /// The store path.
        path: PathBuf,
        /// The last position the copy holds (0: none).
        position: u64,
        /// The last position the store reached before the damage.
        reached: u64,
    },
    /// A store of an older format could not be migrated to this build's format; it is left
    /// readable by the build that wrote it.
    #[error(
        "store {path} has format version {found} and could not be migrated to format {supported}: {reason}; the store is unchanged for the build that wrote it: export it with that build (`detente export`) and import the export into a new store with this one"
    )]
    Migration {
        /// The store path.
        path: PathBuf,
        /// The format found.
        found: u32,
        /// The format this build writes.
        supported: u32,
        /// What went wrong.
        reason: String,
    },
    /// There is no store at the path (it is absent, or an empty directory), and the store was
    /// opened with [`OpenMode::Existing`]; nothing was created.
    #[error(
        "no store at {path}: {found}: record or import events first, or name the store with --store or $DETENTE_STORE"
    )]
    NoStore {
        /// The store path.
        path: PathBuf,
        /// What is there instead: `the path does not exist`, `the directory is empty`.
        found: String,
    },
    /// The path holds something other than a store: a file, or a directory with files of its
    /// own and none of a store's. Nothing was written there.
    #[error(
        "{path} is not a detente store: {found}: name the directory of a store, or an absent or empty one for a new store"
    )]
    NotAStore {
        /// The path.
        path: PathBuf,
        /// What is there instead.
        found: String,
    },
    /// An import in chunks (rolled back on failure and on the next open) asked of a log that
    /// other handles share: its roll-back could remove their records. Nothing was written.
    #[error(
        "store {location}: an import in chunks needs a log with one writer; on a log that many processes share (PostgreSQL), import in one transaction (Engine::import does)"
    )]
    SharedImport {
        /// The location, without its password.
        location: PathBuf,
    },
    /// A PostgreSQL server could not be reached or refused a statement: the server is down,
    /// the password is wrong, the database is missing, or the connection was lost. The
    /// location is named without its password.
    #[error("store {location}: {message}")]
    Server {
        /// The URL, without its password.
        location: PathBuf,
        /// What the server or the network said, and what to check.
        message: String,
    },
    /// A store location with `://` whose scheme is not one detente knows.
    #[error(
        "store location `{location}` has the scheme `{scheme}://`, which detente does not know: use postgresql:// (or postgres://) for a PostgreSQL database, or a folder path without ://"
    )]
    UnknownScheme {
        /// The scheme, as written.
        scheme: String,
        /// The location, without its password.
        location: String,
    },
    /// A PostgreSQL URL, in a build without the `postgres` feature.
    #[error(
        "store {location} is a PostgreSQL database, but this build of detente has no PostgreSQL backend: build it with the `postgres` feature (on by default)"
    )]
    NoPostgres {
        /// The URL, without its password.
        location: String,
    },
    /// An error from sled or the file system.
    #[error("store {path}: {message}")]
    Io {
        /// The store path.
        path: PathBuf,
        /// What sled or the system said.
        message: String,
    },
}

/// Why a restored record does not continue the log: the `reason` of
/// [`StoreError::BadRestore`].
///
/// # Example
///
/// ```
/// use detente::store::RestoreMismatch;
///
/// let reason = RestoreMismatch::Position { expected: 1 };
/// assert_eq!(reason.to_string(), "expected position 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreMismatch {
    /// The store already holds a different record at this position: the export is not a
    /// copy of this store's log.
    #[error("the store holds another record at this position")]
    HeldOtherwise,
    /// The record is not at the next position: a record before it is missing, or the
    /// records are out of order (an export that starts after position 1 gives this too).
    #[error("expected position {expected}")]
    Position {
        /// The position that would continue the log.
        expected: u64,
    },
    /// The record's dyad version is not the next one of its dyad.
    #[error("expected version {expected} of dyad {dyad}, found {found}")]
    Version {
        /// The dyad.
        dyad: Dyad,
        /// The version that would continue the dyad.
        expected: u64,
        /// The record's version.
        found: u64,
    },
    /// The record's wire format version is not the one this build restores (a newer export).
    #[error("schema {found} is not the {supported} this build restores")]
    Schema {
        /// The record's schema.
        found: u32,
        /// The schema this build restores.
        supported: u32,
    },
    /// The record's id is already stored, or appears earlier in the same restore.
    #[error("event id `{id}` is already stored")]
    IdStored {
        /// The id.
        id: EventId,
    },
    /// The record's `recorded_at` is before the previous record's: system time never goes
    /// backwards.
    #[error("recorded_at {found} is before the previous {previous}")]
    RecordedAtBackwards {
        /// The record's `recorded_at`.
        found: DateTime<Utc>,
        /// The previous record's.
        previous: DateTime<Utc>,
    },
    /// The record's hash is not the chain hash over the previous record and its content: the
    /// record, or one before it, was edited.
    #[error("hash {found} is not the chain hash {expected} over the previous record")]
    Hash {
        /// The hash the record carries.
        found: ChainHash,
        /// The chain hash of its content.
        expected: ChainHash,
    },
}

/// The append-only event log, over a backend `B` ([`SledBackend`] unless named).
///
/// The rules of the log live here, whatever the backend: a writer mutex serializes appends,
/// so positions come from an in-memory head restored on open from the persisted one; the
/// backend writes each append's records, index entries, marks and versions atomically. Who
/// may open a log at once is the backend's to say: one process for sled (its file lock).
pub struct Store<B: Backend = SledBackend> {
    backend: B,
    config: StoreConfig,
    writer: Mutex<Writer>,
    /// The unfinished import this open rolled back, if any: its head and how many records.
    rolled_back: Option<(Head, u64)>,
}

/// What the writer mutex guards: the end of the log, as stored.
#[derive(Debug)]
struct Writer {
    head: Head,
    last_recorded_at: DateTime<Utc>,
    versions: HashMap<Dyad, u64>,
    /// While an import is unfinished, the head it started from: the head readers are told.
    unfinished: Option<Head>,
}

impl Writer {
    fn version(&self, dyad: Dyad) -> u64 {
        self.versions.get(&dyad).copied().unwrap_or(0)
    }

    /// The head as readers see it: the head an unfinished import started from, while there
    /// is one.
    fn committed(&self) -> Head {
        self.unfinished.unwrap_or(self.head)
    }
}

/// How many records one step of a roll-back removes (each step is one atomic write, so that
/// the roll-back of a large import needs memory for this many records only).
const ROLL_BACK_STEP: u64 = 10_000;
/// How many times an append or a restore over a shared log is computed again after the head
/// moved under it, before it gives up.
const MAX_APPEND_ATTEMPTS: u32 = 1000;

/// The format version of the store this build writes and reads (formats 1 and 2 are migrated
/// on open).
pub const FORMAT_VERSION: u32 = 3;

impl ExpectedVersion {
    /// Whether a dyad at version `actual` meets this expectation.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::ExpectedVersion;
    ///
    /// assert!(ExpectedVersion::Any.admits(4));
    /// assert!(ExpectedVersion::NoStream.admits(0));
    /// assert!(!ExpectedVersion::Exact(3).admits(4));
    /// ```
    pub fn admits(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(expected) => actual == expected,
        }
    }
}

impl Store<SledBackend> {
    /// Opens (creating where absent) the store at `path`.
    ///
    /// A store in use by another process is [`StoreError::Locked`]; one written with a newer
    /// format is [`StoreError::NewerFormat`].
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::{Store, StoreConfig};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// assert_eq!(store.head().position, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let backend = SledBackend::open(path, &config)?;
        Store::with_backend(backend, config)
    }

    /// The format version this open migrated the store from (`Some(1)` or `Some(2)` for a
    /// store of format 1 or 2, now of [`FORMAT_VERSION`]), or `None` when the store was
    /// already of this format.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// assert_eq!(store.migrated_from(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn migrated_from(&self) -> Option<u32> {
        self.backend.migrated_from()
    }

    /// Changes one byte of the stored record at `position` (XOR `0xff`), behind the store's
    /// back, so that tests can check that [`Store::verify`] finds it. Never use it otherwise.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn tamper_record_byte_for_tests(
        &self,
        position: u64,
        byte_index: usize,
    ) -> Result<(), StoreError> {
        self.backend.tamper_record_byte(position, byte_index)
    }

    /// Sets (`Some(retraction position)`) or removes (`None`) the retraction mark of the
    /// record at `position` behind the store's back, so that tests can check that
    /// [`Store::verify`] finds it. Never use it otherwise.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn tamper_retraction_mark_for_tests(
        &self,
        position: u64,
        mark: Option<u64>,
    ) -> Result<(), StoreError> {
        let Some((dyad, at)) = self.backend.place_at(position)? else {
            return Err(index_fault(
                self.path(),
                format!("no record at position {position} to mark"),
            ));
        };
        self.backend.tamper_mark(dyad, at, mark)
    }
}

impl Store<MemoryBackend> {
    /// A new, empty log in memory, for tests: the same rules as [`Store::open`]'s, nothing
    /// on disk ([`MemoryBackend`]).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let store = Store::in_memory(StoreConfig::default())?;
    /// assert_eq!(store.head().position, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn in_memory(config: StoreConfig) -> Result<Store<MemoryBackend>, StoreError> {
        Store::with_backend(MemoryBackend::new(), config)
    }
}

impl<B: Backend> Store<B> {
    /// Opens the log that `backend` holds: reads its head and dyad versions, and lets the
    /// backend check them (sled: its high-water mark).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// use detente::store::{AppendOptions, MemoryBackend, Store, StoreConfig};
    ///
    /// let backend = MemoryBackend::new();
    /// let store = Store::with_backend(backend.clone(), StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// store.append(vec![event], &AppendOptions::default())?;
    /// let head = store.head();
    /// drop(store);
    ///
    /// // A clone of the backend is the same log: opening it again is a reopen.
    /// let reopened = Store::with_backend(backend, StoreConfig::default())?;
    /// assert_eq!(reopened.head(), head);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_backend(backend: B, config: StoreConfig) -> Result<Store<B>, StoreError> {
        let LogEnd { last, versions } = backend.load_end()?;
        let (head, last_recorded_at) = match last {
            Some(record) => (
                Head {
                    position: record.position,
                    hash: record.hash,
                },
                record.recorded_at,
            ),
            None => (Head::default(), DateTime::<Utc>::MIN_UTC),
        };
        let mut writer = Writer {
            head,
            last_recorded_at,
            versions: versions.into_iter().collect(),
            unfinished: None,
        };
        // An import that did not finish (the process was killed, or its roll-back did not
        // complete) is rolled back before anything else reads the log.
        let mut rolled_back = None;
        if let Some(since) = backend.unfinished()? {
            writer.unfinished = Some(since);
            let removed = roll_back(&backend, &mut writer)?;
            backend.make_durable(config.durability)?;
            rolled_back = Some((since, removed));
        }
        backend.opened(&writer.head)?;
        Ok(Store {
            backend,
            config,
            writer: Mutex::new(writer),
            rolled_back,
        })
    }

    /// The unfinished import this open rolled back, if there was one: the head it had started
    /// from (the store's head now) and how many of its records were removed. A store with an
    /// import that did not finish (a kill during `detente import`) holds none of its records
    /// once it is open again (`docs/durability.md`).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// use detente::store::{AppendOptions, MemoryBackend, Store, StoreConfig};
    ///
    /// let backend = MemoryBackend::new();
    /// let store = Store::with_backend(backend.clone(), StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// store.append_unfinished(vec![event], &AppendOptions::default())?;
    /// drop(store); // as a kill would: the import never finished
    ///
    /// let reopened = Store::with_backend(backend, StoreConfig::default())?;
    /// assert_eq!(reopened.rolled_back_on_open().map(|(head, n)| (head.position, n)), Some((0, 1)));
    /// assert_eq!(reopened.head().position, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rolled_back_on_open(&self) -> Option<(Head, u64)> {
        self.rolled_back
    }

    /// The path the store was opened at.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("store");
    /// let store = Store::open(&path, StoreConfig::default())?;
    /// assert_eq!(store.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        self.backend.location()
    }

    /// Appends a batch atomically: all of it or nothing. Returns one [`Appended`] per input, in
    /// order.
    ///
    /// Each event gets the next position and the next version of its dyad, `recorded_at` =
    /// the later of now (to the microsecond) and the last one stored, `reported_on` defaulted
    /// to that date, and its chain hash. An event whose id is already stored (or earlier in the
    /// batch) with the same content is not stored again: its [`Appended`] holds the stored
    /// record and `stored: false`; with other content, the call is a
    /// [`StoreError::IdConflict`].
    ///
    /// Expected versions are checked against the versions before the batch, for every dyad
    /// named, except a dyad whose events in the batch are all already stored (so that retrying
    /// an append that succeeded returns its records instead of a conflict).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::NewEvent;
    /// use detente::store::{AppendOptions, ExpectedVersion, Store, StoreConfig, StoreError};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"id":"e1","dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// let mut options = AppendOptions::default();
    /// options.expected.insert(event.dyad, ExpectedVersion::NoStream);
    /// let appended = store.append(vec![event.clone()], &options)?;
    /// assert_eq!((appended[0].record.position, appended[0].record.version), (1, 1));
    ///
    /// // The same id and content again: nothing is stored, the stored record comes back.
    /// let again = store.append(vec![event.clone()], &AppendOptions::default())?;
    /// assert!(!again[0].stored);
    ///
    /// // A stale expectation is a conflict.
    /// let mut other = event.clone();
    /// other.id = Some("e2".parse()?);
    /// let err = store.append(vec![other], &options).unwrap_err();
    /// assert!(matches!(err, StoreError::Conflict { actual: 1, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append(
        &self,
        events: Vec<NewEvent>,
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        self.append_with(events, options, false)
    }

    /// [`Store::append`] as a part of an import that is not finished: the first such append
    /// that writes anything also marks the log, in the same atomic write, with the head the
    /// import started from. Until [`Store::finish_import`] removes the mark, readers are
    /// told that head ([`Store::head`], [`Store::stats`], [`Store::read_log`]), and the next
    /// open of the log, after a kill at any moment, rolls it back to that head
    /// ([`Store::rolled_back_on_open`]); [`Store::abandon_import`] rolls it back at once.
    ///
    /// The caller must be the log's only writer until the import finishes or is abandoned
    /// (the engine holds its writer lock throughout).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// use detente::store::{AppendOptions, Store, StoreConfig};
    ///
    /// let store = Store::in_memory(StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// let appended = store.append_unfinished(vec![event], &AppendOptions::default())?;
    /// assert_eq!(appended[0].record.position, 1);
    /// assert_eq!(store.head().position, 0); // not finished: readers see the head before it
    /// assert_eq!(store.finish_import()?.position, 1);
    /// assert_eq!(store.head().position, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append_unfinished(
        &self,
        events: Vec<NewEvent>,
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        self.append_with(events, options, true)
    }

    /// Finishes an import: removes the mark of [`Store::append_unfinished`] in one atomic
    /// write, made durable as the store's [`StoreConfig::durability`] says, so that every
    /// record of the import is now the log's. Returns the head; without an unfinished import,
    /// it writes nothing.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let store = Store::in_memory(StoreConfig::default())?;
    /// assert_eq!(store.finish_import()?, store.head());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish_import(&self) -> Result<Head, StoreError> {
        let head = {
            let mut writer = self.lock_writer();
            if writer.unfinished.is_none() {
                return Ok(writer.head);
            }
            let mut batch = B::Batch::default();
            B::stage_unfinished(&mut batch, None);
            self.backend.write(batch)?;
            writer.unfinished = None;
            writer.head
        };
        self.backend.make_durable(self.config.durability)?;
        Ok(head)
    }

    /// Abandons an unfinished import: rolls the log back to the head the import started
    /// from, removing every record appended since with its index entries, the retraction
    /// marks its retractions set, and the dyad versions it raised, then the mark. Each step
    /// of the roll-back is one atomic write that leaves a log cut at some position, still
    /// marked unfinished, so that a kill during it leaves the next open to finish it.
    /// Returns how many records were removed (0 without an unfinished import).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// use detente::store::{AppendOptions, Store, StoreConfig};
    ///
    /// let store = Store::in_memory(StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// store.append(vec![event.clone()], &AppendOptions::default())?;
    /// let before = store.head();
    /// let mut other = event;
    /// other.id = Some("another".parse()?);
    /// store.append_unfinished(vec![other], &AppendOptions::default())?;
    /// assert_eq!(store.abandon_import()?, 1);
    /// assert_eq!(store.head(), before);
    /// assert_eq!(store.dyad_version("RUS-USA".parse()?)?, 1);
    /// assert!(store.get(&"another".parse()?)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abandon_import(&self) -> Result<u64, StoreError> {
        let removed = {
            let mut writer = self.lock_writer();
            if writer.unfinished.is_none() {
                return Ok(0);
            }
            roll_back(&self.backend, &mut writer)?
        };
        self.backend.make_durable(self.config.durability)?;
        Ok(removed)
    }

    /// The head an unfinished import started from, while there is one
    /// ([`Store::append_unfinished`]).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let store = Store::in_memory(StoreConfig::default())?;
    /// assert_eq!(store.unfinished_import(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unfinished_import(&self) -> Option<Head> {
        self.lock_writer().unfinished
    }

    fn append_with(
        &self,
        events: Vec<NewEvent>,
        options: &AppendOptions,
        unfinished: bool,
    ) -> Result<Vec<Appended>, StoreError> {
        if unfinished && self.backend.is_shared() {
            return Err(StoreError::SharedImport {
                location: self.backend.location().to_owned(),
            });
        }
        let mut events = events;
        let results = {
            let mut writer = self.lock_writer();
            self.catch_up_writer(&mut writer)?;
            let mut attempts = 0u32;
            loop {
                let events = self.events_of_attempt(&mut events, &mut attempts)?;
                let recorded_at = next_recorded_at(writer.last_recorded_at);
                let today = recorded_at.date_naive();
                let mut results: Vec<Appended> = Vec::with_capacity(events.len());
                let mut in_batch: HashMap<EventId, usize> = HashMap::new();
                let mut new_versions: HashMap<Dyad, u64> = HashMap::new();
                let mut dyads_in_batch: HashSet<Dyad> = HashSet::new();
                let mut position = writer.head.position;
                let mut hash = writer.head.hash;
                let mut batch = B::Batch::default();
                let mut staged = Staged::default();
                for event in events {
                    let id = event.effective_id();
                    dyads_in_batch.insert(event.dyad);
                    let earlier = match in_batch.get(&id) {
                        Some(&index) => Some(results[index].record.clone()),
                        None => self.get(&id)?,
                    };
                    if let Some(record) = earlier {
                        if !event.matches(&record) {
                            return Err(StoreError::IdConflict {
                                id,
                                position: record.position,
                            });
                        }
                        in_batch.entry(id).or_insert(results.len());
                        results.push(Appended {
                            record,
                            stored: false,
                        });
                        continue;
                    }
                    let version = new_versions
                        .entry(event.dyad)
                        .or_insert_with(|| writer.version(event.dyad));
                    *version += 1;
                    position += 1;
                    let mut record = event.into_recorded(position, *version, today, recorded_at);
                    record.hash = record.chain_hash(&hash);
                    hash = record.hash;
                    self.stage(&mut batch, &record, &mut staged)?;
                    in_batch.insert(id, results.len());
                    results.push(Appended {
                        record,
                        stored: true,
                    });
                }
                for (&dyad, &expected) in &options.expected {
                    let only_repeats =
                        dyads_in_batch.contains(&dyad) && !new_versions.contains_key(&dyad);
                    let actual = writer.version(dyad);
                    if !only_repeats && !expected.admits(actual) {
                        return Err(StoreError::Conflict {
                            dyad,
                            expected,
                            actual,
                        });
                    }
                }
                if !new_versions.is_empty() {
                    for (&dyad, &version) in &new_versions {
                        B::stage_version(&mut batch, dyad, version);
                    }
                    let marks = unfinished && writer.unfinished.is_none();
                    if marks {
                        B::stage_unfinished(&mut batch, Some(&writer.head));
                    }
                    if !self.backend.write_at(batch, &writer.head)? {
                        // Another process appended: compute the batch again over the new end.
                        self.reload_writer(&mut writer)?;
                        continue;
                    }
                    if marks {
                        writer.unfinished = Some(writer.head);
                    }
                    writer.head = Head { position, hash };
                    writer.last_recorded_at = recorded_at;
                    writer.versions.extend(new_versions);
                }
                break results;
            }
        };
        // Outside the writer lock: appends of other threads go on meanwhile, and one flush
        // makes all of them durable (a backend's flush covers everything written before it).
        self.backend.make_durable(options.durability)?;
        Ok(results)
    }

    /// Appends recorded events verbatim (a restore from an export): each must continue the log
    /// (next position, next dyad version, chain hash over the previous one).
    ///
    /// Each record must also have an id not yet stored, schema 1 and a `recorded_at` not
    /// before the last one stored. The first that does not fit is a [`StoreError::BadRestore`]
    /// naming its position, and nothing of the call is stored.
    ///
    /// Restoring is idempotent: records the store already holds, identical, may lead the call
    /// (a consecutive run ending at the head); they are skipped. Returns how many records were
    /// restored: the last ones of `records`.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # use detente::store::{AppendOptions, Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let source = Store::open(&dir.path().join("a"), StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// source.append(vec![event], &AppendOptions::default())?;
    /// let export: Vec<_> = source.read_log(1).collect::<Result<_, _>>()?;
    ///
    /// let copy = Store::open(&dir.path().join("b"), StoreConfig::default())?;
    /// assert_eq!(copy.restore(export.clone())?, 1);
    /// assert_eq!(copy.head(), source.head());
    /// assert_eq!(copy.restore(export)?, 0); // a repeat changes nothing
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore(&self, records: Vec<RecordedEvent>) -> Result<u64, StoreError> {
        self.restore_from(&records)
    }

    /// [`Store::restore`] of borrowed records, so that a caller that needs them afterwards
    /// (the engine's caches) does not copy them.
    pub(crate) fn restore_from(&self, records: &[RecordedEvent]) -> Result<u64, StoreError> {
        Ok(self
            .restore_from_checked(records, &mut || true)?
            .unwrap_or(0))
    }

    /// [`Store::restore`] of borrowed records, with `check` run once the records have passed
    /// the store's own checks (positions, versions, ids, the chain) and before anything is
    /// written: when it returns false, nothing is written and the answer is `None`. It runs
    /// under the store's writer lock, so it must not ask the store for its head or versions.
    pub(crate) fn restore_from_checked(
        &self,
        records: &[RecordedEvent],
        check: &mut dyn FnMut() -> bool,
    ) -> Result<Option<u64>, StoreError> {
        let restored = {
            let mut writer = self.lock_writer();
            self.catch_up_writer(&mut writer)?;
            loop {
                let held_up_to = writer.head.position;
                let mut held: Option<u64> = None;
                let mut position = writer.head.position;
                let mut hash = writer.head.hash;
                let mut last_recorded_at = writer.last_recorded_at;
                let mut new_versions: HashMap<Dyad, u64> = HashMap::new();
                let mut staged = Staged::default();
                let mut batch = B::Batch::default();
                for record in records {
                    let bad = |reason: RestoreMismatch| StoreError::BadRestore {
                        position: record.position,
                        reason,
                    };
                    let leading = position == held_up_to
                        && record.position <= held_up_to
                        && held.is_none_or(|last| record.position == last + 1);
                    if leading {
                        if self.read_position(record.position)?.as_ref() != Some(record) {
                            return Err(bad(RestoreMismatch::HeldOtherwise));
                        }
                        held = Some(record.position);
                        continue;
                    }
                    if held.is_some_and(|last| last != held_up_to) {
                        return Err(bad(RestoreMismatch::Position {
                            expected: held.map_or(0, |last| last + 1),
                        }));
                    }
                    if record.position != position + 1 {
                        return Err(bad(RestoreMismatch::Position {
                            expected: position + 1,
                        }));
                    }
                    let version = new_versions
                        .entry(record.dyad)
                        .or_insert_with(|| writer.version(record.dyad));
                    if record.version != *version + 1 {
                        return Err(bad(RestoreMismatch::Version {
                            dyad: record.dyad,
                            expected: *version + 1,
                            found: record.version,
                        }));
                    }
                    if record.schema != SCHEMA_VERSION {
                        return Err(bad(RestoreMismatch::Schema {
                            found: record.schema,
                            supported: SCHEMA_VERSION,
                        }));
                    }
                    if staged.places.contains_key(&record.id)
                        || self.backend.holds_id(&record.id)?
                    {
                        return Err(bad(RestoreMismatch::IdStored {
                            id: record.id.clone(),
                        }));
                    }
                    if record.recorded_at < last_recorded_at {
                        return Err(bad(RestoreMismatch::RecordedAtBackwards {
                            found: record.recorded_at,
                            previous: last_recorded_at,
                        }));
                    }
                    let expected_hash = record.chain_hash(&hash);
                    if record.hash != expected_hash {
                        return Err(bad(RestoreMismatch::Hash {
                            found: record.hash,
                            expected: expected_hash,
                        }));
                    }
                    *version += 1;
                    position = record.position;
                    hash = record.hash;
                    last_recorded_at = record.recorded_at;
                    self.stage(&mut batch, record, &mut staged)?;
                }
                if !check() {
                    return Ok(None);
                }
                if new_versions.is_empty() {
                    return Ok(Some(0));
                }
                for (&dyad, &version) in &new_versions {
                    B::stage_version(&mut batch, dyad, version);
                }
                if !self.backend.write_at(batch, &writer.head)? {
                    // Another process appended: check the records again over the new end.
                    self.reload_writer(&mut writer)?;
                    continue;
                }
                writer.head = Head { position, hash };
                writer.last_recorded_at = last_recorded_at;
                writer.versions.extend(new_versions);
                break position - held_up_to;
            }
        };
        self.backend.make_durable(self.config.durability)?;
        Ok(Some(restored))
    }

    /// The end of the log (while an import is unfinished, the head it started from:
    /// [`Store::append_unfinished`]).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Head, Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// assert_eq!(store.head(), Head::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn head(&self) -> Head {
        self.lock_writer().committed()
    }

    /// A dyad's current version (0 when it has no event).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// assert_eq!(store.dyad_version("RUS-USA".parse()?)?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dyad_version(&self, dyad: Dyad) -> Result<u64, StoreError> {
        // The writer keeps every dyad's version in memory (read on open, updated with each
        // append under the same lock): the same answer as the backend's stored version,
        // without a lookup.
        Ok(self.lock_writer().version(dyad))
    }

    /// Every dyad with its version, sorted.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # use detente::store::{AppendOptions, Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"USA-RUS","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// store.append(vec![event], &AppendOptions::default())?;
    /// assert_eq!(store.dyads()?, vec![("RUS-USA".parse()?, 1)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dyads(&self) -> Result<Vec<(Dyad, u64)>, StoreError> {
        let mut dyads = self.backend.dyads()?;
        dyads.sort();
        Ok(dyads)
    }

    /// A dyad's events with versions in `versions`, in version order.
    ///
    /// The store keeps a dyad's records in the order of its effective timeline, not by
    /// version: on sled, this scans the dyad's records (reading only their headers), keeps
    /// those in `versions`, sorts them by version and decodes them one by one. O(events of the
    /// dyad).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # use detente::store::{AppendOptions, Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// store.append(vec![event], &AppendOptions::default())?;
    /// let events: Vec<_> = store.read_dyad("RUS-USA".parse()?, 1..=u64::MAX).collect::<Result<_, _>>()?;
    /// assert_eq!(events.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_dyad(
        &self,
        dyad: Dyad,
        versions: RangeInclusive<u64>,
    ) -> impl Iterator<Item = Result<RecordedEvent, StoreError>> + '_ {
        self.backend.dyad_versions(dyad, versions)
    }

    /// A dyad's effective timeline as known now (`docs/contract.md`, the time model, without bounds: every
    /// retracted event left out, retractions kept, in `(occurred_on, position)` order), from
    /// just after the place `after` (from the start for `None`) through the date `through`
    /// (to the end for `None`), streaming.
    ///
    /// It equals [`effective_timeline`](crate::domain::effective_timeline) of the dyad's
    /// log with no bounds, cut at `after` and `through`, for every log whose retractions each
    /// target an event of the same dyad recorded before them (the only retractions the engine
    /// records): a retraction marks its target when it is appended, and the scan skips the
    /// marked records. It reads the dyad's records as one contiguous range.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # use detente::store::{AppendOptions, Store, StoreConfig, TimeKey};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// let inputs: Vec<NewEvent> = [
    ///     r#"{"id":"late","dyad":"RUS-USA","occurred_on":"2017-07-30","event":{"type":"DiplomatsExpelled","expelled_by":"RUS","count":755}}"#,
    ///     r#"{"id":"early","dyad":"RUS-USA","occurred_on":"2016-12-29","event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#,
    ///     r#"{"id":"oops","dyad":"RUS-USA","occurred_on":"2017-08-01","event":{"type":"EventRetracted","target":"late","reason":"wrong count"}}"#,
    /// ].iter().map(|line| serde_json::from_str(line)).collect::<Result<_, _>>()?;
    /// store.append(inputs, &AppendOptions::default())?;
    /// let dyad = "RUS-USA".parse()?;
    ///
    /// // In date order, the retracted event left out, the retraction kept.
    /// let ids: Vec<String> = store.read_timeline(dyad, None, None)
    ///     .map(|r| r.map(|r| r.id.to_string()))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(ids, ["early", "oops"]);
    ///
    /// // After the first place, through a date.
    /// let after = TimeKey { on: "2016-12-29".parse()?, position: 2 };
    /// assert_eq!(store.read_timeline(dyad, Some(after), Some("2017-07-31".parse()?)).count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_timeline(
        &self,
        dyad: Dyad,
        after: Option<TimeKey>,
        through: Option<NaiveDate>,
    ) -> impl Iterator<Item = Result<RecordedEvent, StoreError>> + '_ {
        let last = TimeKey {
            on: through.unwrap_or(NaiveDate::MAX),
            position: u64::MAX,
        };
        let empty = match (after, through) {
            (Some(after), Some(through)) => after.on > through,
            _ => false,
        };
        let (records, marks) = if empty {
            (None, None)
        } else {
            (
                Some(self.backend.timeline_records(dyad, after, last)),
                Some(self.backend.timeline_marks(dyad, after, last)),
            )
        };
        Timeline {
            backend: &self.backend,
            dyad,
            records,
            marks,
            mark: None,
        }
    }

    /// The position of the first retraction of the record of `dyad` at `at`, if it is
    /// retracted (as known now): the mark a timeline scan skips it by.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # use detente::store::{AppendOptions, Store, StoreConfig, TimeKey};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// let inputs: Vec<NewEvent> = [
    ///     r#"{"id":"e1","dyad":"RUS-USA","occurred_on":"2016-12-29","event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#,
    ///     r#"{"id":"e2","dyad":"RUS-USA","occurred_on":"2016-12-30","event":{"type":"EventRetracted","target":"e1","reason":"duplicate"}}"#,
    /// ].iter().map(|line| serde_json::from_str(line)).collect::<Result<_, _>>()?;
    /// let appended = store.append(inputs, &AppendOptions::default())?;
    /// let (e1, e2) = (&appended[0].record, &appended[1].record);
    /// assert_eq!(store.retraction_of(e1.dyad, TimeKey::of(e1))?, Some(2));
    /// assert_eq!(store.retraction_of(e2.dyad, TimeKey::of(e2))?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retraction_of(&self, dyad: Dyad, at: TimeKey) -> Result<Option<u64>, StoreError> {
        self.backend.mark(dyad, at)
    }

    /// The whole log from `from_position` on, in position order, streaming.
    ///
    /// The records are kept by dyad and date; this walks the position index and reads each
    /// record at the place it names.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// assert_eq!(store.read_log(1).count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_log(
        &self,
        from_position: u64,
    ) -> impl Iterator<Item = Result<RecordedEvent, StoreError>> + '_ {
        // Through the head readers are told: not into an unfinished import. A shared log
        // holds none (the store refuses one there), and its head moves with other processes'
        // commits, which a scan sees as a prefix of the log: it reads to the end.
        let end = match self.backend.is_shared() {
            true => u64::MAX,
            false => self.head().position,
        };
        self.backend
            .index_from(from_position)
            .take_while(move |entry| !matches!(entry, Ok((position, _)) if *position > end))
            .map(move |entry| {
                let (position, entry) = entry?;
                match self.backend.read_index_entry(position, entry)? {
                    Some(record) => Ok(record),
                    None => Err(missing_record(position)),
                }
            })
    }

    /// One event by position (`None` past the head).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # use detente::store::{AppendOptions, Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// let event: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2016-12-29",
    ///     "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#)?;
    /// store.append(vec![event], &AppendOptions::default())?;
    /// assert_eq!(store.get_position(1)?.map(|r| r.version), Some(1));
    /// assert!(store.get_position(2)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_position(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        self.read_position(position)
    }

    /// One event by id.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// assert!(store.get(&"e1".parse()?)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, id: &EventId) -> Result<Option<RecordedEvent>, StoreError> {
        let Some(position) = self.backend.position_of(id)? else {
            return Ok(None);
        };
        match self.read_position(position)? {
            Some(record) => Ok(Some(record)),
            None => Err(StoreError::Corrupt {
                position,
                reason: format!("the index of id `{id}` points at a missing record"),
            }),
        }
    }

    /// Counts and sizes.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// let stats = store.stats()?;
    /// assert_eq!((stats.events, stats.dyads, stats.head_position), (0, 0, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let (head_position, dyads) = {
            let writer = self.lock_writer();
            (writer.committed().position, writer.versions.len() as u64)
        };
        Ok(StoreStats {
            // Positions are gap-free from 1 and nothing is deleted.
            events: head_position,
            dyads,
            head_position,
            size_on_disk: self.backend.size_on_disk()?,
        })
    }

    /// Walks the whole log: every record decodes, positions and versions are gap-free, the
    /// id index points at it, and the hash chain holds. The first fault is an error naming
    /// its position.
    ///
    /// It also checks every index against the walk: each position entry names the dyad and
    /// date its record is stored under and no record is outside the position index; the
    /// dyad versions; the head; and the retraction marks (every retraction of an event of its
    /// dyad recorded before it marks that event, with the position of its first retraction,
    /// and nothing else is marked). Appends wait while it runs.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Head, Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// assert_eq!(store.verify()?, Head::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self) -> Result<Head, StoreError> {
        let mut writer = self.lock_writer();
        if !self.backend.is_shared() {
            return self.verify_walk(&writer);
        }
        // A shared log: walk one snapshot of it, with the head as of that snapshot.
        self.backend.read_snapshot(true)?;
        let walked = self
            .reload_writer(&mut writer)
            .and_then(|()| self.verify_walk(&writer));
        let ended = self.backend.read_snapshot(false);
        let head = walked?;
        ended?;
        Ok(head)
    }

    /// [`Store::verify`]'s walk, against the head of `writer`.
    fn verify_walk(&self, writer: &Writer) -> Result<Head, StoreError> {
        let mut previous = ChainHash::ZERO;
        let mut expected_position = 1;
        let mut versions: HashMap<Dyad, u64> = HashMap::new();
        // The marks the walk expects: target's place -> first retraction's position.
        let mut marks: HashMap<(Dyad, TimeKey), u64> = HashMap::new();
        for entry in self.backend.index_from(0) {
            let (position, entry) = entry?;
            let corrupt = |reason: String| StoreError::Corrupt { position, reason };
            if position != expected_position {
                return Err(StoreError::Corrupt {
                    position: expected_position,
                    reason: format!("missing: the next stored position is {position}"),
                });
            }
            let record = self
                .backend
                .read_index_entry(position, entry)?
                .ok_or_else(|| missing_record(position))?;
            let version = versions.entry(record.dyad).or_insert(0);
            *version += 1;
            if record.version != *version {
                return Err(corrupt(format!(
                    "version {} of dyad {} where {} was due",
                    record.version, record.dyad, *version
                )));
            }
            if self.backend.position_of(&record.id)? != Some(position) {
                return Err(corrupt(format!(
                    "the id index of `{}` does not point here",
                    record.id
                )));
            }
            let hash = record.chain_hash(&previous);
            if record.hash != hash {
                return Err(corrupt(format!(
                    "stored hash {} is not the chain hash {hash} of its content",
                    record.hash
                )));
            }
            if let Event::EventRetracted(retraction) = &record.event
                && let Some(target) = self.backend.position_of(&retraction.target)?
                && target <= position
                && let Some((dyad, at)) = self.backend.place_at(target)?
                && dyad == record.dyad
            {
                marks.entry((dyad, at)).or_insert(position);
                if !self.backend.is_marked(dyad, at)? {
                    return Err(corrupt(format!(
                        "the retraction of `{}` (position {target}) has not marked it retracted",
                        retraction.target
                    )));
                }
            }
            previous = hash;
            expected_position += 1;
        }
        let head = Head {
            position: expected_position - 1,
            hash: previous,
        };
        if head != writer.head {
            return Err(StoreError::Corrupt {
                position: head.position,
                reason: format!(
                    "the log ends at position {} but the head says {}",
                    head.position, writer.head.position
                ),
            });
        }
        self.backend.verify_backend(&head)?;
        let mut stored_versions = HashMap::new();
        for (dyad, version) in self.dyads()? {
            stored_versions.insert(dyad, version);
        }
        if stored_versions != versions {
            return Err(StoreError::Corrupt {
                position: head.position,
                reason: "the stored dyad versions differ from the log".into(),
            });
        }
        // The walk read `head.position` distinct records through the position index; any
        // other record is outside it.
        let records = self.backend.record_count()?;
        if records != head.position {
            self.backend.find_unindexed_record()?;
            return Err(StoreError::Corrupt {
                position: head.position,
                reason: format!(
                    "{records} records are stored for {} positions",
                    head.position
                ),
            });
        }
        for mark in self.backend.marks() {
            let StoredMark {
                position,
                place,
                by,
            } = mark?;
            match place.and_then(|place| marks.get(&place).copied()) {
                Some(first) if by == Some(first) => {}
                Some(first) => {
                    return Err(StoreError::Corrupt {
                        position,
                        reason: format!(
                            "its retraction mark names position {by:?}, but its first retraction is at position {first}"
                        ),
                    });
                }
                None => {
                    return Err(StoreError::Corrupt {
                        position,
                        reason: "it is marked retracted, but no retraction in the log targets it"
                            .into(),
                    });
                }
            }
        }
        Ok(head)
    }

    /// Flushes everything written so far to disk.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// store.flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self) -> Result<(), StoreError> {
        self.backend.flush()
    }

    /// Reads an auxiliary value (the engine's projections, snapshots and checkpoints).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// store.aux_put(vec![(b"snapshot/RUS-USA".to_vec(), Some(b"{}".to_vec()))])?;
    /// assert_eq!(store.aux_get(b"snapshot/RUS-USA")?, Some(b"{}".to_vec()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.aux_get(key)
    }

    /// Writes auxiliary values atomically (`None` removes).
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// store.aux_put(vec![(b"a".to_vec(), Some(b"1".to_vec())), (b"b".to_vec(), None)])?;
    /// assert!(store.aux_get(b"b")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aux_put(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        self.backend.aux_write(entries)?;
        self.backend.make_durable(self.config.aux_durability)
    }

    /// Auxiliary entries whose key starts with `prefix`, in key order, streaming.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// store.aux_put(vec![(b"p/1".to_vec(), Some(b"x".to_vec())), (b"q/1".to_vec(), Some(b"y".to_vec()))])?;
    /// let keys: Vec<Vec<u8>> = store.aux_scan(b"p/").map(|entry| entry.map(|(key, _)| key)).collect::<Result<_, _>>()?;
    /// assert_eq!(keys, vec![b"p/1".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aux_scan<'a>(
        &'a self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + use<'a, B> {
        self.backend.aux_scan(prefix)
    }

    /// The auxiliary keys that start with `prefix` and are at least `from`, in key order,
    /// without reading their values.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// store.aux_put(vec![(b"s/1".to_vec(), Some(b"a".to_vec())), (b"s/3".to_vec(), Some(b"b".to_vec()))])?;
    /// let keys: Vec<Vec<u8>> = store.aux_keys_from(b"s/", b"s/2").collect::<Result<_, _>>()?;
    /// assert_eq!(keys, vec![b"s/3".to_vec()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aux_keys_from<'a>(
        &'a self,
        prefix: &[u8],
        from: &[u8],
    ) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> + use<'a, B> {
        self.backend.aux_keys_from(prefix, from)
    }

    /// The key of the last auxiliary entry in `prefix..=last`, without reading its value.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    /// store.aux_put(vec![(b"k1".to_vec(), Some(b"big".to_vec())), (b"k2".to_vec(), Some(b"x".to_vec()))])?;
    /// assert_eq!(store.aux_last_key(b"k", b"k1\xff")?, Some(b"k1".to_vec()));
    /// assert_eq!(store.aux_last_key(b"q", b"q\xff")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aux_last_key(&self, prefix: &[u8], last: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.aux_last_key(prefix, last)
    }

    /// Puts a new record in `batch` with its position and id index entries, and, for a
    /// retraction of a record of its own dyad stored before it (or earlier in the batch, or
    /// itself), the target's retraction mark unless it is marked already.
    fn stage(
        &self,
        batch: &mut B::Batch,
        record: &RecordedEvent,
        staged: &mut Staged,
    ) -> Result<(), StoreError> {
        let at = TimeKey::of(record);
        B::stage_record(batch, record);
        staged.places.insert(record.id.clone(), (record.dyad, at));
        if let Event::EventRetracted(retraction) = &record.event {
            let target = match staged.places.get(&retraction.target) {
                Some(&place) => Some(place),
                None => match self.backend.position_of(&retraction.target)? {
                    Some(position) => self.backend.place_at(position)?,
                    None => None,
                },
            };
            if let Some((dyad, target_at)) = target
                && dyad == record.dyad
            {
                let mark = (dyad, target_at);
                if !staged.marks.contains(&mark) && !self.backend.is_marked(dyad, target_at)? {
                    B::stage_mark(batch, dyad, target_at, record.position);
                    staged.marks.insert(mark);
                }
            }
        }
        Ok(())
    }

    /// Brings the head and versions up to the end of the log, appended by other handles
    /// since (a shared backend: PostgreSQL), and returns the head. Cheap when nothing
    /// changed: the backend reads its stored head, one tiny query; a backend that only this
    /// store writes reads nothing.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Head, Store, StoreConfig};
    /// let store = Store::in_memory(StoreConfig::default())?;
    /// assert_eq!(store.refresh()?, Head::default());
    /// # Ok::<(), detente::store::StoreError>(())
    /// ```
    pub fn refresh(&self) -> Result<Head, StoreError> {
        let mut writer = self.lock_writer();
        self.catch_up_writer(&mut writer)?;
        Ok(writer.head)
    }

    /// Whether other handles, in this process or others, may append to this log at once
    /// (PostgreSQL): then [`Store::refresh`] may find a head that moved.
    ///
    /// # Example
    ///
    /// ```
    /// # use detente::store::{Store, StoreConfig};
    /// assert!(!Store::in_memory(StoreConfig::default())?.is_shared());
    /// # Ok::<(), detente::store::StoreError>(())
    /// ```
    pub fn is_shared(&self) -> bool {
        self.backend.is_shared()
    }

    /// The writer caught up with the stored head, when the log is shared and it moved.
    fn catch_up_writer(&self, writer: &mut Writer) -> Result<(), StoreError> {
        match self.backend.stored_head()? {
            Some(stored) if stored != writer.head => self.reload_writer(writer),
            _ => Ok(()),
        }
    }

    /// The writer read again from the end of the log as stored: the last record (head,
    /// `recorded_at`) and every dyad's version.
    fn reload_writer(&self, writer: &mut Writer) -> Result<(), StoreError> {
        let LogEnd { last, versions } = self.backend.load_end()?;
        match last {
            Some(record) => {
                writer.head = Head {
                    position: record.position,
                    hash: record.hash,
                };
                writer.last_recorded_at = writer.last_recorded_at.max(record.recorded_at);
            }
            None => writer.head = Head::default(),
        }
        writer.versions = versions.into_iter().collect();
        Ok(())
    }

    /// The events of one attempt at an append: moved out of `events` where the backend
    /// never moves (one attempt), copied where it may (a shared log), at most
    /// [`MAX_APPEND_ATTEMPTS`] times.
    fn events_of_attempt(
        &self,
        events: &mut Vec<NewEvent>,
        attempts: &mut u32,
    ) -> Result<Vec<NewEvent>, StoreError> {
        *attempts += 1;
        if *attempts > MAX_APPEND_ATTEMPTS {
            return Err(StoreError::Server {
                location: self.path().to_owned(),
                message: format!(
                    "other processes kept appending: the append was computed {MAX_APPEND_ATTEMPTS} times over a head that had moved; nothing was written: try again"
                ),
            });
        }
        if self.backend.is_shared() {
            Ok(events.clone())
        } else {
            Ok(std::mem::take(events))
        }
    }

    fn read_position(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        self.backend.record_at(position)
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // The writer state changes only after a successful write, so a panic elsewhere while
        // the lock was held leaves it consistent.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<B: Backend> Drop for Store<B> {
    fn drop(&mut self) {
        // The head of the log as its next open will find it: an unfinished import is rolled
        // back then.
        let head = self.lock_writer().committed();
        self.backend.closing(&head);
    }
}

/// Rolls the log back to the head an unfinished import started from (`writer.unfinished`),
/// from the last position down, [`ROLL_BACK_STEP`] records per atomic write: each record with
/// its index entries, the retraction mark it set (a mark names the first retraction of its
/// target, and an append marks only a target not marked yet, so the marks that name a
/// removed position are exactly those to remove), and each dyad's version set back to the
/// version below its lowest removed record (removed where that is 0). The last write also
/// removes the mark of the import. Returns how many records were removed.
fn roll_back<B: Backend>(backend: &B, writer: &mut Writer) -> Result<u64, StoreError> {
    roll_back_in_steps(backend, writer, ROLL_BACK_STEP, usize::MAX)
}

/// [`roll_back`] in steps of `step` records, stopping after `steps` of them (a test's
/// interrupted roll-back).
fn roll_back_in_steps<B: Backend>(
    backend: &B,
    writer: &mut Writer,
    step: u64,
    mut steps: usize,
) -> Result<u64, StoreError> {
    let Some(since) = writer.unfinished else {
        return Ok(0);
    };
    let path = backend.location();
    if since.position > writer.head.position {
        return Err(damaged(
            path,
            format!(
                "an unfinished import started at position {}, but the log ends at position {}",
                since.position, writer.head.position
            ),
        ));
    }
    if since.position > 0 {
        let start = backend.record_at(since.position)?;
        if start.as_ref().map(|record| record.hash) != Some(since.hash) {
            return Err(damaged(
                path,
                format!(
                    "an unfinished import started after position {}, whose record no longer has the hash it had then",
                    since.position
                ),
            ));
        }
    }
    let mut removed = 0;
    loop {
        let top = writer.head.position;
        let keep = top.saturating_sub(step).max(since.position);
        let mut batch = B::Batch::default();
        let mut lowest: HashMap<Dyad, u64> = HashMap::new();
        for entry in backend.index_from(keep + 1) {
            let (position, entry) = entry?;
            if position > top {
                break;
            }
            let record = backend
                .read_index_entry(position, entry)?
                .ok_or_else(|| missing_record(position))?;
            B::stage_removal(&mut batch, &record);
            if let Event::EventRetracted(retraction) = &record.event
                && let Some(target) = backend.position_of(&retraction.target)?
                && target < position
                && let Some((dyad, at)) = backend.place_at(target)?
                && dyad == record.dyad
                && backend.mark(dyad, at)? == Some(position)
            {
                B::stage_unmark(&mut batch, dyad, at);
            }
            lowest
                .entry(record.dyad)
                .and_modify(|version| *version = (*version).min(record.version))
                .or_insert(record.version);
            removed += 1;
        }
        for (&dyad, &version) in &lowest {
            match version.saturating_sub(1) {
                0 => B::stage_no_version(&mut batch, dyad),
                below => B::stage_version(&mut batch, dyad, below),
            }
        }
        let last_step = keep == since.position;
        if last_step {
            B::stage_unfinished(&mut batch, None);
        }
        backend.write(batch)?;
        for (dyad, version) in lowest {
            match version.saturating_sub(1) {
                0 => writer.versions.remove(&dyad),
                below => writer.versions.insert(dyad, below),
            };
        }
        let (head, last_recorded_at) = match keep {
            0 => (Head::default(), DateTime::<Utc>::MIN_UTC),
            _ => match backend.record_at(keep)? {
                Some(record) => (
                    Head {
                        position: keep,
                        hash: record.hash,
                    },
                    record.recorded_at,
                ),
                None => return Err(missing_record(keep)),
            },
        };
        writer.head = head;
        writer.last_recorded_at = last_recorded_at;
        if last_step {
            writer.unfinished = None;
            return Ok(removed);
        }
        steps -= 1;
        if steps == 0 {
            return Ok(removed);
        }
    }
}

#[cfg(test)]
mod roll_back_tests {
    use super::*;

    fn event(n: usize) -> NewEvent {
        serde_json::from_value(serde_json::json!({
            "id": format!("e{n}"),
            "dyad": if n % 2 == 0 { "RUS-USA" } else { "EU-GBR" },
            "occurred_on": "2016-12-29",
            "event": {"type": "DiplomatsExpelled", "expelled_by": "GBR", "count": 1},
        }))
        .unwrap()
    }

    /// A roll-back interrupted after a step that ends inside a run of the sled position
    /// index (one append of 700 records makes runs of 512 and 188; a step of 300 cuts the
    /// first at 406) leaves a log that opens, and the open finishes the roll-back.
    #[test]
    fn an_interrupted_roll_back_leaves_a_log_that_opens_and_finishes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let config = StoreConfig::default();
        let store = Store::open(&path, config.clone()).unwrap();
        store
            .append((0..5).map(event).collect(), &AppendOptions::default())
            .unwrap();
        let before = store.head();
        store
            .append_unfinished((5..705).map(event).collect(), &AppendOptions::default())
            .unwrap();
        {
            let mut writer = store.lock_writer();
            let removed = roll_back_in_steps(&store.backend, &mut writer, 300, 1).unwrap();
            assert_eq!(removed, 300);
            assert_eq!(writer.head.position, 405);
            assert!(writer.unfinished.is_some());
        }
        store.flush().unwrap();
        drop(store);

        let reopened = Store::open(&path, config).unwrap();
        assert_eq!(reopened.head(), before);
        assert_eq!(reopened.unfinished_import(), None);
        assert_eq!(reopened.read_log(1).count(), 5);
        reopened.verify().unwrap();
    }
}

impl<B: Backend> fmt::Debug for Store<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.backend.location())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What an append or a restore has put in its batch so far, for the retraction marks of the
/// batch's later records.
#[derive(Default)]
struct Staged {
    /// The batch's records by id: dyad and place.
    places: HashMap<EventId, (Dyad, TimeKey)>,
    /// The places whose retraction marks the batch writes.
    marks: HashSet<(Dyad, TimeKey)>,
}

/// A dyad's effective timeline: its records in timeline order, with the marked (retracted)
/// ones skipped, unread, by walking the dyad's marks alongside (a merge of two sorted
/// ranges).
struct Timeline<'a, B: Backend> {
    backend: &'a B,
    /// The dyad whose records these are.
    dyad: Dyad,
    records: Option<B::Placed>,
    marks: Option<B::Places>,
    /// The next mark not yet passed.
    mark: Option<B::Place>,
}

impl<B: Backend> Iterator for Timeline<'_, B> {
    type Item = Result<RecordedEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (place, raw) = match self.records.as_mut()?.next()? {
                Ok(entry) => entry,
                Err(err) => return Some(Err(err)),
            };
            // Move the marks up to this record's place.
            loop {
                if self.mark.as_ref().is_some_and(|mark| *mark >= place) {
                    break;
                }
                match self.marks.as_mut().and_then(Iterator::next) {
                    Some(Ok(mark)) => self.mark = Some(mark),
                    Some(Err(err)) => return Some(Err(err)),
                    None => {
                        self.marks = None;
                        self.mark = None;
                        break;
                    }
                }
            }
            if self.mark.as_ref().is_some_and(|mark| *mark == place) {
                continue;
            }
            return Some(self.backend.decode(self.dyad, place, raw));
        }
    }
}

fn missing_record(position: u64) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: "the position index points at a missing record".into(),
    }
}

fn index_fault(path: &Path, reason: String) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        message: format!("an index entry is malformed: {reason}"),
    }
}

fn damaged(path: &Path, what: String) -> StoreError {
    StoreError::Damaged {
        path: path.to_owned(),
        what,
    }
}

/// `max(now, last)`, now truncated to the microsecond, so `recorded_at` never goes backwards.
fn next_recorded_at(last: DateTime<Utc>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    now.max(last)
}
