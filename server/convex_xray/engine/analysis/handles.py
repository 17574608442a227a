"""Which names are the Convex `ctx` and `ctx.db` in each function."""

from __future__ import annotations

from tree_sitter import Node

from convex_xray.engine.analysis.loops import LoopAnalysis
from convex_xray.engine.analysis.vocabulary import CTX_TYPE_RE, DB_TYPE_RE, DEFAULT_CTX_NAMES
from convex_xray.engine.model import (
    FunctionModel,
)
from convex_xray.engine.syntax import (
    function_body,
    function_params,
    param_pattern,
    param_type,
    pattern_names,
    text_of,
    unwrap,
)


class HandleAnalysis(LoopAnalysis):
    """Which names are the Convex `ctx` and `ctx.db` in each function."""

    def bind_handles(self, function: FunctionModel) -> None:
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
            return name == "db" and not self.db_is_something_else(function)
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            return text_of(prop) == "db"
        return False

    def db_is_something_else(self, function: FunctionModel | None) -> bool:
        """A `db` declared as something other than a Convex handle (`const db = drizzle(pool)`),
        in the function, an enclosing one, or the module."""
        scope = function
        while scope is not None:
            if "db" in scope.not_db_names:
                return True
            scope = scope.parent
        if "db" in self.model.imports:
            return True  # `import { db } from "./drizzle"`: Convex's handle only comes from ctx
        top = unwrap(self.top_consts.get("db"))
        if top is None or (top.type == "identifier" and text_of(top) == "db"):
            return False
        return not self.is_db(top, None)

    def carries_handle(self, arg: Node, function: FunctionModel | None) -> bool:
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

    def is_db_in_context(self, obj: Node, call: Node) -> bool:
        node = unwrap(obj)
        if node is None:
            return False
        if node.type == "member_expression":
            return text_of(node.child_by_field_name("property")) == "db"
        if node.type == "identifier":
            function, _ = self.context_of(call)
            return self.is_db(node, function)
        return False
