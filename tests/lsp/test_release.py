"""Closed files' models and syntax trees dropped after indexing (`Project.release`): the
diagnostics are the same as with every model kept, a closed file is parsed again when a check
needs it (and kept within `keep_closed_bytes`), open documents keep theirs, and a file changed
on disk is read again. The server's indexing is followed step by step, in process (as
`handlers.indexing.Indexing.index_folder` and `check_closed_files` call the project)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lsprotocol import types

from convex_xray.engine.source import SourceFile, TextChange, apply_changes
from convex_xray.lsp.session import Document, Folder, Project, check_document
from convex_xray.lsp.settings import Settings
from tests.support.project import write_project

SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({ name: v.string(), orgId: v.id("orgs"), email: v.string() })
    .index("by_orgId", ["orgId"])
    .index("by_email", ["email"])
    .index("by_name", ["name"]),
  orgs: defineTable({ name: v.string() }),
  posts: defineTable({ authorId: v.id("users"), orgId: v.id("orgs"), status: v.string() })
    .index("by_authorId", ["authorId"])
    .index("by_orgId", ["orgId"])
    .index("by_orgId_and_status", ["orgId", "status"]),
  comments: defineTable({ postId: v.id("posts"), body: v.string() }),
});
"""

# A helper file the others call into (reads through it count in their loops), using an index
# the schema defines; the feed uses it in a loop, filters where an index would do, and
# schedules work the crons also run.
FILES = {
    "lib/authors.ts": """
        export async function loadAuthor(ctx: any, id: any) {
          return await ctx.db.get(id);
        }

        export async function authorByEmail(ctx: any, email: string) {
          return await ctx.db.query("users").withIndex("by_email", (q: any) => q.eq("email", email)).unique();
        }
    """,
    "feed.ts": """
        import { query, internalMutation, mutation } from "./_generated/server";
        import { internal } from "./_generated/api";
        import { v } from "convex/values";
        import { loadAuthor, authorByEmail } from "./lib/authors";

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

        export const byStatus = query({
          args: { orgId: v.id("orgs"), status: v.string() },
          handler: async (ctx, args) => {
            return await ctx.db.query("posts").filter((q) => q.eq(q.field("status"), args.status)).collect();
          },
        });

        export const cleanup = internalMutation({
          args: {},
          handler: async (ctx) => {
            const old = await ctx.db.query("comments").collect();
            for (const c of old) {
              await ctx.db.delete(c._id);
            }
          },
        });

        export const publish = mutation({
          args: { email: v.string() },
          handler: async (ctx, args) => {
            const author = await authorByEmail(ctx, args.email);
            await ctx.scheduler.runAfter(0, internal.feed.cleanup, {});
            return author;
          },
        });
    """,
    "crons.ts": """
        import { cronJobs } from "convex/server";
        import { internal } from "./_generated/api";

        const crons = cronJobs();
        crons.interval("cleanup", { hours: 1 }, internal.feed.cleanup, {});
        export default crons;
    """,
    "orgs.ts": """
        import { query } from "./_generated/server";
        import { v } from "convex/values";
        import { loadAuthor } from "./lib/authors";

        export const members = query({
          args: { orgId: v.id("orgs") },
          handler: async (ctx, args) => {
            const users = await ctx.db.query("users").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).collect();
            return Promise.all(users.map((u) => loadAuthor(ctx, u._id)));
          },
        });
    """,
}


def _index(root: Path, release: bool, opened: list[Path], keep: int = 0) -> tuple[Project, dict[Path, list[str]]]:
    """A project indexed as the server indexes it, with `opened` open; the closed files' findings."""
    folder = Folder(root, root.as_uri(), Settings())
    assert folder.discover() == []
    project = folder.projects[0]
    project.release = release
    project.keep_closed_bytes = keep
    for path in opened:
        project.opened(path)
    project.begin_indexing()
    for path in project.workspace.files():
        project.index_file(path)
    project.indexed = True
    files = project.workspace.files()
    closed: dict[Path, list[str]] = {}
    for start in range(0, len(files), 2):  # (small batches: a release between them)
        todo = [p for p in files[start : start + 2] if p not in opened]
        if todo:
            results, failures = project.check_many(todo)
            assert failures == []
            closed.update({p: [repr(f) for f in found] for p, found in results.items()})
    project.release_closed(everything=True)
    project.touched(None)
    return project, closed


