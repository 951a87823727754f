//! Properties of the fold and the query over generated histories (see `strategies`): orphans,
//! duplicates, retractions, bad dates and several dyads included.

use std::collections::BTreeSet;

use detente::domain::*;
use detente::scenario::recorded;
use proptest::prelude::*;

use detente::testing::strategies::{HistoryConfig, valid_history};

use crate::strategies::{self, date_query, dyad_history, history, new_event, query};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// The state with every position zeroed, for comparing logs whose positions differ but whose
/// events and their relative order are the same.
fn without_positions(mut state: BilateralState) -> BilateralState {
    state.position = 0;
    state.anomalies = state
        .anomalies
        .iter()
        .map(|anomaly| Anomaly {
            position: 0,
            ..anomaly.clone()
        })
        .collect();
    state
}

fn fold<'a>(events: impl IntoIterator<Item = &'a RecordedEvent>) -> BilateralState {
    events.into_iter().fold(BilateralState::default(), evolve)
}

fn fold_into(state: BilateralState, events: &[&RecordedEvent]) -> BilateralState {
    events
        .iter()
        .fold(state, |state, event| evolve(state, event))
}

proptest! {
    #![proptest_config(config())]

    /// A state's clone shares its structure (`SharedVec`, `SharedMap`) with the original: folding
    /// the rest of the timeline into one of them, in place where it is not shared, must leave the
    /// other exactly the fold of the prefix. On valid histories, so that items are changed after
    /// the clone, and on arbitrary ones, so that anomalies are appended too.
    #[test]
    fn a_state_and_its_clone_go_their_own_ways(
        valid in valid_history("RUS-USA".parse().unwrap(), HistoryConfig::default()),
        arbitrary in dyad_history(30),
        cut in any::<prop::sample::Index>(),
    ) {
        for inputs in [valid, arbitrary] {
            let events = recorded(inputs);
            let timeline = effective_timeline(&events, &Query::default());
            let (before, after) = timeline.split_at(cut.index(timeline.len() + 1));
            let prefix = fold(before.iter().copied());
            let snapshot = prefix.clone();
            let continued = fold_into(prefix, after);
            prop_assert_eq!(&snapshot, &fold(before.iter().copied()));
            let branched = fold_into(snapshot.clone(), after);
            prop_assert_eq!(&snapshot, &fold(before.iter().copied()));
            prop_assert_eq!(&branched, &continued);
            prop_assert_eq!(&continued, &state_at(&events, &Query::default()));
        }
    }

    /// A ladder: a clone of the state kept after every event of one fold, each still the fold of
    /// its own prefix once the fold has gone on past it (all of them sharing structure).
    #[test]
    fn every_snapshot_of_a_ladder_stays_the_fold_of_its_prefix(
        inputs in valid_history("RUS-USA".parse().unwrap(), HistoryConfig::default()),
    ) {
        let events = recorded(inputs);
        let timeline = effective_timeline(&events, &Query::default());
        let mut ladder = vec![BilateralState::default()];
        let mut state = BilateralState::default();
        for event in &timeline {
            state = evolve(state, event);
            ladder.push(state.clone());
        }
        for (n, snapshot) in ladder.iter().enumerate() {
            prop_assert_eq!(snapshot, &fold(timeline[..n].iter().copied()));
        }
    }

    #[test]
    fn the_query_is_deterministic(inputs in history(strategies::dyad(), 30), query in query()) {
        let events = recorded(inputs);
        prop_assert_eq!(state_at(&events, &query), state_at(&events, &query));
        let reversed: Vec<RecordedEvent> = events.iter().rev().cloned().collect();
        // The input order of the records does not matter: only their positions do.
        prop_assert_eq!(state_at(&events, &query), state_at(&reversed, &query));
    }

    #[test]
    fn the_fold_is_total_in_any_order_with_any_positions(
        inputs in history(strategies::dyad(), 30),
        positions in prop::collection::vec(any::<u64>(), 30),
        order in Just(()).prop_perturb(|(), mut rng| rng.random::<u64>()),
        query in query(),
    ) {
        let mut events = recorded(inputs);
        for (event, position) in events.iter_mut().zip(positions) {
            event.position = position;
        }
        // Any order at all, not the effective one.
        events.sort_by_key(|event| event.position ^ order);
        let state = fold(&events);
        prop_assert_eq!(
            state.events_applied + state.anomalies.len() as u64,
            events.len() as u64
        );
        prop_assert_eq!(state.position, events.iter().map(|e| e.position).max().unwrap_or(0));
        let _ = state_at(&events, &query);
        if let Some((last, earlier)) = events.split_last() {
            let _ = check_in_history(earlier, last);
        }
    }

    #[test]
    fn every_event_folded_is_applied_or_an_anomaly(inputs in dyad_history(30), query in query()) {
        let events = recorded(inputs);
        let timeline = effective_timeline(&events, &query);
        let state = state_at(&events, &query);
        prop_assert_eq!(
            state.events_applied + state.anomalies.len() as u64,
            timeline.len() as u64
        );
        prop_assert_eq!(state.position, timeline.iter().map(|e| e.position).max().unwrap_or(0));
        let ids: BTreeSet<&EventId> = timeline.iter().map(|e| &e.id).collect();
        for anomaly in &state.anomalies {
            prop_assert!(ids.contains(&anomaly.event_id));
        }
    }

    #[test]
    fn other_dyads_do_not_change_a_dyads_state(
        ours in dyad_history(20),
        theirs in history(
            prop_oneof![Just("CHN-USA".parse::<Dyad>().unwrap()), Just("RUS-TUR".parse::<Dyad>().unwrap())],
            20,
        ),
        interleaving in prop::collection::vec(any::<bool>(), 40),
        query in date_query(),
    ) {
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        // Their ids must not be ours: a log's ids are unique.
        let theirs: Vec<NewEvent> = theirs
            .into_iter()
            .map(|mut input| {
                input.id = Some(format!("x{}", input.id.unwrap()).parse().unwrap());
                input
            })
            .collect();
        let mut mixed = Vec::new();
        let (mut ours_left, mut theirs_left) = (ours.iter().cloned(), theirs.into_iter());
        for take_ours in interleaving {
            let next = if take_ours { ours_left.next() } else { theirs_left.next() };
            mixed.extend(next);
        }
        mixed.extend(ours_left);
        mixed.extend(theirs_left);
        let mixed = recorded(mixed);
        let alone = recorded(ours);

        let filtered: Vec<&RecordedEvent> = mixed.iter().filter(|e| e.dyad == dyad).collect();
        prop_assert_eq!(
            without_positions(state_at(filtered, &query)),
            without_positions(state_at(&alone, &query))
        );

        // Unfiltered, the fold takes the first dyad it meets and lists the rest as anomalies.
        let timeline = effective_timeline(&mixed, &Query::default());
        let state = state_at(&mixed, &Query::default());
        if let Some(first) = timeline.first() {
            prop_assert_eq!(state.dyad, Some(first.dyad));
            let anomalies: BTreeSet<&EventId> = state.anomalies.iter().map(|a| &a.event_id).collect();
            for event in timeline.iter().filter(|e| e.dyad != first.dyad) {
                prop_assert!(anomalies.contains(&event.id), "{} should be an anomaly", event.id);
            }
        }
    }

    #[test]
    fn continuing_a_fold_with_later_events_equals_folding_all_at_once(
        inputs in dyad_history(30),
        split in any::<prop::sample::Index>(),
    ) {
        // Append in date order, as a live log mostly is; retractions only of events before the
        // split, so the suffix adds facts and retracts nothing.
        let mut inputs = inputs;
        inputs.sort_by_key(|input| input.occurred_on);
        let events = recorded(inputs);
        let split = split.index(events.len() + 1);
        let (prefix, suffix) = events.split_at(split);
        let prefix_ids: BTreeSet<&EventId> = prefix.iter().map(|e| &e.id).collect();
        let keep = |event: &&RecordedEvent| match &event.event {
            Event::EventRetracted(r) => event.position <= split as u64 && prefix_ids.contains(&r.target),
            _ => true,
        };
        let prefix: Vec<&RecordedEvent> = prefix.iter().filter(keep).collect();
        let suffix: Vec<&RecordedEvent> = suffix.iter().filter(keep).collect();

        let snapshot = state_at(prefix.iter().copied(), &Query::default());
        let continued = effective_timeline(suffix.iter().copied(), &Query::default())
            .into_iter()
            .fold(snapshot, evolve);
        let at_once = state_at(prefix.iter().chain(&suffix).copied(), &Query::default());
        prop_assert_eq!(continued, at_once);
    }

    #[test]
    fn the_append_order_of_events_on_distinct_dates_does_not_matter(
        inputs in dyad_history(30),
        shuffle in Just(()).prop_perturb(|(), mut rng| rng.random::<u64>()),
        query in date_query(),
    ) {
        let mut seen = BTreeSet::new();
        let distinct: Vec<NewEvent> = inputs
            .into_iter()
            .filter(|input| seen.insert(input.occurred_on))
            .collect();
        let mut shuffled = distinct.clone();
        // A deterministic shuffle from the generated seed.
        shuffled.sort_by_key(|input| {
            let id = input.id.as_ref().unwrap().as_str();
            id.bytes().fold(shuffle, |acc, b| acc.wrapping_mul(31).wrapping_add(u64::from(b)))
        });
        prop_assert_eq!(
            without_positions(state_at(&recorded(distinct), &query)),
            without_positions(state_at(&recorded(shuffled), &query))
        );
    }

    #[test]
    fn events_and_envelopes_survive_a_serde_round_trip(input in new_event(strategies::dyad(), 5)) {
        let text = serde_json::to_string(&input.event).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Event>(&text).unwrap(), &input.event);
        let text = serde_json::to_string(&input).unwrap();
        prop_assert_eq!(&serde_json::from_str::<NewEvent>(&text).unwrap(), &input);
        let record = recorded([input]).pop().unwrap();
        let text = serde_json::to_string(&record).unwrap();
        prop_assert_eq!(serde_json::from_str::<RecordedEvent>(&text).unwrap(), record);
    }

    #[test]
    fn the_state_survives_a_serde_round_trip(inputs in history(strategies::dyad(), 30), query in query()) {
        let state = state_at(&recorded(inputs), &query);
        let text = serde_json::to_string(&state).unwrap();
        prop_assert_eq!(serde_json::from_str::<BilateralState>(&text).unwrap(), state);
    }

    #[test]
    fn the_derived_id_is_stable_and_follows_the_content(
        a in new_event(strategies::dyad(), 5),
        b in new_event(strategies::dyad(), 5),
    ) {
        prop_assert_eq!(a.derived_id(), a.clone().derived_id());
        let round_tripped: NewEvent = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        prop_assert_eq!(a.derived_id(), round_tripped.derived_id());
        let mut with_id = a.clone();
        with_id.id = Some("given".parse().unwrap());
        prop_assert_eq!(with_id.derived_id(), a.derived_id());
        prop_assert_eq!(a == b, a.derived_id() == b.derived_id());
    }
}

