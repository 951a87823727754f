//! The internal encoding of records and the key layout of the `log` tree (format 3; the keys
//! of formats 1 and 2 are in [`v1`] and [`v2`], for the migrations).
//!
//! This encoding is internal, not the contract: the contract is the export's JSON and the
//! canonical bytes of [`RecordedEvent::canonical_bytes`]. It may change with the store's format
//! version; the hash chain does not depend on it.
//!
//! # Keys (format 3)
//!
//! | key | value |
//! |---|---|
//! | `r` + place (dyad, day, position) | the record's bytes |
//! | `p` + position (u64 BE) | a run: the dyad and day (14 bytes each) of that position and of the next ones, as many as the value holds |
//! | `I` + id bytes | the position (u64 BE) |
//! | `v` + dyad | the dyad's version (u64 BE) |
//! | `x` + place | the position (u64 BE) of the first retraction of the record there |
//!
//! A dyad is 10 bytes: each of its two codes (2 to 8 upper-case letters) packed into 5 bytes,
//! a letter a 5-bit number (`A` = 1 … `Z` = 26), first letter first, padded with zeros, so
//! that the bytes sort as the codes do (`EST` before `EU`, `EU` before any longer code that
//! starts with it), as in the dyads' text (`EST-EU` before `EU-GBR`). A day is the number of days from 0001-01-01 with the sign bit flipped, all integers
//! big-endian: keys sort by dyad, date and number, so a dyad's records are contiguous and in
//! the order of its effective timeline.
//!
//! The position index holds one key per run of consecutive positions written by one append
//! (at most [`RUN_MAX`] positions a key), not one per record: an import of batches of 1,000
//! writes two keys per record (`r` and `I`) instead of three. The head is the last position of
//! the last run.
//!
//! # Records
//!
//! A record's first byte names its encoding. This build writes encoding 3 and reads 1, 2 and
//! 3: all decode to the same [`RecordedEvent`].
//!
//! Encoding 1, a fixed 65-byte header followed by the compact JSON of the rest:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | encoding tag, 1 |
//! | 8 | position, u64 big-endian |
//! | 8 | version, u64 big-endian |
//! | 8 | `recorded_at` seconds since the Unix epoch, i64 big-endian |
//! | 4 | `recorded_at` nanoseconds, u32 big-endian |
//! | 4 | schema, u32 big-endian |
//! | 32 | chain hash |
//! | rest | JSON object `{id, dyad, occurred_on, reported_on, sources?, event}` |
//!
//! Encoding 2 (store format 2) keeps every field but the event's own out of JSON, and the
//! event's JSON without its `type` tag (the tag is a byte), so that decoding does not go
//! through serde's buffering of internally tagged enums:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | encoding tag, 2 |
//! | 7 | dyad, its canonical text `AAA-BBB` |
//! | 4 | `occurred_on`, as in keys (days from 0001-01-01, sign bit flipped, big-endian) |
//! | 8 | position, u64 big-endian |
//! | 8 | version, u64 big-endian |
//! | 8 | `recorded_at` seconds since the Unix epoch, i64 big-endian |
//! | 4 | `recorded_at` nanoseconds, u32 big-endian |
//! | 4 | schema, u32 big-endian |
//! | 32 | chain hash |
//! | 4 | `reported_on`, as `occurred_on` |
//! | 1 | event type: its code, its index in [`Event::TYPE_NAMES`] (the order of the one table of types in `domain::event`) |
//! | 1 | id length `n` (an id is at most 128 bytes) |
//! | n | id |
//! | 4 | number of sources, u32 big-endian |
//! | … | each source: its kind (0 for none, else 1 + its index in `SourceKind`'s order), a byte of flags (1: a `url` follows, 2: a `quote` follows), then `name`, `url`, `quote` (those present), each a u32 big-endian length and UTF-8 bytes |
//! | rest | the event's fields: the compact JSON of its variant's struct (`TalksHeld`…) |
//!
//! Encoding 3 ([`RECORD_ENCODING`], store format 3) is encoding 2 with the tag 3 and the
//! place of format 3: the 10-byte dyad of the keys instead of its 7-byte text, so that a dyad
//! of any two codes fits. Bytes 1 to 22 of encoding 3 are the record's place (dyad, day,
//! position), the same bytes as in its key after the prefix, so a read through a key checks
//! the record against it with one comparison.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Deserialize;

use super::TimeKey;
use crate::domain::{ChainHash, Dyad, Event, EventId, Party, RecordedEvent, Source, SourceKind};

/// The tag of the record encoding this build writes.
pub(crate) const RECORD_ENCODING: u8 = ENCODING_3;
/// Encoding 1: a binary header, then the rest as one JSON object (written before encoding 2).
const ENCODING_1: u8 = 1;
/// Encoding 2: everything binary but the event's fields, with a 7-byte dyad (store format 2).
const ENCODING_2: u8 = 2;
/// Encoding 3: encoding 2 with the 10-byte dyad of store format 3 (see the module's
/// documentation).
const ENCODING_3: u8 = 3;
const HEADER_1_LEN: usize = 1 + 8 + 8 + 8 + 4 + 4 + 32;
/// The fixed part of encoding 2: tag, place, version, time, schema, hash, `reported_on`,
/// event type.
const HEADER_2_LEN: usize = 1 + v2::PLACE_LEN + 8 + 8 + 4 + 4 + 32 + 4 + 1;
/// The fixed part of encoding 3: as encoding 2's, with format 3's place.
const HEADER_3_LEN: usize = 1 + PLACE_LEN + 8 + 8 + 4 + 4 + 32 + 4 + 1;

