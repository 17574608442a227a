"""The source model: byte <-> (line, column) in every encoding, incremental re-parsing, decoding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convex_xray.engine.source import (
    DecodeError,
    Encoding,
    LineIndex,
    SourceFile,
    TextChange,
    _applied,
    apply_changes,
    decode,
    error_count_after,
    is_source_path,
    language_for,
)

UTF8, UTF16, UTF32 = Encoding.UTF8, Encoding.UTF16, Encoding.UTF32
LINE_BREAK = re.compile(r"\r\n|\r|\n")


# -- a reference implementation, written the slow and obvious way -------------------------


def units(text: str, encoding: Encoding) -> int:
    if encoding is UTF8:
        return len(text.encode("utf-8"))
    if encoding is UTF16:
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def reference_lines(text: str) -> list[str]:
    """Line contents without their breaks (`\\n`, `\\r\\n`, lone `\\r`)."""
    return LINE_BREAK.split(text)


def reference_position(text: str, char_index: int, encoding: Encoding) -> tuple[int, int]:
    before = text[:char_index]
    line = len(LINE_BREAK.findall(before))
    # `\r|\n` split would misplace the position between `\r` and `\n`; callers avoid that.
    last = max(before.rfind("\n"), before.rfind("\r"))
    return line, units(before[last + 1 :], encoding)


def byte_offset(text: str, char_index: int) -> int:
    return len(text[:char_index].encode("utf-8"))


def char_boundaries(text: str) -> list[int]:
    """Character indexes that are not between the `\\r` and `\\n` of a CRLF pair."""
    return [
        i
        for i in range(len(text) + 1)
        if not (0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n")
    ]


# -- LineIndex: hand-picked cases ---------------------------------------------------------


def test_ascii_positions_and_offsets():
    index = LineIndex(b"ab\ncd\n")
    assert index.line_starts == [0, 3, 6]
    assert index.line_count == 3
    for encoding in Encoding:
        assert index.position(0, encoding) == (0, 0)
        assert index.position(4, encoding) == (1, 1)
        assert index.position(6, encoding) == (2, 0)
        assert index.offset(1, 2, encoding) == 5


@pytest.mark.parametrize(
    ("text", "char_index", "expected"),
    [
        # emoji outside the BMP: 4 UTF-8 bytes, 2 UTF-16 units (a surrogate pair), 1 code point
        ("a😀b", 1, {UTF8: 1, UTF16: 1, UTF32: 1}),
        ("a😀b", 2, {UTF8: 5, UTF16: 3, UTF32: 2}),
        ("a😀b", 3, {UTF8: 6, UTF16: 4, UTF32: 3}),
        ("😀😀x", 2, {UTF8: 8, UTF16: 4, UTF32: 2}),
        # CJK: 3 UTF-8 bytes, 1 UTF-16 unit
        ("日本語x", 3, {UTF8: 9, UTF16: 3, UTF32: 3}),
        # combining mark: `e` + U+0301 is two code points, one user-perceived character
        ("e\u0301z", 2, {UTF8: 3, UTF16: 2, UTF32: 2}),
        # a ZWJ family emoji: 4 people joined by U+200D
        ("👨\u200d👩\u200d👧\u200d👦!", 7, {UTF8: 25, UTF16: 11, UTF32: 7}),
    ],
)
def test_columns_in_each_encoding(text, char_index, expected):
    data = ("first line\n" + text).encode("utf-8")
    index = LineIndex(data)
    offset = len(b"first line\n") + byte_offset(text, char_index)
    for encoding, column in expected.items():
        assert index.position(offset, encoding) == (1, column), encoding
        assert index.offset(1, column, encoding) == offset, encoding


def test_utf16_column_inside_a_surrogate_pair_rounds_down_to_the_character():
    index = LineIndex("a😀b".encode())
    assert index.offset(0, 2, UTF16) == 1  # between the two halves of 😀 -> its start


def test_crlf_line_breaks():
    data = b"one\r\ntwo\r\n\r\nthree"
    index = LineIndex(data)
    assert index.line_starts == [0, 5, 10, 12]
    assert index.line_end(0) == 3
    assert index.line_end(0, include_break=True) == 5
    assert index.line_end(2) == 10  # an empty line
    assert index.position(5) == (1, 0)
    assert index.position(4) == (0, 3)  # between \r and \n: clamped to the line's end
    assert index.offset(0, 99) == 3  # past the end of a line: its end, not into the break
    assert index.offset(3, 5) == len(data)


def test_lone_cr_is_a_line_break():
    data = b"a\rb\r\rc"
    index = LineIndex(data)
    assert index.line_starts == [0, 2, 4, 5]
    assert index.position(2) == (1, 0)
    assert index.position(4) == (2, 0)
    assert index.line_end(1) == 3
    assert index.line_end(2) == 4
    assert index.offset(3, 0) == 5


def test_mixed_line_breaks():
    data = b"a\nb\r\nc\rd"
    index = LineIndex(data)
    assert index.line_starts == [0, 2, 5, 7]
    assert [index.line_end(i) for i in range(4)] == [1, 3, 6, 8]


def test_empty_file():
    index = LineIndex(b"")
    assert index.line_count == 1
    for encoding in Encoding:
        assert index.position(0, encoding) == (0, 0)
        assert index.offset(0, 0, encoding) == 0
        assert index.offset(3, 7, encoding) == 0
    assert index.line_end(0) == 0


def test_last_line_without_newline():
    index = LineIndex("x\ny😀".encode())
    assert index.line_count == 2
    assert index.line_end(1) == 7
    assert index.position(7, UTF16) == (1, 3)
    assert index.offset(1, 3, UTF16) == 7
    assert index.offset(1, 50, UTF32) == 7


def test_trailing_newline_gives_an_empty_last_line():
    index = LineIndex(b"x\n")
    assert index.line_count == 2
    assert index.position(2) == (1, 0)


@pytest.mark.parametrize("encoding", list(Encoding))
def test_out_of_range_values_clamp(encoding):
    data = "ab\nc日\n".encode()
    index = LineIndex(data)
    assert index.position(-5, encoding) == (0, 0)
    assert index.position(10_000, encoding) == index.position(len(data), encoding) == (2, 0)
    assert index.offset(-1, 3, encoding) == 0
    assert index.offset(99, 0, encoding) == len(data)
    assert index.offset(1, -4, encoding) == 3
    assert index.offset(1, 99, encoding) == 7  # end of `c日`, before the `\n`


def test_point_counts_rows_like_tree_sitter():
    """tree-sitter's rows are counted by `\\n` only (a lone `\\r` does not start a row)."""
    for text in ["a\nb", "a\r\nb😀\r\nc", "a\rb\rc", "x\r\r\ny\rz\n"]:
        source = SourceFile(Path("t.ts"), text)
        for node in _nodes(source.root):
            assert source.lines.point(node.start_byte) == node.start_point, (text, node)
            assert source.lines.point(node.end_byte) == node.end_point, (text, node)


