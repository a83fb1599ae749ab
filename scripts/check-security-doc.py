#!/usr/bin/env python3
"""Every test docs/security.md names must exist: a `path.rs::…::name`
reference needs `fn name` in that file (`::name` alone means the file named
last), and a `path.ts` › "…" › "title" reference needs that title in the
file. A renamed or deleted test then fails the test command instead of
leaving the threat model pointing at nothing."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
doc = (root / "docs/security.md").read_text()

rust_ref = re.compile(r"`((?:crates|examples|bench|fuzz)/[\w./-]+\.rs)?((?:::[\w]+)+)`")
ts_ref = re.compile(r"`((?:packages|tests|examples)/[\w./-]+\.(?:ts|tsx))`((?:\s*›\s*\"[^\"]+\")+)")

missing = []
checked = 0
last_file = None
for m in rust_ref.finditer(doc):
    path, names = m.group(1), m.group(2)
    if path:
        last_file = path
    elif last_file is None:
        continue
    target = root / last_file
    name = names.split("::")[-1]
    if name == "*":
        continue
    if not target.exists():
        missing.append(f"{last_file} (file) for {name}")
        continue
    text = target.read_text()
    # Test fns, and also helpers or checks named by path (e.g. `check_listen`).
    if not re.search(rf"\bfn {re.escape(name)}\b", text):
        missing.append(f"{last_file}::{name}")
    checked += 1

for m in ts_ref.finditer(doc):
    path = m.group(1)
    titles = re.findall(r"\"([^\"]+)\"", m.group(2))
    target = root / path
    if not target.exists():
        missing.append(f"{path} (file)")
        continue
    text = target.read_text()
    for title in titles:
        checked += 1
        if title not in text:
            missing.append(f'{path} › "{title}"')

if missing:
    print("docs/security.md names tests that do not exist:", file=sys.stderr)
    for item in missing:
        print(f"  {item}", file=sys.stderr)
    sys.exit(1)
print(f"docs/security.md: {checked} test references checked, all exist")
