"""Code actions: quick fixes, suggestions, disable comments, docs, fix-all, stale actions."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified, JsonRpcException

from tests.lsp.harness import TIMEOUT, capabilities, codes, edits_for, index_at, position_at
from tests.support.project import write_project

APP = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const done = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    const posts = await ctx.db
      .query("posts")
      .withIndex("by_authorId", (q) => q.eq("authorId", args.authorId))
      .filter((q) => q.eq(q.field("status"), "done"))
      .take(20);
    const count = (await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", posts[0]._id)).collect()).length;
    const authors = [];
    for (const post of posts) {
      const author = await ctx.db.get(post.authorId);
      authors.push(author);
    }
    return { posts, count, authors };
  },
});
"""


def _actions(result) -> list[types.CodeAction]:
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


def _titles(result) -> list[str]:
    return [a.title for a in result or []]


def _command(item) -> tuple[str, list]:
    command = item.command if isinstance(item, types.CodeAction) else item
    return command.command, list(command.arguments or [])


async def _raw_actions(session, uri: str, diagnostics: list[types.Diagnostic], only=None) -> list:
    first = (
        diagnostics[0].range
        if diagnostics
        else types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    )
    result = await asyncio.wait_for(
        session.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=first,
                context=types.CodeActionContext(diagnostics=diagnostics, only=only),
            )
        ),
        TIMEOUT,
    )
    return list(result or [])


async def _code_actions(
    session, uri: str, diagnostics: list[types.Diagnostic], only=None
) -> list[types.CodeAction]:
    return _actions(await _raw_actions(session, uri, diagnostics, only))


async def _resolve(session, action: types.CodeAction) -> types.CodeAction:
    return await asyncio.wait_for(session.client.code_action_resolve_async(action), TIMEOUT)


async def _opened(start, tmp_path, **options):
    root = write_project(tmp_path / "app", {"done.ts": APP})
    session = await start(root, **options)
    uri = session.open("convex/done.ts")
    diagnostics = await session.client.diagnostics_for(uri, version=1)
    return session, uri, diagnostics


def _by_code(diagnostics, code):
    return next(d for d in diagnostics if d.code == code)


async def test_safe_quick_fix_is_preferred_resolved_lazily_and_fixes(start, tmp_path):
    session, uri, diagnostics = await _opened(start, tmp_path)
    n_plus_one = _by_code(diagnostics, "n-plus-one-read")
    raw = await _raw_actions(session, uri, [n_plus_one])
    assert _titles(raw) == [
        "Batch-fetch 'authors' before the loop (one 'Promise.all', then a Map lookup)",  # plain text
        "Disable n-plus-one-read for this line",
        "Show documentation for n-plus-one-read",
        "Fix all convex-xray problems",  # offered with the quick fixes: something is fixable
    ]
    fix = _actions(raw)[0]
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.is_preferred is True
    assert fix.edit is None and fix.data is not None  # computed on codeAction/resolve
    resolved = await _resolve(session, fix)
    change = resolved.edit.document_changes[0]
    assert change.text_document.uri == uri and change.text_document.version == 1
    version = session.apply(uri, edits_for(resolved.edit, uri))
    after = await session.client.diagnostics_for(uri, version=version)
    assert "n-plus-one-read" not in codes(after)
    assert "Promise.all" in session.texts[uri]


async def test_cross_file_add_index_fix_edits_schema_too(start, tmp_path):
    session, uri, diagnostics = await _opened(start, tmp_path)
    client = session.client
    action = (await _code_actions(session, uri, [_by_code(diagnostics, "filter-on-query")]))[0]
    assert action.title.startswith("Add index 'by_authorId_and_status'")  # plain text in the menu
    assert not action.is_preferred  # unsafe: it changes the schema
    resolved = await _resolve(session, action)
    documents = {c.text_document.uri: c for c in resolved.edit.document_changes}
    schema_uri = session.uri("convex/schema.ts")
    assert set(documents) == {uri, schema_uri}
    assert documents[uri].text_document.version == 1
    assert documents[schema_uri].text_document.version is None  # not open: the file on disk
    # Apply both, as an editor would: the open document by didChange, schema.ts on disk.
    schema_path = session.root / "convex" / "schema.ts"
    schema = schema_path.read_text()
    for edit in sorted(
        documents[schema_uri].edits,
        key=lambda e: (e.range.start.line, e.range.start.character),
        reverse=True,
    ):
        a, b = index_at(schema, edit.range.start), index_at(schema, edit.range.end)
        schema = schema[:a] + edit.new_text + schema[b:]
    schema_path.write_text(schema)
    assert '.index("by_authorId_and_status", ["authorId", "status"])' in schema
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=schema_uri, type=types.FileChangeType.Changed)]
        )
    )
    version = session.apply(uri, list(documents[uri].edits))
    after = await client.diagnostics_for(uri, version=version)
    assert "filter-on-query" not in codes(after)


async def test_advice_without_an_edit_is_no_quick_fix(start, tmp_path):
    """A counted `.collect()` has no edit that keeps its meaning: the message says "keep a
    counter", and the only actions are the disable comment and the documentation."""
    session, uri, diagnostics = await _opened(start, tmp_path)
    counted = next(d for d in diagnostics if d.code == "unbounded-collect")
    actions = await _code_actions(session, uri, [counted])
    assert [a.title for a in actions if a.kind == types.CodeActionKind.QuickFix] == [
        "Disable unbounded-collect for this line",
        "Show documentation for unbounded-collect",
    ]


