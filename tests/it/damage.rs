//! Damage: what a store and an export do when their bytes are not what was written.
//!
//! Each test is a crash story: its opening comment names the failure it guards against. The
//! promise (issue 8, `docs/failures.md`): damage is found and reported with its position, or
//! the store refuses to open with an error pointing to export-based recovery; never a panic,
//! never a silently shorter or different log.

use std::path::{Path, PathBuf};

use detente::domain::RecordedEvent;
use detente::engine::{Engine, EngineError, VerifyFailure};
use detente::store::{Store, StoreConfig, StoreError};

/// A store holding the Istanbul scenario (14 events), closed; and its export.
fn closed_store(dir: &Path) -> (PathBuf, Vec<RecordedEvent>) {
    let path = dir.join("store");
    let engine = Engine::open(&path).unwrap();
    engine
        .record_batch(detente::scenario::istanbul_2025())
        .unwrap();
    let export = engine.log(1).collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(export.len(), 14);
    drop(engine);
    (path, export)
}

/// Opens a damaged store: either a `Damaged` error that points to export-based recovery, or a
/// store that holds every event of `export`, verifiably. Returns whether it opened.
#[track_caller]
fn opens_whole_or_says_damaged(path: &Path, export: &[RecordedEvent]) -> bool {
    let opened = std::panic::catch_unwind(|| Engine::open(path));
    let Ok(opened) = opened else {
        panic!("opening {} panicked", path.display());
    };
    match opened {
        Ok(engine) => {
            let log = engine.log(1).collect::<Result<Vec<_>, _>>().unwrap();
            assert_eq!(log, export, "a damaged store opened with another log");
            engine.verify().unwrap();
            true
        }
        Err(EngineError::Store(err @ StoreError::Damaged { .. })) => {
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("the store at {} is damaged: ", path.display())),
                "{text}"
            );
            assert!(
                text.contains("restore it from an export with `detente import`"),
                "{text}"
            );
            for debug_text in ["offset None", "backtrace"] {
                assert!(!text.contains(debug_text), "sled's debug text: {text}");
            }
            false
        }
        Err(other) => panic!("expected a damaged store, got: {other}"),
    }
}

#[test]
fn a_truncated_data_file_is_refused_before_sled_rewrites_it() {
    // Story: a disk full, a bad copy or a crashed backup tool leaves sled's `db` file cut
    // short. sled's recovery keeps the intact prefix and rewrites the file: the store opened
    // as an empty (or shorter) log, silently, and the rest was gone for good. Now the open is
    // refused, and the files are left exactly as they were found.
    let dir = tempfile::tempdir().unwrap();
    let (path, export) = closed_store(dir.path());
    let length = std::fs::metadata(path.join("db")).unwrap().len();
    for cut_to in [0, 1000, length / 2, length - 1] {
        let copy = dir.path().join(format!("cut-{cut_to}"));
        crate::copy_dir(&path, &copy);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(copy.join("db"))
            .unwrap();
        file.set_len(cut_to).unwrap();
        drop(file);
        let before = std::fs::read(copy.join("db")).unwrap();
        assert!(
            !opens_whole_or_says_damaged(&copy, &export),
            "cut to {cut_to}"
        );
        let err = Engine::open(&copy).err().unwrap().to_string();
        assert!(err.contains("it was cut short"), "{err}");
        assert_eq!(
            std::fs::read(copy.join("db")).unwrap(),
            before,
            "the refused open changed the files"
        );
    }
}

#[test]
fn a_deleted_data_file_is_refused() {
    // Story: sled's `db` file is deleted by hand or lost in a copy; sled would create a new,
    // empty store in its place.
    let dir = tempfile::tempdir().unwrap();
    let (path, export) = closed_store(dir.path());
    std::fs::remove_file(path.join("db")).unwrap();
    assert!(!opens_whole_or_says_damaged(&path, &export));
}

