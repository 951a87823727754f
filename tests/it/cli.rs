//! The `detente` binary as users run it: every command, every documented error, exit codes,
//! and the store left exactly as it was after a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use detente::engine::Engine;
use detente::scenario::{istanbul_2025, istanbul_2025_followups};
use serde_json::Value;

use crate::Run as Output;

/// Runs the built binary with `args` against `store`, feeding `stdin`.
fn detente(store: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    crate::run_detente(store, args, stdin.unwrap_or("").as_bytes())
}

/// Runs and expects success.
#[track_caller]
fn ok(store: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = detente(store, args, stdin);
    assert_eq!(
        out.code, 0,
        "{args:?} failed:\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// What a store holds, as its export; empty when there is no store.
fn contents(store: &Path) -> String {
    let vacant = std::fs::read_dir(store).map_or(true, |mut d| d.next().is_none());
    if vacant {
        return String::new();
    }
    ok(store, &["export"], None)
}

/// Runs and expects exit `code` with `needle` in the message, and the store unchanged.
#[track_caller]
fn fails(store: &Path, args: &[&str], stdin: Option<&str>, code: i32, needle: &str) {
    let before = contents(store);
    let out = detente(store, args, stdin);
    assert_eq!(
        out.code, code,
        "{args:?}: expected exit {code}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "{args:?}: expected {needle:?} in stderr: {}",
        out.stderr
    );
    if code == 1 {
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    }
    assert_eq!(contents(store), before, "{args:?} changed the store");
}

/// A temporary directory and a store path inside it, holding the Istanbul scenario (and its
/// follow-ups, where asked), recorded through the library.
fn seeded(followups: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    let engine = Engine::open(&store).expect("the store opens");
    engine
        .record_batch(istanbul_2025())
        .expect("the scenario records");
    if followups {
        engine
            .record_batch(istanbul_2025_followups())
            .expect("the follow-ups record");
    }
    drop(engine);
    (dir, store)
}

fn empty() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    (dir, store)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

const EXPELLED: &str = r#"{"id": "e1", "dyad": "RUS-USA", "occurred_on": "2018-03-26",
  "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": 60}}"#;

#[test]
fn demo_tells_the_istanbul_story() {
    let (_dir, store) = empty();
    let out = ok(&store, &["demo"], None);
    for needle in [
        "Istanbul (TUR)",
        "heads: Alexander Darchiev (RUS), Sonata Coulter (USA)",
        "\"illegally seized\"",
        "mission-financing",
        "95 diplomats",
        "as known on 2025-02-28",
    ] {
        assert!(out.contains(needle), "{needle:?} in {out}");
    }
    // The demo kept that store; a second demo into it is refused.
    fails(&store, &["demo"], None, 1, "is not empty");
    let kept = ok(&store, &["stats", "--json"], None);
    assert_eq!(json(&kept)["events"], 16);

    // Without --store the demo uses a temporary store, whatever $DETENTE_STORE says.
    let (dir, _) = empty();
    let out = Command::new(env!("CARGO_BIN_EXE_detente"))
        .args(["demo", "--json"])
        .env("DETENTE_STORE", dir.path().join("mine"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let value = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(value["store"], Value::Null);
    assert_eq!(value["recorded"], 16);
    assert_eq!(value["state"]["events_applied"], 15);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the demo left files behind"
    );
}

#[test]
fn record_from_a_file_and_from_stdin_is_idempotent() {
    let (dir, store) = empty();
    let file = dir.path().join("event.json");
    std::fs::write(&file, EXPELLED).unwrap();
    let out = ok(&store, &["record", file.to_str().unwrap()], None);
    assert!(out.contains("recorded `e1` at position 1"), "{out}");
    let out = ok(&store, &["record"], Some(EXPELLED));
    assert!(out.contains("already recorded at position 1"), "{out}");
    let value = json(&ok(&store, &["record", "-", "--json"], Some(EXPELLED)));
    assert_eq!(value["position"], 1);
    assert_eq!(value["version"], 1);
    assert_eq!(value["stored"], false);
    assert_eq!(value["id"], "e1");
}

#[test]
fn record_refuses_bad_events_and_leaves_the_store_alone() {
    let (_dir, store) = seeded(false);
    let record = |text: &str, needle: &str| fails(&store, &["record"], Some(text), 1, needle);
    record(
        "{\n  \"dyad\": \"RUS-USA\",\n  \"occurred_on\": 2025-03-01\n}",
        "line 3",
    );
    record(
        r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "event": {"type": "Teleported"}}"#,
        "unknown variant `Teleported`",
    );
    record(
        r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "foo": 1, "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": 1}}"#,
        "unknown field `foo`",
    );
    record(
        r#"{"dyad": "RUSUSA", "occurred_on": "2025-03-01", "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": 1}}"#,
        "dyad `RUSUSA` is malformed",
    );
    record(
        r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "event": {"type": "DiplomatsExpelled", "expelled_by": "CHN", "count": 1}}"#,
        "party CHN is outside the dyad RUS-USA",
    );
    record(
        r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "event": {"type": "StepProgressed", "step": "never-agreed", "stage": "implemented"}}"#,
        "step `never-agreed` does not exist",
    );
    record(
        r#"{"id": "istanbul-2025-talks", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": 1}}"#,
        "id `istanbul-2025-talks` is already recorded at position 9 with other content",
    );
    record(
        r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "event": {"type": "EventRetracted", "target": "no-such-event", "reason": "test"}}"#,
        "event `no-such-event` is not recorded in dyad RUS-USA",
    );
    record(
        r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "reported_on": "2025-02-01", "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": 1}}"#,
        "is before occurred_on",
    );
    record(
        r#"{"dyad": "RUS-USA", "occurred_on": "2025-3-1", "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": 1}}"#,
        "expected `YYYY-MM-DD`",
    );
}

