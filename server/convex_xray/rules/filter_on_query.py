"""Finds `.filter()` on a database query where an index could do the work.

## What it does
Reports `.filter((q) => ...)` on a `ctx.db.query(...)` chain when some of its conditions
compare a field with a value (`q.eq(q.field("status"), "done")`, `q.gte(q.field("createdAt"), since)`)
and an index could take them over. The message names the index: one the schema already
has (`by_orgId_and_status`), or a new one named in the project's own style (`by_a_and_b`,
`by_a_b` or `byAAndB`, whichever the schema's index names follow). The new index keeps the
fields the query already uses first, so the documents still come back in the same order. A
range (`q.gt(q.field("createdAt"), t)`) on a field the query is not ordered by moves into
the index only when the query collects every match and asks for no order: with `.first()`,
`.take(n)`, `.paginate()` or `.order()` it stays in the filter, because an index on that
field would change which documents come first.

Three shapes:

- after a selective `.withIndex(...)`: the filter walks the whole index range
  (`by_orgId`: every document of the org) and throws away what does not match;
- with no index at all: the filter scans the whole table;
- after `.withIndex(name)` with no range: the same full scan, in index order.

`.filter()` on JavaScript arrays is never reported (only chains that start at
`ctx.db.query` are queries). Conditions no index can take (`q.or`, `q.neq`, `q.not`,
comparing two fields) after a selective index are left alone: the index already narrows the
read, and what remains is the right job for `.filter()`. The same conditions with no index
are a full table scan, which `full-table-scan` reports. One problem gets one diagnostic:
when a scan has a filter an index could take, this rule reports it and `full-table-scan`
stays silent.

A warning when the filtered range grows with the data: the whole table, a category share of
it, a log or feed (also a tenant's: an org's activity); info when it is one parent document's
children or one tenant's members, invites or settings (tens to hundreds, most of them kept:
the filter saves a few reads; see `[cost]`). Info too when the chain stops after a bounded
number of matches (`.take(n)`, `.first()`, `.paginate()`) and the filter keeps the value most
rows have (`isActive` true, `isDeleted`/`archived` false): the scan then reads about as many
rows as it keeps, and the message says so instead of claiming the whole table.

## Why is this bad?
`.filter()` does not make a query read less: Convex reads every document in the index
range (or the whole table) and applies the filter afterwards. Each document read counts
against the per-function limits (32,000 documents, 16 MiB) and joins the query's read set,
so unrelated writes to the table invalidate the query and conflict with mutations. An index
on the filtered fields makes the database read only the matches.

## Example
```ts
const done = await ctx.db
  .query("sessions")
  .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
  .filter((q) => q.eq(q.field("status"), "done"))
  .collect();
```

Use instead:
```ts
// schema.ts: sessions.index("by_orgId_and_status", ["orgId", "status"])
const done = await ctx.db
  .query("sessions")
  .withIndex("by_orgId_and_status", (q) =>
    q.eq("orgId", args.orgId).eq("status", "done"),
  )
  .collect();
```

## Fix safety
When an index in the schema already covers the fields, the fix only rewrites the query
(`.withIndex(...)` with the conditions moved into its range, the filter removed or reduced
to what the index cannot take). That is safe when the documents come back in the same
order, and unsafe when the covering index orders them differently.

Otherwise the fix is the add-index fix: one edit inserts `.index("<name>", [...])` into the
table's `defineTable(...)` (in `schema.ts` or the file that defines the table), another
rewrites the query. It is unsafe: deploying a new index starts a backfill, and every index
costs storage and time on each write. Review the name and field order before applying.
Where the app's data model is at TypeScript's instantiation-depth limit (the app's own
`@ts-expect-error TS2589` on a query, a read or a validator anywhere in its Convex folder),
no index is added: a new index deepens the data model's type, and document types collapse in
code the fix did not touch. The finding stays and says so; add the index by hand and
type-check. There a rewrite to an existing index is offered only where the query's db handle
is `any` (`ctx: any`): a typed `.withIndex(…)` range makes tsc instantiate the table's range
types, and where it first does so at the limit, every query on the table gets the collapsed
document type.
Where the schema spreads tables from a package that is not installed while `convex` is
(`...authTables` with no `node_modules/@convex-dev/auth`), tsc types every index range of
the data model with one field, so no rewrite writes a range of more than one condition; the
finding names the package (install it to get the fix).
No fix is offered for conditional filters (`q = q.filter(...)` in an `if`), for queries
split over several statements, or when the table's definition cannot be followed. A table
the schema spreads in from a package (`...stripeTables`) is not the app's to change: the
message names the spread and asks for an index that definition has on the fields.

`.filter()` compares values of any type; an index range takes only the field's own type
(`q.eq("userId", x)` needs `x: Id<"users">`). A value moved into the range keeps its text when
its type is shown to be the field's: a literal, an argument validated like the field, a
declared type, the `_id` or a field of a document read from a known table. Otherwise it is
cast to the field's type (`userId as Id<"users">`, or `Doc<"t">["f"]` for unions; the import
is added) and the fix is unsafe: the cast accepts what `.filter()` accepted (the query returns
the same documents), but TypeScript no longer reports a value of another type there.

## Options
`small-tables`: tables that stay small by design are never reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

from convex_xray.engine.analysis.chains import parse_filter, parse_index_ranges
from convex_xray.engine.context import RuleContext
from convex_xray.engine.cost import Growth, chain_cost, is_log_table, kept_small
from convex_xray.engine.findings import Finding, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import QueryChain
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.schema import Schema, Table
from convex_xray.engine.source import is_typescript_path
from convex_xray.engine.syntax import text_of
from convex_xray.rules.support.add_index import (
    IndexPlan,
    RangeCasts,
    index_fix,
    quote_of,
    untyped_range,
)
from convex_xray.rules.support.installed import one_field_ranges_note
from convex_xray.rules.support.schema_plan import SchemaPlan, adds_indexes, filter_variants, schema_plan
from convex_xray.rules.support.tables import outside_schema
from convex_xray.rules.support.untyped import untyped_root
from convex_xray.rules.support.value_types import ValueTypes, cast_text, field_type, type_import

META = RuleMeta(
    code="CX202",
    slug="filter-on-query",
    severity=Severity.WARNING,
    summary="`.filter()` on a database query that an index could replace",
    fix=FixAvailability.SOMETIMES,
)

DOC_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  sessions: defineTable({ orgId: v.id("orgs"), status: v.string(), startsAt: v.number() })
    .index("by_orgId", ["orgId"])
    .index("by_orgId_and_status", ["orgId", "status"]),
  orgs: defineTable({ name: v.string() }),
});
"""


