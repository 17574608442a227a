"""A scan tried only where a match can begin gives exactly `finditer`'s matches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convex_xray.engine import expiry, triggers, writers
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


LINE_START = {"expiry units": expiry._TOP_LEVEL, "writers statements": writers._TOP_LEVEL}
# Line breaks inside and between keywords (`\s+` spans them), keywords glued to names or
# brackets, partial keywords, indented keywords (no match: `^` then a keyword).
_LINE_PIECES = ["\n", "\r\n", " ", "\t", "export", "export ", "default ", "async ", "const ", "let ", "var ",
                "function", "class", "class ", "x", "$a", "(", "{", "}", ";", "=", "exp", "ort", "con", "st", "\u00fc"]


def _same_lines(data: bytes) -> None:
    for scan in LINE_START.values():
        found = [(m.span(), m.groups()) for m in scan.finditer(data)]
        assert found == [(m.span(), m.groups()) for m in scan.pattern.finditer(data)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "export const a = 1;\nconst b = 2;",
        "export\nconst a = 1",  # a match over a line break: the next line start is inside it
        "class\n(x)\nclass Foo {}",  # a match ending at a line start (`\s+` took the break)
        "  const indented = 1;\nvar v;\nlet\n\nfunction f() {}\nasync function g() {}\ndefault class",
        "\nexport default async function h() {}",
    ],
)
def test_line_start_examples(text):
    _same_lines(text.encode())


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=40))
def test_line_start_any_text(pieces):
    _same_lines("".join(pieces).encode())


def test_the_line_start_patterns_open_with_keywords_of_those_first_letters():
    # Each keyword a match can start with begins with one of the scan's first letters.
    for scan in LINE_START.values():
        assert scan.pattern.pattern.startswith(b"^(?:export\\s+)?(?:default\\s+)?(?:async\\s+)?(?:const|let|var|function|class)")
        assert scan.pattern.match(b"") is None
        for keyword in (b"export", b"default", b"async", b"const", b"let", b"var", b"function", b"class"):
            assert keyword[:1] in b"edacvlf"


# References after word characters (`\b` must see the byte before), inside longer words,
# spread over line breaks, one right after another.
_REFERENCE_PIECES = ["internal", "api", "xapi", "_", "$", ".", " . ", "\n", "jobs", "run", "(", ")", "a", "internalapi",
                     " as any)", " as ", "any", " ", "\u00fc"]


def _same_references(data: bytes) -> None:
    scan = expiry._REFERENCE
    found = [(m.span(), m.groups()) for m in scan.finditer(data)]
    assert found == [(m.span(), m.groups()) for m in scan.pattern.finditer(data)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "internal.jobs.run",
        "xinternal.jobs.run api.a",
        "internal.api.x",
        "api\n  .jobs\n  .run(internal.a)",
        "_api.x $internal.y",
        "(internal as any).jobs.run (api as any).x",
        "(internal as any) .a",
    ],
)
def test_reference_examples(text):
    _same_references(text.encode())


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_REFERENCE_PIECES), max_size=40))
def test_reference_any_text(pieces):
    _same_references("".join(pieces).encode())
