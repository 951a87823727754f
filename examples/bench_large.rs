//! The large benchmark of issue 7: every figure of `docs/performance.md`, measured in one run
//! as a ratio against a baseline or a peer measured in the same run, printed as markdown.
//!
//! ```text
//! cargo run --release --example bench_large -- --events 1000000 --hot 100000
//! ```
//!
//! Options (defaults in brackets, chosen so that a run without options takes a few minutes
//! on two cores; the issue's figures are `--events 1000000 --hot 100000`): `--events N`
//! [200000], `--dyads N` [1000], `--hot N` events of the hot dyad for the `as_of` figures
//! [20000], `--sweep N` events of the hot
//! dyad for the snapshot-spacing sweep [20000], `--reps N` repetitions of each read
//! measurement [3], `--import-reps N` repetitions of each import [1], `--singles N` durable
//! single records of each kind [1000], `--dir DIR` where the stores go
//! [`target/bench-large`], on the project's disk (a `tmpfs` `/tmp` would make flushes free).
//!
//! Replay and peak memory are measured in child processes (this program run with
//! `--replay-child STORE`), so that the high-water mark of resident memory (`VmHWM`) is the
//! replay's alone, not the generator's or the baseline's. `--replay in-process` [`child`]
//! replays in this process instead (its memory figure is then this process's): the test that
//! runs this example (`tests/it/examples.rs`, with the smallest sizes) cannot start it as a
//! child.
//!
//! `--postgres auto` (a throwaway cluster, as the tests start one) or `--postgres URL` (a
//! server, as a role that may create databases) adds the section "PostgreSQL": the same
//! figures on a PostgreSQL log beside sled's, and 1, 2 and 4 writer processes at once
//! (`--pg-writer-events N` [500] single records each); see `examples/bench_postgres/mod.rs`.

#[path = "../benches/workload/mod.rs"]
mod workload;

// PostgreSQL beside sled (`--postgres`): a section of its own, with the tests' throwaway
// cluster. Inside the test binary (`tests/it/examples.rs`), the harness is the binary's own.
#[path = "bench_postgres/mod.rs"]
mod bench_postgres;
#[cfg(not(test))]
#[allow(dead_code)]
#[path = "../tests/it/postgres_server.rs"]
mod postgres_server;
#[cfg(test)]
use crate::postgres_server;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use detente::domain::{BilateralState, Dyad, NewEvent, Query, RecordedEvent, state_at};
use detente::engine::{Config, Engine};

use workload::{Spec, Workload};

type Error = Box<dyn std::error::Error>;

const BATCH: usize = 1_000;
/// The chunk of the engine's streamed import (`Engine::import`).
const IMPORT_CHUNK: usize = 10_000;

struct Options {
    events: usize,
    dyads: usize,
    hot: usize,
    sweep: usize,
    reps: usize,
    import_reps: usize,
    singles: u64,
    replay_in_process: bool,
    dir: PathBuf,
    /// `--postgres auto|URL`: the section "PostgreSQL" (`bench_postgres`).
    postgres: Option<String>,
    /// `--pg-writer-events N`: single records of each writer process there.
    pg_writer_events: usize,
}

