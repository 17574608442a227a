"""Options and no-claim decisions of the query and index rules, table style."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.engine.config import Config, config_from_dict
from convex_xray.engine.schema import read_schema
from convex_xray.engine.source import SourceFile
from convex_xray.rules.support.add_index import naming_style, style_name
from tests.support.project import check_project, write_project


def _schema(indexes: str):
    text = (
        'import { defineSchema, defineTable } from "convex/server";\n'
        f"export default defineSchema({{ t: defineTable({{}}){indexes} }});\n"
    )
    return read_schema(SourceFile(Path("convex/schema.ts"), text))


@pytest.mark.parametrize(
    ("indexes", "style", "name"),
    [
        ('.index("by_a_and_b", ["a", "b"]).index("by_c", ["c"])', "by_and", "by_orgId_and_status"),
        ('.index("by_a_b", ["a", "b"]).index("by_c", ["c"])', "by_underscore", "by_orgId_status"),
        ('.index("byAAndB", ["a", "b"]).index("byC", ["c"])', "camel_and", "byOrgIdAndStatus"),
        ('.index("byAB", ["a", "b"])', "camel", "byOrgIdStatus"),
        (
            '.index("by_c", ["c"])',
            "by_and",
            "by_orgId_and_status",
        ),  # single fields don't tell: the default
        ('.index("weird", ["c"])', "by_and", "by_orgId_and_status"),
        (
            '.index("by_a_b", ["a", "b"]).index("by_a_and_c", ["a", "c"]).index("by_b_c", ["b", "c"])',
            "by_underscore",
            "by_orgId_status",
        ),
    ],
)
def test_naming_style(indexes, style, name):
    detected = naming_style([_schema(indexes)])
    assert detected == style
    assert style_name(detected, ["orgId", "status"]) == name


def test_nested_field_names():
    assert style_name("by_and", ["address.city", "kind"]) == "by_address_city_and_kind"


SCAN = """
import { query } from "./_generated/server";
export const f = query({
  args: {},
  handler: async (ctx) => {
    const a = await ctx.db.query("settings").collect();
    const b = await ctx.db.query("settings").filter((q) => q.eq(q.field("key"), "x")).first();
    const c = await ctx.db.query("settings").take(1000);
    return [a, b, c];
  },
});
"""

SETTINGS_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({ settings: defineTable({ key: v.string() }) });
"""


@pytest.mark.parametrize("rule", ["full-table-scan", "filter-on-query", "large-take"])
def test_small_tables_are_never_reported(project, rule):
    app = project({"s.ts": SCAN}, SETTINGS_SCHEMA)
    _, before = check_project(app, select=[rule])
    assert [f for f in before.findings if f.rule == rule], "reported without the option"
    config = config_from_dict({"small-tables": ["settings"]})
    _, after = check_project(app, select=[rule], config=config)
    assert [f for f in after.findings if f.rule == rule] == []


def test_large_take_threshold_is_configurable(project):
    app = project({"s.ts": SCAN}, SETTINGS_SCHEMA)
    for limit, expected in ((500, 1), (1000, 1), (1001, 0)):
        _, result = check_project(app, select=["large-take"], config=Config(large_take=limit))
        assert len(result.findings) == expected, limit


def test_fetch_timeout_is_configurable(project):
    app = project(
        {
            "a.ts": """
            import { action } from "./_generated/server";
            export const f = action({ args: {}, handler: async () => (await fetch("https://x.example")).status });
            """
        },
        SETTINGS_SCHEMA,
    )
    _, result = check_project(
        app, select=["fetch-without-timeout"], config=Config(fetch_timeout_ms=2500)
    )
    (finding,) = result.findings
    assert finding.fix is not None
    assert finding.fix.edits[0].new_text == ", { signal: AbortSignal.timeout(2500) }"
    assert "2.5 s" in finding.fix.title


USES_NOTHING = """
import { query } from "./_generated/server";
export const f = query({ args: {}, handler: async (ctx) => await ctx.db.query("players").take(5) });
"""

