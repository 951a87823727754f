//! The engine through its public API: record, queries, caches, projections, feeds, verify.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use detente::domain::*;
use detente::engine::{Config, Engine, EngineError, VerifyFailure};
use detente::scenario;
use detente::store::StoreError;

fn rus_usa() -> Dyad {
    "RUS-USA".parse().unwrap()
}

fn input(json: serde_json::Value) -> NewEvent {
    serde_json::from_value(json).unwrap()
}

fn open(dir: &tempfile::TempDir) -> Engine {
    Engine::open(dir.path().join("store")).unwrap()
}

/// The reference answer over everything the engine has stored for `dyad`.
fn reference(engine: &Engine, dyad: Dyad, query: &Query) -> BilateralState {
    let log: Vec<RecordedEvent> = engine.stream(dyad).collect::<Result<_, _>>().unwrap();
    state_at(&log, query)
}

fn export(engine: &Engine) -> Vec<RecordedEvent> {
    engine.log(1).collect::<Result<_, _>>().unwrap()
}

#[test]
fn the_istanbul_scenario_folds_to_the_reference_answer() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    let appended = engine.record_batch(scenario::istanbul_2025()).unwrap();
    assert!(appended.iter().all(|a| a.stored));
    let state = engine.state(rus_usa()).unwrap();
    assert_eq!(state, reference(&engine, rus_usa(), &Query::default()));
    assert_eq!(state.rounds.len(), 1);
    assert!(state.anomalies.is_empty(), "{:?}", state.anomalies);
    engine.verify().unwrap();
}

#[test]
fn a_batch_is_all_or_nothing_and_names_the_bad_event() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    let good = input(
        serde_json::json!({"dyad": "RUS-USA", "occurred_on": "2025-02-27",
        "event": {"type": "StepAgreed", "step": "financing", "description": "unimpeded financing"}}),
    );
    let also_good = input(
        serde_json::json!({"dyad": "RUS-USA", "occurred_on": "2025-03-10",
        "event": {"type": "StepProgressed", "step": "financing", "stage": "implementing"}}),
    );
    let orphan = input(
        serde_json::json!({"dyad": "RUS-USA", "occurred_on": "2025-03-11",
        "event": {"type": "ClaimProgressed", "claim": "dachas", "status": "resolved"}}),
    );
    let err = engine
        .record_batch(vec![good.clone(), also_good.clone(), orphan])
        .unwrap_err();
    match &err {
        EngineError::Rejected {
            index: 2,
            rejection: Rejection::UnknownItem { .. },
            ..
        } => {}
        other => panic!("expected the third event to be refused, got {other:?}"),
    }
    assert!(err.to_string().starts_with("event 3 of the batch"), "{err}");
    assert_eq!(engine.head().position, 0);
    // The batch's second event is checked against the state that includes its first.
    let appended = engine.record_batch(vec![good, also_good]).unwrap();
    assert_eq!(appended.len(), 2);
    assert_eq!(engine.state(rus_usa()).unwrap().steps.len(), 1);
}

