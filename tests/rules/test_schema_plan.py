"""One schema plan per run: the index rules agree, and applying all their fixes together
leaves every query on an index that exists, with a range valid on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.cli.main import main
from convex_xray.engine.config import Config
from convex_xray.engine.fixes import select_fixes
from convex_xray.rules.support.schema_plan import schema_plan
from tests.support.project import check_project, workspace_for, write_project

SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  deals: defineTable({
    territoryId: v.string(),
    entityType: v.string(),
    ownerId: v.string(),
    stage: v.string(),
    closedAt: v.number(),
  })
    .index("by_territory", ["territoryId"])
    .index("by_territory_entity", ["territoryId", "entityType"])
    .index("by_owner", ["ownerId"])
    .index("by_owner_and_stage", ["ownerId", "stage"])
    .index("by_owner_and_stage_and_closedAt", ["ownerId", "stage", "closedAt"]),
  messages: defineTable({ threadId: v.string(), authorId: v.string(), groupId: v.string(), kind: v.string() })
    .index("by_threadId", ["threadId"])
    .index("by_threadId_and_authorId", ["threadId", "authorId"])
    .index("by_groupId", ["groupId"])
    .index("by_groupId_and_kind", ["groupId", "kind"]),
  shows: defineTable({ date: v.number(), venueId: v.string(), region: v.string(), userId: v.string() })
    .index("by_date", ["date"])
    .index("by_venue", ["venueId"])
    .index("by_venue_and_date", ["venueId", "date"])
    .index("by_region", ["venueId", "userId"])
    .index("by_user", ["userId"]),
  tasks: defineTable({ projectId: v.string(), status: v.string(), title: v.string() }),
});
"""

QUERIES = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const deals = query({
  args: { t: v.string(), o: v.string() },
  handler: async (ctx, args) => {
    // by_territory_entity is unused: it is removed, so by_territory is no longer redundant.
    const a = await ctx.db.query("deals").withIndex("by_territory", (q) => q.eq("territoryId", args.t)).collect();
    // by_owner and by_owner_and_stage both move to the longest index (not to each other).
    const b = await ctx.db.query("deals").withIndex("by_owner", (q) => q.eq("ownerId", args.o)).collect();
    const c = await ctx.db.query("deals").withIndex("by_owner_and_stage", (q) => q.eq("ownerId", args.o).eq("stage", "won")).collect();
    const d = await ctx.db
      .query("deals")
      .withIndex("by_owner_and_stage_and_closedAt", (q) => q.eq("ownerId", args.o).eq("stage", "won").gt("closedAt", 0))
      .collect();
    return { a, b, c, d };
  },
});

export const messages = query({
  args: { t: v.string(), a: v.string(), g: v.string(), since: v.number() },
  handler: async (ctx, args) => {
    // Newest first within a thread: by_threadId is needed for its order.
    const latest = await ctx.db.query("messages").withIndex("by_threadId", (q) => q.eq("threadId", args.t)).order("desc").take(10);
    const mine = await ctx.db
      .query("messages")
      .withIndex("by_threadId_and_authorId", (q) => q.eq("threadId", args.t).eq("authorId", args.a))
      .collect();
    // A bound on _creationTime right after groupId: valid on by_groupId only.
    const recent = await ctx.db
      .query("messages")
      .withIndex("by_groupId", (q) => q.eq("groupId", args.g).gt("_creationTime", args.since))
      .collect();
    const notes = await ctx.db
      .query("messages")
      .withIndex("by_groupId_and_kind", (q) => q.eq("groupId", args.g).eq("kind", "note"))
      .collect();
    return { latest, mine, recent, notes };
  },
});

