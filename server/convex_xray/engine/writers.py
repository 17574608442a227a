"""Who creates a table's rows: tables only platform admins write stay small.

A scan of `popups`, `invite_codes` or `org_suspensions` reads every row, but those rows are
made one at a time by the few people who run the app, behind an admin check
(`await requireAdmin(ctx)`, an `adminMutation` builder, `if (user.role !== "admin") throw`).
Labelled on the corpus (benchmarks/signal.md), such scans were minor wherever the rows came
only from there, and the names of those tables say nothing a word list could guess. So the
cost model takes a table for a reference table (`[cost] reference` rows) when:

- some production code inserts into it under a platform admin check, and no other production
  code does (tests, seeds and scripts do not count: they are not users);
- the admin check is the platform's, not scoped to something that grows
  (`requireOrgAdmin(ctx)`, `requireCityAdmin(ctx)`, `requireAdmin(ctx, orgId)` let every org's
  or city's admins write, so the table grows with them);
- the insert is not in a loop (an admin's import or bulk action makes rows by the batch),
  the table is not a log (an audit trail of admin actions grows with every action), and its
  rows name no tenant (payments an admin records for each org grow with the orgs);
- no production code inserts into a table named at run time (`ctx.db.insert(table, ...)`),
  which could be any of them.

The facts are read from the text like the cron index (`engine.triggers`): one regex pass per
file, kept with the text, so no file is modelled for them. The unit is a top-level declaration
(`export const create = mutation({...})` up to the next one): the check has to sit in the
same function as the insert; an insert in a helper counts as unguarded, whoever calls it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from convex_xray.engine.config import Config
from convex_xray.engine.cost import CostAssumptions, is_log_table, is_tenant_field
from convex_xray.engine.expiry import expiring_tables
from convex_xray.engine.memo import MemoKey, drop_merged, merged_per_file_text
from convex_xray.engine.roles import PRODUCTION, RolesConfig, role_of, uses_test_harness
from convex_xray.engine.schema import Schema
from convex_xray.engine.source import SourceFile
from convex_xray.engine.textscan import LineStartScan
from convex_xray.engine.workspace import Workspace

# Matched from the literal `insert` (the regex engine scans for a literal prefix fast), then the
# `db.` before it is checked (`_DB_BEFORE`): one pass over 8 MB of source takes ~20 ms, not ~70.
_INSERT = re.compile(rb"insert\s*\(\s*(?:([\"'])([A-Za-z_$][\w$]*)\1|([^\s\"')]))")
_DB_BEFORE = re.compile(rb"(?<![\w$])db\s*\.\s*\Z")
# Where a top-level declaration starts (column 0): the unit an admin check guards.
_TOP_LEVEL = LineStartScan(
    re.compile(rb"^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:const|let|var|function|class)\b", re.MULTILINE),
    b"edacvlf",  # (the first letters of its keywords)
)
# A call that throws unless the caller is a platform admin: `requireAdmin(ctx)`,
# `assertSuperAdmin(user)`, `ensureIsAdmin(ctx)`, `adminOnly(ctx)`. Any other word before
# `Admin` scopes it to something that grows (`requireCityAdmin`, `requireOrgAdmin`).
_PLATFORM = rb"(?:super|platform|site|system|global|app)?_?"
_GUARD_CALL = re.compile(
    rb"\b((?:require|assert|ensure|check|verify|must|guard|enforce)_?(?:is_?|user_?|caller_?)?" + _PLATFORM
    + rb"admin(?:_?(?:only|user|access|role|auth))?|" + _PLATFORM + rb"admin_?(?:only|guard|required))\s*\(",
    re.IGNORECASE,
)
# A custom function builder for platform admins (`adminMutation({...})`, `superAdminQuery({...})`).
_ADMIN_BUILDER = re.compile(rb"\b(" + _PLATFORM + rb"admin(?:Query|Mutation|Action))\s*[(<]", re.IGNORECASE)
# A test of the caller being an admin, a guard when the same function throws:
# `if (!(await isAdmin(ctx))) throw ...`, `if (user.role !== "admin") throw ...`.
_ADMIN_TEST = re.compile(
    rb"\b(is_?" + _PLATFORM + rb"admin)\b"
    rb"|\b(role\w*)\s*[!=]==?\s*[\"']" + _PLATFORM + rb"admin[\"']"
    rb"|[\"']" + _PLATFORM + rb"admin[\"']\s*[!=]==?\s*[\w$.?]*\b(role\w*)",
    re.IGNORECASE,
)
_THROW = re.compile(rb"\bthrow\b")
_ADMIN_WORD = re.compile(rb"admin", re.IGNORECASE)
_THROW_WINDOW = 80  # bytes after an admin test in which its `throw` must come
# An admin who inserts in a loop (an import, a bulk action) makes rows by the batch.
_LOOP = re.compile(rb"\bfor\s*\(|\bwhile\s*\(|\.(?:map|forEach|flatMap)\s*\(")
# A guard scoped by its argument: `requireAdmin(ctx, orgId)` lets each org's admins write.
_TENANT_WORD = re.compile(rb"org|team|workspace|tenant|club|company|project|group|account|school|community|city", re.IGNORECASE)
_ARGS_WINDOW = 160  # bytes after a guard's `(` read for a tenant argument


@dataclass(frozen=True, slots=True)
class InsertSite:
    table: str | None  # None: named at run time
    line: int  # 1-based
    guard: str | None  # the admin check in the same top-level declaration, if any


def _guard(unit: bytes) -> str | None:
    """The platform admin check in a top-level declaration's text, or None."""
    if _ADMIN_WORD.search(unit) is None:
        return None  # every shape below names an admin; most functions name none
    for match in _GUARD_CALL.finditer(unit):
        name = match.group(1)
        args = unit[match.end() : match.end() + _ARGS_WINDOW].split(b")", 1)[0]
        if not _TENANT_WORD.search(args):
            return f"`{name.decode()}(...)`"
    builder = _ADMIN_BUILDER.search(unit)
    if builder is not None:
        return f"`{builder.group(1).decode()}`"
    for test in _ADMIN_TEST.finditer(unit):
        if _throws_on_its_own(unit, test.start(), test.end()):
            return f"an admin test (`{test.group(0).decode(errors='replace')}`) that throws"
    return None


