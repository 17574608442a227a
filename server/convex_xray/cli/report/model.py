"""The report as plain data: built once from a `CheckResult` (build.py), rendered by
markdown.py, html.py and json_format.py, so the three formats never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Problem:
    """One finding inside a function, with what it costs when the engine measured it."""

    rule: str
    code: str
    severity: str
    line: int
    end_line: int
    message: str
    docs_url: str
    fix: str | None  # safe | unsafe | None (no fix)
    fix_title: str | None
    reads: int | None = None  # per call of the enclosing function, from the cost model
    unit: str = "reads"
    formula: str | None = None
    growth: str | None = None
    assumptions: list[str] = field(default_factory=list)
    saved: int | None = None  # reads per call the fix removes (None: not estimated)
    saving_note: str = ""  # what the fix changes, in words (always said, with or without a number)
    per_item: bool = False  # a read or call repeated once per item of a loop

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "code": self.code,
            "severity": self.severity,
            "line": self.line,
            "end_line": self.end_line,
            "message": self.message,
            "docs": self.docs_url,
            "fix": self.fix,
            "fix_title": self.fix_title,
            "reads": self.reads,
            "unit": self.unit,
            "formula": self.formula,
            "growth": self.growth,
            "assumptions": self.assumptions,
            "saved": self.saved,
            "saving": self.saving_note,
        }


@dataclass(slots=True)
class FunctionEntry:
    """A function with problems: the unit of the Top N."""

    function: str
    kind: str  # public-query, mutation, action, http, internal, helper, module
    path: str  # absolute
    rel_path: str
    line: int
    end_line: int
    problems: list[Problem]
    reads_per_call: int | None
    calls_per_call: int | None
    saved_reads_per_call: int | None
    growth: str | None
    fix: str  # what can be applied: safe, unsafe (review), manual
    frequency: float  # how often it runs, relative (public reactive query > internal > script)
    frequency_reason: str
    score: float
    evidence: list[str] = field(default_factory=list)  # production insights, when given
    role: str | None = None

    @property
    def worst_severity(self) -> str:
        order = ("hint", "info", "warning", "error")
        return max((p.severity for p in self.problems), key=order.index, default="hint")

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "kind": self.kind,
            "role": self.role,
            "path": self.path,
            "line": self.line,
            "end_line": self.end_line,
            "problems": [p.to_dict() for p in self.problems],
            "reads_per_call": self.reads_per_call,
            "calls_per_call": self.calls_per_call,
            "saved_reads_per_call": self.saved_reads_per_call,
            "growth": self.growth,
            "fix": self.fix,
            "frequency": self.frequency,
            "frequency_reason": self.frequency_reason,
            "score": round(self.score, 1),
            "evidence": self.evidence,
        }


@dataclass(slots=True)
class IndexChange:
    table: str
    fields: list[str]
    name: str
    reason: str
    path: str  # where the advice comes from (the query for adds, the schema for removals)
    line: int
    rule: str
    serves: list[str] = field(default_factory=list)  # `function (file:line)` for adds

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "fields": self.fields,
            "name": self.name,
            "reason": self.reason,
            "rule": self.rule,
            "path": self.path,
            "line": self.line,
            "serves": self.serves,
        }


@dataclass(slots=True)
class Bug:
    """A finding that makes code return wrong results or fail: listed before performance."""

    rule: str
    severity: str
    function: str | None
    path: str
    rel_path: str
    line: int
    message: str
    fix: str | None
    docs_url: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "function": self.function,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
            "docs": self.docs_url,
        }


@dataclass(slots=True)
class PhaseItem:
    rule: str
    count: int
    docs_url: str
    saved: int | None  # reads per call saved summed over the items, when estimated

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "count": self.count, "docs": self.docs_url, "saved_reads_per_call": self.saved}


@dataclass(slots=True)
class Phase:
    title: str
    command: str | None
    explanation: str
    items: list[PhaseItem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "command": self.command,
            "explanation": self.explanation,
            "items": [i.to_dict() for i in self.items],
        }


@dataclass(slots=True)
class Pattern:
    """A place already doing it right, to point reviewers at."""

    kind: str  # index-range | concurrent-join
    function: str
    path: str
    rel_path: str
    line: int
    detail: str
    strength: int = 0  # how much of the pattern it shows (fields in the range, a list read): examples first

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "function": self.function, "path": self.path, "line": self.line, "detail": self.detail}


@dataclass(slots=True)
class AffectedFile:
    path: str
    rel_path: str
    findings: int
    ranges: list[tuple[int, int]]
    rules: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "findings": self.findings,
            "ranges": [{"line": a, "end_line": b} for a, b in self.ranges],
            "rules": self.rules,
        }


@dataclass(slots=True)
class Summary:
    name: str  # the checked directory's name, for titles
    target: str  # how commands name what was checked (`.`)
    files: int
    functions: int  # Convex functions (query, mutation, action, ...) in the checked files
    findings: int
    by_tier: dict[str, int]
    cost_available: bool
    reads_before: int | None  # summed over the Top N, per one call of each
    reads_after: int | None
    assumptions: list[str]
    roots: list[str]
    insights: str | None = None  # what --insights contributed

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "files": self.files,
            "functions": self.functions,
            "findings": self.findings,
            "by_tier": self.by_tier,
            "cost_available": self.cost_available,
            "reads_before": self.reads_before,
            "reads_after": self.reads_after,
            "assumptions": self.assumptions,
            "roots": self.roots,
            "insights": self.insights,
        }


@dataclass(slots=True)
class Report:
    summary: Summary
    top: list[FunctionEntry]
    ranked: int  # functions with problems (the Top N is the first `len(top)` of them)
    bugs: list[Bug]
    indexes_add: list[IndexChange]
    indexes_remove: list[IndexChange]
    phases: list[Phase]
    patterns: list[Pattern]
    files: list[AffectedFile]
    ranking: str  # how the Top N was ordered, in words
    timestamp: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "summary": self.summary.to_dict(),
            "ranking": self.ranking,
            "functions_with_problems": self.ranked,
            "top": [t.to_dict() for t in self.top],
            "bugs": [b.to_dict() for b in self.bugs],
            "indexes": {
                "add": [i.to_dict() for i in self.indexes_add],
                "remove": [i.to_dict() for i in self.indexes_remove],
            },
            "phases": [p.to_dict() for p in self.phases],
            "patterns": [p.to_dict() for p in self.patterns],
            "files": [f.to_dict() for f in self.files],
        }
        if self.timestamp is not None:
            data["generated"] = self.timestamp
        return data
