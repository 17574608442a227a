"""The call graph across files: module resolution (aliases, namespaces, re-exports, tsconfig) and function summaries."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from convex_xray.engine.model import FileModel
from convex_xray.engine.source import SourceFile
from convex_xray.engine.workspace import Workspace, discover_roots
from tests.support.analysis import fn

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
    from convex_xray.engine.discovery import _strip_jsonc

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
