//! Migrating a store of format 1 or 2 to format 3, in place, crash-safely: format 1 is
//! migrated to format 2 ([`from_v1`]), then format 2 to format 3 ([`from_v2`]).
//!
//! Format 1 keyed records by position (`L`+position) with a dyad index (`D`) and a head key
//! (`H`); format 2 keys them by dyad, date and position (`R`), with a position index (`P`) and
//! retraction marks (`X`). The id index (`I`) and the dyad versions (`V`) are the same in both,
//! and so are the record bytes.
//!
//! Format 3 has the keys of format 2 under lower-case prefixes (`r`, `p`, `v`, `x`), with a
//! dyad in 10 bytes (two packed codes of 2 to 8 letters) instead of its 7-byte text, one
//! position index key per run of positions instead of one per record, and records in encoding
//! 3 (encoding 2 with the 10-byte dyad). The id index (`I`) is the same.
//!
//! The steps from format 1 to 2, each safe to interrupt:
//!
//! 1. The high-water mark is checked against the format-1 log, so that a damaged store is
//!    refused before anything is written.
//! 2. The `R`, `P` and `X` keys are written in chunks (one `apply_batch` each) and flushed.
//!    Writing them again gives the same keys and values, so a crash here leaves a store of
//!    format 1 (which ignores them) that the next open migrates from the start.
//! 3. The format version is set to 2 and flushed: from here on the store is read as format 2.
//! 4. The `L`, `D` and `H` keys are deleted in chunks. A crash here leaves some of them;
//!    every open of a format-2 store deletes what is left ([`remove_leftovers`]).
//!
//! The steps from format 2 to 3, each safe to interrupt, are the same:
//!
//! 1. The high-water mark is checked against the format-2 log.
//! 2. Any format-3 keys (left by an interrupted migration) are deleted, then the `r`, `p`, `v`
//!    and `x` keys are written in chunks and flushed. A crash here leaves a store of format 2,
//!    which ignores them, and which the next open migrates from the start.
//! 3. The format version is set to 3 and flushed.
//! 4. The `R`, `P`, `V` and `X` keys are deleted in chunks; every open deletes what is left.

use std::collections::HashSet;
use std::path::Path;

use super::codec::{
    RECORD_PREFIX, RETRACTED_PREFIX, RUN_ENTRY_LEN, RUN_MAX, RUN_PREFIX, VERSION_PREFIX,
    decode_record, decode_u64, encode_record, id_key, record_key, retracted_key, run_entry,
    run_key, v1, v2, version_key,
};
use super::{FORMAT_KEY, FORMAT_VERSION, Head, HighWaterMark, StoreError, TimeKey, io_error};
use crate::domain::{Event, RecordedEvent};

/// How many records (or old keys) one batch of the migration writes (or deletes).
const CHUNK: usize = 4096;

/// Migrates the format-1 store open as `db` to format 2 (steps 1 to 4 above).
pub(super) fn from_v1(
    path: &Path,
    db: &sled::Db,
    meta: &sled::Tree,
    log: &sled::Tree,
    mark: Option<&HighWaterMark>,
) -> Result<(), StoreError> {
    if let Some(mark) = mark {
        let head = Head {
            position: last_v1_position(path, log)?,
            ..Head::default()
        };
        mark.check_log(path, &head, |position| read_v1(path, log, position))?;
    }
    write_v2_keys(path, log)?;
    db.flush().map_err(|err| io_error(path, err))?;
    meta.insert(FORMAT_KEY, &2u32.to_be_bytes())
        .map_err(|err| io_error(path, err))?;
    db.flush().map_err(|err| io_error(path, err))?;
    remove_v1_leftovers(path, db, log)
}

