//! In-memory rungs of a dyad's effective timeline: the state at some places of the timeline,
//! kept so that an `as_of` query folds at most `Config::rung_every` events after the nearest one
//! instead of decoding a stored snapshot (a whole state) and folding up to `snapshot_every`
//! events after it.
//!
//! A rung is a clone of a `BilateralState`, whose collections share structure with the
//! state it was cloned from, so a rung folded from another costs about the events folded
//! in between, not a copy of the state; a stored snapshot read to start a ladder costs its
//! whole state. Rungs are made by the `as_of` queries themselves, as they fold forward, so
//! only the dyads that are asked about have a ladder. Each rung is weighed in events (those
//! folded since the rung it grew from, or all of a snapshot's), and the least recently asked
//! dyad's ladder is dropped when the weight of all ladders passes [`MAX_WEIGHT`].
//!
//! **Invariant:** a rung at place `t` is the fold of the dyad's effective timeline up to and
//! including `t`. An append after the end of the timeline leaves every rung true; a
//! retroactive event or a retraction drops the rungs at or after the earliest place it
//! changes ([`Ladders::forget_from`], called by `maintain` under the folds' write lock).

use std::collections::{BTreeMap, HashMap};

use super::keys::TimeKey;
use crate::domain::{BilateralState, Dyad};

/// Events folded between two rungs made by a query, by default (`Config::rung_every`).
pub(crate) const RUNG_EVERY: u64 = 256;

/// The weight, in events, of the rungs the engine keeps in memory over all dyads: about
/// the memory of that many events' share of a state.
pub(crate) const MAX_WEIGHT: u64 = 262_144;

#[derive(Default)]
pub(crate) struct Ladders {
    dyads: HashMap<Dyad, Ladder>,
    /// A clock for "least recently used".
    tick: u64,
    /// The weight of the rungs over all dyads.
    weight: u64,
}

#[derive(Default)]
struct Ladder {
    /// Each rung with its weight.
    rungs: BTreeMap<TimeKey, (BilateralState, u64)>,
    used: u64,
}

impl Ladder {
    fn weight(&self) -> u64 {
        self.rungs.values().map(|(_, weight)| weight).sum()
    }
}

impl Ladders {
    /// The last rung of `dyad` at or before `limit`.
    pub fn at_or_before(
        &mut self,
        dyad: Dyad,
        limit: TimeKey,
    ) -> Option<(TimeKey, BilateralState)> {
        self.tick += 1;
        let ladder = self.dyads.get_mut(&dyad)?;
        ladder.used = self.tick;
        ladder
            .rungs
            .range(..=limit)
            .next_back()
            .map(|(at, (state, _))| (*at, state.clone()))
    }

