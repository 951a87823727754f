//! The reference bitemporal query: the time model of `docs/contract.md`, exactly.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use super::{BilateralState, Dyad, Event, EventId, RecordedEvent, evolve};

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

impl Query {
    /// The state on `date`, as known now.
    ///
    /// ```
    /// # use detente::domain::Query;
    /// let query = Query::as_of("2025-02-26".parse().unwrap());
    /// assert!(query.known_at.is_none() && query.at_position.is_none());
    /// ```
    pub fn as_of(date: NaiveDate) -> Query {
        Query {
            as_of: Some(date),
            ..Query::default()
        }
    }

    /// Everything that had been reported by `date`.
    ///
    /// ```
    /// # use detente::domain::Query;
    /// let query = Query::known_at("2025-02-28".parse().unwrap());
    /// assert!(query.as_of.is_none());
    /// ```
    pub fn known_at(date: NaiveDate) -> Query {
        Query {
            known_at: Some(date),
            ..Query::default()
        }
    }

    /// Everything the store held at `position`.
    ///
    /// ```
    /// # use detente::domain::Query;
    /// assert_eq!(Query::at_position(14).at_position, Some(14));
    /// ```
    pub fn at_position(position: u64) -> Query {
        Query {
            at_position: Some(position),
            ..Query::default()
        }
    }

    /// Whether the query knows of `event` at all: it was stored by `at_position` and reported
    /// by `known_at` (step 1 of [`effective_timeline`]), whether or not it was retracted since.
    ///
    /// ```
    /// # use detente::domain::Query;
    /// let events = detente::scenario::recorded(detente::scenario::istanbul_2025());
    /// assert!(Query::default().knows(&events[0]));
    /// assert!(!Query::at_position(0).knows(&events[0]));
    /// ```
    pub fn knows(&self, event: &RecordedEvent) -> bool {
        self.at_position.is_none_or(|at| event.position <= at)
            && self.known_at.is_none_or(|at| event.reported_on <= at)
    }

    /// This query with a knowledge-time bound too.
    ///
    /// ```
    /// # use detente::domain::Query;
    /// let query = Query::as_of("2025-02-26".parse().unwrap()).and_known_at("2025-02-28".parse().unwrap());
    /// assert!(query.as_of.is_some() && query.known_at.is_some());
    /// ```
    pub fn and_known_at(self, date: NaiveDate) -> Query {
        Query {
            known_at: Some(date),
            ..self
        }
    }
}

/// The effective timeline of `events` (one dyad's) for `query`: steps 1 to 4 of the time
/// model (`docs/contract.md`) without the fold.
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
        .filter(|event| query.knows(event))
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

