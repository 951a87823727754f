//! The seed scenario end to end: the Istanbul consultations of 27 February 2025 recorded as
//! reported, a late report, a correction, and what the store believed on each day.
//!
//! Run it with `cargo run --example istanbul_2025`.

use detente::domain::{Dyad, Query, StepStage};
use detente::engine::Engine;
use detente::scenario;

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;
    let dyad: Dyad = "RUS-USA".parse()?;

    // 1. What was reported on 28 February: the talks, the steps, the claim, the proposal,
    //    and the background of expulsions and closures since 2016.
    let recorded = engine.record_batch(scenario::istanbul_2025())?;
    println!(
        "recorded {} events, head at position {}",
        recorded.len(),
        engine.head().position
    );

    let state = engine.state(dyad)?;
    let talks = &state.rounds[0];
    println!(
        "talks held on {} in {} ({}) at the {}",
        talks.held_on,
        talks.location.city,
        talks.location.country,
        talks
            .location
            .venue
            .as_deref()
            .unwrap_or("an unreported venue")
    );
    for (party, head) in &talks.heads {
        println!("  {party} delegation headed by {}", head.name);
    }
    let agreed = state
        .steps
        .values()
        .filter(|s| s.stage == StepStage::Agreed)
        .count();
    println!(
        "{agreed} steps agreed, {} claims open, {} proposals",
        state.claims.len(),
        state.proposals.len()
    );
    for (party, count) in &state.reciprocity.diplomats_expelled {
        println!("  diplomats expelled by {party} since 2016: {count}");
    }

    // 2. A late report and a correction: the venue was the Consul General's residence. The
    //    first record is retracted and the talks are recorded again, reported on 1 March.
    engine.record_batch(scenario::istanbul_2025_followups())?;
    let corrected = engine.state(dyad)?;
    println!(
        "venue now: {}",
        corrected.rounds[0].location.venue.as_deref().unwrap_or("?")
    );

    // 3. What the store believed on 28 February, before the correction was known.
    let believed = engine.query(
        dyad,
        &Query {
            known_at: Some("2025-02-28".parse()?),
            ..Query::default()
        },
    )?;
    println!(
        "venue as known on 28 February: {}",
        believed.rounds[0].location.venue.as_deref().unwrap_or("?")
    );
    assert_ne!(
        believed.rounds[0].location.venue,
        corrected.rounds[0].location.venue
    );

    // 4. Every record is on a hash chain; verify proves the caches equal a replay.
    let report = engine.verify()?;
    println!(
        "verified {} events over {} dyad(s)",
        report.events, report.dyads
    );
    Ok(())
}
