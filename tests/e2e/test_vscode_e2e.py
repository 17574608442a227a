"""Real VS Code (code-server) in headless Chromium: Problems panel and the batch-fetch Quick Fix.

Opt-in (heavy: the first run installs Node 24, code-server and playwright-core into a cache
and builds the .vsix): `CONVEX_XRAY_E2E_VSCODE=1 python -m pytest -m vscode tests/e2e/test_vscode_e2e.py`.
See tests/e2e/vscode_e2e/harness.py and docs/editors.md.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.vscode,
    pytest.mark.skipif(
        os.environ.get("CONVEX_XRAY_E2E_VSCODE") != "1",
        reason="the VS Code end-to-end test is opt-in: set CONVEX_XRAY_E2E_VSCODE=1",
    ),
]

HARNESS = Path(__file__).parent / "vscode_e2e" / "harness.py"


def _harness():
    spec = importlib.util.spec_from_file_location("convex_xray_vscode_e2e_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_problems_panel_and_batch_fetch_quick_fix_in_vscode():
    harness = _harness()
    try:
        tools = harness.ensure_tools()
    except harness.SetupError as exc:
        pytest.fail(f"could not set up the VS Code end-to-end test:\n{exc}", pytrace=False)

    outcome = harness.run_e2e(tools)

    steps = [entry["step"] for entry in outcome.report.get("steps", [])]
    assert outcome.ok, (
        f"{outcome.error}\nsteps: {steps}\nartifacts (screenshot, logs): {outcome.artifacts}"
    )
    target = outcome.target
    # The Problems panel listed the file with as many problems as the CLI reports, N+1 reads among them.
    assert any(
        "n-plus-one-read" in row and "convex-xray" in row for row in outcome.report["problems"]
    )
    assert f"{target['countBefore']} problems in file teams.ts" in outcome.report["problems"][0]
    # Ctrl+. offered the batch-fetch fix, and saving wrote exactly the text the CLI's fix makes.
    assert any(action.startswith(target["fixTitle"]) for action in outcome.report["actions"])
    assert outcome.report["diskMatchesExpected"] is True
    assert outcome.disk_text == target["expectedText"] != target["originalText"]
    # Afterwards the read is gone from the panel, which shows the CLI's count for the fixed file.
    assert "problem gone" in steps
    assert target["countAfter"] < target["countBefore"]
    # The status bar showed the CLI's count for the whole app, and followed the fix.
    assert f"convex-xray: {target['totalBefore']} problems" in outcome.report["statusBefore"]
    assert f"convex-xray: {target['totalAfter']} problems" in outcome.report["statusAfter"]
    assert "status count after the fix" in steps and target["totalAfter"] < target["totalBefore"]
    # "Open performance report" from the Command Palette showed the report in a webview.
    assert harness.REPORT_COMMAND in outcome.report["reportCommandRow"]
    assert outcome.report["reportHeading"] == f"Convex X-Ray performance report: {harness.EXAMPLE.name}"
    assert steps[-1] == "report shown"
