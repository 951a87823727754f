//! Keeping the engine's caches current: the `BilateralState` folds and their snapshots, and
//! registered user projections. The effective timeline itself is the store's: a dyad's
//! records are kept in timeline order, retracted ones marked (`Store::read_timeline`).
//!
//! One rule decides how a dyad's folds move when records arrive: when none of them is a
//! retraction and all fall after the end of the dyad's effective timeline, they are applied
//! in `(occurred_on, position)` order; otherwise the dyad is re-folded from the nearest
//! snapshot before the earliest place that changed.

use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::keys::{self, TimeKey};
use super::{
    EngineError, Fold, Folds, Shared, Slot, StoredProjection, VerifyFailure, decode, encode,
};
use crate::domain::{BilateralState, Dyad, Event, Projection, ReadMode, RecordedEvent, evolve};

/// Writes to apply to the auxiliary space in one atomic batch; the last write to a key wins.
#[derive(Default)]
pub(crate) struct AuxBatch(BTreeMap<Vec<u8>, Option<Vec<u8>>>);

impl AuxBatch {
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.0.insert(key, Some(value));
    }
    pub fn remove(&mut self, key: Vec<u8>) {
        self.0.insert(key, None);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_entries(self) -> super::AuxEntries {
        self.0.into_iter().collect()
    }
}

/// How many events the in-memory folds may run ahead of their stored copies. Storing a
/// dyad's `BilateralState` costs O(its size), so it is not done on every append: the folds
/// are stored (with the checkpoint) once this many events have changed them, when the engine
/// is dropped, flushed or verified. After a crash, `catch_up` re-folds the dyads of at most
/// this many events from their snapshots.
const PERSIST_EVERY: u64 = 65_536;

/// A dyad touched by the records `maintain` is given. Its folds move by one rule: when none
/// of its records is a retraction and all fall after the end of its effective timeline, they
/// are applied in `(occurred_on, position)` order; otherwise it is re-folded from `earliest`.
struct Touched {
    /// Its records, as indices, in position order.
    records: Vec<usize>,
    /// The earliest place of its timeline they change.
    earliest: TimeKey,
    retracts: bool,
}

impl Shared {
    /// On open: checks the layout, then brings every cache up to the head of the log.
    pub(crate) fn catch_up(&self) -> Result<(), EngineError> {
        let layout = self.store.aux_get(keys::LAYOUT)?;
        let layout_ok = layout.as_deref() == Some(&keys::LAYOUT_VERSION.to_be_bytes()[..]);
        if !layout_ok {
            let mut batch = AuxBatch::default();
            // `t\0` is the timeline index of layout 1.
            for prefix in [&b"t\0"[..], b"s\0", b"v\0", b"f\0", b"p\0", b"c\0"] {
                for entry in self.store.aux_scan(prefix) {
                    batch.remove(entry?.0);
                }
            }
            batch.put(
                keys::LAYOUT.to_vec(),
                keys::LAYOUT_VERSION.to_be_bytes().to_vec(),
            );
            self.store.aux_put(batch.into_entries())?;
        }
        let checkpoint = self.checkpoint()?;
        let head = self.store.head().position;
        if checkpoint >= head {
            return Ok(());
        }
        // Re-fold every dyad the tail touches from its earliest change: exact whatever part of
        // the tail the caches had already seen before a crash.
        let mut from: BTreeMap<Dyad, TimeKey> = BTreeMap::new();
        for record in self.store.read_log(checkpoint + 1) {
            let record = record?;
            let earliest = self.earliest_change(&record)?;
            from.entry(record.dyad)
                .and_modify(|k| *k = (*k).min(earliest))
                .or_insert(earliest);
        }
        let mut folds = super::write(&self.folds);
        let mut batch = AuxBatch::default();
        for (dyad, key) in from {
            let fold = self.refold(dyad, key, &mut batch)?;
            self.persist_fold(dyad, &fold, &mut batch)?;
            folds.dyads.insert(dyad, fold);
        }
        batch.put(keys::CHECKPOINT.to_vec(), head.to_be_bytes().to_vec());
        self.store.aux_put(batch.into_entries())?;
        Ok(())
    }

