"""Reading the client's messages ahead of the event loop, so a check knows it is out of date.

Everything the server does runs on the event loop thread, so while a check runs no message
is handled: by itself the server could not tell that the client has already sent ten newer
versions of the document being checked, and would publish each one in turn (a burst of 300
`didChange`s cost 300 full checks and 300 publishes). Here a thread reads stdin as fast as
the client writes it, notes the newest `didChange` version per document and the ids of
cancelled requests, and hands the bytes to the loop unchanged (pygls parses and dispatches
them as before). A check asks `Inbox.newer` at its safe points and gives up when a newer
version is already waiting; a request handler asks `Inbox.cancelled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import threading
import time
from collections.abc import Callable
from typing import BinaryIO

# Edits of one document less than BURST_GAP apart are a burst (a paste, a formatter, a
# multi-cursor edit, a flood from a slow machine): its check waits until the document has
# been QUIET that long, so no version that is about to be replaced is checked and published.
# People type slower than BURST_GAP (even key repeat), so a keystroke is checked at once.
# An edit sent after the client received the diagnostics of the one before is no burst
# however soon it follows (a client that waits for each answer, a fast server): there is
# nothing to coalesce, and waiting QUIET would only add to every keystroke.
BURST_GAP = 0.020
QUIET = 0.015

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
_CHUNK = 1 << 16


class Inbox:
    """What the reader has seen so far (also usable without a reader: then it knows nothing)."""

    def __init__(self) -> None:
        # Written by the reader thread, read by the loop thread: single dict/set operations,
        # which the GIL makes atomic.
        self._latest: dict[str, int] = {}
        self._cancelled: set[int | str] = set()
        self._arrived: dict[str, tuple[float, float]] = {}  # uri -> (last change, gap before it)
        self._answered: dict[str, int] = {}  # uri -> newest version published (by the loop)
        # Messages the reader has read (its thread) and the loop has handled (the loop thread):
        # while the first count is ahead, a message is on its way to a handler, and background
        # work (indexing) lets it pass first (`unhandled`).
        self._read = 0
        self._handled = 0

    def unhandled(self) -> bool:
        """Whether the reader has read a message that the loop has not handled yet."""
        return self._read > self._handled

    def handled(self) -> None:
        """One message was handled (called on the loop thread, once per message)."""
        self._handled += 1

    def handled_count(self) -> int:
        return self._handled

    def caught_up(self) -> None:
        """Count every message read so far as handled: one the loop never handles as a
        message (a body that does not parse) must not hold background work back for ever."""
        self._handled = max(self._handled, self._read)

    def newer(self, uri: str, version: int | None) -> bool:
        """Whether a `didChange` of `uri` with a version above `version` has been read."""
        latest = self._latest.get(uri)
        return latest is not None and version is not None and latest > version

    def cancelled(self, request_id: int | str) -> bool:
        return request_id in self._cancelled

    def answered(self, uri: str, version: int | None) -> None:
        """The diagnostics of `version` of `uri` were sent (called on the loop thread)."""
        if version is not None:
            self._answered[uri] = version

    def settling(self, uri: str) -> float:
        """Seconds to wait before checking `uri`: until a burst of edits has gone quiet."""
        last, gap = self._arrived.get(uri, (0.0, BURST_GAP))
        if gap >= BURST_GAP:
            return 0.0
        return max(0.0, QUIET - (time.monotonic() - last))

    def note(self, body: bytes) -> None:
        """Record what matters about one message body (called in the reader thread)."""
        self._read += 1
        if b"textDocument/didChange" in body or b"textDocument/didOpen" in body:
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                message = json.loads(body)
                document = message["params"]["textDocument"]
                uri, version = document["uri"], document["version"]
                if not isinstance(version, int):
                    return
                if message["method"] == "textDocument/didOpen":
                    # A reopened document's versions may start again from anything.
                    self._latest[uri] = version
                elif version > (latest := self._latest.get(uri, version - 1)):
                    self._latest[uri] = version
                    now = time.monotonic()
                    previous = self._arrived.get(uri)
                    replied = self._answered.get(uri, -1) >= latest  # sent after our answer
                    gap = now - previous[0] if previous is not None and not replied else BURST_GAP
                    self._arrived[uri] = (now, gap)
        elif b"textDocument/didClose" in body:
            # What is kept per document goes with it (a session opens thousands of files).
            with contextlib.suppress(ValueError, KeyError, TypeError):
                uri = json.loads(body)["params"]["textDocument"]["uri"]
                self._latest.pop(uri, None)
                self._arrived.pop(uri, None)
                self._answered.pop(uri, None)
        elif b"$/cancelRequest" in body:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                request_id = json.loads(body)["params"]["id"]
                if isinstance(request_id, (int, str)):
                    self._cancelled.add(request_id)
                    if len(self._cancelled) > 4096:  # ids are never reused: forget old ones
                        self._cancelled.clear()
                        self._cancelled.add(request_id)


class ReadAheadReader:
    """pygls' async reader interface (`readline`, `readexactly`) over a thread that reads
    `stdin` continuously, notes each message in `inbox` and feeds the loop's stream."""

    def __init__(self, stdin: BinaryIO, inbox: Inbox) -> None:
        self._stdin = stdin
        self._inbox = inbox
        self._stream: asyncio.StreamReader | None = None
        self._pending = bytearray()

    def _started(self) -> asyncio.StreamReader:
        if self._stream is None:
            loop = asyncio.get_running_loop()
            self._stream = asyncio.StreamReader()
            threading.Thread(
                target=self._pump, args=(loop, self._stream), name="lsp-read-ahead", daemon=True
            ).start()
        return self._stream

    def _pump(self, loop: asyncio.AbstractEventLoop, stream: asyncio.StreamReader) -> None:
        read = self._reader()
        while True:
            try:
                chunk = read(_CHUNK)
            except (OSError, ValueError):
                chunk = b""
            try:
                if not chunk:
                    loop.call_soon_threadsafe(stream.feed_eof)
                    return
                # Noted before the loop can see the bytes: a check running now learns of them.
                self._split(chunk)
                loop.call_soon_threadsafe(stream.feed_data, chunk)
            except RuntimeError:  # the loop is closed: the server is exiting
                return

    def _reader(self) -> Callable[[int], bytes]:
        """Read the file descriptor itself where there is one: a thread blocked inside a
        buffered reader holds its lock, which aborts the interpreter's shutdown."""
        try:
            fd = self._stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return getattr(self._stdin, "read1", None) or self._stdin.read
        return functools.partial(os.read, fd)

    def _split(self, chunk: bytes) -> None:
        pending = self._pending
        pending += chunk
        while True:
            end = pending.find(b"\r\n\r\n")
            if end < 0:
                return
            match = _LENGTH.search(pending, 0, end)
            if match is None:  # not a header: drop it (pygls reports the garbage itself)
                del pending[: end + 4]
                continue
            length = int(match.group(1))
            if len(pending) < end + 4 + length:
                return
            self._inbox.note(bytes(pending[end + 4 : end + 4 + length]))
            del pending[: end + 4 + length]

    async def readline(self) -> bytes:
        return await self._started().readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._started().readexactly(n)
        except asyncio.IncompleteReadError:
            return b""
