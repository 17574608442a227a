"""Discovery from any directory: every functions dir, local components, never library or
vendored sources; each root says why it was taken."""

from __future__ import annotations

from pathlib import Path

from convex_xray.engine.discovery import discover
from convex_xray.engine.workspace import Workspace

QUERY = 'import { query } from "./_generated/server";\nexport const list = query({ args: {}, handler: async (ctx) => await ctx.db.query("t").first() });\n'
SCHEMA = 'import { defineSchema, defineTable } from "convex/server";\nexport default defineSchema({ t: defineTable({}) });\n'


def write(root: Path, name: str, text: str = QUERY) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def found(start: Path, base: Path | None = None) -> list[tuple[str, str]]:
    base = (base or start).resolve()
    return [(r.path.relative_to(base).as_posix(), r.kind) for r in discover(start)]


def test_a_top_level_convex_does_not_stop_discovery(tmp_path):
    write(tmp_path, "convex/a.ts")
    write(tmp_path, "template/convex/b.ts")
    write(tmp_path, "template/convex/schema.ts", SCHEMA)
    assert found(tmp_path) == [("convex", "app"), ("template/convex", "app")]


def test_convex_json_functions_dir_and_a_sibling_project(tmp_path):
    write(tmp_path, "convex.json", '{ "functions": "backend/fns" }')
    write(tmp_path, "backend/fns/a.ts")
    write(tmp_path, "convex/ignored.ts")  # replaced by the declared functions dir
    write(tmp_path, "examples/demo/convex/b.ts")
    assert found(tmp_path) == [("backend/fns", "app"), ("examples/demo/convex", "app")]
    reasons = {r.path.name: r.reason for r in discover(tmp_path)}
    assert "functions" in reasons["fns"]


def test_library_and_vendored_sources_are_never_roots(tmp_path):
    write(tmp_path, "convex/a.ts")
    # the Convex library's own source, with a folder named convex inside it
    write(tmp_path, "npm-packages/convex/package.json", '{ "name": "convex" }')
    write(tmp_path, "npm-packages/convex/src/convex/cli.ts")
    write(tmp_path, "packages/harness/package.json", '{ "name": "convex-test" }')
    write(tmp_path, "packages/harness/convex/suite.test.ts")
    write(tmp_path, "vendor/other/convex/x.ts")
    write(tmp_path, "third_party/lib/convex/x.ts")
    write(tmp_path, "web/node_modules/pkg/convex/x.ts")
    assert found(tmp_path) == [("convex", "app")]


def test_a_deep_convex_folder_without_function_code_is_not_a_root(tmp_path):
    write(tmp_path, "convex/a.ts")
    # client helpers in a folder that happens to be named convex
    write(tmp_path, "web/src/convex/client.ts", 'export const url = process.env.CONVEX_URL;\n')
    # near miss of the near miss: the same depth with function code is a root
    write(tmp_path, "apps/site/src/convex/fns.ts")
    assert found(tmp_path) == [("apps/site/src/convex", "app"), ("convex", "app")]


def test_components_mounted_by_app_use_each_with_its_own_schema(tmp_path):
    write(
        tmp_path,
        "app/convex/convex.config.ts",
        'import { defineApp } from "convex/server";\n'
        'import ratings from "../../components/ratings/convex.config";\n'
        'import unused from "../../components/unused/convex.config";\n'
        "const app = defineApp();\napp.use(ratings);\nexport default app;\n",
    )
    write(tmp_path, "app/convex/schema.ts", SCHEMA)
    write(tmp_path, "components/ratings/convex.config.ts", 'export default defineComponent("ratings");\n')
    write(tmp_path, "components/ratings/schema.ts", SCHEMA.replace("t:", "stars:"))
    write(tmp_path, "components/ratings/lib.ts")
    start = tmp_path / "app"
    roots = discover(start)
    assert [(r.path, r.kind) for r in roots] == [
        ((tmp_path / "app" / "convex").resolve(), "app"),
        ((tmp_path / "components" / "ratings").resolve(), "component"),
    ]
    assert "app.use(ratings)" in roots[1].reason
    workspace = Workspace(roots, base=start)
    schema = workspace.schema_for((tmp_path / "components" / "ratings" / "lib.ts").resolve())
    assert schema is not None and set(schema.tables) == {"stars"}


