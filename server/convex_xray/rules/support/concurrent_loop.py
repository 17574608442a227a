"""The fallback fix for N+1 reads that cannot be batch-fetched: run the iterations concurrently.

    for (const item of items) { BODY }

becomes

    await Promise.all(items.map(async (item) => { BODY }));

with each `continue` of the loop turned into `return`. The reads are still one per item, but
the function waits for them once instead of once per item. Never safe: the iterations
overlap, so one no longer sees what an earlier one wrote, and writes, counters and a thrown
error may come in a different order (all iterations start even when one throws). The title
says which of these applies.

Refused (no edit, the finding says why) when the rewrite would not even keep the common
case: a `break` or `return` of the loop, a labeled `continue`, `yield`, a `var` declared in
the body (function-scoped: shared by all callbacks), an outer variable updated from an
awaited value (`total += await count(x)`: concurrent iterations lose updates), `for await`,
an assignment target instead of a declaration (`for (x of xs)`), a label on the loop, a
function that is not async, or an outer collection filled in order (`out.push(row)`: the
result would come out in finishing order) or an outer variable assigned (`last = x`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tree_sitter import Node

from convex_xray.engine.findings import Edit, Fix
from convex_xray.engine.model import Loop
from convex_xray.engine.source import is_typescript_path
from convex_xray.engine.syntax import in_async_function, pattern_names, text_of, unwrap
from convex_xray.rules.support.iterables import declared_non_array
from convex_xray.rules.support.untyped import (
    document_field,
    documents_loose,
    file_says_types_lost,
    item_type_query,
    root_at_depth_limit,
    typed_by_package,
    untyped_root,
)

if TYPE_CHECKING:
    from convex_xray.engine.context import RuleContext

_FUNCTIONS = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function_declaration",
        "method_definition",
        "generator_function",
        "generator_function_declaration",
        "class_declaration",
        "class",
    }
)
_LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
_NON_ARRAY_VALUE = re.compile(
    r"\.(?:keys|values|entries|matchAll)\s*\([^()]*\)$|^new\s+(?:Weak)?(?:Set|Map)\b"
)
_WRITES = re.compile(
    r"\.(?:insert|patch|replace|delete)\s*\(|\brun(?:Mutation|Action)\s*\(|\bscheduler\b"
)
_MAX_DEPTH = 256
# Updates that end the same whatever order the iterations finish in (counters, sums).
_COMMUTATIVE = frozenset({"+=", "-=", "*=", "|=", "&=", "++", "--"})
# Methods whose effect depends on the order of the calls.
_ORDERED_METHODS = frozenset(
    {
        "push",
        "unshift",
        "splice",
        "sort",
        "reverse",
        "fill",
        "copyWithin",
        "pop",
        "shift",
        "set",
        "add",
        "delete",
        "clear",
    }
)
_DB_HANDLE = re.compile(r"(?:^|\.)db$")


def _scan(body: Node) -> tuple[list[Node], str | None]:
    """(the `continue`s of this loop, why the body cannot become a callback)."""
    continues: list[Node] = []
    declared: set[str] = set()
    # (node, inside a nested loop, inside a nested loop or switch): a `continue` in a nested
    # loop is that loop's, a `break` in a nested loop or switch is theirs.
    stack: list[tuple[Node, bool, bool]] = [(body, False, False)]
    updates: list[Node] = []
    calls: list[Node] = []
    while stack:
        node, in_loop, in_breakable = stack.pop()
        kind = node.type
        if kind in _FUNCTIONS:
            continue  # its `return`s and `this` are its own
        if kind == "return_statement":
            return [], "the loop body returns from the function"
        if kind == "yield_expression":
            return [], "the loop body yields"
        if kind == "break_statement" and (not in_breakable or node.named_children):
            return [], "the loop can stop early (`break`)"
        if kind == "continue_statement":
            if node.named_children:
                return [], "a labeled `continue`"
            if not in_loop:
                continues.append(node)
        if kind == "variable_declaration":
            return [], "a `var` in the loop body would be shared by the concurrent iterations"
        if kind == "variable_declarator":
            declared.update(pattern_names(node.child_by_field_name("name")))
        if kind in ("assignment_expression", "augmented_assignment_expression"):
            updates.append(node)
        if kind == "call_expression":
            calls.append(node)
        child_in_loop = in_loop or kind in _LOOPS
        child_in_breakable = in_breakable or kind in _LOOPS or kind == "switch_statement"
        stack.extend((child, child_in_loop, child_in_breakable) for child in node.named_children)
    for update in updates:
        name = _root(update.child_by_field_name("left"))
        if name is None or name in declared:
            continue
        if any(n.type == "await_expression" for n in _walk(update)):
            return (
                [],
                f"`{name}` is updated from an awaited value (concurrent iterations would lose updates)",
            )
        operator = (
            text_of(update.child_by_field_name("operator"))
            if update.type != "assignment_expression"
            else "="
        )
        if operator not in _COMMUTATIVE:
            return [], f"the loop assigns `{name}` (the last iteration to finish would win)"
    for call in calls:
        callee = call.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            continue
        method = text_of(callee.child_by_field_name("property"))
        receiver = callee.child_by_field_name("object")
        name = _root(receiver)
        if method in _ORDERED_METHODS and name is not None and name not in declared:
            if method == "delete" and _DB_HANDLE.search(text_of(receiver)):
                continue
            # `out.push(row)` in finishing order would reorder what the function returns.
            return (
                [],
                f"the loop fills `{name}` in order (`.{method}`), which concurrent iterations would change",
            )
    return continues, None


def _root(node: Node | None) -> str | None:
    node = unwrap(node)
    while node is not None and node.type in (
        "member_expression",
        "subscript_expression",
        "non_null_expression",
    ):
        node = unwrap(
            node.child_by_field_name("object")
            or (node.named_children[0] if node.named_children else None)
        )
    return text_of(node) if node is not None and node.type == "identifier" else None


def _walk(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current)
        if current.type not in _FUNCTIONS or current is node:
            stack.extend(current.named_children)
    return out


def concurrent_loop_fix(ctx: RuleContext, loop: Loop) -> Fix | str:
    """The concurrent rewrite of a sequential `for…of` (unsafe), or why there is none."""
    node = loop.node
    if loop.kind != "for-of" or node.type != "for_in_statement":
        return f"a `{loop.kind}` loop"
    if any(child.type == "await" for child in node.children):
        return "a `for await` loop"
    declaration_kind = node.child_by_field_name("kind")
    left = node.child_by_field_name("left")
    right = node.child_by_field_name("right")
    body = node.child_by_field_name("body")
    if declaration_kind is None or left is None or right is None:
        return "the loop assigns an outer variable instead of declaring its item"
    if body is None or body.type != "statement_block":
        return "the loop body is not a block"
    if node.parent is None or node.parent.type == "labeled_statement":
        return "a labeled loop"
    if not in_async_function(node, _MAX_DEPTH):
        return "the enclosing function is not async"
    continues, problem = _scan(body)
    if problem is not None:
        return problem
    source = ctx.source
    collection = source.node_text(right)
    plain = " ".join(collection.split())
    bare = unwrap(right)
    if (
        bare is not None and bare.type == "identifier" and declared_non_array(ctx, plain)
    ) or _NON_ARRAY_VALUE.search(plain):
        collection = (
            f"Array.from({collection})"  # `.map` is an array method; `for…of` takes any iterable
        )
    elif bare is None or bare.type not in (
        "identifier",
        "member_expression",
        "call_expression",
        "subscript_expression",
    ):
        collection = f"({collection})"
    item = source.node_text(left)
    # The collection is (or, by the file's own directives, may be) `any`: the callback gets no
    # type from it (TS7006). Not for a TS2589 elsewhere in the app: the whole loop body moves
    # into the callback, and an item typed `any` there would untype the body's own callbacks.
    # (Not in JavaScript: no implicit `any` there, and an annotation is an error, TS8010.)
    typescript = is_typescript_path(source.path)
    # Nor a field of a document the schema types loosely (it spreads an uninstalled package's
    # tables): `event.tags` is `any` there, and so is each of its items in the loop already.
    if typescript and (
        untyped_root(bare)
        or file_says_types_lost(source)
        or (document_field(bare) and documents_loose(ctx.workspace, source))
    ):
        item = f"{item}: any"
    elif (
        typescript
        and not collection.startswith("Array.from(")
        and (named := item_type_query(right)) is not None
        and typed_by_package(ctx.workspace, source)
        and not root_at_depth_limit(ctx.workspace, source)
    ):
        # The app types its `ctx` or data model through a package, which tsc may not see: the
        # collection may be `any` to it, where `for…of` gives an `any` item but a bare
        # `.map(async (item) =>` is an implicit `any` (TS7006). The item's type written from the
        # collection is right either way. (Not at the depth limit: typing more crosses it.)
        item = f"{item}: {named}"
    header = f"await Promise.all({collection}.map(async ({item}) => "
    edits = [Edit(ctx.path, node.start_byte, body.start_byte, header)]
    edits.extend(Edit(ctx.path, c.start_byte, c.end_byte, "return;") for c in continues)
    edits.append(Edit(ctx.path, body.end_byte, node.end_byte, "))" + source.style.semi))
    writes = bool(_WRITES.search(text_of(body)))
    difference = (
        "iterations overlap, so one no longer sees an earlier one's writes, and writes, counters and errors may come in another order"
        if writes
        else "side effects such as counters and logs may come in another order, and every iteration starts even if one throws"
    )
    return Fix.unsafe(
        f"Run the iterations concurrently with `Promise.all` (unsafe: {difference})", edits
    )


def sequential_statement_loop(loops: tuple[Loop, ...]) -> Loop | None:
    """The innermost `for…of` statement among a read's loops (the one whose iterations wait
    for each other)."""
    for loop in reversed(loops):
        if loop.kind == "for-of":
            return loop
    return None
