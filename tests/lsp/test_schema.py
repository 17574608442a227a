"""The schema drives other files' findings: edits in the editor and on disk republish them."""

from __future__ import annotations

from lsprotocol import types

from tests.lsp.harness import codes
from tests.support.project import write_project

USERS = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const byMail = query({
  args: { email: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db.query("users").withIndex("by_mail", (q) => q.eq("email", args.email)).first();
  },
});
"""


async def test_unsaved_schema_edits_republish_dependent_documents(start, tmp_path):
    root = write_project(tmp_path / "app", {"users.ts": USERS})
    session = await start(root)
    client = session.client
    users = session.open("convex/users.ts")
    assert codes(await client.diagnostics_for(users, version=1)) == ["unknown-index"]
    schema = session.open("convex/schema.ts")
    await client.diagnostics_for(schema, version=1)
    count = len(client.published)
    # Rename the index in the editor, without saving: users.ts is fine now.
    version = session.replace(schema, '"by_email"', '"by_mail"')
    await client.diagnostics_for(schema, version=version, after=count)
    assert codes(await client.diagnostics_for(users, version=1, after=count)) == []
    # And back: the finding returns.
    count = len(client.published)
    session.replace(schema, '"by_mail"', '"by_email"')
    assert codes(await client.diagnostics_for(users, version=1, after=count)) == ["unknown-index"]


async def test_schema_changed_on_disk_republishes_open_documents(start, tmp_path):
    root = write_project(tmp_path / "app", {"users.ts": USERS})
    session = await start(root)
    client = session.client
    users = session.open("convex/users.ts")
    assert codes(await client.diagnostics_for(users, version=1)) == ["unknown-index"]
    path = root / "convex" / "schema.ts"
    path.write_text(path.read_text().replace('"by_email"', '"by_mail"'))
    count = len(client.published)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=session.uri("convex/schema.ts"), type=types.FileChangeType.Changed
                )
            ]
        )
    )
    assert codes(await client.diagnostics_for(users, version=1, after=count)) == []


async def test_a_new_file_on_disk_counts_for_unused_indexes(start, tmp_path):
    root = write_project(tmp_path / "app", {"users.ts": USERS})
    session = await start(root)
    client = session.client
    schema = session.open("convex/schema.ts")
    before = await client.diagnostics_for(schema, version=1)
    unused = [d for d in before if d.code == "unused-index" and "by_postId" in d.message]
    assert unused
    (root / "convex" / "comments.ts").write_text(
        'import { query } from "./_generated/server";\n'
        'import { v } from "convex/values";\n'
        "export const forPost = query({\n"
        '  args: { postId: v.id("posts") },\n'
        '  handler: (ctx, args) => ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.postId)).take(5),\n'
        "});\n"
    )
    count = len(client.published)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=session.uri("convex/comments.ts"), type=types.FileChangeType.Created
                )
            ]
        )
    )
    after = await client.diagnostics_for(schema, version=1, after=count)
    assert not [d for d in after if d.code == "unused-index" and "by_postId" in d.message]


async def test_config_file_change_reconfigures(start, tmp_path):
    root = write_project(tmp_path / "app", {"users.ts": USERS})
    session = await start(root)
    client = session.client
    users = session.open("convex/users.ts")
    assert codes(await client.diagnostics_for(users, version=1)) == ["unknown-index"]
    (root / "convex-xray.toml").write_text('ignore = ["unknown-index"]\n')
    count = len(client.published)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=(root / "convex-xray.toml").as_uri(), type=types.FileChangeType.Created
                )
            ]
        )
    )
    assert codes(await client.diagnostics_for(users, version=1, after=count)) == []


async def test_closed_schema_follows_index_usage_in_a_saved_document(start, tmp_path):
    """The problems view shows closed files too: using an unused index in an open document
    clears schema.ts's `unused-index` once the document is saved."""
    root = write_project(tmp_path / "app", {"users.ts": USERS})
    session = await start(root)
    client = session.client
    schema_uri = session.uri("convex/schema.ts")

    def unused_by_post_id(params) -> bool:
        return any(
            d.code == "unused-index" and "by_postId" in d.message for d in params.diagnostics
        )

    published = [p for p in client.published if p.uri == schema_uri]
    assert published and unused_by_post_id(published[-1])  # pushed after indexing, file closed
    users = session.open("convex/users.ts")
    await client.diagnostics_for(users, version=1)
    count = len(client.published)
    session.insert(
        users,
        "    return await",
        '    await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", "p" as any)).take(1);\n',
    )
    session.save(users)
    await client.wait_until(
        lambda: any(
            p.uri == schema_uri and not unused_by_post_id(p) for p in client.published[count:]
        ),
        "schema.ts republished without the by_postId finding",
    )
