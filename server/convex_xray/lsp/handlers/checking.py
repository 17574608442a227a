"""Checking open documents: debounce per URI, check, publish; reconcile the rest of the project after a fast check."""

from __future__ import annotations

import asyncio
import ctypes
import sys
from collections.abc import Callable
from typing import Any

from pygls.exceptions import JsonRpcContentModified

from convex_xray.engine.findings import Finding
from convex_xray.engine.runner import RuleFailure
from convex_xray.lsp.publish import Publisher, identity
from convex_xray.lsp.session import (
    CheckOutcome,
    Document,
    Overtaken,
    Project,
    check_document,
)
from convex_xray.lsp.state import CATCH_UP_SECONDS, RECONCILE_SECONDS, log


def libc_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


MALLOC_TRIM = libc_malloc_trim()


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc keeps them otherwise): what
    indexing parsed and dropped (about 3.5 MiB of resident memory on 300 files), what a big
    document's check allocated for a moment (12 MB for 50,000 lines). A few ms at most."""
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


# A full check of a document this big (about 30,000 lines) leaves MBs of freed C heap behind
# (12 MB for a 1.8 MB file), and its close frees its tree: give those pages back (`trim_heap`).
BIG_DOCUMENT_BYTES = 1_000_000


class Checking(Publisher):
    """Checking open documents: debounce per URI, check, publish; reconcile the rest of the project after a fast check."""

    def schedule(self, doc: Document, delay_ms: int, *, full: bool = False) -> None:
        if self.pull:
            return
        previous = self.tasks.pop(doc.uri, None)
        if previous is not None and (not previous.done() or getattr(previous, "skipped", False)):
            previous.cancel()
            full = full or getattr(previous, "full", False)  # a full check it never ran
        task = asyncio.ensure_future(self.check_later(doc, doc.version, delay_ms, full))
        task.full = full  # type: ignore[attr-defined]
        self.tasks[doc.uri] = task
        if delay_ms <= 0:
            self.due(task)

    def due(self, task: asyncio.Future[Any]) -> None:
        """`task` (a document's check) is due: background work waits for it (`editor_first`)."""
        self.due_checks.add(task)
        task.add_done_callback(self.due_checks.discard)

    async def check_later(
        self, doc: Document, version: int | None, delay_ms: int, full: bool
    ) -> None:
        if not self.configured.is_set():
            await self.configured.wait()
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
            task = asyncio.current_task()
            if task is not None:
                self.due(task)
        while (wait := self.inbox.settling(doc.uri)) > 0 and self.current(doc, version):
            await asyncio.sleep(wait)  # a burst of edits: check where it settles
        if not self.current(doc, version) or self.overtaken(doc, version):
            return self.skipped()  # a newer version is on its way: its own check follows
        outcome = self.check(doc, full=full, checkpoint=self.checkpoint(doc, version))
        if outcome is None or doc.version != version:
            return self.skipped()
        # The reader thread may be holding bytes it read during the check but could not note
        # while the check held the GIL: give it a moment before publishing.
        await asyncio.sleep(CATCH_UP_SECONDS)
        if not self.current(doc, version) or self.overtaken(doc, version):
            return self.skipped()
        self.publish(doc.uri, self.diagnostics(doc, outcome.findings), version=doc.version)
        self.notify_ready()
        if not outcome.fast and len(doc.source.data) >= BIG_DOCUMENT_BYTES:
            trim_heap()
        project = doc.project
        if project is None:
            return
        if project.is_schema(doc.path):
            self.schedule_dependents(project, doc)
        elif outcome.fast:
            self.schedule_reconcile(project)

    def current(self, doc: Document, version: int | None) -> bool:
        return doc.version == version and self.documents.get(doc.uri) is doc

    def overtaken(self, doc: Document, version: int | None) -> bool:
        """The client has already sent a newer version (read, not yet handled: `lsp/inbox`)."""
        return self.inbox.newer(doc.uri, version)

    def checkpoint(self, doc: Document, version: int | None) -> Callable[[], None]:
        """A check's safe points: abandon it (never published) once it is out of date."""

        def check_still_wanted() -> None:
            if self.overtaken(doc, version):
                raise Overtaken

        return check_still_wanted

    @staticmethod
    def skipped() -> None:
        """Mark the running check task as having done nothing (see `schedule`)."""
        task = asyncio.current_task()
        if task is not None:
            task.skipped = True  # type: ignore[attr-defined]

    def check(
        self,
        doc: Document,
        *,
        full: bool = False,
        known: list[Finding] | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> CheckOutcome | None:
        try:
            outcome = check_document(doc, full=full, known=known, checkpoint=checkpoint)
        except Overtaken:
            return None
        except JsonRpcContentModified:
            raise  # a request's safe point (`still_wanted`): the request answers with it
        except Exception:  # never let a check take the server down; keep what is shown
            log.exception("checking %s failed", doc.path)
            return None
        self.report_failures(outcome.failures)
        return outcome

    def schedule_dependents(self, project: Project, changed: Document | None) -> None:
        """Re-check every other open document of the project (schema or helper changed),
        after the changed document itself; superseded by newer edits. Debounced like the
        reconcile: workspace-wide work waits until the editor settles (opening, editing and
        closing file after file must not re-check the whole app after each one)."""
        self.schedule_reconcile(project)

    def schedule_reconcile(self, project: Project, *, delay: float = RECONCILE_SECONDS) -> None:
        key = id(project)
        previous = self.reconcile_tasks.pop(key, None)
        if previous is not None and not previous.done():
            previous.cancel()
        self.reconcile_tasks[key] = asyncio.ensure_future(self.reconcile_later(project, delay))

    async def reconcile_later(self, project: Project, delay: float) -> None:
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
            before = [identity(f) for f in doc.shown]
            shown_version = doc.checked_version
            outcome = self.check(doc, full=True)
            if outcome is None:
                continue
            if [identity(f) for f in outcome.findings] != before or shown_version != doc.version:
                changed = True
                if not self.pull:
                    self.publish(doc.uri, self.diagnostics(doc, outcome.findings), version=doc.version)
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
            if self.open_doc(path) is None and not self.closed_fresh(project, path)
        ]
        if self.pull:
            # Pull clients ask again (workspace/diagnostic recomputes what is stale).
            if (changed or stale) and self.refresh_support:
                self.workspace_diagnostic_refresh(None)
            self.notify_ready()
            return
        for path in stale:
            self.push_closed(project, path, self.closed_results(project, path))
            await asyncio.sleep(0)
        self.notify_ready()
