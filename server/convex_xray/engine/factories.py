"""Which method of a factory's returned object reads.

`const cache = makeCache(ctx); cache.getUser(id)`: the factory returns an object of closures
over `ctx`. The analysis records every read inside `makeCache` (its closures included) on
`makeCache` itself; a call through one method must cost that method's reads only, and a
method that reads nothing (`cache.size()`, `cache.clear()`) must cost none. This module finds
the method in the returned object and gives it a view of its own: a `FunctionModel` over the
method's node holding the factory's events that sit inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from tree_sitter import Node

from convex_xray.engine.model import FileModel, FunctionModel
from convex_xray.engine.syntax import descendants, text_of, unwrap

_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function_declaration", "method_definition", "generator_function"})


def _returned_objects(function: FunctionModel) -> list[Node]:
    """Object literals the factory returns (`return { … }`, `=> ({ … })`), not those of
    nested functions."""
    found: list[Node] = []
    body = function.node.child_by_field_name("body")
    if body is None:
        return found
    if body.type != "statement_block":
        value = unwrap(body)
        return [value] if value is not None and value.type == "object" else []
    stack = list(body.named_children)
    while stack:
        node = stack.pop()
        if node.type in _FUNCTIONS:
            continue
        if node.type == "return_statement" and node.named_children:
            value = unwrap(node.named_children[0])
            if value is not None and value.type == "object":
                found.append(value)
            continue
        stack.extend(node.named_children)
    return found


def _local_definition(function: FunctionModel, name: str) -> Node | None:
    """`const getUser = async (id) => …` / `function getUser(id) {…}` inside the factory."""
    for node in descendants(function.node):
        if node.type == "variable_declarator" and text_of(node.child_by_field_name("name")) == name:
            value = unwrap(node.child_by_field_name("value"))
            return value if value is not None and value.type in _FUNCTIONS else None
        if node.type == "function_declaration" and text_of(node.child_by_field_name("name")) == name and node.id != function.node.id:
            return node
    return None


def _method_node(function: FunctionModel, method: str) -> Node | None:
    for obj in _returned_objects(function):
        for member in obj.named_children:
            if member.type == "pair" and text_of(member.child_by_field_name("key")).strip("'\"") == method:
                value = unwrap(member.child_by_field_name("value"))
                if value is not None and value.type in _FUNCTIONS:
                    return value
                if value is not None and value.type == "identifier":
                    return _local_definition(function, text_of(value))
                return None
            if member.type == "method_definition" and text_of(member.child_by_field_name("name")) == method:
                return member
            if member.type == "shorthand_property_identifier" and text_of(member) == method:
                return _local_definition(function, method)
    return None


def method_of(model: FileModel, function: FunctionModel, method: str) -> FunctionModel | None:
    """The view of `function`'s returned method `method`, or None when the returned object
    has no such method the syntax shows (a class instance, a spread, a computed object): the
    caller then falls back to the whole factory."""
    if method in function.methods:
        return function.methods[method]
    node = _method_node(function, method)
    view: FunctionModel | None = None
    # A method that is a local function the analysis already models (`org: loadOrg`).
    local = next((f for f in model.functions if node is not None and f.node.id == node.id), None)
    if local is not None:
        view = local
    elif node is not None:
        view = FunctionModel(
            name=f"{function.name}().{method}",
            kind=function.kind,
            node=node,
            name_node=None,
            definition=node,
            exported=False,
            params=function.params,
            ctx_names=function.ctx_names,
            db_names=function.db_names,
            parent=function,  # names resolve through the factory's scope (its local helpers)
        )

        def inside(event_node: Node) -> bool:
            return node.start_byte <= event_node.start_byte and event_node.end_byte <= node.end_byte

        view.reads = [replace(e, function=view) for e in function.reads if e.function is function and inside(e.node)]
        view.run_calls = [replace(e, function=view) for e in function.run_calls if e.function is function and inside(e.node)]
        view.helper_calls = [replace(e, function=view) for e in function.helper_calls if e.function is function and inside(e.node)]
    function.methods[method] = view
    return view


def returns_closures(function: FunctionModel) -> bool:
    """The function returns an object literal (of methods), a function, or a class instance."""
    for node in descendants(function.node):
        if node.type == "return_statement" and node.named_children:
            value = node.named_children[0]
            while value.type in ("parenthesized_expression", "as_expression", "satisfies_expression") and value.named_children:
                value = value.named_children[0]
            if value.type in ("object", "arrow_function", "function_expression", "new_expression"):
                return True
    body = function.node.child_by_field_name("body")
    return body is not None and body.type in ("object", "parenthesized_expression")


def ctx_factory(
    model: FileModel, builder_property: str, load: Callable[[str], FileModel | None]
) -> tuple[FileModel, str] | None:
    """`authedQuery.cache` -> (the builder's file, `makeLoaders`): the factory that the custom
    builder `authedQuery` (this file's, or imported one level) runs to attach `ctx.cache`."""
    builder, _, prop = builder_property.partition(".")
    target: FileModel | None = model
    name = builder
    if builder not in model.builders:
        binding = model.imports.get(builder)
        if binding is None or binding.imported in ("*", "default"):
            return None
        target, name = load(binding.module), binding.imported
    if target is None:
        return None
    factory = target.builder_ctx.get(name, {}).get(prop)
    return (target, factory) if factory else None
