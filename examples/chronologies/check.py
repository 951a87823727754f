#!/usr/bin/env python3
"""Check the chronologies in this folder against wire format 1 (second edition).

Usage: python3 examples/chronologies/check.py [FILE.jsonl ...]
(without arguments: every *.jsonl next to this script)

What it checks, line by line, and then over each file's effective timeline:
- each line is one JSON object within the input limits, with the envelope fields
  (`id`, `dyad`, `occurred_on`, `reported_on`, `sources`, `event`) and nothing else;
- every event has exactly the fields of its type, with the closed vocabularies
  (kinds, forms, statuses, stages, levels, formats) spelled as the format spells them;
- dates are ISO calendar dates, `reported_on` is not before `occurred_on` nor after tomorrow;
- ids are unique across all the files checked, item ids are unique per dyad (a successor
  dyad shares the ids of the dyads it continues), and an item is raised before it is
  progressed, in the effective order `(occurred_on, line)`;
- a transition to the status an item already has (for the same party) is refused, a round
  that was cancelled is not held, and `RoundScheduled.replaces` names a known round;
- every party named as an actor belongs to the event's dyad; a location's `country` and
  `TalksHeld.mediators` may name others (a mediator is never one of the two sides);
- a former party's dyad (`SUN-USA`) holds no event dated on or after its succession, and
  its successor's dyad (`RUS-USA`) reads the former party's items as its own.

Party codes are checked against `docs/events.schema.json`: the list of codes where the schema
lists them, else the schema's pattern widened to codes of 2 to 8 letters. This script is a
first filter for the data; `detente import` has the last word.
"""

import datetime
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parent.parent / "docs" / "events.schema.json"

# The widely accepted successions (SUN -> RUS on 1991-12-26, SCG -> SRB on 2006-06-05).
SUCCESSIONS = {"SUN": ("RUS", "1991-12-26"), "SCG": ("SRB", "2006-06-05")}

ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CATEGORY_RE = re.compile(r"^[a-z0-9_]{1,128}$")
PARTY_FORMAT_RE = re.compile(r"^[A-Z]{2,8}$")

ENVELOPE = {"id", "dyad", "occurred_on", "reported_on", "sources", "event"}
SOURCE_KINDS = {"official_statement", "news_agency", "newspaper", "spokesperson", "other"}

LOCATION = {"city": "text", "country": "country", "venue": "text?"}

# type -> {field: spec}; a spec ending in "?" is optional.
TYPES = {
    "TalksHeld": {
        "round": "item?", "location": "location", "format": ("closed_door", "open", "?"),
        "duration_minutes": "uint?", "level": ("working", "senior_officials", "ministerial", "leaders", "?"),
        "delegations": "delegations", "topics": "texts?", "mediators": "mediators?",
    },
    "StepAgreed": {"step": "item", "description": "text", "category": "category?", "reciprocal": "bool?"},
    "StepProgressed": {
        "step": "item",
        "stage": ("formalized", "implementing", "implemented", "stalled", "reversed", "withdrawn"),
        "note": "text?",
    },
    "PropertyClaimRaised": {
        "claim": "item", "claimant": "actor", "count": "uint?", "properties": "properties?",
        "seized_between": "years?", "characterization": "text?",
    },
    "ClaimProgressed": {
        "claim": "item",
        "status": ("under_discussion", "roadmap_agreed", "rejected", "resolved", "withdrawn"),
        "note": "text?",
    },
    "FlightsProposed": {"proposal": "item", "proposer": "actor", "routes": "texts?", "conditions": "texts?"},
    "ProposalAnswered": {
        "proposal": "item", "response": ("accepted", "rejected", "deferred", "conditioned"),
        "conditions": "texts?",
    },
    "IrritantRaised": {"irritant": "item", "raised_by": "actor", "description": "text", "category": "category?"},
    "IrritantResolved": {"irritant": "item", "note": "text?"},
    "RoundScheduled": {"round": "item", "expected_on": "date?", "location": "location?", "replaces": "item?"},
    "RoundCancelled": {"round": "item", "cancelled_by": "actor?"},
    "DiplomatsExpelled": {"expelled_by": "actor", "count": "uint"},
    "MissionClosed": {"closed_by": "actor", "facility": "text"},
    "EventRetracted": {"target": "event_id", "reason": "text"},
    "AgreementReached": {
        "agreement": "item", "title": "text",
        "kind": ("treaty", "agreement", "memorandum", "joint_statement", "framework", "ceasefire", "roadmap", "?"),
        "form": ("agreed", "initialled", "signed", "?"), "steps": "items?", "at": "location?",
    },
    "AgreementProgressed": {
        "agreement": "item",
        "status": ("initialled", "signed", "ratified", "in_force", "suspended", "terminated", "withdrawn"),
        "by": "actor?", "note": "text?",
    },
    "MeasureImposed": {
        "measure": "item", "imposed_by": "actor",
        "kind": ("sanctions", "visa_restrictions", "flight_ban", "asset_freeze", "trade_restriction", "other"),
        "description": "text",
    },
    "MeasureProgressed": {"measure": "item", "status": ("eased", "suspended", "lifted", "reimposed"), "note": "text?"},
    "PrisonersReleased": {"released_by": "actor", "count": "uint", "names": "texts?", "exchange": "item?"},
    "MissionReopened": {"reopened_by": "actor", "facility": "text"},
}

