"""The cost model: what drives a loop's count, how it grows, and the severity it earns."""

from __future__ import annotations

import pytest

from convex_xray.engine.config import ConfigError, config_from_dict
from convex_xray.engine.cost import CostAssumptions, Growth, is_reference_table
from convex_xray.engine.findings import Severity
from tests.support.project import DEFAULT_SCHEMA, check_project, write_project

HEADER = 'import { query, mutation, action, internalMutation } from "./_generated/server";\nimport { v } from "convex/values";\nimport { internal } from "./_generated/api";\n'


def _one(tmp_path, body: str, rule: str = "n-plus-one-read", config=None):
    project = write_project(tmp_path / "app", {"f.ts": HEADER + body})
    _, result = check_project(project, select=[rule], config=config)
    found = [f for f in result.findings if f.rule == rule]
    assert len(found) == 1, [f.message for f in found]
    assert found[0].cost is not None
    return found[0]


def test_loop_over_a_tenant_keyed_collect_is_per_tenant_and_a_warning(tmp_path):
    finding = _one(
        tmp_path,
        """
export const roster = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    const users = await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).collect();
    const out = [];
    for (const user of users) {
      out.push(await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", user._id)).first());
    }
    return out;
  },
});
""",
    )
    assert finding.cost.growth is Growth.PER_TENANT
    assert finding.cost.formula == "N(users of one orgId)"
    assert finding.cost.reads == 200 and finding.cost.context == "public-query"
    assert finding.severity is Severity.WARNING
    assert "N(users of one orgId) reads ≈ 200 (N assumed 200 per tenant, `[cost] per-tenant`) per call" in finding.message
    assert "sequentially" in finding.message


def test_loop_over_a_small_take_is_bounded_and_info(tmp_path):
    finding = _one(
        tmp_path,
        """
export const feed = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(5);
    return await Promise.all(posts.map(async (p) => ({ ...p, author: await ctx.db.get(p.authorId) })));
  },
});
""",
    )
    assert (finding.cost.growth, finding.cost.formula, finding.cost.reads) == (Growth.BOUNDED, "5", 5)
    assert finding.severity is Severity.INFO
    assert "concurrently" in finding.message


def test_per_parent_children_are_info_unless_the_score_is_high(tmp_path):
    body = """
export const thread = mutation({
  args: { postId: v.id("posts") },
  handler: async (ctx, args) => {
    const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.postId)).collect();
    for (const c of comments) {
      await ctx.db.get(c.authorId);
    }
  },
});
"""
    finding = _one(tmp_path, body)
    assert finding.cost.growth is Growth.PER_PARENT and finding.cost.reads == 10
    assert finding.severity is Severity.INFO
    # Outside a reactive query a parent's children stay info whatever their assumed number: a
    # mutation runs once per request. A team whose comments keep growing says they are a log.
    config = config_from_dict({"cost": {"per-parent": 1000}})
    assert _one(tmp_path / "b", body, config=config).severity is Severity.INFO
    config = config_from_dict({"cost": {"log-tables": ["comments"]}})
    assert _one(tmp_path / "c", body, config=config).severity is Severity.WARNING
    # In a public query (re-run on every write it read, per subscriber) the same loop warns once
    # it scores `warn-score`: 1,000 reads x2.
    reactive = body.replace("mutation({", "query({")
    config = config_from_dict({"cost": {"per-parent": 1000}})
    assert _one(tmp_path / "d", reactive, config=config).severity is Severity.WARNING
    assert _one(tmp_path / "e", reactive).severity is Severity.INFO  # 10 reads x2 x1.5 < 100


def test_whole_table_loop_and_nested_loops_multiply(tmp_path):
    project = write_project(
        tmp_path / "app",
        {
            "f.ts": HEADER
            + """
export const everything = mutation({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").collect();
    for (const post of posts) {
      const comments = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", post._id)).collect();
      for (const c of comments) {
        await ctx.db.get(c.authorId);
      }
    }
  },
});
"""
        },
    )
    _, result = check_project(project, select=["n-plus-one-read"])
    outer, inner = sorted(result.findings, key=lambda f: f.span.start)
    assert outer.cost is not None and inner.cost is not None
    assert outer.cost.growth is Growth.WHOLE_TABLE and outer.severity is Severity.WARNING
    assert inner.cost.formula == "N(every posts document, no index) x N(comments per postId)"
    assert inner.cost.reads == 10_000 * 10 and inner.cost.context == "mutation"


def test_client_array_and_literal_sizes(tmp_path):
    finding = _one(
        tmp_path,
        """
export const byIds = query({
  args: { ids: v.array(v.id("posts")) },
  handler: async (ctx, args) => {
    const out = [];
    for (const id of args.ids) {
      const post = await ctx.db.get(id);
      out.push(post && (await ctx.db.get(post.authorId)));
    }
    return out;
  },
});
""",
    )
    assert finding.cost.growth is Growth.BOUNDED
    assert finding.cost.formula == "N(client-supplied `args.ids`) x 2" and finding.cost.reads == 40
    # one finding for the loop, the second read named as related
    assert any("also once per item" in r.message for r in finding.related)


