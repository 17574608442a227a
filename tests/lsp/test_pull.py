"""Pull diagnostics: textDocument/diagnostic with result ids, workspace/diagnostic, refresh."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.lsp.harness import TIMEOUT, capabilities, codes
from tests.support.project import write_project

POSTS = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const recent = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    return (
      await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).collect()
    ).slice(0, 10);
  },
});
"""

USERS = """
import { query } from "./_generated/server";

export const byEmail = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("users").withIndex("by_mail").first();
  },
});
"""


async def _pull(session, uri: str, previous: str | None = None):
    return await asyncio.wait_for(
        session.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous
            )
        ),
        TIMEOUT,
    )


async def test_document_pull_with_result_ids(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS, "users.ts": USERS})
    session = await start(root, caps=capabilities(pull=True))
    client = session.client
    uri = session.open("convex/posts.ts")
    report = await _pull(session, uri)
    assert report.kind == "full"
    assert codes(report.items) == ["unbounded-collect"]
    assert report.items[0].range == session.range_of(uri, "collect()")
    assert report.result_id
    again = await _pull(session, uri, report.result_id)
    assert again.kind == "unchanged" and again.result_id == report.result_id
    session.replace(uri, "collect()\n    ).slice(0, 10)", "take(10)\n    )")
    after = await _pull(session, uri, report.result_id)
    assert after.kind == "full" and after.result_id != report.result_id
    assert codes(after.items) == []
    # Pull clients are never pushed to.
    await session.roundtrip()
    assert not [p for p in client.published if p.uri == uri]


async def test_workspace_pull_reports_files_that_are_not_open(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS, "users.ts": USERS})
    session = await start(root, caps=capabilities(pull=True))
    open_uri = session.open("convex/posts.ts")
    report = await asyncio.wait_for(
        session.client.workspace_diagnostic_async(
            types.WorkspaceDiagnosticParams(previous_result_ids=[])
        ),
        TIMEOUT,
    )
    by_uri = {item.uri: item for item in report.items}
    assert open_uri not in by_uri  # open documents are pulled one by one
    users = by_uri[session.uri("convex/users.ts")]
    assert users.kind == "full" and codes(users.items) == ["unknown-index"]
    assert users.version is None
    schema = by_uri[session.uri("convex/schema.ts")]
    assert "unused-index" in codes(schema.items)
    # Asking again with the result ids: nothing changed.
    again = await asyncio.wait_for(
        session.client.workspace_diagnostic_async(
            types.WorkspaceDiagnosticParams(
                previous_result_ids=[
                    types.PreviousResultId(uri=i.uri, value=i.result_id) for i in report.items
                ]
            )
        ),
        TIMEOUT,
    )
    assert {item.kind for item in again.items} == {"unchanged"}


async def test_schema_edit_asks_pull_clients_to_refresh(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS, "users.ts": USERS})
    session = await start(root, caps=capabilities(pull=True))
    client = session.client
    users = session.open("convex/users.ts")
    before = await _pull(session, users)
    assert codes(before.items) == ["unknown-index"]
    refreshes = client.diagnostic_refresh_count
    schema = session.open("convex/schema.ts")
    session.replace(schema, '.index("by_email", ["email"])', '.index("by_mail", ["email"])')
    await client.wait_until(
        lambda: client.diagnostic_refresh_count > refreshes, "a diagnostic refresh"
    )
    after = await _pull(session, users, before.result_id)
    assert after.kind == "full" and codes(after.items) == []
