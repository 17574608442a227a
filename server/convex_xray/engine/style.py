"""The file's own code style, and a small layout engine that prints generated code in it.

Every fix that writes new code (a prefetch before a loop, a rewritten index range, a
`Promise.all` over a list, a timeout option) asks `code_style(source)` how the file is
written — line break, one indentation step, quote, semicolons, trailing commas, line width
— and lays its code out with `render`, so the result reads like the code around it: no
150-character lines, no `(q) =>q.eq(…),)`, no double quotes in a single-quote file.

The style is read from the text once per snapshot (`SourceFile.style`): whatever most of the
file does wins, with prettier's defaults (2 spaces, double quotes, semicolons, trailing
commas, 80 columns) when the file does not tell. The layout is the classic "group fits on
the rest of the line, else break it" printer (Wadler; what prettier uses), with just the
document kinds generated code needs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeAlias, cast

from tree_sitter import Language, Node, Query, QueryCursor

PRINT_WIDTH = 80  # prettier's default printWidth
WIDTHS = (80, 100, 120)  # the widths a formatter is commonly set to


@dataclass(frozen=True, slots=True)
class CodeStyle:
    newline: str = "\n"
    indent: str = "  "  # one indentation step
    quote: str = '"'
    semicolons: bool = True
    trailing_commas: bool = True  # after the last item of a broken argument list or array
    width: int = PRINT_WIDTH

    @property
    def semi(self) -> str:
        return ";" if self.semicolons else ""

    def string(self, value: str) -> str:
        """`value` as a string literal in the file's quote (values here are names: no escapes)."""
        return f"{self.quote}{value}{self.quote}"


DEFAULT_STYLE = CodeStyle()


def first_break(data: bytes) -> str:
    """The file's line break: that of its first line (`\\n` when it has none)."""
    index = data.find(b"\n")
    if index > 0 and data[index - 1 : index] == b"\r":
        return "\r\n"
    return "\n"


_STRING = re.compile(rb"""(?<![\w`])(['"])(?:\\.|(?!\1)[^\\\n])*\1""")
# Statements that end in a semicolon unless the file relies on ASI; closers of lists that
# may take a trailing comma.
_STATEMENTS = """
[(expression_statement) (lexical_declaration) (variable_declaration) (return_statement)
 (import_statement) (throw_statement)] @statement
[(object "}" @close) (array "]" @close) (arguments ")" @close)]
"""
_SAMPLE = 400  # statements and lists looked at: plenty to tell a file's habit


@cache
def _statements_query(language: Language) -> Query:
    return Query(language, _STATEMENTS)


def detect_style(data: bytes, root: Node | None = None, language: Language | None = None) -> CodeStyle:
    """The style most of the text follows; prettier's defaults for what it does not show.
    With the parse tree, semicolons and trailing commas are counted on it (else guessed
    from the text)."""
    lines = data.split(b"\n")
    semicolons, commas = _punctuation(root, language) if root is not None and language is not None else (True, True)
    return CodeStyle(
        newline=first_break(data),
        indent=_indent_step(lines),
        quote=_quote(data),
        semicolons=semicolons,
        trailing_commas=commas,
        width=_width(lines),
    )


def _punctuation(root: Node, language: Language) -> tuple[bool, bool]:
    """(ends statements with `;`, puts a comma after the last item of a broken list)."""
    votes: Counter[str] = Counter()
    cursor = QueryCursor(_statements_query(language))
    for index, captures in cursor.matches(root):
        if sum(votes.values()) > _SAMPLE:
            break
        if index == 0:
            statement = captures["statement"][0]
            last = statement.children[-1] if statement.children else None
            votes["semi" if last is not None and last.type == ";" else "bare"] += 1
            continue
        close = captures["close"][0]
        previous = close.prev_sibling
        while previous is not None and previous.type == "comment":
            previous = previous.prev_sibling
        if previous is None or previous.type in ("{", "[", "(") or previous.end_point.row == close.start_point.row:
            continue  # empty, or closed on the line of its last item: no comma either way
        votes["comma" if previous.type == "," else "no-comma"] += 1
    return votes["semi"] >= votes["bare"], votes["comma"] >= votes["no-comma"]


