//! The seed scenario: the Russia–US consultations in Istanbul on 27 February 2025, with the
//! background of expulsions and closures they were meant to work through.
//!
//! The facts are those reported by the Russian Foreign Ministry, the Xinhua news agency and the
//! Ministry's spokesperson Maria Zakharova on 28 February and 1 March 2025, written in our own
//! words. The sources' `quote`s are short paraphrases, except the claim's framing "illegally
//! seized", which is the phrase the reports attribute to Russia: a quote of a source, never the
//! store's own voice. Background events are reported on their own dates and carry no quote.
//!
//! Every event has a stable, explicit id, so recording the scenario twice changes nothing.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    Category, Delegation, DiplomatsExpelled, Dyad, Event, EventId, EventRetracted, FlightsProposed,
    IrritantRaised, ItemId, Location, MissionClosed, NewEvent, Party, Person, PropertyClaimRaised,
    RecordedEvent, Source, SourceKind, StepAgreed, TalksFormat, TalksHeld, YearRange,
};

// The helpers below parse constants written in this file. A typo in them is a bug found by the
// first test run, never a user's input, so they panic with the constant's text.

fn party(code: &str) -> Party {
    code.parse()
        .unwrap_or_else(|err| panic!("scenario constant: {err}"))
}

fn dyad() -> Dyad {
    "RUS-USA"
        .parse()
        .unwrap_or_else(|err| panic!("scenario constant: {err}"))
}

fn date(text: &str) -> NaiveDate {
    text.parse()
        .unwrap_or_else(|err| panic!("scenario constant `{text}`: {err}"))
}

fn event_id(text: &str) -> EventId {
    text.parse()
        .unwrap_or_else(|err| panic!("scenario constant: {err}"))
}

fn item(text: &str) -> ItemId {
    text.parse()
        .unwrap_or_else(|err| panic!("scenario constant: {err}"))
}

fn category(text: &str) -> Category {
    text.parse()
        .unwrap_or_else(|err| panic!("scenario constant: {err}"))
}

fn source(name: &str, kind: SourceKind, quote: Option<&str>) -> Source {
    Source {
        name: name.to_owned(),
        kind: Some(kind),
        url: None,
        quote: quote.map(str::to_owned),
    }
}

fn foreign_ministry(quote: &str) -> Source {
    source(
        "Russian Foreign Ministry",
        SourceKind::OfficialStatement,
        Some(quote),
    )
}

fn xinhua(quote: &str) -> Source {
    source("Xinhua", SourceKind::NewsAgency, Some(quote))
}

fn zakharova(quote: &str) -> Source {
    source("Maria Zakharova", SourceKind::Spokesperson, Some(quote))
}

fn us_state_department() -> Source {
    source(
        "US Department of State",
        SourceKind::OfficialStatement,
        None,
    )
}

fn event(
    id: &str,
    occurred_on: &str,
    reported_on: &str,
    sources: Vec<Source>,
    event: Event,
) -> NewEvent {
    NewEvent {
        id: Some(event_id(id)),
        dyad: dyad(),
        occurred_on: date(occurred_on),
        reported_on: Some(date(reported_on)),
        sources,
        event,
    }
}

fn closed(id: &str, on: &str, facility: &str) -> NewEvent {
    event(
        id,
        on,
        on,
        vec![us_state_department()],
        Event::MissionClosed(MissionClosed {
            closed_by: party("USA"),
            facility: facility.to_owned(),
        }),
    )
}

fn expelled(id: &str, on: &str, count: u32) -> NewEvent {
    event(
        id,
        on,
        on,
        vec![us_state_department()],
        Event::DiplomatsExpelled(DiplomatsExpelled {
            expelled_by: party("USA"),
            count,
        }),
    )
}

/// The date the Istanbul talks were reported.
const REPORTED: &str = "2025-02-28";
/// The date of the Istanbul talks.
const TALKS_DAY: &str = "2025-02-27";

