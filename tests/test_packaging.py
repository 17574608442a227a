"""The built wheel: one import root `convex_xray` (no bare `server`/`rules` in site-packages),
every module of server/convex_xray/ inside it, the console script, py.typed."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED = ("server",)


def _copy_sources(target: Path) -> None:
    """What a build reads, copied so the build never writes into the working tree."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")
    for name in SHIPPED:
        shutil.copytree(REPO / name, target / name, ignore=ignore)


def _python_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*.py") if "__pycache__" not in p.parts]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("src")
    out = tmp_path_factory.mktemp("wheel")
    _copy_sources(source)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "-w",
        str(out),
        str(source),
    ]
    # Without network access to fetch build requirements, build with what is installed.
    if importlib.util.find_spec("setuptools") and importlib.util.find_spec("wheel"):
        command.insert(4, "--no-build-isolation")
    process = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    [built] = list(out.glob("convex_xray-*.whl"))
    return zipfile.ZipFile(built)


def test_one_import_root(wheel):
    tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert len(dist_info) == 1
    assert tops - dist_info == {"convex_xray"}, "nothing but convex_xray may land in site-packages"
    [info] = dist_info
    top_level = f"{info}/top_level.txt"
    if top_level in wheel.namelist():
        assert wheel.read(top_level).decode().split() == ["convex_xray"]


def test_every_module_is_shipped_under_convex_xray(wheel):
    names = set(wheel.namelist())
    missing = []
    for python in _python_files(REPO / "server"):
        relative = python.relative_to(REPO / "server").as_posix()
        if relative not in names:  # server/convex_xray/x.py ships as convex_xray/x.py
            missing.append(f"server/{relative}")
    assert not missing, f"not in the wheel (list the package in pyproject.toml): {missing}"
    assert "convex_xray/py.typed" in names
    assert "convex_xray/__main__.py" in names


def test_console_script(wheel):
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["console_scripts"]["convex-xray"] == "convex_xray.cli.main:main"


def test_metadata(wheel):
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    assert "Name: convex-xray" in text
    assert "Requires-Python: >=3.10" in text
    for requirement in ("pygls", "lsprotocol", "cattrs", "tree-sitter", "tree-sitter-typescript"):
        assert f"Requires-Dist: {requirement}" in text
