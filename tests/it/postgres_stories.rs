//! Stories of one PostgreSQL log shared by many OS processes, on a real server
//! (`postgres_server.rs`): what issue 12 promises of many writers, of a writer that dies, of a
//! server that stops, and of readers in other processes (`docs/backends.md`).
//!
//! - Four processes append at once, some with expected versions that others make stale:
//!   positions stay 1..N without a gap, every acknowledged append is there exactly once, a
//!   stale expectation is a conflict (and its events are not stored), and the chain verifies.
//! - A writer killed with SIGKILL inside its transaction leaves nothing of it, and the next
//!   writer goes on at once: the server rolls back a dead connection's transaction and
//!   releases its lock on the head.
//! - The server stopped (`pg_ctl stop -m fast`) under a writer: one clear error line, nothing
//!   partial, and the same import again after a restart is stored once.
//! - A reader in another process sees a writer's appends: its engine's caches catch up before
//!   they answer, and its subscription delivers them in position order.
//!
//! The child processes are this test binary, re-executed on a `child_…` function (which does
//! nothing when its environment variable is not set), and the built `detente` binary.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use detente::domain::{Dyad, NewEvent};
use detente::engine::Engine;
use detente::store::{AppendOptions, ExpectedVersion, Store, StoreConfig, StoreError};
use serde_json::Value;

use crate::postgres_server::{OwnCluster, server};
use crate::store::{DYADS, event};

