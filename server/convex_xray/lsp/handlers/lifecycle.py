"""initialize (client capabilities, folders), the warm-up, initialized (registrations, settings, indexing), shutdown."""

from __future__ import annotations

import asyncio
import gc
import uuid

from lsprotocol import types
from pygls.uris import from_fs_path

from convex_xray import __version__
from convex_xray.lsp import convert
from convex_xray.lsp.handlers.pull import PullDiagnostics
from convex_xray.lsp.session import (
    Folder,
    warm_up,
    warm_up_schemas,
)
from convex_xray.lsp.settings import SECTION, parse_settings
from convex_xray.lsp.state import NAME, WATCH_GLOBS, log, path_of


class Lifecycle(PullDiagnostics):
    """initialize (client capabilities, folders), the warm-up, initialized (registrations, settings, indexing), shutdown."""

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
        self.snippet_edits = bool(
            workspace and workspace.workspace_edit and workspace.workspace_edit.snippet_edit_support
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
        self.init_problems = problems
        folders = list(params.workspace_folders or [])
        if not folders and params.root_uri:
            folders = [types.WorkspaceFolder(uri=params.root_uri, name="root")]
        elif not folders and params.root_path:
            folders = [types.WorkspaceFolder(uri=from_fs_path(params.root_path) or "", name="root")]
        for item in folders:
            path = path_of(item.uri)
            if path is not None:
                self.folders.append(Folder(path, item.uri, settings, self.serials))
        # Found now, not on `initialized`: documents may be opened before that is handled.
        for folder in self.folders:
            self.init_problems += folder.discover()
        if self.pull:
            self.register_pull()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # (called outside the event loop: nothing to overlap with)
        else:
            self.tasks["<warm-up>"] = asyncio.ensure_future(self.warm_up())
        log.info(
            "convex-xray %s: %d folder(s), encoding %s, %s diagnostics",
            __version__,
            len(self.folders),
            self.encoding.value,
            "pull" if self.pull else "push",
        )

    async def warm_up(self) -> None:
        """Runs after the `initialize` response is sent, while the client digests it: pays
        the per-process costs (query compilation, lazy imports) and reads the schemas, one
        step per turn of the event loop, so that the first document's check (typically
        opened right after `initialized`) does not. Each step is work that check or the
        indexing would do anyway."""
        await asyncio.sleep(0)  # after the response is written
        # Long-lived objects, like indexing's (see `_index`): no cycle collection meanwhile.
        self.gc_holds += 1
        gc.disable()
        try:
            warm_up()
            for folder in list(self.folders):
                for project in list(folder.projects):
                    await asyncio.sleep(0)
                    warm_up_schemas(project)
        except Exception:  # only an optimisation: the real checks report real problems
            log.debug("warm-up failed", exc_info=True)
        finally:
            self.tasks.pop("<warm-up>", None)
            self.gc_holds -= 1
            if self.gc_holds == 0:
                gc.enable()  # (indexing, when it runs, collects and freezes at its end)

    async def on_initialized(self) -> None:
        self.show_problems(self.init_problems)
        await self.register_dynamic()
        if self.configuration_support:
            for folder in await self.pull_settings():
                self.show_problems(folder.discover())
                self.reattach(folder)
        # Documents opened so far wait for this: no diagnostics under the wrong settings.
        self.configured.set()
        for folder in self.folders:
            self.start_indexing(folder)

    def register_pull(self) -> None:
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

    async def register_dynamic(self) -> None:
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
        for task in [*self.tasks.values(), *self.reconcile_tasks.values(), *self.indexing_tasks.values()]:
            task.cancel()
