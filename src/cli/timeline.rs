//! `detente timeline`: the story of a dyad as an SVG picture, written by hand.
//!
//! A date axis across the top; a row of rounds of talks (marks with their city and date); a row
//! per party of the reciprocity ledger (expulsions as triangles, closures as squares,
//! reopenings as hollow squares, releases of prisoners as circles); then a
//! lane per step, claim, proposal, irritant, agreement and measure, whose segments are coloured by stage or status
//! from one dated change to the next; and a legend.
//!
//! The axis is piecewise so that a story of years with a busy week stays readable: gaps
//! between dates with events up to the median gap are drawn to scale, a longer quiet stretch
//! grows only with the logarithm of its length (marked `≈` on the axis when much compressed),
//! and a short gap gets a minimum width. Each stretch between two compressed gaps has ticks of
//! its own (days, weeks, months or years, as fit its width). Tick labels always give true
//! dates. A row marks corrections (a retraction and its replacement) and late reports.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use detente::domain::{BilateralState, Change, Dyad, Event, RecordedEvent, RoundStatus, SharedVec};
use serde::Serialize;

use super::render::{one_line, words};

/// What the picture is of.
pub struct Options {
    /// The dyad.
    pub dyad: Dyad,
    /// The state on this date, where given; else the last event's date.
    pub as_of: Option<NaiveDate>,
    /// As known on this date, where given.
    pub known_at: Option<NaiveDate>,
    /// The events that the retractions of the timeline removed, for the marks of corrections.
    pub retracted: Vec<RecordedEvent>,
}

const WIDTH: f64 = 1200.0;
const PLOT_LEFT: f64 = 300.0;
const PLOT_RIGHT: f64 = 1170.0;
/// Room right of the end date: the last segments run into it, "and on".
const TAIL: f64 = 80.0;
const LANE: f64 = 20.0;
const FONT: &str = r#"font-family="sans-serif""#;

/// XML-escapes text for content and attribute values, with its hidden controls shown escaped
/// as in the text output ([`one_line`]: XML 1.0 does not allow most of them, and the others
/// could reorder what is shown).
pub fn escape(text: &str) -> String {
    let shown = one_line(text);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Cuts text to `max` characters, with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The approximate width of sans-serif text at `size` px.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// The colour of a stage or status, by wire word, each its own, in families: blues for raised
/// or agreed, teals for talks about it, greens for progress and success, yellow and oranges for
/// conditions and delay, reds for refusal or reversal, grey for withdrawn.
fn colour(word: &str) -> &'static str {
    match word {
        "agreed" => "#4e79a7",
        "open" => "#1f4e79",
        "proposed" => "#a0cbe8",
        "formalized" => "#76b7b2",
        "under_discussion" => "#499894",
        "implementing" => "#8cd17d",
        "roadmap_agreed" => "#b5cf6b",
        "conditioned" => "#f1ce63",
        "implemented" => "#2e8b57",
        "resolved" => "#59a14f",
        "accepted" => "#1b5e20",
        "stalled" => "#f28e2b",
        "deferred" => "#ffbe7d",
        "reversed" => "#e15759",
        "rejected" => "#a50f15",
        "withdrawn" => "#9d9d9d",
        _ => "#bab0ac",
    }
}

/// Irritants read the other way round: open is the trouble. Their colours are their own, so
/// that every legend entry has one.
fn irritant_colour(word: &str) -> &'static str {
    match word {
        "open" => "#d37295",
        "resolved" => "#17becf",
        other => colour(other),
    }
}

/// Agreements have colours of their own (so that every legend entry has one): golds and
/// browns while they are being concluded, greens once ratified and in force, orange, brown-red and purple when
/// suspended, terminated or left.
fn agreement_colour(word: &str) -> &'static str {
    match word {
        "agreed" => "#e7cb94",
        "initialled" => "#bd9e39",
        "signed" => "#8c6d31",
        "ratified" => "#31a354",
        "in_force" => "#006d2c",
        "suspended" => "#fdae6b",
        "terminated" => "#843c39",
        "withdrawn" => "#756bb1",
        other => colour(other),
    }
}

/// Measures read the other way round, like irritants: in force is the trouble. Their colours
/// are their own.
fn measure_colour(word: &str) -> &'static str {
    match word {
        "in_force" => "#ce1256",
        "eased" => "#df65b0",
        "suspended" => "#d4b9da",
        "lifted" => "#74c476",
        "reimposed" => "#67000d",
        other => colour(other),
    }
}

/// The colours of the marks that are not lanes: each distinct from every lane colour.
const HELD: &str = "#222222";
const EXPELLED: &str = "#7b3294";
const CLOSED: &str = "#bcbd22";
const RELEASED: &str = "#1f78b4";
const REOPENED: &str = "#e6ab02";
const CORRECTED: &str = "#8c564b";
const LATE: &str = "#636363";

/// A report more than this many days after the event is drawn as a late report.
const LATE_AFTER_DAYS: i64 = 7;

/// Dark text on a light fill, white on a dark one.
fn text_colour(fill: &str) -> &'static str {
    let channel = |at: usize| {
        fill.get(at..at + 2)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .map_or(0.0, |value| f64::from(value) / 255.0)
    };
    let luminance = 0.299 * channel(1) + 0.587 * channel(3) + 0.114 * channel(5);
    if luminance > 0.6 { "#222" } else { "#fff" }
}

/// The piecewise date axis.
struct Scale {
    /// The dates with something on them, sorted, and their x.
    keys: Vec<(NaiveDate, f64)>,
    /// Pixels per day of the uncompressed parts.
    per_day: f64,
    /// Gaps drawn shorter than they are: (from, to) x.
    breaks: Vec<(f64, f64)>,
    /// The stretches between the breaks, first and last date: each drawn to scale (but for
    /// the minimum width of a short gap), each with ticks of its own.
    runs: Vec<(NaiveDate, NaiveDate)>,
}

