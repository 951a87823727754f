//! The chronologies of `examples/chronologies/` (sources in its README), imported whole and
//! asked bitemporal questions whose answers come from the sources: what had been agreed,
//! signed, ratified or left on a date, and what was known when.

use chrono::NaiveDate;
use detente::domain::*;
use detente::engine::Engine;
use detente::scenario::{CHRONOLOGIES, Chronology};

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn dyad(text: &str) -> Dyad {
    text.parse().unwrap()
}

fn party(text: &str) -> Party {
    text.parse().unwrap()
}

/// An engine holding the chronology `name`, recorded as one batch (as `detente import` does).
fn imported(name: &str) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let chronology = Chronology::named(name).unwrap();
    let events = chronology.events();
    let recorded = engine.record_batch_with_warnings(events.clone()).unwrap();
    assert_eq!(recorded.appended.len(), events.len(), "{name}");
    assert!(recorded.appended.iter().all(|a| a.stored), "{name}");
    assert!(
        recorded.warnings.is_empty(),
        "{name}: {:?}",
        recorded.warnings
    );
    (dir, engine)
}

fn agreement(state: &BilateralState, id: &str) -> Agreement {
    match state.agreements.get(id) {
        Some(agreement) => agreement.clone(),
        None => panic!("no agreement `{id}` in {:?}", state.agreements),
    }
}

fn measure(state: &BilateralState, id: &str) -> MeasureStatus {
    match state.measures.get(id) {
        Some(measure) => measure.status,
        None => panic!("no measure `{id}`"),
    }
}

#[test]
fn every_chronology_imports_cleanly_verifies_and_has_no_anomaly() {
    assert_eq!(CHRONOLOGIES.len(), 3);
    for chronology in CHRONOLOGIES {
        let (_dir, engine) = imported(chronology.name);
        let dyad = chronology.dyad().unwrap();
        let state = engine.state(dyad).unwrap();
        assert!(state.anomalies.is_empty(), "{}", chronology.name);
        // Every event of the file is on the timeline of the dyad it ends in.
        assert_eq!(
            state.events_applied,
            chronology.events().len() as u64,
            "{}",
            chronology.name
        );
        let report = engine.verify().unwrap();
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        // Importing it again changes nothing (every event has its id).
        let again = engine.record_batch(chronology.events()).unwrap();
        assert!(again.iter().all(|a| !a.stored));
    }
}

#[test]
fn arms_control_the_inf_treaty_in_rus_usa_through_the_succession() {
    let (_dir, engine) = imported("us-soviet-arms-control");
    let (rus, sun) = (dyad("RUS-USA"), dyad("SUN-USA"));
    let as_of = |on: &str| engine.query(rus, &Query::as_of(date(on))).unwrap();

    // Signed in Washington on 8 December 1987, by the Soviet Union: RUS-USA answers for it.
    assert!(as_of("1987-12-07").agreements.get("inf-treaty").is_none());
    assert_eq!(
        agreement(&as_of("1987-12-31"), "inf-treaty").status,
        AgreementStatus::Signed
    );
    // Ratified by the Senate on 27 May 1988, then in force on 1 June 1988.
    let ratified = agreement(&as_of("1988-05-28"), "inf-treaty");
    assert_eq!(ratified.status, AgreementStatus::Signed);
    assert_eq!(
        ratified.status_for(party("USA")),
        Some((AgreementStatus::Ratified, date("1988-05-27")))
    );
    assert_eq!(
        agreement(&as_of("1990-01-01"), "inf-treaty").status,
        AgreementStatus::InForce
    );
    // Suspended by each side in 2019, left by the United States and ended on 2 August 2019.
    let suspended = agreement(&as_of("2019-03-31"), "inf-treaty");
    assert_eq!(suspended.status, AgreementStatus::InForce);
    assert_eq!(
        suspended.status_for(party("RUS")).map(|s| s.0),
        Some(AgreementStatus::Suspended)
    );
    let ended = agreement(&as_of("2019-08-02"), "inf-treaty");
    assert_eq!(ended.status, AgreementStatus::Terminated);
    assert_eq!(
        ended.status_for(party("USA")).map(|s| s.0),
        Some(AgreementStatus::Withdrawn)
    );
    // START I: signed by the Soviet Union in 1991, in force with Russia from 1994, expired 2009.
    assert_eq!(
        agreement(&as_of("2000-01-01"), "start-i").status,
        AgreementStatus::InForce
    );
    assert_eq!(
        agreement(&as_of("2010-01-01"), "start-i").status,
        AgreementStatus::Terminated
    );
    // New START suspended by Russia on 21 February 2023, in force as a whole.
    let new_start = agreement(&engine.state(rus).unwrap(), "new-start");
    assert_eq!(new_start.status, AgreementStatus::InForce);
    assert_eq!(
        new_start.status_for(party("RUS")).map(|s| s.0),
        Some(AgreementStatus::Suspended)
    );
    // SUN-USA answers for its own events alone: the treaty it left in force.
    let soviet = engine.state(sun).unwrap();
    assert_eq!(
        agreement(&soviet, "inf-treaty").status,
        AgreementStatus::InForce
    );
    assert!(soviet.agreements.get("new-start").is_none());
    // Knowledge time: as known at the end of 2018, the treaty was still in force.
    let known_2018 = engine
        .query(rus, &Query::known_at(date("2018-12-31")))
        .unwrap();
    assert_eq!(
        agreement(&known_2018, "inf-treaty").status,
        AgreementStatus::InForce
    );
}

