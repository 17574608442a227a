"""Finds schema indexes that no code in the workspace uses.

## What it does
Reports an index defined in the application's `schema.ts` (database, search or vector
index) that nothing in the workspace names: no `.withIndex(...)`, no
`.withSearchIndex(...)`, no `ctx.vectorSearch(table, index, ...)`, no convex-helpers
`getManyFrom` / `getOneFrom` / `getManyVia` call, and no other string literal spelling its
name (a constant, an argument to a wrapper).

It makes no claim when it cannot be sure:

- the schema could not be read completely (a spread or a table built by a function);
- an index name on that table is chosen at run time (`.withIndex(args.index)`);
- an index name is chosen at run time on a table that is itself unknown (then no index is
  reported at all), unless the name is a helper's parameter, whose callers pass literals;
- the index is `staged` (still being built, so not used yet by design).

Component schemas (Better Auth and other `defineComponent` directories) are excluded:
their indexes serve the component's own code.

## Why is this bad?
Every index is a sorted copy of part of the table. Each insert, patch, replace and delete
updates every index of the table, and each index takes storage. An index nothing queries
is pure cost; on large tables it also makes deploys that change it slower.

## Example
```ts
// convex/schema.ts
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  players: defineTable({ orgId: v.string(), guardianId: v.string() })
    .index("by_orgId", ["orgId"])
    .index("by_guardianId", ["guardianId"]),
});

// convex/players.ts
import { query } from "./_generated/server";
import { v } from "convex/values";

export const list = query({
  args: { orgId: v.string() },
  handler: async (ctx, args) =>
    await ctx.db.query("players").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).take(50),
});
```

Use instead:
```ts
// convex/schema.ts
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  players: defineTable({ orgId: v.string(), guardianId: v.string() })
    .index("by_orgId", ["orgId"]),
});

// convex/players.ts
import { query } from "./_generated/server";
import { v } from "convex/values";

export const list = query({
  args: { orgId: v.string() },
  handler: async (ctx, args) =>
    await ctx.db.query("players").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).take(50),
});
```

## Fix safety
Removing the index line is unsafe: code outside this workspace (another app sharing the
deployment, scripts, the dashboard) may use it, and removing an index is a schema change
that deploys immediately.

## Options
None. Tagged "unnecessary" so editors show the index faded.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.rules.support.add_index import remove_index_edit
from convex_xray.rules.support.index_usage import index_usage
from convex_xray.rules.support.schema_plan import Use, schema_plan

META = RuleMeta(
    code="CX303",
    slug="unused-index",
    severity=Severity.HINT,
    summary="schema index referenced nowhere in the workspace",
    fix=FixAvailability.SOMETIMES,
    scope="workspace",
    unnecessary=True,
)

KIND_WORDS = {"index": "Index", "searchIndex": "Search index", "vectorIndex": "Vector index"}


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    schemas = [s for s in ctx.workspace.app_schemas() if s.usable and s.complete]
    if not schemas:
        return
    usage = index_usage(ctx)
    plan = schema_plan(ctx.workspace, ctx.config)
    for schema in schemas:
        for table in schema.tables.values():
            if not table.indexes_known or not usage.can_claim(table.name):
                continue
            table_plan = plan.table(schema, table.name)
            for index in table.indexes.values():
                if index.staged or index.name_span is None or usage.used(table.name, index.name):
                    continue
                what = KIND_WORDS.get(index.kind, "Index")
                head = (
                    f"{what} `{index.name}` on `{table.name}` is never used: no query, search, vector "
                    "search or convex-helpers call in the workspace names it."
                )
                removal = table_plan.removals.get(index.name) if table_plan is not None else None
                if removal is None or removal.reason != "unused":
                    # Nothing names it, but the schema plan sends a query to it (a `.filter()`
                    # an index could take over, a query on a misspelt index): keep it for them.
                    uses = table_plan.uses.get(index.name, []) if table_plan is not None else []
                    if not uses:
                        continue
                    yield ctx.finding(
                        META,
                        index.name_span,
                        f"{head} Keep it: {_planned_use(uses)} can use it instead of "
                        "adding another index.",
                        related=[Related(Span(u.path, u.offset, u.offset + 1), _use_words(u)) for u in uses[:3]],
                    )
                    continue
                fix = None
                source = ctx.workspace.source(index.name_span.path)
                edit = remove_index_edit(source, index) if source is not None else None
                if edit is not None:
                    fix = Fix.unsafe(f"Remove index `{index.name}`", [edit])
                yield ctx.finding(
                    META,
                    index.name_span,
                    f"{head} Every write to "
                    f"`{table.name}` still updates it and it takes storage; remove it unless code "
                    "outside this workspace queries it.",
                    fix=fix,
                )


def _use_words(use: Use) -> str:
    if use.kind == "filter":
        return "this `.filter()` can move into the index (filter-on-query)"
    return "this query names an index the table lacks; its range fits this one (unknown-index)"


def _planned_use(uses: list[Use]) -> str:
    filters = sum(1 for u in uses if u.kind == "filter")
    others = len(uses) - filters
    parts = []
    if filters:
        parts.append(f"{filters} `.filter()` quer{'y' if filters == 1 else 'ies'}")
    if others:
        parts.append(f"{others} quer{'y' if others == 1 else 'ies'} on a missing index")
    return " and ".join(parts)
