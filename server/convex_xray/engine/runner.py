"""Runs the rules over a workspace (or some of its files) and returns findings in a stable order."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from convex_xray.engine.config import Config
from convex_xray.engine.context import RuleContext
from convex_xray.engine.expiry import run_on_schedule
from convex_xray.engine.findings import Finding
from convex_xray.engine.fixes import FixValidator, Reference
from convex_xray.engine.model import FileModel, FunctionKind
from convex_xray.engine.packages import api_refers_to_itself
from convex_xray.engine.registry import Rule, iter_rules, resolve_rule
from convex_xray.engine.roles import (
    PRODUCTION,
    SCRIPT,
    apply_role,
    configured_production,
    example_folder,
    role_of,
)
from convex_xray.engine.source import SourceFile
from convex_xray.engine.suppressions import Suppressions, anchor_lines, parse_suppressions
from convex_xray.engine.triggers import declared_one_off, maintenance_verb, run_by_hand
from convex_xray.engine.workspace import FileProblem, Workspace

log = logging.getLogger(__name__)


@dataclass
class RuleFailure:
    rule: str
    path: Path | None
    error: str


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)
    elapsed_ms: float = 0.0


def active_rules(
    config: Config, select: Iterable[str] = (), ignore: Iterable[str] = ()
) -> list[Rule]:
    chosen = list(select) or config.select
    rules = []
    for rule in iter_rules(chosen, [*config.ignore, *ignore]):
        if config.severity.get(rule.meta.slug, rule.meta.severity) is None:
            continue  # "off"
        rules.append(rule)
    return rules


def _apply_config_severity(findings: list[Finding], config: Config) -> None:
    for finding in findings:
        override = config.severity.get(finding.rule)
        if override is not None:
            finding.severity = override


def apply_roles(workspace: Workspace, findings: list[Finding], config: Config) -> None:
    """Each finding's role (production / test / script) from its file, and the tier it allows."""
    roles: dict[Path, tuple[str, bool, str | None]] = {}
    scope = workspace.scope or workspace.base
    scheduled: frozenset[str] | None = None  # `run_on_schedule`, asked once a name calls for it
    for finding in findings:
        known = roles.get(finding.path)
        if known is None:
            root = workspace.root_of(finding.path)
            bases = [b for b in (config.base, workspace.base) if b is not None]
            source = workspace.source(finding.path)
            data = source.data if source else None
            root_path = root.path if root else None
            known = roles[finding.path] = (
                role_of(finding.path, root_path, bases, config.roles, data),
                configured_production(finding.path, root_path, bases, config.roles),
                example_folder(root_path, scope.resolve() if scope is not None else None),
            )
        role, pinned, examples = known
        if role == PRODUCTION and not pinned and examples is not None:
            # Demo code of the checked project (a component repository's `example/convex`).
            apply_role(finding, SCRIPT)
            finding.message += (
                f" (Judged as example code: its Convex root is under `{examples}/` of the checked directory.)"
            )
            continue
        if role == PRODUCTION and not pinned and finding.function:
            if run_by_hand(workspace, finding.path, finding.function):
                # Started by hand (dashboard, `npx convex run`): a one-off, judged like a script.
                apply_role(finding, SCRIPT)
                continue
            verb = maintenance_verb(finding.function)
            if verb is not None and workspace.provisional is None and _registered(workspace, finding.path, finding.function):
                if scheduled is None:
                    scheduled = run_on_schedule(workspace)
                if _dotted(workspace, finding.path, finding.function) not in scheduled:
                    # A migration, backfill, recount or cleanup no cron or scheduled job runs:
                    # someone starts it when needed, like a script.
                    apply_role(finding, SCRIPT)
                    finding.message += (
                        f" (Judged as a script: `{finding.function}` is named for a one-off maintenance job "
                        f"(`{verb}`) and no cron or scheduled job runs it.)"
                    )
                    continue
            purpose = declared_one_off(workspace, finding.path, finding.function)
            if purpose is not None:
                # Its authors say what it is for (`// Get all accounts (for debugging)`): a
                # debugging or testing aid is judged like a script, and the message says why.
                apply_role(finding, SCRIPT)
                said = purpose.replace("`", "'")
                said = said if len(said) <= 80 else said[:79] + "…"
                finding.message += (
                    f" (Judged as a script: the comment above `{finding.function}` says `{said}`.)"
                )
                continue
        apply_role(finding, role)


