//! The record path: how new facts are checked against the state they would join and
//! planned into one append (`Shared::plan`), how a restore is checked before anything is
//! stored (`Shared::check_restore`), and what recording returns ([`Recorded`], [`Restored`],
//! [`Warning`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, Utc};

use super::keys::TimeKey;
use super::{Appended, EngineError, Shared, lock, read, write};
use crate::domain::{
    BilateralState, Dyad, Event, EventId, NewEvent, Query, RecordedEvent, Rejection, check,
    check_continuing, check_in_history, evolve, state_at,
};
use crate::store::ExpectedVersion;

impl Shared {
    pub(super) fn publish_head(&self, position: u64) {
        *lock(&self.head) = position;
        self.head_changed.notify_all();
    }

    /// Checks `events` against the current state and works out what to append.
    ///
    /// A dyad's in-memory fold is borrowed, not cloned: it is copied only when a second
    /// event of the same dyad in the batch must be checked against the state that includes
    /// the first (so a single record, or a batch with one event per dyad, copies nothing).
    pub(super) fn plan(&self, events: &[NewEvent], whole: bool) -> Result<Plan, EngineError> {
        let now = Utc::now();
        let today = now.date_naive();
        let mut plan = Plan::default();
        // Records of a dyad in a succession join more than one timeline (`docs/contract.md`,
        // successions): they are checked as a whole, against each of them.
        let mut whole = whole;
        if !whole {
            let dyads: std::collections::BTreeSet<Dyad> =
                events.iter().map(|input| input.dyad).collect();
            for dyad in dyads {
                if self.in_succession(dyad)? {
                    whole = true;
                    break;
                }
            }
        }
        // The records the batch's new inputs would become, in order. Each is the one copy of
        // its input; the dyads' working states refer to them by index, and they become the
        // inputs of the append at the end.
        let mut candidates: Vec<RecordedEvent> = Vec::with_capacity(events.len());
        // Load every dyad's fold first, then plan under a read lock on all of them.
        {
            let mut folds = write(&self.folds);
            for input in events {
                self.fold_of(&mut folds, input.dyad)?;
            }
        }
        let folds = read(&self.folds);
        let mut work: HashMap<Dyad, Work<'_>> = HashMap::new();
        let mut batch_ids: HashMap<EventId, usize> = HashMap::new();
        let mut next_position = self.store.head().position + 1;
        // The input index of each candidate, and the events the batch's retractions target
        // (neither counts as the original of a likely duplicate).
        let mut input_of: Vec<usize> = Vec::with_capacity(events.len());
        let retracted_here: std::collections::HashSet<&EventId> = events
            .iter()
            .filter_map(|input| match &input.event {
                Event::EventRetracted(retraction) => Some(&retraction.target),
                _ => None,
            })
            .collect();
        // Checked as a whole, every input that fails, so that the lowest is named.
        let mut failures: Vec<(usize, EngineError)> = Vec::new();
        // The candidates by dyad and date, for the likely duplicates.
        let mut by_day: HashMap<(Dyad, NaiveDate), Vec<usize>> = HashMap::new();
        for (index, input) in events.iter().enumerate() {
            let id = input.effective_id();
            // An input refused on its own: at once, or, checked as a whole, once the lowest
            // failing input is known.
            let refuse = |failures: &mut Vec<(usize, EngineError)>, err: EngineError| {
                if whole {
                    failures.push((index, err));
                    Ok(())
                } else {
                    Err(err)
                }
            };
            if let Err(limit) = crate::domain::limits::check_limits(input) {
                let err = EngineError::Rejected {
                    index,
                    id: id.clone(),
                    rejection: limit.into(),
                };
                refuse(&mut failures, err)?;
                continue;
            }
            if let Some(existing) = self.store.get(&id)? {
                if input.matches(&existing) {
                    plan.outcomes.push(Outcome::Existing(Box::new(existing)));
                    continue;
                }
                let err = EngineError::IdConflict {
                    index,
                    id,
                    position: existing.position,
                };
                refuse(&mut failures, err)?;
                continue;
            }
            if let Some(&earlier) = batch_ids.get(&id) {
                if input.matches(&candidates[earlier]) {
                    plan.outcomes.push(Outcome::New(earlier));
                    continue;
                }
                let err = EngineError::IdConflict {
                    index,
                    id,
                    position: 0,
                };
                refuse(&mut failures, err)?;
                continue;
            }
            let dyad_work = match work.entry(input.dyad) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let version = self.store.dyad_version(input.dyad)?;
                    let Some(fold) = folds.dyads.get(&input.dyad) else {
                        unreachable!("every dyad of the batch was loaded above")
                    };
                    entry.insert(Work {
                        version,
                        base: &fold.value,
                        state: None,
                        unapplied: Vec::new(),
                        last: fold.last,
                        stored_last: fold.last,
                        known: None,
                        pending: Vec::new(),
                    })
                }
            };
            // The input normalized (`id` and `reported_on` filled in) as the record it would
            // become; the store assigns the same position and version (the writer lock is held).
            let mut normalized = input.clone();
            normalized.id = Some(id.clone());
            let version = dyad_work.version + dyad_work.pending.len() as u64 + 1;
            let candidate = normalized.into_recorded(next_position, version, today, now);
            if let Err(rejection) = crate::domain::check_known_by_recording(&candidate, today) {
                if !whole {
                    return Err(EngineError::Rejected {
                        index,
                        id: id.clone(),
                        rejection,
                    });
                }
                failures.push((
                    index,
                    EngineError::Rejected {
                        index,
                        id: id.clone(),
                        rejection,
                    },
                ));
            }
            if let Some(original) = self.likely_duplicate(
                &candidate,
                &candidates,
                by_day
                    .get(&(candidate.dyad, candidate.occurred_on))
                    .map_or(&[][..], Vec::as_slice),
                dyad_work.stored_last,
                &retracted_here,
            )? {
                plan.warnings.push(Warning::LikelyDuplicate {
                    index,
                    id: id.clone(),
                    of: original.0,
                    position: original.1,
                });
            }
            if whole {
                dyad_work.pending.push(candidates.len());
                input_of.push(index);
                batch_ids.insert(id, candidates.len());
                plan.outcomes.push(Outcome::New(candidates.len()));
                by_day
                    .entry((candidate.dyad, candidate.occurred_on))
                    .or_default()
                    .push(candidates.len());
                candidates.push(candidate);
                next_position += 1;
                continue;
            }
            let key = TimeKey::of(&candidate);
            let anomalies_before: Option<std::collections::BTreeSet<EventId>> =
                matches!(candidate.event, Event::EventRetracted(_)).then(|| {
                    dyad_work
                        .state(&candidates)
                        .anomalies
                        .iter()
                        .map(|anomaly| anomaly.event_id.clone())
                        .collect()
                });
            let at_the_end = !matches!(candidate.event, Event::EventRetracted(_))
                && dyad_work.last.is_none_or(|last| key > last);
            let mut from_snapshot = None;
            let checked = if at_the_end {
                check(dyad_work.state(&candidates), &candidate)
            } else if let Some(outcome) = {
                let pending: Vec<&RecordedEvent> =
                    dyad_work.pending.iter().map(|&n| &candidates[n]).collect();
                let current = dyad_work.state(&candidates);
                self.check_from_snapshot(current, &pending, &candidate)?
            } {
                outcome.map(|accepted| from_snapshot = Some(accepted))
            } else {
                let known = dyad_work.known(self, input.dyad, &candidates)?;
                check_in_history(known, &candidate)
            };
            checked.map_err(|rejection| EngineError::Rejected {
                index,
                id: id.clone(),
                rejection,
            })?;
            let n = candidates.len();
            dyad_work.pending.push(n);
            if let Some(known) = &mut dyad_work.known {
                known.push(candidate.clone());
            }
            if at_the_end {
                // Folded in only if a later event of this dyad needs it.
                dyad_work.unapplied.push(n);
                dyad_work.last = Some(key);
            } else if let Some((state, last)) = from_snapshot {
                dyad_work.unapplied.clear();
                dyad_work.state = Some(state);
                dyad_work.last = last;
            } else {
                let known = dyad_work.known.as_deref().unwrap_or_default();
                let timeline = crate::domain::effective_timeline(known, &Query::default());
                dyad_work.last = timeline.last().map(|r| TimeKey::of(r));
                dyad_work.unapplied.clear();
                dyad_work.state = Some(state_at(known, &Query::default()));
            }
            if let Some(before) = anomalies_before {
                let events: Vec<crate::domain::Anomaly> = dyad_work
                    .state(&candidates)
                    .anomalies
                    .iter()
                    .filter(|anomaly| !before.contains(&anomaly.event_id))
                    .cloned()
                    .collect();
                if !events.is_empty() {
                    plan.warnings.push(Warning::LeavesWithoutEffect {
                        index,
                        id: id.clone(),
                        events,
                    });
                }
            }
            input_of.push(index);
            batch_ids.insert(id, n);
            plan.outcomes.push(Outcome::New(n));
            by_day
                .entry((candidate.dyad, candidate.occurred_on))
                .or_default()
                .push(n);
            candidates.push(candidate);
            next_position += 1;
        }
        if whole {
            // Each dyad of the batch, and each dyad that continues one, against its timeline
            // with the batch's events of it and of the dyads it continues, read in it.
            let mut dyads: std::collections::BTreeSet<Dyad> = work
                .iter()
                .filter(|(_, dyad_work)| !dyad_work.pending.is_empty())
                .map(|(dyad, _)| *dyad)
                .collect();
            for dyad in dyads.clone() {
                dyads.extend(dyad.continued_by());
            }
            for dyad in dyads {
                let mut mine: Vec<usize> = work
                    .get(&dyad)
                    .map(|dyad_work| dyad_work.pending.clone())
                    .unwrap_or_default();
                for (continued, _) in dyad.continues() {
                    if let Some(dyad_work) = work.get(&continued) {
                        mine.extend(&dyad_work.pending);
                    }
                }
                if mine.is_empty() {
                    continue;
                }
                mine.sort_unstable();
                let history = match self.continued_log(dyad)? {
                    Some(log) => log,
                    None => self.dyad_log(dyad)?,
                };
                let history: Vec<&RecordedEvent> = history.iter().collect();
                let read: Vec<RecordedEvent> = mine
                    .iter()
                    .filter(|&&n| candidates[n].dyad != dyad)
                    .map(|&n| candidates[n].read_in(dyad))
                    .collect();
                let mut read = read.iter();
                let batch: Vec<&RecordedEvent> = mine
                    .iter()
                    .filter_map(|&n| match candidates[n].dyad == dyad {
                        true => Some(&candidates[n]),
                        false => read.next(),
                    })
                    .collect();
                match crate::domain::check_batch_of(&history, &batch) {
                    Err((at, rejection)) => {
                        let n = mine[at];
                        let index = input_of[n];
                        let id = candidates[n].id.clone();
                        failures.push((
                            index,
                            EngineError::Rejected {
                                index,
                                id,
                                rejection,
                            },
                        ));
                    }
                    Ok(checked) => {
                        for (at, events) in checked.left_without_effect {
                            let n = mine[at];
                            // Once per retraction, with the events it leaves in every timeline.
                            let earlier = plan.warnings.iter_mut().find_map(|w| match w {
                                Warning::LeavesWithoutEffect { index, events, .. }
                                    if *index == input_of[n] =>
                                {
                                    Some(events)
                                }
                                _ => None,
                            });
                            match earlier {
                                Some(earlier) => earlier.extend(events),
                                None => plan.warnings.push(Warning::LeavesWithoutEffect {
                                    index: input_of[n],
                                    id: candidates[n].id.clone(),
                                    events,
                                }),
                            }
                        }
                    }
                }
            }
            if let Some((_, err)) = failures.into_iter().min_by_key(|(index, _)| *index) {
                return Err(err);
            }
            plan.warnings.sort_by_key(Warning::index);
        }
        for (dyad, dyad_work) in work {
            if !dyad_work.pending.is_empty() {
                let expected = match dyad_work.version {
                    0 => ExpectedVersion::NoStream,
                    version => ExpectedVersion::Exact(version),
                };
                plan.expected.insert(dyad, expected);
            }
        }
        drop(folds);
        plan.inputs = candidates
            .into_iter()
            .map(RecordedEvent::into_input)
            .collect();
        Ok(plan)
    }
}

