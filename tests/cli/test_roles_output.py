"""The role of each finding in the machine formats: JSON (`role`, `summary.by_role`) and
SARIF (`properties.role`)."""

from __future__ import annotations

import json

from convex_xray.cli.main import main
from tests.support.project import write_project

COLLECT = """
import { query } from "./_generated/server";
export const all = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("posts").collect()).length,
});
"""


def run(capsys, *argv: str) -> dict:
    main(list(argv))
    return json.loads(capsys.readouterr().out)


def test_role_in_json_and_sarif(tmp_path, capsys):
    project = write_project(tmp_path, {"posts.ts": COLLECT, "posts.test.ts": COLLECT, "scripts/count.ts": COLLECT})
    select = ("--select", "full-table-scan", "--no-cache")
    document = run(capsys, "check", str(project), "--format", "json", *select)
    got = sorted((d["path"].rsplit("convex/", 1)[1], d["role"], d["severity"]) for d in document["diagnostics"])
    # A whole table at the assumed 10,000 documents: below the 32,000-document limit, so the
    # script is info like the test.
    assert got == [("posts.test.ts", "test", "info"), ("posts.ts", "production", "warning"), ("scripts/count.ts", "script", "info")]
    # Tables known to be bigger put the limit at risk: kept in the script, capped in the test.
    (project / "convex-xray.toml").write_text("[cost]\ntable = 50000\n")
    document = run(capsys, "check", str(project), "--format", "json", *select)
    got = sorted((d["path"].rsplit("convex/", 1)[1], d["role"], d["severity"]) for d in document["diagnostics"])
    assert got == [("posts.test.ts", "test", "info"), ("posts.ts", "production", "warning"), ("scripts/count.ts", "script", "warning")]
    assert document["summary"]["by_role"] == {"production": 1, "test": 1, "script": 1}
    sarif = run(capsys, "check", str(project), "--format", "sarif", *select)
    roles = sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1], r["properties"]["role"]) for r in sarif["runs"][0]["results"])
    assert roles == [("count.ts", "script"), ("posts.test.ts", "test"), ("posts.ts", "production")]


def test_roles_config_from_the_file(tmp_path, capsys):
    project = write_project(tmp_path, {"posts.ts": COLLECT, "ops/count.ts": COLLECT})
    (project / "convex-xray.toml").write_text('[roles]\nscript = ["ops/**"]\ntest = ["posts.ts"]\n')
    document = run(capsys, "check", str(project), "--format", "json", "--select", "full-table-scan", "--no-cache")
    got = sorted((d["path"].rsplit("convex/", 1)[1], d["role"]) for d in document["diagnostics"])
    assert got == [("ops/count.ts", "script"), ("posts.ts", "test")]
    (project / "convex-xray.toml").write_text('[roles]\nscripts = ["ops/**"]\n')
    assert main(["check", str(project), "--format", "json", "--no-cache"]) == 2
    assert "roles.scripts: unknown role (did you mean 'script'?)" in capsys.readouterr().err
