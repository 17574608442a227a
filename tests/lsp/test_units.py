"""The language server's pure parts, without a server process: incremental checking equals a
full check, snapshots equal fresh parses, settings, minimal edits, disable comments."""

from __future__ import annotations

import gc
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from convex_xray.engine.config import Config
from convex_xray.engine.findings import Severity
from convex_xray.engine.model import FileModel, FunctionModel
from convex_xray.engine.source import Encoding, SourceFile, TextChange, apply_changes
from convex_xray.engine.suppressions import disable_comment_edit
from convex_xray.lsp.convert import text_changes
from convex_xray.lsp.incremental import shift_range
from convex_xray.lsp.session import (
    Document,
    Folder,
    Project,
    check_document,
    minimal_edits,
    warm_up,
)
from convex_xray.lsp.settings import RunMode, Settings, merge_config, parse_settings
from tests.support.project import write_project

HANDLERS = """
import { query, mutation } from "./_generated/server";
import { v } from "convex/values";

async function loadAuthor(ctx, id) {
  return await ctx.db.get(id);
}

export const feed = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    const posts = await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", args.authorId)).collect();
    const out = [];
    for (const post of posts) {
      out.push(await loadAuthor(ctx, post.authorId));
    }
    return out;
  },
});

export const recent = query({
  args: {},
  handler: async (ctx) => {
    return (await ctx.db.query("comments").withIndex("by_postId").collect()).slice(0, 5);
  },
});

export const scan = query({
  args: {},
  handler: async (ctx) => {
    const everything = await ctx.db.query("users").filter((q) => q.eq(q.field("name"), "x")).collect();
    return everything.length;
  },
});

export const touch = mutation({
  args: { id: v.id("posts") },
  handler: async (ctx, args) => {
    // convex-xray-disable-next-line unbounded-collect
    const all = await ctx.db.query("posts").withIndex("by_authorId").collect();
    await ctx.db.patch(args.id, { status: "seen" });
    return all.length;
  },
});
"""

SNIPPETS = [
    " ",
    "x",
    "\n    ",
    'const extra = await ctx.db.query("posts").collect();\n',
    "for (const p of posts) { await ctx.db.get(p.authorId); }\n",
    'await ctx.db.query("orgs").take(2000);\n',
    "// just a comment 🎉\n",
    'const s = "é";',
]


def _key(findings):
    return sorted((f.rule, f.span.start, f.span.end, f.message, f.severity) for f in findings)


def _inside_handlers(data: bytes) -> list[int]:
    """Offsets just after a `;` inside a handler body (safe places to type code)."""
    offsets = []
    start = 0
    while (at := data.find(b"handler:", start)) != -1:
        body = data.find(b"{", data.find(b"=>", at))
        end = data.find(b"\n  },\n});", body)
        offsets += [i + 1 for i in range(body, end) if data[i : i + 1] == b";"]
        start = at + 1
    return offsets


# Convex functions defined in two statements (`const xConfig = {...}` then `builder(xConfig)`):
# `digestConfig` is named by its definition only (the slice blanks it with the definition),
# `sharedConfig` by two definitions, `usedConfig` by a helper too (never blanked).
CONFIGS = HANDLERS.replace("{ query, mutation }", "{ query, mutation, internalMutation }") + """
const digestConfig: any = {
  args: {},
  handler: async (ctx) => {
    const users = await ctx.db.query("users").collect();
    for (const user of users) {
      await ctx.db.get(user.orgId);
    }
    return users.length;
  },
};

export const digest = internalMutation(digestConfig);

const sharedConfig = { args: {}, handler: async (ctx) => await ctx.db.query("posts").collect() };
export const shared = query(sharedConfig);
export const sharedToo = query(sharedConfig);

const usedConfig = {
  args: {},
  handler: async (ctx) => {
    for (const id of ["a", "b"]) {
      await ctx.db.get(id);
    }
  },
};
export const used = query(usedConfig);

function argsOfUsed() {
  return usedConfig.args;
}
"""


