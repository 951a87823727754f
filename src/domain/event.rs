//! The event vocabulary of wire format version 1: twenty facts, named in the past tense.
//!
//! Every type here serializes exactly as `docs/events.md` describes: a `type` tag with the event
//! name, `snake_case` fields, optional fields left out when absent, and unknown fields or types
//! rejected on input.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Category, EventId, ItemId, Party};

/// The one table of event types: each line declares a variant of [`Event`], its struct of
/// fields (of the same name) and its wire `type` name. From it come the enum, its
/// [`Event::type_name`], [`Event::TYPE_NAMES`], the type's stable code in stored records and
/// the codec of a variant's fields, so a type cannot be half added: a new type goes at the
/// end (its code is its place in the table, and a stored code never changes), and the
/// compiler then points to every `match` that must say what the type does.
macro_rules! event_types {
    ($($(#[$doc:meta])* $name:ident,)+) => {
        /// The code of each event type in stored records: its place in the table.
        #[repr(u8)]
        enum TypeCode {
            $($name,)+
        }

        /// One fact about a negotiation. The `type` tag names it on the wire.
        ///
        /// # Example
        ///
        /// ```
        /// use detente::domain::Event;
        ///
        /// let event: Event = serde_json::from_str(
        ///     r#"{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 35}"#,
        /// )?;
        /// assert_eq!(event.type_name(), "DiplomatsExpelled");
        /// assert!(serde_json::from_str::<Event>(r#"{"type": "Teleported"}"#).is_err());
        /// # Ok::<(), serde_json::Error>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        #[non_exhaustive]
        pub enum Event {
            $($(#[$doc])* $name($name),)+
        }

        impl Event {
            /// The event's name, as its `type` tag on the wire.
            ///
            /// ```
            /// # use detente::domain::{Event, MissionClosed};
            /// let event = Event::MissionClosed(MissionClosed {
            ///     closed_by: "USA".parse().unwrap(),
            ///     facility: "consulate general in Seattle".into(),
            /// });
            /// assert_eq!(event.type_name(), "MissionClosed");
            /// ```
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Event::$name(_) => stringify!($name),)+
                }
            }

            /// The names of all event types, in the order of `docs/events.md` (the order of
            /// the table, which is also the order of their codes in stored records).
            ///
            /// ```
            /// # use detente::domain::Event;
            /// assert_eq!(Event::TYPE_NAMES[0], "TalksHeld");
            /// assert!(Event::TYPE_NAMES.contains(&"EventRetracted"));
            /// ```
            pub const TYPE_NAMES: &'static [&'static str] = &[$(stringify!($name),)+];

            /// The event type's code in stored records: its index in [`Event::TYPE_NAMES`].
            pub(crate) fn type_code(&self) -> u8 {
                match self {
                    $(Event::$name(_) => TypeCode::$name as u8,)+
                }
            }

            /// Writes the compact JSON of the event's fields (its variant's struct, without
            /// the `type` tag).
            pub(crate) fn write_fields_json<W: std::io::Write>(
                &self,
                writer: W,
            ) -> serde_json::Result<()> {
                match self {
                    $(Event::$name(fields) => serde_json::to_writer(writer, fields),)+
                }
            }

            /// The event of type `code` (see [`Event::type_code`]) from the JSON of its fields;
            /// an unknown code is an error that names it.
            pub(crate) fn from_fields_json(code: u8, json: &[u8]) -> serde_json::Result<Event> {
                $(if code == TypeCode::$name as u8 {
                    return Ok(Event::$name(serde_json::from_slice(json)?));
                })+
                Err(<serde_json::Error as serde::de::Error>::custom(format_args!(
                    "unknown event type {code}"
                )))
            }
        }
    };
}

event_types! {
    /// A round of talks was held.
    TalksHeld,
    /// A step was agreed.
    StepAgreed,
    /// An agreed step moved to another stage.
    StepProgressed,
    /// A party raised a claim to seized diplomatic property.
    PropertyClaimRaised,
    /// A claim moved to another status.
    ClaimProgressed,
    /// A party proposed (direct) flights.
    FlightsProposed,
    /// The other side answered a proposal.
    ProposalAnswered,
    /// A party raised an irritant in the relationship.
    IrritantRaised,
    /// An irritant was resolved.
    IrritantResolved,
    /// A round was scheduled (or rescheduled, replacing another).
    RoundScheduled,
    /// A scheduled round was cancelled.
    RoundCancelled,
    /// A party expelled the other's diplomats.
    DiplomatsExpelled,
    /// A party closed a mission or facility of the other.
    MissionClosed,
    /// An earlier event no longer counts (a correction is a retraction plus a new event).
    EventRetracted,
    /// An agreement was reached: agreed, initialled or signed.
    AgreementReached,
    /// An agreement moved to another status, for one party or for both.
    AgreementProgressed,
    /// A party imposed a coercive measure on the other.
    MeasureImposed,
    /// A measure was eased, suspended, lifted or reimposed.
    MeasureProgressed,
    /// A party released prisoners.
    PrisonersReleased,
    /// A mission or facility reopened.
    MissionReopened,
}

