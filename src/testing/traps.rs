//! The traps a projection can fall into, and which of them a history holds: what the kit's
//! generator must produce often enough for its laws to find the mistakes (`docs/testing.md`
//! gives the measured frequencies).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::records;
use super::strategies::item_touched;
use crate::domain::{Dyad, Event, EventId, ItemKind, NewEvent, Query, RecordedEvent, state_at};

/// A shape of history that breaks a careless projection.
///
/// # Example
///
/// ```
/// use detente::testing::{Trap, traps_in};
///
/// let traps = traps_in(&detente::scenario::istanbul_2025());
/// assert!(traps.contains(&Trap::EventType("TalksHeld")));
/// assert!(Trap::all().len() > 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trap {
    /// A move of an item (a step progressed, a claim progressed, a proposal answered, an
    /// irritant resolved, a round cancelled) whose raise was retracted: an orphan in the
    /// effective timeline.
    OrphanAfterRetraction(ItemKind),
    /// A move of an item whose raise is not yet known at some `known_at` where the move is
    /// (the raise was reported later): an orphan under that query.
    OrphanNotYetKnown(ItemKind),
    /// An item raised and then moved in the effective timeline (state carried across events).
    Moved(ItemKind),
    /// The same move of the same item twice in a dyad's log (a correction recorded again
    /// after a retraction, or a repeat where the checks allow one).
    RepeatedTransition,
    /// An item whose events carry three sources or more between them.
    ManySources,
    /// Talks with two topics or more.
    ManyTopics,
    /// Two events of a dyad on the same date.
    EqualDates,
    /// Two consecutive dates of a dyad sixty days apart or more.
    LongGap,
    /// An event dated before an event of its dyad recorded earlier (a retroactive event).
    Retroactive,
    /// A record of the whole log dated before the record before it (what a raw-log projection
    /// meets: dyads interleave and retroactive events arrive).
    DatesGoBackInTheLog,
    /// Talks in a city given as the empty string.
    EmptyCity,
    /// Talks of a dyad in two cities or more.
    TwoCities,
    /// An event of this type (one of [`Event::TYPE_NAMES`]).
    EventType(&'static str),
}

impl Trap {
    /// Every trap, in a fixed order.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::domain::ItemKind;
    /// use detente::testing::Trap;
    ///
    /// assert!(Trap::all().contains(&Trap::OrphanNotYetKnown(ItemKind::Claim)));
    /// ```
    pub fn all() -> Vec<Trap> {
        const KINDS: [ItemKind; 5] = [
            ItemKind::Step,
            ItemKind::Claim,
            ItemKind::Proposal,
            ItemKind::Irritant,
            ItemKind::Round,
        ];
        let mut all: Vec<Trap> = Vec::new();
        all.extend(KINDS.map(Trap::OrphanAfterRetraction));
        all.extend(KINDS.map(Trap::OrphanNotYetKnown));
        all.extend(KINDS.map(Trap::Moved));
        all.extend([
            Trap::RepeatedTransition,
            Trap::ManySources,
            Trap::ManyTopics,
            Trap::EqualDates,
            Trap::LongGap,
            Trap::Retroactive,
            Trap::DatesGoBackInTheLog,
            Trap::EmptyCity,
            Trap::TwoCities,
        ]);
        all.extend(Event::TYPE_NAMES.iter().copied().map(Trap::EventType));
        all
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trap::OrphanAfterRetraction(kind) => write!(f, "orphan {kind} after a retraction"),
            Trap::OrphanNotYetKnown(kind) => write!(f, "orphan {kind} not yet known"),
            Trap::Moved(kind) => write!(f, "{kind} raised then moved"),
            Trap::RepeatedTransition => f.write_str("repeated transition"),
            Trap::ManySources => f.write_str("item with 3+ sources"),
            Trap::ManyTopics => f.write_str("talks with 2+ topics"),
            Trap::EqualDates => f.write_str("equal dates"),
            Trap::LongGap => f.write_str("gap of 60+ days"),
            Trap::Retroactive => f.write_str("retroactive event"),
            Trap::DatesGoBackInTheLog => f.write_str("dates go back in the raw log"),
            Trap::EmptyCity => f.write_str("talks in an empty city"),
            Trap::TwoCities => f.write_str("talks in 2+ cities"),
            Trap::EventType(name) => write!(f, "a {name}"),
        }
    }
}

/// What a move sets its item to, so that two moves to the same place compare equal.
fn moved_to(event: &Event) -> Option<String> {
    match event {
        Event::StepProgressed(e) => Some(format!("{:?}", e.stage)),
        Event::ClaimProgressed(e) => Some(format!("{:?}", e.status)),
        Event::ProposalAnswered(e) => Some(format!("{:?}", e.response)),
        Event::IrritantResolved(_) => Some("resolved".to_owned()),
        Event::RoundCancelled(_) => Some("cancelled".to_owned()),
        _ => None,
    }
}

