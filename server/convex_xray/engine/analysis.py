"""Builds the Convex code model of one file from its tree-sitter tree.

Candidate nodes are found with tree-sitter queries (run in C); Python only looks at
those candidates and walks up their ancestors to learn the enclosing function and the
iteration contexts. No full-tree walk in Python.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import cast

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine.model import (
    TERMINALS,
    ChainStep,
    DbRead,
    FetchCall,
    FileModel,
    FilterAtom,
    FunctionKind,
    FunctionModel,
    HelperCall,
    ImportBinding,
    IndexRange,
    IndexRef,
    Loop,
    QueryChain,
    RunCall,
    ScheduleCall,
)
from convex_xray.engine.source import SourceFile

STANDARD_BUILDERS: dict[str, FunctionKind] = {
    "query": FunctionKind.QUERY,
    "mutation": FunctionKind.MUTATION,
    "action": FunctionKind.ACTION,
    "internalQuery": FunctionKind.INTERNAL_QUERY,
    "internalMutation": FunctionKind.INTERNAL_MUTATION,
    "internalAction": FunctionKind.INTERNAL_ACTION,
    "httpAction": FunctionKind.HTTP_ACTION,
    "queryGeneric": FunctionKind.QUERY,
    "mutationGeneric": FunctionKind.MUTATION,
    "actionGeneric": FunctionKind.ACTION,
    "internalQueryGeneric": FunctionKind.INTERNAL_QUERY,
    "internalMutationGeneric": FunctionKind.INTERNAL_MUTATION,
    "internalActionGeneric": FunctionKind.INTERNAL_ACTION,
    "httpActionGeneric": FunctionKind.HTTP_ACTION,
}

# convex-helpers and friends: `const authedQuery = customQuery(query, ...)`.
CUSTOM_BUILDER_FACTORIES: dict[str, FunctionKind] = {
    "customQuery": FunctionKind.QUERY,
    "customMutation": FunctionKind.MUTATION,
    "customAction": FunctionKind.ACTION,
    "zCustomQuery": FunctionKind.QUERY,
    "zCustomMutation": FunctionKind.MUTATION,
    "zCustomAction": FunctionKind.ACTION,
}

# Array methods whose callback runs once per element.
ITERATION_METHODS = frozenset(
    {
        "map",
        "forEach",
        "flatMap",
        "filter",
        "reduce",
        "reduceRight",
        "some",
        "every",
        "find",
        "findIndex",
        "findLast",
        "findLastIndex",
    }
)

CTX_TYPE_RE = re.compile(
    r"\b(?:Generic)?(?:Query|Mutation|Action)Ctx\b|\bGenericActionCtx\b|\bRunQueryCtx\b"
)
DB_TYPE_RE = re.compile(r"\b(?:Generic)?Database(?:Reader|Writer)\b")
DEFAULT_CTX_NAMES = frozenset({"ctx", "context"})
SMALL_LITERAL_LIMIT = 8
FUNCTION_TYPES = frozenset(
    {"arrow_function", "function_expression", "function_declaration", "method_definition",
     "generator_function_declaration", "generator_function"}
)
LOOP_TYPES = frozenset({"for_in_statement", "for_statement", "while_statement", "do_statement"})

# Member calls whose method name can matter. Filtering by name in the query keeps the other
# ~80% of member calls (`q.eq`, `v.string`, `out.push`...) from ever reaching Python.
MEMBER_METHODS = frozenset(
    {
        "query",
        "get",
        "runQuery",
        "runMutation",
        "runAction",
        "runAfter",
        "runAt",
        "vectorSearch",
        "from",
        "post",
        "put",
        "patch",
        "delete",
        "request",
        *ITERATION_METHODS,
    }
)

_QUERY_SOURCE = f"""
((call_expression
  function: (member_expression object: (_) @object property: (property_identifier) @method)
  arguments: (arguments) @args) @member_call
 (#any-of? @method {" ".join(f'"{m}"' for m in sorted(MEMBER_METHODS))}))
(call_expression function: (identifier) @callee arguments: (arguments) @args) @plain_call
(call_expression function: (member_expression) arguments: (arguments (identifier) @member_arg))
"""


@cache
def _queries(language: Language) -> Query:
    return Query(language, _QUERY_SOURCE)


@cache
def _namespace_query(language: Language, names: tuple[str, ...]) -> Query:
    """Member calls on `import * as X` namespaces (`Users.load(ctx, id)`), any method name."""
    quoted = " ".join(f'"{n}"' for n in names)
    return Query(
        language,
        f"""((call_expression
  function: (member_expression object: (identifier) @object property: (property_identifier) @method)
  arguments: (arguments) @args) @member_call
 (#any-of? @object {quoted}))""",
    )


@dataclass
class AnalysisOptions:
    """Per-project knobs for the analyzer (from convex-xray.toml)."""

    extra_builders: dict[str, FunctionKind] = field(default_factory=dict)
    # A file whose analysis takes longer than this is skipped with a message.
    time_budget_s: float = 5.0


class AnalysisBudgetExceeded(Exception):
    """The file is too pathological to analyse within the time budget."""


def text_of(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def string_value(node: Node | None) -> str | None:
    """The value of a string literal (or a template literal without substitutions)."""
    if node is None:
        return None
    if node.type == "string":
        return "".join(text_of(c) for c in node.named_children if c.type in ("string_fragment", "escape_sequence"))
    if node.type == "template_string":
        if any(c.type == "template_substitution" for c in node.named_children):
            return None
        return text_of(node)[1:-1]
    return None


def unwrap(node: Node | None) -> Node | None:
    """Strip parentheses, `await`-free type wrappers (`x as T`, `x!`, `x satisfies T`)."""
    while node is not None and node.type in (
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
    ):
        inner = node.named_children[0] if node.named_children else None
        if inner is None:
            break
        node = inner
    return node


def call_args(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return []
    return [c for c in arguments.named_children if c.type != "comment"]


def member_parts(node: Node | None) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None when not a plain dotted name."""
    parts: list[str] = []
    while node is not None:
        if node.type == "identifier" or node.type == "this":
            parts.append(text_of(node))
            return list(reversed(parts))
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            parts.append(text_of(prop))
            node = node.child_by_field_name("object")
            continue
        return None
    return None


def pattern_names(node: Node | None) -> list[str]:
    """Identifiers bound by a binding pattern (`x`, `{ a, b: c }`, `[x, y]`)."""
    if node is None:
        return []
    if node.type in ("identifier", "shorthand_property_identifier_pattern"):
        return [text_of(node)]
    names: list[str] = []
    for child in node.named_children:
        if node.type == "pair_pattern" and child == node.child_by_field_name("key"):
            continue
        names.extend(pattern_names(child))
    return names


def function_body(function: Node) -> Node | None:
    return function.child_by_field_name("body")


def returned_expression(function: Node) -> Node | None:
    """What a callback returns: its expression body, or the argument of the single `return`
    of its block body (None otherwise)."""
    body = function.child_by_field_name("body")
    if body is None or body.type != "statement_block":
        return body
    returns = [c for c in body.named_children if c.type == "return_statement"]
    if len(returns) != 1 or not returns[0].named_children:
        return None
    return returns[0].named_children[0]


def function_params(function: Node) -> list[Node]:
    params = function.child_by_field_name("parameters")
    if params is not None:
        return [p for p in params.named_children if p.type != "comment"]
    single = function.child_by_field_name("parameter")
    return [single] if single is not None else []


def param_pattern(param: Node) -> Node | None:
    if param.type in ("required_parameter", "optional_parameter"):
        return param.child_by_field_name("pattern")
    return param


def param_type(param: Node) -> str:
    annotation = param.child_by_field_name("type") if param.type.endswith("_parameter") else None
    return text_of(annotation)


class FileAnalyzer:
    """One pass over one file. Use `analyze_file`."""

    def __init__(self, source: SourceFile, options: AnalysisOptions) -> None:
        self.source = source
        self.options = options
        self.model = FileModel(source)
        self._functions_by_node: dict[int, FunctionModel] = {}
        self._loop_cache: dict[int, Loop | None] = {}
        self._chain_nodes: set[int] = set()
        self._top_consts: dict[str, Node] = {}
        self._context_memo: dict[int, tuple[FunctionModel | None, tuple[Loop, ...]]] = {}
        self._deadline = time.monotonic() + options.time_budget_s

    # -- entry point ---------------------------------------------------------------------

    def run(self) -> FileModel:
        root = self.source.root
        self._collect_top_level(root)
        captures = QueryCursor(_queries(self.source.language)).matches(root)
        member_calls: list[tuple[Node, Node, Node]] = []
        plain_calls: list[tuple[Node, Node]] = []
        member_args: list[Node] = []
        for _pattern, capture in captures:
            if "member_call" in capture:
                member_calls.append(
                    (capture["member_call"][0], capture["object"][0], capture["method"][0])
                )
            elif "plain_call" in capture:
                plain_calls.append((capture["plain_call"][0], capture["callee"][0]))
            elif "member_arg" in capture:
                member_args.append(capture["member_arg"][0])
        namespaces = tuple(sorted(b.local for b in self.model.imports.values() if b.imported == "*"))
        if namespaces:
            cursor = QueryCursor(_namespace_query(self.source.language, namespaces))
            for _pattern, capture in cursor.matches(root):
                if text_of(capture["method"][0]) not in MEMBER_METHODS:  # those came above
                    member_calls.append(
                        (capture["member_call"][0], capture["object"][0], capture["method"][0])
                    )
        self._collect_local_functions(plain_calls, member_args)
        for call, obj, method in member_calls:
            self._member_call(call, obj, text_of(method))
        for call, callee in plain_calls:
            self._plain_call(call, text_of(callee))
        # Source order everywhere (candidates arrive grouped by query pattern).
        for events in (self.model.reads, self.model.run_calls, self.model.schedules, self.model.fetches, self.model.helper_calls):
            events.sort(key=lambda e: e.start)
        for function in self.model.functions:
            for events in (function.reads, function.run_calls, function.schedules, function.fetches, function.helper_calls):
                events.sort(key=lambda e: e.start)
        self.model.chains.sort(key=lambda c: c.root.start_byte)
        self.model.index_refs.sort(key=lambda r: r.node.start_byte)
        return self.model

    # -- functions -----------------------------------------------------------------------

    def _collect_top_level(self, root: Node) -> None:
        for statement in root.named_children:
            exported = False
            node = statement
            if node.type == "export_statement":
                exported = True
                declaration = node.child_by_field_name("declaration")
                if declaration is None:
                    value = node.child_by_field_name("value")
                    if value is not None:
                        self._export_default_value(value, node)
                    else:
                        self._collect_reexports(node)
                    continue
                if declaration.type in ("function_declaration", "generator_function_declaration") and any(
                    c.type == "default" for c in node.children
                ):  # export default function name() {}
                    name = declaration.child_by_field_name("name")
                    function = self._add_function(text_of(name), FunctionKind.HELPER, declaration, name, node, True)
                    self.model.exports["default"] = function
                    continue
                node = declaration
            if node.type == "import_statement":
                self._collect_import(node)
            elif node.type in ("function_declaration", "generator_function_declaration"):
                name = node.child_by_field_name("name")
                self._add_function(text_of(name), FunctionKind.HELPER, node, name, statement, exported)
            elif node.type in ("lexical_declaration", "variable_declaration"):
                for declarator in node.named_children:
                    if declarator.type != "variable_declarator":
                        continue
                    name = declarator.child_by_field_name("name")
                    value = unwrap(declarator.child_by_field_name("value"))
                    if name is None or value is None or name.type != "identifier":
                        continue
                    self._top_consts[text_of(name)] = value
                    if value.type in ("arrow_function", "function_expression"):
                        self._add_function(text_of(name), FunctionKind.HELPER, value, name, statement, exported)
                    elif value.type == "call_expression":
                        self._maybe_builder_definition(text_of(name), value)
                        self._maybe_convex_function(text_of(name), name, value, statement, exported=exported)

    def _export_default_value(self, value: Node, statement: Node) -> None:
        value = unwrap(value) or value
        if value.type in ("arrow_function", "function_expression"):
            self._add_function("default", FunctionKind.HELPER, value, None, statement, True)
        elif value.type == "identifier":
            self.model.reexports["default"] = (None, text_of(value))
        else:
            self._maybe_convex_function("default", None, value, statement, exported=True)

    def _collect_reexports(self, node: Node) -> None:
        """`export { a as b }`, `export { a } from "./m"`, `export * from "./m"`."""
        module = string_value(node.child_by_field_name("source"))
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        if clause is not None:
            for spec in clause.named_children:
                if spec.type != "export_specifier":
                    continue
                name = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias")
                local = string_value(name) or text_of(name)
                self.model.reexports[string_value(alias) or text_of(alias or name)] = (module, local)
            return
        namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if module is None:
            return
        if namespace is not None:
            names = [c for c in namespace.named_children if c.type in ("identifier", "string")]
            if names:
                self.model.reexports[string_value(names[0]) or text_of(names[0])] = (module, "*")
        elif any(c.type == "*" for c in node.children):
            self.model.star_exports.append(module)

    def _collect_import(self, node: Node) -> None:
        source_node = node.child_by_field_name("source")
        module = string_value(source_node)
        if module is None:
            return
        for clause in node.named_children:
            if clause.type != "import_clause":
                continue
            for part in clause.named_children:
                if part.type == "identifier":
                    local = text_of(part)
                    self.model.imports[local] = ImportBinding(local, module, "default")
                elif part.type == "namespace_import":
                    for ident in part.named_children:
                        if ident.type == "identifier":
                            local = text_of(ident)
                            self.model.imports[local] = ImportBinding(local, module, "*")
                elif part.type == "named_imports":
                    for spec in part.named_children:
                        if spec.type != "import_specifier":
                            continue
                        name = spec.child_by_field_name("name")
                        alias = spec.child_by_field_name("alias")
                        local = text_of(alias or name)
                        self.model.imports[local] = ImportBinding(local, module, text_of(name))

    def _builder_kind(self, callee: Node) -> tuple[str, FunctionKind] | None:
        parts = member_parts(callee)
        if not parts:
            return None
        name = parts[-1] if len(parts) <= 2 else ""
        known = {**STANDARD_BUILDERS, **self.options.extra_builders, **self.model.builders}
        if name in known:
            return name, known[name]
        return None

    def _maybe_builder_definition(self, name: str, call: Node) -> None:
        callee = call.child_by_field_name("function")
        factory = text_of(callee)
        if factory not in CUSTOM_BUILDER_FACTORIES:
            return
        kind = CUSTOM_BUILDER_FACTORIES[factory]
        args = call_args(call)
        if args:
            base = STANDARD_BUILDERS.get(text_of(args[0]))
            if base is not None:
                kind = base
        self.model.builders[name] = kind

    def _maybe_convex_function(
        self, name: str, name_node: Node | None, call: Node, definition: Node, *, exported: bool
    ) -> None:
        call = unwrap(call) or call
        if call.type != "call_expression":
            return
        callee = call.child_by_field_name("function")
        if callee is None:
            return
        resolved = self._builder_kind(callee)
        args = call_args(call)
        if not args:
            return
        first = unwrap(args[0])
        handler: Node | None = None
        config: Node | None = None
        if first is not None and first.type == "object":
            config = first
            for member in first.named_children:
                if member.type == "pair" and text_of(member.child_by_field_name("key")) == "handler":
                    handler = unwrap(member.child_by_field_name("value"))
                elif member.type == "method_definition" and text_of(member.child_by_field_name("name")) == "handler":
                    handler = member
        elif first is not None and first.type in ("arrow_function", "function_expression"):
            handler = first
        if handler is None or handler.type not in FUNCTION_TYPES:
            return
        if resolved is None:
            # An unknown builder with a `{ args, handler }` object is still a Convex function
            # (custom wrappers from other packages); infer its kind from its name.
            if config is None:
                return
            builder = text_of(callee)
            lowered = builder.lower()
            if "httpaction" in lowered:
                kind = FunctionKind.HTTP_ACTION
            elif "action" in lowered:
                kind = FunctionKind.ACTION
            elif "mutation" in lowered:
                kind = FunctionKind.MUTATION
            elif "query" in lowered:
                kind = FunctionKind.QUERY
            else:
                return
        else:
            builder, kind = resolved
        function = self._add_function(name, kind, handler, name_node, definition, exported)
        function.builder = builder
        if config is not None:
            for member in config.named_children:
                if member.type == "pair" and text_of(member.child_by_field_name("key")) == "args":
                    value = unwrap(member.child_by_field_name("value"))
                    if value is not None and value.type == "call_expression":  # v.object({...})
                        inner = call_args(value)
                        value = unwrap(inner[0]) if inner else None
                    if value is not None and value.type == "object":
                        for pair in value.named_children:
                            key = pair.child_by_field_name("key") if pair.type == "pair" else pair
                            key_text = text_of(key) if key is not None else ""
                            key_text = string_value(key) or key_text
                            if key_text:
                                function.args_names.append(key_text)
            function.has_pagination_opts = "paginationOpts" in function.args_names
        params = function_params(handler)
        if len(params) >= 2:
            pattern = param_pattern(params[1])
            if pattern is not None and pattern.type == "identifier":
                function.args_param = text_of(pattern)

    def _add_function(
        self,
        name: str,
        kind: FunctionKind,
        node: Node,
        name_node: Node | None,
        definition: Node,
        exported: bool,
        parent: FunctionModel | None = None,
    ) -> FunctionModel:
        function = FunctionModel(
            name=name,
            kind=kind,
            node=node,
            name_node=name_node,
            definition=definition,
            exported=exported,
            parent=parent,
        )
        self._bind_handles(function)
        self._functions_by_node[node.id] = function
        self.model.functions.append(function)
        if exported and parent is None:
            self.model.exports[name] = function
        return function

    def _bind_handles(self, function: FunctionModel) -> None:
        """Which names in this function are a ctx and which a db handle."""
        if function.parent is not None:
            function.ctx_names |= function.parent.ctx_names
            function.db_names |= function.parent.db_names
        params = function_params(function.node)
        for index, param in enumerate(params):
            pattern = param_pattern(param)
            annotation = param_type(param)
            if pattern is None:
                continue
            names = pattern_names(pattern)
            if pattern.type == "identifier":
                function.params.append(names[0])
                if DB_TYPE_RE.search(annotation) or names[0] == "db":
                    function.db_names.add(names[0])
                elif (
                    CTX_TYPE_RE.search(annotation)
                    or names[0] in DEFAULT_CTX_NAMES
                    or (index == 0 and function.kind.is_convex)
                ):
                    function.ctx_names.add(names[0])
            elif pattern.type == "object_pattern":
                is_ctx = CTX_TYPE_RE.search(annotation) or (index == 0 and function.kind.is_convex)
                for prop in pattern.named_children:
                    if prop.type == "shorthand_property_identifier_pattern" and text_of(prop) == "db":
                        function.db_names.add("db")
                    elif prop.type == "pair_pattern" and text_of(prop.child_by_field_name("key")) == "db":
                        function.db_names.update(pattern_names(prop.child_by_field_name("value")))
                if is_ctx:
                    function.params.extend(names)
        body = function_body(function.node)
        if body is None or body.type != "statement_block":
            return
        for statement in body.named_children:
            if statement.type not in ("lexical_declaration", "variable_declaration"):
                continue
            for declarator in statement.named_children:
                if declarator.type != "variable_declarator":
                    continue
                name = declarator.child_by_field_name("name")
                value = unwrap(declarator.child_by_field_name("value"))
                if name is None or value is None:
                    continue
                if name.type == "identifier" and self.is_db(value, function):  # const db = ctx.db
                    function.db_names.add(text_of(name))
                elif name.type == "identifier" and text_of(name) == "db":
                    function.not_db_names.add("db")  # const db = new Pool(): not Convex's
                elif name.type == "object_pattern" and self.is_ctx(value, function):
                    for prop in name.named_children:  # const { db } = ctx
                        if prop.type == "shorthand_property_identifier_pattern" and text_of(prop) == "db":
                            function.db_names.add("db")
                        elif prop.type == "pair_pattern" and text_of(prop.child_by_field_name("key")) == "db":
                            function.db_names.update(pattern_names(prop.child_by_field_name("value")))

    def _collect_local_functions(self, plain_calls: list[tuple[Node, Node]], member_args: list[Node]) -> None:
        """Named closures inside functions (`const enrich = async (x) => ...`) become local
        helpers, so `xs.map(enrich)` or `for (...) await enrich(x)` can be followed. Only
        closures that are called or passed somewhere are worth it."""
        seen: set[int] = {hash(text_of(arg)) for arg in member_args}
        for call, callee in plain_calls:
            seen.add(hash(text_of(callee)))
            for arg in call_args(call):
                if arg.type == "identifier":
                    seen.add(hash(text_of(arg)))
        for function in list(self.model.functions):
            body = function_body(function.node)
            if body is None:
                continue
            self._local_functions_in(body, function, seen)

    def _local_functions_in(self, body: Node, parent: FunctionModel, referenced: set[int]) -> None:
        if body.type != "statement_block":
            return
        for statement in body.named_children:
            if statement.type in ("lexical_declaration", "variable_declaration"):
                for declarator in statement.named_children:
                    if declarator.type != "variable_declarator":
                        continue
                    name = declarator.child_by_field_name("name")
                    value = unwrap(declarator.child_by_field_name("value"))
                    if (
                        name is not None
                        and value is not None
                        and name.type == "identifier"
                        and value.type in ("arrow_function", "function_expression")
                        and hash(text_of(name)) in referenced
                    ):
                        local = self._add_function(
                            text_of(name), FunctionKind.HELPER, value, name, declarator, False, parent
                        )
                        self._local_functions_in(function_body(value) or value, local, referenced)
            elif statement.type == "function_declaration":
                name = statement.child_by_field_name("name")
                local = self._add_function(
                    text_of(name), FunctionKind.HELPER, statement, name, statement, False, parent
                )
                self._local_functions_in(function_body(statement) or statement, local, referenced)

    # -- handles -------------------------------------------------------------------------

    def is_ctx(self, node: Node | None, function: FunctionModel | None) -> bool:
        node = unwrap(node)
        if node is None:
            return False
        if node.type == "identifier":
            name = text_of(node)
            return name in DEFAULT_CTX_NAMES or (function is not None and name in function.ctx_names)
        return False

    def is_db(self, node: Node | None, function: FunctionModel | None) -> bool:
        """`ctx.db`, `db` (a bound handle), `this.db`, `args.ctx.db`."""
        node = unwrap(node)
        if node is None:
            return False
        if node.type == "identifier":
            name = text_of(node)
            if function is not None and name in function.db_names:
                return True
            return name == "db" and not self._db_is_something_else(function)
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            return text_of(prop) == "db"
        return False

    def _db_is_something_else(self, function: FunctionModel | None) -> bool:
        """A `db` declared as something other than a Convex handle (`const db = drizzle(pool)`),
        in the function, an enclosing one, or the module."""
        scope = function
        while scope is not None:
            if "db" in scope.not_db_names:
                return True
            scope = scope.parent
        if "db" in self.model.imports:
            return True  # `import { db } from "./drizzle"`: Convex's handle only comes from ctx
        top = unwrap(self._top_consts.get("db"))
        if top is None or (top.type == "identifier" and text_of(top) == "db"):
            return False
        return not self.is_db(top, None)

    # -- context: owner function and loops ----------------------------------------------------

    def ancestors(self, node: Node) -> list[Node]:
        """`node`'s ancestors from the root down, then `node` itself (see `descend_path`)."""
        return descend_path(self.source.root, node, self._check_budget)

    def context_of(self, node: Node) -> tuple[FunctionModel | None, tuple[Loop, ...]]:
        """The function that owns `node` and the loops around it inside that function."""
        self._check_budget()
        known = self._context_memo.get(node.id)
        if known is not None:
            return known
        path = self.ancestors(node)
        owner: FunctionModel | None = None
        loops: tuple[Loop, ...] = ()
        for parent, child in itertools.pairwise(path):
            memo = self._context_memo.get(child.id)
            if memo is not None:
                owner, loops = memo
                continue
            function = self._functions_by_node.get(parent.id)
            if function is not None:
                owner, loops = function, ()
            elif parent.type in LOOP_TYPES or parent.type in FUNCTION_TYPES:
                loop = self._loop_for(parent, child)
                if loop is not None:
                    loops = (*loops, loop)
            self._context_memo[child.id] = (owner, loops)
        return owner, loops

    def _check_budget(self) -> None:
        if time.monotonic() > self._deadline:
            raise AnalysisBudgetExceeded(
                f"analysis took longer than {self.options.time_budget_s:g}s (pathologically nested code?); skipped"
            )

    def _loop_for(self, node: Node, child: Node) -> Loop | None:
        """The iteration context `node` gives to its descendant `child`, if any."""
        if node.type == "for_in_statement":
            right = node.child_by_field_name("right")
            left = node.child_by_field_name("left")
            if child.id in (right.id if right else -1, left.id if left else -1):
                return None
        elif node.type == "for_statement":
            initializer = node.child_by_field_name("initializer")
            if initializer is not None and child.id == initializer.id:
                return None
        elif node.type in FUNCTION_TYPES:
            pass
        cached = self._loop_cache.get(node.id, False)
        if cached is not False:
            return cast("Loop | None", cached)
        loop = self._build_loop(node)
        self._loop_cache[node.id] = loop
        return loop

    def _build_loop(self, node: Node) -> Loop | None:
        if node.type == "for_in_statement":
            right = node.child_by_field_name("right")
            left = node.child_by_field_name("left")
            body = node.child_by_field_name("body")
            is_await = any(c.type == "await" for c in node.children)
            operator = text_of(node.child_by_field_name("operator"))
            kind = "for-await" if is_await else ("for-in" if operator == "in" else "for-of")
            header_end = body.start_byte if body is not None else node.end_byte
            return Loop(
                kind=kind,
                node=node,
                header_start=node.start_byte,
                header_end=_trim_end(self.source, node.start_byte, header_end),
                collection=text_of(right) if right is not None else None,
                item_names=tuple(pattern_names(left)),
                concurrent=False,
                exempt=self._exemption(right, node),
                collection_node=right,
            )
        if node.type in ("for_statement", "while_statement", "do_statement"):
            body = node.child_by_field_name("body")
            kind = {"for_statement": "for", "while_statement": "while", "do_statement": "do"}[node.type]
            header_end = body.start_byte if body is not None and node.type != "do_statement" else node.start_byte + 2
            return Loop(
                kind=kind,
                node=node,
                header_start=node.start_byte,
                header_end=_trim_end(self.source, node.start_byte, header_end),
                collection=None,
                item_names=(),
                concurrent=False,
                exempt=None,
            )
        # A callback: is it the per-item function of an array method?
        arguments = node.parent
        if arguments is None or arguments.type != "arguments":
            return None
        call = arguments.parent
        if call is None or call.type != "call_expression":
            return None
        callee = call.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return None
        method = text_of(callee.child_by_field_name("property"))
        obj = callee.child_by_field_name("object")
        args = call_args(call)
        if method in ITERATION_METHODS and args and args[0].id == node.id:
            collection = obj
            kind = method
        elif method == "from" and text_of(obj) == "Array" and len(args) >= 2 and args[1].id == node.id:
            collection = args[0]
            kind = "Array.from"
        else:
            return None
        params = function_params(node)
        item_names = tuple(pattern_names(param_pattern(params[0]))) if params else ()
        in_promise_all = _inside_promise_all(call)
        # A callback cannot hold up the next element: the per-item work of all elements is
        # started together, unless an async `reduce` awaits the accumulator (a chain).
        concurrent = in_promise_all or kind not in ("reduce", "reduceRight") or not _awaits_param(node, params)
        property_node = callee.child_by_field_name("property")
        header_start = property_node.start_byte if property_node is not None else call.start_byte
        return Loop(
            kind=kind,
            node=node,
            header_start=header_start,
            header_end=arguments.start_byte + 1,
            collection=text_of(collection) if collection is not None else None,
            item_names=item_names,
            concurrent=concurrent,
            exempt=self._exemption(collection, node),
            collection_node=collection,
            in_promise_all=in_promise_all,
        )

    def _exemption(self, collection: Node | None, near: Node) -> str | None:
        """Per-item work over these collections is fine by design."""
        collection = unwrap(collection)
        if collection is None:
            return None
        resolved = self._resolve_const(collection, near)
        for candidate in (collection, resolved):
            via_const = candidate is resolved
            candidate = unwrap(candidate)
            if candidate is None:
                continue
            if candidate.type == "array":
                elements = [c for c in candidate.named_children if c.type != "comment"]
                if len(elements) == 1 and elements[0].type == "spread_element" and _is_new_set(elements[0].named_children[0] if elements[0].named_children else None):
                    return "deduplicated ids"
                small = len(elements) <= SMALL_LITERAL_LIMIT and all(e.type != "spread_element" for e in elements)
                if small and via_const:
                    # `const ids: Id[] = []` filled later with `.push` is not a small literal.
                    small = bool(elements) and not self._mutated(text_of(collection))
                if small:
                    return "small literal array"
            if candidate.type == "call_expression":
                callee = text_of(candidate.child_by_field_name("function"))
                args = call_args(candidate)
                if callee == "Array.from" and args and _is_new_set(args[0]):
                    return "deduplicated ids"
                if callee in ("Object.keys", "Object.values", "Object.entries") and args:
                    target = self._resolve_const(unwrap(args[0]), near) or unwrap(args[0])
                    if target is not None and target.type == "object" and len(target.named_children) <= SMALL_LITERAL_LIMIT:
                        return "small literal object"
                # `.keys()` of a Map/Set built from deduplicated ids
                if callee.endswith(".keys") or callee.endswith(".values"):
                    return None
            if _is_new_set(candidate):
                return "deduplicated ids"
        return None

    def _mutated(self, name: str) -> bool:
        """Whether the file grows or reorders an array named `name` in place."""
        pattern = re.compile(rf"\b{re.escape(name)}\s*\.\s*(?:push|unshift|splice|concat)\s*\(|\b{re.escape(name)}\s*\[[^\]]*\]\s*=[^=]")
        return bool(pattern.search(self.source.text))

    def _resolve_const(self, node: Node | None, near: Node) -> Node | None:
        """The initializer of a `const` named by `node`, in the enclosing blocks or the file."""
        if node is None or node.type != "identifier":
            return None
        name = text_of(node)
        scope = near.parent
        while scope is not None:
            if scope.type in ("statement_block", "program"):
                for statement in scope.named_children:
                    if statement.start_byte >= near.start_byte:
                        break
                    if statement.type == "lexical_declaration" and text_of(statement.child_by_field_name("kind")) == "const":
                        for declarator in statement.named_children:
                            if declarator.type == "variable_declarator" and text_of(declarator.child_by_field_name("name")) == name:
                                return unwrap(declarator.child_by_field_name("value"))
            scope = scope.parent
        top = self._top_consts.get(name)
        return unwrap(top) if top is not None else None

    def _awaited(self, node: Node) -> bool:
        parent = node.parent
        while parent is not None and parent.type in ("parenthesized_expression", "as_expression", "non_null_expression"):
            parent = parent.parent
        return parent is not None and parent.type == "await_expression"

    # -- calls ---------------------------------------------------------------------------

    def _member_call(self, call: Node, obj: Node, method: str) -> None:
        if method == "query":
            if call.id not in self._chain_nodes and self._is_db_in_context(obj, call):
                self._query_chain(call)
            return
        if method == "get" and self._is_db_in_context(obj, call):
            self._db_get(call)
            return
        if method in ("runQuery", "runMutation", "runAction"):
            function, loops = self.context_of(call)
            args = call_args(call)
            ref = args[0] if args else None
            event = RunCall(
                node=call,
                function=function,
                loops=loops,
                awaited=self._awaited(call),
                method=method,
                ref=text_of(ref) if ref is not None else None,
                ref_node=ref,
                args_node=args[1] if len(args) > 1 else None,
            )
            self.model.run_calls.append(event)
            if function is not None:
                function.run_calls.append(event)
            return
        if method in ("runAfter", "runAt") and text_of(obj).endswith("scheduler"):
            function, loops = self.context_of(call)
            args = call_args(call)
            schedule = ScheduleCall(
                node=call,
                function=function,
                loops=loops,
                awaited=self._awaited(call),
                method=method,
                ref=text_of(args[1]) if len(args) > 1 else None,
            )
            self.model.schedules.append(schedule)
            if function is not None:
                function.schedules.append(schedule)
            return
        if method == "vectorSearch":
            self._vector_search(call, obj)
            return
        if method in ITERATION_METHODS or method == "from":
            # `xs.map(enrich)`: a named function passed per item.
            args = call_args(call)
            index = 1 if method == "from" else 0
            if method == "from" and text_of(obj) != "Array":
                return
            if len(args) > index and args[index].type == "identifier":
                self._helper_call(call, text_of(args[index]), args, via_reference=True)
            return
        # Namespace helper: `Users.load(ctx, id)` where Users is `import * as Users`.
        binding = self.model.imports.get(text_of(obj)) if obj.type == "identifier" else None
        if binding is not None and binding.imported == "*":
            self._helper_call(call, f"{text_of(obj)}.{method}", call_args(call))
        elif method in ("get", "post", "put", "patch", "delete", "request") and text_of(obj) == "axios":
            self._fetch(call, f"axios.{method}")

    def _plain_call(self, call: Node, callee: str) -> None:
        if callee == "fetch":
            self._fetch(call, "fetch")
            return
        args = call_args(call)
        if callee in ("getManyFrom", "getOneFrom", "getOneFromOrThrow", "getManyVia", "getManyViaOrThrow", "getAll", "getAllOrThrow"):
            self._convex_helpers_read(call, callee, args)
            return
        if callee in STANDARD_BUILDERS or callee in self.model.builders or callee in self.options.extra_builders:
            return
        self._helper_call(call, callee, args)

    def _helper_call(self, call: Node, callee: str, args: list[Node], *, via_reference: bool = False) -> None:
        function, loops = self.context_of(call)
        if via_reference:
            passes = True  # closures capture ctx
        else:
            passes = any(self._carries_handle(a, function) for a in args)
        local = callee in {f.name for f in self.model.functions if f.parent is not None}
        if not passes and not local:
            return
        if via_reference:
            # The reference is called once per element of the array method's receiver.
            loop = self._reference_loop(call)
            if loop is not None:
                loops = (*loops, loop)
        event = HelperCall(
            node=call,
            function=function,
            loops=loops,
            awaited=self._awaited(call),
            callee=callee,
            passes_context=passes,
            via_reference=via_reference,
        )
        self.model.helper_calls.append(event)
        if function is not None:
            function.helper_calls.append(event)

    def _reference_loop(self, call: Node) -> Loop | None:
        callee = call.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return None
        method = text_of(callee.child_by_field_name("property"))
        obj = callee.child_by_field_name("object")
        args = call_args(call)
        collection = args[0] if method == "from" and args else obj
        in_promise_all = _inside_promise_all(call)
        prop = callee.child_by_field_name("property")
        arguments = call.child_by_field_name("arguments")
        return Loop(
            kind="Array.from" if method == "from" else method,
            node=call,
            header_start=prop.start_byte if prop is not None else call.start_byte,
            header_end=arguments.start_byte + 1 if arguments is not None else call.end_byte,
            collection=text_of(collection) if collection is not None else None,
            item_names=(),
            concurrent=True,
            exempt=self._exemption(collection, call),
            collection_node=collection,
            in_promise_all=in_promise_all,
        )

    def _carries_handle(self, arg: Node, function: FunctionModel | None) -> bool:
        """`ctx`, `db`, `ctx.db`, or an object literal carrying one (`{ ctx, id }`, `{ db: ctx.db }`)."""
        if self.is_ctx(arg, function) or self.is_db(arg, function):
            return True
        node = unwrap(arg)
        if node is None or node.type != "object":
            return False
        for member in node.named_children:
            if member.type == "shorthand_property_identifier":
                name = text_of(member)
                if name in DEFAULT_CTX_NAMES or name == "db" or (
                    function is not None and (name in function.ctx_names or name in function.db_names)
                ):
                    return True
            elif member.type == "pair":
                value = member.child_by_field_name("value")
                if self.is_ctx(value, function) or self.is_db(value, function):
                    return True
            elif (
                member.type == "spread_element"
                and member.named_children
                and self.is_ctx(member.named_children[0], function)
            ):
                return True
        return False

    def _vector_search(self, call: Node, obj: Node) -> None:
        """`ctx.vectorSearch("table", "index", {...})` names a vector index (actions only)."""
        function, _ = self.context_of(call)
        if not (self.is_ctx(obj, function) or text_of(obj).endswith("ctx")):
            return
        args = call_args(call)
        if len(args) < 2:
            return
        name = string_value(args[1])
        self.model.index_refs.append(
            IndexRef(
                table=string_value(args[0]),
                name=name,
                name_node=args[1] if name is not None else None,
                node=call,
                kind="vectorSearch",
            )
        )

    def _fetch(self, call: Node, callee: str) -> None:
        function, loops = self.context_of(call)
        args = call_args(call)
        init = args[1] if len(args) > 1 else None
        event = FetchCall(node=call, function=function, loops=loops, awaited=self._awaited(call), callee=callee, init_node=init)
        self.model.fetches.append(event)
        if function is not None:
            function.fetches.append(event)

    def _is_db_in_context(self, obj: Node, call: Node) -> bool:
        node = unwrap(obj)
        if node is None:
            return False
        if node.type == "member_expression":
            return text_of(node.child_by_field_name("property")) == "db"
        if node.type == "identifier":
            function, _ = self.context_of(call)
            return self.is_db(node, function)
        return False

    # -- reads ---------------------------------------------------------------------------

    def _db_get(self, call: Node) -> None:
        args = call_args(call)
        if not args:
            return
        table: str | None = None
        id_node = args[0]
        if len(args) >= 2 and string_value(args[0]) is not None:
            table = string_value(args[0])
            id_node = args[1]
        function, loops = self.context_of(call)
        read = DbRead(
            node=call,
            function=function,
            loops=loops,
            awaited=self._awaited(call),
            kind="get",
            table=table,
            id_node=id_node,
        )
        self._record_read(read)

    def _record_read(self, read: DbRead) -> None:
        self.model.reads.append(read)
        if read.function is not None:
            read.function.reads.append(read)

    def _convex_helpers_read(self, call: Node, callee: str, args: list[Node]) -> None:
        """convex-helpers relationship helpers: `getManyFrom(db, "table", "index", value)`."""
        function, loops = self.context_of(call)
        if not args or not self.is_db(args[0], function):
            return
        table = string_value(args[1]) if len(args) > 1 else None
        if callee in ("getManyFrom", "getOneFrom", "getOneFromOrThrow") and len(args) > 2:
            name = string_value(args[2])
            self.model.index_refs.append(
                IndexRef(table=table, name=name, name_node=args[2] if name else None, node=call, kind="helper")
            )
        elif callee in ("getManyVia", "getManyViaOrThrow") and len(args) > 3:
            name = string_value(args[3])
            self.model.index_refs.append(
                IndexRef(table=table, name=name, name_node=args[3] if name else None, node=call, kind="helper")
            )
        read = DbRead(node=call, function=function, loops=loops, awaited=self._awaited(call), kind="helper", table=table)
        self._record_read(read)

    def _query_chain(self, root: Node) -> None:
        self._chain_nodes.add(root.id)
        args = call_args(root)
        table_node = args[0] if args else None
        table = string_value(table_node)
        steps, end = _walk_chain_up(root)
        function, _ = self.context_of(root)
        variable = _bound_variable(end)
        chains: list[QueryChain] = []
        if variable is not None and function is not None:
            chains = self._split_chains(root, table, table_node, steps, end, variable, function)
        if not chains:
            terminal = steps[-1].method if steps and steps[-1].method in TERMINALS else None
            if terminal is None and _is_for_await_right(end):
                terminal = "for-await"
            chains = [QueryChain(root, table, table_node, steps, end, terminal, variable)]
        for chain in chains:
            self.model.chains.append(chain)
            self._record_index_refs(chain)
            if chain.terminal is not None:
                # For `for await (const x of <chain>)` the anchor is the loop's iterable, which
                # is evaluated once: the loop it feeds is not one of its iteration contexts.
                anchor = chain.end
                owner, loops = self.context_of(anchor)
                read = DbRead(
                    node=anchor,
                    function=owner,
                    loops=loops,
                    awaited=self._awaited(anchor) or chain.terminal == "for-await",
                    kind="query",
                    table=table,
                    chain=chain,
                )
                self._record_read(read)

    def _record_index_refs(self, chain: QueryChain) -> None:
        known = {ref.node.id for ref in self.model.index_refs}
        for step in chain.steps:
            if step.method not in ("withIndex", "withSearchIndex") or step.call.id in known:
                continue
            name_node = step.arg(0)
            self.model.index_refs.append(
                IndexRef(
                    table=chain.table,
                    name=string_value(name_node),
                    name_node=name_node,
                    node=step.call,
                    kind=step.method,
                    chain=chain,
                )
            )

    def _split_chains(
        self,
        root: Node,
        table: str | None,
        table_node: Node | None,
        steps: list[ChainStep],
        end: Node,
        variable: str,
        function: FunctionModel,
    ) -> list[QueryChain]:
        """`let q = db.query("t"); if (x) q = q.withIndex(...); await q.collect()`."""
        body = function.node
        extra: list[ChainStep] = []
        terminals: list[tuple[list[ChainStep], Node, str]] = []
        for ident in _identifiers_named(body, variable, after=end.end_byte):
            parent = ident.parent
            if parent is None:
                continue
            if parent.type == "member_expression" and parent.child_by_field_name("object") == ident:
                more, tail = _walk_chain_up(ident)
                if not more:
                    continue
                assigned = tail.parent
                if (
                    assigned is not None
                    and assigned.type == "assignment_expression"
                    and text_of(assigned.child_by_field_name("left")) == variable
                ):
                    for step in more:
                        step.conditional = True
                    extra.extend(more)
                    continue
                if more[-1].method in TERMINALS:
                    terminals.append((more, tail, more[-1].method))
            elif _is_for_await_right(ident):
                terminals.append(([], ident, "for-await"))
        chains = []
        for more, tail, terminal in terminals:
            chains.append(
                QueryChain(root, table, table_node, [*steps, *extra, *more], tail, terminal, variable)
            )
        if not chains and extra:
            chains.append(QueryChain(root, table, table_node, [*steps, *extra], end, None, variable))
        return chains


def descend_path(top: Node, node: Node, tick: Callable[[], None] | None = None) -> list[Node]:
    """The nodes from `top` down to `node` (both included), found by descending with a tree
    cursor: O(depth). (`Node.parent` is itself O(depth) in tree-sitter, so walking up parent
    by parent costs O(depth^2), which deeply nested generated code turns into minutes.)"""
    cursor = top.walk()
    path: list[Node] = [top]
    start, end, target = node.start_byte, node.end_byte, node.id
    steps = 0
    while path[-1].id != target:
        if cursor.goto_first_child_for_byte(start) is None:
            break
        current: Node | None = cursor.node
        while current is not None and not (current.start_byte <= start and current.end_byte >= end):
            current = cursor.node if cursor.goto_next_sibling() else None
        if current is None:
            break
        path.append(current)
        steps += 1
        if tick is not None and steps % 512 == 0:
            tick()
    if path[-1].id != target:  # zero-width or otherwise unreachable node: walk up instead
        chain = [node]
        parent = node.parent
        while parent is not None and parent.id != top.id:
            chain.append(parent)
            parent = parent.parent
        path = [top, *reversed(chain)]
    return path


def _trim_end(source: SourceFile, start: int, end: int) -> int:
    while end > start and source.data[end - 1 : end] in (b" ", b"\t", b"\n", b"\r"):
        end -= 1
    return end


def _awaits_param(function: Node, params: list[Node]) -> bool:
    """An async callback that awaits its first parameter (`async (acc, x) => { await acc; ... }`)."""
    if not params or not any(c.type == "async" for c in function.children):
        return False
    names = pattern_names(param_pattern(params[0]))
    if len(names) != 1:
        return False
    for node in descendants(function_body(function) or function):
        if node.type == "await_expression" and node.named_children:
            inner = unwrap(node.named_children[0])
            if inner is not None and inner.type == "identifier" and text_of(inner) == names[0]:
                return True
    return False


def _is_new_set(node: Node | None) -> bool:
    node = unwrap(node)
    return (
        node is not None
        and node.type == "new_expression"
        and text_of(node.child_by_field_name("constructor")) == "Set"
    )


def _inside_promise_all(call: Node) -> bool:
    """`Promise.all(xs.map(...))`, also through `await`, parentheses or a const passed later."""
    parent = call.parent
    while parent is not None and parent.type in ("parenthesized_expression", "as_expression"):
        parent = parent.parent
    if parent is not None and parent.type == "arguments":
        outer = parent.parent
        if outer is not None and outer.type == "call_expression":
            return text_of(outer.child_by_field_name("function")) in (
                "Promise.all",
                "Promise.allSettled",
                "Promise.race",
                "Promise.any",
            )
    return False


def _walk_chain_up(node: Node) -> tuple[list[ChainStep], Node]:
    """From `x` follow `.m(args)` calls outward: `x.withIndex(...).filter(...).collect()`."""
    steps: list[ChainStep] = []
    current = node
    while True:
        parent = current.parent
        if parent is None:
            break
        if parent.type in ("parenthesized_expression", "non_null_expression"):
            current = parent
            continue
        if parent.type == "member_expression" and parent.child_by_field_name("object") == current:
            call = parent.parent
            prop = parent.child_by_field_name("property")
            if call is not None and call.type == "call_expression" and call.child_by_field_name("function") == parent and prop is not None:
                steps.append(ChainStep(text_of(prop), call, prop, call_args(call)))
                current = call
                continue
        break
    return steps, current


def _bound_variable(end: Node) -> str | None:
    parent = end.parent
    if parent is not None and parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            return text_of(name)
    if parent is not None and parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "identifier":
            return text_of(left)
    return None


def _is_for_await_right(node: Node) -> bool:
    parent = node.parent
    return (
        parent is not None
        and parent.type == "for_in_statement"
        and parent.child_by_field_name("right") == node
        and any(c.type == "await" for c in parent.children)
    )


def _identifiers_named(scope: Node, name: str, after: int) -> Iterator[Node]:
    """Identifiers spelled `name` inside `scope` that start after byte `after`."""
    encoded = name.encode()
    stack = [scope]
    while stack:
        node = stack.pop()
        if node.end_byte <= after:
            continue
        if node.type == "identifier":
            if node.start_byte >= after and node.text == encoded:
                yield node
            continue
        stack.extend(reversed(node.children))


def parse_index_ranges(step: ChainStep) -> list[IndexRange] | None:
    """`q => q.eq("a", x).gt("b", y)` -> ranges in source order; None when not statically known."""
    callback = step.arg(1)
    if callback is None:
        return []
    callback = unwrap(callback)
    if callback is None or callback.type not in ("arrow_function", "function_expression"):
        return None
    params = function_params(callback)
    q_name = text_of(param_pattern(params[0])) if params else None
    body = returned_expression(callback)
    ranges: list[IndexRange] = []
    current = unwrap(body)
    while current is not None and current.type == "call_expression":
        callee = current.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return None
        op = text_of(callee.child_by_field_name("property"))
        args = call_args(current)
        field_name = string_value(args[0]) if args else None
        if op not in ("eq", "gt", "gte", "lt", "lte") or field_name is None:
            return None
        ranges.append(IndexRange(op, field_name, args[0], current, args[1] if len(args) > 1 else None))
        current = unwrap(callee.child_by_field_name("object"))
    if current is None or current.type != "identifier" or text_of(current) != q_name:
        return None  # the range is built from something other than the callback's `q`
    ranges.reverse()
    return ranges


def filter_predicate(step: ChainStep) -> tuple[str, Node] | None:
    """(parameter name, predicate expression) of `.filter((q) => <expr>)`, also when the
    body is a block with a single `return <expr>`."""
    callback = unwrap(step.arg(0))
    if callback is None or callback.type not in ("arrow_function", "function_expression"):
        return None
    params = function_params(callback)
    q_name = text_of(param_pattern(params[0])) if params else "q"
    body = returned_expression(callback)
    body = unwrap(body)
    return (q_name, body) if body is not None else None


def parse_filter(step: ChainStep) -> list[FilterAtom] | None:
    """`.filter(q => q.and(q.eq(q.field("a"), x), ...))` -> conjunction atoms; None if not a
    recognisable predicate."""
    predicate = filter_predicate(step)
    if predicate is None:
        return None
    q_name, body = predicate
    atoms: list[FilterAtom] = []
    _flatten_and(body, q_name, atoms)
    return atoms


def _flatten_and(node: Node | None, q_name: str, atoms: list[FilterAtom]) -> None:
    if node is None:
        return
    if node.type == "call_expression":
        callee = node.child_by_field_name("function")
        parts = member_parts(callee)
        if parts and len(parts) == 2 and parts[0] == q_name:
            op = parts[1]
            args = call_args(node)
            if op == "and":
                for arg in args:
                    _flatten_and(unwrap(arg), q_name, atoms)
                return
            if op in ("eq", "neq", "gt", "gte", "lt", "lte") and len(args) == 2:
                field_name, value = _field_of(args[0], q_name), args[1]
                if field_name is None:
                    field_name, value = _field_of(args[1], q_name), args[0]
                    op = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}.get(op, op)
                if value is not None and q_name.encode() in (value.text or b"") and _mentions(value, q_name):
                    field_name = None  # comparing two fields: no index can take it
                atoms.append(FilterAtom(op, field_name, value, node))
                return
            atoms.append(FilterAtom(op, None, None, node))
            return
    atoms.append(FilterAtom("other", None, None, node))


def _mentions(node: Node, name: str) -> bool:
    return any(n.type == "identifier" and text_of(n) == name for n in descendants(node))


def descendants(node: Node) -> Iterable[Node]:
    """`node` and everything below it (depth first, no recursion)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _field_of(node: Node | None, q_name: str) -> str | None:
    node = unwrap(node)
    if node is None or node.type != "call_expression":
        return None
    parts = member_parts(node.child_by_field_name("function"))
    if parts != [q_name, "field"]:
        return None
    args = call_args(node)
    return string_value(args[0]) if args else None


def analyze_file(source: SourceFile, options: AnalysisOptions | None = None) -> FileModel:
    return FileAnalyzer(source, options or AnalysisOptions()).run()
