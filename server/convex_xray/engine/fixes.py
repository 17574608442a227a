"""Applying fixes: pick non-overlapping edits, apply them to text, re-check to a fixpoint.

Shared by `check --fix` and the language server's fix-all. The language server never
writes files; `write_atomically` is used by the CLI only.
"""

from __future__ import annotations

import difflib
import itertools
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Parser

from convex_xray.engine.findings import Applicability, Edit, Finding, Fix
from convex_xray.engine.source import (
    SourceFile,
    TextChange,
    error_count_after,
    is_typescript_path,
    typescript_syntax_count,
)

MAX_PASSES = 10


def applicable(fix: Fix | None, *, unsafe: bool) -> bool:
    if fix is None or not fix.edits:
        return False
    return fix.applicability is Applicability.SAFE or unsafe


def apply_edits(data: bytes, edits: Iterable[Edit]) -> bytes:
    """Apply non-overlapping edits (byte offsets into `data`)."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    out: list[bytes] = []
    cursor = 0
    for edit in ordered:
        if edit.start < cursor:
            raise ValueError(f"overlapping edits at byte {edit.start}")
        out.append(data[cursor : edit.start])
        out.append(edit.new_text.encode("utf-8"))
        cursor = edit.end
    out.append(data[cursor:])
    return b"".join(out)


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.path != b.path:
        return False
    if a.start == a.end == b.start == b.end:
        return True  # two insertions at one point: order would be ambiguous
    return a.start < b.end and b.start < a.end


def select_fixes(findings: Iterable[Finding], *, unsafe: bool) -> list[Fix]:
    """Fixes to apply in one pass: whole fixes only, none overlapping another (the rest wait)."""
    chosen: list[Fix] = []
    taken: list[Edit] = []
    seen: set[tuple] = set()
    for finding in findings:
        fix = finding.fix
        if not applicable(fix, unsafe=unsafe):
            continue
        assert fix is not None
        key = tuple(sorted((str(e.path), e.start, e.end, e.new_text) for e in fix.edits))
        if key in seen:
            continue  # the same edit proposed twice (e.g. one index for two findings)
        if any(_overlaps(e, t) for e in fix.edits for t in taken):
            continue
        seen.add(key)
        chosen.append(fix)
        taken.extend(fix.edits)
    return chosen


def _error_count(path: Path, data: bytes) -> int:
    return SourceFile(path, data.decode("utf-8", errors="replace"), data=data).error_count()


@dataclass
class FixOutcome:
    new_texts: dict[Path, bytes] = field(default_factory=dict)
    applied: int = 0
    rejected: list[tuple[Fix, str]] = field(default_factory=list)


def apply_fixes_once(
    fixes: list[Fix], read: Callable[[Path], bytes | None], current: dict[Path, bytes] | None = None
) -> FixOutcome:
    """Apply `fixes` to the texts; a fix that would add a syntax error is dropped whole."""
    outcome = FixOutcome(new_texts=dict(current or {}))
    by_path: dict[Path, list[Edit]] = defaultdict(list)
    accepted: list[Fix] = []
    for fix in fixes:
        trial: dict[Path, bytes] = {}
        ok = True
        for path in fix.paths:
            before = outcome.new_texts.get(path) or read(path)
            if before is None:
                ok = False
                break
            edits = [e for e in fix.edits if e.path == path]
            try:
                after = apply_edits(before, [*by_path[path], *edits])
            except ValueError:
                ok = False
                break
            if _error_count(path, after) > _error_count(path, apply_edits(before, by_path[path])):
                outcome.rejected.append((fix, f"would add a syntax error to {path}"))
                ok = False
                break
            trial[path] = after
        if not ok:
            continue
        for edit in fix.edits:
            by_path[edit.path].append(edit)
        accepted.append(fix)
    for path, edits in by_path.items():
        before = outcome.new_texts.get(path) or read(path)
        assert before is not None
        outcome.new_texts[path] = apply_edits(before, edits)
    outcome.applied = len(accepted)
    return outcome


def unified_diff(path: Path, before: bytes, after: bytes) -> str:
    a = before.decode("utf-8", errors="replace").splitlines(keepends=True)
    b = after.decode("utf-8", errors="replace").splitlines(keepends=True)
    name = os.path.relpath(path) if path.is_absolute() else str(path)
    return "".join(difflib.unified_diff(a, b, f"a/{name}", f"b/{name}"))


def write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename, keeping permissions."""
    import tempfile  # only `--fix` writes: a plain check does not pay for the import

    mode = path.stat().st_mode if path.exists() else None
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


