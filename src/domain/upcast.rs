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
//! the older shape into today's types; the bytes of an export are never rewritten.

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
    /// Written by a newer wire format than this build reads.
    #[error(
        "the record has wire format version {found}, newer than the {supported} this build reads: upgrade detente"
    )]
    Newer {
        /// Its `schema`.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// A `schema` that no version of the wire format has had.
    #[error("the record has wire format version {found}, which never existed: versions start at 1")]
    Unknown {
        /// Its `schema`.
        found: u32,
    },
}

/// Brings `record`, read in the shape of its `schema`, up to today's types. Every edition of
/// version 1 reads as today's types already (the module's documentation says why), so a
/// version 1 record comes back as it is; a newer version is refused, naming it.
///
/// ```
/// use detente::domain::upcast::{upcast, UpcastError};
///
/// let mut record = detente::scenario::recorded(detente::scenario::istanbul_2025()).remove(0);
/// assert_eq!(upcast(record.clone()), Ok(record.clone()));
/// record.schema = 2;
/// assert_eq!(upcast(record), Err(UpcastError::Newer { found: 2, supported: 1 }));
/// ```
pub fn upcast(record: RecordedEvent) -> Result<RecordedEvent, UpcastError> {
    match record.schema {
        // The first and second editions of version 1: additive, read as they are.
        1 => Ok(record),
        found if found > SCHEMA_VERSION => Err(UpcastError::Newer {
            found,
            supported: SCHEMA_VERSION,
        }),
        found => Err(UpcastError::Unknown { found }),
    }
}
