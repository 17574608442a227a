"""`convex-xray report`: what goes in each section, cost fields used when the engine sets them
and a clear "no cost estimate" when it does not, and the same bytes for the same input."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from convex_xray.cli.main import main
from convex_xray.cli.report.build import Options, build_report
from convex_xray.cli.report.html import render_html
from convex_xray.cli.report.markdown import COMMENT_LIMIT, render_markdown
from convex_xray.engine.findings import Finding
from tests.support.project import check_project, write_project

APP = {
    # `cleanup` runs nightly (an internal function nothing names would be a hand-run script).
    "crons.ts": """
import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";
const crons = cronJobs();
crons.daily("cleanup", { hourUTC: 4, minuteUTC: 0 }, internal.feed.cleanup);
export default crons;
""",
    "feed.ts": """
import { query, mutation, internalMutation } from "./_generated/server";
import { v } from "convex/values";

export const feed = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    const posts = await ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", args.orgId)).collect();
    const out = [];
    for (const post of posts) {
      const author = await ctx.db.get(post.authorId);
      out.push({ post, author });
    }
    return out;
  },
});

export const byEmail = query({
  args: { email: v.string() },
  handler: async (ctx, args) => {
    return await ctx.db.query("users").filter((q) => q.eq(q.field("name"), args.email)).first();
  },
});

export const cleanup = internalMutation({
  args: {},
  handler: async (ctx) => {
    const comments = await ctx.db.query("comments").withIndex("by_postId").collect();
    for (const c of comments) {
      const post = await ctx.db.get(c.postId);
      if (!post) await ctx.db.delete(c._id);
    }
  },
});

export const wrongIndex = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    return await ctx.db.query("users").withIndex("by_org", (q) => q.eq("orgId", args.orgId)).take(10);
  },
});

export const byAuthor = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    return await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).take(20);
  },
});

export const allPages = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    let cursor = null;
    const out = [];
    while (true) {
      const page = await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).paginate({ numItems: 10, cursor });
      out.push(...page.page);
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    return out;
  },
});

export const authors = query({
  args: { ids: v.array(v.id("users")) },
  handler: async (ctx, args) => {
    return await Promise.all([...new Set(args.ids)].map((id) => ctx.db.get(id)));
  },
});
""",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "app", APP)


def _report(project: Path, top: int = 10):
    workspace, result = check_project(project)
    return build_report(workspace, result, Options(target=project, command_target=".", top=top))


def test_sections_come_from_the_findings(project: Path):
    report = _report(project)
    rules_in_top = {p.rule for e in report.top for p in e.problems}
    assert "n-plus-one-read" in rules_in_top
    # The unknown index and the paginate-in-a-loop are functional bugs, listed apart, never in the Top N.
    assert sorted((b.rule, b.function) for b in report.bugs) == [("n-plus-one-read", "allPages"), ("unknown-index", "wrongIndex")]
    assert "unknown-index" not in rules_in_top
    assert all(e.function != "allPages" for e in report.top)
    # The filter on a field with no index becomes an index to add, naming the query it serves.
    added = {(c.table, c.name): c for c in report.indexes_add}
    assert ("users", "by_name") in added
    assert added[("users", "by_name")].fields == ["name"]
    assert any("byEmail" in s for s in added[("users", "by_name")].serves)
    # Functions with no findings that read through an index range or join concurrently: patterns to copy.
    assert any(p.function == "byAuthor" and p.kind == "index-range" and ".take(20)" in p.detail for p in report.patterns)
    assert any(p.function == "authors" and p.kind == "concurrent-join" for p in report.patterns)
    assert all(p.function != "feed" for p in report.patterns)


def test_without_cost_the_top_says_so_and_ranks_public_queries_first(project: Path):
    # Findings from a run that carries no cost estimate (an older cache, a rule that does not measure).
    workspace, result = check_project(project)
    for finding in result.findings:
        finding.cost = None
    report = build_report(workspace, result, Options(target=project, command_target=".", top=10))
    assert not report.summary.cost_available
    assert all(e.reads_per_call is None and e.saved_reads_per_call is None for e in report.top)
    kinds = [e.kind for e in report.top]
    # Same severity (warnings): a public reactive query outranks an internal mutation.
    assert kinds.index("public-query") < kinds.index("internal")
    text = render_markdown(report)
    assert "No cost estimate" in text
    assert "no cost estimate" in text


@dataclass(frozen=True)
class FakeCost:
    """What the cost model attaches to a finding (only `to_dict` is read)."""

    formula: str
    reads: int
    growth: str
    assumptions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"formula": self.formula, "reads": self.reads, "unit": "reads", "assumptions": list(self.assumptions), "growth": self.growth, "score": float(self.reads)}


class CostedFinding(Finding):
    """A finding that can carry `cost` whether or not the engine's Finding has the field yet."""


