"""The cron/scheduler index is built once per workspace revision and follows edits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convex_xray.engine.source import SourceFile
from convex_xray.engine.triggers import (
    _ONE_OFF_PURPOSE,
    CRON,
    _internal_names,
    _referenced_names,
    mentions_purpose,
    trigger_index,
)
from tests.support.project import workspace_for, write_project

JOBS = 'import { internalMutation } from "./_generated/server";\nexport const sweep = internalMutation({ args: {}, handler: async () => {} });\nexport const tidy = internalMutation({ args: {}, handler: async () => {} });\n'
CRONS = 'import { cronJobs } from "convex/server";\nimport { internal } from "./_generated/api";\nconst crons = cronJobs();\ncrons.daily("sweep", { hourUTC: 3, minuteUTC: 0 }, internal.jobs.{target});\nexport default crons;\n'


def test_the_index_is_shared_until_a_file_changes_and_then_follows_the_change(tmp_path):
    project = write_project(tmp_path / "app", {"jobs.ts": JOBS, "crons.ts": CRONS.replace("{target}", "sweep")})
    workspace = workspace_for(project)
    first = trigger_index(workspace)
    root = project / "convex"
    assert {ref for (_, ref), t in first.items() if t.kind == CRON} == {"jobs.sweep"}
    assert trigger_index(workspace) is first  # one merge per revision, not one per file checked

    crons = (root / "crons.ts").resolve()
    workspace.set_source(SourceFile(crons, CRONS.replace("{target}", "tidy")))
    after = trigger_index(workspace)
    assert after is not first
    assert {ref for (_, ref), t in after.items() if t.kind == CRON} == {"jobs.tidy"}


def test_an_edit_that_changes_no_reference_keeps_the_merge_and_one_that_does_merges_again(tmp_path):
    """The merged index is reused across revisions while every changed file names the same
    targets (a keystroke elsewhere), and equals a fresh workspace's index after each edit."""
    project = write_project(tmp_path / "app", {"jobs.ts": JOBS, "crons.ts": CRONS.replace("{target}", "sweep")})
    workspace = workspace_for(project)
    root = project / "convex"
    jobs, crons = (root / "jobs.ts").resolve(), (root / "crons.ts").resolve()
    first = trigger_index(workspace)
    names = _referenced_names(workspace)

    workspace.set_source(SourceFile(jobs, JOBS + "// a note\n"))
    assert trigger_index(workspace) is first
    assert _referenced_names(workspace) is names
    workspace.set_source(SourceFile(jobs, JOBS + "// a note, longer\n"))
    workspace.set_source(SourceFile(crons, CRONS.replace("{target}", "sweep") + "\n"))
    assert trigger_index(workspace) is first

    current = {jobs: JOBS + "// a note, longer\n", crons: CRONS.replace("{target}", "sweep") + "\n"}
    for path, text in [(jobs, JOBS + "export const x = internal.jobs.fresh;\n"), (crons, CRONS.replace("{target}", "tidy"))]:
        workspace.set_source(SourceFile(path, text))
        current[path] = text
        fresh = workspace_for(project)
        for other, other_text in current.items():
            fresh.set_source(SourceFile(other, other_text))
        assert trigger_index(workspace) == trigger_index(fresh)
        assert _referenced_names(workspace) == _referenced_names(fresh)
    assert b"fresh" in _referenced_names(workspace)
    assert {ref for (_, ref), t in trigger_index(workspace).items() if t.kind == CRON} == {"jobs.tidy"}


def test_a_provisional_merge_reads_only_the_files_in_memory_and_leaves_the_real_one_right(tmp_path):
    """During a provisional check (`Workspace.provisional`, the editor before indexing ends) the
    merge covers the files already read and is kept for that check only; afterwards the merge
    is a fresh workspace's, also when the provisional one moved a changed file's value (the
    merge before it must not be reused as if nothing had changed)."""
    from convex_xray.engine.memo import Memo

    project = write_project(tmp_path / "app", {"jobs.ts": JOBS, "crons.ts": CRONS.replace("{target}", "sweep")})
    root = project / "convex"
    jobs, crons = (root / "jobs.ts").resolve(), (root / "crons.ts").resolve()

    early = workspace_for(project)
    early.set_source(SourceFile(jobs, JOBS))  # the one file in memory
    early.provisional = Memo()
    assert early.text_pass_files() == [jobs]
    assert trigger_index(early) == {}  # crons.ts not read: no cron known yet
    assert early.source(crons) is not None and trigger_index(early) == {}  # same merge for the check
    early.provisional = None
    assert {ref for (_, ref), t in trigger_index(early).items() if t.kind == CRON} == {"jobs.sweep"}

    workspace = workspace_for(project)
    first = trigger_index(workspace)  # a real merge
    workspace.set_source(SourceFile(crons, CRONS.replace("{target}", "tidy")))
    workspace.provisional = Memo()
    assert {ref for (_, ref), t in trigger_index(workspace).items() if t.kind == CRON} == {"jobs.tidy"}
    workspace.provisional = None
    after = trigger_index(workspace)
    assert after is not first
    assert {ref for (_, ref), t in after.items() if t.kind == CRON} == {"jobs.tidy"}


