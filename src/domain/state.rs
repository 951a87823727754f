//! The built-in projection, [`BilateralState`], and its fold step, [`evolve`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    AgreementForm, AgreementKind, AgreementProgress, Category, ClaimProgress, Dyad, Event, EventId,
    ItemId, Location, MeasureKind, MeasureProgress, Party, Person, Property, ProposalResponse,
    RecordedEvent, SharedMap, SharedVec, Source, StepProgress, TalksFormat, TalksLevel, YearRange,
};

/// The state of a dyad's relationship: the fold of its effective timeline.
///
/// `detente state --json` prints exactly this value.
///
/// Everything in it that grows with the dyad's history (the rounds, the items and each item's
/// history, sources and conditions, the missions closed, the anomalies) is a persistent
/// [`SharedVec`] or [`SharedMap`]: a clone costs a few reference counts whatever the history,
/// and a clone changed by a later fold copies only the small nodes on the paths it changed,
/// sharing the rest (entries included) with the original. That makes snapshots of one dyad
/// cheap to take and to keep. They read like `Vec` and `BTreeMap`, and compare, print and
/// serialize like them. What is bounded by one event (a round's heads, topics and sources, a
/// claim's properties, a proposal's routes) and the ledger of diplomats expelled (one line per
/// party) stay plain `Vec`s and `BTreeMap`s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BilateralState {
    /// The dyad, once an event has been folded.
    pub dyad: Option<Dyad>,
    /// Rounds of talks, in effective order.
    pub rounds: SharedVec<Round>,
    /// Agreed steps, by id.
    pub steps: SharedMap<ItemId, Step>,
    /// Property claims, by id.
    pub claims: SharedMap<ItemId, Claim>,
    /// Proposals, by id.
    pub proposals: SharedMap<ItemId, Proposal>,
    /// Irritants, by id.
    pub irritants: SharedMap<ItemId, Irritant>,
    /// Agreements, by id.
    #[serde(default, skip_serializing_if = "SharedMap::is_empty")]
    pub agreements: SharedMap<ItemId, Agreement>,
    /// Coercive measures, by id.
    #[serde(default, skip_serializing_if = "SharedMap::is_empty")]
    pub measures: SharedMap<ItemId, Measure>,
    /// Every round named by an id, by id: scheduled by a `RoundScheduled` (or held under an id
    /// never scheduled), with its status, dates and history. A round cancelled or replaced
    /// stays here with that outcome.
    pub scheduled_rounds: SharedMap<ItemId, ScheduledRound>,
    /// The next round, derived from `scheduled_rounds`: the round still `scheduled` that is
    /// expected soonest (the latest scheduled when none has an expected date), or none.
    pub next_round: Option<NextRound>,
    /// Diplomats expelled and missions closed, by acting party.
    pub reciprocity: Reciprocity,
    /// How many events took effect.
    pub events_applied: u64,
    /// The highest position folded (0 for none).
    pub position: u64,
    /// Events that could not take effect, in fold order.
    pub anomalies: SharedVec<Anomaly>,
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
    /// Third parties that facilitated the talks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mediators: Vec<Party>,
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
    pub history: SharedVec<Change<StepStage>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub sources: SharedVec<Source>,
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
    pub history: SharedVec<Change<ClaimStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub sources: SharedVec<Source>,
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
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub conditions: SharedVec<String>,
    /// The current status.
    pub status: ProposalStatus,
    /// When it was proposed.
    pub proposed_on: NaiveDate,
    /// When it last changed.
    pub changed_on: NaiveDate,
    /// Every status it has had, the first being `proposed`.
    pub history: SharedVec<Change<ProposalStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub sources: SharedVec<Source>,
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
    pub history: SharedVec<Change<IrritantStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub sources: SharedVec<Source>,
}

/// The status of an agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    /// A text agreed, neither initialled nor signed.
    Agreed,
    /// Initialled.
    Initialled,
    /// Signed.
    Signed,
    /// Ratified.
    Ratified,
    /// In force.
    InForce,
    /// Suspended.
    Suspended,
    /// Terminated.
    Terminated,
    /// Left (withdrawn from).
    Withdrawn,
}

impl From<AgreementForm> for AgreementStatus {
    fn from(form: AgreementForm) -> Self {
        match form {
            AgreementForm::Agreed => AgreementStatus::Agreed,
            AgreementForm::Initialled => AgreementStatus::Initialled,
            AgreementForm::Signed => AgreementStatus::Signed,
        }
    }
}

