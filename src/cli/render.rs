//! Human output: the state as aligned tables, the history as a chronology, a diff as a list of
//! changes. Pure functions from library values to text.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::NaiveDate;
use detente::domain::{
    AgreementForm, BilateralState, Dyad, Event, Party, RecordedEvent, Round, SharedVec, Source,
    StateDiff,
};
use serde::Serialize;

/// How [`visible`] writes a character it escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// `\u{1b}`, as Rust writes it: for text read by people (terminal, SVG).
    Text,
    /// `\u001b`, a JSON string escape: for JSON text, where the character can only be inside
    /// a string, so that the output stays valid JSON with the same value.
    Json,
}

/// Whether `c` must not reach a terminal or a picture as it is: a C0 or C1 control character
/// (tab and line feed included) or a bidirectional control (U+202A to U+202E, U+2066 to
/// U+2069), all of which can clear a screen, set a window title, overwrite a line or reorder
/// what is shown.
pub fn is_hidden_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [hidden control](is_hidden_control) shown escaped, except the characters
/// of `keep` (the text renderers keep `\n`, their own line breaks, and show a line break inside
/// a field escaped, through [`one_line`]). Every renderer of text for people uses this, the SVG
/// writer included.
pub fn visible<'a>(text: &'a str, keep: &[char], style: Escape) -> Cow<'a, str> {
    let hidden = |c: char| is_hidden_control(c) && !keep.contains(&c);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            let _ = match style {
                Escape::Text => write!(out, "{}", c.escape_unicode()),
                Escape::Json => write!(out, "\\u{:04x}", c as u32),
            };
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A field's text on one line: every hidden control escaped, line breaks and tabs included.
pub fn one_line(text: &str) -> Cow<'_, str> {
    visible(text, &[], Escape::Text)
}

/// `writeln!` of a line that holds a record's text: the line with [`one_line`] applied.
macro_rules! data_line {
    ($out:expr, $($format:tt)*) => {{
        let _ = writeln!($out, "{}", one_line(&format!($($format)*)));
    }};
}

/// A wire word in words: `under_discussion` becomes `under discussion`.
pub fn words<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text.replace('_', " "),
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

/// `360` minutes as `6 h 0 min`.
pub fn duration(minutes: u32) -> String {
    if minutes < 60 {
        format!("{minutes} min")
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

/// A text table: columns padded to their widest cell, two spaces apart, the last one free.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// A row; each cell is shown on [one line](one_line).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| one_line(&c).into_owned())
                .collect(),
        );
    }

    pub fn render(&self, indent: &str) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::from(indent);
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i] - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Source names, without repeats, joined by commas.
pub fn source_names(sources: &[Source]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for source in sources {
        if !names.contains(&source.name.as_str()) {
            names.push(&source.name);
        }
    }
    names.join(", ")
}

