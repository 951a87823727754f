//! Checking a new fact against the state it lands in: `docs/contract.md`, checking a new event.

use chrono::NaiveDate;

use std::collections::BTreeSet;

use super::{
    BilateralState, Dyad, Event, EventId, ItemId, NextRoundStatus, Party, Query, RecordedEvent,
    evolve, state_at,
};

/// The kind of agenda item an id names, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemKind {
    /// A step.
    Step,
    /// A property claim.
    Claim,
    /// A proposal.
    Proposal,
    /// An irritant.
    Irritant,
    /// A round.
    Round,
}

/// Why a new event is refused. Each message names the item, party or date at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// A party named in the event is not one of the dyad's.
    #[error(
        "party {party} is outside the dyad {dyad}: only the dyad's two parties act in its events (a host belongs in a location's country)"
    )]
    PartyOutsideDyad {
        /// The party.
        party: Party,
        /// The dyad.
        dyad: Dyad,
    },
    /// `reported_on` is before `occurred_on`.
    #[error(
        "reported_on {reported_on} is before occurred_on {occurred_on}: a fact cannot be known before it happens"
    )]
    ReportedBeforeOccurred {
        /// The report date.
        reported_on: NaiveDate,
        /// The event date.
        occurred_on: NaiveDate,
    },
    /// The event names an item that does not exist at its date.
    #[error(
        "{kind} `{id}` does not exist on {on}: record the event that raises, agrees or schedules it first, on or before that date"
    )]
    UnknownItem {
        /// What kind of item.
        kind: ItemKind,
        /// Its id.
        id: ItemId,
        /// The event's date.
        on: NaiveDate,
    },
    /// The event raises an item whose id already exists.
    #[error("{kind} `{id}` already exists: give the new one another id")]
    DuplicateItem {
        /// What kind of item.
        kind: ItemKind,
        /// Its id.
        id: ItemId,
    },
    /// A retraction names an event not stored in this dyad.
    #[error("event `{id}` is not recorded in dyad {dyad}: there is nothing to retract")]
    UnknownEvent {
        /// The target id.
        id: EventId,
        /// The dyad.
        dyad: Dyad,
    },
    /// Recorded retroactively, the event would make a later event fail to take effect.
    #[error(
        "recorded on {occurred_on}, this event would make the later event `{later}` at position {position} fail: {reason}"
    )]
    BreaksLaterEvent {
        /// The new event's date.
        occurred_on: NaiveDate,
        /// The later event's id.
        later: EventId,
        /// Its position.
        position: u64,
        /// Why it would fail.
        reason: String,
    },
    /// The event belongs to another dyad than the state it is checked against (or folded into).
    #[error("event of dyad {found} does not belong to dyad {expected}: record it in its own dyad")]
    DyadMismatch {
        /// The state's dyad.
        expected: Dyad,
        /// The event's dyad.
        found: Dyad,
    },
    /// Talks list two delegations of the same party.
    #[error("talks list two delegations of {party}: list one delegation per party")]
    DuplicateDelegation {
        /// The party named twice.
        party: Party,
    },
    /// A retraction names an event that is itself a retraction.
    #[error(
        "event `{id}` is itself a retraction, and retracting a retraction is refused: record the original event again instead"
    )]
    RetractsRetraction {
        /// The target id.
        id: EventId,
    },
    /// The event is over one of the bounds of [`limits`](super::limits): too large, or a
    /// text or list too long.
    #[error(transparent)]
    Limit(#[from] super::limits::LimitError),
    /// A retraction names an event that is already retracted.
    #[error("event `{id}` is already retracted by event `{by}`")]
    AlreadyRetracted {
        /// The target id.
        id: EventId,
        /// The retraction that retracted it.
        by: EventId,
    },
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ItemKind::Step => "step",
            ItemKind::Claim => "claim",
            ItemKind::Proposal => "proposal",
            ItemKind::Irritant => "irritant",
            ItemKind::Round => "round",
        })
    }
}

