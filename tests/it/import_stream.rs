//! The streaming import: an unfinished import rolled back (abandoned, or on the next open) on
//! both backends, and `Engine::import` checking as a batch checked as a whole does, storing
//! all of a file or none of it.

use detente::domain::{Dyad, EventId, NewEvent, RecordedEvent};
use detente::engine::{Config, Engine, EngineError, ImportError, Warning};
use detente::store::{AppendOptions, Durability, Store, TimeKey};

use crate::store::{Home, InMemory, OnSled, event};
use crate::workload::generator;

fn retraction(id: &str, dyad: &str, target: &str) -> NewEvent {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "dyad": dyad,
        "occurred_on": "2016-12-30",
        "event": {"type": "EventRetracted", "target": target, "reason": "a test"},
    }))
    .unwrap()
}

fn whole_log<B: detente::store::Backend>(store: &Store<B>) -> Vec<RecordedEvent> {
    store.read_log(1).collect::<Result<_, _>>().unwrap()
}

fn timeline<B: detente::store::Backend>(store: &Store<B>, dyad: &str) -> Vec<RecordedEvent> {
    store
        .read_timeline(dyad.parse().unwrap(), None, None)
        .collect::<Result<_, _>>()
        .unwrap()
}

fn buffered() -> AppendOptions {
    AppendOptions {
        durability: Durability::Buffered,
        ..AppendOptions::default()
    }
}

/// An import's records (a new dyad, more of a stored one, a retraction of a stored record and
/// one of a record of the import), abandoned: the log is exactly as before, and appends go on
/// from the same position.
fn an_abandoned_import_leaves_the_log_as_it_was<H: Home>() {
    let home = H::new();
    let store = home.open("log");
    store
        .append(
            vec![event("a1", "RUS-USA", 1), event("a2", "GBR-RUS", 2)],
            &AppendOptions::default(),
        )
        .unwrap();
    let (head, dyads, log) = (store.head(), store.dyads().unwrap(), whole_log(&store));
    let before_timeline = timeline(&store, "RUS-USA");

    store
        .append_unfinished(
            vec![event("b1", "RUS-USA", 3), retraction("b2", "RUS-USA", "a1")],
            &buffered(),
        )
        .unwrap();
    store
        .append_unfinished(
            vec![event("b3", "FRA-RUS", 4), retraction("b4", "FRA-RUS", "b3")],
            &buffered(),
        )
        .unwrap();
    // Readers are told the head before the import.
    assert_eq!(store.head(), head);
    assert_eq!(store.unfinished_import(), Some(head));
    assert_eq!(whole_log(&store), log);
    let a1 = &log[0];
    assert_eq!(
        store.retraction_of(a1.dyad, TimeKey::of(a1)).unwrap(),
        Some(4)
    );

    assert_eq!(store.abandon_import().unwrap(), 4);
    assert_eq!(store.unfinished_import(), None);
    assert_eq!(store.head(), head);
    assert_eq!(store.dyads().unwrap(), dyads);
    assert_eq!(whole_log(&store), log);
    assert_eq!(timeline(&store, "RUS-USA"), before_timeline);
    assert!(timeline(&store, "FRA-RUS").is_empty());
    assert_eq!(store.retraction_of(a1.dyad, TimeKey::of(a1)).unwrap(), None);
    for id in ["b1", "b2", "b3", "b4"] {
        assert!(store.get(&id.parse().unwrap()).unwrap().is_none(), "{id}");
    }
    assert_eq!(store.verify().unwrap(), head);
    // The log goes on from where it was, and b1 is new again.
    let again = store
        .append(vec![event("b1", "RUS-USA", 3)], &AppendOptions::default())
        .unwrap();
    assert_eq!(
        (
            again[0].stored,
            again[0].record.position,
            again[0].record.version
        ),
        (true, 3, 2)
    );
    store.verify().unwrap();
}

