//! The store through its public API: appends, expected versions, idempotency, reads, restore,
//! integrity, locking and concurrent writers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use detente::domain::{ChainHash, Dyad, NewEvent, RecordedEvent};
use detente::store::{
    AppendOptions, Backend, Durability, ExpectedVersion, MemoryBackend, PostgresBackend,
    RestoreMismatch, SledBackend, Store, StoreConfig, StoreError,
};

pub const DYADS: [&str; 3] = ["RUS-USA", "GBR-RUS", "FRA-RUS"];

/// An event `DiplomatsExpelled { expelled_by: RUS, count }` with this id on this dyad.
pub fn event(id: &str, dyad: &str, count: u32) -> NewEvent {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "dyad": dyad,
        "occurred_on": "2016-12-29",
        "sources": [{"name": "TASS", "kind": "news_agency"}],
        "event": {"type": "DiplomatsExpelled", "expelled_by": "RUS", "count": count},
    }))
    .unwrap()
}

pub fn dyad(text: &str) -> Dyad {
    text.parse().unwrap()
}

pub fn open(path: &Path) -> Store {
    Store::open(path, StoreConfig::default()).unwrap()
}

/// Where a conformance test keeps its logs: each test written once, generic over its home,
/// runs once per backend ([`on_every_backend!`]).
pub trait Home {
    /// The backend of the home's logs.
    type Backend: Backend + 'static;
    /// Whether the home's logs take room on disk.
    const ON_DISK: bool;
    /// Whether many stores may have one log open at once (PostgreSQL).
    const SHARED: bool = false;
    /// Whether the home cannot be had here (no PostgreSQL server): its tests then return.
    fn unavailable() -> bool {
        false
    }
    /// A new home, holding no log.
    fn new() -> Self;
    /// Opens the log named `name` in this home, creating it where absent. Opened again after
    /// the store is dropped, it is a reopen: on sled, of the folder; in memory, of the same
    /// maps (a reopen keeps them, as the process lives on).
    fn open(&self, name: &str) -> Store<Self::Backend> {
        self.open_with(name, StoreConfig::default())
    }
    /// [`Home::open`] with a configuration of the store's own.
    fn open_with(&self, name: &str, config: StoreConfig) -> Store<Self::Backend> {
        self.try_open(name, config).unwrap()
    }
    /// [`Home::open_with`], its error returned.
    fn try_open(&self, name: &str, config: StoreConfig)
    -> Result<Store<Self::Backend>, StoreError>;
}

/// Logs in sled folders of a temporary directory.
pub struct OnSled(tempfile::TempDir);

impl Home for OnSled {
    type Backend = SledBackend;
    const ON_DISK: bool = true;
    fn new() -> Self {
        OnSled(tempfile::tempdir().unwrap())
    }
    fn try_open(&self, name: &str, config: StoreConfig) -> Result<Store<SledBackend>, StoreError> {
        Store::open(&self.0.path().join(name), config)
    }
}

/// Logs in memory, by name.
pub struct InMemory(Mutex<HashMap<String, MemoryBackend>>);

impl Home for InMemory {
    type Backend = MemoryBackend;
    const ON_DISK: bool = false;
    fn new() -> Self {
        InMemory(Mutex::default())
    }
    fn try_open(
        &self,
        name: &str,
        config: StoreConfig,
    ) -> Result<Store<MemoryBackend>, StoreError> {
        let backend = self
            .0
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_default()
            .clone();
        Store::with_backend(backend, config)
    }
}

/// Logs in databases of the tests' PostgreSQL server, one fresh database per name.
pub struct OnPostgres(Mutex<HashMap<String, String>>);

impl Home for OnPostgres {
    type Backend = PostgresBackend;
    const ON_DISK: bool = true;
    const SHARED: bool = true;
    fn unavailable() -> bool {
        crate::postgres_server::server().is_none()
    }
    fn new() -> Self {
        OnPostgres(Mutex::default())
    }
    fn try_open(
        &self,
        name: &str,
        config: StoreConfig,
    ) -> Result<Store<PostgresBackend>, StoreError> {
        let url = self
            .0
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_insert_with(|| {
                crate::postgres_server::server()
                    .expect("a PostgreSQL test checks Home::unavailable first")
                    .fresh_database(name)
            })
            .clone();
        Store::open_postgres(&url, config)
    }
}