impl Shared {
    /// The stored event, or the earlier candidate of the batch, that `candidate` is likely a
    /// duplicate of (`docs/contract.md`, checking a new event): same dyad, `occurred_on`, type and payload, another
    /// id. Retractions and the events the batch retracts are not counted. Its id and position
    /// (0 for a candidate of the batch).
    ///
    /// `same_day` are the indices of the earlier candidates of the batch of the candidate's dyad
    /// and date; `stored_last` is the last place of the dyad's stored timeline, so that a
    /// candidate dated after it (the usual case of an import) reads nothing from the store.
    fn likely_duplicate(
        &self,
        candidate: &RecordedEvent,
        candidates: &[RecordedEvent],
        same_day: &[usize],
        stored_last: Option<TimeKey>,
        retracted_here: &std::collections::HashSet<&EventId>,
    ) -> Result<Option<(EventId, u64)>, EngineError> {
        if matches!(candidate.event, Event::EventRetracted(_)) {
            return Ok(None);
        }
        let same = |other: &RecordedEvent| {
            other.dyad == candidate.dyad
                && other.occurred_on == candidate.occurred_on
                && other.id != candidate.id
                && other.event == candidate.event
                && !retracted_here.contains(&other.id)
        };
        if let Some(&earlier) = same_day.iter().find(|&&n| same(&candidates[n])) {
            return Ok(Some((candidates[earlier].id.clone(), 0)));
        }
        if stored_last.is_none_or(|last| last.on < candidate.occurred_on) {
            return Ok(None);
        }
        let day = Some(candidate.occurred_on);
        for stored in self.timeline_after(candidate.dyad, day.map(TimeKey::before_day), day) {
            let stored = stored?;
            if same(&stored) {
                return Ok(Some((stored.id, stored.position)));
            }
        }
        Ok(None)
    }
}

