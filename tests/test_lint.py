"""The code stays ruff- and mypy-clean (the same commands the developers run)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    if shutil.which("ruff", path=str(Path(sys.executable).parent)) is None and shutil.which("ruff") is None:
        pytest.skip("ruff not installed (the [test] extra has it)")
    completed = _run(sys.executable, "-m", "ruff", "check", ".")
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_mypy_is_clean():
    pytest.importorskip("mypy")
    completed = _run(sys.executable, "-m", "mypy")
    assert completed.returncode == 0, completed.stdout + completed.stderr
