"""Join convex-xray JSON runs on corpus apps with hand labels of the warning tier (benchmarks/signal.md).

Labels live in `labels.tsv` next to this file, one row per labelled warning:

    app  path  line  rule  stmt  label  sample  reason

`path` is relative to the app's extracted root, `stmt` is a hash of the reported source line
(whitespace collapsed), `label` is TP (worth fixing), M (true but minor) or FP (false), `sample`
names the draw the row came from (e.g. `before:s13`). A finding matches a label by
(app, path, line, rule) with the same line hash; when the tool moves a report a few lines within
one statement, a unique nearby label of the same rule follows it (see `match`). No code is
stored, only the hash.

Usage:

    python3 labels.py run RUN_DIR [APP ...]                 # convex-xray check . --format json --no-cache
    python3 labels.py report RUN_DIR [--samples before:s13]  # worth-fixing share per app / rule, with CIs
    python3 labels.py unlabelled RUN_DIR                    # warning-tier findings with no label
    python3 labels.py demoted RUN_DIR [--samples a,b]       # TP labels no longer reported as warnings
    python3 labels.py sample RUN_DIR --seed 13 --n 16 [--tag before:s13] [--apps A,B]
    python3 labels.py sample RUN_DIR --seed 14 --rate-of BEFORE_DIR --rate-sample before:s13 --tag after:s14
    python3 labels.py sample RUN2 --seed 15 --rate-of BEFORE_DIR --rate-sample before:s13 --known-in RUN1 --tag after:s15
    python3 labels.py sample RUN_DIR --seed 17 --n 16 --pooled --rule n-plus-one-call --tag rule:s17
    python3 labels.py sample RUN_DIR --seed 20 --n 17 --include-labelled --tag after:s20   # a fresh draw of the whole tier

`sample` draws a uniform random sample (fixed seed, per app, or `--pooled` over all apps, of one
`--rule` if given) of the *unlabelled* warnings and writes them to stdout as TSV rows with an empty
label, plus a context file (RUN_DIR/context.txt) to read them. With `--rate-of BEFORE_DIR`, it
draws only the warnings BEFORE_DIR did not have, per app at the rate of the earlier draw
(`--rate-sample` rows / warnings in BEFORE_DIR): the earlier draw's labels still in the warning
tier plus the new draw are then a uniform sample of the new run's warnings. Report the headline
share with `--samples` set to those two draws; rule top-ups (`--rule`) only fill the per-rule table.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(os.environ.get("CONVEX_XRAY_CORPUS", "/work/corpus"))
LABELS = Path(__file__).with_name("labels.tsv")
FIELDS = ["app", "path", "line", "rule", "stmt", "label", "sample", "reason"]
Z = 1.96  # 95% intervals
NEAR = 3  # lines a report may move within one statement and keep its label


@dataclass(frozen=True)
class Finding:
    app: str
    path: str
    line: int
    rule: str
    stmt: str
    severity: str
    message: str


def statement_hash(app: str, path: str, line: int) -> str:
    """Hash of the reported line, so a label survives the tool reporting the same text elsewhere."""
    try:
        lines = (CORPUS / app / path).read_text(encoding="utf-8", errors="replace").splitlines()
        text = lines[line - 1] if 0 < line <= len(lines) else ""
    except OSError:
        text = ""
    return hashlib.sha1(re.sub(r"\s+", " ", text).strip().encode()).hexdigest()[:10]


def load_run(run_dir: Path) -> dict[str, list[Finding]]:
    """app -> findings of every tier, from RUN_DIR/<app>.json."""
    runs: dict[str, list[Finding]] = {}
    for file in sorted(run_dir.glob("*.json")):
        app = file.stem
        root = str(CORPUS / app) + "/"
        data = json.loads(file.read_text(encoding="utf-8"))
        found = []
        for d in data["diagnostics"]:
            path = d["path"][len(root) :] if d["path"].startswith(root) else d["path"]
            found.append(
                Finding(
                    app,
                    path,
                    d["line"],
                    d["rule"],
                    statement_hash(app, path, d["line"]),
                    d["severity"],
                    d["message"],
                )
            )
        runs[app] = found
    return runs


def load_labels() -> list[dict[str, str]]:
    if not LABELS.exists():
        return []
    with LABELS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def match(findings: list[Finding], labels: list[dict[str, str]]) -> dict[Finding, dict[str, str]]:
    """Finding -> its label, one to one.

    Exact: same (app, path, line, rule) and the line's text hash still agrees (the app did not change).
    Near: same (app, path, rule) within NEAR lines, when exactly one unused label and one unmatched
    finding are that close: the tool moved the report to another line of the same statement
    (e.g. from `.collect()` to the start of the chain). Hashing only the reported line cannot do
    this: many statements end in an identical `.collect();` line.
    """
    exact = {(r["app"], r["path"], int(r["line"]), r["rule"]): r for r in labels}
    out: dict[Finding, dict[str, str]] = {}
    used: set[int] = set()
    for f in findings:
        row = exact.get((f.app, f.path, f.line, f.rule))
        # One finding per label: more warnings of one rule on one line are duplicates, which
        # `report` counts apart so that they do not inflate the sample.
        if row is not None and row["stmt"] == f.stmt and id(row) not in used:
            out[f] = row
            used.add(id(row))
    rest = [f for f in findings if f not in out]
    free = [r for r in labels if id(r) not in used]

    def near(f: Finding, r: dict[str, str]) -> bool:
        return (f.app, f.path, f.rule) == (r["app"], r["path"], r["rule"]) and abs(
            f.line - int(r["line"])
        ) <= NEAR

    for f in rest:
        rows = [r for r in free if near(f, r) and id(r) not in used]
        if len(rows) == 1 and sum(1 for g in rest if near(g, rows[0])) == 1:
            out[f] = rows[0]
            used.add(id(rows[0]))
    return out


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def report(run_dir: Path, samples: list[str]) -> None:
    """Per-app and per-rule tables; with `samples`, only labels drawn in those samples count."""
    runs = load_run(run_dir)
    labels = [r for r in load_labels() if not samples or r["sample"] in samples]
    print(f"run: {run_dir}  labels: {len(labels)} rows in {LABELS.name}\n")
    print("| app | warnings | labelled | TP | M | FP | worth fixing (95% CI) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    total: collections.Counter[str] = collections.Counter()
    strata = []  # (warnings, labelled, tp) per app, for the estimate weighted by warnings
    per_rule: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for app, found in runs.items():
        warnings = [f for f in found if f.severity == "warning"]
        got = match(warnings, labels)
        counts = collections.Counter(row["label"] for row in got.values())
        for f, row in got.items():
            per_rule[f.rule][row["label"]] += 1
        n = sum(counts[k] for k in ("TP", "M", "FP"))
        total.update(
            warnings=len(warnings) if n else 0,
            other=0 if n else len(warnings),
            n=n,
            **{k: counts[k] for k in ("TP", "M", "FP")},
        )
        if n:
            strata.append((len(warnings), n, counts["TP"]))
            lo, hi = wilson(counts["TP"], n)
            share = f"{pct(counts['TP'] / n)} ({pct(lo)}-{pct(hi)})"
        else:
            share = "-"
        print(
            f"| {app} | {len(warnings)} | {n} | {counts['TP']} | {counts['M']} | {counts['FP']} | {share} |"
        )
    n = total["n"]
    lo, hi = wilson(total["TP"], n)
    pooled = f"{pct(total['TP'] / n)} ({pct(lo)}-{pct(hi)})" if n else "-"
    print(
        f"| **labelled apps** | {total['warnings']} | {n} | {total['TP']} | {total['M']} | {total['FP']} | **{pooled}** |"
    )
    if total["other"]:
        print(f"\n({total['other']} more warnings in apps with no labels)")
    if strata:
        # Stratified estimate: each app weighted by its warning count, finite-population corrected.
        w_all = sum(w for w, _, _ in strata)
        est = sum(w * tp / k for w, k, tp in strata) / w_all
        var = sum(
            (w / w_all) ** 2 * (tp / k) * (1 - tp / k) / max(1, k - 1) * (1 - k / w)
            for w, k, tp in strata
            if w
        )
        half = Z * math.sqrt(var)
        print(
            f"\nweighted by each app's warnings (labelled apps only): {pct(est)} (95% CI {pct(max(0, est - half))}-{pct(min(1, est + half))})"
        )
    print("\n| rule | labelled | TP | M | FP | worth fixing |")
    print("|---|---:|---:|---:|---:|---|")
    for rule, c in sorted(per_rule.items()):
        k = c["TP"] + c["M"] + c["FP"]
        print(
            f"| {rule} | {k} | {c['TP']} | {c['M']} | {c['FP']} | {pct(c['TP'] / k) if k else '-'} |"
        )
    extra = 0  # warnings beyond the first of one rule on one line (the "one finding per problem")
    for found in runs.values():
        lines = collections.Counter((f.path, f.line) for f in found if f.severity == "warning")
        extra += sum(k - 1 for k in lines.values() if k > 1)
    print(f"\nwarnings sharing a line with another warning (extra ones): {extra}")
    missing = sum(len(unlabelled_of(found, labels)) for found in runs.values())
    print(f"\nunlabelled warnings: {missing} (list them with `labels.py unlabelled {run_dir}`)")


def unlabelled_of(found: list[Finding], labels: list[dict[str, str]]) -> list[Finding]:
    warnings = [f for f in found if f.severity == "warning"]
    got = match(warnings, labels)
    return [f for f in warnings if f not in got]


def unlabelled(run_dir: Path) -> None:
    """Tab-separated: app, path:line, rule, and the label of another finding of that rule on that line."""
    labels = load_labels()
    same_line = {(r["app"], r["path"], int(r["line"]), r["rule"]): r["label"] for r in labels}
    for found in load_run(run_dir).values():
        for f in unlabelled_of(found, labels):
            hint = same_line.get((f.app, f.path, f.line, f.rule), "")
            print(
                f"{f.app}\t{f.path}:{f.line}\t{f.rule}\t{'same line as a ' + hint + ' label' if hint else ''}"
            )


def context(f: Finding, before: int = 30, after: int = 25) -> str:
    lines = (CORPUS / f.app / f.path).read_text(encoding="utf-8", errors="replace").splitlines()
    lo, hi = max(0, f.line - 1 - before), min(len(lines), f.line + after)
    body = "\n".join(
        f"{'>>' if i + 1 == f.line else '  '}{i + 1:5} {lines[i]}" for i in range(lo, hi)
    )
    return f"=== {f.app} {f.path}:{f.line} {f.rule}\n{f.message}\n{body}\n"


def sample(run_dir: Path, args: argparse.Namespace) -> None:
    """Print TSV rows (label and reason empty) for a seeded uniform draw of unlabelled warnings."""
    runs = load_run(run_dir)
    labels = load_labels()
    before = load_run(args.rate_of) if args.rate_of else {}
    pools: dict[str, list[Finding]] = {}
    reuse: dict[Finding, dict[str, str]] = {}
    for app in sorted(args.apps or runs):
        if args.include_labelled:
            # A fresh draw over the whole warning tier: picks that already carry a label keep
            # it (re-tagged with this draw), only the rest need reading.
            warnings = [f for f in runs[app] if f.severity == "warning"]
            reuse.update(match(warnings, [r for r in labels if r["app"] == app]))
            todo = [f for f in warnings if not args.rule or f.rule == args.rule]
        else:
            todo = [f for f in unlabelled_of(runs[app], labels) if not args.rule or f.rule == args.rule]
        if before:
            # Only warnings the earlier run did not have: the earlier ones are already represented,
            # at the same rate, by that run's draw.
            old = [f for f in before.get(app, []) if f.severity == "warning"]
            known = {(f.path, f.line, f.rule) for f in old}
            for extra in args.known_in:
                # Warnings new in an intermediate run were drawn then, at the same rate.
                known |= {
                    (f.path, f.line, f.rule)
                    for f in load_run(extra).get(app, [])
                    if f.severity == "warning"
                }
            todo = [f for f in todo if (f.path, f.line, f.rule) not in known]
        pools[app] = sorted(todo, key=lambda f: (f.path, f.line, f.rule))
    picked: list[Finding] = []
    if args.pooled:
        everything = [f for app in sorted(pools) for f in pools[app]]
        picked = random.Random(f"{args.seed}:pooled").sample(
            everything, min(args.n or 0, len(everything))
        )
        print(f"pooled: {len(everything)} candidate warnings, drew {len(picked)}", file=sys.stderr)
    else:
        for app, todo in pools.items():
            if before:
                old = [f for f in before.get(app, []) if f.severity == "warning"]
                drawn = [r for r in labels if r["app"] == app and r["sample"] == args.rate_sample]
                if not drawn:
                    continue
                k = math.ceil(len(todo) * len(drawn) / len(old))
            else:
                k = args.n or 0
            got = random.Random(f"{args.seed}:{app}").sample(todo, min(k, len(todo)))
            print(f"{app}: {len(todo)} candidate warnings, drew {len(got)}", file=sys.stderr)
            picked += got
    writer = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    for f in picked:
        old_row = reuse.get(f)
        if old_row is not None:
            reason = f"reused from {old_row['sample']}: {old_row['reason']}"
            writer.writerow([f.app, f.path, str(f.line), f.rule, f.stmt, old_row["label"], args.tag, reason])
        else:
            writer.writerow([f.app, f.path, str(f.line), f.rule, f.stmt, "", args.tag, ""])
    fresh = [f for f in picked if f not in reuse]
    (run_dir / "context.txt").write_text("\n".join(context(f) for f in fresh), encoding="utf-8")


def demoted(run_dir: Path, samples: list[str]) -> None:
    """Every finding labelled TP (worth fixing) that the run no longer reports as a warning:
    issue #13's "nothing an audit would call a hot-path problem drops below warning". A label
    still holds when a warning of its rule sits within NEAR lines of it (a label drawn twice,
    in two samples, is one place); otherwise the list shows the tier of the nearest finding of
    that rule there, or "gone"."""
    runs = load_run(run_dir)
    places = {
        (r["app"], r["path"], int(r["line"]), r["rule"]): r
        for r in load_labels()
        if r["label"] == "TP" and (not samples or r["sample"] in samples)
    }
    rows = []
    for (app, path, line, rule), row in sorted(places.items()):
        near = [f for f in runs.get(app, []) if (f.path, f.rule) == (path, rule) and abs(f.line - line) <= NEAR]
        if any(f.severity == "warning" for f in near):
            continue
        tier = min(near, key=lambda f: abs(f.line - line)).severity if near else "gone"
        rows.append((app, path, line, rule, tier, row["reason"]))
    print(f"run: {run_dir}  places labelled TP: {len(places)}  no longer warnings: {len(rows)}\n")
    for app, path, line, rule, tier, reason in rows:
        print(f"- {app} {path}:{line} {rule} -> {tier}: {reason}")


def run(run_dir: Path, apps: list[str]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    exe = os.environ.get("CONVEX_XRAY", "convex-xray")
    for app in apps:
        out = run_dir / f"{app}.json"
        with out.open("w", encoding="utf-8") as f:
            subprocess.run(
                [
                    exe,
                    "check",
                    ".",
                    "--format",
                    "json",
                    "--no-cache",
                    "--no-progress",
                    "--exit-zero",
                ],
                cwd=CORPUS / app,
                stdout=f,
                check=True,
            )
        print(app, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("run_dir", type=Path)
    p_run.add_argument("apps", nargs="*")
    p_report = sub.add_parser("report")
    p_report.add_argument("run_dir", type=Path)
    p_report.add_argument(
        "--samples",
        type=lambda s: s.split(","),
        default=[],
        help="count only labels of these sample tags (default: all)",
    )
    sub.add_parser("unlabelled").add_argument("run_dir", type=Path)
    p_demoted = sub.add_parser("demoted")
    p_demoted.add_argument("run_dir", type=Path)
    p_demoted.add_argument("--samples", default="", help="comma list; default every sample")
    p_sample = sub.add_parser("sample")
    p_sample.add_argument("run_dir", type=Path)
    p_sample.add_argument(
        "--apps",
        type=lambda s: s.split(","),
        default=[],
        help="comma-separated app dirs (default: every run)",
    )
    p_sample.add_argument("--seed", type=int, required=True)
    p_sample.add_argument("--n", type=int)
    p_sample.add_argument(
        "--rate-of", type=Path, help="earlier run: draw only its new warnings, at its rate"
    )
    p_sample.add_argument(
        "--rate-sample", default="", help="the sample tag whose rate --rate-of uses"
    )
    p_sample.add_argument(
        "--known-in",
        type=Path,
        action="append",
        default=[],
        help="intermediate run already sampled for new warnings (repeatable)",
    )
    p_sample.add_argument("--rule", default="", help="only warnings of this rule")
    p_sample.add_argument("--pooled", action="store_true", help="draw --n from all apps together")
    p_sample.add_argument("--tag", default="")
    p_sample.add_argument(
        "--include-labelled",
        action="store_true",
        help="draw from every warning, labelled or not; picks with a label keep it (re-tagged)",
    )
    args = parser.parse_args()
    if args.cmd == "run":
        run(args.run_dir, args.apps or DEFAULT_APPS)
    elif args.cmd == "report":
        report(args.run_dir, args.samples)
    elif args.cmd == "unlabelled":
        unlabelled(args.run_dir)
    elif args.cmd == "demoted":
        demoted(args.run_dir, [s for s in args.samples.split(",") if s])
    else:
        sample(args.run_dir, args)


DEFAULT_APPS = [
    "Melvynx+saveit.now",
    "adamanz+convex-crm",
    "groupi-app+groupi",
    "keppoai+keppo",
    "swbam+convex",
    "sagnikdey45+CityCare---Smart-Civic-Issue-Management-Platform",
    "Norte-Development+ialex-convex",
    "worsin+ConvexPress",
]

if __name__ == "__main__":
    main()
