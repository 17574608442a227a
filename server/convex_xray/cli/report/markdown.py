"""The report as GitHub-flavoured Markdown, sized to fit one issue or pull-request comment."""

from __future__ import annotations

from convex_xray.cli.report.build import FEWER_WAITS
from convex_xray.cli.report.model import FunctionEntry, Problem, Report
from convex_xray.engine.cost import DOCUMENTS_PER_FUNCTION

# GitHub rejects comments over 65,536 characters; the file list is cut to stay under it.
COMMENT_LIMIT = 60_000
_MESSAGE = 160  # characters of a finding's message shown in a table cell
PROBLEMS_SHOWN = 12  # per function in the Top N, to keep the comment short


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def short(text: str, limit: int = _MESSAGE) -> str:
    """`text` cut to `limit` characters at a word boundary, never inside a code span (an
    unclosed backtick would turn the rest of the line, or the page, into code)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    if cut.count("`") % 2:
        cut = cut[: cut.rindex("`")]
    return cut.rstrip(" ,;:(") + "…"


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def cost_text(problem: Problem) -> str:
    if problem.reads is None:
        return "no cost estimate"
    text = f"{problem.reads:,} {problem.unit}"
    if problem.formula and problem.formula != str(problem.reads):
        text = f"{problem.formula} = {text}"
    if problem.growth:
        text += f", {problem.growth}"
    return text


def entry_cost(entry: FunctionEntry) -> str:
    parts = []
    if entry.reads_per_call is not None:
        parts.append(f"~{entry.reads_per_call:,} reads/call")
    if entry.calls_per_call is not None:
        parts.append(f"~{entry.calls_per_call:,} function calls/call")
    if not parts:
        per_item = sum(1 for p in entry.problems if p.per_item)
        return f"no cost estimate ({per_item} per-item read/call site{'s' if per_item != 1 else ''})"
    if entry.growth:
        parts.append(f"grows {entry.growth}")
    if (entry.reads_per_call or 0) > DOCUMENTS_PER_FUNCTION:
        parts.append(f"past Convex's {DOCUMENTS_PER_FUNCTION:,}-read limit at the assumed sizes")
    return ", ".join(parts)


def saved_text(entry: FunctionEntry) -> str:
    if entry.saved_reads_per_call is None:
        return "not estimated"
    if entry.saved_reads_per_call == 0:
        waits = any(p.saving_note == FEWER_WAITS for p in entry.problems)
        return "0 reads/call (fewer waits)" if waits else "0 reads/call"
    return f"~{entry.saved_reads_per_call:,} reads/call"


# The notation of each problem's estimate (engine/cost.py's formulas), said once per report.
FORMULA_NOTE = (
    "`N(teams of one orgId) x 2 = 400 reads` means: for each of the N teams of one org, 2 reads, "
    "with N as assumed above; growth says what N grows with (per-parent: one document's children, "
    "per-tenant: one org/team/club, whole-table: the table, bounded: a limit in the code). "
    "A function's cost per call adds up every problem in it, including branches of which one "
    "call runs only one (`if (search) { ...; return }` and the rest): an upper bound."
)


FIX_LEGEND = "Fix counts the function's problems by the fix offered: safe (`--fix` applies it), to review (`--fix --unsafe-fixes`), manual (no automatic fix)."


def savings_sentence(report: Report) -> str:
    """Reads per call of the Top N, summed, before and after their fixes, said plainly when
    the fixes do not lower it (batching keeps the reads; scans need an index or a bound)."""
    s = report.summary
    assert s.reads_before is not None
    head = f"one call of each of the top {len(report.top)} functions reads ~{s.reads_before:,} documents in all"
    if s.reads_after is None:
        return f"{head}; what their fixes save is not estimated."
    if s.reads_after >= s.reads_before:
        return (
            f"{head}; their fixes do not lower that (they batch reads or bound waits; the scans "
            "need an index range or pagination, written by hand: see each function below)."
        )
    return f"{head}; after their fixes, ~{s.reads_after:,} (~{s.reads_before - s.reads_after:,} fewer)."


def no_removals(report: Report) -> str:
    """Why the remove table is empty: no index rule fired, or each finding says why its
    index is kept (a query relies on its order, its name is computed)."""
    kept = sum(i.count for phase in report.phases for i in phase.items if i.rule in ("unused-index", "redundant-index"))
    if not kept:
        return "None: every index is used by a query and none is a prefix of another."
    return (
        f"None that is safe to remove automatically: the {kept} `unused-index` / `redundant-index` "
        "findings (under Fix phases) each say why their index is kept for now, e.g. a query "
        "relies on its order or an index name is computed."
    )


def rule_link(slug: str) -> str:
    """`[slug]`: a reference link; `render_markdown` defines each rule's URL once at the end."""
    return f"[{slug}]"