def _indexed_feed(tmp_path, text: str = HANDLERS) -> tuple[Project, Path]:
    """A project over `text` (HANDLERS) marked indexed, and the path of its `feed.ts`."""
    root = write_project(tmp_path / "app", {"feed.ts": text})
    folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    project.indexed = True
    return project, (root / "convex" / "feed.ts").resolve()


@pytest.fixture(params=["inline", "configs"])
def opened(tmp_path, request):
    """An open, checked document: HANDLERS, or CONFIGS (functions defined from objects)."""
    project, path = _indexed_feed(tmp_path, HANDLERS if request.param == "inline" else CONFIGS)
    source = SourceFile(path, path.read_text(), version=1)
    doc = Document(path.as_uri(), path, source, project=project, version=1)
    project.workspace.set_source(source)
    check_document(doc)
    return doc


def _edit(doc: Document, change: TextChange) -> None:
    version = (doc.version or 0) + 1
    source = apply_changes(doc.source, [change], version)
    doc.edited(source, [change], version)
    assert doc.project is not None
    doc.project.workspace.set_source(source)
    doc.project.touched(doc.uri)


@pytest.mark.parametrize("seed", range(8))
def test_fast_checks_equal_full_checks(opened, seed):
    doc = opened
    project = doc.project
    rng = random.Random(seed)
    fast = 0
    for _ in range(25):
        data = doc.source.data
        at = rng.choice(_inside_handlers(data))
        if rng.random() < 0.2 and data[at : at + 1] not in (b";", b"{", b"}", b"\n", b""):
            change = TextChange(at, at + 1, "")  # sometimes delete a character instead
        else:
            change = TextChange(at, at, rng.choice(SNIPPETS))
        _edit(doc, change)
        outcome = check_document(doc)
        fast += outcome.fast
        full, _ = project.check(doc.path)
        if not SourceFile(doc.path, doc.source.text).root.has_error:
            assert _key(outcome.findings) == _key(full), change
    assert fast >= 3  # the fast path was really exercised


OUTSIDE_SNIPPETS = [
    " ",
    "\n",
    "x",
    "// a note at the top\n",
    "/* block */",
    "const limit = 10;\n",
    'import { internal } from "./_generated/api";\n',
    "ctx",
    "loadAuthor",
    "async function other(ctx, id) { return await ctx.db.get(id); }\n",
    '"use node";\n',
    "// convex-xray-disable-next-line n-plus-one-read\n",
    "v",
    "}",
]


def _outside_functions(doc: Document) -> list[int]:
    """Offsets not inside a Convex function definition (imports, helpers, comments, gaps)."""
    data = doc.source.data
    inside: list[tuple[int, int]] = []
    start = 0
    while (at := data.find(b"export const ", start)) != -1:
        end = data.find(b"\n});", at)
        inside.append((at, end + 4))
        start = at + 1
    return [i for i in range(len(data) + 1) if not any(a < i < b for a, b in inside)]


@pytest.mark.parametrize("seed", range(8))
def test_edits_outside_functions_equal_full_checks(opened, seed):
    """Typing in imports, helpers, comments and between statements (`lsp.outside`): the
    findings kept or re-checked per function equal a full check of the same text."""
    doc = opened
    project = doc.project
    rng = random.Random(seed)
    fast = 0
    for _ in range(25):
        data = doc.source.data
        at = rng.choice(_outside_functions(doc))
        if rng.random() < 0.25 and at < len(data) and data[at : at + 1] not in (b"\n", b""):
            change = TextChange(at, at + 1, "")
        else:
            change = TextChange(at, at, rng.choice(OUTSIDE_SNIPPETS))
        _edit(doc, change)
        outcome = check_document(doc)
        fast += outcome.fast
        full, _ = project.check(doc.path)
        if not SourceFile(doc.path, doc.source.text).root.has_error:
            assert _key(outcome.findings) == _key(full), change
        else:
            check_document(doc, full=True)  # (as the reconcile would: start from a parse)
    assert fast >= 3  # the outside path was really exercised


