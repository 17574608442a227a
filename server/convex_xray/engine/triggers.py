"""What runs a function besides clients: cron jobs and the scheduler.

A function registered in `crons.ts` (`crons.daily("cleanup", {...}, internal.jobs.cleanup)`)
runs on a timer over whatever data exists by then; one scheduled with
`ctx.scheduler.runAfter(0, internal.x.y, args)` runs once per scheduling call. Both are
internal functions, but a cron's whole-table read happens on every tick however few users
are active, which is what an audit looks for. The cost model names these contexts (`cron`,
`scheduled`) instead of `internal-*`.

References are read from the source text (`internal.a.b.fn` / `api.a.b.fn`), so the index
costs one regex pass over files that mention `cronJobs` or `scheduler.run…`, not a model
of every file. A reference `internal.folder.module.fn` names the export `fn` of
`<root>/folder/module.ts`, relative to the Convex root of the file that names it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from convex_xray.engine.memo import MemoKey, counted_per_file_text, merged_per_file_text
from convex_xray.engine.model import FileModel, FunctionModel
from convex_xray.engine.source import SourceFile
from convex_xray.engine.textscan import lookahead_matches
from convex_xray.engine.workspace import Workspace

CRON = "cron"
SCHEDULED = "scheduled"

_CRON_CALL = re.compile(rb"\.\s*(interval|hourly|daily|weekly|monthly|cron)\s*\(")
_SCHEDULE_CALL = re.compile(rb"scheduler\s*\.\s*run(?:After|At)\s*\(")
# `internal.a.b.fn`, also cast to quiet the type checker: `(internal as any).a.b.fn` (group 1:
# the path after the word; `engine.expiry` reads the calls in a function's body with it too).
FUNCTION_REFERENCE = re.compile(rb"\b(?:internal|api)(?:\s+as\s+any\s*\))?((?:\s*\.\s*[A-Za-z_$][\w$]*)+)")
_WINDOW = 600  # bytes after a call's `(` searched for its function reference


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str  # cron | scheduled
    detail: str  # `daily`, `interval`, ... for crons; `runAfter` for scheduled
    period_ms: float | None = None  # how often a cron runs, when its schedule says


# path -> (the text it was read from, {(root, dotted ref): Trigger}) in workspace.memo (see `memo.per_file_text`).
_FILE_TRIGGERS: MemoKey[dict[Path, tuple[bytes, dict[tuple[Path, str], Trigger]]]] = MemoKey("triggers.files")
# The merged index, current while the workspace's revision is (in workspace.memo).
_MERGED: MemoKey[tuple[int, dict[tuple[Path, str], Trigger]]] = MemoKey("triggers.merged")


def _references(data: bytes, calls: re.Pattern[bytes]) -> list[tuple[str, str, float | None]]:
    found: list[tuple[str, str, float | None]] = []
    for match in calls.finditer(data):
        window = data[match.end() : match.end() + _WINDOW]
        ref = FUNCTION_REFERENCE.search(window)
        if ref is None:
            continue
        dotted = re.sub(rb"\s+", b"", ref.group(1)).decode("utf-8", "replace").lstrip(".")
        detail = match.group(1).decode() if match.groups() else "runAfter"
        found.append((dotted, detail, _period(detail, window[: ref.start()])))
    return found


_FIXED_PERIOD = {"hourly": 3_600_000.0, "daily": 86_400_000.0, "weekly": 7 * 86_400_000.0, "monthly": 31 * 86_400_000.0}
_UNIT_MS = {b"seconds": 1_000.0, b"minutes": 60_000.0, b"hours": 3_600_000.0}
_INTERVAL = re.compile(rb"\b(seconds|minutes|hours)\s*:\s*(\d+(?:\.\d+)?)\b")
_CRONTAB = re.compile(rb"[\"'`]([\d*/,\- ]+)(?=[\"'`])")


def _period(detail: str, arguments: bytes) -> float | None:
    """How often a cron registration runs its function: `crons.interval(name, { minutes: 10 }, ...)`,
    `crons.daily(...)`, `crons.cron(name, "*/5 * * * *", ...)` (the gap between runs at most:
    a crontab that fires at a fixed minute of every hour runs hourly, at a fixed hour daily)."""
    if detail in _FIXED_PERIOD:
        return _FIXED_PERIOD[detail]
    if detail == "interval":
        parts = _INTERVAL.findall(arguments)
        return sum(_UNIT_MS[unit] * float(count) for unit, count in parts) or None if parts else None
    if detail == "cron":
        fields = next((f for m in _CRONTAB.finditer(arguments) if len(f := m.group(1).split()) == 5), None)
        if fields is None:
            return None
        minute, hour, day, _month, weekday = fields
        if day != b"*" or weekday != b"*":
            return None  # some days only: weekly, monthly or irregular
        if hour == b"*":
            if minute == b"*":
                return 60_000.0
            step = re.fullmatch(rb"\*/(\d+)", minute)
            return 60_000.0 * int(step.group(1)) if step is not None else 3_600_000.0
        step = re.fullmatch(rb"\*/(\d+)", hour)
        return 3_600_000.0 * int(step.group(1)) if step is not None else 86_400_000.0
    return None


def _file_triggers(root: Path, source: SourceFile) -> dict[tuple[Path, str], Trigger]:
    data = source.data
    out: dict[tuple[Path, str], Trigger] = {}
    if b"scheduler" in data:
        for dotted, _, _ in _references(data, _SCHEDULE_CALL):
            out.setdefault((root, dotted), Trigger(SCHEDULED, "scheduler"))
    if b"cronJobs" in data:
        for dotted, detail, period in _references(data, _CRON_CALL):
            known = out.get((root, dotted))
            if known is not None and known.kind == CRON and known.period_ms is not None:
                period = min(period, known.period_ms) if period is not None else known.period_ms
            out[(root, dotted)] = Trigger(CRON, detail, period)  # a cron outranks a scheduling call
    return out


def trigger_index(workspace: Workspace) -> dict[tuple[Path, str], Trigger]:
    """Every cron and scheduler target in the workspace, by (Convex root, dotted reference)."""

    def file_triggers(path: Path, source: SourceFile) -> dict[tuple[Path, str], Trigger]:
        root = workspace.root_of(path)
        return _file_triggers(root.path, source) if root is not None else {}

    def merge(files: Iterator[dict[tuple[Path, str], Trigger]]) -> dict[tuple[Path, str], Trigger]:
        merged: dict[tuple[Path, str], Trigger] = {}
        for triggers in files:
            for key, trigger in triggers.items():
                known = merged.get(key)
                # The same function on two schedules runs as often as the more frequent one.
                if (
                    known is not None
                    and known.kind == CRON == trigger.kind
                    and known.period_ms is not None
                    and (trigger.period_ms is None or known.period_ms < trigger.period_ms)
                ):
                    continue
                if known is None or trigger.kind == CRON:
                    merged[key] = trigger
        return merged

    # (merging walks every file: once per check, not once per file, and only when a file's
    # cron/scheduler references changed)
    return merged_per_file_text(workspace, _MERGED, _FILE_TRIGGERS, file_triggers, merge)


def reference_of(workspace: Workspace, model: FileModel, function: FunctionModel) -> tuple[Path, str] | None:
    """(root, `folder.module.name`) that `internal.`/`api.` use for an exported function."""
    while function.parent is not None:
        function = function.parent
    root = workspace.root_of(model.path)
    if root is None or not model.path.is_relative_to(root.path):
        return None
    names = [name for name, exported in model.exports.items() if exported is function]
    if not names:
        return None
    return root.path, f"{workspace.module_name(model.path)}.{names[0]}"


def trigger_of(
    workspace: Workspace, model: FileModel, function: FunctionModel | None, index: dict[tuple[Path, str], Trigger]
) -> Trigger | None:
    if function is None:
        return None
    key = reference_of(workspace, model, function)
    return index.get(key) if key is not None else None


# Names used after a `.` or `:` anywhere in a file (`internal.jobs.rebuild`, `"jobs:rebuild"`,
# `const j = internal.jobs; j.rebuild`): a superset of the function references it holds.
_MEMBER = re.compile(rb"[.:]\s*([A-Za-z_$][\w$]*)")
# path -> (the text read, the names) in workspace.memo; the merged set per revision.
_FILE_NAMES: MemoKey[dict[Path, tuple[bytes, frozenset[bytes]]]] = MemoKey("triggers.names")
_NAMES: MemoKey[tuple[int, dict[Path, frozenset[bytes]], Counter[bytes]]] = MemoKey("triggers.names.counted")


def _referenced_names(workspace: Workspace) -> Counter[bytes]:
    """Every name used after a `.` or `:` in some file (`in` asks; kept up to date by the files
    that changed, see `memo.counted_per_file_text`)."""

    def names(_path: Path, source: SourceFile) -> frozenset[bytes]:
        return frozenset(_MEMBER.findall(source.data))

    return counted_per_file_text(workspace, _NAMES, _FILE_NAMES, names)


# `export const <name>: <type> = internalQuery(` / `internalMutation<...>(` / `internalAction(`,
# tried at every offset (a lookahead, so overlapping candidates all count): the names a file
# defines as internal functions. A name is whatever stops at whitespace, `:` or `=`, which
# is exactly where a definition of that name has to stop.
_INTERNAL = re.compile(rb"(?=export\s+const\s+([^\s:=]+)\s*(?::[^=\n]*)?=\s*internal(?:Query|Mutation|Action)\s*[(<])")
# path -> (the text read, the names it defines as internal functions) in workspace.memo.
_INTERNAL_NAMES: MemoKey[dict[Path, tuple[bytes, frozenset[bytes]]]] = MemoKey("triggers.internal")


def _internal_names(workspace: Workspace, path: Path, source: SourceFile) -> frozenset[bytes]:
    """The names `path` defines as internal functions, read once per file text (a check
    asks once per finding: one pattern compiled per name cost 4-5% of a check)."""
    cache = workspace.memo.get(_INTERNAL_NAMES)
    if cache is None:
        cache = workspace.memo.put(_INTERNAL_NAMES, {})
    entry = cache.get(path)
    if entry is None or not (entry[0] is source.data or entry[0] == source.data):
        entry = cache[path] = (source.data, frozenset(m.group(1) for m in lookahead_matches(_INTERNAL, b"export", source.data)))
    return entry[1]


def run_by_hand(workspace: Workspace, path: Path, name: str) -> bool:
    """An internal function nothing in the workspace names: no function calls, schedules or
    runs it on a cron, and clients cannot call it, so it runs when someone starts it from the
    dashboard or `npx convex run`: a one-off (a backfill, a rebuild, a test helper). Any use
    of the name after a `.` or `:` anywhere counts as a reference, so a common name (`list`)
    is never taken for one."""
    source = workspace.source(path)
    if source is None or not name.isidentifier() or workspace.provisional is not None:
        # (Provisional: the files not read yet may name it. Judged as production code until
        # the check after indexing knows: a warning shown early, not one hidden.)
        return False
    if name.encode() in _referenced_names(workspace):
        return False
    return name.encode() in _internal_names(workspace, path, source)


# What a comment right above a function may say about its purpose: a debugging or testing aid,
# a temporary or one-off function (`// Get all accounts (for debugging)`, `/** Dev only: … */`).
_ONE_OFF_PURPOSE = re.compile(
    # `(for debugging)`, `(dev only)`; a comment line that starts with the purpose (`// Debug: …`,
    # `/** For testing … */`); `debug query`, `dev-only`, `test-only`, `one-off mutation`. Not
    # "for debugging" inside a sentence: "logs details for debugging" is about the logs.
    rb"\((?:only )?(?:for )?(?:debug(?:ging)?|testing|tests|dev(?:elopment)?[- ]only|tests?[- ]only)\)|"
    rb"(?:^|\n)[ \t]*(?://+|/?\*+)[ \t]*(?:debug(?:ging)?|for (?:debugging|testing))\b|"
    rb"\bdebug(?:ging)?[- ](?:only|query|mutation|action|function|endpoint|helper|tool)\b|"
    rb"\bdev(?:elopment)?[- ]only\b|\b(?:tests?|testing)[- ]only\b|"
    rb"\b(?:temporary|one[- ]off) (?:query|mutation|action|function|endpoint|helper|fix|script|backfill|migration)\b",
    re.IGNORECASE,
)
# The comment lines (`//`, `/* */`, `/** */`) ending right before a line.
_COMMENT_ABOVE = re.compile(rb"(?:[ \t]*(?://[^\n]*|/\*(?:[^*]|\*(?!/))*\*/)[ \t]*\n)+\Z")


# A name that says the function is a maintenance job someone runs by hand: a migration, a
# backfill, a recount or rebuild over existing rows, a repair or a cleanup (`migrateLegacyRoles`,
# `backfill_owners`, `recalculateUsageCounts`, `rebuildSearchIndex`, `fixOrphanedShows`,
# `cleanupNonUSShows`). The verb must end at a word boundary (`fixture`, `rebuilding` do not count).
_MAINTENANCE_NAME = re.compile(
    r"^(migrate|backfill|recalculate|recompute|recount|rebuild|reindex|repair|fix|clean_?up|cleanUp)(?=[A-Z_\d]|$)"
)


def maintenance_verb(name: str) -> str | None:
    """The maintenance verb a function's name starts with (`backfill` of `backfillOwners`), or None."""
    match = _MAINTENANCE_NAME.match(name)
    return match.group(1) if match else None


