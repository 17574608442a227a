"""Builds the one `Report` every format renders, from the engine's findings and code model.

What the cost model adds is read from `finding.cost` when the engine set it; without it the
report still ranks (severity, then reads repeated per loop item) and says that no cost
estimate was available rather than printing invented numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convex_xray.cli.output.locations import locate
from convex_xray.cli.report.model import (
    AffectedFile,
    Bug,
    FunctionEntry,
    Phase,
    PhaseItem,
    Problem,
    Report,
    Summary,
)
from convex_xray.cli.report.patterns import correct_patterns
from convex_xray.cli.report.schema_changes import schema_changes
from convex_xray.engine.config import Config
from convex_xray.engine.cost import CostAssumptions, function_context
from convex_xray.engine.findings import Finding, Span
from convex_xray.engine.model import FunctionModel
from convex_xray.engine.registry import resolve_rule
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.workspace import Workspace

# Findings that make code return wrong results or fail at run time: listed before performance.
BUG_RULES = frozenset({"better-auth-id-field", "unknown-index", "index-range-order", "paginate-twice", "syntax-error"})
# `.paginate()` run more than once per execution throws; n-plus-one-read reports it (as an
# error) with Convex's own error text, the one place it is told apart from a slow loop.
_PAGINATE_TWICE = "multiple paginated queries"


def is_functional_bug(finding: Finding) -> bool:
    return finding.rule in BUG_RULES or (finding.rule == "n-plus-one-read" and _PAGINATE_TWICE in finding.message)


# Schema hygiene: reported under "Schema changes", not as a function's problem.
SCHEMA_RULES = frozenset({"unused-index", "redundant-index"})
# Not about what a function costs.
HYGIENE_RULES = frozenset({"unused-suppression"})
# A read or call repeated once per item of a loop.
PER_ITEM_RULES = frozenset({"n-plus-one-read", "n-plus-one-call", "sequential-scheduling"})
INDEX_RULES = frozenset({"filter-on-query", "full-table-scan"})

# What an index range is assumed to return after an index fix, when nothing says better.
ASSUMED_RANGE = 10
TAKE_BOUND = 100  # the `.take(n)` the unbounded-collect fix writes

TIERS = ("error", "warning", "info", "hint")
_INDEX_SAVING = f"after an index fix a query reads ~{ASSUMED_RANGE} documents (one index range)"
_SAVING_ASSUMPTIONS = frozenset({_INDEX_SAVING})

# How often a function runs, relative: a public query is reactive (re-runs on every write to
# what it read, once per subscribed client), clients call mutations and actions directly,
# internal functions run when something schedules or calls them.
_FREQUENCY = {
    "public-query": (3.0, "public query: reactive, re-runs for every subscribed client on each write to what it read"),
    "mutation": (2.0, "public mutation: called directly by clients"),
    "action": (2.0, "public action: called directly by clients"),
    "http": (2.0, "HTTP action: called per request"),
    "internal": (1.0, "internal function: runs when scheduled or called by another function"),
    "helper": (1.0, "helper: runs as often as the functions that call it"),
    "module": (1.0, "module level"),
}
_ROLE_FACTOR = 0.1  # scripts, migrations, seeds and tests run rarely, by hand
_EVIDENCE_FACTOR = 4.0  # production said it is heavy: it outranks a static guess


@dataclass(frozen=True, slots=True)
class Options:
    target: Path  # what the user asked to check (paths in the report are relative to it)
    command_target: str  # how to name it in commands (`.`, `convex/`)
    top: int = 10
    timestamp: str | None = None
    sizes: CostAssumptions | None = None  # the `[cost]` sizes the estimates assumed
    config: Config | None = None  # the check's configuration (the schema plan reads it)


def sizes_text(sizes: CostAssumptions) -> list[str]:
    """The sizes behind every estimate, named as `[cost]` in convex-xray.toml names them."""
    return [
        f"a parent's children (`per-parent`) {sizes.per_parent:,}",
        f"a tenant's records, keyed by org/team/club (`per-tenant`) {sizes.per_tenant:,}",
        f"a table read with no index range (`table`) {sizes.table:,}",
        f"ids a client sends (`client-array`) {sizes.client_array:,}",
        f"a page (`page`) {sizes.page:,}",
    ]


def _context(function: FunctionModel | None) -> str:
    """The engine's function context (the cost model's), with the internal kinds as one."""
    if function is None:
        return "module"
    context = function_context(function)
    return "internal" if context.startswith("internal-") else context


def _outermost(function: FunctionModel | None) -> FunctionModel | None:
    while function is not None and function.parent is not None:
        function = function.parent
    return function


def cost_of(finding: Finding) -> dict[str, Any] | None:
    """The cost model's numbers for a finding (`formula`, `reads`, `assumptions`, `growth`,
    `score`, ...), or None when the engine did not estimate it."""
    cost = getattr(finding, "cost", None)
    if cost is None:
        return None
    data = cost.to_dict() if hasattr(cost, "to_dict") else cost
    return data if isinstance(data, dict) and isinstance(data.get("reads"), int) else None


# The saving note of a batch fix for a loop that awaited each item in turn.
FEWER_WAITS = "same reads or fewer (repeated ids read once), fetched together: one wait instead of one per item"


def _saving(finding: Finding, reads: int | None, unit: str) -> tuple[int | None, str, list[str]]:
    """Reads per call the finding's fix removes, what the fix changes in words, and what
    the estimate assumes. Only index and bound fixes change how many documents are read."""
    fix = finding.fix
    applicable = fix is not None and bool(fix.edits)
    rule = finding.rule
    if rule in INDEX_RULES:
        if not _advises_index(finding):
            return None, "no index fixes it: bound the read or change the design", []
        if reads is None or unit != "reads":
            return None, "an index range reads only the matches instead of scanning", []
        after = min(reads, ASSUMED_RANGE)
        return reads - after, f"an index range reads only the matches (~{after})", [_INDEX_SAVING]
    if rule == "unbounded-collect" and applicable:
        if reads is None or unit != "reads":
            return None, f"`.take({TAKE_BOUND})` bounds the read (review: it drops the rest)", []
        after = min(reads, TAKE_BOUND)
        return reads - after, f"`.take({TAKE_BOUND})` bounds the read at {after} (review: it drops the rest)", []
    if rule == "n-plus-one-read":
        # The message says how the loop runs; only a loop that awaits each item in turn gains
        # waits from a batch (a Promise.all loop already waits once).
        if "sequentially (each waits" in finding.message:
            return (0 if reads is not None else None), FEWER_WAITS, []
        return (0 if reads is not None else None), "the loop already reads concurrently: a batch reads repeated ids once and keeps the reads out of the loop", []
    if rule == "n-plus-one-call":
        return None, "one function call (or inlined helper) instead of one per item", []
    if rule == "sequential-scheduling":
        return None, "jobs scheduled together instead of one await per item", []
    return None, "", []


_INTO_RANGE = re.compile(r"into the `[^`]+` range")


def _advises_index(finding: Finding) -> bool:
    """Whether the finding's fix or message names an index to add (or an index range to use)."""
    texts = [e.new_text for fix in (finding.fix, *finding.alternatives) if fix is not None for e in fix.edits]
    # `add .index("by_x", [...])`, or `move the condition into the `by_x` range`.
    return any(".index(" in t or "withIndex(" in t for t in texts) or ".index(" in finding.message or bool(_INTO_RANGE.search(finding.message))


