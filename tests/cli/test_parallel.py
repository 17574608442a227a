"""`check --jobs N`: worker processes give exactly the serial result, in the same order."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from convex_xray.cli import parallel
from convex_xray.cli.output.json_format import render_json
from convex_xray.engine import workspace as workspace_module
from convex_xray.engine.config import Config
from convex_xray.engine.model import FileModel
from convex_xray.engine.runner import run_check
from convex_xray.rules.support.index_usage import MERGED_USAGE
from tests.support.project import EXAMPLE_APP, workspace_for, write_project

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "generate.py"


def _json(workspace, result) -> str:
    result.elapsed_ms = 0.0
    return render_json(workspace, result)

def _record_analyses(monkeypatch) -> list[Path]:
    """The path of every file analysed (parsed and modelled) from now on, in order."""
    analysed: list[Path] = []
    real = workspace_module.analyze_file

    def recording(source, *args, **kwargs):
        analysed.append(source.path)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(workspace_module, "analyze_file", recording)
    return analysed


@pytest.fixture
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "ws"
    subprocess.run([sys.executable, str(GENERATOR), "--files", "30", "--out", str(out), "--quiet"], check=True, timeout=120)
    return out


@pytest.mark.parametrize("release", [True, False], ids=["workers-release-models", "workers-keep-models"])
@pytest.mark.parametrize("which", ["example", "generated"])
def test_parallel_equals_serial(which, release, generated, monkeypatch):
    project = EXAMPLE_APP if which == "example" else generated
    monkeypatch.setattr(parallel, "MIN_FILES_PER_JOB", 1)
    monkeypatch.setattr(parallel, "RELEASE_FROM_BYTES", 0 if release else 10**12)
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    parallel_ws = workspace_for(project, config)
    result = parallel.run_check_parallel(parallel_ws, config, paths=None, jobs=2)
    assert result is not None, "the parallel path was not taken"
    assert not result.failures
    assert _json(parallel_ws, result) == _json(serial_ws, serial)
    # The index-hygiene rules answered from the merged usage, not by re-reading everything.
    assert isinstance(parallel_ws.memo.get(MERGED_USAGE), parallel.MergedIndexUsage)


def test_small_workspaces_stay_serial():
    config = Config()
    workspace = workspace_for(EXAMPLE_APP, config)
    assert parallel.run_check_parallel(workspace, config, paths=None, jobs=2) is None
    assert parallel.run_check_parallel(workspace, config, paths=None, jobs=1) is None


@pytest.mark.parametrize("which", ["example", "generated"])
def test_summarised_serial_equals_serial(which, generated):
    project = EXAMPLE_APP if which == "example" else generated
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    lean_ws = workspace_for(project, config)
    result = parallel.run_check_summarised(lean_ws, config)
    assert not result.failures
    assert _json(lean_ws, result) == _json(serial_ws, serial)


def test_summarised_serial_keeps_no_model(monkeypatch):
    """The CLI's serial check keeps each file's findings and summaries, not its model (nor
    so its syntax tree): once the check returns, no model it built is referenced."""
    built: list[weakref.ref[FileModel]] = []
    analyze = workspace_module.analyze_file

    def recording(*args, **kwargs):
        model = analyze(*args, **kwargs)
        built.append(weakref.ref(model))
        return model

    monkeypatch.setattr(workspace_module, "analyze_file", recording)
    config = Config()
    workspace = workspace_for(EXAMPLE_APP, config)
    result = parallel.run_check_summarised(workspace, config)
    assert result.findings and len(built) >= len(workspace.files())
    gc.collect()
    alive = [ref().path.name for ref in built if ref() is not None]
    assert alive == []
    assert workspace.loaded() == []


def test_cli_serial_check_is_summarised(monkeypatch, capsys):
    """`check --jobs 1` takes the summarised path (not `run_check`, which keeps every model)."""
    from convex_xray.cli import main as cli_main

    taken: list[bool] = []
    summarised = parallel.run_check_summarised

    def spy(*args, **kwargs):
        taken.append(True)
        return summarised(*args, **kwargs)

    monkeypatch.setattr(parallel, "run_check_summarised", spy)
    monkeypatch.setattr(parallel, "RELEASE_FROM_BYTES", 0)  # the example app is small
    cli_main.main(
        ["check", str(EXAMPLE_APP), "--jobs", "1", "--no-cache", "--format", "json", "--exit-zero"]
    )
    assert taken == [True]


RENAME_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  votes: defineTable({ pollId: v.string(), userId: v.string() })
    .index("by_pollId", ["pollId"])
    .index("by_pollId_and_userId", ["pollId", "userId"]),
});
"""
RENAME_USES = {
    "polls.ts": """
        import { query } from "./_generated/server";
        import { v } from "convex/values";

        export const votes = query({
          args: { pollId: v.string() },
          handler: async (ctx, args) =>
            await ctx.db.query("votes").withIndex("by_pollId", (q) => q.eq("pollId", args.pollId)).take(10),
        });
    """,
    "tally.ts": """
        import { query } from "./_generated/server";
        import { v } from "convex/values";

        export const first = query({
          args: { pollId: v.string() },
          handler: async (ctx, args) =>
            await ctx.db.query('votes').withIndex('by_pollId', (q) => q.eq('pollId', args.pollId)).first(),
        });

        export const mine = query({
          args: { pollId: v.string(), userId: v.string() },
          handler: async (ctx, args) =>
            await ctx.db
              .query('votes')
              .withIndex('by_pollId_and_userId', (q) => q.eq('pollId', args.pollId).eq('userId', args.userId))
              .unique(),
        });
    """,
}


