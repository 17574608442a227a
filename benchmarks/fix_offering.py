"""Fix offering and convergence over real apps (see benchmarks/fixes.md).

For each app directory: copy it to a scratch directory (the original is never touched), run
`convex-xray check --format json` and count, per rule, the fixes offered by applicability
(and how many offered fixes carry no edit); then `check --fix --unsafe-fixes`, count the
findings per rule again, run `--fix --unsafe-fixes` a second time and report whether it
changed any file, and whether any file gained a syntax error.

    python benchmarks/fix_offering.py /work/corpus/swbam+convex ... [--json out.json]

`--python` picks the interpreter that runs the tool (default: this one), so an older
checkout can be measured with `PYTHONPATH=<old>/server`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

SKIP_DIRS = {"node_modules", ".git", "_generated"}
SOURCE_SUFFIXES = {".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs"}


def run_tool(python: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "convex_xray", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "NO_COLOR": "1"},
    )


def report(python: str, app: Path) -> list[dict]:
    done = run_tool(python, ["check", str(app), "--format", "json", "--no-cache", "--exit-zero"])
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout)["diagnostics"]


def sources(app: Path) -> dict[Path, bytes]:
    out = {}
    for root, dirs, files in os.walk(app):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            path = Path(root) / name
            if path.suffix in SOURCE_SUFFIXES:
                out[path] = path.read_bytes()
    return out


def error_count(path: Path, data: bytes) -> int:
    from convex_xray.engine.source import SourceFile

    return SourceFile(path, data.decode("utf-8", errors="replace"), data=data).error_count()


def offered(diagnostics: list[dict]) -> dict[str, Counter]:
    per_rule: dict[str, Counter] = {}
    for diagnostic in diagnostics:
        counts = per_rule.setdefault(diagnostic["rule"], Counter())
        counts["findings"] += 1
        fixes = [diagnostic.get("fix"), *diagnostic.get("alternatives", [])]
        for fix in fixes:
            if not fix:
                continue
            kind = fix["applicability"]
            counts[kind] += 1
            if not fix.get("edits"):
                counts["no-edit"] += 1
    return per_rule


def measure(python: str, app: Path, scratch: Path) -> dict:
    copy = scratch / app.name
    shutil.copytree(app, copy, symlinks=True, ignore=shutil.ignore_patterns("node_modules", ".git"))
    before_files = sources(copy)
    before = report(python, copy)
    fix_args = ["check", str(copy), "--fix", "--unsafe-fixes", "--no-cache", "--exit-zero", "--quiet"]
    first = run_tool(python, fix_args)
    if first.returncode != 0:
        raise RuntimeError(first.stderr[-2000:])
    after_files = sources(copy)
    after = report(python, copy)
    second = run_tool(python, fix_args)
    again_files = sources(copy)
    changed = sorted(str(p.relative_to(copy)) for p in after_files if after_files[p] != before_files.get(p))
    broken = sorted(
        str(p.relative_to(copy))
        for p, data in after_files.items()
        if error_count(p, data) > error_count(p, before_files.get(p, b""))
    )
    second_changed = sorted(str(p.relative_to(copy)) for p in again_files if again_files[p] != after_files.get(p))
    counts_before = Counter(d["rule"] for d in before)
    counts_after = Counter(d["rule"] for d in after)
    return {
        "app": app.name,
        "offered": {rule: dict(c) for rule, c in sorted(offered(before).items())},
        "findings_before": dict(sorted(counts_before.items())),
        "findings_after": dict(sorted(counts_after.items())),
        "grown": {r: [counts_before[r], n] for r, n in counts_after.items() if n > counts_before[r]},
        "files_changed": len(changed),
        "files_with_new_syntax_errors": broken,
        "second_run_changed": second_changed,
        "second_run_exit": second.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("apps", nargs="+", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="fix-offering-") as scratch:
        for app in args.apps:
            result = measure(args.python, app.resolve(), Path(scratch))
            results.append(result)
            print(json.dumps(result, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