/// The events of a JSON Lines import: `DiplomatsExpelled`, valid in any order, on two dyads,
/// with ids `{prefix}-{n}` (`n` < 1,000,000).
fn import_file(dir: &Path, prefix: &str, n: usize) -> std::path::PathBuf {
    let path = dir.join(format!("{prefix}.jsonl"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    // Counts differ from file to file, so that no line is a likely duplicate of another.
    let base = prefix.bytes().fold(7u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(byte.into())
    }) % 4_000
        * 1_000_000;
    for k in 0..n {
        let event = event(&format!("{prefix}-{k}"), DYADS[k % 2], base + 1 + k as u32);
        serde_json::to_writer(&mut out, &event).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
    path
}

/// A file of one event, for `detente record FILE`.
fn one_event_file(dir: &Path, id: &str, dyad: &str, count: u32) -> std::path::PathBuf {
    let path = dir.join(format!("{id}.json"));
    std::fs::write(&path, serde_json::to_vec(&event(id, dyad, count)).unwrap()).unwrap();
    path
}

/// Runs the built binary on the store at `url` and expects success.
#[track_caller]
fn detente_ok(url: &str, args: &[&str]) -> String {
    let out = crate::run_detente(Path::new(url), args, b"");
    assert_eq!(
        out.code, 0,
        "{args:?} failed:\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// The records of the log at `url`, by its export (`detente export`), in position order.
fn exported(url: &str) -> Vec<Value> {
    detente_ok(url, &["export"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Checks what every log must be, whoever wrote it: positions 1..N without a gap, each id
/// once, each dyad's versions 1..n in position order, and `detente verify` passes (the chain
/// and the indexes). Returns the ids with their positions.
#[track_caller]
fn check_log(url: &str) -> BTreeMap<String, u64> {
    let records = exported(url);
    let positions: Vec<u64> = records
        .iter()
        .map(|r| r["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, (1..=records.len() as u64).collect::<Vec<_>>());
    let mut ids = BTreeMap::new();
    let mut versions: HashMap<String, u64> = HashMap::new();
    for record in &records {
        let id = record["id"].as_str().unwrap().to_owned();
        let position = record["position"].as_u64().unwrap();
        assert!(ids.insert(id.clone(), position).is_none(), "{id} twice");
        let version = versions
            .entry(record["dyad"].as_str().unwrap().to_owned())
            .or_default();
        *version += 1;
        assert_eq!(record["version"].as_u64(), Some(*version), "{record}");
    }
    detente_ok(url, &["verify"]);
    ids
}

/// This test binary again, on one `child_…` function, with `env` set and pipes for its input
/// and output.
fn child(name: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            &format!("postgres_stories::{name}"),
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Waits for `child` to end, at most `limit`: its exit code, or a failure naming `what`
/// (the child killed first) when it hangs.
#[track_caller]
fn wait_at_most(child: &mut Child, limit: Duration, what: &str) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls the server until a session other than this one holds a transaction that has taken
/// a transaction id on the database of `url` (a writer between its first write, the lock of
/// the head included, and its commit), or `child` ends first. `true` when it was seen.
fn wait_for_open_transaction(url: &str, child: &mut Child) -> bool {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let open: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL",
                &[],
            )
            .unwrap()
            .get(0);
        if open > 0 {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("no writer opened a transaction within two minutes")
}

/// Starts `detente import FILE` on `url` and waits until it is inside its transaction; if the
/// import was done before it could be caught there, starts again with a file twice as large
/// (new ids, so the log grows by what the late import stored). Returns the import's process,
/// its file and how many events a finished one stores.
fn import_caught_in_its_transaction(
    url: &str,
    dir: &Path,
    prefix: &str,
) -> (Child, std::path::PathBuf, usize) {
    let mut n = 1_500;
    for attempt in 0..4 {
        let name = format!("{prefix}{attempt}");
        let file = import_file(dir, &name, n);
        let mut import = Command::new(env!("CARGO_BIN_EXE_detente"))
            .arg("--store")
            .arg(url)
            .arg("import")
            .arg(&file)
            .arg("--no-progress")
            .env_remove("DETENTE_STORE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if wait_for_open_transaction(url, &mut import) {
            return (import, file, n);
        }
        let code = import.wait().unwrap().code();
        assert_eq!(code, Some(0), "import of {name} failed");
        n *= 2;
    }
    panic!("four imports ended before their transaction could be seen")
}

/// Not a test on its own: a writer process of the first story. It opens the store at
/// `DETENTE_STORY_URL`, says `READY`, waits for a line on its input, then appends batches with
/// the expected versions it reads (which other writers make stale) and says, for each event,
/// `ACK id position version` or `CONFLICT id`. Anything else is a failure (exit code 101).
#[test]
fn child_appends_with_expected_versions() {
    let (Ok(url), Ok(writer)) = (
        std::env::var("DETENTE_STORY_URL"),
        std::env::var("DETENTE_STORY_WRITER"),
    ) else {
        return;
    };
    let store = Store::open_postgres(&url, StoreConfig::default()).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nREADY").unwrap();
    out.flush().unwrap();
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    let mut say = |appended: Result<Vec<detente::store::Appended>, StoreError>, ids: &[String]| {
        match appended {
            Ok(appended) => {
                for a in appended {
                    assert!(a.stored, "{} was stored before", a.record.id);
                    let r = a.record;
                    writeln!(out, "\nACK {} {} {}", r.id, r.position, r.version).unwrap();
                }
            }
            Err(StoreError::Conflict { .. }) => {
                for id in ids {
                    writeln!(out, "\nCONFLICT {id}").unwrap();
                }
            }
            Err(other) => panic!("writer {writer}: {other}"),
        }
        out.flush().unwrap();
    };
    // First, all four at once: the first event of a dyad nobody has written yet. One wins.
    let race: Dyad = DYADS[2].parse().unwrap();
    let id = format!("race-{writer}");
    let mut options = AppendOptions::default();
    options.expected.insert(race, ExpectedVersion::NoStream);
    say(store.append(vec![event(&id, DYADS[2], 1)], &options), &[id]);
    // Then batches of one to three events on two dyads, every other one expecting the
    // version it has just read.
    let index: usize = writer.parse().unwrap();
    for round in 0..24 {
        let dyad_text = DYADS[(index + round) % 2];
        let dyad: Dyad = dyad_text.parse().unwrap();
        let ids: Vec<String> = (0..1 + round % 3)
            .map(|k| format!("w{writer}-{round}-{k}"))
            .collect();
        let events: Vec<NewEvent> = ids
            .iter()
            .map(|id| event(id, dyad_text, 1 + round as u32))
            .collect();
        let mut options = AppendOptions::default();
        if round % 2 == 0 {
            let expected = match store.dyad_version(dyad).unwrap() {
                0 => ExpectedVersion::NoStream,
                version => ExpectedVersion::Exact(version),
            };
            options.expected.insert(dyad, expected);
        }
        say(store.append(events, &options), &ids);
    }
}

#[test]
fn four_processes_appending_at_once_keep_positions_gap_free_and_report_conflicts() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("four");
    let mut writers: Vec<Child> = (0..4)
        .map(|k| {
            child(
                "child_appends_with_expected_versions",
                &[
                    ("DETENTE_STORY_URL", &url),
                    ("DETENTE_STORY_WRITER", &k.to_string()),
                ],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    // Each says READY once it is connected; then all are let go at once.
    let mut readers = Vec::new();
    for writer in &mut writers {
        let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line == "READY");
        assert!(ready, "a writer never said READY");
        readers.push(lines);
    }
    for writer in &mut writers {
        writeln!(writer.stdin.as_mut().unwrap(), "GO").unwrap();
    }
    let said: Vec<Vec<String>> = readers
        .into_iter()
        .map(|lines| std::thread::spawn(move || lines.map_while(Result::ok).collect()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|reader| reader.join().unwrap())
        .collect();
    for (k, writer) in writers.iter_mut().enumerate() {
        let code = wait_at_most(writer, Duration::from_secs(120), "a writer");
        let mut stderr = String::new();
        std::io::Read::read_to_string(writer.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(code, 0, "writer {k} failed: {stderr}");
    }
    let mut acknowledged: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut conflicts = BTreeSet::new();
    for line in said.iter().flatten() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["ACK", id, position, version] => {
                let place = (position.parse().unwrap(), version.parse().unwrap());
                assert!(acknowledged.insert(id.to_owned(), place).is_none(), "{id}");
            }
            ["CONFLICT", id] => assert!(conflicts.insert(id.to_owned()), "{id}"),
            _ => {}
        }
    }
    // Every attempt was answered: 4 × (1 + 24 rounds of 1 to 3 events).
    assert_eq!(
        acknowledged.len() + conflicts.len(),
        4 * (1 + 8 * (1 + 2 + 3))
    );
    let races: Vec<&String> = acknowledged
        .keys()
        .filter(|id| id.starts_with("race-"))
        .collect();
    assert_eq!(races.len(), 1, "exactly one first event of the raced dyad");
    assert!(
        conflicts.len() >= 3,
        "the three losers of the race conflict"
    );

    let stored = check_log(&url);
    // Exactly what was acknowledged, where it was acknowledged; nothing of a conflict.
    let stored_ids: BTreeSet<&String> = stored.keys().collect();
    let acknowledged_ids: BTreeSet<&String> = acknowledged.keys().collect();
    assert_eq!(stored_ids, acknowledged_ids);
    for (id, (position, _)) in &acknowledged {
        assert_eq!(stored[id], *position, "{id}");
    }
    assert!(conflicts.iter().all(|id| !stored.contains_key(id)));
    let records = exported(&url);
    for record in &records {
        let id = record["id"].as_str().unwrap();
        assert_eq!(record["version"].as_u64(), Some(acknowledged[id].1), "{id}");
    }
}

#[test]
fn a_writer_killed_inside_its_transaction_leaves_nothing_and_the_next_writer_goes_on() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("killed");
    let dir = tempfile::tempdir().unwrap();
    detente_ok(
        &url,
        &[
            "import",
            import_file(dir.path(), "before", 3).to_str().unwrap(),
        ],
    );
    let before = check_log(&url);

    let (mut import, file, n) = import_caught_in_its_transaction(&url, dir.path(), "big");
    import.kill().unwrap(); // SIGKILL
    import.wait().unwrap();
    let after_kill = check_log(&url);
    let prefix = format!("{}-", file.file_stem().unwrap().to_str().unwrap());
    assert!(
        after_kill.keys().all(|id| !id.starts_with(&prefix)),
        "a part of the killed import is stored"
    );
    // The next writer is not kept waiting by the dead one's lock of the head.
    let started = Instant::now();
    let next = one_event_file(dir.path(), "next-0", DYADS[0], 99);
    let mut record = Command::new(env!("CARGO_BIN_EXE_detente"))
        .arg("--store")
        .arg(&url)
        .arg("record")
        .arg(&next)
        .env_remove("DETENTE_STORE")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let code = wait_at_most(&mut record, Duration::from_secs(30), "the next writer");
    assert_eq!(code, 0);
    assert!(started.elapsed() < Duration::from_secs(30));
    let ids = check_log(&url);
    assert_eq!(ids.len(), after_kill.len() + 1);
    assert_eq!(ids["next-0"], after_kill.len() as u64 + 1);
    assert!(before.keys().all(|id| ids.contains_key(id)));
    // The killed import, run again, stores all of it once.
    detente_ok(&url, &["import", file.to_str().unwrap(), "--no-progress"]);
    let ids = check_log(&url);
    assert_eq!(ids.keys().filter(|id| id.starts_with(&prefix)).count(), n);
}

#[test]
fn the_server_stopped_under_a_writer_is_one_clear_error_and_the_retry_stores_once() {
    let Some(cluster) = OwnCluster::start() else {
        return;
    };
    let url = cluster.fresh_database("stopped");
    let dir = tempfile::tempdir().unwrap();
    detente_ok(
        &url,
        &[
            "import",
            import_file(dir.path(), "before", 3).to_str().unwrap(),
        ],
    );

    let (mut import, file, n) = import_caught_in_its_transaction(&url, dir.path(), "big");
    cluster.stop("fast");
    let code = wait_at_most(&mut import, Duration::from_secs(60), "the stranded import");
    let mut stderr = String::new();
    std::io::Read::read_to_string(import.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // While it is down, a command says so at once, on one line.
    let started = Instant::now();
    let down = crate::run_detente(Path::new(&url), &["stats"], b"");
    assert_eq!(down.code, 1, "{}", down.stderr);
    assert!(down.stderr.starts_with("error: "), "{}", down.stderr);
    assert_eq!(down.stderr.trim_end().lines().count(), 1, "{}", down.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));

    cluster.start_again();
    let prefix = format!("{}-", file.file_stem().unwrap().to_str().unwrap());
    let after = check_log(&url);
    assert!(after.contains_key("before-0") && after.contains_key("before-2"));
    // None of the stranded transaction is there, or (had it committed before the stop) all
    // of it; either way, the same import again stores what is missing, once.
    let stranded = after.keys().filter(|id| id.starts_with(&prefix)).count();
    assert!(stranded == 0 || stranded == n, "{stranded} of {n} stored");
    detente_ok(&url, &["import", file.to_str().unwrap(), "--no-progress"]);
    let once = check_log(&url);
    assert_eq!(once.keys().filter(|id| id.starts_with(&prefix)).count(), n);
    detente_ok(&url, &["import", file.to_str().unwrap(), "--no-progress"]);
    assert_eq!(check_log(&url), once, "the retry stored something twice");
}

/// Not a test on its own: a reader process of the last story. It opens an engine on
/// `DETENTE_STORY_URL`, subscribes, says `READY`, then says `SAW position id` for each of the
/// `DETENTE_STORY_EXPECT` records its feed delivers, and at last `STATE n` with the events
/// its engine's state of the first dyad has applied.
#[test]
fn child_reads_what_others_append() {
    let (Ok(url), Ok(expect)) = (
        std::env::var("DETENTE_STORY_URL"),
        std::env::var("DETENTE_STORY_EXPECT"),
    ) else {
        return;
    };
    let expect: usize = expect.parse().unwrap();
    let engine = Engine::open(&url).unwrap();
    let dyad: Dyad = DYADS[0].parse().unwrap();
    let before = engine.state(dyad).unwrap().events_applied;
    let mut feed = engine.subscribe();
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nREADY {before}").unwrap();
    out.flush().unwrap();
    for _ in 0..expect {
        let record = feed
            .next_timeout(Duration::from_secs(60))
            .unwrap()
            .expect("the feed delivers another process's append");
        writeln!(out, "\nSAW {} {}", record.position, record.id).unwrap();
        out.flush().unwrap();
    }
    let state = engine.state(dyad).unwrap();
    writeln!(out, "\nSTATE {}", state.events_applied).unwrap();
}

#[test]
fn a_reader_in_another_process_sees_appends_in_position_order() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("reader");
    let dir = tempfile::tempdir().unwrap();
    let dyad: Dyad = DYADS[0].parse().unwrap();
    // This process's engine, with the dyad's state in its cache.
    let engine = Engine::open(&url).unwrap();
    engine
        .record_batch(vec![
            event("mine-0", DYADS[0], 1),
            event("mine-1", DYADS[1], 1),
        ])
        .unwrap();
    assert_eq!(engine.state(dyad).unwrap().events_applied, 1);

    let expect = 7;
    let mut reader = child(
        "child_reads_what_others_append",
        &[
            ("DETENTE_STORY_URL", &url),
            ("DETENTE_STORY_EXPECT", &expect.to_string()),
        ],
    )
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(reader.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let ready = lines
        .by_ref()
        .find_map(|line| line.strip_prefix("READY ").map(str::to_owned))
        .expect("the reader never said READY");
    assert_eq!(
        ready, "1",
        "the reader's engine sees what was there before it"
    );
    let seen = std::thread::spawn(move || lines.collect::<Vec<String>>());
    // Appends by two other writers: this process's engine and `detente` processes.
    for k in 0..expect {
        if k % 2 == 0 {
            let file = one_event_file(dir.path(), &format!("cli-{k}"), DYADS[0], 20 + k as u32);
            detente_ok(&url, &["record", file.to_str().unwrap()]);
        } else {
            engine
                .record(event(&format!("mine-{}", k + 1), DYADS[0], 10 + k as u32))
                .unwrap();
        }
    }
    let code = wait_at_most(&mut reader, Duration::from_secs(60), "the reader");
    let said = seen.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(reader.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, 0, "the reader failed: {stderr}");

    let ids = check_log(&url);
    let by_position: BTreeMap<u64, &String> = ids.iter().map(|(id, p)| (*p, id)).collect();
    let saw: Vec<(u64, String)> = said
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("SAW ")?;
            let (position, id) = rest.split_once(' ')?;
            Some((position.parse().ok()?, id.to_owned()))
        })
        .collect();
    let expected: Vec<(u64, String)> = (3..3 + expect as u64)
        .map(|position| (position, by_position[&position].clone()))
        .collect();
    assert_eq!(saw, expected, "the feed, in position order, none missed");
    // Every append after the first two is on the first dyad (the `detente record` files'
    // single events land on DYADS[0] too).
    let on_first = 1 + expect as u64;
    assert!(
        said.contains(&format!("STATE {on_first}")),
        "the reader's state did not catch up: {said:?}"
    );
    // And this process's cache caught up with the `detente` processes' appends.
    assert_eq!(engine.state(dyad).unwrap().events_applied, on_first);
    assert_eq!(engine.head().position, 2 + expect as u64);
}

#[test]
fn a_read_replica_answers_queries_up_to_the_position_it_has_replayed() {
    let Some(primary) = OwnCluster::start() else {
        return;
    };
    let url = primary.fresh_database("replicated");
    let dir = tempfile::tempdir().unwrap();
    detente_ok(
        &url,
        &[
            "import",
            import_file(dir.path(), "first", 6).to_str().unwrap(),
        ],
    );
    let standby = primary.standby();
    let replica = standby.url_of("replicated");
    let dyad = format!("--dyad={}", DYADS[0]);
    for round in ["first", "second"] {
        if round == "second" {
            detente_ok(
                &url,
                &[
                    "import",
                    import_file(dir.path(), round, 4).to_str().unwrap(),
                ],
            );
        }
        standby.caught_up_with(&primary);
        // The same log, byte for byte, and the same answers.
        assert_eq!(
            detente_ok(&replica, &["export"]),
            detente_ok(&url, &["export"]),
            "{round}"
        );
        assert_eq!(
            detente_ok(&replica, &["--json", "state", &dyad]),
            detente_ok(&url, &["--json", "state", &dyad]),
            "{round}"
        );
        detente_ok(&replica, &["verify"]);
    }
    // A replica is read-only: an append there is one clear error, and stores nothing.
    let refused = crate::run_detente(
        Path::new(&replica),
        &[
            "record",
            one_event_file(dir.path(), "on-replica", DYADS[0], 7)
                .to_str()
                .unwrap(),
        ],
        b"",
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.starts_with("error: "), "{}", refused.stderr);
    assert_eq!(
        refused.stderr.trim_end().lines().count(),
        1,
        "{}",
        refused.stderr
    );
    assert_eq!(check_log(&url).len(), 10);
}
