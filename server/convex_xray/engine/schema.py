"""The schema model: tables, fields and indexes from `defineSchema({...})`, with source ranges.

Tables may be defined inline, as variables, in other files, or spread in (`...authTables`).
When something cannot be resolved statically the schema is marked incomplete so that
schema-dependent rules stay silent instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from tree_sitter import Node

from convex_xray.engine.findings import Span
from convex_xray.engine.memo import Memo
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import call_args, member_parts, string_value, text_of, unwrap

# Every table has these, implicitly (Convex docs: "Indexes").
IMPLICIT_INDEXES = {"by_id": ["_id"], "by_creation_time": ["_creationTime"]}

# Resolves an import specifier seen in `from_file` to a parsed file, or None.
ModuleLoader = Callable[[str, Path], "SourceFile | None"]


@dataclass(slots=True)
class Index:
    name: str
    fields: list[str]
    kind: str  # index | searchIndex | vectorIndex | implicit
    table: str
    span: Span | None  # the `.index(...)` call including the leading dot; None for implicit
    name_span: Span | None
    staged: bool = False
    filter_fields: list[str] = field(default_factory=list)  # search/vector indexes

    @property
    def is_database_index(self) -> bool:
        return self.kind in ("index", "implicit")


@dataclass(slots=True)
class Table:
    name: str
    name_span: Span | None
    definition: Span | None  # the table's expression (defineTable(...).index(...)...)
    fields: dict[str, Span] | None  # None when the validator is not statically known
    indexes: dict[str, Index] = field(default_factory=dict)
    # Where a new `.index(...)` goes: after the last index call (or defineTable(...)).
    insert_at: Span | None = None
    index_indent: str | None = None  # whitespace before `.index(` in this table, if chained on new lines
    indexes_known: bool = True  # False when the definition could not be followed

    def index(self, name: str) -> Index | None:
        if name in self.indexes:
            return self.indexes[name]
        if name in IMPLICIT_INDEXES:
            return Index(name, list(IMPLICIT_INDEXES[name]), "implicit", self.name, None, None)
        return None

    @property
    def all_index_names(self) -> list[str]:
        return [*self.indexes, *IMPLICIT_INDEXES]


@dataclass(slots=True)
class Schema:
    path: Path
    tables: dict[str, Table] = field(default_factory=dict)
    complete: bool = True  # every table is known (no unresolved spreads / dynamic tables)
    # Where the tables this reader could not see come from, for messages: `...stripeTables`
    # (from `@raideno/convex-stripe/server`) for a spread of a package's tables.
    elsewhere: list[str] = field(default_factory=list)
    # The same spreads, as (module specifier, file that imports it): `("@convex-dev/auth/server",
    # convex/schema.ts)` -- whether that package is installed decides what tsc makes of the schema.
    spread_from: list[tuple[str, Path]] = field(default_factory=list)
    error: str | None = None  # why the schema could not be read
    component: str | None = None  # component name for component schemas (kept apart)
    # What rules derive from this schema (e.g. its index naming style); lives as long as the
    # schema, which the workspace rebuilds whenever its source changes.
    memo: Memo = field(default_factory=Memo, compare=False, repr=False)

    @property
    def usable(self) -> bool:
        return self.error is None

    def table(self, name: str | None) -> Table | None:
        if name is None:
            return None
        return self.tables.get(name)

    def knows_table_absent(self, name: str) -> bool:
        """True only when we are sure the table does not exist."""
        return self.usable and self.complete and name not in self.tables


class _SchemaReader:
    def __init__(self, source: SourceFile, loader: ModuleLoader | None) -> None:
        self.source = source
        self.loader = loader
        self.schema = Schema(source.path)
        self._depth = 0

    def read(self) -> Schema:
        call = self._find_define_schema(self.source)
        if call is None:
            self.schema.error = f"{self.source.path}: no `defineSchema(...)` call found"
            return self.schema
        args = call_args(call)
        obj = unwrap(args[0]) if args else None
        if obj is None:
            self.schema.error = f"{self.source.path}: `defineSchema` has no tables argument"
            return self.schema
        self._read_tables(obj, self.source)
        if self.source.root.has_error:
            # Whatever was read is kept (go-to-definition), but the schema is not trusted:
            # schema-dependent rules say nothing rather than guess from a half-parsed file.
            self.schema.error = f"{self.source.path}: syntax errors; schema ignored until it parses"
            self.schema.complete = False
        return self.schema

    def _find_define_schema(self, source: SourceFile) -> Node | None:
        stack = [source.root]
        while stack:
            node = stack.pop()
            if node.type == "call_expression" and text_of(node.child_by_field_name("function")) == "defineSchema":
                return node
            # defineSchema lives at the top level or inside an export; don't descend into bodies
            if node.type in ("statement_block", "class_body"):
                continue
            stack.extend(reversed(node.named_children))
        return None

    def _read_tables(self, obj: Node, source: SourceFile) -> None:
        obj = unwrap(obj) or obj
        if obj.type == "identifier":
            resolved = self._resolve(text_of(obj), source)
            if resolved is None:
                self.schema.complete = False
                module = _imported_from(text_of(obj), source)
                self.schema.elsewhere.append(f"`{text_of(obj)}`" + (f" from `{module}`" if module else ""))
                if module:
                    self.schema.spread_from.append((module, source.path))
                return
            obj, source = resolved
            obj = unwrap(obj) or obj
        if obj.type != "object":
            self.schema.complete = False
            return
        for member in obj.named_children:
            if member.type == "pair":
                key = member.child_by_field_name("key")
                name = string_value(key) if key is not None and key.type == "string" else text_of(key)
                if key is None or key.type == "computed_property_name":
                    self.schema.complete = False
                    continue
                value = member.child_by_field_name("value")
                self._read_table(cast(str, name), key, value, source)  # a "string" key has a value
            elif member.type == "shorthand_property_identifier":
                name = text_of(member)
                resolved = self._resolve(name, source)
                if resolved is None:
                    self.schema.complete = False
                    continue
                self._read_table(name, member, resolved[0], resolved[1], key_source=source)
            elif member.type == "spread_element":
                inner = member.named_children[0] if member.named_children else None
                if inner is None or self._depth > 8:
                    self.schema.complete = False
                    continue
                self._depth += 1
                self._read_tables(inner, source)
                self._depth -= 1
            elif member.type != "comment":
                self.schema.complete = False

    def _read_table(
        self, name: str, key: Node, value: Node | None, source: SourceFile, key_source: SourceFile | None = None
    ) -> None:
        """`key: value` with `value` in `source`; `key` is in `key_source` (the same file unless a
        shorthand `{ teams }` brought the value from another file)."""
        key_source = key_source or source
        value = unwrap(value)
        if value is None:
            self.schema.complete = False
            return
        if value.type == "identifier":
            resolved = self._resolve(text_of(value), source)
            if resolved is None:
                self.schema.complete = False
                # The table exists, we just can't see its indexes.
                self.schema.tables[name] = Table(name, _span(key_source, key), None, None, indexes_known=False)
                return
            value, source_of_value = resolved
            table = self._table_from_chain(name, unwrap(value) or value, source_of_value)
        else:
            table = self._table_from_chain(name, value, source)
        table.name_span = _span(key_source, key)
        self.schema.tables[name] = table

    def _table_from_chain(self, name: str, expression: Node, source: SourceFile) -> Table:
        table = Table(name, None, _span(source, expression), None)
        calls: list[tuple[str, Node, Node]] = []  # (method, call, member node)
        current: Node | None = expression
        while current is not None and current.type == "call_expression":
            callee = current.child_by_field_name("function")
            if callee is not None and callee.type == "member_expression":
                method = text_of(callee.child_by_field_name("property"))
                calls.append((method, current, callee))
                current = unwrap(callee.child_by_field_name("object"))
                continue
            break
        calls.reverse()
        if current is not None and current.type == "identifier" and calls:
            # `usersTable.index(...)` chained on a table variable.
            resolved = self._resolve(text_of(current), source)
            if resolved is not None:
                base = self._table_from_chain(name, unwrap(resolved[0]) or resolved[0], resolved[1])
                table.fields = base.fields
                table.indexes = dict(base.indexes)
                table.indexes_known = base.indexes_known
            else:
                table.indexes_known = False
        elif (
            current is not None
            and current.type == "call_expression"
            and text_of(current.child_by_field_name("function")) == "defineTable"
        ):
            table.fields = self._fields(current, source)
            table.insert_at = Span(source.path, current.end_byte, current.end_byte)
        else:
            table.indexes_known = False  # built by a function we do not follow
        last_end = current.end_byte if current is not None else expression.end_byte
        for method, call, callee in calls:
            args = call_args(call)
            index_name = string_value(args[0]) if args else None
            prop = callee.child_by_field_name("property")
            dot_start = prop.start_byte - 1 if prop is not None else callee.start_byte
            span = Span(source.path, dot_start, call.end_byte)
            name_span = _span(source, args[0]) if args else None
            last_end = call.end_byte
            if index_name is None:
                if method in ("index", "searchIndex", "vectorIndex"):
                    self.schema.complete = False
                    table.indexes_known = False  # a computed name: any name might exist
                continue
            if method == "index":
                fields, staged = self._index_fields(args[1] if len(args) > 1 else None)
                table.indexes[index_name] = Index(index_name, fields, "index", name, span, name_span, staged)
                if table.index_indent is None and prop is not None:
                    table.index_indent = source.line_indent(dot_start) if source.starts_line(dot_start) else None
            elif method in ("searchIndex", "vectorIndex"):
                config = unwrap(args[1]) if len(args) > 1 else None
                fields, filters, staged = self._search_fields(config, method)
                table.indexes[index_name] = Index(
                    index_name, fields, method, name, span, name_span, staged, filters
                )
        table.insert_at = Span(source.path, last_end, last_end)
        return table

    def _fields(self, define_table: Node, source: SourceFile) -> dict[str, Span] | None:
        args = call_args(define_table)
        validator = unwrap(args[0]) if args else None
        if validator is not None and validator.type == "call_expression":
            # defineTable(v.object({...}))
            inner = call_args(validator)
            validator = unwrap(inner[0]) if inner else None
        if validator is not None and validator.type == "identifier":
            resolved = self._resolve(text_of(validator), source)
            if resolved is None:
                return None
            validator, source = resolved
            validator = unwrap(validator)
            if validator is not None and validator.type == "call_expression":
                inner = call_args(validator)
                validator = unwrap(inner[0]) if inner else None
        if validator is None or validator.type != "object":
            return None
        fields: dict[str, Span] = {}
        for member in validator.named_children:
            if member.type == "pair":
                key = member.child_by_field_name("key")
                if key is None:
                    continue
                key_name = string_value(key) if key.type == "string" else text_of(key)
                fields[cast(str, key_name)] = _span(source, key)  # a "string" key has a value
            elif member.type == "shorthand_property_identifier":
                fields[text_of(member)] = _span(source, member)
            elif member.type == "spread_element":
                return None  # fields from elsewhere: unknown set
        return fields

    @staticmethod
    def _index_fields(arg: Node | None) -> tuple[list[str], bool]:
        arg = unwrap(arg)
        staged = False
        if arg is not None and arg.type == "object":
            fields_node = None
            for pair in arg.named_children:
                if pair.type != "pair":
                    continue
                key = text_of(pair.child_by_field_name("key"))
                if key == "fields":
                    fields_node = unwrap(pair.child_by_field_name("value"))
                elif key == "staged":
                    staged = text_of(pair.child_by_field_name("value")) == "true"
            arg = fields_node
        if arg is None or arg.type != "array":
            return [], staged
        return [v for v in (string_value(c) for c in arg.named_children) if v is not None], staged

    @staticmethod
    def _search_fields(config: Node | None, method: str) -> tuple[list[str], list[str], bool]:
        fields: list[str] = []
        filters: list[str] = []
        staged = False
        if config is None or config.type != "object":
            return fields, filters, staged
        for pair in config.named_children:
            if pair.type != "pair":
                continue
            key = text_of(pair.child_by_field_name("key"))
            value = unwrap(pair.child_by_field_name("value"))
            if key in ("searchField", "vectorField"):
                text = string_value(value)
                if text:
                    fields.append(text)
            elif key == "filterFields" and value is not None and value.type == "array":
                filters = [v for v in (string_value(c) for c in value.named_children) if v]
            elif key == "staged":
                staged = text_of(value) == "true"
        return fields, filters, staged

    def _resolve(self, name: str, source: SourceFile) -> tuple[Node, SourceFile] | None:
        """A top-level `const name = <expr>` in `source`, or followed through its import."""
        for statement in source.root.named_children:
            declaration = statement
            if statement.type == "export_statement":
                inner = statement.child_by_field_name("declaration")
                if inner is None:
                    continue
                declaration = inner
            if declaration.type not in ("lexical_declaration", "variable_declaration"):
                continue
            for declarator in declaration.named_children:
                if declarator.type == "variable_declarator" and text_of(declarator.child_by_field_name("name")) == name:
                    value = declarator.child_by_field_name("value")
                    if value is not None:
                        return value, source
        if self.loader is None or self._depth > 8:
            return None
        for module, imported, local in _named_imports(source):
            if local != name:
                continue
            target = self.loader(module, source.path)
            if target is None:
                return None
            self._depth += 1
            try:
                return self._resolve(imported, target)
            finally:
                self._depth -= 1
        return None


def _named_imports(source: SourceFile) -> Iterator[tuple[str, str, str]]:
    """(module, imported name, local name) of each `import { a as b } from "m"` in `source`."""
    for statement in source.root.named_children:
        if statement.type != "import_statement":
            continue
        module = string_value(statement.child_by_field_name("source"))
        if module is None:
            continue
        for clause in statement.named_children:
            if clause.type != "import_clause":
                continue
            for part in clause.named_children:
                if part.type != "named_imports":
                    continue
                for spec in part.named_children:
                    if spec.type == "import_specifier":
                        imported = text_of(spec.child_by_field_name("name"))
                        yield module, imported, text_of(spec.child_by_field_name("alias")) or imported


def _imported_from(name: str, source: SourceFile) -> str | None:
    """The module `name` is imported from in `source` (`import { name } from "pkg"`), if any."""
    return next((module for module, _, local in _named_imports(source) if local == name), None)


def _span(source: SourceFile, node: Node) -> Span:
    return Span(source.path, node.start_byte, node.end_byte)


def read_schema(source: SourceFile, loader: ModuleLoader | None = None) -> Schema:
    """Read `schema.ts`. Never raises for bad input: problems land in `Schema.error`."""
    try:
        return _SchemaReader(source, loader).read()
    except RecursionError:
        schema = Schema(source.path)
        schema.error = f"{source.path}: schema too deeply nested to read"
        return schema


def index_name_parts(name: str) -> list[str]:
    """`by_orgId_and_status` -> ["orgId", "status"] (for naming-style detection)."""
    body = name[3:] if name.startswith("by_") else name
    return [p for p in body.replace("_and_", "_").split("_") if p]


__all__ = ["IMPLICIT_INDEXES", "Index", "Schema", "Table", "index_name_parts", "member_parts", "read_schema"]