/// What a record or a batch accepted leaves to be said (`docs/contract.md`, checking a new event): nothing was
/// refused for it, but a person should look.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A retraction leaves later events without effect: they are now anomalies of the state.
    LeavesWithoutEffect {
        /// The retraction's index in the batch, from 0.
        index: usize,
        /// The retraction's id.
        id: EventId,
        /// The anomalies it causes (the events left without effect, and why).
        events: Vec<crate::domain::Anomaly>,
    },
    /// The event is likely a duplicate: same dyad, `occurred_on`, type and payload as a stored
    /// event or an earlier one of the batch, differing only in id, `reported_on` or sources.
    LikelyDuplicate {
        /// Its index in the batch, from 0.
        index: usize,
        /// Its id.
        id: EventId,
        /// The id of the event it repeats.
        of: EventId,
        /// That event's position (0 when it is earlier in the same batch).
        position: u64,
    },
}

impl Warning {
    /// The index in the batch of the event warned about.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Warning;
    ///
    /// let warning = Warning::LikelyDuplicate {
    ///     index: 2,
    ///     id: "b".parse().unwrap(),
    ///     of: "a".parse().unwrap(),
    ///     position: 7,
    /// };
    /// assert_eq!(warning.index(), 2);
    /// assert!(warning.to_string().contains("`b` is likely a duplicate of `a` (position 7)"));
    /// ```
    pub fn index(&self) -> usize {
        match self {
            Warning::LeavesWithoutEffect { index, .. } | Warning::LikelyDuplicate { index, .. } => {
                *index
            }
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::LeavesWithoutEffect { id, events, .. } => {
                let names: Vec<String> = events
                    .iter()
                    .map(|anomaly| {
                        format!("`{}` (position {})", anomaly.event_id, anomaly.position)
                    })
                    .collect();
                write!(
                    f,
                    "the retraction `{id}` leaves {} without effect: {}",
                    names.join(", "),
                    events.first().map_or("", |anomaly| anomaly.reason.as_str())
                )
            }
            Warning::LikelyDuplicate {
                id, of, position, ..
            } => {
                let place = match position {
                    0 => "an earlier line of this batch".to_owned(),
                    position => format!("position {position}"),
                };
                write!(
                    f,
                    "`{id}` is likely a duplicate of `{of}` ({place}): same date, type and content; if it is the same fact, retract one of them"
                )
            }
        }
    }
}

