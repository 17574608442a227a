"""Whether a read inside a loop runs for every item: conditions and memoising caches.

The cost model multiplies a per-item read by the loop's size. That is right when the read
runs for every item, and too much when it runs only for the items a condition selects
(`if (a.email === b.email) await ctx.db.get(...)`, an early `continue`, `cond && read`,
`cond ? read : null`) or only once per distinct key (`if (!cache.has(id))
cache.set(id, await ctx.db.get(id))`, `cache.get(id) ?? await ...`). These are syntax-only
questions about where the read sits between its node and the loop (or function) around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from convex_xray.engine.syntax import text_of, unwrap

_FUNCTIONS = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function_declaration",
        "method_definition",
        "generator_function",
        "generator_function_declaration",
    }
)
_LOOPS = frozenset({"for_in_statement", "for_statement", "while_statement", "do_statement"})
# A memo check: `!cache.has(key)`, `cache.get(key) === undefined`, `!(key in cache)`.
_MEMO_CHECK = re.compile(
    r"!\s*\(?\s*[\w$.\[\]]+\.has\(|\.get\([^)]*\)\s*===?\s*(?:undefined|null)|!\s*\(\s*[\w$.]+\s+in\s+[\w$.]+\s*\)"
)


def _contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def _exits_loop_item(statement: Node, in_callback: bool) -> bool:
    """`if (...) continue;` (or `return` in a per-item callback, `break`): the rest of the
    item's work is skipped for the items the condition selects. `throw` is an error path,
    not a filter, so it does not count."""
    stack = [c for c in statement.named_children if c.type != "parenthesized_expression"]
    while stack:
        node = stack.pop()
        if node.type in ("continue_statement", "break_statement"):
            return True
        if node.type == "return_statement" and in_callback:
            return True
        if node.type in _FUNCTIONS or node.type in _LOOPS:
            continue
        stack.extend(node.named_children)
    return False


def memo_guarded(node: Node, stop: Node) -> bool:
    """The read runs once per distinct key: it sits under a memo check (`if (!seen.has(id))`),
    on the right of `cache.get(id) ?? …`, or in `cache[id] ??= …`, below `stop`."""
    child, parent = node, node.parent
    while parent is not None and parent.id != stop.id:
        if parent.type == "if_statement":
            condition = parent.child_by_field_name("condition")
            if condition is not None and not _contains(condition, child) and _MEMO_CHECK.search(text_of(condition)):
                return True
        elif parent.type == "binary_expression":
            operator = parent.child_by_field_name("operator")
            left = parent.child_by_field_name("left")
            if (
                operator is not None
                and operator.type in ("??", "||")
                and left is not None
                and not _contains(left, child)
                and re.search(r"\.get\(|\[", text_of(left))
            ):
                return True
        elif parent.type == "augmented_assignment_expression":
            operator = parent.child_by_field_name("operator")
            if operator is not None and operator.type in ("??=", "||="):
                return True
        elif parent.type == "statement_block" and _returns_hit_before(parent, child):
            return True
        child, parent = parent, parent.parent
    return False


# A cache hit: `cache.has(key)` (not negated), or `hit !== undefined` / `hit != null`.
_HIT_HAS = re.compile(r"(?<![!\w$])\s*[\w$.\[\]]+\.has\(")
_HIT_NAME = re.compile(r"^\s*([A-Za-z_$][\w$]*)\s*!==?\s*(?:undefined|null)\s*$")


def _returns_hit_before(block: Node, child: Node) -> bool:
    """An early return on a cache hit before `child` in `block`: `if (cache.has(id)) return
    cache.get(id);` or `const hit = cache.get(id); if (hit !== undefined) return hit;`."""
    got: set[str] = set()
    for statement in block.named_children:
        if statement.start_byte >= child.start_byte:
            return False
        if statement.type in ("lexical_declaration", "variable_declaration"):
            for declarator in statement.named_children:
                value = text_of(declarator.child_by_field_name("value"))
                if re.search(r"\.get\(|\[", value):
                    got.add(text_of(declarator.child_by_field_name("name")))
        if statement.type != "if_statement":
            continue
        # The early return hands back the cached value (`return cache.get(id)`, `return hit`),
        # not an error: `if (visited.has(id)) return { error }` guards a cycle, it memoises nothing.
        consequence = statement.child_by_field_name("consequence")
        returned = re.match(r"\{?\s*return\s+(?:await\s+)?([^;}]*)", text_of(consequence))
        if returned is None:
            continue
        value = returned.group(1).strip()
        condition = text_of(statement.child_by_field_name("condition")).strip()[1:-1]
        named = _HIT_NAME.match(condition)
        if _HIT_HAS.match(condition) and re.match(r"[\w$.\[\]]+\.get\(", value):
            return True
        if named is not None and named.group(1) in got and value == named.group(1):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Condition:
    """What a per-item read waits on: `node` holds (`holds`), or does not (an `else`, the
    right of `||`, the items an earlier `if (...) continue` lets through)."""

    node: Node
    holds: bool

    @property
    def text(self) -> str:
        return " ".join(text_of(self.node).split())


def condition_over(node: Node, stop: Node, guarded: tuple[str, ...] = ()) -> Condition | None:
    """The condition under which `node` runs, looking up to `stop` (the loop statement or the
    per-item callback): an `if`/`else` branch, `?:`, the right of `&&`/`||`/`??`, a `case`,
    or an earlier `if (...) continue` in the same block. None when it runs for every item.

    A presence check (`if (post.authorId) await ctx.db.get(post.authorId)`, `guarded` being
    the texts the read uses; `if (doc === null) continue`) is not a filter: it holds for
    nearly every item."""
    in_callback = stop.type in _FUNCTIONS
    child, parent = node, node.parent
    while parent is not None and parent.id != stop.id:
        kind = parent.type
        found: Condition | None = None
        if kind in ("if_statement", "ternary_expression"):
            test = parent.child_by_field_name("condition")
            if test is not None and not _contains(test, child):
                alternative = parent.child_by_field_name("alternative")
                found = Condition(test, not (alternative is not None and _contains(alternative, child)))
        elif kind == "binary_expression":
            operator = parent.child_by_field_name("operator")
            left = parent.child_by_field_name("left")
            if operator is not None and operator.type in ("&&", "||", "??") and left is not None and not _contains(left, child):
                found = Condition(left, operator.type != "||")
        elif kind in ("switch_case", "switch_default"):
            found = Condition(parent.child_by_field_name("value") or parent, True)
        elif kind == "statement_block":
            for sibling in parent.named_children:
                if sibling.start_byte >= child.start_byte:
                    break
                test = sibling.child_by_field_name("condition") if sibling.type == "if_statement" else None
                if test is not None and _exits_loop_item(sibling, in_callback) and not _presence_check(test, guarded):
                    return Condition(unwrap(test) or test, False)
        if found is not None and not _presence_check(found.node, guarded):
            return Condition(unwrap(found.node) or found.node, found.holds)
        if kind in _FUNCTIONS:
            return None  # a closure defined in the loop: its own conditions are its own
        child, parent = parent, parent.parent
    return None


def _presence_check(condition: Node, guarded: tuple[str, ...]) -> bool:
    """`post.authorId`, `!post.authorId`, `post.authorId != null`, `post` (for
    `post.authorId`), `!doc` / `doc === null` on a variable: the condition only tests that a
    value exists (a looked-up document, the id the read uses), which holds for nearly every item."""
    text = re.sub(r"\s*(?:!==?|===?)\s*(?:null|undefined)\s*\)?$", "", text_of(condition).strip())
    text = re.sub(r"[\s()!]", "", text)
    if re.fullmatch(r"[A-Za-z_$][\w$]*", text):
        return True  # `if (player === null) continue`: a document that exists, nearly always
    text = text.replace("?.", ".")
    for value in guarded:
        used = re.sub(r"[\s()!]", "", value).replace("?.", ".")
        # The id itself, or the document it is a field of (`post && ctx.db.get(post.authorId)`).
        if text and (used == text or used.startswith(text + ".")):
            return True
    return False


def used_values(event: object) -> tuple[str, ...]:
    """The texts a read or call uses (its id, its call's arguments): a condition testing only
    that one of them exists is a presence check, not a filter."""
    node = getattr(event, "id_node", None)
    if node is not None:
        return (text_of(node),)
    call = getattr(event, "node", None)
    args = call.child_by_field_name("arguments") if isinstance(call, Node) and call.type == "call_expression" else None
    if args is None:
        args = getattr(event, "args_node", None)
    return tuple(text_of(a) for a in args.named_children) if isinstance(args, Node) else ()
