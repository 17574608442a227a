"""Fixes are validated when they are built (engine/fixes.FixValidator, applied in the runner):
no fix in a function with a syntax error, and no fix whose edits add an ERROR or MISSING node.

The damaged shapes are the ones the fuzz test in tests/property/test_robustness.py found
(`--hypothesis-seed` 1, 21 and 37 before the validator existed)."""

from __future__ import annotations

from pathlib import Path

from convex_xray.engine.findings import Edit, Finding, Fix, Severity, Span
from convex_xray.engine.fixes import FixValidator, apply_edits
from convex_xray.engine.source import SourceFile
from tests.support.project import check_project, write_project

CLEAN_LOOP = """
export const clean = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, { orgId }) => {
    const posts = await ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", orgId)).take(20);
    const out = [];
    for (const post of posts) {
      const author = await ctx.db.get(post.authorId);
      out.push({ post, author });
    }
    return out;
  },
});
"""

HEADER = """
import { query } from "./_generated/server";
import { v } from "convex/values";
"""


def _check(tmp_path: Path, body: str):
    project = write_project(tmp_path / "app", {"posts.ts": HEADER + body})
    workspace, result = check_project(project)
    assert not result.failures, result.failures
    path = project / "convex" / "posts.ts"
    return workspace, result, path


def _fixes(finding: Finding) -> list[Fix]:
    return [f for f in [finding.fix, *finding.alternatives] if f is not None and f.edits]


def _assert_no_fix_adds_an_error(workspace, result, path: Path) -> None:
    source = workspace.source(path)
    assert source is not None
    baseline = source.error_count()
    for finding in result.findings:
        for fix in _fixes(finding):
            fixed = apply_edits(source.data, [e for e in fix.edits if e.path == path])
            after = SourceFile(path, fixed.decode("utf-8"), data=fixed).error_count()
            assert after <= baseline, (finding.rule, fix.title)


def test_a_clean_loop_offers_its_batch_fetch(tmp_path):
    _, result, _ = _check(tmp_path, CLEAN_LOOP)
    reads = [f for f in result.findings if f.rule == "n-plus-one-read"]
    assert reads and all(_fixes(f) for f in reads)


def test_no_fix_in_a_function_whose_loop_header_is_broken(tmp_path):
    """`for (const post of) {` (the issue's shape): the finding may stay, its fix may not;
    the intact function next to it keeps its fix."""
    broken = CLEAN_LOOP.replace("clean", "broken").replace("for (const post of posts)", "for (const post of)")
    workspace, result, path = _check(tmp_path, CLEAN_LOOP + broken)
    source = workspace.source(path)
    assert source is not None and source.error_count() > 0
    broken_start = source.data.index(b"export const broken")
    here = [f for f in result.findings if f.path == path]
    inside = [f for f in here if f.span.start >= broken_start]
    outside = [f for f in here if f.span.start < broken_start and f.rule == "n-plus-one-read"]
    assert inside  # the read in the broken loop is still reported
    assert outside and all(_fixes(f) for f in outside)
    assert all(not _fixes(f) for f in inside)
    _assert_no_fix_adds_an_error(workspace, result, path)


def test_no_batch_fetch_for_a_damaged_key_inside_promise_all(tmp_path):
    """Seed 1: `ctx.db.get("users", post:.authorId)` inside `Promise.all(posts.map(...))`."""
    body = """
export const damaged = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, { orgId }) => {
    const posts = await ctx.db.query("posts").withIndex("by_orgId_and_status", (q) => q.eq("orgId", orgId)).take(50);
    return await Promise.all(
      posts.map(async (post) => ({ ...post, author: await ctx.db.get("users", post:.authorId) })),
    );
  },
});
"""
    workspace, result, path = _check(tmp_path, body)
    assert all(not _fixes(f) for f in result.findings if f.rule == "n-plus-one-read")
    _assert_no_fix_adds_an_error(workspace, result, path)


def test_no_fix_after_an_unterminated_template_literal(tmp_path):
    """Seed 21: a template literal opened mid-file swallows the rest of it."""
    workspace, result, path = _check(tmp_path, "const label = `${\n" + CLEAN_LOOP)
    assert all(not _fixes(f) for f in result.findings if f.path == path)
    _assert_no_fix_adds_an_error(workspace, result, path)


