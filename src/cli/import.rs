//! `detente import FILE.jsonl`: new events recorded in one batch, or recorded events (an
//! export) restored verbatim; all or nothing either way, the first bad line named.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

use detente::domain::{ChainHash, NewEvent, RecordedEvent};
use detente::engine::{EngineError, ImportError};
use detente::store::{RestoreMismatch, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::CliError;
use super::commands::{
    Creation, emit, emit_json, open, parse_json, refuse_byte_order_mark, reported_on_note,
};
use chrono::NaiveDate;

/// What a file holds, decided by its first non-blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Events as input (`NewEvent`).
    New,
    /// Recorded events, as `detente export` prints them.
    Recorded,
}

impl Kind {
    /// What `line` holds: a recorded event when it is an object with `position` or `hash`.
    pub(super) fn of(line: &str) -> Kind {
        if detente::domain::limits::check_input_size(line.len()).is_err() {
            // Too long to read: `parse_all` names it.
            return Kind::New;
        }
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line) {
            Ok(map) if map.contains_key("position") || map.contains_key("hash") => Kind::Recorded,
            _ => Kind::New,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::New => "new events",
            Kind::Recorded => "recorded events (an export)",
        }
    }
}

/// The lines of an import that hold something, with their line numbers from 1, read one at
/// a time. A line longer than an event may be is refused without being held in memory: the
/// rest of it is only counted, so that one line cannot exhaust memory whatever its length.
struct Lines<R> {
    reader: R,
    number: usize,
    buffer: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            number: 0,
            buffer: Vec::new(),
            done: false,
        }
    }

    fn read_one(&mut self) -> Result<Option<(usize, String)>, CliError> {
        let cap = detente::domain::limits::MAX_INPUT_BYTES;
        loop {
            self.number += 1;
            let number = self.number;
            self.buffer.clear();
            let read = (&mut self.reader)
                .take(cap as u64 + 2)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|err| CliError::with_source("cannot read the input", err))?;
            if read == 0 {
                return Ok(None);
            }
            if !self.buffer.ends_with(b"\n") && self.buffer.len() > cap {
                let length = self.buffer.len() + skip_line(&mut self.reader)?;
                if let Err(limit) = detente::domain::limits::check_input_size(length) {
                    return Err(CliError::new(format!(
                        "line {number}: {limit}; nothing was imported"
                    )));
                }
            }
            let line = String::from_utf8(std::mem::take(&mut self.buffer)).map_err(|_| {
                CliError::new(format!(
                    "line {number}: stream did not contain valid UTF-8; nothing was imported"
                ))
            })?;
            let trimmed = line.trim_end_matches(['\n', '\r']);
            if !trimmed.trim().is_empty() {
                return Ok(Some((number, trimmed.to_owned())));
            }
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<(usize, String), CliError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.read_one().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// Every line of an import that holds something (see [`Lines`]), in memory: for a restore.
#[cfg(test)]
fn read_lines(reader: impl BufRead) -> Result<Vec<(usize, String)>, CliError> {
    Lines::new(reader).collect()
}

/// Consumes the rest of a line without keeping it; returns how many bytes it had.
fn skip_line(reader: &mut impl BufRead) -> Result<usize, CliError> {
    let mut skipped = 0;
    loop {
        let chunk = reader
            .fill_buf()
            .map_err(|err| CliError::with_source("cannot read the input", err))?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        match chunk.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(skipped + end);
            }
            None => {
                let length = chunk.len();
                reader.consume(length);
                skipped += length;
            }
        }
    }
}

