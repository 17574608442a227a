"""Fixes of the query and index rules, table style: exact output (in every file the fix
touches), the output still parses with no new ERROR nodes, the diagnostic is gone after
applying, and a second `--fix` changes nothing."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import check_project, error_nodes, run_fix, write_project

from convex_xray.engine.findings import Applicability, Fix
from convex_xray.engine.fixes import apply_fixes_once

UNSAFE = Applicability.UNSAFE
SAFE = Applicability.SAFE

HEAD = 'import { query } from "./_generated/server";\n\n'


@dataclass
class Case:
    rule: str
    files: dict[str, str]  # path under convex/ -> text (schema.ts included)
    expected: dict[str, str]  # every file the fix changes -> its whole text afterwards
    applicability: Applicability = UNSAFE
    title: str = ""  # a substring of the fix title
    alternative: bool = False  # the fix is offered next to the main one (editors only)


def _text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _module(body: str) -> str:
    return HEAD + _text(body)


def _pick(finding, case: Case) -> Fix:
    if case.alternative:
        assert finding.alternatives, "an alternative fix is offered"
        return finding.alternatives[0]
    assert finding.fix is not None, "a fix is offered"
    return finding.fix


def run_case(tmp_path: Path, case: Case) -> None:
    files = {name: _text(text) for name, text in case.files.items()}
    project = write_project(tmp_path / "app", files, schema=None)
    convex = project / "convex"
    paths = {name: convex / name for name in files}
    before_errors = {name: error_nodes(path) for name, path in paths.items()}
    _, result = check_project(project, select=[case.rule])
    findings = [f for f in result.findings if f.rule == case.rule]
    assert len(findings) == 1, [f.message for f in findings]
    fix = _pick(findings[0], case)
    assert fix.applicability is case.applicability
    assert case.title in fix.title
    outcome = apply_fixes_once([fix], lambda p: p.read_bytes())
    assert outcome.applied == 1 and not outcome.rejected
    for path, data in outcome.new_texts.items():
        path.write_bytes(data)
    for name, path in paths.items():
        wanted = _text(case.expected[name]) if name in case.expected else files[name]
        assert path.read_text() == wanted, f"{name} after the fix"
        assert error_nodes(path) <= before_errors[name], f"{name}: the fix added a syntax error"
    _, again = check_project(project, select=[case.rule])
    assert [f.message for f in again.findings if f.rule == case.rule] == [], (
        "the diagnostic is gone"
    )
    after = {name: path.read_text() for name, path in paths.items()}
    run_fix(project, [case.rule], unsafe=True)
    assert {name: path.read_text() for name, path in paths.items()} == after, (
        "a second --fix changes nothing"
    )


TASKS_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  tasks: defineTable({
    orgId: v.id("orgs"),
    status: v.string(),
    kind: v.string(),
    createdAt: v.number(),
  })
    .index("by_orgId", ["orgId"])
    .index("by_orgId_and_createdAt", ["orgId", "createdAt"]),
  orgs: defineTable({ name: v.string() }),
});
"""


def _tasks_schema_plus(line: str) -> str:
    return TASKS_SCHEMA.replace(
        '.index("by_orgId_and_createdAt", ["orgId", "createdAt"]),',
        f'.index("by_orgId_and_createdAt", ["orgId", "createdAt"])\n    {line},',
    )


