//! The sled backend: the log in four sled trees of one sled database in a folder.
//!
//! **Invariant:** this module (with its `codec` and `migrate`) is the only code that knows
//! sled. Everything above it speaks of records, positions, places and marks through
//! [`Backend`].
//!
//! **Who may open it at once:** one process (sled's file lock on its `db` file); a second
//! open, from this process or another, is [`StoreError::Locked`]. Inside the process the
//! store's writer mutex serializes appends.
//!
//! # Layout (format 3)
//!
//! Four sled trees, whatever the number of dyads:
//!
//! - `log`: every record and its indexes, by key prefix (see `codec`):
//!   `r`+dyad+day+position -> record (a dyad's records are contiguous and in the order of its
//!   effective timeline), `p`+position -> a run of dyad+day entries (the rest of the record
//!   keys of that position and the next ones, one run per append), `I`+id -> position,
//!   `v`+dyad -> version, and `x`+dyad+day+position -> the position of the first retraction
//!   of the record there. A dyad is its two party codes (2 to 8 letters each) packed into 10
//!   bytes that sort as the codes do; days are days from 0001-01-01 with the sign bit flipped
//!   and all integers big-endian, so keys sort by dyad, date and number. The head is the last
//!   position of the last run, and its record.
//! - `meta`: the format version of the store.
//! - `aux`: the engine's projections, snapshots and checkpoints; those of 32 KiB or more are in
//!   `aux-large`, cut into pieces (see `aux`: sled reads and writes a leaf of up to 16
//!   entries whole, whatever their size).
//!
//! A store of format 1 (`L`+position -> record, a `D` dyad index and an `H` head) or of format
//! 2 (the keys of format 3 under upper-case prefixes, dyads as 7-byte text, one position key
//! per record) is migrated on open (see `migrate`).
//!
//! An append writes its records, their index entries, the retraction marks and the dyad
//! versions in one `apply_batch` on the `log` tree. A batch on one tree is atomic in sled 0.34
//! (also across a crash: recovery replays a batch whole or not at all), and it is cheaper than
//! a multi-tree transaction, which is why the indexes share the tree with the records instead
//! of having trees of their own.

mod aux;
pub(super) mod codec;
mod migrate;

pub use aux::{SledAuxEntries, SledAuxKeys};

use std::cmp::Ordering;
use std::ops::{Bound, RangeInclusive};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backend::{Backend, LogEnd, Sealed, StoredMark};
use super::{
    Durability, FORMAT_VERSION, Head, OpenMode, StoreConfig, StoreError, TimeKey, damaged,
    missing_record,
};
use crate::domain::{ChainHash, Dyad, EventId, RecordedEvent};
use codec::{
    RECORD_PREFIX, RETRACTED_PREFIX, RUN_ENTRY_LEN, RUN_MAX, VERSION_PREFIX, decode_place_key,
    decode_record, decode_record_of, decode_u64, dyad_of_version_key, dyad_range_prefix,
    encode_record, entry_in_run, id_key, last_of_run, peek_version, position_of_place_key,
    record_key, record_key_of, retracted_key, run_entry, run_key, stored_place, version_key,
};

