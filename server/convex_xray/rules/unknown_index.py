"""Finds `.withIndex("name")` names that the table's schema does not define.

## What it does
Checks every `.withIndex(...)` / `.withSearchIndex(...)` (and index names handed to
convex-helpers such as `getManyFrom(db, "table", "by_x", value)`) against the table's
indexes in `schema.ts`, including the implicit `by_id` and `by_creation_time`.

## Why is this bad?
A query on a missing index fails at run time (and at deploy time in typed code), so the
function is broken. A search index used with `.withIndex` (or the other way round) or a
`staged` index that is still backfilling fails the same way.

## Example
```ts
// schema: messages.index("by_threadId", ["threadId"])
const messages = await ctx.db
  .query("messages")
  .withIndex("by_thread", (q) => q.eq("threadId", threadId))
  .take(50);
```

Use instead:
```ts
const messages = await ctx.db
  .query("messages")
  .withIndex("by_threadId", (q) => q.eq("threadId", threadId))
  .take(50);
```

## Fix safety
When exactly one existing index name is a close match, renaming to it is offered as an
unsafe fix (the intended index may differ). Adding the missing index to the schema is
offered by the add-index fix when the range fields are known, except where the app's data
model is at TypeScript's instantiation-depth limit (its own `@ts-expect-error TS2589` on a
query, a read or a validator): a new index deepens the data model's type there.

## Options
None. The rule says nothing when `schema.ts` is missing or cannot be read, or when the
table is defined in a way that cannot be followed statically.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Related, Severity
from convex_xray.engine.model import IndexRef
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.schema import Index, Table
from convex_xray.rules.support.add_index import index_key, missing_index_fixes, valid_range
from convex_xray.rules.support.schema_plan import adds_indexes, close_match, ranges_of, schema_plan

META = RuleMeta(
    code="CX301",
    slug="unknown-index",
    severity=Severity.ERROR,
    summary="`.withIndex` name missing from the table's schema",
    fix=FixAvailability.SOMETIMES,
)


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    schema = ctx.schema
    if schema is None or ctx.model is None:
        return
    planned = schema_plan(ctx.workspace, ctx.config)
    for ref in ctx.model.index_refs:
        if ref.name is None or ref.table is None or ref.name_node is None:
            continue  # computed at run time: no claim
        table = schema.table(ref.table)
        if table is None or not table.indexes_known:
            continue
        index = table.index(ref.name)
        wants_search = ref.kind == "withSearchIndex"
        if index is None:
            table_plan = planned.table(schema, ref.table)
            if table_plan is not None:
                table = table_plan.view()  # never advise an index the schema plan removes
            candidates = [
                name
                for name, idx in table.indexes.items()
                if (idx.kind == "searchIndex") == wants_search
            ]
            if not wants_search:
                candidates += ["by_id", "by_creation_time"]
            found = close_match(ref.name, table, search=wants_search)
            close = [found] if found is not None and _fits(ref, table.index(found)) else []
            hint = f"; did you mean `{close[0]}`?" if close else ""
            known = ", ".join(f"`{n}`" for n in candidates[:8]) or "none"
            related = []
            close_span = table.indexes[close[0]].span if close and close[0] in table.indexes else None
            if close_span is not None:
                related.append(Related(close_span, f"`{close[0]}` is defined here"))
            elif table.name_span is not None:
                related.append(Related(table.name_span, f"table `{table.name}` is defined here"))
            fix = None
            if close:
                quote = ctx.source.data[ref.name_node.start_byte : ref.name_node.start_byte + 1].decode()
                fix = Fix.unsafe(
                    f"Use index `{close[0]}`",
                    [Edit(ctx.path, ref.name_node.start_byte, ref.name_node.end_byte, f"{quote}{close[0]}{quote}")],
                )
            yield ctx.finding(
                META,
                ref.name_node,
                f"Table `{ref.table}` has no index `{ref.name}`{hint} (its indexes: {known}). "
                "This query fails at run time.",
                related=related,
                fix=fix,
                alternatives=_add_index_alternatives(ctx, ref, table, fix),
            )
            continue
        related = [Related(index.span, f"`{index.name}` is defined here")] if index.span else []
        if wants_search and index.kind != "searchIndex":
            yield ctx.finding(
                META,
                ref.name_node,
                f"`{ref.name}` on `{ref.table}` is not a search index; `.withSearchIndex` needs one "
                "defined with `.searchIndex(...)`.",
                related=related,
            )
        elif ref.kind == "withIndex" and index.kind in ("searchIndex", "vectorIndex"):
            yield ctx.finding(
                META,
                ref.name_node,
                f"`{ref.name}` on `{ref.table}` is a {index.kind}; use "
                f"{'`.withSearchIndex`' if index.kind == 'searchIndex' else '`ctx.vectorSearch` (in an action)'} "
                "instead of `.withIndex`.",
                related=related,
            )
        elif index.staged and ref.kind == "withIndex":
            yield ctx.finding(
                META,
                ref.name_node,
                f"Index `{ref.name}` on `{ref.table}` is staged (still backfilling) and cannot be "
                "queried until `staged: true` is removed.",
                related=related,
            )


def _fits(ref: IndexRef, index: Index | None) -> bool:
    """The query's range is a valid range on `index` (so renaming to it runs)."""
    if index is None or not index.is_database_index:
        return ref.kind == "withSearchIndex" and index is not None
    if ref.kind != "withIndex":
        return False
    ranges = ranges_of(ref)
    return ranges is not None and valid_range(ranges, index_key(index))


def _add_index_alternatives(ctx: RuleContext, ref: IndexRef, table: Table, fix: Fix | None) -> list[Fix]:
    """The add-index fix: an existing index with the range's fields, or the index added to the schema."""
    schema_source = ctx.workspace.source(table.insert_at.path) if table.insert_at is not None else None
    if not adds_indexes(ctx.workspace, ctx.source):
        schema_source = None  # the data model is at TypeScript's depth limit: no new index
    found = missing_index_fixes(ctx.source, ref, table, schema_source)
    return [f for f in found if fix is None or f.edits != fix.edits]
