"""A queue its own job drains (`cost.drained_by`): a cron or scheduled function reads a range
of rows in some state and moves every row it reads out of it (patches the state to another
value, or deletes the row), so each run reads what became due since the last one
(`[cost] in-flight`), not a share of the table; and nothing that may leave rows behind."""

from __future__ import annotations

import pytest

from convex_xray.engine.cost import Growth
from convex_xray.engine.findings import Severity
from tests.support.project import DEFAULT_SCHEMA, check_project, write_project

HEADER = 'import { query, mutation, internalMutation } from "./_generated/server";\nimport { internal } from "./_generated/api";\nimport { v } from "convex/values";\n'
SCHEMA = DEFAULT_SCHEMA.replace(
    "export default defineSchema({",
    "export default defineSchema({\n"
    "  listings: defineTable({ state: v.string(), closesAt: v.number(), isLive: v.boolean(), sellerId: v.id(\"users\"), closedAt: v.optional(v.number()) })\n"
    "    .index(\"by_state_closesAt\", [\"state\", \"closesAt\"])\n"
    "    .index(\"by_isLive\", [\"isLive\"]),",
)
CRONS = (
    'import { cronJobs } from "convex/server";\nimport { internal } from "./_generated/api";\nconst crons = cronJobs();\n'
    'crons.interval("close listings", { minutes: 15 }, internal.jobs.closeDue);\n'
    "export default crons;\n"
)
# Every published listing past its closing time is closed, once per cron tick.
CLOSE_DUE = HEADER + """
export const closeDue = internalMutation({
  args: {},
  handler: async (ctx) => {
    const now = Date.now();
    const due = await ctx.db
      .query("listings")
      .withIndex("by_state_closesAt", (q) => q.eq("state", "published").lte("closesAt", now))
      .collect();
    for (const listing of due) {
      await ctx.db.patch(listing._id, { state: "closed", closedAt: now });
    }
  },
});
"""
# The same range a page lists in a reactive query: nothing drains it there.
PAGE = HEADER + """
export const published = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db
      .query("listings")
      .withIndex("by_state_closesAt", (q) => q.eq("state", "published"))
      .collect();
  },
});
"""


def _collects(tmp_path, jobs: str, crons: str = CRONS, extra: dict[str, str] | None = None):
    files = {"jobs.ts": jobs, "crons.ts": crons, "page.ts": PAGE, **(extra or {})}
    project = write_project(tmp_path / "app", files, schema=SCHEMA)
    _, result = check_project(project, select=["unbounded-collect", "n-plus-one-read"])
    return {(f.rule, f.function): f for f in result.findings}


def test_a_cron_that_moves_every_row_it_reads_out_of_the_range_reads_what_is_due(tmp_path):
    found = _collects(tmp_path, CLOSE_DUE)
    job = found[("unbounded-collect", "closeDue")]
    assert (job.cost.growth, job.cost.reads, job.severity) == (Growth.BOUNDED, 100, Severity.INFO)
    # The message says why, quoting the write and its line.
    assert "A queue this cron job drains: every row it reads leaves the range (`state` \"closed\", not \"published\")" in job.message
    assert '`ctx.db.patch(listing._id, { state: "closed", … })` (line 14)' in job.message
    assert any("since the last run" in a and "`[cost] in-flight`" in a for a in job.cost.assumptions)
    # A reactive query over the same state is not drained by that cron: it lists a share of the table.
    page = found[("unbounded-collect", "published")]
    assert (page.cost.growth, page.severity) == (Growth.WHOLE_TABLE, Severity.WARNING)
    assert "drains" not in page.message


SCHEDULED = (
    HEADER
    + """
export const request = mutation({
  args: {},
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, internal.jobs.unlist, {});
  },
});

export const unlist = internalMutation({
  args: {},
  handler: async (ctx) => {
    const live = await ctx.db.query("listings").withIndex("by_isLive", (q) => q.eq("isLive", true)).collect();
    await Promise.all(live.map((listing) => ctx.db.patch(listing._id, { isLive: false })));
  },
});

export const purge = internalMutation({
  args: {},
  handler: async (ctx) => {
    const closed = await ctx.db
      .query("listings")
      .withIndex("by_state_closesAt", (q) => q.eq("state", "closed").lt("closesAt", Date.now() - 86400000))
      .collect();
    await Promise.all(
      closed.map(async (listing) => {
        await ctx.db.delete(listing._id);
      }),
    );
  },
});
"""
)


