//! The one integration-test binary: the public API, used as users would.

mod chronologies;
mod cli;
mod cli_chronologies;
mod damage;
mod doctests;
mod domain_given_when_then;
mod domain_props;
mod engine;
mod engine_props;
mod examples;
mod failures;
mod fixtures;
mod fuzz_regressions;
mod import_crash;
mod import_stream;
mod integrity;
mod istanbul;
mod kit;
mod kit_broken;
mod parties;
mod postgres_cli;
mod postgres_engine;
mod postgres_server;
mod postgres_stories;
mod store;
mod store_crash;
mod store_model;
mod store_timeline;
mod strategies;
mod successions;
mod truth;
mod upcast;
mod wire_schema;
mod workload;

use serde_json::Value;

/// Asserts that `actual` holds `expected`: objects key by key (keys `expected` does not name
/// are not compared), everything else exactly. Failures name the JSON path.
#[track_caller]
pub fn assert_json_contains(actual: &Value, expected: &Value) {
    fn walk(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
        match (actual, expected) {
            (Value::Object(actual), Value::Object(expected)) => {
                for (key, expected) in expected {
                    let path = format!("{path}.{key}");
                    match actual.get(key) {
                        Some(actual) => walk(actual, expected, &path)?,
                        None if expected.is_null() => {}
                        None => return Err(format!("{path}: missing, expected {expected}")),
                    }
                }
                Ok(())
            }
            (Value::Array(actual), Value::Array(expected)) if actual.len() == expected.len() => {
                for (index, (actual, expected)) in actual.iter().zip(expected).enumerate() {
                    walk(actual, expected, &format!("{path}[{index}]"))?;
                }
                Ok(())
            }
            _ if actual == expected => Ok(()),
            _ => Err(format!("{path}: expected {expected}, got {actual}")),
        }
    }
    if let Err(message) = walk(actual, expected, "state") {
        panic!("{message}\nwhole value: {actual:#}");
    }
}

/// Copies a directory tree (a store, before a test damages the copy).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What one run of the built `detente` binary said.
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the built binary with `args` against `store`, feeding `stdin` (which the program may
/// stop reading early: a broken pipe is its business).
pub fn run_detente(store: &std::path::Path, args: &[&str], stdin: &[u8]) -> Run {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_detente"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("DETENTE_STORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin);
    }
    let output = child.wait_with_output().expect("the binary ends");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
