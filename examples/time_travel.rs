//! Bitemporal queries: the state on a date (`as_of`), as known on another (`known_at`), as
//! stored at a position (`at_position`).
//!
//! Run it with `cargo run --example time_travel`.

use detente::domain::{BilateralState, Dyad, Query};
use detente::engine::Engine;
use detente::scenario;

fn summary(state: &BilateralState) -> String {
    let expelled: u64 = state.reciprocity.diplomats_expelled.values().sum();
    format!(
        "{} round(s), {} step(s), {} claim(s), {} diplomats expelled, venue {}",
        state.rounds.len(),
        state.steps.len(),
        state.claims.len(),
        expelled,
        state
            .rounds
            .first()
            .and_then(|r| r.location.venue.as_deref())
            .unwrap_or("-"),
    )
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;
    let dyad: Dyad = "RUS-USA".parse()?;
    engine.record_batch(scenario::istanbul_2025())?;
    let before_correction = engine.head().position;
    engine.record_batch(scenario::istanbul_2025_followups())?;

    // Valid time: what had happened by a date, as we know it now.
    for as_of in [
        "2016-12-31",
        "2017-12-31",
        "2018-12-31",
        "2025-02-26",
        "2025-02-27",
    ] {
        let query = Query {
            as_of: Some(as_of.parse()?),
            ..Query::default()
        };
        println!("as of {as_of}: {}", summary(&engine.query(dyad, &query)?));
    }

    // Knowledge time: what the world had been told by a date.
    for known_at in ["2025-02-27", "2025-02-28", "2025-03-01"] {
        let query = Query {
            known_at: Some(known_at.parse()?),
            ..Query::default()
        };
        println!(
            "as known on {known_at}: {}",
            summary(&engine.query(dyad, &query)?)
        );
    }

    // System time: what this store held at a position (before the correction was recorded).
    let query = Query {
        at_position: Some(before_correction),
        ..Query::default()
    };
    println!(
        "as stored at position {before_correction}: {}",
        summary(&engine.query(dyad, &query)?)
    );

    // The two axes together: on 26 February, as known on 28 February.
    let query = Query {
        as_of: Some("2025-02-26".parse()?),
        known_at: Some("2025-02-28".parse()?),
        at_position: None,
    };
    println!(
        "as of 2025-02-26, known on 2025-02-28: {}",
        summary(&engine.query(dyad, &query)?)
    );

    // What changed over the day of the talks.
    let diff = engine.diff(dyad, "2025-02-26".parse()?, "2025-02-27".parse()?)?;
    for item in &diff.items_added {
        println!(
            "added on {}: {} `{}` ({})",
            item.on, item.kind, item.id, item.status
        );
    }
    Ok(())
}
