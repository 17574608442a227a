"""The language server's state, in engine terms: folders, Convex projects, open documents.

No LSP types here. A workspace folder holds one `Project` per Convex app (roots sharing a
`convex-xray.toml`), each with its own engine `Workspace`; an open document's snapshot
replaces the file on disk in that workspace until the document is closed.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.analysis.analyzer import analyze_file
from convex_xray.engine.analysis.options import AnalysisOptions
from convex_xray.engine.config import Config, ConfigError, find_config, load_config
from convex_xray.engine.findings import Edit, Finding
from convex_xray.engine.fixes import Fixpoint, Reference, fix_to_fixpoint
from convex_xray.engine.memo import Memo
from convex_xray.engine.model import FileModel
from convex_xray.engine.registry import Rule, resolve_rule
from convex_xray.engine.runner import (
    RuleFailure,
    active_rules,
    check_paths,
    check_workspace_rules,
    silent_rules,
)
from convex_xray.engine.schema import Schema
from convex_xray.engine.source import SourceFile, TextChange, is_source_path
from convex_xray.engine.workspace import SCHEMA_NAMES, Workspace, discover_roots
from convex_xray.lsp.incremental import (
    Base,
    Carried,
    Slice,
    advance_slice,
    build_slice,
    convex_definitions,
    convex_objects,
    earlier_reference,
    follow_reference,
    in_blanked,
    keep_through_syntax_errors,
    line_shifts,
    live_statement,
    statements_root,
)
from convex_xray.lsp.outside import Outside, classify
from convex_xray.lsp.settings import Settings, config_file_for, merge_config
from convex_xray.rules.support.add_index import naming_style
from convex_xray.rules.support.index_usage import (
    MERGED_USAGE,
    IndexUsage,
    UsageSignature,
    cached_file_usage,
    index_definitions,
    usage_signature,
)
from convex_xray.rules.support.merged_usage import MergedIndexUsage, UsageSummary, add_summary
from convex_xray.rules.support.schema_plan import (
    PLAN_RULES,
    PRESET_PLAN,
    FileFacts,
    SchemaPlan,
    adds_indexes,
    file_facts,
    plan_from_facts,
    schema_plan,
)

log = logging.getLogger(__name__)

# From this much source, the models and syntax trees of closed files are dropped as indexing
# records what they tell the workspace (schema plan facts, index usage: `_Told`), as the CLI
# drops them from its own threshold (`cli.parallel.RELEASE_FROM_BYTES`): a tree costs ~22 bytes
# per byte of source (ConvexPress, 8.25 MB: 183 MB of trees, benchmarks/README.md). Below it the
# whole app's trees cost under ~25 MB, not worth parsing closed files again on demand.
RELEASE_FROM_BYTES = 1_000_000
# Closed files parsed again on demand (a helper an open document's check resolves a call into,
# a file the workspace rules read back) are kept up to this much source, the least recently
# asked for dropped first: typing in one function must not re-parse its helpers at every
# keystroke. ~22 MB of trees at most.
KEEP_CLOSED_BYTES = 1_000_000

# -- projects and folders --------------------------------------------------------------------------


class Serials:
    """The numbers one server hands out: project serials (in cache keys) and diagnostic result
    ids (pull diagnostics). Owned by the server; a `Folder` made without one gets its own."""

    def __init__(self) -> None:
        self._projects = itertools.count(1)
        self._results = itertools.count(1)

    def project(self) -> int:
        return next(self._projects)

    def result_id(self) -> int:
        return next(self._results)


class _Same:
    """Holds an object and compares by identity (cache keys that must not outlive it)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self) -> int:
        return id(self.value)


