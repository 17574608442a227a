"""The JSON contract (docs/json-output.md): stable, read by CI and our own tooling."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from convex_xray import __version__
from convex_xray.cli.notes import RunNotes
from convex_xray.cli.output.locations import locate
from convex_xray.engine.findings import Finding, Fix, Span
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.workspace import Workspace

JSON_VERSION = 1


def fix_to_dict(workspace: Workspace, fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    edits = []
    for edit in fix.edits:
        start = locate(workspace, Span(edit.path, edit.start, edit.start))
        end = locate(workspace, Span(edit.path, edit.end, edit.end))
        edits.append(
            {
                "path": str(edit.path),
                "line": start.line,
                "column": start.column,
                "end_line": end.line,
                "end_column": end.column,
                "new_text": edit.new_text,
            }
        )
    return {"title": fix.title, "applicability": fix.applicability.value, "edits": edits}


def finding_to_dict(workspace: Workspace, finding: Finding) -> dict[str, Any]:
    where = locate(workspace, finding.span)
    related = []
    for item in finding.related:
        at = locate(workspace, item.span)
        related.append({"path": str(at.path), "line": at.line, "column": at.column, "message": item.message})
    return {
        "path": str(where.path),
        "line": where.line,
        "column": where.column,
        "end_line": where.end_line,
        "end_column": where.end_column,
        "rule": finding.rule,
        "code": finding.code,
        "severity": finding.severity.label,
        "role": finding.role,
        "message": finding.message,
        "related": related,
        "fix": fix_to_dict(workspace, finding.fix),
        "cost": finding.cost.to_dict() if finding.cost is not None else None,
    }


def roots_to_list(workspace: Workspace) -> list[dict[str, Any]]:
    return [
        {"path": str(r.path), "kind": r.kind, "files": r.files, "reason": r.reason}
        for r in workspace.checked_roots()
    ]


def summary(
    result: CheckResult,
    fixed: int | None = None,
    notes: RunNotes | None = None,
    workspace: Workspace | None = None,
) -> dict[str, Any]:
    by_rule = Counter(f.rule for f in result.findings)
    by_severity = Counter(f.severity.label for f in result.findings)
    by_role = Counter(f.role for f in result.findings)
    data: dict[str, Any] = {
        "files": result.files,
        "diagnostics": len(result.findings),
        "by_rule": dict(sorted(by_rule.items())),
        "by_severity": {k: by_severity.get(k, 0) for k in ("error", "warning", "info", "hint")},
        "by_role": {k: by_role.get(k, 0) for k in ("production", "test", "script")},
        "elapsed_ms": round(result.elapsed_ms, 1),
    }
    if workspace is not None:
        data["roots"] = roots_to_list(workspace)
    if fixed is not None:
        data["fixed"] = fixed
    if notes is not None and notes.baseline is not None:
        data["baseline"] = notes.baseline.to_dict()
    if notes is not None and notes.insights is not None:
        data["insights"] = notes.insights.to_dict()
    return data


def render_json(
    workspace: Workspace, result: CheckResult, fixed: int | None = None, *, notes: RunNotes | None = None
) -> str:
    document = {
        "version": JSON_VERSION,
        "tool": {"name": "convex-xray", "version": __version__},
        "summary": summary(result, fixed, notes, workspace),
        "diagnostics": [finding_to_dict(workspace, f) for f in result.findings],
        "problems": [{"path": str(p.path), "message": p.message} for p in result.problems],
        "errors": [{"rule": e.rule, "path": str(e.path) if e.path else None, "message": e.error} for e in result.failures],
    }
    if notes is not None and notes.baseline is not None:
        document["baseline_stale"] = [e.to_dict() for e in notes.baseline.stale]
    return json.dumps(document, indent=2, ensure_ascii=False)


def render_json_lines(workspace: Workspace, result: CheckResult) -> str:
    return "\n".join(json.dumps(finding_to_dict(workspace, f), ensure_ascii=False) for f in result.findings)
