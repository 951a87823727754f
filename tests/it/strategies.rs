//! Generators of domain values for property tests: ids, parties, dyads, events and histories.
//!
//! Written against the public API only, so they can move into a public `detente::testing`
//! module unchanged. Pools are small on purpose: item ids, round ids and dates collide often, so
//! generated histories are full of duplicates, orphans (an item progressed before it was
//! raised), retractions of known and unknown events, events of several dyads, and reports dated
//! before the facts they report.

#![allow(dead_code)] // not every test module uses every generator

use chrono::{Days, NaiveDate};
use detente::domain::*;
use proptest::prelude::*;

/// The parties generated: mostly the two of `RUS-USA`, sometimes an outsider.
pub const PARTIES: [&str; 4] = ["RUS", "USA", "CHN", "TUR"];
/// The dyads generated: mostly `RUS-USA`.
pub const DYADS: [&str; 3] = ["RUS-USA", "CHN-USA", "RUS-TUR"];
/// The first date generated.
pub const EPOCH: &str = "2025-01-01";

/// A party: `RUS` or `USA` four times in five.
pub fn party() -> impl Strategy<Value = Party> {
    prop_oneof![
        4 => Just(PARTIES[0]),
        4 => Just(PARTIES[1]),
        1 => Just(PARTIES[2]),
        1 => Just(PARTIES[3]),
    ]
    .prop_map(|code| code.parse().unwrap())
}

/// A dyad: `RUS-USA` three times in five.
pub fn dyad() -> impl Strategy<Value = Dyad> {
    prop_oneof![
        3 => Just(DYADS[0]),
        1 => Just(DYADS[1]),
        1 => Just(DYADS[2]),
    ]
    .prop_map(|text| text.parse().unwrap())
}

/// The date `days` after [`EPOCH`].
pub fn day(days: u64) -> NaiveDate {
    EPOCH.parse::<NaiveDate>().unwrap() + Days::new(days)
}

/// A date within `0..span` days of [`EPOCH`].
pub fn date(span: u64) -> impl Strategy<Value = NaiveDate> {
    (0..span).prop_map(day)
}

/// An item id from a pool of three, so that raises collide and progress meets orphans.
pub fn item_id() -> impl Strategy<Value = ItemId> {
    prop::sample::select(vec!["a", "b", "c"]).prop_map(|id| id.parse().unwrap())
}

/// A round id from a pool of two.
pub fn round_id() -> impl Strategy<Value = ItemId> {
    prop::sample::select(vec!["r1", "r2"]).prop_map(|id| id.parse().unwrap())
}

/// An event id `e{index}` for an index below `n`: the ids [`history`] gives its events.
pub fn event_id(n: usize) -> impl Strategy<Value = EventId> {
    (0..n.max(1)).prop_map(|index| format!("e{index}").parse().unwrap())
}

/// A category, or none.
pub fn category() -> impl Strategy<Value = Option<Category>> {
    prop::option::of(
        prop::sample::select(vec!["mission_financing", "staffing", "flights"])
            .prop_map(|text| text.parse().unwrap()),
    )
}

/// Free text, any printable characters (quotes, backslashes and non-ASCII included).
pub fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

/// A location; the country may be anyone's (a host).
pub fn location() -> impl Strategy<Value = Location> {
    (text(), party(), prop::option::of(text())).prop_map(|(city, country, venue)| Location {
        city,
        country,
        venue,
    })
}

/// A person.
pub fn person() -> impl Strategy<Value = Person> {
    (text(), prop::option::of(text())).prop_map(|(name, title)| Person { name, title })
}

/// A source.
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

/// Any of the fourteen events; a retraction targets `e{k}` for `k < n_targets`.
pub fn event(n_targets: usize) -> impl Strategy<Value = Event> {
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
        (event_id(n_targets), text())
            .prop_map(|(target, reason)| {
                Event::EventRetracted(EventRetracted { target, reason })
            })
            .boxed(),
    ]
}

/// An input without an id: any dyad, a date within 60 days, a report between 3 days before
/// (an invalid input) and 20 days after, or none.
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
pub fn history(
    dyad: impl Strategy<Value = Dyad>,
    max_len: usize,
) -> impl Strategy<Value = Vec<NewEvent>> {
    prop::collection::vec(new_event(dyad, max_len + 2), 0..=max_len).prop_map(|inputs| {
        inputs
            .into_iter()
            .enumerate()
            .map(|(index, mut input)| {
                input.id = Some(format!("e{index}").parse().unwrap());
                input
            })
            .collect()
    })
}

/// A history of one dyad, `RUS-USA`.
pub fn dyad_history(max_len: usize) -> impl Strategy<Value = Vec<NewEvent>> {
    history(Just("RUS-USA".parse::<Dyad>().unwrap()), max_len)
}

/// A bitemporal query with each bound present or not.
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
pub fn date_query() -> impl Strategy<Value = Query> {
    query().prop_map(|query| Query {
        at_position: None,
        ..query
    })
}
