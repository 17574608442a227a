"""A scan tried only where a match can begin gives exactly `finditer`'s matches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convex_xray.engine import triggers
from convex_xray.engine.textscan import lookahead_matches

# Pieces around what the pattern looks for: line breaks, keywords glued to names, partial
# keywords, internal builders with and without type annotations, overlapping candidates.
_PIECES = ["\n", "\r\n", " ", "\t", "export", "export ", "const ", "const", "x", "$a", "_1", "=", ":", ": T", " = ",
           "internalQuery", "internalMutation<", "internalAction(", "query(", "(", "<", "{", "}", ";",
           "// export const z = internalQuery(", "exp", "ort", "\u00fc"]


def _same(data: bytes) -> None:
    found = lookahead_matches(triggers._INTERNAL, b"export", data)
    expected = triggers._INTERNAL.finditer(data)
    assert [(m.span(), m.groups()) for m in found] == [(m.span(), m.groups()) for m in expected]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "export const a = internalQuery({",
        "\n\n  export const a = internalQuery(\nexport const b: X<Y> = internalMutation({",
        "export const a = export const b = internalAction(",  # overlapping candidates
        "xexport const a = internalQuery(",
        "export const a: {\n} = internalQuery(",
    ],
)
def test_examples(text):
    _same(text.encode())


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_any_text(pieces):
    _same("".join(pieces).encode())


def test_the_pattern_is_one_lookahead_opening_with_the_literal():
    assert triggers._INTERNAL.pattern.startswith(b"(?=export") and triggers._INTERNAL.pattern.endswith(b")")
