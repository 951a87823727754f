//! The fuzzers' corpus of regressions, run in `cargo test`: every file of
//! `tests/fuzz-regressions/` goes through the same harness as the fuzz targets in `fuzz/`
//! (`fuzz/src/harness.rs`), both as one document for the decoders and as an import file.
//!
//! The directory holds a seed corpus of valid examples (`seed-*`: the examples of
//! `docs/events.md` and the frozen v1 export) and every input a fuzzer found that crashed or
//! hung (`crash-*`, `timeout-*`, `oom-*`), each also pinned by name below with a postmortem.

#[path = "../../fuzz/src/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use harness::Outcome;

fn regressions() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-regressions")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_regression_input_goes_through_the_decoders_and_the_import_without_a_panic() {
    let files = regressions();
    assert!(files.len() >= 10, "the seed corpus is missing: {files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            harness::decode(&bytes);
            harness::import(&bytes)
        });
        assert!(outcome.is_ok(), "{} panicked", file.display());
    }
}

#[test]
fn the_seed_corpus_exercises_the_accepting_paths() {
    // The seeds are valid: if they stopped parsing, the test above would only prove that
    // errors do not panic.
    assert_eq!(
        harness::import(&read("seed-import-export-v1.jsonl")),
        Outcome::Restored { n_records: 3 }
    );
    assert!(matches!(
        harness::import(&read("seed-event-00.json")),
        Outcome::Recorded { n_new: 1 }
    ));
    for file in regressions() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("seed-event") {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                serde_json::from_slice::<detente::domain::NewEvent>(&bytes).is_ok(),
                "{name} does not parse"
            );
        }
    }
}
