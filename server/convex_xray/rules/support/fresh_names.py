"""Names for the code fixes generate: fresh (clashing with nothing visible where they are
declared, nor with what other fixes built in the same function declare) and read from the
code (`post.authorId` -> `authors`, table `users` -> `user`)."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import DbRead, Event
from convex_xray.engine.syntax import pattern_names, text_of, unwrap
from convex_xray.rules.support.words import plural, singular

if TYPE_CHECKING:
    from convex_xray.engine.context import RuleContext

__all__ = ["GENERIC", "FreshNames", "base_name", "camel", "fresh_names", "plural", "singular"]

# Names earlier fixes of this check declare in a scope: two loops in one function are fixed
# in the same pass, so each must hoist names the other doesn't (else TS2451, redeclared).
_HANDED_OUT: MemoKey[set[str]] = MemoKey("names declared by fixes already built in a top-level scope")
_VISIBLE_NAMES: MemoKey[frozenset[str]] = MemoKey("names visible in a top-level scope")


def base_name(ctx: RuleContext, read: DbRead, key: Node) -> str:
    """`post.authorId` -> "author"; table-qualified reads use the table ("users" -> "user")."""
    if read.table:
        return singular(camel(read.table))
    node = unwrap(key)
    last = text_of(node.child_by_field_name("property")) if node is not None and node.type == "member_expression" else text_of(node)
    for suffix in ("Id", "_id", "ID"):
        if last.endswith(suffix) and len(last) > len(suffix):
            return last[: -len(suffix)]
    return GENERIC


GENERIC = "doc"  # the base name when neither a table nor the key names the documents


def camel(name: str) -> str:
    parts = re.split(r"[_\W]+", name)
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:]) if parts else name


class FreshNames:
    """Fresh names that clash with no identifier visible where they are declared."""

    def __init__(self, used: set[str], handed_out: set[str] | None = None) -> None:
        self.taken = set(used)
        # Shared with the other fixes built in the same scope by this check (see _HANDED_OUT).
        self.handed_out = handed_out if handed_out is not None else set()

    def fresh(self, wanted: str) -> str:
        candidate, n = wanted, 2
        while candidate in self.taken or candidate in self.handed_out:
            candidate = f"{wanted}{n}"
            n += 1
        self.taken.add(candidate)
        self.handed_out.add(candidate)
        return candidate


@cache
def _identifier_query(language: Language) -> Query:
    return Query(
        language,
        "[(identifier) (shorthand_property_identifier) (shorthand_property_identifier_pattern)] @name",
    )


def _top_level_scope(ctx: RuleContext, read: Event) -> Node:
    function = read.function
    while function is not None and function.parent is not None:
        function = function.parent
    return function.definition if function is not None else ctx.source.root


def fresh_names(ctx: RuleContext, read: Event) -> FreshNames:
    """A name source for one fix: clear of every visible identifier and of the names other
    fixes in the same top-level scope already declare."""
    scope = _top_level_scope(ctx, read)
    handed_out = ctx.memo.get(_HANDED_OUT, scope.id)
    if handed_out is None:
        handed_out = ctx.memo.put(_HANDED_OUT, set(), scope.id)
    return FreshNames(_visible_names(ctx, read), handed_out)


def _visible_names(ctx: RuleContext, read: Event) -> set[str]:
    """Identifiers a new name must not collide with: those of the enclosing top-level
    function and the module's own top-level names."""
    model = ctx.model
    assert model is not None
    scope = _top_level_scope(ctx, read)
    cached = ctx.memo.get(_VISIBLE_NAMES, scope.id)
    if cached is None:
        cursor = QueryCursor(_identifier_query(ctx.source.language))
        cursor.set_byte_range(scope.start_byte, scope.end_byte)
        names = {text_of(n) for n in cursor.captures(scope).get("name", [])}
        names.update(model.imports)
        names.update(f.name for f in model.functions if f.parent is None)
        for statement in ctx.source.root.named_children:
            declaration = statement.child_by_field_name("declaration") if statement.type == "export_statement" else statement
            if declaration is not None and declaration.type in ("lexical_declaration", "variable_declaration"):
                for declarator in declaration.named_children:
                    if declarator.type == "variable_declarator":
                        names.update(pattern_names(declarator.child_by_field_name("name")))
        cached = ctx.memo.put(_VISIBLE_NAMES, frozenset(names), scope.id)
    return set(cached)