#[test]
fn recording_again_is_a_no_op_and_other_content_under_the_same_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    let expelled = input(
        serde_json::json!({"dyad": "RUS-USA", "occurred_on": "2016-12-29",
        "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 35}}),
    );
    let first = engine.record(expelled.clone()).unwrap();
    let again = engine.record(expelled.clone()).unwrap();
    assert_eq!(first.record, again.record);
    assert!(!again.stored);
    let mut other = expelled;
    other.id = Some(first.record.id.clone());
    other.event = Event::DiplomatsExpelled(DiplomatsExpelled {
        expelled_by: "USA".parse().unwrap(),
        count: 36,
    });
    match engine.record(other) {
        Err(EngineError::IdConflict { position: 1, .. }) => {}
        other => panic!("expected an id conflict, got {other:?}"),
    }
    assert_eq!(engine.head().position, 1);
}

#[test]
fn a_retroactive_event_and_a_retraction_refold_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(
        dir.path(),
        Config {
            snapshot_every: 2,
            ..Config::default()
        },
    )
    .unwrap();
    for (n, date) in ["2017-09-02", "2018-03-26", "2019-01-01", "2020-01-01"]
        .iter()
        .enumerate()
    {
        engine
            .record(input(serde_json::json!({"id": format!("closed-{n}"), "dyad": "RUS-USA", "occurred_on": date,
                "event": {"type": "MissionClosed", "closed_by": "USA", "facility": format!("facility {n}")}})))
            .unwrap();
    }
    // Late news of an earlier expulsion lands in its place on the timeline.
    engine
        .record(input(serde_json::json!({"id": "expelled-2016", "dyad": "RUS-USA", "occurred_on": "2016-12-29",
            "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 35}})))
        .unwrap();
    let history = engine.history(rus_usa(), None, None).unwrap();
    assert_eq!(history[0].id.as_str(), "expelled-2016");
    // A retraction takes its target out.
    engine
        .record(input(
            serde_json::json!({"id": "oops", "dyad": "RUS-USA", "occurred_on": "2021-01-01",
            "event": {"type": "EventRetracted", "target": "closed-1", "reason": "misreported"}}),
        ))
        .unwrap();
    let state = engine.state(rus_usa()).unwrap();
    assert_eq!(state, reference(&engine, rus_usa(), &Query::default()));
    let usa: Party = "USA".parse().unwrap();
    assert_eq!(state.reciprocity.missions_closed[&usa].len(), 3);
    for day in [
        "2016-12-28",
        "2016-12-29",
        "2017-09-02",
        "2018-06-01",
        "2019-01-01",
        "2030-01-01",
    ] {
        let query = Query {
            as_of: Some(day.parse().unwrap()),
            ..Query::default()
        };
        assert_eq!(
            engine.query(rus_usa(), &query).unwrap(),
            reference(&engine, rus_usa(), &query),
            "{day}"
        );
    }
    engine.verify().unwrap();
}

#[test]
fn caches_survive_a_reopen_and_a_rebuild_gives_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (state, history) = {
        let engine = open(&dir);
        engine.record_batch(scenario::istanbul_2025()).unwrap();
        engine
            .record_batch(scenario::istanbul_2025_followups())
            .unwrap();
        (
            engine.state(rus_usa()).unwrap(),
            engine.history(rus_usa(), None, None).unwrap(),
        )
    };
    {
        let engine = open(&dir);
        assert_eq!(engine.state(rus_usa()).unwrap(), state);
        engine.verify().unwrap();
        engine.drop_caches_for_tests().unwrap();
    }
    let engine = open(&dir);
    assert_eq!(engine.state(rus_usa()).unwrap(), state);
    assert_eq!(engine.history(rus_usa(), None, None).unwrap(), history);
    engine.verify().unwrap();
}

#[test]
fn verify_finds_an_altered_projection() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    engine.record_batch(scenario::istanbul_2025()).unwrap();
    engine.verify().unwrap();
    engine.tamper_projection_for_tests(rus_usa()).unwrap();
    match engine.verify() {
        Err(EngineError::Verify(VerifyFailure::Projection { name, dyad, .. })) => {
            assert_eq!(name, "bilateral_state");
            assert_eq!(dyad, Some(rus_usa()));
        }
        other => panic!("expected a projection fault, got {other:?}"),
    }
}

#[test]
fn concurrent_recorders_never_store_an_event_checked_against_a_stale_state() {
    // One thread agrees steps; three race to progress them, each retrying a step until it
    // exists. A progress stored against a stale state would show as an anomaly or as a
    // progress positioned before its agreement.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(
        dir.path(),
        Config {
            durability: detente::store::Durability::Buffered,
            ..Config::default()
        },
    )
    .unwrap();
    const STEPS: usize = 12;
    let start = Arc::new(Barrier::new(4));
    let mut threads = Vec::new();
    {
        let engine = engine.clone();
        let start = Arc::clone(&start);
        threads.push(std::thread::spawn(move || {
            start.wait();
            let mut stored = 0;
            for step in 0..STEPS {
                let agreed = input(serde_json::json!({"id": format!("agree-{step}"), "dyad": "RUS-USA",
                    "occurred_on": "2025-03-01", "reported_on": "2025-03-01",
                    "event": {"type": "StepAgreed", "step": format!("s{step}"), "description": "a step"}}));
                stored += usize::from(engine.record(agreed).unwrap().stored);
            }
            stored
        }));
    }
    for worker in 0..3 {
        let engine = engine.clone();
        let start = Arc::clone(&start);
        threads.push(std::thread::spawn(move || {
            start.wait();
            let mut stored = 0;
            for step in 0..STEPS {
                // Each worker its own stage: moving a step to the stage it has is refused.
                let stage = ["formalized", "implementing", "implemented"][worker];
                let progressed = input(serde_json::json!({"id": format!("progress-{worker}-{step}"), "dyad": "RUS-USA",
                    "occurred_on": "2025-03-02", "reported_on": "2025-03-02",
                    "event": {"type": "StepProgressed", "step": format!("s{step}"), "stage": stage}}));
                loop {
                    match engine.record(progressed.clone()) {
                        Ok(appended) => {
                            stored += usize::from(appended.stored);
                            break;
                        }
                        Err(EngineError::Rejected { rejection: Rejection::UnknownItem { .. }, .. }) => {
                            std::thread::yield_now()
                        }
                        Err(other) => panic!("{other}"),
                    }
                }
            }
            stored
        }));
    }
    let stored: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let log = export(&engine);
    assert_eq!(
        stored,
        log.len(),
        "every acknowledged event is in the log, once"
    );
    assert_eq!(log.len(), STEPS * 4);
    let positions: Vec<u64> = log.iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=log.len() as u64).collect::<Vec<_>>());
    let agreed_at: BTreeMap<String, u64> = log
        .iter()
        .filter_map(|r| match &r.event {
            Event::StepAgreed(e) => Some((e.step.to_string(), r.position)),
            _ => None,
        })
        .collect();
    for record in &log {
        if let Event::StepProgressed(e) = &record.event {
            assert!(
                agreed_at[e.step.as_str()] < record.position,
                "{} progressed before it was agreed",
                e.step
            );
        }
    }
    let state = engine.state(rus_usa()).unwrap();
    assert!(state.anomalies.is_empty(), "{:?}", state.anomalies);
    assert_eq!(state, reference(&engine, rus_usa(), &Query::default()));
    engine.verify().unwrap();
}

