"""The bundled example app, end to end (its code may still change: assertions stay general)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from convex_xray.engine.registry import all_rules

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "club-hub"


@pytest.mark.skipif(not (EXAMPLE / "convex").is_dir(), reason="the example app is not there")
async def test_example_app_indexes_and_reports(start, tmp_path):
    app = tmp_path / "club-hub"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("node_modules", "tests"))
    session = await start(app)
    ready = session.client.statuses[-1]
    files = sorted(p for p in (app / "convex").rglob("*.ts") if "_generated" not in p.parts)
    assert ready["files"] == len(files)
    known = {r.meta.slug for r in all_rules()}
    reported = set()
    for path in files:
        if path.name == "schema.ts":
            continue
        uri = session.open(str(path.relative_to(app)))
        diagnostics = await session.client.diagnostics_for(uri, version=1)
        reported |= {d.code for d in diagnostics}
        for d in diagnostics:
            assert d.message and d.source == "convex-xray"
            # The Problems panel shows text as is: no Markdown code spans
            assert "`" not in d.message, d.message
            assert all("`" not in r.message for r in d.related_information or [])
    assert reported and reported <= known
    assert "n-plus-one-read" in reported  # the app is written around the audit's worst shape


@pytest.mark.skipif(not (EXAMPLE / "convex").is_dir(), reason="the example app is not there")
async def test_ready_status_counts_match_the_cli_and_follow_edits(start, tmp_path, capsys):
    import json

    from convex_xray.cli.main import main

    app = tmp_path / "club-hub"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("node_modules", "tests"))
    assert main(["check", str(app), "--format", "json", "--no-cache"]) == 1
    cli = json.loads(capsys.readouterr().out)["summary"]
    session = await start(app)
    ready = await session.client.status("ready")
    # every file, hints included: the numbers `convex-xray check` prints
    assert ready["diagnostics"] == cli["diagnostics"]
    assert {k: ready[f"{k}s"] for k in ("error", "warning", "info", "hint")} == cli["by_severity"]
    # an edit that removes a problem: the status is sent again with the new count
    seen = len(session.client.statuses)
    uri = session.open("convex/auth.ts")
    await session.client.diagnostics_for(uri, version=1)
    session.replace(uri, 'field: "id"', 'field: "_id"')
    after = await session.client.wait_until(
        lambda: next((s for s in session.client.statuses[seen:] if s.get("state") == "ready" and s["diagnostics"] < ready["diagnostics"]), None),
        "a ready status with fewer problems",
    )
    assert after["errors"] == ready["errors"] - 1
