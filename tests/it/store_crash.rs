//! Crash story: a process appending to the store is killed (SIGKILL) at a random moment, over
//! and over. It guards against losing an append that was acknowledged (returned `Ok` with the
//! default, flushed durability), against a torn batch (part of a batch stored), and against a
//! store that no longer opens or whose chain or positions break after a kill.
//!
//! The child is this test binary re-executed on `child_appends_until_killed`, which appends
//! batches of 1 to 5 events in a loop and prints `ACK <last position> <batch>` after each
//! acknowledged batch.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use detente::store::AppendOptions;

use crate::store::{DYADS, event, log, open};

const ROUNDS: usize = 24;

fn batch_size(batch: u64) -> u64 {
    1 + batch % 5
}

/// Not a test on its own: the child process of the test below.
#[test]
fn child_appends_until_killed() {
    let (Ok(path), Ok(round)) = (
        std::env::var("DETENTE_TEST_CRASH_STORE"),
        std::env::var("DETENTE_TEST_CRASH_ROUND"),
    ) else {
        return;
    };
    let store = open(Path::new(&path));
    let mut stdout = std::io::stdout().lock();
    for batch in 0.. {
        let events = (0..batch_size(batch))
            .map(|k| {
                let id = format!("r{round}-b{batch}-{k}");
                event(&id, DYADS[(batch + k) as usize % DYADS.len()], 1)
            })
            .collect();
        let appended = store.append(events, &AppendOptions::default()).unwrap();
        let last = appended.last().unwrap().record.position;
        writeln!(stdout, "\nACK {last} {batch}").unwrap();
        stdout.flush().unwrap();
    }
}

/// A small xorshift, seeded from the clock and printed, so a failing run can be replayed
/// (`DETENTE_CRASH_SEED=N`). The crash stories of the store and of the import share it.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `DETENTE_CRASH_SEED`, else from the clock; the seed is printed, named by
    /// `story`.
    pub fn seeded(story: &str) -> Rng {
        let seed = std::env::var("DETENTE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("{story} seed: {seed} (DETENTE_CRASH_SEED={seed} to replay)");
        Rng(seed)
    }

    /// A number below `n` (0 for an `n` of 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn a_killed_writer_loses_no_acknowledged_event_and_leaves_no_partial_batch() {
    let mut rng = Rng::seeded("crash test");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    // Created beforehand: a kill during sled's very first creation of its files is sled's
    // story, not ours.
    drop(open(&path));
    let started = Instant::now();
    let mut n_acknowledged_total = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store_crash::child_appends_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DETENTE_TEST_CRASH_STORE", &path)
            .env("DETENTE_TEST_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // A line is written by one `write` of a few bytes to a pipe, so it arrives
                // whole; anything else is libtest's own output.
                let words: Vec<&str> = line.split_whitespace().collect();
                if let ["ACK", position, batch] = words[..] {
                    if let (Ok(position), Ok(batch)) =
                        (position.parse::<u64>(), batch.parse::<u64>())
                    {
                        acknowledged.push((position, batch));
                    }
                }
            }
            acknowledged
        });
        std::thread::sleep(Duration::from_millis(30 + rng.below(400)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acknowledged = reader.join().unwrap();
        n_acknowledged_total += acknowledged.len();

        let store = open(&path);
        let head = store
            .verify()
            .unwrap_or_else(|err| panic!("round {round}: {err}"));
        let records = log(&store);
        let positions: Vec<u64> = records.iter().map(|r| r.position).collect();
        assert_eq!(
            positions,
            (1..=head.position).collect::<Vec<_>>(),
            "round {round}"
        );
        // Every acknowledged batch is there, whole, at the position acknowledged.
        let mut batches: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let prefix = format!("r{round}-b");
        for record in &records {
            if let Some(rest) = record.id.as_str().strip_prefix(&prefix) {
                let batch: u64 = rest.split('-').next().unwrap().parse().unwrap();
                batches.entry(batch).or_default().push(record.position);
            }
        }
        for (position, batch) in &acknowledged {
            let stored = batches.get(batch).unwrap_or_else(|| {
                panic!("round {round}: acknowledged batch {batch} (position {position}) is lost")
            });
            assert_eq!(
                stored.last(),
                Some(position),
                "round {round}, batch {batch}"
            );
        }
        // No batch is stored in part, acknowledged or not.
        for (batch, stored) in &batches {
            assert_eq!(
                stored.len() as u64,
                batch_size(*batch),
                "round {round}: batch {batch} is torn"
            );
        }
    }
    println!(
        "{ROUNDS} kills, {n_acknowledged_total} acknowledged batches, {:?}",
        started.elapsed()
    );
    assert!(
        n_acknowledged_total > 0,
        "the child never acknowledged anything"
    );
}