def _problem(workspace: Workspace, finding: Finding) -> tuple[Problem, list[str]]:
    where = locate(workspace, finding.span)
    rule = resolve_rule(finding.rule)
    cost = cost_of(finding)
    reads = cost["reads"] if cost is not None else None
    unit = str(cost.get("unit", "reads")) if cost is not None else "reads"
    saved, note, assumed = _saving(finding, reads, unit)
    assumptions = [str(a) for a in cost.get("assumptions", [])] if cost is not None else []
    fix = finding.fix
    problem = Problem(
        rule=finding.rule,
        code=finding.code,
        severity=finding.severity.label,
        line=where.line,
        end_line=where.end_line,
        message=finding.message,
        docs_url=rule.meta.docs_url if rule is not None else "",
        fix=fix.applicability.value if fix is not None else None,
        fix_title=fix.title if fix is not None else None,
        reads=reads,
        unit=unit,
        formula=str(cost["formula"]) if cost is not None and cost.get("formula") else None,
        growth=str(cost["growth"]) if cost is not None and cost.get("growth") else None,
        assumptions=assumptions,
        saved=saved,
        saving_note=note,
        per_item=finding.rule in PER_ITEM_RULES,
    )
    return problem, assumed


_GROWTH_ORDER = ("constant", "bounded", "per-parent", "per-parent-log", "per-tenant", "whole-table")


