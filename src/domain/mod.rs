//! The pure heart: parties, dyads, events, the bilateral state and the fold.
//!
//! **Invariant:** nothing in `domain` does I/O, reads a clock or knows sled.

mod canonical;
mod check;
mod diff;
mod envelope;
mod event;
mod id;
pub mod limits;
mod party;
mod projection;
mod query;
mod registry;
mod shared;
mod state;
pub mod upcast;

pub(crate) use check::check_batch_of;
pub use check::{
    BatchChecked, Finding, ItemKind, Rejection, check, check_batch, check_continuing,
    check_in_history, check_known_by_recording, check_record_alone, check_retraction_dates,
    explain_anomalies, findings,
};
pub use diff::{ItemAdded, ItemChanged, LedgerChange, PartyStatusChanged, StateDiff};
pub use envelope::{
    ChainHash, DateError, HashError, NewEvent, RecordedEvent, SCHEMA_VERSION, Source, SourceKind,
    parse_date,
};
pub use event::*;
pub use id::{Category, EventId, IdError, ItemId, MAX_ID_LEN};
pub use party::{Dyad, Party, PartyError, PartyKind};
pub use projection::{Projection, ReadMode};
pub use query::{Query, continued_log, effective_timeline, state_at};
pub use shared::{SharedMap, SharedMapIter, SharedVec, SharedVecIter};
pub use state::*;
