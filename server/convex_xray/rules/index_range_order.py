"""Finds `.withIndex` ranges that do not follow the index's field order.

## What it does
Checks the range callback of `.withIndex(name, (q) => ...)` against the index's fields in
`schema.ts`. A valid range is zero or more `.eq(...)` on the index's fields, starting at the
first and in order, then optionally a lower bound (`.gt`/`.gte`) and an upper bound
(`.lt`/`.lte`) on the next field. Reported:

- equalities out of order: index `["orgId", "status"]` queried as
  `q.eq("status", s).eq("orgId", o)`;
- a bound before an equality (`q.gt("createdAt", t).eq("orgId", o)`), or an upper
  bound before the lower one;
- a field the index does not have, or one that skips a field before it
  (`q.eq("orgId", o).eq("createdAt", t)` on `["orgId", "status", "createdAt"]`);
- the same field constrained twice with `.eq`.

Every index ends with the implicit `_creationTime`, so a bound on `_creationTime` after
equalities on all the index's fields is fine.

## Why is this bad?
Convex walks an index in its field order; a range that names fields in another order
cannot be turned into one contiguous slice of the index, so the query fails when it runs.
Typed code catches this at compile time, but helpers typed loosely (`any`, a shared
untyped data model) let it through to production.

## Example
```ts
// schema.ts: enrollments.index("by_orgId_and_status", ["orgId", "status"])
const active = await ctx.db
  .query("enrollments")
  .withIndex("by_orgId_and_status", (q) =>
    q.eq("status", "active").eq("orgId", args.orgId),
  )
  .collect();
```

Use instead:
```ts
const active = await ctx.db
  .query("enrollments")
  .withIndex("by_orgId_and_status", (q) =>
    q.eq("orgId", args.orgId).eq("status", "active"),
  )
  .collect();
```

## Fix safety
When the conditions only need reordering (the equalities cover a prefix of the index and
any bounds are on the next field), the fix reorders them into index order. The range
means the same thing in any order, so the fix is safe when every value is a plain name,
property access or literal; when a value is a call or other expression, reordering would
change the order in which those run, and the fix is marked unsafe. Ranges with a missing
or foreign field get no fix: they need another index.

## Options
None. Nothing is reported when the schema is missing, the index is unknown (see
`unknown-index`), or the range is built dynamically.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tree_sitter import Node

from convex_xray.engine.analysis.chains import parse_index_ranges
from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Related, Severity
from convex_xray.engine.model import IndexRange
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import unwrap
from convex_xray.rules.support.add_index import LOWER, index_key, valid_range

META = RuleMeta(
    code="CX302",
    slug="index-range-order",
    severity=Severity.ERROR,
    summary="index range fields out of the index's order",
    fix=FixAvailability.SOMETIMES,
)

DOC_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  enrollments: defineTable({ orgId: v.id("orgs"), status: v.string() })
    .index("by_orgId_and_status", ["orgId", "status"]),
  orgs: defineTable({ name: v.string() }),
});
"""

FAILS = "Convex rejects this range when the query runs"


def canonical_order(ranges: Sequence[IndexRange], key: Sequence[str]) -> list[IndexRange] | None:
    """The same conditions in an order the index accepts, or None when no order would do."""
    equalities = [r for r in ranges if r.op == "eq"]
    bounds = [r for r in ranges if r.op != "eq"]
    fields = [r.field for r in equalities]
    if len(set(fields)) != len(fields) or set(fields) != set(key[: len(fields)]):
        return None
    lower = [r for r in bounds if r.op in LOWER]
    upper = [r for r in bounds if r.op not in LOWER]
    if len(lower) > 1 or len(upper) > 1:
        return None
    if bounds and (len(key) <= len(fields) or any(r.field != key[len(fields)] for r in bounds)):
        return None
    position = {name: i for i, name in enumerate(key)}
    ordered = sorted(equalities, key=lambda r: position[r.field])
    return [*ordered, *lower, *upper]


