//! Bounds on one input, so that no single event can exhaust memory or bloat the log.
//!
//! Two checks, at two moments:
//!
//! - [`check_input_size`], on the raw text of one event (a `detente record` document, one line
//!   of `detente import`) *before* it is parsed: at most [`MAX_INPUT_BYTES`].
//! - [`check_limits`], on a parsed [`NewEvent`] before it is recorded (the engine calls it for
//!   every input of `Engine::record_batch`): at most [`MAX_SOURCES`] sources,
//!   [`MAX_LIST_ITEMS`] items in any list, [`MAX_STRING_BYTES`] bytes in any free-text field,
//!   and [`MAX_EVENT_BYTES`] bytes of compact JSON in all.
//!
//! Ids, item ids and categories have their own bound ([`MAX_ID_LEN`](super::MAX_ID_LEN)),
//! checked by the parser; so are nesting depth (serde_json refuses JSON nested deeper than 128
//! levels: "recursion limit exceeded") and integers (`u32` counts, `i32` years).
//!
//! [`MAX_EVENT_BYTES`] is below [`MAX_INPUT_BYTES`] by enough room for what the store adds
//! (position, version, `recorded_at`, `schema`, hash, a derived id), so that every line that
//! `detente export` prints can be imported again.

use super::{Event, NewEvent, Source};

/// The most bytes of JSON read for one event before parsing: one line of an import, or the
/// whole document of `detente record`.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// The most bytes of one event's content as compact JSON (the envelope without the fields the
/// store adds).
pub const MAX_EVENT_BYTES: usize = 60 * 1024;
/// The most bytes (of UTF-8) in one free-text field: a name, title, description, note, quote,
/// url, reason, city, venue, facility, topic, route or condition.
pub const MAX_STRING_BYTES: usize = 4 * 1024;
/// The most sources of one event.
pub const MAX_SOURCES: usize = 32;
/// The most items in any other list: delegations, topics, properties, routes, conditions.
pub const MAX_LIST_ITEMS: usize = 256;

/// Why an input is over a bound. Each message names the field and the bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The raw text of one event is too long to be read.
    #[error(
        "the input is {size} bytes long: at most {max} bytes of JSON are read for one event (one line of an import)"
    )]
    InputTooLarge {
        /// Its length in bytes.
        size: usize,
        /// [`MAX_INPUT_BYTES`].
        max: usize,
    },
    /// The event's content is too large as a whole.
    #[error(
        "the event is {size} bytes long as compact JSON: at most {max} are allowed; shorten its texts or split it"
    )]
    EventTooLarge {
        /// Its compact JSON length in bytes.
        size: usize,
        /// [`MAX_EVENT_BYTES`].
        max: usize,
    },
    /// A free-text field is too long.
    #[error("field `{field}` is {len} bytes long: at most {max} are allowed")]
    StringTooLong {
        /// The field's path, like `event.description` or `sources[2].quote`.
        field: String,
        /// Its length in bytes.
        len: usize,
        /// [`MAX_STRING_BYTES`].
        max: usize,
    },
    /// A list has too many items.
    #[error("field `{field}` has {len} items: at most {max} are allowed")]
    TooManyItems {
        /// The field's path, like `sources` or `event.topics`.
        field: String,
        /// How many items it has.
        len: usize,
        /// [`MAX_SOURCES`] or [`MAX_LIST_ITEMS`].
        max: usize,
    },
}

