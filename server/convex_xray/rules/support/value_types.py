"""Whether a value moved from `.filter()` into an index range has the field's exact type.

`.filter((q) => q.eq(q.field("userId"), userId))` type-checks with any value: the filter's
`eq` takes two expressions of one inferred type, so a `string` compared to an `Id<"users">`
field (or `Id<"users"> | undefined` to a required one) passes. An index range does not:
`.withIndex("by_userId", (q) => q.eq("userId", userId))` wants the field's own type
(TS2345). The filter→index rewrite asks here, per moved value, whether its type can be shown
to be the field's: from a literal, the function's `args` validator, a declared type, an `_id`
or a field of a document read from a known table, following `const x = ...` a few steps.
When it cannot be shown, the rewrite casts the value to the field's type (written from the
schema's validator) and is offered as unsafe, naming the cast.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.findings import Edit
from convex_xray.engine.model import FileModel, FunctionModel
from convex_xray.engine.schema import Schema, Table
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import (
    call_args,
    function_params,
    member_parts,
    param_pattern,
    param_type,
    string_value,
    text_of,
    unwrap,
)
from convex_xray.engine.workspace import Workspace

_FUNCTIONS = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function_declaration",
        "method_definition",
        "function",
    }
)
_MAX_STEPS = 4  # `const a = b; const b = args.x`: how far a name is followed
_SPACE = re.compile(r"\s+")
# Expressions `as T` can follow without parentheses (it binds tighter than `??`, `||`, `?:`).
_PRIMARY = frozenset(
    {
        "identifier",
        "member_expression",
        "subscript_expression",
        "call_expression",
        "parenthesized_expression",
        "string",
        "number",
        "template_string",
        "true",
        "false",
        "null",
        "undefined",
        "non_null_expression",
    }
)


def _normal(text: str) -> str:
    """Validator text compared across files: no spaces, one quote, no trailing commas."""
    return _SPACE.sub("", text).replace("'", '"').replace(",)", ")")


def _validator_call(node: Node | None) -> tuple[str, list[Node]] | None:
    """`v.id("users")` -> ("id", [<"users">]); None when not a `v.<kind>(...)` call."""
    node = unwrap(node)
    if node is None or node.type != "call_expression":
        return None
    parts = member_parts(node.child_by_field_name("function"))
    if parts is None or len(parts) != 2:
        return None
    return parts[1], call_args(node)


_PRIMITIVES = {
    "string": "string",
    "number": "number",
    "float64": "number",
    "int64": "bigint",
    "boolean": "boolean",
    "null": "null",
    "any": "any",
}


_ID = re.compile(r'v\.id\("([^"]*)"\)')
_LITERAL = re.compile(r'v\.literal\(("[\w .:/@-]*"|-?[\d.]+|true|false)\)')


def _written(text: str, quote: str) -> str | None:
    """The TypeScript type of a one-word normalized validator (`Id<"users">`, `string`,
    `"done"`); None for the rest (unions, objects, names), which a cast spells `Doc<"t">["f"]`."""
    if (match := _ID.fullmatch(text)) is not None:
        return f"Id<{quote}{match.group(1)}{quote}>"
    if (match := _LITERAL.fullmatch(text)) is not None:
        return match.group(1).replace('"', quote)
    kind = text.removeprefix("v.").removesuffix("()")
    return _PRIMITIVES.get(kind) if text == f"v.{kind}()" else None


@dataclass(frozen=True, slots=True)
class FieldType:
    """A table field's validator, for comparing values against it."""

    text: str  # normalized validator text, `v.optional(...)` removed
    optional: bool
    members: tuple[str, ...] = ()  # a union's normalized members

    @classmethod
    def of(cls, validator: Node) -> FieldType | None:
        call = _validator_call(validator)
        if call is None:
            return None
        optional = call[0] == "optional" and len(call[1]) == 1
        if optional:
            validator = unwrap(call[1][0]) or validator
            call = _validator_call(validator)
        members: tuple[str, ...] = ()
        if call is not None and call[0] == "union":
            members = tuple(_normal(text_of(a)) for a in call[1])
        return cls(_normal(text_of(validator)), optional, members)

    def ts_type(self, quote: str = '"') -> str | None:
        return _written(self.text, quote)

    def takes(self, member: str) -> bool:
        """The field is this validator, or a union with it."""
        return self.text == member or member in self.members

    def accepts_validator(self, other: Node, *, non_null: bool = False) -> bool:
        """A value validated by `other` (an argument's validator) has a type the field takes;
        `non_null`: the value is asserted defined (`args.x!`), so `v.optional` drops."""
        value = FieldType.of(other)
        if value is None:
            return False
        if value.optional and not (self.optional or non_null):
            return False
        return (
            self.text == "v.any()"
            or value.text == self.text
            or (bool(value.members) and all(self.takes(m) for m in value.members))
            or (not value.members and value.text in self.members)
        )