@dataclass
class Fixpoint:
    """What `fix_to_fixpoint` did: per changed file the snapshot before the first change and
    the text after the last one, and how many fixes were applied."""

    before: dict[Path, SourceFile] = field(default_factory=dict)
    after: dict[Path, bytes] = field(default_factory=dict)
    applied: int = 0

    def changed(self) -> dict[Path, tuple[SourceFile, bytes]]:
        return {p: (self.before[p], data) for p, data in self.after.items() if data != self.before[p].data}


def fix_to_fixpoint(
    check: Callable[[], list[Finding]],
    source_of: Callable[[Path], SourceFile | None],
    set_source: Callable[[SourceFile], None],
    *,
    unsafe: bool,
) -> Fixpoint:
    """Apply fixes, re-check, and repeat until nothing applies (at most `MAX_PASSES`).

    `check` returns the current findings; `set_source` makes a fixed text the current one
    (the CLI's workspace, or the language server's project in memory). Overlapping fixes
    wait for the next pass; a fix that would add a syntax error is dropped. Shared by
    `check --fix` and the language server's fix-all."""
    result = Fixpoint()

    def read(path: Path) -> bytes | None:
        if path in result.after:
            return result.after[path]
        source = source_of(path)
        return source.data if source is not None else None

    findings = check()
    for _ in range(MAX_PASSES):
        fixes = select_fixes(findings, unsafe=unsafe)
        if not fixes:
            break
        outcome = apply_fixes_once(fixes, read)
        if outcome.applied == 0:
            break
        result.applied += outcome.applied
        for path, data in outcome.new_texts.items():
            if path not in result.before:
                original = source_of(path)
                if original is None:
                    continue
                result.before[path] = original
            result.after[path] = data
            set_source(SourceFile(path, data.decode("utf-8", errors="replace"), data=data))
        findings = check()
    return result


# -- validating fixes when they are built --------------------------------------------------------

# Node types whose body is one "region": a fix is never offered inside a function (or, at the
# top level, a statement) that already has a syntax error, because the rules' model of damaged
# code is a guess and an edit computed from it can make things worse.
_REGION_TYPES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)


def _region_has_error(source: SourceFile, start: int, end: int) -> bool:
    """Whether the innermost function (or top-level statement) around [start, end) has a
    syntax error, or sits inside an ERROR node (tree-sitter's recovery can parse a whole
    function cleanly inside the debris of an unterminated literal before it)."""
    root = source.root
    if not root.has_error:
        return False
    node = root.descendant_for_byte_range(start, end)
    region = None
    while node is not None and node.parent is not None:
        if node.type == "ERROR":
            return True
        if region is None and (node.type in _REGION_TYPES or node.parent == root):
            region = node
            if node.has_error:
                return True
        node = node.parent
    return region is None  # the edit sits between top-level statements of a damaged file


class Reference:
    """An earlier text of a file (in the language server: the slice of the document before
    typing broke the live function, or its last text that parsed), for validating fixes while
    the file has a syntax error.

    The two texts differ only inside `[start, end)` (the live function's arguments: `end`
    follows the edits in the current text, `end_then` is where it was in the reference). A
    fix whose edits all lie outside that range is validated against the reference instead of
    the current text: applied to the reference, it must add no error to it (the CLI's test, on
    the same code around the fix), and the answer is kept for as long as the reference is
    (the same fix asked again at the next keystroke costs nothing); the current text would
    need a fresh parse per fix, since an incremental parse of a broken text may count its
    errors differently. The region checks (no fix inside a damaged function) still look at
    the current text."""

    __slots__ = ("end", "end_then", "source", "start", "verdicts")

    def __init__(self, source: SourceFile, start: int, end: int) -> None:
        self.source = source  # its tree the same as a fresh parse's (`exact`)
        self.start = start
        self.end = end
        self.end_then = end
        self.verdicts: dict[tuple, bool] = {}

    def mapped(self, edits: Iterable[Edit]) -> list[Edit] | None:
        """`edits` (current coordinates) in the reference's coordinates; None when one touches
        the range where the texts differ."""
        delta = self.end - self.end_then
        out: list[Edit] = []
        for edit in edits:
            if edit.end <= self.start:
                out.append(edit)
            elif edit.start >= self.end:
                out.append(Edit(edit.path, edit.start - delta, edit.end - delta, edit.new_text))
            else:
                return None
        return out

    def valid(self, edits: list[Edit]) -> bool:
        """Whether applying `edits` (reference coordinates, sorted, not overlapping) adds no
        syntax error to the reference."""
        key = tuple((e.start, e.end, e.new_text) for e in edits)
        verdict = self.verdicts.get(key)
        if verdict is None:
            changes = [TextChange(e.start, e.end, e.new_text) for e in reversed(edits)]
            after = error_count_after(self.source, changes)
            verdict = self.verdicts[key] = after <= self.source.error_count()
        return verdict