_EXPORT = re.compile(rb"^[ \t]*export\s+(?:const|async\s+function|function)\s+([A-Za-z_$][\w$]*)", re.MULTILINE)
# path -> (the text read, {name: the comment that declares its purpose}) in workspace.memo.
_PURPOSES: MemoKey[dict[Path, tuple[bytes, dict[bytes, str]]]] = MemoKey("triggers.purposes")
# The bytes before a definition -> the comment block ending there (see `_purposes`).
_COMMENT_WINDOWS: MemoKey[dict[bytes, bytes | None]] = MemoKey("triggers.comment_windows")
_WINDOWS_KEPT = 4096  # entries (<= 4 kB each): a few files' definitions


def declared_one_off(workspace: Workspace, path: Path, name: str) -> str | None:
    """The comment right above `export const <name> =` when it says the function is a debugging
    or testing aid, temporary or one-off (its authors say it is not part of the product), else
    None. Only the comment block touching the definition counts, not one further up. Read once
    per file text: a check asks once per finding."""
    source = workspace.source(path)
    if source is None:
        return None
    cache = workspace.memo.get(_PURPOSES)
    if cache is None:
        cache = workspace.memo.put(_PURPOSES, {})
    entry = cache.get(path)
    if entry is None or not (entry[0] is source.data or entry[0] == source.data):
        windows = workspace.memo.get(_COMMENT_WINDOWS)
        if windows is None:
            windows = workspace.memo.put(_COMMENT_WINDOWS, {})
        entry = cache[path] = (source.data, _purposes(source.data, windows))
    return entry[1].get(name.encode())


