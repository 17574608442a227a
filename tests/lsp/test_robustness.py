"""A rule that raises is logged and skipped; the server carries on."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.lsp.harness import codes
from tests.support.project import write_project

CRASHING_SERVER = [sys.executable, str(Path(__file__).with_name("crashing_server.py"))]

POSTS = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const all = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    return await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).collect();
  },
});
"""


async def test_a_crashing_rule_is_logged_skipped_and_the_server_carries_on(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    session = await start(root, command=CRASHING_SERVER)
    client = session.client
    uri = session.open("convex/posts.ts")
    # The other rules still report.
    assert codes(await client.diagnostics_for(uri, version=1)) == ["unbounded-collect"]
    failure = await client.wait_until(
        lambda: next(
            (
                m
                for m in client.log_messages
                if "always-crashes" in m.message and "posts.ts" in m.message
            ),
            None,
        ),
        "the crash to be logged",
    )
    assert "boom in posts.ts" in failure.message
    # Keystrokes keep being checked (fast path and full path alike).
    version = session.replace(uri, "collect()", "take(3)")
    assert codes(await client.diagnostics_for(uri, version=version)) == []
    version = session.insert(uri, "export const all", "// a new top-level comment\n")
    assert codes(await client.diagnostics_for(uri, version=version)) == []
    await session.roundtrip()


async def test_garbage_and_huge_lines_do_not_break_checks(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    session = await start(root)
    client = session.client
    uri = session.open("convex/posts.ts")
    await client.diagnostics_for(uri, version=1)
    version = session.insert(
        uri, "export const all", '}}}{{{ ((( ``` """ \'\n' + "x" * 20_000 + "\n"
    )
    diagnostics = await client.diagnostics_for(uri, version=version)
    # The function after the garbage is still there (carried through the syntax error).
    assert "unbounded-collect" in codes(diagnostics)
    await session.roundtrip()


AUDITED_SERVER = [sys.executable, str(Path(__file__).with_name("audited_server.py"))]


async def test_serving_runs_no_subprocess_and_opens_no_network_socket(start, tmp_path, monkeypatch):
    """Open, edit, fix all and navigate under an audit hook: nothing is spawned or dialled."""
    log = tmp_path / "audit.log"
    monkeypatch.setenv("CONVEX_XRAY_AUDIT_LOG", str(log))
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    session = await start(root, command=AUDITED_SERVER)
    client = session.client
    uri = session.open("convex/posts.ts")
    assert codes(await client.diagnostics_for(uri, version=1)) == ["unbounded-collect"]
    version = session.replace(uri, "collect()", "take(3)")
    assert codes(await client.diagnostics_for(uri, version=version)) == []
    await session.roundtrip()
    assert not log.exists(), log.read_text()
