//! Checking a new fact against the state it lands in: `docs/contract.md`, checking a new event.

use chrono::NaiveDate;

use std::collections::BTreeSet;

use super::{
    BilateralState, Dyad, Event, EventId, ItemId, Party, Query, RecordedEvent, evolve, state_at,
};

/// The kind of agenda item an id names, for messages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
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
    /// An agreement.
    Agreement,
    /// A coercive measure.
    Measure,
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
        "dated {occurred_on}, this event would make the later event `{later}` at position {position} fail: {reason}; if this event corrects `{later}`, retract `{later}` first, or import the retraction and the correction in one file"
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
    /// Talks name one of the dyad's own parties as their mediator.
    #[error(
        "{party} is named as a mediator of talks of {dyad}, but it is one of the dyad's parties: a mediator is a third party (list {party} in `delegations`, not in `mediators`)"
    )]
    MediatorInDyad {
        /// The party named.
        party: Party,
        /// The dyad.
        dyad: Dyad,
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
    /// The event moves an item to the stage or status it already has.
    #[error(
        "{kind} `{id}` is already {status} (since {since}): record only a change of stage or status; to correct the earlier event, retract it and record the correction"
    )]
    NoChange {
        /// What kind of item.
        kind: ItemKind,
        /// Its id.
        id: ItemId,
        /// Its stage or status, as its wire word.
        status: String,
        /// When it took that status.
        since: NaiveDate,
    },
    /// Talks name a round that was cancelled.
    #[error(
        "round `{round}` was cancelled on {cancelled_on}: if the talks were rescheduled, record a RoundScheduled with a new round id and \"replaces\": \"{round}\", and name that id in the talks; if the cancellation was wrong, retract it"
    )]
    TalksOfCancelledRound {
        /// The round.
        round: ItemId,
        /// When it was cancelled.
        cancelled_on: NaiveDate,
    },
    /// The event names a round in a status from which it cannot take the event's status.
    #[error(
        "round `{round}` is {status} (since {since}): it cannot become {to}{}",
        round_hint(status, to)
    )]
    RoundTransition {
        /// The round.
        round: ItemId,
        /// Its status, as its wire word.
        status: String,
        /// When it took that status.
        since: NaiveDate,
        /// The status the event would give it.
        to: &'static str,
    },
    /// `reported_on` is later than the day after the day the event is recorded.
    #[error(
        "reported_on {reported_on} is after {recorded_on}, the day it is recorded, by more than a day: a fact cannot be known before it is recorded (is the year right?)"
    )]
    KnownBeforeRecorded {
        /// The report date.
        reported_on: NaiveDate,
        /// The UTC date of recording.
        recorded_on: NaiveDate,
    },
    /// A retraction is dated, or reported, before the event it retracts.
    #[error(
        "the retraction's {field} {retraction_on} is before the {field} {target_on} of the event `{target}` it retracts: a correction cannot come before what it corrects; give it a date on or after {target_on}"
    )]
    RetractionBeforeTarget {
        /// The target's id.
        target: EventId,
        /// `occurred_on` or `reported_on`.
        field: &'static str,
        /// The retraction's date.
        retraction_on: NaiveDate,
        /// The target's date.
        target_on: NaiveDate,
    },
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
            ItemKind::Agreement => "agreement",
            ItemKind::Measure => "measure",
        })
    }
}

/// The rule of knowledge time (`docs/contract.md`, checking a new event): a new event's `reported_on` may be at most
/// one day after `recorded_on`, the UTC date it is recorded on (one day of slack for time
/// zones ahead of UTC). The engine passes the date of recording in; the domain reads no clock.
/// Only new records are held to it: a stored record that breaks it is a finding of `verify`.
///
/// ```
/// # use detente::domain::{check_known_by_recording, NewEvent, Rejection};
/// let mut input: NewEvent = serde_json::from_str(r#"{"dyad": "ARM-AZE", "occurred_on": "2099-01-01",
///     "reported_on": "2099-01-01", "event": {"type": "IrritantResolved", "irritant": "i"}}"#).unwrap();
/// let record = input.clone().into_recorded(1, 1, "2026-12-01".parse().unwrap(), Default::default());
/// let rejection = check_known_by_recording(&record, "2026-12-01".parse().unwrap()).unwrap_err();
/// assert!(matches!(rejection, Rejection::KnownBeforeRecorded { .. }));
/// // The day after the day of recording is fine: somewhere it is already that day.
/// input.occurred_on = "2026-12-02".parse().unwrap();
/// input.reported_on = Some("2026-12-02".parse().unwrap());
/// let record = input.into_recorded(1, 1, "2026-12-01".parse().unwrap(), Default::default());
/// assert_eq!(check_known_by_recording(&record, "2026-12-01".parse().unwrap()), Ok(()));
/// ```
pub fn check_known_by_recording(
    event: &RecordedEvent,
    recorded_on: NaiveDate,
) -> Result<(), Rejection> {
    let latest = recorded_on.succ_opt().unwrap_or(recorded_on);
    if event.reported_on > latest {
        return Err(Rejection::KnownBeforeRecorded {
            reported_on: event.reported_on,
            recorded_on,
        });
    }
    Ok(())
}

