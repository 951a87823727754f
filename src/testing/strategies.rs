//! Proptest strategies of domain values: parties, dyads, events, histories and queries.
//!
//! Two families, both drawn from one table of event types, [`EVENT_KINDS`]:
//!
//! - **Anything**: [`event`], [`new_event`], [`history`] generate inputs that are often invalid
//!   (orphans, duplicates, outsiders, reports dated before the facts, retractions of unknown
//!   ids). Pools are small on purpose, so collisions are frequent. Use them to prove a fold is
//!   total.
//! - **Valid**: [`valid_history`] and [`valid_log`] generate what a store can hold: every event
//!   passes [`check_in_history`] against the events before it, in append order, as the kit's
//!   record (with its [`recorded_at`]). They hold the traps a projection falls into (see
//!   [`Trap`](super::Trap)): items raised and moved, orphans of every item kind after a
//!   retraction and at a `known_at` before a late report, facts recorded again after their
//!   retraction, equal dates, long gaps, retroactive events and several dyads, as a
//!   [`HistoryConfig`] asks.
//!
//! [`query_in`] draws bitemporal queries whose bounds fall inside a given history.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use proptest::prelude::*;

use crate::domain::*;

/// Parses a constant of this module; they are all valid, so a failure is a bug here.
fn constant<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse()
        .unwrap_or_else(|err| panic!("the kit's constant {text:?} does not parse: {err:?}"))
}

/// The id `{prefix}{index}`, valid for any prefix of this module.
fn numbered<T: std::str::FromStr>(prefix: &str, index: usize) -> T
where
    T::Err: std::fmt::Debug,
{
    constant(&format!("{prefix}{index}"))
}

/// The parties generated: mostly the two of `RUS-USA`, sometimes an outsider.
pub const PARTIES: [&str; 4] = ["RUS", "USA", "CHN", "TUR"];
/// The dyads generated: mostly `RUS-USA`.
pub const DYADS: [&str; 3] = ["RUS-USA", "CHN-USA", "RUS-TUR"];
/// The first date generated.
pub const EPOCH: &str = "2025-01-01";

/// A party: `RUS` or `USA` four times in five.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::party().new_tree(&mut runner).unwrap().current();
///     assert!(strategies::PARTIES.contains(&value.to_string().as_str()));
/// }
/// ```
pub fn party() -> impl Strategy<Value = Party> {
    prop_oneof![
        4 => Just(PARTIES[0]),
        4 => Just(PARTIES[1]),
        1 => Just(PARTIES[2]),
        1 => Just(PARTIES[3]),
    ]
    .prop_map(constant)
}

/// A dyad: `RUS-USA` three times in five.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::dyad().new_tree(&mut runner).unwrap().current();
///     assert!(strategies::DYADS.contains(&value.to_string().as_str()));
/// }
/// ```
pub fn dyad() -> impl Strategy<Value = Dyad> {
    prop_oneof![
        3 => Just(DYADS[0]),
        1 => Just(DYADS[1]),
        1 => Just(DYADS[2]),
    ]
    .prop_map(constant)
}

/// The date `days` after [`EPOCH`].
///
/// # Example
///
/// ```
/// use detente::testing::strategies;
///
/// assert_eq!(strategies::day(0).to_string(), strategies::EPOCH);
/// assert_eq!(strategies::day(31).to_string(), "2025-02-01");
/// ```
pub fn day(days: u64) -> NaiveDate {
    constant::<NaiveDate>(EPOCH) + Days::new(days)
}

/// A date within `0..span` days of [`EPOCH`].
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::date(10).new_tree(&mut runner).unwrap().current();
///     assert!(value >= strategies::day(0) && value < strategies::day(10));
/// }
/// ```
pub fn date(span: u64) -> impl Strategy<Value = NaiveDate> {
    (0..span).prop_map(day)
}

/// An item id from a pool of three, so that raises collide and progress meets orphans.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::item_id().new_tree(&mut runner).unwrap().current();
///     assert!(["a", "b", "c"].contains(&value.as_str()));
/// }
/// ```
pub fn item_id() -> impl Strategy<Value = ItemId> {
    prop::sample::select(vec!["a", "b", "c"]).prop_map(constant)
}

/// A round id from a pool of two.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::round_id().new_tree(&mut runner).unwrap().current();
///     assert!(["r1", "r2"].contains(&value.as_str()));
/// }
/// ```
pub fn round_id() -> impl Strategy<Value = ItemId> {
    prop::sample::select(vec!["r1", "r2"]).prop_map(constant)
}

/// An event id `e{index}` for an index below `n`: the ids [`history`] gives its events.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::event_id(3).new_tree(&mut runner).unwrap().current();
///     assert!(["e0", "e1", "e2"].contains(&value.as_str()));
/// }
/// ```
pub fn event_id(n: usize) -> impl Strategy<Value = EventId> {
    (0..n.max(1)).prop_map(|index| numbered("e", index))
}

/// A category, or none.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::category().new_tree(&mut runner).unwrap().current();
///     assert!(value.is_none_or(|category| !category.as_str().is_empty()));
/// }
/// ```
pub fn category() -> impl Strategy<Value = Option<Category>> {
    prop::option::of(
        prop::sample::select(vec!["mission_financing", "staffing", "flights"]).prop_map(constant),
    )
}

/// Free text, any printable characters (quotes, backslashes and non-ASCII included).
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::text().new_tree(&mut runner).unwrap().current();
///     assert!(value.chars().count() <= 12);
/// }
/// ```
pub fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

/// A location; the country may be anyone's (a host).
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::location().new_tree(&mut runner).unwrap().current();
///     assert!(strategies::PARTIES.contains(&value.country.to_string().as_str()));
/// }
/// ```
pub fn location() -> impl Strategy<Value = Location> {
    (text(), party(), prop::option::of(text())).prop_map(|(city, country, venue)| Location {
        city,
        country,
        venue,
    })
}

/// A person.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::person().new_tree(&mut runner).unwrap().current();
///     assert!(value.name.chars().count() <= 12);
/// }
/// ```
pub fn person() -> impl Strategy<Value = Person> {
    (text(), prop::option::of(text())).prop_map(|(name, title)| Person { name, title })
}