# The system fields every document has, as validators.
def _system_field(table: str, field: str) -> FieldType | None:
    if field == "_creationTime":
        return FieldType("v.number()", False)
    if field == "_id":
        return FieldType(f'v.id("{table}")', False)
    return None


def field_type(workspace: Workspace, table: Table | None, field: str) -> FieldType | None:
    """The validator of `table.field` (a top-level field of an inline `defineTable({...})`)."""
    if table is None:
        return None
    system = _system_field(table.name, field)
    if system is not None:
        return system
    if table.fields is None or "." in field:
        return None
    span = table.fields.get(field)
    if span is None:
        return None
    source = workspace.source(span.path)
    if source is None:
        return None
    key = source.root.descendant_for_byte_range(span.start, span.end)
    while key is not None and key.type not in ("pair", "shorthand_property_identifier"):
        key = key.parent
    if key is None or key.type != "pair":
        return None
    validator = unwrap(key.child_by_field_name("value"))
    if validator is not None and validator.type == "identifier":
        validator = _declared_value(workspace, text_of(validator), source, 4)
    return FieldType.of(validator) if validator is not None else None


def _declared_value(workspace: Workspace, name: str, source: SourceFile, depth: int) -> Node | None:
    """The value of a top-level `const name = …` in `source`, or of the name it imports
    (`status: postStatus` with `export const postStatus = v.union(…)` in a validators file)."""
    for statement in source.root.named_children:
        declaration = (
            statement.child_by_field_name("declaration")
            if statement.type == "export_statement"
            else statement
        )
        if declaration is None or declaration.type not in (
            "lexical_declaration",
            "variable_declaration",
        ):
            continue
        for declarator in declaration.named_children:
            if (
                declarator.type == "variable_declarator"
                and text_of(declarator.child_by_field_name("name")) == name
            ):
                value = unwrap(declarator.child_by_field_name("value"))
                if value is not None and value.type == "identifier" and depth > 0:
                    return _declared_value(workspace, text_of(value), source, depth - 1)
                return value
    if depth <= 0:
        return None
    for statement in source.root.named_children:
        if statement.type != "import_statement":
            continue
        module = string_value(statement.child_by_field_name("source"))
        specs = [n for n in _descendants_of_type(statement, "import_specifier")]
        for spec in specs:
            local = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
            if module is None or text_of(local) != name:
                continue
            path = workspace.resolve_module(module, source.path)
            other = workspace.source(path) if path is not None else None
            if other is None:
                return None
            return _declared_value(
                workspace, text_of(spec.child_by_field_name("name")), other, depth - 1
            )
    return None


def _descendants_of_type(node: Node, kind: str) -> list[Node]:
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            found.append(current)
        stack.extend(current.named_children)
    return found