def _throws_on_its_own(unit: bytes, start: int, end: int) -> bool:
    """`if (!isAdmin) throw ...` / `if (user.role !== "admin") { throw ...`: the test alone
    decides. `if (!isAdmin && doc.ownerId !== userId) throw` lets owners through too."""
    opening = unit.rfind(b"if", max(0, start - 40), start)
    if opening < 0:
        return False
    after = unit[end : end + _THROW_WINDOW]
    thrown = _THROW.search(after)
    if thrown is None:
        return False
    condition = unit[opening:start] + after[: thrown.start()]
    return b"&&" not in condition and b"||" not in condition


def _encloses(data: bytes, loop: re.Match[bytes], position: int) -> bool:
    """Whether the loop that starts at `loop` contains `position`: a `for`/`while` body (braced
    or one statement) or a `.map(...)` call's arguments, by bracket depth (strings are not
    skipped: an unbalanced bracket in a string makes the loop look longer, so more inserts
    count as in a loop, never fewer)."""
    depth = 0
    index = loop.end() - 1  # the `(` of the header or the call
    header_done = loop.group(0).startswith(b".")
    while index < len(data):
        char = data[index]
        if char in b"({[":
            depth += 1
        elif char in b")}]":
            depth -= 1
            if depth == 0:
                if header_done:
                    return position < index
                header_done = True  # the `for (...)` header closed: the body follows
                following = data[index + 1 : index + 64].lstrip()
                if not following.startswith(b"{"):
                    end = data.find(b";", index)
                    return position < (end if end >= 0 else len(data))
        if index >= position and depth > 0 and header_done:
            return True
        index += 1
    return True


def insert_sites(data: bytes) -> list[InsertSite]:
    """Every `db.insert(...)` of a file with the admin check guarding it."""
    if b"insert" not in data:
        return []
    starts: list[int] | None = None
    sites: list[InsertSite] = []
    guards: dict[int, str | None] = {}
    for match in _INSERT.finditer(data):
        if _DB_BEFORE.search(data, max(0, match.start() - 40), match.start()) is None:
            continue
        if starts is None:
            starts = [m.start() for m in _TOP_LEVEL.finditer(data)]
        position = match.start()
        after = bisect.bisect_right(starts, position)
        begin = starts[after - 1] if after > 0 else 0
        end = starts[after] if after < len(starts) else len(data)
        if begin not in guards:
            guards[begin] = _guard(data[begin:end])
        table = match.group(2).decode() if match.group(2) else None
        # (Whether the insert is in a loop matters only under a guard: most inserts have none.)
        in_loop = guards[begin] is not None and any(
            _encloses(data, loop, position) for loop in _LOOP.finditer(data, begin, position)
        )
        sites.append(InsertSite(table, data.count(b"\n", 0, position) + 1, None if in_loop else guards[begin]))
    return sites


# path -> (the text read, its insert sites), kept with the text (see `memo.per_file_text`).
_FILE_SITES: MemoKey[dict[Path, tuple[bytes, tuple[Path, bytes, list[InsertSite]]]]] = MemoKey("writers.files")
# path -> (the text, its root, the bases, the [roles] config, its role): the role of each file
# that inserts, asked again only when one of those changed. Every keystroke in the editor is a
# new revision, so the merge below runs per keystroke; the roles' path globs were most of it
# (150 files, ~14 ms per keystroke in a 732-file app).
_FILE_ROLES: MemoKey[dict[Path, tuple[bytes, Path | None, tuple[Path, ...], RolesConfig, str]]] = MemoKey("writers.roles")
# The merged verdict (with the config and the schemas it was merged with), current while the
# workspace's revision is, or while the files changed since insert nowhere (see
# `memo.merged_per_file_text`), and the config and the schema objects are the same.
_ASSUMPTIONS: MemoKey[tuple[int, tuple[Config, tuple[Schema, ...], CostAssumptions]]] = MemoKey("writers.assumptions")
# The verdict above with the expiring tables added, the same object while neither changed.
_WITH_EXPIRY: MemoKey[tuple[CostAssumptions, tuple[tuple[str, str], ...], CostAssumptions]] = MemoKey("writers.expiry")


