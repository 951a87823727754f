//! Successions (`docs/contract.md`, parties): `RUS-USA` continues `SUN-USA` from 1991-12-26.
//! Its effective timeline holds `SUN-USA`'s events, the Soviet Union read as Russia, in every
//! query, check, replay and diff; `SUN-USA` still answers for its own events alone.

use chrono::NaiveDate;
use detente::domain::*;
use detente::engine::{Config, Engine, EngineError};
use detente::scenario::recorded;
use detente::store::Durability;
use proptest::prelude::*;

use crate::strategies::{self, HistoryConfig};

fn dyad(text: &str) -> Dyad {
    text.parse().unwrap()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn input(line: &str) -> NewEvent {
    serde_json::from_str(line).unwrap()
}

fn open(dir: &std::path::Path) -> Engine {
    let config = Config {
        snapshot_every: 2,
        rung_every: 1,
        durability: Durability::Buffered,
        ..Config::default()
    };
    Engine::open_with(dir, config).unwrap()
}

const INF_SIGNED: &str = r#"{"id":"inf-signed","dyad":"SUN-USA","occurred_on":"1987-12-08","reported_on":"1987-12-08","event":{"type":"AgreementReached","agreement":"inf","title":"INF Treaty","kind":"treaty"}}"#;
const INF_IN_FORCE: &str = r#"{"id":"inf-in-force","dyad":"SUN-USA","occurred_on":"1988-06-01","reported_on":"1988-06-01","event":{"type":"AgreementProgressed","agreement":"inf","status":"in_force"}}"#;
const SOVIET_EXPULSION: &str = r#"{"id":"expelled-1986","dyad":"SUN-USA","occurred_on":"1986-10-21","reported_on":"1986-10-21","event":{"type":"DiplomatsExpelled","expelled_by":"SUN","count":5}}"#;
const US_LEFT: &str = r#"{"id":"inf-left","dyad":"RUS-USA","occurred_on":"2019-08-02","reported_on":"2019-08-02","event":{"type":"AgreementProgressed","agreement":"inf","status":"withdrawn","by":"USA"}}"#;

fn status(state: &BilateralState) -> Option<AgreementStatus> {
    Some(state.agreements.get("inf")?.status)
}

#[test]
fn the_registry_names_who_continues_whom() {
    let continued: Vec<(Dyad, NaiveDate)> = dyad("RUS-USA").continues();
    assert_eq!(continued, [(dyad("SUN-USA"), date("1991-12-26"))]);
    assert_eq!(dyad("SUN-USA").continued_by(), [dyad("RUS-USA")]);
    // Both parties with predecessors: every pair of the lineages but the dyad itself.
    let both: Vec<String> = dyad("RUS-SRB")
        .continues()
        .iter()
        .map(|(d, on)| format!("{d} {on}"))
        .collect();
    assert_eq!(
        both,
        [
            "RUS-SCG 2006-06-05",
            "SCG-SUN 2006-06-05",
            "SRB-SUN 1991-12-26"
        ]
    );
    assert!(dyad("SCG-SUN").continued_by().contains(&dyad("RUS-SRB")));
    assert!(dyad("CHN-USA").continues().is_empty() && dyad("CHN-USA").continued_by().is_empty());
    // Russia and the Soviet Union are not a dyad that continues anything of its own.
    assert!(dyad("RUS-SUN").continues().is_empty());
}

#[test]
fn a_successor_dyad_answers_for_the_timeline_it_continues() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let (rus, sun) = (dyad("RUS-USA"), dyad("SUN-USA"));
    engine
        .record_batch(vec![
            input(SOVIET_EXPULSION),
            input(INF_SIGNED),
            input(INF_IN_FORCE),
        ])
        .unwrap();
    // Before RUS-USA holds a record of its own, it answers for SUN-USA's.
    assert_eq!(engine.state(rus).unwrap().events_applied, 3);
    // An event of RUS-USA progresses an item raised in SUN-USA.
    engine.record(input(US_LEFT)).unwrap();

    let now = engine.state(rus).unwrap();
    let usa: Party = "USA".parse().unwrap();
    let inf = now.agreements.get("inf").unwrap();
    assert_eq!(
        inf.status_for(usa),
        Some((AgreementStatus::Withdrawn, date("2019-08-02")))
    );
    assert_eq!(status(&now), Some(AgreementStatus::InForce));
    assert!(now.anomalies.is_empty());
    // The Soviet Union read as its successor.
    let russia: Party = "RUS".parse().unwrap();
    assert_eq!(now.reciprocity.diplomats_expelled.get(&russia), Some(&5));
    assert_eq!(now.dyad, Some(rus));
    let in_1990 = engine
        .query(rus, &Query::as_of(date("1990-01-01")))
        .unwrap();
    assert_eq!(status(&in_1990), Some(AgreementStatus::InForce));
    let known_1988 = engine
        .query(rus, &Query::known_at(date("1988-12-31")))
        .unwrap();
    assert_eq!(known_1988.events_applied, 3);
    // SUN-USA answers for its own events alone.
    let soviet = engine.state(sun).unwrap();
    assert_eq!(status(&soviet), Some(AgreementStatus::InForce));
    assert_eq!(soviet.events_applied, 3);

    let history = engine.history(rus, None, None).unwrap();
    let ids: Vec<&str> = history.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["expelled-1986", "inf-signed", "inf-in-force", "inf-left"]
    );
    // History shows the records as stored: the Soviet era's are SUN-USA's.
    assert_eq!(history[0].dyad, sun);
    assert_eq!(engine.history(sun, None, None).unwrap().len(), 3);
    let diff = engine
        .diff(rus, date("1987-01-01"), date("2020-01-01"))
        .unwrap();
    assert_eq!(diff.items_added.len(), 1, "{diff:?}");
    assert_eq!(
        engine.replay_dyad::<BilateralState>(rus).unwrap(),
        engine.state(rus).unwrap()
    );
    engine.verify().unwrap();

    // The same answers from a reopened store, and after its caches are lost.
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(engine.state(rus).unwrap(), now);
    engine.drop_caches_for_tests().unwrap();
    drop(engine);
    let engine = open(dir.path());
    assert_eq!(engine.state(rus).unwrap(), now);
    engine.verify().unwrap();
}

