"""The server under load: bursts of edits are coalesced (never a publish for a version the
client has already replaced), requests cancelled by the client are answered as cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
from collections.abc import Iterator
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from convex_xray.engine.findings import Finding, Severity, Span
from convex_xray.engine.source import LineIndex, SourceFile, TextChange
from convex_xray.lsp.incremental import Carried, line_shifts, shift_findings
from convex_xray.lsp.session import Folder
from convex_xray.lsp.settings import Settings
from tests.lsp.harness import TIMEOUT, capabilities, position_at
from tests.support.project import write_project

FUNCTIONS = 24


def _module(functions: int = FUNCTIONS) -> str:
    """Many Convex functions, each with one unbounded `.collect()`: a check that takes a while."""
    parts = ['import { query } from "./_generated/server";\n']
    for number in range(functions):
        parts.append(
            f"""
export const list{number} = query({{
  args: {{}},
  handler: async (ctx) => {{
    const rows = await ctx.db.query("posts").collect();
    return rows.length + {number};
  }},
}});
"""
        )
    return "".join(parts)


async def test_a_burst_of_edits_publishes_only_the_settled_version(start, tmp_path):
    root = write_project(tmp_path / "app", {"many.ts": _module()})
    session = await start(root)
    client = session.client
    uri = session.open("convex/many.ts")
    first = await client.diagnostics_for(uri, version=1)
    per_function = len(first) // FUNCTIONS  # (the same query in each: the same findings)
    assert per_function >= 1 and len(first) == per_function * FUNCTIONS
    before = len(client.published)
    # A comment typed into one handler a character at a time, all sent back to back, then
    # a real change: the last version drops one function's finding.
    typed = "// typing fast, every keystroke its own version"
    anchor = "return rows.length + 12;"
    for number, character in enumerate(typed):
        session.insert(uri, anchor, character, delta=len(anchor) + 1 + number)
    final = session.replace(uri, 'ctx.db.query("posts").collect()', "[]", occurrence=3)
    diagnostics = await client.diagnostics_for(uri, version=final, after=before)
    assert len(diagnostics) == per_function * (FUNCTIONS - 1)
    await session.roundtrip()
    versions = [p.version for p in client.published[before:] if p.uri == uri]
    assert versions and set(versions) == {final}, versions  # never an overtaken version
    assert len(versions) <= 2  # the fast check, and at most one reconcile that changed it


@contextlib.contextmanager
def _one_write(protocol, await_later: list[asyncio.Future[Any]]) -> Iterator[None]:
    """Hold what the client sends inside the block and write it to the server at once
    (`await_later` gets the write to await, for writers that are coroutines)."""
    writer = protocol.writer
    held: list[bytes] = []

    class Holder:
        def write(self, data: bytes) -> None:
            held.append(data)

    protocol.writer = Holder()
    try:
        yield
    finally:
        protocol.writer = writer
        result = writer.write(b"".join(held))
        if inspect.isawaitable(result):
            await_later.append(asyncio.ensure_future(result))


async def _cancelled(session, busy_uri: str, method: str, params, msg_id: str):
    """Keep the server busy (an edit of a long document, then a pull that checks it), send
    `method` and cancel it straight away, as an editor does when the user moves on; the
    server's answer."""
    protocol = session.client.protocol
    text = session.texts[busy_uri]
    whole = types.Range(start=types.Position(0, 0), end=position_at(text, len(text)))
    session.change(busy_uri, [(whole, text + " ")])  # a new text throughout: a full check
    busy = session.client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=busy_uri))
    )
    # The request and its cancellation leave in one write, so the server reads them in one
    # chunk: its reader notes the cancellation before the loop can dispatch the request,
    # however the machine schedules the two processes (no race against the busy check).
    writes: list[asyncio.Future[Any]] = []
    with _one_write(protocol, writes):
        future = asyncio.wrap_future(protocol.send_request(method, params, msg_id=msg_id))
        protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    await asyncio.gather(*writes)
    await asyncio.wait_for(busy, TIMEOUT)
    try:
        return await asyncio.wait_for(future, TIMEOUT)
    except JsonRpcRequestCancelled as error:
        return error


