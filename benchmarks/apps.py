#!/usr/bin/env python3
"""convex-xray on real apps: cold/warm CLI time, memory of every process, a per-phase
profile, linear scaling, and the ESLint plugin on the same files in the same run.

    python benchmarks/apps.py /work/corpus/adamanz+convex-crm /work/corpus/worsin+ConvexPress
    python benchmarks/apps.py APP... --runs 5 --jobs 1,2 --out /tmp/apps.json --markdown /tmp/apps.md
    python benchmarks/apps.py APP --skip-eslint --skip-scaling      # just convex-xray

Each APP is an app's repository root (or any directory a user would run `convex-xray check`
from); nothing is copied into this repo.  For every app, in one run so the ratios share the
machine's state:

* **cold**: `convex-xray check --format json --no-cache --exit-zero -o FILE` in a fresh
  process, for each `--jobs` value, median of `--runs`; the runs of convex-xray and ESLint are
  interleaved (xray, eslint, xray, eslint, ...) so load changes hit both alike;
* **warm**: the same with the result cache primed by one untimed run;
* **memory**: the peak of the summed RSS of the whole process tree (parent plus worker
  processes), sampled from /proc every 10 ms — GNU time only sees the largest single process;
* **profile**: one in-process serial run (`-j 1`) under a sampling profiler (a thread
  reading the main thread's stack every millisecond).  Each sample goes to the phase of the
  innermost convex-xray frame on the stack: parse (tree-sitter parsing), syntax
  (tree-sitter queries and node helpers), model (the Convex code model), schema (schema and
  discovery), rules, cost, fixes (building and validating fixes), output, other.  Shares, not
  seconds, are the result: sampling adds overhead;
* **scaling**: the app's checked roots copied three times side by side into a temporary
  directory, checked cold; time(3x) / time(1x);
* **ESLint**: `eslint --no-cache -f json <the same roots>` with the official
  `@convex-dev/eslint-plugin` recommended config, untyped (typescript-eslint parser, no
  type information), from benchmarks/eslint/ (pinned, `npm ci` on first use).

Before timing, the package's bytecode is compiled (`compileall`), as `pip install` does: run
from a source checkout with PYTHONDONTWRITEBYTECODE set (as on our benchmark machines) every
process would otherwise compile ~80 modules from source first (~0.1 s a run) — a cost no
installed copy has.

Results go to --out (JSON) and, with --markdown, a table per app.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "eslint"))

from benchlib import machine_facts  # noqa: E402

PACKAGE = (REPO / "server" / "convex_xray").resolve()

# Innermost convex-xray frame -> phase.  Paths are relative to the package; the first
# matching prefix wins, so specific files come before their folder.
PHASES: list[tuple[str, str]] = [
    ("engine/syntax.py", "syntax"),
    ("engine/source.py", "parse"),
    ("engine/schema.py", "schema"),
    ("engine/discovery.py", "schema"),
    ("engine/cost.py", "cost"),
    ("engine/fixes.py", "fixes"),
    ("rules/support/batch_fetch.py", "fixes"),
    ("rules/support/add_index.py", "fixes"),
    ("engine/model.py", "model"),
    ("engine/analysis/", "model"),
    ("engine/roles.py", "model"),
    ("engine/context.py", "model"),
    ("rules/", "rules"),
    ("engine/runner.py", "rules"),
    ("engine/suppressions.py", "rules"),
    ("cli/output/", "output"),
    ("cli/cache.py", "output"),
]
PHASE_ORDER = ["parse", "syntax", "model", "schema", "rules", "cost", "fixes", "output", "other"]


# --------------------------------------------------------------------------------------
# Processes: wall time and the summed RSS of a process tree
# --------------------------------------------------------------------------------------


def _tree_rss_kb(pid: int) -> int:
    """RSS of `pid` and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_sampled(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Run `cmd`; wall seconds, peak summed tree RSS (MB), exit code, stderr tail."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    stderr_chunks: list[str] = []
    reader = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.01)
    wall = time.perf_counter() - started
    reader.join(5)
    return {
        "wall_s": wall,
        "peak_tree_rss_mb": round(peak / 1024, 1),
        "rc": proc.returncode,
        "stderr": "".join(stderr_chunks)[-2000:],
    }


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


# --------------------------------------------------------------------------------------
# convex-xray
# --------------------------------------------------------------------------------------


