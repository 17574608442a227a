"""Schema changes: the indexes to add (from the add-index advice of query findings) and to
remove (unused and redundant-index findings), one row per (table, index)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from convex_xray.cli.output.locations import locate
from convex_xray.cli.report.model import IndexChange
from convex_xray.engine.findings import Finding
from convex_xray.engine.schema import Index
from convex_xray.engine.workspace import Workspace

ADD_RULES = frozenset({"filter-on-query", "full-table-scan"})
REMOVE_RULES = frozenset({"unused-index", "redundant-index"})

# `.index("by_orgId_and_status", ["orgId", "status"])`, as the fix writes it into the schema
# and as the message names it.
_INDEX_CALL = re.compile(r'\.index\(\s*"([^"]+)"\s*,\s*\[([^\]]*)\]\s*\)')
_TABLE_WORDS = re.compile(r"`([A-Za-z_][\w]*)` table|table `([A-Za-z_][\w]*)`")
_PREFIX_OF = re.compile(r"prefix of `([^`]+)`")
_INDEX_ON = re.compile(r"Index `([^`]+)`.*? on `([^`]+)`")


def _advice(finding: Finding) -> tuple[str, list[str]] | None:
    """The index the finding's fix (or its message) adds: its name and fields."""
    texts = [e.new_text for fix in (finding.fix, *finding.alternatives) if fix is not None for e in fix.edits]
    for text in [*texts, finding.message]:
        match = _INDEX_CALL.search(text)
        if match:
            return match.group(1), re.findall(r'"([^"]+)"', match.group(2))
    return None


def _query_table(workspace: Workspace, finding: Finding) -> str | None:
    """The table of the innermost query chain around the finding (from the code model)."""
    model = workspace.model(finding.path)
    best = None
    if model is not None:
        for chain in model.chains:
            if chain.root.start_byte <= finding.span.start <= chain.end.end_byte and (
                best is None or chain.root.start_byte >= best.root.start_byte
            ):
                best = chain
    if best is not None and best.table:
        return best.table
    for text in [finding.message, *(r.message for r in finding.related)]:
        match = _TABLE_WORDS.search(text)
        if match:
            return match.group(1) or match.group(2)
    return None


def _schema_index(workspace: Workspace, finding: Finding) -> Index | None:
    """The schema index a removal finding points at (its `.index(...)` call)."""
    schemas = [s for s in [workspace.schema_for(finding.path), *workspace.app_schemas()] if s is not None]
    for schema in schemas:
        for table in schema.tables.values():
            for index in table.indexes.values():
                span = index.span
                if span is not None and span.path == finding.path and span.start <= finding.span.start < max(span.end, span.start + 1):
                    return index
                name = index.name_span
                if name is not None and name.path == finding.path and name.start <= finding.span.start < name.end:
                    return index
    return None


def schema_changes(
    workspace: Workspace, findings: Iterable[Finding], rel: Callable[[Path], str]
) -> tuple[list[IndexChange], list[IndexChange]]:
    adds: dict[tuple[str, str], IndexChange] = {}
    removes: dict[tuple[str, str], IndexChange] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        where = locate(workspace, finding.span)
        if finding.rule in ADD_RULES:
            advice = _advice(finding)
            table = _query_table(workspace, finding)
            if advice is None or table is None:
                continue
            name, fields = advice
            serves = f"{finding.function or '(module level)'} ({rel(finding.path)}:{where.line})"
            change = adds.get((table, name))
            if change is None:
                reason = "a query filters on these fields with no index" if finding.rule == "filter-on-query" else "a query scans the table"
                change = IndexChange(table, fields, name, reason, str(finding.path), where.line, finding.rule)
                adds[(table, name)] = change
            if serves not in change.serves:
                change.serves.append(serves)
        elif finding.rule in REMOVE_RULES:
            index = _schema_index(workspace, finding)
            if index is not None:
                table, name, fields = index.table, index.name, list(index.fields)
            else:
                match = _INDEX_ON.search(finding.message)
                if match is None:
                    continue
                name, table, fields = match.group(1), match.group(2), []
            if finding.rule == "unused-index":
                reason = "unused: no query, search or helper call names it; every write still maintains it"
            else:
                longer = _PREFIX_OF.search(finding.message)
                reason = f"redundant: a prefix of `{longer.group(1)}`, which serves its queries" if longer else "redundant: a longer index serves its queries"
                if finding.fix is not None and "queries" in finding.fix.title:
                    reason += f" ({finding.fix.title[0].lower()}{finding.fix.title[1:]})"
            removes.setdefault((table, name), IndexChange(table, fields, name, reason, str(finding.path), where.line, finding.rule))
    # Never remove what another row adds or what an added index is meant to replace.
    for key in list(removes):
        if key in adds:
            del removes[key]
    order = lambda c: (c.table, c.name)  # noqa: E731
    return sorted(adds.values(), key=order), sorted(removes.values(), key=order)
