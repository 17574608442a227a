"""Read-cost estimates for the code lens above each Convex function.

A rough count, in the function's own terms: reads outside loops are constant, reads inside
an iteration over a collection cost one per element (`N`), nested iterations multiply.
Helpers count through the workspace's call graph (`Workspace.summary`). The estimate is
compared with Convex's per-function limits: 4,096 index ranges (each `db.get` or query is
one), 32,000 documents scanned and 16 MiB read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TypeVar

from convex_xray.engine.model import Event, FileModel, FunctionModel, Loop
from convex_xray.engine.workspace import Workspace

_E = TypeVar("_E", bound=Event)

INDEX_RANGE_LIMIT = 4_096
DOCUMENT_LIMIT = 32_000


@dataclass
class Cost:
    """`constant + sum(per[d] * N**d)` operations."""

    constant: int = 0
    per: Counter[int] = None  # type: ignore[assignment]
    first_loop_offset: int | None = None
    # What N counts: the collections the loops iterate (source text, in order of first use).
    collections: list[str] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.per is None:
            self.per = Counter()
        if self.collections is None:
            self.collections = []

    def add(self, depth: int, count: int, offset: int, loops: tuple[Loop, ...] = ()) -> None:
        if count <= 0:
            return
        if depth == 0:
            self.constant += count
            return
        self.per[depth] += count
        if self.first_loop_offset is None or offset < self.first_loop_offset:
            self.first_loop_offset = offset
        for loop in loops:
            name = " ".join((loop.collection or "").split())
            if loop.exempt is None and name and len(name) <= 40 and name not in self.collections:
                self.collections.append(name)

    @property
    def empty(self) -> bool:
        return self.constant == 0 and not self.per

    def render(self, noun: str) -> str:
        terms = [str(self.constant)] if self.constant or not self.per else []
        for depth in sorted(self.per):
            power = "N" if depth == 1 else f"N{_superscript(depth)}"
            count = self.per[depth]
            terms.append(power if count == 1 else f"{count}·{power}")
        plural = noun if (self.constant == 1 and not self.per) else noun + "s"
        return f"~{' + '.join(terms)} {plural}"


def explain_n(costs: tuple[Cost, ...]) -> str:
    """What N stands for in a lens: the items of the iterated collections. The estimate
    takes every loop to run N times (no sizes are known statically)."""
    names: list[str] = []
    for cost in costs:
        names.extend(n for n in cost.collections if n not in names)
    if not names:
        return "N = items per loop"
    # Plain text: editors show lens titles as is (quotes as in the Problems panel).
    shown = " / ".join(f"'{n}'" for n in names[:3]) + (" / …" if len(names) > 3 else "")
    return f"N = items of {shown}" + (", each loop taken as N" if len(names) > 1 else "")


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _depth(loops: tuple[Loop, ...]) -> int:
    return sum(1 for loop in loops if loop.exempt is None)


def _own(events: list[_E], function: FunctionModel) -> list[_E]:
    return [e for e in events if e.function is function]


@dataclass
class LensInfo:
    start: int  # byte offset the lens sits on
    end: int
    title: str
    function: str


def function_cost(
    workspace: Workspace, model: FileModel, function: FunctionModel
) -> tuple[Cost, Cost]:
    """(DB reads, ctx.run* calls) of one function, helpers included."""
    reads = Cost()
    calls = Cost()
    for read in _own(function.reads, function):
        reads.add(_depth(read.loops), 1, read.start, read.loops)
    for call in _own(function.run_calls, function):
        calls.add(_depth(call.loops), 1, call.start, call.loops)
    for helper in _own(function.helper_calls, function):
        resolved = workspace.resolve_call(model, helper)
        if resolved is None:
            continue
        summary = workspace.summary(*resolved)
        depth = _depth(helper.loops)
        reads.add(depth, summary.reads, helper.start, helper.loops)
        calls.add(depth, summary.run_calls, helper.start, helper.loops)
        if summary.loops_with_reads:
            reads.add(depth + 1, 1, helper.start, helper.loops)
    return reads, calls


def lenses(workspace: Workspace, model: FileModel) -> list[LensInfo]:
    result: list[LensInfo] = []
    lines = model.source.lines
    for function in model.functions:
        if not function.kind.is_convex or function.parent is not None:
            continue
        reads, calls = function_cost(workspace, model, function)
        if reads.empty and calls.empty:
            continue
        parts = []
        if not reads.empty:
            parts.append(reads.render("read"))
        if not calls.empty:
            parts.append(calls.render("function call"))
        first = min(
            (c.first_loop_offset for c in (reads, calls) if c.first_loop_offset is not None),
            default=None,
        )
        title = "; ".join(parts) if len(parts) == 1 else " + ".join(parts)
        if reads.per or calls.per:
            title += f" ({explain_n((reads, calls))})"
        if first is not None:
            title += f"; N+1 at line {lines.line_of(first) + 1}"
        per_item = sum(reads.per.values())
        if per_item:
            limit = INDEX_RANGE_LIMIT // max(1, per_item)
            title += f" (hits Convex's {INDEX_RANGE_LIMIT:,} index-range limit at N≈{limit:,})"
        unbounded = sum(
            1
            for read in _own(function.reads, function)
            if read.chain is not None and read.chain.reads_to_completion
        )
        if unbounded:
            title += (
                f"; {unbounded} unbounded read{'s' if unbounded > 1 else ''} "
                f"(limit {DOCUMENT_LIMIT:,} documents / 16 MiB per function)"
            )
        start = function.definition.start_byte
        end = lines.line_end(lines.line_of(start))
        result.append(LensInfo(start, max(start, end), title, function.name))
    return result
