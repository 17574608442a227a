"""Index fixes shared by rules: plan the index a query needs, add it to the schema, rewrite the query.

`plan_filter_index` works out which index would replace a query's `.filter()` (an
existing one that already covers the fields, or a new one named in the project's own
style); `index_fix` turns the plan into one `Fix` whose edits may span two files: the
`.index(...)` line inserted into the table's `defineTable` chain and the query rewritten
to `.withIndex(name, (q) => q.eq(...)...)` with the absorbed predicates removed. Adding an
index is unsafe (deploying it starts a backfill and the index costs every write); using an
index that exists is safe when the documents come back in the same order.

`remove_index_edit` / `rename_ref_edit` serve the index-hygiene rules.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from tree_sitter import Node

from convex_xray.engine import style as layout
from convex_xray.engine.analysis.chains import filter_predicate, parse_filter, parse_index_ranges
from convex_xray.engine.findings import Edit, Fix
from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import ChainStep, FilterAtom, IndexRange, IndexRef, QueryChain
from convex_xray.engine.schema import Index, Schema, Table
from convex_xray.engine.source import SourceFile, is_typescript_path
from convex_xray.engine.syntax import (
    function_params,
    param_pattern,
    param_type,
    string_value,
    text_of,
    unwrap,
)
from convex_xray.rules.support.untyped import untyped_parameter

CREATION_TIME = "_creationTime"
SYSTEM_FIELDS = frozenset({"_id", CREATION_TIME})
LOWER = frozenset({"gt", "gte"})
UPPER = frozenset({"lt", "lte"})
RANGE_OPS = LOWER | UPPER

# -- naming ------------------------------------------------------------------------------------

# Styles in order of preference when a schema does not show one.
NAMING_STYLES = ("by_and", "by_underscore", "camel_and", "camel")


def _word(field_name: str) -> str:
    return field_name.replace(".", "_")


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def style_name(style: str, fields: Sequence[str]) -> str:
    """The name `style` gives an index on `fields` (`by_orgId_and_status`, `byOrgIdAndStatus`...)."""
    words = [_word(f) for f in fields]
    if style == "by_underscore":
        return "by_" + "_".join(words)
    if style == "camel_and":
        return "by" + "And".join(_cap(w) for w in words)
    if style == "camel":
        return "by" + "".join(_cap(w) for w in words)
    return "by_" + "_and_".join(words)


# Remembered on the schema itself (rebuilt whenever its source changes): the language server
# asks once per keystroke, over hundreds of indexes.
_NAMING_STYLE: MemoKey[str] = MemoKey("index naming style")


def naming_style(schemas: Iterable[Schema]) -> str:
    """The style most of the schema's index names follow (`by_a_and_b` when nothing tells)."""
    chosen = tuple(schemas)
    if len(chosen) != 1:
        return _naming_style(chosen)
    [schema] = chosen
    style = schema.memo.get(_NAMING_STYLE)
    if style is None:
        style = schema.memo.put(_NAMING_STYLE, _naming_style(chosen))
    return style


def _naming_style(schemas: Iterable[Schema]) -> str:
    votes: Counter[str] = Counter()
    for schema in schemas:
        for table in schema.tables.values():
            for index in table.indexes.values():
                if index.kind != "index" or not index.fields:
                    continue
                for style in NAMING_STYLES:
                    if style_name(style, index.fields) == index.name:
                        votes[style] += 1
    if not votes:
        return NAMING_STYLES[0]
    best = max(votes.values())
    return next(style for style in NAMING_STYLES if votes[style] == best)


def quote_of(source: SourceFile | None) -> str:
    """The quote character the file mostly uses for strings."""
    return source.style.quote if source is not None else '"'


def _literal_quote(source: SourceFile, node: Node | None) -> str:
    if node is not None and node.type == "string":
        first = source.data[node.start_byte : node.start_byte + 1].decode()
        if first in ("'", '"'):
            return first
    return quote_of(source)


# -- planning -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Condition:
    """One index range condition of the rewritten query: `.eq("status", "done")`."""

    op: str
    field: str
    value: str  # source text of the value
    value_node: Node | None = None


