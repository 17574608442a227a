"""What a read or call site costs: what drives its count, how that grows, and a score.

A loop's cost is the size of what it iterates times the work per item; nested loops
multiply. What a loop iterates is traced back to where it came from:

- a literal array: its length (constant);
- a bound: `.take(k)`, `.slice(0, k)`, `.first()`/`.unique()`, `.paginate()` (bounded);
- a client-supplied array argument (bounded by what callers send);
- `.filter(...)` of any of these: `conditional-share` percent of it (not of a literal array);
- an index range keyed by a tenant-like field (`orgId`, `teamId`, `clubId`, ...): per-tenant;
- an index range keyed by one other parent document (`postId`, `userId`): per-parent,
  unless the table is a log or feed (see `is_log_range`): per-parent-log, which grows;
- a query with no index range: the whole table.

Unknown sources are assumed per-parent, and the assumption is stated. Sizes behind each
class come from `[cost]` in convex-xray.toml so a team that knows its data can say so.
The function's context weighs the score: a public query is reactive (it re-runs on every
write to what it read), so its reads count twice; sequential loops add latency per item.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine.analysis.chains import parse_index_ranges
from convex_xray.engine.guards import Condition
from convex_xray.engine.model import (
    DbRead,
    FileModel,
    FunctionKind,
    FunctionModel,
    IndexRange,
    Loop,
    QueryChain,
)
from convex_xray.engine.schema import Schema
from convex_xray.engine.syntax import (
    call_args,
    enclosing_const,
    function_params,
    param_pattern,
    string_value,
    text_of,
    unwrap,
)
from convex_xray.engine.triggers import CRON, SCHEDULED


class Growth(enum.IntEnum):
    """How a count grows with the data, weakest first."""

    CONSTANT = 0
    BOUNDED = 1
    PER_PARENT = 2
    PER_PARENT_LOG = 3  # one parent's rows of a log or feed: grows without bound over time
    PER_TENANT = 4
    WHOLE_TABLE = 5

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class CostAssumptions:
    """Sizes assumed for counts the code does not state (`[cost]` in convex-xray.toml)."""

    per_parent: int = 10  # children of one document: a user's sessions, a post's comments
    per_tenant: int = 200  # members/records of one org, team, club or workspace
    table: int = 10_000  # documents in a table read with no index range
    client_array: int = 20  # ids or items a client sends in one call
    page: int = 50  # `.paginate({ numItems })` when numItems is not a literal
    warn_score: int = 100  # a per-parent cost at or above this score is a warning
    conditional_share: int = 10  # percent of a loop's items a condition inside it selects
    per_parent_log: int = 1_000  # one parent's rows of a log/feed table (messages of a thread)
    reference: int = 100  # documents in a reference/config table (meeting types, email templates)
    in_flight: int = 100  # rows in a transient state at any time (jobs running, trials, queued messages)
    per_closed_parent: int = 100  # a log's rows under one parent that closes (an issue's messages, an order's history)
    log_tables: frozenset[str] = frozenset()  # tables to treat as logs besides those inferred
    growing_tables: frozenset[str] = frozenset()  # tables never taken for reference tables by name
    # Not configured: derived per workspace (`engine.writers`, see `RuleContext.cost`): tables
    # whose rows only platform admins create, each with where that shows.
    admin_tables: tuple[tuple[str, str], ...] = ()
    # Also derived (`engine.expiry`): tables a cron keeps to a short window of rows, each with why.
    expiring_tables: tuple[tuple[str, str], ...] = ()

    def admin_evidence(self, table: str) -> str | None:
        return next((where for name, where in self.admin_tables if name == table), None)

    def expiry_evidence(self, table: str) -> str | None:
        if table in self.growing_tables:
            return None
        return next((why for name, why in self.expiring_tables if name == table), None)


@dataclass(frozen=True, slots=True)
class Driver:
    """What one loop iterates: a size with its growth and a phrase for the formula."""

    size: int
    growth: Growth
    phrase: str  # `members of an org (orgId)`, `client-supplied args.ids`
    assumption: str | None  # stated when `size` is assumed, not read from the code
    # Every document of a table, read with no index range: full-table-scan's own finding,
    # so a loop over these documents is bounded when that scan is.
    scan: bool = False
    # Why a table that would grow is small, for a message to say (`loginCodes` is kept small by expiry ...).
    kept: str | None = None
    # An index range's table and equality fields (`("teamMembers", ("teamId",))`), when it is one.
    range_of: tuple[str, tuple[str, ...]] | None = None

    @property
    def term(self) -> str:
        if self.growth in (Growth.CONSTANT,) or (self.assumption is None and self.growth is Growth.BOUNDED):
            return str(self.size)
        return f"N({self.phrase})"


@dataclass(frozen=True, slots=True)
class Cost:
    """Reads (or function calls) per call of the enclosing function."""

    formula: str
    reads: int
    assumptions: tuple[str, ...]
    growth: Growth
    score: float
    unit: str = "reads"
    context: str = "helper"
    drivers: tuple[Driver, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "reads": self.reads,
            "unit": self.unit,
            "assumptions": list(self.assumptions),
            "growth": self.growth.label,
            "context": self.context,
            "score": round(self.score, 1),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cost:
        return cls(
            formula=str(data["formula"]),
            reads=int(data["reads"]),
            assumptions=tuple(str(a) for a in data["assumptions"]),
            growth=Growth[str(data["growth"]).upper().replace("-", "_")],
            score=float(data["score"]),
            unit=str(data.get("unit", "reads")),
            context=str(data.get("context", "helper")),
        )

    def explain(self) -> str:
        """`N(members of one orgId) x 2 reads ≈ 400 (N assumed 200 per tenant) per call`."""
        text = f"{self.formula} {self.unit}"
        if self.formula != str(self.reads):
            text += f" ≈ {self.reads:,}"
        if self.assumptions:
            text += f" ({'; '.join(self.assumptions)})"
        return text + " per call"


# Field names that key a tenant: a set that grows with the customer, not with one record.
_TENANT = re.compile(
    r"^(?:org|orgs|organization|organisation|team|club|workspace|tenant|company|business|agency|school|community|league)(?:_?id|_?ids)?$",
    re.IGNORECASE,
)


def is_tenant_field(name: str) -> bool:
    return bool(_TENANT.match(name))


# Fields that sort documents into a few categories (`status`, `type`, `isActive`): an equality
# on them selects a share of the table, which grows with the table, not one parent's children.
_CATEGORY = re.compile(
    r"^(?:status|state|type|kind|category|role|visibility|stage|phase|priority|level|tier|mode|"
    r"active|archived|deleted|enabled|disabled|published|verified|approved|completed|done|read|"
    r"pinned|featured|hidden|visible|public|private|processed|pending|sent|paid)$"
    r"|^(?:is|has|can|should)[A-Z_]|(?:Status|State|Type|Kind|Category|Stage|Phase|_status|_type|_state)$"
)


def is_category_field(name: str) -> bool:
    return bool(_CATEGORY.search(name))


# The cost model's name for each kind of Convex function (`helper`: not known to be one).
_CONTEXT_OF_KIND = {
    FunctionKind.QUERY: "public-query",
    FunctionKind.MUTATION: "mutation",
    FunctionKind.ACTION: "action",
    FunctionKind.HTTP_ACTION: "http",
    FunctionKind.INTERNAL_QUERY: "internal-query",
    FunctionKind.INTERNAL_MUTATION: "internal-mutation",
    FunctionKind.INTERNAL_ACTION: "internal-action",
}


def function_context(function: FunctionModel | None) -> str:
    """public-query (reactive), mutation, action, internal-*, http, or helper (not known)."""
    if function is None:
        return "helper"
    while function.parent is not None and function.kind is FunctionKind.HELPER:
        function = function.parent
    return _CONTEXT_OF_KIND.get(function.kind, "helper")


def is_action_context(function: FunctionModel | None) -> bool:
    """Inside an action: a registered action, or a helper whose `ctx` parameter is typed as an
    action's (`ctx: ActionCtx`, `GenericActionCtx<DataModel>`), whoever calls it."""
    while function is not None and function.parent is not None and function.kind is FunctionKind.HELPER:
        function = function.parent
    if function is None:
        return False
    if function.kind is FunctionKind.HELPER:
        return _ctx_typed_as_action(function.node)
    return function.kind.is_action