/// Instantiates each named test, a `fn name<H: Home>()`, once per backend: as
/// `on_sled::name`, `in_memory::name` and `on_postgres::name` (which returns at once where no
/// PostgreSQL server can be had).
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod on_postgres {
            $(
                #[test]
                fn $test() {
                    use $crate::store::Home;
                    if $crate::store::OnPostgres::unavailable() {
                        return;
                    }
                    super::$test::<$crate::store::OnPostgres>();
                }
            )*
        }
        mod on_sled {
            $(
                #[test]
                fn $test() {
                    super::$test::<$crate::store::OnSled>();
                }
            )*
        }
        mod in_memory {
            $(
                #[test]
                fn $test() {
                    super::$test::<$crate::store::InMemory>();
                }
            )*
        }
    };
}

on_every_backend!(
    appends_get_gap_free_positions_versions_and_a_chain,
    reads_by_dyad_range_position_and_id,
    a_stale_expected_version_is_a_conflict_naming_dyad_expected_and_actual,
    a_repeated_id_with_the_same_content_returns_the_stored_record,
    a_repeated_id_with_other_content_is_an_error_and_stores_nothing,
    recorded_at_never_goes_backwards_across_reopens,
    every_durability_mode_stores_the_same,
    an_export_restores_verbatim_into_an_empty_store,
    an_edited_missing_or_reordered_export_is_refused,
    a_restore_over_stored_ids_is_refused,
    aux_values_are_written_atomically_and_scanned_by_prefix,
    large_aux_values_of_any_size_read_back_scan_in_key_order_and_survive_a_reopen,
    a_second_open_in_this_process_is_locked_and_a_drop_releases_it,
    concurrent_writers_never_duplicate_or_skip_a_position_or_version,
    the_frozen_v1_export_restores_and_its_chain_holds,
    a_restore_skips_the_records_already_held_and_nothing_else,
    dyads_of_codes_of_two_to_eight_letters_record_reopen_export_and_verify,
);

pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store"));
    (dir, store)
}

pub fn expecting(pairs: &[(&str, ExpectedVersion)]) -> AppendOptions {
    let mut options = AppendOptions::default();
    for (text, expected) in pairs {
        options.expected.insert(dyad(text), *expected);
    }
    options
}

pub fn log<B: Backend>(store: &Store<B>) -> Vec<RecordedEvent> {
    store.read_log(0).collect::<Result<_, _>>().unwrap()
}

#[track_caller]
fn check_positions(appended: &[detente::store::Appended], expected: &[(u64, u64, bool)]) {
    let actual: Vec<(u64, u64, bool)> = appended
        .iter()
        .map(|a| (a.record.position, a.record.version, a.stored))
        .collect();
    assert_eq!(actual, expected);
}

fn appends_get_gap_free_positions_versions_and_a_chain<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    let appended = store
        .append(
            vec![
                event("a", "RUS-USA", 1),
                event("b", "GBR-RUS", 1),
                event("c", "USA-RUS", 2),
            ],
            &AppendOptions::default(),
        )
        .unwrap();
    check_positions(&appended, &[(1, 1, true), (2, 1, true), (3, 2, true)]);
    let records = log(&store);
    let mut previous = ChainHash::ZERO;
    for record in &records {
        assert_eq!(record.hash, record.chain_hash(&previous));
        previous = record.hash;
        assert_eq!(record.reported_on, record.recorded_at.date_naive());
        assert_eq!(record.recorded_at.timestamp_subsec_nanos() % 1000, 0);
    }
    assert_eq!(store.head().position, 3);
    assert_eq!(store.head().hash, previous);
    assert_eq!(store.verify().unwrap(), store.head());
    assert_eq!(
        store.dyads().unwrap(),
        vec![(dyad("GBR-RUS"), 1), (dyad("RUS-USA"), 2)]
    );
    let stats = store.stats().unwrap();
    assert_eq!((stats.events, stats.dyads, stats.head_position), (3, 2, 3));
    // sled's files take room on disk; memory's log takes none.
    assert_eq!(stats.size_on_disk > 0, H::ON_DISK, "{}", stats.size_on_disk);
}