@dataclass(slots=True)
class IndexPlan:
    """The index a query should use instead of (part of) its `.filter()`."""

    table: str
    fields: list[
        str
    ]  # the index's fields (for a new index: the ones to add, without _creationTime)
    name: str
    existing: Index | None  # an index the schema already has that covers the fields
    conditions: list[Condition]  # the full range, in index order
    absorbed: list[FilterAtom]  # filter predicates the index takes over
    residual: dict[int, list[FilterAtom]] = field(
        default_factory=dict
    )  # per filter step (by call id)
    unparsed: list[ChainStep] = field(default_factory=list)  # filter steps we could not read
    order_preserved: bool = True  # documents come back in the same order as before
    base_index: str | None = None  # the index the query used before (None: no index)
    new_fields: list[str] = field(default_factory=list)  # fields taken from the filter
    name_taken: bool = False  # a different index already has `name`

    @property
    def fully_absorbed(self) -> bool:
        return not self.unparsed and not any(self.residual.values())

    def definition(self, quote: str = '"') -> str:
        fields = ", ".join(f"{quote}{f}{quote}" for f in self.fields)
        return f".index({quote}{self.name}{quote}, [{fields}])"


def index_key(index: Index) -> list[str]:
    """The fields an index orders by, with the implicit trailing `_creationTime`."""
    fields = list(index.fields)
    if not fields or fields[-1] != CREATION_TIME:
        fields.append(CREATION_TIME)
    return fields


class RangeItem(Protocol):
    """One condition of an index range: a parsed `IndexRange`, or a planned one."""

    @property
    def op(self) -> str: ...

    @property
    def field(self) -> str: ...


def valid_range(ranges: Sequence[RangeItem], key: Sequence[str]) -> bool:
    """Equalities on a prefix of `key` in order, then at most a lower and an upper bound on the next field."""
    position = 0
    stage = 0  # 0 equalities, 1 after a lower bound, 2 after an upper bound
    range_field: str | None = None
    for item in ranges:
        if item.op == "eq":
            if stage or position >= len(key) or key[position] != item.field:
                return False
            position += 1
            continue
        wanted = 1 if item.op in LOWER else 2
        if stage >= wanted:
            return False
        if range_field is None:
            if position >= len(key) or key[position] != item.field:
                return False
            range_field = item.field
        elif item.field != range_field:
            return False
        stage = wanted
    return True


def filter_atoms(chain: QueryChain) -> list[tuple[ChainStep, list[FilterAtom] | None]]:
    return [(step, parse_filter(step)) for step in chain.filter_steps]


def _known_field(table: Table | None, name: str) -> bool:
    if table is None or table.fields is None or name in SYSTEM_FIELDS:
        return True
    return name.split(".", 1)[0] in table.fields


