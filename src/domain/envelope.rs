//! The envelopes: an event as input ([`NewEvent`]) and as stored ([`RecordedEvent`]), their
//! sources, and the canonical bytes that ids and the hash chain are computed over.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Dyad, Event, EventId};

/// The wire format version this build writes. Version 1 files stay readable forever.
pub const SCHEMA_VERSION: u32 = 1;

/// What kind of source reported a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A government's official statement.
    OfficialStatement,
    /// A news agency (Xinhua, TASS, Reuters…).
    NewsAgency,
    /// A newspaper.
    Newspaper,
    /// A spokesperson's words.
    Spokesperson,
    /// Anything else.
    Other,
}

/// Who reported a fact. A framing ("illegally seized") is a `quote` of a source, never the
/// store's own voice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Its name.
    pub name: String,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SourceKind>,
    /// Where it can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

/// An event as input: to `Engine::record`, `detente record` and `detente import`.
///
/// # Example
///
/// ```
/// use detente::domain::NewEvent;
///
/// let input: NewEvent = serde_json::from_str(r#"{
///     "dyad": "USA-RUS",
///     "occurred_on": "2016-12-29",
///     "sources": [{"name": "US State Department", "kind": "official_statement"}],
///     "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 35}
/// }"#)?;
/// assert_eq!(input.dyad.to_string(), "RUS-USA");
/// // Without an id, one is derived from the content.
/// assert!(input.effective_id().as_str().starts_with("ev-"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// The idempotency key; derived from the content when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<EventId>,
    /// The stream it belongs to.
    pub dyad: Dyad,
    /// Valid time: when it happened.
    #[serde(with = "iso_date")]
    pub occurred_on: NaiveDate,
    /// Knowledge time: when the world learned it; the UTC date of recording when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "iso_date::option"
    )]
    pub reported_on: Option<NaiveDate>,
    /// Who reported it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// The fact.
    pub event: Event,
}

impl NewEvent {
    /// An input with no id, no `reported_on` and no sources.
    ///
    /// ```
    /// # use detente::domain::{NewEvent, Event, DiplomatsExpelled};
    /// let input = NewEvent::new(
    ///     "RUS-USA".parse().unwrap(),
    ///     "2018-03-26".parse().unwrap(),
    ///     Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by: "USA".parse().unwrap(), count: 60 }),
    /// );
    /// assert!(input.id.is_none());
    /// ```
    pub fn new(dyad: Dyad, occurred_on: NaiveDate, event: Event) -> Self {
        NewEvent {
            id: None,
            dyad,
            occurred_on,
            reported_on: None,
            sources: Vec::new(),
            event,
        }
    }