fn reads_by_dyad_range_position_and_id<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    for n in 0..10 {
        let text = DYADS[n % 2];
        store
            .append(
                vec![event(&format!("e{n}"), text, 1)],
                &AppendOptions::default(),
            )
            .unwrap();
    }
    let versions: Vec<u64> = store
        .read_dyad(dyad("RUS-USA"), 2..=4)
        .map(|r| r.unwrap().version)
        .collect();
    assert_eq!(versions, vec![2, 3, 4]);
    let positions: Vec<u64> = store
        .read_dyad(dyad("RUS-USA"), 0..=u64::MAX)
        .map(|r| r.unwrap().position)
        .collect();
    assert_eq!(positions, vec![1, 3, 5, 7, 9]);
    #[allow(clippy::reversed_empty_ranges)]
    let empty = store.read_dyad(dyad("RUS-USA"), 4..=2).count();
    assert_eq!(empty, 0);
    assert_eq!(store.read_dyad(dyad("FRA-RUS"), 1..=9).count(), 0);
    let from_eight: Vec<u64> = store.read_log(8).map(|r| r.unwrap().position).collect();
    assert_eq!(from_eight, vec![8, 9, 10]);
    assert_eq!(store.read_log(11).count(), 0);
    assert_eq!(
        store.get(&"e4".parse().unwrap()).unwrap().unwrap().position,
        5
    );
    assert!(store.get(&"nope".parse().unwrap()).unwrap().is_none());
}

fn a_stale_expected_version_is_a_conflict_naming_dyad_expected_and_actual<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    store
        .append(vec![event("a", "RUS-USA", 1)], &AppendOptions::default())
        .unwrap();
    let cases = [
        (ExpectedVersion::NoStream, 1),
        (ExpectedVersion::Exact(0), 1),
        (ExpectedVersion::Exact(2), 1),
    ];
    for (expected, actual_version) in cases {
        let err = store
            .append(
                vec![event("b", "GBR-RUS", 1), event("c", "RUS-USA", 1)],
                &expecting(&[("RUS-USA", expected)]),
            )
            .unwrap_err();
        match err {
            StoreError::Conflict {
                dyad: d,
                expected: e,
                actual,
            } => assert_eq!((d, e, actual), (dyad("RUS-USA"), expected, actual_version)),
            other => panic!("expected a conflict, got {other}"),
        }
        assert!(err_text(&store, expected).contains("RUS-USA"));
    }
    // Nothing of the refused batches is stored.
    assert_eq!(store.head().position, 1);
    assert!(store.get(&"b".parse().unwrap()).unwrap().is_none());
    assert_eq!(store.dyad_version(dyad("GBR-RUS")).unwrap(), 0);
    // The right expectations pass.
    let appended = store
        .append(
            vec![event("b", "GBR-RUS", 1)],
            &expecting(&[
                ("RUS-USA", ExpectedVersion::Exact(1)),
                ("GBR-RUS", ExpectedVersion::NoStream),
            ]),
        )
        .unwrap();
    check_positions(&appended, &[(2, 1, true)]);
}

fn err_text<B: Backend>(store: &Store<B>, expected: ExpectedVersion) -> String {
    store
        .append(
            vec![event("z", "RUS-USA", 9)],
            &expecting(&[("RUS-USA", expected)]),
        )
        .map(|_| String::new())
        .unwrap_or_else(|err| err.to_string())
}

fn a_repeated_id_with_the_same_content_returns_the_stored_record<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    let first = store
        .append(vec![event("a", "RUS-USA", 1)], &AppendOptions::default())
        .unwrap();
    // Retrying the same append with its original expectation is not a conflict.
    let again = store
        .append(
            vec![event("a", "USA-RUS", 1), event("a", "RUS-USA", 1)],
            &expecting(&[("RUS-USA", ExpectedVersion::NoStream)]),
        )
        .unwrap();
    assert_eq!(again.len(), 2);
    for appended in &again {
        assert!(!appended.stored);
        assert_eq!(appended.record, first[0].record);
    }
    assert_eq!(store.head().position, 1);
}