# -- LineIndex: properties against the reference ------------------------------------------

TEXT_ALPHABET = st.sampled_from(
    ["a", "z", " ", "\n", "\r", "\r\n", "é", "e\u0301", "日", "本", "😀", "👍🏽", "\t", "ß"]
)
texts = st.lists(TEXT_ALPHABET, max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_positions_match_the_reference(text):
    data = text.encode("utf-8")
    index = LineIndex(data)
    assert index.line_count == len(reference_lines(text))
    for char_index in char_boundaries(text):
        offset = byte_offset(text, char_index)
        for encoding in Encoding:
            expected = reference_position(text, char_index, encoding)
            assert index.position(offset, encoding) == expected
            assert index.offset(*expected, encoding) == offset


@settings(max_examples=200, deadline=None)
@given(texts)
def test_line_ends_match_the_reference(text):
    index = LineIndex(text.encode("utf-8"))
    for line, content in enumerate(reference_lines(text)):
        start = index.line_starts[line]
        assert index.line_end(line) - start == len(content.encode("utf-8"))


# -- SourceFile and decoding ----------------------------------------------------------------


def test_source_file_keeps_text_bytes_tree_and_index_together():
    text = 'const s = "日本";\nexport const x = 1;\n'
    source = SourceFile(Path("convex/a.ts"), text, version=3)
    assert source.data == text.encode("utf-8")
    assert source.version == 3
    assert not source.has_errors()
    assert source.root.type == "program"
    declaration = source.root.named_children[1]
    assert source.node_text(declaration) == "export const x = 1;"
    assert source.lines.position(declaration.start_byte) == (1, 0)


def test_source_file_read(tmp_path):
    path = tmp_path / "q.ts"
    path.write_bytes("let a = '😀';\r\n".encode())
    source = SourceFile.read(path)
    assert source.text == "let a = '😀';\r\n"
    assert source.lines.line_count == 2


def test_syntax_errors_are_visible():
    assert SourceFile(Path("a.ts"), "const = ;").has_errors()


def test_grammar_per_suffix():
    # `<T>expr` is a type assertion in .ts and JSX in .tsx
    cast = "const x = <number>y;\n"
    assert not SourceFile(Path("a.ts"), cast).has_errors()
    assert SourceFile(Path("a.tsx"), cast).has_errors()
    assert not SourceFile(Path("a.tsx"), "const el = <div>{x}</div>;\n").has_errors()
    assert not SourceFile(Path("a.jsx"), "const el = <div>{x}</div>;\n").has_errors()
    assert language_for("x.mts") == language_for("x.ts")
    assert language_for("x.js") == language_for("x.tsx")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.ts", True),
        ("a.tsx", True),
        ("a.mjs", True),
        ("a.js", True),
        ("a.d.ts", False),
        ("a.json", False),
        ("a.ts.map", False),
    ],
)
def test_is_source_path(name, expected):
    assert is_source_path(name) is expected