    /// The id derived from the content (everything but `id`): `ev-` and 32 hex digits of the
    /// SHA-256 of the content's canonical JSON. The same content always gets the same id.
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// let a: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2017-09-02",
    ///     "event":{"type":"MissionClosed","closed_by":"USA","facility":"consulate general in San Francisco"}}"#).unwrap();
    /// let b: NewEvent = serde_json::from_str(r#"{"occurred_on":"2017-09-02","dyad":"USA-RUS",
    ///     "event":{"facility":"consulate general in San Francisco","closed_by":"USA","type":"MissionClosed"}}"#).unwrap();
    /// assert_eq!(a.derived_id(), b.derived_id());
    /// ```
    pub fn derived_id(&self) -> EventId {
        // The content is the input without its `id`: the canonical JSON of the input with
        // that member left out (an absent `id` is not serialized at all).
        let digest = Sha256::digest(canonical_json(self, Some("id")));
        let mut text = String::with_capacity(35);
        text.push_str("ev-");
        for byte in &digest[..16] {
            text.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(HEX_DIGITS[usize::from(byte & 0xF)]));
        }
        // 35 characters of `[a-z0-9-]`: always a valid id.
        EventId::from_str(&text).unwrap_or_else(|_| unreachable!("derived ids are valid"))
    }

    /// The id given, or else the derived one.
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// let input: NewEvent = serde_json::from_str(r#"{"id":"x1","dyad":"RUS-USA","occurred_on":"2017-09-02",
    ///     "event":{"type":"MissionClosed","closed_by":"USA","facility":"trade mission"}}"#).unwrap();
    /// assert_eq!(input.effective_id().as_str(), "x1");
    /// ```
    pub fn effective_id(&self) -> EventId {
        self.id.clone().unwrap_or_else(|| self.derived_id())
    }

    /// Whether a stored record holds this same content, so that recording it again is a no-op.
    /// An input without `reported_on` matches whatever date the record was given.
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # let input: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2017-09-02",
    /// #     "event":{"type":"MissionClosed","closed_by":"USA","facility":"trade mission"}}"#).unwrap();
    /// let record = input.clone().into_recorded(1, 1, "2025-03-01".parse().unwrap(), Default::default());
    /// assert!(input.matches(&record));
    /// ```
    pub fn matches(&self, record: &RecordedEvent) -> bool {
        self.effective_id() == record.id
            && self.dyad == record.dyad
            && self.occurred_on == record.occurred_on
            && self
                .reported_on
                .is_none_or(|date| date == record.reported_on)
            && self.sources == record.sources
            && self.event == record.event
    }

    /// The record this input becomes at `position` and dyad `version`, with `reported_on`
    /// defaulted to `today` and a zero hash (the store computes the chain).
    ///
    /// ```
    /// # use detente::domain::NewEvent;
    /// # let input: NewEvent = serde_json::from_str(r#"{"dyad":"RUS-USA","occurred_on":"2017-09-02",
    /// #     "event":{"type":"MissionClosed","closed_by":"USA","facility":"trade mission"}}"#).unwrap();
    /// let record = input.into_recorded(7, 3, "2025-03-01".parse().unwrap(), Default::default());
    /// assert_eq!((record.position, record.version), (7, 3));
    /// assert_eq!(record.reported_on.to_string(), "2025-03-01");
    /// ```
    pub fn into_recorded(
        mut self,
        position: u64,
        version: u64,
        today: NaiveDate,
        recorded_at: DateTime<Utc>,
    ) -> RecordedEvent {
        let id = match self.id.take() {
            Some(id) => id,
            None => self.derived_id(),
        };
        RecordedEvent {
            position,
            version,
            id,
            dyad: self.dyad,
            occurred_on: self.occurred_on,
            reported_on: self.reported_on.unwrap_or(today),
            recorded_at,
            schema: SCHEMA_VERSION,
            sources: self.sources,
            event: self.event,
            hash: ChainHash::ZERO,
        }
    }
}

/// An event as stored: the input with its id, global `position`, per-dyad `version`,
/// `recorded_at`, `schema` and chain `hash`. This is one line of `detente export`.
///
/// # Example
///
/// ```
/// use detente::domain::RecordedEvent;
///
/// let line = r#"{"position":1,"version":1,"id":"e1","dyad":"RUS-USA","occurred_on":"2016-12-29",
///   "reported_on":"2016-12-29","recorded_at":"2025-03-01T10:00:00Z","schema":1,
///   "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35},
///   "hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
/// let record: RecordedEvent = serde_json::from_str(line)?;
/// assert_eq!(record.position, 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RecordWire")]
pub struct RecordedEvent {
    /// Global position: gap-free from 1 in append order.
    pub position: u64,
    /// Per-dyad version: gap-free from 1.
    pub version: u64,
    /// The event id.
    pub id: EventId,
    /// The stream.
    pub dyad: Dyad,
    /// Valid time.
    #[serde(with = "iso_date")]
    pub occurred_on: NaiveDate,
    /// Knowledge time.
    #[serde(with = "iso_date")]
    pub reported_on: NaiveDate,
    /// System time: when this store learned it (UTC, never going backwards). Read only as
    /// detente writes it (`docs/integrity.md`), since the hash covers that text.
    #[serde(with = "recorded_at")]
    pub recorded_at: DateTime<Utc>,
    /// The wire format version of this record.
    pub schema: u32,
    /// Who reported it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// The fact.
    pub event: Event,
    /// SHA-256 over the previous record's hash and this record's canonical bytes.
    pub hash: ChainHash,
}

/// A recorded event as read, before the upcaster ([`super::upcast::upcast`]) brings it up to
/// today's types: the members of [`RecordedEvent`], the same way.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "RecordedEvent")]
struct RecordWire {
    position: u64,
    version: u64,
    id: EventId,
    dyad: Dyad,
    #[serde(with = "iso_date")]
    occurred_on: NaiveDate,
    #[serde(with = "iso_date")]
    reported_on: NaiveDate,
    #[serde(with = "recorded_at")]
    recorded_at: DateTime<Utc>,
    schema: u32,
    #[serde(default)]
    sources: Vec<Source>,
    event: Event,
    hash: ChainHash,
}