/// The traps `history` holds (each once, in the order of [`Trap::all`]), read from the
/// records the kit makes of it ([`records`]).
///
/// # Example
///
/// ```
/// use detente::testing::{Trap, history_from_jsonl, traps_in};
///
/// let history = history_from_jsonl(r#"
/// {"id":"e0","dyad":"RUS-USA","occurred_on":"2025-01-01","event":{"type":"StepAgreed","step":"a","description":"x"}}
/// {"id":"e1","dyad":"RUS-USA","occurred_on":"2025-01-02","event":{"type":"StepProgressed","step":"a","stage":"implemented"}}
/// {"id":"e2","dyad":"RUS-USA","occurred_on":"2025-01-03","event":{"type":"EventRetracted","target":"e0","reason":"typo"}}
/// "#)?;
/// let traps = traps_in(&history);
/// assert!(traps.contains(&Trap::OrphanAfterRetraction(detente::domain::ItemKind::Step)));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn traps_in(history: &[NewEvent]) -> Vec<Trap> {
    let log = records(history);
    let mut found: BTreeSet<usize> = BTreeSet::new();
    let all = Trap::all();
    let mut mark = |trap: Trap| {
        if let Some(index) = all.iter().position(|t| *t == trap) {
            found.insert(index);
        }
    };
    for event in &log {
        mark(Trap::EventType(event.event.type_name()));
    }
    if log
        .windows(2)
        .any(|pair| pair[1].occurred_on < pair[0].occurred_on)
    {
        mark(Trap::DatesGoBackInTheLog);
    }
    let dyads: BTreeSet<Dyad> = log.iter().map(|r| r.dyad).collect();
    for dyad in dyads {
        let mine: Vec<&RecordedEvent> = log.iter().filter(|r| r.dyad == dyad).collect();
        dyad_traps(&mine, &mut mark);
    }
    found.into_iter().map(|index| all[index]).collect()
}

fn dyad_traps(mine: &[&RecordedEvent], mark: &mut impl FnMut(Trap)) {
    let by_id: BTreeMap<&EventId, &RecordedEvent> = mine.iter().map(|r| (&r.id, *r)).collect();
    let orphan_kinds = |query: &Query| -> BTreeMap<EventId, ItemKind> {
        state_at(mine.iter().copied(), query)
            .anomalies
            .iter()
            .filter_map(|anomaly| {
                let record = by_id.get(&anomaly.event_id)?;
                match item_touched(&record.event) {
                    Some((kind, _, false)) => Some((anomaly.event_id.clone(), kind)),
                    _ => None,
                }
            })
            .collect()
    };
    let unbounded = orphan_kinds(&Query::default());
    for kind in unbounded.values() {
        mark(Trap::OrphanAfterRetraction(*kind));
    }
    let reported: BTreeSet<_> = mine.iter().map(|r| r.reported_on).collect();
    for known_at in reported {
        for (id, kind) in orphan_kinds(&Query::known_at(known_at)) {
            if !unbounded.contains_key(&id) {
                mark(Trap::OrphanNotYetKnown(kind));
            }
        }
    }
    let timeline = crate::domain::effective_timeline(mine.iter().copied(), &Query::default());
    let mut raised: BTreeSet<(String, &str)> = BTreeSet::new();
    let mut sources: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for record in &timeline {
        if let Some((kind, id, raises)) = item_touched(&record.event) {
            let key = (kind.to_string(), id.as_str());
            *sources.entry(key.clone()).or_default() += record.sources.len();
            if raises {
                raised.insert(key);
            } else if raised.contains(&key) {
                mark(Trap::Moved(kind));
            }
        }
    }
    if sources.values().any(|&n| n >= 3) {
        mark(Trap::ManySources);
    }
    let mut moves: BTreeSet<(String, &str, String)> = BTreeSet::new();
    for record in mine {
        if let (Some((kind, id, false)), Some(to)) =
            (item_touched(&record.event), moved_to(&record.event))
            && !moves.insert((kind.to_string(), id.as_str(), to))
        {
            mark(Trap::RepeatedTransition);
        }
    }
    let mut dates: Vec<_> = mine.iter().map(|r| r.occurred_on).collect();
    if mine.iter().enumerate().any(|(at, r)| {
        mine[..at]
            .iter()
            .any(|earlier| earlier.occurred_on > r.occurred_on)
    }) {
        mark(Trap::Retroactive);
    }
    dates.sort();
    if dates.windows(2).any(|pair| pair[0] == pair[1]) {
        mark(Trap::EqualDates);
    }
    if dates
        .windows(2)
        .any(|pair| (pair[1] - pair[0]).num_days() >= 60)
    {
        mark(Trap::LongGap);
    }
    let mut cities: BTreeSet<&str> = BTreeSet::new();
    for record in mine {
        if let Event::TalksHeld(talks) = &record.event {
            cities.insert(talks.location.city.as_str());
            if talks.location.city.is_empty() {
                mark(Trap::EmptyCity);
            }
            let topics: BTreeSet<&String> = talks.topics.iter().collect();
            if topics.len() >= 2 {
                mark(Trap::ManyTopics);
            }
        }
    }
    if cities.len() >= 2 {
        mark(Trap::TwoCities);
    }
}