const FORMAT_KEY: &[u8] = b"format_version";
const LOG_TREE: &[u8] = b"log";
const META_TREE: &[u8] = b"meta";
/// How long `open` retries a lock held by a store this process has just dropped (sled's
/// background threads may hold it a few milliseconds longer); a lock held by another process is
/// reported once this has passed.
const LOCK_RETRY: Duration = Duration::from_millis(300);
/// How long dropping a store waits for sled to release its file lock.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// The log in a sled database in a folder: the default backend, behind [`Store::open`].
///
/// One process may open it at once (sled's file lock): a second open is
/// [`StoreError::Locked`]. It is durable when flushed ([`Durability`]).
///
/// [`Store::open`]: super::Store::open
pub struct SledBackend {
    path: Arc<Path>,
    db: sled::Db,
    log: sled::Tree,
    aux: aux::AuxTrees,
    /// The format the store was migrated from by this open, if it was.
    migrated_from: Option<u32>,
    /// sled's data file, opened again (without a lock) to `fdatasync` it in
    /// [`Durability::Synced`].
    data_file: std::fs::File,
    /// The high-water mark found on open, checked against the head once the store has read it.
    mark: Option<HighWaterMark>,
    /// The high-water mark set aside by a salvage ([`SALVAGE_MARK_FILE`]): how far the
    /// store reached before the damage, which `verify` holds the log to.
    salvaged_from: Option<HighWaterMark>,
    /// Whether this open removed records (an unfinished import's roll-back): sled may then
    /// give back the end of its data file, even after the close, so the close leaves no
    /// length in the high-water mark for the next open to hold the file to.
    removed: std::sync::atomic::AtomicBool,
    /// Declared last, so it is dropped after every sled handle: it waits until sled has let go
    /// of the file lock, so that the store can be opened again as soon as this one is dropped.
    _release: ReleaseOnDrop,
}

impl Sealed for SledBackend {}

impl SledBackend {
    /// Opens (creating where absent, as `config.open` allows) the sled store at `path`: the
    /// checks before sled opens its files, sled's open, the format version and a migration
    /// of formats 1 and 2. The high-water mark is checked against the head in
    /// [`Backend::opened`].
    pub(super) fn open(path: &Path, config: &StoreConfig) -> Result<SledBackend, StoreError> {
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
                }
                if found <= 2 {
                    migrate::from_v2(path, &db, &meta, &log, mark.as_ref(), found)?;
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
        let aux = aux::AuxTrees::open(&db, Arc::from(path)).map_err(io)?;
        let data_file = std::fs::File::open(path.join("db")).map_err(|err| StoreError::Io {
            path: path.to_owned(),
            message: format!("cannot open sled's data file: {err}"),
        })?;
        Ok(SledBackend {
            path: Arc::from(path),
            db,
            log,
            aux,
            migrated_from,
            data_file,
            mark,
            salvaged_from,
            removed: std::sync::atomic::AtomicBool::new(false),
            _release: ReleaseOnDrop {
                lock_file: path.join("db"),
            },
        })
    }

    /// The format version this open migrated the store from, if it did.
    pub(super) fn migrated_from(&self) -> Option<u32> {
        self.migrated_from
    }

    fn io(&self, err: sled::Error) -> StoreError {
        io_error(&self.path, err)
    }

    fn index_fault(&self, reason: String) -> StoreError {
        super::index_fault(&self.path, reason)
    }

    /// The record that the position index entry `position` -> `place` points at.
    fn read_indexed(
        &self,
        position: u64,
        place: &[u8],
    ) -> Result<Option<RecordedEvent>, StoreError> {
        read_indexed_in(&self.path, &self.log, position, place)
    }

