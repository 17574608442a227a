"""Finds queries that read a whole table: no index, read to completion or until a match.

## What it does
Reports a `ctx.db.query("table")` chain without a usable index range when it

- is read to completion: `.collect()` or `for await (const doc of query)`;
- has a `.filter(...)` and stops at the first match (`.first()`, `.unique()`, `.take(n)`),
  so it scans until it finds one, which is every document when there is none;
- uses `.withIndex(name)` with no range (`.withIndex("by_creation_time")` or any index
  without a range callback) and then collects: that is the same scan, in index order.

Chains with `.take(n)` / `.first()` / `.paginate()` and no filter are bounded reads and
are fine. When the scan has a `.filter()` that an index could take over, `filter-on-query`
reports it (with the index to add) and this rule stays silent: one problem, one diagnostic.

A warning, except on a reference table: reading one whole is how it is used, so the scan is
info and the message states the assumed size and why (list the table in `[cost] growing-tables`
if it grows). A table is taken for one when
- its name ends in a configuration word such as `meetingTypes`, `emailTemplates`,
  `cronSettings`, naming no owner (see `[cost] reference`), or
- only platform admins create its rows: every production `ctx.db.insert("banners", ...)` sits in
  a function that checks for an admin first (`await requireAdmin(ctx)`, an `adminMutation`
  builder, `if (user.role !== "admin") throw ...`), not in a loop, and the table is neither a
  log nor keyed by a tenant (payments an admin records per org grow with the orgs).
  A check scoped to something that grows (`requireOrgAdmin`, `requireAdmin(ctx, orgId)`), an
  insert anywhere else (tests, seeds and scripts aside), or an insert into a table named at run
  time keeps the warning.

Also info on a table kept small by expiry: a function a cron runs deletes its rows by time
alone (`q.lt("expiresAt", Date.now())`, `createdAt < Date.now() - HOUR`) and their lifetime
plus the cron's period is at most a day (the cutoff's span, or every insert setting the expiry
to `Date.now() + k`); the message names the cleanup and the lifetime.

## Why is this bad?
A scan reads every document of the table, in every call: the cost grows with the table,
not with the answer. Convex stops a function that reads more than 32,000 documents or
16 MiB, so a scan that works today fails once the table grows, and until then every write
to the table invalidates the query's cache and conflicts with concurrent mutations.

## Example
```ts
const pending = await ctx.db.query("invitations").collect();
return pending.filter((i) => i.expiresAt < Date.now());
```

Use instead:
```ts
// schema.ts: invitations.index("by_expiresAt", ["expiresAt"])
return await ctx.db
  .query("invitations")
  .withIndex("by_expiresAt", (q) => q.lt("expiresAt", Date.now()))
  .take(100);
```

## Fix safety
No automatic fix: what to index depends on what the code does with the documents. When
the result is then filtered in JavaScript on one field, an add-index edit for that field
is offered as an alternative (unsafe: deploying an index starts a backfill); rewrite the
query to use it afterwards.

## Options
`small-tables`: tables that stay small by design (settings, feature flags, plans) are
never reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from convex_xray.engine.analysis.chains import parse_index_ranges
from convex_xray.engine.context import RuleContext
from convex_xray.engine.cost import Growth, chain_cost, kept_small, reaches_document_limit, scan_state, terminal_key
from convex_xray.engine.findings import Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import DbRead, QueryChain
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.syntax import string_value
from convex_xray.rules.support.add_index import (
    index_takes_filter,
    insert_index_edit,
    naming_style,
    style_name,
)
from convex_xray.rules.support.usage import result_use
from convex_xray.rules.support.tables import outside_schema

META = RuleMeta(
    code="CX203",
    slug="full-table-scan",
    severity=Severity.WARNING,
    summary="a query with no index read to completion (or until a filter matches)",
    fix=FixAvailability.NEVER,
)

DOC_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  invitations: defineTable({ email: v.string(), expiresAt: v.number() })
    .index("by_email", ["email"])
    .index("by_expiresAt", ["expiresAt"]),
});
"""

LIMITS = "Convex stops a function at 32,000 documents or 16 MiB read"


