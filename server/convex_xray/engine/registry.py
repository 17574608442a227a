"""The rule registry: every rule's metadata and check function, found by code or slug.

A rule is one module in `convex_xray.rules`: a `META` (stable code + slug + default
severity), a module docstring that is its user documentation, and a `check` function
decorated with `@register(META)` that yields findings.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convex_xray.engine.findings import Finding, FixAvailability, Severity

if TYPE_CHECKING:
    from convex_xray.engine.context import RuleContext

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
    suppressible: bool = True  # False: disable comments do not silence it (a syntax error)

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


def iter_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Iterator[Rule]:
    selected = set(select)
    ignored = set(ignore)
    for rule in all_rules():
        if selected and rule.meta.slug not in selected:
            continue
        if rule.meta.slug in ignored:
            continue
        yield rule