    fn checkpoint(&self) -> Result<u64, EngineError> {
        match self.store.aux_get(keys::CHECKPOINT)? {
            None => Ok(0),
            Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                Ok(array) => Ok(u64::from_be_bytes(array)),
                Err(_) => Err(EngineError::BadCache {
                    what: "checkpoint".into(),
                    reason: format!("{} bytes instead of 8", bytes.len()),
                }),
            },
        }
    }

    /// The earliest place of its dyad's timeline that the stored `record` changed: its own,
    /// or for a retraction its target's, when that is earlier.
    pub(crate) fn earliest_change(&self, record: &RecordedEvent) -> Result<TimeKey, EngineError> {
        let key = TimeKey::of(record);
        if let Event::EventRetracted(retraction) = &record.event
            && let Some(target) = self.store.get(&retraction.target)?
            && target.dyad == record.dyad
        {
            return Ok(key.min(TimeKey::of(&target)));
        }
        Ok(key)
    }

    /// Brings every cache up to date after `records` (in position order) were appended.
    ///
    /// `folds` is the write guard the caller took before appending `records`, so that no
    /// query sees the new log through caches that do not know of it yet.
    pub(crate) fn maintain(
        &self,
        folds: &mut Folds,
        records: &[RecordedEvent],
    ) -> Result<(), EngineError> {
        let mut batch = AuxBatch::default();
        // Each touched dyad: its records (indices, in position order), the earliest place they
        // change, and whether one of them is a retraction.
        let mut touched: BTreeMap<Dyad, Touched> = BTreeMap::new();
        for (n, record) in records.iter().enumerate() {
            let key = self.earliest_change(record)?;
            let retracts = matches!(record.event, Event::EventRetracted(_));
            let dyad = touched.entry(record.dyad).or_insert_with(|| Touched {
                records: Vec::new(),
                earliest: key,
                retracts: false,
            });
            dyad.records.push(n);
            dyad.earliest = dyad.earliest.min(key);
            dyad.retracts |= retracts;
        }

        let mut refolds: BTreeMap<Dyad, TimeKey> = BTreeMap::new();
        let mut ladders = super::lock(&self.ladders);
        for (dyad, touched) in &touched {
            ladders.forget_from(*dyad, touched.earliest);
        }
        drop(ladders);
        for (&dyad, touched) in &touched {
            let from = touched.earliest;
            let fold = self.fold_of(folds, dyad)?;
            let at_the_end = !touched.retracts && fold.last.is_none_or(|last| from > last);
            let fold = if at_the_end {
                let mut mine: Vec<&RecordedEvent> =
                    touched.records.iter().map(|&n| &records[n]).collect();
                mine.sort_by_key(|record| TimeKey::of(record));
                let mut fold = std::mem::take(fold);
                for record in mine {
                    self.fold_forward(dyad, &mut fold, record, &mut batch)?;
                }
                fold
            } else {
                refolds.insert(dyad, from);
                self.refold(dyad, from, &mut batch)?
            };
            folds.dirty_events += touched.records.len() as u64;
            folds.dirty.insert(dyad);
            folds.dyads.insert(dyad, fold);
        }
        let head = records.last().map_or(0, |r| r.position);
        for slot in &mut folds.slots {
            slot.advance(self, records, &refolds)?;
            for (key, value) in slot.persist(head)? {
                match value {
                    Some(value) => batch.put(key, value),
                    None => batch.remove(key),
                }
            }
        }
        if folds.dirty_events >= PERSIST_EVERY {
            self.persist_dirty(folds, head, &mut batch)?;
        }
        if !batch.is_empty() {
            self.store.aux_put(batch.into_entries())?;
        }
        Ok(())
    }

    /// Brings every cache up to date after an import appended the records after position
    /// `after` (finished: they are the log's now), `touched` being each dyad's earliest change
    /// as the import gathered it while appending. Unlike [`Shared::maintain`], it holds no
    /// record of the import in memory but those of one dyad's fold at a time: each dyad is
    /// folded forward
    /// from its cached fold (when the import only added to the end of its timeline) or
    /// re-folded from the nearest state before that change, once, reading its timeline from
    /// the store. The caches never saw the import before it finished, so a rolled-back import
    /// leaves nothing in them.
    pub(crate) fn maintain_import(
        &self,
        folds: &mut Folds,
        after: u64,
        touched: super::import::Changes,
    ) -> Result<(), EngineError> {
        {
            let mut ladders = super::lock(&self.ladders);
            for (&dyad, &(earliest, _)) in &touched {
                ladders.forget_from(dyad, earliest);
            }
        }
        for (&dyad, &(earliest, retracts)) in &touched {
            let mut batch = AuxBatch::default();
            let cached = folds.dyads.remove(&dyad);
            let in_memory = cached.is_some();
            let fold = match cached {
                Some(mut fold) if !retracts && fold.last.is_none_or(|last| earliest > last) => {
                    let end = fold.last;
                    for record in self.timeline_after(dyad, end, None) {
                        self.fold_forward(dyad, &mut fold, &record?, &mut batch)?;
                    }
                    fold
                }
                _ => self.refold(dyad, earliest, &mut batch)?,
            };
            // Stored at once, with its snapshots, one dyad at a time: the folds of a large
            // import are never all in memory, nor all encoded at once. A fold the engine did
            // not hold before stays in the store only (loaded again on first use).
            self.persist_fold(dyad, &fold, &mut batch)?;
            folds.dirty.remove(&dyad);
            if in_memory {
                folds.dyads.insert(dyad, fold);
            } else {
                // Nor its rungs: they would fill the ladders' budget with the states of
                // dyads nobody asked about.
                super::lock(&self.ladders).forget_from(dyad, TimeKey::before_day(NaiveDate::MIN));
            }
            self.store.aux_put(batch.into_entries())?;
        }
        let head = self.store.head().position;
        let mut batch = AuxBatch::default();
        if !folds.slots.is_empty() {
            // Registered projections advance chunk by chunk; a per-dyad one replays each dyad
            // the chunk touches (the import may have changed its timeline anywhere).
            let every: BTreeMap<Dyad, TimeKey> = touched
                .iter()
                .map(|(&dyad, &(key, _))| (dyad, key))
                .collect();
            let mut chunk: Vec<RecordedEvent> = Vec::new();
            let mut records = self.store.read_log(after + 1).peekable();
            while records.peek().is_some() {
                chunk.clear();
                for record in records.by_ref().take(10_000) {
                    chunk.push(record?);
                }
                for slot in &mut folds.slots {
                    slot.advance(self, &chunk, &every)?;
                }
            }
            for slot in &mut folds.slots {
                for (key, value) in slot.persist(head)? {
                    match value {
                        Some(value) => batch.put(key, value),
                        None => batch.remove(key),
                    }
                }
            }
        }
        self.persist_dirty(folds, head, &mut batch)?;
        self.store.aux_put(batch.into_entries())?;
        Ok(())
    }

    /// Writes the fold of every dyad changed since the last call, and the checkpoint: the
    /// caches now include everything up to `head`.
    pub(crate) fn persist_dirty(
        &self,
        folds: &mut Folds,
        head: u64,
        batch: &mut AuxBatch,
    ) -> Result<(), EngineError> {
        for dyad in std::mem::take(&mut folds.dirty) {
            if let Some(fold) = folds.dyads.get(&dyad) {
                self.persist_fold(dyad, fold, batch)?;
            }
        }
        folds.dirty_events = 0;
        batch.put(keys::CHECKPOINT.to_vec(), head.to_be_bytes().to_vec());
        Ok(())
    }

    /// [`Shared::persist_dirty`] in a batch of its own, when anything is dirty.
    pub(crate) fn persist_now(&self, folds: &mut Folds) -> Result<(), EngineError> {
        if folds.dirty.is_empty() {
            return Ok(());
        }
        let mut batch = AuxBatch::default();
        self.persist_dirty(folds, self.store.head().position, &mut batch)?;
        self.store.aux_put(batch.into_entries())?;
        Ok(())
    }

    /// The dyad's `BilateralState` fold, loaded from the store on first use (and rebuilt
    /// when it is of another projection version).
    pub(crate) fn fold_of<'a>(
        &self,
        folds: &'a mut Folds,
        dyad: Dyad,
    ) -> Result<&'a mut Fold<BilateralState>, EngineError> {
        match folds.dyads.entry(dyad) {
            std::collections::hash_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let fold = match self.store.aux_get(&keys::fold(dyad))? {
                    Some(bytes) => {
                        let stored = keys::decode_fold(dyad, &bytes)?;
                        if stored.version == BilateralState::VERSION {
                            Fold {
                                value: stored.value,
                                last: stored.last.map(|(on, position)| TimeKey { on, position }),
                                since_snapshot: stored.since_snapshot,
                                since_rung: 0,
                                position: stored.position,
                            }
                        } else {
                            self.rebuild(dyad)?
                        }
                    }
                    None if self.store.dyad_version(dyad)? > 0 => self.rebuild(dyad)?,
                    None => Fold::default(),
                };
                Ok(entry.insert(fold))
            }
        }
    }

    /// Re-folds a dyad from scratch (all snapshots dropped) and stores the result.
    fn rebuild(&self, dyad: Dyad) -> Result<Fold<BilateralState>, EngineError> {
        let mut batch = AuxBatch::default();
        let start = TimeKey {
            on: NaiveDate::MIN,
            position: 0,
        };
        let fold = self.refold(dyad, start, &mut batch)?;
        self.persist_fold(dyad, &fold, &mut batch)?;
        self.store.aux_put(batch.into_entries())?;
        Ok(fold)
    }

    /// Re-folds a dyad's `BilateralState` from the nearest snapshot before `from`, dropping
    /// the snapshots at or after `from` and writing new ones along the way.
    fn refold(
        &self,
        dyad: Dyad,
        from: TimeKey,
        batch: &mut AuxBatch,
    ) -> Result<Fold<BilateralState>, EngineError> {
        // The stored snapshots at or after `from` are stale (only their keys are read), and
        // the fold starts from the last state at hand before it: a rung, or a stored snapshot.
        let snapshots = keys::snapshot_prefix(dyad);
        for key in self
            .store
            .aux_keys_from(&snapshots, &keys::with_time(&snapshots, from))
        {
            let key = key?;
            batch.remove(keys::snapshot_value(&key));
            batch.remove(key);
        }
        let mut fold = Fold::<BilateralState>::default();
        if let (value, Some(at)) = self.state_before(dyad, from)? {
            fold.position = value.position;
            fold.value = value;
            fold.last = Some(at);
        }
        for record in self.timeline_after(dyad, fold.last, None) {
            self.fold_forward(dyad, &mut fold, &record?, batch)?;
        }
        Ok(fold)
    }

    /// Folds `record`, the next of the dyad's timeline, into `fold`. Every `snapshot_every`
    /// events it writes a snapshot to `batch`; every `rung_every` it keeps the state as a rung
    /// of the dyad's ladder, so the ladder grows as the timeline does and an `as_of` on a dyad
    /// the engine has folded starts at most that many events before its date.
    fn fold_forward(
        &self,
        dyad: Dyad,
        fold: &mut Fold<BilateralState>,
        record: &RecordedEvent,
        batch: &mut AuxBatch,
    ) -> Result<(), EngineError> {
        let at = TimeKey::of(record);
        fold.value = evolve(std::mem::take(&mut fold.value), record);
        fold.last = Some(at);
        fold.position = fold.position.max(record.position);
        fold.since_snapshot += 1;
        if fold.since_snapshot >= self.config.snapshot_every.max(1) {
            self.put_snapshot(dyad, at, &fold.value, batch)?;
            fold.since_snapshot = 0;
        }
        let every = self.config.rung_every.max(1);
        fold.since_rung += 1;
        if fold.since_rung >= every {
            super::lock(&self.ladders).put(dyad, at, fold.value.clone(), every);
            fold.since_rung = 0;
        }
        Ok(())
    }

    fn put_snapshot(
        &self,
        dyad: Dyad,
        at: TimeKey,
        state: &BilateralState,
        batch: &mut AuxBatch,
    ) -> Result<(), EngineError> {
        let place = keys::with_time(&keys::snapshot_prefix(dyad), at);
        batch.put(keys::snapshot_value(&place), keys::encode_snapshot(state)?);
        batch.put(place, Vec::new());
        Ok(())
    }

    fn persist_fold(
        &self,
        dyad: Dyad,
        fold: &Fold<BilateralState>,
        batch: &mut AuxBatch,
    ) -> Result<(), EngineError> {
        let stored = keys::StoredFold {
            version: BilateralState::VERSION,
            position: fold.position,
            last: fold.last.map(|k| (k.on, k.position)),
            since_snapshot: fold.since_snapshot,
            value: &fold.value,
        };
        batch.put(keys::fold(dyad), keys::encode_fold(&stored)?);
        Ok(())
    }

    /// Folds a dyad into any projection, by its read mode.
    pub(crate) fn replay_dyad<P: Projection>(&self, dyad: Dyad) -> Result<P, EngineError> {
        let mut value = P::default();
        match P::MODE {
            ReadMode::RawLog => {
                for record in self.store.read_dyad(dyad, 1..=u64::MAX) {
                    value.apply(&record?);
                }
            }
            _ => {
                for record in self.timeline_after(dyad, None, None) {
                    value.apply(&record?);
                }
            }
        }
        Ok(value)
    }
}

