"""The code model: query chains, index ranges, filters, `db.get`, `ctx.run*`, the scheduler and `fetch`."""

from __future__ import annotations

import pytest

from convex_xray.engine.analysis.chains import parse_filter, parse_index_ranges
from convex_xray.engine.syntax import text_of
from tests.support.analysis import fn, in_handler, only

# -- query chains ----------------------------------------------------------------------------------


def test_index_ranges_with_operators():
    model = in_handler(
        """
        return await ctx.db
          .query("posts")
          .withIndex("by_orgId_and_createdAt", (q) => q.eq("orgId", args.orgId).gt("createdAt", 1).lte("createdAt", 9))
          .order("desc")
          .take(10);
        """
    )
    chain = only(model.chains)
    assert chain.table == "posts" and text_of(chain.table_node) == '"posts"'
    assert [s.method for s in chain.steps] == ["withIndex", "order", "take"]
    assert chain.terminal == "take" and chain.take_count == 10 and chain.is_bounded
    assert chain.has_index and chain.index_step is chain.steps[0]
    ranges = parse_index_ranges(chain.index_step)
    assert [(r.op, r.field) for r in ranges] == [
        ("eq", "orgId"),
        ("gt", "createdAt"),
        ("lte", "createdAt"),
    ]
    assert text_of(ranges[0].value_node) == "args.orgId"
    assert text_of(ranges[0].field_node) == '"orgId"'
    ref = only(model.index_refs)
    assert (ref.table, ref.name, ref.kind, ref.chain) == (
        "posts",
        "by_orgId_and_createdAt",
        "withIndex",
        chain,
    )


@pytest.mark.parametrize(
    ("callback", "expected"),
    [
        ("", []),  # `.withIndex("by_x")`: the whole index
        (', function (q) { return q.eq("x", 1).lt("y", 2); }', [("eq", "x"), ("lt", "y")]),
        (', (q) => q.gte("x", 1)', [("gte", "x")]),
        (', q => q.eq("x", 1).gt("y", 0)', [("eq", "x"), ("gt", "y")]),
        (", (q) => build(q)", None),  # not statically known
        (", (q) => q.eq(field, 1)", None),  # computed field name
        (', (q) => { const r = q.eq("x", 1); return r; }', None),
        (', (q) => other.eq("x", 1)', None),  # not the callback's parameter
        (", (q) => q", []),
        (", indexRange", None),
    ],
)
def test_parse_index_ranges(callback, expected):
    model = in_handler(f'return await ctx.db.query("t").withIndex("by_x"{callback}).first();')
    ranges = parse_index_ranges(only(model.chains).index_step)
    assert (None if ranges is None else [(r.op, r.field) for r in ranges]) == expected


def test_search_index_chain():
    model = in_handler(
        'return await ctx.db.query("posts").withSearchIndex("search_body", (q) => q.search("body", args.text).eq("orgId", args.orgId)).take(5);'
    )
    chain = only(model.chains)
    assert chain.search_step is not None and chain.index_step is None
    assert chain.has_index
    assert only(model.index_refs).kind == "withSearchIndex"


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        ('q.eq(q.field("status"), "done")', [("eq", "status", True)]),
        ('q.neq(q.field("status"), "done")', [("neq", "status", False)]),
        ('q.gt(q.field("n"), 5)', [("gt", "n", True)]),
        ('q.gt(5, q.field("n"))', [("lt", "n", True)]),  # operands swapped: the operator flips
        (
            'q.and(q.eq(q.field("a"), 1), q.lte(q.field("b"), 2), q.and(q.eq(q.field("c"), 3)))',
            [("eq", "a", True), ("lte", "b", True), ("eq", "c", True)],
        ),
        ('q.or(q.eq(q.field("a"), 1), q.eq(q.field("b"), 2))', [("or", None, False)]),
        ('q.eq(q.field("a"), q.field("b"))', [("eq", None, False)]),  # two fields
        ('q.not(q.eq(q.field("a"), 1))', [("not", None, False)]),
        ("isDone(q)", [("other", None, False)]),
    ],
)
def test_parse_filter(predicate, expected):
    model = in_handler(f'return await ctx.db.query("t").filter((q) => {predicate}).collect();')
    step = only(only(model.chains).filter_steps)
    atoms = parse_filter(step)
    assert [(a.op, a.field, a.absorbable) for a in atoms] == expected


def test_parse_filter_other_parameter_name_and_block_body():
    model = in_handler(
        'return await ctx.db.query("t").filter(function (f) { return f.eq(f.field("x"), 1); }).collect();'
    )
    assert [(a.op, a.field) for a in parse_filter(only(model.chains).filter_steps[0])] == [
        ("eq", "x")
    ]
    dynamic = in_handler('return await ctx.db.query("t").filter(predicate).collect();')
    assert parse_filter(only(dynamic.chains).filter_steps[0]) is None


@pytest.mark.parametrize(
    "terminal", ["collect", "take(5)", "first", "unique", "paginate(args.paginationOpts)"]
)
def test_terminals(terminal):
    model = in_handler(
        f'return await ctx.db.query("t").withIndex("by_x", (q) => q.eq("x", 1)).{terminal.split("(")[0]}({terminal.partition("(")[2].rstrip(")")});'
    )
    chain = only(model.chains)
    name = terminal.split("(")[0]
    assert chain.terminal == name
    assert chain.terminal_step is chain.steps[-1]
    assert chain.is_bounded == (name != "collect")
    assert chain.reads_to_completion == (name == "collect")
    read = only(model.reads)
    assert read.kind == "query" and read.chain is chain and read.table == "t" and read.awaited
    assert read.is_page_read == (name in ("take", "paginate"))


