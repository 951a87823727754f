//! Given these facts, when this one is recorded, then this state or this rejection: every event
//! type's effect and every rule of `docs/contract.md` (checking a new event), through
//! `check_in_history`, `check_batch`, `check_known_by_recording` and `state_at`. The test names
//! read as the list of rules.

use detente::domain::*;
use detente::scenario::recorded;
use serde_json::{Value, json};

use crate::assert_json_contains;

// ---- the vocabulary of the tests ----------------------------------------------------------

fn party(code: &str) -> Party {
    code.parse().unwrap()
}

fn item(id: &str) -> ItemId {
    id.parse().unwrap()
}

/// A fact of `RUS-USA` on `date`, reported the same day, its id derived from its content.
fn on(date: &str, event: Event) -> NewEvent {
    NewEvent::new("RUS-USA".parse().unwrap(), date.parse().unwrap(), event)
}

trait Adjust {
    fn id(self, id: &str) -> Self;
    fn reported(self, date: &str) -> Self;
    fn dyad(self, dyad: &str) -> Self;
    fn source(self, name: &str) -> Self;
}

impl Adjust for NewEvent {
    fn id(mut self, id: &str) -> Self {
        self.id = Some(id.parse().unwrap());
        self
    }
    fn reported(mut self, date: &str) -> Self {
        self.reported_on = Some(date.parse().unwrap());
        self
    }
    fn dyad(mut self, dyad: &str) -> Self {
        self.dyad = dyad.parse().unwrap();
        self
    }
    fn source(mut self, name: &str) -> Self {
        self.sources.push(Source {
            name: name.to_owned(),
            kind: None,
            url: None,
            quote: None,
        });
        self
    }
}

fn talks(round: Option<&str>, heads: &[(&str, &str)]) -> Event {
    Event::TalksHeld(TalksHeld {
        round: round.map(item),
        location: Location {
            city: "Istanbul".into(),
            country: party("TUR"),
            venue: None,
        },
        format: Some(TalksFormat::ClosedDoor),
        duration_minutes: Some(360),
        level: None,
        delegations: heads
            .iter()
            .map(|(code, name)| Delegation {
                party: party(code),
                head: Person {
                    name: (*name).into(),
                    title: None,
                },
            })
            .collect(),
        topics: Vec::new(),
    })
}

fn agreed(step: &str) -> Event {
    Event::StepAgreed(StepAgreed {
        step: item(step),
        description: format!("{step} agreed"),
        category: None,
        reciprocal: true,
    })
}

fn progressed(step: &str, stage: StepProgress) -> Event {
    Event::StepProgressed(StepProgressed {
        step: item(step),
        stage,
        note: None,
    })
}

fn claim_raised(claim: &str, claimant: &str, count: Option<u32>, n_properties: usize) -> Event {
    Event::PropertyClaimRaised(PropertyClaimRaised {
        claim: item(claim),
        claimant: party(claimant),
        count,
        properties: (0..n_properties)
            .map(|index| Property {
                name: format!("property {index}"),
                location: None,
            })
            .collect(),
        seized_between: None,
        characterization: None,
    })
}

fn claim_progressed(claim: &str, status: ClaimProgress) -> Event {
    Event::ClaimProgressed(ClaimProgressed {
        claim: item(claim),
        status,
        note: None,
    })
}

fn flights_proposed(proposal: &str, proposer: &str, conditions: &[&str]) -> Event {
    Event::FlightsProposed(FlightsProposed {
        proposal: item(proposal),
        proposer: party(proposer),
        routes: Vec::new(),
        conditions: conditions.iter().map(|c| (*c).into()).collect(),
    })
}

fn answered(proposal: &str, response: ProposalResponse, conditions: &[&str]) -> Event {
    Event::ProposalAnswered(ProposalAnswered {
        proposal: item(proposal),
        response,
        conditions: conditions.iter().map(|c| (*c).into()).collect(),
    })
}

fn irritant_raised(irritant: &str, by: &str) -> Event {
    Event::IrritantRaised(IrritantRaised {
        irritant: item(irritant),
        raised_by: party(by),
        description: format!("{irritant} irritates"),
        category: Some("staffing".parse().unwrap()),
    })
}

fn irritant_resolved(irritant: &str) -> Event {
    Event::IrritantResolved(IrritantResolved {
        irritant: item(irritant),
        note: None,
    })
}

fn scheduled(round: &str) -> Event {
    expected(round, Some("2025-04-10"))
}

fn expected(round: &str, on: Option<&str>) -> Event {
    Event::RoundScheduled(RoundScheduled {
        round: item(round),
        expected_on: on.map(date),
        location: None,
        replaces: None,
    })
}

fn rescheduled(round: &str, replaces: &str) -> Event {
    Event::RoundScheduled(RoundScheduled {
        round: item(round),
        expected_on: Some("2025-05-10".parse().unwrap()),
        location: None,
        replaces: Some(item(replaces)),
    })
}

fn cancelled(round: &str, by: Option<&str>) -> Event {
    Event::RoundCancelled(RoundCancelled {
        round: item(round),
        cancelled_by: by.map(party),
    })
}

fn expelled(by: &str, count: u32) -> Event {
    Event::DiplomatsExpelled(DiplomatsExpelled {
        expelled_by: party(by),
        count,
    })
}

fn closed(by: &str, facility: &str) -> Event {
    Event::MissionClosed(MissionClosed {
        closed_by: party(by),
        facility: facility.into(),
    })
}

fn retracted(target: &str) -> Event {
    Event::EventRetracted(EventRetracted {
        target: target.parse().unwrap(),
        reason: "misreported".into(),
    })
}

