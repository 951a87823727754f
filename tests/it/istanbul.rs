//! The seed scenario as a fixture: the state it folds to, field by field, and the bitemporal
//! questions it answers.

use detente::domain::*;
use detente::scenario::{istanbul_2025, istanbul_2025_followups, recorded};

fn party(code: &str) -> Party {
    code.parse().unwrap()
}

fn date(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

/// The scenario recorded in order, each event checked against the ones before it as the
/// engine will.
fn recorded_and_checked(inputs: Vec<NewEvent>) -> Vec<RecordedEvent> {
    let events = recorded(inputs);
    for (index, event) in events.iter().enumerate() {
        assert_eq!(
            check_in_history(&events[..index], event),
            Ok(()),
            "{} must be accepted",
            event.id
        );
    }
    events
}

fn all_events() -> Vec<RecordedEvent> {
    recorded_and_checked(
        istanbul_2025()
            .into_iter()
            .chain(istanbul_2025_followups())
            .collect(),
    )
}

#[test]
fn every_event_has_an_explicit_id_and_a_report_date() {
    for input in istanbul_2025().into_iter().chain(istanbul_2025_followups()) {
        assert!(input.id.is_some(), "{input:?}");
        assert!(input.reported_on.is_some(), "{input:?}");
        assert!(!input.sources.is_empty(), "{input:?}");
    }
}

#[test]
fn the_istanbul_state_field_by_field() {
    let events = recorded_and_checked(istanbul_2025());
    let state = state_at(&events, &Query::default());

    assert_eq!(state.dyad, Some("RUS-USA".parse().unwrap()));
    assert_eq!(state.events_applied, 14);
    assert_eq!(state.position, 14);
    assert_eq!(state.anomalies, vec![]);

    // The round of talks.
    assert_eq!(state.rounds.len(), 1);
    let round = &state.rounds[0];
    assert_eq!(round.event_id.as_str(), "istanbul-2025-talks");
    assert_eq!(
        round.round.as_ref().map(ItemId::as_str),
        Some("istanbul-2025")
    );
    assert_eq!(round.held_on, date("2025-02-27"));
    assert_eq!(round.location.city, "Istanbul");
    assert_eq!(round.location.country, party("TUR"));
    assert_eq!(
        round.location.venue.as_deref(),
        Some("US consulate general")
    );
    assert_eq!(round.format, Some(TalksFormat::ClosedDoor));
    assert_eq!(round.duration_minutes, Some(360));
    assert_eq!(round.heads.len(), 2);
    assert_eq!(round.heads[&party("RUS")].name, "Alexander Darchiev");
    assert!(
        round.heads[&party("RUS")]
            .title
            .as_deref()
            .unwrap()
            .contains("North Atlantic Department")
    );
    assert_eq!(round.heads[&party("USA")].name, "Sonata Coulter");
    assert!(
        round.heads[&party("USA")]
            .title
            .as_deref()
            .unwrap()
            .starts_with("Deputy Assistant Secretary of State")
    );
    let source_names: Vec<&str> = round.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        source_names,
        ["Russian Foreign Ministry", "Xinhua", "Maria Zakharova"]
    );

    // The steps.
    let keys: Vec<&str> = state.steps.keys().map(ItemId::as_str).collect();
    assert_eq!(
        keys,
        [
            "continue-contacts",
            "diplomat-conditions",
            "mission-financing"
        ]
    );
    let financing = &state.steps["mission-financing"];
    assert_eq!(financing.stage, StepStage::Agreed);
    assert!(financing.reciprocal);
    assert_eq!(
        financing.category.as_ref().map(Category::as_str),
        Some("mission_financing")
    );
    assert_eq!(financing.agreed_on, date("2025-02-27"));
    assert_eq!(financing.changed_on, date("2025-02-27"));
    assert_eq!(financing.history.len(), 1);
    let conditions = &state.steps["diplomat-conditions"];
    assert_eq!(
        conditions.category.as_ref().map(Category::as_str),
        Some("diplomat_conditions")
    );
    assert_eq!(
        state.steps["continue-contacts"]
            .category
            .as_ref()
            .map(Category::as_str),
        Some("consultations")
    );

    // The claim.
    assert_eq!(state.claims.len(), 1);
    let claim = &state.claims["diplomatic-property"];
    assert_eq!(claim.claimant, party("RUS"));
    assert_eq!(claim.count, 6);
    assert_eq!(claim.status, ClaimStatus::Open);
    assert_eq!(
        claim.seized_between,
        Some(YearRange {
            from: 2016,
            to: 2018
        })
    );
    assert_eq!(claim.characterization.as_deref(), Some("illegally seized"));
    assert!(
        claim.sources.iter().any(|s| s
            .quote
            .as_deref()
            .is_some_and(|q| q.contains("\"illegally seized\""))),
        "the framing is a source's quote"
    );

    // The proposal.
    let flights = &state.proposals["direct-flights"];
    assert_eq!(flights.proposer, party("RUS"));
    assert_eq!(flights.status, ProposalStatus::Proposed);
    assert_eq!(flights.proposed_on, date("2025-02-27"));

    // The irritant of 2017.
    let cap = &state.irritants["us-mission-staff-cap"];
    assert_eq!(cap.raised_by, party("USA"));
    assert_eq!(cap.status, IrritantStatus::Open);
    assert_eq!(cap.raised_on, date("2017-07-28"));
    assert!(cap.description.contains("455"));

    // No next round was set.
    assert_eq!(state.next_round, None);

    // The reciprocity ledger.
    assert_eq!(state.reciprocity.diplomats_expelled.len(), 1);
    assert_eq!(state.reciprocity.diplomats_expelled[&party("USA")], 95);
    let closed: Vec<(&str, String)> = state.reciprocity.missions_closed[&party("USA")]
        .iter()
        .map(|m| (m.facility.as_str(), m.closed_on.to_string()))
        .collect();
    assert_eq!(
        closed,
        [
            (
                "Russian diplomatic compound in Maryland",
                "2016-12-29".into()
            ),
            (
                "Russian diplomatic compound in New York",
                "2016-12-29".into()
            ),
            (
                "Russian consulate general in San Francisco",
                "2017-09-02".into()
            ),
            ("Russian trade mission premises", "2017-09-02".into()),
            ("Russian consulate general in Seattle", "2018-03-26".into()),
        ]
    );
    assert!(
        !state
            .reciprocity
            .missions_closed
            .contains_key(&party("RUS"))
    );
}

