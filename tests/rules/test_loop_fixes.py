"""N+1 fixes for loops that write, and the concurrent fallback: exact output, applicability,
still parses, finding gone (or only the concurrent rest left), idempotent, and refusals."""

from __future__ import annotations

import textwrap

import pytest

from convex_xray.engine.findings import Applicability
from tests.support.project import check_project, error_nodes, run_fix, write_project

RULE = "n-plus-one-read"


def _module(body: str) -> str:
    return 'import { query, mutation } from "./_generated/server";\n' + textwrap.dedent(body)


def _findings(project):
    _, result = check_project(project, select=[RULE])
    return [f for f in result.findings if f.rule == RULE]


# (before, after, applicability, what the title must say)
CASES = {
    "a loop that inserts into another table: the get is batch-fetched, safe": (
        """
        export const archive = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              await ctx.db.insert("comments", { postId: post._id, authorId: post.authorId, body: author?.name ?? "" });
            }
          },
        });
        """,
        """
        export const archive = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const post of posts) {
              const author = authorsById.get(post.authorId) ?? null;
              await ctx.db.insert("comments", { postId: post._id, authorId: post.authorId, body: author?.name ?? "" });
            }
          },
        });
        """,
        Applicability.SAFE,
        "Batch-fetch `authors` before the loop",
    ),
    "a loop that patches its own items: the query on another table is prefetched, safe": (
        """
        export const recount = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            for (const post of posts) {
              const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).collect();
              await ctx.db.patch(post._id, { status: comments.length > 0 ? "active" : "quiet" });
            }
          },
        });
        """,
        """
        export const recount = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
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
              await ctx.db.patch(post._id, { status: comments.length > 0 ? "active" : "quiet" });
            }
          },
        });
        """,
        Applicability.SAFE,
        "Prefetch `comments` rows",
    ),
    "a loop that patches the documents it reads: unsafe, and the title says why": (
        """
        export const touch = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            for (const post of posts) {
              const author = await ctx.db.get(post.authorId);
              await ctx.db.patch(post.authorId, { name: (author?.name ?? "") + "!" });
            }
          },
        });
        """,
        """
        export const touch = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById = new Map(
              authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]),
            );
            for (const post of posts) {
              const author = authorsById.get(post.authorId) ?? null;
              await ctx.db.patch(post.authorId, { name: (author?.name ?? "") + "!" });
            }
          },
        });
        """,
        Applicability.UNSAFE,
        "unsafe: the loop may patch documents the read returns, and the reads now run before the loop's writes",
    ),
    "a query on the table the loop inserts into: unsafe": (
        """
        export const seed = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            for (const post of posts) {
              const first = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).first();
              if (first === null) await ctx.db.insert("comments", { postId: post._id, authorId: post.authorId, body: "" });
            }
          },
        });
        """,
        """
        export const seed = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const postIdKeys = Array.from(new Set(posts.map((post) => post._id)));
            const commentsResults = await Promise.all(
              postIdKeys.map((key) =>
                ctx.db
                  .query("comments")
                  .withIndex("by_postId", (q) => q.eq("postId", key))
                  .first(),
              ),
            );
            const commentsByPostId = new Map(
              postIdKeys.map((key, i) => [key, commentsResults[i]]),
            );
            for (const post of posts) {
              const first = commentsByPostId.get(post._id) ?? null;
              if (first === null) await ctx.db.insert("comments", { postId: post._id, authorId: post.authorId, body: "" });
            }
          },
        });
        """,
        Applicability.UNSAFE,
        "unsafe: the loop inserts into `comments`, which the query reads",
    ),
    "a read inside a helper in a for-of: the iterations run concurrently, continue becomes return": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            let named = 0;
            for (const post of posts) {
              if (post.status === "draft") continue;
              for (const n of [1, 2]) {
                if (n === 2) continue;
              }
              const author = await loadAuthor(ctx, post.authorId);
              if (author.name) named++;
            }
            return named;
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            let named = 0;
            await Promise.all(posts.map(async (post) => {
              if (post.status === "draft") return;
              for (const n of [1, 2]) {
                if (n === 2) continue;
              }
              const author = await loadAuthor(ctx, post.authorId);
              if (author.name) named++;
            }));
            return named;
          },
        });
        """,
        Applicability.UNSAFE,
        "Run the iterations concurrently with `Promise.all` (unsafe: side effects such as counters and logs may come in another order",
    ),
    "a file where the app says callbacks lose their types (TS2589): the concurrent callback says `: any`": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        // @ts-expect-error TS2589: type instantiation is excessively deep
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            let named = 0;
            for (const post of posts) {
              const author = await loadAuthor(ctx, post.authorId);
              if (author.name) named++;
            }
            return named;
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        // @ts-expect-error TS2589: type instantiation is excessively deep
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            let named = 0;
            await Promise.all(posts.map(async (post: any) => {
              const author = await loadAuthor(ctx, post.authorId);
              if (author.name) named++;
            }));
            return named;
          },
        });
        """,
        Applicability.UNSAFE,
        "Run the iterations concurrently with `Promise.all`",
    ),
    "a Set is iterated through Array.from, destructuring kept": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = mutation({
          args: {},
          handler: async (ctx) => {
            const pairs = new Set([{ id: "a", n: 1 }]);
            for (const { id, n } of pairs) {
              const author = await loadAuthor(ctx, id);
              await ctx.db.insert("orgs", { name: `${author.name}${n}` });
            }
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = mutation({
          args: {},
          handler: async (ctx) => {
            const pairs = new Set([{ id: "a", n: 1 }]);
            await Promise.all(Array.from(pairs).map(async ({ id, n }) => {
              const author = await loadAuthor(ctx, id);
              await ctx.db.insert("orgs", { name: `${author.name}${n}` });
            }));
          },
        });
        """,
        Applicability.UNSAFE,
        "unsafe: iterations overlap, so one no longer sees an earlier one's writes",
    ),
    "a loop that ends by pushing to a typed array: the callback returns the value, typed by the array": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        type Line = { kind: "named" | "anonymous"; name: string };
        export const lines = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out: Line[] = [];
            for (const post of posts) {
              const author = await loadAuthor(ctx, post.authorId);
              out.push({ kind: author ? "named" : "anonymous", name: author?.name ?? "" });
            }
            return out;
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        type Line = { kind: "named" | "anonymous"; name: string };
        export const lines = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out: Line[] = [];
            out.push(...(await Promise.all(posts.map(async (post: (typeof posts)[number]): Promise<(typeof out)[number]> => {
              const author = await loadAuthor(ctx, post.authorId);
              return { kind: author ? "named" : "anonymous", name: author?.name ?? "" };
            }))));
            return out;
          },
        });
        """,
        Applicability.UNSAFE,
        "Run the iterations concurrently with `Promise.all`, pushing to `out` in the items' order (unsafe: side effects"
        " such as counters and logs may come in another order, and every iteration starts even if one throws; `out`"
        " gets the values all at once after the loop, none if an iteration throws)",
    ),
    "an array declared `= []` evolves from what is pushed: no type on the callback": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const names = [];
            for (const post of posts) {
              const author = await loadAuthor(ctx, post.authorId);
              names.push(author.name)
            }
            return names;
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const names = [];
            names.push(...(await Promise.all(posts.map(async (post: (typeof posts)[number]) => {
              const author = await loadAuthor(ctx, post.authorId);
              return author.name;
            }))));
            return names;
          },
        });
        """,
        Applicability.UNSAFE,
        "pushing to `names` in the items' order",
    ),
    "a `continue` skips the push: each iteration returns none or one value, pushed in order": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const summary = { names: [] as string[] };
            for (const post of posts) {
              if (post.status === "draft") {
                continue;
              }
              const author = await loadAuthor(ctx, post.authorId);
              await ctx.db.insert("orgs", { name: author.name });
              summary.names.push(author.name);
            }
            return summary;
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = mutation({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const summary = { names: [] as string[] };
            for (const pushed of await Promise.all(posts.map(async (post: (typeof posts)[number]): Promise<(typeof summary.names)[number][]> => {
              if (post.status === "draft") {
                return [];
              }
              const author = await loadAuthor(ctx, post.authorId);
              await ctx.db.insert("orgs", { name: author.name });
              return [author.name];
            }))) summary.names.push(...pushed);
            return summary;
          },
        });
        """,
        Applicability.UNSAFE,
        "Run the iterations concurrently with `Promise.all`, pushing to `summary.names` in the items' order (unsafe:"
        " iterations overlap, so one no longer sees an earlier one's writes",
    ),
    "the push ends a branch of the body's last `if`: an item that fails it returns none": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const names: string[] = [];
            for (const post of posts) {
              const author = await loadAuthor(ctx, post.authorId);
              if (author) {
                names.push(author.name);
              } else {
                await audit(ctx, post._id);
              }
            }
            return names;
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const names: string[] = [];
            for (const pushed of await Promise.all(posts.map(async (post: (typeof posts)[number]): Promise<(typeof names)[number][]> => {
              const author = await loadAuthor(ctx, post.authorId);
              if (author) {
                return [author.name];
              } else {
                await audit(ctx, post._id);
              }
              return [];
            }))) names.push(...pushed);
            return names;
          },
        });
        """,
        Applicability.UNSAFE,
        "pushing to `names` in the items' order",
    ),
    "a push at the end of each branch of the last `if`: each iteration returns its one value": (
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const names = [];
            for (const post of posts) {
              const author = await loadAuthor(ctx, post.authorId);
              if (author) names.push(author.name);
              else names.push("anonymous");
            }
            return names;
          },
        });
        """,
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const names = [];
            for (const pushed of await Promise.all(posts.map(async (post: (typeof posts)[number]) => {
              const author = await loadAuthor(ctx, post.authorId);
              if (author) return [author.name];
              else return ["anonymous"];
              return [];
            }))) names.push(...pushed);
            return names;
          },
        });
        """,
        Applicability.UNSAFE,
        "pushing to `names` in the items' order",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_loop_fix_exact_output(tmp_path, name):
    before, after, applicability, title = CASES[name]
    project = write_project(tmp_path / "app", {"feed.ts": _module(before)})
    path = project / "convex" / "feed.ts"
    (finding,) = _findings(project)
    assert finding.fix is not None and finding.fix.applicability is applicability
    assert title in finding.fix.title
    concurrent = finding.fix.title.startswith("Run the iterations concurrently")
    run_fix(project, [RULE], unsafe=applicability is Applicability.UNSAFE)
    assert path.read_text() == _module(after)
    assert error_nodes(path) == 0
    left = _findings(project)
    if not concurrent:
        assert left == []  # batch-fetched: the N+1 is gone
    else:
        # Still one read per item (now concurrent): no fix to offer again.
        assert all(f.fix is None or "concurrently" not in f.fix.title for f in left)
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == _module(after), "a second --fix must change nothing"


def test_safe_only_fix_leaves_an_unsafe_batch_alone(tmp_path):
    before = CASES["a loop that patches the documents it reads: unsafe, and the title says why"][0]
    project = write_project(tmp_path / "app", {"feed.ts": _module(before)})
    run_fix(project, [RULE])
    assert (project / "convex" / "feed.ts").read_text() == _module(before)


REFUSED = {
    "break": ("if (total > 3) break;", "the loop can stop early (`break`)"),
    "return": ("if (total > 3) return [out, total];", "the loop body returns from the function"),
    "var": ("var seen = 1;", "a `var` in the loop body"),
    "update from an awaited value": ("total += (await loadAuthor(ctx, post.authorId)).n;", "`total` is updated from an awaited value"),
    # The result would come out in the order the iterations finish.
    # `out` is read in the body: what one iteration sees depends on the others.
    "an outer array filled in order and read": ("out.push(post.status); total += out.length;", "the loop fills `out` in order (`.push`)"),

    "an outer Map filled in order": ("byStatus.set(post.status, post);", "the loop fills `byStatus` in order (`.set`)"),
    "an outer variable assigned": ("last = post.status;", "the loop assigns `last`"),
    # A name a nested block declares is that block's: after the block, it is the outer one.
    "an outer array filled after a block that shadows it": (
        "if (post.status) { const out = [post.status]; total += out.length; }\n              out.push(post.status); total += out.length;",
        "the loop fills `out` in order (`.push`)",
    ),
    "an outer variable assigned after a block that shadows it": (
        "if (post.status) { let last = post.status; last += \"!\"; total += last.length; }\n              last = post.status;",
        "the loop assigns `last`",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_no_concurrent_rewrite_when_the_common_case_would_change(tmp_path, name):
    statement, _ = REFUSED[name]
    module = _module(
        f"""
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {{
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }}
        export const names = query({{
          args: {{}},
          handler: async (ctx) => {{
            const posts = await ctx.db.query("posts").take(20);
            const out: string[] = [];
            const byStatus = new Map();
            let total = 0;
            let last = "";
            for (const post of posts) {{
              {statement}
              const author = await loadAuthor(ctx, post.authorId);
              total += author.name.length;
            }}
            return [out, total, byStatus, last];
          }},
        }});
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    (finding,) = _findings(project)
    assert finding.fix is None and not finding.alternatives
    assert "Not batch-fetched automatically: the read is inside `loadAuthor`" in finding.message
    assert REFUSED[name][1] in _concurrent_refusal(project)


