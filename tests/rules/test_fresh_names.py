"""Names generated for hoisted values read as English (`statusKeys`, not `statuKeys`)."""

from __future__ import annotations

import pytest

from convex_xray.rules.support.fresh_names import singular


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("users", "user"),
        ("categories", "category"),
        ("coaches", "coach"),
        ("addresses", "address"),
        ("status", "status"),
        ("orderStatus", "orderStatus"),
        ("analysis", "analysis"),
        ("class", "class"),
        ("player", "player"),
    ],
)
def test_singular(word, expected):
    assert singular(word) == expected
