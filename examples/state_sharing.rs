//! What a `BilateralState` costs to fold, to clone, and to keep as a ladder of snapshots: the
//! measurement behind the choice of its collections (docs/architecture.md, "The state's
//! collections").
//!
//! ```text
//! cargo run --release --example state_sharing -- --events 100000 --every 256 --reps 5
//! ```
//!
//! One hot dyad of `--events N` [100000] of the shared workload (`benches/workload`, as in
//! `bench_large`'s `as_of` figures), in memory, nothing stored. It prints:
//!
//! - the full fold: `state_at` over the dyad's log (the fastest of `--reps N` [5], the figure
//!   least disturbed by whatever else the machine runs);
//! - a clone of the folded state (median of many; the clones are dropped outside the timing);
//! - the ladder: the effective timeline folded once, keeping a clone of the state every
//!   `--every N` [256] events alive, and the heap bytes that the ladder holds beyond the final
//!   state alone (counted by this program's allocator, so exact and independent of the
//!   machine's page cache), with the time to build it. `--every 0` skips the ladder (with
//!   states that share nothing, a ladder of a 100,000-event dyad holds gigabytes).

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use detente::domain::{
    BilateralState, NewEvent, Query, RecordedEvent, effective_timeline, evolve, state_at,
};

use workload::{Spec, Workload};

/// The system allocator, counting the bytes it has live.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        moved
    }
}

// Not in the test that runs this example (`tests/it/examples.rs`), where other tests allocate
// on other threads at the same time: there the heap figures read 0.
#[cfg_attr(not(test), global_allocator)]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(std::env::args().skip(1))
}

/// The measurements, with the command line's arguments (without the program's name).
pub fn run(args: impl IntoIterator<Item = String>) -> Result<(), Box<dyn std::error::Error>> {
    let (mut events, mut every, mut reps) = (100_000usize, 256usize, 5usize);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value: usize = args.next().ok_or("a value after each flag")?.parse()?;
        match flag.as_str() {
            "--events" => events = value,
            "--every" => every = value,
            "--reps" => reps = value.max(1),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    // The hot dyad of bench_large: one dyad, few retroactive events and retractions.
    let spec = Spec {
        retro_per_mille: 1,
        retract_per_mille: 1,
        ..Spec::new(events, 1)
    };
    let log: Vec<RecordedEvent> = Workload::new(spec)
        .enumerate()
        .map(|(i, line)| {
            let input: NewEvent = serde_json::from_str(&line)?;
            let position = i as u64 + 1;
            let on = input.occurred_on;
            Ok(input.into_recorded(position, position, on, chrono::DateTime::UNIX_EPOCH))
        })
        .collect::<Result<_, serde_json::Error>>()?;

    let mut folds = Vec::new();
    let mut state = BilateralState::default();
    for _ in 0..reps {
        let start = Instant::now();
        state = black_box(state_at(&log, &Query::default()));
        folds.push(start.elapsed());
    }
    let fold = folds.iter().copied().min().unwrap_or_default();

    let before = live();
    let one = state.clone();
    let one_clone_bytes = live() - before;
    drop(one);
    let clones = 200usize;
    let mut samples = Vec::with_capacity(clones);
    for _ in 0..clones {
        let start = Instant::now();
        let copy = black_box(state.clone());
        samples.push(start.elapsed());
        drop(copy);
    }
    let clone = median(samples);

    println!(
        "dyad of {events} events ({} applied), release build",
        state.events_applied
    );
    println!("| measure | figure |");
    println!("|---|---|");
    println!("| full fold (`state_at`), fastest of {reps} | {fold:.1?} |");
    println!("| clone of the folded state, median of {clones} | {clone:.2?} |");
    println!(
        "| heap bytes of one clone | {:.2} MiB |",
        mib(one_clone_bytes)
    );
    if every == 0 {
        return Ok(());
    }
    let timeline = effective_timeline(&log, &Query::default());
    let before = live();
    let start = Instant::now();
    let mut ladder = Vec::with_capacity(timeline.len() / every + 1);
    let mut folded = BilateralState::default();
    for (i, event) in timeline.iter().enumerate() {
        folded = evolve(folded, event);
        if (i + 1) % every == 0 {
            ladder.push(folded.clone());
        }
    }
    let built = start.elapsed();
    let with_ladder = live() - before;
    drop(ladder);
    let final_alone = live() - before;
    assert_eq!(folded, state, "the ladder's fold is the full fold");

    println!(
        "| heap bytes of the final state alone | {:.1} MiB |",
        mib(final_alone)
    );
    println!(
        "| ladder: {} snapshots (every {every} events), heap beyond the final state | {:.1} MiB |",
        timeline.len() / every,
        mib(with_ladder - final_alone)
    );
    println!("| ladder: time to fold and keep it | {built:.1?} |");
    Ok(())
}
