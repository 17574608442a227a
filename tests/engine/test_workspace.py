"""Workspace discovery and indexing: roots, files, skips, and files we cannot read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from convex_xray.engine import workspace as workspace_module
from convex_xray.engine.source import SourceFile
from convex_xray.engine.workspace import Workspace, discover_roots, read_jsonc

QUERY = 'export const list = query({ args: {}, handler: async (ctx) => await ctx.db.query("t").first() });\n'


def touch(root: Path, *names: str, text: str = QUERY) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def rel(paths, base: Path) -> list[str]:
    return sorted(Path(p).resolve().relative_to(base.resolve()).as_posix() for p in paths)


# -- roots ------------------------------------------------------------------------------------------


def test_default_convex_directory(tmp_path):
    touch(tmp_path, "convex/a.ts")
    assert rel(discover_roots(tmp_path), tmp_path) == ["convex"]
    assert rel(discover_roots(tmp_path / "convex"), tmp_path) == ["convex"]


def test_convex_json_functions_key(tmp_path):
    touch(tmp_path, "src/backend/a.ts", "convex/ignored.ts")
    (tmp_path / "convex.json").write_text(
        '{\n  // JSONC is fine\n  "functions": "src/backend/",\n}\n'
    )
    assert rel(discover_roots(tmp_path), tmp_path) == ["src/backend"]
    assert rel(discover_roots(tmp_path / "src" / "backend" / "a.ts"), tmp_path) == ["src/backend"]


def test_convex_json_without_functions_key_uses_convex(tmp_path):
    touch(tmp_path, "convex/a.ts")
    (tmp_path / "convex.json").write_text('{ "node": { "externalPackages": ["*"] } }')
    assert rel(discover_roots(tmp_path), tmp_path) == ["convex"]


def test_monorepo_and_several_roots(tmp_path):
    touch(
        tmp_path,
        "apps/web/convex/a.ts",
        "packages/backend/convex/b.ts",
        "packages/other/src/fns/c.ts",
        "packages/backend/node_modules/pkg/convex/x.ts",
        "apps/web/.cache/convex/y.ts",
    )
    (tmp_path / "packages" / "other" / "convex.json").write_text('{ "functions": "src/fns" }')
    assert rel(discover_roots(tmp_path), tmp_path) == [
        "apps/web/convex",
        "packages/backend/convex",
        "packages/other/src/fns",
    ]
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    assert rel(workspace.files(), tmp_path) == [
        "apps/web/convex/a.ts",
        "packages/backend/convex/b.ts",
        "packages/other/src/fns/c.ts",
    ]


def test_a_file_belongs_to_its_convex_directory(tmp_path):
    touch(tmp_path, "convex/lib/deep/a.ts", "convex/betterAuth/adapter.ts")
    touch(
        tmp_path,
        "convex/schema.ts",
        "convex/betterAuth/schema.ts",
        text="export default defineSchema({});\n",
    )
    (tmp_path / "convex" / "betterAuth" / "convex.config.ts").write_text(
        'export default defineComponent("betterAuth");\n'
    )
    assert rel(discover_roots(tmp_path / "convex" / "lib" / "deep" / "a.ts"), tmp_path) == [
        "convex"
    ]
    # a component has its own schema.ts, but its files still belong to the app's root
    assert rel(discover_roots(tmp_path / "convex" / "betterAuth" / "adapter.ts"), tmp_path) == [
        "convex"
    ]


def test_no_roots(tmp_path):
    touch(tmp_path, "src/index.ts")
    assert discover_roots(tmp_path) == []


# -- files ----------------------------------------------------------------------------------------------


def test_files_skip_generated_node_modules_declarations_and_non_sources(tmp_path):
    touch(
        tmp_path,
        "convex/a.ts",
        "convex/b.tsx",
        "convex/c.js",
        "convex/d.mjs",
        "convex/lib/e.ts",
        "convex/_generated/api.ts",
        "convex/_generated/server.js",
        "convex/node_modules/x/index.ts",
        "convex/types.d.ts",
        "convex/readme.md",
        "convex/data.json",
        "convex/.hidden.ts",
        "convex/.cache/f.ts",
    )
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    assert rel(workspace.files(), tmp_path) == [
        "convex/a.ts",
        "convex/b.tsx",
        "convex/c.js",
        "convex/d.mjs",
        "convex/lib/e.ts",
    ]


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["convex/legacy/**"], ["convex/a.ts", "convex/lib/b.test.ts"]),
        (["**/*.test.ts"], ["convex/a.ts", "convex/legacy/old.ts"]),
        (["convex/legacy/*", "*.test.ts"], ["convex/a.ts"]),
        ([], ["convex/a.ts", "convex/legacy/old.ts", "convex/lib/b.test.ts"]),
    ],
)
def test_exclude_globs(tmp_path, patterns, expected):
    touch(tmp_path, "convex/a.ts", "convex/legacy/old.ts", "convex/lib/b.test.ts")
    workspace = Workspace(discover_roots(tmp_path), exclude=patterns, base=tmp_path)
    assert rel(workspace.files(), tmp_path) == expected


def test_symlink_loops_terminate(tmp_path):
    touch(tmp_path, "convex/a.ts", "convex/lib/b.ts")
    (tmp_path / "convex" / "lib" / "up").symlink_to(tmp_path / "convex", target_is_directory=True)
    (tmp_path / "convex" / "self").symlink_to(".", target_is_directory=True)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "convex" / "link.ts").symlink_to(tmp_path / "convex" / "a.ts")
    roots = discover_roots(tmp_path)
    assert rel(roots, tmp_path) == ["convex"]
    workspace = Workspace(roots, base=tmp_path)
    assert rel(workspace.files(), tmp_path) == ["convex/a.ts", "convex/lib/b.ts"]


def test_deep_trees_are_walked(tmp_path):
    deep = "convex/" + "/".join(f"d{i}" for i in range(20)) + "/x.ts"
    touch(tmp_path, deep)
    assert rel(Workspace(discover_roots(tmp_path)).files(), tmp_path) == [deep]


# -- files we cannot check: a message, never a crash --------------------------------------------------


def test_non_utf8_file_is_a_problem_not_a_crash(tmp_path):
    touch(tmp_path, "convex/good.ts")
    (tmp_path / "convex" / "latin1.ts").write_bytes("const s = 'café';\n".encode("latin-1"))
    (tmp_path / "convex" / "binary.ts").write_bytes(b"\x00\x01\x02const")
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    models = list(workspace.models())
    assert [m.path.name for m in models] == ["good.ts"]
    messages = {p.path.name: p.message for p in workspace.problems}
    assert "not UTF-8" in messages["latin1.ts"] and "offset" in messages["latin1.ts"]
    assert "NUL" in messages["binary.ts"]
    assert workspace.source(tmp_path.resolve() / "convex" / "latin1.ts") is None
    # asking again does not report twice
    list(workspace.models())
    assert len(workspace.problems) == 2


def test_huge_files_are_skipped_with_a_message(tmp_path, monkeypatch):
    touch(tmp_path, "convex/small.ts")
    big = tmp_path / "convex" / "bundle.js"
    big.write_text("var a = 1;\n" * 300)
    monkeypatch.setattr(workspace_module, "MAX_FILE_BYTES", 2000)
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    assert [m.path.name for m in workspace.models()] == ["small.ts"]
    problem = workspace.problem(big.resolve())
    assert problem is not None and "skipped" in problem.message and "KiB" in problem.message


def test_the_real_size_limit(tmp_path):
    touch(tmp_path, "convex/small.ts")
    (tmp_path / "convex" / "huge.js").write_bytes(
        b"//" + b"x" * (workspace_module.MAX_FILE_BYTES + 10)
    )
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    assert [m.path.name for m in workspace.models()] == ["small.ts"]
    assert [p.path.name for p in workspace.problems] == ["huge.js"]


def test_unreadable_files_are_problems(tmp_path):
    touch(tmp_path, "convex/ok.ts", "convex/secret.ts")
    secret = tmp_path / "convex" / "secret.ts"
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):
            pytest.skip("running as root: permissions do not stop reads")
        workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
        assert [m.path.name for m in workspace.models()] == ["ok.ts"]
        assert "cannot read" in workspace.problem(secret.resolve()).message
    finally:
        secret.chmod(0o644)


def test_read_errors_are_problems(tmp_path, monkeypatch):
    """The same path without relying on permissions (the tests may run as root)."""
    touch(tmp_path, "convex/ok.ts", "convex/secret.ts")
    real_read = SourceFile.read.__func__

    def read(cls, path):
        if path.name == "secret.ts":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(cls, path)

    monkeypatch.setattr(SourceFile, "read", classmethod(read))
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    assert [m.path.name for m in workspace.models()] == ["ok.ts"]
    problem = workspace.problem(workspace.roots[0].path / "secret.ts")
    assert problem.message == "cannot read: Permission denied"


def test_unreadable_directories_are_problems(tmp_path):
    touch(tmp_path, "convex/ok.ts", "convex/locked/x.ts")
    locked = tmp_path / "convex" / "locked"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: permissions do not stop reads")
        workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
        assert rel(workspace.files(), tmp_path) == ["convex/ok.ts"]
        assert any("cannot list" in p.message for p in workspace.problems)
    finally:
        locked.chmod(0o755)


def test_pathologically_nested_code_is_a_problem_not_a_crash(tmp_path):
    touch(tmp_path, "convex/deep.ts", text="const x = " + "[" * 20000 + "]" * 20000 + ";\n")
    touch(tmp_path, "convex/ok.ts")
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    names = [m.path.name for m in workspace.models()]
    assert "ok.ts" in names


# -- per-file updates ------------------------------------------------------------------------------------


def test_each_file_is_modelled_once_and_updated_on_its_own(tmp_path):
    touch(tmp_path, "convex/a.ts", "convex/b.ts")
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    a, b = workspace.files()
    first_a, first_b = workspace.model(a), workspace.model(b)
    assert workspace.model(a) is first_a  # cached
    workspace.set_source(SourceFile(a, "export const x = 1;\n", version=2))
    assert workspace.model(a) is not first_a and workspace.model(a).reads == []
    assert workspace.model(b) is first_b  # untouched
    assert workspace.source(a).version == 2
    workspace.forget(a)
    assert len(workspace.model(a).reads) == 1  # back to the file on disk


def test_new_and_deleted_files(tmp_path):
    touch(tmp_path, "convex/a.ts")
    workspace = Workspace(discover_roots(tmp_path), base=tmp_path)
    assert len(workspace.files()) == 1
    new = workspace.roots[0].path / "new.ts"
    workspace.set_source(SourceFile(new, QUERY))  # an unsaved editor buffer
    assert new in workspace.files()
    outside = tmp_path / "elsewhere" / "x.ts"
    workspace.set_source(SourceFile(outside, QUERY))
    assert outside not in workspace.files()
    (workspace.roots[0].path / "a.ts").unlink()
    workspace.forget(workspace.roots[0].path / "a.ts")
    assert [p.name for p in workspace.files()] == ["new.ts"]
    touch(tmp_path, "convex/later.ts")
    workspace.invalidate_file_list()
    assert [p.name for p in workspace.files()] == ["later.ts"]


def test_read_jsonc(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{ /* c */ "a": [1, 2,], // d\n "b": "//not a comment", }')
    assert read_jsonc(path) == {"a": [1, 2], "b": "//not a comment"}
    path.write_text("[1, 2]")
    assert read_jsonc(path) is None
    path.write_text("{ broken")
    assert read_jsonc(path) is None
    assert read_jsonc(tmp_path / "missing.json") is None
