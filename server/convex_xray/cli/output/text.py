"""Human output: `path:line:col: CODE [slug] message`, the source line and a caret."""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from convex_xray.cli.notes import RunNotes
from convex_xray.cli.output.locations import locate
from convex_xray.engine.findings import Severity
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


def render_text(
    workspace: Workspace,
    result: CheckResult,
    *,
    color: bool,
    show_source: bool = True,
    quiet: bool = False,
    statistics: bool = False,
    fixed: int | None = None,
    notes: RunNotes | None = None,
) -> str:
    out: list[str] = []

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    if not quiet:
        for finding in result.findings:
            where = locate(workspace, finding.span)
            head = f"{display_path(where.path)}:{where.line}:{where.column}:"
            label = paint(f"{finding.code} [{finding.rule}]", _COLORS[finding.severity])
            out.append(f"{paint(head, _BOLD)} {label} {finding.message}")
            source = workspace.source(finding.path)
            if show_source and source is not None:
                line_index = where.line - 1
                start = source.lines.line_starts[line_index]
                end = source.lines.line_end(line_index)
                line_text = source.slice(start, end).expandtabs(1)
                _, col = source.lines.position(finding.span.start, Encoding.UTF32)
                _, end_col = source.lines.position(min(finding.span.end, end), Encoding.UTF32)
                if where.end_line != where.line:
                    end_col = len(line_text)
                # Terminal cells, not code points: CJK and emoji are two cells wide.
                indent = _cells(line_text[:col])
                width = max(1, _cells(line_text[col:end_col]))
                out.append(f"  {where.line:>5} | {line_text}")
                out.append(f"        | {' ' * indent}{paint('^' + '~' * (width - 1), _COLORS[finding.severity])}")
            for item in finding.related:
                at = locate(workspace, item.span)
                out.append(f"        = {display_path(at.path)}:{at.line}:{at.column}: {item.message}")
            if finding.fix is not None:
                out.append(f"        help: {finding.fix.title} ({finding.fix.applicability.value} fix)")
        for problem in result.problems:
            out.append(f"{display_path(problem.path)}: skipped: {problem.message}")
        for failure in result.failures:
            failed_on = f" on {display_path(failure.path)}" if failure.path else ""
            out.append(f"internal error: rule {failure.rule} failed{failed_on}: {failure.error}")
    if statistics and result.findings:
        counts = Counter((f.code, f.rule, f.severity.label) for f in result.findings)
        out.append("")
        for (code, rule, severity), count in sorted(counts.items(), key=lambda kv: -kv[1]):
            out.append(f"{count:>6}  {code}  {rule:<24} {severity}")
    by_severity = Counter(f.severity for f in result.findings)
    parts = [f"{by_severity[s]} {s.label}{'s' if by_severity[s] != 1 else ''}" for s in sorted(by_severity, reverse=True)]
    summary = f"Found {len(result.findings)} problem{'s' if len(result.findings) != 1 else ''}"
    if parts:
        summary += f" ({', '.join(parts)})"
    summary += f" in {result.files} file{'s' if result.files != 1 else ''} ({result.elapsed_ms / 1000:.2f}s)."
    if fixed:
        summary += f" Fixed {fixed}."
    fixable = sum(1 for f in result.findings if f.fix is not None and f.fix.applicability.value == "safe")
    if fixable:
        summary += f" {fixable} fixable with `--fix`."
    out.append(("" if not out else "\n") + summary)
    if notes is not None and notes.baseline is not None:
        out.append(baseline_line(notes.baseline))
    if notes is not None and notes.insights is not None:
        out.append(insights_line(notes.insights))
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
        line += f"; wrote {baseline.written} entr{'y' if baseline.written == 1 else 'ies'}"
    return line + "."


def insights_line(insights: InsightsSummary) -> str:
    line = (
        f"Production insights: {insights.total} read, {insights.mapped} matched to functions here, "
        f"{insights.annotated} finding{'s' if insights.annotated != 1 else ''} annotated, "
        f"{insights.raised} raised"
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
