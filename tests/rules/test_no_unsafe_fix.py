"""No fix where one cannot be built safely (the query and index rules): the diagnostic comes with no fix."""

from __future__ import annotations

import pytest

from tests.support.fix_cases import (
    FETCH_SCHEMA,
    RANGE_SCHEMA,
    TASKS_SCHEMA,
    NoFix,
    action_module,
    query_module,
    run_no_fix,
)

NO_FIX: dict[str, NoFix] = {
    "conditional filter on a split chain": NoFix(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "t.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) => {
                    let q = ctx.db.query("tasks").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId));
                    if (args.status) q = q.filter((f) => f.eq(f.field("status"), args.status));
                    return await q.collect();
                  },
                });
                """
            ),
        },
    ),
    "range order with a field the index lacks": NoFix(
        "index-range-order",
        {
            "schema.ts": RANGE_SCHEMA,
            "e.ts": query_module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db.query("enrollments").withIndex("by_orgId_and_status_and_at", (q) => q.eq("orgId", 1).eq("at", 2)).take(5),
                });
                """
            ),
        },
    ),
    "prefix index that a query orders newest-first by: needed, so neither reported nor removed": NoFix(
        "redundant-index",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  messages: defineTable({ threadId: v.string(), authorId: v.string() })
                    .index("by_threadId", ["threadId"])
                    .index("by_threadId_and_authorId", ["threadId", "authorId"]),
                });
                """,
            "m.ts": query_module(
                """
                export const latest = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db.query("messages").withIndex("by_threadId", (q) => q.eq("threadId", args.t)).order("desc").take(20),
                });
                export const byAuthor = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db.query("messages").withIndex("by_threadId_and_authorId", (q) => q.eq("threadId", args.t).eq("authorId", args.a)).take(20),
                });
                """
            ),
        },
        count=0,
    ),
    "fetch options from a const: reported, not rewritten": NoFix(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": action_module(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    const init = { method: "POST" };
                    await fetch("https://api.example.com", init);
                  },
                });
                """
            ),
        },
    ),
}


@pytest.mark.parametrize("name", list(NO_FIX))
def test_no_fix(tmp_path, name):
    run_no_fix(tmp_path, NO_FIX[name])
