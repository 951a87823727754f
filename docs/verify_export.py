import hashlib, json, sys

def canonical(value):
    # RFC 8785 for the values of format 1 (no floats): members sorted by key, no white space,
    # minimal string escapes, integers in decimal.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

previous = bytes(32)          # before position 1
expected_position = 1
versions = {}
for line_number, line in enumerate(open(sys.argv[1], encoding="utf-8"), start=1):
    record = json.loads(line)
    stored = record.pop("hash")
    if record["position"] != expected_position:
        sys.exit(f"line {line_number}: position {record['position']}, expected {expected_position}")
    versions[record["dyad"]] = versions.get(record["dyad"], 0) + 1
    if record["version"] != versions[record["dyad"]]:
        sys.exit(f"line {line_number}: version {record['version']} of {record['dyad']}, expected {versions[record['dyad']]}")
    digest = hashlib.sha256(previous + canonical(record)).digest()
    if digest.hex() != stored:
        sys.exit(f"line {line_number} (position {record['position']}): hash does not match")
    previous, expected_position = digest, expected_position + 1
print(f"ok: {expected_position - 1} records, head {previous.hex()}")
