"""Finds database reads made once per item of a collection (N+1 reads).

## What it does
Reports `ctx.db.get(...)` and per-item queries (`.withIndex(...).first()`, `.unique()`,
`.collect()`, ...) that run inside a loop or a per-item callback: `for`/`for-of`/`while`,
`.map/.forEach/.flatMap/...` callbacks and `Promise.all(xs.map(async ...))`. Reads hidden
in helpers (same file or imported, any depth the call graph resolves) are reported at the
call in the loop, with the read inside the helper as related information. One finding per
loop: the first per-item read is reported, every other one is a related location, and
the message gives the loop's total reads per call.

The loop's size is traced to where its collection came from: a literal array (its
length), a bound (`.take(k)`, `.slice(0, k)`, a page), a client-supplied array, an index
range keyed by a tenant (`orgId`, `teamId`, `clubId`, ...: per-tenant), by another parent
document (per-parent), or a query with no range (the whole table); a `.filter(...)` of one
keeps `conditional-share` percent of it. Unknown sources are
assumed per-parent; the assumed sizes come from `[cost]` in convex-xray.toml. A warning
when the loop grows with a tenant, a log or a table, or when it is per-parent work (nested
loops included) in a public query whose score (reads, doubled because a public query
re-runs reactively, and x1.5 when sequential) reaches `warn-score`; otherwise info (loops
over one parent's children in a mutation or an action, nested or not, run once per request).
One `db.get` per document of a read with no index (a join over a whole-table scan) is info:
the join grows with the scan and is bounded with it, and full-table-scan's finding on that
read is the one to fix (one problem, one warning). So is the recommended join over distinct ids:
`Promise.all(members.map((m) => ctx.db.get(m.userId)))` over one parent's rows of a table whose
schema indexes that parent with the field and nothing else (`teamMembers` with
`.index("by_team_and_user", ["teamId", "userId"])`: one row per team and user), where every id
differs and batch-fetching them reads as many; no fix is offered, and the message says so.
A join over one parent's children is info too, in a public query as well, nested or not: every
per-item read is a `db.get` by id and every loop runs over one parent's children (a per-parent
range, a closed parent's log, an untraced list, each at most `per-closed-parent` long) or over
at most `per-parent` items, e.g. each
reply's author over one issue's discussions (10 x 10 point reads at the assumed sizes);
batching the unique ids is still offered, and pays where ids repeat. A query per item, or a
loop over a tenant, a log, a page or a table, keeps its warning.

It stays silent for the recommended batch (`Promise.all(ids.map((id) => ctx.db.get(id)))`,
with or without `[...new Set(ids)]`), loops over a small literal array, cursor loops in
actions that fetch one page per iteration (`ctx.runQuery(internal.x.page, { cursor })`),
batched deletes until empty (`while (true) { const batch = await q.take(n); if
(batch.length === 0) break; … ctx.db.delete(…) }`, or `.first()` deleted one at a time:
the loop stops on what the read returned and the deletes are the work), and reads after
the loop.

A `.paginate()` inside a loop of a query or mutation (on `ctx.db`, or Convex Ents'
`ctx.table("t").paginate()` / `ent.edge("x").paginate()`) is reported as an **error**: Convex
runs a single paginated query per execution and throws on the second one.

## Why is this bad?
Every read is a round trip inside the function. A sequential loop waits for each one
in turn; even `Promise.all` issues them all (Convex runs a limited number concurrently).
With 20 items and 2 reads each that is 40 reads where 2 batched reads of unique ids would
do, and the function's read set (and its cache invalidation and conflict surface) grows
with the list. Convex limits a function to 4,096 index ranges and 32,000 documents read.

## Example
```ts
const posts = await ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", orgId)).take(20);
const withAuthors = await Promise.all(
  posts.map(async (post) => ({ ...post, author: await ctx.db.get(post.authorId) })),
);
```

Use instead:
```ts
const posts = await ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", orgId)).take(20);
const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
const authorsById = new Map(authors.filter((a) => a !== null).map((a) => [a._id, a]));
const withAuthors = posts.map((post) => ({ ...post, author: authorsById.get(post.authorId) ?? null }));
```

## Fix safety
The batch-fetch fix (collect unique ids, one `Promise.all`, a `Map`, synchronous
lookups) is offered when the id expression depends only on the loop item (or is a `const`
the loop body binds first to such a value: `const id = x.ref;`, computed again per item by the
prefetch); it returns
exactly what the read returned (`null` for missing documents) and is marked safe. One fix
per loop batch-fetches every read of the loop it can. When a read's rewrite cannot be
proven equivalent it is left out, and the message (or the read's related location) says
why: "Not batch-fetched automatically: …". A loop that writes keeps the fix safe when the
writes provably miss what the read returns (inserts never matter to a `db.get`; writes to
another table never matter); otherwise (a write to the read's table, a helper, `runMutation`
or any other call that may write) the fix is unsafe and its title says so: the reads now
run before the loop's writes.

Conditions on the item are mirrored by the prefetch, which then reads exactly the keys the
loop reads (safe): `if`/`else` and ternary branches, the left of `&&`/`||`, a guard clause
`if (!x.ref) continue;` at the top of the body. Where a read runs only for some items for a
reason the prefetch cannot evaluate before the loop (a condition on loop state, a `try`,
an earlier `continue`, a `break`/`return`/`throw` that ends the loop), the prefetch reads
for every item: the fix is unsafe and its title names each difference ("it also reads for
items after the loop stops early (`break`)"). Not offered when that condition is where the
key is known to be valid (it tests the key, narrows the item, or the key is a cast).

A helper called in the loop is prefetched the same way (once per distinct key, its result
looked up and cast to the helper's own return type) when its whole call graph only reads
and one of its arguments depends on the item; unsafe, and said, when it throws (with the
calls made together another item's error may be thrown first), logs, or the loop writes.

Where the app's data model is at TypeScript's instantiation-depth limit (its own
`@ts-expect-error TS2589` on a query, a read or a validator), a read whose result the loop
hands to its own un-annotated callbacks (`rows.filter((row) => …)`) is not prefetched: the
prefetch's value may be `any` there, and those callbacks would lose their parameter types.
Nor is a read under the app's own `@ts-expect-error`/`@ts-ignore` (the directive applies to
a line the read spans): the error it expects may be the read's own, which a prefetch would move
out from under it; nor one in a loop whose own header (`xs.map(`, `for (…)`) is under the app's
`@ts-expect-error TS2589`: tsc gives up on the loop's types, which include the read's. A
directive over a statement that holds the loop stays above it, the prefetch goes before the
directive. There, where the read's value is `any` to tsc (a `ctx: any`, or `db.get` of a key
taken from an item the app types `any`, which tsc types as every table's documents), the
prefetch's Map is declared `any`: the lookup has the read's type, with nothing for tsc to infer
when it infers the function's return type deep inside the generated `api`'s types.

Where no read can be batch-fetched, a sequential `for…of` is offered an unsafe rewrite that
runs its iterations concurrently (`await Promise.all(xs.map(async (x) => { … }))`, each
`continue` a `return`); the title names what may change (the order of writes and side
effects; one iteration no longer sees an earlier one's writes). A body whose only
order-dependent effect is pushing to one outer array it names nowhere else gives back what it
pushes, and `out` gets the values in the items' order after the loop: a last `out.push(row)`
becomes `return row` (`out.push(...(await Promise.all(xs.map(async (x) => { …; return row;
}))))`); where a `continue` or a condition can skip it, each iteration returns `[]` or
`[row]`; pushes anywhere else go to an array each iteration declares and returns. The
callback's values have `out`'s item type where `out` has a declared one. Not offered when the
body breaks, returns, reads `out`, fills a `Map` or `Set` or another array in order, or
assigns an outer variable.

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.cost import Cost, CostAssumptions, Driver, Growth, loop_cost
from convex_xray.engine.guards import Condition, condition_over, memo_guarded, used_values
from convex_xray.engine.findings import Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import DbRead, Event, FileModel, HelperCall, Loop
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.syntax import text_of, unwrap
from convex_xray.rules.support.iteration import (
    costly_loops,
    is_batch_primitive,
    line_of,
    loop_phrase,
    severity_of,
)

META = RuleMeta(
    code="CX101",
    slug="n-plus-one-read",
    severity=Severity.WARNING,
    summary="database reads once per item of a loop or callback (also `Promise.all(xs.map(...))` and through helpers)",
    fix=FixAvailability.SOMETIMES,
)


def _describe(read: DbRead) -> str:
    if read.label:
        return f"`{read.label}`"
    if read.kind == "get":
        table = f'"{read.table}", ' if read.table else ""
        return f"`db.get({table}{' '.join(text_of(read.id_node).split())})`"
    if read.chain is not None:
        index = read.chain.index_step
        via = f".withIndex({text_of(index.arg(0))}, …)" if index is not None else ""
        return f'`db.query("{read.table or "?"}"){via}.{read.chain.terminal}()`'
    return f'a read of "{read.table or "?"}"'


def _innermost(event: Event, loops: tuple[Loop, ...]) -> int:
    return loops[-1].node.id


def per_item_events(ctx: RuleContext, model: FileModel) -> Iterator[tuple[Event, tuple[Loop, ...], str, Related | None]]:
    """(event, costly loops, description, related-in-helper) for each per-item read."""
    for read in model.reads:
        if _paginates_in_loop(read):
            continue  # reported as the runtime error it is (see `check`)
        loops = costly_loops(read)
        if not loops or is_batch_primitive(read):
            continue
        yield read, loops, _describe(read), None
    for call in model.helper_calls:
        loops = costly_loops(call)
        if not loops:
            continue
        resolved = ctx.workspace.resolve_call(model, call)
        if resolved is None:
            continue
        summary = ctx.workspace.summary(*resolved)
        if not summary.reads_db or summary.first_read is None:
            continue
        name = call.callee
        related = Related(
            summary.first_read,
            f"`{name}` reads the database here ({summary.first_read_text})"
            + (f", {summary.depth} helper call{'s' if summary.depth != 1 else ''} deep" if summary.depth else ""),
        )
        reads = summary.reads or 1
        calls = (
            f" and {summary.run_calls} function call{'s' if summary.run_calls != 1 else ''} ({summary.first_call_text})"
            if summary.calls_functions and summary.first_call is not None
            else ""
        )
        described = f"`{name}(…)` ({reads} read{'s' if reads != 1 else ''}{calls} per call)"
        yield call, loops, described, related


def _paginates_in_loop(read: DbRead) -> bool:
    """A `.paginate()` per iteration: `ctx.db.query(…)….paginate()`, or the Convex Ents forms
    (`ctx.table("t").paginate()`, `ent.edge("x").paginate()`)."""
    paginates = (read.chain is not None and read.chain.terminal == "paginate") or read.paginate is not None
    return paginates and bool(read.loops)


def _paginate_loop_findings(ctx: RuleContext) -> Iterator[Finding]:
    """`while (!done) { await q.paginate({ cursor, ... }) }` inside a query or mutation: Convex
    allows one paginated query per execution, so the second page throws."""
    assert ctx.model is not None
    for read in ctx.model.reads:
        if not _paginates_in_loop(read):
            continue
        loop = read.loops[-1]
        anchor = read.chain.root if read.chain is not None else read.node
        what = f"`{read.table}`" if read.table else f"`{read.label}`" if read.label else "a table"
        yield ctx.finding(
            META,
            anchor,
            f"`.paginate()` on {what} runs once per iteration of the "
            f"`{loop.kind}` loop (line {line_of(ctx.source, loop.header_start)}): Convex allows a single "
            "paginated query per query/mutation execution, so the second page throws \"This query or "
            "mutation function ran multiple paginated queries\". Read one page per call and schedule "
            "the next (`ctx.scheduler.runAfter(0, …, { cursor })`), or loop over pages in an action "
            "with `ctx.runQuery`.",
            severity=Severity.ERROR,
            related=[Related(Span(ctx.path, loop.header_start, loop.header_end), "the loop")],
            limit_risk=True,  # Convex's one-paginated-query limit: a script breaks on it too
        )


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    yield from _paginate_loop_findings(ctx)
    groups: dict[int, list[tuple[Event, tuple[Loop, ...], str, Related | None, int]]] = {}
    for event, loops, described, helper_related in per_item_events(ctx, ctx.model):
        weight = 1
        if isinstance(event, HelperCall):
            resolved = ctx.workspace.resolve_call(ctx.model, event)
            weight = max(1, ctx.workspace.summary(*resolved).reads) if resolved else 1
        groups.setdefault(_innermost(event, loops), []).append((event, loops, described, helper_related, weight))
    for group in groups.values():
        yield _loop_finding(ctx, sorted(group, key=lambda item: item[0].start))


def _guards(
    ctx: RuleContext, group: list[tuple[Event, tuple[Loop, ...], str, Related | None, int]], loop: Loop
) -> tuple[tuple[tuple[int, Condition], ...], int]:
    """(the reads that run only under a condition, with it; how many reads go through a
    memoising cache) among the loop's per-item reads."""
    assert ctx.model is not None
    conditional: list[tuple[int, Condition]] = []
    memoised = 0
    for event, _, _, _, weight in group:
        memo = memo_guarded(event.node, loop.node)
        if not memo and isinstance(event, HelperCall):
            resolved = ctx.workspace.resolve_call(ctx.model, event)
            memo = resolved is not None and ctx.workspace.summary(*resolved).memoised
        if memo:
            memoised += weight
            continue
        found = condition_over(event.node, loop.node, used_values(event))
        if found is not None:
            conditional.append((weight, found))
    return tuple(conditional), memoised


