"""The enclosing function and iteration contexts (loops, per-item callbacks) of a node."""

from __future__ import annotations

import itertools
import re
from typing import cast

from tree_sitter import Node

from convex_xray.engine.analysis.state import AnalyzerState
from convex_xray.engine.analysis.vocabulary import (
    FUNCTION_TYPES,
    ITERATION_METHODS,
    LOOP_HELPERS,
    LOOP_TYPES,
    SMALL_LITERAL_LIMIT,
)
from convex_xray.engine.model import (
    FunctionModel,
    Loop,
)
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import (
    call_args,
    descendants,
    enclosing_const,
    function_body,
    function_params,
    param_pattern,
    pattern_names,
    text_of,
    unwrap,
)


def _trim_end(source: SourceFile, start: int, end: int) -> int:
    while end > start and source.data[end - 1 : end] in (b" ", b"\t", b"\n", b"\r"):
        end -= 1
    return end


def _awaits_param(function: Node, params: list[Node]) -> bool:
    """An async callback that awaits its first parameter (`async (acc, x) => { await acc; ... }`)."""
    if not params or not any(c.type == "async" for c in function.children):
        return False
    names = pattern_names(param_pattern(params[0]))
    if len(names) != 1:
        return False
    for node in descendants(function_body(function) or function):
        if node.type == "await_expression" and node.named_children:
            inner = unwrap(node.named_children[0])
            if inner is not None and inner.type == "identifier" and text_of(inner) == names[0]:
                return True
    return False


def _is_new_set(node: Node | None) -> bool:
    node = unwrap(node)
    return (
        node is not None
        and node.type == "new_expression"
        and text_of(node.child_by_field_name("constructor")) == "Set"
    )


def _iterates_with_callback(function: Node) -> bool | None:
    """Whether a function `(xs, fn, ...)` calls `fn` once per element of `xs`: it returns
    `Promise.all(xs.map(fn))` (True, concurrent) or loops over `xs` calling `fn` (False,
    sequential). None when it does not."""
    params = function_params(function)
    if len(params) < 2:
        return None
    items = pattern_names(param_pattern(params[0]))
    callbacks = pattern_names(param_pattern(params[1]))
    if len(items) != 1 or len(callbacks) != 1:
        return None
    items_name, callback_name = items[0], callbacks[0]
    body = function_body(function) or function
    # Most two-parameter functions are `(ctx, args)` helpers: a look at the text rules them
    # out before the walk over every node of their body.
    items_text = re.escape(items_name.encode())
    if re.search(rb"\b" + items_text + rb"\s*\??\.\s*(?:map|flatMap|forEach)\b|\bof\s+" + items_text + rb"\b", body.text or b"") is None:
        return None
    for node in descendants(body):
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            args = call_args(node)
            if (
                callee is not None
                and callee.type == "member_expression"
                and text_of(callee.child_by_field_name("property")) in ("map", "flatMap", "forEach")
                and text_of(callee.child_by_field_name("object")) == items_name
                and args
                and _calls_or_is(args[0], callback_name)
            ):
                return inside_promise_all(node) or text_of(callee.child_by_field_name("property")) == "forEach"
        elif node.type == "for_in_statement" and text_of(node.child_by_field_name("right")) == items_name:
            loop_body = node.child_by_field_name("body")
            if loop_body is not None and _calls_or_is(loop_body, callback_name):
                return False
    return None


def exported_loop_helper(root: Node, name: str) -> bool | None:
    """Whether the top-level function `name` of a file (`function name(xs, fn)`, `const name =
    (xs, fn) => …`, exported or not) runs `fn` per element of `xs` (True: concurrently)."""
    for statement in root.named_children:
        if statement.type == "export_statement":
            statement = statement.child_by_field_name("declaration") or statement
        if statement.type == "function_declaration" and text_of(statement.child_by_field_name("name")) == name:
            return _iterates_with_callback(statement)
        if statement.type in ("lexical_declaration", "variable_declaration"):
            for declarator in statement.named_children:
                if declarator.type == "variable_declarator" and text_of(declarator.child_by_field_name("name")) == name:
                    value = unwrap(declarator.child_by_field_name("value"))
                    return _iterates_with_callback(value) if value is not None and value.type in FUNCTION_TYPES else None
    return None


