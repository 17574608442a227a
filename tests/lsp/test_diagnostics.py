"""Pushed diagnostics: what they carry, and staying right through incremental edits."""

from __future__ import annotations

from lsprotocol import types

from tests.lsp.harness import capabilities, codes, position_at
from tests.support.project import FEED_SCHEMA, write_project

POSTS = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const recent = query({
  args: { authorId: v.id("users") },
  handler: async (ctx, args) => {
    const posts = (
      await ctx.db
        .query("posts")
        .withIndex("by_authorId", (q) => q.eq("authorId", args.authorId))
        .collect()
    ).slice(0, 10);
    return posts;
  },
});

export const byOrg = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    return await ctx.db.query("users").withIndex("by_org", (q) => q.eq("orgId", args.orgId)).take(20);
  },
});
"""


def _find(diagnostics: list[types.Diagnostic], code: str) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.code == code]


async def test_open_publishes_versioned_diagnostics_with_every_field(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS}, schema=FEED_SCHEMA)
    session = await start(root)
    uri = session.open("convex/posts.ts")
    diagnostics = await session.client.diagnostics_for(uri, version=1)
    assert codes(diagnostics) == ["unbounded-collect", "unknown-index"]
    collect = _find(diagnostics, "unbounded-collect")[0]
    assert collect.source == "convex-xray"
    assert collect.severity == types.DiagnosticSeverity.Warning
    assert collect.code_description is not None
    assert collect.code_description.href.endswith("/unbounded-collect.md")
    assert collect.range == session.range_of(uri, "collect()")
    assert collect.related_information  # where only the first items are kept
    # Fixes come from code actions (found again by code and range), not with the diagnostic.
    assert collect.data == {"version": 1, "ruleCode": "CX201"}
    assert collect.message
    unknown = _find(diagnostics, "unknown-index")[0]
    assert unknown.severity == types.DiagnosticSeverity.Error
    assert unknown.range == session.range_of(uri, '"by_org"')
    # The related location points into the schema file, where `by_orgId` is defined.
    related = unknown.related_information[0]
    assert related.location.uri.endswith("/convex/schema.ts")
    schema = (root / "convex" / "schema.ts").read_text()
    assert related.location.range.start == position_at(schema, schema.index('.index("by_orgId"'))


async def test_unused_indexes_are_tagged_unnecessary(start, tmp_path):
    root = write_project(tmp_path / "app", {"posts.ts": POSTS})
    session = await start(root)
    uri = session.open("convex/schema.ts")
    diagnostics = await session.client.diagnostics_for(uri, version=1)
    unused = _find(diagnostics, "unused-index")
    assert unused, codes(diagnostics)
    assert all(list(d.tags or []) == [types.DiagnosticTag.Unnecessary] for d in unused)
    assert all(d.severity == types.DiagnosticSeverity.Hint for d in unused)


EMOJI = (
    "// 🎉 héllo wörld\r\n"
    'import { query } from "./_generated/server";\r\n'
    "\r\n"
    "export const list = query({\r\n"
    "  args: {},\r\n"
    "  handler: async (ctx) => {\r\n"
    '    const label = "🚀🚀"; const rows = (await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect()).slice(0, 3);\r\n'
    "    return { label, rows };\r\n"
    "  },\r\n"
    "});\r\n"
)


async def test_incremental_edits_on_emoji_and_crlf_lines_keep_utf16_positions(start, tmp_path):
    root = write_project(tmp_path / "app", {})
    (root / "convex" / "list.ts").write_bytes(EMOJI.encode("utf-8"))
    session = await start(root)
    client = session.client
    uri = session.open("convex/list.ts")

    async def collect_range(version: int) -> types.Range:
        diagnostics = await client.diagnostics_for(uri, version=version)
        found = _find(diagnostics, "unbounded-collect")
        assert len(found) == 1, codes(diagnostics)
        return found[0].range

    assert await collect_range(1) == session.range_of(uri, "collect()")
    # 1. More emoji before the finding, on its own line (each is two UTF-16 units).
    version = session.insert(uri, '"🚀🚀"', "🎈🎈", delta=1)
    assert await collect_range(version) == session.range_of(uri, "collect()")
    # 2. A new CRLF line above the function.
    version = session.insert(uri, "export const list", "// a comment with ünïcödé 😀\r\n")
    assert await collect_range(version) == session.range_of(uri, "collect()")
    # 3. Two changes in one notification: an edit after the finding, then one before it.
    text_after = session.range_of(uri, "return { label, rows }")
    version = session.change(uri, [(text_after, "return { rows, label }")])
    assert await collect_range(version) == session.range_of(uri, "collect()")
    first = session.range_of(uri, "héllo")
    second_at = session.position(uri, "const rows")
    version = session.change(
        uri,
        [
            (types.Range(start=second_at, end=second_at), "/* 🧪 */ "),
            (first, "hi"),
        ],
    )
    assert await collect_range(version) == session.range_of(uri, "collect()")
    # 4. Deleting the emoji on the finding's line.
    version = session.replace(uri, '"🎈🎈🚀🚀"', '""')
    assert await collect_range(version) == session.range_of(uri, "collect()")
    # And the server's view of the text equals ours: a fix computed from it applies cleanly.
    assert session.texts[uri].count("collect()") == 1


async def test_utf8_encoding_when_the_client_prefers_it(start, tmp_path):
    root = write_project(tmp_path / "app", {})
    (root / "convex" / "list.ts").write_bytes(EMOJI.encode("utf-8"))
    session = await start(root, caps=capabilities(encodings=["utf-8"]))
    assert session.encoding == "utf-8"
    uri = session.open("convex/list.ts")
    diagnostics = await session.client.diagnostics_for(uri, version=1)
    found = _find(diagnostics, "unbounded-collect")[0]
    line = EMOJI.split("\r\n")[6]
    assert found.range.start.character == len(line[: line.index("collect()")].encode("utf-8"))
    version = session.insert(uri, '"🚀🚀"', "é", delta=1)
    diagnostics = await session.client.diagnostics_for(uri, version=version)
    assert _find(diagnostics, "unbounded-collect")[0].range == session.range_of(uri, "collect()")


TWO_FUNCTIONS = """
import { query } from "./_generated/server";

