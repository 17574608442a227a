"""Every quick fix the editor offers applies an edit: over the example app and the benchmark
generator's workspace, each code action for each diagnostic is either the documentation
command or carries (after resolving, when the client resolves lazily) at least one text
edit. A fix that only advises belongs in the message, never in the quick-fix menu."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.harness import TIMEOUT
from tests.support.project import EXAMPLE_APP

ROOT = Path(__file__).resolve().parents[2]


def _text_edit_count(edit: types.WorkspaceEdit | None) -> int:
    if edit is None:
        return 0
    count = sum(len(items) for items in (edit.changes or {}).values())
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            count += len(change.edits)
    return count


async def _assert_every_action_edits(session, app: Path) -> int:
    files = sorted(p for p in (app / "convex").rglob("*.ts") if "_generated" not in p.parts)
    checked = 0
    for path in files:
        uri = session.open(str(path.relative_to(app)))
        diagnostics = await session.client.diagnostics_for(uri, version=1)
        for diagnostic in diagnostics:
            result = await asyncio.wait_for(
                session.client.text_document_code_action_async(
                    types.CodeActionParams(
                        text_document=types.TextDocumentIdentifier(uri=uri),
                        range=diagnostic.range,
                        context=types.CodeActionContext(diagnostics=[diagnostic]),
                    )
                ),
                TIMEOUT,
            )
            for action in result or []:
                assert isinstance(action, types.CodeAction)
                if action.command is not None and action.command.title.startswith("Show documentation"):
                    continue
                if action.edit is None and action.data is not None:
                    action = await asyncio.wait_for(session.client.code_action_resolve_async(action), TIMEOUT)
                assert _text_edit_count(action.edit) > 0, (path.name, diagnostic.code, action.title)
                assert not action.title.endswith("(suggestion)"), action.title
                checked += 1
    return checked


@pytest.mark.skipif(not (EXAMPLE_APP / "convex").is_dir(), reason="the example app is not there")
async def test_every_quick_fix_on_the_example_app_applies_an_edit(start, tmp_path):
    app = tmp_path / "club-hub"
    shutil.copytree(EXAMPLE_APP, app, ignore=shutil.ignore_patterns("node_modules", "tests"))
    session = await start(app)
    assert await _assert_every_action_edits(session, app) > 0


async def test_every_quick_fix_on_the_generated_workspace_applies_an_edit(start, tmp_path):
    app = tmp_path / "ws"
    generator = ROOT / "benchmarks" / "generate.py"
    subprocess.run(
        [sys.executable, str(generator), "--files", "20", "--out", str(app), "--quiet"], check=True, timeout=120
    )
    session = await start(app)
    assert await _assert_every_action_edits(session, app) > 0
