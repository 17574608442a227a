"""Which schema indexes the workspace's code names, and where: for the index-hygiene rules.

Counts every `IndexRef` the analyzer records (`.withIndex`, `.withSearchIndex`,
`ctx.vectorSearch`, convex-helpers `getManyFrom/getOneFrom/getManyVia`), in application
code only (component directories are kept apart). Names that cannot be read statically
are tracked so rules can refuse to claim an index is unused: a dynamic name on a known
table silences that table; a dynamic name with an unknown table silences everything,
unless it is a helper's parameter (then its callers pass the name as a string literal,
which the literal scan below sees).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from tree_sitter import Node

from convex_xray.engine.context import RuleContext
from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import FileModel, IndexRef
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import call_args, member_parts, string_value, text_of, unwrap
from convex_xray.engine.workspace import Workspace
from convex_xray.rules.support.add_index import string_literals


@dataclass
class IndexUsage:
    refs: dict[tuple[str, str], list[tuple[FileModel, IndexRef]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_name: dict[str, list[tuple[FileModel, IndexRef]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    dynamic_tables: set[str] = field(default_factory=set)
    fully_dynamic: list[tuple[FileModel, IndexRef]] = field(default_factory=list)
    # String literals spelling an index name outside any IndexRef and index definition
    # (`const INDEX = "by_x"`, a name passed to a wrapper): possible uses.
    mentions: Counter[str] = field(default_factory=Counter)

    def rename_sites(self, table: str, name: str) -> list[tuple[Path, SourceFile, Node | None]]:
        """Where each query on (`table`, `name`) names the index (file, snapshot, the name
        argument when there is one): what a rename edits."""
        return [(model.path, model.source, ref.name_node) for model, ref in self.refs.get((table, name), [])]

    def uses(self, table: str, name: str) -> list[tuple[FileModel, IndexRef]]:
        return [*self.refs.get((table, name), []), *self.by_name.get(name, [])]

    def used(self, table: str, name: str) -> bool:
        return bool(self.uses(table, name)) or self.mentions[name] > 0

    def can_claim(self, table: str) -> bool:
        """True when a missing use of `table`'s indexes means the index is really unused."""
        return not self.fully_dynamic and table not in self.dynamic_tables


def _name_argument(ref: IndexRef) -> Node | None:
    args = call_args(ref.node)
    position = {"withIndex": 0, "withSearchIndex": 0, "vectorSearch": 1}.get(ref.kind)
    if (
        position is None
    ):  # convex-helpers: getManyFrom(db, table, index, ...), getManyVia(db, table, field, index, ...)
        callee = ref.node.child_by_field_name("function")
        position = 3 if callee is not None and "Via" in (callee.text or b"").decode() else 2
    return args[position] if position < len(args) else None


def _const_strings(model: FileModel) -> dict[str, str]:
    """Top-level `const NAME = "literal"` of a file (`const INDEX = "by_jersey"`)."""
    found: dict[str, str] = {}
    for statement in model.source.root.named_children:
        declaration = (
            statement.child_by_field_name("declaration")
            if statement.type == "export_statement"
            else statement
        )
        if declaration is None or declaration.type != "lexical_declaration":
            continue
        for declarator in declaration.named_children:
            if declarator.type != "variable_declarator":
                continue
            name = declarator.child_by_field_name("name")
            value = string_value(unwrap(declarator.child_by_field_name("value")))
            if name is not None and name.type == "identifier" and value is not None:
                found[text_of(name)] = value
    return found


def _passed_in(model: FileModel, ref: IndexRef) -> bool:
    """The dynamic name is a parameter of a plain helper: its callers spell it out."""
    argument = _name_argument(ref)
    parts = member_parts(argument)
    function = model.function_at(ref.node.start_byte)
    if not parts or function is None or function.kind.is_convex:
        return False
    return parts[0] in function.params


@dataclass
class FileUsage:
    """What one file contributes: its index references and its string literals."""

    named: list[tuple[str, IndexRef]] = field(default_factory=list)  # (resolved name, ref)
    dynamic_tables: set[str] = field(default_factory=set)
    fully_dynamic: list[IndexRef] = field(default_factory=list)
    literal_refs: Counter[str] = field(default_factory=Counter)  # names spelled as literals in refs
    literals: Counter[str] = field(default_factory=Counter)  # every identifier-like literal


