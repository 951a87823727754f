//! Checking a new fact against the state it lands in: DESIGN section 4.

use chrono::NaiveDate;

use super::{BilateralState, Dyad, EventId, ItemId, Party, RecordedEvent};

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
    #[error("party {party} is outside the dyad {dyad}")]
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
    #[error("{kind} `{id}` does not exist on {on}")]
    UnknownItem {
        /// What kind of item.
        kind: ItemKind,
        /// Its id.
        id: ItemId,
        /// The event's date.
        on: NaiveDate,
    },
    /// The event raises an item whose id already exists.
    #[error("{kind} `{id}` already exists")]
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
pub fn check(state: &BilateralState, event: &RecordedEvent) -> Result<(), Rejection> {
    let _ = (state, event);
    todo!("issue 2")
}

/// The whole of DESIGN section 4 for one candidate against a dyad's recorded events (in any
/// order): [`check`] against the state at its date, retraction targets, and the rule that a
/// retroactive event must not make a later event fail. The reference the engine's faster path
/// is tested against.
pub fn check_in_history(
    history: &[RecordedEvent],
    candidate: &RecordedEvent,
) -> Result<(), Rejection> {
    let _ = (history, candidate);
    todo!("issue 2")
}