fn a_repeated_id_with_other_content_is_an_error_and_stores_nothing<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    store
        .append(vec![event("a", "RUS-USA", 1)], &AppendOptions::default())
        .unwrap();
    let err = store
        .append(
            vec![event("b", "RUS-USA", 1), event("a", "RUS-USA", 2)],
            &AppendOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::IdConflict { id, position: 1 } if id.as_str() == "a"),
        "{err}"
    );
    // Inside one batch: the first wins, a different second is an error.
    let err = store
        .append(
            vec![event("c", "RUS-USA", 1), event("c", "RUS-USA", 3)],
            &AppendOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::IdConflict { id, .. } if id.as_str() == "c"),
        "{err}"
    );
    assert_eq!(store.head().position, 1);
    let appended = store
        .append(
            vec![event("c", "RUS-USA", 1), event("c", "RUS-USA", 1)],
            &AppendOptions::default(),
        )
        .unwrap();
    check_positions(&appended, &[(2, 2, true), (2, 2, false)]);
}

fn recorded_at_never_goes_backwards_across_reopens<H: Home>() {
    let home = H::new();
    let mut last = None;
    for round in 0..3 {
        let store = home.open("store");
        for n in 0..5 {
            let appended = store
                .append(
                    vec![event(&format!("r{round}-{n}"), "RUS-USA", 1)],
                    &AppendOptions::default(),
                )
                .unwrap();
            let recorded_at = appended[0].record.recorded_at;
            assert!(last.is_none_or(|last| last <= recorded_at));
            last = Some(recorded_at);
        }
    }
}

fn every_durability_mode_stores_the_same<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    for (n, durability) in [
        Durability::Buffered,
        Durability::Flushed,
        Durability::Synced,
    ]
    .into_iter()
    .enumerate()
    {
        let options = AppendOptions {
            durability,
            ..AppendOptions::default()
        };
        store
            .append(vec![event(&format!("d{n}"), "RUS-USA", 1)], &options)
            .unwrap();
    }
    store.flush().unwrap();
    assert_eq!(store.verify().unwrap().position, 3);
}

fn an_export_restores_verbatim_into_an_empty_store<H: Home>() {
    let home = H::new();
    let source = home.open("source");
    for n in 0..6 {
        source
            .append(
                vec![event(&format!("e{n}"), DYADS[n % 3], 1)],
                &AppendOptions::default(),
            )
            .unwrap();
    }
    // Through the wire format, as `detente export` and `detente import` would.
    let export: Vec<String> = log(&source)
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let records: Vec<RecordedEvent> = export
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let copy = home.open("copy");
    copy.restore(records[..2].to_vec()).unwrap();
    copy.restore(records[2..].to_vec()).unwrap();
    assert_eq!(log(&copy), records);
    assert_eq!(copy.verify().unwrap(), source.head());
    assert_eq!(copy.dyads().unwrap(), source.dyads().unwrap());
    // Appends continue the restored chain.
    copy.append(vec![event("next", "RUS-USA", 1)], &AppendOptions::default())
        .unwrap();
    assert_eq!(copy.verify().unwrap().position, 7);
}