/// The header length of a record in `encoding` (a known one), and where its version is.
fn header_of(encoding: u8) -> Option<(usize, usize)> {
    match encoding {
        ENCODING_1 => Some((HEADER_1_LEN, 9)),
        ENCODING_2 => Some((HEADER_2_LEN, 1 + v2::PLACE_LEN)),
        ENCODING_3 => Some((HEADER_3_LEN, 1 + PLACE_LEN)),
        _ => None,
    }
}

/// Key prefix of a record: `r` + [`place_key`]'s place (dyad, day, position) -> the record's
/// bytes. A dyad's records are contiguous, in the order of its effective timeline.
pub(crate) const RECORD_PREFIX: u8 = b'r';
/// Key prefix of the position index: `p` + the first position of a run (u64 BE) -> the dyad
/// and day ([`RUN_ENTRY_LEN`] bytes) of each position of the run, in order.
pub(crate) const RUN_PREFIX: u8 = b'p';
/// Key prefix of the id index: `I` + id bytes -> position (u64 BE), the same in formats 1 to 3.
pub(crate) const ID_PREFIX: u8 = b'I';
/// Key prefix of a dyad's version: `v` + dyad (10 bytes) -> version (u64 BE).
pub(crate) const VERSION_PREFIX: u8 = b'v';
/// Key prefix of a retraction mark: `x` + the target's place -> the position (u64 BE) of the
/// first retraction of it.
pub(crate) const RETRACTED_PREFIX: u8 = b'x';
/// The most positions one key of the position index holds.
pub(crate) const RUN_MAX: usize = 512;

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

/// The keys of format 2 (written by formats 2 and by the migration of format 1), read only to
/// migrate a store of that format: the same kinds of keys as format 3, under upper-case
/// prefixes, with a dyad as its 7-byte text `AAA-BBB` and one position index key per record.
pub(crate) mod v2 {
    use super::{Dyad, NaiveDate, TimeKey, day_bytes, day_of, decode_u64, fixed};

    /// `R` + dyad (7) + day (4) + position (8) -> the record's bytes.
    pub(crate) const RECORD_PREFIX: u8 = b'R';
    /// `P` + position -> dyad (7) + day (4).
    pub(crate) const POSITION_PREFIX: u8 = b'P';
    /// `V` + dyad (7) -> version.
    pub(crate) const VERSION_PREFIX: u8 = b'V';
    /// `X` + place -> the position of the first retraction.
    pub(crate) const RETRACTED_PREFIX: u8 = b'X';
    /// The prefixes of format 2's own keys (the `I` keys stay).
    pub(crate) const PREFIXES: [u8; 4] = [
        RECORD_PREFIX,
        POSITION_PREFIX,
        VERSION_PREFIX,
        RETRACTED_PREFIX,
    ];
    /// The length of a place: dyad (7), day (4), position (8).
    pub(crate) const PLACE_LEN: usize = 7 + 4 + 8;

    /// A dyad's 7 bytes: its text, which format 2 holds only for two three-letter codes.
    pub(crate) fn dyad_bytes(dyad: Dyad) -> Option<[u8; 7]> {
        let (first, second) = dyad.parties();
        let (first, second) = (first.as_str().as_bytes(), second.as_str().as_bytes());
        if first.len() != 3 || second.len() != 3 {
            return None;
        }
        let mut out = [b'-'; 7];
        out[..3].copy_from_slice(first);
        out[4..].copy_from_slice(second);
        Some(out)
    }

    pub(crate) fn decode_dyad(bytes: &[u8]) -> Result<Dyad, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| format!("dyad {bytes:?} is not text"))?;
        text.parse().map_err(|err| format!("dyad `{text}`: {err}"))
    }

    /// `prefix` + dyad + day + position, the key of a record (`R`) or a mark (`X`).
    pub(crate) fn place_key(prefix: u8, dyad: [u8; 7], at: TimeKey) -> Vec<u8> {
        let mut key = Vec::with_capacity(1 + PLACE_LEN);
        key.push(prefix);
        key.extend_from_slice(&dyad);
        key.extend_from_slice(&day_bytes(at.on));
        key.extend_from_slice(&at.position.to_be_bytes());
        key
    }

    /// The dyad and place of a format-2 record or mark key.
    pub(crate) fn decode_place_key(key: &[u8]) -> Result<(Dyad, TimeKey), String> {
        if key.len() != 1 + PLACE_LEN {
            return Err(format!(
                "key of {} bytes is not a {}-byte place",
                key.len(),
                1 + PLACE_LEN
            ));
        }
        let dyad = decode_dyad(&key[1..8])?;
        let on: NaiveDate = day_of(fixed(&key[8..12])?)?;
        let position = decode_u64(&key[12..])?;
        Ok((dyad, TimeKey { on, position }))
    }

    pub(crate) fn position_key(position: u64) -> [u8; 9] {
        let mut key = [POSITION_PREFIX; 9];
        key[1..].copy_from_slice(&position.to_be_bytes());
        key
    }

    /// The record key a format-2 position index entry points at.
    pub(crate) fn record_key_of(position: u64, value: &[u8]) -> Result<Vec<u8>, String> {
        if value.len() != 11 {
            return Err(format!(
                "position index value of {} bytes, not 11",
                value.len()
            ));
        }
        let mut key = Vec::with_capacity(1 + PLACE_LEN);
        key.push(RECORD_PREFIX);
        key.extend_from_slice(value);
        key.extend_from_slice(&position.to_be_bytes());
        Ok(key)
    }
}

