"""Finds Better Auth adapter calls that match on `"id"`, a field the component does not store.

## What it does
Looks at `ctx.runQuery/runMutation(components.<auth>.adapter.<method>, {...})` calls and
reports every `where` clause (and `sortBy`) that names the field `"id"`.

## Why is this bad?
The Better Auth Convex component stores a document's id in Convex's `_id` field. A
`where: [{ field: "id", value }]` never matches, so `findOne` always returns `null`,
`updateOne` updates nothing, and the bug is silent.

## Example
```ts
const user = await ctx.runQuery(components.betterAuth.adapter.findOne, {
  model: "user",
  where: [{ field: "id", value: args.userId }],
});
```

Use instead:
```ts
const user = await ctx.runQuery(components.betterAuth.adapter.findOne, {
  model: "user",
  where: [{ field: "_id", value: args.userId }],
});
```

## Fix safety
Replacing `"id"` with `"_id"` is safe: the old clause could never match.

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Severity
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.syntax import string_value, text_of, unwrap

META = RuleMeta(
    code="CX401",
    slug="better-auth-id-field",
    severity=Severity.ERROR,
    summary='Better Auth adapter `where` on `"id"` instead of `"_id"`',
    fix=FixAvailability.ALWAYS,
)


def _is_adapter_ref(ref: str | None) -> bool:
    if not ref:
        return False
    parts = [p.strip() for p in ref.replace("\n", "").split(".")]
    return len(parts) >= 4 and parts[0] == "components" and "adapter" in parts[2:-1]


def _id_fields(node: Node) -> Iterator[Node]:
    """String nodes `"id"` that are the value of a `field:` key inside `where`/`sortBy`."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "pair":
            key = text_of(current.child_by_field_name("key"))
            value = unwrap(current.child_by_field_name("value"))
            if key == "field" and value is not None and string_value(value) == "id":
                if _inside_key(current, ("where", "sortBy")):
                    yield value
                continue
        stack.extend(reversed(current.named_children))


def _inside_key(node: Node, keys: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "pair" and text_of(parent.child_by_field_name("key")) in keys:
            return True
        if parent.type == "arguments":
            return False
        parent = parent.parent
    return False


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    for call in ctx.model.run_calls:
        if not _is_adapter_ref(call.ref) or call.args_node is None:
            continue
        method = call.ref.rsplit(".", 1)[-1] if call.ref else "adapter"
        for field_node in _id_fields(call.args_node):
            quote = ctx.source.data[field_node.start_byte : field_node.start_byte + 1].decode()
            yield ctx.finding(
                META,
                field_node,
                f'`{method}` matches on `"id"`, but the Better Auth component stores ids in `_id`: '
                "this clause never matches (the call returns null / changes nothing).",
                fix=Fix.safe('Match on `"_id"`', [Edit(ctx.path, field_node.start_byte, field_node.end_byte, f"{quote}_id{quote}")]),
            )
