"""The index usage as plain data: what each file contributes to it kept without its model
or syntax tree (a file's references by position), merged, and read back from the files only
when a rule asks for the references themselves. Shared by the CLI's worker processes and
released serial checks (`convex_xray.cli.parallel`) and the language server, which drops the
models of closed files once their summaries are kept (`convex_xray.lsp.session.Project`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.model import FileModel, IndexRef
from convex_xray.engine.source import SourceFile
from convex_xray.engine.workspace import Workspace
from convex_xray.rules.support.index_usage import FileUsage, IndexUsage, add_file_usage

# (file, start byte of the IndexRef's node, (start, end, type) of its name argument or None)
RefKey = tuple[Path, int, tuple[int, int, str] | None]


@dataclass
class UsageSummary:
    """Files' contributions to the workspace's index usage, as plain data (no model, no tree)."""

    refs: dict[tuple[str, str], list[RefKey]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[RefKey]] = field(default_factory=lambda: defaultdict(list))
    dynamic_tables: set[str] = field(default_factory=set)
    fully_dynamic: list[RefKey] = field(default_factory=list)
    mentions: Counter[str] = field(default_factory=Counter)


class _Rehydrating(dict):
    """`key -> [(FileModel, IndexRef)]`, read back from the files only when asked."""

    def __init__(self, portable: dict, workspace: Workspace) -> None:
        super().__init__()
        self._portable = portable
        self._workspace = workspace

    def forget(self) -> None:
        """Drop what was read back (it holds the files' models); asked again, read again."""
        super().clear()

    def get(self, key, default=None):
        if key not in self._portable:
            return default
        if not super().__contains__(key):
            super().__setitem__(key, [pair for ref in self._portable[key] if (pair := _find_ref(self._workspace, ref))])
        return super().__getitem__(key)

    def __getitem__(self, key):
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._portable

    def __bool__(self) -> bool:
        return bool(self._portable)


def _find_ref(workspace: Workspace, key: RefKey) -> tuple[FileModel, IndexRef] | None:
    model = workspace.model(key[0])
    if model is None:
        return None
    for ref in model.index_refs:
        if ref.node.start_byte == key[1]:
            return model, ref
    return None


def _node_at(root: Node, start: int, end: int, kind: str) -> Node | None:
    """The node of type `kind` spanning exactly [start, end) (the innermost, when a parent
    spans the same bytes)."""
    node: Node | None = root.descendant_for_byte_range(start, end)
    while node is not None and node.start_byte == start and node.end_byte == end:
        if node.type == kind:
            return node
        node = node.parent
    return None


class MergedIndexUsage(IndexUsage):
    """Summaries (`UsageSummary`: a worker's shard, a file) merged; answers `used`/`can_claim` without touching any file."""

    def __init__(self, parts: Iterable[UsageSummary], workspace: Workspace) -> None:
        super().__init__()
        refs: dict[tuple[str, str], list[RefKey]] = defaultdict(list)
        by_name: dict[str, list[RefKey]] = defaultdict(list)
        fully_dynamic: list[RefKey] = []
        for shard in parts:
            for key, items in shard.refs.items():
                refs[key].extend(items)
            for name, items in shard.by_name.items():
                by_name[name].extend(items)
            self.dynamic_tables |= shard.dynamic_tables
            fully_dynamic.extend(shard.fully_dynamic)
            self.mentions.update(shard.mentions)
        for items in [*refs.values(), *by_name.values()]:
            # The serial order: by file as `Workspace.files()` sorts them (by path component, so
            # `billing/admin.ts` before `billing-schema.ts`: not their text order), then position.
            items.sort(key=lambda k: (k[0], k[1]))
        self._refs_keys = refs
        self._workspace = workspace
        self._by_name_keys = by_name
        self._fully_dynamic = bool(fully_dynamic)
        self._read_back = (_Rehydrating(refs, workspace), _Rehydrating(by_name, workspace))
        self.refs, self.by_name = self._read_back

    def rename_sites(self, table: str, name: str) -> list[tuple[Path, SourceFile, Node | None]]:
        """The name arguments of the queries on (`table`, `name`), found in each file's parse
        tree by their byte range: no model (the workspace rules renamed through ~84 files'
        full models on a 730-file app, ~9% of its check)."""
        sites: list[tuple[Path, SourceFile, Node | None]] = []
        for path, _start, span in self._refs_keys.get((table, name), []):
            source = self._workspace.source(path)
            if source is None:
                continue
            sites.append((path, source, _node_at(source.root, *span) if span is not None else None))
        return sites

    def forget_models(self) -> None:
        for read_back in self._read_back:
            read_back.forget()

    def used(self, table: str, name: str) -> bool:
        return bool(self._refs_keys.get((table, name))) or bool(self._by_name_keys.get(name)) or self.mentions[name] > 0

    def can_claim(self, table: str) -> bool:
        return not self._fully_dynamic and table not in self.dynamic_tables


def ref_key(path: Path, ref: IndexRef) -> RefKey:
    """Where `ref` is, as plain data (`_find_ref` finds it again in a model of the same text)."""
    name = ref.name_node
    span = (name.start_byte, name.end_byte, name.type) if name is not None else None
    return (path, ref.node.start_byte, span)


def add_summary(into: UsageSummary, path: Path, part: FileUsage, definitions: Counter[tuple[Path, str]]) -> None:
    """Add one file's usage (`part`, of the file at `path`) to `into`, by position."""
    add_file_usage(into, path, part, definitions, lambda ref: ref_key(path, ref))
