"""What a read or call site costs: what drives its count, how that grows, and a score.

A loop's cost is the size of what it iterates times the work per item; nested loops
multiply. What a loop iterates is traced back to where it came from:

- a literal array: its length (constant);
- a bound: `.take(k)`, `.slice(0, k)`, `.first()`/`.unique()`, `.paginate()` (bounded);
- a client-supplied array argument (bounded by what callers send);
- an index range keyed by a tenant-like field (`orgId`, `teamId`, `clubId`, ...): per-tenant;
- an index range keyed by one other parent document (`postId`, `userId`): per-parent;
- a query with no index range: the whole table.

Unknown sources are assumed per-parent, and the assumption is stated. Sizes behind each
class come from `[cost]` in convex-xray.toml so a team that knows its data can say so.
The function's context weighs the score: a public query is reactive (it re-runs on every
write to what it read), so its reads count twice; sequential loops add latency per item.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine.analysis.chains import parse_index_ranges
from convex_xray.engine.model import (
    DbRead,
    FileModel,
    FunctionKind,
    FunctionModel,
    Loop,
    QueryChain,
)
from convex_xray.engine.syntax import call_args, text_of, unwrap


class Growth(enum.IntEnum):
    """How a count grows with the data, weakest first."""

    CONSTANT = 0
    BOUNDED = 1
    PER_PARENT = 2
    PER_TENANT = 3
    WHOLE_TABLE = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class CostAssumptions:
    """Sizes assumed for counts the code does not state (`[cost]` in convex-xray.toml)."""

    per_parent: int = 10  # children of one document: a user's sessions, a post's comments
    per_tenant: int = 200  # members/records of one org, team, club or workspace
    table: int = 10_000  # documents in a table read with no index range
    client_array: int = 20  # ids or items a client sends in one call
    page: int = 50  # `.paginate({ numItems })` when numItems is not a literal
    warn_score: int = 100  # a per-parent cost at or above this score is a warning


@dataclass(frozen=True, slots=True)
class Driver:
    """What one loop iterates: a size with its growth and a phrase for the formula."""

    size: int
    growth: Growth
    phrase: str  # `members of an org (orgId)`, `client-supplied args.ids`
    assumption: str | None  # stated when `size` is assumed, not read from the code

    @property
    def term(self) -> str:
        if self.growth in (Growth.CONSTANT,) or (self.assumption is None and self.growth is Growth.BOUNDED):
            return str(self.size)
        return f"N({self.phrase})"


@dataclass(frozen=True, slots=True)
class Cost:
    """Reads (or function calls) per call of the enclosing function."""

    formula: str
    reads: int
    assumptions: tuple[str, ...]
    growth: Growth
    score: float
    unit: str = "reads"
    context: str = "helper"
    drivers: tuple[Driver, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "reads": self.reads,
            "unit": self.unit,
            "assumptions": list(self.assumptions),
            "growth": self.growth.label,
            "context": self.context,
            "score": round(self.score, 1),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cost:
        return cls(
            formula=str(data["formula"]),
            reads=int(data["reads"]),
            assumptions=tuple(str(a) for a in data["assumptions"]),
            growth=Growth[str(data["growth"]).upper().replace("-", "_")],
            score=float(data["score"]),
            unit=str(data.get("unit", "reads")),
            context=str(data.get("context", "helper")),
        )

    def explain(self) -> str:
        """`N(members of one orgId) x 2 reads ≈ 400 (N assumed 200 per tenant) per call`."""
        text = f"{self.formula} {self.unit}"
        if self.formula != str(self.reads):
            text += f" ≈ {self.reads:,}"
        if self.assumptions:
            text += f" ({'; '.join(self.assumptions)})"
        return text + " per call"


# Field names that key a tenant: a set that grows with the customer, not with one record.
_TENANT = re.compile(
    r"^(?:org|orgs|organization|organisation|team|club|workspace|tenant|company|business|agency|school|community|league)(?:_?id|_?ids)?$",
    re.IGNORECASE,
)


def is_tenant_field(name: str) -> bool:
    return bool(_TENANT.match(name))


def function_context(function: FunctionModel | None) -> str:
    """public-query (reactive), mutation, action, internal-*, http, or helper (not known)."""
    if function is None:
        return "helper"
    while function.parent is not None and function.kind is FunctionKind.HELPER:
        function = function.parent
    kind = function.kind
    if kind is FunctionKind.QUERY:
        return "public-query"
    if kind is FunctionKind.MUTATION:
        return "mutation"
    if kind is FunctionKind.ACTION:
        return "action"
    if kind is FunctionKind.HTTP_ACTION:
        return "http"
    if kind is FunctionKind.INTERNAL_QUERY:
        return "internal-query"
    if kind is FunctionKind.INTERNAL_MUTATION:
        return "internal-mutation"
    if kind is FunctionKind.INTERNAL_ACTION:
        return "internal-action"
    return "helper"


def is_action_context(function: FunctionModel | None) -> bool:
    while function is not None and function.parent is not None and function.kind is FunctionKind.HELPER:
        function = function.parent
    return function is not None and function.kind.is_action


# A public query's reads count twice: it re-runs on every write to anything it read.
_CONTEXT_WEIGHT = {"public-query": 2.0}


def scan_state(chain: QueryChain) -> str | None:
    """"none" (no index) or "rangeless" (an index with no range): the query reads the whole
    table in index order. None when it has a real index range or a search index."""
    if chain.search_step is not None:
        return None
    step = chain.index_step
    if step is None:
        return "none"
    return "rangeless" if parse_index_ranges(step) == [] else None


def terminal_key(chain: QueryChain) -> tuple[int, int]:
    """Where a query ends: a variable reassigned under conditions (`q = q.withIndex(...)`) gives
    one chain per variant, all ending in the same `.collect()`: one problem, one finding."""
    step = chain.terminal_step
    node = step.call if step is not None else chain.end
    return (node.start_byte, node.end_byte)


def chain_driver(chain: QueryChain, assumptions: CostAssumptions) -> Driver:
    """How many documents a query chain returns, from its terminal and its index range."""
    table = chain.table or "a table"
    if chain.terminal in ("first", "unique"):
        return Driver(1, Growth.CONSTANT, f"one {table} document", None)
    if chain.terminal == "take":
        count = chain.take_count
        if count is not None:
            return Driver(count, Growth.BOUNDED, f"`.take({count})` of {table}", None)
        return Driver(assumptions.page, Growth.BOUNDED, f"`.take(k)` of {table}", f"k assumed {assumptions.page}")
    if chain.terminal == "paginate":
        return Driver(assumptions.page, Growth.BOUNDED, f"a page of {table}", f"numItems assumed {assumptions.page}")
    if chain.search_step is not None:
        return Driver(assumptions.page, Growth.BOUNDED, f"search results in {table}", f"assumed {assumptions.page}")
    step = chain.index_step
    ranges = parse_index_ranges(step) if step is not None else []
    equal = [r.field for r in ranges or [] if r.op == "eq"]
    if step is None or ranges == [] or (ranges is not None and not equal):
        how = "no index" if step is None else "no index range" if ranges == [] else "a range with no equality"
        return Driver(assumptions.table, Growth.WHOLE_TABLE, f"every {table} document, {how}", f"table size assumed {assumptions.table:,}")
    if ranges is None:
        return Driver(assumptions.per_parent, Growth.PER_PARENT, f"{table} in an index range", f"N assumed {assumptions.per_parent}")
    if any(is_tenant_field(f) for f in equal[:1]) and len(equal) == 1:
        return Driver(assumptions.per_tenant, Growth.PER_TENANT, f"{table} of one {equal[0]}", f"N assumed {assumptions.per_tenant} per tenant")
    key = ", ".join(equal)
    return Driver(assumptions.per_parent, Growth.PER_PARENT, f"{table} per {key}", f"N assumed {assumptions.per_parent} per parent")


@cache
def _declarator_query(language: Language) -> Query:
    return Query(language, "(variable_declarator name: (identifier) @name value: (_) @value)")


def _declared_value(name: str, function: FunctionModel | None, before: int, language: Language) -> Node | None:
    """The value last declared for `name` in the function before `before`."""
    if function is None:
        return None
    found: Node | None = None
    # A query over the byte range (run in C) rather than a walk of the function's nodes:
    # long handlers made this walk a visible share of a whole check.
    cursor = QueryCursor(_declarator_query(language))
    cursor.set_byte_range(function.node.start_byte, max(function.node.start_byte, before))
    for _pattern, capture in cursor.matches(function.node):
        declarator_start = capture["name"][0].start_byte
        if declarator_start >= before or text_of(capture["name"][0]) != name:
            continue
        value = capture["value"][0]
        if found is None or value.start_byte > found.start_byte:
            found = value
    return unwrap(found) if found is not None else None


def _read_in(node: Node, model: FileModel) -> DbRead | None:
    """The outermost read whose chain ends inside `node` (the query a value was built from)."""
    best: DbRead | None = None
    for read in model.reads:
        if read.chain is None:
            continue
        end = read.chain.end
        if node.start_byte <= end.start_byte and end.end_byte <= node.end_byte and (
            best is None or end.end_byte - end.start_byte > best.chain.end.end_byte - best.chain.end.start_byte  # type: ignore[union-attr]
        ):
            best = read
    return best


def collection_driver(
    node: Node | None,
    model: FileModel,
    function: FunctionModel | None,
    assumptions: CostAssumptions,
    depth: int = 0,
) -> Driver:
    """What drives the size of the collection a loop iterates."""
    node = unwrap(node)
    unknown = Driver(assumptions.per_parent, Growth.PER_PARENT, "items of unknown source", f"N assumed {assumptions.per_parent}: size not traced")
    if node is None or depth > 5:
        return unknown
    if depth == 0:
        short = " ".join(text_of(node).split())
        short = short if len(short) <= 40 else short[:39] + "…"
        unknown = Driver(assumptions.per_parent, Growth.PER_PARENT, f"`{short}`", f"N assumed {assumptions.per_parent}: size not traced")
    while node is not None and node.type == "await_expression" and node.named_children:
        node = unwrap(node.named_children[0])
    if node is None:
        return unknown
    text = " ".join(text_of(node).split())
    if node.type == "array":
        elements = [c for c in node.named_children if c.type != "comment"]
        if elements and all(e.type != "spread_element" for e in elements):
            return Driver(len(elements), Growth.CONSTANT, f"{len(elements)} literal items", None)
        if len(elements) == 1 and elements[0].type == "spread_element" and elements[0].named_children:
            return collection_driver(elements[0].named_children[0], model, function, assumptions, depth + 1)
    if node.type == "call_expression":
        read = _read_in(node, model)
        callee = node.child_by_field_name("function")
        method = text_of(callee.child_by_field_name("property")) if callee is not None and callee.type == "member_expression" else ""
        args = call_args(node)
        if method == "slice" and len(args) == 2 and args[0].type == "number" and args[1].type == "number":
            bound = int(float(text_of(args[1]))) - int(float(text_of(args[0])))
            return Driver(max(bound, 0), Growth.BOUNDED, f"`.slice({text_of(args[0])}, {text_of(args[1])})`", None)
        if read is not None and read.chain is not None and read.chain.end.end_byte >= node.end_byte - 1:
            return chain_driver(read.chain, assumptions)
        if method in ("map", "filter", "flatMap", "slice", "concat", "sort", "reverse", "toSorted", "keys", "values", "entries"):
            receiver = callee.child_by_field_name("object") if callee is not None else None
            return collection_driver(receiver, model, function, assumptions, depth + 1)
        if text_of(callee) in ("Promise.all", "Array.from", "Object.values", "Object.keys", "Object.entries") and args:
            return collection_driver(args[0], model, function, assumptions, depth + 1)
        if read is not None and read.chain is not None:
            return chain_driver(read.chain, assumptions)
        return unknown
    if node.type == "member_expression":
        obj = unwrap(node.child_by_field_name("object"))
        args_name = function.args_param if function is not None else None
        if obj is not None and obj.type == "identifier" and args_name and text_of(obj) == args_name:
            return Driver(assumptions.client_array, Growth.BOUNDED, f"client-supplied `{text}`", f"N assumed {assumptions.client_array}")
        if (obj is not None and text_of(obj) in ("page", "result", "results")) or text.endswith(".page"):
            return Driver(assumptions.page, Growth.BOUNDED, f"a page (`{text}`)", f"numItems assumed {assumptions.page}")
        # An array field of one document (`team.memberIds`): grows with that document.
        return Driver(assumptions.per_parent, Growth.PER_PARENT, f"`{text}`", f"N assumed {assumptions.per_parent}")
    if node.type == "identifier":
        name = text_of(node)
        if function is not None and name in function.args_names and (function.args_param is None):
            return Driver(assumptions.client_array, Growth.BOUNDED, f"client-supplied `{name}`", f"N assumed {assumptions.client_array}")
        scope = function
        while scope is not None:
            value = _declared_value(name, scope, node.start_byte, model.source.language)
            if value is not None:
                return collection_driver(value, model, function, assumptions, depth + 1)
            if name in scope.args_names:
                return Driver(assumptions.client_array, Growth.BOUNDED, f"client-supplied `{name}`", f"N assumed {assumptions.client_array}")
            scope = scope.parent
        return unknown
    return unknown


def loop_driver(loop: Loop, model: FileModel, function: FunctionModel | None, assumptions: CostAssumptions) -> Driver:
    if not loop.iterates_collection:
        return Driver(assumptions.per_parent, Growth.PER_PARENT, f"iterations of the `{loop.kind}` loop", f"N assumed {assumptions.per_parent}")
    return collection_driver(loop.collection_node, model, function, assumptions)


def loop_cost(
    loops: tuple[Loop, ...],
    per_item: int,
    model: FileModel,
    function: FunctionModel | None,
    assumptions: CostAssumptions,
    *,
    sequential: bool,
    unit: str = "reads",
) -> Cost:
    """`per_item` reads (or calls) once per item of every loop in `loops` (outermost first)."""
    drivers = tuple(loop_driver(loop, model, function, assumptions) for loop in loops)
    count = per_item
    for driver in drivers:
        count *= max(driver.size, 0)
    terms = [d.term for d in drivers]
    formula = " x ".join(terms) if terms else "1"
    if per_item != 1:
        formula = f"{formula} x {per_item}"
    growth = max((d.growth for d in drivers), default=Growth.CONSTANT)
    assumptions_text = tuple(
        dict.fromkeys(d.assumption for d in drivers if d.assumption is not None and d.term != str(d.size))
    )
    context = function_context(function)
    score = count * _CONTEXT_WEIGHT.get(context, 1.0) * (1.5 if sequential else 1.0)
    return Cost(formula, count, assumptions_text, growth, score, unit, context, drivers)


def chain_cost(read: DbRead, assumptions: CostAssumptions) -> Cost:
    """Documents one query chain reads, times its enclosing loops."""
    assert read.chain is not None
    driver = chain_driver(read.chain, assumptions)
    context = function_context(read.function)
    formula = driver.term
    assumption = (driver.assumption,) if driver.assumption and driver.term != str(driver.size) else ()
    score = driver.size * _CONTEXT_WEIGHT.get(context, 1.0)
    return Cost(formula, driver.size, assumption, driver.growth, score, "reads", context, (driver,))


def nested_multiplies(cost: Cost) -> bool:
    """Two or more loops whose sizes both grow with the data."""
    return sum(1 for d in cost.drivers if d.growth >= Growth.PER_PARENT) >= 2