def test_a_slice_blanks_the_objects_only_blanked_definitions_name(tmp_path):
    """Typing in `feed`: `digestConfig` and `sharedConfig` go with their definitions (their
    findings carried), `usedConfig` stays (a helper reads it); the result is a full check's."""
    project, path = _indexed_feed(tmp_path, CONFIGS)
    source = SourceFile(path, path.read_text(), version=1)
    doc = Document(path.as_uri(), path, source, project=project, version=1)
    project.workspace.set_source(source)
    check_document(doc)
    assert {f.function for f in doc.shown} >= {"digestConfig.handler", "sharedConfig.handler"}
    data = doc.source.data
    at = data.index(b"const out = [];") + len(b"const out = [];")
    _edit(doc, TextChange(at, at, " let x = 1;"))
    outcome = check_document(doc)
    assert outcome.fast and doc.piece is not None
    text = doc.piece.source.data
    assert b"digestConfig" not in text and b"sharedConfig" not in text
    assert text.count(b"usedConfig") == 3  # kept whole: its object, definition, the helper
    full, _ = project.check(doc.path)
    assert _key(outcome.findings) == _key(full)


def test_a_comment_at_the_top_keeps_every_finding_without_analysis(opened, monkeypatch):
    doc = opened
    before = _key(doc.shown)
    assert before
    calls = []
    import convex_xray.lsp.session as session

    monkeypatch.setattr(session, "analyze_file", lambda *a, **k: calls.append(a) or None)
    for at, char in enumerate("// typed at the top\n"):
        _edit(doc, TextChange(at, at, char))
        outcome = check_document(doc)
        assert outcome.fast
    assert calls == []  # comments only: no slice, no model
    monkeypatch.undo()
    full, _ = doc.project.check(doc.path)
    assert _key(doc.shown) == _key(full)  # moved 20 bytes, line numbers in messages too
    assert len(full) == len(before)


def test_typing_in_a_document_opened_as_on_disk_reuses_the_indexed_plan(tmp_path, monkeypatch):
    """Opened unchanged after indexing, a document is shown with its findings from indexing
    (no full check of it). Its keystrokes still reuse a schema plan: planning again would
    analyse the document's whole model per keystroke, not just the edited function's slice."""
    project, path = _indexed_feed(tmp_path)
    results, _ = project.check_many(project.workspace.files())  # as indexing does
    source = project.workspace.source(path)
    assert source is not None
    doc = Document(path.as_uri(), path, source, project=project, version=1)
    check_document(doc, known=results[path])  # `didOpen` of the file as on disk
    import convex_xray.engine.workspace as workspace_module

    whole = []
    real = workspace_module.analyze_file
    monkeypatch.setattr(
        workspace_module, "analyze_file", lambda *a, **k: whole.append(a[0].path) or real(*a, **k)
    )
    at = doc.source.data.index(b"const out = [];") + len(b"const out = [];")
    for number, char in enumerate(" let x = 1;"):
        _edit(doc, TextChange(at + number, at + number, char))
        assert check_document(doc).fast
    assert whole == []  # only slices were analysed (session.analyze_file)
    monkeypatch.undo()
    full, _ = project.check(doc.path)
    assert _key(doc.shown) == _key(full)


