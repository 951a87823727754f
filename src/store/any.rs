//! One backend type for whichever home a location names: what the engine holds, so that
//! `Engine` stays one type whatever the backend.
//!
//! [`AnyBackend`] implements [`Backend`] by delegation: one `match` per call, and for a
//! streaming read one boxed iterator per scan, not one dispatch per record beyond the
//! iterator's own. Its batch is neutral (the records, marks and versions), staged into the
//! backend's own batch when it is written.

use std::ops::RangeInclusive;
use std::path::Path;

use super::backend::{Backend, LogEnd, Sealed, StoredMark};
use super::location::Location;
use super::{
    Durability, Head, MemoryBackend, SledBackend, Store, StoreConfig, StoreError, TimeKey,
};
use crate::domain::{Dyad, EventId, RecordedEvent};

#[cfg(feature = "postgres")]
use super::PostgresBackend;

/// The backend of a store opened by location ([`Store::open_location`]): sled for a folder,
/// PostgreSQL for a `postgresql://` URL, or memory.
#[non_exhaustive]
// One per store: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum AnyBackend {
    /// A sled folder.
    Sled(SledBackend),
    /// A log in memory.
    Memory(MemoryBackend),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(PostgresBackend),
}

/// The staged writes of one append or restore, whatever the backend.
#[derive(Debug, Default)]
pub struct AnyBatch {
    records: Vec<RecordedEvent>,
    marks: Vec<(Dyad, TimeKey, u64)>,
    versions: Vec<(Dyad, u64)>,
}

impl AnyBatch {
    fn staged<B: Backend>(self) -> B::Batch {
        let mut batch = B::Batch::default();
        for record in &self.records {
            B::stage_record(&mut batch, record);
        }
        for (dyad, at, by) in self.marks {
            B::stage_mark(&mut batch, dyad, at, by);
        }
        for (dyad, version) in self.versions {
            B::stage_version(&mut batch, dyad, version);
        }
        batch
    }
}

/// A place on a timeline, as the backend that read it keys it.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub enum AnyPlace {
    /// sled's.
    Sled(<SledBackend as Backend>::Place),
    /// memory's.
    Memory(TimeKey),
    /// PostgreSQL's.
    #[cfg(feature = "postgres")]
    Postgres(TimeKey),
}

/// A record as the backend that read it keeps it.
pub enum AnyRaw {
    /// sled's.
    Sled(<SledBackend as Backend>::Raw),
    /// memory's.
    Memory(Box<RecordedEvent>),
    /// PostgreSQL's.
    #[cfg(feature = "postgres")]
    Postgres(Vec<u8>),
}

/// A position index entry, as the backend that read it keeps it.
pub enum AnyEntry {
    /// sled's.
    Sled(<SledBackend as Backend>::IndexEntry),
    /// memory's.
    Memory((Dyad, TimeKey)),
    /// PostgreSQL's.
    #[cfg(feature = "postgres")]
    Postgres(Vec<u8>),
}

type Boxed<T> = Box<dyn Iterator<Item = Result<T, StoreError>>>;

fn boxed<T, I: Iterator<Item = Result<T, StoreError>> + 'static>(iter: I) -> Boxed<T> {
    Box::new(iter)
}

/// Calls `$call` on the backend inside `$self`, whichever it is.
macro_rules! delegate {
    ($self:expr, $backend:ident => $call:expr) => {
        match $self {
            AnyBackend::Sled($backend) => $call,
            AnyBackend::Memory($backend) => $call,
            #[cfg(feature = "postgres")]
            AnyBackend::Postgres($backend) => $call,
        }
    };
}

fn mixed(what: &str) -> StoreError {
    StoreError::Io {
        path: "".into(),
        message: format!("{what} read from one backend was given to another"),
    }
}

impl Sealed for AnyBackend {}

impl std::fmt::Debug for AnyBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AnyBackend").field(&self.location()).finish()
    }
}

