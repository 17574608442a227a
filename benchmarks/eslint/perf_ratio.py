#!/usr/bin/env python3
"""Warning tier vs the official ESLint plugin's findings on the same apps (issue #13).

    python3 benchmarks/eslint/perf_ratio.py run <tag> <app-dir>...     # ESLint once, convex-xray per tag
    python3 benchmarks/eslint/perf_ratio.py table <tag> [<tag>...]      # the Markdown table

`run` lints each app's extracted root (`/work/corpus/<owner+name>`) with ESLint and
`eslint.perf.config.mjs` (the plugin's three performance rules, untyped, as
/work/shared/EVALUATING.md asks) unless `<out>/eslint-<app>.json` exists, and checks it with
`convex-xray check . --format json --no-cache` (the convex-xray on PATH, or $CONVEX_XRAY)
into `<out>/<tag>-<app>.json`. `<out>` is $RATIO_OUT or /tmp/perf-ratio.

`table` prints, per app: ESLint findings, convex-xray warnings and their share of ESLint's
count, N+1 findings (n-plus-one-read/-call: ESLint has no per-item rule, so every one is an
N+1 it misses) by tier, warnings in scripts/migrations/seeds/tests, and statements with more
than one warning.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("RATIO_OUT", "/tmp/perf-ratio"))
ESLINT = Path(os.environ.get("ESLINT_DIR", HERE)) / "node_modules" / ".bin" / "eslint"
CONFIG = Path(os.environ.get("ESLINT_DIR", HERE)) / "eslint.perf.config.mjs"
# By path, as benchmarks/signal/summarize.py counts them, or by the finding's own role.
SCRIPT = re.compile(r"/(scripts?|migrations?|seeds?|tests?|__tests__)/|\.(test|spec)\.|seed", re.I)
N_PLUS_ONE = ("n-plus-one-read", "n-plus-one-call")


def app_name(path: Path) -> str:
    return path.resolve().name.split("+", 1)[-1]


def run(tag: str, apps: list[Path]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    xray = os.environ.get("CONVEX_XRAY", "convex-xray")
    for app in apps:
        name = app_name(app)
        eslint_out = OUT / f"eslint-{name}.json"
        if not eslint_out.exists():
            done = subprocess.run(
                [str(ESLINT), "--no-cache", "-f", "json", "-c", str(CONFIG), "."],
                cwd=app, capture_output=True, text=True,
            )
            if done.returncode not in (0, 1):
                sys.exit(f"eslint failed on {app}: {done.stderr[-2000:]}")
            eslint_out.write_text(done.stdout, encoding="utf-8")
        done = subprocess.run(
            [xray, "check", ".", "--format", "json", "--no-cache", "--no-progress", "--exit-zero"],
            cwd=app, capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"convex-xray failed on {app}: {done.stderr[-2000:]}")
        (OUT / f"{tag}-{name}.json").write_text(done.stdout, encoding="utf-8")
        print(f"{name}: done", file=sys.stderr)


def eslint_count(name: str) -> collections.Counter[str]:
    data = json.loads((OUT / f"eslint-{name}.json").read_text(encoding="utf-8"))
    # Only the plugin's rules: an app's `eslint-disable` comments for rules not loaded here are
    # reported as "definition not found" under their own rule id.
    return collections.Counter(
        m["ruleId"] for f in data for m in f["messages"] if (m.get("ruleId") or "").startswith("@convex-dev/")
    )


def xray_numbers(tag: str, name: str) -> dict[str, int]:
    data = json.loads((OUT / f"{tag}-{name}.json").read_text(encoding="utf-8"))
    found = data["diagnostics"]
    warnings = [d for d in found if d["severity"] == "warning"]
    statements = collections.Counter((d["path"], d["line"]) for d in warnings)
    return {
        "warnings": len(warnings),
        "scripts": sum(1 for d in warnings if SCRIPT.search(d["path"]) or d.get("role", "production") != "production"),
        "dup": sum(n - 1 for n in statements.values() if n > 1),
        "n1_warn": sum(1 for d in warnings if d["rule"] in N_PLUS_ONE),
        "n1_all": sum(1 for d in found if d["rule"] in N_PLUS_ONE),
    }


def table(tags: list[str]) -> None:
    names = sorted({p.name.split("-", 1)[1][:-5] for p in OUT.glob("eslint-*.json")})
    print("| app | ESLint | " + " | ".join(f"{t} warnings (% of ESLint) | {t} N+1 warn/all | {t} scripts | {t} dup" for t in tags) + " |")
    print("|---|---:|" + "---:|" * (4 * len(tags)))
    totals: collections.Counter[str] = collections.Counter()
    for name in names:
        if not all((OUT / f"{t}-{name}.json").exists() for t in tags):
            continue
        eslint = sum(eslint_count(name).values())
        totals["eslint"] += eslint
        cells = [name, str(eslint)]
        for t in tags:
            n = xray_numbers(t, name)
            for key, value in n.items():
                totals[f"{t}:{key}"] += value
            share = f"{100 * n['warnings'] / eslint:.0f}%" if eslint else "n/a"
            cells += [f"{n['warnings']} ({share})", f"{n['n1_warn']}/{n['n1_all']}", str(n["scripts"]), str(n["dup"])]
        print("| " + " | ".join(cells) + " |")
    cells = ["**total**", str(totals["eslint"])]
    for t in tags:
        w = totals[f"{t}:warnings"]
        share = f"{100 * w / totals['eslint']:.0f}%" if totals["eslint"] else "n/a"
        scripts = totals[f"{t}:scripts"]
        cells += [f"{w} ({share})", f"{totals[f'{t}:n1_warn']}/{totals[f'{t}:n1_all']}",
                  f"{scripts} ({100 * scripts / max(w, 1):.1f}%)", str(totals[f"{t}:dup"])]
    print("| " + " | ".join(cells) + " |")


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        run(sys.argv[2], [Path(a) for a in sys.argv[3:]])
    elif len(sys.argv) >= 3 and sys.argv[1] == "table":
        table(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
