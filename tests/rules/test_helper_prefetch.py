"""Prefetching the calls of a helper that only reads: exact output, applicability, still parses,
finding gone, idempotent, and refusals with their reasons."""

from __future__ import annotations

import textwrap

import pytest

from convex_xray.engine.findings import Applicability
from tests.support.project import check_project, error_nodes, run_fix, write_project

RULE = "n-plus-one-read"
HEADER = (
    'import { query, mutation } from "./_generated/server";\nimport { v } from "convex/values";\n'
)


def _module(body: str) -> str:
    return HEADER + textwrap.dedent(body)


def _findings(project):
    _, result = check_project(project, select=[RULE])
    return [f for f in result.findings if f.rule == RULE]


# (before, after, applicability, the title's end)
CASES = {
    # The helper only reads: calling it once per distinct key before the loop returns what each
    # item's call returned. The lookup's cast keeps the helper's own type (`null` included).
    "a read-only helper in a query's for-of: safe": (
        """
        async function getPersonWithUser(ctx: QueryCtx, personId: Id<"persons">) {
          const person = await ctx.db.get(personId);
          if (!person) return null;
          const user = await ctx.db.get(person.userId);
          return { ...person, user };
        }

        export const feed = query({
          args: { eventId: v.id("events") },
          handler: async (ctx, args) => {
            const memberships = await ctx.db.query("memberships").withIndex("by_event", (q) => q.eq("eventId", args.eventId)).take(50);
            const out = [];
            for (const membership of memberships) {
              const memberData = await getPersonWithUser(ctx, membership.personId);
              out.push({ membership, memberData });
            }
            return out;
          },
        });
        """,
        """
        async function getPersonWithUser(ctx: QueryCtx, personId: Id<"persons">) {
          const person = await ctx.db.get(personId);
          if (!person) return null;
          const user = await ctx.db.get(person.userId);
          return { ...person, user };
        }

        export const feed = query({
          args: { eventId: v.id("events") },
          handler: async (ctx, args) => {
            const memberships = await ctx.db.query("memberships").withIndex("by_event", (q) => q.eq("eventId", args.eventId)).take(50);
            const out = [];
            const personIdKeys = Array.from(
              new Set(memberships.map((membership) => membership.personId)),
            );
            const personWithUserResults = await Promise.all(
              personIdKeys.map((key) => getPersonWithUser(ctx, key)),
            );
            const personWithUserByPersonId = new Map(
              personIdKeys.map((key, i) => [key, personWithUserResults[i]]),
            );
            for (const membership of memberships) {
              const memberData = personWithUserByPersonId.get(membership.personId) as (typeof personWithUserResults)[number];
              out.push({ membership, memberData });
            }
            return out;
          },
        });
        """,
        Applicability.SAFE,
        "Prefetch `getPersonWithUser` results for the unique keys before the loop (one `Promise.all`, then a Map lookup)",
    ),
    # It throws for a missing user: with the calls made together, another item's error may be
    # the one thrown; and the loop inserts, which the helper might read.
    "a helper that throws, in a loop that inserts: unsafe, both named": (
        """
        async function requireUser(ctx: MutationCtx, userId: Id<"users">) {
          const user = await ctx.db.get(userId);
          if (!user) throw new Error("no user");
          return user;
        }

        export const notify = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            for (const post of posts) {
              const author = await requireUser(ctx, post.authorId);
              await ctx.db.insert("notifications", { userId: author._id, postId: post._id });
            }
          },
        });
        """,
        """
        async function requireUser(ctx: MutationCtx, userId: Id<"users">) {
          const user = await ctx.db.get(userId);
          if (!user) throw new Error("no user");
          return user;
        }

        export const notify = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const authorIdKeys = Array.from(
              new Set(posts.map((post) => post.authorId)),
            );
            const userResults = await Promise.all(
              authorIdKeys.map((key) => requireUser(ctx, key)),
            );
            const userByAuthorId = new Map(
              authorIdKeys.map((key, i) => [key, userResults[i]]),
            );
            for (const post of posts) {
              const author = userByAuthorId.get(post.authorId) as (typeof userResults)[number];
              await ctx.db.insert("notifications", { userId: author._id, postId: post._id });
            }
          },
        });
        """,
        Applicability.UNSAFE,
        "unsafe: the loop may insert what `requireUser` reads, and the reads now run before the loop's writes; "
        "when several items fail, another item's error may be the one thrown",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_helper_prefetch_exact_output(tmp_path, name):
    before, after, applicability, title = CASES[name]
    project = write_project(tmp_path / "app", {"feed.ts": _module(before)})
    path = project / "convex" / "feed.ts"
    (finding,) = _findings(project)
    assert finding.fix is not None and finding.fix.applicability is applicability
    assert finding.fix.title.endswith(title)
    unsafe = applicability is Applicability.UNSAFE
    run_fix(project, [RULE], unsafe=unsafe)
    assert path.read_text() == _module(after)
    assert error_nodes(path) == 0
    assert _findings(project) == []
    run_fix(project, [RULE], unsafe=unsafe)
    assert path.read_text() == _module(after), "a second --fix must change nothing"


HELPERS = """
async function loadUser(ctx: any, id: any) {
  return await ctx.db.get(id);
}
async function touchUser(ctx: any, id: any) {
  await ctx.db.patch(id, { seenAt: 1 });
  return await ctx.db.get(id);
}
async function callsOut(ctx: any, id: any) {
  await ctx.runQuery("users:get", { id });
  return await ctx.db.get(id);
}
async function viaUnknown(ctx: any, id: any) {
  await somewhereElse(ctx, id);
  return await ctx.db.get(id);
}
async function pair(ctx: any, a: any, b: any) {
  return [await ctx.db.get(a), await ctx.db.get(b)];
}
async function byObject(ctx: any, args: any) {
  return await ctx.db.get(args.id);
}
async function enrich(ctx: any, post: any) {
  return { ...post, author: await ctx.db.get(post.authorId) };
}
"""

# (the loop's statement, why no prefetch)
REFUSED = {
    "the helper writes": ("out.push(await touchUser(ctx, post.authorId));", "(it may write)"),
    "the helper runs another function": (
        "out.push(await callsOut(ctx, post.authorId));",
        "(it runs other functions, schedules or fetches)",
    ),
    "the helper calls one not in the workspace": (
        "out.push(await viaUnknown(ctx, post.authorId));",
        "(it calls `somewhereElse`, which is not found)",
    ),
    "two arguments depend on the item": (
        "out.push(await pair(ctx, post.authorId, post.editorId));",
        "(several of its arguments depend on the item)",
    ),
    "the item's values in an object": (
        "out.push(await byObject(ctx, { id: post.authorId }));",
        "(it takes the item's values in an object, not one key)",
    ),
    "an argument computed by a call": (
        "out.push(await loadUser(ctx, String(post.authorId)));",
        "(an argument is computed by a call)",
    ),
}

# (the loop's statement, why no prefetch) where the refusal is about the key itself
REFUSED_KEYS = {
    "a key with a fallback array: a new `[]` per item, which no Map lookup finds": (
        "out.push(await loadUser(ctx, post.tagIds ?? []));",
        "the key builds a new object or array each time it runs",
    ),
    "a key with a fallback object": (
        "out.push(await loadUser(ctx, post.meta || {}));",
        "the key builds a new object or array each time it runs",
    ),
}


@pytest.mark.parametrize("name", [*REFUSED, *REFUSED_KEYS])
def test_no_helper_prefetch_when_it_could_change_what_happens(tmp_path, name):
    statement, reason = {**REFUSED, **REFUSED_KEYS}[name]
    module = _module(
        HELPERS
        + f"""
export const feed = query({{
  args: {{}},
  handler: async (ctx) => {{
    const posts = await ctx.db.query("posts").take(20);
    const out = [];
    for (const post of posts) {{
      {statement}
    }}
    return out;
  }},
}});
"""
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    (finding,) = _findings(project)
    fixes = [f for f in (finding.fix, *finding.alternatives) if f is not None]
    assert not any(" results for the unique keys" in f.title for f in fixes)
    assert reason in finding.message


def test_a_map_over_documents_passed_whole_is_left_alone(tmp_path):
    # `Promise.all(posts.map((post) => enrich(ctx, post)))` already runs the calls together and
    # distinct documents never repeat: a prefetch would gain nothing, so none is offered.
    module = _module(
        HELPERS
        + """
export const feed = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(20);
    return await Promise.all(posts.map((post) => enrich(ctx, post)));
  },
});
"""
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    (finding,) = _findings(project)
    assert finding.fix is None
    assert "(called once per item, already together)" in finding.message


def test_ids_mapped_through_a_read_only_helper_are_deduplicated(tmp_path):
    module = _module(
        HELPERS
        + """
export const feed = query({
  args: { userIds: v.array(v.id("users")) },
  handler: async (ctx, args) => {
    return await Promise.all(args.userIds.map((userId) => loadUser(ctx, userId)));
  },
});
"""
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    (finding,) = _findings(project)
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "const userIdKeys = Array.from(new Set(args.userIds));" in text
    assert "userIdKeys.map((key) => loadUser(ctx, key))" in text
    assert "userByUserId.get(userId) as (typeof userResults)[number]" in text
    assert error_nodes(project / "convex" / "feed.ts") == 0
