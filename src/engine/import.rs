//! The streamed import (`Engine::import`): inputs appended in chunks under the mark of an
//! unfinished import, each touched dyad checked from its log read back, then the commit and
//! the caches; what it returns ([`Imported`], [`ImportError`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, Utc};

use super::record::Warning;
use super::{EngineError, Shared, lock, write};
use crate::domain::{Dyad, Event, EventId, NewEvent, RecordedEvent};

/// How many new events an import appends per write: the memory an import holds for its
/// input, whatever the size of the file.
const IMPORT_CHUNK: usize = 10_000;

/// What [`Engine::import`](super::Engine::import) returns: a summary, not a result per input,
/// so that an import of millions of events holds none of them once they are stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Imported {
    /// How many new events were stored.
    pub recorded: u64,
    /// How many inputs were already stored with the same content (or repeat an earlier
    /// input of the import): nothing was stored for them.
    pub already_present: u64,
    /// What to look at, by input index, in index order: likely duplicates, and retractions
    /// that leave events without effect.
    pub warnings: Vec<Warning>,
    /// The head of the log once the import finished.
    pub head: super::Head,
    /// How long the import took, from the call to its return.
    pub duration: std::time::Duration,
    /// How many new events were stored without `reported_on`, which defaulted to the day
    /// of recording.
    pub reported_on_defaulted: u64,
    /// That day (the last one, should the import run past midnight UTC).
    pub recorded_on: Option<NaiveDate>,
}

impl Imported {
    /// The indices of the inputs reported as likely duplicates, in order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Imported;
    ///
    /// assert_eq!(Imported::default().possible_duplicates().count(), 0);
    /// ```
    pub fn possible_duplicates(&self) -> impl Iterator<Item = usize> + '_ {
        self.warnings
            .iter()
            .filter(|warning| matches!(warning, Warning::LikelyDuplicate { .. }))
            .map(Warning::index)
    }
}

/// Why [`Engine::import`](super::Engine::import) stored nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError<E> {
    /// The input iterator gave an error for the input at `index` (from 0): a line that does
    /// not parse, say. It is returned as it came.
    #[error("input {} cannot be read: {error}; nothing was imported", .index + 1)]
    Input {
        /// Its index, from 0.
        index: usize,
        /// The iterator's error.
        error: E,
    },
    /// The engine refused the import ([`EngineError::Rejected`] and
    /// [`EngineError::IdConflict`] name the lowest failing input by its index) or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Which input each appended position came from: the positions and indices where the two
/// stop moving together (an input already stored or refused is not appended), so that it
/// holds one entry per gap, not one per input.
#[derive(Default)]
struct Numbering {
    starts: Vec<(u64, usize)>,
}

impl Numbering {
    fn assign(&mut self, position: u64, index: usize) {
        let continues = self.starts.last().is_some_and(|&(first, first_index)| {
            index.checked_sub(first_index) == Some((position - first) as usize)
        });
        if !continues {
            self.starts.push((position, index));
        }
    }

    fn index_of(&self, position: u64) -> usize {
        let at = self.starts.partition_point(|&(first, _)| first <= position);
        match at.checked_sub(1).and_then(|at| self.starts.get(at)) {
            Some(&(first, index)) => index + (position - first) as usize,
            None => 0,
        }
    }
}

