//! The internal encoding of records and the key layout of the `log` tree (format 2; the keys
//! of format 1 are in [`v1`], for the migration).
//!
//! This encoding is internal, not the contract: the contract is the export's JSON and the
//! canonical bytes of [`RecordedEvent::canonical_bytes`]. It may change with the store's format
//! version; the hash chain does not depend on it.
//!
//! A record is a fixed 65-byte header followed by the compact JSON of the rest:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | encoding tag, [`RECORD_ENCODING`] |
//! | 8 | position, u64 big-endian |
//! | 8 | version, u64 big-endian |
//! | 8 | `recorded_at` seconds since the Unix epoch, i64 big-endian |
//! | 4 | `recorded_at` nanoseconds, u32 big-endian |
//! | 4 | schema, u32 big-endian |
//! | 32 | chain hash |
//! | rest | JSON object `{id, dyad, occurred_on, reported_on, sources?, event}` |

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::TimeKey;
use crate::domain::{ChainHash, Dyad, Event, EventId, RecordedEvent, Source};

/// The tag of the record encoding this build writes.
pub(crate) const RECORD_ENCODING: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 8 + 8 + 4 + 4 + 32;

/// Key prefix of a record: `R` + [`place`] (dyad, day, position) -> the record's bytes. A
/// dyad's records are contiguous, in the order of its effective timeline.
pub(crate) const RECORD_PREFIX: u8 = b'R';
/// Key prefix of the position index: `P` + position (u64 BE) -> dyad (7 bytes) + day (4 bytes),
/// the rest of the record's key.
pub(crate) const POSITION_PREFIX: u8 = b'P';
/// Key prefix of the id index: `I` + id bytes -> position (u64 BE).
pub(crate) const ID_PREFIX: u8 = b'I';
/// Key prefix of a dyad's version: `V` + dyad (7 bytes) -> version (u64 BE).
pub(crate) const VERSION_PREFIX: u8 = b'V';
/// Key prefix of a retraction mark: `X` + the target's [`place`] -> the position (u64 BE) of
/// the first retraction of it.
pub(crate) const RETRACTED_PREFIX: u8 = b'X';

/// The keys of format 1, read only to migrate a store of that format.
pub(crate) mod v1 {
    /// `L` + position (u64 BE) -> the record's bytes.
    pub(crate) const LOG_PREFIX: u8 = b'L';
    /// `D` + dyad (7 bytes) + version (u64 BE) -> position.
    pub(crate) const DYAD_PREFIX: u8 = b'D';
    /// `H` -> the head.
    pub(crate) const HEAD_KEY: &[u8] = b"H";

    pub(crate) fn log_key(position: u64) -> [u8; 9] {
        let mut key = [LOG_PREFIX; 9];
        key[1..].copy_from_slice(&position.to_be_bytes());
        key
    }
}

/// The length of a place: dyad (7), day (4), position (8).
pub(crate) const PLACE_LEN: usize = 7 + 4 + 8;
/// The length of a record or retraction-mark key: a prefix byte and a place.
pub(crate) const PLACE_KEY_LEN: usize = 1 + PLACE_LEN;
/// The length of a position index value: dyad (7) and day (4).
const DAY_LEN: usize = 7 + 4;

/// A date as 4 bytes that sort like the dates: days from 0001-01-01 (i32) with the sign bit
/// flipped, big-endian.
fn day_bytes(on: NaiveDate) -> [u8; 4] {
    (on.num_days_from_ce() as u32 ^ 0x8000_0000).to_be_bytes()
}

fn day_of(bytes: [u8; 4]) -> Result<NaiveDate, String> {
    let days = (u32::from_be_bytes(bytes) ^ 0x8000_0000) as i32;
    NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| format!("day {days} is out of range"))
}

/// `prefix` + dyad: the start of a dyad's records or retraction marks.
pub(crate) fn dyad_range_prefix(prefix: u8, dyad: Dyad) -> [u8; 8] {
    let mut key = [prefix; 8];
    key[1..].copy_from_slice(&dyad_bytes(dyad));
    key
}

/// `prefix` + dyad + day + position: a record's key (`R`) or its retraction mark (`X`).
pub(crate) fn place_key(prefix: u8, dyad: Dyad, at: TimeKey) -> [u8; PLACE_KEY_LEN] {
    let mut key = [prefix; PLACE_KEY_LEN];
    key[1..8].copy_from_slice(&dyad_bytes(dyad));
    key[8..12].copy_from_slice(&day_bytes(at.on));
    key[12..].copy_from_slice(&at.position.to_be_bytes());
    key
}