impl Scale {
    fn new(mut dates: Vec<NaiveDate>) -> Scale {
        dates.sort();
        dates.dedup();
        if dates.len() == 1 {
            if let Some(next) = dates[0].succ_opt() {
                dates.push(next);
            }
        }
        let width = PLOT_RIGHT - PLOT_LEFT - TAIL;
        let gaps: Vec<f64> = dates
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).num_days() as f64)
            .collect();
        if gaps.is_empty() {
            return Scale {
                keys: dates
                    .iter()
                    .map(|d| (*d, PLOT_LEFT + width / 2.0))
                    .collect(),
                per_day: 1.0,
                breaks: Vec::new(),
                runs: dates.first().map(|d| (*d, *d)).into_iter().collect(),
            };
        }
        // Gaps up to the knee (the median gap, at least a week) are drawn to scale; longer
        // ones grow with the logarithm of their length beyond it.
        let mut sorted = gaps.clone();
        sorted.sort_by(f64::total_cmp);
        let knee = sorted[sorted.len() / 2].max(7.0);
        let shape = |days: f64| {
            if days <= knee {
                days
            } else {
                knee * (1.0 + (days / knee).ln())
            }
        };
        let n = gaps.len() as f64;
        let min_px = (0.35 * width / n).min(18.0);
        let sum: f64 = gaps.iter().map(|d| shape(*d)).sum::<f64>().max(1.0);
        let per_day = width / sum;
        let mut widths: Vec<f64> = gaps
            .iter()
            .map(|d| (shape(*d) * per_day).max(min_px))
            .collect();
        let total: f64 = widths.iter().sum();
        for w in &mut widths {
            *w *= width / total;
        }
        let per_day = per_day * width / total;
        let mut keys = Vec::with_capacity(dates.len());
        let mut breaks = Vec::new();
        let mut runs = Vec::new();
        let mut run_start = dates[0];
        let mut x = PLOT_LEFT;
        keys.push((dates[0], x));
        for (i, w) in widths.iter().enumerate() {
            if gaps[i] > knee * 3.0 {
                breaks.push((x, x + w));
                runs.push((run_start, dates[i]));
                run_start = dates[i + 1];
            }
            x += w;
            keys.push((dates[i + 1], x));
        }
        runs.push((run_start, dates[dates.len() - 1]));
        Scale {
            keys,
            per_day,
            breaks,
            runs,
        }
    }

    fn x(&self, date: NaiveDate) -> f64 {
        let Some(&(first, first_x)) = self.keys.first() else {
            return PLOT_LEFT;
        };
        if date <= first {
            return first_x;
        }
        for pair in self.keys.windows(2) {
            let ((a, ax), (b, bx)) = (pair[0], pair[1]);
            if date <= b {
                let span = (b - a).num_days().max(1) as f64;
                return ax + (bx - ax) * (date - a).num_days() as f64 / span;
            }
        }
        let (last, last_x) = self.keys[self.keys.len() - 1];
        (last_x + (date - last).num_days() as f64 * self.per_day).min(PLOT_RIGHT)
    }
}

/// What a mark of the reciprocity ledger stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LedgerKind {
    /// Diplomats expelled: a triangle with the count.
    Expelled,
    /// A mission closed: a square.
    Closed,
    /// A mission reopened: a hollow square.
    Reopened,
    /// Prisoners released: a circle with the count.
    Released,
}

/// A mark of the reciprocity ledger: x, the count shown (expulsions, releases), what it
/// stands for, and its tooltip.
type LedgerMark = (f64, String, LedgerKind, String);

/// One lane: an item's id, what it is, and its dated stages.
struct Lane {
    id: String,
    what: String,
    changes: Vec<(NaiveDate, String)>,
    /// What its legend entries say before the word (`irritant `), where its colours are not
    /// the shared ones.
    prefix: &'static str,
    /// The colour of each of its stages or statuses.
    palette: fn(&str) -> &'static str,
    /// Whether it is an agreement's status for one party, drawn under the agreement's lane
    /// and not counted as an item of its own.
    of_party: bool,
}

fn changes<S: Serialize>(history: &SharedVec<Change<S>>) -> Vec<(NaiveDate, String)> {
    history
        .iter()
        .map(|change| {
            let word = match serde_json::to_value(&change.to) {
                Ok(serde_json::Value::String(word)) => word,
                _ => String::from("?"),
            };
            (change.on, word)
        })
        .collect()
}

