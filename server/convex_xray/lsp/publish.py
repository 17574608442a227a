"""The one place that publishes diagnostics (push), and the results of closed files that both push and pull serve."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from lsprotocol import types

from convex_xray.engine.findings import Finding, Severity
from convex_xray.engine.source import LineIndex
from convex_xray.lsp import convert
from convex_xray.lsp.session import (
    CheckOutcome,
    Document,
    Project,
)
from convex_xray.lsp.state import ReadyBasis, ServerState


def identity(finding: Finding) -> tuple:
    return (finding.rule, finding.span.start, finding.span.end, finding.message, finding.severity)


class Publisher(ServerState):
    """The one place that publishes diagnostics (push), and the results of closed files that both push and pull serve."""

    def notify_ready(self) -> None:
        """The `ready` status: the files and the problems per severity in every project,
        open documents as shown and closed files as last checked (what `convex-xray check`
        counts, hints included). Sent once every folder is indexed, then again whenever the
        counts change, so a client's status follows edits and fixes."""
        # (Only the current folders: a folder replaced on a settings change leaves its event behind.)
        for folder in self.folders:
            event = self.indexed_events.get(id(folder))
            if event is None or not event.is_set():
                return
        files, closed, open_paths = self.closed_counts()
        counts = Counter(closed)
        for path, times in open_paths.items():
            doc = self.open_doc(path)
            if doc is not None:
                for _ in range(times):
                    counts.update(f.severity for f in doc.shown)
        fields = {
            "files": files,
            "diagnostics": sum(counts.values()),
            **{f"{severity.label}s": counts[severity] for severity in Severity},
        }
        if fields != self.ready_sent:
            self.ready_sent = fields
            self.notify_status("ready", **fields)

    def closed_counts(self) -> ReadyBasis:
        """What `notify_ready` adds the open documents' findings to: the files, the closed
        files' problems per severity, and how many times each open document is a project's
        file. Walking every file for it cost 2.7 ms after each keystroke's publish in a 732-file
        app, and only a closed file's result (`keep_result`), the set of open documents or a
        project's file list change it."""
        open_now = frozenset(doc.path for doc in self.documents.values())
        lists = tuple(project.workspace.files() for folder in self.folders for project in folder.projects)
        kept = self.ready_basis
        if (
            kept is not None
            and kept[0] == self.results_revision
            and kept[1] == open_now
            and kept[2] == lists  # (the same Path objects while no file came or went: `is` per item)
        ):
            return kept[3]
        closed: Counter[Severity] = Counter()
        open_paths: Counter[Path] = Counter()
        files = 0
        for paths in lists:
            for path in paths:
                files += 1
                if path in open_now:
                    open_paths[path] += 1
                elif path in self.workspace_results:
                    closed.update(f.severity for f in self.workspace_results[path][2])
        basis = (files, closed, open_paths)
        self.ready_basis = (self.results_revision, open_now, lists, basis)
        return basis

    def publish(self, uri: str, diagnostics: list[types.Diagnostic], version: int | None = None) -> None:
        """Push `diagnostics` for `uri` (the only textDocument/publishDiagnostics the server sends)."""
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )
        self.inbox.answered(uri, version)  # the client's next edit is no burst (`lsp/inbox`)

    def diagnostics(self, doc: Document, findings: Iterable[Finding]) -> list[types.Diagnostic]:
        """An open document's diagnostics (positions in its snapshot, fixes keyed by its version)."""
        return self.convert_findings(doc.path, doc.source.lines, doc.project, doc.version, findings)

    def file_diagnostics(
        self, project: Project, path: Path, findings: Iterable[Finding]
    ) -> list[types.Diagnostic]:
        """A closed file's diagnostics (positions in the workspace's snapshot of it)."""
        source = project.workspace.source(path)
        if source is None:
            return []
        return self.convert_findings(path, source.lines, project, None, findings)

    def convert_findings(
        self,
        path: Path,
        lines: LineIndex,
        project: Project | None,
        version: int | None,
        findings: Iterable[Finding],
    ) -> list[types.Diagnostic]:
        lines_for = self.lines_for(project)
        return [
            convert.diagnostic(
                f,
                lines,
                self.encoding,
                lines_for=lines_for,
                uri_for=self.uri_for,
                version=version,
            )
            for f in findings
            if f.path == path
        ]

    def closed_fresh(self, project: Project, path: Path) -> bool:
        cached = self.workspace_results.get(path)
        return cached is not None and cached[0] == self.closed_key(project, path)

    def closed_key(self, project: Project, path: Path) -> tuple:
        return project.result_key(path)

    def closed_results(self, project: Project, path: Path) -> list[Finding]:
        key = self.closed_key(project, path)
        cached = self.workspace_results.get(path)
        if cached is not None and cached[0] == key:
            return cached[2]
        findings, failures = project.check(path)
        self.report_failures(failures)
        self.keep_result(path, (key, str(project.serials.result_id()), findings))
        return findings

    def push_closed(self, project: Project, path: Path, findings: list[Finding]) -> None:
        uri = self.uri_for(path)
        before = self.published.get(path)
        if not findings and before is None:
            return
        diagnostics = self.file_diagnostics(project, path, findings)
        self.publish(uri, diagnostics)
        if diagnostics:
            self.published[path] = (uri, len(diagnostics))
        else:
            self.published.pop(path, None)

    def publish_outcome(self, doc: Document, outcome: CheckOutcome | None) -> None:
        if outcome is None or self.pull:
            return
        self.publish(doc.uri, self.diagnostics(doc, outcome.findings), version=doc.version)
