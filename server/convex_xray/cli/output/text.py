"""Human output: one line per finding, `path:line:col: severity CODE [slug] message`
(`--output-format concise`, the default when stdout is not a terminal), or that line with
the source line, a caret, related locations, cost and fix under it (`full`, the default on
a terminal); a footer with the counts; `--statistics` a per-rule table instead."""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convex_xray.cli.notes import RunNotes
from convex_xray.cli.output.locations import locate
from convex_xray.cli.output.order import cost_score, fixable_count, ordered, plural
from convex_xray.engine.findings import Applicability, Finding, Severity
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.source import Encoding
from convex_xray.engine.workspace import Workspace

if TYPE_CHECKING:  # (imported when used: `check` without them starts faster)
    from convex_xray.cli.baseline import BaselineSummary
    from convex_xray.cli.insights import InsightsSummary

_COLORS = {
    Severity.ERROR: "\033[31m",
    Severity.WARNING: "\033[33m",
    Severity.INFO: "\033[36m",
    Severity.HINT: "\033[2m",
}
_BOLD = "\033[1m"
_RESET = "\033[0m"


def _cells(text: str) -> int:
    """Terminal columns `text` takes: wide (East Asian, emoji) 2, combining marks 0."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or char in "\u200d\ufe0f":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class TextOptions:
    """How `--format text` looks. `full`: the code frame, related locations, cost and fix
    under each finding (the default on a terminal); otherwise one line per finding."""

    color: bool = False
    full: bool = True
    show_fixes: bool = False
    quiet: bool = False
    statistics: bool = False
    sort: str = "severity"
    top: int | None = None


def render_text(
    workspace: Workspace,
    result: CheckResult,
    *,
    options: TextOptions | None = None,
    notes: RunNotes | None = None,
) -> str:
    options = options or TextOptions()
    if options.statistics:
        return statistics_table(result)
    out: list[str] = []

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if options.color else text

    findings = ordered(result.findings, options.sort)
    shown = findings if options.top is None else findings[: options.top]
    if not options.quiet:
        if options.full and shown:
            out.append(header(workspace, result, options.sort))
            out.append("")
        for finding in shown:
            where = locate(workspace, finding.span)
            head = f"{display_path(where.path)}:{where.line}:{where.column}:"
            label = paint(f"{finding.severity.label} {finding.code} [{finding.rule}]", _COLORS[finding.severity])
            out.append(f"{paint(head, _BOLD)} {label} {finding.message}")
            if options.full:
                out.extend(_frame(workspace, finding, where.line, where.end_line, paint))
                for item in finding.related:
                    at = locate(workspace, item.span)
                    out.append(f"        = {display_path(at.path)}:{at.line}:{at.column}: {item.message}")
                cost = cost_text(finding)
                if cost:
                    out.append(f"        cost: {cost}")
            if finding.fix is not None and (options.full or options.show_fixes):
                out.append(f"        help: {finding.fix.title} ({_fix_kind(finding)})")
            if options.full:
                out.append("")
        if len(shown) < len(findings):
            rest = len(findings) - len(shown)
            out.append(f"… and {plural(rest, 'more problem')} not shown (--top {options.top}).")
        for problem in result.problems:
            out.append(f"{display_path(problem.path)}: skipped: {problem.message}")
        for failure in result.failures:
            failed_on = f" on {display_path(failure.path)}" if failure.path else ""
            out.append(f"internal error: rule {failure.rule} failed{failed_on}: {failure.error}")
    while out and not out[-1]:
        out.pop()
    if out:
        out.append("")
    out.extend(footer(result, notes))
    return "\n".join(out)


def _fix_kind(finding: Finding) -> str:
    assert finding.fix is not None
    applicability = finding.fix.applicability
    if applicability is Applicability.SAFE and finding.fix.edits:
        return "safe fix: --fix applies it"
    if applicability is Applicability.UNSAFE and finding.fix.edits:
        return "unsafe fix: --fix --unsafe-fixes applies it"
    return "suggestion: apply it by hand"


def _frame(workspace: Workspace, finding: Finding, line: int, end_line: int, paint: Callable[[str, str], str]) -> list[str]:
    source = workspace.source(finding.path)
    if source is None:
        return []
    line_index = line - 1
    start = source.lines.line_starts[line_index]
    end = source.lines.line_end(line_index)
    line_text = source.slice(start, end).expandtabs(1)
    _, col = source.lines.position(finding.span.start, Encoding.UTF32)
    _, end_col = source.lines.position(min(finding.span.end, end), Encoding.UTF32)
    if end_line != line:
        end_col = len(line_text)
    # Terminal cells, not code points: CJK and emoji are two cells wide.
    indent = _cells(line_text[:col])
    width = max(1, _cells(line_text[col:end_col]))
    return [
        f"  {line:>5} | {line_text}",
        f"        | {' ' * indent}{paint('^' + '~' * (width - 1), _COLORS[finding.severity])}",
    ]


# How each growth class reads in a sentence (engine/cost.py's Growth labels).
_GROWTH_WORDS = {
    "constant": "a fixed count",
    "bounded": "bounded by a limit in the code",
    "per-parent": "grows with one parent's children",
    "per-tenant": "grows with one tenant (an org, team or club)",
    "whole-table": "grows with the table",
}


def cost_text(finding: Finding) -> str | None:
    """The cost model's estimate in words: reads (or calls) per call, how it grows, and the
    score findings are ranked by, with each factor that makes it differ from the count named
    (a reactive public query counts twice, a loop that waits for each item half again)."""
    cost: Any = getattr(finding, "cost", None)
    if cost is None:
        return None
    reads, unit = getattr(cost, "reads", None), getattr(cost, "unit", "reads")
    score = cost_score(finding)
    if not isinstance(reads, int):
        return f"ranking score {score:,.0f}" if score is not None else None
    growth = getattr(getattr(cost, "growth", None), "label", "")
    text = f"≈ {reads:,} {unit if reads != 1 else unit.rstrip('s')} each time the function runs"
    if growth in _GROWTH_WORDS:
        text += f", {_GROWTH_WORDS[growth]}"
    if score is None or reads <= 0 or round(score) == reads:
        return text
    factors, rest = [], score / reads
    if getattr(cost, "context", "") == "public-query":
        factors.append("x 2: a public query re-runs on every change to what it read")
        rest /= 2
    if abs(rest - 1.5) < 1e-9:
        factors.append("x 1.5: the loop waits for each item in turn")
        rest = 1.0
    why = f" ({'; '.join(factors)})" if factors and abs(rest - 1.0) < 1e-9 else ""
    return f"{text}; ranked by score {score:,.0f}{why}"


_ORDERS = {
    "severity": "worst first (severity, then estimated cost)",
    "cost": "by estimated cost, highest first",
    "file": "by file and line",
}


def header(workspace: Workspace, result: CheckResult, sort: str) -> str:
    """What was checked: the file count, then each root with its kind, files and why it was
    taken, so a user sees at once whether the tool looked at the right code (a missed
    component, a library's source pulled in)."""
    roots = workspace.checked_roots()
    lines = [f"Checked {plural(result.files, 'file')} in {plural(len(roots), 'root')}; {_ORDERS[sort]}."]
    for root in roots:
        why = f" ({root.reason})" if root.reason else ""
        lines.append(f"  {display_path(root.path)}/  {root.kind}, {plural(root.files, 'file')}{why}")
    return "\n".join(lines)


def _tiers(findings: list[Finding]) -> str:
    by_severity = Counter(f.severity for f in findings)
    parts = [plural(by_severity[s], s.label) for s in sorted(by_severity, reverse=True)]
    return f" ({', '.join(parts)})" if parts else ""


def footer(result: CheckResult, notes: RunNotes | None) -> list[str]:
    """The counts: per tier, and how many `--fix` would fix; after `--fix`/`--diff` what was
    (or would be) fixed and what remains."""
    lines: list[str] = []
    elapsed = f"({result.elapsed_ms / 1000:.2f}s)"
    files = plural(result.files, "file")
    count = len(result.findings)
    fix = notes.fix if notes is not None else None
    # With a baseline the findings shown are the new ones; the baseline line counts the rest.
    noun = "new problem" if notes is not None and notes.baseline is not None else "problem"
    if fix is None:
        lines.append(f"Found {plural(count, noun)}{_tiers(result.findings)} in {files} {elapsed}.")
        safe = fixable_count(result.findings)
        unsafe = fixable_count(result.findings, unsafe=True) - safe
        if safe or unsafe:
            line = f"{safe} fixable with `--fix`"
            if unsafe:
                line += f" ({unsafe} more with `--fix --unsafe-fixes`)"
            lines.append(line + "; `--diff` previews the changes.")
    else:
        verb = "Fixed" if fix.written else "Would fix"
        line = f"{verb} {plural(fix.applied, 'problem')}"
        if fix.applied != fix.offered:
            line += f" ({fix.offered} offered by the first check; " + (
                "fixing those exposed more, fixed in further passes)"
                if fix.applied > fix.offered
                else "the rest overlap or would break the syntax)"
            )
        remain = "remain" if fix.written else "would remain"
        lines.append(
            f"{line}; {plural(count, noun)} {remain}{_tiers(result.findings)} in {files} {elapsed}."
        )
    if notes is not None and notes.baseline is not None:
        lines.append(baseline_line(notes.baseline))
    if notes is not None and notes.insights is not None:
        lines.append(insights_line(notes.insights))
    return lines


def statistics_table(result: CheckResult) -> str:
    """`--statistics`: one row per rule, most frequent first: count, code, rule, count per
    tier, and how many `--fix` fixes (ruff's `--statistics`, plus the tiers)."""
    tiers = sorted(Severity, reverse=True)
    rows: dict[tuple[str, str], list[Finding]] = {}
    for finding in result.findings:
        rows.setdefault((finding.code, finding.rule), []).append(finding)
    width = max([len("rule"), *(len(rule) for _, rule in rows)])
    head = f"{'count':>6}  code   {'rule':<{width}}  " + "  ".join(f"{s.label:>7}" for s in tiers) + "  fixable"
    out = [head]
    for (code, rule), found in sorted(rows.items(), key=lambda kv: (-len(kv[1]), kv[0][0])):
        by_tier = Counter(f.severity for f in found)
        cells = "  ".join(f"{by_tier[s]:>7}" for s in tiers)
        out.append(f"{len(found):>6}  {code}  {rule:<{width}}  {cells}  {fixable_count(found):>7}")
    total = Counter(f.severity for f in result.findings)
    cells = "  ".join(f"{total[s]:>7}" for s in tiers)
    out.append(f"{len(result.findings):>6}  {'total':<5}  {'':<{width}}  {cells}  {fixable_count(result.findings):>7}")
    return "\n".join(out)


def baseline_line(baseline: BaselineSummary) -> str:
    line = (
        f"Baseline {display_path(baseline.path)}: {baseline.matched} known (not shown), "
        f"{baseline.new} new, {len(baseline.stale)} stale"
    )
    if baseline.stale:
        line += " (fixed since it was recorded; " + (
            "removed from the baseline)" if baseline.pruned else "`--prune-baseline` drops them)"
        )
    if baseline.written is not None:
        line += f"; wrote {plural(baseline.written, 'entry', 'entries')}"
    return line + "."


def insights_line(insights: InsightsSummary) -> str:
    line = (
        f"Production insights: {insights.total} read, {insights.mapped} matched to functions here, "
        f"{plural(insights.annotated, 'finding')} annotated, "
        f"{insights.raised} raised to a higher severity"
    )
    if insights.unmatched:
        line += f"; not found in this workspace: {', '.join(insights.unmatched[:5])}"
        if len(insights.unmatched) > 5:
            line += f" and {len(insights.unmatched) - 5} more"
    if insights.quiet:
        line += f"; with no static finding: {', '.join(insights.quiet[:5])}"
        if len(insights.quiet) > 5:
            line += f" and {len(insights.quiet) - 5} more"
    return line + "."