/// The SVG picture of `state` and the effective timeline `history` it was folded from.
pub fn render(state: &BilateralState, history: &[RecordedEvent], options: &Options) -> String {
    let mut groups: Vec<(&str, Vec<Lane>)> = Vec::new();
    groups.push((
        "Steps",
        state
            .steps
            .iter()
            .map(|(id, step)| Lane {
                id: id.to_string(),
                what: step.description.clone(),
                changes: changes(&step.history),
                prefix: "",
                palette: colour,
                of_party: false,
            })
            .collect(),
    ));
    groups.push((
        "Property claims",
        state
            .claims
            .iter()
            .map(|(id, claim)| Lane {
                id: id.to_string(),
                what: format!("{} claims {} properties", claim.claimant, claim.count),
                changes: changes(&claim.history),
                prefix: "",
                palette: colour,
                of_party: false,
            })
            .collect(),
    ));
    groups.push((
        "Proposals",
        state
            .proposals
            .iter()
            .map(|(id, proposal)| Lane {
                id: id.to_string(),
                what: format!("{} proposes flights", proposal.proposer),
                changes: changes(&proposal.history),
                prefix: "",
                palette: colour,
                of_party: false,
            })
            .collect(),
    ));
    groups.push((
        "Irritants",
        state
            .irritants
            .iter()
            .map(|(id, irritant)| Lane {
                id: id.to_string(),
                what: irritant.description.clone(),
                changes: changes(&irritant.history),
                prefix: "irritant ",
                palette: irritant_colour,
                of_party: false,
            })
            .collect(),
    ));
    groups.push((
        "Agreements",
        state
            .agreements
            .iter()
            .flat_map(|(id, agreement)| {
                // The agreement as a whole, then a lane of its status for each party that
                // gave it one (ratified by one side, then the other).
                let whole = Lane {
                    id: id.to_string(),
                    what: agreement.title.clone(),
                    changes: changes(&agreement.history),
                    prefix: "agreement ",
                    palette: agreement_colour,
                    of_party: false,
                };
                let parties = agreement.by_party.iter().map(move |(party, history)| Lane {
                    id: format!("{id}, {party}"),
                    what: format!("{}, for {party}", agreement.title),
                    changes: changes(history),
                    prefix: "agreement ",
                    palette: agreement_colour,
                    of_party: true,
                });
                std::iter::once(whole).chain(parties)
            })
            .collect(),
    ));
    groups.push((
        "Measures",
        state
            .measures
            .iter()
            .map(|(id, measure)| Lane {
                id: id.to_string(),
                what: format!("{} by {}", measure.description, measure.imposed_by),
                changes: changes(&measure.history),
                prefix: "measure ",
                palette: measure_colour,
                of_party: false,
            })
            .collect(),
    ));
    groups.retain(|(_, lanes)| !lanes.is_empty());

    let mut dates: Vec<NaiveDate> = history.iter().map(|e| e.occurred_on).collect();
    dates.extend(state.rounds.iter().map(|r| r.held_on));
    for (_, lanes) in &groups {
        for lane in lanes {
            dates.extend(lane.changes.iter().map(|(on, _)| *on));
        }
    }
    let last_event = dates.iter().max().copied();
    let end = options.as_of.or(last_event);
    if let Some(end) = end {
        dates.push(end);
    }
    // Every round scheduled and not held is drawn at its expected date (else the date it was
    // scheduled), so those dates belong on the axis.
    dates.extend(
        state
            .scheduled_rounds
            .iter()
            .filter(|(_, round)| round.status != RoundStatus::Held)
            .filter_map(|(_, round)| round.expected_on.or(round.scheduled_on)),
    );
    let first = dates.iter().min().copied();

    let mut body = String::new();
    let mut y = 30.0;
    let title = format!("{}: the story on a date axis", options.dyad);
    let _ = writeln!(
        body,
        r#"<text x="20" y="{y}" {FONT} font-size="18" font-weight="bold">{}</text>"#,
        escape(&title)
    );
    y += 20.0;
    let mut subtitle = format!("{} events", history.len());
    if let (Some(first), Some(end)) = (first, end) {
        let _ = write!(subtitle, ", {first} to {end}");
    }
    if let Some(as_of) = options.as_of {
        let _ = write!(subtitle, "; the state on {as_of}");
    }
    if let Some(known_at) = options.known_at {
        let _ = write!(subtitle, ", as known on {known_at}");
    }
    let _ = writeln!(
        body,
        r##"<text x="20" y="{y}" {FONT} font-size="12" fill="#555">{}</text>"##,
        escape(&subtitle)
    );
    y += 20.0;

    let (Some(_), Some(end)) = (first, end) else {
        y += 20.0;
        let _ = writeln!(
            body,
            r#"<text x="20" y="{y}" {FONT} font-size="14">nothing is known for this query</text>"#
        );
        return wrap(&body, y + 20.0, options);
    };
    let scale = Scale::new(dates);
    let axis_end = scale.x(end) + TAIL;

    // The axis: ticks and labels on top, grid lines drawn once the height is known.
    let axis_y = y + 24.0;
    let mut grid: Vec<f64> = Vec::new();
    let _ = writeln!(
        body,
        r##"<line x1="{PLOT_LEFT}" y1="{axis_y}" x2="{axis_end:.1}" y2="{axis_y}" stroke="#333"/>"##
    );
    let mut last_label = f64::NEG_INFINITY;
    for (date, label) in ticks(&scale) {
        let x = scale.x(date);
        grid.push(x);
        let _ = writeln!(
            body,
            r##"<line x1="{x:.1}" y1="{axis_y}" x2="{x:.1}" y2="{:.1}" stroke="#333"/>"##,
            axis_y - 5.0
        );
        if x - last_label >= text_width(&label, 11.0) + 10.0 {
            let _ = writeln!(
                body,
                r##"<text x="{x:.1}" y="{:.1}" {FONT} font-size="11" text-anchor="middle" fill="#333">{}</text>"##,
                axis_y - 8.0,
                escape(&label)
            );
            last_label = x;
        }
    }
    for (from, to) in &scale.breaks {
        let middle = (from + to) / 2.0;
        let _ = writeln!(
            body,
            r##"<text x="{middle:.1}" y="{:.1}" {FONT} font-size="14" text-anchor="middle" fill="#c00"><title>a quiet stretch, compressed</title>≈</text>"##,
            axis_y + 5.0
        );
    }
    let _ = writeln!(
        body,
        r##"<text x="{:.1}" y="{:.1}" {FONT} font-size="10" text-anchor="end" fill="#555">{end}</text>"##,
        axis_end,
        axis_y + 14.0
    );
    y = axis_y + 24.0;
    let grid_top = axis_y;

    // Rounds of talks.
    let mut round_marks: Vec<(f64, String, String, bool)> = state
        .rounds
        .iter()
        .map(|round| {
            let label = format!("{} {}", round.location.city, round.held_on);
            let mut title = format!(
                "talks held on {} in {} ({})",
                round.held_on, round.location.city, round.location.country
            );
            if let Some(venue) = &round.location.venue {
                let _ = write!(title, ", at {venue}");
            }
            if let Some(id) = &round.round {
                let _ = write!(title, "; round {id}");
            }
            let heads: Vec<String> = round
                .heads
                .iter()
                .map(|(party, person)| format!("{} ({party})", person.name))
                .collect();
            if !heads.is_empty() {
                let _ = write!(title, "; heads: {}", heads.join(", "));
            }
            (scale.x(round.held_on), label, title, true)
        })
        .collect();
    // Rounds scheduled and not held: the next one, and those cancelled or superseded.
    for (id, round) in state.scheduled_rounds.iter() {
        if round.status == RoundStatus::Held {
            continue;
        }
        let Some(on) = round.expected_on.or(round.scheduled_on) else {
            continue;
        };
        let is_next = state
            .next_round
            .as_ref()
            .is_some_and(|next| next.round == *id);
        let label = match (is_next, round.expected_on) {
            (true, Some(expected)) => format!("next: {id} (expected {expected})"),
            (true, None) => format!("next: {id} (scheduled)"),
            (false, _) => format!("{id} ({})", words(&round.status)),
        };
        let mut title = format!("round {id}");
        if let Some(scheduled_on) = round.scheduled_on {
            let _ = write!(title, ", scheduled on {scheduled_on}");
        }
        if let Some(expected) = round.expected_on {
            let _ = write!(title, ", expected on {expected}");
        }
        if round.status != RoundStatus::Scheduled {
            let _ = write!(title, ", {} on {}", words(&round.status), round.changed_on);
        }
        if let Some(party) = round.cancelled_by {
            let _ = write!(title, " by {party}");
        }
        round_marks.push((scale.x(on), label, title, false));
    }
    round_marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Labels go on the first of a few rows where they do not overlap the previous one.
    let mut row_ends: Vec<f64> = Vec::new();
    let mut placed: Vec<usize> = Vec::new();
    for (x, label, _, _) in &round_marks {
        let start = x - 4.0;
        let row = match row_ends.iter().position(|end| *end + 6.0 <= start) {
            Some(row) => row,
            None if row_ends.len() < 6 => {
                row_ends.push(f64::NEG_INFINITY);
                row_ends.len() - 1
            }
            None => {
                // Crowded: the row that frees up first.
                let mut best = 0;
                for (i, end) in row_ends.iter().enumerate() {
                    if *end < row_ends[best] {
                        best = i;
                    }
                }
                best
            }
        };
        row_ends[row] = start + text_width(label, 10.0);
        placed.push(row);
    }
    let label_rows = row_ends.len().max(1) as f64;
    let rounds_top = y;
    let mark_y = rounds_top + 12.0 * label_rows + 8.0;
    let _ = writeln!(
        body,
        r#"<text x="20" y="{:.1}" {FONT} font-size="13" font-weight="bold">Rounds of talks</text>"#,
        mark_y + 4.0
    );
    if round_marks.is_empty() {
        let _ = writeln!(
            body,
            r##"<text x="{PLOT_LEFT}" y="{:.1}" {FONT} font-size="11" fill="#777">none held</text>"##,
            mark_y + 4.0
        );
    }
    for ((x, label, title, held), row) in round_marks.iter().zip(&placed) {
        let label_y = rounds_top + 12.0 * (*row as f64) + 10.0;
        // A label that would run off the right edge ends at its mark instead.
        let (label_x, anchor) = if x - 4.0 + text_width(label, 10.0) > WIDTH - 8.0 {
            (x + 4.0, "end")
        } else {
            (x - 4.0, "start")
        };
        let (fill, stroke) = if *held { (HELD, HELD) } else { ("#fff", HELD) };
        let _ = writeln!(
            body,
            r##"<g><title>{}</title><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#bbb"/><circle cx="{x:.1}" cy="{mark_y:.1}" r="6" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/><text x="{label_x:.1}" y="{label_y:.1}" {FONT} font-size="10" text-anchor="{anchor}">{}</text></g>"##,
            escape(title),
            label_y + 2.0,
            mark_y - 6.0,
            escape(label)
        );
    }
    y = mark_y + 34.0;

    // Corrections and late reports.
    let corrections = corrections(history, &options.retracted);
    let late: Vec<&RecordedEvent> = history
        .iter()
        .filter(|record| !matches!(record.event, Event::EventRetracted(_)))
        .filter(|record| (record.reported_on - record.occurred_on).num_days() > LATE_AFTER_DAYS)
        .collect();
    if !corrections.is_empty() || !late.is_empty() {
        let _ = writeln!(
            body,
            r#"<text x="20" y="{:.1}" {FONT} font-size="13" font-weight="bold">Corrections, late reports</text>"#,
            y + 4.0
        );
        for record in &late {
            let (x1, x2) = (scale.x(record.occurred_on), scale.x(record.reported_on));
            let days = (record.reported_on - record.occurred_on).num_days();
            let _ = writeln!(
                body,
                r##"<g><title>{}</title><line x1="{x1:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{LATE}" stroke-width="1.5" stroke-dasharray="3,2"/><circle cx="{x1:.1}" cy="{y:.1}" r="4" fill="#fff" stroke="{LATE}" stroke-width="1.5"/></g>"##,
                escape(&format!(
                    "late report: {} occurred on {}, reported on {} ({days} days later)",
                    record.id, record.occurred_on, record.reported_on
                ))
            );
        }
        for correction in &corrections {
            let x = scale.x(correction.on);
            let _ = writeln!(
                body,
                r##"<g><title>{}</title><path d="M{x:.1},{:.1} L{:.1},{y:.1} L{x:.1},{:.1} L{:.1},{y:.1} Z" fill="{CORRECTED}"/></g>"##,
                escape(&correction.title),
                y - 6.0,
                x + 6.0,
                y + 6.0,
                x - 6.0
            );
        }
        y += 30.0;
    }

    // The reciprocity ledger: a row per acting party.
    let mut ledger_rows: Vec<(String, Vec<LedgerMark>)> = Vec::new();
    for record in history {
        let (party, mark, expulsion, title) = match &record.event {
            Event::DiplomatsExpelled(expelled) => (
                expelled.expelled_by,
                expelled.count.to_string(),
                LedgerKind::Expelled,
                format!(
                    "{}: {} expels {} diplomats",
                    record.occurred_on, expelled.expelled_by, expelled.count
                ),
            ),
            Event::MissionClosed(closed) => (
                closed.closed_by,
                String::new(),
                LedgerKind::Closed,
                format!(
                    "{}: {} closes {}",
                    record.occurred_on, closed.closed_by, closed.facility
                ),
            ),
            Event::MissionReopened(reopened) => (
                reopened.reopened_by,
                String::new(),
                LedgerKind::Reopened,
                format!(
                    "{}: {} reopens {}",
                    record.occurred_on, reopened.reopened_by, reopened.facility
                ),
            ),
            Event::PrisonersReleased(released) => (
                released.released_by,
                released.count.to_string(),
                LedgerKind::Released,
                format!(
                    "{}: {} releases {} prisoners",
                    record.occurred_on, released.released_by, released.count
                ),
            ),
            _ => continue,
        };
        let name = party.to_string();
        let x = scale.x(record.occurred_on);
        match ledger_rows.iter_mut().find(|(p, _)| *p == name) {
            Some((_, marks)) => marks.push((x, mark, expulsion, title)),
            None => ledger_rows.push((name, vec![(x, mark, expulsion, title)])),
        }
    }
    ledger_rows.sort_by(|a, b| a.0.cmp(&b.0));
    if !ledger_rows.is_empty() {
        let _ = writeln!(
            body,
            r#"<text x="20" y="{y:.1}" {FONT} font-size="13" font-weight="bold">Reciprocity ledger</text>"#
        );
        y += 8.0;
        for (party, marks) in &ledger_rows {
            y += 30.0;
            let _ = writeln!(
                body,
                r##"<text x="32" y="{y:.1}" {FONT} font-size="12" fill="#333">by {}</text>"##,
                escape(party)
            );
            let mut stacked: Vec<(f64, usize)> = Vec::new();
            for (x, count, kind, title) in marks {
                let level = match stacked.iter_mut().find(|(at, _)| (at - x).abs() < 1.0) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        stacked.push((*x, 0));
                        0
                    }
                };
                let my = y - 4.0 - 9.0 * level as f64;
                if *kind == LedgerKind::Released {
                    let _ = writeln!(
                        body,
                        r##"<g><title>{}</title><circle cx="{:.1}" cy="{:.1}" r="4.5" fill="{RELEASED}"/><text x="{:.1}" y="{:.1}" {FONT} font-size="10" fill="{RELEASED}">{}</text></g>"##,
                        escape(title),
                        x,
                        my,
                        x + 7.0,
                        my + 3.0,
                        escape(count)
                    );
                } else if *kind == LedgerKind::Reopened {
                    let _ = writeln!(
                        body,
                        r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="8" height="8" fill="#fff" stroke="{REOPENED}" stroke-width="2"/></g>"##,
                        escape(title),
                        x - 4.0,
                        my - 4.0
                    );
                } else if *kind == LedgerKind::Expelled {
                    let _ = writeln!(
                        body,
                        r##"<g><title>{}</title><path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="{EXPELLED}"/><text x="{:.1}" y="{:.1}" {FONT} font-size="10" fill="{EXPELLED}">{}</text></g>"##,
                        escape(title),
                        x - 5.0,
                        my + 4.0,
                        x + 5.0,
                        my + 4.0,
                        x,
                        my - 5.0,
                        x + 7.0,
                        my + 3.0,
                        escape(count)
                    );
                } else {
                    let _ = writeln!(
                        body,
                        r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{CLOSED}" stroke="#5f5f11"/></g>"##,
                        escape(title),
                        x - 4.0,
                        my - 4.0
                    );
                }
            }
        }
        y += 18.0;
    }

    // The agenda: a lane per item.
    let mut legend: Vec<(String, &'static str)> = Vec::new();
    for (name, lanes) in &groups {
        y += 22.0;
        let _ = writeln!(
            body,
            r#"<text x="20" y="{y:.1}" {FONT} font-size="13" font-weight="bold">{} ({})</text>"#,
            escape(name),
            lanes.iter().filter(|lane| !lane.of_party).count()
        );
        y += 6.0;
        for lane in lanes {
            let top = y;
            let _ = writeln!(
                body,
                r##"<text x="32" y="{:.1}" {FONT} font-size="11"><title>{}</title>{}</text>"##,
                top + 14.0,
                escape(&format!("{}: {}", lane.id, lane.what)),
                escape(&cut(&lane.id, 40))
            );
            for (i, (on, word)) in lane.changes.iter().enumerate() {
                let x1 = scale.x(*on);
                let (x2, until) = match lane.changes.get(i + 1) {
                    Some((next, _)) => (scale.x(*next), next.to_string()),
                    None => (axis_end, format!("{end} and on")),
                };
                let fill = (lane.palette)(word);
                let text = word.replace('_', " ");
                let key = format!("{}{text}", lane.prefix);
                if !legend.iter().any(|(k, _)| *k == key) {
                    legend.push((key, fill));
                }
                let width = (x2 - x1).max(2.0);
                let _ = write!(
                    body,
                    r##"<g><title>{}</title><rect x="{x1:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{fill}" stroke="#fff" stroke-width="0.5"/>"##,
                    escape(&format!("{}: {text} from {on} to {until}", lane.id)),
                    top + 3.0,
                    LANE - 6.0
                );
                if width >= text_width(&text, 10.0) + 8.0 {
                    let _ = write!(
                        body,
                        r##"<text x="{:.1}" y="{:.1}" {FONT} font-size="10" fill="{}">{}</text>"##,
                        x1 + 4.0,
                        top + 14.0,
                        text_colour(fill),
                        escape(&text)
                    );
                }
                let _ = writeln!(body, "</g>");
            }
            y += LANE;
        }
    }
    let grid_bottom = y + 4.0;

    // The legend.
    y += 30.0;
    let _ = writeln!(
        body,
        r#"<text x="20" y="{y:.1}" {FONT} font-size="13" font-weight="bold">Legend</text>"#
    );
    let mut x = PLOT_LEFT;
    // Only what is drawn.
    let mut entries: Vec<(String, &str, &str)> = Vec::new();
    if round_marks.iter().any(|mark| mark.3) {
        entries.push(("round of talks held".into(), HELD, "circle"));
    }
    if round_marks.iter().any(|mark| !mark.3) {
        entries.push(("round scheduled, not held".into(), "#fff", "circle"));
    }
    let ledger_marks = || ledger_rows.iter().flat_map(|(_, marks)| marks);
    if ledger_marks().any(|mark| mark.2 == LedgerKind::Expelled) {
        entries.push(("diplomats expelled (count)".into(), EXPELLED, "triangle"));
    }
    if ledger_marks().any(|mark| mark.2 == LedgerKind::Closed) {
        entries.push(("mission closed".into(), CLOSED, "square"));
    }
    if ledger_marks().any(|mark| mark.2 == LedgerKind::Reopened) {
        entries.push(("mission reopened".into(), REOPENED, "hollow square"));
    }
    if ledger_marks().any(|mark| mark.2 == LedgerKind::Released) {
        entries.push(("prisoners released (count)".into(), RELEASED, "circle"));
    }
    if !corrections.is_empty() {
        entries.push((
            "correction (retraction and replacement)".into(),
            CORRECTED,
            "diamond",
        ));
    }
    if !late.is_empty() {
        entries.push((
            format!("late report (over {LATE_AFTER_DAYS} days after)"),
            LATE,
            "late",
        ));
    }
    entries.extend(legend.into_iter().map(|(k, c)| (k, c, "bar")));
    y -= 4.0;
    for (label, fill, shape) in &entries {
        let width = 22.0 + text_width(label, 11.0) + 14.0;
        if x + width > WIDTH - 20.0 {
            x = PLOT_LEFT;
            y += 18.0;
        }
        let swatch = match *shape {
            "circle" => format!(
                r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{fill}" stroke="#222" stroke-width="1.5"/>"##,
                x + 6.0,
                y
            ),
            "triangle" => format!(
                r##"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="{fill}"/>"##,
                x + 1.0,
                y + 4.0,
                x + 11.0,
                y + 4.0,
                x + 6.0,
                y - 5.0
            ),
            "square" => format!(
                r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{fill}" stroke="#5f5f11"/>"##,
                x + 2.0,
                y - 4.0
            ),
            "hollow square" => format!(
                r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="#fff" stroke="{fill}" stroke-width="2"/>"##,
                x + 2.0,
                y - 4.0
            ),
            "diamond" => format!(
                r##"<path d="M{:.1},{:.1} L{:.1},{y:.1} L{:.1},{:.1} L{x:.1},{y:.1} Z" fill="{fill}"/>"##,
                x + 6.0,
                y - 6.0,
                x + 12.0,
                x + 6.0,
                y + 6.0
            ),
            "late" => format!(
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{fill}" stroke-width="1.5" stroke-dasharray="3,2"/><circle cx="{:.1}" cy="{y:.1}" r="4" fill="#fff" stroke="{fill}" stroke-width="1.5"/>"##,
                x + 4.0,
                x + 16.0,
                x + 4.0
            ),
            _ => format!(
                r#"<rect x="{x:.1}" y="{:.1}" width="16" height="10" fill="{fill}"/>"#,
                y - 5.0
            ),
        };
        let _ = writeln!(
            body,
            r#"{swatch}<text x="{:.1}" y="{:.1}" {FONT} font-size="11">{}</text>"#,
            x + 22.0,
            y + 4.0,
            escape(label)
        );
        x += width;
    }
    y += 26.0;
    let _ = writeln!(
        body,
        r##"<text x="20" y="{y:.1}" {FONT} font-size="10" fill="#777">The date axis is piecewise: quiet stretches are compressed (≈) and busy days widened; tick labels and tooltips give true dates. Hover a mark or a segment for its details.</text>"##
    );
    let mut grid_lines = String::new();
    for x in grid {
        let _ = writeln!(
            grid_lines,
            r##"<line x1="{x:.1}" y1="{grid_top:.1}" x2="{x:.1}" y2="{grid_bottom:.1}" stroke="#eee"/>"##
        );
    }
    wrap(&(grid_lines + &body), y + 16.0, options)
}

