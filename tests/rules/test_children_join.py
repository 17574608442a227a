"""n-plus-one-read on a join over one parent's children: when every per-item read is a
`db.get` by id and every loop runs over one parent's children (or a few items), the loop is
info in a reactive query too, nested or not, and the message says why; a query per item, a
loop over a tenant, a log, a page or a table keeps its warning."""

from __future__ import annotations

import pytest

from convex_xray.engine.findings import Severity
from tests.support.project import FEED_SCHEMA, check_project, write_project


def _query(outer: str, inner: str) -> str:
    return f"""
import {{ query }} from "./_generated/server";
import {{ v }} from "convex/values";

export const thread = query({{
  args: {{ authorId: v.id("users"), orgId: v.id("orgs") }},
  handler: async (ctx, args) => {{
    const posts = {outer};
    return await Promise.all(
      posts.map(async (post) => {{
        const comments = await ctx.db
          .query("comments")
          .withIndex("by_postId", (q) => q.eq("postId", post._id))
          .collect();
        return Promise.all(comments.map(async (comment) => ({{ ...comment, author: {inner} }})));
      }}),
    );
  }},
}});
"""


BY_AUTHOR = 'await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).collect()'
GET = "await ctx.db.get(comment.authorId)"


def _inner_finding(tmp_path, source: str, schema: str | None = None):
    files = {"threads.ts": source}
    project = write_project(tmp_path / "app", files) if schema is None else write_project(tmp_path / "app", files, schema=schema)
    _, result = check_project(project, select=["n-plus-one-read"])
    # the loop over the comments (the outer loop's own reads are another finding)
    [finding] = [f for f in result.findings if "inside 1 more loop" in f.message]
    return finding


def test_a_get_join_over_one_parents_children_is_info(tmp_path):
    finding = _inner_finding(tmp_path, _query(BY_AUTHOR, GET))
    assert finding.severity is Severity.INFO
    assert "a `db.get` by id over one parent's children" in finding.message
    assert finding.fix is not None  # batching the unique ids is still offered


@pytest.mark.parametrize(
    ("outer", "inner", "schema", "reason"),
    [
        (
            BY_AUTHOR,
            'await ctx.db.query("users").withIndex("by_email", (q) => q.eq("email", comment.body)).first()',
            None,
            "a query per item, not a point read",
        ),
        (
            'await ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId)).collect()',
            GET,
            None,
            "the outer loop runs over an org's posts (a tenant)",
        ),
        (
            'await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).take(50)',
            GET,
            None,
            "the outer loop runs over a page of 50, not one parent's few children",
        ),
        (BY_AUTHOR, GET, FEED_SCHEMA, "a post's comments kept in time order: a log that grows"),
    ],
)
def test_other_nested_joins_keep_their_warning(tmp_path, outer, inner, schema, reason):
    finding = _inner_finding(tmp_path, _query(outer, inner), schema)
    assert finding.severity is Severity.WARNING, reason
    assert "over one parent's children" not in finding.message
