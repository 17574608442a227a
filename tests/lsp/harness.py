"""End-to-end harness: the real server over stdio, driven by a pytest-lsp client.

Every wait is on a notification (or a request's answer) with a timeout; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

SERVER = [sys.executable, "-m", "convex_xray", "lsp"]
TIMEOUT = 30.0  # generous: CI machines are slow; a pass is usually milliseconds
HERE = Path(__file__).parent


class Client(LanguageClient):
    """A test client that records every notification it cares about and can wait for one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.statuses: list[dict[str, Any]] = []
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.registrations: list[types.Registration] = []
        self._changed = asyncio.Event()

    def bump(self) -> None:
        self._changed.set()

    async def wait_until(
        self, predicate: Callable[[], Any], what: str, timeout: float = TIMEOUT
    ) -> Any:
        """Wait until `predicate()` returns something truthy (checked after every notification)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def diagnostics_for(
        self, uri: str, version: int | None = None, *, after: int = 0
    ) -> list[types.Diagnostic]:
        """The diagnostics of the first publish for `uri` (with `version`, if given) that
        arrives after the `after`-th recorded publish."""

        def find() -> list[types.Diagnostic] | None:
            for params in self.published[after:]:
                if params.uri == uri and (version is None or params.version == version):
                    return list(params.diagnostics) or [_EMPTY]
            return None

        found = await self.wait_until(find, f"diagnostics for {uri} (version {version})")
        return [d for d in found if d is not _EMPTY]

    async def status(self, state: str, *, after: int = 0) -> dict[str, Any]:
        return await self.wait_until(
            lambda: next((s for s in self.statuses[after:] if s.get("state") == state), None),
            f"status {state}",
        )


_EMPTY = types.Diagnostic(
    range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)), message="<none>"
)


def _record_publish(client: Client, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)
    client.bump()


def _record_status(client: Client, params: Any) -> None:
    client.statuses.append(dict(params._asdict()) if hasattr(params, "_asdict") else dict(params))
    client.bump()


def _apply_edit(
    client: Client, params: types.ApplyWorkspaceEditParams
) -> types.ApplyWorkspaceEditResult:
    client.applied_edits.append(params)
    client.bump()
    return types.ApplyWorkspaceEditResult(applied=True)


def _register(client: Client, params: types.RegistrationParams) -> None:
    client.registrations.extend(params.registrations)
    client.bump()


def _log(client: Client, params: types.LogMessageParams) -> None:
    client.log_messages.append(params)
    client.bump()


def _show(client: Client, params: types.ShowMessageParams) -> None:
    client.messages.append(params)
    client.bump()


def _converter():
    """pygls' converter, except that a code action carrying a command stays a CodeAction
    (lsprotocol reads anything with a `command` key as a bare Command)."""
    converter = default_converter()

    def command_or_action(value: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)
        return converter.structure(value, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], command_or_action)  # noqa: UP007
    return converter


def make_client() -> Client:
    client = Client(converter_factory=_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record_publish
    features["convexXray/status"] = _record_status
    features[types.WORKSPACE_APPLY_EDIT] = _apply_edit
    features[types.CLIENT_REGISTER_CAPABILITY] = _register
    features[types.WINDOW_LOG_MESSAGE] = _log
    features[types.WINDOW_SHOW_MESSAGE] = _show
    register_lsp_features(client, features)
    return client


def capabilities(
    *,
    pull: bool = False,
    resolve: bool = True,
    encodings: list[str] | None = None,
    configuration: bool = False,
    document_changes: bool = True,
    snippet_edits: bool = False,
) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings)
        if encodings
        else None,
        window=types.WindowClientCapabilities(
            work_done_progress=True,
            show_document=types.ShowDocumentClientCapabilities(support=True),
        ),
        workspace=types.WorkspaceClientCapabilities(
            configuration=configuration,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(
                dynamic_registration=True
            ),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                dynamic_registration=True
            ),
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=document_changes, snippet_edit_support=snippet_edits or None
            ),
            apply_edit=True,
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
            if pull
            else None,
        ),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                version_support=True,
                related_information=True,
                code_description_support=True,
                data_support=True,
            ),
            diagnostic=types.DiagnosticClientCapabilities(related_document_support=True)
            if pull
            else None,
            hover=types.HoverClientCapabilities(
                content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]
            ),
            completion=types.CompletionClientCapabilities(
                completion_item=types.ClientCompletionItemOptions(
                    documentation_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]
                )
            ),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(
                        value_set=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll]
                    )
                ),
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
                if resolve
                else None,
                data_support=True,
                is_preferred_support=True,
            ),
        ),
    )


# -- positions, computed independently of the engine (plain str arithmetic) --------------------------

_BREAK = re.compile(r"\r\n|\r|\n")


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _BREAK.finditer(text))]


def position_at(text: str, index: int, encoding: str = "utf-16") -> types.Position:
    """The LSP position of character `index` of `text`."""
    starts = _line_starts(text)
    line = max(i for i, start in enumerate(starts) if start <= index)
    return types.Position(line=line, character=_units(text[starts[line] : index], encoding))


def index_at(text: str, position: types.Position, encoding: str = "utf-16") -> int:
    """The character index of an LSP position in `text`."""
    starts = _line_starts(text)
    if position.line >= len(starts):
        return len(text)
    start = starts[position.line]
    match = _BREAK.search(text, start)
    end = match.start() if match else len(text)
    units = 0
    for index in range(start, end):
        if units >= position.character:
            return index
        units += _units(text[index], encoding)
    return end


@dataclass
class Session:
    """A started server for one project, with its open documents' texts."""

    client: Client
    root: Path
    encoding: str = "utf-16"
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def uri(self, relative: str) -> str:
        return (self.root / relative).resolve().as_uri()

    def open(self, relative: str, text: str | None = None) -> str:
        uri = self.uri(relative)
        if text is None:
            with open(self.root / relative, encoding="utf-8", newline="") as handle:
                text = handle.read()
        self.texts[uri] = text
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="typescript", version=1, text=text)
            )
        )
        return uri

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        self.texts.pop(uri)

    def save(self, uri: str) -> None:
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def position(
        self, uri: str, needle: str, *, occurrence: int = 0, delta: int = 0
    ) -> types.Position:
        """Where `needle` (plus `delta` characters) is in the document, in the session's encoding."""
        text = self.texts[uri]
        index = -1
        for _ in range(occurrence + 1):
            index = text.index(needle, index + 1)
        return position_at(text, index + delta, self.encoding)

    def range_of(self, uri: str, needle: str, *, occurrence: int = 0) -> types.Range:
        return types.Range(
            start=self.position(uri, needle, occurrence=occurrence),
            end=self.position(uri, needle, occurrence=occurrence, delta=len(needle)),
        )

    def change(self, uri: str, changes: list[tuple[types.Range, str]]) -> int:
        """Send one didChange with these incremental changes (each in the text after the
        previous one, as LSP orders them) and mirror them locally; returns the new version."""
        text = self.texts[uri]
        events = []
        for change_range, new_text in changes:
            a = index_at(text, change_range.start, self.encoding)
            b = index_at(text, change_range.end, self.encoding)
            text = text[:a] + new_text + text[b:]
            events.append(types.TextDocumentContentChangePartial(range=change_range, text=new_text))
        self.texts[uri] = text
        version = self.versions[uri] + 1
        self.versions[uri] = version
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=events,
            )
        )
        return version

    def edit(self, uri: str, start: types.Position, end: types.Position, new_text: str) -> int:
        return self.change(uri, [(types.Range(start=start, end=end), new_text)])

    def insert(
        self, uri: str, needle: str, text: str, *, occurrence: int = 0, delta: int = 0
    ) -> int:
        at = self.position(uri, needle, occurrence=occurrence, delta=delta)
        return self.edit(uri, at, at, text)

    def replace(self, uri: str, needle: str, text: str, *, occurrence: int = 0) -> int:
        found = self.range_of(uri, needle, occurrence=occurrence)
        return self.edit(uri, found.start, found.end, text)

    def apply(self, uri: str, edits: list[types.TextEdit]) -> int:
        """Apply a code action's edits as one didChange, back to front (like an editor)."""
        ordered = sorted(
            edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
        )
        return self.change(uri, [(e.range, e.new_text) for e in ordered])

    async def roundtrip(self) -> None:
        """A request the server answers after everything sent before it was handled."""
        await asyncio.wait_for(
            self.client.protocol.send_request_async("convexXray/listRules", {}), TIMEOUT
        )


