//! `cargo bench`: the small and medium figures of `docs/performance.md`, each next to what
//! it is compared with, on the shared workload. The million-event run is
//! `cargo run --release --example bench_large -- --events 1000000`.
//!
//! Sizes: `DETENTE_BENCH_EVENTS` (default 20,000 events over 200 dyads) and
//! `DETENTE_BENCH_HOT` (default 5,000 events of one dyad, for `as_of`).

mod workload;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use detente::domain::{BilateralState, Dyad, NewEvent, Query, RecordedEvent, state_at};
use detente::engine::{Config, Engine};
use detente::store::Durability;

use workload::{Spec, Workload};

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn inputs(spec: Spec) -> Vec<NewEvent> {
    Workload::new(spec)
        .map(|line| serde_json::from_str(&line).expect("the workload is valid JSON"))
        .collect()
}

fn filled(dir: &std::path::Path, events: &[NewEvent], config: Config) -> Engine {
    let engine = Engine::open_with(dir, config).expect("open");
    for batch in events.chunks(1_000) {
        engine
            .record_batch(batch.to_vec())
            .expect("the workload is valid");
    }
    engine
}

fn replay(c: &mut Criterion) {
    let n = size("DETENTE_BENCH_EVENTS", 20_000);
    let spec = Spec::new(n, (n / 100).max(1));
    let dir = tempfile::tempdir_in("target").expect("tempdir");
    let config = Config {
        durability: Durability::Buffered,
        ..Config::default()
    };
    let engine = filled(dir.path(), &inputs(spec), config);
    let mut wire = Vec::new();
    for record in engine.log(1) {
        serde_json::to_writer(&mut wire, &record.expect("readable")).expect("serializes");
        wire.push(b'\n');
    }
    let mut group = c.benchmark_group(format!("replay {n} events"));
    group.sample_size(10);
    group.bench_function("baseline: serde_json parse from memory + fold", |b| {
        b.iter(|| {
            let mut groups: HashMap<Dyad, Vec<RecordedEvent>> = HashMap::new();
            for line in wire.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let record: RecordedEvent = serde_json::from_slice(line).expect("parses");
                groups.entry(record.dyad).or_default().push(record);
            }
            let applied: u64 = groups
                .values()
                .map(|log| state_at(log, &Query::default()).events_applied)
                .sum();
            black_box(applied)
        })
    });
    group.bench_function("engine: replay_dyads", |b| {
        b.iter(|| {
            let mut applied = 0;
            engine
                .replay_dyads::<BilateralState>(|_, state| applied += state.events_applied)
                .expect("replays");
            black_box(applied)
        })
    });
    group.finish();
}

fn as_of(c: &mut Criterion) {
    let n = size("DETENTE_BENCH_HOT", 5_000);
    let spec = Spec {
        retro_per_mille: 1,
        retract_per_mille: 1,
        ..Spec::new(n, 1)
    };
    let dir = tempfile::tempdir_in("target").expect("tempdir");
    let config = Config {
        durability: Durability::Buffered,
        ..Config::default()
    };
    let engine = filled(dir.path(), &inputs(spec), config);
    let (a, b) = workload::dyad_parties(0);
    let dyad: Dyad = format!("{a}-{b}").parse().expect("a dyad");
    let timeline = engine.history(dyad, None, None).expect("history");
    let middle = timeline[timeline.len() / 2].occurred_on;
    let fast = Query {
        as_of: Some(middle),
        ..Query::default()
    };
    let full = Query {
        known_at: Some(chrono::NaiveDate::MAX),
        ..fast
    };
    let mut group = c.benchmark_group(format!("one dyad of {n} events"));
    group.sample_size(20);
    group.bench_function("as_of (middle), from the ladder in memory", |b| {
        b.iter(|| black_box(engine.query(dyad, &fast).expect("query")))
    });
    group.bench_function("full fold (known_at path)", |b| {
        b.iter(|| black_box(engine.query(dyad, &full).expect("query")))
    });
    group.bench_function("state, warm", |b| {
        b.iter(|| black_box(engine.state(dyad).expect("state")))
    });
    group.finish();
}

fn record(c: &mut Criterion) {
    let n = 5_000;
    let mut all = inputs(Spec::new(n + 20_000, 50)).into_iter();
    let dir = tempfile::tempdir_in("target").expect("tempdir");
    let engine = filled(
        dir.path(),
        &all.by_ref().take(n).collect::<Vec<_>>(),
        Config::default(),
    );
    let db = sled::open(dir.path().join("peer")).expect("sled");
    let mut group = c.benchmark_group("single durable append");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("engine: record (checks, chain, caches, flush)", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                let Some(event) = all.next() else { break };
                black_box(engine.record(event).expect("valid"));
            }
            started.elapsed()
        })
    });
    let mut key = 0u64;
    let value = vec![b'x'; 380];
    group.bench_function("raw sled: insert + flush", |b| {
        b.iter(|| {
            key += 1;
            db.insert(key.to_be_bytes(), value.as_slice())
                .expect("insert");
            db.flush().expect("flush")
        })
    });
    group.finish();
}

criterion_group!(benches, replay, as_of, record);
criterion_main!(benches);
