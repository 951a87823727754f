//! A user projection: rounds of talks per host city, folded by the engine alongside its own
//! `BilateralState`, and proven right by the kit's fold laws in one test
//! (`detente::testing::assert_fold_laws::<RoundsPerCity>()`, see `tests/it/kit.rs`).
//!
//! Run it with `cargo run --example custom_projection`.

use std::collections::BTreeMap;

use detente::domain::{Event, Projection, RecordedEvent};
use detente::engine::Engine;
use detente::scenario::{istanbul_2025, istanbul_2025_followups};

/// How many rounds of talks each host city has held. It reads a dyad's effective timeline (the
/// default), so a retracted round stops counting and a round recorded late counts where it
/// belongs.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoundsPerCity {
    /// Rounds held, by city.
    pub rounds: BTreeMap<String, u32>,
}

impl Projection for RoundsPerCity {
    const NAME: &'static str = "rounds_per_city";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event {
            *self.rounds.entry(talks.location.city.clone()).or_default() += 1;
        }
    }
}

pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;
    engine.register::<RoundsPerCity>()?;
    engine.record_batch(istanbul_2025())?;
    engine.record_batch(istanbul_2025_followups())?;
    let value = engine.projection::<RoundsPerCity>(Some("RUS-USA".parse()?))?;
    for (city, rounds) in &value.rounds {
        println!("{city}: {rounds} round(s)");
    }
    Ok(())
}

#[allow(dead_code)] // also compiled into the test binary (tests/it/kit.rs), which has its own main
fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
