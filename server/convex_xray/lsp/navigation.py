"""Schema-aware navigation: which table or index a position names, where it is defined,
what it looks like, where it is used, and what may be typed in a string.

Pure engine code in byte offsets; the server converts spans to LSP locations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.findings import Span
from convex_xray.engine.model import FileModel
from convex_xray.engine.schema import IMPLICIT_INDEXES, Index, Schema, Table
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import member_parts, string_value
from convex_xray.engine.workspace import Workspace


@dataclass(frozen=True)
class Target:
    kind: str  # table | index
    table: str
    index: str | None
    span: Span  # what names it at the position (for the hover range)


def _string_at(source: SourceFile, offset: int) -> Node | None:
    node = source.root.named_descendant_for_byte_range(offset, offset)
    while node is not None and node.type in ("string_fragment", "escape_sequence"):
        node = node.parent
    if node is not None and node.type in ("string", "template_string"):
        return node
    return None


def _call_of_argument(node: Node) -> tuple[Node, int] | None:
    """(the call, argument index) when `node` is a direct argument of a call."""
    arguments = node.parent
    if arguments is None or arguments.type != "arguments":
        return None
    call = arguments.parent
    if call is None or call.type != "call_expression":
        return None
    index = [c.id for c in arguments.named_children].index(node.id)
    return call, index


def target_at(
    workspace: Workspace, model: FileModel | None, source: SourceFile, offset: int
) -> Target | None:
    path = source.path
    schema = workspace.schema_for(path)
    if schema is not None and schema.usable and schema.path == path:
        found = _schema_target(schema, offset)
        if found is not None:
            return found
    string = _string_at(source, offset)
    if string is None:
        return None
    span = Span(path, string.start_byte, string.end_byte)
    if model is not None:
        for chain in model.chains:
            if (
                chain.table is not None
                and chain.table_node is not None
                and chain.table_node.id == string.id
            ):
                return Target("table", chain.table, None, span)
        for ref in model.index_refs:
            if (
                ref.name is not None
                and ref.table is not None
                and ref.name_node is not None
                and ref.name_node.id == string.id
            ):
                return Target("index", ref.table, ref.name, span)
    argument = _call_of_argument(string)
    if argument is not None:
        call, index = argument
        callee = member_parts(call.child_by_field_name("function"))
        value = string_value(string)
        if value and index == 0 and callee is not None and callee[-2:] == ["v", "id"]:
            return Target("table", value, None, span)
    return None


def _schema_target(schema: Schema, offset: int) -> Target | None:
    for table in schema.tables.values():
        if (
            table.name_span is not None
            and table.name_span.path == schema.path
            and table.name_span.start <= offset <= table.name_span.end
        ):
            return Target("table", table.name, None, table.name_span)
        for index in table.indexes.values():
            span = index.name_span
            if span is not None and span.path == schema.path and span.start <= offset <= span.end:
                return Target("index", table.name, index.name, span)
    return None


def _table(workspace: Workspace, path: Path, name: str) -> Table | None:
    schema = workspace.schema_for(path)
    if schema is None or not schema.usable:
        return None
    return schema.table(name)


def definition(workspace: Workspace, path: Path, target: Target) -> list[Span]:
    table = _table(workspace, path, target.table)
    if table is None:
        return []
    if target.kind == "index" and target.index is not None:
        index = table.indexes.get(target.index)
        if index is not None:
            span = index.name_span or index.span
            return [span] if span is not None else []
    return [table.name_span] if table.name_span is not None else []


def _index_line(index: Index) -> str:
    fields = ", ".join(f"`{f}`" for f in index.fields) or "—"
    kind = "" if index.kind in ("index", "implicit") else f" ({index.kind})"
    staged = " (staged)" if index.staged else ""
    filters = (
        f"; filters {', '.join(f'`{f}`' for f in index.filter_fields)}"
        if index.filter_fields
        else ""
    )
    return f"- `{index.name}`{kind}{staged}: {fields}{filters}"


def hover(workspace: Workspace, path: Path, target: Target) -> str | None:
    table = _table(workspace, path, target.table)
    if table is None:
        return None
    if target.kind == "index" and target.index is not None:
        index = table.index(target.index)
        if index is None:
            return f"Table `{table.name}` has no index `{target.index}`."
        fields = (
            [*index.fields, "_creationTime"]
            if index.is_database_index and index.kind != "implicit"
            else index.fields
        )
        lines = [
            f"**index** `{index.name}` on `{table.name}`",
            "",
            "fields: " + ", ".join(f"`{f}`" for f in fields),
        ]
        if index.kind not in ("index", "implicit"):
            lines.append(f"kind: {index.kind}")
        if index.staged:
            lines.append("staged: still backfilling; cannot be queried yet")
        return "\n".join(lines)
    lines = [f"**table** `{table.name}`", ""]
    if table.fields is not None:
        lines.append("fields: " + (", ".join(f"`{f}`" for f in table.fields) or "—"))
    else:
        lines.append("fields: not statically known")
    lines.append("")
    lines.append("indexes:")
    for index in table.indexes.values():
        lines.append(_index_line(index))
    for name, fields in IMPLICIT_INDEXES.items():
        lines.append(f"- `{name}`: {', '.join(f'`{f}`' for f in fields)}")
    if not table.indexes_known:
        lines.append("- … (more, defined in a way that cannot be followed statically)")
    return "\n".join(lines)


def references(
    workspace: Workspace, path: Path, target: Target, *, include_declaration: bool
) -> list[Span]:
    """Every use of the table or index in the workspace's code (files governed by the same schema)."""
    schema = workspace.schema_for(path)
    spans: list[Span] = []
    if include_declaration:
        spans += definition(workspace, path, target)
    for model in workspace.models():
        if workspace.schema_for(model.path) is not schema:
            continue
        if target.kind == "index":
            for ref in model.index_refs:
                if (
                    ref.table == target.table
                    and ref.name == target.index
                    and ref.name_node is not None
                ):
                    spans.append(Span(model.path, ref.name_node.start_byte, ref.name_node.end_byte))
        else:
            for chain in model.chains:
                if chain.table == target.table and chain.table_node is not None:
                    spans.append(
                        Span(model.path, chain.table_node.start_byte, chain.table_node.end_byte)
                    )
    unique: dict[tuple[Path, int, int], Span] = {}
    for span in spans:
        unique.setdefault((span.path, span.start, span.end), span)
    return list(unique.values())


