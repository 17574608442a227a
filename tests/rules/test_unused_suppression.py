"""`unused-suppression`: the post pass that judges disable comments, and its fixes."""

from __future__ import annotations

import re
from pathlib import Path

from convex_xray.engine.config import Config
from convex_xray.engine.findings import Severity
from convex_xray.engine.fixes import apply_edits
from convex_xray.engine.registry import resolve_rule
from convex_xray.engine.runner import run_check
from convex_xray.engine.source import SourceFile
from tests.support.project import workspace_for, write_project

STALE = """
import { query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => {
    // convex-xray-disable-next-line unbounded-collect -- small table
    return await ctx.db.query("posts").take(10);
  },
});
"""

NEEDED = """
import { query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => {
    // convex-xray-disable-next-line unbounded-collect -- small table
    return await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect();
  },
});
"""


def _run(project: Path, config: Config | None = None, select: list[str] | None = None, ignore=()):
    config = config or Config()
    workspace = workspace_for(project, config)
    return workspace, run_check(workspace, config, select=select or [], ignore=ignore)


def _unused(result):
    return [f for f in result.findings if f.rule == "unused-suppression"]


def _fixed(workspace, finding) -> str:
    assert finding.fix is not None
    source = workspace.source(finding.path)
    return apply_edits(source.data, finding.fix.edits).decode()


def test_stale_comment_is_reported_and_removed_with_its_line(tmp_path):
    project = write_project(tmp_path, {"posts.ts": STALE})
    workspace, result = _run(project)
    [finding] = _unused(result)
    assert finding.code == "CX501" and finding.severity.label == "hint"
    assert finding.fix is not None and finding.fix.applicability.value == "safe"
    after = _fixed(workspace, finding)
    assert "convex-xray-disable" not in after
    # The whole line went, with its line break; nothing else did.
    expected = STALE.replace(
        "    // convex-xray-disable-next-line unbounded-collect -- small table\n", ""
    )
    assert after == expected


def test_comment_that_silences_a_finding_is_not_reported(tmp_path):
    project = write_project(tmp_path, {"posts.ts": NEEDED})
    _, result = _run(project)
    assert not _unused(result)
    assert not [f for f in result.findings if f.rule == "unbounded-collect"]


def test_select_runs_the_other_rules_silently(tmp_path):
    project = write_project(tmp_path, {"posts.ts": NEEDED, "stale.ts": STALE})
    _, result = _run(project, select=["unused-suppression"])
    assert {f.rule for f in result.findings} == {"unused-suppression"}
    assert [f.path.name for f in result.findings] == ["stale.ts"]


def test_comment_for_an_ignored_or_disabled_rule_is_left_alone(tmp_path):
    project = write_project(tmp_path, {"stale.ts": STALE})
    _, ignored = _run(project, ignore=["unbounded-collect"])
    assert not _unused(ignored)
    config = Config()
    config.severity["unbounded-collect"] = None  # "off"
    _, off = _run(project, config=config)
    assert not _unused(off)
    config.severity["unbounded-collect"] = Severity.INFO
    _, on = _run(project, config=config)
    assert len(_unused(on)) == 1


def test_trailing_comment_keeps_the_code_and_the_crlf(tmp_path):
    text = 'import { query } from "./_generated/server";\r\nexport const n = query({ handler: async (ctx) => {\r\n  return await ctx.db.query("posts").take(3); // convex-xray-disable-line unbounded-collect\r\n} });\r\n'
    project = write_project(tmp_path, {})
    (project / "convex" / "crlf.ts").write_bytes(text.encode())
    workspace, result = _run(project)
    [finding] = _unused(result)
    after = _fixed(workspace, finding)
    assert after == text.replace(" // convex-xray-disable-line unbounded-collect", "")


def test_block_comment_mid_line_and_multiline_block(tmp_path):
    mid = (
        'import { query } from "./_generated/server";\n'
        "export const n = query({ handler: async (ctx) => {\n"
        '  const a = 1; /* convex-xray-disable-line large-take */ return await ctx.db.query("posts").take(a);\n'
        "} });\n"
    )
    multi = (
        'import { query } from "./_generated/server";\n'
        "/* convex-xray-disable large-take\n   (kept for the import job) */\n"
        'export const m = query({ handler: async (ctx) => ctx.db.query("posts").take(2) });\n'
    )
    project = write_project(tmp_path, {"mid.ts": mid, "multi.ts": multi})
    workspace, result = _run(project, select=["unused-suppression"])
    by_file = {f.path.name: f for f in _unused(result)}
    assert set(by_file) == {"mid.ts", "multi.ts"}
    assert _fixed(workspace, by_file["mid.ts"]) == mid.replace(
        "/* convex-xray-disable-line large-take */ ", ""
    )
    assert by_file["multi.ts"].fix is None  # a comment over several lines: no fix offered


def test_partly_used_comment_drops_only_the_idle_name(tmp_path):
    text = NEEDED.replace("unbounded-collect --", "unbounded-collect, unknown-index, nope --")
    project = write_project(tmp_path, {"posts.ts": text})
    workspace, result = _run(project)
    findings = _unused(result)
    source = workspace.source(findings[0].path)
    named = sorted(source.slice(f.span.start, f.span.end) for f in findings)
    assert named == ["nope", "unknown-index"]
    assert all(f.fix == findings[0].fix for f in findings)  # one fix drops both
    after = _fixed(workspace, findings[0])
    assert "// convex-xray-disable-next-line unbounded-collect -- small table" in after


def test_fixes_converge_and_parse(tmp_path):
    project = write_project(tmp_path, {"stale.ts": STALE})
    workspace, result = _run(project)
    for _ in range(3):
        findings = _unused(result)
        if not findings:
            break
        path = findings[0].path
        data = apply_edits(workspace.source(path).data, findings[0].fix.edits)
        workspace.set_source(SourceFile(path, data.decode(), data=data))
        assert not workspace.source(path).has_errors()
        result = run_check(workspace, Config())
    assert not _unused(result)


def test_documentation_examples(tmp_path):
    """The rule's `Example` fires; its `Use instead` stays silent."""
    rule = resolve_rule("unused-suppression")
    assert rule is not None
    blocks = re.findall(r"```ts\n(.*?)```", rule.doc, re.S)
    assert len(blocks) == 2
    header = 'import { query } from "./_generated/server";\n'
    for name, block, fires in (("example", blocks[0], True), ("instead", blocks[1], False)):
        project = write_project(tmp_path / name, {"doc.ts": header + block})
        _, result = _run(project)
        assert bool(_unused(result)) is fires, name