def _fields(plan: IndexPlan) -> str:
    names = [f"`{f}`" for f in plan.new_fields]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _scan_kind(chain: QueryChain) -> str:
    """none (no index), rangeless (an index without a range) or range."""
    step = chain.index_step
    if step is None:
        return "none"
    ranges = parse_index_ranges(step)
    return "rangeless" if ranges == [] else "range"


# Flags whose usual value most rows have: rows are created active, visible and not deleted, and
# most stay so. A filter that keeps that value drops few rows.
_USUALLY_TRUE = re.compile(r"^(?:is_?)?(?:active|enabled|visible|published|live)$", re.IGNORECASE)
_USUALLY_FALSE = re.compile(
    r"^(?:is_?)?(?:deleted|archived|hidden|disabled|removed|banned|suspended|blocked|spam|trashed)$", re.IGNORECASE
)
_BOUNDED_TERMINALS = ("take", "first", "unique", "paginate")


def _keeps_the_usual_rows(chain: QueryChain) -> str | None:
    """The condition, when every `.filter()` keeps the value most rows have (`isActive` true,
    `isDeleted` false) and the chain stops after a bounded number of matches: it then reads
    about as many rows as it keeps, not the whole range (it reads more only while few rows are
    in the usual state)."""
    if chain.terminal not in _BOUNDED_TERMINALS:
        return None
    kept: list[str] = []
    for step in chain.filter_steps:
        atoms = parse_filter(step)
        if not atoms:
            return None
        for atom in atoms:
            value = text_of(atom.value_node) if atom.value_node is not None else None
            field = atom.field or ""
            usual = (
                (atom.op == "eq" and value == "true" and _USUALLY_TRUE.match(field))
                or (atom.op == "eq" and value == "false" and _USUALLY_FALSE.match(field))
                or (atom.op == "neq" and value == "true" and _USUALLY_FALSE.match(field))
                or (atom.op == "neq" and value == "false" and _USUALLY_TRUE.match(field))
            )
            if not usual:
                return None
            kept.append(f"`{field}` {value if atom.op == 'eq' else 'not ' + str(value)}")
    return ", ".join(kept) if kept else None


_AT_DEPTH_LIMIT = (
    " No fix: this app's data model is at TypeScript's instantiation-depth limit (its own TS2589"
    " directives), and a new index deepens its type; add the index by hand and type-check."
)
_TYPED_RANGE_AT_DEPTH_LIMIT = (
    " No fix: this app's data model is at TypeScript's instantiation-depth limit (its own TS2589"
    " directives), where a new typed index range can collapse the table's document type in other"
    " queries on it; rewrite it by hand and type-check."
)


