"""The fix-verification harness (`benchmarks/verify_fixes.py`) on a tiny app whose fix is known good.

The `node` tests install TypeScript and `convex` from npm once (cached in
~/.cache/convex-xray-verify) and skip when Node.js/npm are missing or the registry cannot be
reached. The others check the harness's bookkeeping (tsc output, diff attribution) by hand.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.project import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
APP = FIXTURES / "verify-fixes-app"


def _load():
    spec = importlib.util.spec_from_file_location(
        "verify_fixes", ROOT / "benchmarks" / "verify_fixes.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["verify_fixes"] = module
    spec.loader.exec_module(module)
    return module


vf = _load()


@pytest.fixture(scope="module")
def node_modules() -> Path:
    missing = vf.node_tools_missing()
    if missing:
        pytest.skip(f"the fix-verification harness needs Node.js and npm: {missing}")
    try:
        return vf.prepare_npm(vf.cache_dir(None), lambda message: None)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
        pytest.skip(f"npm install failed (offline?): {error}")


def _xray() -> list[str]:
    return [sys.executable, "-m", "convex_xray"]


def _verify(app: Path, node_modules: Path, **options: Any) -> dict[str, Any]:
    """`verify_app` over the app's `convex/` with this convex-xray and the test's TypeScript."""
    return vf.verify_app(
        app,
        [Path("convex")],
        tsc=node_modules / ".bin" / "tsc",
        modules=node_modules,
        xray=_xray(),
        keep=False,
        timeout=300,
        log=lambda message: None,
        **options,
    )


@pytest.mark.node
def test_a_known_good_fix_is_applied_type_checks_and_converges(node_modules, tmp_path):
    before = {p: p.read_bytes() for p in APP.rglob("*") if p.is_file()}
    result = _verify(APP, node_modules, isolate=True)
    # The app has neither a tsconfig nor codegen output: the harness wrote both, and the
    # typed stub lets the original type-check cleanly.
    assert result["written"] == {
        "convex": [
            "tsconfig.json",
            "_generated/dataModel.d.ts",
            "_generated/server.d.ts",
            "_generated/api.d.ts",
        ]
    }
    assert result["tsc_errors_before"] == 0, result
    kind = "filter-on-query: Use index `…` instead of `.filter()` [safe]"
    assert result["offered"] == {kind: 1}
    assert result["applied"] == {kind: 1}
    assert result["fixes_applied_reported"] == 1
    assert result["files_changed"] == 1
    assert result["new_type_errors"] == []
    assert result["rules_after"] == {} and result["rules_grown"] == {}
    assert result["new_findings"] == []
    assert result["idempotent"] and result["second_fix_applied"] == 0
    isolated = result["isolated"]["filter-on-query"]
    assert (isolated["applied"], isolated["new_type_errors"]) == (1, 0)
    # The original is never written.
    assert {p: p.read_bytes() for p in APP.rglob("*") if p.is_file()} == before


@pytest.mark.node
def test_the_stub_makes_index_names_and_ids_type_errors(node_modules, tmp_path):
    """A fix that names a missing index or passes a wrong id must show up as a new error."""
    root = tmp_path / "app"
    vf.copy_app(APP, root)
    (root / "node_modules").symlink_to(node_modules, target_is_directory=True)
    vf.prepare_convex_dir(root / "convex")
    notes = root / "convex" / "notes.ts"
    text = notes.read_text()
    broken = text.replace(
        '.filter((q) => q.eq(q.field("authorId"), args.authorId))',
        '.withIndex("by_missing", (q) => q.eq("authorId", args.authorId))',
    ).replace('v.id("authors")', 'v.id("notes")')
    assert broken != text
    notes.write_text(broken)
    errors, _ = vf.run_tsc(node_modules / ".bin" / "tsc", root, root / "convex", 300)
    assert {(e.file, e.code) for e in errors} >= {("convex/notes.ts", "TS2345")}, errors
    assert any("by_missing" in e.message for e in errors), errors


def test_tsc_output_is_parsed_with_continuation_lines(tmp_path, monkeypatch):
    output = (
        "convex/a.ts(3,5): error TS2345: Argument of type 'string' is not assignable to parameter.\n"
        "  Type 'string' is not assignable to type 'Id<\"users\">'.\n"
        "error TS5083: Cannot read file 'base.json'.\n"
    )

    def fake_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, 2, stdout=output, stderr="")

    monkeypatch.setattr(vf.subprocess, "run", fake_run)
    errors, _ = vf.run_tsc(Path("tsc"), tmp_path, tmp_path / "convex", 10)
    assert [(e.file, e.line, e.code) for e in errors] == [
        ("convex/a.ts", 3, "TS2345"),
        ("", 0, "TS5083"),
    ]
    assert errors[0].message.endswith("to type 'Id<\"users\">'.")


def test_changes_are_attributed_to_the_fix_whose_edit_made_them():
    before = {"convex/a.ts": "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"}
    after = {"convex/a.ts": "one\nTWO\nthree\nfour\nfive\nsix\nseven\nextra\neight\nnine\nten\n"}
    hunks = vf.changed_hunks(before, after)
    report = {
        "diagnostics": [
            {
                "rule": "r1",
                "fix": {
                    "title": "Use `x`",
                    "applicability": "safe",
                    "edits": [{"path": "convex/a.ts", "line": 2, "end_line": 2}],
                },
            },
            {
                "rule": "r2",
                "fix": {
                    "title": "Limit with `.take(100)`",
                    "applicability": "unsafe",
                    "edits": [{"path": "convex/a.ts", "line": 8, "end_line": 8}],
                },
            },
            {
                "rule": "r3",
                "fix": {
                    "title": "Never applied",
                    "applicability": "unsafe",
                    "edits": [{"path": "convex/b.ts", "line": 1, "end_line": 1}],
                },
            },
            {"rule": "r4", "fix": None},
        ]
    }
    applied = vf.label_hunks(hunks, report)
    first, second = "r1: Use `…` [safe]", "r2: Limit with `.take(100)` [unsafe]"
    assert applied == {first: 1, second: 1}
    assert vf.blame(2, "convex/a.ts", hunks) == {first}
    assert vf.blame(8, "convex/a.ts", hunks) == {second}
    # Near an edit, then anywhere in an edited file, then unattributed.
    assert vf.blame(4, "convex/a.ts", hunks) == {first}
    assert vf.blame(11, "convex/a.ts", hunks) == {second}
    assert vf.blame(1, "convex/other.ts", hunks) == {"(unattributed)"}


def test_untouched_files_blame_schema_edits():
    hunks = vf.changed_hunks({"convex/schema.ts": "a\n"}, {"convex/schema.ts": "b\n"})
    vf.label_hunks(
        hunks,
        {
            "diagnostics": [
                {
                    "rule": "unused-index",
                    "fix": {
                        "title": "Remove index `by_x`",
                        "applicability": "unsafe",
                        "edits": [{"path": "convex/schema.ts", "line": 1, "end_line": 1}],
                    },
                }
            ]
        },
    )
    assert vf.blame(5, "convex/posts.ts", hunks) == {"unused-index: Remove index `…` [unsafe]"}


def test_finding_keys_ignore_line_numbers_in_messages():
    one = {
        "path": "a.ts",
        "rule": "n-plus-one-read",
        "message": "runs once per item (for-of, line 12)",
    }
    two = {
        "path": "a.ts",
        "rule": "n-plus-one-read",
        "message": "runs once per item (for-of, line 19)",
    }
    assert vf.finding_key(one) == vf.finding_key(two)


def test_a_convex_dir_without_a_tsconfig_is_checked_with_the_apps_own(tmp_path):
    # A Next.js app: the root tsconfig has the path aliases its Convex code imports through.
    convex = tmp_path / "convex"
    convex.mkdir()
    (tmp_path / "tsconfig.json").write_text('{"compilerOptions": {"paths": {"~/*": ["./*"]}}}')
    assert vf.app_tsconfig(tmp_path, convex) == tmp_path / "tsconfig.json"
    assert vf.prepare_convex_dir(convex, tmp_path) == [
        "_generated/dataModel.d.ts",
        "_generated/server.d.ts",
        "_generated/api.d.ts",
    ]
    assert vf.tsconfig_of(tmp_path, convex) == tmp_path / "tsconfig.json"


def test_a_root_tsconfig_that_excludes_the_convex_dir_is_not_used(tmp_path):
    convex = tmp_path / "convex"
    convex.mkdir()
    (tmp_path / "tsconfig.json").write_text('{"exclude": ["node_modules", "convex"]}')
    assert vf.app_tsconfig(tmp_path, convex) is None
    assert "tsconfig.json" in vf.prepare_convex_dir(convex, tmp_path)
    assert vf.tsconfig_of(tmp_path, convex) == convex / "tsconfig.json"


def test_without_the_app_the_default_tsconfig_is_written(tmp_path):
    convex = tmp_path / "convex"
    convex.mkdir()
    (tmp_path / "tsconfig.json").write_text("{}")
    assert "tsconfig.json" in vf.prepare_convex_dir(convex)


@pytest.mark.node
def test_batch_fetch_keeps_document_types_where_the_app_says_types_are_lost(node_modules):
    """An app with a TS2589 directive on a function reference gets annotated batch-fetch
    callbacks; the looked-up documents must keep their table's type (a later
    `ctx.db.get(author.teamId)` returns a `teams` document) and a cast key its type even over
    an `any` collection."""
    app = FIXTURES / "verify-fixes-lost-types-app"
    result = _verify(app, node_modules)
    assert result["tsc_errors_before"] == 0, result
    kind = "n-plus-one-read: Batch-fetch `…` before the loop (one `…`, then a Map lookup) [safe]"
    assert result["applied"] == {kind: 2}
    assert result["new_type_errors"] == []
    assert result["idempotent"]


@pytest.mark.parametrize(
    ("specifier", "package"),
    [
        ("@convex-dev/auth/server", "@convex-dev/auth"),
        ("@convex-dev/auth", "@convex-dev/auth"),
        ("lodash/fp", "lodash"),
        ("stripe", "stripe"),
        ("./schema", None),
        ("../lib/x", None),
        ("node:crypto", None),
        ("@/helpers/x", None),
        ("~/convex/schema", None),
        ("#internal", None),
    ],
)
def test_package_name_of_a_specifier(specifier, package):
    assert vf.package_name(specifier) == package


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_app_dependencies_are_the_declared_packages_the_convex_code_imports(tmp_path):
    # A monorepo: the root declares most packages, the backend package a newer zod; the Convex
    # dir imports some of them, its own files, aliases and built-ins.
    _write(
        tmp_path / "package.json",
        """{"dependencies": {"@convex-dev/auth": "^0.0.88", "lodash": "^4.17.21", "zod": "^3.22.0",
        "left-pad": "1.3.0", "@acme/shared": "workspace:*", "local-lib": "file:../local-lib",
        "convex": "^1.31.0", "from-generated": "1.0.0"},
        "devDependencies": {"@types/lodash": "^4.17.20", "typescript": "^5.9.3"}}""",
    )
    backend = tmp_path / "packages" / "backend"
    _write(backend / "package.json", '{"dependencies": {"zod": "^4.1.0"}}')
    convex = backend / "convex"
    _write(
        convex / "schema.ts",
        'import { authTables } from "@convex-dev/auth/server";\n'
        'import { defineSchema } from "convex/server";\n'
        'import { shared } from "@acme/shared";\n'
        'import { lib } from "local-lib";\n'
        'import { z } from "@/lib/z";\n'
        'import { helper } from "./helper";\n'
        "export default defineSchema({ ...authTables });\n",
    )
    _write(
        convex / "users.ts",
        'import fp from "lodash/fp";\nimport fs from "node:fs";\n'
        'const { z } = require("zod");\nconst later = await import("not-declared");\n'
        'export { thing } from "./schema";\n',
    )
    _write(convex / "_generated" / "api.d.ts", 'import type { x } from "from-generated";\n')
    assert vf.app_dependencies(tmp_path, [Path("packages/backend/convex")]) == {
        "@convex-dev/auth": "^0.0.88",
        "lodash": "^4.17.21",
        "@types/lodash": "^4.17.20",
        "zod": "^4.1.0",
    }


def test_app_packages_are_installed_once_per_set(tmp_path, monkeypatch):
    calls: list[list[str]] = []

    def fake_run(command, cwd, **_options):
        calls.append(command)
        tsc = Path(cwd) / "node_modules" / ".bin" / "tsc"
        tsc.parent.mkdir(parents=True, exist_ok=True)
        tsc.write_text("")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(vf.subprocess, "run", fake_run)
    one = vf.prepare_app_npm(tmp_path, {"@convex-dev/auth": "^0.0.88"}, lambda message: None)
    again = vf.prepare_app_npm(tmp_path, {"@convex-dev/auth": "^0.0.88"}, lambda message: None)
    other = vf.prepare_app_npm(tmp_path, {"stripe": "^18.4.0"}, lambda message: None)
    assert one == again != other
    assert len(calls) == 2
    assert calls[0][-4:] == [*vf.NPM_PACKAGES, "@convex-dev/auth@^0.0.88"][-4:]
    assert "--ignore-scripts" in calls[0]


def test_a_failed_app_install_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(
        vf.subprocess, "run",
        lambda command, cwd, **_options: subprocess.CompletedProcess(command, 1, "", "E404 nope"),
    )
    with pytest.raises(RuntimeError, match="E404 nope"):
        vf.prepare_app_npm(tmp_path, {"nope": "1.0.0"}, lambda message: None)


TARGETS_APP = FIXTURES / "verify-fixes-targets-app"


@pytest.mark.node
def test_fixes_type_check_under_an_es5_target_and_in_javascript(node_modules):
    """The batch-fetch's unique ids under a target that cannot spread a Set, and fixes in a
    JavaScript file checked by tsc (`allowJs`): no new type error."""
    result = _verify(TARGETS_APP, node_modules)
    assert result["tsc_errors_before"] == 0, result
    assert result["applied"] == {
        "n-plus-one-read: Batch-fetch `…` before the loop (one `…`, then a Map lookup) [safe]": 2,
        "filter-on-query: Use index `…` instead of `.filter()` [safe]": 1,
    }
    assert result["new_type_errors"] == []
    assert result["idempotent"]


@pytest.mark.node
def test_the_targets_app_rejects_a_spread_set_and_annotations_in_javascript(node_modules, tmp_path):
    """The control for the test above: the forms the fixes used to write fail there."""
    root = tmp_path / "app"
    vf.copy_app(TARGETS_APP, root)
    (root / "node_modules").symlink_to(node_modules, target_is_directory=True)
    vf.prepare_convex_dir(root / "convex")
    tsc = node_modules / ".bin" / "tsc"
    voyages = root / "convex" / "voyages.ts"
    voyages.write_text(voyages.read_text() + "export const spread = [...new Set([1, 2])];\n")
    errors, _ = vf.run_tsc(tsc, root, root / "convex", 300)
    assert {(e.file, e.code) for e in errors} == {("convex/voyages.ts", "TS2802")}, errors
    # (Separately: tsc reports no semantic error at all while a file has a syntactic one.)
    voyages.write_text((TARGETS_APP / "convex" / "voyages.ts").read_text())
    crews = root / "convex" / "crews.js"
    crews.write_text(crews.read_text().replace("(q) =>", "(q: any) =>"))
    errors, _ = vf.run_tsc(tsc, root, root / "convex", 300)
    assert {(e.file, e.code) for e in errors} == {("convex/crews.js", "TS8010")}, errors


MISSING_PACKAGES_APP = FIXTURES / "verify-fixes-missing-packages-app"


@pytest.mark.node
def test_fixes_type_check_where_packages_the_app_types_through_are_missing(node_modules):
    """Custom builders from convex-helpers (not installed: `ctx` and documents are `any` to tsc)
    and a list re-exported from a folder the checkout lacks (`any`): the batch-fetch and the
    concurrent rewrite add no type error (keppo, saveit.now, racket-club)."""
    result = _verify(MISSING_PACKAGES_APP, node_modules)
    # (The app's own: the two modules not found, its callbacks on the untyped values.)
    assert result["tsc_errors_before"] == 10, result
    assert result["applied"] == {
        "n-plus-one-read: Prefetch `…` rows for the unique keys before the loop (one `…`, then a Map lookup) [safe]": 1,
        "n-plus-one-read: Batch-fetch `…` before the loop (one `…`, then a Map lookup) [safe]": 1,
        "n-plus-one-read: Run the iterations concurrently with `…` (unsafe: side effects such as counters and logs"
        " may come in another order, and every iteration starts even if one throws) [unsafe]": 1,
    }
    assert result["new_type_errors"] == []
    assert result["idempotent"]


@pytest.mark.node
def test_the_missing_packages_app_rejects_the_untyped_forms(node_modules, tmp_path):
    """The control for the test above: the forms the fixes wrote before (a bare `new Set(…)`
    of the imported keys, bare item callbacks) fail its tsc."""
    root = tmp_path / "app"
    vf.copy_app(MISSING_PACKAGES_APP, root)
    (root / "node_modules").symlink_to(node_modules, target_is_directory=True)
    vf.prepare_convex_dir(root / "convex")
    tsc = node_modules / ".bin" / "tsc"
    before, _ = vf.run_tsc(tsc, root, root / "convex", 300)
    chores = root / "convex" / "chores.ts"
    chores.write_text(
        chores.read_text()
        + textwrap.dedent(
            """
            export const keyed = query({
              args: {},
              handler: async (ctx) => {
                const keys = Array.from(new Set(STAGES));
                return await Promise.all(keys.map((key) => ctx.db.query("chores").withIndex("by_stage", (q) => q.eq("stage", key)).first()));
              },
            });
            export const mapped = houseQuery({
              args: {},
              handler: async (ctx: { db: any }) => {
                const chores = await ctx.db.query("chores").take(5);
                return await Promise.all(chores.map(async (chore) => chore.ownerId));
              },
            });
            """
        )
    )
    after, _ = vf.run_tsc(tsc, root, root / "convex", 300)
    new = sorted((e.code, e.message) for e in after if (e.code, e.message, e.file) not in {(b.code, b.message, b.file) for b in before})
    assert [code for code, _ in new] == ["TS2345", "TS7006"], new


ORDERED_PUSH_APP = FIXTURES / "verify-fixes-ordered-push-app"


@pytest.mark.node
def test_the_concurrent_rewrite_of_a_loop_that_pushes_type_checks(node_modules):
    """Loops that push to a typed array of literal unions, to an array declared `= []`, to a
    property path, after a `continue`, in a branch of a last `if`, in each branch, and anywhere
    in the body (several per item): the rewrite gives back the values instead, `out` gets them
    in the items' order, and no type error is added."""
    result = _verify(ORDERED_PUSH_APP, node_modules)
    assert result["tsc_errors_before"] == 0, result
    assert sum(result["applied"].values()) == 9, result["applied"]
    assert all("pushing to `…` in the items' order" in kind for kind in result["applied"]), result["applied"]
    assert result["new_type_errors"] == []
    assert result["idempotent"]


