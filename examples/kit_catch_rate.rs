//! How often the property-testing kit catches each of the fourteen broken projections of
//! `tests/it/kit_broken.rs` at its default settings, from random seeds: the figures of
//! `docs/testing.md` ("How often the kit catches a mistake").
//!
//! ```text
//! nice cargo run --example kit_catch_rate -- traps 2000     # how often each trap appears
//! nice cargo run --example kit_catch_rate -- runs 400 2     # 400 default runs per mistake, on 2 threads
//! nice cargo run --example kit_catch_rate -- one-case 2000 2 # one case per law: the estimate
//! ```
//!
//! In a debug build (as `cargo test` builds), or, about ten times faster, in an optimized build
//! with overflow checks: `CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true cargo run --release ...`
//! (without them the kit reports `Law::OverflowChecks` first, and the table says so).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[allow(dead_code)] // its tests are compiled only into the test binary
#[path = "../tests/it/kit_broken.rs"]
mod kit_broken;

use detente::testing::LawConfig;
use kit_broken::MISTAKES;

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |at: usize, default: usize| -> Result<usize, String> {
        args.get(at)
            .map_or(Ok(default), |text| text.parse::<usize>())
            .map_err(|err| format!("argument {at} is not a count: {err}"))
    };
    match args.first().map(String::as_str) {
        Some("traps") => {
            let n = number(1, 2000)?;
            let n = u32::try_from(n).map_err(|err| err.to_string())?;
            println!("trap frequencies over {n} histories of the default settings:");
            for (trap, frequency) in kit_broken::trap_frequencies(n, 99) {
                println!("{:6.1} %  {trap}", frequency * 100.0);
            }
            Ok(())
        }
        Some("runs") => {
            let defaults = LawConfig::default();
            catch_rates(
                number(1, 300)?,
                number(2, 2)?.max(1),
                defaults.cases,
                defaults.engine_cases,
            )
        }
        // One case per law: the chance that a single case catches each mistake, from which
        // the miss rate of the default 64 cases follows.
        Some("one-case") => catch_rates(number(1, 1000)?, number(2, 2)?.max(1), 1, 1),
        _ => Err(
            "usage: kit_catch_rate traps [N] | runs [N] [THREADS] | one-case [N] [THREADS]"
                .to_owned(),
        ),
    }
}

/// Per mistake: runs caught by its own law, runs caught by another law, and the time spent.
#[derive(Default, Clone)]
struct Tally {
    by_its_law: usize,
    by_another: Vec<String>,
    missed: usize,
    time: Duration,
}

/// `laws` counted by law, most frequent first: `3 (determinism 2, oracle 1)`.
fn by_law(laws: &[String]) -> String {
    if laws.is_empty() {
        return "0".to_owned();
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for law in laws {
        *counts.entry(law.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let parts: Vec<String> = counts.iter().map(|(law, n)| format!("{law} {n}")).collect();
    format!("{} ({})", laws.len(), parts.join(", "))
}

fn catch_rates(
    n_runs: usize,
    n_threads: usize,
    cases: u32,
    engine_cases: u32,
) -> Result<(), String> {
    let tallies = Mutex::new(vec![Tally::default(); MISTAKES.len()]);
    let next = AtomicUsize::new(0);
    let total = n_runs * MISTAKES.len();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..n_threads {
            scope.spawn(|| {
                loop {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    if job >= total {
                        break;
                    }
                    let which = job % MISTAKES.len();
                    let mistake = &MISTAKES[which];
                    let began = Instant::now();
                    // Unshrunk: whether and by which law a run catches is the same.
                    let outcome = (mistake.run)(LawConfig {
                        shrink: false,
                        cases,
                        engine_cases,
                        ..LawConfig::default()
                    });
                    let spent = began.elapsed();
                    let mut tallies = tallies.lock().unwrap_or_else(|e| e.into_inner());
                    let tally = &mut tallies[which];
                    tally.time += spent;
                    match outcome {
                        Ok(()) => tally.missed += 1,
                        Err(failure) if failure.law == mistake.law => tally.by_its_law += 1,
                        Err(failure) => tally.by_another.push(failure.law.to_string()),
                    }
                    if job % 50 == 49 {
                        eprintln!("{} of {total} runs, {:?}", job + 1, started.elapsed());
                    }
                }
            });
        }
    });
    let tallies = tallies.into_inner().unwrap_or_else(|e| e.into_inner());
    println!(
        "{n_runs} runs per mistake ({cases} cases per in-memory law, {engine_cases} per engine law, random seeds), {:?} in all:",
        started.elapsed()
    );
    println!(
        "| mistake | law | caught by it | caught by another | missed | its law misses at {} cases | mean time |",
        LawConfig::default().cases
    );
    println!("|---|---|---|---|---|---|---|");
    for (mistake, tally) in MISTAKES.iter().zip(&tallies) {
        // From the rate p at which its law catches it in `cases` cases, the default 64 cases
        // miss with (1 - p)^(64 / cases).
        let caught = tally.by_its_law as f64 / n_runs as f64;
        let default_cases = f64::from(LawConfig::default().cases);
        let miss = (1.0 - caught).powf(default_cases / f64::from(cases));
        println!(
            "| {} | `{}` | {}/{n_runs} | {} | {} | {:.1e} | {:.2} s |",
            mistake.name,
            mistake.law,
            tally.by_its_law,
            by_law(&tally.by_another),
            tally.missed,
            miss,
            tally.time.as_secs_f64() / n_runs as f64
        );
    }
    Ok(())
}
