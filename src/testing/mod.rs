//! The property-testing kit (feature `testing`): strategies of events and valid histories,
//! and the fold laws that prove a projection right, the same laws the project checks on its
//! own `BilateralState`.
//!
//! One test checks a projection:
//!
//! ```
//! use detente::domain::{Event, Projection, RecordedEvent};
//! use std::collections::BTreeMap;
//!
//! /// Rounds of talks per host city.
//! #[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
//! struct RoundsPerCity(BTreeMap<String, u32>);
//!
//! impl Projection for RoundsPerCity {
//!     const NAME: &'static str = "rounds_per_city";
//!     const VERSION: u32 = 1;
//!     fn apply(&mut self, event: &RecordedEvent) {
//!         if let Event::TalksHeld(talks) = &event.event {
//!             *self.0.entry(talks.location.city.clone()).or_default() += 1;
//!         }
//!     }
//! }
//!
//! // In a test:
//! detente::testing::assert_fold_laws::<RoundsPerCity>();
//! ```
//!
//! See `docs/testing.md` for what each [`Law`] catches and how to pin a failure as a
//! regression test. The kit's strategies are proptest strategies; [`proptest`] is re-exported
//! so that users need not depend on the same version themselves.

mod laws;
mod quiet;
pub mod strategies;
mod traps;

pub use laws::{FoldLaws, Law, LawConfig, LawFailure, Oracle, assert_fold_laws};
pub use proptest;
pub use traps::{Trap, traps_in};

use crate::domain::{Dyad, NewEvent, RecordedEvent};

/// The records the kit folds `history` into, as a store appending it in order would make them
/// (minus the hash chain): positions from 1, versions from 1 per dyad, `reported_on` defaulted
/// to `occurred_on`, and distinct, increasing `recorded_at` values
/// ([`strategies::recorded_at`]), so that a projection that reads `recorded_at` sees system
/// time move as it does in a store.
///
/// # Example
///
/// ```
/// let records = detente::testing::records(&detente::scenario::istanbul_2025());
/// assert_eq!(records[0].position, 1);
/// assert!(records.windows(2).all(|pair| pair[0].recorded_at < pair[1].recorded_at));
/// ```
pub fn records(history: &[NewEvent]) -> Vec<RecordedEvent> {
    let mut versions: std::collections::BTreeMap<Dyad, u64> = std::collections::BTreeMap::new();
    history
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let version = versions.entry(input.dyad).or_insert(0);
            *version += 1;
            let position = index as u64 + 1;
            let today = input.reported_on.unwrap_or(input.occurred_on);
            input.clone().into_recorded(
                position,
                *version,
                today,
                strategies::recorded_at(position),
            )
        })
        .collect()
}

/// Reads a history written as JSON Lines of [`NewEvent`] (the wire format; blank lines are
/// skipped), such as the one a [`LawFailure`] prints.
///
/// # Example
///
/// ```
/// let history = detente::testing::history_from_jsonl(r#"
/// {"dyad":"RUS-USA","occurred_on":"2018-03-26","event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":60}}
/// "#)?;
/// assert_eq!(history.len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn history_from_jsonl(text: &str) -> Result<Vec<NewEvent>, serde_json::Error> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// Writes a history as JSON Lines of [`NewEvent`], one event a line: the inverse of
/// [`history_from_jsonl`].
///
/// # Example
///
/// ```
/// use detente::testing::{history_from_jsonl, history_to_jsonl};
///
/// let history = detente::scenario::istanbul_2025();
/// assert_eq!(history_from_jsonl(&history_to_jsonl(&history))?, history);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn history_to_jsonl(history: &[NewEvent]) -> String {
    laws::to_jsonl(history)
}