impl super::Engine {
    /// Imports a stream of new events, all or nothing, in memory bounded by the states being
    /// folded rather than by the number of inputs (`docs/contract.md`, import at scale).
    ///
    /// Each input is checked as
    /// [`Engine::record_batch_with_warnings`](super::Engine::record_batch_with_warnings) checks
    /// a batch as a whole: the order of the inputs does not matter as long as the effective
    /// timeline that includes all of them is valid, and the lowest failing input is named by its
    /// index (from 0, counting every item of `inputs`). An input whose id is stored with the
    /// same content, or repeats an earlier input, is counted as already present.
    ///
    /// How: the new events are appended in chunks of 10,000 under the mark of an unfinished
    /// import ([`Store::append_unfinished`](crate::store::Store::append_unfinished)), each
    /// chunk one atomic write; then every dyad they touch is checked, one dyad at a
    /// time, from its log read back from the store; then the mark is removed in one write,
    /// flushed as [`Config::durability`](super::Config::durability) says, and the caches are
    /// brought up to date. On a refusal or an error (also one from `inputs`) the log is
    /// rolled back to where it was; after a kill at any moment, the next open rolls it back
    /// ([`Store::rolled_back_on_open`](crate::store::Store::rolled_back_on_open)), so that
    /// the store holds none of the new events or all of them, and running the import again
    /// completes it.
    ///
    /// The engine's writer lock and the write lock of its caches are held throughout: other
    /// records and the engine's queries (`state`, `query`, `history`, `diff`, projections)
    /// wait until the import has finished or been rolled back, and
    /// [`Engine::head`](super::Engine::head) and [`Engine::log`](super::Engine::log) stop at the
    /// head the import started from until it finishes. Only [`Engine::get`](super::Engine::get),
    /// [`Engine::stream`](super::Engine::stream) and [`Engine::dyads`](super::Engine::dyads) read
    /// the store as it is meanwhile.
    ///
    /// ```
    /// # use detente::engine::{Engine, EngineError, ImportError};
    /// use detente::domain::NewEvent;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let inputs = detente::scenario::istanbul_2025();
    /// let count = inputs.len() as u64;
    /// let imported = engine.import(inputs.clone().into_iter().map(Ok::<_, std::io::Error>))?;
    /// assert_eq!((imported.recorded, imported.head.position), (count, count));
    ///
    /// // Again: nothing new.
    /// let again = engine.import(inputs.into_iter().map(Ok::<_, std::io::Error>))?;
    /// assert_eq!((again.recorded, again.already_present), (0, count));
    ///
    /// // An orphan transition on the second input: refused by its index, nothing stored.
    /// let fine: NewEvent = serde_json::from_str(r#"{"dyad": "ARM-AZE", "occurred_on": "2025-03-01",
    ///     "event": {"type": "DiplomatsExpelled", "expelled_by": "ARM", "count": 2}}"#)?;
    /// let orphan: NewEvent = serde_json::from_str(r#"{"dyad": "ARM-AZE", "occurred_on": "2025-03-01",
    ///     "event": {"type": "StepProgressed", "step": "never-agreed", "stage": "implemented"}}"#)?;
    /// let err = engine.import([Ok::<_, std::io::Error>(fine), Ok(orphan)]).unwrap_err();
    /// assert!(matches!(err, ImportError::Engine(EngineError::Rejected { index: 1, .. })));
    /// assert_eq!(engine.head().position, count);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn import<E>(
        &self,
        inputs: impl IntoIterator<Item = Result<NewEvent, E>>,
    ) -> Result<Imported, ImportError<E>> {
        self.import_in_chunks(inputs, IMPORT_CHUNK)
    }

    /// Test-only: [`Engine::import`](super::Engine::import) in chunks of `chunk` events, so
    /// that a small input crosses chunks.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn import_in_chunks_for_tests<E>(
        &self,
        inputs: impl IntoIterator<Item = Result<NewEvent, E>>,
        chunk: usize,
    ) -> Result<Imported, ImportError<E>> {
        self.import_in_chunks(inputs, chunk.max(1))
    }

    fn import_in_chunks<E>(
        &self,
        inputs: impl IntoIterator<Item = Result<NewEvent, E>>,
        chunk: usize,
    ) -> Result<Imported, ImportError<E>> {
        let shared = &self.shared;
        let started = std::time::Instant::now();
        if shared.store.is_shared() {
            return self.import_in_one_transaction(inputs, started);
        }
        let _writer = lock(&shared.writer);
        // Queries wait until the import has finished and the caches know of it, or it has
        // been rolled back: none answers from a half-imported log.
        let mut folds = write(&shared.folds);
        let before = shared.store.head().position;
        let (mut imported, changes) = match shared.import_checked(inputs, before, chunk) {
            Ok(checked) => checked,
            Err(err) => {
                shared.store.abandon_import().map_err(EngineError::from)?;
                return Err(err);
            }
        };
        let head = match shared.store.finish_import() {
            Ok(head) => head,
            Err(err) => {
                shared.store.abandon_import().map_err(EngineError::from)?;
                return Err(EngineError::from(err).into());
            }
        };
        if head.position > before {
            shared.maintain_import(&mut folds, before, changes)?;
            shared.publish_head(head.position);
        }
        drop(folds);
        imported.head = head;
        imported.duration = started.elapsed();
        Ok(imported)
    }
}