/// Every read command, with the arguments it needs.
const READ_COMMANDS: [&[&str]; 7] = [
    &["state", "--dyad", "RUS-USA"],
    &["history", "--dyad", "RUS-USA"],
    &[
        "diff",
        "--dyad",
        "RUS-USA",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-01",
    ],
    &["export"],
    &["verify"],
    &["stats"],
    &["timeline", "--dyad", "RUS-USA", "--svg", "-"],
];

/// The names of the entries of a directory, sorted (empty when it is absent).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn read_commands_need_a_store_and_never_create_one() {
    let (dir, absent) = empty();
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let foreign = dir.path().join("papers");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join(".keep"), b"").unwrap();
    std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a store").unwrap();
    #[track_caller]
    fn check(path: &Path, needle: &str) {
        let before = entries(path);
        for args in READ_COMMANDS {
            let out = detente(path, args, None);
            assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
            assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(&path.display().to_string()),
                "{args:?}: the error does not name the path: {}",
                out.stderr
            );
            assert_eq!(entries(path), before, "{args:?} wrote into {path:?}");
        }
    }
    check(&absent, "no store at");
    assert!(!absent.exists());
    check(&absent, "the path does not exist");
    check(&empty_dir, "the directory is empty");
    check(
        &foreign,
        "is not a detente store: the directory holds `.keep`, `notes.txt`, and none of a store's files",
    );
    check(&file, "is not a detente store: it is a file");
    assert_eq!(std::fs::read(&file).unwrap(), b"not a store");
}

/// A store's `log` and `meta` trees, every key and value, read behind the store's back.
fn trees(store: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = sled::open(store).unwrap();
    let mut all = Vec::new();
    for name in ["log", "meta"] {
        for entry in db.open_tree(name).unwrap().iter() {
            let (key, value) = entry.unwrap();
            all.push(([name.as_bytes(), &key].concat(), value.to_vec()));
        }
    }
    all
}

