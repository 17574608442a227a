"""The cost model's context: reads under conditions and memoising caches, log/feed tables,
and functions run by crons or the scheduler."""

from __future__ import annotations

import pytest

from convex_xray.engine.config import Config, ConfigError, config_from_dict
from convex_xray.engine.cost import CostAssumptions, Growth, is_log_table
from convex_xray.engine.findings import Severity
from tests.support.project import check_project, write_project

HEADER = (
    'import { query, mutation, internalMutation, internalQuery } from "./_generated/server";\n'
    'import { v } from "convex/values";\n'
)

SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({ name: v.string(), email: v.string(), verified: v.boolean() }).index("by_email", ["email"]),
  threads: defineTable({ title: v.string() }),
  chatMessages: defineTable({ threadId: v.id("threads"), authorId: v.id("users"), body: v.string() })
    .index("by_threadId", ["threadId"]),
  attachments: defineTable({ postId: v.id("threads"), authorId: v.id("users") }).index("by_postId", ["postId"]),
  readings: defineTable({ sensorId: v.id("threads"), authorId: v.id("users"), createdAt: v.number() })
    .index("by_sensorId_and_createdAt", ["sensorId", "createdAt"]),
  jobs: defineTable({ status: v.string(), ownerId: v.id("users") })
    .index("by_status", ["status"])
    .index("by_ownerId", ["ownerId"]),
});
"""


def _findings(tmp_path, files: dict[str, str], rule: str, config: Config | None = None):
    project = write_project(tmp_path / "app", files, schema=SCHEMA)
    _, result = check_project(project, select=[rule], config=config)
    return [f for f in result.findings if f.rule == rule]


def _one(tmp_path, body: str, rule: str = "n-plus-one-read", config: Config | None = None, extra: dict[str, str] | None = None):
    found = _findings(tmp_path, {"f.ts": HEADER + body, **(extra or {})}, rule, config)
    assert len(found) == 1, [f.message for f in found]
    assert found[0].cost is not None
    return found[0]


# -- reads under a condition -------------------------------------------------------------

PROFILE = """
export async function loadProfile(ctx: any, userId: any) {
  return await ctx.db.get(userId);
}
"""


def test_a_read_under_an_if_is_counted_for_a_share_of_the_items(tmp_path):
    finding = _one(
        tmp_path,
        """
export const pairs = query({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").collect();
    const out = [];
    for (const user of users) {
      if (user.email.endsWith("@example.com")) {
        out.push(await ctx.db.get(user._id));
      }
    }
    return out;
  },
});
""",
    )
    cost = finding.cost
    assert cost.formula == "N(every users document, no index) x 1, only where `user.email.endsWith(\"@example…`".replace(" x 1,", ",")
    assert cost.reads == 1_000  # 10% of the assumed 10,000, not 10,000
    assert any("assumed true for 10% of its items" in a and "at most 10,000" in a for a in cost.assumptions)
    assert cost.growth is Growth.WHOLE_TABLE  # still grows with the table
    # ...but one `db.get` per document of the index-less read is a join bounded with that scan:
    # full-table-scan's warning on the read is the one problem (n-plus-one-read says so, at info).
    assert finding.severity is Severity.INFO and "fix the scan first" in finding.message
    assert "only where" in finding.message and "at most 10,000" in finding.message


@pytest.mark.parametrize(
    ("inner", "reads", "where"),
    [
        ("out.push(user.verified && (await ctx.db.get(user._id)));", 1_000, "only where `user.verified`"),
        ("out.push(user.verified ? await ctx.db.get(user._id) : null);", 1_000, "only where `user.verified`"),
        # The items an early `continue` lets through, or the `else` side: where the condition fails.
        ("if (user.verified) continue;\n      out.push(await ctx.db.get(user._id));", 9_000, "except where `user.verified`"),
        ("out.push(user.verified ? null : await ctx.db.get(user._id));", 9_000, "except where `user.verified`"),
        ("out.push(user.verified || (await ctx.db.get(user._id)));", 9_000, "except where `user.verified`"),
    ],
    ids=["and", "ternary", "early-continue", "ternary-else", "or"],
)
def test_early_continue_and_short_circuits_are_conditions(tmp_path, inner, reads, where):
    finding = _one(
        tmp_path,
        f"""
