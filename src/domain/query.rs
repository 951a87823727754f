//! The reference bitemporal query: DESIGN section 2, exactly.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use super::{BilateralState, Event, EventId, RecordedEvent, evolve};

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
///
/// 1. Keep the events with `position <= at_position` and `reported_on <= known_at`.
/// 2. Drop every event retracted by an `EventRetracted` that is itself in that set (one pass:
///    a retraction that is retracted drops out too, and its own target stays dropped).
/// 3. Keep the events with `occurred_on <= as_of`.
/// 4. Order them by `(occurred_on, position)`.
///
/// The retractions themselves stay in the timeline (the fold counts them as applied).
///
/// # Example
///
/// ```
/// use detente::domain::{effective_timeline, Query};
/// use detente::scenario::{istanbul_2025, recorded};
///
/// let events = recorded(istanbul_2025());
/// let query = Query { as_of: Some("2016-12-31".parse().unwrap()), ..Query::default() };
/// let timeline = effective_timeline(&events, &query);
/// assert!(!timeline.is_empty());
/// assert!(timeline.iter().all(|event| event.occurred_on.to_string() == "2016-12-29"));
/// ```
pub fn effective_timeline<'a>(
    events: impl IntoIterator<Item = &'a RecordedEvent>,
    query: &Query,
) -> Vec<&'a RecordedEvent> {
    let known: Vec<&RecordedEvent> = events
        .into_iter()
        .filter(|event| query.at_position.is_none_or(|at| event.position <= at))
        .filter(|event| query.known_at.is_none_or(|at| event.reported_on <= at))
        .collect();
    let retracted: BTreeSet<&EventId> = known
        .iter()
        .filter_map(|event| match &event.event {
            Event::EventRetracted(retraction) => Some(&retraction.target),
            _ => None,
        })
        .collect();
    let mut timeline: Vec<&RecordedEvent> = known
        .into_iter()
        .filter(|event| !retracted.contains(&event.id))
        .filter(|event| query.as_of.is_none_or(|as_of| event.occurred_on <= as_of))
        .collect();
    timeline.sort_by_key(|event| (event.occurred_on, event.position));
    timeline
}

/// The reference answer: the fold of [`effective_timeline`] with [`evolve`] from
/// `BilateralState::default()`. Every faster path must give exactly this.
///
/// # Example
///
/// ```
/// use detente::domain::{state_at, Query};
/// use detente::scenario::{istanbul_2025, recorded};
///
/// let events = recorded(istanbul_2025());
/// let before_istanbul = Query { as_of: Some("2025-02-26".parse().unwrap()), ..Query::default() };
/// assert!(state_at(&events, &before_istanbul).rounds.is_empty());
/// assert_eq!(state_at(&events, &Query::default()).rounds.len(), 1);
/// ```
pub fn state_at<'a>(
    events: impl IntoIterator<Item = &'a RecordedEvent>,
    query: &Query,
) -> BilateralState {
    effective_timeline(events, query)
        .into_iter()
        .fold(BilateralState::default(), evolve)
}
