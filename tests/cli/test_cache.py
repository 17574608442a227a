"""The CLI result cache: a warm run reports exactly what a cold one does, and any change to
a source file, the schema, a helper or the configuration invalidates it."""

from __future__ import annotations

import json

from convex_xray.cli.main import main
from tests.support.project import write_project

MODULE = """
import { query } from "./_generated/server";
import { loadAuthor } from "./helpers";
export const feed = query({ args: {}, handler: async (ctx) => {
  const posts = await ctx.db.query("posts").withIndex("by_authorId").take(10);
  for (const post of posts) { await loadAuthor(ctx, post.authorId); }
  return posts;
}});
"""

HELPER_READS = """
export async function loadAuthor(ctx: QueryCtx, id: any) { return await ctx.db.get(id); }
"""

HELPER_PURE = """
export async function loadAuthor(ctx: QueryCtx, id: any) { return id; }
"""


def _run(project, capsys, *extra):
    code = main(["check", str(project), "--format", "json", "--exit-zero", *extra])
    assert code == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    data["summary"].pop("elapsed_ms")
    return data


def test_warm_run_equals_cold_run_and_changes_invalidate(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = write_project(tmp_path / "app", {"feed.ts": MODULE, "helpers.ts": HELPER_READS})
    cold = _run(project, capsys)
    assert (tmp_path / ".convex-xray-cache").is_dir()
    assert any(d["rule"] == "n-plus-one-read" for d in cold["diagnostics"])
    warm = _run(project, capsys)
    assert warm == cold

    # A helper that stops reading changes a finding in another file: the cache must notice.
    (project / "convex" / "helpers.ts").write_text(HELPER_PURE)
    after_helper = _run(project, capsys)
    assert not any(d["rule"] == "n-plus-one-read" for d in after_helper["diagnostics"])
    assert after_helper == _run(project, capsys, "--no-cache")

    # The schema and the configuration are part of the key too.
    schema = project / "convex" / "schema.ts"
    schema.write_text(schema.read_text().replace('.index("by_authorId", ["authorId"])', ""))
    after_schema = _run(project, capsys)
    assert any(d["rule"] == "unknown-index" for d in after_schema["diagnostics"])
    (project / "convex-xray.toml").write_text('ignore = ["unknown-index"]\n')
    after_config = _run(project, capsys)
    assert not any(d["rule"] == "unknown-index" for d in after_config["diagnostics"])


def test_no_cache_writes_nothing_and_a_corrupt_entry_is_ignored(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = write_project(tmp_path / "app", {"feed.ts": MODULE, "helpers.ts": HELPER_READS})
    _run(project, capsys, "--no-cache")
    assert not (tmp_path / ".convex-xray-cache").exists()
    cold = _run(project, capsys)
    for entry in (tmp_path / ".convex-xray-cache").glob("*.json"):
        entry.write_text("{ not json")
    assert _run(project, capsys) == cold