    /// The position index entry of `position` (its dyad and day), from the run that holds it.
    fn entry_at(&self, position: u64) -> Result<Option<[u8; RUN_ENTRY_LEN]>, StoreError> {
        entry_at_in(&self.path, &self.log, position)
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

    /// Changes one byte of the stored record at `position` (XOR `0xff`), behind the store's
    /// back.
    #[cfg(feature = "testing")]
    pub(super) fn tamper_record_byte(
        &self,
        position: u64,
        byte_index: usize,
    ) -> Result<(), StoreError> {
        let no_record =
            || self.index_fault(format!("no record at position {position} to tamper with"));
        let place = self.entry_at(position)?.ok_or_else(no_record)?;
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

    /// Sets or removes the retraction mark of the record of `dyad` at `at`, behind the
    /// store's back.
    #[cfg(feature = "testing")]
    pub(super) fn tamper_mark(
        &self,
        dyad: Dyad,
        at: TimeKey,
        mark: Option<u64>,
    ) -> Result<(), StoreError> {
        let key = retracted_key(dyad, at);
        match mark {
            Some(by) => self.log.insert(key, &by.to_be_bytes()).map(drop),
            None => self.log.remove(key).map(drop),
        }
        .map_err(|err| self.io(err))?;
        self.flush()
    }
}

/// A place in sled's key layout: the key of a record or of a retraction mark, ordered by
/// what follows the prefix byte (dyad, day, position), which is the timeline's order.
pub struct SledPlace(sled::IVec);

impl PartialEq for SledPlace {
    fn eq(&self, other: &Self) -> bool {
        self.0[1..] == other.0[1..]
    }
}

impl Eq for SledPlace {}

impl PartialOrd for SledPlace {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SledPlace {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0[1..].cmp(&other.0[1..])
    }
}

/// A range of the `log` tree, its sled errors named with the store's path.
pub struct SledEntries {
    iter: Option<sled::Iter>,
    path: Arc<Path>,
}

impl Iterator for SledEntries {
    type Item = Result<(sled::IVec, sled::IVec), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.iter.as_mut()?.next()?;
        Some(next.map_err(|err| io_error(&self.path, err)))
    }
}

/// A dyad's records in a range of its timeline, undecoded.
pub struct SledPlaced(SledEntries);

impl Iterator for SledPlaced {
    type Item = Result<(SledPlace, sled::IVec), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(|(key, value)| (SledPlace(key), value)))
    }
}

/// A dyad's retraction marks in a range of its timeline.
pub struct SledPlaces(SledEntries);

impl Iterator for SledPlaces {
    type Item = Result<SledPlace, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(|(key, _)| SledPlace(key)))
    }
}

/// The position index from a position on: each position with its entry (dyad and day), read
/// from the runs that hold them.
pub struct SledIndexed {
    runs: SledEntries,
    /// The run being read: its first position and its entries.
    run: Option<(u64, sled::IVec)>,
    /// The next position to give.
    next: u64,
}

impl Iterator for SledIndexed {
    type Item = Result<(u64, [u8; RUN_ENTRY_LEN]), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((first, run)) = &self.run {
                match entry_in_run(*first, run, self.next) {
                    Ok(Some(entry)) => {
                        let position = self.next;
                        self.next += 1;
                        return Some(Ok((position, entry)));
                    }
                    Ok(None) => self.run = None,
                    Err(reason) => {
                        self.run = None;
                        return Some(Err(super::index_fault(&self.runs.path, reason)));
                    }
                }
            }
            let (key, value) = match self.runs.next()? {
                Ok(entry) => entry,
                Err(err) => return Some(Err(err)),
            };
            let first = match decode_u64(&key[1..]) {
                Ok(first) => first,
                Err(reason) => return Some(Err(super::index_fault(&self.runs.path, reason))),
            };
            // A run that starts past the next position leaves a gap, which the store's checks
            // report: give its positions as they are.
            self.next = self.next.max(first);
            self.run = Some((first, value));
        }
    }
}

/// Every retraction mark, as stored.
pub struct SledMarks(SledEntries);

impl Iterator for SledMarks {
    type Item = Result<StoredMark, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(|(key, value)| StoredMark {
            position: position_of_place_key(&key).unwrap_or(0),
            place: decode_place_key(&key).ok(),
            by: decode_u64(&value).ok(),
        }))
    }
}

/// A dyad's records of some versions, found by their headers and sorted by version.
pub struct SledByVersion {
    found: std::vec::IntoIter<(u64, sled::IVec, sled::IVec)>,
    dyad: Dyad,
    failed: Option<StoreError>,
}

impl Iterator for SledByVersion {
    type Item = Result<RecordedEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.found.next() {
            Some((_, key, value)) => Some(decode_in_place(&key, &value, Some(self.dyad))),
            None => self.failed.take().map(Err),
        }
    }
}

impl SledBackend {
    fn entries(&self, iter: sled::Iter) -> SledEntries {
        SledEntries {
            iter: Some(iter),
            path: self.path.clone(),
        }
    }

