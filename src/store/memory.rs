//! The in-memory backend: the log in ordered maps behind a mutex, for tests.
//!
//! **Who may open it at once:** one store. [`MemoryBackend`] is a handle on shared maps: a
//! clone is the same log, so a store dropped and opened again over a clone (a "reopen") finds
//! what was written, while the process lives. A second store opened over it while the first
//! lives is [`StoreError::Locked`], as on sled: each store keeps the head in its writer.
//! Nothing reaches a disk: every [`Durability`] is met on return, and the log is gone with the
//! last handle.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound, RangeInclusive};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::backend::{Backend, LogEnd, Sealed, StoredMark};
use super::{Durability, Head, StoreError, TimeKey, missing_record};
use crate::domain::{Dyad, EventId, RecordedEvent};

/// The log in memory, for tests: the same rules above it as above sled
/// ([`Store::in_memory`](super::Store::in_memory)).
///
/// A clone is a handle on the same log: open a [`Store`](super::Store) over a clone with
/// [`Store::with_backend`](super::Store::with_backend) after dropping the first, and it
/// reopens the log; while the first lives, that open is [`StoreError::Locked`]. Durable
/// never: the log lives as long as its handles.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    maps: Arc<Mutex<Maps>>,
}

#[derive(Debug, Default)]
struct Maps {
    records: BTreeMap<(Dyad, TimeKey), RecordedEvent>,
    positions: BTreeMap<u64, (Dyad, TimeKey)>,
    ids: HashMap<EventId, u64>,
    versions: BTreeMap<Dyad, u64>,
    marks: BTreeMap<(Dyad, TimeKey), u64>,
    aux: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The mark of an unfinished import ([`Backend::stage_unfinished`]).
    unfinished: Option<Head>,
    /// Whether a store has the log open.
    open: bool,
}

/// The staged writes of one append, restore or roll-back on the memory backend, in the order
/// they were staged (applied in that order, so that the last staging of a key wins).
#[derive(Debug, Default)]
pub struct MemoryBatch {
    ops: Vec<Op>,
}

#[derive(Debug)]
enum Op {
    Record(Box<RecordedEvent>),
    Mark(Dyad, TimeKey, u64),
    Version(Dyad, u64),
    Remove(Dyad, TimeKey, EventId),
    Unmark(Dyad, TimeKey),
    NoVersion(Dyad),
    Unfinished(Option<Head>),
}

/// A range of places of one dyad.
type PlaceRange = (Bound<(Dyad, TimeKey)>, Bound<(Dyad, TimeKey)>);

impl Sealed for MemoryBackend {}

