"""The command line, in process (`main([...])`) and once as a real subprocess: exit codes,
flags, the text shape, the JSON contract (docs/json-output.md), fixes and diffs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from convex_xray import __version__
from convex_xray.cli.main import main
from convex_xray.engine.registry import all_rules
from tests.support.project import EXAMPLE_APP, FEED_SCHEMA, write_project

SLUGS = {r.meta.slug: r.meta.code for r in all_rules()}

# Line 6 has characters outside ASCII (a CJK identifier and an emoji) before the finding, so a
# code-point column differs from both a byte and a UTF-16 column there.
POSTS = """\
import { query } from "./_generated/server";

export const recent = query({
  args: {},
  handler: async (ctx, args) => {
    const tag = "🏉"; const 最近 = (await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.a)).collect()).slice(0, 5);
    const n = (await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.p)).collect()).length;
    const bad = await ctx.db.query("posts").withIndex("zzz_qqq_www").first();
    return [tag, 最近, n, bad];
  },
});
"""
NON_ASCII_LINE = 6

# The rules these tests count on; others (the catalogue grows) are selected away.
SELECT = ("--select", "unbounded-collect,unknown-index")

CLEAN_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({
  posts: defineTable({ authorId: v.string() }).index("by_authorId", ["authorId"]),
});
"""

