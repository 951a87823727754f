//! Store format 2: the store's timeline scan against the reference `effective_timeline`, and
//! the migration of a store written in format 1.

use std::collections::HashMap;
use std::path::Path;

use detente::domain::*;
use detente::engine::Engine;
use detente::store::{AppendOptions, Durability, Store, StoreConfig, TimeKey};
use proptest::prelude::*;

use crate::store::Home;
use crate::strategies;

/// The inputs of `history` whose retractions each target an event of their own dyad recorded
/// before them: the retractions the store marks (and the only ones the engine records). A
/// retraction of a retraction, a second retraction of one event, retractions dated before
/// or after their targets all stay.
fn marked_retractions_only(history: Vec<NewEvent>) -> Vec<NewEvent> {
    let mut seen: HashMap<EventId, Dyad> = HashMap::new();
    let mut kept = Vec::new();
    for input in history {
        if let Event::EventRetracted(retraction) = &input.event
            && seen.get(&retraction.target) != Some(&input.dyad)
        {
            continue;
        }
        seen.insert(input.effective_id(), input.dyad);
        kept.push(input);
    }
    kept
}

/// The log named `store` in `home`, its appends buffered.
fn open<H: Home>(home: &H) -> Store<H::Backend> {
    let config = StoreConfig {
        durability: Durability::Buffered,
        ..StoreConfig::default()
    };
    home.open_with("store", config)
}

/// The property and the example below, once per backend (`on_sled::` and `in_memory::`).
macro_rules! read_timeline_is_the_effective_timeline_on {
    ($($module:ident => $home:ty),* $(,)?) => {
        $(
            mod $module {
                use super::*;

                #[test]
                fn a_timeline_cut_after_its_last_place_of_a_day_through_that_day_is_empty() {
                    if <$home as crate::store::Home>::unavailable() {
                        return;
                    }
                    super::a_timeline_cut_after_its_last_place_of_a_day_through_that_day_is_empty::<
                        $home,
                    >();
                }

                proptest! {
                    #![proptest_config(ProptestConfig {
                        // A fresh PostgreSQL database per case costs more than a folder.
                        cases: if <$home as crate::store::Home>::SHARED { 16 } else { 64 },
                        ..ProptestConfig::default()
                    })]

                    #[test]
                    fn read_timeline_is_the_effective_timeline_of_the_dyads_log(
                        history in strategies::history(strategies::dyad(), 32)
                            .prop_map(marked_retractions_only),
                        batch_sizes in prop::collection::vec(1..5usize, 32),
                        cuts in prop::collection::vec(
                            (prop::option::of((0u64..70, 0u64..40)), prop::option::of(0u64..70)),
                            6,
                        ),
                        reopen_after in 0..8usize,
                    ) {
                        timeline_matches::<$home>(history, batch_sizes, cuts, reopen_after)?;
                    }
                }
            }
        )*
    };
}

read_timeline_is_the_effective_timeline_on!(
    on_sled => crate::store::OnSled,
    in_memory => crate::store::InMemory,
    on_postgres => crate::store::OnPostgres,
);

type Cut = (Option<(u64, u64)>, Option<u64>);

/// Appends `history` in batches of `batch_sizes` to a log in a new home `H` (reopening it
/// after `reopen_after` batches), then checks each dyad's `read_dyad` against its log and its
/// `read_timeline`, cut at each of `cuts`, against `effective_timeline`.
fn timeline_matches<H: Home>(
    history: Vec<NewEvent>,
    batch_sizes: Vec<usize>,
    cuts: Vec<Cut>,
    reopen_after: usize,
) -> Result<(), TestCaseError> {
    if H::unavailable() {
        return Ok(());
    }
    {
        let home = H::new();
        let mut store = open(&home);
        let mut inputs = history.into_iter().peekable();
        let mut batches = 0;
        for size in batch_sizes.into_iter().cycle() {
            if inputs.peek().is_none() {
                break;
            }
            let batch: Vec<NewEvent> = inputs.by_ref().take(size).collect();
            store.append(batch, &AppendOptions::default()).unwrap();
            batches += 1;
            if batches == reopen_after {
                drop(store);
                store = open(&home);
            }
        }
        let log: Vec<RecordedEvent> = store.read_log(1).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(
            log.iter().map(|r| r.position).collect::<Vec<_>>(),
            (1..=log.len() as u64).collect::<Vec<_>>()
        );
        for text in strategies::DYADS {
            let dyad: Dyad = text.parse().unwrap();
            let mine: Vec<&RecordedEvent> = log.iter().filter(|r| r.dyad == dyad).collect();
            let stream: Vec<RecordedEvent> = store
                .read_dyad(dyad, 1..=u64::MAX)
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(
                stream.iter().collect::<Vec<_>>(),
                mine.clone(),
                "read_dyad of {}",
                dyad
            );
            let reference = effective_timeline(mine.iter().copied(), &Query::default());
            let cuts = cuts.iter().copied().chain([(None, None)]);
            for (after, through) in cuts {
                let after = after.map(|(day, position)| TimeKey {
                    on: strategies::day(day),
                    position,
                });
                let through = through.map(strategies::day);
                let expected: Vec<&RecordedEvent> = reference
                    .iter()
                    .copied()
                    .filter(|r| after.is_none_or(|after| TimeKey::of(r) > after))
                    .filter(|r| through.is_none_or(|through| r.occurred_on <= through))
                    .collect();
                let scanned: Vec<RecordedEvent> = store
                    .read_timeline(dyad, after, through)
                    .collect::<Result<_, _>>()
                    .unwrap();
                prop_assert_eq!(
                    scanned.iter().collect::<Vec<_>>(),
                    expected,
                    "{} after {:?} through {:?}",
                    dyad,
                    after,
                    through
                );
            }
        }
        prop_assert_eq!(store.verify().unwrap().position, log.len() as u64);
    }
    Ok(())
}