def test_changes_older_than_the_ones_remembered_merge_again(tmp_path):
    project = write_project(tmp_path / "app", {"jobs.ts": JOBS, "crons.ts": CRONS.replace("{target}", "sweep")})
    workspace = workspace_for(project)
    jobs = (project / "convex" / "jobs.ts").resolve()
    before = workspace.revision
    first = trigger_index(workspace)
    for n in range(200):
        workspace.set_source(SourceFile(jobs, JOBS + "/" * (n + 2) + "\n"))
    assert workspace.changed_since(before) is None
    assert workspace.changed_since(workspace.revision - 1) == {jobs}
    again = trigger_index(workspace)
    assert again is not first and again == first
    workspace.invalidate_file_list()
    assert workspace.changed_since(workspace.revision - 1) is None


def test_a_changed_file_is_read_once_per_merge_whether_or_not_the_merge_is_reused(tmp_path):
    from convex_xray.engine.memo import MemoKey, merged_per_file_text

    project = write_project(tmp_path / "app", {"jobs.ts": JOBS, "crons.ts": CRONS.replace("{target}", "sweep")})
    workspace = workspace_for(project)
    jobs = (project / "convex" / "jobs.ts").resolve()
    read: list[Path] = []
    merged_key: MemoKey = MemoKey("test.merged")
    files_key: MemoKey = MemoKey("test.files")

    def lines(path, source):
        read.append(path)
        return source.data.count(b"\n")

    def total():
        return merged_per_file_text(workspace, merged_key, files_key, lines, sum)

    first = total()
    assert first > 0 and sorted(read) == workspace.files()
    read.clear()
    workspace.set_source(SourceFile(jobs, JOBS.replace("sweep", "sweeps")))  # same line count: reused
    assert total() == first and read == [jobs]
    read.clear()
    workspace.set_source(SourceFile(jobs, JOBS + "\n"))  # one more line: merged again, jobs.ts read once
    assert total() == first + 1 and read == [jobs]


DEFINITIONS = """\
export const plain = internalQuery({ handler: async () => {} });
export  const   typed : InternalQuery<{}> = internalMutation<Args>({ handler: async () => {} });
export const spaced=
  internalAction ({ handler: async () => {} });
export const foobar = internalQuery({});
export const notInternal = query({});
export const generic<T> = internalQuery({});
const hidden = internalQuery({});
export const ünï = internalQuery({});
export const first: export const second = internalQuery({});
"""


def test_the_internal_definitions_read_once_per_file_are_the_ones_a_pattern_per_name_finds(tmp_path):
    """`run_by_hand` asks whether the file defines `name` as an internal function; the names
    come from one pass over the file, and must be exactly those the per-name pattern matched
    (prefixes, type annotations, overlapping candidates, non-ASCII names)."""
    project = write_project(tmp_path / "app", {"defs.ts": DEFINITIONS})
    workspace = workspace_for(project)
    path = (project / "convex" / "defs.ts").resolve()
    source = workspace.source(path)
    assert source is not None
    found = _internal_names(workspace, path, source)

    def per_name(name: str) -> bool:
        pattern = re.compile(
            rb"export\s+const\s+" + re.escape(name.encode()) + rb"\s*(?::[^=\n]*)?=\s*internal(?:Query|Mutation|Action)\s*[(<]"
        )
        return pattern.search(source.data) is not None

    names = ["plain", "typed", "spaced", "foo", "foobar", "notInternal", "generic", "hidden", "ünï", "first", "second", "missing"]
    assert {n for n in names if n.encode() in found} == {n for n in names if per_name(n)}
    assert {n for n in names if per_name(n)} == {"plain", "typed", "spaced", "foobar", "ünï", "first", "second"}
    assert _internal_names(workspace, path, source) is found  # once per file text


