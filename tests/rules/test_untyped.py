"""`untyped_root`: whether a collection the fixes map over is `any` (its callbacks then say `(x: any)`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.engine.source import SourceFile
from convex_xray.engine.workspace import Workspace, discover_roots
from convex_xray.rules.support.untyped import read_from_db, typed_by_package, untyped_root


def _collection(code: str) -> bool:
    source = SourceFile(Path("a.ts"), code)
    loops = [n for n in _walk(source.root) if n.type == "for_in_statement"]
    assert len(loops) == 1
    return untyped_root(loops[0].child_by_field_name("right"))


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


@pytest.mark.parametrize(
    ("code", "untyped"),
    [
        # read from a parameter typed `any`, directly or through a const
        ("async function f(ctx: any) { for (const x of await ctx.db.query('t').collect()) {} }", True),
        ("async function f(ctx: any) { const rows = await ctx.db.query('t').collect(); for (const x of rows) {} }", True),
        ("async function f(ctx: any) { const rows = await ctx.db.query('t').collect(); for (const x of rows.filter((r: any) => r.ok)) {} }", True),
        ("function f(items: any) { for (const x of items.list) {} }", True),
        # typed: the parameter, the const's declared type, or a call whose result has its own type
        ("async function f(ctx: QueryCtx) { const rows = await ctx.db.query('t').collect(); for (const x of rows) {} }", False),
        ("async function f(ctx: any) { const rows: Doc<'t'>[] = await ctx.db.query('t').collect(); for (const x of rows) {} }", False),
        ("async function f(ctx: any) { const rows = await loadRows(ctx); for (const x of rows) {} }", False),
    ],
)
def test_untyped_root(code, untyped):
    assert _collection(code) is untyped


def _read(code: str) -> bool:
    source = SourceFile(Path("a.ts"), code)
    loops = [n for n in _walk(source.root) if n.type == "for_in_statement"]
    assert len(loops) == 1
    return read_from_db(loops[0].child_by_field_name("right"))


@pytest.mark.parametrize(
    ("code", "read"),
    [
        # documents read through a typed (or contextually typed) db handle, or copies of them
        ("async function f(ctx: QueryCtx) { for (const x of await ctx.db.query('t').take(5)) {} }", True),
        ("async function f(ctx: QueryCtx) { const all = await ctx.db.query('t').take(5); const some = all.filter((r) => r.ok); for (const x of some) {} }", True),
        ("query({ handler: async (ctx) => { const rows = await ctx.db.query('t').collect(); for (const x of rows.slice(0, 3)) {} } })", True),
        ("async function f(db: DatabaseReader) { const rows = await db.query('t').collect(); for (const x of rows) {} }", True),
        # unknown: an `any` handle, a helper's result, an argument, a declared type, a parameter
        ("async function f(ctx: any) { const rows = await ctx.db.query('t').collect(); for (const x of rows) {} }", False),
        ("async function f(ctx: QueryCtx) { const rows = await loadRows(ctx); for (const x of rows) {} }", False),
        ("query({ handler: async (ctx, args) => { for (const x of args.entries) {} } })", False),
        ("async function f(ctx: QueryCtx) { const rows: any[] = await ctx.db.query('t').collect(); for (const x of rows) {} }", False),
        ("function f(rows: Doc<'t'>[]) { for (const x of rows) {} }", False),
    ],
)
def test_read_from_db(code, read):
    assert _read(code) is read


@pytest.mark.parametrize(
    ("code", "by_package"),
    [
        # builders, their context type or an ents schema, from a package
        ('import { customQuery, customCtx } from "convex-helpers/server/customFunctions";', True),
        ('import { zCustomMutation } from "convex-helpers/server/zod";', True),
        ('import type { CustomCtx } from "convex-helpers/server/customFunctions";', True),
        ('import { type GenericEnt, defineEntSchema as schema } from "convex-ents";', True),
        # the same names from the app's own files, an alias or `convex` itself; other names
        ('import { customQuery } from "./lib/custom";', False),
        ('import { customQuery } from "@/convex/lib/custom";', False),
        ('import { defineSchema } from "convex/server";', False),
        ('import { v } from "convex/values";\nimport { z } from "zod";', False),
    ],
)
def test_typed_by_package(tmp_path, code, by_package):
    convex = tmp_path / "convex"
    (convex / "lib").mkdir(parents=True)
    (convex / "schema.ts").write_text('import { defineSchema } from "convex/server";\nexport default defineSchema({});\n')
    (convex / "lib" / "builders.ts").write_text(code + "\n")
    (convex / "posts.ts").write_text("export const n = 1;\n")
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    source = workspace.source(convex / "posts.ts")
    assert source is not None
    assert typed_by_package(workspace, source) is by_package


def test_the_roots_at_the_depth_limit_follow_edits_like_a_fresh_workspace(tmp_path):
    """The TS2589 directives are read per file text and merged again only when a changed file
    says something else: after each edit, the same roots as a fresh workspace's."""
    from convex_xray.engine.source import SourceFile
    from convex_xray.rules.support.untyped import _too_deep_roots
    from tests.support.project import workspace_for, write_project

    plain = "export const a = 1;\n"
    on_reference = "// @ts-expect-error TS2589: too deep\nconst fn = internal.jobs.run;\n"
    on_query = "// @ts-expect-error TS2589: too deep\nconst rows = await ctx.db.query('posts').collect();\n"
    project = write_project(tmp_path / "app", {"a.ts": plain, "b.ts": plain})
    workspace = workspace_for(project)
    a, b = ((project / "convex" / n).resolve() for n in ("a.ts", "b.ts"))
    current = {a: plain, b: plain}
    first = _too_deep_roots(workspace)
    assert not first.roots
    for path, text in [(a, plain + "// a note\n"), (a, on_reference), (b, on_query), (b, plain), (a, plain)]:
        workspace.set_source(SourceFile(path, text))
        current[path] = text
        fresh = workspace_for(project)
        for other, other_text in current.items():
            fresh.set_source(SourceFile(other, other_text))
        assert _too_deep_roots(workspace) == _too_deep_roots(fresh)
        if text == on_reference:
            assert _too_deep_roots(workspace).roots and not _too_deep_roots(workspace).data_model
        if text == on_query:
            assert _too_deep_roots(workspace).data_model
    assert _too_deep_roots(workspace) == first  # (equal again, as the texts are)
