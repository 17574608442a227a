#!/usr/bin/env python3
"""LSP latency benchmark: a client indexes a generated workspace, opens a ~3,000-line Convex
module and types into it one character at a time, timing didChange -> fresh diagnostics.

    python benchmarks/lsp_bench.py                       # 300-file workspace, 3 runs
    python benchmarks/lsp_bench.py --files 300 --runs 5 --json results-lsp.json
    python benchmarks/lsp_bench.py --workspace DIR --file DIR/convex/big/dashboard.ts

Per run (a fresh server process each time):

* index: `initialized` sent -> the server's `convexXray/status` `ready` (every file parsed,
  modelled and checked, workspace rules included);
* open: `didOpen` of the long file -> its first `publishDiagnostics` (after indexing), and
  the same for a second server that gets the `didOpen` right after `initialize`, while it is
  still indexing (so start-up counts: warm-up, configuration, discovery), and for a third that
  gets it once indexing reports progress (`open_mid_indexing_ms`: a file opened while the app
  indexes; NaN when indexing ended before that);
* keystrokes: at several places inside handlers (different functions, so the server's
  per-function slices are rebuilt too) a line of real code is typed character by character,
  Enter included, each as an incremental `didChange`; the time from sending it to the
  `publishDiagnostics` carrying that version. Transient syntax errors are part of typing.
  Then keystrokes outside every function, reported on their own: a comment line typed at
  the top of the file, then a new name typed into the first `import { ... }`;
* RSS: the server's resident set after indexing and at its peak (`/proc/<pid>/status`).

`run(workspace, file, server_cmd, runs)` is the entry point `benchmarks/run.py --lsp` calls.
Stdlib + pygls/lsprotocol (the server's own dependencies).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
DEFAULT_SERVER = [sys.executable, "-m", "convex_xray", "lsp"]
SNIPPET = 'const extra = await ctx.db.query("players").take(5);\n    '
SITES = 4  # places typed into, in different functions
TIMEOUT = 120.0


@dataclass
class RunResult:
    index_ms: float
    files: int
    open_ms: float
    open_while_indexing_ms: float
    open_mid_indexing_ms: float
    keystrokes_ms: list[float] = field(default_factory=list)
    outside_ms: list[float] = field(default_factory=list)  # keystrokes outside any function
    rss_after_index_mb: float = 0.0
    peak_rss_mb: float = 0.0


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("convex-xray-lsp-bench", "1")
        self.waiting: dict[tuple[str, int | None], asyncio.Future[float]] = {}
        self.ready: asyncio.Future[dict[str, Any]] | None = None
        # Set when indexing reports it is under way (a status with percent > 0): the moment a
        # user opens a file while the app indexes, past the server's start-up.
        self.midway: asyncio.Future[float] | None = None


def _client() -> Client:
    client = Client()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        future = client.waiting.pop((params.uri, params.version), None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    @client.feature("convexXray/status")
    def status(params: Any) -> None:
        state = getattr(params, "state", None)
        if state == "ready" and client.ready is not None and not client.ready.done():
            client.ready.set_result({"files": getattr(params, "files", 0)})
        midway = client.midway
        if state == "indexing" and (getattr(params, "percent", 0) or 0) > 0 and midway is not None and not midway.done():
            midway.set_result(time.perf_counter())

    @client.feature(types.PROGRESS)
    def progress(params: types.ProgressParams) -> None:
        return None

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
        return None

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def configuration(params: types.ConfigurationParams) -> list[Any]:
        return [None for _ in params.items]

    return client


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of a process, in MiB (Linux /proc; 0 elsewhere)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


async def _start(server_cmd: list[str], workspace: Path) -> Client:
    client = _client()
    await client.start_io(*server_cmd)
    client.ready = asyncio.get_running_loop().create_future()
    await asyncio.wait_for(
        client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True),
                    text_document=types.TextDocumentClientCapabilities(
                        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                            version_support=True
                        )
                    ),
                ),
                workspace_folders=[
                    types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)
                ],
                process_id=os.getpid(),
            )
        ),
        TIMEOUT,
    )
    return client


async def _stop(client: Client) -> None:
    try:
        await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
        client.exit(None)
    except Exception:
        pass
    server = getattr(client, "_server", None)
    if server is not None and server.returncode is None:
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
    await client.stop()


def _expect(client: Client, uri: str, version: int | None) -> asyncio.Future[float]:
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    client.waiting[(uri, version)] = future
    return future


def _open(client: Client, uri: str, text: str) -> asyncio.Future[float]:
    future = _expect(client, uri, 1)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="typescript", version=1, text=text)
        )
    )
    return future


def _sites(text: str, count: int) -> list[int]:
    """Character offsets of the last `return` statement line of `count` different handlers,
    spread over the file from its middle (typing goes just before that line)."""
    returns: list[int] = []  # one per handler: where its first `return` line starts (indented)
    offset = 0
    in_handler = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("handler:"):
            in_handler = True
        elif in_handler and stripped.startswith("return "):
            returns.append(offset + len(line) - len(line.lstrip()))
            in_handler = False
        offset += len(line) + 1
    if not returns:
        raise SystemExit("no handler with a return statement in the file")
    middle = len(returns) // 2
    step = max(1, len(returns) // (count + 1))
    chosen = {returns[min(middle + k * step, len(returns) - 1)] for k in range(count)}
    return sorted(chosen)


def _position(text: str, index: int) -> types.Position:
    before = text[:index]
    line = before.count("\n")
    column_text = before[before.rfind("\n") + 1 :]
    return types.Position(line=line, character=len(column_text.encode("utf-16-le")) // 2)


async def _one_run(
    server_cmd: list[str], workspace: Path, file: Path, keystroke_sites: int
) -> RunResult:
    text = file.read_text(encoding="utf-8")
    uri = file.resolve().as_uri()

    # 1. Open while the server is still indexing.
    client = await _start(server_cmd, workspace)
    sent = time.perf_counter()
    client.initialized(types.InitializedParams())
    opened = _open(client, uri, text)
    open_while_indexing = (await asyncio.wait_for(opened, TIMEOUT) - sent) * 1000
    await asyncio.wait_for(client.ready, TIMEOUT)
    await _stop(client)

    # 1b. Open once indexing is under way (past start-up: warm-up, configuration, discovery).
    client = await _start(server_cmd, workspace)
    client.midway = asyncio.get_running_loop().create_future()
    client.initialized(types.InitializedParams())
    midway_ms = float("nan")
    try:
        await asyncio.wait_for(client.midway, TIMEOUT)
        if client.ready is not None and not client.ready.done():  # (a small app may be done already)
            sent = time.perf_counter()
            midway_ms = (await asyncio.wait_for(_open(client, uri, text), TIMEOUT) - sent) * 1000
    except asyncio.TimeoutError:
        pass
    await asyncio.wait_for(client.ready, TIMEOUT)
    await _stop(client)

    # 2. Index, then open, then type.
    client = await _start(server_cmd, workspace)
    sent = time.perf_counter()
    client.initialized(types.InitializedParams())
    ready = await asyncio.wait_for(client.ready, TIMEOUT)
    index_ms = (time.perf_counter() - sent) * 1000
    pid = client._server.pid  # type: ignore[union-attr]
    rss_after_index, _ = _rss_mb(pid)
    sent = time.perf_counter()
    open_ms = (await asyncio.wait_for(_open(client, uri, text), TIMEOUT) - sent) * 1000

    latencies: list[float] = []
    version = 1
    current = text
    for site in reversed(
        _sites(text, keystroke_sites)
    ):  # bottom-up: earlier sites keep their offsets
        at = site
        for char in SNIPPET:
            position = _position(current, at)
            version += 1
            future = _expect(client, uri, version)
            sent = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(start=position, end=position), text=char
                        )
                    ],
                )
            )
            received = await asyncio.wait_for(future, TIMEOUT)
            latencies.append((received - sent) * 1000)
            current = current[:at] + char + current[at:]
            at += 1
    # Typing outside every Convex function: a comment line at the top of the file, then a
    # new name inside the first `import { ... }` (an import change: only the functions using
    # its names may change).
    outside: list[float] = []
    brace = current.find("import {")
    close = current.find("}", brace) if brace >= 0 else -1
    comment = "// a note about this module"
    typed = [(0, "\n"), (0, comment)]  # Enter at the top, then the comment on the new line
    if close > 0:
        typed.append((close + 1 + len(comment), ", zzExtra "))
    for at, snippet in typed:
        for char in snippet:
            position = _position(current, at)
            version += 1
            future = _expect(client, uri, version)
            sent = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(start=position, end=position), text=char
                        )
                    ],
                )
            )
            outside.append((await asyncio.wait_for(future, TIMEOUT) - sent) * 1000)
            current = current[:at] + char + current[at:]
            at += 1
    _, peak = _rss_mb(pid)
    await _stop(client)
    return RunResult(
        index_ms=index_ms,
        files=ready.get("files", 0),
        open_ms=open_ms,
        open_while_indexing_ms=open_while_indexing,
        open_mid_indexing_ms=midway_ms,
        keystrokes_ms=latencies,
        outside_ms=outside,
        rss_after_index_mb=rss_after_index,
        peak_rss_mb=peak,
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
    }


def run(
    workspace: Path,
    file: Path,
    server_cmd: list[str] | None = None,
    runs: int = 3,
    sites: int = SITES,
) -> dict:
    """The benchmark as `benchmarks/run.py --lsp` calls it; medians over `runs` fresh servers."""
    server_cmd = server_cmd or DEFAULT_SERVER
    results = [asyncio.run(_one_run(server_cmd, workspace, file, sites)) for _ in range(runs)]
    keystrokes = [k for r in results for k in r.keystrokes_ms]
    per_run = [
        {
            "index_ms": round(r.index_ms, 1),
            "open_ms": round(r.open_ms, 1),
            "open_while_indexing_ms": round(r.open_while_indexing_ms, 1),
            "open_mid_indexing_ms": round(r.open_mid_indexing_ms, 1),
            "keystroke_p50_ms": round(_percentile(r.keystrokes_ms, 0.5), 2),
            "keystroke_p95_ms": round(_percentile(r.keystrokes_ms, 0.95), 2),
            "keystroke_p99_ms": round(_percentile(r.keystrokes_ms, 0.99), 2),
            "outside_p50_ms": round(_percentile(r.outside_ms, 0.5), 2),
            "outside_p95_ms": round(_percentile(r.outside_ms, 0.95), 2),
            "rss_after_index_mb": round(r.rss_after_index_mb, 1),
            "peak_rss_mb": round(r.peak_rss_mb, 1),
        }
        for r in results
    ]
    return {
        "file": str(file.relative_to(workspace)) if file.is_relative_to(workspace) else str(file),
        "file_lines": file.read_text(encoding="utf-8").count("\n") + 1,
        "files_indexed": results[0].files,
        "runs": runs,
        "keystrokes": len(keystrokes),
        "index_ms": round(statistics.median(r.index_ms for r in results), 1),
        "open_to_diagnostics_ms": round(statistics.median(r.open_ms for r in results), 1),
        "open_while_indexing_ms": round(
            statistics.median(r.open_while_indexing_ms for r in results), 1
        ),
        "open_mid_indexing_ms": round(statistics.median(r.open_mid_indexing_ms for r in results), 1),
        "keystroke_p50_ms": round(_percentile(keystrokes, 0.5), 2),
        "keystroke_p95_ms": round(_percentile(keystrokes, 0.95), 2),
        "keystroke_p99_ms": round(_percentile(keystrokes, 0.99), 2),
        "keystroke_max_ms": round(max(keystrokes), 2),
        "keystroke_outside_functions_p50_ms": round(
            _percentile([k for r in results for k in r.outside_ms], 0.5), 2
        ),
        "keystroke_outside_functions_p95_ms": round(
            _percentile([k for r in results for k in r.outside_ms], 0.95), 2
        ),
        "keystrokes_outside": sum(len(r.outside_ms) for r in results),
        "rss_after_index_mb": round(statistics.median(r.rss_after_index_mb for r in results), 1),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in results), 1),
        "per_run": per_run,
        "machine": machine(),
        "server": server_cmd,
    }


def _generate(files: int, out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            str(HERE / "generate.py"),
            "--files",
            str(files),
            "--out",
            str(out),
            "--quiet",
        ],
        check=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--files", type=int, default=300, help="size of the generated workspace (default 300)"
    )
    parser.add_argument(
        "--workspace", type=Path, help="an existing workspace instead of a generated one"
    )
    parser.add_argument(
        "--file", type=Path, help="the long file to type into (default convex/big/dashboard.ts)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sites", type=int, default=SITES, help="places typed into (default 4)")
    parser.add_argument("--server", nargs="+", help="command that starts the server on stdio")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="convex-xray-lsp-bench-") as scratch:
        workspace = (
            args.workspace or _generate(args.files, Path(scratch) / f"w{args.files}")
        ).resolve()
        file = (args.file or workspace / "convex" / "big" / "dashboard.ts").resolve()
        result = run(workspace, file, args.server or DEFAULT_SERVER, args.runs, args.sites)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("per_run", "machine", "server")}
    print(json.dumps(summary, indent=2))
    print(json.dumps(result["machine"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["RunResult", "asdict", "machine", "run"]
