"""Finds scheduler calls awaited one after another, in a loop or in a row.

## What it does
Reports `await ctx.scheduler.runAfter(...)` / `runAt(...)` awaited inside a loop, and
runs of two or more such awaited calls one after another.

## Why is this bad?
In an action each scheduler call is a round trip to the backend; awaiting them one by
one serialises those round trips (warning when the loop grows with a tenant, a log or a
table; info over a bounded batch or one parent's items, e.g. an admin retry of 20). In a mutation the calls are buffered in the
transaction, so the cost is small (info), but the loop still schedules one job per item
where one job handling the list is often better.

## Example
```ts
for (const player of players) {
  await ctx.scheduler.runAfter(0, internal.reminders.send, { playerId: player._id });
}
```

Use instead:
```ts
await Promise.all(
  players.map((player) => ctx.scheduler.runAfter(0, internal.reminders.send, { playerId: player._id })),
);
```

## Fix safety
Rewriting a loop whose body is a single awaited scheduler call into `Promise.all(xs.map(...))`,
or a run of calls into `Promise.all([...])`, is unsafe: if one call throws, the others
are still scheduled.

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from convex_xray.engine.context import RuleContext
from convex_xray.engine.cost import Growth, loop_cost, nested_multiplies
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import Loop, ScheduleCall
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine import style as layout
from convex_xray.engine.source import is_typescript_path
from convex_xray.engine.syntax import pattern_names, text_of, unwrap
from convex_xray.rules.support.iterables import declared_array
from convex_xray.rules.support.untyped import file_says_types_lost, untyped_root
from convex_xray.rules.support.iteration import costly_loops, line_of, loop_phrase

META = RuleMeta(
    code="CX103",
    slug="sequential-scheduling",
    severity=Severity.WARNING,
    summary="awaited scheduler calls one after another or per iteration",
    fix=FixAvailability.SOMETIMES,
)


def _statement_of(call: Node) -> Node | None:
    """The `await ctx.scheduler.runAfter(...);` expression statement holding `call`."""
    parent = call.parent
    if parent is None or parent.type != "await_expression":
        return None
    statement = parent.parent
    return statement if statement is not None and statement.type == "expression_statement" else None


def _loop_fix(ctx: RuleContext, schedule: ScheduleCall, loop: Loop) -> Fix | None:
    """`for (const x of xs) { await ctx.scheduler.runAfter(...); }` -> `await Promise.all(xs.map((x) => ...));`"""
    if loop.kind != "for-of" or loop.collection_node is None:
        return None
    statement = _statement_of(schedule.node)
    body = loop.node.child_by_field_name("body")
    left = loop.node.child_by_field_name("left")
    if statement is None or body is None or left is None:
        return None
    inner = [c for c in body.named_children if c.type != "comment"] if body.type == "statement_block" else [body]
    if len(inner) != 1 or inner[0].id != statement.id:
        return None
    if len(pattern_names(left)) == 0:
        return None
    item = text_of(left)
    source = ctx.source
    style = source.style
    collection_node = unwrap(loop.collection_node) or loop.collection_node
    collection = source.node_text(collection_node)
    # The collection is `any`, or by the file's own directives may be (a `@ts-expect-error`
    # about TS2589 or an implicit `any`: a query there can come out `any`, which a `for…of`
    # takes silently): its callback gets no type from it (TS7006). The callback only passes
    # the item to the scheduler, so `any` types nothing else (as the concurrent rewrite does).
    # (Not in JavaScript: no implicit `any` there, and an annotation is an error, TS8010.)
    lost = is_typescript_path(source.path) and (untyped_root(collection_node) or file_says_types_lost(source))
    if lost and len(pattern_names(left)) == 1 and left.type == "identifier":
        item = f"{item}: any"
    scheduled = layout.copied(source.node_text(schedule.node), source.line_indent(schedule.node.start_byte))
    callback = layout.arrow(item, scheduled)
    if _known_array(ctx, collection_node):
        items = layout.chain(collection, [layout.call(".map", [callback], style)])
    else:
        # A Map, a Set, an iterator or a value of unknown type: `.map` exists only on arrays.
        items = layout.call("Array.from", [collection, callback], style)
    doc = ("await ", layout.call("Promise.all", [items], style), style.semi)
    new = layout.render(doc, style, source.line_indent(loop.node.start_byte), _column(ctx, loop.node))
    return Fix.unsafe(
        "Schedule all items at once with `Promise.all`",
        [Edit(ctx.path, loop.node.start_byte, loop.node.end_byte, new)],
    )


def _known_array(ctx: RuleContext, collection: Node) -> bool:
    """`.map` is safe on it: an array literal, a name declared as an array, or a function's
    argument (`args.items`: the only iterable Convex validators give is an array)."""
    if collection.type == "array":
        return True
    if collection.type == "identifier":
        return declared_array(ctx, text_of(collection))
    if collection.type == "member_expression":
        owner = unwrap(collection.child_by_field_name("object"))
        function = ctx.function_at(collection)
        return owner is not None and function is not None and text_of(owner) == function.args_param
    return False


def _column(ctx: RuleContext, node: Node) -> int:
    start = ctx.source.lines.line_starts[ctx.source.lines.line_of(node.start_byte)]
    return len(ctx.source.slice(start, node.start_byte))


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    reported_runs: set[int] = set()
    for schedule in ctx.model.schedules:
        if not schedule.awaited:
            continue
        in_action = schedule.function is not None and schedule.function.kind.is_action
        loops = tuple(loop for loop in costly_loops(schedule) if loop.is_statement)
        if loops:
            innermost = loops[-1]
            count = loop_cost(
                loops, 1, ctx.model, schedule.function, ctx.cost, sequential=True,
                unit="scheduler calls", schema=ctx.schema, trigger=ctx.trigger(schedule.function),
            )
            # In an action each awaited call is a round trip: worth fixing first when the loop
            # grows with a tenant, a log or a table; over a bounded batch or one parent's few
            # items (an admin retry of 20, one page) it is a few round trips.
            grows = count.growth >= Growth.PER_PARENT_LOG or nested_multiplies(count)
            severity = Severity.WARNING if in_action and grows else Severity.INFO
            cost = "one backend round trip each" if in_action else "buffered in the transaction, but one job per item"
            yield ctx.finding(
                META,
                schedule.node,
                f"`ctx.scheduler.{schedule.method}` is awaited once per {loop_phrase(ctx.source, loops)}: "
                f"{cost}, {count.explain()}. Schedule them together with `Promise.all`, or schedule one job for the list.",
                severity=severity,
                cost=count,
                related=[Related(Span(ctx.path, innermost.header_start, innermost.header_end), f"the loop (line {line_of(ctx.source, innermost.header_start)})")],
                fix=_loop_fix(ctx, schedule, innermost),
            )
            continue
        if schedule.loops and not loops:
            continue  # exempt or concurrent loop
        statement = _statement_of(schedule.node)
        if statement is None or statement.id in reported_runs:
            continue
        run = [statement]
        sibling = _next_statement(statement)
        while sibling is not None and sibling.type == "expression_statement" and _is_awaited_schedule(sibling):
            run.append(sibling)
            sibling = _next_statement(sibling)
        if len(run) < 2:
            continue
        reported_runs.update(s.id for s in run)
        calls = [s.named_children[0].named_children[0] for s in run]
        new = "await Promise.all([\n" + "".join(
            f"{_indent_of(ctx, statement)}  {ctx.source.node_text(c)},\n" for c in calls
        ) + f"{_indent_of(ctx, statement)}]);"
        yield ctx.finding(
            META,
            Span(ctx.path, run[0].start_byte, run[-1].end_byte),
            f"{len(run)} scheduler calls awaited one after another; they do not depend on each other, "
            "so schedule them together with `Promise.all`.",
            severity=Severity.INFO,
            fix=Fix.unsafe("Schedule together with `Promise.all`", [Edit(ctx.path, run[0].start_byte, run[-1].end_byte, new)]),
        )


def _next_statement(node: Node) -> Node | None:
    sibling = node.next_named_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.next_named_sibling
    return sibling


def _is_awaited_schedule(statement: Node) -> bool:
    expression = statement.named_children[0] if statement.named_children else None
    if expression is None or expression.type != "await_expression" or not expression.named_children:
        return False
    call = expression.named_children[0]
    if call.type != "call_expression":
        return False
    callee = text_of(call.child_by_field_name("function"))
    return callee.endswith(("scheduler.runAfter", "scheduler.runAt"))


def _indent_of(ctx: RuleContext, node: Node) -> str:
    """The statement's indentation, or nothing when it does not start its line."""
    return ctx.source.line_indent(node.start_byte) if ctx.source.starts_line(node.start_byte) else ""