/// The rule of a retraction's dates: it is neither dated (`occurred_on`) nor reported
/// (`reported_on`) before the event it retracts.
///
/// # Example
///
/// ```
/// use detente::domain::{check_retraction_dates, NewEvent, Rejection};
/// use detente::scenario::recorded;
///
/// let lines = [
///     r#"{"id":"late","dyad":"ARM-AZE","occurred_on":"2024-06-01","reported_on":"2024-06-20","event":{"type":"DiplomatsExpelled","expelled_by":"ARM","count":1}}"#,
///     r#"{"id":"early","dyad":"ARM-AZE","occurred_on":"2024-06-01","reported_on":"2024-06-05","event":{"type":"EventRetracted","target":"late","reason":"r"}}"#,
/// ];
/// let records = recorded(lines.iter().map(|line| serde_json::from_str::<NewEvent>(line).unwrap()));
/// let refused = check_retraction_dates(&records[1], &records[0]).unwrap_err();
/// assert!(matches!(refused, Rejection::RetractionBeforeTarget { field: "reported_on", .. }));
/// ```
pub fn check_retraction_dates(
    retraction: &RecordedEvent,
    target: &RecordedEvent,
) -> Result<(), Rejection> {
    let before = |field, retraction_on, target_on| Rejection::RetractionBeforeTarget {
        target: target.id.clone(),
        field,
        retraction_on,
        target_on,
    };
    if retraction.occurred_on < target.occurred_on {
        return Err(before(
            "occurred_on",
            retraction.occurred_on,
            target.occurred_on,
        ));
    }
    if retraction.reported_on < target.reported_on {
        return Err(before(
            "reported_on",
            retraction.reported_on,
            target.reported_on,
        ));
    }
    Ok(())
}

/// Checks `event` against `state`, the fold of the dyad's effective timeline up to the event's
/// `occurred_on`: dyad and parties, dates, and items. A retraction passes here: its target is
/// checked against the log by [`check_in_history`].
///
/// The rules, in the order they are tried:
///
/// 1. The event's dyad is the state's (when the state has one): else [`Rejection::DyadMismatch`].
/// 2. Every party the event names as an actor ([`Event::parties`]) is in the dyad, and talks
///    list at most one delegation per party (their mediators and a location's country may be
///    any party).
/// 3. `reported_on` is not before `occurred_on`.
/// 4. Items, the same rules for every kind: progressing, answering, resolving, cancelling or
///    replacing an item that does not exist is [`Rejection::UnknownItem`]; raising, agreeing,
///    proposing or scheduling an id that exists is [`Rejection::DuplicateItem`]; moving an item
///    to the stage or status it already has is [`Rejection::NoChange`] (for an agreement
///    progressed `by` one party: the status it already has for that party). An agreement
///    that names steps it formalizes needs each to exist. Any other transition of
///    a step, claim, proposal, irritant, agreement or measure is allowed (a step may stall and resume, a claim
///    rejected may be discussed again). Rounds follow their life cycle: a `scheduled` round may
///    become `held`, `cancelled` or `superseded` (by a `RoundScheduled` that `replaces` it), a
///    `cancelled` one `superseded`; talks naming a `held` round are another session of it,
///    talks naming a `cancelled` one are [`Rejection::TalksOfCancelledRound`] (the message says
///    how to record a rescheduling), and the rest is [`Rejection::RoundTransition`]. Talks may
///    name a round id never scheduled: it is added, `held`.
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
    check_parties_and_dates(event)?;
    check_items(state, event)
}

