"""Pull diagnostics: textDocument/diagnostic and workspace/diagnostic."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from convex_xray.lsp.handlers.workspace import WorkspaceHandlers
from convex_xray.lsp.settings import RunMode
from convex_xray.lsp.state import path_of


class PullDiagnostics(WorkspaceHandlers):
    """Pull diagnostics: textDocument/diagnostic and workspace/diagnostic."""

    async def on_document_diagnostic(
        self, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        await self.configured.wait()
        uri = params.text_document.uri
        await self.still_wanted(uri)
        doc = self.documents.get(uri)
        if doc is None or doc.project is None:
            path = path_of(uri)
            project = self.project_for(path) if path is not None else None
            if path is None or project is None:
                return types.RelatedFullDocumentDiagnosticReport(items=[])
            findings = self.closed_results(project, path)
            result_id = self.workspace_results[path][1]
            if params.previous_result_id == result_id:
                return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
            return types.RelatedFullDocumentDiagnosticReport(
                items=self.file_diagnostics(project, path, findings), result_id=result_id
            )
        project = doc.project
        settings = self.settings_for(project)
        stale = doc.checked_version != doc.version or doc.checked_generation != project.generation
        if stale and (settings.run is RunMode.ON_TYPE or doc.checked_version is None):
            outcome = self.check(doc, checkpoint=lambda: self.raise_if_unwanted(uri))
            if outcome is not None and outcome.fast:
                self.schedule_reconcile(project)
        result_id = str(doc.result_id)
        self.notify_ready()
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
            event = self.indexed_events.get(id(folder))
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
                    findings = self.closed_results(project, path)
                    uri = self.uri_for(path)
                    result_id = self.workspace_results[path][1]
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
        self.notify_ready()
        return types.WorkspaceDiagnosticReport(items=items)
