"""Which iteration contexts make per-item work an N+1, shared by the N+1 rules and the code lens."""

from __future__ import annotations

import re

from tree_sitter import Node

from convex_xray.engine.cost import REACTIVE, Cost, CostAssumptions, Growth, nested_multiplies
from convex_xray.engine.findings import Severity
from convex_xray.engine.model import DbRead, Event, Loop, RunCall
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import function_body, text_of, unwrap


def costly_loops(event: Event) -> tuple[Loop, ...]:
    """The loops around `event` that multiply its cost (exempt ones removed)."""
    loops = tuple(loop for loop in event.loops if loop.exempt is None)
    # A cursor loop reads one page per iteration by design: `while (!done) { await q.paginate(...) }`,
    # or, in an action, `while (!done) { await ctx.runQuery(internal.x.page, { cursor }) }`.
    if loops and all(not loop.iterates_collection for loop in loops):
        if isinstance(event, DbRead) and event.is_page_read:
            return ()
        if isinstance(event, RunCall) and _passes_cursor(event):
            return ()
        innermost = loops[-1]
        # Paging whatever the cursor is called: the loop feeds the result back into the call
        # (`after = page.next; ... runQuery(ref, { after })`). Polling: the loop waits between
        # attempts (`await sleep(1000)`), so it repeats in time, not per item.
        # Only `ctx.run*` pages this way: a read fed by the previous one (walking up parents,
        # skipping to the next distinct key) still reads once per step of the walk.
        if not _counts_over_collection(innermost.node) and (
            (isinstance(event, RunCall) and _feeds_result_back(event, innermost.node))
            or _waits_between(innermost.node)
        ):
            return ()
        # Batched delete until empty: each iteration takes a bounded batch (or asks a mutation
        # to delete one) and the loop stops on what came back. The work is the deletes.
        if _drains(event, innermost.node):
            return ()
    return loops


_DELAY_CALL = re.compile(
    r"\bawait\s+(?:new\s+Promise\s*(?:<[^>]*>)?\s*\(\s*\(?\s*\w+\s*\)?\s*=>\s*setTimeout\b"
    r"|(?:\w+\.)?(?:sleep|delay|wait|waitFor|backoff)\s*\()"
)


def _counts_over_collection(loop: Node) -> bool:
    """`for (let i = 0; i < blocks.length; i++)`: an index loop over a collection is per item
    even when each call feeds the next."""
    body = loop.child_by_field_name("body")
    end = body.start_byte if body is not None else loop.end_byte
    header = loop.text[: end - loop.start_byte] if loop.text is not None else b""
    return loop.type == "for_statement" and (b".length" in header or b".size" in header)


def _waits_between(loop: Node) -> bool:
    body = loop.child_by_field_name("body")
    return body is not None and bool(_DELAY_CALL.search(text_of(body)))


def _result_names(event: Event, loop: Node) -> set[str]:
    """The names `const page = await <event>` / `page = await <event>` binds inside `loop`."""
    node = event.node
    while node.parent is not None and node.parent.type in ("await_expression", "parenthesized_expression", "as_expression", "non_null_expression"):
        node = node.parent
    declarator = node.parent
    while declarator is not None and declarator.type not in ("variable_declarator", "assignment_expression"):
        if declarator.type in ("statement_block", "expression_statement") or declarator.id == loop.id:
            return set()
        declarator = declarator.parent
    if declarator is None:
        return set()
    target = declarator.child_by_field_name("name") or declarator.child_by_field_name("left")
    return set(re.findall(r"[A-Za-z_$][\w$]*", text_of(target))) if target is not None else set()


def _feeds_result_back(event: Event, loop: Node) -> bool:
    """`const page = await <event>(…{ after }…)` and, in the loop, `after = page.<field>`."""
    result_names = _result_names(event, loop)
    if not result_names:
        return False
    call_text = text_of(event.node)
    body = loop.child_by_field_name("body")
    if body is None:
        return False
    for match in re.finditer(r"(?<![\w$.])([A-Za-z_$][\w$]*)\s*=(?!=)\s*([^;\n]+)", text_of(body)):
        fed, source = match.group(1), match.group(2)
        if fed in result_names:
            continue
        if re.search(rf"(?<![\w$.]){re.escape(fed)}(?![\w$])", call_text) and any(
            re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", source) for name in result_names
        ):
            return True
    return False


_ASSIGNMENT = re.compile(r"(?<![\w$.])([A-Za-z_$][\w$]*)\s*=(?!=)\s*([^;\n]+)")
_DELETES = re.compile(r"\.delete\(")
_EXIT_IF = re.compile(r"\bif\s*\((.*?)\)\s*\{?\s*(?:break|return)\b", re.DOTALL)