impl From<AgreementProgress> for AgreementStatus {
    fn from(progress: AgreementProgress) -> Self {
        match progress {
            AgreementProgress::Initialled => AgreementStatus::Initialled,
            AgreementProgress::Signed => AgreementStatus::Signed,
            AgreementProgress::Ratified => AgreementStatus::Ratified,
            AgreementProgress::InForce => AgreementStatus::InForce,
            AgreementProgress::Suspended => AgreementStatus::Suspended,
            AgreementProgress::Terminated => AgreementStatus::Terminated,
            AgreementProgress::Withdrawn => AgreementStatus::Withdrawn,
        }
    }
}

/// An agreement reached between the parties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Its title.
    pub title: String,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AgreementKind>,
    /// The steps it formalizes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<ItemId>,
    /// Where it was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Location>,
    /// The status of the agreement as a whole.
    pub status: AgreementStatus,
    /// When it was reached.
    pub reached_on: NaiveDate,
    /// When its status as a whole last changed.
    pub changed_on: NaiveDate,
    /// Every status it has had as a whole, the first being its form.
    pub history: SharedVec<Change<AgreementStatus>>,
    /// The statuses it took for one party (an `AgreementProgressed` with `by`), by party:
    /// each party's changes in order, the last being its current status.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_party: BTreeMap<Party, SharedVec<Change<AgreementStatus>>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub sources: SharedVec<Source>,
}

impl Agreement {
    /// Its current status for `party` (set by an `AgreementProgressed` with `by`) and the
    /// date it took it; none when no event gave it a status for that party.
    ///
    /// ```
    /// use detente::domain::{state_at, AgreementStatus, NewEvent, Query};
    /// use detente::scenario::recorded;
    ///
    /// let lines = [
    ///     r#"{"dyad":"SUN-USA","occurred_on":"1987-12-08","event":{"type":"AgreementReached","agreement":"inf","title":"INF Treaty"}}"#,
    ///     r#"{"dyad":"SUN-USA","occurred_on":"1988-05-27","event":{"type":"AgreementProgressed","agreement":"inf","status":"ratified","by":"USA"}}"#,
    /// ];
    /// let events = recorded(lines.iter().map(|line| serde_json::from_str::<NewEvent>(line).unwrap()));
    /// let state = state_at(&events, &Query::default());
    /// let inf = state.agreements.get("inf").unwrap();
    /// assert_eq!(inf.status, AgreementStatus::Signed);
    /// assert_eq!(inf.status_for("USA".parse().unwrap()), Some((AgreementStatus::Ratified, "1988-05-27".parse().unwrap())));
    /// assert_eq!(inf.status_for("SUN".parse().unwrap()), None);
    /// assert_eq!(state.agreement_status_for(&"inf".parse().unwrap(), "USA".parse().unwrap()).unwrap().0, "ratified");
    /// ```
    pub fn status_for(&self, party: Party) -> Option<(AgreementStatus, NaiveDate)> {
        let change = self.by_party.get(&party)?.iter().last()?;
        Some((change.to, change.on))
    }
}

/// The status of a coercive measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureStatus {
    /// Imposed and in force.
    InForce,
    /// Eased.
    Eased,
    /// Suspended.
    Suspended,
    /// Lifted.
    Lifted,
    /// Imposed again.
    Reimposed,
}

impl From<MeasureProgress> for MeasureStatus {
    fn from(progress: MeasureProgress) -> Self {
        match progress {
            MeasureProgress::Eased => MeasureStatus::Eased,
            MeasureProgress::Suspended => MeasureStatus::Suspended,
            MeasureProgress::Lifted => MeasureStatus::Lifted,
            MeasureProgress::Reimposed => MeasureStatus::Reimposed,
        }
    }
}

/// A coercive measure one party imposed on the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Who imposed it.
    pub imposed_by: Party,
    /// Its kind.
    pub kind: MeasureKind,
    /// What it is.
    pub description: String,
    /// The current status.
    pub status: MeasureStatus,
    /// When it was imposed.
    pub imposed_on: NaiveDate,
    /// When it last changed.
    pub changed_on: NaiveDate,
    /// Every status it has had, the first being `in_force`.
    pub history: SharedVec<Change<MeasureStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub sources: SharedVec<Source>,
}

/// The status of a round scheduled: its life cycle is `scheduled`, then `held`, `cancelled`
/// or `superseded` (replaced by another round's `replaces`); a cancelled round may still be
/// superseded by its rescheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    /// Scheduled, not yet held.
    Scheduled,
    /// Cancelled.
    Cancelled,
    /// Held (talks naming it took place).
    Held,
    /// Replaced by another round scheduled with `replaces`.
    Superseded,
}

/// The status of the next round: a [`RoundStatus`] (always `scheduled`, since the next round
/// is derived from the rounds still scheduled).
pub type NextRoundStatus = RoundStatus;

