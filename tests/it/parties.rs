//! The registry of parties as users meet it: every kind of party records and answers, and a
//! dyad that the store format cannot hold yet is refused with nothing stored.

use detente::domain::{Dyad, NewEvent, Party, PartyKind};
use detente::engine::{Engine, EngineError};
use detente::store::StoreError;

fn expelled(dyad: &str, by: &str) -> NewEvent {
    serde_json::from_value(serde_json::json!({
        "dyad": dyad, "occurred_on": "1987-12-08", "reported_on": "1987-12-08",
        "event": {"type": "DiplomatsExpelled", "expelled_by": by, "count": 1}
    }))
    .unwrap()
}

#[test]
fn dyads_of_former_states_and_of_kosovo_record_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("store")).unwrap();
    for (dyad, by) in [("USA-SUN", "SUN"), ("XKX-SRB", "XKX"), ("CSK-DDR", "DDR")] {
        let appended = engine.record(expelled(dyad, by)).unwrap();
        let dyad: Dyad = dyad.parse().unwrap();
        assert_eq!(appended.record.dyad, dyad);
        let state = serde_json::to_value(engine.state(dyad).unwrap()).unwrap();
        assert_eq!(state["events_applied"], 1, "{dyad}");
    }
    let names: Vec<String> = engine
        .dyads()
        .unwrap()
        .iter()
        .map(|(d, _)| d.to_string())
        .collect();
    assert_eq!(names.len(), 3);
    for name in ["SUN-USA", "SRB-XKX", "CSK-DDR"] {
        assert!(names.contains(&name.to_owned()), "{name}: {names:?}");
    }
}

#[test]
fn a_dyad_with_an_organization_is_refused_by_this_store_format_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("store")).unwrap();
    engine.record(expelled("RUS-USA", "USA")).unwrap();
    let head = engine.head();
    let err = engine.record(expelled("GBR-EU", "EU")).unwrap_err();
    assert!(
        matches!(&err, EngineError::Store(StoreError::DyadNotHeld { dyad }) if dyad.to_string() == "EU-GBR"),
        "{err:?}"
    );
    assert!(err.to_string().contains("EU-GBR"), "{err}");
    assert_eq!(engine.head(), head, "nothing was stored");
    // Reading such a dyad finds nothing, and does not panic.
    let dyad: Dyad = "EU-GBR".parse().unwrap();
    let state = serde_json::to_value(engine.state(dyad).unwrap()).unwrap();
    assert_eq!(state["events_applied"], 0);
    // An organization inside an event of a dyad of states is fine.
    let talks: NewEvent = serde_json::from_value(serde_json::json!({
        "dyad": "RUS-USA", "occurred_on": "2025-02-27", "reported_on": "2025-02-28",
        "event": {"type": "TalksHeld", "location": {"city": "Istanbul", "country": "TUR"},
                  "delegations": []}
    }))
    .unwrap();
    engine.record(talks).unwrap();
}

#[test]
fn every_registered_code_parses_to_itself_with_its_kind() {
    let mut kinds = std::collections::HashMap::new();
    for party in Party::all() {
        let code = party.as_str();
        assert_eq!(code.parse::<Party>().unwrap(), party, "{code}");
        *kinds.entry(format!("{:?}", party.kind())).or_insert(0) += 1;
    }
    assert_eq!(kinds["State"], 249);
    assert_eq!(kinds["UserAssigned"], 1);
    assert!(
        kinds["FormerState"] >= 5 && kinds["Organization"] >= 7,
        "{kinds:?}"
    );
    for (code, kind) in [
        ("SUN", PartyKind::FormerState),
        ("YUG", PartyKind::FormerState),
        ("CSK", PartyKind::FormerState),
        ("DDR", PartyKind::FormerState),
        ("SCG", PartyKind::FormerState),
        ("XKX", PartyKind::UserAssigned),
        ("EU", PartyKind::Organization),
        ("NATO", PartyKind::Organization),
        ("UN", PartyKind::Organization),
        ("AU", PartyKind::Organization),
        ("ASEAN", PartyKind::Organization),
        ("OSCE", PartyKind::Organization),
        ("IAEA", PartyKind::Organization),
        ("CAN", PartyKind::State),
    ] {
        assert_eq!(code.parse::<Party>().unwrap().kind(), kind, "{code}");
    }
}

#[test]
fn the_registry_names_the_two_accepted_successions() {
    let successor = |code: &str| {
        code.parse::<Party>()
            .unwrap()
            .successor()
            .map(|(party, on)| (party.as_str(), on.to_string()))
    };
    assert_eq!(successor("SUN"), Some(("RUS", "1991-12-26".to_owned())));
    assert_eq!(successor("SCG"), Some(("SRB", "2006-06-05".to_owned())));
    assert_eq!(
        successor("YUG"),
        None,
        "the continuity of Yugoslavia is not accepted"
    );
    assert_eq!(successor("RUS"), None);
}