/// What [`Engine::restore_checked`](super::Engine::restore_checked) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// How many records were restored (those the store held already are skipped).
    pub restored: u64,
    /// The records of the dyads restored that break a rule of history, in position order.
    pub findings: Vec<crate::domain::Finding>,
}

impl Shared {
    /// The checks of a restore before anything is stored (the store's own passed; `head` is
    /// its position before the restore): every record against the rules
    /// needing no history (its retraction's target looked up among the earlier records and in
    /// the store), then the findings of every dyad it touches, over the dyad's stored log and
    /// its records not stored yet.
    pub(super) fn check_restore(
        &self,
        records: &[RecordedEvent],
        head: u64,
    ) -> Result<Vec<crate::domain::Finding>, EngineError> {
        let mut earlier: HashMap<&EventId, &RecordedEvent> = HashMap::new();
        for record in records {
            let target = match &record.event {
                Event::EventRetracted(retraction) => match earlier.get(&retraction.target) {
                    Some(found) => Some((*found).clone()),
                    None => self.store.get(&retraction.target)?,
                },
                _ => None,
            };
            crate::domain::check_record_alone(record, target.as_ref()).map_err(|rejection| {
                EngineError::BadRecord {
                    position: record.position,
                    id: record.id.clone(),
                    rejection,
                }
            })?;
            earlier.insert(&record.id, record);
        }
        // By reference: a restore of a large export is not copied to be checked.
        let mut by_dyad: BTreeMap<Dyad, Vec<&RecordedEvent>> = BTreeMap::new();
        for record in records.iter().filter(|record| record.position > head) {
            by_dyad.entry(record.dyad).or_default().push(record);
        }
        let mut findings = Vec::new();
        // Each dyad touched, and each that continues one, over its timeline: its records and
        // those of the dyads it continues (`docs/contract.md`, successions), read in it.
        let mut dyads: std::collections::BTreeSet<Dyad> = by_dyad.keys().copied().collect();
        for dyad in dyads.clone() {
            dyads.extend(dyad.continued_by());
        }
        for dyad in dyads {
            let mut related = vec![dyad];
            related.extend(dyad.continues().into_iter().map(|(d, _)| d));
            let mut stored = Vec::new();
            if head > 0 {
                for &other in &related {
                    stored.extend(self.dyad_log(other)?);
                }
            }
            let new = related
                .iter()
                .filter_map(|other| by_dyad.get(other))
                .flatten()
                .copied();
            let log = crate::domain::continued_log(stored.iter().chain(new), dyad);
            findings.extend(crate::domain::findings(&log));
        }
        findings.sort_by_key(|finding| finding.position);
        findings.dedup_by_key(|finding| finding.position);
        Ok(findings)
    }
}