/// A source.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::source().new_tree(&mut runner).unwrap().current();
///     assert!(["Xinhua", "TASS", "Russian Foreign Ministry"].contains(&value.name.as_str()));
/// }
/// ```
pub fn source() -> impl Strategy<Value = Source> {
    let kind = prop::option::of(prop::sample::select(vec![
        SourceKind::OfficialStatement,
        SourceKind::NewsAgency,
        SourceKind::Newspaper,
        SourceKind::Spokesperson,
        SourceKind::Other,
    ]));
    (
        prop::sample::select(vec!["Xinhua", "TASS", "Russian Foreign Ministry"]),
        kind,
        prop::option::of(Just("https://example.org/x".to_owned())),
        prop::option::of(text()),
    )
        .prop_map(|(name, kind, url, quote)| Source {
            name: name.to_owned(),
            kind,
            url,
            quote,
        })
}

/// Any event of the table [`EVENT_KINDS`] (every type that exists, each as often); a
/// retraction targets `e{k}` for `k < n_targets`. Parties are mostly `RUS` and `USA`,
/// sometimes an outsider, so some events are invalid in their dyad.
///
/// # Example
///
/// ```
/// use detente::testing::strategies::event;
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
///
/// let mut runner = TestRunner::deterministic();
/// let one = event(4).new_tree(&mut runner).unwrap().current();
/// assert!(!serde_json::to_string(&one)?.is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn event(n_targets: usize) -> impl Strategy<Value = Event> {
    event_with(party().boxed(), event_id(n_targets).boxed())
}

/// Any event of the table [`EVENT_KINDS`], each type as often, with every acting party
/// (expeller, claimant, proposer...) drawn from `actor` and every retraction target from
/// `target`.
///
/// # Example
///
/// ```
/// use detente::domain::{Event, EventId, Party};
/// use detente::testing::strategies::event_with;
/// use detente::testing::proptest::prelude::*;
/// use detente::testing::proptest::strategy::ValueTree;
/// use detente::testing::proptest::test_runner::TestRunner;
///
/// let usa: Party = "USA".parse().unwrap();
/// let target: EventId = "e0".parse().unwrap();
/// let strategy = event_with(Just(usa).boxed(), Just(target).boxed());
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..20 {
///     let event = strategy.new_tree(&mut runner).unwrap().current();
///     if let Event::DiplomatsExpelled(expelled) = event {
///         assert_eq!(expelled.expelled_by, usa);
///     }
/// }
/// ```
pub fn event_with(
    actor: BoxedStrategy<Party>,
    target: BoxedStrategy<EventId>,
) -> impl Strategy<Value = Event> {
    from_table(&Actors { actor, target }, |_| 1)
}

/// What an event's strategy draws its acting parties and retraction targets from.
#[derive(Debug, Clone)]
pub struct Actors {
    actor: BoxedStrategy<Party>,
    target: BoxedStrategy<EventId>,
}

impl Actors {
    /// Acting parties from `actor`, retraction targets from `target`.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::testing::strategies::{Actors, event_id, party};
    /// use detente::testing::proptest::prelude::*;
    ///
    /// let actors = Actors::new(party().boxed(), event_id(4).boxed());
    /// # let _ = actors;
    /// ```
    pub fn new(actor: BoxedStrategy<Party>, target: BoxedStrategy<EventId>) -> Actors {
        Actors { actor, target }
    }
}

/// One event type the kit generates: a row of [`EVENT_KINDS`].
#[derive(Debug, Clone, Copy)]
pub struct EventKind {
    /// Its wire name, as [`Event::type_name`] gives it.
    pub name: &'static str,
    /// How often [`valid_history`] draws it, relative to the others (retractions are drawn
    /// apart, by [`HistoryConfig::retractions`], so theirs is 0).
    pub weight: u32,
    /// Its strategy.
    make: fn(&Actors) -> BoxedStrategy<Event>,
}

impl EventKind {
    /// Its strategy, with acting parties and retraction targets drawn from `actors`.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::{Event, EventId, Party};
    /// use detente::testing::strategies::{Actors, EVENT_KINDS};
    /// use detente::testing::proptest::prelude::*;
    /// use detente::testing::proptest::strategy::ValueTree;
    /// use detente::testing::proptest::test_runner::TestRunner;
    ///
    /// let usa: Party = "USA".parse().unwrap();
    /// let actors = Actors::new(Just(usa).boxed(), Just("e0".parse::<EventId>().unwrap()).boxed());
    /// let expelled = EVENT_KINDS.iter().find(|kind| kind.name == "DiplomatsExpelled").unwrap();
    /// let mut runner = TestRunner::deterministic();
    /// let event = expelled.strategy(&actors).new_tree(&mut runner).unwrap().current();
    /// assert!(matches!(event, Event::DiplomatsExpelled(e) if e.expelled_by == usa));
    /// ```
    pub fn strategy(&self, actors: &Actors) -> BoxedStrategy<Event> {
        (self.make)(actors)
    }
}

/// Every event type the kit generates, one row each: the one place to add a type. A test
/// (`tests/it/kit.rs`) checks that it names exactly [`Event::TYPE_NAMES`], so a type added to
/// the domain and not here fails the suite.
///
/// Pending, for the party issue: successions between dyads (`SUN-USA` continued by
/// `RUS-USA`), a dyad in [`DYADS`] once they exist.
pub const EVENT_KINDS: [EventKind; 20] = [
    EventKind {
        name: "TalksHeld",
        weight: 8,
        make: talks_held,
    },
    EventKind {
        name: "StepAgreed",
        weight: 6,
        make: |_| step_agreed().boxed(),
    },
    EventKind {
        name: "StepProgressed",
        weight: 8,
        make: |_| step_progressed().boxed(),
    },
    EventKind {
        name: "PropertyClaimRaised",
        weight: 6,
        make: claim_raised,
    },
    EventKind {
        name: "ClaimProgressed",
        weight: 8,
        make: |_| claim_progressed(),
    },
    EventKind {
        name: "FlightsProposed",
        weight: 6,
        make: flights_proposed,
    },
    EventKind {
        name: "ProposalAnswered",
        weight: 8,
        make: |_| proposal_answered(),
    },
    EventKind {
        name: "IrritantRaised",
        weight: 6,
        make: irritant_raised,
    },
    EventKind {
        name: "IrritantResolved",
        weight: 8,
        make: |_| {
            (item_id(), prop::option::of(text()))
                .prop_map(|(irritant, note)| {
                    Event::IrritantResolved(IrritantResolved { irritant, note })
                })
                .boxed()
        },
    },
    EventKind {
        name: "RoundScheduled",
        weight: 6,
        make: |_| round_scheduled(),
    },
    EventKind {
        name: "RoundCancelled",
        weight: 6,
        make: round_cancelled,
    },
    EventKind {
        name: "DiplomatsExpelled",
        weight: 2,
        make: |actors| {
            (actors.actor.clone(), any::<u32>())
                .prop_map(|(expelled_by, count)| {
                    Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by, count })
                })
                .boxed()
        },
    },
    EventKind {
        name: "MissionClosed",
        weight: 2,
        make: |actors| {
            (actors.actor.clone(), text())
                .prop_map(|(closed_by, facility)| {
                    Event::MissionClosed(MissionClosed {
                        closed_by,
                        facility,
                    })
                })
                .boxed()
        },
    },
    EventKind {
        name: "EventRetracted",
        weight: 0,
        make: |actors| {
            (actors.target.clone(), text())
                .prop_map(|(target, reason)| {
                    Event::EventRetracted(EventRetracted { target, reason })
                })
                .boxed()
        },
    },
    EventKind {
        name: "AgreementReached",
        weight: 6,
        make: |_| agreement_reached(),
    },
    EventKind {
        name: "AgreementProgressed",
        weight: 8,
        make: agreement_progressed,
    },
    EventKind {
        name: "MeasureImposed",
        weight: 6,
        make: measure_imposed,
    },
    EventKind {
        name: "MeasureProgressed",
        weight: 8,
        make: |_| measure_progressed(),
    },
    EventKind {
        name: "PrisonersReleased",
        weight: 2,
        make: |actors| {
            (
                actors.actor.clone(),
                any::<u32>(),
                prop::collection::vec(text(), 0..2),
                prop::option::of(prop::sample::select(vec!["x1", "x2"]).prop_map(str::to_owned)),
            )
                .prop_map(|(released_by, count, names, exchange)| {
                    Event::PrisonersReleased(PrisonersReleased {
                        released_by,
                        count,
                        names,
                        exchange,
                    })
                })
                .boxed()
        },
    },
    EventKind {
        name: "MissionReopened",
        weight: 2,
        make: |actors| {
            (
                actors.actor.clone(),
                prop_oneof![
                    3 => prop::sample::select(vec!["consulate general in Seattle", "embassy"]).prop_map(str::to_owned),
                    1 => text(),
                ],
            )
                .prop_map(|(reopened_by, facility)| {
                    Event::MissionReopened(MissionReopened {
                        reopened_by,
                        facility,
                    })
                })
                .boxed()
        },
    },
];

