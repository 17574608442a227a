"""Top-level declarations: imports, re-exports, builders and the Convex functions they define."""

from __future__ import annotations

from tree_sitter import Node

from convex_xray.engine.analysis.calls import CallAnalysis
from convex_xray.engine.analysis.vocabulary import (
    CUSTOM_BUILDER_FACTORIES,
    FUNCTION_TYPES,
    STANDARD_BUILDERS,
)
from convex_xray.engine.model import (
    FunctionKind,
    FunctionModel,
    ImportBinding,
)
from convex_xray.engine.syntax import (
    call_args,
    function_body,
    function_params,
    member_parts,
    param_pattern,
    returned_expression,
    string_value,
    text_of,
    unwrap,
)


class DeclarationAnalysis(CallAnalysis):
    """Top-level declarations: imports, re-exports, builders and the Convex functions they define."""

    def collect_top_level(self, root: Node) -> None:
        for statement in root.named_children:
            exported = False
            node = statement
            if node.type == "export_statement":
                exported = True
                declaration = node.child_by_field_name("declaration")
                if declaration is None:
                    value = node.child_by_field_name("value")
                    if value is not None:
                        self.export_default_value(value, node)
                    else:
                        self.collect_reexports(node)
                    continue
                if declaration.type in ("function_declaration", "generator_function_declaration") and any(
                    c.type == "default" for c in node.children
                ):  # export default function name() {}
                    name = declaration.child_by_field_name("name")
                    function = self.add_function(text_of(name), FunctionKind.HELPER, declaration, name, node, True)
                    self.model.exports["default"] = function
                    continue
                node = declaration
            if node.type == "import_statement":
                self.collect_import(node)
            elif node.type in ("function_declaration", "generator_function_declaration"):
                name = node.child_by_field_name("name")
                self.add_function(text_of(name), FunctionKind.HELPER, node, name, statement, exported)
            elif node.type == "class_declaration":
                name = node.child_by_field_name("name")
                class_body = node.child_by_field_name("body")
                if name is not None and class_body is not None:
                    self.add_methods(text_of(name), class_body, statement, exported)
            elif node.type in ("lexical_declaration", "variable_declaration"):
                for declarator in node.named_children:
                    if declarator.type != "variable_declarator":
                        continue
                    name = declarator.child_by_field_name("name")
                    value = unwrap(declarator.child_by_field_name("value"))
                    if name is None or value is None or name.type != "identifier":
                        continue
                    self.top_consts[text_of(name)] = value
                    self.maybe_component_client(text_of(name), value)
                    if value.type == "object":
                        self.add_methods(text_of(name), value, statement, exported)
                    if value.type in ("arrow_function", "function_expression"):
                        self.add_function(text_of(name), FunctionKind.HELPER, value, name, statement, exported)
                    elif value.type == "call_expression":
                        self.maybe_builder_definition(text_of(name), value)
                        self.maybe_convex_function(text_of(name), name, value, statement, exported=exported)

    def export_default_value(self, value: Node, statement: Node) -> None:
        value = unwrap(value) or value
        if value.type in ("arrow_function", "function_expression"):
            self.add_function("default", FunctionKind.HELPER, value, None, statement, True)
        elif value.type == "identifier":
            self.model.reexports["default"] = (None, text_of(value))
        else:
            self.maybe_convex_function("default", None, value, statement, exported=True)

    def collect_reexports(self, node: Node) -> None:
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

    def collect_import(self, node: Node) -> None:
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

    def builder_kind(self, callee: Node) -> tuple[str, FunctionKind] | None:
        parts = member_parts(callee)
        if not parts:
            return None
        name = parts[-1] if len(parts) <= 2 else ""
        known = {**STANDARD_BUILDERS, **self.options.extra_builders, **self.model.builders}
        if name in known:
            return name, known[name]
        return None

    def add_methods(self, owner: str, body: Node, statement: Node, exported: bool) -> None:
        """The methods of a top-level object literal or class become helpers named
        `Owner.method`, so `Users.byEmail(ctx, email)` and `repo.load(id)` can be followed."""
        added = False
        for member in body.named_children:
            key: Node | None = None
            function: Node | None = None
            if member.type == "method_definition":
                key, function = member.child_by_field_name("name"), member
            elif member.type in ("pair", "public_field_definition", "field_definition"):
                key = member.child_by_field_name("key") or member.child_by_field_name("property")
                function = unwrap(member.child_by_field_name("value"))
                if function is None or function.type not in ("arrow_function", "function_expression"):
                    continue
            if key is None or function is None or key.type not in ("property_identifier", "identifier"):
                continue
            self.add_function(f"{owner}.{text_of(key)}", FunctionKind.HELPER, function, key, statement, exported)
            added = True
        if added:
            self.method_owners.add(owner)

    def maybe_component_client(self, name: str, value: Node) -> None:
        """`new TableAggregate(components.aggregate, ...)`, `createClient(components.betterAuth)`:
        every method call on the result runs a function inside the component."""
        if value.type not in ("new_expression", "call_expression"):
            return
        args = call_args(value)
        parts = member_parts(unwrap(args[0])) if args else None
        if parts and len(parts) >= 2 and parts[0] == "components":
            self.model.component_clients[name] = ".".join(parts[1:])

    def maybe_builder_definition(self, name: str, call: Node) -> None:
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
        attached = _ctx_factories(args[1]) if len(args) > 1 else {}
        if attached:
            self.model.builder_ctx[name] = attached

    def maybe_convex_function(
        self, name: str, name_node: Node | None, call: Node, definition: Node, *, exported: bool
    ) -> None:
        call = unwrap(call) or call
        if call.type != "call_expression":
            return
        callee = call.child_by_field_name("function")
        if callee is None:
            return
        resolved = self.builder_kind(callee)
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
        function = self.add_function(name, kind, handler, name_node, definition, exported)
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

    def add_function(
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
        self.bind_handles(function)
        self.functions_by_node[node.id] = function
        self.model.functions.append(function)
        if exported and parent is None:
            self.model.exports[name] = function
        return function

    def collect_local_functions(self, plain_calls: list[tuple[Node, Node]], member_args: list[Node]) -> None:
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
            self.local_functions_in(body, function, seen)

    def local_functions_in(self, body: Node, parent: FunctionModel, referenced: set[int]) -> None:
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
                        local = self.add_function(
                            text_of(name), FunctionKind.HELPER, value, name, declarator, False, parent
                        )
                        self.local_functions_in(function_body(value) or value, local, referenced)
            elif statement.type == "function_declaration":
                name = statement.child_by_field_name("name")
                local = self.add_function(
                    text_of(name), FunctionKind.HELPER, statement, name, statement, False, parent
                )
                self.local_functions_in(function_body(statement) or statement, local, referenced)


def _ctx_factories(argument: Node) -> dict[str, str]:
    """`customCtx(async (ctx) => ({ cache: makeLoaders(ctx), repo: new Repo(ctx) }))`: the ctx
    properties built by a factory that receives ctx -> the factory (`makeLoaders`, `new Repo`)."""
    call = unwrap(argument)
    if call is None or call.type != "call_expression" or text_of(call.child_by_field_name("function")) != "customCtx":
        return {}
    args = call_args(call)
    function = unwrap(args[0]) if args else None
    if function is None or function.type not in ("arrow_function", "function_expression"):
        return {}
    params = function_params(function)
    ctx_name = text_of(param_pattern(params[0])) if params else ""
    returned = unwrap(returned_expression(function))
    found: dict[str, str] = {}
    if not ctx_name or returned is None or returned.type != "object":
        return found
    for member in returned.named_children:
        if member.type != "pair":
            continue
        value = unwrap(member.child_by_field_name("value"))
        if value is not None and value.type == "await_expression" and value.named_children:
            value = unwrap(value.named_children[0])
        if value is None or value.type not in ("call_expression", "new_expression"):
            continue
        callee = value.child_by_field_name("function") or value.child_by_field_name("constructor")
        if callee is None or callee.type != "identifier":
            continue
        if not any(text_of(unwrap(a)) == ctx_name for a in call_args(value)):
            continue  # built from something else than ctx: not a reader of this request
        prefix = "new " if value.type == "new_expression" else ""
        found[text_of(member.child_by_field_name("key"))] = prefix + text_of(callee)
    return found