def _loop_finding(ctx: RuleContext, group: list[tuple[Event, tuple[Loop, ...], str, Related | None, int]]) -> Finding:
    """One finding per loop: every per-item read named, the loop's total as its cost."""
    assert ctx.model is not None
    first, loops, _, _, _ = group[0]
    innermost = loops[-1]
    count = sum(item[4] for item in group)
    # A statement loop, or a callback the iteration awaits one by one (not Promise.all'd).
    sequential = (innermost.is_statement or not innermost.concurrent) and any(item[0].awaited for item in group)
    conditional, memoised = _guards(ctx, group, innermost)
    cost = loop_cost(
        loops, count, ctx.model, first.function, ctx.cost, sequential=sequential,
        conditional=conditional, memoised=memoised,
        schema=ctx.schema, trigger=ctx.trigger(first.function),
    )
    mode = (
        "sequentially (each waits for the previous)"
        if sequential
        else "concurrently (all issued at once, still one read each)"
        if innermost.in_promise_all
        else "once each"
    )
    names = [item[2] for item in group]
    what = names[0] if len(names) == 1 else ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    verb = "runs" if len(names) == 1 else "run"
    per = "item" if innermost.collection else "iteration"  # as loop_phrase names it
    reads_phrase = f"{count} reads per {per}" if count > 1 else f"1 read per {per}"
    from convex_xray.rules.support.batch_fetch import batch_fetch_loop

    # Helpers that only read are prefetched like reads; the others say why not.
    fix, reasons, alternatives = batch_fetch_loop(
        ctx, [event for event, *_ in group if isinstance(event, DbRead | HelperCall)]
    )
    if reasons and any(event.awaited for event, *_ in group):
        # Where a read cannot be batch-fetched, the iterations can at least wait together.
        from convex_xray.rules.support.concurrent_loop import concurrent_loop_fix, sequential_statement_loop

        target = sequential_statement_loop(loops)
        concurrent = concurrent_loop_fix(ctx, target) if target is not None else None
        if isinstance(concurrent, Fix):
            if fix is None:
                fix = concurrent
            else:
                alternatives.append(concurrent)
    message = (
        f"{what} {verb} once per {loop_phrase(ctx.source, loops)}, {mode}: {reads_phrase}, "
        f"{cost.explain()}. {_advice(group, fix)}"
    )
    first_reason = reasons.get(first.node.id)
    if first_reason is not None:
        message += f" Not batch-fetched automatically: {first_reason}."
    severity = severity_of(cost, ctx.cost)
    distinct = _distinct_join(ctx, group, cost.drivers)
    if distinct is not None:
        # `Promise.all(members.map((m) => ctx.db.get(m.userId)))` over one team's membership rows:
        # each row names its own user, so a batch of the unique ids reads as many. That is the
        # join Convex recommends (there is no batch get); what grows is the range, not the join.
        severity = min(severity, Severity.INFO)
        fix, alternatives = None, []
        message = (
            f"{what} {verb} once per {loop_phrase(ctx.source, loops)}, {mode}: {reads_phrase}, "
            f"{cost.explain()}. Each item names its own `{distinct[0]}` ({distinct[1]}), so the ids are "
            "distinct: this is the join Convex recommends (there is no batch get), and batch-fetching "
            "them would read as many. Page the range if it can grow."
        )
    elif severity is Severity.WARNING and _joins_children(group, cost, ctx.cost):
        # `Promise.all(replies.map((r) => ctx.db.get(r.authorId)))` over one parent's few children
        # (nested or not): point reads by id, the join Convex recommends, a few dozen per call at the
        # assumed sizes. Labelled minor wherever it was read on the corpus (benchmarks/signal.md);
        # a loop that grows past one parent's children, or a query per item, keeps its warning.
        severity = Severity.INFO
        message += (
            " Each per-item read is a `db.get` by id over one parent's children (the join Convex "
            "recommends, small at the assumed sizes); batch-fetching pays only where ids repeat."
        )
    elif _joins_a_scan(group, cost.drivers):
        # One `db.get` per document of a whole-table read with no index: the join costs what
        # the scan costs and is bounded with it, so full-table-scan's finding on that read is
        # the one to fix first (one problem, one warning).
        severity = min(severity, Severity.INFO)
        message += (
            " Each item is a document of a read with no index (every document of the table): the join "
            "grows with that read and is bounded with it, so fix the scan first (full-table-scan)."
        )
    related: list[Related] = []
    for event, _, described, helper_related, _ in group:
        if helper_related is not None:
            related.append(helper_related)
        if event is not first:
            node = event.chain.root if isinstance(event, DbRead) and event.chain is not None else event.node
            reason = reasons.get(event.node.id)
            note = f" (not batch-fetched automatically: {reason})" if reason is not None else ""
            related.append(Related(Span(ctx.path, node.start_byte, node.end_byte), f"also once per item: {described}{note}"))
    related.append(Related(Span(ctx.path, innermost.header_start, innermost.header_end), f"the loop (line {line_of(ctx.source, innermost.header_start)})"))
    for outer in loops[:-1]:
        related.append(Related(Span(ctx.path, outer.header_start, outer.header_end), "an enclosing loop"))
    # A per-item query is pointed at by its `db.query("t")`, not the whole multi-line chain.
    anchor = first.chain.root if isinstance(first, DbRead) and first.chain is not None else first.node
    return ctx.finding(
        META,
        anchor,
        message,
        severity=severity,
        related=related,
        fix=fix,
        alternatives=alternatives,
        cost=cost,
    )