#[test]
fn a_subscriber_gets_every_new_event_in_order_without_holding_writers() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    let mut feed = engine.subscribe();
    let slow = engine.subscribe(); // never read: must not block anything
    engine.record_batch(scenario::istanbul_2025()).unwrap();
    engine
        .record_batch(scenario::istanbul_2025_followups())
        .unwrap();
    let mut seen = Vec::new();
    while let Some(record) = feed.next_timeout(Duration::from_millis(50)).unwrap() {
        seen.push(record);
    }
    assert_eq!(seen, export(&engine));
    assert_eq!(slow.next_position(), 1);
}

/// Rounds of talks per host city: an effective-timeline projection.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct RoundsPerCity(BTreeMap<String, u32>);

impl Projection for RoundsPerCity {
    const NAME: &'static str = "rounds_per_city";
    const VERSION: u32 = 1;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event {
            *self.0.entry(talks.location.city.clone()).or_default() += 1;
        }
    }
}

/// Every record of the log, retractions included: a raw-log projection.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct AuditCount {
    records: u64,
    retractions: u64,
}

impl Projection for AuditCount {
    const NAME: &'static str = "audit_count";
    const VERSION: u32 = 1;
    const MODE: ReadMode = ReadMode::RawLog;
    fn apply(&mut self, event: &RecordedEvent) {
        self.records += 1;
        self.retractions += u64::from(matches!(event.event, Event::EventRetracted(_)));
    }
}

#[test]
fn registered_projections_follow_the_log_and_catch_up_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let talks = |id: &str, date: &str, city: &str| {
        input(
            serde_json::json!({"id": id, "dyad": "RUS-USA", "occurred_on": date,
            "event": {"type": "TalksHeld", "location": {"city": city, "country": "TUR"}, "delegations": []}}),
        )
    };
    {
        let engine = open(&dir);
        engine.register::<RoundsPerCity>().unwrap();
        engine.register::<AuditCount>().unwrap();
        engine
            .record(talks("t1", "2025-02-27", "Istanbul"))
            .unwrap();
        engine
            .record(talks("t2", "2025-04-10", "Istanbul"))
            .unwrap();
        engine
            .record(input(serde_json::json!({"id": "r1", "dyad": "RUS-USA", "occurred_on": "2025-04-11",
                "event": {"type": "EventRetracted", "target": "t2", "reason": "it did not happen"}})))
            .unwrap();
        let cities = engine.projection::<RoundsPerCity>(Some(rus_usa())).unwrap();
        assert_eq!(cities.0["Istanbul"], 1);
        assert_eq!(
            engine.projection::<AuditCount>(None).unwrap(),
            AuditCount {
                records: 3,
                retractions: 1
            }
        );
        engine.verify().unwrap();
    }
    {
        // Recorded while the projections are not registered: they must catch up.
        let engine = open(&dir);
        engine.record(talks("t3", "2025-01-15", "Riyadh")).unwrap();
    }
    let engine = open(&dir);
    engine.register::<RoundsPerCity>().unwrap();
    engine.register::<AuditCount>().unwrap();
    let cities = engine.projection::<RoundsPerCity>(Some(rus_usa())).unwrap();
    assert_eq!(
        cities,
        engine.replay_dyad::<RoundsPerCity>(rus_usa()).unwrap()
    );
    assert_eq!(cities.0.get("Riyadh"), Some(&1));
    assert_eq!(
        engine.projection::<AuditCount>(None).unwrap(),
        AuditCount {
            records: 4,
            retractions: 1
        }
    );
    assert_eq!(engine.replay::<AuditCount>().unwrap().records, 4);
    engine.verify().unwrap();
}

