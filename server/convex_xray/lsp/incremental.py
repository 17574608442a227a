"""Keeping an open document's findings in step with keystrokes, cheaply.

Two things live here, both pure (no LSP types):

* Findings carried through edits: byte spans shifted by each `TextChange`; a finding whose
  code was edited is dropped. Used to keep good diagnostics of code that a syntax error
  mid-typing has made unparsable (tree-sitter recovers, but the damaged statement's model
  is unreliable), and as the base of the statement slice below.
* The statement slice: typing inside one Convex function's `query({...})` argument cannot
  change what the rules say about the file's *other* Convex functions (they only see the
  file through its imports, helpers and builders, which the slice keeps). So the slice is the
  document with every other Convex function definition blanked to spaces (byte offsets and
  line breaks preserved), re-parsed incrementally alongside the document; only it is
  analysed and checked, and the other functions' findings come from the previous check,
  moved with the edits (the line numbers in their messages too). A full check (the same
  as the CLI's) runs when an edit leaves that shape, and when the editor goes idle, to
  reconcile cross-file results. `tests/lsp/test_units.py` holds the two to the same results.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.findings import Edit, Finding, Fix, Related, Span
from convex_xray.engine.fixes import Reference
from convex_xray.engine.model import FileModel
from convex_xray.engine.source import LazySource, SourceFile, TextChange, apply_changes

# -- carrying findings through edits -------------------------------------------------------------


def shift_range(start: int, end: int, change: TextChange) -> tuple[int, int] | None:
    """[start, end) after `change`, or None when the change touches it."""
    if end <= change.start:
        return start, end
    if start >= change.end:
        delta = len(change.text.encode("utf-8")) - (change.end - change.start)
        return start + delta, end + delta
    return None


def _shift_fix(fix: Fix | None, path: Path, change: TextChange) -> Fix | None:
    if fix is None:
        return None
    edits = []
    for edit in fix.edits:
        if edit.path != path:
            edits.append(edit)
            continue
        moved = shift_range(edit.start, edit.end, change)
        if moved is None:
            return None  # the fix rewrites code that was just edited: out of date
        edits.append(Edit(path, moved[0], moved[1], edit.new_text))
    return Fix(fix.title, tuple(edits), fix.applicability)


LineShift = tuple[
    int, int
]  # (1-based line where a change starts, lines it adds; negative: removes)

_NO_END = sys.maxsize  # sorts after every range starting at the same offset

_LINE_NUMBER = re.compile(r"\bline (\d+)")


def line_shifts(data: bytes, changes: Sequence[TextChange]) -> list[LineShift]:
    """For each change (applied in order to `data`), where it starts and how many lines it adds."""
    shifts: list[LineShift] = []
    for change in changes:
        new_bytes = change.text.encode("utf-8")
        line = data.count(b"\n", 0, change.start) + 1
        shifts.append((line, new_bytes.count(b"\n") - data.count(b"\n", change.start, change.end)))
        if len(changes) > 1:
            data = data[: change.start] + new_bytes + data[change.end :]
    return shifts


def _renumber(text: str, shift: LineShift | None) -> str:
    """Line numbers in a finding's text after lines were added or removed above them. (Rules
    name lines of the finding's own function: a loop header, a disable comment.)"""
    if shift is None or shift[1] == 0 or "line " not in text:
        return text
    line, delta = shift
    return _LINE_NUMBER.sub(
        lambda m: f"line {int(m.group(1)) + delta}" if int(m.group(1)) > line else m.group(0), text
    )


def shift_finding(
    finding: Finding, path: Path, change: TextChange, shift: LineShift | None = None
) -> Finding | None:
    """The finding after an edit of `path`; its fixes move with it, or go when the edit
    touches their code; line numbers in its text follow too."""
    if finding.span.path != path or _before(finding, path, change.start):
        return finding
    moved = shift_range(finding.span.start, finding.span.end, change)
    if moved is None:
        return None
    related: list[Related] = []
    for item in finding.related:
        message = _renumber(item.message, shift)
        if item.span.path != path:
            related.append(Related(item.span, message))
        elif (span := shift_range(item.span.start, item.span.end, change)) is not None:
            related.append(Related(Span(path, *span), message))
    alternatives = [
        a for a in (_shift_fix(f, path, change) for f in finding.alternatives) if a is not None
    ]
    return replace(
        finding,
        span=Span(path, *moved),
        message=_renumber(finding.message, shift),
        related=related,
        fix=_shift_fix(finding.fix, path, change),
        alternatives=alternatives,
    )


