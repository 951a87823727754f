//! The upcaster seam: where a record written in an earlier shape is brought up to today's
//! types on read. Every decode of a recorded event (an export line read by `detente import`,
//! [`Engine::restore`](crate::engine::Engine::restore)'s input, the frozen fixtures) passes
//! through [`upcast`], since `RecordedEvent`'s deserializer ends in it.
//!
//! Wire format 1 has had two editions ([`EDITIONS`]); the second only added event types and
//! optional fields. A first-edition record therefore reads as today's types unchanged: the
//! fields it lacks take their defaults, and today's serialization leaves those defaults out,
//! so its canonical bytes, and with them its chain hash, are the ones the first edition wrote
//! (`tests/it/upcast.rs` holds a frozen first-edition export to that). A later shape that is
//! not additive is a new `schema` number with its arm in [`upcast`], which turns the record of
//! the older shape into today's types; the bytes of an export are never rewritten. A record of
//! a newer version than this build knows is left as read: the restore refuses it by its
//! version ("written by a newer detente"), never as damage.

use super::{RecordedEvent, SCHEMA_VERSION};

/// The editions of wire format 1, oldest first: a name and what it added.
pub const EDITIONS: [(&str, &str); 2] = [
    (
        "first",
        "talks, steps, claims, proposals, irritants, rounds, expulsions, closures and retractions",
    ),
    (
        "second",
        "agreements, measures, prisoners released, missions reopened, mediators of talks, rounds that replace others, parties beyond ISO 3166-1",
    ),
];

/// Why a record cannot be brought up to today's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpcastError {
    /// A `schema` that no version of the wire format has had.
    #[error("the record has wire format version {found}, which never existed: versions start at 1")]
    Unknown {
        /// Its `schema`.
        found: u32,
    },
}

/// Brings `record`, read in the shape of its `schema`, up to today's types. Every edition of
/// version 1 reads as today's types already (the module's documentation says why), so a
/// version 1 record comes back as it is; so does one of a newer version, for the restore to
/// refuse by its version; a `schema` of 0 never existed and is refused.
///
/// ```
/// use detente::domain::upcast::{upcast, UpcastError};
///
/// let mut record = detente::scenario::recorded(detente::scenario::istanbul_2025()).remove(0);
/// assert_eq!(upcast(record.clone()), Ok(record.clone()));
/// record.schema = 0;
/// assert_eq!(upcast(record), Err(UpcastError::Unknown { found: 0 }));
/// ```
pub fn upcast(record: RecordedEvent) -> Result<RecordedEvent, UpcastError> {
    match record.schema {
        0 => Err(UpcastError::Unknown { found: 0 }),
        // The first and second editions of version 1 (additive, read as they are), and a newer
        // version, left as read for the restore to refuse it as newer (`SCHEMA_VERSION`).
        _ => Ok(record),
    }
}

/// Whether this build reads records of `schema` as what they say (every edition of version 1),
/// rather than leaving them for the restore to refuse as newer.
///
/// ```
/// use detente::domain::upcast::reads;
///
/// assert!(reads(1));
/// assert!(!reads(2) && !reads(0));
/// ```
pub fn reads(schema: u32) -> bool {
    (1..=SCHEMA_VERSION).contains(&schema)
}
