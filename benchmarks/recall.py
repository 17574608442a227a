"""Recall of the N+1 rules against hand-built truth sets (benchmarks/recall/<app>.tsv).

Each truth row is one per-item read or `ctx.run*` call site (file, line, label). A site is
found when an `n-plus-one-read`, `n-plus-one-call` or `sequential-scheduling` finding, or one
of its related locations, points into the same file within LINE_SLACK lines of it (a read
chain such as `ctx.db\\n.query(...)` spans lines; the tool may point at any of them).

Usage: python benchmarks/recall.py [--corpus /work/corpus] [--tool convex-xray] [--json-dir DIR]
With --json-dir, previously saved `<app>.json` outputs are used instead of running the tool.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
from pathlib import Path

RULES = {"n-plus-one-read", "n-plus-one-call", "sequential-scheduling"}
LINE_SLACK = 2
HERE = Path(__file__).resolve().parent


def load_truth(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def run_tool(tool: str, app_dir: Path) -> dict:
    out = subprocess.run(
        [tool, "check", ".", "--format", "json", "--no-cache"],
        cwd=app_dir, capture_output=True, text=True, check=False,
    )
    return json.loads(out.stdout)


def pointed_lines(report: dict, app_dir: Path) -> dict[str, set[int]]:
    """file (relative to the app) -> lines that N+1 findings point at, related ones included."""
    lines: dict[str, set[int]] = {}
    for diagnostic in report["diagnostics"]:
        if diagnostic["rule"] not in RULES:
            continue
        for location in [diagnostic, *diagnostic.get("related", [])]:
            try:
                rel = str(Path(location["path"]).resolve().relative_to(app_dir.resolve()))
            except ValueError:
                continue
            lines.setdefault(rel, set()).add(int(location["line"]))
    return lines


def measure(app: str, report: dict, corpus: Path) -> tuple[list[tuple[dict[str, str], bool]], int]:
    app_dir = corpus / app
    truth = load_truth(HERE / "recall" / f"{app}.tsv")
    lines = pointed_lines(report, app_dir)
    rows = []
    for site in truth:
        near = lines.get(site["file"], set())
        line = int(site["line"])
        rows.append((site, any(abs(line - other) <= LINE_SLACK for other in near)))
    total = sum(1 for d in report["diagnostics"] if d["rule"] in RULES)
    return rows, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="/work/corpus")
    parser.add_argument("--tool", default="convex-xray")
    parser.add_argument("--json-dir")
    parser.add_argument("--misses", action="store_true", help="list the sites not found")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    tool = str(Path(args.tool).resolve()) if Path(args.tool).exists() else args.tool  # runs in each app dir
    grand = {"all": [0, 0], "worth": [0, 0]}
    print("| app | sites found | worth-fixing found | N+1 findings |")
    print("|---|---|---|---|")
    misses = []
    for truth_file in sorted((HERE / "recall").glob("*.tsv")):
        app = truth_file.stem
        if args.json_dir:
            report = json.loads((Path(args.json_dir) / f"{app}.json").read_text())
        else:
            report = run_tool(tool, corpus / app)
        rows, total = measure(app, report, corpus)
        found = sum(hit for _, hit in rows)
        worth = [(s, hit) for s, hit in rows if s["label"] == "worth"]
        worth_found = sum(hit for _, hit in worth)
        grand["all"][0] += found
        grand["all"][1] += len(rows)
        grand["worth"][0] += worth_found
        grand["worth"][1] += len(worth)
        print(f"| {app} | {found}/{len(rows)} | {worth_found}/{len(worth)} | {total} |")
        misses += [f"{app}/{s['file']}:{s['line']} ({s['shape']}, {s['label']})" for s, hit in rows if not hit]
    a, w = grand["all"], grand["worth"]
    print(f"| **total** | {a[0]}/{a[1]} ({100 * a[0] / max(a[1], 1):.0f}%) | {w[0]}/{w[1]} ({100 * w[0] / max(w[1], 1):.0f}%) | |")
    if args.misses:
        print("\nMissed:")
        for miss in misses:
            print(f"- {miss}")


if __name__ == "__main__":
    main()
