//! The engine's keys in the store's auxiliary space. All integers are big-endian so that
//! byte order is numeric order; dates are days since 0001-01-01 with the sign bit flipped.
//!
//! | key | value |
//! |---|---|
//! | `c\0checkpoint` | u64: the last position the engine's auxiliary data includes |
//! | `c\0layout` | u32: the layout version of this table |
//! | `s\0` dyad(7) date(4) position(8) | nothing: the place of a snapshot, so that the places are read in key order without the states |
//! | `v\0` dyad(7) date(4) position(8) | that snapshot: `BilateralState` folded up to and including its place, in the binary form of [`super::binary`] |
//! | `f\0` dyad | the dyad's `BilateralState` fold, [`StoredFold`] in the binary form of [`super::binary`] |
//! | `p\0` name `\0` dyad(7) | JSON [`super::StoredProjection`] of a registered per-dyad projection (`BilateralState` registered by a user included: its own key, apart from the engine's fold) |
//! | `p\0` name `\0*` | JSON [`super::StoredProjection`] of a raw-log projection |

use chrono::{Datelike, NaiveDate};

use super::{EngineError, binary};
use crate::domain::{BilateralState, Dyad};

/// The version of the key layout above; another value on open rebuilds the auxiliary data.
/// Version 2 dropped the timeline index (`t\0`): the store keeps each dyad's records in
/// timeline order itself (store format 2). Version 3: the state keeps every scheduled round
/// (`scheduled_rounds`) and refuses transitions to the status an item has, so the folds are
/// rebuilt. Version 5: snapshots in the binary form of [`super::binary`] instead of JSON, and
/// apart from their places (`v\0` beside `s\0`): finding the last snapshot before a date was a
/// reverse range read of sled that read the states it passed (megabytes each), not only keys.
/// (Version 4, on a development branch only, had the binary form without the split.)
/// Version 6: the stored `BilateralState` folds in the binary form too ([`StoredFold`]): read
/// as JSON through a `serde_json::Value`, loading the fold of a dyad on its first use took
/// longer than folding its log.
pub(crate) const LAYOUT_VERSION: u32 = 6;

pub(crate) const CHECKPOINT: &[u8] = b"c\0checkpoint";
pub(crate) const LAYOUT: &[u8] = b"c\0layout";

pub(crate) use crate::store::TimeKey;

fn encode_time(key: TimeKey, out: &mut Vec<u8>) {
    let days = key.on.num_days_from_ce() as u32 ^ 0x8000_0000;
    out.extend_from_slice(&days.to_be_bytes());
    out.extend_from_slice(&key.position.to_be_bytes());
}

fn decode_time(bytes: &[u8]) -> Option<TimeKey> {
    let days: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let position: [u8; 8] = bytes.get(4..12)?.try_into().ok()?;
    let days = (u32::from_be_bytes(days) ^ 0x8000_0000) as i32;
    Some(TimeKey {
        on: NaiveDate::from_num_days_from_ce_opt(days)?,
        position: u64::from_be_bytes(position),
    })
}

fn dyad_prefix(tag: &[u8; 2], dyad: Dyad) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + 7 + 12);
    key.extend_from_slice(tag);
    key.extend_from_slice(dyad.to_string().as_bytes());
    key
}

/// The key of a dyad's stored `BilateralState` fold.
pub(crate) fn fold(dyad: Dyad) -> Vec<u8> {
    dyad_prefix(b"f\0", dyad)
}

/// The prefix of a dyad's snapshots.
pub(crate) fn snapshot_prefix(dyad: Dyad) -> Vec<u8> {
    dyad_prefix(b"s\0", dyad)
}

/// The stored bytes of a snapshot (the value under a `s\0` key).
pub(crate) fn encode_snapshot(state: &BilateralState) -> Result<Vec<u8>, EngineError> {
    binary::to_vec(state).map_err(|err| EngineError::BadCache {
        what: "snapshot to store".into(),
        reason: err.to_string(),
    })
}

/// A dyad's stored `BilateralState` fold: the members of [`super::StoredProjection`], the
/// value in the binary form.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredFold<S = BilateralState> {
    /// `BilateralState::VERSION` when it was stored.
    pub(crate) version: u32,
    /// The last position folded into it.
    pub(crate) position: u64,
    /// The last place of the effective timeline folded.
    pub(crate) last: Option<(NaiveDate, u64)>,
    /// Timeline events folded since the last snapshot.
    pub(crate) since_snapshot: u64,
    /// The state.
    pub(crate) value: S,
}

impl StoredFold {
    /// The same fold with its state borrowed, as [`encode_fold`] takes it (for the tests'
    /// tampering).
    #[cfg(feature = "testing")]
    pub(crate) fn borrowed(&self) -> StoredFold<&BilateralState> {
        StoredFold {
            version: self.version,
            position: self.position,
            last: self.last,
            since_snapshot: self.since_snapshot,
            value: &self.value,
        }
    }
}