fn date(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

// ---- the helper -----------------------------------------------------------------------------

/// Given `given` (each accepted in turn), when `when` is recorded next, then the state contains
/// `then`'s JSON, or `when` is refused with `then`'s rejection.
#[track_caller]
fn check(given: &[NewEvent], when: NewEvent, then: Result<Value, Rejection>) {
    let history = recorded(given.to_vec());
    for (index, record) in history.iter().enumerate() {
        assert_eq!(
            check_in_history(&history[..index], record),
            Ok(()),
            "given event {index} ({}) must be accepted",
            record.event.type_name()
        );
    }
    let candidate = recorded(given.iter().cloned().chain([when])).pop().unwrap();
    let outcome = check_in_history(&history, &candidate).map(|()| {
        let mut all = history.clone();
        all.push(candidate);
        serde_json::to_value(state_at(&all, &Query::default())).unwrap()
    });
    match (outcome, then) {
        (Ok(actual), Ok(expected)) => assert_json_contains(&actual, &expected),
        (Err(actual), Err(expected)) => assert_eq!(actual, expected),
        (actual, expected) => panic!("expected {expected:?}\n     got {actual:?}"),
    }
}

// ---- talks and rounds -----------------------------------------------------------------------

#[test]
fn talks_held_add_a_round_with_heads_by_party() {
    check(
        &[],
        on(
            "2025-02-27",
            talks(
                None,
                &[("RUS", "Alexander Darchiev"), ("USA", "Sonata Coulter")],
            ),
        )
        .id("talks"),
        Ok(json!({
            "dyad": "RUS-USA",
            "rounds": [{
                "event_id": "talks",
                "held_on": "2025-02-27",
                "location": {"city": "Istanbul", "country": "TUR"},
                "format": "closed_door",
                "duration_minutes": 360,
                "heads": {"RUS": {"name": "Alexander Darchiev"}, "USA": {"name": "Sonata Coulter"}},
            }],
            "events_applied": 1,
            "position": 1,
            "anomalies": [],
        })),
    );
}

#[test]
fn rounds_are_in_effective_order_whatever_the_recording_order() {
    check(
        &[on("2025-04-10", talks(None, &[])).id("second")],
        on("2025-02-27", talks(None, &[]))
            .id("first")
            .reported("2025-04-11"),
        Ok(json!({"rounds": [{"event_id": "first"}, {"event_id": "second"}]})),
    );
}

#[test]
fn talks_naming_the_scheduled_round_hold_it() {
    check(
        &[on("2025-03-01", scheduled("r2")).id("schedule")],
        on("2025-04-10", talks(Some("r2"), &[])).id("talks"),
        Ok(json!({
            "rounds": [{"round": "r2", "held_on": "2025-04-10"}],
            "scheduled_rounds": {"r2": {"status": "held", "scheduled_on": "2025-03-01",
                "expected_on": "2025-04-10", "changed_on": "2025-04-10", "sessions": 1,
                "history": [{"on": "2025-03-01", "to": "scheduled", "event_id": "schedule"},
                            {"on": "2025-04-10", "to": "held", "event_id": "talks"}]}},
            "next_round": null,
        })),
    );
}

#[test]
fn talks_naming_a_round_held_already_are_another_session_of_it() {
    check(
        &[
            on("2025-03-01", scheduled("r1")),
            on("2025-04-10", talks(Some("r1"), &[])),
        ],
        on("2025-04-11", talks(Some("r1"), &[])),
        Ok(json!({
            "rounds": [{"round": "r1", "held_on": "2025-04-10"}, {"round": "r1", "held_on": "2025-04-11"}],
            "scheduled_rounds": {"r1": {"status": "held", "changed_on": "2025-04-10", "sessions": 2}},
        })),
    );
}

#[test]
fn talks_naming_a_round_never_scheduled_add_it_held() {
    check(
        &[],
        on("2025-02-27", talks(Some("r1"), &[])),
        Ok(
            json!({"scheduled_rounds": {"r1": {"status": "held", "changed_on": "2025-02-27"}},
                  "next_round": null}),
        ),
    );
}

#[test]
fn talks_naming_a_cancelled_round_are_refused_with_how_to_record_a_rescheduling() {
    let given = [
        on("2025-03-01", scheduled("r1")),
        on("2025-03-10", cancelled("r1", Some("USA"))),
    ];
    check(
        &given,
        on("2025-04-10", talks(Some("r1"), &[])),
        Err(Rejection::TalksOfCancelledRound {
            round: item("r1"),
            cancelled_on: date("2025-03-10"),
        }),
    );
    let message = Rejection::TalksOfCancelledRound {
        round: item("r1"),
        cancelled_on: date("2025-03-10"),
    }
    .to_string();
    assert!(message.contains(r#""replaces": "r1""#), "{message}");
}

#[test]
fn talks_naming_a_superseded_round_are_refused() {
    check(
        &[
            on("2025-03-01", scheduled("r1")),
            on("2025-03-10", rescheduled("r2", "r1")),
        ],
        on("2025-04-10", talks(Some("r1"), &[])),
        Err(Rejection::RoundTransition {
            round: item("r1"),
            status: "superseded".into(),
            since: date("2025-03-10"),
            to: "held",
        }),
    );
}

#[test]
fn talks_with_two_delegations_of_one_party_are_rejected() {
    check(
        &[],
        on("2025-02-27", talks(None, &[("RUS", "A"), ("RUS", "B")])),
        Err(Rejection::DuplicateDelegation {
            party: party("RUS"),
        }),
    );
}

#[test]
fn a_host_outside_the_dyad_is_only_a_location() {
    check(
        &[],
        on("2025-02-27", talks(None, &[("RUS", "A")])),
        Ok(json!({"rounds": [{"location": {"country": "TUR"}}], "anomalies": []})),
    );
}

#[test]
fn a_delegation_of_a_party_outside_the_dyad_is_rejected() {
    check(
        &[],
        on(
            "2025-02-27",
            talks(None, &[("RUS", "A"), ("TUR", "Mediator")]),
        ),
        Err(Rejection::PartyOutsideDyad {
            party: party("TUR"),
            dyad: "RUS-USA".parse().unwrap(),
        }),
    );
}

#[test]
fn round_scheduled_sets_the_next_round() {
    check(
        &[],
        on("2025-03-01", scheduled("r2")),
        Ok(
            json!({"next_round": {"round": "r2", "status": "scheduled", "scheduled_on": "2025-03-01",
                                 "expected_on": "2025-04-10", "changed_on": null},
                   "scheduled_rounds": {"r2": {"status": "scheduled", "scheduled_on": "2025-03-01"}}}),
        ),
    );
}

#[test]
fn every_round_scheduled_is_kept_and_the_next_is_the_one_expected_soonest() {
    check(
        &[on("2025-03-01", expected("r2", Some("2025-06-01")))],
        on("2025-03-05", expected("r3", Some("2025-05-01"))),
        Ok(json!({
            "next_round": {"round": "r3", "status": "scheduled", "scheduled_on": "2025-03-05"},
            "scheduled_rounds": {"r2": {"status": "scheduled"}, "r3": {"status": "scheduled"}},
        })),
    );
}

#[test]
fn without_expected_dates_the_next_round_is_the_latest_scheduled() {
    check(
        &[on("2025-03-01", expected("r2", None))],
        on("2025-03-05", expected("r3", None)),
        Ok(json!({"next_round": {"round": "r3", "scheduled_on": "2025-03-05"}})),
    );
}

#[test]
fn a_round_expected_on_a_date_comes_before_one_without() {
    check(
        &[on("2025-03-01", expected("r2", Some("2025-06-01")))],
        on("2025-03-05", expected("r3", None)),
        Ok(json!({"next_round": {"round": "r2"}})),
    );
}

#[test]
fn once_the_next_round_is_held_the_next_round_is_none() {
    // Finding 9: a round held 15 months earlier was still "next".
    check(
        &[on("2024-05-06", scheduled("almaty-2024"))],
        on("2024-05-10", talks(Some("almaty-2024"), &[])),
        Ok(json!({"next_round": null, "scheduled_rounds": {"almaty-2024": {"status": "held"}}})),
    );
}

#[test]
fn scheduling_the_id_of_a_round_scheduled_is_rejected() {
    check(
        &[on("2025-03-01", scheduled("r2"))],
        on("2025-03-05", scheduled("r2")),
        Err(Rejection::DuplicateItem {
            kind: ItemKind::Round,
            id: item("r2"),
        }),
    );
}

#[test]
fn scheduling_the_id_of_a_held_round_is_rejected() {
    check(
        &[
            on("2025-02-27", talks(Some("r1"), &[])),
            on("2025-03-01", scheduled("r2")),
        ],
        on("2025-03-05", scheduled("r1")),
        Err(Rejection::DuplicateItem {
            kind: ItemKind::Round,
            id: item("r1"),
        }),
    );
}

#[test]
fn a_round_scheduled_with_replaces_supersedes_the_round_it_names() {
    check(
        &[on("2025-03-01", scheduled("r1")).id("first")],
        on("2025-03-10", rescheduled("r2", "r1")).id("again"),
        Ok(json!({
            "scheduled_rounds": {
                "r1": {"status": "superseded", "superseded_by": "r2", "changed_on": "2025-03-10",
                       "history": [{"to": "scheduled", "event_id": "first"},
                                   {"to": "superseded", "event_id": "again", "on": "2025-03-10"}]},
                "r2": {"status": "scheduled", "replaces": "r1", "scheduled_on": "2025-03-10"}},
            "next_round": {"round": "r2", "expected_on": "2025-05-10"},
        })),
    );
}

#[test]
fn a_cancelled_round_may_be_rescheduled_with_replaces() {
    // Finding 6: rescheduling `C` after its cancellation had no way in.
    check(
        &[
            on("2024-03-01", scheduled("c")),
            on("2024-03-10", cancelled("c", Some("USA"))),
        ],
        on("2024-03-20", rescheduled("c-2", "c")),
        Ok(
            json!({"scheduled_rounds": {"c": {"status": "superseded", "cancelled_by": "USA"},
                                       "c-2": {"status": "scheduled"}}}),
        ),
    );
}

#[test]
fn replacing_a_round_never_scheduled_is_rejected() {
    check(
        &[],
        on("2025-03-10", rescheduled("r2", "r1")),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Round,
            id: item("r1"),
            on: date("2025-03-10"),
        }),
    );
}

#[test]
fn replacing_a_held_round_is_rejected() {
    check(
        &[
            on("2025-03-01", scheduled("r1")),
            on("2025-03-05", talks(Some("r1"), &[])),
        ],
        on("2025-03-10", rescheduled("r2", "r1")),
        Err(Rejection::RoundTransition {
            round: item("r1"),
            status: "held".into(),
            since: date("2025-03-05"),
            to: "superseded",
        }),
    );
}

#[test]
fn round_cancelled_cancels_the_scheduled_round_and_keeps_it() {
    check(
        &[on("2025-03-01", scheduled("r2"))],
        on("2025-03-20", cancelled("r2", Some("USA"))),
        Ok(json!({
            "scheduled_rounds": {"r2": {"status": "cancelled", "cancelled_by": "USA",
                                        "changed_on": "2025-03-20", "scheduled_on": "2025-03-01"}},
            "next_round": null,
        })),
    );
}

#[test]
fn a_cancelled_round_stays_when_another_is_scheduled() {
    // Finding 10: Granada 2023, cancelled, vanished once Almaty 2024 was scheduled.
    check(
        &[
            on("2023-09-28", scheduled("granada-2023")),
            on("2023-10-04", cancelled("granada-2023", Some("RUS"))),
        ],
        on("2024-05-06", scheduled("almaty-2024")),
        Ok(json!({"scheduled_rounds": {
            "granada-2023": {"status": "cancelled", "cancelled_by": "RUS", "changed_on": "2023-10-04"},
            "almaty-2024": {"status": "scheduled"}},
            "next_round": {"round": "almaty-2024"}})),
    );
}

#[test]
fn cancelling_a_round_never_scheduled_is_rejected() {
    check(
        &[on("2025-03-01", scheduled("r2"))],
        on("2025-03-20", cancelled("r9", None)),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Round,
            id: item("r9"),
            on: date("2025-03-20"),
        }),
    );
}

