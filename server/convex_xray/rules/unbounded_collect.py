"""Finds `.collect()` calls on database queries, ranked by how much they can cost.

## What it does
Reports `.collect()` on a `ctx.db.query(...)` chain. The tier says how sure we are that
it hurts:

- **warning** when the result is then sliced (`.slice(0, n)`), only counted
  (`.length`) or filtered in JavaScript on a field and the range grows (a log/feed, a category
  share of the table) in a public query, a cron or a scheduled job (or, for a share of the
  table, a helper whose callers are unknown); over a parent's few children, one tenant's
  entities (its members, credentials: not a log) or in a mutation run once per request the same
  waste is a few reads: **info**, same fix;
- **warning** when collected inside a loop (the same range every time: a range keyed by the
  loop item is the loop's cost, reported by `n-plus-one-read`);
- **warning** for any collect of a log/feed range (a thread's messages) or a category range
  (`status`, `type`, `isActive`: keyed by no parent, a share of the table) in a public query
  or a cron/scheduled job: it grows with time or with the table, on every run. A log range
  that starts at a time (`q.eq("userId", id).gte("createdAt", monthStart)`) reads a window of
  the log, not its history: per-parent, **info**. A category range the job itself drains
  (a cron or scheduled job that, in the loop over the result, patches every row's state to
  another value or deletes every row, with no `if` or `continue` that may skip one) holds what
  became due since the last run: **info**, and the message quotes the write;
- **info** for other collects after an index range (a whole org, a whole thread):
  fine while the range stays small, a problem once it grows.

- **info** for what a scan collects when an index can take its `.filter()`: the scan is
  `filter-on-query`'s warning, and the matches it returns are this rule's, before the index
  fix as after it (the fix turns the query into an indexed `.collect()`, reported here).

Other queries with no index are reported by `full-table-scan` instead (the scan is the
unbounded read), so one problem gets one diagnostic.

## Why is this bad?
`.collect()` reads every document in the range. Each one counts against Convex's
per-function limits (32,000 documents, 16 MiB read) and makes the query's read set, and so
its cache invalidations and write conflicts, as large as the range. Loading a whole org
to keep ten rows or to count them costs far more than reading ten rows.

## Example
```ts
const recent = (
  await ctx.db
    .query("messages")
    .withIndex("by_threadId", (q) => q.eq("threadId", threadId))
    .order("desc")
    .collect()
).slice(0, 20);
```

Use instead:
```ts
const recent = await ctx.db
  .query("messages")
  .withIndex("by_threadId", (q) => q.eq("threadId", threadId))
  .order("desc")
  .take(20);
```

## Fix safety
`(await q.collect()).slice(0, n)` -> `await q.take(n)` is safe for a literal `n >= 0` (the
same documents in the same order; unsafe for a non-literal `n`, which differs when negative
or fractional). `.collect()` -> `.take(n)` is safe, and offered, only where every use of the
result sees at most `n` documents: `[i]` (n = i + 1), `.length` compared to a literal
(`> 0` -> 1, `>= 3` -> 3), `.slice(0, n)`. Everywhere else `.take(n)` would silently drop
rows, so no edit is offered: the message says what to do (page it, keep a counter, move the
filter into an index). `.paginate(args.paginationOpts)` is an unsafe alternative only where
the function takes `paginationOpts` and returns the range (the result becomes one page).

## Options
`take-limit` (default 100): the `n` of the `.take(n)` fix. `small-tables`: tables that
stay small by design and are never reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.cost import (
    Growth,
    chain_cost,
    is_log_table,
    kept_small,
    reaches_document_limit,
    scan_state,
    terminal_key,
    time_window,
)
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import DbRead, QueryChain
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.syntax import descendants, string_value, text_of
from convex_xray.engine.analysis.chains import parse_index_ranges
from convex_xray.rules.support.add_index import index_takes_filter, naming_style
from convex_xray.rules.support.schema_plan import prefix_index, schema_plan, unique_index_name
from convex_xray.rules.support.tables import outside_schema
from convex_xray.rules.support.usage import ResultUse, result_use

META = RuleMeta(
    code="CX201",
    slug="unbounded-collect",
    severity=Severity.WARNING,
    summary="`.collect()` on a database query, ranked by risk (sliced, counted, filtered in JavaScript, in a loop)",
    fix=FixAvailability.SOMETIMES,
)

LIMITS = "Convex allows 32,000 documents / 16 MiB read per function"


def _take_edit(ctx: RuleContext, chain: QueryChain, n: str) -> Edit | None:
    step = chain.terminal_step
    if step is None:
        return None
    return Edit(ctx.path, step.property.start_byte, step.call.end_byte, f"take({n})")


def _fixes(ctx: RuleContext, read: DbRead, use: ResultUse) -> tuple[Fix | None, list[Fix]]:
    chain = read.chain
    assert chain is not None
    alternatives: list[Fix] = []
    function = read.function
    if function is not None and function.has_pagination_opts and _returned(chain):
        # The function takes `paginationOpts` and returns the whole range: paging it is what
        # its callers can ask for; unsafe because the result becomes one page object.
        step = chain.terminal_step
        opts = f"{function.args_param}.paginationOpts" if function.args_param else "paginationOpts"
        if step is not None:
            alternatives.append(
                Fix.unsafe(
                    f"Paginate with `.paginate({opts})` (returns one page object, not every document)",
                    [Edit(ctx.path, step.property.start_byte, step.call.end_byte, f"paginate({opts})")],
                )
            )
    if use.kind == "sliced" and use.node is not None:
        bound = use.detail
        safe = bound.isdigit()
        if use.direct:
            # `(await q.collect()).slice(0, n)` -> `await q.take(n)`
            step = chain.terminal_step
            if step is not None:
                receiver = step.call.child_by_field_name("function")
                query = receiver.child_by_field_name("object") if receiver is not None else None
                if query is not None:
                    new = f"await {ctx.source.node_text(query)}.take({bound})"
                    whole = Edit(ctx.path, use.node.start_byte, use.node.end_byte, new)
                    if safe:
                        return Fix.safe(f"Use `.take({bound})` instead of `.collect()` + `.slice`", [whole]), alternatives
                    return Fix.unsafe(
                        f"Use `.take({bound})` instead of `.collect()` + `.slice` (differs when `{bound}` is negative or not an integer)",
                        [whole],
                    ), alternatives
        edit = _take_edit(ctx, chain, bound)
        if edit is not None:
            if safe:
                return Fix.safe(f"Use `.take({bound})`", [edit]), alternatives
            return Fix.unsafe(f"Use `.take({bound})` (differs when `{bound}` is negative or not an integer)", [edit]), alternatives
    if use.kind == "bounded":
        edit = _take_edit(ctx, chain, use.detail)
        if edit is not None:
            return Fix.safe(f"Use `.take({use.detail})`: the code uses at most {use.detail}", [edit]), alternatives
    # Otherwise the code may use every document: `.take(n)` would silently drop rows, so
    # there is no edit, and the message says what to do (bound, paginate, count, index).
    return None, alternatives


def _returned(chain: QueryChain) -> bool:
    """`return await q.collect()` / `return q.collect()`: the range is the function's result."""
    node = chain.end
    while node.parent is not None and node.parent.type in ("await_expression", "parenthesized_expression"):
        node = node.parent
    return node.parent is not None and node.parent.type == "return_statement"


