#!/usr/bin/env python3
"""ESLint + @convex-dev/eslint-plugin baseline timings for a generated workspace.

    python benchmarks/eslint/run_eslint.py benchmarks/workspaces/w300
    python benchmarks/eslint/run_eslint.py benchmarks/workspaces/w300 --modes typed,untyped --runs 3
    python benchmarks/eslint/run_eslint.py benchmarks/workspaces/w300 --relint convex/big/dashboard.ts

Installs the pinned toolchain with `npm ci` into benchmarks/eslint/ (package-lock.json is
committed, node_modules is not), then times, in a fresh process per run:

* cold whole-workspace lint: `eslint --no-cache -c benchmarks/eslint/eslint.config.mjs convex`
  run from the workspace root, in "typed" mode (parserOptions.projectService, as
  docs.convex.dev/eslint recommends) and/or "untyped" mode (parser only);
* single-file relint of the long file as a CLI process (ESLint's per-file cost from cold);
* optionally, in-process relint latency (relint.mjs): a warm ESLint instance re-linting the
  long file after a one-character edit, the closest ESLint analogue of an LSP keystroke.

Wall time is measured around the whole process; peak RSS with GNU time -v (or a
getrusage shim).  Problems are counted by rule from ESLint's JSON output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchlib import measure, median_runs  # noqa: E402

CONFIG = HERE / "eslint.config.mjs"
ESLINT_BIN = HERE / "node_modules" / ".bin" / "eslint"
MODES = {"typed": {"XRAY_ESLINT_TYPED": "1"}, "untyped": {"XRAY_ESLINT_TYPED": "0"}}


class EslintUnavailable(RuntimeError):
    pass


def ensure_installed(force: bool = False, quiet: bool = False) -> None:
    """`npm ci` into benchmarks/eslint/ when node_modules is missing or stale."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise EslintUnavailable(
            "node/npm not found on PATH: install Node.js 20+ to run the ESLint baseline"
        )
    lock = HERE / "package-lock.json"
    stamp = HERE / "node_modules" / ".package-lock.json"
    fresh = ESLINT_BIN.exists() and stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime
    if fresh and not force:
        return
    if not quiet:
        print("eslint: npm ci in benchmarks/eslint/ ...", file=sys.stderr)
    r = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0 or not ESLINT_BIN.exists():
        raise EslintUnavailable(f"npm ci failed in {HERE}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def versions() -> dict:
    out = {}
    for pkg in ("eslint", "@convex-dev/eslint-plugin", "typescript-eslint", "typescript", "convex"):
        pj = HERE / "node_modules" / pkg / "package.json"
        try:
            out[pkg] = json.loads(pj.read_text())["version"]
        except (OSError, ValueError, KeyError):
            out[pkg] = None
    return out


@contextlib.contextmanager
def linked_node_modules(ws: Path):
    """Typed linting must resolve `convex/server` etc. from the workspace: link this
    package's node_modules in for the duration (removed afterwards so the workspace stays
    pristine for other tools)."""
    link = ws / "node_modules"
    created = False
    if not link.exists() and not link.is_symlink():
        link.symlink_to(HERE / "node_modules", target_is_directory=True)
        created = True
    try:
        yield
    finally:
        if created:
            link.unlink()


def _env(mode: str, collect: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update(MODES[mode])
    env["XRAY_ESLINT_COLLECT"] = "1" if collect else "0"
    env.setdefault("NODE_OPTIONS", "--max-old-space-size=8192")
    return env


def count_problems(report_path: Path) -> dict:
    data = json.loads(report_path.read_text())
    by_rule: Counter[str] = Counter()
    fatal = 0
    for f in data:
        for msg in f.get("messages", []):
            rid = msg.get("ruleId")
            if rid is None:
                fatal += 1
                rid = "(parse error)"
            by_rule[rid] += 1
    return {
        "files_linted": len(data),
        "problems": sum(by_rule.values()),
        "errors": sum(f.get("errorCount", 0) for f in data),
        "warnings": sum(f.get("warningCount", 0) for f in data),
        "fatal": fatal,
        "by_rule": dict(by_rule.most_common()),
    }


def lint(
    ws: Path,
    target: str = "convex",
    mode: str = "typed",
    runs: int = 1,
    collect: bool = False,
    concurrency: str | None = None,
) -> dict:
    """Cold CLI lint of `target` (relative to ws), median of `runs` fresh processes."""
    ws = ws.resolve()
    results = []
    problems = None
    with linked_node_modules(ws), tempfile.TemporaryDirectory() as td:
        for i in range(runs):
            out = Path(td) / f"report{i}.json"
            cmd = [str(ESLINT_BIN), "--no-cache", "-c", str(CONFIG), "-f", "json", "-o", str(out)]
            if concurrency:
                cmd += ["--concurrency", concurrency]
            cmd.append(target)
            r = measure(cmd, cwd=ws, env=_env(mode, collect))
            if r.returncode not in (0, 1) or not out.exists():
                raise EslintUnavailable(f"eslint exited {r.returncode}:\n{r.stderr[-3000:]}")
            results.append(r)
            problems = count_problems(out)
    res = {
        "mode": mode,
        "target": target,
        "collect_rule": collect,
        "concurrency": concurrency or "off",
    }
    res.update(median_runs(results))
    res.update(problems or {})
    return res


def relint_in_process(ws: Path, file: str, mode: str = "typed", iterations: int = 20) -> dict:
    ws = ws.resolve()
    with linked_node_modules(ws):
        r = measure(
            ["node", str(HERE / "relint.mjs"), str(CONFIG), file, str(iterations)],
            cwd=ws,
            env=_env(mode, False),
        )
    if r.returncode != 0:
        raise EslintUnavailable(f"relint.mjs failed ({r.returncode}):\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res.update(
        {"mode": mode, "process_wall_s": round(r.wall_s, 3), "process_peak_rss_mb": r.peak_rss_mb}
    )
    return res


def long_file(ws: Path) -> str:
    """The workspace's ~3,000-line module used for single-file timings."""
    for cand in ("convex/big/dashboard.ts", "convex/big/keystroke.ts"):
        if (ws / cand).exists():
            return cand
    big = sorted((ws / "convex").rglob("*.ts"), key=lambda p: -p.stat().st_size)
    return str(big[0].relative_to(ws))


def baseline(
    ws: Path,
    modes: list[str],
    runs: int = 1,
    relint_iterations: int = 20,
    collect: bool = False,
    quiet: bool = False,
) -> dict:
    """Everything run.py needs from ESLint for one workspace."""
    ensure_installed(quiet=quiet)
    lf = long_file(ws)
    out: dict = {"versions": versions(), "long_file": lf, "modes": {}}
    for mode in modes:
        if not quiet:
            print(f"eslint[{mode}]: whole workspace x{runs} ...", file=sys.stderr)
        full = lint(ws, "convex", mode, runs, collect)
        if not quiet:
            print(f"eslint[{mode}]: single file {lf} x{runs} ...", file=sys.stderr)
        single = lint(ws, lf, mode, runs, collect)
        entry = {"workspace": full, "single_file": single}
        if relint_iterations:
            if not quiet:
                print(
                    f"eslint[{mode}]: in-process relint x{relint_iterations} ...", file=sys.stderr
                )
            entry["relint"] = relint_in_process(ws, lf, mode, relint_iterations)
        out["modes"][mode] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--modes", default="typed,untyped", help="comma list of typed,untyped")
    ap.add_argument(
        "--runs", type=int, default=1, help="fresh-process runs per measurement (median)"
    )
    ap.add_argument(
        "--relint-iterations", type=int, default=20, help="0 to skip the in-process relint"
    )
    ap.add_argument(
        "--collect", action="store_true", help="also enable @convex-dev/no-collect-in-query"
    )
    ap.add_argument("--install-only", action="store_true")
    ap.add_argument("--out", type=Path, help="write the JSON result here")
    a = ap.parse_args(argv)
    try:
        ensure_installed()
        if a.install_only:
            print(json.dumps(versions()))
            return 0
        res = baseline(
            a.workspace,
            [m.strip() for m in a.modes.split(",") if m.strip()],
            a.runs,
            a.relint_iterations,
            a.collect,
        )
    except EslintUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(res, indent=2)
    if a.out:
        a.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