/// What [`Engine::record_batch_with_warnings`](super::Engine::record_batch_with_warnings)
/// returns: every input's outcome, and the warnings about the new events.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The outcome of each input, in order.
    pub appended: Vec<Appended>,
    /// What to look at, by input index.
    pub warnings: Vec<Warning>,
}

/// A candidate's dyad state once it is folded in, with the last place of its timeline.
type Accepted = (BilateralState, Option<TimeKey>);

impl Shared {
    /// Checks a retroactive event or a retraction from the nearest state at hand (a rung or a
    /// snapshot) before the place it changes, instead of from the dyad's whole log:
    /// [`check_continuing`] for an event, the store's retraction marks for a retraction's
    /// target. `pending` are the batch's accepted events of the dyad, merged into the stored
    /// timeline. `Ok(None)` leaves the case to the reference `check_in_history`: a retraction
    /// of an event retracted already (whose message names the earlier retraction), a retraction
    /// while the batch holds other events of its dyad (its target may be one of them), and any
    /// event after a retraction in the batch. On acceptance, the whole timeline's state with the
    /// candidate and its last place.
    fn check_from_snapshot(
        &self,
        current: &BilateralState,
        pending: &[&RecordedEvent],
        candidate: &RecordedEvent,
    ) -> Result<Option<Result<Accepted, Rejection>>, EngineError> {
        let dyad = candidate.dyad;
        let key = TimeKey::of(candidate);
        let retraction = |record: &RecordedEvent| matches!(record.event, Event::EventRetracted(_));
        if pending.iter().any(|record| retraction(record))
            || (retraction(candidate) && !pending.is_empty())
        {
            return Ok(None);
        }
        let (from, skip) = match &candidate.event {
            Event::EventRetracted(retraction) => {
                if let Err(rejection) = check(current, candidate) {
                    return Ok(Some(Err(rejection)));
                }
                let target = self
                    .store
                    .get(&retraction.target)?
                    .filter(|t| t.dyad == dyad);
                let Some(target) = target else {
                    let id = retraction.target.clone();
                    return Ok(Some(Err(Rejection::UnknownEvent { id, dyad })));
                };
                if matches!(target.event, Event::EventRetracted(_)) {
                    let id = retraction.target.clone();
                    return Ok(Some(Err(Rejection::RetractsRetraction { id })));
                }
                if let Err(rejection) = crate::domain::check_retraction_dates(candidate, &target) {
                    return Ok(Some(Err(rejection)));
                }
                let target_key = TimeKey::of(&target);
                if self.store.retraction_of(dyad, target_key)?.is_some() {
                    return Ok(None);
                }
                (target_key.min(key), Some(target_key))
            }
            _ => (key, None),
        };
        // The last state at hand strictly before `from` and before every pending event of the
        // batch, which the stored states do not hold.
        let from = pending
            .iter()
            .map(|r| TimeKey::of(r))
            .fold(from, TimeKey::min);
        let (base, after) = self.state_before(dyad, from)?;
        let mut rest: Vec<RecordedEvent> = self
            .timeline_after(dyad, after, None)
            .filter(|record| {
                !matches!((record, skip), (Ok(record), Some(skip)) if TimeKey::of(record) == skip)
            })
            .collect::<Result<_, _>>()?;
        if !pending.is_empty() {
            rest.extend(pending.iter().map(|&record| record.clone()));
            rest.sort_by_key(TimeKey::of);
        }
        let last = rest.last().map(TimeKey::of).max(Some(key)).max(after);
        if skip.is_some() {
            // A retraction always takes effect: fold the timeline without its target, with it.
            let split = rest.partition_point(|record| TimeKey::of(record) < key);
            let state = rest[..split]
                .iter()
                .chain(std::iter::once(candidate))
                .chain(&rest[split..])
                .fold(base, evolve);
            return Ok(Some(Ok((state, last))));
        }
        let rest: Vec<&RecordedEvent> = rest.iter().collect();
        Ok(Some(
            check_continuing(base, &rest, candidate).map(|state| (state, last)),
        ))
    }
}

