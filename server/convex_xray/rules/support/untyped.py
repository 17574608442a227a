"""Whether a name is typed `any`, so that callbacks the fixes generate on it get no type.

TypeScript gives a callback's parameters their types from the call (`xs.map((x) => …)`,
`ctx.db.query("t").withIndex("i", (q) => …)`). When the receiver is `any`, there is nothing to
give: under `strict` a new `(x) =>` is an implicit `any` (TS7006) where the app's own code
says `(x: any) =>`. The fixes ask here, and annotate only then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.memo import MemoKey, merged_per_file_text
from convex_xray.engine.packages import package_of, uninstalled_spreads
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import (
    function_params,
    param_pattern,
    param_type,
    pattern_names,
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
        "generator_function_declaration",
        "function",
    }
)
# Where a function gets its parameter types from the code around it.
_CONTEXTUAL = frozenset(
    {
        "arguments",
        "pair",
        "variable_declarator",
        "assignment_expression",
        "return_statement",
        "parenthesized_expression",
    }
)
_MAX_DEPTH = 256
# A directive the app wrote because TypeScript lost contextual types in the file: an implicit
# `any` (TS7006/TS7031), or a type instantiation too deep (TS2589), after which callbacks on
# what it typed get no parameter types either.
_LOST_TYPES = re.compile(
    rb"@ts-(?:expect-error|ignore)\b[^\n]*(?:TS7006|TS7031|TS2589|implicit)", re.IGNORECASE
)


def _annotation(param: Node) -> str:
    return param_type(param).lstrip(":").strip()


def _contextually_typed(function: Node) -> bool:
    """A callback (`query({ handler: async (ctx) => … })`, `xs.map((x) => …)`) or a function
    assigned where a type is declared gets its parameter types from there."""
    parent = function.parent
    if parent is None or parent.type not in _CONTEXTUAL:
        return False
    if parent.type == "variable_declarator":
        return parent.child_by_field_name("type") is not None
    return True


def untyped_parameter(node: Node, name: str) -> bool:
    """Whether `name`, used at `node`, is a parameter of an enclosing function typed `any`
    (`ctx: any`) or not typed at all where nothing gives it a type (an implicit `any`).
    False when it is typed, contextually typed, or not a parameter (unknown: assume typed)."""
    current = node.parent
    for _ in range(_MAX_DEPTH):
        if current is None:
            return False
        if current.type in _FUNCTIONS:
            for param in function_params(current):
                pattern = param_pattern(param) if param.type.endswith("_parameter") else param
                if name not in pattern_names(pattern):
                    continue
                annotation = _annotation(param) if param.type.endswith("_parameter") else ""
                if annotation:
                    return annotation == "any"
                return not _contextually_typed(current)
        current = current.parent
    return False


def file_says_types_lost(source: SourceFile) -> bool:
    """Whether this file carries a directive about lost contextual types (TS7006, TS7031,
    TS2589, implicit `any`)."""
    return _LOST_TYPES.search(source.data) is not None


def types_lost(workspace: Workspace, source: SourceFile) -> bool:
    """Whether the app says TypeScript loses contextual types here: in this file (a
    `// @ts-expect-error TS7006` above its own callbacks), or anywhere in its Convex root for
    TS2589 (a data model at tsc's instantiation-depth limit is the whole program's condition:
    a callback tsc types when its file is checked alone gets no type in the full program).
    Generated callbacks there say `(x: any)`, as the app's own must."""
    if file_says_types_lost(source):
        return True
    root = workspace.root_of(source.path)
    return root is not None and root.path in _too_deep_roots(workspace).roots


def root_at_depth_limit(workspace: Workspace, source: SourceFile) -> bool:
    """Whether the app says its data model, not only its function references, is at tsc's
    instantiation-depth limit: a TS2589 directive in the file's Convex root whose next line is
    not a function reference (`internal.…`, `api.…`, `components.…`) but a query, a validator,
    a read or a callback. There typing generated code (an item's `(typeof posts)[number]`, a
    Map's type arguments) instantiates more of the data model and crosses the limit again, in
    the new code or elsewhere in the program; an app whose directives all sit on function
    references (`const fn = internal.a.b`: the generated `api` is what is too deep) keeps
    typed documents."""
    root = workspace.root_of(source.path)
    return root is not None and root.path in _too_deep_roots(workspace).data_model


_TOO_DEEP = re.compile(rb"@ts-(?:expect-error|ignore)\b[^\n]*TS2589")
# A function reference (`internal.posts.list`, `api.users.get`, `components.auth.x`), not a
# member of a longer path (`ctx.internal.…`).
_FUNCTION_REFERENCE = re.compile(rb"(?<![\w$.])(?:internal|api|components)\s*\.\s*[A-Za-z_$]")