def test_a_document_opened_while_indexing_is_checked_without_reading_every_file(tmp_path, monkeypatch):
    """Before indexing, the first diagnostics of a document must not wait for the whole
    workspace: its filter-on-query plan comes from it and the schema alone (the other files'
    queries join the plan when indexing ends and re-checks it)."""
    other = 'import { query } from "./_generated/server";\n' + "".join(
        f'export const q{i} = query({{ args: {{}}, handler: async (ctx) => ctx.db.query("posts").filter((q) => q.eq(q.field("status"), "x")).collect() }});\n'
        for i in range(3)
    )
    root = write_project(tmp_path / "app", {"feed.ts": HANDLERS, **{f"other{i}.ts": other for i in range(5)}})
    folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    assert not project.indexed
    path = (root / "convex" / "feed.ts").resolve()
    import convex_xray.engine.workspace as workspace_module

    analysed: list[Path] = []
    real = workspace_module.analyze_file
    monkeypatch.setattr(
        workspace_module, "analyze_file", lambda *a, **k: analysed.append(a[0].path) or real(*a, **k)
    )
    read: list[Path] = []
    real_read = SourceFile.read.__func__
    monkeypatch.setattr(SourceFile, "read", classmethod(lambda cls, p: read.append(p) or real_read(cls, p)))
    source = SourceFile(path, path.read_text(), version=1)
    project.workspace.set_source(source)
    doc = Document(path.as_uri(), path, source, project=project, version=1)
    check_document(doc)
    assert not any(p.name.startswith("other") for p in analysed), analysed
    # Nor read them: the workspace-wide text passes (crons, writers, run-by-hand names) look
    # only at the files in memory before indexing (`Workspace.provisional`).
    assert not any(p.name.startswith("other") for p in read), read
    assert doc.shown  # and it has its findings
    monkeypatch.undo()
    project.indexed = True  # indexing ends: the whole plan
    full, _ = project.check(path)
    assert {f.rule for f in full} >= {f.rule for f in doc.shown}


PROVISIONAL_FEED = """
import { internalMutation, query } from "./_generated/server";

export const backfillAuthors = internalMutation({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").collect();
    for (const post of posts) {
      const author = await ctx.db.get(post.authorId);
      await ctx.db.patch(post._id, { authorName: author?.name ?? "" });
    }
  },
});

export const nightly = internalMutation({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").collect();
    for (const post of posts) {
      await ctx.db.get(post.authorId);
    }
  },
});

export const feed = query({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").take(20);
    return Promise.all(posts.map(async (post) => ({ post, author: await ctx.db.get(post.authorId) })));
  },
});
"""

PROVISIONAL_CRONS = """
import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();
crons.daily("nightly", { hourUTC: 3, minuteUTC: 0 }, internal.feed.nightly);
export default crons;
"""

PROVISIONAL_SEED = """
import { internalMutation } from "./_generated/server";

export const seedPosts = internalMutation({
  args: {},
  handler: async (ctx) => {
    await ctx.db.insert("posts", { title: "hello", authorId: "x" as any });
  },
});
"""


def test_provisional_checks_before_indexing_leave_no_trace_in_the_checks_after(tmp_path):
    """Before indexing a document is checked with the workspace-wide passes over the files in
    memory only (a cron elsewhere, a function nothing names, who writes a table are not known
    yet). After indexing its findings are exactly a fresh, indexed project's -- also when a
    full merge ran before the provisional checks and the document changed in between (the
    per-file values moved to the new text: the earlier merge must not be taken as current)."""
    files = {"feed.ts": PROVISIONAL_FEED, "crons.ts": PROVISIONAL_CRONS, "seed.ts": PROVISIONAL_SEED}

    def fresh_findings(root):
        folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
        assert folder.discover() == []
        project = folder.projects[0]
        project.indexed = True
        project.check_many(project.workspace.files())
        return project, project.check((root / "convex" / "feed.ts").resolve())[0]

    root = write_project(tmp_path / "app", files)
    folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    path = (root / "convex" / "feed.ts").resolve()
    project.check_many(project.workspace.files())  # an early workspace pull: a full merge
    # The edit changes what the file contributes to the merges: the backfill is scheduled now.
    edited = PROVISIONAL_FEED.replace(
        'import { internalMutation, query } from "./_generated/server";',
        'import { internalMutation, mutation, query } from "./_generated/server";\n'
        'import { internal } from "./_generated/api";',
    ) + (
        "\nexport const kick = mutation({ args: {}, handler: async (ctx) => {\n"
        "  await ctx.scheduler.runAfter(0, internal.feed.backfillAuthors, {});\n} });\n"
    )
    source = SourceFile(path, edited, version=2)
    project.set_source(source)
    project.touched(path.as_uri())
    doc = Document(path.as_uri(), path, source, project=project, version=2)
    check_document(doc)  # provisional
    assert project.workspace.provisional is None  # only for the length of that check
    project.indexed = True
    after, _ = project.check(path)

    reference_root = write_project(tmp_path / "reference", {**files, "feed.ts": edited})
    _, expected = fresh_findings(reference_root)
    relative = lambda fs: sorted((f.rule, f.severity, f.span.start, f.span.end, f.message.replace(str(reference_root.resolve()), str(root.resolve()))) for f in fs)  # noqa: E731
    assert relative(after) == relative(expected)
    # The passes did decide something here: the cron's function and the function nothing names
    # are judged differently from the query (else this test could not fail).
    assert len({f.severity for f in after}) > 1, [(f.rule, f.severity, f.message) for f in after]