def _message(
    chain: QueryChain, plan: IndexPlan, table: Table | None, path_name: str, usual: str | None = None,
    elsewhere: Sequence[str] = (),
) -> str:
    fields = _fields(plan)
    kind = _scan_kind(chain)
    what = f"`{plan.table}`"
    if usual is not None:
        head = (
            f"`.filter()` on {fields} reads {what} documents until it has the ones it keeps: about as many "
            f"while most are {usual}, every document of the range when few are"
        )
    elif kind == "none":
        head = f"`.filter()` on {fields} with no index scans the whole {what} table: every document is read to find the matches"
    elif kind == "rangeless":
        head = (
            f'`.filter()` on {fields} after `.withIndex("{plan.base_index}")` with no range scans the '
            f"whole {what} table in index order"
        )
    else:
        head = (
            f"`.filter()` on {fields} reads every {what} document in the `{plan.base_index}` range "
            "and discards the ones that do not match"
        )
    if plan.existing is not None:
        if plan.existing.name == plan.base_index:
            tail = f"move the condition into the `{plan.name}` range"
        else:
            tail = f"index `{plan.name}` (already in the schema) reads only the matches"
        if not plan.order_preserved:
            tail += " (in a different order)"
    elif table is None and elsewhere:
        # A table the app's schema spreads in from a package (`...stripeTables`): its indexes
        # are defined there, and it is not the app's schema to add one to.
        tail = (
            f"{what} is not defined in this app's schema, whose tables also come from {', '.join(elsewhere)}: "
            f"query an index that definition has on {fields} with `.withIndex()` so the database reads only the matches"
        )
    else:
        quoted = ", ".join(f'"{f}"' for f in plan.fields)
        where = (
            f"`{path_name}`" if table is not None and table.insert_at is not None else "the schema"
        )
        tail = f'add `.index("{plan.name}", [{quoted}])` to {where} so the database reads only the matches'
    residual = "" if plan.fully_absorbed else "; keep `.filter()` for the rest"
    return f"{head}; {tail}{residual}."


def _range_casts(ctx: RuleContext, chain: QueryChain, plan: IndexPlan, table: Table | None) -> RangeCasts | None:
    """Casts for the values the rewrite moves from `.filter()` into the index range whose type
    is not shown to be the field's (a `string` compared to an `Id<"users">` field passes
    `.filter()` but not `.withIndex()`); None when a needed cast cannot be written, which
    drops the fix."""
    if not is_typescript_path(ctx.path) or ctx.model is None or untyped_range(ctx.source, chain):
        return RangeCasts({})  # no types to satisfy: JavaScript, or a range builder typed `any`
    moved = {a.value_node.id for a in plan.absorbed if a.value_node is not None}
    types = ValueTypes(ctx.workspace, ctx.model, ctx.schema)
    function = ctx.function_at(chain.root)
    quote = quote_of(ctx.source)
    values: dict[int, str] = {}
    names: list[str] = []
    needed: set[str] = set()
    for condition in plan.conditions:
        value = condition.value_node
        if value is None or value.id not in moved:
            continue
        field = field_type(ctx.workspace, table, condition.field)
        if field is not None and types.matches(value, field, function):
            continue
        # One-word types are written out (`Id<"users">`); unions and the rest by name.
        written = field.ts_type(quote) if field is not None else None
        if written is None:
            if "." in condition.field:
                return None  # `Doc<"t">["a"]["b"]` breaks on an optional `a`: no cast to write
            written = f"Doc<{quote}{plan.table}{quote}>[{quote}{condition.field}{quote}]"
            needed.add("Doc")
        elif "Id<" in written:
            needed.add("Id")
        values[value.id] = cast_text(value, written)
        names.append(" ".join(ctx.source.node_text(value).split()))
    imports = []
    for name in sorted(needed):
        found = type_import(ctx.workspace, ctx.model, name)
        if found is None:
            return None
        local, edit = found
        if local != name:
            values = {k: v.replace(f"{name}<", f"{local}<") for k, v in values.items()}
        if edit is not None:
            imports.append(edit)
    return RangeCasts(values, tuple(imports), tuple(names))


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    schema = ctx.schema
    planned = schema_plan(ctx.workspace, ctx.config)
    seen: set[tuple[int, ...]] = set()
    reported: set[int] = set()
    for whole in ctx.model.chains:
        if not whole.filter_steps or whole.table is None or whole.table in ctx.config.small_tables:
            continue
        if outside_schema(ctx, whole.table):
            continue  # not one of the app's tables: unknown-table says so
        for chain in filter_variants(whole):
            key = tuple(step.call.id for step in chain.filter_steps)
            if key in seen:
                continue  # a split chain with several terminals shares its filters
            seen.add(key)
            for finding in _check_chain(ctx, chain, schema, planned):
                # A query built over several statements (`q = q.filter(...)` under `if`s) has
                # one variant per combination of conditions, all starting at the same first
                # `.filter()`: one query, one finding (the first variant's, the base query).
                if finding.span.start in reported:
                    continue
                reported.add(finding.span.start)
                yield finding