fn agreement_reached() -> BoxedStrategy<Event> {
    (
        item_id(),
        text(),
        prop::option::of(prop::sample::select(vec![
            AgreementKind::Treaty,
            AgreementKind::Agreement,
            AgreementKind::Memorandum,
            AgreementKind::JointStatement,
            AgreementKind::Framework,
            AgreementKind::Ceasefire,
            AgreementKind::Roadmap,
        ])),
        prop::option::of(prop::sample::select(vec![
            AgreementForm::Agreed,
            AgreementForm::Initialled,
            AgreementForm::Signed,
        ])),
        prop::option::of(location()),
    )
        .prop_map(|(agreement, title, kind, form, at)| {
            Event::AgreementReached(AgreementReached {
                agreement,
                title,
                kind,
                form,
                steps: Vec::new(),
                at,
            })
        })
        .boxed()
}

fn agreement_progressed(actors: &Actors) -> BoxedStrategy<Event> {
    let status = prop::sample::select(vec![
        AgreementProgress::Initialled,
        AgreementProgress::Signed,
        AgreementProgress::Ratified,
        AgreementProgress::InForce,
        AgreementProgress::Suspended,
        AgreementProgress::Terminated,
        AgreementProgress::Withdrawn,
    ]);
    (
        item_id(),
        status,
        prop::option::of(actors.actor.clone()),
        prop::option::of(text()),
    )
        .prop_map(|(agreement, status, by, note)| {
            Event::AgreementProgressed(AgreementProgressed {
                agreement,
                status,
                by,
                note,
            })
        })
        .boxed()
}

fn measure_imposed(actors: &Actors) -> BoxedStrategy<Event> {
    let kind = prop::sample::select(vec![
        MeasureKind::Sanctions,
        MeasureKind::VisaRestrictions,
        MeasureKind::FlightBan,
        MeasureKind::AssetFreeze,
        MeasureKind::TradeRestriction,
        MeasureKind::Other,
    ]);
    (item_id(), actors.actor.clone(), kind, text())
        .prop_map(|(measure, imposed_by, kind, description)| {
            Event::MeasureImposed(MeasureImposed {
                measure,
                imposed_by,
                kind,
                description,
            })
        })
        .boxed()
}

fn measure_progressed() -> BoxedStrategy<Event> {
    let status = prop::sample::select(vec![
        MeasureProgress::Eased,
        MeasureProgress::Suspended,
        MeasureProgress::Lifted,
        MeasureProgress::Reimposed,
    ]);
    (item_id(), status, prop::option::of(text()))
        .prop_map(|(measure, status, note)| {
            Event::MeasureProgressed(MeasureProgressed {
                measure,
                status,
                note,
            })
        })
        .boxed()
}

/// The union of the rows of [`EVENT_KINDS`], each with the weight `weight` gives it (rows of
/// weight 0 left out).
fn from_table(actors: &Actors, weight: impl Fn(&EventKind) -> u32) -> BoxedStrategy<Event> {
    let arms: Vec<(u32, BoxedStrategy<Event>)> = EVENT_KINDS
        .iter()
        .filter(|kind| weight(kind) > 0)
        .map(|kind| (weight(kind), kind.strategy(actors)))
        .collect();
    prop::strategy::Union::new_weighted(arms).boxed()
}