def test_an_import_edit_rechecks_only_the_functions_using_its_names(opened):
    doc = opened
    data = doc.source.data
    at = data.index(b"{ v }") + 3  # `import { v` -> `import { vx`
    _edit(doc, TextChange(at, at, "x"))
    outcome = check_document(doc)
    assert outcome.fast
    assert doc.piece is None
    full, _ = doc.project.check(doc.path)
    assert _key(outcome.findings) == _key(full)


HELPER_LOOP = """
async function authorsOf(ctx, posts) {
  const out = [];
  for (const post of posts) {
    out.push(await ctx.db.get(post.authorId));
  }
  return out;
}
"""


def _fix_key(findings):
    """`_key` with each finding's fixes (titles, safety, the ranges they edit). Not the new
    text: a slice lays generated code out in the style detected on its first text (indent,
    quotes, print width), where a full check detects it on each text."""
    return sorted(
        (
            *_key([f])[0],
            tuple(
                (x.title, x.applicability, tuple((e.start, e.end) for e in x.edits))
                for x in (f.fix, *f.alternatives)
                if x is not None
            ),
        )
        for f in findings
    )


@pytest.mark.parametrize("where", ["recent", "scan"])
def test_fixes_while_typing_breaks_a_function_equal_a_full_check(tmp_path, monkeypatch, where):
    """Typing a statement into a handler one character at a time (every state but the last
    has a syntax error there): the fixes outside the broken statement (a helper's batch
    fetch, kept in the slice) are validated against the slice's text before the typing
    (`engine.fixes.Reference`), once per slice, not by a fresh parse of the broken slice per
    keystroke; they equal what a full check of the broken text offers."""
    import convex_xray.engine.fixes as fixes
    from convex_xray.lsp.incremental import damaged_ranges

    root = write_project(tmp_path / "app", {"feed.ts": HANDLERS.replace("export const feed", HELPER_LOOP + "\nexport const feed")})
    folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    project.indexed = True
    path = (root / "convex" / "feed.ts").resolve()
    source = SourceFile(path, path.read_text(), version=1)
    project.workspace.set_source(source)
    doc = Document(path.as_uri(), path, source, project=project, version=1)
    check_document(doc)
    helper = [f for f in doc.shown if f.function == "authorsOf"]
    assert helper and helper[0].fix is not None
    data = doc.source.data
    at = data.index(b"return", data.index(f"export const {where}".encode()))
    validated: list[bool] = []  # per validation parse in a fast check: of a broken text?
    real = fixes.error_count_after

    def counting(source, changes, *args, **kwargs):
        validated.append(source.root.has_error)
        return real(source, changes, *args, **kwargs)

    broken: list[bool] = []
    parses: list[int] = []  # validation parses per keystroke
    for char in 'const extra = await ctx.db.query("posts").take(5);\n    ':
        _edit(doc, TextChange(at, at, char))
        at += len(char.encode())
        monkeypatch.setattr(fixes, "error_count_after", counting)
        before = len(validated)
        outcome = check_document(doc)
        parses.append(len(validated) - before)
        monkeypatch.undo()
        assert outcome.fast
        text = SourceFile(doc.path, doc.source.text)
        damaged = damaged_ranges(text)
        broken.append(bool(damaged))
        full, _ = project.check(doc.path)
        fast_kept, full_kept = (
            [f for f in found if not any(s <= f.span.start < e for s, e in damaged)]
            for found in (outcome.findings, full)
        )
        assert _fix_key(fast_kept) == _fix_key(full_kept), char
        helper = [f for f in outcome.findings if f.function == "authorsOf"]
        assert helper and helper[0].fix is not None
    assert sum(broken) > 15  # the typing really went through broken states
    assert not any(validated)  # never a validation parse from a broken text ...
    # ... and while broken, the helper's fix is validated once per stretch of broken states
    # (against the text before it), not once per keystroke.
    stretches = sum(1 for i, b in enumerate(broken) if b and (i == 0 or not broken[i - 1]))
    assert sum(p for p, b in zip(parses, broken, strict=True) if b) <= stretches


