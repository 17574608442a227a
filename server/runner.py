"""Runs the rules over a workspace (or some of its files) and returns findings in a stable order."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from convex_xray.config import Config
from convex_xray.findings import Finding
from convex_xray.registry import Rule, RuleContext, iter_rules
from convex_xray.suppressions import parse_suppressions
from convex_xray.workspace import FileProblem, Workspace

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


def active_rules(config: Config, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
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


def check_file(
    workspace: Workspace, path: Path, rules: list[Rule], config: Config, failures: list[RuleFailure]
) -> list[Finding]:
    """Findings of the per-file rules for one file, with suppressions applied."""
    model = workspace.model(path)
    if model is None:
        return []
    context = RuleContext(workspace, config, model)
    findings: list[Finding] = []
    for rule in rules:
        if rule.meta.scope != "file":
            continue
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


def apply_suppressions(workspace: Workspace, findings: list[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    cache: dict[Path, object] = {}
    for finding in findings:
        source = workspace.source(finding.path)
        if source is None:
            kept.append(finding)
            continue
        suppressions = cache.get(finding.path)
        if suppressions is None:
            suppressions = cache[finding.path] = parse_suppressions(source)
        line = source.lines.line_of(finding.span.start)
        if not suppressions.silences(finding, line):  # type: ignore[attr-defined]
            kept.append(finding)
    return kept


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
    targets = sorted(set(paths)) if paths is not None else workspace.files()
    result = CheckResult(files=len(targets))
    findings: list[Finding] = []
    for path in targets:
        findings.extend(check_file(workspace, path, rules, config, result.failures))
    target_set = set(targets)
    findings.extend(
        f for f in check_workspace_rules(workspace, rules, config, result.failures) if f.path in target_set or paths is None
    )
    _apply_config_severity(findings, config)
    result.findings = sorted(apply_suppressions(workspace, findings), key=Finding.sort_key)
    result.problems = [p for p in workspace.problems if paths is None or p.path in target_set]
    result.elapsed_ms = (time.perf_counter() - started) * 1000
    return result
