"""The batch-fetch fix: exact output, still parses, diagnostic gone, idempotent, and refusals."""

from __future__ import annotations

import re
import textwrap

import pytest

from convex_xray.engine.findings import Applicability
from tests.support.project import check_project, error_nodes, run_fix, write_project

RULE = "n-plus-one-read"

CASES = {
    "a file where the app says callbacks lose their types (TS7006): the new ones say `: any` (typing them could cross tsc's depth limit again)": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const titles = posts.map((p) => p.title);
            return await Promise.all(posts.map((post) => ctx.db.get(post.authorId)));
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const titles = posts.map((p) => p.title);
            const authorIds = Array.from(
              new Set(posts.map((post: any) => post.authorId)),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById: Map<any, any> = new Map(
              authors
                .filter((doc: any) => doc !== null)
                .map((doc: any) => [doc._id, doc]),
            );
            return await Promise.all(posts.map((post) => (authorsById.get(post.authorId) ?? null)));
          },
        });
        """,
    ),
    "types lost in the file, a key the loop casts over an `any` collection: the Set takes the cast's type": (
        """
        export const names = query({
          args: { entries: v.any() },
          handler: async (ctx, args) => {
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const first = args.entries.find((e) => e.primary);
            return await Promise.all(
              args.entries.map(async (entry: any) => {
                const member = await ctx.db.get(entry.memberId as Id<"members">);
                return member?.name ?? null;
              }),
            );
          },
        });
        """,
        """
        export const names = query({
          args: { entries: v.any() },
          handler: async (ctx, args) => {
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const first = args.entries.find((e) => e.primary);
            const memberIds = Array.from(
              new Set<Id<"members">>(
                args.entries.map((entry: any) => entry.memberId as Id<"members">),
              ),
            );
            const members = await Promise.all(memberIds.map((id) => ctx.db.get(id)));
            const membersById: Map<any, any> = new Map(
              members
                .filter((doc: any) => doc !== null)
                .map((doc: any) => [doc._id, doc]),
            );
            return await Promise.all(
              args.entries.map(async (entry: any) => {
                const member = membersById.get(entry.memberId as Id<"members">) ?? null;
                return member?.name ?? null;
              }),
            );
          },
        });
        """,
    ),
    "types lost, a collection no type query names (a call): `(item: any)` and a Map of `any` as before": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const posts = (await ctx.db.query("posts").take(20)).map((p) => p);
            const out = [];
            for (const post of posts.slice(0, 5)) {
              const author = await ctx.db.get(post.authorId);
              out.push(author);
            }
            return out;
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const posts = (await ctx.db.query("posts").take(20)).map((p) => p);
            const out = [];
            const slicedPosts = posts.slice(0, 5);
            const authorIds = Array.from(
              new Set(slicedPosts.map((post: any) => post.authorId)),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById: Map<any, any> = new Map(
              authors
                .filter((doc: any) => doc !== null)
                .map((doc: any) => [doc._id, doc]),
            );
            for (const post of slicedPosts) {
              const author = authorsById.get(post.authorId) ?? null;
              out.push(author);
            }
            return out;
          },
        });
        """,
    ),
    "types lost in the file (at tsc's depth limit), a cast key over documents read through `ctx.db`: no type written (the Set infers the cast's)": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const recentlyPublishedPosts = await ctx.db.query("posts").take(20).then((p) => p);
            return await Promise.all(
              recentlyPublishedPosts.map((post) => ctx.db.get(post.originalAuthorMembershipId as Id<"memberships">)),
            );
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            // @ts-expect-error TS7006: the app's own callbacks lose their parameter types here
            const recentlyPublishedPosts = await ctx.db.query("posts").take(20).then((p) => p);
            const originalAuthorMembershipIds = Array.from(
              new Set(
                recentlyPublishedPosts.map((post: any) =>
                  post.originalAuthorMembershipId as Id<"memberships">,
                ),
              ),
            );
            const originalAuthorMemberships = await Promise.all(
              originalAuthorMembershipIds.map((id) => ctx.db.get(id)),
            );
            const originalAuthorMembershipsById: Map<any, any> = new Map(
              originalAuthorMemberships
                .filter((doc: any) => doc !== null)
                .map((doc: any) => [doc._id, doc]),
            );
            return await Promise.all(
              recentlyPublishedPosts.map((post) => (originalAuthorMembershipsById.get(post.originalAuthorMembershipId as Id<"memberships">) ?? null)),
            );
          },
        });
        """,
    ),
    "a next-line directive above the loop's statement keeps covering it: the prefetch goes above": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            // Join the authors.
            // @ts-expect-error TS2589: the app's own directive for this statement
            const authors = await Promise.all(
              posts.map((post) => ctx.db.get(post.authorId)),
            );
            return authors;
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const authorIds = Array.from(
              new Set(posts.map((post: any) => post.authorId)),
            );
            const authors2 = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById: Map<any, any> = new Map(
              authors2
                .filter((doc: any) => doc !== null)
                .map((doc: any) => [doc._id, doc]),
            );
            // Join the authors.
            // @ts-expect-error TS2589: the app's own directive for this statement
            const authors = await Promise.all(
              posts.map((post) => (authorsById.get(post.authorId) ?? null)),
            );
            return authors;
          },
        });
        """,
    ),
    "a helper whose ctx is `any`: the items of what it read are `any`, the new callback says so": (
        """
        export async function authorsOf(ctx: any, topic: string) {
          const posts = await ctx.db.query("posts").withIndex("by_topic", (q: any) => q.eq("topic", topic)).take(20);
          const out = [];
          for (const post of posts) {
            const author = await ctx.db.get(post.authorId);
            out.push(author);
          }
          return out;
        }
        """,
        """
        export async function authorsOf(ctx: any, topic: string) {
          const posts = await ctx.db.query("posts").withIndex("by_topic", (q: any) => q.eq("topic", topic)).take(20);
          const out = [];
          const authorIds = Array.from(
            new Set(posts.map((post: any) => post.authorId)),
          );
          const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
          const authorsById = new Map(
            authors
              .filter((doc: any) => doc !== null)
              .map((doc: any) => [doc._id, doc]),
          );
          for (const post of posts) {
            const author = authorsById.get(post.authorId) ?? null;
            out.push(author);
          }
          return out;
        }
        """,
    ),
    "an expression-bodied callback returning the read: the value replaces the promise": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            return await Promise.all(posts.map((post) => ctx.db.get(post.authorId)));
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            return await Promise.all(posts.map((post) => (authorsById.get(post.authorId) ?? null)));
          },
        });
        """,
    ),
    "reads as elements of an awaited Promise.all, one guarded": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const comments = await ctx.db.query("comments").take(20);
            return await Promise.all(
              comments.map(async (c) => {
                const [post, author] = await Promise.all([
                  ctx.db.get(c.postId),
                  c.authorId ? ctx.db.get(c.authorId) : Promise.resolve(null),
                ]);
                return { post, author };
              }),
            );
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const comments = await ctx.db.query("comments").take(20);
            const postIds = Array.from(new Set(comments.map((c) => c.postId)));
            const posts = await Promise.all(postIds.map((id) => ctx.db.get(id)));
            const postsById = new Map(
              posts.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            const authorIds = Array.from(
              new Set(comments.flatMap((c) => (c.authorId ? [c.authorId] : []))),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            return await Promise.all(
              comments.map(async (c) => {
                const [post, author] = await Promise.all([
                  postsById.get(c.postId) ?? null,
                  c.authorId ? authorsById.get(c.authorId) ?? null : Promise.resolve(null),
                ]);
                return { post, author };
              }),
            );
          },
        });
        """,
    ),
    "for-of, hoisted before the loop": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              out.push({ ...post, author });
            }
            return out;
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const post of posts) {
              const author = authorsById.get(post.authorId) ?? null;
              out.push({ ...post, author });
            }
            return out;
          },
        });
        """,
    ),
    "Promise.all(map) with spread and a table-qualified get": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            return await Promise.all(
              posts.map(async (post) => ({ ...post, author: await ctx.db.get("users", post.authorId) })),
            );
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const userIds = Array.from(new Set(posts.map((post) => post.authorId)));
            const users = await Promise.all(
              userIds.map((id) => ctx.db.get("users", id)),
            );
            const usersById = new Map(
              users.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            return await Promise.all(
              posts.map(async (post) => ({ ...post, author: usersById.get(post.authorId) ?? null })),
            );
          },
        });
        """,
    ),
    "optional id mirrors the guard; a clashing name gets a suffix": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const editors = 1;
            const posts = await ctx.db.query("posts").take(20);
            return await Promise.all(
              posts.map(async (p) => {
                const editor = p.editorId ? await ctx.db.get(p.editorId) : null;
                return { ...p, editor, editors };
              }),
            );
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const editors = 1;
            const posts = await ctx.db.query("posts").take(20);
            const editorIds = Array.from(
              new Set(posts.flatMap((p) => (p.editorId ? [p.editorId] : []))),
            );
            const editors2 = await Promise.all(editorIds.map((id) => ctx.db.get(id)));
            const editorsById = new Map(
              editors2.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            return await Promise.all(
              posts.map(async (p) => {
                const editor = p.editorId ? editorsById.get(p.editorId) ?? null : null;
                return { ...p, editor, editors };
              }),
            );
          },
        });
        """,
    ),
    "names follow English plurals (coach -> coaches)": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const sessions = await ctx.db.query("posts").take(20);
            const out = [];
            for (const s of sessions) {
              const coach = s.coachId ? await ctx.db.get(s.coachId) : null;
              out.push(coach);
            }
            return out;
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const sessions = await ctx.db.query("posts").take(20);
            const out = [];
            const coachIds = Array.from(
              new Set(sessions.flatMap((s) => (s.coachId ? [s.coachId] : []))),
            );
            const coaches = await Promise.all(coachIds.map((id) => ctx.db.get(id)));
            const coachesById = new Map(
              coaches.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const s of sessions) {
              const coach = s.coachId ? coachesById.get(s.coachId) ?? null : null;
              out.push(coach);
            }
            return out;
          },
        });
        """,
    ),
    "per-item index query prefetched by key": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).collect();
              out.push(comments.length);
            }
            return out;
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const postIdKeys = Array.from(new Set(posts.map((post) => post._id)));
            const commentsResults = await Promise.all(
              postIdKeys.map((key) =>
                ctx.db
                  .query("comments")
                  .withIndex("by_postId", (q) => q.eq("postId", key))
                  .collect(),
              ),
            );
            const commentsByPostId = new Map(
              postIdKeys.map((key, i) => [key, commentsResults[i]]),
            );
            for (const post of posts) {
              const comments = commentsByPostId.get(post._id) ?? [];
              out.push(comments.length);
            }
            return out;
          },
        });
        """,
    ),
    "every read of the loop in one fix, prefetched in the order they appear": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              const likes = await ctx.db.query("likes").withIndex("by_post", (q) => q.eq("postId", post._id)).collect();
              out.push({ ...post, author, likes: likes.length });
            }
            return out;
          },
        });
        """,
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            const postIdKeys = Array.from(new Set(posts.map((post) => post._id)));
            const likesResults = await Promise.all(
              postIdKeys.map((key) =>
                ctx.db
                  .query("likes")
                  .withIndex("by_post", (q) => q.eq("postId", key))
                  .collect(),
              ),
            );
            const likesByPostId = new Map(
              postIdKeys.map((key, i) => [key, likesResults[i]]),
            );
            for (const post of posts) {
              const author = authorsById.get(post.authorId) ?? null;
              const likes = likesByPostId.get(post._id) ?? [];
              out.push({ ...post, author, likes: likes.length });
            }
            return out;
          },
        });
        """,
    ),
    # A guard clause on the item (`if (!x.k) continue;`), both branches of an `if` on the
    # item, the right of `&&`: the prefetch mirrors each condition, so it reads exactly the
    # keys the loop reads.
    "guard clause, if/else on the item and &&, mirrored": (
        """
        export const feed = query({
          args: { orgId: v.id("orgs") },
          handler: async (ctx, args) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              if (!post.editorId) continue;
              const editor = await ctx.db.get(post.editorId);
              let reviewer = null;
              if (post.kind === "review") {
                reviewer = await ctx.db.get(post.reviewerId);
              } else {
                reviewer = await ctx.db.get(post.authorId);
              }
              const pinned = post.pinned && (await ctx.db.get(post.pinnedById));
              out.push({ editor, reviewer, pinned });
            }
            return out;
          },
        });
        """,
        """
        export const feed = query({
          args: { orgId: v.id("orgs") },
          handler: async (ctx, args) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const editorIds = Array.from(
              new Set(posts.flatMap((post) => (post.editorId ? [post.editorId] : []))),
            );
            const editors = await Promise.all(editorIds.map((id) => ctx.db.get(id)));
            const editorsById = new Map(
              editors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            const reviewerIds = Array.from(
              new Set(
                posts.flatMap((post) =>
                  (post.editorId && post.kind === "review" ? [post.reviewerId] : []),
                ),
              ),
            );
            const reviewers = await Promise.all(
              reviewerIds.map((id) => ctx.db.get(id)),
            );
            const reviewersById = new Map(
              reviewers.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            const authorIds = Array.from(
              new Set(
                posts.flatMap((post) =>
                  (post.editorId && post.kind !== "review" ? [post.authorId] : []),
                ),
              ),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            const pinnedByIds = Array.from(
              new Set(
                posts.flatMap((post) =>
                  (post.editorId && post.pinned ? [post.pinnedById] : []),
                ),
              ),
            );
            const pinnedBies = await Promise.all(
              pinnedByIds.map((id) => ctx.db.get(id)),
            );
            const pinnedBiesById = new Map(
              pinnedBies.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const post of posts) {
              if (!post.editorId) continue;
              const editor = editorsById.get(post.editorId) ?? null;
              let reviewer = null;
              if (post.kind === "review") {
                reviewer = reviewersById.get(post.reviewerId) ?? null;
              } else {
                reviewer = authorsById.get(post.authorId) ?? null;
              }
              const pinned = post.pinned && (pinnedBiesById.get(post.pinnedById) ?? null);
              out.push({ editor, reviewer, pinned });
            }
            return out;
          },
        });
        """,
    ),
    # A loop-invariant `.filter` is part of each key's query; a row count (`.then((rows) =>
    # rows.length)`) is prefetched as a count, 0 when absent (never: every key is fetched).
    "invariant filter and a row count": (
        """
        export const feed = query({
          args: { orgId: v.id("orgs") },
          handler: async (ctx, args) => {
            const events = await ctx.db.query("events").take(20);
            return await Promise.all(
              events.map(async (event) => {
                const memberCount = await ctx.db
                  .query("memberships")
                  .withIndex("by_event", (q) => q.eq("eventId", event._id))
                  .collect()
                  .then((members) => members.length);
                const access = await ctx.db
                  .query("access")
                  .withIndex("by_event", (q) => q.eq("eventId", event._id))
                  .filter((q) => q.eq(q.field("orgId"), args.orgId))
                  .first();
                return { memberCount, access };
              }),
            );
          },
        });
        """,
        """
        export const feed = query({
          args: { orgId: v.id("orgs") },
          handler: async (ctx, args) => {
            const events = await ctx.db.query("events").take(20);
            const eventIdKeys = Array.from(new Set(events.map((event) => event._id)));
            const membershipCounts = await Promise.all(
              eventIdKeys.map((key) =>
                ctx.db
                  .query("memberships")
                  .withIndex("by_event", (q) => q.eq("eventId", key))
                  .collect()
                  .then((members) => members.length),
              ),
            );
            const membershipCountsByEventId = new Map(
              eventIdKeys.map((key, i) => [key, membershipCounts[i]]),
            );
            const eventIdKeys2 = Array.from(new Set(events.map((event) => event._id)));
            const accessResults = await Promise.all(
              eventIdKeys2.map((key2) =>
                ctx.db
                  .query("access")
                  .withIndex("by_event", (q) => q.eq("eventId", key2))
                  .filter((q) => q.eq(q.field("orgId"), args.orgId))
                  .first(),
              ),
            );
            const accessByEventId = new Map(
              eventIdKeys2.map((key2, i) => [key2, accessResults[i]]),
            );
            return await Promise.all(
              events.map(async (event) => {
                const memberCount = membershipCountsByEventId.get(event._id) ?? 0;
                const access = accessByEventId.get(event._id) ?? null;
                return { memberCount, access };
              }),
            );
          },
        });
        """,
    ),
    # A collection made by copying array methods (`filter` with a pure callback, `slice`) is
    # bound once before the prefetch, and the loop iterates that: the same items, so the same
    # keys, computed once as in the original (the copy used to compute it twice).
    "a collection computed in place by copying methods": (
        """
        export const feed = query({
          args: { limit: v.number() },
          handler: async (ctx, args) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts.filter((p) => p.published).slice(0, args.limit)) {
              out.push(await ctx.db.get(post.authorId));
            }
            return out;
          },
        });
        """,
        """
        export const feed = query({
          args: { limit: v.number() },
          handler: async (ctx, args) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const slicedPosts = posts.filter((p) => p.published).slice(0, args.limit);
            const authorIds = Array.from(
              new Set(slicedPosts.map((post) => post.authorId)),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const post of slicedPosts) {
              out.push(authorsById.get(post.authorId) ?? null);
            }
            return out;
          },
        });
        """,
    ),
    # A computed collection is bound once before the prefetch (`_bindings`): evaluated once, as in
    # the original, and checked once by tsc (a copy repeated an error the app's header has).
    "a computed collection (a named predicate) is bound once, and the prefetch and the loop use the name": (
        """
        function isActive(e: { status: string }) {
          return e.status === "active";
        }

        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const enrollments = await ctx.db.query("enrollments").take(20);
            const out = [];
            for (const enrollment of enrollments.filter(isActive)) {
              const course = await ctx.db.get(enrollment.courseId);
              out.push(course);
            }
            return out;
          },
        });