def _ctx_typed_as_action(node: Node) -> bool:
    params = node.child_by_field_name("parameters")
    for param in params.named_children if params is not None else []:
        annotation = param.child_by_field_name("type")
        if annotation is not None and "ActionCtx" in text_of(annotation):
            return True
    return False


# Convex stops a function that reads more documents than this in one run.
DOCUMENTS_PER_FUNCTION = 32_000


def reaches_document_limit(cost: Cost) -> bool:
    """Whether the estimated reads of one run reach Convex's per-function document limit at
    the assumed sizes (`[cost] table` and the rest): a script over a whole table breaks once
    the table passes it, and a team that knows its tables are that big says so."""
    return cost.reads >= DOCUMENTS_PER_FUNCTION


# A public query's reads count twice: it re-runs on every write to anything it read.
_CONTEXT_WEIGHT = {"public-query": 2.0}
# Contexts whose reads re-run on every write to what they read (per subscribed client).
REACTIVE = frozenset({"public-query"})


def scan_state(chain: QueryChain) -> str | None:
    """"none" (no index) or "rangeless" (an index with no range): the query reads the whole
    table in index order. None when it has a real index range or a search index."""
    if chain.search_step is not None:
        return None
    step = chain.index_step
    if step is None:
        return "none"
    return "rangeless" if parse_index_ranges(step) == [] else None


def terminal_key(chain: QueryChain) -> tuple[int, int]:
    """Where a query ends: a variable reassigned under conditions (`q = q.withIndex(...)`) gives
    one chain per variant, all ending in the same `.collect()`: one problem, one finding."""
    step = chain.terminal_step
    node = step.call if step is not None else chain.end
    return (node.start_byte, node.end_byte)


# Tables that grow without bound per parent: a thread's messages, a user's notifications,
# an entity's audit trail. Matched on the last word of the table name (`chatMessages`,
# `audit_logs`, `userActivity`), singular or plural.
_LOG_WORDS = frozenset(
    {"message", "event", "log", "notification", "activity", "activitie", "audit", "history",
     "historie", "feed", "delivery", "deliverie", "timeline", "trail"}
)
# A time field right after the parent key in the index (`["threadId", "createdAt"]`): the
# schema keeps a per-parent timeline, i.e. rows accumulate per parent over time.
_TIME_FIELD = re.compile(r"^(?:created_?at|creation_?time|timestamp|time|ts|sent_?at|occurred_?at|logged_?at|at|date)$", re.IGNORECASE)


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)] or [name.lower()]


def _named(word: str, vocabulary: frozenset[str]) -> bool:
    """`word`, or it without its plural `s` (`messages`, `policies` -> `policie`), is in `vocabulary`."""
    return word in vocabulary or word.rstrip("s") in vocabulary


def is_log_table(table: str, assumptions: CostAssumptions) -> bool:
    """By name: configured in `[cost] log-tables`, or its last word is a log/feed word.

    `events` alone is not enough: calendar events, a person's created events and muted events
    are entities, few per parent (labelled on the corpus, benchmarks/signal.md); `auditEvents`,
    `pageEvents`, `webhookEvents` are logs, and say so with another word."""
    if table in assumptions.log_tables:
        return True
    words = _words(table)
    if words[-1].rstrip("s") == "event":
        return any(_named(w, _LOG_WORDS) or w in _EVENT_LOG_WORDS for w in words[:-1])
    return _named(words[-1], _LOG_WORDS)


# Another word that makes an `...events` table a log.
_EVENT_LOG_WORDS = frozenset({"page", "analytics", "tracking", "track", "usage", "webhook", "click", "view", "domain", "system"})

# Reference (configuration) tables: a handful to a few hundred rows an admin edits, read whole
# on purpose: `meetingTypes`, `emailTemplates`, `retentionPolicies`, `fieldPermissions`,
# `cronSettings`. Matched on the last word of the name; a name that also names an owner
# (`userSettings`, `memberPermissions`) holds one row per owner and grows with them.
_REFERENCE_WORDS = frozenset(
    {"type", "template", "policy", "policie", "permission", "capability", "capabilitie",
     "setting", "config", "configuration", "definition", "preset", "badge", "category",
     "categorie", "workflow", "rule", "feature", "flag", "role",
     # taxonomies an admin keeps: shipping zones, return reasons, sales regions, currencies,
     # countries, locales (not `channels`, `classes` or `menus`: a chat's channels, a school's
     # classes and a restaurant's menus grow with their owners)
     "zone", "reason", "region", "currency", "currencie", "country", "countrie", "locale", "language",
     # what an app registers or offers, one row per integration, stage or offer: webhook
     # endpoints, event listeners, sales pipelines, subscription plans and tiers, and one
     # heartbeat row per cron job or worker (not `providers`: a clinic's care providers grow)
     "webhook", "listener", "pipeline", "plan", "tier", "heartbeat"}
)
_OWNER_WORDS = frozenset(
    {"user", "member", "account", "person", "people", "customer", "profile", "player", "student",
     "client", "org", "organization", "team", "workspace", "tenant", "project", "session", "device"}
)


def is_reference_table(table: str, assumptions: CostAssumptions) -> bool:
    """By name: its last word is a configuration word and no other word names an owner
    (`[cost] growing-tables` opts a table out)."""
    if table in assumptions.growing_tables or table in assumptions.log_tables:
        return False
    words = _words(table)
    return _named(words[-1], _REFERENCE_WORDS) and not any(_named(w, _OWNER_WORDS) for w in words[:-1])


