"""The cron/scheduler index is built once per workspace revision and follows edits."""

from __future__ import annotations

from convex_xray.engine.source import SourceFile
from convex_xray.engine.triggers import CRON, trigger_index
from tests.support.project import workspace_for, write_project

JOBS = 'import { internalMutation } from "./_generated/server";\nexport const sweep = internalMutation({ args: {}, handler: async () => {} });\nexport const tidy = internalMutation({ args: {}, handler: async () => {} });\n'
CRONS = 'import { cronJobs } from "convex/server";\nimport { internal } from "./_generated/api";\nconst crons = cronJobs();\ncrons.daily("sweep", { hourUTC: 3, minuteUTC: 0 }, internal.jobs.{target});\nexport default crons;\n'


def test_the_index_is_shared_until_a_file_changes_and_then_follows_the_change(tmp_path):
    project = write_project(tmp_path / "app", {"jobs.ts": JOBS, "crons.ts": CRONS.replace("{target}", "sweep")})
    workspace = workspace_for(project)
    first = trigger_index(workspace)
    root = project / "convex"
    assert {ref for (_, ref), t in first.items() if t.kind == CRON} == {"jobs.sweep"}
    assert trigger_index(workspace) is first  # one merge per revision, not one per file checked

    crons = (root / "crons.ts").resolve()
    workspace.set_source(SourceFile(crons, CRONS.replace("{target}", "tidy")))
    after = trigger_index(workspace)
    assert after is not first
    assert {ref for (_, ref), t in after.items() if t.kind == CRON} == {"jobs.tidy"}