""",
        """
        function isActive(e: { status: string }) {
          return e.status === "active";
        }

        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const enrollments = await ctx.db.query("enrollments").take(20);
            const out = [];
            const filteredEnrollments = enrollments.filter(isActive);
            const courseIds = Array.from(
              new Set(filteredEnrollments.map((enrollment) => enrollment.courseId)),
            );
            const courses = await Promise.all(courseIds.map((id) => ctx.db.get(id)));
            const coursesById = new Map(
              courses.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const enrollment of filteredEnrollments) {
              const course = coursesById.get(enrollment.courseId) ?? null;
              out.push(course);
            }
            return out;
          },
        });
        """,
    ),
    "two reads of one loop over a computed collection share its one binding": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts.filter((p) => p.published)) {
              const author = await ctx.db.get(post.authorId);
              const editor = await ctx.db.get(post.editorId);
              out.push({ author, editor });
            }
            return out;
          },
        });
""",
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const filteredPosts = posts.filter((p) => p.published);
            const authorIds = Array.from(
              new Set(filteredPosts.map((post) => post.authorId)),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            const editorIds = Array.from(
              new Set(filteredPosts.map((post) => post.editorId)),
            );
            const editors = await Promise.all(editorIds.map((id) => ctx.db.get(id)));
            const editorsById = new Map(
              editors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const post of filteredPosts) {
              const author = authorsById.get(post.authorId) ?? null;
              const editor = editorsById.get(post.editorId) ?? null;
              out.push({ author, editor });
            }
            return out;
          },
        });
        """,
    ),
    "a `.map` over a parenthesized `xs ?? []`: the name replaces the parentheses too": (
        """
        export const feed = query({
          args: { links: v.optional(v.array(v.object({ tagId: v.id("tags") }))) },
          handler: async (ctx, args) => {
            return await Promise.all(
              (args.links ?? []).map(async (link) => {
                const tag = await ctx.db.get(link.tagId);
                return tag?.name ?? null;
              }),
            );
          },
        });