/// Checks `event` against `state`, the fold of the dyad's effective timeline up to the event's
/// `occurred_on`: dyad and parties, dates, and items. A retraction passes here: its target is
/// checked against the log by [`check_in_history`].
///
/// The rules, in the order they are tried:
///
/// 1. The event's dyad is the state's (when the state has one): else [`Rejection::DyadMismatch`].
/// 2. Every party the event names as an actor ([`Event::parties`]) is in the dyad, and talks
///    list at most one delegation per party.
/// 3. `reported_on` is not before `occurred_on`.
/// 4. Items: progressing, answering, resolving or cancelling an item that does not exist is
///    [`Rejection::UnknownItem`]; raising, agreeing or proposing an id that exists is
///    [`Rejection::DuplicateItem`]. Rounds: a `RoundScheduled` whose id was held already or is
///    the current next round is a duplicate, as is a `TalksHeld` naming a round id that was
///    held already; a `RoundCancelled` needs the next round with that id, still scheduled.
///    Stage and status transitions are otherwise free (a step may stall and resume, an irritant
///    resolved again records the new date).
///
/// # Example
///
/// ```
/// use detente::domain::{check, BilateralState, Event, NewEvent, Rejection, StepProgress, StepProgressed};
///
/// let progressed = NewEvent::new(
///     "RUS-USA".parse().unwrap(),
///     "2025-03-10".parse().unwrap(),
///     Event::StepProgressed(StepProgressed {
///         step: "mission-financing".parse().unwrap(),
///         stage: StepProgress::Implementing,
///         note: None,
///     }),
/// )
/// .into_recorded(1, 1, "2025-03-10".parse().unwrap(), Default::default());
/// let rejection = check(&BilateralState::default(), &progressed).unwrap_err();
/// assert!(matches!(rejection, Rejection::UnknownItem { .. }));
/// assert!(rejection.to_string().starts_with("step `mission-financing` does not exist on 2025-03-10"));
/// ```
pub fn check(state: &BilateralState, event: &RecordedEvent) -> Result<(), Rejection> {
    if let Some(expected) = state.dyad {
        if expected != event.dyad {
            return Err(Rejection::DyadMismatch {
                expected,
                found: event.dyad,
            });
        }
    }
    let mut seen = BTreeSet::new();
    for party in event.event.parties() {
        if !event.dyad.contains(party) {
            return Err(Rejection::PartyOutsideDyad {
                party,
                dyad: event.dyad,
            });
        }
        if matches!(event.event, Event::TalksHeld(_)) && !seen.insert(party) {
            return Err(Rejection::DuplicateDelegation { party });
        }
    }
    if event.reported_on < event.occurred_on {
        return Err(Rejection::ReportedBeforeOccurred {
            reported_on: event.reported_on,
            occurred_on: event.occurred_on,
        });
    }
    check_items(state, event)
}

fn check_items(state: &BilateralState, event: &RecordedEvent) -> Result<(), Rejection> {
    let on = event.occurred_on;
    let unknown = |kind, id: &ItemId| Rejection::UnknownItem {
        kind,
        id: id.clone(),
        on,
    };
    let duplicate = |kind, id: &ItemId| Rejection::DuplicateItem {
        kind,
        id: id.clone(),
    };
    let round_held = |id: &ItemId| {
        state
            .rounds
            .iter()
            .any(|round| round.round.as_ref() == Some(id))
    };
    match &event.event {
        Event::TalksHeld(talks) => match &talks.round {
            Some(id) if round_held(id) => Err(duplicate(ItemKind::Round, id)),
            _ => Ok(()),
        },
        Event::StepAgreed(e) if state.steps.contains_key(&e.step) => {
            Err(duplicate(ItemKind::Step, &e.step))
        }
        Event::StepProgressed(e) if !state.steps.contains_key(&e.step) => {
            Err(unknown(ItemKind::Step, &e.step))
        }
        Event::PropertyClaimRaised(e) if state.claims.contains_key(&e.claim) => {
            Err(duplicate(ItemKind::Claim, &e.claim))
        }
        Event::ClaimProgressed(e) if !state.claims.contains_key(&e.claim) => {
            Err(unknown(ItemKind::Claim, &e.claim))
        }
        Event::FlightsProposed(e) if state.proposals.contains_key(&e.proposal) => {
            Err(duplicate(ItemKind::Proposal, &e.proposal))
        }
        Event::ProposalAnswered(e) if !state.proposals.contains_key(&e.proposal) => {
            Err(unknown(ItemKind::Proposal, &e.proposal))
        }
        Event::IrritantRaised(e) if state.irritants.contains_key(&e.irritant) => {
            Err(duplicate(ItemKind::Irritant, &e.irritant))
        }
        Event::IrritantResolved(e) if !state.irritants.contains_key(&e.irritant) => {
            Err(unknown(ItemKind::Irritant, &e.irritant))
        }
        Event::RoundScheduled(e) => {
            let is_next = state
                .next_round
                .as_ref()
                .is_some_and(|next| next.round == e.round);
            if is_next || round_held(&e.round) {
                Err(duplicate(ItemKind::Round, &e.round))
            } else {
                Ok(())
            }
        }
        Event::RoundCancelled(e) => {
            let scheduled = state.next_round.as_ref().is_some_and(|next| {
                next.round == e.round && next.status == NextRoundStatus::Scheduled
            });
            if scheduled {
                Ok(())
            } else {
                Err(unknown(ItemKind::Round, &e.round))
            }
        }
        _ => Ok(()),
    }
}