export const shows = query({
  args: { cutoff: v.number(), venue: v.string(), region: v.string(), user: v.string() },
  handler: async (ctx, args) => {
    // No query names by_date, but this filter can use it: it must not be removed as unused.
    const old = await ctx.db.query("shows").filter((q) => q.lt(q.field("date"), args.cutoff)).collect();
    // Only this filter would use by_venue, which by_venue_and_date extends: it moves there.
    const here = await ctx.db.query("shows").filter((q) => q.eq(q.field("venueId"), args.venue)).collect();
    const both = await ctx.db
      .query("shows")
      .withIndex("by_venue_and_date", (q) => q.eq("venueId", args.venue).gt("date", args.cutoff))
      .collect();
    // "by_region" is taken by an index on other fields: a new index needs another name.
    const regional = await ctx.db.query("shows").filter((q) => q.eq(q.field("region"), args.region)).collect();
    // A misspelt index: "did you mean by_user" fits the range, so by_user is kept for it.
    const theirs = await ctx.db.query("shows").withIndex("by_usr", (q) => q.eq("userId", args.user)).collect();
    return { old, here, both, regional, theirs };
  },
});

export const tasks = query({
  args: { p: v.string() },
  handler: async (ctx, args) => {
    // Two filters on a table without indexes: [projectId] is a prefix of
    // [projectId, status], so one index serves both.
    const all = await ctx.db.query("tasks").filter((q) => q.eq(q.field("projectId"), args.p)).collect();
    const open = await ctx.db
      .query("tasks")
      .filter((q) => q.and(q.eq(q.field("projectId"), args.p), q.eq(q.field("status"), "open")))
      .collect();
    return { all, open };
  },
});
"""

ERROR_RULES = ("unknown-index", "index-range-order")


def _project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "app", {"queries.ts": QUERIES}, schema=SCHEMA)


def _plan(project: Path):
    workspace = workspace_for(project)
    return schema_plan(workspace, Config())


def test_plan_removes_unused_first_and_moves_prefixes_to_a_kept_index(tmp_path):
    plan = _plan(_project(tmp_path))
    removals = {(p.table.name, r.index.name): r for p, r in plan.removals()}
    assert removals[("deals", "by_territory_entity")].reason == "unused"
    assert ("deals", "by_territory") not in removals  # its longer index is gone
    # Both prefixes go to the longest index, never to one that is itself removed.
    assert removals[("deals", "by_owner")].target.name == "by_owner_and_stage_and_closedAt"
    assert removals[("deals", "by_owner_and_stage")].target.name == "by_owner_and_stage_and_closedAt"
    # Needed as they are: newest-first order, a `_creationTime` bound after the prefix.
    assert ("messages", "by_threadId") not in removals
    assert ("messages", "by_groupId") not in removals
    kept = {(p.table.name, name): k.why for p in plan.tables.values() for name, k in p.kept_redundant.items()}
    assert kept[("messages", "by_threadId")] == "order"
    assert kept[("messages", "by_groupId")] == "range"
    # Used only by what other fixes of the plan rewrite: by_date (a filter), by_user (a typo's fix).
    assert ("shows", "by_date") not in removals
    assert ("shows", "by_user") not in removals
    # by_venue is used only by a filter that can move to by_venue_and_date.
    assert removals[("shows", "by_venue")].target.name == "by_venue_and_date"


def test_plan_adds_one_index_for_prefix_filters_and_never_a_taken_name(tmp_path):
    plan = _plan(_project(tmp_path))
    added = {(a.table, a.name): a.fields for a in plan.additions()}
    assert added == {
        ("tasks", "by_projectId_and_status"): ["projectId", "status"],
        ("shows", added_name(added, "shows")): ["region"],
    }
    assert added_name(added, "shows") != "by_region"  # taken by an index on other fields
    assert not any(name in {"by_date", "by_venue"} for _table, name in added)


def added_name(added: dict[tuple[str, str], list[str]], table: str) -> str:
    return next(name for t, name in added if t == table)


def test_findings_agree_with_the_plan(tmp_path):
    project = _project(tmp_path)
    _, result = check_project(project)
    by_rule: dict[str, list] = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    unused = {f.message.split("`")[1]: f for f in by_rule.get("unused-index", [])}
    assert unused["by_territory_entity"].fix is not None
    assert unused["by_date"].fix is None and "Keep it" in unused["by_date"].message
    redundant = {f.message.split("`")[1] for f in by_rule.get("redundant-index", [])}
    assert redundant == {"by_owner", "by_owner_and_stage", "by_venue"}
    titles = sorted(f.fix.title for f in by_rule.get("filter-on-query", []) if f.fix is not None)
    assert "Use index `by_venue_and_date` instead of `.filter()`" in titles
    assert "Use index `by_date` instead of `.filter()`" in titles
    assert sum("Add index `by_projectId_and_status`" in t for t in titles) == 2
    [typo] = by_rule["unknown-index"]
    assert typo.fix is not None and typo.fix.title == "Use index `by_user`"


def test_all_fixes_together_leave_no_error_and_converge(tmp_path):
    project = _project(tmp_path)
    before = {p: p.read_bytes() for p in (project / "convex").rglob("*.ts")}
    _, result = check_project(project)
    errors_before = sum(1 for f in result.findings if f.rule in ERROR_RULES)
    assert errors_before == 1  # the misspelt index
    assert main(["check", str(project), "--fix", "--unsafe-fixes", "--exit-zero", "--quiet", "--no-cache"]) == 0
    fixed = {p: p.read_bytes() for p in before}
    assert fixed != before
    _, after = check_project(project)
    assert [f.message for f in after.findings if f.rule in ERROR_RULES] == []
    assert not [f for f in after.findings if f.rule == "syntax-error"]
    schema = (project / "convex" / "schema.ts").read_text()
    assert '"by_territory"' in schema and '"by_threadId"' in schema and '"by_groupId"' in schema
    assert '"by_owner"' not in schema and '"by_territory_entity"' not in schema
    assert schema.count('"by_projectId_and_status"') == 1
    # Nothing left to apply: a second run changes nothing.
    assert not select_fixes(after.findings, unsafe=True) or _second_run_is_a_no_op(project, fixed)


def _second_run_is_a_no_op(project: Path, fixed: dict[Path, bytes]) -> bool:
    main(["check", str(project), "--fix", "--unsafe-fixes", "--exit-zero", "--quiet", "--no-cache"])
    return {p: p.read_bytes() for p in fixed} == fixed


def test_report_schema_tables_are_the_plan(tmp_path):
    from convex_xray.cli.report.build import Options, build_report

    project = _project(tmp_path)
    workspace, result = check_project(project)
    report = build_report(workspace, result, Options(target=project, command_target=".", config=Config()))
    added = {(c.table, c.name): c for c in report.indexes_add}
    removed = {(c.table, c.name): c for c in report.indexes_remove}
    # One index serves both task filters; never one that exists or is taken.
    assert added[("tasks", "by_projectId_and_status")].fields == ["projectId", "status"]
    assert len(added[("tasks", "by_projectId_and_status")].serves) == 2
    assert not {name for _t, name in added} & {"by_date", "by_venue", "by_region", "by_user"}
    # Removals: never an index a query (or another fix's rewrite) needs.
    assert set(removed) == {
        ("deals", "by_territory_entity"),
        ("deals", "by_owner"),
        ("deals", "by_owner_and_stage"),
        ("shows", "by_venue"),
    }
    assert "by_owner_and_stage_and_closedAt" in removed[("deals", "by_owner")].reason
    assert not set(added) & set(removed)


def test_a_misspelt_index_without_a_range_keeps_the_index_it_means(tmp_path):
    project = write_project(
        tmp_path / "app",
        {
            "q.ts": """
            import { query } from "./_generated/server";
            export const first = query({
              args: {},
              handler: async (ctx) => await ctx.db.query("tokens").withIndex("by_tokn").first(),
            });
            """
        },
        schema="""
        import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({
          tokens: defineTable({ token: v.string() }).index("by_token", ["token"]),
        });
        """,
    )
    plan = _plan(project)
    assert not plan.removals()  # nothing names by_token, but the typo's fix sends the query there
    main(["check", str(project), "--fix", "--unsafe-fixes", "--exit-zero", "--quiet", "--no-cache"])
    _, after = check_project(project)
    assert [f.rule for f in after.findings if f.rule in ERROR_RULES] == []
    assert '"by_token"' in (project / "convex" / "q.ts").read_text()


def test_the_cached_plan_holds_no_file_model_and_follows_file_changes(tmp_path):
    """A model kept by the plan's cache would keep a closed file's syntax tree alive until
    the next plan (in the editor: every file closed since)."""
    import gc
    import sys

    project = _project(tmp_path)
    workspace = workspace_for(project)
    config = Config()
    first = schema_plan(workspace, config)
    assert schema_plan(workspace, config) is first  # cached while nothing changes
    path = next(p for p in workspace.files() if p.name != "schema.ts")
    old = workspace.model(path)
    workspace.forget(path)
    gc.collect()
    assert sys.getrefcount(old) == 2  # this test's name for it, and getrefcount's argument
    assert schema_plan(workspace, config) is not first  # a file changed: planned again


# -- a data model at TypeScript's instantiation-depth limit ---------------------------------------

# The app's own TS2589 directive on a query (its data model is too deep: a new index would
# deepen it), or only on function references (the generated `api` is: indexes are fine).
DEEP_DATA_MODEL = """
import { query } from "./_generated/server";

