//! PostgreSQL beside sled in `bench_large` (issue 12, point 7): the section "PostgreSQL" of
//! `docs/performance.md`, measured in the same run as sled's side of each figure.
//!
//! `--postgres auto` starts a throwaway cluster as the tests do (`tests/it/postgres_server.rs`:
//! `initdb` and `pg_ctl` from Debian's `postgresql` package, in a temporary folder, `fsync` and
//! `synchronous_commit` on; or the server that `DETENTE_TEST_POSTGRES` names);
//! `--postgres URL` uses the server at `URL`, as a role that may create databases (each
//! figure gets a database of its own, dropped at the end).
//!
//! The figures, each against sled measured here too: the durable import of the workload
//! (`Engine::record_batch` in batches of 1,000), its replay (`Engine::replay_dyads`, in this
//! process for both), single durable records (`Engine::record`, p50 and p99), and 1, 2 and 4
//! writer processes at once (this program run with `--pg-writer`), each recording single
//! events on dyads of its own into one database: events/s of each and of all, against one
//! writer alone (a sled log has one process: no peer).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use detente::domain::{BilateralState, NewEvent};
use detente::engine::{Config, Engine};

use super::postgres_server;
use super::workload::{self, Spec, Workload};
use super::{
    Error, Options, fresh, import_engine, median, per_second, percentile, print_rows, row, time, us,
};

/// Where the benchmark's databases are made.
enum Server {
    /// The tests' harness: a throwaway cluster, or `DETENTE_TEST_POSTGRES`.
    Harness(&'static postgres_server::Server),
    /// A server named on the command line, by the URL of a database to connect to first.
    Url(String),
}

impl Server {
    fn of(option: &str) -> Result<Server, Error> {
        if option == "auto" {
            return postgres_server::server()
                .map(Server::Harness)
                .ok_or_else(|| "--postgres auto: no PostgreSQL server could be started".into());
        }
        Ok(Server::Url(option.to_owned()))
    }