/// The rules of [`check`] that need no state: every actor in the dyad, one delegation per
/// party, `reported_on` not before `occurred_on`.
fn check_parties_and_dates(event: &RecordedEvent) -> Result<(), Rejection> {
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
    if let Event::TalksHeld(talks) = &event.event
        && let Some(&party) = talks.mediators.iter().find(|m| event.dyad.contains(**m))
    {
        return Err(Rejection::MediatorInDyad {
            party,
            dyad: event.dyad,
        });
    }
    if event.reported_on < event.occurred_on {
        return Err(Rejection::ReportedBeforeOccurred {
            reported_on: event.reported_on,
            occurred_on: event.occurred_on,
        });
    }
    Ok(())
}

/// What an event does to an item: raises it (an id that must be new), or moves it to a stage
/// or status (an id that must exist, and a status it must not have already). The one table of
/// the events that touch items, which [`check`] follows for every kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemEffect<'a> {
    /// Raises, agrees, proposes or schedules the item.
    Raises(ItemKind, &'a ItemId),
    /// Moves the item to a stage or status (its wire word).
    Moves(ItemKind, &'a ItemId, String),
    /// Moves an agreement to a status (its wire word) for one party only.
    MovesFor(ItemKind, &'a ItemId, Party, String),
    /// Names an item that must exist, without changing it (the steps an agreement formalizes).
    Names(ItemKind, &'a ItemId),
}

impl ItemEffect<'_> {
    /// The item the effect names.
    pub(crate) fn item(&self) -> (ItemKind, &ItemId) {
        match self {
            ItemEffect::Raises(kind, id)
            | ItemEffect::Moves(kind, id, _)
            | ItemEffect::MovesFor(kind, id, _, _)
            | ItemEffect::Names(kind, id) => (*kind, id),
        }
    }
}

/// The item effects of `event`, in the order they apply (a rescheduling supersedes the round
/// it replaces, then schedules the new one).
pub(crate) fn item_effects(event: &Event) -> Vec<ItemEffect<'_>> {
    use super::{
        AgreementStatus, ClaimStatus, IrritantStatus, MeasureStatus, ProposalStatus, RoundStatus,
        StepStage, word,
    };
    use ItemEffect::{Moves, MovesFor, Names, Raises};
    match event {
        Event::TalksHeld(e) => match &e.round {
            Some(round) => vec![Moves(ItemKind::Round, round, word(&RoundStatus::Held))],
            None => Vec::new(),
        },
        Event::StepAgreed(e) => vec![Raises(ItemKind::Step, &e.step)],
        Event::StepProgressed(e) => {
            vec![Moves(
                ItemKind::Step,
                &e.step,
                word(&StepStage::from(e.stage)),
            )]
        }
        Event::PropertyClaimRaised(e) => vec![Raises(ItemKind::Claim, &e.claim)],
        Event::ClaimProgressed(e) => {
            vec![Moves(
                ItemKind::Claim,
                &e.claim,
                word(&ClaimStatus::from(e.status)),
            )]
        }
        Event::FlightsProposed(e) => vec![Raises(ItemKind::Proposal, &e.proposal)],
        Event::ProposalAnswered(e) => vec![Moves(
            ItemKind::Proposal,
            &e.proposal,
            word(&ProposalStatus::from(e.response)),
        )],
        Event::IrritantRaised(e) => vec![Raises(ItemKind::Irritant, &e.irritant)],
        Event::IrritantResolved(e) => vec![Moves(
            ItemKind::Irritant,
            &e.irritant,
            word(&IrritantStatus::Resolved),
        )],
        Event::RoundScheduled(e) => {
            let mut effects = Vec::with_capacity(2);
            if let Some(replaced) = &e.replaces {
                effects.push(Moves(
                    ItemKind::Round,
                    replaced,
                    word(&RoundStatus::Superseded),
                ));
            }
            effects.push(Raises(ItemKind::Round, &e.round));
            effects
        }
        Event::RoundCancelled(e) => {
            vec![Moves(
                ItemKind::Round,
                &e.round,
                word(&RoundStatus::Cancelled),
            )]
        }
        Event::AgreementReached(e) => {
            let mut effects: Vec<ItemEffect<'_>> = e
                .steps
                .iter()
                .map(|step| Names(ItemKind::Step, step))
                .collect();
            effects.push(Raises(ItemKind::Agreement, &e.agreement));
            effects
        }
        Event::AgreementProgressed(e) => {
            let to = word(&AgreementStatus::from(e.status));
            match e.by {
                Some(party) => vec![MovesFor(ItemKind::Agreement, &e.agreement, party, to)],
                None => vec![Moves(ItemKind::Agreement, &e.agreement, to)],
            }
        }
        Event::MeasureImposed(e) => vec![Raises(ItemKind::Measure, &e.measure)],
        Event::MeasureProgressed(e) => vec![Moves(
            ItemKind::Measure,
            &e.measure,
            word(&MeasureStatus::from(e.status)),
        )],
        Event::DiplomatsExpelled(_)
        | Event::MissionClosed(_)
        | Event::PrisonersReleased(_)
        | Event::MissionReopened(_)
        | Event::EventRetracted(_) => Vec::new(),
    }
}

/// The rules of items, the same for every kind: an item raised must be new, an item moved must
/// exist and not have that stage or status already; any other transition of a step, claim,
/// proposal or irritant is allowed. Rounds follow their life cycle on top
/// ([`check_round_transition`]).
fn check_items(state: &BilateralState, event: &RecordedEvent) -> Result<(), Rejection> {
    let on = event.occurred_on;
    for effect in item_effects(&event.event) {
        let (kind, id) = effect.item();
        let current = state.item_status(kind, id);
        match (&effect, current) {
            (ItemEffect::Raises(..), Some(_)) => {
                return Err(Rejection::DuplicateItem {
                    kind,
                    id: id.clone(),
                });
            }
            (ItemEffect::Raises(..), None) => {}
            // Talks may name a round never scheduled: they add it, held.
            (ItemEffect::Moves(ItemKind::Round, _, _), None)
                if matches!(event.event, Event::TalksHeld(_)) => {}
            (ItemEffect::Moves(..) | ItemEffect::MovesFor(..) | ItemEffect::Names(..), None) => {
                return Err(Rejection::UnknownItem {
                    kind,
                    id: id.clone(),
                    on,
                });
            }
            (ItemEffect::Names(..), Some(_)) => {}
            (ItemEffect::MovesFor(_, _, party, to), Some(_)) => {
                if let Some((status, since)) = state.agreement_status_for(id, *party) {
                    if *to == status {
                        return Err(Rejection::NoChange {
                            kind,
                            id: id.clone(),
                            status: format!("{status} for {party}"),
                            since,
                        });
                    }
                }
            }
            (ItemEffect::Moves(_, _, to), Some((status, since))) => {
                if kind == ItemKind::Round {
                    check_round_transition(id, &status, since, to)?;
                } else if *to == status {
                    return Err(Rejection::NoChange {
                        kind,
                        id: id.clone(),
                        status,
                        since,
                    });
                }
            }
        }
    }
    Ok(())
}

/// What to do instead of a refused round transition, where there is something to say.
fn round_hint(status: &str, to: &str) -> &'static str {
    match (status, to) {
        ("superseded", "held") => ": name the round that replaced it in the talks",
        ("held", "cancelled") => {
            ": if the talks did not take place, retract the event that records them"
        }
        _ => "",
    }
}

