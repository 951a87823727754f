//! The commands: each opens the store, calls the engine and prints.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use std::collections::HashMap;

use detente::domain::{
    BilateralState, ChainHash, Dyad, Event, EventId, NewEvent, Query, RecordedEvent, StateDiff,
    effective_timeline,
};
use detente::engine::{Engine, EngineError};
use detente::store::OpenMode;
use serde::Serialize;
use serde_json::json;

use super::{Cli, CliError, Command, DEFAULT_STORE, KnownArgs, import, render, timeline};

pub fn run(cli: Cli) -> Result<(), CliError> {
    let json = cli.json;
    match cli.command {
        Command::Demo { scenario } => match scenario.as_deref() {
            None => demo(cli.store, json),
            Some(name) if name == detente::scenario::SEED => demo(cli.store, json),
            Some(name) => demo_chronology(cli.store, name, json),
        },
        Command::Record { file } => record(&store_path(cli.store), file.as_deref(), json),
        Command::Import {
            file,
            no_progress,
            strict,
            head,
            as_new,
        } => import::run(
            &store_path(cli.store),
            &file,
            import::Options {
                progress: !no_progress,
                strict,
                head,
                as_new,
            },
            json,
        ),
        Command::Export {
            dyad,
            from_position,
            print_head,
        } => export(&store_path(cli.store), dyad, from_position, print_head),
        Command::State {
            dyad,
            as_of,
            known_at,
            at_position,
        } => {
            let query = Query {
                as_of,
                known_at,
                at_position,
            };
            state(&store_path(cli.store), dyad.dyad, &query, json)
        }
        Command::History {
            dyad,
            from,
            to,
            on,
            known,
            with_retracted,
        } => history(
            &store_path(cli.store),
            dyad.dyad,
            (on.or(from), on.or(to)),
            &known_query(&known),
            with_retracted,
            json,
        ),
        Command::Diff {
            dyad,
            from,
            to,
            known,
        } => diff(
            &store_path(cli.store),
            dyad.dyad,
            from,
            to,
            &known_query(&known),
            json,
        ),
        Command::Verify { head } => verify(&store_path(cli.store), head, json),
        Command::Stats => stats(&store_path(cli.store), json),
        Command::Timeline {
            dyad,
            svg,
            as_of,
            known_at,
        } => draw_timeline(
            &store_path(cli.store),
            dyad.dyad,
            &svg,
            as_of,
            known_at,
            json,
        ),
    }
}

/// The query of `--known-at` and `--at-position`, without a valid-time bound.
fn known_query(known: &KnownArgs) -> Query {
    Query {
        as_of: None,
        known_at: known.known_at,
        at_position: known.at_position,
    }
}

/// `--store`, else `$DETENTE_STORE`, else `./detente-store`.
fn store_path(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| {
            std::env::var_os("DETENTE_STORE")
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE))
}

/// Whether `path` is absent or an empty directory: nothing a store would have written.
fn is_vacant(path: &Path) -> Result<bool, CliError> {
    match std::fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotADirectory => Ok(false),
        Err(err) => Err(CliError::with_source(
            format!("cannot read {}", path.display()),
            err,
        )),
    }
}

/// Opens (creating where absent or empty) the store at `path`, for a write: look at the path
/// with [`Creation::before`] first, so that a refused write leaves no store behind.
pub fn open(path: &Path) -> Result<Engine, CliError> {
    let engine = Engine::open(path)?;
    note_migration(&engine);
    Ok(engine)
}

/// Opens the store at `path` for reading: never creates one. A path that holds no store (absent,
/// empty, or with other files) is refused, naming it.
fn open_existing(path: &Path) -> Result<Engine, CliError> {
    let engine = Engine::open_with(
        path,
        detente::engine::Config {
            open: OpenMode::Existing,
            ..detente::engine::Config::default()
        },
    )?;
    note_migration(&engine);
    Ok(engine)
}

/// A migration on open, and the roll-back of an import that did not finish, are the changes a
/// read may make to a store: say so.
fn note_migration(engine: &Engine) {
    if let Some((since, removed)) = engine.rolled_back_on_open() {
        eprintln!(
            "note: store {} held an import that did not finish: its {removed} events after position {} were rolled back; run the import again to complete it",
            engine.path().display(),
            since.position
        );
    }
    if let Some(from) = engine.migrated_from() {
        eprintln!(
            "note: store {} was migrated from format {from} to format {}; builds older than this one cannot read it any more",
            engine.path().display(),
            detente::store::FORMAT_VERSION
        );
    }
}