class _Equal:
    """Holds an object and compares by identity, else by value: a schema read again from the
    same text (a schema file opened or closed unchanged) is the same schema."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Equal) and (
            other.value is self.value or other.value == self.value
        )

    def __hash__(self) -> int:
        return 0  # (never hashed by the caches; equality is what they use)


class _Text:
    """Holds a snapshot and compares by its bytes: a file closed (read back from disk) or
    opened unchanged is the same text as the snapshot its results were computed for."""

    __slots__ = ("data",)

    def __init__(self, source: SourceFile | None) -> None:
        self.data = source.data if source is not None else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Text) and (other.data is self.data or other.data == self.data)

    def __hash__(self) -> int:
        return hash(self.data)


@dataclass
class _WorkspaceRuleCache:
    key: tuple | None = None
    schemas: tuple[Schema, ...] = ()
    findings: list[Finding] = field(default_factory=list)
    by_path: dict[Path, tuple[_Same, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_path: dict[Path, list[_Same]] = defaultdict(list)
        for finding in self.findings:
            by_path[finding.path].append(_Same(finding))
        self.by_path = {path: tuple(items) for path, items in by_path.items()}


@dataclass
class _Told:
    """What one file's text tells the workspace-wide analyses (the schema plan's facts, its
    index usage by position), kept without its model, for the schemas it was computed under."""

    data: bytes
    schemas: tuple[Schema, ...]  # the application schemas (index definitions)
    schema: Schema | None  # the schema governing the file
    adds: bool  # `adds_indexes`
    facts: FileFacts | None
    usage: UsageSummary | None

    def current(self, data: bytes, schemas: tuple[Schema, ...], schema: Schema | None, adds: bool) -> bool:
        return (
            (self.data is data or self.data == data)
            and self.schema is schema
            and self.adds == adds
            and len(self.schemas) == len(schemas)
            and all(map(_same, self.schemas, schemas))
        )


class Project:
    """One Convex app inside a folder: its roots, merged config, workspace and caches."""

    def __init__(
        self, folder: Path, roots: list[Path], config_path: Path | None, serials: Serials
    ) -> None:
        self.folder = folder
        self.roots = roots
        self.config_path = config_path
        self.config = Config()
        self.workspace = Workspace(roots, base=folder)
        self.rules: list[Rule] = []
        self.silent: list[Rule] = []
        self.serials = serials
        self.serial = serials.project()
        self.generation = 0  # bumped by every change (edits of open documents included)
        self.disk_generation = 0  # bumped when files change on disk behind the editor's back
        self._changed_by: dict[str | None, int] = {}  # last generation each document changed
        # How each file uses tables and indexes, with the text it was computed for.
        self._usage: dict[Path, tuple[tuple[bytes, UsageSignature], ...]] = {}
        self._cache = _WorkspaceRuleCache()
        self._frozen: set[Path] = set()  # files whose model was built before gc.freeze()
        self._plan: SchemaPlan | None = None  # the schema plan of the last full check
        self.indexed = False
        # Whether closed files' models and trees are dropped once indexed (None: by the app's
        # size, `RELEASE_FROM_BYTES`, decided when indexing starts; tests force it).
        self.release: bool | None = None
        self.keep_closed_bytes = KEEP_CLOSED_BYTES
        self.open_paths: set[Path] = set()  # files open in the editor: never released
        self._releasing = False
        self._told: dict[Path, _Told] = {}
        # Closed files whose model or tree is in memory (parsed on demand): their sizes.
        self._kept: dict[Path, int] = {}
        # (revision, schemas, plan, usage) of the last plan built from `_told`.
        self._summarised: tuple[int, tuple[Schema, ...], SchemaPlan, MergedIndexUsage] | None = None
        # The index definitions of the application schemas (the usage summaries discount them).
        self._definitions: tuple[tuple[Schema, ...], Counter[tuple[Path, str]]] | None = None

    def configure(self, settings: Settings) -> list[str]:
        """(Re)load the project config, merge the settings over it and start a fresh workspace."""
        problems: list[str] = []
        try:
            project = load_config(self.config_path)
        except ConfigError as error:
            problems.append(f"{error}; using the default configuration")
            project = Config(path=self.config_path)
        self.config, more = merge_config(settings, project)
        problems += more
        base = self.config.base or self.folder
        self.workspace = Workspace(
            self.roots,
            options=AnalysisOptions(extra_builders=dict(self.config.builders)),
            exclude=self.config.exclude,
            base=base,
        )
        self.rules = active_rules(self.config)
        self.silent = silent_rules(self.config, self.rules)
        self.touched(None)
        self._usage.clear()
        self._cache = _WorkspaceRuleCache()
        self._frozen = set()
        self.indexed = False
        self._releasing = False
        self._told = {}
        self._kept = {}
        self._summarised = None
        self._definitions = None
        return problems

    def owns(self, path: Path) -> bool:
        if not is_source_path(path) or self.workspace.root_of(path) is None:
            return False
        return not self.workspace.excluded(path)  # the config's `exclude`, from its base

    def is_schema(self, path: Path) -> bool:
        return path.name in SCHEMA_NAMES and self.workspace.is_schema_file(path)

    def touched(self, uri: str | None = None, *, on_disk: bool = False) -> None:
        """Something changed: an open document (`uri`) or, with None, the world (disk,
        settings). `on_disk`: files changed behind the editor's back (closed files' results
        may depend on them through helpers)."""
        self.generation += 1
        self._changed_by[uri] = self.generation
        if on_disk:
            self.disk_generation += 1

    def result_key(self, path: Path) -> tuple:
        """What a closed file's findings depend on: its snapshot, the schema governing it, the
        configuration (this project), files changed on disk, and the workspace rules' findings
        in it. (Not other open documents: their helpers count once they are saved.)"""
        return (
            self.serial,
            # Before indexing ends workspace rules (unused-index, ...) do not run: results
            # computed then (an early workspace/diagnostic pull) must not count as fresh after.
            self.indexed,
            self.disk_generation,
            _Text(self.workspace.source(path)),
            _Equal(self.workspace.schema_for(path)),
            self._cache.by_path.get(path, ()),
        )

    def changed_elsewhere(self, uri: str, since: int) -> bool:
        """Whether anything but document `uri` changed after generation `since`."""
        return any(g > since for u, g in self._changed_by.items() if u != uri)

    # -- workspace rules ------------------------------------------------------------------------

    def set_source(self, source: SourceFile) -> None:
        """An open document's snapshot replaces the file (all snapshot changes go through here
        or `forget`, so caches keyed by path stay right without holding old snapshots)."""
        dropped = self._frozen_model(source.path)
        self.workspace.set_source(source)
        _release_model(dropped)

    def forget(self, path: Path) -> None:
        """The file on disk is the truth again (a document closed, a file changed on disk).
        The dropped model's cycles are broken whether or not it was frozen: otherwise a closed
        document's model and tree wait for the next full collection (a 50,000-line file: 55
        MB of RSS, and an idle server may not collect for a long time)."""
        self._frozen.discard(path)
        dropped = self.workspace.cached_model(path)
        self.workspace.forget(path)
        _release_model(dropped)

    def frozen(self) -> None:
        """The server just ran `gc.freeze()`: the models built so far are never collected
        again, so when one is replaced its cycles must be broken (`_release_model`)."""
        self._frozen = set(self.workspace.files())

    def _frozen_model(self, path: Path) -> FileModel | None:
        if path not in self._frozen:
            return None  # built after the freeze: the cycle collector frees it
        self._frozen.discard(path)
        return self.workspace.cached_model(path)

    def _usage_signature(self, path: Path) -> UsageSignature:
        """Kept by text, not by snapshot: a document closed (or opened) unchanged, or edited
        back, needs no new model for it (the index-usage summary outlives the syntax tree)."""
        source = self.workspace.source(path)
        if source is None:
            return ()
        cached = self._usage.get(path, ())
        for data, signature in cached:
            if data is source.data or data == source.data:
                return signature
        model = self.workspace.model(path)
        if model is None:
            return ()
        signature = usage_signature(self.workspace, model)
        # The last two texts: an open document's and the file's on disk, which it is again
        # once closed.
        self._usage[path] = ((source.data, signature), *cached[:1])
        return signature

    def workspace_findings(self, failures: list[RuleFailure]) -> list[Finding]:
        """Raw findings of the workspace rules, recomputed only when what they read changed:
        the schemas, or how the code uses indexes (`index_usage.usage_signature`, the contract
        with the index-hygiene rules, which are the workspace rules)."""
        if not any(r.meta.scope == "workspace" for r in self.rules + self.silent):
            return []
        schemas = tuple(self.workspace.app_schemas())
        files = self.workspace.files()
        usage = tuple((path, self._usage_signature(path)) for path in files)
        # Findings move when their file is edited: key on those files' snapshots too.
        holders = tuple(
            _Text(self.workspace.source(p)) for p in sorted({f.path for f in self._cache.findings})
        )
        key = (usage, holders)  # (the configuration is fixed for a project's lifetime)
        cache = self._cache
        if (
            cache.key == key
            and len(cache.schemas) == len(schemas)
            and all(map(_same, cache.schemas, schemas))
        ):
            return cache.findings
        if self._releasing and self.indexed:
            # Closed files have no model: the plan and the index usage come from what each
            # file told (`_Told`), the references read back only where a rule asks for them.
            plan, merged = self._summarised_plan()
            memo = self.workspace.memo
            memo.put(PRESET_PLAN, plan)
            memo.put(MERGED_USAGE, merged)
            try:
                findings = check_workspace_rules(
                    self.workspace, self.rules + self.silent, self.config, failures
                )
            finally:
                memo.pop(PRESET_PLAN)
                memo.pop(MERGED_USAGE)
                merged.forget_models()
            self.release_closed()
        else:
            findings = check_workspace_rules(
                self.workspace, self.rules + self.silent, self.config, failures
            )
        self._cache = _WorkspaceRuleCache(key, schemas, findings)
        return findings

    # -- closed files' models -------------------------------------------------------------------

    def opened(self, path: Path) -> None:
        self.open_paths.add(path)
        self._kept.pop(path, None)

    def closed(self, path: Path) -> None:
        self.open_paths.discard(path)

    def begin_indexing(self) -> None:
        """Indexing starts: decide whether closed files' models are dropped (`release`)."""
        if self.release is None:
            workspace = self.workspace
            size = sum(len(s.data) for p in workspace.files() if (s := workspace.source(p)) is not None)
            self.release = size >= RELEASE_FROM_BYTES
        self._releasing = self.release

    def index_file(self, path: Path) -> None:
        """Indexing reads `path`: its model, and when releasing, what it tells the workspace
        (`_Told`, the index-usage signature), then the model and tree go at once, so that the
        next file's tree takes their memory (dropped after all of them, they freed it in the
        allocator's arenas but the small objects kept meanwhile pinned every arena: 8 MB less
        resident out of 190 MB freed, on ConvexPress)."""
        model = self.workspace.model(path)
        if self._releasing and model is not None and path not in self.open_paths:
            del model
            self._told_now(path)
            self._usage_signature(path)
            self.release_closed()

    def release_closed(self, *, everything: bool = False) -> None:
        """Drop the models and trees of the closed files parsed since the last call beyond
        `keep_closed_bytes` of source, the least recently asked for first (`everything`: of
        every closed file in memory, not only those asked for since). Their texts stay; a
        check that needs one parses it again (`Workspace.release`)."""
        if not self._releasing:
            return
        workspace = self.workspace
        if everything:
            self._kept.clear()
        for path in workspace.loaded(recent=not everything):
            if path not in self.open_paths and path not in self._kept:
                source = workspace.source(path)
                self._kept[path] = len(source.data) if source is not None else 0
        total = sum(self._kept.values())
        if total <= self.keep_closed_bytes:
            return
        # (Not in the order they were seen in: the workspace-wide text passes hand out every
        # file, so a helper each keystroke resolves into would be dropped as often as any.)
        for path in sorted(self._kept, key=workspace.last_use):
            if total <= self.keep_closed_bytes:
                break
            total -= self._kept.pop(path)
            if path not in self.open_paths:
                dropped = workspace.cached_model(path)
                workspace.release(path)
                # (Its cycles broken, it is freed now, not at the next collection: indexing
                # runs with the collector off, and frozen models are never collected.)
                _release_model(dropped)

    def _told_now(self, path: Path) -> _Told | None:
        """What `path` tells the workspace now: its record while its text and schemas are
        the same, else computed from its model (parsed again if it was released)."""
        workspace = self.workspace
        source = workspace.source(path)
        if source is None:
            self._told.pop(path, None)
            return None
        schemas = tuple(workspace.app_schemas())
        schema = workspace.schema_for(path)
        adds = adds_indexes(workspace, source)
        told = self._told.get(path)
        if told is not None and told.current(source.data, schemas, schema, adds):
            return told
        model = workspace.model(path)
        facts: FileFacts | None = None
        usage: UsageSummary | None = None
        if model is not None and workspace.component_of(path) is None:
            facts = file_facts(workspace, model, self.config)
            known = self._definitions
            if known is None or len(known[0]) != len(schemas) or not all(map(_same, known[0], schemas)):
                known = self._definitions = (schemas, index_definitions(workspace))
            usage = UsageSummary()
            add_summary(usage, path, cached_file_usage(workspace, model), known[1])
        told = self._told[path] = _Told(source.data, schemas, schema, adds, facts, usage)
        return told

    def _summarised_plan(self) -> tuple[SchemaPlan, MergedIndexUsage]:
        """The schema plan and the index usage of the workspace as it is, from every file's
        `_Told` (the same plan `schema_plan` builds from every file's model), once per revision."""
        workspace = self.workspace
        schemas = tuple(workspace.app_schemas())
        known = self._summarised
        if (
            known is not None
            and known[0] == workspace.revision
            and len(known[1]) == len(schemas)
            and all(map(_same, known[1], schemas))
        ):
            return known[2], known[3]
        facts: list[FileFacts] = []
        parts: list[UsageSummary] = []
        files = workspace.files()
        for path in files:
            told = self._told_now(path)
            if told is None:
                continue
            if told.facts is not None:
                facts.append(told.facts)
            if told.usage is not None:
                parts.append(told.usage)
        if len(self._told) > len(files):
            kept = set(files)
            self._told = {p: t for p, t in self._told.items() if p in kept}
        merged = MergedIndexUsage(parts, workspace)
        plan = plan_from_facts(schemas, merged, facts)
        merged.forget_models()  # (the plan read some references back)
        self._summarised = (workspace.revision, schemas, plan, merged)
        return plan, merged

    # -- checks ---------------------------------------------------------------------------------

    def check(
        self,
        path: Path,
        *,
        model: FileModel | None = None,
        with_workspace_rules: bool | None = None,
        checkpoint: Callable[[], None] | None = None,
        fix_reference: Reference | None = None,
    ) -> tuple[list[Finding], list[RuleFailure]]:
        """The findings of one file, as `convex-xray check` reports them. Workspace rules need
        every file read: until the project is indexed they are left out (the first
        diagnostics of a document must not wait for the whole workspace). `fix_reference`:
        an earlier error-free text of `model`'s to validate fixes against while it has a
        syntax error (`engine.fixes.Reference`)."""
        failures: list[RuleFailure] = []
        if with_workspace_rules is None:
            with_workspace_rules = self.indexed
        workspace_findings = self.workspace_findings(failures) if with_workspace_rules else []
        memo = self.workspace.memo
        # A slice (a keystroke): the schema plan of the last full check. Planning reads every
        # file's model, the edited document's whole model included (a parse and an analysis
        # of all of it per keystroke: 95% of a keystroke's time in a 2,500-line file); the
        # reconcile's full check when the editor settles plans again with this text.
        preset = self._plan if model is not None else None
        if preset is None and self._releasing and self.indexed:
            preset = self._summarised_plan()[0]  # (as `schema_plan` would build it, without models)
        # Before indexing, the workspace-wide text passes read only the files in memory (see
        # `Workspace.provisional`); indexing ends with a re-check of the open documents.
        self.workspace.provisional = None if self.indexed else Memo()
        try:
            if preset is None and not self.indexed:
                # Before indexing, a plan from every file would read them all first (3 s for
                # the first diagnostics of a document in a 732-file app): plan from this file and
                # the schemas only, like the workspace rules left out until then. Indexing ends
                # with a re-check of the open documents under the whole plan.
                preset = self._provisional_plan(path)
            if preset is not None:
                memo.put(PRESET_PLAN, preset)
            findings = check_paths(
                self.workspace,
                self.config,
                [path],
                self.rules,
                failures,
                silent=self.silent,
                models={path: model} if model is not None else None,
                workspace_findings=workspace_findings,
                checkpoint=checkpoint,
                fix_references={path: fix_reference} if fix_reference is not None else None,
            )
        finally:
            self.workspace.provisional = None
            if preset is not None:
                memo.pop(PRESET_PLAN)
        if self.indexed and (model is None or self._plan is None):
            # A slice checked without a plan built one for this text (the document's whole
            # model): keep it too, or every keystroke would build it again until the next
            # full check of this document (never, while typing, when the document was opened
            # as on disk with its findings from indexing).
            self._keep_plan()
        self.release_closed()
        return [f for f in findings if f.path == path], failures

    def _provisional_plan(self, path: Path) -> SchemaPlan | None:
        """The schema plan as far as `path` and the schemas tell it (no other file's queries,
        no index usage): what a check before indexing can know without reading every file."""
        if not any(r.meta.slug in PLAN_RULES for r in self.rules + self.silent):
            return None
        model = self.workspace.model(path)
        facts = file_facts(self.workspace, model, self.config) if model is not None else None
        return plan_from_facts(self.workspace.app_schemas(), IndexUsage(), [facts] if facts is not None else [])

    def _keep_plan(self) -> None:
        """Keep the schema plan the check just built (memoised: no second build)."""
        if any(r.meta.slug in PLAN_RULES for r in self.rules + self.silent):
            if self._releasing and self.indexed:
                self._plan = self._summarised_plan()[0]
            else:
                self._plan = schema_plan(self.workspace, self.config)

    def check_many(self, files: list[Path]) -> tuple[dict[Path, list[Finding]], list[RuleFailure]]:
        """Several files' findings at once (workspace diagnostics)."""
        failures: list[RuleFailure] = []
        workspace_findings = self.workspace_findings(failures) if self.indexed else []
        preset = self._summarised_plan()[0] if self._releasing and self.indexed else None
        if preset is not None:
            self.workspace.memo.put(PRESET_PLAN, preset)
        try:
            findings = check_paths(
                self.workspace,
                self.config,
                files,
                self.rules,
                failures,
                silent=self.silent,
                workspace_findings=workspace_findings,
            )
        finally:
            if preset is not None:
                self.workspace.memo.pop(PRESET_PLAN)
        self._keep_plan()  # a full check: the next keystroke's slice reuses its plan
        self.release_closed()
        by_path: dict[Path, list[Finding]] = {path: [] for path in files}
        for finding in findings:
            by_path.setdefault(finding.path, []).append(finding)
        return by_path, failures

    # -- fixes ----------------------------------------------------------------------------------

    def fix_all(
        self, path: Path, *, unsafe: bool
    ) -> tuple[dict[Path, tuple[SourceFile, bytes]], int]:
        """Apply the fixes of `path`'s findings to a fixpoint (re-checking between passes), in
        memory. Returns, per changed file, the snapshot before and the text after, and how many
        fixes were applied. The workspace is left as it was."""
        workspace = self.workspace
        fixpoint = Fixpoint()
        try:
            fixpoint = fix_to_fixpoint(
                lambda: self.check(path)[0], workspace.source, self.set_source, unsafe=unsafe
            )
        finally:
            for original in fixpoint.before.values():
                self.set_source(original)
        return fixpoint.changed(), fixpoint.applied


