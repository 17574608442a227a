"""Summarise `convex-xray check --format json` runs on the corpus apps (benchmarks/corpus.md).

Usage: python benchmarks/corpus_summary.py DIR
DIR holds `before-<app>.json` and `after-<app>.json` (one run per app, from the app's
extracted root; see benchmarks/corpus.md for the commands). Prints, per app, the roots the
`after` run checked (path, kind, files, why), files checked, and findings per tier (before,
after) and per role x tier (after). Runs that predate `summary.roots` / `role` count every
finding as production.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

TIERS = ("error", "warning", "info", "hint")
ROLES = ("production", "test", "script")


def _tiers(document: dict) -> str:
    by = document["summary"]["by_severity"]
    return " / ".join(str(by.get(t, 0)) for t in TIERS)


def main(argv: list[str]) -> int:
    directory = Path(argv[1]) if len(argv) > 1 else Path(".")
    for after_path in sorted(directory.glob("after-*.json")):
        app = after_path.stem[len("after-") :]
        after = json.loads(after_path.read_text(encoding="utf-8"))
        before_path = directory / f"before-{app}.json"
        before = json.loads(before_path.read_text(encoding="utf-8")) if before_path.exists() else None
        top = f"/{app}/"
        print(f"### {app}\n")
        print("| root | kind | files | why |\n|---|---|---:|---|")
        for root in after["summary"].get("roots", []):
            path = root["path"].split(top, 1)[-1] if top in root["path"] + "/" else root["path"]
            path = "." if path.endswith(app) else path
            print(f"| `{path}` | {root['kind']} | {root['files']} | {root['reason']} |")
        files_before = before["summary"]["files"] if before else "?"
        print(f"\nFiles checked: {files_before} before, {after['summary']['files']} after.\n")
        print("| run | error / warning / info / hint |\n|---|---|")
        if before:
            print(f"| before | {_tiers(before)} |")
        print(f"| after | {_tiers(after)} |\n")
        cells = Counter((d.get("role", "production"), d["severity"]) for d in after["diagnostics"])
        print("| role (after) | error | warning | info | hint |\n|---|---:|---:|---:|---:|")
        for role in ROLES:
            print(f"| {role} | " + " | ".join(str(cells[(role, t)]) for t in TIERS) + " |")
        rules = Counter(d["rule"] for d in after["diagnostics"] if d["rule"] in ("syntax-error", "unknown-table"))
        print(f"\nsyntax-error: {rules['syntax-error']}, unknown-table: {rules['unknown-table']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