def test_snapshots_follow_edits_like_fresh_parses():
    text = 'const a = 1;\r\nconst b = "é😀";\nlet c = [1, 2];\n'
    source = SourceFile(Path("x.ts"), text)
    rng = random.Random(7)
    for number in range(40):
        data = source.data
        start = rng.randrange(len(data) + 1)
        while start < len(data) and (data[start] & 0xC0) == 0x80:
            start += 1
        end = min(len(data), start + rng.randint(0, 3))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end += 1
        change = TextChange(start, end, rng.choice(["x", "\n", "é", "(", "😀", "", "\r\n"]))
        source = apply_changes(source, [change], number)
        fresh = SourceFile(Path("x.ts"), source.text)
        assert source.data == fresh.data
        assert str(source.root) == str(fresh.root)
        assert source.lines.line_starts == fresh.lines.line_starts


def test_text_changes_are_in_successive_coordinates():
    source = SourceFile(Path("x.ts"), "ab😀cd\nef\n")
    changes = [
        types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(0, 2), end=types.Position(0, 4)), text="E"
        ),
        types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(0, 3), end=types.Position(1, 1)), text=""
        ),
    ]
    result = text_changes(source, changes, Encoding.UTF16)
    after = apply_changes(source, result, 2)
    assert after.text == "abEf\n"


@given(st.lists(st.sampled_from(["a", "b", "\n", "é", "x\n", "yy"]), max_size=30), st.randoms())
@settings(max_examples=200, deadline=None)
def test_minimal_edits_turn_before_into_after(pieces, rng):
    before = "".join(pieces)
    after_pieces = list(pieces)
    for _ in range(rng.randint(0, 4)):
        if after_pieces and rng.random() < 0.5:
            del after_pieces[rng.randrange(len(after_pieces))]
        else:
            after_pieces.insert(
                rng.randint(0, len(after_pieces)), rng.choice(["q", "\n", "😀", "zz\n"])
            )
    after = "".join(after_pieces)
    edits = minimal_edits(Path("x.ts"), before.encode(), after.encode())
    data = before.encode()
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        data = data[: edit.start] + edit.new_text.encode() + data[edit.end :]
    assert data.decode() == after
    assert sum(e.end - e.start for e in edits) <= len(before.encode())
    if before == after:
        assert edits == []


def test_minimal_edits_leave_unchanged_lines_alone():
    before = "".join(f"line {i}\n" for i in range(100)).encode()
    after = before.replace(b"line 10\n", b"line ten\n").replace(b"line 90\n", b"line ninety\n")
    edits = minimal_edits(Path("x.ts"), before, after)
    assert [(before[e.start : e.end], e.new_text) for e in edits] == [
        (b"10", "ten"),
        (b"90", "ninety"),
    ]


def test_disable_comment_edit():
    source = SourceFile(Path("x.ts"), "function f() {\r\n    const a = 1;\r\n}\r\n")
    edit = disable_comment_edit(source, source.data.index(b"const"), "unbounded-collect")
    assert (edit.start, edit.end) == (source.data.index(b"    const"),) * 2
    assert edit.new_text == "    // convex-xray-disable-next-line unbounded-collect -- <reason>\r\n"
    source = SourceFile(Path("x.ts"), "  // convex-xray-disable-next-line a-rule -- why\n  x();\n")
    edit = disable_comment_edit(source, source.data.index(b"x()"), "b-rule")
    text = source.data[: edit.start] + edit.new_text.encode() + source.data[edit.end :]
    assert text.decode() == "  // convex-xray-disable-next-line a-rule, b-rule -- why\n  x();\n"


