//! Bad input, end to end: every case of `docs/failures.md`, run through the built binary
//! against a store holding a few events, checking the exit code, the message the user sees,
//! and that the store is exactly as it was (same head position, same hashes, same records).
//!
//! The table is the documentation's source: `docs/failures.md` has one row per case, and
//! `every_case_is_documented` checks that each case's name and expected message are there.
//! With `DETENTE_FAILURES_DUMP=FILE` set, the run writes the rows it saw to FILE.

use std::path::{Path, PathBuf};

use detente::domain::{NewEvent, RecordedEvent};
use detente::engine::Engine;

/// How a case reaches the program.
enum Input {
    /// `detente record -` with these bytes on standard input.
    Record(Vec<u8>),
    /// `detente import FILE` with a file of these bytes.
    Import(Vec<u8>),
    /// `detente import FILE` with an export of the seeded store, changed by the function, into
    /// an empty store.
    DamagedExport(fn(Vec<String>) -> Vec<String>),
    /// These arguments (after `--store STORE`).
    Args(&'static [&'static str]),
    /// Something about the store itself; see `run_special`.
    Special(Trouble),
}

#[derive(Clone, Copy)]
enum Trouble {
    StoreIsAFile,
    ReadOfAForeignFolder,
    ReadOfAnAbsentStore,
    RefusedRecordIntoAnAbsentStore,
    UnwritableDirectory,
    LockedByAnotherProcess,
    TamperedRecord,
    RemovedRecord,
    SwappedRecords,
    TruncatedDataFile,
}

struct Case {
    /// A short name, unique: the first column of `docs/failures.md`.
    name: &'static str,
    input: Input,
    /// The exit code.
    code: i32,
    /// What the message on standard error contains.
    needle: &'static str,
}

