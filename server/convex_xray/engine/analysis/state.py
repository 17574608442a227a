"""What one pass over one file knows: the source, the model being built, caches, the time budget."""

from __future__ import annotations

import time
from collections.abc import Callable

from tree_sitter import Node

from convex_xray.engine.analysis.options import AnalysisBudgetExceeded, AnalysisOptions
from convex_xray.engine.model import (
    DbRead,
    FileModel,
    FunctionModel,
    Loop,
)
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import descend_path

ImportedLoopHelper = Callable[[str, str], bool | None]


class AnalyzerState:
    """What one pass over one file knows: the source, the model being built, caches, the time budget."""

    def __init__(self, source: SourceFile, options: AnalysisOptions, imported_loop_helper: ImportedLoopHelper | None = None) -> None:
        self.source = source
        self.options = options
        # (module specifier, exported name) -> whether that function runs its callback per item
        # (True: concurrently), None when it does not or cannot be read: wrappers of other files.
        self.imported_loop_helper = imported_loop_helper
        self.model = FileModel(source)
        self.functions_by_node: dict[int, FunctionModel] = {}
        self.loop_cache: dict[int, Loop | None] = {}
        self.chain_nodes: set[int] = set()
        self.top_consts: dict[str, Node] = {}
        # name -> runs its items concurrently, for this file's own `asyncMap`-like wrappers.
        self.learned_loop_helpers: dict[str, bool] | None = None
        # Top-level object literals and classes whose methods became `Name.method` helpers.
        self.method_owners: set[str] = set()
        # Local names bound to what a factory returns: name -> [(declarator, factory callee)].
        self.factory_values: dict[str, list[tuple[Node, str]]] = {}
        self.context_memo: dict[int, tuple[FunctionModel | None, tuple[Loop, ...]]] = {}
        self.deadline = time.monotonic() + options.time_budget_s

    def check_budget(self) -> None:
        if time.monotonic() > self.deadline:
            raise AnalysisBudgetExceeded(
                f"analysis took longer than {self.options.time_budget_s:g}s (pathologically nested code?); skipped"
            )

    def ancestors(self, node: Node) -> list[Node]:
        """`node`'s ancestors from the root down, then `node` itself (see `descend_path`)."""
        return descend_path(self.source.root, node, self.check_budget)

    def awaited(self, node: Node) -> bool:
        parent = node.parent
        while parent is not None and parent.type in ("parenthesized_expression", "as_expression", "non_null_expression"):
            parent = parent.parent
        return parent is not None and parent.type == "await_expression"

    def record_read(self, read: DbRead) -> None:
        self.model.reads.append(read)
        if read.function is not None:
            read.function.reads.append(read)
