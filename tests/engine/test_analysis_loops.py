"""The code model: iteration contexts (loops, per-item callbacks) and helper calls."""

from __future__ import annotations

import pytest

from convex_xray.engine.model import Loop
from convex_xray.engine.syntax import text_of
from tests.support.analysis import K, analyze, fn, in_handler, loops_of, only

# -- iteration contexts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "kind", "collection"),
    [
        ("for (const x of xs) { await ctx.db.get(x); }", "for-of", "xs"),
        ("for (const k in byId) { await ctx.db.get(k); }", "for-in", "byId"),
        ("for (let i = 0; i < ids.length; i++) { await ctx.db.get(ids[i]); }", "for", None),
        ("while (cursor) { await ctx.db.get(cursor); }", "while", None),
        ("do { await ctx.db.get(id); } while (next());", "do", None),
        ("for await (const x of stream) { await ctx.db.get(x); }", "for-await", "stream"),
    ],
)
def test_statement_loops(statement, kind, collection):
    model = in_handler(statement)
    read = only(model.reads)
    loop = only(read.loops)
    assert (loop.kind, loop.collection) == (kind, collection)
    assert loop.is_statement and not loop.concurrent
    assert loop.iterates_collection == (kind not in ("for", "while", "do"))
    assert read.in_loop and read.awaited
    assert (
        model.source.data[loop.header_start : loop.header_end]
        .decode()
        .startswith(kind.split("-")[0])
    )


@pytest.mark.parametrize(
    "method",
    ["map", "forEach", "flatMap", "filter", "reduce", "some", "every", "find", "findIndex"],
)
def test_array_method_callbacks_are_iterations(method):
    model = in_handler(f"const r = items.{method}((item) => ctx.db.get(item.userId));")
    loop = only(only(model.reads).loops)
    assert (loop.kind, loop.collection, loop.item_names) == (method, "items", ("item",))
    assert loop.concurrent and not loop.is_statement
    assert text_of(loop.node) == "(item) => ctx.db.get(item.userId)"
    assert model.source.data[loop.header_start : loop.header_end].decode() == f"{method}("


def test_array_from_with_a_map_function():
    model = in_handler("const r = Array.from(ids, (id) => ctx.db.get(id));")
    loop = only(only(model.reads).loops)
    assert (loop.kind, loop.collection, loop.item_names) == ("Array.from", "ids", ("id",))


@pytest.mark.parametrize("combinator", ["Promise.all", "Promise.allSettled"])
def test_promise_all_over_map(combinator):
    model = in_handler(
        f"return await {combinator}(xs.map(async (x) => ({{ ...x, u: await ctx.db.get(x.userId) }})));"
    )
    loop = only(only(model.reads).loops)
    assert loop.kind == "map" and loop.in_promise_all and loop.concurrent


def test_sequential_reduce_chain_is_not_concurrent():
    model = in_handler(
        """
        await xs.reduce(async (previous, x) => {
          await previous;
          await ctx.db.get(x);
        }, Promise.resolve());
        """
    )
    loop = only(only(model.reads).loops)
    assert loop.kind == "reduce" and not loop.concurrent


def test_nesting_depth_innermost_last():
    model = in_handler(
        """
        for (const team of teams) {
          for (const player of team.players) {
            await Promise.all(player.games.map((g) => ctx.db.get(g)));
          }
        }
        """
    )
    assert loops_of(only(model.reads)) == [
        ("for-of", "teams"),
        ("for-of", "team.players"),
        ("map", "player.games"),
    ]


def test_reads_in_loop_headers_are_not_per_iteration():
    model = in_handler(
        """
        for (const x of await ctx.db.query("t").collect()) { use(x); }
        for (let i = await ctx.db.get(args.id); i; i = null) { use(i); }
        """
    )
    assert [r.loops for r in model.reads] == [(), ()]


def test_callbacks_that_are_not_iterations():
    model = in_handler(
        """
        const p = ctx.db.get(args.id).then((doc) => ctx.db.get(doc.parentId));
        setTimeout(() => ctx.db.get(args.id), 0);
        await Promise.all([ctx.db.get(args.a), ctx.db.get(args.b)]);
        const lazy = () => ctx.db.get(args.c);
        items.sort((a, b) => a.n - b.n);
        """
    )
    assert len(model.reads) == 6
    assert [r.loops for r in model.reads] == [()] * 6


