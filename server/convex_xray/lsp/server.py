"""The pygls server: LSP in, engine calls, LSP out.

Handlers stay thin: they find the document's snapshot and project (`session`), ask the
engine, and convert (`convert`). Everything runs on the event loop thread, so the engine's
caches need no locks; long work (indexing a workspace) yields between files.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from convex_xray import __version__
from convex_xray.engine.findings import Applicability, Edit, Finding, Fix
from convex_xray.engine.registry import all_rules, resolve_rule
from convex_xray.engine.runner import RuleFailure
from convex_xray.engine.source import Encoding, LineIndex, SourceFile, is_source_path
from convex_xray.engine.suppressions import disable_comment_edit
from convex_xray.engine.workspace import SCHEMA_NAMES
from convex_xray.lsp import convert
from convex_xray.lsp.incremental import apply_changes
from convex_xray.lsp.lens import lenses
from convex_xray.lsp.navigation import Target, completions, definition, hover, references, target_at
from convex_xray.lsp.session import (
    CheckOutcome,
    Document,
    Folder,
    Project,
    check_document,
    minimal_edits,
    next_result_id,
    warm_up,
)
from convex_xray.lsp.settings import SECTION, RunMode, Settings, parse_settings

log = logging.getLogger(__name__)

NAME = "convex-xray"
FIX_ALL_KIND = "source.fixAll.convex-xray"
STATUS_NOTIFICATION = "convexXray/status"
LIST_RULES_REQUEST = "convexXray/listRules"
APPLY_ALL_FIXES = "convex-xray.applyAllFixes"
SHOW_RULE_DOCUMENTATION = "convex-xray.showRuleDocumentation"
RECONCILE_SECONDS = 0.4  # idle time after a fast check before the full one
WATCH_GLOBS = (
    "**/schema.{ts,js,mts,mjs}",
    "**/convex.json",
    "**/convex-xray.toml",
    "**/tsconfig.json",
    "**/*.{ts,tsx,js,jsx,mts,cts,mjs,cjs}",
)
CONFIG_FILES = frozenset({"convex-xray.toml", "convex.json", "tsconfig.json"})


class ConvexXrayProtocol(LanguageServerProtocol):
    """pygls keeps its own copy of every open document; we keep parsed snapshots instead,
    so the built-in sync handlers only forward to ours (no second text to update per keystroke)."""

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


def _path_of(uri: str) -> Path | None:
    if not uri.startswith("file:"):
        return None
    fs_path = to_fs_path(uri)
    if fs_path is None:
        return None
    return Path(fs_path).resolve()


def _kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    if only is None:
        return True
    return any(kind == o or kind.startswith(f"{o}.") for o in only)


class ConvexXrayServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(NAME, __version__, protocol_cls=ConvexXrayProtocol)
        self.encoding = Encoding.UTF16
        self.folders: list[Folder] = []
        self.documents: dict[str, Document] = {}
        self.loose: dict[str, tuple[bytes, int | None]] = {}  # open non-Convex files: text only
        self.global_settings = Settings()
        self.pull = False
        self.configuration_support = False
        self.document_changes = False
        self.resolve_edits = False
        self.refresh_support = False
        self.progress_support = False
        self.show_document_support = False
        self.hover_markdown = False
        self.completion_markdown = False
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._reconcile: dict[int, asyncio.Task[Any]] = {}
        self._indexing: dict[int, asyncio.Task[Any]] = {}
        self._indexed: dict[int, asyncio.Event] = {}
        self._published: dict[Path, tuple[str, int]] = {}  # closed files pushed: uri, count
        self._workspace_results: dict[Path, tuple[tuple, str, list[Finding]]] = {}
        self._failures_reported: set[tuple[str, str]] = set()
        self._configured = asyncio.Event()
        self._gc_holds = 0
        self._messages_shown: set[str] = set()
        self._init_problems: list[str] = []

    # -- helpers -----------------------------------------------------------------------------------

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

    def open_doc(self, path: Path) -> Document | None:
        for doc in self.documents.values():
            if doc.path == path:
                return doc
        return None

    def uri_for(self, path: Path) -> str:
        doc = self.open_doc(path)
        return doc.uri if doc is not None else (from_fs_path(str(path)) or path.as_uri())

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
            if problem not in self._messages_shown:
                self._messages_shown.add(problem)
                self.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Warning, message=f"convex-xray: {problem}"
                    )
                )

    def report_failures(self, failures: Iterable[RuleFailure]) -> None:
        for failure in failures:
            where = str(failure.path) if failure.path else "the workspace"
            key = (failure.rule, where)
            if key in self._failures_reported:
                continue
            self._failures_reported.add(key)
            message = (
                f"rule {failure.rule} failed on {where} and was skipped there: {failure.error}"
            )
            log.error("%s", message)
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Error, message=message)
            )

    def diagnostics(self, doc: Document, findings: Iterable[Finding]) -> list[types.Diagnostic]:
        lines = doc.source.lines
        lines_for = self.lines_for(doc.project)
        return [
            convert.diagnostic(
                f,
                lines,
                self.encoding,
                lines_for=lines_for,
                uri_for=self.uri_for,
                version=doc.version,
                key=f"{f.rule}:{f.span.start}:{f.span.end}",
            )
            for f in findings
            if f.path == doc.path
        ]

    def file_diagnostics(
        self, project: Project, path: Path, findings: Iterable[Finding]
    ) -> list[types.Diagnostic]:
        source = project.workspace.source(path)
        if source is None:
            return []
        lines_for = self.lines_for(project)
        return [
            convert.diagnostic(
                f,
                source.lines,
                self.encoding,
                lines_for=lines_for,
                uri_for=self.uri_for,
                version=None,
                key=f"{f.rule}:{f.span.start}:{f.span.end}",
            )
            for f in findings
            if f.path == path
        ]

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
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    def on_initialize(self, params: types.InitializeParams) -> None:
        caps = params.capabilities
        self.encoding = convert.encoding_of(self.protocol.workspace.position_encoding)
        text = caps.text_document
        workspace = caps.workspace
        # Pull diagnostics only with refresh support: results depend on other files (the
        # schema, helpers), and without refresh the server could not make the client ask again.
        self.refresh_support = bool(
            workspace and workspace.diagnostics and workspace.diagnostics.refresh_support
        )
        self.pull = bool(text and text.diagnostic is not None) and self.refresh_support
        self.configuration_support = bool(workspace and workspace.configuration)
        self.document_changes = bool(
            workspace and workspace.workspace_edit and workspace.workspace_edit.document_changes
        )
        resolve = text.code_action.resolve_support if text and text.code_action else None
        self.resolve_edits = bool(resolve and "edit" in resolve.properties)
        self.progress_support = bool(caps.window and caps.window.work_done_progress)
        hover_formats = text.hover.content_format if text and text.hover else None
        self.hover_markdown = bool(hover_formats and types.MarkupKind.Markdown in hover_formats)
        completion_item = text.completion.completion_item if text and text.completion else None
        self.completion_markdown = bool(
            completion_item
            and completion_item.documentation_format
            and types.MarkupKind.Markdown in completion_item.documentation_format
        )
        self.show_document_support = bool(
            caps.window and caps.window.show_document and caps.window.show_document.support
        )
        settings, problems = parse_settings(params.initialization_options)
        self.global_settings = settings
        self._init_problems = problems
        folders = list(params.workspace_folders or [])
        if not folders and params.root_uri:
            folders = [types.WorkspaceFolder(uri=params.root_uri, name="root")]
        elif not folders and params.root_path:
            folders = [types.WorkspaceFolder(uri=from_fs_path(params.root_path) or "", name="root")]
        for item in folders:
            path = _path_of(item.uri)
            if path is not None:
                self.folders.append(Folder(path, item.uri, settings))
        # Found now, not on `initialized`: documents may be opened before that is handled.
        for folder in self.folders:
            self._init_problems += folder.discover()
        if self.pull:
            self._register_pull()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # (called outside the event loop: nothing to overlap with)
        else:
            self._tasks["<warm-up>"] = asyncio.ensure_future(self._warm_up())
        log.info(
            "convex-xray %s: %d folder(s), encoding %s, %s diagnostics",
            __version__,
            len(self.folders),
            self.encoding.value,
            "pull" if self.pull else "push",
        )

    async def _warm_up(self) -> None:
        """Runs after the `initialize` response is sent, while the client digests it: pays
        the per-process costs (query compilation, lazy imports) and reads the schemas, one
        step per turn of the event loop, so that the first document's check (typically
        opened right after `initialized`) does not. Each step is work that check or the
        indexing would do anyway."""
        await asyncio.sleep(0)  # after the response is written
        # Long-lived objects, like indexing's (see `_index`): no cycle collection meanwhile.
        self._gc_holds += 1
        gc.disable()
        try:
            warm_up()
            for folder in list(self.folders):
                for project in list(folder.projects):
                    await asyncio.sleep(0)
                    project.workspace.app_schemas()
        except Exception:  # only an optimisation: the real checks report real problems
            log.debug("warm-up failed", exc_info=True)
        finally:
            self._tasks.pop("<warm-up>", None)
            self._gc_holds -= 1
            if self._gc_holds == 0:
                gc.enable()  # (indexing, when it runs, collects and freezes at its end)

    async def on_initialized(self) -> None:
        self.show_problems(self._init_problems)
        await self._register_dynamic()
        if self.configuration_support:
            for folder in await self._pull_settings():
                self.show_problems(folder.discover())
                self._reattach(folder)
        # Documents opened so far wait for this: no diagnostics under the wrong settings.
        self._configured.set()
        for folder in self.folders:
            self._start_indexing(folder)

    def _register_pull(self) -> None:
        """Advertise pull diagnostics (registered before the capabilities are computed)."""

        @self.feature(
            types.TEXT_DOCUMENT_DIAGNOSTIC,
            types.DiagnosticOptions(
                identifier=NAME, inter_file_dependencies=True, workspace_diagnostics=True
            ),
        )
        async def document_diagnostic(
            params: types.DocumentDiagnosticParams,
        ) -> types.DocumentDiagnosticReport:
            return await self.on_document_diagnostic(params)

        @self.feature(types.WORKSPACE_DIAGNOSTIC)
        async def workspace_diagnostic(
            params: types.WorkspaceDiagnosticParams,
        ) -> types.WorkspaceDiagnosticReport:
            return await self.on_workspace_diagnostic(params)

    async def _register_dynamic(self) -> None:
        caps = self.client_capabilities.workspace
        registrations = []
        if (
            caps
            and caps.did_change_watched_files
            and caps.did_change_watched_files.dynamic_registration
        ):
            registrations.append(
                types.Registration(
                    id=str(uuid.uuid4()),
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[
                            types.FileSystemWatcher(glob_pattern=glob) for glob in WATCH_GLOBS
                        ]
                    ),
                )
            )
        if (
            caps
            and caps.did_change_configuration
            and caps.did_change_configuration.dynamic_registration
        ):
            registrations.append(
                types.Registration(
                    id=str(uuid.uuid4()),
                    method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                    register_options=types.DidChangeConfigurationRegistrationOptions(
                        section=SECTION
                    ),
                )
            )
        if registrations:
            try:
                await self.client_register_capability_async(
                    types.RegistrationParams(registrations=registrations)
                )
            except Exception as error:  # a client may refuse; watching is then its own business
                log.warning("dynamic registration failed: %s", error)

    def on_shutdown(self) -> None:
        for task in [*self._tasks.values(), *self._reconcile.values(), *self._indexing.values()]:
            task.cancel()

    # -- settings ----------------------------------------------------------------------------------

    async def _pull_settings(self) -> list[Folder]:
        """Ask the client for the settings of every folder; returns those whose settings changed."""
        items = [types.ConfigurationItem(section=SECTION)] + [
            types.ConfigurationItem(scope_uri=folder.uri, section=SECTION)
            for folder in self.folders
        ]
        try:
            answers = await self.workspace_configuration_async(
                types.ConfigurationParams(items=items)
            )
        except Exception as error:
            log.warning("workspace/configuration failed: %s", error)
            return []
        answers = list(answers or [])
        problems: list[str] = []
        if answers and answers[0] is not None:
            self.global_settings, more = parse_settings(answers[0])
            problems += more
        changed: list[Folder] = []
        for folder, answer in zip(self.folders, answers[1:], strict=False):
            settings, more = (
                parse_settings(answer) if answer is not None else (self.global_settings, [])
            )
            problems += more
            if settings != folder.settings:
                folder.settings = settings
                changed.append(folder)
        self.show_problems(dict.fromkeys(problems))
        return changed

    async def _refresh_settings(self) -> None:
        for folder in await self._pull_settings():
            self._rebuild(folder)

    async def on_did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        if self.configuration_support:
            for folder in await self._pull_settings():
                self._rebuild(folder)
            return
        settings, problems = parse_settings(params.settings)
        self.show_problems(problems)
        self.global_settings = settings
        for folder in self.folders:
            if folder.settings != settings:
                folder.settings = settings
                self._rebuild(folder)

    def _rebuild(self, folder: Folder) -> None:
        """New projects for a folder (settings, config or roots changed): re-attach its open
        documents, re-check them and index again."""
        self.show_problems(folder.discover())
        self._reattach(folder)
        self._start_indexing(folder)

    def _reattach(self, folder: Folder) -> None:
        self._adopt_loose()
        for doc in self.documents.values():
            if doc.path.is_relative_to(folder.path):
                self._attach(doc)
                self._schedule(doc, 0)

    def _adopt_loose(self) -> None:
        """Open files that were not Convex code may be now (a root appeared, settings changed)."""
        for uri, (data, version) in list(self.loose.items()):
            path = _path_of(uri)
            if path is None or not is_source_path(path) or self.project_for(path) is None:
                continue
            del self.loose[uri]
            doc = Document(
                uri,
                path,
                SourceFile(
                    path, data.decode("utf-8", errors="replace"), version=version, data=data
                ),
                version=version,
            )
            self.documents[uri] = doc
            self._attach(doc)

    def _attach(self, doc: Document) -> None:
        project = self.project_for(doc.path)
        doc.project = project
        doc.replaced(doc.source)
        if project is not None:
            project.set_source(doc.source)
            project.touched()

    def on_did_change_workspace_folders(
        self, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        removed = {item.uri for item in params.event.removed}
        for folder in [f for f in self.folders if f.uri in removed]:
            task = self._indexing.pop(id(folder), None)
            if task is not None:
                task.cancel()
            self.folders.remove(folder)
        added = []
        for item in params.event.added:
            path = _path_of(item.uri)
            if path is not None:
                folder = Folder(path, item.uri, self.global_settings)
                self.folders.append(folder)
                added.append(folder)
        for doc in self.documents.values():
            if doc.project is None or not any(doc.project in f.projects for f in self.folders):
                self._attach(doc)
                if doc.project is None and not self.pull:
                    self.text_document_publish_diagnostics(
                        types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=[])
                    )
        for folder in added:
            self._rebuild(folder)
        if added and self.configuration_support:
            self._tasks["<settings>"] = asyncio.ensure_future(self._refresh_settings())

    # -- indexing ----------------------------------------------------------------------------------

    def _start_indexing(self, folder: Folder) -> None:
        key = id(folder)
        previous = self._indexing.pop(key, None)
        if previous is not None:
            previous.cancel()
        event = self._indexed.setdefault(key, asyncio.Event())
        event.clear()
        self._indexing[key] = asyncio.ensure_future(self._index(folder, event))

    async def _index(self, folder: Folder, done: asyncio.Event) -> None:
        # Indexing allocates millions of long-lived objects: collecting cycles meanwhile only
        # rescans them (about a third of the time). Afterwards they are frozen out of future
        # collections, which keeps full collections from pausing keystrokes.
        self._gc_holds += 1
        gc.disable()
        held = [True]
        try:
            await self._index_folder(folder, done, held)
        finally:
            if held[0]:
                self._release_gc()

    def _release_gc(self) -> None:
        self._gc_holds -= 1
        if self._gc_holds == 0:
            gc.unfreeze()  # what an earlier index froze may be garbage now
            gc.enable()
            gc.collect()
            gc.freeze()
            for folder in self.folders:
                for project in folder.projects:
                    project.frozen()
            _trim_heap()

    async def _index_folder(self, folder: Folder, done: asyncio.Event, held: list[bool]) -> None:
        started = time.perf_counter()
        token: str | None = None
        if self.progress_support:
            token = f"convex-xray-index-{uuid.uuid4()}"
            try:
                await self.work_done_progress.create_async(token)
                self.work_done_progress.begin(
                    token,
                    types.WorkDoneProgressBegin(
                        title="convex-xray", message="indexing Convex code", percentage=0
                    ),
                )
            except Exception as error:
                log.debug("work done progress refused: %s", error)
                token = None
        work = [
            (project, path) for project in folder.projects for path in project.workspace.files()
        ]
        total = len(work)
        self.notify_status("indexing", percent=0, files=total)
        last_report = time.perf_counter()
        try:
            for number, (project, path) in enumerate(work, 1):
                project.workspace.model(path)
                now = time.perf_counter()
                if now - last_report > 0.1:
                    last_report = now
                    percent = int(number * 90 / max(total, 1))
                    self.notify_status("indexing", percent=percent, files=total)
                    if token is not None:
                        self.work_done_progress.report(
                            token,
                            types.WorkDoneProgressReport(
                                message=f"{number}/{total} files", percentage=percent
                            ),
                        )
                await asyncio.sleep(0)  # let keystrokes through
            count = 0
            for project in folder.projects:
                project.indexed = True  # every file is read: workspace rules may run now
                count += await self._check_closed_files(project)
                project.touched(None)  # open documents: re-check with them
        except asyncio.CancelledError:
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="cancelled"))
            raise
        if token is not None:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{total} files"))
        elapsed = time.perf_counter() - started
        held[0] = False
        self._release_gc()  # before announcing it: the collection takes a moment
        log.info("indexed %d files in %.2fs", total, elapsed)
        done.set()
        self.notify_status("ready", files=total, diagnostics=count)
        if self.pull and self.refresh_support:
            self.workspace_diagnostic_refresh(None)
        # Open documents may have been checked against a half-read workspace.
        for doc in self.documents.values():
            if doc.project in folder.projects:
                self._schedule(doc, 0, full=True)

    async def _check_closed_files(self, project: Project) -> int:
        """Check every file that is not open (for workspace diagnostics), a batch at a time;
        returns the count of findings in the whole project."""
        files = project.workspace.files()
        total = 0
        batch = 16
        for start in range(0, len(files), batch):
            chunk = files[start : start + batch]
            todo = [
                path
                for path in chunk
                if self.open_doc(path) is None and not self._closed_fresh(project, path)
            ]
            if todo:
                results, failures = project.check_many(todo)
                self.report_failures(failures)
                for path, findings in results.items():
                    self._workspace_results[path] = (
                        self._closed_key(project, path),
                        str(next_result_id()),
                        findings,
                    )
            for path in chunk:
                doc = self.open_doc(path)
                if doc is not None:
                    total += len(doc.shown)
                    continue
                findings = self._closed_results(project, path)
                total += len(findings)
                if not self.pull:
                    self._push_closed(project, path, findings)
            await asyncio.sleep(0)
        return total

    def _closed_fresh(self, project: Project, path: Path) -> bool:
        cached = self._workspace_results.get(path)
        return cached is not None and cached[0] == self._closed_key(project, path)

    def _closed_key(self, project: Project, path: Path) -> tuple:
        return project.result_key(path)

    def _closed_results(self, project: Project, path: Path) -> list[Finding]:
        key = self._closed_key(project, path)
        cached = self._workspace_results.get(path)
        if cached is not None and cached[0] == key:
            return cached[2]
        findings, failures = project.check(path)
        self.report_failures(failures)
        self._workspace_results[path] = (key, str(next_result_id()), findings)
        return findings

    def _push_closed(self, project: Project, path: Path, findings: list[Finding]) -> None:
        uri = self.uri_for(path)
        before = self._published.get(path)
        if not findings and before is None:
            return
        diagnostics = self.file_diagnostics(project, path, findings)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )
        if diagnostics:
            self._published[path] = (uri, len(diagnostics))
        else:
            self._published.pop(path, None)

    # -- documents ---------------------------------------------------------------------------------

    def on_did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        path = _path_of(item.uri)
        project = self.project_for(path) if path is not None else None
        if path is None or project is None or not is_source_path(path):
            self.loose[item.uri] = (item.text.encode("utf-8"), item.version)
            return  # not Convex code: costs nothing
        data = item.text.encode("utf-8")
        known: list[Finding] | None = None
        existing = project.workspace.source(path) if path.exists() else None
        if existing is not None and existing.data == data:
            # As on disk: keep the indexed snapshot, its model and (if checked) its findings.
            source = existing
            cached = self._workspace_results.get(path)
            if cached is not None and cached[0] == self._closed_key(project, path):
                known = cached[2]
        else:
            source = SourceFile(path, item.text, version=item.version, data=data)
            project.set_source(source)
            project.touched(item.uri)
        doc = Document(item.uri, path, source, item.language_id, project, version=item.version)
        self.documents[item.uri] = doc
        self._published.pop(path, None)
        if known is not None and self._configured.is_set():
            self._publish(doc, self._check(doc, known=known))
        else:
            self._schedule(doc, 0, full=True)

    def on_did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        doc = self.documents.get(uri)
        if doc is None:
            loose = self.loose.get(uri)
            if loose is not None:
                self.loose[uri] = (
                    _apply_plain(loose[0], params.content_changes, self.encoding),
                    params.text_document.version,
                )
            return
        changes = convert.text_changes(doc.source, params.content_changes, self.encoding)
        source = apply_changes(doc.source, changes, params.text_document.version)
        doc.edited(source, changes, params.text_document.version)
        project = doc.project
        if project is not None:
            project.set_source(source)
            project.touched(uri)
            self._workspace_results.pop(doc.path, None)  # the saved file's: recomputed on close
        settings = self.settings_for(project)
        if self.pull:
            if project is not None and project.is_schema(doc.path):
                self._schedule_dependents(project, doc)
            return
        if settings.run is RunMode.ON_TYPE:
            self._schedule(doc, settings.debounce_ms)

    def on_did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        doc = self.documents.get(params.text_document.uri)
        if doc is None or doc.project is None:
            return
        doc.project.touched(doc.uri)
        if not self.pull:
            self._schedule(doc, 0)
        self._schedule_dependents(doc.project, doc)

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.loose.pop(uri, None)
        doc = self.documents.pop(uri, None)
        if doc is None:
            return
        task = self._tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        project = doc.project
        if project is None:
            return
        project.forget(doc.path)  # the file on disk is the truth again
        project.touched(uri)
        if self.pull:
            return
        if project.indexed and doc.path.exists() and project.owns(doc.path):
            # The Problems panel keeps showing the whole app: the saved file's findings.
            findings = self._closed_results(project, doc.path)
            diagnostics = self.file_diagnostics(project, doc.path, findings)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
            )
            if diagnostics:
                self._published[doc.path] = (uri, len(diagnostics))
        else:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )
        self._schedule_dependents(project, None)

    # -- checking and publishing ----------------------------------------------------------------------

    def _schedule(self, doc: Document, delay_ms: int, *, full: bool = False) -> None:
        if self.pull:
            return
        previous = self._tasks.pop(doc.uri, None)
        if previous is not None and not previous.done():
            previous.cancel()
            full = full or getattr(previous, "full", False)
        task = asyncio.ensure_future(self._check_later(doc, doc.version, delay_ms, full))
        task.full = full  # type: ignore[attr-defined]
        self._tasks[doc.uri] = task

    async def _check_later(
        self, doc: Document, version: int | None, delay_ms: int, full: bool
    ) -> None:
        if not self._configured.is_set():
            await self._configured.wait()
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        if not self._current(doc, version):
            return  # a newer version is on its way
        outcome = self._check(doc, full=full)
        if outcome is None or doc.version != version:
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=doc.uri,
                diagnostics=self.diagnostics(doc, outcome.findings),
                version=doc.version,
            )
        )
        project = doc.project
        if project is None:
            return
        if project.is_schema(doc.path):
            self._schedule_dependents(project, doc)
        elif outcome.fast:
            self._schedule_reconcile(project)

    def _current(self, doc: Document, version: int | None) -> bool:
        return doc.version == version and self.documents.get(doc.uri) is doc

    def _publish(self, doc: Document, outcome: CheckOutcome | None) -> None:
        if outcome is None or self.pull:
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=doc.uri,
                diagnostics=self.diagnostics(doc, outcome.findings),
                version=doc.version,
            )
        )

    def _check(
        self, doc: Document, *, full: bool = False, known: list[Finding] | None = None
    ) -> CheckOutcome | None:
        try:
            outcome = check_document(doc, full=full, known=known)
        except Exception:  # never let a check take the server down; keep what is shown
            log.exception("checking %s failed", doc.path)
            return None
        self.report_failures(outcome.failures)
        return outcome

    def _schedule_dependents(self, project: Project, changed: Document | None) -> None:
        """Re-check every other open document of the project (schema or helper changed),
        after the changed document itself; superseded by newer edits."""
        self._schedule_reconcile(project, delay=0.0)

    def _schedule_reconcile(self, project: Project, *, delay: float = RECONCILE_SECONDS) -> None:
        key = id(project)
        previous = self._reconcile.pop(key, None)
        if previous is not None and not previous.done():
            previous.cancel()
        self._reconcile[key] = asyncio.ensure_future(self._reconcile_later(project, delay))

    async def _reconcile_later(self, project: Project, delay: float) -> None:
        await asyncio.sleep(delay)
        changed = False
        for doc in list(self.documents.values()):
            if doc.project is not project:
                continue
            if (
                doc.checked_version == doc.version
                and not doc.full_pending
                and doc.checked_generation == project.generation
            ):
                continue
            before = [_identity(f) for f in doc.shown]
            shown_version = doc.checked_version
            outcome = self._check(doc, full=True)
            if outcome is None:
                continue
            if [_identity(f) for f in outcome.findings] != before or shown_version != doc.version:
                changed = True
                if not self.pull:
                    self.text_document_publish_diagnostics(
                        types.PublishDiagnosticsParams(
                            uri=doc.uri,
                            diagnostics=self.diagnostics(doc, outcome.findings),
                            version=doc.version,
                        )
                    )
            await asyncio.sleep(0)
        if not project.indexed:
            return
        # Closed files: their results depend on the schema and on workspace rules.
        failures: list[RuleFailure] = []
        project.workspace_findings(failures)
        self.report_failures(failures)
        stale = [
            path
            for path in project.workspace.files()
            if self.open_doc(path) is None and not self._closed_fresh(project, path)
        ]
        if self.pull:
            # Pull clients ask again (workspace/diagnostic recomputes what is stale).
            if (changed or stale) and self.refresh_support:
                self.workspace_diagnostic_refresh(None)
            return
        for path in stale:
            self._push_closed(project, path, self._closed_results(project, path))
            await asyncio.sleep(0)

    # -- watched files -----------------------------------------------------------------------------

    def on_did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        rebuild: set[int] = set()
        touched: set[int] = set()
        for event in params.changes:
            path = _path_of(event.uri)
            if path is None:
                continue
            for folder in self.folders:
                if not path.is_relative_to(folder.path):
                    continue
                if path.name in CONFIG_FILES or (
                    path.name in SCHEMA_NAMES and event.type is not types.FileChangeType.Changed
                ):
                    rebuild.add(id(folder))
                    continue
                project = folder.project_for(path)
                if project is None or not is_source_path(path):
                    continue
                if event.type is types.FileChangeType.Changed and self.open_doc(path) is not None:
                    continue  # saved from the editor: its buffer is already what counts
                if self.open_doc(path) is None:
                    project.forget(path)
                if event.type is not types.FileChangeType.Changed:
                    project.workspace.invalidate_file_list()
                project.touched(None, on_disk=True)
                touched.add(id(project))
        for folder in self.folders:
            if id(folder) in rebuild:
                self._rebuild(folder)
                continue
            for project in folder.projects:
                if id(project) in touched:
                    self._schedule_reconcile(project, delay=0.0)

    # -- pull diagnostics ---------------------------------------------------------------------------

    async def on_document_diagnostic(
        self, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        await self._configured.wait()
        uri = params.text_document.uri
        doc = self.documents.get(uri)
        if doc is None or doc.project is None:
            path = _path_of(uri)
            project = self.project_for(path) if path is not None else None
            if path is None or project is None:
                return types.RelatedFullDocumentDiagnosticReport(items=[])
            findings = self._closed_results(project, path)
            result_id = self._workspace_results[path][1]
            if params.previous_result_id == result_id:
                return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
            return types.RelatedFullDocumentDiagnosticReport(
                items=self.file_diagnostics(project, path, findings), result_id=result_id
            )
        project = doc.project
        settings = self.settings_for(project)
        stale = doc.checked_version != doc.version or doc.checked_generation != project.generation
        if stale and (settings.run is RunMode.ON_TYPE or doc.checked_version is None):
            outcome = self._check(doc)
            if outcome is not None and outcome.fast:
                self._schedule_reconcile(project)
        result_id = str(doc.result_id)
        if params.previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.RelatedFullDocumentDiagnosticReport(
            items=self.diagnostics(doc, doc.shown), result_id=result_id
        )

    async def on_workspace_diagnostic(
        self, params: types.WorkspaceDiagnosticParams
    ) -> types.WorkspaceDiagnosticReport:
        previous = {item.uri: item.value for item in params.previous_result_ids}
        for folder in self.folders:
            event = self._indexed.get(id(folder))
            if event is not None:
                await event.wait()
        items: list[
            types.WorkspaceFullDocumentDiagnosticReport
            | types.WorkspaceUnchangedDocumentDiagnosticReport
        ] = []
        for folder in self.folders:
            for project in folder.projects:
                for number, path in enumerate(project.workspace.files()):
                    if self.open_doc(path) is not None:
                        continue
                    findings = self._closed_results(project, path)
                    uri = self.uri_for(path)
                    result_id = self._workspace_results[path][1]
                    if previous.get(uri) == result_id:
                        items.append(
                            types.WorkspaceUnchangedDocumentDiagnosticReport(
                                uri=uri, result_id=result_id
                            )
                        )
                    else:
                        items.append(
                            types.WorkspaceFullDocumentDiagnosticReport(
                                uri=uri,
                                items=self.file_diagnostics(project, path, findings),
                                result_id=result_id,
                            )
                        )
                    if number % 16 == 15:
                        await asyncio.sleep(0)
        return types.WorkspaceDiagnosticReport(items=items)

    # -- code actions ---------------------------------------------------------------------------------

    def _finding_for(self, doc: Document, diagnostic: types.Diagnostic) -> Finding | None:
        lines = doc.source.lines
        start = convert.offset_of(lines, diagnostic.range.start, self.encoding)
        end = convert.offset_of(lines, diagnostic.range.end, self.encoding)
        same_rule = [f for f in doc.shown if f.rule == diagnostic.code and f.path == doc.path]
        for finding in same_rule:
            if finding.span.start == start and finding.span.end == end:
                return finding
        overlapping = [f for f in same_rule if f.span.start <= end and start <= f.span.end]
        return overlapping[0] if len(overlapping) == 1 else None

    def on_code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        doc = self.documents.get(params.text_document.uri)
        if doc is None or doc.project is None:
            return None
        only = params.context.only
        actions: list[types.CodeAction] = []
        if _kind_wanted(types.CodeActionKind.QuickFix, only):
            for diagnostic in params.context.diagnostics:
                if diagnostic.source != convert.SOURCE or not isinstance(diagnostic.code, str):
                    continue
                actions += self._quick_fixes(doc, diagnostic)
        settings = self.settings_for(doc.project)
        wants_fix_all = only is not None and _kind_wanted(FIX_ALL_KIND, only)
        fixable = any(
            f.fix is not None
            and f.fix.edits
            and (
                f.fix.applicability is Applicability.SAFE
                or (settings.unsafe_fixes and f.fix.applicability is Applicability.UNSAFE)
            )
            for f in doc.shown
        )
        if wants_fix_all or (only is None and fixable):
            action = types.CodeAction(
                title="Fix all convex-xray problems"
                + (" (including unsafe fixes)" if settings.unsafe_fixes else ""),
                kind=FIX_ALL_KIND,
                data={"uri": doc.uri, "version": doc.version, "type": "fixAll"},
            )
            if not self.resolve_edits:
                action.edit = self._fix_all_edit(doc)
                action.data = None
            actions.append(action)
        return actions

    def _quick_fixes(self, doc: Document, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        slug = str(diagnostic.code)
        finding = self._finding_for(doc, diagnostic)
        actions: list[types.CodeAction] = []
        if finding is not None:
            for number, fix in enumerate([finding.fix, *finding.alternatives]):
                if fix is None:
                    continue
                action = types.CodeAction(
                    title=convert.fix_title(fix),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=True
                    if number == 0 and fix.applicability is Applicability.SAFE
                    else None,
                )
                if fix.applicability is not Applicability.DISPLAY_ONLY and fix.edits:
                    if self.resolve_edits:
                        action.data = {
                            "uri": doc.uri,
                            "version": doc.version,
                            "type": "fix",
                            "rule": finding.rule,
                            "start": finding.span.start,
                            "end": finding.span.end,
                            "fix": number,
                        }
                    else:
                        action.edit = self._fix_edit(doc, fix)
                actions.append(action)
            anchor = finding.span.start
        else:
            anchor = convert.offset_of(doc.source.lines, diagnostic.range.start, self.encoding)
        rule = resolve_rule(slug)
        if rule is None:
            return actions
        edit = disable_comment_edit(doc.source, anchor, rule.meta.slug)
        actions.append(
            types.CodeAction(
                title=f"Disable {rule.meta.slug} for this line",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                edit=self.workspace_edit([edit], self.lines_for(doc.project)),
            )
        )
        actions.append(
            types.CodeAction(
                title=f"Show documentation for {rule.meta.slug}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                command=types.Command(
                    title=f"Show documentation for {rule.meta.slug}",
                    command=SHOW_RULE_DOCUMENTATION,
                    arguments=[rule.meta.slug],
                ),
            )
        )
        return actions

    def _fix_edit(self, doc: Document, fix: Fix) -> types.WorkspaceEdit:
        return self.workspace_edit(fix.edits, self.lines_for(doc.project))

    def _fix_all_edit(
        self, doc: Document, *, unsafe: bool | None = None
    ) -> types.WorkspaceEdit | None:
        project = doc.project
        if project is None:
            return None
        if unsafe is None:
            unsafe = self.settings_for(project).unsafe_fixes
        changed, _ = project.fix_all(doc.path, unsafe=unsafe)
        if not changed:
            return None
        edits: list[Edit] = []
        snapshots: dict[Path, LineIndex] = {}
        for path, (before, after) in changed.items():
            edits += minimal_edits(path, before.data, after)
            snapshots[path] = before.lines
        return self.workspace_edit(edits, snapshots.get)

    def on_code_action_resolve(self, action: types.CodeAction) -> types.CodeAction:
        data = action.data
        if not isinstance(data, dict) or "uri" not in data:
            return action
        doc = self.documents.get(data["uri"])
        if doc is None or doc.version != data.get("version"):
            raise JsonRpcContentModified(
                f"{data['uri']} changed since this code action was offered (version {data.get('version')}); request it again"
            )
        if data.get("type") == "fixAll":
            action.edit = self._fix_all_edit(doc) or types.WorkspaceEdit(changes={})
            return action
        finding = next(
            (
                f
                for f in doc.shown
                if f.rule == data.get("rule")
                and f.span.start == data.get("start")
                and f.span.end == data.get("end")
            ),
            None,
        )
        fixes = [finding.fix, *finding.alternatives] if finding is not None else []
        number = data.get("fix", 0)
        fix = fixes[number] if isinstance(number, int) and 0 <= number < len(fixes) else None
        if fix is None:
            raise JsonRpcContentModified(
                "the diagnostic of this code action is gone; request it again"
            )
        action.edit = self._fix_edit(doc, fix)
        return action

    # -- commands ---------------------------------------------------------------------------------

    async def apply_all_fixes(self, args: Sequence[Any]) -> dict[str, Any]:
        uri = args[0] if args else None
        if isinstance(uri, dict):
            uri = uri.get("uri")
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams(
                f"{APPLY_ALL_FIXES} expects [uri] or [{{uri}}], got {list(args)!r}"
            )
        doc = self.documents.get(uri)
        if doc is None or doc.project is None:
            return {"applied": False, "reason": "not an open Convex document"}
        edit = self._fix_all_edit(doc)
        if edit is None:
            return {"applied": False, "reason": "nothing to fix"}
        result = await self.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label="convex-xray: fix all")
        )
        return {"applied": bool(result.applied), "reason": result.failure_reason}

    async def show_rule_documentation(self, args: Sequence[Any]) -> dict[str, Any]:
        slug = args[0] if args else None
        rule = resolve_rule(slug) if isinstance(slug, str) else None
        if rule is None:
            raise JsonRpcInvalidParams(
                f"{SHOW_RULE_DOCUMENTATION} expects [slug], got {list(args)!r}"
            )
        url = rule.meta.docs_url
        if self.show_document_support:
            result = await self.window_show_document_async(
                types.ShowDocumentParams(uri=url, external=True)
            )
            return {"shown": bool(result.success), "url": url}
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=f"{rule.meta.slug}: {url}")
        )
        return {"shown": False, "url": url}

    def list_rules(self) -> list[dict[str, str]]:
        return [
            {
                "slug": r.meta.slug,
                "code": r.meta.code,
                "summary": r.meta.summary,
                "url": r.meta.docs_url,
            }
            for r in all_rules()
        ]

    # -- code lens ---------------------------------------------------------------------------------

    def on_code_lens(self, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        doc = self.documents.get(params.text_document.uri)
        if (
            doc is None
            or doc.project is None
            or not self.settings_for(doc.project).code_lens.enable
        ):
            return None
        model = doc.project.workspace.model(doc.path)
        if model is None:
            return None
        lines = doc.source.lines
        return [
            types.CodeLens(
                range=convert.range_of(lines, lens.start, lens.end, self.encoding),
                command=types.Command(title=lens.title, command=""),
            )
            for lens in lenses(doc.project.workspace, model)
        ]

    # -- navigation -------------------------------------------------------------------------------

    def _target(self, uri: str, position: types.Position) -> tuple[Document, Target] | None:
        doc = self.documents.get(uri)
        if doc is None or doc.project is None:
            return None
        offset = convert.offset_of(doc.source.lines, position, self.encoding)
        model = doc.project.workspace.model(doc.path)
        target = target_at(doc.project.workspace, model, doc.source, offset)
        return (doc, target) if target is not None else None

    def _locations(self, project: Project, spans: Iterable[Any]) -> list[types.Location]:
        lines_for = self.lines_for(project)
        locations = []
        for span in spans:
            lines = lines_for(span.path)
            if lines is None:
                continue
            locations.append(
                types.Location(
                    uri=self.uri_for(span.path),
                    range=convert.range_of(lines, span.start, span.end, self.encoding),
                )
            )
        return locations

    def on_definition(self, params: types.DefinitionParams) -> list[types.Location] | None:
        found = self._target(params.text_document.uri, params.position)
        if found is None:
            return None
        doc, target = found
        assert doc.project is not None
        return (
            self._locations(doc.project, definition(doc.project.workspace, doc.path, target))
            or None
        )

    def on_hover(self, params: types.HoverParams) -> types.Hover | None:
        found = self._target(params.text_document.uri, params.position)
        if found is None:
            return None
        doc, target = found
        assert doc.project is not None
        text = hover(doc.project.workspace, doc.path, target)
        if text is None:
            return None
        span = target.span
        hover_range = (
            convert.range_of(doc.source.lines, span.start, span.end, self.encoding)
            if span.path == doc.path
            else None
        )
        return types.Hover(contents=_markup(text, self.hover_markdown), range=hover_range)

    def on_references(self, params: types.ReferenceParams) -> list[types.Location] | None:
        found = self._target(params.text_document.uri, params.position)
        if found is None:
            return None
        doc, target = found
        assert doc.project is not None
        spans = references(
            doc.project.workspace,
            doc.path,
            target,
            include_declaration=params.context.include_declaration,
        )
        return self._locations(doc.project, spans)

    def on_completion(self, params: types.CompletionParams) -> types.CompletionList | None:
        doc = self.documents.get(params.text_document.uri)
        if doc is None or doc.project is None:
            return None
        lines = doc.source.lines
        offset = convert.offset_of(lines, params.position, self.encoding)
        candidates = completions(doc.project.workspace, doc.source, offset)
        if not candidates:
            return None
        kinds = {
            "table": types.CompletionItemKind.Class,
            "index": types.CompletionItemKind.Reference,
            "field": types.CompletionItemKind.Field,
        }
        items = [
            types.CompletionItem(
                label=c.label,
                kind=kinds[c.kind],
                detail=c.detail,
                documentation=_markup(c.documentation, self.completion_markdown)
                if c.documentation
                else None,
                sort_text=c.sort,
                text_edit=types.TextEdit(
                    range=convert.range_of(lines, c.start, c.end, self.encoding), new_text=c.label
                ),
            )
            for c in candidates
        ]
        return types.CompletionList(is_incomplete=False, items=items)


def _libc_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _libc_malloc_trim()


def _trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc keeps them otherwise): what
    indexing parsed and dropped (about 3.5 MiB of resident memory on 300 files)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _markup(text: str, markdown: bool) -> types.MarkupContent:
    if markdown:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)
    plain = text.replace("**", "").replace("`", "")
    return types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain)


def _identity(finding: Finding) -> tuple:
    return (finding.rule, finding.span.start, finding.span.end, finding.message, finding.severity)


def _apply_plain(
    data: bytes, changes: Sequence[types.TextDocumentContentChangeEvent], encoding: Encoding
) -> bytes:
    for change in changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            lines = LineIndex(data)
            start = convert.offset_of(lines, change.range.start, encoding)
            end = max(start, convert.offset_of(lines, change.range.end, encoding))
            data = data[:start] + change.text.encode("utf-8") + data[end:]
        else:
            data = change.text.encode("utf-8")
    return data


def create_server() -> ConvexXrayServer:
    server = ConvexXrayServer()

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        server.on_initialize(params)

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        await server.on_initialized()

    @server.feature(types.SHUTDOWN)
    def shutdown(params: None) -> None:
        server.on_shutdown()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.on_did_open(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        server.on_did_change(params)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.on_did_save(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.on_did_close(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        await server.on_did_change_configuration(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        server.on_did_change_watched_files(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        server.on_did_change_workspace_folders(params)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
            resolve_provider=True,
        ),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        return server.on_code_action(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(params: types.CodeAction) -> types.CodeAction:
        return server.on_code_action_resolve(params)

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    def code_lens(params: types.CodeLensParams) -> list[types.CodeLens] | None:
        return server.on_code_lens(params)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def goto_definition(params: types.DefinitionParams) -> list[types.Location] | None:
        return server.on_definition(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(params: types.HoverParams) -> types.Hover | None:
        return server.on_hover(params)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def find_references(params: types.ReferenceParams) -> list[types.Location] | None:
        return server.on_references(params)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=['"', "'"])
    )
    def complete(params: types.CompletionParams) -> types.CompletionList | None:
        return server.on_completion(params)

    @server.command(APPLY_ALL_FIXES)
    async def apply_all_fixes(*args: Any) -> dict[str, Any]:
        return await server.apply_all_fixes(args)

    @server.command(SHOW_RULE_DOCUMENTATION)
    async def show_rule_documentation(*args: Any) -> dict[str, Any]:
        return await server.show_rule_documentation(args)

    @server.feature(LIST_RULES_REQUEST)
    def list_rules(params: Any) -> list[dict[str, str]]:
        return server.list_rules()

    return server


def run_server(tcp: tuple[str, int] | None = None) -> None:
    """Serve LSP on stdio, or on TCP at `tcp=(host, port)`."""
    server = create_server()
    with contextlib.suppress(KeyboardInterrupt):
        if tcp is not None:
            server.start_tcp(*tcp)
        else:
            server.start_io()
