"""Per-project analysis options and the time budget."""

from __future__ import annotations

from dataclasses import dataclass, field

from convex_xray.engine.model import (
    FunctionKind,
)


@dataclass
class AnalysisOptions:
    """Per-project knobs for the analyzer (from convex-xray.toml)."""

    extra_builders: dict[str, FunctionKind] = field(default_factory=dict)
    # A file whose analysis takes longer than this is skipped with a message.
    time_budget_s: float = 5.0


class AnalysisBudgetExceeded(Exception):
    """The file is too pathological to analyse within the time budget."""