def test_decode_rejects_non_utf8_with_the_path_and_offset():
    with pytest.raises(DecodeError, match=r"x\.ts: not UTF-8 text \(invalid byte at offset 4\)"):
        decode(b"abc \xe9t\xe9", "x.ts")


def test_decode_rejects_nul_bytes():
    with pytest.raises(DecodeError, match="NUL"):
        decode(b"const a = 1;\x00\x00", "bin.ts")


def test_decode_accepts_utf8():
    assert decode("😀\r\n".encode()) == "😀\r\n"


def test_read_raises_decode_error_for_latin1(tmp_path):
    path = tmp_path / "latin.ts"
    path.write_bytes("const s = 'café';".encode("latin-1"))
    with pytest.raises(DecodeError):
        SourceFile.read(path)


# -- incremental edits == full re-parse --------------------------------------------------------


def _nodes(node):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _shape(source: SourceFile) -> list[tuple]:
    return [
        (n.type, n.start_byte, n.end_byte, tuple(n.start_point), tuple(n.end_point), n.is_missing)
        for n in _nodes(source.root)
    ]


def assert_same_as_fresh(edited: SourceFile) -> None:
    fresh = SourceFile(edited.path, edited.text)
    assert edited.data == fresh.data
    assert str(edited.root) == str(fresh.root)
    assert _shape(edited) == _shape(fresh)
    assert edited.lines.line_starts == LineIndex(edited.data).line_starts


def test_single_edit_reuses_the_tree():
    before = SourceFile(Path("a.ts"), "const a = 1;\nconst b = 2;\n", version=1)
    start = before.text.index("2")
    after = apply_changes(before, [TextChange(start, start + 1, "await ctx.db.get(id)")], version=2)
    assert after.version == 2
    assert after.text == "const a = 1;\nconst b = await ctx.db.get(id);\n"
    assert before.text == "const a = 1;\nconst b = 2;\n"  # snapshots are immutable
    assert_same_as_fresh(after)


def test_several_changes_apply_in_order_each_in_the_previous_coordinates():
    before = SourceFile(Path("a.ts"), "let x = 1;\n")
    after = apply_changes(before,
        [
            TextChange(8, 9, "22"),
            TextChange(0, 0, "// 日本\n"),
            TextChange(len("// 日本\n".encode()) + 4, len("// 日本\n".encode()) + 5, "y"),
        ]
    )
    assert after.text == "// 日本\nlet y = 22;\n"
    assert_same_as_fresh(after)