/// Store format 3 keys a dyad by two codes of 2 to 8 letters: organizations, former states
/// and `XKX` record, read back by dyad and timeline after a reopen, in the order of their
/// text, and an export of them restores into another log.
fn dyads_of_codes_of_two_to_eight_letters_record_reopen_export_and_verify<H: Home>() {
    let home = H::new();
    let dyads = [
        "EU-GBR",
        "SRB-XKX",
        "SUN-USA",
        "AU-ETH",
        "AU-AUS",
        "EST-EU",
        "ASEAN-CHN",
        "EU-MERCOSUR",
        "NATO-RUS",
        "RUS-USA",
        "GBR-UN",
    ];
    {
        let store = home.open("store");
        for (n, dyad) in dyads.iter().enumerate() {
            for k in 0..2 {
                store
                    .append(
                        vec![event(&format!("e{n}-{k}"), dyad, 1 + k)],
                        &AppendOptions::default(),
                    )
                    .unwrap();
            }
        }
        // One batch over several dyads, so that its position index is one run.
        let batch: Vec<NewEvent> = dyads
            .iter()
            .enumerate()
            .map(|(n, dyad)| event(&format!("b{n}"), dyad, 9))
            .collect();
        store.append(batch, &AppendOptions::default()).unwrap();
    }
    let store = home.open("store");
    let head = store.verify().unwrap();
    assert_eq!(head.position, 3 * dyads.len() as u64);
    let mut listed: Vec<String> = store
        .dyads()
        .unwrap()
        .iter()
        .map(|(d, version)| {
            assert_eq!(*version, 3, "{d}");
            d.to_string()
        })
        .collect();
    listed.sort();
    let mut expected: Vec<String> = dyads.iter().map(|d| d.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    for text in dyads {
        let records: Vec<RecordedEvent> = store
            .read_timeline(dyad(text), None, None)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(records.len(), 3, "{text}");
        assert!(records.iter().all(|r| r.dyad.to_string() == text), "{text}");
        let by_version: Vec<RecordedEvent> = store
            .read_dyad(dyad(text), 1..=3)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(by_version.len(), 3, "{text}");
    }
    for position in 1..=head.position {
        let record = store.get_position(position).unwrap().unwrap();
        assert_eq!(store.get(&record.id).unwrap().unwrap(), record);
    }
    let export: Vec<RecordedEvent> = log(&store);
    assert_eq!(export.len() as u64, head.position);
    let copy = home.open("copy");
    copy.restore(
        export
            .iter()
            .map(|r| serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap())
            .collect(),
    )
    .unwrap();
    assert_eq!(log(&copy), export);
    assert_eq!(copy.verify().unwrap(), head);
}

#[track_caller]
fn check_bad_restore<H: Home>(records: Vec<RecordedEvent>, position: u64, reason_part: &str) {
    let home = H::new();
    let store = home.open("store");
    assert_bad_restore(&store, records, position, reason_part);
    assert_eq!(store.read_log(0).count(), 0);
}

/// Restoring `records` into `store` is refused at `position` for a reason containing
/// `reason_part`, and nothing of the call is stored.
#[track_caller]
fn assert_bad_restore<B: Backend>(
    store: &Store<B>,
    records: Vec<RecordedEvent>,
    position: u64,
    reason_part: &str,
) {
    let head = store.head();
    match store.restore(records) {
        Err(StoreError::BadRestore {
            position: p,
            reason,
        }) => {
            assert_eq!(p, position, "{reason}");
            assert!(reason.to_string().contains(reason_part), "{reason}");
        }
        other => panic!("expected a bad restore at {position}, got {other:?}"),
    }
    assert_eq!(store.head(), head, "nothing of the call is stored");
}

fn an_edited_missing_or_reordered_export_is_refused<H: Home>() {
    let home = H::new();
    let source = home.open("source");
    for n in 0..4 {
        source
            .append(
                vec![event(&format!("e{n}"), "RUS-USA", 1)],
                &AppendOptions::default(),
            )
            .unwrap();
    }
    let records = log(&source);

    let mut edited = records.clone();
    edited[2].sources.clear();
    check_bad_restore::<H>(edited, 3, "chain hash");

    let mut missing = records.clone();
    missing.remove(1);
    check_bad_restore::<H>(missing, 3, "expected position 2");

    let mut reordered = records.clone();
    reordered.swap(1, 2);
    check_bad_restore::<H>(reordered, 3, "expected position 2");

    let mut renumbered = records.clone();
    renumbered[3].version = 7;
    check_bad_restore::<H>(renumbered, 4, "expected version 4");
}

fn a_restore_over_stored_ids_is_refused<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    store
        .append(vec![event("e0", "RUS-USA", 1)], &AppendOptions::default())
        .unwrap();
    let mut record = log(&store).remove(0);
    record.position = 2;
    record.version = 2;
    record.hash = record.chain_hash(&store.head().hash);
    let err = store.restore(vec![record]).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::BadRestore {
                position: 2,
                reason: RestoreMismatch::IdStored { .. }
            }
        ),
        "{err}"
    );
    assert_eq!(store.head().position, 1);
}