/// The start of a text quoted in an error message: at most 40 characters, then `…`, so that
/// an error about a huge value is not itself huge.
pub(crate) fn excerpt(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Checks the length of the raw text of one event, before it is parsed.
///
/// # Example
///
/// ```
/// use detente::domain::limits::{check_input_size, MAX_INPUT_BYTES};
///
/// assert!(check_input_size(MAX_INPUT_BYTES).is_ok());
/// let err = check_input_size(MAX_INPUT_BYTES + 1).unwrap_err();
/// assert!(err.to_string().starts_with("the input is 65537 bytes long"));
/// ```
pub fn check_input_size(size: usize) -> Result<(), LimitError> {
    if size > MAX_INPUT_BYTES {
        return Err(LimitError::InputTooLarge {
            size,
            max: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

/// Checks a parsed event against every bound of this module: lists first, then each text,
/// then the size of the whole.
///
/// # Example
///
/// ```
/// use detente::domain::NewEvent;
/// use detente::domain::limits::{check_limits, LimitError};
///
/// let mut input: NewEvent = serde_json::from_str(r#"{"dyad": "RUS-USA", "occurred_on": "2017-09-02",
///     "event": {"type": "MissionClosed", "closed_by": "USA", "facility": "trade mission"}}"#)?;
/// assert!(check_limits(&input).is_ok());
/// if let detente::domain::Event::MissionClosed(closed) = &mut input.event {
///     closed.facility = "x".repeat(5000);
/// }
/// let err = check_limits(&input).unwrap_err();
/// assert!(matches!(err, LimitError::StringTooLong { ref field, len: 5000, max: 4096 } if field == "event.facility"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn check_limits(input: &NewEvent) -> Result<(), LimitError> {
    let mut checker = Checker;
    checker.list("sources", input.sources.len(), MAX_SOURCES)?;
    for (index, source) in input.sources.iter().enumerate() {
        checker.source(index, source)?;
    }
    checker.event(&input.event)?;
    let size = json_size(input);
    if size > MAX_EVENT_BYTES {
        return Err(LimitError::EventTooLarge {
            size,
            max: MAX_EVENT_BYTES,
        });
    }
    Ok(())
}

/// The length of `input`'s compact JSON, counted as it is written rather than kept.
fn json_size(input: &NewEvent) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, input) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Walks an event, naming each field it checks by its path.
struct Checker;

impl Checker {
    fn list(&mut self, field: &str, len: usize, max: usize) -> Result<(), LimitError> {
        if len > max {
            return Err(LimitError::TooManyItems {
                field: field.to_owned(),
                len,
                max,
            });
        }
        Ok(())
    }

    fn text(&mut self, field: impl FnOnce() -> String, text: &str) -> Result<(), LimitError> {
        if text.len() > MAX_STRING_BYTES {
            return Err(LimitError::StringTooLong {
                field: field(),
                len: text.len(),
                max: MAX_STRING_BYTES,
            });
        }
        Ok(())
    }

    fn optional(
        &mut self,
        field: impl FnOnce() -> String,
        text: Option<&String>,
    ) -> Result<(), LimitError> {
        match text {
            Some(text) => self.text(field, text),
            None => Ok(()),
        }
    }

    fn texts(&mut self, field: &str, texts: &[String]) -> Result<(), LimitError> {
        self.list(field, texts.len(), MAX_LIST_ITEMS)?;
        for (index, text) in texts.iter().enumerate() {
            self.text(|| format!("{field}[{index}]"), text)?;
        }
        Ok(())
    }

    fn source(&mut self, index: usize, source: &Source) -> Result<(), LimitError> {
        self.text(|| format!("sources[{index}].name"), &source.name)?;
        self.optional(|| format!("sources[{index}].url"), source.url.as_ref())?;
        self.optional(|| format!("sources[{index}].quote"), source.quote.as_ref())
    }

    fn location(&mut self, field: &str, location: &super::Location) -> Result<(), LimitError> {
        self.text(|| format!("{field}.city"), &location.city)?;
        self.optional(|| format!("{field}.venue"), location.venue.as_ref())
    }

    fn event(&mut self, event: &Event) -> Result<(), LimitError> {
        let field = |name: &str| format!("event.{name}");
        match event {
            Event::TalksHeld(e) => {
                self.location("event.location", &e.location)?;
                self.list("event.delegations", e.delegations.len(), MAX_LIST_ITEMS)?;
                for (index, delegation) in e.delegations.iter().enumerate() {
                    let head = &delegation.head;
                    self.text(
                        || format!("event.delegations[{index}].head.name"),
                        &head.name,
                    )?;
                    self.optional(
                        || format!("event.delegations[{index}].head.title"),
                        head.title.as_ref(),
                    )?;
                }
                self.texts("event.topics", &e.topics)?;
                self.list("event.mediators", e.mediators.len(), MAX_LIST_ITEMS)
            }
            Event::StepAgreed(e) => self.text(|| field("description"), &e.description),
            Event::StepProgressed(e) => self.optional(|| field("note"), e.note.as_ref()),
            Event::PropertyClaimRaised(e) => {
                self.list("event.properties", e.properties.len(), MAX_LIST_ITEMS)?;
                for (index, property) in e.properties.iter().enumerate() {
                    self.text(|| format!("event.properties[{index}].name"), &property.name)?;
                    self.optional(
                        || format!("event.properties[{index}].location"),
                        property.location.as_ref(),
                    )?;
                }
                self.optional(|| field("characterization"), e.characterization.as_ref())
            }
            Event::ClaimProgressed(e) => self.optional(|| field("note"), e.note.as_ref()),
            Event::FlightsProposed(e) => {
                self.texts("event.routes", &e.routes)?;
                self.texts("event.conditions", &e.conditions)
            }
            Event::ProposalAnswered(e) => self.texts("event.conditions", &e.conditions),
            Event::IrritantRaised(e) => self.text(|| field("description"), &e.description),
            Event::IrritantResolved(e) => self.optional(|| field("note"), e.note.as_ref()),
            Event::RoundScheduled(e) => match &e.location {
                Some(location) => self.location("event.location", location),
                None => Ok(()),
            },
            Event::RoundCancelled(_) | Event::DiplomatsExpelled(_) => Ok(()),
            Event::MissionClosed(e) => self.text(|| field("facility"), &e.facility),
            Event::EventRetracted(e) => self.text(|| field("reason"), &e.reason),
            Event::AgreementReached(e) => {
                self.text(|| field("title"), &e.title)?;
                self.list("event.steps", e.steps.len(), MAX_LIST_ITEMS)?;
                match &e.at {
                    Some(location) => self.location("event.at", location),
                    None => Ok(()),
                }
            }
            Event::AgreementProgressed(e) => self.optional(|| field("note"), e.note.as_ref()),
            Event::MeasureImposed(e) => self.text(|| field("description"), &e.description),
            Event::MeasureProgressed(e) => self.optional(|| field("note"), e.note.as_ref()),
            Event::PrisonersReleased(e) => {
                self.texts("event.names", &e.names)?;
                self.optional(|| field("exchange"), e.exchange.as_ref())
            }
            Event::MissionReopened(e) => self.text(|| field("facility"), &e.facility),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> NewEvent {
        serde_json::from_str(json).unwrap()
    }

    #[track_caller]
    fn check(json: &str, expected: Result<(), &str>) {
        let actual = check_limits(&input(json)).map_err(|err| err.to_string());
        assert_eq!(actual, expected.map_err(str::to_owned), "{json}");
    }

    fn source(name: &str) -> String {
        format!(r#"{{"name":"{name}"}}"#)
    }

    #[test]
    fn every_bound_names_its_field() {
        let big = "x".repeat(MAX_STRING_BYTES + 1);
        let fits = "x".repeat(MAX_STRING_BYTES);
        check(
            &format!(
                r#"{{"dyad":"RUS-USA","occurred_on":"2025-01-01","event":{{"type":"StepAgreed","step":"s","description":"{fits}"}}}}"#
            ),
            Ok(()),
        );
        check(
            &format!(
                r#"{{"dyad":"RUS-USA","occurred_on":"2025-01-01","event":{{"type":"StepAgreed","step":"s","description":"{big}"}}}}"#
            ),
            Err("field `event.description` is 4097 bytes long: at most 4096 are allowed"),
        );
        let sources: Vec<String> = (0..=MAX_SOURCES)
            .map(|i| source(&format!("s{i}")))
            .collect();
        check(
            &format!(
                r#"{{"dyad":"RUS-USA","occurred_on":"2025-01-01","sources":[{}],"event":{{"type":"DiplomatsExpelled","expelled_by":"USA","count":1}}}}"#,
                sources.join(",")
            ),
            Err("field `sources` has 33 items: at most 32 are allowed"),
        );
        check(
            &format!(
                r#"{{"dyad":"RUS-USA","occurred_on":"2025-01-01","sources":[{{"name":"a","quote":"{big}"}}],"event":{{"type":"DiplomatsExpelled","expelled_by":"USA","count":1}}}}"#
            ),
            Err("field `sources[0].quote` is 4097 bytes long: at most 4096 are allowed"),
        );
        let topics = vec!["\"t\""; MAX_LIST_ITEMS + 1].join(",");
        check(
            &format!(
                r#"{{"dyad":"RUS-USA","occurred_on":"2025-01-01","event":{{"type":"TalksHeld","location":{{"city":"Istanbul","country":"TUR"}},"delegations":[],"topics":[{topics}]}}}}"#
            ),
            Err("field `event.topics` has 257 items: at most 256 are allowed"),
        );
        check(
            &format!(
                r#"{{"dyad":"RUS-USA","occurred_on":"2025-01-01","event":{{"type":"TalksHeld","location":{{"city":"Istanbul","country":"TUR","venue":"{big}"}},"delegations":[]}}}}"#
            ),
            Err("field `event.location.venue` is 4097 bytes long: at most 4096 are allowed"),
        );
    }

    #[test]
    fn the_whole_is_bounded_even_when_every_part_fits() {
        let fits = "x".repeat(MAX_STRING_BYTES);
        let topics = vec![format!("\"{fits}\""); 16].join(",");
        let err = check_limits(&input(&format!(
            r#"{{"dyad":"RUS-USA","occurred_on":"2025-01-01","event":{{"type":"TalksHeld","location":{{"city":"Istanbul","country":"TUR"}},"delegations":[],"topics":[{topics}]}}}}"#
        )))
        .unwrap_err();
        assert!(
            matches!(err, LimitError::EventTooLarge { max: MAX_EVENT_BYTES, size } if size > MAX_EVENT_BYTES),
            "{err}"
        );
    }

    #[test]
    fn errors_quote_only_the_start_of_a_huge_value() {
        let huge = "x".repeat(1_000_000);
        let party = serde_json::from_str::<NewEvent>(&format!(
            r#"{{"dyad": "{huge}", "occurred_on": "2025-01-01", "event": {{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 1}}}}"#
        ))
        .unwrap_err();
        let date = serde_json::from_str::<NewEvent>(&format!(
            r#"{{"dyad": "RUS-USA", "occurred_on": "{huge}", "event": {{"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 1}}}}"#
        ))
        .unwrap_err();
        let party_alone = huge.parse::<super::super::Party>().unwrap_err();
        for err in [party.to_string(), date.to_string(), party_alone.to_string()] {
            assert!(err.len() < 300, "{} bytes: {}", err.len(), &err[..300]);
            assert!(err.contains(&format!("{}…", "x".repeat(40))), "{err}");
        }
        assert_eq!(excerpt("RUS-USA"), "RUS-USA");
        assert_eq!(excerpt(&"é".repeat(41)), format!("{}…", "é".repeat(40)));
    }

    #[test]
    fn serde_json_bounds_the_nesting_depth() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = serde_json::from_str::<serde_json::Value>(&deep).unwrap_err();
        assert!(
            err.to_string().starts_with("recursion limit exceeded"),
            "{err}"
        );
        let fits = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(serde_json::from_str::<serde_json::Value>(&fits).is_ok());
    }
}