def edits_for(edit: types.WorkspaceEdit | None, uri: str) -> list[types.TextEdit]:
    """The text edits of a workspace edit for one document (document changes or a change map)."""
    if edit is None:
        return []
    found: list[types.TextEdit] = []
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri:
            found += [e for e in change.edits if isinstance(e, types.TextEdit)]
    for key, items in (edit.changes or {}).items():
        if key == uri:
            found += list(items)
    return found


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


Starter = Callable[..., Any]


@pytest_asyncio.fixture
async def start() -> AsyncIterator[Starter]:
    """`await start(root, ...)`: a server for the project at `root`, initialized; stopped at
    the end of the test."""
    clients: list[Client] = []

    async def _start(
        root: Path,
        *,
        caps: types.ClientCapabilities | None = None,
        init_options: Any = None,
        configuration: dict[str, Any] | None = None,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        folders: list[Path] | None = None,
        wait_ready: bool = True,
    ) -> Session:
        client = make_client()
        for scope, value in (configuration or {}).items():  # scope uri ("" = global) -> settings
            client.set_configuration(value, scope_uri=scope or None)
        server_env = {**os.environ, **(env or {})}
        await client.start_io(*(command or SERVER), env=server_env)
        clients.append(client)
        caps = caps or capabilities()
        result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=caps,
                    initialization_options=init_options,
                    workspace_folders=[
                        types.WorkspaceFolder(uri=f.resolve().as_uri(), name=f.name)
                        for f in (folders or [root])
                    ],
                )
            ),
            TIMEOUT,
        )
        encoding = str(result.capabilities.position_encoding or "utf-16")
        if wait_ready:
            await client.status("ready")
        return Session(client, root, encoding)

    yield _start
    for client in clients:
        await stop(client)


async def stop(client: Client) -> None:
    """Shut the server down politely; kill it if it does not go (a failed test must not hang)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
    server = client._server
    if server is not None and server.returncode is None:
        try:
            await asyncio.wait_for(server.wait(), 5)
        except TimeoutError:
            server.kill()
    await client.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