PLAYERS = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({
  players: defineTable({ orgId: v.string(), email: v.string() })
    .index("by_orgId", ["orgId"])
    .index("by_email", ["email"]),
});
"""


@pytest.mark.parametrize(
    ("files", "schema", "reported"),
    [
        ({"p.ts": USES_NOTHING}, PLAYERS, {"by_orgId", "by_email"}),
        # a spread the reader cannot follow: the schema is incomplete, no claim at all
        (
            {"p.ts": USES_NOTHING},
            PLAYERS.replace(
                "export default defineSchema({",
                "export default defineSchema({\n  ...somewhereElse,",
            ),
            set(),
        ),
        # an index chosen at run time on an unknown table (not a helper parameter): no claim
        (
            {
                "p.ts": USES_NOTHING,
                "d.ts": """
                import { query } from "./_generated/server";
                const pick = () => (Math.random() > 0.5 ? "by_orgId" : "by_email");
                export const g = query({ args: { t: v.string() }, handler: async (ctx, args) => await ctx.db.query(args.t as any).withIndex(pick() as any).take(5) });
                """,
            },
            PLAYERS,
            set(),
        ),
        # the same on a known table silences that table only
        (
            {
                "p.ts": USES_NOTHING,
                "d.ts": """
                import { query } from "./_generated/server";
                export const g = query({ args: { i: v.string() }, handler: async (ctx, args) => await ctx.db.query("players").withIndex(args.i as any).take(5) });
                """,
            },
            PLAYERS,
            set(),
        ),
        # a name spelled in a string elsewhere (a config object) counts as a use
        (
            {"p.ts": USES_NOTHING, "c.ts": 'export const LOOKUPS = { email: "by_email" };\n'},
            PLAYERS,
            {"by_orgId"},
        ),
    ],
    ids=["plain", "incomplete-schema", "fully-dynamic", "dynamic-on-table", "literal-mention"],
)
def test_unused_index_claims(project, files, schema, reported):
    app = project(files, schema)
    _, result = check_project(app, select=["unused-index"])
    names = {f.message.split("`")[1] for f in result.findings}
    assert names == reported
    assert all(f.severity.label == "hint" for f in result.findings)


def test_unused_index_reports_into_the_file_that_defines_the_table(tmp_path):
    app = write_project(
        tmp_path / "app",
        {
            "p.ts": USES_NOTHING,
            "tables.ts": """
            import { defineTable } from "convex/server";
            import { v } from "convex/values";
            export const players = defineTable({ orgId: v.string() }).index("by_orgId", ["orgId"]);
            """,
        },
        """
        import { defineSchema } from "convex/server";
        import { players } from "./tables";
        export default defineSchema({ players });
        """,
    )
    _, result = check_project(app, select=["unused-index"])
    (finding,) = result.findings
    assert finding.path.name == "tables.ts"


def test_usage_follows_edits_and_signature_tracks_what_the_rules_read(project):
    from convex_xray.engine.source import SourceFile
    from convex_xray.rules.support.index_usage import compute_usage, usage_signature

    app = project({"p.ts": USES_NOTHING}, PLAYERS)
    workspace, _ = check_project(app, select=["unused-index"])
    path = app / "convex" / "p.ts"
    before = workspace.model(path)
    assert before is not None
    signature = usage_signature(workspace, before)
    assert not compute_usage(workspace).used("players", "by_email")
    assert usage_signature(workspace, before) == signature  # cached, same answer

    edited = USES_NOTHING.replace('.take(5)', '.take(5).then(() => "by_email")')
    workspace.set_source(SourceFile(path, edited))
    after = workspace.model(path)
    assert after is not None and after is not before
    assert usage_signature(workspace, after) != signature, "a new literal naming an index changes the signature"
    assert compute_usage(workspace).used("players", "by_email")

    ordered = USES_NOTHING.replace(
        'ctx.db.query("players").take(5)',
        'ctx.db.query("players").withIndex("by_orgId", (q) => q.eq("orgId", "o")).take(5)',
    )
    workspace.set_source(SourceFile(path, ordered))
    plain = usage_signature(workspace, workspace.model(path))
    workspace.set_source(SourceFile(path, ordered.replace(".take(5)", '.order("desc").take(5)')))
    assert usage_signature(workspace, workspace.model(path)) != plain, "`.order()` on a use matters to redundant-index"
