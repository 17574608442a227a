"""Who creates a table's rows (`engine.writers`): tables only platform admins write are taken
for small reference tables by the cost model, and nothing else is."""

from __future__ import annotations

import pytest

from convex_xray.engine.config import Config
from convex_xray.engine.cost import Growth
from convex_xray.engine.findings import Severity
from convex_xray.engine.source import SourceFile
from convex_xray.engine.writers import cost_assumptions, insert_sites
from tests.support.project import DEFAULT_SCHEMA, check_project, workspace_for, write_project

HEADER = 'import { query, mutation, internalMutation } from "./_generated/server";\nimport { v } from "convex/values";\nimport { requireAdmin, requireOrgAdmin } from "./auth";\n'
SCHEMA = DEFAULT_SCHEMA.replace(
    "export default defineSchema({",
    "export default defineSchema({\n"
    "  banners: defineTable({ text: v.string() }),\n"
    "  notes: defineTable({ text: v.string() }),\n"
    "  auditLogs: defineTable({ text: v.string() }),",
)
LIST = """
export const listBanners = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("banners").collect();
  },
});
"""


def _create(guard: str, table: str = "banners", body: str = 'await ctx.db.insert("{table}", {{ text: args.text }});') -> str:
    return f"""
export const create_{table} = mutation({{
  args: {{ text: v.string() }},
  handler: async (ctx, args) => {{
    {guard}
    {body.format(table=table)}
  }},
}});
"""


def _scan(tmp_path, files: dict[str, str]):
    project = write_project(tmp_path / "app", {"list.ts": HEADER + LIST, **files}, schema=SCHEMA)
    _, result = check_project(project, select=["full-table-scan"])
    [finding] = [f for f in result.findings if f.function == "listBanners"]
    return finding


def test_a_table_only_a_platform_admin_creates_rows_in_is_a_small_reference_table(tmp_path):
    finding = _scan(tmp_path, {"admin.ts": HEADER + _create("await requireAdmin(ctx);")})
    assert (finding.cost.growth, finding.cost.reads, finding.severity) == (Growth.BOUNDED, 100, Severity.INFO)
    [why] = [a for a in finding.cost.assumptions if "banners" in a]
    assert "only behind a platform admin check (admin.ts:" in why and "`requireAdmin(...)`" in why
    assert "`[cost] growing-tables`" in why


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"admin.ts": HEADER + _create("")}, "no admin check"),
        ({"admin.ts": HEADER + _create("await requireOrgAdmin(ctx);")}, "an org's admins"),
        ({"admin.ts": HEADER + _create("await requireAdmin(ctx, args.orgId);")}, "scoped by its argument"),
        (
            {"admin.ts": HEADER + _create("await requireAdmin(ctx);"), "users.ts": HEADER + _create("").replace("create_banners", "userBanner")},
            "users create rows too",
        ),
        (
            {"admin.ts": HEADER + _create("await requireAdmin(ctx);", body='for (const t of ["a", "b"]) {{ await ctx.db.insert("{table}", {{ text: t }}); }}')},
            "a bulk insert in a loop",
        ),
        (
            {"admin.ts": HEADER + _create("await requireAdmin(ctx);"), "generic.ts": HEADER + "export async function put(ctx: any, table: any) { await ctx.db.insert(table, {}); }\n"},
            "a table named at run time could be any",
        ),
        (
            {"admin.ts": HEADER + _create("const isAdmin = await requireAdmin(ctx); if (!isAdmin && args.text !== '') throw new Error();").replace("requireAdmin(ctx)", "check(ctx)")},
            "an admin test that lets others through",
        ),
    ],
)
def test_a_table_others_can_write_still_grows(tmp_path, files, reason):
    finding = _scan(tmp_path, files)
    assert (finding.cost.growth, finding.severity) == (Growth.WHOLE_TABLE, Severity.WARNING), reason


def test_rows_from_tests_and_seeds_do_not_count_as_users_writing(tmp_path):
    seed = HEADER + _create("").replace("create_banners", "seedBanners")
    finding = _scan(tmp_path, {"admin.ts": HEADER + _create("await requireAdmin(ctx);"), "seed.ts": seed})
    assert finding.severity is Severity.INFO


