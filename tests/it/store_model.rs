//! The store against a plain in-memory model: random appends (right and wrong expected
//! versions, repeated ids with the same and other content, several dyads, every durability),
//! reads and reopens, checked after every step.

use std::collections::{BTreeMap, HashMap, HashSet};

use detente::store::{AppendOptions, Backend, Durability, ExpectedVersion, Store, StoreError};
use proptest::prelude::*;

use crate::store::{DYADS, Home, dyad, event, log};

/// One event of an append: an id from a small pool (so that ids repeat), and whether its
/// content differs from the id's usual content (so that some repeats conflict).
#[derive(Debug, Clone)]
struct Input {
    id: usize,
    altered: bool,
}

impl Input {
    fn dyad(&self) -> &'static str {
        DYADS[self.id % DYADS.len()]
    }
    fn count(&self) -> u32 {
        if self.altered { 2 } else { 1 }
    }
    fn id(&self) -> String {
        format!("e{}", self.id)
    }
}

/// How an expected version relates to the model's: right, or off by one.
#[derive(Debug, Clone, Copy)]
enum Expectation {
    Any,
    NoStream,
    Exact(i64),
}

#[derive(Debug, Clone)]
enum Op {
    Append {
        events: Vec<Input>,
        expected: Vec<(usize, Expectation)>,
        durability: Durability,
    },
    ReadDyad {
        dyad: usize,
        from: u64,
        to: u64,
    },
    ReadLog {
        from: u64,
    },
    Get {
        id: usize,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let input =
        (0..12usize, prop::bool::weighted(0.15)).prop_map(|(id, altered)| Input { id, altered });
    let expectation = prop_oneof![
        Just(Expectation::Any),
        Just(Expectation::NoStream),
        (-1i64..=1).prop_map(Expectation::Exact),
    ];
    let durability = prop_oneof![
        Just(Durability::Flushed),
        Just(Durability::Buffered),
        Just(Durability::Synced),
    ];
    prop_oneof![
        6 => (
            prop::collection::vec(input, 1..5),
            prop::collection::btree_map(0..DYADS.len(), expectation, 0..3),
            durability,
        )
            .prop_map(|(events, expected, durability)| Op::Append {
                events,
                expected: expected.into_iter().collect(),
                durability,
            }),
        1 => (0..DYADS.len(), 0..6u64, 0..8u64).prop_map(|(dyad, from, to)| Op::ReadDyad { dyad, from, to }),
        1 => (0..12u64).prop_map(|from| Op::ReadLog { from }),
        1 => (0..12usize).prop_map(|id| Op::Get { id }),
        1 => Just(Op::Reopen),
    ]
}

/// A stored event as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    position: u64,
    version: u64,
    id: String,
    dyad: String,
    count: u32,
}

#[derive(Debug, Default)]
struct Model {
    rows: Vec<Row>,
}

/// What the model says an append returns.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Appended(Vec<(u64, bool)>),
    IdConflict {
        id: String,
        position: u64,
    },
    /// Any one of these dyads (with their actual version) may be named.
    Conflict(Vec<(String, u64)>),
}

impl Model {
    fn version(&self, dyad: &str) -> u64 {
        self.rows.iter().filter(|r| r.dyad == dyad).count() as u64
    }

    fn append(&mut self, events: &[Input], expected: &[(String, ExpectedVersion)]) -> Outcome {
        let mut new_rows: Vec<Row> = Vec::new();
        let mut results = Vec::new();
        let mut dyads_in_batch = HashSet::new();
        for input in events {
            dyads_in_batch.insert(input.dyad());
            let earlier = new_rows
                .iter()
                .chain(self.rows.iter())
                .find(|row| row.id == input.id());
            if let Some(row) = earlier {
                if row.dyad != input.dyad() || row.count != input.count() {
                    return Outcome::IdConflict {
                        id: input.id(),
                        position: row.position,
                    };
                }
                results.push((row.position, false));
                continue;
            }
            let position = self.rows.len() as u64 + new_rows.len() as u64 + 1;
            let version = self.version(input.dyad())
                + new_rows.iter().filter(|r| r.dyad == input.dyad()).count() as u64
                + 1;
            new_rows.push(Row {
                position,
                version,
                id: input.id(),
                dyad: input.dyad().to_owned(),
                count: input.count(),
            });
            results.push((position, true));
        }
        let mut conflicts = Vec::new();
        for (text, expected) in expected {
            let only_repeats =
                dyads_in_batch.contains(text.as_str()) && !new_rows.iter().any(|r| &r.dyad == text);
            let actual = self.version(text);
            if !only_repeats && !expected.admits(actual) {
                conflicts.push((text.clone(), actual));
            }
        }
        if !conflicts.is_empty() {
            return Outcome::Conflict(conflicts);
        }
        self.rows.extend(new_rows);
        Outcome::Appended(results)
    }
}

fn to_expected(model: &Model, text: &str, expectation: Expectation) -> ExpectedVersion {
    match expectation {
        Expectation::Any => ExpectedVersion::Any,
        Expectation::NoStream => ExpectedVersion::NoStream,
        Expectation::Exact(delta) => {
            ExpectedVersion::Exact(model.version(text).saturating_add_signed(delta))
        }
    }
}