impl AnyBackend {
    /// Opens the backend a location names: a folder is sled's ([`SledBackend`]), a
    /// `postgresql://` or `postgres://` URL PostgreSQL's; any other scheme is
    /// [`StoreError::UnknownScheme`].
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::{AnyBackend, StoreConfig};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let backend = AnyBackend::open(&dir.path().join("store"), &StoreConfig::default())?;
    /// assert!(matches!(backend, AnyBackend::Sled(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(location: &Path, config: &StoreConfig) -> Result<AnyBackend, StoreError> {
        match Location::parse(location)? {
            Location::Folder(path) => Ok(AnyBackend::Sled(SledBackend::open(&path, config)?)),
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => {
                Ok(AnyBackend::Postgres(PostgresBackend::open(&url, config)?))
            }
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(url) => Err(StoreError::NoPostgres {
                location: super::redact(&url),
            }),
        }
    }

    /// The sled backend, when it is one.
    pub(crate) fn sled(&self) -> Option<&SledBackend> {
        match self {
            AnyBackend::Sled(backend) => Some(backend),
            _ => None,
        }
    }
}

impl Store<AnyBackend> {
    /// Opens (creating where absent, as `config.open` allows) the store at `location`: a
    /// folder (sled), or a `postgresql://` / `postgres://` URL (PostgreSQL). Any other scheme
    /// is refused ([`StoreError::UnknownScheme`]), never taken as a folder.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::{Store, StoreConfig, StoreError};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open_location(&dir.path().join("store"), StoreConfig::default())?;
    /// assert_eq!(store.head().position, 0);
    /// let typo = Store::open_location("postgress://db/talks".as_ref(), StoreConfig::default());
    /// assert!(matches!(typo, Err(StoreError::UnknownScheme { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_location(
        location: &Path,
        config: StoreConfig,
    ) -> Result<Store<AnyBackend>, StoreError> {
        let backend = AnyBackend::open(location, &config)?;
        Store::with_backend(backend, config)
    }

    /// The format version a sled store was migrated from on open ([`Store::migrated_from`]);
    /// `None` for other backends.
    pub(crate) fn migrated_from_any(&self) -> Option<u32> {
        self.backend.sled().and_then(SledBackend::migrated_from)
    }

    /// [`Store::tamper_retraction_mark_for_tests`] on a sled store; other backends change
    /// nothing.
    #[cfg(feature = "testing")]
    pub(crate) fn tamper_mark_any_for_tests(
        &self,
        position: u64,
        mark: Option<u64>,
    ) -> Result<(), StoreError> {
        let Some(sled) = self.backend.sled() else {
            return Ok(());
        };
        let Some((dyad, at)) = sled.place_at(position)? else {
            return Ok(());
        };
        sled.tamper_mark(dyad, at, mark)
    }
}

impl Backend for AnyBackend {
    type Batch = AnyBatch;
    type Place = AnyPlace;
    type Raw = AnyRaw;
    type Placed = Boxed<(AnyPlace, AnyRaw)>;
    type Places = Boxed<AnyPlace>;
    type IndexEntry = AnyEntry;
    type Indexed = Boxed<(u64, AnyEntry)>;
    type Records = Boxed<RecordedEvent>;
    type Marks = Boxed<StoredMark>;
    type AuxEntries = Boxed<(Vec<u8>, Vec<u8>)>;
    type AuxKeys = Boxed<Vec<u8>>;

    fn location(&self) -> &Path {
        delegate!(self, b => b.location())
    }

    fn load_end(&self) -> Result<LogEnd, StoreError> {
        delegate!(self, b => b.load_end())
    }

    fn opened(&self, head: &Head) -> Result<(), StoreError> {
        delegate!(self, b => b.opened(head))
    }

    fn closing(&self, head: &Head) {
        delegate!(self, b => b.closing(head))
    }

    fn stage_record(batch: &mut AnyBatch, record: &RecordedEvent) {
        batch.records.push(record.clone());
    }