impl super::Engine {
    /// [`Engine::import`](super::Engine::import) on a log that other processes share
    /// (PostgreSQL): an unfinished import's roll-back there could remove their records, so the
    /// inputs are checked as one batch and appended in one transaction, which the server
    /// makes all or nothing across a crash. Memory then holds the whole input.
    fn import_in_one_transaction<E>(
        &self,
        inputs: impl IntoIterator<Item = Result<NewEvent, E>>,
        started: std::time::Instant,
    ) -> Result<Imported, ImportError<E>> {
        let events = inputs
            .into_iter()
            .enumerate()
            .map(|(index, input)| input.map_err(|error| ImportError::Input { index, error }))
            .collect::<Result<Vec<NewEvent>, _>>()?;
        let undated: Vec<bool> = events.iter().map(|e| e.reported_on.is_none()).collect();
        let recorded = self.record_batch_with_warnings(events)?;
        let mut imported = Imported {
            warnings: recorded.warnings,
            ..Imported::default()
        };
        for (appended, undated) in recorded.appended.iter().zip(undated) {
            if !appended.stored {
                imported.already_present += 1;
                continue;
            }
            imported.recorded += 1;
            if undated {
                imported.reported_on_defaulted += 1;
                imported.recorded_on = Some(appended.record.reported_on);
            }
        }
        imported.head = self.head();
        imported.duration = started.elapsed();
        Ok(imported)
    }
}

impl Shared {
    /// The import's appends and checks, under the engine's locks (`start`: the head before
    /// it). On `Err`, the caller rolls the log back.
    fn import_checked<E>(
        &self,
        inputs: impl IntoIterator<Item = Result<NewEvent, E>>,
        start: u64,
        chunk_size: usize,
    ) -> Result<(Imported, Changes), ImportError<E>> {
        let now = Utc::now();
        let today = now.date_naive();
        let latest_known = today.succ_opt().unwrap_or(today);
        // The lowest failing input (`failure`): inputs come in index order, so the first refused
        // on its own is the lowest of those; the chunks' appends and the dyads' checks may find
        // a lower one.
        let mut progress = Progress {
            start,
            now,
            numbering: Numbering::default(),
            failure: None,
            imported: Imported::default(),
            changes: Changes::new(),
        };
        // The inputs of the chunk being gathered and their indices. Whether an input's id is
        // stored already is the store's to say as it appends (one lookup of the id per input,
        // not two): an input stored with the same content is counted as already present, one
        // with other content is refused by `append_chunk`.
        let mut chunk = Chunk {
            inputs: Vec::with_capacity(chunk_size),
            indices: Vec::with_capacity(chunk_size),
        };
        for (index, input) in inputs.into_iter().enumerate() {
            let input = input.map_err(|error| ImportError::Input { index, error })?;
            let mut refuse = |err: EngineError| {
                if progress.failure.is_none() {
                    progress.failure = Some((index, err));
                }
            };
            if let Err(limit) = crate::domain::limits::check_limits(&input) {
                refuse(EngineError::Rejected {
                    index,
                    id: input.effective_id(),
                    rejection: limit.into(),
                });
                continue;
            }
            if input.reported_on.is_some_and(|on| on > latest_known) {
                let candidate = input.clone().into_recorded(0, 0, today, now);
                if let Err(rejection) = crate::domain::check_known_by_recording(&candidate, today) {
                    refuse(EngineError::Rejected {
                        index,
                        id: input.effective_id(),
                        rejection,
                    });
                    continue;
                }
            }
            chunk.inputs.push(input);
            chunk.indices.push(index);
            if chunk.inputs.len() >= chunk_size {
                self.append_chunk(&mut chunk, &mut progress)?;
            }
        }
        self.append_chunk(&mut chunk, &mut progress)?;
        let Progress {
            numbering,
            mut failure,
            mut imported,
            changes,
            ..
        } = progress;
        // Every dyad the import touched, and every dyad that continues one, one at a time,
        // from its log read back (with the records of the dyads it continues, read in it): the
        // checks of a batch as a whole over its stored history and its new events.
        let mut checked_dyads: std::collections::BTreeSet<Dyad> = changes.keys().copied().collect();
        for dyad in changes.keys() {
            checked_dyads.extend(dyad.continued_by());
        }
        for dyad in checked_dyads {
            let log = match self.continued_log(dyad)? {
                Some(log) => log,
                None => self.dyad_log(dyad)?,
            };
            let split = log.partition_point(|record| record.position <= start);
            if split == log.len() {
                continue;
            }
            let history: Vec<&RecordedEvent> = log[..split].iter().collect();
            let batch: Vec<&RecordedEvent> = log[split..].iter().collect();
            match crate::domain::check_batch_of(&history, &batch) {
                Err((at, rejection)) => {
                    let index = numbering.index_of(batch[at].position);
                    if failure.as_ref().is_none_or(|(lowest, _)| index < *lowest) {
                        let id = batch[at].id.clone();
                        failure = Some((
                            index,
                            EngineError::Rejected {
                                index,
                                id,
                                rejection,
                            },
                        ));
                    }
                }
                Ok(checked) => {
                    for (at, events) in checked.left_without_effect {
                        imported.warnings.push(Warning::LeavesWithoutEffect {
                            index: numbering.index_of(batch[at].position),
                            id: batch[at].id.clone(),
                            events,
                        });
                    }
                }
            }
            likely_duplicates(&log, start, &numbering, &mut imported.warnings);
        }
        if let Some((_, err)) = failure {
            return Err(err.into());
        }
        imported.warnings.sort_by_key(Warning::index);
        // A record in a succession is checked in more than one timeline: one warning of each.
        imported.warnings.dedup();
        Ok((imported, changes))
    }