/// A host city: one of a few, so that talks share cities and differ, sometimes empty, sometimes
/// any text.
///
/// # Example
///
/// ```
/// use detente::testing::strategies::city;
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
///
/// let mut runner = TestRunner::deterministic();
/// let cities: Vec<String> = (0..200).map(|_| city().new_tree(&mut runner).unwrap().current()).collect();
/// assert!(cities.iter().any(String::is_empty));
/// assert!(cities.iter().any(|c| c == "Istanbul"));
/// ```
pub fn city() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["Istanbul", "Riyadh", "Geneva", "Vienna"]).prop_map(str::to_owned),
        1 => Just(String::new()),
        1 => text(),
    ]
}

/// Talks' topics: often several, from a small pool (so that they repeat), sometimes any text.
///
/// # Example
///
/// ```
/// use detente::testing::strategies::topics;
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
///
/// let mut runner = TestRunner::deterministic();
/// let many = (0..50).any(|_| topics().new_tree(&mut runner).unwrap().current().len() >= 2);
/// assert!(many);
/// ```
pub fn topics() -> impl Strategy<Value = Vec<String>> {
    let topic = prop_oneof![
        4 => prop::sample::select(vec!["embassies", "flights", "property", "prisoners"]).prop_map(str::to_owned),
        1 => text(),
    ];
    prop::collection::vec(topic, 0..5)
}

fn talks_held(actors: &Actors) -> BoxedStrategy<Event> {
    let actor = actors.actor.clone();
    (
        prop::option::of(round_id()),
        (city(), party(), prop::option::of(text())).prop_map(|(city, country, venue)| Location {
            city,
            country,
            venue,
        }),
        prop::option::of(prop::sample::select(vec![
            TalksFormat::ClosedDoor,
            TalksFormat::Open,
        ])),
        prop::option::of(prop_oneof![3 => 0..600u32, 1 => any::<u32>()]),
        prop::option::of(prop::sample::select(vec![
            TalksLevel::Working,
            TalksLevel::SeniorOfficials,
            TalksLevel::Ministerial,
            TalksLevel::Leaders,
        ])),
        prop::collection::vec(
            (actor, person()).prop_map(|(party, head)| Delegation { party, head }),
            0..3,
        ),
        topics(),
        // Mediators are third parties: none of the dyads' (a side as mediator is refused).
        prop::collection::vec(
            prop::sample::select(vec!["EU", "SAU", "CHE"]).prop_map(constant),
            0..2,
        ),
    )
        .prop_map(
            |(round, location, format, duration_minutes, level, delegations, topics, mediators)| {
                Event::TalksHeld(TalksHeld {
                    round,
                    location,
                    format,
                    duration_minutes,
                    level,
                    delegations,
                    topics,
                    mediators,
                })
            },
        )
        .boxed()
}

fn claim_raised(actors: &Actors) -> BoxedStrategy<Event> {
    let property =
        (text(), prop::option::of(text())).prop_map(|(name, location)| Property { name, location });
    (
        item_id(),
        actors.actor.clone(),
        prop::option::of(any::<u32>()),
        prop::collection::vec(property, 0..3),
        prop::option::of((2000..2030i32, 2000..2030i32)),
        prop::option::of(text()),
    )
        .prop_map(
            |(claim, claimant, count, properties, years, characterization)| {
                Event::PropertyClaimRaised(PropertyClaimRaised {
                    claim,
                    claimant,
                    count,
                    properties,
                    seized_between: years.map(|(from, to)| YearRange { from, to }),
                    characterization,
                })
            },
        )
        .boxed()
}

fn claim_progressed() -> BoxedStrategy<Event> {
    let status = prop::sample::select(vec![
        ClaimProgress::UnderDiscussion,
        ClaimProgress::RoadmapAgreed,
        ClaimProgress::Rejected,
        ClaimProgress::Resolved,
        ClaimProgress::Withdrawn,
    ]);
    (item_id(), status, prop::option::of(text()))
        .prop_map(|(claim, status, note)| {
            Event::ClaimProgressed(ClaimProgressed {
                claim,
                status,
                note,
            })
        })
        .boxed()
}

fn flights_proposed(actors: &Actors) -> BoxedStrategy<Event> {
    (
        item_id(),
        actors.actor.clone(),
        prop::collection::vec(text(), 0..2),
        prop::collection::vec(text(), 0..2),
    )
        .prop_map(|(proposal, proposer, routes, conditions)| {
            Event::FlightsProposed(FlightsProposed {
                proposal,
                proposer,
                routes,
                conditions,
            })
        })
        .boxed()
}

fn proposal_answered() -> BoxedStrategy<Event> {
    let response = prop::sample::select(vec![
        ProposalResponse::Accepted,
        ProposalResponse::Rejected,
        ProposalResponse::Deferred,
        ProposalResponse::Conditioned,
    ]);
    (item_id(), response, prop::collection::vec(text(), 0..2))
        .prop_map(|(proposal, response, conditions)| {
            Event::ProposalAnswered(ProposalAnswered {
                proposal,
                response,
                conditions,
            })
        })
        .boxed()
}

fn irritant_raised(actors: &Actors) -> BoxedStrategy<Event> {
    (item_id(), actors.actor.clone(), text(), category())
        .prop_map(|(irritant, raised_by, description, category)| {
            Event::IrritantRaised(IrritantRaised {
                irritant,
                raised_by,
                description,
                category,
            })
        })
        .boxed()
}

fn round_scheduled() -> BoxedStrategy<Event> {
    (
        round_id(),
        prop::option::of(date(90)),
        prop::option::of(location()),
    )
        .prop_map(|(round, expected_on, location)| {
            round_scheduled_event(round, expected_on, location)
        })
        .boxed()
}

/// A `RoundScheduled`, built through its wire form so that optional fields the domain adds
/// (such as the round it replaces) keep their defaults here without a change.
fn round_scheduled_event(
    round: ItemId,
    expected_on: Option<NaiveDate>,
    location: Option<Location>,
) -> Event {
    let mut wire = serde_json::json!({ "round": round });
    if let Some(expected_on) = expected_on {
        wire["expected_on"] = serde_json::json!(expected_on.to_string());
    }
    if let Some(location) = location {
        wire["location"] = serde_json::to_value(location).unwrap_or_default();
    }
    match serde_json::from_value::<RoundScheduled>(wire) {
        Ok(scheduled) => Event::RoundScheduled(scheduled),
        Err(err) => panic!("the kit's RoundScheduled does not read: {err}"),
    }
}

