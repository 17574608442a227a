"""The order findings are reported in, and what counts as fixable.

Worst first: severity, then the cost model's score (`finding.cost.score`, highest first)
where a finding has one; findings without a score keep file/line order within their tier,
after the scored ones. `--sort file` is plain file/line order, `--sort cost` puts the
score before the severity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from convex_xray.engine.findings import Finding
from convex_xray.engine.fixes import applicable

SORTS = ("severity", "file", "cost")


def cost_score(finding: Finding) -> float | None:
    """The cost model's score of `finding`, or None when it has none (read through
    `getattr`: findings from older caches and rules without an estimate carry no cost)."""
    cost: Any = getattr(finding, "cost", None)
    score = getattr(cost, "score", None) if cost is not None else None
    return float(score) if isinstance(score, (int, float)) else None


def _cost_key(finding: Finding) -> tuple[int, float]:
    score = cost_score(finding)
    return (0, -score) if score is not None else (1, 0.0)


def ordered(findings: Iterable[Finding], sort: str = "severity") -> list[Finding]:
    if sort == "file":
        return sorted(findings, key=lambda f: f.sort_key())
    if sort == "cost":
        return sorted(findings, key=lambda f: (_cost_key(f), -f.severity, f.sort_key()))
    return sorted(findings, key=lambda f: (-f.severity, _cost_key(f), f.sort_key()))


def fixable_count(findings: Iterable[Finding], *, unsafe: bool = False) -> int:
    """Findings whose own fix `check --fix` (with `--unsafe-fixes` when `unsafe`) applies."""
    return sum(1 for f in findings if applicable(f.fix, unsafe=unsafe))


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """`1 problem`, `2 problems`; `plural_form` for irregular nouns (`entry`/`entries`)."""
    word = noun if count == 1 else (plural_form or noun + "s")
    return f"{count} {word}"