# Pieces of text around the words a purpose comment uses: line breaks, comment openers, word
# characters glued on either side, other cases.
_PIECES = ["\n", "\r\n", " ", "\t", "//", "/**", "*", "(", ")", "x", "_", "-", "for ", "only ", "Debug", "DEBUGGING",
           "debug", "test", "Tests", "testing", "dev", "Development", "only", "query", "temporary", "one-off",
           "one off", "One Off", "fix", "latest", "device", "ünï"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "// for debugging",
        "const a = 1;\n  // Debug: list all",
        "x // Debug: not at the line start",
        "/** logs details for debugging */",
        "(dev-only)",
        "a debug-only\nhelper",
        "debug\n-only",
        "one-off\nquery",
        "TEMPORARY FIX",
        "latest device testing-only",
        "testing_only",
        "(for testing)\r\n",
    ],
)
def test_the_line_by_line_purpose_search_agrees_with_the_pattern(text):
    data = text.encode()
    assert mentions_purpose(data) == (_ONE_OFF_PURPOSE.search(data) is not None)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_the_line_by_line_purpose_search_agrees_with_the_pattern_on_any_text(pieces):
    """`mentions_purpose` only looks at the lines holding one of the pattern's words: it must
    find a match exactly when the pattern tried at every offset of the text does."""
    data = "".join(pieces).encode()
    assert mentions_purpose(data) == (_ONE_OFF_PURPOSE.search(data) is not None)


def test_a_comment_found_once_by_the_bytes_before_a_definition_follows_every_edit():
    """`_purposes` remembers the comment ending above each definition by the bytes before it (a
    keystroke elsewhere in the file gives the same bytes); an edit of the comment itself, or of
    the line above, gives other bytes and is read again. Same answers as reading afresh."""
    from convex_xray.engine.triggers import _purposes

    base = (
        b"const helper = 1;\n"
        b"// Debug: dump every row\n"
        b"export const dump = internalQuery({});\n"
        b"/** Lists the rows. */\n"
        b"export const list = query({});\n"
        b"export const plain = query({});\n"
    )
    edits = [
        base,
        base.replace(b"const helper = 1;", b"const helper = 12;"),  # elsewhere: the same windows
        base.replace(b"// Debug: dump every row", b"// dump every row"),  # the comment: no longer one-off
        base.replace(b"/** Lists the rows. */", b"/** Lists the rows (for debugging). */"),
        base.replace(b"// Debug: dump every row\n", b""),
        base.replace(b"export const list", b"x();\nexport const list"),
    ]
    windows: dict[bytes, bytes | None] = {}
    for data in edits:
        assert _purposes(data, windows) == _purposes(data)
    assert _purposes(edits[0], windows) == {b"dump": "// Debug: dump every row"}
    assert _purposes(edits[2], windows) == {}
    assert set(_purposes(edits[3], windows)) == {b"dump", b"list"}
    assert windows  # it did remember


def test_a_reference_cast_to_any_names_its_function(tmp_path):
    """`(internal as any).jobs.sweep` (a cast big apps use against TS2589) is a reference too;
    another cast or another object is not."""
    crons = CRONS.replace("internal.jobs.{target}", "(internal as any).jobs.sweep").replace(
        "export default", 'crons.hourly("t", { minuteUTC: 0 }, (internals as any).jobs.tidy);\nexport default'
    )
    project = write_project(tmp_path / "app", {"jobs.ts": JOBS, "crons.ts": crons})
    found = trigger_index(workspace_for(project))
    assert {ref for (_, ref), t in found.items() if t.kind == CRON} == {"jobs.sweep"}


_NAME_PIECES = ["internal.jobs.", "sweep", "tidy", "a.b", ":x", " ", "\n", ".", "api.", "fresh", "q"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.lists(st.sampled_from(_NAME_PIECES), max_size=8)), max_size=12))
def test_the_counted_names_follow_every_edit_like_a_fresh_union(edits):
    """The names used anywhere are counted per file and moved with each changed file (not a
    union merged afresh): after any sequence of edits, the same names as a fresh workspace."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        texts = {f"f{i}.ts": JOBS for i in range(3)}
        project = write_project(Path(tmp) / "app", texts)
        workspace = workspace_for(project)
        paths = [(project / "convex" / name).resolve() for name in texts]
        _referenced_names(workspace)
        current = {path: JOBS for path in paths}
        for which, pieces in edits:
            current[paths[which]] = "".join(pieces)
            workspace.set_source(SourceFile(paths[which], current[paths[which]]))
            counted = _referenced_names(workspace)
            texts_now = [source.data for f in workspace.files() if (source := workspace.source(f)) is not None]
            expected = set().union(*(set(re.findall(rb"[.:]\s*([A-Za-z_$][\w$]*)", t)) for t in texts_now))
            assert set(counted) == expected
            assert all(n > 0 for n in counted.values())
