"""What a loop body writes, and whether prefetching a read before the loop could see less.

A batch-fetch moves every per-item read before the loop, so a read no longer sees what
earlier iterations wrote. That changes nothing when the loop writes none of the documents
the read returns:

- `db.insert` never matters to a `db.get`: the keys were computed before the loop, and an
  inserted document's id is new. It matters to a per-item query on the same table (the new
  row may be in its range).
- `db.patch` / `db.replace` / `db.delete` matter when they may touch the read's table. Their
  table is known when spelt (`db.patch("t", id, …)`) or when the id is `item._id` of a
  collection read from one table in this function (`const xs = await db.query("t")…`).

Anything else that may write (`runMutation`, a helper, a `this.`-method, any awaited call that
is not a read, a writer not on a db handle) is opaque: the fix is then only offered as unsafe,
and says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tree_sitter import Node

from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import DbRead, FileModel, Loop
from convex_xray.engine.syntax import call_args, descendants, text_of, unwrap

if TYPE_CHECKING:
    from convex_xray.engine.context import RuleContext

_WRITE_METHODS = frozenset({"insert", "patch", "replace", "delete"})
_WRITE_RE = re.compile(r"\.(?:insert|patch|replace|delete)\s*\(|\brunMutation\s*\(|\brunAction\s*\(")
_DB_HANDLE = re.compile(r"(?:^|\.)db$")


@dataclass
class Write:
    method: str  # insert | patch | replace | delete
    table: str | None  # None: not known
    id_node: Node | None = None  # patch/replace/delete: the id written


@dataclass
class LoopWrites:
    writes: list[Write] = field(default_factory=list)
    opaque: str | None = None  # why other code in the loop may write, if it may


_LOOP_WRITES: MemoKey[LoopWrites] = MemoKey("what a loop body writes")


def _string_literal(node: Node | None) -> str | None:
    node = unwrap(node)
    if node is None or node.type != "string":
        return None
    return text_of(node)[1:-1]


def loop_writes(ctx: RuleContext, loop: Loop, opaque_calls: str | None) -> LoopWrites:
    """The database writes in the loop body (`opaque_calls`: the caller's reason when the
    loop also calls helpers or awaits calls that may write)."""
    cached = ctx.memo.get(_LOOP_WRITES, loop.node.id)
    if cached is not None:
        return cached
    body = loop.node.child_by_field_name("body") or loop.node
    found = LoopWrites(opaque=opaque_calls)
    accounted = 0
    for node in descendants(body):
        if node.type != "call_expression":
            continue
        callee = node.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            continue
        method = text_of(callee.child_by_field_name("property"))
        receiver = text_of(callee.child_by_field_name("object"))
        if method not in _WRITE_METHODS or not _DB_HANDLE.search(receiver):
            continue
        accounted += 1
        args = call_args(node)
        named = _string_literal(args[0]) if args else None
        if method == "insert":
            found.writes.append(Write(method, named))
        elif named is not None and len(args) >= 2:
            found.writes.append(Write(method, named, args[1]))  # `db.patch("t", id, …)`
        else:
            found.writes.append(Write(method, None, args[0] if args else None))
    if found.opaque is None and len(_WRITE_RE.findall(text_of(body))) > accounted:
        found.opaque = "the loop calls code that may write"
    return ctx.memo.put(_LOOP_WRITES, found, loop.node.id)


def _collection_table(model: FileModel, read: DbRead, loop: Loop) -> str | None:
    """The table a loop's collection was read from: `const xs = await db.query("t")…`
    earlier in the same function."""
    collection = unwrap(loop.collection_node)
    function = read.function
    if function is None:
        return None
    if collection is None or collection.type != "identifier":
        return None
    name = text_of(collection)
    for chain in model.chains:
        node: Node | None = chain.end.parent
        while node is not None and node.type in ("await_expression", "parenthesized_expression", "as_expression"):
            node = node.parent
        if node is not None and node.type == "variable_declarator" and text_of(node.child_by_field_name("name")) == name:
            if function.node.start_byte <= node.start_byte < loop.node.start_byte:
                return chain.table
    return None


def _written_table(model: FileModel, read: DbRead, loop: Loop, write: Write) -> str | None:
    if write.table is not None:
        return write.table
    node = unwrap(write.id_node)
    if node is not None and node.type == "member_expression" and text_of(node.child_by_field_name("property")) == "_id":
        owner = text_of(node.child_by_field_name("object"))
        if owner in loop.item_names:
            return _collection_table(model, read, loop)
    return None


def write_conflict(ctx: RuleContext, read: DbRead, loop: Loop, writes: LoopWrites) -> str | None:
    """Why a read prefetched before the loop could miss one of the loop's writes (None when
    it provably can't)."""
    if writes.opaque is not None:
        return writes.opaque
    model = ctx.model
    assert model is not None
    table = read.table if read.kind == "get" else (read.chain.table if read.chain is not None else None)
    for write in writes.writes:
        if write.method == "insert":
            if read.kind == "get":
                continue  # a new document's id is none of the keys computed before the loop
            if table is None or write.table is None or write.table == table:
                return f"the loop inserts into `{write.table or 'a table'}`, which the query reads"
            continue
        written = _written_table(model, read, loop, write)
        if table is None or written is None:
            return f"the loop may {write.method} documents the read returns"
        if written == table:
            return f"the loop {_past(write.method)} `{table}` documents, which the read returns"
    return None


def _past(method: str) -> str:
    return {"patch": "patches", "replace": "replaces", "delete": "deletes"}.get(method, method + "s")
