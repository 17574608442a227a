"""The language server with closed files released in every app, however small (the threshold is
1 MB of source, `session.RELEASE_FROM_BYTES`, which no test fixture reaches), and none
kept once parsed again (`KEEP_CLOSED_BYTES`). Run by
tests/lsp/test_release.py to drive the release paths over stdio as an editor does."""

from __future__ import annotations

if __name__ == "__main__":
    from convex_xray.lsp import session
    from convex_xray.lsp.server import run_server

    session.RELEASE_FROM_BYTES = 0
    session.KEEP_CLOSED_BYTES = 0  # (nothing kept once parsed again: every closed file released)
    run_server()