#[test]
fn one_changed_byte_anywhere_in_a_record_is_found_with_its_position() {
    let n_events = 5;
    // Header bytes (position, version, time, hash) and body bytes alike; an index past the
    // end of the record wraps around.
    for byte_index in (0..400).step_by(7) {
        let (_dir, store) = temp_store();
        for n in 0..n_events {
            store
                .append(
                    vec![event(&format!("e{n}"), "RUS-USA", 1)],
                    &AppendOptions::default(),
                )
                .unwrap();
        }
        store.tamper_record_byte_for_tests(3, byte_index).unwrap();
        match store.verify() {
            Err(StoreError::Corrupt { position, reason }) => {
                assert_eq!(position, 3, "byte {byte_index}: {reason}")
            }
            other => panic!("byte {byte_index}: expected corruption, got {other:?}"),
        }
    }
}

fn aux_values_are_written_atomically_and_scanned_by_prefix<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    store
        .aux_put(vec![
            (b"snap/RUS-USA".to_vec(), Some(b"1".to_vec())),
            (b"snap/GBR-RUS".to_vec(), Some(b"2".to_vec())),
            (b"proj/x".to_vec(), Some(b"3".to_vec())),
        ])
        .unwrap();
    store
        .aux_put(vec![(b"snap/GBR-RUS".to_vec(), None)])
        .unwrap();
    let scanned: Vec<(Vec<u8>, Vec<u8>)> =
        store.aux_scan(b"snap/").collect::<Result<_, _>>().unwrap();
    assert_eq!(scanned, vec![(b"snap/RUS-USA".to_vec(), b"1".to_vec())]);
    assert_eq!(store.aux_get(b"proj/x").unwrap(), Some(b"3".to_vec()));
    assert_eq!(store.head().position, 0, "aux values are not events");
}

/// Values across the size at which sled cuts a value into pieces (32 KiB): written, replaced
/// by a value on the other side of it, removed, scanned among small ones in key order.
fn large_aux_values_of_any_size_read_back_scan_in_key_order_and_survive_a_reopen<H: Home>() {
    let home = H::new();
    let value = |size: usize, seed: u8| -> Vec<u8> {
        (0..size)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    };
    let sizes = [
        0,
        1,
        32 * 1024 - 1,
        32 * 1024,
        32 * 1024 + 1,
        100_000,
        3 << 20,
    ];
    let expected: Vec<(Vec<u8>, Vec<u8>)> = {
        let store = home.open("store");
        let mut expected = Vec::new();
        for (n, &size) in sizes.iter().enumerate() {
            let key = format!("s/{n}").into_bytes();
            store
                .aux_put(vec![(key.clone(), Some(value(size, 1)))])
                .unwrap();
            assert_eq!(store.aux_get(&key).unwrap(), Some(value(size, 1)), "{size}");
            // Replaced by the size on the other side of the list, then back.
            let other = sizes[sizes.len() - 1 - n];
            store
                .aux_put(vec![(key.clone(), Some(value(other, 2)))])
                .unwrap();
            assert_eq!(
                store.aux_get(&key).unwrap(),
                Some(value(other, 2)),
                "{size} -> {other}"
            );
            store
                .aux_put(vec![(key.clone(), Some(value(size, 3)))])
                .unwrap();
            expected.push((key, value(size, 3)));
        }
        // A large value removed with a small one, in one write; a key that is a prefix of
        // another stays apart from it.
        store
            .aux_put(vec![
                (b"s/gone".to_vec(), Some(value(200_000, 4))),
                (b"s/gone-not".to_vec(), Some(value(50_000, 5))),
                (b"t/small".to_vec(), Some(b"x".to_vec())),
            ])
            .unwrap();
        store
            .aux_put(vec![
                (b"s/gone".to_vec(), None),
                (b"t/small".to_vec(), None),
            ])
            .unwrap();
        assert_eq!(store.aux_get(b"s/gone").unwrap(), None);
        assert_eq!(store.aux_get(b"t/small").unwrap(), None);
        expected.push((b"s/gone-not".to_vec(), value(50_000, 5)));
        expected.sort();
        let scanned: Vec<(Vec<u8>, Vec<u8>)> =
            store.aux_scan(b"s/").collect::<Result<_, _>>().unwrap();
        assert_eq!(scanned, expected);
        expected
    };
    if H::SHARED {
        return;
    }
    let store = home.open("store");
    let scanned: Vec<(Vec<u8>, Vec<u8>)> = store.aux_scan(b"s/").collect::<Result<_, _>>().unwrap();
    assert_eq!(scanned, expected, "after a reopen");
    assert_eq!(
        store.aux_last_key(b"s/", b"s/5").unwrap(),
        Some(b"s/5".to_vec())
    );
    assert_eq!(
        store.aux_last_key(b"s/", b"s/z").unwrap(),
        Some(b"s/gone-not".to_vec())
    );
    assert_eq!(store.aux_last_key(b"t/", b"t/z").unwrap(), None);
    let keys: Vec<Vec<u8>> = store
        .aux_keys_from(b"s/", b"s/3")
        .collect::<Result<_, _>>()
        .unwrap();
    let from_3: Vec<Vec<u8>> = expected
        .iter()
        .map(|(key, _)| key.clone())
        .filter(|key| key.as_slice() >= b"s/3".as_slice())
        .collect();
    assert_eq!(keys, from_3);
    assert_eq!(
        store.aux_scan(b"").count(),
        expected.len(),
        "nothing else stored"
    );
}

