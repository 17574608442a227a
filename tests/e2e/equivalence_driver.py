"""Prove that `convex-xray check --fix` keeps the example app's meaning, with convex-test.

The driver copies `examples/club-hub` three times into a temporary directory (with
`node_modules` symlinked to one `npm ci` install, cached across runs by the lockfile's
hash), applies `convex-xray check --fix` to one copy and `--fix --unsafe-fixes` to
another, and runs the convex-test spec (`examples/club-hub/tests/`) on all three. The
spec calls every query and mutation of the app on freshly seeded data and records what
each returned or threw, the database it left behind and the database calls it made.

It then requires:

* safe fixes: every case returns/throws exactly what it did on the original and
  leaves the same database; no case makes more read calls or more sequential waits;
  each function a safe batch-fetch fix rewrote makes strictly fewer calls or waits;
  every Convex function changed by a safe fix (directly or through a helper) has a
  case, unless listed in `NOT_RUNNABLE` with the reason;
* unsafe fixes: the same, except for the cases in `UNSAFE_CHANGES_RESULT`, whose
  unsafe fix changes the result on purpose (it repairs a bug);
* both fixed copies typecheck with `tsc --noEmit -p convex`, no file gains a syntax
  error, and a second `--fix` (with the same flags) changes nothing.

Run it directly for a report (`python tests/e2e/equivalence_driver.py [--markdown]`);
`tests/e2e/test_equivalence.py` runs it under pytest (marker `node`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convex_xray.engine.analysis.options import AnalysisOptions
from convex_xray.engine.config import find_config, load_config
from convex_xray.engine.findings import Applicability
from convex_xray.engine.runner import run_check
from convex_xray.engine.source import SourceFile
from convex_xray.engine.workspace import Workspace, discover_roots

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "club-hub"

# Convex functions the spec cannot call, and why. A safe fix may change them only if
# they are listed here.
NOT_RUNNABLE = {
    "auth:getAuthUser": "calls the Better Auth component's adapter, which the app does not ship; "
    "its better-auth-id-field fix repairs a lookup that always returned null",
    "auth:verificationStatus": "calls the Better Auth component's adapter (as above)",
    "auth:syncProfile": "calls the Better Auth component's adapter (as above)",
}

# Functions whose result a safe fix is meant to change: the original throws on every call.
SAFE_CHANGES_RESULT = {
    "model/reports:countEnrollments": "index-range-order: the range names `status` before `orgId` "
    "and throws at run time; the fix puts them in the index's order and the count answers",
}

# Functions whose result an unsafe fix is meant to change.
UNSAFE_CHANGES_RESULT = {
    **SAFE_CHANGES_RESULT,
    "admin:orgReport": 'unknown-index: `withIndex("by_org")` threw (no such index); the fix '
    "uses `by_orgId` and the report answers",
    "model/reports:teamsOfOrg": "unknown-index (as admin:orgReport)",
}

# Unsafe fixes that keep the results on the seeded data; a function changed only by these
# (beyond the safe fixes) must still return exactly what it did. Other unsafe fixes may
# change results (that is why they are unsafe): their differences are reported, not failed.
RESULT_KEEPING_UNSAFE = {
    "sequential-scheduling": "`Promise.all` schedules the same jobs, in the same order",
    "unbounded-collect": "`.take(n)` returns what `.collect()` did while a range holds fewer than "
    "n documents (every seeded range does)",
}

TIMEOUT_S = 600


@dataclass
class Copy:
    name: str  # original | safe | unsafe
    root: Path
    fixed: int = 0
    results: dict[str, Any] = field(default_factory=dict)
    spec_ok: bool = False
    spec_output: str = ""
    tsc_ok: bool | None = None
    tsc_output: str = ""


@dataclass
class FunctionCounts:
    cases: int = 0
    calls: tuple[int, int] = (0, 0)
    waits: tuple[int, int] = (0, 0)
    docs: tuple[int, int] = (0, 0)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changed: dict[str, set[str]] = field(default_factory=dict)  # copy -> changed function keys
    affected: dict[str, set[str]] = field(default_factory=dict)  # copy -> Convex functions affected
    batch_fetched: set[str] = field(default_factory=set)
    # copy -> function -> counts
    counts: dict[str, dict[str, FunctionCounts]] = field(default_factory=dict)
    fixed: dict[str, int] = field(default_factory=dict)
    cases: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def table(self, copy: str = "safe") -> str:
        """Markdown: read calls and sequential waits per function, before -> after."""
        rows = [
            "| function | cases | read calls | sequential waits | documents read |",
            "|---|---|---|---|---|",
        ]
        counts = self.counts.get(copy, {})
        touched = self.affected.get(copy, set()) | self.changed.get(copy, set())
        keys = sorted(k for k in counts if k in self.batch_fetched or k in touched)
        for key in keys:
            c = counts[key]
            mark = " (batch-fetch)" if key in self.batch_fetched else ""
            rows.append(
                f"| `{key}`{mark} | {c.cases} | {_arrow(c.calls)} | {_arrow(c.waits)} | {_arrow(c.docs)} |"
            )
        return "\n".join(rows)

    def text(self) -> str:
        lines = [f"{self.cases} cases; fixes applied: {self.fixed}"]
        for copy in ("safe", "unsafe"):
            if copy in self.counts:
                lines += ["", f"## {copy} fixes", self.table(copy)]
        if self.notes:
            lines += ["", "Notes:", *(f"- {n}" for n in self.notes)]
        lines += [
            "",
            "Problems:" if self.problems else "No problems.",
            *(f"- {p}" for p in self.problems),
        ]
        return "\n".join(lines)


def _arrow(pair: tuple[int, int]) -> str:
    before, after = pair
    return f"{before} → {after}" if before != after else f"{before}"


# ---------------------------------------------------------------------------------------
# Node tooling


def missing_node_tools() -> str | None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not found on PATH" if missing else None


def _cache_base() -> Path:
    explicit = os.environ.get("CONVEX_XRAY_NODE_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "convex-xray" / "club-hub-node"


def install_node_modules(app: Path = APP) -> Path:
    """`npm ci` once per lockfile, dependencies and Node major version; later calls reuse it."""
    node_version = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, check=True
    ).stdout
    digest = hashlib.sha256((app / "package-lock.json").read_bytes())
    manifest = json.loads((app / "package.json").read_text(encoding="utf-8"))
    for section in ("dependencies", "devDependencies"):  # not the scripts
        digest.update(json.dumps(manifest.get(section, {}), sort_keys=True).encode())
    digest.update(node_version.split(".")[0].encode())
    base = _cache_base()
    target = base / digest.hexdigest()[:16]
    if (target / ".complete").is_file():
        return target / "node_modules"
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="install-", dir=base))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(app / name, staging / name)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed in {staging}:\n{done.stdout}\n{done.stderr}")
        (staging / ".complete").write_text(node_version, encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:  # another process installed it first
            if not (target / ".complete").is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target / "node_modules"


def make_copy(app: Path, dest: Path, node_modules: Path) -> Path:
    shutil.copytree(
        app,
        dest,
        ignore=shutil.ignore_patterns(
            "node_modules", ".vite", ".convex-xray-cache", "*.tsbuildinfo"
        ),
        symlinks=True,
    )
    (dest / "node_modules").symlink_to(node_modules, target_is_directory=True)
    return dest


def _bin(copy: Path, name: str) -> str:
    return str(copy / "node_modules" / ".bin" / name)


def run_spec(copy: Copy, out: Path) -> None:
    env = {**os.environ, "CLUB_HUB_RESULTS": str(out), "NO_COLOR": "1", "FORCE_COLOR": "0"}
    done = subprocess.run(
        [_bin(copy.root, "vitest"), "run", "--reporter=dot"],
        cwd=copy.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    copy.spec_ok = done.returncode == 0
    copy.spec_output = (done.stdout + done.stderr)[-6000:]
    if out.is_file():
        copy.results = json.loads(out.read_text(encoding="utf-8"))["cases"]


def run_tsc(copy: Copy) -> None:
    done = subprocess.run(
        [_bin(copy.root, "tsc"), "--noEmit", "-p", "convex"],
        cwd=copy.root,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    copy.tsc_ok = done.returncode == 0
    copy.tsc_output = (done.stdout + done.stderr)[-6000:]


def _sources(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted((root / "convex").rglob("*.ts"))}


def _syntax_errors(path: Path, data: bytes) -> int:
    return SourceFile(path, data.decode("utf-8", errors="replace"), data=data).error_count()


def check_fixpoint(original: Copy, fixed: Copy, report: Report, *, unsafe: bool) -> None:
    """No file gains a syntax error, and a second `--fix` changes nothing."""
    before, after = _sources(original.root), _sources(fixed.root)
    for path, data in after.items():
        old = before.get(original.root / path.relative_to(fixed.root))
        if _syntax_errors(path, data) > (_syntax_errors(path, old) if old is not None else 0):
            report.problems.append(f"[{fixed.name}] the fixes add a syntax error to {path.name}")
    count = fixed.fixed
    apply_fixes(fixed, unsafe=unsafe)
    again, fixed.fixed = fixed.fixed, count
    changed = sorted(p.name for p, data in _sources(fixed.root).items() if after.get(p) != data)
    if again or changed:
        report.problems.append(
            f"[{fixed.name}] a second --fix is not a no-op: {again} fixes, changed {changed}"
        )


def apply_fixes(copy: Copy, *, unsafe: bool) -> None:
    """The user's path: `convex-xray check <app> --fix [--unsafe-fixes]`."""
    command = [
        sys.executable,
        "-m",
        "convex_xray",
        "check",
        str(copy.root),
        "--fix",
        "--format",
        "json",
    ]
    command += ["--no-cache", "--exit-zero", "--no-progress"]
    if unsafe:
        command.append("--unsafe-fixes")
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"convex-xray --fix failed ({done.returncode}):\n{done.stderr}")
    summary = json.loads(done.stdout).get("summary", {})
    copy.fixed = int(summary.get("fixed", 0))


