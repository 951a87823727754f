//! The command line of `docs/cli.md`: argument parsing (clap), the commands, and their
//! output. It uses only the library's public API.
//!
//! **Invariant:** only this module knows clap; no command that reads a store creates one.

mod commands;
mod import;
mod render;
mod timeline;

use std::error::Error;
use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use detente::domain::{ChainHash, Dyad};

/// The default store, when neither `--store` nor `$DETENTE_STORE` names one.
pub const DEFAULT_STORE: &str = "./detente-store";

/// `detente`: record and query the state of bilateral negotiations.
#[derive(Debug, Parser)]
#[command(
    name = "detente",
    version,
    about = "Record and query the state of bilateral negotiations",
    long_about = "Record and query the state of bilateral negotiations: attributed, \
                  append-only facts folded into the state of a dyad on any date, as known on any \
                  other date.\n\nStart with `detente demo`.",
    after_help = "The store is --store PATH (or a postgresql:// URL), else $DETENTE_STORE, else ./detente-store.\n\
                  Exit codes: 0 success, 1 error (message on stderr), 2 usage error."
)]
pub struct Cli {
    /// The store: a directory, or a postgresql:// URL [default: $DETENTE_STORE, else ./detente-store]
    #[arg(long, global = true, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Print machine-readable JSON instead of text (see docs/cli.md for each shape)
    #[arg(long, global = true)]
    pub json: bool,
    /// The command
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record the Istanbul 2025 scenario into a fresh store and show the state
    ///
    /// Uses a temporary store unless --store names one, which must then be empty or absent
    /// ($DETENTE_STORE is ignored here, so the demo never writes into your working store).
    Demo,
    /// Record one event (a JSON object) from FILE, or from standard input
    Record {
        /// The file holding the event; `-` or nothing reads standard input
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
    },
    /// Record every event of a JSON Lines file, all or nothing
    ///
    /// Lines of new events are recorded in one batch; lines of recorded events (an export,
    /// with `position` and `hash`) are restored verbatim with their chain verified, or with
    /// --as-new recorded as new events.
    Import {
        /// The JSON Lines file; `-` reads standard input
        #[arg(value_name = "FILE.jsonl")]
        file: PathBuf,
        /// Never show the progress bar (shown by default when stderr is a terminal)
        #[arg(long)]
        no_progress: bool,
        /// Restoring an export: refuse records that break a rule of history too (by default
        /// they are restored and reported as findings)
        #[arg(long)]
        strict: bool,
        /// Restoring an export: refuse it unless its chain passes through this record hash (a
        /// head you trust, as `export --print-head` printed it)
        #[arg(long, value_name = "HASH")]
        head: Option<ChainHash>,
        /// Record the lines of an export (a partial one too) as new events, into any store:
        /// ids, dates, sources and facts kept; positions, hashes and recorded_at left behind
        #[arg(long)]
        as_new: bool,
    },
    /// Print recorded events as JSON Lines, in position order
    Export {
        /// Only this dyad's events
        #[arg(long, value_name = "D", value_parser = parse_dyad)]
        dyad: Option<Dyad>,
        /// Start at this position
        #[arg(long, value_name = "N", default_value_t = 1)]
        from_position: u64,
        /// Print the head (position and hash of the last record) on standard error
        #[arg(long)]
        print_head: bool,
    },
    /// Show the state of a dyad, on a date, as known on a date
    State {
        #[command(flatten)]
        dyad: DyadArg,
        /// The state on this date (valid time) [default: everything]
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// As known on this date: only events reported by then (knowledge time)
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        known_at: Option<NaiveDate>,
        /// As stored at this position (system time): 0 to the head
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = parse_position)]
        at_position: Option<u64>,
    },
    /// Show the effective timeline of a dyad, as a chronology
    History {
        #[command(flatten)]
        dyad: DyadArg,
        /// From this date, included
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        from: Option<NaiveDate>,
        /// To this date, included
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        to: Option<NaiveDate>,
        /// Only this day (the same as --from DATE --to DATE)
        #[arg(long, value_name = "DATE", value_parser = parse_date, conflicts_with_all = ["from", "to"])]
        on: Option<NaiveDate>,
        #[command(flatten)]
        known: KnownArgs,
        /// Show the events that retractions removed too, marked, each with its retraction
        #[arg(long)]
        with_retracted: bool,
    },
    /// Show what changed in the state of a dyad between two dates
    Diff {
        #[command(flatten)]
        dyad: DyadArg,
        /// The earlier date
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        from: NaiveDate,
        /// The later date
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        to: NaiveDate,
        #[command(flatten)]
        known: KnownArgs,
    },
    /// Check the hash chain, the indexes and every stored projection against a replay
    Verify {
        /// Also check that the chain passes through this record hash (a head you trust)
        #[arg(long, value_name = "HASH")]
        head: Option<ChainHash>,
    },
    /// Show counts of events and dyads, the head position and the size on disk
    Stats,
    /// Draw the story of a dyad as an SVG picture on a date axis
    Timeline {
        #[command(flatten)]
        dyad: DyadArg,
        /// The SVG file to write; `-` writes the picture to standard output
        #[arg(long, value_name = "FILE|-")]
        svg: PathBuf,
        /// The state on this date [default: the last event's date]
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// As known on this date
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        known_at: Option<NaiveDate>,
    },
}

/// The knowledge-time and system-time bounds of `history` and `diff`.
#[derive(Debug, Args)]
pub struct KnownArgs {
    /// As known on this date: only events reported by then (knowledge time)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub known_at: Option<NaiveDate>,
    /// As stored at this position (system time): 0 to the head
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = parse_position)]
    pub at_position: Option<u64>,
}