export const list = query({{
  args: {{}},
  handler: async (ctx) => {{
    const users = await ctx.db.query("users").collect();
    const out = [];
    for (const user of users) {{
      {inner}
    }}
    return out;
  }},
}});
""",
    )
    assert finding.cost.reads == reads and where in finding.cost.formula


def test_a_presence_check_on_the_id_is_not_a_condition(tmp_path):
    # ok: `if (doc.authorId)` / `doc && read(doc.x)` hold for nearly every item: full count.
    finding = _one(
        tmp_path,
        """
import { loadProfile } from "./profile";
export const list = query({
  args: {},
  handler: async (ctx) => {
    const messages = await ctx.db.query("attachments").collect();
    const out = [];
    for (const m of messages) {
      if (m.authorId) out.push(await ctx.db.get(m.authorId));
      if (m.authorId != null) out.push(await ctx.db.get(m.authorId));
      const author = await ctx.db.get(m.authorId);
      if (author === null) continue;
      out.push(m.authorId ? await loadProfile(ctx, m.authorId) : null);
    }
    return out;
  },
});
""",
        extra={"profile.ts": PROFILE},
    )
    assert "where" not in finding.cost.formula and finding.cost.reads == 40_000


def test_a_throw_guard_is_not_a_filter(tmp_path):
    # ok: `if (!x) throw` is an error path; the read runs for every item that gets there.
    finding = _one(
        tmp_path,
        """
export const list = query({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").collect();
    const out = [];
    for (const user of users) {
      if (!user.verified) throw new Error("unverified");
      out.push(await ctx.db.get(user._id));
    }
    return out;
  },
});
""",
    )
    assert finding.cost.reads == 10_000


def test_a_condition_in_an_inner_loop_scales_only_that_loop(tmp_path):
    finding = _one(
        tmp_path,
        """
export const duplicates = query({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").collect();
    const out = [];
    for (const a of users) {
      for (const b of users) {
        if (a.email === b.email && a._id !== b._id) out.push(await ctx.db.get(b._id));
      }
    }
    return out;
  },
});
""",
    )
    assert finding.cost.reads == 10_000 * 1_000  # not 10,000 x 10,000
    assert any("at most 100,000,000" in a for a in finding.cost.assumptions)


def test_conditional_share_is_configurable(tmp_path):
    config = config_from_dict({"cost": {"conditional-share": 50}})
    finding = _one(
        tmp_path,
        """
export const list = query({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").collect();
    return await Promise.all(users.map(async (u) => (u.verified ? await ctx.db.get(u._id) : null)));
  },
});
""",
        config=config,
    )
    assert finding.cost.reads == 5_000
    with pytest.raises(ConfigError, match="percentage"):
        config_from_dict({"cost": {"conditional-share": 150}})


# -- memoising caches ---------------------------------------------------------------------


def test_an_inline_memo_costs_one_read_per_distinct_key(tmp_path):
    finding = _one(
        tmp_path,
        """
export const feed = query({
  args: { threadId: v.id("threads") },
  handler: async (ctx, args) => {
    const messages = await ctx.db.query("attachments").withIndex("by_postId", (q) => q.eq("postId", args.threadId)).collect();
    const authors = new Map();
    for (const m of messages) {
      if (!authors.has(m.authorId)) authors.set(m.authorId, await ctx.db.get(m.authorId));
    }
    return authors;
  },
});
""",
    )
    assert "one read per distinct key" in finding.cost.formula
    assert "only where" not in finding.cost.formula  # the memo check is not a filter
    assert any("every key assumed distinct" in a for a in finding.cost.assumptions)


def test_a_memoising_loader_costs_one_read_per_distinct_key(tmp_path):
    loader = """
import type { QueryCtx } from "./_generated/server";
export function makeLoader(ctx: QueryCtx) {
  const seen = new Map<string, unknown>();
  return {
    user: async (id: any) => seen.get(id) ?? (await ctx.db.get(id)),
  };
}
export function makePlain(ctx: QueryCtx) {
  return { user: async (id: any) => await ctx.db.get(id) };
}
"""
    body = """
