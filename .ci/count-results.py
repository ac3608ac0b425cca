#!/usr/bin/env python3
"""Counts TAP results in meson's test log and prints "N passed, N failed".

Every TAP "ok" is a pass and every "not ok" a failure (skips and TODOs are
listed but counted as neither). A test that ends badly without reporting a
failing TAP line (a crash, a timeout, a bad plan) counts as one failure.
Exits 1 when anything failed or the log is missing.
"""
import json
import re
import sys

path = sys.argv[1]
passed = failed = skipped = 0
try:
    with open(path, encoding="utf-8") as f:
        entries = [json.loads(line) for line in f if line.strip()]
except OSError as e:
    print(f"cannot read {path}: {e}")
    print("0 passed, 1 failed")
    sys.exit(1)

for e in entries:
    name = e.get("name", "?")
    result = e.get("result", "")
    ok = not_ok = 0
    for line in (e.get("stdout") or "").splitlines():
        m = re.match(r"^(not ok|ok)\b(.*)$", line)
        if not m:
            continue
        directive = m.group(2)
        if re.search(r"#\s*SKIP", directive, re.I):
            skipped += 1
        elif re.search(r"#\s*TODO", directive, re.I):
            continue
        elif m.group(1) == "ok":
            ok += 1
        else:
            not_ok += 1
    if result not in ("OK", "SKIP", "EXPECTEDFAIL") and not_ok == 0:
        not_ok = 1
        print(f"test '{name}' ended with {result}")
    passed += ok
    failed += not_ok

if skipped:
    print(f"({skipped} skipped)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not entries else 0)