def _open(project: Project, path: Path) -> Document:
    source = project.workspace.source(path)
    assert source is not None
    return Document(path.as_uri(), path, source, project=project, version=1)


def _type(doc: Document, at: int, text: str) -> list[list[str]]:
    """Type `text` at byte `at` one character at a time; the findings after each keystroke."""
    project = doc.project
    assert project is not None
    shown = []
    for char in text:
        version = (doc.version or 0) + 1
        change = TextChange(at, at, char)
        source = apply_changes(doc.source, [change], version)
        doc.edited(source, [change], version)
        project.set_source(source)
        project.touched(doc.uri)
        shown.append([repr(f) for f in check_document(doc).findings])
        at += len(char.encode("utf-8"))
    return shown


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_project(tmp_path / "app", FILES, schema=SCHEMA).resolve()


def _released(project: Project, path: Path) -> bool:
    source = project.workspace.source(path)
    return project.workspace.cached_model(path) is None and source is not None and not source.parsed


def test_same_diagnostics_with_release_on_and_off(app: Path) -> None:
    feed = app / "convex" / "feed.ts"
    results = []
    for release in (False, True):
        project, closed = _index(app, release, [feed])
        doc = _open(project, feed)
        first = [repr(f) for f in check_document(doc, full=True).findings]
        at = doc.source.data.index(b"const out = [];")
        typed = _type(doc, at, "const n = 1;\n")
        last = [repr(f) for f in check_document(doc, full=True).findings]
        workspace = [repr(f) for f in project.workspace_findings([])]
        results.append((closed, first, typed, last, workspace))
        if release:
            helper = app / "convex" / "lib" / "authors.ts"
            assert _released(project, helper)  # (keep 0: parsed for the check, dropped after)
    off, on = results
    assert on == off
    closed, first, _typed, _last, workspace = on
    rules = {line.split("'")[1] for found in closed.values() for line in found} | {line.split("'")[1] for line in first}
    # The fixture reaches what release must keep right: a loop through a closed helper, a
    # filter the plan indexes, an index used only from another file, crons and the scheduler.
    assert "n-plus-one-read" in rules
    assert "filter-on-query" in rules
    assert any("unused-index" in line for line in workspace)
    assert not any("by_email" in line and "unused-index" in line for line in workspace)


def test_closed_files_released_after_indexing(app: Path) -> None:
    feed = app / "convex" / "feed.ts"
    project, _ = _index(app, True, [feed])
    closed = [p for p in project.workspace.files() if p != feed]
    assert closed and all(_released(project, p) for p in closed)
    assert project.workspace.loaded() == [feed]  # the open document keeps its model and tree
    assert project.workspace.cached_model(feed) is not None


def test_off_keeps_every_model(app: Path) -> None:
    project, _ = _index(app, False, [])
    assert set(project.workspace.loaded()) == set(project.workspace.files())


def test_reparsed_on_demand_and_kept_within_budget(app: Path) -> None:
    feed = app / "convex" / "feed.ts"
    helper = app / "convex" / "lib" / "authors.ts"
    project, _ = _index(app, True, [feed], keep=1_000_000)
    project.keep_closed_bytes = 0
    project.release_closed(everything=True)
    assert _released(project, helper)
    project.keep_closed_bytes = 1_000_000
    doc = _open(project, feed)
    check_document(doc, full=True)
    # The check resolved the loop's call into the closed helper: parsed again, and kept.
    assert project.workspace.cached_model(helper) is not None
    model = project.workspace.cached_model(helper)
    _type(doc, doc.source.data.index(b"const out = [];"), "x")
    assert project.workspace.cached_model(helper) is model  # not parsed again per keystroke