    fn stage_mark(batch: &mut AnyBatch, dyad: Dyad, target: TimeKey, by: u64) {
        batch.marks.push((dyad, target, by));
    }

    fn stage_version(batch: &mut AnyBatch, dyad: Dyad, version: u64) {
        batch.versions.push((dyad, version));
    }

    fn write(&self, batch: AnyBatch) -> Result<(), StoreError> {
        match self {
            AnyBackend::Sled(b) => b.write(batch.staged::<SledBackend>()),
            AnyBackend::Memory(b) => b.write(batch.staged::<MemoryBackend>()),
            #[cfg(feature = "postgres")]
            AnyBackend::Postgres(b) => b.write(batch.staged::<PostgresBackend>()),
        }
    }

    fn write_at(&self, batch: AnyBatch, against: &Head) -> Result<bool, StoreError> {
        match self {
            AnyBackend::Sled(b) => b.write_at(batch.staged::<SledBackend>(), against),
            AnyBackend::Memory(b) => b.write_at(batch.staged::<MemoryBackend>(), against),
            #[cfg(feature = "postgres")]
            AnyBackend::Postgres(b) => b.write_at(batch.staged::<PostgresBackend>(), against),
        }
    }

    fn is_shared(&self) -> bool {
        delegate!(self, b => b.is_shared())
    }

    fn stored_head(&self) -> Result<Option<Head>, StoreError> {
        delegate!(self, b => b.stored_head())
    }

    fn read_snapshot(&self, on: bool) -> Result<(), StoreError> {
        delegate!(self, b => b.read_snapshot(on))
    }