import { makeLoader, makePlain } from "./loader";
export const feed = query({
  args: { threadId: v.id("threads") },
  handler: async (ctx, args) => {
    const messages = await ctx.db.query("attachments").withIndex("by_postId", (q) => q.eq("postId", args.threadId)).collect();
    const loader = makeLoader(ctx);
    const out = [];
    for (const m of messages) out.push(await loader.user(m.authorId));
    return out;
  },
});
"""
    finding = _one(tmp_path, body, extra={"loader.ts": loader})
    assert finding.cost.formula.endswith("(one read per distinct key)")
    # ok: the same loop through a loader without a memo check: a plain per-item read.
    plain = _one(tmp_path / "plain", body.replace("makeLoader(ctx)", "makePlain(ctx)"), extra={"loader.ts": loader})
    assert "distinct key" not in plain.cost.formula


def test_an_early_return_on_a_cache_hit_is_a_memo_and_each_method_costs_its_own_reads(tmp_path):
    loader = """
import type { QueryCtx } from "./_generated/server";
export function makeCache(ctx: QueryCtx) {
  const users = new Map<string, unknown>();
  const posts = new Map<string, unknown>();
  return {
    async user(id: any) {
      if (users.has(id)) return users.get(id);
      const doc = await ctx.db.get(id);
      users.set(id, doc);
      return doc;
    },
    async post(id: any) {
      const hit = posts.get(id);
      if (hit !== undefined) return hit;
      return await ctx.db.get(id);
    },
    async fresh(id: any) {
      if (!users.has(id)) console.log("miss");
      return await ctx.db.get(id);
    },
    async guarded(id: any) {
      if (users.has(id)) return { error: "cycle" };
      users.set(id, true);
      return await ctx.db.get(id);
    },
    count: () => users.size + posts.size,
  };
}
"""
    body = """
import { makeCache } from "./loader";
export const feed = query({
  args: { threadId: v.id("threads") },
  handler: async (ctx, args) => {
    const messages = await ctx.db.query("attachments").withIndex("by_postId", (q) => q.eq("postId", args.threadId)).collect();
    const cache = makeCache(ctx);
    const out = [];
    for (const m of messages) out.push(await cache.METHOD(m.authorId));
    return out;
  },
});
"""
    for method in ("user", "post"):
        finding = _one(tmp_path / method, body.replace("METHOD", method), extra={"loader.ts": loader})
        assert finding.cost.formula.endswith("(one read per distinct key)"), finding.cost.formula
        assert finding.cost.reads is not None
    # near miss: a negated check that does not return is no memo
    fresh = _one(tmp_path / "fresh", body.replace("METHOD", "fresh"), extra={"loader.ts": loader})
    assert "distinct key" not in fresh.cost.formula
    # near miss: an early return of an error on a seen key (a cycle guard) is no memo
    guarded = _one(tmp_path / "guarded", body.replace("METHOD", "guarded"), extra={"loader.ts": loader})
    assert "distinct key" not in guarded.cost.formula
    # near miss: a method of the same factory that reads nothing is no N+1 at all
    assert _findings(tmp_path / "count", {"f.ts": HEADER + body.replace("METHOD", "count"), "loader.ts": loader}, "n-plus-one-read") == []


# -- log and feed tables -------------------------------------------------------------------


def test_log_tables_by_name_and_by_a_timeline_index():
    sizes = CostAssumptions()
    assert is_log_table("chatMessages", sizes) and is_log_table("audit_logs", sizes)
    assert is_log_table("userActivity", sizes) and is_log_table("notifications", sizes)
    assert not is_log_table("attachments", sizes) and not is_log_table("messageSettings", sizes)
    assert is_log_table("ledger", CostAssumptions(log_tables=frozenset({"ledger"})))


def test_a_loop_over_one_parents_log_is_a_warning(tmp_path):
    finding = _one(
        tmp_path,
        """
export const thread = query({
  args: { threadId: v.id("threads") },
  handler: async (ctx, args) => {
    const messages = await ctx.db.query("chatMessages").withIndex("by_threadId", (q) => q.eq("threadId", args.threadId)).collect();
    return await Promise.all(messages.map(async (m) => ({ ...m, author: await ctx.db.get(m.authorId) })));
  },
});
""",
    )
    assert finding.cost.growth is Growth.PER_PARENT_LOG and finding.cost.reads == 1_000
    assert finding.severity is Severity.WARNING
    assert "a log: grows over time" in finding.cost.formula


def test_a_timeline_index_makes_a_log_and_a_plain_child_range_stays_small(tmp_path):
    body = """
