"""Starting the server: initialize, capabilities, indexing progress and status."""

from __future__ import annotations

from lsprotocol import types

from convex_xray import __version__
from tests.lsp.harness import capabilities
from tests.support.project import write_project

APP = {
    "posts.ts": """
    import { query } from "./_generated/server";

    export const recent = query({
      args: {},
      handler: async (ctx) => {
        return (await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect()).slice(0, 5);
      },
    });
    """,
    "users.ts": """
    import { query } from "./_generated/server";

    export const all = query({
      args: {},
      handler: async (ctx) => ctx.db.query("users").withIndex("by_email").take(10),
    });
    """,
}


async def test_ready_status_counts_files_and_findings(start, tmp_path):
    root = write_project(tmp_path / "app", APP)
    session = await start(root, wait_ready=False)
    ready = await session.client.status("ready")
    assert ready["files"] == 3  # schema.ts, posts.ts, users.ts
    assert ready["diagnostics"] >= 1  # posts.ts: collect + slice


async def test_ready_counts_follow_open_edit_close_and_a_closed_file_on_disk(start, tmp_path):
    """The `ready` status counts closed files as last checked and open documents as shown
    (`Publisher.closed_counts` keeps the closed files' part between keystrokes): the counts
    follow an edit, the document's close (its file on disk counts again) and a closed file
    changed on disk."""
    root = write_project(tmp_path / "app", APP)
    session = await start(root, wait_ready=False)
    client = session.client
    first = await client.status("ready")

    def ready_with(diagnostics: int, after: int):
        return client.wait_until(
            lambda: next(
                (s for s in client.statuses[after:] if s.get("state") == "ready" and s["diagnostics"] == diagnostics),
                None,
            ),
            f"a ready status with {diagnostics} problems",
        )

    uri = session.open("convex/posts.ts")
    shown = len(await client.diagnostics_for(uri, version=1))
    assert shown >= 1
    seen = len(client.statuses)
    session.replace(uri, ".collect()).slice(0, 5)", ".take(5))")
    await ready_with(first["diagnostics"] - shown, seen)
    seen = len(client.statuses)
    session.close(uri)  # the file on disk still has its problems
    await ready_with(first["diagnostics"], seen)
    # A closed file changed on disk: its new result counts.
    seen = len(client.statuses)
    posts = root / "convex" / "posts.ts"
    posts.write_text(posts.read_text().replace(".collect()).slice(0, 5)", ".take(5))"))
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri, type=types.FileChangeType.Changed)]
        )
    )
    await ready_with(first["diagnostics"] - shown, seen)


async def test_list_rules_request(start, tmp_path):
    root = write_project(tmp_path / "app", APP)
    session = await start(root)
    rules = await session.client.protocol.send_request_async("convexXray/listRules", {})
    by_slug = {r["slug"]: r for r in rules}
    assert {"unbounded-collect", "unknown-index", "n-plus-one-read"} <= set(by_slug)
    entry = by_slug["unbounded-collect"]
    assert (
        entry["code"].startswith("CX")
        and entry["summary"]
        and entry["url"].endswith("unbounded-collect.md")
    )


async def test_capabilities_and_server_info(tmp_path):
    import asyncio
    import os

    from tests.lsp.harness import SERVER, TIMEOUT, make_client, stop

    root = write_project(tmp_path / "app", APP)
    client = make_client()
    await client.start_io(*SERVER, env=dict(os.environ))
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities(encodings=["utf-32", "utf-8"], pull=True),
                    workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="app")],
                )
            ),
            TIMEOUT,
        )
        assert result.server_info is not None
        assert result.server_info.name == "convex-xray"
        assert result.server_info.version == __version__
        caps = result.capabilities
        assert caps.position_encoding == "utf-32"  # the client's first supported preference
        sync = caps.text_document_sync
        assert isinstance(sync, types.TextDocumentSyncOptions)
        assert sync.change == types.TextDocumentSyncKind.Incremental
        assert caps.diagnostic_provider is not None
        assert caps.diagnostic_provider.inter_file_dependencies is True
        assert caps.diagnostic_provider.workspace_diagnostics is True
        assert caps.code_action_provider.resolve_provider is True
        assert set(caps.code_action_provider.code_action_kinds) == {
            "quickfix",
            "source.fixAll.convex-xray",
        }
        # Only server-side commands: client commands (restart, showOutput...) are the client's.
        assert sorted(caps.execute_command_provider.commands) == [
            "convex-xray.applyAllFixes",
            "convex-xray.showRuleDocumentation",
        ]
        assert caps.code_lens_provider is not None
        assert caps.definition_provider and caps.hover_provider and caps.references_provider
        assert set(caps.completion_provider.trigger_characters) == {'"', "'"}
        await client.wait_until(
            lambda: any(s["state"] == "ready" for s in client.statuses), "ready"
        )
        # Dynamic registration of the file watchers (the client said it supports it).
        watch = next(
            r for r in client.registrations if r.method == "workspace/didChangeWatchedFiles"
        )
        globs = {w["globPattern"] for w in watch.register_options["watchers"]}
        assert {"**/convex.json", "**/convex-xray.toml", "**/schema.{ts,js,mts,mjs}"} <= globs
        # Indexing reported work-done progress: begin ... end.
        reports = [r for token, rs in client.progress_reports.items() for r in rs]
        assert reports and reports[0].kind == "begin" and reports[-1].kind == "end"
    finally:
        await stop(client)