def _problem(
    ranges: Sequence[IndexRange], key: Sequence[str], index_name: str
) -> tuple[IndexRange, str]:
    """The first condition that breaks the range, and why."""
    shown = (
        "("
        + ", ".join(f"`{f}`" for f in key if f != "_creationTime" or key == ["_creationTime"])
        + ")"
    )
    for i, item in enumerate(ranges):
        if valid_range(ranges[: i + 1], key):
            continue
        if item.field not in key:
            return item, f"`{item.field}` is not a field of index `{index_name}` {shown}"
        if item.op == "eq" and any(r.op == "eq" and r.field == item.field for r in ranges[:i]):
            return item, f"`{item.field}` is constrained twice"
        if item.op == "eq" and any(r.op != "eq" for r in ranges[:i]):
            return (
                item,
                f'`.eq("{item.field}", ...)` comes after a bound; equalities must come first',
            )
        if item.op in LOWER and any(r.op not in LOWER and r.op != "eq" for r in ranges[:i]):
            return item, "the lower bound must come before the upper bound"
        position = key.index(item.field)
        done = {r.field for r in ranges[:i] if r.op == "eq"}
        missing = [f for f in key[:position] if f not in done]
        if (
            missing
            and all(r.field in key for r in ranges)
            and {r.field for r in ranges if r.op == "eq"} >= set(missing)
        ):
            return (
                item,
                f"index `{index_name}` is ordered {shown}: `{missing[0]}` must be constrained before `{item.field}`",
            )
        if missing:
            return (
                item,
                f"index `{index_name}` is ordered {shown}: the range skips `{missing[0]}`, which comes before `{item.field}`",
            )
        return item, f"index `{index_name}` is ordered {shown}"
    raise ValueError("range is valid")


_SIMPLE = frozenset(
    {
        "identifier",
        "member_expression",
        "string",
        "number",
        "true",
        "false",
        "null",
        "undefined",
        "property_identifier",
        "this",
    }
)


def _simple(node: Node | None) -> bool:
    """A value whose evaluation has no effects: names, property reads, literals."""
    node = unwrap(node)
    if node is None:
        return True
    if node.type == "template_string":
        return not any(c.type == "template_substitution" for c in node.named_children)
    if node.type == "unary_expression":
        return all(_simple(c) for c in node.named_children)
    if node.type == "member_expression":
        return _simple(node.child_by_field_name("object"))
    return node.type in _SIMPLE


def reorder_edit(
    source: SourceFile, ranges: Sequence[IndexRange], ordered: Sequence[IndexRange]
) -> Edit | None:
    """Permute the `.op(...)` calls, keeping the whitespace between them where it was."""
    slots: list[str] = []
    calls: dict[int, str] = {}
    start: int | None = None
    for item in ranges:
        callee = item.call.child_by_field_name("function")
        receiver = callee.child_by_field_name("object") if callee is not None else None
        prop = callee.child_by_field_name("property") if callee is not None else None
        if receiver is None or prop is None:
            return None
        dot = prop.start_byte - 1
        if start is None:
            start = receiver.end_byte
        slots.append(source.slice(receiver.end_byte, dot))
        calls[item.call.id] = source.slice(dot, item.call.end_byte)
    if start is None:
        return None
    text = "".join(slot + calls[item.call.id] for slot, item in zip(slots, ordered, strict=True))
    return Edit(source.path, start, ranges[-1].call.end_byte, text)


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    schema = ctx.schema
    if schema is None or ctx.model is None:
        return
    for ref in ctx.model.index_refs:
        if ref.kind != "withIndex" or ref.chain is None or ref.name is None:
            continue
        table = schema.table(ref.table)
        index = table.index(ref.name) if table is not None and table.indexes_known else None
        if index is None or not index.is_database_index or index.staged:
            continue  # unknown-index reports missing, search and staged indexes
        step = next((s for s in ref.chain.steps if s.call.id == ref.node.id), None)
        if step is None:
            continue
        ranges = parse_index_ranges(step)
        key = index_key(index)
        if not ranges or valid_range(ranges, key):
            continue
        culprit, why = _problem(ranges, key, index.name)
        ordered = canonical_order(ranges, key)
        fix = None
        if ordered is not None:
            edit = reorder_edit(ctx.source, ranges, ordered)
            if edit is not None:
                build = Fix.safe if all(_simple(r.value_node) for r in ranges) else Fix.unsafe
                fix = build(f"Reorder the range to the order of `{index.name}`", [edit])
        related = (
            [Related(index.span, f"`{index.name}` is defined here")]
            if index.span is not None
            else []
        )
        yield ctx.finding(
            META,
            culprit.field_node,
            f"{'Index range out of order' if ordered is not None or 'ordered' in why else 'Invalid index range'}: {why}. {FAILS}.",
            related=related,
            fix=fix,
        )
