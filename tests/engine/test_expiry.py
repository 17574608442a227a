"""Tables kept small by expiry (`engine.expiry`): a cron deletes their rows shortly after they
are written, so the cost model takes reads of them for the rows alive at once, and nothing else."""

from __future__ import annotations

import dataclasses

import pytest

from convex_xray.engine.config import Config
from convex_xray.engine.cost import Growth
from convex_xray.engine.expiry import expiring_tables
from convex_xray.engine.findings import Severity
from convex_xray.engine.source import SourceFile
from convex_xray.engine.triggers import _period
from tests.support.project import DEFAULT_SCHEMA, check_project, workspace_for, write_project

HEADER = 'import { query, mutation, internalMutation } from "./_generated/server";\nimport { internal } from "./_generated/api";\nimport { v } from "convex/values";\n'
SCHEMA = DEFAULT_SCHEMA.replace(
    "export default defineSchema({",
    "export default defineSchema({\n"
    "  otpCodes: defineTable({ code: v.string(), expiresAt: v.number(), status: v.string() }).index(\"by_expiresAt\", [\"expiresAt\"]),\n"
    "  hits: defineTable({ key: v.string(), windowStart: v.number() }),",
)
# A public query that reads the whole table: full-table-scan's warning, unless the table stays small.
SCAN = HEADER + """
export const activeCodes = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("otpCodes").collect();
  },
});

export const allHits = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("hits").collect();
  },
});
"""
# Codes live five minutes from when they are made.
ISSUE = HEADER + """
const CODE_TTL_MS = 5 * 60 * 1000;

export const issue = mutation({
  args: { code: v.string() },
  handler: async (ctx, args) => {
    const now = Date.now();
    await ctx.db.insert("otpCodes", { code: args.code, status: "new", expiresAt: now + CODE_TTL_MS });
  },
});
"""
PURGE_RANGE = HEADER + """
export const purge = internalMutation({
  args: {},
  handler: async (ctx) => {
    const expired = await ctx.db
      .query("otpCodes")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", Date.now()))
      .collect();
    for (const row of expired) {
      await ctx.db.delete(row._id);
    }
  },
});
"""
CRONS = 'import { cronJobs } from "convex/server";\nimport { internal } from "./_generated/api";\nconst crons = cronJobs();\n{jobs}\nexport default crons;\n'


def _crons(*jobs: str) -> str:
    return CRONS.replace("{jobs}", "\n".join(jobs))


EVERY_5_MINUTES = 'crons.interval("purge codes", { minutes: 5 }, internal.cleanup.purge);'


def _scans(tmp_path, files: dict[str, str], config: Config | None = None):
    project = write_project(tmp_path / "app", {"codes.ts": SCAN, **files}, schema=SCHEMA)
    _, result = check_project(project, select=["full-table-scan"], config=config)
    return {f.function: f for f in result.findings}


def test_a_table_a_cron_purges_shortly_after_expiry_is_small(tmp_path):
    found = _scans(tmp_path, {"issue.ts": ISSUE, "cleanup.ts": PURGE_RANGE, "crons.ts": _crons(EVERY_5_MINUTES)})
    codes = found["activeCodes"]
    assert (codes.cost.growth, codes.cost.reads, codes.severity) == (Growth.BOUNDED, 100, Severity.INFO)
    assert "`otpCodes` is kept small by expiry" in codes.message
    [why] = [a for a in codes.cost.assumptions if "alive at once" in a]
    # five minutes of life plus up to five until the next sweep
    assert "rows live at most 10 minutes" in why and "`purge` (cleanup.ts:" in why and "every 5 minutes" in why
    assert "inserts set 5 minutes ahead (issue.ts:" in why and "`[cost] growing-tables`" in why
    # Another table of the same app is not touched.
    assert (found["allHits"].cost.growth, found["allHits"].severity) == (Growth.WHOLE_TABLE, Severity.WARNING)


HITS_SWEEP = HEADER + """
import { WINDOW_MS } from "./limits";

export const sweepHits = internalMutation({
  args: {},
  handler: async (ctx) => {
    const cutoff = Date.now() - 2 * WINDOW_MS;
    const rows = await ctx.db.query("hits").collect();
    for (const row of rows) {
      if (row.windowStart < cutoff) {
        await ctx.db.delete(row._id);
      }
    }
  },
});

export const runAll = internalMutation({
  args: {},
  handler: async (ctx) => {
    await ctx.runMutation(internal.sweeps.sweepHits, {});
  },
});
"""
LIMITS = "export const WINDOW_MS = 60 * 60 * 1000;\n"


def test_a_loop_that_deletes_old_rows_through_a_cron_s_call_with_an_imported_constant(tmp_path):
    found = _scans(tmp_path, {"sweeps.ts": HITS_SWEEP, "limits.ts": LIMITS, "crons.ts": _crons('crons.hourly("hits", { minuteUTC: 0 }, internal.sweeps.runAll);')})
    hits = found["allHits"]
    assert (hits.cost.growth, hits.severity) == (Growth.BOUNDED, Severity.INFO)
    [why] = [a for a in hits.cost.assumptions if "alive at once" in a]
    assert "rows live at most 3 hours" in why and "once `windowStart` is 2 hours old" in why


