"""n-plus-one-read on the recommended join: one `db.get` per row of a membership range whose
ids all differ (the schema indexes the parent with the field: one row per team and user) is
info with no fix, since batch-fetching the unique ids would read as many; anything else keeps
its warning and its fix."""

from __future__ import annotations

import pytest

from convex_xray.engine.findings import Severity
from tests.support.project import check_project, write_project

SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({ name: v.string() }),
  teamMembers: defineTable({ teamId: v.string(), userId: v.id("users"), invitedBy: v.id("users") })
    .index("by_team", ["teamId"])
    .index("by_team_and_user", ["teamId", "userId"]),
  teamNotes: defineTable({ teamId: v.string(), authorId: v.id("users") }).index("by_team", ["teamId"]),
});
"""


def _query(table: str, body: str) -> str:
    return f"""
import {{ query }} from "./_generated/server";
import {{ v }} from "convex/values";

export const list = query({{
  args: {{ teamId: v.string() }},
  handler: async (ctx, args) => {{
    const rows = await ctx.db
      .query("{table}")
      .withIndex("by_team", (q) => q.eq("teamId", args.teamId))
      .collect();
    {body}
  }},
}});
"""


JOIN = "return await Promise.all(rows.map(async (row) => ({ ...row, user: await ctx.db.get(row.userId) })));"


def _finding(tmp_path, source: str):
    project = write_project(tmp_path / "app", {"teams.ts": source}, schema=SCHEMA)
    _, result = check_project(project, select=["n-plus-one-read"])
    [finding] = result.findings
    return finding


def test_the_join_over_a_membership_range_is_the_recommended_one(tmp_path):
    finding = _finding(tmp_path, _query("teamMembers", JOIN))
    assert finding.severity is Severity.INFO
    assert finding.fix is None and not finding.alternatives
    assert "the join Convex recommends" in finding.message
    assert "one `teamMembers` row per `teamId` and `userId`: index `by_team_and_user`" in finding.message


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (_query("teamNotes", JOIN.replace("row.userId", "row.authorId")), "authors repeat: no index says one note per team and author"),
        (_query("teamMembers", JOIN.replace("row.userId", "row.invitedBy")), "inviters repeat"),
        (
            _query("teamMembers", JOIN.replace("user: await ctx.db.get(row.userId)", "user: await ctx.db.get(row.userId), by: await ctx.db.get(row.invitedBy)")),
            "a second read per member",
        ),
        (
            _query("teamMembers", "const out = [];\n    for (const row of rows) {\n      out.push(await ctx.db.get(row.userId));\n    }\n    return out;"),
            "one at a time: the loop waits for each",
        ),
    ],
)
def test_other_joins_keep_their_warning(tmp_path, source, reason):
    finding = _finding(tmp_path, source)
    assert finding.severity is Severity.WARNING, reason
    assert "the join Convex recommends" not in finding.message