#[test]
fn cancelling_a_round_already_held_is_rejected() {
    check(
        &[
            on("2025-03-01", scheduled("r2")),
            on("2025-04-10", talks(Some("r2"), &[])),
        ],
        on("2025-04-11", cancelled("r2", None)),
        Err(Rejection::RoundTransition {
            round: item("r2"),
            status: "held".into(),
            since: date("2025-04-10"),
            to: "cancelled",
        }),
    );
}

#[test]
fn cancelling_a_cancelled_round_is_rejected() {
    check(
        &[
            on("2025-03-01", scheduled("r2")),
            on("2025-03-10", cancelled("r2", None)),
        ],
        on("2025-03-11", cancelled("r2", None)),
        Err(Rejection::NoChange {
            kind: ItemKind::Round,
            id: item("r2"),
            status: "cancelled".into(),
            since: date("2025-03-10"),
        }),
    );
}

#[test]
fn a_round_cancelled_by_a_party_outside_the_dyad_is_rejected() {
    check(
        &[on("2025-03-01", scheduled("r2"))],
        on("2025-03-20", cancelled("r2", Some("TUR"))),
        Err(Rejection::PartyOutsideDyad {
            party: party("TUR"),
            dyad: "RUS-USA".parse().unwrap(),
        }),
    );
}

// ---- steps ------------------------------------------------------------------------------------

#[test]
fn step_agreed_is_at_stage_agreed() {
    check(
        &[],
        on("2025-02-27", agreed("financing")).id("agree"),
        Ok(json!({"steps": {"financing": {
            "description": "financing agreed", "reciprocal": true, "stage": "agreed",
            "agreed_on": "2025-02-27", "changed_on": "2025-02-27",
            "history": [{"on": "2025-02-27", "to": "agreed", "event_id": "agree"}],
        }}})),
    );
}

