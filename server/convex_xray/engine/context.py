"""The context a rule checks with: one file's model (or none, for workspace rules), the
workspace, the configuration, and per-check scratch space."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.config import Config
from convex_xray.engine.cost import Cost, CostAssumptions
from convex_xray.engine.findings import Finding, Fix, Related, Severity, Span
from convex_xray.engine.memo import Memo
from convex_xray.engine.model import FileModel, FunctionModel
from convex_xray.engine.registry import RuleMeta
from convex_xray.engine.schema import Schema
from convex_xray.engine.source import SourceFile
from convex_xray.engine.suppressions import Suppressions
from convex_xray.engine.triggers import trigger_index, trigger_of
from convex_xray.engine.workspace import Workspace
from convex_xray.engine.writers import cost_assumptions


@dataclass
class RuleContext:
    """What a rule sees: one file's model (or, for workspace rules, none) and the workspace."""

    workspace: Workspace
    config: Config
    model: FileModel | None = None
    # Per-file scratch space for rules and fixes (e.g. names visible in a function), so
    # work shared by several findings of one file is done once; typed keys (`MemoKey`).
    memo: Memo = field(default_factory=Memo)
    # Post rules only: this file's disable comments (with `used` set) and the slugs of the
    # rules that ran on it.
    suppressions: Suppressions | None = None
    active_rules: frozenset[str] = frozenset()

    @property
    def source(self) -> SourceFile:
        assert self.model is not None, "workspace rules have no single file"
        return self.model.source

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def schema(self) -> Schema | None:
        """The schema governing this file, or None when it is missing or unreadable."""
        if self.model is None:
            return None
        schema = self.workspace.schema_for(self.path)
        return schema if schema is not None and schema.usable else None

    def span(self, node: Node) -> Span:
        return Span(self.path, node.start_byte, node.end_byte)

    def related(self, node: Node, message: str) -> Related:
        return Related(self.span(node), message)

    @property
    def cost(self) -> CostAssumptions:
        """The cost model's sizes: `[cost]` of the configuration plus what the workspace shows
        (tables only platform admins write, `engine.writers`)."""
        return cost_assumptions(self.workspace, self.config)

    def trigger(self, function: FunctionModel | None) -> str | None:
        """`cron` or `scheduled` when crons.ts or `ctx.scheduler.run*` names the function
        (the cost model's context for it), else None."""
        if self.model is None or function is None:
            return None
        found = trigger_of(self.workspace, self.model, function, trigger_index(self.workspace))
        return found.kind if found is not None else None

    def function_at(self, node: Node) -> FunctionModel | None:
        return self.model.function_at(node.start_byte) if self.model else None

    def finding(
        self,
        meta: RuleMeta,
        span: Span | Node,
        message: str,
        *,
        severity: Severity | None = None,
        related: Iterable[Related] = (),
        fix: Fix | None = None,
        alternatives: Iterable[Fix] = (),
        function: str | None = None,
        limit_risk: bool = False,
        cost: Cost | None = None,
    ) -> Finding:
        if isinstance(span, Node):
            span = self.span(span)
        if function is None and self.model is not None and span.path == self.path:
            owner = self.model.function_at(span.start)
            function = owner.name if owner else None
        return Finding(
            rule=meta.slug,
            code=meta.code,
            severity=severity or meta.severity,
            span=span,
            message=message,
            related=list(related),
            fix=fix,
            alternatives=list(alternatives),
            function=function,
            limit_risk=limit_risk,
            cost=cost,
        )