@dataclass(frozen=True)
class _TooDeep:
    """The Convex roots one of whose files suppresses TS2589 (`roots`), and those where one such
    directive is not on a function reference (`data_model`)."""

    roots: frozenset[Path]
    data_model: frozenset[Path]


_TOO_DEEP_ROOTS: MemoKey[tuple[int, _TooDeep]] = MemoKey("roots with a TS2589 directive")
# path -> (the text read, (its Convex root, whether it suppresses TS2589, whether one such
# directive is not on a function reference)), kept with the text (see `memo.per_file_text`).
_FILE_TOO_DEEP: MemoKey[dict[Path, tuple[bytes, tuple[Path | None, bool, bool]]]] = MemoKey("TS2589 directives per file")


def _directed_line(data: bytes, directive_end: int) -> bytes:
    """The first line after a directive's line that is not blank or a line comment (the line a
    next-line directive applies to, give or take an `eslint-disable-next-line` in between)."""
    position = data.find(b"\n", directive_end)
    while position != -1:
        end = data.find(b"\n", position + 1)
        line = data[position + 1 : end if end != -1 else len(data)].strip()
        if line and not line.startswith(b"//"):
            return line
        position = end
    return b""


def _too_deep_roots(workspace: Workspace) -> _TooDeep:
    """Which Convex roots suppress TS2589, and where: merged from each file's directives, again
    only when a file changed since says something else (in the editor every keystroke is a
    revision; scanning every file's text for the directive per keystroke grew with the app)."""

    def merge(files: Iterator[tuple[Path | None, bool, bool]]) -> _TooDeep:
        roots: set[Path] = set()
        data_model: set[Path] = set()
        for root, suppresses, on_data_model in files:
            if root is not None and suppresses:
                roots.add(root)
                if on_data_model:
                    data_model.add(root)
        return _TooDeep(frozenset(roots), frozenset(data_model))

    def directives(path: Path, source: SourceFile) -> tuple[Path | None, bool, bool]:
        root = workspace.root_of(path)
        return (root.path if root is not None else None, *_file_too_deep(source.data))

    # (In a provisional check, the files read so far: see `Workspace.provisional`.)
    return merged_per_file_text(workspace, _TOO_DEEP_ROOTS, _FILE_TOO_DEEP, directives, merge)


def _file_too_deep(data: bytes) -> tuple[bool, bool]:
    """(whether the text suppresses TS2589, whether one such directive is not on a function reference)."""
    suppresses = False
    for directive in _TOO_DEEP.finditer(data):
        suppresses = True
        if _FUNCTION_REFERENCE.search(_directed_line(data, directive.end())) is None:
            return True, True
    return suppresses, False


# Names a package gives an app to type its functions' `ctx` or its data model with: custom
# function builders (`customQuery(query, …)`, convex-helpers), their context type, an ents
# schema and its documents (convex-ents).
_PACKAGE_TYPING_NAMES = frozenset(
    {
        b"customQuery",
        b"customMutation",
        b"customAction",
        b"zCustomQuery",
        b"zCustomMutation",
        b"zCustomAction",
        b"CustomCtx",
        b"defineEntSchema",
        b"defineEnt",
        b"entsTableFactory",
        b"GenericEnt",
        b"GenericEntWriter",
    }
)
_NAMED_IMPORT = re.compile(rb"""\bimport\s+(?:type\s+)?\{([^}]*)\}\s*from\s*["']([^"']+)["']""")
_TYPED_BY_PACKAGE: MemoKey[tuple[int, frozenset[Path]]] = MemoKey("roots typed through a package")
# path -> (the text read, (its Convex root, whether it imports such a name)), kept with the text.
_FILE_TYPED_BY_PACKAGE: MemoKey[dict[Path, tuple[bytes, tuple[Path | None, bool]]]] = MemoKey(
    "a file's imports of package typing"
)


def typed_by_package(workspace: Workspace, source: SourceFile) -> bool:
    """Whether the file's Convex root types its functions' `ctx` or its data model through a
    package (`customQuery` from convex-helpers, `defineEntSchema` from convex-ents). Where that
    package is not installed, tsc sees `any` for what it types (a handler's `ctx`, a document
    read through it): the app's own callbacks on those values are implicit `any`s then, and
    so would generated ones be (TS7006). Generated callbacks there write their item's type from
    the collection (`(row: (typeof rows)[number])`), which is right whether or not it is `any`."""
    root = workspace.root_of(source.path)
    if root is None:
        return False
    return root.path in _roots_typed_by_package(workspace)