def test_n_plus_one_call_wording_follows_the_transaction(tmp_path):
    body = """
export const {name} = {kind}({{
  args: {{ orgId: v.id("orgs") }},
  handler: async (ctx, args) => {{
    const users = await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).take(5);
    for (const user of users) {{
      await ctx.runMutation(internal.f.touch, {{ id: user._id }});
    }}
  }},
}});
"""
    in_mutation = _one(tmp_path / "m", body.format(name="m", kind="mutation"), rule="n-plus-one-call")
    assert "shares the caller's transaction" in in_mutation.message
    assert in_mutation.cost.unit == "function calls" and in_mutation.cost.reads == 5
    assert in_mutation.severity is Severity.INFO
    in_action = _one(tmp_path / "a", body.replace("ctx.db.query", "(ctx as any).db.query").format(name="a", kind="action"), rule="n-plus-one-call")
    assert "separate function run with its own transaction" in in_action.message
    # A helper typed for actions is in an action whoever calls it; an untyped one is not known.
    helper = """
import type {{ ActionCtx }} from "./_generated/server";
export async function touchAll(ctx: {ctx_type}, ids: string[]) {{
  for (const id of ids) {{
    await ctx.runMutation(internal.f.touch, {{ id }});
  }}
}}
"""
    typed = _one(tmp_path / "h", helper.format(ctx_type="ActionCtx"), rule="n-plus-one-call")
    assert "separate function run with its own transaction" in typed.message
    untyped = _one(tmp_path / "u", helper.format(ctx_type="any"), rule="n-plus-one-call")
    assert "called from an action, every call is a separate function run" in untyped.message
    assert "from a query or mutation, it shares the caller's transaction" in untyped.message


def test_one_finding_per_query_chain(tmp_path):
    project = write_project(
        tmp_path / "app",
        {
            "f.ts": HEADER
            + """
export const count = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("posts").collect()).length,
});
"""
        },
    )
    _, result = check_project(project, select=["full-table-scan", "unbounded-collect"])
    [finding] = result.findings
    assert finding.rule == "full-table-scan" and "only counted" in finding.message
    assert finding.cost is not None and finding.cost.growth is Growth.WHOLE_TABLE


def test_cost_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ConfigError, match=r"cost.tenants: unknown key"):
        config_from_dict({"cost": {"tenants": 5}})
    with pytest.raises(ConfigError, match=r"cost.per-tenant: must be a positive integer"):
        config_from_dict({"cost": {"per-tenant": 0}})
    assert config_from_dict({"cost": {"per-tenant": 500}}).cost.per_tenant == 500


def test_a_conditionally_built_query_is_one_finding(tmp_path):
    project = write_project(
        tmp_path / "app",
        {
            "f.ts": HEADER
            + """
export const list = query({
  args: { authorId: v.optional(v.id("users")) },
  handler: async (ctx, args) => {
    let q;
    if (args.authorId) {
      q = ctx.db.query("posts").withIndex("by_authorId", (r) => r.eq("authorId", args.authorId!));
    } else {
      q = ctx.db.query("posts");
    }
    return (await q.collect()).length;
  },
});

export const near = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) =>
    (await ctx.db.query("posts").withIndex("by_authorId", (r) => r.eq("authorId", args.authorId)).collect()).length,
});
"""
        },
    )
    _, result = check_project(project, select=["full-table-scan", "unbounded-collect"])
    # One finding on the conditional query (the scan variant decides), one on the plain range.
    assert sorted((f.rule, f.function) for f in result.findings) == [
        ("full-table-scan", "list"),
        ("unbounded-collect", "near"),
    ]


def test_filter_on_query_severity_follows_the_scanned_range(tmp_path):
    """The filter wastes the rows of the range it drops: a parent's children or a tenant's
    members are info; a tenant's log, or a range over the whole table, is a warning."""
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        'export default defineSchema({\n  activities: defineTable({ orgId: v.id("orgs"), kind: v.string() }).index("by_orgId", ["orgId"]),',
    )
    project = write_project(
        tmp_path / "app",
        {
            "f.ts": HEADER
            + """
export const comments = query({
  args: { postId: v.id("posts") },
  handler: async (ctx, args) =>
    ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.postId)).filter((q) => q.eq(q.field("body"), "x")).collect(),
});

export const orgPosts = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) =>
    ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId)).filter((q) => q.eq(q.field("authorId"), "u")).collect(),
});

export const orgActivity = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) =>
    ctx.db.query("activities").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).filter((q) => q.eq(q.field("kind"), "login")).collect(),
});

export const anyPosts = query({
  args: {},
  handler: async (ctx) =>
    ctx.db.query("posts").withIndex("by_orgId_and_status").filter((q) => q.eq(q.field("authorId"), "u")).collect(),
});
"""
        },
        schema=schema,
    )
    _, result = check_project(project, select=["filter-on-query"])
    by_function = {f.function: f for f in result.findings}
    growth = {name: finding.cost.growth for name, finding in by_function.items() if finding.cost is not None}
    assert growth == {
        "comments": Growth.PER_PARENT,
        "orgPosts": Growth.PER_TENANT,
        "orgActivity": Growth.PER_TENANT,
        "anyPosts": Growth.WHOLE_TABLE,
    }
    assert {name: f.severity for name, f in by_function.items()} == {
        "comments": Severity.INFO,
        "orgPosts": Severity.INFO,
        "orgActivity": Severity.WARNING,  # a log (`activities`) under a tenant keeps growing
        "anyPosts": Severity.WARNING,
    }


