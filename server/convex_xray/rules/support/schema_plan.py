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

Rules read their advice from here, so no fix points a query at an index another fix deletes,
and the report's schema tables are the plan's additions and removals. The plan lives on the
workspace's memo, recomputed when a file, a schema or the configuration changes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
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
from convex_xray.rules.support.index_usage import MERGED_USAGE, IndexUsage, compute_usage


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


FilterKey = tuple[Path, tuple[int, ...]]  # (file, the filter steps' call ids)


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
    filters: dict[FilterKey, IndexPlan] = field(default_factory=dict)
    style: str = NAMING_STYLES[0]

    def table(self, schema: Schema | None, name: str | None) -> TablePlan | None:
        if schema is None or name is None:
            return None
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
        """The index plan for one filter chain: the plan's own when it planned this chain,
        else (a language-server slice of a file) the same choice made on the spot."""
        key = (source.path, tuple(step.call.id for step in chain.filter_steps))
        if key in self.filters:
            return self.filters[key]
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


def _unique_name(table: Table, fields: Sequence[str], style: str, taken: set[str]) -> str:
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


def build_plan(workspace: Workspace, config: Config) -> SchemaPlan:
    schemas = [s for s in workspace.app_schemas() if s.usable]
    style = naming_style(schemas)
    plan = SchemaPlan(style=style)
    if not schemas:
        return plan
    merged = workspace.memo.get(MERGED_USAGE)
    usage = merged if merged is not None else compute_usage(workspace)
    by_path = {s.path: s for s in schemas}
    for schema in schemas:
        for table in schema.tables.values():
            if table.indexes_known:
                plan.tables[(schema.path, table.name)] = TablePlan(schema, table)

    raw_filters: dict[FilterKey, tuple[IndexPlan, QueryChain, TablePlan]] = {}
    unknown: list[tuple[TablePlan, Use, tuple[str, ...], str]] = []
    for model in workspace.models():
        if workspace.component_of(model.path) is not None:
            continue  # a component's queries use the component's own schema
        governing = workspace.schema_for(model.path)
        if governing is None or governing.path not in by_path:
            continue
        for whole in model.chains:
            if not whole.filter_steps or whole.table is None or whole.table in config.small_tables:
                continue
            table_plan = plan.table(governing, whole.table)
            if table_plan is None:
                continue
            for chain in filter_variants(whole):
                key = (model.path, tuple(step.call.id for step in chain.filter_steps))
                if key in raw_filters:
                    continue
                raw = _raw_filter_plan(model.source, chain, table_plan.table, naming_style([governing]))
                if raw is not None:
                    raw_filters[key] = (raw, chain, table_plan)
        for ref in model.index_refs:
            if ref.kind != "withIndex" or ref.name is None or ref.table is None:
                continue
            table_plan = plan.table(governing, ref.table)
            if table_plan is None or table_plan.table.index(ref.name) is not None:
                continue
            found = _unknown_use(model, ref, table_plan.table)
            if found is not None:
                unknown.append((table_plan, found[0], found[1], ref.name))

    # 1. Uses of existing indexes.
    for table_plan in plan.tables.values():
        table = table_plan.table
        for index in table.indexes.values():
            uses: list[Use] = []
            for model, ref in usage.uses(table.name, index.name):
                literal = ref.name_node is not None and ref.name_node.type == "string"
                ranges = ranges_of(ref) if ref.kind == "withIndex" else None
                uses.append(
                    Use(model.path, ref.node.start_byte, ranges, relies_on_order(ref.chain), "query", literal)
                )
            table_plan.uses[index.name] = uses
    new_needs: dict[TablePlan, dict[tuple[str, ...], list[tuple[FilterKey, Use]]]] = {}
    for key, (raw, chain, table_plan) in raw_filters.items():
        use = Use(key[0], chain.root.start_byte, _conditions(raw), relies_on_order(chain), "filter")
        if raw.existing is not None:
            if raw.existing.name in table_plan.table.indexes:
                table_plan.uses.setdefault(raw.existing.name, []).append(use)
            continue
        new_needs.setdefault(table_plan, {}).setdefault(_needed_fields(raw), []).append((key, use))
    for table_plan, use, fields, name in unknown:
        close = close_match(name, table_plan.table)
        if close is not None and close in table_plan.table.indexes:
            index = table_plan.table.indexes[close]
            if index.is_database_index and use.fits(index):
                table_plan.uses.setdefault(close, []).append(use)
        for index in table_plan.table.indexes.values():
            if index.kind == "index" and not index.staged and index_key(index)[: len(fields)] == list(fields):
                table_plan.uses.setdefault(index.name, []).append(use)
                break

    # 2. Removals: unused first, then redundant (longest first, so targets are settled).
    for table_plan in plan.tables.values():
        _plan_removals(table_plan, usage)

    # 3. Additions: merge prefix needs into longer ones, give each a free name.
    for table_plan, needs in new_needs.items():
        _plan_additions(table_plan, needs, naming_style([table_plan.schema]))
    for table_plan, use, fields, name in unknown:
        if any(
            i.kind == "index" and not i.staged and table_plan.kept(i) and index_key(i)[: len(fields)] == list(fields)
            for i in table_plan.table.indexes.values()
        ):
            continue
        existing = table_plan.additions.get(name)
        if existing is not None and existing.fields != list(fields):
            continue  # two queries want different fields under one name: no plan for them
        addition = existing or Addition(table_plan.table.name, list(fields), name, "unknown-index")
        addition.serves.append(use)
        table_plan.additions[name] = addition

    for key, (raw, chain, table_plan) in raw_filters.items():
        plan.filters[key] = _settle(raw, chain, table_plan)
    return plan


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
    table_plan: TablePlan, needs: dict[tuple[str, ...], list[tuple[FilterKey, Use]]], style: str
) -> None:
    table = table_plan.table
    taken = {a.name for a in table_plan.additions.values()}
    chosen: list[Addition] = []
    for fields in sorted(needs, key=lambda f: (-len(f), f)):
        uses = [use for _key, use in needs[fields]]
        host = None
        if not any(u.ordered for u in uses):
            longer = [
                a for a in chosen
                if len(a.fields) > len(fields) and tuple(a.fields[: len(fields)]) == fields
                and all(u.fits(_pseudo(table, a)) for u in uses)
            ]
            host = min(longer, key=lambda a: len(a.fields)) if longer else None
        if host is None:
            name = _unique_name(table, fields, style, taken)
            taken.add(name)
            host = Addition(table.name, list(fields), name, "filter")
            chosen.append(host)
            table_plan.additions[name] = host
        host.serves.extend(uses)
        table_plan.serving[fields] = host


