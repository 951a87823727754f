//! The engine and the store on PostgreSQL: what only a shared log shows (two engines on one
//! database, subscriptions across them, a batch computed over a head that moved), the moves of
//! a log between sled and PostgreSQL, and the errors of a location (a server down, a database
//! missing, an unknown scheme, a newer format), none naming a password.

use std::path::Path;
use std::time::Duration;

use detente::domain::{Dyad, NewEvent, RecordedEvent};
use detente::engine::{Config, Engine, EngineError};
use detente::scenario::{istanbul_2025, istanbul_2025_followups};
use detente::store::{AppendOptions, ExpectedVersion, OpenMode, Store, StoreConfig, StoreError};

use crate::postgres_server::server;
use crate::store::event;

fn dyad(text: &str) -> Dyad {
    text.parse().unwrap()
}

fn log(engine: &Engine) -> Vec<RecordedEvent> {
    engine.log(1).collect::<Result<_, _>>().unwrap()
}

#[test]
fn two_engines_on_one_database_answer_with_each_others_records() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("two_engines");
    let first = Engine::open(&url).unwrap();
    let second = Engine::open(&url).unwrap();
    let mut feed = second.subscribe();
    first.record_batch(istanbul_2025()).unwrap();
    let rus_usa = dyad("RUS-USA");
    // The second engine's caches catch up before it answers.
    assert_eq!(second.head(), first.head());
    assert_eq!(
        second.state(rus_usa).unwrap(),
        first.state(rus_usa).unwrap()
    );
    assert_eq!(
        second.history(rus_usa, None, None).unwrap(),
        first.history(rus_usa, None, None).unwrap()
    );
    // The second records on top of the first's records: its plan saw them.
    second.record_batch(istanbul_2025_followups()).unwrap();
    assert_eq!(
        first.state(rus_usa).unwrap(),
        second.state(rus_usa).unwrap()
    );
    let records = log(&first);
    assert_eq!(
        records.iter().map(|r| r.position).collect::<Vec<_>>(),
        (1..=records.len() as u64).collect::<Vec<_>>()
    );
    // The subscription of the second saw every append, the first's too, in position order.
    let mut seen = Vec::new();
    while let Some(record) = feed.next_timeout(Duration::from_millis(200)).unwrap() {
        seen.push(record);
    }
    assert_eq!(seen, records);
    first.verify().unwrap();
    second.verify().unwrap();
}

#[test]
fn a_subscription_waiting_on_postgres_sees_another_engines_append() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("subscription");
    let reader = Engine::open(&url).unwrap();
    let mut feed = reader.subscribe();
    let writer_url = url.clone();
    let writing = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        Engine::open(&writer_url)
            .unwrap()
            .record_batch(istanbul_2025())
            .unwrap()
    });
    let first = feed.next_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(first.map(|r| r.position), Some(1));
    let written = writing.join().unwrap();
    assert_eq!(reader.head().position, written.len() as u64);
}

#[test]
fn a_batch_over_a_head_that_moved_is_computed_again_and_a_stale_expectation_conflicts() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("moved");
    let first = Store::open_postgres(&url, StoreConfig::default()).unwrap();
    let second = Store::open_postgres(&url, StoreConfig::default()).unwrap();
    first
        .append(vec![event("a", "RUS-USA", 1)], &AppendOptions::default())
        .unwrap();
    // The second store's head is stale (0): its append lands after the first's.
    let appended = second
        .append(vec![event("b", "RUS-USA", 2)], &AppendOptions::default())
        .unwrap();
    assert_eq!(
        (appended[0].record.position, appended[0].record.version),
        (2, 2)
    );
    assert_eq!(
        appended[0].record.hash,
        appended[0]
            .record
            .chain_hash(&first.get_position(1).unwrap().unwrap().hash)
    );
    // An id the other store appended is returned as stored, not stored again.
    let again = first
        .append(vec![event("b", "RUS-USA", 2)], &AppendOptions::default())
        .unwrap();
    assert!(!again[0].stored);
    assert_eq!(again[0].record.position, 2);
    // A stale expectation is a conflict, against the version another store made.
    let mut options = AppendOptions::default();
    options
        .expected
        .insert(dyad("RUS-USA"), ExpectedVersion::Exact(1));
    let err = first
        .append(vec![event("c", "RUS-USA", 3)], &options)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 2, .. }),
        "{err:?}"
    );
    assert_eq!(first.verify().unwrap().position, 2);
}