// @ts-expect-error TS2589: type instantiation is excessively deep
export const everything = query({ args: {}, handler: async (ctx) => await ctx.db.query("deals").take(5) });
"""

DEEP_REFERENCE = """
import { internal } from "./_generated/api";

export async function schedule(ctx: any) {
  // @ts-expect-error TS2589: type instantiation is excessively deep
  const sendFn = internal.emails.send;
  await ctx.scheduler.runAfter(0, sendFn, {});
}
"""

# A misspelt index no existing index starts like: the plan would add it under that name.
MISSING = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const titled = query({
  args: { p: v.string(), t: v.string() },
  handler: async (ctx, args) =>
    await ctx.db.query("tasks").withIndex("by_project_title", (q) => q.eq("projectId", args.p).eq("title", args.t)).collect(),
});
"""

AT_LIMIT_NOTE = "No fix: this app's data model is at TypeScript's instantiation-depth limit"
NEW_INDEX_NOTE = "a new index deepens its type"
TYPED_RANGE_NOTE = "a new typed index range can collapse the table's document type"

# A helper whose `ctx` is `any`: its query's range is untyped, a rewrite instantiates nothing.
UNTYPED = """
export async function userShows(ctx: any, user: string) {
  return await ctx.db.query("shows").filter((q: any) => q.eq(q.field("userId"), user)).collect();
}
"""