CONCURRENT_TITLE = "Run the iterations concurrently"


def _joins_children(
    group: list[tuple[Event, tuple[Loop, ...], str, Related | None, int]], cost: Cost, assumptions: CostAssumptions
) -> bool:
    """Every per-item read is a `db.get` (a point read by id), and every loop runs over one
    parent's children (per-parent, not a log, a tenant or a table, and at most
    `per-closed-parent` of them: a team that says a parent has thousands says it is not small)
    or over a few items (at most `per-parent`: not a page, a `.take(k)` or a reference table)."""
    for driver in cost.drivers:
        if driver.growth is Growth.PER_PARENT:
            if driver.size > assumptions.per_closed_parent:
                return False
        elif driver.growth > Growth.PER_PARENT or driver.size > assumptions.per_parent:
            return False
    return bool(cost.drivers) and all(isinstance(event, DbRead) and event.kind == "get" for event, *_ in group)


def _joins_a_scan(group: list[tuple[Event, tuple[Loop, ...], str, Related | None, int]], drivers: tuple[Driver, ...]) -> bool:
    """One `db.get` per item of a single loop over the documents of an index-less read."""
    if len(group) != 1 or len(drivers) != 1 or not drivers[0].scan:
        return False
    event, loops, _, _, weight = group[0]
    return len(loops) == 1 and weight == 1 and isinstance(event, DbRead) and event.kind == "get"


