"""`convex-xray report` on the example app: the Markdown and JSON are checked in, so a change
in what the report says shows up as a reviewable diff.

Regenerate after an intended change: `CONVEX_XRAY_UPDATE_SNAPSHOTS=1 pytest tests/e2e/test_report_snapshots.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from convex_xray.cli.main import main
from tests.support.project import EXAMPLE_APP

SNAPSHOTS = Path(__file__).parent / "snapshots"
APP_PLACEHOLDER = "<club-hub>"


def _report(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(EXAMPLE_APP)
    out = tmp_path / f"report.{fmt}"
    assert main(["report", "--format", fmt, "-o", str(out), "--no-cache", "--jobs", "1", "--no-progress"]) == 0
    # JSON paths are absolute: the checkout's location is not part of the snapshot.
    return out.read_text(encoding="utf-8").replace(str(EXAMPLE_APP.resolve()), APP_PLACEHOLDER)


@pytest.mark.parametrize("fmt, suffix", [("markdown", "md"), ("json", "json")])
def test_report_matches_the_snapshot(fmt: str, suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    text = _report(fmt, tmp_path, monkeypatch)
    snapshot = SNAPSHOTS / f"club-hub.report.{suffix}"
    if os.environ.get("CONVEX_XRAY_UPDATE_SNAPSHOTS"):
        snapshot.write_text(text, encoding="utf-8")
    assert text == snapshot.read_text(encoding="utf-8"), "the example app's report changed; review and regenerate the snapshot"


def test_the_report_names_the_apps_known_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Independent of the snapshot: the planted bugs are listed first and the index advice is there."""
    text = _report("markdown", tmp_path, monkeypatch)
    bugs = text.split("## Functional bugs first", 1)[1].split("## Top", 1)[0]
    for rule in ("better-auth-id-field", "unknown-index", "index-range-order"):
        assert rule in bugs
    schema = text.split("## Schema changes", 1)[1].split("## Fix phases", 1)[0]
    assert "`by_alias`" in schema and "`by_actorId`" in schema
    assert "convex-xray check . --fix" in text
