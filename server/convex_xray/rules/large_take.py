"""Finds a large literal `.take(n)` used to mean "all of them".

## What it does
Reports `.take(n)` on a database query when `n` is a number literal at or above
`large-take` (default 500), such as `.take(1000)` or `.take(10_000)`.

## Why is this bad?
A big `take` is an unbounded read in disguise: it reads up to `n` documents on every call
(each one counts against Convex's 32,000-document / 16 MiB per-function limits and joins
the query's read set), and once the range grows past `n` it silently drops the rest. The
code looks bounded, so nobody notices either problem. Read a page at a time
(`.paginate()`), keep a real limit that the UI shows, or maintain an aggregate.

## Example
```ts
const history = await ctx.db
  .query("attendance")
  .withIndex("by_playerId", (q) => q.eq("playerId", args.playerId))
  .take(1000);
```

Use instead:
```ts
const history = await ctx.db
  .query("attendance")
  .withIndex("by_playerId", (q) => q.eq("playerId", args.playerId))
  .order("desc")
  .paginate(args.paginationOpts);
```

## Fix safety
No automatic fix: whether the caller needs every document, a page, or a count is a
design decision.

## Options
`large-take` (default 500): the smallest `n` reported. `small-tables`: tables that stay
small by design are never reported. `n` is a number literal or a `const` bound to one in
scope (`const LIMIT = 1000; … .take(LIMIT)`); a parameter or a `let` is not a known size.

The same "all, in disguise" is reported on component adapters read through `ctx.runQuery`
(Better Auth's `components.betterAuth.adapter.findMany`, and any `….findMany` reference)
when the arguments ask for `paginationOpts: { numItems: n }` or `limit: n` with `n` at or
above the threshold: one page of that size is read and the rest dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from tree_sitter import Node

from convex_xray.engine.findings import Finding, FixAvailability, Severity, Span
from convex_xray.engine.model import RunCall
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.syntax import number_value, string_value, text_of, unwrap
from convex_xray.rules.support.tables import outside_schema

META = RuleMeta(
    code="CX204",
    slug="large-take",
    severity=Severity.INFO,
    summary='a large literal `.take(n)` used as "all"',
    fix=FixAvailability.NEVER,
)

DOC_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  attendance: defineTable({ playerId: v.id("players"), present: v.boolean() })
    .index("by_playerId", ["playerId"]),
  players: defineTable({ name: v.string() }),
});
"""


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    threshold = ctx.config.large_take
    for chain in ctx.model.chains:
        count = chain.take_count
        step = chain.terminal_step
        if count is None or step is None or count < threshold:
            continue
        if outside_schema(ctx, chain.table):
            continue  # not one of the app's tables: unknown-table says so
        if chain.table is not None and chain.table in ctx.config.small_tables:
            continue
        documents = f"`{chain.table}` documents" if chain.table else "documents"
        yield ctx.finding(
            META,
            Span(ctx.path, step.property.start_byte, step.call.end_byte),
            f"`.take({ctx.source.node_text(step.args[0])})` reads up to {count:,} {documents} per call and silently drops "
            "the rest once there are more: an unbounded read that looks bounded. Paginate, or use a "
            "limit the caller really needs.",
        )
    yield from _adapter_pages(ctx)


def _property(obj: Node | None, key: str) -> Node | None:
    """The value of `key: value` (or shorthand `key`) in an object literal."""
    obj = unwrap(obj)
    if obj is None or obj.type != "object":
        return None
    for member in obj.named_children:
        if member.type == "pair" and text_of(member.child_by_field_name("key")).strip("'\"") == key:
            return member.child_by_field_name("value")
        if member.type == "shorthand_property_identifier" and text_of(member) == key:
            return member
    return None


def _page_size(call: RunCall) -> tuple[int, Node] | None:
    """`{ paginationOpts: { numItems: n } }` or `{ limit: n }` in the call's arguments."""
    options = _property(call.args_node, "paginationOpts")
    size = _property(options, "numItems") if options is not None else _property(call.args_node, "limit")
    count = number_value(size)
    return (count, size) if count is not None and size is not None else None


def _adapter_pages(ctx: RuleContext) -> Iterator[Finding]:
    """`ctx.runQuery(components.betterAuth.adapter.findMany, { paginationOpts: { numItems: 1000 } })`:
    the adapter reads one page of that size and drops the rest, the same disguised "all"."""
    assert ctx.model is not None
    threshold = ctx.config.large_take
    for call in ctx.model.run_calls:
        ref = "".join((call.ref or "").split())
        if call.method != "runQuery" or not ref.endswith(".findMany"):
            continue
        found = _page_size(call)
        if found is None or found[0] < threshold:
            continue
        count, size = found
        model = string_value(unwrap(_property(call.args_node, "model")))
        documents = f"`{model}` documents" if model else "documents"
        option = text_of(size.parent) if size.parent is not None and size.parent.type == "pair" else text_of(size)
        yield ctx.finding(
            META,
            Span(ctx.path, size.start_byte, size.end_byte),
            f"`{ref.rsplit('.', 2)[-2]}.findMany` with `{option}` reads up to {count:,} {documents} "
            "per call and silently drops the rest once there are more: an unbounded read that looks "
            "bounded. Page through them with the cursor it returns, or ask for what the caller needs.",
        )