/// Step 2: the `R`, `P` and `X` keys of every format-1 record, in chunks.
pub(super) fn write_v2_keys(path: &Path, log: &sled::Tree) -> Result<(), StoreError> {
    let fail = |reason: String| StoreError::Migration {
        path: path.to_owned(),
        found: 1,
        supported: FORMAT_VERSION,
        reason,
    };
    let io = |err: sled::Error| io_error(path, err);
    let mut batch = sled::Batch::default();
    let mut in_batch = 0;
    let mut marked: HashSet<Vec<u8>> = HashSet::new();
    for entry in log.range(v1::log_key(0)..=v1::log_key(u64::MAX)) {
        let (key, bytes) = entry.map_err(io)?;
        let position = decode_u64(&key[1..])
            .map_err(|reason| fail(format!("a record key is malformed: {reason}")))?;
        let record = decode_v1(position, &bytes).map_err(fail)?;
        let dyad = v2::dyad_bytes(record.dyad).ok_or_else(|| {
            fail(format!(
                "the record at position {position} is of dyad {}, which format 2 cannot hold",
                record.dyad
            ))
        })?;
        let place = v2::place_key(v2::RECORD_PREFIX, dyad, TimeKey::of(&record));
        batch.insert(&place[..], bytes);
        batch.insert(&v2::position_key(position), &place[1..12]);
        if let Event::EventRetracted(retraction) = &record.event {
            let target = if retraction.target == record.id {
                Some(record.clone())
            } else {
                match log.get(id_key(&retraction.target)).map_err(io)? {
                    Some(value) => {
                        let at = decode_u64(&value).map_err(|reason| {
                            fail(format!("the id index of `{}`: {reason}", retraction.target))
                        })?;
                        read_v1(path, log, at).map_err(|err| fail(err.to_string()))?
                    }
                    None => None,
                }
            };
            if let Some(target) = target
                && target.dyad == record.dyad
                && target.position <= position
            {
                let mark = v2::place_key(v2::RETRACTED_PREFIX, dyad, TimeKey::of(&target));
                if marked.insert(mark.clone()) {
                    batch.insert(mark, &position.to_be_bytes());
                }
            }
        }
        in_batch += 1;
        if in_batch == CHUNK {
            log.apply_batch(std::mem::take(&mut batch)).map_err(io)?;
            in_batch = 0;
        }
    }
    log.apply_batch(batch).map_err(io)?;
    Ok(())
}

/// Migrates the store open as `db`, of format 2 (`found` is the format it was opened in: 1
/// when [`from_v1`] has just made it format 2), to format 3 (steps 1 to 4 above).
pub(super) fn from_v2(
    path: &Path,
    db: &sled::Db,
    meta: &sled::Tree,
    log: &sled::Tree,
    mark: Option<&HighWaterMark>,
    found: u32,
) -> Result<(), StoreError> {
    if let Some(mark) = mark {
        let head = Head {
            position: last_v2_position(path, log, found)?,
            ..Head::default()
        };
        mark.check_log(path, &head, |position| read_v2(path, log, position))?;
    }
    remove_prefixes(
        path,
        log,
        &[RECORD_PREFIX, RUN_PREFIX, VERSION_PREFIX, RETRACTED_PREFIX],
    )?;
    write_v3_keys(path, log, found)?;
    db.flush().map_err(|err| io_error(path, err))?;
    meta.insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())
        .map_err(|err| io_error(path, err))?;
    db.flush().map_err(|err| io_error(path, err))?;
    remove_leftovers(path, db, log)
}

/// Step 2 from format 2: the `r`, `p`, `v` and `x` keys of every format-2 key, in chunks.
pub(super) fn write_v3_keys(path: &Path, log: &sled::Tree, found: u32) -> Result<(), StoreError> {
    let fail = |reason: String| StoreError::Migration {
        path: path.to_owned(),
        found,
        supported: FORMAT_VERSION,
        reason,
    };
    let io = |err: sled::Error| io_error(path, err);
    let mut writer = Chunked {
        path,
        log,
        batch: sled::Batch::default(),
        in_batch: 0,
    };
    // The records, re-encoded in encoding 3 under their format-3 keys.
    for entry in log.scan_prefix([v2::RECORD_PREFIX]) {
        let (key, bytes) = entry.map_err(io)?;
        let (dyad, at) = v2::decode_place_key(&key)
            .map_err(|reason| fail(format!("a record key is malformed: {reason}")))?;
        let record = decode_record(&bytes).map_err(|reason| {
            fail(format!(
                "the record at position {} does not decode: {reason}",
                at.position
            ))
        })?;
        if (record.dyad, record.occurred_on, record.position) != (dyad, at.on, at.position) {
            return Err(fail(format!(
                "the record of dyad {} on {} at position {} is stored under dyad {dyad} on {} at position {}",
                record.dyad, record.occurred_on, record.position, at.on, at.position
            )));
        }
        writer.insert(record_key(dyad, at).to_vec(), encode_record(&record))?;
    }
    // The position index, in runs of consecutive positions.
    let mut run: Option<(u64, Vec<u8>)> = None;
    for entry in log.range(v2::position_key(0)..=v2::position_key(u64::MAX)) {
        let (key, value) = entry.map_err(io)?;
        let position = decode_u64(&key[1..])
            .map_err(|reason| fail(format!("a position index key is malformed: {reason}")))?;
        let place = v2::record_key_of(position, &value)
            .and_then(|key| v2::decode_place_key(&key))
            .map_err(|reason| fail(format!("the position index of {position}: {reason}")))?;
        let entry = run_entry(place.0, place.1.on);
        match &mut run {
            Some((first, entries))
                if entries.len() < RUN_MAX * RUN_ENTRY_LEN
                    && *first + (entries.len() / RUN_ENTRY_LEN) as u64 == position =>
            {
                entries.extend_from_slice(&entry);
            }
            _ => {
                if let Some((first, entries)) = run.take() {
                    writer.insert(run_key(first).to_vec(), entries)?;
                }
                run = Some((position, entry.to_vec()));
            }
        }
    }
    if let Some((first, entries)) = run {
        writer.insert(run_key(first).to_vec(), entries)?;
    }
    // The dyads' versions and the retraction marks.
    for entry in log.scan_prefix([v2::VERSION_PREFIX]) {
        let (key, value) = entry.map_err(io)?;
        let dyad = v2::decode_dyad(&key[1..])
            .map_err(|reason| fail(format!("a dyad version key is malformed: {reason}")))?;
        writer.insert(version_key(dyad).to_vec(), value.to_vec())?;
    }
    for entry in log.scan_prefix([v2::RETRACTED_PREFIX]) {
        let (key, value) = entry.map_err(io)?;
        let (dyad, at) = v2::decode_place_key(&key)
            .map_err(|reason| fail(format!("a retraction mark key is malformed: {reason}")))?;
        writer.insert(retracted_key(dyad, at).to_vec(), value.to_vec())?;
    }
    writer.finish()
}

