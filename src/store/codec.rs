//! The internal encoding of records and the key layout of the `log` tree.
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

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ChainHash, Dyad, Event, EventId, RecordedEvent, Source};

/// The tag of the record encoding this build writes.
pub(crate) const RECORD_ENCODING: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 8 + 8 + 4 + 4 + 32;

/// Key prefix of a record: `L` + position (u64 BE).
pub(crate) const LOG_PREFIX: u8 = b'L';
/// Key prefix of the id index: `I` + id bytes -> position (u64 BE).
pub(crate) const ID_PREFIX: u8 = b'I';
/// Key prefix of the dyad index: `D` + dyad (7 bytes) + version (u64 BE) -> position (u64 BE).
pub(crate) const DYAD_PREFIX: u8 = b'D';
/// Key prefix of a dyad's version: `V` + dyad (7 bytes) -> version (u64 BE).
pub(crate) const VERSION_PREFIX: u8 = b'V';
/// The key of the head: position (u64 BE), hash (32), last `recorded_at` (i64 s BE, u32 ns BE).
pub(crate) const HEAD_KEY: &[u8] = b"H";

pub(crate) fn log_key(position: u64) -> [u8; 9] {
    let mut key = [LOG_PREFIX; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
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

pub(crate) fn dyad_key(dyad: Dyad, version: u64) -> [u8; 16] {
    let mut key = [DYAD_PREFIX; 16];
    key[1..8].copy_from_slice(&dyad_bytes(dyad));
    key[8..].copy_from_slice(&version.to_be_bytes());
    key
}

pub(crate) fn version_key(dyad: Dyad) -> [u8; 8] {
    let mut key = [VERSION_PREFIX; 8];
    key[1..].copy_from_slice(&dyad_bytes(dyad));
    key
}

/// The dyad of a `V` key.
pub(crate) fn dyad_of_version_key(key: &[u8]) -> Result<Dyad, String> {
    let text = key
        .get(1..)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .ok_or_else(|| format!("dyad version key {key:?} is not text"))?;
    text.parse()
        .map_err(|err| format!("dyad version key `{text}`: {err}"))
}

pub(crate) fn decode_u64(bytes: &[u8]) -> Result<u64, String> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| format!("expected 8 bytes, found {}", bytes.len()))?;
    Ok(u64::from_be_bytes(array))
}

/// The end of the log as persisted under [`HEAD_KEY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PersistedHead {
    pub(crate) position: u64,
    pub(crate) hash: ChainHash,
    pub(crate) last_recorded_at: DateTime<Utc>,
}

pub(crate) fn encode_head(head: &PersistedHead) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 32 + 12);
    out.extend_from_slice(&head.position.to_be_bytes());
    out.extend_from_slice(&head.hash.0);
    out.extend_from_slice(&head.last_recorded_at.timestamp().to_be_bytes());
    out.extend_from_slice(&head.last_recorded_at.timestamp_subsec_nanos().to_be_bytes());
    out
}

pub(crate) fn decode_head(bytes: &[u8]) -> Result<PersistedHead, String> {
    if bytes.len() != 52 {
        return Err(format!("head record has {} bytes, not 52", bytes.len()));
    }
    let position = decode_u64(&bytes[0..8])?;
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[8..40]);
    let last_recorded_at = decode_time(&bytes[40..52])?;
    Ok(PersistedHead {
        position,
        hash: ChainHash(hash),
        last_recorded_at,
    })
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
    fn heads_round_trip() {
        let record = sample();
        let head = PersistedHead {
            position: 9,
            hash: record.hash,
            last_recorded_at: record.recorded_at,
        };
        assert_eq!(decode_head(&encode_head(&head)).unwrap(), head);
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
    fn keys_sort_by_number() {
        assert!(log_key(255) < log_key(256));
        let dyad: Dyad = "RUS-USA".parse().unwrap();
        assert!(dyad_key(dyad, 9) < dyad_key(dyad, 10));
        assert_eq!(dyad_of_version_key(&version_key(dyad)).unwrap(), dyad);
    }
}
