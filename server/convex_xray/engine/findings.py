"""What rules produce: findings, related locations, and fixes as data (edits + applicability)."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convex_xray.engine.cost import Cost


class Severity(enum.IntEnum):
    """How much a finding costs. Higher is worse; ordering is used for `--fail-on`."""

    HINT = 1
    INFO = 2
    WARNING = 3
    ERROR = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {text!r} (expected error, warning, info or hint)"
            ) from None


class Applicability(enum.Enum):
    """Whether a fix may be applied without a human looking (ruff's model)."""

    SAFE = "safe"  # keeps the program's meaning in every case
    UNSAFE = "unsafe"  # keeps the common case; the difference is named; only with --unsafe-fixes
    # No third kind: advice that edits nothing belongs in the message, hover and docs, never
    # in a quick fix that does nothing when chosen.


class FixAvailability(enum.Enum):
    NEVER = "never"
    SOMETIMES = "sometimes"
    ALWAYS = "always"


@dataclass(frozen=True, slots=True)
class Span:
    """A byte range in one file (tree-sitter speaks bytes; positions are derived late)."""

    path: Path
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace bytes [start, end) of `path` with `new_text`."""

    path: Path
    start: int
    end: int
    new_text: str
    # The same text as an LSP snippet (`${1:value}` where the author should choose), for
    # editors that take snippet edits; the CLI and other editors apply `new_text`.
    snippet: str | None = None

    def with_placeholder(self, value: str) -> Edit:
        """This edit with the first `value` in its text as a snippet placeholder to type over."""
        at = self.new_text.find(value)
        if at < 0:
            return self
        escape = lambda text: re.sub(r"([$}\\])", r"\\\1", text)  # noqa: E731
        head, tail = self.new_text[:at], self.new_text[at + len(value) :]
        snippet = f"{escape(head)}${{1:{escape(value)}}}{escape(tail)}"
        return replace(self, snippet=snippet)

    @classmethod
    def insert(cls, path: Path, at: int, text: str) -> Edit:
        return cls(path, at, at, text)

    @classmethod
    def delete(cls, path: Path, start: int, end: int) -> Edit:
        return cls(path, start, end, "")


@dataclass(frozen=True, slots=True)
class Fix:
    """A titled set of edits (possibly across files) with a safety decision.

    Build through `Fix.safe/unsafe` so no fix exists without a decision. A fix without
    edits never leaves the engine (`engine/fixes.FixValidator` drops it).
    """

    title: str
    edits: tuple[Edit, ...]
    applicability: Applicability

    @classmethod
    def safe(cls, title: str, edits: Sequence[Edit]) -> Fix:
        return cls(title, tuple(edits), Applicability.SAFE)

    @classmethod
    def unsafe(cls, title: str, edits: Sequence[Edit]) -> Fix:
        return cls(title, tuple(edits), Applicability.UNSAFE)

    @property
    def paths(self) -> set[Path]:
        return {e.path for e in self.edits}


@dataclass(frozen=True, slots=True)
class Related:
    span: Span
    message: str


@dataclass(slots=True)
class Finding:
    """One diagnostic, in bytes. Converted to lines/columns only by the output shells."""

    rule: str  # slug
    code: str
    severity: Severity
    span: Span
    message: str
    related: list[Related] = field(default_factory=list)
    fix: Fix | None = None
    # Other ways to fix it, offered in editors next to `fix` (never applied by `--fix`).
    alternatives: list[Fix] = field(default_factory=list)
    # Name of the enclosing function (for baselines and code lens), if known.
    function: str | None = None
    # Whether a Convex per-function limit is at risk (a whole table read in one call): such
    # findings keep their tier in scripts (see `convex_xray.engine.roles`).
    limit_risk: bool = False
    # production / test / script, set by the runner from the file's path.
    role: str = "production"
    # What it costs (reads per call, growth, score), when the rule measured it.
    cost: Cost | None = None

    @property
    def path(self) -> Path:
        return self.span.path

    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.span.path), self.span.start, self.span.end, self.rule)