#[test]
fn read_commands_change_no_event_index_or_format_of_a_store() {
    let (_dir, store) = seeded(true);
    let before = trees(&store);
    for args in READ_COMMANDS {
        let out = detente(&store, args, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        // No migration: nothing to say on stderr.
        assert_eq!(out.stderr, "", "{args:?}");
        assert!(
            before == trees(&store),
            "{args:?} changed the log or meta tree"
        );
    }
}

#[test]
fn a_migration_on_open_is_said_on_stderr() {
    let (dir, _) = empty();
    let store = dir.path().join("v1");
    crate::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1"),
        &store,
    );
    let out = detente(&store, &["stats"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("was migrated from format 1 to format 3"),
        "{}",
        out.stderr
    );
    // Once migrated, there is nothing more to say.
    let out = detente(&store, &["stats"], None);
    assert_eq!(out.stderr, "");
}

/// An import killed before it finished leaves its mark in the log; the next command's open
/// rolls it back and says so, once.
#[test]
fn the_roll_back_of_an_unfinished_import_on_open_is_said_on_stderr() {
    let (dir, _) = empty();
    let store = dir.path().join("killed");
    {
        let log =
            detente::store::Store::open(&store, detente::store::StoreConfig::default()).unwrap();
        let event: detente::domain::NewEvent = serde_json::from_str(
            r#"{"id":"half","dyad":"RUS-USA","occurred_on":"2016-12-29","event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}}"#,
        )
        .unwrap();
        log.append_unfinished(vec![event], &detente::store::AppendOptions::default())
            .unwrap();
        // Dropped unfinished, as a killed import leaves it.
    }
    let out = detente(&store, &["stats"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "held an import that did not finish: its 1 events after position 0 were rolled back"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("events   0"), "{}", out.stdout);
    let out = detente(&store, &["stats"], None);
    assert_eq!(out.stderr, "");
}

#[test]
fn a_refused_write_leaves_no_trace() {
    let (dir, _) = empty();
    let refused = r#"{"dyad": "ARM-AZE", "occurred_on": "2024-01-01", "event": {"type": "IrritantResolved", "irritant": "none"}}"#;
    let import = dir.path().join("refused.jsonl");
    std::fs::write(&import, format!("{refused}\n")).unwrap();
    let import = import.to_str().unwrap();
    #[track_caller]
    fn check(store: &Path, args: &[&str], stdin: Option<&str>, needle: &str) {
        let out = detente(store, args, stdin);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
    // Into an absent path (nested too): nothing is created.
    let absent = dir.path().join("a/b/store");
    check(
        &absent,
        &["record"],
        Some(refused),
        "does not exist on 2024-01-01",
    );
    assert!(!dir.path().join("a").exists());
    check(&absent, &["import", import], None, "line 1");
    assert!(!dir.path().join("a").exists());
    // Into an empty directory: it stays empty.
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    check(&empty_dir, &["record"], Some(refused), "does not exist");
    check(&empty_dir, &["import", import], None, "line 1");
    assert_eq!(entries(&empty_dir), Vec::<String>::new());
    // Into a directory of the user's files: refused before anything is written there.
    let foreign = dir.path().join("papers");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
    check(
        &foreign,
        &["record"],
        Some(EXPELLED),
        "is not a detente store",
    );
    check(
        &foreign,
        &["import", import],
        None,
        "is not a detente store",
    );
    assert_eq!(entries(&foreign), vec!["notes.txt".to_owned()]);
    // A write that succeeds into an absent path keeps its store.
    ok(&absent, &["record"], Some(EXPELLED));
    assert!(absent.exists());
}

#[test]
fn a_store_in_use_is_a_clear_error() {
    let (_dir, store) = seeded(false);
    let before = contents(&store);
    let holder = Engine::open(&store).expect("the test holds the store");
    for args in [
        &["state", "--dyad", "RUS-USA"][..],
        &["record"],
        &["verify"],
    ] {
        let out = detente(&store, args, Some(EXPELLED));
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: ") && out.stderr.contains("in use by another process"),
            "{}",
            out.stderr
        );
    }
    drop(holder);
    assert_eq!(contents(&store), before);
}

#[test]
fn usage_errors_exit_with_2() {
    let (_dir, store) = seeded(false);
    fails(
        &store,
        &["state", "--dyad", "RUS-USA", "--as-of", "yesterday"],
        None,
        2,
        "is not an ISO date",
    );
    fails(
        &store,
        &["state", "--dyad", "RUS-USA", "--as-of", "2025-02-30"],
        None,
        2,
        "does not exist",
    );
    fails(
        &store,
        &["state", "--dyad", "RUS-XXX"],
        None,
        2,
        "party `XXX` is not in the registry",
    );
    fails(
        &store,
        &[
            "history",
            "--dyad",
            "RUS-USA",
            "--on",
            "2025-02-27",
            "--to",
            "2025-03-01",
        ],
        None,
        2,
        "cannot be used with",
    );
    fails(&store, &["state"], None, 2, "--dyad");
    fails(&store, &["teleport"], None, 2, "unrecognized subcommand");
    // A well-formed request the store cannot answer is an error, not a usage error.
    fails(
        &store,
        &["state", "--dyad", "CHN-USA"],
        None,
        1,
        "dyad CHN-USA has no events",
    );
    fails(
        &store,
        &[
            "diff",
            "--dyad",
            "RUS-USA",
            "--from",
            "2025-03-01",
            "--to",
            "2025-01-01",
        ],
        None,
        1,
        "is after --to",
    );
}

#[test]
fn import_is_all_or_nothing_and_names_the_bad_line() {
    let (dir, store) = empty();
    let lines: Vec<String> = istanbul_2025()
        .iter()
        .map(|event| serde_json::to_string(event).unwrap())
        .collect();
    let file = dir.path().join("events.jsonl");
    std::fs::write(
        &file,
        format!("{}\n\n{}\n", lines[..3].join("\n"), lines[3..].join("\n")),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = ok(&store, &["import", path], None);
    assert!(out.contains("14 recorded, 0 already present"), "{out}");
    let value = json(&ok(&store, &["import", path, "--json"], None));
    assert_eq!(value["recorded"], 0);
    assert_eq!(value["already_present"], 14);
    assert_eq!(value["head_position"], 14);

    let bad = |name: &str, text: String, needle: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        fails(&store, &["import", file.to_str().unwrap()], None, 1, needle);
    };
    let extra = r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-02", "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": 2}}"#;
    bad(
        "unknown-field.jsonl",
        format!(
            "{extra}\n\n{}\n",
            extra.replace("\"count\"", "\"foo\": 1, \"count\"")
        ),
        "line 3: unknown field `foo`",
    );
    bad(
        "malformed.jsonl",
        format!("{extra}\n{{\"dyad\": \n"),
        "line 2:",
    );
    bad(
        "rejected.jsonl",
        format!(
            "{extra}\n{}\n",
            r#"{"dyad": "RUS-USA", "occurred_on": "2025-03-02", "event": {"type": "ClaimProgressed", "claim": "nope", "status": "resolved"}}"#
        ),
        "line 2 (",
    );
    bad(
        "conflict.jsonl",
        format!(
            "{extra}\n{}\n",
            lines[0].replace("\"count\":35", "\"count\":36")
        ),
        "line 2: id `us-expels-35-diplomats-2016` is already recorded at position 1",
    );
    let export = contents(&store);
    let first_record = export.lines().next().unwrap();
    bad(
        "mixed.jsonl",
        format!("{extra}\n{first_record}\n"),
        "line 2: it holds recorded events",
    );
}

#[test]
fn export_then_import_gives_identical_records_and_hashes() {
    let (dir, store) = seeded(true);
    let export = ok(&store, &["export"], None);
    assert_eq!(export.lines().count(), 16);
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &export).unwrap();
    let copy = dir.path().join("copy");
    let out = ok(&copy, &["import", file.to_str().unwrap()], None);
    assert!(out.contains("16 restored"), "{out}");
    assert_eq!(ok(&copy, &["export"], None), export);
    // Again: a no-op.
    let out = ok(&copy, &["import", file.to_str().unwrap()], None);
    assert!(out.contains("0 restored, 16 already present"), "{out}");
    assert!(ok(&copy, &["verify"], None).starts_with("ok"));

    // Filters.
    let tail = ok(&store, &["export", "--from-position", "15"], None);
    assert_eq!(tail.lines().count(), 2);
    assert_eq!(ok(&store, &["export", "--dyad", "USA-RUS"], None), export);
    assert_eq!(ok(&store, &["export", "--dyad", "CHN-USA"], None), "");

    // An edited export is refused, naming the line; nothing is restored.
    let edited: Vec<String> = export
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 4 {
                line.replace("San Francisco", "Boston")
            } else {
                line.to_owned()
            }
        })
        .collect();
    let file = dir.path().join("edited.jsonl");
    std::fs::write(&file, edited.join("\n")).unwrap();
    let fresh = dir.path().join("fresh");
    fails(
        &fresh,
        &["import", file.to_str().unwrap()],
        None,
        1,
        "line 5 (position 5)",
    );
    // A missing record too.
    let cut: Vec<&str> = export
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&file, cut.join("\n")).unwrap();
    fails(
        &fresh,
        &["import", file.to_str().unwrap()],
        None,
        1,
        "line 3 (position 4)",
    );
}