# ---------------------------------------------------------------------------------------
# What the fixes changed, per function


def _workspace(project: Path) -> tuple[Workspace, Any]:
    config = load_config(find_config(project))
    workspace = Workspace(
        discover_roots(project), options=AnalysisOptions(dict(config.builders)), base=project
    )
    return workspace, config


def _key(convex_dir: Path, path: Path, name: str) -> str:
    module = path.relative_to(convex_dir).with_suffix("").as_posix()
    return f"{module}:{name}"


@dataclass
class FunctionIndex:
    # key -> definition text of each top-level function; "<module>:<top level>" for the rest
    texts: dict[str, str]
    convex: set[str]  # keys that are Convex functions (query, mutation, action, ...)
    callees: dict[str, set[str]]  # key -> helper keys it calls (resolved in the workspace)


def index_functions(project: Path) -> FunctionIndex:
    workspace, _ = _workspace(project)
    convex_dir = (project / "convex").resolve()
    texts: dict[str, str] = {}
    convex: set[str] = set()
    callees: dict[str, set[str]] = defaultdict(set)
    for path in workspace.files():
        model = workspace.model(path)
        source = workspace.source(path)
        if model is None or source is None or not path.is_relative_to(convex_dir):
            continue
        spans: list[tuple[int, int]] = []
        for function in model.functions:
            if function.parent is not None:
                continue
            key = _key(convex_dir, path, function.name)
            texts[key] = source.node_text(function.definition)
            spans.append((function.definition.start_byte, function.definition.end_byte))
            if function.kind.is_convex:
                convex.add(key)
        rest, cursor = [], 0
        for start, end in sorted(spans):
            rest.append(source.slice(cursor, start))
            cursor = end
        rest.append(source.slice(cursor, len(source.data)))
        texts[_key(convex_dir, path, "<top level>")] = "\x00".join(rest)
        for call in model.helper_calls:
            caller = call.function
            while caller is not None and caller.parent is not None:
                caller = caller.parent
            target = workspace.resolve_call(model, call)
            if caller is None or target is None:
                continue
            target_model, target_function = target
            callees[_key(convex_dir, path, caller.name)].add(
                _key(convex_dir, target_model.path, target_function.name)
            )
        # Plain calls too (`extractMentions(text)`): helpers that take no ctx are not
        # helper calls in the model, but a fix inside them changes their callers.
        local = {f.name for f in model.functions if f.parent is None}
        for function in model.functions:
            if function.parent is not None:
                continue
            caller_key = _key(convex_dir, path, function.name)
            for node in _calls(function.definition):
                name = source.node_text(node)
                if name in local and name != function.name:
                    callees[caller_key].add(_key(convex_dir, path, name))
                elif name in model.imports:
                    binding = model.imports[name]
                    target_path = workspace.resolve_module(binding.module, path)
                    if target_path is not None and target_path.is_relative_to(convex_dir):
                        callees[caller_key].add(_key(convex_dir, target_path, binding.imported))
    return FunctionIndex(texts, convex, dict(callees))


