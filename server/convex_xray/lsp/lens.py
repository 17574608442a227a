"""Read-cost estimates for the code lens above each Convex function.

A rough count, in the function's own terms: reads outside loops are constant, reads inside
an iteration over a collection cost one per element (`N`), nested iterations multiply.
Helpers count through the workspace's call graph (`Workspace.summary`). What `N` is and the
number behind it come from the engine's cost model (`engine.cost.loop_driver`), the same
sizes the findings' `cost` uses, with the `[cost]` setting each assumed size comes from, so
the lens and the diagnostics agree. The estimate is compared with Convex's per-function
limits: 4,096 index ranges (each `db.get` or query is one), 32,000 documents scanned and
16 MiB read.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TypeVar

from convex_xray.engine.cost import DOCUMENTS_PER_FUNCTION, CostAssumptions, Driver, loop_driver
from convex_xray.engine.model import Event, FileModel, FunctionModel, Loop
from convex_xray.engine.schema import Schema
from convex_xray.engine.triggers import trigger_index, trigger_of
from convex_xray.engine.workspace import Workspace

_E = TypeVar("_E", bound=Event)

INDEX_RANGE_LIMIT = 4_096


@dataclass
class Cost:
    """`constant + sum(per[d] * N**d)` operations."""

    constant: int = 0
    per: Counter[int] = None  # type: ignore[assignment]
    first_loop_offset: int | None = None
    # What N counts: the collections the loops iterate (source text, in order of first use).
    collections: list[str] = None  # type: ignore[assignment]
    # The number: every loop at its cost-model size (see `engine.cost.loop_driver`).
    estimate: int = 0

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


def explain_n(costs: tuple[Cost, ...], drivers: dict[str, Driver] | None = None) -> str:
    """What N stands for in a lens: the items of the iterated collections, each with the size
    the cost model gives it and, when assumed, the `[cost]` setting it comes from."""
    names: list[str] = []
    for cost in costs:
        names.extend(n for n in cost.collections if n not in names)
    if not names:
        return "N = items per loop"
    drivers = drivers or {}

    def one(name: str) -> str:
        # Plain text: editors show lens titles as is (quotes as in the Problems panel).
        driver = drivers.get(name)
        if driver is None:
            return f"'{name}'"
        if driver.assumption is None:
            return f"'{name}' = {driver.size:,}"
        return f"'{name}' assumed {driver.size:,} ({setting_of(driver)})"

    shown = " / ".join(one(n) for n in names[:3]) + (" / …" if len(names) > 3 else "")
    return f"N = items of {shown}" + (", each loop taken as N" if len(names) > 1 else "")


def setting_of(driver: Driver) -> str:
    """The `[cost]` setting in convex-xray.toml an assumed size comes from (as the driver's
    assumption names it)."""
    found = re.search(r"\[cost\] ([\w-]+)", driver.assumption or "")
    return f"[cost] {found.group(1)}" if found else "assumed"


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
    workspace: Workspace,
    model: FileModel,
    function: FunctionModel,
    assumptions: CostAssumptions | None = None,
    drivers: dict[str, Driver] | None = None,
) -> tuple[Cost, Cost]:
    """(DB reads, ctx.run* calls) of one function, helpers included. `drivers` collects what
    each iterated collection's size is (by its source text)."""
    sizes = assumptions or CostAssumptions()
    schema = workspace.schema_for(model.path)
    known = drivers if drivers is not None else {}
    # What runs the function (a cron, the scheduler): a queue its job drains holds what is due.
    found = trigger_of(workspace, model, function, trigger_index(workspace))
    trigger = found.kind if found is not None else None
    reads = Cost()
    calls = Cost()

    def size(loops: tuple[Loop, ...]) -> int:
        total = 1
        for loop in loops:
            if loop.exempt is not None:
                continue
            driver = _driver(loop, model, function, sizes, schema, known, trigger)
            total *= max(driver.size, 0)
        return total

    for read in _own(function.reads, function):
        reads.add(_depth(read.loops), 1, read.start, read.loops)
        reads.estimate += size(read.loops)
    for call in _own(function.run_calls, function):
        calls.add(_depth(call.loops), 1, call.start, call.loops)
        calls.estimate += size(call.loops)
    for helper in _own(function.helper_calls, function):
        resolved = workspace.resolve_call(model, helper)
        if resolved is None:
            continue
        summary = workspace.summary(*resolved)
        depth = _depth(helper.loops)
        reads.add(depth, summary.reads, helper.start, helper.loops)
        calls.add(depth, summary.run_calls, helper.start, helper.loops)
        reads.estimate += summary.reads * size(helper.loops)
        calls.estimate += summary.run_calls * size(helper.loops)
        if summary.loops_with_reads:
            reads.add(depth + 1, 1, helper.start, helper.loops)
            reads.estimate += size(helper.loops) * sizes.per_parent
    return reads, calls


def _driver(
    loop: Loop,
    model: FileModel,
    function: FunctionModel,
    sizes: CostAssumptions,
    schema: Schema | None,
    known: dict[str, Driver],
    trigger: str | None = None,
) -> Driver:
    driver = loop_driver(loop, model, function, sizes, schema, trigger)
    name = " ".join((loop.collection or "").split())
    if name and name not in known:
        known[name] = driver
    return driver


def lenses(workspace: Workspace, model: FileModel, assumptions: CostAssumptions | None = None) -> list[LensInfo]:
    result: list[LensInfo] = []
    lines = model.source.lines
    for function in model.functions:
        if not function.kind.is_convex or function.parent is not None:
            continue
        drivers: dict[str, Driver] = {}
        reads, calls = function_cost(workspace, model, function, assumptions, drivers)
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
            estimate = " + ".join(
                f"{c.estimate:,} {noun}{'s' if c.estimate != 1 else ''}"
                for c, noun in ((reads, "read"), (calls, "function call"))
                if not c.empty
            )
            title += f" ≈ {estimate} ({explain_n((reads, calls), drivers)})"
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
                f"(limit {DOCUMENTS_PER_FUNCTION:,} documents / 16 MiB per function)"
            )
        start = function.definition.start_byte
        end = lines.line_end(lines.line_of(start))
        result.append(LensInfo(start, max(start, end), title, function.name))
    return result