def _roots_typed_by_package(workspace: Workspace) -> frozenset[Path]:
    """Merged from each file's imports, again only when a file changed since says something
    else (as `_too_deep_roots`: in the editor every keystroke is a revision)."""

    def imports(path: Path, source: SourceFile) -> tuple[Path | None, bool]:
        root = workspace.root_of(path)
        return (root.path if root is not None else None, _imports_package_typing(source.data))

    def merge(files: Iterator[tuple[Path | None, bool]]) -> frozenset[Path]:
        return frozenset(root for root, typed in files if root is not None and typed)

    return merged_per_file_text(workspace, _TYPED_BY_PACKAGE, _FILE_TYPED_BY_PACKAGE, imports, merge)


def _imports_package_typing(data: bytes) -> bool:
    """`import { customQuery } from "convex-helpers/server/customFunctions"`: one of the names
    above, from a package (not a relative path, an alias such as `@/…`, or `convex` itself)."""
    if b"import" not in data:
        return False
    for match in _NAMED_IMPORT.finditer(data):
        package = package_of(match.group(2).decode("utf-8", "replace"))
        if package is None or package == "convex":
            continue
        for spec in match.group(1).split(b","):
            name = spec.strip().removeprefix(b"type ").strip().split(b" as ")[0].strip()
            if name in _PACKAGE_TYPING_NAMES:
                return True
    return False


def item_type_query(collection: Node | None) -> str | None:
    """`(typeof posts)[number]`, the type of an item of a collection named by an identifier or
    a property path (`args.items`); None for anything else (a call, `this`, an optional chain),
    which a type query cannot name."""
    node = collection
    while node is not None and node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]  # (not `xs!` or `xs as T`: their type is not `typeof xs`)
    if node is None:
        return None
    current: Node | None = node
    while current is not None and current.type == "member_expression":
        if any(child.type == "optional_chain" for child in current.children):
            return None
        current = current.child_by_field_name("object")
    if current is None or current.type != "identifier":
        return None
    text = "".join(text_of(node).split())
    return f"(typeof {text})[number]"


def documents_loose(workspace: Workspace, source: SourceFile) -> bool:
    """Whether tsc types this file's documents loosely: its schema spreads tables from a
    package that is not installed while `convex` is (`engine.packages.uninstalled_spreads`),
    so the schema object, and with it every document's fields, is `any` there."""
    return bool(uninstalled_spreads(workspace.schema_for(source.path)))


def document_field(node: Node | None) -> bool:
    """`event.tags`, `doc.meta.items`: a property path from a value that is not the function's
    own typed arguments or context (`args.items`, `ctx.auth`), i.e. read from a document or
    built in the function."""
    current = unwrap(node)
    if current is None or current.type != "member_expression":
        return False
    while current is not None and current.type == "member_expression":
        current = current.child_by_field_name("object")
    return (
        current is not None
        and current.type == "identifier"
        and current.text not in (b"args", b"ctx", b"this")
    )


def untyped_root(node: Node | None) -> bool:
    """Whether an expression's value is `any` because it is read from a parameter typed `any`
    (see `untyped_parameter`): `ctx.db`, `args.items`, `rows[0]`, `ctx.db.query("t").collect()`,
    `(await …).filter(…)`, or a `const` initialised from one (`const rows = await
    ctx.db.query(…).collect()` under `ctx: any`), followed a few steps."""
    return _untyped(node, 3)


def _unwrap(node: Node | None) -> Node | None:
    """`unwrap`, but a cast to `any` is kept (what it casts is `any` from there on)."""
    while node is not None and node.type in _WRAPPERS:
        if node.type in ("as_expression", "type_assertion") and _cast_to_any(node):
            return node
        inner = next((c for c in node.named_children if c.type != "comment"), None)
        if node.type == "type_assertion":  # `<T>x`: the expression comes after the type
            inner = node.named_children[-1] if node.named_children else None
        if inner is None:
            return node
        node = inner
    return node


_WRAPPERS = frozenset(
    {
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
    }
)


def _untyped(node: Node | None, depth: int) -> bool:
    current = _unwrap(node)
    while current is not None:
        if current.type in ("as_expression", "type_assertion"):
            return True  # `(ctx.db as any).get(…)`: the app casts it to `any` itself
        if current.type == "await_expression":
            current = current.named_children[0] if current.named_children else None
        elif current.type == "call_expression":
            current = current.child_by_field_name("function")
        elif current.type in ("member_expression", "subscript_expression"):
            current = current.child_by_field_name("object")
        else:
            break
        current = _unwrap(current)
    if current is None or current.type != "identifier":
        return False
    name = current.text.decode() if current.text else ""
    if untyped_parameter(current, name):
        return True
    if depth <= 0:
        return False
    value = _untyped_const_value(current, name)
    return value is not None and _untyped(value, depth - 1)


