"""`--insights FILE`: production evidence from Convex insights mapped onto static findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convex_xray.cli.insights import (
    Insight,
    InsightsError,
    apply_insights,
    load_insights,
    parse_insights,
    resolve_function,
)
from convex_xray.cli.main import main
from convex_xray.engine.findings import Severity
from tests.support.project import EXAMPLE_APP, FEED_SCHEMA, check_project, write_project

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "insights-sample.json"


def _one(text: str) -> Insight:
    insights, ignored = parse_insights(text)
    assert ignored == 0
    [insight] = insights
    return insight


# -- reading: the shapes accepted -----------------------------------------------------------


def test_sample_file_is_read_whole():
    insights, ignored = load_insights(SAMPLE)
    assert ignored == 0
    assert len(insights) == len(json.loads(SAMPLE.read_text(encoding="utf-8")))
    first = insights[0]
    assert (first.kind, first.function_id, first.component, first.count) == (
        "documentsReadLimit",
        "dashboard:getOrgDashboard",
        None,
        14,
    )
    assert first.peak_documents == 212 + 11230 + 4942
    occ = next(i for i in insights if i.kind == "occRetried")
    assert (occ.occ_calls, occ.occ_table, occ.count) == (41, "attendance", None)
    component = next(i for i in insights if i.component)
    assert component.label == "betterAuth:adapter:findMany"


def test_wrapped_object_as_the_mcp_tool_returns_it():
    text = json.dumps(
        {
            "insights": [
                {
                    "kind": "bytesReadLimit",
                    "severity": "error",
                    "functionId": "a/b:c",
                    "componentPath": None,
                    "count": 2,
                    "recentEvents": [],
                }
            ],
            "summary": "Found 1 error in the last 72 hours.",
            "dashboardUrl": "https://dashboard.example/d/insights",
        }
    )
    insight = _one(text)
    assert (insight.kind, insight.module, insight.export, insight.count) == (
        "bytesReadLimit",
        "a/b",
        "c",
        2,
    )


def test_raw_rows_of_the_insights_dataset():
    details = json.dumps({"occCalls": 7, "occTableName": "jobs", "recentEvents": []})
    insight = _one(json.dumps([["occRetried", "jobs:claim", "-root-component-", details]]))
    assert (
        insight.kind,
        insight.function_id,
        insight.component,
        insight.occ_calls,
        insight.occ_table,
    ) == (
        "occRetried",
        "jobs:claim",
        None,
        7,
        "jobs",
    )
    assert insight.severity == "warning"


def test_json_lines_snake_case_and_a_banner():
    lines = "\n".join(
        [
            json.dumps(
                {
                    "kind": "documentsReadThreshold",
                    "function_id": "x:y",
                    "component_path": "-root-component-",
                    "count": "4",
                }
            ),
            json.dumps(
                {
                    "type": "documentsReadLimit",
                    "udfPath": "z.js:w",
                    "details": json.dumps({"count": 1}),
                }
            ),
        ]
    )
    insights, ignored = parse_insights(lines)
    assert ignored == 0
    assert [(i.kind, i.function_id, i.count, i.severity) for i in insights] == [
        ("documentsReadThreshold", "x:y", 4, "warning"),
        ("documentsReadLimit", "z.js:w", 1, "error"),
    ]
    banner = "Fetching insights for deployment happy-otter-123...\n" + json.dumps(
        [{"kind": "occRetried", "functionId": "a:b"}]
    )
    assert _one(banner).function_id == "a:b"


def test_unknown_kinds_are_kept_and_non_insights_counted():
    insights, ignored = parse_insights(
        json.dumps(
            [
                {"kind": "somethingNew", "functionId": "a:b"},
                {"kind": "x"},
                42,
                {"functionId": "c:d"},
            ]
        )
    )
    assert [i.kind for i in insights] == ["somethingNew"]
    assert ignored == 3
    assert "reported `somethingNew`" in insights[0].describe()


@pytest.mark.parametrize(
    "text, message",
    [
        ("this is not json", "not JSON"),
        ('{"foo": 1}', "no `insights` list"),
        ("12", "expected a JSON array"),
        ('[{"foo": 1}]', "no insight found"),
    ],
)
def test_unreadable_files_are_errors(text, message):
    with pytest.raises(InsightsError, match=message):
        parse_insights(text)


def test_empty_list_means_a_healthy_deployment():
    assert parse_insights("[]") == ([], 0)
    assert parse_insights("") == ([], 0)


# -- mapping to the workspace ----------------------------------------------------------------


HELPERS = """\
import { query, mutation } from "../_generated/server";
import { countAll } from "../lib/counting";

