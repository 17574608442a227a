"""Code lens: estimated reads per Convex function, against Convex's limits."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.lsp.harness import TIMEOUT
from tests.support.project import write_project

FEED = """
import { query } from "./_generated/server";
import { v } from "convex/values";

async function loadUser(ctx, userId) {
  return await ctx.db.get(userId);
}

export const feed = query({
  args: { authorId: v.id("users"), orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    const posts = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).take(10);
    const org = await ctx.db.get(args.orgId);
    const me = await loadUser(ctx, args.authorId);
    const items = [];
    for (const post of posts) {
      const author = await ctx.db.get(post.authorId);
      const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).take(3);
      items.push({ post, author, comments });
    }
    return { org, me, items };
  },
});

export const one = query({
  args: { id: v.id("posts") },
  handler: async (ctx, args) => ctx.db.get(args.id),
});

export const everything = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").withIndex("by_authorId").collect();
    return posts.length;
  },
});

export const none = query({
  args: {},
  handler: async () => 42,
});
"""


async def _lenses(session, uri: str) -> list[types.CodeLens]:
    result = await asyncio.wait_for(
        session.client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        ),
        TIMEOUT,
    )
    return list(result or [])


async def test_read_cost_lenses(start, tmp_path):
    root = write_project(tmp_path / "app", {"feed.ts": FEED})
    session = await start(root)
    uri = session.open("convex/feed.ts")
    await session.client.diagnostics_for(uri, version=1)
    lenses = await _lenses(session, uri)
    by_line = {lens.range.start.line: lens.command.title for lens in lenses}
    feed_line = session.position(uri, "export const feed").line
    author_line = session.position(uri, "const author").line + 1  # 1-based in the title
    assert by_line[feed_line] == (
        f"~3 + 2·N reads ≈ 23 reads (N = items of 'posts' = 10); N+1 at line {author_line} (hits Convex's 4,096 index-range limit at N≈2,048)"
    )
    assert by_line[session.position(uri, "export const one").line] == "~1 read"
    assert by_line[session.position(uri, "export const everything").line] == (
        "~1 read; 1 unbounded read (limit 32,000 documents / 16 MiB per function)"
    )
    assert session.position(uri, "export const none").line not in by_line  # no reads: no lens
    assert all(lens.command.command == "" for lens in lenses)  # a label, not a client command


ROSTER = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const roster = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    const members = await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).collect();
    return await Promise.all(members.map(async (m) => ({ m, posts: await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", m._id)).take(5) })));
  },
});
"""


async def test_the_lens_states_the_assumed_n_and_its_setting(start, tmp_path):
    # The same size the finding's cost uses, from `[cost]` in convex-xray.toml.
    root = write_project(tmp_path / "app", {"roster.ts": ROSTER})
    (root / "convex-xray.toml").write_text("[cost]\nper-tenant = 500\n", encoding="utf-8")
    session = await start(root)
    uri = session.open("convex/roster.ts")
    await session.client.diagnostics_for(uri, version=1)
    title = (await _lenses(session, uri))[0].command.title
    assert title.startswith("~1 + N reads ≈ 501 reads (N = items of 'members' assumed 500 ([cost] per-tenant))"), title


async def test_lenses_can_be_turned_off(start, tmp_path):
    root = write_project(tmp_path / "app", {"feed.ts": FEED})
    session = await start(root, init_options={"codeLens": {"enable": False}})
    uri = session.open("convex/feed.ts")
    await session.client.diagnostics_for(uri, version=1)
    assert await _lenses(session, uri) == []


def test_lens_says_what_n_counts():
    from convex_xray.engine.model import Loop
    from convex_xray.lsp.lens import Cost, explain_n

    def loop(collection: str | None, exempt: str | None = None) -> Loop:
        return Loop("for-of", None, 0, 0, collection, ("x",), False, exempt)  # type: ignore[arg-type]

    reads, calls = Cost(), Cost()
    assert explain_n((reads, calls)) == "N = items per loop"  # a `while` loop: nothing named
    reads.add(1, 1, 10, (loop("members"),))
    assert explain_n((reads, calls)) == "N = items of 'members'"
    reads.add(2, 1, 20, (loop("members"), loop("member.teams")))
    calls.add(1, 1, 30, (loop("[1, 2]", exempt="small literal"), loop("members")))
    assert explain_n((reads, calls)) == "N = items of 'members' / 'member.teams', each loop taken as N"


def test_plain_text_for_the_problems_panel():
    from convex_xray.lsp.convert import plain

    assert plain("Table `teams` has no index `by_org`; did you mean `by_orgId`?") == (
        "Table 'teams' has no index 'by_org'; did you mean 'by_orgId'?"
    )
    assert plain('matches on `"id"`, not `_id`') == "matches on \"id\", not '_id'"
    assert plain("no code here") == "no code here"
