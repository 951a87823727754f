//! Catching up with other processes: on a shared log (PostgreSQL), other engines append too,
//! and this engine's caches (folds, ladders, registered projections) and its subscribers'
//! head must know of their records before it answers.
//!
//! **Invariant:** before an answer, the caches hold every record up to the log's head as of
//! the moment the question was asked: [`Shared::sync`] reads the stored head (one tiny query)
//! and, when it moved past the position the caches hold, folds the records in between, as
//! `maintain` folds an append of this engine's own. On a log only this engine writes (sled,
//! memory), it reads nothing.

use super::{EngineError, Folds, Shared, lock, write};
use crate::domain::RecordedEvent;

impl Shared {
    /// Brings the caches up to the log's head, when the log is shared and it moved.
    pub(crate) fn sync(&self) -> Result<(), EngineError> {
        if !self.store.is_shared() {
            return Ok(());
        }
        let head = self.store.refresh()?.position;
        if head <= *lock(&self.head) {
            return Ok(());
        }
        let mut folds = write(&self.folds);
        self.sync_locked(&mut folds)
    }

    /// Under the write lock of the folds: folds the records past the head the caches hold
    /// (the published head) up to the store's head, and publishes it.
    pub(crate) fn sync_locked(&self, folds: &mut Folds) -> Result<(), EngineError> {
        let known = *lock(&self.head);
        let head = self.store.head().position;
        if head <= known {
            return Ok(());
        }
        let mut records: Vec<RecordedEvent> = Vec::new();
        for record in self.store.read_log(known + 1) {
            let record = record?;
            if record.position > head {
                break;
            }
            records.push(record);
        }
        if !records.is_empty() {
            self.maintain(folds, &records)?;
        }
        self.publish_head(head);
        Ok(())
    }
}