/// The bytes of a stored projection ([`StoredProjection`]): its value is serialized in place,
/// not through a `serde_json::Value` (which would build a tree of the whole state first).
fn encode_stored<P: serde::Serialize>(
    fold: &Fold<P>,
    version: u32,
) -> Result<Vec<u8>, EngineError> {
    /// [`StoredProjection`] with a borrowed value: the same members, so it decodes as one.
    #[derive(serde::Serialize)]
    struct StoredRef<'a, P> {
        version: u32,
        position: u64,
        last: Option<(NaiveDate, u64)>,
        since_snapshot: u64,
        value: &'a P,
    }
    encode(&StoredRef {
        version,
        position: fold.position,
        last: fold.last.map(|k| (k.on, k.position)),
        since_snapshot: fold.since_snapshot,
        value: &fold.value,
    })
}

/// A registered user projection: per dyad along the effective timeline, or one raw-log value.
pub(crate) struct Registered<P> {
    per_dyad: HashMap<Dyad, Fold<P>>,
    raw: Fold<P>,
    dirty: HashSet<Dyad>,
}

impl<P: Projection> Registered<P> {
    /// Loads the stored values; those absent, of another version, or behind the log are
    /// rebuilt by replay.
    pub(crate) fn load(shared: &Shared) -> Result<Self, EngineError> {
        let head = shared.store.head().position;
        let mut slot = Registered {
            per_dyad: HashMap::new(),
            raw: Fold::default(),
            dirty: HashSet::new(),
        };
        let load = |dyad: Option<Dyad>| -> Result<Option<Fold<P>>, EngineError> {
            let Some(bytes) = shared.store.aux_get(&keys::projection(P::NAME, dyad))? else {
                return Ok(None);
            };
            let stored: StoredProjection = decode(&bytes, P::NAME)?;
            if stored.version != P::VERSION {
                return Ok(None);
            }
            let value =
                serde_json::from_value(stored.value).map_err(|err| EngineError::BadCache {
                    what: format!("stored projection {}", P::NAME),
                    reason: err.to_string(),
                })?;
            Ok(Some(Fold {
                value,
                last: None,
                since_snapshot: 0,
                since_rung: 0,
                position: stored.position,
            }))
        };
        match P::MODE {
            ReadMode::RawLog => {
                let mut fold = load(None)?.unwrap_or_default();
                for record in shared.store.read_log(fold.position + 1) {
                    let record = record?;
                    fold.value.apply(&record);
                    fold.position = record.position;
                }
                fold.position = head;
                slot.raw = fold;
            }
            _ => {
                for (dyad, version) in shared.store.dyads()? {
                    let last_position = match shared.store.read_dyad(dyad, version..=version).next()
                    {
                        Some(record) => record?.position,
                        None => 0,
                    };
                    let fold = match load(Some(dyad))? {
                        Some(fold) if fold.position == last_position => fold,
                        _ => {
                            slot.dirty.insert(dyad);
                            Fold {
                                value: shared.replay_dyad::<P>(dyad)?,
                                last: None,
                                since_snapshot: 0,
                                since_rung: 0,
                                position: last_position,
                            }
                        }
                    };
                    slot.per_dyad.insert(dyad, fold);
                }
            }
        }
        Ok(slot)
    }

