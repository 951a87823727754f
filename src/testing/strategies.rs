//! Proptest strategies of domain values: parties, dyads, events, histories and queries.
//!
//! Two families:
//!
//! - **Anything**: [`event`], [`new_event`], [`history`] generate inputs that are often invalid
//!   (orphans, duplicates, outsiders, reports dated before the facts, retractions of unknown
//!   ids). Pools are small on purpose, so collisions are frequent. Use them to prove a fold is
//!   total.
//! - **Valid**: [`valid_history`] and [`valid_log`] generate what a store can hold: every event
//!   passes [`check_in_history`] against the events before it, in append order. They include
//!   retroactive events, retractions (of steps that were progressed since, which leaves orphans
//!   in the effective timeline) and several dyads, as a [`HistoryConfig`] asks.
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

/// Any of the fourteen events; a retraction targets `e{k}` for `k < n_targets`. Parties are
/// mostly `RUS` and `USA`, sometimes an outsider, so some events are invalid in their dyad.
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

/// Any of the fourteen events, with every acting party (expeller, claimant, proposer...) drawn
/// from `actor` and every retraction target from `target`.
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
    let party = move || actor.clone();
    let talks = (
        prop::option::of(round_id()),
        location(),
        prop::option::of(prop::sample::select(vec![
            TalksFormat::ClosedDoor,
            TalksFormat::Open,
        ])),
        prop::option::of(any::<u32>()),
        prop::option::of(prop::sample::select(vec![
            TalksLevel::Working,
            TalksLevel::SeniorOfficials,
            TalksLevel::Ministerial,
            TalksLevel::Leaders,
        ])),
        prop::collection::vec(
            (party(), person()).prop_map(|(party, head)| Delegation { party, head }),
            0..3,
        ),
        prop::collection::vec(text(), 0..2),
    )
        .prop_map(
            |(round, location, format, duration_minutes, level, delegations, topics)| {
                Event::TalksHeld(TalksHeld {
                    round,
                    location,
                    format,
                    duration_minutes,
                    level,
                    delegations,
                    topics,
                })
            },
        );
    let step_progress = prop::sample::select(vec![
        StepProgress::Formalized,
        StepProgress::Implementing,
        StepProgress::Implemented,
        StepProgress::Stalled,
        StepProgress::Reversed,
        StepProgress::Withdrawn,
    ]);
    let claim_progress = prop::sample::select(vec![
        ClaimProgress::UnderDiscussion,
        ClaimProgress::RoadmapAgreed,
        ClaimProgress::Rejected,
        ClaimProgress::Resolved,
        ClaimProgress::Withdrawn,
    ]);
    let response = prop::sample::select(vec![
        ProposalResponse::Accepted,
        ProposalResponse::Rejected,
        ProposalResponse::Deferred,
        ProposalResponse::Conditioned,
    ]);
    let property =
        (text(), prop::option::of(text())).prop_map(|(name, location)| Property { name, location });
    prop_oneof![
        talks.boxed(),
        (item_id(), text(), category(), any::<bool>())
            .prop_map(|(step, description, category, reciprocal)| {
                Event::StepAgreed(StepAgreed {
                    step,
                    description,
                    category,
                    reciprocal,
                })
            })
            .boxed(),
        (item_id(), step_progress, prop::option::of(text()))
            .prop_map(|(step, stage, note)| {
                Event::StepProgressed(StepProgressed { step, stage, note })
            })
            .boxed(),
        (
            item_id(),
            party(),
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
                }
            )
            .boxed(),
        (item_id(), claim_progress, prop::option::of(text()))
            .prop_map(|(claim, status, note)| {
                Event::ClaimProgressed(ClaimProgressed {
                    claim,
                    status,
                    note,
                })
            })
            .boxed(),
        (
            item_id(),
            party(),
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
            .boxed(),
        (item_id(), response, prop::collection::vec(text(), 0..2))
            .prop_map(|(proposal, response, conditions)| {
                Event::ProposalAnswered(ProposalAnswered {
                    proposal,
                    response,
                    conditions,
                })
            })
            .boxed(),
        (item_id(), party(), text(), category())
            .prop_map(|(irritant, raised_by, description, category)| {
                Event::IrritantRaised(IrritantRaised {
                    irritant,
                    raised_by,
                    description,
                    category,
                })
            })
            .boxed(),
        (item_id(), prop::option::of(text()))
            .prop_map(|(irritant, note)| {
                Event::IrritantResolved(IrritantResolved { irritant, note })
            })
            .boxed(),
        (
            round_id(),
            prop::option::of(date(90)),
            prop::option::of(location())
        )
            .prop_map(|(round, expected_on, location)| {
                Event::RoundScheduled(RoundScheduled {
                    round,
                    expected_on,
                    location,
                    replaces: None,
                })
            })
            .boxed(),
        (round_id(), prop::option::of(party()))
            .prop_map(|(round, cancelled_by)| {
                Event::RoundCancelled(RoundCancelled {
                    round,
                    cancelled_by,
                })
            })
            .boxed(),
        (party(), any::<u32>())
            .prop_map(|(expelled_by, count)| {
                Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by, count })
            })
            .boxed(),
        (party(), text())
            .prop_map(|(closed_by, facility)| {
                Event::MissionClosed(MissionClosed {
                    closed_by,
                    facility,
                })
            })
            .boxed(),
        (target, text())
            .prop_map(|(target, reason)| {
                Event::EventRetracted(EventRetracted { target, reason })
            })
            .boxed(),
    ]
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

