"""Finding the Convex code of a project: functions directories and local components.

Run from any directory, a user expects every Convex backend below it to be checked, and
nothing else: not the Convex library's own source, not `node_modules`, not a vendored test
suite. Each root found carries why it was taken, so the report can say what it checked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from convex_xray.engine.source import is_source_path

SKIP_DIRS = frozenset({"node_modules", "_generated", ".git", "dist", "build", ".next", ".turbo", ".vercel", "coverage", ".convex-xray-cache"})
# Copies of someone else's code: never the user's backend, whatever they contain.
VENDOR_DIRS = frozenset({"vendor", "vendored", "third_party", "third-party"})
# Packages whose own sources hold `convex/` folders that are not an app (the Convex library,
# its test harness).
LIBRARY_PACKAGES = frozenset({"convex", "convex-test"})
SCHEMA_NAMES = ("schema.ts", "schema.js", "schema.mts", "schema.mjs")
CONFIG_NAMES = ("convex.config.ts", "convex.config.js", "convex.config.mts", "convex.config.mjs")
MAX_DEPTH = 8
# What Convex function code looks like: a builder call, a schema, or an import of the
# generated API. Only a few files are read to decide (shape, not proof).
_SHAPE = re.compile(
    rb"\b(?:query|mutation|action|internalQuery|internalMutation|internalAction|httpAction|httpRouter|cronJobs|defineSchema|defineTable)\s*[(<]|_generated/|\bctx\.(?:db|run\w+|scheduler)\b"
)
_SHAPE_FILES = 40
_IMPORT = re.compile(r"""import\s+(\w+)\s+from\s+["']([^"']+)["']""")
_USE = re.compile(r"""\.use\(\s*(\w+)""")


@dataclass(frozen=True)
class FoundRoot:
    """A directory whose files are checked together, and why it was taken."""

    path: Path
    kind: str  # "app" or "component"
    reason: str


def _strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (tsconfig.json, convex.json) -> JSON."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end == -1 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        else:
            out.append(c)
        i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def read_jsonc(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    try:
        # Most of these files (every package.json) are plain JSON: parsed in C, without the
        # character-by-character comment stripping (a large package.json cost milliseconds).
        data = json.loads(text)
    except ValueError:
        try:
            data = json.loads(_strip_jsonc(text))
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def walk_dirs(top: Path, max_depth: int) -> Iterator[Path]:
    """Directories under `top`, parents before children (not following symlinks, so loops
    are harmless)."""
    stack = [(top, 0)]
    while stack:
        directory, depth = stack.pop()
        yield directory
        if depth >= max_depth:
            continue
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.name in SKIP_DIRS or entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), depth + 1))
            except OSError:
                continue


def functions_dir(project: Path) -> tuple[Path, bool]:
    """The functions directory a project declares, and whether `convex.json` named it."""
    config = read_jsonc(project / "convex.json")
    if config and isinstance(config.get("functions"), str):
        return (project / config["functions"]).resolve(), True
    return project / "convex", False


def looks_like_root(directory: Path) -> bool:
    return any((directory / name).is_file() for name in SCHEMA_NAMES) or (directory / "_generated").is_dir()


def looks_like_candidate(directory: Path) -> bool:
    """A folder the walk might take as a root (only those are asked whether they are a test
    suite, so ordinary folders cost no extra reads)."""
    return directory.name == "convex" or looks_like_root(directory) or config_file(directory) is not None or (directory / "convex.json").is_file()


def config_file(directory: Path) -> Path | None:
    for name in CONFIG_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def _config_text(directory: Path) -> str:
    path = config_file(directory)
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def is_component_dir(directory: Path) -> bool:
    return "defineComponent" in _config_text(directory)


def _package_name(directory: Path, known: dict[Path, str | None] | None = None) -> str | None:
    """The `name` of the folder's package.json; `known` remembers the answers for one walk
    (every folder asks about all of its parents)."""
    if known is not None and directory in known:
        return known[directory]
    data = read_jsonc(directory / "package.json")
    name = data.get("name") if data else None
    name = name if isinstance(name, str) else None
    if known is not None:
        known[directory] = name
    return name


def library_reason(directory: Path, top: Path, known: dict[Path, str | None] | None = None) -> str | None:
    """Why `directory` is someone else's code (a vendored copy, a library's source), if it is:
    any folder between `top` and it named like a vendor folder or holding the package.json
    of a library. `known`: package names already read in this walk."""
    chain = [directory, *directory.parents]
    for folder in chain:
        if folder.name in VENDOR_DIRS:
            return f"inside vendored folder {folder.name}/"
        name = _package_name(folder, known)
        if name in LIBRARY_PACKAGES:
            return f"source of the `{name}` package"
        if folder == top or not folder.is_relative_to(top):
            break
    return None


def _source_heads(directory: Path) -> Iterator[tuple[Path, bytes]]:
    """The first 200 KB of the first `_SHAPE_FILES` source files below `directory` (by name,
    folder by folder): enough to tell what a folder is without reading a large tree."""
    seen = 0
    for folder in walk_dirs(directory, 30):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not is_source_path(entry.name):
                continue
            seen += 1
            try:
                with open(entry.path, "rb") as handle:
                    head = handle.read(200_000)
            except OSError:
                continue
            yield Path(folder), head
            if seen >= _SHAPE_FILES:
                return


def has_function_shape(directory: Path) -> bool:
    """Whether a folder holds Convex function code (a schema, the generated API, a config,
    or a source file that defines functions or imports `_generated`)."""
    if looks_like_root(directory) or config_file(directory) is not None:
        return True
    return any(_SHAPE.search(head) for _, head in _source_heads(directory))


# Folders that hold a project's tests: a Convex folder below one of them that is itself a
# test suite (a copied convex-test suite with its own schema) is not the user's backend.
TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec", "specs"})
_TEST_FILE = re.compile(r"\.(?:test|spec)\.[cm]?[jt]sx?$")
_TEST_HARNESS = (b'from "convex-test"', b"from 'convex-test'")


def test_suite_reason(directory: Path, top: Path) -> str | None:
    """Why `directory` is a test suite rather than an app, if it is: it sits below a test
    folder of the tree checked (`tests/convex`, `test/fixtures/convex`) and its files are
    tests (named `*.test.*`/`*.spec.*`, or importing `convex-test`). Only the path below `top`
    counts: a project that lives under a folder named `tests/` is still an app, and so is a
    Convex folder under `tests/` with no test in it (an e2e app)."""
    if not directory.is_relative_to(top):
        return None
    parts = directory.relative_to(top).parts
    folder = next((part for part in parts if part in TEST_DIRS), None)
    if folder is None:
        return None
    for _, head in _source_heads(directory):
        if any(marker in head for marker in _TEST_HARNESS):
            return f"a convex-test suite under {folder}/"
    for entry in walk_dirs(directory, 30):
        try:
            names = [e.name for e in os.scandir(entry)]
        except OSError:
            continue
        if any(_TEST_FILE.search(name) for name in names):
            return f"a test suite under {folder}/"
    return None


_GENERATED_IMPORT = re.compile(rb"""from\s+["']([^"']*?)/_generated/[\w.]+["']""")


def generated_owner(directory: Path, candidates: list[Path]) -> Path | None:
    """The root among `candidates` whose `_generated` API the files of `directory` import
    (function code kept outside its app's folder, e.g. `cloud/convex` importing
    `../../convex/_generated/server`): such code runs against that app's schema."""
    for folder, text in _source_heads(directory):
        for match in _GENERATED_IMPORT.finditer(text):
            target = Path(os.path.normpath(folder / match.group(1).decode("utf-8", "replace")))
            for candidate in candidates:
                if candidate != directory and target == candidate:
                    return candidate
    return None