def _deep_project(tmp_path: Path, deep: str) -> Path:
    return write_project(
        tmp_path / "app",
        {"queries.ts": QUERIES, "missing.ts": MISSING, "deep.ts": deep, "untyped.ts": UNTYPED},
        schema=SCHEMA,
    )


def test_a_root_whose_data_model_is_at_the_depth_limit_gets_no_new_index(tmp_path):
    plan = _plan(_deep_project(tmp_path, DEEP_DATA_MODEL))
    assert plan.additions() == []
    # The rest of the plan is the same: filters still count as uses of the existing indexes
    # they move to (by_date is kept, by_venue moves to by_venue_and_date), the typo's index
    # is kept for its rename.
    removals = {(p.table.name, r.index.name): r for p, r in plan.removals()}
    assert set(removals) == {
        ("deals", "by_territory_entity"),
        ("deals", "by_owner"),
        ("deals", "by_owner_and_stage"),
        ("shows", "by_venue"),
    }
    assert removals[("shows", "by_venue")].target.name == "by_venue_and_date"


def test_a_root_whose_directives_sit_on_function_references_still_adds_indexes(tmp_path):
    plan = _plan(_deep_project(tmp_path, DEEP_REFERENCE))
    added = {(a.table, a.name): (a.fields, a.reason) for a in plan.additions()}
    assert added[("tasks", "by_projectId_and_status")] == (["projectId", "status"], "filter")
    assert added[("tasks", "by_project_title")] == (["projectId", "title"], "unknown-index")
    assert len(added) == 3  # and the shows region index


