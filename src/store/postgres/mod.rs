//! The PostgreSQL backend: the log in a database that many processes on many machines share.
//!
//! **Who may open it at once:** any number of stores, in any number of processes: readers and
//! writers together. **Invariant:** a PostgreSQL log is shared, and appends are serialized on
//! its head: every append transaction locks the one row of `detente_head`
//! (`SELECT … FOR UPDATE`), checks that it still holds the head the batch was computed
//! against, writes the records and moves the head. A batch computed against a head that has
//! moved is rolled back and reported moved ([`Backend::write_at`]), and the store computes it
//! again over the new end of the log. Positions never come from a sequence: a sequence has
//! gaps, and a transaction that took N may commit after one that took N+1.
//!
//! Tables (created when a store is first opened for writing, under a transaction-scoped
//! advisory lock so that two first writers do not collide):
//!
//! | table | rows |
//! |---|---|
//! | `detente_meta(key text primary key, value bigint)` | `format`: this backend's format version |
//! | `detente_head(one boolean primary key, position bigint, hash bytea)` | one: the last position and its hash |
//! | `detente_log(position bigint primary key, dyad text, version bigint, occurred_on date, id text unique, record bytea)` | every record, in the record encoding of sled's codec; `unique (dyad, version)`, an index on `(dyad, occurred_on, position)` |
//! | `detente_marks(dyad text, occurred_on date, position bigint, by_position bigint)` | the retraction marks, keyed by the marked record's place |
//! | `detente_versions(dyad text primary key, version bigint)` | each dyad's version |
//!
//! The cache space (the engine's folds, snapshots and checkpoint) stays in the memory of the
//! process: the caches of many processes over one shared log would overwrite each other's, so
//! each process folds the log when it opens it. Durable when the transaction commits
//! (`synchronous_commit` on, PostgreSQL's default); every [`Durability`] is met on return.

mod sql;

use std::collections::{BTreeMap, VecDeque};
use std::ops::{Bound, RangeInclusive};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::NaiveDate;

use super::backend::{Backend, LogEnd, Sealed, StoredMark};
use super::location::redact;
use super::sled_backend::codec::{decode_record_of, encode_record};
use super::{Durability, Head, OpenMode, Store, StoreConfig, StoreError, TimeKey};
use crate::domain::{ChainHash, Dyad, EventId, RecordedEvent};

/// The format of the tables this build writes and reads.
pub const POSTGRES_FORMAT_VERSION: u32 = 1;

/// How long a connection may take before it is an error, unless the URL says
/// (`connect_timeout=`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows read per query by a streaming scan.
const PAGE: i64 = 2048;

/// A log in a PostgreSQL database, behind [`Store::open_postgres`](super::Store::open_postgres)
/// or a `--store postgresql://…`.
///
/// A clone is a handle on the same connection.
#[derive(Clone)]
pub struct PostgresBackend {
    inner: Arc<Inner>,
}

struct Inner {
    /// The URL without its password, as errors name it.
    location: PathBuf,
    config: postgres::Config,
    /// The password, to be scrubbed from any message of the server or the client.
    password: Option<String>,
    /// The URL's `sslrootcert`: the roots a TLS server's certificate must chain to, instead
    /// of Mozilla's.
    root_cert: Option<PathBuf>,
    client: Mutex<Option<postgres::Client>>,
    /// The cache space, in this process's memory.
    aux: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// Whether a read snapshot ([`Backend::read_snapshot`]) is open on the connection.
    snapshot: AtomicBool,
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("location", &self.inner.location)
            .finish_non_exhaustive()
    }
}

/// The staged writes of one append or restore on PostgreSQL.
#[derive(Debug, Default)]
pub struct PostgresBatch {
    records: Vec<RecordedEvent>,
    marks: Vec<(Dyad, TimeKey, u64)>,
    versions: Vec<(Dyad, u64)>,
}

impl Sealed for PostgresBackend {}

