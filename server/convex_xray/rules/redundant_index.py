"""Finds indexes whose fields are a prefix of another index on the same table.

## What it does
Reports a database index whose field list is a strict prefix of another database index on
the same table (`by_sessionId` = `["sessionId"]` next to `by_sessionId_and_playerId` =
`["sessionId", "playerId"]`), or repeats another index's fields exactly. Any range on the
shorter index is also a range on the longer one, so queries can use the longer index.

Not reported:

- when the longer index is `staged` (it cannot serve queries until its backfill is done);
- when no code uses the shorter index at all: `unused-index` reports it.

Mind the order: `by_a` returns documents in (`a`, `_creationTime`) order, `by_a_b` in
(`a`, `b`, `_creationTime`) order. A query on `by_a` that asks for an order
(`.order("desc")`: "the newest documents of `a`") cannot move to `by_a_b`; the message then
points at that query (keep the index if it needs that order) and no fix is offered.
`.first()` / `.take(n)` without `.order` read as "any one" / a cap, but check them too.

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
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import FileModel, IndexRef
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.schema import Index, Table
from convex_xray.engine.syntax import string_value
from convex_xray.rules.support.add_index import remove_index_edit, rename_literal_edit
from convex_xray.rules.support.index_usage import IndexUsage, index_usage

META = RuleMeta(
    code="CX304",
    slug="redundant-index",
    severity=Severity.HINT,
    summary="index that is a prefix of another on the same table",
    fix=FixAvailability.SOMETIMES,
    scope="workspace",
    unnecessary=True,
)


def relies_on_order(ref: IndexRef) -> bool:
    """The query asks for an order explicitly (`.order("desc")`: newest first)."""
    chain = ref.chain
    if chain is None:
        return False  # convex-helpers reads: getManyFrom collects, getOneFrom expects one
    return bool(chain.steps_named("order"))


def _fields(index: Index) -> str:
    return ", ".join(f"`{f}`" for f in index.fields)


def _covering(table: Table, index: Index) -> tuple[Index, bool] | None:
    """(the index that makes `index` redundant, same fields?)"""
    count = len(index.fields)
    same: list[Index] = []
    longer: list[Index] = []
    for other in table.indexes.values():
        if other is index or other.kind != "index" or other.staged or not other.fields:
            continue
        if other.fields == index.fields:
            # Of two identical indexes, report the later one.
            if (
                other.span is not None
                and index.span is not None
                and other.span.start < index.span.start
            ):
                same.append(other)
        elif len(other.fields) > count and other.fields[:count] == index.fields:
            longer.append(other)
    if same:
        return same[0], True
    if longer:
        return min(longer, key=lambda i: len(i.fields)), False
    return None


def _rename_fix(
    ctx: RuleContext, usage: IndexUsage, table: Table, index: Index, target: Index
) -> Fix | None:
    if index.name_span is None or not usage.can_claim(table.name) or usage.mentions[index.name] > 0:
        return None
    if usage.by_name.get(index.name):
        return None  # a use whose table we do not know: renaming it could break another table
    source = ctx.workspace.source(index.name_span.path)
    remove = remove_index_edit(source, index) if source is not None else None
    if remove is None:
        return None
    edits: list[Edit] = [remove]
    uses: list[tuple[FileModel, IndexRef]] = usage.refs.get((table.name, index.name), [])
    for model, ref in uses:
        if ref.name_node is None or string_value(ref.name_node) != index.name:
            return None
        edit = rename_literal_edit(model.path, model.source, ref.name_node, target.name)
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
    for schema in schemas:
        for table in schema.tables.values():
            if not table.indexes_known:
                continue
            for index in table.indexes.values():
                if (
                    index.kind != "index"
                    or index.staged
                    or not index.fields
                    or index.name_span is None
                ):
                    continue
                found = _covering(table, index)
                if found is None:
                    continue
                target, same = found
                uses = usage.uses(table.name, index.name)
                if (
                    not uses
                    and schema.complete
                    and usage.can_claim(table.name)
                    and usage.mentions[index.name] == 0
                ):
                    continue  # unused-index reports it
                ordered = [] if same else [(m, r) for m, r in uses if relies_on_order(r)]
                related = (
                    [Related(target.span, f"`{target.name}` is defined here")]
                    if target.span
                    else []
                )
                for model, ref in ordered[:3]:
                    related.append(
                        Related(
                            Span(model.path, ref.node.start_byte, ref.node.end_byte),
                            f"this query orders by `{index.name}` (creation time within `{index.fields[-1]}`)",
                        )
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
                        f"({', '.join(target.fields)}, _creationTime); "
                    )
                    if ordered:
                        count = len(ordered)
                        message += (
                            f"{count} quer{'y asks' if count == 1 else 'ies ask'} for that order "
                            f"(`.order(...)`): keep `{index.name}` if {'it needs' if count == 1 else 'they need'} creation-time "
                            f"order within `{a[-1]}`."
                        )
                    else:
                        message += f"keep `{index.name}` if a query relies on creation-time order within `{a[-1]}`."
                yield ctx.finding(
                    META,
                    index.name_span,
                    message,
                    related=related,
                    fix=None if ordered else _rename_fix(ctx, usage, table, index, target),
                )
