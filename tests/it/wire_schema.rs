//! `docs/events.schema.json`, `docs/events.md` and the Rust types agree: every documented example
//! passes both the schema and the parser, and every bad input in the tables below fails both (or,
//! where the schema cannot say it, is documented as such and fails the parser).

use std::collections::BTreeMap;
use std::path::Path;

use detente::domain::{ChainHash, Event, NewEvent, RecordedEvent};
use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn schema() -> Value {
    serde_json::from_str(&read("docs/events.schema.json")).expect("the schema is JSON")
}

/// A validator that asserts `format` (so `2025-02-30` fails), as the test of record.
fn validator() -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema())
        .expect("the schema compiles")
}

/// A validator that treats `format` as an annotation only, the draft 2020-12 default.
fn annotation_only_validator() -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema())
        .expect("the schema compiles")
}

fn schema_errors(validator: &Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// A ```json block of `docs/events.md` and the marker line before it.
struct Block {
    marker: String,
    line: usize,
    text: String,
}

fn json_blocks(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut last_text_line = String::new();
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim_start().starts_with("```json") {
            let mut text = String::new();
            for (_, inner) in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                text.push_str(inner);
                text.push('\n');
            }
            blocks.push(Block {
                marker: last_text_line.clone(),
                line: n + 1,
                text,
            });
        } else if !line.trim().is_empty() {
            last_text_line = line.trim().to_owned();
        }
    }
    blocks
}

fn is_input_marker(marker: &str) -> bool {
    marker == "Example:" || (marker.starts_with("Example (") && marker.ends_with("):"))
}

struct Examples {
    inputs: Vec<(usize, Value, NewEvent)>,
    export_lines: Vec<(usize, String)>,
}

fn examples() -> Examples {
    let doc = read("docs/events.md");
    let mut examples = Examples {
        inputs: Vec::new(),
        export_lines: Vec::new(),
    };
    for block in json_blocks(&doc) {
        if is_input_marker(&block.marker) {
            let value: Value = serde_json::from_str(&block.text)
                .unwrap_or_else(|e| panic!("line {}: not JSON: {e}", block.line));
            let input: NewEvent = serde_json::from_str(&block.text)
                .unwrap_or_else(|e| panic!("line {}: not a NewEvent: {e}", block.line));
            examples.inputs.push((block.line, value, input));
        } else if block.marker == "Export line:" {
            examples
                .export_lines
                .push((block.line, block.text.trim_end().to_owned()));
        } else {
            panic!(
                "line {}: a ```json block must follow `Example:` or `Export line:`, not {:?}",
                block.line, block.marker
            );
        }
    }
    examples
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(jsonschema::meta::is_valid(&schema));
}