export const series = query({
  args: { id: v.id("threads") },
  handler: async (ctx, args) => {
    const rows = await ctx.db.query("TABLE").withIndex("INDEX", (q) => q.eq("KEY", args.id)).collect();
    return await Promise.all(rows.map(async (r) => ({ ...r, author: await ctx.db.get(r.authorId) })));
  },
});
"""
    log = _one(tmp_path, body.replace("TABLE", "readings").replace("INDEX", "by_sensorId_and_createdAt").replace("KEY", "sensorId"))
    assert log.cost.growth is Growth.PER_PARENT_LOG
    # ok: a parent's attachments: per-parent and small, info.
    small = _one(tmp_path / "small", body.replace("TABLE", "attachments").replace("INDEX", "by_postId").replace("KEY", "postId"))
    assert small.cost.growth is Growth.PER_PARENT and small.severity is Severity.INFO


def test_unbounded_collect_of_a_log_range_is_a_warning(tmp_path):
    body = """
export const thread = query({
  args: { id: v.id("threads") },
  handler: async (ctx, args) => {
    return await ctx.db.query("TABLE").withIndex("INDEX", (q) => q.eq("KEY", args.id)).collect();
  },
});
"""
    log = _one(tmp_path, body.replace("TABLE", "chatMessages").replace("INDEX", "by_threadId").replace("KEY", "threadId"), rule="unbounded-collect")
    assert log.severity is Severity.WARNING and "log/feed" in log.message
    small = _one(tmp_path / "small", body.replace("TABLE", "attachments").replace("INDEX", "by_postId").replace("KEY", "postId"), rule="unbounded-collect")
    assert small.severity is Severity.INFO  # ok: a parent's attachments


def test_log_tables_are_configurable():
    assert config_from_dict({"cost": {"log-tables": ["ledger"], "per-parent-log": 5000}}).cost.log_tables == {"ledger"}
    with pytest.raises(ConfigError, match="list of table names"):
        config_from_dict({"cost": {"log-tables": "ledger"}})


# -- cron and scheduled functions ----------------------------------------------------------

JOBS = (
    HEADER
    + """
export const sweep = internalMutation({
  args: {},
  handler: async (ctx) => {
    const stale = await ctx.db.query("jobs").withIndex("by_status", (q) => q.eq("status", "stale")).collect();
    for (const job of stale) await ctx.db.patch(job._id, { checkedAt: Date.now() });
  },
});

export const later = internalMutation({
  args: {},
  handler: async (ctx) => {
    const stale = await ctx.db.query("jobs").withIndex("by_status", (q) => q.eq("status", "stale")).collect();
    for (const job of stale) await ctx.db.patch(job._id, { checkedAt: Date.now() });
  },
});

export const mine = internalQuery({
  args: { ownerId: v.id("users") },
  handler: async (ctx, args) => {
    return await ctx.db.query("jobs").withIndex("by_ownerId", (q) => q.eq("ownerId", args.ownerId)).collect();
  },
});

export const unused = internalQuery({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("jobs").withIndex("by_status", (q) => q.eq("status", "stale")).collect();
  },
});

export const everything = internalQuery({
  args: {},
  handler: async (ctx) => await ctx.db.query("users").withIndex("by_email").collect(),
});
"""
)
CRONS = """
import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();
crons.daily("sweep stale jobs", { hourUTC: 3, minuteUTC: 0 }, internal.jobs.sweep);
crons.interval("mine", { minutes: 5 }, internal.jobs.mine, { ownerId: "x" as any });
crons.cron("everything", "0 4 * * *", internal.jobs.everything);
export default crons;
"""
SCHEDULER = (
    HEADER
    + """