# Which field of which type raises or progresses which kind of item.
RAISES = {
    "StepAgreed": ("step", "step"), "PropertyClaimRaised": ("claim", "claim"),
    "FlightsProposed": ("proposal", "proposal"), "IrritantRaised": ("irritant", "irritant"),
    "RoundScheduled": ("round", "round"), "AgreementReached": ("agreement", "agreement"),
    "MeasureImposed": ("measure", "measure"),
}
PROGRESSES = {
    "StepProgressed": ("step", "step", "stage"), "ClaimProgressed": ("claim", "claim", "status"),
    "ProposalAnswered": ("proposal", "proposal", "response"), "IrritantResolved": ("irritant", "irritant", None),
    "RoundCancelled": ("round", "round", None), "AgreementProgressed": ("agreement", "agreement", "status"),
    "MeasureProgressed": ("measure", "measure", "status"),
}
INITIAL = {"step": "agreed", "claim": "open", "proposal": "proposed", "irritant": "open",
           "round": "scheduled", "measure": "in_force"}

MAX_LINE_BYTES = 65536
MAX_TEXT_BYTES = 4096
MAX_SOURCES = 32
MAX_LIST = 256


def load_party_rule():
    """The party codes the schema lists, or a pattern when it lists none."""
    try:
        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "no readable docs/events.schema.json: party codes checked by format only"
    party = schema.get("$defs", {}).get("party", {})
    codes = set(party.get("enum", []))
    for alt in party.get("oneOf", []) + party.get("anyOf", []):
        codes |= set(alt.get("enum", []))
        if "const" in alt:
            codes.add(alt["const"])
    if codes:
        return codes, f"party codes checked against the {len(codes)} codes of the schema"
    return None, "the schema lists no party codes yet: party codes checked by format (2 to 8 letters)"