@pytest.mark.parametrize(
    ("collection", "exempt"),
    [
        ("[a, b, c]", "small literal array"),
        ('["x", "y"]', "small literal array"),
        ("[1, 2, 3, 4, 5, 6, 7, 8, 9]", None),  # nine is not "small"
        ("[...xs]", None),
        ("[...new Set(items.map((i) => i.userId))]", "deduplicated ids"),
        ("Array.from(new Set(ids))", "deduplicated ids"),
        ("new Set(ids)", "deduplicated ids"),
        ("Object.keys({ a: 1, b: 2 })", "small literal object"),
        ("Object.entries(args.map)", None),
        ("xs", None),
        ("uniqueIds", "deduplicated ids"),  # a const initialised with [...new Set(...)]
        ("ROLES", "small literal array"),  # a top-level const
    ],
)
def test_exempt_collections(collection, exempt):
    model = analyze(
        f"""
        const ROLES = ["admin", "coach"];
        export const f = query({{
          args: {{}},
          handler: async (ctx, args) => {{
            const uniqueIds = [...new Set(args.items.map((i) => i.userId))];
            for (const x of {collection}) {{ await ctx.db.get(x); }}
            await Promise.all({collection}.map((x) => ctx.db.get(x)));
          }},
        }});
        """
    )
    # Deduplicated ids excuse only the concurrent batch: the for-of still reads one id at a time.
    sequential = None if exempt == "deduplicated ids" else exempt
    assert [r.loops[-1].exempt for r in model.reads] == [sequential, exempt]


def test_loop_describe():
    model = in_handler("for (const x of xs) await ctx.db.get(x); while (a) await ctx.db.get(b);")
    described = [r.loops[0].describe() for r in model.reads]
    assert described == ["`xs` (for-of)", "a `while` loop"]
    assert isinstance(model.reads[0].loops[0], Loop)


def test_events_are_in_source_order_and_owned():
    model = in_handler(
        """
        await ctx.runQuery(internal.a.b, {});
        await ctx.db.get(args.id);
        await fetch(url);
        await ctx.db.query("t").first();
        await helper(ctx);
        await ctx.db.get(args.other);
        """,
        builder="action",
    )
    starts = [r.start for r in model.reads]
    assert starts == sorted(starts)
    function = fn(model, "f")
    assert function.reads == model.reads
    assert [
        type(e).__name__
        for e in sorted(
            [*model.reads, *model.run_calls, *model.fetches, *model.helper_calls],
            key=lambda e: e.start,
        )
    ] == [
        "RunCall",
        "DbRead",
        "FetchCall",
        "DbRead",
        "HelperCall",
        "DbRead",
    ]
    assert model.function_at(model.reads[0].start) is function
    assert model.function_at(0) is function  # `export const f = ...` is the definition
    assert model.function_at(len(model.source.data)) is None


# -- helper calls and local closures ---------------------------------------------------------------


def test_helper_calls_need_a_handle_or_a_local_closure():
    model = analyze(
        """
        import { loadUser } from "./lib/users";
        import * as Teams from "./model/teams";
        async function local(ctx: QueryCtx, id) { return ctx.db.get(id); }
        export const f = query({
          args: {},
          handler: async (ctx, args) => {
            const enrich = async (p) => ({ ...p, user: await ctx.db.get(p.userId) });
            for (const p of args.ps) {
              await local(ctx, p.id);
              await loadUser(ctx.db, p.id);
              await Teams.byId(ctx, p.teamId);
              await loadUser({ ctx, id: p.id });
              await loadUser({ db: ctx.db });
              format(p);
              Math.max(1, 2);
            }
            await Promise.all(args.ps.map(enrich));
            await Promise.all(args.ps.map((p) => enrich(p)));
          },
        });
        """
    )
    calls = [
        (h.callee, h.passes_context, h.via_reference, len(h.loops)) for h in model.helper_calls
    ]
    assert calls == [
        ("local", True, False, 1),
        ("loadUser", True, False, 1),
        ("Teams.byId", True, False, 1),
        ("loadUser", True, False, 1),
        ("loadUser", True, False, 1),
        ("enrich", True, True, 1),
        ("enrich", False, False, 1),
    ]
    enrich = fn(model, "enrich")
    assert enrich.parent is fn(model, "f") and enrich.kind is K.HELPER and enrich.takes_context
    assert only(enrich.reads).function is enrich
    assert model.imports["Teams"].imported == "*"
    assert (model.imports["loadUser"].module, model.imports["loadUser"].imported) == (
        "./lib/users",
        "loadUser",
    )


def test_reexports_are_recorded():
    model = analyze(
        """
        export { a as b, c } from "./m";
        export * from "./n";
        export * as ns from "./o";
        export { d, e as f };
        export default g;
        """
    )
    assert model.reexports == {
        "b": ("./m", "a"),
        "c": ("./m", "c"),
        "ns": ("./o", "*"),
        "d": (None, "d"),
        "f": (None, "e"),
        "default": (None, "g"),
    }
    assert model.star_exports == ["./n"]


def test_export_default_function_declaration():
    model = analyze("export default async function load(ctx: QueryCtx) { return ctx.db.get(x); }\n")
    assert model.exports["default"] is fn(model, "load")