/// An import that never finished (the store dropped as a kill would leave it, in many steps of
/// the roll-back) is rolled back by the next open; a finished one is kept.
fn the_next_open_rolls_back_an_unfinished_import_and_keeps_a_finished_one<H: Home>() {
    let home = H::new();
    let store = home.open("log");
    store
        .append(vec![event("a1", "RUS-USA", 1)], &AppendOptions::default())
        .unwrap();
    let head = store.head();
    let dyads = store.dyads().unwrap();
    // More than two steps of the roll-back.
    for chunk in 0..5 {
        let events = (0..5_000)
            .map(|k| {
                let dyad = crate::store::DYADS[k % 3];
                event(&format!("c{chunk}-{k}"), dyad, 1 + k as u32)
            })
            .collect();
        store.append_unfinished(events, &buffered()).unwrap();
    }
    drop(store);
    let store = home.open("log");
    assert_eq!(store.rolled_back_on_open(), Some((head, 25_000)));
    assert_eq!(store.head(), head);
    assert_eq!(store.dyads().unwrap(), dyads);
    assert_eq!(store.verify().unwrap(), head);

    store
        .append_unfinished(vec![event("d1", "GBR-RUS", 1)], &buffered())
        .unwrap();
    let finished = store.finish_import().unwrap();
    assert_eq!(finished.position, 2);
    drop(store);
    let store = home.open("log");
    assert_eq!(store.rolled_back_on_open(), None);
    assert_eq!(store.head(), finished);
    store.verify().unwrap();
}

mod on_sled {
    #[test]
    fn an_abandoned_import_leaves_the_log_as_it_was() {
        super::an_abandoned_import_leaves_the_log_as_it_was::<super::OnSled>();
    }
    #[test]
    fn the_next_open_rolls_back_an_unfinished_import_and_keeps_a_finished_one() {
        super::the_next_open_rolls_back_an_unfinished_import_and_keeps_a_finished_one::<
            super::OnSled,
        >();
    }
}

mod in_memory {
    #[test]
    fn an_abandoned_import_leaves_the_log_as_it_was() {
        super::an_abandoned_import_leaves_the_log_as_it_was::<super::InMemory>();
    }
    #[test]
    fn the_next_open_rolls_back_an_unfinished_import_and_keeps_a_finished_one() {
        super::the_next_open_rolls_back_an_unfinished_import_and_keeps_a_finished_one::<
            super::InMemory,
        >();
    }
}

fn workload(events: usize, dyads: usize) -> Vec<NewEvent> {
    let mut spec = generator::Spec::new(events, dyads);
    spec.retro_per_mille = 40;
    spec.retract_per_mille = 30;
    generator::Workload::new(spec)
        .map(|line| serde_json::from_str(&line).unwrap())
        .collect()
}

fn buffered_engine(path: &std::path::Path) -> Engine {
    let config = Config {
        durability: Durability::Buffered,
        snapshot_every: 64,
        ..Config::default()
    };
    Engine::open_with(path, config).unwrap()
}

fn ok(events: Vec<NewEvent>) -> impl Iterator<Item = Result<NewEvent, std::io::Error>> {
    events.into_iter().map(Ok)
}

