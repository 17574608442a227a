#!/usr/bin/env python3
"""convex-xray benchmark: generated Convex workspaces, convex-xray cold/warm, ESLint baseline.

    python benchmarks/run.py                                  # sizes 30,300,3000
    python benchmarks/run.py --sizes 30,300 --skip-eslint
    python benchmarks/run.py --sizes 300 --eslint-modes untyped --runs 5 --out /tmp/r.json
    python benchmarks/run.py --sizes 300 --lsp               # + LSP latency (benchmarks/lsp_bench.py)

For every size it (1) generates the workspace into benchmarks/workspaces/w<size>/ unless
a copy made by the same generator version and seed is already there, (2) times
`convex-xray check <ws> --format json --no-cache --exit-zero` cold and warm (cache primed
by one untimed run, then timed runs without --no-cache), each measurement a fresh
process, median of --runs, (3) runs the ESLint + @convex-dev/eslint-plugin baseline on the
same workspace, (4) scores convex-xray's diagnostics against the generator's ground truth
(manifest.json), and prints a markdown report with absolute numbers, ratios and the
machine's facts.  Results go to --out as JSON (default benchmarks/results.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "eslint"))

import generate  # noqa: E402
from benchlib import machine_facts, measure, median_runs  # noqa: E402

WORKSPACES = HERE / "workspaces"


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------
# Workspaces
# --------------------------------------------------------------------------------------


def ensure_workspace(
    size: int, seed: int, root: Path = WORKSPACES, quiet: bool = False
) -> tuple[Path, dict]:
    """Generate benchmarks/workspaces/w<size> unless an identical one is cached."""
    ws = root / (f"w{size}" if seed == generate.DEFAULT_SEED else f"w{size}-s{seed}")
    man_path = ws / "manifest.json"
    if man_path.exists() and (ws / "convex" / "schema.ts").exists():
        try:
            man = json.loads(man_path.read_text())
            if (
                man.get("generator_version") == generate.GENERATOR_VERSION
                and man.get("seed") == seed
                and man.get("requested_files") == size
            ):
                return ws, man
        except ValueError:
            pass
    if not quiet:
        print(f"generate: {size} files -> {ws}", file=sys.stderr)
    man = generate.write_workspace(ws, size, seed)
    return ws, man


# --------------------------------------------------------------------------------------
# convex-xray
# --------------------------------------------------------------------------------------


def xray_command(explicit: str | None) -> list[str]:
    """How to invoke the CLI: --xray / $CONVEX_XRAY_CMD, the console script, or -m."""
    if explicit:
        return shlex.split(explicit)
    env = os.environ.get("CONVEX_XRAY_CMD")
    if env:
        return shlex.split(env)
    for cand in (REPO / ".venv" / "bin" / "convex-xray",):
        if cand.exists():
            return [str(cand)]
    exe = shutil.which("convex-xray")
    if exe:
        return [exe]
    if importlib.util.find_spec("convex_xray") is not None:
        return [sys.executable, "-m", "convex_xray"]
    raise BenchError(
        "convex-xray is not installed in this environment.\n"
        "  Install it from the repo root:   python3 -m venv .venv && .venv/bin/pip install -e .\n"
        "  or point the benchmark at a command: --xray '/path/to/python -m convex_xray'\n"
        "  (or run with --skip-xray to time only the ESLint baseline)."
    )


def _check_contract(doc: object, ws: Path) -> dict:
    if not isinstance(doc, dict) or "summary" not in doc or "diagnostics" not in doc:
        raise BenchError(
            f"convex-xray JSON output for {ws} lacks summary/diagnostics (contract: "
            "{version, summary{files, diagnostics, by_rule, by_severity, elapsed_ms}, diagnostics[]})"
        )
    s = doc["summary"]
    missing = [
        k for k in ("files", "diagnostics", "by_rule", "by_severity", "elapsed_ms") if k not in s
    ]
    if missing:
        raise BenchError(f"convex-xray JSON summary lacks {missing}")
    return doc


def run_xray(cmd: list[str], ws: Path, cache: bool) -> tuple[object, dict]:
    args = [*cmd, "check", str(ws), "--format", "json", "--exit-zero"]
    if not cache:
        args.append("--no-cache")
    r = measure(args, cwd=ws)
    if r.returncode != 0:
        raise BenchError(
            f"convex-xray exited {r.returncode} on {ws}:\n  $ {shlex.join(args)}\n{r.stderr[-3000:]}"
        )
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        raise BenchError(
            f"convex-xray printed no JSON on {ws} ({e}); stdout starts: {r.stdout[:300]!r}\n"
            f"stderr: {r.stderr[-1500:]}"
        ) from None
    return r, _check_contract(doc, ws)


def clear_cache(ws: Path) -> None:
    shutil.rmtree(ws / ".convex-xray-cache", ignore_errors=True)


def bench_xray(cmd: list[str], ws: Path, runs: int, quiet: bool = False) -> dict:
    clear_cache(ws)
    cold, doc = [], None
    for i in range(runs):
        if not quiet:
            print(f"convex-xray: cold run {i + 1}/{runs} on {ws.name}", file=sys.stderr)
        r, doc = run_xray(cmd, ws, cache=False)
        cold.append(r)
    clear_cache(ws)
    run_xray(cmd, ws, cache=True)  # prime the cache (not timed)
    warm = []
    for i in range(runs):
        if not quiet:
            print(f"convex-xray: warm run {i + 1}/{runs} on {ws.name}", file=sys.stderr)
        r, _ = run_xray(cmd, ws, cache=True)
        warm.append(r)
    clear_cache(ws)
    assert isinstance(doc, dict)
    return {
        "cold": median_runs(cold),
        "warm": median_runs(warm),
        "summary": doc["summary"],
        "tool": doc.get("tool"),
        "diagnostics": doc["diagnostics"],
    }


# --------------------------------------------------------------------------------------
# Quality: diagnostics vs the generator's ground truth
# --------------------------------------------------------------------------------------

NEGATIVE_RULES = {
    "batch_fetch": ("n-plus-one-read",),
    "batch_get_by_ids": ("n-plus-one-read",),
    "small_literal_loop": ("n-plus-one-read",),
    "pure_helper_per_item": ("n-plus-one-read",),
    "helper_once": ("n-plus-one-read",),
    "loop_writes": ("n-plus-one-read",),
    "loop_no_db": ("n-plus-one-read",),
    "cursor_loop": ("n-plus-one-call",),
    "batched_function_calls": ("n-plus-one-call",),
    "schedule_once": ("sequential-scheduling",),
    "scheduling_in_parallel": ("sequential-scheduling",),
    "fetch_with_timeout": ("fetch-without-timeout",),
    "better_auth_correct_field": ("better-auth-id-field",),
    "take_small": ("unbounded-collect", "large-take", "full-table-scan"),
    "first": ("unbounded-collect", "full-table-scan"),
    "unique": ("unbounded-collect", "full-table-scan"),
    "paginate_opts": ("unbounded-collect", "full-table-scan"),
    "paginate_one_page_per_mutation": ("unbounded-collect", "full-table-scan"),
    "bounded_scan_take": ("full-table-scan", "unbounded-collect"),
}


def _rel(path: str) -> str:
    p = path.replace("\\", "/")
    i = p.find("convex/")
    while i > 0 and p[i - 1] != "/":
        i = p.find("convex/", i + 1)
    return p[i:] if i >= 0 else p


def score(manifest: dict, diagnostics: list[dict], slack: int = 2) -> dict:
    """Recall per planted rule; diagnostics on negatives; benign collect severities."""
    by_file: dict[tuple[str, str], list[dict]] = {}
    for d in diagnostics:
        by_file.setdefault((_rel(str(d.get("path", ""))), str(d.get("rule"))), []).append(d)

    def hits(inst: dict, rule: str) -> list[dict]:
        lo, hi = inst["start_line"] - slack, inst["end_line"] + slack
        out = []
        for d in by_file.get((inst["file"], rule), []):
            dl = int(d.get("line", 0))
            de = int(d.get("end_line", dl) or dl)
            if dl <= hi and de >= lo:
                out.append(d)
        return out

    matched: set[int] = set()
    per_rule: dict[str, dict] = {}
    for inst in manifest["instances"]:
        rule = inst["rule"]
        if rule is None or inst["benign"]:
            continue
        h = hits(inst, rule)
        matched.update(id(d) for d in h)
        e = per_rule.setdefault(rule, {"planted": 0, "found": 0, "missed": []})
        e["planted"] += 1
        if h:
            e["found"] += 1
        elif len(e["missed"]) < 5:
            e["missed"].append(f"{inst['file']}:{inst['line']} {inst['shape']}")
    for e in per_rule.values():
        e["recall"] = round(e["found"] / e["planted"], 3) if e["planted"] else None
    benign_sev: dict[str, int] = {}
    for inst in manifest["instances"]:
        if inst["benign"]:
            h = hits(inst, inst["rule"])
            matched.update(id(d) for d in h)
            sev = h[0].get("severity", "?") if h else "not reported"
            benign_sev[sev] = benign_sev.get(sev, 0) + 1
    on_neg: dict[str, int] = {}
    for inst in manifest["instances"]:
        if inst["rule"] is None:
            for rule in NEGATIVE_RULES.get(inst["shape"], ()):
                # only diagnostics anchored inside the negative's own span count
                lo, hi = inst["start_line"], inst["end_line"]
                n = sum(
                    1
                    for d in by_file.get((inst["file"], rule), [])
                    if lo <= int(d.get("line", 0)) <= hi and id(d) not in matched
                )
                if n:
                    on_neg[f"{inst['shape']}->{rule}"] = (
                        on_neg.get(f"{inst['shape']}->{rule}", 0) + n
                    )
    unmatched: dict[str, int] = {}
    for d in diagnostics:
        if id(d) not in matched:
            unmatched[str(d.get("rule"))] = unmatched.get(str(d.get("rule")), 0) + 1
    planted = sum(e["planted"] for e in per_rule.values())
    found = sum(e["found"] for e in per_rule.values())
    return {
        "recall": round(found / planted, 3) if planted else None,
        "planted": planted,
        "found": found,
        "per_rule": dict(sorted(per_rule.items())),
        "benign_indexed_collect_severity": benign_sev,
        "diagnostics_on_negatives": on_neg,
        "diagnostics_matching_nothing_planted": dict(sorted(unmatched.items())),
    }


# --------------------------------------------------------------------------------------
# LSP latency (hook; benchmarks/lsp_bench.py is written separately)
# --------------------------------------------------------------------------------------


def run_lsp_benchmark(ws: Path, long_file: Path, xray_cmd: list[str], runs: int) -> dict:
    """LSP HOOK.  Calls benchmarks/lsp_bench.py when it exists:

        lsp_bench.run(workspace: Path, file: Path, server_cmd: list[str], runs: int) -> dict

    `server_cmd` starts the server on stdio (e.g. [..., "convex-xray", "lsp"]); `file` is the
    ~3,000-line module to open and type into.  The returned dict is stored verbatim under
    results[size]["lsp"]; keys the report table understands (all optional):
    open_to_diagnostics_ms, keystroke_p50_ms, keystroke_p95_ms, peak_rss_mb.
    """
    if importlib.util.find_spec("lsp_bench") is None:
        return {"skipped": "benchmarks/lsp_bench.py not present yet"}
    import lsp_bench  # type: ignore[import-not-found]

    return lsp_bench.run(workspace=ws, file=long_file, server_cmd=[*xray_cmd, "lsp"], runs=runs)


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _f(x: float | None, unit: str = "", nd: int = 2) -> str:
    if x is None:
        return "—"
    return f"{x:.{nd}f}{unit}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "—"
    return f"{a / b:.1f}\N{MULTIPLICATION SIGN}"


def report(res: dict) -> str:
    m = res["machine"]
    out = [
        "# convex-xray benchmark",
        "",
        f"Machine: {m['cpu']}, {m['nproc']} cores, {m['ram_gib']} GiB RAM, {m['os']}; "
        f"Python {m['python']}, Node {m['node']}; peak RSS via {m['rss_method']}.",
        f"convex-xray {res.get('xray_version') or '—'}; ESLint {res.get('eslint_versions', {}).get('eslint') or '—'} + "
        f"@convex-dev/eslint-plugin {res.get('eslint_versions', {}).get('@convex-dev/eslint-plugin') or '—'}; "
        f"median of {res['runs']} fresh-process runs; generator {res['generator_version']}, seed {res['seed']}.",
        "",
        "## Whole workspace (cold CLI)",
        "",
        "| files | TS lines | schema lines / indexes | convex-xray cold | convex-xray warm | xray peak RSS "
        "| ESLint typed | typed RSS | ESLint untyped | untyped RSS | typed ÷ xray cold | untyped ÷ xray cold |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _size, r in res["sizes"].items():
        g = r["workspace"]
        x = r.get("xray") or {}
        e = (r.get("eslint") or {}).get("modes", {})
        xc = (x.get("cold") or {}).get("wall_s")
        xw = (x.get("warm") or {}).get("wall_s")
        xr = (x.get("cold") or {}).get("peak_rss_mb")
        et = e.get("typed", {}).get("workspace", {})
        eu = e.get("untyped", {}).get("workspace", {})
        out.append(
            f"| {g['ts_files']} | {g['ts_lines']:,} | {g['schema_lines']:,} / {g['indexes']} | {_f(xc, ' s')} | "
            f"{_f(xw, ' s')} | {_f(xr, ' MiB', 0)} | {_f(et.get('wall_s'), ' s')} | {_f(et.get('peak_rss_mb'), ' MiB', 0)} | "
            f"{_f(eu.get('wall_s'), ' s')} | {_f(eu.get('peak_rss_mb'), ' MiB', 0)} | {_ratio(et.get('wall_s'), xc)} | "
            f"{_ratio(eu.get('wall_s'), xc)} |"
        )
    out += [
        "",
        "## The ~3,000-line file",
        "",
        "| files | file | ESLint CLI typed | ESLint CLI untyped | ESLint relint p50 / p95 typed "
        "| ESLint relint p50 / p95 untyped | LSP open→diagnostics | LSP keystroke p50 / p95 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for _size, r in res["sizes"].items():
        e = (r.get("eslint") or {}).get("modes", {})
        lsp = r.get("lsp") or {}
        cells = []
        for mode in ("typed", "untyped"):
            cells.append(_f(e.get(mode, {}).get("single_file", {}).get("wall_s"), " s"))
        for mode in ("typed", "untyped"):
            rl = e.get(mode, {}).get("relint")
            cells.append(
                f"{_f(rl.get('relint_p50_ms'), ' ms', 0)} / {_f(rl.get('relint_p95_ms'), ' ms', 0)}"
                if rl
                else "—"
            )
        cells.append(_f(lsp.get("open_to_diagnostics_ms"), " ms", 0))
        cells.append(
            f"{_f(lsp.get('keystroke_p50_ms'), ' ms', 1)} / {_f(lsp.get('keystroke_p95_ms'), ' ms', 1)}"
            if lsp.get("keystroke_p50_ms") is not None
            else "—"
        )
        lf = (r.get("eslint") or {}).get("long_file") or "convex/big/dashboard.ts"
        out.append(f"| {r['workspace']['ts_files']} | `{lf}` | " + " | ".join(cells) + " |")
    out += [
        "",
        "## Findings",
        "",
        "| files | planted (ground truth) | convex-xray diagnostics | recall | ESLint problems (typed) | ESLint top rules |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for _size, r in res["sizes"].items():
        x = r.get("xray") or {}
        q = r.get("quality") or {}
        e = (r.get("eslint") or {}).get("modes", {})
        em = e.get("typed") or e.get("untyped") or {}
        ew = em.get("workspace", {})
        top = ", ".join(
            f"{k.replace('@convex-dev/', '')} {v}"
            for k, v in list(ew.get("by_rule", {}).items())[:4]
        )
        out.append(
            f"| {r['workspace']['ts_files']} | {r['workspace']['planted_total']} | "
            f"{(x.get('summary') or {}).get('diagnostics', '—')} | {q.get('recall', '—')} | "
            f"{ew.get('problems', '—')} | {top or '—'} |"
        )
    for _size, r in res["sizes"].items():
        q = r.get("quality")
        if not q:
            continue
        out += [
            "",
            f"### Recall by rule ({r['workspace']['ts_files']} files)",
            "",
            "| rule | planted | found | recall |",
            "|---|---:|---:|---:|",
        ]
        for rule, e in q["per_rule"].items():
            out.append(f"| {rule} | {e['planted']} | {e['found']} | {e['recall']} |")
        if q["diagnostics_on_negatives"]:
            out.append("")
            out.append(
                "Diagnostics inside correct-pattern spans: "
                + ", ".join(f"{k} {v}" for k, v in sorted(q["diagnostics_on_negatives"].items()))
            )
        out.append("")
        out.append(
            "Benign parent-scoped `.collect()` sites by reported severity: "
            + ", ".join(f"{k} {v}" for k, v in sorted(q["benign_indexed_collect_severity"].items()))
        )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="30,300,3000", help="comma list of workspace sizes (files)")
    ap.add_argument(
        "--runs", type=int, default=3, help="fresh-process runs per measurement (median)"
    )
    ap.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--markdown", type=Path, help="also write the markdown report here")
    ap.add_argument(
        "--xray",
        help="command that runs convex-xray (default: .venv/bin/convex-xray, PATH, or python -m)",
    )
    ap.add_argument("--skip-xray", action="store_true", help="time only the ESLint baseline")
    ap.add_argument("--skip-eslint", action="store_true")
    ap.add_argument(
        "--eslint-modes", default="typed,untyped", help="typed,untyped (typed = projectService)"
    )
    ap.add_argument("--eslint-runs", type=int, help="runs per ESLint measurement (default: --runs)")
    ap.add_argument(
        "--eslint-typed-max-files",
        type=int,
        default=300,
        help="skip typed ESLint above this size (typed linting of 1M lines takes many minutes)",
    )
    ap.add_argument("--relint-iterations", type=int, default=20)
    ap.add_argument(
        "--lsp",
        action="store_true",
        help="also run the LSP latency benchmark (benchmarks/lsp_bench.py)",
    )
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)

    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    quiet = a.quiet
    res: dict = {
        "machine": machine_facts(),
        "runs": a.runs,
        "seed": a.seed,
        "generator_version": generate.GENERATOR_VERSION,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": {},
    }
    try:
        xcmd = None if a.skip_xray else xray_command(a.xray)
        if xcmd:
            v = subprocess.run([*xcmd, "--version"], capture_output=True, text=True)
            if v.returncode != 0:
                raise BenchError(
                    f"`{shlex.join(xcmd)} --version` failed ({v.returncode}):\n{v.stderr[-2000:]}"
                )
            res["xray_version"] = v.stdout.strip().split()[-1] if v.stdout.strip() else None
            res["xray_cmd"] = xcmd
        if not a.skip_eslint:
            import run_eslint

            run_eslint.ensure_installed(quiet=quiet)
            res["eslint_versions"] = run_eslint.versions()
        for size in sizes:
            ws, man = ensure_workspace(size, a.seed, quiet=quiet)
            entry: dict = {
                "workspace": {
                    k: man[k]
                    for k in (
                        "ts_files",
                        "ts_lines",
                        "schema_lines",
                        "tables",
                        "indexes",
                        "functions",
                        "planted_total",
                    )
                },
                "path": str(ws),
            }
            entry["workspace"]["planted"] = man["planted"]
            if xcmd:
                x = bench_xray(xcmd, ws, a.runs, quiet)
                entry["quality"] = score(man, x.pop("diagnostics"))
                entry["xray"] = x
            if not a.skip_eslint:
                modes = [m.strip() for m in a.eslint_modes.split(",") if m.strip()]
                if size > a.eslint_typed_max_files and "typed" in modes:
                    modes.remove("typed")
                    entry["eslint_note"] = (
                        f"typed ESLint skipped above {a.eslint_typed_max_files} files"
                    )
                entry["eslint"] = run_eslint.baseline(
                    ws, modes, a.eslint_runs or a.runs, a.relint_iterations, quiet=quiet
                )
            if a.lsp:
                if xcmd is None:
                    entry["lsp"] = {"skipped": "--skip-xray"}
                else:
                    lf = ws / (
                        (entry.get("eslint") or {}).get("long_file") or "convex/big/dashboard.ts"
                    )
                    entry["lsp"] = run_lsp_benchmark(ws, lf, xcmd, a.runs)
            res["sizes"][str(size)] = entry
            a.out.write_text(json.dumps(res, indent=2) + "\n")  # keep partial results
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # run_eslint.EslintUnavailable and friends
        if type(e).__name__ == "EslintUnavailable":
            print(
                f"error: ESLint baseline unavailable: {e}\n(use --skip-eslint to skip it)",
                file=sys.stderr,
            )
            return 2
        raise
    res["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    a.out.write_text(json.dumps(res, indent=2) + "\n")
    md = report(res)
    if a.markdown:
        a.markdown.write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