def _cast_to_any(cast: Node) -> bool:
    """`x as any` / `<any>x`."""
    written = [c for c in cast.named_children if c.type not in ("comment",)]
    return len(written) >= 2 and (
        written[-1].text == b"any" if cast.type == "as_expression" else written[0].text == b"any"
    )


# Query methods whose callback TypeScript types from the db handle (`(q) => q.eq(…)`).
_BUILDER_METHODS = frozenset({b"withIndex", b"withSearchIndex", b"filter"})


def builder_said_any(node: Node | None) -> bool:
    """Whether the app's own query that produced this value says its range or filter builder is
    `any` (`ctx.db.query("t").withIndex("i", (q: any) => …).take(n)`, or a `const` initialised
    from one, followed a few steps): the app wrote it because its db handle is not typed there
    (a builder package its tsc does not see), so the documents may be `any` too, and a bare
    callback on them an implicit `any` (TS7006). Unlike `untyped_root` this is not proof: the
    handle may be typed, and the annotation a habit."""
    return _builder_said_any(node, 3)


def _builder_said_any(node: Node | None, depth: int) -> bool:
    current = unwrap(node)
    while current is not None:
        if current.type == "await_expression":
            current = current.named_children[0] if current.named_children else None
        elif current.type == "call_expression":
            callee = unwrap(current.child_by_field_name("function"))
            method = (
                callee.child_by_field_name("property")
                if callee is not None and callee.type == "member_expression"
                else None
            )
            if method is not None and method.text in _BUILDER_METHODS and _any_callback(current):
                return True
            current = callee
        elif current.type in ("member_expression", "subscript_expression"):
            current = current.child_by_field_name("object")
        else:
            break
        current = unwrap(current)
    if current is None or current.type != "identifier" or depth <= 0:
        return False
    value = _untyped_const_value(current, current.text.decode() if current.text else "")
    return value is not None and _builder_said_any(value, depth - 1)


def _any_callback(call: Node) -> bool:
    arguments = call.child_by_field_name("arguments")
    for argument in arguments.named_children if arguments is not None else ():
        if argument.type in ("arrow_function", "function_expression"):
            params = function_params(argument)
            if params and params[0].type.endswith("_parameter") and _annotation(params[0]) == "any":
                return True
    return False


def read_from_db(node: Node | None) -> bool:
    """Whether an expression's value provably has the data model's types: documents read
    through a typed db handle (`ctx.db.query("t")….take(n)`, `ctx.db.get(id)` with `ctx`
    typed or contextually typed), or a copy of them (`rows.filter(…)`, `rows.slice(…)`,
    `rows[0]`), or a `const` initialised from one, followed a few steps. False when unknown
    (a helper's result, a function argument: `args.items` may be a `v.any()`)."""
    return _read_from_db(node, 3)


def _read_from_db(node: Node | None, depth: int) -> bool:
    current = unwrap(node)
    read = False
    while current is not None:
        if current.type == "await_expression":
            current = current.named_children[0] if current.named_children else None
        elif current.type == "call_expression":
            callee = unwrap(current.child_by_field_name("function"))
            if callee is None or callee.type != "member_expression":
                return False  # `load(ctx)`: a function's own return type, unknown here
            owner = unwrap(callee.child_by_field_name("object"))
            method = callee.child_by_field_name("property")
            if (
                method is not None
                and method.text in (b"query", b"get")
                and owner is not None
                and _is_db(owner)
            ):
                read = True
            current = callee
        elif current.type in ("member_expression", "subscript_expression"):
            current = current.child_by_field_name("object")
        else:
            break
        current = unwrap(current)
    if current is None or current.type != "identifier":
        return False
    name = current.text.decode() if current.text else ""
    if read:
        return not untyped_parameter(current, name)
    if depth <= 0:
        return False
    value = _untyped_const_value(current, name)
    return value is not None and _read_from_db(value, depth - 1)


def _untyped_const_value(identifier: Node, name: str) -> Node | None:
    """The initial value of the variable `identifier` names, when it is declared alone and with
    no type annotation (a declared type says what the value is, whatever it was built from)."""
    from convex_xray.rules.support.value_types import (
        binding_of,
    )  # (value_types is the bigger module)

    found = binding_of(identifier, name)
    if found is None or found[0] != "declarator":
        return None
    declarator = found[1]
    pattern = declarator.child_by_field_name("name")
    if (
        pattern is None
        or pattern.type != "identifier"
        or declarator.child_by_field_name("type") is not None
    ):
        return None
    return declarator.child_by_field_name("value")


def _is_db(node: Node) -> bool:
    """`ctx.db`, `db` (a handle passed on), `this.ctx.db`."""
    if node.type == "identifier":
        return node.text == b"db"
    return (
        node.type == "member_expression"
        and (prop := node.child_by_field_name("property")) is not None
        and prop.text == b"db"
    )
