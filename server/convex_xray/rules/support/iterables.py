"""Which names hold a collection that is not an array (a Set, a Map, an iterator).

`for (const x of xs)` takes any iterable, `xs.map` only arrays: a fix that rewrites a loop
into (or prefetches with) `xs.map(...)` must know `xs` is an array.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from tree_sitter import Language, Query, QueryCursor

from convex_xray.engine.memo import MemoKey
from convex_xray.engine.syntax import text_of, unwrap

if TYPE_CHECKING:
    from convex_xray.engine.context import RuleContext

_NON_ARRAY_NAMES: MemoKey[frozenset[str]] = MemoKey("names declared as a non-array iterable")

# `for (const x of xs)` works on any iterable, `xs.map` only on arrays: a collection
# declared as one of these is not batch-fetched (`.map` would throw, and an iterator
# would be used up by the prefetch before the loop runs).
_NON_ARRAY_TYPE = re.compile(
    r"\b(?:Readonly|Weak)?(?:Set|Map)\s*<|\b(?:Async)?(?:Iterable|Iterator|IterableIterator|Generator)\b"
)
_NON_ARRAY_VALUE = re.compile(r"^new\s+(?:Weak)?(?:Set|Map)\b|\.(?:keys|values|entries|matchAll)\s*\([^()]*\)$")


_DECLARATIONS = """
(variable_declarator name: (identifier) @name) @declaration
(required_parameter pattern: (identifier) @name) @declaration
(optional_parameter pattern: (identifier) @name) @declaration
"""


@cache
def _declarations_query(language: Language) -> Query:
    return Query(language, _DECLARATIONS)


def declared_non_array(ctx: RuleContext, name: str) -> bool:
    """Whether `name` is declared in the file (the read's function or the module, and so
    anywhere in the module) as a Set, Map, iterator or other non-array iterable.

    One query pass per file, remembered in `ctx.memo`: the names so declared."""
    names = ctx.memo.get(_NON_ARRAY_NAMES, id(ctx.source))
    if names is None:
        found: set[str] = set()
        cursor = QueryCursor(_declarations_query(ctx.source.language))
        for _, capture in cursor.matches(ctx.source.root):
            declaration = capture["declaration"][0]
            binding = capture["name"][0]
            annotation = declaration.child_by_field_name("type")
            value = declaration.child_by_field_name("value") if declaration.type == "variable_declarator" else None
            if (annotation is not None and _NON_ARRAY_TYPE.search(text_of(annotation))) or (
                value is not None and _NON_ARRAY_VALUE.search(" ".join(text_of(unwrap(value) or value).split()))
            ):
                found.add(text_of(binding))
        names = ctx.memo.put(_NON_ARRAY_NAMES, frozenset(found), id(ctx.source))
    return name in names



_KNOWN_ARRAYS: MemoKey[frozenset[str]] = MemoKey("names declared as an array")
_ARRAY_TYPE = re.compile(r"(?:\[\]|^:?\s*(?:Readonly)?Array\s*<.*>)\s*$")
# Values that are arrays whatever the types: literals, query results, array methods.
_ARRAY_VALUE = re.compile(
    r"^(?:\[|Array\.from\(|Object\.(?:keys|values|entries)\()"
    r"|\.(?:collect|take|map|filter|slice|concat|flat|flatMap|toSorted|toReversed|split)\s*\((?:[^()]|\([^()]*\))*\)$"
)


def declared_array(ctx: RuleContext, name: str) -> bool:
    """Whether `name` is declared in the file as an array (`T[]`, `Array<T>`, `[…]`, a query's
    `.collect()`/`.take(n)`, the result of `.map`/`.filter`/…): what `.map` may be called on."""
    names = ctx.memo.get(_KNOWN_ARRAYS, id(ctx.source))
    if names is None:
        found: set[str] = set()
        cursor = QueryCursor(_declarations_query(ctx.source.language))
        for _, capture in cursor.matches(ctx.source.root):
            declaration = capture["declaration"][0]
            annotation = declaration.child_by_field_name("type")
            value = declaration.child_by_field_name("value") if declaration.type == "variable_declarator" else None
            text = " ".join(text_of(unwrap(value) or value).split()) if value is not None else ""
            text = text.removeprefix("await ")
            if (annotation is not None and _ARRAY_TYPE.search(text_of(annotation))) or (text and _ARRAY_VALUE.search(text)):
                found.add(text_of(capture["name"][0]))
        names = ctx.memo.put(_KNOWN_ARRAYS, frozenset(found), id(ctx.source))
    return name in names
