"""Whether a name is typed `any`, so that callbacks the fixes generate on it get no type.

TypeScript gives a callback's parameters their types from the call (`xs.map((x) => …)`,
`ctx.db.query("t").withIndex("i", (q) => …)`). When the receiver is `any`, there is nothing to
give: under `strict` a new `(x) =>` is an implicit `any` (TS7006) where the app's own code
says `(x: any) =>`. The fixes ask here, and annotate only then.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import (
    function_params,
    param_pattern,
    param_type,
    pattern_names,
    unwrap,
)

_FUNCTIONS = frozenset(
    {"arrow_function", "function_expression", "function_declaration", "method_definition", "generator_function_declaration", "function"}
)
# Where a function gets its parameter types from the code around it.
_CONTEXTUAL = frozenset({"arguments", "pair", "variable_declarator", "assignment_expression", "return_statement", "parenthesized_expression"})
_MAX_DEPTH = 256
# A directive the app wrote because TypeScript lost contextual types in the file: an implicit
# `any` (TS7006/TS7031), or a type instantiation too deep (TS2589), after which callbacks on
# what it typed get no parameter types either.
_LOST_TYPES = re.compile(rb"@ts-(?:expect-error|ignore)\b[^\n]*(?:TS7006|TS7031|TS2589|implicit)", re.IGNORECASE)


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


def types_lost(source: SourceFile) -> bool:
    """Whether the app says TypeScript loses contextual types in this file (`// @ts-expect-error
    TS7006` above its own callbacks, or TS2589 on its functions). In a program at the
    instantiation-depth limit, a callback tsc types when the file is checked alone gets no type
    in the whole program; generated callbacks there say `(x: any)` as the app's own must."""
    return _LOST_TYPES.search(source.data) is not None


def untyped_root(node: Node | None) -> bool:
    """Whether an expression (`ctx.db`, `args.items`, `rows[0]`) starts at a parameter typed
    `any` (see `untyped_parameter`), so everything read from it is `any`."""
    root = unwrap(node)
    while root is not None and root.type in ("member_expression", "subscript_expression"):
        root = unwrap(root.child_by_field_name("object"))
    return root is not None and root.type == "identifier" and untyped_parameter(root, root.text.decode() if root.text else "")