#[test]
fn every_object_in_the_schema_forbids_unknown_fields() {
    fn walk(node: &Value, path: &str, found: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if map.get("type") == Some(&json!("object"))
                    && map.get("additionalProperties") != Some(&json!(false))
                {
                    found.push(path.to_owned());
                }
                for (key, child) in map {
                    walk(child, &format!("{path}/{key}"), found);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let mut open = Vec::new();
    walk(&schema(), "#", &mut open);
    assert!(
        open.is_empty(),
        "objects without additionalProperties: false: {open:?}"
    );
}

#[test]
fn the_schema_names_exactly_the_fourteen_types() {
    let schema = schema();
    let mut consts = Vec::new();
    for branch in schema["$defs"]["event"]["oneOf"].as_array().expect("oneOf") {
        let reference = branch["$ref"].as_str().expect("a $ref");
        let name = reference.trim_start_matches("#/$defs/");
        let shape = &schema["$defs"][name];
        assert_eq!(shape["properties"]["type"]["const"], name, "{reference}");
        consts.push(name.to_owned());
    }
    assert_eq!(consts, Event::TYPE_NAMES);
}

#[test]
fn the_sections_of_the_doc_are_the_fourteen_types_in_order() {
    let doc = read("docs/events.md");
    let headings: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .collect();
    assert_eq!(headings, Event::TYPE_NAMES);
}

#[test]
fn every_input_example_passes_the_schema_and_the_parser_and_round_trips() {
    let validator = validator();
    let examples = examples();
    assert!(examples.inputs.len() >= Event::TYPE_NAMES.len());
    for (line, value, input) in &examples.inputs {
        let errors = schema_errors(&validator, value);
        assert!(errors.is_empty(), "example at line {line}: {errors:?}");
        let written = serde_json::to_value(input).expect("serializes");
        let errors = schema_errors(&validator, &written);
        assert!(
            errors.is_empty(),
            "example at line {line}, re-serialized: {errors:?}"
        );
        let again: NewEvent = serde_json::from_value(written).expect("reads back");
        assert_eq!(&again, input, "example at line {line} does not round-trip");
    }
}

#[test]
fn there_is_exactly_one_example_per_event_type() {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, input) in examples().inputs {
        *counts.entry(input.event.type_name()).or_default() += 1;
    }
    for &name in Event::TYPE_NAMES {
        assert_eq!(counts.get(name), Some(&1), "examples of {name}");
    }
    assert_eq!(counts.len(), Event::TYPE_NAMES.len());
}

#[test]
fn the_documented_derived_id_and_export_line_are_what_the_code_computes() {
    let doc = read("docs/events.md");
    let marker = "its derived id is `";
    let start = doc.find(marker).expect("the doc states a derived id") + marker.len();
    let documented = &doc[start..start + doc[start..].find('`').expect("closing backtick")];

    let examples = examples();
    let without_id: Vec<&NewEvent> = examples
        .inputs
        .iter()
        .map(|(_, _, input)| input)
        .filter(|input| input.id.is_none())
        .collect();
    assert_eq!(without_id.len(), 1, "one example shows a derived id");
    let input = without_id[0];
    assert_eq!(input.derived_id().as_str(), documented);
    assert!(documented.len() == 35 && documented.starts_with("ev-"));

    assert_eq!(examples.export_lines.len(), 1);
    let (line, text) = &examples.export_lines[0];
    let record: RecordedEvent =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("export line at line {line}: {e}"));
    assert_eq!(record.id.as_str(), documented);
    assert!(
        input.matches(&record),
        "the export line records the example"
    );
    assert_eq!((record.position, record.version, record.schema), (1, 1, 1));
    assert_eq!(
        record.hash,
        record.chain_hash(&ChainHash::ZERO),
        "the hash of the first record chains from zero"
    );
    assert_eq!(&serde_json::to_string(&record).expect("serializes"), text);
}

/// The DiplomatsExpelled example, small enough to break one field at a time.
fn base() -> Value {
    json!({
        "id": "us-expels-35",
        "dyad": "RUS-USA",
        "occurred_on": "2016-12-29",
        "reported_on": "2016-12-29",
        "sources": [{"name": "US State Department", "kind": "official_statement"}],
        "event": {"type": "DiplomatsExpelled", "expelled_by": "USA", "count": 35}
    })
}

fn talks() -> Value {
    json!({
        "dyad": "RUS-USA",
        "occurred_on": "2025-02-27",
        "event": {"type": "TalksHeld",
                  "location": {"city": "Istanbul", "country": "TUR"},
                  "delegations": [{"party": "RUS", "head": {"name": "Alexander Darchiev"}}]}
    })
}

fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    match value.pointer_mut(parent).expect("the parent exists") {
        Value::Object(map) => {
            map.insert(key.to_owned(), new);
        }
        Value::Array(items) => items[key.parse::<usize>().expect("an index")] = new,
        _ => panic!("{parent} is not a container"),
    }
    value
}

fn without(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    let removed = value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|map| map.remove(key));
    assert!(removed.is_some(), "{pointer} was there to remove");
    value
}

fn event(value: Value) -> Value {
    json!({"dyad": "RUS-USA", "occurred_on": "2025-02-27", "event": value})
}

