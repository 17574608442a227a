"""The `convex-xray` command line: check, report, rules, explain, lsp."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from convex_xray import __version__
from convex_xray.cli.notes import FixRun, RunNotes
from convex_xray.cli.output.order import SORTS, fixable_count
from convex_xray.engine.analysis.options import AnalysisOptions
from convex_xray.engine.config import Config, ConfigError, find_config, load_config
from convex_xray.engine.discovery import FoundRoot, discover
from convex_xray.engine.findings import Finding, Severity
from convex_xray.engine.fixes import fix_to_fixpoint, unified_diff, write_atomically
from convex_xray.engine.registry import all_rules, resolve_rule
from convex_xray.engine.runner import CheckResult, run_check
from convex_xray.engine.workspace import Workspace

if TYPE_CHECKING:  # (imported when used: `check` without them starts faster)
    from convex_xray.cli.baseline import BaselineSummary
    from convex_xray.cli.insights import InsightsSummary

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

FORMATS = ("text", "json", "json-lines", "github", "sarif", "junit")


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convex-xray",
        description="Find and fix performance anti-patterns in Convex backends.",
    )
    parser.add_argument("--version", action="version", version=f"convex-xray {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="check Convex code and report (or fix) problems")
    check.add_argument("paths", nargs="*", type=Path, help="files or directories (default: Convex roots under the current directory)")
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text; json, json-lines, github, sarif and junit are for tools)")
    check.add_argument("--select", default="", metavar="RULES", help="run only these rules: comma-separated names or codes (n-plus-one-read,CX202)")
    check.add_argument("--ignore", default="", metavar="RULES", help="skip these rules: comma-separated names or codes")
    check.add_argument("--config", type=Path, metavar="FILE", help="path to convex-xray.toml (default: the nearest one in this folder or above)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
    check.add_argument("--fail-on", choices=[s.label for s in Severity], help="lowest severity that fails the run (default: warning)")
    text = check.add_argument_group("text output (--format text)")
    text.add_argument("--output-format", choices=("concise", "full"), help="concise: one line per problem (the default when stdout is not a terminal); full: with the source line, cost and fix (the default on a terminal)")
    text.add_argument("--show-fixes", action="store_true", help="with concise output: print each problem's fix under it")
    text.add_argument("--sort", choices=SORTS, default="severity", help="severity: errors first, then by estimated cost (default); cost: by estimated cost; file: by file and line")
    text.add_argument("--top", type=int, metavar="N", help="print only the first N problems (the counts still cover all)")
    text.add_argument("--statistics", action="store_true", help="print only a table of counts per rule (per severity, and how many --fix fixes)")
    text.add_argument("--quiet", "-q", action="store_true", help="print only the counts")
    check.add_argument("--no-cache", action="store_true", help="do not read or write .convex-xray-cache/")
    check.add_argument("--jobs", "-j", type=int, default=0, metavar="N", help="worker processes for large workspaces (default: one per core; 1 = no workers)")
    check.add_argument("--fix", action="store_true", help="apply the safe fixes (they keep what the code does)")
    check.add_argument("--unsafe-fixes", action="store_true", help="also apply the unsafe fixes, which can change behaviour in a case each one names (with --fix or --diff)")
    check.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    check.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    check.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the output to FILE instead of stdout")
    ci = check.add_argument_group("adopting in CI (docs/ci.md)")
    ci.add_argument("--write-baseline", type=Path, metavar="FILE", help="record today's findings in FILE; later runs with --baseline FILE report only new ones")
    ci.add_argument("--baseline", type=Path, metavar="FILE", help="report only findings not recorded in FILE (exit 0 when there are none)")
    ci.add_argument("--prune-baseline", action="store_true", help="with --baseline: rewrite FILE without the entries that no longer occur")
    ci.add_argument("--changed-since", metavar="REF", help="check only files changed since the git ref REF (and untracked ones); runs git")
    ci.add_argument("--insights", type=Path, metavar="FILE", help="FILE holds the output of `npx convex insights --json`: findings in functions production saw near the read limits or in write conflicts get that evidence attached and a higher severity")

    report = commands.add_parser("report", help="write the prioritized performance audit (Markdown, HTML or JSON)")
    report.add_argument("paths", nargs="*", type=Path, help="files or directories (default: Convex roots under the current directory)")
    report.add_argument("--format", choices=("markdown", "html", "json"), default="markdown", help="markdown (default; fits a GitHub issue), html (one self-contained page) or json")
    report.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    report.add_argument("--top", type=int, default=10, metavar="N", help="how many functions the top-problems section lists (default: 10)")
    report.add_argument("--insights", type=Path, metavar="FILE", help="FILE holds the output of `npx convex insights --json`: functions production saw near the read limits or in write conflicts rank higher")
    report.add_argument("--config", type=Path, metavar="FILE", help="path to convex-xray.toml (default: the nearest one in this folder or above)")
    report.add_argument("--no-cache", action="store_true", help="do not read or write .convex-xray-cache/")
    # The report reads every file's code model in this process anyway (functions, patterns),
    # so workers only parse twice: on groupi (139 files, 2 cores) 16 s with them, 6 s without.
    report.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="worker processes for the check (default: 1; 0 = one per core)")
    report.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    report.add_argument("--timestamp", action="store_true", help="write when the report was generated into it (left out by default, so the same code gives a byte-identical report)")

    rules = commands.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")

    explain = commands.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="a rule's name or code, e.g. n-plus-one-read or CX101")

    lsp = commands.add_parser("lsp", help="run the language server")
    lsp.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    lsp.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    lsp.add_argument("--log-file", type=Path, metavar="FILE", help="write the server log to FILE")
    lsp.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    return parser


def _split(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    slugs = []
    for name in names:
        rule = resolve_rule(name)
        if rule is None:
            raise UsageError(f"unknown rule {name!r} (see `convex-xray rules`)")
        slugs.append(rule.meta.slug)
    return slugs


def _scope(targets: Sequence[Path]) -> Path:
    """The directory the user checked: the target directory (a file's folder), or the deepest
    folder holding every target."""
    folders = [t.resolve() if t.is_dir() else t.resolve().parent for t in targets]
    return Path(os.path.commonpath(folders))


def build_workspace(paths: Sequence[Path], config: Config) -> tuple[Workspace, list[Path] | None]:
    """The workspace for `paths` and, when specific files were named, the files to check."""
    targets = list(paths) or [Path.cwd()]
    roots: dict[Path, FoundRoot] = {}
    files: list[Path] = []
    for target in targets:
        if not target.exists():
            raise UsageError(f"{target}: no such file or directory")
        found = discover(target)
        if not found:
            raise UsageError(f"{target}: no Convex functions directory found (looked for convex.json and convex/)")
        for root in found:
            roots.setdefault(root.path, root)
        if target.is_file():
            files.append(target.resolve())
    options = AnalysisOptions(extra_builders=dict(config.builders))
    workspace = Workspace(
        [roots[p] for p in sorted(roots)], options=options, exclude=config.exclude, base=config.base or Path.cwd(), scope=_scope(targets)
    )
    if files and len(files) == len(targets):
        return workspace, files
    if files:
        # Mixed files and directories: check the directories' files plus the named files.
        directories = [t.resolve() for t in targets if t.is_dir()]
        chosen = {f for f in workspace.files() if any(f.is_relative_to(d) for d in directories)}
        return workspace, sorted(chosen | set(files))
    return workspace, None


def _render(args: argparse.Namespace, workspace: Workspace, result: CheckResult, notes: RunNotes) -> str:
    fixed = notes.fix.applied if notes.fix is not None else None
    if args.format == "json":
        from convex_xray.cli.output.json_format import render_json

        return render_json(workspace, result, fixed, notes=notes)
    if args.format == "json-lines":
        from convex_xray.cli.output.json_format import render_json_lines

        return render_json_lines(workspace, result)
    if args.format == "github":
        from convex_xray.cli.output.github import render_github

        return render_github(workspace, result)
    if args.format == "sarif":
        from convex_xray.cli.output.sarif import render_sarif

        return render_sarif(workspace, result, notes=notes)
    if args.format == "junit":
        from convex_xray.cli.output.junit import render_junit

        return render_junit(workspace, result)
    from convex_xray.cli.output.text import TextOptions, render_text

    terminal = args.output is None and sys.stdout.isatty()
    options = TextOptions(
        color=terminal and "NO_COLOR" not in os.environ,
        full=args.output_format == "full" if args.output_format else terminal,
        show_fixes=args.show_fixes,
        quiet=args.quiet,
        statistics=args.statistics,
        sort=args.sort,
        top=args.top,
    )
    return render_text(workspace, result, options=options, notes=notes)


def _fix(args: argparse.Namespace, workspace: Workspace, config: Config, files: list[Path] | None, select: list[str], ignore: list[str]) -> tuple[CheckResult, FixRun]:
    """Apply fixes to a fixpoint; with --diff print the diff instead of writing."""
    results: list[CheckResult] = []

    def check() -> list[Finding]:
        results.append(run_check(workspace, config, paths=files, select=select, ignore=ignore))
        return results[-1].findings

    fixpoint = fix_to_fixpoint(check, workspace.source, workspace.set_source, unsafe=args.unsafe_fixes)
    result = results[-1]
    offered = fixable_count(results[0].findings, unsafe=args.unsafe_fixes)
    run = FixRun(applied=fixpoint.applied, offered=offered, written=not args.diff)
    original = {p: s.data for p, s in fixpoint.before.items()}
    current = fixpoint.after
    if args.diff:
        # The patch goes to stdout, unless stdout carries a machine-readable report.
        stream = sys.stdout if args.format == "text" or args.output is not None else sys.stderr
        for path in sorted(current):
            diff = unified_diff(path, original[path], current[path])
            if diff:
                stream.write(diff)
    else:
        for path in sorted(current):
            if current[path] != original[path]:
                write_atomically(path, current[path])
    return result, run


def _load_config(args: argparse.Namespace) -> Config:
    config_path = args.config
    if config_path is not None and not config_path.is_file():
        raise ConfigError(config_path, None, "file not found")
    if config_path is None:
        start = args.paths[0] if args.paths else Path.cwd()
        config_path = find_config(start if start.exists() else Path.cwd())
    return load_config(config_path)


def cmd_report(args: argparse.Namespace) -> int:
    from convex_xray.cli.report.command import write_report

    if args.top < 1:
        raise UsageError("--top must be 1 or more")
    config = _load_config(args)
    workspace, files = build_workspace(args.paths, config)
    progress = not args.no_progress and sys.stderr.isatty()
    result = _run_with_progress(args, workspace, config, files, [], [], progress=progress)
    evidence: dict[tuple[Path, int], list[str]] = {}
    note: str | None = None
    if args.insights is not None:
        from convex_xray.cli.report.command import insights_evidence

        summary = _merge_insights(args.insights, workspace, result)
        evidence, note = insights_evidence(args.insights, workspace, summary)
    text = write_report(args, workspace, result, evidence, note, progress=progress, sizes=config.cost, config=config)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_ERROR if result.failures else EXIT_CLEAN


def cmd_check(args: argparse.Namespace) -> int:
    config = _load_config(args)
    if args.fail_on:
        config.fail_on = Severity.parse(args.fail_on)
    select = _split(args.select)
    ignore = _split(args.ignore)
    if args.prune_baseline and args.baseline is None:
        raise UsageError("--prune-baseline needs --baseline FILE")
    if args.write_baseline is not None and args.baseline is not None and args.write_baseline.resolve() != args.baseline.resolve():
        raise UsageError("--write-baseline and --baseline name different files")
    workspace, files = build_workspace(args.paths, config)
    if args.changed_since is not None:
        files = _changed_since(args.changed_since, args.paths, workspace, files)
    if args.top is not None and args.top < 1:
        raise UsageError("--top must be 1 or more")
    notes = RunNotes()
    if args.fix or args.diff:
        result, notes.fix = _fix(args, workspace, config, files, select, ignore)
    else:
        result = _run_with_progress(args, workspace, config, files, select, ignore)
    if args.insights is not None:
        notes.insights = _merge_insights(args.insights, workspace, result)
    if args.write_baseline is not None or args.baseline is not None:
        notes.baseline = _filter_through_baseline(args, workspace, config, files, select, ignore, result)
    report = _render(args, workspace, result, notes)
    if args.output is not None:
        args.output.write_text(report + "\n", encoding="utf-8")
    elif args.diff and args.format == "text":
        print(report, file=sys.stderr)  # stdout is the patch
    elif report:
        print(report)
    if result.failures:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    failing = [f for f in result.findings if f.severity >= config.fail_on]
    return EXIT_FINDINGS if failing else EXIT_CLEAN


def _changed_since(ref: str, paths: Sequence[Path], workspace: Workspace, files: list[Path] | None) -> list[Path]:
    """The workspace files (of those named, if any) changed since `ref`. The workspace
    still indexes every file, so cross-file facts come from the whole app."""
    from convex_xray.cli.gitdiff import GitError, changed_files

    start = paths[0] if paths else Path.cwd()
    try:
        changed = set(changed_files(ref, start.resolve()))
    except GitError as error:
        raise UsageError(str(error)) from None
    candidates = files if files is not None else workspace.files()
    return [f for f in candidates if f.resolve() in changed]


def _merge_insights(path: Path, workspace: Workspace, result: CheckResult) -> InsightsSummary:
    from convex_xray.cli.insights import InsightsError, apply_insights, load_insights

    try:
        insights = load_insights(path)
    except InsightsError as error:
        raise UsageError(str(error)) from None
    return apply_insights(workspace, result.findings, insights)


def _filter_through_baseline(
    args: argparse.Namespace,
    workspace: Workspace,
    config: Config,
    files: list[Path] | None,
    select: list[str],
    ignore: list[str],
    result: CheckResult,
) -> BaselineSummary:
    from convex_xray.cli.baseline import (
        Baseline,
        BaselineError,
        Scope,
        apply_baseline,
        pruned,
        recorded,
    )
    from convex_xray.engine.runner import active_rules

    path = (args.write_baseline or args.baseline).resolve()
    scope = Scope(
        base_dir=path.parent,
        files={f.resolve() for f in files} if files is not None else None,
        rules={r.meta.slug for r in active_rules(config, select, ignore)},
    )
    try:
        previous = Baseline.load(path) if path.exists() or args.write_baseline is None else None
    except BaselineError as error:
        if args.write_baseline is None:
            raise UsageError(str(error)) from None
        previous = None  # being replaced anyway
    written: int | None = None
    if args.write_baseline is not None:
        previous = recorded(workspace, result.findings, scope, previous)
        previous.write(path)
        written = len(previous.entries)
    assert previous is not None
    new, summary, _ = apply_baseline(workspace, result.findings, previous, scope, path)
    if args.prune_baseline:
        kept = pruned(previous, summary.stale)
        if len(kept.entries) != len(previous.entries):
            kept.write(path)
            written = len(kept.entries)
        summary.pruned = True
    summary.written = written
    result.findings = new
    return summary


def _run_with_progress(args: argparse.Namespace, workspace: Workspace, config: Config, files: list[Path] | None, select: list[str], ignore: list[str], progress: bool | None = None) -> CheckResult:
    if args.no_cache:
        return _run_fresh(args, workspace, config, files, select, ignore, progress)
    from convex_xray.cli import cache

    started = time.perf_counter()
    directory = cache.cache_dir_for(workspace, config)
    key = cache.cache_key(workspace, config, files, select, ignore)
    cached = cache.load(directory, key)
    if cached is not None:
        cached.elapsed_ms = (time.perf_counter() - started) * 1000
        return cached
    result = _run_fresh(args, workspace, config, files, select, ignore, progress)
    cache.store(directory, key, result)
    return result


def _run_fresh(args: argparse.Namespace, workspace: Workspace, config: Config, files: list[Path] | None, select: list[str], ignore: list[str], progress: bool | None = None) -> CheckResult:
    from convex_xray.cli.parallel import (
        default_jobs,
        run_check_parallel,
        run_check_summarised,
        worth_summarising,
    )

    if args.jobs < 0:
        raise UsageError("--jobs must be 1 or more (0 = one per core)")
    jobs = args.jobs or default_jobs()
    # `check` shows progress only under its text report; `report` decides for itself.
    show = progress if progress is not None else not args.no_progress and sys.stderr.isatty() and args.format == "text"
    if show and jobs > 1:
        count = len(files) if files is not None else len(workspace.files())
        sys.stderr.write(f"\r  checking {count} files on up to {jobs} processes…")
        sys.stderr.flush()
    parallel = run_check_parallel(workspace, config, paths=files, select=select, ignore=ignore, jobs=jobs)
    if show and jobs > 1:
        sys.stderr.write("\r" + " " * 60 + "\r")
    if parallel is not None:
        return parallel
    if files is not None or not worth_summarising(workspace):
        # Some files only: the index-hygiene rules and the schema plan still read every file,
        # which the summarised path would have to summarise first (it checks only its targets).
        # A small app: every model fits, and keeping them is faster (see RELEASE_FROM_BYTES).
        return run_check(workspace, config, paths=files, select=select, ignore=ignore)
    targets = workspace.files()

    def report_progress(index: int, total: int) -> None:
        if index % 10 == 0 or index == total:
            width = 30
            done = int(width * index / total)
            sys.stderr.write(f"\r  checking [{'#' * done}{'.' * (width - done)}] {index}/{total}")
            sys.stderr.flush()

    shown = show and len(targets) >= 50
    result = run_check_summarised(workspace, config, select=select, ignore=ignore, progress=report_progress if shown else None)
    if shown:
        sys.stderr.write("\r" + " " * 60 + "\r")
    return result


def cmd_rules(args: argparse.Namespace) -> int:
    rules = all_rules()
    if args.format == "json":
        data = [
            {
                "code": r.meta.code,
                "slug": r.meta.slug,
                "severity": r.meta.severity.label,
                "summary": r.meta.summary,
                "fix": r.meta.fix.value,
                "scope": r.meta.scope,
                "url": r.meta.docs_url,
            }
            for r in rules
        ]
        print(json.dumps(data, indent=2))
        return EXIT_CLEAN
    for rule in rules:
        print(f"{rule.meta.code}  {rule.meta.slug:<24} {rule.meta.severity.label:<8} {rule.meta.summary}")
    return EXIT_CLEAN


def cmd_explain(args: argparse.Namespace) -> int:
    rule = resolve_rule(args.rule)
    if rule is None:
        raise UsageError(f"unknown rule {args.rule!r} (see `convex-xray rules`)")
    print(f"# {rule.meta.slug} ({rule.meta.code})\n")
    print(f"Default severity: {rule.meta.severity.label}. Fix: {rule.meta.fix.value}.\n")
    print(rule.doc)
    return EXIT_CLEAN


def cmd_lsp(args: argparse.Namespace) -> int:
    from convex_xray.lsp.server import run_server

    level = logging.WARNING - 10 * min(args.verbose, 2)
    handlers: list[logging.Handler] = []
    if args.log_file is not None:
        handlers.append(logging.FileHandler(args.log_file, encoding="utf-8"))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(level=level, handlers=handlers, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tcp = None
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            raise UsageError(f"--tcp expects HOST:PORT, got {args.tcp!r}")
        tcp = (host or "127.0.0.1", int(port))
    run_server(tcp=tcp)
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    if argv is None and args.command in ("check", "report"):
        # A process that checks once and exits (not a caller in-process, which passes argv):
        # what start-up made (modules, classes, compiled patterns) lives to the end, so the
        # cyclic collector need not scan it again at each collection (CPU -2 to -4% of a cold
        # check on convex-crm, keppo, ConvexPress; the same peak RSS; forked workers share it).
        gc.freeze()
    try:
        if args.command == "check":
            return cmd_check(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "rules":
            return cmd_rules(args)
        if args.command == "explain":
            return cmd_explain(args)
        if args.command == "lsp":
            return cmd_lsp(args)
    except ConfigError as error:
        print(f"convex-xray: config error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except UsageError as error:
        print(f"convex-xray: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN
    parser.print_help()
    return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
