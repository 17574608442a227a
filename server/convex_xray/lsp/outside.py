"""Edits outside every Convex function: which functions they can change.

The statement slice (`incremental`) covers typing inside one Convex function's arguments.
Typing anywhere else (a comment at the top, an import, a helper, a top-level constant) used
to re-check the whole file. Here such an edit is compared statement by statement with the
text of the last check:

* nothing but comments and whitespace changed (and no disable comment is near): every
  finding stays as it was, moved with the edit: no analysis at all;
* some top-level statements that are not Convex function definitions changed: the names
  they declare (before and after: an import's bindings, a helper's or constant's name),
  grown through the unchanged helpers that mention them, are what can reach a Convex
  function. Only the definitions that mention one of those names are checked again (in a
  slice with every other definition blanked, like the statement slice); the others keep
  their findings, moved with the edit;
* anything else (a Convex definition's own header, a `"use node"` directive, statements
  appearing or disappearing, a disable comment nearby): a full check, as before.

Pure functions over tree-sitter nodes; no LSP types.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tree_sitter import Node

from convex_xray.lsp.incremental import definition_call

# Identifier-like leaves that can bind or mention a top-level name.
_NAME_TYPES = frozenset(
    {"identifier", "type_identifier", "shorthand_property_identifier_pattern", "shorthand_property_identifier"}
)
# Statements that declare what their `name` field holds.
_NAMED = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
    }
)
_TRIVIA = frozenset({"comment", "empty_statement"})
# Suppression comments (`convex-xray-disable...`, `eslint-disable...`): moving one relative to
# the code it names changes findings, so edits near one take the full check.
_DISABLE = b"-disable"


@dataclass(frozen=True)
class Outside:
    """What an edit outside every Convex function changed."""

    changed: bool  # False: only comments/whitespace moved (keep every finding)
    live: frozenset[str]  # Convex definitions (by const name) to check again
    broken: bool = False  # a statement in the edit does not parse: keep every finding for now


def _text(data: bytes, node: Node) -> bytes:
    return data[node.start_byte : node.end_byte]


def _mentioned(node: Node, out: set[str]) -> None:
    """Every identifier-like leaf under `node` (conservative: bindings and uses alike)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in _NAME_TYPES:
            if current.text is not None:
                out.add(current.text.decode("utf-8", errors="replace"))
            continue
        stack.extend(current.named_children)


def declared_names(statement: Node) -> set[str] | None:
    """The top-level names `statement` binds (None: a statement whose change can reach every
    function, such as a directive). Unfamiliar or broken statements give every identifier in
    them: more functions checked again, never fewer."""
    kind = statement.type
    names: set[str] = set()
    if kind in _TRIVIA:
        return names
    if statement.has_error or statement.is_missing:
        _mentioned(statement, names)
        return names
    if kind == "export_statement":
        declaration = statement.child_by_field_name("declaration")
        if declaration is not None:
            return declared_names(declaration)
        _mentioned(statement, names)
        return names
    if kind == "import_statement":
        for child in statement.named_children:
            if child.type == "import_clause":
                _mentioned(child, names)
        return names
    if kind in _NAMED:
        name = statement.child_by_field_name("name")
        if name is not None and name.text is not None:
            names.add(name.text.decode("utf-8", errors="replace"))
            return names
    elif kind in ("lexical_declaration", "variable_declaration"):
        for declarator in statement.named_children:
            if declarator.type == "variable_declarator":
                name = declarator.child_by_field_name("name")
                if name is not None:
                    _mentioned(name, names)
        return names
    elif kind == "expression_statement":
        first = statement.named_children[0] if statement.named_children else None
        if first is not None and first.type == "string":
            return None  # a directive ("use node"): the runtime of every function
    _mentioned(statement, names)
    return names


def _import_bindings(statement: Node) -> tuple[tuple[bytes, ...], frozenset[tuple[str, bytes]]] | None:
    """An import as (its text outside the braces and names, {(local name, how it is bound)}):
    two imports that differ only in some bindings change only those names."""
    if statement.type != "import_statement" or statement.has_error:
        return None
    rest: list[bytes] = []
    bindings: set[tuple[str, bytes]] = set()
    for child in statement.children:
        if child.type != "import_clause":
            rest.append(child.text or b"")
            continue
        for part in child.named_children:
            if part.type == "named_imports":
                specifiers = [s for s in part.named_children if s.type == "import_specifier"]
            else:
                specifiers = [part]  # a default import or `* as name`
            for specifier in specifiers:
                names: set[str] = set()
                _mentioned(specifier, names)
                binding = b" ".join((specifier.text or b"").split())
                for name in names:
                    bindings.add((name, binding))
    return tuple(rest), frozenset(bindings)


def _changed_names(old: Node, new: Node) -> set[str] | None:
    """The names an edit of one top-level statement (`old` -> `new`) can change."""
    if old.type == new.type == "import_statement":
        before, after = _import_bindings(old), _import_bindings(new)
        if before is not None and after is not None and before[0] == after[0]:
            return {name for name, _ in before[1] ^ after[1]}
    names = declared_names(old)
    more = declared_names(new)
    if names is None or more is None:
        return None
    return names | more