def _pseudo(table: Table, addition: Addition) -> Index:
    return Index(addition.name, list(addition.fields), "index", table.name, None, None)


_PLAN: MemoKey[tuple[tuple[object, ...], SchemaPlan]] = MemoKey("the workspace's schema plan")


def schema_plan(workspace: Workspace, config: Config) -> SchemaPlan:
    """The workspace's schema plan, built once and rebuilt when a file, a schema, the merged
    index usage or the configuration changes (models are snapshots: identity tells)."""
    merged: IndexUsage | None = workspace.memo.get(MERGED_USAGE)
    signature: tuple[object, ...] = (
        config,
        merged,
        *workspace.app_schemas(),
        *workspace.models(),
    )
    cached = workspace.memo.get(_PLAN)
    if cached is not None and len(cached[0]) == len(signature) and all(
        a is b for a, b in zip(cached[0], signature, strict=True)
    ):
        return cached[1]
    plan = build_plan(workspace, config)
    workspace.memo.put(_PLAN, (signature, plan))
    return plan


__all__ = [
    "Addition",
    "Bound",
    "Redundancy",
    "Removal",
    "SchemaPlan",
    "TablePlan",
    "Use",
    "build_plan",
    "close_match",
    "filter_variants",
    "ranges_of",
    "relies_on_order",
    "schema_plan",
]