impl TryFrom<RecordWire> for RecordedEvent {
    type Error = super::upcast::UpcastError;

    fn try_from(wire: RecordWire) -> Result<Self, Self::Error> {
        super::upcast::upcast(RecordedEvent {
            position: wire.position,
            version: wire.version,
            id: wire.id,
            dyad: wire.dyad,
            occurred_on: wire.occurred_on,
            reported_on: wire.reported_on,
            recorded_at: wire.recorded_at,
            schema: wire.schema,
            sources: wire.sources,
            event: wire.event,
            hash: wire.hash,
        })
    }
}

impl RecordedEvent {
    /// The input this record holds, normalized: its `id` and `reported_on` given. It becomes
    /// this same record again at the same position and version (with the chain computed anew).
    pub(crate) fn into_input(self) -> NewEvent {
        NewEvent {
            id: Some(self.id),
            dyad: self.dyad,
            occurred_on: self.occurred_on,
            reported_on: Some(self.reported_on),
            sources: self.sources,
            event: self.event,
        }
    }

    /// This record as read in the timeline of `dyad`, a dyad that continues its own
    /// (`docs/contract.md`, successions): its dyad is `dyad` and each former party it names as
    /// an actor is read as its successor ([`Party::read_in`](super::Party::read_in)). Its id,
    /// dates, position, sources and hash are the stored record's, so the copy is for folding
    /// and checking, not for the chain. A record of `dyad` itself comes back unchanged.
    ///
    /// ```
    /// # use detente::domain::*;
    /// let expelled = NewEvent::new("SUN-USA".parse().unwrap(), "1986-10-21".parse().unwrap(),
    ///     Event::DiplomatsExpelled(DiplomatsExpelled { expelled_by: "SUN".parse().unwrap(), count: 5 }))
    ///     .into_recorded(1, 1, "1986-10-21".parse().unwrap(), Default::default());
    /// let read = expelled.read_in("RUS-USA".parse().unwrap());
    /// assert_eq!(read.dyad.to_string(), "RUS-USA");
    /// assert_eq!(read.event.parties(), vec!["RUS".parse().unwrap()]);
    /// assert_eq!((read.id, read.position), (expelled.id, 1));
    /// ```
    pub fn read_in(&self, dyad: super::Dyad) -> RecordedEvent {
        let mut record = self.clone();
        if record.dyad != dyad {
            record.dyad = dyad;
            for party in record.event.parties_mut() {
                *party = party.read_in(dyad);
            }
        }
        record
    }

    /// The canonical bytes the hash chain covers: the record as JSON without its `hash` field,
    /// canonicalized per RFC 8785 (keys sorted, no white space). `docs/integrity.md` has the
    /// whole definition.
    ///
    /// ```
    /// # use detente::domain::RecordedEvent;
    /// # let line = r#"{"position":1,"version":1,"id":"e1","dyad":"RUS-USA","occurred_on":"2016-12-29",
    /// #   "reported_on":"2016-12-29","recorded_at":"2025-03-01T10:00:00Z","schema":1,
    /// #   "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35},
    /// #   "hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
    /// let record: RecordedEvent = serde_json::from_str(line).unwrap();
    /// let bytes = record.canonical_bytes();
    /// assert!(bytes.starts_with(br#"{"dyad":"RUS-USA","event":{"count":35,"#));
    /// ```
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical_json(self, Some("hash"))
    }

    /// The chain hash of this record after `previous` (the previous record's hash, or
    /// [`ChainHash::ZERO`] for position 1): `SHA-256(previous || canonical_bytes)`.
    ///
    /// ```
    /// # use detente::domain::{RecordedEvent, ChainHash};
    /// # let line = r#"{"position":1,"version":1,"id":"e1","dyad":"RUS-USA","occurred_on":"2016-12-29",
    /// #   "reported_on":"2016-12-29","recorded_at":"2025-03-01T10:00:00Z","schema":1,
    /// #   "event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35},
    /// #   "hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
    /// let record: RecordedEvent = serde_json::from_str(line).unwrap();
    /// assert_ne!(record.chain_hash(&ChainHash::ZERO), ChainHash::ZERO);
    /// ```
    pub fn chain_hash(&self, previous: &ChainHash) -> ChainHash {
        let mut hasher = Sha256::new();
        hasher.update(previous.0);
        hasher.update(self.canonical_bytes());
        ChainHash(hasher.finalize().into())
    }
}

