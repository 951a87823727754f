//! The seam under the store: what a home of the log does, below the log's rules.
//!
//! [`Store`](super::Store) holds the log's rules, written once: positions, versions, expected
//! versions, idempotency by id, the hash chain, `recorded_at`, retraction marks, the order of
//! the effective timeline, restore's checks and verify's. A [`Backend`] only keeps what those
//! rules decide, and reads it back: an atomic staged write of records with their index
//! entries, reads by dyad, place, position and id, the dyads' versions, the head, the cache
//! space, durability. Each backend's documentation says who may open it at once.
//!
//! The backends are [`SledBackend`](super::SledBackend) (a folder, one process) and
//! [`MemoryBackend`](super::MemoryBackend) (a map in memory, for tests). The trait is sealed:
//! its shape is this crate's to change as backends are added (`docs/backends.md`).

use std::ops::RangeInclusive;
use std::path::Path;

use super::{Durability, Head, StoreError, TimeKey};
use crate::domain::{Dyad, EventId, RecordedEvent};

mod sealed {
    /// Only this crate implements [`Backend`](super::Backend).
    pub trait Sealed {}
}

pub(crate) use sealed::Sealed;

/// A retraction mark as a backend holds it, for [`Backend::marks`]: what verify checks
/// against the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredMark {
    /// The position of the marked record, as the mark names it (0 where it cannot be read).
    pub position: u64,
    /// The marked record's dyad and place (`None` where the mark cannot be read as one).
    pub place: Option<(Dyad, TimeKey)>,
    /// The position of the retraction the mark names (`None` where it cannot be read).
    pub by: Option<u64>,
}

/// The end of a log as a backend holds it, read on open by [`Backend::load_end`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogEnd {
    /// The record at the last position (`None` for an empty log).
    pub last: Option<RecordedEvent>,
    /// Every dyad's version, in any order.
    pub versions: Vec<(Dyad, u64)>,
}

/// A home of the log, below the log's rules: what [`Store`](super::Store) needs of it.
///
/// Methods are called under the store's writer lock where they take part in an append or a
/// restore, so a backend needs no lock of its own for the log's consistency. Reads that
/// stream return owned iterators; one call per scan, not per record, so a trait object would
/// also do, but the store is generic over its backend and pays no dispatch at all.
pub trait Backend: Sealed + Send + Sync {
    /// The records, index entries, marks and versions of one append or restore, written
    /// together by [`Backend::write`].
    type Batch: Default;
    /// A place on a dyad's timeline as the backend keys it: ordered as
    /// [`TimeKey`] orders places of one dyad.
    type Place: Ord;
    /// A record as the backend keeps it, decoded by [`Backend::decode`].
    type Raw;
    /// A dyad's records in a range of its timeline, undecoded, in timeline order.
    type Placed: Iterator<Item = Result<(Self::Place, Self::Raw), StoreError>>;
    /// A dyad's retraction marks in a range of its timeline, in timeline order.
    type Places: Iterator<Item = Result<Self::Place, StoreError>>;
    /// A position index entry, read by [`Backend::read_index_entry`].
    type IndexEntry;
    /// The position index in position order.
    type Indexed: Iterator<Item = Result<(u64, Self::IndexEntry), StoreError>>;
    /// Decoded records.
    type Records: Iterator<Item = Result<RecordedEvent, StoreError>>;
    /// Every retraction mark.
    type Marks: Iterator<Item = Result<StoredMark, StoreError>>;
    /// Auxiliary entries.
    type AuxEntries: Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>>;
    /// Auxiliary keys.
    type AuxKeys: Iterator<Item = Result<Vec<u8>, StoreError>>;

    /// Where the log lives, as errors name it.
    fn location(&self) -> &Path;
    /// The end of the log as stored: the record at the last position, and every dyad's
    /// version (in any order).
    fn load_end(&self) -> Result<LogEnd, StoreError>;
    /// Called once the store has read the head on open: the backend's own checks of it.
    fn opened(&self, head: &Head) -> Result<(), StoreError>;
    /// Called when the store is dropped, with its head.
    fn closing(&self, head: &Head);

