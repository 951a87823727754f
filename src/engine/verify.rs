//! Proving the caches equal to a replay of the log.

use std::collections::{BTreeMap, BTreeSet};

use super::keys::{self, TimeKey};
use super::{Folds, Shared};
use crate::domain::{
    BilateralState, Dyad, Projection, Query, effective_timeline, evolve, state_at,
};
use crate::store::StoreError;

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Records whose chain, decoding and indexes were checked.
    pub events: u64,
    /// Dyads whose timeline and `BilateralState` were checked.
    pub dyads: u64,
    /// Snapshots checked: those stored, and the states the engine keeps in memory along the
    /// timelines of the dyads asked about.
    pub snapshots: u64,
    /// Registered user projections checked.
    pub projections: u64,
    /// Records that break a rule of history (items, transitions, rounds, a retraction's
    /// dates, knowledge time ahead of recording), in position order: not faults of the store,
    /// since a log written under an earlier edition of the rules may hold them, but worth a
    /// look ([`findings`](crate::domain::findings)).
    pub findings: Vec<crate::domain::Finding>,
}

/// The first fault `verify` found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyFailure {
    /// The log itself: a record that does not decode, a broken chain, a gap, a bad index.
    #[error(transparent)]
    Log(#[from] StoreError),
    /// A dyad's effective timeline as the store reads it (its records in timeline order,
    /// retracted ones skipped) differs from the reference over its log.
    #[error(
        "the timeline of {dyad} as the store reads it differs from its log at position {position}"
    )]
    Timeline {
        /// The dyad.
        dyad: Dyad,
        /// The first position that differs.
        position: u64,
    },
    /// A stored projection differs from a replay.
    #[error("projection `{name}`{} is wrong: {reason}", .dyad.map(|d| format!(" of {d}")).unwrap_or_default())]
    Projection {
        /// The projection's name.
        name: String,
        /// The dyad, for a per-dyad projection.
        dyad: Option<Dyad>,
        /// What differs.
        reason: String,
    },
    /// A record breaks a rule every record keeps, whatever the edition of the rules
    /// ([`check_record_alone`](crate::domain::check_record_alone)): a forged or damaged log,
    /// even if its chain holds.
    #[error(
        "the record at position {position} (`{id}`) breaks a rule every record keeps: {rejection}"
    )]
    BadRecord {
        /// Its position.
        position: u64,
        /// Its id.
        id: crate::domain::EventId,
        /// The rule it breaks.
        rejection: crate::domain::Rejection,
    },
    /// A snapshot differs from a replay up to its place.
    #[error(
        "the snapshot of {dyad} at {on} (position {position}) differs from a replay of the log"
    )]
    Snapshot {
        /// The dyad.
        dyad: Dyad,
        /// The date of its place in the timeline.
        on: chrono::NaiveDate,
        /// The position of its place.
        position: u64,
    },
}