impl PostgresBackend {
    /// Connects to the database at `url` (`postgresql://…` or `postgres://…`), checks its
    /// format, and creates the tables where absent unless `config.open` is
    /// [`OpenMode::Existing`] (then a database without them is [`StoreError::NoStore`]).
    ///
    /// A server that is down, a wrong password or a missing database is one
    /// [`StoreError::Server`] line, within the connect timeout (10 s unless the URL's
    /// `connect_timeout` says), never naming the password.
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::{PostgresBackend, StoreConfig, StoreError};
    ///
    /// // Nothing listens on port 1: a clear error, without the password.
    /// let err = PostgresBackend::open("postgresql://me:secret@127.0.0.1:1/talks", &StoreConfig::default()).unwrap_err();
    /// assert!(matches!(err, StoreError::Server { .. }));
    /// assert!(!err.to_string().contains("secret"));
    /// ```
    pub fn open(url: &str, config: &StoreConfig) -> Result<PostgresBackend, StoreError> {
        let location = PathBuf::from(redact(url));
        let (url, root_cert) = take_root_cert(url);
        let mut pg_config: postgres::Config =
            url.parse()
                .map_err(|err: postgres::Error| StoreError::Server {
                    location: location.clone(),
                    message: format!("the URL is not a PostgreSQL connection URL: {err}"),
                })?;
        if pg_config.get_connect_timeout().is_none() {
            pg_config.connect_timeout(CONNECT_TIMEOUT);
        }
        let password = pg_config
            .get_password()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .filter(|password| !password.is_empty());
        let inner = Inner {
            location,
            config: pg_config,
            password,
            root_cert,
            client: Mutex::new(None),
            aux: Mutex::new(BTreeMap::new()),
            snapshot: AtomicBool::new(false),
        };
        let backend = PostgresBackend {
            inner: Arc::new(inner),
        };
        backend.prepare(config.open)?;
        Ok(backend)
    }

    /// Checks the format, and creates the tables where absent (unless `mode` forbids it).
    fn prepare(&self, mode: OpenMode) -> Result<(), StoreError> {
        let mut guard = self.client()?;
        let client = connected(&mut guard);
        let exists: bool = client
            .query_one(sql::TABLES_EXIST, &[])
            .map_err(|err| self.err(err))?
            .get(0);
        if !exists {
            if mode == OpenMode::Existing {
                return Err(StoreError::NoStore {
                    path: self.inner.location.clone(),
                    found: "the database holds no detente tables".into(),
                });
            }
            let mut tx = client.transaction().map_err(|err| self.err(err))?;
            tx.batch_execute(sql::CREATE).map_err(|err| self.err(err))?;
            tx.execute(sql::INSERT_FORMAT, &[&i64::from(POSTGRES_FORMAT_VERSION)])
                .map_err(|err| self.err(err))?;
            tx.execute(sql::INSERT_HEAD, &[&ChainHash::ZERO.0.to_vec()])
                .map_err(|err| self.err(err))?;
            tx.commit().map_err(|err| self.err(err))?;
        }
        let format: Option<i64> = client
            .query_opt(sql::SELECT_FORMAT, &[])
            .map_err(|err| self.err(err))?
            .map(|row| row.get(0));
        let Some(format) = format else {
            return Err(self.damaged("the table detente_meta has no format row".into()));
        };
        if format > i64::from(POSTGRES_FORMAT_VERSION) {
            return Err(StoreError::NewerFormat {
                path: self.inner.location.clone(),
                found: u32::try_from(format).unwrap_or(u32::MAX),
                supported: POSTGRES_FORMAT_VERSION,
            });
        }
        Ok(())
    }