def _mentions(text: str, names: set[str]) -> bool:
    return any(re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", text) for name in names)


def _drains(event: Event, loop: Node) -> bool:
    """A batched-delete loop: `while (true) { const batch = await q.take(n); if (batch.length === 0)
    break; for (…) await ctx.db.delete(…) }`, `do { n = await ctx.runMutation(deleteBatch) } while
    (n === size)`, `while (hasMore) { ({ hasMore } = await ctx.runMutation(…)) }`.

    The loop's exit (its condition, or an `if (…) break`) depends on what this iteration got
    back, and each iteration is a bounded batch: a `.take(n)`/`.first()` read whose documents
    the body deletes, or a mutation/action call that does the deleting. A `.collect()` per
    iteration is not batched and stays an N+1; a read fed by the previous one with no delete
    (walking parent links) is a walk, not a drain."""
    if isinstance(event, DbRead):
        bounded = (event.chain is not None and event.chain.terminal in ("take", "first")) or (
            event.kind == "ents" and bool(re.search(r"\.(?:first|take)\(", event.label))
        )
        body = loop.child_by_field_name("body")
        if not bounded or body is None or not _DELETES.search(text_of(body)):
            return False
    elif not (isinstance(event, RunCall) and event.method in ("runMutation", "runAction")):
        return False
    names = _result_names(event, loop)
    if not names:
        return False
    body = loop.child_by_field_name("body")
    body_text = text_of(body)
    # `hasMore = result.hasMore`, `remaining -= …`: names the result decides.
    for match in _ASSIGNMENT.finditer(body_text):
        if _mentions(match.group(2), names):
            names.add(match.group(1))
    condition = loop.child_by_field_name("condition")
    if condition is not None and _mentions(text_of(condition), names):
        return True
    return any(_mentions(match.group(1), names) for match in _EXIT_IF.finditer(body_text))


_CURSOR_WORDS = re.compile(r"\b(?:cursor|continueCursor|paginationOpts|numItems)\b")


def _passes_cursor(call: RunCall) -> bool:
    return call.args_node is not None and bool(_CURSOR_WORDS.search(text_of(call.args_node)))


_NOT_BATCH_METHODS = frozenset(
    {"forEach", "flatMap", "filter", "reduce", "reduceRight", "some", "every", "find",
     "findIndex", "findLast", "findLastIndex"}
)


def is_batch_primitive(read: DbRead) -> bool:
    """`Promise.all(ids.map((id) => ctx.db.get(id)))`: the recommended batch read itself.

    The callback does nothing but read the element it is given, so there is nothing to
    batch further (deduplicating the ids is the caller's choice).
    """
    if read.kind != "get" or not read.loops:
        return False
    loop = read.loops[-1]
    # `Promise.all(xs.map(...))`, `Array.from(xs, ...)` in one, or a concurrent helper such as
    # `asyncMap(xs, ...)`; other array methods' callbacks are not a batch of reads.
    if not loop.in_promise_all or loop.is_statement or loop.kind in _NOT_BATCH_METHODS:
        return False
    if read.id_node is None or text_of(unwrap(read.id_node)) not in loop.item_names:
        return False
    body = function_body(loop.node)
    if body is None:
        return False
    if body.type == "statement_block":
        statements = [c for c in body.named_children if c.type != "comment"]
        if len(statements) != 1 or statements[0].type != "return_statement":
            return False
        body = statements[0].named_children[0] if statements[0].named_children else body
    body = unwrap(body)
    while body is not None and body.type == "await_expression":
        body = unwrap(body.named_children[0]) if body.named_children else None
    return body is not None and body.id == read.node.id


def line_of(source: SourceFile, node_or_offset: Node | int) -> int:
    offset = node_or_offset if isinstance(node_or_offset, int) else node_or_offset.start_byte
    return source.lines.line_of(offset) + 1


def loop_phrase(source: SourceFile, loops: tuple[Loop, ...]) -> str:
    """`items of `claims` (for-of, line 40)`, or for nested loops the product."""
    innermost = loops[-1]
    where = f"{innermost.kind}, line {line_of(source, innermost.header_start)}"
    if innermost.collection:
        text = " ".join(innermost.collection.split())
        if len(text) > 40:
            text = text[:39] + "…"
        phrase = f"item of `{text}` ({where})"
    else:
        phrase = f"iteration of the `{innermost.kind}` loop (line {line_of(source, innermost.header_start)})"
    if len(loops) > 1:
        phrase += f", inside {len(loops) - 1} more loop{'s' if len(loops) > 2 else ''} (cost multiplies)"
    return phrase


def severity_of(cost: Cost, assumptions: CostAssumptions) -> Severity:
    """Warning when the count grows with a tenant, a table or a log, multiplies across nested
    growing loops in a public query, or is per-parent work in a public query that scores at
    least `warn-score`; info when it is bounded or per-parent small.

    Per-parent work counts only in a public query: a query re-runs on every write to what it
    read, for every subscribed client, so a few dozen reads per run add up. In a mutation,
    an action, an internal function or a helper of unknown caller, a loop over one parent's
    children runs once per request and costs a few reads (labelled on eight corpus apps:
    cascade deletes, imports, tag merges, none worth fixing first; benchmarks/signal.md)."""
    if cost.growth >= Growth.PER_PARENT_LOG or nested_multiplies(cost):
        return Severity.WARNING
    if cost.growth >= Growth.PER_PARENT and cost.context in REACTIVE and cost.score >= assumptions.warn_score:
        return Severity.WARNING
    return Severity.INFO
