"""Indexing a folder in the background (yielding between files), checking closed files, the collector and the C heap."""

from __future__ import annotations

import asyncio
import gc
import time
import uuid

from lsprotocol import types

from convex_xray.lsp.handlers.checking import Checking, trim_heap
from convex_xray.lsp.session import (
    Folder,
    Project,
)
from convex_xray.lsp.state import CATCH_UP_SECONDS, EDITOR_FIRST_SECONDS, log


class Indexing(Checking):
    """Indexing a folder in the background (yielding between files), checking closed files, the collector and the C heap."""

    def start_indexing(self, folder: Folder) -> None:
        key = id(folder)
        previous = self.indexing_tasks.pop(key, None)
        if previous is not None:
            previous.cancel()
        event = self.indexed_events.setdefault(key, asyncio.Event())
        event.clear()
        self.indexing_tasks[key] = asyncio.ensure_future(self.index_folder_task(folder, event))

    async def index_folder_task(self, folder: Folder, done: asyncio.Event) -> None:
        # Indexing allocates millions of long-lived objects: collecting cycles meanwhile only
        # rescans them (about a third of the time). Afterwards they are frozen out of future
        # collections, which keeps full collections from pausing keystrokes.
        self.gc_holds += 1
        gc.disable()
        held = [True]
        try:
            await self.index_folder(folder, done, held)
        finally:
            if held[0]:
                self.release_gc()

    def release_gc(self) -> None:
        self.gc_holds -= 1
        if self.gc_holds == 0:
            gc.unfreeze()  # what an earlier index froze may be garbage now
            gc.enable()
            gc.collect()
            gc.freeze()
            for folder in self.folders:
                for project in folder.projects:
                    project.frozen()
            trim_heap()

    async def editor_first(self) -> None:
        """Between two steps of background work: let the client's messages and the open
        documents' checks go first. A message the reader has read reaches its handler only
        after a few turns of the loop (more for one that came in several chunks), and a check
        is a task of its own; a bare `sleep(0)` gave an indexing step to each of those turns
        (a document opened while a 732-file app indexed waited for one or two files' models
        before its check, and at times one more before its diagnostics were sent). Bounded
        (`EDITOR_FIRST_SECONDS`): a message the loop never handles as one (a body that does
        not parse) does not hold indexing back for ever."""
        await asyncio.sleep(0)
        if not (self.inbox.unhandled() or self.due_checks):
            return
        deadline = time.perf_counter() + EDITOR_FIRST_SECONDS
        handled = self.inbox.handled_count()
        while self.inbox.unhandled() or self.due_checks:
            if time.perf_counter() > deadline:
                if self.inbox.unhandled() and self.inbox.handled_count() == handled:
                    # Nothing handled in all that time with the loop free: not a message
                    # on its way but one that never will be.
                    self.inbox.caught_up()
                return
            # (A check waits in the loop's select for a moment now and then: `CATCH_UP_SECONDS`.)
            await asyncio.sleep(CATCH_UP_SECONDS if self.due_checks else 0)

    async def index_folder(self, folder: Folder, done: asyncio.Event, held: list[bool]) -> None:
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
            for project in folder.projects:
                project.begin_indexing()
            for number, (project, path) in enumerate(work, 1):
                project.index_file(path)
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
                await self.editor_first()  # let keystrokes through
            count = 0
            for project in folder.projects:
                project.indexed = True  # every file is read: workspace rules may run now
                count += await self.check_closed_files(project)
                project.release_closed(everything=True)
                project.touched(None)  # open documents: re-check with them
        except asyncio.CancelledError:
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message="cancelled"))
            raise
        if token is not None:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{total} files"))
        elapsed = time.perf_counter() - started
        held[0] = False
        self.release_gc()  # before announcing it: the collection takes a moment
        log.info("indexed %d files in %.2fs", total, elapsed)
        done.set()
        log.debug("%d problems in the folder", count)
        self.notify_ready()
        if self.pull and self.refresh_support:
            self.workspace_diagnostic_refresh(None)
        # Open documents may have been checked against a half-read workspace.
        for doc in self.documents.values():
            if doc.project in folder.projects:
                self.schedule(doc, 0, full=True)

    async def check_closed_files(self, project: Project) -> int:
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
                if self.open_doc(path) is None and not self.closed_fresh(project, path)
            ]
            if todo:
                results, failures = project.check_many(todo)
                self.report_failures(failures)
                for path, findings in results.items():
                    self.keep_result(
                        path,
                        (self.closed_key(project, path), str(project.serials.result_id()), findings),
                    )
            for path in chunk:
                doc = self.open_doc(path)
                if doc is not None:
                    total += len(doc.shown)
                    continue
                findings = self.closed_results(project, path)
                total += len(findings)
                if not self.pull:
                    self.push_closed(project, path, findings)
            await self.editor_first()
        return total
