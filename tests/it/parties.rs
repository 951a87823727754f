//! The registry of parties as users meet it: every kind of party records and answers, in
//! dyads of states, former states, `XKX` and organizations.

use detente::domain::{Dyad, NewEvent, Party, PartyKind};
use detente::engine::Engine;

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
fn dyads_of_organizations_record_reopen_export_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let cases = [
        ("GBR-EU", "EU"),
        ("XKX-SRB", "XKX"),
        ("USA-SUN", "SUN"),
        ("AU-ETH", "AU"),
        ("NATO-RUS", "NATO"),
        ("EU-MERCOSUR", "MERCOSUR"),
    ];
    let export = {
        let engine = Engine::open(&path).unwrap();
        for (dyad, by) in cases {
            engine.record(expelled(dyad, by)).unwrap();
        }
        engine.log(1).collect::<Result<Vec<_>, _>>().unwrap()
    };
    let engine = Engine::open(&path).unwrap();
    assert_eq!(engine.verify().unwrap().events, cases.len() as u64);
    for (dyad, _) in cases {
        let dyad: Dyad = dyad.parse().unwrap();
        let state = serde_json::to_value(engine.state(dyad).unwrap()).unwrap();
        assert_eq!(state["events_applied"], 1, "{dyad}");
    }
    let mut names: Vec<String> = engine
        .dyads()
        .unwrap()
        .iter()
        .map(|(d, _)| d.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "AU-ETH",
            "EU-GBR",
            "EU-MERCOSUR",
            "NATO-RUS",
            "SRB-XKX",
            "SUN-USA"
        ]
    );
    assert_eq!(
        engine.log(1).collect::<Result<Vec<_>, _>>().unwrap(),
        export
    );
    // The export restores into a new store.
    let copy = Engine::open(dir.path().join("copy")).unwrap();
    copy.restore(export.clone()).unwrap();
    assert_eq!(copy.log(1).collect::<Result<Vec<_>, _>>().unwrap(), export);
    assert_eq!(copy.verify().unwrap().events, cases.len() as u64);
    assert_eq!(copy.head(), engine.head());
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