fn options(args: impl IntoIterator<Item = String>) -> Result<Options, Error> {
    let mut options = Options {
        events: 200_000,
        dyads: 1_000,
        hot: 20_000,
        sweep: 20_000,
        reps: 3,
        import_reps: 1,
        singles: 1_000,
        replay_in_process: false,
        dir: PathBuf::from("target/bench-large"),
        postgres: None,
        pg_writer_events: 500,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--events" => options.events = value.parse()?,
            "--dyads" => options.dyads = value.parse()?,
            "--hot" => options.hot = value.parse()?,
            "--sweep" => options.sweep = value.parse()?,
            "--reps" => options.reps = value.parse::<usize>()?.max(1),
            "--import-reps" => options.import_reps = value.parse::<usize>()?.max(1),
            "--singles" => options.singles = value.parse::<u64>()?.max(1),
            "--replay" => {
                options.replay_in_process = match value.as_str() {
                    "child" => false,
                    "in-process" => true,
                    other => return Err(format!("--replay {other}: child or in-process").into()),
                }
            }
            "--dir" => options.dir = PathBuf::from(value),
            "--postgres" => options.postgres = Some(value),
            "--pg-writer-events" => options.pg_writer_events = value.parse::<usize>()?.max(1),
            "--pg-writer" => {
                bench_postgres::writer_child(&value)?;
                std::process::exit(0);
            }
            "--import-child" => {
                // STORE FILE LIMIT: the streamed import of the file's first LIMIT lines.
                let file = args.next().ok_or("--import-child needs STORE FILE LIMIT")?;
                let limit: usize = args.next().ok_or("--import-child needs LIMIT")?.parse()?;
                let (elapsed, peak_kib, recorded) =
                    import_streamed(Path::new(&value), Path::new(&file), limit)?;
                println!("{} {peak_kib} {recorded}", elapsed.as_nanos());
                std::process::exit(0);
            }
            "--replay-child" => {
                let (elapsed, peak_kib, applied) = replay(Path::new(&value))?;
                println!("{} {peak_kib} {applied}", elapsed.as_nanos());
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(options)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

fn time<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(Duration, T), Error> {
    let started = Instant::now();
    let value = f()?;
    Ok((started.elapsed(), value))
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

fn fresh(path: &Path) -> Result<(), Error> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    Ok(())
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The child: open the store, replay every dyad into `BilateralState`, print the time and
/// the peak resident memory. Each state is dropped once counted, as a streaming user would.
/// Opens the store and replays every dyad: the time it took, the peak resident memory of the
/// process so far, and the events applied.
fn replay(store: &Path) -> Result<(Duration, u64, u64), Error> {
    let started = Instant::now();
    let engine = Engine::open(store)?;
    let mut applied = 0u64;
    engine.replay_dyads::<BilateralState>(|_, state| applied += state.events_applied)?;
    Ok((started.elapsed(), vm_hwm_kib(), applied))
}

/// Reads a JSON Lines file in batches of parsed inputs.
fn for_each_batch(
    file: &Path,
    size: usize,
    f: impl FnMut(Vec<NewEvent>, &[String]) -> Result<(), Error>,
) -> Result<(), Error> {
    for_each_batch_of(file, size, usize::MAX, f)
}

/// [`for_each_batch`] of the file's first `limit` lines.
fn for_each_batch_of(
    file: &Path,
    size: usize,
    limit: usize,
    mut f: impl FnMut(Vec<NewEvent>, &[String]) -> Result<(), Error>,
) -> Result<(), Error> {
    let reader = BufReader::with_capacity(1 << 20, File::open(file)?);
    let mut lines = Vec::with_capacity(size);
    for line in reader.lines().take(limit) {
        lines.push(line?);
        if lines.len() == size {
            let batch = parse(&lines)?;
            f(batch, &lines)?;
            lines.clear();
        }
    }
    if !lines.is_empty() {
        let batch = parse(&lines)?;
        f(batch, &lines)?;
    }
    Ok(())
}

fn parse(lines: &[String]) -> Result<Vec<NewEvent>, Error> {
    Ok(lines
        .iter()
        .map(|line| serde_json::from_str(line))
        .collect::<Result<_, _>>()?)
}

fn write_workload(path: &Path, workload: impl Iterator<Item = String>) -> Result<u64, Error> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    for line in workload {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// The durable import as `detente import` runs it: the file's first `limit` lines read and
/// parsed one at a time into [`Engine::import`] (chunks of 10,000 under the mark of an
/// unfinished import, the dyads' checks, the caches), then the engine dropped (its caches
/// written). The time, the peak resident memory of the process so far, the events stored.
fn import_streamed(store: &Path, file: &Path, limit: usize) -> Result<(Duration, u64, u64), Error> {
    let started = Instant::now();
    let (engine, recorded) = import_with(store, file, limit, Config::default())?;
    drop(engine);
    Ok((started.elapsed(), vm_hwm_kib(), recorded))
}

/// The engine, with `config`, after [`Engine::import`] of the file's first `limit` lines,
/// and how many events it stored.
fn import_with(
    store: &Path,
    file: &Path,
    limit: usize,
    config: Config,
) -> Result<(Engine, u64), Error> {
    let engine = Engine::open_with(store, config)?;
    let reader = BufReader::with_capacity(1 << 20, File::open(file)?);
    let inputs = reader
        .lines()
        .take(limit)
        .map(|line| -> Result<NewEvent, Error> { Ok(serde_json::from_str(&line?)?) });
    let imported = engine.import(inputs).map_err(|err| err.to_string())?;
    Ok((engine, imported.recorded))
}

/// [`import_streamed`] in a child process (this program with `--import-child`), so that its
/// peak memory is the import's alone; in this process with `--replay in-process`.
fn import_measured(
    options: &Options,
    store: &Path,
    file: &Path,
    limit: usize,
) -> Result<(Duration, u64, u64), Error> {
    fresh(store)?;
    if options.replay_in_process {
        return import_streamed(store, file, limit);
    }
    let output = Command::new(std::env::current_exe()?)
        .arg("--import-child")
        .arg(store)
        .arg(file)
        .arg(limit.to_string())
        .output()?;
    child_fields(output, "import child")
}

/// The three numbers a child prints: nanoseconds, peak KiB, a count.
fn child_fields(output: std::process::Output, what: &str) -> Result<(Duration, u64, u64), Error> {
    if !output.status.success() {
        return Err(format!("{what}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let text = String::from_utf8(output.stdout)?;
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse())
        .collect::<Result<_, _>>()?;
    let [nanos, peak, count] = fields[..] else {
        return Err(format!("{what} printed {text:?}").into());
    };
    Ok((Duration::from_nanos(nanos), peak, count))
}

fn import_engine(store: &Path, file: &Path, config: Config) -> Result<Engine, Error> {
    let engine = Engine::open_with(store, config)?;
    for_each_batch(file, BATCH, |batch, _| {
        engine.record_batch(batch)?;
        Ok(())
    })?;
    Ok(engine)
}

/// The fold every peer and the baseline use: per dyad, `state_at` (the effective timeline:
/// retractions applied, ordered by `(occurred_on, position)`), as the engine's replay does.
fn fold_groups(groups: HashMap<Dyad, Vec<RecordedEvent>>) -> u64 {
    groups
        .into_values()
        .map(|log| state_at(&log, &Query::default()).events_applied)
        .sum()
}

/// A peer's stored form of an input: the recorded event's wire JSON, without a hash chain.
fn peer_record(input: NewEvent, position: u64, versions: &mut HashMap<Dyad, u64>) -> RecordedEvent {
    let version = versions.entry(input.dyad).or_insert(0);
    *version += 1;
    let on = input.occurred_on;
    input.into_recorded(position, *version, on, chrono::DateTime::UNIX_EPOCH)
}

fn dyad_key(dyad: Dyad, version: u64) -> Vec<u8> {
    let mut key = dyad.to_string().into_bytes();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn sled_import(path: &Path, file: &Path) -> Result<sled::Db, Error> {
    let db = sled::open(path)?;
    let mut versions = HashMap::new();
    let mut position = 0;
    for_each_batch(file, BATCH, |batch, _| {
        let mut writes = sled::Batch::default();
        for input in batch {
            position += 1;
            let record = peer_record(input, position, &mut versions);
            writes.insert(
                dyad_key(record.dyad, record.version),
                serde_json::to_vec(&record)?,
            );
        }
        db.apply_batch(writes)?;
        db.flush()?;
        Ok(())
    })?;
    Ok(db)
}

type KeyValue = (Vec<u8>, Vec<u8>);

/// A dyad's 10 bytes in the keys of store format 3: each code packed into 5 bytes, a letter
/// as 5 bits (`A` = 1), zeros after the last (as `codec.rs` writes them).
fn dyad_bytes(dyad: Dyad) -> Vec<u8> {
    let (first, second) = dyad.parties();
    let mut out = Vec::with_capacity(10);
    for code in [first.as_str(), second.as_str()] {
        let mut packed: u64 = 0;
        for at in 0..8 {
            packed <<= 5;
            if let Some(&letter) = code.as_bytes().get(at) {
                packed |= u64::from(letter - b'A' + 1);
            }
        }
        out.extend_from_slice(&packed.to_be_bytes()[3..]);
    }
    out
}

/// The keys the engine's store writes for one record (store format 3, `docs/architecture.md`):
/// `r` dyad day position -> the record, `I` id -> position, and the record's entry (dyad day)
/// in its batch's run of the position index. The record is its wire JSON (about the size of
/// the engine's encoding); the bytes of the keys are the engine's.
fn layout_keys(record: &RecordedEvent) -> Result<([KeyValue; 2], Vec<u8>), Error> {
    use chrono::Datelike;
    let dyad = dyad_bytes(record.dyad);
    let day = (record.occurred_on.num_days_from_ce() as u32 ^ 0x8000_0000).to_be_bytes();
    let position = record.position.to_be_bytes();
    let place = [dyad.as_slice(), &day].concat();
    Ok((
        [
            (
                [b"r".as_slice(), &place, &position].concat(),
                serde_json::to_vec(record)?,
            ),
            (
                [b"I".as_slice(), record.id.as_str().as_bytes()].concat(),
                position.to_vec(),
            ),
        ],
        place,
    ))
}

/// The floor of the engine's own layout: its log keys for each batch (`r`, `I` per record,
/// one `p` run per chunk, `v` per dyad) written raw in one `apply_batch` of 10,000 + `flush`,
/// the chunks of the engine's import, without checks, chain, caches or anything else of the
/// engine.
fn layout_import(path: &Path, file: &Path, limit: usize) -> Result<sled::Db, Error> {
    let db = sled::open(path)?;
    let log = db.open_tree("log")?;
    let mut versions = HashMap::new();
    let mut position = 0;
    for_each_batch_of(file, IMPORT_CHUNK, limit, |batch, _| {
        let mut writes = sled::Batch::default();
        let mut touched = HashMap::new();
        let mut run = Vec::new();
        let first = position + 1;
        for input in batch {
            position += 1;
            let record = peer_record(input, position, &mut versions);
            let (keys, entry) = layout_keys(&record)?;
            for (key, value) in keys {
                writes.insert(key, value);
            }
            run.extend_from_slice(&entry);
            touched.insert(record.dyad, record.version);
        }
        // The engine cuts runs at 512 positions.
        for (n, chunk) in run.chunks(512 * 14).enumerate() {
            let key = [b"p".as_slice(), &(first + 512 * n as u64).to_be_bytes()].concat();
            writes.insert(key, chunk);
        }
        for (dyad, version) in touched {
            let key = [b"v".as_slice(), &dyad_bytes(dyad)].concat();
            writes.insert(key, &version.to_be_bytes());
        }
        log.apply_batch(writes)?;
        db.flush()?;
        Ok(())
    })?;
    Ok(db)
}

/// What sled costs by the byte rather than by the key: the same records' wire JSON packed
/// 512 consecutive positions to a value (one key per pack, no index), one `apply_batch` of a
/// chunk of 10,000 records + `flush`. Not a store (nothing finds a record by id or dyad in
/// it): the lower bound of a layout that writes few keys.
fn packed_import(path: &Path, file: &Path) -> Result<sled::Db, Error> {
    let db = sled::open(path)?;
    let log = db.open_tree("log")?;
    let mut versions = HashMap::new();
    let mut position = 0u64;
    for_each_batch(file, IMPORT_CHUNK, |batch, _| {
        let mut writes = sled::Batch::default();
        let mut pack = Vec::new();
        let mut first = position + 1;
        for input in batch {
            position += 1;
            serde_json::to_writer(&mut pack, &peer_record(input, position, &mut versions))?;
            pack.push(b'\n');
            if position % 512 == 0 {
                writes.insert(&first.to_be_bytes(), std::mem::take(&mut pack));
                first = position + 1;
            }
        }
        if !pack.is_empty() {
            writes.insert(&first.to_be_bytes(), pack);
        }
        log.apply_batch(writes)?;
        db.flush()?;
        Ok(())
    })?;
    Ok(db)
}

/// Iterate (grouped by dyad by the key order), parse, fold each dyad when the next begins.
fn sled_replay(path: &Path) -> Result<u64, Error> {
    let db = sled::open(path)?;
    let mut applied = 0;
    let mut current: Option<(Vec<u8>, Vec<RecordedEvent>)> = None;
    for entry in db.iter() {
        let (key, value) = entry?;
        let record: RecordedEvent = serde_json::from_slice(&value)?;
        match &mut current {
            Some((dyad, log)) if dyad[..] == key[..7] => log.push(record),
            _ => {
                if let Some((_, log)) = current.take() {
                    applied += state_at(&log, &Query::default()).events_applied;
                }
                current = Some((key[..7].to_vec(), vec![record]));
            }
        }
    }
    if let Some((_, log)) = current {
        applied += state_at(&log, &Query::default()).events_applied;
    }
    Ok(applied)
}

fn sqlite_open(path: &Path) -> Result<rusqlite::Connection, Error> {
    let connection = rusqlite::Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.execute(
        "CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, dyad TEXT NOT NULL,
         version INTEGER NOT NULL, body BLOB NOT NULL, UNIQUE(dyad, version))",
        [],
    )?;
    Ok(connection)
}

fn sqlite_import(path: &Path, file: &Path) -> Result<(), Error> {
    let mut connection = sqlite_open(path)?;
    let mut versions = HashMap::new();
    let mut position = 0;
    for_each_batch(file, BATCH, |batch, _| {
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO events (position, dyad, version, body) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for input in batch {
                position += 1;
                let record = peer_record(input, position, &mut versions);
                insert.execute(rusqlite::params![
                    record.position as i64,
                    record.dyad.to_string(),
                    record.version as i64,
                    serde_json::to_vec(&record)?
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    })?;
    Ok(())
}

fn sqlite_replay(path: &Path) -> Result<u64, Error> {
    let connection = sqlite_open(path)?;
    let mut statement =
        connection.prepare("SELECT dyad, body FROM events ORDER BY dyad, version")?;
    let mut rows = statement.query([])?;
    let mut applied = 0;
    let mut current: Option<(String, Vec<RecordedEvent>)> = None;
    while let Some(row) = rows.next()? {
        let dyad: String = row.get(0)?;
        let body = row.get_ref(1)?.as_blob()?;
        let record: RecordedEvent = serde_json::from_slice(body)?;
        match &mut current {
            Some((current_dyad, log)) if *current_dyad == dyad => log.push(record),
            _ => {
                if let Some((_, log)) = current.take() {
                    applied += state_at(&log, &Query::default()).events_applied;
                }
                current = Some((dyad, vec![record]));
            }
        }
    }
    if let Some((_, log)) = current {
        applied += state_at(&log, &Query::default()).events_applied;
    }
    Ok(applied)
}

struct Row {
    figure: String,
    value: String,
    ratio: String,
    target: String,
    met: Option<bool>,
}

fn row(figure: &str, value: String, ratio: f64, target: &str, met: Option<bool>) -> Row {
    Row {
        figure: figure.to_owned(),
        value,
        ratio: if ratio.is_nan() {
            "".to_owned()
        } else {
            format!("{ratio:.2}×")
        },
        target: target.to_owned(),
        met,
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn us(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

fn per_second(n: usize, duration: Duration) -> String {
    format!(
        "{:.0} events/s ({:.1} s)",
        n as f64 / duration.as_secs_f64(),
        duration.as_secs_f64()
    )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{cores} cores, {cpu}")
}

/// The `as_of` figures of one hot-dyad store: median `as_of` in the middle of the timeline,
/// and the full fold of the dyad (the `known_at` path folds the whole log).
/// The middle date of a dyad's effective timeline.
fn middle_date(engine: &Engine, dyad: Dyad) -> Result<chrono::NaiveDate, Error> {
    let timeline = engine.history(dyad, None, None)?;
    Ok(timeline[timeline.len() / 2].occurred_on)
}

/// `as_of` on the middle date (median of `reps`, after one untimed query) and the full fold.
fn as_of_figures(engine: &Engine, dyad: Dyad, reps: usize) -> Result<(Duration, Duration), Error> {
    let middle = middle_date(engine, dyad)?;
    let query = Query {
        as_of: Some(middle),
        ..Query::default()
    };
    let full = Query {
        as_of: Some(middle),
        known_at: Some(chrono::NaiveDate::MAX),
        ..Query::default()
    };
    let fast = engine.query(dyad, &query)?;
    assert_eq!(
        fast,
        engine.query(dyad, &full)?,
        "as_of differs from the full fold"
    );
    let mut fast_samples = Vec::new();
    for _ in 0..reps.max(5) {
        fast_samples.push(time(|| Ok(engine.query(dyad, &query)?))?.0);
    }
    let mut full_samples = Vec::new();
    for _ in 0..reps {
        full_samples.push(time(|| Ok(engine.query(dyad, &full)?))?.0);
    }
    Ok((median(fast_samples), median(full_samples)))
}

fn main() -> Result<(), Error> {
    run(std::env::args().skip(1))
}

/// The whole benchmark, with the command line's arguments (without the program's name).
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), Error> {
    let options = options(args)?;
    let dir = &options.dir;
    std::fs::create_dir_all(dir)?;
    let mut rows = Vec::new();
    let log = |what: &str| eprintln!("[{:?}] {what}", chrono::Utc::now().time());

    // The workload, as a JSON Lines file.
    let spec = Spec::new(options.events, options.dyads);
    let file = dir.join("workload.jsonl");
    log("generating the workload");
    let raw_bytes = write_workload(&file, Workload::new(spec))?;

    // Durable bulk imports: the engine (streamed, as `detente import`), raw sled, SQLite; and
    // the engine's import of the file's first tenth, for the cost per event as the log grows.
    let n = options.events;
    let tenth = (n / 10).max(1);
    let store = dir.join("engine");
    let (mut engine_t, mut sled_t, mut sqlite_t) = (Vec::new(), Vec::new(), Vec::new());
    let (mut layout_t, mut tenth_t) = (Vec::new(), Vec::new());
    let (mut layout_tenth_t, mut packed_t) = (Vec::new(), Vec::new());
    let mut import_peak_kib = 0;
    for rep in 0..options.import_reps {
        log(&format!(
            "import {rep}: engine, the file's first {tenth} events"
        ));
        let (took, _, recorded) =
            import_measured(&options, &dir.join("engine-tenth"), &file, tenth)?;
        assert_eq!(recorded, tenth as u64);
        tenth_t.push(took);
        log(&format!("import {rep}: engine"));
        let (took, peak, recorded) = import_measured(&options, &store, &file, n)?;
        assert_eq!(recorded, n as u64);
        engine_t.push(took);
        import_peak_kib = import_peak_kib.max(peak);
        log(&format!("import {rep}: sled"));
        let sled_path = dir.join("peer-sled");
        fresh(&sled_path)?;
        sled_t.push(time(|| sled_import(&sled_path, &file).map(drop))?.0);
        log(&format!("import {rep}: sled with the engine's keys"));
        let layout_path = dir.join("floor-sled");
        fresh(&layout_path)?;
        layout_t.push(time(|| layout_import(&layout_path, &file, n).map(drop))?.0);
        let layout_tenth = dir.join("floor-sled-tenth");
        fresh(&layout_tenth)?;
        layout_tenth_t.push(time(|| layout_import(&layout_tenth, &file, tenth).map(drop))?.0);
        log(&format!("import {rep}: sled, records packed 512 to a key"));
        let packed_path = dir.join("floor-packed");
        fresh(&packed_path)?;
        packed_t.push(time(|| packed_import(&packed_path, &file).map(drop))?.0);
        log(&format!("import {rep}: sqlite"));
        let sqlite_path = dir.join("peer.sqlite");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path.display()));
        }
        sqlite_t.push(time(|| sqlite_import(&sqlite_path, &file))?.0);
    }
    let (engine_import, sled_import_t, sqlite_import_t) =
        (median(engine_t), median(sled_t), median(sqlite_t));
    let (layout_import_t, tenth_import) = (median(layout_t), median(tenth_t));
    let (layout_tenth_import, packed_import_t) = (median(layout_tenth_t), median(packed_t));

    // The baseline: the same events' wire-format bytes (the export) parsed from memory, then
    // folded per dyad along the effective timeline.
    log("export for the baseline");
    let engine = Engine::open(&store)?;
    let mut wire = Vec::with_capacity(n * 600);
    for record in engine.log(1) {
        serde_json::to_writer(&mut wire, &record?)?;
        wire.push(b'\n');
    }
    // Equality, once, outside every timed part: the replay gives state_at for every dyad.
    log("checking the replay against state_at");
    let mut checked = 0;
    let mut expected_applied = 0;
    engine.replay_dyads::<BilateralState>(|dyad, state| {
        let log: Vec<RecordedEvent> = engine.stream(dyad).map(|r| r.expect("readable")).collect();
        assert_eq!(state, state_at(&log, &Query::default()), "replay of {dyad}");
        expected_applied += state.events_applied;
        checked += 1;
    })?;
    assert_eq!(checked, engine.stats()?.dyads);
    drop(engine);

    log("baseline, replays");
    let mut baseline_t = Vec::new();
    let mut replay_t = Vec::new();
    let mut sled_replay_t = Vec::new();
    let mut sqlite_replay_t = Vec::new();
    let mut peak_kib = 0;
    for _ in 0..options.reps {
        let (took, applied) = time(|| {
            let mut groups: HashMap<Dyad, Vec<RecordedEvent>> = HashMap::new();
            for line in wire.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let record: RecordedEvent = serde_json::from_slice(line)?;
                groups.entry(record.dyad).or_default().push(record);
            }
            Ok(fold_groups(groups))
        })?;
        assert_eq!(applied, expected_applied);
        baseline_t.push(took);

        let (took, replay_peak_kib, applied) = if options.replay_in_process {
            replay(&store)?
        } else {
            let output = Command::new(std::env::current_exe()?)
                .arg("--replay-child")
                .arg(&store)
                .output()?;
            child_fields(output, "replay child")?
        };
        assert_eq!(applied, expected_applied);
        replay_t.push(took);
        peak_kib = peak_kib.max(replay_peak_kib);

        let (took, applied) = time(|| sled_replay(&dir.join("peer-sled")))?;
        assert_eq!(applied, expected_applied);
        sled_replay_t.push(took);
        let (took, applied) = time(|| sqlite_replay(&dir.join("peer.sqlite")))?;
        assert_eq!(applied, expected_applied);
        sqlite_replay_t.push(took);
    }
    drop(wire);
    let baseline = median(baseline_t);
    let replay = median(replay_t);
    let sled_replay_m = median(sled_replay_t);
    let sqlite_replay_m = median(sqlite_replay_t);

    rows.push(row(
        "baseline: serde_json parse of the wire bytes from memory + fold",
        per_second(n, baseline),
        1.0,
        "",
        None,
    ));
    let ratio = baseline.as_secs_f64() / replay.as_secs_f64();
    rows.push(row(
        "replay: open + read + decode + fold every dyad",
        per_second(n, replay),
        ratio,
        "≥ 1.5× baseline",
        Some(ratio >= 1.5),
    ));
    rows.push(row(
        "peer replay: raw sled, iterate + parse + fold",
        per_second(n, sled_replay_m),
        baseline.as_secs_f64() / sled_replay_m.as_secs_f64(),
        "(vs baseline)",
        None,
    ));
    rows.push(row(
        "peer replay: SQLite, scan + parse + fold",
        per_second(n, sqlite_replay_m),
        baseline.as_secs_f64() / sqlite_replay_m.as_secs_f64(),
        "(vs baseline)",
        None,
    ));
    let vs_sqlite = sqlite_import_t.as_secs_f64() / engine_import.as_secs_f64();
    let vs_sled = sled_import_t.as_secs_f64() / engine_import.as_secs_f64();
    rows.push(row(
        "durable import: engine, streamed as `detente import` (checks, chain, caches), chunks of 10,000",
        per_second(n, engine_import),
        vs_sqlite,
        "≥ 1.0× SQLite",
        Some(vs_sqlite >= 1.0),
    ));
    rows.push(row(
        "  same, against raw sled",
        String::new(),
        vs_sled,
        "",
        None,
    ));
    let flat =
        (n as f64 / engine_import.as_secs_f64()) / (tenth as f64 / tenth_import.as_secs_f64());
    rows.push(row(
        &format!("  events/s of the whole import against the import of the first {tenth}"),
        per_second(tenth, tenth_import),
        flat,
        "≥ 0.8×",
        Some(flat >= 0.8),
    ));
    rows.push(row(
        &format!("    floor: the same for raw sled with the engine's log keys (first {tenth})"),
        per_second(tenth, layout_tenth_import),
        (n as f64 / layout_import_t.as_secs_f64())
            / (tenth as f64 / layout_tenth_import.as_secs_f64()),
        "(sled's own cost as the log grows)",
        None,
    ));
    rows.push(row(
        "  peak memory (VmHWM) of the import process",
        format!("{:.0} MiB", import_peak_kib as f64 / 1024.0),
        import_peak_kib as f64 / 1024.0 / 512.0,
        "≤ 512 MiB",
        Some(import_peak_kib <= 512 * 1024),
    ));
    rows.push(row(
        "peer import: raw sled, apply_batch of 1,000 + flush",
        per_second(n, sled_import_t),
        f64::NAN,
        "",
        None,
    ));
    rows.push(row(
        "  floor: raw sled, the engine's log keys (r, I per record, p per chunk, v per dyad), apply_batch of 10,000 + flush",
        per_second(n, layout_import_t),
        sqlite_import_t.as_secs_f64() / layout_import_t.as_secs_f64(),
        "(against SQLite: the best the layout allows)",
        None,
    ));
    rows.push(row(
        "    the engine's share: floor time / engine time",
        String::new(),
        layout_import_t.as_secs_f64() / engine_import.as_secs_f64(),
        "",
        None,
    ));
    rows.push(row(
        "  floor: raw sled, the records' JSON packed 512 to a key (no index), apply_batch of 10,000 + flush",
        per_second(n, packed_import_t),
        sqlite_import_t.as_secs_f64() / packed_import_t.as_secs_f64(),
        "(against SQLite: a layout of few keys)",
        None,
    ));
    rows.push(row(
        "peer import: SQLite (WAL, synchronous=FULL), transactions of 1,000",
        per_second(n, sqlite_import_t),
        f64::NAN,
        "",
        None,
    ));

    // Open time, disk.
    let mut open_t = Vec::new();
    for _ in 0..options.reps {
        let (took, engine) = time(|| Ok(Engine::open(&store)?))?;
        open_t.push(took);
        drop(engine);
    }
    let open = median(open_t);
    rows.push(row(
        "open of the whole store",
        ms(open),
        open.as_secs_f64() / 0.2,
        "≤ 0.2 s",
        Some(open.as_secs_f64() <= 0.2),
    ));
    rows.push(row(
        "peak memory (VmHWM) of the replay process",
        format!("{:.0} MiB", peak_kib as f64 / 1024.0),
        peak_kib as f64 / 1024.0 / 256.0,
        "≤ 256 MiB",
        Some(peak_kib <= 256 * 1024),
    ));
    let disk = dir_bytes(&store);
    let disk_ratio = disk as f64 / raw_bytes as f64;
    rows.push(row(
        "bytes on disk: engine store / raw JSON Lines",
        format!(
            "{:.0} MiB / {:.0} MiB",
            disk as f64 / 1048576.0,
            raw_bytes as f64 / 1048576.0
        ),
        disk_ratio,
        "≤ 1.5×",
        Some(disk_ratio <= 1.5),
    ));
    let sled_disk = dir_bytes(&dir.join("peer-sled")) as f64 / raw_bytes as f64;
    let sqlite_bytes: u64 = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            std::fs::metadata(format!("{}{suffix}", dir.join("peer.sqlite").display())).ok()
        })
        .map(|meta| meta.len())
        .sum();
    let sqlite_disk = sqlite_bytes as f64 / raw_bytes as f64;
    rows.push(row(
        "  peers: raw sled / raw JSON Lines",
        String::new(),
        sled_disk,
        "",
        None,
    ));
    rows.push(row(
        "  floor: raw sled, the engine's log keys (records as wire JSON) / raw JSON Lines",
        String::new(),
        dir_bytes(&dir.join("floor-sled")) as f64 / raw_bytes as f64,
        "",
        None,
    ));
    rows.push(row(
        "  floor: raw sled, the records' JSON packed 512 to a key / raw JSON Lines",
        String::new(),
        dir_bytes(&dir.join("floor-packed")) as f64 / raw_bytes as f64,
        "",
        None,
    ));
    rows.push(row(
        "  peers: SQLite / raw JSON Lines",
        String::new(),
        sqlite_disk,
        "",
        None,
    ));

    // Single durable records, against a raw sled insert + flush.
    log("single records");
    let engine = Engine::open(&store)?;
    let singles = options.singles;
    let more: Vec<NewEvent> = Workload::new(Spec::new(n + singles as usize, options.dyads))
        .skip(n)
        .map(|line| serde_json::from_str(&line))
        .collect::<Result<_, _>>()?;
    // Steady state: each dyad's fold in memory, as in an engine that has been running. The
    // first use of a dyad after an open loads its stored fold: timed apart, before its record.
    let mut first_t = Vec::new();
    let mut warm: std::collections::HashSet<Dyad> = std::collections::HashSet::new();
    let mut record_t = Vec::new();
    let floor_inputs = more.clone();
    for event in more {
        if warm.insert(event.dyad) {
            first_t.push(time(|| Ok(engine.state(event.dyad)?))?.0);
        }
        record_t.push(time(|| Ok(engine.record(event)?))?.0);
    }
    drop(engine);
    record_t.sort();
    let db = sled::open(dir.join("peer-sled"))?;
    let mut sled_t = Vec::new();
    let value = vec![b'x'; 380];
    for i in 0..singles {
        let key = [b"~single".as_slice(), &i.to_be_bytes()].concat();
        sled_t.push(
            time(|| {
                db.insert(key, value.as_slice())?;
                db.flush()?;
                Ok(())
            })?
            .0,
        );
    }
    drop(db);
    sled_t.sort();
    // The floor of the engine's layout for one record: its four log keys in one apply_batch
    // (atomic, as the engine's append) + flush, on the store of the layout's import.
    let db = sled::open(dir.join("floor-sled"))?;
    let tree = db.open_tree("log")?;
    let mut floor_t = Vec::new();
    let mut versions = HashMap::new();
    for (i, input) in floor_inputs.into_iter().enumerate() {
        let record = peer_record(input, (n + i + 1) as u64, &mut versions);
        let mut writes = sled::Batch::default();
        let (keys, entry) = layout_keys(&record)?;
        for (key, value) in keys {
            writes.insert(key, value);
        }
        let run_key = [b"p".as_slice(), &record.position.to_be_bytes()].concat();
        writes.insert(run_key, entry);
        let version_key = [b"v".as_slice(), &dyad_bytes(record.dyad)].concat();
        writes.insert(version_key, &record.version.to_be_bytes());
        floor_t.push(
            time(|| {
                tree.apply_batch(writes)?;
                db.flush()?;
                Ok(())
            })?
            .0,
        );
    }
    drop(tree);
    drop(db);
    floor_t.sort();
    let (p50, p99) = (percentile(&record_t, 0.5), percentile(&record_t, 0.99));
    let (s50, s99) = (percentile(&sled_t, 0.5), percentile(&sled_t, 0.99));
    let ratio = p50.as_secs_f64() / s50.as_secs_f64();
    rows.push(row(
        "single durable record, dyad in memory, p50 (raw sled insert+flush p50)",
        format!("{} ({})", us(p50), us(s50)),
        ratio,
        "≤ 1.5× raw sled",
        Some(ratio <= 1.5),
    ));
    let f50 = percentile(&floor_t, 0.5);
    rows.push(row(
        "  floor: raw sled apply_batch of one record's 4 log keys + flush, p50 (raw sled insert+flush p50)",
        format!("{} ({})", us(f50), us(s50)),
        f50.as_secs_f64() / s50.as_secs_f64(),
        "(the layout's own cost)",
        None,
    ));
    first_t.sort();
    rows.push(row(
        "  first use of a dyad after open: loading its stored fold, p50 / p99",
        format!(
            "{} / {}",
            us(percentile(&first_t, 0.5)),
            us(percentile(&first_t, 0.99))
        ),
        f64::NAN,
        "(apart from the records)",
        None,
    ));
    rows.push(row(
        "single durable record, p99 (raw sled p99)",
        format!("{} ({})", us(p99), us(s99)),
        p99.as_secs_f64() / s99.as_secs_f64(),
        "",
        None,
    ));

    println!("\n## Figures\n");
    println!(
        "`cargo run --release --example bench_large -- --events {} --dyads {} --hot {} --sweep {} --reps {} --import-reps {}`\n",
        options.events,
        options.dyads,
        options.hot,
        options.sweep,
        options.reps,
        options.import_reps
    );
    println!(
        "Machine: {}. Workload: {} events over {} dyads, {:.0} bytes of JSON each on average.\n",
        machine(),
        n,
        options.dyads,
        raw_bytes as f64 / n as f64
    );
    print_rows(&mut rows);
    // The hot dyad: as_of against the full fold, state warm; then the snapshot spacing sweep.
    let hot_spec = Spec {
        retro_per_mille: 1,
        retract_per_mille: 1,
        ..Spec::new(options.hot, 1)
    };
    let hot_file = dir.join("hot.jsonl");
    write_workload(&hot_file, Workload::new(hot_spec))?;
    let hot_store = dir.join("hot");
    fresh(&hot_store)?;
    log("hot dyad import");
    let (hot, _) = import_with(&hot_store, &hot_file, usize::MAX, Config::default())?;
    let (a, b) = workload::dyad_parties(0);
    let dyad: Dyad = format!("{a}-{b}").parse()?;
    let (as_of, full) = as_of_figures(&hot, dyad, options.reps)?;
    let ratio = full.as_secs_f64() / as_of.as_secs_f64();
    rows.push(row(
        &format!(
            "as_of (middle date) on a dyad of {} events (full fold)",
            options.hot
        ),
        format!("{} ({})", ms(as_of), ms(full)),
        ratio,
        "≥ 100× faster than the full fold",
        Some(ratio >= 100.0),
    ));
    let mut warm = Vec::new();
    for _ in 0..options.reps.max(5) {
        warm.push(time(|| Ok(hot.state(dyad)?))?.0);
    }
    let warm = median(warm);
    rows.push(row(
        "state, warm (full fold)",
        format!("{} ({})", ms(warm), ms(full)),
        full.as_secs_f64() / warm.as_secs_f64(),
        "",
        None,
    ));
    // The first as_of after an open: nothing of the dyad in memory yet.
    let middle = middle_date(&hot, dyad)?;
    drop(hot);
    let mut first = Vec::new();
    for _ in 0..options.reps {
        let engine = Engine::open(&hot_store)?;
        first.push(time(|| Ok(engine.query(dyad, &Query::as_of(middle))?))?.0);
    }
    let first = median(first);
    let ratio = full.as_secs_f64() / first.as_secs_f64();
    rows.push(row(
        "as_of, the first question after an open (full fold)",
        format!("{} ({})", ms(first), ms(full)),
        ratio,
        "≥ 20× faster than the full fold",
        Some(ratio >= 20.0),
    ));
    // What decoding a whole stored state costs, the as_of's own work once its snapshot is
    // read: `state` first after an open decodes the dyad's stored fold (every event of it, where
    // the middle date's snapshot holds about half), folding nothing.
    let mut decode = Vec::new();
    for _ in 0..options.reps {
        let engine = Engine::open(&hot_store)?;
        decode.push(time(|| Ok(engine.state(dyad)?))?.0);
    }
    let decode = median(decode);
    rows.push(row(
        "  floor: state, the first question after an open: the stored fold of the whole dyad decoded, nothing folded (full fold)",
        format!("{} ({})", ms(decode), ms(full)),
        full.as_secs_f64() / decode.as_secs_f64(),
        "(a whole state materialized from the store)",
        None,
    ));

    log("snapshot spacing sweep");
    let sweep_spec = Spec {
        events: options.sweep,
        ..hot_spec
    };
    let sweep_file = dir.join("sweep.jsonl");
    let sweep_raw = write_workload(&sweep_file, Workload::new(sweep_spec))?;
    let mut sweep_rows = Vec::new();
    for every in [64u64, 256, 1024] {
        let path = dir.join(format!("sweep-{every}"));
        fresh(&path)?;
        let config = Config {
            snapshot_every: every,
            ..Config::default()
        };
        let (took, (engine, _)) = time(|| import_with(&path, &sweep_file, usize::MAX, config))?;
        let (as_of, full) = as_of_figures(&engine, dyad, options.reps)?;
        drop(engine);
        let bytes = dir_bytes(&path);
        sweep_rows.push(format!(
            "| {every} | {} | {} | {:.0}× | {:.1} s | {:.0} MiB | {:.2}× |",
            ms(as_of),
            ms(full),
            full.as_secs_f64() / as_of.as_secs_f64(),
            took.as_secs_f64(),
            bytes as f64 / 1048576.0,
            bytes as f64 / sweep_raw as f64
        ));
    }

    println!("\n## The hot dyad\n");
    print_rows(&mut rows);
    println!(
        "\n## Snapshot spacing, one dyad of {} events\n",
        options.sweep
    );
    println!(
        "| `snapshot_every` | `as_of` (middle) | full fold | speed-up | import | disk | disk / raw JSON |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in sweep_rows {
        println!("{r}");
    }
    if let Some(postgres) = &options.postgres {
        bench_postgres::section(postgres, &options, &file)?;
    }
    Ok(())
}

/// Prints the rows as a markdown table of figures against their targets, emptying `rows`.
fn print_rows(rows: &mut Vec<Row>) {
    println!("| figure | value | ratio | target | met? |");
    println!("|---|---|---|---|---|");
    for r in rows.drain(..) {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        println!(
            "| {} | {} | {} | {} | {met} |",
            r.figure, r.value, r.ratio, r.target
        );
    }
}