    pub(crate) fn value(&self, dyad: Option<Dyad>) -> P {
        match (P::MODE, dyad) {
            (ReadMode::RawLog, _) | (_, None) => self.raw.value.clone(),
            (_, Some(dyad)) => self
                .per_dyad
                .get(&dyad)
                .map(|f| f.value.clone())
                .unwrap_or_default(),
        }
    }
}

impl<P: Projection> Slot for Registered<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn advance(
        &mut self,
        engine: &Shared,
        records: &[RecordedEvent],
        refold: &BTreeMap<Dyad, TimeKey>,
    ) -> Result<(), EngineError> {
        if P::MODE == ReadMode::RawLog {
            for record in records {
                self.raw.value.apply(record);
                self.raw.position = record.position;
            }
            return Ok(());
        }
        let mut by_dyad: BTreeMap<Dyad, Vec<&RecordedEvent>> = BTreeMap::new();
        for record in records {
            by_dyad.entry(record.dyad).or_default().push(record);
        }
        for (dyad, mut mine) in by_dyad {
            let position = mine.iter().map(|r| r.position).max().unwrap_or(0);
            let fold = self.per_dyad.entry(dyad).or_default();
            if refold.contains_key(&dyad) {
                fold.value = engine.replay_dyad::<P>(dyad)?;
            } else {
                mine.sort_by_key(|r| TimeKey::of(r));
                for record in mine {
                    fold.value.apply(record);
                }
            }
            fold.position = position;
            self.dirty.insert(dyad);
        }
        Ok(())
    }

    fn persist(&mut self, head: u64) -> Result<super::AuxEntries, EngineError> {
        let mut out = Vec::new();
        if P::MODE == ReadMode::RawLog {
            self.raw.position = head.max(self.raw.position);
            out.push((
                keys::projection(P::NAME, None),
                Some(encode_stored(&self.raw, P::VERSION)?),
            ));
            return Ok(out);
        }
        for dyad in std::mem::take(&mut self.dirty) {
            if let Some(fold) = self.per_dyad.get(&dyad) {
                out.push((
                    keys::projection(P::NAME, Some(dyad)),
                    Some(encode_stored(fold, P::VERSION)?),
                ));
            }
        }
        Ok(out)
    }

    fn verify(&self, engine: &Shared) -> Result<(), VerifyFailure> {
        let mismatch = |dyad: Option<Dyad>, reason: String| VerifyFailure::Projection {
            name: P::NAME.to_owned(),
            dyad,
            reason,
        };
        let check = |dyad: Option<Dyad>, expected: P| -> Result<(), VerifyFailure> {
            let bytes = engine
                .store
                .aux_get(&keys::projection(P::NAME, dyad))
                .map_err(|err| mismatch(dyad, err.to_string()))?
                .ok_or_else(|| mismatch(dyad, "it is not stored".into()))?;
            let stored: StoredProjection =
                decode(&bytes, P::NAME).map_err(|err| mismatch(dyad, err.to_string()))?;
            let expected =
                serde_json::to_value(&expected).map_err(|err| mismatch(dyad, err.to_string()))?;
            if stored.value != expected {
                return Err(mismatch(
                    dyad,
                    "the stored value differs from a replay of the log".into(),
                ));
            }
            Ok(())
        };
        if P::MODE == ReadMode::RawLog {
            let mut value = P::default();
            for record in engine.store.read_log(1) {
                value.apply(&record.map_err(|err| mismatch(None, err.to_string()))?);
            }
            return check(None, value);
        }
        for &dyad in self.per_dyad.keys() {
            let replayed = engine
                .replay_dyad::<P>(dyad)
                .map_err(|err| mismatch(Some(dyad), err.to_string()))?;
            check(Some(dyad), replayed)?;
        }
        Ok(())
    }
}