def _before(finding: Finding, path: Path, offset: int) -> bool:
    """Everything of the finding in `path` ends before `offset` (an edit there leaves it alone)."""
    if finding.span.end > offset:
        return False
    if any(r.span.path == path and r.span.end > offset for r in finding.related):
        return False
    for fix in (finding.fix, *finding.alternatives):
        if fix is not None and any(e.path == path and e.end > offset for e in fix.edits):
            return False
    return True


def shift_findings(
    findings: Iterable[Finding],
    path: Path,
    changes: Sequence[TextChange],
    shifts: Sequence[LineShift] | None = None,
) -> list[Finding]:
    result = list(findings)
    for number, change in enumerate(changes):
        shift = shifts[number] if shifts is not None else None
        result = [
            moved for f in result if (moved := shift_finding(f, path, change, shift)) is not None
        ]
    return result


def merge_change(
    first: tuple[TextChange, LineShift], second: tuple[TextChange, LineShift]
) -> tuple[TextChange, LineShift] | None:
    """One change doing what `first` then `second` do, when `second` only rewrites text that
    `first` put in (typing, backspacing, pasting over a paste); None otherwise. A burst of
    keystrokes then moves the findings once, not once per keystroke."""
    (a, (line, lines_a)), (b, (_, lines_b)) = first, second
    inserted = a.text.encode("utf-8")
    if not (a.start <= b.start and b.end <= a.start + len(inserted)):
        return None
    if lines_a != inserted.count(b"\n"):
        # `first` removed line breaks: then `second` may start on a line that messages of
        # other findings name, which shifting edit by edit renumbers differently.
        return None
    merged = inserted[: b.start - a.start] + b.text.encode("utf-8") + inserted[b.end - a.start :]
    try:
        text = merged.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return TextChange(a.start, a.end, text), (line, lines_a + lines_b)


class Carried:
    """Findings kept in step with edits, lazily: the edits queue up (merged where one only
    rewrites what the previous one typed) and move the findings when they are next read, so
    a burst of keystrokes costs one pass over the findings, not one per keystroke."""

    __slots__ = ("_findings", "_pending", "path")

    def __init__(self, path: Path, findings: Iterable[Finding] = ()) -> None:
        self.path = path
        # (A list is kept as it is: a document and its base share one, moved once per edit.)
        self._findings = findings if isinstance(findings, list) else list(findings)
        self._pending: list[tuple[TextChange, LineShift]] = []

    def edit(self, changes: Sequence[TextChange], shifts: Sequence[LineShift]) -> None:
        if not self._findings:
            return  # nothing to move (and nothing can appear by moving)
        pending = self._pending
        for item in zip(changes, shifts, strict=True):
            merged = merge_change(pending[-1], item) if pending else None
            if merged is not None:
                pending[-1] = merged
            else:
                pending.append(item)

    def get(self) -> list[Finding]:
        if self._pending:
            changes = [c for c, _ in self._pending]
            shifts = [s for _, s in self._pending]
            self._findings = shift_findings(self._findings, self.path, changes, shifts)
            self._pending = []
        return self._findings


def damaged_ranges(source: SourceFile) -> list[tuple[int, int]]:
    """Byte ranges of the top-level statements that contain a syntax error."""
    root = source.root
    if not root.has_error:
        return []
    ranges: list[tuple[int, int]] = []
    if root.type == "ERROR" or root.is_missing:
        return [(0, len(source.data))]
    for statement in root.children:
        if statement.has_error or statement.type == "ERROR" or statement.is_missing:
            ranges.append((statement.start_byte, statement.end_byte))
    return _merge(ranges)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _inside(span: Span, ranges: list[tuple[int, int]]) -> bool:
    """Whether `span` lies in one of `ranges` (sorted, disjoint: a binary search, as a
    3,000-line file has a hundred blanked functions and a hundred findings per keystroke)."""
    at = bisect.bisect_right(ranges, (span.start, _NO_END)) - 1
    return at >= 0 and span.end <= ranges[at][1]


