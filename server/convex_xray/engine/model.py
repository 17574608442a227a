"""The Convex code model: plain data describing one file's functions, reads, loops and calls.

Built by `convex_xray.engine.analysis`; consumed by rules. No LSP types here. Byte offsets
everywhere; nodes are kept where fixes need to look at the tree again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import number_value


class FunctionKind(enum.Enum):
    QUERY = "query"
    MUTATION = "mutation"
    ACTION = "action"
    INTERNAL_QUERY = "internalQuery"
    INTERNAL_MUTATION = "internalMutation"
    INTERNAL_ACTION = "internalAction"
    HTTP_ACTION = "httpAction"
    HELPER = "helper"  # a plain function (may take ctx or db)

    @property
    def is_action(self) -> bool:
        return self in (FunctionKind.ACTION, FunctionKind.INTERNAL_ACTION, FunctionKind.HTTP_ACTION)

    @property
    def is_mutation(self) -> bool:
        return self in (FunctionKind.MUTATION, FunctionKind.INTERNAL_MUTATION)

    @property
    def is_query(self) -> bool:
        return self in (FunctionKind.QUERY, FunctionKind.INTERNAL_QUERY)

    @property
    def is_convex(self) -> bool:
        return self is not FunctionKind.HELPER


@dataclass(slots=True, eq=False)
class Loop:
    """An iteration context: a loop statement or a per-item callback."""

    kind: str  # for-of, for-in, for-await, for, while, do, map, forEach, flatMap, ..., Array.from
    node: Node  # the loop statement, or the callback function
    header_start: int  # what to point at: `for (...)` or `xs.map(`
    header_end: int
    collection: str | None  # source text of what is iterated
    item_names: tuple[str, ...]
    concurrent: bool  # per-item work runs concurrently (Promise.all(xs.map(async ...)))
    exempt: str | None  # why per-item reads here are fine (small literal, deduplicated ids)
    collection_node: Node | None = None
    in_promise_all: bool = False

    @property
    def is_statement(self) -> bool:
        return self.kind in ("for-of", "for-in", "for-await", "for", "while", "do")

    @property
    def iterates_collection(self) -> bool:
        return self.kind not in ("for", "while", "do")

    def describe(self) -> str:
        if self.collection:
            return f"`{_short(self.collection)}` ({self.kind})"
        return f"a `{self.kind}` loop"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True, eq=False)
class IndexRange:
    """One `q.eq("field", value)` / `.gt(...)` inside `.withIndex(name, q => ...)`."""

    op: str  # eq, gt, gte, lt, lte
    field: str
    field_node: Node
    call: Node
    value_node: Node | None


@dataclass(slots=True, eq=False)
class FilterAtom:
    """One comparison inside `.filter(q => ...)`; `field` is None when not `q.field("f")`."""

    op: str  # eq, neq, gt, gte, lt, lte, or, not, ... (other = not index-absorbable)
    field: str | None
    value_node: Node | None
    node: Node

    @property
    def absorbable(self) -> bool:
        return self.field is not None and self.op in ("eq", "gt", "gte", "lt", "lte")


@dataclass(slots=True, eq=False)
class ChainStep:
    method: str
    call: Node  # the call_expression of this step
    property: Node  # the method name node
    args: list[Node]
    conditional: bool = False  # added by a reassignment (`q = q.filter(...)`)

    def arg(self, index: int) -> Node | None:
        return self.args[index] if index < len(self.args) else None


TERMINALS = frozenset({"collect", "take", "first", "unique", "paginate"})


@dataclass(slots=True, eq=False)
class QueryChain:
    """`db.query("t").withIndex(...).filter(...).order(...).collect()`, possibly split over a variable."""

    root: Node  # the `db.query("t")` call
    table: str | None
    table_node: Node | None
    steps: list[ChainStep]
    end: Node  # outermost node of the chain expression (the terminal call when there is one)
    terminal: str | None  # collect/take/first/unique/paginate/for-await, None when unterminated
    variable: str | None = None  # split chain: the variable holding the partial query

    def steps_named(self, *names: str) -> list[ChainStep]:
        return [s for s in self.steps if s.method in names]

    @property
    def index_step(self) -> ChainStep | None:
        found = self.steps_named("withIndex")
        return found[0] if found else None

    @property
    def search_step(self) -> ChainStep | None:
        found = self.steps_named("withSearchIndex")
        return found[0] if found else None

    @property
    def has_index(self) -> bool:
        return bool(self.steps_named("withIndex", "withSearchIndex"))

    @property
    def terminal_step(self) -> ChainStep | None:
        # The last step naming the terminal: `.collect().then(...)` ends in `collect`.
        for step in reversed(self.steps):
            if step.method == self.terminal:
                return step
            if step.method not in ("then", "catch", "finally"):
                break
        return None

    @property
    def filter_steps(self) -> list[ChainStep]:
        return self.steps_named("filter")

    @property
    def take_count(self) -> int | None:
        """`.take(1000)`, `.take(10_000)`, or `.take(LIMIT)` with `const LIMIT = 1000` in scope."""
        step = self.terminal_step
        if step is None or step.method != "take":
            return None
        return number_value(step.arg(0))

    @property
    def is_bounded(self) -> bool:
        return self.terminal in ("take", "first", "unique", "paginate")

    @property
    def reads_to_completion(self) -> bool:
        return self.terminal in ("collect", "for-await")


@dataclass(slots=True, eq=False)
class Event:
    """Something a function does that costs: fields shared by all kinds."""

    node: Node
    function: FunctionModel | None
    loops: tuple[Loop, ...]  # enclosing iteration contexts inside the function, innermost last
    awaited: bool

    @property
    def in_loop(self) -> bool:
        return bool(self.loops)

    @property
    def start(self) -> int:
        return self.node.start_byte

    @property
    def end(self) -> int:
        return self.node.end_byte


@dataclass(slots=True, eq=False)
class DbRead(Event):
    """`db.get(id)` / `db.get("t", id)` or a terminated query chain."""

    kind: str = "get"  # get | query | helper | ents
    table: str | None = None
    id_node: Node | None = None
    chain: QueryChain | None = None
    label: str = ""  # how to name a read not spelt `ctx.db…` (Convex Ents: `ctx.table("t").getX(…)`)
    paginate: Node | None = None  # Convex Ents: the `.paginate(…)` call ending this read's chain

    @property
    def is_page_read(self) -> bool:
        return self.chain is not None and self.chain.terminal in ("paginate", "take")


@dataclass(slots=True, eq=False)
class RunCall(Event):
    """`ctx.runQuery/runMutation/runAction(ref, args)`."""

    method: str = "runQuery"
    ref: str | None = None  # dotted reference text, e.g. internal.players.byAlias
    ref_node: Node | None = None
    args_node: Node | None = None


@dataclass(slots=True, eq=False)
class ScheduleCall(Event):
    method: str = "runAfter"  # runAfter | runAt
    ref: str | None = None


@dataclass(slots=True, eq=False)
class FetchCall(Event):
    callee: str = "fetch"
    init_node: Node | None = None  # the options object, when given


@dataclass(slots=True, eq=False)
class HelperCall(Event):
    """A call to a named function that receives ctx or a db handle (so it may read)."""

    callee: str = ""  # local name or `Namespace.member`
    passes_context: bool = False
    via_reference: bool = False  # `xs.map(enrich)`: the function is passed, called per item
    # `loader.getUser(id)` where `const loader = makeLoader(ctx)`: the factory whose returned
    # closures do the reading (`makeLoader`, or `new UserRepo` -> `UserRepo.<method>`).
    factory: str = ""


@dataclass(slots=True, eq=False)
class ClientCall(Event):
    """`client.method(ctx, ...)` on a named object: a component client when `client` is one
    (`new TableAggregate(components.aggregate, ...)`), which the workspace decides across files."""

    client: str = ""  # the object's local name
    method: str = ""


@dataclass(slots=True, eq=False)
class IndexRef:
    """A place that names an index: `.withIndex`, `.withSearchIndex`, `getManyFrom(db, "t", "by_x")`."""

    table: str | None
    name: str | None  # None when computed at run time
    name_node: Node | None
    node: Node
    kind: str  # withIndex | withSearchIndex | vectorSearch | helper
    chain: QueryChain | None = None


@dataclass(slots=True, eq=False)
class FunctionModel:
    name: str
    kind: FunctionKind
    node: Node  # the function node (handler for Convex functions)
    name_node: Node | None
    definition: Node  # whole definition (for code lens / ranges)
    exported: bool
    builder: str | None = None  # query, authedQuery, ...
    params: list[str] = field(default_factory=list)
    ctx_names: set[str] = field(default_factory=set)
    db_names: set[str] = field(default_factory=set)
    not_db_names: set[str] = field(default_factory=set)  # `const db = new Pool()`: not a handle
    has_pagination_opts: bool = False
    args_names: list[str] = field(default_factory=list)
    args_param: str | None = None  # name of the handler's args parameter (`args`)
    parent: FunctionModel | None = None  # local closures
    reads: list[DbRead] = field(default_factory=list)
    run_calls: list[RunCall] = field(default_factory=list)
    schedules: list[ScheduleCall] = field(default_factory=list)
    fetches: list[FetchCall] = field(default_factory=list)
    helper_calls: list[HelperCall] = field(default_factory=list)
    # A factory's returned methods, as views of their own (`engine.factories.method_of`):
    # built once per model, so summaries keyed by the view's identity stay valid.
    methods: dict[str, FunctionModel | None] = field(default_factory=dict)

    @property
    def takes_context(self) -> bool:
        return bool(self.ctx_names or self.db_names) or self.parent is not None

    @property
    def start(self) -> int:
        return self.definition.start_byte


@dataclass(slots=True)
class ImportBinding:
    local: str
    module: str  # the specifier as written
    imported: str  # exported name, "default", or "*" for namespace imports


class _WeaklyReferable:
    # Slotted classes take no weak references unless a base declares the slot (Python 3.10
    # has no `dataclass(weakref_slot=True)`): lets a test tell when a model has been freed.
    __slots__ = ("__weakref__",)


@dataclass(slots=True, eq=False)
class FileModel(_WeaklyReferable):
    source: SourceFile
    functions: list[FunctionModel] = field(default_factory=list)
    imports: dict[str, ImportBinding] = field(default_factory=dict)
    chains: list[QueryChain] = field(default_factory=list)
    reads: list[DbRead] = field(default_factory=list)
    run_calls: list[RunCall] = field(default_factory=list)
    schedules: list[ScheduleCall] = field(default_factory=list)
    fetches: list[FetchCall] = field(default_factory=list)
    helper_calls: list[HelperCall] = field(default_factory=list)
    client_calls: list[ClientCall] = field(default_factory=list)
    index_refs: list[IndexRef] = field(default_factory=list)
    # Top-level names bound to a Convex component client: `const counter = new ShardedCounter(components.counter)`
    # -> {"counter": "counter"} (the component's name under `components.`).
    component_clients: dict[str, str] = field(default_factory=dict)
    # Names this file defines as custom function builders (`const authedQuery = customQuery(query, ...)`).
    builders: dict[str, FunctionKind] = field(default_factory=dict)
    # What a custom builder attaches to ctx: `customQuery(query, customCtx(async (ctx) => ({ cache:
    # makeLoaders(ctx) })))` -> {"authedQuery": {"cache": "makeLoaders"}} (`new Repo` for classes).
    builder_ctx: dict[str, dict[str, str]] = field(default_factory=dict)
    exports: dict[str, FunctionModel] = field(default_factory=dict)
    # `export { a as b }` -> {"b": (None, "a")}; `export { a } from "./m"` -> {"a": ("./m", "a")};
    # `export * as ns from "./m"` -> {"ns": ("./m", "*")}; `export default name` -> {"default": (None, name)}
    reexports: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    star_exports: list[str] = field(default_factory=list)  # `export * from "./m"`
    # `f(...)` (or a tagged template `f`...``) where `f` is an imported name, with that name,
    # in source order: found in the analyzer's one query pass, so no rule walks the tree again.
    imported_calls: list[tuple[Node, str]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.source.path

    def function_named(self, name: str) -> FunctionModel | None:
        for function in self.functions:
            if function.name == name and function.parent is None:
                return function
        return None

    def function_at(self, offset: int) -> FunctionModel | None:
        """The innermost function whose definition contains `offset`."""
        best: FunctionModel | None = None
        for function in self.functions:
            if function.definition.start_byte <= offset < function.definition.end_byte and (
                best is None or function.definition.start_byte >= best.definition.start_byte
            ):
                best = function
        return best
