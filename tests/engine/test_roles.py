"""Code roles: tests never above info, scripts at info unless a Convex limit is at risk,
configurable globs; the role is on every finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.cli.main import build_workspace
from convex_xray.engine.config import Config, ConfigError, config_from_dict
from convex_xray.engine.findings import Severity
from convex_xray.engine.roles import SCRIPT, TEST, RolesConfig, example_folder, role_of
from convex_xray.engine.runner import run_check
from tests.support.project import check_project, write_project

ROOT = Path("/app/convex")


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("users.test.ts", "test"),
        ("lib/users.spec.tsx", "test"),
        ("__tests__/users.ts", "test"),
        ("tests/helpers.ts", "test"),
        ("scripts/backfill.ts", "script"),
        ("migrations/2024_01.ts", "script"),
        ("seed.ts", "script"),
        ("seedData.ts", "script"),
        ("dev/reset.ts", "script"),
        ("provider_migrations.ts", "script"),
        ("lib/userMigration.ts", "script"),
        ("demoSeed/internals.ts", "script"),
        ("demo_seed/users.ts", "script"),
        ("e2e_actions.ts", "test"),
        ("e2eFixtures.ts", "test"),
        ("checkout.e2e.ts", "test"),
        ("billing_e2e.ts", "test"),
        ("e2e/seed.ts", "test"),
        # near misses: names that merely contain the words
        ("users.ts", "production"),
        ("contest.ts", "production"),
        ("testimonials.ts", "production"),
        ("scriptures.ts", "production"),
        ("lib/seeder_utils/x.ts", "production"),
        ("migrationStatus.ts", "production"),
        ("be2e.ts", "production"),
    ],
)
def test_default_roles(name, role):
    assert role_of(ROOT / name, ROOT, [], RolesConfig()) == role


def test_a_convex_test_suite_of_any_name_is_a_test():
    data = b'import { convexTest } from "convex-test";\n'
    assert role_of(ROOT / "harness.ts", ROOT, [], RolesConfig(), data) == TEST
    assert role_of(ROOT / "harness.ts", ROOT, [], RolesConfig(), b'import { x } from "convex/server";\n') == "production"


def test_configured_globs_add_to_the_defaults_and_production_wins():
    config = RolesConfig(test=["e2e/**"], script=["admin/backfill*"], production=["scripts/public.ts"])
    assert role_of(ROOT / "e2e/flow.ts", ROOT, [Path("/app")], config) == TEST
    assert role_of(ROOT / "admin/backfillUsers.ts", ROOT, [Path("/app")], config) == SCRIPT
    assert role_of(ROOT / "scripts/public.ts", ROOT, [Path("/app")], config) == "production"
    assert role_of(ROOT / "scripts/other.ts", ROOT, [Path("/app")], config) == SCRIPT
    # configured globs also match from the project; the defaults only inside the root
    assert role_of(ROOT / "a.ts", ROOT, [Path("/app")], RolesConfig(test=["convex/a.ts"])) == TEST
    assert role_of(Path("/tests/app/convex/a.ts"), Path("/tests/app/convex"), [Path("/")], RolesConfig()) == "production"


def test_roles_config_parses_and_rejects_mistakes():
    config = config_from_dict({"roles": {"test": ["e2e/**"], "script": ["ops/*"]}})
    assert config.roles.test == ["e2e/**"] and config.roles.script == ["ops/*"]
    with pytest.raises(ConfigError, match=r"roles\.tests: unknown role \(did you mean .test.\?\) \(use one of production, test, script\)"):
        config_from_dict({"roles": {"tests": ["x"]}})
    with pytest.raises(ConfigError, match=r"roles\.test: must be a list of glob patterns"):
        config_from_dict({"roles": {"test": "e2e/**"}})
    with pytest.raises(ConfigError, match=r"roles: must be a table"):
        config_from_dict({"roles": ["e2e/**"]})


N_PLUS_ONE = """
import { query } from "./_generated/server";
export const feed = query({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", "o")).collect();
    const out = [];
    for (const user of users) {
      out.push(await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", user._id)).first());
    }
    return out;
  },
});
"""

WHOLE_TABLE = """
import { internalMutation } from "./_generated/server";
export const wipe = internalMutation({
  args: {},
  handler: async (ctx) => {
    const all = await ctx.db.query("comments").collect();
    for (const c of all) await ctx.db.delete(c._id);
  },
});
"""


PAGES_IN_A_LOOP = """
import { internalMutation } from "./_generated/server";
export const backfill = internalMutation({
  args: {},
  handler: async (ctx) => {
    let cursor: string | null = null;
    let done = false;
    while (!done) {
      const page = await ctx.db.query("posts").paginate({ cursor, numItems: 100 });
      for (const post of page.page) await ctx.db.patch(post._id, { status: "x" });
      cursor = page.continueCursor;
      done = page.isDone;
    }
  },
});
"""


def test_a_convex_limit_keeps_its_tier_in_a_script_not_in_a_test(tmp_path):
    project = write_project(tmp_path, {"migrations/backfill.ts": PAGES_IN_A_LOOP, "backfill.test.ts": PAGES_IN_A_LOOP})
    _, result = check_project(project, select=["n-plus-one-read"])
    got = sorted((f.path.name, f.severity, f.role) for f in result.findings)
    assert got == [("backfill.test.ts", Severity.INFO, "test"), ("backfill.ts", Severity.ERROR, "script")]


def test_tiers_by_role(tmp_path):
    project = write_project(
        tmp_path,
        {
            "feed.ts": N_PLUS_ONE,
            "feed.test.ts": N_PLUS_ONE,
            "migrations/feed.ts": N_PLUS_ONE,
            "scripts/wipe.ts": WHOLE_TABLE,
            "wipe.test.ts": WHOLE_TABLE,
        },
    )
    _, result = check_project(project, select=["n-plus-one-read", "full-table-scan"])
    by_file = {}
    for finding in result.findings:
        by_file.setdefault(finding.path.relative_to(project / "convex").as_posix(), []).append(
            (finding.rule, finding.severity, finding.role)
        )
    assert by_file["feed.ts"] == [("n-plus-one-read", Severity.WARNING, "production")]
    assert by_file["feed.test.ts"] == [("n-plus-one-read", Severity.INFO, "test")]
    assert by_file["migrations/feed.ts"] == [("n-plus-one-read", Severity.INFO, "script")]
    # a whole table at the assumed size (10,000) stays under the 32,000-document limit: info
    assert by_file["scripts/wipe.ts"] == [("full-table-scan", Severity.INFO, "script")]
    assert by_file["wipe.test.ts"] == [("full-table-scan", Severity.INFO, "test")]
    # a team whose tables are bigger says so, and the scan breaks a script too: the tier stays
    config = config_from_dict({"cost": {"table": 50_000}})
    _, result = check_project(project, select=["full-table-scan"], config=config)
    tiers = {f.path.relative_to(project / "convex").as_posix(): (f.severity, f.role) for f in result.findings}
    assert tiers["scripts/wipe.ts"] == (Severity.WARNING, "script")
    # ... but never in a test
    assert tiers["wipe.test.ts"] == (Severity.INFO, "test")


# (`refreshStats`, not a maintenance verb: a `rebuild...` name is judged like a script by itself.)
REBUILD = """
import { internalMutation } from "./_generated/server";
export const refreshStats = internalMutation({
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", "o")).collect();
    for (const user of users) {
      await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", user._id)).first();
    }
  },
});
"""

CRONS = """
import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";
const crons = cronJobs();
crons.daily("rebuild", { hourUTC: 3, minuteUTC: 0 }, internal.stats.refreshStats);
export default crons;
"""


def test_an_internal_function_nothing_names_is_run_by_hand_like_a_script(tmp_path):
    """No function calls it, nothing schedules it, no cron runs it and clients cannot call it:
    someone starts it from the dashboard or `npx convex run`, once."""
    alone = write_project(tmp_path / "alone", {"stats.ts": REBUILD})
    _, result = check_project(alone, select=["n-plus-one-read"])
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.INFO, "script")]
    # On a cron it runs every day: production.
    on_cron = write_project(tmp_path / "cron", {"stats.ts": REBUILD, "crons.ts": CRONS})
    _, result = check_project(on_cron, select=["n-plus-one-read"])
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.WARNING, "production")]
    # Named through an alias (`const jobs = internal.stats; jobs.refreshStats`) counts too.
    alias = "import { internal } from './_generated/api';\nconst jobs = internal.stats;\nexport const names = [jobs.refreshStats];\n"
    aliased = write_project(tmp_path / "alias", {"stats.ts": REBUILD, "other.ts": alias})
    _, result = check_project(aliased, select=["n-plus-one-read"])
    assert [f.role for f in result.findings] == ["production"]
    # A `[roles] production` glob keeps it production.
    config = config_from_dict({"roles": {"production": ["stats.ts"]}})
    _, result = check_project(alone, select=["n-plus-one-read"], config=config)
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.WARNING, "production")]


DUMP = """
import {{ query }} from "./_generated/server";
{comment}
export const allUsers = query({{
  args: {{}},
  handler: async (ctx) => {{
    return await ctx.db.query("users").collect();
  }},
}});
"""


@pytest.mark.parametrize(
    ("comment", "script"),
    [
        ("// Get all users (for debugging)", True),
        ("/** Debug: every user, to check the import. */", True),
        ("// dev-only dump of the table", True),
        ("/**\n * Lists every user.\n * Test-only helper for the e2e suite.\n */", True),
        ("// one-off query to inspect the migration", True),
        # Words about something else than the function's purpose:
        ("/** Lists users. Logs details for debugging. */", False),
        ("/** Creates a temporary login code. */", False),
        ("// Lists every user", False),
        ("// for debugging\nconst unrelated = 1;", False),  # not the comment touching the definition
    ],
)
def test_a_function_its_comment_calls_a_debugging_aid_is_judged_like_a_script(tmp_path, comment, script):
    """Its authors say it is not part of the product (`// Get all accounts (for debugging)`)."""
    project = write_project(tmp_path / "app", {"dump.ts": DUMP.format(comment=comment)})
    _, result = check_project(project, select=["full-table-scan"])
    [finding] = result.findings
    if script:
        assert (finding.severity, finding.role) == (Severity.INFO, "script")
        assert "Judged as a script: the comment above `allUsers` says" in finding.message
    else:
        assert (finding.severity, finding.role) == (Severity.WARNING, "production")
        assert "Judged as a script" not in finding.message
    # A `[roles] production` glob keeps it production.
    config = config_from_dict({"roles": {"production": ["dump.ts"]}})
    _, result = check_project(project, select=["full-table-scan"], config=config)
    assert [f.role for f in result.findings] == ["production"]


@pytest.mark.parametrize(
    ("root", "scope", "folder"),
    [
        ("/repo/example/convex", "/repo", "example"),
        ("/repo/apps/examples/chat/convex", "/repo", "apps/examples"),
        ("/repo/Templates/starter/convex", "/repo", "Templates"),
        ("/repo/demo/convex", "/repo", "demo"),
        # near misses: only the folders between the checked directory and the root count
        ("/repo/examples/foo/convex", "/repo/examples/foo", None),  # checked from inside the example
        ("/repo/evals/001-basics/answer/convex", "/repo/evals/001-basics", None),
        ("/repo/evals/001-basics/002-schema/answer/convex", "/repo", None),  # reference answers teach
        ("/repo/packages/app/convex", "/repo", None),
        ("/repo/example-app/convex", "/repo", None),  # a name that merely starts with the word
        ("/repo/my-demos/convex", "/repo", None),
        ("/other/example/convex", "/repo", None),  # not under the checked directory
    ],
)
def test_example_folder_between_the_checked_directory_and_the_root(root, scope, folder):
    assert example_folder(Path(root), Path(scope)) == folder


def test_a_convex_root_under_a_folder_of_examples_is_judged_like_a_script(tmp_path, monkeypatch):
    """A component repository's `example/convex` shows how to use the component: its findings
    are capped like a script's and say why. The same app checked from inside is production."""
    repo = tmp_path / "repo"
    write_project(repo / "packages" / "app", {"feed.ts": N_PLUS_ONE})
    write_project(repo / "example", {"feed.ts": N_PLUS_ONE, "scripts/wipe.ts": WHOLE_TABLE})
    (repo / "example" / "convex" / "feed.test.ts").write_text(N_PLUS_ONE, encoding="utf-8")
    monkeypatch.chdir(repo)
    config = Config()
    workspace, files = build_workspace([repo], config)
    result = run_check(workspace, config, paths=files, select=["n-plus-one-read", "full-table-scan"])
    got = sorted((f.path.relative_to(repo).as_posix(), f.severity, f.role) for f in result.findings)
    assert got == [
        ("example/convex/feed.test.ts", Severity.INFO, "test"),  # a test stays a test
        ("example/convex/feed.ts", Severity.INFO, "script"),
        ("example/convex/scripts/wipe.ts", Severity.INFO, "script"),
        ("packages/app/convex/feed.ts", Severity.WARNING, "production"),
    ]
    [example] = [f for f in result.findings if f.path.name == "feed.ts" and "example" in f.path.parts]
    assert example.message.endswith("(Judged as example code: its Convex root is under `example/` of the checked directory.)")
    # Checked from inside the example (its own app), it is production code.
    monkeypatch.chdir(repo / "example")
    workspace, files = build_workspace([repo / "example"], config)
    result = run_check(workspace, config, paths=files, select=["n-plus-one-read"])
    assert sorted((f.path.name, f.severity, f.role) for f in result.findings) == [
        ("feed.test.ts", Severity.INFO, "test"),
        ("feed.ts", Severity.WARNING, "production"),
    ]
    # A `[roles] production` glob keeps it production from the repository too.
    monkeypatch.chdir(repo)
    pinned = config_from_dict({"roles": {"production": ["feed.ts"]}})
    workspace, files = build_workspace([repo], pinned)
    result = run_check(workspace, pinned, paths=files, select=["n-plus-one-read"])
    assert {(f.path.name, f.role) for f in result.findings} == {("feed.ts", "production"), ("feed.test.ts", "test")}