/// The length of a dyad in keys and records: two packed codes of 5 bytes.
pub(crate) const DYAD_LEN: usize = 10;
/// The length of a place: dyad (10), day (4), position (8).
pub(crate) const PLACE_LEN: usize = DYAD_LEN + 4 + 8;
/// The length of a record or retraction-mark key: a prefix byte and a place.
pub(crate) const PLACE_KEY_LEN: usize = 1 + PLACE_LEN;
/// The length of one position's entry in a run of the position index: dyad (10) and day (4).
pub(crate) const RUN_ENTRY_LEN: usize = DYAD_LEN + 4;

/// A date as 4 bytes that sort like the dates: days from 0001-01-01 (i32) with the sign bit
/// flipped, big-endian.
fn day_bytes(on: NaiveDate) -> [u8; 4] {
    (on.num_days_from_ce() as u32 ^ 0x8000_0000).to_be_bytes()
}

fn day_of(bytes: [u8; 4]) -> Result<NaiveDate, String> {
    let days = (u32::from_be_bytes(bytes) ^ 0x8000_0000) as i32;
    NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| format!("day {days} is out of range"))
}

/// A party's code in 5 bytes: each letter a 5-bit number (`A` = 1 … `Z` = 26), the first in
/// the highest bits, zeros after the last, so that the bytes sort as the codes.
fn code_bytes(party: Party) -> [u8; 5] {
    let mut packed: u64 = 0;
    let code = party.as_str().as_bytes();
    for at in 0..8 {
        packed <<= 5;
        if let Some(&letter) = code.get(at) {
            // A registered code is 2 to 8 upper-case ASCII letters (`Party`).
            packed |= u64::from(letter - b'A' + 1);
        }
    }
    let bytes = packed.to_be_bytes();
    let mut out = [0u8; 5];
    out.copy_from_slice(&bytes[3..]);
    out
}

fn decode_code(bytes: &[u8]) -> Result<Party, String> {
    let mut wide = [0u8; 8];
    wide[3..].copy_from_slice(bytes);
    let packed = u64::from_be_bytes(wide);
    let mut text = String::with_capacity(8);
    let mut ended = false;
    for at in (0..8).rev() {
        let letter = ((packed >> (5 * at)) & 0x1f) as u8;
        match (letter, ended) {
            (0, _) => ended = true,
            (1..=26, false) => text.push(char::from(b'A' + letter - 1)),
            _ => return Err(format!("party code bytes {bytes:02x?} are malformed")),
        }
    }
    text.parse()
        .map_err(|err| format!("party code `{text}` in a key: {err}"))
}

/// A dyad's 10 bytes in keys and records: its two codes, packed ([`code_bytes`]), in the
/// dyad's order.
pub(crate) fn dyad_bytes(dyad: Dyad) -> [u8; DYAD_LEN] {
    let (first, second) = dyad.parties();
    let mut out = [0u8; DYAD_LEN];
    out[..5].copy_from_slice(&code_bytes(first));
    out[5..].copy_from_slice(&code_bytes(second));
    out
}

pub(crate) fn decode_dyad(bytes: &[u8]) -> Result<Dyad, String> {
    if bytes.len() != DYAD_LEN {
        return Err(format!("a dyad of {} bytes, not {DYAD_LEN}", bytes.len()));
    }
    let (first, second) = (decode_code(&bytes[..5])?, decode_code(&bytes[5..])?);
    let dyad = Dyad::new(first, second).map_err(|err| err.to_string())?;
    if dyad.parties() != (first, second) {
        return Err(format!("dyad {first}-{second} is not in canonical order"));
    }
    Ok(dyad)
}

/// `prefix` + dyad: the start of a dyad's records or retraction marks, or its version key.
pub(crate) fn dyad_range_prefix(prefix: u8, dyad: Dyad) -> [u8; 1 + DYAD_LEN] {
    let mut key = [prefix; 1 + DYAD_LEN];
    key[1..].copy_from_slice(&dyad_bytes(dyad));
    key
}

/// `prefix` + dyad + day + position: a record's key (`r`) or its retraction mark (`x`).
pub(crate) fn place_key(prefix: u8, dyad: Dyad, at: TimeKey) -> [u8; PLACE_KEY_LEN] {
    let mut key = [prefix; PLACE_KEY_LEN];
    key[1..1 + DYAD_LEN].copy_from_slice(&dyad_bytes(dyad));
    key[1 + DYAD_LEN..5 + DYAD_LEN].copy_from_slice(&day_bytes(at.on));
    key[5 + DYAD_LEN..].copy_from_slice(&at.position.to_be_bytes());
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
    let dyad = decode_dyad(&key[1..1 + DYAD_LEN])?;
    let on = day_of(fixed(&key[1 + DYAD_LEN..5 + DYAD_LEN])?)?;
    let position = decode_u64(&key[5 + DYAD_LEN..])?;
    Ok((dyad, TimeKey { on, position }))
}

/// The position of a record or retraction-mark key (its last 8 bytes), if it has one.
pub(crate) fn position_of_place_key(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    decode_u64(tail).ok()
}