/// A SHA-256 digest in the hash chain, written as 64 lower-case hex digits.
///
/// ```
/// use detente::domain::ChainHash;
///
/// let zero: ChainHash = "0".repeat(64).parse()?;
/// assert_eq!(zero, ChainHash::ZERO);
/// assert!("xyz".parse::<ChainHash>().is_err());
/// # Ok::<(), detente::domain::HashError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChainHash(pub [u8; 32]);

/// Why a text is not a [`ChainHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hash `{0}` is not 64 lower-case hex digits")]
pub struct HashError(pub String);

impl ChainHash {
    /// The hash before the first record.
    pub const ZERO: ChainHash = ChainHash([0; 32]);
}

impl FromStr for ChainHash {
    type Err = HashError;
    fn from_str(text: &str) -> Result<Self, HashError> {
        let bytes = text.as_bytes();
        let valid = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if bytes.len() != 64 || !bytes.iter().all(valid) {
            return Err(HashError(text.chars().take(80).collect()));
        }
        let nibble = |b: u8| {
            if b.is_ascii_digit() {
                b - b'0'
            } else {
                b - b'a' + 10
            }
        };
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = nibble(pair[0]) << 4 | nibble(pair[1]);
        }
        Ok(ChainHash(out))
    }
}

impl TryFrom<String> for ChainHash {
    type Error = HashError;
    fn try_from(text: String) -> Result<Self, HashError> {
        text.parse()
    }
}

impl From<ChainHash> for String {
    fn from(hash: ChainHash) -> String {
        hash.to_string()
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

/// Dates on the wire: exactly `YYYY-MM-DD` (ISO 8601 calendar dates, four-digit years).
///
/// chrono's own parser is lenient: it takes `2025-2-7`, `+2025-02-07`, ` 2025-02-07` and
/// negative years. The wire format promises ISO dates, so only the one spelling is read.
/// `recorded_at` as detente writes it, and only so: RFC 3339 in UTC with `Z`, the fraction
/// of a second left out when it is zero, else written with the fewest of 3, 6 or 9 digits that
/// hold it (chrono's `SecondsFormat::AutoSi`; detente keeps microseconds, so it writes no more
/// than 6). The chain hash covers that text, so another spelling of the same instant
/// (`.596000Z`, `+00:00`) could never verify once read: it is refused by name instead.
mod recorded_at {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    /// The one spelling of `at`.
    pub(crate) fn written(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    pub(crate) fn serialize<S: Serializer>(
        at: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        written(at).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        let excerpt = crate::domain::limits::excerpt(&text);
        let at = DateTime::parse_from_rfc3339(&text)
            .map_err(|err| {
                D::Error::custom(format!(
                    "recorded_at `{excerpt}` is not an RFC 3339 time: {err}"
                ))
            })?
            .with_timezone(&Utc);
        let expected = written(&at);
        if expected != text {
            return Err(D::Error::custom(format!(
                "recorded_at `{excerpt}` is not written as detente writes it, `{expected}`: the hash covers that text (in UTC with `Z`, no fraction when it is zero, else 3, 6 or 9 digits, the fewest that hold it)"
            )));
        }
        Ok(at)
    }
}

pub(super) mod iso_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Reads `YYYY-MM-DD`, and only that.
    pub(crate) fn parse(text: &str) -> Result<NaiveDate, String> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            return Err(format!(
                "date `{}` is not an ISO date: expected `YYYY-MM-DD`, like `2025-02-27`",
                crate::domain::limits::excerpt(text)
            ));
        }
        let number = |range: std::ops::Range<usize>| {
            text[range]
                .parse::<u32>()
                .unwrap_or_else(|_| unreachable!("checked digits"))
        };
        let year = i32::try_from(number(0..4)).unwrap_or_else(|_| unreachable!("four digits"));
        NaiveDate::from_ymd_opt(year, number(5..7), number(8..10))
            .ok_or_else(|| format!("date `{text}` does not exist"))
    }

    /// Writes chrono's `YYYY-MM-DD`. Never fails, so ids and hashes never panic; a date outside
    /// years 0000-9999 (which only Rust code can build) comes out in chrono's signed form and
    /// would not read back.
    pub(crate) fn serialize<S: Serializer>(
        date: &NaiveDate,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveDate, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(D::Error::custom)
    }