# Pushes that still come out in finishing order (or whose value is used).
REFUSED_AT_THE_END = {
    # In the condition of the last `if`: the push's result is used.
    "a push in a condition": "if (out.push(author.name) > 3) total++;",
    # The body reads what earlier iterations pushed.
    "a push the body reads": "total += out.length;\n              out.push(author.name);",
    "pushes to two arrays": "if (author) out.push(author.name);\n              else other.push(post.status);",
    "a push and a sort": "out.push(author.name);\n              out.sort();",
}

# Pushes anywhere in the body: each iteration collects its own, in order.
COLLECTED = {
    "a push in an inner loop": "for (const tag of author.tags) out.push(tag);",
    "two pushes in a row": "out.push(author.name);\n              out.push(post.status);",
    "a push of a spread": "out.push(...author.tags);",
    "a push of two values": "out.push(author.name, post.status);",
}


@pytest.mark.parametrize("name", list(REFUSED_AT_THE_END))
def test_no_concurrent_rewrite_for_a_last_push_that_keeps_no_order(tmp_path, name):
    module = _module(
        f"""
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {{
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }}
        export const names = query({{
          args: {{}},
          handler: async (ctx) => {{
            const posts = await ctx.db.query("posts").take(20);
            const out: string[] = [];
            const other: string[] = [];
            let total = 0;
            for (const post of posts) {{
              const author = await loadAuthor(ctx, post.authorId);
              {REFUSED_AT_THE_END[name]}
            }}
            return [out, other, total];
          }},
        }});
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    (finding,) = _findings(project)
    assert finding.fix is None and not finding.alternatives
    refusal = _concurrent_refusal(project)
    assert "in order (`." in refusal and "which concurrent iterations would change" in refusal


@pytest.mark.parametrize("name", list(COLLECTED))
def test_pushes_anywhere_in_the_body_are_collected_per_iteration(tmp_path, name):
    module = _module(
        f"""
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {{
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }}
        export const names = query({{
          args: {{}},
          handler: async (ctx) => {{
            const posts = await ctx.db.query("posts").take(20);
            const out: string[] = [];
            for (const post of posts) {{
              const author = await loadAuthor(ctx, post.authorId);
              {COLLECTED[name]}
            }}
            return out;
          }},
        }});
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    path = project / "convex" / "feed.ts"
    (finding,) = _findings(project)
    assert finding.fix is not None and "pushing to `out` in the items' order" in finding.fix.title
    run_fix(project, [RULE], unsafe=True)
    pushes = COLLECTED[name].replace("\n              ", "\n      ").replace("out.push(", "iterationItems.push(")
    expected = (
        module.replace(
            "for (const post of posts) {\n",
            "for (const pushed of await Promise.all(posts.map(async (post: (typeof posts)[number]): Promise<(typeof out)[number][]> => {\n"
            "      const iterationItems: (typeof out)[number][] = [];\n",
        )
        .replace("out.push(", "iterationItems.push(")
        .replace(pushes + "\n    }", pushes + "\n      return iterationItems;\n    }))) out.push(...pushed);")
    )
    assert path.read_text() == expected
    assert error_nodes(path) == 0
    run_fix(project, [RULE], unsafe=True)
    assert path.read_text() == expected, "a second --fix must change nothing"


def test_partial_batch_offers_the_concurrent_rewrite_as_an_alternative(tmp_path):
    module = _module(
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            let both = 0;
            for (const post of posts) {
              const org = await ctx.db.get(post.orgId);
              const author = await loadAuthor(ctx, post.authorId);
              if (org && author) both++;
            }
            return both;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    (finding,) = _findings(project)
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    assert [a.title.split(" (")[0] for a in finding.alternatives] == ["Run the iterations concurrently with `Promise.all`"]
    assert all(a.edits for a in finding.alternatives)


def _concurrent_refusal(project) -> str:
    """Why the one loop of `feed.ts` gets no concurrent rewrite (the builder's own reason)."""
    from convex_xray.engine.config import Config
    from convex_xray.engine.context import RuleContext
    from convex_xray.rules.support.concurrent_loop import concurrent_loop_fix

    workspace, _ = check_project(project, select=[RULE])
    model = workspace.model(project / "convex" / "feed.ts")
    assert model is not None
    call = next(c for c in model.helper_calls if c.loops)
    reason = concurrent_loop_fix(RuleContext(workspace, Config(), model), call.loops[-1])
    assert isinstance(reason, str)
    return reason


def test_the_concurrent_callback_over_an_untyped_collection_is_annotated(tmp_path):
    # `any.map((x) => …)` gives `x` no type: under `strict` that is TS7006, so say `any`
    # as the loop's item implicitly was.
    module = _module(
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export async function touchAll(ctx: any, posts: any) {
          let seen = 0;
          for (const post of posts) {
            const author = await loadAuthor(ctx, post.authorId);
            if (author) seen++;
          }
          return seen;
        }
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    run_fix(project, [RULE], unsafe=True)
    text = (project / "convex" / "feed.ts").read_text()
    assert "await Promise.all(posts.map(async (post: any) => {" in text
    assert error_nodes(project / "convex" / "feed.ts") == 0


def test_the_concurrent_callback_is_typed_by_name_where_the_app_types_ctx_through_a_package(tmp_path):
    # A context type from convex-helpers (`CustomCtx`): where the package is not installed
    # the documents are `any` to tsc, `for…of` gives an `any` item but a bare
    # `.map(async (post) =>` an implicit `any` (TS7006: racket-club). The item's type written
    # from the collection is right either way.
    module = """
        import type { CustomCtx } from "convex-helpers/server/customFunctions";
        import { mutation } from "./_generated/server";
        type Ctx = CustomCtx<typeof mutation>;
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export async function touchAll(ctx: Ctx) {
          const posts = await ctx.db.query("posts").take(20);
          let seen = 0;
          for (const post of posts) {
            const author = await loadAuthor(ctx, post.authorId);
            if (author) seen++;
          }
          return seen;
        }
        """
    project = write_project(tmp_path / "app", {"feed.ts": module})
    run_fix(project, [RULE], unsafe=True)
    text = (project / "convex" / "feed.ts").read_text()
    assert "await Promise.all(posts.map(async (post: (typeof posts)[number]) => {" in text, text
    plain = module.replace('"convex-helpers/server/customFunctions"', '"./lib/ctx"')
    project = write_project(tmp_path / "plain", {"feed.ts": plain})
    run_fix(project, [RULE], unsafe=True)
    assert "await Promise.all(posts.map(async (post) => {" in (project / "convex" / "feed.ts").read_text()


def test_no_ordered_push_rewrite_where_the_item_cannot_be_typed_from_the_collection(tmp_path):
    """`posts.filter(…)` has no name to type the callback's item by: where the collection is
    `any` to tsc, a bare `async (post) =>` would be an implicit `any` (TS7006), so no rewrite."""
    module = _module(
        """
        declare function audit(ctx: any, id: any): Promise<void>;
        async function loadAuthor(ctx: any, id: any) {
          await audit(ctx, id); // not in the workspace: it may write, so no prefetch
          return await ctx.db.get(id);
        }
        export const names = query({
          args: {},
          handler: async (ctx) => {
            const posts = await ctx.db.query("posts").take(20);
            const out: string[] = [];
            for (const post of posts.filter((p) => p.status)) {
              const author = await loadAuthor(ctx, post.authorId);
              out.push(author.name);
            }
            return out;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    (finding,) = _findings(project)
    assert finding.fix is None and not finding.alternatives
    assert _concurrent_refusal(project).endswith(
        "; the concurrent callback's item could not be typed from the collection"
    )