    fn record_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        delegate!(self, b => b.record_at(position))
    }

    fn position_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        delegate!(self, b => b.position_of(id))
    }

    fn holds_id(&self, id: &EventId) -> Result<bool, StoreError> {
        delegate!(self, b => b.holds_id(id))
    }

    fn place_at(&self, position: u64) -> Result<Option<(Dyad, TimeKey)>, StoreError> {
        delegate!(self, b => b.place_at(position))
    }

    fn mark(&self, dyad: Dyad, at: TimeKey) -> Result<Option<u64>, StoreError> {
        delegate!(self, b => b.mark(dyad, at))
    }

    fn is_marked(&self, dyad: Dyad, at: TimeKey) -> Result<bool, StoreError> {
        delegate!(self, b => b.is_marked(dyad, at))
    }

    fn dyads(&self) -> Result<Vec<(Dyad, u64)>, StoreError> {
        delegate!(self, b => b.dyads())
    }

    fn dyad_versions(&self, dyad: Dyad, versions: RangeInclusive<u64>) -> Self::Records {
        delegate!(self, b => boxed(b.dyad_versions(dyad, versions)))
    }

    fn timeline_records(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Placed {
        match self {
            AnyBackend::Sled(b) => {
                boxed(b.timeline_records(dyad, after, last).map(|entry| {
                    entry.map(|(place, raw)| (AnyPlace::Sled(place), AnyRaw::Sled(raw)))
                }))
            }
            AnyBackend::Memory(b) => boxed(b.timeline_records(dyad, after, last).map(|entry| {
                entry.map(|(place, raw)| (AnyPlace::Memory(place), AnyRaw::Memory(Box::new(raw))))
            })),
            #[cfg(feature = "postgres")]
            AnyBackend::Postgres(b) => boxed(b.timeline_records(dyad, after, last).map(|entry| {
                entry.map(|(place, raw)| (AnyPlace::Postgres(place), AnyRaw::Postgres(raw)))
            })),
        }
    }

    fn timeline_marks(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Places {
        match self {
            AnyBackend::Sled(b) => boxed(
                b.timeline_marks(dyad, after, last)
                    .map(|place| place.map(AnyPlace::Sled)),
            ),
            AnyBackend::Memory(b) => boxed(
                b.timeline_marks(dyad, after, last)
                    .map(|place| place.map(AnyPlace::Memory)),
            ),
            #[cfg(feature = "postgres")]
            AnyBackend::Postgres(b) => boxed(
                b.timeline_marks(dyad, after, last)
                    .map(|place| place.map(AnyPlace::Postgres)),
            ),
        }
    }

    fn decode(
        &self,
        dyad: Dyad,
        place: AnyPlace,
        raw: AnyRaw,
    ) -> Result<RecordedEvent, StoreError> {
        match (self, place, raw) {
            (AnyBackend::Sled(b), AnyPlace::Sled(place), AnyRaw::Sled(raw)) => {
                b.decode(dyad, place, raw)
            }
            (AnyBackend::Memory(b), AnyPlace::Memory(place), AnyRaw::Memory(raw)) => {
                b.decode(dyad, place, *raw)
            }
            #[cfg(feature = "postgres")]
            (AnyBackend::Postgres(b), AnyPlace::Postgres(place), AnyRaw::Postgres(raw)) => {
                b.decode(dyad, place, raw)
            }
            #[allow(unreachable_patterns)]
            _ => Err(mixed("a record")),
        }
    }

    fn index_from(&self, from_position: u64) -> Self::Indexed {
        match self {
            AnyBackend::Sled(b) => boxed(
                b.index_from(from_position)
                    .map(|entry| entry.map(|(position, entry)| (position, AnyEntry::Sled(entry)))),
            ),
            AnyBackend::Memory(b) => {
                boxed(b.index_from(from_position).map(|entry| {
                    entry.map(|(position, entry)| (position, AnyEntry::Memory(entry)))
                }))
            }
            #[cfg(feature = "postgres")]
            AnyBackend::Postgres(b) => {
                boxed(b.index_from(from_position).map(|entry| {
                    entry.map(|(position, entry)| (position, AnyEntry::Postgres(entry)))
                }))
            }
        }
    }

    fn read_index_entry(
        &self,
        position: u64,
        entry: AnyEntry,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        match (self, entry) {
            (AnyBackend::Sled(b), AnyEntry::Sled(entry)) => b.read_index_entry(position, entry),
            (AnyBackend::Memory(b), AnyEntry::Memory(entry)) => b.read_index_entry(position, entry),
            #[cfg(feature = "postgres")]
            (AnyBackend::Postgres(b), AnyEntry::Postgres(entry)) => {
                b.read_index_entry(position, entry)
            }
            #[allow(unreachable_patterns)]
            _ => Err(mixed("an index entry")),
        }
    }

    fn record_count(&self) -> Result<u64, StoreError> {
        delegate!(self, b => b.record_count())
    }

    fn find_unindexed_record(&self) -> Result<(), StoreError> {
        delegate!(self, b => b.find_unindexed_record())
    }

    fn marks(&self) -> Self::Marks {
        delegate!(self, b => boxed(b.marks()))
    }

    fn verify_backend(&self, head: &Head) -> Result<(), StoreError> {
        delegate!(self, b => b.verify_backend(head))
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        delegate!(self, b => b.size_on_disk())
    }

    fn flush(&self) -> Result<(), StoreError> {
        delegate!(self, b => b.flush())
    }

    fn make_durable(&self, durability: Durability) -> Result<(), StoreError> {
        delegate!(self, b => b.make_durable(durability))
    }

    fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        delegate!(self, b => b.aux_get(key))
    }

    fn aux_write(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        delegate!(self, b => b.aux_write(entries))
    }

    fn aux_scan(&self, prefix: &[u8]) -> Self::AuxEntries {
        delegate!(self, b => boxed(b.aux_scan(prefix)))
    }

    fn aux_keys_from(&self, prefix: &[u8], from: &[u8]) -> Self::AuxKeys {
        delegate!(self, b => boxed(b.aux_keys_from(prefix, from)))
    }

    fn aux_last_key(&self, prefix: &[u8], last: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        delegate!(self, b => b.aux_last_key(prefix, last))
    }
}