def test_shift_range():
    assert shift_range(10, 20, TextChange(0, 0, "ab")) == (12, 22)
    assert shift_range(10, 20, TextChange(20, 20, "ab")) == (10, 20)  # typed right after it
    assert shift_range(10, 20, TextChange(10, 10, "ab")) == (12, 22)  # typed right before it
    assert shift_range(10, 20, TextChange(15, 16, "")) is None
    assert shift_range(10, 20, TextChange(2, 5, "")) == (7, 17)


def test_settings_are_parsed_defaulted_and_validated():
    parsed, problems = parse_settings(
        {
            "run": "onSave",
            "debounceMs": 5,
            "codeLens": {"enable": False},
            "path": ["x"],
            "trace.server": "off",
        }
    )
    assert problems == []
    assert (
        parsed.run is RunMode.ON_SAVE
        and parsed.debounce_ms == 5
        and parsed.code_lens.enable is False
    )
    assert parse_settings({"settings": {"unsafeFixes": True}})[0].unsafe_fixes is True
    assert parse_settings({"convexXray": {"takeLimit": 3}})[0].take_limit == 3
    assert parse_settings({"codeLens.enable": False})[0].code_lens.enable is False
    bad, problems = parse_settings(
        {"run": 1, "takeLimit": 0, "unsafeFixes": "yes", "severity": {"x": "loud"}}
    )
    assert bad == Settings()
    assert [p.split(":")[0] for p in problems] == [
        "convexXray.run",
        "convexXray.takeLimit",
        "convexXray.unsafeFixes",
        "convexXray.severity",
    ]
    assert parse_settings([1, 2])[0] == Settings() and parse_settings([1, 2])[1]


def test_settings_merge_over_the_project_config():
    project = Config(
        take_limit=7, ignore=["large-take"], severity={"unknown-index": Severity.WARNING}
    )
    editor, _ = parse_settings(
        {
            "ignore": ["CX201"],
            "severity": {"unused-index": "off"},
            "select": ["nope"],
            "takeLimit": 100,
        }
    )
    config, problems = merge_config(editor, project)
    assert config.take_limit == 7  # the editor's default does not override the project
    assert config.ignore == ["large-take", "unbounded-collect"]
    assert config.severity == {"unknown-index": Severity.WARNING, "unused-index": None}
    assert config.select == []
    assert problems == ["convexXray.select: unknown rule 'nope'; ignored"]
    assert merge_config(parse_settings({"takeLimit": 3})[0], project)[0].take_limit == 3
    assert project.ignore == ["large-take"]  # the project's config is not modified


def test_warm_up_takes_the_rules_through_their_usual_paths():
    # The server's warm-up (between `initialize` and the first document) only pays off if
    # its sample still reaches the analyzer's and the rules' lazily built parts.
    findings = warm_up()
    found = {(f.rule, f.fix is not None) for f in findings}
    assert ("n-plus-one-read", True) in found  # with a planned batch-fetch fix
    assert ("filter-on-query", False) in found
    # in both grammars (TypeScript; TSX, which .tsx and JavaScript files parse with)
    assert {f.path.suffix for f in findings if f.rule == "n-plus-one-read"} == {".ts", ".tsx"}


def test_the_warm_up_leaves_a_first_check_nothing_to_derive_from_the_schema_alone(tmp_path, monkeypatch):
    """What every first check derives from the app schema alone (the index naming style) is
    done by the warm-up, before any document is opened."""
    import convex_xray.rules.support.add_index as add_index
    from convex_xray.lsp.session import warm_up_schemas

    root = write_project(tmp_path / "app", {"feed.ts": HANDLERS})
    folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    warm_up_schemas(project)
    derived: list[object] = []
    real = add_index._naming_style
    monkeypatch.setattr(add_index, "_naming_style", lambda schemas: derived.append(schemas) or real(schemas))
    path = (root / "convex" / "feed.ts").resolve()
    doc = Document(path.as_uri(), path, project.workspace.source(path), project=project, version=1)
    check_document(doc)
    assert doc.shown and derived == []


