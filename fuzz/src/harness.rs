//! What the fuzz targets do with one input. Shared, by `#[path]`, with the regression test
//! `tests/it/fuzz_regressions.rs`, which runs every file of `tests/fuzz-regressions/` through
//! these same two functions in `cargo test`.
//!
//! The property is the same for both: whatever the bytes, the decoders and checks answer with
//! a value or an error, and never panic, hang or allocate without bound. Beyond that, what is
//! accepted must be consistent: it writes back and reads again the same, an accepted event's
//! export line fits the input limit, and a checked batch folds without a panic.

#![allow(dead_code)]

use std::collections::HashMap;

use detente::domain::limits::{check_input_size, check_limits};
use detente::domain::{
    BilateralState, ChainHash, Dyad, Event, NewEvent, Query, RecordedEvent, check,
    check_in_history, evolve, state_at,
};

/// The date the harness records on: fixed, so that a finding replays the same on any day.
fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
}

/// One document through every decoder of the wire format.
pub fn decode(bytes: &[u8]) {
    let _ = check_input_size(bytes.len());
    if let Ok(input) = serde_json::from_slice::<NewEvent>(bytes) {
        accepted_input(input);
    }
    if let Ok(record) = serde_json::from_slice::<RecordedEvent>(bytes) {
        accepted_record(&record);
    }
    if let Ok(event) = serde_json::from_slice::<Event>(bytes) {
        let text = serde_json::to_vec(&event).unwrap_or_default();
        let again: Event = match serde_json::from_slice(&text) {
            Ok(again) => again,
            Err(err) => panic!("an accepted event body does not read back: {err}"),
        };
        assert_eq!(again, event, "an event body changed on a round trip");
    }
}

/// What is done with a new event the parser accepted.
fn accepted_input(input: NewEvent) {
    let id = input.effective_id();
    let text = match serde_json::to_vec(&input) {
        Ok(text) => text,
        Err(err) => panic!("an accepted input does not serialize: {err}"),
    };
    let again: NewEvent = match serde_json::from_slice(&text) {
        Ok(again) => again,
        Err(err) => panic!("an accepted input does not read back: {err}"),
    };
    assert_eq!(again, input, "an input changed on a round trip");
    assert_eq!(
        again.effective_id(),
        id,
        "the derived id changed on a round trip"
    );
    let within_limits = check_limits(&input).is_ok();
    let record = input.into_recorded(1, 1, today(), chrono::DateTime::UNIX_EPOCH);
    let _ = check(&BilateralState::default(), &record);
    let _ = evolve(BilateralState::default(), &record);
    let mut record = record;
    record.hash = record.chain_hash(&ChainHash::ZERO);
    let line = match serde_json::to_vec(&record) {
        Ok(line) => line,
        Err(err) => panic!("a record does not serialize: {err}"),
    };
    if within_limits {
        assert!(
            check_input_size(line.len()).is_ok(),
            "an event within the limits has an export line of {} bytes, over the input limit",
            line.len()
        );
    }
    match serde_json::from_slice::<RecordedEvent>(&line) {
        Ok(back) => assert_eq!(back, record, "a record changed on a round trip"),
        Err(err) => panic!("an export line does not read back: {err}"),
    }
}

/// What is done with a recorded event the parser accepted.
fn accepted_record(record: &RecordedEvent) {
    let _ = record.chain_hash(&ChainHash::ZERO);
    let line = match serde_json::to_vec(record) {
        Ok(line) => line,
        Err(err) => panic!("an accepted record does not serialize: {err}"),
    };
    match serde_json::from_slice::<RecordedEvent>(&line) {
        Ok(back) => {
            assert_eq!(&back, record, "a record changed on a round trip");
            assert_eq!(
                back.canonical_bytes(),
                record.canonical_bytes(),
                "canonical bytes changed on a round trip"
            );
        }
        Err(err) => panic!("an accepted record does not read back: {err}"),
    }
}