#[test]
fn step_progressed_moves_the_stage_and_keeps_the_history() {
    check(
        &[on("2025-02-27", agreed("financing")).id("agree")],
        on(
            "2025-03-15",
            progressed("financing", StepProgress::Implementing),
        )
        .id("start"),
        Ok(json!({"steps": {"financing": {
            "stage": "implementing", "agreed_on": "2025-02-27", "changed_on": "2025-03-15",
            "history": [{"on": "2025-02-27", "to": "agreed", "event_id": "agree"},
                        {"on": "2025-03-15", "to": "implementing", "event_id": "start"}],
        }}})),
    );
}

#[test]
fn stages_move_freely() {
    check(
        &[
            on("2025-02-27", agreed("s")),
            on("2025-03-01", progressed("s", StepProgress::Implemented)),
        ],
        on("2025-03-02", progressed("s", StepProgress::Stalled)),
        Ok(json!({"steps": {"s": {"stage": "stalled"}}})),
    );
}

#[test]
fn a_step_progressed_on_the_day_it_was_agreed_lands_after_the_agreement() {
    check(
        &[on("2025-02-27", agreed("s"))],
        on("2025-02-27", progressed("s", StepProgress::Formalized)),
        Ok(json!({"steps": {"s": {"stage": "formalized"}}})),
    );
}

#[test]
fn a_step_progressed_before_it_was_agreed_is_rejected() {
    check(
        &[on("2025-02-27", agreed("s"))],
        on("2025-02-20", progressed("s", StepProgress::Formalized)).reported("2025-03-01"),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Step,
            id: item("s"),
            on: date("2025-02-20"),
        }),
    );
}

#[test]
fn a_step_progressed_that_was_never_agreed_is_rejected() {
    check(
        &[],
        on("2025-03-01", progressed("ghost", StepProgress::Implemented)),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Step,
            id: item("ghost"),
            on: date("2025-03-01"),
        }),
    );
}

#[test]
fn a_step_agreed_twice_is_rejected() {
    check(
        &[on("2025-02-27", agreed("s"))],
        on("2025-03-01", agreed("s")),
        Err(Rejection::DuplicateItem {
            kind: ItemKind::Step,
            id: item("s"),
        }),
    );
}

#[test]
fn an_items_sources_are_every_events_sources_without_repeats() {
    check(
        &[on("2025-02-27", agreed("s"))
            .source("Xinhua")
            .source("TASS")],
        on("2025-03-01", progressed("s", StepProgress::Formalized))
            .source("TASS")
            .source("Reuters"),
        Ok(
            json!({"steps": {"s": {"sources": [{"name": "Xinhua"}, {"name": "TASS"}, {"name": "Reuters"}]}}}),
        ),
    );
}

// ---- claims ---------------------------------------------------------------------------------

#[test]
fn a_claim_raised_is_open_with_the_count_given() {
    check(
        &[],
        on("2025-02-27", claim_raised("property", "RUS", Some(6), 2)).id("raise"),
        Ok(json!({"claims": {"property": {
            "claimant": "RUS", "count": 6, "status": "open", "raised_on": "2025-02-27",
            "changed_on": "2025-02-27",
            "history": [{"on": "2025-02-27", "to": "open", "event_id": "raise"}],
        }}})),
    );
}

#[test]
fn a_claims_count_defaults_to_the_properties_listed() {
    check(
        &[],
        on("2025-02-27", claim_raised("property", "RUS", None, 2)),
        Ok(json!({"claims": {"property": {"count": 2}}})),
    );
}

#[test]
fn a_claim_raised_twice_is_rejected() {
    check(
        &[on(
            "2025-02-27",
            claim_raised("property", "RUS", Some(6), 0),
        )],
        on("2025-03-01", claim_raised("property", "USA", Some(1), 0)),
        Err(Rejection::DuplicateItem {
            kind: ItemKind::Claim,
            id: item("property"),
        }),
    );
}

#[test]
fn a_claim_by_a_party_outside_the_dyad_is_rejected() {
    check(
        &[],
        on("2025-02-27", claim_raised("property", "CHN", Some(1), 0)),
        Err(Rejection::PartyOutsideDyad {
            party: party("CHN"),
            dyad: "RUS-USA".parse().unwrap(),
        }),
    );
}

#[test]
fn a_claim_progressed_takes_the_status() {
    check(
        &[on(
            "2025-02-27",
            claim_raised("property", "RUS", Some(6), 0),
        )],
        on(
            "2025-04-01",
            claim_progressed("property", ClaimProgress::UnderDiscussion),
        ),
        Ok(
            json!({"claims": {"property": {"status": "under_discussion", "changed_on": "2025-04-01",
                  "history": [{"to": "open"}, {"to": "under_discussion"}]}}}),
        ),
    );
}

#[test]
fn a_claim_that_was_never_raised_cannot_progress() {
    check(
        &[],
        on(
            "2025-04-01",
            claim_progressed("property", ClaimProgress::Resolved),
        ),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Claim,
            id: item("property"),
            on: date("2025-04-01"),
        }),
    );
}

// ---- proposals ------------------------------------------------------------------------------

#[test]
fn flights_proposed_are_a_proposal() {
    check(
        &[],
        on(
            "2025-02-27",
            flights_proposed("flights", "RUS", &["reciprocity"]),
        ),
        Ok(
            json!({"proposals": {"flights": {"proposer": "RUS", "status": "proposed",
                  "conditions": ["reciprocity"], "proposed_on": "2025-02-27"}}}),
        ),
    );
}

#[test]
fn an_answer_takes_its_status_and_appends_its_conditions() {
    check(
        &[on(
            "2025-02-27",
            flights_proposed("flights", "RUS", &["reciprocity"]),
        )],
        on(
            "2025-03-20",
            answered(
                "flights",
                ProposalResponse::Conditioned,
                &["sanctions review"],
            ),
        ),
        Ok(
            json!({"proposals": {"flights": {"status": "conditioned", "changed_on": "2025-03-20",
                  "conditions": ["reciprocity", "sanctions review"],
                  "history": [{"to": "proposed"}, {"to": "conditioned"}]}}}),
        ),
    );
}

#[test]
fn an_answer_to_no_proposal_is_rejected() {
    check(
        &[],
        on(
            "2025-03-20",
            answered("flights", ProposalResponse::Accepted, &[]),
        ),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Proposal,
            id: item("flights"),
            on: date("2025-03-20"),
        }),
    );
}

