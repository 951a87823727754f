//! The pure heart: parties, dyads, events, the bilateral state and the fold.
//!
//! **Invariant:** nothing in `domain` does I/O, reads a clock or knows sled.

mod envelope;
mod event;
mod id;
mod party;

pub use envelope::{
    ChainHash, HashError, NewEvent, RecordedEvent, SCHEMA_VERSION, Source, SourceKind,
};
pub use event::*;
pub use id::{Category, EventId, IdError, ItemId, MAX_ID_LEN};
pub use party::{Dyad, Party, PartyError};