def test_summarised_rename_fix_reads_the_uses_back_without_models(tmp_path, monkeypatch):
    """redundant-index renames every query on the index; with the models released, the
    summarised check finds the name arguments again from the files' parse trees alone and
    builds the same fix (both quote styles) as the serial check."""
    project = write_project(tmp_path / "app", RENAME_USES, schema=RENAME_SCHEMA)
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    monkeypatch.setattr(parallel, "RELEASE_FROM_BYTES", 0)
    lean_ws = workspace_for(project, config)
    analysed = _record_analyses(monkeypatch)
    result = parallel.run_check_summarised(lean_ws, config)
    assert _json(lean_ws, result) == _json(serial_ws, serial)
    (finding,) = [f for f in result.findings if f.rule == "redundant-index"]
    assert finding.fix is not None
    assert sorted(e.new_text for e in finding.fix.edits if e.new_text) == ['"by_pollId_and_userId"', "'by_pollId_and_userId'"]
    # Each file analysed once, for its own check: none again for the rename.
    assert len(analysed) == len(set(analysed))


PLANNED_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  orders: defineTable({ shopId: v.string(), status: v.string(), total: v.number() })
    .index("by_shopId", ["shopId"]),
  notes: defineTable({ shopId: v.string(), pinned: v.boolean() })
    .index("by_shopId", ["shopId"]),
});
"""
PLANNED_USES = {
    # filter-on-query: the plan adds an `orders` index on shopId then status.
    "adds.ts": """
        import { query } from "./_generated/server";
        import { v } from "convex/values";

        export const open = query({
          args: { shopId: v.string() },
          handler: async (ctx, args) =>
            await ctx.db
              .query("orders")
              .withIndex("by_shopId", (q) => q.eq("shopId", args.shopId))
              .filter((q) => q.eq(q.field("status"), "open"))
              .collect(),
        });
    """,
    # unbounded-collect filters `orders` in JavaScript: its advice names the index the plan adds.
    "orders.ts": """
        import { query } from "./_generated/server";
        import { v } from "convex/values";

        export const openTotal = query({
          args: { shopId: v.string() },
          handler: async (ctx, args) => {
            const rows = await ctx.db
              .query("orders")
              .withIndex("by_shopId", (q) => q.eq("shopId", args.shopId))
              .collect();
            return rows.filter((row) => row.status === "open").length;
          },
        });
    """,
    # the same on `notes`, whose plan does not change: nothing to re-check there.
    "notes.ts": """
        import { query } from "./_generated/server";
        import { v } from "convex/values";

        export const pinned = query({
          args: { shopId: v.string() },
          handler: async (ctx, args) => {
            const rows = await ctx.db
              .query("notes")
              .withIndex("by_shopId", (q) => q.eq("shopId", args.shopId))
              .collect();
            return rows.filter((row) => row.pinned).length;
          },
        });
    """,
}


def test_summarised_check_rechecks_only_files_that_asked_about_a_changed_table(tmp_path, monkeypatch):
    """The shards check each file against an empty plan; the parent re-checks a file's plan
    rules only where a table its check asked the plan about gains or loses an index. Same
    findings as the serial check, with the advice on `orders` naming the added index."""
    project = write_project(tmp_path / "app", PLANNED_USES, schema=PLANNED_SCHEMA)
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    monkeypatch.setattr(parallel, "RELEASE_FROM_BYTES", 0)
    lean_ws = workspace_for(project, config)
    rechecked: list[str] = []
    real = parallel.check_file

    def recording(workspace, path, rules, *args, **kwargs):
        if all(r.meta.slug in parallel.PLAN_RULES for r in rules):
            rechecked.append(path.name)
        return real(workspace, path, rules, *args, **kwargs)

    monkeypatch.setattr(parallel, "check_file", recording)
    result = parallel.run_check_summarised(lean_ws, config)
    assert _json(lean_ws, result) == _json(serial_ws, serial)
    advice = [f.message for f in result.findings if f.rule == "unbounded-collect" and f.path.name == "orders.ts"]
    assert advice and "the index filter-on-query adds" in advice[0]
    assert sorted(rechecked) == ["adds.ts", "orders.ts"]


@pytest.mark.parametrize("retain", [True, False], ids=["retained", "released"])
def test_a_released_check_keeps_the_models_the_plan_recheck_needs_within_its_budget(tmp_path, monkeypatch, retain):
    """Within RETAIN_BYTES, the files whose facts the plan may change keep their models until
    the re-check, which then analyses nothing again; with no budget they are read back. The
    findings are the same either way, and no model outlives the check."""
    project = write_project(tmp_path / "app", PLANNED_USES, schema=PLANNED_SCHEMA)
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    monkeypatch.setattr(parallel, "RELEASE_FROM_BYTES", 0)
    monkeypatch.setattr(parallel, "RETAIN_BYTES", 10**6 if retain else 0)
    analysed = _record_analyses(monkeypatch)
    lean_ws = workspace_for(project, config)
    result = parallel.run_check_summarised(lean_ws, config)
    assert _json(lean_ws, result) == _json(serial_ws, serial)
    again = sorted({p.name for p in analysed if analysed.count(p) > 1})
    assert again == ([] if retain else ["adds.ts", "orders.ts"])
    assert lean_ws.loaded() == []


@pytest.mark.parametrize("release", [False, True], ids=["models-kept", "models-released"])
def test_a_worker_checks_each_file_once_against_the_whole_plan(tmp_path, monkeypatch, release):
    """Below RELEASE_FROM_BYTES a worker models its files and sends their facts first, then
    checks them once against the whole plan: no file is analysed twice and none re-checked
    (re-checking in the parent parsed and analysed most files of a 200-file app again). From
    RELEASE_FROM_BYTES it checks against the empty plan and re-checks, in the worker, the
    files the plan changes. Both give the serial findings."""
    project = write_project(tmp_path / "app", PLANNED_USES, schema=PLANNED_SCHEMA)
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    analysed = _record_analyses(monkeypatch)
    workspace = workspace_for(project, config)
    rules = [r for r in parallel.active_rules(config, (), ()) if r.meta.scope == "file"]
    worker = parallel._Worker(workspace, config, rules, release)
    paths = workspace.files()
    first = worker.first(paths)
    second = worker.second(paths, first, [first.usage], sorted(first.facts, key=lambda f: str(f.path)))
    findings = sorted(first.findings + second.findings, key=lambda f: (str(f.path), f.span.start, f.rule))
    for path, found in second.rechecked.items():
        findings = [f for f in findings if f.path != path or f.rule not in parallel.PLAN_RULES] + found
    plan_findings = sorted((f.path.name, f.rule, f.message) for f in findings if f.rule in parallel.PLAN_RULES)
    expected = sorted((f.path.name, f.rule, f.message) for f in serial.findings if f.rule in parallel.PLAN_RULES)
    assert plan_findings == expected
    again = sorted({p.name for p in analysed if analysed.count(p) > 1})
    if release:
        assert sorted(p.name for p in second.rechecked) == ["adds.ts", "orders.ts"]
        assert again == ["adds.ts", "orders.ts"]
    else:
        assert second.rechecked == {} and first.findings == []
        assert again == []


def test_merged_usage_lists_the_uses_in_the_serial_file_order(tmp_path):
    """The rename fix of redundant-index edits every query on the index in the order the
    serial check found them: files as `Workspace.files()` sorts them, by path component
    (`polls/list.ts` before `polls-tally.ts`, although `-` sorts before `/` as text)."""
    uses = {"polls/list.ts": RENAME_USES["polls.ts"].replace("./_generated", "../_generated"), "polls-tally.ts": RENAME_USES["tally.ts"]}
    project = write_project(tmp_path / "app", uses, schema=RENAME_SCHEMA)
    config = Config()
    serial_ws = workspace_for(project, config)
    serial = run_check(serial_ws, config)
    lean_ws = workspace_for(project, config)
    result = parallel.run_check_summarised(lean_ws, config)
    renames = [f for f in result.findings if f.rule == "redundant-index" and f.fix is not None]
    assert renames and [e.path.name for e in renames[0].fix.edits][1:] == ["list.ts", "polls-tally.ts"]
    assert _json(lean_ws, result) == _json(serial_ws, serial)