#[test]
fn a_proposal_made_twice_is_rejected() {
    check(
        &[on("2025-02-27", flights_proposed("flights", "RUS", &[]))],
        on("2025-03-01", flights_proposed("flights", "RUS", &[])),
        Err(Rejection::DuplicateItem {
            kind: ItemKind::Proposal,
            id: item("flights"),
        }),
    );
}

// ---- irritants ------------------------------------------------------------------------------

#[test]
fn an_irritant_raised_is_open() {
    check(
        &[],
        on("2017-07-28", irritant_raised("staff-cap", "USA")),
        Ok(
            json!({"irritants": {"staff-cap": {"raised_by": "USA", "status": "open",
                  "category": "staffing", "raised_on": "2017-07-28"}}}),
        ),
    );
}

#[test]
fn an_irritant_resolved_is_resolved() {
    check(
        &[on("2017-07-28", irritant_raised("staff-cap", "USA"))],
        on("2025-06-01", irritant_resolved("staff-cap")),
        Ok(
            json!({"irritants": {"staff-cap": {"status": "resolved", "changed_on": "2025-06-01",
                  "history": [{"to": "open"}, {"to": "resolved"}]}}}),
        ),
    );
}

#[test]
fn an_irritant_never_raised_cannot_be_resolved() {
    check(
        &[],
        on("2025-06-01", irritant_resolved("staff-cap")),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Irritant,
            id: item("staff-cap"),
            on: date("2025-06-01"),
        }),
    );
}

#[test]
fn an_irritant_raised_twice_is_rejected() {
    check(
        &[on("2017-07-28", irritant_raised("staff-cap", "USA"))],
        on("2018-01-01", irritant_raised("staff-cap", "RUS")),
        Err(Rejection::DuplicateItem {
            kind: ItemKind::Irritant,
            id: item("staff-cap"),
        }),
    );
}

// ---- the reciprocity ledger -----------------------------------------------------------------

#[test]
fn diplomats_expelled_add_up_by_expelling_party() {
    check(
        &[
            on("2016-12-29", expelled("USA", 35)),
            on("2017-01-01", expelled("RUS", 3)),
        ],
        on("2018-03-26", expelled("USA", 60)),
        Ok(json!({"reciprocity": {"diplomats_expelled": {"USA": 95, "RUS": 3}}})),
    );
}

#[test]
fn missions_closed_are_listed_by_closing_party() {
    check(
        &[on(
            "2017-09-02",
            closed("USA", "consulate general in San Francisco"),
        )],
        on("2018-03-26", closed("USA", "consulate general in Seattle")),
        Ok(json!({"reciprocity": {"missions_closed": {"USA": [
            {"facility": "consulate general in San Francisco", "closed_on": "2017-09-02"},
            {"facility": "consulate general in Seattle", "closed_on": "2018-03-26"},
        ]}}})),
    );
}

#[test]
fn an_expulsion_by_a_party_outside_the_dyad_is_rejected() {
    check(
        &[],
        on("2018-03-26", expelled("TUR", 1)),
        Err(Rejection::PartyOutsideDyad {
            party: party("TUR"),
            dyad: "RUS-USA".parse().unwrap(),
        }),
    );
}

// ---- dates and dyads ------------------------------------------------------------------------

#[test]
fn reported_before_it_occurred_is_rejected() {
    check(
        &[],
        on("2025-02-27", expelled("USA", 1)).reported("2025-02-26"),
        Err(Rejection::ReportedBeforeOccurred {
            reported_on: date("2025-02-26"),
            occurred_on: date("2025-02-27"),
        }),
    );
}

#[test]
fn reported_the_day_it_occurred_is_fine() {
    check(
        &[],
        on("2025-02-27", expelled("USA", 1)).reported("2025-02-27"),
        Ok(json!({"events_applied": 1})),
    );
}

#[test]
fn an_event_of_another_dyad_is_a_dyad_mismatch_for_check() {
    let state = state_at(
        &recorded([on("2025-02-27", agreed("s"))]),
        &Query::default(),
    );
    let other = recorded([on("2025-02-28", expelled("USA", 1)).dyad("CHN-USA")]);
    assert_eq!(
        detente::domain::check(&state, &other[0]),
        Err(Rejection::DyadMismatch {
            expected: "RUS-USA".parse().unwrap(),
            found: "CHN-USA".parse().unwrap(),
        })
    );
}

#[test]
fn the_fold_lists_an_event_of_another_dyad_as_an_anomaly() {
    let events = recorded([
        on("2025-02-27", agreed("s")).id("ours"),
        on("2025-02-28", expelled("USA", 1))
            .dyad("CHN-USA")
            .id("theirs"),
    ]);
    let state = state_at(&events, &Query::default());
    assert_json_contains(
        &serde_json::to_value(&state).unwrap(),
        &json!({"dyad": "RUS-USA", "events_applied": 1, "position": 2, "reciprocity": {"diplomats_expelled": {}},
                "anomalies": [{"position": 2, "event_id": "theirs",
                               "reason": "event of dyad CHN-USA does not belong to dyad RUS-USA: record it in its own dyad"}]}),
    );
}

#[test]
fn check_in_history_ignores_other_dyads() {
    check(
        &[on("2025-02-27", agreed("s")).dyad("CHN-USA")],
        on("2025-03-01", progressed("s", StepProgress::Formalized)),
        Err(Rejection::UnknownItem {
            kind: ItemKind::Step,
            id: item("s"),
            on: date("2025-03-01"),
        }),
    );
}

// ---- retroactive events -----------------------------------------------------------------

#[test]
fn a_retroactive_event_that_orphans_a_later_cancellation_is_rejected() {
    // Talks holding r1 on 5 March would leave nothing scheduled for the cancellation of 10 March.
    check(
        &[
            on("2025-03-01", scheduled("r1")),
            on("2025-03-10", cancelled("r1", Some("USA"))).id("cancel"),
        ],
        on("2025-03-05", talks(Some("r1"), &[])).reported("2025-03-11"),
        Err(Rejection::BreaksLaterEvent {
            occurred_on: date("2025-03-05"),
            later: "cancel".parse().unwrap(),
            position: 2,
            reason: "round `r1` is held (since 2025-03-05): it cannot become cancelled: if the talks did not take place, retract the event that records them".into(),
        }),
    );
}

