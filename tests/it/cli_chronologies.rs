//! `detente demo --scenario NAME` and the read commands over a chronology with a succession:
//! `RUS-USA` shows the `SUN-USA` era in `state`, `history`, `diff` and `timeline`.

use std::path::Path;

use serde_json::Value;

#[track_caller]
fn ok(store: &Path, args: &[&str]) -> String {
    let out = crate::run_detente(store, args, b"");
    assert_eq!(
        out.code, 0,
        "{args:?} failed:\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

#[test]
fn demo_lists_its_scenarios_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let list = ok(&store, &["demo", "--scenario", "list"]);
    for name in [
        "istanbul-2025",
        "armenia-azerbaijan",
        "serbia-kosovo",
        "us-soviet-arms-control",
    ] {
        assert!(list.contains(name), "{name} in {list}");
    }
    let out = crate::run_detente(&store, &["demo", "--scenario", "atlantis"], b"");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("there is no scenario `atlantis`")
            && out.stderr.contains("serbia-kosovo"),
        "{}",
        out.stderr
    );
    assert!(!store.exists(), "a refused demo created a store");
    // The default is still Istanbul, by name too.
    let istanbul = ok(&store, &["demo", "--scenario", "istanbul-2025"]);
    assert!(istanbul.contains("Istanbul"), "{istanbul}");
}

#[test]
fn every_chronology_plays_as_a_demo() {
    for chronology in detente::scenario::CHRONOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let out = ok(&store, &["--json", "demo", "--scenario", chronology.name]);
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["scenario"], chronology.name);
        assert_eq!(
            value["recorded"].as_u64(),
            Some(chronology.events().len() as u64)
        );
        let anomalies = value["state"]["anomalies"].as_array().map_or(0, Vec::len);
        assert_eq!(anomalies, 0, "{out}");
    }
}

#[test]
fn rus_usa_shows_the_soviet_era_in_every_read_command() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let demo = ok(&store, &["demo", "--scenario", "us-soviet-arms-control"]);
    assert!(
        demo.contains("RUS-USA continues SUN-USA from 1991-12-26"),
        "{demo}"
    );
    assert!(demo.contains("1987-12-08"), "{demo}");

    let state = |extra: &[&str]| -> Value {
        let mut args = vec!["--json", "state", "--dyad", "RUS-USA"];
        args.extend(extra);
        serde_json::from_str(&ok(&store, &args)).unwrap()
    };
    assert_eq!(
        state(&["--as-of", "1990-01-01"])["agreements"]["inf-treaty"]["status"],
        "in_force"
    );
    assert_eq!(
        state(&[])["agreements"]["inf-treaty"]["status"],
        "terminated"
    );
    assert_eq!(
        state(&["--known-at", "1988-12-31"])["agreements"]["inf-treaty"]["status"],
        "in_force"
    );
    // SUN-USA alone.
    let soviet: Value =
        serde_json::from_str(&ok(&store, &["--json", "state", "--dyad", "SUN-USA"])).unwrap();
    assert_eq!(soviet["agreements"]["inf-treaty"]["status"], "in_force");

    let history = ok(
        &store,
        &["history", "--dyad", "RUS-USA", "--to", "1991-12-31"],
    );
    assert!(history.contains("1987-12-08"), "{history}");
    assert!(history.contains("recorded in SUN-USA"), "{history}");
    let known = ok(
        &store,
        &["history", "--dyad", "RUS-USA", "--known-at", "1988-12-31"],
    );
    assert!(
        known.contains("1988-06-01") && !known.contains("2019"),
        "{known}"
    );

    // Ratified by one side: the diff says by whom.
    let diff = ok(
        &store,
        &[
            "diff",
            "--dyad",
            "RUS-USA",
            "--from",
            "1988-05-01",
            "--to",
            "1988-05-30",
        ],
    );
    assert!(diff.contains("Agreements, by party"), "{diff}");
    assert!(
        diff.contains("inf-treaty") && diff.contains("USA") && diff.contains("ratified"),
        "{diff}"
    );

    let svg = dir.path().join("arms.svg");
    ok(
        &store,
        &[
            "timeline",
            "--dyad",
            "RUS-USA",
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("inf-treaty, USA"), "a lane per party");
    assert!(picture.contains("1987"), "the Soviet era on the axis");
}