# -- completion ----------------------------------------------------------------------------------

_TABLE_ARG = re.compile(r"""(?:\.query|\bv\.id)\(\s*["']([\w$]*)$""")
_INDEX_ARG = re.compile(r"""\.with(Search)?Index\(\s*["']([\w$]*)$""")
_RANGE_ARG = re.compile(r"""\b[\w$]+\.(?:eq|gt|gte|lt|lte)\(\s*["']([\w$]*)$""")
_FIELD_ARG = re.compile(r"""\b[\w$]+\.field\(\s*["']([\w$]*)$""")
_LAST_TABLE = re.compile(r"""\.query\(\s*["']([\w$]+)["']\s*\)""")
_LAST_INDEX = re.compile(r"""\.withIndex\(\s*["']([\w$]+)["']""")
_WORD_AFTER = re.compile(r"""[\w$]*""")
LOOKBACK = 2_000  # bytes searched backwards for the chain's table


@dataclass
class Candidate:
    label: str
    kind: str  # table | index | field
    detail: str
    documentation: str
    start: int  # replace [start, end)
    end: int
    sort: str


def completions(workspace: Workspace, source: SourceFile, offset: int) -> list[Candidate]:
    schema = workspace.schema_for(source.path)
    if schema is None or not schema.usable:
        return []
    lines = source.lines
    line = lines.line_of(offset)
    before = source.slice(lines.line_starts[line], offset)
    after_match = _WORD_AFTER.match(source.slice(offset, lines.line_end(line)))
    end = offset + len(after_match.group(0).encode("utf-8")) if after_match else offset

    def start_of(word: str) -> int:
        return offset - len(word.encode("utf-8"))

    match = _TABLE_ARG.search(before)
    if match:
        word = match.group(1)
        return [
            Candidate(
                t.name,
                "table",
                _table_detail(t),
                hover(
                    workspace, source.path, Target("table", t.name, None, Span(source.path, 0, 0))
                )
                or "",
                start_of(word),
                end,
                t.name,
            )
            for t in schema.tables.values()
        ]
    context = source.slice(max(0, offset - LOOKBACK), offset)
    tables = _LAST_TABLE.findall(context)
    table = schema.table(tables[-1]) if tables else None
    match = _INDEX_ARG.search(before)
    if match:
        if table is None:
            return []
        word = match.group(2)
        search = match.group(1) is not None
        indexes = [i for i in table.indexes.values() if (i.kind == "searchIndex") == search]
        if not search:
            indexes += [
                Index(n, list(f), "implicit", table.name, None, None)
                for n, f in IMPLICIT_INDEXES.items()
            ]
        return [
            Candidate(
                i.name,
                "index",
                f"{table.name}: {', '.join(i.fields)}",
                _index_line(i),
                start_of(word),
                end,
                f"{number:03d}",
            )
            for number, i in enumerate(indexes)
        ]
    match = _RANGE_ARG.search(before)
    if match:
        if table is None:
            return []
        names = _LAST_INDEX.findall(context)
        index = table.index(names[-1]) if names else None
        if index is None:
            return []
        word = match.group(1)
        fields = [*index.fields, "_creationTime"] if index.kind == "index" else list(index.fields)
        return [
            Candidate(
                f,
                "field",
                f"field {number + 1} of index `{index.name}`",
                "",
                start_of(word),
                end,
                f"{number:03d}",
            )
            for number, f in enumerate(dict.fromkeys(fields))
        ]
    match = _FIELD_ARG.search(before)
    if match and table is not None and table.fields is not None:
        word = match.group(1)
        return [
            Candidate(f, "field", f"field of `{table.name}`", "", start_of(word), end, f)
            for f in [*table.fields, "_id", "_creationTime"]
        ]
    return []


def _table_detail(table: Table) -> str:
    count = len(table.indexes)
    return f"table ({count} index{'es' if count != 1 else ''})"
