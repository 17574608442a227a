"""Fixes that write an index range of more than one condition, in an app whose schema spreads
tables from a package that is not installed while `convex` is: tsc types every range of that
data model with one field there, so no such fix is offered, and the finding says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.engine.fixes import apply_fixes_once
from convex_xray.engine.packages import SELF_TYPED_CASCADE, package_of, resolves
from tests.support.fix_cases import dedent, query_module
from tests.support.project import check_project, write_project

SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { authTables } from "@acme/auth/server";
import { v } from "convex/values";

export default defineSchema({
  ...authTables,
  tasks: defineTable({
    orgId: v.id("orgs"),
    status: v.string(),
  })
    .index("by_orgId_and_status", ["orgId", "status"])
    .index("by_status", ["status"]),
  orgs: defineTable({ name: v.string() }),
});
"""

# A filter after a one-field range: the rewrite writes a two-condition range.
TWO_FIELDS = query_module(
    """
    export const open = query({
      args: {},
      handler: async (ctx, args) => {
        return await ctx.db
          .query("tasks")
          .withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId))
          .filter((q) => q.eq(q.field("status"), "open"))
          .collect();
      },
    });
    """
)

TWO_FIELDS_FIXED = query_module(
    """
    export const open = query({
      args: {},
      handler: async (ctx, args) => {
        return await ctx.db
          .query("tasks")
          .withIndex("by_orgId_and_status", (q) =>
            q.eq("orgId", args.orgId).eq("status", "open"),
          )
          .collect();
      },
    });
    """
)

# A filter on the index's first field: the rewrite writes a one-condition range.
ONE_FIELD = query_module(
    """
    export const ofOrg = query({
      args: {},
      handler: async (ctx) => {
        return await ctx.db
          .query("tasks")
          .filter((q) => q.eq(q.field("status"), "open"))
          .collect();
      },
    });
    """
)

ONE_FIELD_FIXED = query_module(
    """
    export const ofOrg = query({
      args: {},
      handler: async (ctx) => {
        return await ctx.db
          .query("tasks")
          .withIndex("by_status", (q) => q.eq("status", "open"))
          .collect();
      },
    });
    """
)


def _install(project: Path, *packages: str) -> None:
    """A fake install: `node_modules/<package>/package.json` at the app's root."""
    for package in packages:
        folder = project / "node_modules" / package
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(f'{{"name": "{package}"}}\n')


def _finding(tmp_path: Path, module: str, *installed: str):
    project = write_project(
        tmp_path / "app", {"schema.ts": dedent(SCHEMA), "tasks.ts": dedent(module)}, schema=None
    )
    _install(project, *installed)
    _, result = check_project(project, select=["filter-on-query"])
    (finding,) = result.findings
    return project, finding


def _fixed(project: Path, finding) -> str:
    outcome = apply_fixes_once([finding.fix], lambda p: p.read_bytes())
    assert outcome.applied == 1 and not outcome.rejected
    return outcome.new_texts[project / "convex" / "tasks.ts"].decode()


def test_no_two_field_range_when_the_spread_package_is_not_installed(tmp_path):
    _, finding = _finding(tmp_path, TWO_FIELDS, "convex")
    assert finding.fix is None
    assert finding.message.startswith("`.filter()` on `status` reads every `tasks` document")
    assert finding.message.endswith(
        " No fix: `@acme/auth`, whose tables the schema spreads, is not installed, so TypeScript types"
        " every index range of this data model with one field and a range of more than one would not"
        " type-check; install it to get the fix."
    )


def test_the_two_field_range_when_the_spread_package_is_installed(tmp_path):
    project, finding = _finding(tmp_path, TWO_FIELDS, "convex", "@acme/auth")
    assert finding.fix is not None and "No fix" not in finding.message
    assert _fixed(project, finding) == dedent(TWO_FIELDS_FIXED)


def test_the_two_field_range_when_nothing_is_installed(tmp_path):
    """Without `convex` tsc types nothing in the app: the range is as good as any code there."""
    project, finding = _finding(tmp_path, TWO_FIELDS)
    assert finding.fix is not None
    assert _fixed(project, finding) == dedent(TWO_FIELDS_FIXED)


def test_a_one_field_range_is_written_when_the_spread_package_is_not_installed(tmp_path):
    project, finding = _finding(tmp_path, ONE_FIELD, "convex")
    assert finding.fix is not None and "No fix" not in finding.message
    assert _fixed(project, finding) == dedent(ONE_FIELD_FIXED)


