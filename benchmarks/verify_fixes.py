"""Do convex-xray's fixes keep an app type-correct? Apply them to a copy and ask TypeScript.

For each app directory (an app root plus its Convex dir(s)) this script

1. copies the app to a temporary folder (the original is never written);
2. links `node_modules` from a scratch npm folder prepared once and cached outside the repo
   (`npm install typescript@5.9 convex @types/node`), so `convex/server` and `convex/values`
   resolve; the app's other dependencies stay missing and show up as the same errors before
   and after, unless `--app-deps` installs the ones its Convex code imports (a package the
   schema spreads tables from types the whole data model);
3. type-checks every Convex dir (`tsc --noEmit -p <dir>/tsconfig.json`, or the app's own
   tsconfig above it when the dir has none), writing Convex's default tsconfig where there is
   neither and a typed `_generated/` stub where codegen output is missing;
4. records the fixes offered (`check --format json`) and applies them
   (`check --fix --unsafe-fixes`);
5. type-checks again and keeps only the NEW errors, keyed by (file, code, message) because
   lines move; each is attributed to the fix kind whose edit is near it;
6. re-runs the check (no rule's count may grow, no new error-tier finding) and applies the
   fixes a second time (it must change nothing);
7. prints a per-app and a per-fix-kind table and writes a JSON result file.

Stdlib only. See benchmarks/README.md ("Fix verification") for usage and what each column means.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NPM_PACKAGES = ("typescript@5.9", "convex", "@types/node")
_BASE_NAMES = frozenset({"typescript", "convex", "@types/node"})
SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
# An error this many lines from an edited region is still blamed on that edit: fixes add
# helper declarations just above the code they rewrite.
NEAR_LINES = 3

# Convex's generated convex/tsconfig.json (`npx convex dev` writes it), for a Convex dir with
# none, and a typed stand-in for missing `_generated/` codegen output: `api`/`internal` stay
# loose (their exact shape needs every module's types), but the data model comes from the
# schema, so `Id<"table">`, `Doc<"table">` and index names in `withIndex` are checked.
STUBS = Path(__file__).resolve().parent / "verify_fixes_stubs"

TSC_LINE = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$"
)
TSC_GLOBAL = re.compile(r"^error (?P<code>TS\d+): (?P<msg>.*)$")
BACKTICKED = re.compile(r"`([^`]*)`")


@dataclass
class TsError:
    file: str
    line: int
    code: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.file, self.code, self.message)


@dataclass
class Hunk:
    """One changed region of a file: original lines [a1, a2), fixed lines [b1, b2) (0-based)."""

    a1: int
    a2: int
    b1: int
    b2: int
    kinds: set[str] = field(default_factory=set)


def fix_kind(rule: str, title: str, applicability: str) -> str:
    """Group fixes by what they do: names (identifiers, files) in the title become `…`."""

    def generic(match: re.Match[str]) -> str:
        text = match.group(1)
        if re.fullmatch(r"[\w$.\-/]+", text) and not text.startswith("."):
            return "`…`"
        return match.group(0)

    title = re.sub(r"\bin \d+ quer(?:y|ies)\b", "in N queries", BACKTICKED.sub(generic, title))
    return f"{rule}: {title} [{applicability}]"


# ---------------------------------------------------------------------------------------
# Setup: the npm scratch folder, the copy, tsconfig and _generated stubs


def cache_dir(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "convex-xray-verify"


def node_tools_missing() -> str | None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return ", ".join(missing) + " not found" if missing else None


def prepare_npm(cache: Path, log) -> Path:
    """Install the type-checking packages once; return the `node_modules` to link."""
    modules = cache / "node_modules"
    marker = cache / ".installed"
    wanted = " ".join(NPM_PACKAGES)
    if marker.is_file() and marker.read_text() == wanted and (modules / ".bin" / "tsc").exists():
        return modules
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "package.json").is_file():
        (cache / "package.json").write_text('{"name": "convex-xray-verify", "private": true}\n')
    log(f"installing {wanted} into {cache} (once)")
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm install failed in {cache}:\n{done.stdout}\n{done.stderr}")
    marker.write_text(wanted)
    return modules


# A module specifier in an import, an export-from, a dynamic import or a require call.
_SPECIFIER = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"'\n]+)["']"""
)
# Version specs npm cannot fetch from the registry (a monorepo's own packages, local paths, git).
_NOT_FROM_REGISTRY = re.compile(r"^(?:workspace|file|link|portal|catalog|git|github|https?):|^[./~]")
_DEPENDENCY_FIELDS = ("optionalDependencies", "devDependencies", "dependencies")