def test_for_await_terminal():
    model = in_handler('for await (const post of ctx.db.query("posts")) { total += post.n; }')
    chain = only(model.chains)
    assert chain.terminal == "for-await" and chain.reads_to_completion
    read = only(model.reads)
    assert read.loops == ()  # the loop reads the query; it is not a read per iteration


def test_unterminated_chain_is_a_chain_but_not_a_read():
    model = in_handler('const q = ctx.db.query("posts").withIndex("by_orgId"); return q;')
    chain = only(model.chains)
    assert chain.terminal is None and chain.variable == "q"
    assert model.reads == []
    assert only(model.index_refs).name == "by_orgId"


def test_chain_split_over_a_variable():
    model = in_handler(
        """
        let q = ctx.db.query("posts");
        if (args.orgId) q = q.withIndex("by_orgId", (x) => x.eq("orgId", args.orgId));
        if (args.status) {
          q = q.filter((f) => f.eq(f.field("status"), args.status));
        }
        return await q.order("desc").collect();
        """
    )
    chain = only(model.chains)
    assert chain.variable == "q"
    assert [s.method for s in chain.steps] == ["withIndex", "filter", "order", "collect"]
    assert [s.conditional for s in chain.steps] == [True, True, False, False]
    assert chain.terminal == "collect"
    assert text_of(chain.end).startswith("q.order")
    assert only(model.reads).chain is chain


def test_one_base_query_read_several_ways():
    model = in_handler(
        """
        const base = ctx.db.query("posts").withIndex("by_orgId", (x) => x.eq("orgId", args.orgId));
        const first = await base.first();
        const some = await base.order("desc").take(3);
        for await (const p of base) { use(p); }
        """
    )
    assert [c.terminal for c in model.chains] == ["first", "take", "for-await"]
    assert all(c.variable == "base" for c in model.chains)
    assert len(model.reads) == 3
    assert len(model.index_refs) == 1  # one `.withIndex` call, named once


def test_assigned_later_variable():
    model = in_handler(
        'let q; q = ctx.db.query("t"); return await q.paginate(args.paginationOpts);'
    )
    assert only(model.chains).terminal == "paginate"


def test_query_on_non_db_objects_is_not_a_chain():
    model = in_handler(
        """
        const rows = await sql.query("select 1");
        const r = await convexClient.query(api.a.b, {});
        const params = url.searchParams.get("x");
        """
    )
    assert model.chains == [] and model.reads == []


# -- db.get, ctx.run*, scheduler, fetch -----------------------------------------------------


def test_db_get_with_and_without_table():
    model = in_handler(
        'const a = await ctx.db.get(args.id); const b = ctx.db.get("users", args.userId);'
    )
    first, second = model.reads
    assert (first.kind, first.table, text_of(first.id_node), first.awaited) == (
        "get",
        None,
        "args.id",
        True,
    )
    assert (second.kind, second.table, text_of(second.id_node), second.awaited) == (
        "get",
        "users",
        "args.userId",
        False,
    )


def test_run_calls():
    model = in_handler(
        """
        const a = await ctx.runQuery(internal.players.byAlias, { alias });
        await ctx.runMutation(api.players.store, { alias, id });
        void ctx.runAction(internal.ai.summarise);
        """,
        builder="action",
    )
    calls = model.run_calls
    assert [(c.method, c.ref, c.awaited) for c in calls] == [
        ("runQuery", "internal.players.byAlias", True),
        ("runMutation", "api.players.store", True),
        ("runAction", "internal.ai.summarise", False),
    ]
    assert text_of(calls[0].args_node) == "{ alias }"
    assert calls[2].args_node is None
    assert text_of(calls[0].ref_node) == "internal.players.byAlias"
    assert all(c.function is fn(model, "f") for c in calls)


def test_scheduler_calls():
    model = in_handler(
        """
        await ctx.scheduler.runAfter(0, internal.mail.send, { to });
        ctx.scheduler.runAt(when, internal.mail.remind, {});
        const { scheduler } = ctx;
        await scheduler.runAfter(1000, internal.mail.later, {});
        await ctx.scheduler.cancel(jobId);
        await queue.runAfter(0, other);
        """,
        builder="mutation",
    )
    assert [(s.method, s.ref, s.awaited) for s in model.schedules] == [
        ("runAfter", "internal.mail.send", True),
        ("runAt", "internal.mail.remind", False),
        ("runAfter", "internal.mail.later", True),
    ]


def test_fetch_calls():
    model = in_handler(
        """
        const a = await fetch("https://api.example.com/x");
        const b = await fetch(url, { method: "POST", signal: AbortSignal.timeout(5000) });
        const c = await axios.get(url);
        const d = await this.fetch(url);
        const e = await cache.fetch(key);
        """,
        builder="action",
    )
    assert [(f.callee, f.init_node is not None) for f in model.fetches] == [
        ("fetch", False),
        ("fetch", True),
        ("axios.get", False),
    ]
    assert "signal" in text_of(model.fetches[1].init_node)
