"""Finds indexes whose fields are a prefix of another index on the same table.

## What it does
Reports a database index whose field list is a strict prefix of another database index on
the same table (`by_sessionId` = `["sessionId"]` next to `by_sessionId_and_playerId` =
`["sessionId", "playerId"]`), or repeats another index's fields exactly. Any range on the
shorter index is also a range on the longer one, so queries can use the longer index.

Not reported (the index is then not redundant: a query needs it as it is):

- when the longer index is `staged` (it cannot serve queries until its backfill is done),
  or is itself removed by the schema plan (unused, or redundant with a longer one);
- when no code uses the shorter index at all: `unused-index` reports it;
- when a query on it asks for an order (`.order("desc")`: "the newest documents of `a`").
  `by_a` returns documents in (`a`, `_creationTime`) order, `by_a_b` in
  (`a`, `b`, `_creationTime`) order, so that query cannot move;
- when a query's range is not valid on the longer index (a bound on `_creationTime` right
  after `a`), or is built at run time.

`.first()` / `.take(n)` without `.order` read as "any one" / a cap, but check them too.
The decision comes from the workspace's one schema plan (`rules/support/schema_plan.py`),
which also counts the queries other fixes of the same run send to an index.

Search and vector indexes are never compared.

## Why is this bad?
Every index is updated on each write to the table and takes storage. A prefix index
duplicates work the longer index already does.

## Example
```ts
// convex/schema.ts
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  attendance: defineTable({ sessionId: v.string(), playerId: v.string() })
    .index("by_sessionId", ["sessionId"])
    .index("by_sessionId_and_playerId", ["sessionId", "playerId"]),
});

// convex/attendance.ts
import { query } from "./_generated/server";
import { v } from "convex/values";

export const forSession = query({
  args: { sessionId: v.string() },
  handler: async (ctx, args) =>
    await ctx.db.query("attendance").withIndex("by_sessionId", (q) => q.eq("sessionId", args.sessionId)).collect(),
});

export const mark = query({
  args: { sessionId: v.string(), playerId: v.string() },
  handler: async (ctx, args) =>
    await ctx.db
      .query("attendance")
      .withIndex("by_sessionId_and_playerId", (q) => q.eq("sessionId", args.sessionId).eq("playerId", args.playerId))
      .unique(),
});
```

Use instead:
```ts
// convex/schema.ts
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  attendance: defineTable({ sessionId: v.string(), playerId: v.string() })
    .index("by_sessionId_and_playerId", ["sessionId", "playerId"]),
});

// convex/attendance.ts
import { query } from "./_generated/server";
import { v } from "convex/values";

export const forSession = query({
  args: { sessionId: v.string() },
  handler: async (ctx, args) =>
    await ctx.db.query("attendance").withIndex("by_sessionId_and_playerId", (q) => q.eq("sessionId", args.sessionId)).collect(),
});

export const mark = query({
  args: { sessionId: v.string(), playerId: v.string() },
  handler: async (ctx, args) =>
    await ctx.db
      .query("attendance")
      .withIndex("by_sessionId_and_playerId", (q) => q.eq("sessionId", args.sessionId).eq("playerId", args.playerId))
      .unique(),
});
```

## Fix safety
The fix removes the shorter index and renames every query on it to the longer one, in all
files. It is unsafe: the renamed queries return documents in the longer index's order, and
removing an index is a schema change. It is offered only when every use of the index is
a string literal this workspace can see and none asks for an order.

## Options
None. Tagged "unnecessary" so editors show the index faded.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Related, Severity
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.schema import Index, Table
from convex_xray.engine.syntax import string_value
from convex_xray.rules.support.add_index import remove_index_edit, rename_literal_edit
from convex_xray.rules.support.index_usage import IndexUsage, index_usage
from convex_xray.rules.support.schema_plan import schema_plan

META = RuleMeta(
    code="CX304",
    slug="redundant-index",
    severity=Severity.HINT,
    summary="index that is a prefix of another on the same table",
    fix=FixAvailability.SOMETIMES,
    scope="workspace",
    unnecessary=True,
)


def _fields(index: Index) -> str:
    return ", ".join(f"`{f}`" for f in index.fields)


def _rename_fix(
    ctx: RuleContext, usage: IndexUsage, table: Table, index: Index, target: Index
) -> Fix | None:
    """Remove `index` and rename every query on it to `target` (the plan checked that each
    range stays valid there and none asks for an order)."""
    source = ctx.workspace.source(index.name_span.path) if index.name_span is not None else None
    remove = remove_index_edit(source, index) if source is not None else None
    if remove is None:
        return None
    edits: list[Edit] = [remove]
    uses = usage.rename_sites(table.name, index.name)
    for path, use_source, name_node in uses:
        if name_node is None or string_value(name_node) != index.name:
            return None
        edit = rename_literal_edit(path, use_source, name_node, target.name)
        if edit is None:
            return None
        edits.append(edit)
    count = len(uses)
    also = (
        f" and use `{target.name}` in {count} quer{'y' if count == 1 else 'ies'}" if count else ""
    )
    return Fix.unsafe(f"Remove index `{index.name}`{also}", edits)


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    schemas = [s for s in ctx.workspace.app_schemas() if s.usable]
    if not schemas:
        return
    usage = index_usage(ctx)
    plan = schema_plan(ctx.workspace, ctx.config)
    for schema in schemas:
        for table in schema.tables.values():
            table_plan = plan.table(schema, table.name)
            if table_plan is None:
                continue
            for index in table.indexes.values():
                if index.name_span is None:
                    continue
                removal = table_plan.removals.get(index.name)
                if removal is not None and removal.reason == "redundant" and removal.target is not None:
                    target, fixable = removal.target, True
                else:
                    kept = table_plan.kept_redundant.get(index.name)
                    if kept is None or kept.why != "name":
                        continue  # not redundant, or a query needs it as it is (its order, its range)
                    target, fixable = kept.target, False
                same = target.fields == index.fields
                related = (
                    [Related(target.span, f"`{target.name}` is defined here")]
                    if target.span
                    else []
                )
                if same:
                    message = (
                        f"Index `{index.name}` on `{table.name}` repeats the fields of `{target.name}` "
                        f"({_fields(index)}): every write to `{table.name}` maintains both; remove one."
                    )
                else:
                    a = index.fields
                    message = (
                        f"Index `{index.name}` ({_fields(index)}) is a prefix of `{target.name}` "
                        f"({_fields(target)}) on `{table.name}`: queries on it can use `{target.name}`, and "
                        f"every write maintains both. Note the order: `{index.name}` returns documents by "
                        f"({', '.join(a)}, _creationTime), `{target.name}` by "
                        f"({', '.join(target.fields)}, _creationTime); no query here asks for that order "
                        f"(`.order(...)`), but keep `{index.name}` if code relies on creation-time order within `{a[-1]}`."
                    )
                if not fixable:
                    message += " No fix: an index name here is computed or mentioned outside a query."
                yield ctx.finding(
                    META,
                    index.name_span,
                    message,
                    related=related,
                    fix=_rename_fix(ctx, usage, table, index, target) if fixable else None,
                )