#[test]
fn state_reads_in_words_and_as_json() {
    let (_dir, store) = seeded(true);
    let out = ok(&store, &["state", "--dyad", "RUS-USA"], None);
    assert!(
        out.contains("Istanbul (TUR), at US Consul General's residence, closed door, 6 h 0 min"),
        "{out}"
    );
    assert!(out.contains("diplomatic-property  open"), "{out}");
    let value = json(&ok(&store, &["state", "--dyad", "USA-RUS", "--json"], None));
    for key in [
        "rounds",
        "steps",
        "claims",
        "proposals",
        "irritants",
        "next_round",
        "reciprocity",
        "events_applied",
        "position",
        "anomalies",
    ] {
        assert!(value.get(key).is_some(), "{key} in {value}");
    }
    assert_eq!(value["claims"]["diplomatic-property"]["count"], 6);
    // Bitemporal: as known on 28 February, the first report's venue stands.
    let then = json(&ok(
        &store,
        &[
            "state",
            "--dyad",
            "RUS-USA",
            "--known-at",
            "2025-02-28",
            "--json",
        ],
        None,
    ));
    assert_eq!(
        then["rounds"][0]["location"]["venue"],
        "US consulate general"
    );
    let before = json(&ok(
        &store,
        &[
            "state",
            "--dyad",
            "RUS-USA",
            "--as-of",
            "2025-02-26",
            "--json",
        ],
        None,
    ));
    assert_eq!(before["rounds"], Value::Array(Vec::new()));
    let stored = json(&ok(
        &store,
        &[
            "state",
            "--dyad",
            "RUS-USA",
            "--at-position",
            "14",
            "--json",
        ],
        None,
    ));
    assert_eq!(stored["position"], 14);
}