#[test]
fn a_projection_that_was_never_registered_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    match engine.projection::<RoundsPerCity>(Some(rus_usa())) {
        Err(EngineError::NotRegistered {
            name: "rounds_per_city",
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn known_at_before_a_retraction_still_sees_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    engine
        .record(input(serde_json::json!({"id": "talks", "dyad": "RUS-USA", "occurred_on": "2025-02-27", "reported_on": "2025-02-28",
            "event": {"type": "TalksHeld", "location": {"city": "Istanbul", "country": "TUR"}, "delegations": []}})))
        .unwrap();
    engine
        .record(input(serde_json::json!({"id": "retract", "dyad": "RUS-USA", "occurred_on": "2025-03-05", "reported_on": "2025-03-05",
            "event": {"type": "EventRetracted", "target": "talks", "reason": "wrong city"}})))
        .unwrap();
    let before = Query {
        known_at: Some("2025-03-01".parse().unwrap()),
        ..Query::default()
    };
    assert_eq!(engine.query(rus_usa(), &before).unwrap().rounds.len(), 1);
    assert!(engine.state(rus_usa()).unwrap().rounds.is_empty());
    let at_first = Query {
        at_position: Some(1),
        ..Query::default()
    };
    assert_eq!(engine.query(rus_usa(), &at_first).unwrap().rounds.len(), 1);
}

#[test]
fn caches_behind_the_log_catch_up_on_open() {
    // A crash between the log append and the cache write leaves the checkpoint behind the
    // head, with the caches holding any part of the tail. Catching up must be exact whatever
    // that part is.
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let engine = Engine::open_with(
            dir.path(),
            Config {
                snapshot_every: 2,
                ..Config::default()
            },
        )
        .unwrap();
        engine.record_batch(scenario::istanbul_2025()).unwrap();
        engine
            .record_batch(scenario::istanbul_2025_followups())
            .unwrap();
        engine.rewind_checkpoint_for_tests(3).unwrap();
        engine.state(rus_usa()).unwrap()
    };
    let engine = Engine::open_with(
        dir.path(),
        Config {
            snapshot_every: 2,
            ..Config::default()
        },
    )
    .unwrap();
    assert_eq!(engine.state(rus_usa()).unwrap(), expected);
    assert_eq!(expected, reference(&engine, rus_usa(), &Query::default()));
    engine.verify().unwrap();
}

/// The same name as [`RoundsPerCity`], a new version with another fold: twice the count.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct RoundsPerCityV2(BTreeMap<String, u32>);

impl Projection for RoundsPerCityV2 {
    const NAME: &'static str = "rounds_per_city";
    const VERSION: u32 = 2;
    fn apply(&mut self, event: &RecordedEvent) {
        if let Event::TalksHeld(talks) = &event.event {
            *self.0.entry(talks.location.city.clone()).or_default() += 2;
        }
    }
}

#[test]
fn a_projection_stored_by_an_older_version_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = open(&dir);
        engine.register::<RoundsPerCity>().unwrap();
        engine.record_batch(scenario::istanbul_2025()).unwrap();
        assert_eq!(
            engine
                .projection::<RoundsPerCity>(Some(rus_usa()))
                .unwrap()
                .0["Istanbul"],
            1
        );
    }
    let engine = open(&dir);
    engine.register::<RoundsPerCityV2>().unwrap();
    assert_eq!(
        engine
            .projection::<RoundsPerCityV2>(Some(rus_usa()))
            .unwrap()
            .0["Istanbul"],
        2
    );
    engine.verify().unwrap();
}

