"""The cost model: what drives a loop's count, how it grows, and the severity it earns."""

from __future__ import annotations

import pytest

from convex_xray.engine.config import ConfigError, config_from_dict
from convex_xray.engine.cost import Growth
from convex_xray.engine.findings import Severity
from tests.support.project import check_project, write_project

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
    # A team that knows its comments run to thousands says so, and the same loop warns.
    config = config_from_dict({"cost": {"per-parent": 1000}})
    assert _one(tmp_path / "b", body, config=config).severity is Severity.WARNING


def test_whole_table_loop_and_nested_loops_multiply(tmp_path):
    project = write_project(
        tmp_path / "app",
        {
            "f.ts": HEADER
            + """
export const everything = internalMutation({
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
    assert inner.cost.reads == 10_000 * 10 and inner.cost.context == "internal-mutation"


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
"""
        },
    )
    _, result = check_project(project, select=["filter-on-query"])
    by_function = {f.function: f for f in result.findings}
    assert by_function["comments"].severity is Severity.INFO
    assert by_function["comments"].cost is not None and by_function["comments"].cost.growth is Growth.PER_PARENT
    assert by_function["orgPosts"].severity is Severity.WARNING
    assert by_function["orgPosts"].cost is not None and by_function["orgPosts"].cost.growth is Growth.PER_TENANT


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
