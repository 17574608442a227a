"""Typed scratch space that lives as long as its owner: a rule context (one check) or a workspace."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from convex_xray.engine.source import SourceFile
    from convex_xray.engine.workspace import Workspace

T = TypeVar("T")
_F = TypeVar("_F")


class MemoKey(Generic[T]):
    """A named slot, declared once by the module that owns it; `T` is the type stored there.
    Keys compare by identity, so two modules can never collide on a name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"MemoKey({self.name!r})"


class Memo:
    """Values under typed keys, optionally per `part` (a node id, a path...)."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[tuple[MemoKey[Any], Hashable], Any] = {}

    def get(self, key: MemoKey[T], part: Hashable = None) -> T | None:
        return self._values.get((key, part))

    def put(self, key: MemoKey[T], value: T, part: Hashable = None) -> T:
        self._values[(key, part)] = value
        return value

    def pop(self, key: MemoKey[T], part: Hashable = None) -> T | None:
        return self._values.pop((key, part), None)

    def clear(self) -> None:
        self._values.clear()


def per_file_text(
    workspace: Workspace,
    key: MemoKey[dict[Path, tuple[bytes, _F]]],
    compute: Callable[[Path, SourceFile], _F],
) -> Iterator[_F]:
    """What `compute` says of each file, computed again only when the file's text changed.
    Kept with the text, not the snapshot: a snapshot holds its syntax tree, and in the editor
    the snapshot seen last is often one the workspace has replaced since (a closed buffer; the
    file read again from disk) -- 300 such trees were ~105 MB after opening and closing every file."""
    for _, value in _per_file_entries(workspace, key, compute):
        yield value


def _per_file_entries(
    workspace: Workspace,
    key: MemoKey[dict[Path, tuple[bytes, _F]]],
    compute: Callable[[Path, SourceFile], _F],
) -> Iterator[tuple[Path, _F]]:
    """`per_file_text`, each answer with its file."""
    cache = workspace.memo.get(key)
    if cache is None:
        cache = workspace.memo.put(key, {})
    for path in workspace.text_pass_files():
        source = workspace.source(path)
        if source is None:
            continue
        yield path, _current(cache, path, source, compute)


def _current(
    cache: dict[Path, tuple[bytes, _F]], path: Path, source: SourceFile, compute: Callable[[Path, SourceFile], _F]
) -> _F:
    """What `compute` says of the file's text: kept in `cache` while the text is the same."""
    entry = cache.get(path)
    if entry is None or not (entry[0] is source.data or entry[0] == source.data):
        entry = cache[path] = (source.data, compute(path, source))
    return entry[1]


def per_revision(workspace: Workspace, key: MemoKey[tuple[int, _F]], build: Callable[[], _F]) -> _F:
    """`build()`, once per workspace revision (kept in workspace.memo; during a provisional
    check, in its own scratch space: `build` then sees only the files read so far)."""
    store = workspace.provisional if workspace.provisional is not None else workspace.memo
    known = store.get(key)
    if known is not None and known[0] == workspace.revision:
        return known[1]
    value = build()  # (the revision after it: reading files for the first time does not change it)
    return store.put(key, (workspace.revision, value))[1]


def merged_per_file_text(
    workspace: Workspace,
    key: MemoKey[tuple[int, T]],
    files_key: MemoKey[dict[Path, tuple[bytes, _F]]],
    compute: Callable[[Path, SourceFile], _F],
    merge: Callable[[Iterator[_F]], T],
    same: Callable[[_F, _F], bool] = operator.eq,
) -> T:
    """`merge` of what `compute` says of every file (`per_file_text`), once per workspace
    revision -- and not even then when each file changed since the last merge says the same
    as before (`same`, by default equal): in the editor every keystroke is a revision, and a keystroke
    rarely changes a file's contribution, while merging walks every file of the workspace."""
    if workspace.provisional is not None:
        # Merged from the files read so far: not the workspace's answer, kept for this check only.
        # The per-file values it computes do move to the files' new texts, so an earlier
        # merge can no longer tell, by `_same_contributions`, what changed since: drop it.
        workspace.memo.pop(key)
        merged = workspace.provisional.get(key)
        if merged is None:
            merged = workspace.provisional.put(key, (workspace.revision, merge(per_file_text(workspace, files_key, compute))))
        return merged[1]
    known = workspace.memo.get(key)
    if known is not None:
        if known[0] == workspace.revision:
            return known[1]
        changed = workspace.changed_since(known[0])
        if changed is not None and _same_contributions(workspace, files_key, changed, compute, same):
            return workspace.memo.put(key, (workspace.revision, known[1]))[1]
    return workspace.memo.put(key, (workspace.revision, merge(per_file_text(workspace, files_key, compute))))[1]


