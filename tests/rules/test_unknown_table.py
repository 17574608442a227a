"""unknown-table: one info per query on a table missing from a known, complete schema, and
no collect/scan claim from the other rules about such a query."""

from __future__ import annotations

from tests.support.project import check_project, write_project

COMPONENT_READS = """
import { internalQuery } from "./_generated/server";
export const sweep = internalQuery({
  args: {},
  handler: async (ctx) => {
    const db = ctx.db as any;
    const rows = await db.query("verification").collect();
    const some = await db.query("verification").filter((q: any) => q.eq(q.field("used"), false)).first();
    const many = await db.query("verification").take(5000);
    return [rows.length, some, many.length];
  },
});
"""

SAME_READS_ON_AN_APP_TABLE = COMPONENT_READS.replace('"verification"', '"posts"').replace(
    'q.field("used"), false', 'q.field("status"), "draft"'
)

SCAN_RULES = ["full-table-scan", "unbounded-collect", "filter-on-query", "large-take"]


def rules_by_line(project, select):
    _, result = check_project(project, select=select)
    assert not result.failures
    return sorted((f.rule, f.severity.label) for f in result.findings)


def test_a_component_table_gets_one_info_and_no_scan_claims(tmp_path):
    project = write_project(tmp_path / "a", {"sweep.ts": COMPONENT_READS})
    assert rules_by_line(project, [*SCAN_RULES, "unknown-table"]) == [("unknown-table", "info")] * 3


def test_the_same_reads_on_an_app_table_are_still_claimed(tmp_path):
    # the near miss: the scan rules keep speaking about the app's own tables
    project = write_project(tmp_path / "b", {"sweep.ts": SAME_READS_ON_AN_APP_TABLE})
    found = {rule for rule, _ in rules_by_line(project, [*SCAN_RULES, "unknown-table"])}
    assert "unknown-table" not in found
    assert {"full-table-scan", "large-take"} <= found


INCOMPLETE = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { authTables } from "@convex-dev/auth/server";
export default defineSchema({
  ...authTables,
  posts: defineTable({ status: v.string() }),
});
"""

UNREADABLE = """
import schema from "./generated-schema";
export default schema;
"""


def test_silent_when_the_schema_is_incomplete_or_unreadable_or_missing(tmp_path):
    for name, schema in (("spread", INCOMPLETE), ("unreadable", UNREADABLE), ("missing", None)):
        project = write_project(tmp_path / name, {"sweep.ts": COMPONENT_READS}, schema=schema)
        assert rules_by_line(project, ["unknown-table"]) == [], name