def _worst_growth(problems: list[Problem]) -> str | None:
    known = [p.growth for p in problems if p.growth in _GROWTH_ORDER]
    return max(known, key=_GROWTH_ORDER.index) if known else None


def _fix_summary(problems: list[Problem]) -> str:
    safe = sum(1 for p in problems if p.fix == "safe")
    unsafe = sum(1 for p in problems if p.fix == "unsafe")
    manual = len(problems) - safe - unsafe
    parts = []
    if safe:
        parts.append(f"{safe} safe")
    if unsafe:
        parts.append(f"{unsafe} to review")
    if manual:
        parts.append(f"{manual} manual")
    return ", ".join(parts)


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


class _Builder:
    def __init__(self, workspace: Workspace, result: CheckResult, options: Options, evidence: dict[tuple[Path, int], list[str]]):
        self.workspace = workspace
        self.result = result
        self.options = options
        self.evidence = evidence
        self.assumptions: set[str] = set()

    def rel(self, path: Path) -> str:
        base = self.options.target if self.options.target.is_dir() else self.options.target.parent
        try:
            return path.relative_to(base.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def functions(self) -> tuple[list[FunctionEntry], bool]:
        groups: dict[tuple[Path, int], tuple[FunctionModel | None, list[Finding]]] = {}
        for finding in self.result.findings:
            if is_functional_bug(finding) or finding.rule in SCHEMA_RULES | HYGIENE_RULES:
                continue
            model = self.workspace.model(finding.path)
            function = _outermost(model.function_at(finding.span.start)) if model is not None else None
            key = (finding.path, function.start if function is not None else -1)
            groups.setdefault(key, (function, []))[1].append(finding)
        entries = [self._entry(path, function, findings) for (path, _), (function, findings) in groups.items()]
        with_cost = any(p.reads is not None for e in entries for p in e.problems)
        return entries, with_cost

    def _entry(self, path: Path, function: FunctionModel | None, findings: list[Finding]) -> FunctionEntry:
        problems = []
        for finding in sorted(findings, key=Finding.sort_key):
            problem, assumed = self._problem(finding)
            problems.append(problem)
            self.assumptions.update(assumed)
        if function is not None:
            span = locate(self.workspace, _span_of(path, function))
            line, end_line, name = span.line, span.end_line, function.name
        else:
            line = min(p.line for p in problems)
            end_line = max(p.end_line for p in problems)
            name = "(module level)"
        context = _context(function)
        frequency, reason = _FREQUENCY[context]
        roles = {getattr(f, "role", None) for f in findings} - {None, "production"}
        role = sorted(str(r) for r in roles)[0] if roles else None
        if role is not None:
            frequency *= _ROLE_FACTOR
            reason = f"{role} code: runs rarely, by hand"
        evidence = self.evidence.get((path, function.start if function is not None else -1), [])
        if evidence:
            frequency *= _EVIDENCE_FACTOR
            reason += "; production insights flagged it"
        reads = _sum([p.reads for p in problems if p.unit == "reads"])
        calls = _sum([p.reads for p in problems if p.unit != "reads"])
        saved = _sum([p.saved for p in problems])
        cost_total = (reads or 0) + (calls or 0)
        return FunctionEntry(
            function=name,
            kind=context,
            path=str(path),
            rel_path=self.rel(path),
            line=line,
            end_line=end_line,
            problems=problems,
            reads_per_call=reads,
            calls_per_call=calls,
            saved_reads_per_call=saved,
            growth=_worst_growth(problems),
            fix=_fix_summary(problems),
            frequency=round(frequency, 2),
            frequency_reason=reason,
            score=cost_total * frequency,
            evidence=evidence,
            role=role,
        )

    def _problem(self, finding: Finding) -> tuple[Problem, list[str]]:
        problem, assumed = _problem(self.workspace, finding)
        self.assumptions.update(problem.assumptions)
        return problem, assumed

    def bugs(self) -> list[Bug]:
        bugs = []
        for finding in self.result.findings:
            if not is_functional_bug(finding):
                continue
            where = locate(self.workspace, finding.span)
            rule = resolve_rule(finding.rule)
            bugs.append(
                Bug(
                    rule=finding.rule,
                    severity=finding.severity.label,
                    function=finding.function,
                    path=str(finding.path),
                    rel_path=self.rel(finding.path),
                    line=where.line,
                    message=finding.message,
                    fix=finding.fix.title if finding.fix is not None else None,
                    docs_url=rule.meta.docs_url if rule is not None else "",
                )
            )
        return sorted(bugs, key=lambda b: (TIERS.index(b.severity), b.rel_path, b.line, b.rule))

    def phases(self, saved_by_finding: Callable[[Finding], int | None]) -> list[Phase]:
        buckets: dict[str, dict[str, list[Finding]]] = {"safe": {}, "unsafe": {}, "manual": {}}
        for finding in self.result.findings:
            fix = finding.fix
            bucket = "manual" if fix is None or not fix.edits else fix.applicability.value
            buckets[bucket].setdefault(finding.rule, []).append(finding)
        target = self.options.command_target
        described = [
            (
                "safe",
                "1. Safe fixes, highest return first",
                f"convex-xray check {target} --fix",
                "Applied without changing what the code returns; re-run the tests and commit.",
            ),
            (
                "unsafe",
                "2. Fixes to review",
                f"convex-xray check {target} --fix --unsafe-fixes --diff",
                "These may change behaviour (a bound that drops rows, a new index to deploy): read the diff, then run the same command without `--diff`.",
            ),
            (
                "manual",
                "3. The rest, by hand",
                None,
                "No automatic fix: each rule's documentation shows the pattern to write.",
            ),
        ]
        phases = []
        for key, title, command, explanation in described:
            items = []
            for slug, findings in buckets[key].items():
                rule = resolve_rule(slug)
                items.append(PhaseItem(slug, len(findings), rule.meta.docs_url if rule is not None else "", _sum([saved_by_finding(f) for f in findings])))
            # Bugs first (they are wrong whatever the load), then by reads saved, then by count.
            items.sort(key=lambda i: (i.rule not in BUG_RULES, -(i.saved or 0), -i.count, i.rule))
            if items:
                phases.append(Phase(title, command, explanation, items))
        return phases

    def files(self) -> list[AffectedFile]:
        by_path: dict[Path, list[Finding]] = {}
        for finding in self.result.findings:
            by_path.setdefault(finding.path, []).append(finding)
        files = []
        for path, findings in by_path.items():
            spans = sorted((locate(self.workspace, f.span) for f in findings), key=lambda s: (s.line, s.end_line))
            ranges: list[tuple[int, int]] = []
            for span in spans:
                if ranges and span.line <= ranges[-1][1] + 1:
                    ranges[-1] = (ranges[-1][0], max(ranges[-1][1], span.end_line))
                else:
                    ranges.append((span.line, span.end_line))
            files.append(AffectedFile(str(path), self.rel(path), len(findings), ranges, sorted({f.rule for f in findings})))
        return sorted(files, key=lambda f: (-f.findings, f.rel_path))


def _span_of(path: Path, function: FunctionModel) -> Span:
    return Span(path, function.definition.start_byte, function.definition.end_byte)


def _scans_table(problem: Problem) -> bool:
    """A read of every document of a table (not of one index range): the rules say so in
    their message ("Full table scan", "scans the whole `t` table")."""
    return problem.rule == "full-table-scan" or (problem.rule == "filter-on-query" and "scans the whole" in problem.message)


def _rank_key(entry: FunctionEntry, with_cost: bool) -> tuple[Any, ...]:
    severity = TIERS.index(entry.worst_severity)
    per_item = sum(1 for p in entry.problems if p.per_item)
    if with_cost:
        return (-entry.score, severity, -per_item, entry.rel_path, entry.line)
    # Without numbers, a read that grows with a whole table (a scan) outranks reads per item.
    scans = sum(1 for p in entry.problems if _scans_table(p))
    return (severity, -min(scans, 1), -entry.frequency, -per_item, -len(entry.problems), entry.rel_path, entry.line)


def build_report(
    workspace: Workspace,
    result: CheckResult,
    options: Options,
    evidence: dict[tuple[Path, int], list[str]] | None = None,
    insights_note: str | None = None,
) -> Report:
    builder = _Builder(workspace, result, options, evidence or {})
    entries, with_cost = builder.functions()
    entries.sort(key=lambda e: _rank_key(e, with_cost))
    top = entries[: options.top]
    if with_cost:
        ranking = "estimated reads (and function calls) per call times how often the function runs (public reactive query 3, public mutation/action 2, internal or helper 1, scripts/tests 0.1, x4 when production insights flagged it)"
    else:
        ranking = "no cost estimate available: ordered by severity, then functions that read a whole table (a full scan, or a filter with no index) first, then how often the function runs (public query > public mutation/action > internal), then the number of reads or calls repeated per loop item"
    saved_by: dict[int, int | None] = {}
    for finding in result.findings:
        cost = cost_of(finding)
        saved_by[id(finding)] = _saving(finding, cost["reads"] if cost else None, str(cost.get("unit", "reads")) if cost else "reads")[0]
    checked = set(workspace.files()) if result.files else set()
    functions = 0
    for path in sorted(checked):
        model = workspace.model(path)
        if model is not None:
            functions += sum(1 for f in model.functions if f.kind.is_convex and f.parent is None)
    tiers = {t: 0 for t in TIERS}
    for finding in result.findings:
        tiers[finding.severity.label] += 1
    before = _sum([e.reads_per_call for e in top])
    saved = _sum([e.saved_reads_per_call for e in top])
    add, remove = schema_changes(workspace, options.config or Config(), result.findings, builder.rel)
    summary = Summary(
        name=options.target.name or options.command_target,
        target=options.command_target,
        files=result.files,
        functions=functions,
        findings=len(result.findings),
        by_tier=tiers,
        cost_available=with_cost,
        reads_before=before,
        reads_after=before - saved if before is not None and saved is not None else None,
        # The sizes (when an estimate used them) and what the savings assume; each problem
        # in the Top N carries its own assumptions too.
        assumptions=[*(sizes_text(options.sizes or CostAssumptions()) if with_cost else []), *sorted(_SAVING_ASSUMPTIONS & builder.assumptions)],
        roots=sorted(f"{builder.rel(r.path) or '.'} ({r.kind}, {r.files} files)" for r in workspace.checked_roots()),
        insights=insights_note,
    )
    return Report(
        summary=summary,
        top=top,
        ranked=len(entries),
        bugs=builder.bugs(),
        indexes_add=add,
        indexes_remove=remove,
        phases=builder.phases(lambda f: saved_by.get(id(f))),
        patterns=correct_patterns(workspace, result.findings, sorted(checked), builder.rel),
        files=builder.files(),
        ranking=ranking,
        timestamp=options.timestamp,
    )