#[test]
fn an_append_to_the_continued_dyad_changes_the_successor_s_answers() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let rus = dyad("RUS-USA");
    engine
        .record(input(
            r#"{"id":"expelled-2001","dyad":"RUS-USA","occurred_on":"2001-03-21","reported_on":"2001-03-21","event":{"type":"DiplomatsExpelled","expelled_by":"RUS","count":4}}"#,
        ))
        .unwrap();
    let russia: Party = "RUS".parse().unwrap();
    assert_eq!(
        engine.state(rus).unwrap().reciprocity.diplomats_expelled[&russia],
        4
    );
    let as_of = Query::as_of(date("2005-01-01"));
    assert_eq!(engine.query(rus, &as_of).unwrap().events_applied, 1);
    engine.record(input(SOVIET_EXPULSION)).unwrap();
    assert_eq!(
        engine.state(rus).unwrap().reciprocity.diplomats_expelled[&russia],
        9
    );
    assert_eq!(engine.query(rus, &as_of).unwrap().events_applied, 2);
    engine.verify().unwrap();
}

#[test]
fn a_successor_dyad_is_checked_against_the_timeline_it_continues() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    // Without SUN-USA's treaty, the US cannot leave it in RUS-USA.
    let refused = engine.record(input(US_LEFT)).unwrap_err();
    assert!(
        matches!(&refused, EngineError::Rejected { rejection, .. } if rejection.to_string().contains("does not exist")),
        "{refused}"
    );
    engine.record(input(INF_SIGNED)).unwrap();
    engine.record(input(US_LEFT)).unwrap();
    // An item raised again in RUS-USA is refused: it exists in the timeline it continues.
    let again = r#"{"id":"inf-again","dyad":"RUS-USA","occurred_on":"2020-01-01","reported_on":"2020-01-01","event":{"type":"AgreementReached","agreement":"inf","title":"INF Treaty"}}"#;
    assert!(engine.record(input(again)).is_err());
    // A record of SUN-USA that would leave a later event of RUS-USA without effect is refused:
    // RUS-USA raised `start` in 1994; SUN-USA raising it in 1991 would make that a repeat.
    engine
        .record(input(
            r#"{"id":"start-1994","dyad":"RUS-USA","occurred_on":"1994-12-05","reported_on":"1994-12-05","event":{"type":"AgreementReached","agreement":"start","title":"START I"}}"#,
        ))
        .unwrap();
    let soviet_start = r#"{"id":"start-1991","dyad":"SUN-USA","occurred_on":"1991-07-31","reported_on":"1991-07-31","event":{"type":"AgreementReached","agreement":"start","title":"START I"}}"#;
    let refused = engine.record(input(soviet_start)).unwrap_err();
    assert!(matches!(refused, EngineError::Rejected { .. }), "{refused}");
    assert_eq!(engine.head().position, 3);
    engine.verify().unwrap();
}

