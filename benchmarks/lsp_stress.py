#!/usr/bin/env python3
"""The language server under load, driven by a raw JSON-RPC client over stdio (no LSP library:
what an editor sends, byte for byte, with timestamps on both sides).

    python benchmarks/lsp_stress.py APP_DIR                   # e.g. /work/corpus/groupi-app+groupi
    python benchmarks/lsp_stress.py APP_DIR --subset 300      # a 300-file copy of a big app in /tmp
    python benchmarks/lsp_stress.py APP_DIR --json out.json

Phases, one server process (`python -m convex_xray lsp`), push diagnostics:

* index: `initialized` -> `convexXray/status` `ready`; RSS after indexing.
* burst: open the app's largest Convex module, wait for its diagnostics, then send 300
  `didChange` notifications back to back (a comment typed one character per edit inside a
  function body, the way a fast typist, multi-cursor edit or formatter floods the server).
  Time from the last one sent to the `publishDiagnostics` for its version; how many
  publishes the document got during the burst; how many carried a version the client had
  already replaced when it arrived (stale: must be 0).
* open/edit/close every file: for each file, `didOpen` -> wait for diagnostics, one edit ->
  wait for the diagnostics of that version, `didClose`. Total wall time.
* RSS after closing them all (after 2 s idle) vs after indexing.
* a 50k-line file: the largest module replicated to ~50,000 lines, opened under the app's
  Convex directory (an unsaved buffer: nothing is written there) -> first diagnostics; RSS
  with it open and after closing it.

RSS is `VmRSS` from `/proc/<pid>/status` (Linux). Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SERVER = [sys.executable, "-m", "convex_xray", "lsp"]
SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mts", ".cts", ".mjs", ".cjs")
BURST = 300
TIMEOUT = 300.0


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


class Rpc:
    """A minimal LSP client: framed JSON over the server's stdin/stdout, a reader thread that
    timestamps every message, answers to the server's own requests."""

    def __init__(self, cmd: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.inbox: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.next_id = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(stream.read(length))
            now = time.perf_counter()
            if "method" in message and "id" in message:
                self._answer(message)
            self.inbox.put((now, message))

    def _answer(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/configuration":
            result = [{} for _ in message["params"]["items"]]
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> float:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})
        return time.perf_counter()

    def request(self, method: str, params: Any) -> int:
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def wait(self, match, timeout: float = TIMEOUT) -> tuple[float, dict[str, Any]]:
        """The first message `match` accepts (others are passed to `self.seen`)."""
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no matching message from the server")
            when, message = self.inbox.get(timeout=left)
            self.seen(when, message)
            if match(message):
                return when, message

    def drain(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            try:
                when, message = self.inbox.get(timeout=left)
            except queue.Empty:
                return
            self.seen(when, message)

    def seen(self, when: float, message: dict[str, Any]) -> None:
        """Hook: every message read (the burst counts publishes through it)."""

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def publish_for(uri: str, version: int | None = None):
    def match(message: dict[str, Any]) -> bool:
        if message.get("method") != "textDocument/publishDiagnostics":
            return False
        params = message["params"]
        return params["uri"] == uri and (version is None or params.get("version") == version)

    return match


def source_files(app: Path) -> list[Path]:
    files = []
    for path in sorted(app.rglob("*")):
        parts = set(path.relative_to(app).parts)
        if parts & {"node_modules", "_generated", ".git"} or path.name.endswith(".d.ts"):
            continue
        if path.suffix in SOURCE_SUFFIXES and path.is_file() and "convex" in path.parts:
            files.append(path)
    return files


def make_subset(app: Path, count: int) -> Path:
    """A copy of `app` in /tmp with its schema files and the first `count` other modules."""
    target = Path(tempfile.mkdtemp(prefix="xray-stress-"))
    files = source_files(app)
    schema = [f for f in files if f.stem == "schema" or "schema" in f.relative_to(app).parts]
    rest = [f for f in files if f not in schema][: max(0, count - len(schema))]
    for path in schema + rest:
        out = target / path.relative_to(app)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
    for extra in ("package.json", "convex.json", "tsconfig.json"):
        if (app / extra).is_file():
            shutil.copyfile(app / extra, target / extra)
    return target


def inside_function_line(lines: list[str]) -> int:
    """A line in the middle of the file that sits inside a handler body (indented, after a
    `handler:`), to type into."""
    handlers = [i for i, line in enumerate(lines) if "handler:" in line]
    if handlers:
        return handlers[len(handlers) // 2] + 1
    return len(lines) // 2


def open_doc(rpc: Rpc, path: Path, text: str, version: int = 1) -> float:
    return rpc.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri_of(path),
                "languageId": "typescript",
                "version": version,
                "text": text,
            }
        },
    )


def change(rpc: Rpc, path: Path, version: int, line: int, character: int, text: str) -> float:
    position = {"line": line, "character": character}
    return rpc.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri_of(path), "version": version},
            "contentChanges": [{"range": {"start": position, "end": position}, "text": text}],
        },
    )


PHASES = ("burst", "files", "huge")


