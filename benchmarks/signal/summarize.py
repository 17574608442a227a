"""Warning-tier summary of convex-xray JSON runs (benchmarks/signal.md).

Usage: python3 summarize.py <before|after> [sample-size]
Reads /tmp/cost/<prefix>-<app>.json; prints warnings per rule, statements with more than one
warning and warnings in scripts/tests; with a sample size, writes a stratified sample (same
number per app, `random.Random(13)`) to /tmp/cost/<prefix>-sample.json for labelling.
"""

from __future__ import annotations

import collections
import glob
import json
import random
import re
import sys
from pathlib import Path

SCRIPT = re.compile(r"/(scripts?|migrations?|seeds?|tests?|__tests__)/|\.(test|spec)\.|seed", re.I)


def main() -> None:
    prefix = sys.argv[1]
    totals: collections.Counter[str] = collections.Counter()
    by_app: dict[str, list[dict]] = collections.defaultdict(list)
    paths = sorted(g for g in glob.glob(f"/tmp/cost/{prefix}-*.json") if not g.endswith("-sample.json"))
    for path in paths:
        app = path.split(f"{prefix}-", 1)[1][:-5]
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        warnings = [d for d in data["diagnostics"] if d["severity"] == "warning"]
        per_rule = collections.Counter(d["rule"] for d in warnings)
        statements = collections.Counter((d["path"], d["line"]) for d in warnings)
        duplicates = sum(n - 1 for n in statements.values() if n > 1)
        scripts = sum(1 for d in warnings if SCRIPT.search(d["path"]) or d.get("role", "production") != "production")
        print(f"{app[:28]:28} all={len(data['diagnostics']):4} warn={len(warnings):4} dup-stmt={duplicates:3} scripts/tests={scripts:3} {dict(per_rule)}")
        totals.update(all=len(data["diagnostics"]), warn=len(warnings), dup=duplicates, scripts=scripts)
        by_app[app].extend(warnings)
    print("TOTAL", dict(totals))
    if len(sys.argv) > 2:
        rng = random.Random(13)
        per_app = max(1, int(sys.argv[2]) // max(1, len(by_app)))
        sample = []
        for app in sorted(by_app):
            found = by_app[app]
            rng.shuffle(found)
            sample += [{"app": app, **d} for d in found[:per_app]]
        Path(f"/tmp/cost/{prefix}-sample.json").write_text(json.dumps(sample, indent=1), encoding="utf-8")
        print("sampled", len(sample))


if __name__ == "__main__":
    main()