#[test]
fn a_successor_dyad_may_retract_a_record_of_the_dyad_it_continues() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let (rus, sun) = (dyad("RUS-USA"), dyad("SUN-USA"));
    engine.record(input(SOVIET_EXPULSION)).unwrap();
    engine
        .record(input(
            r#"{"id":"not-so","dyad":"RUS-USA","occurred_on":"2000-01-01","reported_on":"2000-01-01","event":{"type":"EventRetracted","target":"expelled-1986","reason":"misdated"}}"#,
        ))
        .unwrap();
    assert!(
        engine
            .state(rus)
            .unwrap()
            .reciprocity
            .diplomats_expelled
            .is_empty()
    );
    assert_eq!(engine.state(sun).unwrap().events_applied, 1);
    engine.verify().unwrap();

    // The export restores, the retraction's target found in the dyad it continues.
    let records: Vec<RecordedEvent> = engine.log(1).collect::<Result<_, _>>().unwrap();
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = open(copy_dir.path());
    let restored = copy.restore_checked(records, true).unwrap();
    assert!(restored.findings.is_empty(), "{:?}", restored.findings);
    assert_eq!(copy.state(rus).unwrap(), engine.state(rus).unwrap());
    copy.verify().unwrap();
}

#[test]
fn a_restore_of_a_split_history_has_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    for line in [INF_SIGNED, INF_IN_FORCE, US_LEFT] {
        engine.record(input(line)).unwrap();
    }
    let records: Vec<RecordedEvent> = engine.log(1).collect::<Result<_, _>>().unwrap();
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = open(copy_dir.path());
    let restored = copy.restore_checked(records, true).unwrap();
    assert_eq!(restored.restored, 3);
    let report = copy.verify().unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

/// `history`, recorded in RUS-USA, shifted in time so that the event at `split` of its dates
/// falls on the succession date, and the same events with those before it moved to SUN-USA
/// (Russia there named as the Soviet Union).
fn split(history: &[NewEvent], split: usize) -> (Vec<NewEvent>, Vec<NewEvent>) {
    let succession = date("1991-12-26");
    let mut dates: Vec<NaiveDate> = history.iter().map(|e| e.occurred_on).collect();
    dates.sort();
    let pivot = dates
        .get(split.min(dates.len().saturating_sub(1)))
        .copied()
        .unwrap_or(succession);
    let shift = succession - pivot;
    let (russia, soviet): (Party, Party) = ("RUS".parse().unwrap(), "SUN".parse().unwrap());
    let mut single = Vec::new();
    let mut parted = Vec::new();
    for event in history {
        let mut event = event.clone();
        event.occurred_on += shift;
        event.reported_on = event.reported_on.map(|on| on + shift);
        single.push(event.clone());
        if event.occurred_on < succession {
            event.dyad = dyad("SUN-USA");
            for party in event.event.parties_mut() {
                if *party == russia {
                    *party = soviet;
                }
            }
        }
        parted.push(event);
    }
    (single, parted)
}

