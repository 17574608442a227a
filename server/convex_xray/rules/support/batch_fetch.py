"""The batch-fetch fix for N+1 reads: unique keys -> one `Promise.all` -> `Map` -> lookups.

Turns

    for (const post of posts) { const author = await ctx.db.get(post.authorId); ... }

into

    const authorIds = Array.from(new Set(posts.map((post) => post.authorId)));
    const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
    const authorsById = new Map(authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]));
    for (const post of posts) { const author = authorsById.get(post.authorId) ?? null; ... }

Per-item index queries (`.withIndex("by_k", (q) => q.eq("k", x.k)).unique()`, with a
loop-invariant `.filter`, or counted by `.then((rows) => rows.length)`) are prefetched the
same way, keyed by the item-dependent value, and so are calls of a helper that only reads
(`helper_effects.py`). A read whose promise is only awaited (`Promise.all(xs.map((x) =>
db.get(x.id)))`, an element of an awaited `Promise.all([…])`) is replaced by the value it
resolves to.

Which items a read runs for: conditions the prefetch can evaluate again before the loop
(pure, nothing computed or changed in the loop) are mirrored in its `flatMap`; others
(loop state, `try`, early exits) are dropped, and the fix is then unsafe with each
difference in its title (`_Guards`).

The fix is built only when it provably returns what the loop returned: the key depends
on nothing but the loop item and loop-invariant names, the loop cannot stop early, the
read is unconditional (or guarded by a condition on the item alone, which the prefetch
mirrors), nothing in the loop writes to the database or mutates the items, and the
collection can be evaluated again before the loop without side effects. Also: nothing in
the loop changes the fetched document or rows (items with the same key share one copy
after the fix), per-item callbacks are awaited together by `Promise.all` (not `forEach`,
whose reads finish after it returns, nor `allSettled`, where one failed read is one
rejected item), and the statement the prefetch goes before always runs the loop, once
(not under a ternary branch, `&&`, a braceless `if` or a label). Otherwise the caller
offers no fix (the message still says what to do). `examples/club-hub/tests` runs the fixed app against the original
with convex-test (`tests/test_equivalence.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, cast

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine import style as layout
from convex_xray.engine.findings import Applicability, Edit, Fix
from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import DbRead, HelperCall, Loop, QueryChain
from convex_xray.engine.source import SourceFile, is_typescript_path
from convex_xray.engine.syntax import (
    call_args,
    descend_path,
    descendants,
    function_params,
    in_async_function,
    param_pattern,
    pattern_names,
    text_of,
    unwrap,
)
from convex_xray.rules.support.fresh_names import (
    GENERIC,
    FreshNames,
    base_name,
    camel,
    fresh_names,
    plural,
    singular,
)
from convex_xray.rules.support.helper_effects import HelperEffects, helper_effects
from convex_xray.rules.support.iterables import declared_non_array
from convex_xray.rules.support.loop_writes import loop_writes, write_conflict
from convex_xray.rules.support.untyped import (
    file_says_types_lost,
    read_from_db,
    root_at_depth_limit,
    types_lost,
    builder_said_any,
    item_type_query,
    typed_by_package,
    untyped_parameter,
    untyped_root,
)

if TYPE_CHECKING:
    from convex_xray.engine.context import RuleContext

# Ancestors a read may sit under and still run exactly once per item.
_NEUTRAL = frozenset(
    {
        "parenthesized_expression",
        "variable_declarator",
        "lexical_declaration",
        "variable_declaration",
        "expression_statement",
        "pair",
        "object",
        "array",
        "arguments",
        "call_expression",
        "return_statement",
        "statement_block",
        "spread_element",
        "template_substitution",
        "template_string",
        "member_expression",
        "non_null_expression",
        "as_expression",
        "satisfies_expression",
        "assignment_expression",
        "await_expression",
        "subscript_expression",
        "new_expression",
        "unary_expression",
    }
)
_MUTATING_METHODS = ("push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "copyWithin")
_MUTATING_GLOBALS = frozenset(
    {"Object.assign", "Object.defineProperty", "Object.defineProperties", "Reflect.set", "Reflect.deleteProperty"}
)
# Where a read's result may sit and still be the value bound by the enclosing declaration
# (`const row = { ...e, player: cond ? await get(id) : null }`).
_RESULT_CARRIERS = frozenset(
    {
        "parenthesized_expression",
        "non_null_expression",
        "as_expression",
        "satisfies_expression",
        "ternary_expression",
        "binary_expression",
        "pair",
        "object",
        "array",
        "spread_element",  # a shallow copy: nested arrays and objects are still shared
        "await_expression",
    }
)
# Statements that run what they contain only sometimes, or more than once.
_CONDITIONAL_STATEMENTS = frozenset(
    {
        "if_statement",
        "else_clause",
        "switch_statement",
        "switch_case",
        "switch_default",
        "for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "try_statement",
        "catch_clause",
        "finally_clause",
        "labeled_statement",
    }
)
_EXIT_TYPES = frozenset({"break_statement", "return_statement", "throw_statement", "continue_statement"})
_MAX_GUARD_DEPTH = 256  # deeper than any hand-written loop body: refuse rather than crawl
_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function_declaration", "method_definition"})


@dataclass
class _Plan:
    loop: Loop
    key: Node  # the item-dependent expression the read is keyed by
    guards: list[str]  # conditions the prefetch mirrors (texts), all true when the read runs
    replaced: Node  # the expression replaced by the lookup
    anchor: Node  # the statement the prefetch is inserted before
    item_param: str  # the loop item's binding, reused as the prefetch callback's parameter
    unsafe: str | None = None  # why a read before the loop could miss one of its writes
    extra: tuple[str, ...] = ()  # how the prefetch reads more than the loop (unsafe), said in the title
    source_key: Node | None = None  # what the prefetch computes per item, when `key` is a loop-body `const`


def _root_identifier(node: Node | None) -> str | None:
    node = unwrap(node)
    while node is not None and node.type in ("member_expression", "subscript_expression"):
        node = unwrap(node.child_by_field_name("object"))
    return text_of(node) if node is not None and node.type == "identifier" else None


def _identifiers(node: Node) -> set[str]:
    """Identifiers read by an expression (property names of `a.b` excluded)."""
    return {text_of(n) for n in descendants(node) if n.type in ("identifier", "shorthand_property_identifier")}


def _pure_key(node: Node) -> bool:
    """A key must be re-evaluable: no calls, awaits, assignments, `new` or functions."""
    forbidden = {"call_expression", "await_expression", "assignment_expression", "augmented_assignment_expression",
                 "update_expression", "new_expression", "arrow_function", "function_expression"}
    return not any(n.type in forbidden for n in descendants(node))


# Literals that make a new value each time they run: as (part of) a key, equal to no other.
_FRESH_VALUES = frozenset({"object", "array", "regex", "class"})


def _builds_value(node: Node) -> bool:
    """Whether evaluating the expression may build a new object, array or regex (`x ?? []`)."""
    return any(n.type in _FRESH_VALUES for n in descendants(node))


_LOOP_FACTS = """
(assignment_expression left: (_) @assigned)
(augmented_assignment_expression left: (_) @assigned)
(update_expression argument: (_) @assigned)
(call_expression function: (member_expression property: (property_identifier) @method))
(call_expression function: (member_expression object: (identifier) property: (property_identifier))) @member_call
(unary_expression operator: "delete" argument: (_) @assigned)
(variable_declarator name: (_) @declared)
(required_parameter pattern: (_) @declared)
(optional_parameter pattern: (_) @declared)
(arrow_function parameter: (identifier) @declared)
(function_declaration name: (identifier) @declared)
[(arrow_function) (function_expression) (function_declaration) (method_definition)] @function
[(break_statement) (return_statement) (throw_statement) (continue_statement)] @exit
"""


@cache
def _loop_facts_query(language: Language) -> Query:
    return Query(language, _LOOP_FACTS)


@dataclass
class _LoopFacts:
    """What a loop's body declares, mutates and how it can exit; one query pass per loop."""

    declared: set[str]  # names bound inside the loop (incl. the item and callback params)
    assigned: set[str]  # roots of everything assigned, updated or mutated in place
    changed: set[str]  # roots of what is changed in place (`doc.x = …`, `rows.push(…)`), not just rebound
    exits: list[Node]  # break/return/throw/continue statements not inside a nested function


_LOOP_FACTS_MEMO: MemoKey[_LoopFacts] = MemoKey("what a loop body declares, assigns and exits by")


def _loop_facts(ctx: RuleContext, loop: Loop) -> _LoopFacts:
    cached = ctx.memo.get(_LOOP_FACTS_MEMO, loop.node.id)
    if cached is not None:
        return cached
    cursor = QueryCursor(_loop_facts_query(ctx.source.language))
    cursor.set_byte_range(loop.node.start_byte, loop.node.end_byte)
    captures = cursor.captures(loop.node)
    declared: set[str] = set()
    for node in captures.get("declared", []):
        declared.update(pattern_names(node))
    assigned = {root for node in captures.get("assigned", []) if (root := _root_identifier(node))}
    # `editor = await …` rebinds a name (each iteration's value is still its own); `doc.x = …`,
    # `delete doc.x`, `rows.push(…)` change the value itself.
    changed = {
        root
        for node in captures.get("assigned", [])
        if (unwrap(node) or node).type != "identifier" and (root := _root_identifier(node))
    }
    for method in captures.get("method", []):
        if text_of(method) in _MUTATING_METHODS:
            member = method.parent  # `xs.push`: the receiver is the member's object
            root = _root_identifier(member.child_by_field_name("object")) if member is not None else None
            if root:
                assigned.add(root)
                changed.add(root)
    for call in captures.get("member_call", []):
        # `Object.assign(doc, …)` and friends mutate their first argument.
        if text_of(call.child_by_field_name("function")) in _MUTATING_GLOBALS:
            args = call_args(call)
            root = _root_identifier(args[0]) if args else None
            if root:
                assigned.add(root)
                changed.add(root)
    # Exits inside a function nested in the loop body belong to that function.
    nested = [
        (f.start_byte, f.end_byte)
        for f in captures.get("function", [])
        if f.id != loop.node.id and loop.node.start_byte <= f.start_byte
    ]
    # In the order they run: a query's captures are not always in source order (two
    # `if (c) continue;` in a row can come back swapped), and the guards mirror this order.
    exits = sorted(
        (node for node in captures.get("exit", []) if not any(start <= node.start_byte < end for start, end in nested)),
        key=lambda node: node.start_byte,
    )
    return ctx.memo.put(_LOOP_FACTS_MEMO, _LoopFacts(declared, assigned, changed, exits), loop.node.id)


