"""Index references the analyzer records: what `unused-index` and `unknown-index` consume."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.engine.analysis.analyzer import analyze_file
from convex_xray.engine.source import SourceFile


def refs(code: str) -> list[tuple[str | None, str | None, str]]:
    model = analyze_file(SourceFile(Path("convex/a.ts"), code))
    return [(r.table, r.name, r.kind) for r in model.index_refs]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            'export const f = action({ handler: async (ctx) => ctx.vectorSearch("insights", "by_embedding", { vector: v, limit: 5 }) });',
            [("insights", "by_embedding", "vectorSearch")],
        ),
        (
            'export const f = action({ handler: async (ctx, args) => ctx.vectorSearch("insights", args.index, { vector: v }) });',
            [("insights", None, "vectorSearch")],
        ),
        (
            'async function f(ctx: ActionCtx) { return await ctx.vectorSearch(table, "by_embedding", { vector: v }); }',
            [(None, "by_embedding", "vectorSearch")],
        ),
        (
            'const store = { vectorSearch(a: string, b: string) {} }; store.vectorSearch("x", "y");',
            [],
        ),
        (
            'async function f(ctx) { return getManyFrom(ctx.db, "posts", "by_authorId", id); }',
            [("posts", "by_authorId", "helper")],
        ),
        (
            'async function f(ctx) { return ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", id)).take(5); }',
            [("posts", "by_authorId", "withIndex")],
        ),
    ],
)
def test_index_refs(code, expected):
    assert refs(code) == expected