/// Parses a line as `T`, naming it when it is bad; a line of the other kind is named as such.
fn parse_line<T: serde::de::DeserializeOwned>(
    number: usize,
    line: &str,
    kind: Kind,
) -> Result<T, CliError> {
    // Bounded before parsing, so that one line cannot exhaust memory.
    if let Err(limit) = detente::domain::limits::check_input_size(line.len()) {
        return Err(CliError::new(format!(
            "line {number}: {limit}; nothing was imported"
        )));
    }
    parse_json::<T>(line).map_err(|err| {
        let other = Kind::of(line);
        if other != kind {
            return CliError::new(format!(
                "line {number}: it holds {} but the file began with {}: import them from separate files",
                other.name(),
                kind.name()
            ));
        }
        CliError::new(format!(
            "line {number}: {} (column {}); nothing was imported",
            err.reason(),
            err.column
        ))
    })
}

/// Parses every line as `T`, naming the first bad one.
fn parse_all<T: serde::de::DeserializeOwned>(
    lines: &[(usize, &str)],
    kind: Kind,
    bar: &ProgressBar,
) -> Result<Vec<T>, CliError> {
    let mut out = Vec::with_capacity(lines.len());
    for (number, line) in lines {
        out.push(parse_line(*number, line, kind)?);
        bar.inc(1);
    }
    Ok(out)
}

fn progress_bar(n_lines: usize, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n_lines as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} lines") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("reading");
    bar
}