def _breaks_early(chain: QueryChain) -> bool:
    """`for await (const d of q) { ... break; }`: the stream may stop before the end."""
    loop: Node | None = chain.end.parent
    if loop is None or loop.type != "for_in_statement":
        return False
    body = loop.child_by_field_name("body")
    stack = [body] if body is not None else []
    while stack:
        node = stack.pop()
        if node.type in ("break_statement", "return_statement"):
            return True
        if node.type in (
            "arrow_function",
            "function_expression",
            "function_declaration",
            "for_in_statement",
            "for_statement",
            "while_statement",
        ):
            continue
        stack.extend(node.named_children)
    return False


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    schema = ctx.schema
    reported: set[tuple[int, int]] = set()
    for read in ctx.model.reads:
        chain = read.chain
        if chain is None or chain.table is None or chain.table in ctx.config.small_tables:
            continue
        if terminal_key(chain) in reported:
            continue  # another variant of the same conditionally built query
        if outside_schema(ctx, chain.table):
            continue  # not one of the app's tables: unknown-table says so
        state = scan_state(chain)
        if state is None:
            continue
        filtered = bool(chain.filter_steps)
        if chain.terminal in ("collect", "for-await"):
            until_found = chain.terminal == "for-await" and _breaks_early(chain)
        elif chain.terminal in ("first", "unique", "take") and filtered:
            until_found = True
        else:
            continue
        if index_takes_filter(ctx.source, chain, schema):
            continue  # filter-on-query reports the scan with the index that replaces the filter
        reported.add(terminal_key(chain))
        yield _finding(ctx, read, chain, state, until_found)


def _finding(
    ctx: RuleContext, read: DbRead, chain: QueryChain, state: str, until_found: bool
) -> Finding:
    name = f"`{chain.table}`"
    how = "with no index"
    if state == "rangeless":
        step = chain.index_step
        index_name = string_value(step.arg(0)) if step is not None else None
        how = (
            f'through `.withIndex("{index_name}")` with no range'
            if index_name
            else "through an index with no range"
        )
    if until_found:
        what = (
            "stops at the first match"
            if chain.terminal != "take"
            else "stops after the first matches"
        )
        message = (
            f"Query on {name} {how} {what} of its `.filter()`, scanning the table until then: "
            f"every document when nothing matches ({LIMITS}). Query an index on the filtered fields instead."
        )
    else:
        message = (
            f"Full table scan: every {name} document is read {how}, in every call; the cost grows "
            f"with the table ({LIMITS}). Query an index range, or bound the read with `.take(n)` / `.paginate()`."
        )
        use = result_use(chain, read.function.node if read.function is not None else None, ctx.source.language)
        # One finding per query: what unbounded-collect would say about the result is said here.
        if use.kind == "sliced":
            message += f" Only {use.detail} are kept (`.slice`): `.take({use.detail})` reads only those."
        elif use.kind == "counted":
            message += " The documents are only counted (`.length`): keep a counter instead."
        elif use.kind == "js-filtered":
            message += f" The result is then filtered on `{use.detail}` in JavaScript: an index on `{use.detail}` reads only the matches."
    related: list[Related] = []
    schema = ctx.schema
    table = schema.table(chain.table) if schema is not None else None
    if table is not None and table.name_span is not None:
        related.append(Related(table.name_span, f"table `{chain.table}` is defined here"))
    alternatives = _add_index_alternative(ctx, read, chain)
    step = chain.terminal_step
    if step is not None:
        span = Span(ctx.path, step.property.start_byte, step.call.end_byte)
    else:
        span = Span(ctx.path, chain.root.start_byte, chain.root.end_byte)
    # Every document of the table, in one call: the per-function read limits are at risk.
    cost = chain_cost(read, ctx.cost, ctx.schema, ctx.trigger(read.function))
    severity = META.severity
    if cost.growth < Growth.WHOLE_TABLE:
        # A reference table taken as small by its name (`[cost] reference`): reading it whole is
        # the usual way to use it, and it says so, so a team whose table does grow can opt out.
        # A table a cron keeps to a short window of rows (`engine.expiry`) says that instead.
        severity = Severity.INFO
        kept = kept_small(cost)
        if kept is not None:
            message += f" {kept}: the scan reads the rows alive at once, not a growing table."
        else:
            message += f" `{chain.table}` looks like a reference table ({cost.explain()}): fine while it stays small."
    return ctx.finding(
        META, span, message, severity=severity, related=related, alternatives=alternatives,
        limit_risk=severity is Severity.WARNING and reaches_document_limit(cost), cost=cost,
    )


def _add_index_alternative(ctx: RuleContext, read: DbRead, chain: QueryChain) -> list[Fix]:
    """`.collect()` then `xs.filter((d) => d.status === ...)` in JS: offer the index on that field."""
    schema = ctx.schema
    if schema is None or chain.terminal != "collect" or chain.index_step is not None:
        return []
    table = schema.table(chain.table)
    if table is None or table.insert_at is None:
        return []
    use = result_use(
        chain, read.function.node if read.function is not None else None, ctx.source.language
    )
    field = use.detail if use.kind == "js-filtered" else ""
    if not field or (table.fields is not None and field not in table.fields):
        return []
    name = style_name(naming_style([schema]), [field])
    if table.index(name) is not None or any(
        i.fields[:1] == [field] for i in table.indexes.values()
    ):
        return []
    source = ctx.workspace.source(table.insert_at.path)
    edit = insert_index_edit(table, source, name, [field]) if source is not None else None
    if edit is None:
        return []
    where = table.insert_at.path.name
    return [
        Fix.unsafe(f"Add index `{name}` to `{where}` (then query it with `.withIndex`)", [edit])
    ]