def _with_cost(finding: Finding, cost: FakeCost) -> Finding:
    copy = CostedFinding(*[getattr(finding, f.name) for f in fields(Finding)])
    object.__setattr__(copy, "cost", cost)
    return copy


def test_cost_fields_rank_and_explain_the_top(project: Path):
    workspace, result = check_project(project)
    costed = []
    for finding in result.findings:
        if finding.function == "cleanup" and finding.rule == "n-plus-one-read":
            finding = _with_cost(finding, FakeCost("N(comments, no index range)", 10_000, "whole-table", ("table size assumed 10,000",)))
        elif finding.rule == "n-plus-one-read":
            finding = _with_cost(finding, FakeCost("N(posts per orgId)", 10, "per-parent", ("N assumed 10 per parent",)))
        elif finding.rule in ("filter-on-query", "full-table-scan"):
            finding = _with_cost(finding, FakeCost("N(users)", 10_000, "whole-table"))
        costed.append(finding)
    result.findings = costed
    report = build_report(workspace, result, Options(target=project, command_target=".", top=10))
    assert report.summary.cost_available
    by_name = {e.function: e for e in report.top}
    # 10,000 reads in an internal mutation outrank 10 in a public query: cost times frequency.
    assert report.top[0].function in ("cleanup", "byEmail")
    assert by_name["feed"].score < by_name["cleanup"].score
    assert by_name["cleanup"].growth == "whole-table"
    # An index fix turns a scan into a range read: the saving is estimated and its assumption stated.
    assert by_name["byEmail"].saved_reads_per_call == 10_000 - 10
    # A scan with no index to add (no range on `by_postId`'s caller to narrow): no saving claimed.
    scan = next(p for p in by_name["cleanup"].problems if p.rule == "full-table-scan")
    assert scan.saved is None and "no index" in scan.saving_note
    assert any(a.startswith("after an index fix") for a in report.summary.assumptions)
    # The Summary names the sizes as `[cost]` does; each problem keeps its own assumption.
    assert "a table read with no index range (`table`) 10,000" in report.summary.assumptions
    assert "table size assumed 10,000" in next(p for p in by_name["cleanup"].problems if p.rule == "n-plus-one-read").assumptions
    text = render_markdown(report)
    assert "N(comments, no index range) = 10,000 reads, whole-table" in text
    assert "No cost estimate" not in text
    data = json.loads(_json(report))
    entry = next(t for t in data["top"] if t["function"] == "byEmail")
    assert entry["reads_per_call"] == 10_000 and entry["saved_reads_per_call"] == 9_990


def _json(report) -> str:
    from convex_xray.cli.report.json_format import render_json

    return render_json(report)


def test_json_carries_the_documented_keys(project: Path):
    data = json.loads(_json(_report(project)))
    assert set(data) >= {"summary", "top", "bugs", "indexes", "phases", "patterns", "files"}
    for entry in data["top"]:
        assert set(entry) >= {"function", "path", "line", "end_line", "problems", "reads_per_call", "saved_reads_per_call", "fix"}
        assert Path(entry["path"]).is_absolute()
        assert entry["line"] <= entry["end_line"]
    for change in data["indexes"]["add"] + data["indexes"]["remove"]:
        assert set(change) >= {"table", "fields", "name", "reason"}
    assert "generated" not in data