impl Shared {
    pub(crate) fn verify(&self, folds: &Folds) -> Result<VerifyReport, VerifyFailure> {
        let head = self.store.verify()?;
        let mut report = VerifyReport {
            events: head.position,
            ..VerifyReport::default()
        };
        for (dyad, _) in self.store.dyads()? {
            report.dyads += 1;
            let log = self
                .dyad_log(dyad)
                .map_err(|err| projection_failure(dyad, err.to_string()))?;
            let timeline = effective_timeline(&log, &Query::default());
            // A dyad that continues others is held to the rules of history in the timeline it
            // continues, and may retract their records (`docs/contract.md`, successions).
            let continued = self
                .continued_records(dyad)
                .map_err(|err| projection_failure(dyad, err.to_string()))?;

            // Every record against the rules needing no history; then the rules of history.
            let by_id: std::collections::HashMap<
                &crate::domain::EventId,
                &crate::domain::RecordedEvent,
            > = continued
                .as_deref()
                .unwrap_or(&log[..])
                .iter()
                .map(|record| (&record.id, record))
                .collect();
            for record in &log {
                let target = match &record.event {
                    crate::domain::Event::EventRetracted(retraction) => {
                        by_id.get(&retraction.target).copied()
                    }
                    _ => None,
                };
                if let Err(rejection) = crate::domain::check_record_alone(record, target) {
                    return Err(VerifyFailure::BadRecord {
                        position: record.position,
                        id: record.id.clone(),
                        rejection,
                    });
                }
            }
            match &continued {
                Some(records) => {
                    report
                        .findings
                        .extend(crate::domain::findings(&crate::domain::continued_log(
                            records, dyad,
                        )))
                }
                None => report.findings.extend(crate::domain::findings(&log)),
            }

            // The store's timeline scan (records in timeline order, retracted ones skipped by
            // their marks) against the reference over the dyad's log.
            let scanned: Vec<TimeKey> = self
                .timeline_after(dyad, None, None)
                .map(|record| record.map(|r| TimeKey::of(&r)))
                .collect::<Result<_, _>>()
                .map_err(|err| projection_failure(dyad, err.to_string()))?;
            let expected: Vec<TimeKey> = timeline.iter().map(|r| TimeKey::of(r)).collect();
            if scanned != expected {
                // The first place where they part, named by the log's record there if any.
                let at = (0..scanned.len().max(expected.len()))
                    .find(|&i| scanned.get(i) != expected.get(i))
                    .unwrap_or(0);
                let position = expected
                    .get(at)
                    .or(scanned.get(at))
                    .map_or(0, |k| k.position);
                return Err(VerifyFailure::Timeline { dyad, position });
            }

            let replayed = state_at(&log, &Query::default());
            let key = keys::fold(dyad);
            let bytes = self
                .store
                .aux_get(&key)?
                .ok_or_else(|| projection_failure(dyad, "it is not stored".into()))?;
            let stored_state = keys::decode_fold(dyad, &bytes)
                .map_err(|err| projection_failure(dyad, err.to_string()))?
                .value;
            if stored_state != replayed {
                return Err(projection_failure(
                    dyad,
                    "the stored state differs from a replay of the log".into(),
                ));
            }
            if let Some(fold) = folds.dyads.get(&dyad)
                && fold.value != replayed
            {
                return Err(projection_failure(
                    dyad,
                    "the state in memory differs from a replay of the log".into(),
                ));
            }

            let snapshot_keys: BTreeSet<Vec<u8>> = self
                .store
                .aux_scan(&keys::snapshot_prefix(dyad))
                .map(|entry| entry.map(|(key, _)| key))
                .collect::<Result<_, _>>()?;
            let mut rungs: BTreeMap<TimeKey, BilateralState> = super::lock(&self.ladders)
                .all()
                .filter(|(of, _, _)| *of == dyad)
                .map(|(_, at, state)| (at, state.clone()))
                .collect();
            let mut state = BilateralState::default();
            for record in &timeline {
                state = evolve(state, record);
                let at = TimeKey::of(record);
                if let Some(rung) = rungs.remove(&at) {
                    report.snapshots += 1;
                    if rung != state {
                        return Err(VerifyFailure::Snapshot {
                            dyad,
                            on: at.on,
                            position: at.position,
                        });
                    }
                }
                let snapshot_key = keys::with_time(&keys::snapshot_prefix(dyad), at);
                if snapshot_keys.contains(&snapshot_key) {
                    report.snapshots += 1;
                    let bytes = self
                        .store
                        .aux_get(&keys::snapshot_value(&snapshot_key))?
                        .unwrap_or_default();
                    let snapshot = keys::decode_snapshot(dyad, &bytes);
                    if snapshot.as_ref().ok() != Some(&state) {
                        return Err(VerifyFailure::Snapshot {
                            dyad,
                            on: at.on,
                            position: at.position,
                        });
                    }
                }
            }
            // A state in memory at a place that is no longer on the timeline is stale.
            if let Some(at) = rungs.keys().next() {
                return Err(VerifyFailure::Snapshot {
                    dyad,
                    on: at.on,
                    position: at.position,
                });
            }
            // A snapshot at a place that is no longer on the timeline is stale.
            let places: BTreeSet<TimeKey> = timeline.iter().map(|r| TimeKey::of(r)).collect();
            for key in &snapshot_keys {
                match keys::time_of(key) {
                    Some(at) if places.contains(&at) => {}
                    at => {
                        let at = at.unwrap_or(TimeKey {
                            on: chrono::NaiveDate::MIN,
                            position: 0,
                        });
                        return Err(VerifyFailure::Snapshot {
                            dyad,
                            on: at.on,
                            position: at.position,
                        });
                    }
                }
            }
        }
        for slot in &folds.slots {
            slot.verify(self)?;
            report.projections += 1;
        }
        report.findings.sort_by_key(|finding| finding.position);
        // A record of a dyad that others continue is found in each timeline it joins: once.
        report.findings.dedup_by_key(|finding| finding.position);
        Ok(report)
    }
}

fn projection_failure(dyad: Dyad, reason: String) -> VerifyFailure {
    VerifyFailure::Projection {
        name: BilateralState::NAME.to_owned(),
        dyad: Some(dyad),
        reason,
    }
}
