"""Production evidence from Convex Insights (`npx convex insights --json`) merged into findings.

Convex Insights reports, per deployed function and over the last 72 hours, functions that
hit or came near the documents-read and bytes-read limits of a transaction and functions
whose mutations were retried (or failed) on optimistic-concurrency conflicts. Each insight
names its function as `dir/file:export` (plus a component path for functions inside a
component). Here each one is mapped to that function's definition in the workspace, and
the static findings inside the function (or in the helpers it calls) get the evidence as
related information; findings about reading in a function that already hit a read limit in
production are raised one severity step. docs/ci.md describes the accepted format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convex_xray.engine.findings import Finding, Related, Severity, Span
from convex_xray.engine.model import FileModel, FunctionModel, HelperCall
from convex_xray.engine.syntax import text_of
from convex_xray.engine.workspace import RESOLVE_SUFFIXES, Workspace

ROOT_COMPONENT = "-root-component-"  # how the insights data spells "no component"

LIMIT_KINDS = frozenset({"documentsReadLimit", "bytesReadLimit"})
THRESHOLD_KINDS = frozenset({"documentsReadThreshold", "bytesReadThreshold"})
OCC_KINDS = frozenset({"occRetried", "occFailedPermanently"})
KNOWN_KINDS = LIMIT_KINDS | THRESHOLD_KINDS | OCC_KINDS

# Findings about what a function reads: these are the ones production read limits confirm.
READ_RULES = frozenset(
    {
        "n-plus-one-read",
        "n-plus-one-call",
        "unbounded-collect",
        "filter-on-query",
        "full-table-scan",
        "large-take",
        "index-range-order",
    }
)

_DESCRIPTIONS = {
    "documentsReadLimit": "hit the documents-read limit",
    "bytesReadLimit": "hit the bytes-read limit",
    "documentsReadThreshold": "came near the documents-read limit",
    "bytesReadThreshold": "came near the bytes-read limit",
    "occRetried": "was retried after write conflicts",
    "occFailedPermanently": "failed permanently on write conflicts",
}

_HELPER_DEPTH = 4  # how far into called helpers findings still count as "in" the function


class InsightsError(Exception):
    """An insights file that cannot be read at all."""


@dataclass(frozen=True)
class Insight:
    kind: str
    function_id: str  # as written: "messages:list", "dir/file.js:fn", "file" (default export)
    component: str | None = None
    severity: str = "warning"  # as reported: error | warning
    count: int | None = None  # times the limit/threshold was hit
    occ_calls: int | None = None  # conflicting calls (OCC kinds)
    occ_table: str | None = None
    peak_documents: int | None = None  # most documents read by one recent call
    peak_bytes: int | None = None

    @property
    def label(self) -> str:
        return f"{self.component}:{self.function_id}" if self.component else self.function_id

    @property
    def module(self) -> str:
        return self.function_id.rsplit(":", 1)[0] if ":" in self.function_id else self.function_id

    @property
    def export(self) -> str:
        return self.function_id.rsplit(":", 1)[1] if ":" in self.function_id else "default"

    def describe(self) -> str:
        what = _DESCRIPTIONS.get(self.kind, f"reported `{self.kind}`")
        text = f"In production (Convex insights, last 72 h) `{self.label}` {what}"
        if self.kind in OCC_KINDS and self.occ_calls is not None:
            text += f" ({self.occ_calls} conflict{'s' if self.occ_calls != 1 else ''}"
            text += f" on `{self.occ_table}`)" if self.occ_table else ")"
        elif self.count is not None:
            text += f" {self.count} time{'s' if self.count != 1 else ''}"
        peaks = []
        if self.peak_documents:
            peaks.append(f"{self.peak_documents:,} documents")
        if self.peak_bytes:
            peaks.append(f"{self.peak_bytes:,} bytes")
        if peaks and self.kind not in OCC_KINDS:
            text += f"; one recent call read {' and '.join(peaks)}"
        return text + "."


@dataclass
class InsightsSummary:
    total: int = 0  # insights understood
    ignored: int = 0  # entries that were not insights (no kind or no function)
    mapped: int = 0  # insights whose function was found in the workspace
    annotated: int = 0  # findings that got production evidence
    raised: int = 0  # findings whose severity was raised
    unmatched: list[str] = field(default_factory=list)  # functions not found here
    quiet: list[str] = field(default_factory=list)  # read-limit functions with no static finding

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "ignored": self.ignored,
            "mapped": self.mapped,
            "annotated": self.annotated,
            "raised": self.raised,
            "unmatched": list(self.unmatched),
            "without_findings": list(self.quiet),
        }


# -- reading ---------------------------------------------------------------------------------


def load_insights(path: Path) -> tuple[list[Insight], int]:
    """(insights, number of entries that were not understood) from a file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InsightsError(f"{path}: insights file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InsightsError(f"{path}: cannot read: {error}") from None
    try:
        return parse_insights(text)
    except InsightsError as error:
        raise InsightsError(f"{path}: {error}") from None


def parse_insights(text: str) -> tuple[list[Insight], int]:
    data = _decode(text)
    items = list(_items(data))
    insights: list[Insight] = []
    ignored = 0
    for item in items:
        insight = _insight(item)
        if insight is None:
            ignored += 1
        else:
            insights.append(insight)
    if items and not insights:
        raise InsightsError("no insight found (expected objects with `kind` and `functionId`)")
    return insights, ignored


def _decode(text: str) -> Any:
    stripped = text.strip()
    if not stripped:
        return []
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    # JSON Lines: one insight per line.
    lines = [line for line in stripped.splitlines() if line.strip()]
    try:
        return [json.loads(line) for line in lines]
    except ValueError:
        pass
    # Something printed before the JSON (a CLI banner): start at the first bracket.
    starts = [i for i in (stripped.find("["), stripped.find("{")) if i != -1]
    if starts:
        try:
            return json.loads(stripped[min(starts) :])
        except ValueError:
            pass
    raise InsightsError("not JSON (expected the output of `npx convex insights --json`)")


def _items(data: Any) -> Iterator[Any]:
    if isinstance(data, list):
        yield from data
    elif isinstance(data, dict):
        for key in ("insights", "data", "results", "items"):
            if isinstance(data.get(key), list):
                yield from data[key]
                return
        if _first(data, "kind", "type", "insightKind") is not None:
            yield data
        else:
            raise InsightsError("no `insights` list in the JSON object")
    else:
        raise InsightsError(
            "expected a JSON array of insights or an object with an `insights` array"
        )


def _first(mapping: dict, *keys: str) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def _insight(item: Any) -> Insight | None:
    if (
        isinstance(item, list)
        and len(item) >= 2
        and all(isinstance(v, (str, type(None))) for v in item)
    ):
        # A raw row of the insights dataset: [kind, functionId, componentPath, detailsJson].
        row: dict[str, Any] = {"kind": item[0], "functionId": item[1]}
        if len(item) > 2:
            row["componentPath"] = item[2]
        if len(item) > 3 and item[3]:
            row["details"] = item[3]
        item = row
    if not isinstance(item, dict):
        return None
    details = item.get("details")
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            details = None
    merged = {**details, **item} if isinstance(details, dict) else dict(item)
    kind = _first(merged, "kind", "type", "insightKind")
    function = _first(
        merged,
        "functionId",
        "function_id",
        "functionPath",
        "function_path",
        "udfPath",
        "udf_path",
        "function",
    )
    if isinstance(function, dict):  # {"path": ..., "componentPath": ...}
        merged = {**function, **merged}
        function = _first(function, "path", "functionId", "identifier", "name")
    if not isinstance(kind, str) or not isinstance(function, str) or not function.strip():
        return None
    component = _first(merged, "componentPath", "component_path", "component")
    if not isinstance(component, str) or component in ("", ROOT_COMPONENT):
        component = None
    severity = _first(merged, "severity", "level")
    if severity not in ("error", "warning"):
        severity = "error" if kind in LIMIT_KINDS or kind == "occFailedPermanently" else "warning"
    peak_documents = peak_bytes = None
    events = _first(merged, "recentEvents", "recent_events", "events")
    if isinstance(events, list):
        for event in events:
            calls = event.get("calls") if isinstance(event, dict) else None
            if not isinstance(calls, list):
                continue
            documents = sum(
                _int(c.get("documents_read") or c.get("documentsRead")) or 0
                for c in calls
                if isinstance(c, dict)
            )
            size = sum(
                _int(c.get("bytes_read") or c.get("bytesRead")) or 0
                for c in calls
                if isinstance(c, dict)
            )
            peak_documents = max(peak_documents or 0, documents) or None
            peak_bytes = max(peak_bytes or 0, size) or None
    table = _first(merged, "occTableName", "occ_table_name", "tableName", "table")
    return Insight(
        kind=kind,
        function_id=function.strip(),
        component=component,
        severity=severity,
        count=_int(_first(merged, "count", "occurrences")),
        occ_calls=_int(_first(merged, "occCalls", "occ_calls")),
        occ_table=table if isinstance(table, str) else None,
        peak_documents=peak_documents,
        peak_bytes=peak_bytes,
    )


# -- mapping ---------------------------------------------------------------------------------


def resolve_function(
    workspace: Workspace, insight: Insight
) -> tuple[FileModel, FunctionModel] | None:
    """The definition of `dir/file:export` under a Convex root (or the named component)."""
    module = insight.module.strip("/")
    for suffix in RESOLVE_SUFFIXES:
        if module.endswith(suffix):
            module = module[: -len(suffix)]
            break
    if not module or ".." in module.split("/"):
        return None
    bases: list[Path] = []
    for root in workspace.roots:
        if insight.component is None:
            bases.append(root.path)
        else:
            leaf = insight.component.rstrip("/").rsplit("/", 1)[-1]
            bases += [d for d, name in root.components.items() if name == leaf]
    for base in bases:
        for suffix in RESOLVE_SUFFIXES:
            path = base / f"{module}{suffix}"
            if not path.is_file() and workspace.source(path) is None:
                continue
            model = workspace.model(path)
            if model is None:
                continue
            function = model.exports.get(insight.export)
            if function is not None:
                return model, function
    return None


def _reached(
    workspace: Workspace, model: FileModel, function: FunctionModel
) -> list[tuple[Path, int, int]]:
    """Byte ranges of the function's definition and of the helpers it calls (transitively)."""
    ranges: list[tuple[Path, int, int]] = []
    seen: set[int] = set()
    stack = [(model, function, 0)]
    while stack:
        current_model, current, depth = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        ranges.append(
            (current_model.path, current.definition.start_byte, current.definition.end_byte)
        )
        if depth >= _HELPER_DEPTH:
            continue
        for call in _calls_in(current_model, current):
            resolved = workspace.resolve_call(current_model, call)
            if resolved is not None:
                stack.append((resolved[0], resolved[1], depth + 1))
    return ranges


def _calls_in(model: FileModel, function: FunctionModel) -> Iterator[HelperCall]:
    """Every `name(...)` / `ns.name(...)` call in the function, whether or not it passes
    `ctx` (helpers often take `ctx.db` or an object built from it)."""
    stack = [function.definition]
    while stack:
        node = stack.pop()
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            if callee is not None and callee.type in ("identifier", "member_expression"):
                name = text_of(callee)
                if name.count(".") <= 1:
                    owner = model.function_at(node.start_byte)
                    yield HelperCall(
                        node=node, function=owner, loops=(), awaited=False, callee=name
                    )
        stack.extend(node.named_children)


def _raise(severity: Severity, insight_kinds: set[str]) -> Severity:
    if insight_kinds & LIMIT_KINDS:
        return Severity(min(int(severity) + 1, int(Severity.ERROR)))
    if insight_kinds & THRESHOLD_KINDS and severity == Severity.INFO:
        return Severity.WARNING
    return severity


def apply_insights(
    workspace: Workspace, findings: Sequence[Finding], loaded: tuple[list[Insight], int]
) -> InsightsSummary:
    """Attach each insight to the findings in its function (in place) and raise severities."""
    insights, ignored = loaded
    summary = InsightsSummary(total=len(insights), ignored=ignored)
    by_path: dict[Path, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    evidence: dict[int, list[tuple[Insight, Span]]] = {}
    for insight in insights:
        resolved = resolve_function(workspace, insight)
        if resolved is None:
            if insight.label not in summary.unmatched:
                summary.unmatched.append(insight.label)
            continue
        summary.mapped += 1
        model, function = resolved
        anchor_node = function.name_node or function.definition
        anchor = Span(model.path, anchor_node.start_byte, anchor_node.end_byte)
        hits = 0
        for path, start, end in _reached(workspace, model, function):
            for finding in by_path.get(path, ()):
                if start <= finding.span.start < end:
                    pairs = evidence.setdefault(id(finding), [])
                    if all(existing is not insight for existing, _ in pairs):
                        pairs.append((insight, anchor))
                        hits += 1
        if (
            hits == 0
            and insight.kind in LIMIT_KINDS | THRESHOLD_KINDS
            and insight.label not in summary.quiet
        ):
            summary.quiet.append(insight.label)
    for finding in findings:
        found = evidence.get(id(finding))
        if not found:
            continue
        summary.annotated += 1
        for insight, anchor in found:
            finding.related.append(Related(anchor, insight.describe()))
        if finding.rule in READ_RULES:
            raised = _raise(finding.severity, {insight.kind for insight, _ in found})
            if raised != finding.severity:
                summary.raised += 1
                finding.severity = raised
    return summary