class ValueTypes:
    """Answers "is this value typed as that field?" inside one file."""

    def __init__(self, workspace: Workspace, model: FileModel, schema: Schema | None) -> None:
        self.workspace = workspace
        self.model = model
        self.schema = schema

    def matches(self, value: Node, field: FieldType, function: FunctionModel | None) -> bool:
        return self._matches(value, field, function, _MAX_STEPS)

    def _matches(
        self, value: Node | None, field: FieldType, function: FunctionModel | None, steps: int
    ) -> bool:
        if field.text == "v.any()":
            return True
        if value is None or steps <= 0:
            return False
        if value.type == "as_expression" and text_of(value.named_children[-1]) == "any":
            return True  # `x as any` goes anywhere
        non_null = value.type == "non_null_expression"
        value = unwrap(value)
        if value is None:
            return False
        if value.type in (
            "string",
            "number",
            "true",
            "false",
            "null",
            "undefined",
            "template_string",
        ):
            return self._literal(value, field)
        if value.type == "member_expression":
            return self._member(value, field, function, non_null=non_null)
        if value.type == "identifier":
            return self._identifier(value, field, function, steps)
        if (
            value.type == "call_expression"
            and text_of(value.child_by_field_name("function")) == "Date.now"
        ):
            return field.takes("v.number()") or field.takes("v.float64()")
        return False

    @staticmethod
    def _literal(value: Node, field: FieldType) -> bool:
        if value.type == "undefined":
            return field.optional
        text = string_value(value)
        if text is not None:
            return field.takes("v.string()") or field.takes(_normal(f'v.literal("{text}")'))
        if value.type == "number":
            return (
                field.takes("v.number()")
                or field.takes("v.float64()")
                or field.takes(f"v.literal({text_of(value)})")
            )
        if value.type in ("true", "false"):
            return field.takes("v.boolean()") or field.takes(f"v.literal({text_of(value)})")
        if value.type == "null":
            return field.takes("v.null()")
        return False

    def _member(
        self, value: Node, field: FieldType, function: FunctionModel | None, *, non_null: bool
    ) -> bool:
        obj = unwrap(value.child_by_field_name("object"))
        prop = text_of(value.child_by_field_name("property"))
        if (
            obj is None
            or obj.type != "identifier"
            or value.child_by_field_name("optional_chain") is not None
        ):
            return False
        name = text_of(obj)
        if function is not None and name == function.args_param:
            arg = _args_validators(function).get(prop)
            return arg is not None and field.accepts_validator(arg, non_null=non_null)
        if prop == "_id" and field.takes("v.string()"):
            return True  # every `Id<…>` is a string
        table = self._table_of(obj, function)
        if table is None:
            return False
        if prop == "_id":
            return field.takes(f'v.id("{table}")') or field.takes("v.string()")
        if self.schema is None:
            return False
        other = field_type(self.workspace, self.schema.table(table), prop)
        if other is None:
            return False
        if other.optional and not (field.optional or non_null):
            return False
        return other.text == field.text or (not other.members and other.text in field.members)

    def _identifier(
        self, value: Node, field: FieldType, function: FunctionModel | None, steps: int
    ) -> bool:
        name = text_of(value)
        binding = _binding(value, name)
        if binding is None:
            return False
        kind, node = binding
        if kind == "param":
            pattern = param_pattern(node)
            if pattern is not None and pattern.type == "identifier":
                written = param_type(node).lstrip(":").strip()
                return bool(written) and _annotation_matches(written, field)
            # A destructured handler argument: `handler: async (ctx, { userId }) => ...`
            if function is not None and _is_args_param(function, node):
                arg = _args_validators(function).get(name)
                return arg is not None and field.accepts_validator(arg)
            return False
        # kind == "declarator"
        declared = node.child_by_field_name("type")
        if declared is not None:
            return _annotation_matches(text_of(declared).lstrip(":").strip(), field)
        pattern = node.child_by_field_name("name")
        init = node.child_by_field_name("value")
        if pattern is None or init is None:
            return False
        if pattern.type == "identifier":
            return self._matches(init, field, function, steps - 1)
        # `const { userId } = args`
        source = unwrap(init)
        if (
            pattern.type == "object_pattern"
            and function is not None
            and source is not None
            and source.type == "identifier"
            and text_of(source) == function.args_param
            and _shorthand(pattern, name)
        ):
            arg = _args_validators(function).get(name)
            return arg is not None and field.accepts_validator(arg)
        return False

    def _table_of(self, name_node: Node, function: FunctionModel | None) -> str | None:
        """The table of the document a name holds: `const user = await db.query("users")...first()`,
        `db.get("users", id)`, or the item of a `for (const user of users)` over such a collect."""
        name = text_of(name_node)
        binding = _binding(name_node, name)
        if binding is None:
            return None
        kind, node = binding
        if kind == "declarator":
            pattern = node.child_by_field_name("name")
            if pattern is None or pattern.type != "identifier":
                return None
            return self._read_table(node.child_by_field_name("value"), {"first", "unique", "get"})
        if kind == "loop":
            right = unwrap(node.child_by_field_name("right"))
            if right is None or right.type != "identifier":
                return None
            inner = _binding(right, text_of(right))
            if inner is None or inner[0] != "declarator":
                return None
            return self._read_table(inner[1].child_by_field_name("value"), {"collect", "take"})
        return None

    def _read_table(self, value: Node | None, terminals: set[str]) -> str | None:
        value = unwrap(value)
        if value is None or value.type != "await_expression":
            return None
        inner = unwrap(value.named_children[0]) if value.named_children else None
        if inner is None:
            return None
        for read in self.model.reads:
            if read.node.id != inner.id or read.table is None:
                continue
            if read.kind == "get" and "get" in terminals:
                return read.table
            if (
                read.chain is not None
                and read.chain.terminal in terminals
                and read.chain.end.id == inner.id
            ):
                return read.table
        return None


def _annotation_matches(annotation: str, field: FieldType) -> bool:
    wanted = field.ts_type()
    return wanted is not None and _normal(annotation) == _normal(wanted)


def _shorthand(pattern: Node, name: str) -> bool:
    return any(
        child.type == "shorthand_property_identifier_pattern" and text_of(child) == name
        for child in pattern.named_children
    )


