"""`convex-xray report`'s steps after the check: production evidence, building, rendering."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from convex_xray.cli.insights import InsightsSummary, load_insights, resolve_function
from convex_xray.cli.report.build import Options, build_report
from convex_xray.engine.config import Config
from convex_xray.engine.cost import CostAssumptions
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.workspace import Workspace


def insights_evidence(
    path: Path, workspace: Workspace, summary: InsightsSummary
) -> tuple[dict[tuple[Path, int], list[str]], str]:
    """What production said about each function (keyed by file and definition start), and
    one line on what the insights file contributed."""
    insights, _ = load_insights(path)
    evidence: dict[tuple[Path, int], list[str]] = {}
    for insight in insights:
        resolved = resolve_function(workspace, insight)
        if resolved is None:
            continue
        model, function = resolved
        evidence.setdefault((model.path, function.start), []).append(insight.describe())
    note = f"{summary.total} insights, {summary.mapped} mapped to functions here, {summary.annotated} findings annotated, {summary.raised} raised a severity"
    if summary.unmatched:
        note += f"; not found here: {', '.join(sorted(summary.unmatched))}"
    return {k: sorted(set(v)) for k, v in evidence.items()}, note


def _command_target(paths: list[Path]) -> str:
    if not paths:
        return "."
    return " ".join(p.as_posix() for p in paths)


def write_report(
    args: argparse.Namespace,
    workspace: Workspace,
    result: CheckResult,
    evidence: dict[tuple[Path, int], list[str]],
    insights_note: str | None,
    *,
    progress: bool,
    sizes: CostAssumptions | None = None,
    config: Config | None = None,
) -> str:
    if progress:
        sys.stderr.write(f"  building the report from {len(result.findings)} findings…\n")
        sys.stderr.flush()
    target = args.paths[0].resolve() if len(args.paths) == 1 else Path.cwd()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()) if args.timestamp else None
    options = Options(target=target, command_target=_command_target(list(args.paths)), top=args.top, timestamp=stamp, sizes=sizes, config=config)
    report = build_report(workspace, result, options, evidence, insights_note)
    if args.format == "json":
        from convex_xray.cli.report.json_format import render_json

        return render_json(report) + "\n"
    if args.format == "html":
        from convex_xray.cli.report.html import render_html

        return render_html(report)
    from convex_xray.cli.report.markdown import render_markdown

    return render_markdown(report) + "\n"
