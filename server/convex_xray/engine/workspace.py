"""The workspace index: Convex roots, their files, schemas, module resolution and the call graph.

Each file is parsed and modelled once and updated on its own (`update`), so cross-file
questions (does this helper read the DB? which indexes are used anywhere?) stay cheap.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from convex_xray.engine.analysis.analyzer import analyze_file
from convex_xray.engine.analysis.loops import exported_loop_helper
from convex_xray.engine.analysis.options import AnalysisBudgetExceeded, AnalysisOptions
from convex_xray.engine.discovery import (
    SCHEMA_NAMES,
    VENDOR_DIRS,
    FoundRoot,
    generated_owner,
    is_component_dir,
    read_jsonc,
    walk_dirs,
)
from convex_xray.engine.discovery import (
    discover_roots as discover_roots,  # (re-exported for callers)
)
from convex_xray.engine.factories import ctx_factory, method_of, returns_closures
from convex_xray.engine.findings import Span
from convex_xray.engine.guards import memo_guarded
from convex_xray.engine.memo import Memo, MemoKey
from convex_xray.engine.model import DbRead, FileModel, FunctionModel, HelperCall, RunCall
from convex_xray.engine.schema import Schema, read_schema
from convex_xray.engine.source import DecodeError, SourceFile, is_source_path
from convex_xray.engine.syntax import text_of

T = TypeVar("T")

RESOLVE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mts", ".mjs", ".cts", ".cjs")
MAX_FILE_BYTES = 2_000_000  # larger files are skipped with a note (minified bundles, dumps)
_PATH_CACHE_LIMIT = 100_000  # paths whose root and component are remembered (bounded memory)
_CHANGES_KEPT = 64  # snapshot changes remembered for `Workspace.changed_since`
# The files a provisional check's text passes read (in `Workspace.provisional`).
_READ_SO_FAR: MemoKey[list[Path]] = MemoKey("workspace.read_so_far")


@dataclass
class FileProblem:
    """A file we could not check, and why (shown once, never a traceback)."""

    path: Path
    message: str


@dataclass
class CheckedRoot:
    """A root as reports show it: where, app or component, why, and its file count."""

    path: Path
    kind: str
    reason: str
    files: int


@dataclass
class ConvexRoot:
    path: Path
    schema_path: Path | None
    components: dict[Path, str] = field(default_factory=dict)  # component dir -> name
    kind: str = "app"  # or "component": a component checked as a root of its own
    reason: str = ""  # why discovery took it (shown in reports)


def _tsconfig_paths(config_path: Path, depth: int = 0) -> tuple[Path, dict[str, list[str]]] | None:
    """`compilerOptions.paths` of a tsconfig (following relative `extends`), with the directory
    its targets are relative to: the nearest `baseUrl`, else the file that declares `paths`."""
    config = read_jsonc(config_path) or {}
    options = config.get("compilerOptions")
    options = options if isinstance(options, dict) else {}
    base_url = options.get("baseUrl")
    base = config_path.parent / base_url if isinstance(base_url, str) else None
    paths = options.get("paths")
    if isinstance(paths, dict) and paths:
        clean = {k: [t for t in v if isinstance(t, str)] for k, v in paths.items() if isinstance(v, list)}
        return (base or config_path.parent), clean
    extends = config.get("extends")
    chain = [extends] if isinstance(extends, str) else extends if isinstance(extends, list) else []
    for item in reversed(chain):  # TypeScript 5: later entries override earlier ones
        if depth >= 5 or not isinstance(item, str) or not item.startswith("."):
            continue  # package configs (`@tsconfig/node20`) carry no project aliases
        parent = (config_path.parent / item).resolve()
        if not parent.is_file() and parent.with_name(parent.name + ".json").is_file():
            parent = parent.with_name(parent.name + ".json")
        if parent.is_file():
            inherited = _tsconfig_paths(parent, depth + 1)
            if inherited is not None:
                return (base or inherited[0]), inherited[1]
    return None


@dataclass
class FunctionSummary:
    """What calling a function costs, transitively through the helpers it calls."""

    reads: int = 0  # DB reads per call (loops counted once)
    run_calls: int = 0  # ctx.run* per call
    loops_with_reads: bool = False
    first_read: Span | None = None
    first_read_text: str = ""
    first_call: Span | None = None
    first_call_text: str = ""
    depth: int = 0  # helper depth of the first read (0 = in this function)
    memoised: bool = False  # every read goes through a memo check: one read per distinct key

    @property
    def reads_db(self) -> bool:
        return self.reads > 0 or self.loops_with_reads

    @property
    def calls_functions(self) -> bool:
        return self.run_calls > 0


@dataclass
class _Entry:
    source: SourceFile | None
    model: FileModel | None = None
    problem: FileProblem | None = None


class Workspace:
    """Everything the rules may ask about the project. Not thread-safe; one per run/session."""

    def __init__(
        self,
        roots: Iterable[Path | FoundRoot],
        *,
        options: AnalysisOptions | None = None,
        exclude: Iterable[str] = (),
        base: Path | None = None,
        scope: Path | None = None,
    ) -> None:
        self.roots = [
            ConvexRoot(r.path.resolve(), None, kind=r.kind, reason=r.reason)
            if isinstance(r, FoundRoot)
            else ConvexRoot(r.resolve(), None, kind="component" if is_component_dir(r) else "app")
            for r in roots
        ]
        self.options = options or AnalysisOptions()
        self.exclude = list(exclude)
        self.base = base
        # The directory the user checked (the CLI's target), when it is not `base`: roles read
        # the folders between it and a Convex root (`roles.example_folder`).
        self.scope = scope
        self._entries: dict[Path, _Entry] = {}
        self._handed_out: set[Path] = set()  # entries handed out since `loaded(recent=True)`
        # path -> when its model was last asked for (a count of `model` calls): which of the
        # models in memory a caller that keeps only some should drop first (`last_use`).
        self._model_uses: dict[Path, int] = {}
        self._uses = 0
        self._roots_of: dict[Path, ConvexRoot | None] = {}
        self._components_of: dict[Path, Path | None] = {}
        self._schemas: dict[Path, Schema] = {}
        self._summaries: dict[int, FunctionSummary] = {}
        # path -> the keys (function ids) of `_summaries` for that file's functions: dropped
        # with its model by `release`, since a freed function's id may be reused.
        self._summary_keys: dict[Path, list[int]] = {}
        self._tsconfig_paths: dict[Path, tuple[Path, dict[str, list[str]]] | None] = {}
        # (importing folder, specifier) -> the file it resolves to, while `revision` holds
        # (a file created or forgotten bumps it): each resolution costs several stats and a
        # realpath, and every helper call, loop helper and re-export asks again.
        self._resolved: dict[tuple[Path, str], Path | None] = {}
        self._resolved_revision = -1
        self._tops: list[Path] | None = None  # the resolved folders imports may land in
        # path -> whether its real path is inside the workspace: kept for the workspace's
        # lifetime, like the tsconfig paths (the resolutions above go with every keystroke's
        # revision in the editor; a realpath per import per helper call was a fifth of a
        # keystroke's check in a 700-file app). A symlink re-pointed meanwhile is not followed.
        self._inside: dict[Path, bool] = {}
        # path -> whether its real path is inside one of the Convex roots (kept likewise: a
        # rule asked it with a realpath per imported helper call, per keystroke).
        self._inside_roots: dict[Path, bool] = {}
        self.problems: list[FileProblem] = []
        # What rules derive from the whole workspace and share (e.g. index usage merged from
        # worker processes, see `convex_xray.cli.parallel`); lives as long as the workspace.
        self.memo = Memo()
        # A provisional check (the editor's first diagnostics of a document before the
        # workspace is indexed) must not wait for every file to be read: the workspace-wide
        # text passes (crons, admin-written tables, run-by-hand names) then read only the files
        # already in memory, and what they merge is kept only in this scratch space for the
        # length of that check; the check after indexing is the real one. None: not provisional.
        self.provisional: Memo | None = None
        # (path, name) -> (the text it was read from, the answer): the text, not the snapshot,
        # which would keep a replaced snapshot's syntax tree alive (see `loop_helper`).
        self._loop_helpers: dict[tuple[Path, str], tuple[bytes, bool | None]] = {}
        # What rules derive from one file's model, kept while that model is current.
        self._per_file: dict[Path, dict[MemoKey[Any], tuple[FileModel, Any]]] = {}
        self._files: list[Path] | None = None
        # Bumped whenever a file's snapshot or the file list changes: what is derived from
        # every file (e.g. the cron/scheduler index) is current while the revision is.
        self.revision = 0
        # (revision, path) per snapshot change, newest last, a few dozen kept; None for a
        # change of the file list: lets a workspace-wide merge ask what changed since it ran.
        self._changes: list[tuple[int, Path | None]] = []
        for root in self.roots:
            self._locate_schemas(root)
        for root in self.roots:
            if root.schema_path is None and root.kind == "app":
                owner = generated_owner(root.path, [r.path for r in self.roots])
                owner_root = next((r for r in self.roots if r.path == owner), None)
                if owner_root is not None and owner_root.schema_path is not None:
                    root.schema_path = owner_root.schema_path
                    root.reason = f"{root.reason}; uses the schema of {owner_root.path.name}/ (imports its _generated)".lstrip("; ")
        self._roots_of.clear()  # asked while the roots were still being set up
        self._components_of.clear()

    # -- discovery -----------------------------------------------------------------------

    def _locate_schemas(self, root: ConvexRoot) -> None:
        for name in SCHEMA_NAMES:
            if (root.path / name).is_file():
                root.schema_path = root.path / name
                break
        for directory in walk_dirs(root.path, max_depth=4):
            if directory != root.path and is_component_dir(directory):
                root.components[directory] = directory.name

    def excluded(self, path: Path) -> bool:
        """Whether `exclude` (globs, matched against the path and the path from `base`) drops it."""
        if not self.exclude:
            return False
        candidates = [path.as_posix()]
        if self.base is not None:
            with contextlib.suppress(ValueError):
                candidates.append(path.relative_to(self.base).as_posix())
        return any(fnmatch.fnmatch(c, pattern) for c in candidates for pattern in self.exclude)

    def files(self) -> list[Path]:
        """Every Convex source file in the roots, sorted (deterministic output order)."""
        if self._files is None:
            found: set[Path] = set()
            for root in self.roots:
                for directory in walk_dirs(root.path, max_depth=30):
                    if VENDOR_DIRS.intersection(directory.relative_to(root.path).parts):
                        continue  # someone else's code copied into the app (see discovery)
                    try:
                        entries = list(os.scandir(directory))
                    except OSError as error:
                        self.problems.append(FileProblem(directory, f"cannot list directory: {error.strerror}"))
                        continue
                    for entry in entries:
                        try:
                            is_file = entry.is_file(follow_symlinks=False)
                        except OSError:
                            continue
                        if is_file and is_source_path(entry.name) and not entry.name.startswith("."):
                            path = Path(entry.path)
                            if not self.excluded(path):
                                found.add(path)
            self._files = sorted(found)
        return list(self._files)

    def text_pass_files(self) -> list[Path]:
        """The files a workspace-wide text pass reads: all of them, or during a provisional
        check only those whose text is already in memory (see `provisional`)."""
        if self.provisional is None:
            return self.files()
        known = self.provisional.get(_READ_SO_FAR)
        if known is None:
            known = self.provisional.put(
                _READ_SO_FAR,
                [p for p in self.files() if (e := self._entries.get(p)) is not None and e.source is not None],
            )
        return known

    # -- files and models ------------------------------------------------------------------

    def set_source(self, source: SourceFile) -> None:
        """Replace a file's snapshot (an open editor buffer); invalidates what depends on it."""
        path = source.path
        self._changed(path)
        self._entries[path] = _Entry(source)
        self._handed_out.add(path)
        self._per_file.pop(path, None)
        self._summaries.clear()
        self._summary_keys.clear()
        if self._files is not None and path not in self._files and self.root_of(path) is not None:
            self._files = sorted({*self._files, path})
        if path.name in SCHEMA_NAMES or path in self._schema_dependencies():
            self._schemas.clear()

    def forget(self, path: Path) -> None:
        """Drop a cached snapshot (closed buffer, file deleted or changed on disk)."""
        self._changed(path)
        self._entries.pop(path, None)
        self._per_file.pop(path, None)
        self._summaries.clear()
        self._summary_keys.clear()
        if path.name in SCHEMA_NAMES or path in self._schema_dependencies():
            self._schemas.clear()
        if self._files is not None and not path.exists():
            self._files = [f for f in self._files if f != path]

    def loaded(self, *, recent: bool = False) -> list[Path]:
        """The files whose model or syntax tree is in memory. `recent`: only among the files
        asked for since the last such call (a file-by-file check asks after each file: a
        scan of every entry each time was quadratic, ~3% of a check on 730 files). A file
        parsed later through a snapshot handed out before is not seen then (it is by a full call)."""
        if recent:
            paths, self._handed_out = self._handed_out, set()
            candidates = [(p, e) for p in paths if (e := self._entries.get(p)) is not None]
        else:
            candidates = list(self._entries.items())
        return [p for p, e in candidates if e.model is not None or (e.source is not None and e.source.parsed)]

    def release(self, path: Path) -> None:
        """Drop a file's model and syntax tree, keeping its text: the CLI checks one file at a
        time and keeps only compact summaries of each. The file has not changed, so nothing
        derived from its text goes stale; asked again, it is parsed again from that text."""
        entry = self._entries.get(path)
        if entry is None or entry.source is None or (entry.model is None and not entry.source.parsed):
            return
        self._entries[path] = _Entry(entry.source.unparsed(), problem=entry.problem)
        self._per_file.pop(path, None)
        for key in self._summary_keys.pop(path, ()):
            self._summaries.pop(key, None)

    def per_file(self, key: MemoKey[T], model: FileModel, compute: Callable[[FileModel], T]) -> T:
        """`compute(model)`, remembered while `model` is the file's current model (models are
        immutable snapshots, replaced when the file changes: identity tells if it is current)."""
        slots = self._per_file.setdefault(model.path, {})
        entry = slots.get(key)
        if entry is not None and entry[0] is model:
            return cast(T, entry[1])
        value = compute(model)
        slots[key] = (model, value)
        return value

    def invalidate_file_list(self) -> None:
        self._changed(None)
        self._files = None

    def _changed(self, path: Path | None) -> None:
        self.revision += 1
        self._changes.append((self.revision, path))
        if len(self._changes) > _CHANGES_KEPT:
            del self._changes[: len(self._changes) - _CHANGES_KEPT]

    def changed_since(self, revision: int) -> set[Path] | None:
        """The paths whose snapshot changed after `revision`, or None when that is not known
        (the file list changed, or the changes are older than the few remembered)."""
        if revision == self.revision:
            return set()
        if revision > self.revision or not self._changes or self._changes[0][0] > revision + 1:
            return None
        paths: set[Path] = set()
        for at, path in reversed(self._changes):
            if at <= revision:
                break
            if path is None:
                return None
            paths.add(path)
        return paths

    def _schema_dependencies(self) -> set[Path]:
        deps: set[Path] = set()
        for schema in self._schemas.values():
            for table in schema.tables.values():
                if table.definition is not None:
                    deps.add(table.definition.path)
        return deps

    def _entry(self, path: Path) -> _Entry:
        self._handed_out.add(path)
        entry = self._entries.get(path)
        if entry is not None:
            return entry
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                entry = _Entry(None, problem=FileProblem(path, f"file is {size // 1024} KiB (over {MAX_FILE_BYTES // 1_000_000} MB); skipped"))
            else:
                entry = _Entry(SourceFile.read(path))
        except DecodeError as error:
            entry = _Entry(None, problem=FileProblem(path, str(error)))
        except OSError as error:
            entry = _Entry(None, problem=FileProblem(path, f"cannot read: {error.strerror or error}"))
        if entry.problem is not None:
            self.problems.append(entry.problem)
        self._entries[path] = entry
        return entry

    def source(self, path: Path) -> SourceFile | None:
        return self._entry(path).source

    def problem(self, path: Path) -> FileProblem | None:
        return self._entry(path).problem

    def model(self, path: Path) -> FileModel | None:
        entry = self._entry(path)
        self._uses += 1
        self._model_uses[path] = self._uses
        if entry.model is None and entry.source is not None:
            try:
                entry.model = analyze_file(entry.source, self.options, functools.partial(self.loop_helper, from_file=path))
            except RecursionError:
                entry.problem = FileProblem(path, "expressions nested too deeply to analyse; skipped")
                self.problems.append(entry.problem)
                entry.source = None
                return None
            except AnalysisBudgetExceeded as error:
                entry.problem = FileProblem(path, str(error))
                self.problems.append(entry.problem)
                entry.source = None
                return None
        return entry.model

    def last_use(self, path: Path) -> int:
        """When the model of `path` was last asked for (larger is later; 0: never)."""
        return self._model_uses.get(path, 0)

    def cached_model(self, path: Path) -> FileModel | None:
        """The model of `path` if it has been computed already (never reads or analyses)."""
        entry = self._entries.get(path)
        return entry.model if entry is not None else None

    def models(self) -> Iterator[FileModel]:
        for path in self.files():
            model = self.model(path)
            if model is not None:
                yield model

    # -- roots and schemas -------------------------------------------------------------------

    def module_name(self, path: Path) -> str | None:
        """`folder.module`, the file's module from its Convex root: the name `internal.` and
        `api.` use for it (`internal.folder.module.fn`); None outside every root."""
        root = self.root_of(path)
        if root is None or not path.is_relative_to(root.path):
            return None
        return path.relative_to(root.path).with_suffix("").as_posix().replace("/", ".")

    def root_of(self, path: Path) -> ConvexRoot | None:
        # Roots and their components are fixed for a workspace's lifetime, and the language
        # server asks for every file's root and schema after each edit (cache keys): remember.
        if path in self._roots_of:
            return self._roots_of[path]
        best: ConvexRoot | None = None
        for root in self.roots:
            if path.is_relative_to(root.path) and (best is None or len(root.path.parts) > len(best.path.parts)):
                best = root
        if len(self._roots_of) < _PATH_CACHE_LIMIT:
            self._roots_of[path] = best
        return best

    def component_of(self, path: Path) -> Path | None:
        if path in self._components_of:
            return self._components_of[path]
        root = self.root_of(path)
        found: Path | None = None
        if root is not None:
            found = next((d for d in root.components if path.is_relative_to(d)), None)
        if len(self._components_of) < _PATH_CACHE_LIMIT:
            self._components_of[path] = found
        return found

    def schema_for(self, path: Path) -> Schema | None:
        """The schema that governs `path` (its component's, or its root's); None if none."""
        root = self.root_of(path)
        if root is None:
            return None
        component = self.component_of(path)
        if component is not None:
            for name in SCHEMA_NAMES:
                if (component / name).is_file() or (component / name) in self._entries:
                    return self._schema_at(component / name, component=component.name)
            return None
        if root.schema_path is None:
            return None
        return self._schema_at(root.schema_path)

    def checked_roots(self) -> list[CheckedRoot]:
        """Each root and each component inside one, with the files that belong to it (a
        file counts once, for the innermost of them), for reports."""
        entries: list[CheckedRoot] = []
        for root in self.roots:
            entries.append(CheckedRoot(root.path, root.kind, root.reason, 0))
            for directory in sorted(root.components):
                entries.append(CheckedRoot(directory, "component", f"defineComponent in convex.config inside {root.path.name}/", 0))
        for path in self.files():
            owner: CheckedRoot | None = None
            for entry in entries:
                if path.is_relative_to(entry.path) and (owner is None or len(entry.path.parts) > len(owner.path.parts)):
                    owner = entry
            if owner is not None:
                owner.files += 1
        return entries

    def app_schemas(self) -> list[Schema]:
        """The application schemas (component schemas are kept apart)."""
        schemas = []
        seen: set[Path] = set()
        for root in self.roots:
            if root.schema_path is not None and root.schema_path not in seen:
                seen.add(root.schema_path)
                schema = self._schema_at(root.schema_path)
                if schema is not None:
                    schemas.append(schema)
        return schemas

    def _schema_at(self, path: Path, component: str | None = None) -> Schema | None:
        cached = self._schemas.get(path)
        if cached is not None:
            return cached
        source = self.source(path)
        if source is None:
            problem = self.problem(path)
            schema = Schema(path, error=problem.message if problem else f"{path}: cannot read schema")
        else:
            schema = read_schema(source, self._load_module)
        schema.component = component
        self._schemas[path] = schema
        return schema

    def is_schema_file(self, path: Path) -> bool:
        return path.name in SCHEMA_NAMES and (
            any(root.schema_path == path for root in self.roots) or self.component_of(path) is not None
        )

    # -- module resolution -------------------------------------------------------------------

    def _load_module(self, specifier: str, from_file: Path) -> SourceFile | None:
        path = self.resolve_module(specifier, from_file)
        return self.source(path) if path is not None else None

    def resolve_module(self, specifier: str, from_file: Path) -> Path | None:
        if self._resolved_revision != self.revision:
            self._resolved.clear()
            self._resolved_revision = self.revision
        key = (from_file.parent, specifier)
        if key in self._resolved:
            return self._resolved[key]
        found = self._resolve_module(specifier, from_file)
        self._resolved[key] = found
        return found

    def _resolve_module(self, specifier: str, from_file: Path) -> Path | None:
        if specifier.startswith("."):
            return self._with_suffix(from_file.parent / specifier)
        aliases = self._tsconfig_for(from_file.parent)
        if aliases is None:
            return None
        base, paths = aliases
        # TypeScript picks the most specific pattern: exact ones, then the longest prefix.
        ordered = sorted(paths.items(), key=lambda item: (item[0].endswith("*"), -len(item[0])))
        for pattern, targets in ordered:
            if pattern.endswith("*"):
                prefix = pattern[:-1]
                if not specifier.startswith(prefix):
                    continue
                rest = specifier[len(prefix) :]
            elif pattern == specifier:
                rest = ""
            else:
                continue
            for target in targets:
                candidate = self._with_suffix(base / target.replace("*", rest))
                if candidate is not None:
                    return candidate
        return None

    def _with_suffix(self, path: Path) -> Path | None:
        path = Path(os.path.normpath(path))
        candidates = [path]
        if path.suffix in (".js", ".mjs", ".cjs", ".jsx"):
            stem = path.with_suffix("")
            candidates += [stem.with_suffix(s) for s in (".ts", ".tsx", ".mts")]
        candidates += [path.with_name(path.name + s) for s in RESOLVE_SUFFIXES]
        candidates += [path / f"index{s}" for s in RESOLVE_SUFFIXES]
        for candidate in candidates:
            if candidate in self._entries or candidate.is_file():
                if not self._inside_workspace(candidate):
                    return None
                return candidate
        return None

    def _inside_workspace(self, path: Path) -> bool:
        known = self._inside.get(path)
        if known is not None:
            return known
        if self._tops is None:  # the roots and the base are fixed for the workspace's lifetime
            tops = [root.path.parent for root in self.roots]
            if self.base is not None:
                tops.append(self.base)
            self._tops = [top.resolve() for top in tops]
        resolved = path.resolve()
        inside = self._inside[path] = any(resolved.is_relative_to(top) for top in self._tops)
        return inside

    def inside_roots(self, path: Path) -> bool:
        """Whether the real path of `path` is inside one of the Convex roots (checked code),
        remembered for the workspace's lifetime like `_inside_workspace` (the roots are
        resolved and fixed when the workspace is made)."""
        known = self._inside_roots.get(path)
        if known is None:
            resolved = path.resolve()
            known = self._inside_roots[path] = any(resolved.is_relative_to(root.path) for root in self.roots)
        return known

    def _tsconfig_for(self, directory: Path) -> tuple[Path, dict[str, list[str]]] | None:
        if directory in self._tsconfig_paths:
            return self._tsconfig_paths[directory]
        result: tuple[Path, dict[str, list[str]]] | None = None
        for parent in [directory, *directory.parents]:
            config_path = parent / "tsconfig.json"
            if config_path.is_file():
                result = _tsconfig_paths(config_path)
                if result is not None:
                    break
            if (parent / "package.json").is_file() and parent != directory and (parent / ".git").exists():
                break
        self._tsconfig_paths[directory] = result
        return result

    # -- call graph ----------------------------------------------------------------------------

    def resolve_call(self, model: FileModel, call: HelperCall) -> tuple[FileModel, FunctionModel] | None:
        """The function a helper call lands on, in this file or through its imports."""
        callee = call.callee
        if call.factory:
            return self._resolve_factory(model, call)
        if "." in callee:
            local = model.function_named(callee)  # a method of this file's object or class
            if local is not None:
                return model, local
            namespace, member = callee.split(".", 1)
            binding = model.imports.get(namespace)
            if binding is None:
                return None
            if binding.imported != "*":  # a method of an imported object or class
                return self._exported(binding.module, model.path, f"{binding.imported}.{member}")
            return self._exported(binding.module, model.path, member)
        # Local closures first (innermost), then top-level functions, then imports.
        if call.function is not None:
            scope: FunctionModel | None = call.function
            while scope is not None:
                for function in model.functions:
                    if function.parent is scope and function.name == callee:
                        return model, function
                scope = scope.parent
        local = model.function_named(callee)
        if local is not None:
            return model, local
        binding = model.imports.get(callee)
        if binding is None or binding.imported == "*":
            return None
        return self._exported(binding.module, model.path, binding.imported)

    def _resolve_factory(self, model: FileModel, call: HelperCall) -> tuple[FileModel, FunctionModel] | None:
        """`repo.load(id)` after `repo = new UserRepo(ctx)` lands on `UserRepo.load`;
        `loader.getUser(id)` after `loader = makeLoader(ctx)` on `makeLoader`, whose returned
        closures read through the ctx it captured."""
        method = call.callee.rsplit(".", 1)[-1]
        factory = call.factory
        if factory.startswith("ctx:"):
            # `ctx.cache.getUser(id)`: what the function's custom builder attached as `cache`.
            found = ctx_factory(model, factory[4:], self._import_loader(model.path))
            if found is None:
                return None
            model, factory = found
            call = HelperCall(node=call.node, function=None, loops=call.loops, awaited=call.awaited, callee=call.callee, factory=factory)
        if factory.startswith("new "):
            owner = factory[4:]
            target = f"{owner}.{method}"
        else:
            target = factory
        probe = HelperCall(node=call.node, function=call.function, loops=call.loops, awaited=call.awaited, callee=target, passes_context=True)
        resolved = self.resolve_call(model, probe)
        if resolved is not None and not factory.startswith("new ") and not returns_closures(resolved[1]):
            return None  # `const name = format(ctx, x)`: a value, not an object of readers
        if resolved is not None and not factory.startswith("new "):
            # The one method called, when the returned object shows it (else the whole factory).
            view = method_of(resolved[0], resolved[1], method)
            if view is not None:
                return resolved[0], view
        return resolved

    def _import_loader(self, from_file: Path) -> Callable[[str], FileModel | None]:
        def load(specifier: str) -> FileModel | None:
            path = self.resolve_module(specifier, from_file)
            return self.model(path) if path is not None else None

        return load

    def component_client(self, model: FileModel, name: str, depth: int = 0) -> str | None:
        """The component (`aggregate`) that `name` is a client of, here or through imports."""
        if name in model.component_clients:
            return model.component_clients[name]
        binding = model.imports.get(name)
        if binding is None or binding.imported == "*" or depth > 8:
            return None
        path = self.resolve_module(binding.module, model.path)
        target = self.model(path) if path is not None else None
        if target is None:
            return None
        exported = binding.imported
        reexport = target.reexports.get(exported)
        if reexport is not None and reexport[0] is None:
            exported = reexport[1]
        return self.component_client(target, exported, depth + 1)

    def _exported(
        self,
        specifier: str,
        from_file: Path,
        name: str,
        depth: int = 0,
        seen: set[tuple[Path, str]] | None = None,
    ) -> tuple[FileModel, FunctionModel] | None:
        """The function module `specifier` exports as `name`, following re-exports
        (`export { x } from`, `export *`, `import { x }; export { x as y }`)."""
        path = self.resolve_module(specifier, from_file)
        if path is None or depth > 8:
            return None
        seen = set() if seen is None else seen
        if (path, name) in seen:  # re-export cycles
            return None
        seen.add((path, name))
        target = self.model(path)
        if target is None:
            return None
        function = target.exports.get(name) or (target.function_named(name) if name != "default" else None)
        if function is not None:
            return target, function
        reexport = target.reexports.get(name)
        if reexport is not None:
            module, local = reexport
            if module is not None:
                return None if local == "*" else self._exported(module, path, local, depth + 1, seen)
            function = target.function_named(local)
            if function is not None:
                return target, function
            name = local
        # Re-exports through an imported binding: `import { x } from "./a"; export { x }`.
        binding = target.imports.get(name)
        if binding is not None and binding.imported != "*":
            return self._exported(binding.module, path, binding.imported, depth + 1, seen)
        if name != "default":
            for module in target.star_exports:
                found = self._exported(module, path, name, depth + 1, seen)
                if found is not None:
                    return found
        return None

    def loop_helper(self, specifier: str, name: str, from_file: Path) -> bool | None:
        """Whether `name` exported by module `specifier` (relative or a tsconfig alias) runs its
        callback per item: an app's `asyncMap` in another file. Kept per source text, so an
        edited helper file is read again (and a file read back unchanged, e.g. closed in the
        editor, is not)."""
        path = self.resolve_module(specifier, from_file)
        source = self.source(path) if path is not None else None
        if path is None or source is None:
            return None
        cached = self._loop_helpers.get((path, name))
        if cached is None or not (cached[0] is source.data or cached[0] == source.data):
            cached = (source.data, exported_loop_helper(source.root, name))
            self._loop_helpers[(path, name)] = cached
        return cached[1]

    def summary(self, model: FileModel, function: FunctionModel) -> FunctionSummary:
        """What one call of `function` costs, through every helper it reaches.

        Helpers that call each other (a strongly connected component of the call graph)
        share one summary in which each of them counts once, so recursion terminates and the
        answer never depends on which function was asked about first."""
        key = id(function)
        cached = self._summaries.get(key)
        if cached is None:
            self._summarise_from(model, function)
            cached = self._summaries[key]
        return cached

    def _summarise_from(self, model: FileModel, function: FunctionModel) -> None:
        """Tarjan's algorithm (iterative: helper chains may be deep) over the helpers reachable
        from `function`; each component is summarised as it completes, callees first."""
        nodes: dict[int, tuple[FileModel, FunctionModel]] = {}
        edges: dict[int, list[tuple[HelperCall, int]]] = {}
        index: dict[int, int] = {}
        low: dict[int, int] = {}
        stack: list[int] = []
        on_stack: set[int] = set()

        def visit(key: int, node: tuple[FileModel, FunctionModel]) -> Iterator[tuple[HelperCall, int]]:
            nodes[key] = node
            index[key] = low[key] = len(index)
            stack.append(key)
            on_stack.add(key)
            out: list[tuple[HelperCall, int]] = []
            for helper in _own(node[1].helper_calls, node[1]):
                resolved = self.resolve_call(node[0], helper)
                if resolved is not None:
                    target = id(resolved[1])
                    nodes.setdefault(target, resolved)
                    out.append((helper, target))
            edges[key] = out
            return iter(out)

        root = id(function)
        work = [(root, visit(root, (model, function)))]
        while work:
            key, pending = work[-1]
            descended = False
            for _helper, target in pending:
                if target in self._summaries:
                    continue  # summarised already (this walk or an earlier one)
                if target not in index:
                    work.append((target, visit(target, nodes[target])))
                    descended = True
                    break
                if target in on_stack:
                    low[key] = min(low[key], index[target])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[key])
            if low[key] == index[key]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == key:
                        break
                self._summarise_component(component, nodes, edges)

    def _summarise_component(
        self,
        component: list[int],
        nodes: dict[int, tuple[FileModel, FunctionModel]],
        edges: dict[int, list[tuple[HelperCall, int]]],
    ) -> None:
        members = sorted(component, key=lambda k: (str(nodes[k][0].path), nodes[k][1].start))
        inside = set(component)
        total = FunctionSummary()
        loops_inside = False
        plain_reads = 0  # reads not behind a memo check (see `memo_guarded`)
        for key in members:
            _model, function = nodes[key]
            for read in _own(function.reads, function):
                if read.in_loop:
                    total.loops_with_reads = True
                else:
                    total.reads += 1
                    plain_reads += not memo_guarded(read.node, function.node)
            total.run_calls += sum(1 for call in _own(function.run_calls, function) if not call.in_loop)
            for helper, target in edges[key]:
                if target in inside:
                    loops_inside = loops_inside or helper.in_loop
                    continue
                inner = self._summaries[target]
                if helper.in_loop:
                    total.loops_with_reads = total.loops_with_reads or inner.reads_db
                else:
                    total.reads += inner.reads
                    plain_reads += 0 if inner.memoised else inner.reads
                    total.run_calls += inner.run_calls
                    total.loops_with_reads = total.loops_with_reads or inner.loops_with_reads
        if loops_inside and total.reads_db:
            total.loops_with_reads = True  # recursion per item of a loop
        # Where each member's first read / call is: its own, else the nearest through its
        # helpers, in call order (members reached through the component resolve in rounds).
        first_read: dict[int, tuple[Span, str, int]] = {}
        first_call: dict[int, tuple[Span, str]] = {}
        for key in members:
            model, function = nodes[key]
            reads = _own(function.reads, function)
            if reads:
                first_read[key] = (Span(model.path, reads[0].start, reads[0].end), _describe_read(reads[0]), 0)
            calls = _own(function.run_calls, function)
            if calls:
                first_call[key] = (Span(model.path, calls[0].start, calls[0].end), _describe_call(calls[0]))
        changed = True
        while changed:
            changed = False
            for key in members:
                for _helper, target in edges[key]:
                    if key in first_read:
                        break
                    if target in inside:
                        found = first_read.get(target)
                    else:
                        inner = self._summaries[target]
                        found = (inner.first_read, inner.first_read_text, inner.depth) if inner.first_read else None
                    if found is not None:
                        first_read[key] = (found[0], found[1], found[2] + 1)
                        changed = True
                for _helper, target in edges[key]:
                    if key in first_call:
                        break
                    if target in inside:
                        call = first_call.get(target)
                    else:
                        inner = self._summaries[target]
                        call = (inner.first_call, inner.first_call_text) if inner.first_call else None
                    if call is not None:
                        first_call[key] = call
                        changed = True
        for key in members:
            summary = FunctionSummary(
                reads=total.reads,
                run_calls=total.run_calls,
                loops_with_reads=total.loops_with_reads,
                memoised=total.reads > 0 and plain_reads == 0 and not total.loops_with_reads,
            )
            if key in first_read:
                summary.first_read, summary.first_read_text, summary.depth = first_read[key]
            if key in first_call:
                summary.first_call, summary.first_call_text = first_call[key]
            self._summaries[key] = summary
            self._summary_keys.setdefault(nodes[key][0].path, []).append(key)


def _own(events: list, function: FunctionModel) -> list:
    """Events recorded directly in `function` (local closures have their own lists)."""
    return [e for e in events if e.function is function]


def _describe_read(read: DbRead) -> str:
    if read.label:
        return read.label
    if read.kind == "get":
        return f"db.get({text_of(read.id_node)})"
    if read.chain is not None:
        return f'db.query("{read.table or "?"}")…{read.chain.terminal}()'
    return f'read of "{read.table or "?"}"'


def _describe_call(call: RunCall) -> str:
    return f"ctx.{call.method}({call.ref or '…'})"