def _calls_or_is(node: Node, name: str) -> bool:
    """`node` is the identifier `name` or contains a call `name(...)`."""
    if node.type == "identifier":
        return text_of(node) == name
    for inner in descendants(node):
        if inner.type == "call_expression":
            callee = inner.child_by_field_name("function")
            if callee is not None and callee.type == "identifier" and text_of(callee) == name:
                return True
    return False


def inside_promise_all(call: Node) -> bool:
    """`Promise.all(xs.map(...))`, also through `await`, parentheses or a const passed later."""
    parent = call.parent
    while parent is not None and parent.type in ("parenthesized_expression", "as_expression"):
        parent = parent.parent
    if parent is not None and parent.type == "arguments":
        outer = parent.parent
        if outer is not None and outer.type == "call_expression":
            return text_of(outer.child_by_field_name("function")) in (
                "Promise.all",
                "Promise.allSettled",
                "Promise.race",
                "Promise.any",
            )
    return False


class LoopAnalysis(AnalyzerState):
    """The enclosing function and iteration contexts (loops, per-item callbacks) of a node."""

    def context_of(self, node: Node) -> tuple[FunctionModel | None, tuple[Loop, ...]]:
        """The function that owns `node` and the loops around it inside that function."""
        self.check_budget()
        known = self.context_memo.get(node.id)
        if known is not None:
            return known
        path = self.ancestors(node)
        owner: FunctionModel | None = None
        loops: tuple[Loop, ...] = ()
        for parent, child in itertools.pairwise(path):
            memo = self.context_memo.get(child.id)
            if memo is not None:
                owner, loops = memo
                continue
            function = self.functions_by_node.get(parent.id)
            if function is not None:
                owner, loops = function, ()
            elif parent.type in LOOP_TYPES or parent.type in FUNCTION_TYPES:
                loop = self.loop_for(parent, child)
                if loop is not None:
                    loops = (*loops, loop)
            self.context_memo[child.id] = (owner, loops)
        return owner, loops

    def loop_for(self, node: Node, child: Node) -> Loop | None:
        """The iteration context `node` gives to its descendant `child`, if any."""
        if node.type == "for_in_statement":
            right = node.child_by_field_name("right")
            left = node.child_by_field_name("left")
            if child.id in (right.id if right else -1, left.id if left else -1):
                return None
        elif node.type == "for_statement":
            initializer = node.child_by_field_name("initializer")
            if initializer is not None and child.id == initializer.id:
                return None
        elif node.type in FUNCTION_TYPES:
            pass
        cached = self.loop_cache.get(node.id, False)
        if cached is not False:
            return cast("Loop | None", cached)
        loop = self.build_loop(node)
        self.loop_cache[node.id] = loop
        return loop

    def build_loop(self, node: Node) -> Loop | None:
        if node.type == "for_in_statement":
            right = node.child_by_field_name("right")
            left = node.child_by_field_name("left")
            body = node.child_by_field_name("body")
            is_await = any(c.type == "await" for c in node.children)
            operator = text_of(node.child_by_field_name("operator"))
            kind = "for-await" if is_await else ("for-in" if operator == "in" else "for-of")
            header_end = body.start_byte if body is not None else node.end_byte
            return Loop(
                kind=kind,
                node=node,
                header_start=node.start_byte,
                header_end=_trim_end(self.source, node.start_byte, header_end),
                collection=text_of(right) if right is not None else None,
                item_names=tuple(pattern_names(left)),
                concurrent=False,
                # A sequential loop over deduplicated ids still does one read per id.
                exempt=self.exemption(right, node, batch=False),
                collection_node=right,
            )
        if node.type in ("for_statement", "while_statement", "do_statement"):
            body = node.child_by_field_name("body")
            kind = {"for_statement": "for", "while_statement": "while", "do_statement": "do"}[node.type]
            header_end = body.start_byte if body is not None and node.type != "do_statement" else node.start_byte + 2
            return Loop(
                kind=kind,
                node=node,
                header_start=node.start_byte,
                header_end=_trim_end(self.source, node.start_byte, header_end),
                collection=None,
                item_names=(),
                concurrent=False,
                exempt=None,
            )
        # A callback: is it the per-item function of an array method?
        arguments = node.parent
        if arguments is None or arguments.type != "arguments":
            return None
        call = arguments.parent
        if call is None or call.type != "call_expression":
            return None
        callee = call.child_by_field_name("function")
        if callee is None:
            return None
        args = call_args(call)
        helper = self.loop_helper(call)
        if helper is not None and len(args) >= 2 and args[1].id == node.id:
            return self.helper_loop(call, node, helper)
        if callee.type != "member_expression":
            return None
        method = text_of(callee.child_by_field_name("property"))
        obj = callee.child_by_field_name("object")
        if method in ITERATION_METHODS and args and args[0].id == node.id:
            collection = obj
            kind = method
        elif method == "from" and text_of(obj) == "Array" and len(args) >= 2 and args[1].id == node.id:
            collection = args[0]
            kind = "Array.from"
        else:
            return None
        params = function_params(node)
        item_names = tuple(pattern_names(param_pattern(params[0]))) if params else ()
        in_promise_all = inside_promise_all(call)
        # A callback cannot hold up the next element: the per-item work of all elements is
        # started together, unless an async `reduce` awaits the accumulator (a chain).
        concurrent = in_promise_all or kind not in ("reduce", "reduceRight") or not _awaits_param(node, params)
        property_node = callee.child_by_field_name("property")
        header_start = property_node.start_byte if property_node is not None else call.start_byte
        return Loop(
            kind=kind,
            node=node,
            header_start=header_start,
            header_end=arguments.start_byte + 1,
            collection=text_of(collection) if collection is not None else None,
            item_names=item_names,
            concurrent=concurrent,
            exempt=self.exemption(collection, node, batch=in_promise_all),
            collection_node=collection,
            in_promise_all=in_promise_all,
        )

    def loop_helper(self, call: Node) -> tuple[str, bool] | None:
        """(name, concurrent) when `call` runs its second argument once per element of its
        first: a known helper (`asyncMap`), this file's own wrapper learned from its body,
        or Effect's `Effect.forEach(xs, fn)`."""
        callee = call.child_by_field_name("function")
        if callee is None:
            return None
        name = text_of(callee)
        if name == "Effect.forEach":
            # Sequential unless given `{ concurrency: ... }`.
            args = call_args(call)
            return name, len(args) > 2 and "concurrency" in text_of(args[2])
        if callee.type != "identifier":
            return None
        if name in LOOP_HELPERS:
            return name, LOOP_HELPERS[name]
        learned = self.learned_helpers().get(name)
        if learned is None and self.imported_loop_helper is not None:
            binding = self.model.imports.get(name)
            if binding is not None and binding.imported != "*":
                learned = self.imported_loop_helper(binding.module, binding.imported)
        return (name, learned) if learned is not None else None

    def learned_helpers(self) -> dict[str, bool]:
        if self.learned_loop_helpers is None:
            learned: dict[str, bool] = {}
            for function in self.model.functions:
                if function.parent is None and function.name:
                    mode = _iterates_with_callback(function.node)
                    if mode is not None:
                        learned[function.name] = mode
            self.learned_loop_helpers = learned
        return self.learned_loop_helpers

    def helper_loop(self, call: Node, callback: Node | None, helper: tuple[str, bool]) -> Loop:
        """The iteration context of `asyncMap(xs, fn)`: one per element of `xs`."""
        name, concurrent = helper
        args = call_args(call)
        collection = args[0] if args else None
        item_names: tuple[str, ...] = ()
        if callback is not None and callback.type in FUNCTION_TYPES:
            params = function_params(callback)
            item_names = tuple(pattern_names(param_pattern(params[0]))) if params else ()
        arguments = call.child_by_field_name("arguments")
        return Loop(
            kind=name,
            node=callback if callback is not None else call,
            header_start=call.start_byte,
            header_end=arguments.start_byte + 1 if arguments is not None else call.end_byte,
            collection=text_of(collection) if collection is not None else None,
            item_names=item_names,
            concurrent=concurrent,
            exempt=self.exemption(collection, call, batch=concurrent),
            collection_node=collection,
            # `asyncMap(ids, (id) => db.get(id))` is `Promise.all(ids.map(...))` spelt out.
            in_promise_all=concurrent,
        )

    def exemption(self, collection: Node | None, near: Node, *, batch: bool) -> str | None:
        """Per-item work over these collections is fine by design. Deduplicated ids (`new Set`)
        excuse per-item reads only in one concurrent batch (`batch`): a sequential loop over a
        Set still waits for one read per id."""
        collection = unwrap(collection)
        if collection is None:
            return None
        resolved = self.resolve_const(collection, near)
        for candidate in (collection, resolved):
            via_const = candidate is resolved
            candidate = unwrap(candidate)
            if candidate is None:
                continue
            if candidate.type == "array":
                elements = [c for c in candidate.named_children if c.type != "comment"]
                if len(elements) == 1 and elements[0].type == "spread_element" and _is_new_set(elements[0].named_children[0] if elements[0].named_children else None):
                    return "deduplicated ids" if batch else None
                small = len(elements) <= SMALL_LITERAL_LIMIT and all(e.type != "spread_element" for e in elements)
                if small and via_const:
                    # `const ids: Id[] = []` filled later with `.push` is not a small literal.
                    small = bool(elements) and not self.mutated(text_of(collection))
                if small:
                    return "small literal array"
            if candidate.type == "call_expression":
                callee = text_of(candidate.child_by_field_name("function"))
                args = call_args(candidate)
                if callee == "Array.from" and args and _is_new_set(args[0]):
                    return "deduplicated ids" if batch else None
                if callee in ("Object.keys", "Object.values", "Object.entries") and args:
                    target = self.resolve_const(unwrap(args[0]), near) or unwrap(args[0])
                    if target is not None and target.type == "object" and len(target.named_children) <= SMALL_LITERAL_LIMIT:
                        return "small literal object"
                # `.keys()` of a Map/Set built from deduplicated ids
                if callee.endswith(".keys") or callee.endswith(".values"):
                    return None
            if _is_new_set(candidate):
                return "deduplicated ids" if batch else None
        return None

    def mutated(self, name: str) -> bool:
        """Whether the file grows or reorders an array named `name` in place."""
        pattern = re.compile(rf"\b{re.escape(name)}\s*\.\s*(?:push|unshift|splice|concat)\s*\(|\b{re.escape(name)}\s*\[[^\]]*\]\s*=[^=]")
        return bool(pattern.search(self.source.text))

    def resolve_const(self, node: Node | None, near: Node) -> Node | None:
        """The initializer of a `const` named by `node`, in the enclosing blocks or the file."""
        if node is None or node.type != "identifier":
            return None
        name = text_of(node)
        local = enclosing_const(name, near)
        if local is not None:
            return local
        top = self.top_consts.get(name)
        return unwrap(top) if top is not None else None

    def reference_loop(self, call: Node) -> Loop | None:
        helper = self.loop_helper(call)
        if helper is not None:
            return self.helper_loop(call, None, helper)
        callee = call.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return None
        method = text_of(callee.child_by_field_name("property"))
        obj = callee.child_by_field_name("object")
        args = call_args(call)
        collection = args[0] if method == "from" and args else obj
        in_promise_all = inside_promise_all(call)
        prop = callee.child_by_field_name("property")
        arguments = call.child_by_field_name("arguments")
        return Loop(
            kind="Array.from" if method == "from" else method,
            node=call,
            header_start=prop.start_byte if prop is not None else call.start_byte,
            header_end=arguments.start_byte + 1 if arguments is not None else call.end_byte,
            collection=text_of(collection) if collection is not None else None,
            item_names=(),
            concurrent=True,
            exempt=self.exemption(collection, call, batch=in_promise_all),
            collection_node=collection,
            in_promise_all=in_promise_all,
        )
