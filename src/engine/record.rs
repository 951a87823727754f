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
        let mut imported = Imported::default();
        // The lowest failing input. Inputs come in index order, so the first refused on its
        // own is the lowest of those; the dyads' checks may find a lower one.
        let mut failure: Option<(usize, EngineError)> = None;
        // The inputs of the chunk being gathered and their indices. Whether an input's id is
        // stored already is the store's to say as it appends (one lookup of the id per input,
        // not two): an input stored with the same content is counted as already present, one
        // with other content is refused by `append_chunk`.
        let mut chunk = Chunk {
            inputs: Vec::with_capacity(chunk_size),
            indices: Vec::with_capacity(chunk_size),
        };
        let mut numbering = Numbering::default();
        let mut changes = Changes::new();
        for (index, input) in inputs.into_iter().enumerate() {
            let input = input.map_err(|error| ImportError::Input { index, error })?;
            let mut refuse = |err: EngineError| {
                if failure.is_none() {
                    failure = Some((index, err));
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
                self.append_chunk(
                    &mut chunk,
                    start,
                    &mut numbering,
                    &mut failure,
                    &mut imported,
                    &mut changes,
                )?;
            }
        }
        self.append_chunk(
            &mut chunk,
            start,
            &mut numbering,
            &mut failure,
            &mut imported,
            &mut changes,
        )?;
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
    fn append_chunk(
        &self,
        chunk: &mut Chunk,
        start: u64,
        numbering: &mut Numbering,
        failure: &mut Option<(usize, EngineError)>,
        imported: &mut Imported,
        changes: &mut Changes,
    ) -> Result<(), EngineError> {
        let options = crate::store::AppendOptions {
            expected: HashMap::new(),
            durability: crate::store::Durability::Flushed,
        };
        while !chunk.inputs.is_empty() {
            // A copy for the store, so that the chunk is at hand again after a refusal.
            let appended = match self.store.append_unfinished(chunk.inputs.clone(), &options) {
                Ok(appended) => appended,
                Err(crate::store::StoreError::IdConflict { id, position }) => {
                    let at = chunk.conflicting(&id, self.store.get(&id)?)?;
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
    ) -> Result<usize, EngineError> {
        let mut with_id = self
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, input)| input.effective_id() == *id);
        let reference = match stored {
            Some(record) => record,
            None => match with_id.next() {
                Some((_, first)) => {
                    let now = Utc::now();
                    first.clone().into_recorded(0, 0, now.date_naive(), now)
                }
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
