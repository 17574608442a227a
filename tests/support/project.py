"""Projects for tests: write a Convex app from snippets, build its workspace, check it, fix it,
and read the inline `// expect: <rule>` annotations of fixture files."""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from pathlib import Path

from convex_xray.engine.config import Config
from convex_xray.engine.runner import run_check
from convex_xray.engine.workspace import Workspace, discover_roots

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXAMPLE_APP = Path(__file__).resolve().parents[2] / "examples" / "club-hub"
EXPECT = re.compile(r"//\s*expect:\s*(?P<rules>[a-z0-9,\s\-x*]+?)\s*(?:--.*)?$")

DEFAULT_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({ name: v.string(), orgId: v.id("orgs"), email: v.string() })
    .index("by_orgId", ["orgId"])
    .index("by_email", ["email"]),
  orgs: defineTable({ name: v.string() }),
  posts: defineTable({ authorId: v.id("users"), orgId: v.id("orgs"), status: v.string(), createdAt: v.number() })
    .index("by_authorId", ["authorId"])
    .index("by_orgId_and_status", ["orgId", "status"]),
  comments: defineTable({ postId: v.id("posts"), authorId: v.id("users"), body: v.string() })
    .index("by_postId", ["postId"]),
});
"""

# The same app where an author's posts and a post's comments are kept in time order
# (`[parent, createdAt]`): feeds that keep growing per parent, so reading all of one to keep
# a few or to count it is a warning in a query (over a parent's few children it is info).
FEED_SCHEMA = DEFAULT_SCHEMA.replace(
    '.index("by_authorId", ["authorId"])', '.index("by_authorId", ["authorId", "createdAt"])'
).replace(
    'body: v.string() })\n    .index("by_postId", ["postId"])',
    'body: v.string(), createdAt: v.number() })\n    .index("by_postId", ["postId", "createdAt"])',
)


def write_project(root: Path, files: dict[str, str], schema: str | None = DEFAULT_SCHEMA) -> Path:
    """Write a Convex project under `root` (`convex/...`) and return the project dir."""
    convex = root / "convex"
    convex.mkdir(parents=True, exist_ok=True)
    if schema is not None:
        (convex / "schema.ts").write_text(textwrap.dedent(schema), encoding="utf-8")
    for name, text in files.items():
        path = convex / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def workspace_for(project: Path, config: Config | None = None) -> Workspace:
    from convex_xray.engine.analysis.options import AnalysisOptions

    config = config or Config()
    return Workspace(discover_roots(project), options=AnalysisOptions(dict(config.builders)), base=project)


def check_project(project: Path, select: list[str] | None = None, config: Config | None = None):
    config = config or Config()
    workspace = workspace_for(project, config)
    return workspace, run_check(workspace, config, select=select or [])


def expectations(directory: Path, rule: str) -> Counter[tuple[str, int]]:
    """(relative path, 1-based line) of every `// expect: <rule>` annotation (`rule x2` counts twice)."""
    expected: Counter[tuple[str, int]] = Counter()
    for path in sorted(directory.rglob("*.ts")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = EXPECT.search(line)
            if not match:
                continue
            for item in match.group("rules").split(","):
                item = item.strip()
                count = 1
                if " x" in item:
                    item, times = item.rsplit(" x", 1)
                    count = int(times)
                if item == rule:
                    expected[(path.relative_to(directory).as_posix(), number)] += count
    return expected


def reported(directory: Path, findings, workspace) -> Counter[tuple[str, int]]:
    got: Counter[tuple[str, int]] = Counter()
    for finding in findings:
        source = workspace.source(finding.path)
        line = source.lines.line_of(finding.span.start) + 1
        got[(finding.path.relative_to(directory.resolve()).as_posix(), line)] += 1
    return got


def run_fix(project: Path, select: list[str], *, unsafe: bool = False) -> int:
    """`convex-xray check --fix` in-process over `project`; returns the exit code."""
    from convex_xray.cli.main import main

    argv = ["check", str(project), "--fix", "--exit-zero", "--quiet", "--select", ",".join(select)]
    if unsafe:
        argv.append("--unsafe-fixes")
    return main(argv)


def error_nodes(path: Path) -> int:
    from convex_xray.engine.source import SourceFile

    return SourceFile.read(path).error_count()
