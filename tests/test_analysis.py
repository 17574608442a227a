"""The Convex code model, construct by construct: what must be recognised and what must not."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from convex_xray.engine.analysis.analyzer import analyze_file
from convex_xray.engine.analysis.chains import parse_filter, parse_index_ranges
from convex_xray.engine.analysis.options import AnalysisOptions
from convex_xray.engine.model import FileModel, FunctionKind, FunctionModel, Loop
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import text_of
from convex_xray.engine.workspace import Workspace, discover_roots

K = FunctionKind


def analyze(
    code: str, name: str = "convex/a.ts", builders: dict[str, FunctionKind] | None = None
) -> FileModel:
    source = SourceFile(Path(name), textwrap.dedent(code))
    return analyze_file(source, AnalysisOptions(extra_builders=dict(builders or {})))


def fn(model: FileModel, name: str) -> FunctionModel:
    found = [f for f in model.functions if f.name == name]
    assert len(found) == 1, f"{name}: {[f.name for f in model.functions]}"
    return found[0]


def in_handler(body: str, builder: str = "query") -> FileModel:
    """`body` inside `export const f = <builder>({ args: {}, handler: async (ctx, args) => { ... } })`."""
    indented = textwrap.indent(textwrap.dedent(body), "    ")
    return analyze(
        f"export const f = {builder}({{\n  args: {{}},\n  handler: async (ctx, args) => {{\n{indented}\n  }},\n}});\n"
    )


def loops_of(event) -> list[tuple[str, str | None]]:
    return [(loop.kind, loop.collection) for loop in event.loops]


def only(items):
    assert len(items) == 1, items
    return items[0]


# -- Convex functions ------------------------------------------------------------------------

STANDARD = [
    ("query", K.QUERY),
    ("mutation", K.MUTATION),
    ("action", K.ACTION),
    ("internalQuery", K.INTERNAL_QUERY),
    ("internalMutation", K.INTERNAL_MUTATION),
    ("internalAction", K.INTERNAL_ACTION),
    ("httpAction", K.HTTP_ACTION),
]


@pytest.mark.parametrize(("builder", "kind"), STANDARD)
def test_exported_function_object_syntax(builder, kind):
    code = f"""
    import {{ {builder} }} from "./_generated/server";
    export const doIt = {builder}({{
      args: {{}},
      handler: async (ctx, args) => {{
        return null;
      }},
    }});
    """
    model = analyze(code)
    function = fn(model, "doIt")
    assert function.kind is kind
    assert function.builder == builder
    assert function.exported and model.exports["doIt"] is function
    assert function.kind.is_convex
    assert text_of(function.node).startswith("async (ctx, args) =>")  # the handler
    assert text_of(function.definition).startswith("export const doIt")
    assert text_of(function.name_node) == "doIt"
    assert function.ctx_names == {"ctx"}
    assert function.args_param == "args"


@pytest.mark.parametrize(("builder", "kind"), STANDARD)
def test_exported_function_bare_syntax(builder, kind):
    model = analyze(f"export const doIt = {builder}(async (ctx, request) => null);\n")
    function = fn(model, "doIt")
    assert function.kind is kind
    assert text_of(function.node) == "async (ctx, request) => null"


def test_kind_predicates():
    assert K.INTERNAL_ACTION.is_action and K.HTTP_ACTION.is_action and not K.QUERY.is_action
    assert K.INTERNAL_MUTATION.is_mutation and not K.ACTION.is_mutation
    assert K.INTERNAL_QUERY.is_query and not K.MUTATION.is_query
    assert not K.HELPER.is_convex


def test_handler_as_method_and_function_expression():
    model = analyze(
        """
        export const m = mutation({ args: {}, async handler(ctx, args) { await ctx.db.get(args.id); } });
        export const n = query({ handler: async function (ctx) { return 1; } });
        """
    )
    assert text_of(fn(model, "m").node).startswith("async handler(ctx, args)")
    assert fn(model, "m").kind is K.MUTATION
    assert only(fn(model, "m").reads).function is fn(model, "m")
    assert text_of(fn(model, "n").node).startswith("async function (ctx)")


def test_unexported_and_default_functions():
    model = analyze(
        """
        const hidden = internalQuery({ handler: async (ctx) => 1 });
        export default mutation({ handler: async (ctx) => 2 });
        """
    )
    hidden = fn(model, "hidden")
    assert hidden.kind is K.INTERNAL_QUERY and not hidden.exported
    assert "hidden" not in model.exports
    assert model.exports["default"].kind is K.MUTATION


def test_args_and_pagination_opts():
    model = analyze(
        """
        export const page = query({
          args: { orgId: v.id("orgs"), "quoted": v.string(), paginationOpts: paginationOptsValidator },
          handler: async (ctx, { orgId, paginationOpts }) => null,
        });
        export const wrapped = query({ args: v.object({ a: v.string() }), handler: async (ctx, a) => null });
        export const none = query({ handler: async (ctx) => null });
        """
    )
    page = fn(model, "page")
    assert page.args_names == ["orgId", "quoted", "paginationOpts"]
    assert page.has_pagination_opts
    assert page.args_param is None  # destructured
    assert fn(model, "wrapped").args_names == ["a"]
    assert not fn(model, "wrapped").has_pagination_opts
    assert fn(model, "none").args_names == []
    assert fn(model, "none").args_param is None


def test_things_that_are_not_convex_functions():
    model = analyze(
        """
        export const a = compute({ handler: async (ctx) => 1 });       // builder name says nothing
        export const b = query(1, 2);                                   // no handler
        export const c = query({ args: {} });                          // no handler
        export const d = someQuery(async (ctx) => 1);                  // unknown builder, bare form
        export const e = ctx.db.query("users");                        // a DB query, not a builder
        export const f = 42;
        export function helper(x: number) { return x; }
        """
    )
    convex = [f.name for f in model.functions if f.kind.is_convex]
    assert convex == []
    assert fn(model, "helper").kind is K.HELPER


# -- custom builders -----------------------------------------------------------------------------


def test_custom_builders_from_convex_helpers():
    model = analyze(
        """
        import { customQuery, customMutation, customCtx } from "convex-helpers/server/customFunctions";
        import { zCustomAction } from "convex-helpers/server/zod";
        import { query, mutation, internalMutation, action } from "./_generated/server";

        const authedQuery = customQuery(query, customCtx(async (ctx) => ({ user: await getUser(ctx) })));
        export const authedMutation = customMutation(mutation, { args: {}, input: async (ctx, args) => ({ ctx: {}, args: {} }) });
        const adminMutation = customMutation(internalMutation, customCtx(async () => ({})));
        const zAction = zCustomAction(action, NoOp);

        export const me = authedQuery({ args: {}, handler: async (ctx) => ctx.db.get(ctx.user._id) });
        export const rename = authedMutation({ args: { name: v.string() }, handler: async (ctx, args) => null });
        export const purge = adminMutation({ handler: async (ctx) => null });
        export const sync = zAction({ args: {}, handler: async (ctx) => null });
        """
    )
    assert model.builders == {
        "authedQuery": K.QUERY,
        "authedMutation": K.MUTATION,
        "adminMutation": K.INTERNAL_MUTATION,
        "zAction": K.ACTION,
    }
    assert (fn(model, "me").kind, fn(model, "me").builder) == (K.QUERY, "authedQuery")
    assert fn(model, "rename").kind is K.MUTATION
    assert fn(model, "rename").args_names == ["name"]
    assert fn(model, "purge").kind is K.INTERNAL_MUTATION
    assert fn(model, "sync").kind is K.ACTION
    assert only(fn(model, "me").reads).kind == "get"
    # the builder definitions themselves are not functions, nor are their input callbacks
    assert not [f for f in model.functions if f.name in model.builders]


def test_builders_named_in_the_options():
    code = """
    export const a = teamQuery(async (ctx) => ctx.db.query("t").first());
    export const b = orgWriter({ args: {}, handler: async (ctx) => null });
    """
    without = analyze(code)
    # unknown builders: the bare form is never a function, nor is a name that says no kind
    assert not {"a", "b"} & {f.name for f in without.functions}

    model = analyze(code, builders={"teamQuery": K.QUERY, "orgWriter": K.INTERNAL_MUTATION})
    assert fn(model, "a").kind is K.QUERY and fn(model, "a").builder == "teamQuery"
    assert fn(model, "b").kind is K.INTERNAL_MUTATION
    assert only(model.reads).function is fn(model, "a")


def test_imported_custom_builder_is_inferred_from_its_name():
    model = analyze(
        """
        import { authedQuery, authedAction } from "./lib/functions";
        export const a = authedQuery({ args: {}, handler: async (ctx) => null });
        export const b = authedAction({ args: {}, handler: async (ctx) => null });
        """
    )
    assert fn(model, "a").kind is K.QUERY
    assert fn(model, "b").kind is K.ACTION


# -- DB handles ------------------------------------------------------------------------------------


def test_db_handles_in_helpers():
    model = analyze(
        """
        import type { QueryCtx, MutationCtx, ActionCtx, DatabaseReader, DatabaseWriter } from "./_generated/server";
        import type { GenericDatabaseReader } from "convex/server";
        export async function viaCtx(ctx: QueryCtx, id: Id<"users">) { return await ctx.db.get(id); }
        export async function paramDestructured({ db }: QueryCtx) { return await db.query("users").collect(); }
        export async function paramRenamed({ db: database }: MutationCtx) { return await database.get(x); }
        export async function bodyDestructured(ctx: MutationCtx) { const { db } = ctx; return await db.get(x); }
        export async function bodyRenamed(ctx: QueryCtx) { const { db: d2 } = ctx; return await d2.get(x); }
        export async function bodyAssigned(ctx: QueryCtx) { const db = ctx.db; return await db.get(x); }
        export async function reader(r: DatabaseReader) { return await r.get(x); }
        export async function writer(w: DatabaseWriter) { return await w.query("t").first(); }
        export async function generic(g: GenericDatabaseReader<DataModel>) { return await g.query("t").unique(); }
        export async function union(c: QueryCtx | MutationCtx) { return await c.db.get(x); }
        export const arrow = async (c: ActionCtx) => await c.runQuery(internal.a.b, {});
        """
    )
    expect_db = {
        "paramDestructured": {"db"},
        "paramRenamed": {"database"},
        "bodyDestructured": {"db"},
        "bodyRenamed": {"d2"},
        "bodyAssigned": {"db"},
        "reader": {"r"},
        "writer": {"w"},
        "generic": {"g"},
    }
    for name, names in expect_db.items():
        assert fn(model, name).db_names == names, name
    for name in ("viaCtx", "bodyDestructured", "bodyAssigned", "union", "arrow"):
        assert fn(model, name).ctx_names, name
    readers = {r.function.name for r in model.reads}
    assert readers == set(expect_db) | {"viaCtx", "union"}
    assert only(fn(model, "arrow").run_calls).ref == "internal.a.b"
    for name in expect_db:
        assert fn(model, name).takes_context


def test_db_handle_in_handler_params():
    model = analyze(
        """
        export const a = query({ handler: async ({ db }, { id }) => await db.get(id) });
        export const b = query({ handler: async ({ db: d }) => await d.query("t").collect() });
        """
    )
    assert fn(model, "a").db_names == {"db"}
    assert fn(model, "b").db_names == {"d"}
    assert [r.function.name for r in model.reads] == ["a", "b"]


def test_not_db_handles():
    model = analyze(
        """
        export async function cacheGet(cache: Map<string, string>) { return cache.get("x"); }
        export async function client(api: ApiClient) { return await api.query("t").collect(); }
        export async function routes(router: HttpRouter) { router.get("/x"); }
        export const s = action({ handler: async (ctx, args) => { await ctx.storage.get(args.id); await ctx.db.system.get(args.id); } });
        export const u = query({ handler: async (ctx, args) => { const m = new Map(); return m.get(args.k); } });
        """
    )
    assert model.reads == []
    assert model.chains == []
    assert fn(model, "cacheGet").db_names == set() and fn(model, "cacheGet").ctx_names == set()


def test_a_db_that_is_not_convex():
    module_level = analyze(
        """
        import { Pool } from "pg";
        const db = new Pool();
        export const sync = action({ handler: async (ctx, args) => {
          for (const id of args.ids) { await db.query("SELECT 1").then((r) => r); await db.get(id); }
        } });
        export const real = query({ handler: async ({ db }, args) => await db.get(args.id) });
        """
    )
    assert [r.function.name for r in module_level.reads] == [
        "real"
    ]  # the parameter shadows the Pool
    assert module_level.chains == []
    local = analyze(
        """
        export const sync = internalAction({ handler: async (ctx, args) => {
          const db = drizzle(args.url);
          for (const id of args.ids) await db.get(id);
          const inner = async (k) => db.get(k);
          await ctx.db.get(args.id);
        } });
        """
    )
    assert [text_of(r.node) for r in local.reads] == ["ctx.db.get(args.id)"]
    imported = analyze(
        """
        import { db } from "./lib/drizzle";
        export const sync = action({ handler: async (ctx, args) => { await db.get(args.id); } });
        """
    )
    assert imported.reads == []
    plain = analyze("export async function load(db: DatabaseReader, id) { return db.get(id); }\n")
    assert len(plain.reads) == 1


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
    assert [r.loops[-1].exempt for r in model.reads] == [exempt, exempt]


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


# -- the call graph across files ------------------------------------------------------------------------

TSCONFIG_JSONC = """{
  // path aliases, as Convex projects write them
  "compilerOptions": {
    "baseUrl": ".",
    /* block comment with "quotes" and // slashes */
    "paths": {
      "@/*": ["convex/*"],
      "~lib": ["convex/lib/index.ts",],
    },
  },
}
"""

FILES = {
    "lib/users.ts": """
        import type { QueryCtx } from "../_generated/server";
        export async function loadUser(ctx: QueryCtx, id: string) { return await ctx.db.get(id); }
        export async function loadTwo(ctx: QueryCtx, id: string) {
          await ctx.db.get(id);
          return await ctx.db.query("users").withIndex("by_x", (q) => q.eq("x", id)).first();
        }
        export async function loadAll(ctx: QueryCtx, ids: string[]) {
          for (const id of ids) await ctx.db.get(id);
        }
        async function hidden(ctx: QueryCtx) { return ctx.db.get("x"); }
        export { hidden as renamedHidden };
        export default async function defaultLoader(ctx: QueryCtx, id: string) { return ctx.db.get(id); }
        export function pure(x: number) { return x + 1; }
    """,
    "lib/index.ts": """
        export { loadUser } from "./users";
        export * from "./more";
        import { loadTwo } from "./users";
        export { loadTwo };
    """,
    "lib/more.ts": """
        export async function moreLoad(ctx: QueryCtx, id: string) { return ctx.db.get(id); }
        export async function ping(ctx: QueryCtx, n: number): Promise<void> { await ctx.db.get("a"); if (n) await pong(ctx, n - 1); }
        export async function pong(ctx: QueryCtx, n: number): Promise<void> { if (n) await ping(ctx, n - 1); }
        export async function self(ctx: QueryCtx, n: number): Promise<void> { await ctx.db.get("b"); if (n) await self(ctx, n - 1); }
        export async function runner(ctx: ActionCtx) { return ctx.runQuery(internal.a.b, {}); }
        export * from "./index";
    """,
    "model/teams.ts": """
        export async function byId(ctx: QueryCtx, id: string) { return ctx.db.get(id); }
        export async function deep(ctx: QueryCtx) { return byId(ctx, "x"); }
    """,
}


@pytest.fixture
def graph(tmp_path):
    project = tmp_path / "app"
    (project / "convex").mkdir(parents=True)
    (project / "tsconfig.json").write_text(TSCONFIG_JSONC)
    for name, text in FILES.items():
        path = project / "convex" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    def build(caller: str) -> tuple[Workspace, FileModel]:
        path = project / "convex" / "caller.ts"
        path.write_text(textwrap.dedent(caller))
        workspace = Workspace(discover_roots(project), base=project)
        model = workspace.model(path.resolve())
        assert model is not None
        return workspace, model

    return build


def _targets(workspace: Workspace, model: FileModel) -> list[tuple[str, str, str] | None]:
    out = []
    for call in model.helper_calls:
        resolved = workspace.resolve_call(model, call)
        out.append(
            None if resolved is None else (call.callee, resolved[0].path.name, resolved[1].name)
        )
    return out


def test_jsonc_tsconfig_is_readable():
    from convex_xray.engine.workspace import _strip_jsonc

    data = json.loads(_strip_jsonc(TSCONFIG_JSONC))
    assert data["compilerOptions"]["paths"]["~lib"] == ["convex/lib/index.ts"]
    # comment markers inside strings survive
    assert json.loads(_strip_jsonc('{"a": "http://x/*y*/", }')) == {"a": "http://x/*y*/"}


def test_resolution_through_imports_aliases_namespaces_and_reexports(graph):
    workspace, model = graph(
        """
        import { loadUser, loadTwo, moreLoad } from "~lib";
        import { loadUser as lu, renamedHidden } from "./lib/users";
        import defaultLoader from "./lib/users";
        import * as Teams from "@/model/teams";
        import { runner } from "./lib/more.js";
        import { missing } from "./lib/nowhere";
        import { external } from "some-package";
        export const f = query({
          args: {},
          handler: async (ctx) => {
            await loadUser(ctx, "1");
            await loadTwo(ctx, "1");
            await moreLoad(ctx, "1");
            await lu(ctx, "1");
            await renamedHidden(ctx);
            await defaultLoader(ctx, "1");
            await Teams.byId(ctx, "1");
            await runner(ctx);
            await missing(ctx);
            await external(ctx);
          },
        });
        """
    )
    assert _targets(workspace, model) == [
        ("loadUser", "users.ts", "loadUser"),
        ("loadTwo", "users.ts", "loadTwo"),
        ("moreLoad", "more.ts", "moreLoad"),
        ("lu", "users.ts", "loadUser"),
        ("renamedHidden", "users.ts", "hidden"),
        ("defaultLoader", "users.ts", "defaultLoader"),
        ("Teams.byId", "teams.ts", "byId"),
        ("runner", "more.ts", "runner"),
        None,
        None,
    ]


def test_summary_counts_transitive_reads_and_calls(graph):
    workspace, model = graph(
        """
        import { loadUser, loadTwo } from "./lib/users";
        import { deep } from "./model/teams";
        import { runner } from "./lib/more";
        export const f = query({
          args: {},
          handler: async (ctx) => {
            await ctx.db.get("own");
            await loadUser(ctx, "1");
            await loadTwo(ctx, "1");
            await deep(ctx);
            await runner(ctx);
          },
        });
        """
    )
    summary = workspace.summary(model, fn(model, "f"))
    assert summary.reads == 1 + 1 + 2 + 1
    assert summary.run_calls == 1
    assert summary.reads_db and summary.calls_functions and not summary.loops_with_reads
    assert (
        summary.first_read is not None
        and summary.first_read.path == model.path
        and summary.depth == 0
    )
    assert summary.first_call_text == "ctx.runQuery(internal.a.b)"


def test_summary_of_a_helper_reports_where_and_how_deep(graph):
    workspace, model = graph(
        """
        import { deep } from "./model/teams";
        import { loadAll } from "./lib/users";
        export async function viaDeep(ctx: QueryCtx) { return deep(ctx); }
        export async function viaLoop(ctx: QueryCtx) { return loadAll(ctx, []); }
        export async function pureOnly(ctx: QueryCtx) { return 1; }
        """
    )
    deep = workspace.summary(model, fn(model, "viaDeep"))
    assert deep.reads == 1 and deep.depth == 2
    assert deep.first_read.path.name == "teams.ts" and deep.first_read_text == "db.get(id)"
    looped = workspace.summary(model, fn(model, "viaLoop"))
    assert looped.reads == 0 and looped.loops_with_reads and looped.reads_db
    nothing = workspace.summary(model, fn(model, "pureOnly"))
    assert not nothing.reads_db and not nothing.calls_functions and nothing.first_read is None


def test_recursion_between_helpers_terminates(graph):
    workspace, model = graph(
        """
        import { ping, self } from "./lib/more";
        import { anything } from "~lib";   // lib/index <-> lib/more re-export each other
        export const f = query({ args: {}, handler: async (ctx) => { await ping(ctx, 3); await self(ctx, 2); await anything(ctx); } });
        """
    )
    summary = workspace.summary(model, fn(model, "f"))
    assert summary.reads == 2  # ping reads once, self reads once; the cycles add nothing more
    assert _targets(workspace, model)[2] is None  # a re-export cycle that never defines it


def test_summary_follows_edits(graph):
    workspace, model = graph(
        """
        import { loadUser } from "./lib/users";
        export const f = query({ args: {}, handler: async (ctx) => { await loadUser(ctx, "1"); } });
        """
    )
    assert workspace.summary(model, fn(model, "f")).reads == 1
    users = model.path.parent / "lib" / "users.ts"
    workspace.set_source(
        SourceFile(
            users, "export async function loadUser(ctx: QueryCtx, id: string) { return id; }\n"
        )
    )
    model = workspace.model(model.path)
    assert workspace.summary(model, fn(model, "f")).reads == 0


def test_local_closure_resolution_prefers_the_innermost(graph):
    workspace, model = graph(
        """
        async function enrich(ctx: QueryCtx, x) { return x; }
        export const f = query({
          args: {},
          handler: async (ctx, args) => {
            const enrich = async (x) => ctx.db.get(x.id);
            return await Promise.all(args.xs.map((x) => enrich(x)));
          },
        });
        export const g = query({ args: {}, handler: async (ctx, args) => enrich(ctx, args.x) });
        """
    )
    f_call, g_call = model.helper_calls
    assert workspace.resolve_call(model, f_call)[1].parent is fn(model, "f")
    assert workspace.resolve_call(model, g_call)[1].parent is None
    assert workspace.summary(model, fn(model, "f")).loops_with_reads


def _alias_project(tmp_path: Path, configs: dict[str, str]) -> tuple[Workspace, FileModel]:
    project = tmp_path / "mono"
    files = {
        "packages/backend/convex/lib/users.ts": "export async function load(ctx: QueryCtx) { return ctx.db.get(x); }\n",
        "packages/backend/convex/special/users.ts": "export async function load(ctx: QueryCtx) { return ctx.db.get(y); }\n",
        # what `@/*` alone would pick for "@/lib/special": the exact alias must win
        "packages/backend/convex/lib/special.ts": "export async function load(ctx: QueryCtx) { return ctx.db.get(z); }\n",
        "packages/backend/convex/caller.ts": (
            'import { load } from "@/lib/users";\nimport { load as other } from "@/lib/special";\n'
            "export const f = query({ args: {}, handler: async (ctx) => { await load(ctx); await other(ctx); } });\n"
        ),
        **configs,
    }
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    workspace = Workspace(discover_roots(project / "packages" / "backend"), base=project)
    model = workspace.model((project / "packages/backend/convex/caller.ts").resolve())
    return workspace, model


@pytest.mark.parametrize(
    "configs",
    [
        {  # paths in a base config, reached through `extends` (with a trailing-comma JSONC file)
            "tsconfig.base.json": '{ "compilerOptions": { "baseUrl": "packages/backend", "paths": {'
            ' "@/lib/special": ["convex/special/users.ts"], "@/*": ["convex/*"], } } }',
            "packages/backend/tsconfig.json": '{ "extends": "../../tsconfig.base", "compilerOptions": { "strict": true } }',
        },
        {  # TypeScript 5 `extends` arrays, a package config among them; paths without baseUrl
            "packages/backend/tsconfig.paths.json": '{ "compilerOptions": { "paths": {'
            ' "@/*": ["./convex/*"], "@/lib/special": ["./convex/special/users.ts"] } } }',
            "packages/backend/tsconfig.json": '{ "extends": ["@tsconfig/node20/tsconfig.json", "./tsconfig.paths.json"] }',
        },
    ],
    ids=["extends", "extends-array"],
)
def test_tsconfig_extends_and_the_most_specific_alias(tmp_path, configs):
    workspace, model = _alias_project(tmp_path, configs)
    targets = [workspace.resolve_call(model, call) for call in model.helper_calls]
    assert [(t[0].path.parent.name, t[1].name) for t in targets] == [
        ("lib", "load"),
        ("special", "load"),
    ]


def test_summaries_in_a_cycle_do_not_depend_on_what_was_asked_first(graph):
    caller = """
        import { ping, pong } from "./lib/more";
        export const f = query({ args: {}, handler: async (ctx) => { await ping(ctx, 1); await pong(ctx, 1); } });
        """
    results = []
    for order in (("ping", "pong"), ("pong", "ping")):
        workspace, model = graph(caller)
        more = workspace.resolve_call(model, model.helper_calls[0])[0]
        got = {}
        for name in order:
            summary = workspace.summary(more, fn(more, name))
            got[name] = (summary.reads, summary.reads_db, summary.depth)
        results.append(got)
    assert results[0] == results[1]
    assert results[0]["pong"][1]  # pong reads, through ping


def test_a_dense_recursive_call_graph_stays_polynomial(tmp_path):
    """Forty helpers that all call each other: every summary is computed, in linear walks."""
    names = [f"h{i}" for i in range(40)]
    bodies = []
    for name in names:
        calls = " ".join(f"await {other}(ctx);" for other in names if other != name)
        bodies.append(
            f'export async function {name}(ctx: QueryCtx) {{ await ctx.db.get("{name}"); {calls} }}'
        )
    project = tmp_path / "dense"
    (project / "convex").mkdir(parents=True)
    (project / "convex" / "helpers.ts").write_text("\n".join(bodies) + "\n")
    workspace = Workspace(discover_roots(project), base=project)
    model = workspace.model(workspace.files()[0])
    for name in names:
        assert workspace.summary(model, fn(model, name)).reads == 40  # each counted once


def test_a_very_deep_helper_chain_has_no_recursion_limit(tmp_path):
    count = 3000
    lines = [
        f"export async function h{i}(ctx: QueryCtx) {{ return await h{i + 1}(ctx); }}"
        for i in range(count)
    ]
    lines.append(
        f'export async function h{count}(ctx: QueryCtx) {{ return await ctx.db.get("x"); }}'
    )
    project = tmp_path / "deep"
    (project / "convex").mkdir(parents=True)
    (project / "convex" / "chain.ts").write_text("\n".join(lines) + "\n")
    workspace = Workspace(discover_roots(project), base=project)
    model = workspace.model(workspace.files()[0])
    summary = workspace.summary(model, fn(model, "h0"))
    assert (summary.reads, summary.depth) == (1, count)


def test_recursion_per_item_is_a_loop_with_reads(tmp_path):
    project = tmp_path / "tree"
    (project / "convex").mkdir(parents=True)
    (project / "convex" / "tree.ts").write_text(
        "export async function walk(ctx: QueryCtx, id: string) {\n"
        "  const node = await ctx.db.get(id);\n"
        "  for (const child of node.children) await walk(ctx, child);\n"
        "}\n"
    )
    workspace = Workspace(discover_roots(project), base=project)
    model = workspace.model(workspace.files()[0])
    summary = workspace.summary(model, fn(model, "walk"))
    assert summary.reads == 1 and summary.loops_with_reads