""",
        """
        export const feed = query({
          args: { links: v.optional(v.array(v.object({ tagId: v.id("tags") }))) },
          handler: async (ctx, args) => {
            const links = args.links ?? [];
            const tagIds = Array.from(new Set(links.map((link) => link.tagId)));
            const tags = await Promise.all(tagIds.map((id) => ctx.db.get(id)));
            const tagsById = new Map(
              tags.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            return await Promise.all(
              links.map(async (link) => {
                const tag = tagsById.get(link.tagId) ?? null;
                return tag?.name ?? null;
              }),
            );
          },
        });
        """,
    ),
    "a next-line directive over the loop's header: the collection is copied, not moved above it": (
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            // @ts-expect-error TS2345: the app's own directive about this header
            for (const post of posts.filter((p) => p.published)) {
              out.push(await ctx.db.get(post.authorId));
            }
            return out;
          },
        });
""",
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const authorIds = Array.from(
              new Set(posts.filter((p) => p.published).map((post) => post.authorId)),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            // @ts-expect-error TS2345: the app's own directive about this header
            for (const post of posts.filter((p) => p.published)) {
              out.push(authorsById.get(post.authorId) ?? null);
            }
            return out;
          },
        });
        """,
    ),
}

REFUSED = {
    # (`const id = post.authorId;` first is batch-fetched since run 11: the prefetch computes
    # the value again per item; see test_a_key_bound_by_a_const_of_the_item_is_batch_fetched.)
    "id computed earlier in the iteration by a call": """
        for (const post of posts) {
          const id = pickAuthor(post);
          out.push(await ctx.db.get(id));
        }
    """,
    "id rebound earlier in the iteration": """
        for (const post of posts) {
          let id = post.authorId;
          if (post.editorId) id = post.editorId;
          out.push(await ctx.db.get(id));
        }
    """,
    "the loop mutates the item": """
        for (const post of posts) {
          post.authorId = post.editorId;
          out.push(await ctx.db.get(post.authorId));
        }
    """,
    "the collection is a call of unknown code": """
        for (const post of visible(posts)) {
          out.push(await ctx.db.get(post.authorId));
        }
    """,
    "a copying call whose callback calls": """
        for (const post of posts.filter((p) => isVisible(p))) {
          out.push(await ctx.db.get(post.authorId));
        }
    """,
    # Each evaluation makes new entries: keyed by the entry itself, the lookup would miss.
    "keyed by the item of a collection made afresh": """
        const byPost = Object.fromEntries(posts.map((p) => [p._id, p.authorId]));
        for (const authorId of Object.values(byPost)) {
          out.push(await ctx.db.get(authorId));
        }
    """,
    # Items with the same key would share one document where each had its own copy.
    "the loop changes the fetched document": """
        for (const post of posts) {
          const author = await ctx.db.get(post.authorId);
          if (author) author.name = author.name + "!";
          out.push(author);
        }
    """,
    "the loop changes the object holding the fetched document": """
        for (const post of posts) {
          const row = { post, author: await ctx.db.get(post.authorId) };
          row.author!.name = "x";
          out.push(row);
        }
    """,
    "Object.assign on the fetched document": """
        for (const post of posts) {
          const author = await ctx.db.get(post.authorId);
          Object.assign(author!, { seen: true });
          out.push(author);
        }
    """,
    "delete on the fetched document": """
        for (const post of posts) {
          const author = await ctx.db.get(post.authorId);
          delete (author as any).email;
          out.push(author);
        }
    """,
    "the loop pushes into the fetched rows": """
        for (const post of posts) {
          const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).collect();
          comments.push(null as any);
          out.push(comments.length);
        }
    """,
    # Nothing awaits these callbacks: their reads finish after the loop (or never).
    "forEach with an async callback": """
        const names: Record<string, string> = {};
        posts.forEach(async (post) => {
          const author = await ctx.db.get(post.authorId);
          if (author) names[post._id] = author.name;
        });
        out.push(names);
    """,
    "map whose promises nobody awaits": """
        const names: Record<string, string> = {};
        posts.map(async (post) => {
          const author = await ctx.db.get(post.authorId);
          if (author) names[post._id] = author.name;
        }).length;
        out.push(names);
    """,
    "Promise.allSettled: one failed read is one rejected item": """
        out.push(await Promise.allSettled(posts.map(async (post) => await ctx.db.get(post.authorId))));
    """,
    # The prefetch would run where the loop does not (and `page.page` may be null).
    "map under a ternary branch": """
        const page = posts.length ? { page: posts } : null;
        out.push(page ? await Promise.all(page.page.map(async (p) => ({ a: await ctx.db.get(p.authorId) }))) : []);
    """,
    "map on the right of &&": """
        const page = posts.length ? { page: posts } : null;
        out.push(page && (await Promise.all(page.page.map(async (p) => ({ a: await ctx.db.get(p.authorId) })))));
    """,
    "map in the body of a braceless if": """
        const page = posts.length ? { page: posts } : null;
        if (page) return await Promise.all(page.page.map(async (p) => ({ a: await ctx.db.get(p.authorId) })));
    """,
    "for-of as the body of a braceless if": """
        const some = posts.length > 100 ? null : posts;
        if (some) for (const post of some) {
          out.push(await ctx.db.get(post.authorId));
        }
    """,
    "nested arrays of a spread copy are still shared": """
        for (const post of posts) {
          const author = { ...(await ctx.db.get(post.authorId)) };
          author.tags.push("x");
          out.push(author);
        }
    """,
    # `for…of` takes any iterable, `.map` only arrays (and an iterator would be used up).
    "for-of over a Map": """
        const byAuthor = new Map(posts.map((p) => [p.authorId, p]));
        for (const [authorId, post] of byAuthor) {
          out.push({ post, author: await ctx.db.get(authorId) });
        }
    """,
    "for-of over a Set-typed variable": """
        const ids: ReadonlySet<Id<"users">> = posts as any;
        for (const id of ids) {
          out.push(await ctx.db.get(id));
        }
    """,
    "for-of over an iterator": """
        const rows = new Map(posts.map((p) => [p._id, p])).values();
        for (const post of rows) {
          out.push(await ctx.db.get(post.authorId));
        }
    """,
    "map called through an optional chain": """
        const maybe = posts.length ? posts : undefined;
        out.push(await Promise.all(maybe?.map(async (p) => ({ a: await ctx.db.get(p.authorId) })) ?? []));
    """,
    "for-of directly in a switch case": """
        switch (posts.length) {
          case 0:
            break;
          default:
            for (const post of posts) {
              out.push(await ctx.db.get(post.authorId));
            }
        }
    """,
    "the read's promise is stored, not awaited where it is made": """
        const pending = posts.map((post) => ctx.db.get(post.authorId));
        out.push(...(await Promise.all(pending)));
    """,
    "the query also uses a value computed in the loop": """
        for (const post of posts) {
          const status = post.status + "!";
          out.push(
            await ctx.db
              .query("posts")
              .withIndex("by_orgId_and_status", (q) => q.eq("orgId", post.orgId).eq("status", status))
              .first(),
          );
        }
    """,
    # Reading for every item would read keys the code only reads once it has checked them.
    "an early exit on a condition that narrows the key": """
        for (const post of posts) {
          if (!post.editorId || out.length > 3) break;
          out.push(await ctx.db.get(post.editorId));
        }
    """,
    "a condition on loop state around a cast key": """
        for (const post of posts) {
          if (out.length < 3) {
            out.push(await ctx.db.get(post.ref as Id<"users">));
          }
        }
    """,
    "a type guard on the item in a condition on loop state": """
        for (const post of posts) {
          if (isDraft(post) || out.length > 3) {
            out.push(await ctx.db.get(post.authorId));
          }
        }
    """,
    # `x.kind === "a"` narrows the item (a discriminant): its keys may not exist on the others.
    "a discriminant of the item in a condition on loop state": """
        for (const post of posts) {
          if (post.kind === "a" || out.length > 3) {
            out.push(await ctx.db.get(post.authorId));
          }
        }
    """,
    "the read in a catch clause": """
        for (const post of posts) {
          try {
            out.push(post.title.length);
          } catch {
            out.push(await ctx.db.get(post.authorId));
          }
        }
    """,
    "labeled for-of": """
        outer: for (const post of posts) {
          out.push(await ctx.db.get(post.authorId));
        }
    """,
}


def _batch_fetches(finding) -> bool:
    """Whether a finding offers a batch-fetch (a sequential `for…of` may still be offered the
    unsafe concurrent rewrite, which keeps one read per item; tests/rules/test_loop_fixes.py)."""
    fixes = [f for f in (finding.fix, *finding.alternatives) if f is not None]
    return any(not f.title.startswith("Run the iterations concurrently") for f in fixes)


def _module(body: str) -> str:
    return 'import { query, mutation } from "./_generated/server";\nimport { v } from "convex/values";\n' + textwrap.dedent(body)


@pytest.mark.parametrize("name", list(CASES))
def test_batch_fetch_exact_output(tmp_path, name):
    before, after = CASES[name]
    project = write_project(tmp_path / "app", {"feed.ts": _module(before)})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    fixes = [f.fix for f in result.findings if f.rule == RULE]
    assert fixes and all(f is not None and f.applicability is Applicability.SAFE for f in fixes)
    run_fix(project, [RULE])
    assert path.read_text() == _module(after)
    assert error_nodes(path) == 0
    _, again = check_project(project, select=[RULE])
    assert [f for f in again.findings if f.rule == RULE] == []
    run_fix(project, [RULE])
    assert path.read_text() == _module(after), "a second --fix must change nothing"


@pytest.mark.parametrize("name", list(REFUSED))
def test_batch_fetch_refuses_when_meaning_could_change(tmp_path, name):
    body = textwrap.indent(textwrap.dedent(REFUSED[name]).strip("\n"), "    ")
    module = _module(
        "export const feed = query({\n  args: {},\n  handler: async (ctx) => {\n"
        '    const posts = await ctx.db.query("posts").take(20);\n    const out = [];\n'
        f"{textwrap.indent(body, '  ')}\n    return out;\n  }},\n}});\n"
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    findings = [f for f in result.findings if f.rule == RULE]
    assert findings, "the N+1 is still reported"
    for finding in findings:
        assert not _batch_fetches(finding)


@pytest.mark.parametrize(
    "function",
    [
        "function enrich(ctx: any, posts: any[]) {\n"
        "  return Promise.all(posts.map(async (p) => ({ ...p, author: await ctx.db.get(p.authorId) })));\n"
        "}\n",
        "const enrich = (ctx: any, posts: any[]) => {\n"
        "  return Promise.all(posts.map(async (p) => ({ ...p, author: await ctx.db.get(p.authorId) })));\n"
        "};\n",
    ],
    ids=["function declaration", "arrow function"],
)
def test_no_prefetch_into_a_function_that_is_not_async(tmp_path, function):
    # The prefetch awaits; `await` outside an async function does not compile.
    module = _module(
        function
        + "export const feed = query({\n  args: {},\n  handler: async (ctx) => "
        + 'enrich(ctx, await ctx.db.query("posts").take(20)),\n});\n'
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    findings = [f for f in result.findings if f.rule == RULE]
    assert findings, "the N+1 is still reported"
    for finding in findings:
        assert not _batch_fetches(finding)


@pytest.mark.parametrize("param_type", ["Set<Id<\"users\">>", "Iterable<{ authorId: Id<\"users\"> }>"])
def test_for_of_over_a_non_array_parameter_gets_advice_only(tmp_path, param_type):
    item = "p.authorId" if "Iterable" in param_type else "p"
    module = _module(
        f"""
        async function load(ctx: QueryCtx, items: {param_type}) {{
          const out = [];
          for (const p of items) {{
            out.push(await ctx.db.get({item}));
          }}
          return out;
        }}
        export const feed = query({{ args: {{}}, handler: async (ctx) => load(ctx, []) }});
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    findings = [f for f in result.findings if f.rule == RULE]
    assert findings, "the N+1 is still reported"
    for finding in findings:
        assert not _batch_fetches(finding)


