"""The rule registry and the context a rule checks with.

A rule is one module in `convex_xray.rules`: a `META` (stable code + slug + default
severity), a module docstring that is its user documentation, and a `check` function
decorated with `@register(META)` that yields findings.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tree_sitter import Node

from convex_xray.engine.findings import Finding, Fix, FixAvailability, Related, Severity, Span

if TYPE_CHECKING:
    from convex_xray.engine.config import Config
    from convex_xray.engine.model import FileModel, FunctionModel
    from convex_xray.engine.schema import Schema
    from convex_xray.engine.source import SourceFile
    from convex_xray.engine.suppressions import Suppressions
    from convex_xray.engine.workspace import Workspace

DOCS_BASE_URL = "https://github.com/convex-xray/convex-xray/blob/main/docs/rules"


@dataclass(frozen=True)
class RuleMeta:
    code: str
    slug: str
    severity: Severity
    summary: str  # one line: what it finds
    fix: FixAvailability = FixAvailability.NEVER
    # file | workspace (runs once over the whole workspace) | post (runs per checked file
    # after every other rule and after suppressions were applied: sees which were used)
    scope: str = "file"
    unnecessary: bool = False  # editors show these faded (LSP DiagnosticTag.Unnecessary)

    @property
    def docs_url(self) -> str:
        return f"{DOCS_BASE_URL}/{self.slug}.md"


CheckFunction = Callable[["RuleContext"], Iterable[Finding]]


@dataclass
class Rule:
    meta: RuleMeta
    check: CheckFunction
    doc: str

    @property
    def name(self) -> str:
        return self.meta.slug

    def doc_section(self, title: str) -> str:
        """The body of a `## title` section of the rule's docs."""
        match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", self.doc, re.M | re.S)
        return match.group(1).strip() if match else ""


_RULES: dict[str, Rule] = {}


def register(meta: RuleMeta) -> Callable[[CheckFunction], CheckFunction]:
    def decorator(check: CheckFunction) -> CheckFunction:
        module = importlib.import_module(check.__module__)
        doc = (module.__doc__ or "").strip()
        if meta.slug in _RULES and _RULES[meta.slug].check is not check:
            raise RuntimeError(f"rule {meta.slug} registered twice")
        _RULES[meta.slug] = Rule(meta, check, doc)
        return check

    return decorator


_LOADED = False


def _load_rules() -> None:
    """Import every built-in rule module once (a rule registered earlier, e.g. by a test,
    does not stop the built-ins from loading)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import convex_xray.rules as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_") and not info.ispkg:  # rules.support is not a rule
            importlib.import_module(f"{package.__name__}.{info.name}")


def all_rules() -> list[Rule]:
    _load_rules()
    return sorted(_RULES.values(), key=lambda r: r.meta.code)


def resolve_rule(name: str) -> Rule | None:
    """A rule by slug or code (case-insensitive code)."""
    _load_rules()
    if name in _RULES:
        return _RULES[name]
    for rule in _RULES.values():
        if rule.meta.code.lower() == name.lower():
            return rule
    return None


@dataclass
class RuleContext:
    """What a rule sees: one file's model (or, for workspace rules, none) and the workspace."""

    workspace: Workspace
    config: Config
    model: FileModel | None = None
    # Per-file scratch space for rules and fixes (e.g. names visible in a function), so
    # work shared by several findings of one file is done once.
    memo: dict[object, object] = field(default_factory=dict)
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
        )


def iter_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Iterator[Rule]:
    selected = set(select)
    ignored = set(ignore)
    for rule in all_rules():
        if selected and rule.meta.slug not in selected:
            continue
        if rule.meta.slug in ignored:
            continue
        yield rule