async def test_cancelled_requests_are_answered_cancelled(start, tmp_path):
    files = {"many.ts": _module(), "heavy.ts": _module(FUNCTIONS * 10)}
    root = write_project(tmp_path / "app", files)
    session = await start(root, caps=capabilities(pull=True))
    uri = session.open("convex/many.ts")
    heavy = session.open("convex/heavy.ts")
    document = types.TextDocumentIdentifier(uri=uri)
    everything = types.Range(start=types.Position(0, 0), end=types.Position(200, 0))
    requests = [
        (types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensParams(text_document=document)),
        (
            types.TEXT_DOCUMENT_CODE_ACTION,
            types.CodeActionParams(
                text_document=document,
                range=everything,
                context=types.CodeActionContext(diagnostics=[]),
            ),
        ),
        (types.TEXT_DOCUMENT_DIAGNOSTIC, types.DocumentDiagnosticParams(text_document=document)),
    ]
    for number, (method, params) in enumerate(requests):
        answer = await _cancelled(session, heavy, method, params, f"cancel-me-{number}")
        assert isinstance(answer, JsonRpcRequestCancelled), (method, answer)
    # Not cancelled, the same request is answered.
    report = await asyncio.wait_for(
        session.client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=document)
        ),
        TIMEOUT,
    )
    assert report.items and len(report.items) % FUNCTIONS == 0


# -- the pieces that make a burst cheap ----------------------------------------------------------


def test_derived_line_index_equals_a_fresh_one():
    rng = random.Random(7)
    for _ in range(2000):
        data = bytes(rng.choice(b"ab\n") for _ in range(rng.randint(0, 40)))
        start = rng.randint(0, len(data))
        end = rng.randint(start, len(data))
        new = bytes(rng.choice(b"xy\n") for _ in range(rng.randint(0, 6)))
        after = data[:start] + new + data[end:]
        derived = LineIndex(data).edited(start, end, new, after)
        assert derived is not None
        assert derived.line_starts == LineIndex(after).line_starts
    assert LineIndex(b"a\r\nb").edited(0, 1, b"c", b"c\r\nb") is None  # `\r`: built afresh


@pytest.mark.parametrize("seed", range(40))
def test_carried_findings_equal_shifting_edit_by_edit(seed, tmp_path):
    """Queued (and merged) edits move findings exactly as shifting after every edit does."""
    rng = random.Random(seed)
    path = tmp_path / "a.ts"
    data = "".join(rng.choice("ab \n") for _ in range(200)).encode()
    findings = []
    for number in range(12):
        start = rng.randint(0, 190)
        findings.append(
            Finding(
                rule="unbounded-collect",
                code="XR",
                severity=Severity.WARNING,
                span=Span(path, start, start + rng.randint(0, 10)),
                message=f"see line {number + 1}",
            )
        )
    carried = Carried(path, findings)
    eager = list(findings)
    cursor = rng.randint(0, len(data))
    for _ in range(60):
        if rng.random() < 0.7:  # typing or deleting at the cursor: merges
            if rng.random() < 0.8 or cursor == 0:
                change = TextChange(cursor, cursor, rng.choice(["x", "\n", "é"]))
            else:
                change = TextChange(cursor - 1, cursor, "")
        else:  # somewhere else
            cursor = rng.randint(0, len(data))
            change = TextChange(cursor, min(len(data), cursor + rng.randint(0, 3)), "y")
        shifts = line_shifts(data, [change])
        eager = shift_findings(eager, path, [change], shifts)
        carried.edit([change], shifts)
        new = change.text.encode()
        data = data[: change.start] + new + data[change.end :]
        cursor = change.start + len(new)
        if rng.random() < 0.1:
            assert carried.get() == eager
    assert carried.get() == eager


# -- cheap opens and closes ------------------------------------------------------------------------


def test_a_file_closed_unchanged_reuses_its_results_without_a_new_model(tmp_path):
    root = write_project(tmp_path / "app", {"many.ts": _module(3)})
    folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    project.indexed = True
    path = (root / "convex" / "many.ts").resolve()
    workspace = project.workspace
    before_key = project.result_key(path)
    project.workspace_findings([])  # every file's index usage, as after indexing
    # Opened and edited (a new snapshot replaces the file), then closed: the text on disk.
    original = workspace.source(path)
    assert original is not None
    edited = original.text.replace("rows.length", "rows.length ")
    project.set_source(SourceFile(path, edited))
    project.workspace_findings([])
    assert project.result_key(path) != before_key
    project.forget(path)
    project.workspace_findings([])
    assert workspace.cached_model(path) is None  # the disk text's usage summary was kept
    assert project.result_key(path) == before_key  # its closed results still apply


# -- what a long session keeps --------------------------------------------------------------------


