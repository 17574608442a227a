"""Finds queries on a table the app's schema does not define.

## What it does
Reports `ctx.db.query("t")` when the schema that governs the file is known and complete
and has no table `t`: typically a component's table reached with `(ctx.db as any)` (Better
Auth's `users`, say), or a typo. The collect and scan rules say nothing about such a
query: it reads none of the app's tables.

## Why is this bad?
An app's `ctx.db` sees only the app's tables: a component's tables live in the component
and are reached through its functions (`ctx.runQuery(components.x.…)`). A query on a table
the schema lacks returns nothing or fails, and its cost cannot be judged from this schema,
so the finding is information, not a cost claim.

## Example
```ts
export const byEmail = query({
  args: { email: v.string() },
  handler: async (ctx, args) => {
    return await (ctx.db as any).query("authUsers").first();
  },
});
```

Use instead:
```ts
export const byEmail = query({
  args: { email: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db
      .query("players")
      .withIndex("by_email", (q) => q.eq("email", args.email))
      .unique();
  },
});
```

## Fix safety
No automatic fix: call the component's API, add the table to the schema, or correct the
name.

## Options
None. Silent when the schema is missing, cannot be read completely (spreads or tables
built at run time), or the table name is computed; system tables (`_storage`,
`_scheduled_functions`) are never reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Finding, FixAvailability, Severity, Span
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.rules.support.tables import outside_schema

META = RuleMeta(
    code="CX305",
    slug="unknown-table",
    severity=Severity.INFO,
    summary="a query on a table the app's schema does not define",
    fix=FixAvailability.NEVER,
)

DOC_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  players: defineTable({ email: v.string() }).index("by_email", ["email"]),
});
"""


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    schema = ctx.schema
    if schema is None:
        return
    for chain in ctx.model.chains:
        if not outside_schema(ctx, chain.table):
            continue
        known = ", ".join(f"`{name}`" for name in sorted(schema.tables)[:8])
        more = "…" if len(schema.tables) > 8 else ""
        anchor = chain.table_node if chain.table_node is not None else chain.root
        yield ctx.finding(
            META,
            Span(ctx.path, anchor.start_byte, anchor.end_byte),
            f"`{chain.table}` is not a table of this schema ({known}{more}): the query reads none of "
            "the app's tables. A component's table is reached through the component's functions "
            "(`ctx.runQuery(components.…)`), not the app's `ctx.db`.",
        )