#[test]
fn verify_finds_a_record_missing_from_the_timeline() {
    // Store format 2: an event leaves its dyad's timeline when it is marked retracted; a mark
    // that no retraction made is found, and the event named.
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    engine.record_batch(scenario::istanbul_2025()).unwrap();
    let target = engine
        .get(&"istanbul-2025-property-claim".parse().unwrap())
        .unwrap()
        .unwrap();
    engine.untrack_for_tests(&target.id).unwrap();
    match engine.verify() {
        Err(EngineError::Verify(VerifyFailure::Log(StoreError::Corrupt { position, reason }))) => {
            assert_eq!(position, target.position, "{reason}");
            assert!(reason.contains("marked retracted"), "{reason}");
        }
        other => panic!("expected a fault at the target, got {other:?}"),
    }
}

#[test]
fn verify_finds_a_retraction_that_did_not_take_its_target_out_of_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    engine.record_batch(scenario::istanbul_2025()).unwrap();
    let target = engine
        .get(&"istanbul-2025-property-claim".parse().unwrap())
        .unwrap()
        .unwrap();
    let retract: NewEvent = serde_json::from_value(serde_json::json!({
        "id": "retract-claim", "dyad": "RUS-USA", "occurred_on": "2025-03-01",
        "event": {"type": "EventRetracted", "target": target.id, "reason": "test"}
    }))
    .unwrap();
    let retraction = engine.record(retract).unwrap().record;
    drop(engine);
    {
        let store = detente::store::Store::open(
            &dir.path().join("store"),
            detente::store::StoreConfig::default(),
        )
        .unwrap();
        store
            .tamper_retraction_mark_for_tests(target.position, None)
            .unwrap();
    }
    let engine = open(&dir);
    match engine.verify() {
        Err(EngineError::Verify(VerifyFailure::Log(StoreError::Corrupt { position, reason }))) => {
            assert_eq!(position, retraction.position, "{reason}");
        }
        other => panic!("expected a fault at the retraction, got {other:?}"),
    }
}

/// A back-dated event is checked from the nearest state at hand with the batch's earlier
/// events of its dyad merged into the stored timeline: both what it lands in and what it would
/// make fail later include them.
#[test]
fn a_back_dated_event_is_checked_with_the_batch_events_of_its_dyad() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir);
    let on = |day: u32, event: serde_json::Value| {
        input(
            serde_json::json!({"dyad": "RUS-USA", "occurred_on": format!("2025-03-{day:02}"),
            "event": event}),
        )
    };
    let agreed = |step: &str| serde_json::json!({"type": "StepAgreed", "step": step, "description": "a step"});
    engine
        .record_batch(vec![on(1, agreed("a")), on(20, agreed("b"))])
        .unwrap();
    // A step agreed at the end, an irritant back-dated before it, then the step progressed:
    // the progress lands in a state that must hold the step agreed earlier in the batch.
    let irritant = serde_json::json!({"type": "IrritantRaised", "irritant": "i",
        "raised_by": "RUS", "description": "an irritant"});
    let progressed =
        serde_json::json!({"type": "StepProgressed", "step": "x", "stage": "implementing"});
    engine
        .record_batch(vec![
            on(25, agreed("x")),
            on(10, irritant),
            on(26, progressed),
        ])
        .unwrap();
    let state = engine.state(rus_usa()).unwrap();
    assert_eq!(state, reference(&engine, rus_usa(), &Query::default()));
    assert_eq!(
        state
            .steps
            .get(&"x".parse::<ItemId>().unwrap())
            .map(|s| s.stage),
        Some(StepStage::Implementing)
    );
    // The same step agreed at the end and then, back-dated, again: checked as a whole, the
    // batch's timeline agrees `y` on the 22nd, so the agreement of the 28th (line 0) is the
    // event that fails, and it is named.
    let head = engine.head();
    let err = engine
        .record_batch(vec![on(28, agreed("y")), on(22, agreed("y"))])
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Rejected {
                index: 0,
                rejection: Rejection::DuplicateItem { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(engine.head(), head);
    engine.verify().unwrap();
}