#[test]
fn a_retroactive_schedule_that_replaces_the_round_a_later_event_cancels_is_rejected() {
    check(
        &[
            on("2025-03-01", scheduled("r1")),
            on("2025-03-10", cancelled("r1", None)).id("cancel"),
        ],
        on("2025-03-05", rescheduled("r2", "r1")),
        Err(Rejection::BreaksLaterEvent {
            occurred_on: date("2025-03-05"),
            later: "cancel".parse().unwrap(),
            position: 2,
            reason: "round `r1` is superseded (since 2025-03-05): it cannot become cancelled"
                .into(),
        }),
    );
}

#[test]
fn a_retroactive_round_scheduled_keeps_the_later_cancellation() {
    check(
        &[
            on("2025-03-01", scheduled("r1")),
            on("2025-03-10", cancelled("r1", None)),
        ],
        on("2025-03-05", scheduled("r2")),
        Ok(
            json!({"scheduled_rounds": {"r1": {"status": "cancelled"}, "r2": {"status": "scheduled"}},
                  "next_round": {"round": "r2"}}),
        ),
    );
}

#[test]
fn a_correction_recorded_before_its_retraction_says_how_to_record_it() {
    // Finding 13: "recorded on" meant the date, and "give the new one another id" was no fix.
    let message = Rejection::BreaksLaterEvent {
        occurred_on: date("2024-05-10"),
        later: "almaty-2024-talks".parse().unwrap(),
        position: 13,
        reason: "step `s` already exists: give the new one another id".into(),
    }
    .to_string();
    assert!(message.starts_with("dated 2024-05-10, "), "{message}");
    assert!(
        message.ends_with("if this event corrects `almaty-2024-talks`, retract `almaty-2024-talks` first, or import the retraction and the correction in one file"),
        "{message}"
    );
}

#[test]
fn a_retroactive_agreement_that_duplicates_a_later_one_is_rejected() {
    check(
        &[on("2025-03-10", agreed("s")).id("later")],
        on("2025-03-01", agreed("s")),
        Err(Rejection::BreaksLaterEvent {
            occurred_on: date("2025-03-01"),
            later: "later".parse().unwrap(),
            position: 1,
            reason: "step `s` already exists: give the new one another id".into(),
        }),
    );
}

#[test]
fn a_retroactive_event_that_breaks_nothing_takes_its_place() {
    check(
        &[
            on("2025-02-27", agreed("s")),
            on("2025-04-01", progressed("s", StepProgress::Implemented)),
        ],
        on("2025-03-01", progressed("s", StepProgress::Formalized)).reported("2025-04-02"),
        Ok(json!({"steps": {"s": {"stage": "implemented", "history": [
            {"to": "agreed"}, {"to": "formalized", "on": "2025-03-01"}, {"to": "implemented"}]}}})),
    );
}

// ---- transitions: only a change is recorded ------------------------------------------------

#[test]
fn a_step_progressed_to_the_stage_it_has_is_rejected() {
    check(
        &[
            on("2025-02-27", agreed("s")),
            on("2025-03-01", progressed("s", StepProgress::Withdrawn)),
        ],
        on("2025-03-05", progressed("s", StepProgress::Withdrawn)),
        Err(Rejection::NoChange {
            kind: ItemKind::Step,
            id: item("s"),
            status: "withdrawn".into(),
            since: date("2025-03-01"),
        }),
    );
}

#[test]
fn a_claim_progressed_to_the_status_it_has_is_rejected() {
    check(
        &[
            on("2025-02-27", claim_raised("c", "RUS", Some(6), 0)),
            on("2025-03-01", claim_progressed("c", ClaimProgress::Resolved)),
        ],
        on("2025-03-05", claim_progressed("c", ClaimProgress::Resolved)),
        Err(Rejection::NoChange {
            kind: ItemKind::Claim,
            id: item("c"),
            status: "resolved".into(),
            since: date("2025-03-01"),
        }),
    );
}

#[test]
fn a_proposal_answered_with_the_status_it_has_is_rejected() {
    check(
        &[
            on("2025-02-27", flights_proposed("p", "RUS", &[])),
            on("2025-03-01", answered("p", ProposalResponse::Deferred, &[])),
        ],
        on("2025-03-05", answered("p", ProposalResponse::Deferred, &[])),
        Err(Rejection::NoChange {
            kind: ItemKind::Proposal,
            id: item("p"),
            status: "deferred".into(),
            since: date("2025-03-01"),
        }),
    );
}

#[test]
fn an_irritant_resolved_twice_is_rejected() {
    // Finding 11: `karabakh-exodus` could be resolved three times over.
    check(
        &[
            on("2025-02-27", irritant_raised("i", "USA")),
            on("2025-10-01", irritant_resolved("i")),
        ],
        on("2025-10-02", irritant_resolved("i")),
        Err(Rejection::NoChange {
            kind: ItemKind::Irritant,
            id: item("i"),
            status: "resolved".into(),
            since: date("2025-10-01"),
        }),
    );
}

#[test]
fn every_other_transition_is_allowed() {
    // From each stage a step may take any other: stalled, then implementing again, then back.
    check(
        &[
            on("2025-02-27", agreed("s")),
            on("2025-03-01", progressed("s", StepProgress::Implemented)),
            on("2025-03-02", progressed("s", StepProgress::Reversed)),
            on("2025-03-03", progressed("s", StepProgress::Implementing)),
        ],
        on("2025-03-04", progressed("s", StepProgress::Implemented)),
        Ok(json!({"steps": {"s": {"stage": "implemented", "changed_on": "2025-03-04"}}})),
    );
    check(
        &[
            on("2025-02-27", claim_raised("c", "RUS", Some(6), 0)),
            on("2025-03-01", claim_progressed("c", ClaimProgress::Rejected)),
        ],
        on(
            "2025-03-05",
            claim_progressed("c", ClaimProgress::UnderDiscussion),
        ),
        Ok(json!({"claims": {"c": {"status": "under_discussion"}}})),
    );
}

// ---- knowledge time -------------------------------------------------------------------------

#[test]
fn a_fact_cannot_be_known_before_it_is_recorded() {
    // Finding 4: a `reported_on` of 2099 went in and showed in "the state today".
    let record = |reported: &str| {
        recorded([on(reported, irritant_resolved("i")).reported(reported)])
            .pop()
            .unwrap()
    };
    let recorded_on = date("2026-12-01");
    assert_eq!(
        check_known_by_recording(&record("2099-01-01"), recorded_on),
        Err(Rejection::KnownBeforeRecorded {
            reported_on: date("2099-01-01"),
            recorded_on,
        })
    );
    assert_eq!(
        check_known_by_recording(&record("2026-12-03"), recorded_on),
        Err(Rejection::KnownBeforeRecorded {
            reported_on: date("2026-12-03"),
            recorded_on,
        })
    );
    // The day after the day of recording is already today somewhere east of UTC.
    assert_eq!(
        check_known_by_recording(&record("2026-12-02"), recorded_on),
        Ok(())
    );
    assert_eq!(
        check_known_by_recording(&record("2024-01-01"), recorded_on),
        Ok(())
    );
}