/// The dyad `RUS-USA` from 2016 to the Istanbul consultations of 27 February 2025, in
/// chronological order: 14 events with explicit ids.
///
/// - Background, each reported on its own date: on 2016-12-29 the US expels 35 Russian
///   diplomats and closes two compounds (Maryland, New York); on 2017-07-28 Russia caps the
///   staff of US missions at 455, recorded as an irritant raised by the US (category
///   `staffing`); on 2017-09-02 the US closes the consulate general in San Francisco and trade
///   mission premises; on 2018-03-26 the US expels 60 more and closes the consulate general in
///   Seattle.
/// - Istanbul, 2025-02-27, reported 2025-02-28: the talks (`istanbul-2025-talks`, round
///   `istanbul-2025`, closed door, 360 minutes, at the US consulate general); two steps agreed
///   (`mission-financing`, reciprocal, and `diplomat-conditions`); Russia's claim
///   `diplomatic-property` to six properties seized between 2016 and 2018; Russia's proposal
///   `direct-flights`; and the step `continue-contacts` (category `consultations`).
///
/// # Example
///
/// ```
/// use detente::domain::{state_at, Query};
/// use detente::scenario::{istanbul_2025, recorded};
///
/// let events = recorded(istanbul_2025());
/// let state = state_at(&events, &Query::default());
/// assert_eq!(state.events_applied, 14);
/// assert!(state.anomalies.is_empty());
/// assert_eq!(state.claims["diplomatic-property"].count, 6);
/// assert_eq!(state.reciprocity.diplomats_expelled[&"USA".parse().unwrap()], 95);
/// assert_eq!(state.rounds[0].location.city, "Istanbul");
/// ```
pub fn istanbul_2025() -> Vec<NewEvent> {
    let talks_sources = || {
        vec![
            foreign_ministry(
                "Consultations on the work of the embassies were held in Istanbul behind closed doors and lasted more than six hours.",
            ),
            xinhua(
                "Russian and US delegations met in Istanbul for talks on their diplomatic missions.",
            ),
            zakharova("The talks addressed the irritants inherited from earlier years."),
        ]
    };
    let agreed_sources = |quote: &str| vec![foreign_ministry(quote)];
    vec![
        expelled("us-expels-35-diplomats-2016", "2016-12-29", 35),
        closed(
            "us-closes-maryland-compound-2016",
            "2016-12-29",
            "Russian diplomatic compound in Maryland",
        ),
        closed(
            "us-closes-new-york-compound-2016",
            "2016-12-29",
            "Russian diplomatic compound in New York",
        ),
        event(
            "rus-caps-us-mission-staff-2017",
            "2017-07-28",
            "2017-07-28",
            vec![source(
                "Russian Foreign Ministry",
                SourceKind::OfficialStatement,
                None,
            )],
            Event::IrritantRaised(IrritantRaised {
                irritant: item("us-mission-staff-cap"),
                raised_by: party("USA"),
                description: "Russia caps the staff of US diplomatic missions in Russia at 455"
                    .to_owned(),
                category: Some(category("staffing")),
            }),
        ),
        closed(
            "us-closes-san-francisco-consulate-2017",
            "2017-09-02",
            "Russian consulate general in San Francisco",
        ),
        closed(
            "us-closes-trade-mission-premises-2017",
            "2017-09-02",
            "Russian trade mission premises",
        ),
        expelled("us-expels-60-diplomats-2018", "2018-03-26", 60),
        closed(
            "us-closes-seattle-consulate-2018",
            "2018-03-26",
            "Russian consulate general in Seattle",
        ),
        event(
            "istanbul-2025-talks",
            TALKS_DAY,
            REPORTED,
            talks_sources(),
            Event::TalksHeld(TalksHeld {
                round: Some(item("istanbul-2025")),
                location: Location {
                    city: "Istanbul".to_owned(),
                    country: party("TUR"),
                    venue: Some("US consulate general".to_owned()),
                },
                format: Some(TalksFormat::ClosedDoor),
                duration_minutes: Some(360),
                level: None,
                delegations: vec![
                    Delegation {
                        party: party("RUS"),
                        head: Person {
                            name: "Alexander Darchiev".to_owned(),
                            title: Some(
                                "Director, North Atlantic Department, Russian Foreign Ministry"
                                    .to_owned(),
                            ),
                        },
                    },
                    Delegation {
                        party: party("USA"),
                        head: Person {
                            name: "Sonata Coulter".to_owned(),
                            title: Some(
                                "Deputy Assistant Secretary of State for policy toward Russia and Central Europe"
                                    .to_owned(),
                            ),
                        },
                    },
                ],
                topics: vec![
                    "irritants in bilateral relations".to_owned(),
                    "operation of diplomatic missions".to_owned(),
                ],
                mediators: Vec::new(),
            }),
        ),
        event(
            "istanbul-2025-mission-financing",
            TALKS_DAY,
            REPORTED,
            agreed_sources(
                "The sides agreed on joint steps to keep the financing of both countries' missions unimpeded, on a reciprocal basis.",
            ),
            Event::StepAgreed(StepAgreed {
                step: item("mission-financing"),
                description:
                    "joint steps to ensure unimpeded financing of both countries' diplomatic missions"
                        .to_owned(),
                category: Some(category("mission_financing")),
                reciprocal: true,
            }),
        ),
        event(
            "istanbul-2025-diplomat-conditions",
            TALKS_DAY,
            REPORTED,
            agreed_sources("The sides agreed to create conditions for diplomats to do their work."),
            Event::StepAgreed(StepAgreed {
                step: item("diplomat-conditions"),
                description: "create conditions for diplomats to carry out their duties"
                    .to_owned(),
                category: Some(category("diplomat_conditions")),
                reciprocal: false,
            }),
        ),
        event(
            "istanbul-2025-property-claim",
            TALKS_DAY,
            REPORTED,
            vec![
                foreign_ministry(
                    "Russia raised the return of six diplomatic properties in the US, \"illegally seized\" between 2016 and 2018.",
                ),
                zakharova("Russia wants its diplomatic property in the US back."),
            ],
            Event::PropertyClaimRaised(PropertyClaimRaised {
                claim: item("diplomatic-property"),
                claimant: party("RUS"),
                count: Some(6),
                properties: Vec::new(),
                seized_between: Some(YearRange {
                    from: 2016,
                    to: 2018,
                }),
                characterization: Some("illegally seized".to_owned()),
            }),
        ),
        event(
            "istanbul-2025-flights-proposal",
            TALKS_DAY,
            REPORTED,
            vec![
                foreign_ministry(
                    "Russia proposed that the US consider restoring direct flights between the two countries.",
                ),
                xinhua("Moscow suggested resuming direct air links."),
            ],
            Event::FlightsProposed(FlightsProposed {
                proposal: item("direct-flights"),
                proposer: party("RUS"),
                routes: Vec::new(),
                conditions: Vec::new(),
            }),
        ),
        event(
            "istanbul-2025-continue-contacts",
            TALKS_DAY,
            REPORTED,
            vec![
                foreign_ministry("The sides agreed to keep up diplomatic contacts."),
                zakharova("The date and place of the next meeting are not yet set."),
            ],
            Event::StepAgreed(StepAgreed {
                step: item("continue-contacts"),
                description:
                    "continue diplomatic contacts; the date and place of the next meeting are not set"
                        .to_owned(),
                category: Some(category("consultations")),
                reciprocal: false,
            }),
        ),
    ]
}