fn round_cancelled(actors: &Actors) -> BoxedStrategy<Event> {
    (round_id(), prop::option::of(actors.actor.clone()))
        .prop_map(|(round, cancelled_by)| {
            Event::RoundCancelled(RoundCancelled {
                round,
                cancelled_by,
            })
        })
        .boxed()
}

/// An input without an id: any dyad, a date within 60 days, a report between 3 days before
/// (an invalid input) and 20 days after, or none.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::new_event(strategies::dyad(), 4).new_tree(&mut runner).unwrap().current();
///     assert!(value.id.is_none() && value.occurred_on < strategies::day(60));
/// }
/// ```
pub fn new_event(
    dyad: impl Strategy<Value = Dyad>,
    n_targets: usize,
) -> impl Strategy<Value = NewEvent> {
    (
        dyad,
        date(60),
        prop::option::of(-3i64..20),
        prop::collection::vec(source(), 0..3),
        event(n_targets),
    )
        .prop_map(|(dyad, occurred_on, lag, sources, event)| NewEvent {
            id: None,
            dyad,
            occurred_on,
            reported_on: lag
                .and_then(|lag| occurred_on.checked_add_signed(chrono::Duration::days(lag))),
            sources,
            event,
        })
}

/// A history of up to `max_len` inputs, the `i`th with id `e{i}`, in append order. Retractions
/// target `e0` to `e{max_len + 1}`: known events, retractions and unknown ids alike.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::history(strategies::dyad(), 5).new_tree(&mut runner).unwrap().current();
///     assert!(value.len() <= 5);
///     for (index, event) in value.iter().enumerate() {
///         assert_eq!(event.id.as_ref().map(|id| id.to_string()), Some(format!("e{index}")));
///     }
/// }
/// ```
pub fn history(
    dyad: impl Strategy<Value = Dyad>,
    max_len: usize,
) -> impl Strategy<Value = Vec<NewEvent>> {
    prop::collection::vec(new_event(dyad, max_len + 2), 0..=max_len).prop_map(|inputs| {
        inputs
            .into_iter()
            .enumerate()
            .map(|(index, mut input)| {
                input.id = Some(numbered("e", index));
                input
            })
            .collect()
    })
}

/// A history of one dyad, `RUS-USA`.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::dyad_history(5).new_tree(&mut runner).unwrap().current();
///     assert!(value.iter().all(|event| event.dyad.to_string() == "RUS-USA"));
/// }
/// ```
pub fn dyad_history(max_len: usize) -> impl Strategy<Value = Vec<NewEvent>> {
    history(Just(constant::<Dyad>(DYADS[0])), max_len)
}

/// A bitemporal query with each bound present or not.
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::query().new_tree(&mut runner).unwrap().current();
///     assert!(value.at_position.is_none_or(|position| position < 40));
/// }
/// ```
pub fn query() -> impl Strategy<Value = Query> {
    (
        prop::option::of(date(70)),
        prop::option::of(date(70)),
        prop::option::of(0u64..40),
    )
        .prop_map(|(as_of, known_at, at_position)| Query {
            as_of,
            known_at,
            at_position,
        })
}

/// A query without the system-time bound (for comparing logs whose positions differ).
///
/// # Example
///
/// ```
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
/// use detente::testing::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let value = strategies::date_query().new_tree(&mut runner).unwrap().current();
///     assert!(value.at_position.is_none());
/// }
/// ```
pub fn date_query() -> impl Strategy<Value = Query> {
    query().prop_map(|query| Query {
        at_position: None,
        ..query
    })
}

/// The shape of the valid histories [`valid_history`] and [`valid_log`] generate.
///
/// # Example
///
/// ```
/// use detente::testing::strategies::HistoryConfig;
///
/// // Facts on distinct, increasing dates, nothing retracted: the histories whose append order
/// // can be shuffled without changing their effective timeline.
/// let config = HistoryConfig { retractions: false, retroactive: false, distinct_dates: true, ..HistoryConfig::default() };
/// assert_eq!(config.dyads, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Candidate events generated per dyad; those that fail the checks are dropped, so a
    /// history holds fewer (about half).
    pub max_candidates: usize,
    /// How many dyads a [`valid_log`] mixes, from 1 to 3 (the first is `RUS-USA`).
    pub dyads: usize,
    /// Whether some events retract earlier ones.
    pub retractions: bool,
    /// Whether some events are dated before events recorded earlier.
    pub retroactive: bool,
    /// Whether every event of a dyad has a date of its own (then dates only go forward).
    pub distinct_dates: bool,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            max_candidates: 40,
            dyads: 3,
            retractions: true,
            retroactive: true,
            distinct_dates: false,
        }
    }
}

/// A step agreed, with an id from the pool of [`item_id`].
fn step_agreed() -> impl Strategy<Value = Event> {
    (item_id(), text(), category(), any::<bool>()).prop_map(
        |(step, description, category, reciprocal)| {
            Event::StepAgreed(StepAgreed {
                step,
                description,
                category,
                reciprocal,
            })
        },
    )
}

/// A step progressed, with an id from the pool of [`item_id`].
fn step_progressed() -> impl Strategy<Value = Event> {
    let stage = prop::sample::select(vec![
        StepProgress::Formalized,
        StepProgress::Implementing,
        StepProgress::Implemented,
        StepProgress::Stalled,
        StepProgress::Reversed,
        StepProgress::Withdrawn,
    ]);
    (item_id(), stage, prop::option::of(text()))
        .prop_map(|(step, stage, note)| Event::StepProgressed(StepProgressed { step, stage, note }))
}