fn a_second_open_in_this_process_is_locked_and_a_drop_releases_it<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    if H::SHARED {
        // A shared log: a second store opens it, and each sees what the other appended.
        let second = home.open("store");
        store
            .append(vec![event("a", "RUS-USA", 1)], &AppendOptions::default())
            .unwrap();
        let appended = second
            .append(vec![event("b", "RUS-USA", 2)], &AppendOptions::default())
            .unwrap();
        assert_eq!(
            (appended[0].record.position, appended[0].record.version),
            (2, 2)
        );
        assert_eq!(store.refresh().unwrap(), second.head());
        assert_eq!(log(&store), log(&second));
        assert_eq!(store.verify().unwrap(), second.verify().unwrap());
        return;
    }
    match home.try_open("store", StoreConfig::default()) {
        Err(StoreError::Locked { path: locked }) => assert_eq!(locked, store.path()),
        other => panic!("expected locked, got {other:?}"),
    }
    drop(store);
    // Reopening at once works: on sled, dropping waits for sled to let go of its lock.
    for _ in 0..5 {
        drop(home.open("store"));
    }
}

/// Not a test on its own: the child process of the test below, holding the store open.
#[test]
fn child_holds_store_open() {
    let Ok(path) = std::env::var("DETENTE_TEST_HOLD_STORE") else {
        return;
    };
    let _store = open(Path::new(&path));
    println!("HOLDING");
    // Until the parent kills us.
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[test]
fn a_store_open_in_another_process_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::child_holds_store_open",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DETENTE_TEST_HOLD_STORE", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let holding = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.ends_with("HOLDING"));
    assert!(holding, "the child never opened the store");
    let started = std::time::Instant::now();
    let result = Store::open(&path, StoreConfig::default());
    let waited = started.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    let err = result.unwrap_err();
    assert!(
        matches!(&err, StoreError::Locked { path: p } if p == &path),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains("in use"),
        "{message}"
    );
    assert!(
        waited < std::time::Duration::from_secs(2),
        "open waited {waited:?}"
    );
    // Once the other process is gone, the store opens.
    drop(open(&path));
}