def _exit_guards(facts: _LoopFacts, loop: Loop, read_start: int, keys: tuple[Node, ...], guards: _Guards) -> str | None:
    """Add to `guards` what the loop's exits say about which items reach the read; None, or why
    no prefetch can mirror them (said in the finding).

    `if (c) continue;` at the top of a `for…of` body (`if (c) return …;` in a callback) before
    the read is mirrored as `!c` when `c` can be evaluated before the loop. Any other exit that
    can skip the read (a nested `continue`, `break`, `return`, `throw`: after it the loop reads
    no more items) makes the prefetch read for items the loop never reads: unsafe, and said."""
    body = loop.node.child_by_field_name("body")
    mirrored: list[str] = []  # the guard clauses' conditions, negated, in the order they run
    for node in facts.exits:
        kind = node.type
        if loop.is_statement:
            if kind == "continue_statement" and node.start_byte > read_start:
                continue  # after the read: the read already ran for this item
        elif kind != "return_statement" or node.start_byte > read_start:
            continue  # a callback's `throw` stops only its own item, after `Promise.all` started all
        conditions = _conditions_above(node, body)
        if conditions is None:
            return "the loop can stop early (`break`, `return`, `throw`)"  # under a `switch`, a nested loop…
        skips_item = kind == "continue_statement" or not loop.is_statement  # vs. ends the loop
        if node.start_byte < read_start and len(conditions) == 1:
            condition, negated = conditions[0]
            statement = _enclosing_if(node)
            top_level = statement is not None and statement.parent is not None and statement.parent.id == (body.id if body else -1)
            if top_level and not negated and _mirrorable(condition, loop, facts):
                # The read runs when `c` is false (`if (!x.ref) throw …` is also where `x.ref`
                # is known to be set: the prefetch keeps that). A `break`/`return`/`throw` also
                # ends the loop: the items after it are read by the prefetch only.
                mirrored.append(_negation(condition))
                if not skips_item:
                    guards.drop(f"it also reads for items after the loop stops early (`{kind.split('_')[0]}`)")
                continue
        if node.start_byte < read_start and not all(_droppable(c, k, loop) for c, _ in conditions for k in keys):
            return "the loop can stop early (`break`, `return`, `throw`) on a condition that narrows the key"
        if skips_item:
            guards.drop("it also reads for items an earlier `continue` or `return` skips")
        else:
            guards.drop(f"it also reads for items after the loop stops early (`{kind.split('_')[0]}`)")
    guards.conditions[:0] = mirrored  # they come before the read's own conditions
    return None


def _enclosing_if(node: Node) -> Node | None:
    """The `if` statement whose consequence is `node` (`if (c) continue;`, `if (c) { …; continue; }`)."""
    parent = node.parent
    if parent is not None and parent.type == "statement_block":
        if parent.named_children and parent.named_children[-1].id != node.id:
            return None  # statements after it in the block: not a plain guard clause
        parent = parent.parent
    if parent is None or parent.type != "if_statement" or parent.child_by_field_name("alternative") is not None:
        return None
    return parent


def _conditions_above(node: Node, top: Node | None) -> list[tuple[Node, bool]] | None:
    """The `if`/ternary conditions (and whether negated: in the `else`) under which `node` runs,
    innermost first, up to `top`; None when something else decides (a `switch`, a nested loop,
    `&&`)."""
    found: list[tuple[Node, bool]] = []
    child, current = node, node.parent
    for _ in range(_MAX_GUARD_DEPTH):
        if current is None or top is None:
            return None
        if current.id == top.id:
            return found
        kind = current.type
        if kind == "if_statement":
            condition = current.child_by_field_name("condition")
            if condition is None or condition.id == child.id:
                return None
            alternative = current.child_by_field_name("alternative")
            found.append((condition, alternative is not None and alternative.id == child.id))
        elif kind not in ("statement_block", "else_clause", "expression_statement", "try_statement"):
            return None
        child, current = current, current.parent
    return None


def _anchor_statement(node: Node) -> Node | None:
    """The statement (directly inside a block) that contains `node`."""
    current: Node | None = node
    while current is not None:
        parent = current.parent
        if parent is not None and parent.type in ("statement_block", "program") and current.type != "comment":
            return current
        if parent is not None and parent.type in _FUNCTIONS and current.type != "statement_block":
            return None  # an expression-bodied arrow: nowhere to put statements
        current = parent
    return None


def _runs_once_with(statement: Node, call: Node) -> bool:
    """Whether running `statement` always evaluates `call` (exactly once): the prefetch that
    replaces the call's reads runs before the statement, unconditionally.

    Refuses the call under a ternary branch, the right side of `&&`/`||`/`??`, an optional
    call (`a?.f(xs.map(…))`), a nested function, or any statement that runs it sometimes or
    repeatedly (`if (page) return await Promise.all(page.items.map(…))`)."""
    path = descend_path(statement, call)
    if path[0].id != statement.id or path[-1].id != call.id or len(path) > _MAX_GUARD_DEPTH:
        return False
    for current, child in pairwise(path):
        kind = current.type
        if kind in _FUNCTIONS or kind in _CONDITIONAL_STATEMENTS:
            return False
        if kind == "ternary_expression" and child.id != (current.child_by_field_name("condition") or child).id:
            return False
        if kind == "binary_expression":
            left = current.child_by_field_name("left")
            operator = text_of(current.child_by_field_name("operator"))
            if operator in ("&&", "||", "??") and (left is None or left.id != child.id):
                return False
        if kind == "augmented_assignment_expression":
            operator = text_of(current.child_by_field_name("operator"))
            if operator in ("&&=", "||=", "??="):
                return False
        if kind == "call_expression" and child.type == "arguments" and _optional_call(current):
            return False
    return not _optional_call(call)


def _optional_call(call: Node) -> bool:
    """`a?.f(…)` / `a.f?.(…)`: the arguments are evaluated only sometimes."""
    callee = call.child_by_field_name("function")
    if any(c.type == "optional_chain" for c in call.children):
        return True
    return callee is not None and callee.type == "member_expression" and any(
        c.type == "optional_chain" for c in callee.children
    )


_READ_AWAIT_RE = re.compile(r"^\s*(?:\(\s*)*(?:ctx\s*\.\s*)?db\s*\.\s*(?:get|query)\s*\(|^\s*Promise\s*\.\s*all\s*\(")


_DB_WRITE_AWAIT_RE = re.compile(r"^\s*(?:\(\s*)*(?:ctx\s*\.\s*)?db\s*\.\s*(?:insert|patch|replace|delete)\s*\(")


def _awaits_other_calls(body: Node, readers: set[int] | frozenset[int] = frozenset()) -> bool:
    """Whether the loop body awaits anything but a database read (`db.get`, a `db.query`
    chain, a `Promise.all` of them, a call of a helper that only reads: `readers`, by node id)
    or a write on the db handle: such a call may write anything, and prove nothing."""
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "await_expression":
            argument = node.named_children[0] if node.named_children else None
            text = text_of(argument) if argument is not None else ""
            bare = unwrap(argument)
            if bare is not None and bare.id in readers:
                pass  # a helper that only reads
            elif _DB_WRITE_AWAIT_RE.search(text):
                pass  # a write on the db handle: `loop_writes` says what it may touch
            elif not _READ_AWAIT_RE.search(text) or (text.lstrip().startswith("Promise") and not _DB_READ_RE.search(text)):
                return True
        if node.type in _FUNCTIONS and node is not body:
            continue  # a callback defined here runs when called: its awaits are its own
        stack.extend(node.named_children)
    return False


_DB_READ_RE = re.compile(r"\bdb\s*\.\s*(?:get|query)\s*\(")


def _awaited_together(call: Node) -> bool:
    """`Promise.all(xs.map(async …))`: every callback's reads finish before the result is
    used, as the prefetched version's do. (Not `allSettled`: there one failed read is one
    rejected item, not a failed call; not `race`/`any`: not every read is awaited.)"""
    parent = call.parent
    while parent is not None and parent.type in ("parenthesized_expression", "as_expression"):
        parent = parent.parent
    outer = parent.parent if parent is not None and parent.type == "arguments" else None
    if outer is None or outer.type != "call_expression" or text_of(outer.child_by_field_name("function")) != "Promise.all":
        return False
    return len(call_args(outer)) == 1


_CALLBACKS = frozenset({"arrow_function", "function_expression"})


def _untyped_callback_on(names: set[str], body: Node) -> str | None:
    """The first of `names` whose value (or a member of it, or a call's result on it) is the
    receiver of a call with a callback whose parameter has no type annotation in `body`
    (`rows.filter((row) => …)`, `rows.filter(…).sort((a, b) => …)`): that callback gets its
    parameter types from the value."""
    if not names:
        return None
    for node in descendants(body):
        if node.type != "identifier" or text_of(node) not in names:
            continue
        current = node
        parent = current.parent
        while parent is not None:
            if parent.type == "member_expression" and parent.child_by_field_name("object") == current:
                pass
            elif parent.type in ("parenthesized_expression", "non_null_expression"):
                pass
            elif parent.type == "call_expression" and parent.child_by_field_name("function") == current:
                for argument in call_args(parent):
                    if argument.type in _CALLBACKS and any(
                        p.type == "identifier" or (p.type.endswith("_parameter") and p.child_by_field_name("type") is None)
                        for p in function_params(argument)
                    ):
                        return text_of(node)
            else:
                break
            current, parent = parent, parent.parent
    return None


