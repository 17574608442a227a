"""The report as one self-contained HTML file: inline CSS and SVG, no script, nothing fetched,
readable on a laptop and a phone (tables scroll sideways inside their own box)."""

from __future__ import annotations

import re
from html import escape

from convex_xray.cli.report.charts import Bar, bar_chart, compact
from convex_xray.cli.report.markdown import (
    FIX_LEGEND,
    FORMULA_NOTE,
    cost_text,
    entry_cost,
    no_removals,
    saved_text,
    serves_text,
    short,
)
from convex_xray.cli.report.model import Report

FILES_CHART = 12  # files shown in the findings-by-file chart

_CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--bg:#fff;--card:#f6f8fa;--line:#d0d7de;--accent:#1565c0;--err:#c62828;--warn:#b26a00}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--card:#161b22;--line:#30363d;--accent:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.3em 0}
h2{font-size:1.25em;border-bottom:1px solid var(--line);padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
code{font:0.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
a{color:var(--accent)}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin:12px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px}
.card b{display:block;font-size:1.5em;overflow-wrap:anywhere}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:8px 0}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--card)}
td.n{text-align:right;white-space:nowrap}
td.at,td.at code{white-space:nowrap;overflow-wrap:normal}
.sev-error{color:var(--err);font-weight:600}.sev-warning{color:var(--warn);font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr));gap:16px}
.chart{width:100%;height:auto;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px}
.chart text{fill:var(--fg);font:12px system-ui,sans-serif}
.chart .chart-title{font-weight:600;font-size:14px}
pre{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px;overflow-x:auto}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
li{margin:.25em 0}
@media (max-width:600px){body{font-size:14px}main{padding:10px}th,td{padding:4px 5px}}
"""


def _e(text: object) -> str:
    return escape(str(text))


_TICKS = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    """A finding's message with its `code` spans as <code>."""
    return _TICKS.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text))


def _link(url: str, text: str) -> str:
    return f'<a href="{_e(url)}">{_e(text)}</a>' if url else _e(text)