def test_least_recently_used_dropped_first(app: Path) -> None:
    feed = app / "convex" / "feed.ts"
    helper = app / "convex" / "lib" / "authors.ts"
    orgs = app / "convex" / "orgs.ts"
    project, _ = _index(app, True, [feed])
    project.workspace.model(orgs)
    project.workspace.model(helper)  # (asked for last)
    project.keep_closed_bytes = len(helper.read_bytes())
    project.release_closed(everything=True)
    assert not _released(project, helper)
    assert _released(project, orgs)


def test_open_document_never_released(app: Path) -> None:
    feed = app / "convex" / "feed.ts"
    project, _ = _index(app, True, [feed])
    doc = _open(project, feed)
    check_document(doc, full=True)
    _type(doc, doc.source.data.index(b"const out = [];"), "ab")
    project.check_many([p for p in project.workspace.files() if p != feed])
    project.release_closed(everything=True)
    assert project.workspace.cached_model(feed) is not None
    assert project.workspace.source(feed) is doc.source and doc.source.parsed


def test_closing_a_document_releases_it(app: Path) -> None:
    feed = app / "convex" / "feed.ts"
    orgs = app / "convex" / "orgs.ts"
    project, _ = _index(app, True, [feed, orgs])
    assert not _released(project, orgs)
    edited = SourceFile(orgs, orgs.read_text() + "\n// note\n")
    project.set_source(edited)
    project.check(orgs)
    assert not _released(project, orgs)  # open: kept through its checks
    project.closed(orgs)  # as didClose does
    project.forget(orgs)
    project.touched(None)
    project.check_many([orgs])  # its findings as on disk again (the Problems panel)
    assert _released(project, orgs)


def test_file_changed_on_disk_is_indexed_again(app: Path) -> None:
    feed = app / "convex" / "feed.ts"
    helper = app / "convex" / "lib" / "authors.ts"
    project, _ = _index(app, True, [feed])
    doc = _open(project, feed)
    before = [f.rule for f in check_document(doc, full=True).findings]
    assert "n-plus-one-read" in before
    # The helper stops reading the database and `by_email` loses its only use.
    helper.write_text("export async function loadAuthor(ctx: any, id: any) {\n  return id;\n}\n")
    project.forget(helper)  # as didChangeWatchedFiles does
    project.touched(None, on_disk=True)
    after = [repr(f) for f in check_document(doc, full=True).findings]
    workspace = [repr(f) for f in project.workspace_findings([])]
    closed = {p: [repr(f) for f in found] for p, found in project.check_many([p for p in project.workspace.files() if p != feed])[0].items()}
    fresh, fresh_closed = _index(app, False, [feed])
    fresh_doc = _open(fresh, feed)
    assert after == [repr(f) for f in check_document(fresh_doc, full=True).findings]
    assert workspace == [repr(f) for f in fresh.workspace_findings([])]
    assert closed == fresh_closed
    assert not any("n-plus-one-read" in line for line in after)
    assert any("by_email" in line for line in workspace)  # now unused


RELEASING_SERVER = [sys.executable, str(Path(__file__).with_name("releasing_server.py"))]


def _shown(diagnostics: list[types.Diagnostic]) -> list[tuple]:
    return sorted(
        (d.code, d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character, d.severity, d.message)
        for d in diagnostics
    )


async def test_opening_a_released_file_over_stdio_shows_the_same_diagnostics_as_a_kept_one(start, tmp_path):
    """`Documents.on_did_open` for a file released after indexing publishes its known findings
    before parsing it again: what the editor shows on opening, and after typing, is what a
    server that kept every model shows."""
    root = write_project(tmp_path / "app", FILES, schema=SCHEMA).resolve()
    kept = await start(root)
    released = await start(root, command=RELEASING_SERVER)
    shown: dict[str, list[list[tuple]]] = {}
    for name, session in (("kept", kept), ("released", released)):
        uri = session.open("convex/feed.ts")
        opened = _shown(await session.client.diagnostics_for(uri, version=1))
        version = session.replace(uri, "const out = [];", "const out: unknown[] = [];")
        typed = _shown(await session.client.diagnostics_for(uri, version=version))
        shown[name] = [opened, typed]
    assert shown["released"] == shown["kept"]
    codes_opened = [code for code, *_ in shown["kept"][0]]
    assert "n-plus-one-read" in codes_opened and "filter-on-query" in codes_opened