def test_cost_config_mistakes_come_with_the_others_and_a_suggestion():
    """A `[cost]` mistake does not hide the rest of the file's mistakes, and a key spelt with
    underscores gets the dashed spelling suggested."""
    with pytest.raises(ConfigError) as raised:
        config_from_dict({"cost": {"per_parent": 5, "table": "big"}, "fail-on": "loud"})
    problems = dict(raised.value.problems)
    assert "did you mean 'per-parent'?" in problems["cost.per_parent"]
    assert problems["cost.table"] == "must be a positive integer, got 'big'"
    assert "fail-on" in problems


WINDOW = """
export const page = query({
  args: { start: v.number(), limit: v.number() },
  handler: async (ctx, args) => {
    const all = await ctx.db.query("posts").collect();
    const out = [];
    for (const post of all.slice(SLICE)) {
      out.push(await ctx.db.get(post.authorId));
    }
    return out;
  },
});
"""


@pytest.mark.parametrize(
    ("window", "reads", "formula"),
    [
        ("args.start, args.start + 25", 25, "25"),
        ("0, 40", 40, "40"),
        ("args.start, args.start + args.limit", 50, "N(a window of `args.limit` items)"),
        ("0, args.limit", 50, "N(a window of `args.limit` items)"),
    ],
)
def test_a_loop_over_a_window_of_a_list_costs_the_window_not_the_list(tmp_path, window, reads, formula):
    finding = _one(tmp_path, WINDOW.replace("SLICE", window))
    assert (finding.cost.growth, finding.cost.reads, finding.cost.formula) == (Growth.BOUNDED, reads, formula)


def test_a_slice_that_is_not_a_window_still_costs_the_list(tmp_path):
    finding = _one(tmp_path, WINDOW.replace("SLICE", "args.start"))
    assert finding.cost.growth is Growth.WHOLE_TABLE


def test_a_window_larger_than_its_list_costs_the_list(tmp_path):
    body = WINDOW.replace("SLICE", "0, args.limit").replace(
        'ctx.db.query("posts").collect()', 'ctx.db.query("posts").take(5)'
    )
    finding = _one(tmp_path, body)
    assert (finding.cost.reads, finding.cost.formula) == (5, "5")


REFERENCE_SCHEMA = DEFAULT_SCHEMA.replace(
    "export default defineSchema({",
    """export default defineSchema({
  meetingTypes: defineTable({ name: v.string(), isActive: v.boolean() }).index("by_active", ["isActive"]),
  userSettings: defineTable({ userId: v.id("users"), theme: v.string() }),
  calendarEvents: defineTable({ caseId: v.string(), title: v.string() }).index("by_case", ["caseId"]),
  auditEvents: defineTable({ caseId: v.string(), title: v.string() }).index("by_case", ["caseId"]),""",
)


def test_a_reference_table_scanned_whole_is_info_and_says_what_is_assumed(tmp_path):
    """`meetingTypes` is read whole on purpose (a handful of rows an admin edits); a table that
    names an owner (`userSettings`: one row per user) grows with the users."""
    files = {
        "f.ts": HEADER
        + """
export const types = query({ args: {}, handler: async (ctx) => ctx.db.query("meetingTypes").collect() });
export const settings = query({ args: {}, handler: async (ctx) => ctx.db.query("userSettings").collect() });
export const active = query({
  args: {},
  handler: async (ctx) => {
    const rows = await ctx.db.query("meetingTypes").withIndex("by_active", (q) => q.eq("isActive", true)).collect();
    return rows.filter((r) => r.name !== "x");
  },
});
"""
    }
    project = write_project(tmp_path / "app", files, schema=REFERENCE_SCHEMA)
    _, result = check_project(project, select=["full-table-scan", "unbounded-collect"])
    by_function = {f.function: f for f in result.findings}
    assert by_function["types"].severity is Severity.INFO
    assert by_function["types"].cost.growth is Growth.BOUNDED and by_function["types"].cost.reads == 100
    assert "looks like a reference table" in by_function["types"].message
    assert "`[cost] growing-tables`" in by_function["types"].message
    assert by_function["settings"].severity is Severity.WARNING
    assert by_function["settings"].cost.growth is Growth.WHOLE_TABLE
    # A category range of a reference table is a handful of rows too (not 10% of 10,000).
    assert by_function["active"].cost.growth is Growth.BOUNDED
    assert by_function["active"].severity is Severity.INFO
    # A team whose `meetingTypes` grows says so, and the scan warns again.
    config = config_from_dict({"cost": {"growing-tables": ["meetingTypes"]}})
    _, result = check_project(project, select=["full-table-scan"], config=config)
    grown = {f.function: f for f in result.findings}
    assert grown["types"].severity is Severity.WARNING and grown["types"].cost.growth is Growth.WHOLE_TABLE


def test_events_are_a_log_only_when_another_word_says_so(tmp_path):
    body = """
export const feed = query({
  args: { caseId: v.string() },
  handler: async (ctx, args) => {
    const a = await ctx.db.query("calendarEvents").withIndex("by_case", (q) => q.eq("caseId", args.caseId)).collect();
    const b = await ctx.db.query("auditEvents").withIndex("by_case", (q) => q.eq("caseId", args.caseId)).collect();
    return [a.length, b.length];
  },
});
"""
    project = write_project(tmp_path / "app", {"f.ts": HEADER + body}, schema=REFERENCE_SCHEMA)
    _, result = check_project(project, select=["unbounded-collect"])
    by_table = {f.message.split("`")[3]: f for f in result.findings}
    assert by_table["calendarEvents"].cost.growth is Growth.PER_PARENT
    assert by_table["calendarEvents"].severity is Severity.INFO
    assert by_table["auditEvents"].cost.growth is Growth.PER_PARENT_LOG
    assert by_table["auditEvents"].severity is Severity.WARNING