/// The life cycle of a round: `scheduled` may become `held`, `cancelled` or `superseded`; a
/// `cancelled` round may be `superseded` (rescheduled with `replaces`); talks naming a `held`
/// round are another session of it. Everything else is refused.
fn check_round_transition(
    round: &ItemId,
    status: &str,
    since: NaiveDate,
    to: &str,
) -> Result<(), Rejection> {
    let allowed = matches!(
        (status, to),
        ("scheduled", "held" | "cancelled" | "superseded")
            | ("cancelled", "superseded")
            | ("held", "held")
    );
    if allowed {
        return Ok(());
    }
    if (status, to) == ("cancelled", "held") {
        return Err(Rejection::TalksOfCancelledRound {
            round: round.clone(),
            cancelled_on: since,
        });
    }
    if status == to {
        return Err(Rejection::NoChange {
            kind: ItemKind::Round,
            id: round.clone(),
            status: status.to_owned(),
            since,
        });
    }
    let to = match to {
        "held" => "held",
        "cancelled" => "cancelled",
        "superseded" => "superseded",
        _ => "scheduled",
    };
    Err(Rejection::RoundTransition {
        round: round.clone(),
        status: status.to_owned(),
        since,
        to,
    })
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
///    retraction itself ([`Rejection::RetractsRetraction`]), neither dated nor reported after
///    the retraction ([`check_retraction_dates`]), and not retracted already
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
        check_retraction_dates(candidate, target)?;
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

/// A batch accepted as a whole by [`check_batch`]: the events its retractions leave without
/// effect, by retraction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchChecked {
    /// For each retraction of the batch that leaves events without effect: its index in the
    /// batch and those events' anomalies (which did not exist before the batch).
    pub left_without_effect: Vec<(usize, Vec<super::Anomaly>)>,
}

