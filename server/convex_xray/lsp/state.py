"""The server's state and lookups: folders, open documents, client capabilities, tasks; messages to the user."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from convex_xray import __version__
from convex_xray.engine.findings import Edit, Finding, Severity
from convex_xray.engine.runner import RuleFailure
from convex_xray.engine.source import Encoding, LineIndex
from convex_xray.lsp import convert
from convex_xray.lsp.inbox import Inbox, ReadAheadReader
from convex_xray.lsp.session import (
    Document,
    Folder,
    Project,
    Serials,
)
from convex_xray.lsp.settings import Settings

log = logging.getLogger(__name__)


NAME = "convex-xray"


FIX_ALL_KIND = "source.fixAll.convex-xray"


STATUS_NOTIFICATION = "convexXray/status"


LIST_RULES_REQUEST = "convexXray/listRules"


APPLY_ALL_FIXES = "convex-xray.applyAllFixes"


SHOW_RULE_DOCUMENTATION = "convex-xray.showRuleDocumentation"


URI_CACHE_LIMIT = 100_000  # paths whose URI is remembered (bounded memory)


CATCH_UP_SECONDS = 0.0005  # a moment for the reader thread (`lsp/inbox`) to note what it read

# How long background work (indexing) waits, at most, for the client's messages and the open
# documents' checks to go first (`Indexing.editor_first`); then it proceeds anyway.
EDITOR_FIRST_SECONDS = 0.25


RECONCILE_SECONDS = 0.4  # idle time after a fast check before the full one


WATCH_GLOBS = (
    "**/schema.{ts,js,mts,mjs}",
    "**/convex.json",
    "**/convex-xray.toml",
    "**/tsconfig.json",
    "**/*.{ts,tsx,js,jsx,mts,cts,mjs,cjs}",
)


# What the `ready` status counts besides the open documents' findings: (files, closed files'
# problems per severity, how many times each open document's path is a project's file).
ReadyBasis = tuple[int, Counter[Severity], Counter[Path]]

CONFIG_FILES = frozenset({"convex-xray.toml", "convex.json", "tsconfig.json"})


def path_of(uri: str) -> Path | None:
    if not uri.startswith("file:"):
        return None
    fs_path = to_fs_path(uri)
    if fs_path is None:
        return None
    return Path(fs_path).resolve()


class ConvexXrayProtocol(LanguageServerProtocol):
    """pygls keeps its own copy of every open document; we keep parsed snapshots instead,
    so the built-in sync handlers only forward to ours (no second text to update per keystroke).

    pygls 2.1 also files the future of every notification it runs through a generator
    (didOpen, didChange, didClose, didSave, ...) and of every coroutine such a generator
    hands on under a fresh id in `_request_futures`, which only a response to a request
    empties: one future per keystroke, kept for the server's lifetime (900 after opening,
    editing and closing 300 files). Each such entry is dropped when its future is done."""

    def handle_message(self, message: Any) -> None:
        try:
            super().handle_message(message)
        finally:
            # (A notification's handler has run by now, a check it asked for is scheduled.)
            inbox = getattr(self._server, "inbox", None)
            if inbox is not None:
                inbox.handled()

    def _execute_handler(self, msg_id: Any, *args: Any, **kwargs: Any) -> None:
        super()._execute_handler(msg_id, *args, **kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            # (A request's own callback, added first, answers it and drops it before this.)
            future.add_done_callback(functools.partial(self._drop_future, msg_id))

    def _drop_future(self, msg_id: Any, future: Any) -> None:
        # On the next turn of the loop, not now: a cancelled future calls back at once, and
        # pygls cancels them while iterating over `_request_futures` (shutdown).
        with contextlib.suppress(RuntimeError):  # (no loop: a thread's future stays filed)
            asyncio.get_running_loop().call_soon(self._forget_future, msg_id, future)

    def _forget_future(self, msg_id: Any, future: Any) -> None:
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class ServerState(LanguageServer):
    """The server's state and lookups: folders, open documents, client capabilities, tasks; messages to the user."""

    def __init__(self) -> None:
        super().__init__(NAME, __version__, protocol_cls=ConvexXrayProtocol)
        self.encoding = Encoding.UTF16
        self.folders: list[Folder] = []
        self.serials = Serials()  # project serials and result ids, for this server's lifetime
        self.documents: dict[str, Document] = {}
        self.loose: dict[str, tuple[bytes, int | None]] = {}  # open non-Convex files: text only
        self.global_settings = Settings()
        self.pull = False
        self.configuration_support = False
        self.document_changes = False
        self.snippet_edits = False  # the client takes `SnippetTextEdit`s (LSP 3.18)
        self.resolve_edits = False
        self.refresh_support = False
        self.progress_support = False
        self.show_document_support = False
        self.hover_markdown = False
        self.completion_markdown = False
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        # Open documents' checks that are due (scheduled without a delay, or past it) and not
        # done: background work lets them run first (`Indexing.editor_first`).
        self.due_checks: set[asyncio.Future[Any]] = set()
        self.reconcile_tasks: dict[int, asyncio.Task[Any]] = {}
        self.indexing_tasks: dict[int, asyncio.Task[Any]] = {}
        self.indexed_events: dict[int, asyncio.Event] = {}
        self.published: dict[Path, tuple[str, int]] = {}  # closed files pushed: uri, count
        self.workspace_results: dict[Path, tuple[tuple, str, list[Finding]]] = {}
        # Bumped by every write to `workspace_results` (`keep_result`): the `ready` status's
        # count of closed files' problems is kept while it, the open documents and the file
        # lists stay the same (`Publisher.closed_counts`).
        self.results_revision = 0
        self.ready_basis: tuple[int, frozenset[Path], tuple[list[Path], ...], ReadyBasis] | None = None
        self.failures_reported: set[tuple[str, str]] = set()
        self.configured = asyncio.Event()
        self.gc_holds = 0
        self.messages_shown: set[str] = set()
        self.init_problems: list[str] = []
        self.inbox = Inbox()  # what the client has sent that the loop has not handled yet
        self.ready_sent: dict[str, int] | None = None  # the last `ready` status's counts
        # A closed file's URI (pygls' from_fs_path quotes it character by character: 13 us,
        # asked for each related location of each diagnostic on every keystroke).
        self.uris: dict[Path, str] = {}

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """pygls' stdio server, reading through `ReadAheadReader` (see `lsp/inbox`)."""
        self._stop_event = threading.Event()
        reader = ReadAheadReader(stdin or sys.stdin.buffer, self.inbox)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(
                run_async(
                    stop_event=self._stop_event,
                    reader=reader,
                    protocol=self.protocol,
                    logger=log,
                    error_handler=self.report_server_error,
                )
            )
        except BrokenPipeError:
            log.error("the connection to the client is lost: shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    async def still_wanted(self, uri: str) -> None:
        """A request handler's first safe point. Yields once (pygls cancels a waiting request
        task on `$/cancelRequest`), then gives up if the reader has already seen the request
        cancelled (`asyncio.CancelledError`: pygls answers RequestCancelled) or a newer
        version of the document (ContentModified: positions for a replaced text are useless)."""
        # Not `sleep(0)`: waiting in the loop's select releases the GIL, so the reader thread
        # notes what it read while the loop was busy (a cancel sent right after the request).
        await asyncio.sleep(CATCH_UP_SECONDS)
        self.raise_if_unwanted(uri)

    def raise_if_unwanted(self, uri: str) -> None:
        request = self.request_id()
        if request is not None and self.inbox.cancelled(request):
            raise asyncio.CancelledError
        doc = self.documents.get(uri)
        if doc is not None and self.inbox.newer(uri, doc.version):
            raise JsonRpcContentModified(f"{uri} changed since the request was sent")

    def request_id(self) -> int | str | None:
        """The id of the request the running task answers (pygls keeps its futures by id)."""
        task = asyncio.current_task()
        futures = getattr(self.protocol, "_request_futures", {})
        return next((key for key, future in futures.items() if future is task), None)

    def settings_for(self, project: Project | None) -> Settings:
        if project is None:
            return self.global_settings
        for folder in self.folders:
            if project in folder.projects:
                return folder.settings
        return self.global_settings

    def project_for(self, path: Path) -> Project | None:
        best: Project | None = None
        for folder in sorted(self.folders, key=lambda f: len(f.path.parts), reverse=True):
            if path.is_relative_to(folder.path):
                best = folder.project_for(path)
                if best is not None:
                    return best
        return best

    def keep_result(self, path: Path, result: tuple[tuple, str, list[Finding]]) -> None:
        """A closed file's findings as last checked (key, result id, findings)."""
        self.workspace_results[path] = result
        self.results_revision += 1

    def open_doc(self, path: Path) -> Document | None:
        for doc in self.documents.values():
            if doc.path == path:
                return doc
        return None

    def uri_for(self, path: Path) -> str:
        doc = self.open_doc(path)
        if doc is not None:
            return doc.uri  # (as the client spelt it)
        uri = self.uris.get(path)
        if uri is None:
            if len(self.uris) >= URI_CACHE_LIMIT:
                self.uris.clear()
            uri = self.uris[path] = from_fs_path(str(path)) or path.as_uri()
        return uri

    def lines_for(self, project: Project | None) -> Callable[[Path], LineIndex | None]:
        def lines(path: Path) -> LineIndex | None:
            doc = self.open_doc(path)
            if doc is not None:
                return doc.source.lines
            if project is None:
                return None
            source = project.workspace.source(path)
            return source.lines if source is not None else None

        return lines

    def version_for(self, path: Path) -> int | None:
        doc = self.open_doc(path)
        return doc.version if doc is not None else None

    def notify_status(self, state: str, **fields: int) -> None:
        self.protocol.notify(STATUS_NOTIFICATION, {"state": state, **fields})

    def show_problems(self, problems: Iterable[str]) -> None:
        for problem in problems:
            log.warning("%s", problem)
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Warning, message=problem)
            )
            if problem not in self.messages_shown:
                self.messages_shown.add(problem)
                self.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Warning, message=f"convex-xray: {problem}"
                    )
                )

    def report_failures(self, failures: Iterable[RuleFailure]) -> None:
        for failure in failures:
            where = str(failure.path) if failure.path else "the workspace"
            key = (failure.rule, where)
            if key in self.failures_reported:
                continue
            self.failures_reported.add(key)
            message = (
                f"rule {failure.rule} failed on {where} and was skipped there: {failure.error}"
            )
            log.error("%s", message)
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Error, message=message)
            )

    def workspace_edit(
        self, edits: Iterable[Edit], lines_for: Callable[[Path], LineIndex | None]
    ) -> types.WorkspaceEdit:
        return convert.workspace_edit(
            edits,
            self.encoding,
            lines_for=lines_for,
            uri_for=self.uri_for,
            version_for=self.version_for,
            document_changes=self.document_changes,
            snippets=self.snippet_edits,
        )