MAINTENANCE = """
import {{ mutation }} from "./_generated/server";
export const {name} = mutation({{
  args: {{}},
  handler: async (ctx) => {{
    const posts = await ctx.db.query("posts").collect();
    for (const post of posts) await ctx.db.patch(post._id, {{ status: "published" }});
  }},
}});
"""

CRON_RUNS = """
import {{ cronJobs }} from "convex/server";
import {{ internal }} from "./_generated/api";
const crons = cronJobs();
crons.daily("job", {{ hourUTC: 3, minuteUTC: 0 }}, internal.{target});
export default crons;
"""

CRON_ACTION = """
import { internalAction } from "./_generated/server";
import { internal } from "./_generated/api";
export const nightly = internalAction({
  args: {},
  handler: async (ctx) => {
    await ctx.runMutation(internal.jobs.recountPosts, {});
  },
});
"""


@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("migrateLegacyRoles", True),
        ("backfill_owners", True),
        ("recalculateUsageCounts", True),
        ("rebuildSearchIndex", True),
        ("fixOrphanedPosts", True),
        ("cleanupNonUSShows", True),
        ("repair", True),
        # near misses: the verb is part of another word, or not first
        ("fixtures", False),
        ("rebuildingNotice", False),
        ("publishFixedPosts", False),
        ("updateCounts", False),
    ],
)
def test_a_function_named_for_a_maintenance_job_is_judged_like_a_script(tmp_path, name, script):
    """`backfillOwners`, `recalculateUsageCounts`: a job someone runs when needed (a client
    button, the dashboard), not work that recurs with the app's traffic."""
    project = write_project(tmp_path / "app", {"jobs.ts": MAINTENANCE.format(name=name)})
    _, result = check_project(project, select=["full-table-scan"])
    [finding] = result.findings
    if script:
        assert (finding.severity, finding.role) == (Severity.INFO, "script")
        assert f"Judged as a script: `{name}` is named for a one-off maintenance job" in finding.message
    else:
        assert (finding.severity, finding.role) == (Severity.WARNING, "production")
        assert "Judged as a script" not in finding.message