import { internal } from "./_generated/api";
export const kick = mutation({
  args: {},
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, internal.jobs.later, {});
  },
});
"""
)


def test_cron_and_scheduled_functions_get_their_context(tmp_path):
    found = _findings(tmp_path, {"jobs.ts": JOBS, "crons.ts": CRONS, "kick.ts": SCHEDULER}, "unbounded-collect")
    by_function = {f.function: f for f in found}
    # A status range a job reads on every run and leaves in place (it touches another field): no
    # parent keys it, it grows with the table. (A job that deletes or re-states every row it reads
    # drains a queue instead: tests/engine/test_drained_queue.py.)
    assert by_function["sweep"].cost.context == "cron" and by_function["sweep"].severity is Severity.WARNING
    assert "cron job" in by_function["sweep"].message
    assert by_function["later"].cost.context == "scheduled" and by_function["later"].severity is Severity.WARNING
    # ok: a cron reading one owner's jobs (a parent's range) stays info.
    assert by_function["mine"].cost.context == "cron" and by_function["mine"].severity is Severity.INFO
    # ok: the same status range in an internal query nothing schedules: no job context, info.
    assert by_function["unused"].cost.context == "internal-query" and by_function["unused"].severity is Severity.INFO


def test_a_daily_cron_reading_through_an_index_with_no_range_is_a_warning(tmp_path):
    found = _findings(tmp_path, {"jobs.ts": JOBS, "crons.ts": CRONS, "kick.ts": SCHEDULER}, "full-table-scan")
    scan = [f for f in found if f.function == "everything"]
    assert len(scan) == 1 and scan[0].severity is Severity.WARNING and scan[0].cost.context == "cron"


# -- categories and small ranges -----------------------------------------------------------

COUNTS = """
export const counts = query({
  args: { id: v.id("users"), threadId: v.id("threads") },
  handler: async (ctx, args) => {
    const mine = await ctx.db.query("jobs").withIndex("by_ownerId", (q) => q.eq("ownerId", args.id)).collect();
    const stale = await ctx.db.query("jobs").withIndex("by_status", (q) => q.eq("status", "stale")).collect();
    return { mine: mine.length, stale: stale.length };
  },
});
"""


def test_a_category_range_is_a_share_of_the_table_and_a_parent_range_is_per_parent(tmp_path):
    found = _findings(tmp_path, {"f.ts": HEADER + COUNTS}, "unbounded-collect")
    by_line = {f.span.start: f for f in found}
    mine, stale = (by_line[k] for k in sorted(by_line))
    # ok: one owner's jobs: per-parent, not a share of the table.
    assert mine.cost.growth is Growth.PER_PARENT and mine.cost.reads == 10
    assert stale.cost.growth is Growth.WHOLE_TABLE and stale.cost.reads == 1_000
    assert stale.severity is Severity.WARNING
    assert any("an equality on a category" in a for a in stale.cost.assumptions)


def test_a_category_range_collected_whole_warns_only_where_it_runs_often(tmp_path):
    body = """
export const all = KIND({
  args: {},
  handler: async (ctx) => await ctx.db.query("jobs").withIndex("by_status", (q) => q.eq("status", "stale")).collect(),
});
"""
    hot = _one(tmp_path, body.replace("KIND", "query"), rule="unbounded-collect")
    assert hot.severity is Severity.WARNING and "reactive query" in hot.message
    # ok: the same range in a mutation a client calls now and then: info.
    cold = _one(tmp_path / "cold", body.replace("KIND", "mutation"), rule="unbounded-collect")
    assert cold.severity is Severity.INFO


@pytest.mark.parametrize(
    ("per_item", "severity"),
    [
        # One get per scanned document: a join bounded with the scan (full-table-scan's warning).
        ("out.push(await ctx.db.get(user.teamId));", Severity.INFO),
        # Two reads per document multiply what the scan costs: a problem of its own.
        ("out.push(await ctx.db.get(user.teamId), await ctx.db.get(user.managerId));", Severity.WARNING),
        # A query per document is no join by id.
        ('out.push(await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", user._id)).first());', Severity.WARNING),
    ],
)
def test_one_get_per_document_of_a_whole_table_scan_is_the_scans_problem(tmp_path, per_item, severity):
    finding = _one(
        tmp_path,
        f"""
export const joined = query({{
  args: {{}},
  handler: async (ctx) => {{
    const users = await ctx.db.query("users").collect();
    const out = [];
    for (const user of users) {{
      {per_item}
    }}
    return out;
  }},
}});
""",
    )
    assert finding.cost.growth is Growth.WHOLE_TABLE and finding.severity is severity
    assert ("fix the scan first" in finding.message) is (severity is Severity.INFO)


def test_one_get_per_document_of_a_category_range_still_warns(tmp_path):
    """A status range is not full-table-scan's finding: the join is the only report of its size."""
    finding = _one(
        tmp_path,
        """
export const joined = query({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").withIndex("by_status", (q) => q.eq("status", "active")).collect();
    return await Promise.all(users.map(async (user) => await ctx.db.get(user.teamId)));
  },
});
""",
        extra={},
    )
    assert finding.cost.growth is Growth.WHOLE_TABLE and finding.severity is Severity.WARNING