def package_name(specifier: str) -> str | None:
    """The npm package a bare specifier imports (`@convex-dev/auth/server` -> `@convex-dev/auth`,
    `lodash/fp` -> `lodash`); None for relative paths, Node built-ins written `node:…`, and
    tsconfig path aliases (`@/x`, `~/x`)."""
    if specifier.startswith((".", "/", "node:", "~", "#")) or specifier.startswith("@/"):
        return None
    parts = specifier.split("/")
    if specifier.startswith("@"):
        return "/".join(parts[:2]) if len(parts) > 1 and parts[1] else None
    return parts[0] or None


def app_dependencies(root: Path, dirs: list[Path]) -> dict[str, str]:
    """The npm packages the Convex dirs' code imports, at the version specs the app declares
    (`package.json` files from each Convex dir up to the app root, the nearest winning), plus
    each one's declared `@types/…` package. `convex`, `typescript` and `@types/node` are
    installed for every app; a package the app does not declare (an alias, a built-in) or
    declares from outside the registry (`workspace:*`, `file:`) is left out."""
    declared: dict[str, str] = {}
    for convex in dirs:
        directory = root / convex
        chain = []
        while True:
            chain.append(directory / "package.json")
            if directory == root or root not in directory.parents:
                break
            directory = directory.parent
        for manifest in reversed(chain):  # the app root first: nearer ones override it
            if not manifest.is_file():
                continue
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for field_name in _DEPENDENCY_FIELDS:
                entries = data.get(field_name)
                if isinstance(entries, dict):
                    declared.update({k: v for k, v in entries.items() if isinstance(v, str)})
    imported: set[str] = set()
    for convex in dirs:
        for dirpath, dirnames, files in os.walk(root / convex):
            dirnames[:] = [d for d in dirnames if d not in ("node_modules", "_generated", ".git")]
            for name in files:
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                text = (Path(dirpath) / name).read_text(encoding="utf-8", errors="replace")
                for match in _SPECIFIER.finditer(text):
                    package = package_name(match.group(1))
                    if package is not None:
                        imported.add(package)
    wanted: dict[str, str] = {}
    for package in sorted(imported):
        types = "@types/" + package.lstrip("@").replace("/", "__")
        for name in (package, types):
            spec = declared.get(name)
            if name in _BASE_NAMES or spec is None or _NOT_FROM_REGISTRY.match(spec):
                continue
            wanted[name] = spec
    return wanted


def prepare_app_npm(cache: Path, packages: dict[str, str], log) -> Path:
    """Install the base packages plus an app's own (`app_dependencies`) into a folder of the
    cache keyed by that set, once; return the `node_modules` to link."""
    specs = [*NPM_PACKAGES, *(f"{name}@{spec}" for name, spec in sorted(packages.items()))]
    wanted = " ".join(specs)
    folder = cache / "apps" / hashlib.sha256(wanted.encode()).hexdigest()[:16]
    modules = folder / "node_modules"
    marker = folder / ".installed"
    if marker.is_file() and marker.read_text() == wanted and (modules / ".bin" / "tsc").exists():
        return modules
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"name": "convex-xray-verify-app", "private": true}\n')
    log(f"installing the app's packages into {folder} (once): {wanted}")
    # No install scripts (only types are needed); an app's peer ranges may disagree with the
    # base packages' versions, which does not matter to tsc.
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--ignore-scripts",
         "--legacy-peer-deps", *specs],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm install failed in {folder}:\n{done.stdout}\n{done.stderr}")
    marker.write_text(wanted)
    return modules