/// The bar of a streamed import: by bytes of the file where its size is known (a file), by
/// lines otherwise (standard input).
fn stream_bar(bytes: Option<u64>, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match bytes {
        Some(bytes) => (
            ProgressBar::new(bytes),
            "{msg:>12} [{bar:40}] {bytes}/{total_bytes}",
        ),
        None => (
            ProgressBar::no_length(),
            "{msg:>12} {pos} lines ({elapsed})",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("recording");
    bar
}

fn spinner(bar: &ProgressBar, message: String) {
    if bar.is_hidden() {
        return;
    }
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
}

/// How an import runs.
pub struct Options {
    /// Show a progress bar on a terminal.
    pub progress: bool,
    /// A restore refuses records that break a rule of history too.
    pub strict: bool,
    /// A restore's chain must pass through this hash.
    pub head: Option<ChainHash>,
    /// The lines of an export are recorded as new events (ids, dates, sources and facts kept;
    /// positions, versions, hashes and `recorded_at` left behind).
    pub as_new: bool,
}

/// Imports `file` into `store`, as `options` say.
pub fn run(store: &Path, file: &Path, options: Options, json: bool) -> Result<(), CliError> {
    let progress = options.progress;
    let as_new = options.as_new;
    let (reader, bytes): (Box<dyn BufRead>, Option<u64>) = if file == Path::new("-") {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let opened = std::fs::File::open(file)
            .map_err(|err| CliError::with_source(format!("cannot read {}", file.display()), err))?;
        let bytes = opened.metadata().ok().map(|meta| meta.len());
        (Box::new(std::io::BufReader::new(opened)), bytes)
    };
    let mut lines = Lines::new(reader);
    let Some(first) = lines.next().transpose()? else {
        return Err(CliError::new(format!(
            "{} holds no events: nothing to import",
            file.display()
        )));
    };
    refuse_byte_order_mark(&file.display().to_string(), &first.1)?;
    let kind = Kind::of(&first.1);
    let (result, bar) = if kind == Kind::New || as_new {
        let bar = stream_bar(bytes, progress);
        let lines = std::iter::once(Ok(first)).chain(lines);
        (import_stream(store, lines, kind, &bar), bar)
    } else {
        // A restore checks the export's chain as a whole: its lines are held.
        let owned: Vec<(usize, String)> = std::iter::once(Ok(first))
            .chain(lines)
            .collect::<Result<_, _>>()?;
        let lines: Vec<(usize, &str)> = owned.iter().map(|(n, line)| (*n, line.as_str())).collect();
        let bar = progress_bar(lines.len(), progress);
        (restore(store, &lines, &bar, &options), bar)
    };
    bar.finish_and_clear();
    let outcome = result?;
    if json {
        return emit_json(&json!({
            "kind": match outcome.kind { Kind::New => "new", Kind::Recorded => "recorded" },
            "recorded": outcome.stored,
            "already_present": outcome.present,
            "possible_duplicates": outcome.duplicates.len(),
            "duplicate_lines": outcome.duplicates,
            "warnings": outcome.warnings,
            "findings": outcome.findings,
            "head_position": outcome.head,
            "reported_on_defaulted": outcome.defaulted,
            "seconds": outcome.seconds,
        }));
    }
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    for finding in &outcome.findings {
        eprintln!("finding: {finding}");
    }
    let verb = match outcome.kind {
        Kind::New => "recorded",
        Kind::Recorded => "restored",
    };
    let duplicates = match outcome.duplicates.len() {
        0 => String::new(),
        n => format!(
            ", {n} possible duplicate{} (line{} {})",
            if n == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" },
            outcome
                .duplicates
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let took = match outcome.seconds {
        Some(seconds) => format!(" ({seconds:.1} s)"),
        None => String::new(),
    };
    emit(&format!(
        "imported {}: {} {verb}, {} already present{duplicates}; head position {}{took}\n{}",
        file.display(),
        outcome.stored,
        outcome.present,
        outcome.head,
        match outcome.defaulted_on {
            Some(on) => reported_on_note(outcome.defaulted, on),
            None => String::new(),
        }
    ))
}

struct Outcome {
    kind: Kind,
    stored: usize,
    present: usize,
    head: u64,
    /// The line numbers of the likely duplicates recorded.
    duplicates: Vec<usize>,
    /// Every warning, its line named.
    warnings: Vec<String>,
    /// Records restored that break a rule of history, their lines named.
    findings: Vec<String>,
    /// New events stored without `reported_on`, which defaulted to the day of recording.
    defaulted: usize,
    /// That day.
    defaulted_on: Option<NaiveDate>,
    /// How long the import took (a streamed one).
    seconds: Option<f64>,
}

/// The line number of each input of a streamed import, by its index: kept as the indices
/// where the two stop moving together (a blank line), so that it does not grow with the file.
#[derive(Default)]
struct LineNumbers {
    starts: Vec<(usize, usize)>,
}

impl LineNumbers {
    fn push(&mut self, index: usize, number: usize) {
        let continues = self
            .starts
            .last()
            .is_some_and(|&(first, line)| number.checked_sub(line) == Some(index - first));
        if !continues {
            self.starts.push((index, number));
        }
    }

    fn line_of(&self, index: usize) -> usize {
        let at = self.starts.partition_point(|&(first, _)| first <= index);
        match at.checked_sub(1).and_then(|at| self.starts.get(at)) {
            Some(&(first, line)) => line + (index - first),
            None => 0,
        }
    }
}

/// Records the new events of `lines` (events as input, or an export's records as new events
/// with `--as-new`) by streaming them into one import: all or nothing, in memory bounded by the
/// states folded, not by the file.
fn import_stream(
    store: &Path,
    lines: impl Iterator<Item = Result<(usize, String), CliError>>,
    kind: Kind,
    bar: &ProgressBar,
) -> Result<Outcome, CliError> {
    let creation = Creation::before(store)?;
    let engine = open(store)?;
    let numbers = std::cell::RefCell::new(LineNumbers::default());
    let mut lines = lines.peekable();
    let inputs = std::iter::from_fn(|| {
        let next = lines.next();
        if lines.peek().is_none() {
            spinner(bar, "checking and recording".to_owned());
        }
        next
    })
    .enumerate()
    .map(|(index, line)| {
        let (number, line) = line?;
        numbers.borrow_mut().push(index, number);
        bar.inc(if bar.length().is_some() {
            line.len() as u64 + 1
        } else {
            1
        });
        match kind {
            Kind::New => parse_line::<NewEvent>(number, &line, kind),
            Kind::Recorded => parse_line::<RecordedEvent>(number, &line, kind).map(|record| {
                // `--as-new`: each recorded event as a new one, with its id, dyad, dates,
                // sources and fact.
                NewEvent {
                    id: Some(record.id),
                    dyad: record.dyad,
                    occurred_on: record.occurred_on,
                    reported_on: Some(record.reported_on),
                    sources: record.sources,
                    event: record.event,
                }
            }),
        }
    });
    let imported = engine.import(inputs);
    let numbers = numbers.into_inner();
    let line_of = |index: usize| numbers.line_of(index);
    let imported = imported.map_err(|err| match err {
        ImportError::Input { error, .. } => error,
        ImportError::Engine(EngineError::Rejected {
            index,
            id,
            rejection,
        }) => CliError::new(format!(
            "line {} (`{id}`): {rejection}; nothing was imported",
            line_of(index)
        )),
        ImportError::Engine(EngineError::IdConflict {
            index,
            id,
            position: 0,
        }) => CliError::new(format!(
            "line {}: id `{id}` appears on an earlier line with other content; nothing was imported",
            line_of(index)
        )),
        ImportError::Engine(EngineError::IdConflict {
            index,
            id,
            position,
        }) => CliError::new(format!(
            "line {}: id `{id}` is already recorded at position {position} with other content: use another id, or retract the stored event and record the correction; nothing was imported",
            line_of(index)
        )),
        ImportError::Engine(other) => other.into(),
        other => CliError::new(other.to_string()),
    })?;
    creation.keep();
    let duplicates = imported.possible_duplicates().map(line_of).collect();
    let warnings = imported
        .warnings
        .iter()
        .map(|warning| format!("line {}: {warning}", line_of(warning.index())))
        .collect();
    Ok(Outcome {
        kind: Kind::New,
        stored: imported.recorded as usize,
        present: imported.already_present as usize,
        head: imported.head.position,
        duplicates,
        warnings,
        findings: Vec::new(),
        defaulted: imported.reported_on_defaulted as usize,
        defaulted_on: imported.recorded_on,
        seconds: Some(imported.duration.as_secs_f64()),
    })
}

fn restore(
    store: &Path,
    lines: &[(usize, &str)],
    bar: &ProgressBar,
    options: &Options,
) -> Result<Outcome, CliError> {
    let records: Vec<RecordedEvent> = parse_all(lines, Kind::Recorded, bar)?;
    if let Some(trusted) = options.head {
        // The store verifies the chain as it restores, so a record with this hash proves the
        // export's chain passes through it.
        if !records.iter().any(|record| record.hash == trusted) {
            return Err(CliError::new(format!(
                "the export does not pass through the head {trusted} you trust: it is another log, or one rewritten or cut before that record; nothing was imported"
            )));
        }
    }
    let line_of_position: HashMap<u64, usize> = records
        .iter()
        .zip(lines)
        .rev()
        .map(|(record, (number, _))| (record.position, *number))
        .collect();
    let creation = Creation::before(store)?;
    let engine = open(store)?;
    refuse_partial(&records, &line_of_position, engine.head().position)?;
    let total = records.len();
    spinner(bar, format!("verifying and restoring {total} records"));
    let line_name = |position: u64| {
        line_of_position
            .get(&position)
            .map(|n| format!("line {n} (position {position})"))
            .unwrap_or_else(|| format!("position {position}"))
    };
    let restored = engine
        .restore_checked(records, options.strict)
        .map_err(|err| {
            let (position, reason, why) = match err {
                EngineError::BadRecord {
                    position,
                    id,
                    rejection,
                } => {
                    return CliError::new(format!(
                        "{} (`{id}`): {rejection}: the export was edited or forged, whatever its hashes say; nothing was imported",
                        line_name(position)
                    ));
                }
                EngineError::Findings { findings } => {
                    let first = findings.first();
                    return CliError::new(format!(
                        "{} record{} break{} a rule of history, the first on {}: {}; nothing was imported (without --strict they are restored and reported)",
                        findings.len(),
                        if findings.len() == 1 { "" } else { "s" },
                        if findings.len() == 1 { "s" } else { "" },
                        first.map(|f| line_name(f.position)).unwrap_or_default(),
                        first.map(|f| f.reason.as_str()).unwrap_or_default()
                    ));
                }
                EngineError::Store(StoreError::BadRestore { position, reason }) => {
                    let why = match &reason {
                        // A newer schema is not damage: the export is fine, this build is too old.
                        RestoreMismatch::Schema { .. } => {
                            "the export was written by a newer detente: upgrade detente to import it"
                                .to_owned()
                        }
                        RestoreMismatch::HeldOtherwise => format!(
                            "{} is not a copy of the store the export came from: restore the export into an empty store",
                            store.display()
                        ),
                        _ => "the export was edited, cut or reordered".to_owned(),
                    };
                    (position, reason.to_string(), why)
                }
                EngineError::Store(StoreError::Corrupt { position, reason }) => (
                    position,
                    reason,
                    "the export was edited, cut or reordered".to_owned(),
                ),
                other => return other.into(),
            };
            CliError::new(format!(
                "{}: {reason}: {why}; nothing was imported",
                line_name(position)
            ))
        })?;
    creation.keep();
    let findings = restored
        .findings
        .iter()
        .map(|finding| format!("{}: {}", line_name(finding.position), finding.reason))
        .collect();
    let restored = restored.restored as usize;
    Ok(Outcome {
        kind: Kind::Recorded,
        stored: restored,
        present: total - restored,
        head: engine.head().position,
        duplicates: Vec::new(),
        warnings: Vec::new(),
        findings,
        defaulted: 0,
        defaulted_on: None,
        seconds: None,
    })
}

/// Refuses, naming the real cause, an export that skips positions: the output of
/// `export --dyad` or `export --from-position N` (past the store's head + 1), or an export cut
/// short. A restore must continue the store's log position by position; a partial export
/// cannot, but its events can be recorded as new ones.
fn refuse_partial(
    records: &[RecordedEvent],
    line_of_position: &HashMap<u64, usize>,
    head: u64,
) -> Result<(), CliError> {
    let Some(first) = records.first() else {
        return Ok(());
    };
    if records
        .windows(2)
        .any(|pair| pair[1].position <= pair[0].position)
    {
        // Out of order: not a partial export; the restore names it.
        return Ok(());
    }
    let mut expected = first.position.min(head + 1);
    for record in records {
        if record.position > expected {
            let line = line_of_position.get(&record.position).copied().unwrap_or(0);
            let skipped = if record.position == expected + 1 {
                format!("position {expected}")
            } else {
                format!("positions {expected} to {}", record.position - 1)
            };
            let start = if expected == head + 1 && head == 0 {
                "the store is empty and "
            } else if expected == head + 1 {
                "the store ends before it and "
            } else {
                ""
            };
            return Err(CliError::new(format!(
                "line {line} (position {}): expected position {expected}: {start}the file skips {skipped}: it is a partial export (`export --dyad` or `export --from-position`), or a cut one; a partial export cannot be restored as a copy of its store: record its events as new ones with `detente import --as-new`; nothing was imported",
                record.position
            )));
        }
        expected = record.position + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_from_one_and_blank_ones_skipped() {
        let lines = read_lines(&b"a\n\n  \r\nb\r\nc"[..]).unwrap();
        let lines: Vec<(usize, &str)> = lines.iter().map(|(n, l)| (*n, l.as_str())).collect();
        assert_eq!(lines, vec![(1, "a"), (4, "b"), (5, "c")]);
    }

    #[test]
    fn an_overlong_line_is_refused_by_number_and_length_without_being_kept() {
        let cap = detente::domain::limits::MAX_INPUT_BYTES;
        let mut input = b"{}\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * cap));
        input.extend(b"\n{}\n");
        let err = read_lines(std::io::BufReader::with_capacity(1024, &input[..])).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("line 2: "), "{message}");
        assert!(message.contains(&format!("{} bytes", 3 * cap)), "{message}");
    }
}