class Folder:
    """A workspace folder (or the directory of a lone Convex file) and its projects."""

    def __init__(
        self, path: Path, uri: str, settings: Settings, serials: Serials | None = None
    ) -> None:
        self.serials = serials or Serials()
        self.path = path
        self.uri = uri
        self.settings = settings
        self.projects: list[Project] = []

    def discover(self) -> list[str]:
        """Find the Convex roots and (re)build every project; returns configuration problems."""
        roots = discover_roots(self.path) if self.path.is_dir() else []
        explicit = config_file_for(self.settings, self.path)
        groups: dict[Path | None, list[Path]] = defaultdict(list)
        for root in roots:
            groups[explicit or find_config(root)].append(root)
        problems: list[str] = []
        if explicit is not None and not explicit.is_file():
            problems.append(
                f"convexXray.configFile: {explicit} not found; using the default configuration"
            )
            groups = {None: [r for rs in groups.values() for r in rs]} if groups else {}
        self.projects = [
            Project(self.path, sorted(rs), cfg, self.serials)
            for cfg, rs in sorted(groups.items(), key=lambda i: str(i[0]))
        ]
        for project in self.projects:
            problems += project.configure(self.settings)
        return problems

    def project_for(self, path: Path) -> Project | None:
        best: Project | None = None
        depth = -1
        for project in self.projects:
            root = project.workspace.root_of(path)
            if root is not None and len(root.path.parts) > depth and project.owns(path):
                best, depth = project, len(root.path.parts)
        return best