fn concurrent_writers_never_duplicate_or_skip_a_position_or_version<H: Home>() {
    let home = H::new();
    let store = home.open("store");
    let store = Arc::new(store);
    let n_threads = 8;
    let n_attempts = 40;
    let handles: Vec<_> = (0..n_threads)
        .map(|thread| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut stored = Vec::new();
                let mut conflicts = 0;
                for attempt in 0..n_attempts {
                    let text = DYADS[(thread + attempt) % 2];
                    let version = store.dyad_version(dyad(text)).unwrap();
                    let expected = if version == 0 {
                        ExpectedVersion::NoStream
                    } else {
                        ExpectedVersion::Exact(version)
                    };
                    let id = format!("t{thread}-{attempt}");
                    match store.append(vec![event(&id, text, 1)], &expecting(&[(text, expected)])) {
                        Ok(appended) => stored.push(appended[0].record.clone()),
                        Err(StoreError::Conflict {
                            dyad: d, actual, ..
                        }) => {
                            assert_eq!(d, dyad(text));
                            assert!(actual > version, "a conflict means someone else wrote");
                            conflicts += 1;
                        }
                        Err(other) => panic!("not a conflict: {other}"),
                    }
                }
                (stored, conflicts)
            })
        })
        .collect();
    let mut stored = Vec::new();
    let mut n_conflicts = 0;
    for handle in handles {
        let (records, conflicts) = handle.join().unwrap();
        stored.extend(records);
        n_conflicts += conflicts;
    }
    assert_eq!(stored.len() + n_conflicts, n_threads * n_attempts);
    stored.sort_by_key(|r| r.position);
    let positions: Vec<u64> = stored.iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=stored.len() as u64).collect::<Vec<_>>());
    for text in &DYADS[..2] {
        let versions: Vec<u64> = stored
            .iter()
            .filter(|r| r.dyad == dyad(text))
            .map(|r| r.version)
            .collect();
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
    }
    assert_eq!(log(&store), stored);
    assert_eq!(store.verify().unwrap().position, stored.len() as u64);
}

/// A frozen export of format 1 (also the worked example of `docs/integrity.md`): its chain
/// must verify and restore forever, whatever the internal encoding becomes.
fn the_frozen_v1_export_restores_and_its_chain_holds<H: Home>() {
    let text = include_str!("../fixtures/store-chain-v1.jsonl");
    let records: Vec<RecordedEvent> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut previous = ChainHash::ZERO;
    for record in &records {
        assert_eq!(
            record.chain_hash(&previous),
            record.hash,
            "position {}",
            record.position
        );
        previous = record.hash;
    }
    let home = H::new();
    let store = home.open("store");
    store.restore(records.clone()).unwrap();
    assert_eq!(store.verify().unwrap().hash, previous);
    // Exported again, byte for byte the same lines.
    let exported: Vec<String> = log(&store)
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    assert_eq!(exported, text.lines().collect::<Vec<_>>());
}

fn a_restore_skips_the_records_already_held_and_nothing_else<H: Home>() {
    let home = H::new();
    let source = home.open("source");
    let events = (0..5)
        .map(|i| event(&format!("e{i}"), "RUS-USA", i))
        .collect();
    source.append(events, &AppendOptions::default()).unwrap();
    let records = log(&source);
    let copy = home.open("copy");
    assert_eq!(copy.restore(records[..3].to_vec()).unwrap(), 3);
    // The whole export again: the held prefix is skipped, the rest restored.
    assert_eq!(copy.restore(records.clone()).unwrap(), 2);
    assert_eq!(log(&copy), records);
    // A repeat is a no-op, and so is a tail of it.
    assert_eq!(copy.restore(records.clone()).unwrap(), 0);
    assert_eq!(copy.restore(records[3..].to_vec()).unwrap(), 0);

    // A held run must be identical, consecutive, and reach the head before new records.
    let other = home.open("other");
    other.restore(records[..3].to_vec()).unwrap();
    let mut changed = records[1].clone();
    changed.reported_on = "2030-01-01".parse().unwrap();
    let cases: Vec<(Vec<RecordedEvent>, u64, &str)> = vec![
        (vec![changed], 2, "holds another record at this position"),
        (
            vec![records[0].clone(), records[2].clone()],
            3,
            "expected position 2",
        ),
        (
            vec![records[0].clone(), records[3].clone()],
            4,
            "expected position 2",
        ),
    ];
    for (input, position, reason_part) in cases {
        assert_bad_restore(&other, input, position, reason_part);
    }
}