def plan_filter_index(
    source: SourceFile,
    chain: QueryChain,
    table: Table | None,
    style: str = NAMING_STYLES[0],
) -> IndexPlan | None:
    """The index that would take over the chain's `.filter()` comparisons, or None when none can.

    `table` may be None (schema unknown) only for chains without `.withIndex`; such a plan
    names a new index but cannot be applied.
    """
    if chain.table is None or chain.search_step is not None:
        return None
    index_steps = chain.steps_named("withIndex")
    if len(index_steps) > 1:
        return None
    base: Index | None = None
    ranges: list[IndexRange] = []
    if index_steps:
        if table is None or not table.indexes_known:
            return None
        name = string_value(index_steps[0].arg(0))
        base = table.index(name) if name is not None else None
        if base is None or not base.is_database_index or base.staged:
            return None
        parsed = parse_index_ranges(index_steps[0])
        if parsed is None or not valid_range(parsed, index_key(base)):
            return None
        ranges = parsed
    key = index_key(base) if base is not None else [CREATION_TIME]
    eq_fields = [r.field for r in ranges if r.op == "eq"]
    range_field = next((r.field for r in ranges if r.op != "eq"), None)
    rest = key[
        len(eq_fields) :
    ]  # the order within the equalities (starts with range_field, if any)

    # Which filter predicates can the index take?
    residual: dict[int, list[FilterAtom]] = {}
    unparsed: list[ChainStep] = []
    new_eq: list[FilterAtom] = []
    range_atoms: dict[str, list[FilterAtom]] = {}
    for step, atoms in filter_atoms(chain):
        if atoms is None:
            unparsed.append(step)
            continue
        kept: list[FilterAtom] = []
        for atom in atoms:
            name = atom.field
            if not atom.absorbable or name is None or not _known_field(table, name):
                kept.append(atom)
            elif atom.op == "eq":
                if (
                    name in SYSTEM_FIELDS
                    or name in eq_fields
                    or name == range_field
                    or any(a.field == name for a in new_eq)
                ):
                    kept.append(atom)
                else:
                    new_eq.append(atom)
            elif range_field is None and name != "_id":
                range_atoms.setdefault(name, []).append(atom)
            else:
                kept.append(atom)
        residual[step.call.id] = kept
    new_eq_fields = [a.field for a in new_eq if a.field is not None]
    # A range on one field: prefer the field the query is already ordered by (keeps the order).
    remaining_order = [f for f in rest if f not in new_eq_fields]
    range_on: str | None = None
    bounds: list[FilterAtom] = []
    # A range on another field reorders the results: only worth it when the query reads them
    # all and asks for no order (`.first()`, `.take(n)`, `.order()` depend on the order).
    reorder_ok = chain.terminal == "collect" and not chain.steps_named("order")
    keeps_order = [remaining_order[0]] if remaining_order else []
    for candidate in keeps_order + (list(range_atoms) if reorder_ok else []):
        if candidate in range_atoms and candidate not in new_eq_fields:
            range_on = candidate
            break
    if range_on is not None:
        lower = [a for a in range_atoms[range_on] if a.op in LOWER]
        upper = [a for a in range_atoms[range_on] if a.op in UPPER]
        bounds = lower[:1] + upper[:1]
    for atoms in range_atoms.values():
        for atom in atoms:
            if atom not in bounds:
                _keep(residual, chain, atom)
    if not new_eq and not bounds:
        return None

    # The fields of the index the query needs, and the order it gives.
    equal = [*eq_fields, *new_eq_fields]
    order_field = range_field or range_on
    original_order = [f for f in rest if f not in new_eq_fields]
    if order_field is None or (original_order and original_order[0] == order_field):
        tail = [f for f in original_order if f != CREATION_TIME]
    else:
        tail = [order_field] if order_field != CREATION_TIME else []
    fields = [*equal, *tail]
    wanted_order = [*tail, CREATION_TIME]

    conditions = [
        Condition("eq", r.field, text_of(r.value_node), r.value_node)
        for r in ranges
        if r.op == "eq"
    ]
    conditions += [
        Condition("eq", a.field or "", text_of(a.value_node), a.value_node) for a in new_eq
    ]
    if range_field is not None:
        conditions += [
            Condition(r.op, r.field, text_of(r.value_node), r.value_node)
            for r in ranges
            if r.op != "eq"
        ]
    for atom in bounds:
        conditions.append(
            Condition(atom.op, atom.field or "", text_of(atom.value_node), atom.value_node)
        )

    existing = (
        _covering_index(table, equal, order_field, wanted_order) if table is not None else None
    )
    if existing is not None:
        chosen, preserved = existing
        key_fields = index_key(chosen)
        by_position = {name: i for i, name in enumerate(key_fields)}
        eqs = sorted((c for c in conditions if c.op == "eq"), key=lambda c: by_position[c.field])
        conditions = [*eqs, *(c for c in conditions if c.op != "eq")]
        return IndexPlan(
            table=chain.table,
            fields=list(chosen.fields),
            name=chosen.name,
            existing=chosen,
            conditions=conditions,
            absorbed=[*new_eq, *bounds],
            residual=residual,
            unparsed=unparsed,
            order_preserved=preserved
            and (
                order_field is None
                or order_field == range_field
                or _same_order(original_order, order_field)
            ),
            base_index=base.name if base is not None else None,
            new_fields=[*new_eq_fields, *([range_on] if range_on else [])],
        )
    name = style_name(style, [f for f in fields if f != CREATION_TIME] or fields)
    taken = table is not None and table.index(name) is not None
    return IndexPlan(
        table=chain.table,
        fields=[f for f in fields if f != CREATION_TIME],
        name=name,
        existing=None,
        conditions=conditions,
        absorbed=[*new_eq, *bounds],
        residual=residual,
        unparsed=unparsed,
        order_preserved=order_field is None
        or order_field == range_field
        or _same_order(original_order, order_field),
        base_index=base.name if base is not None else None,
        new_fields=[*new_eq_fields, *([range_on] if range_on else [])],
        name_taken=taken,
    )