FILTER_SWEEP = HEADER + """
export const purge = internalMutation({
  args: {},
  handler: async (ctx) => {
    const batch = await ctx.db
      .query("hits")
      .filter((q) => q.lt(q.field("_creationTime"), Date.now() - 30 * 60 * 1000))
      .take(200);
    for (const row of batch) {
      await ctx.db.delete(row._id);
    }
    if (batch.length === 200) {
      await ctx.scheduler.runAfter(0, internal.cleanup.purge, {});
    }
  },
});
"""


def test_a_batched_filter_sweep_that_schedules_its_next_batch(tmp_path):
    found = _scans(tmp_path, {"cleanup.ts": FILTER_SWEEP, "crons.ts": _crons('crons.cron("hits", "*/15 * * * *", internal.cleanup.purge);')})
    [why] = [a for a in found["allHits"].cost.assumptions if "alive at once" in a]
    assert "rows live at most 45 minutes" in why


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"issue.ts": ISSUE}, "an expiry field but nothing deletes"),
        ({"issue.ts": ISSUE, "cleanup.ts": PURGE_RANGE}, "a sweep no cron runs"),
        (
            {"issue.ts": ISSUE, "cleanup.ts": PURGE_RANGE, "crons.ts": _crons('crons.daily("purge", { hourUTC: 3, minuteUTC: 0 }, internal.cleanup.purge);'),
             "more.ts": ISSUE.replace("now + CODE_TTL_MS", "now + 2 * 24 * 60 * 60 * 1000").replace("issue =", "issueLong =")},
            "rows that live two days",
        ),
        (
            {"issue.ts": ISSUE, "crons.ts": _crons(EVERY_5_MINUTES),
             "cleanup.ts": PURGE_RANGE.replace('.withIndex("by_expiresAt", (q) => q.lt("expiresAt", Date.now()))',
                                               '.filter((q) => q.and(q.lt(q.field("expiresAt"), Date.now()), q.neq(q.field("status"), "used")))')},
            "a sweep that keeps the used codes",
        ),
        (
            {"issue.ts": ISSUE, "crons.ts": _crons(EVERY_5_MINUTES),
             "cleanup.ts": PURGE_RANGE.replace("for (const row of expired) {", 'for (const row of expired) {\n      if (row.status === "used") continue;')},
            "a loop that keeps the used codes",
        ),
        (
            {"issue.ts": ISSUE, "crons.ts": _crons(EVERY_5_MINUTES), "cleanup.ts": PURGE_RANGE.replace(".collect()", ".take(100)")},
            "a batch a tick and no next batch",
        ),
        (
            {"issue.ts": ISSUE, "crons.ts": _crons(EVERY_5_MINUTES),
             "cleanup.ts": PURGE_RANGE.replace("args: {}", "args: { now: v.number() }").replace("async (ctx)", "async (ctx, args)").replace("Date.now()", "args.now")},
            "a cutoff the caller passes",
        ),
        (
            {"issue.ts": ISSUE, "cleanup.ts": PURGE_RANGE, "crons.ts": _crons(EVERY_5_MINUTES),
             "import.ts": HEADER + 'export const load = mutation({ args: {}, handler: async (ctx) => { await ctx.db.insert("otpCodes", { code: "x", status: "new" }); } });\n'},
            "an insert that never sets the expiry",
        ),
    ],
)
def test_a_table_that_no_cron_keeps_short_still_grows(tmp_path, files, reason):
    codes = _scans(tmp_path, files)["activeCodes"]
    assert (codes.cost.growth, codes.severity) == (Growth.WHOLE_TABLE, Severity.WARNING), reason
    assert "kept small" not in codes.message


def test_growing_tables_opts_a_table_out(tmp_path):
    files = {"issue.ts": ISSUE, "cleanup.ts": PURGE_RANGE, "crons.ts": _crons(EVERY_5_MINUTES)}
    config = Config()
    config.cost = dataclasses.replace(config.cost, growing_tables=frozenset({"otpCodes"}))
    assert _scans(tmp_path, files, config)["activeCodes"].severity is Severity.WARNING


def test_the_verdict_follows_an_edit_of_the_cron(tmp_path):
    project = write_project(tmp_path / "app", {"issue.ts": ISSUE, "cleanup.ts": PURGE_RANGE, "crons.ts": _crons(EVERY_5_MINUTES)}, schema=SCHEMA)
    workspace = workspace_for(project)
    config = Config()
    assert set(expiring_tables(workspace, config)) == {"otpCodes"}
    crons = (project / "convex" / "crons.ts").resolve()
    workspace.set_source(SourceFile(crons, _crons()))
    assert expiring_tables(workspace, config) == {}


@pytest.mark.parametrize(
    ("detail", "arguments", "period"),
    [
        ("interval", b'"x", { minutes: 10 }, ', 600_000),
        ("interval", b'"x", { hours: 2 }, ', 7_200_000),
        ("hourly", b'"x", { minuteUTC: 5 }, ', 3_600_000),
        ("daily", b'"x", { hourUTC: 3, minuteUTC: 0 }, ', 86_400_000),
        ("cron", b'"x", "*/5 * * * *", ', 300_000),
        ("cron", b'"x", "15 * * * *", ', 3_600_000),
        ("cron", b'"x", "0 4 * * *", ', 86_400_000),
        ("cron", b'"x", "0 4 * * 1", ', None),
    ],
)
def test_how_often_a_cron_runs(detail, arguments, period):
    assert _period(detail, arguments) == period
