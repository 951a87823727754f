//! The query path: reads of a dyad's log and of its effective timeline, and the fold of a
//! dyad as of a date from the nearest state at hand (a rung of its ladder or a stored
//! snapshot). Keeping the caches current is `maintain`'s.
//!
//! A dyad that continues others (`docs/contract.md`, successions: `RUS-USA` continues
//! `SUN-USA`) answers from the log of its own records and theirs, read in it
//! ([`Shared::continued_log`], the one place that merges them); the caches (folds, snapshots,
//! rungs, registered projections) hold each dyad's own timeline only, so an append to
//! `SUN-USA` leaves nothing of `RUS-USA`'s stale. While the dyads it continues hold no
//! records, a dyad answers from its caches as any other.

use chrono::NaiveDate;

use super::keys::{self, TimeKey};
use super::{EngineError, Shared};
use crate::domain::{BilateralState, Dyad, RecordedEvent, evolve};

impl Shared {
    /// The dyads that `dyad` continues and that hold records.
    fn continued_held(&self, dyad: Dyad) -> Result<Vec<Dyad>, EngineError> {
        let mut held = Vec::new();
        for (other, _) in dyad.continues() {
            if self.store.dyad_version(other)? > 0 {
                held.push(other);
            }
        }
        Ok(held)
    }

    /// The stored records of `dyad` and of the dyads it continues, as stored (each of its own
    /// dyad), in position order; `None` when none of the dyads it continues holds a record,
    /// and the dyad's own log and caches answer for it.
    pub(crate) fn continued_records(
        &self,
        dyad: Dyad,
    ) -> Result<Option<Vec<RecordedEvent>>, EngineError> {
        let held = self.continued_held(dyad)?;
        if held.is_empty() {
            return Ok(None);
        }
        let mut records = self.dyad_log(dyad)?;
        for other in held {
            records.extend(self.dyad_log(other)?);
        }
        records.sort_by_key(|record| record.position);
        Ok(Some(records))
    }

    /// [`Shared::continued_records`] read in `dyad` ([`crate::domain::continued_log`]): the log
    /// whose `state_at` answers for a dyad that continues others.
    pub(crate) fn continued_log(
        &self,
        dyad: Dyad,
    ) -> Result<Option<Vec<RecordedEvent>>, EngineError> {
        Ok(self
            .continued_records(dyad)?
            .map(|records| crate::domain::continued_log(&records, dyad)))
    }

    /// A dyad folded into any projection by its read mode ([`Shared::replay_dyad`]), from
    /// [`Shared::continued_log`] where the dyad continues others that hold records.
    pub(crate) fn replay_continued<P: crate::domain::Projection>(
        &self,
        dyad: Dyad,
    ) -> Result<P, EngineError> {
        let Some(log) = self.continued_log(dyad)? else {
            return self.replay_dyad::<P>(dyad);
        };
        Ok(match P::MODE {
            crate::domain::ReadMode::RawLog => {
                log.iter().fold(P::default(), |mut value, record| {
                    value.apply(record);
                    value
                })
            }
            _ => super::fold_timeline(&log),
        })
    }