def index_takes_filter(source: SourceFile, chain: QueryChain, schema: Schema | None) -> bool:
    """Whether an index could take over the chain's `.filter()` (`plan_filter_index`, with the
    schema's own naming style): such a scan is filter-on-query's to report, with that index."""
    if not chain.filter_steps:
        return False
    table = schema.table(chain.table) if schema is not None and chain.table is not None else None
    return plan_filter_index(source, chain, table, naming_style([schema] if schema is not None else [])) is not None


def _same_order(original_order: list[str], order_field: str) -> bool:
    return bool(original_order) and original_order[0] == order_field


def _keep(residual: dict[int, list[FilterAtom]], chain: QueryChain, atom: FilterAtom) -> None:
    for step in chain.filter_steps:
        if step.call.start_byte <= atom.node.start_byte < step.call.end_byte:
            kept = residual.setdefault(step.call.id, [])
            if atom not in kept:
                kept.append(atom)
                kept.sort(key=lambda a: a.node.start_byte)
            return


def _covering_index(
    table: Table, equal: list[str], order_field: str | None, wanted_order: list[str]
) -> tuple[Index, bool] | None:
    """An index whose leading fields are the equalities (any order) then the range field."""
    best: tuple[int, int, Index] | None = None
    count = len(equal)
    candidates = [
        *table.indexes.values(),
        *(i for n in ("by_creation_time",) if (i := table.index(n)) is not None),
    ]
    for index in candidates:
        if index.kind not in ("index", "implicit") or index.staged or index.name == "by_id":
            continue
        key = index_key(index)
        if len(key) < count or set(key[:count]) != set(equal):
            continue
        if order_field is not None and (len(key) <= count or key[count] != order_field):
            continue
        preserved = key[count:] == wanted_order
        score = (0 if preserved else 1, len(key))
        if best is None or score < best[:2]:
            best = (*score, index)
    if best is None:
        return None
    return best[2], best[0] == 0


# -- edits ------------------------------------------------------------------------------------------


def insert_index_edit(
    table: Table, definition_source: SourceFile, name: str, fields: Sequence[str]
) -> Edit | None:
    """`.index("name", ["a", "b"])` after the table's last `.index(...)` (or its `defineTable(...)`)."""
    at = table.insert_at
    if at is None or not table.indexes_known or at.path != definition_source.path:
        return None
    quote = quote_of(definition_source)
    for index in table.indexes.values():
        if index.name_span is not None and index.name_span.path == definition_source.path:
            quote = definition_source.slice(index.name_span.start, index.name_span.start + 1)
            break
    if quote not in ("'", '"'):
        quote = '"'
    listed = ", ".join(f"{quote}{f}{quote}" for f in fields)
    call = f".index({quote}{name}{quote}, [{listed}])"
    if table.index_indent is not None:
        return Edit.insert(at.path, at.start, f"\n{table.index_indent}{call}")
    lines = definition_source.lines
    line = lines.line_of(at.start)
    line_start = lines.line_starts[line]
    line_text = definition_source.slice(line_start, lines.line_end(line))
    if not table.indexes and len(line_text) + len(call) <= definition_source.style.width:
        return Edit.insert(at.path, at.start, call)
    indent = line_text[: len(line_text) - len(line_text.lstrip())]
    return Edit.insert(at.path, at.start, f"\n{indent}  {call}")


def rewritable(chain: QueryChain) -> bool:
    """One expression, no conditional steps: edits can be made in place."""
    if any(step.conditional for step in chain.steps):
        return False
    start, end = chain.end.start_byte, chain.end.end_byte
    return start <= chain.root.start_byte and all(
        start <= s.call.start_byte and s.call.end_byte <= end for s in chain.steps
    )


