//! The event log on sled.
//!
//! **Invariant:** only `src/store/` knows sled.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use crate::domain::{ChainHash, Dyad, EventId, NewEvent, RecordedEvent};

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
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// The durability of writes that are not appends (projections, snapshots) and the default
    /// for appends.
    pub durability: Durability,
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
    /// A restored record that does not continue the log.
    #[error("record at position {position} does not continue the log: {reason}")]
    BadRestore {
        /// The position of the record that does not fit.
        position: u64,
        /// What is wrong.
        reason: String,
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

/// The append-only event log.
pub struct Store {
    _private: (),
}

impl Store {
    /// Opens (creating where absent) the store at `path`.
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        let _ = (path, config);
        todo!("issue 3")
    }

    /// Appends a batch atomically: all of it or nothing. Returns one [`Appended`] per input, in
    /// order.
    pub fn append(
        &self,
        events: Vec<NewEvent>,
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        let _ = (events, options);
        todo!("issue 3")
    }

    /// Appends recorded events verbatim (a restore from an export): each must continue the log
    /// (next position, next dyad version, chain hash over the previous one).
    pub fn restore(&self, records: Vec<RecordedEvent>) -> Result<(), StoreError> {
        let _ = records;
        todo!("issue 3")
    }

    /// The end of the log.
    pub fn head(&self) -> Head {
        todo!("issue 3")
    }

    /// A dyad's current version (0 when it has no event).
    pub fn dyad_version(&self, dyad: Dyad) -> Result<u64, StoreError> {
        let _ = dyad;
        todo!("issue 3")
    }

    /// Every dyad with its version, sorted.
    pub fn dyads(&self) -> Result<Vec<(Dyad, u64)>, StoreError> {
        todo!("issue 3")
    }

    /// A dyad's events with versions in `versions`, in version order, streaming.
    pub fn read_dyad(
        &self,
        dyad: Dyad,
        versions: RangeInclusive<u64>,
    ) -> impl Iterator<Item = Result<RecordedEvent, StoreError>> + '_ {
        let _ = (dyad, versions);
        std::iter::empty()
    }

    /// The whole log from `from_position` on, in position order, streaming.
    pub fn read_log(
        &self,
        from_position: u64,
    ) -> impl Iterator<Item = Result<RecordedEvent, StoreError>> + '_ {
        let _ = from_position;
        std::iter::empty()
    }

    /// One event by id.
    pub fn get(&self, id: &EventId) -> Result<Option<RecordedEvent>, StoreError> {
        let _ = id;
        todo!("issue 3")
    }

    /// Counts and sizes.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        todo!("issue 3")
    }

    /// Walks the whole log: every record decodes, positions and versions are gap-free, the
    /// id index points at it, and the hash chain holds. The first fault is an error naming
    /// its position.
    pub fn verify(&self) -> Result<Head, StoreError> {
        todo!("issue 3")
    }

    /// Flushes everything written so far to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        todo!("issue 3")
    }

    /// Reads an auxiliary value (the engine's projections, snapshots and checkpoints).
    pub fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = key;
        todo!("issue 3")
    }

    /// Writes auxiliary values atomically (`None` removes).
    pub fn aux_put(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let _ = entries;
        todo!("issue 3")
    }

    /// Auxiliary entries whose key starts with `prefix`, in key order, streaming.
    pub fn aux_scan<'a>(
        &'a self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + use<'a> {
        let _ = prefix;
        std::iter::empty()
    }
}