def keep_through_syntax_errors(
    fresh: list[Finding], carried: list[Finding], source: SourceFile
) -> list[Finding]:
    """`fresh` findings, except inside statements that do not parse, where the carried
    (pre-error) findings stand until the code parses again."""
    damaged = damaged_ranges(source)
    if not damaged:
        return fresh
    path = source.path
    kept = [f for f in fresh if f.span.path != path or not _inside(f.span, damaged)]
    kept += [f for f in carried if f.span.path == path and _inside(f.span, damaged)]
    return sorted(kept, key=Finding.sort_key)


# -- the statement slice ---------------------------------------------------------------------------


def _declaration(statement: Node) -> Node | None:
    if statement.type == "export_statement":
        statement = statement.child_by_field_name("declaration") or statement
    if statement.type not in ("lexical_declaration", "variable_declaration"):
        return None
    return statement


def _named_value(statement: Node, value_type: str) -> tuple[str, Node] | None:
    """`[export] const name[: T] = <value>` with one declarator, a plain name and a value of
    `value_type` -> (name, value)."""
    declaration = _declaration(statement)
    if declaration is None:
        return None
    declarators = [c for c in declaration.named_children if c.type == "variable_declarator"]
    if len(declarators) != 1:
        return None
    name = declarators[0].child_by_field_name("name")
    value = declarators[0].child_by_field_name("value")
    if name is None or name.type != "identifier" or name.text is None or value is None or value.type != value_type:
        return None
    return name.text.decode("utf-8", errors="replace"), value


def definition_call(statement: Node) -> tuple[str, Node] | None:
    """`[export] const name = builder(<args>)` -> (name, the arguments node)."""
    found = _named_value(statement, "call_expression")
    if found is None:
        return None
    arguments = found[1].child_by_field_name("arguments")
    if arguments is None or arguments.type != "arguments":
        return None
    return found[0], arguments


def convex_definitions(model: FileModel) -> frozenset[str]:
    """Names of the top-level statements of `model` that define a Convex function."""
    names: set[str] = set()
    starts = {
        f.definition.start_byte for f in model.functions if f.kind.is_convex and f.parent is None
    }
    if not starts:
        return frozenset()
    for statement in model.source.root.named_children:
        if not any(statement.start_byte <= s < statement.end_byte for s in starts):
            continue
        found = definition_call(statement)
        if found is not None:
            names.add(found[0])
    return frozenset(names)


@dataclass
class Base:
    """What the last full check of a document left for the fast path."""

    convex_names: frozenset[str]  # top-level Convex function definitions (by const name)
    statement_count: int
    carried: Carried  # file + workspace findings, kept in step with edits
    # The edited byte range since the full check (current coordinates).
    dirty: tuple[int, int] | None = None
    # The text `carried` describes (what `dirty` is relative to; see `lsp.outside`).
    source: SourceFile | None = None
    # Top-level object constants holding a Convex function (`convex_objects`).
    convex_objects: frozenset[str] = frozenset()

    @property
    def findings(self) -> list[Finding]:
        return self.carried.get()

    def advance(self, changes: Sequence[TextChange], shifts: Sequence[LineShift]) -> None:
        """Follow edits: move the findings (lazily) and grow the dirty range."""
        self.carried.edit(changes, shifts)
        for change in changes:
            new_end = change.start + len(change.text.encode("utf-8"))
            if self.dirty is None:
                self.dirty = (change.start, new_end)
                continue
            start, end = self.dirty
            # The dirty range in the coordinates after this change.
            if change.end <= start:
                delta = new_end - change.end
                start, end = start + delta, end + delta
            elif change.start < end:
                end = max(end + new_end - change.end, new_end)
            self.dirty = (min(start, change.start), max(end, new_end))


@dataclass
class Slice:
    """A document with every Convex function definition but `live` blanked out."""

    live: str
    source: SourceFile
    arguments: tuple[int, int]  # the live builder call's `(...)`, byte range (doc coordinates)
    blanked: list[tuple[int, int]] = field(default_factory=list)  # blanked ranges (doc coordinates)
    # The last text of the slice that parsed (exactly), for validating fixes outside the live
    # arguments while they do not parse (`follow_reference`).
    reference: Reference | None = None


