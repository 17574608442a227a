"""Helpers for tests of the code model: analyse a snippet, find a function, read its loops."""

from __future__ import annotations

import textwrap
from pathlib import Path

from convex_xray.engine.analysis.analyzer import analyze_file
from convex_xray.engine.analysis.options import AnalysisOptions
from convex_xray.engine.model import FileModel, FunctionKind, FunctionModel
from convex_xray.engine.source import SourceFile

K = FunctionKind


def analyze(
    code: str, name: str = "convex/a.ts", builders: dict[str, FunctionKind] | None = None
) -> FileModel:
    source = SourceFile(Path(name), textwrap.dedent(code))
    return analyze_file(source, AnalysisOptions(extra_builders=dict(builders or {})))


def fn(model: FileModel, name: str) -> FunctionModel:
    found = [f for f in model.functions if f.name == name]
    assert len(found) == 1, f"{name}: {[f.name for f in model.functions]}"
    return found[0]


def in_handler(body: str, builder: str = "query") -> FileModel:
    """`body` inside `export const f = <builder>({ args: {}, handler: async (ctx, args) => { ... } })`."""
    indented = textwrap.indent(textwrap.dedent(body), "    ")
    return analyze(
        f"export const f = {builder}({{\n  args: {{}},\n  handler: async (ctx, args) => {{\n{indented}\n  }},\n}});\n"
    )


def loops_of(event) -> list[tuple[str, str | None]]:
    return [(loop.kind, loop.collection) for loop in event.loops]


def only(items):
    assert len(items) == 1, items
    return items[0]