def test_both_branches_of_a_ternary_are_batched_each_under_its_condition(tmp_path):
    module = _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              out.push(post.editorId ? await ctx.db.get(post.editorId) : await ctx.db.get(post.authorId));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    # One finding for the loop: the first read, the other one as a related location.
    [finding] = result.findings
    assert path.read_bytes()[finding.span.start : finding.span.end].decode() == "ctx.db.get(post.editorId)"
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    assert any("db.get(post.authorId)" in r.message for r in finding.related)
    run_fix(project, [RULE])
    text = path.read_text()
    assert "posts.flatMap((post) => (post.editorId ? [post.editorId] : []))" in text
    assert "posts.flatMap((post) => (!post.editorId ? [post.authorId] : []))" in text
    assert "post.editorId ? editorsById.get(post.editorId) ?? null : authorsById.get(post.authorId) ?? null" in text
    assert error_nodes(path) == 0


def test_mutation_that_writes_what_it_reads_gets_only_an_unsafe_fix(tmp_path):
    module = _module(
        """
        export const touch = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              await ctx.db.patch(post.authorId, { seen: true, name: author?.name });
            }
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"touch.ts": module})
    _, result = check_project(project, select=[RULE])
    findings = [f for f in result.findings if f.rule == RULE]
    assert len(findings) == 1
    fix = findings[0].fix
    assert fix is not None and fix.applicability is Applicability.UNSAFE
    assert "unsafe: the loop may patch documents the read returns" in fix.title
    before = (project / "convex" / "touch.ts").read_text()
    run_fix(project, [RULE])  # safe fixes only: nothing to apply
    assert (project / "convex" / "touch.ts").read_text() == before


def test_several_reads_per_item_each_get_a_map_and_converge(tmp_path):
    module = _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              const org = await ctx.db.get(post.orgId);
              out.push({ author, org });
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    run_fix(project, [RULE])
    text = path.read_text()
    assert "authorsById.get(post.authorId) ?? null" in text
    assert "orgsById.get(post.orgId) ?? null" in text
    assert "await ctx.db.get(post." not in text
    assert error_nodes(path) == 0
    _, again = check_project(project, select=[RULE])
    assert [f for f in again.findings if f.rule == RULE] == []


def test_crlf_file_keeps_crlf(tmp_path):
    before, _ = CASES["for-of, hoisted before the loop"]
    module = _module(before).replace("\n", "\r\n")
    project = write_project(tmp_path / "app", {})
    path = project / "convex" / "feed.ts"
    path.write_bytes(module.encode())
    run_fix(project, [RULE])
    data = path.read_bytes()
    assert b"authorsById" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert error_nodes(path) == 0


WRITES_OUTSIDE_A_CONVEX_FUNCTION = {
    "class static method inserting into the table it reads": """
        export class Importer {
          static async run(ctx: MutationCtx, names: string[]) {
            for (const name of names) {
              const existing = await ctx.db.query("users").withIndex("by_email", (q) => q.eq("email", name)).first();
              if (!existing) {
                await ctx.db.insert("users", { name, email: name });
              }
            }
          }
        }
        """,
    "class static method writing through another static method": """
        export class Importer {
          static async run(ctx: MutationCtx, names: string[]) {
            for (const name of names) {
              const existing = await ctx.db.query("users").withIndex("by_email", (q) => q.eq("email", name)).first();
              if (!existing) {
                await Importer.create(ctx, name);
              }
            }
          }
          static async create(ctx: MutationCtx, name: string) {
            await ctx.db.insert("users", { name, email: name });
          }
        }
        """,
    "plain helper writing through a closure": """
        export async function importAll(ctx: MutationCtx, names: string[]) {
          const add = async (name: string) => {
            await ctx.db.insert("users", { name, email: name });
          };
          for (const name of names) {
            const existing = await ctx.db.query("users").withIndex("by_email", (q) => q.eq("email", name)).first();
            if (!existing) {
              await add(name);
            }
          }
        }
        """,
}


@pytest.mark.parametrize("name", list(WRITES_OUTSIDE_A_CONVEX_FUNCTION))
def test_no_batch_fetch_when_the_loop_may_write_outside_a_convex_function(tmp_path, name):
    """The issue's shape: a loop that inserts into the table it reads, in a class method or a
    helper (no Convex function kind to go by), is not batched safely: a repeated key would
    insert twice after the fix."""
    module = 'import type { MutationCtx } from "./_generated/server";\n' + textwrap.dedent(
        WRITES_OUTSIDE_A_CONVEX_FUNCTION[name]
    )
    project = write_project(tmp_path / "app", {"importer.ts": module})
    _, result = check_project(project, select=[RULE])
    findings = [f for f in result.findings if f.rule == RULE]
    assert findings, "the N+1 is still reported"
    # At most unsafe, saying so: a read before the loop misses the loop's own inserts.
    for finding in findings:
        for fix in (finding.fix, *finding.alternatives):
            assert fix is None or (fix.applicability is Applicability.UNSAFE and "unsafe" in fix.title)
    before = (project / "convex" / "importer.ts").read_text()
    run_fix(project, [RULE])
    assert (project / "convex" / "importer.ts").read_text() == before


def test_a_read_only_loop_in_a_class_method_is_still_batched(tmp_path):
    module = 'import type { QueryCtx } from "./_generated/server";\n' + textwrap.dedent(
        """
        export class Feed {
          static async authors(ctx: QueryCtx, posts: { authorId: Id<"users"> }[]) {
            const out = [];
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              out.push(author);
            }
            return out;
          }
        }
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    findings = [f for f in result.findings if f.rule == RULE]
    assert findings and all(f.fix is not None and f.fix.applicability is Applicability.SAFE for f in findings)


