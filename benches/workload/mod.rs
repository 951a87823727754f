//! The benchmark workload: a deterministic (seeded), valid stream of wire-format events.
//!
//! Shared by `benches/engine.rs`, `examples/bench_large.rs` and the cheap validity test in
//! `tests/it/workload.rs`, through `#[path]`. It uses no randomness crate: a SplitMix64 in
//! a few lines is enough and keeps the stream the same on every machine and every version.
//!
//! What it makes, per dyad, in date order with a few dated back:
//! - all 14 event types, in proportions that look like a long negotiation: rounds scheduled
//!   and held or cancelled, steps agreed then progressed, claims raised then progressed,
//!   proposals made then answered, irritants raised then resolved, expulsions, closures;
//! - about 300–400 bytes of JSON each (sources with URLs, descriptions, notes);
//! - retroactive events (`occurred_on` before the dyad's latest date, reported late) and
//!   retractions (of expulsions, closures and stage changes, which no later event depends on),
//!   at per-mille rates of the [`Spec`];
//! - every story ending before 2024-08-22: one too long to fit after 2000-01-01 starts earlier
//!   (the engine refuses an event reported after the day it is recorded);
//! - every event valid: the engine's checks accept the whole stream, batch after batch.

#![allow(dead_code)]

use std::fmt::Write as _;

/// Real ISO 3166-1 alpha-3 codes: 48 parties, 1,128 dyads.
const PARTIES: [&str; 48] = [
    "ARE", "ARG", "AUS", "AUT", "BEL", "BRA", "CAN", "CHE", "CHL", "CHN", "COL", "CZE", "DEU",
    "DNK", "EGY", "ESP", "FIN", "FRA", "GBR", "GRC", "HUN", "IDN", "IND", "IRL", "IRN", "ISR",
    "ITA", "JPN", "KAZ", "KOR", "MEX", "NGA", "NLD", "NOR", "NZL", "PAK", "POL", "PRT", "ROU",
    "RUS", "SAU", "SRB", "SWE", "THA", "TUR", "UKR", "USA", "ZAF",
];

const CITIES: [(&str, &str); 6] = [
    ("Istanbul", "TUR"),
    ("Geneva", "CHE"),
    ("Vienna", "AUT"),
    ("Riyadh", "SAU"),
    ("Helsinki", "FIN"),
    ("Oslo", "NOR"),
];

const SOURCES: [(&str, &str, &str); 5] = [
    (
        "Ministry of Foreign Affairs",
        "official_statement",
        "https://example.org/mfa/statements",
    ),
    ("TASS", "news_agency", "https://example.org/tass/news"),
    (
        "Reuters",
        "news_agency",
        "https://example.org/reuters/world",
    ),
    (
        "The Guardian",
        "newspaper",
        "https://example.org/guardian/world",
    ),
    (
        "Department spokesperson",
        "spokesperson",
        "https://example.org/briefings",
    ),
];

const CATEGORIES: [&str; 7] = [
    "mission_financing",
    "diplomat_conditions",
    "staffing",
    "visas",
    "property",
    "flights",
    "consultations",
];

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Events in all.
    pub events: usize,
    /// Dyads they are spread over (at most 1,128).
    pub dyads: usize,
    /// The seed: the same spec always gives the same bytes.
    pub seed: u64,
    /// Retroactive events per thousand.
    pub retro_per_mille: u32,
    /// Retractions per thousand.
    pub retract_per_mille: u32,
}

impl Spec {
    /// `events` over `dyads`, with 20‰ retroactive events and 10‰ retractions.
    pub fn new(events: usize, dyads: usize) -> Spec {
        Spec {
            events,
            dyads: dyads.clamp(1, PARTIES.len() * (PARTIES.len() - 1) / 2),
            seed: 0x5eed_d7e7,
            retro_per_mille: 20,
            retract_per_mille: 10,
        }
    }
}

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The `index`-th dyad: its two parties, sorted.
pub fn dyad_parties(index: usize) -> (&'static str, &'static str) {
    let n = PARTIES.len();
    let mut k = index % (n * (n - 1) / 2);
    for a in 0..n {
        let row = n - 1 - a;
        if k < row {
            return (PARTIES[a], PARTIES[a + 1 + k]);
        }
        k -= row;
    }
    unreachable!("k is below the number of pairs")
}

