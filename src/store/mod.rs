//! The event log on sled.
//!
//! **Invariant:** only `src/store/` knows sled.

mod codec;
mod migrate;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::{Bound, RangeInclusive};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{ChainHash, Dyad, Event, EventId, NewEvent, RecordedEvent, SCHEMA_VERSION};
use codec::{
    PLACE_KEY_LEN, RECORD_PREFIX, RETRACTED_PREFIX, VERSION_PREFIX, decode_place_key,
    decode_record, decode_record_of, decode_u64, dyad_of_version_key, dyad_range_prefix,
    encode_record, id_key, peek_version, position_key, position_of_place_key, position_value,
    record_key, record_key_of, retracted_key, stored_place, version_key,
};

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
    /// A dyad with a party whose code is not three letters (an organization such as `EU`):
    /// the key layout of store format 2 keys dyads by two three-letter codes. Nothing was
    /// written.
    #[error(
        "dyad {dyad} cannot be stored yet: this store format keys a dyad by two three-letter codes, and an organization's code such as `EU` or `NATO` needs the next store format; record the talks in a dyad of states, with the organization as a mediator"
    )]
    DyadNotHeld {
        /// The dyad.
        dyad: Dyad,
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

/// The append-only event log.
///
/// One process owns a store at a time (sled's file lock); inside it, a writer mutex serializes
/// appends, so positions come from an in-memory head restored on open from the persisted one.
///
/// # Layout (format 2)
///
/// Three sled trees, whatever the number of dyads:
///
/// - `log`: every record and its indexes, by key prefix (see `codec`):
///   `R`+dyad+day+position -> record (a dyad's records are contiguous and in the order of its
///   effective timeline), `P`+position -> dyad+day (the rest of the record's key),
///   `I`+id -> position, `V`+dyad -> version, and `X`+dyad+day+position -> the position of
///   the first retraction of the record there. Days are days from 0001-01-01 with the sign bit
///   flipped and all integers big-endian, so keys sort by date and number. The head is the
///   last `P` entry and its record.
/// - `meta`: the format version of the store.
/// - `aux`: the engine's projections, snapshots and checkpoints.
///
/// A store of format 1 (`L`+position -> record, a `D` dyad index and an `H` head) is migrated
/// on open (see `migrate`).
///
/// An append writes its records, their index entries, the retraction marks and the dyad
/// versions in one `apply_batch` on the `log` tree. A batch on one tree is atomic in sled 0.34 (also across a
/// crash: recovery replays a batch whole or not at all), and it is cheaper than a multi-tree
/// transaction, which is why the indexes share the tree with the records instead of having trees
/// of their own.
pub struct Store {
    path: PathBuf,
    config: StoreConfig,
    db: sled::Db,
    log: sled::Tree,
    aux: sled::Tree,
    /// The format the store was migrated from by this open, if it was.
    migrated_from: Option<u32>,
    /// sled's data file, opened again (without a lock) to `fdatasync` it in
    /// [`Durability::Synced`].
    data_file: std::fs::File,
    writer: Mutex<Writer>,
    /// The high-water mark set aside by a salvage ([`SALVAGE_MARK_FILE`]): how far the
    /// store reached before the damage, which `verify` holds the log to.
    salvaged_from: Option<HighWaterMark>,
    /// Declared last, so it is dropped after every sled handle: it waits until sled has let go
    /// of the file lock, so that the store can be opened again as soon as this one is dropped.
    _release: ReleaseOnDrop,
}

/// What the writer mutex guards: the end of the log, as stored.
#[derive(Debug)]
struct Writer {
    head: Head,
    last_recorded_at: DateTime<Utc>,
    versions: HashMap<Dyad, u64>,
}

impl Writer {
    fn version(&self, dyad: Dyad) -> u64 {
        self.versions.get(&dyad).copied().unwrap_or(0)
    }
}

/// The format version of the store this build writes and reads (format 1 is migrated on open).
pub const FORMAT_VERSION: u32 = 2;
const FORMAT_KEY: &[u8] = b"format_version";
const LOG_TREE: &[u8] = b"log";
const META_TREE: &[u8] = b"meta";
const AUX_TREE: &[u8] = b"aux";
/// How long `open` retries a lock held by a store this process has just dropped (sled's
/// background threads may hold it a few milliseconds longer); a lock held by another process is
/// reported once this has passed.
const LOCK_RETRY: Duration = Duration::from_millis(300);
/// How long dropping a store waits for sled to release its file lock.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

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

impl Store {
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
        match (presence(path)?, config.open) {
            (Presence::Store, _) | (Presence::Vacant(_), OpenMode::OpenOrCreate) => {}
            (Presence::Vacant(found), OpenMode::Existing) => {
                return Err(StoreError::NoStore {
                    path: path.to_owned(),
                    found: found.to_owned(),
                });
            }
            (Presence::Other(found), _) => {
                return Err(StoreError::NotAStore {
                    path: path.to_owned(),
                    found,
                });
            }
        }
        let mark = HighWaterMark::read(path, HIGH_WATER_MARK_FILE)?;
        let salvaged_from = HighWaterMark::read(path, SALVAGE_MARK_FILE)?;
        if let Some(mark) = &mark {
            mark.check_files(path)?;
        }
        let db = open_sled(path, config.cache_capacity)?;
        let io = |err: sled::Error| io_error(path, err);
        if config.open == OpenMode::Existing
            && !db
                .tree_names()
                .iter()
                .any(|name| name.as_ref() == META_TREE)
        {
            return Err(StoreError::NotAStore {
                path: path.to_owned(),
                found: "it holds sled's files, but not a detente store's trees".into(),
            });
        }
        let meta = db.open_tree(META_TREE).map_err(io)?;
        let log = db.open_tree(LOG_TREE).map_err(io)?;
        let mut migrated_from = None;
        match meta.get(FORMAT_KEY).map_err(io)? {
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref())
                    .map(u32::from_be_bytes)
                    .ok()
                    .filter(|&found| found >= 1)
                    .ok_or_else(|| StoreError::Io {
                        path: path.to_owned(),
                        message: format!("the format version record is malformed: {bytes:?}"),
                    })?;
                if found > FORMAT_VERSION {
                    return Err(StoreError::NewerFormat {
                        path: path.to_owned(),
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                if found == 1 {
                    migrate::from_v1(path, &db, &meta, &log, mark.as_ref())?;
                    migrated_from = Some(found);
                }
                migrate::remove_leftovers(path, &db, &log)?;
            }
            None if log.is_empty()
                && mark.as_ref().is_none_or(|mark| mark.position == 0)
                && config.open == OpenMode::Existing =>
            {
                // sled's files of a store whose creation stopped before its format was written.
                return Err(StoreError::NoStore {
                    path: path.to_owned(),
                    found: "the directory holds an empty store that was never written to".into(),
                });
            }
            None if log.is_empty() && mark.as_ref().is_none_or(|mark| mark.position == 0) => {
                meta.insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())
                    .map_err(io)?;
                db.flush().map_err(io)?;
                // A new store: make its directory entries durable once, so that a power loss
                // cannot lose the files that later synced appends are written to.
                sync_directory(path)?;
            }
            None if log.is_empty() => {
                return Err(damaged(
                    path,
                    "sled opened it empty, without even a format version, but it held events when it was last used".into(),
                ));
            }
            None => {
                return Err(StoreError::Io {
                    path: path.to_owned(),
                    message:
                        "the store has records but no format version: it was not written by detente"
                            .into(),
                });
            }
        }
        let aux = db.open_tree(AUX_TREE).map_err(io)?;
        let writer = load_writer(path, &log)?;
        if let Some(mark) = &mark {
            mark.check_log(path, &writer.head, |position| {
                read_position_in(path, &log, position)
            })?;
        }
        HighWaterMark::of(&writer.head, None).write(path)?;
        let data_file = std::fs::File::open(path.join("db")).map_err(|err| StoreError::Io {
            path: path.to_owned(),
            message: format!("cannot open sled's data file: {err}"),
        })?;
        Ok(Store {
            path: path.to_owned(),
            config,
            db,
            log,
            aux,
            migrated_from,
            data_file,
            writer: Mutex::new(writer),
            salvaged_from,
            _release: ReleaseOnDrop {
                lock_file: path.join("db"),
            },
        })
    }

    /// The format version this open migrated the store from (`Some(1)` for a store of format
    /// 1, now of [`FORMAT_VERSION`]), or `None` when the store was already of this format.
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
        self.migrated_from
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
        &self.path
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
        let results = {
            let mut writer = self.lock_writer();
            let recorded_at = next_recorded_at(writer.last_recorded_at);
            let today = recorded_at.date_naive();
            let mut results: Vec<Appended> = Vec::with_capacity(events.len());
            let mut in_batch: HashMap<EventId, usize> = HashMap::new();
            let mut new_versions: HashMap<Dyad, u64> = HashMap::new();
            let mut dyads_in_batch: HashSet<Dyad> = HashSet::new();
            let mut position = writer.head.position;
            let mut hash = writer.head.hash;
            let mut batch = sled::Batch::default();
            let mut staged = Staged::default();
            for event in events {
                if !codec::layout_holds(event.dyad) {
                    return Err(StoreError::DyadNotHeld { dyad: event.dyad });
                }
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
                    batch.insert(&version_key(dyad), &version.to_be_bytes());
                }
                self.log.apply_batch(batch).map_err(|err| self.io(err))?;
                writer.head = Head { position, hash };
                writer.last_recorded_at = recorded_at;
                writer.versions.extend(new_versions);
            }
            results
        };
        // Outside the writer lock: appends of other threads go on meanwhile, and one flush
        // makes all of them durable (sled flushes everything written before the call).
        self.make_durable(options.durability)?;
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
        let restored = {
            let mut writer = self.lock_writer();
            let held_up_to = writer.head.position;
            let mut held: Option<u64> = None;
            let mut position = writer.head.position;
            let mut hash = writer.head.hash;
            let mut last_recorded_at = writer.last_recorded_at;
            let mut new_versions: HashMap<Dyad, u64> = HashMap::new();
            let mut staged = Staged::default();
            let mut batch = sled::Batch::default();
            for record in records {
                if !codec::layout_holds(record.dyad) {
                    return Err(StoreError::DyadNotHeld { dyad: record.dyad });
                }
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
                    || self
                        .log
                        .contains_key(id_key(&record.id))
                        .map_err(|err| self.io(err))?
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
            if new_versions.is_empty() {
                return Ok(0);
            }
            for (&dyad, &version) in &new_versions {
                batch.insert(&version_key(dyad), &version.to_be_bytes());
            }
            self.log.apply_batch(batch).map_err(|err| self.io(err))?;
            writer.head = Head { position, hash };
            writer.last_recorded_at = last_recorded_at;
            writer.versions.extend(new_versions);
            position - held_up_to
        };
        self.make_durable(self.config.durability)?;
        Ok(restored)
    }

    /// The end of the log.
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
        self.lock_writer().head
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
        // append under the same lock): the same answer as the `V` key, without a tree lookup.
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
        let mut dyads = Vec::new();
        for entry in self.log.scan_prefix([VERSION_PREFIX]) {
            let (key, value) = entry.map_err(|err| self.io(err))?;
            let dyad = dyad_of_version_key(&key).map_err(|reason| self.index_fault(reason))?;
            let version = decode_u64(&value).map_err(|reason| self.index_fault(reason))?;
            dyads.push((dyad, version));
        }
        dyads.sort();
        Ok(dyads)
    }

    /// A dyad's events with versions in `versions`, in version order.
    ///
    /// The store keeps a dyad's records in the order of its effective timeline, not by
    /// version: this scans the dyad's records (reading only their headers), keeps those in
    /// `versions`, sorts them by version and decodes them one by one. O(events of the dyad).
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
        let mut found: Vec<(u64, sled::IVec, sled::IVec)> = Vec::new();
        let mut failed = None;
        if !versions.is_empty() {
            for entry in self.log.scan_prefix(dyad_range_prefix(RECORD_PREFIX, dyad)) {
                let peeked = entry.map_err(|err| self.io(err)).and_then(|(key, value)| {
                    let version = peek_version(&value).map_err(|reason| StoreError::Corrupt {
                        position: position_of_place_key(&key).unwrap_or(0),
                        reason,
                    })?;
                    Ok((version, key, value))
                });
                match peeked {
                    Ok(entry) if versions.contains(&entry.0) => found.push(entry),
                    Ok(_) => {}
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
        }
        found.sort_unstable_by_key(|entry| entry.0);
        found
            .into_iter()
            .map(move |(_, key, value)| decode_in_place(&key, &value, Some(dyad)))
            .chain(failed.map(Err))
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
        let bounds = |prefix: u8| {
            let start = match after {
                Some(at) => Bound::Excluded(place_key_vec(prefix, dyad, at)),
                None => Bound::Included(dyad_range_prefix(prefix, dyad).to_vec()),
            };
            let last = TimeKey {
                on: through.unwrap_or(NaiveDate::MAX),
                position: u64::MAX,
            };
            (start, Bound::Included(place_key_vec(prefix, dyad, last)))
        };
        let empty = match (after, through) {
            (Some(after), Some(through)) => after.on > through,
            _ => false,
        };
        let (records, marks) = if empty {
            (None, None)
        } else {
            (
                Some(self.log.range(bounds(RECORD_PREFIX))),
                Some(self.log.range(bounds(RETRACTED_PREFIX))),
            )
        };
        Timeline {
            store: self,
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
        match self
            .log
            .get(retracted_key(dyad, at))
            .map_err(|err| self.io(err))?
        {
            Some(value) => decode_u64(&value)
                .map(Some)
                .map_err(|reason| self.index_fault(reason)),
            None => Ok(None),
        }
    }

    /// The whole log from `from_position` on, in position order, streaming.
    ///
    /// The records are keyed by dyad and date; this walks the position index and reads each
    /// record by its key.
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
        self.log
            .range(position_key(from_position)..=position_key(u64::MAX))
            .map(move |entry| {
                let (key, value) = entry.map_err(|err| self.io(err))?;
                let position = decode_u64(&key[1..]).map_err(|reason| self.index_fault(reason))?;
                match self.read_indexed(position, &value)? {
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
        let Some(position) = self.position_of(id)? else {
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
            (writer.head.position, writer.versions.len() as u64)
        };
        Ok(StoreStats {
            // Positions are gap-free from 1 and nothing is deleted.
            events: head_position,
            dyads,
            head_position,
            size_on_disk: self.db.size_on_disk().map_err(|err| self.io(err))?,
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
        let writer = self.lock_writer();
        let mut previous = ChainHash::ZERO;
        let mut expected_position = 1;
        let mut versions: HashMap<Dyad, u64> = HashMap::new();
        // The marks the walk expects: target's mark key -> first retraction's position.
        let mut marks: HashMap<[u8; PLACE_KEY_LEN], u64> = HashMap::new();
        for entry in self.log.range(position_key(0)..=position_key(u64::MAX)) {
            let (key, value) = entry.map_err(|err| self.io(err))?;
            let position = decode_u64(&key[1..]).map_err(|reason| self.index_fault(reason))?;
            let corrupt = |reason: String| StoreError::Corrupt { position, reason };
            if position != expected_position {
                return Err(StoreError::Corrupt {
                    position: expected_position,
                    reason: format!("missing: the next stored position is {position}"),
                });
            }
            let record = self
                .read_indexed(position, &value)?
                .ok_or_else(|| missing_record(position))?;
            let version = versions.entry(record.dyad).or_insert(0);
            *version += 1;
            if record.version != *version {
                return Err(corrupt(format!(
                    "version {} of dyad {} where {} was due",
                    record.version, record.dyad, *version
                )));
            }
            if self.position_of(&record.id)? != Some(position) {
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
                && let Some(target) = self.position_of(&retraction.target)?
                && target <= position
                && let Some((dyad, at)) = self.place_at(target)?
                && dyad == record.dyad
            {
                let mark = retracted_key(dyad, at);
                marks.entry(mark).or_insert(position);
                if self.log.get(mark).map_err(|err| self.io(err))?.is_none() {
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
        if let Some(before) = &self.salvaged_from {
            before.check_salvaged(&self.path, &head, |position| self.read_position(position))?;
        }
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
        let mut records = 0u64;
        for entry in self.log.scan_prefix([RECORD_PREFIX]) {
            entry.map_err(|err| self.io(err))?;
            records += 1;
        }
        if records != head.position {
            for entry in self.log.scan_prefix([RECORD_PREFIX]) {
                let (key, _) = entry.map_err(|err| self.io(err))?;
                let listed = decode_place_key(&key).ok();
                let indexed = match listed {
                    Some((_, at)) => self.place_at(at.position)?,
                    None => None,
                };
                if listed.is_none() || listed != indexed {
                    return Err(StoreError::Corrupt {
                        position: position_of_place_key(&key).unwrap_or(0),
                        reason: format!(
                            "a record is stored under key {key:?}, which the position index does not point at"
                        ),
                    });
                }
            }
            return Err(StoreError::Corrupt {
                position: head.position,
                reason: format!(
                    "{records} records are stored for {} positions",
                    head.position
                ),
            });
        }
        for entry in self.log.scan_prefix([RETRACTED_PREFIX]) {
            let (key, value) = entry.map_err(|err| self.io(err))?;
            let position = position_of_place_key(&key).unwrap_or(0);
            let expected = <[u8; PLACE_KEY_LEN]>::try_from(key.as_ref())
                .ok()
                .and_then(|mark| marks.get(&mark).copied());
            match expected {
                Some(first) if value.as_ref() == first.to_be_bytes() => {}
                Some(first) => {
                    return Err(StoreError::Corrupt {
                        position,
                        reason: format!(
                            "its retraction mark names position {:?}, but its first retraction is at position {first}",
                            decode_u64(&value).ok()
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
        self.db.flush().map_err(|err| self.io(err))?;
        Ok(())
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
        let value = self.aux.get(key).map_err(|err| self.io(err))?;
        Ok(value.map(|bytes| bytes.to_vec()))
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
    pub fn aux_put(&self, mut entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        // sled's `apply_batch` rolls its IO buffer twice whatever the batch holds, so a batch
        // is used only where atomicity needs one: nothing for no entry, a plain write for one.
        match entries.len() {
            0 => {}
            1 => {
                let written = match entries.pop() {
                    Some((key, Some(value))) => self.aux.insert(key, value).map(drop),
                    Some((key, None)) => self.aux.remove(key).map(drop),
                    None => Ok(()),
                };
                written.map_err(|err| self.io(err))?;
            }
            _ => {
                let mut batch = sled::Batch::default();
                for (key, value) in entries {
                    match value {
                        Some(value) => batch.insert(key, value),
                        None => batch.remove(key),
                    }
                }
                self.aux.apply_batch(batch).map_err(|err| self.io(err))?;
            }
        }
        self.make_durable(self.config.aux_durability)
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
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + use<'a> {
        self.aux.scan_prefix(prefix).map(move |entry| {
            let (key, value) = entry.map_err(|err| self.io(err))?;
            Ok((key.to_vec(), value.to_vec()))
        })
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
    ) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> + use<'a> {
        let prefix = prefix.to_vec();
        self.aux
            .range(from.max(prefix.as_slice())..)
            .keys()
            .take_while(move |key| key.as_ref().map_or(true, |key| key.starts_with(&prefix)))
            .map(move |key| key.map(|key| key.to_vec()).map_err(|err| self.io(err)))
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
        if last < prefix {
            return Ok(None);
        }
        match self.aux.range(prefix..=last).next_back() {
            Some(entry) => {
                let (key, _) = entry.map_err(|err| self.io(err))?;
                Ok(Some(key.to_vec()))
            }
            None => Ok(None),
        }
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
        let no_record =
            || self.index_fault(format!("no record at position {position} to tamper with"));
        let place = self
            .log
            .get(position_key(position))
            .map_err(|err| self.io(err))?
            .ok_or_else(no_record)?;
        let key = record_key_of(position, &place).map_err(|reason| self.index_fault(reason))?;
        let Some(value) = self.log.get(key).map_err(|err| self.io(err))? else {
            return Err(no_record());
        };
        let mut bytes = value.to_vec();
        let index = byte_index % bytes.len().max(1);
        if let Some(byte) = bytes.get_mut(index) {
            *byte ^= 0xff;
        }
        self.log.insert(key, bytes).map_err(|err| self.io(err))?;
        self.flush()
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
        let Some((dyad, at)) = self.place_at(position)? else {
            return Err(self.index_fault(format!("no record at position {position} to mark")));
        };
        let key = retracted_key(dyad, at);
        match mark {
            Some(by) => self.log.insert(key, &by.to_be_bytes()).map(drop),
            None => self.log.remove(key).map(drop),
        }
        .map_err(|err| self.io(err))?;
        self.flush()
    }

    /// Puts a new record's keys in `batch`: the record, its position and id index entries,
    /// and, for a retraction of a record of its own dyad stored before it (or earlier in the
    /// batch, or itself), the target's retraction mark unless it is marked already.
    fn stage(
        &self,
        batch: &mut sled::Batch,
        record: &RecordedEvent,
        staged: &mut Staged,
    ) -> Result<(), StoreError> {
        let at = TimeKey::of(record);
        batch.insert(&record_key(record.dyad, at), encode_record(record));
        batch.insert(
            &position_key(record.position),
            &position_value(record.dyad, record.occurred_on),
        );
        batch.insert(id_key(&record.id), &record.position.to_be_bytes());
        staged.places.insert(record.id.clone(), (record.dyad, at));
        if let Event::EventRetracted(retraction) = &record.event {
            let target = match staged.places.get(&retraction.target) {
                Some(&place) => Some(place),
                None => match self.position_of(&retraction.target)? {
                    Some(position) => self.place_at(position)?,
                    None => None,
                },
            };
            if let Some((dyad, target_at)) = target
                && dyad == record.dyad
            {
                let mark = retracted_key(dyad, target_at);
                if !staged.marks.contains(&mark)
                    && !self.log.contains_key(mark).map_err(|err| self.io(err))?
                {
                    batch.insert(&mark, &record.position.to_be_bytes());
                    staged.marks.insert(mark);
                }
            }
        }
        Ok(())
    }

    /// The position the id index gives for `id`.
    fn position_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        match self.log.get(id_key(id)).map_err(|err| self.io(err))? {
            Some(value) => decode_u64(&value)
                .map(Some)
                .map_err(|reason| self.index_fault(reason)),
            None => Ok(None),
        }
    }

    /// The dyad and place of the record at `position`, from the position index alone.
    fn place_at(&self, position: u64) -> Result<Option<(Dyad, TimeKey)>, StoreError> {
        let Some(value) = self
            .log
            .get(position_key(position))
            .map_err(|err| self.io(err))?
        else {
            return Ok(None);
        };
        let key = record_key_of(position, &value)
            .map_err(|reason| StoreError::Corrupt { position, reason })?;
        decode_place_key(&key)
            .map(Some)
            .map_err(|reason| StoreError::Corrupt { position, reason })
    }

    fn read_position(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        read_position_in(&self.path, &self.log, position)
    }

    /// The record that the position index entry `position` -> `place` points at.
    fn read_indexed(
        &self,
        position: u64,
        place: &[u8],
    ) -> Result<Option<RecordedEvent>, StoreError> {
        read_indexed_in(&self.path, &self.log, position, place)
    }

    fn make_durable(&self, durability: Durability) -> Result<(), StoreError> {
        match durability {
            Durability::Buffered => Ok(()),
            Durability::Flushed => self.flush(),
            Durability::Synced => {
                self.flush()?;
                let synced = self.data_file.sync_data().and_then(|()| self.sync_blobs());
                synced.map_err(|err| StoreError::Io {
                    path: self.path.clone(),
                    message: format!("fdatasync of sled's files failed: {err}"),
                })
            }
        }
    }

    /// sled writes a log message larger than a quarter of a segment (about 128 KiB: a leaf of
    /// 17 records of more than ~7.5 KiB each) to a file of its own under `blobs/`, and never
    /// syncs it. Usually there is none; each one there is synced, and the directory with them.
    fn sync_blobs(&self) -> std::io::Result<()> {
        let directory = self.path.join("blobs");
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let mut any = false;
        for entry in entries {
            let entry = entry?;
            match std::fs::File::open(entry.path()) {
                Ok(file) => file.sync_data()?,
                // Removed by sled's garbage collection meanwhile.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            }
            any = true;
        }
        if any {
            std::fs::File::open(&directory)?.sync_all()?;
        }
        Ok(())
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // The writer state changes only after a successful write, so a panic elsewhere while
        // the lock was held leaves it consistent.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn io(&self, err: sled::Error) -> StoreError {
        io_error(&self.path, err)
    }

    fn index_fault(&self, reason: String) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            message: format!("an index entry is malformed: {reason}"),
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // A clean close: flush, then leave the mark of what the store holds and how long its
        // data file is, so that the next open finds any loss. Errors are ignored: a missing
        // mark only makes the next open check less.
        if self.db.flush().is_err() {
            return;
        }
        let head = self.lock_writer().head;
        let length = std::fs::metadata(self.path.join("db"))
            .map(|meta| meta.len())
            .ok();
        let _ = HighWaterMark::of(&head, length).write(&self.path);
    }
}

/// The file beside sled's in a store directory that says how far the log reached when the
/// store was last opened or closed: `detente-head`, one line of text,
/// `POSITION HASH [DB_LENGTH]` (the length of sled's `db` file, after a clean close only).
///
/// sled recovers from damaged files by dropping everything from the first bad message on, and
/// rewrites the file as it does; so a damaged store would otherwise open as a shorter or empty
/// log, silently. With the mark, such an open is refused: a log that ends before the mark, or
/// whose record at the mark has another hash, is [`StoreError::Damaged`]; a data file shorter
/// than it was at a clean close is refused before sled opens (and rewrites) it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HighWaterMark {
    position: u64,
    hash: ChainHash,
    db_length: Option<u64>,
}

/// The name of the high-water mark's file in a store directory.
pub const HIGH_WATER_MARK_FILE: &str = "detente-head";

/// The name under which a salvage sets the high-water mark aside (`docs/failures.md`,
/// "Recovery"): a copy of a damaged store with its mark renamed to this opens as what sled
/// kept, and [`Store::verify`] reports it as [`StoreError::Salvaged`] while it holds less
/// than the mark.
pub const SALVAGE_MARK_FILE: &str = "detente-head.before-salvage";

impl HighWaterMark {
    fn of(head: &Head, db_length: Option<u64>) -> HighWaterMark {
        HighWaterMark {
            position: head.position,
            hash: head.hash,
            db_length,
        }
    }

    /// The mark in the store's file `name` ([`HIGH_WATER_MARK_FILE`], or
    /// [`SALVAGE_MARK_FILE`] for the one a salvage set aside), if there is one.
    fn read(path: &Path, name: &str) -> Result<Option<HighWaterMark>, StoreError> {
        let file = path.join(name);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) if err.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
            Err(err) => {
                return Err(damaged(
                    path,
                    format!("its file {name} cannot be read: {err}"),
                ));
            }
        };
        let mut words = text.split_whitespace();
        let position = words.next().and_then(|word| word.parse::<u64>().ok());
        let hash = words.next().and_then(|word| word.parse::<ChainHash>().ok());
        let db_length = words.next().map(str::parse::<u64>);
        match (position, hash, db_length) {
            (Some(position), Some(hash), None) => Ok(Some(HighWaterMark {
                position,
                hash,
                db_length: None,
            })),
            (Some(position), Some(hash), Some(Ok(length))) => Ok(Some(HighWaterMark {
                position,
                hash,
                db_length: Some(length),
            })),
            _ => Err(damaged(
                path,
                format!(
                    "its file {name} is not `POSITION HASH [LENGTH]`: {:?}",
                    text.chars().take(200).collect::<String>()
                ),
            )),
        }
    }

    /// Before sled opens the files: a data file shorter than at the last clean close.
    fn check_files(&self, path: &Path) -> Result<(), StoreError> {
        let Some(expected) = self.db_length else {
            return Ok(());
        };
        let found = match std::fs::metadata(path.join("db")) {
            Ok(meta) => meta.len(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
            Err(_) => return Ok(()),
        };
        if found < expected {
            return Err(damaged(
                path,
                format!(
                    "sled's data file `db` is {found} bytes long, but it was {expected} when the store was closed after position {}: it was cut short (the files are left as they are)",
                    self.position
                ),
            ));
        }
        Ok(())
    }

    /// After sled opened the files: the log reaches the mark, with the same hash there
    /// (`read` gives the record at a position, in the store's format).
    fn check_log(
        &self,
        path: &Path,
        head: &Head,
        read: impl FnOnce(u64) -> Result<Option<RecordedEvent>, StoreError>,
    ) -> Result<(), StoreError> {
        if head.position < self.position {
            return Err(damaged(
                path,
                format!(
                    "its log ends at position {}, but it reached position {} when it was last used: sled kept only the intact prefix",
                    head.position, self.position
                ),
            ));
        }
        if self.position == 0 {
            return Ok(());
        }
        let stored = match read(self.position) {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => None,
            Err(StoreError::Corrupt { reason, .. }) => Some(Err(reason)),
            Err(err) => return Err(err),
        };
        match stored {
            Some(Ok(record)) if record.hash == self.hash => Ok(()),
            Some(Ok(record)) => Err(damaged(
                path,
                format!(
                    "the record at position {} has hash {}, but it had {} when the store was last used",
                    self.position, record.hash, self.hash
                ),
            )),
            Some(Err(reason)) => Err(damaged(
                path,
                format!(
                    "the record at position {} is unreadable: {reason}",
                    self.position
                ),
            )),
            None => Err(damaged(
                path,
                format!("the record at position {} is missing", self.position),
            )),
        }
    }

    /// A salvaged copy (this is the mark set aside) holds the whole log it marks: it reaches
    /// the mark's position, with the same hash there.
    fn check_salvaged(
        &self,
        path: &Path,
        head: &Head,
        read: impl FnOnce(u64) -> Result<Option<RecordedEvent>, StoreError>,
    ) -> Result<(), StoreError> {
        if head.position < self.position {
            return Err(StoreError::Salvaged {
                path: path.to_owned(),
                position: head.position,
                reached: self.position,
            });
        }
        match read(self.position)? {
            Some(record) if record.hash != self.hash => Err(damaged(
                path,
                format!(
                    "the record at position {} has hash {}, but it had {} before the salvage (its mark is in {SALVAGE_MARK_FILE})",
                    self.position, record.hash, self.hash
                ),
            )),
            _ => Ok(()),
        }
    }

    fn write(&self, path: &Path) -> Result<(), StoreError> {
        let mut text = format!("{} {}", self.position, self.hash);
        if let Some(length) = self.db_length {
            text.push_str(&format!(" {length}"));
        }
        text.push('\n');
        let temporary = path.join(format!("{HIGH_WATER_MARK_FILE}.tmp"));
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, path.join(HIGH_WATER_MARK_FILE)))
            .map_err(|err| StoreError::Io {
                path: path.to_owned(),
                message: format!("cannot write {HIGH_WATER_MARK_FILE}: {err}"),
            })
    }
}

fn damaged(path: &Path, what: String) -> StoreError {
    StoreError::Damaged {
        path: path.to_owned(),
        what,
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
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
    /// The retraction marks the batch writes.
    marks: HashSet<[u8; PLACE_KEY_LEN]>,
}

/// A dyad's effective timeline: its records in key order, with the marked (retracted) ones
/// skipped by walking the dyad's marks alongside (a merge of two sorted ranges).
struct Timeline<'a> {
    store: &'a Store,
    /// The dyad whose records these are.
    dyad: Dyad,
    records: Option<sled::Iter>,
    marks: Option<sled::Iter>,
    /// The next mark not yet passed (its key without the prefix byte).
    mark: Option<sled::IVec>,
}

impl Iterator for Timeline<'_> {
    type Item = Result<RecordedEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (key, value) = match self.records.as_mut()?.next()? {
                Ok(entry) => entry,
                Err(err) => return Some(Err(self.store.io(err))),
            };
            // Move the marks up to this record's place.
            loop {
                if self.mark.as_ref().is_some_and(|mark| mark[1..] >= key[1..]) {
                    break;
                }
                match self.marks.as_mut().and_then(Iterator::next) {
                    Some(Ok((mark, _))) => self.mark = Some(mark),
                    Some(Err(err)) => return Some(Err(self.store.io(err))),
                    None => {
                        self.marks = None;
                        self.mark = None;
                        break;
                    }
                }
            }
            if self.mark.as_ref().is_some_and(|mark| mark[1..] == key[1..]) {
                continue;
            }
            return Some(decode_in_place(&key, &value, Some(self.dyad)));
        }
    }
}

/// A record decoded from the bytes stored under `key`, which must be its place: its dyad, its
/// date and its position. `dyad`, where given, is the dyad the key is expected to name (a
/// scan of one dyad's records), which spares parsing it again for each record.
fn decode_in_place(
    key: &[u8],
    bytes: &[u8],
    dyad: Option<Dyad>,
) -> Result<RecordedEvent, StoreError> {
    let position = position_of_place_key(key).unwrap_or(0);
    if stored_place(bytes).is_some_and(|place| key.get(1..) == Some(place)) {
        // The record says it is at the place of its key: decoding it is checking it.
        return decode_record_of(bytes, dyad)
            .map_err(|reason| StoreError::Corrupt { position, reason });
    }
    let (dyad, at) =
        decode_place_key(key).map_err(|reason| StoreError::Corrupt { position, reason })?;
    let record = decode_record(bytes).map_err(|reason| StoreError::Corrupt { position, reason })?;
    if record.position != position {
        return Err(StoreError::Corrupt {
            position,
            reason: format!("the record says position {}", record.position),
        });
    }
    if (record.dyad, record.occurred_on) != (dyad, at.on) {
        return Err(StoreError::Corrupt {
            position,
            reason: format!(
                "the record of dyad {} on {} is stored under dyad {dyad} on {}",
                record.dyad, record.occurred_on, at.on
            ),
        });
    }
    Ok(record)
}

fn missing_record(position: u64) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: "the position index points at a missing record".into(),
    }
}

fn place_key_vec(prefix: u8, dyad: Dyad, at: TimeKey) -> Vec<u8> {
    codec::place_key(prefix, dyad, at).to_vec()
}

/// The record at `position` (`None` when the position index has no entry for it).
fn read_position_in(
    path: &Path,
    log: &sled::Tree,
    position: u64,
) -> Result<Option<RecordedEvent>, StoreError> {
    match log
        .get(position_key(position))
        .map_err(|err| io_error(path, err))?
    {
        Some(place) => match read_indexed_in(path, log, position, &place)? {
            Some(record) => Ok(Some(record)),
            None => Err(missing_record(position)),
        },
        None => Ok(None),
    }
}

/// The record the position index entry `position` -> `place` points at, if it is stored.
fn read_indexed_in(
    path: &Path,
    log: &sled::Tree,
    position: u64,
    place: &[u8],
) -> Result<Option<RecordedEvent>, StoreError> {
    let key = record_key_of(position, place)
        .map_err(|reason| StoreError::Corrupt { position, reason })?;
    match log.get(key).map_err(|err| io_error(path, err))? {
        Some(bytes) => decode_in_place(&key, &bytes, None).map(Some),
        None => Ok(None),
    }
}

/// `max(now, last)`, now truncated to the microsecond, so `recorded_at` never goes backwards.
fn next_recorded_at(last: DateTime<Utc>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    now.max(last)
}

fn sync_directory(path: &Path) -> Result<(), StoreError> {
    let synced = std::fs::File::open(path).and_then(|dir| dir.sync_all());
    synced.map_err(|err| StoreError::Io {
        path: path.to_owned(),
        message: format!("cannot sync the store directory: {err}"),
    })
}

fn io_error(path: &Path, err: sled::Error) -> StoreError {
    if let sled::Error::Corruption { at, .. } = &err {
        // sled's own text is its debug form ("Read corrupted data at file offset None
        // backtrace ()"): say what it means instead.
        let place = at
            .map(|pointer| format!(" at offset {}", pointer.lid()))
            .unwrap_or_default();
        return damaged(
            path,
            format!("sled found corrupt data{place} in its data file `db` (a checksum failed)"),
        );
    }
    StoreError::Io {
        path: path.to_owned(),
        message: err.to_string(),
    }
}

/// Whether sled's error is its failure to take the file lock. sled 0.34.7 wraps the
/// `WouldBlock` of `flock` in an `io::Error` of kind `Other` whose message starts with "could
/// not acquire lock".
fn is_lock_error(err: &sled::Error) -> bool {
    match err {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock")
        }
        _ => false,
    }
}

/// What a path holds, as far as a store goes, decided from the names of the files there
/// before sled opens (and so writes) anything.
enum Presence {
    /// Nothing: the path is absent, or an empty directory (said how).
    Vacant(&'static str),
    /// A store's files (sled's `db` or `conf`, or the high-water mark), whole or damaged.
    Store,
    /// Something else (said what).
    Other(String),
}

/// The files whose presence in a directory makes it a store's (damaged or not): sled's data
/// and configuration files and the high-water mark.
const STORE_FILES: [&str; 3] = ["db", "conf", HIGH_WATER_MARK_FILE];

fn presence(path: &Path) -> Result<Presence, StoreError> {
    let io = |err: std::io::Error| StoreError::Io {
        path: path.to_owned(),
        message: format!("cannot read the directory: {err}"),
    };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Presence::Vacant("the path does not exist"));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotADirectory => {
            return Ok(Presence::Other("it is a file, not a directory".into()));
        }
        Err(err) => return Err(io(err)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry.map_err(io)?.file_name();
        if STORE_FILES.iter().any(|file| name == *file) {
            return Ok(Presence::Store);
        }
        names.push(name.to_string_lossy().into_owned());
    }
    if names.is_empty() {
        return Ok(Presence::Vacant("the directory is empty"));
    }
    names.sort();
    let shown: Vec<String> = names.iter().take(3).map(|n| format!("`{n}`")).collect();
    let more = match names.len() - shown.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Ok(Presence::Other(format!(
        "the directory holds {}{more}, and none of a store's files",
        shown.join(", ")
    )))
}

fn open_sled(path: &Path, cache_capacity: u64) -> Result<sled::Db, StoreError> {
    let started = Instant::now();
    loop {
        // sled may panic on files it cannot make sense of; that is an error, not a crash.
        let opened = std::panic::catch_unwind(|| {
            sled::Config::new()
                .path(path)
                .cache_capacity(cache_capacity)
                .open()
        })
        .map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            damaged(path, format!("sled could not open its files: {what}"))
        })?;
        match opened {
            Ok(db) => return Ok(db),
            Err(err) if is_lock_error(&err) => {
                if started.elapsed() >= LOCK_RETRY {
                    return Err(StoreError::Locked {
                        path: path.to_owned(),
                    });
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(err) => return Err(io_error(path, err)),
        }
    }
}

/// The writer state of a store as persisted: its head (the last position index entry and its
/// record) and its dyad versions.
fn load_writer(path: &Path, log: &sled::Tree) -> Result<Writer, StoreError> {
    let io = |err: sled::Error| io_error(path, err);
    let last = log
        .range(position_key(0)..=position_key(u64::MAX))
        .next_back()
        .transpose()
        .map_err(io)?;
    let (head, last_recorded_at) = match last {
        Some((key, place)) => {
            let position = decode_u64(&key[1..]).map_err(|reason| StoreError::Io {
                path: path.to_owned(),
                message: format!("a position index key is malformed: {reason}"),
            })?;
            // The head is read from its record: one that is unreadable is damage, reported as
            // the high-water mark check would report it.
            let record = match read_indexed_in(path, log, position, &place) {
                Ok(Some(record)) => record,
                Ok(None) => return Err(missing_record(position)),
                Err(StoreError::Corrupt { reason, .. }) => {
                    return Err(damaged(
                        path,
                        format!(
                            "the record at position {position}, the last, is unreadable: {reason}"
                        ),
                    ));
                }
                Err(err) => return Err(err),
            };
            (
                Head {
                    position,
                    hash: record.hash,
                },
                record.recorded_at,
            )
        }
        None => (Head::default(), DateTime::<Utc>::MIN_UTC),
    };
    let mut versions = HashMap::new();
    for entry in log.scan_prefix([VERSION_PREFIX]) {
        let (key, value) = entry.map_err(io)?;
        let malformed = |reason: String| StoreError::Io {
            path: path.to_owned(),
            message: format!("a dyad version entry is malformed: {reason}"),
        };
        let dyad = dyad_of_version_key(&key).map_err(malformed)?;
        let version = decode_u64(&value).map_err(malformed)?;
        versions.insert(dyad, version);
    }
    Ok(Writer {
        head,
        last_recorded_at,
        versions,
    })
}

/// Waits, when dropped, until sled's file lock on the store can be taken (and lets it go at
/// once): sled releases it from background threads a little after its handles are dropped
/// (sled issues #1234 and #1289), and a store should be openable again as soon as it is closed.
struct ReleaseOnDrop {
    lock_file: PathBuf,
}

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        use fs2::FileExt;
        let started = Instant::now();
        while started.elapsed() < RELEASE_WAIT {
            let Ok(file) = std::fs::File::open(&self.lock_file) else {
                return;
            };
            if FileExt::try_lock_exclusive(&file).is_ok() {
                let _ = FileExt::unlock(&file);
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleds_corruption_error_is_named_without_its_debug_text() {
        // Story: one changed byte in sled's `db` file makes sled report corruption on open,
        // and its text ("Read corrupted data at file offset None backtrace ()") reached the
        // user's terminal as is.
        let err = io_error(
            Path::new("aa"),
            sled::Error::Corruption { at: None, bt: () },
        );
        let text = err.to_string();
        assert!(matches!(err, StoreError::Damaged { .. }), "{text}");
        assert!(
            text.starts_with(
                "the store at aa is damaged: sled found corrupt data in its data file `db` (a checksum failed): restore it from an export"
            ),
            "{text}"
        );
        for debug_text in ["None", "backtrace", "()"] {
            assert!(!text.contains(debug_text), "{text}");
        }
    }

    #[test]
    fn a_store_of_a_newer_format_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        drop(Store::open(&path, StoreConfig::default()).unwrap());
        {
            let db = sled::open(&path).unwrap();
            let meta = db.open_tree(META_TREE).unwrap();
            meta.insert(FORMAT_KEY, &(FORMAT_VERSION + 1).to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        let err = Store::open(&path, StoreConfig::default()).unwrap_err();
        assert!(
            matches!(&err, StoreError::NewerFormat { found: 3, supported: 2, path: p } if p == &path),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade detente"), "{err}");
    }

    #[test]
    fn a_head_whose_record_is_missing_is_reported_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        drop(Store::open(&path, StoreConfig::default()).unwrap());
        {
            let db = sled::open(&path).unwrap();
            let log = db.open_tree(LOG_TREE).unwrap();
            // A position index entry whose record is missing.
            log.insert(position_key(1), b"RUS-USA\x80\x0b\x3b\x1c".to_vec())
                .unwrap();
            db.flush().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        let err = Store::open(&path, StoreConfig::default()).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { position: 1, .. }),
            "{err}"
        );
    }
}
