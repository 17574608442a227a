"""Fixtures shared by every test (the helpers themselves live in `tests.support`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.project import DEFAULT_SCHEMA, write_project


@pytest.fixture
def project(tmp_path: Path):
    def make(files: dict[str, str], schema: str | None = DEFAULT_SCHEMA) -> Path:
        return write_project(tmp_path / "app", files, schema)

    return make