def _local_key_value(key: Node, loop: Loop, facts: _LoopFacts, await_start: int) -> Node | None:
    """When the key is a name the loop body binds once, by a `const` among its first-level
    statements before the read (so it is set for every item that reaches the read), to a pure
    value of the item and outer names (`const id = idStr as Id<"contacts">`,
    `const eventId = membership.eventId`): that value, which the prefetch can compute again
    per item. None otherwise."""
    bare = unwrap(key)
    body = loop.node.child_by_field_name("body")
    if bare is None or bare.type != "identifier" or body is None or body.type != "statement_block":
        return None
    name = text_of(bare)
    if name in facts.assigned or name in loop.item_names:
        return None
    declarators = [
        n for n in descendants(body)
        if n.type == "variable_declarator" and name in pattern_names(n.child_by_field_name("name"))
    ]
    if len(declarators) != 1:
        return None  # declared again in a nested block (which one the read sees is not plain)
    declarator = declarators[0]
    declaration = declarator.parent
    if (
        declaration is None
        or declaration.type != "lexical_declaration"
        or declaration.parent is None
        or declaration.parent.id != body.id
        or declaration.end_byte > await_start
        or not text_of(declaration).startswith("const")
        or (declarator.child_by_field_name("name") or declarator).type != "identifier"
    ):
        return None
    value = declarator.child_by_field_name("value")
    if value is None or not _pure_key(value) or _builds_value(value):
        return None
    used = _identifiers(value)
    loop_locals = facts.declared - set(loop.item_names)
    if not used & set(loop.item_names) or used & loop_locals or used & facts.assigned:
        return None
    # Before the read: no exit between the declaration and the read the guards would not see
    # is needed, as the declaration itself cannot skip it (it only computes).
    return value


def _result_names(await_node: Node) -> set[str]:
    """Names the read's result is bound to in the iteration: `const author = await …`,
    `const row = { ...e, player: await … }` (the object that holds it), `x = await …`."""
    node = await_node
    parent = node.parent
    while parent is not None and parent.type in _RESULT_CARRIERS:
        node, parent = parent, parent.parent
    if parent is None:
        return set()
    if parent.type == "variable_declarator" and parent.child_by_field_name("value") == node:
        return set(pattern_names(parent.child_by_field_name("name")))
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
        root = _root_identifier(parent.child_by_field_name("left"))
        return {root} if root else set()
    return set()


def _plan(ctx: RuleContext, read: DbRead | HelperCall) -> _Plan | str:
    """The rewrite's plan, or why there is none (said in the finding's message)."""
    helper: HelperEffects | None = None
    if isinstance(read, HelperCall):
        helper = helper_effects(ctx, read)
        if helper.refusal is not None:
            return f"the read is inside `{read.callee}` ({helper.refusal})"
    if not read.loops:
        return "the read is not in a loop"
    loop = read.loops[-1]
    if loop.exempt is not None or loop.collection_node is None:
        return "the loop has no collection to collect keys from"
    # Not `forEach`: nothing awaits its callbacks, so their reads finish after it returns
    # (or never); prefetching would make them finish before, and change what is seen.
    if loop.kind not in ("for-of", "map", "flatMap"):
        return f"a `{loop.kind}` loop (only `for…of`, `.map` and `.flatMap` inside `Promise.all` are)"
    collection = unwrap(loop.collection_node)
    if collection is None:
        return "the loop's collection is computed in place (a call), not a variable"
    plain = not _computed(collection)
    if not plain and not _reevaluable(collection):
        return "the loop's collection is computed in place (a call), not a variable"
    function = read.function
    unsafe: str | None = None
    if function is None or not function.kind.is_query:
        # Outside a query (a mutation, an action, a helper, a class method: anything that
        # may hold a writer) a write inside the loop could change what a later read sees:
        # directly, through a helper, or through any other awaited call (a closure, a
        # `this.`/`Class.` method) that is not itself a read.
        # Writes the read provably cannot see keep the fix safe; others make it unsafe.
        body = loop.node.child_by_field_name("body") or loop.node
        opaque = None
        readers = {h.node.id for h in _loop_helpers(read, loop) if helper_effects(ctx, h).refusal is None}
        if any(h.node.id not in readers for h in _loop_helpers(read, loop)):
            opaque = "the loop calls a helper that may write"
        elif _awaits_other_calls(body, readers):
            opaque = "the loop awaits other calls that may write"
        writes = loop_writes(ctx, loop, opaque)
        if isinstance(read, HelperCall):
            # What the helper reads is not known table by table: any write in the loop may be it.
            if writes.opaque is not None:
                unsafe = writes.opaque
            elif writes.writes:
                unsafe = f"the loop may {writes.writes[0].method} what `{read.callee}` reads"
        else:
            unsafe = write_conflict(ctx, read, loop, writes)
    key: Node | None
    if isinstance(read, HelperCall):
        helper_key = _helper_key(read, loop)
        if isinstance(helper_key, str):
            return f"the read is inside `{read.callee}` ({helper_key})"
        key = helper_key
    elif read.kind == "get":
        key = read.id_node
    else:
        key = _query_key(read, loop)
    if key is None:
        return "the query is not keyed by one index equality on the item"
    if not _pure_key(key):
        return "the key is computed by a call"
    if _builds_value(key):
        # `helper(ctx, post.codes ?? [])`: a new `[]` per item is a key no other equals, so
        # the Map lookup by it misses (`undefined` where the read returned a value).
        return "the key builds a new object or array each time it runs (a lookup by it would miss)"
    # The key may use the item and names from outside the loop, nothing computed inside it;
    # or it is a `const` the loop body declares first from those (`const id = x.ref as
    # Id<"t">`), which the prefetch computes again per item.
    facts = _loop_facts(ctx, loop)
    loop_locals = facts.declared - set(loop.item_names)
    source_key = key
    if isinstance(read, DbRead) and read.kind == "get":
        source_key = _local_key_value(key, loop, facts, await_start=read.node.start_byte) or key
    used = _identifiers(source_key)
    if not (used & set(loop.item_names)):
        return "the read does not depend on the loop item"
    if used & loop_locals:
        return "the key is computed inside the loop"
    if isinstance(read, DbRead) and read.chain is not None and _chain_names(read.chain.end) - used - _identifiers(key) & loop_locals:
        # `q.eq("a", localInLoop).eq("b", item.b)`: the prefetch before the loop cannot see it.
        return "the query uses a value computed inside the loop"
    if isinstance(read, HelperCall) and _chain_names(read.node) - used & loop_locals:
        # `ensureUniqueSlug(ctx, baseSlug, user._id)` with `baseSlug` declared in the loop: the
        # prefetch before the loop cannot see it (TS2304 in ConvexPress, run 6).
        return f"the call to `{read.callee}` uses a value computed inside the loop"
    mutated = facts.assigned
    if used & mutated or _identifiers(key) & mutated or _identifiers(collection) & mutated:
        return "the loop changes the key or the collection"
    if not plain and text_of(unwrap(key) or key) in loop.item_names:
        # `Object.entries(o)` makes new items each time it runs: keyed by the item itself, the
        # prefetch's items would not be the loop's (a Map lookup by identity would miss).
        return "the loop's collection is computed in place (a call), and the key is the item itself"
    await_node = read.node.parent
    while await_node is not None and await_node.type == "parenthesized_expression":
        await_node = await_node.parent
    holder = await_node
    if await_node is None or await_node.type != "await_expression":
        # `xs.map((x) => db.get(x.id))` in `Promise.all`, `await Promise.all([db.get(x.a), …])`:
        # the promise is only ever awaited, so the value it resolves to can take its place.
        holder = _awaited_consumer(read.node, loop)
        if holder is None:
            return "the read's promise is used as a promise, not awaited"
        await_node = read.node
    assert holder is not None
    if any(n.type == "comment" for n in descendants(await_node)):
        return "the read has comments inside"  # the read would be replaced and its comments lost
    if _result_names(holder) & facts.changed:
        # Items with the same key would share one document (or one array of rows) where
        # each had its own copy: a change made for one item would show in the others.
        return "the loop changes the fetched document"
    if root_at_depth_limit(ctx.workspace, ctx.source):
        # At the data model's depth limit the prefetched value may be `any` (the per-key
        # query, now in a nested callback, crosses the limit where the loop's did not: the
        # app's own directive on the handler swallows the error), and so is the lookup: the
        # app's own `(x) =>` callbacks on it lose the types the read gave them (TS7006).
        body = loop.node.child_by_field_name("body") or loop.node
        callback = _untyped_callback_on(_result_names(holder), body)
        if callback is not None:
            return (
                f"the app's own callbacks on `{callback}` take their parameter types from the read, "
                "which this program, at TypeScript's instantiation-depth limit, may not infer for a prefetch"
            )
    statement = await_node.parent
    while statement is not None and statement.type == "parenthesized_expression":
        statement = statement.parent
    if statement is not None and statement.type == "expression_statement":
        return "the result is unused"  # nothing to look up
    keys = (key, source_key) if source_key is not key else (key,)
    guards = _guard(await_node, loop, facts, keys)
    if isinstance(guards, str):
        return guards
    exits = _exit_guards(facts, loop, read.start, keys, guards)
    if exits is not None:
        return exits
    if loop.is_statement:
        anchor: Node | None = loop.node
        if loop.node.parent is None or loop.node.parent.type != "statement_block":
            return "no statement to put the prefetch before"  # `if (c) for (…)`, `label: for (…)`
        if collection.type == "identifier" and declared_non_array(ctx, text_of(collection)):
            return "the collection is not an array"
        left = loop.node.child_by_field_name("left")
        item_param = text_of(left) if left is not None else ""
    else:
        call = loop.node.parent.parent if loop.node.parent is not None else None  # arguments -> call
        if call is None or not _awaited_together(call):
            return "the callbacks are not awaited together by one `Promise.all`"
        anchor = _anchor_statement(call)
        if anchor is None or not _runs_once_with(anchor, call):
            return "the `Promise.all` runs only sometimes (no statement to put the prefetch before)"
        params = loop.node.child_by_field_name("parameters")
        single = loop.node.child_by_field_name("parameter")
        if single is not None:
            item_param = text_of(single)
        elif params is not None and params.named_children:
            item_param = text_of(params.named_children[0])
        else:
            return "the callback has no item parameter"
        if isinstance(read, HelperCall) and text_of(unwrap(key) or key) in loop.item_names and not _ID_NAME.search(text_of(unwrap(key) or key)):
            # `Promise.all(orders.map((order) => enrich(ctx, order)))` already runs the calls
            # together, and distinct documents never repeat: a prefetch would gain nothing.
            return f"the read is inside `{read.callee}` (called once per item, already together)"
    if anchor is None or not item_param:
        return "no statement to put the prefetch before"
    if anchor.parent is not None and anchor.parent.type == "program":
        return "the loop is at module scope"
    if not in_async_function(anchor, _MAX_GUARD_DEPTH):  # the prefetch awaits
        return "the enclosing function is not async"
    directive = _directive_over(ctx.source, anchor, read.node)
    if directive is not None:
        # `// @ts-ignore` above `const a = await ctx.db.get(x.authorId)`: the error it expects
        # may be the read's own; moved before the loop, the read is no longer covered (a new
        # error) and the directive may be left unused (TS2578).
        return f"the read is under the app's own `@ts-expect-error`/`@ts-ignore` (line {directive}), which a prefetch would move it out of"
    too_deep = _too_deep_directive_over(ctx.source, loop)
    if too_deep is not None:
        # `// @ts-expect-error TS2589` above `blocks.map(async (block) => { … ctx.db.get(…) … })`:
        # the app says tsc gives up on the loop's own callback, whose types include the read's;
        # moved before the loop, the read's types are inferred by new statements that nothing
        # covers (TS2589 on them, seen on ConvexPress's `editor/queries.ts`).
        return (
            f"the loop is under the app's own `@ts-expect-error TS2589` (line {too_deep}): tsc gives up "
            "on its types, and a prefetch would move the read's types out from under it"
        )
    differences = (*(helper.differences if helper is not None else ()), *guards.dropped)
    return _Plan(loop, key, guards.conditions, await_node, anchor, item_param, unsafe, differences, source_key)