def _table(head: list[str], rows: list[list[str]], numeric: frozenset[int] = frozenset(), at: frozenset[int] = frozenset()) -> str:
    """`numeric` columns are right-aligned, `at` (file:line) columns never wrap."""
    header = "".join(f"<th>{_e(h)}</th>" for h in head)

    def td(index: int, content: str) -> str:
        kind = "n" if index in numeric else "at" if index in at else ""
        return f'<td class="{kind}">{content}</td>' if kind else f"<td>{content}</td>"

    body = "".join("<tr>" + "".join(td(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>'


def _charts(report: Report) -> str:
    charts = []
    if report.summary.cost_available:
        bars = []
        for entry in report.top:
            reads = entry.reads_per_call or 0
            saved = min(entry.saved_reads_per_call or 0, reads)
            bars.append(Bar(entry.function, (("value", reads - saved), ("saved", saved)), compact(reads)))
        charts.append(bar_chart("Estimated reads per call, top functions", bars, (("value", "after fixes"), ("saved", "saved by fixes"))))
    else:
        bars = [Bar(e.function, (("value", len(e.problems)),), f"{len(e.problems)}") for e in report.top]
        charts.append(bar_chart("Problems per function (no cost estimate)", bars))
    files = [Bar(f.rel_path, (("value", f.findings),), str(f.findings)) for f in report.files[:FILES_CHART]]
    charts.append(bar_chart(f"Findings by file (top {min(FILES_CHART, len(report.files))})", files))
    tables: dict[str, list[int]] = {}
    for change in report.indexes_add:
        tables.setdefault(change.table, [0, 0])[0] += 1
    for change in report.indexes_remove:
        tables.setdefault(change.table, [0, 0])[1] += 1
    index_bars = [Bar(t, (("add", a), ("remove", r)), f"+{a} -{r}") for t, (a, r) in sorted(tables.items())]
    charts.append(bar_chart("Index changes by table", index_bars, (("add", "add"), ("remove", "remove"))))
    return '<div class="charts">' + "".join(charts) + "</div>"


def _summary(report: Report) -> str:
    s = report.summary
    cards = [
        ("files checked", f"{s.files:,}"),
        ("Convex functions", f"{s.functions:,}"),
        ("errors", str(s.by_tier.get("error", 0))),
        ("warnings", str(s.by_tier.get("warning", 0))),
        ("infos / hints", f"{s.by_tier.get('info', 0)} / {s.by_tier.get('hint', 0)}"),
        ("functional bugs", str(len(report.bugs))),
    ]
    if s.reads_before is not None:
        after = compact(s.reads_after) if s.reads_after is not None else "?"
        cards.append((f"reads/call of the top {len(report.top)}, before → after fixes", f"{compact(s.reads_before)} → {after}"))
    out = ['<h2 id="summary">Summary</h2><div class="cards">']
    out += [f'<div class="card"><b>{_e(v)}</b><span class="muted">{_e(k)}</span></div>' for k, v in cards]
    out.append("</div><ul>")
    out.append(f"<li>Roots checked: {_e(', '.join(s.roots)) or '—'}.</li>")
    if not s.cost_available:
        out.append("<li><b>No cost estimate</b>: the engine did not estimate reads per call for these findings; the top is ordered by severity, how often the function runs and the reads repeated per loop item, and no saving is claimed.</li>")
    if s.insights:
        out.append(f"<li>Production insights: {_e(s.insights)}.</li>")
    if s.assumptions:
        out.append("<li>Assumptions where the code does not state a size (change them under <code>[cost]</code> in convex-xray.toml): " + "; ".join(_inline(a) for a in s.assumptions) + ".</li>")
        out.append(f"<li>Reading the formulas: {_inline(FORMULA_NOTE)}</li>")
    out.append(f"<li>Ranking: {_e(report.ranking)}.</li></ul>")
    return "".join(out)


def _bugs(report: Report) -> str:
    out = ['<h2 id="bugs">Functional bugs first</h2>']
    if not report.bugs:
        return out[0] + "<p>None found.</p>"
    out.append("<p>These return wrong results or fail at run time, whatever the load: fix them before the performance work.</p>")
    rows = [
        [f"<code>{_e(b.rel_path)}:{b.line}</code>", _e(b.function or "—"), f'<span class="sev-{b.severity}">{_link(b.docs_url, b.rule)}</span>: {_inline(short(b.message))}', _inline(b.fix or "by hand")]
        for b in report.bugs
    ]
    return "".join(out) + _table(["Where", "Function", "Problem", "Fix"], rows, at=frozenset({0}))


def _top(report: Report) -> str:
    out = [f'<h2 id="top">Top {len(report.top)} problems, by function</h2>']
    if not report.top:
        return out[0] + "<p>No performance problems found.</p>"
    rows = [
        [str(rank), f"<code>{_e(e.function)}</code>", f"<code>{_e(e.rel_path)}:{e.line}-{e.end_line}</code>", _e(e.kind), str(len(e.problems)), _e(entry_cost(e)), _e(saved_text(e)), _e(e.fix)]
        for rank, e in enumerate(report.top, 1)
    ]
    out.append(f"<p>{_inline(FIX_LEGEND)}</p>")
    out.append(_table(["#", "Function", "Where", "Kind", "Problems", "Cost per call", "Fix saves", "Fix"], rows, frozenset({0, 4}), frozenset({1, 2})))
    for rank, entry in enumerate(report.top, 1):
        out.append(f"<h3>{rank}. <code>{_e(entry.function)}</code> — <code>{_e(entry.rel_path)}</code> lines {entry.line}-{entry.end_line}</h3>")
        out.append(f'<p class="muted">Runs: {_e(entry.frequency_reason)}. Cost: {_e(entry_cost(entry))}.</p>')
        out += [f"<p>Production: {_e(item)}.</p>" for item in entry.evidence]
        out.append("<ul>")
        for p in entry.problems:
            fix = f" <i>Fix ({_e(p.fix)}):</i> {_inline(p.fix_title)}." if p.fix_title else " <i>No automatic fix.</i>"
            saving = f" <i>Saves:</i> {_inline(p.saving_note)}." if p.saving_note else ""
            assumptions = "".join(f"<li class=\"muted\">assumption: {_e(a)}</li>" for a in p.assumptions)
            out.append(
                f'<li>line {p.line}: <span class="sev-{p.severity}">{_link(p.docs_url, p.rule)}</span> ({_e(p.severity)}, {_e(cost_text(p))}) {_inline(short(p.message, 240))}{fix}{saving}'
                + (f"<ul>{assumptions}</ul>" if assumptions else "")
                + "</li>"
            )
        out.append("</ul>")
    return "".join(out)


def _schema(report: Report) -> str:
    out = ['<h2 id="schema">Schema changes</h2><h3>Indexes to add</h3>']
    if report.indexes_add:
        rows = [[f"<code>{_e(c.table)}</code>", ", ".join(f"<code>{_e(f)}</code>" for f in c.fields), f"<code>{_e(c.name)}</code>", _e(serves_text(c.serves))] for c in report.indexes_add]
        out.append(_table(["Table", "Fields", "Name", "Serves"], rows))
    else:
        out.append("<p>None suggested.</p>")
    out.append("<h3>Indexes to remove</h3>")
    if report.indexes_remove:
        rows = [[f"<code>{_e(c.table)}</code>", f"<code>{_e(c.name)}</code>", ", ".join(f"<code>{_e(f)}</code>" for f in c.fields) or "—", _inline(c.reason)] for c in report.indexes_remove]
        out.append(_table(["Table", "Name", "Fields", "Why"], rows))
    else:
        out.append(f"<p>{_inline(no_removals(report))}</p>")
    return "".join(out)


def _phases(report: Report) -> str:
    out = ['<h2 id="phases">Fix phases</h2>']
    for phase in report.phases:
        out.append(f"<h3>{_e(phase.title)}</h3><p>{_e(phase.explanation)}</p>")
        if phase.command:
            out.append(f"<pre><code>{_e(phase.command)}</code></pre>")
        items = "".join(
            f"<li>{_link(i.docs_url, i.rule)}: {i.count} finding{'s' if i.count != 1 else ''}{f', saves ~{i.saved:,} reads/call' if i.saved else ''}</li>"
            for i in phase.items
        )
        out.append(f"<ul>{items}</ul>")
    if not report.phases:
        out.append("<p>Nothing to fix.</p>")
    return "".join(out)


def _patterns(report: Report) -> str:
    out = ['<h2 id="patterns">Correct patterns already in the codebase</h2>']
    if not report.patterns:
        return out[0] + "<p>None recognised.</p>"
    out.append("<p>Functions with no findings that already do it right: point reviewers at them.</p><ul>")
    out += [f"<li><code>{_e(p.function)}</code> (<code>{_e(p.rel_path)}:{p.line}</code>): {_inline(p.detail)}</li>" for p in report.patterns]
    out.append("</ul>")
    return "".join(out)


def _files(report: Report) -> str:
    rows = [
        [f"<code>{_e(f.rel_path)}</code>", str(f.findings), _e(", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in f.ranges)), _e(", ".join(f.rules))]
        for f in report.files
    ]
    table = _table(["File", "Findings", "Lines", "Rules"], rows, frozenset({1}), frozenset({0}))
    return f'<h2 id="files">All affected files</h2><details><summary>{len(report.files)} files with findings</summary>{table}</details>'


def render_html(report: Report) -> str:
    title = f"Convex X-Ray performance report: {report.summary.name}"
    generated = f'<p class="muted">Generated {_e(report.timestamp)}.</p>' if report.timestamp else ""
    body = "".join(
        [
            f"<h1>{_e(title)}</h1>",
            generated,
            _summary(report),
            _charts(report),
            _bugs(report),
            _top(report),
            _schema(report),
            _phases(report),
            _patterns(report),
            _files(report),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>{body}</main></body></html>\n"
    )
