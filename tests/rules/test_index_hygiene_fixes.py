"""Index hygiene fixes (unused-index, redundant-index, unknown-index): edits in `schema.ts` and the query."""

from __future__ import annotations

import pytest

from tests.support.fix_cases import (
    UNSAFE,
    USE_ORG,
    Case,
    query_module,
    run_case,
)

HYGIENE_CASES: dict[str, Case] = {
    "unused index on its own line": Case(
        "unused-index",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string(), email: v.string() })
                    .index("by_email", ["email"])
                    .index("by_orgId", ["orgId"]),
                });
                """,
            "p.ts": USE_ORG,
        },
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string(), email: v.string() })
                    .index("by_orgId", ["orgId"]),
                });
                """,
        },
        title="Remove index `by_email`",
    ),
    "unused last index keeps the comma": Case(
        "unused-index",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string(), email: v.string() })
                    .index("by_orgId", ["orgId"])
                    .index("by_email", ["email"]),
                  teams: defineTable({ name: v.string() }),
                });
                """,
            "p.ts": USE_ORG,
        },
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string(), email: v.string() })
                    .index("by_orgId", ["orgId"]),
                  teams: defineTable({ name: v.string() }),
                });
                """,
        },
    ),
    "unused inline index": Case(
        "unused-index",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string() }).index("by_orgId", ["orgId"]),
                  teams: defineTable({ slug: v.string() }).index("by_slug", ["slug"]),
                });
                """,
            "p.ts": USE_ORG,
        },
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string() }).index("by_orgId", ["orgId"]),
                  teams: defineTable({ slug: v.string() }),
                });
                """,
        },
    ),
    "redundant prefix: removed, and its queries renamed in every file": Case(
        "redundant-index",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string(), status: v.string() })
                    .index("by_orgId", ["orgId"])
                    .index("by_orgId_and_status", ["orgId", "status"]),
                });
                """,
            "p.ts": USE_ORG,
            "q.ts": query_module(
                """
                export const g = query({
                  args: {},
                  handler: async (ctx, args) => {
                    const a = await ctx.db.query("players").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).collect();
                    const b = await ctx.db
                      .query("players")
                      .withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId).eq("status", "x"))
                      .collect();
                    return [a, b];
                  },
                });
                """
            ),
        },
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  players: defineTable({ orgId: v.string(), status: v.string() })
                    .index("by_orgId_and_status", ["orgId", "status"]),
                });
                """,
            "p.ts": USE_ORG.replace('"by_orgId"', '"by_orgId_and_status"'),
            "q.ts": query_module(
                """
                export const g = query({
                  args: {},
                  handler: async (ctx, args) => {
                    const a = await ctx.db.query("players").withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId)).collect();
                    const b = await ctx.db
                      .query("players")
                      .withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId).eq("status", "x"))
                      .collect();
                    return [a, b];
                  },
                });
                """
            ),
        },
        title="Remove index `by_orgId` and use `by_orgId_and_status` in 2 queries",
    ),
    "unknown index: add it with the range's fields": Case(
        "unknown-index",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  messages: defineTable({ threadId: v.string(), at: v.number() })
                    .index("by_threadId", ["threadId"]),
                });
                """,
            "m.ts": query_module(
                """
                export const recent = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("messages")
                      .withIndex("by_threadId_and_at", (q) => q.eq("threadId", args.threadId).gte("at", args.since))
                      .take(20),
                });
                """
            ),
        },
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  messages: defineTable({ threadId: v.string(), at: v.number() })
                    .index("by_threadId", ["threadId"])
                    .index("by_threadId_and_at", ["threadId", "at"]),
                });
                """,
        },
        title="Add index `by_threadId_and_at` (`threadId`, `at`) to `schema.ts`",
        alternative=True,
    ),
    "unknown index: an existing one starts with the fields (rename, unsafe: its order differs)": Case(
        "unknown-index",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  messages: defineTable({ threadId: v.string(), at: v.number() })
                    .index("by_thread_at", ["threadId", "at"]),
                });
                """,
            "m.ts": query_module(
                """
                export const recent = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db.query("messages").withIndex("messagesByThread", (q) => q.eq("threadId", args.threadId)).take(20),
                });
                """
            ),
        },
        {
            "m.ts": query_module(
                """
                export const recent = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db.query("messages").withIndex("by_thread_at", (q) => q.eq("threadId", args.threadId)).take(20),
                });
                """
            ),
        },
        applicability=UNSAFE,
        title="Use index `by_thread_at` (it starts with the same fields)",
        alternative=True,
    ),
}


@pytest.mark.parametrize("name", list(HYGIENE_CASES))
def test_index_hygiene_fix(tmp_path, name):
    run_case(tmp_path, HYGIENE_CASES[name])