def _index_advice(ctx: RuleContext, chain: QueryChain, field: str, filter_text: str = "") -> str:
    """How an index range takes the JS filter's field: the index in use may already have the
    field right after the range's equalities (extend the range), another queryable index may
    start with them and the field (use it), else a new index with the range's fields then the
    filtered one (named in the schema's style)."""
    step = chain.index_step
    schema = ctx.schema
    table = schema.table(chain.table) if schema is not None else None
    name = string_value(step.arg(0)) if step is not None else None
    index = table.index(name) if table is not None and name else None
    if step is None or schema is None or table is None or index is None or index.kind == "implicit":
        return f"use an index on `{field}`"
    equal = [r.field for r in parse_index_ranges(step) or [] if r.op == "eq"]
    if index.fields[: len(equal)] != equal:
        return f"use an index on `{field}`"
    after = ", ".join(f"`{f}`" for f in equal) or "nothing"
    if index.fields[len(equal) : len(equal) + 1] == [field]:
        # `d.createdAt > since` is a bound (`.gt`), `d.status === "open"` an equality (`.eq`).
        ordered = re.search(rf"\.{re.escape(field)}\s*[<>]|(?<![=<>])[<>]=?\s*[\w$.?]*\.{re.escape(field)}\b", filter_text)
        method = "a bound (`.gt`, `.gte`, `.lt`, `.lte`) on" if ordered else "`.eq(…)` on"
        return f"add {method} `{field}` to the range (`{index.name}` has `{field}` right after {after})"
    wanted = [*equal, field]
    # The advice follows the schema plan, as the index rules' fixes do: never an index another
    # finding removes without saying so, never a new name another index has or loses.
    planned = schema_plan(ctx.workspace, ctx.config).table(schema, chain.table)
    other = prefix_index(table.indexes.values(), wanted)
    removal = planned.removals.get(other.name) if planned is not None and other is not None else None
    if removal is not None and removal.target is not None:
        other = removal.target  # redundant-index moves its queries there
    if other is not None:
        starts = ", ".join(f"`{f}`" for f in wanted)
        if removal is not None and removal.target is None:
            # unused-index reports it only because no query ranges over it yet.
            return f"range over index `{other.name}` instead (it starts with {starts}: keep it, unused-index reports it only because nothing queries it yet)"
        return f"range over index `{other.name}` instead (already in the schema, it starts with {starts})"
    addition = planned.serving.get(tuple(wanted)) if planned is not None else None
    if addition is not None:
        return f"add `{field}` to an index after the range's fields (`{addition.name}`, the index filter-on-query adds for them)"
    taken = {a.name for a in planned.additions.values()} if planned is not None else set()
    return f"add `{field}` to an index after the range's fields (e.g. `{unique_index_name(table, wanted, naming_style([schema]), taken)}`)"