def find_convex_dirs(root: Path) -> list[Path]:
    """Directories named `convex` with a schema or codegen output, outermost first."""
    found: list[Path] = []
    for dirpath, dirnames, _files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", "_generated", ".git"))
        here = Path(dirpath)
        looks_like_convex = (here / "schema.ts").is_file() or (here / "_generated").is_dir()
        if (
            here.name == "convex"
            and looks_like_convex
            and not any(p in found for p in here.parents)
        ):
            found.append(here)
    return [p.relative_to(root) for p in found]


def copy_app(root: Path, dest: Path) -> None:
    shutil.copytree(
        root,
        dest,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            "node_modules", ".convex-xray-cache", "*.tsbuildinfo", ".git"
        ),
    )


def app_tsconfig(root: Path, convex: Path) -> Path | None:
    """The app's own tsconfig for a Convex dir without one: the nearest `tsconfig.json` above it
    (up to the app root) that does not exclude it. Next.js apps keep one at the root, with the
    path aliases (`~/convex/...`, `@/...`) their Convex code imports through; Convex's default
    tsconfig would leave those imports unresolved, and everything they type `any`."""
    directory = convex.parent
    while True:
        candidate = directory / "tsconfig.json"
        if candidate.is_file():
            text = candidate.read_text(encoding="utf-8", errors="replace")
            exclude = re.search(r'"exclude"\s*:\s*\[([^\]]*)\]', text)
            if exclude is None or convex.name not in exclude.group(1):
                return candidate
        if directory == root or root not in directory.parents:
            return None
        directory = directory.parent


def tsconfig_of(root: Path, convex: Path) -> Path:
    """The tsconfig a Convex dir is checked with: its own, else the app's, else the default
    `prepare_convex_dir` wrote."""
    own = convex / "tsconfig.json"
    if own.is_file():
        return own
    return app_tsconfig(root, convex) or own


def prepare_convex_dir(convex: Path, root: Path | None = None) -> list[str]:
    """Write what a Convex dir needs to type-check alone; return what was written. With no
    `root`, a dir without a tsconfig gets Convex's default even when the app has its own."""
    written = []
    if not (convex / "tsconfig.json").is_file() and (
        root is None or app_tsconfig(root, convex) is None
    ):
        shutil.copyfile(STUBS / "tsconfig.json", convex / "tsconfig.json")
        written.append("tsconfig.json")
    generated = convex / "_generated"
    data_model = "dataModel.d.ts" if (convex / "schema.ts").is_file() else "dataModel.noschema.d.ts"
    stubs = {"dataModel.d.ts": data_model, "server.d.ts": "server.d.ts", "api.d.ts": "api.d.ts"}
    for name, stub in stubs.items():
        if (
            not (generated / name).is_file()
            and not (generated / name.replace(".d.ts", ".ts")).is_file()
        ):
            generated.mkdir(exist_ok=True)
            shutil.copyfile(STUBS / stub, generated / name)
            written.append(f"_generated/{name}")
    return written


# ---------------------------------------------------------------------------------------
# Running tsc and convex-xray


def run_tsc(tsc: Path, root: Path, convex: Path, timeout: int) -> tuple[list[TsError], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(tsc), "--noEmit", "--pretty", "false", "-p", str(tsconfig_of(root, convex))],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    errors: list[TsError] = []
    for raw in done.stdout.splitlines():
        match = TSC_LINE.match(raw)
        if match:
            path = Path(match["file"])
            rel = (root / path).resolve() if not path.is_absolute() else path.resolve()
            try:
                name = rel.relative_to(root.resolve()).as_posix()
            except ValueError:
                name = match["file"]
            errors.append(TsError(name, int(match["line"]), match["code"], match["msg"]))
        elif (match := TSC_GLOBAL.match(raw)) is not None:
            errors.append(TsError("", 0, match["code"], match["msg"]))
        elif raw.startswith(" ") and errors:
            # Continuation lines of a multi-line message belong to its key.
            errors[-1].message += "\n" + raw.strip()
    return errors, time.perf_counter() - started