# -- open documents ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Document:
    uri: str
    path: Path
    source: SourceFile
    language_id: str = "typescript"
    project: Project | None = None
    version: int | None = None  # the editor's version of the text (not the snapshot's)
    # What the client was last sent (kept in step with edits: ranges, fixes): `shown`.
    carried: Carried | None = None
    checked_version: int | None = None
    checked_generation: int = -1
    base_generation: int = -1  # project generation at the last full check
    result_id: int = 0  # changes whenever the findings are recomputed (pull diagnostics)
    base: Base | None = None  # for the statement-slice fast path
    piece: Slice | None = None
    changes: list[TextChange] = field(default_factory=list)  # since the slice was synced
    full_pending: bool = True  # the last check was a fast one: reconcile when idle

    @property
    def shown(self) -> list[Finding]:
        return self.carried.get() if self.carried is not None else []

    @shown.setter
    def shown(self, findings: list[Finding]) -> None:
        self.carried = Carried(self.path, findings)

    def edited(self, source: SourceFile, changes: list[TextChange], version: int | None) -> None:
        shifts = line_shifts(self.source.data, changes)
        self.source = source
        self.version = version
        if self.carried is not None and (self.base is None or self.carried is not self.base.carried):
            self.carried.edit(changes, shifts)
        if self.base is not None:
            self.base.advance(changes, shifts)
        if self.piece is not None:
            self.changes.extend(changes)

    def replaced(self, source: SourceFile) -> None:
        """A new snapshot not derived by edits: start over."""
        self.source = source
        self.carried = None
        self.base = None
        self.piece = None
        self.changes = []


