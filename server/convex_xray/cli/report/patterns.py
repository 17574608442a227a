"""Correct patterns already in the codebase: functions the rules found nothing in that read
through an index range, or that fetch per item concurrently (the Convex join), to point
reviewers at code to copy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from convex_xray.cli.report.model import Pattern
from convex_xray.engine.analysis.chains import parse_index_ranges
from convex_xray.engine.findings import Finding
from convex_xray.engine.model import DbRead, FunctionModel
from convex_xray.engine.workspace import Workspace

PER_KIND = 5  # examples per pattern: enough to find one near the code being fixed


def _outermost(function: FunctionModel | None) -> FunctionModel | None:
    while function is not None and function.parent is not None:
        function = function.parent
    return function


def _index_range(read: DbRead) -> tuple[str, int] | None:
    chain = read.chain
    if chain is None or chain.table is None or chain.filter_steps:
        return None
    step = chain.index_step
    if step is None or chain.terminal is None:
        return None
    ranges = parse_index_ranges(step)
    if not ranges or ranges[0].op != "eq":
        return None
    name = step.arg(0)
    index = name.text.decode().strip("\"'") if name is not None and name.text is not None else "?"
    fields = " and ".join(f"`{r.field}`" for r in ranges)
    terminal = f"take({chain.take_count})" if chain.take_count is not None else f"{chain.terminal}()"
    # A range over several fields that returns a list teaches more than a lookup by one key.
    strength = len(ranges) + (2 if chain.terminal in ("take", "paginate", "collect") else 0)
    return f"`{chain.table}` read through index `{index}` on {fields}, then `.{terminal}`", strength


def _join(read: DbRead) -> tuple[str, int] | None:
    if not read.loops or read.kind != "get":
        return None
    loop = read.loops[-1]
    if not loop.concurrent or len(read.loops) > 1:
        return None
    over = f" over `{' '.join(loop.collection.split())[:60]}`" if loop.collection else ""
    return f"per-item `db.get` run concurrently with `Promise.all`{over}", 1


def correct_patterns(
    workspace: Workspace, findings: Iterable[Finding], files: Sequence[Path], rel: Callable[[Path], str]
) -> list[Pattern]:
    flagged: dict[Path, list[tuple[int, int]]] = {}
    for finding in findings:
        flagged.setdefault(finding.path, []).append((finding.span.start, finding.span.end))
    found: dict[str, list[Pattern]] = {"concurrent-join": [], "index-range": []}
    for path in files:
        model = workspace.model(path)
        if model is None:
            continue
        spans = flagged.get(path, [])
        seen: set[tuple[str, int]] = set()
        for read in model.reads:
            function = _outermost(read.function)
            if function is None or not function.kind.is_convex:
                continue
            start, end = function.definition.start_byte, function.definition.end_byte
            if any(start <= a < end for a, _ in spans):
                continue  # a function with problems is not the example to copy
            for kind, shown in (("concurrent-join", _join(read)), ("index-range", _index_range(read))):
                if shown is None or (kind, function.start) in seen:
                    continue
                seen.add((kind, function.start))
                line = model.source.lines.position(read.start)[0] + 1
                found[kind].append(Pattern(kind, function.name, str(path), rel(path), line, shown[0], shown[1]))
    patterns: list[Pattern] = []
    for kind in ("concurrent-join", "index-range"):
        examples = found[kind]
        # Strongest first, then by file and line: the same input gives the same examples.
        examples.sort(key=lambda p: (-p.strength, p.rel_path, p.line))
        patterns.extend(examples[:PER_KIND])
    return patterns
