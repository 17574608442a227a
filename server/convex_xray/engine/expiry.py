"""Tables kept small by expiry: a cron deletes their rows a short time after they are written.

A scan of `loginCodes` or `rateLimitWindows` reads every row, but a cleanup job keeps those
tables to the rows of the last minutes or hours: one-minute login codes, an hour of login
attempts, two hours of rate-limit windows (labelled minor on the corpus, benchmarks/signal.md).
The code says so in two places, and the cost model takes a table for one alive only for a
short window (`[cost] in-flight` rows) when both hold:

- a **sweep**: a function run by a cron (directly, or through `ctx.runMutation`/`runAction`
  from a cron's function, up to three calls deep) queries the table and deletes the rows it
  selects by time alone, against the current time (all of them, or a batch per run that
  schedules the next run or loops until none is left): an index range
  `q.lt("expiresAt", Date.now())`, a filter `q.lt(q.field("createdAt"), Date.now() - HOUR)`,
  or a loop `if (row.windowStart < cutoff) ctx.db.delete(...)`. A selection that also keeps
  some rows (`q.neq(q.field("status"), "completed")`, an equality on a category, a
  `continue` before the delete, a cutoff a caller passes in) bounds nothing: the rows it keeps
  accumulate;
- a **lifetime**: the cutoff is `Date.now() - k` on a time the row was written or touched
  (`createdAt`, `lastAttemptAt`): rows live k; or the cutoff is now on an expiry field and every
  production insert into the table sets that field (`expiresAt: Date.now() + k`, through
  `const`s of the file): rows live the longest k. An insert that sets it through a call is
  assumed alike when another states its k (the assumption says which); one that does not set it
  makes a row that never expires, and then the table grows.

The rows alive at once are those of the lifetime plus the cron's period (a sweep every 10 minutes
of 1-minute codes keeps at most 11 minutes of them). Up to a day of rows is a window
(`cost.RECENT_WINDOW_MS`, as for time-window ranges); a longer one (30 days of audit entries, a
sweep that runs monthly) holds as much as a table and changes nothing. A sweep only some
request runs (no cron) does not count: when nobody makes that request, nothing is deleted.

The facts are read from the text like the cron index (`engine.triggers`) and the admin writers
(`engine.writers`): regular expressions per file, kept with the text, and a small evaluator of
`Date.now()` plus or minus numeric `const`s (`2 * 60 * 60 * 1000`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from convex_xray.engine.config import Config
from convex_xray.engine.memo import MemoKey, drop_merged, merged_per_file_text
from convex_xray.engine.roles import PRODUCTION, role_of
from convex_xray.engine.source import SourceFile
from convex_xray.engine.textscan import LineStartScan, LiteralStartScan
from convex_xray.engine.triggers import CRON, FUNCTION_REFERENCE, trigger_index
from convex_xray.engine.workspace import Workspace

# Rows alive for at most this long (lifetime plus the sweep's period) are a window, not a table.
WINDOW_MS = 24 * 60 * 60 * 1000
_CALL_DEPTH = 3  # calls from a cron's function to the sweep

_TOP_LEVEL = LineStartScan(
    re.compile(rb"^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:const|let|var|function|class)\s+([A-Za-z_$][\w$]*)?", re.MULTILINE),
    b"edacvlf",  # (the first letters of its keywords)
)
_QUERY = re.compile(rb"""\bquery\s*\(\s*(["'])([A-Za-z_$][\w$]*)\1\s*\)""")
_DELETE = re.compile(rb"\bdb\s*\.\s*delete\s*\(")
# `q.lt("expiresAt", now)` (an index range) and `q.lt(q.field("createdAt"), cutoff)` (a filter).
_RANGE_LT = re.compile(rb"""\.\s*(lte?)\s*\(\s*(["'])([A-Za-z_$][\w$]*)\2\s*,""")
_FILTER_CMP = re.compile(rb"""\bq\s*\.\s*(eq|neq|lt|lte|gt|gte)\s*\(\s*q\s*\.\s*field\s*\(\s*(["'])([A-Za-z_$][\w$]*)\2\s*\)\s*,""")
# `if (row.windowStart < cutoff)` / `.filter((d) => d.expiresAt <= now)`: a loop that deletes what it selects.
_JS_CMP = re.compile(rb"""(?:\bif\s*\(|=>)\s*([A-Za-z_$][\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)\s*(<=?)\s*([^;{}\n]+)""")
_SKIP = re.compile(rb"\bcontinue\b")
_BATCH = re.compile(rb"\.\s*(?:take|paginate|first)\s*\(")
# The sweep goes on in the same run or schedules its next batch.
_CONTINUES = re.compile(rb"\bscheduler\s*\.\s*run(?:After|At)\s*\(|\bwhile\s*\(|\bdo\s*\{")
_EQ_IN_RANGE = re.compile(rb"""\.\s*eq\s*\(\s*["']""")
_WITH_INDEX = re.compile(rb"\.\s*withIndex\s*\(")
_FILTER = re.compile(rb"\.\s*filter\s*\(")
_INSERT = re.compile(rb"""\bdb\s*\.\s*insert\s*\(\s*(["'])([A-Za-z_$][\w$]*)\1\s*,\s*""")
# `internal.a.b.fn` (`triggers.FUNCTION_REFERENCE`): every match begins with one of the two
# words (see `LiteralStartScan`).
_REFERENCE = LiteralStartScan(FUNCTION_REFERENCE, (b"internal", b"api"))
_CONST = re.compile(rb"\b(?:const|let)\s+([A-Za-z_$][\w$]*)\s*(?::\s*[\w<>\[\] |]+)?=\s*")
# Fields a row goes at once passed: `expiresAt`, `expires_at`, `ttl`, `validUntil`, `deadline`.
_EXPIRY_FIELD = re.compile(r"expir|ttl|until|deadline", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sweep:
    table: str
    field: str
    before_ms: float  # the cutoff is this long before now (0: `field < now`)
    function: str  # the top-level declaration that deletes
    line: int


@dataclass(frozen=True, slots=True)
class TimedInsert:
    table: str
    line: int
    fields: tuple[tuple[str, float | None], ...] | None  # field -> ms after now it is set to (None: through a call); None: not a literal
    function: str


@dataclass(frozen=True, slots=True)
class FileFacts:
    module: str | None  # `folder.module`, the name `internal.folder.module.fn` uses
    sweeps: tuple[Sweep, ...]
    inserted: frozenset[str]  # the tables it inserts into (`timed_inserts` reads what it sets)
    calls: tuple[tuple[str, str], ...]  # (function, `folder.module.fn` it names)
    exports: tuple[tuple[str, float], ...] = ()  # `export const HOUR_MS = 60 * 60 * 1000`
    missing: frozenset[str] = frozenset()  # names a sweep's cutoff uses that the file does not declare


def _units(data: bytes) -> list[tuple[int, int, str]]:
    """(start, end, name) of each top-level declaration."""
    found = [(m.start(), (m.group(1) or b"").decode()) for m in _TOP_LEVEL.finditer(data)]
    return [(start, found[i + 1][0] if i + 1 < len(found) else len(data), name) for i, (start, name) in enumerate(found)]


_SYNTAX = re.compile(rb"[()\[\]{},;\n]")
_MAX_EXPRESSION = 4096  # bytes an expression or object literal of interest may span


def _balanced(data: bytes, start: int) -> int:
    """The offset after the bracket group or expression that starts at `start` (stops at a
    depth-0 `,` or `)` / `;` / line end), looking at most `_MAX_EXPRESSION` bytes ahead."""
    depth = 0
    opened = data[start : start + 1] in (b"(", b"[", b"{")
    limit = min(len(data), start + _MAX_EXPRESSION)
    for match in _SYNTAX.finditer(data, start, limit):
        char = match.group(0)
        if char in b"([{":
            depth += 1
        elif char in b")]}":
            if depth == 0:
                return match.start()
            depth -= 1
            if depth == 0 and opened:
                return match.end()
        elif depth == 0:
            return match.start()
    return limit


class _Consts:
    """The `const`s of a file, to evaluate `Date.now() - 2 * HOUR_MS` and the names in it."""

    def __init__(self, data: bytes, imported: dict[str, float] | None = None) -> None:
        self.data = data
        self.imported = imported or {}
        self.missing: set[str] = set()  # names asked for that neither this file nor `imported` declares
        self._found: dict[str, list[tuple[int, int]]] | None = None

    @property
    def found(self) -> dict[str, list[tuple[int, int]]]:
        """name -> (declaration, value) offsets; read when a name is first asked for (most
        files evaluate nothing, and the language server reads the edited file per keystroke)."""
        if self._found is None:
            self._found = {}
            for match in _CONST.finditer(self.data):
                self._found.setdefault(match.group(1).decode(), []).append((match.start(), match.end()))
        return self._found

    def value(self, name: str, at: int) -> bytes | None:
        """The nearest declaration of `name` before `at` (else the first one: a module `const`
        declared below its use)."""
        known = self.found.get(name)
        if not known:
            return None
        before = [value for start, value in known if start < at]
        value = before[-1] if before else known[0][1]
        return self.data[value : _balanced(self.data, value)]

    def offset(self, text: bytes, at: int) -> float | None:
        """`text` as `Date.now() + c`: c in ms, or None when it is not that."""
        form = self._linear(text, at, 0)
        return form[1] if form is not None and form[0] == 1 else None

    def _linear(self, text: bytes, at: int, depth: int) -> tuple[float, float] | None:
        if depth > 6:
            return None
        source = text.decode("utf-8", "replace").strip()
        source = re.sub(r"\bnew\s+Date\s*\((.*)\)", r"(\1)", source)
        source = re.sub(r"\.(?:getTime|valueOf|toISOString)\s*\(\s*\)", "", source)
        source = re.sub(r"\bDate\s*\.\s*now\s*\(\s*\)", "__now__", source)
        source = re.sub(r"\s+as\s+(?:const|number)\b", "", source)
        try:
            tree = ast.parse(source, mode="eval")
        except (SyntaxError, ValueError):
            return None
        return self._evaluate(tree.body, at, depth)

    def _evaluate(self, node: ast.expr, at: int, depth: int) -> tuple[float, float] | None:
        """(a, b) with the value `a * now + b`, from numbers, `+ - * /` and names."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return (0.0, float(node.value))
        if isinstance(node, ast.Name):
            if node.id == "__now__":
                return (1.0, 0.0)
            text = self.value(node.id, at)
            if text is None:
                value = self.imported.get(node.id)  # a constant another file exports
                if value is None:
                    self.missing.add(node.id)
                return (0.0, value) if value is not None else None
            return self._linear(text, at, depth + 1)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._evaluate(node.operand, at, depth)
            return (-inner[0], -inner[1]) if inner is not None else None
        if isinstance(node, ast.BinOp):
            left, right = self._evaluate(node.left, at, depth), self._evaluate(node.right, at, depth)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Add):
                return (left[0] + right[0], left[1] + right[1])
            if isinstance(node.op, ast.Sub):
                return (left[0] - right[0], left[1] - right[1])
            if isinstance(node.op, ast.Mult) and (left[0] == 0 or right[0] == 0):
                return (left[0] * right[1] + right[0] * left[1], left[1] * right[1])
            if isinstance(node.op, ast.Div) and right[0] == 0 and right[1]:
                return (left[0] / right[1], left[1] / right[1])
        return None


def _argument(data: bytes, start: int) -> bytes:
    return data[start : _balanced(data, start)].strip()


def _sweeps(data: bytes, consts: _Consts, begin: int, end: int, function: str) -> Iterator[Sweep]:
    """The tables a declaration deletes rows of, selected by time against now."""
    queries = [m for m in _QUERY.finditer(data, begin, end)]
    for index, query in enumerate(queries):
        # What follows the query up to the next one: its chain and what the code does with the rows.
        stop = queries[index + 1].start() if index + 1 < len(queries) else end
        segment_end = stop
        if _DELETE.search(data, query.end(), segment_end) is None:
            continue
        table = query.group(2).decode()
        chain_end = data.find(b";", query.end(), segment_end)
        if _BATCH.search(data, query.end(), chain_end if chain_end >= 0 else segment_end) and not _CONTINUES.search(data, begin, end):
            continue  # `.take(100)` a run and no next run: deletes at most that many per tick, whatever expires
        for field, cutoff in _selection(data, consts, query.end(), segment_end):
            yield Sweep(table, field, cutoff, function, data.count(b"\n", 0, query.start()) + 1)


def _selection(data: bytes, consts: _Consts, start: int, end: int) -> Iterator[tuple[str, float]]:
    """(field, ms before now) of the time conditions that alone select the rows deleted."""
    chain_end = data.find(b";", start, end)
    chain_end = chain_end if chain_end >= 0 else end
    delete = _DELETE.search(data, chain_end, end)
    if delete is not None and _SKIP.search(data, chain_end, delete.start()):
        return  # `if (row.orderItemId) continue;` before the delete: some selected rows stay for good
    index = _WITH_INDEX.search(data, start, chain_end)
    if index is not None:
        range_end = _balanced(data, index.end() - 1)
        if _EQ_IN_RANGE.search(data, index.end(), range_end) is None:  # a category's rows only: the rest stay
            for match in _RANGE_LT.finditer(data, index.end(), range_end):
                before = _before_now(data, consts, match.end())
                if before is not None:
                    yield match.group(3).decode(), before
                    return
    filtered = _FILTER.search(data, start, chain_end)
    if filtered is not None:
        body_end = _balanced(data, filtered.end() - 1)
        time: tuple[str, float] | None = None
        for match in _FILTER_CMP.finditer(data, filtered.end(), body_end):
            argument = _argument(data, match.end())
            if argument == b"undefined" and match.group(1) == b"eq":
                continue  # `q.eq(q.field("lockedUntil"), undefined)`: a time not set
            before = _before_now(data, consts, match.end())
            if before is None or match.group(1) not in (b"lt", b"lte"):
                return  # another condition keeps some rows for good (`q.neq(q.field("status"), ...)`)
            if time is None or before > time[1]:
                time = (match.group(3).decode(), before)
        if time is not None:
            yield time
        return
    for match in _JS_CMP.finditer(data, chain_end, end):
        value = match.group(4).split(b")")[0]
        if b"&&" in value or b"||" in value:
            continue  # another condition keeps some rows
        before = _before_now(data, consts, match.start(4), value)
        if before is not None:
            yield match.group(2).decode(), before
            return


def _before_now(data: bytes, consts: _Consts, start: int, text: bytes | None = None) -> float | None:
    """How long before now the value at `start` is (`Date.now() - HOUR` -> 3600000), or None
    when it is not the current time less a constant."""
    value = text if text is not None else _argument(data, start)
    offset = consts.offset(value, start)
    # (`q.lt("expiresAt", now + 1)`: up to a second ahead is still "now")
    return max(0.0, -offset) if offset is not None and offset <= 1000 else None


def _inserts(data: bytes, consts: _Consts, begin: int, end: int, function: str, tables: set[str]) -> Iterator[TimedInsert]:
    for match in _INSERT.finditer(data, begin, end):
        table = match.group(2).decode()
        if table not in tables:
            continue
        line = data.count(b"\n", 0, match.start()) + 1
        start = match.end()
        name = re.match(rb"([A-Za-z_$][\w$]*)\s*\)", data[start : start + 80])
        if name is not None:
            # `ctx.db.insert("cache", entry)`: the object literal `entry` was declared with.
            value = consts.value(name.group(1).decode(), start)
            if value is not None and value.startswith(b"{"):
                known = data.rfind(value, begin, start)
                start = known if known >= 0 else start
        if data[start : start + 1] != b"{":
            yield TimedInsert(table, line, None, function)
            continue
        close = _balanced(data, start)
        body = data[start + 1 : close - 1]
        fields: list[tuple[str, float | None]] = []
        literal = True
        for item in _properties(body):
            if item.startswith(b"..."):
                literal = False  # a spread may set anything
                continue
            key, colon, value = item.partition(b":")
            key_name = key.strip().strip(b"\"'").decode("utf-8", "replace")
            if not key_name.isidentifier():
                continue
            expression = value.strip() if colon else key.strip()  # `{ expiresAt }`: the variable
            # (only an expiry field's time is asked for: see `_lifetime`)
            ahead = consts.offset(expression, match.start()) if _EXPIRY_FIELD.search(key_name) else None
            fields.append((key_name, ahead))
        yield TimedInsert(table, line, tuple(fields) if literal else None, function)


_COMMENT = re.compile(rb"//[^\n]*|/\*.*?\*/", re.DOTALL)


def _properties(body: bytes) -> Iterator[bytes]:
    """The depth-0 comma-separated items of an object literal's body, comments dropped."""
    body = _COMMENT.sub(b"", body)
    depth = 0
    start = 0
    for index, char in enumerate(body):
        if char in b"([{":
            depth += 1
        elif char in b")]}":
            depth -= 1
        elif char == ord(",") and depth == 0:
            if body[start:index].strip():
                yield body[start:index].strip()
            start = index + 1
    if body[start:].strip():
        yield body[start:].strip()


_NUMERIC = re.compile(rb"[\w\s*+\-/().]{1,200}")
# (From the literal `export`, not the line start: the regex engine scans for a literal fast.)
_EXPORT_CONST = re.compile(rb"export\s+const\s+([A-Za-z_$][\w$]*)\s*(?::\s*number\s*)?=")
# `insert("table"` anywhere, from the literal: which tables a file may insert into.
_INSERTED = re.compile(rb"""insert\s*\(\s*(["'])([A-Za-z_$][\w$]*)\1""")


def file_facts(module: str | None, data: bytes, imported: dict[str, float] | None = None) -> FileFacts:
    """What one file says: its sweeps, the tables it inserts into, which functions name which
    others (`internal.folder.module.fn`) and the numbers it exports (`imported`: the numbers
    other files export, for the names this one does not declare)."""
    exports: list[tuple[str, float]] = []
    if b"export" in data and b"const" in data:
        numbers: _Consts | None = None
        for match in _EXPORT_CONST.finditer(data):
            # A number is one line of arithmetic (most exports are functions: not read further).
            line_end = data.find(b"\n", match.end())
            text = data[match.end() : line_end if line_end >= 0 else len(data)].split(b"//")[0].strip().rstrip(b";")
            if not _NUMERIC.fullmatch(text):
                continue
            numbers = numbers or _Consts(data)
            value = numbers._linear(text, match.end(), 0)
            if value is not None and value[0] == 0:
                exports.append((match.group(1).decode(), value[1]))
    if b"delete" not in data and b"insert" not in data and b"internal" not in data:
        return FileFacts(module, (), frozenset(), (), tuple(exports))
    consts: _Consts | None = None
    sweeps: list[Sweep] = []
    calls: list[tuple[str, str]] = []
    for begin, end, name in _units(data):
        unit = data[begin:end]
        if b"delete" in unit and b"query" in unit and _DELETE.search(unit) and _QUERY.search(unit):
            consts = consts or _Consts(data, imported)
            sweeps.extend(_sweeps(data, consts, begin, end, name))
        if name and b"internal" in unit:
            for ref in _REFERENCE.finditer(unit):
                calls.append((name, re.sub(rb"\s+", b"", ref.group(1)).decode("utf-8", "replace").lstrip(".")))
    inserted = frozenset(m.group(2).decode() for m in _INSERTED.finditer(data)) if b"insert" in data else frozenset()
    missing = frozenset(consts.missing) if consts is not None else frozenset()
    return FileFacts(module, tuple(sweeps), inserted, tuple(calls), tuple(exports), missing)


def timed_inserts(data: bytes, tables: set[str], imported: dict[str, float] | None = None) -> list[TimedInsert]:
    """Every `db.insert("table", {...})` into one of `tables` in a file, with the expiry times it
    sets (read only for the files that insert into a table some sweep deletes from)."""
    consts = _Consts(data, imported)
    return [insert for begin, end, name in _units(data) for insert in _inserts(data, consts, begin, end, name, tables)]


@dataclass(frozen=True, slots=True)
class Expiring:
    """A table kept to a window by a sweep: how long its rows stay at most, and why."""

    table: str
    window_ms: float
    why: str  # `cleanup.ts:12 (`purge`, a cron every 10 minutes) deletes rows once `expiresAt` passes; ...`


# path -> (the text read, its facts); the merged verdict per revision (with the config it used).
_FILE_FACTS: MemoKey[dict[Path, tuple[bytes, tuple[Path, FileFacts]]]] = MemoKey("expiry.files")
_MERGED: MemoKey[tuple[int, tuple[Config, dict[str, Expiring]]]] = MemoKey("expiry.merged")


def _module_facts(workspace: Workspace, path: Path, source: SourceFile) -> tuple[Path, FileFacts]:
    """A file's facts under its module's dotted name from the Convex root (`folder.module`),
    what both the expiry verdict and the scheduled-call graph read (one memo, `_FILE_FACTS`)."""
    return path, file_facts(workspace.module_name(path), source.data)


def expiring_tables(workspace: Workspace, config: Config) -> dict[str, Expiring]:
    """Every table of the workspace a cron keeps to a window of at most a day."""

    facts = partial(_module_facts, workspace)

    def merge(files: Iterator[tuple[Path, FileFacts]]) -> tuple[Config, dict[str, Expiring]]:
        return config, _verdict(workspace, config, list(files))

    known = merged_per_file_text(workspace, _MERGED, _FILE_FACTS, facts, merge)
    if known[0] is not config:
        drop_merged(workspace, _MERGED)
        known = merged_per_file_text(workspace, _MERGED, _FILE_FACTS, facts, merge)
    return known[1]


# The calls every file's functions make (`internal.folder.module.fn`), merged per revision.
_CALLS: MemoKey[tuple[int, tuple[tuple[str, str], ...]]] = MemoKey("expiry.calls")


def run_on_schedule(workspace: Workspace) -> frozenset[str]:
    """`folder.module.fn` of every function a cron or the scheduler runs, and of those they call
    (`ctx.runMutation(internal.folder.module.fn)`), up to three calls down: work that recurs
    without anyone asking (a cron's action calling a cleanup mutation)."""

    facts = partial(_module_facts, workspace)

    def merge(files: Iterator[tuple[Path, FileFacts]]) -> tuple[tuple[str, str], ...]:
        return tuple((f"{f.module}.{name}", callee) for _, f in files if f.module for name, callee in f.calls)

    calls = merged_per_file_text(workspace, _CALLS, _FILE_FACTS, facts, merge)
    reached = {dotted for (_root, dotted) in trigger_index(workspace)}
    for _ in range(_CALL_DEPTH):
        reached.update([callee for caller, callee in calls if caller in reached])
    return frozenset(reached)


def _verdict(workspace: Workspace, config: Config, files: list[tuple[Path, FileFacts]]) -> dict[str, Expiring]:
    if not any(f.sweeps or f.missing for _, f in files):
        return {}
    # Constants one file exports and another uses (`STALE_WINDOW_MS` from `./validators`): a file
    # whose cutoffs use such a name is read again with them (a name exported with two values
    # counts for none).
    exported: dict[str, float | None] = {}
    for _, f in files:
        for name, value in f.exports:
            exported[name] = value if exported.get(name, value) == value else None
    numbers = {name: value for name, value in exported.items() if value is not None}
    if numbers:
        files = [
            (path, file_facts(f.module, source.data, numbers) if f.missing & numbers.keys() and (source := workspace.source(path)) is not None else f)
            for path, f in files
        ]
    if not any(f.sweeps for _, f in files):
        return {}
    bases = tuple(b for b in (config.base, workspace.base) if b is not None)
    roles: dict[Path, str] = {}

    def production(path: Path) -> bool:
        if path not in roles:
            root = workspace.root_of(path)
            source = workspace.source(path)
            roles[path] = role_of(path, root.path if root else None, bases, config.roles, source.data if source else None)
        return roles[path] == PRODUCTION

    # How often each function runs, from the crons, then down the calls they make.
    period: dict[str, float] = {}
    for (_root, dotted), trigger in trigger_index(workspace).items():
        if trigger.kind == CRON and trigger.period_ms is not None:
            period[dotted] = min(trigger.period_ms, period.get(dotted, trigger.period_ms))
    calls = [(f"{f.module}.{name}", callee) for _, f in files if f.module for name, callee in f.calls]
    for _ in range(_CALL_DEPTH):
        for caller, callee in calls:
            if caller in period and period[caller] < period.get(callee, float("inf")):
                period[callee] = period[caller]
    swept = {sweep.table for _, f in files for sweep in f.sweeps}
    inserts: dict[str, list[tuple[Path, TimedInsert]]] = {}
    for path, f in files:
        source = workspace.source(path) if f.inserted & swept else None
        for insert in timed_inserts(source.data, swept, numbers) if source is not None else ():
            inserts.setdefault(insert.table, []).append((path, insert))
    found: dict[str, Expiring] = {}
    for path, f in files:
        if not f.sweeps or f.module is None or not production(path):
            continue
        for sweep in f.sweeps:
            if sweep.table in config.cost.growing_tables:
                continue
            every = period.get(f"{f.module}.{sweep.function}")
            if every is None:
                continue  # no cron runs it: nothing is deleted unless someone asks
            lifetime = _lifetime(sweep, [(p, i) for p, i in inserts.get(sweep.table, []) if production(p)], workspace)
            if lifetime is None:
                continue
            alive, how = lifetime
            window = alive + every
            if window > WINDOW_MS or (sweep.table in found and found[sweep.table].window_ms <= window):
                continue
            where = _where(workspace, path)
            why = (
                f"rows live at most {_duration(window)}: `{sweep.function}` ({where}:{sweep.line}, run every "
                f"{_duration(every)} by a cron) deletes them {how}"
            )
            found[sweep.table] = Expiring(sweep.table, window, why)
    return found


def _lifetime(sweep: Sweep, inserts: list[tuple[Path, TimedInsert]], workspace: Workspace) -> tuple[float, str] | None:
    """How long a row lives before the sweep selects it, with the clause that says why."""
    field = sweep.field
    if not _EXPIRY_FIELD.search(field):
        if sweep.before_ms <= 0:
            return None
        return sweep.before_ms, f"once `{field}` is {_duration(sweep.before_ms)} old"
    if not inserts:
        return None
    stated: list[tuple[float, str]] = []
    unstated: list[str] = []
    for path, insert in inserts:
        where = f"{_where(workspace, path)}:{insert.line}"
        if insert.fields is None:
            return None  # not an object literal: what it sets is not known
        values = dict(insert.fields)
        if field not in values:
            return None  # a row that never expires: the table grows
        ahead = values[field]
        if ahead is None:
            unstated.append(where)
        elif ahead <= 0:
            return None
        else:
            stated.append((ahead, where))
    if not stated:
        return None
    longest, at = max(stated)
    how = f"once `{field}` passes (+{_duration(sweep.before_ms)})" if sweep.before_ms > 0 else f"once `{field}` passes"
    how += f", which inserts set {_duration(longest)} ahead ({at}"
    if unstated:
        how += f"; {', '.join(unstated[:2])} set{'s' if len(unstated) == 1 else ''} it through a call, assumed alike"
    return longest + sweep.before_ms, how + ")"


def _where(workspace: Workspace, path: Path) -> str:
    root = workspace.root_of(path)
    return path.relative_to(root.path).as_posix() if root is not None and path.is_relative_to(root.path) else path.name


def _duration(ms: float) -> str:
    """`10 minutes`, `1 hour`, `3 hours 10 minutes` (rounded to the minute)."""
    minutes = max(1, round(ms / 60_000))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(parts[:2])