fn bad_examples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "unknown field at top level",
            with(base(), "/note", json!("x")),
        ),
        (
            "unknown field in the event",
            with(base(), "/event/extra", json!(1)),
        ),
        (
            "unknown field in a source",
            with(base(), "/sources/0/lang", json!("en")),
        ),
        (
            "unknown field in a location",
            with(talks(), "/event/location/floor", json!(2)),
        ),
        (
            "unknown field in a person",
            with(talks(), "/event/delegations/0/head/age", json!(60)),
        ),
        (
            "unknown field in a delegation",
            with(talks(), "/event/delegations/0/size", json!(5)),
        ),
        (
            "unknown field in a year range",
            event(json!({"type": "PropertyClaimRaised",
            "claim": "c", "claimant": "RUS", "seized_between": {"from": 2016, "to": 2018, "by": "USA"}})),
        ),
        (
            "unknown field in a property",
            event(json!({"type": "PropertyClaimRaised",
            "claim": "c", "claimant": "RUS", "properties": [{"name": "a", "size": 3}]})),
        ),
        (
            "unknown type",
            with(base(), "/event/type", json!("Teleported")),
        ),
        (
            "type in the wrong case",
            with(base(), "/event/type", json!("diplomats_expelled")),
        ),
        ("type missing", without(base(), "/event/type")),
        ("type not a string", with(base(), "/event/type", json!(12))),
        ("event missing", without(base(), "/event")),
        ("dyad missing", without(base(), "/dyad")),
        ("occurred_on missing", without(base(), "/occurred_on")),
        (
            "required event field missing",
            without(base(), "/event/count"),
        ),
        (
            "required location field missing",
            without(talks(), "/event/location/city"),
        ),
        (
            "delegations missing",
            without(talks(), "/event/delegations"),
        ),
        (
            "source without a name",
            with(base(), "/sources/0", json!({"kind": "other"})),
        ),
        (
            "unknown source kind",
            with(base(), "/sources/0/kind", json!("blog")),
        ),
        (
            "unknown talks format",
            with(talks(), "/event/format", json!("closed-door")),
        ),
        (
            "unknown talks level",
            with(talks(), "/event/level", json!("summit")),
        ),
        (
            "stage agreed in StepProgressed",
            event(json!({"type": "StepProgressed", "step": "s", "stage": "agreed"})),
        ),
        (
            "status open in ClaimProgressed",
            event(json!({"type": "ClaimProgressed", "claim": "c", "status": "open"})),
        ),
        (
            "unknown proposal response",
            event(json!({"type": "ProposalAnswered", "proposal": "p", "response": "maybe"})),
        ),
        (
            "lower-case party",
            with(base(), "/event/expelled_by", json!("usa")),
        ),
        (
            "two-letter party outside the registry",
            with(base(), "/event/expelled_by", json!("US")),
        ),
        (
            "party outside the registry",
            with(base(), "/event/expelled_by", json!("XXX")),
        ),
        (
            "country outside the registry",
            with(talks(), "/event/location/country", json!("XXX")),
        ),
        (
            "lower-case country",
            with(talks(), "/event/location/country", json!("tur")),
        ),
        (
            "malformed dyad, underscore",
            with(base(), "/dyad", json!("RUS_USA")),
        ),
        (
            "malformed dyad, one party",
            with(base(), "/dyad", json!("RUS")),
        ),
        (
            "malformed dyad, three parties",
            with(base(), "/dyad", json!("RUS-USA-TUR")),
        ),
        ("lower-case dyad", with(base(), "/dyad", json!("rus-usa"))),
        (
            "id with a space",
            with(base(), "/id", json!("us expels 35")),
        ),
        ("id with a slash", with(base(), "/id", json!("us/35"))),
        (
            "id with a non-ASCII letter",
            with(base(), "/id", json!("expulsión")),
        ),
        ("empty id", with(base(), "/id", json!(""))),
        (
            "id of 129 characters",
            with(base(), "/id", json!("x".repeat(129))),
        ),
        (
            "item id with a space",
            event(json!({"type": "StepAgreed", "step": "mission financing", "description": "d"})),
        ),
        (
            "item id of 129 characters",
            event(json!({"type": "IrritantResolved", "irritant": "x".repeat(129)})),
        ),
        (
            "retraction target with a bad character",
            event(json!({"type": "EventRetracted", "target": "a#b", "reason": "r"})),
        ),
        (
            "category in title case",
            event(
                json!({"type": "StepAgreed", "step": "s", "description": "d", "category": "Mission_financing"}),
            ),
        ),
        (
            "category with a hyphen",
            event(
                json!({"type": "StepAgreed", "step": "s", "description": "d", "category": "mission-financing"}),
            ),
        ),
        (
            "empty category",
            event(json!({"type": "StepAgreed", "step": "s", "description": "d", "category": ""})),
        ),
        ("count negative", with(base(), "/event/count", json!(-1))),
        (
            "count too large for u32",
            with(base(), "/event/count", json!(4_294_967_296_u64)),
        ),
        (
            "count with a fraction",
            with(base(), "/event/count", json!(35.5)),
        ),
        (
            "count as a string",
            with(base(), "/event/count", json!("35")),
        ),
        (
            "duration negative",
            with(talks(), "/event/duration_minutes", json!(-360)),
        ),
        (
            "year beyond i32",
            event(
                json!({"type": "PropertyClaimRaised", "claim": "c", "claimant": "RUS",
            "seized_between": {"from": 2016, "to": 3_000_000_000_u64}}),
            ),
        ),
        (
            "date not a date",
            with(base(), "/occurred_on", json!("yesterday")),
        ),
        (
            "date with slashes",
            with(base(), "/occurred_on", json!("2016/12/29")),
        ),
        (
            "date without padding",
            with(base(), "/occurred_on", json!("2016-12-9")),
        ),
        (
            "date with a sign",
            with(base(), "/reported_on", json!("+2016-12-29")),
        ),
        (
            "date with a time",
            with(base(), "/reported_on", json!("2016-12-29T00:00:00Z")),
        ),
        (
            "date as a number",
            with(base(), "/occurred_on", json!(20161229)),
        ),
        (
            "month 13",
            with(base(), "/occurred_on", json!("2016-13-01")),
        ),
        (
            "expected_on not a date",
            event(json!({"type": "RoundScheduled", "round": "r", "expected_on": "soon"})),
        ),
        (
            "replaces not an item id",
            event(json!({"type": "RoundScheduled", "round": "r", "replaces": "round one"})),
        ),
        (
            "reciprocal as a string",
            event(
                json!({"type": "StepAgreed", "step": "s", "description": "d", "reciprocal": "true"}),
            ),
        ),
        (
            "reciprocal null",
            event(
                json!({"type": "StepAgreed", "step": "s", "description": "d", "reciprocal": null}),
            ),
        ),
        (
            "topics as a string",
            with(talks(), "/event/topics", json!("visas")),
        ),
        (
            "topics with a number",
            with(talks(), "/event/topics", json!(["visas", 3])),
        ),
        (
            "sources as an object",
            with(base(), "/sources", json!({"name": "x"})),
        ),
        ("sources null", with(base(), "/sources", Value::Null)),
        (
            "event as a string",
            with(base(), "/event", json!("DiplomatsExpelled")),
        ),
        ("envelope as an array", json!([base()])),
        (
            "fields of another type",
            event(json!({"type": "IrritantResolved", "step": "s"})),
        ),
    ]
}