/// The stored bytes of a dyad's fold.
pub(crate) fn encode_fold(fold: &StoredFold<&BilateralState>) -> Result<Vec<u8>, EngineError> {
    binary::to_vec(fold).map_err(|err| EngineError::BadCache {
        what: "fold to store".into(),
        reason: err.to_string(),
    })
}

/// The fold stored for `dyad`.
pub(crate) fn decode_fold(dyad: Dyad, bytes: &[u8]) -> Result<StoredFold, EngineError> {
    binary::from_slice(bytes).map_err(|err| EngineError::BadCache {
        what: format!("stored BilateralState of {dyad}"),
        reason: err.to_string(),
    })
}

/// The state stored as a snapshot of `dyad`.
pub(crate) fn decode_snapshot(dyad: Dyad, bytes: &[u8]) -> Result<BilateralState, EngineError> {
    binary::from_slice(bytes).map_err(|err| EngineError::BadCache {
        what: format!("snapshot of {dyad}"),
        reason: err.to_string(),
    })
}

/// The key of the state of the snapshot whose place is `place` (a `s\0` key): the same bytes
/// under the tag `v\0`.
pub(crate) fn snapshot_value(place: &[u8]) -> Vec<u8> {
    let mut key = place.to_vec();
    if let Some(tag) = key.first_mut() {
        *tag = b'v';
    }
    key
}

/// `prefix` followed by the time key.
pub(crate) fn with_time(prefix: &[u8], key: TimeKey) -> Vec<u8> {
    let mut out = prefix.to_vec();
    encode_time(key, &mut out);
    out
}

/// The time key at the end of a snapshot key.
pub(crate) fn time_of(key: &[u8]) -> Option<TimeKey> {
    decode_time(key.get(9..)?)
}

/// The key of a stored projection: per dyad, or the raw-log one for `None`.
pub(crate) fn projection(name: &str, dyad: Option<Dyad>) -> Vec<u8> {
    let mut key = b"p\0".to_vec();
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    match dyad {
        Some(dyad) => key.extend_from_slice(dyad.to_string().as_bytes()),
        None => key.push(b'*'),
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "testing")]
    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(128))]

        /// Every state along any valid history (every event type, retractions, back-dated
        /// events) comes back from its snapshot bytes as it was, and prints the same JSON.
        #[test]
        fn any_state_comes_back_from_its_snapshot(
            log in crate::testing::strategies::valid_log(
                crate::testing::strategies::HistoryConfig { dyads: 1, ..Default::default() }),
        ) {
            let dyad: Dyad = "RUS-USA".parse().unwrap();
            let mut state = BilateralState::default();
            for record in crate::scenario::recorded(log) {
                state = crate::domain::evolve(state, &record);
                let back = decode_snapshot(dyad, &encode_snapshot(&state).unwrap()).unwrap();
                proptest::prop_assert_eq!(&back, &state);
                proptest::prop_assert_eq!(
                    serde_json::to_string(&back).unwrap(),
                    serde_json::to_string(&state).unwrap()
                );
            }
        }
    }

    #[test]
    fn the_scenario_s_states_come_back_from_their_snapshots() {
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        let mut state = BilateralState::default();
        let events = crate::scenario::istanbul_2025()
            .into_iter()
            .chain(crate::scenario::istanbul_2025_followups());
        for record in crate::scenario::recorded(events) {
            state = crate::domain::evolve(state, &record);
            let bytes = encode_snapshot(&state).unwrap();
            assert_eq!(decode_snapshot(dyad, &bytes).unwrap(), state);
            // Smaller than its JSON.
            assert!(bytes.len() < serde_json::to_vec(&state).unwrap().len());
        }
        assert!(state.events_applied > 5);
        assert!(decode_snapshot(dyad, b"{}").is_err());
    }

    #[test]
    fn time_keys_sort_like_dates_then_positions() {
        let dates = [
            "0001-01-01",
            "1969-12-31",
            "2016-12-29",
            "2025-02-27",
            "9999-12-31",
        ];
        let mut encoded = Vec::new();
        for (i, date) in dates.iter().enumerate() {
            for position in [1u64, 300, u64::MAX] {
                let key = TimeKey {
                    on: date.parse().unwrap(),
                    position,
                };
                let bytes = with_time(b"s\0RUS-USA", key);
                assert_eq!(time_of(&bytes), Some(key), "{i}");
                encoded.push((key, bytes));
            }
        }
        let mut by_bytes = encoded.clone();
        by_bytes.sort_by(|a, b| a.1.cmp(&b.1));
        let mut by_key = encoded;
        by_key.sort_by_key(|a| a.0);
        assert_eq!(by_bytes, by_key);
    }
}