export const first = query({
  args: {},
  handler: async (ctx) => {
    const a = (await ctx.db.query("posts").withIndex("by_authorId", (q) => q.eq("authorId", "a")).collect()).slice(0, 2);
    return a;
  },
});

export const second = query({
  args: {},
  handler: async (ctx) => {
    const b = (await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", "p")).collect()).slice(0, 3);
    return b;
  },
});
"""


async def test_a_syntax_error_mid_typing_keeps_good_diagnostics_elsewhere(start, tmp_path):
    root = write_project(tmp_path / "app", {"two.ts": TWO_FUNCTIONS})
    session = await start(root)
    client = session.client
    uri = session.open("convex/two.ts")
    diagnostics = await client.diagnostics_for(uri, version=1)
    assert len(_find(diagnostics, "unbounded-collect")) == 2
    # Half-typed code in the first function: `const x = ctx.db.` does not parse.
    version = session.insert(uri, "    return a;", "    const x = ctx.db.\n")
    diagnostics = await client.diagnostics_for(uri, version=version)
    ranges = [d.range for d in _find(diagnostics, "unbounded-collect")]
    assert session.range_of(uri, "collect()", occurrence=1) in ranges  # the second function's
    assert session.range_of(uri, "collect()", occurrence=0) in ranges  # kept through the error
    # Finishing the line: everything is checked afresh and still right.
    version = session.insert(uri, "ctx.db.\n", 'get("x" as any);', delta=len("ctx.db."))
    diagnostics = await client.diagnostics_for(uri, version=version)
    assert [d.range for d in _find(diagnostics, "unbounded-collect")] == [
        session.range_of(uri, "collect()", occurrence=0),
        session.range_of(uri, "collect()", occurrence=1),
    ]


async def test_typing_inside_a_function_updates_only_what_changed(start, tmp_path):
    root = write_project(tmp_path / "app", {"two.ts": TWO_FUNCTIONS})
    session = await start(root)
    client = session.client
    uri = session.open("convex/two.ts")
    await client.diagnostics_for(uri, version=1)
    # Fix the first function by hand, one keystroke at a time (`.collect()` -> `.take(2)`).
    target = session.range_of(uri, "collect()")
    version = session.edit(uri, target.start, target.end, "")
    for char in "take(2)":
        version = session.insert(uri, ").slice(0, 2)", char)
        await client.diagnostics_for(uri, version=version)
    version = session.replace(uri, ").slice(0, 2)", ")")
    diagnostics = await client.diagnostics_for(uri, version=version)
    collects = _find(diagnostics, "unbounded-collect")
    assert [d.range for d in collects] == [session.range_of(uri, "collect()")]  # only the second's
    # Publishes arrive in version order; none is for a version older than one already sent.
    versions = [p.version for p in client.published if p.uri == uri and p.version is not None]
    assert versions == sorted(versions)


async def test_fast_edits_end_with_the_latest_version(start, tmp_path):
    root = write_project(tmp_path / "app", {"two.ts": TWO_FUNCTIONS})
    session = await start(root)
    client = session.client
    uri = session.open("convex/two.ts")
    await client.diagnostics_for(uri, version=1)
    last = 1
    for _ in range(5):  # sent back to back, without waiting
        last = session.insert(uri, "    return a;", " ")
    await client.diagnostics_for(uri, version=last)
    versions = [p.version for p in client.published if p.uri == uri and p.version is not None]
    assert versions == sorted(versions) and versions[-1] == last


async def test_on_save_mode_checks_on_save_only(start, tmp_path):
    root = write_project(tmp_path / "app", {"two.ts": TWO_FUNCTIONS})
    session = await start(root, init_options={"run": "onSave"})
    client = session.client
    uri = session.open("convex/two.ts")
    await client.diagnostics_for(uri, version=1)
    count = len(client.published)
    version = session.replace(uri, "collect()).slice(0, 2)", "take(2))")
    await session.roundtrip()
    assert not [p for p in client.published[count:] if p.uri == uri]
    session.save(uri)
    diagnostics = await client.diagnostics_for(uri, version=version, after=count)
    assert len(_find(diagnostics, "unbounded-collect")) == 1


async def test_debounce_still_publishes_the_latest_version(start, tmp_path):
    root = write_project(tmp_path / "app", {"two.ts": TWO_FUNCTIONS})
    session = await start(root, init_options={"debounceMs": 50})
    client = session.client
    uri = session.open("convex/two.ts")
    await client.diagnostics_for(uri, version=1)
    count = len(client.published)
    for _ in range(3):
        version = session.insert(uri, "    return a;", " ")
    await client.diagnostics_for(uri, version=version, after=count)
    # Keystrokes closer together than the debounce were checked once, for the last version.
    assert [p.version for p in client.published[count:] if p.uri == uri] == [version]


async def test_files_outside_convex_roots_cost_nothing(start, tmp_path):
    root = write_project(tmp_path / "app", {"two.ts": TWO_FUNCTIONS})
    (root / "src").mkdir()
    (root / "src" / "page.ts").write_text('const all = await ctx.db.query("posts").collect();\n')
    session = await start(root)
    client = session.client
    count = len(client.published)
    uri = session.open("src/page.ts")
    session.insert(uri, "const all", "// hi\n")
    await session.roundtrip()
    assert not [p for p in client.published[count:] if p.uri == uri]


async def test_close_shows_the_saved_file_again(start, tmp_path):
    root = write_project(tmp_path / "app", {"two.ts": TWO_FUNCTIONS})
    session = await start(root)
    client = session.client
    uri = session.open("convex/two.ts")
    await client.diagnostics_for(uri, version=1)
    session.replace(uri, "collect()).slice(0, 2)", "take(2))")
    session.replace(uri, "collect()).slice(0, 3)", "take(3))")
    await client.diagnostics_for(uri, version=3)
    count = len(client.published)
    session.close(uri)
    # Unsaved edits are gone with the buffer: the file on disk (two findings) is the truth again.
    diagnostics = await client.diagnostics_for(uri, after=count)
    assert len(_find(diagnostics, "unbounded-collect")) == 2