/// What a write found at the store's path before it opened it, and so what to remove if the
/// write is refused: dropped without [`Creation::keep`], it removes the store the write created,
/// so that a refused write leaves no trace, not even an empty store. Declare it before the
/// engine, so that the engine is dropped (and its files closed) first.
pub struct Creation {
    /// The outermost directory the open creates (the path was absent), or the directory to
    /// empty again (it was empty); `None` when there was a store already, or once kept.
    undo: Option<(PathBuf, bool)>,
}

impl Creation {
    /// Looks at `path` before a write opens it.
    pub fn before(path: &Path) -> Result<Creation, CliError> {
        // A URL (PostgreSQL) names no folder to remove: a refused write there leaves at most
        // the empty tables, which the next write uses.
        if path.to_str().is_some_and(|text| text.contains("://")) || !is_vacant(path)? {
            return Ok(Creation { undo: None });
        }
        if path.exists() {
            return Ok(Creation {
                undo: Some((path.to_owned(), false)),
            });
        }
        let mut outermost = path;
        for ancestor in path.ancestors().skip(1) {
            if ancestor.as_os_str().is_empty() || ancestor.exists() {
                break;
            }
            outermost = ancestor;
        }
        Ok(Creation {
            undo: Some((outermost.to_owned(), true)),
        })
    }

    /// The write succeeded: keep what it created.
    pub fn keep(mut self) {
        self.undo = None;
    }
}

impl Drop for Creation {
    /// Best effort: the error the user sees is the write's.
    fn drop(&mut self) {
        match self.undo.take() {
            None => {}
            Some((created, true)) => {
                let _ = std::fs::remove_dir_all(created);
            }
            Some((dir, false)) => {
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
    }
}

/// How many of a store's dyads an error names before it says how many more there are.
const DYADS_NAMED: usize = 5;

/// Refuses a dyad without events, naming the first few dyads there are.
fn known_dyad(engine: &Engine, dyad: Dyad) -> Result<(), CliError> {
    let dyads = engine.dyads()?;
    // A dyad that continues one with events answers for them (`RUS-USA` for `SUN-USA`'s).
    let continued: Vec<Dyad> = dyad.continues().into_iter().map(|(d, _)| d).collect();
    if dyads
        .iter()
        .any(|(known, _)| *known == dyad || continued.contains(known))
    {
        return Ok(());
    }
    let names: Vec<String> = dyads
        .iter()
        .take(DYADS_NAMED)
        .map(|(d, _)| d.to_string())
        .collect();
    let more = dyads.len() - names.len();
    Err(CliError::new(format!(
        "dyad {dyad} has no events in store {}: {}",
        engine.path().display(),
        if names.is_empty() {
            String::from("the store is empty")
        } else if more == 0 {
            format!("it holds {}", names.join(", "))
        } else {
            format!(
                "it holds {} and {more} more (`detente stats` lists them all)",
                names.join(", ")
            )
        }
    )))
}

/// Refuses an `--at-position` past the head of the store: nothing is stored there yet.
fn known_position(engine: &Engine, at_position: Option<u64>) -> Result<(), CliError> {
    let head = engine.head().position;
    match at_position {
        Some(position) if position > head => Err(CliError::new(format!(
            "--at-position {position} is past the head of store {}, position {head}: give a position from 0 to {head}",
            engine.path().display()
        ))),
        _ => Ok(()),
    }
}

/// Writes text for people to standard output, with its [hidden controls](render::visible)
/// shown escaped (line breaks kept); a closed pipe (`| head`) is not an error.
pub fn emit(text: &str) -> Result<(), CliError> {
    write_out(&render::visible(text, &['\n'], render::Escape::Text))
}

fn write_out(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(CliError::with_source("cannot write the output", err)),
    }
}

/// Writes `value` as pretty JSON and a newline, with the controls serde_json leaves as they
/// are (C1 and bidirectional) written as JSON escapes: the same value, safe on a terminal.
pub fn emit_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| CliError::with_source("cannot write JSON", err))?;
    write_out(&(render::visible(&text, &['\n'], render::Escape::Json) + "\n"))
}

