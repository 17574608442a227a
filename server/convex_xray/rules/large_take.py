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
small by design are never reported. Only literals are checked (`.take(LIMIT)` is not).
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Finding, FixAvailability, Severity, Span
from convex_xray.engine.registry import RuleMeta, register
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