def _mentions(node: Node | None, name: str) -> bool:
    if node is None:
        return False
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier" and text_of(current) == name:
            return True
        stack.extend(current.children)
    return False


def _receiver_end(step: ChainStep) -> int:
    callee = step.call.child_by_field_name("function")
    receiver = callee.child_by_field_name("object") if callee is not None else None
    return receiver.end_byte if receiver is not None else step.call.start_byte


@dataclass(frozen=True, slots=True)
class RangeCasts:
    """Values moved into the range whose type is not shown to be the field's, cast to it
    (`userId as Id<"users">`), with the import the cast needs (see `value_types`)."""

    values: dict[int, str]  # value node id -> the value with its cast
    imports: tuple[Edit, ...] = ()
    names: tuple[str, ...] = ()  # the cast values, for the title


def rewrite_edits(
    source: SourceFile, chain: QueryChain, plan: IndexPlan, casts: RangeCasts | None = None
) -> list[Edit] | None:
    """Edits that make the query use `plan`'s index and drop what it absorbs from `.filter()`."""
    if not rewritable(chain):
        return None
    path = source.path
    index_step = chain.index_step
    old_callback = unwrap(index_step.arg(1)) if index_step is not None else None
    param = "q"
    if old_callback is not None and old_callback.type in ("arrow_function", "function_expression"):
        params = function_params(old_callback)
        pattern = param_pattern(params[0]) if params else None
        if pattern is not None and pattern.type == "identifier":
            param = text_of(pattern)
    values = [c.value_node for c in plan.conditions]
    for candidate in (param, "q", "ix", "range"):
        if not any(_mentions(v, candidate) for v in values):
            param = candidate
            break
    else:
        return None
    if untyped_range(source, chain):
        param = f"{param}: any"  # as the app's own callbacks on an untyped `ctx` (no implicit any)
    quote = _literal_quote(source, chain.table_node)
    cast = casts.values if casts is not None else {}
    ranges = [
        f".{c.op}({quote}{c.field}{quote}, {cast.get(c.value_node.id, c.value) if c.value_node is not None else c.value})"
        for c in plan.conditions
    ]
    name = f"{quote}{plan.name}{quote}"
    edits: list[Edit] = []
    if index_step is not None:
        start = index_step.property.start_byte
        column, indent = _column_and_indent(source, start - 1)
        text = _with_index_call(source, name, param, ranges, column, indent, breakable=column == len(indent))
        edits.append(Edit(path, start, index_step.call.end_byte, text[1:]))
    else:
        first = chain.steps[0] if chain.steps else None
        gap = source.slice(chain.root.end_byte, _dot_of(first)) if first is not None else ""
        spacing = gap if gap.strip() == "" else ""
        column, indent = _column_and_indent(source, chain.root.end_byte)
        if "\n" in spacing:
            indent = spacing.rsplit("\n", 1)[1]
            column = len(indent)
        text = _with_index_call(source, name, param, ranges, column, indent, breakable="\n" in spacing)
        edits.append(Edit.insert(path, chain.root.end_byte, f"{spacing}{text}"))
    for step in chain.filter_steps:
        if step in plan.unparsed:
            continue
        kept = plan.residual.get(step.call.id, [])
        parsed = parse_filter(step) or []
        if len(kept) == len(parsed):
            continue  # nothing taken from this filter
        if not kept:
            edits.append(Edit.delete(path, _receiver_end(step), step.call.end_byte))
            continue
        body = filter_predicate(step)
        if body is None:
            return None
        q_name, expression = body
        parts = [source.node_text(a.node) for a in kept]
        text = parts[0] if len(parts) == 1 else f"{q_name}.and({', '.join(parts)})"
        edits.append(Edit(path, expression.start_byte, expression.end_byte, text))
    return _merge(edits)


def _column_and_indent(source: SourceFile, offset: int) -> tuple[int, str]:
    start = source.lines.line_starts[source.lines.line_of(offset)]
    return len(source.slice(start, offset)), source.line_indent(offset)