_DIRECTIVE = re.compile(rb"//\s*@ts-(?:expect-error|ignore)\b|/\*+\s*@ts-(?:expect-error|ignore)\b")


def _directive_over(source: SourceFile, anchor: Node, read: Node) -> int | None:
    """The 1-based line of a `@ts-expect-error`/`@ts-ignore` that applies to a line the read
    spans (as TypeScript reads them: the next line that is neither blank nor a `//` comment).
    One over an expression or statement that only holds the read (`return Promise.all(…)`)
    does not count: its error is not provably the read's, and the prefetch goes above it
    (`_above_directives`), which keeps it covering that statement."""
    lines = source.data.split(b"\n")
    first_row = anchor.start_point.row
    last_row = read.end_point.row
    held = set(range(read.start_point.row, last_row + 1))
    # Directive lines: those just above the anchor (through blank and comment lines), and
    # those inside the statement up to the read.
    rows: list[int] = []
    row = first_row - 1
    while row >= 0:
        text = lines[row].strip()
        if text and not text.startswith(b"//"):
            break
        rows.append(row)
        row -= 1
    rows.extend(range(first_row, min(last_row, len(lines) - 1) + 1))
    for row in rows:
        if not _DIRECTIVE.search(lines[row]):
            continue
        covered = row + 1
        while covered < len(lines) and (not lines[covered].strip() or lines[covered].strip().startswith(b"//")):
            covered += 1
        if covered in held:
            return row + 1
    return None


# A directive whose own error code is TS2589 (not a TS7006 one that mentions it).
# A directive whose own error code is TS2589 (not a TS7006 one that mentions it).
def _inferred_helper_at_limit(ctx: RuleContext, read: DbRead | HelperCall, anchor: Node) -> str | None:
    """Why no prefetch goes into a helper whose return type tsc infers, in a program at the
    data model's instantiation-depth limit, or None."""
    outer = anchor.parent
    while outer is not None and not (outer.type in _FUNCTIONS and (outer.parent is None or outer.parent.type != "arguments")):
        outer = outer.parent
    if outer is None or outer.child_by_field_name("return_type") is not None:
        return None
    function = read.function
    if function is not None and function.kind.is_convex and function.node.id == outer.id:
        return None
    import os
    if os.environ.get("FIXCP_G2") == "any":
        names = [n for n in (function.ctx_names if function else set())]
        if not any(untyped_parameter(anchor, n) for n in names):
            return None
    if not os.environ.get("FIXCP_G2"):
        return None
    if not root_at_depth_limit(ctx.workspace, ctx.source):
        return None
    return "G2 inferred helper"


_TOO_DEEP_DIRECTIVE = re.compile(rb"@ts-(?:expect-error|ignore)\b[\s:\-]*TS2589\b")


def _too_deep_directive_over(source: SourceFile, loop: Loop) -> int | None:
    """The 1-based line of a TS2589 `@ts-expect-error`/`@ts-ignore` that applies to the loop's
    header (`xs.map(`, `for (…)`), looking up through blank and comment lines."""
    lines = source.data.split(b"\n")
    row = source.lines.line_of(loop.header_start) - 1
    while row >= 0 and (not lines[row].strip() or lines[row].strip().startswith(b"//")):
        if _TOO_DEEP_DIRECTIVE.search(lines[row]):
            return row + 1
        row -= 1
    return None


def _loop_helpers(event: DbRead | HelperCall, loop: Loop) -> list[HelperCall]:
    function = event.function
    if function is None:
        return []
    return [h for h in function.helper_calls if h.loops and h.loops[-1] is loop]


def _helper_key(call: HelperCall, loop: Loop) -> Node | str:
    """The one argument of a helper call that depends on the item (the others must not), or
    why there is none."""
    items = set(loop.item_names)
    keyed = [arg for arg in call_args(call.node) if _identifiers(arg) & items]
    if len(keyed) != 1:
        return "its arguments do not depend on the item" if not keyed else "several of its arguments depend on the item"
    key = keyed[0]
    if (unwrap(key) or key).type in ("object", "array"):
        return "it takes the item's values in an object, not one key"
    for arg in call_args(call.node):
        if not _pure_key(arg):
            return "an argument is computed by a call"
    return key


# Array methods that return a new array of the same elements (never mutating the receiver).
_COPYING_METHODS = frozenset({"slice", "filter", "concat", "flat", "toSorted", "toReversed"})
_ARRAY_BUILDERS = frozenset({"Object.values", "Object.keys", "Object.entries", "Array.from"})
_LITERALS = frozenset({"identifier", "number", "string", "true", "false", "null", "undefined", "this"})


def _reevaluable(node: Node | None) -> bool:
    """A collection the prefetch can compute again before the loop and get the same items:
    names, member accesses, literals, array spreads, `a ?? []`, and calls of array methods
    that copy (`xs.slice(0, n)`, `xs.filter((x) => x.active)` with a pure callback) or of
    `Object.values/keys/entries`, `Array.from`. Nothing that calls unknown code."""
    node = unwrap(node)
    if node is None:
        return False
    kind = node.type
    if kind in _LITERALS:
        return True
    if kind == "member_expression":
        return _reevaluable(node.child_by_field_name("object"))
    if kind == "subscript_expression":
        return _reevaluable(node.child_by_field_name("object")) and _reevaluable(node.child_by_field_name("index"))
    if kind == "array":
        return all(_reevaluable(c.named_children[0] if c.type == "spread_element" and c.named_children else c) for c in node.named_children)
    if kind == "binary_expression":
        return text_of(node.child_by_field_name("operator")) in ("??", "||") and _reevaluable(
            node.child_by_field_name("left")
        ) and _reevaluable(node.child_by_field_name("right"))
    if kind != "call_expression" or _optional_call(node):
        return False
    callee = node.child_by_field_name("function")
    args = call_args(node)
    if text_of(callee) in _ARRAY_BUILDERS:
        return len(args) == 1 and _reevaluable(args[0])
    if callee is None or callee.type != "member_expression":
        return False
    if text_of(callee.child_by_field_name("property")) not in _COPYING_METHODS:
        return False
    return _reevaluable(callee.child_by_field_name("object")) and all(_reevaluable(a) or _pure_callback(a) for a in args)


def _pure_callback(node: Node) -> bool:
    """`(x) => x.active && x.kind === "a"`: an expression-bodied arrow that calls nothing."""
    node = unwrap(node) or node
    body = node.child_by_field_name("body") if node.type == "arrow_function" else None
    if body is None or body.type == "statement_block":
        return False
    return _pure_key(body)


def _chain_names(chain: Node) -> set[str]:
    """Names a query chain reads from its surroundings (not its own callbacks' parameters)."""
    own: set[str] = set()
    for node in descendants(chain):
        if node.type == "arrow_function":
            single = node.child_by_field_name("parameter")
            params = node.child_by_field_name("parameters")
            if single is not None:
                own.add(text_of(single))
            elif params is not None:
                for param in params.named_children:
                    own.update(pattern_names(param.child_by_field_name("pattern") or param))
    return _identifiers(chain) - own