proptest! {
    #![proptest_config(config())]

    /// The engine checks a retroactive event from a snapshot: `check_continuing` from any fold
    /// of a prefix of the timeline must answer what `check_in_history` answers from the log.
    #[test]
    fn checking_from_any_prefix_of_the_timeline_equals_checking_from_the_log(
        inputs in dyad_history(24),
        late in new_event(Just("RUS-USA".parse::<Dyad>().unwrap()), 26),
        split in any::<prop::sample::Index>(),
    ) {
        prop_assume!(!matches!(late.event, Event::EventRetracted(_)));
        let events = recorded(inputs);
        let position = events.len() as u64 + 1;
        let mut late = late;
        late.id = Some("late".parse().unwrap());
        let today = "2026-01-01".parse().unwrap();
        let candidate = late.into_recorded(position, position, today, Default::default());
        let timeline = effective_timeline(&events, &Query::default());
        let key = (candidate.occurred_on, candidate.position);
        let places = timeline.partition_point(|e| (e.occurred_on, e.position) < key);
        let at = split.index(places + 1);
        let base = fold(timeline[..at].iter().copied());
        let fast = check_continuing(base, &timeline[at..], &candidate);
        let reference = check_in_history(&events, &candidate);
        prop_assert_eq!(fast.as_ref().err(), reference.as_ref().err());
        if let Ok(state) = fast {
            let mut all = events.clone();
            all.push(candidate);
            prop_assert_eq!(state, state_at(&all, &Query::default()));
        }
    }
}
