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

_DECLARED: MemoKey[tuple[frozenset[str], frozenset[str]]] = MemoKey("names declared as non-array iterables, and as arrays")

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


_ARRAY_TYPE = re.compile(r"(?:\[\]|^:?\s*(?:Readonly)?Array\s*<.*>)\s*$")
# Values that are arrays whatever the types: literals, query results, array methods.
_ARRAY_VALUE = re.compile(
    r"^(?:\[|Array\.from\(|Object\.(?:keys|values|entries)\()"
    r"|\.(?:collect|take|map|filter|slice|concat|flat|flatMap|toSorted|toReversed|split)\s*\((?:[^()]|\([^()]*\))*\)$"
)


def declared_non_array(ctx: RuleContext, name: str) -> bool:
    """Whether `name` is declared in the file (the read's function or the module, and so
    anywhere in the module) as a Set, Map, iterator or other non-array iterable."""
    return name in _declared(ctx)[0]


def declared_array(ctx: RuleContext, name: str) -> bool:
    """Whether `name` is declared in the file as an array (`T[]`, `Array<T>`, `[…]`, a query's
    `.collect()`/`.take(n)`, the result of `.map`/`.filter`/…): what `.map` may be called on."""
    return name in _declared(ctx)[1]


def _declared(ctx: RuleContext) -> tuple[frozenset[str], frozenset[str]]:
    """(names declared as non-array iterables, names declared as arrays): one query pass per
    file, remembered in `ctx.memo`."""
    known = ctx.memo.get(_DECLARED, id(ctx.source))
    if known is not None:
        return known
    non_arrays: set[str] = set()
    arrays: set[str] = set()
    cursor = QueryCursor(_declarations_query(ctx.source.language))
    for _, capture in cursor.matches(ctx.source.root):
        declaration = capture["declaration"][0]
        binding = text_of(capture["name"][0])
        type_node = declaration.child_by_field_name("type")
        annotation = text_of(type_node) if type_node is not None else None
        value = declaration.child_by_field_name("value") if declaration.type == "variable_declarator" else None
        text = " ".join(text_of(unwrap(value) or value).split()) if value is not None else ""
        if (annotation is not None and _NON_ARRAY_TYPE.search(annotation)) or (value is not None and _NON_ARRAY_VALUE.search(text)):
            non_arrays.add(binding)
        text = text.removeprefix("await ")
        if (annotation is not None and _ARRAY_TYPE.search(annotation)) or (text and _ARRAY_VALUE.search(text)):
            arrays.add(binding)
    return ctx.memo.put(_DECLARED, (frozenset(non_arrays), frozenset(arrays)), id(ctx.source))
