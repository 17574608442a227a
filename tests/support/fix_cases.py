"""Table tests for fixes (typescript-eslint's RuleTester, ruff's fix snapshots): a `Case` names
a rule, the files of a small app and every file's exact text after the fix; `run_case` checks
the exact output, no new ERROR nodes, that the diagnostic is gone, and that a second `--fix`
changes nothing. `NoFix` cases assert that no fix is offered."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from convex_xray.engine.findings import Applicability, Fix
from convex_xray.engine.fixes import apply_fixes_once
from tests.support.project import check_project, error_nodes, run_fix, write_project

UNSAFE = Applicability.UNSAFE
SAFE = Applicability.SAFE

HEAD = 'import { query } from "./_generated/server";\n\n'


@dataclass
class Case:
    rule: str
    files: dict[str, str]  # path under convex/ -> text (schema.ts included)
    expected: dict[str, str]  # every file the fix changes -> its whole text afterwards
    applicability: Applicability = UNSAFE
    title: str = ""  # a substring of the fix title
    alternative: bool = False  # the fix is offered next to the main one (editors only)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def query_module(body: str) -> str:
    return HEAD + dedent(body)


def _pick(finding, case: Case) -> Fix:
    if case.alternative:
        assert finding.alternatives, "an alternative fix is offered"
        return finding.alternatives[0]
    assert finding.fix is not None, "a fix is offered"
    return finding.fix


def run_case(tmp_path: Path, case: Case) -> None:
    files = {name: dedent(text) for name, text in case.files.items()}
    project = write_project(tmp_path / "app", files, schema=None)
    convex = project / "convex"
    paths = {name: convex / name for name in files}
    before_errors = {name: error_nodes(path) for name, path in paths.items()}
    _, result = check_project(project, select=[case.rule])
    findings = [f for f in result.findings if f.rule == case.rule]
    assert len(findings) == 1, [f.message for f in findings]
    fix = _pick(findings[0], case)
    assert fix.applicability is case.applicability
    assert case.title in fix.title
    outcome = apply_fixes_once([fix], lambda p: p.read_bytes())
    assert outcome.applied == 1 and not outcome.rejected
    for path, data in outcome.new_texts.items():
        path.write_bytes(data)
    for name, path in paths.items():
        wanted = dedent(case.expected[name]) if name in case.expected else files[name]
        assert path.read_text() == wanted, f"{name} after the fix"
        assert error_nodes(path) <= before_errors[name], f"{name}: the fix added a syntax error"
    _, again = check_project(project, select=[case.rule])
    assert [f.message for f in again.findings if f.rule == case.rule] == [], (
        "the diagnostic is gone"
    )
    after = {name: path.read_text() for name, path in paths.items()}
    run_fix(project, [case.rule], unsafe=True)
    assert {name: path.read_text() for name, path in paths.items()} == after, (
        "a second --fix changes nothing"
    )


TASKS_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  tasks: defineTable({
    orgId: v.id("orgs"),
    status: v.string(),
    kind: v.string(),
    createdAt: v.number(),
  })
    .index("by_orgId", ["orgId"])
    .index("by_orgId_and_createdAt", ["orgId", "createdAt"]),
  orgs: defineTable({ name: v.string() }),
});
"""


def tasks_schema_plus(line: str) -> str:
    return TASKS_SCHEMA.replace(
        '.index("by_orgId_and_createdAt", ["orgId", "createdAt"]),',
        f'.index("by_orgId_and_createdAt", ["orgId", "createdAt"])\n    {line},',
    )




RANGE_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  enrollments: defineTable({ orgId: v.string(), status: v.string(), at: v.number() })
    .index("by_orgId_and_status_and_at", ["orgId", "status", "at"]),
});
"""



USE_ORG = query_module(
    """
    export const f = query({
      args: {},
      handler: async (ctx, args) =>
        await ctx.db.query("players").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).take(5),
    });
    """
)



FETCH_HEAD = 'import { action } from "./_generated/server";\n\n'


def action_module(body: str) -> str:
    return FETCH_HEAD + dedent(body)


FETCH_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({ notes: defineTable({ text: v.string() }) });
"""



@dataclass
class NoFix:
    rule: str
    files: dict[str, str]
    why: str = ""
    count: int = 1
    extra: dict[str, object] = field(default_factory=dict)


def run_no_fix(tmp_path: Path, case: NoFix) -> None:
    project = write_project(
        tmp_path / "app", {k: dedent(v) for k, v in case.files.items()}, schema=None
    )
    _, result = check_project(project, select=[case.rule])
    findings = [f for f in result.findings if f.rule == case.rule]
    assert len(findings) == case.count
    assert all(f.fix is None for f in findings)