def _distinct_join(
    ctx: RuleContext, group: list[tuple[Event, tuple[Loop, ...], str, Related | None, int]], drivers: tuple[Driver, ...]
) -> tuple[str, str] | None:
    """(the field, why its values differ) when the loop is `Promise.all(rows.map((r) =>
    ctx.db.get(r.userId)))` over one parent's rows of a table whose schema indexes that parent
    with the field and nothing else (`teamMembers.index("by_team_and_user", ["teamId", "userId"])`:
    one row per team and user, a membership), so every id of the range differs; else None."""
    if len(group) != 1 or len(drivers) != 1 or drivers[0].range_of is None:
        return None
    event, loops, _, _, weight = group[0]
    if len(loops) != 1 or weight != 1 or not loops[0].concurrent or not isinstance(event, DbRead) or event.kind != "get":
        return None
    id_node = unwrap(event.id_node)
    if id_node is None or id_node.type != "member_expression":
        return None
    item, field = id_node.child_by_field_name("object"), id_node.child_by_field_name("property")
    if item is None or field is None or item.type != "identifier" or text_of(item) not in loops[0].item_names:
        return None
    table_name, keys = drivers[0].range_of
    table = ctx.schema.table(table_name) if ctx.schema is not None else None
    if table is None or len(keys) != 1:
        return None
    pair = sorted((keys[0], text_of(field)))
    for index in table.indexes.values():
        if index.is_database_index and not index.staged and sorted(index.fields) == pair:
            return text_of(field), f"one `{table_name}` row per `{keys[0]}` and `{text_of(field)}`: index `{index.name}`"
    return None


def _advice(group: list[tuple[Event, tuple[Loop, ...], str, Related | None, int]], fix: Fix | None) -> str:
    """What to do, in the words of the fix offered: reads by id are batch-fetched, per-item
    queries are prefetched by key (the message and the quick fix name the same thing)."""
    if fix is not None and fix.title.startswith(CONCURRENT_TITLE):
        return "Batch the reads by key before the loop, or at least wait for them together (the fix)."
    if fix is not None and " results for the unique keys" in fix.title:
        return "Prefetch the helper's results for the unique keys before the loop."
    if fix is not None:
        prefetch = fix.title.startswith("Prefetch")
    else:
        prefetch = any(isinstance(event, DbRead) and event.kind == "query" for event, *_ in group)
    if prefetch:
        return "Prefetch the rows for the unique keys before the loop."
    return "Batch-fetch the unique ids before the loop."
