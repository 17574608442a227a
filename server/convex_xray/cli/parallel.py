"""Checking a large workspace on several cores (the CLI's `--jobs`).

Worker processes (forked, so they share the loaded code) each parse, model and run the
per-file rules on a shard of the files, and summarise what their files contribute to the
workspace's index usage as plain data. The parent then runs the workspace rules on the
merged usage (re-reading a file only when a rule asks for the references themselves, as
`redundant-index`'s rename fix does), applies suppressions and the post rules, and sorts:
the output is identical to a serial run, in the same order.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from convex_xray.engine.config import Config
from convex_xray.engine.findings import Finding
from convex_xray.engine.fixes import FixValidator
from convex_xray.engine.model import FileModel
from convex_xray.engine.registry import Rule
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

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

# Below this many files per worker, forking and merging cost more than they save: on the
# 2-core machine of benchmarks/README.md two workers were even or slower on every 50-200-file
# corpus app (ialex, 196 files: 1.25 s serial vs 1.40-1.49 s with two) and 20% faster only on the
# 732-file one, so workers start at 300 files. Still so with each file checked once against the
# whole plan (2026-12-06, load 5-8): two processes cost 15-40% more CPU than one on keppo, ialex,
# groupi (each process compiles its queries, reads its helpers and merges the workspace-wide
# per-file facts), and the other jobs on the two cores leave no second core to win it back.
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

@dataclass
class _Second:
    """A worker's answer once it knows the whole plan: its files' findings (checked against
    the plan now), or the re-checked files' plan-rule findings (see `_Worker`)."""

    findings: list[Finding]
    rechecked: dict[Path, list[Finding]]
    failures: list[RuleFailure]
    problems: list[FileProblem]


@dataclass
class _Worker:
    """What a forked worker checks with: the parent's workspace as it was at the fork (its
    files found, its schemas read: the copy costs nothing until written), the configuration
    and the file rules.

    Its files' rules need the whole app's schema plan, which needs every file's facts. Below
    RELEASE_FROM_BYTES the worker first models its files and sends their facts and index
    usage only, keeps the models, and checks the files once it has every shard's (`second`):
    each rule runs once per file, as in a serial check. Checking first against an empty
    plan and re-checking in the parent what the whole plan changes parsed, analysed and
    checked most files a second time on 100-200-file apps (ialex: ~1 s of CPU after the
    workers, as much as a serial check), which is why two workers were slower than one there.
    From RELEASE_FROM_BYTES the models do not stay (memory): the worker checks against the
    empty plan, drops each model, and re-checks what the whole plan changes (`second`)."""

    workspace: Workspace
    config: Config
    rules: list[Rule]
    release: bool

    def first(self, paths: list[Path]) -> _ShardResult:
        # Its rules choose indexes from the worker's own files (the empty plan).
        self.workspace.memo.put(PRESET_PLAN, SchemaPlan())
        if self.release:
            return check_and_summarise(self.workspace, self.config, self.rules, paths, release=True)
        usage = UsageSummary()
        definitions = index_definitions(self.workspace)
        facts: list[FileFacts] = []
        for path in paths:
            model = self.workspace.model(path)
            if model is not None and self.workspace.component_of(path) is None:
                _summarise(self.workspace, self.config, path, model, definitions, usage, facts)
        return _ShardResult([], usage, [], [], facts)

    def second(self, paths: list[Path], shard: _ShardResult, usages: list[UsageSummary], facts: list[FileFacts]) -> _Second:
        """The whole plan, built here from every shard's facts and usage as the parent builds
        it, and the findings it decides on the worker's files."""
        merged = MergedIndexUsage(usages, self.workspace)
        self.workspace.memo.put(MERGED_USAGE, merged)
        plan = self.workspace.memo.put(PRESET_PLAN, plan_from_facts(self.workspace.app_schemas(), merged, facts))
        failures: list[RuleFailure] = []
        if self.release:
            rechecked = _recheck_planned(self.workspace, self.config, self.rules, plan, shard.facts, shard.asked, failures)
            return _Second([], rechecked, failures, [])
        findings: list[Finding] = []
        verdicts: dict[tuple, bool] = {}  # see `FixValidator`
        for path in paths:
            found = check_file(self.workspace, path, self.rules, self.config, failures)
            FixValidator(self.workspace.source, verdicts=verdicts).filter(found)
            findings.extend(found)
        mine = set(paths)
        return _Second(findings, {}, failures, [p for p in self.workspace.problems if p.path in mine])


def _work(conn: Connection, worker: _Worker, paths: list[Path]) -> None:
    """One forked worker of `run_check_parallel`: send the first pass's summary of `paths`,
    wait for every shard's facts and usage, send the second pass (see `_Worker`). An
    exception goes back to the parent, which raises it."""
    try:
        shard = worker.first(paths)
        conn.send(("ok", shard))
        usages, facts = conn.recv()
        conn.send(("ok", worker.second(paths, shard, usages, facts)))
    except EOFError:
        pass  # the parent stopped waiting (its own shard failed): no one to answer
    except BaseException as error:  # handed to the parent as it is
        with contextlib.suppress(OSError):
            conn.send(("error", error))
    finally:
        conn.close()


