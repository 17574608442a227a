"""The file's own style, read from its text, and the layout that prints generated code in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.engine import style as layout
from convex_xray.engine.source import SourceFile
from convex_xray.engine.style import CodeStyle, first_break

PRETTIER = """\
import { query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => {
    const rows = await ctx.db
      .query("posts")
      .withIndex("by_author", (q) => q.eq("author", "a"))
      .collect();
    return rows.map((row) => ({
      id: row._id,
      title: row.title,
    }));
  },
});
"""

# Four spaces, single quotes, no semicolons, no trailing commas (standard-style).
STANDARD = """\
import { query } from './_generated/server'

export const list = query({
    args: {},
    handler: async (ctx) => {
        const rows = await ctx.db
            .query('posts')
            .collect()
        const names = [
            'a',
            'b'
        ]
        return rows.map((row) => row.title).concat(names)
    }
})
"""


def detect_style(data: bytes) -> CodeStyle:
    return SourceFile(Path("a.ts"), data.decode(), data=data).style


def test_prettier_defaults_are_read_as_such():
    assert detect_style(PRETTIER.encode()) == CodeStyle()


def test_a_standard_style_file():
    style = detect_style(STANDARD.encode())
    assert style == CodeStyle(indent="    ", quote="'", semicolons=False, trailing_commas=False)


def test_tabs_crlf_and_a_wider_file():
    text = PRETTIER.replace("  ", "\t").replace("\n", "\r\n")
    long = "".join(f'\tconst value{i} = "{"x" * 90}";\r\n' for i in range(10))
    style = detect_style((text + long).encode())
    assert style.indent == "\t"
    assert style.newline == "\r\n"
    assert style.width == 120


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"a\nb\r\n", "\n"), (b"a\r\nb\n", "\r\n"), (b"", "\n"), (b"\r\n", "\r\n")],
)
def test_first_break(data, expected):
    assert first_break(data) == expected


def test_source_file_caches_its_style():
    source = SourceFile(Path("a.ts"), STANDARD)
    assert source.style is source.style
    assert source.style.quote == "'"


def _prefetch(style: CodeStyle) -> layout.Doc:
    body = layout.chain(
        "ctx.db",
        ['.query("comments")', '.withIndex("by_postId", (q) => q.eq("postId", key))', ".collect()"],
    )
    return (
        "const results = await ",
        layout.call("Promise.all", [layout.chain("keys", [layout.call(".map", [layout.arrow("key", body)], style)])], style),
        style.semi,
    )


def test_fits_on_one_line_when_it_can():
    style = CodeStyle(width=200)
    assert layout.render(_prefetch(style), style, "  ") == (
        'const results = await Promise.all(keys.map((key) => ctx.db.query("comments")'
        '.withIndex("by_postId", (q) => q.eq("postId", key)).collect()));'
    )


def test_breaks_like_prettier_when_it_does_not_fit():
    style = CodeStyle()
    assert layout.render(_prefetch(style), style, "    ") == (
        "const results = await Promise.all(\n"
        "      keys.map((key) =>\n"
        "        ctx.db\n"
        '          .query("comments")\n'
        '          .withIndex("by_postId", (q) => q.eq("postId", key))\n'
        "          .collect(),\n"
        "      ),\n"
        "    );"
    )


def test_no_trailing_commas_four_spaces_and_no_semicolon():
    style = CodeStyle(indent="    ", trailing_commas=False, semicolons=False)
    out = layout.render(_prefetch(style), style, "")
    assert out.splitlines()[1] == "    keys.map((key) =>"
    assert out.endswith(".collect()\n    )\n)")


def test_every_line_fits_the_width():
    style = CodeStyle(width=50)
    index = layout.call('.withIndex', ['"by_postId"', layout.arrow("q", 'q.eq("postId", key)')], style)
    body = layout.chain("ctx.db", ['.query("comments")', index, ".collect()"])
    doc = layout.call("Promise.all", [layout.chain("keys", [layout.call(".map", [layout.arrow("key", body)], style)])], style)
    out = layout.render(("const results = await ", doc, ";"), style, "        ")
    assert out.splitlines()[4] == '              .withIndex("by_postId", (q) =>'
    assert all(len(line) <= 50 for line in out.splitlines()[1:])


def test_copied_text_keeps_its_own_line_breaks_relative_to_where_it_lands():
    style = CodeStyle()
    # A statement's chain at 6 spaces, its steps one level deeper: moved to 4, steps at 6.
    copied = layout.copied('ctx.db\n        .query("x")\n        .unique()', indent="      ")
    out = layout.render(layout.call("Promise.all", [copied], style), style, "  ")
    assert out == 'Promise.all(\n    ctx.db\n      .query("x")\n      .unique(),\n  )'
    # A `.member(…)` written over lines: its closing line level with the member.
    member = layout.copied('.withIndex("x", (q) =>\n          q.eq("a", key),\n        )')
    out = layout.render(layout.chain("ctx.db", ['.query("x")', member, ".unique()"]), style, "  ")
    assert out == 'ctx.db\n    .query("x")\n    .withIndex("x", (q) =>\n      q.eq("a", key),\n    )\n    .unique()'