FILTER_CASES: dict[str, Case] = {
    "after an index: add the composite index and use it": Case(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "tasks.ts": _module(
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
            "schema.ts": _tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": _module(
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
            "tasks.ts": _module(
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
            "schema.ts": _tasks_schema_plus('.index("by_kind", ["kind"])'),
            "tasks.ts": _module(
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
            "schema.ts": _tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": _module(
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
            "tasks.ts": _module(
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
            "tasks.ts": _module(
                """
                export const recent = query({
                  args: {},
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
            "tasks.ts": _module(
                """
                export const recent = query({
                  args: {},
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
            "tasks.ts": _module(
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
            "schema.ts": _tasks_schema_plus('.index("by_orgId_and_status", ["orgId", "status"])'),
            "tasks.ts": _module(
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
            "tasks.ts": _module(
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
            "schema.ts": _tasks_schema_plus(
                '.index("by_orgId_and_status_and_createdAt", ["orgId", "status", "createdAt"])'
            ),
            "tasks.ts": _module(
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
            "schema.ts": _tasks_schema_plus(
                '.index("by_orgId_and_status_and_kind", ["orgId", "status", "kind"])'
            ),
            "tasks.ts": _module(
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
            "tasks.ts": _module(
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
            "tasks.ts": _module(
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
            "tasks.ts": _module(
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
            "flags.ts": _module(
                """
                export const get = query({
                  args: {},
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
            "flags.ts": _module(
                """
                export const get = query({
                  args: {},
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
            "tasks.ts": _module(
                """
                export const byKind = query({
                  args: {},
                  handler: async (ctx, args) => {
                    const q = args.kind;
                    return await ctx.db.query("tasks").filter((f) => f.eq(f.field("kind"), q)).take(5);
                  },
                });
                """
            ),
        },
        {
            "schema.ts": _tasks_schema_plus('.index("by_kind", ["kind"])'),
            "tasks.ts": _module(
                """
                export const byKind = query({
                  args: {},
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
            "tasks.ts": _module(
                """
                export const since = query({
                  args: {},
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
            "tasks.ts": _module(
                """
                export const since = query({
                  args: {},
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
            "tasks.ts": _module(
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
            "schema.ts": _tasks_schema_plus('.index("by_kind", ["kind"])'),
            "tasks.ts": _module(
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
}


RANGE_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  enrollments: defineTable({ orgId: v.string(), status: v.string(), at: v.number() })
    .index("by_orgId_and_status_and_at", ["orgId", "status", "at"]),
});
"""

RANGE_CASES: dict[str, Case] = {
    "equalities swapped (safe: plain values)": Case(
        "index-range-order",
        {
            "schema.ts": RANGE_SCHEMA,
            "e.ts": _module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("status", "active").eq("orgId", args.orgId))
                      .take(5),
                });
                """
            ),
        },
        {
            "e.ts": _module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("orgId", args.orgId).eq("status", "active"))
                      .take(5),
                });
                """
            ),
        },
        applicability=SAFE,
    ),
    "a bound first, over several lines (whitespace stays in place)": Case(
        "index-range-order",
        {
            "schema.ts": RANGE_SCHEMA,
            "e.ts": _module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) =>
                        q
                          .lt("at", 10)
                          .eq("status", "active")
                          .gte("at", 1)
                          .eq("orgId", args.orgId),
                      )
                      .take(5),
                });
                """
            ),
        },
        {
            "e.ts": _module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) =>
                        q
                          .eq("orgId", args.orgId)
                          .eq("status", "active")
                          .gte("at", 1)
                          .lt("at", 10),
                      )
                      .take(5),
                });
                """
            ),
        },
        applicability=SAFE,
    ),
    "a value that calls something: unsafe (evaluation order changes)": Case(
        "index-range-order",
        {
            "schema.ts": RANGE_SCHEMA,
            "e.ts": _module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("status", norm(args.s)).eq("orgId", args.orgId))
                      .take(5),
                });
                """
            ),
        },
        {
            "e.ts": _module(
                """
                export const f = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db
                      .query("enrollments")
                      .withIndex("by_orgId_and_status_and_at", (q) => q.eq("orgId", args.orgId).eq("status", norm(args.s)))
                      .take(5),
                });
                """
            ),
        },
        applicability=UNSAFE,
    ),
}


USE_ORG = _module(
    """
    export const f = query({
      args: {},
      handler: async (ctx, args) =>
        await ctx.db.query("players").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).take(5),
    });
    """
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
            "q.ts": _module(
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
            "q.ts": _module(
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
            "m.ts": _module(
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
            "m.ts": _module(
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
            "m.ts": _module(
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

FETCH_HEAD = 'import { action } from "./_generated/server";\n\n'


def _action(body: str) -> str:
    return FETCH_HEAD + _text(body)


FETCH_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({ notes: defineTable({ text: v.string() }) });
"""

FETCH_CASES: dict[str, Case] = {
    "multi-line options with a trailing comma": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": _action(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST",
                      body: "{}",
                    });
                  },
                });
                """
            ),
        },
        {
            "a.ts": _action(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST",
                      body: "{}",
                      signal: AbortSignal.timeout(10_000),
                    });
                  },
                });
                """
            ),
        },
        title="Add a 10 s timeout",
    ),
    "multi-line options without a trailing comma": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": _action(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST"
                    });
                  },
                });
                """
            ),
        },
        {
            "a.ts": _action(
                """
                export const send = action({
                  args: {},
                  handler: async () => {
                    await fetch("https://api.example.com", {
                      method: "POST",
                      signal: AbortSignal.timeout(10_000)
                    });
                  },
                });
                """
            ),
        },
    ),
    "empty options and no options": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": _action(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch("https://api.example.com", {})).status,
                });
                """
            ),
        },
        {
            "a.ts": _action(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch("https://api.example.com", { signal: AbortSignal.timeout(10_000) })).status,
                });
                """
            ),
        },
    ),
    "no options at all": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": _action(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch(`https://api.example.com/${1}`)).status,
                });
                """
            ),
        },
        {
            "a.ts": _action(
                """
                export const ping = action({
                  args: {},
                  handler: async () => (await fetch(`https://api.example.com/${1}`, { signal: AbortSignal.timeout(10_000) })).status,
                });
                """
            ),
        },
    ),
    "axios.post gets a config with a timeout": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": _action(
                """
                import axios from "axios";

                export const send = action({
                  args: {},
                  handler: async () => (await axios.post("https://api.example.com", { a: 1 })).status,
                });
                """
            ),
        },
        {
            "a.ts": _action(
                """
                import axios from "axios";

                export const send = action({
                  args: {},
                  handler: async () => (await axios.post("https://api.example.com", { a: 1 }, { timeout: 10_000 })).status,
                });
                """
            ),
        },
    ),
    "an OpenAI client gets a timeout option": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": _action(
                """
                import OpenAI from "openai";

                export const ask = action({
                  args: {},
                  handler: async () => {
                    const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
                    return await openai.models.list();
                  },
                });
                """
            ),
        },
        {
            "a.ts": _action(
                """
                import OpenAI from "openai";

                export const ask = action({
                  args: {},
                  handler: async () => {
                    const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY, timeout: 10_000 });
                    return await openai.models.list();
                  },
                });
                """
            ),
        },
    ),
    "an OpenAI client with no options": Case(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": 'import OpenAI from "openai";\n\nconst openai = new OpenAI();\nexport default openai;\n',
        },
        {
            "a.ts": 'import OpenAI from "openai";\n\nconst openai = new OpenAI({ timeout: 10_000 });\nexport default openai;\n'
        },
    ),
}

