"""Document sync: didOpen, didChange, didSave, didClose (and open files that are not Convex code)."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from convex_xray.engine.findings import Finding
from convex_xray.engine.source import Encoding, LineIndex, SourceFile, apply_changes, is_source_path
from convex_xray.lsp import convert
from convex_xray.lsp.handlers.checking import BIG_DOCUMENT_BYTES, trim_heap
from convex_xray.lsp.handlers.indexing import Indexing
from convex_xray.lsp.session import (
    Document,
)
from convex_xray.lsp.settings import RunMode
from convex_xray.lsp.state import path_of


def apply_plain(
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


class Documents(Indexing):
    """Document sync: didOpen, didChange, didSave, didClose (and open files that are not Convex code)."""

    def attach(self, doc: Document) -> None:
        project = self.project_for(doc.path)
        doc.project = project
        doc.replaced(doc.source)
        if project is not None:
            project.opened(doc.path)
            project.set_source(doc.source)
            project.touched()

    def adopt_loose(self) -> None:
        """Open files that were not Convex code may be now (a root appeared, settings changed)."""
        for uri, (data, version) in list(self.loose.items()):
            path = path_of(uri)
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
            self.attach(doc)

    def on_did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        path = path_of(item.uri)
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
            cached = self.workspace_results.get(path)
            if cached is not None and cached[0] == self.closed_key(project, path):
                known = cached[2]
        else:
            source = SourceFile(path, item.text, version=item.version, data=data)
            project.set_source(source)
            project.touched(item.uri)
        project.opened(path)  # (before its check: an open document is never released)
        doc = Document(item.uri, path, source, item.language_id, project, version=item.version)
        self.documents[item.uri] = doc
        self.published.pop(path, None)
        if known is not None and self.configured.is_set():
            if not source.parsed and not self.pull:
                # Released after indexing (`Project.release`): its findings are known, its tree
                # is not. Show them before parsing it again for the document's base (~40-80 ms
                # for a 3,000-line file); again only if that changed them.
                self.publish(item.uri, self.diagnostics(doc, known), version=doc.version)
                outcome = self.check(doc, known=known)
                if outcome is not None and outcome.findings != known:
                    self.publish_outcome(doc, outcome)
            else:
                self.publish_outcome(doc, self.check(doc, known=known))
        else:
            self.schedule(doc, 0, full=True)

    def on_did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        doc = self.documents.get(uri)
        if doc is None:
            loose = self.loose.get(uri)
            if loose is not None:
                self.loose[uri] = (
                    apply_plain(loose[0], params.content_changes, self.encoding),
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
            # (The saved file's results stay: keyed by its text, they serve its close.)
        settings = self.settings_for(project)
        if self.pull:
            if project is not None and project.is_schema(doc.path):
                self.schedule_dependents(project, doc)
            return
        if settings.run is RunMode.ON_TYPE:
            self.schedule(doc, settings.debounce_ms)

    def on_did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        doc = self.documents.get(params.text_document.uri)
        if doc is None or doc.project is None:
            return
        doc.project.touched(doc.uri)
        if not self.pull:
            self.schedule(doc, 0)
        self.schedule_dependents(doc.project, doc)

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.loose.pop(uri, None)
        doc = self.documents.pop(uri, None)
        if doc is None:
            return
        task = self.tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        project = doc.project
        if project is None:
            return
        if self.open_doc(doc.path) is None:  # (the same file may be open under another URI)
            project.closed(doc.path)
        project.forget(doc.path)  # the file on disk is the truth again
        project.touched(uri)
        if len(doc.source.data) >= BIG_DOCUMENT_BYTES:
            trim_heap()  # (its model and tree are freed by now)
        if self.pull:
            return
        if project.indexed and doc.path.exists() and project.owns(doc.path):
            # The Problems panel keeps showing the whole app: the saved file's findings.
            findings = self.closed_results(project, doc.path)
            diagnostics = self.file_diagnostics(project, doc.path, findings)
            self.publish(uri, diagnostics)
            if diagnostics:
                self.published[doc.path] = (uri, len(diagnostics))
        else:
            self.publish(uri, [])
        self.schedule_dependents(project, None)