class FixValidator:
    """Checks fixes as they leave the engine: a fix survives only if it has an edit, no
    edited region (and not the finding itself) sits in a function with a syntax error, and
    applying all its edits to each file it touches adds no ERROR or MISSING node there (nor,
    in a JavaScript file, TypeScript-only syntax). Results are memoised
    per fix, since several findings often share one fix (an index, a batch). `references`: per
    file, an earlier error-free text to ask instead while the file has a syntax error
    (`Reference`; the language server's keystrokes, never the CLI)."""

    def __init__(
        self,
        source_of: Callable[[Path], SourceFile | None],
        references: Mapping[Path, Reference] | None = None,
        verdicts: dict[tuple, bool] | None = None,
    ) -> None:
        self._source_of = source_of
        self._references = references or {}
        self._sources: dict[Path, SourceFile | None] = {}
        self._errors: dict[Path, int] = {}
        self._typescript: dict[Path, int] = {}  # TypeScript-only nodes in a JavaScript file
        # Shared by the validators of one CLI check (one per file, so that a file's tree can
        # go once it is checked): a fix many files offer, an index in the schema, is
        # validated once. The texts do not change during a check, and the key holds the edits.
        self._verdicts: dict[tuple, bool] = verdicts if verdicts is not None else {}

    def _source(self, path: Path) -> SourceFile | None:
        if path not in self._sources:
            self._sources[path] = self._source_of(path)
        return self._sources[path]

    def _baseline(self, source: SourceFile) -> int:
        if source.path not in self._errors:
            self._errors[source.path] = source.error_count()
        return self._errors[source.path]

    def valid(self, fix: Fix) -> bool:
        if not fix.edits:
            return False  # a quick fix that does nothing when chosen: the message says it
        key = tuple(sorted((str(e.path), e.start, e.end, e.new_text) for e in fix.edits))
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self._check(fix)
        return verdict

    def _check(self, fix: Fix) -> bool:
        by_path: dict[Path, list[Edit]] = defaultdict(list)
        for edit in fix.edits:
            by_path[edit.path].append(edit)
        for path, edits in by_path.items():
            source = self._source(path)
            if source is None:
                continue  # a file the engine has not read (a new file): nothing to compare
            if any(e.end > len(source.data) or e.start > e.end for e in edits):
                return False
            if any(_region_has_error(source, e.start, e.end) for e in edits):
                return False
            ordered = sorted(edits, key=lambda e: (e.start, e.end))
            if any(a.end > b.start for a, b in itertools.pairwise(ordered)):
                return False  # the fix's own edits overlap
            if not is_typescript_path(path) and self._adds_typescript(source, ordered):
                return False
            reference = self._references.get(path)
            if reference is not None and source.root.has_error:
                mapped = reference.mapped(ordered)
                if mapped is not None:
                    if not reference.valid(mapped):
                        return False
                    continue
            # Last edit first, so each change is in the coordinates of the text before it;
            # the re-parse is incremental from the tree the rules already used.
            changes = [TextChange(e.start, e.end, e.new_text) for e in reversed(ordered)]
            if error_count_after(source, changes) > self._baseline(source):
                return False
        return True

    def _adds_typescript(self, source: SourceFile, ordered: list[Edit]) -> bool:
        """Whether the edits write TypeScript-only syntax (an annotation, `as`, type arguments,
        `!`) into a JavaScript file, where tsc rejects it (TS8010, TS8016, …). The fixes write
        JavaScript forms there; this keeps any that do not out of the file."""
        if not any(e.new_text for e in ordered):
            return False
        edited = apply_edits(source.data, ordered)
        after = typescript_syntax_count(Parser(source.language).parse(edited).root_node)
        if source.path not in self._typescript:
            self._typescript[source.path] = typescript_syntax_count(source.root)
        return after > self._typescript[source.path]

    def filter(self, findings: Iterable[Finding]) -> None:
        """Drop, in place, every fix and alternative that fails `valid`; a finding inside a
        damaged function keeps its message but offers no fix."""
        for finding in findings:
            if finding.fix is None and not finding.alternatives:
                continue
            source = self._source(finding.path)
            if source is not None and finding.span.end <= len(source.data) and _region_has_error(source, finding.span.start, finding.span.end):
                finding.fix = None
                finding.alternatives = []
                continue
            if finding.fix is not None and not self.valid(finding.fix):
                finding.fix = None
            finding.alternatives = [f for f in finding.alternatives if self.valid(f)]