    /// The connection, made again if it was lost.
    fn client(&self) -> Result<MutexGuard<'_, Option<postgres::Client>>, StoreError> {
        let mut guard = self
            .inner
            .client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if guard.as_ref().is_none_or(postgres::Client::is_closed) {
            *guard = None;
            let client = self.inner.connect().map_err(|message| {
                let message = self.inner.scrub(message);
                StoreError::Server {
                    location: self.inner.location.clone(),
                    message,
                }
            })?;
            *guard = Some(client);
        }
        Ok(guard)
    }

    /// A store error of a failed query, naming the location and never the password.
    fn err(&self, err: postgres::Error) -> StoreError {
        let message = if err.is_closed() || err.as_db_error().is_none() {
            format!("the connection to the server failed: {err}")
        } else {
            err.to_string()
        };
        StoreError::Server {
            location: self.inner.location.clone(),
            message: self.inner.scrub(message),
        }
    }

    fn damaged(&self, what: String) -> StoreError {
        StoreError::Damaged {
            path: self.inner.location.clone(),
            what,
        }
    }

    fn corrupt(position: u64, reason: String) -> StoreError {
        StoreError::Corrupt { position, reason }
    }

    /// Runs `f` on the connection.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut guard = self.client()?;
        f(connected(&mut guard)).map_err(|err| self.err(err))
    }

    fn aux(&self) -> MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.inner
            .aux
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn decode_row(
        &self,
        position: i64,
        bytes: &[u8],
        dyad: Option<Dyad>,
    ) -> Result<RecordedEvent, StoreError> {
        let position = position as u64;
        let record =
            decode_record_of(bytes, dyad).map_err(|reason| Self::corrupt(position, reason))?;
        if record.position != position {
            return Err(Self::corrupt(
                position,
                format!(
                    "the row of position {position} holds the record of position {}",
                    record.position
                ),
            ));
        }
        Ok(record)
    }

    /// A scan read a page at a time, each page one query.
    fn paged<T: Send + 'static, C: Send + 'static>(
        &self,
        cursor: C,
        fetch: Fetch<T, C>,
    ) -> Paged<T> {
        let backend = self.clone();
        let mut cursor = Some(cursor);
        Paged {
            page: VecDeque::new(),
            more: Some(Box::new(move || match cursor.take() {
                None => Ok(None),
                Some(at) => {
                    let (rows, next) = fetch(&backend, &at)?;
                    cursor = next;
                    Ok(Some(rows))
                }
            })),
        }
    }
}

/// The client inside a guard that [`PostgresBackend::client`] filled.
fn connected<'a>(
    guard: &'a mut MutexGuard<'_, Option<postgres::Client>>,
) -> &'a mut postgres::Client {
    match guard.as_mut() {
        Some(client) => client,
        None => unreachable!("PostgresBackend::client connects before it returns"),
    }
}

impl Inner {
    /// A new connection: over TLS where the URL asks for it (`sslmode=require`), else plain
    /// (`sslmode=prefer`, the default, takes no TLS: rust-postgres would otherwise fail on a
    /// server whose certificate no root vouches for, where libpq goes on unverified).
    fn connect(&self) -> Result<postgres::Client, String> {
        let connected = if matches!(
            self.config.get_ssl_mode(),
            postgres::config::SslMode::Require
        ) {
            let tls = tls_config(self.root_cert.as_deref())?;
            self.config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        } else {
            self.config.connect(postgres::NoTls)
        };
        connected.map_err(|err| connect_message(&err))
    }

    fn scrub(&self, message: String) -> String {
        match &self.password {
            Some(password) => message.replace(password.as_str(), "***"),
            None => message,
        }
    }
}

/// The URL without its `sslrootcert=` parameter (which rust-postgres does not know), and
/// that parameter's file.
fn take_root_cert(url: &str) -> (String, Option<PathBuf>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut root_cert = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("sslrootcert", file)) => {
                root_cert = Some(PathBuf::from(file));
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), root_cert)
    } else {
        (format!("{base}?{}", kept.join("&")), root_cert)
    }
}

/// The TLS client of a connection: rustls with the `ring` provider, checking the server's
/// certificate against `root_cert`'s certificates (PEM), or Mozilla's roots.
fn tls_config(root_cert: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(file) => {
            let unreadable = |err: &dyn std::fmt::Display| {
                format!("cannot use sslrootcert {}: {err}", file.display())
            };
            for cert in CertificateDer::pem_file_iter(file).map_err(|err| unreadable(&err))? {
                let cert = cert.map_err(|err| unreadable(&err))?;
                roots.add(cert).map_err(|err| unreadable(&err))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("no TLS: {err}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// One line for a failed connection: what the server or the network said, and what to check.
fn connect_message(err: &postgres::Error) -> String {
    let said = match err.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                let cause = cause.to_string();
                if !text.contains(&cause) {
                    text.push_str(": ");
                    text.push_str(&cause);
                }
                source = cause_of(source);
            }
            text
        }
    };
    format!(
        "cannot connect: {said}: check that the server runs and that the URL's host, port, user, password and database are right"
    )
}

fn cause_of<'a>(
    err: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    err.and_then(std::error::Error::source)
}