/// The item an event raises or moves: its kind, its id, and whether the event raises it
/// (agrees, raises, proposes, schedules) rather than moves it. Talks name a round they hold.
pub(crate) fn item_touched(event: &Event) -> Option<(ItemKind, &ItemId, bool)> {
    Some(match event {
        Event::StepAgreed(e) => (ItemKind::Step, &e.step, true),
        Event::StepProgressed(e) => (ItemKind::Step, &e.step, false),
        Event::PropertyClaimRaised(e) => (ItemKind::Claim, &e.claim, true),
        Event::ClaimProgressed(e) => (ItemKind::Claim, &e.claim, false),
        Event::FlightsProposed(e) => (ItemKind::Proposal, &e.proposal, true),
        Event::ProposalAnswered(e) => (ItemKind::Proposal, &e.proposal, false),
        Event::IrritantRaised(e) => (ItemKind::Irritant, &e.irritant, true),
        Event::IrritantResolved(e) => (ItemKind::Irritant, &e.irritant, false),
        Event::RoundScheduled(e) => (ItemKind::Round, &e.round, true),
        Event::RoundCancelled(e) => (ItemKind::Round, &e.round, false),
        Event::AgreementReached(e) => (ItemKind::Agreement, &e.agreement, true),
        Event::AgreementProgressed(e) => (ItemKind::Agreement, &e.agreement, false),
        Event::MeasureImposed(e) => (ItemKind::Measure, &e.measure, true),
        Event::MeasureProgressed(e) => (ItemKind::Measure, &e.measure, false),
        Event::TalksHeld(TalksHeld {
            round: Some(round), ..
        }) => (ItemKind::Round, round, false),
        _ => return None,
    })
}

/// The last day a valid history's events occur on or are reported on: [`EPOCH`] plus 600 days
/// (2026-08-24), so that long gaps do not run past the day a real engine records them (a fact
/// cannot be known after the day it is recorded).
pub const LAST_DAY: u64 = 600;

/// The `recorded_at` of the kit's record at `position`: distinct and increasing, from the day
/// after [`LAST_DAY`] at midnight UTC, 5 h 17 min 23 s apart, so that the day of recording
/// changes every few records and has no relation to the events' valid time.
/// [`records`](super::records) and every law's in-memory fold use it.
///
/// # Example
///
/// ```
/// use detente::testing::strategies::recorded_at;
///
/// assert_eq!(recorded_at(1).to_rfc3339(), "2026-08-25T05:17:23+00:00");
/// assert!(recorded_at(2) > recorded_at(1));
/// ```
pub fn recorded_at(position: u64) -> DateTime<Utc> {
    let start = day(LAST_DAY + 1)
        .and_hms_opt(0, 0, 0)
        .map(|midnight| midnight.and_utc())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let step = chrono::Duration::seconds(5 * 3600 + 17 * 60 + 23);
    let steps = i32::try_from(position).unwrap_or(i32::MAX);
    start + step * steps
}

/// One candidate of a valid history, before the checks decide whether it is kept.
#[derive(Debug, Clone)]
struct Candidate {
    /// Days after the latest date so far (negative: a retroactive event).
    delta: i64,
    /// Days between the fact and its report.
    lag: u64,
    sources: Vec<Source>,
    event: Event,
    /// A retraction instead of `event`: which kept event, and whether to prefer an item raised
    /// and moved since (which leaves an orphan).
    retract: Option<(prop::sample::Index, bool)>,
    /// A correction instead of `event`: the fact of a retracted event recorded again, with a
    /// new id (so a transition repeats in the log).
    redo: Option<prop::sample::Index>,
    /// For a move of an item: which item raised so far it moves (otherwise its id is drawn
    /// from the pool, and often names no item, so the checks drop it).
    aim: Option<prop::sample::Index>,
}

fn candidate(dyad: Dyad, config: HistoryConfig) -> impl Strategy<Value = Candidate> {
    let (a, b) = dyad.parties();
    let actors = Actors {
        actor: prop::sample::select(vec![a, b]).boxed(),
        // The target is chosen among kept events later; this placeholder is never drawn.
        target: Just(constant::<EventId>("e0")).boxed(),
    };
    let event = from_table(&actors, |kind| kind.weight);
    let long_gap = 60..200i64;
    let delta = if config.distinct_dates {
        prop_oneof![12 => 1..4i64, 1 => long_gap].boxed()
    } else if config.retroactive {
        prop_oneof![10 => 0..4i64, 2 => -30..0i64, 1 => long_gap].boxed()
    } else {
        prop_oneof![12 => 0..4i64, 1 => long_gap].boxed()
    };
    // Most reports within days, some a month or two late: a fact reported late is not yet
    // known at a `known_at` where a later fact about the same item already is.
    let lag = prop_oneof![6 => 0..3u64, 2 => 3..10u64, 3 => 20..60u64];
    let (retract, redo) = if config.retractions {
        (
            prop::option::weighted(
                0.15,
                (any::<prop::sample::Index>(), prop::bool::weighted(0.8)),
            )
            .boxed(),
            prop::option::weighted(0.08, any::<prop::sample::Index>()).boxed(),
        )
    } else {
        (Just(None).boxed(), Just(None).boxed())
    };
    (
        delta,
        lag,
        prop_oneof![3 => prop::collection::vec(source(), 0..2), 1 => prop::collection::vec(source(), 2..5)],
        event,
        retract,
        redo,
        prop::option::weighted(0.8, any::<prop::sample::Index>()),
    )
        .prop_map(|(delta, lag, sources, event, retract, redo, aim)| Candidate {
            delta,
            lag,
            sources,
            event,
            retract,
            redo,
            aim,
        })
}

