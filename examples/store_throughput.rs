//! Measures the store's append throughput (batches of 1,000 events, flushed) and the latency of
//! single appends in each durability mode.
//!
//! ```text
//! cargo run --release --example store_throughput [-- DIR] [--batches N] [--singles N]
//! ```
//!
//! The store is made in a fresh temporary directory inside `DIR` (default `target/`, so that it
//! is on the project's disk rather than on a `tmpfs` `/tmp`, where syncs cost nothing).
//! `--batches N` [50] batches of 1,000 events, then `--singles N` [1000] single appends in each
//! durability mode; `tests/it/examples.rs` runs it with the smallest sizes.

use std::time::{Duration, Instant};

use detente::domain::NewEvent;
use detente::store::{AppendOptions, Durability, Store, StoreConfig};

const DYADS: [&str; 4] = ["RUS-USA", "GBR-RUS", "FRA-RUS", "CHN-USA"];
const BATCH_LEN: usize = 1_000;

fn event(n: usize) -> NewEvent {
    let dyad = DYADS[n % DYADS.len()];
    let party = &dyad[..3];
    let json = format!(
        r#"{{"id":"ev-{n}","dyad":"{dyad}","occurred_on":"2017-09-02",
           "sources":[{{"name":"US State Department","kind":"official_statement"}}],
           "event":{{"type":"MissionClosed","closed_by":"{party}","facility":"trade mission {n}"}}}}"#
    );
    match serde_json::from_str(&json) {
        Ok(event) => event,
        Err(err) => panic!("bad example event: {err}"),
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(std::env::args().skip(1))
}

/// The measurements, with the command line's arguments (without the program's name).
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), Box<dyn std::error::Error>> {
    let (mut parent, mut n_batches, mut n_single) = ("target".to_owned(), 50usize, 1_000usize);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--batches" => n_batches = args.next().ok_or("--batches needs a value")?.parse()?,
            "--singles" => {
                n_single = args
                    .next()
                    .ok_or("--singles needs a value")?
                    .parse::<usize>()?
                    .max(1)
            }
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}").into()),
            _ => parent = arg,
        }
    }
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::tempdir_in(&parent)?;
    let store = Store::open(&dir.path().join("store"), StoreConfig::default())?;
    println!("store in {}", dir.path().display());

    let mut next = 0;
    let started = Instant::now();
    for _ in 0..n_batches {
        let batch: Vec<NewEvent> = (next..next + BATCH_LEN).map(event).collect();
        next += BATCH_LEN;
        store.append(batch, &AppendOptions::default())?;
    }
    let elapsed = started.elapsed();
    let n_events = n_batches * BATCH_LEN;
    println!(
        "batches of {BATCH_LEN}, flushed: {n_events} events in {elapsed:.2?}: {:.0} events/s",
        n_events as f64 / elapsed.as_secs_f64()
    );

    for durability in [
        Durability::Buffered,
        Durability::Flushed,
        Durability::Synced,
    ] {
        let options = AppendOptions {
            durability,
            ..AppendOptions::default()
        };
        let mut latencies = Vec::with_capacity(n_single);
        for _ in 0..n_single {
            let input = event(next);
            next += 1;
            let started = Instant::now();
            store.append(vec![input], &options)?;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        let total: Duration = latencies.iter().sum();
        println!(
            "single appends, {durability:?}: p50 {:.1?}, p99 {:.1?}, {:.0} appends/s",
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            n_single as f64 / total.as_secs_f64()
        );
    }
    store.verify()?;
    println!("verified {} events", store.head().position);
    Ok(())
}
