"""`check --jobs N`: worker processes give exactly the serial result, in the same order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convex_xray.cli import parallel
from convex_xray.cli.output.json_format import render_json
from convex_xray.engine.config import Config
from convex_xray.engine.runner import run_check
from convex_xray.rules.support.index_usage import MERGED_USAGE
from tests.support.project import EXAMPLE_APP, workspace_for

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "generate.py"


def _json(workspace, result) -> str:
    result.elapsed_ms = 0.0
    return render_json(workspace, result)


@pytest.fixture
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "ws"
    subprocess.run([sys.executable, str(GENERATOR), "--files", "30", "--out", str(out), "--quiet"], check=True, timeout=120)
    return out


@pytest.mark.parametrize("which", ["example", "generated"])
def test_parallel_equals_serial(which, generated, monkeypatch):
    project = EXAMPLE_APP if which == "example" else generated
    monkeypatch.setattr(parallel, "MIN_FILES_PER_JOB", 1)
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    parallel_ws = workspace_for(project, config)
    result = parallel.run_check_parallel(parallel_ws, config, paths=None, jobs=2)
    assert result is not None, "the parallel path was not taken"
    assert not result.failures
    assert _json(parallel_ws, result) == _json(serial_ws, serial)
    # The index-hygiene rules answered from the merged usage, not by re-reading everything.
    assert isinstance(parallel_ws.memo.get(MERGED_USAGE), parallel.MergedIndexUsage)


def test_small_workspaces_stay_serial():
    config = Config()
    workspace = workspace_for(EXAMPLE_APP, config)
    assert parallel.run_check_parallel(workspace, config, paths=None, jobs=2) is None
    assert parallel.run_check_parallel(workspace, config, paths=None, jobs=1) is None