/// Writes in batches of [`CHUNK`] keys.
struct Chunked<'a> {
    path: &'a Path,
    log: &'a sled::Tree,
    batch: sled::Batch,
    in_batch: usize,
}

impl Chunked<'_> {
    fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StoreError> {
        self.batch.insert(key, value);
        self.in_batch += 1;
        if self.in_batch == CHUNK {
            self.in_batch = 0;
            self.log
                .apply_batch(std::mem::take(&mut self.batch))
                .map_err(|err| io_error(self.path, err))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), StoreError> {
        self.log
            .apply_batch(self.batch)
            .map_err(|err| io_error(self.path, err))
    }
}

/// Deletes every key under each of `prefixes`, in chunks; whether it deleted any.
fn remove_prefixes(path: &Path, log: &sled::Tree, prefixes: &[u8]) -> Result<bool, StoreError> {
    let io = |err: sled::Error| io_error(path, err);
    let mut removed = false;
    for &prefix in prefixes {
        loop {
            let keys: Vec<sled::IVec> = log
                .scan_prefix([prefix])
                .keys()
                .take(CHUNK)
                .collect::<Result<_, _>>()
                .map_err(io)?;
            if keys.is_empty() {
                break;
            }
            let mut batch = sled::Batch::default();
            for key in keys {
                batch.remove(key);
            }
            log.apply_batch(batch).map_err(io)?;
            removed = true;
        }
    }
    Ok(removed)
}

/// Step 4, and on every open of a format-3 store: deletes the keys of formats 1 and 2 that
/// are left.
pub(super) fn remove_leftovers(
    path: &Path,
    db: &sled::Db,
    log: &sled::Tree,
) -> Result<(), StoreError> {
    if remove_prefixes(path, log, &v2::PREFIXES)? {
        db.flush().map_err(|err| io_error(path, err))?;
    }
    remove_v1_leftovers(path, db, log)
}

/// Step 4 from format 1: deletes the keys of format 1 that are left.
fn remove_v1_leftovers(path: &Path, db: &sled::Db, log: &sled::Tree) -> Result<(), StoreError> {
    let io = |err: sled::Error| io_error(path, err);
    let mut removed = remove_prefixes(path, log, &[v1::LOG_PREFIX, v1::DYAD_PREFIX])?;
    // Looked up first, so that an open of a store without leftovers writes nothing.
    if log.contains_key(v1::HEAD_KEY).map_err(io)? {
        log.remove(v1::HEAD_KEY).map_err(io)?;
        removed = true;
    }
    if removed {
        db.flush().map_err(io)?;
    }
    Ok(())
}