impl Event {
    /// Every party the event names as an actor (a location's country and a mediator of talks
    /// are not: a host or a mediator may be outside the dyad).
    ///
    /// ```
    /// # use detente::domain::{Event, DiplomatsExpelled};
    /// let event = Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by: "USA".parse().unwrap(), count: 35 });
    /// assert_eq!(event.parties(), vec!["USA".parse().unwrap()]);
    /// ```
    pub fn parties(&self) -> Vec<Party> {
        match self {
            Event::TalksHeld(e) => e.delegations.iter().map(|d| d.party).collect(),
            Event::PropertyClaimRaised(e) => vec![e.claimant],
            Event::FlightsProposed(e) => vec![e.proposer],
            Event::IrritantRaised(e) => vec![e.raised_by],
            Event::RoundCancelled(e) => e.cancelled_by.into_iter().collect(),
            Event::DiplomatsExpelled(e) => vec![e.expelled_by],
            Event::MissionClosed(e) => vec![e.closed_by],
            Event::AgreementProgressed(e) => e.by.into_iter().collect(),
            Event::MeasureImposed(e) => vec![e.imposed_by],
            Event::PrisonersReleased(e) => vec![e.released_by],
            Event::MissionReopened(e) => vec![e.reopened_by],
            Event::AgreementReached(_) | Event::MeasureProgressed(_) => Vec::new(),
            Event::StepAgreed(_)
            | Event::StepProgressed(_)
            | Event::ClaimProgressed(_)
            | Event::ProposalAnswered(_)
            | Event::IrritantResolved(_)
            | Event::RoundScheduled(_)
            | Event::EventRetracted(_) => Vec::new(),
        }
    }
}

impl Event {
    /// [`Event::parties`], to change in place: how a record of a dyad that another continues
    /// is read with its former party as the successor ([`RecordedEvent::read_in`](super::RecordedEvent::read_in)).
    ///
    /// ```
    /// # use detente::domain::{Event, DiplomatsExpelled};
    /// let mut event = Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by: "SUN".parse().unwrap(), count: 25 });
    /// for party in event.parties_mut() {
    ///     *party = "RUS".parse().unwrap();
    /// }
    /// assert_eq!(event.parties(), vec!["RUS".parse().unwrap()]);
    /// ```
    pub fn parties_mut(&mut self) -> Vec<&mut Party> {
        match self {
            Event::TalksHeld(e) => e.delegations.iter_mut().map(|d| &mut d.party).collect(),
            Event::PropertyClaimRaised(e) => vec![&mut e.claimant],
            Event::FlightsProposed(e) => vec![&mut e.proposer],
            Event::IrritantRaised(e) => vec![&mut e.raised_by],
            Event::RoundCancelled(e) => e.cancelled_by.iter_mut().collect(),
            Event::DiplomatsExpelled(e) => vec![&mut e.expelled_by],
            Event::MissionClosed(e) => vec![&mut e.closed_by],
            Event::AgreementProgressed(e) => e.by.iter_mut().collect(),
            Event::MeasureImposed(e) => vec![&mut e.imposed_by],
            Event::PrisonersReleased(e) => vec![&mut e.released_by],
            Event::MissionReopened(e) => vec![&mut e.reopened_by],
            Event::AgreementReached(_) | Event::MeasureProgressed(_) => Vec::new(),
            Event::StepAgreed(_)
            | Event::StepProgressed(_)
            | Event::ClaimProgressed(_)
            | Event::ProposalAnswered(_)
            | Event::IrritantResolved(_)
            | Event::RoundScheduled(_)
            | Event::EventRetracted(_) => Vec::new(),
        }
    }
}

/// Where something took place. `country` may be outside the dyad (a host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// The city.
    pub city: String,
    /// The country: a party of the registry, by its code (`TUR`).
    pub country: Party,
    /// The building or site, where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
}

/// Whether talks were open or behind closed doors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TalksFormat {
    /// Behind closed doors.
    ClosedDoor,
    /// Open.
    Open,
}