CLEAN = """\
import { query } from "./_generated/server";

export const one = query({
  args: {},
  handler: async (ctx, args) => await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.a)).first(),
});
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_project(tmp_path / "app", {"posts.ts": POSTS}, schema=FEED_SCHEMA)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write_project(tmp_path / "clean", {"one.ts": CLEAN}, schema=CLEAN_SCHEMA)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code, out, _ = run(capsys, *argv, "--format", "json")
    return code, json.loads(out)


# -- the JSON contract ---------------------------------------------------------------------------

SEVERITIES = {"error", "warning", "info", "hint"}
DIAGNOSTIC_KEYS = {
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "rule",
    "code",
    "severity",
    "role",
    "message",
    "related",
    "fix",
    "cost",
}
EDIT_KEYS = {"path", "line", "column", "end_line", "end_column", "new_text"}


def assert_position(item: dict, *, end: bool = True) -> None:
    assert Path(item["path"]).is_absolute()
    assert isinstance(item["line"], int) and item["line"] >= 1
    assert isinstance(item["column"], int) and item["column"] >= 1
    if end:
        assert (item["end_line"], item["end_column"]) >= (item["line"], item["column"])


def assert_contract(document: dict, *, fixing: bool = False) -> None:
    """Everything docs/json-output.md promises."""
    assert {"version", "summary", "diagnostics"} <= set(document)
    assert document["version"] == 1
    summary = document["summary"]
    expected_summary = {"files", "diagnostics", "by_rule", "by_severity", "elapsed_ms", "roots"} | (
        {"fixed"} if fixing else set()
    )
    assert expected_summary <= set(summary)
    assert ("fixed" in summary) == fixing
    diagnostics = document["diagnostics"]
    assert summary["diagnostics"] == len(diagnostics)
    assert isinstance(summary["files"], int) and summary["files"] >= 1
    assert isinstance(summary["elapsed_ms"], (int, float)) and summary["elapsed_ms"] >= 0
    assert sum(summary["by_rule"].values()) == len(diagnostics)
    assert set(summary["by_severity"]) == SEVERITIES
    assert set(summary["by_role"]) == {"production", "test", "script"}
    assert sum(summary["by_role"].values()) == len(diagnostics)
    for root in summary["roots"]:
        assert set(root) == {"path", "kind", "files", "reason"}
        assert Path(root["path"]).is_absolute() and root["kind"] in {"app", "component"}
        assert isinstance(root["files"], int) and root["reason"]
    assert sum(summary["by_severity"].values()) == len(diagnostics)
    for diagnostic in diagnostics:
        assert set(diagnostic) == DIAGNOSTIC_KEYS
        assert_position(diagnostic)
        assert SLUGS[diagnostic["rule"]] == diagnostic["code"]
        assert diagnostic["severity"] in SEVERITIES
        assert diagnostic["role"] in {"production", "test", "script"}
        assert isinstance(diagnostic["message"], str) and diagnostic["message"].strip()
        for related in diagnostic["related"]:
            assert set(related) == {"path", "line", "column", "message"}
            assert_position(related, end=False)
            assert related["message"]
        fix = diagnostic["fix"]
        if fix is not None:
            assert set(fix) == {"title", "applicability", "edits"}
            assert fix["title"] and fix["applicability"] in {"safe", "unsafe"}
            assert fix["edits"]
            for edit in fix["edits"]:
                assert set(edit) == EDIT_KEYS
                assert_position(edit)
                assert isinstance(edit["new_text"], str)


def test_json_contract(app, capsys):
    code, document = run_json(capsys, "check", str(app), *SELECT)
    assert code == 1
    assert_contract(document)
    assert document["summary"]["files"] == 2  # posts.ts and schema.ts
    rules = [d["rule"] for d in document["diagnostics"]]
    assert rules.count("unbounded-collect") == 2 and "unknown-index" in rules
    assert document["summary"]["by_rule"]["unbounded-collect"] == 2
    assert document["summary"]["by_severity"]["error"] == rules.count("unknown-index")


def test_json_and_text_name_the_roots_checked(tmp_path, capsys):
    project = write_project(tmp_path / "mono", {"posts.ts": POSTS})
    write_project(project / "template", {"a.ts": CLEAN, "b.ts": CLEAN}, schema=CLEAN_SCHEMA)
    (project / "template" / "convex" / "auth").mkdir()
    (project / "template" / "convex" / "auth" / "convex.config.ts").write_text('export default defineComponent("auth");\n')
    (project / "template" / "convex" / "auth" / "x.ts").write_text(CLEAN)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        _, document = run_json(capsys, "check", *SELECT)
        _, text, _ = run(capsys, "check", *SELECT, "--output-format", "full")
    finally:
        os.chdir(cwd)
    assert_contract(document)
    roots = [(Path(r["path"]).relative_to(project.resolve()).as_posix(), r["kind"], r["files"]) for r in document["summary"]["roots"]]
    assert roots == [("convex", "app", 2), ("template/convex", "app", 3), ("template/convex/auth", "component", 2)]
    assert sum(r[2] for r in roots) == document["summary"]["files"]
    assert text.startswith("Checked 7 files in 3 roots;")
    assert "\n  convex/  app, 2 files (convex/ in the folder checked)\n" in text
    assert "template/convex/auth/  component, 2 files" in text


def test_json_positions_are_one_based_code_points(app, capsys):
    _, document = run_json(capsys, "check", str(app), "--select", "unbounded-collect")
    line_text = POSTS.splitlines()[NON_ASCII_LINE - 1]
    sliced = next(d for d in document["diagnostics"] if d["line"] == NON_ASCII_LINE)
    assert sliced["path"] == str((app / "convex" / "posts.ts").resolve())
    assert sliced["column"] == line_text.index("collect()") + 1  # code points, 1-based
    assert sliced["end_column"] == line_text.index("collect()") + len("collect()") + 1
    assert sliced["end_line"] == NON_ASCII_LINE
    # not bytes, not UTF-16 units
    prefix = line_text[: line_text.index("collect()")]
    assert sliced["column"] != len(prefix.encode("utf-8")) + 1
    assert sliced["column"] != len(prefix.encode("utf-16-le")) // 2 + 1
    [related] = sliced["related"]
    # the `.slice(0, 5)` call, which starts at its receiver `(await ...`
    assert (related["line"], related["column"]) == (NON_ASCII_LINE, line_text.index("(await") + 1)
    assert "first items of the result" in related["message"]
    fix = sliced["fix"]
    assert fix["applicability"] == "safe" and "take(5)" in fix["title"]
    [edit] = fix["edits"]
    assert (edit["line"], edit["column"]) == (NON_ASCII_LINE, line_text.index("(await") + 1)
    assert (edit["end_line"], edit["end_column"]) == (
        NON_ASCII_LINE,
        line_text.index(";", line_text.index("slice")) + 1,
    )
    assert edit["new_text"].startswith("await ctx.db") and edit["new_text"].endswith(".take(5)")
    counted = next(d for d in document["diagnostics"] if d["line"] == NON_ASCII_LINE + 1)
    assert counted["fix"] is None  # counting: the message says "keep a counter", no edit


def test_json_null_fix(app, capsys):
    _, document = run_json(capsys, "check", str(app), "--select", "unknown-index")
    [diagnostic] = document["diagnostics"]
    assert diagnostic["fix"] is None and diagnostic["severity"] == "error"


def test_json_lines(app, capsys):
    code, out, _ = run(capsys, "check", str(app), "--format", "json-lines", *SELECT)
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert set(json.loads(line)) == DIAGNOSTIC_KEYS


def test_clean_json(clean, capsys):
    code, document = run_json(capsys, "check", str(clean))
    assert code == 0
    assert document["diagnostics"] == [] and document["summary"]["diagnostics"] == 0
    assert document["summary"]["by_rule"] == {}


# -- exit codes and flags -----------------------------------------------------------------------------


def test_exit_codes(app, clean, tmp_path, capsys):
    assert run(capsys, "check", str(clean))[0] == 0
    assert run(capsys, "check", str(app))[0] == 1
    assert run(capsys, "check", str(app), "--exit-zero")[0] == 0
    code, _, err = run(capsys, "check", str(tmp_path / "nope"))
    assert code == 2 and "no such file or directory" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "check", str(tmp_path / "empty"))
    assert code == 2 and "no Convex functions directory" in err
    assert run(capsys)[0] == 2  # no command: help, exit 2


def test_fail_on(app, capsys):
    warnings_only = ["--select", "unbounded-collect"]
    assert run(capsys, "check", str(app), *warnings_only, "--fail-on", "error")[0] == 0
    assert run(capsys, "check", str(app), *warnings_only, "--fail-on", "warning")[0] == 1
    assert run(capsys, "check", str(app), "--fail-on", "error")[0] == 1  # unknown-index is an error
    with pytest.raises(SystemExit) as caught:
        main(["check", str(app), "--fail-on", "fatal"])
    assert caught.value.code == 2


def test_select_and_ignore(app, capsys):
    _, document = run_json(capsys, "check", str(app), "--select", "unknown-index")
    assert {d["rule"] for d in document["diagnostics"]} == {"unknown-index"}
    _, document = run_json(
        capsys, "check", str(app), "--select", SLUGS["unbounded-collect"]
    )  # by code
    assert {d["rule"] for d in document["diagnostics"]} == {"unbounded-collect"}
    _, document = run_json(capsys, "check", str(app), "--ignore", "unbounded-collect,unknown-index")
    assert not {"unbounded-collect", "unknown-index"} & {d["rule"] for d in document["diagnostics"]}
    _, everything = run_json(capsys, "check", str(app))
    assert len(everything["diagnostics"]) == len(document["diagnostics"]) + 3
    for flag in ("--select", "--ignore"):
        code, _, err = run(capsys, "check", str(app), flag, "unbounded-collect,no-such-rule")
        assert code == 2
        assert "unknown rule 'no-such-rule'" in err


def test_bad_format_is_a_usage_error(app):
    with pytest.raises(SystemExit) as caught:
        main(["check", str(app), "--format", "yaml"])
    assert caught.value.code == 2


# -- text output --------------------------------------------------------------------------------------------

HEAD = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning|info|hint) (?P<code>CX\d{3}) \[(?P<slug>[a-z-]+)\] (?P<message>\S.*)$"
)


def test_text_shape(app, capsys, monkeypatch):
    monkeypatch.chdir(app)
    code, out, _ = run(capsys, "check", ".", "--select", "unbounded-collect", "--output-format", "full")
    assert code == 1
    assert "\033[" not in out  # no colour when not a TTY
    lines = out.splitlines()
    heads = [(i, HEAD.match(line)) for i, line in enumerate(lines) if HEAD.match(line)]
    assert len(heads) == 2
    index, head = heads[0]
    assert head["path"] == "convex/posts.ts"  # relative to the cwd
    assert int(head["line"]) == NON_ASCII_LINE
    line_text = POSTS.splitlines()[NON_ASCII_LINE - 1]
    assert int(head["col"]) == line_text.index("collect()") + 1
    assert (head["code"], head["slug"]) == (SLUGS["unbounded-collect"], "unbounded-collect")
    assert lines[index + 1] == f"  {NON_ASCII_LINE:>5} | {line_text}"
    caret = lines[index + 2]
    assert caret.startswith("        | ")
    marker = caret[len("        | ") :]
    # the caret sits under `collect` on a terminal: CJK and emoji take two cells each
    prefix = line_text[: line_text.index("collect()")]
    wide = sum(1 for ch in prefix if ch in "最近🏉")
    assert marker == " " * (len(prefix) + wide) + "^" + "~" * (len("collect()") - 1)
    assert any(line.startswith("        help: ") and "safe fix" in line for line in lines)
    assert any(line.startswith("        = convex/posts.ts:") for line in lines)
    assert re.search(r"^Found 2 problems \(2 warnings\) in 2 files \(\d+\.\d\ds\)\.$", out, re.M)
    assert re.search(r"^1 fixable with `--fix`; `--diff` previews the changes\.$", out, re.M)


def test_quiet_prints_only_the_summary(app, capsys):
    code, out, _ = run(capsys, "check", str(app), "--quiet", *SELECT)
    assert code == 1
    assert not any(HEAD.match(line) for line in out.splitlines())
    assert out.strip().startswith("Found 3 problems (1 error, 2 warnings) in 2 files")


def test_statistics(app, capsys):
    _, out, _ = run(capsys, "check", str(app), "--statistics", *SELECT)
    lines = out.strip().splitlines()
    assert lines[0].split() == ["count", "code", "rule", "error", "warning", "info", "hint", "fixable"]
    rows = {fields[2]: [int(n) for n in fields[3:]] for fields in (line.split() for line in lines[1:-1])}
    # rule: count, then per tier (error, warning, info, hint), then fixable
    assert rows == {"unbounded-collect": [0, 2, 0, 0, 1], "unknown-index": [1, 0, 0, 0, 0]}
    assert lines[-1].split() == ["3", "total", "1", "2", "0", "0", "1"]
    assert "Found" not in out and "posts.ts" not in out  # only the table


def test_problems_are_reported_not_raised(app, capsys):
    (app / "convex" / "latin1.ts").write_bytes("const s = 'café';".encode("latin-1"))
    code, out, err = run(capsys, "check", str(app))
    assert code == 1
    assert "latin1.ts: skipped:" in out and "not UTF-8" in out
    assert "Traceback" not in out + err
    _, document = run_json(capsys, "check", str(app))
    assert [Path(p["path"]).name for p in document["problems"]] == ["latin1.ts"]


# -- rules, explain, version -----------------------------------------------------------------------------


def test_rules_json(capsys):
    code, out, _ = run(capsys, "rules", "--format", "json")
    assert code == 0
    rules = json.loads(out)
    assert {r["slug"] for r in rules} == set(SLUGS)
    for rule in rules:
        assert set(rule) >= {"code", "slug", "severity", "summary", "fix", "scope", "url"}
        assert re.fullmatch(r"CX\d{3}", rule["code"])
        assert rule["severity"] in SEVERITIES
        assert rule["fix"] in {"never", "sometimes", "always"}
        assert rule["url"].endswith(f"{rule['slug']}.md")
        assert rule["summary"]
    assert len({r["code"] for r in rules}) == len(rules)
    assert {"unbounded-collect", "unknown-index", "better-auth-id-field"} <= {
        r["slug"] for r in rules
    }


def test_rules_text(capsys):
    code, out, _ = run(capsys, "rules")
    assert code == 0
    assert len(out.strip().splitlines()) == len(SLUGS)


@pytest.mark.parametrize("name", ["unbounded-collect", "CX201", "cx201"])
def test_explain(capsys, name):
    code, out, _ = run(capsys, "explain", name)
    assert code == 0
    assert out.startswith("# unbounded-collect (CX201)")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
        assert section in out


def test_explain_unknown(capsys):
    code, _, err = run(capsys, "explain", "no-such-rule")
    assert code == 2 and "unknown rule" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"convex-xray {__version__}"


# -- --fix and --diff ---------------------------------------------------------------------------------------


def test_fix_writes_atomically_and_converges(app, capsys):
    path = app / "convex" / "posts.ts"
    path.chmod(0o640)
    before = path.read_bytes()
    inode = path.stat().st_ino
    code, document = run_json(capsys, "check", str(app), "--fix")
    assert_contract(document, fixing=True)
    assert document["summary"]["fixed"] == 1
    after = path.read_bytes()
    assert after != before
    text = after.decode()
    assert (
        'const 最近 = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.a)).take(5);'
        in text
    )
    assert text.count("\n") == before.decode().count("\n")
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)  # permissions kept
    assert path.stat().st_ino != inode  # a new file renamed over the old one: never half-written
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "posts.ts",
        "schema.ts",
    ]  # no temp files left
    assert code == 1  # the other findings remain
    assert "unbounded-collect" in {d["rule"] for d in document["diagnostics"]}  # the counted one

    code, document = run_json(capsys, "check", str(app), "--fix")
    assert document["summary"]["fixed"] == 0
    assert path.read_bytes() == after  # a second run changes nothing


def test_fix_leaves_unsafe_fixes_alone_unless_asked(app, capsys):
    path = app / "convex" / "posts.ts"
    path.write_text(POSTS.replace(")).slice(0, 5);", ")).slice(0, limit);"))
    before = path.read_bytes()
    run(capsys, "check", str(app), "--fix")
    assert path.read_bytes() == before
    run(capsys, "check", str(app), "--fix", "--unsafe-fixes")
    assert b".take(limit)" in path.read_bytes()


def test_diff_writes_nothing(app, capsys):
    path = app / "convex" / "posts.ts"
    before = path.read_bytes()
    code, out, err = run(capsys, "check", str(app), "--diff")
    assert path.read_bytes() == before
    assert out.startswith("--- a/") and "\n+++ b/" in out
    assert "\n-    const tag" in out and "\n+    const tag" in out and ".take(5);" in out
    assert "Would fix 1 problem;" in err  # the report goes to stderr so stdout is a clean patch
    assert "Fixed" not in out + err  # nothing was written
    assert code == 1


def test_diff_with_json_keeps_stdout_parseable(app, capsys):
    _, out, err = run(capsys, "check", str(app), "--diff", "--format", "json")
    document = json.loads(out)
    assert_contract(document, fixing=True)
    assert err.startswith("--- a/")


# -- as a real process, and on the example app ------------------------------------------------------------------


def test_module_entry_point_as_a_subprocess(app):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.run(
        [sys.executable, "-m", "convex_xray", "check", str(app), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert process.returncode == 1, process.stderr
    assert_contract(json.loads(process.stdout))
    process = subprocess.run(
        [sys.executable, "-m", "convex_xray", "check", str(app), "--select", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        process.returncode == 2
        and "unknown rule" in process.stderr
        and "Traceback" not in process.stderr
    )


@pytest.mark.skipif(
    not (EXAMPLE_APP / "convex").is_dir(), reason="the example app has not landed yet"
)
def test_example_app_follows_the_contract(capsys):
    code, document = run_json(capsys, "check", str(EXAMPLE_APP))
    assert code == 1
    assert_contract(document)
    assert document["summary"]["files"] >= 10
    assert document["errors"] == [] and document["problems"] == []
    assert {"unbounded-collect", "unknown-index", "better-auth-id-field"} <= set(
        document["summary"]["by_rule"]
    )


def test_the_documented_example_follows_the_contract():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "json-output.md").read_text(encoding="utf-8")
    example = re.search(r"## Example\s+```json\n(.*?)```", doc, re.S)
    assert example is not None
    assert_contract(json.loads(example.group(1)))
    table = doc.split("### A diagnostic")[1].split("###")[0]
    documented = {
        name
        for row in re.findall(r"^\| ([^|]+) \|", table, re.M)
        for name in re.findall(r"`(\w+)`", row)
    }
    assert documented == DIAGNOSTIC_KEYS


def test_a_check_process_freezes_its_start_up_objects_and_an_in_process_caller_does_not(app, monkeypatch, capsys):
    """`convex-xray check` (argv from the command line) moves what start-up made out of the
    cyclic collector's way (`gc.freeze`); `main([...])` from a caller's process leaves its
    collector alone."""
    import gc

    gc.unfreeze()
    try:
        assert main(["check", str(app), "--format", "json", "--no-cache", "--exit-zero"]) == 0
        assert gc.get_freeze_count() == 0
        monkeypatch.setattr(sys, "argv", ["convex-xray", "check", str(app), "--format", "json", "--no-cache", "--exit-zero"])
        assert main() == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    capsys.readouterr()