def test_edit_that_breaks_and_then_repairs_the_syntax():
    source = SourceFile(Path("a.ts"), "const f = (x) => x;\n")
    broken = apply_changes(source, [TextChange(10, 11, "")])
    assert broken.has_errors()
    assert_same_as_fresh(broken)
    repaired = apply_changes(broken, [TextChange(10, 10, "(")])
    assert not repaired.has_errors()
    assert_same_as_fresh(repaired)


def test_edits_in_a_crlf_file_with_non_ascii():
    text = 'export const list = query({\r\n  handler: async (ctx) => {\r\n    return "日本😀";\r\n  },\r\n});\r\n'
    source = SourceFile(Path("a.ts"), text)
    at = source.data.index(b"return")
    after = apply_changes(source,
        [TextChange(at, at, 'const a = await ctx.db.query("t").collect();\r\n    ')]
    )
    assert_same_as_fresh(after)
    at = after.data.index("😀".encode())
    again = apply_changes(after, [TextChange(at, at + 4, "é\r\n")])
    assert "é\r\n" in again.text
    assert_same_as_fresh(again)


def test_lone_cr_edits_keep_tree_sitter_points():
    source = SourceFile(Path("a.ts"), "const a = 1;\rconst b = 2;\rconst c = 3;\n")
    after = apply_changes(source, [TextChange(0, 0, "let z = 0;\r")])
    assert_same_as_fresh(after)
    after = apply_changes(after, [TextChange(11, 12, "\n")])
    assert_same_as_fresh(after)


def test_an_edit_that_removes_a_syntax_error_equals_a_fresh_parse():
    """Error recovery kept `<T,>(v: T) => v` as a type assertion after the stray `)`; once the
    `)` is deleted the incremental parse has no error but would reuse that subtree (found by
    the property test below)."""
    source = SourceFile(Path("a.ts"), "\r\r\r<T,>(v: T) => v)const a = 1;\n<T,>(v: T) => v")
    edited = apply_changes(source, [TextChange(0, 12, "")])
    assert_same_as_fresh(edited)
    edited = apply_changes(edited, [TextChange(0, 7, "")])
    assert edited.text == "const a = 1;\n<T,>(v: T) => v"
    assert_same_as_fresh(edited)


SNIPPETS = [
    "const a = 1;\n",
    'await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", orgId)).collect();\n',
    "for (const x of xs) {\n",
    "}\n",
    "export const list = query({ args: {}, handler: async (ctx) => {\n",
    "} });\n",
    'const m = new Map<string, Doc<"users">>();\n',
    "// 注释 😀 comment\n",
    "/* block\r\n comment */",
    '"é\u0301";',
    "`tpl ${a + 1} 日本`",
    "(x: number): string => String(x)",
    "\r\n",
    "\r",
    "\n",
    " ",
    "{",
    ")",
    "<T,>(v: T) => v",
    "if (a) { b(); } else { c(); }\n",
    "return await Promise.all(ids.map((id) => ctx.db.get(id)));\n",
    'interface P { id: Id<"players">; name?: string }\n',
]

snippet_texts = st.lists(st.sampled_from(SNIPPETS), max_size=12).map("".join)


@st.composite
def edit_sequences(draw):
    """A starting text and a list of edits, each at character boundaries of the text it applies to."""
    text = draw(snippet_texts)
    edits: list[TextChange] = []
    current = text
    for _ in range(draw(st.integers(1, 5))):
        boundaries = list(range(len(current) + 1))
        a = draw(st.sampled_from(boundaries))
        b = draw(st.sampled_from(boundaries))
        a, b = min(a, b), max(a, b)
        if b - a > 30:
            b = a + draw(st.integers(0, 30))
        inserted = draw(
            st.one_of(
                st.just(""),
                st.sampled_from(SNIPPETS),
                st.lists(TEXT_ALPHABET, max_size=6).map("".join),
            )
        )
        start, end = byte_offset(current, a), byte_offset(current, b)
        edits.append(TextChange(start, end, inserted))
        current = current[:a] + inserted + current[b:]
    return text, edits, current


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit_sequences(), st.booleans(), st.sampled_from(["a.ts", "a.tsx"]))
def test_incremental_edit_equals_full_reparse(case, one_call, name):
    text, edits, expected = case
    source = SourceFile(Path(name), text)
    if one_call:
        edited = apply_changes(source, edits)
    else:
        edited = source
        for edit in edits:
            edited = apply_changes(edited, [edit])
            assert_same_as_fresh(edited)
    assert edited.text == expected
    assert_same_as_fresh(edited)


