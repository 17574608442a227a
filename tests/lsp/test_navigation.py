"""Schema-aware navigation: definition, hover, completion and references."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.lsp.harness import TIMEOUT, position_at
from tests.support.project import write_project

POSTS = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const byAuthor = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    return await ctx.db
      .query("posts")
      .withIndex("by_authorId", (q) => q.eq("authorId", args.authorId))
      .take(10);
  },
});
"""

COMMENTS = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const forPost = query({
  args: { postId: v.id("posts") },
  handler: async (ctx, args) => {
    const posts = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.postId as any)).take(1);
    return await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.postId)).take(5);
  },
});
"""


def _schema_position(root, needle: str, delta: int = 0) -> types.Position:
    text = (root / "convex" / "schema.ts").read_text()
    return position_at(text, text.index(needle) + delta)


async def _session(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS, "comments.ts": COMMENTS})
    session = await start(root)
    uri = session.open("convex/posts.ts")
    await session.client.diagnostics_for(uri, version=1)
    return session, uri


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def test_definition_of_table_and_index(start, tmp_path):
    session, uri = await _session(start, tmp_path)
    client = session.client
    schema_uri = session.uri("convex/schema.ts")
    table = await asyncio.wait_for(
        client.text_document_definition_async(
            types.DefinitionParams(
                text_document=_doc(uri), position=session.position(uri, '"posts"', delta=2)
            )
        ),
        TIMEOUT,
    )
    assert [(loc.uri, loc.range.start) for loc in table] == [
        (schema_uri, _schema_position(session.root, "posts: defineTable"))
    ]
    index = await asyncio.wait_for(
        client.text_document_definition_async(
            types.DefinitionParams(
                text_document=_doc(uri), position=session.position(uri, '"by_authorId"', delta=4)
            )
        ),
        TIMEOUT,
    )
    assert [(loc.uri, loc.range.start) for loc in index] == [
        (schema_uri, _schema_position(session.root, '"by_authorId"'))
    ]
    # v.id("users") names a table too.
    users = await asyncio.wait_for(
        client.text_document_definition_async(
            types.DefinitionParams(
                text_document=_doc(uri), position=session.position(uri, 'v.id("users")', delta=7)
            )
        ),
        TIMEOUT,
    )
    assert users[0].range.start == _schema_position(session.root, "users: defineTable")
    # Anywhere else: nothing.
    nothing = await asyncio.wait_for(
        client.text_document_definition_async(
            types.DefinitionParams(
                text_document=_doc(uri), position=session.position(uri, "handler")
            )
        ),
        TIMEOUT,
    )
    assert not nothing


async def test_hover_shows_fields_and_indexes(start, tmp_path):
    session, uri = await _session(start, tmp_path)
    client = session.client
    table = await asyncio.wait_for(
        client.text_document_hover_async(
            types.HoverParams(
                text_document=_doc(uri), position=session.position(uri, '"posts"', delta=1)
            )
        ),
        TIMEOUT,
    )
    text = table.contents.value
    assert "**table** `posts`" in text
    assert "`authorId`" in text and "`status`" in text and "`createdAt`" in text
    assert "`by_orgId_and_status`: `orgId`, `status`" in text and "`by_creation_time`" in text
    assert table.range == session.range_of(uri, '"posts"')
    index = await asyncio.wait_for(
        client.text_document_hover_async(
            types.HoverParams(
                text_document=_doc(uri), position=session.position(uri, '"by_authorId"', delta=3)
            )
        ),
        TIMEOUT,
    )
    assert "**index** `by_authorId` on `posts`" in index.contents.value
    assert "`authorId`, `_creationTime`" in index.contents.value


async def _complete(session, uri: str, position: types.Position) -> list[types.CompletionItem]:
    result = await asyncio.wait_for(
        session.client.text_document_completion_async(
            types.CompletionParams(text_document=_doc(uri), position=position)
        ),
        TIMEOUT,
    )
    return list(result.items) if isinstance(result, types.CompletionList) else list(result or [])


async def test_completion_of_tables_indexes_and_fields(start, tmp_path):
    root = write_project(tmp_path / "app", {})
    session = await start(root)
    uri = session.open(
        "convex/new.ts",
        'import { query } from "./_generated/server";\n\nexport const q = query({\n  args: {},\n  handler: async (ctx) => {\n    return 1;\n  },\n});\n',
    )
    await session.client.diagnostics_for(uri, version=1)
    # Type `await ctx.db.query("` (the editor closed the quote and paren): tables.
    session.replace(uri, "return 1;", 'return await ctx.db.query("")')
    items = await _complete(session, uri, session.position(uri, '("")', delta=2))
    assert {i.label for i in items} == {"users", "orgs", "posts", "comments"}
    posts = next(i for i in items if i.label == "posts")
    assert posts.kind == types.CompletionItemKind.Class
    # Choose `po|` -> the edit replaces the typed prefix.
    session.replace(uri, '("")', '("po")')
    items = await _complete(session, uri, session.position(uri, '("po")', delta=4))
    posts = next(i for i in items if i.label == "posts")
    typed = session.range_of(uri, '"po"')
    assert posts.text_edit.range == types.Range(
        start=types.Position(typed.start.line, typed.start.character + 1),
        end=types.Position(typed.end.line, typed.end.character - 1),
    )
    session.replace(uri, '("po")', '("posts").withIndex("")')
    items = await _complete(session, uri, session.position(uri, 'withIndex("")', delta=11))
    labels = [i.label for i in sorted(items, key=lambda i: i.sort_text)]
    assert labels == ["by_authorId", "by_orgId_and_status", "by_id", "by_creation_time"]
    # Fields of the chosen index, in index order.
    session.replace(uri, 'withIndex("")', 'withIndex("by_orgId_and_status", (q) => q.eq(""))')
    items = await _complete(session, uri, session.position(uri, 'q.eq("")', delta=6))
    labels = [i.label for i in sorted(items, key=lambda i: i.sort_text)]
    assert labels == ["orgId", "status", "_creationTime"]
    # Not in a string the schema knows about: nothing.
    assert await _complete(session, uri, session.position(uri, "handler")) == []


async def test_references_of_a_schema_index(start, tmp_path):
    session, _ = await _session(start, tmp_path)
    schema = session.open("convex/schema.ts")
    await session.client.diagnostics_for(schema, version=1)
    result = await asyncio.wait_for(
        session.client.text_document_references_async(
            types.ReferenceParams(
                text_document=_doc(schema),
                position=session.position(schema, '"by_authorId"', delta=2),
                context=types.ReferenceContext(include_declaration=False),
            )
        ),
        TIMEOUT,
    )
    found = sorted((loc.uri.rsplit("/", 1)[1], loc.range.start.line) for loc in result)
    comments = COMMENTS.lstrip("\n").splitlines()
    posts = POSTS.lstrip("\n").splitlines()
    assert found == sorted(
        [
            (
                "comments.ts",
                next(i for i, line in enumerate(comments) if "by_authorId" in line) + 1,
            ),
            ("posts.ts", next(i for i, line in enumerate(posts) if "by_authorId" in line) + 1),
        ]
    )
    with_declaration = await asyncio.wait_for(
        session.client.text_document_references_async(
            types.ReferenceParams(
                text_document=_doc(schema),
                position=session.position(schema, '"by_authorId"', delta=2),
                context=types.ReferenceContext(include_declaration=True),
            )
        ),
        TIMEOUT,
    )
    assert len(with_declaration) == 3
    # A table's references: every query on it.
    tables = await asyncio.wait_for(
        session.client.text_document_references_async(
            types.ReferenceParams(
                text_document=_doc(schema),
                position=session.position(schema, "comments: defineTable", delta=2),
                context=types.ReferenceContext(include_declaration=False),
            )
        ),
        TIMEOUT,
    )
    assert [loc.uri.rsplit("/", 1)[1] for loc in tables] == ["comments.ts"]