def run(app: Path, server: list[str], phases: tuple[str, ...] = PHASES) -> dict[str, Any]:
    files = source_files(app)
    results: dict[str, Any] = {"app": str(app), "files": len(files)}
    results["lines"] = sum(p.read_bytes().count(b"\n") for p in files)
    rpc = Rpc(server, app)
    started = time.perf_counter()
    rpc.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": uri_of(app),
            "workspaceFolders": [{"uri": uri_of(app), "name": app.name}],
            "capabilities": {"textDocument": {"publishDiagnostics": {"versionSupport": True}}},
        },
    )
    rpc.wait(lambda m: m.get("id") == 1)
    rpc.notify("initialized", {})
    rpc.wait(
        lambda m: m.get("method") == "convexXray/status" and m["params"].get("state") == "ready"
    )
    results["index_s"] = round(time.perf_counter() - started, 2)
    rpc.drain(2.0)
    results["rss_after_index_mb"] = round(rpc.rss_mb(), 1)
    peak = results["rss_after_index_mb"]

    big = max(files, key=lambda p: p.stat().st_size)
    text = big.read_text(encoding="utf-8")
    if "burst" in phases:
        peak = max(peak, _burst(rpc, big, text, results))
    if "files" in phases:
        peak = max(peak, _every_file(rpc, files, results))
    if "huge" in phases:
        peak = max(peak, _huge(rpc, big, text, results))
    results["peak_sampled_rss_mb"] = round(peak, 1)
    rpc.close()
    return results


def _burst(rpc: Rpc, big: Path, text: str, results: dict[str, Any]) -> float:
    uri = uri_of(big)
    open_doc(rpc, big, text)
    rpc.wait(publish_for(uri, 1))
    rpc.drain(1.0)
    line = inside_function_line(text.splitlines())
    versions_sent = [1]
    publishes: list[int | None] = []
    stale: list[int | None] = []

    def count(when: float, message: dict[str, Any]) -> None:
        if publish_for(uri)(message):
            version = message["params"].get("version")
            publishes.append(version)
            if version is not None and version < versions_sent[-1] and when > sent_at[-1]:
                stale.append(version)

    sent_at = [0.0]
    rpc.seen = count  # type: ignore[method-assign]
    typed = "// " + "coalesce every keystroke of this burst " * 8
    change(rpc, big, 2, line, 0, "\n")
    versions_sent.append(2)
    sent_at.append(time.perf_counter())
    for number in range(BURST - 1):
        version = number + 3
        sent_at.append(change(rpc, big, version, line, number, typed[number % len(typed)]))
        versions_sent.append(version)
    last_sent = sent_at[-1]
    when, _ = rpc.wait(publish_for(uri, versions_sent[-1]))
    results["burst_final_ms"] = round((when - last_sent) * 1000, 1)
    rpc.drain(1.5)  # a reconcile may republish once the editor is idle
    rpc.seen = Rpc.seen.__get__(rpc)  # type: ignore[method-assign]
    results["burst_publishes"] = len(publishes)
    results["burst_stale_publishes"] = len(stale)
    rpc.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    rpc.drain(0.5)
    return rpc.rss_mb()


def _every_file(rpc: Rpc, files: list[Path], results: dict[str, Any]) -> float:
    peak = 0.0
    started = time.perf_counter()
    open_ms: list[float] = []
    for path in files:
        file_uri = uri_of(path)
        content = path.read_text(encoding="utf-8", errors="replace")
        sent = open_doc(rpc, path, content)
        when, _ = rpc.wait(publish_for(file_uri, 1))
        open_ms.append((when - sent) * 1000)
        change(rpc, path, 2, 0, 0, " ")
        rpc.wait(publish_for(file_uri, 2))
        rpc.notify("textDocument/didClose", {"textDocument": {"uri": file_uri}})
        if len(open_ms) % 50 == 0:
            peak = max(peak, rpc.rss_mb())
    results["open_edit_close_all_s"] = round(time.perf_counter() - started, 2)
    open_ms.sort()
    results["open_p50_ms"] = round(open_ms[len(open_ms) // 2], 1)
    results["open_p95_ms"] = round(open_ms[int(len(open_ms) * 0.95)], 1)
    rpc.drain(2.0)
    results["rss_after_close_mb"] = round(rpc.rss_mb(), 1)
    return max(peak, results["rss_after_close_mb"])


def _huge(rpc: Rpc, big: Path, text: str, results: dict[str, Any]) -> float:
    copies = max(1, 50_000 // max(1, text.count("\n")))
    huge_text = "\n".join([text] * copies)
    huge = big.parent / "__xray_stress_50k.ts"  # an unsaved buffer: never written
    huge_uri = uri_of(huge)
    sent = open_doc(rpc, huge, huge_text)
    when, _ = rpc.wait(publish_for(huge_uri, 1))
    results["huge_lines"] = huge_text.count("\n") + 1
    results["huge_first_diagnostics_ms"] = round((when - sent) * 1000, 1)
    rpc.drain(1.0)
    results["huge_open_rss_mb"] = round(rpc.rss_mb(), 1)
    rpc.notify("textDocument/didClose", {"textDocument": {"uri": huge_uri}})
    rpc.drain(2.0)
    results["rss_after_huge_closed_mb"] = round(rpc.rss_mb(), 1)
    return results["huge_open_rss_mb"]


def machine() -> dict[str, Any]:
    cpu = ""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app", type=Path, help="a Convex app directory (read only)")
    parser.add_argument("--subset", type=int, default=0, help="copy this many files to /tmp")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--server", default=" ".join(SERVER), help="the server command")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="which phases to run (comma-separated)"
    )
    args = parser.parse_args(argv)
    app = args.app.resolve()
    copy = make_subset(app, args.subset) if args.subset else None
    try:
        results = run(copy or app, args.server.split(), tuple(args.phases.split(",")))
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)
    results["subset_of"] = str(app) if copy else None
    results["machine"] = machine()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