def _kind(directory: Path) -> str:
    return "component" if is_component_dir(directory) else "app"


def _used_components(root: Path, packages: dict[str, Path]) -> list[tuple[Path, str]]:
    """Component folders an app mounts with `app.use(x)`, where `x` is imported from a
    relative path or from a package of this repository (`packages`: name -> folder)."""
    text = _config_text(root)
    if "defineApp" not in text:
        return []
    used = set(_USE.findall(text))
    found: list[tuple[Path, str]] = []
    for name, specifier in _IMPORT.findall(text):
        if name not in used:
            continue
        if specifier.startswith("."):
            target = (root / specifier).resolve()
            folder = target.parent if target.name.startswith("convex.config") else target
            if is_component_dir(folder):
                found.append((folder, f"mounted by {root.name}/convex.config with app.use({name})"))
            continue
        for package_name, package_dir in packages.items():
            if specifier == package_name or specifier.startswith(package_name + "/"):
                for folder in walk_dirs(package_dir, 4):
                    if is_component_dir(folder):
                        found.append((folder, f"mounted by app.use({name}) from local package {package_name}"))
    return found


def discover(start: Path) -> list[FoundRoot]:
    """The Convex roots at or below `start` (or containing it, for a file), with why."""
    start = start.resolve()
    if start.is_file():
        return _root_of_file(start)
    roots: dict[Path, FoundRoot] = {}
    packages: dict[str, Path] = {}
    package_names: dict[Path, str | None] = {}  # read once per folder, not once per subfolder

    def add(path: Path, kind: str, reason: str) -> None:
        path = path.resolve()
        if path not in roots and not any(path.is_relative_to(r) and roots[r].kind == "app" and kind == "app" for r in roots):
            roots[path] = FoundRoot(path, kind, reason)

    if start.name == "convex" or looks_like_root(start) or is_component_dir(start):
        add(start, _kind(start), "the directory checked")
    else:
        skipped: set[Path] = set()
        for directory in walk_dirs(start, MAX_DEPTH):
            if any(directory.is_relative_to(s) for s in skipped):
                continue
            name = _package_name(directory, package_names)
            if name is not None:
                packages.setdefault(name, directory)
            if directory != start and library_reason(directory, start, package_names) is not None:
                skipped.add(directory)
                continue
            if directory != start and directory not in roots and looks_like_candidate(directory) and test_suite_reason(directory, start):
                skipped.add(directory)
                continue
            if any(directory.is_relative_to(r) for r in roots):
                # Inside a root: only components (checked with their own schema) are taken.
                if directory not in roots and is_component_dir(directory) and not _inside_app(directory, roots):
                    add(directory, "component", "defineComponent in convex.config")
                continue
            if (directory / "convex.json").is_file():
                functions, declared = functions_dir(directory)
                if functions.is_dir():
                    why = "convex.json `functions`" if declared else "convex/ next to convex.json"
                    add(functions, _kind(functions), why)
                    if declared:
                        # The declared functions dir replaces the default `convex/` here.
                        skipped.add(directory / "convex")
                    continue
            if is_component_dir(directory):
                add(directory, "component", "defineComponent in convex.config")
                continue
            # The conventional `convex/` of the folder checked is trusted; deeper ones must
            # look like function code (a `convex/` folder of client helpers is not a root).
            if directory.name == "convex" and directory != start:
                if directory.parent == start:
                    add(directory, _kind(directory), "convex/ in the folder checked")
                elif has_function_shape(directory):
                    add(directory, _kind(directory), "convex/ folder with Convex functions")
    for root in list(roots.values()):
        if root.kind == "app":
            for folder, why in _used_components(root.path, packages):
                if folder not in roots and not _inside_app(folder, roots):
                    roots[folder] = FoundRoot(folder, "component", why)
    return sorted(roots.values(), key=lambda r: r.path)


def _inside_app(directory: Path, roots: dict[Path, FoundRoot]) -> bool:
    """Components inside an app's folder are indexed as part of that app (see
    `Workspace.component_of`), not as roots of their own."""
    return any(directory != r and directory.is_relative_to(r) and roots[r].kind == "app" for r in roots)


def _root_of_file(start: Path) -> list[FoundRoot]:
    for parent in start.parents:
        if (parent / "convex.json").is_file():
            functions, _ = functions_dir(parent)
            if start.is_relative_to(functions):
                return [FoundRoot(functions, _kind(functions), "convex.json `functions`")]
        if parent.name == "convex" or (looks_like_root(parent) and not is_component_dir(parent)):
            return [FoundRoot(parent, _kind(parent), "contains the file checked")]
    return [FoundRoot(start.parent, "app", "the file's folder")]


def discover_roots(start: Path) -> list[Path]:
    """The paths of `discover(start)`."""
    return [root.path for root in discover(start)]
