"""sequential-scheduling's loop fix: `.map` only on arrays, `Array.from` on anything else
iterable (a `Map` has no `.map`), `any`-typed collections get `(x: any)`, laid out in the
file's style; the output parses and a second --fix changes nothing."""

from __future__ import annotations

import textwrap

import pytest

from tests.support.project import error_nodes, run_fix, write_project

RULE = "sequential-scheduling"
HEAD = 'import { action } from "./_generated/server";\nimport { internal } from "./_generated/api";\nimport { v } from "convex/values";\n'

CASES = {
    "an args array: `.map`": (
        """
        export const fanOut = action({
          args: { ids: v.array(v.string()) },
          handler: async (ctx, args) => {
            for (const id of args.ids) {
              await ctx.scheduler.runAfter(0, internal.jobs.run, { id });
            }
          },
        });
        """,
        """
        export const fanOut = action({
          args: { ids: v.array(v.string()) },
          handler: async (ctx, args) => {
            await Promise.all(
              args.ids.map((id) =>
                ctx.scheduler.runAfter(0, internal.jobs.run, { id }),
              ),
            );
          },
        });
        """,
    ),
    "a Map: `Array.from`, the entry destructured": (
        """
        export const fanOut = action({
          args: {},
          handler: async (ctx) => {
            const pending = new Map<string, number>();
            for (const [id, delay] of pending) {
              await ctx.scheduler.runAfter(delay, internal.jobs.run, { id });
            }
          },
        });
        """,
        """
        export const fanOut = action({
          args: {},
          handler: async (ctx) => {
            const pending = new Map<string, number>();
            await Promise.all(
              Array.from(pending, ([id, delay]) =>
                ctx.scheduler.runAfter(delay, internal.jobs.run, { id }),
              ),
            );
          },
        });
        """,
    ),
    "an array method's result: `.map`": (
        """
        export const fanOut = action({
          args: {},
          handler: async (ctx) => {
            const rows = (await ctx.runQuery(internal.jobs.list, {})).filter(Boolean);
            for (const row of rows) {
              await ctx.scheduler.runAfter(0, internal.jobs.run, { id: row.id });
            }
          },
        });
        """,
        """
        export const fanOut = action({
          args: {},
          handler: async (ctx) => {
            const rows = (await ctx.runQuery(internal.jobs.list, {})).filter(Boolean);
            await Promise.all(
              rows.map((row) =>
                ctx.scheduler.runAfter(0, internal.jobs.run, { id: row.id }),
              ),
            );
          },
        });
        """,
    ),
    "a file whose directives say types are lost (TS2589): `(x: any)`": (
        """
        export const fanOut = action({
          args: {},
          // @ts-expect-error TS2589: type instantiation is excessively deep
          handler: async (ctx) => {
            const rows = await ctx.runQuery(internal.jobs.list, {});
            for (const row of rows) {
              await ctx.scheduler.runAfter(0, internal.jobs.run, { id: row.id });
            }
          },
        });
        """,
        """
        export const fanOut = action({
          args: {},
          // @ts-expect-error TS2589: type instantiation is excessively deep
          handler: async (ctx) => {
            const rows = await ctx.runQuery(internal.jobs.list, {});
            await Promise.all(
              Array.from(rows, (row: any) =>
                ctx.scheduler.runAfter(0, internal.jobs.run, { id: row.id }),
              ),
            );
          },
        });
        """,
    ),
    "a TS2589 directive in another file only: the callback stays unannotated": (
        """
        export const fanOut = action({
          args: { ids: v.array(v.string()) },
          handler: async (ctx, args) => {
            for (const id of args.ids) {
              await ctx.scheduler.runAfter(0, internal.jobs.run, { id });
            }
          },
        });
        """,
        """
        export const fanOut = action({
          args: { ids: v.array(v.string()) },
          handler: async (ctx, args) => {
            await Promise.all(
              args.ids.map((id) =>
                ctx.scheduler.runAfter(0, internal.jobs.run, { id }),
              ),
            );
          },
        });
        """,
    ),
}


def _module(body: str) -> str:
    return HEAD + textwrap.dedent(body)


@pytest.mark.parametrize("name", list(CASES))
def test_loop_fix_exact_output(tmp_path, name):
    before, after = CASES[name]
    # Another file's TS2589 directive (on a query) says nothing about this file's callbacks.
    deep = _module("// @ts-expect-error TS2589: type instantiation is excessively deep\nexport const other = action({ args: {}, handler: async () => null });\n")
    project = write_project(tmp_path / "app", {"jobs.ts": _module(before), "deep.ts": deep})
    path = project / "convex" / "jobs.ts"
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == _module(after)
    assert error_nodes(path) == 0
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == _module(after), "a second --fix must change nothing"


def test_an_untyped_collection_gets_an_any_callback(tmp_path):
    module = HEAD + textwrap.dedent(
        """
        export async function remindAll(ctx: any, campaigns: any) {
          for (const campaign of campaigns) {
            await ctx.scheduler.runAfter(0, internal.jobs.remind, { id: campaign._id });
          }
        }
        """
    )
    project = write_project(tmp_path / "app", {"jobs.ts": module})
    path = project / "convex" / "jobs.ts"
    run_fix(project, [RULE], unsafe=True)
    text = path.read_text()
    assert "Array.from(campaigns, (campaign: any) =>" in text
    assert error_nodes(path) == 0