impl MemoryBackend {
    /// A new, empty log.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::{MemoryBackend, Store, StoreConfig};
    ///
    /// let store = Store::with_backend(MemoryBackend::new(), StoreConfig::default())?;
    /// assert_eq!(store.stats()?.size_on_disk, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    fn maps(&self) -> MutexGuard<'_, Maps> {
        // Every write is applied whole under the lock, so a panic elsewhere leaves it
        // consistent.
        self.maps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn range(dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> PlaceRange {
    let start = match after {
        Some(at) => Bound::Excluded((dyad, at)),
        None => Bound::Included((dyad, TimeKey::before_day(chrono::NaiveDate::MIN))),
    };
    (start, Bound::Included((dyad, last)))
}

type Owned<T> = std::vec::IntoIter<Result<T, StoreError>>;

impl Backend for MemoryBackend {
    type Batch = MemoryBatch;
    type Place = TimeKey;
    type Raw = RecordedEvent;
    type Placed = Owned<(TimeKey, RecordedEvent)>;
    type Places = Owned<TimeKey>;
    type IndexEntry = (Dyad, TimeKey);
    type Indexed = Owned<(u64, (Dyad, TimeKey))>;
    type Records = Owned<RecordedEvent>;
    type Marks = Owned<StoredMark>;
    type AuxEntries = Owned<(Vec<u8>, Vec<u8>)>;
    type AuxKeys = Owned<Vec<u8>>;

    fn location(&self) -> &Path {
        Path::new(":memory:")
    }

    fn load_end(&self) -> Result<LogEnd, StoreError> {
        let maps = self.maps();
        let last = match maps.positions.last_key_value() {
            Some((&position, place)) => match maps.records.get(place) {
                Some(record) => Some(record.clone()),
                None => return Err(missing_record(position)),
            },
            None => None,
        };
        let versions = maps.versions.iter().map(|(&d, &v)| (d, v)).collect();
        Ok(LogEnd { last, versions })
    }

    fn opened(&self, _head: &Head) -> Result<(), StoreError> {
        let mut maps = self.maps();
        if maps.open {
            return Err(StoreError::Locked {
                path: self.location().to_owned(),
            });
        }
        maps.open = true;
        Ok(())
    }

    fn closing(&self, _head: &Head) {
        self.maps().open = false;
    }

    fn stage_record(batch: &mut MemoryBatch, record: &RecordedEvent) {
        batch.ops.push(Op::Record(Box::new(record.clone())));
    }

    fn stage_mark(batch: &mut MemoryBatch, dyad: Dyad, target: TimeKey, by: u64) {
        batch.ops.push(Op::Mark(dyad, target, by));
    }

    fn stage_version(batch: &mut MemoryBatch, dyad: Dyad, version: u64) {
        batch.ops.push(Op::Version(dyad, version));
    }

    fn write(&self, batch: MemoryBatch) -> Result<(), StoreError> {
        // Under one lock: a reader sees all of the batch or none of it.
        let mut maps = self.maps();
        for op in batch.ops {
            match op {
                Op::Record(record) => {
                    let record = *record;
                    let place = (record.dyad, TimeKey::of(&record));
                    maps.positions.insert(record.position, place);
                    maps.ids.insert(record.id.clone(), record.position);
                    maps.records.insert(place, record);
                }
                Op::Mark(dyad, at, by) => {
                    maps.marks.insert((dyad, at), by);
                }
                Op::Version(dyad, version) => {
                    maps.versions.insert(dyad, version);
                }
                Op::Remove(dyad, at, id) => {
                    maps.records.remove(&(dyad, at));
                    maps.positions.remove(&at.position);
                    maps.ids.remove(&id);
                }
                Op::Unmark(dyad, at) => {
                    maps.marks.remove(&(dyad, at));
                }
                Op::NoVersion(dyad) => {
                    maps.versions.remove(&dyad);
                }
                Op::Unfinished(since) => maps.unfinished = since,
            }
        }
        Ok(())
    }

    fn stage_removal(batch: &mut MemoryBatch, record: &RecordedEvent) {
        batch.ops.push(Op::Remove(
            record.dyad,
            TimeKey::of(record),
            record.id.clone(),
        ));
    }

    fn stage_unmark(batch: &mut MemoryBatch, dyad: Dyad, target: TimeKey) {
        batch.ops.push(Op::Unmark(dyad, target));
    }

    fn stage_no_version(batch: &mut MemoryBatch, dyad: Dyad) {
        batch.ops.push(Op::NoVersion(dyad));
    }

    fn stage_unfinished(batch: &mut MemoryBatch, since: Option<&Head>) {
        batch.ops.push(Op::Unfinished(since.copied()));
    }

    fn unfinished(&self) -> Result<Option<Head>, StoreError> {
        Ok(self.maps().unfinished)
    }

    fn record_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        let maps = self.maps();
        match maps.positions.get(&position) {
            Some(place) => match maps.records.get(place) {
                Some(record) => Ok(Some(record.clone())),
                None => Err(missing_record(position)),
            },
            None => Ok(None),
        }
    }

    fn position_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        Ok(self.maps().ids.get(id).copied())
    }