/// A correction to mark: where, and what its tooltip says.
struct Correction {
    on: NaiveDate,
    title: String,
}

/// The corrections of a timeline: each retraction in it, with the event it removed (from
/// `retracted`) and that event's replacement, where there is one: the first later event of the
/// same type, dated within 31 days of the removed one and reported on or after the
/// retraction. The mark goes on the replacement's date, else on the removed event's, else on
/// the retraction's.
fn corrections(history: &[RecordedEvent], retracted: &[RecordedEvent]) -> Vec<Correction> {
    let mut out = Vec::new();
    for record in history {
        let Event::EventRetracted(retraction) = &record.event else {
            continue;
        };
        let target = retracted.iter().find(|t| t.id == retraction.target);
        let replacement = target.and_then(|target| {
            history
                .iter()
                .filter(|e| {
                    e.event.type_name() == target.event.type_name()
                        && e.position > target.position
                        && e.reported_on >= record.reported_on
                        && (e.occurred_on - target.occurred_on).num_days().abs() <= 31
                })
                .min_by_key(|e| e.position)
        });
        let mut title = format!(
            "correction reported on {} ({}): {} no longer counts: {}",
            record.reported_on, record.id, retraction.target, retraction.reason
        );
        if let Some(target) = target {
            let _ = write!(title, "; it was dated {}", target.occurred_on);
        }
        if let Some(replacement) = replacement {
            let _ = write!(
                title,
                "; replaced by {}, dated {}",
                replacement.id, replacement.occurred_on
            );
        }
        out.push(Correction {
            on: replacement
                .or(target)
                .map_or(record.occurred_on, |e| e.occurred_on),
            title,
        });
    }
    out
}