/// One dyad's working state while a batch is checked. Accepted events are indices into the
/// batch's candidates.
struct Work<'a> {
    version: u64,
    /// The engine's fold of the dyad, as stored.
    base: &'a BilateralState,
    /// The working state, once it differs from `base` (before `unapplied`).
    state: Option<BilateralState>,
    /// Accepted events at the end of the timeline not yet folded into the working state.
    unapplied: Vec<usize>,
    last: Option<TimeKey>,
    /// The last place of the dyad's stored timeline (before the batch).
    stored_last: Option<TimeKey>,
    /// The dyad's whole log followed by the batch's accepted events of the dyad, once the
    /// reference check has needed it.
    known: Option<Vec<RecordedEvent>>,
    /// The batch's accepted events of the dyad.
    pending: Vec<usize>,
}

impl Work<'_> {
    /// The state the next event lands in: `base` (or the working state) with every accepted
    /// event of the batch folded in.
    fn state(&mut self, candidates: &[RecordedEvent]) -> &BilateralState {
        if !self.unapplied.is_empty() {
            let base = self.base;
            let state = self.state.get_or_insert_with(|| base.clone());
            for n in self.unapplied.drain(..) {
                *state = evolve(std::mem::take(state), &candidates[n]);
            }
        }
        self.state.as_ref().unwrap_or(self.base)
    }

    /// The dyad's log with the batch's accepted events of the dyad, read on first use.
    fn known(
        &mut self,
        shared: &Shared,
        dyad: Dyad,
        candidates: &[RecordedEvent],
    ) -> Result<&[RecordedEvent], EngineError> {
        let known = match &mut self.known {
            Some(known) => known,
            slot @ None => {
                let mut known = shared.dyad_log(dyad)?;
                known.extend(self.pending.iter().map(|&n| candidates[n].clone()));
                slot.insert(known)
            }
        };
        Ok(known)
    }
}