def _awaited_consumer(read: Node, loop: Loop) -> Node | None:
    """Where a read's promise ends up, if only ever awaited: the callback's result (which
    `Promise.all` awaits; the caller checks it does), or an element of an awaited
    `Promise.all([…])` (that `await` is returned). None when the promise is passed on,
    stored, or `.then`-ed: a plain value there would change what the code does."""
    child, parent = read, read.parent
    for _ in range(_MAX_GUARD_DEPTH):
        if parent is None or (parent.type in _FUNCTIONS and parent.id != loop.node.id):
            return None
        if parent.id == loop.node.id:
            return loop.node if not loop.is_statement else None  # an expression-bodied callback
        kind = parent.type
        if kind == "array":
            call = parent.parent.parent if parent.parent is not None else None
            if parent.parent is None or parent.parent.type != "arguments" or call is None:
                return None
            if text_of(call.child_by_field_name("function")) != "Promise.all" or len(call_args(call)) != 1:
                return None
            outer = call.parent
            while outer is not None and outer.type == "parenthesized_expression":
                outer = outer.parent
            return outer if outer is not None and outer.type == "await_expression" else None
        if kind == "return_statement":
            return None if loop.is_statement else loop.node  # the callback's result
        if kind == "ternary_expression" and parent.child_by_field_name("condition") != child:
            pass  # a branch: `_guard` decides whether its condition can be mirrored
        elif kind not in ("parenthesized_expression", "statement_block", "if_statement", "else_clause"):
            return None
        child, parent = parent, parent.parent
    return None


@dataclass
class _Guards:
    """Which items a read runs for, as far as a prefetch before the loop can say."""

    conditions: list[str] = field(default_factory=list)  # texts, all true when the read runs
    dropped: list[str] = field(default_factory=list)  # how the prefetch differs from the loop (unsafe)

    def drop(self, difference: str) -> None:
        if difference not in self.dropped:
            self.dropped.append(difference)


_REFUSED_CONDITION = "the read runs only under a condition that is not on the item alone"


def _guard(await_node: Node, loop: Loop, facts: _LoopFacts, keys: tuple[Node, ...]) -> _Guards | str:
    """The conditions under which the read runs, mirrored or dropped, or why neither can be."""
    guards = _Guards()
    path = descend_path(loop.node, await_node)
    if path[0].id != loop.node.id or len(path) > _MAX_GUARD_DEPTH:
        return _REFUSED_CONDITION
    pairs = list(zip(reversed(path[:-1]), reversed(path[1:]), strict=True))  # (ancestor, child), innermost first
    for current, child in pairs:
        if current.id == loop.node.id:
            break
        kind = current.type
        condition: Node | None = None
        negated = False
        if kind in ("ternary_expression", "if_statement"):
            condition = current.child_by_field_name("condition")
            if condition is None or condition.id == child.id:
                continue  # the read is (in) the condition: always evaluated
            alternative = current.child_by_field_name("alternative")
            negated = alternative is not None and alternative.id == child.id  # `else` / `c ? … : read`
        elif kind == "binary_expression":
            operator = text_of(current.child_by_field_name("operator"))
            left = current.child_by_field_name("left")
            if left is None or left.id == child.id or operator not in ("&&", "||", "??"):
                continue
            if operator == "??":
                return _REFUSED_CONDITION  # runs when `left` is nullish: rare, not mirrored
            condition, negated = left, operator == "||"
        elif kind == "try_statement":
            body = current.child_by_field_name("body")
            if body is None or body.id != child.id:
                return _REFUSED_CONDITION  # in `catch`/`finally`: runs only on an error
            # A read that throws would be caught for its one item; before the loop it fails all.
            guards.drop("a read that fails is no longer caught by the loop's `catch`")
            continue
        elif kind in ("else_clause", "statement_block") or (
            kind == "parenthesized_expression" and current.parent is not None and current.parent.type == "if_statement"
        ):
            continue
        elif kind not in _NEUTRAL:
            return _REFUSED_CONDITION
        if condition is None:
            continue
        if _mirrorable(condition, loop, facts):
            guards.conditions.append(_negation(condition) if negated else _operand(condition))
        elif all(_droppable(condition, k, loop) for k in keys):
            guards.drop("it also reads for items the condition on the read skips")
        else:
            return _REFUSED_CONDITION
    guards.conditions.reverse()  # outermost first, as the code reads
    return guards


def _bare(condition: Node) -> Node:
    while condition.type == "parenthesized_expression" and condition.named_children:
        condition = condition.named_children[0]
    return condition


def _mirrorable(condition: Node, loop: Loop, facts: _LoopFacts) -> bool:
    """A condition the prefetch can evaluate again before the loop with the same value: no
    calls, nothing computed or changed inside the loop (the item's own fields may be read)."""
    condition = _bare(condition)
    used = _identifiers(condition)
    loop_locals = facts.declared - set(loop.item_names)
    return not (used & loop_locals) and not (used & facts.assigned) and _pure_key(condition)


_MEMBERSHIP_TESTS = frozenset({"has", "includes"})


def _droppable(condition: Node, key: Node, loop: Loop) -> bool:
    """Whether the prefetch may ignore `condition` and read for every item: the condition must
    not be where TypeScript (or the code) learns the key is valid. So it may not mention the
    key (outside a membership test: `seen.has(x.id)`), nor narrow the item (`isPost(x)`,
    `x.kind === "a"`: `_may_narrow_item`), and the key may not be a cast (`x.ref as
    Id<"quotes">` read only when `x.kind` says so)."""
    bare_key = unwrap(key) or key
    if any(n.type in ("as_expression", "non_null_expression", "type_assertion") for n in descendants(key)):
        return False
    if bare_key.type in ("as_expression", "non_null_expression"):
        return False
    condition = _bare(condition)
    key_text = text_of(bare_key)
    for node in descendants(condition):
        if text_of(node) == key_text and not _in_membership_test(node, condition):
            return False  # `if (!x.ref) continue` is where `x.ref` is known to be set
    items = set(loop.item_names)
    for node in descendants(condition):
        is_item = node.type in ("identifier", "shorthand_property_identifier") and text_of(node) in items
        if is_item and not _in_membership_test(node, condition) and _may_narrow_item(node, condition):
            return False
    return True


_EQUALITY = frozenset({"===", "!==", "==", "!="})
_LITERAL_TYPES = frozenset({"string", "number", "true", "false", "null", "undefined", "template_string"})


def _may_narrow_item(item: Node, top: Node) -> bool:
    """Whether this use of the item in a condition could narrow the item's own type, so that
    a key read only under it (`x.payload.id` after `x.kind === "a"`) would not type-check
    for every item: the item itself tested (`!x`, `isPost(x)`, `typeof x`), or a field of it
    compared with a literal (a discriminant). Reading a field, or calling a method on one
    (`x.email?.trim() !== email`), narrows nothing but that expression."""
    chain = item
    called = False
    while chain.id != top.id:
        parent = chain.parent
        if parent is None:
            break
        if parent.type in ("member_expression", "subscript_expression") and parent.child_by_field_name("object") == chain:
            chain = parent
        elif parent.type == "call_expression" and parent.child_by_field_name("function") == chain:
            chain, called = parent, True
        elif parent.type in ("non_null_expression", "parenthesized_expression"):
            chain = parent
        else:
            break
    if chain.id == item.id:
        return True  # the item itself: its truthiness, a type guard, `typeof`, `instanceof`
    parent = chain.parent
    if parent is None or chain.id == top.id:
        return False
    if parent.type == "unary_expression" and text_of(parent.child_by_field_name("operator")) == "typeof":
        return True
    if parent.type == "binary_expression":
        operator = text_of(parent.child_by_field_name("operator"))
        if operator in ("instanceof", "in"):
            return True
        if operator in _EQUALITY and not called:
            left, right = parent.child_by_field_name("left"), parent.child_by_field_name("right")
            other = right if left is not None and left.id == chain.id else left
            return other is not None and (unwrap(other) or other).type in _LITERAL_TYPES
    return False


def _in_membership_test(node: Node, top: Node) -> bool:
    current: Node | None = node
    while current is not None and current.id != top.id:
        parent = current.parent
        if parent is not None and parent.type == "arguments" and parent.parent is not None:
            callee = parent.parent.child_by_field_name("function")
            if callee is not None and callee.type == "member_expression" and text_of(callee.child_by_field_name("property")) in _MEMBERSHIP_TESTS:
                return True
        current = parent
    return False


_TIGHT = frozenset({"identifier", "member_expression", "call_expression", "subscript_expression", "parenthesized_expression",
                    "unary_expression", "true", "false", "null", "undefined", "string", "number", "non_null_expression"})


def _operand(condition: Node) -> str:
    """The condition's text, parenthesised unless it binds tighter than `&&`, `!` and `?:`."""
    bare = _bare(condition)
    text = text_of(bare)
    if bare.type in _TIGHT:
        return text
    if bare.type == "binary_expression" and text_of(bare.child_by_field_name("operator")) not in ("&&", "||", "??"):
        return text
    return f"({text})"


_FLIPPED = {"===": "!==", "!==": "===", "==": "!=", "!=": "=="}


def _negation(condition: Node) -> str:
    bare = _bare(condition)
    operator = text_of(bare.child_by_field_name("operator")) if bare.type == "binary_expression" else ""
    if operator in _FLIPPED:  # `!(a === b)` is `a !== b`
        left, right = bare.child_by_field_name("left"), bare.child_by_field_name("right")
        if left is not None and right is not None:
            return f"{text_of(left)} {_FLIPPED[operator]} {text_of(right)}"
    if bare.type == "unary_expression" and text_of(bare.child_by_field_name("operator")) == "!":
        argument = bare.child_by_field_name("argument")
        if argument is not None:
            return _operand(argument)
    if bare.type in _TIGHT and bare.type != "unary_expression":
        return f"!{text_of(bare)}"
    return f"!({text_of(bare)})"


def _query_key(read: DbRead, loop: Loop) -> Node | None:
    """The single item-dependent value in a per-item index query, if the query is otherwise
    loop-invariant and keyed only through index equalities."""
    chain = read.chain
    if chain is None or chain.terminal not in ("first", "unique", "collect", "take"):
        return None
    steps = chain.steps[:-1] if _counts_rows(chain) else chain.steps
    if any(step.method not in ("withIndex", "order", "filter", "first", "unique", "collect", "take") for step in steps):
        return None
    # A `.filter` runs once per key instead of once per item: it must compute nothing but
    # conditions on its own `q` (a call to anything else could differ between the two).
    if not all(_only_q_calls(arg) for step in chain.steps_named("filter") for arg in step.args):
        return None
    index = chain.index_step
    if index is None:
        return None
    from convex_xray.engine.analysis.chains import parse_index_ranges

    ranges = parse_index_ranges(index)
    if not ranges:
        return None
    items = set(loop.item_names)
    keyed = [r for r in ranges if r.value_node is not None and _identifiers(r.value_node) & items]
    if len(keyed) != 1 or keyed[0].op != "eq":
        return None
    # Everything else in the chain must not depend on the item.
    for step in chain.steps:
        for arg in step.args:
            if arg.id == (range_arg.id if (range_arg := index.arg(1)) is not None else -1):
                continue
            if _identifiers(arg) & items:
                return None
    for r in ranges:
        if r is not keyed[0] and r.value_node is not None and _identifiers(r.value_node) & items:
            return None
    return keyed[0].value_node