def test_no_index_fix_in_a_damaged_query(tmp_path):
    """Seed 37: an unknown index's "use index" alternative in a function with a syntax error."""
    body = """
export const byAuthor = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, { authorId }) => {
    const x = { id: authorId };
    await ctx.db.get(x.id);
    return await ctx.db.query("posts").withIndex("by_author", (q) => q.eq("authorId", authorId)).take(5);
  },
});
"""
    workspace, result, path = _check(tmp_path, body)
    unknown = [f for f in result.findings if f.rule == "unknown-index"]
    assert unknown and all(_fixes(f) for f in unknown)  # the clean query is fixable
    damaged = body.replace("const x = { id: authorId };", "const x = { id: authorId ;")
    workspace, result, path = _check(tmp_path / "damaged", damaged)
    assert all(not _fixes(f) for f in result.findings if f.path == path)
    _assert_no_fix_adds_an_error(workspace, result, path)


# -- the validator on its own --------------------------------------------------------------------


def _finding(path: Path, fix: Fix, start: int = 0) -> Finding:
    return Finding("r", "CX000", Severity.WARNING, Span(path, start, start + 1), "m", fix=fix)


def test_the_validator_drops_a_fix_that_breaks_the_file_and_keeps_one_that_does_not(tmp_path):
    path = tmp_path / "a.ts"
    source = SourceFile(path, "const a = f(1);\nconst b = 2;\n")
    good = Fix.safe("rename", [Edit(path, 6, 7, "z")])
    bad = Fix.safe("break", [Edit(path, 12, 13, "(")])
    findings = [_finding(path, good), _finding(path, bad)]
    FixValidator({path: source}.get).filter(findings)
    assert findings[0].fix == good
    assert findings[1].fix is None


def test_a_multi_file_fix_is_dropped_whole_when_one_file_breaks(tmp_path):
    a, b = tmp_path / "a.ts", tmp_path / "b.ts"
    sources = {a: SourceFile(a, "const a = 1;\n"), b: SourceFile(b, "const b = 2;\n")}
    fix = Fix.unsafe("both", [Edit(a, 10, 11, "3"), Edit(b, 10, 11, "{")])
    alternative = Fix.unsafe("a only", [Edit(a, 10, 11, "3")])
    finding = _finding(a, fix)
    finding.alternatives = [alternative]
    FixValidator(sources.get).filter([finding])
    assert finding.fix is None
    assert finding.alternatives == [alternative]


def test_edits_of_one_fix_are_checked_together(tmp_path):
    """Each edit alone keeps the file parsing; together they break it (and vice versa)."""
    path = tmp_path / "a.ts"
    source = SourceFile(path, "const a = f(1);\n")
    together_bad = Fix.safe("two", [Edit(path, 11, 11, "("), Edit(path, 13, 13, "[")])
    together_good = Fix.safe("pair", [Edit(path, 12, 12, "("), Edit(path, 13, 13, ")")])
    findings = [_finding(path, together_bad), _finding(path, together_good)]
    FixValidator({path: source}.get).filter(findings)
    assert findings[0].fix is None
    assert findings[1].fix == together_good


# -- validating against an earlier text (the language server while typing) ---------------------

# `f` is being typed in (its arguments broken); `g` and the import stand for the rest of the file.
REFERENCE_THEN = 'import { a } from "./a";\nconst f = make({ x: 1 });\nconst g = h(2);\n'
REFERENCE_NOW = 'import { a } from "./a";\nconst f = make({ x: 1, y: });\nconst g = h(2);\n'


def _reference(path: Path):
    from convex_xray.engine.fixes import Reference

    then = SourceFile(path, REFERENCE_THEN)
    now = SourceFile(path, REFERENCE_NOW)
    start = REFERENCE_THEN.index("(", REFERENCE_THEN.index("make"))
    end_then = REFERENCE_THEN.index(");", start) + 1
    reference = Reference(then, start, end_then)
    reference.end = end_then + len(REFERENCE_NOW) - len(REFERENCE_THEN)
    assert now.error_count() > 0 and then.error_count() == 0
    return reference, now