LOOP_HELPER = """
export async function eachOf(items, fn) {
  return await Promise.all(items.map(fn));
}
"""

JOBS = """
import { mutation } from "./_generated/server";
import { internal } from "./_generated/api";
import { eachOf } from "./helpers";

export const notify = mutation({
  args: {},
  handler: async (ctx) => {
    const posts = await ctx.db.query("posts").filter((q) => q.eq(q.field("status"), "new")).take(10);
    await eachOf(posts, async (post) => await ctx.db.get(post.authorId));
    await ctx.scheduler.runAfter(0, internal.jobs.notify, {});
  },
});
"""


def _alive(path: Path) -> list[SourceFile | FileModel]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, (SourceFile, FileModel)) and o.path == path]


def test_a_closed_document_leaves_no_snapshot_or_model_behind(tmp_path):
    # An engine cache that kept the snapshot it last saw (the cron/scheduler index, the
    # per-item helper answers) held every opened-and-closed file's old syntax tree: after
    # opening, editing and closing 300 files, 105 MB more than after indexing. After the
    # close, what the server does next (workspace rules, closed files' results by text)
    # must neither keep the edited snapshot nor its model, nor need a new model.
    root = write_project(tmp_path / "app", {"jobs.ts": JOBS, "helpers.ts": LOOP_HELPER})
    folder = Folder(root.resolve(), root.resolve().as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    workspace = project.workspace
    files = workspace.files()
    for path in files:  # indexing, then every closed file's results
        workspace.model(path)
    project.indexed = True
    project.check_many(files)
    project.workspace_findings([])
    jobs, helpers = (root / "convex" / "jobs.ts").resolve(), (root / "convex" / "helpers.ts").resolve()
    for path in (helpers, jobs):  # the helper's snapshot is read while checking jobs.ts
        text = path.read_text() + "\n// edited\n"
        source = SourceFile(path, text, version=2)
        doc = Document(path.as_uri(), path, source, project=project, version=2)
        project.set_source(source)
        project.touched(doc.uri)
        check_document(doc, full=True)
        project.check(jobs)  # (the helper's answer is asked for by its importer)
        model = workspace.cached_model(path)
        assert model is not None and model.source is source  # (what must go once closed)
        del doc, source, model
    # A closed file's model goes at once (its cycles broken), not at the next full
    # collection: a 50,000-line file's 40 MB would otherwise wait for one.
    gc.collect()
    gc.disable()
    try:
        for path in (helpers, jobs):
            project.forget(path)
            project.touched(path.as_uri())
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        assert [o for o in gc.garbage if isinstance(o, (FunctionModel, FileModel))] == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    project.workspace_findings([])
    for path in (helpers, jobs):
        alive = _alive(path)
        assert all(b"// edited" not in (o.data if isinstance(o, SourceFile) else o.source.data) for o in alive)
        assert workspace.cached_model(path) is None  # closed unchanged: its summaries by text
        assert [o for o in alive if isinstance(o, FileModel)] == []


def test_a_replaced_model_is_freed_even_when_frozen(opened):
    # After indexing the server freezes what it built (gc.freeze): a replaced model left in
    # reference cycles would never be collected. Project.set_source breaks them.
    project = opened.project
    assert project is not None
    assert project.workspace.model(opened.path) is not None
    gc.collect()
    gc.freeze()
    project.frozen()  # as the server does after indexing
    try:
        edited = SourceFile(opened.path, opened.source.text + "\n", version=2)
        project.set_source(edited)
        # Engine caches keyed by path (index_usage's) let go of the old model on this check.
        project.check(opened.path)
    finally:
        gc.unfreeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        leaked = [o for o in gc.garbage if isinstance(o, (FunctionModel, FileModel))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert leaked == []
    assert project.workspace.model(opened.path) is not None  # the new snapshot's, fresh
