//! The benchmark workload (`benches/workload/mod.rs`) must be valid: the engine's checks
//! accept every event of it, and it has the profile the benchmarks claim (all 14 event
//! types, ~300–400 bytes each, retroactive events and retractions). Cheap enough for every
//! `cargo test`; the benchmarks themselves never run here.

#[path = "../../benches/workload/mod.rs"]
pub mod generator;

use std::collections::{BTreeSet, HashMap};

use detente::domain::{Dyad, NewEvent, Query, RecordedEvent, state_at};
use detente::engine::{Config, Engine};
use detente::store::Durability;

use generator::{Spec, Workload};

#[test]
fn the_benchmark_workload_is_accepted_by_the_engine_and_has_the_claimed_profile() {
    let mut spec = Spec::new(3_000, 12);
    // Denser than the default, so that a small run has many of both.
    spec.retro_per_mille = 40;
    spec.retract_per_mille = 30;
    let lines: Vec<String> = Workload::new(spec).with_hot_dyad(300).collect();
    assert_eq!(
        lines,
        Workload::new(spec).with_hot_dyad(300).collect::<Vec<_>>()
    );

    let mean = lines.iter().map(String::len).sum::<usize>() / lines.len();
    assert!((280..=420).contains(&mean), "mean event size {mean} bytes");
    let events: Vec<NewEvent> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let types: BTreeSet<String> = lines
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["event"]["type"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(types.len(), 14, "{types:?}");

    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        durability: Durability::Buffered,
        snapshot_every: 64,
        ..Config::default()
    };
    let engine = Engine::open_with(dir.path(), config).unwrap();
    for batch in events.chunks(500) {
        engine.record_batch(batch.to_vec()).unwrap();
    }
    assert_eq!(engine.head().position, 3_000);

    let records: Vec<RecordedEvent> = engine.log(1).collect::<Result<_, _>>().unwrap();
    let mut by_dyad: HashMap<Dyad, Vec<RecordedEvent>> = HashMap::new();
    for record in records {
        by_dyad.entry(record.dyad).or_default().push(record);
    }
    let mut retro = 0;
    let mut retracted = 0;
    for (dyad, log) in &by_dyad {
        let state = state_at(log, &Query::default());
        assert!(state.anomalies.is_empty(), "{dyad}: {:?}", state.anomalies);
        assert_eq!(engine.state(*dyad).unwrap(), state, "{dyad}");
        let mut latest = None;
        for record in log {
            if latest.is_some_and(|latest| record.occurred_on < latest) {
                retro += 1;
            }
            latest = latest.max(Some(record.occurred_on));
        }
        retracted += log.len() as u64 - state.events_applied;
    }
    assert!(retro >= 30, "{retro} retroactive events");
    assert!(retracted >= 30, "{retracted} events dropped by retractions");
    engine.verify().unwrap();
}