/// The last position of a format-1 log (0 when empty).
fn last_v1_position(path: &Path, log: &sled::Tree) -> Result<u64, StoreError> {
    let last = log
        .range(v1::log_key(0)..=v1::log_key(u64::MAX))
        .next_back()
        .transpose()
        .map_err(|err| io_error(path, err))?;
    match last {
        Some((key, _)) => decode_u64(&key[1..]).map_err(|reason| StoreError::Migration {
            path: path.to_owned(),
            found: 1,
            supported: FORMAT_VERSION,
            reason: format!("a record key is malformed: {reason}"),
        }),
        None => Ok(0),
    }
}

/// The last position of a format-2 log (0 when empty).
fn last_v2_position(path: &Path, log: &sled::Tree, found: u32) -> Result<u64, StoreError> {
    let last = log
        .range(v2::position_key(0)..=v2::position_key(u64::MAX))
        .next_back()
        .transpose()
        .map_err(|err| io_error(path, err))?;
    match last {
        Some((key, _)) => decode_u64(&key[1..]).map_err(|reason| StoreError::Migration {
            path: path.to_owned(),
            found,
            supported: FORMAT_VERSION,
            reason: format!("a position index key is malformed: {reason}"),
        }),
        None => Ok(0),
    }
}

/// The format-2 record at `position`.
fn read_v2(
    path: &Path,
    log: &sled::Tree,
    position: u64,
) -> Result<Option<RecordedEvent>, StoreError> {
    let io = |err: sled::Error| io_error(path, err);
    let Some(value) = log.get(v2::position_key(position)).map_err(io)? else {
        return Ok(None);
    };
    let key = v2::record_key_of(position, &value)
        .map_err(|reason| StoreError::Corrupt { position, reason })?;
    match log.get(key).map_err(io)? {
        Some(bytes) => decode_v1(position, &bytes)
            .map(Some)
            .map_err(|reason| StoreError::Corrupt { position, reason }),
        None => Ok(None),
    }
}

/// The format-1 record at `position`.
fn read_v1(
    path: &Path,
    log: &sled::Tree,
    position: u64,
) -> Result<Option<RecordedEvent>, StoreError> {
    match log
        .get(v1::log_key(position))
        .map_err(|err| io_error(path, err))?
    {
        Some(bytes) => decode_v1(position, &bytes)
            .map(Some)
            .map_err(|reason| StoreError::Corrupt { position, reason }),
        None => Ok(None),
    }
}

