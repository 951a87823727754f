//! What a durable write costs in sled 0.34 itself, before any engine work: a one-key
//! `insert` + `flush` against an atomic `apply_batch` of 1 to 5 keys + `flush`, p50 of 2,000
//! each, on a tree already holding 100,000 records. The single-record target of issue 7 is
//! a ratio to the first; the engine's append is the second (`docs/performance.md`).
//!
//! ```text
//! cargo run --release --example sled_floor [-- --records N] [--samples N] [--dir DIR]
//! ```
//!
//! The store goes to `--dir` [`target/sled-floor/`] (the project's disk: a `tmpfs` would make
//! every flush free), with `--records N` [100000] records first and `--samples N` [2000]
//! writes of each kind; `tests/it/examples.rs` runs it with the smallest sizes.

use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The `j`th key of write `i`: the first in order (like a log), the others spread.
fn key(j: usize, i: u64) -> Vec<u8> {
    let spread = if j == 0 {
        i
    } else {
        i.wrapping_mul(2_654_435_761) % 1_000_003
    };
    [&[b'A' + j as u8][..], &spread.to_be_bytes()].concat()
}

fn main() -> Result<(), Error> {
    run(std::env::args().skip(1))
}

/// The measurements, with the command line's arguments (without the program's name).
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), Error> {
    let (mut records, mut samples, mut dir) =
        (100_000u64, 2_000u64, "target/sled-floor".to_owned());
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--records" => records = value.parse()?,
            "--samples" => samples = value.parse::<u64>()?.max(1),
            "--dir" => dir = value,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let dir = std::path::Path::new(&dir);
    let _ = std::fs::remove_dir_all(dir);
    let db = sled::open(dir)?;
    let tree = db.open_tree("log")?;
    let record = vec![b'x'; 450];
    let index = 12_345_678u64.to_be_bytes();
    let mut batch = sled::Batch::default();
    for i in 0..records {
        batch.insert(key(0, i), record.as_slice());
        if i % 1_000 == 999 {
            tree.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    tree.apply_batch(batch)?;
    db.flush()?;
    let mut next = 1_000_000u64;
    println!(
        "| keys | `insert` each + `flush`, p50 | `apply_batch` + `flush`, p50 | batch / one insert |"
    );
    println!("|---|---|---|---|");
    let mut one_insert = Duration::ZERO;
    for keys in 1..=5usize {
        let mut inserts = Vec::new();
        let mut batches = Vec::new();
        for _ in 0..samples {
            next += 1;
            let started = Instant::now();
            for j in 0..keys {
                let value = if j == 0 {
                    record.as_slice()
                } else {
                    &index[..]
                };
                tree.insert(key(j, next), value)?;
            }
            db.flush()?;
            inserts.push(started.elapsed());
            next += 1;
            let started = Instant::now();
            let mut batch = sled::Batch::default();
            for j in 0..keys {
                let value = if j == 0 {
                    record.as_slice()
                } else {
                    &index[..]
                };
                batch.insert(key(j, next), value);
            }
            tree.apply_batch(batch)?;
            db.flush()?;
            batches.push(started.elapsed());
        }
        let (inserts, batches) = (p50(inserts), p50(batches));
        if keys == 1 {
            one_insert = inserts;
        }
        println!(
            "| {keys} | {:.0} µs | {:.0} µs | {:.2}× |",
            inserts.as_secs_f64() * 1e6,
            batches.as_secs_f64() * 1e6,
            batches.as_secs_f64() / one_insert.as_secs_f64()
        );
    }
    Ok(())
}