    /// The bounds of a dyad's keys under `prefix` after `after` through `last`.
    fn place_range(
        prefix: u8,
        dyad: Dyad,
        after: Option<TimeKey>,
        last: TimeKey,
    ) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let start = match after {
            Some(at) => Bound::Excluded(place_key_vec(prefix, dyad, at)),
            None => Bound::Included(dyad_range_prefix(prefix, dyad).to_vec()),
        };
        (start, Bound::Included(place_key_vec(prefix, dyad, last)))
    }
}

/// One append's or restore's writes to the `log` tree: its keys, and the runs of the position
/// index of its records (consecutive positions), written into the batch by
/// [`Backend::write`].
#[derive(Default)]
pub struct SledBatch {
    batch: sled::Batch,
    /// Each run's first position and entries, in order.
    runs: Vec<(u64, Vec<u8>)>,
    /// The lowest position whose record a roll-back removes: the run holding it is cut
    /// there when the batch is written (runs starting at or after it are removed whole).
    cut_from: Option<u64>,
}

impl SledBatch {
    fn push_entry(&mut self, position: u64, entry: [u8; RUN_ENTRY_LEN]) {
        match self.runs.last_mut() {
            Some((first, entries))
                if entries.len() < RUN_MAX * RUN_ENTRY_LEN
                    && *first + (entries.len() / RUN_ENTRY_LEN) as u64 == position =>
            {
                entries.extend_from_slice(&entry);
            }
            _ => {
                let mut entries = Vec::with_capacity(RUN_ENTRY_LEN * 64);
                entries.extend_from_slice(&entry);
                self.runs.push((position, entries));
            }
        }
    }

    /// The batch for sled, the runs written into it.
    fn into_batch(self) -> sled::Batch {
        let mut batch = self.batch;
        for (first, entries) in self.runs {
            batch.insert(&run_key(first), entries);
        }
        batch
    }
}

impl Backend for SledBackend {
    type Batch = SledBatch;
    type Place = SledPlace;
    type Raw = sled::IVec;
    type Placed = SledPlaced;
    type Places = SledPlaces;
    type IndexEntry = [u8; RUN_ENTRY_LEN];
    type Indexed = SledIndexed;
    type Records = SledByVersion;
    type Marks = SledMarks;
    type AuxEntries = SledAuxEntries;
    type AuxKeys = SledAuxKeys;

    fn location(&self) -> &Path {
        &self.path
    }

    fn load_end(&self) -> Result<LogEnd, StoreError> {
        let path: &Path = &self.path;
        let log = &self.log;
        let io = |err: sled::Error| io_error(path, err);
        let last = log
            .range(run_key(0)..=run_key(u64::MAX))
            .next_back()
            .transpose()
            .map_err(io)?;
        let head = match last {
            Some((key, run)) => {
                let malformed = |reason: String| StoreError::Io {
                    path: path.to_owned(),
                    message: format!("a position index key is malformed: {reason}"),
                };
                let first = decode_u64(&key[1..]).map_err(malformed)?;
                let position = last_of_run(first, &run).map_err(malformed)?;
                let place = entry_in_run(first, &run, position)
                    .map_err(malformed)?
                    .ok_or_else(|| malformed(format!("the run at {first} has no last entry")))?;
                // The head is read from its record: one that is unreadable is damage, reported
                // as the high-water mark check would report it.
                match read_indexed_in(path, log, position, &place) {
                    Ok(Some(record)) => Some(record),
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
                }
            }
            None => None,
        };
        let mut versions = Vec::new();
        for entry in log.scan_prefix([VERSION_PREFIX]) {
            let (key, value) = entry.map_err(io)?;
            let malformed = |reason: String| StoreError::Io {
                path: path.to_owned(),
                message: format!("a dyad version entry is malformed: {reason}"),
            };
            let dyad = dyad_of_version_key(&key).map_err(malformed)?;
            let version = decode_u64(&value).map_err(malformed)?;
            versions.push((dyad, version));
        }
        Ok(LogEnd {
            last: head,
            versions,
        })
    }

