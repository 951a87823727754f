//! Projections: folds of recorded events into a value.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BilateralState, RecordedEvent};

/// What a projection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ReadMode {
    /// One dyad's effective timeline (retractions applied, ordered by `(occurred_on,
    /// position)`), re-folded when a retroactive event or a retraction arrives. The default.
    #[default]
    EffectiveTimeline,
    /// Every record of the whole log once, in position order, retractions included; never
    /// re-folded (an audit counter, an export feed).
    RawLog,
}

/// A fold of recorded events into a value. `BilateralState` is one; users write their own.
///
/// A projection must be a pure function of the events it is given: no clocks, no globals.
/// Its serde form is how the engine persists it, so a value saved and restored must continue
/// exactly as the original.
pub trait Projection:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// A stable name, used as its key in the store.
    const NAME: &'static str;
    /// Bump it when the fold changes: a stored value of another version is rebuilt.
    const VERSION: u32;
    /// What it reads.
    const MODE: ReadMode = ReadMode::EffectiveTimeline;

    /// Folds one event in. Must not panic.
    fn apply(&mut self, event: &RecordedEvent);
}

impl Projection for BilateralState {
    const NAME: &'static str = "bilateral_state";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &RecordedEvent) {
        *self = super::evolve(std::mem::take(self), event);
    }
}
