"""filter-on-query fixes: add the index (in `schema.ts`) and move the filter into `withIndex`."""

from __future__ import annotations

import pytest

from tests.support.fix_cases import (
    HEAD,
    SAFE,
    TASKS_SCHEMA,
    UNSAFE,
    Case,
    dedent,
    query_module,
    run_case,
    tasks_schema_plus,
)


def typed_module(body: str) -> str:
    """A module whose functions declare their `args` validators (so values are typed)."""
    return HEAD.replace("\n\n", '\nimport { v } from "convex/values";\n\n', 1) + dedent(body)

FILTER_CASES: dict[str, Case] = {
    "after an index: add the composite index and use it": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
                      .filter((q) => q.eq(q.field("status"), "open"))
                      .collect();
                  },
                });
                """
            ),
        },
        {
            "schema.ts": tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_status", (q) =>
                        q.eq("orgId", args.orgId).eq("status", "open"),
                      )
                      .collect();
                  },
                });
                """
            ),
        },
        title="Add index `by_orgId_and_status` to `schema.ts`",
    ),
    "no index: a new index and a withIndex where the filter was": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export const bugs = query({
                  args: {},
                  handler: async (ctx) => {
                    return await ctx.db.query("tasks").filter((q) => q.eq(q.field("kind"), "bug")).take(5);
                  },
                });
                """
            ),
        },
        {
            "schema.ts": tasks_schema_plus('.index("by_kind", ["kind"])'),
            "tasks.ts": query_module(
                """
                export const bugs = query({
                  args: {},
                  handler: async (ctx) => {
                    return await ctx.db.query("tasks").withIndex("by_kind", (q) => q.eq("kind", "bug")).take(5);
                  },
                });
                """
            ),
        },
    ),
    "an existing index covers the fields: the rewrite alone, safe": Case(
        "filter-on-query",
        {
            "schema.ts": tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
                      .filter((q) => q.eq(q.field("status"), "open"))
                      .take(10);
                  },
                });
                """
            ),
        },
        {
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_status", (q) =>
                        q.eq("orgId", args.orgId).eq("status", "open"),
                      )
                      .take(10);
                  },
                });
                """
            ),
        },
        applicability=SAFE,
        title="Use index `by_orgId_and_status`",
    ),
    "a range the same index can take moves into it": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": typed_module(
                """
                export const recent = query({
                  args: { orgId: v.id("orgs"), since: v.number() },
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_createdAt", (q) => q.eq("orgId", args.orgId))
                      .filter((q) => q.gte(q.field("createdAt"), args.since))
                      .collect();
                  },
                });
                """
            ),
        },
        {
            "tasks.ts": typed_module(
                """
                export const recent = query({
                  args: { orgId: v.id("orgs"), since: v.number() },
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_createdAt", (q) =>
                        q.eq("orgId", args.orgId).gte("createdAt", args.since),
                      )
                      .collect();
                  },
                });
                """
            ),
        },
        applicability=SAFE,
    ),
    "what no index can take stays in a smaller filter": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
                      .filter((q) => q.and(q.eq(q.field("status"), "open"), q.neq(q.field("kind"), "chore")))
                      .take(10);
                  },
                });
                """
            ),
        },
        {
            "schema.ts": tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_status", (q) =>
                        q.eq("orgId", args.orgId).eq("status", "open"),
                      )
                      .filter((q) => q.neq(q.field("kind"), "chore"))
                      .take(10);
                  },
                });
                """
            ),
        },
    ),
    "the new index keeps the order the query had (newest first)": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export const latestOpen = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_createdAt", (q) => q.eq("orgId", args.orgId))
                      .order("desc")
                      .filter((q) => q.eq(q.field("status"), "open"))
                      .take(10);
                  },
                });
                """
            ),
        },
        {
            "schema.ts": tasks_schema_plus(
                '.index("by_orgId_and_status_and_createdAt", ["orgId", "status", "createdAt"])'
            ),
            "tasks.ts": query_module(
                """
                export const latestOpen = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_status_and_createdAt", (q) =>
                        q.eq("orgId", args.orgId).eq("status", "open"),
                      )
                      .order("desc")
                      .take(10);
                  },
                });
                """
            ),
        },
    ),
    "a covering index with another order: the rewrite is unsafe": Case(
        "filter-on-query",
        {
            "schema.ts": tasks_schema_plus(
                '.index("by_orgId_and_status_and_kind", ["orgId", "status", "kind"])'
            ),
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))
                      .filter((q) => q.eq(q.field("status"), "open"))
                      .first();
                  },
                });
                """
            ),
        },
        {
            "tasks.ts": query_module(
                """
                export const open = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_orgId_and_status_and_kind", (q) =>
                        q.eq("orgId", args.orgId).eq("status", "open"),
                      )
                      .first();
                  },
                });
                """
            ),
        },
        applicability=UNSAFE,
        title="Use index `by_orgId_and_status_and_kind`",
    ),
    "camelCase project: the new index is named byOrgIdAndKind": Case(
        "filter-on-query",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  tasks: defineTable({ orgId: v.string(), kind: v.string(), status: v.string() })
                    .index("byOrgId", ["orgId"])
                    .index("byOrgIdAndStatus", ["orgId", "status"]),
                });
                """,
            "tasks.ts": query_module(
                """
                export const bugs = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("byOrgId", (q) => q.eq("orgId", args.orgId))
                      .filter((q) => q.eq(q.field("kind"), "bug"))
                      .collect();
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
                  tasks: defineTable({ orgId: v.string(), kind: v.string(), status: v.string() })
                    .index("byOrgId", ["orgId"])
                    .index("byOrgIdAndStatus", ["orgId", "status"])
                    .index("byOrgIdAndKind", ["orgId", "kind"]),
                });
                """,
            "tasks.ts": query_module(
                """
                export const bugs = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("byOrgIdAndKind", (q) =>
                        q.eq("orgId", args.orgId).eq("kind", "bug"),
                      )
                      .collect();
                  },
                });
                """
            ),
        },
    ),
    "by_a_b project, single quotes, table in its own file with an inline index": Case(
        "filter-on-query",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from 'convex/server';
                import { v } from 'convex/values';
                import { tasks } from './tables/tasks';

                export default defineSchema({
                  tasks,
                  teams: defineTable({ orgId: v.string(), name: v.string() }).index('by_orgId_name', ['orgId', 'name']),
                });
                """,
            "tables/tasks.ts": """
                import { defineTable } from 'convex/server';
                import { v } from 'convex/values';

                export const tasks = defineTable({ orgId: v.string(), kind: v.string() }).index('by_orgId', ['orgId']);
                """,
            "tasks.ts": """
                import { query } from './_generated/server';

                export const bugs = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query('tasks')
                      .withIndex('by_orgId', (q) => q.eq('orgId', args.orgId))
                      .filter((q) => q.eq(q.field('kind'), 'bug'))
                      .collect();
                  },
                });
                """,
        },
        {
            "tables/tasks.ts": """
                import { defineTable } from 'convex/server';
                import { v } from 'convex/values';

                export const tasks = defineTable({ orgId: v.string(), kind: v.string() }).index('by_orgId', ['orgId'])
                  .index('by_orgId_kind', ['orgId', 'kind']);
                """,
            "tasks.ts": """
                import { query } from './_generated/server';

                export const bugs = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query('tasks')
                      .withIndex('by_orgId_kind', (q) =>
                        q.eq('orgId', args.orgId).eq('kind', 'bug'),
                      )
                      .collect();
                  },
                });
                """,
        },
        title="Add index `by_orgId_kind` to `tasks.ts`",
    ),
    "a table with no index yet gets its first one inline": Case(
        "filter-on-query",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                export default defineSchema({
                  flags: defineTable({ key: v.string() }),
                });
                """,
            "flags.ts": typed_module(
                """
                export const get = query({
                  args: { key: v.string() },
                  handler: async (ctx, args) => {
                    return await ctx.db.query("flags").filter((q) => q.eq(q.field("key"), args.key)).unique();
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
                  flags: defineTable({ key: v.string() }).index("by_key", ["key"]),
                });
                """,
            "flags.ts": typed_module(
                """
                export const get = query({
                  args: { key: v.string() },
                  handler: async (ctx, args) => {
                    return await ctx.db.query("flags").withIndex("by_key", (q) => q.eq("key", args.key)).unique();
                  },
                });
                """
            ),
        },
    ),
    "a value naming `q` gets another range parameter": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": typed_module(
                """
                export const byKind = query({
                  args: { kind: v.string() },
                  handler: async (ctx, args) => {
                    const q = args.kind;
                    return await ctx.db.query("tasks").filter((f) => f.eq(f.field("kind"), q)).take(5);
                  },
                });
                """
            ),
        },
        {
            "schema.ts": tasks_schema_plus('.index("by_kind", ["kind"])'),
            "tasks.ts": typed_module(
                """
                export const byKind = query({
                  args: { kind: v.string() },
                  handler: async (ctx, args) => {
                    const q = args.kind;
                    return await ctx.db.query("tasks").withIndex("by_kind", (ix) => ix.eq("kind", q)).take(5);
                  },
                });
                """
            ),
        },
    ),
    "a creation-time range uses the built-in index (safe)": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": typed_module(
                """
                export const since = query({
                  args: { since: v.number() },
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .filter((q) => q.gte(q.field("_creationTime"), args.since))
                      .collect();
                  },
                });
                """
            ),
        },
        {
            "tasks.ts": typed_module(
                """
                export const since = query({
                  args: { since: v.number() },
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_creation_time", (q) => q.gte("_creationTime", args.since))
                      .collect();
                  },
                });
                """
            ),
        },
        applicability=SAFE,
    ),
    "with .take(n) a range that would reorder the results stays in the filter": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export const firstBugs = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .filter((q) => q.and(q.eq(q.field("kind"), "bug"), q.gt(q.field("createdAt"), args.since)))
                      .take(10);
                  },
                });
                """
            ),
        },
        {
            "schema.ts": tasks_schema_plus('.index("by_kind", ["kind"])'),
            "tasks.ts": query_module(
                """
                export const firstBugs = query({
                  args: {},
                  handler: async (ctx, args) => {
                    return await ctx.db
                      .query("tasks")
                      .withIndex("by_kind", (q) => q.eq("kind", "bug"))
                      .filter((q) => q.gt(q.field("createdAt"), args.since))
                      .take(10);
                  },
                });
                """
            ),
        },
    ),
    "a helper whose ctx is `any`: the new range callback says `(q: any)` as the app's do": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export async function openTasks(ctx: any, orgId: string) {
                  return await ctx.db
                    .query("tasks")
                    .withIndex("by_orgId", (q: any) => q.eq("orgId", orgId))
                    .filter((q: any) => q.eq(q.field("status"), "open"))
                    .collect();
                }
                """
            ),
        },
        {
            "schema.ts": tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": query_module(
                """
                export async function openTasks(ctx: any, orgId: string) {
                  return await ctx.db
                    .query("tasks")
                    .withIndex("by_orgId_and_status", (q: any) =>
                      q.eq("orgId", orgId).eq("status", "open"),
                    )
                    .collect();
                }
                """
            ),
        },
        title="Add index `by_orgId_and_status` to `schema.ts`",
    ),
    "an untyped ctx and an unannotated filter: the new callback is annotated anyway": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export async function openTasks(ctx: any, orgId: string) {
                  return await ctx.db.query("tasks").filter((q) => q.eq(q.field("orgId"), orgId)).collect();
                }
                """
            ),
        },
        {
            "tasks.ts": query_module(
                """
                export async function openTasks(ctx: any, orgId: string) {
                  return await ctx.db.query("tasks").withIndex("by_orgId", (q: any) => q.eq("orgId", orgId)).collect();
                }
                """
            ),
        },
        applicability=SAFE,
        title="Use index `by_orgId`",
    ),
    "an untyped ctx in JavaScript: no annotation (TS8010 there, and no implicit `any`)": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.js": query_module(
                """
                export async function openTasks(ctx, orgId) {
                  return await ctx.db.query("tasks").filter((q) => q.eq(q.field("orgId"), orgId)).collect();
                }
                """
            ),
        },
        {
            "tasks.js": query_module(
                """
                export async function openTasks(ctx, orgId) {
                  return await ctx.db.query("tasks").withIndex("by_orgId", (q) => q.eq("orgId", orgId)).collect();
                }
                """
            ),
        },
        applicability=SAFE,
        title="Use index `by_orgId`",
    ),
    "a typed helper keeps `(q) =>`": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": query_module(
                """
                export async function openTasks(ctx: QueryCtx, orgId: Id<"orgs">) {
                  return await ctx.db.query("tasks").filter((q) => q.eq(q.field("orgId"), orgId)).collect();
                }
                """
            ),
        },
        {
            "tasks.ts": query_module(
                """
                export async function openTasks(ctx: QueryCtx, orgId: Id<"orgs">) {
                  return await ctx.db.query("tasks").withIndex("by_orgId", (q) => q.eq("orgId", orgId)).collect();
                }
                """
            ),
        },
        applicability=SAFE,
        title="Use index `by_orgId`",
    ),
    "the file's style: single quotes, four spaces, no trailing comma": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": """
                import { query } from './_generated/server'

                export const open = query({
                    args: {},
                    handler: async (ctx, args) => {
                        const names = [
                            'a',
                            'b'
                        ]
                        return await ctx.db
                            .query('tasks')
                            .withIndex('by_orgId', (q) => q.eq('orgId', args.organisationId))
                            .filter((q) => q.eq(q.field('status'), names[0]))
                            .collect()
                    }
                })
                """,
        },
        {
            "schema.ts": tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": """
                import { query } from './_generated/server'

                export const open = query({
                    args: {},
                    handler: async (ctx, args) => {
                        const names = [
                            'a',
                            'b'
                        ]
                        return await ctx.db
                            .query('tasks')
                            .withIndex('by_orgId_and_status', (q) =>
                                q
                                    .eq('orgId', args.organisationId)
                                    .eq('status', names[0] as string)
                            )
                            .collect()
                    }
                })
                """,
        },
        # `names[0]`'s type is not followed: cast to the field's (a one-word type, no import).
        title="Add index `by_orgId_and_status` to `schema.ts` and use it (unsafe: casts `names[0]`",
    ),
}


@pytest.mark.parametrize("name", list(FILTER_CASES))
def test_filter_on_query_fix(tmp_path, name):
    run_case(tmp_path, FILTER_CASES[name])


# Values moved from `.filter()` into an index range must have the field's exact type there:
# `.filter()` compared anything, `.withIndex()` takes only the field's type (TS2345).
PROVIDERS_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({ name: v.string() }),
  providers: defineTable({
    userId: v.id("users"),
    status: v.union(v.literal("active"), v.literal("paused")),
  })
    .index("by_userId", ["userId"])
    .index("by_status", ["status"]),
  offers: defineTable({ providerId: v.id("providers"), price: v.number() }).index("by_providerId", [
    "providerId",
  ]),
});
"""