/// A round named by an id, with what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledRound {
    /// Its current status.
    pub status: RoundStatus,
    /// When it was scheduled (none for a round held under an id never scheduled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_on: Option<NaiveDate>,
    /// When it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_on: Option<NaiveDate>,
    /// Where it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The round it replaces, where it was scheduled with `replaces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ItemId>,
    /// The round that replaced it, once superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<ItemId>,
    /// Who cancelled it, where it was cancelled and that is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<Party>,
    /// How many talks named it (sessions of a multi-day round each count).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sessions: u32,
    /// When it last changed status.
    pub changed_on: NaiveDate,
    /// Every status it has had, the first being `scheduled` (or `held`).
    pub history: SharedVec<Change<RoundStatus>>,
    /// Every source of every event about it, without repeats.
    #[serde(default, skip_serializing_if = "SharedVec::is_empty")]
    pub sources: SharedVec<Source>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The next round: the round still scheduled that is expected soonest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextRound {
    /// Its id.
    pub round: ItemId,
    /// Its status (`scheduled`).
    pub status: NextRoundStatus,
    /// When it was scheduled.
    pub scheduled_on: NaiveDate,
    /// When it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_on: Option<NaiveDate>,
    /// Where it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Who cancelled it (kept for the shape of earlier editions: the next round is never
    /// cancelled, so this is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<Party>,
    /// When it last changed (absent while it is only scheduled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_on: Option<NaiveDate>,
}

/// The next round of `rounds`: the round still `scheduled` expected soonest (ties: the latest
/// scheduled), or, when none of them has an expected date, the latest scheduled; none when no
/// round is still scheduled.
///
/// # Example
///
/// ```
/// use detente::domain::{next_round_of, state_at, NewEvent, Query};
/// use detente::scenario::recorded;
///
/// let lines = [
///     r#"{"dyad":"ARM-AZE","occurred_on":"2025-03-01","event":{"type":"RoundScheduled","round":"later","expected_on":"2025-06-01"}}"#,
///     r#"{"dyad":"ARM-AZE","occurred_on":"2025-03-05","event":{"type":"RoundScheduled","round":"sooner","expected_on":"2025-05-01"}}"#,
/// ];
/// let events = recorded(lines.iter().map(|line| serde_json::from_str::<NewEvent>(line).unwrap()));
/// let state = state_at(&events, &Query::default());
/// let next = next_round_of(&state.scheduled_rounds).unwrap();
/// assert_eq!(next.round.as_str(), "sooner");
/// assert_eq!(state.next_round, Some(next));
/// ```
pub fn next_round_of(rounds: &SharedMap<ItemId, ScheduledRound>) -> Option<NextRound> {
    let scheduled: Vec<(&ItemId, &ScheduledRound, NaiveDate)> = rounds
        .iter()
        .filter_map(|(id, round)| {
            let scheduled_on = round.scheduled_on?;
            (round.status == RoundStatus::Scheduled).then_some((id, round, scheduled_on))
        })
        .collect();
    let with_date = scheduled
        .iter()
        .filter_map(|(id, round, on)| round.expected_on.map(|expected| (expected, on, id, round)))
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)).then(a.2.cmp(b.2)));
    let (id, round, scheduled_on) = match with_date {
        Some((_, on, id, round)) => (*id, *round, *on),
        None => *scheduled
            .iter()
            .max_by(|a, b| a.2.cmp(&b.2).then(b.0.cmp(a.0)))?,
    };
    Some(NextRound {
        round: id.clone(),
        status: RoundStatus::Scheduled,
        scheduled_on,
        expected_on: round.expected_on,
        location: round.location.clone(),
        cancelled_by: None,
        changed_on: None,
    })
}

/// The life cycle every kind of item shares (steps, claims, proposals, irritants, rounds): a
/// current stage or status, the date of its last change, the history of its changes and the
/// sources of every event about it. The fold moves items through [`LifeCycle::change`] and the
/// checks read them through [`LifeCycle::status`], whatever their kind.
pub trait LifeCycle {
    /// The item's stage or status.
    type Status: Copy + Eq + Serialize;
    /// Its current stage or status.
    fn status(&self) -> Self::Status;
    /// When it last changed.
    fn changed_on(&self) -> NaiveDate;
    /// When it first appeared (its first change).
    fn first_on(&self) -> NaiveDate;
    /// Moves it to `to` on `on` by `event_id`: sets the status and `changed_on`, appends to
    /// the history, and adds the event's sources.
    fn change(&mut self, on: NaiveDate, to: Self::Status, event_id: &EventId, sources: &[Source]);
    /// Adds an event's sources without a change of status.
    fn add_sources(&mut self, sources: &[Source]);
}