def _registered(workspace: Workspace, path: Path, name: str) -> bool:
    """Whether `name` is a Convex function of `path` (a query, mutation or action, not a helper:
    `recalculateTotals(ctx, orderId)` may run on every request of whoever calls it)."""
    model = workspace.model(path)
    function = model.function_named(name) if model is not None else None
    return function is not None and function.kind is not FunctionKind.HELPER


def _dotted(workspace: Workspace, path: Path, name: str) -> str | None:
    """`folder.module.name`, the name `internal.` uses for an export `name` of `path`."""
    module = workspace.module_name(path)
    return f"{module}.{name}" if module is not None else None


def check_file(
    workspace: Workspace,
    path: Path,
    rules: list[Rule],
    config: Config,
    failures: list[RuleFailure],
    model: FileModel | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> list[Finding]:
    """Findings of the per-file rules for one file (suppressions are applied by the caller).

    `model` replaces the workspace's model of `path` (the language server checks a slice of
    an open document with it). `checkpoint` is called between rules, outside their error
    handling: the language server raises from it to abandon a check the editor overtook."""
    if checkpoint is not None:
        checkpoint()
    if model is None:
        model = workspace.model(path)
    if model is None:
        return []
    context = RuleContext(workspace, config, model)
    findings: list[Finding] = []
    for rule in rules:
        if rule.meta.scope != "file":
            continue
        if checkpoint is not None:
            checkpoint()
        try:
            findings.extend(rule.check(context))
        except Exception as error:  # a broken rule must not take the run down
            log.exception("rule %s failed on %s", rule.meta.slug, path)
            failures.append(RuleFailure(rule.meta.slug, path, f"{type(error).__name__}: {error}"))
    return findings


def check_workspace_rules(
    workspace: Workspace, rules: list[Rule], config: Config, failures: list[RuleFailure]
) -> list[Finding]:
    context = RuleContext(workspace, config, None)
    findings: list[Finding] = []
    for rule in rules:
        if rule.meta.scope != "workspace":
            continue
        try:
            findings.extend(rule.check(context))
        except Exception as error:
            log.exception("rule %s failed", rule.meta.slug)
            failures.append(RuleFailure(rule.meta.slug, None, f"{type(error).__name__}: {error}"))
    return findings


def apply_suppressions(
    workspace: Workspace,
    findings: list[Finding],
    parsed: dict[Path, Suppressions] | None = None,
    source_of: Callable[[Path], SourceFile | None] | None = None,
) -> list[Finding]:
    """Drop silenced findings. `parsed` (path -> that file's disable comments) is filled in
    and marks which comments were used, for the post rules. `source_of`: the text each
    finding's file was checked in (a language-server slice: its tree places the comments
    like the document's, and asking the document's would parse it again per keystroke)."""
    kept: list[Finding] = []
    cache = parsed if parsed is not None else {}
    source_of = source_of or workspace.source
    for finding in findings:
        source = source_of(finding.path)
        if source is None:
            kept.append(finding)
            continue
        suppressions = cache.get(finding.path)
        if suppressions is None:
            suppressions = cache[finding.path] = parse_suppressions(source)
        rule = resolve_rule(finding.rule)
        if rule is not None and not rule.meta.suppressible:
            kept.append(finding)
            continue
        line = source.lines.line_of(finding.span.start)
        also = anchor_lines(source, finding.span.start) if suppressions.items else ()
        if not suppressions.silences(finding, line, also):
            kept.append(finding)
    return kept


def check_post_rules(
    workspace: Workspace,
    targets: Iterable[Path],
    rules: list[Rule],
    config: Config,
    parsed: dict[Path, Suppressions],
    failures: list[RuleFailure],
    models: Mapping[Path, FileModel] | None = None,
) -> list[Finding]:
    """Run the `scope="post"` rules on each checked file, after every other rule ran and
    suppressions were applied (so they can tell which disable comments silenced nothing).
    `models` replaces the workspace's models of some files (see `check_paths`)."""
    post = [rule for rule in rules if rule.meta.scope == "post"]
    if not post:
        return []
    ran = frozenset(rule.meta.slug for rule in rules if rule.meta.scope != "post")
    crashed_everywhere = {f.rule for f in failures if f.path is None}
    findings: list[Finding] = []
    for path in targets:
        source = workspace.source(path)
        model = models.get(path) if models else None
        if model is not None:
            source = model.source
        if source is None or b"-disable" not in source.data:
            continue  # no disable comment: nothing to say (and no parse needed)
        if model is None:
            model = workspace.model(path)
        if model is None:
            continue
        suppressions = parsed.get(path)
        if suppressions is None:
            suppressions = parsed[path] = parse_suppressions(model.source)
        if not suppressions.items:
            continue
        crashed = crashed_everywhere | {f.rule for f in failures if f.path == path}
        context = RuleContext(
            workspace, config, model, suppressions=suppressions, active_rules=ran - crashed
        )
        for rule in post:
            try:
                findings.extend(rule.check(context))
            except Exception as error:
                log.exception("rule %s failed on %s", rule.meta.slug, path)
                failures.append(
                    RuleFailure(rule.meta.slug, path, f"{type(error).__name__}: {error}")
                )
    return findings


def _silent_rules(config: Config, rules: list[Rule], ignore: Iterable[str]) -> list[Rule]:
    if not any(rule.meta.scope == "post" for rule in rules):
        return []
    chosen = {rule.meta.slug for rule in rules}
    return [
        rule
        for rule in iter_rules((), [*config.ignore, *ignore])
        if rule.meta.slug not in chosen
        and rule.meta.scope != "post"
        and config.severity.get(rule.meta.slug, rule.meta.severity) is not None
    ]


def withhold_untypable_fixes(workspace: Workspace, findings: Iterable[Finding]) -> None:
    """Drop, in place, the fixes of findings in a Convex root whose generated `api` refers to
    itself so many times that tsc gives up on it, because a package is not installed
    (`engine.packages.api_refers_to_itself`): no edit to that program can be shown to
    type-check; the message says why there is no fix."""
    for finding in findings:
        if finding.fix is None and not finding.alternatives:
            continue
        cause = api_refers_to_itself(workspace, finding.path)
        if cause is None:
            continue
        finding.fix = None
        finding.alternatives = []
        others = cause.count - 1
        finding.message += (
            f" No fix: `{cause.package}` is not installed, and `{cause.name}` ({cause.path.name})"
            f" and {others} other exported value{'s' if others != 1 else ''} are built from it and"
            " take a function reference, so TypeScript types the generated `api` through itself"
            f" {cause.count} times over (TS7022), past its depth limit (TS2589 across the app): no"
            " change to this app's code can be shown to type-check; install it to get the fix."
        )


def check_paths(
    workspace: Workspace,
    config: Config,
    targets: list[Path],
    rules: list[Rule],
    failures: list[RuleFailure],
    *,
    silent: list[Rule] | None = None,
    whole_workspace: bool = False,
    models: Mapping[Path, FileModel] | None = None,
    workspace_findings: list[Finding] | None = None,
    file_findings: Mapping[Path, list[Finding]] | None = None,
    file_fixes_checked: bool = False,
    checkpoint: Callable[[], None] | None = None,
    fix_references: Mapping[Path, Reference] | None = None,
) -> list[Finding]:
    """Findings for `targets`: file rules, workspace rules (only findings in the targets unless
    `whole_workspace`), severities, suppressions and post rules, in a stable order.

    For the language server: `models` checks given models of some targets instead of the
    workspace's (an open document's slice), and `workspace_findings` supplies the
    workspace rules' raw findings computed earlier (`check_workspace_rules(workspace,
    rules + silent, ...)`) instead of running them again. `file_findings` supplies the
    per-file rules' findings of some targets (computed by worker processes);
    `file_fixes_checked` says their fixes went through `FixValidator` already (where the
    file's syntax tree was at hand). `checkpoint`: see `check_file`. `fix_references`: earlier
    error-free texts of some targets to validate fixes against while they have a syntax error
    (`engine.fixes.Reference`)."""
    silent = silent or []
    findings: list[Finding] = []
    for path in targets:
        if file_findings is not None and path in file_findings:
            findings.extend(file_findings[path])  # computed elsewhere (`convex_xray.cli.parallel`)
            continue
        model = models.get(path) if models else None
        findings.extend(
            check_file(workspace, path, rules + silent, config, failures, model, checkpoint)
        )
    target_set = set(targets)
    if workspace_findings is None:
        workspace_findings = check_workspace_rules(workspace, rules + silent, config, failures)
    findings.extend(f for f in workspace_findings if f.path in target_set or whole_workspace)
    _apply_config_severity(findings, config)
    apply_roles(workspace, findings, config)

    def source_of(path: Path) -> SourceFile | None:
        model = models.get(path) if models else None
        return model.source if model is not None else workspace.source(path)

    parsed: dict[Path, Suppressions] = {}
    for path, model in (models or {}).items():
        parsed[path] = parse_suppressions(model.source)
    kept = apply_suppressions(workspace, findings, parsed, source_of)
    if silent:
        hidden = {rule.meta.slug for rule in silent}
        kept = [f for f in kept if f.rule not in hidden]
    post = check_post_rules(workspace, targets, rules + silent, config, parsed, failures, models)
    _apply_config_severity(post, config)
    apply_roles(workspace, post, config)
    kept.extend(apply_suppressions(workspace, post, parsed, source_of))
    # Every fix leaves the engine through here (CLI, workers' findings, language server),
    # checked here unless it was where its file was checked.
    checked = (
        {id(f) for items in (file_findings or {}).values() for f in items}
        if file_fixes_checked
        else set()
    )
    withhold_untypable_fixes(workspace, kept)
    FixValidator(source_of, fix_references).filter(f for f in kept if id(f) not in checked)
    return sorted(kept, key=Finding.sort_key)


def silent_rules(config: Config, rules: list[Rule], ignore: Iterable[str] = ()) -> list[Rule]:
    """Rules that run only so post rules can judge disable comments (see `run_check`)."""
    return _silent_rules(config, rules, ignore)


def run_check(
    workspace: Workspace,
    config: Config,
    *,
    paths: Iterable[Path] | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> CheckResult:
    """Check `paths` (default: every file of the workspace). Workspace-wide rules report
    only into the checked files."""
    started = time.perf_counter()
    rules = active_rules(config, select, ignore)
    # A post rule judges disable comments by what the other rules report, so when one is
    # selected on its own (`--select unused-suppression`) the rules left out by the
    # selection still run, silently: their findings only mark comments as used.
    silent = _silent_rules(config, rules, ignore)
    targets = sorted(set(paths)) if paths is not None else workspace.files()
    result = CheckResult(files=len(targets))
    result.findings = check_paths(
        workspace,
        config,
        targets,
        rules,
        result.failures,
        silent=silent,
        whole_workspace=paths is None,
    )
    target_set = set(targets)
    result.problems = [p for p in workspace.problems if paths is None or p.path in target_set]
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    return result