def test_a_list_cut_to_a_window_before_the_loop_is_bounded_by_the_window(tmp_path):
    """`xs = xs.slice(0, limit)` after conditional filters: the loop sees the window. An
    assignment only under a condition does not bound it."""
    body = """
export const recent = query({
  args: { limit: v.optional(v.number()), status: v.optional(v.string()) },
  handler: async (ctx, args) => {
    let posts = await ctx.db.query("posts").collect();
    if (args.status) {
      posts = posts.filter((p) => p.status === args.status);
    }
    posts = posts.slice(0, 20);
    return await Promise.all(posts.map(async (p) => ({ p, author: await ctx.db.get(p.authorId) })));
  },
});
"""
    finding = _one(tmp_path, body)
    assert (finding.cost.growth, finding.cost.reads) == (Growth.BOUNDED, 20)
    conditional = body.replace("    posts = posts.slice(0, 20);", "    if (args.limit) posts = posts.slice(0, 20);")
    finding = _one(tmp_path / "b", conditional)
    assert finding.cost.growth is Growth.WHOLE_TABLE


def test_sequential_scheduling_in_an_action_warns_only_when_the_loop_grows(tmp_path):
    body = """
export const few = action({
  args: { ids: v.array(v.string()) },
  handler: async (ctx, args) => {
    for (const id of args.ids) {
      await ctx.scheduler.runAfter(0, internal.f.work, { id });
    }
  },
});

export const all = action({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.runQuery(internal.f.everyone, {});
    for (const user of users) {
      for (const team of user.teams) {
        await ctx.scheduler.runAfter(0, internal.f.work, { id: team });
      }
    }
  },
});
"""
    project = write_project(tmp_path / "app", {"f.ts": HEADER + body})
    _, result = check_project(project, select=["sequential-scheduling"])
    by_function = {f.function: f for f in result.findings}
    assert by_function["few"].severity is Severity.INFO  # a client's batch (assumed 20)
    assert by_function["few"].cost is not None and by_function["few"].cost.growth is Growth.BOUNDED
    assert "scheduler calls" in by_function["few"].message
    # Two loops over sizes not traced (10 x 10 assumed) in an action run once per call: info.
    assert by_function["all"].severity is Severity.INFO
    assert by_function["all"].cost.reads == 100


def test_a_query_built_under_conditions_is_one_filter_finding(tmp_path):
    body = """
export const list = query({
  args: { category: v.optional(v.string()), author: v.optional(v.id("users")) },
  handler: async (ctx, args) => {
    let q = ctx.db.query("posts").filter((f) => f.eq(f.field("status"), "live"));
    if (args.category) {
      q = q.filter((f) => f.eq(f.field("orgId"), args.category));
    }
    if (args.author) {
      q = q.filter((f) => f.eq(f.field("authorId"), args.author));
    }
    return await q.collect();
  },
});
"""
    project = write_project(tmp_path / "app", {"f.ts": HEADER + body})
    _, result = check_project(project, select=["filter-on-query", "full-table-scan", "unbounded-collect"])
    assert [f.rule for f in result.findings if f.severity is Severity.WARNING] == ["filter-on-query"]
    assert sum(1 for f in result.findings if f.rule == "filter-on-query") == 1


def test_a_helper_that_reads_and_calls_in_a_loop_is_one_n_plus_one_finding(tmp_path):
    body = """
async function canSee(ctx: any, postId: any) {
  const post = await ctx.db.get(postId);
  return await ctx.runQuery(internal.f.check, { id: post._id });
}

export const visible = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").collect();
    const out = [];
    for (const post of posts) {
      if (await canSee(ctx, post._id)) out.push(post);
    }
    return out;
  },
});
"""
    project = write_project(tmp_path / "app", {"f.ts": HEADER + body})
    _, result = check_project(project, select=["n-plus-one-read", "n-plus-one-call"])
    [finding] = result.findings
    assert finding.rule == "n-plus-one-read"
    assert "(1 read and 1 function call (ctx.runQuery(internal.f.check)) per call)" in finding.message


def test_counting_a_log_grows_in_a_public_mutation_not_in_an_internal_one(tmp_path):
    """Reading a whole per-parent log only to count it wastes what the log holds: on every
    request of a public mutation that is a warning; a hand-run or internal job, info."""
    body = """
export const {name} = {kind}({{
  args: {{ postId: v.id("posts") }},
  handler: async (ctx, args) => {{
    const all = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.postId)).collect();
    return all.length;
  }},
}});
"""
    config = config_from_dict({"cost": {"log-tables": ["comments"]}})
    public = _one(tmp_path / "p", body.format(name="count", kind="mutation"), rule="unbounded-collect", config=config)
    assert public.cost.growth is Growth.PER_PARENT_LOG and public.severity is Severity.WARNING
    internal = _one(tmp_path / "i", body.format(name="count", kind="internalMutation"), rule="unbounded-collect", config=config)
    assert internal.severity is Severity.INFO


