"""Checking a large workspace on several cores (the CLI's `--jobs`).

Worker processes (forked, so they share the loaded code) each parse, model and run the
per-file rules on a shard of the files, and summarise what their files contribute to the
workspace's index usage as plain data. The parent then runs the workspace rules on the
merged usage (re-reading a file only when a rule asks for the references themselves, as
`redundant-index`'s rename fix does), applies suppressions and the post rules, and sorts:
the output is identical to a serial run, in the same order.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from convex_xray.engine.analysis.options import AnalysisOptions
from convex_xray.engine.config import Config
from convex_xray.engine.findings import Finding
from convex_xray.engine.fixes import FixValidator
from convex_xray.engine.registry import Rule, resolve_rule
from convex_xray.engine.runner import (
    CheckResult,
    RuleFailure,
    active_rules,
    check_file,
    check_paths,
    check_workspace_rules,
    silent_rules,
)
from convex_xray.engine.workspace import FileProblem, Workspace
from convex_xray.rules.support.index_usage import (
    MERGED_USAGE,
    cached_file_usage,
    index_definitions,
)
from convex_xray.rules.support.merged_usage import (
    MergedIndexUsage,
    UsageSummary,
    add_summary,
)
from convex_xray.rules.support.schema_plan import (
    PLAN_RULES,
    PRESET_PLAN,
    FileFacts,
    SchemaPlan,
    file_facts,
    plan_from_facts,
)

# Below this many files per worker, forking and merging cost more than they save: on the
# 2-core machine of benchmarks/README.md two workers were even or slower on every 50-200-file
# corpus app (ialex, 196 files: 1.25 s serial vs 1.40-1.49 s with two) and 20% faster only on the
# 732-file one, so workers start at 300 files.
MIN_FILES_PER_JOB = 150
# From this much source a process drops each file's model and syntax tree once it is
# summarised (peak RSS grows by roughly 35 MB per MB of source when every tree is kept:
# ConvexPress, 8.2 MB, 289 MB serial). Below it, keeping them is cheaper than reading back
# the files the workspace rules and the plan's re-checks ask for again (+25% time on 1 MB).
RELEASE_FROM_BYTES = 4_000_000
# A released serial check keeps, up to this much source, the models of the files the plan may
# re-check (their facts name a filter need or a missing index, or their check asked the plan
# about a table): analysing them again after the plan cost a 3x copy of ialex (7 MB) ~35% more
# CPU than keeping every model (benchmarks/README.md). At ~35 MB of RSS per MB kept, this stays
# within the CLI's 250 MB budget on the largest corpus app. Workers keep none: the parent
# re-checks, and it cannot use their models.
RETAIN_BYTES = 1_500_000

@dataclass
class _ShardResult:
    findings: list[Finding]
    usage: UsageSummary
    problems: list[FileProblem]
    failures: list[RuleFailure]
    facts: list[FileFacts] = field(default_factory=list)  # what the shard tells the schema plan
    # Per file, the (schema, table) plans its plan rules asked about (`SchemaPlan.asked`).
    asked: dict[Path, frozenset[tuple[Path, str]]] = field(default_factory=dict)



# -- the worker side ------------------------------------------------------------------------

_STATE: dict[str, object] = {}


def _init_worker(roots: list[Path], options: AnalysisOptions, exclude: list[str], base: Path | None, config: Config, rules: list[str], release: bool) -> None:
    workspace = Workspace(roots, options=options, exclude=exclude, base=base)
    # A worker reads only its shard: its rules choose indexes from their own file (the empty
    # plan), and the parent re-checks the files whose choices the whole plan changes.
    workspace.memo.put(PRESET_PLAN, SchemaPlan())
    _STATE["workspace"] = workspace
    _STATE["config"] = config
    _STATE["rules"] = [r for r in (resolve_rule(s) for s in rules) if r is not None]
    _STATE["release"] = release


def _check_shard(paths: list[Path]) -> _ShardResult:
    workspace = _STATE["workspace"]
    config = _STATE["config"]
    rules = _STATE["rules"]
    assert isinstance(workspace, Workspace) and isinstance(config, Config) and isinstance(rules, list)
    return check_and_summarise(workspace, config, rules, paths, release=_STATE["release"] is True)


def check_and_summarise(
    workspace: Workspace,
    config: Config,
    rules: list[Rule],
    paths: list[Path],
    progress: Callable[[int, int], None] | None = None,
    release: bool = True,
    retain_bytes: int = 0,
) -> _ShardResult:
    """The per-file rules' findings on `paths`, and what each file tells the workspace rules
    and the schema plan, as plain data. With `release`, each file's model and syntax tree
    are dropped once it is summarised, except the helpers' (files read for another file's
    check, which many files call): the memory held is the helpers' trees and the current
    file's, not the shard's, plus up to `retain_bytes` of source of the files the plan may
    re-check (see RETAIN_BYTES), which the caller releases. `progress(done, total)` is called
    after each file."""
    failures: list[RuleFailure] = []
    findings: list[Finding] = []
    usage = UsageSummary()
    definitions = index_definitions(workspace)
    facts: list[FileFacts] = []
    done: set[Path] = set()
    released: set[Path] = set()
    helpers: set[Path] = set()  # kept, not parsed again per caller
    asked: dict[Path, frozenset[tuple[Path, str]]] = {}
    retained: set[Path] = set()
    verdicts: dict[tuple, bool] = {}  # see `FixValidator`
    preset: SchemaPlan | None = workspace.memo.get(PRESET_PLAN)
    for path in paths:
        if preset is not None:
            preset.asked = set()
        found = check_file(workspace, path, rules, config, failures)
        if preset is not None and preset.asked is not None:
            asked[path] = frozenset(preset.asked)
            preset.asked = None
        # Checked while the file's tree is at hand: later it would be parsed again for this.
        FixValidator(workspace.source, verdicts=verdicts).filter(found)
        findings.extend(found)
        model = workspace.model(path)
        if model is not None and workspace.component_of(path) is None:
            told = file_facts(workspace, model, config)
            if told is not None:
                facts.append(told)
                if release and retain_bytes > 0 and (told.filters or told.unknown or asked.get(path)):
                    size = len(model.source.data)
                    if size <= retain_bytes:
                        retained.add(path)
                        retain_bytes -= size
            add_summary(usage, path, cached_file_usage(workspace, model), definitions)
        del model
        done.add(path)
        for loaded in workspace.loaded(recent=True) if release else ():
            if loaded in released or loaded not in done:
                helpers.add(loaded)  # read for another file's check (before its own turn, or again)
            elif loaded not in helpers and loaded not in retained:
                workspace.release(loaded)
                released.add(loaded)
        if progress is not None:
            progress(len(done), len(paths))
    if release:
        _release_all(workspace, keep=retained)
    shard = set(paths)
    problems = [p for p in workspace.problems if p.path in shard]
    return _ShardResult(findings, usage, problems, failures, facts, asked)


# -- the parent side -------------------------------------------------------------------------


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def run_check_parallel(
    workspace: Workspace,
    config: Config,
    *,
    paths: list[Path] | None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    jobs: int,
) -> CheckResult | None:
    """The result of `run_check`, computed on `jobs` processes; None when it is not worth it
    (few files, one core) or not possible here (no `fork`), so the caller runs serially."""
    targets = sorted(set(paths)) if paths is not None else workspace.files()
    if jobs < 2 or len(targets) < 2 * MIN_FILES_PER_JOB:
        return None
    # Imported only when workers may run: a serial check does not pay for them at start-up.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    started = time.perf_counter()
    rules = active_rules(config, select, ignore)
    silent = silent_rules(config, rules, ignore)
    file_rules = [r.meta.slug for r in rules + silent if r.meta.scope == "file"]
    # Big files first, dealt round-robin: shards of similar cost.
    sizes = {p: _size(p) for p in targets}
    release = sum(sizes.values()) >= RELEASE_FROM_BYTES
    ordered = sorted(targets, key=lambda p: -sizes[p])
    count = min(jobs * 4, max(1, len(targets) // 8))
    shards: list[list[Path]] = [ordered[i::count] for i in range(count)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=([r.path for r in workspace.roots], workspace.options, workspace.exclude, workspace.base, config, file_rules, release),
    ) as pool:
        results = list(pool.map(_check_shard, shards))
    return _merge(workspace, config, paths, targets, rules, silent, results, started, release)


def run_check_summarised(
    workspace: Workspace,
    config: Config,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> CheckResult:
    """The result of `run_check` on the whole workspace, computed in this process the way the
    workers and the parent compute it: file by file, keeping only each file's findings and
    summaries, not its model (a whole app's syntax trees do not fit the CLI's memory budget).
    Whole workspace only: the index usage and the schema plan come from the checked files."""
    started = time.perf_counter()
    targets = workspace.files()
    rules = active_rules(config, select, ignore)
    silent = silent_rules(config, rules, ignore)
    file_rules = [r for r in rules + silent if r.meta.scope == "file"]
    workspace.memo.put(PRESET_PLAN, SchemaPlan())  # as in a worker: see `_init_worker`
    results = [check_and_summarise(workspace, config, file_rules, targets, progress, retain_bytes=RETAIN_BYTES)]
    return _merge(workspace, config, None, targets, rules, silent, results, started, release=True)


def worth_summarising(workspace: Workspace) -> bool:
    """Whether a whole-workspace serial check should take `run_check_summarised`."""
    return sum(_size(p) for p in workspace.files()) >= RELEASE_FROM_BYTES


def _merge(
    workspace: Workspace,
    config: Config,
    paths: list[Path] | None,
    targets: list[Path],
    rules: list[Rule],
    silent: list[Rule],
    results: list[_ShardResult],
    started: float,
    release: bool,
) -> CheckResult:
    """The workspace rules, the plan's re-checks, suppressions and post rules over the shards'
    results: the same findings, in the same order, as `run_check`."""
    failures = [f for r in results for f in r.failures]
    per_file: dict[Path, list[Finding]] = defaultdict(list)
    for result in results:
        for finding in result.findings:
            per_file[finding.path].append(finding)
    merged = MergedIndexUsage((r.usage for r in results), workspace)
    workspace.memo.put(MERGED_USAGE, merged)
    facts = sorted((f for r in results for f in r.facts), key=lambda f: str(f.path))
    plan = workspace.memo.put(PRESET_PLAN, plan_from_facts(workspace.app_schemas(), merged, facts))
    asked = {path: tables for r in results for path, tables in r.asked.items()}
    _recheck_planned(workspace, config, rules + silent, plan, facts, asked, per_file, failures)
    if release:
        _release_all(workspace)
    # The workspace rules read back the references they ask for (see `_Rehydrating`): run
    # them here, so those models can be dropped before the suppressions and post rules.
    workspace_findings = check_workspace_rules(workspace, rules + silent, config, failures)
    if release:
        merged.forget_models()
        _release_all(workspace)
    for result in results:
        for problem in result.problems:
            if problem not in workspace.problems:
                workspace.problems.append(problem)
    check = CheckResult(files=len(targets))
    check.findings = check_paths(
        workspace,
        config,
        targets,
        rules,
        failures,
        silent=silent,
        whole_workspace=paths is None,
        file_findings={p: per_file.get(p, []) for p in targets},
        workspace_findings=workspace_findings,
        file_fixes_checked=True,
    )
    if release:
        _release_all(workspace)
    check.failures = failures
    target_set = set(targets)
    check.problems = [p for p in workspace.problems if paths is None or p.path in target_set]
    check.elapsed_ms = (time.perf_counter() - started) * 1000
    return check


def _release_all(workspace: Workspace, keep: set[Path] | frozenset[Path] = frozenset()) -> None:
    for path in workspace.loaded():
        if path not in keep:
            workspace.release(path)


def _recheck_planned(
    workspace: Workspace,
    config: Config,
    rules: list[Rule],
    plan: SchemaPlan,
    facts: list[FileFacts],
    asked: dict[Path, frozenset[tuple[Path, str]]],
    per_file: dict[Path, list[Finding]],
    failures: list[RuleFailure],
) -> None:
    """Re-run the rules that read the schema plan on the files whose index choices it may
    change (a filter on a table the plan adds to or removes from, a misspelt index, any table
    whose plan a rule asked about while the file was checked against the empty plan): the
    workers chose from their own shard. Their findings replace the workers' ones."""
    planned = [r for r in rules if r.meta.slug in PLAN_RULES and r.meta.scope == "file"]
    if not planned:
        return
    verdicts: dict[tuple, bool] = {}  # see `FixValidator`
    for part in facts:
        touched = bool(part.unknown) or any(
            (table_plan := plan.tables.get((part.schema, need.table))) is not None
            and (table_plan.additions or table_plan.removals)
            for need in part.filters
            if part.schema is not None
        )
        # unbounded-collect's index advice reads the plan of whatever table it collects (no
        # filter need of the file says which): the tables the check asked about say it.
        touched = touched or any(
            (table_plan := plan.tables.get(key)) is not None and (table_plan.additions or table_plan.removals)
            for key in asked.get(part.path, ())
        )
        if not touched:
            continue
        kept = [f for f in per_file.get(part.path, []) if f.rule not in PLAN_RULES]
        found = check_file(workspace, part.path, planned, config, failures)
        FixValidator(workspace.source, verdicts=verdicts).filter(found)  # as in `check_and_summarise`
        per_file[part.path] = kept + found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


__all__ = ["MergedIndexUsage", "Rule", "check_and_summarise", "default_jobs", "run_check_parallel", "run_check_summarised", "worth_summarising"]