def _reference_edits(data: bytes, changes: list[TextChange]) -> list[tuple]:
    """The tree edits of `changes`, every point counted from the top of the text it is in."""

    def point(text: bytes, offset: int) -> tuple[int, int]:
        return text.count(b"\n", 0, offset), offset - (text.rfind(b"\n", 0, offset) + 1)

    edits = []
    for change in changes:
        new = change.text.encode("utf-8")
        after = data[: change.start] + new + data[change.end :]
        new_end = change.start + len(new)
        edits.append((change.start, change.end, new_end, point(data, change.start), point(data, change.end), point(after, new_end)))
        data = after
    return edits


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit_sequences(), st.booleans())
def test_tree_edit_points_equal_points_counted_from_the_top(case, last_first):
    """`_applied` takes start points from the original text's line index while they lie before
    every change applied so far, and counts the other points from the start point: each must
    be the point counted over the whole text (rows by `\n` only, byte columns)."""
    text, changes, _ = case
    data = text.encode("utf-8")
    if last_first:  # a fix's edits: non-overlapping, applied last first in the original coordinates
        changes, taken = [], -1
        for change in sorted(case[1], key=lambda c: c.start):
            if change.start > taken and change.end <= len(data):
                changes.append(change)
                taken = change.end
        changes.reverse()
    expected = _reference_edits(data, changes)
    for lines in (None, LineIndex(data)):
        got = [(e[0], e[1], e[2], tuple(e[3]), tuple(e[4]), tuple(e[5])) for _, _, e in _applied(data, changes, lines)]
        assert got == expected


_BROKEN_BASE = "const f = (x) => x;\nfunction g(a, b) {\n  return [a, b].map((v) => v * 2);\n}\n"


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        (_BROKEN_BASE, [TextChange(10, 11, "")]),  # breaks
        (_BROKEN_BASE, [TextChange(40, 40, "const ok = 1;\n")]),  # stays clean
        (_BROKEN_BASE, [TextChange(60, 61, "}}"), TextChange(10, 11, "")]),  # two, last first
        ("const f = (x => x;\n", [TextChange(10, 10, "(")]),  # repairs a broken file
        ("const f = (x => x;\nlet y = [1, 2;\n", [TextChange(10, 10, "(")]),  # one of two errors
        ("// é\r\nlet y = 2;\r\n", [TextChange(9, 10, "(")]),
    ],
)
def test_error_count_after_changes_equals_the_new_snapshots(text, changes):
    """The fix validator counts the errors of the edited text without building its snapshot;
    the count is the snapshot's, whether the original or the edit has errors."""
    source = SourceFile(Path("a.ts"), text)
    assert error_count_after(source, changes) == apply_changes(source, changes).error_count()
    lazy = apply_changes(source, [TextChange(0, 0, " ")])  # an unparsed snapshot: the general path
    shifted = [TextChange(c.start + 1, c.end + 1, c.text) for c in changes]
    assert error_count_after(lazy, shifted) == apply_changes(lazy, shifted).error_count()


def test_exact_says_whether_a_tree_is_a_fresh_parse():
    """`exact`: an incremental parse kept with errors (the language server's slice) is not a
    fresh parse's tree, nor is an error-free one derived from it; a snapshot parsed with
    `fresh_on_error` (the default) always is."""
    path = Path("x.ts")
    clean = SourceFile(path, "const a = f(1);\nconst b = 2;\n")
    assert clean.exact
    broken = apply_changes(clean, [TextChange(12, 12, "(")], fresh_on_error=False)
    assert broken.root.has_error and not broken.exact
    repaired = apply_changes(broken, [TextChange(12, 13, "")], fresh_on_error=False)
    assert not repaired.root.has_error and not repaired.exact  # recovery's subtrees may linger
    following = apply_changes(clean, [TextChange(6, 7, "z")], fresh_on_error=False)
    assert not following.root.has_error and following.exact  # clean from clean
    fresh = apply_changes(broken, [TextChange(12, 13, "")])
    assert fresh.exact and str(fresh.root) == str(clean.root)