def test_a_fix_outside_the_broken_range_is_validated_against_the_earlier_text(tmp_path, monkeypatch):
    """Both verdicts come from the reference (not one parse of the broken text), and the same
    fix asked again is answered from its memo."""
    import convex_xray.engine.fixes as fixes

    path = tmp_path / "a.ts"
    reference, now = _reference(path)
    g = REFERENCE_NOW.index("h(2)")
    good = Fix.safe("rename", [Edit(path, g, g + 1, "k")])
    bad = Fix.safe("break", [Edit(path, g + 1, g + 2, "((")])
    parsed: list[bytes] = []
    real = fixes.error_count_after
    monkeypatch.setattr(fixes, "error_count_after", lambda s, c, *a, **k: parsed.append(s.data) or real(s, c, *a, **k))
    for _ in range(2):
        findings = [_finding(path, good, g), _finding(path, bad, g)]
        FixValidator({path: now}.get, {path: reference}).filter(findings)
        assert findings[0].fix == good
        assert findings[1].fix is None
    assert parsed == [reference.source.data] * 2  # once per fix, from the earlier text
    # The import line lies before the range: the same coordinates in both texts.
    top = Fix.safe("import", [Edit(path, 9, 10, "a, b")])
    findings = [_finding(path, top, 9)]
    FixValidator({path: now}.get, {path: reference}).filter(findings)
    assert findings[0].fix == top


def test_a_fix_inside_the_broken_range_is_validated_against_the_current_text(tmp_path):
    """An edit where the texts differ has no counterpart in the reference: the current text
    decides, as without one (here: the region check of the damaged statement drops it)."""
    path = tmp_path / "a.ts"
    reference, now = _reference(path)
    x = REFERENCE_NOW.index("x: 1")
    inside = Fix.safe("inside", [Edit(path, x, x + 1, "z")])
    with_reference = [_finding(path, inside, x)]
    without = [_finding(path, inside, x)]
    FixValidator({path: now}.get, {path: reference}).filter(with_reference)
    FixValidator({path: now}.get).filter(without)
    assert with_reference[0].fix is None and without[0].fix is None
    assert reference.mapped([Edit(path, x, x + 1, "z")]) is None


def test_a_clean_text_ignores_its_reference(tmp_path):
    """The reference stands in only while the file has a syntax error (then the CLI's
    question can be asked of the current text at incremental-parse cost)."""
    path = tmp_path / "a.ts"
    reference, _ = _reference(path)
    clean = SourceFile(path, REFERENCE_THEN.replace("h(2)", "h(3)"))
    g = REFERENCE_THEN.index("h(2)")
    fix = Fix.safe("rename", [Edit(path, g, g + 1, "k")])
    reference.verdicts[((g, g + 1, "k"),)] = False  # a memo that, if asked, would drop it
    findings = [_finding(path, fix, g)]
    FixValidator({path: clean}.get, {path: reference}).filter(findings)
    assert findings[0].fix == fix


def test_no_fix_writes_typescript_syntax_into_a_javascript_file(tmp_path):
    """An annotation, `as`, type arguments or `!` is an error in JavaScript (TS8010, TS8016):
    such a fix is dropped there and kept in TypeScript; JavaScript forms, and TypeScript the
    file already had, are kept."""
    text = "const f = (x) => x;\nconst m = new Map();\n"
    edits = {
        "annotation": [(11, 12, "x: any")],
        "cast": [(17, 18, "x as string")],
        "type arguments": [(37, 37, "<string, number>")],  # after `new Map`
        "non-null": [(17, 18, "x!")],
    }
    for suffix, kept in ((".js", False), (".mjs", False), (".jsx", False), (".ts", True), (".tsx", True)):
        path = tmp_path / f"a{suffix}"
        source = SourceFile(path, text)
        plain = Fix.safe("plain", [Edit(path, 17, 18, "(x ?? null)")])
        typed = {name: Fix.safe(name, [Edit(path, s, e, t) for s, e, t in spans]) for name, spans in edits.items()}
        findings = [_finding(path, plain), *(_finding(path, fix) for fix in typed.values())]
        FixValidator({path: source}.get).filter(findings)
        assert findings[0].fix == plain, suffix
        assert [f.fix is not None for f in findings[1:]] == [kept] * len(typed), suffix
    # Syntax the JavaScript file already had is not counted against a fix that keeps it.
    path = tmp_path / "b.js"
    source = SourceFile(path, "const y = z!;\nconst f = (x) => x;\n")
    keep = Fix.safe("rename", [Edit(path, 6, 7, "w")])
    findings = [_finding(path, keep)]
    FixValidator({path: source}.get).filter(findings)
    assert findings[0].fix == keep
