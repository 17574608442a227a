"""The language server under a Python audit hook: any subprocess, exec or network socket
use is written to $CONVEX_XRAY_AUDIT_LOG (and refused). Run by tests/lsp/test_robustness.py."""

from __future__ import annotations

import os
import sys

FORBIDDEN = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.getaddrinfo",
)
LOG = os.environ["CONVEX_XRAY_AUDIT_LOG"]


def hook(event: str, args: tuple) -> None:
    if event.startswith(FORBIDDEN):
        with open(LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{event} {args!r}"[:500] + "\n")
        raise RuntimeError(f"forbidden while serving: {event}")


if __name__ == "__main__":
    from convex_xray.lsp.server import run_server

    sys.addaudithook(hook)
    run_server()