// ---- a retraction's dates -------------------------------------------------------------------

#[test]
fn a_retraction_dated_before_its_target_is_rejected() {
    // Finding 7: a retraction dated 2020-01-01 retracted a 2024 event.
    check(
        &[on("2024-06-01", expelled("USA", 1)).id("t1")],
        on("2020-01-01", retracted("t1")).reported("2024-06-02"),
        Err(Rejection::RetractionBeforeTarget {
            target: "t1".parse().unwrap(),
            field: "occurred_on",
            retraction_on: date("2020-01-01"),
            target_on: date("2024-06-01"),
        }),
    );
}

#[test]
fn a_retraction_reported_before_its_target_is_rejected() {
    // Finding 7: reported on 2024-06-05, it corrected an event reported on 2024-06-20.
    check(
        &[on("2024-06-01", expelled("USA", 1))
            .id("late")
            .reported("2024-06-20")],
        on("2024-06-01", retracted("late")).reported("2024-06-05"),
        Err(Rejection::RetractionBeforeTarget {
            target: "late".parse().unwrap(),
            field: "reported_on",
            retraction_on: date("2024-06-05"),
            target_on: date("2024-06-20"),
        }),
    );
}

#[test]
fn a_retraction_dated_and_reported_on_its_targets_day_is_fine() {
    check(
        &[on("2024-06-01", expelled("USA", 1)).id("t1")],
        on("2024-06-01", retracted("t1")),
        Ok(json!({"reciprocity": {"diplomats_expelled": {}}})),
    );
}

// ---- retractions ----------------------------------------------------------------------------

#[test]
fn a_retraction_removes_its_target() {
    check(
        &[on("2016-12-29", expelled("USA", 53)).id("typo")],
        on("2016-12-30", retracted("typo")),
        Ok(
            json!({"reciprocity": {"diplomats_expelled": {}}, "events_applied": 1, "anomalies": []}),
        ),
    );
}

#[test]
fn a_retraction_may_leave_a_later_event_without_effect() {
    check(
        &[
            on("2025-02-27", agreed("s")).id("agree"),
            on("2025-03-01", progressed("s", StepProgress::Formalized)).id("formalize"),
        ],
        on("2025-03-02", retracted("agree")),
        Ok(json!({"steps": {}, "events_applied": 1, "anomalies": [{
            "position": 2, "event_id": "formalize",
            "reason": "step `s` does not exist on 2025-03-01: record the event that raises, agrees or schedules it first, on or before that date"}]})),
    );
}

#[test]
fn retracting_an_unknown_event_is_rejected() {
    check(
        &[],
        on("2025-03-02", retracted("nothing")),
        Err(Rejection::UnknownEvent {
            id: "nothing".parse().unwrap(),
            dyad: "RUS-USA".parse().unwrap(),
        }),
    );
}

#[test]
fn retracting_an_event_of_another_dyad_is_rejected() {
    check(
        &[on("2025-02-27", expelled("USA", 1))
            .dyad("CHN-USA")
            .id("elsewhere")],
        on("2025-03-02", retracted("elsewhere")),
        Err(Rejection::UnknownEvent {
            id: "elsewhere".parse().unwrap(),
            dyad: "RUS-USA".parse().unwrap(),
        }),
    );
}

#[test]
fn retracting_a_retraction_is_rejected() {
    check(
        &[
            on("2025-02-27", expelled("USA", 1)).id("fact"),
            on("2025-03-01", retracted("fact")).id("oops"),
        ],
        on("2025-03-02", retracted("oops")),
        Err(Rejection::RetractsRetraction {
            id: "oops".parse().unwrap(),
        }),
    );
}

#[test]
fn retracting_twice_is_rejected() {
    check(
        &[
            on("2025-02-27", expelled("USA", 1)).id("fact"),
            on("2025-03-01", retracted("fact")).id("first"),
        ],
        on("2025-03-02", retracted("fact")),
        Err(Rejection::AlreadyRetracted {
            id: "fact".parse().unwrap(),
            by: "first".parse().unwrap(),
        }),
    );
}

#[test]
fn a_correction_is_a_retraction_plus_a_new_event() {
    check(
        &[
            on("2016-12-29", expelled("USA", 53)).id("typo"),
            on("2016-12-30", retracted("typo")),
        ],
        on("2016-12-29", expelled("USA", 35)).reported("2016-12-30"),
        Ok(json!({"reciprocity": {"diplomats_expelled": {"USA": 35}}, "events_applied": 2})),
    );
}

// ---- batches, checked as a whole -----------------------------------------------------------