def _counts_rows(chain: QueryChain) -> bool:
    """`….collect().then((rows) => rows.length)`: the query's value is its row count."""
    if chain.terminal not in ("collect", "take") or not chain.steps or chain.steps[-1].method != "then":
        return False
    args = chain.steps[-1].args
    callback = unwrap(args[0]) if len(args) == 1 else None
    if callback is None or callback.type != "arrow_function":
        return False
    params = function_params(callback)
    body = callback.child_by_field_name("body")
    if len(params) != 1 or body is None or body.type != "member_expression":
        return False
    param = text_of(param_pattern(params[0]))
    return text_of(body.child_by_field_name("object")) == param and text_of(body.child_by_field_name("property")) == "length"


def _only_q_calls(callback: Node) -> bool:
    """A query callback (`(q) => q.eq(q.field("a"), x)`) whose calls are all methods of its
    parameter, and which awaits, assigns and creates nothing."""
    callback = unwrap(callback) or callback
    if callback.type != "arrow_function":
        return False
    params = function_params(callback)
    if len(params) != 1:
        return False
    q = text_of(param_pattern(params[0]))
    body = callback.child_by_field_name("body")
    if body is None:
        return False
    forbidden = {"await_expression", "assignment_expression", "augmented_assignment_expression", "update_expression",
                 "new_expression", "arrow_function", "function_expression"}
    for node in descendants(body):
        if node.type in forbidden:
            return False
        if node.type == "call_expression" and _root_identifier(node.child_by_field_name("function")) != q:
            return False
    return True


def _needs_parens(node: Node) -> bool:
    parent = node.parent
    if parent is None:
        return True
    if parent.type in ("variable_declarator", "return_statement", "arguments", "array", "spread_element", "template_substitution",
                       "parenthesized_expression"):
        return False
    if parent.type == "pair" and parent.child_by_field_name("value") == node:
        return False
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
        return False
    # A ternary branch takes any expression; elsewhere `??` needs parentheses to mix safely.
    return not (parent.type == "ternary_expression" and parent.child_by_field_name("condition") != node)


@dataclass
class _Piece:
    """One read's share of a loop's fix: the prefetch statements and the lookup replacing it."""

    plan: _Plan
    lines: list[layout.Doc]  # statements without their semicolon, laid out when rendered
    lookup: str
    what: str  # what it fetches, for the title ("`authors`", "`members` rows")
    kind: str  # "get" or "query"
    bound: _Binding | None = None  # the loop's computed collection, bound once before the prefetch


@dataclass(frozen=True)
class _Binding:
    """A computed collection (`xs.filter(isActive)`) bound to a name before the prefetch
    (`const filteredXs = xs.filter(isActive)`), which both the prefetch and the loop header use."""

    node: Node  # the collection's expression (without parentheses or a cast), bound to the name
    replaced: Node  # what the name replaces in the loop header (the expression in its parentheses)
    name: str


def _computed(collection: Node) -> bool:
    """A collection that is not a plain name or property path (`posts`, `args.items`): a call
    (`xs.filter(…)`, `Object.values(o)`), `xs ?? []`, an array literal, a subscript."""
    return not (collection.type in ("identifier", "member_expression") and _pure_key(collection))


_BOUND_PREFIXES = {"filter": "filtered", "slice": "sliced", "concat": "all", "flat": "flat", "toSorted": "sorted",
                   "toReversed": "reversed"}
_BOUND_SUFFIXES = {"Object.values": "Values", "Object.keys": "Keys", "Object.entries": "Entries", "Array.from": "List"}


def _collection_base(node: Node | None, top: bool = True) -> str:
    """The name a computed collection is bound to: what it is computed from, and (outermost
    only) how: `enrollments.filter(…)` -> "filteredEnrollments", `posts.filter(…).slice(0, n)`
    -> "slicedPosts", `Object.values(byId)` -> "byIdValues", `post.tags ?? []` -> "tags"."""
    node = unwrap(node)
    if node is None:
        return "items"
    if node.type == "identifier":
        return text_of(node)
    if node.type == "member_expression":
        return text_of(node.child_by_field_name("property")) or "items"
    if node.type == "subscript_expression":
        return _collection_base(node.child_by_field_name("object"), top)
    if node.type == "binary_expression":
        return _collection_base(node.child_by_field_name("left"), top)
    if node.type == "call_expression":
        callee = node.child_by_field_name("function")
        args = call_args(node)
        if text_of(callee) in _BOUND_SUFFIXES and args:
            return _collection_base(args[0], False) + (_BOUND_SUFFIXES[text_of(callee)] if top else "")
        if callee is not None and callee.type == "member_expression":
            subject = _collection_base(callee.child_by_field_name("object"), False)
            prefix = _BOUND_PREFIXES.get(text_of(callee.child_by_field_name("property"))) if top else None
            return prefix + subject[:1].upper() + subject[1:] if prefix else subject
    return "items"


def _bindings(
    source: SourceFile, plans: list[tuple[DbRead | HelperCall, _Plan]], names: FreshNames
) -> dict[int, _Binding]:
    """Each computed loop collection's binding, by the collection's node id (one per loop: two
    reads in one loop share it). The prefetch used to copy the expression, so it ran twice (in
    the prefetch, then in the loop header) where the original ran it once; bound, it runs once,
    as in the original, and the loop iterates the very items the keys came from. It runs before
    the prefetch rather than at the loop header, which `_reevaluable` already allows (it calls
    no unknown code, and the loop changes nothing it reads). tsc also checks it once: an error
    the app's own header has there (ConvexPress's TS2769 on `xs.filter(namedPredicate)` at the
    depth limit) is not reported a second time on the copy."""
    bindings: dict[int, _Binding] = {}
    for _, plan in plans:
        collection = unwrap(plan.loop.collection_node)
        if collection is None or not _computed(collection) or collection.id in bindings:
            continue
        anchor = plan.anchor
        if _above_directives(source, anchor) != anchor.start_byte and source.lines.line_of(
            collection.start_byte
        ) == source.lines.line_of(anchor.start_byte):
            # A `// @ts-expect-error` over the loop's first line is about that line, maybe the
            # collection: moved above it, the directive would be left unused (TS2578).
            continue
        # `(xs ?? []).map(…)` becomes `items.map(…)`, parentheses and all; a cast (`xs as T[]`)
        # stays in the header, around the name, as the prefetch's copy never had it.
        replaced = collection
        while (
            replaced.parent is not None
            and replaced.parent.type == "parenthesized_expression"
            and plan.loop.collection_node is not None
            and replaced.parent.start_byte >= plan.loop.collection_node.start_byte
        ):
            replaced = replaced.parent
        bindings[collection.id] = _Binding(collection, replaced, names.fresh(_collection_base(collection)))
    return bindings


