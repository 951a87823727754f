//! The upcaster seam (`detente::domain::upcast`): every record read passes through it. A
//! first-edition export of wire format 1, frozen before the second edition existed, reads as
//! today's types byte for byte and restores; today's frozen export of every type does too
//! (`fixtures.rs`); a newer version is refused by the restore as such, not as damage.

use detente::domain::upcast::{EDITIONS, UpcastError, reads, upcast};
use detente::domain::{ChainHash, RecordedEvent, SCHEMA_VERSION};
use detente::engine::Engine;

/// Written on 2026-11-28 by the first edition of wire format 1 (three records, one with a
/// quote of every awkward character), before the second edition's types existed.
const FIRST_EDITION: &str = include_str!("../fixtures/store-chain-v1.jsonl");
const EVERY_TYPE: &str = include_str!("../fixtures/export-wire1-every-type.jsonl");

#[test]
fn a_first_edition_export_reads_as_today_s_types_byte_for_byte() {
    assert_eq!((EDITIONS.len(), SCHEMA_VERSION), (2, 1));
    let mut previous = ChainHash::ZERO;
    for line in FIRST_EDITION.lines().chain(EVERY_TYPE.lines()) {
        let record: RecordedEvent = serde_json::from_str(line).unwrap();
        // Through the seam, and back: the same bytes, so the same chain.
        assert_eq!(serde_json::to_string(&record).unwrap(), line);
        assert_eq!(upcast(record.clone()).as_ref(), Ok(&record));
        if record.position == 1 {
            previous = ChainHash::ZERO;
        }
        assert_eq!(record.chain_hash(&previous), record.hash, "{line}");
        previous = record.hash;
    }
    let records: Vec<RecordedEvent> = FIRST_EDITION
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let restored = engine.restore_checked(records.clone(), true).unwrap();
    assert_eq!(restored.restored, records.len() as u64);
    assert_eq!(engine.head().hash, records.last().unwrap().hash);
    engine.verify().unwrap();
}

#[test]
fn a_record_of_a_newer_version_is_left_for_the_restore_to_refuse_as_newer() {
    let line = FIRST_EDITION.lines().next().unwrap();
    let edited = line.replace(r#""schema":1"#, r#""schema":0"#);
    assert_ne!(edited, line);
    let err = serde_json::from_str::<RecordedEvent>(&edited).unwrap_err();
    assert!(
        err.to_string()
            .contains("wire format version 0, which never existed"),
        "{err}"
    );
    // A newer version reads as far as its shape allows, and the restore names it as newer.
    let newer: RecordedEvent =
        serde_json::from_str(&line.replace(r#""schema":1"#, r#""schema":2"#)).unwrap();
    assert_eq!((newer.schema, reads(newer.schema)), (2, false));
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let err = engine.restore(vec![newer]).unwrap_err();
    assert!(
        err.to_string()
            .contains("schema 2 is not the 1 this build restores"),
        "{err}"
    );
    assert_eq!(engine.head().position, 0);
    let mut record: RecordedEvent = serde_json::from_str(line).unwrap();
    record.schema = 0;
    assert_eq!(upcast(record), Err(UpcastError::Unknown { found: 0 }));
}