def test_an_untyped_db_handle_keeps_its_two_field_range(tmp_path):
    """`ctx: any`: tsc types no range there, whatever the schema."""
    module = TWO_FIELDS.replace(
        "handler: async (ctx, args)", "handler: async (ctx: any, args: any)"
    )
    _, finding = _finding(tmp_path, module, "convex")
    assert finding.fix is not None


def test_installed_in_a_folder_above_the_app(tmp_path):
    """Node looks in every folder up from the importing file (a monorepo's root node_modules)."""
    files = {"schema.ts": dedent(SCHEMA), "tasks.ts": dedent(TWO_FIELDS)}
    project = write_project(tmp_path / "repo" / "apps" / "web", files, schema=None)
    _install(tmp_path / "repo", "convex", "@acme/auth")
    _, result = check_project(project, select=["filter-on-query"])
    (finding,) = result.findings
    assert finding.fix is not None


def test_package_of_a_specifier():
    assert package_of("@acme/auth/server") == "@acme/auth"
    assert package_of("convex-helpers/server/relationships") == "convex-helpers"
    assert package_of("./tables") is None
    assert package_of("@/tables") is None
    assert package_of("~/tables") is None
    assert package_of("node:fs") is None


def test_resolves_walks_up(tmp_path):
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "schema.ts").write_text("")
    assert resolves("pkg", tmp_path / "a" / "b" / "schema.ts")
    assert not resolves("other", tmp_path / "a" / "b" / "schema.ts")


# -- a generated api typed through itself --------------------------------------------------------

PLAIN_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  tasks: defineTable({ status: v.string() }).index("by_status", ["status"]),
});
"""

RUNNERS = ("backfill", "rename", "prune", "reindex", "archive", "recount")


def _migrations(runners: tuple[str, ...] = RUNNERS) -> str:
    """A module with one exported runner per name, each taking a function reference through
    the generated api (`SELF_TYPED_CASCADE` = 6 of them, by default)."""
    lines = [
        'import { Migrations } from "@acme/migrations";',
        'import { components, internal } from "./_generated/api";',
        'import type { DataModel } from "./_generated/dataModel";',
        "",
        "export const migrations = new Migrations<DataModel>(components.migrations);",
        "export const runAll = migrations.runner();",
    ]
    for name in runners:
        title = name[0].upper() + name[1:]
        lines.append(
            f"export const run{title} = migrations.runner(internal.migrations.{name});"
        )
    return "\n".join(lines) + "\n"


MIGRATIONS = _migrations()


def _api_finding(tmp_path: Path, migrations: str, *installed: str, more: str | None = None):
    files = {
        "schema.ts": dedent(PLAIN_SCHEMA),
        "tasks.ts": dedent(ONE_FIELD),
        "migrations.ts": migrations,
    }
    if more is not None:
        files["jobs.ts"] = more
    project = write_project(tmp_path / "app", files, schema=None)
    _install(project, *installed)
    _, result = check_project(project, select=["filter-on-query"])
    (finding,) = result.findings
    return project, finding


def test_the_gate_is_at_six():
    """The tests below are written for the documented threshold."""
    assert SELF_TYPED_CASCADE == len(RUNNERS) == 6


def test_no_fix_where_a_missing_package_types_the_api_through_itself_many_times(tmp_path):
    _, finding = _api_finding(tmp_path, MIGRATIONS, "convex")
    assert finding.fix is None and not finding.alternatives
    assert finding.message.startswith(
        "`.filter()` on `status` with no index scans the whole `tasks` table"
    )
    assert finding.message.endswith(
        " No fix: `@acme/migrations` is not installed, and `runBackfill` (migrations.ts) and 5 other"
        " exported values are built from it and take a function reference, so TypeScript types the"
        " generated `api` through itself 6 times over (TS7022), past its depth limit (TS2589 across"
        " the app): no change to this app's code can be shown to type-check; install it to get the"
        " fix."
    )


def test_values_in_several_modules_of_the_root_add_up(tmp_path):
    """Every such value nests another typing of the same api, whichever module exports it."""
    jobs = _migrations(("sweep",)).replace("internal.migrations.sweep", "internal.jobs.sweep")
    _, finding = _api_finding(tmp_path, _migrations(RUNNERS[:5]), "convex", more=jobs)
    assert finding.fix is None
    assert "`runSweep` (jobs.ts) and 5 other exported values" in finding.message


def test_the_fix_where_the_package_is_installed(tmp_path):
    project, finding = _api_finding(tmp_path, MIGRATIONS, "convex", "@acme/migrations")
    assert "No fix" not in finding.message
    assert _fixed(project, finding) == dedent(ONE_FIELD_FIXED)


def test_the_fix_where_nothing_is_installed(tmp_path):
    project, finding = _api_finding(tmp_path, MIGRATIONS)
    assert _fixed(project, finding) == dedent(ONE_FIELD_FIXED)


@pytest.mark.parametrize(
    "migrations",
    [
        # Five: tsc nests five typings of the api and types the rest of the app as usual.
        _migrations(RUNNERS[:5]),
        # One (conradkoh's `runAll`, convex-evals' three runners: their fixes add no error).
        _migrations(RUNNERS[:1]),
        # No function reference: the values are `any`, but nothing types the api through them.
        _migrations(()),
        # One of the six not exported: the generated api does not see it.
        MIGRATIONS.replace("export const runBackfill", "const runBackfill"),
        # A type-only import binds no value.
        MIGRATIONS.replace("import { Migrations }", "import type { Migrations }"),
        # Built from the app's own module, not a package.
        MIGRATIONS.replace('"@acme/migrations"', '"./lib/migrations"'),
        # One reference inside a callback's body, which tsc checks after the value is typed.
        MIGRATIONS.replace(
            "migrations.runner(internal.migrations.backfill)",
            "migrations.define({ handler: async (step) => step.run(internal.migrations.backfill) })",
        ),
    ],
    ids=[
        "five",
        "one",
        "no-function-reference",
        "one-not-exported",
        "type-import",
        "relative-import",
        "one-in-a-callback",
    ],
)
def test_the_fix_where_the_api_is_typed_through_itself_too_few_times(tmp_path, migrations):
    project, finding = _api_finding(tmp_path, migrations, "convex")
    assert "No fix" not in finding.message
    assert _fixed(project, finding) == dedent(ONE_FIELD_FIXED)


# -- callbacks over a field of a loosely typed document -------------------------------------------

LABELS_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { authTables } from "@acme/auth/server";
import { v } from "convex/values";

export default defineSchema({
  ...authTables,
  tasks: defineTable({ orgId: v.id("orgs"), labels: v.array(v.string()) }).index("by_orgId", ["orgId"]),
  notes: defineTable({ orgId: v.id("orgs"), label: v.string() }).index("by_orgId", ["orgId"]),
  orgs: defineTable({ name: v.string() }),
});
"""

