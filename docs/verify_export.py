"""Verifies a whole `detente export` (docs/integrity.md) from a file, or from standard input.

usage: python3 verify_export.py [EXPORT.jsonl | -]
"""
import hashlib, io, json, re, sys

RECORDED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.(\d{3}|\d{6}|\d{9}))?Z")

def canonical(value):
    # RFC 8785 for the values of format 1 (no floats): members sorted by key, no white space,
    # minimal string escapes, integers in decimal.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

def no_repeated_members(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a member is repeated: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    return dict(pairs)

def instant(text):
    # As detente writes it: UTC with Z; no fraction when zero, else the fewest of 3, 6, 9 digits.
    if not RECORDED_AT.fullmatch(text) or ("." in text and text[-4:-1] == "000"):
        return None
    seconds, _, fraction = text[:-1].partition(".")
    return seconds, int(fraction.ljust(9, "0"))

if len(sys.argv) > 2:
    sys.exit(__doc__.strip().splitlines()[-1])
if len(sys.argv) == 2 and sys.argv[1] != "-":
    lines = open(sys.argv[1], encoding="utf-8")
else:
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
previous, expected_position, versions, last_at = bytes(32), 1, {}, None  # before position 1
for line_number, line in enumerate(lines, start=1):
    if not line.strip():
        continue
    try:
        record = json.loads(line, object_pairs_hook=no_repeated_members)
        stored, position, dyad, version = record.pop("hash"), record["position"], record["dyad"], record["version"]
        at = instant(record["recorded_at"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        sys.exit(f"line {line_number}: not a recorded event: {err!r}")
    if position != expected_position:
        sys.exit(f"line {line_number}: position {position}, expected {expected_position}")
    versions[dyad] = versions.get(dyad, 0) + 1
    if version != versions[dyad]:
        sys.exit(f"line {line_number}: version {version} of {dyad}, expected {versions[dyad]}")
    if at is None:
        sys.exit(f"line {line_number}: recorded_at {record['recorded_at']!r} is not written as detente writes it")
    if last_at is not None and at < last_at:
        sys.exit(f"line {line_number}: recorded_at goes backwards")
    digest = hashlib.sha256(previous + canonical(record)).digest()
    if digest.hex() != stored:
        sys.exit(f"line {line_number} (position {position}): hash does not match")
    previous, expected_position, last_at = digest, expected_position + 1, at
print(f"ok: {expected_position - 1} records, head {previous.hex()}")