impl Store<PostgresBackend> {
    /// Opens (creating the tables where absent, as `config.open` allows) the log in the
    /// PostgreSQL database at `url` ([`PostgresBackend::open`]).
    ///
    /// # Example
    ///
    /// ```
    /// use detente::store::{Store, StoreConfig, StoreError};
    ///
    /// let err = Store::open_postgres("postgresql://me:secret@127.0.0.1:1/talks", StoreConfig::default()).unwrap_err();
    /// assert!(err.to_string().starts_with("store postgresql://me@127.0.0.1:1/talks: cannot connect"), "{err}");
    /// ```
    pub fn open_postgres(
        url: &str,
        config: StoreConfig,
    ) -> Result<Store<PostgresBackend>, StoreError> {
        let backend = PostgresBackend::open(url, &config)?;
        Store::with_backend(backend, config)
    }
}

/// Reads one page of a scan at a cursor: the rows, and the cursor of the next page (`None`
/// after the last).
type Fetch<T, C> = fn(&PostgresBackend, &C) -> Result<(Vec<T>, Option<C>), StoreError>;

/// A scan read page by page.
pub struct Paged<T> {
    page: VecDeque<T>,
    #[allow(clippy::type_complexity)]
    more: Option<Box<dyn FnMut() -> Result<Option<Vec<T>>, StoreError> + Send>>,
}

impl<T> Iterator for Paged<T> {
    type Item = Result<T, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.page.pop_front() {
                return Some(Ok(item));
            }
            let more = self.more.as_mut()?;
            match more() {
                Ok(Some(rows)) => self.page.extend(rows),
                Ok(None) => {
                    self.more = None;
                    return None;
                }
                Err(err) => {
                    self.more = None;
                    return Some(Err(err));
                }
            }
        }
    }
}

fn dyad_text(dyad: Dyad) -> String {
    dyad.to_string()
}

fn parse_dyad(text: &str) -> Result<Dyad, String> {
    text.parse()
        .map_err(|err| format!("the dyad `{text}` does not parse: {err}"))
}

fn hash_of(bytes: &[u8]) -> Result<ChainHash, String> {
    <[u8; 32]>::try_from(bytes)
        .map(ChainHash)
        .map_err(|_| format!("a hash of {} bytes instead of 32", bytes.len()))
}

fn pos(position: u64) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

/// The cursor of a timeline scan: after this place (exclusive), through `last`.
#[derive(Clone, Copy)]
struct TimelineCursor {
    dyad: Dyad,
    after: Option<TimeKey>,
    last: TimeKey,
}

/// The parameters of a timeline page: after (none: from the start), through. A place
/// before any date PostgreSQL holds (4713 BC) is the start.
fn timeline_bounds(cursor: &TimelineCursor) -> (Option<NaiveDate>, i64, NaiveDate, i64) {
    let floor = NaiveDate::from_ymd_opt(-4000, 1, 1).unwrap_or(NaiveDate::MIN);
    let (after_on, after_position) = match cursor.after {
        Some(at) if at.on >= floor => (Some(at.on), pos(at.position)),
        _ => (None, -1),
    };
    (
        after_on,
        after_position,
        cursor.last.on,
        pos(cursor.last.position),
    )
}

type Owned<T> = std::vec::IntoIter<Result<T, StoreError>>;

impl Backend for PostgresBackend {
    type Batch = PostgresBatch;
    type Place = TimeKey;
    type Raw = Vec<u8>;
    type Placed = Paged<(TimeKey, Vec<u8>)>;
    type Places = Paged<TimeKey>;
    type IndexEntry = Vec<u8>;
    type Indexed = Paged<(u64, Vec<u8>)>;
    type Records = Owned<RecordedEvent>;
    type Marks = Owned<StoredMark>;
    type AuxEntries = Owned<(Vec<u8>, Vec<u8>)>;
    type AuxKeys = Owned<Vec<u8>>;