    fn holds_id(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.maps().ids.contains_key(id))
    }

    fn place_at(&self, position: u64) -> Result<Option<(Dyad, TimeKey)>, StoreError> {
        Ok(self.maps().positions.get(&position).copied())
    }

    fn mark(&self, dyad: Dyad, at: TimeKey) -> Result<Option<u64>, StoreError> {
        Ok(self.maps().marks.get(&(dyad, at)).copied())
    }

    fn is_marked(&self, dyad: Dyad, at: TimeKey) -> Result<bool, StoreError> {
        Ok(self.maps().marks.contains_key(&(dyad, at)))
    }

    fn dyads(&self) -> Result<Vec<(Dyad, u64)>, StoreError> {
        Ok(self.maps().versions.iter().map(|(&d, &v)| (d, v)).collect())
    }

    fn dyad_versions(&self, dyad: Dyad, versions: RangeInclusive<u64>) -> Self::Records {
        let maps = self.maps();
        let last = TimeKey {
            on: chrono::NaiveDate::MAX,
            position: u64::MAX,
        };
        let mut found: Vec<RecordedEvent> = maps
            .records
            .range(range(dyad, None, last))
            .map(|(_, record)| record)
            .filter(|record| versions.contains(&record.version))
            .cloned()
            .collect();
        found.sort_unstable_by_key(|record| record.version);
        found.into_iter().map(Ok).collect::<Vec<_>>().into_iter()
    }

    fn timeline_records(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Placed {
        let maps = self.maps();
        let records: Vec<_> = maps
            .records
            .range(range(dyad, after, last))
            .map(|(&(_, at), record)| Ok((at, record.clone())))
            .collect();
        records.into_iter()
    }

    fn timeline_marks(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Places {
        let maps = self.maps();
        let marks: Vec<_> = maps
            .marks
            .range(range(dyad, after, last))
            .map(|(&(_, at), _)| Ok(at))
            .collect();
        marks.into_iter()
    }

    fn decode(
        &self,
        _dyad: Dyad,
        _place: TimeKey,
        raw: RecordedEvent,
    ) -> Result<RecordedEvent, StoreError> {
        Ok(raw)
    }

    fn index_from(&self, from_position: u64) -> Self::Indexed {
        let maps = self.maps();
        let entries: Vec<_> = maps
            .positions
            .range(from_position..)
            .map(|(&position, &place)| Ok((position, place)))
            .collect();
        entries.into_iter()
    }

    fn read_index_entry(
        &self,
        _position: u64,
        entry: (Dyad, TimeKey),
    ) -> Result<Option<RecordedEvent>, StoreError> {
        Ok(self.maps().records.get(&entry).cloned())
    }

    fn record_count(&self) -> Result<u64, StoreError> {
        Ok(self.maps().records.len() as u64)
    }

    fn find_unindexed_record(&self) -> Result<(), StoreError> {
        let maps = self.maps();
        for &(dyad, at) in maps.records.keys() {
            if maps.positions.get(&at.position) != Some(&(dyad, at)) {
                return Err(StoreError::Corrupt {
                    position: at.position,
                    reason: format!(
                        "a record of dyad {dyad} on {} is stored where the position index does not point",
                        at.on
                    ),
                });
            }
        }
        Ok(())
    }

    fn marks(&self) -> Self::Marks {
        let maps = self.maps();
        let marks: Vec<_> = maps
            .marks
            .iter()
            .map(|(&(dyad, at), &by)| {
                Ok(StoredMark {
                    position: at.position,
                    place: Some((dyad, at)),
                    by: Some(by),
                })
            })
            .collect();
        marks.into_iter()
    }

    fn verify_backend(&self, _head: &Head) -> Result<(), StoreError> {
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn make_durable(&self, _durability: Durability) -> Result<(), StoreError> {
        Ok(())
    }

    fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.maps().aux.get(key).cloned())
    }

    fn aux_write(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let mut maps = self.maps();
        for (key, value) in entries {
            match value {
                Some(value) => maps.aux.insert(key, value),
                None => maps.aux.remove(&key),
            };
        }
        Ok(())
    }

    fn aux_scan(&self, prefix: &[u8]) -> Self::AuxEntries {
        let maps = self.maps();
        let entries: Vec<_> = maps
            .aux
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, value)| Ok((key.clone(), value.clone())))
            .collect();
        entries.into_iter()
    }

    fn aux_keys_from(&self, prefix: &[u8], from: &[u8]) -> Self::AuxKeys {
        let maps = self.maps();
        let keys: Vec<_> = maps
            .aux
            .range::<[u8], _>((Bound::Included(from.max(prefix)), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| Ok(key.clone()))
            .collect();
        keys.into_iter()
    }

    fn aux_last_key(&self, prefix: &[u8], last: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if last < prefix {
            return Ok(None);
        }
        let maps = self.maps();
        Ok(maps
            .aux
            .range::<[u8], _>((Bound::Included(prefix), Bound::Included(last)))
            .next_back()
            .map(|(key, _)| key.clone()))
    }
}
