//! The built-in projection, [`BilateralState`], and its fold step, [`evolve`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    Category, ClaimProgress, Dyad, EventId, ItemId, Location, Party, Person, Property,
    ProposalResponse, RecordedEvent, Source, StepProgress, TalksFormat, TalksLevel, YearRange,
};

/// The state of a dyad's relationship: the fold of its effective timeline.
///
/// `detente state --json` prints exactly this value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BilateralState {
    /// The dyad, once an event has been folded.
    pub dyad: Option<Dyad>,
    /// Rounds of talks, in effective order.
    pub rounds: Vec<Round>,
    /// Agreed steps, by id.
    pub steps: BTreeMap<ItemId, Step>,
    /// Property claims, by id.
    pub claims: BTreeMap<ItemId, Claim>,
    /// Proposals, by id.
    pub proposals: BTreeMap<ItemId, Proposal>,
    /// Irritants, by id.
    pub irritants: BTreeMap<ItemId, Irritant>,
    /// The next round, scheduled, cancelled or held.
    pub next_round: Option<NextRound>,
    /// Diplomats expelled and missions closed, by acting party.
    pub reciprocity: Reciprocity,
    /// How many events took effect.
    pub events_applied: u64,
    /// The highest position folded (0 for none).
    pub position: u64,
    /// Events that could not take effect, in fold order.
    pub anomalies: Vec<Anomaly>,
}

/// A round of talks held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// The event that recorded it.
    pub event_id: EventId,
    /// The round id, where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<ItemId>,
    /// The date held.
    pub held_on: NaiveDate,
    /// Where.
    pub location: Location,
    /// Open or closed door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TalksFormat>,
    /// Minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
    /// Level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<TalksLevel>,
    /// Heads of delegation, by party.
    pub heads: BTreeMap<Party, Person>,
    /// Topics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// Who reported it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

/// A dated change of an item's stage or status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change<S> {
    /// When it took effect (the event's `occurred_on`).
    pub on: NaiveDate,
    /// The stage or status from then on.
    pub to: S,
    /// The event that made the change.
    pub event_id: EventId,
}

/// The stage of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStage {
    /// Agreed.
    Agreed,
    /// Written down formally.
    Formalized,
    /// Being carried out.
    Implementing,
    /// Carried out.
    Implemented,
    /// Stuck.
    Stalled,
    /// Undone.
    Reversed,
    /// Abandoned.
    Withdrawn,
}

impl From<StepProgress> for StepStage {
    fn from(progress: StepProgress) -> Self {
        match progress {
            StepProgress::Formalized => StepStage::Formalized,
            StepProgress::Implementing => StepStage::Implementing,
            StepProgress::Implemented => StepStage::Implemented,
            StepProgress::Stalled => StepStage::Stalled,
            StepProgress::Reversed => StepStage::Reversed,
            StepProgress::Withdrawn => StepStage::Withdrawn,
        }
    }
}

/// An agreed step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What was agreed.
    pub description: String,
    /// Its category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Reciprocal or not.
    pub reciprocal: bool,
    /// The current stage.
    pub stage: StepStage,
    /// When it was agreed.
    pub agreed_on: NaiveDate,
    /// When it last changed.
    pub changed_on: NaiveDate,
    /// Every stage it has had, the first being `agreed`.
    pub history: Vec<Change<StepStage>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

/// The status of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Raised, nothing more.
    Open,
    /// Being discussed.
    UnderDiscussion,
    /// A roadmap to settle it was agreed.
    RoadmapAgreed,
    /// Rejected by the other side.
    Rejected,
    /// Settled.
    Resolved,
    /// Withdrawn by the claimant.
    Withdrawn,
}

impl From<ClaimProgress> for ClaimStatus {
    fn from(progress: ClaimProgress) -> Self {
        match progress {
            ClaimProgress::UnderDiscussion => ClaimStatus::UnderDiscussion,
            ClaimProgress::RoadmapAgreed => ClaimStatus::RoadmapAgreed,
            ClaimProgress::Rejected => ClaimStatus::Rejected,
            ClaimProgress::Resolved => ClaimStatus::Resolved,
            ClaimProgress::Withdrawn => ClaimStatus::Withdrawn,
        }
    }
}

