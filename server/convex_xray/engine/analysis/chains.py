"""Query chains (`db.query("t").withIndex(...).collect()`) and the index names they use."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from convex_xray.engine.analysis.handles import HandleAnalysis
from convex_xray.engine.model import (
    TERMINALS,
    ChainStep,
    DbRead,
    FilterAtom,
    FunctionModel,
    IndexRange,
    IndexRef,
    QueryChain,
)
from convex_xray.engine.syntax import (
    call_args,
    descendants,
    function_params,
    member_parts,
    param_pattern,
    returned_expression,
    string_value,
    text_of,
    unwrap,
)


def walk_chain_up(node: Node) -> tuple[list[ChainStep], Node]:
    """From `x` follow `.m(args)` calls outward: `x.withIndex(...).filter(...).collect()`."""
    steps: list[ChainStep] = []
    current = node
    while True:
        parent = current.parent
        if parent is None:
            break
        if parent.type in ("parenthesized_expression", "non_null_expression"):
            current = parent
            continue
        if parent.type == "member_expression" and parent.child_by_field_name("object") == current:
            call = parent.parent
            prop = parent.child_by_field_name("property")
            if call is not None and call.type == "call_expression" and call.child_by_field_name("function") == parent and prop is not None:
                steps.append(ChainStep(text_of(prop), call, prop, call_args(call)))
                current = call
                continue
        break
    return steps, current


_PROMISE_METHODS = frozenset({"then", "catch", "finally"})


def terminal_of(steps: list[ChainStep]) -> str | None:
    """The read that ends a chain, looking through promise steps: `.collect().then((c) => c.length)`
    still reads every document."""
    index = len(steps) - 1
    while index >= 0 and steps[index].method in _PROMISE_METHODS:
        index -= 1
    return steps[index].method if index >= 0 and steps[index].method in TERMINALS else None


def _bound_variable(end: Node) -> str | None:
    parent = end.parent
    if parent is not None and parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            return text_of(name)
    if parent is not None and parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "identifier":
            return text_of(left)
    return None


def is_for_await_right(node: Node) -> bool:
    parent = node.parent
    return (
        parent is not None
        and parent.type == "for_in_statement"
        and parent.child_by_field_name("right") == node
        and any(c.type == "await" for c in parent.children)
    )


def _identifiers_named(scope: Node, name: str, after: int) -> Iterator[Node]:
    """Identifiers spelled `name` inside `scope` that start after byte `after`."""
    encoded = name.encode()
    stack = [scope]
    while stack:
        node = stack.pop()
        if node.end_byte <= after:
            continue
        if node.type == "identifier":
            if node.start_byte >= after and node.text == encoded:
                yield node
            continue
        stack.extend(reversed(node.children))


def parse_index_ranges(step: ChainStep) -> list[IndexRange] | None:
    """`q => q.eq("a", x).gt("b", y)` -> ranges in source order; None when not statically known."""
    callback = step.arg(1)
    if callback is None:
        return []
    callback = unwrap(callback)
    if callback is None or callback.type not in ("arrow_function", "function_expression"):
        return None
    params = function_params(callback)
    q_name = text_of(param_pattern(params[0])) if params else None
    body = returned_expression(callback)
    ranges: list[IndexRange] = []
    current = unwrap(body)
    while current is not None and current.type == "call_expression":
        callee = current.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return None
        op = text_of(callee.child_by_field_name("property"))
        args = call_args(current)
        field_name = string_value(args[0]) if args else None
        if op not in ("eq", "gt", "gte", "lt", "lte") or field_name is None:
            return None
        ranges.append(IndexRange(op, field_name, args[0], current, args[1] if len(args) > 1 else None))
        current = unwrap(callee.child_by_field_name("object"))
    if current is None or current.type != "identifier" or text_of(current) != q_name:
        return None  # the range is built from something other than the callback's `q`
    ranges.reverse()
    return ranges


def filter_predicate(step: ChainStep) -> tuple[str, Node] | None:
    """(parameter name, predicate expression) of `.filter((q) => <expr>)`, also when the
    body is a block with a single `return <expr>`."""
    callback = unwrap(step.arg(0))
    if callback is None or callback.type not in ("arrow_function", "function_expression"):
        return None
    params = function_params(callback)
    q_name = text_of(param_pattern(params[0])) if params else "q"
    body = returned_expression(callback)
    body = unwrap(body)
    return (q_name, body) if body is not None else None


def parse_filter(step: ChainStep) -> list[FilterAtom] | None:
    """`.filter(q => q.and(q.eq(q.field("a"), x), ...))` -> conjunction atoms; None if not a
    recognisable predicate."""
    predicate = filter_predicate(step)
    if predicate is None:
        return None
    q_name, body = predicate
    atoms: list[FilterAtom] = []
    _flatten_and(body, q_name, atoms)
    return atoms


def _flatten_and(node: Node | None, q_name: str, atoms: list[FilterAtom]) -> None:
    if node is None:
        return
    if node.type == "call_expression":
        callee = node.child_by_field_name("function")
        parts = member_parts(callee)
        if parts and len(parts) == 2 and parts[0] == q_name:
            op = parts[1]
            args = call_args(node)
            if op == "and":
                for arg in args:
                    _flatten_and(unwrap(arg), q_name, atoms)
                return
            if op in ("eq", "neq", "gt", "gte", "lt", "lte") and len(args) == 2:
                field_name, value = _field_of(args[0], q_name), args[1]
                if field_name is None:
                    field_name, value = _field_of(args[1], q_name), args[0]
                    op = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}.get(op, op)
                if value is not None and q_name.encode() in (value.text or b"") and _mentions(value, q_name):
                    field_name = None  # comparing two fields: no index can take it
                atoms.append(FilterAtom(op, field_name, value, node))
                return
            atoms.append(FilterAtom(op, None, None, node))
            return
    atoms.append(FilterAtom("other", None, None, node))


def _mentions(node: Node, name: str) -> bool:
    return any(n.type == "identifier" and text_of(n) == name for n in descendants(node))


def _field_of(node: Node | None, q_name: str) -> str | None:
    node = unwrap(node)
    if node is None or node.type != "call_expression":
        return None
    parts = member_parts(node.child_by_field_name("function"))
    if parts != [q_name, "field"]:
        return None
    args = call_args(node)
    return string_value(args[0]) if args else None


class ChainAnalysis(HandleAnalysis):
    """Query chains (`db.query("t").withIndex(...).collect()`) and the index names they use."""

    def query_chain(self, root: Node) -> None:
        self.chain_nodes.add(root.id)
        args = call_args(root)
        table_node = args[0] if args else None
        table = string_value(table_node)
        steps, end = walk_chain_up(root)
        function, _ = self.context_of(root)
        variable = _bound_variable(end)
        chains: list[QueryChain] = []
        if variable is not None and function is not None:
            chains = self.split_chains(root, table, table_node, steps, end, variable, function)
        if not chains:
            terminal = terminal_of(steps)
            if terminal is None and is_for_await_right(end):
                terminal = "for-await"
            chains = [QueryChain(root, table, table_node, steps, end, terminal, variable)]
        for chain in chains:
            self.model.chains.append(chain)
            self.record_index_refs(chain)
            if chain.terminal is not None:
                # For `for await (const x of <chain>)` the anchor is the loop's iterable, which
                # is evaluated once: the loop it feeds is not one of its iteration contexts.
                anchor = chain.end
                owner, loops = self.context_of(anchor)
                read = DbRead(
                    node=anchor,
                    function=owner,
                    loops=loops,
                    awaited=self.awaited(anchor) or chain.terminal == "for-await",
                    kind="query",
                    table=table,
                    chain=chain,
                )
                self.record_read(read)

    def record_index_refs(self, chain: QueryChain) -> None:
        known = {ref.node.id for ref in self.model.index_refs}
        for step in chain.steps:
            if step.method not in ("withIndex", "withSearchIndex") or step.call.id in known:
                continue
            name_node = step.arg(0)
            self.model.index_refs.append(
                IndexRef(
                    table=chain.table,
                    name=string_value(name_node),
                    name_node=name_node,
                    node=step.call,
                    kind=step.method,
                    chain=chain,
                )
            )

    def split_chains(
        self,
        root: Node,
        table: str | None,
        table_node: Node | None,
        steps: list[ChainStep],
        end: Node,
        variable: str,
        function: FunctionModel,
    ) -> list[QueryChain]:
        """`let q = db.query("t"); if (x) q = q.withIndex(...); await q.collect()`."""
        body = function.node
        extra: list[ChainStep] = []
        terminals: list[tuple[list[ChainStep], Node, str]] = []
        for ident in _identifiers_named(body, variable, after=end.end_byte):
            parent = ident.parent
            if parent is None:
                continue
            if parent.type == "member_expression" and parent.child_by_field_name("object") == ident:
                more, tail = walk_chain_up(ident)
                if not more:
                    continue
                assigned = tail.parent
                if (
                    assigned is not None
                    and assigned.type == "assignment_expression"
                    and text_of(assigned.child_by_field_name("left")) == variable
                ):
                    for step in more:
                        step.conditional = True
                    extra.extend(more)
                    continue
                ended = terminal_of(more)
                if ended is not None:
                    terminals.append((more, tail, ended))
            elif is_for_await_right(ident):
                terminals.append(([], ident, "for-await"))
        chains = []
        for more, tail, terminal in terminals:
            chains.append(
                QueryChain(root, table, table_node, [*steps, *extra, *more], tail, terminal, variable)
            )
        if not chains and extra:
            chains.append(QueryChain(root, table, table_node, [*steps, *extra], end, None, variable))
        return chains