/// `docs/contract.md`, checking a new event for a batch checked as a whole: `batch` (one dyad's new records, at the
/// positions after `history`, in line order) is accepted when every one of its events is
/// valid in the effective timeline that includes all of them, whatever their order in the
/// batch, and it adds no anomaly but those of its retractions. Otherwise the error names the
/// lowest index among the events that fail, with why.
///
/// The checks: a retraction's target must be an earlier record of the dyad (stored, or on an
/// earlier line), not a retraction, not retracted already, and neither dated nor reported
/// after the retraction; every other batch event passes [`check`] against the state at its
/// place in the fold of the whole timeline (history and batch), or else is left without
/// effect by the batch's retractions, which is allowed (it takes effect in the fold without
/// them, or it names an item that one of their targets names); and a stored event that the
/// batch's retractions alone leave in effect stays in effect (the culprit named is the lowest batch event before it in the timeline
/// that names one of its items, else the lowest batch event before it). The events left
/// without effect by the batch's retractions are returned, each with the retraction whose
/// target named one of its items (else the first retraction of the batch).
///
/// # Example
///
/// ```
/// use detente::domain::{check_batch, NewEvent};
/// use detente::scenario::recorded;
///
/// // Resolved on 11 October, raised on 10 October: valid as a whole, whatever the line order.
/// let lines: Vec<NewEvent> = [
///     r#"{"dyad":"ARM-AZE","occurred_on":"2025-10-11","event":{"type":"IrritantResolved","irritant":"o-1"}}"#,
///     r#"{"dyad":"ARM-AZE","occurred_on":"2025-10-10","event":{"type":"IrritantRaised","irritant":"o-1","raised_by":"ARM","description":"d"}}"#,
/// ].iter().map(|line| serde_json::from_str(line).unwrap()).collect();
/// let batch = recorded(lines);
/// assert!(check_batch(&[], &batch).is_ok());
/// // The resolution alone fails, on its line.
/// assert_eq!(check_batch(&[], &batch[..1]).unwrap_err().0, 0);
/// ```
pub fn check_batch(
    history: &[RecordedEvent],
    batch: &[RecordedEvent],
) -> Result<BatchChecked, (usize, Rejection)> {
    let history: Vec<&RecordedEvent> = history.iter().collect();
    let batch: Vec<&RecordedEvent> = batch.iter().collect();
    check_batch_of(&history, &batch)
}

/// [`check_batch`] of borrowed records, so that the engine checks a large batch without
/// copying it.
pub(crate) fn check_batch_of(
    history: &[&RecordedEvent],
    batch: &[&RecordedEvent],
) -> Result<BatchChecked, (usize, Rejection)> {
    let (failing, checked) = batch_failures(history, batch);
    match failing.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(checked),
    }
}