/// What a batch will append, and how each input maps to a result.
#[derive(Default)]
pub(super) struct Plan {
    /// The new inputs to append, normalized (`id` and `reported_on` filled in).
    pub(super) inputs: Vec<NewEvent>,
    /// What to say about them.
    pub(super) warnings: Vec<Warning>,
    pub(super) expected: HashMap<Dyad, ExpectedVersion>,
    outcomes: Vec<Outcome>,
}

enum Outcome {
    /// Already stored: a no-op.
    Existing(Box<RecordedEvent>),
    /// The n-th input appended.
    New(usize),
}

impl Plan {
    /// The result of each input, from the store's records (in append order) and whether each
    /// was stored. A record is moved into its last result and copied only for the inputs that
    /// repeat an earlier one of the batch.
    pub(super) fn results(self, records: Vec<RecordedEvent>, stored: &[bool]) -> Vec<Appended> {
        let mut uses = vec![0usize; records.len()];
        for outcome in &self.outcomes {
            if let Outcome::New(n) = outcome {
                uses[*n] += 1;
            }
        }
        let mut seen = vec![false; records.len()];
        let mut records: Vec<Option<RecordedEvent>> = records.into_iter().map(Some).collect();
        self.outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Outcome::Existing(record) => Appended {
                    record: *record,
                    stored: false,
                },
                Outcome::New(n) => {
                    let first = !std::mem::replace(&mut seen[n], true);
                    uses[n] -= 1;
                    let record = if uses[n] == 0 {
                        records[n].take()
                    } else {
                        records[n].clone()
                    };
                    let Some(record) = record else {
                        unreachable!("each record is moved out at its last use only")
                    };
                    Appended {
                        record,
                        stored: stored[n] && first,
                    }
                }
            })
            .collect()
    }
}