def counted_per_file_text(
    workspace: Workspace,
    key: MemoKey[tuple[int, dict[Path, frozenset[T]], Counter[T]]],
    files_key: MemoKey[dict[Path, tuple[bytes, frozenset[T]]]],
    compute: Callable[[Path, SourceFile], frozenset[T]],
) -> Counter[T]:
    """In how many files' `compute` sets each item is (items in none are absent, so `in`
    answers whether any file has it): the union of every file's set, kept up to date by the
    files changed since the last count. A union merged afresh whenever one file's set
    changed cost a walk of every file's set: in the editor, each keystroke that types a name
    (~1.4 ms in a 733-file app)."""
    if workspace.provisional is not None:
        workspace.memo.pop(key)  # (see `merged_per_file_text`)
        counted = workspace.provisional.get(key)
        if counted is None:
            counted = workspace.provisional.put(key, _count(workspace, files_key, compute))
        return counted[2]
    known = workspace.memo.get(key)
    if known is not None:
        if known[0] == workspace.revision:
            return known[2]
        changed = workspace.changed_since(known[0])
        if changed is not None and _recount(workspace, files_key, changed, compute, known[1], known[2]):
            return workspace.memo.put(key, (workspace.revision, known[1], known[2]))[2]
    return workspace.memo.put(key, _count(workspace, files_key, compute))[2]


def _count(
    workspace: Workspace,
    files_key: MemoKey[dict[Path, tuple[bytes, frozenset[T]]]],
    compute: Callable[[Path, SourceFile], frozenset[T]],
) -> tuple[int, dict[Path, frozenset[T]], Counter[T]]:
    sets: dict[Path, frozenset[T]] = {}
    counts: Counter[T] = Counter()
    for path, names in _per_file_entries(workspace, files_key, compute):
        sets[path] = names
        counts.update(names)
    return workspace.revision, sets, counts


def _recount(
    workspace: Workspace,
    files_key: MemoKey[dict[Path, tuple[bytes, frozenset[T]]]],
    changed: set[Path],
    compute: Callable[[Path, SourceFile], frozenset[T]],
    sets: dict[Path, frozenset[T]],
    counts: Counter[T],
) -> bool:
    """Move `counts` (and `sets`, what each file counted) to the changed files' new sets;
    False when a file was added or is gone (then everything is counted again)."""
    files = set(workspace.files()) if changed else set()
    cache = workspace.memo.get(files_key)
    if cache is None:
        return False
    for path in changed:
        old = sets.get(path)
        source = workspace.source(path) if path in files else None
        if old is None or source is None:
            return False
    for path in changed:
        source = workspace.source(path)
        assert source is not None
        new, old = _current(cache, path, source, compute), sets[path]
        if new is old or new == old:
            continue
        for item in old - new:
            left = counts[item] - 1
            if left:
                counts[item] = left
            else:
                del counts[item]
        for item in new - old:
            counts[item] += 1
        sets[path] = new
    return True


def drop_merged(workspace: Workspace, key: MemoKey[tuple[int, T]]) -> None:
    """Forget `merged_per_file_text`'s merge under `key` wherever it is kept (the workspace's
    memo, and a provisional check's scratch space), so that the next call merges again: for a
    merge that depends on more than the files (the configuration, the schemas)."""
    workspace.memo.pop(key)
    if workspace.provisional is not None:
        workspace.provisional.pop(key)


def _same_contributions(
    workspace: Workspace,
    files_key: MemoKey[dict[Path, tuple[bytes, _F]]],
    changed: set[Path],
    compute: Callable[[Path, SourceFile], _F],
    same: Callable[[_F, _F], bool],
) -> bool:
    """Whether each changed file, still in the workspace, says what it said at the last merge;
    the per-file cache moves to the new texts either way."""
    cache = workspace.memo.get(files_key)
    if cache is None:
        return False
    files = set(workspace.files()) if changed else set()
    same_all = True
    for path in changed:
        entry = cache.get(path)
        source = workspace.source(path) if path in files else None
        if entry is None or source is None:
            return False  # a file added or gone (or never merged): merge again
        if not (entry[0] is source.data or entry[0] == source.data):
            value = compute(path, source)
            same_all = same_all and same(entry[1], value)
            cache[path] = (source.data, value)  # (the merge, if one follows, reads it from here)
    return same_all