#[test]
fn many_threads_with_stores_of_their_own_append_gap_free() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("threads");
    drop(Store::open_postgres(&url, StoreConfig::default()).unwrap());
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store = Store::open_postgres(&url, StoreConfig::default()).unwrap();
                for n in 0..10 {
                    let dyad = ["RUS-USA", "GBR-RUS"][n % 2];
                    store
                        .append(
                            vec![event(&format!("w{writer}-{n}"), dyad, n as u32 + 1)],
                            &AppendOptions::default(),
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let store = Store::open_postgres(&url, StoreConfig::default()).unwrap();
    let records: Vec<RecordedEvent> = store.read_log(1).collect::<Result<_, _>>().unwrap();
    assert_eq!(
        records.iter().map(|r| r.position).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    assert_eq!(store.verify().unwrap().position, 40);
    assert_eq!(
        store.dyads().unwrap(),
        vec![(dyad("GBR-RUS"), 20), (dyad("RUS-USA"), 20)]
    );
}

#[test]
fn two_first_writers_creating_the_tables_at_once_do_not_collide() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("first_writers");
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Store::open_postgres(&url, StoreConfig::default()).map(drop))
        })
        .collect();
    for open in opens {
        open.join().unwrap().unwrap();
    }
}

/// The export of an engine, as `detente export` writes it: one JSON record a line.
fn export(engine: &Engine) -> String {
    log(engine)
        .iter()
        .map(|record| serde_json::to_string(record).unwrap() + "\n")
        .collect()
}

#[test]
fn a_sled_export_imported_into_postgres_exports_byte_identical_and_back() {
    let Some(server) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sled = Engine::open(dir.path().join("sled")).unwrap();
    sled.record_batch(istanbul_2025()).unwrap();
    sled.record_batch(istanbul_2025_followups()).unwrap();
    let url = server.fresh_database("roundtrip");
    let postgres = Engine::open(&url).unwrap();
    postgres.restore(log(&sled)).unwrap();
    assert_eq!(export(&postgres), export(&sled));
    assert_eq!(postgres.head(), sled.head());
    postgres.verify().unwrap();
    // And back: PostgreSQL's export into a new sled store.
    let back = Engine::open(dir.path().join("back")).unwrap();
    back.restore(log(&postgres)).unwrap();
    assert_eq!(export(&back), export(&sled));
    let rus_usa = dyad("RUS-USA");
    assert_eq!(
        postgres.state(rus_usa).unwrap(),
        sled.state(rus_usa).unwrap()
    );
}