/// Why a text does not parse: serde's message, the field at fault where it can say, and
/// where in the text.
pub struct ParseError {
    pub message: String,
    pub field: Option<String>,
    pub line: usize,
    pub column: usize,
}

impl ParseError {
    /// The message and the field, without the place.
    pub fn reason(&self) -> String {
        match &self.field {
            Some(field) => format!("{} (in `{field}`)", self.message),
            None => self.message.clone(),
        }
    }
}

/// serde_json's message without its ` at line L column C`.
fn bare_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Parses a JSON value, naming the field at fault where serde can say.
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = bare_message(&inner);
        // serde_path_to_error says `?` where the syntax broke before a field was known.
        let field = (path != "."
            && path != "?"
            && !path.is_empty()
            && !message.contains(&format!("`{path}`")))
        .then_some(path);
        ParseError {
            message,
            field,
            line: inner.line(),
            column: inner.column(),
        }
    })?;
    deserializer.end().map_err(|err| ParseError {
        message: bare_message(&err),
        field: None,
        line: err.line(),
        column: err.column(),
    })?;
    Ok(value)
}

/// The message of a refused record, without the batch wording of a one-event batch.
fn refusal(err: EngineError) -> CliError {
    match err {
        EngineError::Rejected { id, rejection, .. } => {
            CliError::new(format!("event `{id}` is refused: {rejection}"))
        }
        EngineError::IdConflict { id, position, .. } => CliError::new(format!(
            "id `{id}` is already recorded at position {position} with other content: use another id, or retract the stored event and record the correction"
        )),
        other => other.into(),
    }
}

fn record(store: &Path, file: Option<&Path>, json: bool) -> Result<(), CliError> {
    let (name, text) = match file {
        None => read_stdin()?,
        Some(path) if path == Path::new("-") => read_stdin()?,
        Some(path) => {
            let name = path.display().to_string();
            let file = std::fs::File::open(path)
                .map_err(|err| CliError::with_source(format!("cannot read {name}"), err))?;
            let text = read_one_event(file, &name)?;
            (name, text)
        }
    };
    refuse_misfits(&name, &text)?;
    let input: NewEvent = parse_json(&text).map_err(|err| {
        CliError::new(format!(
            "{name} is not a valid event: line {} column {}: {}",
            err.line,
            err.column,
            err.reason()
        ))
    })?;
    let defaulted = input.reported_on.is_none();
    let creation = Creation::before(store)?;
    let engine = open(store)?;
    let mut recorded = engine
        .record_batch_with_warnings(vec![input])
        .map_err(refusal)?;
    creation.keep();
    let warnings: Vec<String> = recorded.warnings.iter().map(ToString::to_string).collect();
    let Some(appended) = recorded.appended.pop() else {
        return Err(CliError::new("the engine returned no record for the event"));
    };
    let record = &appended.record;
    let defaulted = defaulted && appended.stored;
    if json {
        return emit_json(&json!({
            "id": record.id,
            "dyad": record.dyad,
            "position": record.position,
            "version": record.version,
            "stored": appended.stored,
            "reported_on": record.reported_on,
            "reported_on_defaulted": defaulted,
            "warnings": warnings,
        }));
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    if appended.stored {
        emit(&format!(
            "recorded `{}` at position {}, {} version {}\n{}",
            record.id,
            record.position,
            record.dyad,
            record.version,
            if defaulted {
                reported_on_note(1, record.reported_on)
            } else {
                String::new()
            }
        ))
    } else {
        emit(&format!(
            "already recorded at position {} ({} version {}): `{}`, nothing changed\n",
            record.position, record.dyad, record.version, record.id
        ))
    }
}

/// Refuses a text that starts with a byte order mark, which JSON does not allow and editors
/// on Windows write, with a message that says so (serde would say `expected value`).
pub fn refuse_byte_order_mark(name: &str, text: &str) -> Result<(), CliError> {
    if text.starts_with('\u{feff}') {
        return Err(CliError::new(format!(
            "{name} starts with a UTF-8 byte order mark (U+FEFF), which is not JSON: save it as UTF-8 without one"
        )));
    }
    Ok(())
}

/// Refuses, with a message that says what it is and what to do, an input to `record` that is
/// not one new event: empty, a byte order mark, an array, or a recorded event (an export
/// line).
fn refuse_misfits(name: &str, text: &str) -> Result<(), CliError> {
    refuse_byte_order_mark(name, text)?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CliError::new(format!(
            "{name} is empty: `record` takes one event, a JSON object (docs/events.md)"
        )));
    }
    if trimmed.starts_with('[') {
        return Err(CliError::new(format!(
            "{name} holds a JSON array: `record` takes one event, a JSON object; for several, put one event per line in a file and run `detente import FILE`"
        )));
    }
    if import::Kind::of(trimmed) == import::Kind::Recorded {
        return Err(CliError::new(format!(
            "{name} holds a recorded event (an export line, with `position` and `hash`), not a new one: restore export lines with `detente import FILE`, or record them as new events with `detente import --as-new FILE`"
        )));
    }
    Ok(())
}