/// The `--dyad` of the commands about one dyad.
#[derive(Debug, Args)]
pub struct DyadArg {
    /// The dyad: two party codes joined by `-`, in either order and either case, like RUS-USA
    #[arg(long, value_name = "D", value_parser = parse_dyad)]
    pub dyad: Dyad,
}

/// Reads a date the way the wire format does: `YYYY-MM-DD`, and only that.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    detente::domain::parse_date(text).map_err(|err| err.to_string())
}

/// Reads a dyad on the command line: as the wire format does, but in either case
/// (`arm-aze` is `ARM-AZE`); the wire format itself stays strict.
pub fn parse_dyad(text: &str) -> Result<Dyad, String> {
    text.to_ascii_uppercase()
        .parse::<Dyad>()
        .map_err(|err| err.to_string())
}

/// Reads a position: a whole number from 0 (before the first event), said plainly for
/// anything else (`-1` included, which clap would otherwise take for a flag).
pub fn parse_position(text: &str) -> Result<u64, String> {
    text.parse::<u64>().map_err(|_| {
        format!(
            "`{text}` is not a position: give a whole number from 0 (before the first event) to the store's head (`detente stats` shows it)"
        )
    })
}

/// An error of a command: what went wrong and, where it helps, what to do; with the error
/// that caused it, if any.
#[derive(Debug)]
pub struct CliError {
    message: String,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl CliError {
    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the error under it.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn Error + Send + Sync + 'static>>,
    ) -> Self {
        CliError {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for CliError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}

impl From<detente::engine::EngineError> for CliError {
    fn from(err: detente::engine::EngineError) -> Self {
        CliError::new(err.to_string())
    }
}

/// The error and its causes, joined by `: `, skipping a cause whose text the message already
/// holds (transparent wrappers).
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Parses the arguments and runs the command; returns the exit code: 0 success, 1 an error of
/// the command, 2 a usage error (as clap says). The error goes to standard error as a line
/// `error: …`, or with `--json` as a JSON object `{"error": {"message": …, "exit_code": …}}`.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print to standard output and are not errors.
        Err(err) if !err.use_stderr() => err.exit(),
        Err(err) if json_asked() => {
            let text = err.render().to_string();
            let message = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_owned();
            report_json(&message, err.exit_code());
            return err.exit_code();
        }
        Err(err) => err.exit(),
    };
    let json = cli.json;
    match commands::run(cli) {
        Ok(()) => 0,
        Err(err) => {
            let message = error_chain(&err);
            if json {
                report_json(&message, 1);
            } else {
                eprintln!(
                    "error: {}",
                    render::visible(&message, &['\n'], render::Escape::Text)
                );
            }
            1
        }
    }
}

/// Whether `--json` is among the arguments (for a usage error, which clap found before it could
/// say).
fn json_asked() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|arg| arg != "--")
        .any(|arg| arg == "--json")
}

/// An error as one JSON object on standard error.
fn report_json(message: &str, exit_code: i32) {
    let value = serde_json::json!({ "error": { "message": message, "exit_code": exit_code } });
    let text = value.to_string();
    eprintln!("{}", render::visible(&text, &[], render::Escape::Json));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[track_caller]
    fn parses(args: &[&str]) -> Cli {
        match Cli::try_parse_from(std::iter::once("detente").chain(args.iter().copied())) {
            Ok(cli) => cli,
            Err(err) => panic!("{args:?}: {err}"),
        }
    }

    #[track_caller]
    fn refuses(args: &[&str], needle: &str) {
        match Cli::try_parse_from(std::iter::once("detente").chain(args.iter().copied())) {
            Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
            Err(err) => {
                assert_eq!(err.exit_code(), 2, "{args:?}");
                let text = err.to_string();
                assert!(text.contains(needle), "{args:?}: {text}");
            }
        }
    }

    #[test]
    fn arguments() {
        let cli = parses(&[
            "state",
            "--dyad",
            "USA-RUS",
            "--as-of",
            "2025-02-27",
            "--json",
        ]);
        assert!(cli.json);
        match cli.command {
            Command::State { dyad, as_of, .. } => {
                assert_eq!(dyad.dyad.to_string(), "RUS-USA");
                assert_eq!(as_of.map(|d| d.to_string()).as_deref(), Some("2025-02-27"));
            }
            other => panic!("{other:?}"),
        }
        let cli = parses(&["--store", "/tmp/x", "export"]);
        assert_eq!(cli.store, Some(PathBuf::from("/tmp/x")));
        match cli.command {
            Command::Export {
                dyad,
                from_position,
                print_head,
            } => assert_eq!((dyad, from_position, print_head), (None, 1, false)),
            other => panic!("{other:?}"),
        }
        parses(&["record"]);
        parses(&["record", "-"]);
        parses(&["import", "x.jsonl", "--no-progress"]);
        parses(&["timeline", "--dyad", "RUS-USA", "--svg", "x.svg"]);
    }

    #[test]
    fn usage_errors() {
        refuses(&["state"], "--dyad");
        refuses(&["state", "--dyad", "RUSUSA"], "dyad `RUSUSA` is malformed");
        refuses(
            &["state", "--dyad", "RUS-USA", "--as-of", "2025-2-7"],
            "is not an ISO date",
        );
        refuses(
            &["state", "--dyad", "RUS-USA", "--as-of", "2025-02-30"],
            "does not exist",
        );
        refuses(
            &["diff", "--dyad", "RUS-USA", "--from", "2025-01-01"],
            "--to",
        );
        refuses(
            &[
                "history",
                "--dyad",
                "RUS-USA",
                "--on",
                "2025-02-27",
                "--from",
                "2025-01-01",
            ],
            "cannot be used with",
        );
        refuses(&["teleport"], "unrecognized subcommand");
    }
}