# The related note at the place the collected result is used, in plain words.
_USE_NOTES = {
    "sliced": "only the first items of the result are kept here",
    "counted": "only the result's length is used here",
    "js-filtered": "the result is filtered in JavaScript here",
    "bounded": "at most this many results are used here",
}


# Contexts where a growing read runs often: a reactive public query, a cron or scheduled job.
# A field that holds a time (`startsAt`, `created_at`, `dueDate`, `timestamp`), compared with
# an ordering operator: `s.startsAt > since` keeps a window (`c.revokedAt === undefined` does not).
_TIME_FIELD = r"[\w$]*(?:At|Date|Time|_at|_date|_time)\b|(?:date|time|timestamp|ts)\b"
_TIME_WINDOW = re.compile(
    r"\.\s*(?:" + _TIME_FIELD + r")\s*[<>]=?(?!=)|(?<![=>])[<>]=?\s*[\w$]+(?:\?)?\.\s*(?:" + _TIME_FIELD + r")"
)


def _time_window(text: str) -> bool:
    """Whether a JavaScript filter keeps rows by comparing a time field with `<`, `>`, `<=`, `>=`."""
    return _TIME_WINDOW.search(text) is not None

_HOT = frozenset({"public-query", "cron", "scheduled"})
# Uses that keep part of what `.collect()` read: the rest was read for nothing.
_WASTED = frozenset({"sliced", "bounded", "counted", "js-filtered"})


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    # A query some variant of which scans the table is full-table-scan's; the rest once each.
    # A scan whose filter an index can take is filter-on-query's, but what it collects is
    # this rule's (below): the same finding before and after the index fix.
    reported = {
        terminal_key(r.chain)
        for r in ctx.model.reads
        if r.chain is not None and scan_state(r.chain) is not None and not _index_filtered_scan(ctx, r.chain)
    }
    # So a scan that gets past `reported` below is one whose filter an index can take.
    for read in ctx.model.reads:
        chain = read.chain
        if chain is None or chain.terminal != "collect" or terminal_key(chain) in reported:
            continue
        reported.add(terminal_key(chain))
        if chain.table in ctx.config.small_tables or outside_schema(ctx, chain.table):
            continue  # small by design / not one of the app's tables (unknown-table)
        looping = [loop for loop in read.loops if loop.exempt is None]
        if looping:
            continue  # a per-item query: n-plus-one-read reports it, with the loop
        if read.loops and _per_item(chain, read.loops[-1].item_names):
            # Each iteration reads its own item's range, once per unique key (the exempt
            # loops: deduplicated ids, small literal lists), as the batch-fetch fix writes it.
            # That is the loop's shape, n-plus-one-read's to judge; "collect once before the
            # loop" would be wrong advice, and the fixed code would gain a warning the
            # original (reported with its loop) did not have.
            continue
        filtered_scan = scan_state(chain) is not None
        scope = read.function.node if read.function is not None else None
        use = result_use(chain, scope, ctx.source.language)
        table = f"`{chain.table}`" if chain.table else "the table"
        indexed = chain.has_index
        related: list[Related] = []
        trigger = ctx.trigger(read.function)
        cost = chain_cost(read, ctx.cost, ctx.schema, trigger)
        # Reading a range only to slice, count or filter it wastes what the range holds: worth
        # fixing first when the range grows (a log, a tenant, a category of a table) and the
        # function runs hot (a reactive query, a cron or scheduled job); a small per-parent
        # range or a one-off mutation wastes a few reads (info, with the same fix).
        # A helper's callers are not known: one that reads a share of a whole table may well
        # serve a reactive query, so it is not assumed cold. A public mutation runs on a user's
        # every action (opening a post, sending a message): reading a whole log there to keep a
        # few rows grows with the log on every one of them.
        hot = (
            cost.context in _HOT
            or (cost.growth is Growth.WHOLE_TABLE and cost.context == "helper")
            or (cost.growth is Growth.PER_PARENT_LOG and cost.context == "mutation" and use.kind in _WASTED)
        )
        # One tenant's entities (its members, credentials, automations) are tens to hundreds
        # read in one indexed range: listing or counting them that way is the normal cost of
        # the page (labelled minor on the corpus, benchmarks/signal.md). A tenant's log is not,
        # nor a set the code cuts down to a time window (`s.startsAt > since`): what is kept by
        # time accumulates over time.
        tenant_entities = (
            cost.growth is Growth.PER_TENANT
            and not (chain.table and is_log_table(chain.table, ctx.cost))
            and not (use.kind == "js-filtered" and use.node is not None and _time_window(text_of(use.node)))
        )
        grows = cost.growth >= Growth.PER_PARENT_LOG and hot and not tenant_entities
        severity = Severity.WARNING if grows or read.loops else Severity.INFO
        if use.kind == "sliced":
            message = (
                f"`.collect()` reads every {table} document in range, then `.slice(0, {use.detail})` "
                f"keeps {use.detail}: `.take({use.detail})` reads only those."
            )
        elif use.kind == "bounded":
            message = (
                f"`.collect()` reads every {table} document in range, but the code uses at most "
                f"{use.detail} of them: `.take({use.detail})` reads only those."
            )
        elif use.kind == "counted":
            message = (
                f"`.collect()` loads every {table} document in range only to count them (`.length`); "
                f"each document is a read ({LIMITS}). Keep a counter instead (a counter field, or "
                "@convex-dev/aggregate)."
            )
        elif use.kind == "js-filtered":
            message = (
                f"`.collect()` loads every {table} document in range, then filters on `{use.detail}` "
                f"in JavaScript: {_index_advice(ctx, chain, use.detail, text_of(use.node) if use.node is not None else '')} so the database reads only the matches."
            )
        elif read.loops:
            loop = read.loops[-1]
            related.append(Related(ctx.span(loop.node), f"the loop over {loop.describe()}"))
            message = (
                f"`.collect()` of {table} inside a loop over {loop.describe()}: every iteration "
                "reads the whole range; collect once before the loop."
            )
        elif filtered_scan:
            message = (
                f"Unbounded `.collect()` of the {table} documents the `.filter()` keeps: returns every "
                "match. Once an index takes the filter (filter-on-query), the matches are an index range "
                f"like any other: page it (`.paginate()`) if it can grow, or bound it with "
                f"`.take({ctx.config.take_limit})` where at most {ctx.config.take_limit} are ever needed."
            )
        elif not indexed:
            continue  # full-table-scan owns index-less queries
        else:
            index = chain.index_step
            name = text_of(index.arg(0)) if index is not None else "the index"
            severity = Severity.INFO
            message = (
                f"Unbounded `.collect()` of {table} via {name}: returns every document in the range. "
                f"Fine while it stays small; if it can grow, page it (`.paginate()`), or bound it with "
                f"`.take({ctx.config.take_limit})` where at most {ctx.config.take_limit} are ever needed."
            )
            if cost.growth is Growth.PER_PARENT_LOG and hot:
                # A log or feed under one parent (a thread's messages) is not a small range.
                severity = Severity.WARNING
                message = (
                    f"Unbounded `.collect()` of {table} via {name}: a log/feed range that grows without "
                    f"bound per parent ({cost.explain()}). Page it (`.paginate()`), or `.take(n)` the newest."
                )
            elif cost.growth is Growth.WHOLE_TABLE and hot:
                # A status/kind range: keyed by no parent, it grows with the table. A time window
                # from a caller's date on grows with the span asked for.
                where = f"in a {trigger} job, read on every run" if trigger else "in a reactive query"
                window = time_window(chain)
                why = (
                    f"the range is every document {window.describe()}, so it grows with the span and with how "
                    "fast the table is written"
                    if window is not None
                    else "the range is keyed by a category, not a parent document, so it grows with the table"
                )
                severity = Severity.WARNING
                message = (
                    f"Unbounded `.collect()` of {table} via {name} {where}: {why} ({cost.explain()}). "
                    "Page it (`.paginate()`"
                    + (", rescheduling with the cursor)" if trigger else ")")
                    + ", or `.take(n)` what is needed."
                )
        if filtered_scan:
            # filter-on-query's warning is the scan on this statement; this one is what remains
            # once the filter is an index range, and never a second warning here.
            severity = Severity.INFO
        kept = kept_small(cost)
        if kept is not None and severity is Severity.INFO and not filtered_scan:
            message += f" {kept}."
        if use.node is not None and use.kind in _USE_NOTES:
            related.append(Related(ctx.span(use.node), _USE_NOTES[use.kind]))
        fix, alternatives = _fixes(ctx, read, use)
        step = chain.terminal_step
        anchor = step.property if step is not None else chain.end
        yield ctx.finding(
            META,
            Span(ctx.path, anchor.start_byte, step.call.end_byte if step else anchor.end_byte),
            message,
            severity=severity,
            related=related,
            fix=fix,
            alternatives=alternatives,
            # No index: the whole table is read in one call, at risk of the per-function
            # document limit once the estimate reaches it.
            limit_risk=not indexed and reaches_document_limit(cost),
            cost=cost,
        )


def _index_filtered_scan(ctx: RuleContext, chain: QueryChain) -> bool:
    """A collected scan whose `.filter()` an index can take (filter-on-query reports the scan,
    as `full-table-scan` decides). Its fix turns the query into an indexed `.collect()`, which
    this rule reports: reporting the collected matches before the fix too keeps one finding of
    this rule on the query before and after, and the scan's warning stays filter-on-query's."""
    return chain.terminal == "collect" and scan_state(chain) is not None and index_takes_filter(ctx.source, chain, ctx.schema)


def _per_item(chain: QueryChain, item_names: Iterable[str]) -> bool:
    """Whether the query's arguments use the loop item (`q.eq("postId", post._id)`)."""
    names = set(item_names)
    return any(
        node.type in ("identifier", "shorthand_property_identifier") and text_of(node) in names
        for step in chain.steps
        for arg in step.args
        for node in descendants(arg)
    )