@pytest.mark.parametrize(
    ("table", "reference"),
    [
        ("meetingTypes", True),
        ("email_templates", True),
        ("retentionPolicies", True),
        ("shippingZones", True),
        ("returnReasons", True),
        ("cronSettings", True),
        ("roles", True),
        ("webhooks", True),
        ("eventListeners", True),
        ("pipelines", True),
        ("membership_plans", True),
        ("cron_heartbeats", True),
        ("userSettings", False),  # one row per user
        ("orgPlans", False),  # one row per org
        ("webhookEvents", False),  # a log of deliveries, not the registrations
        ("providers", False),  # a clinic's care providers grow with it
        ("memberRoles", False),
        ("orgPermissions", False),
        ("channels", False),  # a chat's channels grow with its workspaces
        ("posts", False),
        ("address", False),  # ends in "ss", not a plural of a reference word
    ],
)
def test_reference_tables_by_name(table, reference):
    assert is_reference_table(table, CostAssumptions()) is reference
    assert is_reference_table(table, CostAssumptions(growing_tables=frozenset({table}))) is False


def test_a_transient_state_selects_the_rows_in_flight_not_a_share_of_the_table(tmp_path):
    """`status = "running"` holds what is in flight however big `jobs` grows; `"completed"`
    accumulates, a share of the table."""
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        'export default defineSchema({\n  jobs: defineTable({ status: v.string(), name: v.string() }).index("by_status", ["status"]),',
    )
    body = """
export const {name} = query({{
  args: {{}},
  handler: async (ctx) => {{
    const rows = await ctx.db.query("jobs").withIndex("by_status", (q) => q.eq("status", "{state}")).collect();
    return rows.length;
  }},
}});
"""
    project = write_project(
        tmp_path / "app",
        {"a.ts": HEADER + body.format(name="running", state="running"), "b.ts": HEADER + body.format(name="done", state="completed")},
        schema=schema,
    )
    _, result = check_project(project, select=["unbounded-collect"])
    by_function = {f.function: f for f in result.findings}
    running, done = by_function["running"], by_function["done"]
    assert (running.cost.growth, running.cost.reads, running.severity) == (Growth.BOUNDED, 100, Severity.INFO)
    assert "`[cost] in-flight`" in " ".join(running.cost.assumptions)
    assert (done.cost.growth, done.severity) == (Growth.WHOLE_TABLE, Severity.WARNING)


def test_a_default_flag_selects_the_chosen_row_not_a_share_of_the_table(tmp_path):
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        'export default defineSchema({\n  addresses: defineTable({ name: v.string(), isDefault: v.boolean() }).index("by_default", ["isDefault"]),',
    )
    body = """
export const fallback = query({
  args: {},
  handler: async (ctx) => {
    const rows = await ctx.db.query("addresses").withIndex("by_default", (q) => q.eq("isDefault", true)).collect();
    return rows.filter((r) => r.name !== "");
  },
});
"""
    project = write_project(tmp_path / "app", {"f.ts": HEADER + body}, schema=schema)
    _, result = check_project(project, select=["unbounded-collect"])
    [finding] = result.findings
    assert (finding.cost.growth, finding.severity) == (Growth.BOUNDED, Severity.INFO)
    assert "marks the one (or few) chosen row(s)" in " ".join(finding.cost.assumptions)


def test_a_log_range_that_starts_at_a_time_reads_a_window_not_the_whole_history(tmp_path):
    """`q.eq("userId", u).gte("createdAt", monthStart)` reads this month's rows of the log;
    the same range without the lower bound reads everything the user ever logged."""
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        "export default defineSchema({\n  usageLogs: defineTable({ userId: v.string(), createdAt: v.number() })"
        '.index("by_user_created", ["userId", "createdAt"]),',
    )
    body = """
export const {name} = query({{
  args: {{ userId: v.string(), since: v.number() }},
  handler: async (ctx, args) => {{
    const rows = await ctx.db.query("usageLogs").withIndex("by_user_created", (q) => q.eq("userId", args.userId){bound}).collect();
    return rows.length;
  }},
}});
"""
    files = {
        "a.ts": HEADER + body.format(name="thisMonth", bound='.gte("createdAt", args.since)'),
        "b.ts": HEADER + body.format(name="ever", bound=""),
        "c.ts": HEADER + body.format(name="until", bound='.lt("createdAt", args.since)'),
    }
    _, result = check_project(write_project(tmp_path / "app", files, schema=schema), select=["unbounded-collect"])
    by_function = {f.function: f for f in result.findings}
    window = by_function["thisMonth"]
    assert (window.cost.growth, window.cost.reads, window.severity) == (Growth.PER_PARENT, 10, Severity.INFO)
    assert "holds a window of the log" in " ".join(window.cost.assumptions)
    for name in ("ever", "until"):  # an upper bound alone still reads the history before it
        assert (by_function[name].cost.growth, by_function[name].severity) == (Growth.PER_PARENT_LOG, Severity.WARNING)