    /// What it is, without a password.
    fn describe(&self) -> String {
        match self {
            Server::Harness(server) => server.origin.clone(),
            Server::Url(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    format!("{}…{}", &url[..scheme + 3], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }

    /// A new, empty database, by its URL.
    fn fresh_database(&self, hint: &str) -> Result<String, Error> {
        match self {
            Server::Harness(server) => Ok(server.fresh_database(hint)),
            Server::Url(url) => {
                let name = format!("detente_bench_{hint}_{}", std::process::id());
                let mut client = postgres::Client::connect(url, postgres::NoTls)?;
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
                client.batch_execute(&format!("CREATE DATABASE {name}"))?;
                Ok(with_database(url, &name))
            }
        }
    }

    /// Drops a database made by [`Server::fresh_database`] (the harness's cluster goes with
    /// this process).
    fn drop_database(&self, database_url: &str) -> Result<(), Error> {
        if let Server::Url(url) = self {
            let name = database_url
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .split('?')
                .next()
                .unwrap_or_default();
            let mut client = postgres::Client::connect(url, postgres::NoTls)?;
            client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        }
        Ok(())
    }
}

/// `url` with its database replaced by `name` (its query, `?sslmode=…`, kept).
fn with_database(url: &str, name: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = url.find("://").map_or(0, |at| at + 3);
    let host_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |at| scheme_end + at);
    format!("{}/{name}{query}", &url[..host_end])
}

/// The child of the writers' figure: `INDEX:COUNT:URL`. Opens an engine on `URL`, records one
/// event to warm up, says `READY`, waits for a line on its input, records `COUNT` single
/// events on a dyad of its own, and says `DONE nanoseconds`.
pub fn writer_child(spec: &str) -> Result<(), Error> {
    let mut parts = spec.splitn(3, ':');
    let (Some(index), Some(count), Some(url)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("--pg-writer {spec}: INDEX:COUNT:URL").into());
    };
    let (index, count): (usize, usize) = (index.parse()?, count.parse()?);
    let engine = Engine::open(Path::new(url))?;
    let events = writer_events(index, count + 1)?;
    let mut events = events.into_iter();
    if let Some(first) = events.next() {
        engine.record(first)?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY")?;
    out.flush()?;
    let mut go = String::new();
    std::io::stdin().read_line(&mut go)?;
    let started = Instant::now();
    for event in events {
        engine.record(event)?;
    }
    writeln!(out, "DONE {}", started.elapsed().as_nanos())?;
    Ok(())
}

/// `DiplomatsExpelled` events (valid in any number and order) on the `index`-th dyad.
fn writer_events(index: usize, count: usize) -> Result<Vec<NewEvent>, Error> {
    let (a, b) = workload::dyad_parties(index);
    (0..count)
        .map(|k| {
            let line = format!(
                r#"{{"id":"writer-{index}-{k}","dyad":"{a}-{b}","occurred_on":"2020-01-01","event":{{"type":"DiplomatsExpelled","expelled_by":"{a}","count":{}}}}}"#,
                1 + k
            );
            Ok(serde_json::from_str(&line)?)
        })
        .collect()
}

/// `writers` processes at once on one fresh database, `count` records each: the seconds of
/// each, as each measured itself between the start signal and its last acknowledgement.
fn writers_at_once(
    server: &Server,
    writers: usize,
    count: usize,
    in_process: bool,
) -> Result<Vec<Duration>, Error> {
    let url = server.fresh_database(&format!("writers{writers}"))?;
    if in_process {
        // The test that runs this example cannot start it as a child: threads stand in.
        let engines: Vec<Engine> = (0..writers)
            .map(|_| Engine::open(Path::new(&url)))
            .collect::<Result<_, _>>()?;
        let took = std::thread::scope(|scope| {
            let handles: Vec<_> = engines
                .iter()
                .enumerate()
                .map(|(index, engine)| {
                    scope.spawn(move || -> Result<Duration, String> {
                        let events = writer_events(index, count).map_err(|e| e.to_string())?;
                        let started = Instant::now();
                        for event in events {
                            engine.record(event).map_err(|e| e.to_string())?;
                        }
                        Ok(started.elapsed())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().map_err(|_| "a writer panicked".to_owned())?)
                .collect::<Result<Vec<_>, String>>()
        })?;
        server.drop_database(&url)?;
        return Ok(took);
    }
    let mut children = Vec::new();
    for index in 0..writers {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--pg-writer")
            .arg(format!("{index}:{count}:{url}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no output")?).lines();
        match lines.next() {
            Some(Ok(line)) if line == "READY" => {}
            other => return Err(format!("a writer said {other:?}").into()),
        }
        children.push((child, lines));
    }
    for (child, _) in &mut children {
        writeln!(child.stdin.as_mut().ok_or("no input")?, "GO")?;
    }
    let mut took = Vec::new();
    for (mut child, mut lines) in children {
        let line = lines.next().ok_or("a writer said nothing")??;
        let nanos: u64 = line
            .strip_prefix("DONE ")
            .ok_or_else(|| format!("a writer said {line:?}"))?
            .parse()?;
        took.push(Duration::from_nanos(nanos));
        if !child.wait()?.success() {
            return Err("a writer failed".into());
        }
    }
    let engine = Engine::open(Path::new(&url))?;
    let stored = engine.head().position as usize;
    if stored != writers * (count + 1) {
        return Err(format!("{stored} events stored, {} recorded", writers * (count + 1)).into());
    }
    engine.verify()?;
    drop(engine);
    server.drop_database(&url)?;
    Ok(took)
}

/// One engine's side of the figures: import, replay, single records.
struct Side {
    import: Duration,
    replay: Duration,
    p50: Duration,
    p99: Duration,
}

fn side(
    store: &Path,
    file: &Path,
    n: usize,
    dyads: usize,
    reps: usize,
    singles: u64,
) -> Result<Side, Error> {
    let (import, engine) = time(|| import_engine(store, file, Config::default()))?;
    drop(engine);
    let mut replays = Vec::new();
    let mut applied_each = None;
    for _ in 0..reps {
        let (took, applied) = time(|| {
            let engine = Engine::open(store)?;
            let mut applied = 0u64;
            engine.replay_dyads::<BilateralState>(|_, state| applied += state.events_applied)?;
            Ok(applied)
        })?;
        if *applied_each.get_or_insert(applied) != applied {
            return Err("two replays applied different numbers of events".into());
        }
        replays.push(took);
    }
    let engine = Engine::open(store)?;
    let more: Vec<NewEvent> = Workload::new(Spec::new(n + singles as usize, dyads))
        .skip(n)
        .map(|line| serde_json::from_str(&line))
        .collect::<Result<_, _>>()?;
    let mut records = Vec::new();
    for event in more {
        // Steady state, as in the sled figures: the dyad's fold in memory before its record.
        engine.state(event.dyad)?;
        records.push(time(|| Ok(engine.record(event)?))?.0);
    }
    records.sort();
    Ok(Side {
        import,
        replay: median(replays),
        p50: percentile(&records, 0.5),
        p99: percentile(&records, 0.99),
    })
}

/// The section "PostgreSQL", printed: PostgreSQL's value of each figure, and its ratio to
/// sled's (or to one writer's), for `--postgres OPTION`.
pub fn section(option: &str, options: &Options, file: &Path) -> Result<(), Error> {
    let (dir, n, dyads) = (&options.dir, options.events, options.dyads);
    let (reps, singles) = (options.reps, options.singles);
    let (writer_events, in_process) = (options.pg_writer_events, options.replay_in_process);
    let log = |what: &str| eprintln!("[{:?}] postgres: {what}", chrono::Utc::now().time());
    let server = Server::of(option)?;
    log("sled's side");
    let sled_store = dir.join("pg-peer-sled-engine");
    fresh(&sled_store)?;
    let sled = side(&sled_store, file, n, dyads, reps, singles)?;
    log("PostgreSQL's side");
    let url = server.fresh_database("import")?;
    let pg = side(Path::new(&url), file, n, dyads, reps, singles)?;
    Engine::open(Path::new(&url))?.verify()?;
    server.drop_database(&url)?;

    let mut rows = vec![
        row(
            "durable import, batches of 1,000: PostgreSQL (sled)",
            format!(
                "{} ({})",
                per_second(n, pg.import),
                per_second(n, sled.import)
            ),
            sled.import.as_secs_f64() / pg.import.as_secs_f64(),
            "(PostgreSQL / sled, > 1: faster)",
            None,
        ),
        row(
            "replay, open + every dyad folded, in this process: PostgreSQL (sled)",
            format!(
                "{} ({})",
                per_second(n, pg.replay),
                per_second(n, sled.replay)
            ),
            sled.replay.as_secs_f64() / pg.replay.as_secs_f64(),
            "(PostgreSQL / sled, > 1: faster)",
            None,
        ),
        row(
            "single durable record, p50: PostgreSQL (sled)",
            format!("{} ({})", us(pg.p50), us(sled.p50)),
            pg.p50.as_secs_f64() / sled.p50.as_secs_f64(),
            "(PostgreSQL / sled, < 1: faster)",
            None,
        ),
        row(
            "single durable record, p99: PostgreSQL (sled)",
            format!("{} ({})", us(pg.p99), us(sled.p99)),
            pg.p99.as_secs_f64() / sled.p99.as_secs_f64(),
            "(PostgreSQL / sled, < 1: faster)",
            None,
        ),
    ];
    let mut alone = f64::NAN;
    for writers in [1, 2, 4] {
        log(&format!("{writers} writers at once"));
        let took = writers_at_once(&server, writers, writer_events, in_process)?;
        let each: Vec<f64> = took
            .iter()
            .map(|t| writer_events as f64 / t.as_secs_f64())
            .collect();
        let longest = took.iter().max().copied().unwrap_or_default();
        let all = (writers * writer_events) as f64 / longest.as_secs_f64();
        if writers == 1 {
            alone = all;
        }
        let each_text = each
            .iter()
            .map(|rate| format!("{rate:.0}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(row(
            &format!("{writers} writer process(es) at once, single records on a dyad each"),
            format!("{each_text} events/s each; {all:.0} events/s in all"),
            all / alone,
            "(all / one writer alone)",
            None,
        ));
    }
    println!("\n## PostgreSQL\n");
    println!(
        "`--postgres {option} --pg-writer-events {writer_events}`; server: {}.\n",
        server.describe()
    );
    print_rows(&mut rows);
    Ok(())
}
