//! Crash story of a large import: `detente import` of a workload file (the built binary, a
//! child process) is killed with SIGKILL at random moments, over and over, in every phase of
//! the import (appending its chunks, checking its dyads, finishing, bringing the caches up to
//! date). After each kill the store opens, verifies, and holds none of the file's events or
//! all of them; at the end, running the import again completes it.
//!
//! The kill moments are drawn from the time a whole import takes, measured first on a store
//! of its own; the seed is printed (`DETENTE_CRASH_SEED=N` replays a run).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use detente::engine::Engine;

use crate::store_crash::Rng;
use crate::workload::generator;

/// How many events the file holds, unless `DETENTE_IMPORT_CRASH_EVENTS` says otherwise: few
/// enough that a whole import by the test build of the binary takes seconds, so that the story
/// stays well under a minute in CI (`DETENTE_IMPORT_CRASH_EVENTS=50000 cargo test --release`
/// runs it over five chunks of the import; `tests/it/import_stream.rs` crosses chunks in
/// process).
const EVENTS: usize = 2_500;
/// How many kills the story needs.
const KILLS: usize = 20;

fn import(store: &Path, file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_detente"));
    command
        .arg("--store")
        .arg(store)
        .arg("import")
        .arg(file)
        .env_remove("DETENTE_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A store holding the Istanbul scenario, so that the import starts past position 0.
fn fresh_store(path: &Path) -> u64 {
    if path.exists() {
        std::fs::remove_dir_all(path).unwrap();
    }
    let engine = Engine::open(path).unwrap();
    engine
        .record_batch(detente::scenario::istanbul_2025())
        .unwrap();
    engine.head().position
}

#[test]
fn a_killed_import_leaves_none_or_all_of_its_events_and_running_it_again_completes_it() {
    let mut rng = Rng::seeded("import crash test");
    let events: usize = std::env::var("DETENTE_IMPORT_CRASH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(EVENTS);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workload.jsonl");
    let mut text = String::new();
    for line in generator::Workload::new(generator::Spec::new(events, 60)) {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();

    // How long a whole import takes here.
    let scratch = dir.path().join("scratch");
    let base = fresh_store(&scratch);
    let started = Instant::now();
    let status = import(&scratch, &file).status().unwrap();
    let whole = started.elapsed();
    assert!(status.success(), "the import of the workload fails");
    std::fs::remove_dir_all(&scratch).unwrap();

    let story = Instant::now();
    let path = dir.path().join("store");
    fresh_store(&path);
    let full = base + events as u64;
    let (mut kills, mut none, mut all, mut rolled_back) = (0, 0, 0, 0);
    for round in 0..3 * KILLS {
        if kills >= KILLS {
            break;
        }
        let mut child = import(&path, &file).spawn().unwrap();
        let wait = rng.below(whole.as_millis() as u64 + 1);
        std::thread::sleep(Duration::from_millis(wait));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL on Unix
            kills += 1;
        }
        child.wait().unwrap();

        let engine = Engine::open(&path).unwrap_or_else(|err| panic!("round {round}: {err}"));
        if let Some((since, removed)) = engine.rolled_back_on_open() {
            // The kill landed after the import had written: its open rolled it back to the
            // head it started from.
            assert_eq!(since.position, base, "round {round}");
            assert!(removed > 0 && removed <= events as u64, "round {round}");
            rolled_back += 1;
        }
        engine
            .verify()
            .unwrap_or_else(|err| panic!("round {round}, after {wait} ms: {err}"));
        let head = engine.head().position;
        let stored = engine.log(base + 1).count() as u64;
        assert!(
            (head, stored) == (base, 0) || (head, stored) == (full, events as u64),
            "round {round}, killed after {wait} ms: the store holds {stored} of the file's {events} events, head {head}"
        );
        drop(engine);
        if head == full {
            all += 1;
            // Completed before the kill: start again, so that the next kill meets an import.
            fresh_store(&path);
        } else {
            none += 1;
        }
    }
    assert!(kills >= KILLS, "only {kills} kills landed during an import");

    // Running the import again completes it.
    let status = import(&path, &file).status().unwrap();
    assert!(status.success());
    let engine = Engine::open(&path).unwrap();
    assert_eq!(engine.head().position, full);
    engine.verify().unwrap();
    println!(
        "{kills} kills ({none} left none, {rolled_back} of them rolled back on open, {all} all of the file), a whole import {whole:?}, the story {:?}",
        story.elapsed()
    );
}