def test_an_admin_log_still_grows_with_every_admin_action(tmp_path):
    files = {"admin.ts": HEADER + _create("await requireAdmin(ctx);", table="auditLogs")}
    project = write_project(tmp_path / "app", files, schema=SCHEMA)
    assert cost_assumptions(workspace_for(project), Config()).admin_tables == ()


@pytest.mark.parametrize(
    ("guard", "named"),
    [
        ("await requireAdmin(ctx);", "`requireAdmin(...)`"),
        ("await assertSuperAdmin(ctx);", "`assertSuperAdmin(...)`"),
        ('const user = await me(ctx);\n    if (user.role !== "admin") {\n      throw new Error("forbidden");\n    }', 'an admin test (`role !== "admin"`) that throws'),
        ("if (!(await isAdmin(ctx))) throw new Error();", "an admin test (`isAdmin`) that throws"),
    ],
)
def test_the_guard_shapes_read_as_platform_admin_checks(guard, named):
    [site] = insert_sites((HEADER + _create(guard)).encode())
    assert (site.table, site.guard) == ("banners", named)


def test_a_guard_in_another_function_does_not_cover_the_insert():
    text = HEADER + "export const check = mutation({ args: {}, handler: async (ctx) => { await requireAdmin(ctx); } });\n" + _create("")
    assert [s.guard for s in insert_sites(text.encode())] == [None]


def test_an_admin_builder_guards_its_function():
    text = 'import { adminMutation } from "./lib";\nexport const add = adminMutation({ args: {}, handler: async (ctx) => { await ctx.db.insert("banners", { text: "" }); } });\n'
    [site] = insert_sites(text.encode())
    assert site.guard == "`adminMutation`"


def test_the_verdict_follows_an_edit_of_another_file(tmp_path):
    project = write_project(tmp_path / "app", {"admin.ts": HEADER + _create("await requireAdmin(ctx);")}, schema=SCHEMA)
    workspace = workspace_for(project)
    config = Config()
    first = cost_assumptions(workspace, config)
    assert first.admin_evidence("banners") is not None
    assert cost_assumptions(workspace, config) is first  # one merge per revision
    users = (project / "convex" / "users.ts").resolve()
    workspace.set_source(SourceFile(users, HEADER + _create("").replace("create_banners", "mine")))
    assert cost_assumptions(workspace, config).admin_evidence("banners") is None


def test_growing_tables_opts_a_table_out(tmp_path):
    project = write_project(tmp_path / "app", {"admin.ts": HEADER + _create("await requireAdmin(ctx);")}, schema=SCHEMA)
    config = Config()
    config.cost = type(config.cost)(growing_tables=frozenset({"banners"}))
    assert cost_assumptions(workspace_for(project), config).admin_evidence("banners") is None


def test_another_configuration_merges_again_also_in_a_provisional_check(tmp_path):
    """The merge remembers the configuration it used; another one (the editor reloaded it)
    merges again, wherever the merge is kept (a provisional check keeps its own)."""
    from convex_xray.engine.memo import Memo

    project = write_project(tmp_path / "app", {"admin.ts": HEADER + _create("await requireAdmin(ctx);")}, schema=SCHEMA)
    grows = Config()
    grows.cost = type(grows.cost)(growing_tables=frozenset({"banners"}))
    for provisional in (False, True):
        workspace = workspace_for(project)
        workspace.source((project / "convex" / "admin.ts").resolve())  # read, as indexing would
        workspace.provisional = Memo() if provisional else None
        assert cost_assumptions(workspace, Config()).admin_evidence("banners") is not None
        assert cost_assumptions(workspace, grows).admin_evidence("banners") is None


def test_rows_an_admin_keeps_per_tenant_grow_with_the_tenants(tmp_path):
    schema = SCHEMA.replace('banners: defineTable({ text: v.string() })', 'banners: defineTable({ text: v.string(), orgId: v.string() })')
    project = write_project(tmp_path / "app", {"admin.ts": HEADER + _create("await requireAdmin(ctx);")}, schema=schema)
    assert cost_assumptions(workspace_for(project), Config()).admin_evidence("banners") is None


