"""Generic tree-sitter helpers: node text, string values, unwrapping, call arguments, parameters, paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tree_sitter import Node


def text_of(node: Node | None) -> str:
    # Called ~100k times a check: `node.text` copies the bytes each time it is read, so once.
    if node is None:
        return ""
    text = node.text
    if text is None:
        return ""
    return text.decode("utf-8", "replace")


def string_value(node: Node | None) -> str | None:
    """The value of a string literal (or a template literal without substitutions)."""
    if node is None:
        return None
    if node.type == "string":
        return "".join(text_of(c) for c in node.named_children if c.type in ("string_fragment", "escape_sequence"))
    if node.type == "template_string":
        if any(c.type == "template_substitution" for c in node.named_children):
            return None
        return text_of(node)[1:-1]
    return None


def unwrap(node: Node | None) -> Node | None:
    """Strip parentheses, `await`-free type wrappers (`x as T`, `x!`, `x satisfies T`)."""
    while node is not None and node.type in (
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
    ):
        inner = node.named_children[0] if node.named_children else None
        if inner is None:
            break
        node = inner
    return node


def call_args(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return []
    return [c for c in arguments.named_children if c.type != "comment"]


def member_parts(node: Node | None) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None when not a plain dotted name."""
    parts: list[str] = []
    while node is not None:
        if node.type == "identifier" or node.type == "this":
            parts.append(text_of(node))
            return list(reversed(parts))
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            parts.append(text_of(prop))
            node = node.child_by_field_name("object")
            continue
        return None
    return None


def pattern_names(node: Node | None) -> list[str]:
    """Identifiers bound by a binding pattern (`x`, `{ a, b: c }`, `[x, y]`)."""
    if node is None:
        return []
    if node.type in ("identifier", "shorthand_property_identifier_pattern"):
        return [text_of(node)]
    names: list[str] = []
    for child in node.named_children:
        if node.type == "pair_pattern" and child == node.child_by_field_name("key"):
            continue
        names.extend(pattern_names(child))
    return names


def function_body(function: Node) -> Node | None:
    return function.child_by_field_name("body")


def returned_expression(function: Node) -> Node | None:
    """What a callback returns: its expression body, or the argument of the single `return`
    of its block body (None otherwise)."""
    body = function.child_by_field_name("body")
    if body is None or body.type != "statement_block":
        return body
    returns = [c for c in body.named_children if c.type == "return_statement"]
    if len(returns) != 1 or not returns[0].named_children:
        return None
    return returns[0].named_children[0]


def function_params(function: Node) -> list[Node]:
    params = function.child_by_field_name("parameters")
    if params is not None:
        return [p for p in params.named_children if p.type != "comment"]
    single = function.child_by_field_name("parameter")
    return [single] if single is not None else []


def param_pattern(param: Node) -> Node | None:
    if param.type in ("required_parameter", "optional_parameter"):
        return param.child_by_field_name("pattern")
    return param


def param_type(param: Node) -> str:
    annotation = param.child_by_field_name("type") if param.type.endswith("_parameter") else None
    return text_of(annotation)


# tree-sitter >= 0.24 (`Node.child_with_descendant`); older bindings step a cursor instead.
_CHILD_WITH_DESCENDANT: Callable[[Node, Node], Node | None] | None = getattr(Node, "child_with_descendant", None)


