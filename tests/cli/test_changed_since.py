"""`--changed-since REF` (only files changed since a git ref, facts from the whole app) and
checking individual files as pre-commit passes them."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from convex_xray.cli.gitdiff import GitError, changed_files
from convex_xray.cli.main import main
from convex_xray.engine.registry import resolve_rule

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

SCHEMA = """\
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  posts: defineTable({ authorId: v.string(), status: v.string(), title: v.string() })
    .index("by_authorId", ["authorId"])
    .index("by_status", ["status"])
    .index("by_title", ["title"]),
});
"""

# Uses by_authorId; its `.collect()` and missing index are findings of its own.
AUTHORS = """\
import { query } from "./_generated/server";
import { v } from "convex/values";

export const byAuthor = query({
  args: { authorId: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).take(10);
  },
});

export const broken = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("posts").withIndex("by_author").take(10);
  },
});
"""

# Uses by_status; the only place that does.
STATUS = """\
import { query } from "./_generated/server";

export const drafts = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("posts").withIndex("by_status", (q) => q.eq("status", "draft")).take(10);
  },
});

export const wrong = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("posts").withIndex("by_state").take(10);
  },
});
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    convex = root / "convex"
    convex.mkdir(parents=True)
    (convex / "schema.ts").write_text(SCHEMA, encoding="utf-8")
    (convex / "authors.ts").write_text(AUTHORS, encoding="utf-8")
    (convex / "status.ts").write_text(STATUS, encoding="utf-8")
    (root / ".gitignore").write_text("ignored.ts\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def reported(report: dict) -> set[tuple[str, str]]:
    return {(Path(d["path"]).name, d["rule"]) for d in report["diagnostics"]}


def test_only_changed_and_untracked_files_are_checked(repo, capsys):
    code, report = run_json(
        capsys, str(repo), "--select", "unknown-index", "--changed-since", "HEAD"
    )
    assert code == 0 and report["summary"]["files"] == 0 and report["diagnostics"] == []
    # Edit one file (not committed), add an untracked one and an ignored one.
    authors = repo / "convex" / "authors.ts"
    authors.write_text(AUTHORS.replace("byAuthor", "postsByAuthor"), encoding="utf-8")
    (repo / "convex" / "fresh.ts").write_text(STATUS.replace("drafts", "fresh"), encoding="utf-8")
    (repo / "convex" / "ignored.ts").write_text(STATUS, encoding="utf-8")
    code, report = run_json(
        capsys, str(repo), "--select", "unknown-index", "--changed-since", "HEAD"
    )
    assert code == 1
    assert report["summary"]["files"] == 2
    assert reported(report) == {("authors.ts", "unknown-index"), ("fresh.ts", "unknown-index")}
    # The whole app still has status.ts's and ignored.ts's findings.
    code, report = run_json(capsys, str(repo), "--select", "unknown-index")
    assert ("status.ts", "unknown-index") in reported(report)


def test_committed_changes_since_a_ref_count_and_the_base_branchs_do_not(repo, capsys):
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "convex" / "authors.ts").write_text(AUTHORS + "\n// touched\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "feature work")
    git(repo, "checkout", "-q", "main")
    (repo / "convex" / "status.ts").write_text(STATUS + "\n// main moved on\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "main work")
    git(repo, "checkout", "-q", "feature")
    changed = changed_files("main", repo)
    assert [p.name for p in changed] == ["authors.ts"]  # from the merge base, not main's tip
    code, report = run_json(
        capsys, str(repo), "--select", "unknown-index", "--changed-since", "main"
    )
    assert code == 1
    assert reported(report) == {("authors.ts", "unknown-index")}


def test_deleted_files_are_not_checked(repo):
    (repo / "convex" / "status.ts").unlink()
    assert changed_files("HEAD", repo) == []


def test_outside_a_git_repository_is_a_clear_error(tmp_path, capsys, monkeypatch):
    project = tmp_path / "plain"
    (project / "convex").mkdir(parents=True)
    (project / "convex" / "schema.ts").write_text(SCHEMA, encoding="utf-8")
    # Stop git from finding a repository above the temporary directory.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert main(["check", str(project), "--changed-since", "main"]) == 2
    err = capsys.readouterr().err
    assert "not inside a git work tree" in err
    with pytest.raises(GitError):
        changed_files("main", project)


def test_unknown_ref_is_a_clear_error(repo, capsys):
    assert main(["check", str(repo), "--changed-since", "no-such-branch"]) == 2
    assert "unknown git ref 'no-such-branch'" in capsys.readouterr().err
    # An option-looking ref is never handed to git (it would be read as a git option).
    assert main(["check", str(repo), "--changed-since=--output=x"]) == 2
    assert "expects a git ref" in capsys.readouterr().err


def test_unused_index_stays_correct_when_only_the_schema_changed(repo, capsys):
    if resolve_rule("unused-index") is None:
        pytest.skip("unused-index is not registered yet (rules/unused_index.py)")
    schema = repo / "convex" / "schema.ts"
    schema.write_text(
        SCHEMA.replace("title: v.string() })", "title: v.string(), body: v.string() })"),
        encoding="utf-8",
    )
    code, report = run_json(
        capsys, str(repo), "--select", "unused-index", "--changed-since", "HEAD"
    )
    assert report["summary"]["files"] == 1
    found = [(Path(d["path"]).name, d["line"]) for d in report["diagnostics"]]
    # by_title (line 8) is used nowhere; by_authorId and by_status are used only in files
    # that did not change, and the whole workspace still says so.
    assert found == [("schema.ts", 8)]
    assert code == (1 if report["diagnostics"][0]["severity"] in ("warning", "error") else 0)
    # Only a user of an index changed: the schema's findings are not in this run.
    git(repo, "checkout", "-q", "--", "convex/schema.ts")
    (repo / "convex" / "status.ts").write_text(
        STATUS.replace('"by_status"', '"by_title"'), encoding="utf-8"
    )
    _, report = run_json(capsys, str(repo), "--select", "unused-index", "--changed-since", "HEAD")
    assert report["diagnostics"] == []


def test_pre_commit_passes_individual_files(repo, capsys):
    """pre-commit runs `convex-xray check file1.ts file2.ts`: only those files are reported,
    while the schema and the rest of the app still inform the rules."""
    status = repo / "convex" / "status.ts"
    code, report = run_json(capsys, str(status), "--select", "unknown-index")
    assert code == 1
    assert report["summary"]["files"] == 1
    assert reported(report) == {("status.ts", "unknown-index")}
    message = report["diagnostics"][0]["message"]
    assert "by_state" in message and "by_status" in message  # the schema was read
    # A staged frontend file comes along too (the hook matches every ts/tsx/js file).
    app = repo / "src" / "App.tsx"
    app.parent.mkdir()
    app.write_text(
        'export function App() {\n  return <div className="app">hello</div>;\n}\n', encoding="utf-8"
    )
    code, report = run_json(
        capsys,
        str(status),
        str(repo / "convex" / "authors.ts"),
        str(app),
        "--select",
        "unknown-index",
    )
    assert code == 1
    assert report["summary"]["files"] == 3
    assert reported(report) == {("status.ts", "unknown-index"), ("authors.ts", "unknown-index")}
    assert report["problems"] == [] and report["errors"] == []


def test_pre_commit_hook_definition():
    text = (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    hook = textwrap.dedent(text)
    for line in (
        "- id: convex-xray",
        "entry: convex-xray check",
        "language: python",
        "types_or: [ts, tsx, javascript]",
        "pass_filenames: true",
    ):
        assert line in hook, line