fn heads(round: &Round) -> String {
    round
        .heads
        .iter()
        .map(|(party, person)| format!("{} ({party})", person.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn round_line(round: &Round) -> String {
    let mut text = format!(
        "{}  {} ({})",
        round.held_on, round.location.city, round.location.country
    );
    if let Some(venue) = &round.location.venue {
        let _ = write!(text, ", at {venue}");
    }
    if let Some(format) = round.format {
        let _ = write!(text, ", {}", words(&format));
    }
    if let Some(minutes) = round.duration_minutes {
        let _ = write!(text, ", {}", duration(minutes));
    }
    if let Some(level) = round.level {
        let _ = write!(text, ", {} level", words(&level));
    }
    text
}

/// Parties as a comma-separated list.
fn parties_list(parties: &[Party]) -> String {
    parties
        .iter()
        .map(Party::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The other party of the dyad than `party`, where the dyad is known.
fn other(dyad: Dyad, party: Party) -> Party {
    let (a, b) = dyad.parties();
    if a == party { b } else { a }
}

/// A header line naming the query.
pub fn query_header(
    dyad: Dyad,
    as_of: Option<NaiveDate>,
    known_at: Option<NaiveDate>,
    at_position: Option<u64>,
) -> String {
    let mut text = format!("{dyad}: the state");
    match as_of {
        Some(date) => {
            let _ = write!(text, " on {date}");
        }
        None => text.push_str(" today"),
    }
    match known_at {
        Some(date) => {
            let _ = write!(text, ", as known on {date}");
        }
        None => text.push_str(", as known now"),
    }
    if let Some(position) = at_position {
        let _ = write!(text, ", as stored at position {position}");
    }
    text
}

/// The state as text: a summary line, then a section per part that has something in it.
pub fn state(state: &BilateralState, header: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{header}");
    let _ = writeln!(
        out,
        "{} events applied, up to position {}{}",
        state.events_applied,
        state.position,
        match state.anomalies.len() {
            0 => String::new(),
            n => format!(", {n} could not take effect"),
        }
    );
    if state.events_applied == 0 {
        out.push_str("\nnothing is known for this query\n");
        return out;
    }

    if !state.rounds.is_empty() {
        let _ = writeln!(out, "\nRounds of talks ({})", state.rounds.len());
        for round in &state.rounds {
            data_line!(out, "  {}", round_line(round));
            let indent = "              ";
            if !round.heads.is_empty() {
                data_line!(out, "{indent}heads: {}", heads(round));
            }
            if !round.topics.is_empty() {
                data_line!(out, "{indent}topics: {}", round.topics.join("; "));
            }
            if !round.mediators.is_empty() {
                data_line!(out, "{indent}mediators: {}", parties_list(&round.mediators));
            }
            if !round.sources.is_empty() {
                data_line!(out, "{indent}sources: {}", source_names(&round.sources));
            }
        }
    }

    if !state.steps.is_empty() {
        let _ = writeln!(out, "\nSteps ({})", state.steps.len());
        let mut table = Table::new(&["step", "stage", "agreed", "changed", "what"]);
        for (id, step) in &state.steps {
            let mut what = step.description.clone();
            if step.reciprocal {
                what.push_str(" (reciprocal)");
            }
            table.row(vec![
                id.to_string(),
                words(&step.stage),
                step.agreed_on.to_string(),
                step.changed_on.to_string(),
                what,
            ]);
        }
        out.push_str(&table.render("  "));
    }

    if !state.claims.is_empty() {
        let _ = writeln!(out, "\nProperty claims ({})", state.claims.len());
        let mut table = Table::new(&["claim", "status", "raised", "changed", "what"]);
        for (id, claim) in &state.claims {
            let mut what = format!(
                "{} claims {} propert{}",
                claim.claimant,
                claim.count,
                if claim.count == 1 { "y" } else { "ies" }
            );
            if let Some(years) = claim.seized_between {
                if years.from == years.to {
                    let _ = write!(what, " seized in {}", years.from);
                } else {
                    let _ = write!(what, " seized {}–{}", years.from, years.to);
                }
            }
            if let Some(words) = &claim.characterization {
                let _ = write!(what, ", in its words \"{words}\"");
            }
            table.row(vec![
                id.to_string(),
                words(&claim.status),
                claim.raised_on.to_string(),
                claim.changed_on.to_string(),
                what,
            ]);
        }
        out.push_str(&table.render("  "));
        for (id, claim) in &state.claims {
            for property in &claim.properties {
                data_line!(
                    out,
                    "    {id}: {}{}",
                    property.name,
                    property
                        .location
                        .as_ref()
                        .map(|l| format!(", {l}"))
                        .unwrap_or_default()
                );
            }
        }
    }

    if !state.proposals.is_empty() {
        let _ = writeln!(out, "\nProposals ({})", state.proposals.len());
        let mut table = Table::new(&["proposal", "status", "proposed", "changed", "what"]);
        for (id, proposal) in &state.proposals {
            let mut what = format!("{} proposes flights", proposal.proposer);
            if !proposal.routes.is_empty() {
                let _ = write!(what, ": {}", proposal.routes.join(", "));
            }
            if !proposal.conditions.is_empty() {
                let _ = write!(
                    what,
                    "; conditions: {}",
                    proposal.conditions.to_vec().join("; ")
                );
            }
            table.row(vec![
                id.to_string(),
                words(&proposal.status),
                proposal.proposed_on.to_string(),
                proposal.changed_on.to_string(),
                what,
            ]);
        }
        out.push_str(&table.render("  "));
    }

    if !state.irritants.is_empty() {
        let _ = writeln!(out, "\nIrritants ({})", state.irritants.len());
        let mut table = Table::new(&["irritant", "status", "raised", "changed", "what"]);
        for (id, irritant) in &state.irritants {
            table.row(vec![
                id.to_string(),
                words(&irritant.status),
                irritant.raised_on.to_string(),
                irritant.changed_on.to_string(),
                format!("raised by {}: {}", irritant.raised_by, irritant.description),
            ]);
        }
        out.push_str(&table.render("  "));
    }

    if !state.agreements.is_empty() {
        let _ = writeln!(out, "\nAgreements ({})", state.agreements.len());
        let mut table = Table::new(&["agreement", "status", "reached", "changed", "what"]);
        for (id, agreement) in &state.agreements {
            let mut what = agreement.title.clone();
            if let Some(kind) = agreement.kind {
                let _ = write!(what, " ({})", words(&kind));
            }
            if let Some(at) = &agreement.at {
                let _ = write!(what, ", in {} ({})", at.city, at.country);
            }
            for (party, changes) in &agreement.by_party {
                if let Some(last) = changes.iter().last() {
                    let _ = write!(what, "; {} by {party} on {}", words(&last.to), last.on);
                }
            }
            if !agreement.steps.is_empty() {
                let steps: Vec<String> = agreement.steps.iter().map(|s| format!("`{s}`")).collect();
                let _ = write!(what, "; formalizes {}", steps.join(", "));
            }
            table.row(vec![
                id.to_string(),
                words(&agreement.status),
                agreement.reached_on.to_string(),
                agreement.changed_on.to_string(),
                what,
            ]);
        }
        out.push_str(&table.render("  "));
    }

    if !state.measures.is_empty() {
        let _ = writeln!(out, "\nMeasures ({})", state.measures.len());
        let mut table = Table::new(&["measure", "status", "imposed", "changed", "what"]);
        for (id, measure) in &state.measures {
            table.row(vec![
                id.to_string(),
                words(&measure.status),
                measure.imposed_on.to_string(),
                measure.changed_on.to_string(),
                format!(
                    "{} by {}: {}",
                    words(&measure.kind),
                    measure.imposed_by,
                    measure.description
                ),
            ]);
        }
        out.push_str(&table.render("  "));
    }

    if !state.scheduled_rounds.is_empty() {
        let _ = writeln!(out, "\nScheduled rounds ({})", state.scheduled_rounds.len());
        let mut table = Table::new(&["round", "status", "scheduled", "changed", "what"]);
        for (id, round) in &state.scheduled_rounds {
            let mut what = Vec::new();
            if let Some(on) = round.expected_on {
                what.push(format!("expected on {on}"));
            }
            if let Some(location) = &round.location {
                what.push(format!("in {} ({})", location.city, location.country));
            }
            if let Some(party) = round.cancelled_by {
                what.push(format!("cancelled by {party}"));
            }
            if let Some(replaced) = &round.replaces {
                what.push(format!("replaces `{replaced}`"));
            }
            if let Some(by) = &round.superseded_by {
                what.push(format!("replaced by `{by}`"));
            }
            if round.sessions > 1 {
                what.push(format!("{} sessions", round.sessions));
            }
            table.row(vec![
                id.to_string(),
                words(&round.status),
                round
                    .scheduled_on
                    .map_or_else(|| "-".to_owned(), |on| on.to_string()),
                round.changed_on.to_string(),
                what.join(", "),
            ]);
        }
        out.push_str(&table.render("  "));
    }

    out.push_str("\nNext round\n");
    match &state.next_round {
        None => out.push_str("  none scheduled\n"),
        Some(next) => {
            let mut text = format!("  `{}` scheduled on {}", next.round, next.scheduled_on);
            if let Some(on) = next.expected_on {
                let _ = write!(text, ", expected on {on}");
            }
            if let Some(location) = &next.location {
                let _ = write!(text, ", in {} ({})", location.city, location.country);
            }
            data_line!(out, "{text}");
        }
    }

    let ledger = &state.reciprocity;
    if !ledger.diplomats_expelled.is_empty()
        || !ledger.missions_closed.is_empty()
        || !ledger.prisoners_released.is_empty()
        || !ledger.missions_reopened.is_empty()
    {
        out.push_str("\nReciprocity ledger\n");
        let mut parties: Vec<Party> = ledger
            .diplomats_expelled
            .keys()
            .chain(ledger.missions_closed.keys())
            .chain(ledger.prisoners_released.keys())
            .chain(ledger.missions_reopened.keys())
            .copied()
            .collect();
        parties.sort();
        parties.dedup();
        let mut table = Table::new(&["party", "expelled", "closed", "reopened", "released"]);
        for party in &parties {
            let count = |map: &std::collections::BTreeMap<Party, SharedVec<_>>| {
                map.get(party).map(SharedVec::len).unwrap_or(0)
            };
            let closed = count(&ledger.missions_closed);
            let reopened = ledger
                .missions_reopened
                .get(party)
                .map(SharedVec::len)
                .unwrap_or(0);
            table.row(vec![
                party.to_string(),
                format!(
                    "{} diplomats",
                    ledger.diplomats_expelled.get(party).copied().unwrap_or(0)
                ),
                format!("{closed} missions"),
                format!("{reopened} missions"),
                format!("{} prisoners", ledger.prisoners_released_by(*party)),
            ]);
        }
        out.push_str(&table.render("  "));
        for party in &parties {
            for mission in ledger.missions_closed.get(party).into_iter().flatten() {
                let reopened = mission
                    .reopened_on
                    .map(|on| format!(", reopened on {on}"))
                    .unwrap_or_default();
                data_line!(
                    out,
                    "    {}  {party} closed {}{reopened}",
                    mission.closed_on,
                    mission.facility
                );
            }
            for mission in ledger.missions_reopened.get(party).into_iter().flatten() {
                let never = if mission.was_closed {
                    ""
                } else {
                    " (no closing recorded)"
                };
                data_line!(
                    out,
                    "    {}  {party} reopened {}{never}",
                    mission.reopened_on,
                    mission.facility
                );
            }
            for release in ledger.prisoners_released.get(party).into_iter().flatten() {
                let mut text = format!("{} prisoners", release.count);
                if !release.names.is_empty() {
                    let _ = write!(text, " ({})", release.names.join(", "));
                }
                if let Some(exchange) = &release.exchange {
                    let _ = write!(text, " in exchange `{exchange}`");
                }
                data_line!(out, "    {}  {party} released {text}", release.released_on);
            }
        }
    }

    if !state.anomalies.is_empty() {
        let _ = writeln!(
            out,
            "\nAnomalies: events that could not take effect ({})",
            state.anomalies.len()
        );
        for anomaly in &state.anomalies {
            data_line!(
                out,
                "  position {} (`{}`): {}",
                anomaly.position,
                anomaly.event_id,
                anomaly.reason
            );
        }
    }
    out
}

/// One event in words, as a chronology reads, on [one line](one_line).
pub fn describe(record: &RecordedEvent) -> String {
    one_line(&describe_raw(record)).into_owned()
}

fn describe_raw(record: &RecordedEvent) -> String {
    let dyad = record.dyad;
    match &record.event {
        Event::TalksHeld(talks) => {
            let mut text = format!(
                "talks held in {} ({})",
                talks.location.city, talks.location.country
            );
            if let Some(venue) = &talks.location.venue {
                let _ = write!(text, ", at {venue}");
            }
            if let Some(format) = talks.format {
                let _ = write!(text, ", {}", words(&format));
            }
            if let Some(minutes) = talks.duration_minutes {
                let _ = write!(text, ", {}", duration(minutes));
            }
            if let Some(level) = talks.level {
                let _ = write!(text, ", {} level", words(&level));
            }
            if !talks.delegations.is_empty() {
                let heads: Vec<String> = talks
                    .delegations
                    .iter()
                    .map(|d| format!("{} ({})", d.head.name, d.party))
                    .collect();
                let _ = write!(text, " — heads: {}", heads.join(", "));
            }
            if !talks.mediators.is_empty() {
                let _ = write!(text, " — mediated by {}", parties_list(&talks.mediators));
            }
            text
        }
        Event::StepAgreed(step) => format!(
            "step agreed{}: {} [{}]",
            if step.reciprocal { ", reciprocal" } else { "" },
            step.description,
            step.step
        ),
        Event::StepProgressed(progress) => {
            let mut text = format!("step {} {}", progress.step, words(&progress.stage));
            if let Some(note) = &progress.note {
                let _ = write!(text, ": {note}");
            }
            text
        }
        Event::PropertyClaimRaised(claim) => {
            let count = claim
                .count
                .unwrap_or(u32::try_from(claim.properties.len()).unwrap_or(u32::MAX));
            let mut text = format!(
                "{} claims {count} propert{}",
                claim.claimant,
                if count == 1 { "y" } else { "ies" }
            );
            if let Some(years) = claim.seized_between {
                let _ = write!(text, " seized {}–{}", years.from, years.to);
            }
            if let Some(words) = &claim.characterization {
                let _ = write!(text, ", \"{words}\" in its words");
            }
            let _ = write!(text, " [{}]", claim.claim);
            text
        }
        Event::ClaimProgressed(progress) => {
            let mut text = format!("claim {} {}", progress.claim, words(&progress.status));
            if let Some(note) = &progress.note {
                let _ = write!(text, ": {note}");
            }
            text
        }
        Event::FlightsProposed(proposal) => {
            let mut text = format!("{} proposes direct flights", proposal.proposer);
            if !proposal.routes.is_empty() {
                let _ = write!(text, " ({})", proposal.routes.join(", "));
            }
            if !proposal.conditions.is_empty() {
                let _ = write!(
                    text,
                    ", on conditions: {}",
                    proposal.conditions.to_vec().join("; ")
                );
            }
            let _ = write!(text, " [{}]", proposal.proposal);
            text
        }
        Event::ProposalAnswered(answer) => {
            let mut text = format!("proposal {} {}", answer.proposal, words(&answer.response));
            if !answer.conditions.is_empty() {
                let _ = write!(text, ", on conditions: {}", answer.conditions.join("; "));
            }
            text
        }
        Event::IrritantRaised(irritant) => format!(
            "irritant raised by {}: {} [{}]",
            irritant.raised_by, irritant.description, irritant.irritant
        ),
        Event::IrritantResolved(resolved) => {
            let mut text = format!("irritant {} resolved", resolved.irritant);
            if let Some(note) = &resolved.note {
                let _ = write!(text, ": {note}");
            }
            text
        }
        Event::RoundScheduled(round) => {
            let mut text = format!("round {} scheduled", round.round);
            if let Some(on) = round.expected_on {
                let _ = write!(text, " for {on}");
            }
            if let Some(replaced) = &round.replaces {
                let _ = write!(text, ", replacing {replaced}");
            }
            if let Some(location) = &round.location {
                let _ = write!(text, " in {} ({})", location.city, location.country);
            }
            text
        }
        Event::RoundCancelled(round) => {
            let mut text = format!("round {} cancelled", round.round);
            if let Some(party) = round.cancelled_by {
                let _ = write!(text, " by {party}");
            }
            text
        }
        Event::DiplomatsExpelled(expelled) => format!(
            "{} expels {} diplomats of {}",
            expelled.expelled_by,
            expelled.count,
            other(dyad, expelled.expelled_by)
        ),
        Event::MissionClosed(closed) => format!("{} closes {}", closed.closed_by, closed.facility),
        Event::EventRetracted(retracted) => format!(
            "correction: event {} no longer counts ({})",
            retracted.target, retracted.reason
        ),
        Event::AgreementReached(reached) => {
            let form = reached.form.unwrap_or(AgreementForm::Signed);
            let mut text = format!("{} {}", words(&form), reached.title);
            if let Some(kind) = reached.kind {
                let _ = write!(text, " ({})", words(&kind));
            }
            let _ = write!(text, ", agreement `{}`", reached.agreement);
            if let Some(at) = &reached.at {
                let _ = write!(text, ", in {} ({})", at.city, at.country);
            }
            if !reached.steps.is_empty() {
                let steps: Vec<String> = reached.steps.iter().map(|s| format!("`{s}`")).collect();
                let _ = write!(text, "; formalizes {}", steps.join(", "));
            }
            text
        }
        Event::AgreementProgressed(progress) => {
            let mut text = format!(
                "agreement `{}` {}",
                progress.agreement,
                words(&progress.status)
            );
            if let Some(by) = progress.by {
                let _ = write!(text, " by {by}");
            }
            if let Some(note) = &progress.note {
                let _ = write!(text, " ({note})");
            }
            text
        }
        Event::MeasureImposed(imposed) => format!(
            "{} imposes {} on {}, measure `{}`: {}",
            imposed.imposed_by,
            words(&imposed.kind),
            other(dyad, imposed.imposed_by),
            imposed.measure,
            imposed.description
        ),
        Event::MeasureProgressed(progress) => {
            let mut text = format!("measure `{}` {}", progress.measure, words(&progress.status));
            if let Some(note) = &progress.note {
                let _ = write!(text, " ({note})");
            }
            text
        }
        Event::PrisonersReleased(released) => {
            let mut text = format!(
                "{} releases {} prisoners",
                released.released_by, released.count
            );
            if !released.names.is_empty() {
                let _ = write!(text, " ({})", released.names.join(", "));
            }
            if let Some(exchange) = &released.exchange {
                let _ = write!(text, " in exchange `{exchange}`");
            }
            text
        }
        Event::MissionReopened(reopened) => {
            format!("{} reopens {}", reopened.reopened_by, reopened.facility)
        }
        // `Event` is `#[non_exhaustive]` outside the library: every type is named above, and
        // `every_frozen_type_is_rendered_by_the_command_line` checks each has its line.
        other => format!("{} event", other.type_name()),
    }
}

/// The effective timeline as a chronology: a line per event, then who reported it.
pub fn history(dyad: Dyad, events: &[RecordedEvent]) -> String {
    history_marked(dyad, events, "", &|_| None)
}

/// [`history`] with `bounds` after the count (`, as known on …`), and the events that
/// `retracted_by` names a retraction for marked `[retracted]`, with that retraction.
pub fn history_marked<'a>(
    dyad: Dyad,
    events: &[RecordedEvent],
    bounds: &str,
    retracted_by: &dyn Fn(&RecordedEvent) -> Option<&'a RecordedEvent>,
) -> String {
    let mut out = String::new();
    if events.is_empty() {
        let _ = writeln!(out, "{dyad}: no events in this period{bounds}");
        return out;
    }
    let retracted = events.iter().filter(|e| retracted_by(e).is_some()).count();
    let _ = writeln!(
        out,
        "{dyad}: {} event{}{}, {} to {}{bounds}\n",
        events.len(),
        if events.len() == 1 { "" } else { "s" },
        match retracted {
            0 => String::new(),
            n => format!(" ({n} retracted, marked)"),
        },
        events[0].occurred_on,
        events[events.len() - 1].occurred_on
    );
    for record in events {
        let by = retracted_by(record);
        data_line!(
            out,
            "{}  {}{}",
            record.occurred_on,
            if by.is_some() { "[retracted] " } else { "" },
            describe(record)
        );
        let mut note = format!("reported {}", record.reported_on);
        if !record.sources.is_empty() {
            let _ = write!(note, " by {}", source_names(&record.sources));
        }
        let _ = write!(note, " · {} at position {}", record.id, record.position);
        if record.dyad != dyad {
            // A record of a dyad this one continues (a succession), shown as stored.
            let _ = write!(note, " · recorded in {}", record.dyad);
        }
        data_line!(out, "            {note}");
        if let Some(by) = by {
            let mut note = format!(
                "retracted by {} at position {}, reported {}",
                by.id, by.position, by.reported_on
            );
            if let Event::EventRetracted(retraction) = &by.event {
                let _ = write!(note, ": {}", retraction.reason);
            }
            data_line!(out, "            {note}");
        }
    }
    out
}

/// What changed between two dates, one line per change.
pub fn diff(dyad: Dyad, from: NaiveDate, to: NaiveDate, diff: &StateDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{dyad}: what changed from {from} to {to}");
    if diff.is_empty() {
        out.push_str("\nnothing changed\n");
        return out;
    }
    if !diff.rounds_added.is_empty() {
        out.push_str("\nRounds of talks held\n");
        for round in &diff.rounds_added {
            data_line!(out, "  + {}", round_line(round));
        }
    }
    if !diff.items_added.is_empty()
        || !diff.items_changed.is_empty()
        || !diff.items_removed.is_empty()
    {
        out.push_str("\nAgenda\n");
        let mut table = Table::new(&["", "item", "", "status", "since"]);
        for item in &diff.items_added {
            table.row(vec![
                "+".into(),
                item.kind.to_string(),
                item.id.to_string(),
                format!("new, {}", item.status.replace('_', " ")),
                item.on.to_string(),
            ]);
        }
        for item in &diff.items_changed {
            table.row(vec![
                "~".into(),
                item.kind.to_string(),
                item.id.to_string(),
                format!(
                    "{} → {}",
                    item.from.replace('_', " "),
                    item.to.replace('_', " ")
                ),
                item.on.to_string(),
            ]);
        }
        for item in &diff.items_removed {
            table.row(vec![
                "-".into(),
                item.kind.to_string(),
                item.id.to_string(),
                format!("gone (was {})", item.status.replace('_', " ")),
                item.on.to_string(),
            ]);
        }
        // The header row is blank: drop it.
        let text = table.render("  ");
        out.push_str(text.split_once('\n').map(|(_, rest)| rest).unwrap_or(""));
    }
    if !diff.party_statuses.is_empty() {
        out.push_str("\nAgreements, by party\n");
        let mut table = Table::new(&["", "agreement", "party", "status", "since"]);
        for change in &diff.party_statuses {
            let status = match &change.from {
                Some(from) => format!(
                    "{} → {}",
                    from.replace('_', " "),
                    change.to.replace('_', " ")
                ),
                None => change.to.replace('_', " "),
            };
            table.row(vec![
                "~".into(),
                change.id.to_string(),
                change.party.to_string(),
                status,
                change.on.to_string(),
            ]);
        }
        let text = table.render("  ");
        out.push_str(text.split_once('\n').map(|(_, rest)| rest).unwrap_or(""));
    }
    if !diff.ledger.is_empty() {
        out.push_str("\nReciprocity ledger\n");
        for change in &diff.ledger {
            let mut parts = Vec::new();
            if change.diplomats_expelled > 0 {
                parts.push(format!("expelled {} diplomats", change.diplomats_expelled));
            }
            if !change.missions_closed.is_empty() {
                parts.push(format!("closed {}", change.missions_closed.join("; ")));
            }
            if !change.missions_reopened.is_empty() {
                parts.push(format!("reopened {}", change.missions_reopened.join("; ")));
            }
            if change.prisoners_released > 0 {
                parts.push(format!("released {} prisoners", change.prisoners_released));
            }
            data_line!(out, "  {}: {}", change.party, parts.join("; "));
        }
    }
    if let Some(next) = &diff.next_round {
        let mut text = format!("\nNext round\n  `{}` now next", next.round);
        if let Some(on) = next.expected_on {
            let _ = write!(text, ", expected on {on}");
        }
        let _ = writeln!(out, "{text}");
    }
    out
}

/// A byte count for people: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use detente::domain::{
        Change, Claim, ClaimStatus, Location, Person, Step, StepStage, TalksFormat,
    };

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn hand_built() -> BilateralState {
        let rus: Party = "RUS".parse().unwrap();
        let usa: Party = "USA".parse().unwrap();
        let mut state = BilateralState {
            dyad: Some("RUS-USA".parse().unwrap()),
            events_applied: 3,
            position: 3,
            ..BilateralState::default()
        };
        state.rounds.push(Round {
            event_id: "talks".parse().unwrap(),
            round: None,
            held_on: date("2025-02-27"),
            location: Location {
                city: "Istanbul".into(),
                country: "TUR".parse().unwrap(),
                venue: None,
            },
            format: Some(TalksFormat::ClosedDoor),
            duration_minutes: Some(360),
            level: None,
            heads: BTreeMap::from([
                (
                    rus,
                    Person {
                        name: "Alexander Darchiev".into(),
                        title: None,
                    },
                ),
                (
                    usa,
                    Person {
                        name: "Sonata Coulter".into(),
                        title: None,
                    },
                ),
            ]),
            topics: Vec::new(),
            mediators: Vec::new(),
            sources: vec![Source {
                name: "Xinhua".into(),
                kind: None,
                url: None,
                quote: None,
            }],
        });
        state.steps.insert(
            "mission-financing".parse().unwrap(),
            Step {
                description: "unimpeded financing of missions".into(),
                category: None,
                reciprocal: true,
                stage: StepStage::Agreed,
                agreed_on: date("2025-02-27"),
                changed_on: date("2025-02-27"),
                history: SharedVec::from(vec![Change {
                    on: date("2025-02-27"),
                    to: StepStage::Agreed,
                    event_id: "s".parse().unwrap(),
                }]),
                sources: SharedVec::new(),
            },
        );
        state.claims.insert(
            "diplomatic-property".parse().unwrap(),
            Claim {
                claimant: rus,
                count: 6,
                properties: Vec::new(),
                seized_between: None,
                characterization: Some("illegally seized".into()),
                status: ClaimStatus::UnderDiscussion,
                raised_on: date("2025-02-27"),
                changed_on: date("2025-03-10"),
                history: SharedVec::new(),
                sources: SharedVec::new(),
            },
        );
        state
    }

    #[test]
    fn the_state_reads_in_words_and_aligned_columns() {
        let text = state(&hand_built(), "RUS-USA: the state today, as known now");
        assert!(
            text.contains(
                "2025-02-27  Istanbul (TUR), closed door, 6 h 0 min\n              heads: Alexander Darchiev (RUS), Sonata Coulter (USA)"
            ),
            "{text}"
        );
        assert!(text.contains("sources: Xinhua"), "{text}");
        assert!(text.contains("under discussion"), "{text}");
        assert!(!text.contains("under_discussion"), "{text}");
        assert!(text.contains("(reciprocal)"), "{text}");
        assert!(text.contains("\"illegally seized\""), "{text}");
        // The columns of the steps table line up.
        let header = text.lines().find(|l| l.starts_with("  step ")).unwrap();
        let row = text
            .lines()
            .find(|l| l.starts_with("  mission-financing"))
            .unwrap();
        assert_eq!(header.find("stage"), row.find("agreed"));
    }

    #[test]
    fn an_empty_state_says_so() {
        let text = state(&BilateralState::default(), "header");
        assert!(text.contains("nothing is known"), "{text}");
    }

    #[test]
    fn small_words() {
        assert_eq!(words(&ClaimStatus::RoadmapAgreed), "roadmap agreed");
        assert_eq!(duration(45), "45 min");
        assert_eq!(duration(360), "6 h 0 min");
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
    }
}

#[cfg(test)]
mod scenario_tests {
    use super::*;
    use detente::domain::{Query, effective_timeline, state_at};
    use detente::scenario::{istanbul_2025, istanbul_2025_followups, recorded};

    #[test]
    fn the_istanbul_story_reads_as_a_chronology() {
        let events = recorded(istanbul_2025().into_iter().chain(istanbul_2025_followups()));
        let timeline: Vec<RecordedEvent> = effective_timeline(&events, &Query::default())
            .into_iter()
            .cloned()
            .collect();
        let dyad = "RUS-USA".parse().unwrap();
        let text = history(dyad, &timeline);
        let state = state(&state_at(&events, &Query::default()), "RUS-USA");
        if std::env::var_os("DETENTE_PRINT").is_some() {
            println!("{text}\n{state}");
        }
        assert!(
            text.contains("2025-02-27  talks held in Istanbul (TUR), at US Consul General's residence, closed door, 6 h 0 min — heads: Alexander Darchiev (RUS), Sonata Coulter (USA)"),
            "{text}"
        );
        assert!(text.contains("by Russian Foreign Ministry"), "{text}");
    }
}