#[test]
fn history_reads_as_a_chronology() {
    let (_dir, store) = seeded(false);
    let out = ok(&store, &["history", "--dyad", "RUS-USA"], None);
    assert!(
        out.contains("2025-02-27  talks held in Istanbul (TUR), at US consulate general, closed door, 6 h 0 min — heads: Alexander Darchiev (RUS), Sonata Coulter (USA)"),
        "{out}"
    );
    assert!(
        out.contains("reported 2025-02-28 by Russian Foreign Ministry, Xinhua, Maria Zakharova"),
        "{out}"
    );
    let value = json(&ok(
        &store,
        &[
            "history",
            "--dyad",
            "RUS-USA",
            "--on",
            "2025-02-27",
            "--json",
        ],
        None,
    ));
    let events = value.as_array().unwrap();
    assert_eq!(events.len(), 6);
    assert!(
        events
            .iter()
            .all(|e| e["occurred_on"] == "2025-02-27" && e.get("hash").is_some())
    );
    let value = json(&ok(
        &store,
        &[
            "history",
            "--dyad",
            "RUS-USA",
            "--from",
            "2017-01-01",
            "--to",
            "2017-12-31",
            "--json",
        ],
        None,
    ));
    assert_eq!(value.as_array().unwrap().len(), 3);
}

#[test]
fn diff_lists_what_changed() {
    let (_dir, store) = seeded(false);
    let args = [
        "diff",
        "--dyad",
        "RUS-USA",
        "--from",
        "2018-12-31",
        "--to",
        "2025-03-01",
    ];
    let out = ok(&store, &args, None);
    assert!(out.contains("+ 2025-02-27  Istanbul (TUR)"), "{out}");
    assert!(
        out.lines()
            .any(|line| line.contains("mission-financing") && line.contains("new, agreed")),
        "{out}"
    );
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let value = json(&ok(&store, &with_json, None));
    assert_eq!(value["rounds_added"].as_array().unwrap().len(), 1);
    let added = value["items_added"].as_array().unwrap();
    // Five agenda items, and the round `istanbul-2025`, scheduled and held in between.
    assert_eq!(added.len(), 6, "{added:?}");
    assert!(
        added
            .iter()
            .any(|item| item["kind"] == "round" && item["status"] == "held"),
        "{added:?}"
    );
    let out = ok(
        &store,
        &[
            "diff",
            "--dyad",
            "RUS-USA",
            "--from",
            "2019-01-01",
            "--to",
            "2020-01-01",
        ],
        None,
    );
    assert!(out.contains("nothing changed"), "{out}");
}

#[test]
fn verify_and_stats_report_what_they_checked() {
    let (_dir, store) = seeded(false);
    let out = ok(&store, &["verify"], None);
    assert!(out.contains("14 events"), "{out}");
    let value = json(&ok(&store, &["verify", "--json"], None));
    assert_eq!(value["ok"], true);
    assert_eq!(value["events"], 14);
    assert_eq!(value["dyads"], 1);
    let out = ok(&store, &["stats"], None);
    assert!(out.contains("RUS-USA: 14 events"), "{out}");
    let value = json(&ok(&store, &["stats", "--json"], None));
    assert_eq!(value["events"], 14);
    assert_eq!(value["head_position"], 14);
    assert_eq!(value["dyad_versions"]["RUS-USA"], 14);
    assert!(value["size_on_disk"].as_u64().unwrap() > 0);

    // A projection altered behind the engine's back is found.
    let engine = Engine::open(&store).unwrap();
    engine
        .tamper_projection_for_tests("RUS-USA".parse().unwrap())
        .unwrap();
    drop(engine);
    fails(&store, &["verify"], None, 1, "verification failed");
}

#[test]
fn the_store_comes_from_the_environment_too() {
    let (_dir, store) = seeded(false);
    let out = Command::new(env!("CARGO_BIN_EXE_detente"))
        .args(["stats", "--json"])
        .env("DETENTE_STORE", &store)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["events"], 14);
}

