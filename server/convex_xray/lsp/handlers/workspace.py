"""Settings, workspace folders and watched files: rebuild projects and re-check."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from convex_xray.engine.source import is_source_path
from convex_xray.engine.workspace import SCHEMA_NAMES
from convex_xray.lsp.handlers.documents import Documents
from convex_xray.lsp.session import (
    Folder,
)
from convex_xray.lsp.settings import SECTION, parse_settings
from convex_xray.lsp.state import CONFIG_FILES, log, path_of


class WorkspaceHandlers(Documents):
    """Settings, workspace folders and watched files: rebuild projects and re-check."""

    async def pull_settings(self) -> list[Folder]:
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

    async def refresh_settings(self) -> None:
        for folder in await self.pull_settings():
            self.rebuild(folder)

    async def on_did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        if self.configuration_support:
            for folder in await self.pull_settings():
                self.rebuild(folder)
            return
        settings, problems = parse_settings(params.settings)
        self.show_problems(problems)
        self.global_settings = settings
        for folder in self.folders:
            if folder.settings != settings:
                folder.settings = settings
                self.rebuild(folder)

    def rebuild(self, folder: Folder) -> None:
        """New projects for a folder (settings, config or roots changed): re-attach its open
        documents, re-check them and index again."""
        self.show_problems(folder.discover())
        self.reattach(folder)
        self.start_indexing(folder)

    def reattach(self, folder: Folder) -> None:
        self.adopt_loose()
        for doc in self.documents.values():
            if doc.path.is_relative_to(folder.path):
                self.attach(doc)
                self.schedule(doc, 0)

    def on_did_change_workspace_folders(
        self, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        removed = {item.uri for item in params.event.removed}
        for folder in [f for f in self.folders if f.uri in removed]:
            task = self.indexing_tasks.pop(id(folder), None)
            if task is not None:
                task.cancel()
            self.folders.remove(folder)
        added = []
        for item in params.event.added:
            path = path_of(item.uri)
            if path is not None:
                folder = Folder(path, item.uri, self.global_settings, self.serials)
                self.folders.append(folder)
                added.append(folder)
        for doc in self.documents.values():
            if doc.project is None or not any(doc.project in f.projects for f in self.folders):
                self.attach(doc)
                if doc.project is None and not self.pull:
                    self.publish(doc.uri, [])
        for folder in added:
            self.rebuild(folder)
        if added and self.configuration_support:
            self.tasks["<settings>"] = asyncio.ensure_future(self.refresh_settings())

    def on_did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        rebuild: set[int] = set()
        touched: set[int] = set()
        for event in params.changes:
            path = path_of(event.uri)
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
                self.rebuild(folder)
                continue
            for project in folder.projects:
                if id(project) in touched:
                    self.schedule_reconcile(project, delay=0.0)