    /// Keeps `state` as the fold of `dyad`'s timeline up to and including `at`, weighing
    /// `weight` events; drops the least recently used ladders beyond [`MAX_WEIGHT`].
    pub fn put(&mut self, dyad: Dyad, at: TimeKey, state: BilateralState, weight: u64) {
        self.tick += 1;
        let ladder = self.dyads.entry(dyad).or_default();
        ladder.used = self.tick;
        self.weight += weight;
        if let Some((_, replaced)) = ladder.rungs.insert(at, (state, weight)) {
            self.weight -= replaced;
        }
        while self.weight > MAX_WEIGHT {
            let coldest = self
                .dyads
                .iter()
                .filter(|(other, _)| **other != dyad)
                .min_by_key(|(_, ladder)| ladder.used)
                .map(|(other, _)| *other);
            match coldest.and_then(|other| self.dyads.remove(&other)) {
                Some(dropped) => self.weight -= dropped.weight(),
                None => {
                    // Only this dyad is left: drop its earliest rungs.
                    let ladder = self.dyads.entry(dyad).or_default();
                    while self.weight > MAX_WEIGHT {
                        match ladder.rungs.pop_first() {
                            Some((_, (_, weight))) => self.weight -= weight,
                            None => break,
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Drops the rungs of `dyad` at or after `from`: its timeline changed there.
    pub fn forget_from(&mut self, dyad: Dyad, from: TimeKey) {
        if let Some(ladder) = self.dyads.get_mut(&dyad) {
            let dropped = ladder.rungs.split_off(&from);
            self.weight -= dropped.values().map(|(_, weight)| weight).sum::<u64>();
        }
    }

    /// Drops every rung (only the test hook `Engine::drop_caches_for_tests` does).
    #[cfg(feature = "testing")]
    pub fn clear(&mut self) {
        self.dyads.clear();
        self.weight = 0;
    }

    /// Every rung, for `verify`.
    pub fn all(&self) -> impl Iterator<Item = (Dyad, TimeKey, &BilateralState)> {
        self.dyads.iter().flat_map(|(dyad, ladder)| {
            ladder
                .rungs
                .iter()
                .map(move |(at, (state, _))| (*dyad, *at, state))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(day: u32, position: u64) -> TimeKey {
        TimeKey {
            on: chrono::NaiveDate::from_ymd_opt(2025, 1, day).unwrap_or_default(),
            position,
        }
    }

    fn state(position: u64) -> BilateralState {
        BilateralState {
            position,
            ..BilateralState::default()
        }
    }

    #[test]
    fn the_nearest_rung_at_or_before_the_limit_is_found() {
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        let mut ladders = Ladders::default();
        assert!(ladders.at_or_before(dyad, key(9, 0)).is_none());
        ladders.put(dyad, key(2, 5), state(5), 1);
        ladders.put(dyad, key(4, 9), state(9), 1);
        assert_eq!(
            ladders.at_or_before(dyad, key(3, 0)).map(|r| r.0),
            Some(key(2, 5))
        );
        assert_eq!(
            ladders.at_or_before(dyad, key(4, 9)).map(|r| r.1.position),
            Some(9)
        );
        assert!(ladders.at_or_before(dyad, key(2, 4)).is_none());
    }

    #[test]
    fn a_change_drops_the_rungs_at_and_after_it_only() {
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        let mut ladders = Ladders::default();
        for day in 1..=6 {
            ladders.put(dyad, key(day, u64::from(day)), state(u64::from(day)), 10);
        }
        ladders.forget_from(dyad, key(4, 4));
        let left: Vec<_> = ladders.all().map(|(_, at, _)| at.position).collect();
        assert_eq!(left.len(), 3);
        assert!(left.iter().all(|p| *p < 4));
        assert_eq!(ladders.weight, 30);
    }

    #[test]
    fn the_least_recently_used_ladder_goes_first_when_full() {
        let (a, b, c): (Dyad, Dyad, Dyad) = (
            "RUS-USA".parse().unwrap(),
            "CHN-USA".parse().unwrap(),
            "FRA-USA".parse().unwrap(),
        );
        let mut ladders = Ladders::default();
        let half = MAX_WEIGHT / 2;
        ladders.put(a, key(1, 0), state(0), half);
        ladders.put(b, key(1, 0), state(0), half);
        // `a` asked again: `b` is now the coldest.
        assert!(ladders.at_or_before(a, key(1, 0)).is_some());
        ladders.put(c, key(1, 0), state(0), 1);
        assert!(ladders.weight <= MAX_WEIGHT);
        assert!(ladders.at_or_before(a, key(1, 0)).is_some());
        assert!(ladders.at_or_before(b, key(1, 0)).is_none());
        assert!(ladders.at_or_before(c, key(1, 0)).is_some());
    }

    #[test]
    fn a_ladder_heavier_than_the_budget_keeps_its_latest_rungs() {
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        let mut ladders = Ladders::default();
        for day in 1..=4 {
            ladders.put(dyad, key(day, 0), state(0), MAX_WEIGHT / 3);
        }
        assert!(ladders.weight <= MAX_WEIGHT);
        assert!(ladders.at_or_before(dyad, key(1, 0)).is_none());
        assert!(ladders.at_or_before(dyad, key(4, 0)).is_some());
    }
}
