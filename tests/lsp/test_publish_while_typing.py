"""What the client is sent while someone types into a file several rules fire on: per version,
each diagnostic's range, code, message, severity, tags and related locations, and at the end
the quick fixes offered for each diagnostic, held to a snapshot (`snapshots/publish_while_typing.json`).

Keystroke speed work (what a publish carries, what a slice check builds) must leave all of
it as it was. Regenerate after an intended change of a rule's message or fix:
`CONVEX_XRAY_UPDATE_SNAPSHOTS=1 pytest tests/lsp/test_publish_while_typing.py`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.lsp.harness import TIMEOUT, position_at
from tests.lsp.test_diagnostics import POSTS
from tests.support.project import FEED_SCHEMA, write_project

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "publish_while_typing.json"

FEED = (
    """
import { action, query, mutation } from "./_generated/server";
import { v } from "convex/values";

export const feed = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    const posts = await ctx.db
      .query("posts")
      .withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId))
      .collect();
    const out = [];
    for (const post of posts) {
      const author = await ctx.db.get(post.authorId);
      const comments = await ctx.db
        .query("comments")
        .withIndex("by_postId", (q) => q.eq("postId", post._id))
        .collect();
      out.push({ post, author, comments: comments.length });
    }
    return out;
  },
});
"""
    # (the two queries test_diagnostics.py opens, so both files see the same findings there)
    + POSTS.split('import { v } from "convex/values";\n', 1)[1]
    + """
export const ping = action({
  args: { url: v.string() },
  handler: async (ctx, args) => {
    const response = await fetch(args.url);
    return response.status;
  },
});

export const drafts = mutation({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    const all = await ctx.db.query("posts").filter((q) => q.eq(q.field("orgId"), args.orgId)).collect();
    for (const post of all) {
      await ctx.db.patch(post._id, { status: "draft" });
    }
  },
});
"""
)

# (where, what is typed there one character at a time): another per-item read in the loop
# (the N+1 finding's message, cost and fix change with it), and a new query in another handler.
# Each prefix is a version; most do not parse.
TYPED = [
    ("      out.push(", "const org = await ctx.db.get(post.orgId);\n      "),
    ("    return posts;", "const more = await ctx.db.query(\"comments\").collect();\n    "),
]


def _range(r: types.Range) -> list[int]:
    return [r.start.line, r.start.character, r.end.line, r.end.character]


def _record(root: Path, diagnostic: types.Diagnostic) -> dict[str, Any]:
    """What the client shows of a diagnostic (URIs relative to the project)."""
    prefix = root.resolve().as_uri() + "/"
    return {
        "range": _range(diagnostic.range),
        "code": diagnostic.code,
        "message": diagnostic.message,
        "severity": int(diagnostic.severity or 0),
        "tags": [int(t) for t in diagnostic.tags or []],
        "docs": diagnostic.code_description.href if diagnostic.code_description else None,
        "source": diagnostic.source,
        "related": [
            [r.location.uri.removeprefix(prefix), _range(r.location.range), r.message]
            for r in diagnostic.related_information or []
        ],
    }


def _edit_count(edit: types.WorkspaceEdit | None) -> int:
    if edit is None:
        return 0
    count = sum(len(items) for items in (edit.changes or {}).values())
    return count + sum(len(c.edits) for c in edit.document_changes or [] if isinstance(c, types.TextDocumentEdit))


async def test_what_typing_publishes_and_offers_matches_the_snapshot(start, tmp_path):
    root = write_project(tmp_path / "app", {"feed.ts": FEED}, schema=FEED_SCHEMA)
    session = await start(root)
    client = session.client
    uri = session.open("convex/feed.ts")
    published = {1: await client.diagnostics_for(uri, version=1)}
    for needle, typed in TYPED:
        at = session.texts[uri].index(needle)
        for offset, char in enumerate(typed):
            where = position_at(session.texts[uri], at + offset, session.encoding)
            version = session.edit(uri, where, where, char)
            published[version] = await client.diagnostics_for(uri, version=version)
    records = {version: [_record(root, d) for d in found] for version, found in published.items()}
    for found in published.values():
        for diagnostic in found:
            # Fixes do not travel with the diagnostic (docs/lsp-contract.md): code actions
            # find the finding again by code and range.
            assert diagnostic.data == {"version": diagnostic.data["version"], "ruleCode": diagnostic.data["ruleCode"]}
    last = max(published)
    actions: list[list[Any]] = []
    for diagnostic in published[last]:
        result = await asyncio.wait_for(
            client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=diagnostic.range,
                    context=types.CodeActionContext(diagnostics=[diagnostic]),
                )
            ),
            TIMEOUT,
        )
        titles = []
        for action in result or []:
            assert isinstance(action, types.CodeAction)
            titles.append(action.title)
            if action.command is not None:
                continue  # "Show documentation"
            if action.edit is None and action.data is not None:
                action = await asyncio.wait_for(client.code_action_resolve_async(action), TIMEOUT)
            assert _edit_count(action.edit) > 0, (diagnostic.code, action.title)  # a quick fix applies an edit
        actions.append([diagnostic.code, _range(diagnostic.range), titles])
    digests = {
        str(version): hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()[:16]
        for version, found in sorted(records.items())
    }
    got = {"versions": digests, "last": records[last], "actions": actions}
    if os.environ.get("CONVEX_XRAY_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert got["last"] == expected["last"]
    assert got["actions"] == expected["actions"]
    changed = [v for v in expected["versions"] if got["versions"].get(v) != expected["versions"][v]]
    assert not changed and got["versions"].keys() == expected["versions"].keys(), (
        f"versions whose diagnostics differ from the snapshot: {changed}"
    )
    assert {r["code"] for r in records[last]} >= {
        "n-plus-one-read", "unbounded-collect", "unknown-index", "fetch-without-timeout", "filter-on-query"
    }