/// One candidate of a valid history, before the checks decide whether it is kept.
#[derive(Debug, Clone)]
struct Candidate {
    /// Days after the latest date so far (negative: a retroactive event).
    delta: i64,
    /// Days between the fact and its report.
    lag: u64,
    sources: Vec<Source>,
    event: Event,
    /// A retraction instead of `event`: which kept event, and whether to prefer a step that
    /// was agreed and progressed since.
    retract: Option<(prop::sample::Index, bool)>,
}

fn candidate(dyad: Dyad, config: HistoryConfig) -> impl Strategy<Value = Candidate> {
    let (a, b) = dyad.parties();
    let actor = prop::sample::select(vec![a, b]).boxed();
    // The target is chosen among kept events later; this placeholder is replaced.
    let placeholder = Just(constant::<EventId>("e0")).boxed();
    let event = prop_oneof![
        4 => event_with(actor, placeholder).prop_filter("retractions are drawn apart", |e| {
            !matches!(e, Event::EventRetracted(_))
        }).boxed(),
        2 => step_agreed().boxed(),
        2 => step_progressed().boxed(),
    ];
    let delta = if config.distinct_dates {
        (1..4i64).boxed()
    } else if config.retroactive {
        prop_oneof![6 => 0..4i64, 1 => -30..0i64].boxed()
    } else {
        (0..4i64).boxed()
    };
    let retract = if config.retractions {
        prop::option::weighted(0.15, (any::<prop::sample::Index>(), any::<bool>())).boxed()
    } else {
        Just(None).boxed()
    };
    (
        delta,
        0..10u64,
        prop::collection::vec(source(), 0..2),
        event,
        retract,
    )
        .prop_map(|(delta, lag, sources, event, retract)| Candidate {
            delta,
            lag,
            sources,
            event,
            retract,
        })
}

/// Keeps the candidates that pass the checks, in order, with ids `{prefix}{k}`.
fn keep_valid(dyad: Dyad, prefix: &str, candidates: Vec<Candidate>) -> Vec<NewEvent> {
    let epoch = day(0);
    let mut latest = epoch;
    let mut kept: Vec<NewEvent> = Vec::new();
    let mut recorded: Vec<RecordedEvent> = Vec::new();
    for candidate in candidates {
        let occurred_on = if candidate.delta >= 0 {
            latest + Days::new(candidate.delta.unsigned_abs())
        } else {
            (latest - Days::new(candidate.delta.unsigned_abs())).max(epoch)
        };
        let event = match candidate.retract {
            None => candidate.event,
            Some((pick, prefer_progressed_step)) => {
                match retraction_target(&recorded, pick, prefer_progressed_step) {
                    Some(target) => Event::EventRetracted(EventRetracted {
                        target,
                        reason: "corrected".to_owned(),
                    }),
                    None => continue,
                }
            }
        };
        let input = NewEvent {
            id: Some(numbered(prefix, kept.len())),
            dyad,
            occurred_on,
            reported_on: Some(occurred_on + Days::new(candidate.lag)),
            sources: candidate.sources,
            event,
        };
        let position = recorded.len() as u64 + 1;
        let record = input.clone().into_recorded(
            position,
            position,
            occurred_on,
            DateTime::<Utc>::UNIX_EPOCH,
        );
        if check_in_history(&recorded, &record).is_ok() {
            latest = latest.max(occurred_on);
            kept.push(input);
            recorded.push(record);
        }
    }
    kept
}

/// An event of `recorded` that may be retracted: not a retraction, not retracted yet; with
/// `prefer_progressed_step`, a step agreed that was progressed since, where there is one.
fn retraction_target(
    recorded: &[RecordedEvent],
    pick: prop::sample::Index,
    prefer_progressed_step: bool,
) -> Option<EventId> {
    let retracted: BTreeSet<&EventId> = recorded
        .iter()
        .filter_map(|r| match &r.event {
            Event::EventRetracted(retraction) => Some(&retraction.target),
            _ => None,
        })
        .collect();
    let eligible: Vec<&RecordedEvent> = recorded
        .iter()
        .filter(|r| !matches!(r.event, Event::EventRetracted(_)) && !retracted.contains(&r.id))
        .collect();
    let progressed_steps: Vec<&RecordedEvent> = eligible
        .iter()
        .copied()
        .filter(|r| match &r.event {
            Event::StepAgreed(agreed) => recorded.iter().any(|later| {
                matches!(&later.event, Event::StepProgressed(p) if p.step == agreed.step)
                    && later.position > r.position
            }),
            _ => false,
        })
        .collect();
    let pool = if prefer_progressed_step && !progressed_steps.is_empty() {
        progressed_steps
    } else {
        eligible
    };
    if pool.is_empty() {
        return None;
    }
    Some(pool[pick.index(pool.len())].id.clone())
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