/// One input envelope with `event` (a JSON object's text) and the other fields given.
fn envelope(fields: &str, event: &str) -> Vec<u8> {
    format!(r#"{{{fields}"event": {event}}}"#).into_bytes()
}

/// A well-formed envelope on RUS-USA with `event`.
fn on_rus_usa(event: &str) -> Vec<u8> {
    envelope(r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "#, event)
}

const EXPELLED: &str = r#"{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 3}"#;

fn with_envelope_fields(fields: &str) -> Vec<u8> {
    envelope(fields, EXPELLED)
}

fn text_of(length: usize) -> String {
    "x".repeat(length)
}

fn cases() -> Vec<Case> {
    use Input::*;
    let case = |name, input, code, needle| Case {
        name,
        input,
        code,
        needle,
    };
    let big_description = on_rus_usa(&format!(
        r#"{{"type": "StepAgreed", "step": "big", "description": "{}"}}"#,
        text_of(5000)
    ));
    let many_sources = envelope(
        &format!(
            r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "sources": [{}], "#,
            vec![r#"{"name": "s"}"#; 33].join(",")
        ),
        EXPELLED,
    );
    let many_topics = on_rus_usa(&format!(
        r#"{{"type": "TalksHeld", "location": {{"city": "Geneva", "country": "CHE"}}, "delegations": [], "topics": [{}]}}"#,
        vec![r#""t""#; 257].join(",")
    ));
    let mut ten_megabytes = br#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "event": {"type": "MissionClosed", "closed_by": "USA", "facility": ""#.to_vec();
    ten_megabytes.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    ten_megabytes.extend(br#""}}"#);
    let mut deeply_nested =
        br#"{"dyad": "RUS-USA", "occurred_on": "2025-03-01", "sources": "#.to_vec();
    deeply_nested.extend(std::iter::repeat_n(b'[', 30_000));
    deeply_nested.extend(std::iter::repeat_n(b']', 30_000));
    deeply_nested.extend(b"}");
    let mut deep_first_line = br#"{"a": "#.to_vec();
    deep_first_line.extend(std::iter::repeat_n(b'[', 30_000));
    deep_first_line.extend(std::iter::repeat_n(b']', 30_000));
    deep_first_line.extend(b"}\n");
    let good_line = String::from_utf8(on_rus_usa(EXPELLED)).unwrap();
    vec![
        // Not JSON, or not all of it.
        case(
            "malformed JSON",
            Record(b"{\"dyad\": \"RUS-USA\" \"occurred_on\"}".to_vec()),
            1,
            "expected `,` or `}`",
        ),
        case(
            "truncated JSON",
            Record(b"{\"dyad\": \"RUS-USA\", \"occurred_on\": \"2025-".to_vec()),
            1,
            "EOF while parsing a string",
        ),
        case(
            "not JSON at all",
            Record(b"hello".to_vec()),
            1,
            "expected value",
        ),
        case(
            "empty input",
            Record(Vec::new()),
            1,
            "standard input is empty: `record` takes one event, a JSON object",
        ),
        case(
            "blank input",
            Record(b"  \n\n".to_vec()),
            1,
            "standard input is empty",
        ),
        case(
            "an array of events given to record",
            Record([b"[".to_vec(), on_rus_usa(EXPELLED), b"]".to_vec()].concat()),
            1,
            "holds a JSON array: `record` takes one event, a JSON object; for several, put one event per line in a file and run `detente import FILE`",
        ),
        case(
            "an export line given to record",
            Record(br#"{"position": 1, "hash": "00", "id": "x", "dyad": "RUS-USA"}"#.to_vec()),
            1,
            "holds a recorded event (an export line, with `position` and `hash`), not a new one: restore export lines with `detente import FILE`",
        ),
        case(
            "an empty import file",
            Import(b"\n  \n".to_vec()),
            1,
            "holds no events: nothing to import",
        ),
        case(
            "a byte order mark in an import file",
            Import(
                [
                    b"\xef\xbb\xbf".to_vec(),
                    on_rus_usa(EXPELLED),
                    b"\n".to_vec(),
                ]
                .concat(),
            ),
            1,
            "starts with a UTF-8 byte order mark (U+FEFF), which is not JSON: save it as UTF-8 without one",
        ),
        case(
            "trailing characters",
            Record([on_rus_usa(EXPELLED), b" x".to_vec()].concat()),
            1,
            "trailing characters",
        ),
        case(
            "a JSON array, not an object",
            Record(b"[1, 2]".to_vec()),
            1,
            "holds a JSON array: `record` takes one event",
        ),
        case(
            "invalid UTF-8",
            Record(b"{\"dyad\": \"RUS-\xff\xfe\"}".to_vec()),
            1,
            "stream did not contain valid UTF-8",
        ),
        case(
            "a byte order mark",
            Record([b"\xef\xbb\xbf".to_vec(), on_rus_usa(EXPELLED)].concat()),
            1,
            "standard input starts with a UTF-8 byte order mark (U+FEFF), which is not JSON: save it as UTF-8 without one",
        ),
        case(
            "a NUL byte",
            Record(b"{\"dyad\": \"RUS-USA\0\"}".to_vec()),
            1,
            "control character (\\u0000-\\u001F) found while parsing a string",
        ),
        case(
            "a lone surrogate escape",
            Record(with_envelope_fields(
                r#""id": "\ud800", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "unexpected end of hex escape (in `id`)",
        ),
        case(
            "a 10 MB document",
            Record(ten_megabytes.clone()),
            1,
            "standard input is not a valid event: the input is 10485880 bytes long: at most 65536 bytes of JSON are read for one event",
        ),
        case(
            "a 10 MB line in an import",
            Import([ten_megabytes, b"\n".to_vec()].concat()),
            1,
            "line 1: the input is 10485880 bytes long: at most 65536 bytes",
        ),
        case(
            "deeply nested JSON",
            Record(deeply_nested),
            1,
            "invalid type: sequence, expected a string (in `sources[0][0]`)",
        ),
        case(
            "deeply nested JSON as an import line",
            Import(deep_first_line),
            1,
            "line 1: unknown field `a`",
        ),
        // Every field class with a wrong type.
        case(
            "id: a number",
            Record(with_envelope_fields(
                r#""id": 7, "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "invalid type: integer `7`, expected a string",
        ),
        case(
            "dyad: a number",
            Record(with_envelope_fields(
                r#""dyad": 643, "occurred_on": "2025-03-01", "#,
            )),
            1,
            "invalid type: integer `643`, expected a string",
        ),
        case(
            "date: a number",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": 20250301, "#,
            )),
            1,
            "invalid type: integer `20250301`, expected a string",
        ),
        case(
            "date: a boolean",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "reported_on": true, "#,
            )),
            1,
            "invalid type: boolean `true`, expected a string",
        ),
        case(
            "sources: an object",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "sources": {"name": "x"}, "#,
            )),
            1,
            "invalid type: map, expected a sequence",
        ),
        case(
            "source kind: outside the vocabulary",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "sources": [{"name": "x", "kind": "blog"}], "#,
            )),
            1,
            "unknown variant `blog`",
        ),
        case(
            "event: a string",
            Record(envelope(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
                r#""DiplomatsExpelled""#,
            )),
            1,
            "invalid type: string \"DiplomatsExpelled\", expected internally tagged enum Event",
        ),
        case(
            "count: a string",
            Record(on_rus_usa(
                r#"{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": "3"}"#,
            )),
            1,
            "invalid type: string \"3\", expected u32",
        ),
        case(
            "count: negative",
            Record(on_rus_usa(
                r#"{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": -3}"#,
            )),
            1,
            "invalid value: integer `-3`, expected u32",
        ),
        case(
            "count: over 2^32",
            Record(on_rus_usa(
                r#"{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 4294967296}"#,
            )),
            1,
            "invalid value: integer `4294967296`, expected u32",
        ),
        case(
            "count: a fraction",
            Record(on_rus_usa(
                r#"{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 3.0}"#,
            )),
            1,
            "invalid type: floating point `3.0`, expected u32",
        ),
        case(
            "reciprocal: a string",
            Record(on_rus_usa(
                r#"{"type": "StepAgreed", "step": "s9", "description": "d", "reciprocal": "yes"}"#,
            )),
            1,
            "invalid type: string \"yes\", expected a boolean",
        ),
        case(
            "stage: outside the vocabulary",
            Record(on_rus_usa(
                r#"{"type": "StepProgressed", "step": "mission-financing", "stage": "agreed"}"#,
            )),
            1,
            "unknown variant `agreed`",
        ),
        case(
            "a required field missing",
            Record(with_envelope_fields(r#""dyad": "RUS-USA", "#)),
            1,
            "missing field `occurred_on`",
        ),
        case(
            "a required field null",
            Record(with_envelope_fields(
                r#""dyad": null, "occurred_on": "2025-03-01", "#,
            )),
            1,
            "invalid type: null, expected a string",
        ),
        case(
            "a field given twice",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "duplicate field `dyad`",
        ),
        // Dates.
        case(
            "an impossible date",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-02-30", "#,
            )),
            1,
            "date `2025-02-30` does not exist",
        ),
        case(
            "a month out of range",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-13-01", "#,
            )),
            1,
            "date `2025-13-01` does not exist",
        ),
        case(
            "a date not written YYYY-MM-DD",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-3-1", "#,
            )),
            1,
            "date `2025-3-1` is not an ISO date: expected `YYYY-MM-DD`",
        ),
        case(
            "a year out of range",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "+12025-03-01", "#,
            )),
            1,
            "date `+12025-03-01` is not an ISO date",
        ),
        case(
            "reported before it occurred",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "reported_on": "2025-02-28", "#,
            )),
            1,
            "reported_on 2025-02-28 is before occurred_on 2025-03-01",
        ),
        // Strings: empty, huge, bad characters.
        case(
            "an empty id",
            Record(with_envelope_fields(
                r#""id": "", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "event id is empty",
        ),
        case(
            "an empty item id",
            Record(on_rus_usa(
                r#"{"type": "StepAgreed", "step": "", "description": "d"}"#,
            )),
            1,
            "item id is empty",
        ),
        case(
            "an empty category",
            Record(on_rus_usa(
                r#"{"type": "StepAgreed", "step": "s9", "description": "d", "category": ""}"#,
            )),
            1,
            "category is empty",
        ),
        case(
            "an id with a space",
            Record(with_envelope_fields(
                r#""id": "a b", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "event id `a b` has the character ' '",
        ),
        case(
            "an id with a slash",
            Record(with_envelope_fields(
                r#""id": "a/b", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "event id `a/b` has the character '/'",
        ),
        case(
            "an id with a non-ASCII letter",
            Record(with_envelope_fields(
                r#""id": "résumé", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "event id `résumé` has the character 'é'",
        ),
        case(
            "an id of 129 characters",
            Record(with_envelope_fields(&format!(
                r#""id": "{}", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
                text_of(129)
            ))),
            1,
            "is 129 characters long: at most 128 are allowed",
        ),
        case(
            "a category in upper case",
            Record(on_rus_usa(
                r#"{"type": "StepAgreed", "step": "s9", "description": "d", "category": "Visas"}"#,
            )),
            1,
            "category `Visas` has the character 'V'",
        ),
        case(
            "a description over 4 KiB",
            Record(big_description),
            1,
            "field `event.description` is 5000 bytes long: at most 4096 are allowed",
        ),
        case(
            "33 sources",
            Record(many_sources),
            1,
            "field `sources` has 33 items: at most 32 are allowed",
        ),
        case(
            "257 topics",
            Record(many_topics),
            1,
            "field `event.topics` has 257 items: at most 256 are allowed",
        ),
        // Dyads and parties.
        case(
            "a dyad of one party",
            Record(with_envelope_fields(
                r#""dyad": "RUS", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "dyad `RUS` is malformed: expected two party codes joined by `-`",
        ),
        case(
            "a dyad naming the same party twice",
            Record(with_envelope_fields(
                r#""dyad": "RUS-RUS", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "dyad `RUS-RUS` names the same party twice",
        ),
        case(
            "a dyad in lower case",
            Record(with_envelope_fields(
                r#""dyad": "rus-usa", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "party `rus` is not a party code",
        ),
        case(
            "an unassigned party code",
            Record(with_envelope_fields(
                r#""dyad": "RUS-XXX", "occurred_on": "2025-03-01", "#,
            )),
            1,
            "party `XXX` is not in the registry",
        ),
        case(
            "an actor outside the dyad",
            Record(on_rus_usa(
                r#"{"type": "DiplomatsExpelled", "expelled_by": "TUR", "count": 3}"#,
            )),
            1,
            "party TUR is outside the dyad RUS-USA",
        ),
        case(
            "a delegation outside the dyad",
            Record(on_rus_usa(
                r#"{"type": "TalksHeld", "location": {"city": "Istanbul", "country": "TUR"}, "delegations": [{"party": "TUR", "head": {"name": "x"}}]}"#,
            )),
            1,
            "party TUR is outside the dyad RUS-USA",
        ),
        case(
            "two delegations of one party",
            Record(on_rus_usa(
                r#"{"type": "TalksHeld", "location": {"city": "Istanbul", "country": "TUR"}, "delegations": [{"party": "RUS", "head": {"name": "x"}}, {"party": "RUS", "head": {"name": "y"}}]}"#,
            )),
            1,
            "talks list two delegations of RUS",
        ),
        case(
            "a mediator that is a party of the dyad",
            Record(on_rus_usa(
                r#"{"type": "TalksHeld", "location": {"city": "Istanbul", "country": "TUR"}, "delegations": [{"party": "RUS", "head": {"name": "x"}}], "mediators": ["USA"]}"#,
            )),
            1,
            "USA is named as a mediator of talks of RUS-USA, but it is one of the dyad's parties",
        ),
        // Unknown names.
        case(
            "an unknown event type",
            Record(on_rus_usa(r#"{"type": "Teleported"}"#)),
            1,
            "unknown variant `Teleported`",
        ),
        case(
            "an unknown envelope field",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "extra": 1, "#,
            )),
            1,
            "unknown field `extra`",
        ),
        case(
            "an unknown event field",
            Record(on_rus_usa(
                r#"{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 3, "why": "x"}"#,
            )),
            1,
            "unknown field `why`",
        ),
        case(
            "an unknown source field",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "sources": [{"name": "x", "date": "2025-03-01"}], "#,
            )),
            1,
            "unknown field `date`",
        ),
        case(
            "a schema field on an input",
            Record(with_envelope_fields(
                r#""dyad": "RUS-USA", "occurred_on": "2025-03-01", "schema": 1, "#,
            )),
            1,
            "unknown field `schema`",
        ),
        // References.
        case(
            "a step never agreed",
            Record(on_rus_usa(
                r#"{"type": "StepProgressed", "step": "never-agreed", "stage": "implemented"}"#,
            )),
            1,
            "step `never-agreed` does not exist on 2025-03-01",
        ),
        case(
            "a claim never raised",
            Record(on_rus_usa(
                r#"{"type": "ClaimProgressed", "claim": "never-raised", "status": "resolved"}"#,
            )),
            1,
            "claim `never-raised` does not exist on 2025-03-01",
        ),
        case(
            "a proposal never made",
            Record(on_rus_usa(
                r#"{"type": "ProposalAnswered", "proposal": "never-made", "response": "accepted"}"#,
            )),
            1,
            "proposal `never-made` does not exist on 2025-03-01",
        ),
        case(
            "an irritant never raised",
            Record(on_rus_usa(
                r#"{"type": "IrritantResolved", "irritant": "never-raised"}"#,
            )),
            1,
            "irritant `never-raised` does not exist on 2025-03-01",
        ),
        case(
            "a round never scheduled",
            Record(on_rus_usa(
                r#"{"type": "RoundCancelled", "round": "never-scheduled"}"#,
            )),
            1,
            "round `never-scheduled` does not exist on 2025-03-01",
        ),
        case(
            "a step agreed twice",
            Record(on_rus_usa(
                r#"{"type": "StepAgreed", "step": "mission-financing", "description": "again"}"#,
            )),
            1,
            "step `mission-financing` already exists",
        ),
        case(
            "a step progressed before it was agreed",
            Record(envelope(
                r#""dyad": "RUS-USA", "occurred_on": "2025-01-01", "#,
                r#"{"type": "StepProgressed", "step": "mission-financing", "stage": "implemented"}"#,
            )),
            1,
            "step `mission-financing` does not exist on 2025-01-01",
        ),
        case(
            "a retraction of an unknown id",
            Record(on_rus_usa(
                r#"{"type": "EventRetracted", "target": "no-such-event", "reason": "x"}"#,
            )),
            1,
            "event `no-such-event` is not recorded in dyad RUS-USA",
        ),
        case(
            "a retraction of a retraction",
            Record(on_rus_usa(
                r#"{"type": "EventRetracted", "target": "retract-expelled", "reason": "x"}"#,
            )),
            1,
            "event `retract-expelled` is itself a retraction",
        ),
        case(
            "a retraction of a retracted event",
            Record(on_rus_usa(
                r#"{"type": "EventRetracted", "target": "expelled", "reason": "x"}"#,
            )),
            1,
            "event `expelled` is already retracted by event `retract-expelled`",
        ),
        case(
            "a duplicate id with other content",
            Record(envelope(
                r#""id": "expelled", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
                EXPELLED,
            )),
            1,
            "id `expelled` is already recorded at position 1 with other content",
        ),
        // Import files.
        case(
            "an empty file",
            Import(Vec::new()),
            1,
            "holds no events: nothing to import",
        ),
        case(
            "a file of blank lines",
            Import(b"\n  \n\t\n".to_vec()),
            1,
            "holds no events: nothing to import",
        ),
        case(
            "a file that ends in the middle of a line",
            Import(format!("{good_line}\n{{\"dyad\": \"RUS-USA\", \"occ").into_bytes()),
            1,
            "line 2: EOF while parsing a string",
        ),
        case(
            "a bad line after good ones",
            Import(
                format!(
                    "{good_line}\n\n{}\n",
                    String::from_utf8(on_rus_usa(r#"{"type": "Teleported"}"#)).unwrap()
                )
                .into_bytes(),
            ),
            1,
            "line 3: unknown variant `Teleported`",
        ),
        case(
            "a refused event after good ones",
            Import(
                format!(
                    "{good_line}\n{}\n",
                    String::from_utf8(on_rus_usa(
                        r#"{"type": "IrritantResolved", "irritant": "never-raised"}"#
                    ))
                    .unwrap()
                )
                .into_bytes(),
            ),
            1,
            "line 2 (`ev-",
        ),
        case(
            "one id twice in a file with other content",
            Import(
                format!(
                    "{}\n{}\n",
                    String::from_utf8(envelope(
                        r#""id": "twice", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "#,
                        EXPELLED
                    ))
                    .unwrap(),
                    String::from_utf8(envelope(
                        r#""id": "twice", "dyad": "RUS-USA", "occurred_on": "2025-03-02", "#,
                        EXPELLED
                    ))
                    .unwrap()
                )
                .into_bytes(),
            ),
            1,
            "line 2: id `twice` appears on an earlier line with other content",
        ),
        case(
            "an import file with invalid UTF-8",
            Import(b"{\"dyad\": \"\xff\"}\n".to_vec()),
            1,
            "stream did not contain valid UTF-8",
        ),
        case(
            "an export line in a file of new events",
            Import(format!("{good_line}\n{{\"position\": 1, \"hash\": \"00\"}}\n").into_bytes()),
            1,
            "line 2: it holds recorded events (an export) but the file began with new events",
        ),
        // Exports: damaged, or from the future.
        case(
            "an export with a changed byte",
            DamagedExport(|mut lines| {
                lines[0] = lines[0].replacen("\"count\":35", "\"count\":36", 1);
                lines
            }),
            1,
            "line 1 (position 1): hash",
        ),
        case(
            "an export with a record removed",
            DamagedExport(|mut lines| {
                lines.remove(1);
                lines
            }),
            1,
            "line 2 (position 3): expected position 2",
        ),
        case(
            "an export with two records swapped",
            DamagedExport(|mut lines| {
                lines.swap(1, 2);
                lines
            }),
            1,
            "line 2 (position 3): expected position 2",
        ),
        case(
            "a partial export restored into an empty store",
            DamagedExport(|lines| lines[2..].to_vec()),
            1,
            "line 1 (position 3): expected position 1: the store is empty and the file skips positions 1 to 2: it is a partial export (`export --dyad` or `export --from-position`), or a cut one; a partial export cannot be restored as a copy of its store: record its events as new ones with `detente import --as-new`",
        ),
        case(
            "an export of a future schema",
            DamagedExport(|mut lines| {
                lines[0] = lines[0].replacen("\"schema\":1", "\"schema\":2", 1);
                lines
            }),
            1,
            "schema 2 is not the 1 this build restores: the export was written by a newer detente: upgrade detente",
        ),
        case(
            "an export over a store that holds other records",
            Args(&["import", "EXPORT-OF-OTHER-STORE"]),
            1,
            "holds another record at this position",
        ),
        // The store itself.
        case(
            "a store path that is a file",
            Special(Trouble::StoreIsAFile),
            1,
            "is not a detente store: it is a file, not a directory",
        ),
        case(
            "a read of a folder that holds no store",
            Special(Trouble::ReadOfAForeignFolder),
            1,
            "is not a detente store: the directory holds `.keep`, and none of a store's files",
        ),
        case(
            "a read of an absent store",
            Special(Trouble::ReadOfAnAbsentStore),
            1,
            "/absent: the path does not exist: record or import events first",
        ),
        case(
            "a refused record into an absent store",
            Special(Trouble::RefusedRecordIntoAnAbsentStore),
            1,
            "does not exist on 2025-03-01",
        ),
        case(
            "an unwritable directory",
            Special(Trouble::UnwritableDirectory),
            1,
            "error: store /sys/detente-store",
        ),
        case(
            "a store locked by another process",
            Special(Trouble::LockedByAnotherProcess),
            1,
            "is in use by another process",
        ),
        case(
            "verify of a store with a changed record",
            Special(Trouble::TamperedRecord),
            1,
            "record at position 2 is corrupt",
        ),
        case(
            "verify of a store with a record removed",
            Special(Trouble::RemovedRecord),
            1,
            "record at position 2 is corrupt: missing: the next stored position is 3",
        ),
        case(
            "verify of a store with two records swapped",
            Special(Trouble::SwappedRecords),
            1,
            "record at position 2 is corrupt: the record says position 3",
        ),
        case(
            "a store whose data file was cut short",
            Special(Trouble::TruncatedDataFile),
            1,
            "is damaged: sled's data file `db` is",
        ),
        // Usage errors.
        case(
            "an unknown command",
            Args(&["teleport"]),
            2,
            "unrecognized subcommand 'teleport'",
        ),
        case(
            "a malformed dyad argument",
            Args(&["state", "--dyad", "RUSUSA"]),
            2,
            "dyad `RUSUSA` is malformed",
        ),
        case(
            "an impossible date argument",
            Args(&["state", "--dyad", "RUS-USA", "--as-of", "2025-02-30"]),
            2,
            "date `2025-02-30` does not exist",
        ),
        case(
            "a negative position argument",
            Args(&["state", "--dyad", "RUS-USA", "--at-position", "-1"]),
            2,
            "`-1` is not a position: give a whole number from 0 (before the first event) to the store's head",
        ),
        case(
            "a position past the head",
            Args(&["state", "--dyad", "RUS-USA", "--at-position", "1000"]),
            1,
            "--at-position 1000 is past the head of store",
        ),
        case(
            "an export from past the head",
            Args(&["export", "--from-position", "99"]),
            1,
            "--from-position 99 is past the head of store",
        ),
        case(
            "a dyad the store does not hold",
            Args(&["state", "--dyad", "ARM-AZE"]),
            1,
            "dyad ARM-AZE has no events in store",
        ),
    ]
}

/// The events the store holds before every case: an expulsion, retracted; a step; talks.
fn seed(path: &Path) {
    let inputs: Vec<NewEvent> = [
        r#"{"id": "expelled", "dyad": "RUS-USA", "occurred_on": "2016-12-29", "reported_on": "2016-12-29",
            "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 35}}"#,
        r#"{"id": "step", "dyad": "RUS-USA", "occurred_on": "2025-02-27", "reported_on": "2025-02-28",
            "event": {"type": "StepAgreed", "step": "mission-financing", "description": "financing of the missions"}}"#,
        r#"{"id": "talks", "dyad": "RUS-USA", "occurred_on": "2025-02-27", "reported_on": "2025-02-28",
            "event": {"type": "TalksHeld", "location": {"city": "Istanbul", "country": "TUR"},
                      "delegations": [{"party": "RUS", "head": {"name": "Alexander Darchiev"}}]}}"#,
        r#"{"id": "retract-expelled", "dyad": "RUS-USA", "occurred_on": "2025-03-01", "reported_on": "2025-03-01",
            "event": {"type": "EventRetracted", "target": "expelled", "reason": "recorded in the wrong dyad"}}"#,
    ]
    .iter()
    .map(|text| serde_json::from_str(text).unwrap())
    .collect();
    let engine = Engine::open(path).unwrap();
    engine.record_batch(inputs).unwrap();
}

/// What a store holds, read with the library: its head and every record (hashes included).
fn snapshot(path: &Path) -> (u64, String, Vec<RecordedEvent>) {
    let engine = Engine::open(path).unwrap();
    let head = engine.head();
    let log = engine.log(1).collect::<Result<Vec<_>, _>>().unwrap();
    (head.position, head.hash.to_string(), log)
}

use crate::{Run as Outcome, run_detente as detente};

/// Runs one case in `dir` (a fresh copy of the seeded store at `dir/store`); returns what the
/// program said, after checking that the store is unchanged.
fn run(case: &Case, dir: &Path, seeded: &Path) -> Outcome {
    let store = dir.join("store");
    crate::copy_dir(seeded, &store);
    let mut checked_store = store.clone();
    let mut before = Some(snapshot(&store));
    let outcome = match &case.input {
        Input::Record(bytes) => detente(&store, &["record", "-"], bytes),
        Input::Import(bytes) => {
            let file = dir.join("input.jsonl");
            std::fs::write(&file, bytes).unwrap();
            detente(&store, &["import", file.to_str().unwrap()], b"")
        }
        Input::DamagedExport(damage) => {
            let export = snapshot(&store).2;
            let lines: Vec<String> = export
                .iter()
                .map(|record| serde_json::to_string(record).unwrap())
                .collect();
            let file = dir.join("export.jsonl");
            let damaged = damage(lines.clone());
            assert_ne!(damaged, lines, "{}: the damage changed nothing", case.name);
            std::fs::write(&file, damaged.join("\n") + "\n").unwrap();
            checked_store = dir.join("empty");
            before = None;
            detente(&checked_store, &["import", file.to_str().unwrap()], b"")
        }
        Input::Args(args) => {
            let args: Vec<String> = args
                .iter()
                .map(|arg| {
                    if *arg == "EXPORT-OF-OTHER-STORE" {
                        other_export(dir).to_str().unwrap().to_owned()
                    } else {
                        (*arg).to_owned()
                    }
                })
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            detente(&store, &args, b"")
        }
        Input::Special(special) => return run_special(*special, dir, &store),
    };
    let after = match &before {
        Some(_) => Some(snapshot(&checked_store)),
        None => {
            // An import into an empty store that failed leaves it empty.
            let engine = Engine::open(&checked_store).unwrap();
            assert_eq!(
                engine.head().position,
                0,
                "{}: the store is not empty",
                case.name
            );
            None
        }
    };
    assert!(before == after, "{}: the store changed", case.name);
    outcome
}

/// An export of a store with other records than the seeded one.
fn other_export(dir: &Path) -> PathBuf {
    let other = dir.join("other");
    let engine = Engine::open(&other).unwrap();
    engine
        .record(serde_json::from_slice(&on_rus_usa(EXPELLED)).unwrap())
        .unwrap();
    let lines: Vec<String> = engine
        .log(1)
        .map(|record| serde_json::to_string(&record.unwrap()).unwrap())
        .collect();
    let file = dir.join("other.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    file
}

fn run_special(special: Trouble, dir: &Path, store: &Path) -> Outcome {
    match special {
        Trouble::StoreIsAFile => {
            let file = dir.join("a-file");
            std::fs::write(&file, b"not a store").unwrap();
            let outcome = detente(&file, &["record", "-"], &on_rus_usa(EXPELLED));
            assert_eq!(std::fs::read(&file).unwrap(), b"not a store");
            outcome
        }
        Trouble::ReadOfAForeignFolder => {
            let folder = dir.join("papers");
            std::fs::create_dir(&folder).unwrap();
            std::fs::write(folder.join(".keep"), b"").unwrap();
            let outcome = detente(&folder, &["stats"], b"");
            let names: Vec<_> = std::fs::read_dir(&folder)
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect();
            assert_eq!(names, [".keep"], "stats wrote into the folder");
            outcome
        }
        Trouble::ReadOfAnAbsentStore => {
            let absent = dir.join("absent");
            let outcome = detente(&absent, &["state", "--dyad", "RUS-USA"], b"");
            assert!(!absent.exists(), "state created a store");
            outcome
        }
        Trouble::RefusedRecordIntoAnAbsentStore => {
            let absent = dir.join("absent");
            let outcome = detente(
                &absent,
                &["record", "-"],
                &on_rus_usa(r#"{"type": "IrritantResolved", "irritant": "none"}"#),
            );
            assert!(!absent.exists(), "the refused record left a store behind");
            outcome
        }
        Trouble::UnwritableDirectory => {
            // Tests may run as root, whom file modes do not stop: /sys refuses everyone.
            let path = Path::new("/sys/detente-store");
            let outcome = detente(path, &["record", "-"], &on_rus_usa(EXPELLED));
            assert!(!path.exists());
            outcome
        }
        Trouble::LockedByAnotherProcess => {
            let before = snapshot(store);
            let holder = Engine::open(store).unwrap();
            let outcome = detente(store, &["record", "-"], &on_rus_usa(EXPELLED));
            drop(holder);
            assert!(before == snapshot(store), "the locked store changed");
            outcome
        }
        Trouble::TamperedRecord => {
            {
                let raw =
                    detente::store::Store::open(store, detente::store::StoreConfig::default())
                        .unwrap();
                raw.tamper_record_byte_for_tests(2, 120).unwrap();
            }
            let files_before = std::fs::read(store.join("db")).unwrap();
            let outcome = detente(store, &["verify"], b"");
            let files_after = std::fs::read(store.join("db")).unwrap();
            assert_eq!(files_before.len(), files_after.len());
            outcome
        }
        Trouble::RemovedRecord | Trouble::SwappedRecords => {
            // Behind the store's back, in sled's own tree: the record at position 2 deleted
            // with its position index entry, or the records at positions 2 and 3 swapped.
            // Format 3: `p` + big-endian first position -> a run of (dyad + day) entries of 14
            // bytes, one per position from the first on; the record is under `r` + dyad +
            // day + big-endian position.
            {
                let db = sled::open(store).unwrap();
                let log = db.open_tree("log").unwrap();
                let run_key = |position: u64| [&[b'p'][..], &position.to_be_bytes()].concat();
                // The run holding `position`: its first position and its entries.
                let run = |position: u64| {
                    let (key, value) = log
                        .range(run_key(0)..=run_key(position))
                        .next_back()
                        .unwrap()
                        .unwrap();
                    (
                        u64::from_be_bytes(key[1..].try_into().unwrap()),
                        value.to_vec(),
                    )
                };
                let key = |position: u64| {
                    let (first, entries) = run(position);
                    let at = (position - first) as usize * 14;
                    [&[b'r'][..], &entries[at..at + 14], &position.to_be_bytes()].concat()
                };
                if matches!(special, Trouble::RemovedRecord) {
                    let (first, entries) = run(2);
                    log.remove(key(2)).unwrap();
                    // The run without position 2: what is before it, and after it.
                    let at = (2 - first) as usize * 14;
                    log.remove(run_key(first)).unwrap();
                    if at > 0 {
                        log.insert(run_key(first), &entries[..at]).unwrap();
                    }
                    if entries.len() > at + 14 {
                        log.insert(run_key(3), &entries[at + 14..]).unwrap();
                    }
                } else {
                    let second = log.get(key(2)).unwrap().unwrap();
                    let third = log.get(key(3)).unwrap().unwrap();
                    log.insert(key(2), third).unwrap();
                    log.insert(key(3), second).unwrap();
                }
                db.flush().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            detente(store, &["verify"], b"")
        }
        Trouble::TruncatedDataFile => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(store.join("db"))
                .unwrap();
            let length = file.metadata().unwrap().len();
            file.set_len(length / 2).unwrap();
            drop(file);
            let before = std::fs::read(store.join("db")).unwrap();
            let outcome = detente(store, &["state", "--dyad", "RUS-USA"], b"");
            assert_eq!(std::fs::read(store.join("db")).unwrap(), before);
            outcome
        }
    }
}

/// A short rendering of a case's input, for the documentation.
fn describe(input: &Input) -> String {
    let short = |bytes: &[u8]| {
        let text: String = String::from_utf8_lossy(bytes)
            .chars()
            .map(|c| match c {
                '\n' => "⏎".to_owned(),
                c if c.is_control() => c.escape_unicode().to_string(),
                c => c.to_string(),
            })
            .collect();
        let mut short: String = text.chars().take(90).collect();
        if text.chars().count() > 90 {
            short.push('…');
        }
        short
    };
    match input {
        Input::Record(bytes) => format!("record: {}", short(bytes)),
        Input::Import(bytes) => format!("import file: {}", short(bytes)),
        Input::DamagedExport(_) => {
            "import of the seeded store's export, damaged, into an empty store".into()
        }
        Input::Args(args) => format!("detente {}", args.join(" ")),
        Input::Special(Trouble::StoreIsAFile) => "detente --store A-FILE record -".into(),
        Input::Special(Trouble::ReadOfAForeignFolder) => {
            "detente --store DIR stats, where DIR holds only a file `.keep`".into()
        }
        Input::Special(Trouble::ReadOfAnAbsentStore) => {
            "detente --store ABSENT state --dyad RUS-USA".into()
        }
        Input::Special(Trouble::RefusedRecordIntoAnAbsentStore) => {
            "detente --store ABSENT record - with an event the checks refuse".into()
        }
        Input::Special(Trouble::UnwritableDirectory) => {
            "detente --store /sys/detente-store record - (a directory no one may create)".into()
        }
        Input::Special(Trouble::LockedByAnotherProcess) => {
            "detente record - while another process has the store open".into()
        }
        Input::Special(Trouble::TamperedRecord) => {
            "detente verify after a byte of the record at position 2 was changed inside the store"
                .into()
        }
        Input::Special(Trouble::RemovedRecord) => {
            "detente verify after the record at position 2 was deleted from sled's tree".into()
        }
        Input::Special(Trouble::SwappedRecords) => {
            "detente verify after the records at positions 2 and 3 were swapped in sled's tree"
                .into()
        }
        Input::Special(Trouble::TruncatedDataFile) => {
            "detente state after sled's db file was cut to half its length".into()
        }
    }
}

#[test]
fn every_bad_input_gets_a_clear_error_and_leaves_the_store_as_it_was() {
    let cases = cases();
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        assert!(names.insert(case.name), "two cases named {:?}", case.name);
    }
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let root = tempfile::tempdir().unwrap();
    let seeded = root.path().join("seeded");
    seed(&seeded);
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let dir = root.path().join(format!("case-{index}"));
        std::fs::create_dir_all(&dir).unwrap();
        let outcome = run(case, &dir, &seeded);
        let first_line = outcome
            .stderr
            .lines()
            .next()
            .unwrap_or("")
            .replace(dir.to_str().unwrap(), "DIR");
        rows.push(format!(
            "| {} | {} | {} | {} |",
            case.name,
            describe(&case.input).replace('|', "\\|"),
            outcome.code,
            first_line.replace('|', "\\|")
        ));
        if outcome.code != case.code || !outcome.stderr.contains(case.needle) {
            failures.push(format!(
                "{}: expected exit {} and {:?}, got exit {}: {}",
                case.name, case.code, case.needle, outcome.code, outcome.stderr
            ));
        }
        if outcome.code == 1 && !outcome.stderr.starts_with("error: ") {
            failures.push(format!(
                "{}: stderr does not start with `error: `",
                case.name
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    if let Ok(file) = std::env::var("DETENTE_FAILURES_DUMP") {
        std::fs::write(file, rows.join("\n") + "\n").unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_case_is_documented() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/failures.md"))
            .unwrap();
    for case in cases() {
        let row = doc
            .lines()
            .find(|line| line.starts_with(&format!("| {} |", case.name)))
            .unwrap_or_else(|| panic!("docs/failures.md has no row for {:?}", case.name));
        assert!(
            row.contains(&format!("| {} |", case.code)),
            "{:?}: the row does not give exit {}: {row}",
            case.name,
            case.code
        );
        let needle = case.needle.replace('|', "\\|");
        assert!(
            row.contains(&needle),
            "{:?}: the row does not quote {:?}: {row}",
            case.name,
            case.needle
        );
    }
}