    fn location(&self) -> &Path {
        &self.inner.location
    }

    fn load_end(&self) -> Result<LogEnd, StoreError> {
        let in_snapshot = self.inner.snapshot.load(Ordering::SeqCst);
        let (head, last, versions) = self.with(|client| {
            // One snapshot: the head, its record and the versions agree (inside a read
            // snapshot already open, its own).
            if !in_snapshot {
                client.batch_execute(sql::BEGIN_SNAPSHOT)?;
            }
            let read = |client: &mut postgres::Client| {
                let head = client.query_one(sql::SELECT_HEAD, &[])?;
                let head: (i64, Vec<u8>) = (head.get(0), head.get(1));
                let last = client.query_opt(sql::SELECT_RECORD_AT, &[&head.0])?;
                let last: Option<(i64, Vec<u8>)> = last.map(|row| (row.get(0), row.get(1)));
                let versions: Vec<(String, i64)> = client
                    .query(sql::SELECT_VERSIONS, &[])?
                    .into_iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect();
                Ok::<_, postgres::Error>((head, last, versions))
            };
            let read = read(client);
            if !in_snapshot {
                let ended = client.batch_execute(sql::END_SNAPSHOT);
                let read = read?;
                ended?;
                return Ok(read);
            }
            read
        })?;
        let last = match (head.0, last) {
            (0, _) => None,
            (_, Some((position, bytes))) => Some(self.decode_row(position, &bytes, None)?),
            (position, None) => return Err(super::missing_record(position as u64)),
        };
        if let Some(record) = &last {
            let hash = hash_of(&head.1).map_err(|reason| self.damaged(reason))?;
            if record.hash != hash {
                return Err(self.damaged(format!(
                    "the head row says hash {hash} at position {}, but its record's hash is {}",
                    record.position, record.hash
                )));
            }
        }
        let versions = versions
            .into_iter()
            .map(|(dyad, version)| {
                parse_dyad(&dyad)
                    .map(|dyad| (dyad, version as u64))
                    .map_err(|reason| self.damaged(reason))
            })
            .collect::<Result<_, _>>()?;
        Ok(LogEnd { last, versions })
    }

    fn opened(&self, _head: &Head) -> Result<(), StoreError> {
        Ok(())
    }

    fn closing(&self, _head: &Head) {}

    fn stage_record(batch: &mut PostgresBatch, record: &RecordedEvent) {
        batch.records.push(record.clone());
    }

    fn stage_mark(batch: &mut PostgresBatch, dyad: Dyad, target: TimeKey, by: u64) {
        batch.marks.push((dyad, target, by));
    }

    fn stage_version(batch: &mut PostgresBatch, dyad: Dyad, version: u64) {
        batch.versions.push((dyad, version));
    }

    fn write(&self, batch: PostgresBatch) -> Result<(), StoreError> {
        // Only the store's rules write, through `write_at`; a write without a head to check
        // would break the head row's invariant.
        let Some(first) = batch.records.first() else {
            return Ok(());
        };
        let against = self
            .record_at(first.position - 1)?
            .map_or(Head::default(), |record| Head {
                position: record.position,
                hash: record.hash,
            });
        if self.write_at(batch, &against)? {
            Ok(())
        } else {
            Err(StoreError::Server {
                location: self.inner.location.clone(),
                message: "another process appended meanwhile: nothing was written; try again"
                    .into(),
            })
        }
    }