def test_a_component_package_in_a_monorepo(tmp_path):
    write(tmp_path, "packages/widget/package.json", '{ "name": "@acme/widget" }')
    write(tmp_path, "packages/widget/src/component/convex.config.ts", 'export default defineComponent("widget");\n')
    write(tmp_path, "packages/widget/src/component/fns.ts")
    write(tmp_path, "packages/widget/src/client/index.ts", "export class Widget {}\n")
    write(tmp_path, "apps/demo/convex/a.ts")
    assert found(tmp_path) == [("apps/demo/convex", "app"), ("packages/widget/src/component", "component")]


def test_components_inside_an_app_are_reported_with_it(tmp_path):
    write(tmp_path, "convex/a.ts")
    write(tmp_path, "convex/schema.ts", SCHEMA)
    write(tmp_path, "convex/auth/convex.config.ts", 'export default defineComponent("auth");\n')
    write(tmp_path, "convex/auth/adapter.ts")
    assert found(tmp_path) == [("convex", "app")]
    workspace = Workspace(discover(tmp_path), base=tmp_path)
    report = [(r.path.relative_to(tmp_path.resolve()).as_posix(), r.kind, r.files) for r in workspace.checked_roots()]
    assert report == [("convex", "app", 2), ("convex/auth", "component", 2)]


def test_function_code_outside_the_app_uses_the_schema_of_the_generated_it_imports(tmp_path):
    write(tmp_path, "convex/schema.ts", SCHEMA)
    write(tmp_path, "convex/a.ts")
    write(tmp_path, "extra/convex/b.ts", QUERY.replace('"./_generated/server"', '"../../convex/_generated/server"'))
    write(tmp_path, "other/convex/c.ts", 'export const f = query({ handler: async () => 1 });\n')
    workspace = Workspace(discover(tmp_path), base=tmp_path)
    schemas = {r.path.relative_to(tmp_path.resolve()).as_posix(): r.schema_path for r in workspace.roots}
    assert schemas["extra/convex"] == (tmp_path / "convex" / "schema.ts").resolve()
    assert schemas["other/convex"] is None  # imports no app's _generated: no schema borrowed
    assert len(workspace.app_schemas()) == 1


def test_vendored_folders_inside_an_app_are_not_checked(tmp_path):
    write(tmp_path, "convex/a.ts")
    write(tmp_path, "convex/vendor/harness/suite.ts")
    write(tmp_path, "convex/vendors.ts")  # near miss: a file, not a vendored folder
    workspace = Workspace(discover(tmp_path), base=tmp_path)
    assert sorted(p.relative_to(tmp_path.resolve()).as_posix() for p in workspace.files()) == ["convex/a.ts", "convex/vendors.ts"]


def test_a_vendored_test_suite_under_a_tests_folder_is_never_an_app_root(tmp_path):
    write(tmp_path, "convex/a.ts")
    # a copied convex-test suite: its own schema and functions, tests beside them
    write(tmp_path, "tests/convex-suite/convex/schema.ts", SCHEMA)
    write(tmp_path, "tests/convex-suite/convex/queries.ts")
    write(tmp_path, "tests/convex-suite/convex/queries.test.ts", 'import { convexTest } from "convex-test";\n')
    # a suite that only names its files as tests
    write(tmp_path, "test/harness/schema.ts", SCHEMA)
    write(tmp_path, "test/harness/mutations.spec.ts", "export {};\n")
    # near miss: an app under a tests folder with no test in it (an e2e target app) is a root
    write(tmp_path, "tests/e2e-app/convex/schema.ts", SCHEMA)
    write(tmp_path, "tests/e2e-app/convex/fns.ts")
    # near miss: tests next to a real app, outside any tests folder, keep the app a root
    write(tmp_path, "apps/web/convex/schema.ts", SCHEMA)
    write(tmp_path, "apps/web/convex/fns.test.ts", 'import { convexTest } from "convex-test";\n')
    assert found(tmp_path) == [("apps/web/convex", "app"), ("convex", "app"), ("tests/e2e-app/convex", "app")]


def test_checking_the_test_suite_folder_itself_still_checks_it(tmp_path):
    write(tmp_path, "tests/convex/schema.ts", SCHEMA)
    write(tmp_path, "tests/convex/a.test.ts", 'import { convexTest } from "convex-test";\n')
    assert [r.path for r in discover(tmp_path / "tests" / "convex")] == [(tmp_path / "tests" / "convex").resolve()]