def _is_args_param(function: FunctionModel, param: Node) -> bool:
    params = function_params(function.node)
    return len(params) >= 2 and params[1].id == param.id


def _args_validators(function: FunctionModel) -> dict[str, Node]:
    """`args: { userId: v.id("users") }` of a registered function -> {"userId": <v.id(...)>}."""
    handler = function.node
    config = handler.parent
    if config is not None and config.type == "pair":
        config = config.parent
    if config is None or config.type != "object":
        return {}
    for member in config.named_children:
        if member.type != "pair" or text_of(member.child_by_field_name("key")) != "args":
            continue
        value = unwrap(member.child_by_field_name("value"))
        if value is not None and value.type == "call_expression":  # v.object({...})
            inner = call_args(value)
            value = unwrap(inner[0]) if inner else None
        if value is None or value.type != "object":
            return {}
        found: dict[str, Node] = {}
        for pair in value.named_children:
            if pair.type != "pair":
                continue
            key = pair.child_by_field_name("key")
            key_text = (string_value(key) if key is not None else None) or text_of(key)
            validator = pair.child_by_field_name("value")
            if key_text and validator is not None:
                found[key_text] = validator
        return found
    return {}


def binding_of(use: Node, name: str) -> tuple[str, Node] | None:
    """Where `name`, used at `use`, is bound (see `_binding`)."""
    return _binding(use, name)


def _binding(use: Node, name: str) -> tuple[str, Node] | None:
    """Where `name` (used at `use`) is bound, looking outwards through enclosing blocks and
    functions: ("declarator", the `variable_declarator`), ("param", the parameter) or
    ("loop", the `for…of` statement). None when it is bound twice in one scope or not found."""
    current = use.parent
    while current is not None:
        if current.type in _FUNCTIONS:
            for param in function_params(current):
                pattern = param_pattern(param)
                if pattern is None:
                    continue
                if pattern.type == "identifier" and text_of(pattern) == name:
                    return "param", param
                if pattern.type == "object_pattern" and _shorthand(pattern, name):
                    return "param", param
        if current.type == "for_in_statement":
            left = current.child_by_field_name("left")
            if left is not None and left.type == "identifier" and text_of(left) == name:
                return "loop", current
        if current.type in ("statement_block", "program"):
            found = [
                d
                for statement in current.named_children
                if statement.type in ("lexical_declaration", "variable_declaration")
                and statement.start_byte < use.start_byte
                for d in statement.named_children
                if d.type == "variable_declarator" and _declares(d, name)
            ]
            if len(found) > 1:
                return None
            if found:
                return "declarator", found[0]
        current = current.parent
    return None


def _declares(declarator: Node, name: str) -> bool:
    pattern = declarator.child_by_field_name("name")
    if pattern is None:
        return False
    if pattern.type == "identifier":
        return text_of(pattern) == name
    return pattern.type == "object_pattern" and _shorthand(pattern, name)


# -- the cast and the import it needs -------------------------------------------------------------


def cast_text(value: Node, type_text: str) -> str:
    text = text_of(value)
    if value.type not in _PRIMARY:
        text = f"({text})"
    return f"{text} as {type_text}"


def _generated_module(workspace: Workspace, path: Path) -> str | None:
    """The specifier of `_generated/dataModel` as written from the file at `path`."""
    root = workspace.root_of(path)
    if root is None:
        return None
    relative = os.path.relpath(root.path / "_generated" / "dataModel", path.parent).replace(
        os.sep, "/"
    )
    return relative if relative.startswith(".") else f"./{relative}"


def type_import(
    workspace: Workspace, model: FileModel, name: str
) -> tuple[str, Edit | None] | None:
    """The local name of the generated `name` type (`Id`, `Doc`) in this file, and the edit
    importing it when the file does not yet (None when a local `name` is something else)."""
    for binding in model.imports.values():
        if binding.imported == name and binding.module.endswith("_generated/dataModel"):
            return binding.local, None
    if name in model.imports:
        return None
    module = _generated_module(workspace, model.path)
    if module is None:
        return None
    source = model.source
    style = source.style
    last = None
    for child in source.root.named_children:
        if child.type == "import_statement":
            last = child
    line = f"import type {{ {name} }} from {style.string(module)}{style.semi}"
    if last is None:
        return name, Edit.insert(model.path, 0, line + style.newline)
    return name, Edit.insert(model.path, last.end_byte, style.newline + line)


__all__ = ["FieldType", "ValueTypes", "binding_of", "cast_text", "field_type", "type_import"]