class Checker:
    def __init__(self, party_codes):
        self.party_codes = party_codes
        self.errors = []
        self.ids = {}  # event id -> (file, line)

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    # ---- field level -------------------------------------------------------------------

    def party_ok(self, code):
        if not isinstance(code, str) or not PARTY_FORMAT_RE.match(code):
            return False
        return self.party_codes is None or code in self.party_codes

    def text(self, where, name, value):
        if not isinstance(value, str) or not value:
            self.err(where, f"`{name}` must be a non-empty string")
        elif len(value.encode("utf-8")) > MAX_TEXT_BYTES:
            self.err(where, f"`{name}` is longer than {MAX_TEXT_BYTES} bytes")

    def date(self, where, name, value):
        if not isinstance(value, str) or not DATE_RE.match(value):
            self.err(where, f"`{name}` must be a date written YYYY-MM-DD, got {value!r}")
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.err(where, f"`{name}` is not a day that exists: {value}")
            return None

    def location(self, where, name, value):
        if not isinstance(value, dict):
            self.err(where, f"`{name}` must be an object {{city, country, venue?}}")
            return
        unknown = set(value) - set(LOCATION)
        if unknown:
            self.err(where, f"`{name}` has unknown fields {sorted(unknown)}")
        for key in ("city", "country"):
            if key not in value:
                self.err(where, f"`{name}` lacks `{key}`")
        if "city" in value:
            self.text(where, f"{name}.city", value["city"])
        if "venue" in value:
            self.text(where, f"{name}.venue", value["venue"])
        if "country" in value and not self.party_ok(value["country"]):
            self.err(where, f"`{name}.country` is not a known code: {value['country']!r}")

    def field(self, where, ev, name, spec, actors, mediators):
        value = ev[name]
        if isinstance(spec, tuple):
            allowed = [s for s in spec if s != "?"]
            if value not in allowed:
                self.err(where, f"`{name}` must be one of {allowed}, got {value!r}")
            return
        spec = spec.rstrip("?")
        if spec == "text":
            self.text(where, name, value)
        elif spec == "texts":
            if not isinstance(value, list) or len(value) > MAX_LIST:
                self.err(where, f"`{name}` must be a list of at most {MAX_LIST} strings")
            else:
                for i, v in enumerate(value):
                    self.text(where, f"{name}[{i}]", v)
        elif spec == "item":
            if not isinstance(value, str) or not ID_RE.match(value):
                self.err(where, f"`{name}` is not a valid item id: {value!r}")
        elif spec == "items":
            if not isinstance(value, list) or len(value) > MAX_LIST:
                self.err(where, f"`{name}` must be a list of item ids")
            else:
                for v in value:
                    if not isinstance(v, str) or not ID_RE.match(v):
                        self.err(where, f"`{name}` holds an invalid item id: {v!r}")
        elif spec == "event_id":
            if not isinstance(value, str) or not ID_RE.match(value):
                self.err(where, f"`{name}` is not a valid event id: {value!r}")
        elif spec == "uint":
            if type(value) is not int or not 0 <= value <= 4294967295:
                self.err(where, f"`{name}` must be an integer from 0 to 4294967295, got {value!r}")
        elif spec == "bool":
            if type(value) is not bool:
                self.err(where, f"`{name}` must be true or false")
        elif spec == "category":
            if not isinstance(value, str) or not CATEGORY_RE.match(value):
                self.err(where, f"`{name}` must be snake_case (a-z 0-9 _), got {value!r}")
        elif spec == "date":
            self.date(where, name, value)
        elif spec == "location":
            self.location(where, name, value)
        elif spec == "actor":
            if not self.party_ok(value):
                self.err(where, f"`{name}` is not a known party code: {value!r}")
            actors.append((name, value))
        elif spec == "mediators":
            if not isinstance(value, list) or not value or len(value) > MAX_LIST:
                self.err(where, "`mediators` must be a non-empty list of party codes")
                return
            if len(set(value)) != len(value):
                self.err(where, "`mediators` names a party twice")
            for m in value:
                if not self.party_ok(m):
                    self.err(where, f"mediator {m!r} is not a known party code")
                mediators.append(m)
        elif spec == "delegations":
            if not isinstance(value, list) or not value or len(value) > MAX_LIST:
                self.err(where, "`delegations` must be a non-empty list")
                return
            seen = set()
            for i, d in enumerate(value):
                if not isinstance(d, dict) or set(d) != {"party", "head"}:
                    self.err(where, f"delegations[{i}] must be exactly {{party, head}}")
                    continue
                if d["party"] in seen:
                    self.err(where, f"delegations name {d['party']} twice")
                seen.add(d["party"])
                if not self.party_ok(d["party"]):
                    self.err(where, f"delegations[{i}].party is not a known code: {d['party']!r}")
                actors.append((f"delegations[{i}].party", d["party"]))
                head = d["head"]
                if not isinstance(head, dict) or "name" not in head or set(head) - {"name", "title"}:
                    self.err(where, f"delegations[{i}].head must be {{name, title?}}")
                    continue
                self.text(where, f"delegations[{i}].head.name", head["name"])
                if "title" in head:
                    self.text(where, f"delegations[{i}].head.title", head["title"])
        elif spec in ("properties", "years"):
            pass  # not used by these chronologies; the parser checks them
        else:
            raise AssertionError(f"unknown spec {spec}")

    def sources(self, where, value):
        if not isinstance(value, list) or len(value) > MAX_SOURCES:
            self.err(where, f"`sources` must be a list of at most {MAX_SOURCES} sources")
            return
        for i, s in enumerate(value):
            if not isinstance(s, dict) or "name" not in s:
                self.err(where, f"sources[{i}] must be an object with a `name`")
                continue
            unknown = set(s) - {"name", "kind", "url", "quote"}
            if unknown:
                self.err(where, f"sources[{i}] has unknown fields {sorted(unknown)}")
            for key in ("name", "url", "quote"):
                if key in s:
                    self.text(where, f"sources[{i}].{key}", s[key])
            if "kind" in s and s["kind"] not in SOURCE_KINDS:
                self.err(where, f"sources[{i}].kind must be one of {sorted(SOURCE_KINDS)}, got {s['kind']!r}")
            if "url" in s and not str(s["url"]).startswith(("https://", "http://")):
                self.err(where, f"sources[{i}].url is not an http(s) address")

    # ---- line level --------------------------------------------------------------------

    def line(self, path, number, raw):
        where = f"{path.name}:{number}"
        if len(raw.encode("utf-8")) > MAX_LINE_BYTES:
            self.err(where, f"the line is longer than {MAX_LINE_BYTES} bytes")
        try:
            env = json.loads(raw, object_pairs_hook=self.no_duplicate_keys(where))
        except ValueError as e:
            self.err(where, f"not JSON: {e}")
            return None
        if not isinstance(env, dict):
            self.err(where, "a line must hold one JSON object")
            return None
        unknown = set(env) - ENVELOPE
        if unknown:
            self.err(where, f"unknown envelope fields {sorted(unknown)}")
        for key in ("id", "dyad", "occurred_on", "reported_on", "event"):
            if key not in env:
                self.err(where, f"lacks `{key}` (these chronologies give every event an id and a reported_on)")
                return None
        eid = env["id"]
        if not isinstance(eid, str) or not ID_RE.match(eid):
            self.err(where, f"`id` is not a valid event id: {eid!r}")
        elif eid in self.ids:
            self.err(where, f"id {eid} is already used at {self.ids[eid]}")
        else:
            self.ids[eid] = where
        dyad = env["dyad"]
        parts = dyad.split("-") if isinstance(dyad, str) else []
        if len(parts) != 2 or not all(self.party_ok(p) for p in parts) or parts[0] == parts[1]:
            self.err(where, f"`dyad` must be two distinct known parties joined by `-`, got {dyad!r}")
            return None
        if parts != sorted(parts):
            self.err(where, f"write the dyad in canonical order: {'-'.join(sorted(parts))}")
        occurred = self.date(where, "occurred_on", env["occurred_on"])
        reported = self.date(where, "reported_on", env["reported_on"])
        if occurred and reported:
            if reported < occurred:
                self.err(where, "`reported_on` is before `occurred_on`")
            if reported > datetime.date.today() + datetime.timedelta(days=1):
                self.err(where, "`reported_on` is after tomorrow: a fact cannot be known before it is recorded")
        if "sources" in env:
            self.sources(where, env["sources"])
        else:
            self.err(where, "no `sources`: every event of these chronologies names who reported it")
        ev = env["event"]
        if not isinstance(ev, dict) or ev.get("type") not in TYPES:
            self.err(where, f"`event.type` must be one of the {len(TYPES)} types, got {ev.get('type') if isinstance(ev, dict) else ev!r}")
            return None
        spec = TYPES[ev["type"]]
        fields = set(ev) - {"type"}
        unknown = fields - set(spec)
        if unknown:
            self.err(where, f"{ev['type']} has unknown fields {sorted(unknown)}")
        actors, mediators = [], []
        for name, s in spec.items():
            optional = (isinstance(s, tuple) and "?" in s) or (isinstance(s, str) and s.endswith("?"))
            if name not in ev:
                if not optional:
                    self.err(where, f"{ev['type']} lacks `{name}`")
                continue
            self.field(where, ev, name, s, actors, mediators)
        for name, party in actors:
            if party not in parts:
                self.err(where, f"`{name}` names {party}, which is not a party of {dyad}")
        for m in mediators:
            if m in parts:
                self.err(where, f"mediator {m} is one of the two sides of {dyad}")
        former = [p for p in parts if p in SUCCESSIONS]
        for p in former:
            successor, on = SUCCESSIONS[p]
            if occurred and occurred >= datetime.date.fromisoformat(on):
                self.err(where, f"{dyad} holds no event from {on}: {successor} continues {p} (record it in the successor's dyad)")
        if occurred is None or reported is None:
            return None  # already reported; the timeline needs both dates
        return {"where": where, "number": number, "env": env, "parts": parts,
                "occurred": occurred, "reported": reported}

    @staticmethod
    def no_duplicate_keys(where):
        def hook(pairs):
            keys = [k for k, _ in pairs]
            dup = {k for k in keys if keys.count(k) > 1}
            if dup:
                raise ValueError(f"field given twice: {sorted(dup)}")
            return dict(pairs)
        return hook

    # ---- timeline level ----------------------------------------------------------------

    @staticmethod
    def lineage(parts):
        """The dyad key that a dyad and every dyad it continues share (former parties read
        as their successors)."""
        def succ(p):
            while p in SUCCESSIONS:
                p = SUCCESSIONS[p][0]
            return p
        return "-".join(sorted(succ(p) for p in parts))

    def timeline(self, records):
        by_lineage = {}
        for r in records:
            by_lineage.setdefault(self.lineage(r["parts"]), []).append(r)
        for lineage, rs in by_lineage.items():
            rs.sort(key=lambda r: (r["occurred"], r["number"]))
            items = {}  # item id -> {"kind", "status": {party_or_None: status}, "where"}
            seen_events = {}
            for r in rs:
                env, ev, where = r["env"], r["env"]["event"], r["where"]
                t = ev["type"]
                if t in RAISES:
                    field, kind = RAISES[t]
                    iid = ev[field]
                    if iid in items:
                        self.err(where, f"{kind} `{iid}` already exists in {lineage} (raised at {items[iid]['where']})")
                    else:
                        status = ev.get("form", "signed") if kind == "agreement" else INITIAL[kind]
                        items[iid] = {"kind": kind, "status": {None: status}, "where": where}
                    if t == "RoundScheduled" and "replaces" in ev:
                        old = items.get(ev["replaces"])
                        if not old or old["kind"] != "round":
                            self.err(where, f"`replaces` names no known round: {ev['replaces']}")
                        else:
                            old["status"][None] = "superseded"
                    if t == "AgreementReached":
                        for s in ev.get("steps", []):
                            if items.get(s, {}).get("kind") != "step":
                                self.err(where, f"the agreement formalizes step `{s}`, which is not agreed before it")
                if t in PROGRESSES:
                    field, kind, status_field = PROGRESSES[t]
                    iid = ev[field]
                    item = items.get(iid)
                    if not item or item["kind"] != kind:
                        self.err(where, f"{t} names {kind} `{iid}`, which is not raised before it in {lineage}")
                    else:
                        new = ev[status_field] if status_field else {"IrritantResolved": "resolved", "RoundCancelled": "cancelled"}[t]
                        party = ev.get("by") if t == "AgreementProgressed" else None
                        current = item["status"].get(party, item["status"][None])
                        if current == new:
                            self.err(where, f"{kind} `{iid}` is already {new}" + (f" for {party}" if party else ""))
                        if kind == "round" and current != "scheduled":
                            self.err(where, f"round `{iid}` is {current}: only a scheduled round can be cancelled")
                        item["status"][party] = new
                        if party is None:
                            item["status"] = {None: new}
                if t == "TalksHeld" and "round" in ev:
                    item = items.get(ev["round"])
                    if item is None:
                        items[ev["round"]] = {"kind": "round", "status": {None: "held"}, "where": where}
                    elif item["kind"] != "round":
                        self.err(where, f"`round` names a {item['kind']}, not a round: {ev['round']}")
                    elif item["status"][None] in ("cancelled", "superseded"):
                        self.err(where, f"round `{ev['round']}` was {item['status'][None]}: record a new RoundScheduled that replaces it")
                    else:
                        item["status"][None] = "held"
                if t == "EventRetracted":
                    target = seen_events.get(ev["target"])
                    if target is None:
                        self.err(where, f"retracts `{ev['target']}`, which is no earlier event of {lineage}")
                    elif r["occurred"] < target["occurred"] or r["reported"] < target["reported"]:
                        self.err(where, "a retraction is neither dated nor reported before the event it retracts")
                seen_events[env["id"]] = r
            exchanges = {}
            for r in rs:
                ev = r["env"]["event"]
                if ev["type"] == "PrisonersReleased" and "exchange" in ev:
                    exchanges.setdefault(ev["exchange"], set()).add(ev["released_by"])
            for ex, sides in exchanges.items():
                if len(sides) != 2:
                    self.err(f"{lineage}", f"exchange `{ex}` has releases by {sorted(sides)} only: an exchange names both sides' releases")


def main(argv):
    files = [Path(a) for a in argv[1:]] or sorted(HERE.glob("*.jsonl"))
    codes, note = load_party_rule()
    checker = Checker(codes)
    records_by_file = {}
    for path in files:
        records = []
        with path.open(encoding="utf-8") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    checker.err(f"{path.name}:{number}", "empty line")
                    continue
                r = checker.line(path, number, raw)
                if r:
                    records.append(r)
        records_by_file[path] = records
    # All the files go into one store: one timeline per dyad lineage across them.
    checker.timeline([r for rs in records_by_file.values() for r in rs])
    print(f"note: {note}")
    for path, rs in records_by_file.items():
        dyads = sorted({r["env"]["dyad"] for r in rs})
        print(f"{path.name}: {len(rs)} events in {', '.join(dyads)}")
    if checker.errors:
        for e in checker.errors:
            print(f"error: {e}", file=sys.stderr)
        print(f"{len(checker.errors)} error(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
