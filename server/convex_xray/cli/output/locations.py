"""Byte spans -> 1-based lines and code-point columns (the CLI's and JSON's convention)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from convex_xray.engine.findings import Span
from convex_xray.engine.source import Encoding
from convex_xray.engine.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Location:
    path: Path
    line: int  # 1-based
    column: int  # 1-based, code points
    end_line: int
    end_column: int


def locate(workspace: Workspace, span: Span) -> Location:
    source = workspace.source(span.path)
    if source is None:
        return Location(span.path, 1, 1, 1, 1)
    lines = source.lines
    line, column = lines.position(span.start, Encoding.UTF32)
    end_line, end_column = lines.position(span.end, Encoding.UTF32)
    return Location(span.path, line + 1, column + 1, end_line + 1, end_column + 1)
