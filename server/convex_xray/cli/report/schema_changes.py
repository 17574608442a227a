"""Schema changes: the indexes to add and to remove, from the workspace's one schema plan
(`rules/support/schema_plan.py`), so the two tables agree with each other and with the
fixes: nothing removed that a query (or a query another fix rewrites) needs, nothing added
that an existing index serves or that another addition makes redundant.

A row is listed only when a finding of this run stands for it (an addition serves at least
one reported `filter-on-query` or `unknown-index` query; a removal is a reported
`unused-index` or `redundant-index`), so suppressions and `--select` still shape the report.
`full-table-scan`'s add-index advice (a scan filtered in JavaScript) is not part of the plan's
rewrites; its index is listed when no planned or kept index already starts with that field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from convex_xray.cli.output.locations import locate
from convex_xray.cli.report.model import IndexChange
from convex_xray.engine.config import Config
from convex_xray.engine.findings import Finding
from convex_xray.engine.workspace import Workspace
from convex_xray.rules.support.schema_plan import (
    Addition,
    Removal,
    SchemaPlan,
    TablePlan,
    Use,
    schema_plan,
)

# `.index("by_orgId_and_status", ["orgId", "status"])`, as the fix writes it into the schema.
_INDEX_CALL = re.compile(r'\.index\(\s*"([^"]+)"\s*,\s*\[([^\]]*)\]\s*\)')


def _function_at(workspace: Workspace, path: Path, offset: int) -> str:
    model = workspace.model(path)
    function = model.function_at(offset) if model is not None else None
    return function.name if function is not None else "(module level)"


def _chain_end(workspace: Workspace, use: Use) -> int:
    """Where the query starting at `use.offset` ends (its findings lie inside it)."""
    model = workspace.model(use.path)
    if model is not None:
        for chain in model.chains:
            if chain.root.start_byte == use.offset:
                return chain.end.end_byte
        for ref in model.index_refs:
            if ref.node.start_byte == use.offset:
                return ref.node.end_byte
    return use.offset + 1


def _reported(workspace: Workspace, use: Use, name: str, findings: list[Finding]) -> Finding | None:
    """The finding of this run that advises `name` for the query at `use` (a chain built in
    branches has one filter-on-query finding per conditional filter: the one naming it)."""
    rule = "filter-on-query" if use.kind == "filter" else "unknown-index"
    end = _chain_end(workspace, use)
    inside = [f for f in findings if f.rule == rule and f.path == use.path and use.offset <= f.span.start < end]
    return next((f for f in inside if f'"{name}"' in f.message or f"`{name}`" in f.message), inside[0] if inside else None)


def _addition_row(
    workspace: Workspace, addition: Addition, findings: list[Finding], rel: Callable[[Path], str]
) -> IndexChange | None:
    served = [(use, found) for use in addition.serves if (found := _reported(workspace, use, addition.name, findings)) is not None]
    if not served:
        return None
    first_use, first = served[0]
    filters = sum(1 for use, _ in served if use.kind == "filter")
    if filters == len(served):
        reason = f"{filters} quer{'y filters' if filters == 1 else 'ies filter'} on these fields with no index that covers them"
        if len({tuple(u.ranges or ()) for u, _ in served}) > 1:
            reason += " (one index serves every filter whose fields are a prefix of its own)"
    else:
        reason = f"{len(served)} quer{'y names' if len(served) == 1 else 'ies name'} this index, which the table lacks"
    where = locate(workspace, first.span)
    change = IndexChange(addition.table, list(addition.fields), addition.name, reason, str(first_use.path), where.line, first.rule)
    for use, found in served:
        line = locate(workspace, found.span).line
        serves = f"{found.function or _function_at(workspace, use.path, use.offset)} ({rel(use.path)}:{line})"
        if serves not in change.serves:
            change.serves.append(serves)
    return change


def _removal_row(workspace: Workspace, table_plan: TablePlan, removal: Removal, findings: list[Finding]) -> IndexChange | None:
    index = removal.index
    span = index.name_span
    if span is None:
        return None
    rule = "unused-index" if removal.reason == "unused" else "redundant-index"
    found = next((f for f in findings if f.rule == rule and f.path == span.path and f.span.start == span.start), None)
    if found is None:
        return None
    if removal.reason == "unused":
        reason = "unused: no query, search or helper call names it, and no planned fix sends one there; every write still maintains it"
    else:
        assert removal.target is not None
        moved = sum(1 for u in removal.moved if u.kind == "query")
        reason = f"redundant: a prefix of `{removal.target.name}`, which serves its queries"
        if moved:
            reason += f" (remove index `{index.name}` and use `{removal.target.name}` in {moved} quer{'y' if moved == 1 else 'ies'})"
    where = locate(workspace, found.span)
    return IndexChange(table_plan.table.name, list(index.fields), index.name, reason, str(span.path), where.line, rule)


def _scan_rows(
    workspace: Workspace, plan: SchemaPlan, findings: list[Finding], rel: Callable[[Path], str]
) -> list[IndexChange]:
    """`full-table-scan`'s add-index alternative, unless the plan already serves that field."""
    rows: dict[tuple[str, str], IndexChange] = {}
    for finding in findings:
        if finding.rule != "full-table-scan":
            continue
        model = workspace.model(finding.path)
        schema = workspace.schema_for(finding.path)
        chain = None
        if model is not None:
            inside = [c for c in model.chains if c.root.start_byte <= finding.span.start <= c.end.end_byte]
            chain = max(inside, key=lambda c: c.root.start_byte, default=None)
        table_plan = plan.table(schema, chain.table if chain is not None else None)
        if table_plan is None:
            continue
        for fix in finding.alternatives:
            for edit in fix.edits:
                match = _INDEX_CALL.search(edit.new_text)
                if match is None:
                    continue
                name, fields = match.group(1), re.findall(r'"([^"]+)"', match.group(2))
                leading = fields[:1]
                served = any(
                    i.fields[:1] == leading and table_plan.kept(i) for i in table_plan.table.indexes.values()
                ) or any(a.fields[:1] == leading for a in table_plan.additions.values())
                if served or name in table_plan.additions:
                    continue
                where = locate(workspace, finding.span)
                change = rows.setdefault(
                    (table_plan.table.name, name),
                    IndexChange(table_plan.table.name, fields, name, "a query scans the table and filters the documents in JavaScript", str(finding.path), where.line, finding.rule),
                )
                serves = f"{finding.function or '(module level)'} ({rel(finding.path)}:{where.line})"
                if serves not in change.serves:
                    change.serves.append(serves)
    return list(rows.values())


def schema_changes(
    workspace: Workspace, config: Config, findings: Iterable[Finding], rel: Callable[[Path], str]
) -> tuple[list[IndexChange], list[IndexChange]]:
    ordered = sorted(findings, key=Finding.sort_key)
    plan = schema_plan(workspace, config)
    adds: list[IndexChange] = []
    for addition in plan.additions():
        row = _addition_row(workspace, addition, ordered, rel)
        if row is not None:
            adds.append(row)
    adds.extend(_scan_rows(workspace, plan, ordered, rel))
    removes: list[IndexChange] = []
    for table_plan, removal in plan.removals():
        row = _removal_row(workspace, table_plan, removal, ordered)
        if row is not None:
            removes.append(row)
    order = lambda c: (c.table, c.name)  # noqa: E731
    return sorted(adds, key=order), sorted(removes, key=order)