    fn opened(&self, head: &Head) -> Result<(), StoreError> {
        if let Some(mark) = &self.mark {
            mark.check_log(&self.path, head, |position| self.record_at(position))?;
        }
        HighWaterMark::of(head, None).write(&self.path)
    }

    fn closing(&self, head: &Head) {
        // A clean close: flush, then leave the mark of what the store holds and how long its
        // data file is, so that the next open finds any loss. Errors are ignored: a missing
        // mark only makes the next open check less.
        if self.db.flush().is_err() {
            return;
        }
        let length = std::fs::metadata(self.path.join("db"))
            .map(|meta| meta.len())
            .ok()
            .filter(|_| !self.removed.load(std::sync::atomic::Ordering::Relaxed));
        let _ = HighWaterMark::of(head, length).write(&self.path);
    }

    fn stage_record(batch: &mut SledBatch, record: &RecordedEvent) {
        let at = TimeKey::of(record);
        batch
            .batch
            .insert(&record_key(record.dyad, at), encode_record(record));
        batch.push_entry(record.position, run_entry(record.dyad, record.occurred_on));
        batch
            .batch
            .insert(id_key(&record.id), &record.position.to_be_bytes());
    }

    fn stage_mark(batch: &mut SledBatch, dyad: Dyad, target: TimeKey, by: u64) {
        batch
            .batch
            .insert(&retracted_key(dyad, target), &by.to_be_bytes());
    }

    fn stage_version(batch: &mut SledBatch, dyad: Dyad, version: u64) {
        batch
            .batch
            .insert(&version_key(dyad), &version.to_be_bytes());
    }

    fn write(&self, mut batch: SledBatch) -> Result<(), StoreError> {
        if let Some(low) = batch.cut_from {
            self.removed
                .store(true, std::sync::atomic::Ordering::Relaxed);
            // A roll-back step may end inside a run of the position index: keep the run's
            // entries below the cut, so that the log stays a prefix after every step.
            let holding = self
                .log
                .range(run_key(0)..=run_key(low))
                .next_back()
                .transpose()
                .map_err(|err| self.io(err))?;
            if let Some((key, run)) = holding {
                let first = decode_u64(&key[1..]).map_err(|reason| self.index_fault(reason))?;
                if first < low {
                    let keep = ((low - first) as usize * RUN_ENTRY_LEN).min(run.len());
                    batch.batch.insert(&key, &run[..keep]);
                }
            }
        }
        self.log
            .apply_batch(batch.into_batch())
            .map_err(|err| self.io(err))
    }

    fn stage_removal(batch: &mut SledBatch, record: &RecordedEvent) {
        batch
            .batch
            .remove(&record_key(record.dyad, TimeKey::of(record)));
        // A run that starts here goes whole; one that starts below is cut by `write`.
        batch.batch.remove(&run_key(record.position));
        batch.batch.remove(id_key(&record.id));
        batch.cut_from = Some(
            batch
                .cut_from
                .map_or(record.position, |low| low.min(record.position)),
        );
    }

    fn stage_unmark(batch: &mut SledBatch, dyad: Dyad, target: TimeKey) {
        batch.batch.remove(&retracted_key(dyad, target));
    }

    fn stage_no_version(batch: &mut SledBatch, dyad: Dyad) {
        batch.batch.remove(&version_key(dyad));
    }

    fn stage_unfinished(batch: &mut SledBatch, since: Option<&Head>) {
        match since {
            Some(head) => batch.batch.insert(UNFINISHED_KEY, unfinished_value(head)),
            None => batch.batch.remove(UNFINISHED_KEY),
        }
    }

    fn unfinished(&self) -> Result<Option<Head>, StoreError> {
        match self.log.get(UNFINISHED_KEY).map_err(|err| self.io(err))? {
            Some(value) => decode_unfinished(&value)
                .map(Some)
                .map_err(|reason| self.index_fault(reason)),
            None => Ok(None),
        }
    }