fn a_timeline_cut_after_its_last_place_of_a_day_through_that_day_is_empty<H: Home>() {
    let home = H::new();
    let store = open(&home);
    store
        .append(
            vec![crate::store::event("e1", "RUS-USA", 1)],
            &AppendOptions::default(),
        )
        .unwrap();
    let dyad: Dyad = "RUS-USA".parse().unwrap();
    let day = "2016-12-29".parse().unwrap();
    let last = TimeKey {
        on: day,
        position: u64::MAX,
    };
    assert_eq!(store.read_timeline(dyad, Some(last), Some(day)).count(), 0);
    let first = TimeKey::before_day(day);
    assert_eq!(store.read_timeline(dyad, Some(first), Some(day)).count(), 1);
}

/// A copy of `tests/fixtures/store-v1`: the demo store (the Istanbul scenario, with a
/// retraction), written by the build before store format 2, closed cleanly.
fn format_1_store(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("store");
    crate::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1"),
        &path,
    );
    path
}

fn fixture_export() -> Vec<RecordedEvent> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1.jsonl"),
    )
    .unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_store_of_format_1_is_migrated_on_open_and_answers_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = format_1_store(dir.path());
    let before = fixture_export();
    assert!(
        before
            .iter()
            .any(|r| matches!(r.event, Event::EventRetracted(_))),
        "the fixture retracts an event"
    );
    for _ in 0..2 {
        // The second open finds format 2 and changes nothing.
        let engine = Engine::open(&path).unwrap();
        let log: Vec<RecordedEvent> = engine.log(1).collect::<Result<_, _>>().unwrap();
        assert_eq!(log, before);
        let report = engine.verify().unwrap();
        assert_eq!(report.events, before.len() as u64);
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        assert_eq!(
            engine.state(dyad).unwrap(),
            state_at(&before, &Query::default())
        );
        let timeline: Vec<RecordedEvent> = engine.history(dyad, None, None).unwrap();
        let reference: Vec<RecordedEvent> = effective_timeline(&before, &Query::default())
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(timeline, reference);
        drop(engine);
    }
    // And it goes on: a new record continues the chain.
    let engine = Engine::open(&path).unwrap();
    let input: NewEvent = serde_json::from_value(serde_json::json!({
        "dyad": "RUS-USA", "occurred_on": "2025-04-10",
        "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 1}
    }))
    .unwrap();
    let appended = engine.record(input).unwrap();
    assert_eq!(appended.record.position, before.len() as u64 + 1);
    engine.verify().unwrap();
    // The migrated records keep record encoding 1, the new one is written in encoding 2:
    // the store reads both, on every read path.
    let mut log = before;
    log.push(appended.record);
    assert_eq!(engine.log(1).collect::<Result<Vec<_>, _>>().unwrap(), log);
    let dyad: Dyad = "RUS-USA".parse().unwrap();
    let expected = state_at(&log, &Query::default());
    assert_eq!(
        engine.replay_dyad::<BilateralState>(dyad).unwrap(),
        expected
    );
    let mut replayed = Vec::new();
    engine
        .replay_dyads::<BilateralState>(|dyad, state| replayed.push((dyad, state)))
        .unwrap();
    assert_eq!(replayed, vec![(dyad, expected)]);
}

#[test]
fn the_cli_reads_a_store_of_format_1_after_migrating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = format_1_store(dir.path());
    let run = crate::run_detente(&path, &["verify"], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = crate::run_detente(&path, &["export"], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let exported: Vec<RecordedEvent> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(exported, fixture_export());
}
