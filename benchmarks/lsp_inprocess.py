#!/usr/bin/env python3
"""The language server's keystroke path in one process, step by step: where a keystroke's
time goes without the pipe, the client and the scheduler of a shared machine.

    python benchmarks/lsp_inprocess.py --workspace /work/corpus/swbam+convex \\
        --file /work/corpus/swbam+convex/convex/admin.ts
    python benchmarks/lsp_inprocess.py ... --profile prof.out   # cProfile of the keystrokes

The same edits as `lsp_bench.py` (its `SNIPPET` typed one character at a time at the same
handler sites, then a comment line and an import name at the top of the file), applied as the
server applies a `didChange` (`Document.edited`, `Project.set_source`/`touched`), each
followed by what the server does before the bytes leave: `check_document` (the slice path
inside a function), findings -> `Diagnostic`s (`convert.diagnostic`, as `Publisher.diagnostics`
calls it), pygls's cattrs unstructure and `json.dumps`. Reports p50/p95 per step, per place
(inside handlers, outside every function) and the size of a publish.

Stdlib + the server's own dependencies; the server is whatever `convex_xray` imports
(`PYTHONPATH=<worktree>/server` to measure another checkout).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import gc
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lsp_bench import SITES, SNIPPET, _sites  # noqa: E402

from convex_xray.engine.source import Encoding, SourceFile, TextChange, apply_changes  # noqa: E402
from convex_xray.lsp import convert  # noqa: E402
from convex_xray.lsp.session import Document, Folder, check_document  # noqa: E402
from convex_xray.lsp.settings import Settings  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rss_mb() -> float:
    """This process's resident set (`VmRSS`), MB; NaN where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def _trim() -> None:
    """Give the C heap's free pages back, as the server does after indexing (`trim_heap`)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


class Bench:
    def __init__(self, workspace: Path, file: Path) -> None:
        folder = Folder(workspace, workspace.as_uri(), Settings())
        problems = folder.discover()
        if problems:
            print("configuration:", problems, file=sys.stderr)
        project = folder.project_for(file)
        if project is None:
            raise SystemExit(f"{file} is in no Convex project under {workspace}")
        # As indexing does (a server without `index_file`, an older checkout, keeps every
        # file's model; a newer one may drop closed files' models as it goes).
        releasing = hasattr(project, "index_file")
        if releasing:
            project.opened(file)
            project.begin_indexing()
        for path in project.workspace.files():
            if releasing:
                project.index_file(path)
            else:
                project.workspace.model(path)
        project.indexed = True
        files = project.workspace.files()
        for start in range(0, len(files), 16):  # (workspace rules, plan), in indexing's batches
            project.check_many(files[start : start + 16])
        if releasing:
            project.release_closed(everything=True)
        gc.collect()
        project.touched(None)
        self.project = project
        self.converter = default_converter()
        text = file.read_text(encoding="utf-8")
        source = project.workspace.source(file) or SourceFile(file, text)
        self.doc = Document(file.as_uri(), file, source, project=project, version=1)
        check_document(self.doc, full=True)
        self.steps: dict[str, dict[str, list[float]]] = {}
        self.sizes: list[int] = []
        self.counts: list[int] = []
        self.uris: dict[Path, str] = {}
        # A checkout from before the publish dropped `data.key` takes it as an argument.
        self.keyed = "key" in inspect.signature(convert.diagnostic).parameters

    def uri_for(self, path: Path) -> str:
        """As `ServerState.uri_for`: each path's URI made once."""
        uri = self.uris.get(path)
        if uri is None:
            uri = self.uris[path] = path.as_uri()
        return uri

    def lines_for(self, path: Path) -> Any:
        """As `ServerState.lines_for`: the open document's snapshot, else the workspace's."""
        if path == self.doc.path:
            return self.doc.source.lines
        source = self.project.workspace.source(path)
        return source.lines if source is not None else None

    def keystroke(self, at: int, char: str, where: str) -> None:
        doc = self.doc
        project = self.project
        version = (doc.version or 0) + 1
        change = TextChange(at, at, char)
        source = apply_changes(doc.source, [change], version)
        doc.edited(source, [change], version)
        project.set_source(source)
        project.touched(doc.uri)
        c0 = time.thread_time()
        t0 = time.perf_counter()
        outcome = check_document(doc)
        t1 = time.perf_counter()
        c1 = time.thread_time()
        diagnostics = [
            convert.diagnostic(
                f,
                doc.source.lines,
                Encoding.UTF16,
                lines_for=self.lines_for,
                uri_for=self.uri_for,
                version=version,
                **({"key": f"{f.rule}:{f.span.start}:{f.span.end}"} if self.keyed else {}),
            )
            for f in outcome.findings
            if f.path == doc.path
        ]
        t2 = time.perf_counter()
        params = types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=diagnostics, version=version)
        plain = self.converter.unstructure(params)
        t3 = time.perf_counter()
        body = json.dumps({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": plain})
        t4 = time.perf_counter()
        c4 = time.thread_time()
        steps = self.steps.setdefault(where, {"check": [], "diagnostics": [], "unstructure": [], "dumps": [], "total": [], "check_cpu": [], "total_cpu": []})
        steps["check"].append((t1 - t0) * 1000)
        steps["diagnostics"].append((t2 - t1) * 1000)
        steps["unstructure"].append((t3 - t2) * 1000)
        steps["dumps"].append((t4 - t3) * 1000)
        steps["total"].append((t4 - t0) * 1000)
        # CPU time of this thread: what the steps cost on a machine shared with other work.
        steps["check_cpu"].append((c1 - c0) * 1000)
        steps["total_cpu"].append((c4 - c0) * 1000)
        self.sizes.append(len(body.encode("utf-8")))
        self.counts.append(len(diagnostics))

    def type_text(self, text: str, sites: int) -> None:
        data = self.doc.source.data
        # `_sites` works on characters; the harness edits bytes: map through the text.
        for site in reversed(_sites(text, sites)):
            at = len(text[:site].encode("utf-8"))
            for char in SNIPPET:
                self.keystroke(at, char, "inside")
                at += len(char.encode("utf-8"))
        data = self.doc.source.data
        comment = "// a note about this module"
        self.keystroke(0, "\n", "outside")
        at = 0
        for char in comment:
            self.keystroke(at, char, "outside")
            at += len(char.encode("utf-8"))
        brace = data.find(b"import {")
        close = data.find(b"}", brace) if brace >= 0 else -1
        if close > 0:
            at = close + 1 + 1 + len(comment)
            for char in ", zzExtra ":
                self.keystroke(at, char, "outside")
                at += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--sites", type=int, default=SITES)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the keystrokes here")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    file = args.file.resolve()
    started = time.perf_counter()
    bench = Bench(args.workspace.resolve(), file)
    setup = time.perf_counter() - started
    gc.collect()
    _trim()
    rss_setup = _rss_mb()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    bench.type_text(file.read_text(encoding="utf-8"), args.sites)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    result: dict[str, Any] = {
        "file": str(file),
        "setup_s": round(setup, 2),
        "rss_after_setup_mb": rss_setup,
        "rss_after_typing_mb": _rss_mb(),
        "diagnostics": max(bench.counts),
        "publish_bytes_p50": int(_percentile([float(s) for s in bench.sizes], 0.5)),
    }
    for where, steps in bench.steps.items():
        result[where] = {
            name: {"p50": round(_percentile(v, 0.5), 2), "p95": round(_percentile(v, 0.95), 2), "mean": round(sum(v) / len(v), 2)}
            for name, v in steps.items()
        } | {"keystrokes": len(steps["total"])}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
