//! Frozen files of today's formats, read by every later build.
//!
//! `tests/fixtures/export-wire1-every-type.jsonl` is an export of wire format 1 that holds
//! every event type with every optional field (sources of every kind, quotes, urls, a derived
//! id, a `reported_on` left to default, a retraction, two dyads). It was written by the build
//! that froze record encoding 2 (whose bytes the store's own unit test pins from the same
//! records). A later edition of the format must still restore it, verify its chain and export
//! it byte for byte as it is; an upcaster, when one is needed, goes between these bytes and the
//! state, never into the file.

use detente::domain::{Dyad, Event, NewEvent, Query, RecordedEvent, state_at};
use detente::engine::Engine;

const EVERY_TYPE: &str = include_str!("../fixtures/export-wire1-every-type.jsonl");

fn records() -> Vec<RecordedEvent> {
    EVERY_TYPE
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn the_frozen_export_of_every_type_restores_verifies_and_exports_byte_for_byte() {
    let records = records();
    let names: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.event.type_name()).collect();
    assert_eq!(names, Event::TYPE_NAMES.iter().copied().collect());

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("store")).unwrap();
    assert_eq!(
        engine.restore(records.clone()).unwrap(),
        records.len() as u64
    );
    let report = engine.verify().unwrap();
    assert_eq!(report.events, records.len() as u64);
    assert_eq!(engine.head().hash, records.last().unwrap().hash);

    let exported: Vec<String> = engine
        .log(1)
        .map(|record| serde_json::to_string(&record.unwrap()).unwrap())
        .collect();
    assert_eq!(exported, EVERY_TYPE.lines().collect::<Vec<_>>());

    // Reopened, every dyad answers as the reference fold of the frozen records.
    drop(engine);
    let engine = Engine::open(dir.path().join("store")).unwrap();
    for dyad in ["RUS-USA", "ARM-AZE"] {
        let dyad: Dyad = dyad.parse().unwrap();
        let of_dyad: Vec<RecordedEvent> =
            records.iter().filter(|r| r.dyad == dyad).cloned().collect();
        assert_eq!(
            engine.state(dyad).unwrap(),
            state_at(&of_dyad, &Query::default())
        );
    }
}

#[test]
fn the_frozen_export_folds_to_the_state_it_describes() {
    let records = records();
    let dyad: Dyad = "RUS-USA".parse().unwrap();
    let of_dyad: Vec<RecordedEvent> = records.into_iter().filter(|r| r.dyad == dyad).collect();
    let state = state_at(&of_dyad, &Query::default());
    // The retraction takes the 2025-06-05 expulsion out: only the 35 of 2016 remain.
    let value = serde_json::to_value(&state).unwrap();
    assert_eq!(value["events_applied"], 22);
    assert_eq!(value["anomalies"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        value["reciprocity"]["diplomats_expelled"],
        serde_json::json!({"USA": 35}),
        "the retracted expulsion by RUS is gone"
    );
    // The types of the second edition: an agreement initialled then ratified by one side, a
    // measure eased, prisoners released, the Maryland compound closed in 2016 and reopened.
    let agreement = &value["agreements"]["missions-accord"];
    assert_eq!(agreement["status"], "initialled");
    assert_eq!(agreement["by_party"]["USA"][0]["to"], "ratified");
    assert_eq!(agreement["steps"][0], "mission-financing");
    assert_eq!(value["measures"]["bank-sanctions"]["status"], "eased");
    assert_eq!(
        value["reciprocity"]["prisoners_released"]["RUS"][0]["count"],
        2
    );
    assert_eq!(
        value["reciprocity"]["missions_closed"]["USA"][0]["reopened_on"],
        "2025-07-04"
    );
    assert_eq!(
        value["reciprocity"]["missions_reopened"]["USA"][0]["was_closed"],
        true
    );
    let mediated = value["rounds"].as_array().and_then(|rounds| rounds.last());
    assert_eq!(
        mediated.map(|round| &round["mediators"][1]),
        Some(&serde_json::json!("EU"))
    );
}

/// Every type, recorded anew through the checks (not restored), lands where the frozen log
/// says: the checks accept each in its original order and the fold gives the same state.
#[test]
fn every_frozen_type_passes_the_checks_when_recorded_anew() {
    let records = records();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("store")).unwrap();
    for record in &records {
        let new = NewEvent {
            id: Some(record.id.clone()),
            dyad: record.dyad,
            occurred_on: record.occurred_on,
            reported_on: Some(record.reported_on),
            sources: record.sources.clone(),
            event: record.event.clone(),
        };
        let appended = engine.record(new).unwrap();
        assert_eq!(appended.record.position, record.position, "{}", record.id);
    }
    for dyad in ["RUS-USA", "ARM-AZE"] {
        let dyad: Dyad = dyad.parse().unwrap();
        let of_dyad: Vec<RecordedEvent> =
            records.iter().filter(|r| r.dyad == dyad).cloned().collect();
        let ours: Vec<RecordedEvent> = engine
            .log(1)
            .map(Result::unwrap)
            .filter(|r| r.dyad == dyad)
            .collect();
        assert_eq!(
            state_at(&ours, &Query::default()),
            state_at(&of_dyad, &Query::default()),
            "{dyad}"
        );
    }
}

/// Every type reaches every text renderer: imported with the CLI, each record that counts has
/// its line in `history`, and `state`, `diff` and the SVG `timeline` render the dyad.
#[test]
fn every_frozen_type_is_rendered_by_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let export = dir.path().join("export.jsonl");
    std::fs::write(&export, EVERY_TYPE).unwrap();
    let run = |args: &[&str]| {
        let out = crate::run_detente(&store, args, b"");
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        out.stdout
    };
    run(&["import", export.to_str().unwrap()]);
    let history = run(&["history", "--dyad", "RUS-USA"]);
    let records = records();
    let retracted: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::EventRetracted(retraction) => Some(retraction.target.to_string()),
            _ => None,
        })
        .collect();
    for record in records.iter().filter(|r| r.dyad.to_string() == "RUS-USA") {
        let named = history.contains(&format!("{} at position {}", record.id, record.position));
        let counts = !retracted.contains(&record.id.to_string());
        assert_eq!(
            named,
            counts,
            "{} ({})",
            record.id,
            record.event.type_name()
        );
    }
    let state = run(&["state", "--dyad", "RUS-USA"]);
    for item in [
        "mission-financing",
        "six-properties",
        "direct-flights",
        "staff-cap",
    ] {
        assert!(state.contains(item), "{item}: {state}");
    }
    let diff = run(&[
        "diff",
        "--dyad",
        "RUS-USA",
        "--from",
        "2016-01-01",
        "--to",
        "2025-12-31",
    ]);
    assert!(diff.contains("mission-financing"), "{diff}");
    let svg = dir.path().join("story.svg");
    run(&[
        "timeline",
        "--dyad",
        "RUS-USA",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.contains("six-properties"), "the SVG names the claim");
}