#[test]
fn serbia_kosovo_brussels_initialled_washington_by_each_side_ohrid_agreed_not_signed() {
    let (_dir, engine) = imported("serbia-kosovo");
    let srb_xkx = dyad("SRB-XKX");
    let as_of = |on: &str| engine.query(srb_xkx, &Query::as_of(date(on))).unwrap();

    // The Brussels Agreement of 19 April 2013 was initialled, then ratified by Kosovo's
    // assembly on 27 June 2013: by one side.
    let brussels = agreement(&as_of("2013-05-01"), "brussels-agreement-2013");
    assert_eq!(brussels.status, AgreementStatus::Initialled);
    assert!(brussels.by_party.is_empty());
    let brussels = agreement(&as_of("2013-07-01"), "brussels-agreement-2013");
    assert_eq!(brussels.status, AgreementStatus::Initialled);
    assert_eq!(
        brussels.status_for(party("XKX")).map(|s| s.0),
        Some(AgreementStatus::Ratified)
    );
    assert_eq!(brussels.status_for(party("SRB")), None);
    // The Washington commitments of 4 September 2020: signed by each side, separately.
    let washington = agreement(&as_of("2020-09-30"), "washington-commitments-2020");
    assert_eq!(washington.status, AgreementStatus::Agreed);
    for side in ["SRB", "XKX"] {
        assert_eq!(
            washington.status_for(party(side)).map(|s| s.0),
            Some(AgreementStatus::Signed),
            "{side}"
        );
    }
    // Ohrid, 18 March 2023: agreed, never signed; still so today.
    let now = engine.state(srb_xkx).unwrap();
    assert_eq!(
        agreement(&now, "ohrid-annex").status,
        AgreementStatus::Agreed
    );
    assert!(agreement(&now, "ohrid-annex").by_party.is_empty());
    // The licence plates: re-registration suspended in July 2022, reimposed on 1 November,
    // suspended again with the deal of 23 November.
    assert_eq!(
        measure(&as_of("2022-08-01"), "plates-reregistration-2022"),
        MeasureStatus::Suspended
    );
    assert_eq!(
        measure(&as_of("2022-11-10"), "plates-reregistration-2022"),
        MeasureStatus::Reimposed
    );
    assert_eq!(
        measure(&as_of("2022-12-01"), "plates-reregistration-2022"),
        MeasureStatus::Suspended
    );
    // The EU mediated the talks, outside the dyad.
    let eu = party("EU");
    assert!(now.rounds.iter().any(|round| round.mediators.contains(&eu)));
}

#[test]
fn armenia_azerbaijan_the_washington_summit_initialled_the_peace_agreement() {
    let (_dir, engine) = imported("armenia-azerbaijan");
    let arm_aze = dyad("ARM-AZE");
    let as_of = |on: &str| engine.query(arm_aze, &Query::as_of(date(on))).unwrap();

    // The text was agreed on 13 March 2025 and initialled in Washington on 8 August 2025.
    assert_eq!(
        agreement(&as_of("2025-08-07"), "peace-agreement").status,
        AgreementStatus::Agreed
    );
    assert_eq!(
        agreement(&as_of("2025-08-08"), "peace-agreement").status,
        AgreementStatus::Initialled
    );
    // The trilateral statement of 9–10 November 2020 in force; the ceasefire's returns done.
    let end_2020 = as_of("2020-12-31");
    assert_eq!(
        agreement(&end_2020, "trilateral-statement-2020").status,
        AgreementStatus::InForce
    );
    assert!(end_2020.agreements.get("peace-agreement").is_none());
    // Knowledge time: the Prague statement of 6 October 2022 was reported the next day.
    let prague = Query::as_of(date("2022-10-06")).and_known_at(date("2022-10-06"));
    assert!(
        engine
            .query(arm_aze, &prague)
            .unwrap()
            .agreements
            .get("prague-statement-2022")
            .is_none()
    );
    let prague = Query::as_of(date("2022-10-06")).and_known_at(date("2022-10-07"));
    assert_eq!(
        agreement(
            &engine.query(arm_aze, &prague).unwrap(),
            "prague-statement-2022"
        )
        .status,
        AgreementStatus::Agreed
    );
    // Prisoners released by both sides on 13 December 2023.
    let released = &engine
        .state(arm_aze)
        .unwrap()
        .reciprocity
        .prisoners_released;
    for side in ["ARM", "AZE"] {
        let releases = released.get(&party(side)).map_or(0, |r| r.len());
        assert!(releases >= 2, "{side}: {releases}");
    }
    // Mediators: Russia in 2020, the EU from 2022, the United States in 2025.
    let mediators: std::collections::BTreeSet<Party> = engine
        .state(arm_aze)
        .unwrap()
        .rounds
        .iter()
        .flat_map(|round| round.mediators.iter().copied())
        .collect();
    for mediator in ["RUS", "EU", "USA"] {
        assert!(mediators.contains(&party(mediator)), "{mediator}");
    }
}
