//! The README's library example: record facts, read the state, travel in time.
use detente::domain::{Dyad, NewEvent, Query};
use detente::{engine::Engine, scenario};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?; // a throwaway store: pass a real path to keep one
    let engine = Engine::open(dir.path())?;
    engine.record_batch(scenario::istanbul_2025())?; // the Istanbul talks, as reported
    let next: NewEvent = serde_json::from_str(
        r#"{"dyad": "USA-RUS", "occurred_on": "2025-02-27", "reported_on": "2025-02-28",
            "event": {"type": "RoundScheduled", "round": "round-2"}}"#,
    )?;
    let stored = engine.record(next)?.record;
    println!("recorded {} at position {}", stored.id, stored.position);
    let dyad: Dyad = "RUS-USA".parse()?;
    let now = engine.state(dyad)?;
    for (id, step) in &now.steps {
        println!("step {id}: {:?} since {}", step.stage, step.changed_on);
    }
    let eve = engine.query(dyad, &Query::as_of("2025-02-26".parse()?))?;
    println!(
        "rounds: {} on the eve, {} now",
        eve.rounds.len(),
        now.rounds.len()
    );
    Ok(())
}