def test_two_loops_in_one_function_hoist_distinct_names(tmp_path):
    """Both loops are fixed in one pass; the second prefetch must not redeclare the first's
    names (TypeScript's TS2451, seen on real apps before names were shared across fixes)."""
    module = _module(
        """
        export const pair = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const drafts = await ctx.db.query("posts").take(5);
            const a = [];
            for (const post of posts) {
              a.push(await ctx.db.get(post.authorId));
            }
            const b = [];
            for (const draft of drafts) {
              b.push(await ctx.db.get(draft.authorId));
            }
            return { a, b };
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"pair.ts": module})
    path = project / "convex" / "pair.ts"
    run_fix(project, [RULE])
    text = path.read_text()
    declared = re.findall(r"const (\w+) =", text)
    assert len(declared) == len(set(declared)), declared
    assert "const authorsById = " in text and "const authorsById2 = " in text
    assert "await ctx.db.get(post." not in text and "await ctx.db.get(draft." not in text
    assert error_nodes(path) == 0
    _, again = check_project(project, select=[RULE])
    assert [f for f in again.findings if f.rule == RULE] == []


def test_each_read_left_out_of_the_fix_says_why(tmp_path):
    # One loop, two reads: the get is batch-fetched, the query (keyed by two item fields)
    # is not, and its related location says why; the finding keeps the fix.
    module = _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              const vote = await ctx.db
                .query("votes")
                .withIndex("by_post_user", (q) => q.eq("postId", post._id).eq("userId", post.authorId))
                .first();
              out.push({ author, vote });
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and len(finding.fix.edits) == 2
    assert "Not batch-fetched automatically" not in finding.message
    notes = [r.message for r in finding.related if r.message.startswith("also once per item")]
    assert notes == [
        'also once per item: `db.query("votes").withIndex("by_post_user", …).first()` (not batch-fetched '
        "automatically: the query is not keyed by one index equality on the item)"
    ]


def test_a_loop_with_no_fix_says_why_in_the_message(tmp_path):
    module = _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              if (!post.editorId || out.length > 5) break;
              out.push(await ctx.db.get(post.editorId));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is None
    assert finding.message.endswith(
        "Not batch-fetched automatically: the loop can stop early (`break`, `return`, `throw`) on a condition that narrows the key."
    )


UNSAFE_BEFORE = """
export const touch = mutation({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(20);
    const names = [];
    const seen = new Set<string>();
    for (const post of posts) {
      if (seen.has(post.authorId)) continue;
      seen.add(post.authorId);
      try {
        const author = await ctx.db.get(post.authorId);
        names.push(author?.name);
      } catch {
        names.push(null);
      }
      if (names.length >= 5) break;
    }
    return names;
  },
});
"""

UNSAFE_AFTER = """
export const touch = mutation({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(20);
    const names = [];
    const seen = new Set<string>();
    const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
    const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
    const authorsById = new Map(
      authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
    );
    for (const post of posts) {
      if (seen.has(post.authorId)) continue;
      seen.add(post.authorId);
      try {
        const author = authorsById.get(post.authorId) ?? null;
        names.push(author?.name);
      } catch {
        names.push(null);
      }
      if (names.length >= 5) break;
    }
    return names;
  },
});
"""


def test_a_read_for_only_some_items_gets_an_unsafe_prefetch_that_names_the_difference(tmp_path):
    # A condition on loop state (`seen`), an early `break` and a `try`: the prefetch reads for
    # every item, so it reads more (never something else) and a failing read is not caught.
    project = write_project(tmp_path / "app", {"touch.ts": _module(UNSAFE_BEFORE)})
    path = project / "convex" / "touch.ts"
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    fix = finding.fix
    assert fix is not None and fix.applicability is Applicability.UNSAFE
    assert fix.title == (
        "Batch-fetch `authors` before the loop (one `Promise.all`, then a Map lookup); unsafe: a read that fails "
        "is no longer caught by the loop's `catch`; it also reads for items an earlier `continue` or `return` "
        "skips; it also reads for items after the loop stops early (`break`)"
    )
    run_fix(project, [RULE])  # safe fixes only: nothing changes
    assert path.read_text() == _module(UNSAFE_BEFORE)
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == _module(UNSAFE_AFTER)
    assert error_nodes(path) == 0
    _, again = check_project(project, select=[RULE])
    assert [f for f in again.findings if f.rule == RULE] == []
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == _module(UNSAFE_AFTER), "a second --fix must change nothing"


STANDARD_BEFORE = """\
import { query } from './_generated/server'

export const feed = query({
    args: {},
    handler: async (ctx) => {
        const posts = await ctx.db.query('posts').take(20)
        const out = []
        for (const post of posts) {
            const comments = await ctx.db
                .query('comments')
                .withIndex('by_postId', (q) => q.eq('postId', post._id))
                .collect()
            out.push(comments.length)
        }
        return out
    }
})
"""

STANDARD_AFTER = """\
import { query } from './_generated/server'

export const feed = query({
    args: {},
    handler: async (ctx) => {
        const posts = await ctx.db.query('posts').take(20)
        const out = []
        const postIdKeys = Array.from(new Set(posts.map((post) => post._id)))
        const commentsResults = await Promise.all(
            postIdKeys.map((key) =>
                ctx.db
                    .query('comments')
                    .withIndex('by_postId', (q) => q.eq('postId', key))
                    .collect()
            )
        )
        const commentsByPostId = new Map(
            postIdKeys.map((key, i) => [key, commentsResults[i]])
        )
        for (const post of posts) {
            const comments = commentsByPostId.get(post._id) ?? []
            out.push(comments.length)
        }
        return out
    }
})
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_prefetch_follows_the_file_style(tmp_path, newline):
    # Four spaces, single quotes, no semicolons, no trailing commas: the prefetch is written
    # that way, broken where it passes 80 columns, with the file's line breaks.
    project = write_project(tmp_path / "app", {"feed.ts": ""})
    path = project / "convex" / "feed.ts"
    path.write_bytes(STANDARD_BEFORE.replace("\n", newline).encode())
    run_fix(project, [RULE])
    assert path.read_bytes().decode() == STANDARD_AFTER.replace("\n", newline)
    assert error_nodes(path) == 0
    run_fix(project, [RULE])
    assert path.read_bytes().decode() == STANDARD_AFTER.replace("\n", newline)


def test_no_semicolon_file_keeps_one_before_a_statement_starting_with_a_bracket(tmp_path):
    # `const x = …` then a line starting with `(` would call the new value: keep the `;`.
    before = STANDARD_BEFORE.replace(
        "        for (const post of posts) {\n"
        "            const comments = await ctx.db\n"
        "                .query('comments')\n"
        "                .withIndex('by_postId', (q) => q.eq('postId', post._id))\n"
        "                .collect()\n"
        "            out.push(comments.length)\n"
        "        }\n",
        "        ;(await Promise.all(posts.map(async (p) => ({ p, a: await ctx.db.get(p.authorId) })))).forEach((x) => out.push(x))\n",
    )
    assert before != STANDARD_BEFORE
    project = write_project(tmp_path / "app", {"feed.ts": ""})
    path = project / "convex" / "feed.ts"
    path.write_text(before)
    run_fix(project, [RULE])
    text = path.read_text()
    assert "        const authorsById = new Map(\n" in text
    assert "        )\n        ;(await Promise.all(" in text
    assert "const authorIds = Array.from(new Set(posts.map((p) => p.authorId)))\n" in text
    assert error_nodes(path) == 0


_FEED = """
export const feed = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(20);
    return await Promise.all(posts.map((post) => ctx.db.get(post.authorId)));
  },
});
"""

# Where the app's TS2589 directives all sit on function references (the generated `api` is
# too deep, as in groupi), the new callbacks in other files are annotated but the items and the
# Map keep the documents' types, so a later read keyed by a fetched document's field still
# knows its table.
_FEED_TYPED = """
export const feed = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(20);
    const authorIds = Array.from(
      new Set(posts.map((post: (typeof posts)[number]) => post.authorId)),
    );
    const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
    const authorsById = new Map<string, NonNullable<(typeof authors)[number]>>(
      authors
        .filter((doc: any) => doc !== null)
        .map((doc: any) => [doc._id, doc]),
    );
    return await Promise.all(posts.map((post) => (authorsById.get(post.authorId) ?? null)));
  },
});
"""

# Where one of them is about the data model (on a query, a read, a validator: ConvexPress),
# the whole program is at the depth limit: the items say `any` and the Map has no type
# arguments (it is declared the `Map<any, any>` its `(doc: any)` pairs make it), as in a file
# that carries its own directive.
_FEED_AT_LIMIT = """
export const feed = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(20);
    const authorIds = Array.from(
      new Set(posts.map((post: any) => post.authorId)),
    );
    const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
    const authorsById: Map<any, any> = new Map(
      authors
        .filter((doc: any) => doc !== null)
        .map((doc: any) => [doc._id, doc]),
    );
    return await Promise.all(posts.map((post) => (authorsById.get(post.authorId) ?? null)));
  },
});
"""

