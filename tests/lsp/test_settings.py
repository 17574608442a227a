"""Settings: initializationOptions, workspace/configuration, changes, bad values, multi-root."""

from __future__ import annotations

from lsprotocol import types

from tests.lsp.harness import capabilities, codes
from tests.support.project import write_project

POSTS = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const all = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    const posts = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).collect();
    return await ctx.db.query("users").withIndex("by_mail").first();
  },
});
"""


async def test_initialization_options_turn_a_rule_off(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    session = await start(
        root, init_options={"settings": {"severity": {"unbounded-collect": "off"}}}
    )
    uri = session.open("convex/posts.ts")
    assert codes(await session.client.diagnostics_for(uri, version=1)) == ["unknown-index"]


async def test_severity_override_and_project_config_merge(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    (root / "convex-xray.toml").write_text(
        'take-limit = 7\n[severity]\nunknown-index = "warning"\n'
    )
    session = await start(
        root, init_options={"severity": {"unbounded-collect": "error"}, "takeLimit": 100}
    )
    uri = session.open("convex/posts.ts")
    diagnostics = await session.client.diagnostics_for(uri, version=1)
    by_code = {d.code: d for d in diagnostics}
    assert by_code["unbounded-collect"].severity == types.DiagnosticSeverity.Error  # editor setting
    assert by_code["unknown-index"].severity == types.DiagnosticSeverity.Warning  # project file
    # takeLimit left at its default does not override the project's take-limit.
    assert "take(7)" in by_code["unbounded-collect"].message


async def test_workspace_configuration_is_pulled_and_re_pulled_on_change(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    session = await start(
        root,
        caps=capabilities(configuration=True),
        configuration={"": {"convexXray": {"ignore": ["unknown-index"]}}},
    )
    client = session.client
    uri = session.open("convex/posts.ts")
    assert codes(await client.diagnostics_for(uri, version=1)) == ["unbounded-collect"]
    client.set_configuration({"select": ["unknown-index"]}, section="convexXray")
    count = len(client.published)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert codes(await client.diagnostics_for(uri, version=1, after=count)) == ["unknown-index"]


async def test_a_bad_setting_is_shown_and_defaults_are_used(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    session = await start(
        root, init_options={"run": "sometimes", "debounceMs": -5, "select": ["no-such-rule"]}
    )
    client = session.client
    uri = session.open("convex/posts.ts")
    # Still checking on type, with every rule.
    assert codes(await client.diagnostics_for(uri, version=1)) == [
        "unbounded-collect",
        "unknown-index",
    ]
    version = session.replace(uri, "collect()", "take(5)")
    assert codes(await client.diagnostics_for(uri, version=version)) == ["unknown-index"]
    shown = " ".join(m.message for m in client.messages)
    assert (
        "convexXray.run" in shown and "convexXray.debounceMs" in shown and "no-such-rule" in shown
    )
    assert all(m.type == types.MessageType.Warning for m in client.messages)
    logged = " ".join(m.message for m in client.log_messages)
    assert "convexXray.run" in logged


async def test_a_broken_project_config_falls_back_to_defaults(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    (root / "convex-xray.toml").write_text("take-limit = \n")
    session = await start(root)
    uri = session.open("convex/posts.ts")
    assert codes(await session.client.diagnostics_for(uri, version=1)) == [
        "unbounded-collect",
        "unknown-index",
    ]
    assert any("convex-xray.toml" in m.message for m in session.client.messages)


async def test_each_folder_has_its_own_settings_and_config(start, tmp_path):
    first = write_project(tmp_path / "first", {"posts.ts": POSTS})
    second = write_project(tmp_path / "second", {"posts.ts": POSTS})
    (second / "convex-xray.toml").write_text('ignore = ["unbounded-collect"]\n')
    session = await start(
        first,
        folders=[first, second],
        caps=capabilities(configuration=True),
        configuration={
            "": {"convexXray": {}},
            first.resolve().as_uri(): {"convexXray": {"ignore": ["unknown-index"]}},
        },
    )
    client = session.client
    one = session.open("convex/posts.ts")
    session.root = second
    two = session.open("convex/posts.ts")
    assert codes(await client.diagnostics_for(one, version=1)) == ["unbounded-collect"]
    assert codes(await client.diagnostics_for(two, version=1)) == ["unknown-index"]


async def test_added_workspace_folder_adopts_its_open_files(start, tmp_path):
    first = write_project(tmp_path / "first", {"posts.ts": POSTS})
    second = write_project(tmp_path / "second", {"posts.ts": POSTS})
    session = await start(first)
    client = session.client
    session.root = second
    uri = session.open("convex/posts.ts")  # not in any folder yet: no diagnostics
    await session.roundtrip()
    assert not [p for p in client.published if p.uri == uri]
    ready = len(client.statuses)
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=second.resolve().as_uri(), name="second")],
                removed=[],
            )
        )
    )
    assert codes(await client.diagnostics_for(uri, version=1)) == [
        "unbounded-collect",
        "unknown-index",
    ]
    await client.status("ready", after=ready)