    /// Whether a record of `dyad` touches the timeline of another dyad that holds records:
    /// one it continues, or one that continues it. Such records are checked against every
    /// timeline they join (`Shared::plan` checks them as a whole).
    pub(crate) fn in_succession(&self, dyad: Dyad) -> Result<bool, EngineError> {
        if !self.continued_held(dyad)?.is_empty() {
            return Ok(true);
        }
        for heir in dyad.continued_by() {
            if self.store.dyad_version(heir)? > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Shared {
    /// A dyad's whole log, in version order.
    pub(crate) fn dyad_log(&self, dyad: Dyad) -> Result<Vec<RecordedEvent>, EngineError> {
        Ok(self
            .store
            .read_dyad(dyad, 1..=u64::MAX)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// The records of a dyad's effective timeline strictly after `after` (and through
    /// `through`), in order: one range scan of the store.
    pub(crate) fn timeline_after(
        &self,
        dyad: Dyad,
        after: Option<TimeKey>,
        through: Option<NaiveDate>,
    ) -> impl Iterator<Item = Result<RecordedEvent, EngineError>> + '_ {
        self.store
            .read_timeline(dyad, after, through)
            .map(|record| record.map_err(EngineError::from))
    }

    /// The dyad's effective timeline between two dates (each included where given).
    pub(crate) fn timeline(
        &self,
        dyad: Dyad,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<RecordedEvent>, EngineError> {
        self.timeline_after(dyad, from.map(TimeKey::before_day), to)
            .collect()
    }

    /// The fold of the dyad's effective timeline up to `as_of`, from the nearest state at
    /// hand: the last rung of the dyad's ladder at or before it, or the last stored snapshot
    /// where that is later (read, and kept as a rung). Every `rung_every` events folded, the
    /// state is kept as a rung, so the next question about a date near this one folds fewer.
    pub(crate) fn fold_as_of(
        &self,
        dyad: Dyad,
        as_of: NaiveDate,
    ) -> Result<BilateralState, EngineError> {
        let limit = TimeKey {
            on: as_of,
            position: u64::MAX,
        };
        let (mut state, after, stored) = self.state_at_hand(dyad, limit)?;
        if let (Some(at), true) = (after, stored) {
            let weight = state.events_applied.max(1);
            super::lock(&self.ladders).put(dyad, at, state.clone(), weight);
        }
        let every = self.config.rung_every.max(1);
        let mut since_rung = 0;
        for record in self.timeline_after(dyad, after, Some(as_of)) {
            let record = record?;
            state = evolve(state, &record);
            since_rung += 1;
            if since_rung == every {
                super::lock(&self.ladders).put(dyad, TimeKey::of(&record), state.clone(), every);
                since_rung = 0;
            }
        }
        Ok(state)
    }

    /// The nearest state of a dyad strictly before the place `from` that is at hand, with
    /// its place (see [`Shared::state_at_hand`]).
    pub(crate) fn state_before(
        &self,
        dyad: Dyad,
        from: TimeKey,
    ) -> Result<(BilateralState, Option<TimeKey>), EngineError> {
        // Positions start at 1, so the place just before `from` is one position lower.
        let limit = TimeKey {
            on: from.on,
            position: from.position.saturating_sub(1),
        };
        let (state, at, _) = self.state_at_hand(dyad, limit)?;
        Ok((state, at))
    }

    /// The nearest state of a dyad at or before `limit` that is at hand, with its place and
    /// whether it was read from the store; the empty state before any. That is the last rung
    /// of the dyad's ladder, unless the last stored snapshot is later: then that snapshot is
    /// read (a whole state, decoded).
    fn state_at_hand(
        &self,
        dyad: Dyad,
        limit: TimeKey,
    ) -> Result<(BilateralState, Option<TimeKey>, bool), EngineError> {
        let rung = super::lock(&self.ladders).at_or_before(dyad, limit);
        let prefix = keys::snapshot_prefix(dyad);
        let stored = match self
            .store
            .aux_last_key(&prefix, &keys::with_time(&prefix, limit))?
        {
            Some(key) => Some((keys::time_of(&key).ok_or_else(|| bad_key(&key))?, key)),
            None => None,
        };
        match (rung, stored) {
            (Some((at, state)), None) => Ok((state, Some(at), false)),
            (Some((at, state)), Some((stored_at, _))) if stored_at <= at => {
                Ok((state, Some(at), false))
            }
            (_, Some((at, key))) => match self.store.aux_get(&keys::snapshot_value(&key))? {
                Some(bytes) => Ok((keys::decode_snapshot(dyad, &bytes)?, Some(at), true)),
                None => Err(EngineError::BadCache {
                    what: "snapshot".into(),
                    reason: format!(
                        "the snapshot of {dyad} at position {} vanished while it was read",
                        at.position
                    ),
                }),
            },
            (None, None) => Ok((BilateralState::default(), None, false)),
        }
    }
}

fn bad_key(key: &[u8]) -> EngineError {
    EngineError::BadCache {
        what: "auxiliary key".into(),
        reason: format!("{:?} has no time", String::from_utf8_lossy(key)),
    }
}