    fn write_at(&self, batch: PostgresBatch, against: &Head) -> Result<bool, StoreError> {
        let Some(last) = batch.records.last() else {
            return Ok(true);
        };
        let new_head = (pos(last.position), last.hash.0.to_vec());
        let mut positions = Vec::with_capacity(batch.records.len());
        let mut dyads = Vec::with_capacity(batch.records.len());
        let mut versions = Vec::with_capacity(batch.records.len());
        let mut days = Vec::with_capacity(batch.records.len());
        let mut ids = Vec::with_capacity(batch.records.len());
        let mut bytes = Vec::with_capacity(batch.records.len());
        for record in &batch.records {
            positions.push(pos(record.position));
            dyads.push(dyad_text(record.dyad));
            versions.push(pos(record.version));
            days.push(record.occurred_on);
            ids.push(record.id.as_str().to_owned());
            bytes.push(encode_record(record));
        }
        let (mark_dyads, mark_days, mark_positions, mark_by): (
            Vec<String>,
            Vec<NaiveDate>,
            Vec<i64>,
            Vec<i64>,
        ) = batch
            .marks
            .iter()
            .fold(Default::default(), |mut out, &(dyad, at, by)| {
                out.0.push(dyad_text(dyad));
                out.1.push(at.on);
                out.2.push(pos(at.position));
                out.3.push(pos(by));
                out
            });
        let (version_dyads, version_values): (Vec<String>, Vec<i64>) = batch
            .versions
            .iter()
            .map(|&(dyad, version)| (dyad_text(dyad), pos(version)))
            .unzip();
        let expected = (pos(against.position), against.hash.0.to_vec());
        self.with(|client| {
            let mut tx = client.transaction()?;
            let head = tx.query_one(sql::LOCK_HEAD, &[])?;
            let stored: (i64, Vec<u8>) = (head.get(0), head.get(1));
            if stored != expected {
                tx.rollback()?;
                return Ok(false);
            }
            tx.execute(
                sql::INSERT_RECORDS,
                &[&positions, &dyads, &versions, &days, &ids, &bytes],
            )?;
            if !mark_dyads.is_empty() {
                tx.execute(
                    sql::INSERT_MARKS,
                    &[&mark_dyads, &mark_days, &mark_positions, &mark_by],
                )?;
            }
            if !version_dyads.is_empty() {
                tx.execute(sql::UPSERT_VERSIONS, &[&version_dyads, &version_values])?;
            }
            tx.execute(sql::UPDATE_HEAD, &[&new_head.0, &new_head.1])?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn read_snapshot(&self, on: bool) -> Result<(), StoreError> {
        let was = self.inner.snapshot.swap(on, Ordering::SeqCst);
        match (was, on) {
            (false, true) => self.with(|client| client.batch_execute(sql::BEGIN_SNAPSHOT)),
            (true, false) => self.with(|client| client.batch_execute(sql::END_SNAPSHOT)),
            _ => Ok(()),
        }
    }

    fn stored_head(&self) -> Result<Option<Head>, StoreError> {
        let (position, hash): (i64, Vec<u8>) = self.with(|client| {
            let row = client.query_one(sql::SELECT_HEAD, &[])?;
            Ok((row.get(0), row.get(1)))
        })?;
        let hash = hash_of(&hash).map_err(|reason| self.damaged(reason))?;
        Ok(Some(Head {
            position: position as u64,
            hash,
        }))
    }

    fn record_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = self.with(|client| {
            Ok(client
                .query_opt(sql::SELECT_RECORD_AT, &[&pos(position)])?
                .map(|row| (row.get(0), row.get(1))))
        })?;
        row.map(|(position, bytes)| self.decode_row(position, &bytes, None))
            .transpose()
    }

    fn position_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        let position: Option<i64> = self.with(|client| {
            Ok(client
                .query_opt(sql::SELECT_POSITION_OF, &[&id.as_str()])?
                .map(|row| row.get(0)))
        })?;
        Ok(position.map(|position| position as u64))
    }

    fn holds_id(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.position_of(id)?.is_some())
    }

    fn place_at(&self, position: u64) -> Result<Option<(Dyad, TimeKey)>, StoreError> {
        let row: Option<(String, NaiveDate)> = self.with(|client| {
            Ok(client
                .query_opt(sql::SELECT_PLACE_AT, &[&pos(position)])?
                .map(|row| (row.get(0), row.get(1))))
        })?;
        row.map(|(dyad, on)| {
            parse_dyad(&dyad)
                .map(|dyad| (dyad, TimeKey { on, position }))
                .map_err(|reason| Self::corrupt(position, reason))
        })
        .transpose()
    }

