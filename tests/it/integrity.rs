//! `docs/integrity.md` and its verifier, `docs/verify_export.py`, agree with `detente import`:
//! an export that one accepts the other accepts, and each damage below is refused by both.
//!
//! The verifier runs through `python3` where it is installed; without it, its half of each
//! check is skipped with a printed line, and the import half still runs.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const FIXTURE: &str = include_str!("../fixtures/store-chain-v1.jsonl");
const VERIFIER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_export.py");

/// What the verifier said: `Ok(stdout)` on exit 0, else `Err(stderr)`; `None` without python3.
fn run_verifier(args: &[&str], stdin: &str) -> Option<Result<String, String>> {
    use std::io::Write;
    let child = Command::new("python3")
        .arg(VERIFIER)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("skipped: python3 is not installed, so docs/verify_export.py is not run");
        return None;
    };
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let output = child.wait_with_output().expect("python3 ends");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Some(if output.status.success() {
        Ok(stdout)
    } else {
        Err(stderr)
    })
}

/// A record's JSON in RFC 8785 form for the values of format 1: keys sorted at every depth,
/// no white space (serde_json's escapes are RFC 8785's for these strings).
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut sorted = Map::new();
            for (key, value) in entries {
                sorted.insert(key.clone(), canonical(value));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Recomputes the hash of every line from `from` on, as a forger would: the chain holds
/// over the text of the lines, whatever they say.
fn rechain(lines: &mut [String], from: usize) {
    let mut previous = [0u8; 32];
    for (index, line) in lines.iter_mut().enumerate() {
        let mut record: Map<String, Value> = serde_json::from_str(line).unwrap();
        let stored = record.remove("hash").unwrap();
        if index >= from {
            let bytes = serde_json::to_vec(&canonical(&Value::Object(record.clone()))).unwrap();
            let digest: [u8; 32] = Sha256::new()
                .chain_update(previous)
                .chain_update(&bytes)
                .finalize()
                .into();
            let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
            *line = line.replace(stored.as_str().unwrap(), &hex);
            previous = digest;
        } else {
            let hex = stored.as_str().unwrap();
            for (i, byte) in previous.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
            }
        }
    }
}

fn fixture_lines() -> Vec<String> {
    FIXTURE.lines().map(str::to_owned).collect()
}

/// The verifier (where python3 is installed) and `detente import` into an empty store both
/// refuse `lines`, the verifier with a message containing `verifier_says`.
#[track_caller]
fn check_refused_by_both(name: &str, lines: &[String], verifier_says: &str) {
    let export = lines.join("\n") + "\n";
    if let Some(verdict) = run_verifier(&[], &export) {
        match verdict {
            Err(stderr) => assert!(stderr.contains(verifier_says), "{name}: {stderr}"),
            Ok(stdout) => panic!("{name}: the verifier accepted it: {stdout}"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let run = crate::run_detente(&store, &["import", "-"], export.as_bytes());
    assert_eq!(run.code, 1, "{name}: import accepted it: {}", run.stdout);
    assert!(
        run.stderr.contains("nothing was imported"),
        "{name}: {}",
        run.stderr
    );
}

#[test]
fn the_verifier_checks_an_export_from_a_file_and_from_standard_input() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-chain-v1.jsonl");
    let head =
        "ok: 3 records, head d50d4321521922d39d31590f8eb0a456834ba711b1285bb740b728ab7a7bab2b";
    for (args, stdin) in [
        (vec![fixture.to_str().unwrap()], ""),
        (vec![], FIXTURE),
        (vec!["-"], FIXTURE),
    ] {
        let Some(verdict) = run_verifier(&args, stdin) else {
            return;
        };
        assert_eq!(
            verdict.map(|out| out.trim().to_owned()),
            Ok(head.to_owned()),
            "{args:?}"
        );
    }
    let usage = run_verifier(&["a", "b"], "").unwrap();
    assert!(usage.unwrap_err().starts_with("usage: "));
}

#[test]
fn the_forged_chain_of_the_tests_is_the_chain_detente_computes() {
    // The damage below recomputes the chain over edited text; over unedited text it must give
    // the fixture's own hashes, or the refusals would prove nothing.
    let mut lines = fixture_lines();
    rechain(&mut lines, 0);
    assert_eq!(lines, fixture_lines());
}

#[test]
fn each_damage_is_refused_by_the_verifier_and_by_import() {
    // An outside verifier written from `docs/integrity.md` alone accepted what import refused
    // (a `recorded_at` with trailing zeros, a repeated member), and could not tell a dropped
    // first record from a partial export. The page now says all of it, and the verifier does.
    let lines = fixture_lines();
    assert!(lines[1].contains(r#""recorded_at":"2026-11-28T18:38:09.345863Z""#));

    let mut padded = lines.clone();
    padded[1] = padded[1].replace(".345863Z", ".345863000Z");
    rechain(&mut padded, 1);
    check_refused_by_both(
        "recorded_at with trailing zeros",
        &padded,
        "is not written as detente writes it",
    );

    let mut offset = lines.clone();
    offset[1] = offset[1].replace("18:38:09.345863Z", "18:38:09.345863+00:00");
    rechain(&mut offset, 1);
    check_refused_by_both(
        "recorded_at with an offset",
        &offset,
        "is not written as detente writes it",
    );

    let mut backwards = lines.clone();
    let first_at = serde_json::from_str::<Value>(&lines[0]).unwrap()["recorded_at"]
        .as_str()
        .unwrap()
        .to_owned();
    backwards[2] = backwards[2].replace(
        serde_json::from_str::<Value>(&lines[2]).unwrap()["recorded_at"]
            .as_str()
            .unwrap(),
        &first_at.replace("2026-11-28", "2026-11-27"),
    );
    rechain(&mut backwards, 2);
    check_refused_by_both("recorded_at going backwards", &backwards, "goes backwards");

    // The hash is left as it is: a reader that keeps the last of two equal members reads the
    // same content, and its chain holds.
    let mut repeated = lines.clone();
    repeated[1] = repeated[1].replace(r#""schema":1,"#, r#""schema":1,"schema":1,"#);
    check_refused_by_both("a repeated member", &repeated, "a member is repeated");

    check_refused_by_both(
        "the first record dropped",
        &lines[1..],
        "position 2, expected 1",
    );
}
