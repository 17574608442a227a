"""GitHub Actions workflow commands: `::warning file=...,line=...,col=...,endLine=...,title=...::msg`."""

from __future__ import annotations

import os
from pathlib import Path

from convex_xray.cli.output.locations import locate
from convex_xray.engine.findings import Severity
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.workspace import Workspace

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice", Severity.HINT: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(workspace: Workspace, result: CheckResult) -> str:
    lines = []
    for finding in result.findings:
        where = locate(workspace, finding.span)
        try:
            path = Path(os.path.relpath(where.path)).as_posix()  # GitHub wants `/` separators
        except ValueError:  # another drive (Windows)
            path = where.path.as_posix()
        properties = (
            f"file={_escape_property(path)},line={where.line},col={where.column},"
            f"endLine={where.end_line},endColumn={where.end_column},"
            f"title={_escape_property(f'{finding.code} {finding.rule}')}"
        )
        lines.append(f"::{_LEVEL[finding.severity]} {properties}::{_escape_data(finding.message)}")
    return "\n".join(lines)