/// The key of the run of the position index that starts at `position`.
pub(crate) fn run_key(position: u64) -> [u8; 9] {
    let mut key = [RUN_PREFIX; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

/// One position's entry in a run of the position index: the record's dyad and day.
pub(crate) fn run_entry(dyad: Dyad, on: NaiveDate) -> [u8; RUN_ENTRY_LEN] {
    let mut value = [0u8; RUN_ENTRY_LEN];
    value[..DYAD_LEN].copy_from_slice(&dyad_bytes(dyad));
    value[DYAD_LEN..].copy_from_slice(&day_bytes(on));
    value
}

/// The entry of `position` in the run that starts at `first` (`None` past its end).
pub(crate) fn entry_in_run(
    first: u64,
    run: &[u8],
    position: u64,
) -> Result<Option<[u8; RUN_ENTRY_LEN]>, String> {
    if run.is_empty() || run.len() % RUN_ENTRY_LEN != 0 {
        return Err(format!(
            "a position index run of {} bytes, not a multiple of {RUN_ENTRY_LEN}",
            run.len()
        ));
    }
    let Some(offset) = position.checked_sub(first) else {
        return Ok(None);
    };
    let Some(at) = usize::try_from(offset)
        .ok()
        .and_then(|offset| offset.checked_mul(RUN_ENTRY_LEN))
        .filter(|&at| at < run.len())
    else {
        return Ok(None);
    };
    Ok(Some(fixed(&run[at..at + RUN_ENTRY_LEN])?))
}

/// The last position of the run that starts at `first` (its value checked as in
/// [`entry_in_run`]).
pub(crate) fn last_of_run(first: u64, run: &[u8]) -> Result<u64, String> {
    if run.is_empty() || run.len() % RUN_ENTRY_LEN != 0 {
        return Err(format!(
            "a position index run of {} bytes, not a multiple of {RUN_ENTRY_LEN}",
            run.len()
        ));
    }
    first
        .checked_add((run.len() / RUN_ENTRY_LEN) as u64 - 1)
        .ok_or_else(|| format!("a position index run from {first} passes the last position"))
}

/// The record key that the position index entry of `position` points at.
pub(crate) fn record_key_of(position: u64, entry: &[u8]) -> Result<[u8; PLACE_KEY_LEN], String> {
    if entry.len() != RUN_ENTRY_LEN {
        return Err(format!(
            "position index entry of {} bytes, not {RUN_ENTRY_LEN}",
            entry.len()
        ));
    }
    let mut key = [RECORD_PREFIX; PLACE_KEY_LEN];
    key[1..1 + RUN_ENTRY_LEN].copy_from_slice(entry);
    key[1 + RUN_ENTRY_LEN..].copy_from_slice(&position.to_be_bytes());
    Ok(key)
}

pub(crate) fn id_key(id: &EventId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + id.as_str().len());
    key.push(ID_PREFIX);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

pub(crate) fn version_key(dyad: Dyad) -> [u8; 1 + DYAD_LEN] {
    dyad_range_prefix(VERSION_PREFIX, dyad)
}

/// The dyad of a `v` key.
pub(crate) fn dyad_of_version_key(key: &[u8]) -> Result<Dyad, String> {
    decode_dyad(key.get(1..).unwrap_or_default()).map_err(|err| format!("dyad version key: {err}"))
}

/// The version in a record's stored bytes, read from the header without decoding the rest.
pub(crate) fn peek_version(bytes: &[u8]) -> Result<u64, String> {
    let (header, at) = match bytes.first() {
        Some(&tag) => header_of(tag).ok_or_else(|| format!("unknown record encoding {tag}"))?,
        None => return Err("an empty record".into()),
    };
    if bytes.len() < header {
        return Err(format!(
            "{} bytes is shorter than the {header}-byte header",
            bytes.len()
        ));
    }
    decode_u64(&bytes[at..at + 8])
}

/// The place (dyad, day, position: the bytes of its key after the prefix) that a record
/// stored in an encoding that carries format 3's place says it is at; `None` for encodings 1
/// and 2.
pub(crate) fn stored_place(bytes: &[u8]) -> Option<&[u8]> {
    match bytes.first() {
        Some(&ENCODING_3) => bytes.get(1..1 + PLACE_LEN),
        _ => None,
    }
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

/// The kinds of source, in the order of their codes (code = 1 + index; 0 is none).
const SOURCE_KINDS: [SourceKind; 5] = [
    SourceKind::OfficialStatement,
    SourceKind::NewsAgency,
    SourceKind::Newspaper,
    SourceKind::Spokesperson,
    SourceKind::Other,
];
const HAS_URL: u8 = 1;
const HAS_QUOTE: u8 = 2;

fn source_kind_code(kind: Option<SourceKind>) -> u8 {
    match kind {
        None => 0,
        Some(SourceKind::OfficialStatement) => 1,
        Some(SourceKind::NewsAgency) => 2,
        Some(SourceKind::Newspaper) => 3,
        Some(SourceKind::Spokesperson) => 4,
        Some(SourceKind::Other) => 5,
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    // A record's texts are bounded far below 4 GiB (`domain::limits`).
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// The stored bytes of a record, in encoding 3.
pub(crate) fn encode_record(record: &RecordedEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_3_LEN + 320);
    out.push(RECORD_ENCODING);
    out.extend_from_slice(&dyad_bytes(record.dyad));
    encode_after_dyad(record, &mut out);
    out
}

/// The stored bytes of a record in encoding 2, as store format 2 wrote them (`None` for a
/// dyad that format 2 cannot hold): for the tests of the migration and of the frozen bytes.
#[cfg(test)]
pub(crate) fn encode_record_2(record: &RecordedEvent) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(HEADER_2_LEN + 320);
    out.push(ENCODING_2);
    out.extend_from_slice(&v2::dyad_bytes(record.dyad)?);
    encode_after_dyad(record, &mut out);
    Some(out)
}

/// Everything of encodings 2 and 3 after the dyad.
fn encode_after_dyad(record: &RecordedEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(&day_bytes(record.occurred_on));
    out.extend_from_slice(&record.position.to_be_bytes());
    out.extend_from_slice(&record.version.to_be_bytes());
    out.extend_from_slice(&record.recorded_at.timestamp().to_be_bytes());
    out.extend_from_slice(&record.recorded_at.timestamp_subsec_nanos().to_be_bytes());
    out.extend_from_slice(&record.schema.to_be_bytes());
    out.extend_from_slice(&record.hash.0);
    out.extend_from_slice(&day_bytes(record.reported_on));
    out.push(record.event.type_code());
    let id = record.id.as_str().as_bytes();
    // An id is at most 128 bytes (`EventId`).
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    out.extend_from_slice(&(record.sources.len() as u32).to_be_bytes());
    for source in &record.sources {
        out.push(source_kind_code(source.kind));
        let flags = if source.url.is_some() { HAS_URL } else { 0 }
            | if source.quote.is_some() { HAS_QUOTE } else { 0 };
        out.push(flags);
        put_text(out, &source.name);
        for text in [&source.url, &source.quote].into_iter().flatten() {
            put_text(out, text);
        }
    }
    if record.event.write_fields_json(out).is_err() {
        unreachable!("domain types always serialize to a Vec")
    }
}

/// A record from its stored bytes, in any encoding this build reads; the error says what is
/// wrong.
pub(crate) fn decode_record(bytes: &[u8]) -> Result<RecordedEvent, String> {
    decode_record_of(bytes, None)
}

/// [`decode_record`] of a record expected to be of `dyad`, where given: in encodings 2 and 3
/// its dyad's bytes are then compared with that dyad's instead of parsed (a scan of one dyad's
/// records decodes its dyad once, not once per record).
pub(crate) fn decode_record_of(bytes: &[u8], dyad: Option<Dyad>) -> Result<RecordedEvent, String> {
    match bytes.first() {
        Some(&ENCODING_1) => decode_record_1(bytes),
        Some(&ENCODING_2) => decode_binary(bytes, dyad, ENCODING_2),
        Some(&ENCODING_3) => decode_binary(bytes, dyad, ENCODING_3),
        Some(&other) => Err(format!("unknown record encoding {other}")),
        None => Err("an empty record".into()),
    }
}

fn decode_record_1(bytes: &[u8]) -> Result<RecordedEvent, String> {
    if bytes.len() < HEADER_1_LEN {
        return Err(format!(
            "{} bytes is shorter than the {HEADER_1_LEN}-byte header",
            bytes.len()
        ));
    }
    let position = decode_u64(&bytes[1..9])?;
    let version = decode_u64(&bytes[9..17])?;
    let recorded_at = decode_time(&bytes[17..29])?;
    let schema = u32::from_be_bytes(fixed(&bytes[29..33])?);
    let hash = ChainHash(fixed(&bytes[33..65])?);
    let body: Body = serde_json::from_slice(&bytes[HEADER_1_LEN..])
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

/// Reads the variable part of an encoding 2 or 3 record, front to back.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err(format!("the record ends inside its {what}"));
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn byte(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_be_bytes(fixed(self.take(4, what)?)?))
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        let len = self.u32(what)? as usize;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| format!("the record's {what} is not UTF-8"))
    }
}

/// A record in encoding 2 or 3 (`encoding`): the same fields, after a dyad of 7 or 10 bytes.
fn decode_binary(
    bytes: &[u8],
    expected: Option<Dyad>,
    encoding: u8,
) -> Result<RecordedEvent, String> {
    let (header, dyad_len) = if encoding == ENCODING_2 {
        (HEADER_2_LEN, 7)
    } else {
        (HEADER_3_LEN, DYAD_LEN)
    };
    if bytes.len() < header {
        return Err(format!(
            "{} bytes is shorter than the {header}-byte header",
            bytes.len()
        ));
    }
    let stored = &bytes[1..1 + dyad_len];
    let dyad = match expected {
        Some(dyad) if encoding == ENCODING_3 && stored == dyad_bytes(dyad) => dyad,
        Some(dyad)
            if encoding == ENCODING_2
                && v2::dyad_bytes(dyad).as_ref().map(|b| &b[..]) == Some(stored) =>
        {
            dyad
        }
        _ if encoding == ENCODING_2 => v2::decode_dyad(stored)?,
        _ => decode_dyad(stored)?,
    };
    let at = &bytes[1 + dyad_len..header];
    let occurred_on = day_of(fixed(&at[0..4])?)?;
    let position = decode_u64(&at[4..12])?;
    let version = decode_u64(&at[12..20])?;
    let recorded_at = decode_time(&at[20..32])?;
    let schema = u32::from_be_bytes(fixed(&at[32..36])?);
    let hash = ChainHash(fixed(&at[36..68])?);
    let reported_on = day_of(fixed(&at[68..72])?)?;
    let event_type = at[72];
    let mut cursor = Cursor {
        rest: &bytes[header..],
    };
    let id_len = cursor.byte("id")? as usize;
    let id = std::str::from_utf8(cursor.take(id_len, "id")?)
        .map_err(|_| "the record's id is not UTF-8".to_owned())?
        .parse::<EventId>()
        .map_err(|err| format!("the record's id: {err}"))?;
    let n_sources = cursor.u32("sources")? as usize;
    // Each source takes at least 6 bytes: a bound on the count that the bytes can hold.
    let mut sources = Vec::with_capacity(n_sources.min(cursor.rest.len() / 6));
    for _ in 0..n_sources {
        let kind = match cursor.byte("source")? {
            0 => None,
            code => Some(
                *SOURCE_KINDS
                    .get(usize::from(code) - 1)
                    .ok_or_else(|| format!("unknown source kind {code}"))?,
            ),
        };
        let flags = cursor.byte("source")?;
        if flags & !(HAS_URL | HAS_QUOTE) != 0 {
            return Err(format!("unknown source flags {flags}"));
        }
        let name = cursor.text("source name")?;
        let url = match flags & HAS_URL {
            0 => None,
            _ => Some(cursor.text("source url")?),
        };
        let quote = match flags & HAS_QUOTE {
            0 => None,
            _ => Some(cursor.text("source quote")?),
        };
        sources.push(Source {
            name,
            kind,
            url,
            quote,
        });
    }
    let event = Event::from_fields_json(event_type, cursor.rest)
        .map_err(|err| format!("record event does not decode: {err}"))?;
    Ok(RecordedEvent {
        position,
        version,
        id,
        dyad,
        occurred_on,
        reported_on,
        recorded_at,
        schema,
        sources,
        event,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    /// The frozen export of every event type (`tests/fixtures/export-wire1-every-type.jsonl`)
    /// and the bytes this build's record encoding gave each of its records when the fixture
    /// was made (`tests/fixtures/record-encoding-2.hex`, one record a line, in hex).
    const EVERY_TYPE_EXPORT: &str =
        include_str!("../../../tests/fixtures/export-wire1-every-type.jsonl");
    const ENCODING_2_HEX: &str = include_str!("../../../tests/fixtures/record-encoding-2.hex");
    const ENCODING_3_HEX: &str = include_str!("../../../tests/fixtures/record-encoding-3.hex");

    fn to_hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn from_hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }

    /// Encoding 2 is pinned byte for byte: a build that changes what it writes for any event
    /// type (a field renamed, a type's index moved in `Event::TYPE_NAMES`, a header field
    /// reordered) fails here, and so does one that can no longer read the bytes an earlier
    /// build wrote. A deliberate change of encoding gets a new tag and keeps decoding these
    /// bytes; to re-freeze after adding records to the fixture, run this test with
    /// `DETENTE_BLESS_FIXTURES=1` and review the diff.
    #[test]
    fn encoding_2_of_every_event_type_is_frozen_byte_for_byte() {
        let records: Vec<RecordedEvent> = EVERY_TYPE_EXPORT
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let types: std::collections::BTreeSet<&str> = records
            .iter()
            .map(|record| record.event.type_name())
            .collect();
        assert_eq!(
            types,
            Event::TYPE_NAMES.iter().copied().collect(),
            "the fixture holds every event type"
        );
        // Encoding 2 is no longer written by the store (format 3 writes encoding 3), but its
        // encoder is kept for the tests, and its bytes stay readable forever.
        let encoded: Vec<String> = records
            .iter()
            .map(|r| to_hex(&encode_record_2(r).unwrap()))
            .collect();
        let frozen: Vec<&str> = ENCODING_2_HEX.lines().collect();
        assert_eq!(
            frozen.len(),
            records.len(),
            "one frozen record per exported line"
        );
        for ((record, now), frozen) in records.iter().zip(&encoded).zip(&frozen) {
            assert_eq!(now, frozen, "encoding of position {}", record.position);
            let bytes = from_hex(frozen);
            assert_eq!(bytes[0], ENCODING_2);
            assert_eq!(
                &decode_record(&bytes).unwrap(),
                record,
                "position {}",
                record.position
            );
        }
    }

    /// Encoding 3 is pinned byte for byte as encoding 2 is
    /// (`tests/fixtures/record-encoding-3.hex`, the same records): to re-freeze after adding
    /// records to the fixture, run this test with `DETENTE_BLESS_FIXTURES=1` and review the
    /// diff. A deliberate change of encoding gets a new tag and keeps decoding these bytes.
    #[test]
    fn encoding_3_of_every_event_type_is_frozen_byte_for_byte() {
        let records: Vec<RecordedEvent> = EVERY_TYPE_EXPORT
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let encoded: Vec<String> = records.iter().map(|r| to_hex(&encode_record(r))).collect();
        if std::env::var_os("DETENTE_BLESS_FIXTURES").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/record-encoding-3.hex"
            );
            std::fs::write(path, encoded.join("\n") + "\n").unwrap();
        }
        let frozen: Vec<&str> = ENCODING_3_HEX.lines().collect();
        assert_eq!(
            frozen.len(),
            records.len(),
            "one frozen record per exported line"
        );
        for ((record, now), frozen) in records.iter().zip(&encoded).zip(&frozen) {
            assert_eq!(now, frozen, "encoding of position {}", record.position);
            let bytes = from_hex(frozen);
            assert_eq!(bytes[0], ENCODING_3);
            assert_eq!(
                &decode_record(&bytes).unwrap(),
                record,
                "position {}",
                record.position
            );
            assert_eq!(
                stored_place(&bytes),
                Some(&record_key(record.dyad, TimeKey::of(record))[1..])
            );
        }
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

    /// A record's bytes in encoding 1, as the builds before encoding 2 wrote them.
    fn encode_record_1(record: &RecordedEvent) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_1_LEN + 256);
        out.push(ENCODING_1);
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
        serde_json::to_writer(&mut out, &body).unwrap();
        out
    }

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
        for bytes in [encode_record(&sample()), encode_record_1(&sample())] {
            assert!(decode_record(&bytes[..10]).is_err());
            assert!(decode_record(&bytes[..bytes.len() - 1]).is_err());
            for cut in 0..bytes.len() {
                assert!(decode_record(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut other = bytes.clone();
            other[0] = 9;
            assert!(decode_record(&other).unwrap_err().contains("encoding 9"));
            assert!(peek_version(&other).unwrap_err().contains("encoding 9"));
        }
        assert!(decode_record(&[]).is_err());
        assert!(peek_version(&[]).is_err());
    }

    #[test]
    fn encodings_1_2_and_3_decode_to_the_same_record() {
        let record = sample();
        let (one, two, three) = (
            encode_record_1(&record),
            encode_record_2(&record).unwrap(),
            encode_record(&record),
        );
        assert_eq!((one[0], two[0], three[0]), (1, 2, RECORD_ENCODING));
        for bytes in [&one, &two, &three] {
            assert_eq!(decode_record(bytes).unwrap(), record);
            for expected in [Some(record.dyad), Some("GBR-RUS".parse().unwrap()), None] {
                assert_eq!(decode_record_of(bytes, expected).unwrap(), record);
            }
            assert_eq!(peek_version(bytes).unwrap(), 3);
        }
        // Encoding 3 carries the record's place, the bytes of its key after the prefix.
        let at = TimeKey::of(&record);
        assert_eq!(
            stored_place(&three),
            Some(&record_key(record.dyad, at)[1..])
        );
        assert_eq!(stored_place(&two), None);
        assert_eq!(stored_place(&one), None);
        // A dyad of an organization: encoding 3 holds it, encoding 2 does not.
        let mut organization = record.clone();
        organization.dyad = "EU-GBR".parse().unwrap();
        assert_eq!(encode_record_2(&organization), None);
        assert_eq!(
            decode_record(&encode_record(&organization)).unwrap(),
            organization
        );
        // A record with every kind of source field, and none.
        let mut bare = record.clone();
        bare.sources.clear();
        let mut full = record;
        full.sources.push(Source {
            name: "Ministry \"quoted\" \u{1F30D}".into(),
            kind: None,
            url: Some("https://example.org/x".into()),
            quote: Some(String::new()),
        });
        for record in [bare, full] {
            assert_eq!(decode_record(&encode_record_1(&record)).unwrap(), record);
            assert_eq!(
                decode_record(&encode_record_2(&record).unwrap()).unwrap(),
                record
            );
            assert_eq!(decode_record(&encode_record(&record)).unwrap(), record);
        }
    }

    #[test]
    fn malformed_encoding_3_parts_are_errors() {
        let bytes = encode_record(&sample());
        let mut bad_type = bytes.clone();
        // The first code past the table of types.
        let unknown = u8::try_from(Event::TYPE_NAMES.len()).unwrap();
        bad_type[HEADER_3_LEN - 1] = unknown;
        assert!(
            decode_record(&bad_type)
                .unwrap_err()
                .contains(&format!("event type {unknown}"))
        );
        let mut bad_day = bytes.clone();
        bad_day[11..15].copy_from_slice(&[0xff; 4]);
        assert!(
            decode_record(&bad_day)
                .unwrap_err()
                .contains("out of range")
        );
        let mut bad_dyad = bytes.clone();
        bad_dyad[1] = 0xff;
        assert!(decode_record(&bad_dyad).is_err());
        // The first source's kind and flags.
        let source_at = HEADER_3_LEN + 1 + 2 + 4;
        let mut bad_kind = bytes.clone();
        bad_kind[source_at] = 6;
        assert!(
            decode_record(&bad_kind)
                .unwrap_err()
                .contains("source kind 6")
        );
        let mut bad_flags = bytes.clone();
        bad_flags[source_at + 1] = 4;
        assert!(decode_record(&bad_flags).unwrap_err().contains("flags 4"));
        let mut many_sources = bytes;
        many_sources[source_at - 4..source_at].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_record(&many_sources).is_err());
    }

    #[test]
    fn keys_sort_by_number_and_places_by_date_then_position() {
        assert!(run_key(255) < run_key(256));
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
                let value = run_entry(dyad, at.on);
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

    /// Dyads of codes of 2 to 8 letters: their bytes decode to them and sort as their text.
    #[test]
    fn dyads_of_any_registered_codes_sort_as_their_text() {
        let texts = [
            "EU-GBR",
            "SRB-XKX",
            "SUN-USA",
            "AU-ETH",
            "ASEAN-CHN",
            "EU-MERCOSUR",
            "NATO-RUS",
            "RUS-USA",
            "GBR-UN",
            "CAN-USA",
            "ANDEAN-CAN",
            "UN-USA",
            "EST-EU",
            "AFG-PAK",
            "ZAF-ZWE",
            "AU-UN",
            "ABW-AFG",
        ];
        let mut dyads: Vec<Dyad> = Vec::new();
        for text in texts {
            let Ok(dyad) = text.parse::<Dyad>() else {
                continue; // a code this registry does not hold
            };
            assert_eq!(dyad.to_string(), text, "the examples are canonical");
            assert_eq!(decode_dyad(&dyad_bytes(dyad)).unwrap(), dyad);
            dyads.push(dyad);
        }
        assert!(dyads.len() >= 15, "{dyads:?}");
        let mut by_bytes = dyads.clone();
        by_bytes.sort_by_key(|dyad| dyad_bytes(*dyad));
        let mut by_text = dyads.clone();
        by_text.sort_by_key(|dyad| dyad.to_string());
        let mut by_order = dyads;
        by_order.sort();
        assert_eq!(by_bytes, by_text);
        assert_eq!(by_bytes, by_order);
        // Every registered party, with a neighbour, in both orders.
        let all: Vec<Party> = Party::all().collect();
        for pair in all.windows(2) {
            let dyad = Dyad::new(pair[0], pair[1]).unwrap();
            assert_eq!(decode_dyad(&dyad_bytes(dyad)).unwrap(), dyad);
            assert!(code_bytes(pair[0]) < code_bytes(pair[1]), "{dyad}");
        }
        // Bytes that are not a dyad are errors, not panics.
        assert!(decode_dyad(&[0xff; DYAD_LEN]).is_err());
        assert!(decode_dyad(&[0; DYAD_LEN]).is_err());
        assert!(decode_dyad(&[1; 3]).is_err());
        let (first, second) = "RUS-USA".parse::<Dyad>().unwrap().parties();
        let mut reversed = [0u8; DYAD_LEN];
        reversed[..5].copy_from_slice(&code_bytes(second));
        reversed[5..].copy_from_slice(&code_bytes(first));
        assert!(
            decode_dyad(&reversed)
                .unwrap_err()
                .contains("canonical order")
        );
    }

    #[test]
    fn a_run_of_the_position_index_gives_each_of_its_positions() {
        let dyad: Dyad = "EU-GBR".parse().unwrap();
        let on: NaiveDate = "2020-01-31".parse().unwrap();
        let run: Vec<u8> = (0..3)
            .flat_map(|day| run_entry(dyad, on + chrono::Days::new(day)))
            .collect();
        assert_eq!(last_of_run(10, &run).unwrap(), 12);
        assert_eq!(entry_in_run(10, &run, 9).unwrap(), None);
        assert_eq!(
            entry_in_run(10, &run, 12).unwrap(),
            Some(run_entry(dyad, on + chrono::Days::new(2)))
        );
        assert_eq!(entry_in_run(10, &run, 13).unwrap(), None);
        assert!(entry_in_run(10, &run[1..], 10).is_err());
        assert!(last_of_run(10, &[]).is_err());
        assert!(last_of_run(u64::MAX, &run).is_err());
    }

    #[cfg(feature = "testing")]
    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        /// Any record of any event type decodes to itself from every encoding.
        #[test]
        fn any_record_round_trips_in_both_encodings(
            input in crate::testing::strategies::new_event(
                crate::testing::strategies::dyad(), 4),
            position in 1u64..u64::MAX,
            version in 1u64..u64::MAX,
            today in crate::testing::strategies::date(400),
            seconds in 0i64..8_000_000_000,
            nanos in 0u32..1_000_000_000,
            hash in proptest::prelude::any::<[u8; 32]>(),
        ) {
            let recorded_at = DateTime::from_timestamp(seconds, nanos).unwrap();
            let mut record = input.into_recorded(position, version, today, recorded_at);
            record.hash = ChainHash(hash);
            proptest::prop_assert_eq!(&decode_record(&encode_record(&record)).unwrap(), &record);
            proptest::prop_assert_eq!(&decode_record(&encode_record_1(&record)).unwrap(), &record);
            if let Some(two) = encode_record_2(&record) {
                proptest::prop_assert_eq!(&decode_record(&two).unwrap(), &record);
                proptest::prop_assert_eq!(peek_version(&two).unwrap(), version);
            }
            proptest::prop_assert_eq!(peek_version(&encode_record(&record)).unwrap(), version);
        }

        /// Any bytes after either tag decode to a record or an error, never a panic.
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(
            tag in 0u8..4,
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let mut bytes = vec![tag];
            bytes.extend_from_slice(&rest);
            let _ = decode_record(&bytes);
            let _ = peek_version(&bytes);
            let _ = stored_place(&bytes);
            // And a valid record with one byte changed.
            let mut changed = encode_record(&sample());
            let at = usize::from(tag) * 50 + rest.len() % 50;
            let at = at % changed.len();
            changed[at] = rest.first().copied().unwrap_or(0xff);
            let _ = decode_record(&changed);
            let _ = peek_version(&changed);
        }
    }

    #[test]
    fn the_version_is_read_from_the_header() {
        assert_eq!(peek_version(&encode_record(&sample())).unwrap(), 3);
        assert!(peek_version(b"short").is_err());
    }
}