/// Keeps the candidates that pass the checks, in order, with ids `{prefix}{k}`. Each is
/// checked with [`check_in_history`] as the kit's record would be (its `recorded_at` from
/// [`recorded_at`]), so whatever rules the checks hold, the history is one a store accepts.
fn keep_valid(dyad: Dyad, prefix: &str, candidates: Vec<Candidate>) -> Vec<NewEvent> {
    let epoch = day(0);
    let last = day(LAST_DAY);
    let mut latest = epoch;
    let mut kept: Vec<NewEvent> = Vec::new();
    let mut recorded: Vec<RecordedEvent> = Vec::new();
    for candidate in candidates {
        let mut occurred_on = if candidate.delta >= 0 {
            latest + Days::new(candidate.delta.unsigned_abs())
        } else {
            (latest - Days::new(candidate.delta.unsigned_abs())).max(epoch)
        };
        if occurred_on > last {
            continue;
        }
        let mut reported_on = (occurred_on + Days::new(candidate.lag)).min(last);
        let redone = candidate
            .redo
            .and_then(|pick| retracted_fact(&recorded, pick));
        let event = match (candidate.retract, redone) {
            (Some((pick, prefer_orphan)), _) => {
                match retraction_target(&recorded, pick, prefer_orphan) {
                    Some(target) => {
                        // A retraction is neither dated nor reported before what it retracts.
                        occurred_on = occurred_on.max(target.occurred_on);
                        reported_on = reported_on.max(target.reported_on).max(occurred_on);
                        Event::EventRetracted(EventRetracted {
                            target: target.id.clone(),
                            reason: "corrected".to_owned(),
                        })
                    }
                    None => continue,
                }
            }
            (None, Some(fact)) => fact,
            (None, None) => aimed(candidate.event, dyad, &recorded, occurred_on, candidate.aim),
        };
        let input = NewEvent {
            id: Some(numbered(prefix, kept.len())),
            dyad,
            occurred_on,
            reported_on: Some(reported_on),
            sources: candidate.sources,
            event,
        };
        let position = recorded.len() as u64 + 1;
        let record =
            input
                .clone()
                .into_recorded(position, position, occurred_on, recorded_at(position));
        if check_in_history(&recorded, &record).is_ok() {
            latest = latest.max(occurred_on);
            kept.push(input);
            recorded.push(record);
        }
    }
    kept
}

/// `event`, a move of an item, aimed at an item of its kind raised in `recorded` by
/// `occurred_on` and not retracted (the one `aim` picks), or, where there is none, the raise of
/// the item it names (so that items have lives, not only births); any other event as it is.
fn aimed(
    mut event: Event,
    dyad: Dyad,
    recorded: &[RecordedEvent],
    occurred_on: NaiveDate,
    aim: Option<prop::sample::Index>,
) -> Event {
    let (Some(aim), Some((kind, _, false))) = (aim, item_touched(&event)) else {
        return event;
    };
    let retracted = retracted_ids(recorded);
    let raised: Vec<&ItemId> = recorded
        .iter()
        .filter(|r| r.occurred_on <= occurred_on && !retracted.contains(&r.id))
        .filter_map(|r| match item_touched(&r.event) {
            Some((k, id, true)) if k == kind => Some(id),
            _ => None,
        })
        .collect();
    if raised.is_empty() {
        return raise_of(&event, dyad).unwrap_or(event);
    }
    let id = raised[aim.index(raised.len())].clone();
    match &mut event {
        Event::StepProgressed(e) => e.step = id,
        Event::ClaimProgressed(e) => e.claim = id,
        Event::ProposalAnswered(e) => e.proposal = id,
        Event::IrritantResolved(e) => e.irritant = id,
        Event::RoundCancelled(e) => e.round = id,
        Event::TalksHeld(e) => e.round = Some(id),
        Event::AgreementProgressed(e) => e.agreement = id,
        Event::MeasureProgressed(e) => e.measure = id,
        _ => {}
    }
    event
}

/// The plainest raise of the item that `event`, a move, names, by the dyad's first party.
fn raise_of(event: &Event, dyad: Dyad) -> Option<Event> {
    let (by, _) = dyad.parties();
    Some(match event {
        Event::StepProgressed(e) => Event::StepAgreed(StepAgreed {
            step: e.step.clone(),
            description: "agreed".to_owned(),
            category: None,
            reciprocal: false,
        }),
        Event::ClaimProgressed(e) => Event::PropertyClaimRaised(PropertyClaimRaised {
            claim: e.claim.clone(),
            claimant: by,
            count: None,
            properties: Vec::new(),
            seized_between: None,
            characterization: None,
        }),
        Event::ProposalAnswered(e) => Event::FlightsProposed(FlightsProposed {
            proposal: e.proposal.clone(),
            proposer: by,
            routes: Vec::new(),
            conditions: Vec::new(),
        }),
        Event::IrritantResolved(e) => Event::IrritantRaised(IrritantRaised {
            irritant: e.irritant.clone(),
            raised_by: by,
            description: "raised".to_owned(),
            category: None,
        }),
        Event::RoundCancelled(e) => round_scheduled_event(e.round.clone(), None, None),
        Event::AgreementProgressed(e) => Event::AgreementReached(AgreementReached {
            agreement: e.agreement.clone(),
            title: "reached".to_owned(),
            kind: None,
            form: None,
            steps: Vec::new(),
            at: None,
        }),
        Event::MeasureProgressed(e) => Event::MeasureImposed(MeasureImposed {
            measure: e.measure.clone(),
            imposed_by: by,
            kind: MeasureKind::Other,
            description: "imposed".to_owned(),
        }),
        _ => return None,
    })
}

/// The ids of the events of `recorded` that a retraction of `recorded` retracts.
fn retracted_ids(recorded: &[RecordedEvent]) -> BTreeSet<&EventId> {
    recorded
        .iter()
        .filter_map(|r| match &r.event {
            Event::EventRetracted(retraction) => Some(&retraction.target),
            _ => None,
        })
        .collect()
}

/// The fact of a retracted event of `recorded`, to record again under a new id.
fn retracted_fact(recorded: &[RecordedEvent], pick: prop::sample::Index) -> Option<Event> {
    let retracted = retracted_ids(recorded);
    let facts: Vec<&RecordedEvent> = recorded
        .iter()
        .filter(|r| retracted.contains(&r.id))
        .collect();
    if facts.is_empty() {
        return None;
    }
    Some(facts[pick.index(facts.len())].event.clone())
}