    /// The same, for an optional date.
    pub(crate) mod option {
        use chrono::NaiveDate;
        use serde::{Deserialize, Deserializer, Serializer, de::Error};

        pub(crate) fn serialize<S: Serializer>(
            date: &Option<NaiveDate>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match date {
                Some(date) => super::serialize(date, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<NaiveDate>, D::Error> {
            match Option::<String>::deserialize(deserializer)? {
                Some(text) => super::parse(&text).map(Some).map_err(D::Error::custom),
                None => Ok(None),
            }
        }
    }
}

/// Reads a date the way the wire format does: `YYYY-MM-DD`, and only that (chrono's own parser
/// also takes `2025-2-7`, `+2025-02-07` and negative years).
///
/// # Example
///
/// ```
/// use detente::domain::parse_date;
///
/// assert_eq!(parse_date("2025-02-27")?.to_string(), "2025-02-27");
/// assert!(parse_date("2025-2-27").is_err());
/// assert_eq!(parse_date("2025-02-30").unwrap_err().to_string(), "date `2025-02-30` does not exist");
/// # Ok::<(), detente::domain::DateError>(())
/// ```
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    iso_date::parse(text).map_err(DateError)
}

/// Why a text is not a wire-format date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DateError(String);

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The canonical JSON (RFC 8785) of a serializable value, without the member `skip` of its
/// outermost object: keys sorted, no white space. Written directly (`canonical.rs`); a value
/// that writer does not take (none of the domain's types) goes through `serde_json::Value`,
/// which gives the same bytes, only slower.
fn canonical_json<T: Serialize>(value: &T, skip: Option<&'static str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    if super::canonical::write(value, skip, &mut out).is_ok() {
        return out;
    }
    out.clear();
    canonical_json_via_value(value, skip, &mut out);
    out
}

/// The reference: the canonical JSON of `value` built through a `serde_json::Value`.
fn canonical_json_via_value<T: Serialize>(value: &T, skip: Option<&str>, out: &mut Vec<u8>) {
    let mut value = match serde_json::to_value(value) {
        Ok(value) => value,
        Err(_) => unreachable!("domain types always serialize"),
    };
    if let (Some(skip), serde_json::Value::Object(map)) = (skip, &mut value) {
        map.remove(skip);
    }
    write_canonical(&value, out);
}

/// Writes `value` as RFC 8785 canonical JSON. Our values hold no floats, so numbers are written
/// as serde_json writes integers; strings use serde_json's escaping, which is RFC 8785's for
/// valid UTF-8; object keys are sorted by their UTF-16 code units (for our ASCII keys, bytes).
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::String(text) => write_string(text, out),
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    // serde_json escapes `"`, `\` and control characters only, with \b \f \n \r \t short forms
    // and lower-case \u00xx otherwise: exactly RFC 8785's rule.
    match serde_json::to_writer(&mut *out, text) {
        Ok(()) => {}
        Err(_) => unreachable!("writing to a Vec cannot fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads an export line whose `recorded_at` is `text`: the instant read back as written,
    /// or the error's message.
    #[track_caller]
    fn check_recorded_at(text: &str, expected: Result<&str, &str>) {
        let line = format!(
            r#"{{"position":1,"version":1,"id":"e1","dyad":"RUS-USA","occurred_on":"2016-12-29","reported_on":"2016-12-29","recorded_at":"{text}","schema":1,"event":{{"type":"DiplomatsExpelled","expelled_by":"USA","count":35}},"hash":"0000000000000000000000000000000000000000000000000000000000000000"}}"#
        );
        let read = serde_json::from_str::<RecordedEvent>(&line)
            .map(|record| {
                serde_json::to_value(record.recorded_at)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .map_err(|err| err.to_string());
        match (read, expected) {
            (Ok(found), Ok(expected)) => assert_eq!(found, expected),
            (Err(found), Err(expected)) => assert!(found.contains(expected), "{found}"),
            (found, expected) => panic!("{text}: expected {expected:?}, got {found:?}"),
        }
    }

    #[test]
    fn recorded_at_is_read_only_as_detente_writes_it() {
        // An outside verifier read `docs/integrity.md` as allowing
        // `.596000Z`; import refused it as an edited export. Now the page and the reader agree.
        check_recorded_at("2025-03-01T10:00:00Z", Ok("2025-03-01T10:00:00Z"));
        check_recorded_at("2025-03-01T10:00:00.596Z", Ok("2025-03-01T10:00:00.596Z"));
        check_recorded_at(
            "2025-03-01T10:00:00.596001Z",
            Ok("2025-03-01T10:00:00.596001Z"),
        );
        check_recorded_at(
            "2025-03-01T10:00:00.596000001Z",
            Ok("2025-03-01T10:00:00.596000001Z"),
        );
        let not_as_written = "is not written as detente writes it";
        check_recorded_at("2025-03-01T10:00:00.596000Z", Err(not_as_written));
        check_recorded_at("2025-03-01T10:00:00.000Z", Err(not_as_written));
        check_recorded_at("2025-03-01T10:00:00.5Z", Err(not_as_written));
        check_recorded_at("2025-03-01T10:00:00+00:00", Err(not_as_written));
        check_recorded_at("2025-03-01T13:00:00+03:00", Err("`2025-03-01T10:00:00Z`"));
        check_recorded_at("2025-03-01t10:00:00z", Err(not_as_written));
        check_recorded_at("2025-03-01", Err("is not an RFC 3339 time"));
    }

    #[test]
    fn recorded_at_is_written_as_chrono_writes_it() {
        // The hashes of every stored record cover this text: it must not change.
        for nanos in [0, 596_000_000, 596_001_000, 596_000_001] {
            let at = DateTime::from_timestamp(1_740_823_200, nanos).unwrap();
            assert_eq!(
                serde_json::to_value(at).unwrap().as_str().unwrap(),
                recorded_at::written(&at)
            );
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_escapes_like_rfc_8785() {
        let value = serde_json::json!({"b": [1, "x\u{1}\n\"é"], "a": {"d": true, "c": null}});
        let mut out = Vec::new();
        write_canonical(&value, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":{"c":null,"d":true},"b":[1,"x\u0001\n\"é"]}"#
        );
    }

    /// The direct writer against the reference (through `serde_json::Value`).
    fn both_ways<T: Serialize>(value: &T, skip: Option<&'static str>) -> (Vec<u8>, Vec<u8>) {
        let mut direct = Vec::new();
        crate::domain::canonical::write(value, skip, &mut direct).unwrap();
        let mut reference = Vec::new();
        canonical_json_via_value(value, skip, &mut reference);
        (direct, reference)
    }

    #[test]
    fn the_direct_writer_matches_the_reference_on_the_integrity_example() {
        let line = r#"{"position":2,"version":2,"id":"ev-38e6388e8af11999ee0f4442ffde13b7","dyad":"RUS-USA","occurred_on":"2016-12-29","reported_on":"2026-11-28","recorded_at":"2026-11-28T18:38:09.345863Z","schema":1,"event":{"type":"DiplomatsExpelled","expelled_by":"USA","count":35},"hash":"669684c5ba7d1e8ca393f60713e7070abb4d1a18f2afd9ba91fdbacce6e4cea3"}"#;
        let record: RecordedEvent = serde_json::from_str(line).unwrap();
        let (direct, reference) = both_ways(&record, Some("hash"));
        assert_eq!(direct, reference);
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            r#"{"dyad":"RUS-USA","event":{"count":35,"expelled_by":"USA","type":"DiplomatsExpelled"},"id":"ev-38e6388e8af11999ee0f4442ffde13b7","occurred_on":"2016-12-29","position":2,"recorded_at":"2026-11-28T18:38:09.345863Z","reported_on":"2026-11-28","schema":1,"version":2}"#
        );
    }

    #[test]
    fn the_direct_writer_leaves_floats_and_repeated_keys_to_the_reference() {
        let mut out = Vec::new();
        assert!(crate::domain::canonical::write(&1.5f64, None, &mut out).is_err());
        // Two members with one key: `serde_json::Value` keeps the last, the direct writer
        // gives up, and `canonical_json` then takes the reference path.
        struct Twice;
        impl Serialize for Twice {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("b", &1)?;
                map.serialize_entry("a", &2)?;
                map.serialize_entry("b", &3)?;
                map.end()
            }
        }
        assert!(crate::domain::canonical::write(&Twice, None, &mut Vec::new()).is_err());
        assert_eq!(canonical_json(&Twice, None), br#"{"a":2,"b":3}"#);
        assert_eq!(canonical_json(&1.5f64, None), b"1.5");
    }

    #[cfg(feature = "testing")]
    mod props {
        use super::*;
        use crate::testing::strategies;
        use proptest::prelude::*;

        /// Any text, control characters, astral characters and U+007F included.
        fn any_text() -> impl Strategy<Value = String> {
            prop_oneof![
                "\\PC{0,12}".boxed(),
                prop::collection::vec(any::<char>(), 0..12)
                    .prop_map(|chars| chars.into_iter().collect::<String>())
                    .boxed(),
                prop::collection::vec(0u32..0x80, 0..12)
                    .prop_map(|codes| codes.into_iter().filter_map(char::from_u32).collect())
                    .boxed(),
            ]
        }

        fn any_source() -> impl Strategy<Value = Source> {
            (
                strategies::source(),
                any_text(),
                prop::option::of(any_text()),
                prop::option::of(any_text()),
            )
                .prop_map(|(mut source, name, url, quote)| {
                    source.name = name;
                    source.url = url.or(source.url);
                    source.quote = quote;
                    source
                })
        }

        fn any_input() -> impl Strategy<Value = NewEvent> {
            (
                strategies::new_event(strategies::dyad(), 6),
                prop::option::of(strategies::event_id(50)),
                prop::collection::vec(any_source(), 0..3),
            )
                .prop_map(|(mut input, id, sources)| {
                    input.id = id;
                    if !sources.is_empty() {
                        input.sources = sources;
                    }
                    input
                })
        }

        fn any_value() -> impl Strategy<Value = serde_json::Value> {
            use serde_json::Value;
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any_text().prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((any_text(), inner), 0..6)
                        .prop_map(|members| Value::Object(members.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Every event type, with any text: the derived id's bytes and the chain's bytes
            /// are the reference's, byte for byte.
            #[test]
            fn the_direct_writer_is_byte_identical_to_the_reference(
                input in any_input(),
                position in 1u64..u64::MAX,
                version in 1u64..1_000_000,
                seconds in 0i64..4_000_000_000,
                nanos in 0u32..1_000_000_000,
                hash in any::<[u8; 32]>(),
            ) {
                let (direct, reference) = both_ways(&input, Some("id"));
                prop_assert_eq!(direct, reference);
                let (direct, reference) = both_ways(&input, None);
                prop_assert_eq!(direct, reference);

                let recorded_at = DateTime::from_timestamp(seconds, nanos).unwrap();
                let today = input.occurred_on;
                let mut record = input.clone().into_recorded(position, version, today, recorded_at);
                record.hash = ChainHash(hash);
                let (direct, reference) = both_ways(&record, Some("hash"));
                prop_assert_eq!(&direct, &reference);
                prop_assert_eq!(record.canonical_bytes(), reference);
                let (direct, reference) = both_ways(&record, None);
                prop_assert_eq!(direct, reference);
            }

            /// Any JSON value (integers, strings with any character, keys of any text, nested
            /// objects and arrays): the same bytes as the reference.
            #[test]
            fn the_direct_writer_matches_the_reference_on_any_json(value in any_value()) {
                let (direct, reference) = both_ways(&value, None);
                prop_assert_eq!(direct, reference);
            }
        }
    }

    #[test]
    fn dates_are_read_only_as_yyyy_mm_dd() {
        assert_eq!(
            iso_date::parse("2025-02-27").unwrap().to_string(),
            "2025-02-27"
        );
        assert_eq!(
            iso_date::parse("0000-01-01").unwrap().to_string(),
            "0000-01-01"
        );
        for text in [
            "2025-2-7",
            "+2025-02-27",
            " 2025-02-27",
            "2025-02-27 ",
            "2025 -02-27",
            "-001-01-01",
            "20250227",
            "2025-02-27T00:00:00",
            "2025/02/27",
            "٢٠٢٥-02-27",
        ] {
            let err = iso_date::parse(text).unwrap_err();
            assert!(
                err.ends_with("expected `YYYY-MM-DD`, like `2025-02-27`"),
                "{text:?}: {err}"
            );
        }
        assert_eq!(
            iso_date::parse("2025-02-30").unwrap_err(),
            "date `2025-02-30` does not exist"
        );
        assert!(iso_date::parse("2025-13-01").is_err());
    }

    #[test]
    fn chain_hash_round_trips_as_hex() {
        let hash = ChainHash([0xab; 32]);
        let text = hash.to_string();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(text.parse::<ChainHash>().unwrap(), hash);
        assert!("AB".repeat(32).parse::<ChainHash>().is_err());
    }
}