def _receive(conn: Connection) -> object:
    try:
        kind, value = conn.recv()
    except EOFError:
        raise RuntimeError("a worker process of the check ended without an answer") from None
    if kind == "error":
        raise value
    return value


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
            told = _summarise(workspace, config, path, model, definitions, usage, facts)
            if told is not None and release and retain_bytes > 0 and (told.filters or told.unknown or asked.get(path)):
                size = len(model.source.data)
                if size <= retain_bytes:
                    retained.add(path)
                    retain_bytes -= size
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


def _summarise(
    workspace: Workspace,
    config: Config,
    path: Path,
    model: FileModel,
    definitions: Counter[tuple[Path, str]],
    usage: UsageSummary,
    facts: list[FileFacts],
) -> FileFacts | None:
    """What `model`'s file tells the schema plan (added to `facts`, and returned) and the
    workspace's index usage (added to `usage`), as plain data."""
    told = file_facts(workspace, model, config)
    if told is not None:
        facts.append(told)
    add_summary(usage, path, cached_file_usage(workspace, model), definitions)
    return told


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

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    started = time.perf_counter()
    rules = active_rules(config, select, ignore)
    silent = silent_rules(config, rules, ignore)
    sizes = {p: _size(p) for p in targets}
    release = sum(sizes.values()) >= RELEASE_FROM_BYTES
    # One shard per worker, each kept by its worker to the end: the plan's re-checks run on the
    # models its first pass built (see `_Worker`). Big files first, each to the shard
    # with the fewest bytes so far: shards of similar cost.
    shards: list[list[Path]] = [[] for _ in range(min(jobs, len(targets)))]
    loads = [0] * len(shards)
    for path in sorted(targets, key=lambda p: -sizes[p]):
        lightest = loads.index(min(loads))
        shards[lightest].append(path)
        loads[lightest] += sizes[path]
    context = multiprocessing.get_context("fork")
    # Read before the fork, so that the workers inherit them: the plan needs them in every process.
    workspace.app_schemas()
    worker = _Worker(workspace, config, [r for r in rules + silent if r.meta.scope == "file"], release)
    links = []
    workers = []
    try:
        # This process checks the first shard itself instead of waiting: one process fewer to
        # start, and what its workspace computes on the way (helpers, workspace-wide merges of
        # per-file facts) serves the workspace rules and the post rules here afterwards.
        for shard in shards[1:]:
            mine, theirs = context.Pipe()
            process = context.Process(target=_work, args=(theirs, worker, shard), daemon=True)
            process.start()
            theirs.close()
            links.append(mine)
            workers.append(process)
        own = worker.first(shards[0])
        others = [_receive(link) for link in links]
        assert all(isinstance(r, _ShardResult) for r in others)
        shard_results = [own, *cast(list[_ShardResult], others)]
        usages = [r.usage for r in shard_results]
        facts = sorted((f for r in shard_results for f in r.facts), key=lambda f: str(f.path))
        for link in links:
            link.send((usages, facts))
        seconds = [worker.second(shards[0], own, usages, facts), *(_receive(link) for link in links)]
        rechecked: dict[Path, list[Finding]] = {}
        for second, result in zip(seconds, shard_results, strict=True):
            assert isinstance(second, _Second)
            result.findings.extend(second.findings)
            rechecked.update(second.rechecked)
            result.failures.extend(second.failures)
            result.problems.extend(second.problems)
    finally:
        for link in links:
            link.close()
        for process in workers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    return _merge(workspace, config, paths, targets, rules, silent, shard_results, started, release, rechecked)


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
    rechecked: dict[Path, list[Finding]] | None = None,
) -> CheckResult:
    """The workspace rules, the plan's re-checks (`rechecked`: done by the workers, else
    here), suppressions and post rules over the shards' results: the same findings, in the
    same order, as `run_check`."""
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
    if rechecked is None:
        rechecked = _recheck_planned(workspace, config, rules + silent, plan, facts, asked, failures)
    for path, found in rechecked.items():
        per_file[path] = [f for f in per_file.get(path, []) if f.rule not in PLAN_RULES] + found
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
    failures: list[RuleFailure],
) -> dict[Path, list[Finding]]:
    """Re-run the rules that read the schema plan on the files whose index choices it may
    change (a filter on a table the plan adds to or removes from, a misspelt index, any table
    whose plan a rule asked about while the file was checked against the empty plan): the
    shards chose from their own files. Their findings, by file, replace the shards' findings
    of those rules."""
    rechecked: dict[Path, list[Finding]] = {}
    planned = [r for r in rules if r.meta.slug in PLAN_RULES and r.meta.scope == "file"]
    if not planned:
        return rechecked
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
        found = check_file(workspace, part.path, planned, config, failures)
        FixValidator(workspace.source, verdicts=verdicts).filter(found)  # as in `check_and_summarise`
        rechecked[part.path] = found
    return rechecked


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


__all__ = ["MergedIndexUsage", "Rule", "check_and_summarise", "default_jobs", "run_check_parallel", "run_check_summarised", "worth_summarising"]
