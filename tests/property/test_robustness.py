"""Bad input never crashes, hangs or loses text; incremental analysis equals a fresh one;
checking runs no subprocess and opens no socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convex_xray.engine.config import Config
from convex_xray.engine.runner import run_check
from convex_xray.engine.source import SourceFile, TextChange, apply_changes
from convex_xray.engine.workspace import Workspace, discover_roots
from tests.support.project import EXAMPLE_APP, FIXTURES, check_project, write_project

REALISTIC = (FIXTURES / "n-plus-one-read" / "convex" / "posts.ts").read_text(encoding="utf-8")


def _findings_key(workspace: Workspace, result) -> list[tuple]:
    return [(f.rule, str(f.path.name), f.span.start, f.span.end, f.message, f.severity) for f in result.findings]


def _check_text(tmp_path: Path, name: str, text: str | bytes):
    project = write_project(tmp_path / "app", {})
    path = project / "convex" / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    workspace, result = check_project(project)
    assert not result.failures, result.failures
    return workspace, result, path


@pytest.mark.parametrize("step", [1, 11, 31])
def test_every_prefix_of_a_realistic_file_checks_cleanly(tmp_path, step):
    """Half-typed code at every prefix (sampled with a stride): no exception, positions in range."""
    project = write_project(tmp_path / "app", {})
    path = project / "convex" / "posts.ts"
    roots = discover_roots(project)
    workspace = Workspace(roots)
    config = Config()
    limit = len(REALISTIC) if step > 1 else 1500  # every single prefix of the first 1500 chars
    for end in range(0, limit, step):
        text = REALISTIC[:end]
        source = SourceFile(path, text)
        workspace.set_source(source)
        result = run_check(workspace, config, paths=[path])
        assert not result.failures, (end, result.failures)
        for finding in result.findings:
            assert 0 <= finding.span.start <= finding.span.end <= len(source.data)


@pytest.mark.parametrize(
    "text",
    [
        'export const q = query({ handler: async (ctx) => { const s = "unterminated',
        "export const q = query({ handler: async (ctx) => { const s = `tmpl ${ctx.db.get(",
        "export const q = query({ handler: async (ctx) => { for (const x of xs) { await ctx.db.get(x.id",
        "/* unterminated comment",
        "}}}}}}]]]]))))",
        "",
        "\n\n\n",
        "\ufeffexport const a = 1;",  # BOM
        "export const q = query({ handler: async (ctx) => { for (const x of xs) { await ctx.db.get(x.id) } } });\r\n" * 3,
        "const 😀 = 1; export const q = query({ handler: async (ctx) => { for (const x of xs) { await ctx.db.get(x.id) /* ✓ 日本 */ } } });",
    ],
    ids=["string", "template", "call", "comment", "brackets", "empty", "blank", "bom", "crlf", "emoji"],
)
def test_broken_and_odd_text_is_checked_without_errors(tmp_path, text):
    _, result, path = _check_text(tmp_path, "odd.ts", text)
    data = path.read_bytes()
    for finding in result.findings:
        if finding.path == path:
            assert 0 <= finding.span.start <= finding.span.end <= len(data)


def test_binary_and_non_utf8_files_get_a_clear_message(tmp_path):
    project = write_project(tmp_path / "app", {"ok.ts": "export const a = 1;\n"})
    (project / "convex" / "latin1.ts").write_bytes("const s = 'caf\xe9';\n".encode("latin-1"))
    (project / "convex" / "blob.ts").write_bytes(bytes(range(256)) * 4)
    _, result = check_project(project)
    assert not result.failures
    messages = {p.path.name: p.message for p in result.problems}
    assert "not UTF-8" in messages["latin1.ts"]
    assert "skipped" in messages["blob.ts"]


def test_huge_minified_file_is_skipped_with_a_message(tmp_path):
    line = "export const q=query({handler:async(ctx)=>{for(const x of xs){await ctx.db.get(x.a)}}});"
    big = line * (10_000_000 // len(line) + 1)  # ~10 MB on one line
    _, result, path = _check_text(tmp_path, "bundle.min.ts", big)
    assert any(p.path == path and "skipped" in p.message for p in result.problems)


@pytest.mark.parametrize("shape", ["parens", "calls", "arrays", "members"])
def test_ten_thousand_levels_of_nesting_finish(tmp_path, shape):
    n = 10_000
    inner = "await ctx.db.get(x.id)"
    body = {
        "parens": "(" * n + inner + ")" * n,
        "calls": "f(" * n + inner + ")" * n,
        "arrays": "[" * n + inner + "]" * n,
        "members": "a" + ".b" * n,
    }[shape]
    text = f"export const h = query({{ handler: async (ctx) => {{ for (const x of xs) {{ const y = {body}; }} }} }});\n"
    _, result, path = _check_text(tmp_path, "deep.ts", text)
    # Either analysed (then the read in the loop is found) or skipped with a message.
    found = [f for f in result.findings if f.rule == "n-plus-one-read"]
    skipped = [p for p in result.problems if p.path == path]
    assert found or skipped or shape == "members"


def test_circular_helper_imports_terminate(tmp_path):
    project = write_project(
        tmp_path / "app",
        {
            "a.ts": """
                import { b } from "./b";
                export async function a(ctx: QueryCtx, n: number): Promise<unknown> {
                  await ctx.db.get(n as any);
                  return b(ctx, n - 1);
                }
            """,
            "b.ts": """
                import { a } from "./a";
                export async function b(ctx: QueryCtx, n: number): Promise<unknown> {
                  return a(ctx, n - 1);
                }
            """,
            "use.ts": """
                import { query } from "./_generated/server";
                import { b } from "./b";
                export const q = query({ args: {}, handler: async (ctx) => {
                  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
                    await b(ctx, n);
                  }
                }});
            """,
        },
    )
    _, result = check_project(project)
    assert not result.failures
    assert [f.rule for f in result.findings if f.path.name == "use.ts"] == ["n-plus-one-read"]


def test_symlink_loops_terminate(tmp_path):
    project = write_project(tmp_path / "app", {"x.ts": "export const a = 1;\n"})
    (project / "convex" / "loop").symlink_to(project / "convex", target_is_directory=True)
    (project / "convex" / "self.ts").symlink_to(project / "convex" / "self.ts")
    _, result = check_project(project)
    assert not result.failures


@pytest.mark.parametrize(
    "schema",
    [
        "export default defineSchema({ users: defineTable({ name: v.string() }).index(",  # syntax error
        "export default defineSchema(Object.fromEntries(names.map((n) => [n, defineTable({})])));",  # dynamic
        "export default 42;",  # no defineSchema
        None,  # missing
    ],
    ids=["syntax-error", "dynamic", "no-define-schema", "missing"],
)
def test_broken_or_missing_schema_makes_schema_rules_silent(tmp_path, schema):
    files = {
        "q.ts": """
            import { query } from "./_generated/server";
            export const q = query({ args: {}, handler: async (ctx) => {
              return await ctx.db.query("users").withIndex("by_nothing").take(5);
            }});
        """
    }
    project = write_project(tmp_path / "app", files, schema=schema)
    _, result = check_project(project)
    assert not result.failures
    assert [f for f in result.findings if f.rule in ("unknown-index", "index-range-order")] == []


# -- differential: incremental edits == a fresh parse -----------------------------------------

SNIPPETS = [
    "await ctx.db.get(x.id);",
    "for (const y of ys) { await ctx.db.get(y.a) }",
    ".collect()",
    ".withIndex(\"by_orgId\", (q) => q.eq(\"orgId\", o))",
    "Promise.all(xs.map(async (x) => ctx.db.get(x)))",
    "😀",
    "日本語",
    "\r\n",
    "\n",
    "{",
    "}",
    "(",
    "'",
    "`${",
    "// comment\n",
]


@st.composite
def edits(draw, text: str):
    sequence = []
    length = len(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, length))
        end = draw(st.integers(start, min(length, start + 40)))
        new = draw(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=8)))
        sequence.append((start, end, new))
        length = length - (end - start) + len(new.encode("utf-8"))
    return sequence


def _snap(data: bytes, offset: int) -> int:
    """Move an offset back to a UTF-8 character boundary."""
    while 0 < offset < len(data) and (data[offset] & 0xC0) == 0x80:
        offset -= 1
    return offset


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_incremental_edits_give_the_diagnostics_of_a_fresh_parse(tmp_path, data):
    project = write_project(tmp_path / "fuzz", {})
    path = project / "convex" / "posts.ts"
    roots = discover_roots(project)
    config = Config()
    incremental = Workspace(roots)
    source = SourceFile(path, REALISTIC)
    for start, end, new in data.draw(edits(REALISTIC)):
        start = _snap(source.data, min(start, len(source.data)))
        end = _snap(source.data, min(max(end, start), len(source.data)))
        source = apply_changes(source, [TextChange(start, end, new)])
    incremental.set_source(source)
    fresh = Workspace(roots)
    fresh.set_source(SourceFile(path, source.text))
    a = run_check(incremental, config, paths=[path])
    b = run_check(fresh, config, paths=[path])
    assert not a.failures and not b.failures
    assert _findings_key(incremental, a) == _findings_key(fresh, b)
    for finding in a.findings:
        assert 0 <= finding.span.start <= finding.span.end <= len(source.data)


# -- security: no subprocess, no socket ---------------------------------------------------

AUDIT = textwrap.dedent(
    """
    import sys
    FORBIDDEN = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                 "os.fork", "socket.connect", "socket.bind", "socket.__new__", "ctypes.dlopen")
    def hook(event, args):
        if event.startswith(FORBIDDEN):
            raise RuntimeError(f"forbidden while checking: {event} {args!r}"[:300])
    from convex_xray.cli.main import main
    sys.addaudithook(hook)
    raise SystemExit(main(sys.argv[1:]))
    """
)


def test_checking_runs_no_subprocess_and_opens_no_socket(tmp_path):
    if not EXAMPLE_APP.exists():
        pytest.skip("example app missing")
    report = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, "-c", AUDIT, "check", str(EXAMPLE_APP), "--format", "json", "--exit-zero", "-o", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(report.read_text())["summary"]["diagnostics"] > 0


# -- fix safety under fire --------------------------------------------------------------------


def _error_count(path: Path, data: bytes) -> int:
    from convex_xray.engine.source import SourceFile

    return SourceFile(path, data.decode("utf-8", errors="replace"), data=data).error_count()


def test_every_fix_over_a_generated_workspace_keeps_it_parsing_and_converges(tmp_path):
    """`check --fix --unsafe-fixes` over the benchmark generator's 30-file workspace: no file
    gains a syntax error, and a second run changes nothing."""
    from convex_xray.cli.main import main

    generator = Path(__file__).resolve().parents[2] / "benchmarks" / "generate.py"
    workspace = tmp_path / "ws"
    subprocess.run([sys.executable, str(generator), "--files", "30", "--out", str(workspace), "--quiet"], check=True, timeout=120)
    files = sorted((workspace / "convex").rglob("*.ts"))
    before = {p: p.read_bytes() for p in files}
    assert all(_error_count(p, data) == 0 for p, data in before.items())
    argv = ["check", str(workspace), "--fix", "--unsafe-fixes", "--no-cache", "--exit-zero", "--quiet"]
    assert main(argv) == 0
    after = {p: p.read_bytes() for p in files}
    assert after != before, "the generated workspace has fixable problems"
    for path, data in after.items():
        assert _error_count(path, data) == 0, f"{path} gained a syntax error"
    assert main(argv) == 0
    assert {p: p.read_bytes() for p in files} == after, "a second --fix changed something"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_fix_on_fuzzed_code_adds_a_syntax_error_or_overlaps_itself(tmp_path, data):
    from convex_xray.engine.fixes import apply_edits

    project = write_project(tmp_path / "fuzzfix", {})
    path = project / "convex" / "posts.ts"
    source = SourceFile(path, REALISTIC)
    for start, end, new in data.draw(edits(REALISTIC)):
        start = _snap(source.data, min(start, len(source.data)))
        end = _snap(source.data, min(max(end, start), len(source.data)))
        source = apply_changes(source, [TextChange(start, end, new)])
    path.write_bytes(source.data)
    workspace = Workspace(discover_roots(project))
    result = run_check(workspace, Config(), paths=[path])
    assert not result.failures
    baseline = _error_count(path, source.data)
    for finding in result.findings:
        for fix in [finding.fix, *finding.alternatives]:
            if fix is None or not fix.edits:
                continue
            mine = [e for e in fix.edits if e.path == path]
            fixed = apply_edits(source.data, mine)  # raises on overlapping edits
            assert _error_count(path, fixed) <= baseline, (finding.rule, fix.title)


def test_imports_that_leave_the_workspace_are_not_followed(tmp_path):
    """A helper imported from outside the project (`../../../elsewhere`) is never read."""
    secret = tmp_path / "elsewhere" / "helper.ts"
    secret.parent.mkdir(parents=True)
    secret.write_text("export async function load(ctx: QueryCtx, id: any) { return await ctx.db.get(id); }\n")
    project = write_project(
        tmp_path / "repo" / "app",
        {
            "q.ts": """
                import { query } from "./_generated/server";
                import { load } from "../../../elsewhere/helper";
                export const q = query({ args: {}, handler: async (ctx) => {
                  const rows = await ctx.db.query("posts").take(10);
                  for (const row of rows) { await load(ctx, row.authorId); }
                }});
            """
        },
    )
    workspace, result = check_project(project)
    assert not result.failures
    assert secret not in {p for p in workspace._entries}  # never opened
    assert [f for f in result.findings if f.rule == "n-plus-one-read"] == []