/// Every failure of [`check_batch`], by batch index, and what it would return on acceptance.
fn batch_failures(
    history: &[&RecordedEvent],
    batch: &[&RecordedEvent],
) -> (std::collections::BTreeMap<usize, Rejection>, BatchChecked) {
    use std::collections::{BTreeMap, HashMap};
    let mut failing: BTreeMap<usize, Rejection> = BTreeMap::new();
    let index_of: HashMap<u64, usize> = batch
        .iter()
        .copied()
        .enumerate()
        .map(|(index, event)| (event.position, index))
        .collect();
    let by_id: HashMap<&EventId, &RecordedEvent> = history
        .iter()
        .copied()
        .chain(batch.iter().copied())
        .map(|event| (&event.id, event))
        .collect();
    // The rules that need no history hold for every event of the batch, retracted or not: a
    // retraction in the same batch does not excuse an actor outside the dyad.
    for (index, event) in batch.iter().copied().enumerate() {
        if let Err(rejection) = check_parties_and_dates(event) {
            failing.insert(index, rejection);
        }
    }
    // Retractions: their targets, by the rules that need only the records.
    let mut retracted_by: HashMap<&EventId, &EventId> = HashMap::new();
    for &event in history {
        if let Event::EventRetracted(retraction) = &event.event {
            retracted_by.entry(&retraction.target).or_insert(&event.id);
        }
    }
    for (index, event) in batch.iter().copied().enumerate() {
        let Event::EventRetracted(retraction) = &event.event else {
            continue;
        };
        let target = by_id
            .get(&retraction.target)
            .filter(|target| target.dyad == event.dyad && target.position < event.position);
        let outcome = match target {
            None => Err(Rejection::UnknownEvent {
                id: retraction.target.clone(),
                dyad: event.dyad,
            }),
            Some(target) if matches!(target.event, Event::EventRetracted(_)) => {
                Err(Rejection::RetractsRetraction {
                    id: retraction.target.clone(),
                })
            }
            Some(target) => check_retraction_dates(event, target).and_then(|()| match retracted_by
                .get(&retraction.target)
            {
                Some(by) => Err(Rejection::AlreadyRetracted {
                    id: retraction.target.clone(),
                    by: (*by).clone(),
                }),
                None => Ok(()),
            }),
        };
        match outcome {
            Ok(()) => {
                retracted_by.insert(&retraction.target, &event.id);
            }
            Err(rejection) => {
                failing.entry(index).or_insert(rejection);
            }
        }
    }
    let valid_retraction = |event: &&RecordedEvent| {
        index_of
            .get(&event.position)
            .is_none_or(|index| !failing.contains_key(index))
    };
    let everything = Query::default();
    let before = state_at(history.iter().copied(), &everything);
    let with_retractions = state_at(
        history.iter().copied().chain(
            batch
                .iter()
                .copied()
                .filter(|event| matches!(event.event, Event::EventRetracted(_)))
                .filter(valid_retraction),
        ),
        &everything,
    );
    // A batch event fails where it cannot take effect in the timeline with everything, unless
    // it takes effect without the batch's retractions: then a retraction of the batch leaves
    // it without effect, which is allowed (and warned about).
    let without_retractions: BTreeSet<EventId> = state_at(
        history.iter().copied().chain(
            batch
                .iter()
                .copied()
                .filter(|event| !matches!(event.event, Event::EventRetracted(_))),
        ),
        &everything,
    )
    .anomalies
    .iter()
    .map(|anomaly| anomaly.event_id.clone())
    .collect();
    // The items the targets of the batch's retractions name: an event about one of them may be
    // left without effect by those retractions, whatever the order of the lines.
    let retracted_items: BTreeSet<(ItemKind, ItemId)> = batch
        .iter()
        .copied()
        .filter(valid_retraction)
        .filter_map(|event| match &event.event {
            Event::EventRetracted(retraction) => by_id.get(&retraction.target),
            _ => None,
        })
        .flat_map(|target| {
            item_effects(&target.event)
                .into_iter()
                .map(|effect| {
                    let (kind, id) = effect.item();
                    (kind, id.clone())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let names_a_retracted_item = |event: &RecordedEvent| {
        item_effects(&event.event).iter().any(|effect| {
            let (kind, id) = effect.item();
            retracted_items.contains(&(kind, id.clone()))
        })
    };
    let all: Vec<&RecordedEvent> = history
        .iter()
        .copied()
        .chain(batch.iter().copied())
        .filter(valid_retraction)
        .collect();
    let timeline = super::effective_timeline(all.iter().copied(), &everything);
    let mut state = BilateralState::default();
    for event in &timeline {
        if let Some(&index) = index_of.get(&event.position) {
            if let Err(rejection) = check(&state, event) {
                if without_retractions.contains(&event.id) && !names_a_retracted_item(event) {
                    failing.entry(index).or_insert(rejection);
                }
            }
        }
        state = evolve(state, event);
    }
    let known_before: BTreeSet<&EventId> = with_retractions
        .anomalies
        .iter()
        .map(|anomaly| &anomaly.event_id)
        .collect();
    for anomaly in state.anomalies.iter() {
        if index_of.contains_key(&anomaly.position) || known_before.contains(&anomaly.event_id) {
            continue;
        }
        let Some(broken) = by_id.get(&anomaly.event_id) else {
            continue;
        };
        let place = (broken.occurred_on, broken.position);
        let before_it = batch
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, event)| !matches!(event.event, Event::EventRetracted(_)))
            .filter(|(_, event)| (event.occurred_on, event.position) < place);
        let names_its_item = |event: &RecordedEvent| {
            let theirs = item_effects(&event.event);
            item_effects(&broken.event)
                .iter()
                .any(|mine| theirs.iter().any(|other| other.item() == mine.item()))
        };
        let culprit = before_it
            .clone()
            .find(|(_, event)| names_its_item(event))
            .or_else(|| before_it.clone().next());
        if let Some((index, event)) = culprit {
            failing
                .entry(index)
                .or_insert_with(|| breaks_later(event, anomaly));
        }
    }
    let mut left_without_effect: Vec<(usize, Vec<super::Anomaly>)> = Vec::new();
    let earlier: BTreeSet<&EventId> = before.anomalies.iter().map(|a| &a.event_id).collect();
    let orphans: Vec<&super::Anomaly> = state
        .anomalies
        .iter()
        .filter(|anomaly| !earlier.contains(&anomaly.event_id))
        .collect();
    let retractions: Vec<(usize, &RecordedEvent)> = batch
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, event)| matches!(event.event, Event::EventRetracted(_)))
        .collect();
    for anomaly in orphans {
        let Some(orphan) = by_id.get(&anomaly.event_id) else {
            continue;
        };
        let theirs = item_effects(&orphan.event);
        let cause = retractions
            .iter()
            .find(|(_, retraction)| {
                let Event::EventRetracted(r) = &retraction.event else {
                    return false;
                };
                by_id.get(&r.target).is_some_and(|target| {
                    item_effects(&target.event)
                        .iter()
                        .any(|effect| theirs.iter().any(|other| other.item() == effect.item()))
                })
            })
            .or(retractions.first());
        if let Some((index, _)) = cause {
            match left_without_effect.iter_mut().find(|(i, _)| i == index) {
                Some((_, list)) => list.push(anomaly.clone()),
                None => left_without_effect.push((*index, vec![anomaly.clone()])),
            }
        }
    }
    (
        failing,
        BatchChecked {
            left_without_effect,
        },
    )
}