ROOT_DIRECTIVES = {
    "on a function reference (a const)": (
        """
        import { internal } from "./_generated/api";
        export async function schedule(ctx: any) {
          // @ts-expect-error TS2589: type instantiation is excessively deep
          const sendFn = internal.emails.send;
          await ctx.scheduler.runAfter(0, sendFn, {});
        }
        """,
        _FEED_TYPED,
    ),
    "on a function reference in a call, below an eslint comment": (
        """
        import { internal } from "./_generated/api";
        export async function count(ctx: any): Promise<number> {
          // eslint-disable-next-line @typescript-eslint/ban-ts-comment
          // @ts-ignore - Type instantiation is excessively deep (TS2589)

          return await ctx.runQuery(internal.stats.count, {});
        }
        """,
        _FEED_TYPED,
    ),
    "on a query definition": (
        """
        // @ts-expect-error TS2589: type instantiation is excessively deep
        export const other = query({ args: {}, handler: async () => null });
        """,
        _FEED_AT_LIMIT,
    ),
    "one on a function reference, one on a read": (
        """
        import { internal } from "./_generated/api";
        export async function schedule(ctx: any) {
          // @ts-expect-error TS2589: type instantiation is excessively deep
          const sendFn = internal.emails.send;
          // @ts-expect-error TS2589: type instantiation is excessively deep
          const rows = await ctx.db.query("posts").take(5);
          return { sendFn, rows };
        }
        """,
        _FEED_AT_LIMIT,
    ),
    "a member named like a function reference is not one (`ctx.internal`)": (
        """
        export async function other(ctx: any) {
          // @ts-expect-error TS2589: type instantiation is excessively deep
          return ctx.internal.posts;
        }
        """,
        _FEED_AT_LIMIT,
    ),
}


@pytest.mark.parametrize("name", list(ROOT_DIRECTIVES))
def test_a_ts2589_directive_elsewhere_in_the_root_annotates_the_new_callbacks(tmp_path, name):
    # TS2589 is the whole program's condition: callbacks lose their types in files that say
    # nothing about it. Where the directives are says whether the data model is at the limit.
    deep, after = ROOT_DIRECTIVES[name]
    project = write_project(tmp_path / "app", {"deep.ts": _module(deep), "feed.ts": _module(_FEED)})
    path = project / "convex" / "feed.ts"
    run_fix(project, [RULE])
    assert path.read_text() == _module(after)
    assert error_nodes(path) == 0
    run_fix(project, [RULE])
    assert path.read_text() == _module(after)


def test_a_ts2589_directive_in_another_root_changes_nothing(tmp_path):
    # The depth limit is one program's (one Convex root's): another app's directive about its
    # data model leaves this one's items untouched (and, with no directive here, unannotated).
    other = write_project(tmp_path / "repo" / "admin", {"deep.ts": _module(ROOT_DIRECTIVES["on a query definition"][0])})
    project = write_project(tmp_path / "repo" / "site", {"feed.ts": _module(_FEED)})
    assert other.parent == project.parent
    run_fix(tmp_path / "repo", [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));" in text
    assert "new Map(" in text and ": any" not in text


def test_a_guard_clause_that_throws_is_mirrored_and_the_early_stop_named(tmp_path):
    # `if (!x.ref) throw …` is where `x.ref` is known to be set: the prefetch keeps the check
    # (type-correct keys) and reads for the items after the throw too (unsafe, said).
    module = _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              if (!post.editorId) throw new Error("no editor");
              out.push(await ctx.db.get(post.editorId));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE
    assert finding.fix.title.endswith("unsafe: it also reads for items after the loop stops early (`throw`)")
    run_fix(project, [RULE], unsafe=True)
    text = path.read_text()
    assert "posts.flatMap((post) => (post.editorId ? [post.editorId] : []))" in text
    assert "out.push(editorsById.get(post.editorId) ?? null);" in text
    assert error_nodes(path) == 0
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == text