# Every match of `_ONE_OFF_PURPOSE` lies on one line (from the line break before it) and holds
# one of these words, whatever its case.
_PURPOSE_WORDS = (b"debug", b"test", b"dev", b"temporary", b"one-off", b"one off")


def mentions_purpose(data: bytes) -> bool:
    """Whether `_ONE_OFF_PURPOSE` matches anywhere in `data`: the pattern tried only on the lines
    that hold one of its words (found by `bytes.find`, ~10x faster than the pattern tried at
    every offset of a file; the same answer on every corpus file)."""
    lowered = data.lower()  # ASCII only, as `re.IGNORECASE` on a bytes pattern
    for word in _PURPOSE_WORDS:
        at = lowered.find(word)
        while at >= 0:
            start = max(0, data.rfind(b"\n", 0, at))  # the line break itself: `(?:^|\n)` needs it
            end = data.find(b"\n", at)
            if end < 0:
                end = len(data)
            if _ONE_OFF_PURPOSE.search(data, start, end):  # `\b` at `end` sees `\n` or the end alike
                return True
            at = lowered.find(word, end)
    return False


def _purposes(data: bytes, windows: dict[bytes, bytes | None] | None = None) -> dict[bytes, str]:
    """{name: comment} of the exported definitions whose comment right above declares a one-off
    purpose. `windows`: the comments already found, by the bytes before a definition."""
    if windows is None:
        windows = {}
    if not mentions_purpose(data):
        return {}  # most files: no such words at all
    found: dict[bytes, str] = {}
    for definition in _EXPORT.finditer(data):
        at = definition.start()
        # The comment touches the definition, so the line right above ends one: a `//` on it, or
        # a `*/` closing it. Most definitions have none, and the pattern below, anchored at the
        # end, is tried at every offset of its window (a file's check per keystroke in the editor).
        if at == 0 or data[at - 1 : at] != b"\n":
            continue
        above = data[data.rfind(b"\n", 0, at - 1) + 1 : at - 1]
        if b"//" not in above and not above.rstrip(b" \t").endswith(b"*/"):
            continue
        # Look back a few kB, not through the whole file; the same few kB (a keystroke elsewhere
        # in the file) give the same comment.
        window = data[max(0, at - 4096) : at]
        if window in windows:
            text = windows[window]
        else:
            comment = _COMMENT_ABOVE.search(window)
            text = comment.group(0) if comment is not None else None
            if len(windows) >= _WINDOWS_KEPT:
                windows.clear()
            windows[window] = text
        if text is not None and _ONE_OFF_PURPOSE.search(text):
            found[definition.group(1)] = " ".join(text.decode("utf-8", "replace").split())
    return found