def is_log_range(table: str, equal: list[str], fields: tuple[str, ...] | None, assumptions: CostAssumptions) -> bool:
    """A per-parent range over a log or feed: the table's name says so, or its index puts a
    time field right after the equality fields on one parent (a per-parent timeline:
    `["threadId", "createdAt"]`, or a category of it, `["userId", "type", "createdAt"]`).

    Equalities on two parents (`["postId", "parentId", "createdAt"]`: one comment's replies;
    `["org_id", "user_id", "created_at"]`: one member's endpoints in an org) select a group
    inside a parent that the time field only orders: each such range labelled on the corpus
    held a handful of rows (benchmarks/signal.md). A table named as a log stays one."""
    if is_log_table(table, assumptions):
        return True
    if fields and len(fields) > len(equal) and _TIME_FIELD.match(fields[len(equal)]):
        return sum(1 for name in equal if not is_category_field(name)) <= 1
    return False


def index_fields(chain: QueryChain, schema: Schema | None) -> tuple[str, ...] | None:
    """The fields of the index a chain ranges over, from the schema (None when unknown)."""
    step = chain.index_step
    if schema is None or step is None or chain.table is None:
        return None
    table = schema.table(chain.table)
    name = string_value(step.arg(0)) if step.arg(0) is not None else None
    index = table.index(name) if table is not None and name else None
    return tuple(index.fields) if index is not None else None


def chain_driver(
    chain: QueryChain, assumptions: CostAssumptions, schema: Schema | None = None, trigger: str | None = None
) -> Driver:
    """How many documents a query chain returns, from its terminal and its index range
    (the schema tells which fields the index has after the range; `trigger`: what runs the
    function, `cron` or `scheduled` for a queue it drains, see `drained_by`)."""
    table = chain.table or "a table"
    if chain.terminal in ("first", "unique"):
        return Driver(1, Growth.CONSTANT, f"one {table} document", None)
    if chain.terminal == "take":
        count = chain.take_count
        if count is not None:
            return Driver(count, Growth.BOUNDED, f"`.take({count})` of {table}", None)
        return Driver(assumptions.page, Growth.BOUNDED, f"`.take(k)` of {table}", f"k assumed {assumptions.page}, `[cost] page`")
    if chain.terminal == "paginate":
        return Driver(assumptions.page, Growth.BOUNDED, f"a page of {table}", f"numItems assumed {assumptions.page}, `[cost] page`")
    if chain.search_step is not None:
        return Driver(assumptions.page, Growth.BOUNDED, f"search results in {table}", f"assumed {assumptions.page}, `[cost] page`")
    driver = _range_driver(chain, assumptions, schema, table)
    if driver.growth <= Growth.PER_PARENT:
        return driver
    if trigger in _SCHEDULES and (drain := drained_by(chain)) is not None:
        # A job that moves every row it reads out of the range (`patch(row._id, { state: "archived" })`,
        # or deletes it) drains a queue: each run reads what became due since the last one.
        return Driver(
            assumptions.in_flight, Growth.BOUNDED, f"{driver.phrase}, due since the last run",
            f"N assumed {assumptions.in_flight}: {drain}, so the range holds what became due since the last "
            "run (`[cost] in-flight`)",
            scan=driver.scan, kept=f"A queue this {trigger} job drains: {drain}",
        )
    why = assumptions.expiry_evidence(chain.table) if chain.table is not None else None
    if why is None:
        return driver
    # A cron deletes the table's rows shortly after they are written (`engine.expiry`): whatever
    # the range, it holds at most the rows alive at once.
    return Driver(
        min(driver.size, assumptions.in_flight), Growth.BOUNDED, f"{driver.phrase}, alive at once",
        f"N assumed {assumptions.in_flight} rows alive at once: {why} (`[cost] in-flight`; list `{table}` in "
        "`[cost] growing-tables` if it grows)",
        scan=driver.scan, kept=f"`{table}` is kept small by expiry ({why})",
    )