/// What was learned after the first reports, to be recorded after [`istanbul_2025`]: a
/// correction of the venue, reported on 2025-03-01. It is a retraction of
/// `istanbul-2025-talks` (`istanbul-2025-talks-retracted`, occurred and reported 2025-03-01)
/// plus a new `TalksHeld` (`istanbul-2025-talks-at-residence`), a late report: reported on
/// 2025-03-01 about 2025-02-27, naming the US Consul General's residence as the venue.
///
/// The retraction comes first: the new event names the same round id, which may be held only
/// once, so recording it while the original still counts would be refused.
///
/// # Example
///
/// ```
/// use detente::domain::{state_at, Query};
/// use detente::scenario::{istanbul_2025, istanbul_2025_followups, recorded};
///
/// let events = recorded(istanbul_2025().into_iter().chain(istanbul_2025_followups()));
/// let now = state_at(&events, &Query::default());
/// assert_eq!(now.rounds.len(), 1);
/// assert_eq!(now.rounds[0].location.venue.as_deref(), Some("US Consul General's residence"));
///
/// // As known on 28 February, the first report still stands.
/// let then = Query { known_at: Some("2025-02-28".parse().unwrap()), ..Query::default() };
/// assert_eq!(state_at(&events, &then).rounds[0].location.venue.as_deref(), Some("US consulate general"));
/// ```
pub fn istanbul_2025_followups() -> Vec<NewEvent> {
    let corrected = istanbul_2025()
        .into_iter()
        .find(|input| input.id.as_ref().map(EventId::as_str) == Some("istanbul-2025-talks"))
        .map(|input| input.event);
    let talks = match corrected {
        Some(Event::TalksHeld(mut talks)) => {
            talks.location.venue = Some("US Consul General's residence".to_owned());
            Event::TalksHeld(talks)
        }
        _ => unreachable!("istanbul_2025 holds the talks event"),
    };
    let later_report = || {
        vec![source(
            "other reports",
            SourceKind::Other,
            Some("The talks took place at the residence of the US Consul General in Istanbul."),
        )]
    };
    vec![
        event(
            "istanbul-2025-talks-retracted",
            "2025-03-01",
            "2025-03-01",
            later_report(),
            Event::EventRetracted(EventRetracted {
                target: event_id("istanbul-2025-talks"),
                reason: "the venue was the US Consul General's residence; recorded again as istanbul-2025-talks-at-residence".to_owned(),
            }),
        ),
        event(
            "istanbul-2025-talks-at-residence",
            TALKS_DAY,
            "2025-03-01",
            later_report(),
            talks,
        ),
    ]
}