async def test_encoding_follows_the_client_preference(start, tmp_path):
    root = write_project(tmp_path / "app", APP)
    session = await start(root, caps=capabilities(encodings=["utf-8", "utf-16"]))
    assert session.encoding == "utf-8"


async def test_push_clients_get_no_pull_provider(tmp_path):
    """Pull diagnostics need workspace/diagnostic/refresh (results depend on other files): a
    client that can pull but not refresh (Neovim) gets pushed diagnostics only."""
    import asyncio
    import os

    from tests.lsp.harness import SERVER, TIMEOUT, make_client, stop

    root = write_project(tmp_path / "app", APP)
    caps = capabilities(pull=True)
    caps.workspace.diagnostics = None
    client = make_client()
    await client.start_io(*SERVER, env=dict(os.environ))
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=caps,
                    workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="app")],
                )
            ),
            TIMEOUT,
        )
        assert result.capabilities.diagnostic_provider is None
        assert result.capabilities.position_encoding == "utf-16"  # no preference given
    finally:
        await stop(client)


async def test_status_goes_indexing_then_ready(start, tmp_path):
    root = write_project(tmp_path / "app", APP)
    session = await start(root)
    states = [s["state"] for s in session.client.statuses]
    assert states[0] == "indexing"
    assert states[-1] == "ready"
    assert all(0 <= s.get("percent", 0) <= 100 for s in session.client.statuses)


async def test_tcp_transport(tmp_path):
    """`convex-xray lsp --tcp HOST:PORT` serves the same protocol over a socket."""
    import asyncio
    import contextlib
    import re
    import sys

    from tests.lsp.harness import TIMEOUT, make_client

    root = write_project(tmp_path / "app", APP)
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "convex_xray",
        "lsp",
        "--tcp",
        "127.0.0.1:0",
        "-v",
        stderr=asyncio.subprocess.PIPE,
    )
    client = make_client()
    try:
        port = None
        while port is None:  # pygls logs the bound address once it listens
            line = await asyncio.wait_for(server.stderr.readline(), TIMEOUT)
            assert line, "the server exited before listening"
            match = re.search(rb"Serving on .*?(\d+)\)", line)
            port = int(match.group(1)) if match else None
        await client.start_tcp("127.0.0.1", port)
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities(),
                    workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="app")],
                )
            ),
            TIMEOUT,
        )
        assert result.server_info.name == "convex-xray"
        uri = (root / "convex" / "posts.ts").resolve().as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(
                    uri=uri,
                    language_id="typescript",
                    version=1,
                    text=(root / "convex" / "posts.ts").read_text(),
                )
            )
        )
        diagnostics = await client.diagnostics_for(uri, version=1)
        assert "unbounded-collect" in {d.code for d in diagnostics}
        await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
        client.exit(None)
    finally:
        server.kill()
        await server.wait()
        with contextlib.suppress(ConnectionError):  # the socket went with the server
            await asyncio.wait_for(client.stop(), TIMEOUT)


def test_ready_counts_match_a_walk_of_every_file_after_each_change(tmp_path):
    """`notify_ready` keeps the closed files' counts between keystrokes (`closed_counts`); after
    every kind of change that can move them (a closed file's result kept, a document opened
    or closed, what an open document shows) they equal a walk of every file."""
    import asyncio
    from collections import Counter

    from convex_xray.engine.findings import Severity
    from convex_xray.lsp.server import create_server
    from convex_xray.lsp.session import Document, Folder
    from convex_xray.lsp.settings import Settings

    root = write_project(tmp_path / "app", APP)
    server = create_server()
    folder = Folder(root, root.as_uri(), Settings())
    folder.discover()
    server.folders = [folder]
    event = asyncio.Event()
    event.set()
    server.indexed_events[id(folder)] = event
    server.notify_status = lambda state, **fields: None  # type: ignore[method-assign]
    (project,) = folder.projects
    files = project.workspace.files()
    results = {path: project.check(path)[0] for path in files}

    def walked() -> dict[str, int]:
        counts: Counter[Severity] = Counter()
        for path in files:
            doc = server.open_doc(path)
            found = doc.shown if doc is not None else server.workspace_results.get(path, (None, None, []))[2]
            counts.update(f.severity for f in found)
        return {"files": len(files), "diagnostics": sum(counts.values()), **{f"{s.label}s": counts[s] for s in Severity}}

    def sent() -> dict[str, int] | None:
        server.notify_ready()
        return server.ready_sent

    posts = next(p for p in files if p.name == "posts.ts")
    users = next(p for p in files if p.name == "users.ts")
    assert results[posts]  # the app's problems are in posts.ts
    for path in files:
        server.keep_result(path, ((), "1", results[path]))
    assert sent() == walked() and walked()["diagnostics"] == len(results[posts]) + len(results[users])
    source = project.workspace.source(posts)
    assert source is not None
    doc = Document(posts.as_uri(), posts, source, project=project, version=1)
    server.documents[doc.uri] = doc
    doc.shown = []  # opened, then edited until its problems are gone
    assert sent() == walked() and walked()["diagnostics"] == len(results[users])
    doc.shown = results[posts][:1]
    assert sent() == walked() and walked()["diagnostics"] == len(results[users]) + 1
    server.keep_result(users, ((), "2", results[posts] + results[users]))  # a closed file re-checked
    assert sent() == walked()
    del server.documents[doc.uri]  # closed: the file's own result counts again
    assert sent() == walked() and walked()["diagnostics"] == 2 * len(results[posts]) + len(results[users])