    /// Appends the chunk (emptying it) under the mark of an unfinished import, flushed: not for
    /// durability (until the commit, a kill rolls the chunks back whatever they reached), but
    /// so that sled holds no more than a chunk of unflushed writes in memory. An input whose id
    /// is stored (or earlier in the chunk) with other content is refused, as the lowest
    /// failure if it is, and the rest of the chunk appended without it, so that the dyads'
    /// checks still see every other input.
    fn append_chunk(&self, chunk: &mut Chunk, progress: &mut Progress) -> Result<(), EngineError> {
        let Progress {
            start,
            now,
            numbering,
            failure,
            imported,
            changes,
        } = progress;
        let start = *start;
        let options = crate::store::AppendOptions {
            expected: HashMap::new(),
            durability: crate::store::Durability::Flushed,
        };
        while !chunk.inputs.is_empty() {
            // A copy for the store, so that the chunk is at hand again after a refusal.
            let appended = match self.store.append_unfinished(chunk.inputs.clone(), &options) {
                Ok(appended) => appended,
                Err(crate::store::StoreError::IdConflict { id, position }) => {
                    let at = chunk.conflicting(&id, self.store.get(&id)?, *now)?;
                    let index = chunk.indices[at];
                    if failure.as_ref().is_none_or(|(lowest, _)| index < *lowest) {
                        // 0: the other is an earlier input of this import.
                        let position = if position > start { 0 } else { position };
                        *failure = Some((
                            index,
                            EngineError::IdConflict {
                                index,
                                id,
                                position,
                            },
                        ));
                    }
                    chunk.inputs.remove(at);
                    chunk.indices.remove(at);
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            for ((appended, input), &index) in
                appended.iter().zip(&chunk.inputs).zip(&chunk.indices)
            {
                if !appended.stored {
                    imported.already_present += 1;
                    continue;
                }
                numbering.assign(appended.record.position, index);
                let record = &appended.record;
                let key = self.earliest_change(record)?;
                let change = changes.entry(record.dyad).or_insert((key, false));
                change.0 = change.0.min(key);
                change.1 |= matches!(record.event, crate::domain::Event::EventRetracted(_));
                imported.recorded += 1;
                if input.reported_on.is_none() {
                    imported.reported_on_defaulted += 1;
                    imported.recorded_on = Some(appended.record.reported_on);
                }
            }
            chunk.inputs.clear();
            chunk.indices.clear();
        }
        Ok(())
    }
}

/// Each dyad an import appended records to: the earliest place of its timeline they change
/// (a retraction's target's, where earlier) and whether one of them is a retraction, gathered
/// as the chunks are appended, so that the caches are brought up to date without reading the
/// import's records back once more.
pub(crate) type Changes = std::collections::BTreeMap<Dyad, (super::keys::TimeKey, bool)>;

/// What an import has found so far, as its chunks are appended.
struct Progress {
    /// The head before the import.
    start: u64,
    /// When the import started: the recording time its checks assume.
    now: chrono::DateTime<Utc>,
    numbering: Numbering,
    /// The lowest failing input so far.
    failure: Option<(usize, EngineError)>,
    imported: Imported,
    changes: Changes,
}

/// The inputs of an import gathered for one append, with their indices among all inputs.
struct Chunk {
    inputs: Vec<NewEvent>,
    indices: Vec<usize>,
}

impl Chunk {
    /// Which input the store refused for `id` having other content: the first of the chunk
    /// with that id whose content differs from the stored record (`stored`) or, with none
    /// stored, from the chunk's first input of that id.
    fn conflicting(
        &self,
        id: &EventId,
        stored: Option<RecordedEvent>,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, EngineError> {
        let mut with_id = self
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, input)| input.effective_id() == *id);
        let reference = match stored {
            Some(record) => record,
            None => match with_id.next() {
                Some((_, first)) => first.clone().into_recorded(0, 0, now.date_naive(), now),
                None => return Err(conflict_not_found(id)),
            },
        };
        with_id
            .find(|(_, input)| !input.matches(&reference))
            .map(|(at, _)| at)
            .ok_or_else(|| conflict_not_found(id))
    }
}

/// The store refused an id that no input of the chunk has with other content: a store that
/// contradicts itself.
fn conflict_not_found(id: &EventId) -> EngineError {
    EngineError::BadCache {
        what: "import".into(),
        reason: format!(
            "the store refused `{id}` as stored with other content, but no input of the chunk differs from it; run `detente verify`"
        ),
    }
}

/// The likely duplicates among the new records of a dyad's `log` (those after `start`), as
/// the record path finds them (`docs/contract.md`, checking a new event): another record of
/// the dyad with the same `occurred_on`, type and payload and another id, stored before the
/// import or on an earlier input of it (the earlier input preferred), neither a retraction nor
/// retracted in the log.
fn likely_duplicates(
    log: &[RecordedEvent],
    start: u64,
    numbering: &Numbering,
    warnings: &mut Vec<Warning>,
) {
    let retraction = |record: &RecordedEvent| matches!(record.event, Event::EventRetracted(_));
    let retracted: std::collections::HashSet<&EventId> = log
        .iter()
        .filter_map(|record| match &record.event {
            Event::EventRetracted(retraction) => Some(&retraction.target),
            _ => None,
        })
        .collect();
    let mut by_day: BTreeMap<NaiveDate, Vec<&RecordedEvent>> = BTreeMap::new();
    for record in log {
        if !retraction(record) && !retracted.contains(&record.id) {
            by_day.entry(record.occurred_on).or_default().push(record);
        }
    }
    for record in log.iter().filter(|record| record.position > start) {
        if retraction(record) {
            continue;
        }
        let Some(day) = by_day.get(&record.occurred_on) else {
            continue;
        };
        let same = |other: &&&RecordedEvent| other.id != record.id && other.event == record.event;
        let earlier_input = day
            .iter()
            .filter(|other| other.position > start && other.position < record.position)
            .filter(same)
            .min_by_key(|other| other.position);
        let stored = || {
            day.iter()
                .filter(|other| other.position <= start)
                .filter(same)
                .min_by_key(|other| other.position)
        };
        let (of, position) = match earlier_input {
            Some(other) => (other.id.clone(), 0),
            None => match stored() {
                Some(other) => (other.id.clone(), other.position),
                None => continue,
            },
        };
        warnings.push(Warning::LikelyDuplicate {
            index: numbering.index_of(record.position),
            id: record.id.clone(),
            of,
            position,
        });
    }
}