def test_guard_clauses_are_mirrored_in_the_order_they_run(tmp_path):
    # Three guard clauses in a row: tree-sitter returns the last two swapped (captures are not
    # in source order); the prefetch's condition lists them as the code reads.
    module = _module(
        """
        export const feed = query({
          args: { cutoff: v.number() },
          handler: async (ctx, args) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              if (!post.editorId) continue;
              if (post.hidden) continue;
              if (post.createdAt < args.cutoff) continue;
              out.push(await ctx.db.get(post.editorId));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    run_fix(project, [RULE], unsafe=True)
    text = " ".join(path.read_text().split())
    assert "(post.editorId && !post.hidden && !(post.createdAt < args.cutoff) ? [post.editorId] : [])" in text


def test_the_safe_part_of_a_loop_is_the_fix_and_the_whole_the_unsafe_alternative(tmp_path):
    # The author read runs for every item (safe); the editor read only after a `continue` on
    # the author (a value from the loop): prefetching it reads for skipped items (unsafe). The
    # safe part stays the fix, so `--fix` and fix-all still batch what they can.
    module = _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              if (author === null) continue;
              const editor = await ctx.db.get(post.editorId);
              out.push({ author, editor });
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    assert finding.fix.title == "Batch-fetch `authors` before the loop (one `Promise.all`, then a Map lookup)"
    (whole,) = finding.alternatives
    assert whole.applicability is Applicability.UNSAFE
    assert whole.title.startswith("Batch-fetch `authors` and `editors` before the loop")
    assert whole.title.endswith("unsafe: it also reads for items an earlier `continue` or `return` skips")
    run_fix(project, [RULE])
    text = path.read_text()
    assert "const author = authorsById.get(post.authorId) ?? null;" in text
    assert "const editor = await ctx.db.get(post.editorId);" in text
    run_fix(project, [RULE], unsafe=True)
    text = path.read_text()
    assert "const editor = editorsById.get(post.editorId) ?? null;" in text
    assert error_nodes(path) == 0
    _, again = check_project(project, select=[RULE])
    assert [f for f in again.findings if f.rule == RULE] == []
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == text


def test_a_condition_that_only_reads_a_field_of_the_item_may_be_dropped(tmp_path):
    # `post.email?.trim() !== wanted` narrows nothing the key needs: the prefetch may read for
    # every post (unsafe, said); the key is not the one the condition tests.
    module = _module(
        """
        export const feed = query({
          args: { wanted: v.string() },
          handler: async (ctx, args) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              if (post.email?.trim() !== args.wanted && out.length > 3) continue;
              out.push(await ctx.db.get(post.authorId));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE
    assert finding.fix.title.endswith("unsafe: it also reads for items an earlier `continue` or `return` skips")
    run_fix(project, [RULE], unsafe=True)
    text = path.read_text()
    assert "const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));" in text
    assert "out.push(authorsById.get(post.authorId) ?? null);" in text
    assert error_nodes(path) == 0


def test_no_helper_prefetch_when_the_call_uses_a_value_computed_in_the_loop(tmp_path):
    # `baseSlug` is declared in the loop: a prefetch before the loop cannot name it.
    module = _module(
        """
        async function ensureUniqueSlug(ctx: any, base: string, id: string) {
          return await ctx.db.query("posts").withIndex("by_slug", (q: any) => q.eq("slug", base)).first();
        }
        export const slugs = mutation({
          args: {},
          handler: async (ctx) => {
            const users = await ctx.db.query("users").take(20);
            const out = [];
            for (const user of users) {
              const baseSlug = user.name.toLowerCase();
              out.push(await ensureUniqueSlug(ctx, baseSlug, user._id));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    findings = [f for f in result.findings if f.rule == RULE]
    assert findings, "the N+1 is still reported"
    assert all(not _batch_fetches(f) for f in findings)
    assert any("uses a value computed inside the loop" in f.message for f in findings)


@pytest.mark.parametrize(
    ("collection", "named"),
    [
        ("posts", "(typeof posts)[number]"),
        ("args.posts", "(typeof args.posts)[number]"),
        ("(page.items)", "(typeof page.items)[number]"),
        # Not a name a type query takes, or not the type of the name: no type query.
        ("page?.items", None),
        ("this.posts", None),
        ("posts!", None),
        ("posts as Post[]", None),
        ("posts.slice(0, 5)", None),
        ("rows[0]", None),
    ],
)
def test_the_item_type_query_names_only_plain_paths(collection, named):
    from pathlib import Path

    from convex_xray.engine.source import SourceFile
    from convex_xray.rules.support.untyped import item_type_query

    source = SourceFile(Path("a.ts"), f"const x = {collection};\n")
    declarator = source.root.named_children[0].named_children[0]
    assert item_type_query(declarator.child_by_field_name("value")) == named


def test_type_arguments_break_one_per_line_with_no_trailing_comma():
    # TypeScript takes no trailing comma in type arguments (TS1009), even where the file's
    # style puts one after call arguments.
    from convex_xray.engine import style as layout
    from convex_xray.rules.support.batch_fetch import _type_arguments

    doc = _type_arguments("Map", ["string", "NonNullable<(typeof originalAuthorMemberships)[number]>"])
    narrow = layout.CodeStyle(width=40, trailing_commas=True)
    assert layout.render(("const byId = new ", doc, "()"), narrow) == (
        "const byId = new Map<\n"
        "  string,\n"
        "  NonNullable<(typeof originalAuthorMemberships)[number]>\n"
        ">()"
    )
    assert layout.render(_type_arguments("Map", ["string", "number"]), narrow) == "Map<string, number>"


# At the data model's depth limit the prefetched value may be `any` (the per-key query in the
# prefetch's callback crosses the limit where the loop's did not), and so is the lookup: the
# app's own un-annotated callbacks on the read's result would become implicit `any` (TS7006).
_DEEP_DATA_MODEL = ROOT_DIRECTIVES["on a query definition"][0]
_DEEP_REFERENCE = ROOT_DIRECTIVES["on a function reference (a const)"][0]

CALLBACKS_ON_RESULT = {
    "a query's rows filtered by an un-annotated callback": (
        """
        export const counts = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).collect();
              out.push(comments.filter((comment) => comment.body !== "").length);
            }
            return out;
          },
        });
        """,
        "comments",
    ),
    "a chain on the rows: the second callback is un-annotated": (
        """
        export const counts = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            return await Promise.all(
              posts.map(async (post) => {
                const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).collect();
                return comments.filter((c: any) => c.body !== "").map((c) => c.body);
              }),
            );
          },
        });
        """,
        "comments",
    ),
    "a fetched document's member mapped by an un-annotated callback": (
        """
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              out.push(author?.name.split(" ").map((part) => part.trim()));
            }
            return out;
          },
        });
        """,
        "author",
    ),
}


@pytest.mark.parametrize("name", list(CALLBACKS_ON_RESULT))
def test_at_the_depth_limit_no_prefetch_whose_result_types_the_apps_own_callbacks(tmp_path, name):
    body, result_name = CALLBACKS_ON_RESULT[name]
    project = write_project(tmp_path / "app", {"deep.ts": _module(_DEEP_DATA_MODEL), "feed.ts": _module(body)})
    _, result = check_project(project, select=[RULE])
    [finding] = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is None
    assert f"Not batch-fetched automatically: the app's own callbacks on `{result_name}` take their parameter types" in finding.message
    before = (project / "convex" / "feed.ts").read_text()
    run_fix(project, [RULE], unsafe=True)
    assert (project / "convex" / "feed.ts").read_text() == before


@pytest.mark.parametrize("name", list(CALLBACKS_ON_RESULT))
def test_outside_the_depth_limit_the_same_loops_are_prefetched(tmp_path, name):
    # Directives only on function references (the generated `api` is too deep, not the data
    # model), or none: the prefetched values keep their types, and the callbacks theirs.
    body, _ = CALLBACKS_ON_RESULT[name]
    for deep in (_DEEP_REFERENCE, None):
        files = {"feed.ts": _module(body)} | ({"deep.ts": _module(deep)} if deep else {})
        project = write_project(tmp_path / ("ref" if deep else "none"), files)
        _, result = check_project(project, select=[RULE])
        [finding] = [f for f in result.findings if f.rule == RULE]
        assert finding.fix is not None and "Not batch-fetched" not in finding.message


@pytest.mark.parametrize(
    "use",
    [
        "out.push(comments.filter((comment: any) => comment.body !== \"\").length);",  # annotated
        "out.push(comments.length);",  # no callback
        "for (const comment of comments) out.push(comment.body);",  # `for…of` over `any` is fine
    ],
)
def test_at_the_depth_limit_results_without_untyped_callbacks_are_still_prefetched(tmp_path, use):
    body = CALLBACKS_ON_RESULT["a query's rows filtered by an un-annotated callback"][0].replace(
        'out.push(comments.filter((comment) => comment.body !== "").length);', use
    )
    assert use in body
    project = write_project(tmp_path / "app", {"deep.ts": _module(_DEEP_DATA_MODEL), "feed.ts": _module(body)})
    _, result = check_project(project, select=[RULE])
    [finding] = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None, finding.message


# The app's own `@ts-expect-error`/`@ts-ignore` on a line the read spans: the error it expects
# may be the read's, which a prefetch would move out from under it (a new error, and an unused
# directive: TS2578). A directive over an expression or statement holding the read (`return
# Promise.all(…)`) is kept covering it, the prefetch goes above: there the error is not
# provably the read's (on ConvexPress, refusing those cost 38 reads for 4 errors: run 11).
_UNDER_DIRECTIVE = {
    "above the `.map(…)` inside the statement, below a comment line on the read's own line": """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            return Promise.all(
              // @ts-expect-error TS2589: type instantiation is excessively deep
              // (the generated api)
              posts.map(async (post) => ({ ...post, author: await ctx.db.get(post.authorId) })),
            );
          },
        });
        """,
    "above the read's own line in a `for…of`": """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              // @ts-ignore
              const author = await ctx.db.get(post.authorId);
              out.push(author);
            }
            return out;
          },
        });
        """,
}

_NOT_UNDER_DIRECTIVE = {
    "above the `return Promise.all(…)` that holds the read (not provably the read's error)": """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            // @ts-expect-error TS2589: type instantiation is excessively deep
            return Promise.all(
              posts.map(async (post) => ({ ...post, author: await ctx.db.get(post.authorId) })),
            );
          },
        });
        """,
    "over another line of the loop body": """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              // @ts-expect-error TS2345: the app's own
              out.push(post.title as number);
              const author = await ctx.db.get(post.authorId);
              out.push(author);
            }
            return out;
          },
        });
        """,
    "over the statement before the loop": """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            // @ts-expect-error TS2589: type instantiation is excessively deep
            const posts = await ctx.db.query("posts").take(20);
            return Promise.all(
              posts.map(async (post) => ({ ...post, author: await ctx.db.get(post.authorId) })),
            );
          },
        });
        """,
}


@pytest.mark.parametrize("name", list(_UNDER_DIRECTIVE))
def test_no_prefetch_of_a_read_under_the_apps_own_directive(tmp_path, name):
    project = write_project(tmp_path / "app", {"feed.ts": _module(_UNDER_DIRECTIVE[name])})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    [finding] = [f for f in result.findings if f.rule == RULE]
    directive_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if "@ts-" in line)
    assert (
        f"Not batch-fetched automatically: the read is under the app's own `@ts-expect-error`/`@ts-ignore` "
        f"(line {directive_line}), which a prefetch would move it out of." in finding.message
    )
    # No batch-fetch; at most the concurrent rewrite of a `for…of`, which keeps the read in place.
    assert finding.fix is None or "concurrently" in finding.fix.title


@pytest.mark.parametrize("name", list(_NOT_UNDER_DIRECTIVE))
def test_a_directive_that_does_not_cover_the_read_keeps_the_prefetch(tmp_path, name):
    project = write_project(tmp_path / "app", {"feed.ts": _module(_NOT_UNDER_DIRECTIVE[name])})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    [finding] = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and "Batch-fetch" in finding.fix.title, finding.message
    run_fix(project, [RULE], unsafe=True)
    text = path.read_text()
    assert "authorsById" in text and error_nodes(path) == 0


def test_a_lint_directive_above_the_loop_keeps_covering_it(tmp_path):
    # `eslint-disable-next-line` is not about types: the prefetch goes above it, and it goes on
    # covering the loop's first line.
    body = """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            // eslint-disable-next-line no-await-in-loop
            for (const post of posts) {
              out.push(await ctx.db.get(post.authorId));
            }
            return out;
          },
        });
        """
    project = write_project(tmp_path / "app", {"feed.ts": _module(body)})
    path = project / "convex" / "feed.ts"
    run_fix(project, [RULE])
    text = path.read_text()
    assert "    // eslint-disable-next-line no-await-in-loop\n    for (const post of posts) {" in text
    assert text.index("authorsById = new Map") < text.index("eslint-disable-next-line")


# A key the loop body first binds to a `const` computed from the item (`const authorId =
# post.authorId`): the prefetch computes that value per item, the lookup keeps the name.
def test_a_key_bound_by_a_const_of_the_item_is_batch_fetched(tmp_path):
    module = _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const authorId = post.authorId;
              if (post.status === "draft") continue;
              const author = await ctx.db.get(authorId);
              out.push({ post, author });
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    [finding] = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE, finding.message
    run_fix(project, [RULE])
    assert path.read_text() == _module(
        """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            const authorIds = Array.from(
              new Set(
                posts.flatMap((post) =>
                  (post.status !== "draft" ? [post.authorId] : []),
                ),
              ),
            );
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const post of posts) {
              const authorId = post.authorId;
              if (post.status === "draft") continue;
              const author = authorsById.get(authorId) ?? null;
              out.push({ post, author });
            }
            return out;
          },
        });
        """
    )
    assert error_nodes(path) == 0
    run_fix(project, [RULE])
    assert "authorsById" in path.read_text() and path.read_text().count("new Map(") == 1


LOCAL_KEYS_REFUSED = {
    "declared with `let`": "let authorId = post.authorId;",
    "computed by a call": "const authorId = String(post.authorId) as Id<\"users\">;",
    "not from the item": "const authorId = args.authorId;",
    "declared under a condition": "if (post.authorId) { var authorId = post.authorId; }",
}


@pytest.mark.parametrize("name", list(LOCAL_KEYS_REFUSED))
def test_a_local_key_the_prefetch_cannot_compute_again_is_refused(tmp_path, name):
    module = _module(
        """
        import type { Id } from "./_generated/dataModel";
        export const feed = query({
          args: { authorId: v.id("users") },
          handler: async (ctx, args) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              DECLARATION
              out.push(await ctx.db.get(authorId));
            }
            return out;
          },
        });
        """
    ).replace("DECLARATION", LOCAL_KEYS_REFUSED[name])
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    [finding] = [f for f in result.findings if f.rule == RULE]
    assert "Not batch-fetched automatically" in finding.message
    assert finding.fix is None or "Batch-fetch" not in finding.fix.title


def test_a_local_key_whose_item_field_the_loop_changes_is_refused(tmp_path):
    module = _module(
        """
        export const feed = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              const authorId = post.authorId;
              post.status = "seen";
              out.push(await ctx.db.get(authorId));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    [finding] = [f for f in result.findings if f.rule == RULE]
    assert "Not batch-fetched automatically" in finding.message and finding.fix is None