/// The whole of `docs/contract.md`'s checks for one candidate against a dyad's recorded events (in any
/// order): [`check`] against the state at its date, retraction targets, and the rule that a
/// retroactive event must not make a later event fail. The reference the engine's faster path
/// is tested against.
///
/// `candidate` is the new event already made a record, at the position after the last one
/// stored. Events of `history` in another dyad than the candidate's are ignored. The steps:
///
/// 1. [`check`] against the fold of the effective timeline of everything known, up to and
///    including the candidate's `occurred_on` (the candidate lands after every event of its
///    date, having the highest position).
/// 2. A retraction's target must be an event of the dyad ([`Rejection::UnknownEvent`]), not a
///    retraction itself ([`Rejection::RetractsRetraction`]), and not retracted already
///    ([`Rejection::AlreadyRetracted`]). Retractions are exempt from step 3: the contract
///    expects anomalies after a retraction (`docs/contract.md`).
/// 3. Any other candidate: fold the whole effective timeline with and without it; an anomaly
///    (by event id) of the fold with it, other than the candidate's own, that the fold without
///    it has not, is [`Rejection::BreaksLaterEvent`] naming that event.
///
/// # Example
///
/// ```
/// use detente::domain::{check_in_history, Event, NewEvent, Rejection, EventRetracted};
/// use detente::scenario::{istanbul_2025, recorded};
///
/// let history = recorded(istanbul_2025());
/// let mut retraction = NewEvent::new(
///     "RUS-USA".parse().unwrap(),
///     "2025-03-01".parse().unwrap(),
///     Event::EventRetracted(EventRetracted {
///         target: "no-such-event".parse().unwrap(),
///         reason: "typo".into(),
///     }),
/// );
/// retraction.id = Some("retract-typo".parse().unwrap());
/// let position = history.len() as u64 + 1;
/// let candidate = retraction.into_recorded(position, position, "2025-03-01".parse().unwrap(), Default::default());
/// let rejection = check_in_history(&history, &candidate).unwrap_err();
/// assert!(matches!(rejection, Rejection::UnknownEvent { .. }));
/// ```
pub fn check_in_history(
    history: &[RecordedEvent],
    candidate: &RecordedEvent,
) -> Result<(), Rejection> {
    let history: Vec<&RecordedEvent> = history
        .iter()
        .filter(|event| event.dyad == candidate.dyad)
        .collect();
    let at_its_date = Query {
        as_of: Some(candidate.occurred_on),
        ..Query::default()
    };
    let state = state_at(history.iter().copied(), &at_its_date);
    check(&state, candidate)?;

    if let Event::EventRetracted(retraction) = &candidate.event {
        let target_id = &retraction.target;
        let Some(target) = history.iter().find(|event| event.id == *target_id) else {
            return Err(Rejection::UnknownEvent {
                id: target_id.clone(),
                dyad: candidate.dyad,
            });
        };
        if matches!(target.event, Event::EventRetracted(_)) {
            return Err(Rejection::RetractsRetraction {
                id: target_id.clone(),
            });
        }
        let earlier = history.iter().find(|event| {
            matches!(&event.event, Event::EventRetracted(earlier) if earlier.target == *target_id)
        });
        if let Some(earlier) = earlier {
            return Err(Rejection::AlreadyRetracted {
                id: target_id.clone(),
                by: earlier.id.clone(),
            });
        }
        return Ok(());
    }

    let everything = Query::default();
    let without = state_at(history.iter().copied(), &everything);
    let with = state_at(
        history.iter().copied().chain(std::iter::once(candidate)),
        &everything,
    );
    let anomalies_before: BTreeSet<&EventId> =
        without.anomalies.iter().map(|a| &a.event_id).collect();
    let broken = with.anomalies.iter().find(|anomaly| {
        anomaly.event_id != candidate.id && !anomalies_before.contains(&anomaly.event_id)
    });
    match broken {
        Some(anomaly) => Err(breaks_later(candidate, anomaly)),
        None => Ok(()),
    }
}

