"""Whether a name is typed `any`, so that callbacks the fixes generate on it get no type.

TypeScript gives a callback's parameters their types from the call (`xs.map((x) => …)`,
`ctx.db.query("t").withIndex("i", (q) => …)`). When the receiver is `any`, there is nothing to
give: under `strict` a new `(x) =>` is an implicit `any` (TS7006) where the app's own code
says `(x: any) =>`. The fixes ask here, and annotate only then.
"""

from __future__ import annotations

from tree_sitter import Node

from convex_xray.engine.syntax import function_params, param_pattern, param_type, pattern_names

_FUNCTIONS = frozenset(
    {"arrow_function", "function_expression", "function_declaration", "method_definition", "generator_function_declaration", "function"}
)
# Where a function gets its parameter types from the code around it.
_CONTEXTUAL = frozenset({"arguments", "pair", "variable_declarator", "assignment_expression", "return_statement", "parenthesized_expression"})
_MAX_DEPTH = 256


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
