//! The SQL of the PostgreSQL backend: plain statements, so that a PostgreSQL-compatible
//! database can serve them too.

/// Whether the tables are there (the head row's table is created last, in the same
/// transaction as the others).
pub(super) const TABLES_EXIST: &str = "SELECT to_regclass('detente_head') IS NOT NULL";

/// Creates the tables, under a transaction-scoped advisory lock so that two first writers
/// do not collide (`CREATE TABLE IF NOT EXISTS` alone races on the catalog).
pub(super) const CREATE: &str = "
SELECT pg_advisory_xact_lock(7361426550104158037);
CREATE TABLE IF NOT EXISTS detente_meta (
    key text PRIMARY KEY,
    value bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS detente_log (
    position bigint PRIMARY KEY CHECK (position > 0),
    dyad text NOT NULL,
    version bigint NOT NULL CHECK (version > 0),
    occurred_on date NOT NULL,
    id text NOT NULL UNIQUE,
    record bytea NOT NULL,
    UNIQUE (dyad, version)
);
CREATE INDEX IF NOT EXISTS detente_log_timeline ON detente_log (dyad, occurred_on, position);
CREATE TABLE IF NOT EXISTS detente_marks (
    dyad text NOT NULL,
    occurred_on date NOT NULL,
    position bigint NOT NULL,
    by_position bigint NOT NULL,
    PRIMARY KEY (dyad, occurred_on, position)
);
CREATE TABLE IF NOT EXISTS detente_versions (
    dyad text PRIMARY KEY,
    version bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS detente_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    position bigint NOT NULL,
    hash bytea NOT NULL
);
";

/// The format row, unless one is there.
pub(super) const INSERT_FORMAT: &str =
    "INSERT INTO detente_meta (key, value) VALUES ('format', $1) ON CONFLICT (key) DO NOTHING";

/// The head row of an empty log, unless one is there.
pub(super) const INSERT_HEAD: &str = "INSERT INTO detente_head (one, position, hash) VALUES (true, 0, $1) ON CONFLICT (one) DO NOTHING";

pub(super) const SELECT_FORMAT: &str = "SELECT value FROM detente_meta WHERE key = 'format'";

pub(super) const SELECT_HEAD: &str = "SELECT position, hash FROM detente_head";

/// The head row, locked until the transaction ends: every append takes it first.
pub(super) const LOCK_HEAD: &str = "SELECT position, hash FROM detente_head FOR UPDATE";

pub(super) const UPDATE_HEAD: &str = "UPDATE detente_head SET position = $1, hash = $2";

pub(super) const INSERT_RECORDS: &str = "
INSERT INTO detente_log (position, dyad, version, occurred_on, id, record)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::date[], $5::text[], $6::bytea[])";

pub(super) const INSERT_MARKS: &str = "
INSERT INTO detente_marks (dyad, occurred_on, position, by_position)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[])
ON CONFLICT DO NOTHING";

pub(super) const UPSERT_VERSIONS: &str = "
INSERT INTO detente_versions (dyad, version)
SELECT * FROM unnest($1::text[], $2::bigint[])
ON CONFLICT (dyad) DO UPDATE SET version = EXCLUDED.version";

pub(super) const SELECT_RECORD_AT: &str =
    "SELECT position, record FROM detente_log WHERE position = $1";

pub(super) const SELECT_POSITION_OF: &str = "SELECT position FROM detente_log WHERE id = $1";

pub(super) const SELECT_PLACE_AT: &str =
    "SELECT dyad, occurred_on FROM detente_log WHERE position = $1";

pub(super) const SELECT_MARK: &str =
    "SELECT by_position FROM detente_marks WHERE dyad = $1 AND occurred_on = $2 AND position = $3";

pub(super) const SELECT_VERSIONS: &str = "SELECT dyad, version FROM detente_versions";

pub(super) const SELECT_DYAD_VERSIONS: &str = "
SELECT position, record FROM detente_log
WHERE dyad = $1 AND version BETWEEN $2 AND $3
ORDER BY version";

/// A page of a dyad's timeline: after `($2, $3)` (from the start where `$2` is null),
/// through `($4, $5)`, at most `$6` rows.
pub(super) const SELECT_TIMELINE: &str = "
SELECT occurred_on, position, record FROM detente_log
WHERE dyad = $1
  AND ($2::date IS NULL OR (occurred_on, position) > ($2::date, $3::bigint))
  AND (occurred_on, position) <= ($4::date, $5::bigint)
ORDER BY occurred_on, position
LIMIT $6";

/// [`SELECT_TIMELINE`]'s marks.
pub(super) const SELECT_TIMELINE_MARKS: &str = "
SELECT occurred_on, position FROM detente_marks
WHERE dyad = $1
  AND ($2::date IS NULL OR (occurred_on, position) > ($2::date, $3::bigint))
  AND (occurred_on, position) <= ($4::date, $5::bigint)
ORDER BY occurred_on, position
LIMIT $6";

pub(super) const SELECT_LOG_FROM: &str = "
SELECT position, record FROM detente_log WHERE position >= $1 ORDER BY position LIMIT $2";

pub(super) const COUNT_RECORDS: &str = "SELECT count(*) FROM detente_log";

pub(super) const SELECT_MARKS: &str = "SELECT dyad, occurred_on, position, by_position FROM detente_marks ORDER BY dyad, occurred_on, position";

pub(super) const SIZE: &str = "
SELECT (pg_total_relation_size('detente_log') + pg_total_relation_size('detente_marks')
    + pg_total_relation_size('detente_versions') + pg_total_relation_size('detente_head')
    + pg_total_relation_size('detente_meta'))::bigint";

/// One consistent snapshot for the reads that follow, until [`END_SNAPSHOT`].
pub(super) const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

pub(super) const END_SNAPSHOT: &str = "COMMIT";