def test_a_maintenance_job_a_cron_runs_stays_production(tmp_path):
    """On a cron (directly, or called from the cron's function) it recurs: production."""
    job = MAINTENANCE.format(name="recountPosts").replace("mutation", "internalMutation")
    direct = write_project(tmp_path / "direct", {"jobs.ts": job, "crons.ts": CRON_RUNS.format(target="jobs.recountPosts")})
    _, result = check_project(direct, select=["full-table-scan"])
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.WARNING, "production")]
    called = write_project(
        tmp_path / "called",
        {"jobs.ts": job, "nightly.ts": CRON_ACTION, "crons.ts": CRON_RUNS.format(target="nightly.nightly")},
    )
    _, result = check_project(called, select=["full-table-scan"])
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.WARNING, "production")]
    # Called by a function nothing schedules (an admin's action): run by hand, a script.
    by_hand = write_project(tmp_path / "hand", {"jobs.ts": job, "nightly.ts": CRON_ACTION})
    _, result = check_project(by_hand, select=["full-table-scan"])
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.INFO, "script")]
    # A helper so named runs for whoever calls it (a mutation on every request): production.
    helper = (
        'import { mutation } from "./_generated/server";\n'
        "async function recalculateTotals(ctx: any) {\n"
        '  const posts = await ctx.db.query("posts").collect();\n'
        "  return posts.length;\n"
        "}\n"
        "export const publish = mutation({ args: {}, handler: async (ctx) => recalculateTotals(ctx) });\n"
    )
    helped = write_project(tmp_path / "helper", {"jobs.ts": helper})
    _, result = check_project(helped, select=["full-table-scan"])
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.WARNING, "production")]
    # A `[roles] production` glob keeps it production.
    public = write_project(tmp_path / "public", {"jobs.ts": MAINTENANCE.format(name="backfillPosts")})
    config = config_from_dict({"roles": {"production": ["jobs.ts"]}})
    _, result = check_project(public, select=["full-table-scan"], config=config)
    assert [(f.severity, f.role) for f in result.findings] == [(Severity.WARNING, "production")]
