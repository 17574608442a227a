"""`untyped_root`: whether a collection the fixes map over is `any` (its callbacks then say `(x: any)`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.engine.source import SourceFile
from convex_xray.rules.support.untyped import untyped_root


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