/// The note that `count` events got the day of recording as their `reported_on`.
pub fn reported_on_note(count: usize, on: NaiveDate) -> String {
    format!(
        "note: {} no reported_on: it defaulted to {on}, the day of recording, so queries with --known-at before {on} do not see {}; give `reported_on` where the world learned of it earlier\n",
        if count == 1 {
            String::from("the event had")
        } else {
            format!("{count} events had")
        },
        if count == 1 { "it" } else { "them" }
    )
}

fn read_stdin() -> Result<(String, String), CliError> {
    let name = String::from("standard input");
    let text = read_one_event(io::stdin().lock(), &name)?;
    Ok((name, text))
}

/// Reads one event's document, keeping at most the input limit in memory: a longer one is
/// counted to the end (so the error can say how long it is) and refused.
fn read_one_event(reader: impl Read, name: &str) -> Result<String, CliError> {
    let max = detente::domain::limits::MAX_INPUT_BYTES;
    let cannot_read = |err: io::Error| CliError::with_source(format!("cannot read {name}"), err);
    let mut reader = reader;
    let mut bytes = Vec::new();
    (&mut reader)
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() > max {
        let rest = io::copy(&mut reader, &mut io::sink()).map_err(cannot_read)?;
        let size = bytes
            .len()
            .saturating_add(usize::try_from(rest).unwrap_or(usize::MAX));
        if let Err(limit) = detente::domain::limits::check_input_size(size) {
            return Err(CliError::new(format!(
                "{name} is not a valid event: {limit}"
            )));
        }
    }
    // The same words as `read_to_string`, which `import` uses.
    String::from_utf8(bytes).map_err(|_| {
        cannot_read(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

fn export(
    store: &Path,
    dyad: Option<Dyad>,
    from_position: u64,
    print_head: bool,
) -> Result<(), CliError> {
    let engine = open_existing(store)?;
    let head = engine.head().position;
    if from_position > head + 1 {
        return Err(CliError::new(format!(
            "--from-position {from_position} is past the head of store {}, position {head}: give a position from 1 to {}",
            store.display(),
            head + 1
        )));
    }
    if print_head {
        // Read before the records: the export goes at least this far.
        let head = engine.head();
        eprintln!("head: position {}, hash {}", head.position, head.hash);
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for record in engine.log(from_position.max(1)) {
        let record = record?;
        if dyad.is_some_and(|dyad| dyad != record.dyad) {
            continue;
        }
        let written = serde_json::to_writer(&mut out, &record)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        match written {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(err) => return Err(CliError::with_source("cannot write the export", err)),
        }
    }
    match out.flush() {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(CliError::with_source("cannot write the export", err)),
    }
}

fn state(store: &Path, dyad: Dyad, query: &Query, json: bool) -> Result<(), CliError> {
    let engine = open_existing(store)?;
    known_dyad(&engine, dyad)?;
    known_position(&engine, query.at_position)?;
    let mut state = engine.query(dyad, query)?;
    if !state.anomalies.is_empty() {
        // Name the retraction behind each anomaly (the fold cannot: the target is dropped).
        let log: Vec<RecordedEvent> = engine.continued_stream(dyad)?;
        detente::domain::explain_anomalies(&mut state, &log, query);
    }
    if json {
        return emit_json(&state);
    }
    let header = render::query_header(dyad, query.as_of, query.known_at, query.at_position);
    emit(&render::state(&state, &header))
}

fn check_order(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), CliError> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => Err(CliError::new(format!(
            "--from {from} is after --to {to}: give the earlier date first"
        ))),
        _ => Ok(()),
    }
}

fn history(
    store: &Path,
    dyad: Dyad,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
    known: &Query,
    with_retracted: bool,
    json: bool,
) -> Result<(), CliError> {
    check_order(from, to)?;
    let engine = open_existing(store)?;
    known_dyad(&engine, dyad)?;
    known_position(&engine, known.at_position)?;
    let in_period = |record: &RecordedEvent| {
        from.is_none_or(|from| record.occurred_on >= from)
            && to.is_none_or(|to| record.occurred_on <= to)
    };
    let (events, retractions) = if with_retracted || *known != Query::default() {
        let log = engine.continued_stream(dyad)?;
        let mut events: Vec<RecordedEvent> = effective_timeline(&log, known)
            .into_iter()
            .filter(|record| in_period(record))
            .cloned()
            .collect();
        let mut retractions = HashMap::new();
        if with_retracted {
            retractions = first_retractions(&log, known);
            events.extend(
                log.iter()
                    .filter(|record| known.knows(record) && in_period(record))
                    .filter(|record| retractions.contains_key(&record.id))
                    .cloned(),
            );
            events.sort_by_key(|record| (record.occurred_on, record.position));
        }
        (events, retractions)
    } else {
        (engine.history(dyad, from, to)?, HashMap::new())
    };
    let retracted_by = |record: &RecordedEvent| retractions.get(&record.id);
    if json {
        if !with_retracted {
            return emit_json(&events);
        }
        let marked: Vec<serde_json::Value> = events
            .iter()
            .map(|record| {
                let mut value = serde_json::to_value(record)
                    .map_err(|err| CliError::with_source("cannot write JSON", err))?;
                if let (Some(by), serde_json::Value::Object(map)) =
                    (retracted_by(record), &mut value)
                {
                    map.insert("retracted_by".into(), retraction_json(by));
                }
                Ok(value)
            })
            .collect::<Result<_, CliError>>()?;
        return emit_json(&marked);
    }
    let mut header = String::new();
    if let Some(date) = known.known_at {
        header.push_str(&format!(", as known on {date}"));
    }
    if let Some(position) = known.at_position {
        header.push_str(&format!(", as stored at position {position}"));
    }
    emit(&render::history_marked(
        dyad,
        &events,
        &header,
        &retracted_by,
    ))
}

/// The first retraction of each retracted event of `log`, by the event's id, among the
/// retractions the query knows of.
fn first_retractions(log: &[RecordedEvent], query: &Query) -> HashMap<EventId, RecordedEvent> {
    let mut retractions: HashMap<EventId, RecordedEvent> = HashMap::new();
    for record in log.iter().filter(|record| query.knows(record)) {
        if let Event::EventRetracted(retraction) = &record.event {
            retractions
                .entry(retraction.target.clone())
                .or_insert_with(|| record.clone());
        }
    }
    retractions
}

/// The retraction that removed an event, as `history --with-retracted --json` gives it.
fn retraction_json(retraction: &RecordedEvent) -> serde_json::Value {
    let reason = match &retraction.event {
        Event::EventRetracted(retracted) => Some(retracted.reason.clone()),
        _ => None,
    };
    json!({
        "id": retraction.id,
        "position": retraction.position,
        "occurred_on": retraction.occurred_on,
        "reported_on": retraction.reported_on,
        "reason": reason,
    })
}

fn diff(
    store: &Path,
    dyad: Dyad,
    from: NaiveDate,
    to: NaiveDate,
    known: &Query,
    json: bool,
) -> Result<(), CliError> {
    check_order(Some(from), Some(to))?;
    let engine = open_existing(store)?;
    known_dyad(&engine, dyad)?;
    known_position(&engine, known.at_position)?;
    let diff = if *known == Query::default() {
        engine.diff(dyad, from, to)?
    } else {
        let before = engine.query(
            dyad,
            &Query {
                as_of: Some(from),
                ..*known
            },
        )?;
        let after = engine.query(
            dyad,
            &Query {
                as_of: Some(to),
                ..*known
            },
        )?;
        StateDiff::between(&before, &after)
    };
    if json {
        return emit_json(&diff);
    }
    let mut text = render::diff(dyad, from, to, &diff);
    if let Some(first) = text.find('\n') {
        let mut bounds = String::new();
        if let Some(date) = known.known_at {
            bounds.push_str(&format!(", as known on {date}"));
        }
        if let Some(position) = known.at_position {
            bounds.push_str(&format!(", as stored at position {position}"));
        }
        text.insert_str(first, &bounds);
    }
    emit(&text)
}

fn verify(store: &Path, trusted: Option<ChainHash>, json: bool) -> Result<(), CliError> {
    let engine = open_existing(store)?;
    let report = engine.verify()?;
    let head = engine.head();
    let through = match trusted {
        None => None,
        Some(trusted) => {
            let mut found = None;
            for record in engine.log(1) {
                let record = record?;
                if record.hash == trusted {
                    found = Some(record.position);
                    break;
                }
            }
            match found {
                Some(position) => Some(position),
                None => {
                    return Err(CliError::new(format!(
                        "the chain of {} does not pass through the head {trusted} you trust: it is another log, or one rewritten or cut before that record",
                        store.display()
                    )));
                }
            }
        }
    };
    let findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    if json {
        return emit_json(&json!({
            "ok": true,
            "events": report.events,
            "dyads": report.dyads,
            "snapshots": report.snapshots,
            "projections": report.projections,
            "head_position": head.position,
            "head_hash": head.hash,
            "trusted_head_position": through,
            "findings": findings,
        }));
    }
    let mut extra = String::new();
    if let Some(position) = through {
        extra.push_str(&format!(
            "  trusted head            passed through at position {position}\n"
        ));
    }
    if !findings.is_empty() {
        extra.push_str(&format!(
            "  findings                {} record{} break{} a rule of history (restored or recorded under an earlier edition of the rules):\n",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            if findings.len() == 1 { "s" } else { "" },
        ));
        for finding in &findings {
            extra.push_str(&format!("    {finding}\n"));
        }
    }
    emit(
        &(format!(
            "ok: {store} is consistent\n  \
         hash chain and indexes  {} events, head position {}, hash {}\n  \
         timelines and states    {} dyad{}, replayed from the log\n  \
         snapshots               {}\n  \
         user projections        {}\n",
            report.events,
            head.position,
            head.hash,
            report.dyads,
            if report.dyads == 1 { "" } else { "s" },
            report.snapshots,
            report.projections,
            store = store.display(),
        ) + extra.as_str()),
    )
}

fn stats(store: &Path, json: bool) -> Result<(), CliError> {
    let engine = open_existing(store)?;
    let stats = engine.stats()?;
    let head = engine.head();
    let dyads = engine.dyads()?;
    if json {
        let versions: serde_json::Map<String, serde_json::Value> = dyads
            .iter()
            .map(|(dyad, version)| (dyad.to_string(), json!(version)))
            .collect();
        return emit_json(&json!({
            "store": store.display().to_string(),
            "events": stats.events,
            "dyads": stats.dyads,
            "head_position": stats.head_position,
            "head_hash": head.hash,
            "size_on_disk": stats.size_on_disk,
            "dyad_versions": versions,
        }));
    }
    let mut table = render::Table::new(&["store", &store.display().to_string()]);
    table.row(vec!["events".into(), stats.events.to_string()]);
    table.row(vec!["dyads".into(), stats.dyads.to_string()]);
    for (dyad, version) in &dyads {
        table.row(vec![
            String::new(),
            format!(
                "{dyad}: {version} event{}",
                if *version == 1 { "" } else { "s" }
            ),
        ]);
    }
    table.row(vec![
        "head".into(),
        format!("position {}, hash {}", stats.head_position, head.hash),
    ]);
    table.row(vec!["on disk".into(), render::bytes(stats.size_on_disk)]);
    emit(&table.render(""))
}

fn draw_timeline(
    store: &Path,
    dyad: Dyad,
    svg: &Path,
    as_of: Option<NaiveDate>,
    known_at: Option<NaiveDate>,
    json: bool,
) -> Result<(), CliError> {
    let engine = open_existing(store)?;
    known_dyad(&engine, dyad)?;
    let query = Query {
        as_of,
        known_at,
        at_position: None,
    };
    let state = engine.query(dyad, &query)?;
    // The effective timeline from the dyad's stream, by the library's reference definition,
    // so that known_at applies too; and the events its retractions removed.
    let log = engine.continued_stream(dyad)?;
    let events: Vec<RecordedEvent> = effective_timeline(&log, &query)
        .into_iter()
        .cloned()
        .collect();
    let removed = first_retractions(&log, &query);
    let retracted = log
        .iter()
        .filter(|record| query.knows(record) && removed.contains_key(&record.id))
        .cloned()
        .collect();
    let picture = timeline::render(
        &state,
        &events,
        &timeline::Options {
            dyad,
            as_of,
            known_at,
            retracted,
        },
    );
    if svg == Path::new("-") {
        // The picture is the output: no summary after it.
        return emit(&picture);
    }
    std::fs::write(svg, picture.as_bytes())
        .map_err(|err| CliError::with_source(format!("cannot write {}", svg.display()), err))?;
    let items = state.agenda_items();
    if json {
        return emit_json(&json!({
            "svg": svg.display().to_string(),
            "events": events.len(),
            "rounds": state.rounds.len(),
            "items": items,
        }));
    }
    emit(&format!(
        "wrote {}: {} events, {} round{} of talks, {} agenda item{}\n",
        svg.display(),
        events.len(),
        state.rounds.len(),
        if state.rounds.len() == 1 { "" } else { "s" },
        items,
        if items == 1 { "" } else { "s" },
    ))
}

/// The scenarios `detente demo --scenario` plays, one per line: name and title.
fn scenario_list() -> String {
    let mut out = format!(
        "  {:<24} the Russia–US consultations in Istanbul, 27 February 2025 (the default)\n",
        detente::scenario::SEED
    );
    for chronology in detente::scenario::CHRONOLOGIES {
        out.push_str(&format!("  {:<24} {}\n", chronology.name, chronology.title));
    }
    out
}

/// `detente demo --scenario NAME` for a chronology of `examples/chronologies/` (or `list`).
fn demo_chronology(explicit: Option<PathBuf>, name: &str, json: bool) -> Result<(), CliError> {
    let Some(chronology) = detente::scenario::Chronology::named(name) else {
        if name == "list" {
            return emit(&format!(
                "the scenarios of `detente demo --scenario NAME`:\n{}",
                scenario_list()
            ));
        }
        return Err(CliError::new(format!(
            "there is no scenario `{name}`: give one of\n{}",
            scenario_list().trim_end()
        )));
    };
    let (path, kept, _temporary) = demo_store(explicit)?;
    let engine = open(&path)?;
    let recorded = engine.record_batch(chronology.events())?;
    let dyad = chronology
        .dyad()
        .ok_or_else(|| CliError::new("the scenario has no events"))?;
    let state = engine.state(dyad)?;
    if json {
        return emit_json(&json!({
            "scenario": chronology.name,
            "store": if kept { Some(path.display().to_string()) } else { None },
            "recorded": recorded.len(),
            "dyad": dyad,
            "state": state,
        }));
    }
    let mut out = format!("detente demo: {}\n", chronology.title);
    out.push_str(&format!(
        "recorded {} events of examples/chronologies/{}.jsonl (its README names the sources)\n",
        recorded.len(),
        chronology.name
    ));
    let continued: Vec<String> = dyad
        .continues()
        .iter()
        .filter(|(other, _)| recorded.iter().any(|a| a.record.dyad == *other))
        .map(|(other, on)| format!("{dyad} continues {other} from {on}"))
        .collect();
    if !continued.is_empty() {
        out.push_str(&format!(
            "{}: its timeline holds that dyad's events\n",
            continued.join("; ")
        ));
    }
    out.push_str(if kept {
        ""
    } else {
        "into a temporary store, removed on exit: pass --store DIR to keep it\n"
    });
    out.push_str("\n════ The state now ════\n");
    out.push_str(&render::state(
        &state,
        &render::query_header(dyad, None, None, None),
    ));
    out.push_str("\n════ The chronology (effective timeline) ════\n");
    out.push_str(&render::history(dyad, &engine.history(dyad, None, None)?));
    emit(&out)
}

/// Where a demo records: the empty or absent `--store` it was given (kept), or a temporary
/// store, removed when the returned folder is dropped.
fn demo_store(
    explicit: Option<PathBuf>,
) -> Result<(PathBuf, bool, Option<tempfile::TempDir>), CliError> {
    match explicit {
        Some(path) => {
            if !is_vacant(&path)? {
                return Err(CliError::new(format!(
                    "--store {} is not empty: the demo records into an empty or absent store; name a new path, or leave --store out to use a temporary one",
                    path.display()
                )));
            }
            Ok((path, true, None))
        }
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("detente-demo-")
                .tempdir()
                .map_err(|err| CliError::with_source("cannot create a temporary store", err))?;
            Ok((temporary.path().join("store"), false, Some(temporary)))
        }
    }
}

fn demo(explicit: Option<PathBuf>, json: bool) -> Result<(), CliError> {
    let (path, kept, _temporary) = demo_store(explicit)?;
    let engine = open(&path)?;
    let first = engine.record_batch(detente::scenario::istanbul_2025())?;
    let followups = engine.record_batch(detente::scenario::istanbul_2025_followups())?;
    let dyad: Dyad = first
        .first()
        .map(|appended| appended.record.dyad)
        .ok_or_else(|| CliError::new("the scenario has no events"))?;
    let state = engine.state(dyad)?;
    if json {
        return emit_json(&json!({
            "store": if kept { Some(path.display().to_string()) } else { None },
            "recorded": first.len() + followups.len(),
            "state": state,
        }));
    }
    let mut out = String::new();
    out.push_str("detente demo: the Russia–US consultations in Istanbul, 27 February 2025\n");
    out.push_str(&format!(
        "recorded {} events (background since 2016 and the talks, as first reported on 2025-02-28), then {} follow-up reports of 2025-03-01 (a correction of the venue)\n",
        first.len(),
        followups.len()
    ));
    out.push_str(if kept {
        ""
    } else {
        "into a temporary store, removed on exit: pass --store DIR to keep it\n"
    });
    out.push_str("\n════ The state now ════\n");
    out.push_str(&render::state(
        &state,
        &render::query_header(dyad, None, None, None),
    ));
    out.push_str("\n════ The chronology (effective timeline) ════\n");
    out.push_str(&render::history(dyad, &engine.history(dyad, None, None)?));
    out.push_str("\n════ Bitemporal: what was known when ════\n");
    out.push_str(&knowledge_story(&engine, dyad)?);
    out.push_str("\n════ Next ════\n");
    let store_arg = if kept {
        format!("--store {} ", path.display())
    } else {
        String::from("--store DIR ")
    };
    if !kept {
        out.push_str("  detente demo --store DIR     # keep the store, then:\n");
    }
    for command in [
        "state --dyad RUS-USA --known-at 2025-02-28",
        "history --dyad RUS-USA --on 2025-02-27",
        "diff --dyad RUS-USA --from 2018-12-31 --to 2025-03-01",
        "timeline --dyad RUS-USA --svg istanbul.svg",
        "export > istanbul.jsonl",
    ] {
        out.push_str(&format!("  detente {store_arg}{command}\n"));
    }
    emit(&out)
}

/// How the picture of the talks changed with what was known: the venue as known on each date
/// a report arrived.
fn knowledge_story(engine: &Engine, dyad: Dyad) -> Result<String, CliError> {
    let mut dates: Vec<NaiveDate> = engine
        .stream(dyad)
        .map(|record| record.map(|record| record.reported_on))
        .collect::<Result<Vec<_>, _>>()?;
    dates.sort();
    dates.dedup();
    // The last two report dates: the first reports of the talks and the correction.
    let dates = dates.split_off(dates.len().saturating_sub(2));
    let mut out = String::new();
    if let Some(first) = dates.first().and_then(|d| d.pred_opt()) {
        let before = engine.query(
            dyad,
            &Query {
                known_at: Some(first),
                ..Query::default()
            },
        )?;
        out.push_str(&format!("  as known on {first}: {}\n", summary(&before)));
    }
    for date in dates {
        let known = engine.query(
            dyad,
            &Query {
                known_at: Some(date),
                ..Query::default()
            },
        )?;
        out.push_str(&format!("  as known on {date}: {}\n", summary(&known)));
    }
    Ok(out)
}

fn summary(state: &BilateralState) -> String {
    let items = state.agenda_items();
    let rounds: Vec<String> = state
        .rounds
        .iter()
        .map(|round| {
            format!(
                "talks on {} in {}{}",
                round.held_on,
                round.location.city,
                round
                    .location
                    .venue
                    .as_ref()
                    .map(|venue| format!(", at the {venue}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    format!(
        "{}; {items} agenda item{}",
        if rounds.is_empty() {
            String::from("no talks")
        } else {
            rounds.join("; ")
        },
        if items == 1 { "" } else { "s" }
    )
}