def _with_index_call(
    source: SourceFile, name: str, param: str, ranges: list[str], column: int, indent: str, *, breakable: bool
) -> str:
    """`.withIndex("name", (q) => q.eq(...))` in the file's style, broken over lines the way
    prettier would when it is long and the chain already has a step per line."""
    style = source.style
    if not breakable:
        style = replace(style, width=1 << 30)  # a one-line chain stays on its line
    param_name = param.split(":", 1)[0]
    body = layout.chain(param_name, ranges) if len(ranges) > 1 else f"{param_name}{''.join(ranges)}"
    doc = layout.call(".withIndex", [name, layout.arrow(param, body)], style)
    return layout.render(doc, style, indent, column)


def untyped_range(source: SourceFile, chain: QueryChain) -> bool:
    """Whether a callback on this query gets no type from it: the query's `ctx` (or `db`) is
    a parameter typed `any`, or not typed at all outside a registered function's handler.
    The app's own callbacks there say `(q: any) =>`; a new `(q) =>` would be an implicit
    `any` (TS7006) under `strict`. Never in JavaScript: tsc reports no implicit `any` there,
    and an annotation is itself an error (TS8010)."""
    if not is_typescript_path(source.path):
        return False
    for step in chain.steps:
        callback = unwrap(step.arg(1) if step.method == "withIndex" else step.arg(0))
        if callback is not None and callback.type in ("arrow_function", "function_expression"):
            params = function_params(callback)
            if params and param_type(params[0]).lstrip(": ").strip() == "any":
                return True
    callee = chain.root.child_by_field_name("function")
    receiver = callee.child_by_field_name("object") if callee is not None else None
    while receiver is not None and receiver.type == "member_expression":
        receiver = receiver.child_by_field_name("object")
    if receiver is None or receiver.type != "identifier":
        return False
    return untyped_parameter(receiver, text_of(receiver))


def _dot_of(step: ChainStep) -> int:
    return step.property.start_byte - 1


def _merge(edits: list[Edit]) -> list[Edit]:
    """Join an insertion with a deletion that starts at the same point (one edit, no overlap)."""
    edits = sorted(edits, key=lambda e: (e.start, e.end))
    merged: list[Edit] = []
    for edit in edits:
        if (
            merged
            and merged[-1].path == edit.path
            and merged[-1].end == edit.start
            and merged[-1].start == merged[-1].end
        ):
            last = merged.pop()
            edit = Edit(edit.path, last.start, edit.end, last.new_text + edit.new_text)
        merged.append(edit)
    return merged


def index_fix(
    schema_source: SourceFile | None,
    table: Table | None,
    source: SourceFile,
    chain: QueryChain,
    plan: IndexPlan,
    casts: RangeCasts | None = None,
) -> Fix | None:
    """The add-index fix (or, when an index already covers it, the rewrite alone).

    With `casts`, some moved values are cast to their field's type: never safe (the cast
    silences a mismatch `.filter()` allowed), and the title says which values."""
    rewrite = rewrite_edits(source, chain, plan, casts)
    if rewrite is None:
        return None
    cast_note = ""
    if casts is not None and casts.values:
        rewrite = [*rewrite, *casts.imports]
        shown = ", ".join(f"`{n}`" for n in casts.names)
        fields = "field's type" if len(casts.names) == 1 else "fields' types"
        cast_note = f" (unsafe: casts {shown} to the {fields}, which `.filter()` did not require)"
    if plan.existing is not None:
        title = f"Use index `{plan.name}` instead of `.filter()`{cast_note}"
        build = Fix.safe if plan.order_preserved and not cast_note else Fix.unsafe
        return build(title, rewrite)
    if table is None or schema_source is None or plan.name_taken:
        return None
    insert = insert_index_edit(table, schema_source, plan.name, plan.fields)
    if insert is None:
        return None
    where = schema_source.path.name
    return Fix.unsafe(f"Add index `{plan.name}` to `{where}` and use it{cast_note}", [insert, *rewrite])


# -- removing and renaming ---------------------------------------------------------------------------