#[test]
fn the_state_before_istanbul_is_the_background_only() {
    let events = recorded_and_checked(istanbul_2025());
    let query = Query {
        as_of: Some(date("2025-02-26")),
        ..Query::default()
    };
    let state = state_at(&events, &query);
    assert!(state.rounds.is_empty() && state.steps.is_empty() && state.claims.is_empty());
    assert_eq!(state.events_applied, 8);
    assert_eq!(state.reciprocity.diplomats_expelled[&party("USA")], 95);
}

#[test]
fn as_known_on_the_day_of_the_talks_nothing_of_istanbul_is_known() {
    let events = recorded_and_checked(istanbul_2025());
    let query = Query {
        known_at: Some(date("2025-02-27")),
        ..Query::default()
    };
    let state = state_at(&events, &query);
    assert!(state.rounds.is_empty());
    assert_eq!(state.events_applied, 8);
}

#[test]
fn a_late_report_takes_its_place_in_the_effective_timeline() {
    let events = all_events();
    let late = events
        .iter()
        .find(|e| e.id.as_str() == "istanbul-2025-talks-at-residence")
        .unwrap();
    assert_eq!(late.position, 16);
    let timeline = effective_timeline(&events, &Query::default());
    let ids: Vec<&str> = timeline.iter().map(|e| e.id.as_str()).collect();
    // Recorded last, it lands among the events of 27 February, before the retraction of 1 March.
    let at = ids
        .iter()
        .position(|id| *id == "istanbul-2025-talks-at-residence")
        .unwrap();
    assert_eq!(timeline[at - 1].occurred_on, date("2025-02-27"));
    assert_eq!(ids.last(), Some(&"istanbul-2025-talks-retracted"));
    assert!(!ids.contains(&"istanbul-2025-talks"));
    let state = state_at(&events, &Query::default());
    assert_eq!(state.rounds.len(), 1);
    assert_eq!(
        state.rounds[0].event_id.as_str(),
        "istanbul-2025-talks-at-residence"
    );
    assert_eq!(
        state.rounds[0].location.venue.as_deref(),
        Some("US Consul General's residence")
    );
    assert_eq!(
        state.events_applied, 15,
        "14 - 1 retracted + retraction + correction"
    );
    assert_eq!(state.anomalies, vec![]);
}

#[test]
fn before_the_retraction_was_known_the_target_still_counts() {
    let events = all_events();
    let believed_on_28_february = state_at(
        &events,
        &Query {
            known_at: Some(date("2025-02-28")),
            ..Query::default()
        },
    );
    assert_eq!(believed_on_28_february.rounds.len(), 1);
    assert_eq!(
        believed_on_28_february.rounds[0].event_id.as_str(),
        "istanbul-2025-talks"
    );
    // The same answer by system time: before the follow-ups were stored.
    let stored_by_14 = state_at(
        &events,
        &Query {
            at_position: Some(14),
            ..Query::default()
        },
    );
    assert_eq!(stored_by_14, believed_on_28_february);
}

#[test]
fn the_correction_recorded_before_its_retraction_is_a_second_session_until_the_retraction() {
    // Talks naming a round held already are another session of it (`docs/contract.md`, checking a new event), so the
    // correction goes in first too; once the retraction is in, the state is the same as in
    // the other order.
    let mut followups = istanbul_2025_followups();
    followups.reverse();
    let events = recorded(istanbul_2025().into_iter().chain(followups));
    assert_eq!(check_in_history(&events[..14], &events[14]), Ok(()));
    let two_sessions = state_at(&events[..15], &Query::default());
    assert_eq!(two_sessions.rounds.len(), 2);
    assert_eq!(check_in_history(&events[..15], &events[15]), Ok(()));
    let in_order = recorded(istanbul_2025().into_iter().chain(istanbul_2025_followups()));
    let (reversed, ordered) = (
        state_at(&events, &Query::default()),
        state_at(&in_order, &Query::default()),
    );
    assert_eq!(reversed.rounds.len(), 1);
    assert_eq!(reversed.rounds[0].location, ordered.rounds[0].location);
    assert_eq!(reversed.scheduled_rounds, ordered.scheduled_rounds);
}

#[test]
fn the_scenario_is_stable_json() {
    for input in istanbul_2025().into_iter().chain(istanbul_2025_followups()) {
        let text = serde_json::to_string(&input).unwrap();
        assert_eq!(serde_json::from_str::<NewEvent>(&text).unwrap(), input);
    }
}