/// The day 2024-08-22, as days since 2000-01-01: no dyad's story runs past it.
const LAST_DAY: i64 = 9_000;

/// The first day of every story, as days since 2000-01-01 (`date`'s `first`): 2000-01-01
/// itself, unless the longest story (about two thirds of a day per event) would run past
/// [`LAST_DAY`]; then as much earlier as it needs, since the engine refuses an event
/// reported after the day it is recorded (a hot dyad of 100,000 events starts in 1818).
fn first_day(longest_story: usize) -> i64 {
    let span = i64::try_from(longest_story).unwrap_or(i64::MAX / 2) * 3 / 4 + 400;
    (LAST_DAY - span).min(0)
}

/// `day` days after the `first` day (days since 2000-01-01) as an ISO date.
fn date(first: i64, day: u32) -> String {
    // Civil from days (Howard Hinnant).
    let z = first + i64::from(day) + 10_957 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// One of `choices` other than `current`.
fn another(rng: &mut Rng, choices: &[&'static str], current: &str) -> &'static str {
    let others: Vec<&'static str> = choices.iter().copied().filter(|c| *c != current).collect();
    let index = rng.below(others.len() as u64) as usize;
    others[index]
}

/// One dyad's story so far, enough to keep every next event valid.
#[derive(Debug, Default)]
struct DyadStory {
    day: u32,
    n: u64,
    /// Steps, claims and proposals with their current stage or status: a change is always to
    /// another one (moving an item to the status it has is refused).
    steps: Vec<(u64, &'static str)>,
    claims: Vec<(u64, &'static str)>,
    proposals: Vec<(u64, &'static str)>,
    /// Irritants still open.
    irritants: Vec<u64>,
    /// The id of the next round while it is scheduled.
    scheduled: Option<u64>,
    rounds: u64,
    /// Ids of events nothing later depends on, not yet retracted, with their report days (a
    /// retraction is not reported before its target).
    retractable: Vec<(String, u32)>,
}

/// The generator: an iterator of JSON Lines (without the new line), each a `NewEvent`.
pub struct Workload {
    spec: Spec,
    rng: Rng,
    stories: Vec<DyadStory>,
    emitted: usize,
    /// Events of dyad 0 so far (the hot dyad, when the spec asks for one).
    hot_share: u32,
    /// The first day of every story (see [`first_day`]).
    first: i64,
}

impl Workload {
    pub fn new(spec: Spec) -> Workload {
        Workload {
            spec,
            rng: Rng::new(spec.seed),
            stories: (0..spec.dyads).map(|_| DyadStory::default()).collect(),
            emitted: 0,
            hot_share: 0,
            first: first_day(spec.events.div_ceil(spec.dyads.max(1))),
        }
    }

    /// Sends `per_mille` of the events to dyad 0 (a hot dyad), the rest evenly elsewhere.
    pub fn with_hot_dyad(mut self, per_mille: u32) -> Workload {
        self.hot_share = per_mille;
        let hot = self.spec.events * per_mille as usize / 1000;
        self.first = self.first.min(first_day(hot + hot / 10));
        self
    }

    fn sources(&mut self, out: &mut String) {
        let n = 1 + usize::from(self.rng.below(3) == 0);
        out.push_str(r#","sources":["#);
        for i in 0..n {
            let (name, kind, url) = *self.rng.pick(&SOURCES);
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"name":"{name}","kind":"{kind}","url":"{url}/{}"}}"#,
                self.rng.below(1_000_000)
            );
        }
        out.push(']');
    }

    fn line(&mut self, d: usize) -> String {
        let (a, b) = dyad_parties(d);
        let dyad = format!("{a}-{b}");
        let mut rng = self.rng.clone();
        let story = &mut self.stories[d];
        story.n += 1;
        if rng.below(3) == 0 {
            story.day += 1 + rng.below(3) as u32;
        }
        let n = story.n;
        let id = format!("{dyad}-{n}");
        let retro = rng.below(1000) < u64::from(self.spec.retro_per_mille) && story.day > 40;
        let retract = !retro
            && !story.retractable.is_empty()
            && rng.below(1000) < u64::from(self.spec.retract_per_mille);
        let occurred = if retro {
            story.day - 1 - rng.below(30) as u32
        } else {
            story.day
        };
        let mut reported = story.day + rng.below(3) as u32;
        let actor = if rng.below(2) == 0 { a } else { b };
        let other = if actor == a { b } else { a };
        let mut event = String::with_capacity(320);
        if retract {
            let index = rng.below(story.retractable.len() as u64) as usize;
            let (target, target_reported) = story.retractable.swap_remove(index);
            reported = reported.max(target_reported);
            let _ = write!(
                event,
                r#"{{"type":"EventRetracted","target":"{target}","reason":"the report was corrected by a later statement of the ministry"}}"#
            );
        } else if retro {
            // Dated back: only facts nothing else depends on, with fresh ids.
            match rng.below(3) {
                0 => {
                    let _ = write!(
                        event,
                        r#"{{"type":"DiplomatsExpelled","expelled_by":"{actor}","count":{}}}"#,
                        1 + rng.below(40)
                    );
                    story.retractable.push((id.clone(), reported.max(occurred)));
                }
                1 => {
                    story.irritants.push(n);
                    let _ = write!(
                        event,
                        r#"{{"type":"IrritantRaised","irritant":"irritant-{n}","raised_by":"{actor}","description":"harassment of embassy staff reported late, dated back to the day it began","category":"{}"}}"#,
                        rng.pick(&CATEGORIES)
                    );
                }
                _ => {
                    let (city, country) = *rng.pick(&CITIES);
                    let _ = write!(
                        event,
                        r#"{{"type":"TalksHeld","location":{{"city":"{city}","country":"{country}"}},"format":"closed_door","duration_minutes":{},"delegations":[{{"party":"{a}","head":{{"name":"Head of {a} delegation"}}}},{{"party":"{b}","head":{{"name":"Head of {b} delegation"}}}}]}}"#,
                        30 + rng.below(400)
                    );
                    story.retractable.push((id.clone(), reported.max(occurred)));
                }
            }
        } else {
            let kind = rng.below(100);
            match kind {
                0..=9 => {
                    let _ = write!(
                        event,
                        r#"{{"type":"StepAgreed","step":"step-{n}","description":"restore the normal functioning of the embassies, item {n}","category":"{}","reciprocal":{}}}"#,
                        rng.pick(&CATEGORIES),
                        rng.below(2) == 0
                    );
                    story.steps.push((n, "agreed"));
                }
                10..=21 if !story.steps.is_empty() => {
                    let index = rng.below(story.steps.len() as u64) as usize;
                    let (step, current) = story.steps[index];
                    let stage = another(
                        &mut rng,
                        &["formalized", "implementing", "implemented", "stalled"],
                        current,
                    );
                    story.steps[index].1 = stage;
                    // Not retractable: without it, the stages before and after may be the same.
                    let _ = write!(
                        event,
                        r#"{{"type":"StepProgressed","step":"step-{step}","stage":"{stage}","note":"confirmed by both foreign ministries after the working group met"}}"#
                    );
                }
                22..=28 => {
                    let _ = write!(
                        event,
                        r#"{{"type":"PropertyClaimRaised","claim":"claim-{n}","claimant":"{actor}","properties":[{{"name":"country residence {n}","location":"near the capital"}}],"seized_between":{{"from":2016,"to":2017}},"characterization":"illegally seized"}}"#
                    );
                    story.claims.push((n, "open"));
                }
                29..=38 if !story.claims.is_empty() => {
                    let index = rng.below(story.claims.len() as u64) as usize;
                    let (claim, current) = story.claims[index];
                    let status = another(
                        &mut rng,
                        &["under_discussion", "roadmap_agreed", "rejected"],
                        current,
                    );
                    story.claims[index].1 = status;
                    let _ = write!(
                        event,
                        r#"{{"type":"ClaimProgressed","claim":"claim-{claim}","status":"{status}","note":"discussed at expert level"}}"#
                    );
                }
                39..=45 => {
                    let _ = write!(
                        event,
                        r#"{{"type":"FlightsProposed","proposal":"flights-{n}","proposer":"{actor}","routes":["capital of {actor} to capital of {other}"],"conditions":["overflight rights restored"]}}"#
                    );
                    story.proposals.push((n, "proposed"));
                }
                46..=53 if !story.proposals.is_empty() => {
                    let index = rng.below(story.proposals.len() as u64) as usize;
                    let (proposal, current) = story.proposals[index];
                    let response = another(
                        &mut rng,
                        &["accepted", "rejected", "deferred", "conditioned"],
                        current,
                    );
                    story.proposals[index].1 = response;
                    let _ = write!(
                        event,
                        r#"{{"type":"ProposalAnswered","proposal":"flights-{proposal}","response":"{response}","conditions":["reciprocal slots"]}}"#
                    );
                }
                54..=61 => {
                    let _ = write!(
                        event,
                        r#"{{"type":"IrritantRaised","irritant":"irritant-{n}","raised_by":"{actor}","description":"bank accounts of the mission frozen, staff cannot be paid","category":"{}"}}"#,
                        rng.pick(&CATEGORIES)
                    );
                    story.irritants.push(n);
                }
                62..=67 if !story.irritants.is_empty() => {
                    // Resolved once: it leaves the open irritants.
                    let index = rng.below(story.irritants.len() as u64) as usize;
                    let irritant = story.irritants.swap_remove(index);
                    let _ = write!(
                        event,
                        r#"{{"type":"IrritantResolved","irritant":"irritant-{irritant}","note":"settled by an exchange of notes"}}"#
                    );
                }
                68..=73 if story.scheduled.is_none() => {
                    story.rounds += 1;
                    let round = story.rounds;
                    let (city, country) = *rng.pick(&CITIES);
                    let _ = write!(
                        event,
                        r#"{{"type":"RoundScheduled","round":"round-{round}","expected_on":"{}","location":{{"city":"{city}","country":"{country}","venue":"consulate general"}}}}"#,
                        date(self.first, story.day + 30)
                    );
                    story.scheduled = Some(round);
                }
                74..=75 if story.scheduled.is_some() => {
                    let round = story.scheduled.take().unwrap_or_default();
                    let _ = write!(
                        event,
                        r#"{{"type":"RoundCancelled","round":"round-{round}","cancelled_by":"{actor}"}}"#
                    );
                }
                76..=85 => {
                    let (city, country) = *rng.pick(&CITIES);
                    let round = match story.scheduled.take() {
                        Some(round) => format!(r#""round":"round-{round}","#),
                        None => String::new(),
                    };
                    let retractable = round.is_empty();
                    let _ = write!(
                        event,
                        r#"{{"type":"TalksHeld",{round}"location":{{"city":"{city}","country":"{country}"}},"format":"closed_door","duration_minutes":{},"level":"senior_officials","delegations":[{{"party":"{a}","head":{{"name":"Head of {a} delegation","title":"Director"}}}},{{"party":"{b}","head":{{"name":"Head of {b} delegation"}}}}]}}"#,
                        60 + rng.below(360)
                    );
                    if retractable {
                        story.retractable.push((id.clone(), reported.max(occurred)));
                    }
                }
                86..=92 => {
                    let _ = write!(
                        event,
                        r#"{{"type":"DiplomatsExpelled","expelled_by":"{actor}","count":{}}}"#,
                        1 + rng.below(60)
                    );
                    story.retractable.push((id.clone(), reported.max(occurred)));
                }
                _ => {
                    let _ = write!(
                        event,
                        r#"{{"type":"MissionClosed","closed_by":"{actor}","facility":"consulate general number {n} and its trade annex"}}"#
                    );
                    story.retractable.push((id.clone(), reported.max(occurred)));
                }
            }
        }
        if event.is_empty() {
            // A kind whose precondition is missing falls back to an expulsion.
            let _ = write!(
                event,
                r#"{{"type":"DiplomatsExpelled","expelled_by":"{actor}","count":{}}}"#,
                1 + rng.below(60)
            );
            story.retractable.push((id.clone(), reported.max(occurred)));
        }
        let mut line = String::with_capacity(400);
        let _ = write!(
            line,
            r#"{{"id":"{id}","dyad":"{dyad}","occurred_on":"{}","reported_on":"{}""#,
            date(self.first, occurred),
            date(self.first, reported.max(occurred))
        );
        self.rng = rng;
        self.sources(&mut line);
        let _ = write!(line, r#","event":{event}}}"#);
        line
    }
}

impl Iterator for Workload {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.emitted >= self.spec.events {
            return None;
        }
        self.emitted += 1;
        let hot = self.hot_share > 0 && self.rng.below(1000) < u64::from(self.hot_share);
        let d = if hot || self.spec.dyads == 1 {
            0
        } else {
            let start = usize::from(self.hot_share > 0);
            start + self.rng.below((self.spec.dyads - start) as u64) as usize
        };
        Some(self.line(d))
    }
}