def _range_driver(chain: QueryChain, assumptions: CostAssumptions, schema: Schema | None, table: str) -> Driver:
    """`chain_driver` of a chain read to completion, from its index range."""
    step = chain.index_step
    ranges = parse_index_ranges(step) if step is not None else []
    equal = [r.field for r in ranges or [] if r.op == "eq"]
    reference_why = _reference_why(chain.table, assumptions) if chain.table is not None else None
    reference = reference_why is not None
    if ranges and not equal and not reference and (window := _time_window(ranges)) is not None:
        return window_of_table(table, window, assumptions)
    if step is None or ranges == [] or (ranges is not None and not equal):
        how = "no index" if step is None else "no index range" if ranges == [] else "a range with no equality"
        if reference:
            return Driver(assumptions.reference, Growth.BOUNDED, f"every {table} document, {how}", reference_why)
        return Driver(
            assumptions.table, Growth.WHOLE_TABLE, f"every {table} document, {how}",
            f"table size assumed {assumptions.table:,}, `[cost] table`", scan=step is None,
        )
    if ranges is None:
        return Driver(assumptions.per_parent, Growth.PER_PARENT, f"{table} in an index range", f"N assumed {assumptions.per_parent}, `[cost] per-parent`")
    if any(is_tenant_field(f) for f in equal[:1]) and len(equal) == 1:
        return Driver(
            assumptions.per_tenant, Growth.PER_TENANT, f"{table} of one {equal[0]}",
            f"N assumed {assumptions.per_tenant} per tenant, `[cost] per-tenant`", range_of=(table, tuple(equal)),
        )
    key = ", ".join(equal)
    if reference:
        return Driver(assumptions.reference, Growth.BOUNDED, f"{table} with one {key}", reference_why)
    category = all(is_category_field(f) for f in equal)
    if category and (flag := _singular_flag(ranges or [])) is not None:
        return Driver(
            assumptions.per_parent, Growth.BOUNDED, f"{table} with `{flag}` true",
            f"N assumed at most {assumptions.per_parent}: `{flag}` marks the one (or few) chosen row(s), "
            "not a share of the table (`[cost] per-parent`)",
        )
    if category and (transient := _transient_state(ranges or [])) is not None:
        return Driver(
            assumptions.in_flight, Growth.BOUNDED, f"{table} with {key} `{transient}` (rows in flight)",
            f"N assumed {assumptions.in_flight}: `{transient}` is a state rows pass through, not one they "
            "accumulate in, so the range holds what is in flight (`[cost] in-flight`)",
        )
    if category:
        share = max(1, assumptions.table * assumptions.conditional_share // 100)
        return Driver(
            share, Growth.WHOLE_TABLE, f"{table} with one {key} (a share of the table)",
            f"N assumed {share:,}: an equality on a category, not a parent, selects "
            f"{assumptions.conditional_share}% of a {assumptions.table:,}-document table (`[cost] conditional-share` of `table`)",
        )
    if (identity := _item_identity(equal)) is not None:
        return Driver(
            assumptions.per_parent, Growth.PER_PARENT, f"{table} with one {key} (one item's rows)",
            f"N assumed {assumptions.per_parent}: `{identity}` identifies one item (a dedupe or "
            "idempotency key, a handle, a hash), so the range holds its few copies, not a parent's "
            "children (`[cost] per-parent`)",
        )
    if is_log_range(table, equal, index_fields(chain, schema), assumptions):
        closes = _closing_parent(equal, table, assumptions)
        if closes is not None:
            return Driver(
                assumptions.per_closed_parent, Growth.PER_PARENT, f"{table} per {key} (one {closes}'s: stops growing when it closes)",
                f"N assumed {assumptions.per_closed_parent}: a {closes} is opened, worked and closed, so its log holds "
                f"the entries of one lifetime (`[cost] per-closed-parent`; list `{table}` in `[cost] log-tables` if its "
                f"{closes}s stay open)",
            )
        if (since := _window_start(ranges or [], equal)) is not None:
            return Driver(
                assumptions.per_parent, Growth.PER_PARENT, f"{table} per {key} since a given `{since}`",
                f"N assumed {assumptions.per_parent}: the range starts at a `{since}`, so it holds a window "
                "of the log, not its whole history (`[cost] per-parent`)",
            )
        return Driver(
            assumptions.per_parent_log, Growth.PER_PARENT_LOG, f"{table} per {key} (a log: grows over time)",
            f"N assumed {assumptions.per_parent_log:,} per parent for a log/feed table, `[cost] per-parent-log`",
        )
    return Driver(
        assumptions.per_parent, Growth.PER_PARENT, f"{table} per {key}",
        f"N assumed {assumptions.per_parent} per parent, `[cost] per-parent`", range_of=(table, tuple(equal)),
    )


# Parents with a lifecycle: an issue, a ticket, an order or a job is opened, worked and closed, so
# the log kept under one of them (an issue's messages, an order's status history, a run's log
# lines) holds one lifetime's entries, not an ever-growing
# history. Labelled minor on the corpus wherever it was read whole (benchmarks/signal.md).
# Not conversations, threads, chats, channels or rooms: a direct-message conversation never
# closes, and an owner (a user, an org) or a long-lived subscription or form keeps collecting.
_CLOSING_PARENTS = frozenset(
    {"issue", "ticket", "order", "shipment", "return", "request", "run", "job", "task", "token",
     "invoice", "booking", "appointment"}
)


# Fields that identify one item rather than a parent: an equality on them selects that item's
# copies (a dedupe key's duplicates, an idempotent request's retries, a message by its handle).
_IDENTITY_WORDS = frozenset({"dedupe", "dedup", "idempotency", "handle", "hash", "fingerprint", "checksum"})


def _item_identity(equal: list[str]) -> str | None:
    """The equality field that identifies one item (`dedupeKey`, `idempotency_key`,
    `messageHandle`, `contentHash`), or None."""
    for name in equal:
        words = _words(name)
        if words[-1] in _IDENTITY_WORDS or (words[-1] == "key" and any(w in _IDENTITY_WORDS for w in words[:-1])):
            return name
    return None


def _closing_parent(equal: list[str], table: str, assumptions: CostAssumptions) -> str | None:
    """The lifecycle word of the key a log range is read under (`issueId` -> "issue",
    `automation_run_id` -> "run"), or None. A table
    configured in `[cost] log-tables` is a log under any key."""
    if not equal or table in assumptions.log_tables:
        return None
    words = _words(equal[-1])
    if len(words) > 1 and words[-1] == "id":
        words = words[:-1]
    word = words[-1]
    return word if word in _CLOSING_PARENTS else None


# Flags that mark the one chosen row of a set when true: the default region, the primary address.
_SINGULAR_FLAG = re.compile(r"^(?:is_?)?(?:default|primary|main|current|selected)$", re.IGNORECASE)


def _window_start(ranges: list[IndexRange], equal: list[str]) -> str | None:
    """`q.eq("userId", id).gte("createdAt", monthStart)`: the field of a lower bound that
    follows the equalities, when a range reads a window of a log from some time on."""
    for item in ranges:
        if item.op in ("gt", "gte") and item.field not in equal:
            return item.field
    return None


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """`q.gte("createdAt", since)` with no equality before it: the table's rows from a time on."""

    field: str
    span_ms: float | None  # `Date.now() - 60 * 60 * 1000`: how far back, when the code says
    ends: bool  # an upper bound too (`.lte("date", endDate)`): a span between two times

    def describe(self) -> str:
        """`of the last 30 days`, `between two `date` values`, `from a given `createdAt` on`."""
        if self.span_ms is not None and not self.ends:
            return f"of the last {_duration(self.span_ms)}"
        if self.ends:
            return f"between two `{self.field}` values"
        return f"from a given `{self.field}` on"


# A window that reaches back at most this far holds what arrived in it, like rows in flight.
RECENT_WINDOW_MS = 24 * 60 * 60 * 1000


def time_window(chain: QueryChain) -> TimeWindow | None:
    """The time window a chain's index range reads, when it has no equality (see `_time_window`)."""
    step = chain.index_step
    ranges = parse_index_ranges(step) if step is not None else None
    if not ranges or any(r.op == "eq" for r in ranges):
        return None
    return _time_window(ranges)


def _time_window(ranges: list[IndexRange]) -> TimeWindow | None:
    """The lower bound of a range with no equality, when its field is a time (`createdAt`,
    `created_at`, `_creationTime`, `timestamp`, `date`): the range reads from then on."""
    for item in ranges:
        if item.op in ("gt", "gte") and _WINDOW_FIELD.search(item.field):
            ends = any(other.op in ("lt", "lte") and other.field == item.field for other in ranges)
            return TimeWindow(item.field, _span_back(item.value_node), ends)
    return None


# `created_at`, `_creationTime`, `timestamp`, `date`; camelCase `createdAt`, `startTime`,
# `timeMs` case-sensitively (a lowercase `at`/`time` ending is `format`, `seat`, `runtime`).
_WINDOW_FIELD = re.compile(
    r"(?i:(?:^|_)(?:creation_?time|created|timestamp|date|time|at|day|ms)$|^(?:date|day|timestamp|time))"
    r"|[a-z](?:At|Time|Date|Day|Ms|Timestamp)$"
)


def window_of_table(table: str, window: TimeWindow, assumptions: CostAssumptions) -> Driver:
    """A time window over a whole table: small when the code reaches back a short fixed span,
    else as big as the span asked for (the table, at worst)."""
    if window.span_ms is not None and window.span_ms <= RECENT_WINDOW_MS and not window.ends:
        return Driver(
            assumptions.in_flight, Growth.BOUNDED, f"{table} {window.describe()}",
            f"N assumed {assumptions.in_flight}: the range starts {_duration(window.span_ms, '1 ')} ago at "
            f"`{window.field}`, so it holds what arrived since, not the table (`[cost] in-flight`)",
        )
    return Driver(
        assumptions.table, Growth.WHOLE_TABLE, f"{table} {window.describe()}",
        f"table size assumed {assumptions.table:,}, `[cost] table`: a window of the table holds as much of it "
        "as the span covers, at worst all of it",
    )


def _duration(ms: float, single: str = "") -> str:
    """`3 days`, `hour` (after "the last"), or `1 hour` (with `single="1 "`)."""
    for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if ms >= size and ms % size == 0:
            count = int(ms // size)
            return f"{count} {unit}s" if count != 1 else f"{single}{unit}"
    return f"{ms / 1000:g} seconds"


def _span_back(value: Node | None) -> float | None:
    """How far back `Date.now() - <ms>` reaches (through a `const` in scope, `new Date(...)`
    and `.toISOString()`), or None when the start is not now minus a constant."""
    value = _local_value(unwrap(value))
    if value is None:
        return None
    if value.type == "call_expression":  # `new Date(Date.now() - ms).toISOString()`
        function = value.child_by_field_name("function")
        if function is not None and function.type == "member_expression":
            return _span_back(function.child_by_field_name("object"))
        return None
    if value.type == "new_expression":
        args = call_args(value)
        return _span_back(args[0]) if len(args) == 1 else None
    if value.type != "binary_expression" or text_of(value.child_by_field_name("operator")) != "-":
        return None
    left = _local_value(unwrap(value.child_by_field_name("left")))
    if left is None or text_of(left).replace(" ", "") != "Date.now()":
        return None
    return _constant(value.child_by_field_name("right"))


def _constant(node: Node | None) -> float | None:
    """The value of numeric literals joined by `*`, `+`, `-` (no names, no calls)."""
    node = unwrap(node)
    if node is None:
        return None
    if node.type == "number":
        try:
            return float(text_of(node).replace("_", ""))
        except ValueError:
            return None
    if node.type == "binary_expression":
        left, right = _constant(node.child_by_field_name("left")), _constant(node.child_by_field_name("right"))
        operator = text_of(node.child_by_field_name("operator"))
        if left is None or right is None:
            return None
        return left * right if operator == "*" else left + right if operator == "+" else left - right if operator == "-" else None
    return None


def _local_value(node: Node | None) -> Node | None:
    """`node` itself, or the initial value of the `const` it names in an enclosing block,
    declared before it."""
    if node is None or node.type != "identifier":
        return node
    return enclosing_const(text_of(node), node)


def _singular_flag(ranges: list[IndexRange]) -> str | None:
    """`q.eq("isDefault", true)`: the field, when a range selects the chosen row(s) of a set."""
    for item in ranges:
        if (
            item.op == "eq"
            and _SINGULAR_FLAG.match(item.field)
            and item.value_node is not None
            and text_of(item.value_node) == "true"
        ):
            return item.field
    return None


# States a row passes through on its way somewhere else (a job running, a subscription in
# trial, a message queued): the rows in them at any time are what is in flight, however big the
# table grows. Terminal states (`completed`, `sent`, `archived`) and `active` accumulate.
_TRANSIENT_STATES = frozenset(
    {"pending", "queued", "running", "processing", "in_progress", "inprogress", "trialing",
     "pending_cancel", "pending_cancellation", "scheduled", "retrying", "starting", "uploading",
     "generating", "importing", "syncing", "in_flight", "claimed", "locked"}
)


def _transient_state(ranges: list[IndexRange]) -> str | None:
    """The transient state a category range selects (`q.eq("status", "running")`), if any."""
    for item in ranges:
        if item.op != "eq" or item.value_node is None:
            continue
        value = string_value(item.value_node)
        if value is not None and value.lower().replace("-", "_") in _TRANSIENT_STATES:
            return value
    return None


def _reference_why(table: str, assumptions: CostAssumptions) -> str | None:
    """The stated assumption when `table` is taken for a small reference table (by its name, or
    because only platform admins create its rows), else None."""
    if is_reference_table(table, assumptions):
        why = "is taken for a reference table by its name"
    elif table not in assumptions.growing_tables and (where := assumptions.admin_evidence(table)) is not None:
        why = f"gets rows only behind a platform admin check ({where})"
    else:
        return None
    return (
        f"`{table}` {why}: at most {assumptions.reference} documents assumed "
        "(`[cost] reference`; list it in `[cost] growing-tables` if it grows with your data)"
    )


@cache
def _declarator_query(language: Language) -> Query:
    return Query(
        language,
        """
        (variable_declarator name: (identifier) @name value: (_) @value)
        (assignment_expression left: (identifier) @name right: (_) @value)
        """,
    )


def _declared_value(name: str, function: FunctionModel | None, before: int, language: Language) -> Node | None:
    """The value `name` holds at `before`: its declaration, or the last assignment after it that
    always runs before `before` (`xs = xs.slice(0, limit)` after some conditional filters: the
    loop over `xs` sees the window, not the whole list)."""
    if function is None:
        return None
    found: Node | None = None
    # A query over the byte range (run in C) rather than a walk of the function's nodes:
    # long handlers made this walk a visible share of a whole check.
    cursor = QueryCursor(_declarator_query(language))
    cursor.set_byte_range(function.node.start_byte, max(function.node.start_byte, before))
    for _pattern, capture in cursor.matches(function.node):
        declarator_start = capture["name"][0].start_byte
        if declarator_start >= before or text_of(capture["name"][0]) != name:
            continue
        value = capture["value"][0]
        if value.end_byte > before:
            continue  # `xs = xs.slice(0, k)`: the `xs` inside is the value before this assignment
        if value.parent is not None and value.parent.type == "assignment_expression" and not _always_before(value.parent, before):
            continue  # assigned under a condition (or in a callback): the declaration still bounds nothing less
        if found is None or value.start_byte > found.start_byte:
            found = value
    return unwrap(found) if found is not None else None


def _always_before(assignment: Node, before: int) -> bool:
    """Whether an assignment is a statement of a block that also holds `before`: it runs on
    every path to `before`, not only under an `if` or inside a loop or callback of its own."""
    statement = assignment.parent
    if statement is None or statement.type != "expression_statement":
        return False
    block = statement.parent
    return block is not None and block.start_byte <= before < block.end_byte


def _read_in(node: Node, model: FileModel) -> DbRead | None:
    """The outermost read whose chain ends inside `node` (the query a value was built from)."""
    best: DbRead | None = None
    for read in model.reads:
        if read.chain is None:
            continue
        end = read.chain.end
        if node.start_byte <= end.start_byte and end.end_byte <= node.end_byte and (
            best is None or end.end_byte - end.start_byte > best.chain.end.end_byte - best.chain.end.start_byte  # type: ignore[union-attr]
        ):
            best = read
    return best


def _slice_window(args: list[Node]) -> Node | None:
    """The window size of `.slice(start, start + k)` / `.slice(0, k)` (a page of a list):
    the node `k`, or None when the slice is not a window of a stated size."""
    if len(args) != 2:
        return None
    start, end = unwrap(args[0]), unwrap(args[1])
    if start is None or end is None:
        return None
    if end.type == "binary_expression" and text_of(end.child_by_field_name("operator")) == "+":
        left, right = unwrap(end.child_by_field_name("left")), unwrap(end.child_by_field_name("right"))
        if left is not None and right is not None and text_of(left) == text_of(start):
            return right
    if start.type == "number" and text_of(start) == "0":
        return end
    return None


def window_driver(size: Node, assumptions: CostAssumptions) -> Driver:
    """A slice of at most `size` items: its literal value, else a page-sized assumption."""
    text = text_of(size)
    if size.type == "number":
        return Driver(max(int(float(text)), 0), Growth.BOUNDED, f"`.slice(…, {text})` window", None)
    return Driver(assumptions.page, Growth.BOUNDED, f"a window of `{text}` items", f"`{text}` assumed {assumptions.page}, `[cost] page`")


def collection_driver(
    node: Node | None,
    model: FileModel,
    function: FunctionModel | None,
    assumptions: CostAssumptions,
    depth: int = 0,
    schema: Schema | None = None,
    trigger: str | None = None,
) -> Driver:
    """What drives the size of the collection a loop iterates (`trigger`: see `chain_driver`)."""
    node = unwrap(node)
    unknown = Driver(assumptions.per_parent, Growth.PER_PARENT, "items of unknown source", f"N assumed {assumptions.per_parent}: size not traced, `[cost] per-parent`")
    if node is None or depth > 5:
        return unknown
    if depth == 0:
        short = " ".join(text_of(node).split())
        short = short if len(short) <= 40 else short[:39] + "…"
        unknown = Driver(assumptions.per_parent, Growth.PER_PARENT, f"`{short}`", f"N assumed {assumptions.per_parent}: size not traced, `[cost] per-parent`")
    while node is not None and node.type == "await_expression" and node.named_children:
        node = unwrap(node.named_children[0])
    if node is None:
        return unknown
    text = " ".join(text_of(node).split())
    if node.type == "array":
        elements = [c for c in node.named_children if c.type != "comment"]
        if elements and all(e.type != "spread_element" for e in elements):
            return Driver(len(elements), Growth.CONSTANT, f"{len(elements)} literal items", None)
        if len(elements) == 1 and elements[0].type == "spread_element" and elements[0].named_children:
            return collection_driver(elements[0].named_children[0], model, function, assumptions, depth + 1, schema, trigger)
    if node.type == "call_expression":
        read = _read_in(node, model)
        callee = node.child_by_field_name("function")
        method = text_of(callee.child_by_field_name("property")) if callee is not None and callee.type == "member_expression" else ""
        args = call_args(node)
        if method == "slice" and len(args) == 2 and args[0].type == "number" and args[1].type == "number":
            bound = int(float(text_of(args[1]))) - int(float(text_of(args[0])))
            return Driver(max(bound, 0), Growth.BOUNDED, f"`.slice({text_of(args[0])}, {text_of(args[1])})`", None)
        window = _slice_window(args) if method == "slice" else None
        if window is not None and callee is not None:
            # A window of a list is at most the window and at most the list.
            whole = collection_driver(callee.child_by_field_name("object"), model, function, assumptions, depth + 1, schema, trigger)
            bounded = window_driver(window, assumptions)
            return bounded if bounded.size < whole.size else whole
        if read is not None and read.chain is not None and read.chain.end.end_byte >= node.end_byte - 1:
            return chain_driver(read.chain, assumptions, schema, trigger)
        if method == "filter" and callee is not None and args and not _keeps_present(args[0]):
            # `rows.filter((r) => r.status === "escalated")`: a share of the list, not all of it.
            whole = collection_driver(callee.child_by_field_name("object"), model, function, assumptions, depth + 1, schema, trigger)
            return filtered_driver(whole, assumptions)
        if method in ("map", "filter", "flatMap", "slice", "concat", "sort", "reverse", "toSorted", "keys", "values", "entries"):
            receiver = callee.child_by_field_name("object") if callee is not None else None
            return collection_driver(receiver, model, function, assumptions, depth + 1, schema, trigger)
        if text_of(callee) in ("Promise.all", "Array.from", "Object.values", "Object.keys", "Object.entries") and args:
            return collection_driver(args[0], model, function, assumptions, depth + 1, schema, trigger)
        if read is not None and read.chain is not None:
            return chain_driver(read.chain, assumptions, schema, trigger)
        return unknown
    if node.type == "member_expression":
        obj = unwrap(node.child_by_field_name("object"))
        args_name = function.args_param if function is not None else None
        if obj is not None and obj.type == "identifier" and args_name and text_of(obj) == args_name:
            return Driver(assumptions.client_array, Growth.BOUNDED, f"client-supplied `{text}`", f"N assumed {assumptions.client_array}, `[cost] client-array`")
        if (obj is not None and text_of(obj) in ("page", "result", "results")) or text.endswith(".page"):
            return Driver(assumptions.page, Growth.BOUNDED, f"a page (`{text}`)", f"numItems assumed {assumptions.page}, `[cost] page`")
        # An array field of one document (`team.memberIds`): grows with that document.
        return Driver(assumptions.per_parent, Growth.PER_PARENT, f"`{text}`", f"N assumed {assumptions.per_parent}, `[cost] per-parent`")
    if node.type == "identifier":
        name = text_of(node)
        if function is not None and name in function.args_names and (function.args_param is None):
            return Driver(assumptions.client_array, Growth.BOUNDED, f"client-supplied `{name}`", f"N assumed {assumptions.client_array}, `[cost] client-array`")
        scope = function
        while scope is not None:
            value = _declared_value(name, scope, node.start_byte, model.source.language)
            if value is not None:
                return collection_driver(value, model, function, assumptions, depth + 1, schema, trigger)
            if name in scope.args_names:
                return Driver(assumptions.client_array, Growth.BOUNDED, f"client-supplied `{name}`", f"N assumed {assumptions.client_array}, `[cost] client-array`")
            scope = scope.parent
        return unknown
    return unknown


def filtered_driver(whole: Driver, assumptions: CostAssumptions) -> Driver:
    """The items of `whole` a `.filter(...)` keeps: `conditional-share` percent of them (at least
    one), growing as the list does; a list of a few known items is kept as it is."""
    if whole.growth is Growth.CONSTANT or (whole.growth is Growth.BOUNDED and whole.assumption is None):
        return whole  # `[a, b, c].filter(...)`, `.slice(0, 5)`: a stated size, an upper bound
    if whole.phrase.endswith(", filtered"):
        return whole  # `.filter(a).filter(b)`: one share assumed for the filters together
    share = assumptions.conditional_share
    kept = max(1, -(-whole.size * share // 100))
    said = f"`.filter(…)` assumed to keep {share}% of them (`[cost] conditional-share`)"
    return Driver(
        kept, whole.growth, f"{whole.phrase}, filtered",
        f"{whole.assumption}; {said}" if whole.assumption else said,
        scan=whole.scan, kept=whole.kept,
    )


# `Boolean`, `(x) => x`, `(x) => !!x`, `(x) => x !== null`, `(x): x is Doc => x != undefined`:
# a filter that drops only missing values keeps nearly every item.
_PRESENT = re.compile(r"^\(*!*\(*(?P<name>[A-Za-z_$][\w$]*)\)*(?:\s*!==?\s*(?:null|undefined))?\)*$")


def _keeps_present(callback: Node) -> bool:
    """Whether a `.filter` callback only drops missing values (`Boolean`, `(x) => x !== null`)."""
    callback = unwrap(callback) or callback
    if callback.type == "identifier":
        return text_of(callback) == "Boolean"
    if callback.type not in ("arrow_function", "function_expression"):
        return False
    name = _first_parameter(callback)
    body = callback.child_by_field_name("body")
    if body is not None and body.type == "statement_block":
        statements = [c for c in body.named_children if c.type != "comment"]
        body = statements[0].named_children[0] if len(statements) == 1 and statements[0].type == "return_statement" and statements[0].named_children else None
    match = _PRESENT.match(" ".join(text_of(body).split())) if body is not None else None
    return match is not None and match.group("name") == name


def loop_driver(
    loop: Loop,
    model: FileModel,
    function: FunctionModel | None,
    assumptions: CostAssumptions,
    schema: Schema | None = None,
    trigger: str | None = None,
) -> Driver:
    if not loop.iterates_collection:
        return Driver(assumptions.per_parent, Growth.PER_PARENT, f"iterations of the `{loop.kind}` loop", f"N assumed {assumptions.per_parent}, `[cost] per-parent`")
    return collection_driver(loop.collection_node, model, function, assumptions, schema=schema, trigger=trigger)


def _selected(inner: int, share: int, holds: bool) -> int:
    """Items of a loop of `inner` for which a condition assumed true for `share`% holds (or not)."""
    if inner <= 0:
        return 0
    chosen = -(-inner * share // 100)  # rounded up: a condition selects at least one item
    return min(inner, max(1, chosen if holds else inner - inner * share // 100))


def loop_cost(
    loops: tuple[Loop, ...],
    per_item: int,
    model: FileModel,
    function: FunctionModel | None,
    assumptions: CostAssumptions,
    *,
    sequential: bool,
    unit: str = "reads",
    conditional: tuple[tuple[int, Condition], ...] = (),
    memoised: int = 0,
    schema: Schema | None = None,
    trigger: str | None = None,
) -> Cost:
    """`per_item` reads (or calls) once per item of every loop in `loops` (outermost first).

    `conditional` names reads (their weight) that run only under a condition: a condition is
    assumed to hold for `conditional-share` percent of the innermost loop's items (its reads run
    for those, or for the rest when they run where it fails: `else`, `||`, after `if (...)
    continue`), and the formula says so rather than claim every item. `memoised` reads go
    through a memoising cache: one read per distinct key, every key assumed distinct (an upper
    bound, stated)."""
    drivers = tuple(loop_driver(loop, model, function, assumptions, schema, trigger) for loop in loops)
    full = 1
    for driver in drivers:
        full *= max(driver.size, 0)
    guarded = sum(weight for weight, _ in conditional) if drivers else 0
    count = full * (per_item - guarded)
    terms = [d.term for d in drivers]
    base = " x ".join(terms) if terms else "1"
    extra: list[str] = []
    if guarded:
        inner = max(drivers[-1].size, 0)
        outer = full // inner if inner else 0
        for weight, condition in conditional:
            count += outer * _selected(inner, assumptions.conditional_share, condition.holds) * weight
        first = conditional[0][1]
        shown = first.text if len(first.text) <= 30 else first.text[:29] + "…"
        where = f"{'only' if first.holds else 'except'} where `{shown}`"
        part = f"{base} x {guarded}, {where}" if guarded != 1 else f"{base}, {where}"
        rest = per_item - guarded
        formula = part if rest == 0 else f"{base} x {rest} + ({part})"
        extra.append(
            f"a condition in the loop assumed true for {assumptions.conditional_share}% of its items "
            f"(`[cost] conditional-share`), at most {full * guarded:,}"
        )
    else:
        formula = base if per_item == 1 else f"{base} x {per_item}"
    if memoised:
        formula += " (one read per distinct key)" if memoised == per_item else f" ({memoised} memoised: one read per distinct key)"
        extra.append("memoised reads: every key assumed distinct (fewer when keys repeat)")
    growth = max((d.growth for d in drivers), default=Growth.CONSTANT)
    assumptions_text = tuple(
        dict.fromkeys(
            [*(d.assumption for d in drivers if d.assumption is not None and d.term != str(d.size)), *extra]
        )
    )
    context = trigger or function_context(function)
    score = count * _CONTEXT_WEIGHT.get(context, 1.0) * (1.5 if sequential else 1.0)
    return Cost(formula, count, assumptions_text, growth, score, unit, context, drivers)


def chain_cost(read: DbRead, assumptions: CostAssumptions, schema: Schema | None = None, trigger: str | None = None) -> Cost:
    """Documents one query chain reads (`trigger`: what runs the function, see `triggers`)."""
    assert read.chain is not None
    driver = chain_driver(read.chain, assumptions, schema, trigger)
    context = trigger or function_context(read.function)
    formula = driver.term
    assumption = (driver.assumption,) if driver.assumption and driver.term != str(driver.size) else ()
    score = driver.size * _CONTEXT_WEIGHT.get(context, 1.0)
    return Cost(formula, driver.size, assumption, driver.growth, score, "reads", context, (driver,))


def kept_small(cost: Cost) -> str | None:
    """Why a read of a table that would grow is small (`loginCodes` is kept small by expiry
    (...)), for the message of a finding whose severity that lowered; None when nothing says."""
    return next((d.kept for d in cost.drivers if d.kept is not None), None)


def nested_multiplies(cost: Cost) -> bool:
    """Two or more loops whose sizes both grow with the data, in a reactive query.

    Outside one (a mutation, an action, a helper) nested loops over one parent's children each
    (an import's items x their fields, a cascade's rows x their children, 10 x 10 assumed) ran
    once per request in every labelled case on the corpus and none was worth fixing first
    (benchmarks/signal.md); a loop that grows past one parent's children makes the cost
    a warning by its growth anyway."""
    return cost.context in REACTIVE and sum(1 for d in cost.drivers if d.growth >= Growth.PER_PARENT) >= 2


# What runs a function on its own (`engine.triggers`): a cron or a scheduling call. A queue is
# drained only while something keeps running the job that drains it; a request a user makes
# when they like (an admin's "archive past events" button) may find years of rows due.
_SCHEDULES = frozenset({CRON, SCHEDULED})
_EXITS = frozenset({"continue_statement", "break_statement", "return_statement", "throw_statement"})
_FUNCTION_NODES = frozenset({"arrow_function", "function_expression", "function_declaration", "method_definition", "function"})


def drained_by(chain: QueryChain) -> str | None:
    """Why a range read to completion holds only what is in flight: the function moves every
    row it reads out of the range, in the loop over the result, `const rows = await ...collect()`
    then `for (const row of rows)` (or `rows.map(...)` / `rows.forEach(...)`):

    - `db.patch(row._id, { state: "archived" })` / `db.replace(...)`, setting a field the range
      holds equal (`q.eq("state", "published")`) to another literal value;
    - `db.delete(row._id)`.

    The write must run for every row: a statement of the loop's own body (not under an `if`),
    with no `continue`, `break`, `return` or `throw` before it. A row skipped stays in the range
    and the range grows by it on every run. Returns the clause quoting the write and its line
    (`every row it reads is moved out of the range: `ctx.db.patch(e._id, { state: "archived" })`
    (line 12) sets `state` to "archived", not "published"`), or None."""
    name = _result_name(chain.end)
    ranges = parse_index_ranges(chain.index_step) if chain.index_step is not None else None
    if name is None or not ranges:
        return None
    if not all(_now_based(r.value_node) for r in ranges if r.op != "eq"):
        return None  # a bound a caller passes (`lt("createdAt", args.before)`) may reach back years
    equal = {r.field: r.value_node for r in ranges if r.op == "eq" and "." not in r.field}
    scope = _enclosing_function(chain.end)
    if scope is None:
        return None
    for item, statements in _loops_over(name, scope, chain.end.end_byte):
        for statement in statements:
            write = _row_write(statement, item)
            if write is not None:
                verdict = _moves_out(write, equal)
                if verdict is not None:
                    quote, why = verdict
                    return f"every row it reads {why}: `{quote}` (line {write.start_point[0] + 1})"
            if _has_exit(statement):
                break  # a row may leave the loop body before the write: it stays in the range
    return None


def _result_name(end: Node) -> str | None:
    """`rows` in `const rows = await <chain>` (a `let` may be cut down before the loop:
    `rows = rows.filter(...)` leaves the rows it drops in the range)."""
    node = end.parent
    while node is not None and node.type in ("await_expression", "parenthesized_expression", "as_expression", "non_null_expression"):
        node = node.parent
    if node is None or node.type != "variable_declarator":
        return None
    declaration = node.parent
    if declaration is None or text_of(declaration.child_by_field_name("kind")) != "const":
        return None
    target = node.child_by_field_name("name")
    return text_of(target) if target is not None and target.type == "identifier" else None


def _enclosing_function(node: Node) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type not in _FUNCTION_NODES:
        parent = parent.parent
    return parent


def _loops_over(name: str, scope: Node, after: int) -> list[tuple[str, list[Node]]]:
    """(item, the statements of the body run once per item) of each loop over `name` after
    `after` in `scope`, not inside a nested function: `for (const x of name)`,
    `name.map((x) => ...)`, `name.forEach(...)`, `Promise.all(name.map(...))`."""
    found: list[tuple[str, list[Node]]] = []
    stack = [scope.child_by_field_name("body")]
    while stack:
        node = stack.pop()
        if node is None or node.end_byte <= after:
            continue
        if node.start_byte >= after and node.type == "for_in_statement" and any(c.type == "of" for c in node.children):
            left, right = node.child_by_field_name("left"), unwrap(node.child_by_field_name("right"))
            body = node.child_by_field_name("body")
            if left is not None and left.type == "identifier" and right is not None and text_of(right) == name and body is not None:
                found.append((text_of(left), _statements(body)))
        if node.start_byte >= after and node.type == "call_expression":
            callee = node.child_by_field_name("function")
            args = call_args(node)
            if (
                callee is not None
                and callee.type == "member_expression"
                and text_of(callee.child_by_field_name("object")) == name
                and text_of(callee.child_by_field_name("property")) in ("map", "forEach")
                and args
                and args[0].type in ("arrow_function", "function_expression")
            ):
                item = _first_parameter(args[0])
                body = args[0].child_by_field_name("body")
                if item is not None and body is not None:
                    found.append((item, _statements(body)))
        if node.type in _FUNCTION_NODES and node is not scope:
            continue
        stack.extend(reversed(node.named_children))
    return found


def _first_parameter(function: Node) -> str | None:
    """The first parameter's name (`x` of `x => …` or `(x: Doc, i) => …`), None for a pattern."""
    params = function_params(function)
    pattern = param_pattern(params[0]) if params else None
    return text_of(pattern) if pattern is not None and pattern.type == "identifier" else None


def _statements(body: Node) -> list[Node]:
    """A loop body's statements in order (an arrow function's expression body is one)."""
    if body.type == "statement_block":
        return [c for c in body.named_children if c.type != "comment"]
    return [body]


def _row_write(statement: Node, item: str) -> Node | None:
    """`await ctx.db.patch(item._id, {...})` / `.replace(...)` / `.delete(item._id)` as the
    statement itself (an expression statement or an arrow function's body): the call."""
    node: Node | None = statement
    if node is not None and node.type == "expression_statement":
        node = node.named_children[0] if node.named_children else None
    while node is not None and node.type in ("await_expression", "parenthesized_expression"):
        node = node.named_children[0] if node.named_children else None
    if node is None or node.type != "call_expression":
        return None
    callee = node.child_by_field_name("function")
    if callee is None or callee.type != "member_expression":
        return None
    method = text_of(callee.child_by_field_name("property"))
    target = text_of(callee.child_by_field_name("object"))
    args = call_args(node)
    if method not in ("patch", "replace", "delete") or not (target == "db" or target.endswith(".db")) or not args:
        return None
    return node if text_of(args[0]).replace(" ", "") == f"{item}._id" else None


def _literal(node: Node | None) -> str | None:
    """A literal's value as written (`"archived"`, `true`, `3`), or None when not one."""
    node = unwrap(node)
    if node is None:
        return None
    value = string_value(node)
    if value is not None:
        return f'"{value}"'
    return text_of(node) if node.type in ("true", "false", "number", "null") else None


def _moves_out(write: Node, equal: dict[str, Node | None]) -> tuple[str, str] | None:
    """(the write quoted down to what matters, what it does to each row) when it takes the row
    out of a range holding `equal`'s fields at those values."""
    callee = write.child_by_field_name("function")
    method = text_of(callee.child_by_field_name("property")) if callee is not None else ""
    args = call_args(write)
    head = f"{text_of(callee)}({text_of(args[0])}"
    if method == "delete":
        return f"{head})", "is deleted"
    fields = unwrap(args[1]) if len(args) > 1 else None
    if fields is None or fields.type != "object":
        return None
    for pair in fields.named_children:
        if pair.type != "pair":
            continue
        key = pair.child_by_field_name("key")
        field_name = string_value(key) if key is not None and key.type == "string" else text_of(key)
        if field_name not in equal:
            continue
        was, now = _literal(equal[field_name]), _literal(pair.child_by_field_name("value"))
        if was is not None and now is not None and was != now:
            rest = ", …" if len(fields.named_children) > 1 else ""
            return f"{head}, {{ {text_of(pair)}{rest} }})", f"leaves the range (`{field_name}` {now}, not {was})"
    return None


def _has_exit(statement: Node) -> bool:
    """Whether a statement may end the iteration early (`continue`, `break`, `return`, `throw`
    anywhere in it, outside a nested function)."""
    stack = [statement]
    while stack:
        node = stack.pop()
        if node.type in _EXITS:
            return True
        if node.type in _FUNCTION_NODES:
            continue
        stack.extend(node.named_children)
    return False


def _now_based(value: Node | None) -> bool:
    """`Date.now()`, `new Date()...`, or a `const` in scope holding one (`now`, `Date.now() - DAY`):
    a bound that moves with the clock, so each run reaches only past the previous one's."""
    value = _local_value(unwrap(value))
    text = text_of(value).replace(" ", "")
    return "Date.now()" in text or "newDate(" in text