/// Makes records of `inputs` as a store appending them in order would, minus the hash chain:
/// positions from 1, versions from 1 per dyad, `reported_on` defaulted to `occurred_on`,
/// `recorded_at` the Unix epoch, a zero hash. For examples and tests of the pure domain.
///
/// # Example
///
/// ```
/// use detente::scenario::{istanbul_2025, recorded};
///
/// let events = recorded(istanbul_2025());
/// assert_eq!(events[0].position, 1);
/// assert_eq!(events.last().unwrap().version, 14);
/// ```
pub fn recorded(inputs: impl IntoIterator<Item = NewEvent>) -> Vec<RecordedEvent> {
    let mut versions: std::collections::BTreeMap<Dyad, u64> = std::collections::BTreeMap::new();
    inputs
        .into_iter()
        .enumerate()
        .map(|(index, input)| {
            let version = versions.entry(input.dyad).or_insert(0);
            *version += 1;
            let today = input.reported_on.unwrap_or(input.occurred_on);
            input.into_recorded(
                index as u64 + 1,
                *version,
                today,
                DateTime::<Utc>::UNIX_EPOCH,
            )
        })
        .collect()
}

/// A chronology shipped with detente (`examples/chronologies/`, sources in its README):
/// dated, sourced events of a negotiation beyond the seed scenario, compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chronology {
    /// Its name, for `detente demo --scenario NAME`.
    pub name: &'static str,
    /// What it covers.
    pub title: &'static str,
    /// Its events as JSON Lines, one event per line (wire format 1).
    pub lines: &'static str,
}

/// The name of the seed scenario ([`istanbul_2025`] and its follow-ups), the demo's default.
pub const SEED: &str = "istanbul-2025";

/// The chronologies of `examples/chronologies/`, in the order of their names.
pub const CHRONOLOGIES: [Chronology; 3] = [
    Chronology {
        name: "armenia-azerbaijan",
        title: "Armenia–Azerbaijan, 2020–2025: from the ceasefire to the peace agreement initialled in Washington",
        lines: include_str!("../examples/chronologies/armenia-azerbaijan.jsonl"),
    },
    Chronology {
        name: "serbia-kosovo",
        title: "Serbia–Kosovo, 2011–2024: the Brussels Agreement, the Washington commitments, Ohrid",
        lines: include_str!("../examples/chronologies/serbia-kosovo.jsonl"),
    },
    Chronology {
        name: "us-soviet-arms-control",
        title: "US–Soviet and US–Russian arms control, 1987–2023: the INF Treaty, START I, New START",
        lines: include_str!("../examples/chronologies/us-soviet-arms-control.jsonl"),
    },
];

impl Chronology {
    /// The chronology named `name`, if detente ships one.
    ///
    /// ```
    /// use detente::scenario::Chronology;
    ///
    /// assert!(Chronology::named("serbia-kosovo").is_some());
    /// assert!(Chronology::named("atlantis").is_none());
    /// ```
    pub fn named(name: &str) -> Option<Chronology> {
        CHRONOLOGIES.iter().find(|c| c.name == name).copied()
    }

    /// Its events, in the order of the file.
    ///
    /// ```
    /// use detente::domain::{continued_log, state_at, AgreementStatus, Query};
    /// use detente::scenario::{recorded, Chronology};
    ///
    /// let events = Chronology::named("us-soviet-arms-control").unwrap().events();
    /// let log = continued_log(&recorded(events), "RUS-USA".parse().unwrap());
    /// let in_1990 = state_at(&log, &Query::as_of("1990-01-01".parse().unwrap()));
    /// assert_eq!(in_1990.agreements["inf-treaty"].status, AgreementStatus::InForce);
    /// ```
    pub fn events(&self) -> Vec<NewEvent> {
        self.lines
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| match serde_json::from_str(line) {
                Ok(event) => event,
                // The files are compiled in and read by the tests: a bad line is a bug.
                Err(err) => panic!("{}: {err}: {line}", self.name),
            })
            .collect()
    }

    /// The dyad the chronology ends in: the one to ask about (`RUS-USA` for the arms control
    /// chronology, which continues `SUN-USA`).
    ///
    /// ```
    /// use detente::scenario::Chronology;
    ///
    /// let arms = Chronology::named("us-soviet-arms-control").unwrap();
    /// assert_eq!(arms.dyad().map(|d| d.to_string()).as_deref(), Some("RUS-USA"));
    /// ```
    pub fn dyad(&self) -> Option<Dyad> {
        self.events().last().map(|event| event.dyad)
    }
}