export const list = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect();
    const total = await countAll({ db: ctx.db });
    return { posts, total };
  },
});

export const untouched = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect();
  },
});

export const bump = mutation({
  args: {},
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, "a" as any, {});
    await ctx.scheduler.runAfter(0, "b" as any, {});
  },
});

export default query({
  args: {},
  handler: async (ctx) => ctx.db.query("posts").withIndex("by_authorId").take(5),
});
"""

COUNTING = """\
export async function countAll(ctx: { db: any }) {
  const rows = await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", "p")).collect();
  return rows.length;
}
"""


@pytest.fixture
def app(tmp_path):
    return write_project(tmp_path / "app", {"posts/feed.ts": HELPERS, "lib/counting.ts": COUNTING}, schema=FEED_SCHEMA)


def test_function_ids_resolve_to_definitions(app):
    workspace, _ = check_project(app)
    cases = {
        "posts/feed:list": "list",
        "posts/feed.js:list": "list",
        "posts/feed.ts:untouched": "untouched",
        "posts/feed": "default",
    }
    for function_id, name in cases.items():
        resolved = resolve_function(workspace, Insight("documentsReadLimit", function_id))
        assert resolved is not None, function_id
        model, function = resolved
        assert model.path.name == "feed.ts"
        assert function is model.exports[name]
    for missing in ("posts/feed:nope", "posts/missing:list", "../outside:list", "feed:list"):
        assert resolve_function(workspace, Insight("documentsReadLimit", missing)) is None
    # A component's function only resolves inside that component's directory.
    assert (
        resolve_function(
            workspace, Insight("documentsReadLimit", "posts/feed:list", component="other")
        )
        is None
    )


def _by_place(result):
    return {(f.path.name, f.span.start, f.rule): f for f in result.findings}


def test_limit_annotates_and_raises_findings_in_the_function_and_its_helpers(app):
    workspace, result = check_project(app, select=["unbounded-collect", "sequential-scheduling"])
    before = {key: f.severity for key, f in _by_place(result).items()}
    insights = parse_insights(
        json.dumps(
            [
                {"kind": "documentsReadLimit", "functionId": "posts/feed:list", "count": 3},
                {
                    "kind": "occRetried",
                    "functionId": "posts/feed:bump",
                    "occCalls": 5,
                    "occTableName": "posts",
                },
            ]
        )
    )
    summary = apply_insights(workspace, result.findings, insights)
    after = _by_place(result)
    source = workspace.source(next(f.path for f in result.findings if f.path.name == "feed.ts"))
    list_def = workspace.model(source.path).exports["list"].definition
    in_list = {
        k for k in after if k[0] == "feed.ts" and list_def.start_byte <= k[1] < list_def.end_byte
    }
    in_helper = {k for k in after if k[0] == "counting.ts"}
    assert in_list and in_helper
    for key in in_list | in_helper:
        finding = after[key]
        assert finding.severity == Severity(min(before[key] + 1, Severity.ERROR)), key
        [evidence] = [r for r in finding.related if "Convex insights" in r.message]
        assert "`posts/feed:list` hit the documents-read limit 3 times" in evidence.message
        assert (
            source.slice(evidence.span.start, evidence.span.end) == "list"
        )  # points at the definition
    scheduling = [k for k in after if k[2] == "sequential-scheduling"]
    assert scheduling
    for key in scheduling:  # OCC evidence is attached, never raises
        assert after[key].severity == before[key]
        assert any(
            "retried after write conflicts (5 conflicts on `posts`)" in r.message
            for r in after[key].related
        )
    for key in set(after) - in_list - in_helper - set(scheduling):  # `untouched` stays as it was
        assert after[key].severity == before[key] and not after[key].related
    assert (summary.total, summary.mapped, summary.raised) == (2, 2, len(in_list | in_helper))
    assert summary.annotated == len(in_list | in_helper) + len(scheduling)


def test_threshold_raises_info_to_warning_only(app):
    workspace, result = check_project(app, select=["unbounded-collect"])
    for finding in result.findings:
        finding.severity = Severity.INFO if finding.path.name == "feed.ts" else Severity.WARNING
    insights = parse_insights(
        json.dumps([{"kind": "bytesReadThreshold", "functionId": "posts/feed:list", "count": 1}])
    )
    apply_insights(workspace, result.findings, insights)
    touched = [f for f in result.findings if f.related]
    assert {f.path.name: f.severity for f in touched} == {
        "feed.ts": Severity.WARNING,
        "counting.ts": Severity.WARNING,
    }


# -- the sample against the example app, through the CLI --------------------------------------


def test_sample_on_the_example_app(monkeypatch, capsys):
    monkeypatch.chdir(EXAMPLE_APP)
    assert main(["check", ".", "--format", "json", "--exit-zero"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["check", ".", "--format", "json", "--exit-zero", "--insights", str(SAMPLE)]) == 0
    merged = json.loads(capsys.readouterr().out)
    summary = merged["summary"]["insights"]
    assert summary["total"] == 9 and summary["ignored"] == 0
    assert summary["unmatched"] == ["betterAuth:adapter:findMany", "legacy/export:run"]
    assert summary["without_findings"] == ["organizations:listCoaches"]
    assert summary["mapped"] == 7
    key = lambda d: (d["path"], d["line"], d["column"], d["rule"])  # noqa: E731
    before = {key(d): d for d in plain["diagnostics"]}
    after = {key(d): d for d in merged["diagnostics"]}
    assert before.keys() == after.keys()
    order = ["hint", "info", "warning", "error"]
    changed = {k for k in after if after[k]["severity"] != before[k]["severity"]}
    annotated = {k for k in after if len(after[k]["related"]) > len(before[k]["related"])}
    assert len(changed) == summary["raised"] > 0 and len(annotated) == summary["annotated"]
    assert changed <= annotated
    for k in changed:
        assert order.index(after[k]["severity"]) == order.index(before[k]["severity"]) + 1
    files = {Path(k[0]).name for k in annotated}
    # dashboard:getOrgDashboard itself, and admin:orgReport through its helpers in model/reports.ts.
    assert {"dashboard.ts", "reports.ts", "teams.ts", "sessions.ts"} <= files
    assert any(
        Path(k[0]).name == "dashboard.ts" and after[k]["severity"] == "error" for k in changed
    )


def test_cli_text_line_and_errors(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(EXAMPLE_APP)
    main(["check", ".", "-q", "--insights", str(SAMPLE)])
    out = capsys.readouterr().out
    assert "Production insights: 9 read, 7 matched to functions here" in out
    assert "not found in this workspace: betterAuth:adapter:findMany, legacy/export:run" in out
    bad = tmp_path / "bad.json"
    bad.write_text("<html>login</html>", encoding="utf-8")
    assert main(["check", ".", "--insights", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["check", ".", "--insights", str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err


def test_raised_severity_changes_the_exit_code(app, capsys):
    assert (
        main(["check", str(app), "--select", "unbounded-collect", "--fail-on", "error", "-q"]) == 0
    )
    insights = app / "insights.json"
    insights.write_text(
        json.dumps([{"kind": "documentsReadLimit", "functionId": "posts/feed:list", "count": 1}]),
        encoding="utf-8",
    )
    capsys.readouterr()
    code = main(
        [
            "check",
            str(app),
            "--select",
            "unbounded-collect",
            "--fail-on",
            "error",
            "-q",
            "--insights",
            str(insights),
        ]
    )
    assert code == 1


# -- exactly what `npx convex insights --json` prints --------------------------------------------
#
# Read from the `convex` npm package, version 1.51.0 (`npm pack convex@1.51.0`):
# src/cli/insights.ts prints `JSON.stringify({ deploymentName, dashboardUrl, insights },
# null, 2)`, and src/cli/lib/insights.ts types each insight: `OccInsight` = {kind:
# "occRetried" | "occFailedPermanently", severity, functionId, componentPath (null for the
# root component), occCalls, occTableName?, recentEvents?} and `ResourceInsight` = {kind:
# "bytesReadLimit" | "bytesReadThreshold" | "documentsReadLimit" | "documentsReadThreshold",
# severity, functionId, componentPath, count, recentEvents?}. `recentEvents` is present only
# with `--details` (at most 5); JSON.stringify drops the keys left undefined. A resource
# event is {timestamp, id, request_id, calls: [{table_name, bytes_read, documents_read}],
# success}; an OCC event {timestamp, id, request_id, occ_document_id?, occ_write_source?,
# occ_retry_count}. Insights come sorted from the most to the least severe kind.


def _cli_output(details: bool) -> str:
    def events(kind: str) -> dict:
        if not details:
            return {}
        if kind.startswith("occ"):
            return {"recentEvents": [{"timestamp": "2026-12-01T10:00:00Z", "id": "e1", "request_id": "r1", "occ_document_id": "k57a", "occ_write_source": "sessions:setStatus", "occ_retry_count": 3}]}
        return {
            "recentEvents": [
                {
                    "timestamp": "2026-12-01T10:00:00Z",
                    "id": "e2",
                    "request_id": "r2",
                    "calls": [
                        {"table_name": "players", "bytes_read": 900000, "documents_read": 15000},
                        {"table_name": "teams", "bytes_read": 20000, "documents_read": 120},
                    ],
                    "success": False,
                }
            ]
        }

    insights = [
        {"kind": "documentsReadLimit", "severity": "error", "functionId": "dashboard:getOrgDashboard", "componentPath": None, "count": 3, **events("documentsReadLimit")},
        {"kind": "occFailedPermanently", "severity": "error", "functionId": "adapter:updateOne", "componentPath": "betterAuth", "occCalls": 1, **events("occ")},
        {"kind": "documentsReadThreshold", "severity": "warning", "functionId": "sessions:listForOrg", "componentPath": None, "count": 12, **events("documentsReadThreshold")},
        {"kind": "occRetried", "severity": "warning", "functionId": "sessions:setStatus", "componentPath": None, "occCalls": 41, "occTableName": "attendance", **events("occ")},
    ]
    document = {"deploymentName": "happy-otter-123", "dashboardUrl": "https://dashboard.convex.dev/d/happy-otter-123/?view=insights", "insights": insights}
    return json.dumps(document, indent=2) + "\n"  # logOutput adds the newline


@pytest.mark.parametrize("details", [False, True], ids=["plain", "details"])
def test_the_convex_cli_json_shape(details):
    insights, ignored = parse_insights(_cli_output(details))
    assert ignored == 0
    assert [(i.kind, i.label, i.severity, i.count, i.occ_calls, i.occ_table) for i in insights] == [
        ("documentsReadLimit", "dashboard:getOrgDashboard", "error", 3, None, None),
        ("occFailedPermanently", "betterAuth:adapter:updateOne", "error", None, 1, None),
        ("documentsReadThreshold", "sessions:listForOrg", "warning", 12, None, None),
        ("occRetried", "sessions:setStatus", "warning", None, 41, "attendance"),
    ]
    limit = insights[0]
    # with --details one recent call's reads are the peak; without them nothing is made up
    assert limit.peak_documents == (15120 if details else None)
    assert limit.peak_bytes == (920000 if details else None)


def test_the_convex_cli_json_for_a_healthy_deployment():
    text = json.dumps({"deploymentName": "d", "dashboardUrl": "https://x/?view=insights", "insights": []}, indent=2)
    assert parse_insights(text) == ([], 0)


def test_the_convex_cli_json_through_check(monkeypatch, capsys, tmp_path):
    path = tmp_path / "insights.json"
    path.write_text(_cli_output(details=True), encoding="utf-8")
    monkeypatch.chdir(EXAMPLE_APP)
    assert main(["check", ".", "--format", "json", "--exit-zero", "--no-cache", "--insights", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]["insights"]
    assert (summary["total"], summary["ignored"]) == (4, 0)
    assert summary["unmatched"] == ["betterAuth:adapter:updateOne"]  # a component's function: not in this app
    assert summary["annotated"] > 0 and summary["raised"] > 0