def test_a_scheduled_flag_flip_and_a_delete_of_each_row_drain_their_ranges(tmp_path):
    crons = CRONS.replace("internal.jobs.closeDue", "internal.jobs.purge")
    found = _collects(tmp_path, SCHEDULED, crons)
    unlist = found[("unbounded-collect", "unlist")]
    assert (unlist.cost.growth, unlist.severity) == (Growth.BOUNDED, Severity.INFO)
    assert "A queue this scheduled job drains" in unlist.message
    assert "(`isLive` false, not true): `ctx.db.patch(listing._id, { isLive: false })` (line 16)" in unlist.message
    purge = found[("unbounded-collect", "purge")]
    assert (purge.cost.growth, purge.severity) == (Growth.BOUNDED, Severity.INFO)
    assert "every row it reads is deleted: `ctx.db.delete(listing._id)` (line 29)" in purge.message


def test_reads_in_the_loop_over_a_drained_queue_count_what_is_due(tmp_path):
    jobs = CLOSE_DUE.replace(
        "    for (const listing of due) {\n",
        "    for (const listing of due) {\n      const seller = await ctx.db.get(listing.sellerId);\n",
    )
    loop = _collects(tmp_path, jobs)[("n-plus-one-read", "closeDue")]
    assert loop.cost.growth is Growth.BOUNDED
    assert "due since the last run" in loop.cost.formula


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ("      await ctx.db.patch(listing._id, { state: \"closed\", closedAt: now });",
             "      if (listing.sellerId) {\n        await ctx.db.patch(listing._id, { state: \"closed\", closedAt: now });\n      }"),
            "the patch runs only under a condition: rows it skips stay in the range",
        ),
        (
            ("    for (const listing of due) {\n",
             "    for (const listing of due) {\n      if (listing.closedAt) continue;\n"),
            "a row may leave the loop before the patch",
        ),
        (('{ state: "closed", closedAt: now }', "{ closedAt: now }"), "a patch of another field leaves the row in the range"),
        (('{ state: "closed", closedAt: now }', '{ state: "published", closedAt: now }'), "the patch keeps the state"),
        (("ctx.db.patch(listing._id", "ctx.db.patch(listing.sellerId"), "the patch writes another document"),
        (
            ("    const due = await ctx.db", "    let due = await ctx.db"),
            "a `let` the function may cut down before the loop (here it does not, but the rule does not follow it)",
        ),
        (
            ("    for (const listing of due) {\n", "    due = due.slice(0, 10);\n    for (const listing of due) {\n"),
            "rows cut from the list before the loop stay in the range",
        ),
        (
            ('.lte("closesAt", now)', '.lte("closesAt", args.until)'),
            "a bound a caller passes may reach back over the whole table",
        ),
    ],
)
def test_a_cron_that_may_leave_rows_in_the_range_still_reads_a_share_of_the_table(tmp_path, change, reason):
    old, new = change
    jobs = CLOSE_DUE.replace(old, new)
    if "due.slice" in new:
        jobs = jobs.replace("const due = await", "let due = await")
    if "args.until" in new:
        jobs = jobs.replace("args: {}", "args: { until: v.number() }").replace("async (ctx)", "async (ctx, args)")
    assert jobs != CLOSE_DUE
    job = _collects(tmp_path, jobs)[("unbounded-collect", "closeDue")]
    assert (job.cost.growth, job.severity) == (Growth.WHOLE_TABLE, Severity.WARNING), reason
    assert "drains" not in job.message, reason


def test_a_drain_nothing_runs_on_a_schedule_is_not_taken_for_a_queue(tmp_path):
    # The same function, run only when someone calls it: the first call may find years of rows due.
    crons = CRONS.replace("internal.jobs.closeDue", "internal.jobs.other")
    job = _collects(tmp_path, CLOSE_DUE, crons)[("unbounded-collect", "closeDue")]
    assert job.cost.growth is Growth.WHOLE_TABLE
    assert "drains" not in job.message