def test_counting_one_tenants_entities_is_info_but_a_tenants_log_still_warns(tmp_path):
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        "export default defineSchema({\n"
        '  credentials: defineTable({ orgId: v.string() }).index("by_org", ["orgId"]),\n'
        '  activityLogs: defineTable({ orgId: v.string() }).index("by_org", ["orgId"]),',
    )
    body = """
export const {name} = query({{
  args: {{ orgId: v.string() }},
  handler: async (ctx, args) => {{
    const rows = await ctx.db.query("{table}").withIndex("by_org", (q) => q.eq("orgId", args.orgId)).collect();
    return rows.length;
  }},
}});
"""
    files = {
        "a.ts": HEADER + body.format(name="credentialCount", table="credentials"),
        "b.ts": HEADER + body.format(name="activityCount", table="activityLogs"),
    }
    _, result = check_project(write_project(tmp_path / "app", files, schema=schema), select=["unbounded-collect"])
    by_function = {f.function: f for f in result.findings}
    assert (by_function["credentialCount"].cost.growth, by_function["credentialCount"].severity) == (Growth.PER_TENANT, Severity.INFO)
    assert (by_function["activityCount"].cost.growth, by_function["activityCount"].severity) == (Growth.PER_TENANT, Severity.WARNING)


@pytest.mark.parametrize(
    ("condition", "terminal", "bounded"),
    [
        ('q.eq(q.field("isActive"), true)', ".take(100)", True),
        ('q.eq(q.field("isDeleted"), false)', ".first()", True),
        ('q.eq(q.field("archived"), false)', '.paginate({ numItems: 20, cursor: null })', True),
        ('q.eq(q.field("isActive"), true)', ".collect()", False),  # keeps every match: reads the table
        ('q.eq(q.field("isActive"), false)', ".take(100)", False),  # the unusual value: few match
        ('q.eq(q.field("isDeleted"), true)', ".take(100)", False),
        ('q.eq(q.field("authorId"), args.id)', ".take(100)", False),  # one author's rows among all
    ],
)
def test_a_bounded_scan_that_keeps_the_usual_rows_reads_about_what_it_keeps(tmp_path, condition, terminal, bounded):
    """`.filter(isActive == true).take(100)` stops after 100 matches: ~100 reads while most rows
    are active, not the whole table the message would otherwise claim."""
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        "export default defineSchema({\n  artists: defineTable({ isActive: v.boolean(), isDeleted: v.boolean(), archived: v.boolean(), authorId: v.string() }),",
    )
    body = f"""
export const list = query({{
  args: {{ id: v.string() }},
  handler: async (ctx, args) => {{
    return await ctx.db.query("artists").filter((q) => {condition}){terminal};
  }},
}});
"""
    _, result = check_project(write_project(tmp_path / "app", {"a.ts": HEADER + body}, schema=schema), select=["filter-on-query"])
    [finding] = result.findings
    if bounded:
        assert (finding.cost.growth <= Growth.BOUNDED, finding.severity) == (True, Severity.INFO)
        assert "reads `artists` documents until it has the ones it keeps" in finding.message
        assert "so the scan stops after about as many reads" in finding.cost.assumptions[-1]
    else:
        assert (finding.cost.growth, finding.severity) == (Growth.WHOLE_TABLE, Severity.WARNING)
        assert "scans the whole `artists` table" in finding.message


@pytest.mark.parametrize(
    ("kept", "severity"),
    [
        ("rows.filter((s) => s.startsAt > args.since)", Severity.WARNING),  # a time window: the set accumulates
        ("rows.filter((c) => c.revokedAt === undefined)", Severity.INFO),  # not revoked: a state, not a window
    ],
)
def test_a_tenants_set_cut_down_by_time_accumulates(tmp_path, kept, severity):
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        "export default defineSchema({\n"
        '  sessions: defineTable({ orgId: v.string(), startsAt: v.number(), revokedAt: v.optional(v.number()) }).index("by_org", ["orgId"]),',
    )
    body = f"""
export const recent = query({{
  args: {{ orgId: v.string(), since: v.number() }},
  handler: async (ctx, args) => {{
    const rows = await ctx.db.query("sessions").withIndex("by_org", (q) => q.eq("orgId", args.orgId)).collect();
    return {kept};
  }},
}});
"""
    _, result = check_project(write_project(tmp_path / "app", {"a.ts": HEADER + body}, schema=schema), select=["unbounded-collect"])
    [finding] = result.findings
    assert (finding.cost.growth, finding.severity) == (Growth.PER_TENANT, severity)