def file_usage(model: FileModel) -> FileUsage:
    usage = FileUsage()
    consts: dict[str, str] | None = None
    for ref in model.index_refs:
        name = ref.name
        if name is None:
            argument = unwrap(_name_argument(ref))
            if argument is not None and argument.type == "identifier":
                if consts is None:
                    consts = _const_strings(model)
                name = consts.get(text_of(argument))
        if name is None:
            if ref.table is not None:
                usage.dynamic_tables.add(ref.table)
            elif not _passed_in(model, ref):
                usage.fully_dynamic.append(ref)
            continue
        if string_value(ref.name_node) is not None:
            usage.literal_refs[name] += 1
        usage.named.append((name, ref))
    usage.literals = string_literals(model.source)
    return usage


FILE_USAGE: MemoKey[FileUsage] = MemoKey("how one file uses tables and indexes")
# Set by `convex_xray.cli.parallel`: the usage merged from worker processes, so the rules
# need not read every file again.
MERGED_USAGE: MemoKey[IndexUsage] = MemoKey("index usage merged from worker processes")
_COMPUTED_USAGE: MemoKey[IndexUsage] = MemoKey("index usage of the workspace")

# How one file uses indexes, as the index-hygiene rules read it: when a file's signature is
# unchanged across an edit, their findings are too (the language server's workspace-rule cache).
UsageSignature = tuple[object, ...]


def cached_file_usage(workspace: Workspace, model: FileModel) -> FileUsage:
    """`file_usage(model)`, kept by the workspace while `model` is the file's current model."""
    return workspace.per_file(FILE_USAGE, model, file_usage)


def usage_signature(workspace: Workspace, model: FileModel) -> UsageSignature:
    """Everything about one file that the index-hygiene rules read."""
    usage = cached_file_usage(workspace, model)
    return (
        tuple(
            (
                name,
                ref.table,
                ref.kind,
                bool(ref.chain is not None and ref.chain.steps_named("order")),
            )
            for name, ref in usage.named
        ),
        tuple(sorted(usage.dynamic_tables)),
        len(usage.fully_dynamic),
        tuple(sorted(usage.literals.items())),
    )


U = TypeVar("U")


class UsageParts(Protocol[U]):
    """Where files' usage is added up: `IndexUsage` (uses as `(model, ref)`), or a worker
    process's portable summary (uses as `(path, offset)`, see `convex_xray.cli.parallel`)."""

    refs: dict[tuple[str, str], list[U]]
    by_name: dict[str, list[U]]
    dynamic_tables: set[str]
    fully_dynamic: list[U]
    mentions: Counter[str]


def index_definitions(workspace: Workspace) -> Counter[tuple[Path, str]]:
    """(path, name) of every index definition in the app's schemas."""
    definitions: Counter[tuple[Path, str]] = Counter()
    for schema in workspace.app_schemas():
        for table in schema.tables.values():
            for index in table.indexes.values():
                if index.name_span is not None:
                    definitions[(index.name_span.path, index.name)] += 1
    return definitions


def add_file_usage(
    into: UsageParts[U],
    path: Path,
    part: FileUsage,
    definitions: Counter[tuple[Path, str]],
    use: Callable[[IndexRef], U],
) -> None:
    """Add one file's usage (`part`, of the file at `path`) to `into`; `use` says how a use
    is recorded. The one merge, for the serial run and for worker processes alike."""
    for name, ref in part.named:
        if ref.table is None:
            into.by_name[name].append(use(ref))
        else:
            into.refs[(ref.table, name)].append(use(ref))
    into.dynamic_tables |= part.dynamic_tables
    into.fully_dynamic.extend(use(ref) for ref in part.fully_dynamic)
    for name, count in part.literals.items():
        extra = count - part.literal_refs[name] - definitions[(path, name)]
        if extra > 0:
            into.mentions[name] += extra


def compute_usage(workspace: Workspace) -> IndexUsage:
    usage = IndexUsage()
    definitions = index_definitions(workspace)
    for model in workspace.models():
        if workspace.component_of(model.path) is not None:
            continue  # a component's code uses the component's own tables
        part = cached_file_usage(workspace, model)

        def use(ref: IndexRef, model: FileModel = model) -> tuple[FileModel, IndexRef]:
            return (model, ref)

        add_file_usage(usage, model.path, part, definitions, use)
    return usage


def index_usage(ctx: RuleContext) -> IndexUsage:
    """The workspace's index usage, computed once per run and shared by the rules."""
    merged = ctx.workspace.memo.get(MERGED_USAGE)
    if merged is not None:
        return merged  # merged from worker processes (`convex_xray.cli.parallel`)
    cached = ctx.memo.get(_COMPUTED_USAGE)
    if cached is None:
        cached = ctx.memo.put(_COMPUTED_USAGE, compute_usage(ctx.workspace))
    return cached