    /// Stages a new record with its position and id index entries.
    fn stage_record(batch: &mut Self::Batch, record: &RecordedEvent);
    /// Stages the retraction mark of `dyad`'s record at `target`, naming the retraction at
    /// position `by`.
    fn stage_mark(batch: &mut Self::Batch, dyad: Dyad, target: TimeKey, by: u64);
    /// Stages a dyad's new version.
    fn stage_version(batch: &mut Self::Batch, dyad: Dyad, version: u64);
    /// Writes a batch atomically: all of it or nothing, also across a crash.
    fn write(&self, batch: Self::Batch) -> Result<(), StoreError>;
    /// Writes a batch computed against the head `against`, atomically, if the stored head is
    /// still `against`: `Ok(false)` when another handle of a shared log ([`Backend::is_shared`])
    /// has moved it, and nothing was written. A backend that only one store writes never moves.
    fn write_at(&self, batch: Self::Batch, against: &Head) -> Result<bool, StoreError> {
        let _ = against;
        self.write(batch).map(|()| true)
    }
    /// Whether other handles, in this process or others, may append to the log at once
    /// (PostgreSQL): the store then reads the stored head before it trusts its own.
    fn is_shared(&self) -> bool {
        false
    }
    /// Starts (`true`) or ends (`false`) one consistent snapshot for the reads in between, on
    /// a shared log (PostgreSQL: a repeatable-read transaction), so that a verify sees no
    /// append made meanwhile. Called under the store's writer lock.
    fn read_snapshot(&self, on: bool) -> Result<(), StoreError> {
        let _ = on;
        Ok(())
    }
    /// The head as stored, for a shared log (`None`: the store's own head is the log's).
    fn stored_head(&self) -> Result<Option<Head>, StoreError> {
        Ok(None)
    }

    /// The record at `position` (`None` when the position index has no entry for it).
    fn record_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError>;
    /// The position the id index gives for `id`.
    fn position_of(&self, id: &EventId) -> Result<Option<u64>, StoreError>;
    /// Whether the id index holds `id`, without reading its entry.
    fn holds_id(&self, id: &EventId) -> Result<bool, StoreError>;
    /// The dyad and place of the record at `position`, from the position index alone.
    fn place_at(&self, position: u64) -> Result<Option<(Dyad, TimeKey)>, StoreError>;
    /// The retraction mark of `dyad`'s record at `at`: its first retraction's position.
    fn mark(&self, dyad: Dyad, at: TimeKey) -> Result<Option<u64>, StoreError>;
    /// Whether `dyad`'s record at `at` is marked retracted, without reading the mark.
    fn is_marked(&self, dyad: Dyad, at: TimeKey) -> Result<bool, StoreError>;
    /// Every dyad with its stored version, in any order.
    fn dyads(&self) -> Result<Vec<(Dyad, u64)>, StoreError>;
    /// A dyad's records with versions in `versions`, in version order.
    fn dyad_versions(&self, dyad: Dyad, versions: RangeInclusive<u64>) -> Self::Records;
    /// A dyad's records (retracted ones too) after `after` (from the start for `None`)
    /// through `last`, in timeline order.
    fn timeline_records(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Placed;
    /// A dyad's retraction marks in the same range, in timeline order.
    fn timeline_marks(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Places;
    /// Decodes (and checks against its place) a record of `dyad` read by
    /// [`Backend::timeline_records`].
    fn decode(
        &self,
        dyad: Dyad,
        place: Self::Place,
        raw: Self::Raw,
    ) -> Result<RecordedEvent, StoreError>;
    /// The position index from `from_position` on.
    fn index_from(&self, from_position: u64) -> Self::Indexed;
    /// The record a position index entry points at (`None` when it is missing).
    fn read_index_entry(
        &self,
        position: u64,
        entry: Self::IndexEntry,
    ) -> Result<Option<RecordedEvent>, StoreError>;
    /// How many records are stored, whatever the position index says.
    fn record_count(&self) -> Result<u64, StoreError>;
    /// A record stored outside the position index, as an error naming it (`Ok` if none).
    fn find_unindexed_record(&self) -> Result<(), StoreError>;
    /// Every retraction mark, in the backend's order.
    fn marks(&self) -> Self::Marks;
    /// The backend's own checks at the end of a verify (sled: a salvaged copy's mark).
    fn verify_backend(&self, head: &Head) -> Result<(), StoreError>;
    /// Bytes on disk (0 for a backend with no disk).
    fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// Makes everything written so far durable in the backend's ordinary way.
    fn flush(&self) -> Result<(), StoreError>;
    /// Makes everything written so far durable as `durability` asks.
    fn make_durable(&self, durability: Durability) -> Result<(), StoreError>;

    /// An auxiliary value.
    fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes auxiliary values atomically (`None` removes).
    fn aux_write(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError>;
    /// Auxiliary entries whose key starts with `prefix`, in key order.
    fn aux_scan(&self, prefix: &[u8]) -> Self::AuxEntries;
    /// Auxiliary keys that start with `prefix` and are at least `from`, in key order.
    fn aux_keys_from(&self, prefix: &[u8], from: &[u8]) -> Self::AuxKeys;
    /// The key of the last auxiliary entry in `prefix..=last`.
    fn aux_last_key(&self, prefix: &[u8], last: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}