def _piece(
    ctx: RuleContext, read: DbRead | HelperCall, plan: _Plan, names: FreshNames, bound: _Binding | None = None
) -> _Piece:
    source = ctx.source
    style = source.style
    key_text = source.node_text(plan.key)  # the lookup's key, in the loop
    source_key = plan.source_key or plan.key
    per_item_key = source.node_text(source_key)  # the prefetch's, per item
    base = _helper_base(read.callee) if isinstance(read, HelperCall) else base_name(ctx, read, plan.key)
    if bound is not None:
        collection: layout.Doc = bound.name
    else:
        collection = layout.copied(source.node_text(cast(Node, unwrap(plan.loop.collection_node) or plan.loop.collection_node)))
    item = plan.item_param
    # Where the collection is (or may be) `any`, the new callbacks get no parameter type from
    # it: a bare `(item) =>` would be an implicit `any` (TS7006) under `strict`.
    # JavaScript has no annotations to write (TS8010) and tsc reports no implicit `any` there.
    typescript = is_typescript_path(source.path)
    lost = typescript and types_lost(ctx.workspace, source)
    untyped_db = False  # a helper's results have its own return type, whatever handle it reads through
    if isinstance(read, DbRead) and typescript:
        reader = read.chain.root if read.chain is not None else read.node  # `ctx.db.get(…)`, `ctx.db.query(…)`
        untyped_db = untyped_root(reader.child_by_field_name("function"))
    untyped_items = typescript and (untyped_db or untyped_root(plan.loop.collection_node))
    # In a program that loses contextual types the items keep their own type when they can be
    # named: `(post: (typeof posts)[number])` is `any` where `posts` is and the document type
    # where `posts` is typed, so the keys (and the documents fetched by them) keep the types
    # the loop's own reads had. `(post: any)` there made every fetched document `any`, and a
    # later `ctx.db.get(post.authorId)` on it a union of every table's documents (TS2339).
    # Not in a file that itself says so (a directive about TS2589 or implicit `any` there): that
    # file is at tsc's depth limit, where typing the items crosses it again (TS2589 on the
    # new `.map`, seen on ConvexPress); `any` there, as the app's own callbacks say. Nor
    # anywhere in a root whose TS2589 directives are about its data model (on queries, reads,
    # validators), not only on function references: there the whole program is at the limit,
    # and typed items in one file moved which expressions cross it in others (ConvexPress).
    at_limit = file_says_types_lost(source) or root_at_depth_limit(ctx.workspace, source)
    named = None if at_limit else item_type_query(plan.loop.collection_node)
    # The items are the keys (`ids.map((id) => ctx.db.get(id))`): no callback on the items is written.
    items_are_keys = per_item_key == plan.item_param and not plan.guards
    by_package = typescript and named is not None and typed_by_package(ctx.workspace, source)
    if ":" not in item and (lost or untyped_items):
        item = f"{item}: {named if lost and not untyped_items and named else 'any'}"
    elif ":" not in item and typescript and named and (builder_said_any(plan.loop.collection_node) or (by_package and not items_are_keys)):
        # The app's own query said `(q: any)`, or the app types its `ctx` or data model through a
        # package (custom builders, ents): its documents may be `any` (a package tsc does not
        # see), where a bare `(row) =>` is an implicit `any`. The item's own type is right
        # either way: the documents' where they are typed, `any` where not.
        item = f"{item}: {named}"
    typed_items = ":" in item and not item.endswith(": any")
    # The fetched documents are `any` when the db handle is: saying so costs no type.
    doc = "doc: any" if lost or untyped_db else "doc"
    # A key cast by the loop (`user.userId as Id<"users">`) says its type: the keys keep it even
    # when the collection is `any` (`new Set(anyValue)` is a `Set<unknown>`, whose ids no
    # `db.get` takes: TS2345). Not at the depth limit when the collection is documents read
    # through a typed db handle: `.map` then returns the cast's type and the Set infers it,
    # while the written type argument crossed the limit (TS2589 on `new Set<Id<"media">>(…)`
    # in ConvexPress's `wordpressSync/internals.ts`; without it, none).
    inferred = at_limit and read_from_db(plan.loop.collection_node)
    key_type = _cast_type(source_key) if lost and not untyped_db and not inferred else None
    if (
        key_type is None
        and items_are_keys
        and item == plan.item_param
        and named
        and plan.loop.kind in _ARRAY_ONLY_METHODS
        and (by_package or _imported_root(ctx, plan.loop.collection_node))
    ):
        # The items are the keys, and the array may be `any` to tsc: an imported value (its
        # module, or one it re-exports from, may not resolve: a package or a folder outside the
        # app) or one typed through a package. `new Set(anyValue)` is a `Set<unknown>`, whose
        # keys no typed read takes (TS2345); the item type written from the array is `any`
        # there and the items' own type where it is typed. (Only for a loop that is an array
        # method: `(typeof xs)[number]` does not name a Set's items.)
        key_type = named
    set_callee = f"Set<{key_type}>" if key_type else "Set"
    keys_doc: layout.Doc
    if plan.guards:
        conditions: list[layout.Doc] = []
        for i, condition in enumerate(plan.guards):
            conditions += [condition] if i == 0 else [" &&", layout.LINE, condition]
        guarded = layout.group(
            "(",
            layout.nest(layout.group(*conditions), layout.nest(layout.LINE, f"? [{per_item_key}]", layout.LINE, ": []")),
            ")",
        )
        keys_doc = layout.chain(collection, [layout.call(".flatMap", [layout.arrow(item, guarded)], style)])
    elif per_item_key == item:
        keys_doc = collection  # the items are the keys
    else:
        keys_doc = layout.chain(collection, [layout.call(".map", [layout.arrow(item, layout.copied(per_item_key))], style)])
    # `Array.from`, not `[...new Set(…)]`: spreading a Set needs `--downlevelIteration` or a
    # target of ES2015 or later (TS2802), which an app's effective tsconfig may not have (an
    # `extends` we cannot read, no `target`: ES5); `Array.from` takes the Set under every
    # target whose lib has `Set` at all, with the same order and element type.
    unique = layout.call("Array.from", [("new ", layout.call(set_callee, [keys_doc], style))], style)
    lines: list[layout.Doc]
    if isinstance(read, HelperCall):
        param = names.fresh("key")
        field = _last_name(plan.key) or "key"
        keys = names.fresh(f"{field}Keys" if field != "key" else f"{base}Keys")
        results = names.fresh(f"{base}Results")
        by_key = names.fresh(f"{base}By{field[:1].upper() + field[1:]}")
        arguments = ", ".join(param if a.id == plan.key.id else source.node_text(a) for a in call_args(read.node))
        helper = source.node_text(cast(Node, read.node.child_by_field_name("function")))
        per_key = layout.call(".map", [layout.arrow(param, f"{helper}({arguments})")], style)
        pairs = layout.call(".map", [layout.arrow(f"{param}, i", f"[{param}, {results}[i]]")], style)
        lines = [
            (f"const {keys} = ", unique),
            (f"const {results} = await ", layout.call("Promise.all", [layout.chain(keys, [per_key])], style)),
            (f"const {by_key} = new ", layout.call("Map", [layout.chain(keys, [pairs])], style)),
        ]
        # Every key was fetched, so `get` finds it; the cast drops only the `undefined` of a
        # miss and keeps the helper's own result type, `null` included (`!` would drop that too).
        lookup = f"{by_key}.get({key_text})"
        if typescript:
            lookup += f" as (typeof {results})[number]"
        what = f"`{read.callee}` results"
        kind = "helper"
    elif read.kind == "get":
        callee = cast(Node, read.node.child_by_field_name("function"))  # a db.get call has a callee
        db_text = source.node_text(cast(Node, callee.child_by_field_name("object")))
        args = call_args(read.node)
        table_arg = f"{source.node_text(args[0])}, " if read.table and len(args) >= 2 else ""
        ids = names.fresh(f"{base}Ids")
        docs = names.fresh(plural(base))
        by_id = names.fresh(f"{plural(base)}ById")
        fetch = layout.call(".map", [layout.arrow("id", f"{db_text}.get({table_arg}id)")], style)
        present = layout.call(".filter", [layout.arrow(doc, "doc !== null")], style)
        pairs = layout.call(".map", [layout.arrow(doc, "[doc._id, doc]")], style)
        # `(doc: any)` makes the pairs `any`: the Map says what it holds, the type of the keys
        # and of the documents fetched by them, so a lookup has the type the read had.
        # (Keys are ids, which are strings: `string` takes them all.)
        map_callee: layout.Doc = "Map"
        # (Not in a file or root at the depth limit: the Map's type arguments crossed it again
        # there, TS2589 elsewhere in the file on ConvexPress's `wordpressSync/internals.ts`.)
        if lost and not untyped_db and not at_limit and (typed_items or key_type):
            map_callee = _type_arguments("Map", ["string", f"NonNullable<(typeof {docs})[number]>"])
        # At the depth limit, a read whose value is `any` gets a Map declared `any`: the lookup
        # then has the read's type with nothing for tsc to infer. Where the function's return
        # type is inferred, tsc infers it deep inside the generated `api`'s types, and a Map it
        # had to infer from the prefetch's statements (`Array.from(new Set(…))`, `Promise.all`,
        # `new Map(…)`) crossed the limit there (TS2589 on them, ConvexPress). Two such reads:
        # through an untyped db handle (`ctx: any`); and `db.get(key)` with an `any` key (an
        # item the app annotates `any`), which tsc types as every table's documents — the union
        # a program at the limit gives up on (the app's own TS2589 over such reads).
        untyped_value = untyped_db or (not table_arg and _any_key(source_key, plan, untyped_items))
        declared = ": any" if typescript and at_limit and untyped_value else ""
        if typescript and at_limit and not declared and doc == "doc: any" and map_callee == "Map":
            # The `(doc: any)` pairs make this a `Map<any, any>` whatever the read returns: saying
            # so loses no type, and tsc no longer infers it, through `Promise.all` and the Set,
            # deep inside the generated `api`'s types where the function's return type is
            # inferred from a lookup (ConvexPress's `wordpressSync/internals.ts`: TS2589 on the
            # `new Set(…)`, then on the `Promise.all` once the ids were annotated; an annotation
            # with the documents' type, `Map<Id<"media">, Doc<"media">>`, crossed the limit too).
            declared = ": Map<any, any>"
        lines = [
            (f"const {ids} = ", unique),
            (f"const {docs} = await ", layout.call("Promise.all", [layout.chain(ids, [fetch])], style)),
            (f"const {by_id}{declared} = new ", layout.call(map_callee, [layout.chain(docs, [present, pairs])], style)),
        ]
        lookup = f"{by_id}.get({key_text}) ?? null"
        # With no table and no `...Id` key to name them, say "the documents" (not a made-up `docs`).
        what = "the documents" if base == GENERIC else f"`{plural(base)}`"
        kind = "get"
    else:
        chain = read.chain
        assert chain is not None
        param = names.fresh("key")
        field = _key_field(read, plan.key) or "key"
        keys = names.fresh(f"{singular(camel(field))}Keys" if field != "key" else f"{base}Keys")
        counts = _counts_rows(chain)  # the value is a row count: name it so
        table = camel(chain.table or "result")
        results = names.fresh(f"{singular(table)}Counts" if counts else f"{table}Results")
        by_key = names.fresh(f"{singular(table) + 'Counts' if counts else table}By{field[:1].upper() + field[1:]}")
        per_key = layout.call(".map", [layout.arrow(param, _chain_doc(source, chain, plan.key, param))], style)
        pairs = layout.call(".map", [layout.arrow(f"{param}, i", f"[{param}, {results}[i]]")], style)
        # Through an untyped db handle at the depth limit, the Map is declared `any`, as for a get.
        declared = ": any" if typescript and at_limit and untyped_db else ""
        lines = [
            (f"const {keys} = ", unique),
            (f"const {results} = await ", layout.call("Promise.all", [layout.chain(keys, [per_key])], style)),
            (f"const {by_key}{declared} = new ", layout.call("Map", [layout.chain(keys, [pairs])], style)),
        ]
        empty = "0" if counts else "[]" if chain.terminal in ("collect", "take") else "null"
        lookup = f"{by_key}.get({key_text}) ?? {empty}"
        what = f"`{chain.table or 'the'}` rows"
        kind = "query"
    if _needs_parens(plan.replaced):
        lookup = f"({lookup})"
    return _Piece(plan, lines, lookup, what, kind, bound)