#[test]
fn an_import_stores_what_a_batch_stores_and_warns_alike_and_a_repeat_stores_nothing() {
    let mut events = workload(2_500, 12);
    // A repeat of an earlier input, in the same chunk and in a later one: already present.
    events.insert(10, events[5].clone());
    events.push(events[0].clone());
    let dir = tempfile::tempdir().unwrap();
    let batch = buffered_engine(&dir.path().join("batch"));
    let recorded = batch.record_batch_with_warnings(events.clone()).unwrap();
    let streamed = buffered_engine(&dir.path().join("stream"));
    // Chunks of 300: the import crosses nine of them.
    let imported = streamed
        .import_in_chunks_for_tests(ok(events.clone()), 300)
        .unwrap();

    assert_eq!((imported.recorded, imported.already_present), (2_500, 2));
    assert_eq!(imported.head.position, 2_500);
    assert_eq!(streamed.head().position, batch.head().position);
    let index = |warning: &Warning| warning.index();
    assert_eq!(
        imported.warnings.iter().map(index).collect::<Vec<_>>(),
        recorded.warnings.iter().map(index).collect::<Vec<_>>()
    );
    assert_eq!(imported.warnings, recorded.warnings);
    for (dyad, _) in batch.dyads().unwrap() {
        assert_eq!(
            streamed.state(dyad).unwrap(),
            batch.state(dyad).unwrap(),
            "{dyad}"
        );
    }
    streamed.verify().unwrap();

    let again = streamed.import(ok(events)).unwrap();
    assert_eq!((again.recorded, again.already_present), (0, 2_502));
    assert_eq!(again.head, imported.head);
}

#[test]
fn a_refused_import_names_its_lowest_failing_input_and_leaves_store_and_caches_as_they_were() {
    let events = workload(3_000, 6);
    let dir = tempfile::tempdir().unwrap();
    let engine = buffered_engine(dir.path());
    engine.record_batch(events[..1_000].to_vec()).unwrap();
    let head = engine.head();
    let dyads = engine.dyads().unwrap();
    let states: Vec<_> = dyads
        .iter()
        .map(|(dyad, _)| engine.state(*dyad).unwrap())
        .collect();

    let orphan = |dyad: Dyad| -> NewEvent {
        serde_json::from_value(serde_json::json!({
            "dyad": dyad.to_string(),
            "occurred_on": "2001-01-01",
            "event": {"type": "StepProgressed", "step": "never-agreed", "stage": "implemented"},
        }))
        .unwrap()
    };
    let mut file: Vec<NewEvent> = events[1_000..].to_vec();
    let late = file.len() - 10;
    file.insert(late, orphan(dyads[0].0));
    file.insert(1_500, orphan(dyads[1].0));
    let err = engine
        .import_in_chunks_for_tests(ok(file), 700)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Engine(EngineError::Rejected { index: 1_500, .. })
        ),
        "{err}"
    );
    assert_eq!(engine.head(), head);
    assert_eq!(engine.dyads().unwrap(), dyads);
    for ((dyad, _), state) in dyads.iter().zip(&states) {
        assert_eq!(&engine.state(*dyad).unwrap(), state, "{dyad}");
    }
    engine.verify().unwrap();

    // An input the iterator cannot give refuses the import too.
    let mut broken: Vec<Result<NewEvent, std::io::Error>> =
        events[1_000..].iter().cloned().map(Ok).collect();
    broken.push(Err(std::io::Error::other("line 2001 is cut")));
    let err = engine.import_in_chunks_for_tests(broken, 700).unwrap_err();
    assert!(
        matches!(err, ImportError::Input { index: 2_000, .. }),
        "{err}"
    );
    assert_eq!(engine.head(), head);
    engine.verify().unwrap();

    // The same file without its bad lines completes, and a reopen keeps it.
    let imported = engine.import(ok(events[1_000..].to_vec())).unwrap();
    assert_eq!(imported.head.position, 3_000);
    drop(engine);
    let engine = buffered_engine(dir.path());
    assert_eq!(engine.head().position, 3_000);
    engine.verify().unwrap();
}

#[test]
fn the_order_of_the_inputs_does_not_matter_when_the_timeline_is_valid() {
    let lines = [
        r#"{"dyad":"ARM-AZE","occurred_on":"2025-10-11","event":{"type":"IrritantResolved","irritant":"o-1"}}"#,
        r#"{"dyad":"ARM-AZE","occurred_on":"2025-10-10","event":{"type":"IrritantRaised","irritant":"o-1","raised_by":"ARM","description":"d"}}"#,
    ];
    let events: Vec<NewEvent> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let err = engine.import(ok(events[..1].to_vec())).unwrap_err();
    assert!(matches!(
        err,
        ImportError::Engine(EngineError::Rejected { index: 0, .. })
    ));
    let imported = engine.import(ok(events)).unwrap();
    assert_eq!(imported.recorded, 2);
    let state = engine.state("ARM-AZE".parse().unwrap()).unwrap();
    assert!(state.anomalies.is_empty(), "{:?}", state.anomalies);
}