def _quote(data: bytes) -> str:
    counts = Counter(m.group(1) for m in _STRING.finditer(data) if not m.group(0).startswith(b"'use"))
    return "'" if counts[b"'"] > counts[b'"'] else '"'


def _indent_step(lines: Sequence[bytes]) -> str:
    """The usual increase in indentation from one line to the next (a tab when lines start with tabs)."""
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous = 0
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith((b"*", b"//")):
            continue
        if line.startswith(b"\t"):
            tabs += 1
            continue
        width = len(line) - len(line.lstrip(b" "))
        if width:
            spaces += 1
        if width > previous:
            steps[width - previous] += 1
        previous = width
    if tabs > spaces:
        return "\t"
    step = max((s for s in (2, 4) if steps[s]), key=lambda s: steps[s], default=2)
    return " " * step


def _width(lines: Sequence[bytes]) -> int:
    """80, or the next common width when enough of the file's code lines are longer."""
    code = [len(line.rstrip()) for line in lines if line.strip() and not line.lstrip().startswith((b"//", b"*", b"/*"))]
    for width in WIDTHS:
        longer = sum(1 for n in code if n > width)
        if longer <= max(2, len(code) // 100):
            return width
    return WIDTHS[-1]


# -- layout ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """A break point: a space (or nothing, when `soft`) if its group fits on the line, else a
    line break at the current indentation."""

    soft: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """Printed on one line when it fits, else with every `Line` directly in it broken."""

    parts: tuple[Doc, ...]


@dataclass(frozen=True, slots=True)
class Nest:
    """One indentation step more for the lines broken inside."""

    parts: tuple[Doc, ...]


@dataclass(frozen=True, slots=True)
class IfBroken:
    """Text printed only when the enclosing group is broken (a trailing comma)."""

    text: str


@dataclass(frozen=True, slots=True)
class Lines:
    """Text that keeps its own line breaks (code copied from the file, already formatted):
    its later lines keep their indentation relative to its first, moved to where it lands.
    It never fits on one line, so the groups around it break."""

    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Arrow:
    """`(params) => body`: the body moves to its own indented line when it does not fit."""

    params: str
    body: Doc

    @property
    def layout(self) -> Group:
        return Group((f"({self.params}) =>", Nest((LINE, self.body))))


Doc: TypeAlias = "str | Line | Group | Nest | IfBroken | Lines | Arrow | tuple[Doc, ...]"

LINE = Line()
SOFT = Line(soft=True)


def group(*parts: Doc) -> Group:
    return Group(parts)


def nest(*parts: Doc) -> Nest:
    return Nest(parts)


def copied(text: str, indent: str | None = None) -> Doc:
    """Source text as a document: one string, or `Lines` when it spans lines. `indent` is the
    indentation of the line the text starts on: the later lines keep theirs relative to it
    (default: the least indented of them lands at the current indentation, right for a
    `.member(…)` whose closing line is level with it)."""
    lines = text.splitlines()
    if len(lines) <= 1:
        return text
    if indent is None:
        base = min((len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()), default=0)
    else:
        base = len(indent)
    return Lines((lines[0], *(line[base:] if line[:base].strip() == "" else line.lstrip() for line in lines[1:])))


def call(callee: Doc, args: Sequence[Doc], style: CodeStyle) -> Doc:
    """`callee(a, b)`, or with one argument per line (and the file's trailing comma) when it
    does not fit; a last function argument after plain ones is hugged (`f(a, (x) =>` / body
    / `)`), as prettier does."""
    if not args:
        return (callee, "()")
    last = args[-1]
    if isinstance(last, Arrow) and all(isinstance(a, str) and "\n" not in a for a in args[:-1]):
        return hugged_call(callee, [cast(str, a) for a in args[:-1]], last.params, last.body, style)
    comma = IfBroken(",") if style.trailing_commas else ""
    return group(callee, "(", nest(SOFT, *_separated(args), comma), SOFT, ")")


def arrow(params: str, body: Doc) -> Arrow:
    """`(x) => body`, the body on its own indented line when it does not fit after the arrow."""
    return Arrow(params, body)


def hugged_call(callee: Doc, args: Sequence[str], params: str, body: Doc, style: CodeStyle) -> Doc:
    """`callee(a, (x) => body)` whose last argument is a function: when it does not fit, only
    the body moves to its own line (`callee(a, (x) =>` / `  body,` / `)`), as prettier does."""
    comma = IfBroken(",") if style.trailing_commas else ""
    head = "".join(f"{a}, " for a in args)
    return group(callee, f"({head}({params}) =>", nest(LINE, body, comma), SOFT, ")")


def array(items: Sequence[Doc], style: CodeStyle) -> Doc:
    """`[a, b]`, or one item per line when it does not fit."""
    comma = IfBroken(",") if style.trailing_commas else ""
    return group("[", nest(SOFT, *_separated(items), comma), SOFT, "]")


def _separated(items: Sequence[Doc]) -> list[Doc]:
    """`a`, `,` LINE, `b`, ...: items separated by a comma and a line break (a space when the
    group fits on one line)."""
    spread: list[Doc] = []
    for i, item in enumerate(items):
        spread.append(item)
        if i < len(items) - 1:
            spread += [",", LINE]
    return spread


def chain(receiver: Doc, members: Sequence[Doc]) -> Doc:
    """`a.b(…).c(…)` on one line, or with one `.member(…)` per line; a single call is never
    broken off its receiver (`xs.map(…)`), as prettier does."""
    if len(members) <= 1:
        return (receiver, *members)
    return group(receiver, nest(*((SOFT, m) for m in members)))


def render(doc: Doc, style: CodeStyle, indent: str = "", column: int | None = None) -> str:
    """Print `doc` starting at `column` (default: right after `indent`) with continuation lines
    indented from `indent`."""
    out: list[str] = []
    col = len(indent) if column is None else column
    # (indentation, broken?, doc), last on top
    stack: list[tuple[str, bool, Doc]] = [(indent, True, doc)]
    while stack:
        ind, broken, item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            col += len(item)
        elif isinstance(item, tuple):
            stack.extend((ind, broken, part) for part in reversed(item))
        elif isinstance(item, Line):
            if broken:
                out.append(style.newline + ind)
                col = len(ind)
            elif not item.soft:
                out.append(" ")
                col += 1
        elif isinstance(item, Arrow):
            stack.append((ind, broken, item.layout))
        elif isinstance(item, Group):
            flat = broken and _fits(item, stack, style.width - col)
            stack.append((ind, not flat if broken else False, item.parts))
        elif isinstance(item, Nest):
            stack.append((ind + style.indent, broken, item.parts))
        elif isinstance(item, IfBroken):
            if broken:
                out.append(item.text)
                col += len(item.text)
        else:  # Lines
            first, *rest = item.lines
            out.append(first)
            for line in rest:
                out.append(style.newline + (ind + line if line else ""))
            col = len(ind) + len(rest[-1]) if rest else col + len(first)
    return "".join(out)


def _fits(group_doc: Group, rest: list[tuple[str, bool, Doc]], room: int) -> bool:
    """Whether the group printed flat, and what follows it up to the next break, fits in `room`."""
    todo: list[tuple[bool, Doc]] = [(False, group_doc.parts)]
    following = len(rest)
    while room >= 0:
        if not todo:
            if following == 0:
                return True
            following -= 1
            _, broken, item = rest[following]
            todo.append((broken, item))
            continue
        broken, item = todo.pop()
        if isinstance(item, str):
            room -= len(item)
        elif isinstance(item, tuple):
            todo.extend((broken, part) for part in reversed(item))
        elif isinstance(item, Line):
            if broken:
                return True
            room -= 0 if item.soft else 1
        elif isinstance(item, (Group, Nest)):
            todo.append((broken, item.parts))
        elif isinstance(item, Arrow):
            todo.append((broken, item.layout))
        elif isinstance(item, IfBroken):
            if broken:
                room -= len(item.text)
        else:  # Lines: a hard break
            return False if not broken else room - len(item.lines[0]) >= 0
    return False
