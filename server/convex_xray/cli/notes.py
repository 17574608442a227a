"""What only the CLI adds to the engine's `CheckResult`: a baseline's summary and production insights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (imported when used: `check` without them starts faster)
    from convex_xray.cli.baseline import BaselineSummary
    from convex_xray.cli.insights import InsightsSummary


@dataclass
class RunNotes:
    """Set when `check` filtered through a baseline (`--baseline`) or merged `--insights`."""

    baseline: BaselineSummary | None = None
    insights: InsightsSummary | None = None