/// The rules a record keeps whatever the edition of the rules it was written under, so that
/// they need no history (`docs/contract.md`, checking a new event): its shape and limits, its parties (every actor in
/// its dyad, one delegation per party; a location's country may be any), `reported_on` not
/// before `occurred_on`, and, for a retraction, a `target` that is an earlier record of its
/// dyad (`target`, looked up by the caller by id: none when there is no earlier record of that
/// id) and not itself a retraction. A restore refuses a record that breaks one, and `verify`
/// reports it; a record id seen before is the store's to refuse.
///
/// ```
/// # use detente::domain::{check_record_alone, Rejection};
/// use detente::scenario::{istanbul_2025, recorded};
///
/// let mut records = recorded(istanbul_2025());
/// assert_eq!(check_record_alone(&records[0], None), Ok(()));
/// // A record forged with a date known before it happened, whatever its hash says.
/// records[0].reported_on = "2001-01-01".parse().unwrap();
/// assert!(matches!(check_record_alone(&records[0], None), Err(Rejection::ReportedBeforeOccurred { .. })));
/// ```
pub fn check_record_alone(
    record: &RecordedEvent,
    target: Option<&RecordedEvent>,
) -> Result<(), Rejection> {
    super::limits::check_limits(&record.clone().into_input())?;
    check_parties_and_dates(record)?;
    if let Event::EventRetracted(retraction) = &record.event {
        // The target is a record of its dyad, or of a dyad it continues (successions).
        let target = target.filter(|target| {
            (target.dyad == record.dyad
                || record
                    .dyad
                    .continues()
                    .iter()
                    .any(|(d, _)| *d == target.dyad))
                && target.position < record.position
        });
        match target {
            None => {
                return Err(Rejection::UnknownEvent {
                    id: retraction.target.clone(),
                    dyad: record.dyad,
                });
            }
            Some(target) if matches!(target.event, Event::EventRetracted(_)) => {
                return Err(Rejection::RetractsRetraction {
                    id: retraction.target.clone(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Names, in the reason of each anomaly of `state`, the retraction that left it without
/// effect: the retraction, among the events of `events` that `query` knows (its `known_at` and
/// `at_position`), whose target names one of the items the anomalous event names. The fold
/// cannot say it, since the target is dropped before the fold; `detente state` calls this
/// before it prints. An anomaly no retraction explains keeps its reason.
///
/// ```
/// use detente::domain::*;
/// use detente::scenario::recorded;
///
/// let lines = [
///     r#"{"id":"s1","dyad":"ARM-AZE","occurred_on":"2024-02-01","event":{"type":"StepAgreed","step":"st","description":"d"}}"#,
///     r#"{"id":"s2","dyad":"ARM-AZE","occurred_on":"2024-02-10","event":{"type":"StepProgressed","step":"st","stage":"implementing"}}"#,
///     r#"{"id":"x1","dyad":"ARM-AZE","occurred_on":"2024-03-01","event":{"type":"EventRetracted","target":"s1","reason":"r"}}"#,
/// ];
/// let events = recorded(lines.iter().map(|line| serde_json::from_str::<NewEvent>(line).unwrap()));
/// let mut state = state_at(&events, &Query::default());
/// explain_anomalies(&mut state, &events, &Query::default());
/// assert!(state.anomalies[0].reason.ends_with("(left without effect by the retraction `x1` of `s1`)"));
/// ```
pub fn explain_anomalies(state: &mut BilateralState, events: &[RecordedEvent], query: &Query) {
    if state.anomalies.is_empty() {
        return;
    }
    let known: Vec<&RecordedEvent> = events
        .iter()
        .filter(|event| query.at_position.is_none_or(|at| event.position <= at))
        .filter(|event| query.known_at.is_none_or(|at| event.reported_on <= at))
        .collect();
    let by_id: std::collections::HashMap<&EventId, &RecordedEvent> =
        known.iter().map(|event| (&event.id, *event)).collect();
    let by_position: std::collections::HashMap<u64, &RecordedEvent> =
        known.iter().map(|event| (event.position, *event)).collect();
    let retractions: Vec<(&RecordedEvent, &RecordedEvent)> = known
        .iter()
        .filter_map(|event| match &event.event {
            Event::EventRetracted(retraction) => by_id
                .get(&retraction.target)
                .map(|target| (*event, *target)),
            _ => None,
        })
        .collect();
    let explained: Vec<super::Anomaly> = state
        .anomalies
        .iter()
        .map(|anomaly| {
            let mut anomaly = anomaly.clone();
            let Some(event) = by_position.get(&anomaly.position) else {
                return anomaly;
            };
            let items: Vec<(ItemKind, ItemId)> = item_effects(&event.event)
                .iter()
                .map(|effect| {
                    let (kind, id) = effect.item();
                    (kind, id.clone())
                })
                .collect();
            let cause = retractions.iter().find(|(_, target)| {
                item_effects(&target.event).iter().any(|effect| {
                    let (kind, id) = effect.item();
                    items.iter().any(|(k, i)| *k == kind && i == id)
                })
            });
            if let Some((retraction, target)) = cause {
                anomaly.reason = format!(
                    "{} (left without effect by the retraction `{}` of `{}`)",
                    anomaly.reason, retraction.id, target.id
                );
            }
            anomaly
        })
        .collect();
    state.anomalies = explained.into();
}

/// A record of a stored log that breaks a rule that depends on history (items that must exist,
/// transitions, rounds, a retraction's dates, knowledge time ahead of recording): rules that
/// changed over the editions, which a genuine older log may break. `verify` and a restore
/// report them; `--strict` makes a restore refuse them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The record's position.
    pub position: u64,
    /// Its id.
    pub id: EventId,
    /// The rule it breaks, as the recorder's message.
    pub reason: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "position {} (`{}`): {}",
            self.position, self.id, self.reason
        )
    }
}

/// The findings of one dyad's log (its records in position order): each record that breaks a
/// rule of history, as [`check_batch`] of the whole log sees it (so a record that only a later
/// retraction leaves without effect is no finding), and each whose `reported_on` is ahead of
/// the day it was recorded ([`check_known_by_recording`] with its `recorded_at`).
///
/// ```
/// use detente::domain::findings;
/// use detente::scenario::{istanbul_2025, recorded};
///
/// let mut log = recorded(istanbul_2025());
/// // `recorded` dates every record 1970; say they were recorded in March 2025.
/// for record in &mut log {
///     record.recorded_at = "2025-03-02T00:00:00Z".parse().unwrap();
/// }
/// assert!(findings(&log).is_empty());
/// // A record known two years before it was recorded: a finding, with its position.
/// log[3].reported_on = "2027-03-02".parse().unwrap();
/// assert_eq!(findings(&log)[0].position, 4);
/// ```
pub fn findings<'a>(log: impl IntoIterator<Item = &'a RecordedEvent>) -> Vec<Finding> {
    let log: Vec<&RecordedEvent> = log.into_iter().collect();
    let (failing, _) = batch_failures(&[], &log);
    let mut found: std::collections::BTreeMap<usize, String> = failing
        .into_iter()
        .map(|(index, rejection)| (index, rejection.to_string()))
        .collect();
    for (index, record) in log.iter().copied().enumerate() {
        if let Err(rejection) = check_known_by_recording(record, record.recorded_at.date_naive()) {
            found.entry(index).or_insert_with(|| rejection.to_string());
        }
    }
    found
        .into_iter()
        .map(|(index, reason)| Finding {
            position: log[index].position,
            id: log[index].id.clone(),
            reason,
        })
        .collect()
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
