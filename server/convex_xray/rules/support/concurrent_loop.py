"""The fallback fix for N+1 reads that cannot be batch-fetched: run the iterations concurrently.

    for (const item of items) { BODY }

becomes

    await Promise.all(items.map(async (item) => { BODY }));

with each `continue` of the loop turned into `return`. The reads are still one per item, but
the function waits for them once instead of once per item. Never safe: the iterations
overlap, so one no longer sees what an earlier one wrote, and writes, counters and a thrown
error may come in a different order (all iterations start even when one throws). The title
says which of these applies.

A loop whose body ends by pushing one value to an outer array, which it names nowhere else,

    for (const item of items) { BODY; out.push(VALUE); }

becomes

    out.push(...(await Promise.all(items.map(async (item) => { BODY; return VALUE; }))));

Where a `continue` or a condition can skip the push (it ends a branch of the body's last `if`),
each iteration returns `[]` or `[VALUE]`, and `out` gets them with
`for (const pushed of await Promise.all(…)) out.push(...pushed);`. Pushes anywhere else in the
body (several per item, in an inner loop, spread) go to an array each iteration declares
(`const iterationItems: (typeof out)[number][] = []`), returned at every exit.

`Promise.all` keeps the items' order, so `out` gets the same values in the same order, all at
once after the loop (none if an iteration throws). The callback returns `(typeof out)[number]`
where `out` has a declared type, so the value is checked against it as the push's argument was
(an array declared `= []` with no type evolves from what is pushed, as it did).

Refused (no edit, the finding says why) when the rewrite would not even keep the common
case: a `break` or `return` of the loop, a labeled `continue`, `yield`, a `var` declared in
the body (function-scoped: shared by all callbacks), an outer variable updated from an
awaited value (`total += await count(x)`: concurrent iterations lose updates), `for await`,
an assignment target instead of a declaration (`for (x of xs)`), a label on the loop, a
function that is not async, or an outer collection filled in order other than by pushes to
one array the body names nowhere else (`out.length` read in the body, `.set`, `.sort`, pushes
to two arrays, a push whose result is used: the result would come out in finishing order) or
an outer variable assigned (`last = x`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tree_sitter import Node

from convex_xray.engine.findings import Edit, Fix
from convex_xray.engine.model import Loop
from convex_xray.engine.source import SourceFile, is_typescript_path
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


def _scan(body: Node) -> tuple[list[Node], str | None, list[Node]]:
    """(the `continue`s of this loop, why the body cannot become a callback, the calls that
    fill an outer collection in order when they are the only reason)."""
    continues: list[Node] = []
    # (node, inside a nested loop, inside a nested loop or switch, the names the iteration
    # declares where the node is): a `continue` in a nested loop is that loop's, a `break` in a
    # nested loop or switch is theirs, and a `const out` in a nested block is not the `out`
    # that a push after the block fills.
    stack: list[tuple[Node, bool, bool, frozenset[str]]] = [(body, False, False, frozenset())]
    updates: list[tuple[Node, frozenset[str]]] = []
    calls: list[tuple[Node, frozenset[str]]] = []
    while stack:
        node, in_loop, in_breakable, declared = stack.pop()
        declared = declared | _block_names(node)
        kind = node.type
        if kind in _FUNCTIONS:
            continue  # its `return`s and `this` are its own
        if kind == "return_statement":
            return [], "the loop body returns from the function", []
        if kind == "yield_expression":
            return [], "the loop body yields", []
        if kind == "break_statement" and (not in_breakable or node.named_children):
            return [], "the loop can stop early (`break`)", []
        if kind == "continue_statement":
            if node.named_children:
                return [], "a labeled `continue`", []
            if not in_loop:
                continues.append(node)
        if kind == "variable_declaration":
            return [], "a `var` in the loop body would be shared by the concurrent iterations", []
        if kind in ("assignment_expression", "augmented_assignment_expression"):
            updates.append((node, declared))
        if kind == "call_expression":
            calls.append((node, declared))
        child_in_loop = in_loop or kind in _LOOPS
        child_in_breakable = in_breakable or kind in _LOOPS or kind == "switch_statement"
        stack.extend((child, child_in_loop, child_in_breakable, declared) for child in node.named_children)
    for update, declared in updates:
        name = _root(update.child_by_field_name("left"))
        if name is None or name in declared:
            continue
        if any(n.type == "await_expression" for n in _walk(update)):
            return (
                [],
                f"`{name}` is updated from an awaited value (concurrent iterations would lose updates)",
                [],
            )
        operator = (
            text_of(update.child_by_field_name("operator"))
            if update.type != "assignment_expression"
            else "="
        )
        if operator not in _COMMUTATIVE:
            return [], f"the loop assigns `{name}` (the last iteration to finish would win)", []
    ordered: list[Node] = []
    problem: str | None = None
    for call, declared in calls:
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
            ordered.append(call)
            problem = problem or (
                f"the loop fills `{name}` in order (`.{method}`), which concurrent iterations would change"
            )
    return continues, problem, ordered


def _block_names(node: Node) -> frozenset[str]:
    """The names a block (or a `for` head, or a `switch`'s cases) declares with `let`/`const`
    for what it holds: they are visible in the node and below it, not after it."""
    kind = node.type
    held: list[Node] = []
    if kind in ("statement_block", "for_statement"):
        held = list(node.named_children)
    elif kind == "switch_body":
        held = [s for case in node.named_children for s in case.named_children]
    elif kind == "for_in_statement":
        left = node.child_by_field_name("left")
        return frozenset(pattern_names(left)) if left is not None and node.child_by_field_name("kind") is not None else frozenset()
    names: set[str] = set()
    for child in held:
        if child.type == "lexical_declaration":
            for declarator in child.named_children:
                if declarator.type == "variable_declarator":
                    names.update(pattern_names(declarator.child_by_field_name("name")))
    return frozenset(names)


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
    continues, problem, ordered = _scan(body)
    collector: _Collector | None = None
    if problem is not None:
        collector = _last_push(body, ordered, continues)
        if collector is None:
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
    writes = bool(_WRITES.search(text_of(body)))
    difference = (
        "iterations overlap, so one no longer sees an earlier one's writes, and writes, counters and errors may come in another order"
        if writes
        else "side effects such as counters and logs may come in another order, and every iteration starts even if one throws"
    )
    if collector is not None:
        if typescript and ":" not in item:
            # These loops were refused before, so more of them sit where the collection may be
            # `any` to tsc (a name from a module the checkout lacks, a data model at the depth
            # limit), where `for…of` gave an `any` item and a bare callback is TS7006 (keppo,
            # ConvexPress: 7). Name the item's type from the collection (right either way), and
            # where it has no name, or the root is at the depth limit, offer no rewrite.
            named = item_type_query(right)
            if (
                named is None
                or collection.startswith("Array.from(")
                or root_at_depth_limit(ctx.workspace, source)
            ):
                return f"{problem}; the concurrent callback's item could not be typed from the collection"
            item = f"{item}: {named}"
        return _ordered_push_fix(ctx, loop, collector, collection, item, typescript, continues, difference)
    header = f"await Promise.all({collection}.map(async ({item}) => "
    edits = [Edit(ctx.path, node.start_byte, body.start_byte, header)]
    edits.extend(Edit(ctx.path, c.start_byte, c.end_byte, "return;") for c in continues)
    edits.append(Edit(ctx.path, body.end_byte, node.end_byte, "))" + source.style.semi))
    return Fix.unsafe(
        f"Run the iterations concurrently with `Promise.all` (unsafe: {difference})", edits
    )


def _ordered_push_fix(
    ctx: RuleContext,
    loop: Loop,
    collector: _Collector,
    collection: str,
    item: str,
    typescript: bool,
    continues: list[Node],
    difference: str,
) -> Fix:
    """The concurrent rewrite of a loop whose order-dependent effects are its pushes to `out`:
    the callbacks give back what they push, and `out` gets it in the items' order."""
    source = ctx.source
    node = loop.node
    body = node.child_by_field_name("body")
    assert body is not None
    out = collector.receiver
    typed = typescript and not _evolving_array(node, out)
    semi = source.style.semi
    edits: list[Edit] = []
    if not continues and collector.last:
        # Each iteration pushes one value: the callback returns it.
        returns = f": Promise<(typeof {out})[number]>" if typed else ""
        header = f"{out}.push(...(await Promise.all({collection}.map(async ({item}){returns} => "
        for statement, _, value in collector.pushes:
            assert value is not None
            edits.append(Edit(ctx.path, statement.start_byte, statement.end_byte, f"return {source.node_text(value)}{semi}"))
        edits.insert(0, Edit(ctx.path, node.start_byte, body.start_byte, header))
        edits.append(Edit(ctx.path, body.end_byte, node.end_byte, "))))" + semi))
    else:
        part = _fresh_name(source, "pushed")
        returns = f": Promise<(typeof {out})[number][]>" if typed else ""
        header = f"for (const {part} of await Promise.all({collection}.map(async ({item}){returns} => "
        edits.append(Edit(ctx.path, node.start_byte, body.start_byte, header))
        statements = [c for c in body.named_children if c.type != "comment"]
        first, final = statements[0], statements[-1]
        if collector.tail:
            # A `continue` or a condition skips the push: each iteration returns what it
            # pushes, none or one.
            done = "[]"
            for statement, _, value in collector.pushes:
                assert value is not None
                edits.append(Edit(ctx.path, statement.start_byte, statement.end_byte, f"return [{source.node_text(value)}]{semi}"))
        else:
            # Pushes anywhere in the body: each iteration collects its own, in order.
            done = _fresh_name(source, "iterationItems")
            declared = f": (typeof {out})[number][]" if typed else ""
            edits.append(Edit(ctx.path, first.start_byte, first.start_byte, f"const {done}{declared} = []{semi}\n{_indent(source, first)}"))
            for _, callee, _ in collector.pushes:
                receiver = callee.child_by_field_name("object")
                assert receiver is not None
                edits.append(Edit(ctx.path, receiver.start_byte, receiver.end_byte, done))
        edits.extend(Edit(ctx.path, c.start_byte, c.end_byte, f"return {done}{semi}") for c in continues)
        if not collector.last:
            # The iteration may end without reaching a push (or after several).
            edits.append(Edit(ctx.path, final.end_byte, final.end_byte, f"\n{_indent(source, final)}return {done}{semi}"))
        edits.append(Edit(ctx.path, body.end_byte, node.end_byte, f"))) {out}.push(...{part}){semi}"))
    return Fix.unsafe(
        f"Run the iterations concurrently with `Promise.all`, pushing to `{out}` in the items' order "
        f"(unsafe: {difference}; `{out}` gets the values all at once after the loop, none if an "
        "iteration throws)",
        edits,
    )


def _indent(source: SourceFile, statement: Node) -> str:
    """The whitespace before `statement` on its line ("" when other code precedes it there)."""
    line_start = source.data.rfind(b"\n", 0, statement.start_byte) + 1
    indent = source.data[line_start : statement.start_byte].decode("utf-8", "replace")
    return "" if indent.strip() else indent


@dataclass(frozen=True, slots=True)
class _Collector:
    """The `out.push(value);` statements that end the loop body's iterations: `receiver` is
    `out`'s text."""

    pushes: tuple[tuple[Node, Node, Node | None], ...]  # (the push statement, its callee, one value)
    receiver: str
    last: bool  # one push, the body's own last statement (not in a branch of an `if`)
    tail: bool  # each push has one value and ends the iteration


def _last_push(body: Node, ordered: list[Node], continues: list[Node]) -> _Collector | None:
    """The body's ordered fills when all are `out.push(…)` statements to the same `out`, which
    the body names nowhere else. `tail`: each pushes one plain value and ends the iteration
    (the body's last statement, or the last of a branch of its last `if`), so an iteration
    pushes one value or none, after everything else it does, which the callback can return
    instead. Otherwise each iteration collects its pushes in an array of its own, in order."""
    pushes: list[tuple[Node, Node, Node | None]] = []  # (statement, the `out.push` callee, one value)
    receivers: set[str] = set()
    tail = True
    for call in ordered:
        callee = call.child_by_field_name("function")
        if callee is None or text_of(callee.child_by_field_name("property")) != "push":
            return None
        receiver = callee.child_by_field_name("object")
        if receiver is None or not _plain_path(receiver):
            return None
        receivers.add(text_of(receiver))
        statement = call.parent
        if statement is None or statement.type != "expression_statement":
            return None  # `if (out.push(x) > 3)`: its value is used
        if any(c.type == "comment" for c in _walk(statement)):
            return None
        arguments = call.child_by_field_name("arguments")
        values = [a for a in arguments.named_children if a.type != "comment"] if arguments else []
        value = values[0] if len(values) == 1 and values[0].type != "spread_element" else None
        tail = tail and value is not None and _ends_iteration(statement, body)
        pushes.append((statement, callee, value))
    if len(receivers) != 1:
        return None
    (out,) = receivers
    root = out.split(".")[0]
    uses = [n for n in _every(body) if n.type == "identifier" and text_of(n) == root]
    if len(uses) != len(pushes):  # read (`out.length`), passed on or shadowed elsewhere in the body
        return None
    last = [c for c in body.named_children if c.type != "comment"]
    only = tail and len(pushes) == 1 and last[-1] == pushes[0][0]
    return _Collector(tuple(pushes), out, only, tail)


def _ends_iteration(statement: Node, body: Node) -> bool:
    """Whether nothing of the iteration runs after `statement`: it is the body's last statement,
    or the last of a branch of an `if` that is (`if (c) { …; out.push(x); }`)."""
    current = statement
    while True:
        parent = current.parent
        if parent is None:
            return False
        if parent.type == "statement_block":
            last = [c for c in parent.named_children if c.type != "comment"]
            if not last or last[-1] != current:
                return False
            if parent == body:
                return True
        elif parent.type == "if_statement":
            if current == parent.child_by_field_name("condition"):
                return False
        elif parent.type != "else_clause":
            return False
        current = parent


def _fresh_name(source: SourceFile, base: str) -> str:
    """`base`, or `base2`, `base3`…: the first the file does not name anywhere."""
    if base.encode() not in source.data:
        return base  # no name of the file spells it: skip the walk of every node (5% of a check)
    taken = {text_of(n) for n in _every(source.root) if n.type in ("identifier", "shorthand_property_identifier_pattern", "shorthand_property_identifier")}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _plain_path(node: Node) -> bool:
    """`out`, `result.items`: a name or a property path of names."""
    while node.type == "member_expression":
        prop = node.child_by_field_name("property")
        obj = node.child_by_field_name("object")
        if prop is None or prop.type != "property_identifier" or obj is None:
            return False
        node = obj
    return node.type == "identifier" and text_of(node) not in ("this", "undefined")


def _every(node: Node) -> list[Node]:
    """Every node under `node`, nested functions included."""
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(current.named_children)
    return out


def _evolving_array(loop: Node, receiver: str) -> bool:
    """Whether `receiver` is declared `const/let receiver = []` (or `let receiver;`) with no
    type: its type evolves from what is pushed, and `typeof receiver` in a callback would be an
    implicit `any`. The declaration seen is the one in the innermost enclosing function that
    has one (else the module's)."""
    if "." in receiver:
        return False
    scope: Node | None = loop.parent
    while scope is not None:
        if scope.type in _FUNCTIONS or scope.parent is None:
            declarators = [
                n
                for n in _every(scope)
                if n.type == "variable_declarator" and text_of(n.child_by_field_name("name")) == receiver
            ]
            if declarators:
                return any(_evolves(d) for d in declarators)
        scope = scope.parent
    return False


def _evolves(declarator: Node) -> bool:
    value = unwrap(declarator.child_by_field_name("value"))
    return declarator.child_by_field_name("type") is None and (
        value is None or (value.type == "array" and not value.named_children)
    )


def sequential_statement_loop(loops: tuple[Loop, ...]) -> Loop | None:
    """The innermost `for…of` statement among a read's loops (the one whose iterations wait
    for each other)."""
    for loop in reversed(loops):
        if loop.kind == "for-of":
            return loop
    return None