def cost_assumptions(workspace: Workspace, config: Config) -> CostAssumptions:
    """`[cost]` of the configuration with what the workspace shows: the tables only platform
    admins create rows in (`admin_tables`), each with the evidence (`popups.ts:40, under
    `requireAdmin(...)``) the cost model states as its assumption, and the tables a cron keeps
    to a short window of rows (`expiring_tables`, see `engine.expiry`)."""

    def sites(path: Path, source: SourceFile) -> tuple[Path, bytes, list[InsertSite]]:
        return path, source.data, insert_sites(source.data)

    def merge(files: Iterator[tuple[Path, bytes, list[InsertSite]]]) -> tuple[Config, tuple[Schema, ...], CostAssumptions]:
        evidence: dict[str, str] = {}
        unguarded: set[str] = set()
        bases = tuple(b for b in (config.base, workspace.base) if b is not None)
        roles = workspace.memo.get(_FILE_ROLES)
        if roles is None:
            roles = workspace.memo.put(_FILE_ROLES, {})
        for path, data, found in files:
            if not found:
                continue
            root = workspace.root_of(path)
            root_path = root.path if root else None
            known = roles.get(path)
            if (
                known is not None
                and (known[0] is data or known[0] == data)
                and known[1] == root_path
                and known[2] == bases
                and known[3] is config.roles
            ):
                role = known[4]
            else:
                role = role_of(path, root_path, bases, config.roles, data)
                roles[path] = (data, root_path, bases, config.roles, role)
            if role != PRODUCTION:
                continue  # tests, seeds and scripts are not the app's users
            for site in found:
                if site.table is None:
                    return config, schemas, config.cost  # a table named at run time could be any of them
                if site.guard is None:
                    unguarded.add(site.table)
                elif site.table not in evidence:
                    where = path.relative_to(root.path).as_posix() if root is not None else path.name
                    evidence[site.table] = f"{where}:{site.line}, under {site.guard}"
        admin: dict[str, str] = {}
        for table, where in evidence.items():
            if (
                table in unguarded
                or table in config.cost.growing_tables
                or is_log_table(table, config.cost)  # an audit trail of admin actions grows with them
                or _has_tenant_field(workspace, table)  # rows an admin keeps per org (payments) grow with the orgs
            ):
                continue
            admin[table] = where
        return config, schemas, replace(config.cost, admin_tables=tuple(sorted(admin.items())))

    def merged() -> tuple[Config, tuple[Schema, ...], CostAssumptions]:
        # A file that inserts nowhere, before and after its change, leaves the verdict as it was.
        return merged_per_file_text(workspace, _ASSUMPTIONS, _FILE_SITES, sites, merge, _same_verdict)

    schemas = tuple(workspace.app_schemas())  # (their tenant fields: `_has_tenant_field`)
    known = merged()
    if known[0] is not config or len(known[1]) != len(schemas) or any(a is not b for a, b in zip(known[1], schemas, strict=True)):
        # Another configuration (the editor reloaded it) or a schema read again: merge again.
        drop_merged(workspace, _ASSUMPTIONS)
        known = merged()
    # Tables a cron keeps to a short window (`engine.expiry`), stated with the same assumptions.
    expiring = tuple(sorted((table, found.why) for table, found in expiring_tables(workspace, config).items()))
    if not expiring:
        return known[2]
    combined = workspace.memo.get(_WITH_EXPIRY)
    if combined is None or combined[0] is not known[2] or combined[1] != expiring:
        combined = workspace.memo.put(_WITH_EXPIRY, (known[2], expiring, replace(known[2], expiring_tables=expiring)))
    return combined[2]


def _same_verdict(before: tuple[Path, bytes, list[InsertSite]], after: tuple[Path, bytes, list[InsertSite]]) -> bool:
    """Whether a file's new text leaves the merged verdict as it was: it inserts nowhere,
    before and after, or into the same tables under the same guards in the same order (the
    lines count only where a guard makes one the evidence), and its role cannot have changed
    (the text decides only whether it imports convex-test). A keystroke in a file that
    inserts moves its inserts' lines: without this, every keystroke in such a file merged
    every file of the workspace again (732 in ConvexPress, ~4 ms)."""
    old, new = before[2], after[2]
    if not old and not new:
        return True
    if [(s.table, s.guard) for s in old] != [(s.table, s.guard) for s in new]:
        return False
    if any(s.guard is not None for s in new) and [s.line for s in old] != [s.line for s in new]:
        return False
    return uses_test_harness(before[1]) == uses_test_harness(after[1])


def _has_tenant_field(workspace: Workspace, table: str) -> bool:
    """Whether an application schema gives `table` a tenant field (`orgId`, `teamId`), or none
    says which fields it has (then it may)."""
    specs = [spec for schema in workspace.app_schemas() if schema.usable and (spec := schema.table(table)) is not None]
    return not specs or any(spec.fields is None or any(is_tenant_field(name) for name in spec.fields) for spec in specs)