fn rus_usa_history() -> impl Strategy<Value = Vec<NewEvent>> {
    strategies::valid_history(dyad("RUS-USA"), HistoryConfig::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The reference: a history split at the succession date folds, for any query, like the
    /// same history recorded in RUS-USA alone.
    #[test]
    fn a_split_history_folds_like_one_dyad(
        (history, at, query) in rus_usa_history().prop_flat_map(|history| {
            let n = history.len().max(1);
            (Just(history.clone()), 0..n, strategies::query_in(&history))
        })
    ) {
        let (single, parted) = split(&history, at);
        let single = recorded(single);
        let parted = recorded(parted);
        let rus = dyad("RUS-USA");
        // Shift the query's dates with the history's.
        let shift = single.first().map(|r| r.occurred_on - history[0].occurred_on);
        let query = Query {
            as_of: query.as_of.zip(shift).map(|(on, shift)| on + shift),
            known_at: query.known_at.zip(shift).map(|(on, shift)| on + shift),
            at_position: query.at_position,
        };
        let continued = continued_log(&parted, rus);
        prop_assert_eq!(state_at(&continued, &query), state_at(&single, &query));
        prop_assert_eq!(
            state_at(&continued, &Query::default()),
            state_at(&single, &Query::default())
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The engine: recording the split history gives RUS-USA the answers of the history
    /// recorded in RUS-USA alone; what it accepts in the split, it accepts in one dyad.
    #[test]
    fn the_engine_folds_a_split_history_like_one_dyad(
        (history, at) in rus_usa_history().prop_flat_map(|history| {
            let n = history.len().max(1);
            (Just(history), 0..n)
        })
    ) {
        let (single, parted) = split(&history, at);
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (split_engine, one_engine) = (open(a.path()), open(b.path()));
        let rus = dyad("RUS-USA");
        for (parted, single) in parted.into_iter().zip(single) {
            if split_engine.record(parted).is_ok() {
                prop_assert!(one_engine.record(single).is_ok());
            }
        }
        let expected = one_engine.state(rus).unwrap();
        prop_assert_eq!(split_engine.state(rus).unwrap(), expected.clone());
        let mut dates: Vec<NaiveDate> = one_engine
            .history(rus, None, None)
            .unwrap()
            .iter()
            .map(|r| r.occurred_on)
            .collect();
        dates.dedup();
        for on in dates {
            let query = Query::as_of(on);
            prop_assert_eq!(
                split_engine.query(rus, &query).unwrap(),
                one_engine.query(rus, &query).unwrap()
            );
        }
        split_engine.verify().unwrap();
    }
}

/// The streaming import checks a successor dyad against the timeline it continues, like the
/// batch path: progressing an item raised in `SUN-USA` is accepted in `RUS-USA`, and an
/// import into `SUN-USA` that leaves `RUS-USA` progressing an agreement never reached there
/// is refused with nothing stored.
#[test]
fn the_streaming_import_checks_a_successor_against_the_timeline_it_continues() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let inputs =
        [INF_SIGNED, INF_IN_FORCE, US_LEFT].map(|line| Ok::<_, std::io::Error>(input(line)));
    let imported = engine.import(inputs).unwrap();
    assert_eq!(imported.recorded, 3);
    let state = engine.state(dyad("RUS-USA")).unwrap();
    let usa: Party = "USA".parse().unwrap();
    let inf = state.agreements.get("inf").unwrap();
    assert_eq!(
        inf.status_for(usa),
        Some((AgreementStatus::Withdrawn, date("2019-08-02")))
    );
    assert!(state.anomalies.is_empty());

    // Only the departure, in a store of its own: nothing continued holds the treaty.
    let other = tempfile::tempdir().unwrap();
    let alone = open(other.path());
    let err = alone
        .import([Ok::<_, std::io::Error>(input(US_LEFT))])
        .unwrap_err();
    assert!(
        matches!(
            err,
            detente::engine::ImportError::Engine(EngineError::Rejected { index: 0, .. })
        ),
        "{err:?}"
    );
    assert_eq!(alone.head().position, 0);

    // A retraction of the signing in SUN-USA leaves RUS-USA's departure without its treaty:
    // accepted with a warning that names it, as the batch path does.
    let retract = r#"{"id":"unsign","dyad":"SUN-USA","occurred_on":"1987-12-09","reported_on":"1987-12-09","event":{"type":"EventRetracted","target":"inf-signed","reason":"a test"}}"#;
    let imported = engine
        .import([Ok::<_, std::io::Error>(input(retract))])
        .unwrap();
    assert_eq!(imported.recorded, 1);
    assert!(
        !imported.warnings.is_empty(),
        "the retraction leaves later events without effect: {:?}",
        imported.warnings
    );
}