    fn record_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        read_position_in(&self.path, &self.log, position)
    }

    fn position_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        match self.log.get(id_key(id)).map_err(|err| self.io(err))? {
            Some(value) => decode_u64(&value)
                .map(Some)
                .map_err(|reason| self.index_fault(reason)),
            None => Ok(None),
        }
    }

    fn holds_id(&self, id: &EventId) -> Result<bool, StoreError> {
        self.log
            .contains_key(id_key(id))
            .map_err(|err| self.io(err))
    }

    fn place_at(&self, position: u64) -> Result<Option<(Dyad, TimeKey)>, StoreError> {
        let Some(value) = self.entry_at(position)? else {
            return Ok(None);
        };
        let key = record_key_of(position, &value)
            .map_err(|reason| StoreError::Corrupt { position, reason })?;
        decode_place_key(&key)
            .map(Some)
            .map_err(|reason| StoreError::Corrupt { position, reason })
    }

    fn mark(&self, dyad: Dyad, at: TimeKey) -> Result<Option<u64>, StoreError> {
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

    fn is_marked(&self, dyad: Dyad, at: TimeKey) -> Result<bool, StoreError> {
        self.log
            .contains_key(retracted_key(dyad, at))
            .map_err(|err| self.io(err))
    }

    fn dyads(&self) -> Result<Vec<(Dyad, u64)>, StoreError> {
        let mut dyads = Vec::new();
        for entry in self.log.scan_prefix([VERSION_PREFIX]) {
            let (key, value) = entry.map_err(|err| self.io(err))?;
            let dyad = dyad_of_version_key(&key).map_err(|reason| self.index_fault(reason))?;
            let version = decode_u64(&value).map_err(|reason| self.index_fault(reason))?;
            dyads.push((dyad, version));
        }
        Ok(dyads)
    }

    fn dyad_versions(&self, dyad: Dyad, versions: RangeInclusive<u64>) -> SledByVersion {
        // The records are in the order of the dyad's timeline, not by version: scan the
        // dyad's records reading only their headers, keep those in `versions`, sort them by
        // version and decode them one by one.
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
        SledByVersion {
            found: found.into_iter(),
            dyad,
            failed,
        }
    }

    fn timeline_records(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> SledPlaced {
        let range = Self::place_range(RECORD_PREFIX, dyad, after, last);
        SledPlaced(self.entries(self.log.range(range)))
    }

    fn timeline_marks(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> SledPlaces {
        let range = Self::place_range(RETRACTED_PREFIX, dyad, after, last);
        SledPlaces(self.entries(self.log.range(range)))
    }

    fn decode(
        &self,
        dyad: Dyad,
        place: SledPlace,
        raw: sled::IVec,
    ) -> Result<RecordedEvent, StoreError> {
        decode_in_place(&place.0, &raw, Some(dyad))
    }

    fn index_from(&self, from_position: u64) -> SledIndexed {
        // From the run that holds `from_position` (the last that starts at or before it).
        let start = match self
            .log
            .range(run_key(0)..=run_key(from_position))
            .next_back()
        {
            Some(Ok((key, _))) => key.to_vec(),
            _ => run_key(from_position).to_vec(),
        };
        SledIndexed {
            runs: self.entries(self.log.range(start..=run_key(u64::MAX).to_vec())),
            run: None,
            next: from_position,
        }
    }

    fn read_index_entry(
        &self,
        position: u64,
        entry: [u8; RUN_ENTRY_LEN],
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.read_indexed(position, &entry)
    }

    fn record_count(&self) -> Result<u64, StoreError> {
        let mut records = 0u64;
        for entry in self.log.scan_prefix([RECORD_PREFIX]) {
            entry.map_err(|err| self.io(err))?;
            records += 1;
        }
        Ok(records)
    }

    fn find_unindexed_record(&self) -> Result<(), StoreError> {
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
        Ok(())
    }

    fn marks(&self) -> SledMarks {
        SledMarks(self.entries(self.log.scan_prefix([RETRACTED_PREFIX])))
    }

    fn verify_backend(&self, head: &Head) -> Result<(), StoreError> {
        match &self.salvaged_from {
            Some(before) => {
                before.check_salvaged(&self.path, head, |position| self.record_at(position))
            }
            None => Ok(()),
        }
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(|err| self.io(err))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(|err| self.io(err))?;
        Ok(())
    }

    fn make_durable(&self, durability: Durability) -> Result<(), StoreError> {
        match durability {
            Durability::Buffered => Ok(()),
            Durability::Flushed => self.flush(),
            Durability::Synced => {
                self.flush()?;
                let synced = self.data_file.sync_data().and_then(|()| self.sync_blobs());
                synced.map_err(|err| StoreError::Io {
                    path: self.path.to_path_buf(),
                    message: format!("fdatasync of sled's files failed: {err}"),
                })
            }
        }
    }

    fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.aux.get(key)
    }

    fn aux_write(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        self.aux.write(entries)
    }

    fn aux_scan(&self, prefix: &[u8]) -> SledAuxEntries {
        self.aux.scan(prefix)
    }

    fn aux_keys_from(&self, prefix: &[u8], from: &[u8]) -> SledAuxKeys {
        self.aux.keys_from(prefix, from)
    }

    fn aux_last_key(&self, prefix: &[u8], last: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.aux.last_key(prefix, last)
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
/// kept, and [`Store::verify`](super::Store::verify) reports it as [`StoreError::Salvaged`] while it holds less
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

/// The key of the mark of an unfinished import in the `log` tree (so that it is written in
/// the same `apply_batch` as the import's records): outside every prefix of the layout, which
/// are single upper-case letters, so that no scan of records or indexes meets it.
const UNFINISHED_KEY: &[u8] = b"~unfinished-import";

/// The mark's value: the head the import started from, its position (8 bytes, big-endian)
/// then its hash (32 bytes).
fn unfinished_value(head: &Head) -> Vec<u8> {
    let mut value = Vec::with_capacity(40);
    value.extend_from_slice(&head.position.to_be_bytes());
    value.extend_from_slice(&head.hash.0);
    value
}

fn decode_unfinished(value: &[u8]) -> Result<Head, String> {
    let (position, hash) = match (value.get(..8), value.get(8..)) {
        (Some(position), Some(hash)) if hash.len() == 32 => (position, hash),
        _ => {
            return Err(format!(
                "the mark of an unfinished import has {} bytes instead of 40",
                value.len()
            ));
        }
    };
    let position = decode_u64(position)?;
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(hash);
    Ok(Head {
        position,
        hash: ChainHash(bytes),
    })
}

fn place_key_vec(prefix: u8, dyad: Dyad, at: TimeKey) -> Vec<u8> {
    codec::place_key(prefix, dyad, at).to_vec()
}

/// The position index entry of `position`, from the run that holds it (`None` when no run
/// does).
fn entry_at_in(
    path: &Path,
    log: &sled::Tree,
    position: u64,
) -> Result<Option<[u8; RUN_ENTRY_LEN]>, StoreError> {
    let found = log
        .range(run_key(0)..=run_key(position))
        .next_back()
        .transpose()
        .map_err(|err| io_error(path, err))?;
    let Some((key, run)) = found else {
        return Ok(None);
    };
    let first = decode_u64(&key[1..]).map_err(|reason| StoreError::Corrupt { position, reason })?;
    entry_in_run(first, &run, position).map_err(|reason| StoreError::Corrupt { position, reason })
}

/// The record at `position` (`None` when the position index has no entry for it).
fn read_position_in(
    path: &Path,
    log: &sled::Tree,
    position: u64,
) -> Result<Option<RecordedEvent>, StoreError> {
    match entry_at_in(path, log, position)? {
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
    use crate::store::Store;

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
            matches!(&err, StoreError::NewerFormat { found: 4, supported: 3, path: p } if p == &path),
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
            let dyad: Dyad = "RUS-USA".parse().unwrap();
            let on = "2016-12-29".parse().unwrap();
            log.insert(run_key(1), run_entry(dyad, on).to_vec())
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
