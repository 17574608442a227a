"""Source snapshots: text + tree-sitter tree + one line index, with incremental re-parsing.

Byte offsets (what tree-sitter speaks) become (line, column) in exactly one place: the
`LineIndex` of a snapshot. Columns are counted in the encoding the caller asks for:
UTF-8 bytes, UTF-16 code units (LSP's default) or code points (CLI / JSON output).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Point, Tree

from convex_xray.engine.style import CodeStyle, detect_style

SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


class Encoding(enum.Enum):
    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"  # code points


@cache
def _language(tsx: bool) -> Language:
    if tsx:
        return Language(tree_sitter_typescript.language_tsx())
    return Language(tree_sitter_typescript.language_typescript())


def language_for(path: Path | str) -> Language:
    """TypeScript for .ts/.mts/.cts; TSX (a superset of JSX) for .tsx and JavaScript files.

    Plain .ts must use the TypeScript grammar: `<T>expr` casts do not parse as TSX.
    """
    suffix = Path(path).suffix.lower()
    return _language(suffix not in (".ts", ".mts", ".cts"))


def is_typescript_path(path: Path | str) -> bool:
    """Whether the file is TypeScript (.ts/.tsx/.mts/.cts): type annotations, `as`, type
    arguments and `!` are errors in JavaScript (TS8010, TS8016, …), which tsc reports even
    without `checkJs`."""
    return Path(path).suffix.lower() in (".ts", ".tsx", ".mts", ".cts")


# Syntax only TypeScript has (the TSX grammar parses it in a JavaScript file too).
_TYPESCRIPT_ONLY = frozenset(
    {
        "type_annotation",
        "optional_type_annotation",
        "asserts_annotation",
        "type_predicate_annotation",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_arguments",
        "type_parameters",
        "type_alias_declaration",
        "interface_declaration",
        "enum_declaration",
        "abstract_class_declaration",
        "ambient_declaration",
        "module",
        "internal_module",
        "accessibility_modifier",
        "override_modifier",
        "readonly",
        "type_assertion",
        "implements_clause",
    }
)


def typescript_syntax_count(root: Node) -> int:
    """How many nodes of TypeScript-only syntax the tree holds (outermost ones only)."""
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in _TYPESCRIPT_ONLY:
            count += 1
        else:
            stack.extend(node.named_children)
    return count


def is_source_path(path: Path | str) -> bool:
    name = str(path)
    return name.endswith(SOURCE_SUFFIXES) and not name.endswith(".d.ts")


class LineIndex:
    """Maps byte offsets <-> (line, column) for one immutable text.

    Line breaks are `\\n`, `\\r\\n` and a lone `\\r`, as in LSP. Lines that are pure ASCII
    (the vast majority) convert with arithmetic only; others decode just that line.
    """

    __slots__ = ("_ascii", "_data", "_lf_rows", "_rows", "line_starts")

    def __init__(self, data: bytes) -> None:
        self._data = data
        starts = [0]
        find = data.find
        if b"\r" not in data:
            i = find(b"\n")
            while i != -1:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
        else:
            i, n = 0, len(data)
            while i < n:
                c = data[i]
                if c == 0x0A:
                    starts.append(i + 1)
                elif c == 0x0D:
                    if i + 1 < n and data[i + 1] == 0x0A:
                        i += 1
                    starts.append(i + 1)
                i += 1
        self.line_starts = starts
        # tree-sitter counts rows by `\n` alone; with a lone `\r` its rows differ from ours.
        self._rows: list[int] | None = None if b"\r" in data else starts
        self._lf_rows: list[int] | None = None  # tree-sitter's rows of a text with a `\r`
        self._ascii: dict[int, bool] = {}

    def edited(self, start: int, end: int, new: bytes, data: bytes) -> LineIndex | None:
        """The index of `data`, this text with [start, end) replaced by `new`, derived from this
        one (a keystroke must not rescan a long file for line breaks); None when a `\r` is
        involved (build it afresh)."""
        if self._rows is None or b"\r" in new:
            return None
        starts = self.line_starts
        head = starts[: bisect.bisect_right(starts, start)]
        i = new.find(b"\n")
        while i != -1:
            head.append(start + i + 1)
            i = new.find(b"\n", i + 1)
        tail = starts[bisect.bisect_right(starts, end) :]
        delta = len(new) - (end - start)
        head.extend([s + delta for s in tail] if delta else tail)
        index = LineIndex.__new__(LineIndex)
        index._data = data
        index.line_starts = head
        index._rows = head
        index._lf_rows = None
        index._ascii = {}
        return index

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line_end(self, line: int, *, include_break: bool = False) -> int:
        """Byte offset where `line`'s content ends (before its line break, unless asked)."""
        if line + 1 < len(self.line_starts):
            end = self.line_starts[line + 1]
            if include_break:
                return end
            if end > 0 and self._data[end - 1] == 0x0A:
                end -= 1
            if end > 0 and self._data[end - 1] == 0x0D:
                end -= 1
            return end
        return len(self._data)

    def _is_ascii(self, line: int) -> bool:
        cached = self._ascii.get(line)
        if cached is None:
            cached = self._data[self.line_starts[line] : self.line_end(line)].isascii()
            self._ascii[line] = cached
        return cached

    def position(self, offset: int, encoding: Encoding = Encoding.UTF16) -> tuple[int, int]:
        """(line, column), both 0-based, for a byte offset."""
        offset = max(0, min(offset, len(self._data)))
        line = self.line_of(offset)
        start = self.line_starts[line]
        # An offset inside a CRLF pair is clamped to the line's end.
        offset = min(offset, max(start, self.line_end(line))) if offset > start else offset
        if encoding is Encoding.UTF8 or self._is_ascii(line):
            return line, offset - start
        prefix = self._data[start:offset].decode("utf-8", errors="replace")
        if encoding is Encoding.UTF32:
            return line, len(prefix)
        return line, _utf16_len(prefix)

    def offset(self, line: int, column: int, encoding: Encoding = Encoding.UTF16) -> int:
        """Byte offset of (line, column). Out-of-range values clamp to the document, as LSP asks."""
        if line < 0:
            return 0
        if line >= len(self.line_starts):
            return len(self._data)
        start = self.line_starts[line]
        end = self.line_end(line)
        if column <= 0:
            return start
        if encoding is Encoding.UTF8 or self._is_ascii(line):
            return min(start + column, end)
        text = self._data[start:end].decode("utf-8", errors="replace")
        if encoding is Encoding.UTF32:
            return start + len(text[:column].encode("utf-8"))
        units = 0
        for index, char in enumerate(text):
            width = 2 if ord(char) > 0xFFFF else 1
            if units + width > column:
                return start + len(text[:index].encode("utf-8"))
            units += width
        return end

    def point(self, offset: int) -> Point:
        """tree-sitter's (row, byte column) for an offset: rows are counted by `\n` only."""
        rows = self._rows if self._rows is not None else self._lf_rows
        if rows is None:
            rows = [0]
            find = self._data.find
            i = find(b"\n")
            while i != -1:
                rows.append(i + 1)
                i = find(b"\n", i + 1)
            self._lf_rows = rows  # not `_rows`: that one says the text has no `\r` (see `edited`)
        row = bisect.bisect_right(rows, offset) - 1
        return Point(row, offset - rows[row])