def _references(report: Report) -> list[str]:
    urls: dict[str, str] = {}
    for entry in report.top:
        for problem in entry.problems:
            urls[problem.rule] = problem.docs_url
    for bug in report.bugs:
        urls[bug.rule] = bug.docs_url
    for phase in report.phases:
        for item in phase.items:
            urls[item.rule] = item.docs_url
    return [f"[{slug}]: {url}" for slug, url in sorted(urls.items()) if url]


SERVES_SHOWN = 3  # queries named per index to add
ROWS_SHOWN = 40  # rows of the bug and index tables in a comment (JSON and HTML have them all)


def _more(total: int, what: str) -> list[str]:
    if total <= ROWS_SHOWN:
        return []
    return ["", f"…and {total - ROWS_SHOWN} more {what} (cut to fit a comment; `--format json` or `html` has them all)."]


def serves_text(serves: list[str]) -> str:
    shown = "; ".join(serves[:SERVES_SHOWN])
    return shown + (f"; and {len(serves) - SERVES_SHOWN} more" if len(serves) > SERVES_SHOWN else "")


def _summary(report: Report) -> list[str]:
    s = report.summary
    tiers = ", ".join(f"{count} {tier}{'s' if count != 1 and tier != 'info' else ''}" for tier, count in s.by_tier.items())
    lines = [
        "## Summary",
        "",
        f"- **Checked** {s.files} files, {s.functions} Convex functions (roots: {', '.join(s.roots) or '—'}).",
        f"- **Findings**: {s.findings} ({tiers}); {report.ranked} functions have performance problems, {len(report.bugs)} functional bugs.",
    ]
    if s.cost_available:
        # The most reads per call, whatever the rank (the Top N weighs reads by how often a function runs).
        worst = sorted((e for e in report.top if e.reads_per_call is not None), key=lambda e: -(e.reads_per_call or 0))[:3]
        if worst:
            lines.append("- **Most reads in one call** (estimated, among the top functions): " + ", ".join(f"`{e.function}` ~{e.reads_per_call:,}" for e in worst) + ".")
        if s.reads_before is not None:
            lines.append(f"- **What the fixes would save**: {savings_sentence(report)}")
    else:
        lines.append("- **No cost estimate**: the engine did not estimate reads per call for these findings, so the top is ordered by severity, how often the function runs and the reads repeated per loop item; no saving is claimed.")
    if s.insights:
        lines.append(f"- **Production insights**: {s.insights}.")
    if s.assumptions:
        lines.append("- **Assumptions** where the code does not state a size (change them under `[cost]` in convex-xray.toml): " + "; ".join(s.assumptions) + ".")
        lines.append(f"- **Reading the formulas**: {FORMULA_NOTE}")
    lines.append(f"- **Ranking**: {report.ranking}.")
    return lines


def _bugs(report: Report) -> list[str]:
    lines = ["## Functional bugs first", ""]
    if not report.bugs:
        return [*lines, "None found: no query uses an unknown index or an out-of-order range, no Better Auth call matches on `\"id\"`."]
    lines += [
        "These return wrong results or fail at run time, whatever the load: fix them before the performance work.",
        "",
        "| Where | Function | Problem | Fix |",
        "|---|---|---|---|",
    ]
    for bug in report.bugs[:ROWS_SHOWN]:
        fix = cell(bug.fix) if bug.fix else "by hand"
        lines.append(f"| `{bug.rel_path}:{bug.line}` | {cell(bug.function or '—')} | {rule_link(bug.rule)}: {cell(short(bug.message))} | {fix} |")
    return lines + _more(len(report.bugs), "functional bugs")


def _top(report: Report, detailed: int | None = None) -> list[str]:
    lines = [f"## Top {len(report.top)} problems, by function", ""]
    if not report.top:
        return [*lines, "No performance problems found."]
    lines += [
        FIX_LEGEND,
        "",
        "| # | Function | Where | Kind | Problems | Cost per call | Fix saves | Fix |",
        "|---:|---|---|---|---:|---|---|---|",
    ]
    for rank, entry in enumerate(report.top, 1):
        lines.append(
            f"| {rank} | `{cell(entry.function)}` | `{entry.rel_path}:{entry.line}-{entry.end_line}` | {entry.kind} | {len(entry.problems)} | {cell(entry_cost(entry))} | {saved_text(entry)} | {entry.fix} |"
        )
    for rank, entry in enumerate(report.top[:detailed], 1):
        lines += ["", f"### {rank}. `{entry.function}` — `{entry.rel_path}` lines {entry.line}-{entry.end_line}", ""]
        lines.append(f"Runs: {entry.frequency_reason}. Cost: {entry_cost(entry)}.")
        for item in entry.evidence:
            lines.append(f"Production: {item}.")
        lines.append("")
        for problem in entry.problems[:PROBLEMS_SHOWN]:
            fix = f" Fix ({problem.fix}): {problem.fix_title}." if problem.fix_title else " No automatic fix."
            saving = f" Saves: {problem.saving_note}." if problem.saving_note else ""
            lines.append(
                f"- line {problem.line}: {rule_link(problem.rule)} ({problem.severity}, {cost_text(problem)}) {short(problem.message, 400)}{fix}{saving}"
            )
            for assumption in problem.assumptions:
                lines.append(f"  - assumption: {assumption}")
        if len(entry.problems) > PROBLEMS_SHOWN:
            lines.append(f"- …and {len(entry.problems) - PROBLEMS_SHOWN} more (see the affected files below, or `--format json`)")
    return lines