/// The events a batch's retractions leave without effect: by the retraction's batch index.
type LeftWithoutEffect = Vec<(usize, Vec<&'static str>)>;
/// A batch refused: the lowest failing batch index, and why.
type Refused = (usize, Rejection);

/// Given `given` (stored, each accepted in turn), when `batch` is recorded as one batch, then it
/// is accepted leaving those events without effect by its retractions (`Ok` of their ids, by
/// the batch index of the retraction), or refused at the batch index with the rejection.
#[track_caller]
fn check_whole(given: &[NewEvent], batch: &[NewEvent], then: Result<LeftWithoutEffect, Refused>) {
    let all = recorded(given.iter().cloned().chain(batch.iter().cloned()));
    let (history, batch) = all.split_at(given.len());
    for (index, record) in history.iter().enumerate() {
        assert_eq!(check_in_history(&history[..index], record), Ok(()));
    }
    let outcome = check_batch(history, batch).map(|checked| {
        checked
            .left_without_effect
            .iter()
            .map(|(index, anomalies)| {
                let ids: Vec<String> = anomalies.iter().map(|a| a.event_id.to_string()).collect();
                (*index, ids)
            })
            .collect::<Vec<_>>()
    });
    let then = then.map(|list| {
        list.into_iter()
            .map(|(index, ids)| (index, ids.into_iter().map(String::from).collect()))
            .collect::<Vec<(usize, Vec<String>)>>()
    });
    assert_eq!(outcome, then);
}

#[test]
fn a_batch_need_not_be_sorted_by_date() {
    // Finding 14: line 1 resolves `o-1` on 11 October, line 2 raises it on 10 October.
    check_whole(
        &[],
        &[
            on("2025-10-11", irritant_resolved("o-1")),
            on("2025-10-10", irritant_raised("o-1", "USA")),
        ],
        Ok(vec![]),
    );
}

#[test]
fn a_batch_names_its_lowest_failing_line() {
    check_whole(
        &[],
        &[
            on("2025-10-10", irritant_raised("o-1", "USA")),
            on("2025-10-12", irritant_resolved("o-2")),
            on("2025-10-11", irritant_resolved("o-3")),
        ],
        Err((
            1,
            Rejection::UnknownItem {
                kind: ItemKind::Irritant,
                id: item("o-2"),
                on: date("2025-10-12"),
            },
        )),
    );
}

#[test]
fn in_a_batch_an_event_of_the_same_date_comes_after_the_lines_before_it() {
    // Within a date, the timeline follows the lines: the progress on line 1 comes before the
    // agreement on line 2.
    check_whole(
        &[],
        &[
            on("2025-03-01", progressed("s", StepProgress::Implementing)),
            on("2025-03-01", agreed("s")),
        ],
        Err((
            0,
            Rejection::UnknownItem {
                kind: ItemKind::Step,
                id: item("s"),
                on: date("2025-03-01"),
            },
        )),
    );
}

#[test]
fn a_batch_that_breaks_a_stored_event_names_its_line() {
    check_whole(
        &[on("2025-03-10", agreed("s")).id("later")],
        &[
            on("2025-03-20", expelled("USA", 1)),
            on("2025-03-01", agreed("s")),
        ],
        Err((
            1,
            Rejection::BreaksLaterEvent {
                occurred_on: date("2025-03-01"),
                later: "later".parse().unwrap(),
                position: 1,
                reason: "step `s` already exists: give the new one another id".into(),
            },
        )),
    );
}

#[test]
fn a_retraction_and_its_correction_go_in_one_batch_in_either_order() {
    // Finding 13: the fix the hint gives.
    let given = [on("2025-03-10", agreed("s")).id("wrong-date")];
    let correction = on("2025-03-01", agreed("s")).reported("2025-03-11");
    let retraction = on("2025-03-11", retracted("wrong-date"));
    check_whole(
        &given,
        &[correction.clone(), retraction.clone()],
        Ok(vec![]),
    );
    check_whole(&given, &[retraction, correction], Ok(vec![]));
}

#[test]
fn a_retraction_in_a_batch_may_leave_events_without_effect_and_they_are_named() {
    check_whole(
        &[on("2025-02-27", agreed("s")).id("agree")],
        &[
            on("2025-03-01", progressed("s", StepProgress::Formalized)).id("formalize"),
            on("2025-03-02", retracted("agree")).id("retract"),
        ],
        Ok(vec![(1, vec!["formalize"])]),
    );
}

#[test]
fn a_retraction_in_a_batch_targets_an_earlier_line_only() {
    check_whole(
        &[],
        &[
            on("2025-03-02", retracted("fact")),
            on("2025-03-01", expelled("USA", 1)).id("fact"),
        ],
        Err((
            0,
            Rejection::UnknownEvent {
                id: "fact".parse().unwrap(),
                dyad: "RUS-USA".parse().unwrap(),
            },
        )),
    );
}

#[test]
fn a_retraction_that_leaves_an_event_without_effect_is_accepted_and_the_event_named() {
    // Finding 12: the retraction is accepted with a warning naming `s2`.
    check_whole(
        &[
            on("2024-02-01", agreed("st")).id("s1"),
            on("2024-02-10", progressed("st", StepProgress::Implementing)).id("s2"),
        ],
        &[on("2024-03-01", retracted("s1")).id("x1")],
        Ok(vec![(0, vec!["s2"])]),
    );
}

#[test]
fn events_left_without_effect_by_the_batchs_retractions_are_accepted_whatever_the_line_order() {
    // postmortem: the property test of tests/it/truth.rs shrank to this. Without the batch's
    // retractions the timeline is no consistent world either (two agreements of `c`, and the
    // second `stalled` repeats the first), so "it would take effect without the retractions"
    // missed `late-stall`, which a retraction of the batch leaves without effect all the same:
    // an event naming an item that a retracted target names is the retractions' doing.
    check_whole(
        &[],
        &[
            on("2025-01-03", agreed("c")).id("e1"),
            on("2025-01-05", progressed("c", StepProgress::Stalled)).id("e5"),
            on("2025-01-10", retracted("e1")).id("e9"),
            on("2025-01-25", progressed("c", StepProgress::Stalled)).id("late-stall"),
            on("2025-01-12", agreed("c")).id("e20"),
            on("2025-01-27", retracted("e20")).id("e23"),
        ],
        Ok(vec![(2, vec!["e5", "late-stall"])]),
    );
}

// ---- messages -------------------------------------------------------------------------------

#[test]
fn rejection_messages_are_lower_case_without_a_final_period_and_name_the_culprit() {
    let rejections = [
        (
            Rejection::PartyOutsideDyad {
                party: party("TUR"),
                dyad: "RUS-USA".parse().unwrap(),
            },
            "TUR",
        ),
        (
            Rejection::ReportedBeforeOccurred {
                reported_on: date("2025-02-26"),
                occurred_on: date("2025-02-27"),
            },
            "2025-02-26",
        ),
        (
            Rejection::UnknownItem {
                kind: ItemKind::Claim,
                id: item("c"),
                on: date("2025-02-27"),
            },
            "claim `c`",
        ),
        (
            Rejection::DuplicateItem {
                kind: ItemKind::Proposal,
                id: item("p"),
            },
            "proposal `p`",
        ),
        (
            Rejection::UnknownEvent {
                id: "e".parse().unwrap(),
                dyad: "RUS-USA".parse().unwrap(),
            },
            "event `e`",
        ),
        (
            Rejection::DyadMismatch {
                expected: "RUS-USA".parse().unwrap(),
                found: "CHN-USA".parse().unwrap(),
            },
            "CHN-USA",
        ),
        (
            Rejection::DuplicateDelegation {
                party: party("RUS"),
            },
            "RUS",
        ),
        (
            Rejection::RetractsRetraction {
                id: "r".parse().unwrap(),
            },
            "event `r`",
        ),
        (
            Rejection::AlreadyRetracted {
                id: "e".parse().unwrap(),
                by: "r".parse().unwrap(),
            },
            "`r`",
        ),
    ];
    for (rejection, culprit) in rejections {
        let message = rejection.to_string();
        let first = message.chars().next().unwrap();
        assert!(!first.is_uppercase(), "{message}");
        assert!(!message.ends_with('.'), "{message}");
        assert!(message.contains(culprit), "{message} should name {culprit}");
    }
}