/// The key of a record.
pub(crate) fn record_key(dyad: Dyad, at: TimeKey) -> [u8; PLACE_KEY_LEN] {
    place_key(RECORD_PREFIX, dyad, at)
}

/// The key of the retraction mark of the record at `at`.
pub(crate) fn retracted_key(dyad: Dyad, at: TimeKey) -> [u8; PLACE_KEY_LEN] {
    place_key(RETRACTED_PREFIX, dyad, at)
}

/// The dyad and place of a record or retraction-mark key.
pub(crate) fn decode_place_key(key: &[u8]) -> Result<(Dyad, TimeKey), String> {
    if key.len() != PLACE_KEY_LEN {
        return Err(format!(
            "key of {} bytes is not a {PLACE_KEY_LEN}-byte place",
            key.len()
        ));
    }
    let dyad = decode_dyad(&key[1..8])?;
    let on = day_of(fixed(&key[8..12])?)?;
    let position = decode_u64(&key[12..])?;
    Ok((dyad, TimeKey { on, position }))
}

/// The position of a record or retraction-mark key (its last 8 bytes), if it has one.
pub(crate) fn position_of_place_key(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    decode_u64(tail).ok()
}

pub(crate) fn position_key(position: u64) -> [u8; 9] {
    let mut key = [POSITION_PREFIX; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

/// The value of a position index entry: the record's dyad and day.
pub(crate) fn position_value(dyad: Dyad, on: NaiveDate) -> [u8; DAY_LEN] {
    let mut value = [0u8; DAY_LEN];
    value[..7].copy_from_slice(&dyad_bytes(dyad));
    value[7..].copy_from_slice(&day_bytes(on));
    value
}

/// The record key that the position index entry `position` -> `value` points at.
pub(crate) fn record_key_of(position: u64, value: &[u8]) -> Result<[u8; PLACE_KEY_LEN], String> {
    if value.len() != DAY_LEN {
        return Err(format!(
            "position index value of {} bytes, not {DAY_LEN}",
            value.len()
        ));
    }
    let mut key = [RECORD_PREFIX; PLACE_KEY_LEN];
    key[1..12].copy_from_slice(value);
    key[12..].copy_from_slice(&position.to_be_bytes());
    Ok(key)
}

pub(crate) fn id_key(id: &EventId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + id.as_str().len());
    key.push(ID_PREFIX);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

fn dyad_bytes(dyad: Dyad) -> [u8; 7] {
    let mut out = [0u8; 7];
    let text = dyad.to_string();
    // A dyad's text is always `AAA-BBB`: 7 ASCII bytes.
    for (slot, byte) in out.iter_mut().zip(text.bytes()) {
        *slot = byte;
    }
    out
}

fn decode_dyad(bytes: &[u8]) -> Result<Dyad, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("dyad {bytes:?} is not text"))?;
    text.parse().map_err(|err| format!("dyad `{text}`: {err}"))
}

pub(crate) fn version_key(dyad: Dyad) -> [u8; 8] {
    dyad_range_prefix(VERSION_PREFIX, dyad)
}

/// The dyad of a `V` key.
pub(crate) fn dyad_of_version_key(key: &[u8]) -> Result<Dyad, String> {
    decode_dyad(key.get(1..).unwrap_or_default()).map_err(|err| format!("dyad version key: {err}"))
}

/// The version in a record's stored bytes, read from the header without decoding the rest.
pub(crate) fn peek_version(bytes: &[u8]) -> Result<u64, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    if bytes[0] != RECORD_ENCODING {
        return Err(format!("unknown record encoding {}", bytes[0]));
    }
    decode_u64(&bytes[9..17])
}

pub(crate) fn decode_u64(bytes: &[u8]) -> Result<u64, String> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| format!("expected 8 bytes, found {}", bytes.len()))?;
    Ok(u64::from_be_bytes(array))
}

fn decode_time(bytes: &[u8]) -> Result<DateTime<Utc>, String> {
    let seconds = i64::from_be_bytes(fixed(&bytes[0..8])?);
    let nanos = u32::from_be_bytes(fixed(&bytes[8..12])?);
    DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(|| format!("recorded_at {seconds}s {nanos}ns is out of range"))
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, found {}", bytes.len()))
}