/// The level at which talks were held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TalksLevel {
    /// Working level.
    Working,
    /// Senior officials.
    SeniorOfficials,
    /// Ministers.
    Ministerial,
    /// Heads of state or government.
    Leaders,
}

/// A person, with a title where reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Full name.
    pub name: String,
    /// Title or office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// One side's delegation at talks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// The party it represents (one of the dyad).
    pub party: Party,
    /// Its head.
    pub head: Person,
}

/// `TalksHeld`: a round of talks; a scheduled round it names becomes held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalksHeld {
    /// The round id, matching a `RoundScheduled` where there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<ItemId>,
    /// Where.
    pub location: Location,
    /// Open or closed door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TalksFormat>,
    /// How long, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
    /// At what level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<TalksLevel>,
    /// The delegations, one per party at most.
    pub delegations: Vec<Delegation>,
    /// Topics discussed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// Third parties that facilitated the talks (any party of the registry, outside the dyad:
    /// the only actors an event may name outside it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mediators: Vec<Party>,
}

/// `StepAgreed`: a step at stage `agreed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepAgreed {
    /// The step's id.
    pub step: ItemId,
    /// What was agreed.
    pub description: String,
    /// Its category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Whether it is done on a reciprocal basis.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reciprocal: bool,
}

/// The stage an agreed step can move to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepProgress {
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

/// `StepProgressed`: a step moves to a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepProgressed {
    /// The step's id.
    pub step: ItemId,
    /// The new stage.
    pub stage: StepProgress,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One property in a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    /// Its name.
    pub name: String,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A span of years, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearRange {
    /// The first year.
    pub from: i32,
    /// The last year.
    pub to: i32,
}

/// `PropertyClaimRaised`: a claim at status `open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyClaimRaised {
    /// The claim's id.
    pub claim: ItemId,
    /// The party that claims.
    pub claimant: Party,
    /// How many properties; defaults to the number listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// The properties, where named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// The years in which they were seized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seized_between: Option<YearRange>,
    /// The claimant's framing, as quoted from a source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characterization: Option<String>,
}

/// The status a claim can move to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimProgress {
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

/// `ClaimProgressed`: a claim moves to a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimProgressed {
    /// The claim's id.
    pub claim: ItemId,
    /// The new status.
    pub status: ClaimProgress,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `FlightsProposed`: a proposal at status `proposed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlightsProposed {
    /// The proposal's id.
    pub proposal: ItemId,
    /// The party that proposes.
    pub proposer: Party,
    /// Routes, where named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    /// Conditions attached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

/// The answer to a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalResponse {
    /// Accepted.
    Accepted,
    /// Rejected.
    Rejected,
    /// Put off.
    Deferred,
    /// Accepted on conditions.
    Conditioned,
}

/// `ProposalAnswered`: a proposal takes the answer's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalAnswered {
    /// The proposal's id.
    pub proposal: ItemId,
    /// The answer.
    pub response: ProposalResponse,
    /// Conditions attached to the answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

/// `IrritantRaised`: an open irritant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrritantRaised {
    /// The irritant's id.
    pub irritant: ItemId,
    /// The party that raised it.
    pub raised_by: Party,
    /// What it is.
    pub description: String,
    /// Its category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
}

/// `IrritantResolved`: the irritant is resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrritantResolved {
    /// The irritant's id.
    pub irritant: ItemId,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `RoundScheduled`: a round is scheduled; the round it `replaces`, if any, becomes
/// `superseded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundScheduled {
    /// The round's id; a later `TalksHeld` with this `round` holds it.
    pub round: ItemId,
    /// When it is expected.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::envelope::iso_date::option"
    )]
    pub expected_on: Option<NaiveDate>,
    /// Where it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The round this one replaces (a rescheduling): it becomes `superseded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ItemId>,
}

/// `RoundCancelled`: a scheduled round is cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundCancelled {
    /// The round's id.
    pub round: ItemId,
    /// Who cancelled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<Party>,
}

/// `DiplomatsExpelled`: adds to the reciprocity ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiplomatsExpelled {
    /// The expelling party.
    pub expelled_by: Party,
    /// How many diplomats.
    pub count: u32,
}

/// `MissionClosed`: adds to the reciprocity ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissionClosed {
    /// The closing party.
    pub closed_by: Party,
    /// The facility closed.
    pub facility: String,
}

/// `EventRetracted`: the target event no longer counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRetracted {
    /// The id of the retracted event (of the same dyad).
    pub target: EventId,
    /// Why.
    pub reason: String,
}

