"""What only the CLI adds to the engine's `CheckResult`: a baseline's summary, production
insights, and what `--fix`/`--diff` did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (imported when used: `check` without them starts faster)
    from convex_xray.cli.baseline import BaselineSummary
    from convex_xray.cli.insights import InsightsSummary


@dataclass
class FixRun:
    """`--fix` or `--diff`: fixes are applied to a fixpoint (fix, re-check, fix again), so
    `applied` can exceed `offered`, the count the first check offered: a fix can expose a
    problem whose fix then applies too; and fixes that would overlap or break the syntax
    are skipped, so it can also be lower."""

    applied: int
    offered: int
    written: bool  # False for --diff (nothing written)


@dataclass
class RunNotes:
    """Set when `check` filtered through a baseline (`--baseline`), merged `--insights`, or fixed."""

    baseline: BaselineSummary | None = None
    insights: InsightsSummary | None = None
    fix: FixRun | None = None
