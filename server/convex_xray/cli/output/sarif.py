"""SARIF 2.1.0 for code-scanning services (GitHub code scanning, Azure DevOps, IDE viewers).

One run; `tool.driver.rules` lists every registered rule (so `ruleIndex` is stable across
runs); results carry physical locations relative to `%SRCROOT%` (the current directory,
given absolutely in `originalUriBaseIds`), related locations, proposed fixes, and the
baseline fingerprint as a partial fingerprint. Columns are code points, which the run
declares with `columnKind: unicodeCodePoints` (SARIF's default would be UTF-16 units).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from convex_xray import __version__
from convex_xray.cli.baseline import FINGERPRINT_KEY, fingerprints
from convex_xray.cli.notes import RunNotes
from convex_xray.cli.output.locations import locate
from convex_xray.engine.findings import Applicability, Edit, Finding, Fix, Severity, Span
from convex_xray.engine.registry import DOCS_BASE_URL, Rule, all_rules
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.workspace import Workspace

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
INFORMATION_URI = DOCS_BASE_URL.split("/blob/", 1)[0]

LEVELS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.HINT: "note",
}


def _rule_name(slug: str) -> str:
    """SARIF wants a readable identifier distinct from the id: `n-plus-one-read` -> `NPlusOneRead`."""
    return "".join(part[:1].upper() + part[1:] for part in slug.split("-"))


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    meta = rule.meta
    what = " ".join(rule.doc_section("What it does").split()) or meta.summary
    descriptor: dict[str, Any] = {
        "id": meta.slug,
        "name": _rule_name(meta.slug),
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": what},
        "helpUri": meta.docs_url,
        "defaultConfiguration": {"level": LEVELS[meta.severity]},
        "properties": {
            "code": meta.code,
            "severity": meta.severity.label,
            "fix": meta.fix.value,
            "tags": ["performance", "convex"] + (["maintainability"] if meta.unnecessary else []),
        },
    }
    if rule.doc:
        descriptor["help"] = {"text": rule.doc, "markdown": rule.doc}
    return descriptor


class _Locator:
    """Paths -> artifact locations relative to the base; byte spans -> code-point regions."""

    def __init__(self, workspace: Workspace, base: Path) -> None:
        self.workspace = workspace
        self.base = base

    def artifact(self, path: Path) -> dict[str, Any]:
        try:
            relative = Path(os.path.relpath(path, self.base))
        except ValueError:  # another drive (Windows)
            return {"uri": path.as_uri()}
        if relative.parts and relative.parts[0] == "..":
            return {"uri": path.resolve().as_uri()}
        return {"uri": quote(relative.as_posix(), safe="/"), "uriBaseId": SRCROOT}

    def region(self, span: Span) -> dict[str, int]:
        where = locate(self.workspace, span)
        return {
            "startLine": where.line,
            "startColumn": where.column,
            "endLine": where.end_line,
            "endColumn": where.end_column,
        }

    def physical(self, span: Span) -> dict[str, Any]:
        return {"artifactLocation": self.artifact(span.path), "region": self.region(span)}


def _fix(locator: _Locator, fix: Fix) -> dict[str, Any] | None:
    if not fix.edits:
        return None  # advice without edits: SARIF fixes need at least one change
    by_path: dict[Path, list[Edit]] = defaultdict(list)
    for edit in fix.edits:
        by_path[edit.path].append(edit)
    changes = []
    for path in sorted(by_path):
        replacements = [
            {
                "deletedRegion": locator.region(Span(path, edit.start, edit.end)),
                "insertedContent": {"text": edit.new_text},
            }
            for edit in sorted(by_path[path], key=lambda e: (e.start, e.end))
        ]
        changes.append({"artifactLocation": locator.artifact(path), "replacements": replacements})
    safety = {
        Applicability.SAFE: "safe fix",
        Applicability.UNSAFE: "unsafe fix: may change behaviour",
    }[fix.applicability]
    return {
        "description": {"text": f"{fix.title} ({safety})"},
        "artifactChanges": changes,
        "properties": {"applicability": fix.applicability.value},
    }


def _result(
    locator: _Locator,
    finding: Finding,
    index: dict[str, int],
    fingerprint: str,
    with_baseline: bool,
) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": locator.physical(finding.span)}
    if finding.function:
        location["logicalLocations"] = [{"name": finding.function, "kind": "function"}]
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {"code": finding.code, "severity": finding.severity.label, "role": finding.role},
    }
    if finding.cost is not None:
        result["properties"]["cost"] = finding.cost.to_dict()
    if finding.rule in index:
        result["ruleIndex"] = index[finding.rule]
    if finding.related:
        result["relatedLocations"] = [
            {
                "id": number,
                "physicalLocation": locator.physical(item.span),
                "message": {"text": item.message},
            }
            for number, item in enumerate(finding.related, 1)
        ]
    fixes = [
        f
        for f in (
            _fix(locator, fix) for fix in [finding.fix, *finding.alternatives] if fix is not None
        )
        if f
    ]
    if fixes:
        result["fixes"] = fixes
    if with_baseline:
        result["baselineState"] = "new"  # known findings were filtered out by the baseline
    return result


def sarif_log(
    workspace: Workspace, result: CheckResult, base: Path | None = None, *, notes: RunNotes | None = None
) -> dict[str, Any]:
    base = (base or Path.cwd()).resolve()
    baseline = notes.baseline if notes is not None else None
    locator = _Locator(workspace, base)
    rules = all_rules()
    index = {rule.meta.slug: number for number, rule in enumerate(rules)}
    prints = fingerprints(workspace, result.findings, base)
    notifications: list[dict[str, Any]] = []
    for failure in result.failures:
        note: dict[str, Any] = {
            "level": "error",
            "message": {"text": f"rule {failure.rule} failed: {failure.error}"},
            "descriptor": {"id": failure.rule},
        }
        if failure.path is not None:
            note["locations"] = [
                {"physicalLocation": {"artifactLocation": locator.artifact(failure.path)}}
            ]
        notifications.append(note)
    for problem in result.problems:
        notifications.append(
            {
                "level": "warning",
                "message": {"text": f"skipped: {problem.message}"},
                "locations": [
                    {"physicalLocation": {"artifactLocation": locator.artifact(problem.path)}}
                ],
            }
        )
    invocation: dict[str, Any] = {"executionSuccessful": not result.failures}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "convex-xray",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(rule) for rule in rules],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": base.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "invocations": [invocation],
        "results": [
            _result(locator, finding, index, fingerprint, baseline is not None)
            for finding, fingerprint in zip(result.findings, prints, strict=True)
        ],
    }
    properties: dict[str, Any] = {}
    if baseline is not None:
        properties["baseline"] = baseline.to_dict()
    if notes is not None and notes.insights is not None:
        properties["insights"] = notes.insights.to_dict()
    if properties:
        run["properties"] = properties
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(workspace: Workspace, result: CheckResult, *, notes: RunNotes | None = None) -> str:
    # Compact: SARIF is read by machines, and json's C encoder only runs without `indent`
    # (a large app's log is several MB; indenting it took longer than building it).
    return json.dumps(sarif_log(workspace, result, notes=notes), ensure_ascii=False, separators=(",", ":"))