/// Implements [`LifeCycle`] for an item struct whose status field is `$status` (and which has
/// `changed_on`, `history` and `sources`).
macro_rules! life_cycle {
    ($item:ty, $status_type:ty, $status:ident) => {
        impl LifeCycle for $item {
            type Status = $status_type;
            fn status(&self) -> $status_type {
                self.$status
            }
            fn changed_on(&self) -> NaiveDate {
                self.changed_on
            }
            fn first_on(&self) -> NaiveDate {
                self.history
                    .iter()
                    .next()
                    .map_or(self.changed_on, |change| change.on)
            }
            fn change(
                &mut self,
                on: NaiveDate,
                to: $status_type,
                event_id: &EventId,
                sources: &[Source],
            ) {
                self.$status = to;
                self.changed_on = on;
                self.history.push(Change {
                    on,
                    to,
                    event_id: event_id.clone(),
                });
                merge_sources(&mut self.sources, sources);
            }
            fn add_sources(&mut self, sources: &[Source]) {
                merge_sources(&mut self.sources, sources);
            }
        }
    };
}

life_cycle!(Step, StepStage, stage);
life_cycle!(Claim, ClaimStatus, status);
life_cycle!(Proposal, ProposalStatus, status);
life_cycle!(Irritant, IrritantStatus, status);
life_cycle!(ScheduledRound, RoundStatus, status);
life_cycle!(Agreement, AgreementStatus, status);
life_cycle!(Measure, MeasureStatus, status);

/// The wire word of a unit enum (`agreed`, `under_discussion`…).
pub(crate) fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::from("?"),
    }
}

/// The current status of an item as its wire word, and the date it took it.
fn status_of<I: LifeCycle>(item: &I) -> (String, NaiveDate) {
    (word(&item.status()), item.changed_on())
}

impl BilateralState {
    /// How many items are on the agenda: steps, claims, proposals, irritants, agreements and
    /// measures (rounds are counted apart).
    ///
    /// ```
    /// # use detente::domain::{state_at, Query};
    /// let events = detente::scenario::recorded(detente::scenario::istanbul_2025());
    /// let state = state_at(&events, &Query::default());
    /// assert_eq!(state.agenda_items(), state.steps.len() + state.claims.len()
    ///     + state.proposals.len() + state.irritants.len());
    /// ```
    pub fn agenda_items(&self) -> usize {
        self.steps.len()
            + self.claims.len()
            + self.proposals.len()
            + self.irritants.len()
            + self.agreements.len()
            + self.measures.len()
    }

    /// The current stage or status of the item `id` of `kind` (as its wire word: `agreed`,
    /// `open`, `held`…) and the date it took it; none when there is no such item.
    ///
    /// ```
    /// # use detente::domain::{BilateralState, ItemKind};
    /// assert_eq!(BilateralState::default().item_status(ItemKind::Step, &"s".parse().unwrap()), None);
    /// ```
    pub fn item_status(&self, kind: super::ItemKind, id: &ItemId) -> Option<(String, NaiveDate)> {
        use super::ItemKind;
        match kind {
            ItemKind::Step => self.steps.get(id).map(status_of),
            ItemKind::Claim => self.claims.get(id).map(status_of),
            ItemKind::Proposal => self.proposals.get(id).map(status_of),
            ItemKind::Irritant => self.irritants.get(id).map(status_of),
            ItemKind::Round => self.scheduled_rounds.get(id).map(status_of),
            ItemKind::Agreement => self.agreements.get(id).map(status_of),
            ItemKind::Measure => self.measures.get(id).map(status_of),
        }
    }

    /// The current status of the agreement `id` for `party` (as its wire word) and the date
    /// it took it: none when there is no such agreement or no status was given for `party`
    /// ([`Agreement::status_for`] has an example).
    ///
    /// ```
    /// # use detente::domain::BilateralState;
    /// assert_eq!(BilateralState::default().agreement_status_for(&"inf".parse().unwrap(), "USA".parse().unwrap()), None);
    /// ```
    pub fn agreement_status_for(&self, id: &ItemId, party: Party) -> Option<(String, NaiveDate)> {
        let (status, on) = self.agreements.get(id)?.status_for(party)?;
        Some((word(&status), on))
    }
}

/// A mission or facility closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedMission {
    /// The facility.
    pub facility: String,
    /// When.
    pub closed_on: NaiveDate,
    /// When it reopened (a `MissionReopened` of the same facility), where it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_on: Option<NaiveDate>,
}

/// A mission or facility reopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenedMission {
    /// The facility.
    pub facility: String,
    /// When.
    pub reopened_on: NaiveDate,
    /// Whether the ledger holds its closing (a `MissionClosed` of the same facility, by either
    /// party, not reopened before).
    pub was_closed: bool,
}