def test_edits_that_insert_nowhere_keep_the_verdict_and_others_merge_again(tmp_path):
    """Per keystroke in the editor: a file that inserts nowhere before and after its edit
    leaves the merged verdict as it was (no walk over every file); an edit that adds an
    insert, or a schema edit that gives the table a tenant field, gives a fresh workspace's
    verdict."""
    project = write_project(
        tmp_path / "app",
        {"admin.ts": HEADER + _create("await requireAdmin(ctx);"), "list.ts": HEADER + LIST},
        schema=SCHEMA,
    )
    workspace = workspace_for(project)
    config = Config()
    first = cost_assumptions(workspace, config)
    assert first.admin_evidence("banners") is not None
    root = project / "convex"
    listing, admin, schema = (root / "list.ts").resolve(), (root / "admin.ts").resolve(), (root / "schema.ts").resolve()
    current = {listing: HEADER + LIST + "// a note\n"}
    workspace.set_source(SourceFile(listing, current[listing]))
    assert cost_assumptions(workspace, config) is first

    def fresh_verdict():
        fresh = workspace_for(project)
        for path, text in current.items():
            fresh.set_source(SourceFile(path, text))
        return cost_assumptions(fresh, config)

    current[admin] = HEADER + _create("await requireAdmin(ctx);") + "// edited\n"
    workspace.set_source(SourceFile(admin, current[admin]))  # inserts, unchanged: merged again
    assert cost_assumptions(workspace, config) == fresh_verdict() == first
    current[listing] = HEADER + LIST + _create("").replace("create_banners", "mine")
    workspace.set_source(SourceFile(listing, current[listing]))  # now inserts unguarded
    assert cost_assumptions(workspace, config) == fresh_verdict()
    assert cost_assumptions(workspace, config).admin_evidence("banners") is None
    current[listing] = HEADER + LIST
    workspace.set_source(SourceFile(listing, current[listing]))
    assert cost_assumptions(workspace, config).admin_evidence("banners") is not None
    current[schema] = SCHEMA.replace("banners: defineTable({ text: v.string() })", "banners: defineTable({ text: v.string(), orgId: v.string() })")
    workspace.set_source(SourceFile(schema, current[schema]))  # no insert there, but a tenant field
    assert cost_assumptions(workspace, config) == fresh_verdict()
    assert cost_assumptions(workspace, config).admin_evidence("banners") is None


def test_keystrokes_in_a_file_that_inserts_keep_the_verdict_unless_they_change_it(tmp_path):
    """A keystroke that only moves a file's inserts (unguarded: their lines are no evidence)
    keeps the merged verdict without a merge over every file; moving a guarded insert (the
    evidence names its line), changing a table, or importing convex-test (a test file now)
    gives a fresh workspace's verdict."""
    notes = HEADER + _create("", table="notes")
    admin_text = HEADER + _create("await requireAdmin(ctx);")
    project = write_project(tmp_path / "app", {"admin.ts": admin_text, "notes.ts": notes}, schema=SCHEMA)
    workspace = workspace_for(project)
    config = Config()
    first = cost_assumptions(workspace, config)
    root = project / "convex"
    notes_path, admin = (root / "notes.ts").resolve(), (root / "admin.ts").resolve()
    current = {notes_path: notes, admin: admin_text}

    def fresh_verdict():
        fresh = workspace_for(project)
        for path, text in current.items():
            fresh.set_source(SourceFile(path, text))
        return cost_assumptions(fresh, config)

    def edit(path, text):
        current[path] = text
        workspace.set_source(SourceFile(path, text))

    edit(notes_path, "// a note\n" + notes)  # the unguarded insert moves down a line
    assert cost_assumptions(workspace, config) is first
    assert first == fresh_verdict()
    edit(admin, "// a note\n" + admin_text)  # the evidence's line moves
    moved = cost_assumptions(workspace, config)
    assert moved == fresh_verdict() and moved != first
    assert "admin.ts:" in (moved.admin_evidence("banners") or "")
    edit(notes_path, notes.replace('"notes"', '"banners"'))  # now inserts into banners, unguarded
    assert cost_assumptions(workspace, config) == fresh_verdict()
    assert cost_assumptions(workspace, config).admin_evidence("banners") is None
    edit(notes_path, notes)
    edit(admin, 'import { convexTest } from "convex-test";\n' + admin_text)  # a test suite now
    assert cost_assumptions(workspace, config) == fresh_verdict()
    assert cost_assumptions(workspace, config).admin_evidence("banners") is None
