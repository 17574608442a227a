"""The code model: Convex functions, custom builders and DB handles (what must be recognised and what must not)."""

from __future__ import annotations

import pytest

from convex_xray.engine.syntax import text_of
from tests.support.analysis import K, analyze, fn, only

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
