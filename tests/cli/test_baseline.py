"""Baselines: today's findings recorded by fingerprint (no line numbers), only new ones reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from convex_xray.cli.baseline import Baseline
from convex_xray.cli.main import main
from convex_xray.engine.registry import resolve_rule
from tests.support.project import FEED_SCHEMA, write_project

POSTS = """\
import { query } from "./_generated/server";
import { v } from "convex/values";

export const byAuthor = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    const posts = await ctx.db
      .query("posts")
      .withIndex("by_author", (q) => q.eq("authorId", args.authorId))
      .take(20);
    return posts;
  },
});

export const all = query({
  args: {},
  handler: async (ctx) => {
    const rows = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect();
    return rows.length;
  },
});
"""

RULES = "unknown-index,unbounded-collect"


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def _check(project: Path, *extra: str) -> int:
    return main(["check", str(project), "--format", "json", "--select", RULES, *extra])


@pytest.fixture
def app(tmp_path):
    return write_project(tmp_path / "app", {"posts.ts": POSTS}, schema=FEED_SCHEMA)


def _baselined(app: Path, capsys) -> Path:
    baseline = app / "convex-xray-baseline.json"
    assert _check(app, "--write-baseline", str(baseline)) == 0
    written = _json(capsys)
    assert written["summary"]["baseline"] == {"matched": 2, "new": 0, "stale": 0}
    return baseline


def test_write_then_check_reports_nothing_new(app, capsys):
    baseline = _baselined(app, capsys)
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["version"] == 1
    umask = os.umask(0)
    os.umask(umask)
    assert baseline.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's 0600
    assert sorted((e["rule"], e["path"], e["function"]) for e in data["entries"]) == [
        ("unbounded-collect", "convex/posts.ts", "all"),
        ("unknown-index", "convex/posts.ts", "byAuthor"),
    ]
    assert all("line" not in e for e in data["entries"])
    assert _check(app, "--baseline", str(baseline)) == 0
    report = _json(capsys)
    assert report["diagnostics"] == []
    assert report["summary"]["baseline"] == {"matched": 2, "new": 0, "stale": 0}
    # Without the baseline the same run fails.
    assert _check(app) == 1
    assert len(_json(capsys)["diagnostics"]) == 2


def test_baseline_survives_a_line_shift_and_reindentation(app, capsys):
    baseline = _baselined(app, capsys)
    path = app / "convex" / "posts.ts"
    shifted = "// header line\n" * 20 + POSTS.replace(
        '    const rows = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect();',
        '        const rows   =  await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect();',
    )
    path.write_text(shifted, encoding="utf-8")
    assert _check(app, "--baseline", str(baseline)) == 0
    assert _json(capsys)["summary"]["baseline"] == {"matched": 2, "new": 0, "stale": 0}


def test_new_finding_in_a_baselined_function_is_reported(app, capsys):
    baseline = _baselined(app, capsys)
    path = app / "convex" / "posts.ts"
    # Lines above shift everything, and a second copy of the same collect appears in `all`.
    text = "// header line\n" * 20 + POSTS.replace(
        "    return rows.length;",
        '    const again = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect();\n'
        "    return rows.length + again.length;",
    )
    path.write_text(text, encoding="utf-8")
    assert _check(app, "--baseline", str(baseline)) == 1
    report = _json(capsys)
    assert report["summary"]["baseline"] == {"matched": 2, "new": 1, "stale": 0}
    [new] = report["diagnostics"]
    assert (new["rule"], new["line"]) == ("unbounded-collect", 39)


def test_new_n_plus_one_in_a_baselined_file_is_reported(tmp_path, capsys):
    if resolve_rule("n-plus-one-read") is None:
        pytest.skip("n-plus-one-read is not registered yet")
    app = write_project(tmp_path / "app", {"posts.ts": POSTS}, schema=FEED_SCHEMA)
    baseline = app / "baseline.json"
    assert main(["check", str(app), "--format", "json", "--write-baseline", str(baseline)]) == 0
    before = _json(capsys)["summary"]["baseline"]["matched"]
    path = app / "convex" / "posts.ts"
    text = "// moved down\n" * 20 + POSTS.replace(
        "    return posts;",
        "    const authors = [];\n"
        "    for (const post of posts) {\n"
        "      authors.push(await ctx.db.get(post.authorId));\n"
        "    }\n"
        "    return { posts, authors };",
    )
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(app), "--format", "json", "--baseline", str(baseline), "--fail-on", "info"]) == 1
    report = _json(capsys)
    assert [d["rule"] for d in report["diagnostics"]] == ["n-plus-one-read"]
    assert report["diagnostics"][0]["line"] == 33
    assert report["summary"]["baseline"] == {"matched": before, "new": 1, "stale": 0}


def test_fixed_findings_are_stale_and_pruned(app, capsys):
    baseline = _baselined(app, capsys)
    path = app / "convex" / "posts.ts"
    path.write_text(POSTS.replace('"by_author"', '"by_authorId"'), encoding="utf-8")
    assert main(["check", str(app), "--select", RULES, "--baseline", str(baseline)]) == 0
    text = capsys.readouterr().out
    assert "1 known (not shown), 0 new, 1 stale" in text
    assert "--prune-baseline" in text
    assert _check(app, "--baseline", str(baseline)) == 0
    report = _json(capsys)
    assert report["summary"]["baseline"] == {"matched": 1, "new": 0, "stale": 1}
    assert [e["rule"] for e in report["baseline_stale"]] == ["unknown-index"]
    assert len(Baseline.load(baseline).entries) == 2  # reporting never rewrites the file
    assert _check(app, "--baseline", str(baseline), "--prune-baseline") == 0
    assert _json(capsys)["summary"]["baseline"]["stale"] == 1
    assert [e.rule for e in Baseline.load(baseline).entries] == ["unbounded-collect"]
    assert _check(app, "--baseline", str(baseline)) == 0
    assert _json(capsys)["summary"]["baseline"] == {"matched": 1, "new": 0, "stale": 0}


def test_entries_outside_the_run_are_neither_stale_nor_pruned(app, capsys):
    other = app / "convex" / "other.ts"
    other.write_text(
        POSTS.replace("byAuthor", "byWriter").replace("const all", "const every"), encoding="utf-8"
    )
    baseline = app / "baseline.json"
    assert _check(app, "--write-baseline", str(baseline)) == 0
    assert _json(capsys)["summary"]["baseline"]["matched"] == 4
    # Only one rule selected: the other rule's entries are out of scope.
    assert (
        main(
            [
                "check",
                str(app),
                "--format",
                "json",
                "--select",
                "unknown-index",
                "--baseline",
                str(baseline),
                "--prune-baseline",
            ]
        )
        == 0
    )
    assert _json(capsys)["summary"]["baseline"] == {"matched": 2, "new": 0, "stale": 0}
    # Only one file checked (as pre-commit does): the other file's entries are out of scope.
    posts = app / "convex" / "posts.ts"
    posts.write_text(POSTS.replace('"by_author"', '"by_authorId"'), encoding="utf-8")
    assert _check(posts, "--baseline", str(baseline), "--prune-baseline") == 0
    assert _json(capsys)["summary"]["baseline"] == {"matched": 1, "new": 0, "stale": 1}
    kept = Baseline.load(baseline).entries
    assert sorted((e.path, e.rule) for e in kept) == [
        ("convex/other.ts", "unbounded-collect"),
        ("convex/other.ts", "unknown-index"),
        ("convex/posts.ts", "unbounded-collect"),
    ]


def test_paths_are_relative_to_the_baseline_file_not_the_cwd(app, capsys, monkeypatch, tmp_path):
    baseline = app / "ci" / "baseline.json"
    baseline.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    assert _check(app, "--write-baseline", str(baseline)) == 0
    capsys.readouterr()
    assert {e.path for e in Baseline.load(baseline).entries} == {"../convex/posts.ts"}
    monkeypatch.chdir(app / "convex")
    assert _check(app, "--baseline", str(baseline)) == 0
    assert _json(capsys)["summary"]["baseline"] == {"matched": 2, "new": 0, "stale": 0}


def test_rewriting_keeps_out_of_scope_entries(app, capsys):
    baseline = _baselined(app, capsys)
    assert (
        main(
            [
                "check",
                str(app),
                "--format",
                "json",
                "--select",
                "unknown-index",
                "--write-baseline",
                str(baseline),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert sorted(e.rule for e in Baseline.load(baseline).entries) == [
        "unbounded-collect",
        "unknown-index",
    ]


@pytest.mark.parametrize(
    "content, why",
    [
        ("not json", "not JSON"),
        ('{"version": 1}', 'no "entries" list'),
        ('{"version": 7, "entries": []}', "version 7 is not supported"),
        ('{"version": 1, "entries": [{"rule": "x"}]}', "entry 0 is malformed"),
    ],
)
def test_bad_baseline_is_a_usage_error(app, capsys, content, why):
    baseline = app / "baseline.json"
    baseline.write_text(content, encoding="utf-8")
    assert _check(app, "--baseline", str(baseline)) == 2
    assert why in capsys.readouterr().err


def test_missing_baseline_and_flag_misuse(app, capsys):
    assert _check(app, "--baseline", str(app / "nope.json")) == 2
    assert "create it with --write-baseline" in capsys.readouterr().err
    assert _check(app, "--prune-baseline") == 2
    assert "--prune-baseline needs --baseline" in capsys.readouterr().err