async def test_notifications_leave_no_futures_behind():
    # pygls files a future per notification it runs through a generator (didOpen, didChange,
    # didClose...) that nothing removed: one per keystroke for the server's lifetime.
    from convex_xray.lsp.server import create_server

    protocol = create_server().protocol
    before = set(protocol._request_futures)
    for n in range(5):
        uri = f"file:///nowhere/convex/f{n}.ts"
        protocol._handle_notification(
            types.TEXT_DOCUMENT_DID_CLOSE,
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)),
        )
    await asyncio.sleep(0)  # (dropped on the loop's next turn)
    assert set(protocol._request_futures) == before


def test_the_inbox_forgets_a_closed_document():
    from convex_xray.lsp.inbox import Inbox

    inbox = Inbox()
    uri = "file:///app/convex/a.ts"
    for method, version in (("didOpen", 1), ("didChange", 2), ("didChange", 3)):
        inbox.note(
            f'{{"jsonrpc":"2.0","method":"textDocument/{method}","params":{{"textDocument":'
            f'{{"uri":"{uri}","version":{version}}}}}}}'.encode()
        )
    assert inbox.newer(uri, 2)
    inbox.note(
        f'{{"jsonrpc":"2.0","method":"textDocument/didClose","params":{{"textDocument":{{"uri":"{uri}"}}}}}}'.encode()
    )
    assert not inbox.newer(uri, 2)
    assert (inbox._latest, inbox._arrived, inbox._answered) == ({}, {}, {})  # nothing per document stays


def _change(inbox, uri: str, version: int) -> None:
    inbox.note(
        f'{{"jsonrpc":"2.0","method":"textDocument/didChange","params":{{"textDocument":'
        f'{{"uri":"{uri}","version":{version}}}}}}}'.encode()
    )


def test_an_edit_sent_after_the_answer_to_the_last_one_is_no_burst(monkeypatch):
    """A client that waits for each version's diagnostics before the next edit is not
    flooding the server, however fast both are: its edit is checked at once (no QUIET wait)."""
    import types as pytypes

    import convex_xray.lsp.inbox as inbox_module
    from convex_xray.lsp.inbox import BURST_GAP, Inbox

    now = [100.0]  # a clock of our own: every edit 1 ms after the one before
    monkeypatch.setattr(inbox_module, "time", pytypes.SimpleNamespace(monotonic=lambda: now[0]))
    inbox = Inbox()
    uri = "file:///app/convex/a.ts"
    _change(inbox, uri, 2)
    inbox.answered(uri, 2)
    now[0] += 0.001
    _change(inbox, uri, 3)  # 1 ms later, but after the answer to 2
    assert inbox.settling(uri) == 0.0
    now[0] += 0.001
    _change(inbox, uri, 4)  # 3 is not answered yet: a burst, checked once it goes quiet
    assert inbox._arrived[uri][1] < BURST_GAP
    assert inbox.settling(uri) == inbox_module.QUIET


def _notification(uri: str) -> bytes:
    return (
        f'{{"jsonrpc":"2.0","method":"textDocument/didClose","params":{{"textDocument":{{"uri":"{uri}"}}}}}}'
    ).encode()


async def _turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_indexing_lets_a_message_read_and_a_due_check_go_first():
    """Between two indexing steps, a message the reader has read but the loop has not handled
    (a `didOpen` on its way to its handler) and a document's check that is due run first."""
    import json

    from convex_xray.lsp.server import create_server

    server = create_server()
    body = _notification("file:///nowhere/convex/a.ts")
    server.inbox.note(body)  # read (the reader thread), not handled yet
    step = asyncio.ensure_future(server.editor_first())
    await _turns(20)
    assert not step.done()
    server.protocol.handle_message(json.loads(body, object_hook=server.protocol.structure_message))
    await _turns(3)
    assert step.done()

    check = asyncio.get_running_loop().create_future()  # a document's check, due
    server.due(check)
    step = asyncio.ensure_future(server.editor_first())
    await asyncio.sleep(0.01)
    assert not step.done()
    check.set_result(None)
    await asyncio.sleep(0.01)
    assert step.done() and not server.due_checks


async def test_indexing_is_not_held_back_by_a_message_never_handled(monkeypatch):
    """A body the loop never handles as a message (it does not parse) holds indexing back
    for a bounded moment once, not at every step."""
    import convex_xray.lsp.handlers.indexing as indexing
    from convex_xray.lsp.server import create_server

    monkeypatch.setattr(indexing, "EDITOR_FIRST_SECONDS", 0.02)
    server = create_server()
    server.inbox.note(b"{not json")
    assert server.inbox.unhandled()
    await asyncio.wait_for(server.editor_first(), 1.0)
    assert not server.inbox.unhandled()
    server.inbox.note(_notification("file:///nowhere/convex/b.ts"))
    assert server.inbox.unhandled()  # the next one counts again