def test_a_javascript_file_gets_no_type_syntax(tmp_path):
    # The same helper in a `.ts` file gets `(post: any)` and `(doc: any)` (its `ctx` is not
    # typed); in JavaScript an annotation is an error (TS8010) and tsc reports no implicit
    # `any`, so the prefetch is plain JavaScript.
    before = textwrap.dedent(
        """\
        export async function authorsOf(ctx, topic) {
          const posts = await ctx.db.query("posts").withIndex("by_topic", (q) => q.eq("topic", topic)).take(20);
          const out = [];
          for (const post of posts) {
            out.push(await ctx.db.get(post.authorId));
          }
          return out;
        }
        """
    )
    after = textwrap.dedent(
        """\
        export async function authorsOf(ctx, topic) {
          const posts = await ctx.db.query("posts").withIndex("by_topic", (q) => q.eq("topic", topic)).take(20);
          const out = [];
          const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
          const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
          const authorsById = new Map(
            authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
          );
          for (const post of posts) {
            out.push(authorsById.get(post.authorId) ?? null);
          }
          return out;
        }
        """
    )
    project = write_project(tmp_path / "app", {"feed.js": before, "typed.ts": before.replace("(ctx, topic)", "(ctx: any, topic: string)")})
    run_fix(project, [RULE])
    assert (project / "convex" / "feed.js").read_text() == after
    typed = (project / "convex" / "typed.ts").read_text()
    assert "posts.map((post: any) => post.authorId)" in typed and "(doc: any) => doc !== null" in typed
    _, again = check_project(project, select=[RULE])
    assert not [f for f in again.findings if f.rule == RULE and f.fix is not None]


def test_a_helper_prefetch_in_javascript_looks_up_without_a_cast(tmp_path):
    # `by.get(key) as (typeof results)[number]` in TypeScript; JavaScript has no `as` (TS8016).
    source = textwrap.dedent(
        """\
        import { query } from "./_generated/server";
        import { v } from "convex/values";

        async function loadUser(ctx, userId) {
          return await ctx.db.get(userId);
        }

        export const users = query({
          args: { userIds: v.array(v.id("users")) },
          handler: async (ctx, args) => {
            const out = [];
            for (const userId of args.userIds) {
              out.push(await loadUser(ctx, userId));
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.js": source})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.js").read_text()
    assert "out.push(userByUserId.get(userId));" in text, text
    assert " as " not in text and ": any" not in text
    assert error_nodes(project / "convex" / "feed.js") == 0


def test_items_of_a_query_whose_builder_the_app_says_is_any_are_typed_by_name(tmp_path):
    # The app's own `(q: any)` says its db handle may not be typed there: the documents may be
    # `any`, and a bare `(row) =>` on them an implicit `any` (TS7006). `(typeof rows)[number]`
    # is right either way; `any` would lose the documents' types where they have them.
    before = """
        export const tagsOf = query({
          args: { noteId: v.id("posts") },
          handler: async (ctx, args) => {
            const rows = await ctx.db.query("comments").withIndex("by_postId", (q: any) => q.eq("postId", args.noteId)).take(50);
            const out = [];
            for (const row of rows) {
              out.push(await ctx.db.get(row.authorId));
            }
            return out;
          },
        });
        """
    project = write_project(tmp_path / "app", {"feed.ts": _module(before)})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "rows.map((row: (typeof rows)[number]) => row.authorId)" in text, text
    assert "(doc: any)" not in text
    # Without the app's `any`, nothing is written.
    plain = before.replace("(q: any)", "(q)")
    project = write_project(tmp_path / "plain", {"feed.ts": _module(plain)})
    run_fix(project, [RULE])
    assert "rows.map((row) => row.authorId)" in (project / "convex" / "feed.ts").read_text()


def test_a_db_handle_the_app_casts_to_any_gets_annotated_callbacks(tmp_path):
    # `(ctx.db as any).get(…)`: the handle is `any`, and so is everything read through it.
    before = """
        export const tagsOf = query({
          args: { noteId: v.id("posts") },
          handler: async (ctx, args) => {
            const rows = await (ctx.db as any).query("comments").withIndex("by_postId", (q) => q.eq("postId", args.noteId)).take(50);
            const out = [];
            for (const row of rows) {
              out.push(await (ctx.db as any).get(row.authorId));
            }
            return out;
          },
        });
        """
    project = write_project(tmp_path / "app", {"feed.ts": _module(before)})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "rows.map((row: any) => row.authorId)" in text, text
    assert ".filter((doc: any) => doc !== null)" in text, text
    assert error_nodes(project / "convex" / "feed.ts") == 0


_STATUS_READS = """
    export const byStatus = query({
      args: {},
      handler: async (ctx) => {
        const rows = await Promise.all(
          STATUSES.map((status) =>
            ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", ORG).eq("status", status)).take(10),
          ),
        );
        return rows.flat();
      },
    });
    """


def test_imported_items_that_are_the_keys_give_the_set_their_type(tmp_path):
    # `STATUSES` is imported: its module (or one it re-exports from) may not resolve for tsc
    # (a package, a folder outside the app), and then it is `any`, `new Set(STATUSES)` a
    # `Set<unknown>` and each key an `unknown` the range does not take (TS2345, keppo). The
    # item type written from the array is `any` there and the items' own type where typed.
    head = 'import { ORG, STATUSES } from "./constants";\n'
    project = write_project(tmp_path / "app", {"feed.ts": _module(head + textwrap.dedent(_STATUS_READS))})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "const statusKeys = Array.from(new Set<(typeof STATUSES)[number]>(STATUSES));" in text, text
    assert error_nodes(project / "convex" / "feed.ts") == 0
    # An argument's type is its validator's: nothing is written.
    local = textwrap.dedent(_STATUS_READS).replace("args: {}", "args: { statuses: v.array(v.string()) }")
    local = local.replace("async (ctx)", "async (ctx, args)").replace("STATUSES", "args.statuses")
    project = write_project(tmp_path / "local", {"feed.ts": _module('const ORG = "o" as any;\n' + local)})
    run_fix(project, [RULE])
    assert "const statusKeys = Array.from(new Set(args.statuses));" in (project / "convex" / "feed.ts").read_text()


def test_imported_keys_iterated_by_for_of_are_not_typed_as_an_array(tmp_path):
    # A `for…of` takes any iterable: `(typeof STATUSES)[number]` does not name a Set's items.
    head = 'import { ORG, STATUSES } from "./constants";\n'
    body = """
        export const byStatus = query({
          args: {},
          handler: async (ctx) => {
            const out = [];
            for (const status of STATUSES) {
              out.push(await ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", ORG).eq("status", status)).first());
            }
            return out;
          },
        });
        """
    project = write_project(tmp_path / "app", {"feed.ts": _module(head + textwrap.dedent(body))})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "Array.from(new Set(STATUSES))" in text, text
    assert "typeof STATUSES" not in text


_BUILDERS = """
    import { customQuery, customCtx } from "convex-helpers/server/customFunctions";
    import { query } from "./_generated/server";
    export const memberQuery = customQuery(query, customCtx(async () => ({})));
    """

_MEMBER_FEED = """
    import { memberQuery } from "./builders";
    export const authors = memberQuery({
      args: {},
      handler: async (ctx) => {
        const posts = await ctx.db.query("posts").take(20);
        const out = [];
        for (const post of posts) {
          out.push(await ctx.db.get(post.authorId));
        }
        return out;
      },
    });
    """


def test_items_are_typed_by_name_where_the_app_types_ctx_through_a_package(tmp_path):
    # `customQuery` from convex-helpers: where the package is not installed tsc sees the
    # builder, each handler's `ctx` and the documents read through it as `any`, and a bare
    # `(post) =>` on them is an implicit `any` (TS7006: saveit.now). `(typeof posts)[number]`
    # is right whether they are typed or not.
    project = write_project(tmp_path / "app", {"builders.ts": _BUILDERS, "feed.ts": _MEMBER_FEED})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "posts.map((post: (typeof posts)[number]) => post.authorId)" in text, text
    assert ": any" not in text
    # The same builder written by the app itself (no package): nothing is written.
    own = _BUILDERS.replace('"convex-helpers/server/customFunctions"', '"./lib/custom"')
    project = write_project(tmp_path / "own", {"builders.ts": own, "feed.ts": _MEMBER_FEED})
    run_fix(project, [RULE])
    assert "posts.map((post) => post.authorId)" in (project / "convex" / "feed.ts").read_text()


def test_a_plain_collection_is_not_bound(tmp_path):
    """A name or property path is what the loop iterates already: the prefetch reads it as the
    loop does, and no binding is declared (only a computed collection gets one)."""
    before = """
        export const feed = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out = [];
            for (const post of posts) {
              out.push(await ctx.db.get(post.authorId));
            }
            return out;
          },
        });
        """
    project = write_project(tmp_path / "app", {"feed.ts": _module(before)})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    declared = re.findall(r"const (\w+) = ", text)
    assert declared == ["feed", "posts", "out", "authorIds", "authors", "authorsById"]
    assert "for (const post of posts) {" in text
    assert "new Set(posts.map((post) => post.authorId))" in text