#[test]
fn flipped_bytes_anywhere_in_the_data_file_never_give_a_shorter_log() {
    // Story: bit rot or a stray write changes bytes inside sled's `db` file. sled's checksums
    // stop its recovery at the first bad message and it keeps only what came before: without
    // a check, the store opened with fewer events (often none) and `verify` passed on what
    // was left. Now the store either opens whole (the bytes were in space sled no longer
    // uses) or refuses to open, naming the loss.
    let dir = tempfile::tempdir().unwrap();
    let (path, export) = closed_store(dir.path());
    let length = std::fs::metadata(path.join("db")).unwrap().len() as usize;
    let mut n_refused = 0;
    for offset in (0..length).step_by(length / 16) {
        let copy = dir.path().join(format!("flip-{offset}"));
        crate::copy_dir(&path, &copy);
        let mut bytes = std::fs::read(copy.join("db")).unwrap();
        for byte in bytes.iter_mut().skip(offset).take(16) {
            *byte ^= 0x5a;
        }
        std::fs::write(copy.join("db"), bytes).unwrap();
        if !opens_whole_or_says_damaged(&copy, &export) {
            n_refused += 1;
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    assert!(n_refused > 0, "no flip reached the data sled reads");
}

#[test]
fn flipped_bytes_in_a_store_written_in_several_sessions_never_give_a_shorter_log() {
    // Story: a store written by several processes one after another has a sled snapshot
    // beside its log, and one changed byte there makes sled itself report corruption on open
    // (two or three of the 48 offsets tried here). Its error text, "Read corrupted data at file offset
    // None backtrace ()", reached the user as is; now the message says what it means, and the
    // store still either opens whole or refuses to open.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let events = detente::scenario::istanbul_2025();
    for chunk in events.chunks(3) {
        let engine = Engine::open(&path).unwrap();
        engine.record_batch(chunk.to_vec()).unwrap();
    }
    let export = {
        let engine = Engine::open(&path).unwrap();
        engine.log(1).collect::<Result<Vec<_>, _>>().unwrap()
    };
    let length = std::fs::metadata(path.join("db")).unwrap().len() as usize;
    let mut n_sled_corruption = 0;
    for offset in (0..length).step_by(length / 48) {
        let copy = dir.path().join(format!("flip-{offset}"));
        crate::copy_dir(&path, &copy);
        let mut bytes = std::fs::read(copy.join("db")).unwrap();
        bytes[offset] ^= 0x20;
        std::fs::write(copy.join("db"), bytes).unwrap();
        if !opens_whole_or_says_damaged(&copy, &export) {
            let text = Engine::open(&copy).err().unwrap().to_string();
            if text.contains("sled found corrupt data in its data file `db`") {
                n_sled_corruption += 1;
            }
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    assert!(n_sled_corruption > 0, "no flip made sled report corruption");
}

#[test]
fn a_salvaged_copy_that_kept_less_is_reported_by_verify_not_called_consistent() {
    // Story: the store refuses to open, damaged; the user follows `docs/failures.md` to read
    // what sled kept, in a copy whose mark is set aside. sled kept a prefix, often none of
    // the log. Before, the copy opened empty and `verify` said "consistent" with 0 events;
    // now `verify` says the copy holds less than the store it came from.
    let dir = tempfile::tempdir().unwrap();
    let (path, export) = closed_store(dir.path());
    let length = std::fs::metadata(path.join("db")).unwrap().len() as usize;
    let mut n_salvaged = 0;
    for offset in (0..length).step_by(length / 16) {
        let copy = dir.path().join(format!("salvage-{offset}"));
        crate::copy_dir(&path, &copy);
        let mut bytes = std::fs::read(copy.join("db")).unwrap();
        for byte in bytes.iter_mut().skip(offset).take(16) {
            *byte ^= 0x5a;
        }
        std::fs::write(copy.join("db"), bytes).unwrap();
        if opens_whole_or_says_damaged(&copy, &export) {
            std::fs::remove_dir_all(&copy).unwrap();
            continue;
        }
        std::fs::rename(
            copy.join(detente::store::HIGH_WATER_MARK_FILE),
            copy.join(detente::store::SALVAGE_MARK_FILE),
        )
        .unwrap();
        let Ok(salvaged) = Engine::open(&copy) else {
            // sled itself refuses the files: there is nothing to salvage.
            std::fs::remove_dir_all(&copy).unwrap();
            continue;
        };
        let kept = salvaged.head().position;
        assert!(
            kept < 14,
            "a refused store salvaged whole at offset {offset}"
        );
        let log = salvaged.log(1).collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(log, export[..kept as usize], "what sled kept is a prefix");
        match salvaged.verify() {
            Err(EngineError::Verify(VerifyFailure::Log(
                err @ StoreError::Salvaged {
                    position,
                    reached: 14,
                    ..
                },
            ))) => {
                assert_eq!(position, kept);
                let text = err.to_string();
                assert!(text.contains("is a salvaged copy"), "{text}");
                if kept == 0 {
                    assert!(text.contains("it holds no events"), "{text}");
                }
            }
            other => panic!("a salvaged copy of {kept} events verified: {other:?}"),
        }
        n_salvaged += 1;
        drop(salvaged);
        std::fs::remove_dir_all(&copy).unwrap();
    }
    assert!(n_salvaged > 0, "no damage left anything to salvage");

    // A salvage that lost nothing verifies.
    let whole = dir.path().join("salvage-whole");
    crate::copy_dir(&path, &whole);
    std::fs::rename(
        whole.join(detente::store::HIGH_WATER_MARK_FILE),
        whole.join(detente::store::SALVAGE_MARK_FILE),
    )
    .unwrap();
    let engine = Engine::open(&whole).unwrap();
    assert_eq!(engine.verify().unwrap().events, 14);
}

#[test]
fn an_unreadable_high_water_mark_is_refused_not_ignored() {
    // Story: the mark beside sled's files (`detente-head`) is overwritten with garbage. It is
    // what lets an open find a lost suffix, so it is not silently skipped.
    let dir = tempfile::tempdir().unwrap();
    let (path, export) = closed_store(dir.path());
    std::fs::write(path.join(detente::store::HIGH_WATER_MARK_FILE), "garbage").unwrap();
    assert!(!opens_whole_or_says_damaged(&path, &export));
    let err = Engine::open(&path).err().unwrap().to_string();
    assert!(err.contains("detente-head"), "{err}");
}

#[test]
fn a_store_without_a_mark_opens_and_gets_one() {
    // Story: a store written before the mark existed (or whose mark was deleted) opens as it
    // is, and is protected from then on. (To read what is left of a damaged store, the mark is
    // set aside instead: see the salvage story below.)
    let dir = tempfile::tempdir().unwrap();
    let (path, export) = closed_store(dir.path());
    std::fs::remove_file(path.join(detente::store::HIGH_WATER_MARK_FILE)).unwrap();
    assert!(opens_whole_or_says_damaged(&path, &export));
    assert!(path.join(detente::store::HIGH_WATER_MARK_FILE).exists());
}

#[test]
fn a_changed_record_inside_the_store_is_found_by_verify_with_its_position() {
    // Story: a record's bytes change inside sled's tree (a bug, a tool writing to the tree)
    // while sled's own checksums stay valid. `verify` must name the position; reads that
    // decode it must fail rather than fold something else.
    let dir = tempfile::tempdir().unwrap();
    let (path, _export) = closed_store(dir.path());
    for (position, byte_index) in [(3, 70), (7, 120), (12, 200)] {
        let copy = dir.path().join(format!("tamper-{position}"));
        crate::copy_dir(&path, &copy);
        let store = Store::open(&copy, StoreConfig::default()).unwrap();
        store
            .tamper_record_byte_for_tests(position, byte_index)
            .unwrap();
        drop(store);
        let engine = Engine::open(&copy).unwrap();
        match engine.verify() {
            Err(EngineError::Verify(VerifyFailure::Log(StoreError::Corrupt {
                position: found,
                ..
            }))) => assert_eq!(found, position),
            other => panic!("verify after tampering with position {position}: {other:?}"),
        }
    }
}

#[test]
fn a_changed_last_record_is_refused_on_open() {
    // Story: the last record, the one the mark points at, is changed: the store refuses to
    // open rather than answer from it.
    let dir = tempfile::tempdir().unwrap();
    let (path, export) = closed_store(dir.path());
    let store = Store::open(&path, StoreConfig::default()).unwrap();
    store.tamper_record_byte_for_tests(14, 120).unwrap();
    drop(store);
    assert!(!opens_whole_or_says_damaged(&path, &export));
}

/// The position `Engine::restore` names for a damaged export, and that it stored nothing.
#[track_caller]
fn restore_refuses(records: Vec<RecordedEvent>, expected_position: u64) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("copy")).unwrap();
    match engine.restore(records) {
        Err(EngineError::Store(StoreError::BadRestore { position, .. })) => {
            assert_eq!(position, expected_position)
        }
        other => panic!("expected a refused restore, got {other:?}"),
    }
    assert_eq!(
        engine.head().position,
        0,
        "a refused restore stored something"
    );
}

#[test]
fn a_damaged_export_is_refused_by_restore_naming_the_position() {
    // Story: an export is edited (one byte of a text), loses a record, or has two records
    // swapped, in transit or by hand. Restoring it must refuse, naming the first position
    // that does not continue the chain, and store nothing.
    let dir = tempfile::tempdir().unwrap();
    let (_path, export) = closed_store(dir.path());
    let mut edited = export.clone();
    edited[4].occurred_on = edited[4].occurred_on.succ_opt().unwrap();
    restore_refuses(edited, 5);

    let mut missing = export.clone();
    missing.remove(6);
    restore_refuses(missing, 8);

    let mut swapped = export.clone();
    swapped.swap(9, 10);
    restore_refuses(swapped, 11);
}