def _schema(report: Report) -> list[str]:
    lines = ["## Schema changes", "", "### Indexes to add", ""]
    if report.indexes_add:
        lines += ["| Table | Fields | Name | Serves |", "|---|---|---|---|"]
        for change in report.indexes_add[:ROWS_SHOWN]:
            fields = ", ".join(f"`{f}`" for f in change.fields)
            lines.append(f"| `{change.table}` | {fields} | `{change.name}` | {cell(serves_text(change.serves))} |")
        lines += _more(len(report.indexes_add), "indexes to add")
    else:
        lines.append("None suggested.")
    lines += ["", "### Indexes to remove", ""]
    if report.indexes_remove:
        lines += ["| Table | Name | Fields | Why |", "|---|---|---|---|"]
        for change in report.indexes_remove[:ROWS_SHOWN]:
            fields = ", ".join(f"`{f}`" for f in change.fields) or "—"
            lines.append(f"| `{change.table}` | `{change.name}` | {fields} | {cell(change.reason)} |")
        lines += _more(len(report.indexes_remove), "indexes to remove")
    else:
        lines.append(no_removals(report))
    return lines


def _phases(report: Report) -> list[str]:
    lines = ["## Fix phases", ""]
    if not report.phases:
        return [*lines, "Nothing to fix."]
    for phase in report.phases:
        lines += [f"### {phase.title}", "", phase.explanation, ""]
        if phase.command:
            lines += ["```sh", phase.command, "```", ""]
        for item in phase.items:
            saved = f", saves ~{item.saved:,} reads/call" if item.saved else ""
            lines.append(f"- {rule_link(item.rule)}: {item.count} finding{'s' if item.count != 1 else ''}{saved}")
        lines.append("")
    return lines


def _patterns(report: Report) -> list[str]:
    lines = ["## Correct patterns already in the codebase", ""]
    if not report.patterns:
        return [*lines, "None recognised (no problem-free function reads through an index range or joins with `Promise.all`)."]
    lines += ["Point reviewers at these: functions with no findings that already do it right.", ""]
    titles = {"concurrent-join": "Concurrent join (`Promise.all` over ids)", "index-range": "Index range reads"}
    for kind, title in titles.items():
        examples = [p for p in report.patterns if p.kind == kind]
        if examples:
            lines.append(f"**{title}**")
            lines.append("")
            lines += [f"- `{p.function}` (`{p.rel_path}:{p.line}`): {p.detail}" for p in examples]
            lines.append("")
    return lines


def _files(report: Report, budget: int) -> list[str]:
    lines = ["## All affected files", "", f"<details><summary>{len(report.files)} files with findings</summary>", ""]
    lines += ["| File | Findings | Lines | Rules |", "|---|---:|---|---|"]
    used = sum(len(line) + 1 for line in lines)
    shown = 0
    for file in report.files:
        ranges = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in file.ranges)
        row = f"| `{file.rel_path}` | {file.findings} | {ranges} | {', '.join(file.rules)} |"
        if used + len(row) + 200 > budget:
            break
        lines.append(row)
        used += len(row) + 1
        shown += 1
    if shown < len(report.files):
        lines += ["", f"…and {len(report.files) - shown} more files (cut to fit a comment; `--format json` has them all)."]
    lines += ["", "</details>"]
    return lines


def render_markdown(report: Report) -> str:
    head = [f"# Convex X-Ray performance report: `{report.summary.name}`", ""]
    if report.timestamp:
        head += [f"Generated {report.timestamp}.", ""]
    refs = "\n".join(["", *_references(report)])
    # Details of the Top N go from the bottom up until the comment fits (the table stays).
    for detailed in range(len(report.top), -1, -1):
        body: list[str] = []
        for section in (_summary, _bugs, lambda r, d=detailed: _top(r, d), _schema, _phases, _patterns):
            lines = section(report)
            while lines and not lines[-1]:
                lines.pop()
            body += [*lines, ""]
        if detailed < len(report.top):
            body += [f"(Details of functions {detailed + 1}-{len(report.top)} left out to fit a comment; `--format json` or `html` has them.)", ""]
        text = "\n".join(head + body)
        if len(text) + len(refs) + 1_000 <= COMMENT_LIMIT:
            break
    return text + "\n" + "\n".join(_files(report, COMMENT_LIMIT - len(text) - len(refs))) + "\n" + refs
