"""Disable comments: next-line (one or several rules, with a reason), same line, file-wide,
block comments, rule codes, and ESLint's equivalents for the matching rules only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from convex_xray.engine.source import SourceFile
from convex_xray.engine.suppressions import parse_suppressions
from tests.support.project import check_project, write_project

# Two findings of different rules on one line (unbounded-collect + full-table-scan would be
# on separate statements; filter-on-query and unbounded-collect share the chain).
BODY = """
export const list = query({
  args: {},
  handler: async (ctx, args) => {
    {comment}
    const recent = (await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.a)).collect()).slice(0, 5);
    const other = (await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.p)).collect()).slice(0, 5);
    return [recent, other];
  },
});
"""
RECENT = (
    BODY.splitlines().index(
        '    const recent = (await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.a)).collect()).slice(0, 5);'
    )
    + 1
)
OTHER = RECENT + 1


def findings_for(
    tmp_path: Path, comment: str, select: list[str] | None = None, top: str = ""
) -> list[tuple[str, int]]:
    code = top + BODY.replace("{comment}", comment)
    project = write_project(tmp_path / "app", {"posts.ts": code})
    workspace, result = check_project(project, select=select or ["unbounded-collect"])
    assert not result.failures
    out = []
    for finding in result.findings:
        if finding.rule == "unused-suppression":
            continue
        source = workspace.source(finding.path)
        out.append((finding.rule, source.lines.line_of(finding.span.start) + 1))
    return out


def test_baseline_without_comments(tmp_path):
    assert findings_for(tmp_path, "") == [
        ("unbounded-collect", RECENT),
        ("unbounded-collect", OTHER),
    ]


@pytest.mark.parametrize(
    "comment",
    [
        "// convex-xray-disable-next-line unbounded-collect",
        "// convex-xray-disable-next-line unbounded-collect -- the table is tiny",
        "// convex-xray-disable-next-line full-table-scan, unbounded-collect -- two rules",
        "// convex-xray-disable-next-line unbounded-collect,filter-on-query",
        "// convex-xray-disable-next-line CX201 -- by code",
        "// convex-xray-disable-next-line",  # every rule
        "/* convex-xray-disable-next-line unbounded-collect */",
        "/* convex-xray-disable-next-line unbounded-collect -- block with reason */",
        "// eslint-disable-next-line @convex-dev/no-collect-in-query",
        "// eslint-disable-next-line @convex-dev/no-collect-in-query -- reason",
        "// eslint-disable-next-line no-console, @convex-dev/no-collect-in-query",
        "/* eslint-disable-next-line @convex-dev/no-collect-in-query */",
    ],
)
def test_next_line_silences_only_the_next_line(tmp_path, comment):
    assert findings_for(tmp_path, comment) == [("unbounded-collect", OTHER)]


@pytest.mark.parametrize(
    "comment",
    [
        "// convex-xray-disable-next-line full-table-scan",  # another rule
        "// convex-xray-disable-next-line unbounded-collects",  # a typo is not a prefix match
        "// eslint-disable-next-line @convex-dev/no-filter-in-query",  # ESLint's other rule
        "// eslint-disable-next-line no-console",  # unrelated ESLint rule
        "// eslint-disable-next-line",  # blanket ESLint: ESLint's business
        "// convex-xray-disable-line unbounded-collect",  # same line: the comment's own line
        "// unbounded-collect is fine here",
        "// convex-xray-enable unbounded-collect",
    ],
)
def test_comments_that_do_not_silence(tmp_path, comment):
    assert findings_for(tmp_path, comment) == [
        ("unbounded-collect", RECENT),
        ("unbounded-collect", OTHER),
    ]


def test_same_line_comment(tmp_path):
    code = BODY.replace("{comment}", "").replace(
        ".slice(0, 5);\n    const other",
        ".slice(0, 5); // convex-xray-disable-line unbounded-collect\n    const other",
    )
    project = write_project(tmp_path / "app", {"posts.ts": code})
    _, result = check_project(project, select=["unbounded-collect"])
    assert len(result.findings) == 1


@pytest.mark.parametrize(
    ("top", "remaining"),
    [
        ("// convex-xray-disable unbounded-collect\n", []),
        ("/* convex-xray-disable unbounded-collect -- generated file */\n", []),
        ("// convex-xray-disable\n", []),
        (
            "// convex-xray-disable full-table-scan\n",
            [("unbounded-collect", RECENT + 1), ("unbounded-collect", OTHER + 1)],
        ),
    ],
)
def test_file_wide(tmp_path, top, remaining):
    assert findings_for(tmp_path, "", top=top) == remaining


def test_file_wide_comment_anywhere_in_the_file(tmp_path):
    code = (
        BODY.replace("{comment}", "") + "\n// convex-xray-disable unbounded-collect -- at the end\n"
    )
    project = write_project(tmp_path / "app", {"posts.ts": code})
    _, result = check_project(project, select=["unbounded-collect"])
    assert result.findings == []


def test_suppression_in_one_file_does_not_reach_another(tmp_path):
    code = BODY.replace("{comment}", "")
    project = write_project(
        tmp_path / "app",
        {"a.ts": "// convex-xray-disable unbounded-collect\n" + code, "b.ts": code},
    )
    _, result = check_project(project, select=["unbounded-collect"])
    assert {f.path.name for f in result.findings} == {"b.ts"}


def test_next_line_above_a_multi_line_statement(tmp_path):
    """The comment goes above the statement; the finding may sit on a later line of it."""
    code = """
    export const list = query({
      args: {},
      handler: async (ctx, args) => {
        // convex-xray-disable-next-line unbounded-collect -- bounded by design
        const all = await ctx.db
          .query("posts")
          .withIndex("by_authorId", (q) => q.eq("authorId", args.a))
          .collect();
        // eslint-disable-next-line @convex-dev/no-collect-in-query
        const more = await ctx.db
          .query("comments")
          .withIndex("by_postId", (q) => q.eq("postId", args.p))
          .collect();
        const kept = await ctx.db
          .query("comments")
          .withIndex("by_postId", (q) => q.eq("postId", args.p))
          // convex-xray-disable-next-line unbounded-collect
          .collect();
        return [all.slice(0, 5), more.slice(0, 5), kept.slice(0, 5)];
      },
    });
    """
    project = write_project(tmp_path / "app", {"posts.ts": code})
    _, result = check_project(project, select=["unbounded-collect"])
    assert result.findings == []


def test_a_comment_two_statements_above_does_not_reach(tmp_path):
    code = """
    export const list = query({
      args: {},
      handler: async (ctx, args) => {
        // convex-xray-disable-next-line unbounded-collect
        const x = 1;
        const all = await ctx.db
          .query("posts")
          .withIndex("by_authorId", (q) => q.eq("authorId", args.a))
          .collect();
        return all.slice(0, x);
      },
    });
    """
    project = write_project(tmp_path / "app", {"posts.ts": code})
    _, result = check_project(project, select=["unbounded-collect"])
    assert len(result.findings) == 1


# -- the parser on its own ---------------------------------------------------------------------


def parse(code: str):
    return parse_suppressions(SourceFile(Path("a.ts"), textwrap.dedent(code))).items


def test_parsed_shape():
    items = parse(
        """\
        // convex-xray-disable-next-line unbounded-collect, CX301 -- why
        x();
        // convex-xray-disable filter-on-query
        y(); // convex-xray-disable-line
        /* eslint-disable-next-line @convex-dev/no-filter-in-query, other */
        // eslint-disable-next-line
        """
    )
    assert [(i.line, i.rules, i.comment_line) for i in items] == [
        (1, frozenset({"unbounded-collect", "unknown-index"}), 0),
        (None, frozenset({"filter-on-query"}), 2),
        (3, None, 3),
        (5, frozenset({"filter-on-query"}), 4),
        (6, frozenset({"<eslint-only>"}), 5),  # kept, but names none of our rules
    ]
    assert not any(items[-1].matches(6, rule) for rule in ("unbounded-collect", "filter-on-query"))
    source = textwrap.dedent(
        """\
        // convex-xray-disable-next-line unbounded-collect, CX301 -- why
        """
    )
    assert source[items[0].start : items[0].end].startswith("// convex-xray-disable-next-line")


def test_eslint_comment_for_other_rules_only_silences_nothing_of_ours():
    [item] = parse("// eslint-disable-next-line @typescript-eslint/no-explicit-any\nx();\n")
    assert not item.matches(1, "unbounded-collect")
    assert not item.matches(1, "filter-on-query")


def test_byte_offsets_after_non_ascii():
    code = 'const s = "日本😀";\n// convex-xray-disable-next-line unbounded-collect\nx();\n'
    [item] = parse(code)
    data = code.encode("utf-8")
    assert (
        data[item.start : item.end].decode() == "// convex-xray-disable-next-line unbounded-collect"
    )
    assert item.line == 2


def test_no_directives_is_cheap_and_empty():
    assert parse("const a = 1; // a disable of nothing\n") == []


def test_the_suppression_fix_silences_exactly_that_finding(tmp_path):
    """The disable-comment edit (offered for every rule) keeps the line's indentation, asks
    for a reason, and the finding is gone once it is applied."""
    from convex_xray.engine.fixes import apply_edits
    from convex_xray.engine.suppressions import disable_comment_edit
    from tests.support.project import check_project as _check
    from tests.support.project import write_project as _write

    project = _write(
        tmp_path / "app",
        {
            "q.ts": """
                import { query } from "./_generated/server";
                export const q = query({ args: {}, handler: async (ctx) => {
                  return await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", "o")).collect();
                }});
            """
        },
    )
    path = project / "convex" / "q.ts"
    workspace, result = _check(project, select=["unbounded-collect"])
    (finding,) = [f for f in result.findings if f.path == path]
    edit = disable_comment_edit(workspace.source(path), finding.span.start, finding.rule)
    assert edit.new_text == "  // convex-xray-disable-next-line unbounded-collect -- <reason>\n"
    path.write_bytes(apply_edits(path.read_bytes(), [edit]))
    _, after = _check(project, select=["unbounded-collect"])
    assert [f for f in after.findings if f.path == path] == []
