"""The never-arrows hold: every import of every module (top-level, function-local, under
TYPE_CHECKING, relative) is read with `ast` and checked against the layers.

- engine never imports lsp/ or cli/; rules never import lsp/ or cli/; lsp never imports cli/;
- only lsp/ imports pygls or lsprotocol;
- no module imports another module's private (`_underscore`) name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "convex_xray"

# part -> parts it must never import
NEVER = {
    "engine": ("lsp", "cli"),
    "rules": ("lsp", "cli"),
    "lsp": ("cli",),
}
LSP_ONLY = ("pygls", "lsprotocol")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, located: Path | None = None) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) for every import statement in the file;
    relative imports are resolved as if the file were at `located` (default: where it is)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    located = located or path
    package = _module_name(located)
    if located.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            found.append((node.lineno, module, [alias.name for alias in node.names]))
    return found


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "convex_xray" and len(parts) > 1 else None


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_package_is_found():
    assert len(MODULES) > 40
    assert {_part(_module_name(p)) for p in MODULES} >= {"engine", "lsp", "cli", "rules"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_forbidden_arrow(path: Path):
    here = _part(_module_name(path))
    wrong = []
    for line, module, names in _imports(path):
        there = _part(module)
        targets = [there] if there else []
        if module == "convex_xray":  # `from convex_xray import cli`
            targets = list(names)
        for target in targets:
            if target in NEVER.get(here or "", ()):
                wrong.append(f"{path.name}:{line}: {here} -> {target} ({module})")
        if here != "lsp" and module.split(".")[0] in LSP_ONLY:
            wrong.append(f"{path.name}:{line}: {module} outside lsp/")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_private_name_crosses_a_module(path: Path):
    wrong = [
        f"{path.name}:{line}: {name} from {module}"
        for line, module, names in _imports(path)
        if module.startswith("convex_xray")
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_what_it_must(tmp_path: Path):
    """The reader itself: relative, function-local and TYPE_CHECKING imports are all seen."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from convex_xray.cli.main import main\n"
        "def f():\n    from ..lsp import server\n    import pygls\n"
    )
    modules = {module for _, module, _ in _imports(probe, PACKAGE / "engine" / "probe.py")}
    assert {"convex_xray.cli.main", "convex_xray.lsp", "pygls"} <= modules