/// The store says, as it appends, whether an input's id is stored: with the same content the
/// input is counted as already present; with other content it is refused by its index, with
/// the position of the record it conflicts with (0 for an earlier input of the import), the
/// lowest failing input named whichever check found it, and nothing stored.
#[test]
fn an_id_stored_or_imported_with_other_content_is_refused_by_its_index() {
    let events = workload(2_000, 5);
    let dir = tempfile::tempdir().unwrap();
    let engine = buffered_engine(dir.path());
    engine.record_batch(events[..500].to_vec()).unwrap();
    let head = engine.head();
    let other_content = |mut event: NewEvent, id: &EventId| -> NewEvent {
        event.id = Some(id.clone());
        event
    };
    let file = || events[500..].to_vec();
    let id_of = |event: &NewEvent| event.effective_id();

    // Against a record stored before the import: its position.
    let mut inputs = file();
    let stored_id = id_of(&events[10]);
    let at = 900;
    inputs[at] = other_content(inputs[at].clone(), &stored_id);
    let stored_position = engine.get(&stored_id).unwrap().unwrap().position;
    let err = engine
        .import_in_chunks_for_tests(ok(inputs), 300)
        .unwrap_err();
    assert!(
        matches!(&err, ImportError::Engine(EngineError::IdConflict { index, id, position })
            if *index == at && *id == stored_id && *position == stored_position),
        "{err}"
    );
    assert_eq!(engine.head(), head);

    // Against an earlier input of the import, in another chunk and in the same chunk: 0.
    for (earlier, later) in [(20, 1_100), (20, 25)] {
        let mut inputs = file();
        let id = id_of(&inputs[earlier]);
        inputs[later] = other_content(inputs[later].clone(), &id);
        let err = engine
            .import_in_chunks_for_tests(ok(inputs), 300)
            .unwrap_err();
        assert!(
            matches!(&err, ImportError::Engine(EngineError::IdConflict { index, position: 0, .. })
                if *index == later),
            "{earlier} {later}: {err}"
        );
        assert_eq!(engine.head(), head);
    }

    // An orphan found by the dyads' checks at a lower index wins over a conflict; a conflict
    // at a lower index wins over the orphan.
    let orphan: NewEvent = serde_json::from_value(serde_json::json!({
        "dyad": events[0].dyad.to_string(),
        "occurred_on": "2001-01-01",
        "event": {"type": "StepProgressed", "step": "never-agreed", "stage": "implemented"},
    }))
    .unwrap();
    for (orphan_at, conflict_at, lowest) in [(100, 1_200, 100), (1_200, 100, 100)] {
        let mut inputs = file();
        inputs[conflict_at] = other_content(inputs[conflict_at].clone(), &stored_id);
        inputs[orphan_at] = orphan.clone();
        let err = engine
            .import_in_chunks_for_tests(ok(inputs), 300)
            .unwrap_err();
        let index = match &err {
            ImportError::Engine(EngineError::IdConflict { index, .. })
            | ImportError::Engine(EngineError::Rejected { index, .. }) => *index,
            other => panic!("{other}"),
        };
        assert_eq!(index, lowest, "{err}");
        assert_eq!(engine.head(), head);
    }

    // The file with stored lines repeated as they are: those are already present.
    let mut inputs = events[400..].to_vec();
    inputs.push(events[1_900].clone());
    let imported = engine.import_in_chunks_for_tests(ok(inputs), 300).unwrap();
    assert_eq!((imported.recorded, imported.already_present), (1_500, 101));
    assert_eq!(engine.head().position, 2_000);
    engine.verify().unwrap();
}