def test_at_the_depth_limit_a_filter_that_needs_a_new_index_keeps_its_finding_without_an_edit(tmp_path):
    _, result = check_project(_deep_project(tmp_path, DEEP_DATA_MODEL))
    filters = [f for f in result.findings if f.rule == "filter-on-query"]
    new_index = [f for f in filters if "add `.index(" in f.message]
    existing = [f for f in filters if "add `.index(" not in f.message]
    assert len(new_index) == 3  # the two tasks filters and the shows region filter
    assert all(f.fix is None and AT_LIMIT_NOTE in f.message and NEW_INDEX_NOTE in f.message for f in new_index)
    # Rewrites to an existing index: only where the range is untyped (`ctx: any`).
    typed = [f for f in existing if f.path.name == "queries.ts"]
    untyped = [f for f in existing if f.path.name == "untyped.ts"]
    assert len(typed) == 2  # by_date, by_venue_and_date
    assert all(f.fix is None and TYPED_RANGE_NOTE in f.message for f in typed)
    [helper] = untyped
    assert helper.fix is not None and helper.fix.title == "Use index `by_user` instead of `.filter()`"
    assert AT_LIMIT_NOTE not in helper.message
    # The misspelt index: the rename stays, adding the index is not offered.
    missing = [f for f in result.findings if f.rule == "unknown-index" and "by_project_title" in f.message]
    typo = [f for f in result.findings if f.rule == "unknown-index" and "by_usr" in f.message]
    assert [a.title for f in missing for a in [*f.alternatives, *([f.fix] if f.fix else [])]] == []
    assert typo[0].fix is not None and typo[0].fix.title == "Use index `by_user`"
    assert not any("Add index" in a.title for a in typo[0].alternatives)


def test_outside_the_depth_limit_the_same_filters_add_their_index(tmp_path):
    _, result = check_project(_deep_project(tmp_path, DEEP_REFERENCE))
    filters = [f for f in result.findings if f.rule == "filter-on-query"]
    assert not any(AT_LIMIT_NOTE in f.message for f in filters)
    titles = [f.fix.title for f in filters if f.fix is not None]
    assert sum("Add index `by_projectId_and_status`" in t for t in titles) == 2
    [missing] = [f for f in result.findings if f.rule == "unknown-index" and "by_project_title" in f.message]
    assert [a.title for a in missing.alternatives] == ["Add index `by_project_title` (`projectId`, `title`) to `schema.ts`"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_at_the_depth_limit_all_fixes_leave_the_schema_without_a_new_index_and_converge(tmp_path, jobs):
    # In one process and across worker processes (each plans its shard, the parent re-checks).
    project = _deep_project(tmp_path, DEEP_DATA_MODEL)
    schema_path = project / "convex" / "schema.ts"
    indexes_before = schema_path.read_text().count(".index(")
    argv = ["check", str(project), "--fix", "--unsafe-fixes", "--exit-zero", "--quiet", "--no-cache", "--jobs", jobs]
    assert main(argv) == 0
    schema = schema_path.read_text()
    assert schema.count(".index(") == indexes_before - 4  # the four removals, no addition
    queries = (project / "convex" / "queries.ts").read_text()
    assert 'q.eq(q.field("projectId"), args.p)' in queries  # the tasks filters stay as written
    assert 'q.eq(q.field("venueId"), args.venue)' in queries  # a typed range: not rewritten
    untyped = (project / "convex" / "untyped.ts").read_text()
    assert 'withIndex("by_user", (q: any) => q.eq("userId", user))' in untyped
    _, after = check_project(project)
    # The two misspelt indexes: by_usr is renamed, by_project_title has no fix here.
    assert [f.message.split("`")[3] for f in after.findings if f.rule in ERROR_RULES] == ["by_project_title"]
    fixed = {p: p.read_bytes() for p in (project / "convex").rglob("*.ts")}
    assert _second_run_is_a_no_op(project, fixed)