#[test]
fn the_timeline_is_well_formed_svg_naming_every_round_and_item() {
    let (dir, store) = seeded(true);
    let svg = dir.path().join("istanbul.svg");
    let out = ok(
        &store,
        &[
            "timeline",
            "--dyad",
            "RUS-USA",
            "--svg",
            svg.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.contains("1 round of talks, 6 agenda items"), "{out}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    assert!(document.root_element().attribute("viewBox").is_some());
    let texts: String = document
        .descendants()
        .filter_map(|node| node.text())
        .collect::<Vec<_>>()
        .join("\n");
    for name in [
        "Istanbul 2025-02-27",
        "mission-financing",
        "diplomat-conditions",
        "continue-contacts",
        "diplomatic-property",
        "direct-flights",
        "us-mission-staff-cap",
    ] {
        assert!(texts.contains(name), "{name} in the SVG's text");
    }
    // As known on 28 February, with a date bound.
    let out = ok(
        &store,
        &[
            "timeline",
            "--dyad",
            "RUS-USA",
            "--svg",
            svg.to_str().unwrap(),
            "--as-of",
            "2025-02-28",
            "--known-at",
            "2025-02-28",
        ],
        None,
    );
    assert!(out.contains("1 round"), "{out}");
    roxmltree::Document::parse(&std::fs::read_to_string(&svg).unwrap()).expect("well-formed XML");
}

/// The characters of text output that must never reach a terminal raw.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[test]
fn control_characters_of_recorded_text_are_shown_escaped() {
    let (_dir, store) = empty();
    // ANSI and OSC escapes, a carriage return that would overwrite the line, a C1 control, a
    // right-to-left override, and a line break that would start a fake line.
    let hostile = r#"{"id": "esc", "dyad": "ARM-AZE", "occurred_on": "2024-07-02", "reported_on": "2024-07-02",
      "sources": [{"name": "wire\u001b[2J"}],
      "event": {"type": "IrritantRaised", "irritant": "ir3", "raised_by": "AZE",
        "description": "normal \u001b[2J\u001b[31mRED\u001b[0m \u001b]0;pwned\u0007 end\r\u001b[Kfake \u009b1m \u202egnp.exe\n2024-07-03  fake line\tx"}}"#;
    ok(&store, &["record"], Some(hostile));
    for args in [
        &["history", "--dyad", "ARM-AZE"][..],
        &["state", "--dyad", "ARM-AZE"],
        &["state", "--dyad", "ARM-AZE", "--json"],
        &["history", "--dyad", "ARM-AZE", "--json"],
        &["timeline", "--dyad", "ARM-AZE", "--svg", "-"],
    ] {
        let out = ok(&store, args, None);
        assert_eq!(raw_controls(&out), Vec::<char>::new(), "{args:?}: {out}");
        if args.contains(&"--json") {
            // The same value, written with JSON escapes.
            let value = json(&out);
            assert!(value.to_string().contains("RED"), "{out}");
            assert!(
                out.contains(r"\u001b[2J") && out.contains(r"\u202e"),
                "{out}"
            );
        } else {
            assert!(out.contains(r"\u{1b}[2J"), "{args:?}: {out}");
            assert!(out.contains(r"\u{202e}gnp.exe"), "{args:?}: {out}");
        }
        if args[0] == "history" && !args.contains(&"--json") {
            // The line break inside the description does not start a line of its own.
            assert!(out.contains(r"\u{a}2024-07-03  fake line\u{9}x"), "{out}");
            assert!(
                !out.lines().any(|line| line.starts_with("2024-07-03")),
                "{out}"
            );
        }
    }
    // Errors too: an id quoted back in a message.
    let out = detente(
        &store,
        &["state", "--dyad", "ARM-AZE", "--as-of", "\u{1b}[2J"],
        None,
    );
    assert_eq!(out.code, 2);
    let out = detente(
        &store,
        &["record"],
        Some(
            "{\"dyad\": \"ARM-AZE\", \"occurred_on\": \"2024-01-01\", \"event\": {\"type\": \"\u{1b}]0;x\u{7}\"}}",
        ),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        raw_controls(&out.stderr),
        Vec::<char>::new(),
        "{}",
        out.stderr
    );
}

#[test]
fn small_things_of_the_command_line() {
    let (_dir, store) = seeded(true);
    // A dyad in lower case on the command line.
    let upper = ok(&store, &["state", "--dyad", "RUS-USA"], None);
    assert_eq!(ok(&store, &["state", "--dyad", "usa-rus"], None), upper);
    ok(&store, &["export", "--dyad", "rus-usa"], None);
    // A position at the head is fine; past it is refused, naming the head.
    ok(
        &store,
        &["state", "--dyad", "RUS-USA", "--at-position", "16"],
        None,
    );
    fails(
        &store,
        &["state", "--dyad", "RUS-USA", "--at-position", "17"],
        None,
        1,
        "--at-position 17 is past the head of store",
    );
    fails(
        &store,
        &["state", "--dyad", "RUS-USA", "--at-position", "-1"],
        None,
        2,
        "`-1` is not a position",
    );
    // An export from just past the head is empty (an incremental backup with nothing new).
    assert_eq!(ok(&store, &["export", "--from-position", "17"], None), "");

    // A reported_on left out is said to have defaulted.
    let out = ok(&store, &["record"], Some(EXPELLED));
    assert!(
        out.contains("note: the event had no reported_on: it defaulted to"),
        "{out}"
    );
    let value = json(&ok(
        &store,
        &["record", "--json"],
        Some(&EXPELLED.replace("\"e1\"", "\"e2\"")),
    ));
    assert_eq!(value["reported_on_defaulted"], true);
    let out = ok(
        &store,
        &["record"],
        Some(&EXPELLED.replace("\"e1\"", "\"e3\"").replace(
            "\"occurred_on\": \"2018-03-26\"",
            "\"occurred_on\": \"2018-03-26\", \"reported_on\": \"2018-03-27\"",
        )),
    );
    assert!(!out.contains("note:"), "{out}");
}

#[test]
fn the_dyads_named_in_an_error_are_a_few() {
    let (_dir, store) = empty();
    let parties = ["ARM", "AZE", "CHN", "DEU", "FRA", "GBR", "IND", "JPN"];
    let lines: Vec<String> = parties
        .iter()
        .map(|party| {
            format!(
                r#"{{"dyad": "{party}-USA", "occurred_on": "2020-01-01", "event": {{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 1}}}}"#
            )
        })
        .collect();
    let file = store.with_extension("jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    ok(&store, &["import", file.to_str().unwrap()], None);
    let out = detente(&store, &["state", "--dyad", "RUS-USA"], None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "it holds ARM-USA, AZE-USA, CHN-USA, DEU-USA, FRA-USA and 3 more (`detente stats` lists them all)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn with_json_an_error_is_a_json_object_too() {
    let (_dir, store) = seeded(false);
    #[track_caller]
    fn check(store: &Path, args: &[&str], code: i32, needle: &str) {
        let out = detente(store, args, None);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        let value = json(out.stderr.trim_end());
        assert_eq!(value["error"]["exit_code"], code, "{value}");
        let message = value["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{args:?}: {message}");
        assert!(!message.starts_with("error:"), "{message}");
    }
    check(
        &store,
        &["state", "--dyad", "ARM-AZE", "--json"],
        1,
        "dyad ARM-AZE has no events",
    );
    check(
        &store,
        &["--json", "state", "--dyad", "ARM-AZE"],
        1,
        "has no events",
    );
    check(
        &store,
        &["state", "--dyad", "RUSUSA", "--json"],
        2,
        "dyad `RUSUSA` is malformed",
    );
    check(
        &store,
        &["teleport", "--json"],
        2,
        "unrecognized subcommand",
    );
}

#[test]
fn history_and_diff_take_knowledge_and_system_time() {
    let (_dir, store) = seeded(true);
    // As known on 2025-02-28, the talks were at the consulate general; the correction of
    // 2025-03-01 is not known yet.
    let then = ok(
        &store,
        &[
            "history",
            "--dyad",
            "RUS-USA",
            "--on",
            "2025-02-27",
            "--known-at",
            "2025-02-28",
        ],
        None,
    );
    assert!(then.contains("as known on 2025-02-28"), "{then}");
    assert!(then.contains("at US consulate general"), "{then}");
    assert!(!then.contains("Consul General's residence"), "{then}");
    let now = ok(
        &store,
        &["history", "--dyad", "RUS-USA", "--on", "2025-02-27"],
        None,
    );
    assert!(now.contains("Consul General's residence") && !now.contains("consulate general,"));
    // The same by position: the store before the correction was recorded.
    let stored = json(&ok(
        &store,
        &[
            "history",
            "--dyad",
            "RUS-USA",
            "--at-position",
            "14",
            "--json",
        ],
        None,
    ));
    let positions: Vec<u64> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions.len(), 14);
    assert!(positions.iter().all(|&p| p <= 14), "{positions:?}");

    // diff: what the correction changed, by knowledge time.
    let before = ok(
        &store,
        &[
            "diff",
            "--dyad",
            "RUS-USA",
            "--from",
            "2025-02-01",
            "--to",
            "2025-03-01",
            "--known-at",
            "2025-02-28",
        ],
        None,
    );
    assert!(before.contains("as known on 2025-02-28"), "{before}");
    assert!(before.contains("at US consulate general"), "{before}");
    let after = ok(
        &store,
        &[
            "diff",
            "--dyad",
            "RUS-USA",
            "--from",
            "2025-02-01",
            "--to",
            "2025-03-01",
        ],
        None,
    );
    assert!(after.contains("Consul General's residence"), "{after}");
    let at_nine = json(&ok(
        &store,
        &[
            "diff",
            "--dyad",
            "RUS-USA",
            "--from",
            "2025-02-01",
            "--to",
            "2025-03-01",
            "--at-position",
            "9",
            "--json",
        ],
        None,
    ));
    assert_eq!(at_nine["rounds_added"].as_array().map(Vec::len), Some(1));
    // No agenda item by then: only the round the talks hold, an item of kind `round`.
    let added = at_nine["items_added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(added[0]["kind"], "round", "{added:?}");
    fails(
        &store,
        &[
            "diff",
            "--dyad",
            "RUS-USA",
            "--from",
            "2025-02-01",
            "--to",
            "2025-03-01",
            "--at-position",
            "99",
        ],
        None,
        1,
        "--at-position 99 is past the head",
    );
}

#[test]
fn history_with_retracted_shows_each_retracted_event_with_its_retraction() {
    let (_dir, store) = seeded(true);
    let plain = ok(&store, &["history", "--dyad", "RUS-USA"], None);
    assert!(!plain.contains("[retracted]"), "{plain}");
    let out = ok(
        &store,
        &["history", "--dyad", "RUS-USA", "--with-retracted"],
        None,
    );
    assert!(out.contains("16 events (1 retracted, marked)"), "{out}");
    let marked: Vec<&str> = out.lines().filter(|l| l.contains("[retracted]")).collect();
    assert_eq!(marked.len(), 1, "{out}");
    assert!(
        marked[0].starts_with("2025-02-27  [retracted] talks held in Istanbul"),
        "{out}"
    );
    assert!(
        out.contains("retracted by istanbul-2025-talks-retracted at position 15, reported 2025-03-01: the venue was"),
        "{out}"
    );
    let value = json(&ok(
        &store,
        &["history", "--dyad", "RUS-USA", "--with-retracted", "--json"],
        None,
    ));
    let retracted: Vec<&Value> = value
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event.get("retracted_by").is_some())
        .collect();
    assert_eq!(retracted.len(), 1);
    assert_eq!(retracted[0]["id"], "istanbul-2025-talks");
    assert_eq!(
        retracted[0]["retracted_by"]["id"],
        "istanbul-2025-talks-retracted"
    );
    // Before the retraction was known, nothing is retracted.
    let then = ok(
        &store,
        &[
            "history",
            "--dyad",
            "RUS-USA",
            "--with-retracted",
            "--known-at",
            "2025-02-28",
        ],
        None,
    );
    assert!(!then.contains("[retracted]"), "{then}");
}

#[test]
fn a_partial_export_is_refused_as_a_restore_and_recorded_with_as_new() {
    let (dir, store) = seeded(true);
    let other = r#"{"id": "arm-aze-1", "dyad": "ARM-AZE", "occurred_on": "2024-01-01", "reported_on": "2024-01-02",
      "sources": [{"name": "wire"}],
      "event": {"type": "StepAgreed", "step": "border", "description": "border delimitation"}}"#;
    ok(&store, &["record"], Some(other));
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let one_dyad = file(
        "one.jsonl",
        &ok(&store, &["export", "--dyad", "arm-aze"], None),
    );
    let from_nine = file(
        "from-nine.jsonl",
        &ok(&store, &["export", "--from-position", "9"], None),
    );
    let (_new_dir, new) = empty();
    // As a restore: refused, naming the cause and the way out, and no store is left.
    fails(
        &new,
        &["import", &one_dyad],
        None,
        1,
        "line 1 (position 17): expected position 1: the store is empty and the file skips positions 1 to 16: it is a partial export",
    );
    fails(
        &new,
        &["import", &from_nine],
        None,
        1,
        "record its events as new ones with `detente import --as-new`",
    );
    assert!(!new.exists());
    // As new events: recorded, with their ids, dates and sources, at new positions.
    let out = ok(&new, &["import", "--as-new", &one_dyad], None);
    assert!(
        out.contains("1 recorded, 0 already present; head position 1"),
        "{out}"
    );
    let line = json(ok(&new, &["export"], None).trim());
    assert_eq!(line["id"], "arm-aze-1");
    assert_eq!(line["position"], 1);
    assert_eq!(line["reported_on"], "2024-01-02");
    assert_eq!(line["sources"][0]["name"], "wire");
    // Again: nothing changes. And into a store that holds other events.
    assert!(
        ok(&new, &["import", "--as-new", &one_dyad], None)
            .contains("0 recorded, 1 already present")
    );
    let out = ok(&new, &["import", "--as-new", &from_nine], None);
    assert!(out.contains("8 recorded, 1 already present"), "{out}");
    // A whole export works as new events too, into an empty store: the same facts.
    let whole = file("whole.jsonl", &ok(&store, &["export"], None));
    let (_copy_dir, copy) = empty();
    ok(&copy, &["import", "--as-new", &whole], None);
    assert_eq!(
        ok(&copy, &["state", "--dyad", "RUS-USA", "--json"], None),
        ok(&store, &["state", "--dyad", "RUS-USA", "--json"], None)
    );
}