def test_same_input_same_bytes_and_timestamp_only_when_asked(project: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(project)
    outputs = {}
    for fmt in ("markdown", "json", "html"):
        runs = []
        for n in range(2):
            out = tmp_path / f"{fmt}{n}"
            assert main(["report", "--format", fmt, "-o", str(out), "--no-cache", "--jobs", "1", "--no-progress"]) == 0
            runs.append(out.read_bytes())
        assert runs[0] == runs[1], fmt
        outputs[fmt] = runs[0].decode()
    assert "Generated" not in outputs["markdown"]
    out = tmp_path / "stamped.md"
    assert main(["report", "--timestamp", "-o", str(out), "--no-cache", "--jobs", "1"]) == 0
    assert "Generated " in out.read_text()


def test_top_limits_the_functions(project: Path):
    report = _report(project, top=1)
    assert len(report.top) == 1 and report.ranked > 1
    assert "## Top 1 problems" in render_markdown(report)


def test_bad_top_is_a_usage_error(project: Path, capsys):
    assert main(["report", str(project), "--top", "0"]) == 2
    assert "--top" in capsys.readouterr().err


def test_html_is_self_contained_and_escapes_code(project: Path):
    page = render_html(_report(project))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "src=" not in page and "@import" not in page
    assert page.count('<svg class="chart"') == 3
    # Messages are escaped first, then their `code` spans become <code>.
    assert "<code>.index(&quot;by_name&quot;, [&quot;name&quot;])</code>" in page


def test_markdown_fits_a_comment_on_a_large_app(tmp_path: Path):
    many = {f"features/administration/reporting/{'nested/' * 20}m{i}.ts": APP["feed.ts"] for i in range(120)}
    project = write_project(tmp_path / "big", many)
    text = render_markdown(_report(project))
    assert len(text) <= COMMENT_LIMIT < 65_536  # GitHub's limit for one comment
    assert "more files (cut to fit a comment" in text


def test_insights_raise_the_function_production_flagged(project: Path, tmp_path: Path, monkeypatch, capsys):
    """Production saying `cleanup` (an internal mutation) hit the read limit raises its score,
    puts it first and prints the evidence."""
    monkeypatch.chdir(project)
    insights = tmp_path / "insights.json"
    insights.write_text(json.dumps([{"kind": "documentsReadLimit", "functionId": "feed:cleanup", "count": 3}]))
    out = tmp_path / "with.json"
    assert main(["report", "--format", "json", "-o", str(out), "--insights", str(insights), "--no-cache", "--jobs", "1"]) == 0
    data = json.loads(out.read_text())
    assert data["top"][0]["function"] == "cleanup"
    assert data["top"][0]["evidence"]
    assert "1 insights, 1 mapped" in data["summary"]["insights"]
    plain = tmp_path / "without.json"
    assert main(["report", "--format", "json", "-o", str(plain), "--no-cache", "--jobs", "1"]) == 0
    plain_cleanup = next(t for t in json.loads(plain.read_text())["top"] if t["function"] == "cleanup")
    assert not plain_cleanup["evidence"] and plain_cleanup["score"] < data["top"][0]["score"]


def test_charts_use_short_numbers_and_a_log_scale_when_sizes_differ_a_lot():
    from convex_xray.cli.report.charts import Bar, bar_chart, compact

    assert [compact(v) for v in (999, 9_999, 40_230, 1_110_000, 100_020_000)] == ["999", "9,999", "40.2k", "1.1M", "100M"]
    wide = bar_chart("Reads", [Bar("a", (("value", 100_000_000),)), Bar("b", (("value", 40),))])
    assert "Reads (log scale)" in wide
    even = bar_chart("Reads", [Bar("a", (("value", 50),)), Bar("b", (("value", 40),))])
    assert "log scale" not in even


def test_the_cost_sizes_of_the_config_are_the_ones_stated(project: Path, tmp_path: Path, monkeypatch):
    (project / "convex-xray.toml").write_text("[cost]\nper-tenant = 500\ntable = 2000\n")
    monkeypatch.chdir(project)
    out = tmp_path / "r.json"
    assert main(["report", "--format", "json", "-o", str(out), "--no-cache", "--jobs", "1"]) == 0
    summary = json.loads(out.read_text())["summary"]
    assert summary["cost_available"]
    assert "a table read with no index range (`table`) 2,000" in summary["assumptions"]
    assert any("(`per-tenant`) 500" in a for a in summary["assumptions"])


def test_a_shortened_message_never_ends_inside_a_code_span():
    """An unclosed backtick in a Markdown list item turns the rest of the comment into code."""
    from convex_xray.cli.report.markdown import short

    message = "Full table scan: every `users` document is read. Bound the read with `.take(n)` / `.paginate()` or query an index range."
    for limit in range(20, len(message)):
        cut = short(message, limit)
        assert cut.count("`") % 2 == 0, cut
        assert len(cut) <= limit and cut.endswith("…")
    assert short(message, len(message)) == message
