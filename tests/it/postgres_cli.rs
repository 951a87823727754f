//! The `detente` binary with `--store postgresql://…` and `$DETENTE_STORE`: every command, an
//! export moved from sled to PostgreSQL and back byte-identical, and the errors of a
//! location (an unknown scheme, a server down) in one line without the password.

use std::path::Path;

use crate::postgres_server::server;
use crate::{Run, run_detente};

#[track_caller]
fn ok(store: &Path, args: &[&str], stdin: &str) -> String {
    let out = run_detente(store, args, stdin.as_bytes());
    assert_eq!(
        out.code, 0,
        "{args:?} failed:\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// One new event, for `record -`.
const EXPELLED: &str = r#"{"id": "expelled-2016", "dyad": "RUS-USA", "occurred_on": "2016-12-29", "sources": [{"name": "TASS", "kind": "news_agency"}], "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 35}}"#;

fn chronology(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/chronologies")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_command_works_with_a_postgresql_store() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("cli");
    let store = Path::new(&url);
    let dir = tempfile::tempdir().unwrap();
    for name in ["serbia-kosovo.jsonl", "armenia-azerbaijan.jsonl"] {
        let file = dir.path().join(name);
        std::fs::write(&file, chronology(name)).unwrap();
        ok(
            store,
            &["import", "--no-progress", file.to_str().unwrap()],
            "",
        );
    }
    ok(store, &["record", "-"], EXPELLED);
    let state = ok(store, &["state", "--dyad", "SRB-XKX"], "");
    assert!(!state.is_empty());
    let state_json = ok(
        store,
        &[
            "--json",
            "state",
            "--dyad",
            "SRB-XKX",
            "--as-of",
            "2015-01-01",
        ],
        "",
    );
    assert!(state_json.trim_start().starts_with('{'), "{state_json}");
    assert!(!ok(store, &["history", "--dyad", "ARM-AZE"], "").is_empty());
    ok(
        store,
        &[
            "diff",
            "--dyad",
            "SRB-XKX",
            "--from",
            "2011-01-01",
            "--to",
            "2020-01-01",
        ],
        "",
    );
    let stats = ok(store, &["stats"], "");
    assert!(
        stats.contains("SRB-XKX") || stats.contains("events"),
        "{stats}"
    );
    ok(store, &["verify"], "");
    let svg = dir.path().join("timeline.svg");
    ok(
        store,
        &[
            "timeline",
            "--dyad",
            "SRB-XKX",
            "--svg",
            svg.to_str().unwrap(),
        ],
        "",
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let export = ok(store, &["export"], "");
    assert_eq!(export.lines().count(), 35 + 36 + 1);

    // The export into sled, and sled's export back into a new database: byte-identical.
    let folder = dir.path().join("sled");
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &export).unwrap();
    ok(
        &folder,
        &["import", "--no-progress", file.to_str().unwrap()],
        "",
    );
    let from_sled = ok(&folder, &["export"], "");
    assert_eq!(from_sled, export);
    let again = server.fresh_database("cli_back");
    std::fs::write(&file, &from_sled).unwrap();
    ok(
        Path::new(&again),
        &["import", "--no-progress", file.to_str().unwrap()],
        "",
    );
    assert_eq!(ok(Path::new(&again), &["export"], ""), export);
}

#[test]
fn the_store_may_be_named_by_detente_store() {
    let Some(server) = server() else { return };
    let url = server.fresh_database("env");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, chronology("serbia-kosovo.jsonl")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_detente"))
        .args(["import", "--no-progress"])
        .arg(&file)
        .env("DETENTE_STORE", &url)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = ok(Path::new(&url), &["export"], "");
    assert_eq!(export.lines().count(), 35);
}

#[track_caller]
fn one_line_error(out: &Run, needle: &str) {
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(needle), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2secret"), "{}", out.stderr);
}

#[test]
fn a_location_that_cannot_be_used_is_one_line_without_the_password() {
    let typo = Path::new("postgress://me:hunter2secret@localhost/talks");
    one_line_error(&run_detente(typo, &["stats"], b""), "`postgress://`");
    let down = Path::new("postgresql://me:hunter2secret@127.0.0.1:1/talks");
    one_line_error(&run_detente(down, &["stats"], b""), "cannot connect");
    one_line_error(
        &run_detente(down, &["record", "-"], EXPELLED.as_bytes()),
        "postgresql://me@127.0.0.1:1/talks",
    );
}
