"""One schema plan per run: which indexes every query uses, which to add, which to remove.

Every index rule used to plan on its own: `unused-index` deleted an index that
`redundant-index` was sending queries to, `filter-on-query` pointed a query at an index
`unused-index` deleted in the same run, and the "did you mean" fix of `unknown-index` renamed
a query to an index whose fields its range does not have. Applied together, the fixes broke
code. Here the whole workspace is planned at once, per table of each application schema:

1. **Uses.** Every query naming an index (`IndexUsage`) with its range and whether it asks
   for an order (`.order("desc")`: creation-time order within the index's last field), every
   `.filter()` that an index could take over (the index `filter-on-query` would choose), and
   every query on an index the table lacks (`unknown-index`: the existing index its range fits).
2. **Additions.** A filter whose fields no index covers needs a new index. One whose fields
   are a prefix of another planned addition's joins it (unless it asks for an order), so no
   planned index is redundant with another; an existing index that covers the fields is
   always used instead of adding one (`plan_filter_index` reuses it). Names never collide
   with an existing index.
3. **Removals.** An index no use needs is unused. A database index whose fields are a prefix
   of a kept index's (or repeat them) is redundant when every use can move there: the range
   stays valid on the longer index, the query asks for no order, and the name is a literal
   the fix can rename. Longer indexes are decided first, so a removed index never serves as
   another's replacement, and an index that is itself removed as unused is never a target.

In a Convex root whose data model is at TypeScript's instantiation-depth limit (the app's own
TS2589 directives sit on its queries, reads or validators: `root_at_depth_limit`), the plan adds
no index: a new index grows the data model's type, which moves the limit and collapses document
types in code no fix touched. Its filters and misspelt names still count as uses of the existing
indexes they would move to; those that need a new index keep their finding, with no edit.

Rules read their advice from here, so no fix points a query at an index another fix deletes,
and the report's schema tables are the plan's additions and removals. The plan lives on the
workspace's memo, recomputed when a file, a schema or the configuration changes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from convex_xray.engine.analysis.chains import parse_index_ranges
from convex_xray.engine.config import Config
from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import FileModel, IndexRef, QueryChain
from convex_xray.engine.schema import Index, Schema, Table
from convex_xray.engine.source import SourceFile
from convex_xray.engine.workspace import Workspace
from convex_xray.rules.support.add_index import (
    CREATION_TIME,
    NAMING_STYLES,
    SYSTEM_FIELDS,
    IndexPlan,
    index_key,
    naming_style,
    plan_filter_index,
    style_name,
    valid_range,
)
from convex_xray.rules.support.index_usage import MERGED_USAGE, IndexUsage, cached_file_usage, compute_usage
from convex_xray.rules.support.untyped import root_at_depth_limit


@dataclass(frozen=True, slots=True)
class Bound:
    """One condition of a range, as the plan needs it: `eq` on `orgId`."""

    op: str
    field: str


def relies_on_order(chain: QueryChain | None) -> bool:
    """The query asks for an order explicitly (`.order("desc")`: newest first)."""
    return chain is not None and bool(chain.steps_named("order"))


@dataclass(slots=True)
class Use:
    """A query that needs an index: its range (None when not statically known) and order."""

    path: Path
    offset: int
    ranges: tuple[Bound, ...] | None
    ordered: bool
    kind: str  # "query" (names the index), "filter" (filter-on-query's rewrite), "unknown-index"
    renamable: bool = True  # the name is a literal a fix can rewrite (always for rewrites)

    def fits(self, index: Index) -> bool:
        """The range stays a valid range on `index`."""
        return self.ranges is not None and valid_range(self.ranges, index_key(index))


@dataclass(slots=True)
class Addition:
    """An index the plan adds: the filters (or missing-index queries) it serves."""

    table: str
    fields: list[str]
    name: str
    reason: str
    serves: list[Use] = field(default_factory=list)


@dataclass(slots=True)
class Removal:
    """An index the plan removes: unused, or redundant with `target` (its uses move there)."""

    index: Index
    reason: str  # "unused" | "redundant"
    target: Index | None = None
    moved: list[Use] = field(default_factory=list)


@dataclass(slots=True)
class Redundancy:
    """A prefix index the plan keeps although a longer one could serve it, and why."""

    index: Index
    target: Index
    why: str  # "order" (a query relies on its order) | "range" | "name" (uses a fix cannot rename)
    uses: list[Use] = field(default_factory=list)


@dataclass(eq=False)
class TablePlan:
    schema: Schema
    table: Table
    uses: dict[str, list[Use]] = field(default_factory=dict)  # existing index name -> uses
    removals: dict[str, Removal] = field(default_factory=dict)
    kept_redundant: dict[str, Redundancy] = field(default_factory=dict)
    additions: dict[str, Addition] = field(default_factory=dict)  # by name
    # New fields a filter needs -> the addition that serves them (itself, or a longer one).
    serving: dict[tuple[str, ...], Addition] = field(default_factory=dict)

    def kept(self, index: Index) -> bool:
        return index.name not in self.removals

    def view(self) -> Table:
        """The table as the plan leaves it: without the indexes it removes."""
        if not self.removals:
            return self.table
        kept = {n: i for n, i in self.table.indexes.items() if n not in self.removals}
        return replace(self.table, indexes=kept)

    def replacement(self, name: str) -> Index | None:
        removal = self.removals.get(name)
        return removal.target if removal is not None else None


@dataclass
class SchemaPlan:
    tables: dict[tuple[Path, str], TablePlan] = field(default_factory=dict)
    style: str = NAMING_STYLES[0]
    # When a set, every (schema, table) the rules ask `table` about goes in it: the CLI's
    # shards check each file against an empty plan and record what it asked, so the parent
    # re-checks a file only where the whole plan's answer for one of those tables differs.
    asked: set[tuple[Path, str]] | None = field(default=None, compare=False, repr=False)

    def table(self, schema: Schema | None, name: str | None) -> TablePlan | None:
        if schema is None or name is None:
            return None
        if self.asked is not None:
            self.asked.add((schema.path, name))
        return self.tables.get((schema.path, name))

    def removed(self, schema: Schema | None, table: str, name: str) -> bool:
        plan = self.table(schema, table)
        return plan is not None and name in plan.removals

    def additions(self) -> list[Addition]:
        return [a for plan in self.tables.values() for a in plan.additions.values()]

    def removals(self) -> list[tuple[TablePlan, Removal]]:
        return [(plan, r) for plan in self.tables.values() for r in plan.removals.values()]

    def filter_plan(
        self, source: SourceFile, chain: QueryChain, table: Table | None, schema: Schema | None
    ) -> IndexPlan | None:
        """The index plan for one filter chain: the choice `plan_filter_index` makes on the
        schema as it is (the one each file's facts recorded), moved to what the plan keeps."""
        style = naming_style([schema]) if schema is not None else self.style
        raw = _raw_filter_plan(source, chain, table, style)
        if raw is None:
            return None
        return _settle(raw, chain, self.table(schema, chain.table))


# -- building ---------------------------------------------------------------------------------


def filter_variants(chain: QueryChain) -> Iterator[QueryChain]:
    """The chain as written, or, with conditional filters (`if (x) q = q.filter(...)`), one
    chain per conditional filter: each runs on its own, so each needs its own index."""
    conditional = [s for s in chain.filter_steps if s.conditional]
    if not conditional:
        yield chain
        return
    fixed = [s for s in chain.steps if not s.conditional]
    if any(s.method == "filter" for s in fixed):
        yield replace(chain, steps=fixed)
    for step in conditional:
        yield replace(chain, steps=[*fixed, step])


def _raw_filter_plan(
    source: SourceFile, chain: QueryChain, table: Table | None, style: str
) -> IndexPlan | None:
    """`plan_filter_index`, except that a query asking for an order is never sent to an
    existing index that returns another order: it gets its own index (which is then not
    redundant either, since the query relies on its order)."""
    plan = plan_filter_index(source, chain, table, style)
    if (
        plan is None
        or plan.existing is None
        or plan.order_preserved
        or table is None
        or not relies_on_order(chain)
    ):
        return plan
    view = table
    for _ in range(len(table.indexes)):
        assert plan is not None and plan.existing is not None
        without = {n: i for n, i in view.indexes.items() if n != plan.existing.name}
        view = replace(view, indexes=without)
        candidate = plan_filter_index(source, chain, view, style)
        if candidate is None:
            return plan
        if candidate.existing is None or candidate.order_preserved:
            return candidate
        plan = candidate
    return plan


def ranges_of(ref: IndexRef) -> tuple[Bound, ...] | None:
    if ref.kind != "withIndex" or ref.chain is None:
        return None  # helpers (getManyFrom...) build their range inside: not ours to move
    step = next((s for s in ref.chain.steps if s.call.id == ref.node.id), None)
    ranges = parse_index_ranges(step) if step is not None else None
    return None if ranges is None else tuple(Bound(r.op, r.field) for r in ranges)


def _conditions(plan: IndexPlan) -> tuple[Bound, ...]:
    return tuple(Bound(c.op, c.field) for c in plan.conditions)


def _needed_fields(plan: IndexPlan) -> tuple[str, ...]:
    return tuple(plan.fields)


def _settle(raw: IndexPlan, chain: QueryChain, table_plan: TablePlan | None) -> IndexPlan:
    """Point a filter's raw plan at what the table plan keeps: the replacement of an index it
    removes, the addition that serves new fields."""
    if table_plan is None:
        return raw
    if raw.existing is not None:
        target = table_plan.replacement(raw.existing.name)
        if target is None:
            return raw
        return _moved(raw, target)
    addition = table_plan.serving.get(_needed_fields(raw))
    if addition is None:
        return raw
    same = addition.fields == raw.fields
    return replace(
        raw,
        fields=list(addition.fields),
        name=addition.name,
        name_taken=False,
        order_preserved=raw.order_preserved and same,
    )


def _moved(raw: IndexPlan, target: Index) -> IndexPlan:
    key = index_key(target)
    position = {name: i for i, name in enumerate(key)}
    eqs = sorted((c for c in raw.conditions if c.op == "eq"), key=lambda c: position.get(c.field, len(key)))
    same = raw.existing is not None and list(raw.existing.fields) == list(target.fields)
    return replace(
        raw,
        fields=list(target.fields),
        name=target.name,
        existing=target,
        conditions=[*eqs, *(c for c in raw.conditions if c.op != "eq")],
        order_preserved=raw.order_preserved and same,
    )


def _unknown_use(model: FileModel, ref: IndexRef, table: Table) -> tuple[Use, tuple[str, ...]] | None:
    """A query on an index `table` lacks, and the fields its range needs in index order."""
    ranges = ranges_of(ref)
    if not ranges:
        return None
    fields = [b.field for b in ranges if b.op == "eq"]
    bound = next((b.field for b in ranges if b.op != "eq"), None)
    if bound is not None and bound != CREATION_TIME:
        fields.append(bound)
    if not fields or len(set(fields)) != len(fields) or any(f in SYSTEM_FIELDS for f in fields):
        return None
    if not valid_range(ranges, [*fields, CREATION_TIME]):
        return None
    use = Use(model.path, ref.node.start_byte, ranges, relies_on_order(ref.chain), "unknown-index")
    return use, tuple(fields)


def close_match(name: str, table: Table, *, search: bool = False) -> str | None:
    """The one index name close to a misspelt `name` (`unknown-index`'s "did you mean")."""
    candidates = [n for n, i in table.indexes.items() if (i.kind == "searchIndex") == search]
    if not search:
        candidates += ["by_id", "by_creation_time"]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return close[0] if close else None


def unique_index_name(table: Table, fields: Sequence[str], style: str, taken: set[str]) -> str:
    """The index name in the project's style, never one the table (or the plan) already uses
    for other fields (then numbered: `by_region_2`, still in the project's style)."""
    name = style_name(style, fields)
    if name not in taken and table.index(name) is None:
        return name
    base = style_name(style, fields)
    number = 2
    while f"{base}_{number}" in taken or table.index(f"{base}_{number}") is not None:
        number += 1
    return f"{base}_{number}"


@dataclass(frozen=True, slots=True)
class RefFact:
    """A query naming an index (`.withIndex("by_x", ...)`, a helper), as plain data."""

    table: str | None  # None: the table is not known statically
    name: str
    offset: int
    ranges: tuple[Bound, ...] | None
    ordered: bool
    literal: bool


@dataclass(frozen=True, slots=True)
class FilterFact:
    """A `.filter()` an index could take over: the existing index `plan_filter_index` picks
    (None: a new one on `fields`), and the range the rewrite would give it."""

    table: str
    offset: int
    existing: str | None
    fields: tuple[str, ...]
    conditions: tuple[Bound, ...]
    ordered: bool


@dataclass(frozen=True, slots=True)
class UnknownFact:
    """A query on an index its table lacks, with the fields its range needs."""

    table: str
    name: str
    offset: int
    ranges: tuple[Bound, ...]
    fields: tuple[str, ...]
    ordered: bool


@dataclass(slots=True)
class FileFacts:
    """What one file tells the plan; plain data, so worker processes can send it."""

    path: Path
    schema: Path | None  # the governing application schema
    refs: list[RefFact] = field(default_factory=list)
    filters: list[FilterFact] = field(default_factory=list)
    unknown: list[UnknownFact] = field(default_factory=list)
    # False in a root at the data model's depth limit: the plan adds no index for this file.
    adds_indexes: bool = True


def adds_indexes(workspace: Workspace, source: SourceFile) -> bool:
    """Whether the plan may add an index for a query in this file: not in a Convex root whose
    data model is at TypeScript's instantiation-depth limit (a new index deepens its type)."""
    return not root_at_depth_limit(workspace, source)


def _compute_facts(
    workspace: Workspace, model: FileModel, config: Config, schema: Schema | None, adds: bool
) -> FileFacts:
    facts = FileFacts(model.path, schema.path if schema is not None else None, adds_indexes=adds)
    for name, ref in cached_file_usage(workspace, model).named:
        literal = ref.name_node is not None and ref.name_node.type == "string"
        facts.refs.append(
            RefFact(ref.table, name, ref.node.start_byte, ranges_of(ref), relies_on_order(ref.chain), literal)
        )
    if schema is None:
        return facts
    style = naming_style([schema])
    seen: set[tuple[int, ...]] = set()
    for whole in model.chains:
        if not whole.filter_steps or whole.table is None or whole.table in config.small_tables:
            continue
        table = schema.table(whole.table)
        if table is None or not table.indexes_known:
            continue
        for chain in filter_variants(whole):
            key = tuple(step.call.id for step in chain.filter_steps)
            if key in seen:
                continue
            seen.add(key)
            raw = _raw_filter_plan(model.source, chain, table, style)
            if raw is None:
                continue
            existing = raw.existing.name if raw.existing is not None else None
            if existing is not None and existing not in table.indexes:
                continue  # an implicit index (`by_creation_time`): nothing to plan
            if existing is None and not adds:
                continue  # a new index, which this root's data model cannot take
            facts.filters.append(
                FilterFact(whole.table, chain.root.start_byte, existing, tuple(raw.fields), _conditions(raw), relies_on_order(chain))
            )
    for ref in model.index_refs:
        if ref.kind != "withIndex" or ref.name is None or ref.table is None:
            continue
        table = schema.table(ref.table)
        if table is None or not table.indexes_known or table.index(ref.name) is not None:
            continue
        found = _unknown_use(model, ref, table)
        if found is not None:
            use, fields = found
            assert use.ranges is not None
            facts.unknown.append(UnknownFact(ref.table, ref.name, use.offset, use.ranges, fields, use.ordered))
        elif ranges_of(ref) == ():
            # No range (`.withIndex("by_tokn")`): any index takes it, so the "did you mean"
            # index is needed; no fields to add an index on.
            facts.unknown.append(UnknownFact(ref.table, ref.name, ref.node.start_byte, (), (), relies_on_order(ref.chain)))
    return facts


_FACTS: MemoKey[list[tuple[Config, Schema | None, bool, FileFacts]]] = MemoKey("what one file tells the schema plan")


def file_facts(workspace: Workspace, model: FileModel, config: Config) -> FileFacts | None:
    """What `model` tells the plan (None for a component's file: its own schema governs it),
    kept while the model, its schema and the configuration are current."""
    if workspace.component_of(model.path) is not None:
        return None
    schema = workspace.schema_for(model.path)
    if schema is not None and (not schema.usable or schema.component is not None):
        schema = None
    adds = adds_indexes(workspace, model.source)
    slot = workspace.per_file(_FACTS, model, lambda _model: [])
    for known_config, known_schema, known_adds, facts in slot:
        if known_config is config and known_schema is schema and known_adds == adds:
            return facts
    facts = _compute_facts(workspace, model, config, schema, adds)
    slot[:] = [(config, schema, adds, facts)]
    return facts


def build_plan(workspace: Workspace, config: Config) -> SchemaPlan:
    """The plan from every file of the workspace (this process reads them all)."""
    merged = workspace.memo.get(MERGED_USAGE)
    usage = merged if merged is not None else compute_usage(workspace)
    facts = [f for m in workspace.models() if (f := file_facts(workspace, m, config)) is not None]
    return plan_from_facts(workspace.app_schemas(), usage, facts)


def plan_from_facts(app_schemas: Sequence[Schema], usage: IndexUsage, facts: Sequence[FileFacts]) -> SchemaPlan:
    """The plan from what each file tells (`file_facts`), however they were gathered."""
    schemas = [s for s in app_schemas if s.usable]
    plan = SchemaPlan(style=naming_style(schemas))
    for schema in schemas:
        for table in schema.tables.values():
            if table.indexes_known:
                plan.tables[(schema.path, table.name)] = TablePlan(schema, table)
    by_path = {s.path: s for s in schemas}

    # 1. Uses of existing indexes: queries naming them, filters and misspelt names sent there.
    named: dict[tuple[str | None, str], list[Use]] = {}
    for part in facts:
        for ref in part.refs:
            named.setdefault((ref.table, ref.name), []).append(
                Use(part.path, ref.offset, ref.ranges, ref.ordered, "query", ref.literal)
            )
    for table_plan in plan.tables.values():
        table = table_plan.table
        for index in table.indexes.values():
            table_plan.uses[index.name] = [*named.get((table.name, index.name), []), *named.get((None, index.name), [])]
    new_needs: dict[TablePlan, dict[tuple[str, ...], list[Use]]] = {}
    # A query on a missing index, and whether the plan may add that index (see `adds_indexes`).
    unknown: list[tuple[TablePlan, Use, UnknownFact, bool]] = []
    for part in facts:
        governing = by_path.get(part.schema) if part.schema is not None else None
        for need in part.filters:
            filtered = plan.table(governing, need.table)
            if filtered is None:
                continue
            use = Use(part.path, need.offset, need.conditions, need.ordered, "filter")
            if need.existing is not None:
                filtered.uses.setdefault(need.existing, []).append(use)
            else:
                new_needs.setdefault(filtered, {}).setdefault(need.fields, []).append(use)
        for miss in part.unknown:
            missing = plan.table(governing, miss.table)
            if missing is None:
                continue
            use = Use(part.path, miss.offset, miss.ranges, miss.ordered, "unknown-index")
            unknown.append((missing, use, miss, part.adds_indexes))
            close = close_match(miss.name, missing.table)
            if close is not None and close in missing.table.indexes:
                index = missing.table.indexes[close]
                if index.is_database_index and use.fits(index):
                    missing.uses.setdefault(close, []).append(use)
            prefix = prefix_index(missing.table.indexes.values(), miss.fields) if miss.fields else None
            if prefix is not None and prefix.name != close:
                missing.uses.setdefault(prefix.name, []).append(use)

    # 2. Removals: unused first, then redundant (longest first, so targets are settled).
    for table_plan in plan.tables.values():
        _plan_removals(table_plan, usage)

    # 3. Additions: merge prefix needs into longer ones, give each a free name.
    for table_plan, needs in new_needs.items():
        _plan_additions(table_plan, needs, naming_style([table_plan.schema]))
    for table_plan, use, miss, adds in unknown:
        if not miss.fields or not adds:
            continue
        kept = [i for i in table_plan.table.indexes.values() if table_plan.kept(i)]
        if prefix_index(kept, miss.fields) is not None:
            continue
        existing = table_plan.additions.get(miss.name)
        if existing is not None and existing.fields != list(miss.fields):
            continue  # two queries want different fields under one name: no plan for them
        addition = existing or Addition(table_plan.table.name, list(miss.fields), miss.name, "unknown-index")
        addition.serves.append(use)
        table_plan.additions[miss.name] = addition
    return plan


def prefix_index(indexes: Iterable[Index], fields: Sequence[str]) -> Index | None:
    """The first database index whose leading fields are `fields`, in order."""
    for index in indexes:
        if index.kind == "index" and not index.staged and index_key(index)[: len(fields)] == list(fields):
            return index
    return None


def _plan_removals(table_plan: TablePlan, usage: IndexUsage) -> None:
    table = table_plan.table
    schema = table_plan.schema
    claimable = usage.can_claim(table.name)
    for index in table.indexes.values():
        if index.staged or index.name_span is None or not schema.complete or not claimable:
            continue
        if not table_plan.uses.get(index.name) and usage.mentions[index.name] == 0:
            table_plan.removals[index.name] = Removal(index, "unused")
    ordered = sorted(
        (i for i in table.indexes.values() if i.kind == "index" and not i.staged and i.fields),
        key=lambda i: (-len(i.fields), i.span.start if i.span is not None else 0),
    )
    for index in ordered:
        if index.name in table_plan.removals or index.name_span is None:
            continue
        targets = [
            other
            for other in ordered
            if other is not index
            and other.name not in table_plan.removals
            and other.fields[: len(index.fields)] == index.fields
            and (
                len(other.fields) > len(index.fields)
                or (other.span is not None and index.span is not None and other.span.start < index.span.start)
            )
        ]
        if not targets:
            continue
        uses = table_plan.uses.get(index.name, [])
        same_fields = [t for t in targets if t.fields == index.fields]
        target = same_fields[0] if same_fields else min(targets, key=lambda t: len(t.fields))
        if not same_fields and any(u.ordered for u in uses):
            table_plan.kept_redundant[index.name] = Redundancy(index, target, "order", [u for u in uses if u.ordered])
            continue
        if any(not u.fits(target) for u in uses):
            # Some range is not valid on `target` (a bound on `_creationTime` right after the
            # prefix, a range read at run time): that query needs this index as it is.
            fitting = [t for t in targets if all(u.fits(t) for u in uses)]
            if not fitting:
                table_plan.kept_redundant[index.name] = Redundancy(index, target, "range", [u for u in uses if not u.fits(target)])
                continue
            target = min(fitting, key=lambda t: len(t.fields))
        renamable = (
            claimable
            and usage.mentions[index.name] == 0
            and not usage.by_name.get(index.name)
            and all(u.renamable for u in uses)
        )
        if not renamable:
            table_plan.kept_redundant[index.name] = Redundancy(index, target, "name", uses)
            continue
        table_plan.removals[index.name] = Removal(index, "redundant", target, list(uses))


def _plan_additions(
    table_plan: TablePlan, needs: dict[tuple[str, ...], list[Use]], style: str
) -> None:
    table = table_plan.table
    taken = {a.name for a in table_plan.additions.values()}
    chosen: list[Addition] = []
    for fields in sorted(needs, key=lambda f: (-len(f), f)):
        uses = needs[fields]
        host = None
        if not any(u.ordered for u in uses):
            longer = [
                a for a in chosen
                if len(a.fields) > len(fields) and tuple(a.fields[: len(fields)]) == fields
                and all(u.fits(_pseudo(table, a)) for u in uses)
            ]
            host = min(longer, key=lambda a: len(a.fields)) if longer else None
        if host is None:
            name = unique_index_name(table, fields, style, taken)
            taken.add(name)
            host = Addition(table.name, list(fields), name, "filter")
            chosen.append(host)
            table_plan.additions[name] = host
        host.serves.extend(uses)
        table_plan.serving[fields] = host


def _pseudo(table: Table, addition: Addition) -> Index:
    return Index(addition.name, list(addition.fields), "index", table.name, None, None)


_PLAN: MemoKey[tuple[Config, IndexUsage | None, tuple[Schema, ...], int, SchemaPlan]] = MemoKey("the workspace's schema plan")
# Set by `convex_xray.cli.parallel`: in a worker process, an empty plan (each worker reads only
# its shard, so the rules there give the choices of their file alone and the parent re-checks
# the files the plan changes); in the parent, the plan built from the workers' facts.
PRESET_PLAN: MemoKey[SchemaPlan] = MemoKey("a schema plan given by the caller")
# The per-file rules whose findings depend on the plan (what the parent re-checks).
PLAN_RULES = frozenset({"filter-on-query", "unknown-index", "unbounded-collect"})


def schema_plan(workspace: Workspace, config: Config) -> SchemaPlan:
    """The workspace's schema plan, built once and rebuilt when a file, a schema, the merged
    index usage or the configuration changes. Files are compared by the workspace's revision,
    not by holding their models: a kept model would keep a closed file's syntax tree alive
    until the next plan (in the editor, every file closed since)."""
    preset = workspace.memo.get(PRESET_PLAN)
    if preset is not None:
        return preset
    merged: IndexUsage | None = workspace.memo.get(MERGED_USAGE)
    schemas = tuple(workspace.app_schemas())
    cached = workspace.memo.get(_PLAN)
    if cached is not None:
        known_config, known_merged, known_schemas, known_revision, plan = cached
        if (
            known_config is config
            and known_merged is merged
            and known_revision == workspace.revision
            and len(known_schemas) == len(schemas)
            and all(a is b for a, b in zip(known_schemas, schemas, strict=True))
        ):
            return plan
    plan = build_plan(workspace, config)
    # (The revision after the build: reading files for the first time does not change it.)
    workspace.memo.put(_PLAN, (config, merged, schemas, workspace.revision, plan))
    return plan


__all__ = [
    "Addition",
    "Bound",
    "adds_indexes",
    "Redundancy",
    "Removal",
    "SchemaPlan",
    "TablePlan",
    "Use",
    "PLAN_RULES",
    "PRESET_PLAN",
    "FileFacts",
    "build_plan",
    "file_facts",
    "plan_from_facts",
    "close_match",
    "filter_variants",
    "ranges_of",
    "relies_on_order",
    "schema_plan",
    "unique_index_name",
]