/// The kind of an agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementKind {
    /// A treaty.
    Treaty,
    /// An agreement.
    Agreement,
    /// A memorandum (of understanding).
    Memorandum,
    /// A joint statement.
    JointStatement,
    /// A framework.
    Framework,
    /// A ceasefire.
    Ceasefire,
    /// A roadmap.
    Roadmap,
}

/// How far an agreement went when it was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementForm {
    /// A text agreed, neither initialled nor signed.
    Agreed,
    /// Initialled.
    Initialled,
    /// Signed.
    Signed,
}

/// `AgreementReached`: an agreement at status `agreed`, `initialled` or `signed` (its `form`,
/// `signed` when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementReached {
    /// The agreement's id.
    pub agreement: ItemId,
    /// Its title.
    pub title: String,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AgreementKind>,
    /// How far it went: `signed` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<AgreementForm>,
    /// The steps it formalizes (each must exist).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<ItemId>,
    /// Where it was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Location>,
}

/// The status an agreement can move to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementProgress {
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

/// `AgreementProgressed`: an agreement takes a status, for the party `by` where given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementProgressed {
    /// The agreement's id.
    pub agreement: ItemId,
    /// The new status.
    pub status: AgreementProgress,
    /// The party for which it takes that status (one side ratifies, then the other); the
    /// agreement as a whole where absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Party>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The kind of a coercive measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// Sanctions.
    Sanctions,
    /// Visa restrictions.
    VisaRestrictions,
    /// A flight ban.
    FlightBan,
    /// An asset freeze.
    AssetFreeze,
    /// A trade restriction.
    TradeRestriction,
    /// Anything else.
    Other,
}

/// `MeasureImposed`: a coercive measure at status `in_force`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureImposed {
    /// The measure's id.
    pub measure: ItemId,
    /// The party that imposes it.
    pub imposed_by: Party,
    /// Its kind.
    pub kind: MeasureKind,
    /// What it is.
    pub description: String,
}

/// The status a measure can move to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureProgress {
    /// Eased.
    Eased,
    /// Suspended.
    Suspended,
    /// Lifted.
    Lifted,
    /// Imposed again.
    Reimposed,
}

/// `MeasureProgressed`: a measure takes a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureProgressed {
    /// The measure's id.
    pub measure: ItemId,
    /// The new status.
    pub status: MeasureProgress,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `PrisonersReleased`: adds to the reciprocity ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrisonersReleased {
    /// The releasing party.
    pub released_by: Party,
    /// How many prisoners.
    pub count: u32,
    /// Their names, where reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// An id shared by both sides' releases of one exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
}

/// `MissionReopened`: adds to the reciprocity ledger; a mission closed under the same
/// facility name shows as reopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissionReopened {
    /// The acting party.
    pub reopened_by: Party,
    /// The facility reopened.
    pub facility: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_rejects(json: &str, needle: &str) {
        let err = serde_json::from_str::<Event>(json).unwrap_err().to_string();
        assert!(err.contains(needle), "expected {needle:?} in {err:?}");
    }

    #[test]
    fn unknown_fields_and_types_are_rejected() {
        check_rejects(r#"{"type":"Teleported"}"#, "unknown variant `Teleported`");
        check_rejects(
            r#"{"type":"DiplomatsExpelled","expelled_by":"USA","count":3,"extra":1}"#,
            "unknown field `extra`",
        );
        check_rejects(
            r#"{"type":"DiplomatsExpelled","expelled_by":"USA"}"#,
            "missing field `count`",
        );
        check_rejects(
            r#"{"type":"StepProgressed","step":"s","stage":"agreed"}"#,
            "unknown variant `agreed`",
        );
        check_rejects(r#"{"expelled_by":"USA","count":3}"#, "missing field `type`");
        check_rejects(
            r#"{"type":"TalksHeld","location":{"city":"Istanbul","country":"TUR","floor":2},"delegations":[]}"#,
            "unknown field `floor`",
        );
    }

    #[test]
    fn optional_fields_are_left_out() {
        let event = Event::StepAgreed(StepAgreed {
            step: "s".parse().unwrap(),
            description: "d".into(),
            category: None,
            reciprocal: false,
        });
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"type":"StepAgreed","step":"s","description":"d"}"#
        );
    }

    #[test]
    fn type_names_match_the_tags() {
        for &name in Event::TYPE_NAMES {
            let err =
                serde_json::from_str::<Event>(&format!(r#"{{"type":"{name}"}}"#)).unwrap_err();
            assert!(err.to_string().contains("missing field"), "{name}: {err}");
        }
    }
}