#[track_caller]
fn check_same<B: Backend>(store: &Store<B>, model: &Model) {
    let records = log(store);
    let rows: Vec<Row> = records
        .iter()
        .map(|r| Row {
            position: r.position,
            version: r.version,
            id: r.id.to_string(),
            dyad: r.dyad.to_string(),
            count: match serde_json::to_value(&r.event).unwrap()["count"].as_u64() {
                Some(count) => count as u32,
                None => panic!("not the event appended: {:?}", r.event),
            },
        })
        .collect();
    assert_eq!(rows, model.rows);
    for pair in records.windows(2) {
        assert!(
            pair[0].recorded_at <= pair[1].recorded_at,
            "recorded_at went backwards"
        );
    }
    assert_eq!(store.head().position, model.rows.len() as u64);
    assert_eq!(store.verify().unwrap(), store.head());
    let mut dyads = BTreeMap::new();
    for row in &model.rows {
        *dyads.entry(dyad(&row.dyad)).or_insert(0) += 1;
    }
    assert_eq!(
        store.dyads().unwrap(),
        dyads.into_iter().collect::<Vec<_>>()
    );
}

/// Runs `ops` on a log in a new home `H`. A reopen drops the store and opens the log again:
/// on sled, the folder; in memory, the same maps (so that a reopen checks the store's reading
/// of the end of the log from its backend, as on sled).
fn run<H: Home>(ops: Vec<Op>) {
    if H::unavailable() {
        return;
    }
    let home = H::new();
    let mut store = home.open("store");
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Append {
                events,
                expected,
                durability,
            } => {
                let expected: Vec<(String, ExpectedVersion)> = expected
                    .into_iter()
                    .map(|(index, e)| {
                        (
                            DYADS[index].to_owned(),
                            to_expected(&model, DYADS[index], e),
                        )
                    })
                    .collect();
                let options = AppendOptions {
                    expected: expected
                        .iter()
                        .map(|(text, e)| (dyad(text), *e))
                        .collect::<HashMap<_, _>>(),
                    durability,
                };
                let inputs = events
                    .iter()
                    .map(|input| event(&input.id(), input.dyad(), input.count()))
                    .collect();
                let actual = store.append(inputs, &options);
                match (model.append(&events, &expected), actual) {
                    (Outcome::Appended(want), Ok(got)) => {
                        let got: Vec<(u64, bool)> =
                            got.iter().map(|a| (a.record.position, a.stored)).collect();
                        assert_eq!(got, want);
                    }
                    (
                        Outcome::IdConflict { id, position },
                        Err(StoreError::IdConflict {
                            id: got_id,
                            position: got_position,
                        }),
                    ) => {
                        assert_eq!((got_id.to_string(), got_position), (id, position));
                    }
                    (
                        Outcome::Conflict(candidates),
                        Err(StoreError::Conflict {
                            dyad: got, actual, ..
                        }),
                    ) => {
                        assert!(
                            candidates.contains(&(got.to_string(), actual)),
                            "{got} {actual} not in {candidates:?}"
                        );
                    }
                    (want, got) => panic!("model says {want:?}, store says {got:?}"),
                }
            }
            Op::ReadDyad {
                dyad: index,
                from,
                to,
            } => {
                let text = DYADS[index];
                let got: Vec<u64> = store
                    .read_dyad(dyad(text), from..=to)
                    .map(|r| r.unwrap().position)
                    .collect();
                let want: Vec<u64> = model
                    .rows
                    .iter()
                    .filter(|r| r.dyad == text && (from..=to).contains(&r.version))
                    .map(|r| r.position)
                    .collect();
                assert_eq!(got, want);
            }
            Op::ReadLog { from } => {
                let got: Vec<u64> = store.read_log(from).map(|r| r.unwrap().position).collect();
                let want: Vec<u64> = model
                    .rows
                    .iter()
                    .filter(|r| r.position >= from)
                    .map(|r| r.position)
                    .collect();
                assert_eq!(got, want);
            }
            Op::Get { id } => {
                let id = format!("e{id}");
                let got = store.get(&id.parse().unwrap()).unwrap().map(|r| r.position);
                let want = model.rows.iter().find(|r| r.id == id).map(|r| r.position);
                assert_eq!(got, want);
            }
            Op::Reopen => {
                drop(store);
                store = home.open("store");
            }
        }
        check_same(&store, &model);
    }
}

/// The property, once per backend (`on_sled::` and `in_memory::`).
macro_rules! the_store_behaves_like_the_model_on {
    ($($module:ident => $home:ty),* $(,)?) => {
        $(
            mod $module {
                use super::*;

                proptest! {
                    #![proptest_config(ProptestConfig {
                        // A fresh PostgreSQL database per case costs more than a folder.
                        cases: if <$home as crate::store::Home>::SHARED { 16 } else { 64 },
                        ..ProptestConfig::default()
                    })]

                    #[test]
                    fn the_store_behaves_like_the_model(ops in prop::collection::vec(op(), 1..30)) {
                        run::<$home>(ops);
                    }
                }
            }
        )*
    };
}

the_store_behaves_like_the_model_on!(
    on_sled => crate::store::OnSled,
    in_memory => crate::store::InMemory,
    on_postgres => crate::store::OnPostgres,
);