def xray_command(explicit: str | None) -> list[str]:
    if explicit:
        return explicit.split()
    env = os.environ.get("CONVEX_XRAY_CMD")
    if env:
        return env.split()
    local = REPO / ".venv" / "bin" / "convex-xray"
    if local.exists():
        return [str(local)]
    found = shutil.which("convex-xray")
    return [found] if found else [sys.executable, "-m", "convex_xray"]


def run_xray(
    xray: list[str], root: Path, dirs: list[Path], *, fix: bool, select: str | None = None
) -> dict[str, Any]:
    command = [
        *xray,
        "check",
        *map(str, dirs),
        "--format",
        "json",
        "--no-cache",
        "--no-progress",
        "--exit-zero",
    ]
    if fix:
        command += ["--fix", "--unsafe-fixes"]
    if select:
        command += ["--select", select]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    report = json.loads(done.stdout)
    for diagnostic in report["diagnostics"]:
        diagnostic["path"] = _relative(diagnostic["path"], root)
        for edit in (diagnostic.get("fix") or {}).get("edits", []):
            edit["path"] = _relative(edit["path"], root)
    return report


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def snapshot(root: Path, dirs: list[Path]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for convex in dirs:
        for path in sorted((root / convex).rglob("*")):
            if (
                path.is_file()
                and path.suffix in SOURCE_SUFFIXES
                and "node_modules" not in path.parts
            ):
                texts[path.relative_to(root).as_posix()] = path.read_text(
                    encoding="utf-8", errors="replace"
                )
    return texts


# ---------------------------------------------------------------------------------------
# Attribution: which fix kind made which change


def changed_hunks(before: dict[str, str], after: dict[str, str]) -> dict[str, list[Hunk]]:
    hunks: dict[str, list[Hunk]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, ""), after.get(name, "")
        if old == new:
            continue
        matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
        hunks[name] = [
            Hunk(a1, a2, b1, b2) for tag, a1, a2, b1, b2 in matcher.get_opcodes() if tag != "equal"
        ]
    return hunks


def label_hunks(hunks: dict[str, list[Hunk]], report: dict[str, Any]) -> Counter[str]:
    """Tag each hunk with the kinds of offered fixes whose edits fall in it; count applied fixes.

    A fix counts as applied when one of its edits lies in a changed region. Changes no
    offered fix explains come from a later pass of the fixpoint (fixes offered only once
    earlier ones were applied) and are tagged `(later pass)`."""
    applied: Counter[str] = Counter()
    for diagnostic in report["diagnostics"]:
        fix = diagnostic.get("fix")
        if not fix or not fix.get("edits"):
            continue
        kind = fix_kind(diagnostic["rule"], fix["title"], fix["applicability"])
        hit = False
        for edit in fix["edits"]:
            first, last = edit["line"] - 1, edit["end_line"] - 1
            for hunk in hunks.get(edit["path"], []):
                # An insertion hunk (a1 == a2) sits between lines a1-1 and a1.
                if first <= max(hunk.a2 - 1, hunk.a1) and last >= hunk.a1 - (
                    1 if hunk.a1 == hunk.a2 else 0
                ):
                    hunk.kinds.add(kind)
                    hit = True
        if hit:
            applied[kind] += 1
    for file_hunks in hunks.values():
        for hunk in file_hunks:
            if not hunk.kinds:
                hunk.kinds.add("(later pass)")
    return applied


def blame(line: int, name: str, hunks: dict[str, list[Hunk]]) -> set[str]:
    """Fix kinds to blame for something at `line` (1-based) of the fixed `name`."""
    index = line - 1
    inside = {k for h in hunks.get(name, []) if h.b1 <= index < h.b2 for k in h.kinds}
    if inside:
        return inside
    near = {
        k
        for h in hunks.get(name, [])
        if h.b1 - NEAR_LINES <= index < h.b2 + NEAR_LINES
        for k in h.kinds
    }
    if near:
        return near
    if name in hunks:
        return {k for h in hunks[name] for k in h.kinds}
    # An untouched file can break through a schema change (a removed or renamed index).
    schema = {
        k
        for n, hs in hunks.items()
        if n.endswith("schema.ts") or "/schema/" in n
        for h in hs
        for k in h.kinds
    }
    return schema or {"(unattributed)"}


# ---------------------------------------------------------------------------------------
# One app


def finding_key(diagnostic: dict[str, Any]) -> tuple[str, str, str]:
    # Messages name lines ("for-of, line 268"), and fixes move lines.
    return (
        diagnostic["path"],
        diagnostic["rule"],
        re.sub(r"\bline \d+", "line N", diagnostic["message"]),
    )


def fresh_copy(
    app: Path, work: Path, dirs: list[Path], modules: Path, *, app_config: bool = True
) -> tuple[Path, dict[str, list[str]]]:
    root = work / app.name
    copy_app(app, root)
    if not (root / "node_modules").exists():
        (root / "node_modules").symlink_to(modules, target_is_directory=True)
    owner = root if app_config else None
    return root, {str(d): prepare_convex_dir(root / d, owner) for d in dirs}


def type_check(
    tsc: Path, root: Path, dirs: list[Path], timeout: int
) -> tuple[list[TsError], float]:
    errors: list[TsError] = []
    seconds = 0.0
    for convex in dirs:
        found, took = run_tsc(tsc, root, root / convex, timeout)
        errors += found
        seconds += took
    return errors, seconds


def isolate_rules(
    app: Path,
    dirs: list[Path],
    rules: list[str],
    before: list[TsError],
    *,
    tsc: Path,
    modules: Path,
    xray: list[str],
    timeout: int,
    log,
    app_config: bool = True,
) -> dict[str, dict[str, Any]]:
    """Apply one rule's fixes at a time to a fresh copy: blame without neighbours' edits.

    (`--select` runs only that rule, so a schema plan that other rules' fixes would share
    is planned for this rule alone.)"""
    out: dict[str, dict[str, Any]] = {}
    for rule in rules:
        work = Path(tempfile.mkdtemp(prefix="convex-xray-isolate-"))
        try:
            root, _ = fresh_copy(app, work, dirs, modules, app_config=app_config)
            log(f"{app.name}: only {rule}")
            report = run_xray(xray, root, dirs, fix=True, select=rule)
            after, _ = type_check(tsc, root, dirs, timeout)
            new = Counter(e.key for e in after) - Counter(e.key for e in before)
            codes: Counter[str] = Counter()
            for (_file, code, _message), n in new.items():
                codes[code] += n
            out[rule] = {
                "applied": report["summary"].get("fixed"),
                "new_type_errors": sum(new.values()),
                "codes": dict(codes.most_common()),
                "errors": [{"file": f, "code": c, "message": m} for (f, c, m) in new],
            }
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


def verify_app(
    app: Path,
    dirs: list[Path],
    *,
    tsc: Path,
    modules: Path,
    xray: list[str],
    keep: bool,
    timeout: int,
    log,
    isolate: bool = False,
    app_config: bool = True,
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="convex-xray-verify-"))
    try:
        root, written = fresh_copy(app, work, dirs, modules, app_config=app_config)
        log(f"{app.name}: type-checking before")
        before_errors, tsc_seconds = type_check(tsc, root, dirs, timeout)
        offered = run_xray(xray, root, dirs, fix=False)
        original = snapshot(root, dirs)
        log(f"{app.name}: applying fixes")
        fixed_report = run_xray(xray, root, dirs, fix=True)
        fixed = snapshot(root, dirs)
        hunks = changed_hunks(original, fixed)
        applied = label_hunks(hunks, offered)
        log(f"{app.name}: type-checking after")
        after_errors, _ = type_check(tsc, root, dirs, timeout)
        new_keys = Counter(e.key for e in after_errors) - Counter(e.key for e in before_errors)
        new_errors = []
        remaining = Counter(new_keys)
        for error in after_errors:
            if remaining[error.key] > 0:
                remaining[error.key] -= 1
                kinds = (
                    sorted(blame(error.line, error.file, hunks))
                    if error.file
                    else ["(unattributed)"]
                )
                new_errors.append(
                    {
                        "file": error.file,
                        "line": error.line,
                        "code": error.code,
                        "message": error.message,
                        "kinds": kinds,
                    }
                )
        log(f"{app.name}: re-checking and fixing again")
        rechecked = run_xray(xray, root, dirs, fix=False)
        rules_before = Counter(d["rule"] for d in offered["diagnostics"])
        rules_after = Counter(d["rule"] for d in rechecked["diagnostics"])
        grown = {
            r: [rules_before[r], rules_after[r]]
            for r in sorted(rules_after)
            if rules_after[r] > rules_before[r]
        }
        old_findings = Counter(finding_key(d) for d in offered["diagnostics"])
        new_findings = []
        for diagnostic in rechecked["diagnostics"]:
            key = finding_key(diagnostic)
            if old_findings[key] > 0:
                old_findings[key] -= 1
                continue
            new_findings.append(
                {
                    "file": diagnostic["path"],
                    "line": diagnostic["line"],
                    "rule": diagnostic["rule"],
                    "severity": diagnostic["severity"],
                    "message": diagnostic["message"],
                    "kinds": sorted(blame(diagnostic["line"], diagnostic["path"], hunks)),
                }
            )
        second_report = run_xray(xray, root, dirs, fix=True)
        second = snapshot(root, dirs)
        second_hunks = changed_hunks(fixed, second)
        label_hunks(second_hunks, rechecked)
        not_idempotent = sorted({k for hs in second_hunks.values() for h in hs for k in h.kinds})
        offered_kinds = Counter(
            fix_kind(d["rule"], d["fix"]["title"], d["fix"]["applicability"])
            for d in offered["diagnostics"]
            if d.get("fix")
        )
        return {
            "app": app.name,
            "convex_dirs": [str(d) for d in dirs],
            "written": {k: v for k, v in written.items() if v},
            "tsconfig": {
                str(d): tsconfig_of(root, root / d).relative_to(root).as_posix() for d in dirs
            },
            "files": len(original),
            "tsc_seconds": round(tsc_seconds, 1),
            "tsc_errors_before": len(before_errors),
            "tsc_errors_after": len(after_errors),
            "fixes_offered": sum(offered_kinds.values()),
            "fixes_applied_reported": fixed_report["summary"].get("fixed"),
            "files_changed": len(hunks),
            "offered": dict(offered_kinds),
            "applied": dict(applied),
            "later_pass_hunks": sum(
                1 for hs in hunks.values() for h in hs if "(later pass)" in h.kinds
            ),
            "new_type_errors": new_errors,
            "rules_before": dict(rules_before),
            "rules_after": dict(rules_after),
            "rules_grown": grown,
            "new_findings": new_findings,
            "new_error_findings": [f for f in new_findings if f["severity"] == "error"],
            "second_fix_applied": second_report["summary"].get("fixed"),
            "second_fix_changed_files": sorted(second_hunks),
            "not_idempotent_kinds": not_idempotent,
            "idempotent": not second_hunks,
            "kept_copy": str(root) if keep else None,
            "isolated": isolate_rules(
                app,
                dirs,
                sorted({kind.split(":")[0] for kind in applied}),
                before_errors,
                tsc=tsc,
                modules=modules,
                xray=xray,
                timeout=timeout,
                log=log,
                app_config=app_config,
            )
            if isolate
            else {},
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Tables


def per_kind(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds: dict[str, dict[str, Any]] = {}

    def row(kind: str) -> dict[str, Any]:
        return kinds.setdefault(
            kind,
            {
                "offered": 0,
                "applied": 0,
                "new_type_errors": 0,
                "new_findings": 0,
                "new_error_findings": 0,
                "idempotent": True,
                "codes": Counter(),
            },
        )

    for result in results:
        for kind, n in result["offered"].items():
            row(kind)["offered"] += n
        for kind, n in result["applied"].items():
            row(kind)["applied"] += n
        for error in result["new_type_errors"]:
            for kind in error["kinds"]:
                row(kind)["new_type_errors"] += 1
                row(kind)["codes"][error["code"]] += 1
        for finding in result["new_findings"]:
            for kind in finding["kinds"]:
                row(kind)["new_findings"] += 1
                row(kind)["new_error_findings"] += finding["severity"] == "error"
        for kind in result["not_idempotent_kinds"]:
            row(kind)["idempotent"] = False
    for value in kinds.values():
        value["codes"] = dict(value["codes"].most_common())
    return kinds


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| app | files | fixes offered | applied (CLI count) | files changed | tsc errors before | new type errors | rules grown | new findings (error-tier) | idempotent |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in results:
        grown = ", ".join(f"{k} {a}→{b}" for k, (a, b) in r["rules_grown"].items()) or "none"
        # An app's own `@ts-expect-error` the fixes left with nothing to expect (TS2578) is a new
        # error tsc reports (the build fails), counted with the rest; shown apart, because it
        # means a type got better, not worse.
        unused = sum(1 for e in r["new_type_errors"] if e["code"] == "TS2578")
        new_errors = f"{len(r['new_type_errors'])}" + (f" (of which {unused} TS2578)" if unused else "")
        lines.append(
            f"| {r['app']} | {r['files']} | {r['fixes_offered']} | {r['fixes_applied_reported']} | {r['files_changed']} "
            f"| {r['tsc_errors_before']} | {new_errors} | {grown} "
            f"| {len(r['new_findings'])} ({len(r['new_error_findings'])}) | {'yes' if r['idempotent'] else 'NO'} |"
        )
    lines += [
        "",
        "| fix kind | offered | applied | new type errors (codes) | new findings (error-tier) | idempotent |",
        "|---|---:|---:|---|---:|---|",
    ]
    kinds = per_kind(results)
    order = sorted(
        kinds,
        key=lambda k: (
            -kinds[k]["new_type_errors"],
            -kinds[k]["new_findings"],
            -kinds[k]["applied"],
            k,
        ),
    )
    for kind in order:
        v = kinds[kind]
        codes = ", ".join(f"{c} x{n}" for c, n in v["codes"].items())
        errors = f"{v['new_type_errors']}" + (f" ({codes})" if codes else "")
        name = kind.replace("|", "\\|")
        lines.append(
            f"| {name} | {v['offered']} | {v['applied']} | {errors} "
            f"| {v['new_findings']} ({v['new_error_findings']}) | {'yes' if v['idempotent'] else 'NO'} |"
        )
    isolated: dict[str, dict[str, Any]] = {}
    for r in results:
        for rule, v in r.get("isolated", {}).items():
            row = isolated.setdefault(rule, {"apps": 0, "applied": 0, "new": 0, "codes": Counter()})
            row["apps"] += 1
            row["applied"] += v["applied"] or 0
            row["new"] += v["new_type_errors"]
            row["codes"].update(v["codes"])
    if isolated:
        lines += [
            "",
            "One rule's fixes at a time (`--isolate`: `--select <rule> --fix --unsafe-fixes` on a fresh copy):",
            "",
            "| rule | apps | fixes applied (CLI count) | new type errors (codes) |",
            "|---|---:|---:|---|",
        ]
        for rule in sorted(isolated, key=lambda k: (-isolated[k]["new"], k)):
            v = isolated[rule]
            codes = ", ".join(f"{c} x{n}" for c, n in v["codes"].most_common())
            errors = f"{v['new']}" + (f" ({codes})" if codes else "")
            lines.append(f"| {rule} | {v['apps']} | {v['applied']} | {errors} |")
    return "\n".join(lines) + "\n"


def write_results(
    args: argparse.Namespace, xray: list[str], results: list[dict[str, Any]], *, quiet: bool = False
) -> None:
    table = markdown(results)
    if not quiet:
        print(table)
    payload = {
        "xray": xray,
        "packages": list(NPM_PACKAGES),
        "results": results,
        "kinds": per_kind(results),
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apps", nargs="+", type=Path, help="app root directories")
    parser.add_argument(
        "--convex-dir",
        action="append",
        default=[],
        help="Convex dir relative to every app root (repeatable; default: found)",
    )
    parser.add_argument(
        "--corpus-json",
        type=Path,
        help="corpus.json: take each app's Convex dirs from its entry (matched by owner+name)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("verify-fixes.json"), help="JSON result file"
    )
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--cache", type=Path, help="scratch npm folder (default ~/.cache/convex-xray-verify)"
    )
    parser.add_argument("--xray", help="command that runs convex-xray (default: the repo's .venv)")
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="also apply each rule's fixes alone to a fresh copy and type-check (exact blame)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the fixed copies (paths in the JSON)"
    )
    parser.add_argument("--tsc-timeout", type=int, default=1200, help="seconds per tsc run")
    parser.add_argument(
        "--convex-default-tsconfig",
        action="store_true",
        help="check a Convex dir without its own tsconfig with Convex's default one, even when "
        "the app has a tsconfig above it (runs 1-5 did)",
    )
    parser.add_argument(
        "--app-deps",
        action="store_true",
        help="also install the npm packages the app's Convex code imports, at the versions its "
        "package.json declares, so tsc sees the app's real types (a schema that spreads tables "
        "from a package, `...authTables`, is `any` without it)",
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[verify-fixes] {message}", file=sys.stderr, flush=True)

    missing = node_tools_missing()
    if missing:
        parser.error(f"needs Node.js and npm: {missing}")
    modules = prepare_npm(cache_dir(args.cache), log)
    tsc = modules / ".bin" / "tsc"
    xray = xray_command(args.xray)
    corpus = {}
    if args.corpus_json:
        corpus = {
            e["repo"].replace("/", "+"): e["convex_dirs"]
            for e in json.loads(args.corpus_json.read_text())
        }
    results = []
    for app in args.apps:
        app = app.resolve()
        if args.convex_dir:
            dirs = [Path(d) for d in args.convex_dir]
        elif app.name in corpus:
            dirs = [Path(d) for d in corpus[app.name] if (app / d).is_dir()]
        else:
            dirs = find_convex_dirs(app)
        if not dirs:
            log(f"{app}: no Convex dir found; skipped")
            continue
        app_modules = modules
        packages: dict[str, str] | None = None
        install_error = None
        if args.app_deps:
            packages = app_dependencies(app, dirs)
            if packages:
                try:
                    app_modules = prepare_app_npm(cache_dir(args.cache), packages, log)
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
                    install_error = str(error).splitlines()[0]
                    log(f"{app.name}: {install_error}; checked with the base packages only")
        result = verify_app(
            app,
            dirs,
            tsc=tsc,
            modules=app_modules,
            xray=xray,
            keep=args.keep,
            timeout=args.tsc_timeout,
            log=log,
            isolate=args.isolate,
            app_config=not args.convex_default_tsconfig,
        )
        if packages is not None:
            result["app_packages"] = packages
            result["app_packages_installed"] = bool(packages) and install_error is None
            result["app_packages_error"] = install_error
        results.append(result)
        # Written after every app, so a long run's finished apps survive an interruption.
        write_results(args, xray, results, quiet=True)
    write_results(args, xray, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