ALL_CASES = {**FILTER_CASES, **RANGE_CASES, **HYGIENE_CASES, **FETCH_CASES}


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_fix(tmp_path, name):
    run_case(tmp_path, ALL_CASES[name])


# -- no fix where one cannot be built safely ---------------------------------------------------------


@dataclass
class NoFix:
    rule: str
    files: dict[str, str]
    why: str = ""
    count: int = 1
    extra: dict[str, object] = field(default_factory=dict)


NO_FIX: dict[str, NoFix] = {
    "conditional filter on a split chain": NoFix(
        "filter-on-query",
        {
            "schema.ts": TASKS_SCHEMA,
            "t.ts": _module(
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
            "e.ts": _module(
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
    "redundant index that a query orders by: reported, not removed": NoFix(
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
            "m.ts": _module(
                """
                export const latest = query({
                  args: {},
                  handler: async (ctx, args) =>
                    await ctx.db.query("messages").withIndex("by_threadId", (q) => q.eq("threadId", args.t)).order("desc").take(20),
                });
                """
            ),
        },
    ),
    "fetch options from a const: reported, not rewritten": NoFix(
        "fetch-without-timeout",
        {
            "schema.ts": FETCH_SCHEMA,
            "a.ts": _action(
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
    case = NO_FIX[name]
    project = write_project(
        tmp_path / "app", {k: _text(v) for k, v in case.files.items()}, schema=None
    )
    _, result = check_project(project, select=[case.rule])
    findings = [f for f in result.findings if f.rule == case.rule]
    assert len(findings) == case.count
    assert all(f.fix is None for f in findings)