/// The answer of [`check_in_history`] for a candidate that is not a retraction, computed from a
/// fold of a prefix of the dyad's effective timeline instead of from its whole log: `base` is
/// the fold of the timeline up to some place before the candidate's `(occurred_on, position)`
/// (a snapshot), and `rest` the timeline's events after that place, in order. On success it
/// returns the state of the whole timeline with the candidate folded in.
///
/// The cost is one fold of `rest` and a second of the part of `rest` after the candidate,
/// where `check_in_history` folds the whole log three times.
///
/// # Example
///
/// ```
/// use detente::domain::*;
///
/// let events = detente::scenario::recorded(detente::scenario::istanbul_2025());
/// let timeline = effective_timeline(&events, &Query::default());
/// // A fact about 2017, learned late: checked from the first five events folded.
/// let mut late = NewEvent::new("RUS-USA".parse()?, "2017-12-31".parse()?,
///     Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by: "RUS".parse()?, count: 1 }));
/// late.reported_on = Some("2025-03-02".parse()?);
/// let late = late.into_recorded(events.len() as u64 + 1, events.len() as u64 + 1,
///     "2025-03-02".parse()?, Default::default());
/// let base = timeline[..5].iter().fold(BilateralState::default(), |s, e| evolve(s, e));
/// let state = check_continuing(base, &timeline[5..], &late).unwrap();
/// let mut all = events.clone();
/// all.push(late.clone());
/// assert_eq!(state, state_at(&all, &Query::default()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_continuing(
    base: BilateralState,
    rest: &[&RecordedEvent],
    candidate: &RecordedEvent,
) -> Result<BilateralState, Rejection> {
    let key = (candidate.occurred_on, candidate.position);
    let split = rest.partition_point(|event| (event.occurred_on, event.position) < key);
    let (before, after) = rest.split_at(split);
    let state = before
        .iter()
        .fold(base, |state, event| evolve(state, event));
    check(&state, candidate)?;
    let folded = state.anomalies.len();
    let without = after
        .iter()
        .fold(state.clone(), |state, event| evolve(state, event));
    let with = after.iter().fold(evolve(state, candidate), |state, event| {
        evolve(state, event)
    });
    let known: BTreeSet<&EventId> = without
        .anomalies
        .iter()
        .skip(folded)
        .map(|anomaly| &anomaly.event_id)
        .collect();
    let broken = with
        .anomalies
        .iter()
        .skip(folded)
        .find(|anomaly| anomaly.event_id != candidate.id && !known.contains(&anomaly.event_id));
    match broken {
        Some(anomaly) => Err(breaks_later(candidate, anomaly)),
        None => Ok(with),
    }
}

/// The refusal of `candidate`, a retroactive event whose fold makes the later event of
/// `anomaly` fail.
fn breaks_later(candidate: &RecordedEvent, anomaly: &super::Anomaly) -> Rejection {
    Rejection::BreaksLaterEvent {
        occurred_on: candidate.occurred_on,
        later: anomaly.event_id.clone(),
        position: anomaly.position,
        reason: anomaly.reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DiplomatsExpelled, NewEvent};

    #[test]
    fn the_dyad_is_checked_before_the_parties_and_the_dates() {
        let mut input = NewEvent::new(
            "CHN-USA".parse().unwrap(),
            "2025-01-02".parse().unwrap(),
            Event::DiplomatsExpelled(DiplomatsExpelled {
                expelled_by: "TUR".parse().unwrap(),
                count: 1,
            }),
        );
        input.reported_on = Some("2025-01-01".parse().unwrap());
        let event = input.into_recorded(1, 1, "2025-01-01".parse().unwrap(), Default::default());
        let state = BilateralState {
            dyad: Some("RUS-USA".parse().unwrap()),
            ..BilateralState::default()
        };
        assert!(matches!(
            check(&state, &event),
            Err(Rejection::DyadMismatch { .. })
        ));
        assert!(matches!(
            check(&BilateralState::default(), &event),
            Err(Rejection::PartyOutsideDyad { .. })
        ));
    }
}