fn wrap(body: &str, height: f64, options: &Options) -> String {
    let height = height.ceil();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\">\n\
         <title>{}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"#fff\"/>\n{body}</svg>\n",
        escape(&format!("detente timeline of {}", options.dyad))
    )
}

/// The least room, in pixels, between two ticks of a stretch.
const TICK_ROOM: f64 = 70.0;

/// A tick interval: days, months or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Days(u32),
    Months(u32),
    Years(i32),
}

/// From the finest interval to the coarsest.
const UNITS: [Unit; 15] = [
    Unit::Days(1),
    Unit::Days(2),
    Unit::Days(7),
    Unit::Days(14),
    Unit::Months(1),
    Unit::Months(3),
    Unit::Months(6),
    Unit::Years(1),
    Unit::Years(2),
    Unit::Years(5),
    Unit::Years(10),
    Unit::Years(20),
    Unit::Years(50),
    Unit::Years(100),
    Unit::Years(500),
];

/// The dates of `unit` from `first` to `last` (both included): every day (counted from
/// `first`), the first of every month or January 1 of every year, on multiples of the step.
fn unit_dates(unit: Unit, first: NaiveDate, last: NaiveDate, max: usize) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    match unit {
        Unit::Days(step) => {
            let mut date = first;
            while date <= last && out.len() <= max {
                out.push(date);
                match date.checked_add_days(chrono::Days::new(u64::from(step))) {
                    Some(next) => date = next,
                    None => break,
                }
            }
        }
        Unit::Months(step) => {
            let (mut year, mut month) = (first.year(), first.month());
            while out.len() <= max {
                let Some(date) = NaiveDate::from_ymd_opt(year, month, 1) else {
                    break;
                };
                if date > last {
                    break;
                }
                if date >= first && (month - 1) % step == 0 {
                    out.push(date);
                }
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
        Unit::Years(step) => {
            let mut year = first.year();
            while year <= last.year() && out.len() <= max {
                if let Some(date) = NaiveDate::from_ymd_opt(year, 1, 1) {
                    if date >= first && year.rem_euclid(step) == 0 {
                        out.push(date);
                    }
                }
                year += 1;
            }
        }
    }
    out
}

fn tick_label(unit: Unit, date: NaiveDate, first_of_run: bool) -> String {
    match unit {
        Unit::Years(_) => date.year().to_string(),
        Unit::Months(_) => date.format("%b %Y").to_string(),
        Unit::Days(_) if first_of_run || (date.month() == 1 && date.day() == 1) => {
            date.format("%-d %b %Y").to_string()
        }
        Unit::Days(_) => date.format("%-d %b").to_string(),
    }
}

/// Tick dates and labels, stretch by stretch of the piecewise axis: each stretch between two
/// compressed gaps gets the finest of days, weeks, months or years that leaves
/// [`TICK_ROOM`] between its ticks, so that a busy stretch has its own months even when a
/// lone event decades before it widens the span. A stretch too short for any tick of its
/// interval gets one at its first date, written in full.
fn ticks(scale: &Scale) -> Vec<(NaiveDate, String)> {
    let mut out = Vec::new();
    for &(first, last) in &scale.runs {
        let width = scale.x(last) - scale.x(first);
        let room = ((width / TICK_ROOM).floor() as usize).max(1);
        let chosen = UNITS.iter().find_map(|&unit| {
            let dates = unit_dates(unit, first, last, room);
            (!dates.is_empty() && dates.len() <= room).then_some((unit, dates))
        });
        match chosen {
            Some((unit, dates)) => {
                for (i, date) in dates.into_iter().enumerate() {
                    out.push((date, tick_label(unit, date, i == 0)));
                }
            }
            None => out.push((first, tick_label(Unit::Days(1), first, true))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"a<b & "c" 'd'>"#),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
    }

    #[test]
    fn the_scale_is_monotone_and_fits() {
        let dates = vec![
            date("2016-12-29"),
            date("2017-07-28"),
            date("2018-03-26"),
            date("2025-02-27"),
            date("2025-03-01"),
        ];
        let scale = Scale::new(dates.clone());
        let xs: Vec<f64> = dates.iter().map(|d| scale.x(*d)).collect();
        assert!(xs.windows(2).all(|p| p[0] < p[1]), "{xs:?}");
        assert!((xs[0] - PLOT_LEFT).abs() < 1e-6);
        assert!(xs[4] <= PLOT_RIGHT - TAIL + 1e-6);
        // The busy days at the end get room; the quiet years are compressed.
        assert!(xs[4] - xs[3] >= 10.0, "{xs:?}");
        assert!(!scale.breaks.is_empty());
    }

    #[track_caller]
    fn check_ticks(dates: &[&str], expected: &[&str]) {
        let scale = Scale::new(dates.iter().map(|d| date(d)).collect());
        let labels: Vec<String> = ticks(&scale).into_iter().map(|(_, label)| label).collect();
        assert_eq!(labels, expected, "{dates:?}");
    }

    #[test]
    fn ticks_fit_each_stretch_of_the_axis() {
        // Years over years to scale.
        check_ticks(
            &[
                "2016-06-01",
                "2018-03-01",
                "2020-02-01",
                "2022-07-01",
                "2025-01-01",
            ],
            &[
                "2017", "2018", "2019", "2020", "2021", "2022", "2023", "2024", "2025",
            ],
        );
        // Months over months.
        check_ticks(
            &[
                "2025-01-10",
                "2025-03-01",
                "2025-05-01",
                "2025-07-01",
                "2025-09-01",
            ],
            &[
                "Feb 2025", "Mar 2025", "Apr 2025", "May 2025", "Jun 2025", "Jul 2025", "Aug 2025",
                "Sep 2025",
            ],
        );
        // Days over a few days.
        check_ticks(
            &["2025-02-27", "2025-02-28", "2025-03-01"],
            &["27 Feb 2025", "28 Feb", "1 Mar"],
        );
        // One event decades before a busy stretch: the lone date gets its own tick, and the
        // busy stretch its months, not one tick for the whole of it.
        let mut dates = vec!["1994-05-05"];
        let busy = [
            "2023-05-01",
            "2023-05-14",
            "2023-06-20",
            "2023-07-30",
            "2023-09-19",
            "2023-09-28",
            "2023-10-04",
            "2023-11-10",
            "2023-12-06",
            "2023-12-13",
            "2024-01-20",
            "2024-03-01",
            "2024-04-19",
            "2024-05-06",
            "2024-05-13",
            "2024-06-24",
            "2024-08-01",
            "2024-09-15",
        ];
        dates.extend(busy);
        let scale = Scale::new(dates.iter().map(|d| date(d)).collect());
        let ticks = ticks(&scale);
        assert_eq!(ticks[0], (date("1994-05-05"), "5 May 1994".to_owned()));
        let in_busy = ticks
            .iter()
            .filter(|(on, _)| *on >= date("2023-05-01"))
            .count();
        assert!(in_busy >= 5, "{ticks:?}");
        assert!(ticks.iter().all(|(_, label)| !label.is_empty()));
    }

    #[test]
    fn every_legend_entry_has_its_own_colour() {
        let words = [
            "agreed",
            "formalized",
            "implementing",
            "implemented",
            "stalled",
            "reversed",
            "withdrawn",
            "open",
            "under_discussion",
            "roadmap_agreed",
            "rejected",
            "resolved",
            "proposed",
            "accepted",
            "deferred",
            "conditioned",
        ];
        let mut colours: Vec<&str> = words.iter().map(|w| colour(w)).collect();
        colours.extend(["open", "resolved"].map(irritant_colour));
        colours.extend(
            [
                "agreed",
                "initialled",
                "signed",
                "ratified",
                "in_force",
                "suspended",
                "terminated",
                "withdrawn",
            ]
            .map(agreement_colour),
        );
        colours
            .extend(["in_force", "eased", "suspended", "lifted", "reimposed"].map(measure_colour));
        colours.extend([
            HELD,
            EXPELLED,
            CLOSED,
            RELEASED,
            REOPENED,
            CORRECTED,
            LATE,
            colour("?"),
        ]);
        let mut unique = colours.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), colours.len(), "{colours:?}");
    }

    #[test]
    fn segment_text_is_readable_on_its_fill() {
        assert_eq!(text_colour("#1f4e79"), "#fff");
        assert_eq!(text_colour("#a0cbe8"), "#222");
        assert_eq!(text_colour("#f1ce63"), "#222");
    }

    #[test]
    fn an_empty_state_draws_a_note() {
        let svg = render(
            &BilateralState::default(),
            &[],
            &Options {
                dyad: "RUS-USA".parse().unwrap(),
                as_of: None,
                known_at: None,
                retracted: Vec::new(),
            },
        );
        assert!(svg.contains("nothing is known"));
        assert!(svg.ends_with("</svg>\n"));
    }
}

#[cfg(test)]
mod scenario_tests {
    use super::*;
    use detente::domain::{Query, effective_timeline, state_at};
    use detente::scenario::{istanbul_2025, istanbul_2025_followups, recorded};

    #[test]
    fn the_istanbul_picture_names_every_round_and_item() {
        let events = recorded(istanbul_2025().into_iter().chain(istanbul_2025_followups()));
        let query = Query::default();
        let state = state_at(&events, &query);
        let timeline: Vec<RecordedEvent> = effective_timeline(&events, &query)
            .into_iter()
            .cloned()
            .collect();
        let svg = render(
            &state,
            &timeline,
            &Options {
                dyad: "RUS-USA".parse().unwrap(),
                as_of: None,
                known_at: None,
                retracted: Vec::new(),
            },
        );
        if let Ok(path) = std::env::var("DETENTE_SVG_OUT") {
            std::fs::write(path, &svg).unwrap();
        }
        for id in state
            .steps
            .keys()
            .chain(state.claims.keys())
            .chain(state.proposals.keys())
        {
            assert!(svg.contains(id.as_str()), "{id}");
        }
        assert!(svg.contains("Istanbul 2025-02-27"));
    }

    #[test]
    fn a_correction_is_marked_with_its_replacement_and_a_late_report_with_its_delay() {
        let events = recorded(istanbul_2025().into_iter().chain(istanbul_2025_followups()));
        let query = Query::default();
        let timeline: Vec<RecordedEvent> = effective_timeline(&events, &query)
            .into_iter()
            .cloned()
            .collect();
        let retracted: Vec<RecordedEvent> = events
            .iter()
            .filter(|e| !timeline.iter().any(|t| t.id == e.id))
            .cloned()
            .collect();
        assert_eq!(retracted.len(), 1);
        let marks = corrections(&timeline, &retracted);
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].on, "2025-02-27".parse::<NaiveDate>().unwrap());
        assert!(
            marks[0]
                .title
                .contains("istanbul-2025-talks no longer counts")
                && marks[0]
                    .title
                    .contains("replaced by istanbul-2025-talks-at-residence"),
            "{}",
            marks[0].title
        );
        // One event reported two weeks late.
        let mut late = timeline.clone();
        late[0].reported_on = late[0].occurred_on + chrono::Days::new(14);
        let svg = render(
            &state_at(&events, &query),
            &late,
            &Options {
                dyad: "RUS-USA".parse().unwrap(),
                as_of: None,
                known_at: None,
                retracted,
            },
        );
        assert!(svg.contains("(14 days later)"), "no late mark");
        assert!(svg.contains("correction (retraction and replacement)"));
        assert!(svg.contains("late report (over 7 days after)"));
    }
}
