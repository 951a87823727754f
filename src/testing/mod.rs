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
pub mod strategies;

pub use laws::{FoldLaws, Law, LawConfig, LawFailure, assert_fold_laws};
pub use proptest;

use crate::domain::NewEvent;

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