@dataclass
class CheckOutcome:
    findings: list[Finding]
    failures: list[RuleFailure]
    fast: bool  # not yet the full (CLI) result: a reconcile follows when the editor is idle


class Overtaken(Exception):
    """Raised at a check's safe point: the editor has already sent a newer version."""


def check_document(
    doc: Document,
    *,
    full: bool = False,
    known: list[Finding] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> CheckOutcome:
    """The findings of an open document: the statement-slice fast path when the edits since
    the last full check stay inside one Convex function, a full check otherwise. `known`:
    the findings of this very snapshot, already computed (a file opened as it is on disk).
    `checkpoint` is called at safe points and may raise `Overtaken`; the document is then
    left as it was before the check (a later check starts from the same place)."""
    project = doc.project
    if project is None:
        return CheckOutcome([], [], False)
    outcome = None if full or known is not None else _fast_check(doc, project, checkpoint)
    deferred = False
    if outcome is None:
        failures: list[RuleFailure] = []
        if known is not None:
            findings = list(known)
        elif full or not project.indexed:
            findings, failures = project.check(doc.path, checkpoint=checkpoint)
        else:
            # Typing: the workspace rules (every file's index usage) wait for the reconcile
            # when the editor settles; meanwhile their findings here move with the edits.
            findings, failures = project.check(
                doc.path, with_workspace_rules=False, checkpoint=checkpoint
            )
            carried = [f for f in doc.shown if _scope(f.rule) == "workspace"]
            findings = sorted(findings + carried, key=Finding.sort_key)
            deferred = True
        findings = keep_through_syntax_errors(findings, doc.shown, doc.source)
        model = project.workspace.model(doc.path)
        doc.base = Base(
            convex_definitions(model) if model is not None else frozenset(),
            len(doc.source.root.named_children),
            Carried(doc.path, findings),
            source=doc.source,
            convex_objects=convex_objects(model) if model is not None else frozenset(),
        )
        doc.piece = None
        doc.changes = []
        doc.full_pending = deferred
        doc.base_generation = project.generation
        outcome = CheckOutcome(findings, failures, deferred)
    if doc.base is not None and doc.base.carried.get() is outcome.findings:
        doc.carried = doc.base.carried  # one list moved per edit, not two
    else:
        doc.shown = outcome.findings
    doc.checked_version = doc.version
    doc.checked_generation = project.generation
    doc.result_id = project.serials.result_id()
    return outcome


def _fast_check(
    doc: Document, project: Project, checkpoint: Callable[[], None] | None
) -> CheckOutcome | None:
    base = doc.base
    if base is None or base.dirty is None or project.is_schema(doc.path):
        return None
    if project.changed_elsewhere(doc.uri, doc.base_generation):
        return None  # other files changed what this one's findings depend on
    piece = doc.piece
    if piece is not None:
        # Edits inside the live function's arguments: follow them in the slice alone.
        piece = advance_slice(piece, doc.changes, doc.version)
    live: frozenset[str] | None = None  # several definitions: an edit outside them all
    if piece is None:
        root = statements_root(doc.source)
        inside = live_statement(root, base)
        if inside is not None:
            piece = build_slice(doc.source, root, base, *inside)
            piece.reference = earlier_reference(piece, base.source)
        else:
            outside = _outside(doc, base, root)
            if outside is None:
                return None
            doc.piece = None
            doc.changes = []
            if outside.broken:
                # Every finding stands, moved with the edits; the base stays the text that
                # parsed, so the next edit is compared with it (not with the broken one).
                doc.full_pending = True
                return CheckOutcome(base.findings, [], True)
            if not outside.changed:
                # Only comments and whitespace: every finding stands, moved with the edit.
                findings = list(base.findings)
                _settled(doc, base, findings, root)
                return CheckOutcome(findings, [], True)
            live = outside.live
            piece = build_slice(doc.source, root, base, live, None)
    # An outside slice has no arguments to follow: the next edit builds its own.
    doc.piece = piece if live is None else None
    doc.changes = []
    kept = [f for f in base.findings if in_blanked(f.span, piece) or _scope(f.rule) == "workspace"]
    try:
        workspace = project.workspace
        model = analyze_file(piece.source, workspace.options, functools.partial(workspace.loop_helper, from_file=doc.path))
    except RecursionError:
        return None
    if live is not None and convex_definitions(model) != live:
        return None  # the edit made or unmade a Convex function (a builder's import...)
    fresh, failures = project.check(
        doc.path,
        model=model,
        with_workspace_rules=False,
        checkpoint=checkpoint,
        fix_reference=follow_reference(piece) if live is None else None,
    )
    merged = sorted(fresh + kept, key=Finding.sort_key)
    # The slice parses like the document wherever it is not blank: ask it about syntax errors.
    merged = keep_through_syntax_errors(merged, doc.shown, piece.source)
    # As exact as a full check of this text (the fast==full property test holds it to that):
    # the next edit, even in another function, starts from here.
    _settled(doc, base, merged, None)
    return CheckOutcome(merged, failures, True)


def _outside(doc: Document, base: Base, root: Node) -> Outside | None:
    """What the edits since the last check changed outside every Convex function, if that
    is all they touched (`lsp.outside`)."""
    if base.source is None or base.dirty is None:
        return None
    old_root = statements_root(base.source)
    return classify(
        old_root, base.source.data, root, doc.source.data, base.dirty, base.convex_names
    )


def _settled(doc: Document, base: Base, findings: list[Finding], root: Node | None) -> None:
    """The fast check's findings are the document's new base (the next edit starts here)."""
    base.carried = Carried(doc.path, findings)
    base.dirty = None
    base.source = doc.source
    if root is not None:
        base.statement_count = len(root.named_children)
    doc.full_pending = True


def _release_model(model: FileModel | None) -> None:
    """Break the reference cycles of a model the workspace just dropped (events point back
    at their functions), so that reference counting frees it and its syntax tree at once
    (`Project.forget` does so for every model, `set_source` for frozen ones).

    The server freezes what indexing built (`gc.freeze`, see `handlers.indexing.Indexing.index_folder_task`): a frozen
    model in cycles is never collected, so without this every file edited or changed on
    disk after indexing would keep its indexed model and tree (4.5 MiB for a 3,000-line
    file) for the rest of the session. Nothing uses a dropped model: every check and request
    asks the workspace for the current one. (`gc.get_freeze_count()` is no test for this:
    it counts the millions of frozen objects one by one.)"""
    if model is None:
        return
    for function in model.functions:
        function.parent = None
        for events in (
            function.reads,
            function.run_calls,
            function.schedules,
            function.fetches,
            function.helper_calls,
        ):
            for event in events:
                event.function = None
    for events in (model.reads, model.run_calls, model.schedules, model.fetches, model.helper_calls):
        for event in events:
            event.function = None


def _same(a: object, b: object) -> bool:
    return a is b


def _scope(slug: str) -> str:
    rule = resolve_rule(slug)
    return rule.meta.scope if rule is not None else "file"


# -- warming up ---------------------------------------------------------------------------------------

# A small Convex module that takes the analyzer and the rules through their usual paths (a
# query, a loop reading per item, a helper call), so the tree-sitter queries they compile
# once per process and the modules they import lazily are ready before the first document.
_WARM_UP_SOURCE = """import { query } from "./_generated/server";
import { v } from "convex/values";

async function load(ctx, id) {
  return await ctx.db.get(id);
}

export const sample = query({
  args: { ids: v.array(v.id("items")) },
  handler: async (ctx, args) => {
    const rows = await ctx.db.query("items").filter((q) => q.eq(q.field("a"), 1)).collect();
    const ids = args.ids;
    for (const id of ids) {
      const item = await ctx.db.get(id);
      const more = await load(ctx, id);
      rows.push(item, more);
    }
    return await Promise.all(rows.map(async (row) => await ctx.db.get(row._id)));
  },
});
"""


def warm_up_schemas(project: Project) -> None:
    """Read the project's app schemas and what every first check derives from them alone (the
    index naming style, remembered on the schema: 2.2 ms CPU over ConvexPress's 866 indexes)."""
    schemas = [s for s in project.workspace.app_schemas() if s.usable]
    for schema in schemas:
        naming_style([schema])


def warm_up() -> list[Finding]:
    """Check `_WARM_UP_SOURCE` in a throwaway in-memory workspace (no file is written; the
    only disk access is looking for a schema that is not there): pays the per-process costs
    (query compilation, lazy imports; ~35 ms on the benchmark machine) while the server
    would otherwise wait for the client, not in the first document's check. Returns the
    sample's findings (for the test that keeps it exercising the rules)."""
    root = Path("/convex-xray-warm-up/convex")
    # Both grammars: TypeScript for .ts, TSX for .tsx and JavaScript; each compiles its own
    # queries (the analyzer's alone ~65-135 ms), which a helper in a .js file would
    # otherwise pay in the first document's check.
    paths = [root / "sample.ts", root / "sample.tsx"]
    workspace = Workspace([root])
    for path in paths:
        workspace.set_source(SourceFile(path, _WARM_UP_SOURCE))
    config = Config()
    return check_paths(workspace, config, paths, active_rules(config), [])


# -- minimal edits -----------------------------------------------------------------------------------


def minimal_edits(path: Path, before: bytes, after: bytes) -> list[Edit]:
    """Line-diff hunks between two texts, each trimmed to the bytes that differ."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old = b"".join(a[i1:i2])
        new = b"".join(b[j1:j2])
        start = starts[i1]
        prefix = 0
        limit = min(len(old), len(new))
        while prefix < limit and old[prefix] == new[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
            suffix += 1
        # Keep multi-byte characters whole.
        while prefix > 0 and (old[prefix - 1 : prefix] or b"\x00")[0] & 0xC0 == 0x80:
            prefix -= 1
        while prefix > 0 and prefix < len(old) and old[prefix] & 0xC0 == 0x80:
            prefix -= 1
        while suffix > 0 and len(old) - suffix < len(old) and old[len(old) - suffix] & 0xC0 == 0x80:
            suffix -= 1
        edits.append(
            Edit(
                path,
                start + prefix,
                start + len(old) - suffix,
                new[prefix : len(new) - suffix].decode("utf-8"),
            )
        )
    return edits


