"""How the result of a query is used after it is read (sliced, counted, filtered in JS...).

This is what separates a harmless `.collect()` from one that loads a whole org to keep ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine.model import QueryChain
from convex_xray.engine.syntax import call_args, returned_expression, text_of, unwrap


@cache
def _identifier_query(language: Language) -> Query:
    return Query(language, "[(identifier) (shorthand_property_identifier)] @name")


def _identifiers_after(scope: Node, offset: int, language: Language | None) -> list[Node]:
    """Identifiers in `scope` from `offset` on: a query run in C when the grammar is known."""
    if language is not None:
        cursor = QueryCursor(_identifier_query(language))
        cursor.set_byte_range(offset, scope.end_byte)
        return sorted(cursor.captures(scope).get("name", []), key=lambda n: n.start_byte)
    found = []
    stack = [scope]
    while stack:
        node = stack.pop()
        if node.end_byte <= offset:
            continue
        if node.type in ("identifier", "shorthand_property_identifier"):
            found.append(node)
            continue
        stack.extend(node.children)
    return sorted(found, key=lambda n: n.start_byte)


_TRANSPARENT = frozenset({"parenthesized_expression", "await_expression", "non_null_expression", "as_expression"})


@dataclass(slots=True)
class ResultUse:
    kind: str  # sliced | counted | indexed | bounded | js-filtered | other
    node: Node | None = None  # the use site (`.slice(0, 10)` call, `.length`, `.filter(...)`)
    # The slice bound, the filtered field; for `counted` and `indexed`, how many results the
    # use can see (`.length > 0` -> "1", `[2]` -> "3"; "" when it depends on all of them).
    detail: str = ""
    variable: str | None = None
    direct: bool = False  # used right on the expression: `(await q.collect()).slice(0, n)`


def _outer(node: Node) -> Node:
    while node.parent is not None and node.parent.type in _TRANSPARENT:
        node = node.parent
    return node


def _assigned(node: Node) -> bool:
    parent = node.parent
    return parent is not None and parent.type in ("assignment_expression", "augmented_assignment_expression") and parent.child_by_field_name("left") == node


# `length OP c` is decided by min(length, k): k per operator, literal on the right.
_LENGTH_NEEDS = {">": 1, "<=": 1, "===": 1, "==": 1, "!==": 1, "!=": 1, ">=": 0, "<": 0}
_MIRRORED = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "===": "===", "==": "==", "!==": "!==", "!=": "!="}


def _length_bound(length: Node) -> str:
    """How many results `<x>.length` compared to a literal can see: `x.length > 0` -> "1",
    `x.length >= 3` -> "3", `0 === x.length` -> "1". "" for any other use of the length."""
    node = length
    while node.parent is not None and node.parent.type == "parenthesized_expression":
        node = node.parent
    parent = node.parent
    if parent is None or parent.type != "binary_expression":
        return ""
    operator = text_of(parent.child_by_field_name("operator"))
    left, right = parent.child_by_field_name("left"), parent.child_by_field_name("right")
    if left == node and right is not None:
        other = right
    elif right == node and left is not None:
        other, operator = left, _MIRRORED.get(operator, "")
    else:
        return ""
    literal = text_of(unwrap(other) or other)
    if operator not in _LENGTH_NEEDS or not literal.isdigit():
        return ""
    return str(int(literal) + _LENGTH_NEEDS[operator])


def _member_use(expression: Node) -> ResultUse | None:
    """`<expression>.slice(0, n)`, `.length`, `[i]`, `.filter(x => x.f ...)`."""
    parent = expression.parent
    if parent is not None and parent.type == "subscript_expression" and parent.child_by_field_name("object") == expression:
        index = text_of(parent.child_by_field_name("index"))
        if index.isdigit() and not _assigned(parent):
            return ResultUse("indexed", parent, str(int(index) + 1))
        return ResultUse("other", parent)
    if parent is None or parent.type != "member_expression" or parent.child_by_field_name("object") != expression:
        return None
    prop = text_of(parent.child_by_field_name("property"))
    call = parent.parent
    is_call = call is not None and call.type == "call_expression" and call.child_by_field_name("function") == parent
    if prop == "length" and not is_call:
        return ResultUse("counted", parent, _length_bound(parent))
    if prop == "slice" and is_call and call is not None:
        args = call_args(call)
        if len(args) == 2 and text_of(args[0]) == "0":
            return ResultUse("sliced", call, text_of(args[1]))
        if len(args) == 1 and text_of(args[0]).startswith("-"):
            return ResultUse("other", call)
        return ResultUse("sliced-other", call)
    if prop in ("filter", "find", "some", "every") and is_call and call is not None:
        args = call_args(call)
        field = _filtered_field(args[0]) if args else None
        if field:
            return ResultUse("js-filtered", call, field)
    return ResultUse("other", parent)


_COMPARISONS = frozenset({"===", "==", "!==", "!=", "<", ">", "<=", ">="})


def _filtered_field(callback: Node | None) -> str | None:
    """The first field an index could take from a JS filter's top-level `&&` conjuncts:
    `(d) => !d.archived && d.createdAt > since` -> "archived". Fields only reached
    through `||` or method calls (`d.tags.includes(x)`), and `_id`, are not index-able."""
    callback = unwrap(callback)
    if callback is None or callback.type not in ("arrow_function", "function_expression"):
        return None
    params = callback.child_by_field_name("parameters") or callback.child_by_field_name("parameter")
    if params is None:
        return None
    name = text_of(params).strip("()").split(":")[0].split(",")[0].strip()
    body = returned_expression(callback)
    if body is None or not name.isidentifier():
        return None
    conjuncts: list[Node] = []
    stack = [unwrap(body)]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.type == "binary_expression" and text_of(node.child_by_field_name("operator")) == "&&":
            stack.append(unwrap(node.child_by_field_name("right")))
            stack.append(unwrap(node.child_by_field_name("left")))
        else:
            conjuncts.append(node)

    def field_of(node: Node | None) -> str | None:
        node = unwrap(node)
        if node is not None and node.type == "member_expression" and text_of(node.child_by_field_name("object")) == name:
            return text_of(node.child_by_field_name("property"))
        return None

    for conjunct in conjuncts:
        if conjunct.type == "unary_expression" and text_of(conjunct.child_by_field_name("operator")) == "!":
            found = field_of(conjunct.child_by_field_name("argument"))
        elif conjunct.type == "binary_expression" and text_of(conjunct.child_by_field_name("operator")) in _COMPARISONS:
            found = field_of(conjunct.child_by_field_name("left")) or field_of(conjunct.child_by_field_name("right"))
        else:
            found = field_of(conjunct)
        # `_id` is no index field: a document by id is `ctx.db.get(id)`, and `d._id !== x`
        # (dropping one known document) narrows nothing an index range could.
        if found and found != "_id":
            return found
    return None


def _bound(use: ResultUse) -> int | None:
    """How many results `use` can see, when that is a known number."""
    if use.kind in ("counted", "indexed", "sliced") and use.detail.isdigit():
        return int(use.detail)
    return None


def result_use(chain: QueryChain, scope: Node | None, language: Language | None = None) -> ResultUse:
    """How the value of a terminated chain is used, within `scope` (the enclosing function).

    `language` (the file's grammar) lets the search for uses run as a tree-sitter query."""
    if chain.terminal not in ("collect", "take"):
        return ResultUse("other")
    expression = _outer(chain.end)
    direct = _member_use(expression)
    if direct is not None and direct.kind != "other":
        direct.direct = True
        if _bound(direct) is not None and direct.kind != "sliced":
            direct.kind = "bounded"
        return direct
    parent = expression.parent
    if parent is None or parent.type != "variable_declarator" or scope is None:
        return ResultUse("other")
    name_node = parent.child_by_field_name("name")
    if name_node is None or name_node.type != "identifier":
        return ResultUse("other")
    name = text_of(name_node)
    uses: list[ResultUse] = []
    encoded = name.encode()
    for node in _identifiers_after(scope, parent.end_byte, language):
        if node.text == encoded and node.start_byte >= parent.end_byte:
            use = _member_use(node) if node.type == "identifier" else None
            uses.append(use or ResultUse("other", node))
    if not uses:
        return ResultUse("other", variable=name)
    kinds = {u.kind for u in uses}
    bounds = [_bound(u) for u in uses]
    if all(b is not None for b in bounds) and kinds != {"sliced"}:
        # Every use sees at most n results (`.length > 0`, `[0]`, `.slice(0, 5)`):
        # `.take(n)` gives each the same answer.
        return ResultUse("bounded", uses[0].node, str(max(b for b in bounds if b is not None)), variable=name)
    if kinds == {"counted"}:
        return ResultUse("counted", uses[0].node, variable=name)
    for wanted in ("sliced", "js-filtered"):
        for use in uses:
            if use.kind == wanted and len(uses) == 1:
                use.variable = name
                return use
    for use in uses:
        if use.kind == "js-filtered":
            use.variable = name
            return use
    return ResultUse("other", variable=name)