LABELS = query_module(
    """
    export const labelled = query({
      args: {},
      handler: async (ctx) => {
        const tasks = await ctx.db.query("tasks").collect();
        let count = 0;
        for (const task of tasks) {
          for (const label of task.labels) {
            const notes = await ctx.db
              .query("notes")
              .withIndex("by_orgId", (q) => q.eq("orgId", task.orgId))
              .collect();
            count += notes.filter((note) => note.label === label).length;
          }
        }
        return count;
      },
    });
    """
)


def _labels_fixed(tmp_path: Path, *installed: str) -> str:
    files = {"schema.ts": dedent(LABELS_SCHEMA), "tasks.ts": dedent(LABELS)}
    project = write_project(tmp_path / "app", files, schema=None)
    _install(project, *installed)
    _, result = check_project(project, select=["n-plus-one-read"])
    (finding,) = result.findings
    assert finding.fix is not None and finding.fix.title.startswith(
        "Run the iterations concurrently"
    )
    return _fixed(project, finding)


def _labels_after(item: str) -> str:
    return (
        dedent(LABELS)
        .replace(
            "      for (const label of task.labels) {\n",
            f"      await Promise.all(task.labels.map(async ({item}) => {{\n",
        )
        .replace(
            "        count += notes.filter((note) => note.label === label).length;\n      }\n",
            "        count += notes.filter((note) => note.label === label).length;\n      }));\n",
        )
    )


def test_the_concurrent_callback_over_a_loose_document_field_is_annotated(tmp_path):
    """The schema spreads an uninstalled package's tables: `task.labels` is `any` to tsc, and a
    bare `(label) =>` on it an implicit `any` (TS7006)."""
    assert _labels_fixed(tmp_path, "convex") == _labels_after("label: any")


def test_the_concurrent_callback_keeps_its_type_where_the_package_is_installed(tmp_path):
    assert _labels_fixed(tmp_path, "convex", "@acme/auth") == _labels_after("label")