def _any_key(key: Node, plan: _Plan, untyped_items: bool) -> bool:
    """Whether a read's key is `any` to tsc: a member of an item the app types `any` (the loop's
    `(invoice: any) =>`), or of items from an untyped collection; not one the loop casts
    (`entry.memberId as Id<"members">` says its type)."""
    cast_to = _cast_type(key)
    if cast_to is not None and cast_to != "any":
        return False
    root = _root_identifier(key)
    if root is None or root not in plan.loop.item_names:
        return False
    return untyped_items or untyped_parameter(key, root)


def _type_arguments(name: str, types: list[str]) -> layout.Doc:
    """`Map<K, V>`, or one type per line when it does not fit, as prettier does (with no
    trailing comma: TypeScript allows none in type arguments, TS1009)."""
    parts: list[layout.Doc] = []
    for i, written in enumerate(types):
        parts += [written] if i == 0 else [",", layout.LINE, written]
    return layout.group(f"{name}<", layout.nest(layout.SOFT, *parts), layout.SOFT, ">")


# Loops that are methods arrays have and Sets and Maps do not (`xs.map(…)`): their collection
# is an array wherever it is typed.
_ARRAY_ONLY_METHODS = frozenset({"map", "flatMap", "filter", "some", "every", "find", "findIndex", "reduce"})


def _imported_root(ctx: RuleContext, collection: Node | None) -> bool:
    """Whether the collection is an imported name or a property path on one (`STATUSES`,
    `config.kinds`)."""
    node = unwrap(collection)
    while node is not None and node.type == "member_expression":
        node = unwrap(node.child_by_field_name("object"))
    if node is None or node.type != "identifier" or ctx.model is None:
        return False
    return text_of(node) in ctx.model.imports


def _cast_type(key: Node) -> str | None:
    """The type a key is cast to (`x as Id<"users">` -> `Id<"users">`), not `as const`."""
    node = key
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    if node.type != "as_expression" or len(node.named_children) < 2:
        return None
    written = " ".join(text_of(node.named_children[-1]).split())
    return None if written == "const" else written


_ID_NAME = re.compile(r"(?:^id|Id|_id|ID)s?$")  # `id`, `userId`: a key that may repeat, not a document
_VERBS = ("get", "load", "fetch", "find", "resolve", "read", "lookup", "require", "compute", "calculate", "build")


def _helper_base(callee: str) -> str:
    """`getPersonWithUser` -> "personWithUser", `Users.load` -> "users"."""
    name = callee.rsplit(".", 1)[-1].lstrip("_")
    for verb in _VERBS:
        if name.startswith(verb) and len(name) > len(verb) and name[len(verb)].isupper():
            rest = name[len(verb):]
            return rest[:1].lower() + rest[1:]
    if "." in callee and name in _VERBS:
        owner = callee.rsplit(".", 1)[0].rsplit(".", 1)[-1]
        return owner[:1].lower() + owner[1:]
    return name or "helper"


def _last_name(node: Node) -> str | None:
    """`membership.personId` -> "personId", `userId` -> "userId"."""
    bare = unwrap(node)
    if bare is None:
        return None
    if bare.type == "member_expression":
        return text_of(bare.child_by_field_name("property"))
    return text_of(bare) if bare.type == "identifier" else None


def _chain_doc(source: SourceFile, query: QueryChain, key: Node, param: str) -> layout.Doc:
    """The per-item query with its key replaced by `param`, one `.step(…)` per member so it
    breaks like a chain; a step written over several lines keeps its own layout."""

    def text(start: int, end: int) -> str:
        if start <= key.start_byte and key.end_byte <= end:
            return source.slice(start, key.start_byte) + param + source.slice(key.end_byte, end)
        return source.slice(start, end)

    callee = query.root.child_by_field_name("function")
    receiver = callee.child_by_field_name("object") if callee is not None else None
    whole = layout.copied(text(query.root.start_byte, query.end.end_byte))
    if receiver is None:
        return whole
    members: list[layout.Doc] = []
    cursor = receiver.end_byte
    for end in (query.root.end_byte, *(step.call.end_byte for step in query.steps)):
        member = text(cursor, end).lstrip()
        if not member.startswith(".") or "//" in member or "/*" in member:
            return whole
        members.append(layout.copied(member))
        cursor = end
    return layout.chain(source.node_text(receiver), members)


def _title(pieces: list[_Piece]) -> str:
    if len(pieces) == 1:
        piece = pieces[0]
        if piece.kind == "get":
            return f"Batch-fetch {piece.what} before the loop (one `Promise.all`, then a Map lookup)"
        return f"Prefetch {piece.what} for the unique keys before the loop (one `Promise.all`, then a Map lookup)"
    whats = [p.what for p in pieces]
    listed = ", ".join(whats[:-1]) + f" and {whats[-1]}"
    return f"Batch-fetch {listed} before the loop (one `Promise.all` each, then Map lookups)"


def batch_fetch_fix(ctx: RuleContext, read: DbRead) -> Fix | None:
    """The batch-fetch rewrite of one read, or None when it cannot be proven equivalent."""
    fix, _, _ = batch_fetch_loop(ctx, [read])
    return fix


def batch_fetch_loop(
    ctx: RuleContext, reads: list[DbRead | HelperCall]
) -> tuple[Fix | None, dict[int, str], list[Fix]]:
    """One fix batch-fetching every read of a loop that can be (all share the loop, so all
    prefetches go before the same statement); for each read left out (by node id), why: the
    finding's message says it; and the alternatives (the whole, unsafe, when the fix is the
    safe part of it)."""
    reasons: dict[int, str] = {}
    plans: list[tuple[DbRead | HelperCall, _Plan]] = []
    for read in reads:
        plan = _plan(ctx, read)
        if isinstance(plan, str):
            reasons[read.node.id] = plan
        elif plans and plan.anchor.id != plans[0][1].anchor.id:
            reasons[read.node.id] = "it belongs to another loop's prefetch"
        else:
            plans.append((read, plan))
    if not plans:
        return None, reasons, []
    names = fresh_names(ctx, plans[0][0])
    bindings = _bindings(ctx.source, plans, names)
    pieces = []
    for read, plan in plans:
        collection = unwrap(plan.loop.collection_node)
        pieces.append(_piece(ctx, read, plan, names, bindings.get(collection.id) if collection is not None else None))
    full = _fix_of(ctx, pieces)
    clean = [p for p in pieces if p.plan.unsafe is None and not p.plan.extra]
    if full.applicability is Applicability.SAFE or not clean:
        return full, reasons, []
    # Some reads batch safely and others only unsafely: the safe part is the fix (`--fix`
    # and fix-all apply it), the whole is the alternative; a later `--unsafe-fixes` pass
    # offers what is left.
    return _fix_of(ctx, clean), reasons, [full]


def _fix_of(ctx: RuleContext, pieces: list[_Piece]) -> Fix:
    """One fix from the pieces of one loop's prefetch: every prefetch before the loop's
    statement, every read replaced by its lookup; safe unless a piece says otherwise."""
    source = ctx.source
    style = source.style
    anchor = pieces[0].plan.anchor
    indent = source.line_indent(anchor.start_byte)
    at = _above_directives(source, anchor)
    semi = style.semi
    if source.slice(at - 1, at) == ";":
        at -= 1  # the no-semicolon idiom `;(…)` / `;[…]`: go before its guard
    elif source.slice(at, at + 1) in ("(", "[", "`"):
        semi = ";"  # without it, the statement would continue ours
    bound = list({p.bound.node.id: p.bound for p in pieces if p.bound is not None}.values())
    lines: list[layout.Doc] = [(f"const {b.name} = ", layout.copied(source.node_text(b.node))) for b in bound]
    lines += [line for piece in pieces for line in piece.lines]
    prefetch = "".join(layout.render((line, semi), style, indent) + style.newline + indent for line in lines)
    edits = [Edit(ctx.path, at, at, prefetch)]
    edits.extend(Edit(ctx.path, b.replaced.start_byte, b.replaced.end_byte, b.name) for b in bound)
    edits.extend(Edit(ctx.path, p.plan.replaced.start_byte, p.plan.replaced.end_byte, p.lookup) for p in pieces)
    unsafe = next((p.plan.unsafe for p in pieces if p.plan.unsafe is not None), None)
    extra = list(dict.fromkeys(difference for p in pieces for difference in p.plan.extra))
    if unsafe is None and not extra:
        return Fix.safe(_title(pieces), edits)
    # Preserves the common case (no item reads what an earlier one wrote; a read made for an
    # item the loop skips returns what it would have, unused); the title says what differs.
    differences = []
    if unsafe is not None:
        differences.append(f"{unsafe}, and the reads now run before the loop's writes")
    differences.extend(extra)
    return Fix.unsafe(f"{_title(pieces)}; unsafe: {'; '.join(differences)}", edits)


# A comment that applies to the line after it.
_NEXT_LINE_DIRECTIVE = re.compile(r"@ts-(?:expect-error|ignore)\b|eslint-disable-next-line|prettier-ignore")


def _above_directives(source: SourceFile, anchor: Node) -> int:
    """Where the prefetch goes: before the anchor statement, or before the comments right
    above it when one of them is a next-line directive (`// @ts-expect-error`): the directive
    covers the statement's first line and must go on covering it, not the prefetch's."""
    at = anchor.start_byte
    block = at
    directive = False
    node = anchor.prev_sibling
    while (
        node is not None
        and node.type == "comment"
        and source.starts_line(node.start_byte)
        and source.lines.line_of(node.end_byte) + 1 == source.lines.line_of(block)
    ):
        directive = directive or _NEXT_LINE_DIRECTIVE.search(source.node_text(node)) is not None
        block = node.start_byte
        node = node.prev_sibling
    return block if directive else at


def _key_field(read: DbRead, key: Node) -> str | None:
    chain = read.chain
    if chain is None or chain.index_step is None:
        return None
    from convex_xray.engine.analysis.chains import parse_index_ranges

    for r in parse_index_ranges(chain.index_step) or []:
        if r.value_node is not None and r.value_node.id == key.id:
            return r.field
    return None