def _typed_range(ctx: RuleContext, chain: QueryChain) -> bool:
    """Whether tsc types the query's range: a TypeScript file, a db handle that is not `any`."""
    return is_typescript_path(ctx.path) and not untyped_root(chain.root.child_by_field_name("function"))


def _check_chain(
    ctx: RuleContext, chain: QueryChain, schema: Schema | None, planned: SchemaPlan
) -> Iterator[Finding]:
    first = chain.filter_steps[0]
    table = schema.table(chain.table) if schema is not None else None
    if chain.index_step is not None and table is None:
        return  # which fields the index has is unknown: no claim
    # The index comes from the workspace's schema plan: never one another fix removes, a
    # new one only when no existing index covers the fields, shared with the other filters
    # whose fields are a prefix of its own.
    plan = planned.filter_plan(ctx.source, chain, table, schema)
    if plan is None:
        return
    related: list[Related] = []
    if plan.base_index is not None and table is not None:
        base = table.index(plan.base_index)
        if base is not None and base.span is not None:
            related.append(Related(base.span, f"`{base.name}` is defined here"))
    if (
        plan.existing is not None
        and plan.existing.span is not None
        and plan.existing.name != plan.base_index
    ):
        related.append(
            Related(plan.existing.span, f"`{plan.existing.name}` covers the filtered fields")
        )
    elif plan.existing is None and table is not None and table.name_span is not None:
        related.append(Related(table.name_span, f"table `{table.name}` is defined here"))
    schema_source = None
    if table is not None and table.insert_at is not None:
        schema_source = ctx.workspace.source(table.insert_at.path)
    path_name = schema_source.path.name if schema_source is not None else "schema.ts"
    # The schema plan adds no index in a root at the data model's depth limit: no edit there.
    # Nor a rewrite whose range is typed (the query's db handle is not `any`): tsc instantiates
    # the index's range types where it meets the new `.withIndex(…)`, and when that is first at
    # the limit, the collapsed document type is what every query on the table gets (ConvexPress,
    # run 11: one typed `users` rewrite, ten errors in files no fix touched).
    note = ""
    if not adds_indexes(ctx.workspace, ctx.source):
        if plan.existing is None:
            note = _AT_DEPTH_LIMIT
        elif not untyped_root(chain.root.child_by_field_name("function")):
            note = _TYPED_RANGE_AT_DEPTH_LIMIT
    if not note and len(plan.conditions) > 1 and _typed_range(ctx, chain):
        # A schema spreading an uninstalled package's tables: tsc gives every range one field.
        note = one_field_ranges_note(schema)
    fix = None if note else index_fix(schema_source, table, ctx.source, chain, plan, _range_casts(ctx, chain, plan, table))
    # What the filter scans is the range before it, whatever the terminal keeps.
    scanned = replace(chain, terminal="collect")
    read = next((r for r in ctx.model.reads if r.chain is not None and r.chain.root.id == chain.root.id), None) if ctx.model else None
    cost = chain_cost(replace(read, chain=scanned), ctx.cost, ctx.schema, ctx.trigger(read.function)) if read is not None else None
    # The filter wastes the rows of the scanned range it drops. Over one parent's few children,
    # or one tenant's members or settings (tens to hundreds, most of them kept), that is a few
    # reads: info. Over a log or feed (also a tenant's), a category share or the whole table it
    # grows with the data: warning.
    grows = cost is None or cost.growth in (Growth.PER_PARENT_LOG, Growth.WHOLE_TABLE) or (
        cost.growth is Growth.PER_TENANT and chain.table is not None and is_log_table(chain.table, ctx.cost)
    )
    severity = Severity.WARNING if grows else Severity.INFO
    usual = _keeps_the_usual_rows(chain)
    if usual is not None and read is not None:
        # Bounded by the terminal, not by the range: the reads are the rows kept, give or take
        # the few the filter drops.
        kept = chain_cost(replace(read, chain=chain), ctx.cost, ctx.schema, ctx.trigger(read.function))
        cost = replace(kept, assumptions=(*kept.assumptions, f"most rows are {usual}, so the scan stops after about as many reads"))
        severity = Severity.INFO
    message = _message(
        chain, plan, table, path_name, usual if cost is not None and cost.growth <= Growth.BOUNDED else None,
        schema.elsewhere if schema is not None else (),
    )
    small = kept_small(cost) if cost is not None and usual is None else None
    if small is not None and severity is Severity.INFO:
        # A table a cron keeps to a short window of rows: why the scan is not a warning.
        message += f" {small}: the scan reads the rows alive at once."
    yield ctx.finding(
        META,
        Span(ctx.path, first.property.start_byte, first.call.end_byte),
        message + note,
        severity=severity,
        related=related,
        fix=fix,
        cost=cost,
    )