CAST_CASES: dict[str, Case] = {
    "a plain string compared to an Id field is cast, and `Id` imported: unsafe": Case(
        "filter-on-query",
        {
            "schema.ts": PROVIDERS_SCHEMA,
            "providers.ts": query_module(
                """
                export const mine = query({
                  args: {},
                  handler: async (ctx) => {
                    const identity = await ctx.auth.getUserIdentity();
                    if (!identity) return null;
                    const userId = identity.subject;
                    return await ctx.db.query("providers").filter((q) => q.eq(q.field("userId"), userId)).first();
                  },
                });
                """
            ),
        },
        {
            "providers.ts": """
                import { query } from "./_generated/server";
                import type { Id } from "./_generated/dataModel";

                export const mine = query({
                  args: {},
                  handler: async (ctx) => {
                    const identity = await ctx.auth.getUserIdentity();
                    if (!identity) return null;
                    const userId = identity.subject;
                    return await ctx.db.query("providers").withIndex("by_userId", (q) => q.eq("userId", userId as Id<"users">)).first();
                  },
                });
                """,
        },
        applicability=UNSAFE,
        title="Use index `by_userId` instead of `.filter()` (unsafe: casts `userId` to the field's type",
    ),
    "an argument validated as the field is: no cast, safe": Case(
        "filter-on-query",
        {
            "schema.ts": PROVIDERS_SCHEMA,
            "providers.ts": typed_module(
                """
                export const byUser = query({
                  args: { userId: v.id("users") },
                  handler: async (ctx, { userId }) => {
                    return await ctx.db.query("providers").filter((q) => q.eq(q.field("userId"), userId)).first();
                  },
                });
                """
            ),
        },
        {
            "providers.ts": typed_module(
                """
                export const byUser = query({
                  args: { userId: v.id("users") },
                  handler: async (ctx, { userId }) => {
                    return await ctx.db.query("providers").withIndex("by_userId", (q) => q.eq("userId", userId)).first();
                  },
                });
                """
            ),
        },
        applicability=SAFE,
        title="Use index `by_userId` instead of `.filter()`",
    ),
    "a string argument against a union of literals: cast to the field's type by name": Case(
        "filter-on-query",
        {
            "schema.ts": PROVIDERS_SCHEMA,
            "providers.ts": """
                import { query } from "./_generated/server";
                import { v } from "convex/values";
                import type { Id } from "./_generated/dataModel";

                export const withStatus = query({
                  args: { status: v.string() },
                  handler: async (ctx, args) => {
                    return await ctx.db.query("providers").filter((q) => q.eq(q.field("status"), args.status)).take(10);
                  },
                });
                """,
        },
        {
            "providers.ts": """
                import { query } from "./_generated/server";
                import { v } from "convex/values";
                import type { Id } from "./_generated/dataModel";
                import type { Doc } from "./_generated/dataModel";

                export const withStatus = query({
                  args: { status: v.string() },
                  handler: async (ctx, args) => {
                    return await ctx.db.query("providers").withIndex("by_status", (q) => q.eq("status", args.status as Doc<"providers">["status"])).take(10);
                  },
                });
                """,
        },
        applicability=UNSAFE,
        title="(unsafe: casts `args.status`",
    ),
    "the `_id` of a document read from the field's table: no cast, safe": Case(
        "filter-on-query",
        {
            "schema.ts": PROVIDERS_SCHEMA,
            "offers.ts": typed_module(
                """
                export const cheapest = query({
                  args: { userId: v.id("users") },
                  handler: async (ctx, args) => {
                    const provider = await ctx.db
                      .query("providers")
                      .withIndex("by_userId", (q) => q.eq("userId", args.userId))
                      .first();
                    if (!provider) return [];
                    return await ctx.db.query("offers").filter((q) => q.eq(q.field("providerId"), provider._id)).take(5);
                  },
                });
                """
            ),
        },
        {
            "offers.ts": typed_module(
                """
                export const cheapest = query({
                  args: { userId: v.id("users") },
                  handler: async (ctx, args) => {
                    const provider = await ctx.db
                      .query("providers")
                      .withIndex("by_userId", (q) => q.eq("userId", args.userId))
                      .first();
                    if (!provider) return [];
                    return await ctx.db.query("offers").withIndex("by_providerId", (q) => q.eq("providerId", provider._id)).take(5);
                  },
                });
                """
            ),
        },
        applicability=SAFE,
        title="Use index `by_providerId` instead of `.filter()`",
    ),
    "a literal in a union the schema names as a const: no cast, safe": Case(
        "filter-on-query",
        {
            "schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { v } from "convex/values";

                const postStatus = v.union(v.literal("draft"), v.literal("published"));

                export default defineSchema({
                  posts: defineTable({ status: postStatus, title: v.string() }).index("by_status", ["status"]),
                });
                """,
            "posts.ts": query_module(
                """
                export const published = query({
                  args: {},
                  handler: async (ctx) => {
                    return await ctx.db.query("posts").filter((q) => q.eq(q.field("status"), "published")).take(10);
                  },
                });
                """
            ),
        },
        {
            "posts.ts": query_module(
                """
                export const published = query({
                  args: {},
                  handler: async (ctx) => {
                    return await ctx.db.query("posts").withIndex("by_status", (q) => q.eq("status", "published")).take(10);
                  },
                });
                """
            ),
        },
        applicability=SAFE,
        title="Use index `by_status` instead of `.filter()`",
    ),
}


@pytest.mark.parametrize("name", list(CAST_CASES))
def test_filter_on_query_casts_what_it_cannot_type(tmp_path, name):
    run_case(tmp_path, CAST_CASES[name])


def test_a_table_spread_in_from_a_package_gets_no_index_added_to_the_app_schema(tmp_path):
    """The app cannot add an index to a package's table, and the package may define one on
    the field already: the message points at that definition and no edit is offered."""
    from tests.support.project import check_project, write_project

    schema = """
    import { defineSchema, defineTable } from "convex/server";
    import { billingTables } from "@acme/billing/server";
    import { v } from "convex/values";

    export default defineSchema({
      ...billingTables,
      notes: defineTable({ body: v.string() }),
    });
    """
    module = query_module(
        """
        export const hasCustomer = query({
          args: {},
          handler: async (ctx, args) => {
            const found = await ctx.db.query("customers").filter((q) => q.eq(q.field("entityId"), args.userId)).first();
            return found !== null;
          },
        });
        """
    )
    project = write_project(tmp_path / "app", {"schema.ts": dedent(schema), "b.ts": dedent(module)}, schema=None)
    _, result = check_project(project, select=["filter-on-query"])
    (finding,) = result.findings
    assert "`customers` is not defined in this app's schema" in finding.message
    assert "`billingTables` from `@acme/billing/server`" in finding.message
    assert ".index(" not in finding.message and finding.fix is None