def descend_path(top: Node, node: Node, tick: Callable[[], None] | None = None) -> list[Node]:
    """The nodes from `top` down to `node` (both included), found by descending: O(depth). (`Node.parent` is itself O(depth) in tree-sitter, so walking up parent
    by parent costs O(depth^2), which deeply nested generated code turns into minutes.)"""
    target = node.id
    path: list[Node] = [top]
    if _CHILD_WITH_DESCENDANT is not None:
        # One C call per level (the child holding `node`, through hidden nodes as `children`
        # does): ~1.8x faster than stepping a cursor over the siblings in Python. Each step is
        # a child of the one before, so reaching `node` proves this is its ancestor path.
        current: Node | None = top
        steps = 0
        while current is not None and current.id != target:
            child = _CHILD_WITH_DESCENDANT(current, node)
            current = child if child is not None and child.id != current.id else None
            if current is not None:
                path.append(current)
                steps += 1
                if tick is not None and steps % 512 == 0:
                    tick()
        if current is not None:
            return path
        path = [top]  # not reached (a zero-width node): as below
    cursor = top.walk()
    start, end = node.start_byte, node.end_byte
    steps = 0
    while path[-1].id != target:
        if cursor.goto_first_child_for_byte(start) is None:
            break
        current = cursor.node
        while current is not None and not (current.start_byte <= start and current.end_byte >= end):
            current = cursor.node if cursor.goto_next_sibling() else None
        if current is None:
            break
        path.append(current)
        steps += 1
        if tick is not None and steps % 512 == 0:
            tick()
    if path[-1].id != target:  # zero-width or otherwise unreachable node: walk up instead
        chain = [node]
        parent = node.parent
        while parent is not None and parent.id != top.id:
            chain.append(parent)
            parent = parent.parent
        path = [top, *reversed(chain)]
    return path


def descendants(node: Node) -> Iterable[Node]:
    """`node` and everything below it (depth first, no recursion)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


_SCOPE_FUNCTIONS = frozenset(
    {"arrow_function", "function_expression", "function_declaration", "method_definition", "generator_function", "generator_function_declaration"}
)


def in_async_function(node: Node, max_depth: int = 256) -> bool:
    """Whether the function nearest around `node` is `async` (code put there may `await`).
    False past `max_depth` ancestors: deeper than hand-written code, refuse rather than crawl."""
    current = node.parent
    for _ in range(max_depth):
        if current is None:
            return False
        if current.type in _SCOPE_FUNCTIONS:
            return any(child.type == "async" for child in current.children)
        current = current.parent
    return False


def number_value(node: Node | None) -> int | None:
    """The integer a number literal spells (`1000`, `10_000`, `1e3`), or the literal a `const`
    in scope binds an identifier to (`const LIMIT = 1000; … .take(LIMIT)`). A name bound by a
    parameter or a `let` on the way out, or not found, has no known value."""
    node = unwrap(node)
    if node is None:
        return None
    if node.type == "number":
        try:
            return int(float(text_of(node).replace("_", "")))
        except ValueError:
            return None
    if node.type != "identifier":
        return None
    name = text_of(node)
    scope = node.parent
    while scope is not None:
        if scope.type in _SCOPE_FUNCTIONS:
            for param in function_params(scope):
                if name in pattern_names(param_pattern(param)):
                    return None  # shadowed by a parameter: a value chosen by the caller
        if scope.type in ("statement_block", "program", "class_body"):
            for statement in scope.named_children:
                if statement.type == "export_statement":
                    statement = statement.child_by_field_name("declaration") or statement
                if statement.type not in ("lexical_declaration", "variable_declaration"):
                    continue
                for declarator in statement.named_children:
                    if declarator.type != "variable_declarator" or text_of(declarator.child_by_field_name("name")) != name:
                        continue
                    if text_of(statement.child_by_field_name("kind")) != "const":
                        return None  # `let`/`var`: may change before the use
                    value = unwrap(declarator.child_by_field_name("value"))
                    return number_value(value) if value is not None and value.type == "number" else None
        scope = scope.parent
    return None


def enclosing_const(name: str, near: Node) -> Node | None:
    """The initial value of the `const name` declared in a block enclosing `near`, before it
    (the innermost such declaration), or None."""
    scope = near.parent
    while scope is not None:
        if scope.type in ("statement_block", "program"):
            for statement in scope.named_children:
                if statement.start_byte >= near.start_byte:
                    break
                if statement.type == "lexical_declaration" and text_of(statement.child_by_field_name("kind")) == "const":
                    for declarator in statement.named_children:
                        if declarator.type == "variable_declarator" and text_of(declarator.child_by_field_name("name")) == name:
                            return unwrap(declarator.child_by_field_name("value"))
        scope = scope.parent
    return None