def statements_root(source: SourceFile) -> Node:
    """A root to find top-level statements in (see `LazySource.quick_root`)."""
    return source.quick_root() if isinstance(source, LazySource) else source.root


def live_statement(root: Node, base: Base) -> tuple[str, Node] | None:
    """The Convex definition whose builder arguments contain every edit since the full check:
    (its name, the arguments node)."""
    if base.dirty is None:
        return None
    statements = root.named_children
    if len(statements) != base.statement_count:
        return None
    start, end = base.dirty
    for statement in statements:
        if statement.end_byte < start:
            continue
        if statement.start_byte > end:
            break
        found = definition_call(statement)
        if found is None or found[0] not in base.convex_names:
            return None
        name, arguments = found
        if arguments.start_byte < start and end < arguments.end_byte:
            return name, arguments
        return None
    return None


_BLANK = bytes(c if c in (10, 13) else 32 for c in range(256))  # keep line breaks, blank the rest


def build_slice(
    source: SourceFile, root: Node, base: Base, live: str | frozenset[str], arguments: Node | None
) -> Slice:
    """`source` with every Convex definition blanked except `live` (one name, or several
    for an edit outside every function: `lsp.outside`, which has no `arguments` to follow)."""
    keep = frozenset((live,)) if isinstance(live, str) else live
    data = bytearray(source.data)
    blanked: list[tuple[int, int]] = []
    for statement in root.named_children:
        found = definition_call(statement)
        if found is None or found[0] in keep or found[0] not in base.convex_names:
            continue
        start, end = statement.start_byte, statement.end_byte
        data[start:end] = bytes(data[start:end]).translate(_BLANK)
        blanked.append((start, end))
    if arguments is not None and isinstance(live, str):
        for start, end in _definition_objects(source, root, base.convex_objects, live):
            data[start:end] = bytes(data[start:end]).translate(_BLANK)
            blanked.append((start, end))
        blanked.sort()
    blank = bytes(data)
    text = blank.decode("utf-8", errors="replace")
    snapshot = SourceFile(source.path, text, version=source.version, data=blank)
    where = (arguments.start_byte, arguments.end_byte) if arguments is not None else (0, 0)
    return Slice(",".join(sorted(keep)), snapshot, where, blanked)


def _object_const(statement: Node) -> str | None:
    """`[export] const name[: T] = { ... };` -> name."""
    found = _named_value(statement, "object")
    return found[0] if found is not None else None


def convex_objects(model: FileModel) -> frozenset[str]:
    """Names of the top-level object constants of `model` that hold a function (as in the
    split form of a Convex function, `const sendConfig: any = { args, handler }` then
    `internalMutation(sendConfig)`; the model may take such a handler for a helper)."""
    starts = [f.definition.start_byte for f in model.functions if f.parent is None]
    names: set[str] = set()
    if not starts:
        return frozenset()
    for statement in model.source.root.named_children:
        if any(statement.start_byte <= s < statement.end_byte for s in starts):
            name = _object_const(statement)
            if name is not None:
                names.add(name)
    return frozenset(names)


