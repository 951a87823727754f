//! Live feeds of newly recorded events.
//!
//! A subscription is a cursor into the log, not a queue: writers only bump the head and wake
//! sleepers, and each reader reads the records from the store at its own pace. A slow or
//! forgotten subscription therefore never blocks a writer nor holds memory (unlike sled's
//! `watch_prefix`, whose subscribers block writers when they fall behind). On a shared log
//! (PostgreSQL), where other processes append too, a waiting subscription reads the log every
//! 50 ms as well, and sees every append of any process in position order (positions are
//! gap-free in commit order, so a reader never sees N+1 before N).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{EngineError, Shared, lock};

/// How often a subscription to a shared log reads it while it waits.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// How many records a subscription to a shared log reads at once.
const READ_AHEAD: usize = 2048;
use crate::domain::RecordedEvent;

/// A feed of recorded events in position order, from [`Engine::subscribe`](super::Engine::subscribe).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use detente::engine::Engine;
///
/// let dir = tempfile::tempdir()?;
/// let engine = Engine::open(dir.path())?;
/// let mut feed = engine.subscribe();
/// assert!(feed.next_timeout(Duration::from_millis(10))?.is_none());
/// engine.record_batch(detente::scenario::istanbul_2025())?;
/// let positions: Vec<u64> = std::iter::from_fn(|| feed.try_next().ok().flatten())
///     .map(|r| r.position)
///     .collect();
/// assert_eq!(positions, (1..=engine.head().position).collect::<Vec<_>>());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Subscription {
    shared: Arc<Shared>,
    next: u64,
    /// On a shared log: records read ahead, from `next` on (a scan of PostgreSQL reads a
    /// page per query, so one record per query would read the page again and again).
    ahead: VecDeque<RecordedEvent>,
}

impl Subscription {
    pub(crate) fn new(shared: Arc<Shared>, next: u64) -> Subscription {
        Subscription {
            shared,
            next,
            ahead: VecDeque::new(),
        }
    }

    /// The position of the next event this feed will deliver.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let mut feed = engine.subscribe();
    /// assert_eq!(feed.next_position(), 1);
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// feed.try_next()?;
    /// assert_eq!(feed.next_position(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_position(&self) -> u64 {
        self.next
    }

    /// The next event if one is recorded already, without waiting.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let mut feed = engine.subscribe();
    /// assert!(feed.try_next()?.is_none());
    /// engine.record_batch(detente::scenario::istanbul_2025())?;
    /// assert_eq!(feed.try_next()?.map(|record| record.position), Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_next(&mut self) -> Result<Option<RecordedEvent>, EngineError> {
        if self.shared.store.is_shared() {
            // Other processes append too: the log itself says what there is.
            return self.read_next();
        }
        let head = *lock(&self.shared.head);
        if head < self.next {
            return Ok(None);
        }
        self.read_next()
    }

    /// The next event, waiting at most `timeout` for it to be recorded.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use detente::engine::Engine;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let engine = Engine::open(dir.path())?;
    /// let mut feed = engine.subscribe();
    /// let writer = engine.clone();
    /// let recording = std::thread::spawn(move || writer.record_batch(detente::scenario::istanbul_2025()));
    /// let first = feed.next_timeout(Duration::from_secs(10))?;
    /// assert_eq!(first.map(|record| record.position), Some(1));
    /// recording.join().unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<RecordedEvent>, EngineError> {
        let deadline = Instant::now() + timeout;
        if self.shared.store.is_shared() {
            return self.poll_until(deadline);
        }
        let mut head = lock(&self.shared.head);
        while *head < self.next {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            head = match self.shared.head_changed.wait_timeout(head, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        drop(head);
        self.read_next()
    }

    /// On a shared log: reads the log, and between reads waits for this process's appends
    /// (the condition variable) or [`POLL_EVERY`], whichever comes first, so that appends of
    /// other processes are seen within that time. Never holds a lock a writer needs.
    fn poll_until(&mut self, deadline: Instant) -> Result<Option<RecordedEvent>, EngineError> {
        loop {
            let seen = *lock(&self.shared.head);
            if let Some(record) = self.read_next()? {
                return Ok(Some(record));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let head = lock(&self.shared.head);
            if *head != seen {
                continue;
            }
            let wait = (deadline - now).min(POLL_EVERY);
            drop(match self.shared.head_changed.wait_timeout(head, wait) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            });
        }
    }

    fn read_next(&mut self) -> Result<Option<RecordedEvent>, EngineError> {
        if self.shared.store.is_shared() {
            if self.ahead.is_empty() {
                for record in self.shared.store.read_log(self.next).take(READ_AHEAD) {
                    self.ahead.push_back(record?);
                }
            }
            let Some(record) = self.ahead.pop_front() else {
                return Ok(None);
            };
            self.next = record.position + 1;
            return Ok(Some(record));
        }
        match self.shared.store.read_log(self.next).next() {
            Some(record) => {
                let record = record?;
                self.next = record.position + 1;
                Ok(Some(record))
            }
            None => Ok(None),
        }
    }
}