@pytest.mark.parametrize(
    ("declare", "bound", "growth", "phrase", "severity"),
    [
        # A short fixed span back from now holds what arrived in it: bounded, not the table.
        (
            "const since = Date.now() - 60 * 60 * 1000;",
            '.gte("createdAt", since)',
            Growth.BOUNDED,
            "of the last hour",
            Severity.INFO,
        ),
        (
            "const since = new Date(Date.now() - 86400000).toISOString();",
            '.gt("createdAt", since)',
            Growth.BOUNDED,
            "of the last day",
            Severity.INFO,
        ),
        # A long span, a caller's start, a caller's two dates: as much of the table as they cover.
        (
            "const since = Date.now() - 30 * 24 * 60 * 60 * 1000;",
            '.gte("createdAt", since)',
            Growth.WHOLE_TABLE,
            "of the last 30 days",
            Severity.WARNING,
        ),
        (
            "",
            '.gte("createdAt", args.since)',
            Growth.WHOLE_TABLE,
            "from a given `createdAt` on",
            Severity.WARNING,
        ),
        (
            "",
            '.gte("createdAt", args.since).lte("createdAt", args.until)',
            Growth.WHOLE_TABLE,
            "between two `createdAt` values",
            Severity.WARNING,
        ),
        # A short span that is not now minus a constant is not known to be short.
        (
            "const since = args.since - 1000;",
            '.gte("createdAt", since)',
            Growth.WHOLE_TABLE,
            "from a given `createdAt` on",
            Severity.WARNING,
        ),
    ],
)
def test_a_time_window_over_a_whole_table_is_costed_by_its_span(
    tmp_path, declare, bound, growth, phrase, severity
):
    """`q.gte("createdAt", since)` with no equality reads the rows from `since` on, not every row
    (two labels on the corpus called "every document" false there), and a span of an hour holds
    only what arrived in the hour."""
    schema = DEFAULT_SCHEMA.replace(
        '.index("by_orgId_and_status", ["orgId", "status"]),',
        '.index("by_orgId_and_status", ["orgId", "status"])\n    .index("by_createdAt", ["createdAt"]),',
    )
    body = f"""
export const recent = query({{
  args: {{ since: v.number(), until: v.number() }},
  handler: async (ctx, args) => {{
    {declare}
    const rows = await ctx.db.query("posts").withIndex("by_createdAt", (q) => q{bound}).collect();
    return rows.map((row) => row.status);
  }},
}});
"""
    _, result = check_project(
        write_project(tmp_path / "app", {"f.ts": HEADER + body}, schema=schema),
        select=["unbounded-collect"],
    )
    [finding] = result.findings
    assert (finding.cost.growth, finding.severity) == (growth, severity)
    assert finding.cost.formula == f"N(posts {phrase})"
    if severity is Severity.WARNING:
        assert f"the range is every document {phrase}" in finding.message
        assert "keyed by a category" not in finding.message


def test_a_lower_bound_on_a_field_that_is_not_a_time_is_not_a_window(tmp_path):
    schema = DEFAULT_SCHEMA.replace(
        "status: v.string(), createdAt", "status: v.string(), score: v.number(), createdAt"
    ).replace(
        '.index("by_orgId_and_status", ["orgId", "status"]),',
        '.index("by_orgId_and_status", ["orgId", "status"])\n    .index("by_score", ["score"]),',
    )
    body = """
export const top = query({
  args: {},
  handler: async (ctx) => {
    const since = Date.now() - 1000;
    const rows = await ctx.db.query("posts").withIndex("by_score", (q) => q.gte("score", since)).collect();
    return rows.length;
  },
});
"""
    _, result = check_project(
        write_project(tmp_path / "app", {"f.ts": HEADER + body}, schema=schema),
        select=["unbounded-collect"],
    )
    [finding] = result.findings
    assert finding.cost.growth is Growth.WHOLE_TABLE
    assert finding.cost.formula == "N(every posts document, a range with no equality)"


def test_a_log_under_a_parent_that_closes_holds_one_lifetime(tmp_path):
    """An issue's messages or a run's log lines stop growing when the issue or the run closes:
    read whole in a reactive query, that is per-parent and info. A user's or a conversation's
    messages keep growing (a log: warning), and a table listed in `[cost] log-tables` stays a
    log under any key."""
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        "export default defineSchema({\n"
        "  issueMessages: defineTable({ issueId: v.string(), userId: v.string(), conversationId: v.string(), body: v.string() })"
        '.index("by_issue", ["issueId"]).index("by_user", ["userId"]).index("by_conversation", ["conversationId"]),\n'
        "  runLogs: defineTable({ automation_run_id: v.string(), line: v.string() })"
        '.index("by_run", ["automation_run_id"]),',
    )
    body = """
export const {name} = query({{
  args: {{ id: v.string() }},
  handler: async (ctx, args) => {{
    const rows = await ctx.db.query("{table}").withIndex("{index}", (q) => q.eq("{field}", args.id)).collect();
    return rows.length;
  }},
}});
"""
    files = {
        "a.ts": HEADER + body.format(name="issueThread", table="issueMessages", index="by_issue", field="issueId"),
        "b.ts": HEADER + body.format(name="runLines", table="runLogs", index="by_run", field="automation_run_id"),
        "c.ts": HEADER + body.format(name="byUser", table="issueMessages", index="by_user", field="userId"),
        "d.ts": HEADER + body.format(name="dm", table="issueMessages", index="by_conversation", field="conversationId"),
    }
    project = write_project(tmp_path / "app", files, schema=schema)
    _, result = check_project(project, select=["unbounded-collect"])
    by_function = {f.function: f for f in result.findings}
    for name, word in (("issueThread", "issue"), ("runLines", "run")):
        finding = by_function[name]
        assert (finding.cost.growth, finding.cost.reads, finding.severity) == (Growth.PER_PARENT, 100, Severity.INFO)
        assert f"one {word}'s: stops growing when it closes" in finding.cost.formula
    for name in ("byUser", "dm"):
        assert (by_function[name].cost.growth, by_function[name].severity) == (Growth.PER_PARENT_LOG, Severity.WARNING)
    config = config_from_dict({"cost": {"log-tables": ["issueMessages"], "per-closed-parent": 30}})
    _, result = check_project(project, select=["unbounded-collect"], config=config)
    assert {f.function: f.cost.growth for f in result.findings}["issueThread"] is Growth.PER_PARENT_LOG
    assert {f.function: f.cost.reads for f in result.findings}["runLines"] == 30