#[derive(Serialize)]
struct BodyRef<'a> {
    id: &'a EventId,
    dyad: &'a Dyad,
    occurred_on: &'a NaiveDate,
    reported_on: &'a NaiveDate,
    #[serde(skip_serializing_if = "<[Source]>::is_empty")]
    sources: &'a [Source],
    event: &'a Event,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    id: EventId,
    dyad: Dyad,
    occurred_on: NaiveDate,
    reported_on: NaiveDate,
    #[serde(default)]
    sources: Vec<Source>,
    event: Event,
}

/// The stored bytes of a record.
pub(crate) fn encode_record(record: &RecordedEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 256);
    out.push(RECORD_ENCODING);
    out.extend_from_slice(&record.position.to_be_bytes());
    out.extend_from_slice(&record.version.to_be_bytes());
    out.extend_from_slice(&record.recorded_at.timestamp().to_be_bytes());
    out.extend_from_slice(&record.recorded_at.timestamp_subsec_nanos().to_be_bytes());
    out.extend_from_slice(&record.schema.to_be_bytes());
    out.extend_from_slice(&record.hash.0);
    let body = BodyRef {
        id: &record.id,
        dyad: &record.dyad,
        occurred_on: &record.occurred_on,
        reported_on: &record.reported_on,
        sources: &record.sources,
        event: &record.event,
    };
    if serde_json::to_writer(&mut out, &body).is_err() {
        unreachable!("domain types always serialize to a Vec")
    }
    out
}

/// A record from its stored bytes; the error says what is wrong.
pub(crate) fn decode_record(bytes: &[u8]) -> Result<RecordedEvent, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    if bytes[0] != RECORD_ENCODING {
        return Err(format!("unknown record encoding {}", bytes[0]));
    }
    let position = decode_u64(&bytes[1..9])?;
    let version = decode_u64(&bytes[9..17])?;
    let recorded_at = decode_time(&bytes[17..29])?;
    let schema = u32::from_be_bytes(fixed(&bytes[29..33])?);
    let hash = ChainHash(fixed(&bytes[33..65])?);
    let body: Body = serde_json::from_slice(&bytes[HEADER_LEN..])
        .map_err(|err| format!("record body does not decode: {err}"))?;
    Ok(RecordedEvent {
        position,
        version,
        id: body.id,
        dyad: body.dyad,
        occurred_on: body.occurred_on,
        reported_on: body.reported_on,
        recorded_at,
        schema,
        sources: body.sources,
        event: body.event,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        let line = r#"{"position":7,"version":3,"id":"e1","dyad":"RUS-USA","occurred_on":"2016-12-29",
          "reported_on":"2016-12-30","recorded_at":"2025-03-01T10:00:00.123456789Z","schema":1,
          "sources":[{"name":"TASS","kind":"news_agency"}],
          "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35},
          "hash":"ab00000000000000000000000000000000000000000000000000000000000001"}"#;
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn records_round_trip_exactly() {
        let record = sample();
        assert_eq!(decode_record(&encode_record(&record)).unwrap(), record);
    }

    #[test]
    fn truncated_and_foreign_bytes_are_errors() {
        let bytes = encode_record(&sample());
        assert!(decode_record(&bytes[..10]).is_err());
        assert!(decode_record(&bytes[..bytes.len() - 1]).is_err());
        let mut other = bytes.clone();
        other[0] = 9;
        assert!(decode_record(&other).unwrap_err().contains("encoding 9"));
    }

    #[test]
    fn keys_sort_by_number_and_places_by_date_then_position() {
        assert!(position_key(255) < position_key(256));
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        assert_eq!(dyad_of_version_key(&version_key(dyad)).unwrap(), dyad);
        let dates = ["0001-01-01", "1969-12-31", "2016-12-29", "9999-12-31"];
        let mut places = Vec::new();
        for date in dates {
            for position in [1u64, 300, u64::MAX] {
                let at = TimeKey {
                    on: date.parse().unwrap(),
                    position,
                };
                let key = record_key(dyad, at);
                assert_eq!(decode_place_key(&key).unwrap(), (dyad, at));
                assert_eq!(position_of_place_key(&key), Some(position));
                let value = position_value(dyad, at.on);
                assert_eq!(record_key_of(position, &value).unwrap(), key);
                places.push((at, key));
            }
        }
        let mut by_bytes = places.clone();
        by_bytes.sort_by_key(|a| a.1);
        let mut by_place = places;
        by_place.sort_by_key(|a| a.0);
        assert_eq!(by_bytes, by_place);
    }

    #[test]
    fn the_version_is_read_from_the_header() {
        assert_eq!(peek_version(&encode_record(&sample())).unwrap(), 3);
        assert!(peek_version(b"short").is_err());
    }
}