async def test_disable_comment_and_documentation(start, tmp_path):
    session, uri, diagnostics = await _opened(start, tmp_path)
    client = session.client
    counted = next(d for d in diagnostics if d.code == "unbounded-collect")
    actions = await _code_actions(session, uri, [counted])
    disable = next(a for a in actions if a.title == "Disable unbounded-collect for this line")
    edits = edits_for(disable.edit, uri)
    assert edits[0].new_text == "    // convex-xray-disable-next-line unbounded-collect -- <reason>\n"
    version = session.apply(uri, edits)
    after = await client.diagnostics_for(uri, version=version)
    assert "unbounded-collect" not in codes(after)
    # The documentation action runs a server command, which asks the client to show the page.
    raw = await _raw_actions(session, uri, [_by_code(after, "n-plus-one-read")])
    name, arguments = _command(
        next(a for a in raw if a.title == "Show documentation for n-plus-one-read")
    )
    assert (name, arguments) == ("convex-xray.showRuleDocumentation", ["n-plus-one-read"])
    await asyncio.wait_for(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=arguments)
        ),
        TIMEOUT,
    )
    assert client.shown_documents[-1].uri.endswith("/n-plus-one-read.md")
    assert client.shown_documents[-1].external is True


async def test_fix_all_applies_safe_fixes_to_a_fixpoint(start, tmp_path):
    session, uri, _ = await _opened(start, tmp_path)
    actions = await _code_actions(session, uri, [], only=["source.fixAll.convex-xray"])
    assert [a.kind for a in actions] == ["source.fixAll.convex-xray"]
    resolved = await _resolve(session, actions[0])
    edits = edits_for(resolved.edit, uri)
    assert edits and all(
        len(e.new_text) < len(session.texts[uri]) for e in edits
    )  # minimal, not the whole file
    version = session.apply(uri, edits)
    after = await session.client.diagnostics_for(uri, version=version)
    assert "n-plus-one-read" not in codes(after)
    assert "filter-on-query" in codes(after)  # unsafe: left alone
    assert session.uri("convex/schema.ts") not in {
        c.text_document.uri for c in resolved.edit.document_changes
    }


async def test_apply_all_fixes_command_with_unsafe_fixes(start, tmp_path):
    session, uri, _ = await _opened(start, tmp_path, init_options={"unsafeFixes": True})
    client = session.client
    result = await asyncio.wait_for(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="convex-xray.applyAllFixes", arguments=[{"uri": uri}]
            )
        ),
        TIMEOUT,
    )
    assert result["applied"] is True
    edit = client.applied_edits[-1].edit
    uris = {c.text_document.uri for c in edit.document_changes}
    assert uris == {uri, session.uri("convex/schema.ts")}  # add-index is unsafe: included now
    version = session.apply(uri, edits_for(edit, uri))
    after = await client.diagnostics_for(uri, version=version)
    assert "n-plus-one-read" not in codes(after)


async def test_stale_code_action_is_refused(start, tmp_path):
    session, uri, diagnostics = await _opened(start, tmp_path)
    fix = (await _code_actions(session, uri, [_by_code(diagnostics, "n-plus-one-read")]))[0]
    session.insert(uri, "    return { posts", "    // edited\n")
    with pytest.raises(JsonRpcException) as refused:
        await _resolve(session, fix)
    assert refused.value.code == JsonRpcContentModified.CODE
    fix_all = (await _code_actions(session, uri, [], only=["source.fixAll"]))[0]
    session.insert(uri, "    return { posts", " ")
    with pytest.raises(JsonRpcException) as refused:
        await _resolve(session, fix_all)
    assert refused.value.code == JsonRpcContentModified.CODE
    # Asked again for the current version, it resolves.
    fresh = (await _code_actions(session, uri, [], only=["source.fixAll"]))[0]
    assert (await _resolve(session, fresh)).edit is not None


async def test_clients_without_resolve_get_edits_up_front(start, tmp_path):
    session, uri, diagnostics = await _opened(
        start, tmp_path, caps=capabilities(resolve=False, document_changes=False)
    )
    fix = (await _code_actions(session, uri, [_by_code(diagnostics, "n-plus-one-read")]))[0]
    assert fix.data is None and fix.edit is not None
    assert fix.edit.document_changes is None and uri in fix.edit.changes
    version = session.apply(uri, list(fix.edit.changes[uri]))
    after = await session.client.diagnostics_for(uri, version=version)
    assert "n-plus-one-read" not in codes(after)


FETCH_APP = """import { action } from "./_generated/server";

export const ping = action({
  args: {},
  handler: async () => {
    const response = await fetch("https://example.com/health");
    return response.ok;
  },
});
"""


@pytest.mark.parametrize("snippets", [True, False], ids=["snippet client", "plain client"])
async def test_timeout_value_is_a_snippet_placeholder_where_the_client_takes_one(start, tmp_path, snippets):
    root = write_project(tmp_path / "app", {"net.ts": FETCH_APP})
    session = await start(root, caps=capabilities(snippet_edits=snippets))
    uri = session.open("convex/net.ts")
    diagnostics = await session.client.diagnostics_for(uri, version=1)
    fix = (await _code_actions(session, uri, [_by_code(diagnostics, "fetch-without-timeout")]))[0]
    resolved = await _resolve(session, fix)
    [edit] = resolved.edit.document_changes[0].edits
    if snippets:
        assert isinstance(edit, types.SnippetTextEdit)
        assert edit.snippet.value == ", { signal: AbortSignal.timeout(${1:10_000}) \\}"
    else:
        assert isinstance(edit, types.TextEdit)
        assert edit.new_text == ", { signal: AbortSignal.timeout(10_000) }"


def test_index_helpers_agree():
    text = "a\r\nbé😀c\nd"
    for index in range(len(text) + 1):
        if text[index - 1 : index + 1] == "\r\n":
            continue  # inside a line break
        assert index_at(text, position_at(text, index)) == index