/// An event of `recorded` that may be retracted: not a retraction, not retracted yet; with
/// `prefer_orphan`, where there is one, an item raised and moved since (of a kind drawn
/// evenly among the kinds that have one), so that the move is left an orphan.
fn retraction_target(
    recorded: &[RecordedEvent],
    pick: prop::sample::Index,
    prefer_orphan: bool,
) -> Option<&RecordedEvent> {
    let retracted = retracted_ids(recorded);
    let eligible: Vec<&RecordedEvent> = recorded
        .iter()
        .filter(|r| !matches!(r.event, Event::EventRetracted(_)) && !retracted.contains(&r.id))
        .collect();
    let moved_since = |raise: &RecordedEvent| match item_touched(&raise.event) {
        Some((kind, id, true)) => recorded.iter().any(|later| {
            later.position > raise.position
                && !retracted.contains(&later.id)
                && matches!(item_touched(&later.event), Some((k, i, false)) if k == kind && i == id)
        }),
        _ => false,
    };
    let orphaning: Vec<&RecordedEvent> = eligible
        .iter()
        .copied()
        .filter(|r| moved_since(r))
        .collect();
    let pool = if prefer_orphan && !orphaning.is_empty() {
        let mut kinds: Vec<ItemKind> = Vec::new();
        for raise in &orphaning {
            if let Some((kind, _, _)) = item_touched(&raise.event)
                && !kinds.contains(&kind)
            {
                kinds.push(kind);
            }
        }
        let kind = kinds[pick.index(kinds.len())];
        orphaning
            .into_iter()
            .filter(|r| item_touched(&r.event).is_some_and(|(k, _, _)| k == kind))
            .collect()
    } else {
        eligible
    };
    if pool.is_empty() {
        return None;
    }
    Some(pool[pick.index(pool.len())])
}

/// A valid history of one dyad, in append order: each event passes [`check_in_history`]
/// against the events before it. Ids are `e0`, `e1`, ...; every event has a `reported_on`.
///
/// # Example
///
/// ```
/// use detente::domain::check_in_history;
/// use detente::scenario::recorded;
/// use detente::testing::strategies::{valid_history, HistoryConfig};
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
///
/// let dyad = "RUS-USA".parse().unwrap();
/// let mut runner = TestRunner::deterministic();
/// let history = valid_history(dyad, HistoryConfig::default()).new_tree(&mut runner).unwrap().current();
/// let events = recorded(history);
/// for n in 0..events.len() {
///     assert!(check_in_history(&events[..n], &events[n]).is_ok());
/// }
/// ```
pub fn valid_history(dyad: Dyad, config: HistoryConfig) -> impl Strategy<Value = Vec<NewEvent>> {
    valid_history_with_prefix(dyad, "e", config)
}

fn valid_history_with_prefix(
    dyad: Dyad,
    prefix: &'static str,
    config: HistoryConfig,
) -> impl Strategy<Value = Vec<NewEvent>> {
    prop::collection::vec(candidate(dyad, config), 0..=config.max_candidates)
        .prop_map(move |candidates| keep_valid(dyad, prefix, candidates))
}

/// A valid log of [`HistoryConfig::dyads`] dyads (`RUS-USA`, `CHN-USA`, `RUS-TUR`), their
/// histories interleaved in a random append order. Ids are `e0`, ... in `RUS-USA`, `f0`, ... in
/// `CHN-USA` and `g0`, ... in `RUS-TUR`. Valid as a whole, since checks are per dyad.
///
/// # Example
///
/// ```
/// use detente::domain::check_in_history;
/// use detente::scenario::recorded;
/// use detente::testing::strategies::{valid_log, HistoryConfig};
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
///
/// let mut runner = TestRunner::deterministic();
/// let log = recorded(valid_log(HistoryConfig::default()).new_tree(&mut runner).unwrap().current());
/// for n in 0..log.len() {
///     assert!(check_in_history(&log[..n], &log[n]).is_ok());
/// }
/// ```
pub fn valid_log(config: HistoryConfig) -> impl Strategy<Value = Vec<NewEvent>> {
    let prefixes = ["e", "f", "g"];
    let histories: Vec<BoxedStrategy<Vec<NewEvent>>> = DYADS
        .iter()
        .zip(prefixes)
        .take(config.dyads.clamp(1, DYADS.len()))
        .map(|(dyad, prefix)| valid_history_with_prefix(constant(dyad), prefix, config).boxed())
        .collect();
    let n_dyads = histories.len();
    (
        histories,
        prop::collection::vec(0..n_dyads, 0..=config.max_candidates * n_dyads),
    )
        .prop_map(|(histories, interleaving)| interleave(histories, &interleaving))
}

/// Merges `histories`, each kept in its order: `choices` names whose next event comes next;
/// what is left when they run out follows in order.
fn interleave(histories: Vec<Vec<NewEvent>>, choices: &[usize]) -> Vec<NewEvent> {
    let mut iters: Vec<std::vec::IntoIter<NewEvent>> =
        histories.into_iter().map(Vec::into_iter).collect();
    let mut merged = Vec::new();
    for &choice in choices {
        if let Some(next) = iters.get_mut(choice).and_then(Iterator::next) {
            merged.push(next);
        }
    }
    for rest in iters {
        merged.extend(rest);
    }
    merged
}

/// A query whose bounds fall inside `history` (each present or not): `as_of` a day from one
/// before its first `occurred_on` to its last, `known_at` likewise over its `reported_on`, and
/// `at_position` from 0 to its length.
///
/// # Example
///
/// ```
/// use detente::testing::strategies::query_in;
/// use detente::testing::proptest::strategy::{Strategy, ValueTree};
/// use detente::testing::proptest::test_runner::TestRunner;
///
/// let history = detente::scenario::istanbul_2025();
/// let mut runner = TestRunner::deterministic();
/// let query = query_in(&history).new_tree(&mut runner).unwrap().current();
/// assert!(query.at_position.is_none_or(|at| at <= history.len() as u64));
/// ```
pub fn query_in(history: &[NewEvent]) -> impl Strategy<Value = Query> + use<> {
    let span = |dates: Vec<NaiveDate>| -> (NaiveDate, u64) {
        let first = dates.iter().min().copied().unwrap_or_else(|| day(0));
        let last = dates.iter().max().copied().unwrap_or(first);
        let start = first.pred_opt().unwrap_or(first);
        let days = (last - start).num_days().unsigned_abs();
        (start, days)
    };
    let (as_of_start, as_of_days) = span(history.iter().map(|e| e.occurred_on).collect());
    let (known_start, known_days) = span(
        history
            .iter()
            .map(|e| e.reported_on.unwrap_or(e.occurred_on))
            .collect(),
    );
    (
        prop::option::of((0..=as_of_days).prop_map(move |d| as_of_start + Days::new(d))),
        prop::option::of((0..=known_days).prop_map(move |d| known_start + Days::new(d))),
        prop::option::of(0..=history.len() as u64),
    )
        .prop_map(|(as_of, known_at, at_position)| Query {
            as_of,
            known_at,
            at_position,
        })
}