def _code(statements: Iterable[Node]) -> list[Node]:
    return [s for s in statements if s.type != "comment"]


def _near_disable(data: bytes, start: int, end: int) -> bool:
    """A suppression comment on the lines from the one before `start` to the one of `end`."""
    line_start = data.rfind(b"\n", 0, start)
    line_start = data.rfind(b"\n", 0, max(line_start, 0)) + 1 if line_start > 0 else 0
    line_end = data.find(b"\n", end)
    return _DISABLE in data[line_start : line_end if line_end >= 0 else len(data)]


def _hits(data: bytes, names: Iterable[str]) -> list[int]:
    """Where the words `names` occur in `data` (one pass over the text), sorted."""
    words = sorted({n.encode("utf-8") for n in names if n})
    if not words:
        return []
    pattern = re.compile(rb"(?<![\w$])(?:" + b"|".join(map(re.escape, words)) + rb")(?![\w$])")
    return [m.start() for m in pattern.finditer(data)]


def _mentions(hits: list[int], statement: Node) -> bool:
    at = bisect.bisect_left(hits, statement.start_byte)
    return at < len(hits) and hits[at] < statement.end_byte


def classify(
    old_root: Node,
    old_data: bytes,
    new_root: Node,
    new_data: bytes,
    dirty: tuple[int, int],
    convex_names: frozenset[str],
) -> Outside | None:
    """What the edits in `dirty` (a byte range of the new text; the text outside it is the
    same in both) changed between the last checked text and now; None: check it all."""
    start, end = dirty
    old_end = end - (len(new_data) - len(old_data))
    if old_end < start:
        return None
    if _near_disable(old_data, start, old_end) or _near_disable(new_data, start, end):
        return None
    old_code = _code(old_root.named_children)
    new_code = _code(new_root.named_children)
    # Before the edited range a statement is the same text in the same place; after it, the
    # same text moved by the edit. What lies between may differ in number.
    count = min(len(old_code), len(new_code))
    head = 0
    while head < count and old_code[head].end_byte < start and new_code[head].end_byte < start:
        old, new = old_code[head], new_code[head]
        if old.start_byte != new.start_byte or old.end_byte != new.end_byte:
            return None
        head += 1
    tail = 0
    shift = end - old_end
    while head + tail < count:
        old, new = old_code[-1 - tail], new_code[-1 - tail]
        if old.start_byte <= old_end or new.start_byte <= end:
            break
        if new.start_byte - old.start_byte != shift or new.end_byte - old.end_byte != shift:
            return None
        tail += 1
    unchanged = new_code[:head] + new_code[len(new_code) - tail :]
    old_middle = old_code[head : len(old_code) - tail]
    new_middle = new_code[head : len(new_code) - tail]
    if any(s.has_error or s.is_missing for s in new_middle):
        # Half-typed: keep every finding until it parses again (`keep_through_syntax_errors`
        # does the same inside functions), then compare with the text checked last.
        return Outside(False, frozenset(), broken=True)
    for statement in old_middle + new_middle:
        found = definition_call(statement)
        if found is not None and found[0] in convex_names:
            return None  # a Convex definition outside its arguments (builder, name)
    pairs: list[tuple[Node | None, Node | None]]
    if len(old_middle) == len(new_middle):
        pairs = list(zip(old_middle, new_middle, strict=True))
    else:
        pairs = [(s, None) for s in old_middle] + [(None, s) for s in new_middle]
    changed: list[Node] = []
    affected: set[str] = set()
    for before, after in pairs:
        node = after or before
        if node is None:
            continue
        if before is not None and after is not None:
            if before.type == after.type and _text(old_data, before) == _text(new_data, after):
                unchanged.append(after)  # only what is around it changed
                continue
            names = _changed_names(before, after)
        else:
            names = declared_names(node)
        if names is None:
            return None
        if not names and before is not None and before.type == node.type == "import_statement":
            unchanged.append(node)  # the same bindings from the same module (spacing, commas)
            continue
        changed.append(node)
        affected |= names
    if not changed:
        return Outside(False, frozenset())
    # Grow through the unchanged top-level statements that mention an affected name (a helper
    # calling an edited helper, a client built from an edited import, ...).
    helpers: list[Node] = []
    definitions: list[tuple[str, Node]] = []
    for statement in unchanged:
        found = definition_call(statement)
        if found is not None and found[0] in convex_names:
            definitions.append((found[0], statement))
        else:
            helpers.append(statement)
    reached = False  # an unchanged helper mentions an affected name
    hits = _hits(new_data, affected)
    while hits:
        grown = False
        rest: list[Node] = []
        for statement in helpers:
            if not _mentions(hits, statement):
                rest.append(statement)
                continue
            reached = True
            names = declared_names(statement)
            if names is None:
                return None
            if not names <= affected:
                affected |= names
                grown = True
        helpers = rest
        if not grown:
            break
        hits = _hits(new_data, affected)
    live = {name for name, statement in definitions if _mentions(hits, statement)}
    if not live and not reached and all(s.type == "import_statement" for s in changed):
        # Imports hold no findings, and nothing else names what changed in them.
        return Outside(False, frozenset())
    return Outside(True, frozenset(live))
