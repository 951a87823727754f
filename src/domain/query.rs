//! The reference bitemporal query: DESIGN section 2, exactly.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{BilateralState, RecordedEvent};

/// A bitemporal question: the state on `as_of` (valid time), as known on `known_at`
/// (knowledge time), as stored at `at_position` (system time). Each bound applies only where
/// given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Keep events with `occurred_on <= as_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<NaiveDate>,
    /// Keep events with `reported_on <= known_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_at: Option<NaiveDate>,
    /// Keep events with `position <= at_position`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_position: Option<u64>,
}

/// The effective timeline of `events` (one dyad's) for `query`: steps 1 to 4 of DESIGN
/// section 2 without the fold.
pub fn effective_timeline<'a>(
    events: impl IntoIterator<Item = &'a RecordedEvent>,
    query: &Query,
) -> Vec<&'a RecordedEvent> {
    let _ = (events.into_iter(), query);
    todo!("issue 2")
}

/// The reference answer: the fold of [`effective_timeline`]. Every faster path must give
/// exactly this.
pub fn state_at<'a>(
    events: impl IntoIterator<Item = &'a RecordedEvent>,
    query: &Query,
) -> BilateralState {
    let _ = (events.into_iter(), query);
    todo!("issue 2")
}