/// One release of prisoners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrisonerRelease {
    /// When.
    pub released_on: NaiveDate,
    /// How many.
    pub count: u32,
    /// Their names, where reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The exchange it was part of, where one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
}

/// The reciprocity ledger: diplomats expelled, missions closed and reopened, prisoners
/// released, by acting party.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reciprocity {
    /// Diplomats expelled, summed by the expelling party.
    pub diplomats_expelled: BTreeMap<Party, u64>,
    /// Missions closed, by the closing party, in effective order.
    pub missions_closed: BTreeMap<Party, SharedVec<ClosedMission>>,
    /// Prisoners released, by the releasing party, in effective order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prisoners_released: BTreeMap<Party, SharedVec<PrisonerRelease>>,
    /// Missions reopened, by the acting party, in effective order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub missions_reopened: BTreeMap<Party, SharedVec<ReopenedMission>>,
}

impl Reciprocity {
    /// How many prisoners `party` released in all (saturating).
    ///
    /// ```
    /// use detente::domain::{state_at, NewEvent, Query};
    /// use detente::scenario::recorded;
    ///
    /// let lines = [
    ///     r#"{"dyad":"RUS-USA","occurred_on":"2024-08-01","event":{"type":"PrisonersReleased","released_by":"RUS","count":16}}"#,
    ///     r#"{"dyad":"RUS-USA","occurred_on":"2025-02-11","event":{"type":"PrisonersReleased","released_by":"RUS","count":1}}"#,
    /// ];
    /// let events = recorded(lines.iter().map(|line| serde_json::from_str::<NewEvent>(line).unwrap()));
    /// let ledger = state_at(&events, &Query::default()).reciprocity;
    /// assert_eq!(ledger.prisoners_released_by("RUS".parse().unwrap()), 17);
    /// assert_eq!(ledger.prisoners_released_by("USA".parse().unwrap()), 0);
    /// ```
    pub fn prisoners_released_by(&self, party: Party) -> u64 {
        self.prisoners_released.get(&party).map_or(0, |releases| {
            releases.iter().fold(0u64, |sum, release| {
                sum.saturating_add(u64::from(release.count))
            })
        })
    }
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

/// Folds one recorded event into the state. Total: never panics and never fails, whatever the
/// sequence; an event that cannot take effect is listed in `anomalies` and otherwise ignored.
///
/// The rules, in order:
///
/// - `position` becomes the highest position folded so far, anomalies included.
/// - `dyad` is set from the first event folded; an event of another dyad is an anomaly.
/// - The event is [`check`](super::check)ed against the state. On a [`Rejection`](super::Rejection)
///   it is appended to `anomalies` (its position, its id, and the rejection's message as the
///   reason) and has no other effect.
/// - Otherwise it takes effect (`docs/events.md`, each type's effect) and `events_applied` counts it. An
///   `EventRetracted` takes effect as a no-op apart from being counted: retractions are applied
///   by the query, which drops their targets before the fold (see [`state_at`](super::state_at)).
///
/// Effects worth spelling out: an item's `history` starts with its first stage or status, each
/// later change appends `Change { on: occurred_on, to, event_id }` and sets `changed_on`; its
/// `sources` are the union of the sources of every event about it, in first-seen order and
/// without repeats. A claim's `count` is the count given, else the number of properties listed.
/// A `ProposalAnswered` appends its conditions to the proposal's. Rounds are items too
/// (`scheduled_rounds`): a `RoundScheduled` adds one at `scheduled` and makes the round it
/// `replaces` `superseded`; a `RoundCancelled` cancels one; a `TalksHeld` naming a round
/// scheduled marks it `held` (naming one held already, it is another session; naming an id
/// never scheduled, it adds the round at `held`); `next_round` is then derived again
/// ([`next_round_of`]). Every `TalksHeld` appends a [`Round`] (a session), in fold order. The reciprocity
/// ledger sums diplomats expelled (saturating) and lists missions closed by acting party.
///
/// # Example
///
/// ```
/// use detente::domain::{evolve, BilateralState, DiplomatsExpelled, Event, NewEvent};
///
/// let expelled = NewEvent::new(
///     "RUS-USA".parse().unwrap(),
///     "2018-03-26".parse().unwrap(),
///     Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by: "USA".parse().unwrap(), count: 60 }),
/// )
/// .into_recorded(1, 1, "2018-03-26".parse().unwrap(), Default::default());
/// let state = evolve(BilateralState::default(), &expelled);
/// assert_eq!(state.reciprocity.diplomats_expelled[&"USA".parse().unwrap()], 60);
/// assert_eq!((state.events_applied, state.position), (1, 1));
///
/// // The same event again, for another dyad: an anomaly, not a panic.
/// let mut other = expelled.clone();
/// other.dyad = "CHN-USA".parse().unwrap();
/// other.position = 2;
/// let state = evolve(state, &other);
/// assert_eq!((state.events_applied, state.position), (1, 2));
/// assert_eq!(state.anomalies.len(), 1);
/// ```
pub fn evolve(mut state: BilateralState, event: &RecordedEvent) -> BilateralState {
    state.position = state.position.max(event.position);
    if state.dyad.is_none() {
        state.dyad = Some(event.dyad);
    }
    if let Err(rejection) = super::check(&state, event) {
        state.anomalies.push(Anomaly {
            position: event.position,
            event_id: event.id.clone(),
            reason: rejection.to_string(),
        });
        return state;
    }
    apply(&mut state, event);
    state.events_applied = state.events_applied.saturating_add(1);
    state
}

/// Adds `new` sources to an item's `sources`, skipping the ones already there.
fn merge_sources(sources: &mut SharedVec<Source>, new: &[Source]) {
    for source in new {
        if !sources.contains(source) {
            sources.push(source.clone());
        }
    }
}

/// The sources of one event, without repeats, in first-seen order.
fn unique_sources(new: &[Source]) -> Vec<Source> {
    let mut sources: Vec<Source> = Vec::with_capacity(new.len());
    for source in new {
        if !sources.contains(source) {
            sources.push(source.clone());
        }
    }
    sources
}

/// An item's first `history`: its first stage or status.
fn first_change<S>(on: NaiveDate, to: S, event_id: &EventId) -> SharedVec<Change<S>>
where
    S: Clone,
{
    SharedVec::from(vec![Change {
        on,
        to,
        event_id: event_id.clone(),
    }])
}

/// Marks the latest closing of `facility` not reopened yet as reopened on `on`: among the
/// missions `by` closed first, then among the other party's. Whether there was one.
fn reopen_closed_mission(
    ledger: &mut Reciprocity,
    by: Party,
    facility: &str,
    on: NaiveDate,
) -> bool {
    let parties: Vec<Party> = std::iter::once(by)
        .chain(ledger.missions_closed.keys().copied().filter(|p| *p != by))
        .collect();
    for party in parties {
        let Some(closed) = ledger.missions_closed.get_mut(&party) else {
            continue;
        };
        let found = closed
            .iter()
            .enumerate()
            .filter(|(_, mission)| mission.facility == facility && mission.reopened_on.is_none())
            .last()
            .map(|(index, _)| index);
        if let Some(index) = found {
            if let Some(mission) = closed.get_mut(index) {
                mission.reopened_on = Some(on);
            }
            return true;
        }
    }
    false
}

/// Applies a checked event. Where a precondition is missing after all (it cannot be, once
/// `check` passed) the event is simply without effect: this function never panics.
fn apply(state: &mut BilateralState, recorded: &RecordedEvent) {
    let on = recorded.occurred_on;
    let event_id = &recorded.id;
    match &recorded.event {
        Event::TalksHeld(talks) => {
            if let Some(id) = &talks.round {
                match state.scheduled_rounds.get_mut(id) {
                    Some(round) => {
                        if round.status == RoundStatus::Scheduled {
                            round.change(on, RoundStatus::Held, event_id, &recorded.sources);
                        } else {
                            round.add_sources(&recorded.sources);
                        }
                        round.sessions = round.sessions.saturating_add(1);
                    }
                    None => {
                        state.scheduled_rounds.insert(
                            id.clone(),
                            ScheduledRound {
                                status: RoundStatus::Held,
                                scheduled_on: None,
                                expected_on: None,
                                location: None,
                                replaces: None,
                                superseded_by: None,
                                cancelled_by: None,
                                sessions: 1,
                                changed_on: on,
                                history: first_change(on, RoundStatus::Held, event_id),
                                sources: unique_sources(&recorded.sources).into(),
                            },
                        );
                    }
                }
                state.next_round = next_round_of(&state.scheduled_rounds);
            }
            state.rounds.push(Round {
                event_id: event_id.clone(),
                round: talks.round.clone(),
                held_on: on,
                location: talks.location.clone(),
                format: talks.format,
                duration_minutes: talks.duration_minutes,
                level: talks.level,
                heads: talks
                    .delegations
                    .iter()
                    .map(|delegation| (delegation.party, delegation.head.clone()))
                    .collect(),
                topics: talks.topics.clone(),
                mediators: talks.mediators.clone(),
                sources: unique_sources(&recorded.sources),
            });
        }
        Event::StepAgreed(agreed) => {
            state.steps.insert(
                agreed.step.clone(),
                Step {
                    description: agreed.description.clone(),
                    category: agreed.category.clone(),
                    reciprocal: agreed.reciprocal,
                    stage: StepStage::Agreed,
                    agreed_on: on,
                    changed_on: on,
                    history: first_change(on, StepStage::Agreed, event_id),
                    sources: unique_sources(&recorded.sources).into(),
                },
            );
        }
        Event::StepProgressed(progressed) => {
            if let Some(step) = state.steps.get_mut(&progressed.step) {
                step.change(on, progressed.stage.into(), event_id, &recorded.sources);
            }
        }
        Event::PropertyClaimRaised(raised) => {
            let listed = u32::try_from(raised.properties.len()).unwrap_or(u32::MAX);
            state.claims.insert(
                raised.claim.clone(),
                Claim {
                    claimant: raised.claimant,
                    count: raised.count.unwrap_or(listed),
                    properties: raised.properties.clone(),
                    seized_between: raised.seized_between,
                    characterization: raised.characterization.clone(),
                    status: ClaimStatus::Open,
                    raised_on: on,
                    changed_on: on,
                    history: first_change(on, ClaimStatus::Open, event_id),
                    sources: unique_sources(&recorded.sources).into(),
                },
            );
        }
        Event::ClaimProgressed(progressed) => {
            if let Some(claim) = state.claims.get_mut(&progressed.claim) {
                claim.change(on, progressed.status.into(), event_id, &recorded.sources);
            }
        }
        Event::FlightsProposed(proposed) => {
            state.proposals.insert(
                proposed.proposal.clone(),
                Proposal {
                    proposer: proposed.proposer,
                    routes: proposed.routes.clone(),
                    conditions: proposed.conditions.iter().cloned().collect(),
                    status: ProposalStatus::Proposed,
                    proposed_on: on,
                    changed_on: on,
                    history: first_change(on, ProposalStatus::Proposed, event_id),
                    sources: unique_sources(&recorded.sources).into(),
                },
            );
        }
        Event::ProposalAnswered(answered) => {
            if let Some(proposal) = state.proposals.get_mut(&answered.proposal) {
                proposal
                    .conditions
                    .extend(answered.conditions.iter().cloned());
                proposal.change(on, answered.response.into(), event_id, &recorded.sources);
            }
        }
        Event::IrritantRaised(raised) => {
            state.irritants.insert(
                raised.irritant.clone(),
                Irritant {
                    raised_by: raised.raised_by,
                    description: raised.description.clone(),
                    category: raised.category.clone(),
                    status: IrritantStatus::Open,
                    raised_on: on,
                    changed_on: on,
                    history: first_change(on, IrritantStatus::Open, event_id),
                    sources: unique_sources(&recorded.sources).into(),
                },
            );
        }
        Event::IrritantResolved(resolved) => {
            if let Some(irritant) = state.irritants.get_mut(&resolved.irritant) {
                irritant.change(on, IrritantStatus::Resolved, event_id, &recorded.sources);
            }
        }
        Event::RoundScheduled(scheduled) => {
            if let Some(replaced) = &scheduled.replaces {
                if let Some(old) = state.scheduled_rounds.get_mut(replaced) {
                    old.change(on, RoundStatus::Superseded, event_id, &[]);
                    old.superseded_by = Some(scheduled.round.clone());
                }
            }
            state.scheduled_rounds.insert(
                scheduled.round.clone(),
                ScheduledRound {
                    status: RoundStatus::Scheduled,
                    scheduled_on: Some(on),
                    expected_on: scheduled.expected_on,
                    location: scheduled.location.clone(),
                    replaces: scheduled.replaces.clone(),
                    superseded_by: None,
                    cancelled_by: None,
                    sessions: 0,
                    changed_on: on,
                    history: first_change(on, RoundStatus::Scheduled, event_id),
                    sources: unique_sources(&recorded.sources).into(),
                },
            );
            state.next_round = next_round_of(&state.scheduled_rounds);
        }
        Event::RoundCancelled(cancelled) => {
            if let Some(round) = state.scheduled_rounds.get_mut(&cancelled.round) {
                round.change(on, RoundStatus::Cancelled, event_id, &recorded.sources);
                round.cancelled_by = cancelled.cancelled_by;
            }
            state.next_round = next_round_of(&state.scheduled_rounds);
        }
        Event::DiplomatsExpelled(expelled) => {
            let total = state
                .reciprocity
                .diplomats_expelled
                .entry(expelled.expelled_by)
                .or_insert(0);
            *total = total.saturating_add(u64::from(expelled.count));
        }
        Event::MissionClosed(closed) => {
            state
                .reciprocity
                .missions_closed
                .entry(closed.closed_by)
                .or_default()
                .push(ClosedMission {
                    facility: closed.facility.clone(),
                    closed_on: on,
                    reopened_on: None,
                });
        }
        Event::AgreementReached(reached) => {
            let status = AgreementStatus::from(reached.form.unwrap_or(AgreementForm::Signed));
            state.agreements.insert(
                reached.agreement.clone(),
                Agreement {
                    title: reached.title.clone(),
                    kind: reached.kind,
                    steps: reached.steps.clone(),
                    at: reached.at.clone(),
                    status,
                    reached_on: on,
                    changed_on: on,
                    history: first_change(on, status, event_id),
                    by_party: BTreeMap::new(),
                    sources: unique_sources(&recorded.sources).into(),
                },
            );
        }
        Event::AgreementProgressed(progressed) => {
            if let Some(agreement) = state.agreements.get_mut(&progressed.agreement) {
                let to = AgreementStatus::from(progressed.status);
                match progressed.by {
                    Some(party) => {
                        agreement.by_party.entry(party).or_default().push(Change {
                            on,
                            to,
                            event_id: event_id.clone(),
                        });
                        agreement.add_sources(&recorded.sources);
                    }
                    None => agreement.change(on, to, event_id, &recorded.sources),
                }
            }
        }
        Event::MeasureImposed(imposed) => {
            state.measures.insert(
                imposed.measure.clone(),
                Measure {
                    imposed_by: imposed.imposed_by,
                    kind: imposed.kind,
                    description: imposed.description.clone(),
                    status: MeasureStatus::InForce,
                    imposed_on: on,
                    changed_on: on,
                    history: first_change(on, MeasureStatus::InForce, event_id),
                    sources: unique_sources(&recorded.sources).into(),
                },
            );
        }
        Event::MeasureProgressed(progressed) => {
            if let Some(measure) = state.measures.get_mut(&progressed.measure) {
                measure.change(on, progressed.status.into(), event_id, &recorded.sources);
            }
        }
        Event::PrisonersReleased(released) => {
            state
                .reciprocity
                .prisoners_released
                .entry(released.released_by)
                .or_default()
                .push(PrisonerRelease {
                    released_on: on,
                    count: released.count,
                    names: released.names.clone(),
                    exchange: released.exchange.clone(),
                });
        }
        Event::MissionReopened(reopened) => {
            let was_closed = reopen_closed_mission(
                &mut state.reciprocity,
                reopened.reopened_by,
                &reopened.facility,
                on,
            );
            state
                .reciprocity
                .missions_reopened
                .entry(reopened.reopened_by)
                .or_default()
                .push(ReopenedMission {
                    facility: reopened.facility.clone(),
                    reopened_on: on,
                    was_closed,
                });
        }
        // Applied by the query (`docs/contract.md`, the time model, step 2), not by the fold.
        Event::EventRetracted(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DiplomatsExpelled, NewEvent, SourceKind};

    fn source(name: &str) -> Source {
        Source {
            name: name.into(),
            kind: Some(SourceKind::Other),
            url: None,
            quote: None,
        }
    }

    #[test]
    fn sources_merge_in_first_seen_order_without_repeats() {
        let mut sources = SharedVec::from(unique_sources(&[source("a"), source("b"), source("a")]));
        merge_sources(&mut sources, &[source("c"), source("b")]);
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn the_ledger_saturates_instead_of_overflowing() {
        let expelled = |position| {
            NewEvent::new(
                "RUS-USA".parse().unwrap(),
                "2025-01-01".parse().unwrap(),
                Event::DiplomatsExpelled(DiplomatsExpelled {
                    expelled_by: "USA".parse().unwrap(),
                    count: u32::MAX,
                }),
            )
            .into_recorded(
                position,
                position,
                "2025-01-01".parse().unwrap(),
                Default::default(),
            )
        };
        let mut state = BilateralState::default();
        state
            .reciprocity
            .diplomats_expelled
            .insert("USA".parse().unwrap(), u64::MAX - 1);
        let state = evolve(evolve(state, &expelled(1)), &expelled(2));
        assert_eq!(
            state.reciprocity.diplomats_expelled[&"USA".parse::<Party>().unwrap()],
            u64::MAX
        );
        assert_eq!(state.events_applied, 2);
    }

    #[test]
    fn position_is_the_highest_folded_even_out_of_order() {
        let event = |position| {
            NewEvent::new(
                "RUS-USA".parse().unwrap(),
                "2025-01-01".parse().unwrap(),
                Event::DiplomatsExpelled(DiplomatsExpelled {
                    expelled_by: "USA".parse().unwrap(),
                    count: 1,
                }),
            )
            .into_recorded(
                position,
                position,
                "2025-01-01".parse().unwrap(),
                Default::default(),
            )
        };
        let state = [event(7), event(3)]
            .iter()
            .fold(BilateralState::default(), evolve);
        assert_eq!(state.position, 7);
    }
}
