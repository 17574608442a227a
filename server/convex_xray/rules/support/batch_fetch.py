"""The batch-fetch fix for N+1 reads: unique keys -> one `Promise.all` -> `Map` -> lookups.

Turns

    for (const post of posts) { const author = await ctx.db.get(post.authorId); ... }

into

    const authorIds = [...new Set(posts.map((post) => post.authorId))];
    const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
    const authorsById = new Map(authors.filter((doc) => doc !== null).map((doc) => [doc._id, doc]));
    for (const post of posts) { const author = authorsById.get(post.authorId) ?? null; ... }

Per-item index queries (`.withIndex("by_k", (q) => q.eq("k", x.k)).unique()`) are
prefetched the same way, keyed by the item-dependent value.

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
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, cast

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine.findings import Edit, Fix
from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import DbRead, Loop
from convex_xray.engine.syntax import (
    call_args,
    descend_path,
    descendants,
    pattern_names,
    text_of,
    unwrap,
)
from convex_xray.rules.support.iterables import declared_non_array
from convex_xray.rules.support.words import plural

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
_WRITE_RE = re.compile(r"\.(?:insert|patch|replace|delete)\s*\(|\brunMutation\s*\(|\brunAction\s*\(")
_EXIT_TYPES = frozenset({"break_statement", "return_statement", "throw_statement", "continue_statement"})
_MAX_GUARD_DEPTH = 256  # deeper than any hand-written loop body: refuse rather than crawl
_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function_declaration", "method_definition"})


@dataclass
class _Plan:
    loop: Loop
    key: Node  # the item-dependent expression the read is keyed by
    guard: Node | None  # a condition on the item that guards the read (optional ids)
    replaced: Node  # the expression replaced by the lookup
    anchor: Node  # the statement the prefetch is inserted before
    item_param: str  # the loop item's binding, reused as the prefetch callback's parameter


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
    exits: list[tuple[str, int]]  # (statement type, start byte) not inside a nested function


_LOOP_FACTS_MEMO: MemoKey[_LoopFacts] = MemoKey("what a loop body declares, assigns and exits by")
_VISIBLE_NAMES: MemoKey[frozenset[str]] = MemoKey("names visible in a top-level scope")
# Names earlier fixes of this check declare in a scope: two loops in one function are fixed
# in the same pass, so each must hoist names the other doesn't (else TS2451, redeclared).
_HANDED_OUT: MemoKey[set[str]] = MemoKey("names declared by fixes already built in a top-level scope")


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
    for method in captures.get("method", []):
        if text_of(method) in _MUTATING_METHODS:
            member = method.parent  # `xs.push`: the receiver is the member's object
            root = _root_identifier(member.child_by_field_name("object")) if member is not None else None
            if root:
                assigned.add(root)
    for call in captures.get("member_call", []):
        # `Object.assign(doc, …)` and friends mutate their first argument.
        if text_of(call.child_by_field_name("function")) in _MUTATING_GLOBALS:
            args = call_args(call)
            root = _root_identifier(args[0]) if args else None
            if root:
                assigned.add(root)
    # Exits inside a function nested in the loop body belong to that function.
    nested = [
        (f.start_byte, f.end_byte)
        for f in captures.get("function", [])
        if f.id != loop.node.id and loop.node.start_byte <= f.start_byte
    ]
    exits = [
        (node.type, node.start_byte)
        for node in captures.get("exit", [])
        if not any(start <= node.start_byte < end for start, end in nested)
    ]
    return ctx.memo.put(_LOOP_FACTS_MEMO, _LoopFacts(declared, assigned, exits), loop.node.id)


def _exits_early(facts: _LoopFacts, loop: Loop, before: int) -> bool:
    """`break`/`return`/`throw` anywhere in a statement loop, or `continue` before the read,
    (`return` before the read for callbacks) make the per-item reads conditional."""
    for kind, start in facts.exits:
        if loop.is_statement:
            if kind != "continue_statement" or start < before:
                return True
        elif kind == "return_statement" and start < before:
            return True
    return False


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


def _awaits_other_calls(body: Node) -> bool:
    """Whether the loop body awaits anything but a database read (`db.get`, a `db.query`
    chain, a `Promise.all` of them): such a call may write, and prove nothing."""
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "await_expression":
            argument = node.named_children[0] if node.named_children else None
            text = text_of(argument) if argument is not None else ""
            if not _READ_AWAIT_RE.search(text) or (text.lstrip().startswith("Promise") and not _DB_READ_RE.search(text)):
                return True
        if node.type in _FUNCTIONS and node is not body:
            continue  # a callback defined here runs when called: its awaits are its own
        stack.extend(node.named_children)
    return False


_DB_READ_RE = re.compile(r"\bdb\s*\.\s*(?:get|query)\s*\(")


def _in_async_function(statement: Node) -> bool:
    """The prefetch awaits: the function it goes into must be `async`."""
    current = statement.parent
    for _ in range(_MAX_GUARD_DEPTH):
        if current is None:
            return False
        if current.type in _FUNCTIONS:
            return any(child.type == "async" for child in current.children)
        current = current.parent
    return False


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


def _plan(ctx: RuleContext, read: DbRead) -> _Plan | str:
    """The rewrite's plan, or why there is none (said in the finding's message)."""
    if not read.loops or not read.awaited:
        return "the read is not awaited in the loop"
    loop = read.loops[-1]
    if loop.exempt is not None or loop.collection_node is None:
        return "the loop has no collection to collect keys from"
    # Not `forEach`: nothing awaits its callbacks, so their reads finish after it returns
    # (or never); prefetching would make them finish before, and change what is seen.
    if loop.kind not in ("for-of", "map", "flatMap"):
        return f"a `{loop.kind}` loop (only `for…of`, `.map` and `.flatMap` inside `Promise.all` are)"
    collection = unwrap(loop.collection_node)
    if collection is None or collection.type not in ("identifier", "member_expression") or not _pure_key(collection):
        return "the loop's collection is computed in place (a call), not a variable"
    function = read.function
    if function is None or not function.kind.is_query:
        # Outside a query (a mutation, an action, a helper, a class method: anything that
        # may hold a writer) a write inside the loop could change what a later read sees:
        # directly, through a helper, or through any other awaited call (a closure, a
        # `this.`/`Class.` method) that is not itself a read.
        body = loop.node.child_by_field_name("body") or loop.node
        if _WRITE_RE.search(text_of(body)):
            return "the loop writes to the database (a later read could see the write)"
        if function is not None and any(h.loops and h.loops[-1] is loop for h in function.helper_calls):
            return "the loop calls a helper that may write"
        if _awaits_other_calls(body):
            return "the loop awaits other calls that may write"
    if read.kind == "get":
        key = read.id_node
    else:
        key = _query_key(read, loop)
    if key is None:
        return "the query is not keyed by one index equality on the item"
    if not _pure_key(key):
        return "the key is computed by a call"
    # The key may use the item and names from outside the loop, nothing computed inside it.
    facts = _loop_facts(ctx, loop)
    loop_locals = facts.declared - set(loop.item_names)
    used = _identifiers(key)
    if not (used & set(loop.item_names)):
        return "the read does not depend on the loop item"
    if used & loop_locals:
        return "the key is computed inside the loop"
    mutated = facts.assigned
    collection_root = _root_identifier(collection)
    if used & mutated or (collection_root and collection_root in mutated):
        return "the loop changes the key or the collection"
    await_node = read.node.parent
    while await_node is not None and await_node.type == "parenthesized_expression":
        await_node = await_node.parent
    if await_node is None or await_node.type != "await_expression":
        return "the read is not awaited in the loop"
    if any(n.type == "comment" for n in descendants(await_node)):
        return "the read has comments inside"  # the read would be replaced and its comments lost
    if _result_names(await_node) & mutated:
        # Items with the same key would share one document (or one array of rows) where
        # each had its own copy: a change made for one item would show in the others.
        return "the loop changes the fetched document"
    statement = await_node.parent
    while statement is not None and statement.type == "parenthesized_expression":
        statement = statement.parent
    if statement is not None and statement.type == "expression_statement":
        return "the result is unused"  # nothing to look up
    guard = _guard(await_node, loop, loop_locals)
    if guard is False:
        return "the read runs only under a condition that is not on the item alone"
    if _exits_early(facts, loop, read.start):
        return "the loop can stop early (`break`, `return`, `throw`)"
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
    if anchor is None or not item_param:
        return "no statement to put the prefetch before"
    if anchor.parent is not None and anchor.parent.type == "program":
        return "the loop is at module scope"
    if not _in_async_function(anchor):
        return "the enclosing function is not async"
    return _Plan(loop, key, guard if isinstance(guard, Node) else None, await_node, anchor, item_param)


def _guard(await_node: Node, loop: Loop, loop_locals: set[str]) -> Node | bool | None:
    """The item-only condition guarding the read (None when unconditional, False when unsafe)."""
    guard: Node | None = None
    path = descend_path(loop.node, await_node)
    if path[0].id != loop.node.id or len(path) > _MAX_GUARD_DEPTH:
        return False
    pairs = list(zip(reversed(path[:-1]), reversed(path[1:]), strict=True))  # (ancestor, child), innermost first
    for current, child in pairs:
        if current.id == loop.node.id:
            break
        kind = current.type
        if kind == "ternary_expression":
            condition = current.child_by_field_name("condition")
            alternative = current.child_by_field_name("alternative")
            if condition is not None and condition.id == child.id:
                pass  # the read is the condition: always evaluated
            elif alternative is not None and alternative.id == child.id:
                return False  # `c ? … : await read`: runs when `c` is false; as for `else`
            elif guard is None and condition is not None and _item_only(condition, loop, loop_locals):
                guard = condition
            else:
                return False
        elif kind == "if_statement":
            condition = current.child_by_field_name("condition")
            if condition is not None and condition.id == child.id:
                pass
            elif guard is None and condition is not None and _item_only(condition, loop, loop_locals):
                alternative = current.child_by_field_name("alternative")
                if alternative is not None and alternative.id == child.id:
                    return False  # `else` branch: the guard would need negating; keep it simple
                guard = condition
            else:
                return False
        elif kind == "binary_expression":
            operator = current.child_by_field_name("operator")
            left = current.child_by_field_name("left")
            if text_of(operator) in ("&&", "||", "??") and (left is None or left.id != child.id):
                return False  # short-circuited: runs only sometimes
        elif kind == "parenthesized_expression" and current.parent is not None and current.parent.type == "if_statement":
            pass
        elif kind not in _NEUTRAL:
            return False
    return guard


def _item_only(condition: Node, loop: Loop, loop_locals: set[str]) -> bool:
    condition = unwrap(condition) or condition
    if condition.type == "parenthesized_expression" and condition.named_children:
        condition = condition.named_children[0]
    used = _identifiers(condition)
    return bool(used & set(loop.item_names)) and not (used & loop_locals) and _pure_key(condition)


def _query_key(read: DbRead, loop: Loop) -> Node | None:
    """The single item-dependent value in a per-item index query, if the query is otherwise
    loop-invariant and keyed only through index equalities."""
    chain = read.chain
    if chain is None or chain.terminal not in ("first", "unique", "collect", "take"):
        return None
    if any(step.method not in ("withIndex", "order", "first", "unique", "collect", "take") for step in chain.steps):
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


def _plural(word: str) -> str:
    return plural(word)


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]  # coaches -> coach
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _base_name(ctx: RuleContext, read: DbRead, key: Node) -> str:
    """`post.authorId` -> "author"; table-qualified reads use the table ("users" -> "user")."""
    if read.table:
        return _singular(_camel(read.table))
    node = unwrap(key)
    last = text_of(node.child_by_field_name("property")) if node is not None and node.type == "member_expression" else text_of(node)
    for suffix in ("Id", "_id", "ID"):
        if last.endswith(suffix) and len(last) > len(suffix):
            return last[: -len(suffix)]
    return _GENERIC


_GENERIC = "doc"  # the base name when neither a table nor the key names the documents


def _camel(name: str) -> str:
    parts = re.split(r"[_\W]+", name)
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:]) if parts else name


class _Names:
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


def _one_line(text: str) -> str:
    """A multi-line method chain as one line (`ctx.db\n  .query(...)` -> `ctx.db.query(...)`)."""
    lines = text.splitlines()
    return lines[0].rstrip() + "".join(line.strip() for line in lines[1:]) if len(lines) > 1 else text


@cache
def _identifier_query(language: Language) -> Query:
    return Query(
        language,
        "[(identifier) (shorthand_property_identifier) (shorthand_property_identifier_pattern)] @name",
    )


def _top_level_scope(ctx: RuleContext, read: DbRead) -> Node:
    function = read.function
    while function is not None and function.parent is not None:
        function = function.parent
    return function.definition if function is not None else ctx.source.root


def _fresh_names(ctx: RuleContext, read: DbRead) -> _Names:
    """A name source for one fix: clear of every visible identifier and of the names other
    fixes in the same top-level scope already declare."""
    scope = _top_level_scope(ctx, read)
    handed_out = ctx.memo.get(_HANDED_OUT, scope.id)
    if handed_out is None:
        handed_out = ctx.memo.put(_HANDED_OUT, set(), scope.id)
    return _Names(_visible_names(ctx, read), handed_out)


def _visible_names(ctx: RuleContext, read: DbRead) -> set[str]:
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


def _needs_parens(node: Node) -> bool:
    parent = node.parent
    if parent is None:
        return True
    if parent.type in ("variable_declarator", "return_statement", "arguments", "array", "spread_element", "template_substitution"):
        return False
    if parent.type == "pair" and parent.child_by_field_name("value") == node:
        return False
    # A ternary branch takes any expression; elsewhere `??` needs parentheses to mix safely.
    return not (parent.type == "ternary_expression" and parent.child_by_field_name("condition") != node)


@dataclass
class _Piece:
    """One read's share of a loop's fix: the prefetch statements and the lookup replacing it."""

    plan: _Plan
    lines: list[str]
    lookup: str
    what: str  # what it fetches, for the title ("`authors`", "`members` rows")
    kind: str  # "get" or "query"


def _piece(ctx: RuleContext, read: DbRead, plan: _Plan, names: _Names) -> _Piece:
    source = ctx.source
    key_text = source.node_text(plan.key)
    base = _base_name(ctx, read, plan.key)
    collection = source.node_text(cast(Node, unwrap(plan.loop.collection_node) or plan.loop.collection_node))
    if plan.guard is not None:
        guard_text = source.node_text(plan.guard)
        keys_expr = f"{collection}.flatMap(({plan.item_param}) => ({guard_text} ? [{key_text}] : []))"
    elif key_text == plan.item_param:
        keys_expr = collection  # the items are the keys
    else:
        keys_expr = f"{collection}.map(({plan.item_param}) => {key_text})"
    if read.kind == "get":
        callee = cast(Node, read.node.child_by_field_name("function"))  # a db.get call has a callee
        db_text = source.node_text(cast(Node, callee.child_by_field_name("object")))
        args = call_args(read.node)
        table_arg = f"{source.node_text(args[0])}, " if read.table and len(args) >= 2 else ""
        ids = names.fresh(f"{base}Ids")
        docs = names.fresh(_plural(base))
        by_id = names.fresh(f"{_plural(base)}ById")
        lines = [
            f"const {ids} = [...new Set({keys_expr})];",
            f"const {docs} = await Promise.all({ids}.map((id) => {db_text}.get({table_arg}id)));",
            f"const {by_id} = new Map({docs}.filter((doc) => doc !== null).map((doc) => [doc._id, doc]));",
        ]
        lookup = f"{by_id}.get({key_text}) ?? null"
        # With no table and no `...Id` key to name them, say "the documents" (not a made-up `docs`).
        what = "the documents" if base == _GENERIC else f"`{_plural(base)}`"
        kind = "get"
    else:
        chain = read.chain
        assert chain is not None
        param = names.fresh("key")
        # `ctx.db.query(...)...first()` with the key replaced by the callback's parameter.
        before_key = source.slice(chain.root.start_byte, plan.key.start_byte)
        after_key = source.slice(plan.key.end_byte, chain.end.end_byte)
        chain_text = _one_line(before_key + param + after_key)
        field = _key_field(read, plan.key) or "key"
        keys = names.fresh(f"{_singular(_camel(field))}Keys" if field != "key" else f"{base}Keys")
        results = names.fresh(f"{_camel(chain.table or 'result')}Results")
        by_key = names.fresh(f"{_camel(chain.table or 'results')}By{field[:1].upper() + field[1:]}")
        lines = [
            f"const {keys} = [...new Set({keys_expr})];",
            f"const {results} = await Promise.all({keys}.map(({param}) => {chain_text}));",
            f"const {by_key} = new Map({keys}.map(({param}, i) => [{param}, {results}[i]]));",
        ]
        empty = "[]" if chain.terminal in ("collect", "take") else "null"
        lookup = f"{by_key}.get({key_text}) ?? {empty}"
        what = f"`{chain.table or 'the'}` rows"
        kind = "query"
    if _needs_parens(plan.replaced):
        lookup = f"({lookup})"
    return _Piece(plan, lines, lookup, what, kind)


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
    fix, _ = batch_fetch_loop(ctx, [read])
    return fix


def batch_fetch_loop(ctx: RuleContext, reads: list[DbRead]) -> tuple[Fix | None, dict[int, str]]:
    """One fix batch-fetching every read of a loop that can be (all share the loop, so all
    prefetches go before the same statement), and, for each read left out (by node id),
    why: the finding's message says it."""
    reasons: dict[int, str] = {}
    plans: list[tuple[DbRead, _Plan]] = []
    for read in reads:
        plan = _plan(ctx, read)
        if isinstance(plan, str):
            reasons[read.node.id] = plan
        elif plans and plan.anchor.id != plans[0][1].anchor.id:
            reasons[read.node.id] = "it belongs to another loop's prefetch"
        else:
            plans.append((read, plan))
    if not plans:
        return None, reasons
    names = _fresh_names(ctx, plans[0][0])
    pieces = [_piece(ctx, read, plan, names) for read, plan in plans]
    source = ctx.source
    newline = "\r\n" if b"\r\n" in source.data else "\n"
    anchor = plans[0][1].anchor
    indent = source.line_indent(anchor.start_byte)
    prefetch = "".join(line + newline + indent for piece in pieces for line in piece.lines)
    edits = [Edit(ctx.path, anchor.start_byte, anchor.start_byte, prefetch)]
    edits.extend(Edit(ctx.path, p.plan.replaced.start_byte, p.plan.replaced.end_byte, p.lookup) for p in pieces)
    return Fix.safe(_title(pieces), edits), reasons


def _key_field(read: DbRead, key: Node) -> str | None:
    chain = read.chain
    if chain is None or chain.index_step is None:
        return None
    from convex_xray.engine.analysis.chains import parse_index_ranges

    for r in parse_index_ranges(chain.index_step) or []:
        if r.value_node is not None and r.value_node.id == key.id:
            return r.field
    return None