#[test]
fn a_reader_of_a_database_without_tables_is_told_no_store_and_creates_nothing() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("reader");
    let existing = Config {
        open: OpenMode::Existing,
        ..Config::default()
    };
    let err = Engine::open_with(&url, existing.clone()).err().unwrap();
    assert!(
        matches!(err, EngineError::Store(StoreError::NoStore { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("holds no detente tables"), "{err}");
    drop(Engine::open(&url).unwrap());
    assert_eq!(
        Engine::open_with(&url, existing).unwrap().head().position,
        0
    );
}

#[test]
fn a_database_of_a_newer_format_is_refused() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("newer");
    drop(Store::open_postgres(&url, StoreConfig::default()).unwrap());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute("UPDATE detente_meta SET value = 99 WHERE key = 'format'")
        .unwrap();
    let err = Store::open_postgres(&url, StoreConfig::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerFormat { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade detente"), "{err}");
}

/// `url` with `password` put in as its user's password.
fn with_password(url: &str, password: &str) -> String {
    url.replacen("postgres@", &format!("postgres:{password}@"), 1)
}

#[test]
fn a_missing_database_is_one_line_naming_it_without_the_password() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("missing");
    let (base, _) = url.rsplit_once('/').unwrap();
    let missing = with_password(&format!("{base}/no_such_database"), "hunter2secret");
    let err = Engine::open(&missing).err().unwrap();
    let message = err.to_string();
    assert!(!message.contains("hunter2secret"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("no_such_database"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn a_server_that_is_down_is_a_clear_error_within_the_timeout() {
    // Nothing listens on port 1 of loopback.
    let started = std::time::Instant::now();
    let err = Engine::open("postgresql://me:hunter2secret@127.0.0.1:1/talks")
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        message.starts_with("store postgresql://me@127.0.0.1:1/talks: cannot connect"),
        "{message}"
    );
    assert!(!message.contains("hunter2secret"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    // An address that drops packets: the connect timeout of the URL holds.
    let started = std::time::Instant::now();
    let err = Engine::open("postgresql://me@10.255.255.1:5432/talks?connect_timeout=1")
        .err()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
}

#[test]
fn an_unknown_scheme_is_refused_never_taken_as_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let typo = format!(
        "postgress://me:hunter2secret@{}/talks",
        dir.path().display()
    );
    let err = Engine::open(&typo).err().unwrap();
    let message = err.to_string();
    assert!(message.contains("`postgress://`"), "{message}");
    assert!(!message.contains("hunter2secret"), "{message}");
    assert!(!Path::new("postgress:").exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_engine_on_postgres_answers_as_on_sled_after_a_reopen() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("reopen");
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<NewEvent> = istanbul_2025()
        .into_iter()
        .chain(istanbul_2025_followups())
        .collect();
    let sled = Engine::open(dir.path()).unwrap();
    let postgres = Engine::open(&url).unwrap();
    for input in &inputs {
        let on_sled = sled.record(input.clone()).map(|a| a.record.position).ok();
        let on_postgres = postgres
            .record(input.clone())
            .map(|a| a.record.position)
            .ok();
        assert_eq!(on_postgres, on_sled, "{input:?}");
    }
    drop(postgres);
    let postgres = Engine::open(&url).unwrap();
    let rus_usa = dyad("RUS-USA");
    assert_eq!(
        postgres.state(rus_usa).unwrap(),
        sled.state(rus_usa).unwrap()
    );
    let as_of = detente::domain::Query {
        as_of: Some("2025-02-28".parse().unwrap()),
        ..Default::default()
    };
    assert_eq!(
        postgres.query(rus_usa, &as_of).unwrap(),
        sled.query(rus_usa, &as_of).unwrap()
    );
    assert_eq!(
        postgres.verify().unwrap().events,
        sled.verify().unwrap().events
    );
}

#[test]
fn a_url_that_asks_for_tls_gets_tls_or_a_clear_error() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("tls");
    // The test cluster takes no TLS: a URL that requires it is refused in one line, not
    // quietly served in the clear.
    let required = format!("{url}?sslmode=require");
    let err = Engine::open(&required).err().unwrap();
    let message = err.to_string();
    assert!(message.contains("cannot connect"), "{message}");
    assert!(message.contains("TLS"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    // A root certificate file that is not there is named.
    let missing = format!("{url}?sslmode=require&sslrootcert=/no/such/root.pem");
    let err = Engine::open(&missing).err().unwrap();
    assert!(err.to_string().contains("/no/such/root.pem"), "{err}");
    // Without sslmode, as libpq's default `prefer` does here, plain.
    assert_eq!(Engine::open(&url).unwrap().head().position, 0);
}
