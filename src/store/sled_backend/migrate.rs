//! Migrating a store of format 1 to format 2, in place, crash-safely.
//!
//! Format 1 keyed records by position (`L`+position) with a dyad index (`D`) and a head key
//! (`H`); format 2 keys them by dyad, date and position (`R`), with a position index (`P`) and
//! retraction marks (`X`). The id index (`I`) and the dyad versions (`V`) are the same in both,
//! and so are the record bytes.
//!
//! The steps, each safe to interrupt:
//!
//! 1. The high-water mark is checked against the format-1 log, so that a damaged store is
//!    refused before anything is written.
//! 2. The `R`, `P` and `X` keys are written in chunks (one `apply_batch` each) and flushed.
//!    Writing them again gives the same keys and values, so a crash here leaves a store of
//!    format 1 (which ignores them) that the next open migrates from the start.
//! 3. The format version is set to 2 and flushed: from here on the store is read as format 2.
//! 4. The `L`, `D` and `H` keys are deleted in chunks. A crash here leaves some of them;
//!    every open of a format-2 store deletes what is left ([`remove_leftovers`]).

use std::collections::HashSet;
use std::path::Path;

use super::codec::{
    PLACE_KEY_LEN, decode_record, decode_u64, id_key, position_key, position_value, record_key,
    retracted_key, v1,
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
    meta.insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())
        .map_err(|err| io_error(path, err))?;
    db.flush().map_err(|err| io_error(path, err))?;
    remove_leftovers(path, db, log)
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
    let mut marked: HashSet<[u8; PLACE_KEY_LEN]> = HashSet::new();
    for entry in log.range(v1::log_key(0)..=v1::log_key(u64::MAX)) {
        let (key, bytes) = entry.map_err(io)?;
        let position = decode_u64(&key[1..])
            .map_err(|reason| fail(format!("a record key is malformed: {reason}")))?;
        let record = decode_v1(position, &bytes).map_err(fail)?;
        batch.insert(&record_key(record.dyad, TimeKey::of(&record)), bytes);
        batch.insert(
            &position_key(position),
            &position_value(record.dyad, record.occurred_on),
        );
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
                let mark = retracted_key(target.dyad, TimeKey::of(&target));
                if marked.insert(mark) {
                    batch.insert(&mark, &position.to_be_bytes());
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

/// Step 4, and on every open of a format-2 store: deletes the keys of format 1 that are left.
pub(super) fn remove_leftovers(
    path: &Path,
    db: &sled::Db,
    log: &sled::Tree,
) -> Result<(), StoreError> {
    let io = |err: sled::Error| io_error(path, err);
    let mut removed = false;
    for prefix in [v1::LOG_PREFIX, v1::DYAD_PREFIX] {
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
        assert_eq!(count_prefix(&path, super::super::codec::RECORD_PREFIX), 16);
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
            matches!(&err, StoreError::Migration { found: 1, supported: 2, reason, .. }
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
}