@pytest.mark.node
def test_the_ordered_push_app_rejects_the_forms_the_rewrite_avoids(node_modules, tmp_path):
    """The control for the test above: without the callback's return type the literal union is
    widened (TS2345), and with it on an array declared `= []` the array is an implicit `any`
    (TS7034, TS7005)."""
    root = tmp_path / "app"
    vf.copy_app(ORDERED_PUSH_APP, root)
    (root / "node_modules").symlink_to(node_modules, target_is_directory=True)
    vf.prepare_convex_dir(root / "convex")
    tasks = root / "convex" / "tasks.ts"
    tasks.write_text(
        tasks.read_text()
        + textwrap.dedent(
            """
            export const bare = mutation({
              args: {},
              handler: async (ctx) => {
                const tasks = await ctx.db.query("tasks").take(20);
                const out: Line[] = [];
                out.push(...(await Promise.all(tasks.map(async (task) => {
                  const owner = await touchOwner(ctx, task.ownerId);
                  return { kind: owner ? "owner" : "nobody", name: owner?.name ?? "" };
                }))));
                const found = [];
                found.push(...(await Promise.all(tasks.map(async (task): Promise<(typeof found)[number]> => {
                  const owner = await touchOwner(ctx, task.ownerId);
                  return owner?.name ?? "";
                }))));
                return [out, found];
              },
            });
            """
        )
    )
    errors, _ = vf.run_tsc(node_modules / ".bin" / "tsc", root, root / "convex", 300)
    assert sorted(e.code for e in errors) == ["TS2345", "TS7005", "TS7034"], errors

DEPTH_LIMIT_APP = FIXTURES / "verify-fixes-depth-limit-app"


@pytest.mark.node
def test_fixes_type_check_in_an_app_at_the_depth_limit(node_modules):
    """An app that says its data model is at tsc's instantiation-depth limit (a TS2589 directive
    on a query): the batch-fetch declares the Map `any` where the read's value is `any` (an
    untyped `ctx`, a `db.get` of an `any` key) and `Map<any, any>` where its `(doc: any)` pairs
    make it that, and binds a computed collection (`rows.filter(isTitled)`) once; none adds a
    type error under `strict`. (The overflow those Maps avoid needs a data model as deep as
    ConvexPress's to show: benchmarks/fixes.md, runs 14 and 16.)"""
    result = _verify(DEPTH_LIMIT_APP, node_modules)
    assert result["tsc_errors_before"] == 0, result
    assert sum(result["applied"].values()) == 4, result["applied"]
    assert result["new_type_errors"] == []
    assert result["idempotent"]
