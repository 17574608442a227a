"""Whole-text pattern scans tried only where a match can begin, with `finditer`'s answers."""

from __future__ import annotations

import re
from collections.abc import Iterator


def lookahead_matches(pattern: re.Pattern[bytes], literal: bytes, data: bytes) -> Iterator[re.Match[bytes]]:
    """`pattern.finditer(data)` for a pattern that is one lookahead `(?=<literal>...)` (empty
    matches, so overlapping candidates all count): tried only where `literal` occurs, the only
    offsets where the lookahead can hold. A pattern that opens with a lookahead gives the regex
    engine no literal to search for, so `finditer` tries it at every offset: the internal
    functions' names of a 2,500-line file cost 0.68 ms CPU that way and 0.08 ms here, and the
    editor asks again at every keystroke. (A multiline `^` pattern gains nothing from the same
    trick: the engine tries those offsets fast already; measured, not done.)"""
    at = data.find(literal)
    while at >= 0:
        match = pattern.match(data, at)
        if match is not None:
            yield match
        at = data.find(literal, at + 1)
