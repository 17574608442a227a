"""How many N+1 reads carry a real fix, and why the others don't (see benchmarks/fixes.md, "Coverage").

For each app directory: `convex-xray check --format json` (read-only, nothing is applied),
then for every `n-plus-one-read` finding count its per-item reads (the reported one plus each
"also once per item" related location) and how many of them the finding's fix rewrites (a fix
with edits that is not display-only). A read the fix leaves out has its reason in the finding:
"Not batch-fetched automatically: <reason>." in the message (the reported read) and
"(not batch-fetched automatically: <reason>)" on its related location; the reasons are counted in buckets
(helper names and loop kinds folded, so `the read is inside \\`f\\`` is one bucket).

    python benchmarks/fix_coverage.py /work/corpus/* [--json out.json] [--python PY]

A version of the tool that does not give reasons is still counted (reads, fixed reads): its fix
is taken to cover one read per finding, which is what those versions built.

A finding that says its loop is already the recommended form ("this is the join Convex
recommends": one `db.get` per distinct id, no batch to make) has no fix by design; its reads are
also counted apart (`recommended`), and `percent_without_recommended` leaves them out of the
denominator. The headline stays `percent`, over every N+1 read reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

RULE = "n-plus-one-read"
ALSO = "also once per item: "
CONCURRENT = "Run the iterations concurrently"
RECOMMENDED = "this is the join Convex recommends"
_FIRST_REASON = re.compile(r"Not batch-fetched automatically: (.*?)\.$")
_RELATED_REASON = re.compile(r"\(not batch-fetched automatically: (.*)\)$")


def bucket(reason: str) -> str:
    """A reason without the names in it: `the read is inside \\`loadUser\\`` -> `the read is inside a helper`."""
    if reason.startswith("the read is inside `"):
        return "the read is inside a helper"
    if reason.startswith("the read is under the app's own"):
        return re.sub(r"\(line \d+\)", "(line N)", reason)
    if reason.startswith("the app's own callbacks on `"):
        return re.sub(r"on `[^`]+`", "on `x`", reason, count=1)
    if reason.startswith("the call to `"):
        return re.sub(r"`[^`]+`", "`f`", reason, count=1)
    return re.sub(r"a `[^`]+` loop", "a `while`/`for`/`forEach`… loop", reason)


def reads_of(diagnostic: dict, explains: bool) -> tuple[int, int, list[str]]:
    """(per-item reads, reads the fix rewrites, reasons for the others left unfixed). `explains`: whether
    this version of the tool says why a read has no fix; if not, its fix covers one read."""
    reasons: list[str] = []
    first = _FIRST_REASON.search(diagnostic["message"])
    if first:
        reasons.append(first.group(1))
    also = [r["message"] for r in diagnostic.get("related", []) if r["message"].startswith(ALSO)]
    for message in also:
        match = _RELATED_REASON.search(message)
        if match:
            reasons.append(match.group(1))
    reads = 1 + len(also)
    fix = diagnostic.get("fix")
    real = bool(fix and fix.get("edits") and fix.get("applicability") != "display-only")
    if not real:
        return reads, 0, reasons
    # Running the iterations concurrently (the fix, or an alternative to a partial batch-fetch)
    # covers every read of the loop.
    fixes = [fix, *diagnostic.get("alternatives", [])]
    if any(f.get("title", "").startswith(CONCURRENT) and f.get("edits") for f in fixes):
        return reads, reads, []
    return reads, (reads - len(reasons)) if explains else 1, reasons


def measure(python: str, app: Path) -> dict:
    done = subprocess.run(
        [python, "-m", "convex_xray", "check", str(app), "--format", "json", "--no-cache", "--exit-zero"],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "NO_COLOR": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    diagnostics = [d for d in json.loads(done.stdout)["diagnostics"] if d["rule"] == RULE]
    # A version that explains refusals says so on at least one finding (or has none to explain).
    explains = any("batch-fetched automatically" in json.dumps(d) for d in diagnostics)
    reads = fixed = recommended = 0
    buckets: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for diagnostic in diagnostics:
        n, f, reasons = reads_of(diagnostic, explains)
        reads += n
        fixed += f
        if RECOMMENDED in diagnostic["message"] and not f:
            recommended += n
        buckets.update(bucket(r) for r in reasons)
        if f:
            kinds[fix_kind(diagnostic)] += f
    return {
        "app": app.name,
        "findings": len(diagnostics),
        "reads": reads,
        "fixed": fixed,
        "percent": round(100 * fixed / reads, 1) if reads else None,
        "recommended": recommended,
        "buckets": dict(buckets.most_common()),
        "by_fix": dict(kinds.most_common()),
    }


def fix_kind(diagnostic: dict) -> str:
    """Which fix covers the reads: a batch-fetch (safe or unsafe) or the concurrent rewrite."""
    fixes = [diagnostic["fix"], *diagnostic.get("alternatives", [])]
    if diagnostic["fix"]["title"].startswith(CONCURRENT):
        return "concurrent (unsafe)"
    kind = f"batch-fetch ({diagnostic['fix']['applicability']})"
    if any(not f["title"].startswith(CONCURRENT) for f in fixes[1:]):
        # The safe part of the loop's batch-fetch; the whole (more reads) is the unsafe alternative.
        kind += " + unsafe whole as alternative"
    if any(f["title"].startswith(CONCURRENT) for f in fixes[1:]):
        return kind + " + concurrent alternative"
    return kind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("apps", nargs="+", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    for app in args.apps:
        if not app.is_dir():
            continue
        result = measure(args.python, app.resolve())
        results.append(result)
        print(json.dumps(result), flush=True)
    total_reads = sum(r["reads"] for r in results)
    total_fixed = sum(r["fixed"] for r in results)
    buckets: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for r in results:
        buckets.update(r["buckets"])
        kinds.update(r["by_fix"])
    total_recommended = sum(r.get("recommended", 0) for r in results)
    rest = total_reads - total_recommended
    summary = {
        "reads": total_reads,
        "fixed": total_fixed,
        "percent": round(100 * total_fixed / total_reads, 1) if total_reads else None,
        "recommended": total_recommended,
        "percent_without_recommended": round(100 * total_fixed / rest, 1) if rest else None,
        "buckets": dict(buckets.most_common()),
        "by_fix": dict(kinds.most_common()),
    }
    print(json.dumps({"total": summary}, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"apps": results, "total": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