def test_an_equality_on_an_items_identity_selects_its_copies_not_a_log(tmp_path):
    """`dedupeKey`, `idempotency_key`, `messageHandle`, `contentHash` identify one item: the
    range is its few copies, even in a log table. A `discussionKey` names a parent (a log)."""
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        "export default defineSchema({\n"
        "  notifications: defineTable({ dedupeKey: v.string(), messageHandle: v.string(), discussionKey: v.string() })"
        '.index("by_dedupe", ["dedupeKey"]).index("by_handle", ["messageHandle"]).index("by_discussion", ["discussionKey"]),',
    )
    body = """
export const {name} = query({{
  args: {{ id: v.string() }},
  handler: async (ctx, args) => {{
    const rows = await ctx.db.query("notifications").withIndex("{index}", (q) => q.eq("{field}", args.id)).collect();
    return rows.length;
  }},
}});
"""
    files = {
        "a.ts": HEADER + body.format(name="copies", index="by_dedupe", field="dedupeKey"),
        "b.ts": HEADER + body.format(name="byHandle", index="by_handle", field="messageHandle"),
        "c.ts": HEADER + body.format(name="thread", index="by_discussion", field="discussionKey"),
    }
    _, result = check_project(write_project(tmp_path / "app", files, schema=schema), select=["unbounded-collect"])
    by_function = {f.function: f for f in result.findings}
    for name in ("copies", "byHandle"):
        assert (by_function[name].cost.growth, by_function[name].cost.reads, by_function[name].severity) == (
            Growth.PER_PARENT, 10, Severity.INFO,
        )
        assert "identifies one item" in " ".join(by_function[name].cost.assumptions)
    assert (by_function["thread"].cost.growth, by_function["thread"].severity) == (Growth.PER_PARENT_LOG, Severity.WARNING)


def test_a_time_ordered_index_is_a_log_under_one_parent_not_under_two(tmp_path):
    """`["postId", "createdAt"]` keeps a post's replies as a timeline (a log), and so does a
    category of it (`["postId", "kind", "createdAt"]`); `["postId", "parentId", "createdAt"]`
    is one reply's own replies, a group the time field only orders. A table named as a log
    (`activityLogs`) stays one under any key."""
    schema = DEFAULT_SCHEMA.replace(
        "export default defineSchema({",
        "export default defineSchema({\n"
        "  replies: defineTable({ postId: v.string(), parentId: v.string(), kind: v.string(), createdAt: v.number() })"
        '.index("by_post", ["postId", "createdAt"]).index("by_post_kind", ["postId", "kind", "createdAt"])'
        '.index("by_post_parent", ["postId", "parentId", "createdAt"]),\n'
        "  activityLogs: defineTable({ postId: v.string(), parentId: v.string(), createdAt: v.number() })"
        '.index("by_post_parent", ["postId", "parentId", "createdAt"]),',
    )
    body = """
export const {name} = query({{
  args: {{ id: v.string() }},
  handler: async (ctx, args) => {{
    return await ctx.db.query("{table}").withIndex("{index}", (q) => q.eq("postId", args.id){more}).collect();
  }},
}});
"""
    cases = {
        "timeline": ("replies", "by_post", ""),
        "ofAKind": ("replies", "by_post_kind", '.eq("kind", "answer")'),
        "children": ("replies", "by_post_parent", '.eq("parentId", args.id)'),
        "logged": ("activityLogs", "by_post_parent", '.eq("parentId", args.id)'),
    }
    files = {
        f"{name}.ts": HEADER + body.format(name=name, table=table, index=index, more=more)
        for name, (table, index, more) in cases.items()
    }
    _, result = check_project(write_project(tmp_path / "app", files, schema=schema), select=["unbounded-collect"])
    growth = {f.function: (f.cost.growth, f.severity) for f in result.findings}
    assert growth == {
        "timeline": (Growth.PER_PARENT_LOG, Severity.WARNING),
        "ofAKind": (Growth.PER_PARENT_LOG, Severity.WARNING),
        "children": (Growth.PER_PARENT, Severity.INFO),
        "logged": (Growth.PER_PARENT_LOG, Severity.WARNING),
    }


@pytest.mark.parametrize(
    ("items", "reads", "filtered"),
    [
        ('all.filter((p) => p.status === "escalated")', 1_000, True),
        ('all.filter((p) => p.status === "escalated").filter((p) => p.authorId)', 1_000, True),  # one share
        ("all.filter(Boolean)", 10_000, False),  # drops only missing values
        ("all.filter((p) => p !== null)", 10_000, False),
        ("all.filter((p): p is typeof p => !!p)", 10_000, False),
        ('["a", "b", "c"].filter((s) => s !== args.skip)', 3, False),  # a stated size stays
    ],
)
def test_a_loop_over_a_filtered_list_runs_for_a_share_of_it(tmp_path, items, reads, filtered):
    """`rows.filter(...)` keeps `conditional-share` percent of the rows (the message says so), not
    every row; a filter that drops only missing values keeps them all."""
    finding = _one(
        tmp_path,
        f"""
export const escalated = mutation({{
  args: {{ skip: v.string() }},
  handler: async (ctx, args) => {{
    const all = await ctx.db.query("posts").collect();
    for (const item of {items}) {{
      await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", String(item))).first();
    }}
  }},
}});
""",
    )
    assert finding.cost.reads == reads
    said = " ".join(finding.cost.assumptions)
    assert ("`.filter(…)` assumed to keep 10% of them" in said) is filtered
    assert (", filtered)" in finding.cost.formula) is filtered
