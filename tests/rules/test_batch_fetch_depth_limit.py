"""The batch-fetch in a program at tsc's instantiation-depth limit: Maps declared `any` where
the read's value is `any`, and no prefetch out of a loop under the app's own TS2589 directive."""

from __future__ import annotations

import textwrap

import pytest

from convex_xray.engine.findings import Applicability
from tests.support.project import check_project, error_nodes, run_fix, write_project

RULE = "n-plus-one-read"

# Another file of the app says its data model is at the limit (a TS2589 directive on a query).
DEEP = """
import { query } from "./_generated/server";
// @ts-expect-error TS2589: type instantiation is excessively deep
export const other = query({ args: {}, handler: async () => null });
"""

HELPER = """
import { query } from "./_generated/server";

export async function enrichTopics(ctx: any, topicIds: readonly string[]) {
  return Promise.all(
    topicIds.map(async (topicId) => {
      const topic = await ctx.db.get("topics", topicId as any);
      return topic ? { name: topic.name } : null;
    }),
  );
}
"""

ANY_KEY = """
import { query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => {
    let rows: any[] = [];
    rows = await ctx.db.query("posts").take(20);
    return Promise.all(
      rows.map(async (row: any) => {
        const author = await ctx.db.get(row.authorId);
        return { ...row, author };
      }),
    );
  },
});
"""

TYPED = """
import { query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => {
    const rows = await ctx.db.query("posts").take(20);
    return Promise.all(
      rows.map(async (row) => {
        const author = await ctx.db.get("members", row.authorId);
        return { ...row, author };
      }),
    );
  },
});
"""

# (before, at the limit: the Map's declaration, not at the limit: the Map's declaration)
MAPS = {
    "a helper whose `ctx` is `any`: the read is `any`, so is the Map": (
        HELPER,
        "  const topicsById: any = new Map(\n",
        "  const topicsById = new Map(\n",
    ),
    "`db.get` of a key from an item the app types `any`: every table's documents to tsc, `any` at the limit": (
        ANY_KEY,
        "    const authorsById: any = new Map(\n",
        "    const authorsById = new Map(\n",
    ),
    # (At the limit the new callbacks are `(doc: any)`, whose pairs make the Map a `Map<any, any>`
    # whatever the read returns: declared so, tsc no longer infers it through `Promise.all`.)
    "a typed read: the Map tsc infers from `(doc: any)` pairs at the limit, the documents' type elsewhere": (
        TYPED,
        "    const membersById: Map<any, any> = new Map(\n",
        "    const membersById = new Map(\n",
    ),
}


@pytest.mark.parametrize("name", list(MAPS))
@pytest.mark.parametrize("at_limit", [True, False], ids=["at-the-limit", "not-at-the-limit"])
def test_the_map_is_declared_any_only_where_the_read_is_any_at_the_limit(tmp_path, name, at_limit):
    before, limited, free = MAPS[name]
    files = {"feed.ts": textwrap.dedent(before).lstrip()}
    if at_limit:
        files["deep.ts"] = textwrap.dedent(DEEP).lstrip()
    project = write_project(tmp_path / "app", files)
    path = project / "convex" / "feed.ts"
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    run_fix(project, [RULE])
    text = path.read_text()
    assert (limited if at_limit else free) in text, text
    assert ": any = new Map(" not in text.replace(limited if at_limit else free, "")
    assert error_nodes(path) == 0
    run_fix(project, [RULE])
    assert path.read_text() == text, "a second --fix must change nothing"


def test_the_whole_output_for_an_any_key_at_the_limit(tmp_path):
    project = write_project(tmp_path / "app", {"feed.ts": textwrap.dedent(ANY_KEY).lstrip(), "deep.ts": textwrap.dedent(DEEP).lstrip()})
    path = project / "convex" / "feed.ts"
    run_fix(project, [RULE])
    assert path.read_text() == textwrap.dedent(
        """\
        import { query } from "./_generated/server";

        export const list = query({
          args: {},
          handler: async (ctx) => {
            let rows: any[] = [];
            rows = await ctx.db.query("posts").take(20);
            const authorIds = Array.from(new Set(rows.map((row: any) => row.authorId)));
            const authors = await Promise.all(authorIds.map((id) => ctx.db.get(id)));
            const authorsById: any = new Map(
              authors
                .filter((doc: any) => doc !== null)
                .map((doc: any) => [doc._id, doc]),
            );
            return Promise.all(
              rows.map(async (row: any) => {
                const author = authorsById.get(row.authorId) ?? null;
                return { ...row, author };
              }),
            );
          },
        });
        """
    )


UNDER_THE_LOOP = """
import { query } from "./_generated/server";

export const list = query({
  args: {},
  handler: async (ctx) => {
    const rows = await ctx.db.query("posts").take(20);
    return Promise.all(
      // @ts-expect-error DIRECTIVE: the app's own
      rows.map(async (row) => {
        const author = await ctx.db.get("members", row.authorId);
        return { ...row, author };
      }),
    );
  },
});
"""


def test_no_prefetch_out_of_a_loop_under_the_apps_own_ts2589_directive(tmp_path):
    # The app says tsc gives up on the loop's callback, whose types include the read's: moved
    # before the loop, the read's types would be inferred by new statements nothing covers.
    module = textwrap.dedent(UNDER_THE_LOOP).lstrip().replace("DIRECTIVE", "TS2589")
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is None
    assert "the loop is under the app's own `@ts-expect-error TS2589` (line 8)" in finding.message
    run_fix(project, [RULE], unsafe=True)
    assert (project / "convex" / "feed.ts").read_text() == module


@pytest.mark.parametrize(
    "directive",
    [
        "TS7006",  # another error, even one that mentions TS2589, is not about the loop's depth
        "TS7006 downstream of TS2589",
    ],
)
def test_another_directive_over_the_loop_keeps_the_prefetch(tmp_path, directive):
    module = textwrap.dedent(UNDER_THE_LOOP).lstrip().replace("DIRECTIVE", directive)
    project = write_project(tmp_path / "app", {"feed.ts": module})
    _, result = check_project(project, select=[RULE])
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "const author = membersById.get(row.authorId) ?? null;" in text
    assert f"      // @ts-expect-error {directive}: the app's own\n      rows.map(async (row) => {{\n" in text


def test_a_ts2589_directive_on_the_statement_holding_the_loop_keeps_the_prefetch(tmp_path):
    # On `return Promise.all(` (not the loop's own line) the directive goes on covering that
    # statement, the prefetch goes above it (ConvexPress: 11 reads of this shape type-check).
    module = textwrap.dedent(TYPED).lstrip().replace(
        "    return Promise.all(\n", "    // @ts-expect-error TS2589: the app's own\n    return Promise.all(\n"
    )
    project = write_project(tmp_path / "app", {"feed.ts": module})
    run_fix(project, [RULE])
    text = (project / "convex" / "feed.ts").read_text()
    assert "    // @ts-expect-error TS2589: the app's own\n    return Promise.all(\n" in text
    assert "const author = membersById.get(row.authorId) ?? null;" in text
    assert text.index("const membersById") < text.index("@ts-expect-error TS2589")