/// A property claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Who claims.
    pub claimant: Party,
    /// How many properties (the count given, else the number listed).
    pub count: u32,
    /// The properties named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// When they were seized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seized_between: Option<YearRange>,
    /// The claimant's framing, quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characterization: Option<String>,
    /// The current status.
    pub status: ClaimStatus,
    /// When it was raised.
    pub raised_on: NaiveDate,
    /// When it last changed.
    pub changed_on: NaiveDate,
    /// Every status it has had, the first being `open`.
    pub history: Vec<Change<ClaimStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

/// The status of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Proposed, not answered.
    Proposed,
    /// Accepted.
    Accepted,
    /// Rejected.
    Rejected,
    /// Put off.
    Deferred,
    /// Accepted on conditions.
    Conditioned,
}

impl From<ProposalResponse> for ProposalStatus {
    fn from(response: ProposalResponse) -> Self {
        match response {
            ProposalResponse::Accepted => ProposalStatus::Accepted,
            ProposalResponse::Rejected => ProposalStatus::Rejected,
            ProposalResponse::Deferred => ProposalStatus::Deferred,
            ProposalResponse::Conditioned => ProposalStatus::Conditioned,
        }
    }
}

/// A proposal (of flights).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Who proposed.
    pub proposer: Party,
    /// Routes named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    /// Conditions attached by the proposal and by its answers, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// The current status.
    pub status: ProposalStatus,
    /// When it was proposed.
    pub proposed_on: NaiveDate,
    /// When it last changed.
    pub changed_on: NaiveDate,
    /// Every status it has had, the first being `proposed`.
    pub history: Vec<Change<ProposalStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

/// The status of an irritant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IrritantStatus {
    /// Raised and not resolved.
    Open,
    /// Resolved.
    Resolved,
}

/// An irritant in the relationship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Irritant {
    /// Who raised it.
    pub raised_by: Party,
    /// What it is.
    pub description: String,
    /// Its category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// The current status.
    pub status: IrritantStatus,
    /// When it was raised.
    pub raised_on: NaiveDate,
    /// When it last changed.
    pub changed_on: NaiveDate,
    /// Every status it has had, the first being `open`.
    pub history: Vec<Change<IrritantStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

/// The status of the next round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextRoundStatus {
    /// Scheduled.
    Scheduled,
    /// Cancelled.
    Cancelled,
    /// Held (talks naming it took place).
    Held,
}

/// The last round scheduled and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextRound {
    /// Its id.
    pub round: ItemId,
    /// Scheduled, cancelled or held.
    pub status: NextRoundStatus,
    /// When it was scheduled.
    pub scheduled_on: NaiveDate,
    /// When it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_on: Option<NaiveDate>,
    /// Where it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Who cancelled it, where it was cancelled and that is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<Party>,
    /// When it was cancelled or held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_on: Option<NaiveDate>,
}

/// A mission or facility closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedMission {
    /// The facility.
    pub facility: String,
    /// When.
    pub closed_on: NaiveDate,
}

/// The reciprocity ledger: diplomats expelled and missions closed, by acting party.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reciprocity {
    /// Diplomats expelled, summed by the expelling party.
    pub diplomats_expelled: BTreeMap<Party, u64>,
    /// Missions closed, by the closing party, in effective order.
    pub missions_closed: BTreeMap<Party, Vec<ClosedMission>>,
}

/// An event that could not take effect, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anomaly {
    /// Its position.
    pub position: u64,
    /// Its id.
    pub event_id: EventId,
    /// Why it could not take effect (a [`Rejection`](super::Rejection)'s message).
    pub reason: String,
}

/// Folds one recorded event into the state. Total: never panics and never fails; an event that
/// cannot take effect is listed in `anomalies` and otherwise ignored.
pub fn evolve(state: BilateralState, event: &RecordedEvent) -> BilateralState {
    let _ = event;
    todo!("issue 2: {state:?}")
}