def _utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


class DecodeError(ValueError):
    """The file is not UTF-8 text (binary, Latin-1, ...)."""


def decode(data: bytes, path: Path | str = "<memory>") -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecodeError(
            f"{path}: not UTF-8 text (invalid byte at offset {error.start}); skipped"
        ) from None
    if "\x00" in text:
        raise DecodeError(f"{path}: looks binary (contains NUL bytes); skipped")
    return text


@dataclass(frozen=True, slots=True)
class TextChange:
    """An LSP-style change: replace [start, end) (byte offsets in the old text) with `text`."""

    start: int
    end: int
    text: str


class SourceFile:
    """An immutable snapshot: path, text, bytes, tree and line index, kept together."""

    __slots__ = ("_index", "_style", "_tree", "data", "language", "path", "text", "version")

    def __init__(
        self,
        path: Path,
        text: str,
        tree: Tree | None = None,
        version: int | None = None,
        data: bytes | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.data = data if data is not None else text.encode("utf-8")
        self.language = language_for(path)
        self.version = version
        self._index: LineIndex | None = None
        self._style: CodeStyle | None = None
        self._tree = tree

    @property
    def tree(self) -> Tree:
        """Parsed on first use: reporting a location needs only the text and the line index."""
        if self._tree is None:
            self._tree = Parser(self.language).parse(self.data)
        return self._tree

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        data = path.read_bytes()
        return cls(path, decode(data, path), data=data)

    @property
    def parsed(self) -> bool:
        return self._tree is not None

    @property
    def exact(self) -> bool:
        """Whether the syntax tree is (or, unparsed, will be) the one a fresh parse of the text
        gives: true of every snapshot but an incremental parse kept with errors (the language
        server's slice, `apply_changes(..., fresh_on_error=False)`) and what derives from one
        without errors. (Parses the snapshot if it is not parsed yet.)"""
        return True

    def unparsed(self) -> SourceFile:
        """The same snapshot without its syntax tree (parsed again if asked): the CLI keeps a
        checked file's text, not its tree, which holds most of the file's memory."""
        copy = SourceFile(self.path, self.text, version=self.version, data=self.data)
        copy._index = self._index
        copy._style = self._style
        return copy

    @property
    def root(self) -> Node:
        return self.tree.root_node

    @property
    def lines(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.data)
        return self._index

    @property
    def known_style(self) -> CodeStyle | None:
        """The style if it has been detected (or given), else None."""
        return self._style

    @known_style.setter
    def known_style(self, style: CodeStyle | None) -> None:
        """Give a snapshot the style of the one it was derived from (see `lsp.incremental`)."""
        self._style = style

    @property
    def style(self) -> CodeStyle:
        """How the file is written (indentation, quotes, semicolons, ...): what generated code follows."""
        if self._style is None:
            self._style = detect_style(self.data, self.root, self.language)
        return self._style

    def slice(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8", errors="replace")

    def node_text(self, node: Node) -> str:
        return self.slice(node.start_byte, node.end_byte)

    def line_indent(self, offset: int) -> str:
        """The leading whitespace of the line holding `offset`."""
        line = self.lines.line_of(offset)
        text = self.slice(self.lines.line_starts[line], self.lines.line_end(line))
        return text[: len(text) - len(text.lstrip())]

    def starts_line(self, offset: int) -> bool:
        """Whether only whitespace precedes `offset` on its line."""
        start = self.lines.line_starts[self.lines.line_of(offset)]
        return self.slice(start, offset).strip() == ""

    def has_errors(self) -> bool:
        return self.root.has_error

    def first_error(self) -> Node | None:
        """The first ERROR or MISSING node in document order, or None when the file parses."""
        node = self.root
        if not node.has_error:
            return None
        while True:
            if node.type == "ERROR" or node.is_missing:
                return node
            following = next((c for c in node.children if c.has_error or c.is_missing), None)
            if following is None:
                return node  # has_error with no erroneous child: the node itself
            node = following

    def error_count(self) -> int:
        """How many ERROR and MISSING nodes the tree has (outermost ERROR nodes only): what a
        fix must not increase."""
        return _error_count(self.root)


# -- edits: the one incremental re-parse (snapshots parsed on demand) ---------------------------------------------------------------------

TreeEdit = tuple[int, int, int, Point, Point, Point]  # start, old end, new end (+ their points)


class LazySource(SourceFile):
    """A document snapshot whose tree is parsed only when something asks for it.

    Keystrokes checked through the statement slice never need the whole document's tree, so
    it is not re-parsed per keystroke; the first use parses incrementally from the last
    parsed snapshot with every edit since (and afresh when the result has errors, like
    a tree with syntax errors is re-parsed from scratch, so it equals a fresh parse)."""

    __slots__ = ("_anchor", "_anchor_had_error", "_edits", "_exact", "_fresh_on_error", "_parsed")

    def __init__(
        self,
        anchor: SourceFile,
        edits: list[TreeEdit],
        data: bytes,
        lines: LineIndex | None,
        version: int | None,
        *,
        fresh_on_error: bool = True,
    ) -> None:
        super().__init__(
            anchor.path, data.decode("utf-8", errors="replace"), version=version, data=data
        )
        if lines is not None:
            self._index = lines  # (a base-class slot)
        self._anchor: SourceFile | None = anchor
        self._anchor_had_error = False
        self._edits = edits
        self._fresh_on_error = fresh_on_error
        self._parsed: Tree | None = None
        self._exact = False  # set when parsed (see `exact`)

    @property
    def parsed(self) -> bool:
        return self._parsed is not None

    @property
    def exact(self) -> bool:
        self.tree  # noqa: B018 (parsed on first use; exactness is known from then on)
        return self._exact

    @property
    def tree(self) -> Tree:
        if self._parsed is not None:
            return self._parsed
        anchor = self._anchor
        tree = self._incremental()
        # An incremental parse from a tree with syntax errors can reuse subtrees that error
        # recovery built (`<T,>(v: T) => v` kept as a type assertion after a stray `)` before
        # it was deleted): without errors itself, it may still differ from a fresh parse.
        damaged = tree.root_node.has_error or self._anchor_had_error
        if damaged and self._fresh_on_error:
            tree = Parser(self.language).parse(self.data)
            self._exact = True
        else:
            # Error-free from an error-free tree that was itself exact: the same as a fresh parse.
            self._exact = not damaged and anchor is not None and anchor.exact
        self._parsed = tree
        self._anchor = None  # let the older snapshots go
        self._edits = []
        return tree

    def quick_root(self) -> Node:
        """The root of an incremental parse, even with syntax errors (which a fresh parse
        might recover from differently): enough to find the top-level statements that the
        edits did not touch, without re-parsing a broken file from scratch."""
        if self._parsed is not None:
            return self._parsed.root_node
        anchor = self._anchor
        tree = self._incremental()
        if not tree.root_node.has_error and not self._anchor_had_error:
            self._parsed = tree  # error-free from an error-free tree: the same as a fresh parse
            self._exact = anchor is not None and anchor.exact
            self._anchor = None
            self._edits = []
        return tree.root_node

    def _incremental(self) -> Tree:
        anchor = self._anchor
        assert anchor is not None
        self._anchor_had_error = anchor.tree.root_node.has_error
        tree = anchor.tree.copy()
        for edit in self._edits:
            _edit_tree(tree, edit)
        return Parser(self.language).parse(self.data, tree)


def apply_changes(
    source: SourceFile,
    changes: Sequence[TextChange],
    version: int | None = None,
    *,
    fresh_on_error: bool = True,
) -> LazySource:
    """The snapshot after `changes` (each in the coordinates of the text before it), parsed
    lazily. `fresh_on_error=False` keeps an incremental parse that has errors (for the slice,
    whose broken statement `keep_through_syntax_errors` judges anyway)."""
    if isinstance(source, LazySource) and not source.parsed and source._anchor is not None:
        anchor, edits = source._anchor, list(source._edits)
    else:
        anchor, edits = source, []
    data = source.data
    lines = source._index  # carried along when the old snapshot had one
    for after, new_bytes, edit in _applied(source.data, changes, lines):
        data = after
        if lines is not None:
            lines = lines.edited(edit[0], edit[1], new_bytes, data)
        edits.append(edit)
    return LazySource(anchor, edits, data, lines, version, fresh_on_error=fresh_on_error)


def _applied(data: bytes, changes: Sequence[TextChange], lines: LineIndex | None = None) -> Iterator[tuple[bytes, bytes, TreeEdit]]:
    """Each change applied in turn: the text after it, its new bytes, and the tree edit that
    says so (points computed on the text before and after it). `lines`, the index of `data`,
    gives the start points that lie before every change applied so far (all of them when the
    changes come last first, as a fix's do); the other points are counted from the start
    point, not from the top of the file (`bytes.count` over a 30 kB file per point was most
    of a fix's validation)."""
    clean = len(data)  # data[:clean] is still the text `lines` indexes
    for change in changes:
        new_bytes = change.text.encode("utf-8")
        new_end = change.start + len(new_bytes)
        if lines is not None and change.start <= clean:
            start_point = lines.point(change.start)
        else:
            start_point = _point(data, change.start)
        old_end_point = _advanced(start_point, data, change.start, change.end)
        data = data[: change.start] + new_bytes + data[change.end :]
        clean = min(clean, change.start)
        yield data, new_bytes, (change.start, change.end, new_end, start_point, old_end_point, _advanced(start_point, new_bytes, 0, len(new_bytes)))


def _advanced(point: Point, data: bytes, start: int, end: int) -> Point:
    """`_point` of the offset `end`, given `point` at `start`: the same row and column counted
    only over `data[start:end]`."""
    rows = data.count(b"\n", start, end)
    if rows == 0:
        return Point(point.row, point.column + end - start)
    return Point(point.row + rows, end - (data.rfind(b"\n", start, end) + 1))


def _edit_tree(tree: Tree, edit: TreeEdit) -> None:
    start, old_end, new_end, start_point, old_end_point, new_end_point = edit
    tree.edit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=start_point,
        old_end_point=old_end_point,
        new_end_point=new_end_point,
    )


def error_count_after(source: SourceFile, changes: Sequence[TextChange]) -> int:
    """`apply_changes(source, changes).error_count()`, without the new snapshot's text and line
    index (validating a fix needs only its tree: ~300 fixes a check on a 50-file app)."""
    if isinstance(source, LazySource) and not source.parsed:
        return apply_changes(source, changes).error_count()
    data = source.data
    old = source.tree
    tree = old.copy()
    for after, _, edit in _applied(source.data, changes, source.lines):
        data = after
        _edit_tree(tree, edit)
    parser = Parser(source.language)
    tree = parser.parse(data, tree)
    # As `LazySource.tree` does: afresh when either tree has errors.
    if tree.root_node.has_error or old.root_node.has_error:
        tree = parser.parse(data)
    return _error_count(tree.root_node)


def _error_count(root: Node) -> int:
    if not root.has_error:
        return 0
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            count += 1
        elif node.has_error:
            stack.extend(node.children)
    return count


def _point(data: bytes, offset: int) -> Point:
    """tree-sitter's point (rows by `\\n` only, byte columns), without building a line index."""
    row = data.count(b"\n", 0, offset)
    return Point(row, offset - (data.rfind(b"\n", 0, offset) + 1))
