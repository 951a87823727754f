//! The engine against the reference: random histories over several dyads, recorded one by one
//! or in batches, with reopens, and after every step every answer compared with `state_at` over
//! the stored log, and every decision to store or refuse compared with `check_in_history`.

use chrono::Utc;
use detente::domain::*;
use detente::engine::{Config, Engine, EngineError};
use detente::store::Durability;
use proptest::prelude::*;

use crate::strategies;

#[derive(Debug, Clone)]
enum Step {
    Record(usize),
    Batch(usize, usize),
    Reopen,
}

fn steps(n_events: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        6 => (0..n_events.max(1)).prop_map(Step::Record),
        1 => (0..n_events.max(1), 1..4usize).prop_map(|(i, n)| Step::Batch(i, n)),
        1 => Just(Step::Reopen),
    ];
    prop::collection::vec(step, 1..24)
}

fn open(dir: &std::path::Path) -> Engine {
    let config = Config {
        snapshot_every: 3,
        // In-memory states at other places than the stored snapshots, so that a stale one
        // would be used.
        rung_every: 2,
        durability: Durability::Buffered,
        ..Config::default()
    };
    Engine::open_with(dir, config).unwrap()
}

/// What the reference says of recording `input` now.
fn reference_accepts(log: &[RecordedEvent], input: &NewEvent) -> bool {
    let id = input.effective_id();
    if let Some(stored) = log.iter().find(|r| r.id == id) {
        return input.matches(stored);
    }
    let today = Utc::now().date_naive();
    let head = log.len() as u64;
    let dyad_log: Vec<RecordedEvent> = log
        .iter()
        .filter(|r| r.dyad == input.dyad)
        .cloned()
        .collect();
    let mut normalized = input.clone();
    normalized.id = Some(id);
    let candidate =
        normalized.into_recorded(head + 1, dyad_log.len() as u64 + 1, today, Utc::now());
    check_in_history(&dyad_log, &candidate).is_ok()
}

fn check_answers(engine: &Engine, queries: &[Query]) -> Result<(), TestCaseError> {
    let log: Vec<RecordedEvent> = engine.log(1).collect::<Result<_, _>>().unwrap();
    for dyad in strategies::DYADS {
        let dyad: Dyad = dyad.parse().unwrap();
        let mine: Vec<&RecordedEvent> = log.iter().filter(|r| r.dyad == dyad).collect();
        let expected = state_at(mine.iter().copied(), &Query::default());
        prop_assert_eq!(&engine.state(dyad).unwrap(), &expected, "state of {}", dyad);
        // Each query as given (mostly the full-log path), and with only its valid-time bound
        // (the snapshot path).
        let as_of_only = queries.iter().map(|q| Query {
            as_of: q.as_of,
            ..Query::default()
        });
        for query in queries.iter().copied().chain(as_of_only) {
            let query = &query;
            let expected = state_at(mine.iter().copied(), query);
            prop_assert_eq!(
                &engine.query(dyad, query).unwrap(),
                &expected,
                "{} {:?}",
                dyad,
                query
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_answers_what_the_reference_answers(
        events in strategies::history(strategies::dyad(), 16),
        steps in steps(16),
        queries in prop::collection::vec(strategies::query(), 4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        answers_what_the_reference_answers(dir.path(), events, steps, queries)?;
    }

    #[test]
    fn an_as_of_query_from_a_snapshot_equals_the_full_fold(
        events in strategies::dyad_history(24),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        for input in events {
            let _ = engine.record(input);
        }
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        for day in 0..62 {
            let query = Query { as_of: Some(strategies::day(day)), ..Query::default() };
            let log: Vec<RecordedEvent> = engine.stream(dyad).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(engine.query(dyad, &query).unwrap(), state_at(&log, &query));
        }
    }

    #[test]
    fn the_engine_stores_every_event_of_a_valid_log_and_answers_queries_inside_it(
        (log, queries) in strategies::valid_log(strategies::HistoryConfig::default())
            .prop_flat_map(|log| {
                let queries = prop::collection::vec(strategies::query_in(&log), 4);
                (Just(log), queries)
            }),
    ) {
        // The kit's valid logs are valid to the engine too: nothing is refused, one by one.
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        for input in &log {
            let appended = engine.record(input.clone());
            prop_assert!(
                matches!(appended, Ok(ref a) if a.stored),
                "{:?} for {}", appended, serde_json::to_string(input).unwrap()
            );
        }
        check_answers(&engine, &queries)?;
        engine.verify().unwrap();
    }
}

/// The engine over the store at `location` (a folder, or a PostgreSQL URL), stepped through
/// `steps`, against the reference after each step.
fn answers_what_the_reference_answers(
    location: &std::path::Path,
    events: Vec<NewEvent>,
    steps: Vec<Step>,
    queries: Vec<Query>,
) -> Result<(), TestCaseError> {
    let mut engine = open(location);
    for step in steps {
        match step {
            Step::Reopen => {
                drop(engine);
                engine = open(location);
            }
            Step::Record(i) => {
                let Some(input) = events.get(i) else { continue };
                let log: Vec<RecordedEvent> = engine.log(1).collect::<Result<_, _>>().unwrap();
                let expected = reference_accepts(&log, input);
                let outcome = engine.record(input.clone());
                match (&outcome, expected) {
                    (Ok(_), true) => {}
                    (Err(EngineError::Rejected { .. } | EngineError::IdConflict { .. }), false) => {
                        prop_assert_eq!(engine.head().position, log.len() as u64);
                    }
                    _ => prop_assert!(
                        false,
                        "engine said {:?}, the reference {} for {:?}",
                        outcome,
                        expected,
                        input
                    ),
                }
            }
            Step::Batch(i, n) => {
                let batch: Vec<NewEvent> = events.iter().skip(i).take(n).cloned().collect();
                let before = engine.head().position;
                if engine.record_batch(batch).is_err() {
                    prop_assert_eq!(
                        engine.head().position,
                        before,
                        "a refused batch stores nothing"
                    );
                }
            }
        }
        check_answers(&engine, &queries)?;
    }
    engine.verify().unwrap();
    Ok(())
}

proptest! {
    // A fresh PostgreSQL database per case costs more than a folder.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_on_postgres_answers_what_the_reference_answers(
        events in strategies::history(strategies::dyad(), 16),
        steps in steps(16),
        queries in prop::collection::vec(strategies::query(), 4),
    ) {
        let Some(server) = crate::postgres_server::server() else { return Ok(()) };
        let url = server.fresh_database("engine_props");
        answers_what_the_reference_answers(std::path::Path::new(&url), events, steps, queries)?;
    }
}