def _definition_objects(
    source: SourceFile, root: Node, objects: frozenset[str], live: str
) -> list[tuple[int, int]]:
    """The statements of Convex functions defined from an object, for the slice to blank:
    each object constant in `objects` with the statements that define functions from it
    (`export const send = internalMutation(sendConfig)`), when nothing else names the object
    or what is defined from it (an object the live function or a helper reads stays, with its
    definitions; so does one whose definition something reads). Without this,
    every keystroke analysed and checked every such function again (one pair per function
    in some apps: 450 of 2,500 lines in a ConvexPress module)."""
    if not objects:
        return []
    statements = root.named_children
    holders: dict[str, Node] = {}
    for statement in statements:
        name = _object_const(statement)
        if name is not None and name in objects:
            holders[name] = statement
    if not holders:
        return []
    # Statements naming each object (other than its own): only `const x = builder(object)`
    # definitions, none of them the live one, may.
    users: dict[str, list[Node]] = {name: [] for name in holders}
    stop: set[str] = set()
    pattern = re.compile(rb"(?<![\w$])(" + b"|".join(re.escape(n.encode()) for n in holders) + rb")(?![\w$])")
    data = source.data
    starts = [s.start_byte for s in statements]
    for match in pattern.finditer(data):
        name = match.group(1).decode()
        at = bisect.bisect_right(starts, match.start()) - 1
        if at < 0 or match.start() >= statements[at].end_byte:
            stop.add(name)  # between statements (a comment): keep it, to be safe
            continue
        statement = statements[at]
        if statement.start_byte == holders[name].start_byte:
            continue
        found = definition_call(statement)
        if (
            found is None
            or found[0] == live
            or data[found[1].start_byte + 1 : found[1].end_byte - 1].strip() != match.group(1)
        ):
            stop.add(name)
            continue
        users[name].append(statement)
    out: list[tuple[int, int]] = []
    for name, statement in holders.items():
        if name in stop or not users[name]:
            continue
        if any(_named_elsewhere(data, definition) for definition in users[name]):
            continue
        out += [(s.start_byte, s.end_byte) for s in (statement, *users[name])]
    return sorted(set(out))


def _named_elsewhere(data: bytes, statement: Node) -> bool:
    """Whether the const that `statement` defines is named outside it."""
    found = definition_call(statement)
    if found is None:
        return True
    name = re.escape(found[0].encode())
    return any(
        not statement.start_byte <= m.start() < statement.end_byte
        for m in re.finditer(rb"(?<![\w$])" + name + rb"(?![\w$])", data)
    )


def advance_slice(piece: Slice, changes: Sequence[TextChange], version: int | None) -> Slice | None:
    """Apply edits of the live function's arguments to the slice; None if one lands outside.

    The text outside those arguments is untouched, so the slice stays exact even while a
    half-typed expression makes the parser see the statement differently."""
    source = piece.source
    start, end = piece.arguments
    blanked = piece.blanked
    style = source.known_style
    for change in changes:
        if not (start < change.start and change.end < end):
            return None
        source = apply_changes(source, [change], version, fresh_on_error=False)
        # How the file is written (what fixes are laid out in) does not change with a
        # keystroke inside one function's arguments: detected once per slice, not per
        # keystroke (a whole-text pass, 20 ms in a 2,500-line file).
        source.known_style = style
        delta = len(change.text.encode("utf-8")) - (change.end - change.start)
        end += delta
        blanked = [(s + delta, e + delta) if s >= change.end else (s, e) for s, e in blanked]
    piece.source = source
    piece.arguments = (start, end)
    piece.blanked = blanked
    return piece


def earlier_reference(piece: Slice, earlier: SourceFile | None) -> Reference | None:
    """The fix reference of a slice just built: the slice with the live arguments as they were
    in `earlier` (the document's text at its last check; every edit since lies inside those
    arguments, see `live_statement`). Parsed when a fix first asks, afresh: one parse per
    slice, not per keystroke."""
    if earlier is None:
        return None
    start, end = piece.arguments
    data = piece.source.data
    end_then = end - (len(data) - len(earlier.data))
    if not start < end_then <= len(earlier.data):
        return None
    text = data[:start] + earlier.data[start:end_then] + data[end:]
    reference = Reference(
        SourceFile(piece.source.path, text.decode("utf-8", errors="replace"), data=text),
        start,
        end_then,
    )
    reference.end = end
    return reference


def follow_reference(piece: Slice) -> Reference | None:
    """The slice's fix reference after its latest edits (parses the slice): the slice itself
    when it parses and its tree is a fresh parse's (free: the tree is at hand), else the one
    it had, its range moved with the edits. While typing leaves the live function broken, a
    fix elsewhere in the slice (a helper's batch fetch) is then validated once against that
    text, not re-parsed from scratch with the broken one per keystroke
    (`engine.fixes.Reference`)."""
    source = piece.source
    start, end = piece.arguments
    if not source.root.has_error and source.exact:
        piece.reference = Reference(source, start, end)
    elif piece.reference is not None:
        piece.reference.end = end
    return piece.reference


def in_blanked(span: Span, piece: Slice) -> bool:
    return _inside(span, piece.blanked)