/// What an import of these bytes comes to, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bytes are not UTF-8.
    NotText,
    /// No line holds anything.
    Empty,
    /// Line `line` (from 1) is refused before or while parsing.
    BadLine {
        /// The line number.
        line: usize,
    },
    /// New events: event `index` (from 0) of the batch is refused by the checks.
    Refused {
        /// Its index.
        index: usize,
    },
    /// New events: all of them accepted, `n_new` new ones.
    Recorded {
        /// How many are new.
        n_new: usize,
    },
    /// An export whose record at `position` does not continue the chain.
    BadChain {
        /// The position named.
        position: u64,
    },
    /// An export that verifies, `n_records` long.
    Restored {
        /// How many records.
        n_records: usize,
    },
}

/// The lines of a file that hold something, with their numbers from 1, as `detente import`
/// reads them.
pub fn lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim().is_empty())
        .collect()
}

/// Whether a line is a recorded event (an export line), by its keys, as `detente import`
/// decides from the first line.
pub fn is_recorded(line: &str) -> bool {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line) {
        Ok(map) => map.contains_key("position") || map.contains_key("hash"),
        Err(_) => false,
    }
}

/// Arbitrary bytes as an import file.
pub fn import(bytes: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Outcome::NotText;
    };
    let lines = lines(text);
    let Some((_, first)) = lines.first() else {
        return Outcome::Empty;
    };
    if is_recorded(first) {
        restore(&lines)
    } else {
        record(&lines)
    }
}

fn parse_all<T: serde::de::DeserializeOwned>(lines: &[(usize, &str)]) -> Result<Vec<T>, Outcome> {
    let mut out = Vec::with_capacity(lines.len());
    for &(number, line) in lines {
        if check_input_size(line.len()).is_err() {
            return Err(Outcome::BadLine { line: number });
        }
        match serde_json::from_str::<T>(line) {
            Ok(value) => out.push(value),
            Err(_) => return Err(Outcome::BadLine { line: number }),
        }
    }
    Ok(out)
}

/// New events: checked one by one against the history they land in, as the engine's record
/// path does (the slow path, `check_in_history`, for all of them), all or nothing.
fn record(lines: &[(usize, &str)]) -> Outcome {
    let inputs: Vec<NewEvent> = match parse_all(lines) {
        Ok(inputs) => inputs,
        Err(outcome) => return outcome,
    };
    let mut history: Vec<RecordedEvent> = Vec::new();
    let mut versions: HashMap<Dyad, u64> = HashMap::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (index, input) in inputs.into_iter().enumerate() {
        if check_limits(&input).is_err() {
            return Outcome::Refused { index };
        }
        let id = input.effective_id();
        if let Some(&earlier) = ids.get(id.as_str()) {
            if input.matches(&history[earlier]) {
                continue;
            }
            return Outcome::Refused { index };
        }
        let version = versions.get(&input.dyad).copied().unwrap_or(0) + 1;
        let position = history.len() as u64 + 1;
        let candidate =
            input.into_recorded(position, version, today(), chrono::DateTime::UNIX_EPOCH);
        if check_in_history(&history, &candidate).is_err() {
            return Outcome::Refused { index };
        }
        versions.insert(candidate.dyad, version);
        ids.insert(id.as_str().to_owned(), history.len());
        history.push(candidate);
    }
    for &dyad in versions.keys() {
        let events = history.iter().filter(|event| event.dyad == dyad);
        let _ = state_at(events.clone(), &Query::default());
        if let Some(last) = history.last() {
            let _ = state_at(
                events,
                &Query {
                    as_of: Some(last.occurred_on),
                    known_at: Some(last.reported_on),
                    at_position: Some(last.position / 2),
                },
            );
        }
    }
    Outcome::Recorded {
        n_new: history.len(),
    }
}

/// An export: positions, versions and the hash chain verified as `Store::restore` does.
fn restore(lines: &[(usize, &str)]) -> Outcome {
    let records: Vec<RecordedEvent> = match parse_all(lines) {
        Ok(records) => records,
        Err(outcome) => return outcome,
    };
    let mut previous = ChainHash::ZERO;
    let mut versions: HashMap<Dyad, u64> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let version = versions.entry(record.dyad).or_insert(0);
        *version += 1;
        let fits = record.position == index as u64 + 1
            && record.version == *version
            && record.hash == record.chain_hash(&previous);
        if !fits {
            return Outcome::BadChain {
                position: record.position,
            };
        }
        previous = record.hash;
    }
    Outcome::Restored {
        n_records: records.len(),
    }
}
