//! The first `as_of` after an open against the full fold of the same dyad, on one dyad's store:
//! `bench_large`'s hot-dyad row "as_of, the first question after an open", alone, on a store
//! made once and kept, so that a change to the snapshots can be measured without an import.
//!
//! ```text
//! cargo run --release --example first_as_of -- --events 100000 --store target/first-as-of
//! ```
//!
//! Options (defaults in brackets): `--events N` events of the one dyad [100000], made with
//! `bench_large`'s hot-dyad workload (`benches/workload`, 0.1 % back-dated events and
//! retractions) when the store is new; `--store DIR` [`target/first-as-of`]; `--reps N` [5].
//! An existing store is reused as it is: a store of another snapshot layout is rebuilt by its
//! first open (timed apart), so a store made by an older build measures the new snapshots.
//!
//! It prints one markdown row per figure: the full fold (`known_at`, the whole log folded),
//! the first `as_of` on the middle date after an open (the nearest stored snapshot decoded and
//! up to `snapshot_every` events folded after it), their ratio, and the store's bytes.

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use detente::domain::{Dyad, NewEvent, Query};
use detente::engine::{Config, Engine};

use workload::{Spec, Workload};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    run(std::env::args().skip(1))
}

/// Runs with the command line's arguments (without the program's name).
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), Error> {
    let (mut events, mut store, mut reps) = (100_000usize, PathBuf::from("target/first-as-of"), 5);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--events" => events = value.parse()?,
            "--store" => store = PathBuf::from(value),
            "--reps" => reps = value.parse::<usize>()?.max(1),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let (a, b) = workload::dyad_parties(0);
    let dyad: Dyad = format!("{a}-{b}").parse()?;
    let (opened, engine) = time(|| Ok(Engine::open(&store)?))?;
    let empty = engine.head().position == 0;
    drop(engine);
    if empty {
        fill(&store, events)?;
    } else {
        eprintln!("reusing {} (first open {:?})", store.display(), opened);
    }

    let engine = Engine::open(&store)?;
    let timeline = engine.history(dyad, None, None)?;
    let middle = timeline[timeline.len() / 2].occurred_on;
    let full_query = Query {
        as_of: Some(middle),
        known_at: Some(chrono::NaiveDate::MAX),
        ..Query::default()
    };
    let expected = engine.query(dyad, &full_query)?;
    let mut full = Vec::new();
    for _ in 0..reps {
        full.push(time(|| Ok(engine.query(dyad, &full_query)?))?.0);
    }
    drop(engine);
    let mut first = Vec::new();
    for _ in 0..reps {
        let engine = Engine::open(&store)?;
        let (took, state) = time(|| Ok(engine.query(dyad, &Query::as_of(middle))?))?;
        assert_eq!(
            state, expected,
            "the first as_of differs from the full fold"
        );
        first.push(took);
    }
    let (full, first) = (median(full), median(first));
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| full fold of a dyad of {} events (`known_at`), median of {reps} | {:.1} ms |",
        timeline.len(),
        ms(full)
    );
    println!(
        "| first `as_of` (middle date) after an open, median of {reps} | {:.1} ms |",
        ms(first)
    );
    println!(
        "| full fold / first `as_of` | {:.2}× |",
        full.as_secs_f64() / first.as_secs_f64()
    );
    println!(
        "| store on disk | {:.0} MiB |",
        dir_bytes(&store) as f64 / 1_048_576.0
    );
    Ok(())
}

/// Imports the hot-dyad workload into a new store, streamed as `detente import` does.
fn fill(store: &Path, events: usize) -> Result<(), Error> {
    let spec = Spec {
        retro_per_mille: 1,
        retract_per_mille: 1,
        ..Spec::new(events, 1)
    };
    let engine = Engine::open_with(store, Config::default())?;
    let inputs = Workload::new(spec)
        .map(|line| serde_json::from_str::<NewEvent>(&line).map_err(|err| err.to_string()));
    engine.import(inputs).map_err(|err| err.to_string())?;
    Ok(())
}

fn time<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(Duration, T), Error> {
    let started = Instant::now();
    let value = f()?;
    Ok((started.elapsed(), value))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => total += dir_bytes(&entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    total
}