fn decode_v1(position: u64, bytes: &[u8]) -> Result<RecordedEvent, String> {
    let record = decode_record(bytes)
        .map_err(|reason| format!("the record at position {position} does not decode: {reason}"))?;
    if record.position != position {
        return Err(format!(
            "the record stored at position {position} says position {}",
            record.position
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::super::{LOG_TREE, META_TREE};
    use super::*;
    use crate::store::{Store, StoreConfig};

    /// A copy of the format-1 fixture (the Istanbul scenario, written by the build before
    /// format 2) in a temporary directory.
    fn fixture() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1");
        std::fs::create_dir(&path).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), path.join(entry.file_name())).unwrap();
            }
        }
        (dir, path)
    }

    fn format_of(path: &Path) -> u32 {
        let db = sled::open(path).unwrap();
        let meta = db.open_tree(META_TREE).unwrap();
        let bytes = meta.get(FORMAT_KEY).unwrap().unwrap();
        u32::from_be_bytes(bytes.as_ref().try_into().unwrap())
    }

    fn count_prefix(path: &Path, prefix: u8) -> usize {
        let db = sled::open(path).unwrap();
        db.open_tree(LOG_TREE)
            .unwrap()
            .scan_prefix([prefix])
            .count()
    }

    fn settle() {
        // sled releases its file lock from background threads a little after a drop.
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    #[test]
    fn the_fixture_is_of_format_1() {
        let (_dir, path) = fixture();
        assert_eq!(format_of(&path), 1);
        assert_eq!(count_prefix(&path, v1::LOG_PREFIX), 16);
    }

    #[test]
    fn a_migration_interrupted_before_the_flip_is_done_again_from_the_start() {
        let (_dir, path) = fixture();
        {
            let db = sled::open(&path).unwrap();
            let log = db.open_tree(LOG_TREE).unwrap();
            write_v2_keys(&path, &log).unwrap();
            db.flush().unwrap();
        }
        settle();
        // Still format 1, with format-2 keys beside the old ones: a crash before step 3.
        assert_eq!(format_of(&path), 1);
        assert_eq!(count_prefix(&path, v2::RECORD_PREFIX), 16);
        settle();
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        assert_eq!(store.verify().unwrap().position, 16);
        drop(store);
        settle();
        assert_eq!(format_of(&path), FORMAT_VERSION);
        assert_eq!(count_prefix(&path, v1::LOG_PREFIX), 0);
    }

    #[test]
    fn old_keys_left_by_an_interrupted_cleanup_are_removed_on_the_next_open() {
        let (_dir, path) = fixture();
        let before = {
            let store = Store::open(&path, StoreConfig::default()).unwrap();
            store.read_log(1).collect::<Result<Vec<_>, _>>().unwrap()
        };
        settle();
        {
            // A crash during step 4: some old keys are still there.
            let db = sled::open(&path).unwrap();
            let log = db.open_tree(LOG_TREE).unwrap();
            log.insert(v1::log_key(3), b"old".to_vec()).unwrap();
            log.insert([v1::DYAD_PREFIX, b'x'], b"old".to_vec())
                .unwrap();
            log.insert(v1::HEAD_KEY, b"old".to_vec()).unwrap();
            db.flush().unwrap();
        }
        settle();
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        assert_eq!(store.verify().unwrap().position, 16);
        assert_eq!(
            store.read_log(1).collect::<Result<Vec<_>, _>>().unwrap(),
            before
        );
        drop(store);
        settle();
        for prefix in [v1::LOG_PREFIX, v1::DYAD_PREFIX, v1::HEAD_KEY[0]] {
            assert_eq!(count_prefix(&path, prefix), 0);
        }
    }

    #[test]
    fn a_record_that_does_not_decode_stops_the_migration_and_leaves_format_1() {
        let (_dir, path) = fixture();
        {
            let db = sled::open(&path).unwrap();
            let log = db.open_tree(LOG_TREE).unwrap();
            log.insert(v1::log_key(5), b"\x01garbage".to_vec()).unwrap();
            db.flush().unwrap();
        }
        settle();
        let err = Store::open(&path, StoreConfig::default()).unwrap_err();
        assert!(
            matches!(&err, StoreError::Migration { found: 1, supported: 3, reason, .. }
                if reason.contains("position 5")),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.starts_with("store "), "{text}");
        assert!(text.contains("export it with that build"), "{text}");
        settle();
        assert_eq!(format_of(&path), 1);
        assert_eq!(count_prefix(&path, v1::LOG_PREFIX), 16);
    }

    /// A store of format 2 as the build before format 3 wrote it, from the frozen bytes of
    /// record encoding 2 (`tests/fixtures/record-encoding-2.hex`, one record of every event
    /// type, with the export they came from): its `R`, `P`, `I`, `V` and `X` keys.
    fn format_2_store() -> (tempfile::TempDir, std::path::PathBuf, Vec<RecordedEvent>) {
        let records: Vec<RecordedEvent> =
            include_str!("../../../tests/fixtures/export-wire1-every-type.jsonl")
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
        let frozen: Vec<Vec<u8>> = include_str!("../../../tests/fixtures/record-encoding-2.hex")
            .lines()
            .map(|line| {
                (0..line.len())
                    .step_by(2)
                    .map(|at| u8::from_str_radix(&line[at..at + 2], 16).unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(records.len(), frozen.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        {
            let db = sled::open(&path).unwrap();
            let meta = db.open_tree(META_TREE).unwrap();
            meta.insert(FORMAT_KEY, &2u32.to_be_bytes()).unwrap();
            let log = db.open_tree(LOG_TREE).unwrap();
            let mut versions = std::collections::HashMap::new();
            for (record, bytes) in records.iter().zip(frozen) {
                let dyad = v2::dyad_bytes(record.dyad).unwrap();
                let key = v2::place_key(v2::RECORD_PREFIX, dyad, TimeKey::of(record));
                log.insert(&key[..], bytes).unwrap();
                log.insert(v2::position_key(record.position), &key[1..12])
                    .unwrap();
                log.insert(id_key(&record.id), &record.position.to_be_bytes())
                    .unwrap();
                versions.insert(dyad, record.version);
                if let Event::EventRetracted(retraction) = &record.event {
                    let target = records.iter().find(|r| r.id == retraction.target).unwrap();
                    let mark = v2::place_key(v2::RETRACTED_PREFIX, dyad, TimeKey::of(target));
                    log.insert(mark, &record.position.to_be_bytes()).unwrap();
                }
            }
            for (dyad, version) in versions {
                let key = [&[v2::VERSION_PREFIX][..], &dyad].concat();
                log.insert(key, &version.to_be_bytes()).unwrap();
            }
            db.flush().unwrap();
        }
        settle();
        (dir, path, records)
    }

    #[test]
    fn a_store_of_format_2_from_the_frozen_bytes_is_migrated_on_open() {
        let (_dir, path, records) = format_2_store();
        assert_eq!(count_prefix(&path, v2::RECORD_PREFIX), records.len());
        settle();
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        assert_eq!(store.migrated_from(), Some(2));
        assert_eq!(store.verify().unwrap().position, records.len() as u64);
        assert_eq!(
            store.read_log(1).collect::<Result<Vec<_>, _>>().unwrap(),
            records
        );
        // The retraction mark came along: the retracted record is marked by its retraction.
        let retraction = records
            .iter()
            .find(|r| matches!(r.event, Event::EventRetracted(_)))
            .unwrap();
        let Event::EventRetracted(retracted) = &retraction.event else {
            unreachable!()
        };
        let target = records.iter().find(|r| r.id == retracted.target).unwrap();
        assert_eq!(
            store
                .retraction_of(target.dyad, TimeKey::of(target))
                .unwrap(),
            Some(retraction.position)
        );
        // A dyad of an organization records in the migrated store, and reads back.
        let event: crate::domain::NewEvent = serde_json::from_str(
            r#"{"dyad":"GBR-EU","occurred_on":"2020-01-31",
                "event":{"type":"DiplomatsExpelled","expelled_by":"EU","count":1}}"#,
        )
        .unwrap();
        let appended = store
            .append(vec![event], &crate::store::AppendOptions::default())
            .unwrap();
        let head = store.head();
        drop(store);
        settle();
        assert_eq!(format_of(&path), FORMAT_VERSION);
        for prefix in v2::PREFIXES {
            assert_eq!(count_prefix(&path, prefix), 0, "{}", prefix as char);
        }
        assert_eq!(count_prefix(&path, RECORD_PREFIX), records.len() + 1);
        settle();
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        assert_eq!(store.migrated_from(), None);
        assert_eq!(store.verify().unwrap(), head);
        assert_eq!(
            store.get_position(head.position).unwrap().unwrap(),
            appended[0].record
        );
    }

    #[test]
    fn a_migration_of_format_2_interrupted_before_the_flip_is_done_again_from_the_start() {
        let (_dir, path, records) = format_2_store();
        {
            let db = sled::open(&path).unwrap();
            let log = db.open_tree(LOG_TREE).unwrap();
            write_v3_keys(&path, &log, 2).unwrap();
            // And a format-3 key that the next attempt would not write: it is cleared.
            log.insert(run_key(999), vec![0u8; RUN_ENTRY_LEN]).unwrap();
            db.flush().unwrap();
        }
        settle();
        assert_eq!(format_of(&path), 2);
        assert_eq!(count_prefix(&path, RECORD_PREFIX), records.len());
        settle();
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        assert_eq!(store.migrated_from(), Some(2));
        assert_eq!(store.verify().unwrap().position, records.len() as u64);
        assert_eq!(
            store.read_log(1).collect::<Result<Vec<_>, _>>().unwrap(),
            records
        );
    }

    #[test]
    fn a_format_2_store_short_of_its_high_water_mark_is_refused_before_anything_is_written() {
        let (_dir, path, records) = format_2_store();
        let last = records.last().unwrap();
        std::fs::write(
            path.join(super::super::HIGH_WATER_MARK_FILE),
            format!("{} {}\n", last.position + 3, last.hash),
        )
        .unwrap();
        let err = Store::open(&path, StoreConfig::default()).unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        settle();
        assert_eq!(format_of(&path), 2);
        assert_eq!(count_prefix(&path, RECORD_PREFIX), 0);
    }

    #[test]
    fn the_format_1_fixture_is_migrated_through_format_2_to_format_3() {
        let (_dir, path) = fixture();
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        assert_eq!(store.migrated_from(), Some(1));
        assert_eq!(store.verify().unwrap().position, 16);
        drop(store);
        settle();
        assert_eq!(format_of(&path), 3);
        for prefix in [v1::LOG_PREFIX, v1::DYAD_PREFIX, v1::HEAD_KEY[0]]
            .into_iter()
            .chain(v2::PREFIXES)
        {
            assert_eq!(count_prefix(&path, prefix), 0, "{}", prefix as char);
        }
        assert_eq!(count_prefix(&path, RECORD_PREFIX), 16);
    }
}