def compile_bytecode() -> None:
    """Write the package's .pyc files (also under PYTHONDONTWRITEBYTECODE, which only stops
    Python from writing them on import; it still reads them)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(PACKAGE)], check=True, stdout=subprocess.DEVNULL)


def xray_cmd(explicit: str | None) -> list[str]:
    if explicit:
        return explicit.split()
    exe = Path(sys.executable).with_name("convex-xray")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "convex_xray"]


def check_cmd(xray: list[str], out: Path, jobs: int, cache: bool) -> list[str]:
    cmd = [*xray, "check", "--format", "json", "--exit-zero", "--no-progress", "-o", str(out)]
    cmd += ["--jobs", str(jobs)]
    if not cache:
        cmd.append("--no-cache")
    return cmd


def roots_of(app: Path, xray: list[str]) -> tuple[list[dict], dict]:
    """The roots convex-xray checks in `app` (from its JSON summary) and that summary."""
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / "r.json"
        r = run_sampled(check_cmd(xray, out, 1, cache=False), app)
        if r["rc"] not in (0, 1) or not out.exists():
            raise SystemExit(f"convex-xray failed on {app} ({r['rc']}):\n{r['stderr']}")
        doc = json.loads(out.read_text())
    summary = doc["summary"]
    return summary.get("roots", []), summary


def clear_cache(app: Path) -> None:
    for cache in app.rglob(".convex-xray-cache"):
        shutil.rmtree(cache, ignore_errors=True)


def profile_phases(app: Path) -> dict:
    """One serial in-process check of `app` under a stack-sampling profiler."""
    from convex_xray.cli.main import main as xray_main

    samples: collections.Counter[str] = collections.Counter()
    target = threading.get_ident()
    done = threading.Event()

    def phase_of(frame) -> str:  # type: ignore[no-untyped-def]
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(str(PACKAGE)):
                rel = filename[len(str(PACKAGE)) + 1 :]
                for prefix, phase in PHASES:
                    if rel.startswith(prefix):
                        return phase
            frame = frame.f_back
        return "other"

    def sampler() -> None:
        while not done.is_set():
            frame = sys._current_frames().get(target)
            if frame is not None:
                samples[phase_of(frame)] += 1
            time.sleep(0.001)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)  # let the sampler in often enough to see short phases
    thread = threading.Thread(target=sampler, daemon=True)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / "p.json"
        os.chdir(app)
        started = time.perf_counter()
        thread.start()
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                xray_main(["check", "--format", "json", "--exit-zero", "--no-progress", "--no-cache", "-j", "1", "-o", str(out)])
        finally:
            done.set()
            thread.join()
            os.chdir(cwd)
            sys.setswitchinterval(old_interval)
        wall = time.perf_counter() - started
    total = sum(samples.values()) or 1
    return {
        "wall_s_with_sampler": round(wall, 3),
        "samples": total,
        "share": {p: round(samples[p] / total, 3) for p in PHASE_ORDER},
    }


# --------------------------------------------------------------------------------------
# ESLint
# --------------------------------------------------------------------------------------


def eslint_cmd(out: Path, targets: list[str]) -> list[str]:
    import run_eslint

    return [str(run_eslint.ESLINT_BIN), "--no-cache", "-c", str(run_eslint.CONFIG), "-f", "json", "-o", str(out), *targets]


def eslint_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"XRAY_ESLINT_TYPED": "0", "XRAY_ESLINT_COLLECT": "0"})
    env.setdefault("NODE_OPTIONS", "--max-old-space-size=8192")
    return env


# --------------------------------------------------------------------------------------
# One app
# --------------------------------------------------------------------------------------


def _rel_roots(app: Path, roots: list[dict]) -> list[str]:
    rels: list[str] = []
    for root in roots:
        path = Path(root["path"])
        rels.append(str(path.relative_to(app)) if path.is_absolute() else str(path))
    # A component inside an app's convex/ folder is its own root; copy and lint it once.
    outer = [r for r in rels if not any(r != o and Path(r).is_relative_to(o) for o in rels)]
    return sorted(set(outer)) or ["."]


def scaling(app: Path, rel_roots: list[str], xray: list[str], runs: int) -> dict:
    """Cold serial check of the roots once and three times over, side by side."""
    results = {}
    with tempfile.TemporaryDirectory() as td:
        for copies in (1, 3):
            dest = Path(td) / f"x{copies}"
            for i in range(copies):
                for rel in rel_roots:
                    shutil.copytree(app / rel, dest / f"copy{i}" / rel, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules", ".convex-xray-cache"))
                for name in ("convex.json", "package.json", "tsconfig.json"):
                    if (app / name).is_file():
                        shutil.copy2(app / name, dest / f"copy{i}" / name)
            out = dest / "out.json"
            timed = [run_sampled(check_cmd(xray, out, 1, cache=False), dest) for _ in range(runs)]
            results[f"x{copies}"] = {"wall_s": _median(timed, "wall_s"), "peak_tree_rss_mb": _median(timed, "peak_tree_rss_mb")}
    one, three = results["x1"]["wall_s"], results["x3"]["wall_s"]
    results["ratio"] = round(three / one, 2) if one and three else None
    return results


def bench_app(app: Path, args: argparse.Namespace, xray: list[str]) -> dict:
    app = app.resolve()
    print(f"== {app.name}", file=sys.stderr)
    roots, summary = roots_of(app, xray)
    rel_roots = _rel_roots(app, roots)
    res: dict = {
        "app": app.name,
        "roots": rel_roots,
        "files": summary.get("files"),
        "findings": summary.get("total", summary.get("findings")),
        "cold": {},
    }
    eslint_runs: list[dict] = []
    eslint_problems: int | None = None
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / "x.json"
        eout = Path(td) / "e.json"
        cold: dict[int, list[dict]] = {j: [] for j in args.jobs}
        for _ in range(args.runs):
            for jobs in args.jobs:
                clear_cache(app)
                cold[jobs].append(run_sampled(check_cmd(xray, out, jobs, cache=False), app))
            if not args.skip_eslint:
                r = run_sampled(eslint_cmd(eout, rel_roots), app, env=eslint_env())
                if r["rc"] not in (0, 1) or not eout.exists():
                    raise SystemExit(f"eslint failed on {app} ({r['rc']}):\n{r['stderr']}")
                eslint_runs.append(r)
                eslint_problems = sum(len(f.get("messages", [])) for f in json.loads(eout.read_text()))
        for jobs, runs in cold.items():
            res["cold"][f"j{jobs}"] = {
                "wall_s": _median(runs, "wall_s"),
                "wall_s_all": [round(r["wall_s"], 3) for r in runs],
                "peak_tree_rss_mb": _median(runs, "peak_tree_rss_mb"),
            }
        clear_cache(app)
        run_sampled(check_cmd(xray, out, 1, cache=True), app)  # prime the cache
        warm = [run_sampled(check_cmd(xray, out, 1, cache=True), app) for _ in range(args.runs)]
        clear_cache(app)
        res["warm"] = {"wall_s": _median(warm, "wall_s"), "peak_tree_rss_mb": _median(warm, "peak_tree_rss_mb")}
    if eslint_runs:
        res["eslint_untyped"] = {
            "wall_s": _median(eslint_runs, "wall_s"),
            "wall_s_all": [round(r["wall_s"], 3) for r in eslint_runs],
            "peak_tree_rss_mb": _median(eslint_runs, "peak_tree_rss_mb"),
            "problems": eslint_problems,
        }
        best = min(v["wall_s"] for v in res["cold"].values())
        res["ratio_eslint_over_xray_cold"] = round(res["eslint_untyped"]["wall_s"] / best, 2)
    if not args.skip_profile:
        res["profile"] = profile_phases(app)
    if not args.skip_scaling:
        res["scaling"] = scaling(app, rel_roots, xray, max(1, args.runs // 2 + 1))
    return res


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = [
        f"Machine: {m.get('cpu')}, {m.get('nproc')} cores, {m.get('ram_gib')} GiB, Node {m.get('node')}, "
        f"Python {m.get('python')}, load average at start {doc['load_start']}, at end {doc['load_end']}; "
        f"{doc['runs']} runs per measurement (median); convex-xray {doc['commit']}.",
        "",
        "| app | files | cold " + " | cold ".join(f"-j{j}" for j in doc["jobs"]) + " | warm | peak RSS (all processes) | ESLint untyped | ESLint / xray | 3x app / 1x |",
        "|---|---:|" + "---:|" * len(doc["jobs"]) + "---:|---:|---:|---:|---:|",
    ]
    for a in doc["apps"]:
        cold = [f"{a['cold'][f'j{j}']['wall_s']:.2f} s" for j in doc["jobs"]]
        rss = max(v["peak_tree_rss_mb"] or 0 for v in a["cold"].values())
        es = a.get("eslint_untyped")
        sc = a.get("scaling")
        lines.append(
            f"| {a['app']} | {a['files']} | " + " | ".join(cold)
            + f" | {a['warm']['wall_s']:.2f} s | {rss:.0f} MB | "
            + (f"{es['wall_s']:.2f} s ({es['problems']} problems)" if es else "-")
            + f" | {a.get('ratio_eslint_over_xray_cold', '-')}x | "
            + (f"{sc['ratio']}" if sc else "-")
            + " |"
        )
    lines += ["", "Per-phase share of a serial cold check (sampling profile):", ""]
    lines.append("| app | " + " | ".join(PHASE_ORDER) + " |")
    lines.append("|---|" + "---:|" * len(PHASE_ORDER))
    for a in doc["apps"]:
        if "profile" in a:
            share = a["profile"]["share"]
            lines.append(f"| {a['app']} | " + " | ".join(f"{share[p] * 100:.0f}%" for p in PHASE_ORDER) + " |")
    return "\n".join(lines) + "\n"


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("apps", nargs="+", type=Path, help="app repository roots (run from there as a user would)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", default="1,2", help="comma list of --jobs values to time cold")
    ap.add_argument("--xray", help="convex-xray command (default: the one next to this Python)")
    ap.add_argument("--skip-eslint", action="store_true")
    ap.add_argument("--skip-profile", action="store_true")
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("apps-results.json"))
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args(argv)
    args.jobs = [int(j) for j in args.jobs.split(",")]
    if not args.skip_eslint:
        import run_eslint

        run_eslint.ensure_installed()
    xray = xray_cmd(args.xray)
    if not args.xray:
        compile_bytecode()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    doc = {
        "machine": machine_facts(),
        "commit": commit,
        "runs": args.runs,
        "jobs": args.jobs,
        "load_start": _load(),
        "apps": [],
    }
    for app in args.apps:
        doc["apps"].append(bench_app(app, args, xray))
        doc["load_end"] = _load()
        args.out.write_text(json.dumps(doc, indent=2) + "\n")  # partial results survive a crash
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    text = markdown(doc)
    if args.markdown:
        args.markdown.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
