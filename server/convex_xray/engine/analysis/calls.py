"""Member and plain calls: DB reads, `ctx.run*`, scheduling, `fetch`, helper calls."""

from __future__ import annotations

from tree_sitter import Node

from convex_xray.engine.analysis.chains import ChainAnalysis, walk_chain_up
from convex_xray.engine.analysis.vocabulary import (
    ENTS_READ_METHODS,
    ENTS_WRITE_METHODS,
    ITERATION_METHODS,
    STANDARD_BUILDERS,
)
from convex_xray.engine.model import (
    ChainStep,
    ClientCall,
    DbRead,
    FetchCall,
    HelperCall,
    IndexRef,
    RunCall,
    ScheduleCall,
)
from convex_xray.engine.syntax import call_args, string_value, text_of


class CallAnalysis(ChainAnalysis):
    """Member and plain calls: DB reads, `ctx.run*`, scheduling, `fetch`, helper calls."""

    def member_call(self, call: Node, obj: Node, method: str) -> None:
        if method == "query":
            if call.id not in self.chain_nodes and self.is_db_in_context(obj, call):
                self.query_chain(call)
            return
        if method == "get" and self.is_db_in_context(obj, call):
            self.db_get(call)
            return
        if method in ("runQuery", "runMutation", "runAction"):
            function, loops = self.context_of(call)
            args = call_args(call)
            ref = args[0] if args else None
            event = RunCall(
                node=call,
                function=function,
                loops=loops,
                awaited=self.awaited(call),
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
                awaited=self.awaited(call),
                method=method,
                ref=text_of(args[1]) if len(args) > 1 else None,
            )
            self.model.schedules.append(schedule)
            if function is not None:
                function.schedules.append(schedule)
            return
        if method == "vectorSearch":
            self.vector_search(call, obj)
            return
        if method == "table":
            function, _ = self.context_of(call)
            if self.is_ctx(obj, function):
                self.ents_read(call)
            return
        if method in ("edge", "edgeX"):
            self.ents_edge(call, obj)
            return
        if method in ITERATION_METHODS or method == "from":
            # `xs.map(enrich)`: a named function passed per item.
            args = call_args(call)
            index = 1 if method == "from" else 0
            if method == "from" and text_of(obj) != "Array":
                return
            if len(args) > index and args[index].type == "identifier":
                self.helper_call(call, text_of(args[index]), args, via_reference=True)
            return
        # Namespace helper: `Users.load(ctx, id)` where Users is `import * as Users`.
        binding = self.model.imports.get(text_of(obj)) if obj.type == "identifier" else None
        if binding is not None and binding.imported == "*":
            self.helper_call(call, f"{text_of(obj)}.{method}", call_args(call))
        elif obj.type == "identifier" and self.member_helper_call(call, text_of(obj), method):
            pass
        elif method in ("get", "post", "put", "patch", "delete", "request") and text_of(obj) == "axios":
            self.fetch(call, f"axios.{method}")

    def plain_call(self, call: Node, callee: str) -> None:
        if callee == "fetch":
            self.fetch(call, "fetch")
            return
        args = call_args(call)
        if callee in ("getManyFrom", "getOneFrom", "getOneFromOrThrow", "getManyVia", "getManyViaOrThrow", "getAll", "getAllOrThrow"):
            self.convex_helpers_read(call, callee, args)
            return
        if callee in STANDARD_BUILDERS or callee in self.model.builders or callee in self.options.extra_builders:
            return
        if len(args) >= 2 and args[1].type == "identifier" and self.loop_helper(call) is not None:
            # `asyncMap(users, enrich)`: the named function runs once per user.
            self.helper_call(call, text_of(args[1]), args, via_reference=True)
        self.helper_call(call, callee, args)

    def helper_call(self, call: Node, callee: str, args: list[Node], *, via_reference: bool = False) -> None:
        function, loops = self.context_of(call)
        if via_reference:
            passes = True  # closures capture ctx
        else:
            passes = any(self.carries_handle(a, function) for a in args)
        local = callee in {f.name for f in self.model.functions if f.parent is not None}
        if not passes and not local:
            return
        if via_reference:
            # The reference is called once per element of the array method's receiver.
            loop = self.reference_loop(call)
            if loop is not None:
                loops = (*loops, loop)
        event = HelperCall(
            node=call,
            function=function,
            loops=loops,
            awaited=self.awaited(call),
            callee=callee,
            passes_context=passes,
            via_reference=via_reference,
        )
        self.model.helper_calls.append(event)
        if function is not None:
            function.helper_calls.append(event)

    def ctx_property_call(self, call: Node, ctx_name: str, prop: str, method: str) -> None:
        """`ctx.cache.getUser(id)` in a function built by a custom builder: the builder may have
        attached `cache` (a factory's result) to ctx; the workspace decides, across files."""
        if prop in _CTX_BUILTINS:
            return
        function, loops = self.context_of(call)
        top = function
        while top is not None and top.parent is not None:
            top = top.parent
        if top is None or not top.builder or ctx_name not in top.ctx_names | (function.ctx_names if function else set()):
            return
        event = HelperCall(
            node=call, function=function, loops=loops, awaited=self.awaited(call),
            callee=f"{ctx_name}.{prop}.{method}", passes_context=True, factory=f"ctx:{top.builder}.{prop}",
        )
        self.model.helper_calls.append(event)
        if function is not None:
            function.helper_calls.append(event)

    def member_helper_call(self, call: Node, owner: str, method: str) -> bool:
        """`Users.byEmail(ctx, e)` on an object or class of this file or an imported one, or
        `loader.getUser(id)` on what a factory returned: a helper call that may read."""
        factory = self.factory_for(owner, call)
        if factory is not None:
            function, loops = self.context_of(call)
            event = HelperCall(
                node=call, function=function, loops=loops, awaited=self.awaited(call),
                callee=f"{owner}.{method}", passes_context=True, factory=factory,
            )
            self.model.helper_calls.append(event)
            if function is not None:
                function.helper_calls.append(event)
            return True
        if owner in self.method_owners or owner in self.model.imports:
            args = call_args(call)
            if any(self.carries_handle(a, None) for a in args):
                self.helper_call(call, f"{owner}.{method}", args)
                return True
        return False

    def factory_for(self, name: str, call: Node) -> str | None:
        """The factory whose result `name` holds at `call`: the nearest earlier declaration
        of `name` in a scope around the call."""
        best: tuple[int, str] | None = None
        for declarator, factory in self.factory_values.get(name, ()):
            if declarator.start_byte > call.start_byte:
                continue
            scope = declarator.parent
            while scope is not None and scope.type not in ("statement_block", "program"):
                scope = scope.parent
            if scope is None or not (scope.start_byte <= call.start_byte < scope.end_byte):
                continue
            if best is None or declarator.start_byte > best[0]:
                best = (declarator.start_byte, factory)
        return best[1] if best is not None else None

    def client_call(self, call: Node, client: str, method: str) -> None:
        """`counter.add(ctx, ...)` on a top-level or imported object: maybe a component client
        (the workspace knows once it has read the module the object comes from)."""
        binding = self.model.imports.get(client)
        if client not in self.model.component_clients and (binding is None or binding.imported == "*"):
            return
        function, loops = self.context_of(call)
        event = ClientCall(node=call, function=function, loops=loops, awaited=self.awaited(call), client=client, method=method)
        self.model.client_calls.append(event)

    def ents_read(self, call: Node) -> None:
        """Convex Ents: `ctx.table("t")` chains that read (`.get/.getX(id)`, `.first()`,
        `.edge(...)`, `.paginate()`, or the awaited table itself), not pure inserts."""
        steps, end = walk_chain_up(call)
        methods = [step.method for step in steps]
        reading = next((m for m in methods if m in ENTS_READ_METHODS), None)
        write = next((i for i, m in enumerate(methods) if m in ENTS_WRITE_METHODS), None)
        if write is not None:
            # `insert({...}).get()` reads the new document back; `insert({...})` alone only writes.
            if "get" not in methods[write + 1 :]:
                return
            reading = "get"
        elif reading is None and not (steps == [] and self.awaited(end)):
            return  # `const users = ctx.table("users")` read later through the variable, or a write
        args = call_args(call)
        table = string_value(args[0]) if args else None
        function, loops = self.context_of(call)
        label = f'ctx.table("{table or "?"}")' + (f".{reading}(…)" if reading else "")
        self.record_read(
            DbRead(
                node=call,
                function=function,
                loops=loops,
                awaited=self.awaited(end) or self.awaited(call),
                kind="ents",
                table=table,
                label=label,
                paginate=_paginate_call(steps),
            )
        )

    def ents_edge(self, call: Node, obj: Node) -> None:
        """`membership.edge("club")` on an ent read earlier: one more read (files using Ents only)."""
        node = obj
        while node.type == "call_expression":  # part of a `ctx.table(...)` chain: counted there
            callee = node.child_by_field_name("function")
            if callee is None or callee.type != "member_expression":
                break
            if text_of(callee.child_by_field_name("property")) == "table":
                return
            node = callee.child_by_field_name("object") or node
            if node.type == "await_expression":
                break
        if b".table(" not in self.source.data and b"convex-ents" not in self.source.data:
            return
        args = call_args(call)
        method = text_of(call.child_by_field_name("function").child_by_field_name("property"))  # type: ignore[union-attr]
        function, loops = self.context_of(call)
        steps, _ = walk_chain_up(call)
        self.record_read(
            DbRead(
                node=call,
                function=function,
                loops=loops,
                awaited=self.awaited(call),
                kind="ents",
                table=None,
                label=f"{' '.join(text_of(obj).split())}.{method}({text_of(args[0]) if args else ''})",
                paginate=_paginate_call(steps),
            )
        )

    def vector_search(self, call: Node, obj: Node) -> None:
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

    def fetch(self, call: Node, callee: str) -> None:
        function, loops = self.context_of(call)
        args = call_args(call)
        init = args[1] if len(args) > 1 else None
        event = FetchCall(node=call, function=function, loops=loops, awaited=self.awaited(call), callee=callee, init_node=init)
        self.model.fetches.append(event)
        if function is not None:
            function.fetches.append(event)

    def db_get(self, call: Node) -> None:
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
            awaited=self.awaited(call),
            kind="get",
            table=table,
            id_node=id_node,
        )
        self.record_read(read)

    def convex_helpers_read(self, call: Node, callee: str, args: list[Node]) -> None:
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
        read = DbRead(node=call, function=function, loops=loops, awaited=self.awaited(call), kind="helper", table=table)
        self.record_read(read)


# ctx properties Convex itself provides: never a custom builder's reader object.
_CTX_BUILTINS = frozenset({"db", "scheduler", "storage", "auth", "vectorSearch", "runQuery", "runMutation", "runAction"})


def _paginate_call(steps: list[ChainStep]) -> Node | None:
    """The `.paginate(…)` call among an Ents read's steps (`.edge("x").paginate(opts)`)."""
    return next((step.call for step in steps if step.method == "paginate"), None)