    fn mark(&self, dyad: Dyad, at: TimeKey) -> Result<Option<u64>, StoreError> {
        let by: Option<i64> = self.with(|client| {
            Ok(client
                .query_opt(
                    sql::SELECT_MARK,
                    &[&dyad_text(dyad), &at.on, &pos(at.position)],
                )?
                .map(|row| row.get(0)))
        })?;
        Ok(by.map(|by| by as u64))
    }

    fn is_marked(&self, dyad: Dyad, at: TimeKey) -> Result<bool, StoreError> {
        Ok(self.mark(dyad, at)?.is_some())
    }

    fn dyads(&self) -> Result<Vec<(Dyad, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = self.with(|client| {
            Ok(client
                .query(sql::SELECT_VERSIONS, &[])?
                .into_iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })?;
        rows.into_iter()
            .map(|(dyad, version)| {
                parse_dyad(&dyad)
                    .map(|dyad| (dyad, version as u64))
                    .map_err(|reason| self.damaged(reason))
            })
            .collect()
    }

    fn dyad_versions(&self, dyad: Dyad, versions: RangeInclusive<u64>) -> Self::Records {
        let rows = self.with(|client| {
            Ok(client
                .query(
                    sql::SELECT_DYAD_VERSIONS,
                    &[
                        &dyad_text(dyad),
                        &pos(*versions.start()),
                        &pos(*versions.end()),
                    ],
                )?
                .into_iter()
                .map(|row| (row.get::<_, i64>(0), row.get::<_, Vec<u8>>(1)))
                .collect::<Vec<_>>())
        });
        let decoded: Vec<Result<RecordedEvent, StoreError>> = match rows {
            Ok(rows) => rows
                .into_iter()
                .map(|(position, bytes)| self.decode_row(position, &bytes, Some(dyad)))
                .collect(),
            Err(err) => vec![Err(err)],
        };
        decoded.into_iter()
    }

    fn timeline_records(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Placed {
        self.paged(TimelineCursor { dyad, after, last }, |backend, cursor| {
            let (after_on, after_position, last_on, last_position) = timeline_bounds(cursor);
            let rows: Vec<(NaiveDate, i64, Vec<u8>)> = backend.with(|client| {
                Ok(client
                    .query(
                        sql::SELECT_TIMELINE,
                        &[
                            &dyad_text(cursor.dyad),
                            &after_on,
                            &after_position,
                            &last_on,
                            &last_position,
                            &PAGE,
                        ],
                    )?
                    .into_iter()
                    .map(|row| (row.get(0), row.get(1), row.get(2)))
                    .collect())
            })?;
            let page: Vec<(TimeKey, Vec<u8>)> = rows
                .into_iter()
                .map(|(on, position, bytes)| {
                    (
                        TimeKey {
                            on,
                            position: position as u64,
                        },
                        bytes,
                    )
                })
                .collect();
            let next = (page.len() as i64 == PAGE).then(|| TimelineCursor {
                after: page.last().map(|(at, _)| *at),
                ..*cursor
            });
            Ok((page, next))
        })
    }

    fn timeline_marks(&self, dyad: Dyad, after: Option<TimeKey>, last: TimeKey) -> Self::Places {
        self.paged(TimelineCursor { dyad, after, last }, |backend, cursor| {
            let (after_on, after_position, last_on, last_position) = timeline_bounds(cursor);
            let rows: Vec<(NaiveDate, i64)> = backend.with(|client| {
                Ok(client
                    .query(
                        sql::SELECT_TIMELINE_MARKS,
                        &[
                            &dyad_text(cursor.dyad),
                            &after_on,
                            &after_position,
                            &last_on,
                            &last_position,
                            &PAGE,
                        ],
                    )?
                    .into_iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect())
            })?;
            let page: Vec<TimeKey> = rows
                .into_iter()
                .map(|(on, position)| TimeKey {
                    on,
                    position: position as u64,
                })
                .collect();
            let next = (page.len() as i64 == PAGE).then(|| TimelineCursor {
                after: page.last().copied(),
                ..*cursor
            });
            Ok((page, next))
        })
    }

    fn decode(
        &self,
        dyad: Dyad,
        place: TimeKey,
        raw: Vec<u8>,
    ) -> Result<RecordedEvent, StoreError> {
        let record = self.decode_row(pos(place.position), &raw, Some(dyad))?;
        if record.occurred_on != place.on {
            return Err(Self::corrupt(
                place.position,
                format!(
                    "the row says {} but its record occurred on {}",
                    place.on, record.occurred_on
                ),
            ));
        }
        Ok(record)
    }

    fn index_from(&self, from_position: u64) -> Self::Indexed {
        self.paged(from_position, |backend, &from| {
            let rows: Vec<(i64, Vec<u8>)> = backend.with(|client| {
                Ok(client
                    .query(sql::SELECT_LOG_FROM, &[&pos(from), &PAGE])?
                    .into_iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect())
            })?;
            let page: Vec<(u64, Vec<u8>)> = rows
                .into_iter()
                .map(|(position, bytes)| (position as u64, bytes))
                .collect();
            let next =
                (page.len() as i64 == PAGE).then(|| page.last().map_or(from, |(p, _)| p + 1));
            Ok((page, next))
        })
    }

    fn read_index_entry(
        &self,
        position: u64,
        entry: Vec<u8>,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.decode_row(pos(position), &entry, None).map(Some)
    }

    fn record_count(&self) -> Result<u64, StoreError> {
        let count: i64 =
            self.with(|client| Ok(client.query_one(sql::COUNT_RECORDS, &[])?.get(0)))?;
        Ok(count as u64)
    }

    fn find_unindexed_record(&self) -> Result<(), StoreError> {
        // A row is its own position index entry: none is outside it.
        Ok(())
    }

    fn marks(&self) -> Self::Marks {
        let rows = self.with(|client| {
            Ok(client
                .query(sql::SELECT_MARKS, &[])?
                .into_iter()
                .map(|row| {
                    (
                        row.get::<_, String>(0),
                        row.get::<_, NaiveDate>(1),
                        row.get::<_, i64>(2),
                        row.get::<_, i64>(3),
                    )
                })
                .collect::<Vec<_>>())
        });
        let marks: Vec<Result<StoredMark, StoreError>> = match rows {
            Ok(rows) => rows
                .into_iter()
                .map(|(dyad, on, position, by)| {
                    let position = position as u64;
                    Ok(StoredMark {
                        position,
                        place: parse_dyad(&dyad)
                            .ok()
                            .map(|dyad| (dyad, TimeKey { on, position })),
                        by: Some(by as u64),
                    })
                })
                .collect(),
            Err(err) => vec![Err(err)],
        };
        marks.into_iter()
    }

    fn verify_backend(&self, _head: &Head) -> Result<(), StoreError> {
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        let size: i64 = self.with(|client| Ok(client.query_one(sql::SIZE, &[])?.get(0)))?;
        Ok(size.max(0) as u64)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn make_durable(&self, _durability: Durability) -> Result<(), StoreError> {
        // Committed is durable (`synchronous_commit` on).
        Ok(())
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.aux().get(key).cloned())
    }

    fn aux_write(&self, entries: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let mut aux = self.aux();
        for (key, value) in entries {
            match value {
                Some(value) => aux.insert(key, value),
                None => aux.remove(&key),
            };
        }
        Ok(())
    }

    fn aux_scan(&self, prefix: &[u8]) -> Self::AuxEntries {
        let aux = self.aux();
        let entries: Vec<_> = aux
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, value)| Ok((key.clone(), value.clone())))
            .collect();
        entries.into_iter()
    }

    fn aux_keys_from(&self, prefix: &[u8], from: &[u8]) -> Self::AuxKeys {
        let aux = self.aux();
        let keys: Vec<_> = aux
            .range::<[u8], _>((Bound::Included(from.max(prefix)), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| Ok(key.clone()))
            .collect();
        keys.into_iter()
    }

    fn aux_last_key(&self, prefix: &[u8], last: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if last < prefix {
            return Ok(None);
        }
        Ok(self
            .aux()
            .range::<[u8], _>((Bound::Included(prefix), Bound::Included(last)))
            .next_back()
            .map(|(key, _)| key.clone()))
    }
}