def _calls(node: Any) -> Iterable[Any]:
    """The callee identifiers of the plain calls (`f(...)`) under `node`."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "call_expression":
            callee = current.child_by_field_name("function")
            if callee is not None and callee.type == "identifier":
                yield callee
        stack.extend(current.children)


def affected_functions(before: FunctionIndex, after: FunctionIndex) -> tuple[set[str], set[str]]:
    """(every changed key, the Convex functions changed directly or through helpers)."""
    keys = set(before.texts) | set(after.texts)
    changed = {k for k in keys if before.texts.get(k) != after.texts.get(k)}
    affected: set[str] = set()
    for function in before.convex | after.convex:
        seen, stack = set(), [function]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(before.callees.get(current, ()))
            stack.extend(after.callees.get(current, ()))
        if seen & changed:
            affected.add(function)
    return changed, affected


def batch_fetch_sites(project: Path) -> set[str]:
    """Functions holding an n-plus-one-read whose fix is safe (the batch-fetch rewrite)."""
    workspace, config = _workspace(project)
    convex_dir = (project / "convex").resolve()
    result = run_check(workspace, config, select=["n-plus-one-read"])
    sites: set[str] = set()
    for finding in result.findings:
        if finding.fix is None or finding.fix.applicability is not Applicability.SAFE:
            continue
        model = workspace.model(finding.path)
        function = model.function_at(finding.span.start) if model is not None else None
        while function is not None and function.parent is not None:
            function = function.parent
        if function is not None:
            sites.add(_key(convex_dir, finding.path, function.name))
    return sites


def unsafe_fix_rules(project: Path) -> dict[str, set[str]]:
    """Function key -> rules whose unsafe fix edits it (first pass, on `project`)."""
    workspace, config = _workspace(project)
    convex_dir = (project / "convex").resolve()
    rules: dict[str, set[str]] = defaultdict(set)
    for finding in run_check(workspace, config).findings:
        if finding.fix is None or finding.fix.applicability is not Applicability.UNSAFE:
            continue
        for edit in finding.fix.edits:
            model = workspace.model(edit.path)
            if model is None or not edit.path.is_relative_to(convex_dir):
                continue
            function = model.function_at(edit.start)
            while function is not None and function.parent is not None:
                function = function.parent
            name = function.name if function is not None else "<top level>"
            rules[_key(convex_dir, edit.path, name)].add(finding.rule)
    return dict(rules)


def lenient_functions(
    safe: FunctionIndex, unsafe: FunctionIndex, rules: dict[str, set[str]]
) -> dict[str, str]:
    """Functions (Convex or helpers) that unsafe fixes beyond the safe ones changed,
    directly or through helpers, with a rule that may change results (or an unknown one)."""
    keys = set(safe.texts) | set(unsafe.texts)
    changed = {
        k
        for k in keys
        if safe.texts.get(k) != unsafe.texts.get(k) and not k.endswith(":<top level>")
    }
    lenient: dict[str, str] = {}
    for function in keys:
        seen, stack = set(), [function]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(safe.callees.get(current, ()))
            stack.extend(unsafe.callees.get(current, ()))
        responsible: set[str] = set()
        for key in seen & changed:
            responsible |= rules.get(key, {"(a later fix pass)"})
        if responsible - set(RESULT_KEEPING_UNSAFE):
            lenient[function] = ", ".join(sorted(responsible))
    return lenient


# ---------------------------------------------------------------------------------------
# Comparison


def _sum_counts(before: dict[str, Any], after: dict[str, Any]) -> dict[str, FunctionCounts]:
    per_function: dict[str, FunctionCounts] = {}
    for name, old in before.items():
        new = after.get(name)
        if new is None:
            continue
        c = per_function.setdefault(old["fn"], FunctionCounts())
        c.cases += 1
        for metric in ("calls", "waits", "docs"):
            b, a = getattr(c, metric)
            setattr(c, metric, (b + old["counts"][metric], a + new["counts"][metric]))
    return per_function


def compare(
    original: Copy,
    fixed: Copy,
    report: Report,
    *,
    allowed_to_differ: dict[str, str],
    lenient: dict[str, str] | None = None,
) -> None:
    """Results, database states and counts of every case, original vs fixed.

    `allowed_to_differ`: functions whose fix changes the result on purpose.
    `lenient`: functions whose differences are only reported (unsafe fixes that may
    change results), with the rules responsible."""
    label = fixed.name
    lenient = lenient or {}
    if not original.results:
        report.problems.append(
            f"the spec produced no results on the original app:\n{original.spec_output}"
        )
        return
    if not fixed.results:
        report.problems.append(
            f"[{label}] the spec produced no results on the fixed app:\n{fixed.spec_output}"
        )
        return
    if not fixed.spec_ok:
        report.problems.append(f"[{label}] the spec failed on the fixed app:\n{fixed.spec_output}")
    for name, old in original.results.items():
        new = fixed.results.get(name)
        if new is None:
            report.problems.append(f"[{label}] {name}: no result after the fixes")
            continue
        fn = old["fn"]
        if fn in allowed_to_differ:
            if old["outcome"] != new["outcome"] or old.get("state") != new.get("state"):
                report.notes.append(
                    f"[{label}] {name} changed as intended: {allowed_to_differ[fn]}"
                )
            continue
        sink, why = (
            (report.notes, f" (unsafe: {lenient[fn]})") if fn in lenient else (report.problems, "")
        )
        for what, key in (
            ("result", "outcome"),
            ("database state", "state"),
            ("requests", "requests"),
        ):
            if old.get(key) != new.get(key):
                where, before_value, after_value = _first_difference(old.get(key), new.get(key))
                sink.append(
                    f"[{label}] {name}: {what} differs after the fixes{why}, first at {where or '(top)'}\n"
                    f"  before: {_brief(before_value)}\n"
                    f"  after:  {_brief(after_value)}"
                )
                break
        for metric in ("calls", "waits"):
            if new["counts"][metric] > old["counts"][metric]:
                sink.append(
                    f"[{label}] {name}: more {metric} after the fixes "
                    f"({old['counts'][metric]} -> {new['counts'][metric]}){why}"
                )
    report.counts[label] = _sum_counts(original.results, fixed.results)


def _first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two JSON values first differ, and the values there."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key, "<missing>") != b.get(key, "<missing>"):
                return _first_difference(
                    a.get(key, "<missing>"), b.get(key, "<missing>"), f"{path}.{key}"
                )
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path} (length)", len(a), len(b)
    return path, a, b


def _brief(value: Any, limit: int = 600) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "…"


def check_coverage(
    report: Report, label: str, covered: set[str], lenient: dict[str, str] | None = None
) -> None:
    lenient = lenient or {}
    for function in sorted(report.affected.get(label, set())):
        if function in covered:
            continue
        if function in NOT_RUNNABLE:
            report.notes.append(
                f"[{label}] {function} changed but is not run: {NOT_RUNNABLE[function]}"
            )
            continue
        if function in lenient:
            report.notes.append(
                f"[{label}] {function} changed by unsafe fixes ({lenient[function]}); not run"
            )
            continue
        report.problems.append(
            f"[{label}] {function} was changed by the fixes but no case of "
            "examples/club-hub/tests/cases.ts calls it"
        )


def check_batch_fetch(report: Report) -> None:
    counts = report.counts.get("safe", {})
    if not report.batch_fetched:
        report.problems.append(
            "no safe n-plus-one-read fix found in the example app: nothing was proven"
        )
    for function in sorted(report.batch_fetched):
        if function not in report.changed.get("safe", set()):
            report.problems.append(
                f"[safe] {function}: has a safe batch-fetch fix but was not changed"
            )
            continue
        c = counts.get(function)
        if c is None:
            continue  # reported by check_coverage
        if not (c.calls[1] < c.calls[0] or c.waits[1] < c.waits[0]):
            report.problems.append(
                f"[safe] {function}: batch-fetched but neither fewer calls ({_arrow(c.calls)}) "
                f"nor fewer sequential waits ({_arrow(c.waits)})"
            )


# ---------------------------------------------------------------------------------------


def run(app: Path = APP, *, workdir: Path | None = None, unsafe: bool = True) -> Report:
    report = Report()
    node_modules = install_node_modules(app)
    owned = workdir is None
    base = Path(tempfile.mkdtemp(prefix="club-hub-equivalence-")) if workdir is None else workdir
    try:
        names = ["original", "safe", *(["unsafe"] if unsafe else [])]
        copies = {
            name: Copy(name, make_copy(app, base / name / "club-hub", node_modules))
            for name in names
        }
        original = copies["original"]
        report.batch_fetched = batch_fetch_sites(original.root)
        before = index_functions(original.root)
        indexes: dict[str, FunctionIndex] = {"original": before}
        lenient: dict[str, str] = {}
        unsafe_rules: dict[str, set[str]] = {}

        # The original's spec runs while the fixes are applied and typechecked (2 cores).
        with ThreadPoolExecutor(max_workers=2) as pool:
            spec = pool.submit(run_spec, original, base / "original.json")
            for name in names[1:]:
                copy = copies[name]
                if name == "unsafe":
                    # Which unsafe fixes touch which functions, seen on the safe result.
                    unsafe_rules = unsafe_fix_rules(copies["safe"].root)
                apply_fixes(copy, unsafe=name == "unsafe")
                report.fixed[name] = copy.fixed
                check_fixpoint(original, copy, report, unsafe=name == "unsafe")
                indexes[name] = index_functions(copy.root)
                report.changed[name], report.affected[name] = affected_functions(
                    before, indexes[name]
                )
            if unsafe:
                lenient = lenient_functions(indexes["safe"], indexes["unsafe"], unsafe_rules)
            spec.result()
            checks = [pool.submit(run_tsc, copies[name]) for name in names[1:]]
            for name in names[1:]:
                run_spec(copies[name], base / f"{name}.json")
            for check in checks:
                check.result()

        report.cases = len(original.results)
        if not original.spec_ok:
            report.problems.append(f"the spec fails on the original app:\n{original.spec_output}")
        covered = {record["fn"] for record in original.results.values()}
        for name in names[1:]:
            copy = copies[name]
            if name == "safe":
                compare(original, copy, report, allowed_to_differ=SAFE_CHANGES_RESULT)
            else:
                compare(
                    original, copy, report, allowed_to_differ=UNSAFE_CHANGES_RESULT, lenient=lenient
                )
            check_coverage(report, name, covered, lenient if name == "unsafe" else None)
            if not copy.tsc_ok:
                run_tsc(original)
                baseline = "" if original.tsc_ok else " (the original does not typecheck either)"
                report.problems.append(
                    f"[{name}] tsc --noEmit -p convex fails{baseline}:\n{copy.tsc_output}"
                )
        check_batch_fetch(report)
    finally:
        if owned:
            shutil.rmtree(base, ignore_errors=True)
    return report


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the copies")
    parser.add_argument("--safe-only", action="store_true", help="skip the --unsafe-fixes copy")
    parser.add_argument("--json", type=Path, help="also write the per-function counts as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)
    missing = missing_node_tools()
    if missing:
        print(f"cannot run: {missing}", file=sys.stderr)
        return 2
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    report = run(workdir=args.keep, unsafe=not args.safe_only)
    print(report.text())
    if args.json:
        data = {
            copy: {
                fn: {"cases": c.cases, "calls": c.calls, "waits": c.waits, "docs": c.docs}
                for fn, c in counts.items()
            }
            for copy, counts in report.counts.items()
        }
        args.json.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