def remove_index_edit(source: SourceFile, index: Index) -> Edit | None:
    """Delete `.index(...)`: with the line break before it when it sits on its own line."""
    span = index.span
    if span is None or span.path != source.path:
        return None
    data = source.data
    start = span.start
    before = start
    while before > 0 and data[before - 1 : before] in (b" ", b"\t"):
        before -= 1
    if before > 0 and data[before - 1 : before] == b"\n":
        before -= 1
        if before > 0 and data[before - 1 : before] == b"\r":
            before -= 1
        # Keep a comment that ends the previous line (`}) // profile`): cut only this line.
        line = source.lines.line_of(before)
        previous = source.slice(source.lines.line_starts[line], before)
        if "//" in previous:
            before = source.lines.line_starts[source.lines.line_of(start)]
            return Edit.delete(source.path, before, _line_end_after(source, span.end))
        start = before
    return Edit.delete(source.path, start, span.end)


def _line_end_after(source: SourceFile, end: int) -> int:
    """When only whitespace follows `end` on its line, include the line break."""
    data = source.data
    cursor = end
    while cursor < len(data) and data[cursor : cursor + 1] in (b" ", b"\t"):
        cursor += 1
    if data[cursor : cursor + 1] == b"\n":
        return cursor + 1
    if data[cursor : cursor + 2] == b"\r\n":
        return cursor + 2
    return end


def rename_literal_edit(path: Path, source: SourceFile, node: Node, new_name: str) -> Edit | None:
    quote = _literal_quote(source, node)
    if string_value(node) is None:
        return None
    return Edit(path, node.start_byte, node.end_byte, f"{quote}{new_name}{quote}")


IDENT_STRING = re.compile(rb"""(["'`])([A-Za-z_$][\w$.]*)\1""")


def string_literals(source: SourceFile) -> Counter[str]:
    """How often each identifier-like string literal (`"by_orgId"`) appears in the file (a
    textual scan: cheap, and conservative for the no-claim decisions it serves)."""
    return Counter(m.group(2).decode() for m in IDENT_STRING.finditer(source.data))


# -- a query naming an index the schema lacks (unknown-index) ----------------------------------------


def missing_index_fixes(
    source: SourceFile, ref: IndexRef, table: Table, schema_source: SourceFile | None
) -> list[Fix]:
    """For `.withIndex("by_x", (q) => q.eq("a", ...).gt("b", ...))` on an index the table lacks:
    use an existing index with the same leading fields, or add `by_x` on (`a`, `b`)."""
    if ref.kind != "withIndex" or ref.chain is None or ref.name is None or ref.name_node is None:
        return []
    step = next((s for s in ref.chain.steps if s.call.id == ref.node.id), None)
    ranges = parse_index_ranges(step) if step is not None else None
    if not ranges:
        return []
    fields = [r.field for r in ranges if r.op == "eq"]
    bound = next((r.field for r in ranges if r.op != "eq"), None)
    if bound is not None and bound != CREATION_TIME:
        fields.append(bound)
    if not fields or len(set(fields)) != len(fields) or any(f in SYSTEM_FIELDS for f in fields):
        return []
    if not all(_known_field(table, f) for f in fields) or not valid_range(
        ranges, [*fields, CREATION_TIME]
    ):
        return []
    for index in table.indexes.values():
        if index.kind != "index" or index.staged or index_key(index)[: len(fields)] != fields:
            continue
        edit = rename_literal_edit(source.path, source, ref.name_node, index.name)
        if edit is None:
            return []
        build = Fix.safe if index.fields == fields else Fix.unsafe
        return [build(f"Use index `{index.name}` (it starts with the same fields)", [edit])]
    if schema_source is None:
        return []
    insert = insert_index_edit(table, schema_source, ref.name, fields)
    if insert is None:
        return []
    shown = ", ".join(f"`{f}`" for f in fields)
    return [
        Fix.unsafe(f"Add index `{ref.name}` ({shown}) to `{schema_source.path.name}`", [insert])
    ]


__all__ = [
    "IndexPlan",
    "RangeCasts",
    "RangeItem",
    "filter_atoms",
    "index_fix",
    "index_key",
    "index_takes_filter",
    "insert_index_edit",
    "missing_index_fixes",
    "naming_style",
    "plan_filter_index",
    "quote_of",
    "remove_index_edit",
    "rename_literal_edit",
    "rewritable",
    "rewrite_edits",
    "string_literals",
    "style_name",
    "untyped_range",
    "valid_range",
]