/// The log of `dyad` as its timeline reads it, from `records` holding its own records and
/// those of the dyads it continues ([`Dyad::continues`]; any other record is left out): each
/// record read in `dyad` ([`RecordedEvent::read_in`]), in position order. Its
/// [`effective_timeline`] and [`state_at`] are the reference answers for a dyad that continues
/// others (`docs/contract.md`, successions): `RUS-USA` answers for the INF Treaty signed in
/// `SUN-USA`. For a dyad that continues none, it is the dyad's own records.
///
/// # Example
///
/// ```
/// use detente::domain::{continued_log, state_at, NewEvent, Query};
/// use detente::scenario::recorded;
///
/// let lines = [
///     r#"{"id":"inf","dyad":"SUN-USA","occurred_on":"1987-12-08","event":{"type":"AgreementReached","agreement":"inf","title":"INF Treaty"}}"#,
///     r#"{"id":"left","dyad":"RUS-USA","occurred_on":"2019-08-02","event":{"type":"AgreementProgressed","agreement":"inf","status":"withdrawn","by":"USA"}}"#,
/// ];
/// let records = recorded(lines.iter().map(|line| serde_json::from_str::<NewEvent>(line).unwrap()));
/// let rus_usa = continued_log(&records, "RUS-USA".parse()?);
/// let state = state_at(&rus_usa, &Query::default());
/// assert_eq!((state.events_applied, state.anomalies.len()), (2, 0));
/// // SUN-USA answers for its own events alone.
/// assert_eq!(continued_log(&records, "SUN-USA".parse()?).len(), 1);
/// # Ok::<(), detente::domain::PartyError>(())
/// ```
pub fn continued_log<'a>(
    records: impl IntoIterator<Item = &'a RecordedEvent>,
    dyad: Dyad,
) -> Vec<RecordedEvent> {
    let continued: Vec<Dyad> = dyad.continues().into_iter().map(|(d, _)| d).collect();
    let mut log: Vec<RecordedEvent> = records
        .into_iter()
        .filter(|record| record.dyad == dyad || continued.contains(&record.dyad))
        .map(|record| record.read_in(dyad))
        .collect();
    log.sort_by_key(|record| record.position);
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DiplomatsExpelled, EventRetracted, NewEvent};

    fn record(id: &str, position: u64, on: &str, reported: &str, event: Event) -> RecordedEvent {
        let mut input = NewEvent::new("RUS-USA".parse().unwrap(), on.parse().unwrap(), event);
        input.id = Some(id.parse().unwrap());
        input.reported_on = Some(reported.parse().unwrap());
        input.into_recorded(position, position, on.parse().unwrap(), Default::default())
    }

    fn expelled(count: u32) -> Event {
        Event::DiplomatsExpelled(DiplomatsExpelled {
            expelled_by: "USA".parse().unwrap(),
            count,
        })
    }

    fn retracted(target: &str) -> Event {
        Event::EventRetracted(EventRetracted {
            target: target.parse().unwrap(),
            reason: "r".into(),
        })
    }

    #[track_caller]
    fn check_timeline(events: &[RecordedEvent], query: Query, expected: &[&str]) {
        let ids: Vec<&str> = effective_timeline(events, &query)
            .into_iter()
            .map(|event| event.id.as_str())
            .collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn bounds_are_inclusive_and_apply_only_where_given() {
        let events = [
            record("a", 1, "2025-01-02", "2025-01-05", expelled(1)),
            record("b", 2, "2025-01-01", "2025-01-03", expelled(2)),
        ];
        check_timeline(&events, Query::default(), &["b", "a"]);
        let on = |text: &str| Some(text.parse().unwrap());
        let as_of = Query {
            as_of: on("2025-01-01"),
            ..Query::default()
        };
        check_timeline(&events, as_of, &["b"]);
        let known_at = Query {
            known_at: on("2025-01-05"),
            ..Query::default()
        };
        check_timeline(&events, known_at, &["b", "a"]);
        let known_at = Query {
            known_at: on("2025-01-04"),
            ..Query::default()
        };
        check_timeline(&events, known_at, &["b"]);
        let at_position = Query {
            at_position: Some(1),
            ..Query::default()
        };
        check_timeline(&events, at_position, &["a"]);
    }

    #[test]
    fn a_retraction_counts_whatever_its_own_date_once_it_is_known() {
        let events = [
            record("a", 1, "2025-01-01", "2025-01-01", expelled(1)),
            record("r", 2, "2025-03-01", "2025-03-01", retracted("a")),
        ];
        // Valid time does not bring the target back: the retraction is about what we know.
        let as_of = Query {
            as_of: Some("2025-01-31".parse().unwrap()),
            ..Query::default()
        };
        check_timeline(&events, as_of, &[]);
        let known_at = Query {
            known_at: Some("2025-02-01".parse().unwrap()),
            ..Query::default()
        };
        check_timeline(&events, known_at, &["a"]);
    }

    #[test]
    fn a_retracted_retraction_drops_out_and_its_target_stays_dropped() {
        // Step 2 is one pass over the set, so undoing a retraction does not restore its target:
        // which is why check_in_history refuses to retract a retraction.
        let events = [
            record("a", 1, "2025-01-01", "2025-01-01", expelled(1)),
            record("r1", 2, "2025-01-02", "2025-01-02", retracted("a")),
            record("r2", 3, "2025-01-03", "2025-01-03", retracted("r1")),
        ];
        check_timeline(&events, Query::default(), &["r2"]);
        let state = state_at(&events, &Query::default());
        assert_eq!((state.events_applied, state.position), (1, 3));
        assert!(state.reciprocity.diplomats_expelled.is_empty());
    }
}