#[test]
fn bad_examples_fail_both_the_schema_and_the_parser() {
    let validator = validator();
    // The bases themselves are valid, so each failure below is the one change made to them.
    for good in [base(), talks()] {
        assert!(validator.is_valid(&good));
        serde_json::from_value::<NewEvent>(good).expect("the base parses");
    }
    let table = bad_examples();
    assert!(table.len() >= 20);
    for (name, value) in table {
        assert!(
            !validator.is_valid(&value),
            "{name}: the schema accepts {value}"
        );
        let parsed = serde_json::from_value::<NewEvent>(value.clone());
        assert!(parsed.is_err(), "{name}: the parser accepts {value}");
        // From text too: the path of `detente record` and `import`.
        let parsed = serde_json::from_str::<NewEvent>(&value.to_string());
        assert!(
            parsed.is_err(),
            "{name}: the parser accepts the text {value}"
        );
    }
}

/// Each item of "What the schema cannot say" in docs/events.md: the schema accepts it, the parser
/// rejects it.
#[test]
fn what_the_schema_cannot_say_only_the_parser_rejects() {
    let validator = validator();
    let annotation_only = annotation_only_validator();
    let doc = read("docs/events.md");
    let cases: Vec<(&str, &Validator, String)> = vec![
        (
            "`RUS-RUS`",
            &validator,
            with(base(), "/dyad", json!("RUS-RUS")).to_string(),
        ),
        (
            "`RUS-XXX`",
            &validator,
            with(base(), "/dyad", json!("RUS-XXX")).to_string(),
        ),
        (
            "`2025-02-30`",
            &annotation_only,
            with(base(), "/occurred_on", json!("2025-02-30")).to_string(),
        ),
        (
            "`35.0`",
            &validator,
            base()
                .to_string()
                .replace(r#""count":35,"#, r#""count":35.0,"#),
        ),
        (
            "`3.5e1`",
            &validator,
            base()
                .to_string()
                .replace(r#""count":35,"#, r#""count":3.5e1,"#),
        ),
        (
            "A field given twice",
            &validator,
            base()
                .to_string()
                .replace(r#""count":35,"#, r#""count":35,"count":36,"#),
        ),
    ];
    for (needle, validator, text) in cases {
        assert!(
            doc.contains(needle),
            "docs/events.md does not list {needle}"
        );
        assert_ne!(text, base().to_string(), "{needle}: the case was not built");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert!(
            validator.is_valid(&value),
            "{needle}: the schema rejects {text}; update the doc"
        );
        assert!(
            serde_json::from_str::<NewEvent>(&text).is_err(),
            "{needle}: the parser accepts {text}"
        );
    }
    // With `format` asserted, the schema does reject the impossible day.
    assert!(!validator.is_valid(&with(base(), "/occurred_on", json!("2025-02-30"))));
}

/// The one documented leniency: `null` for an optional single value reads as absent.
#[test]
fn null_for_an_optional_value_is_read_as_absent_but_the_schema_rejects_it() {
    let validator = validator();
    for (pointer, input) in [
        ("/id", base()),
        ("/reported_on", base()),
        ("/event/round", talks()),
        ("/event/format", talks()),
        ("/event/location/venue", talks()),
        ("/event/delegations/0/head/title", talks()),
        ("/sources/0/kind", base()),
    ] {
        let value = with(input.clone(), pointer, Value::Null);
        assert!(
            !validator.is_valid(&value),
            "{pointer}: the schema accepts null"
        );
        let parsed: NewEvent = serde_json::from_value(value).expect("null reads as absent");
        let input: NewEvent = serde_json::from_value(input).expect("parses");
        let written = serde_json::to_value(&parsed).expect("serializes");
        assert!(
            written.pointer(pointer).is_none(),
            "{pointer}: null is written back"
        );
        if pointer != "/id" && input.event.type_name() == "DiplomatsExpelled" {
            assert_ne!(
                parsed, input,
                "{pointer}: null is not the value it replaced"
            );
        }
    }
}

/// Every object node of every example, mutated: an extra field fails both; removing a field
/// passes the schema exactly when it passes the parser.
#[test]
fn schema_and_parser_agree_on_every_field_of_every_example() {
    fn pointers(value: &Value, here: String, out: &mut Vec<(String, bool)>) {
        match value {
            Value::Object(map) => {
                out.push((here.clone(), true));
                for (key, child) in map {
                    let child_pointer = format!("{here}/{key}");
                    out.push((child_pointer.clone(), false));
                    pointers(child, child_pointer, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    pointers(child, format!("{here}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let validator = validator();
    let mut checked = 0;
    for (line, value, _) in examples().inputs {
        let mut found = Vec::new();
        pointers(&value, String::new(), &mut found);
        for (pointer, is_object) in found {
            let mutated = if is_object {
                with(
                    value.clone(),
                    &format!("{pointer}/unexpected_field"),
                    json!(1),
                )
            } else {
                without(value.clone(), &pointer)
            };
            let schema_ok = validator.is_valid(&mutated);
            let parser_ok = serde_json::from_value::<NewEvent>(mutated.clone()).is_ok();
            assert_eq!(
                schema_ok,
                parser_ok,
                "example at line {line}, {} {pointer}: schema {schema_ok}, parser {parser_ok}",
                if is_object {
                    "extra field in"
                } else {
                    "without"
                }
            );
            if is_object {
                assert!(
                    !parser_ok,
                    "example at line {line}: extra field in {pointer} accepted"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} mutations");
}

/// The registry of parties has one source, `detente::domain::Party::all`: the schema's
/// `party` enum lists exactly its codes, in its order.
#[test]
fn the_schema_lists_exactly_the_registry_of_parties() {
    let schema = schema();
    let listed: Vec<&str> = schema["$defs"]["party"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    let registry: Vec<&str> = detente::domain::Party::all()
        .map(|party| party.as_str())
        .collect();
    assert_eq!(listed, registry);
}
