"""unbounded-collect: `.collect()` -> `.take(n)` only where the code already uses at most n
results (`.slice(0, n)`, `[i]`, `.length` compared to a literal); everywhere else no edit
(a truncating `.take(100)` would silently drop rows), only the message."""

from __future__ import annotations

import pytest

from tests.support.fix_cases import SAFE, TASKS_SCHEMA, Case, NoFix, dedent, query_module, run_case, run_no_fix, tasks_schema_plus
from tests.support.project import check_project, write_project

RANGE = 'ctx.db.query("tasks").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId))'


def _handler(body: str) -> str:
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return query_module(
        "export const f = query({\n  args: {},\n  handler: async (ctx, args) => {\n" + lines + "\n  },\n});\n"
    )


def _case(before: str, after: str, title: str) -> Case:
    return Case(
        "unbounded-collect",
        {"schema.ts": TASKS_SCHEMA, "t.ts": _handler(before)},
        {"t.ts": _handler(after)},
        SAFE,
        title=title,
    )


TAKE_CASES: dict[str, Case] = {
    "the first element": _case(
        f"return (await {RANGE}.collect())[0];",
        f"return (await {RANGE}.take(1))[0];",
        "Use `.take(1)`: the code uses at most 1",
    ),
    "an element by literal index": _case(
        f"const rows = await {RANGE}.collect();\nreturn rows[2];",
        f"const rows = await {RANGE}.take(3);\nreturn rows[2];",
        "Use `.take(3)`",
    ),
    "emptiness and the first element": _case(
        f"const rows = await {RANGE}.collect();\nif (rows.length === 0) return null;\nreturn rows[0];",
        f"const rows = await {RANGE}.take(1);\nif (rows.length === 0) return null;\nreturn rows[0];",
        "Use `.take(1)`",
    ),
    "length compared to a constant, literal on the left": _case(
        f"const rows = await {RANGE}.collect();\nreturn 3 <= rows.length;",
        f"const rows = await {RANGE}.take(3);\nreturn 3 <= rows.length;",
        "Use `.take(3)`",
    ),
    "more than five": _case(
        f"return (await {RANGE}.collect()).length > 5;",
        f"return (await {RANGE}.take(6)).length > 5;",
        "Use `.take(6)`",
    ),
}


@pytest.mark.parametrize("name", list(TAKE_CASES))
def test_take_where_the_code_uses_at_most_n(tmp_path, name):
    run_case(tmp_path, TAKE_CASES[name])


def _no_fix(body: str) -> NoFix:
    return NoFix("unbounded-collect", {"schema.ts": TASKS_SCHEMA, "t.ts": _handler(body)})


NO_TAKE: dict[str, NoFix] = {
    "the whole range is returned": _no_fix(f"return await {RANGE}.collect();"),
    "counted": _no_fix(f"return (await {RANGE}.collect()).length;"),
    "length compared to a variable": _no_fix(
        f"const rows = await {RANGE}.collect();\nreturn rows.length > args.min;"
    ),
    "an index and a full iteration": _no_fix(
        f"const rows = await {RANGE}.collect();\nconst first = rows[0];\nreturn rows.map((r) => r._id).concat([first._id]);"
    ),
    "an element by a computed index": _no_fix(
        f"const rows = await {RANGE}.collect();\nreturn rows[rows.length - 1];"
    ),
    "filtered in JavaScript": _no_fix(
        f"const rows = await {RANGE}.collect();\nreturn rows.filter((r) => r.status === \"open\");"
    ),
}


@pytest.mark.parametrize("name", list(NO_TAKE))
def test_no_truncating_take_where_the_code_may_use_every_result(tmp_path, name):
    run_no_fix(tmp_path, NO_TAKE[name])


_WHOLE_TABLE = 'ctx.db.query("tasks")'


@pytest.mark.parametrize(
    ("filtered", "advised"),
    [
        ('(r) => r._id !== args.taskId', None),
        ('(r) => r._id !== args.taskId && r.status === "open"', "status"),
        ('(r) => r.status === "open"', "status"),
    ],
)
def test_a_javascript_filter_on_id_is_no_index_advice(tmp_path, filtered, advised):
    """`_id` is no field an index range can take (a document by id is `ctx.db.get`); dropping
    one known document in JavaScript names no index. Another `&&` field still does."""
    body = f"const rows = await {_WHOLE_TABLE}.collect();\nreturn rows.filter({filtered});"
    project = write_project(
        tmp_path / "app", {"schema.ts": dedent(TASKS_SCHEMA), "t.ts": dedent(_handler(body))}, schema=None
    )
    _, result = check_project(project, select=["full-table-scan"])
    (finding,) = [f for f in result.findings if f.rule == "full-table-scan"]
    assert "`_id`" not in finding.message
    if advised is None:
        assert "filtered on" not in finding.message
    else:
        assert f"filtered on `{advised}` in JavaScript" in finding.message


@pytest.mark.parametrize(
    ("index", "kept", "advice"),
    [
        # The index in use already has the field right after the range: extend the range.
        ('"by_orgId_and_createdAt"', "(r) => r.createdAt > args.since", "add a bound (`.gt`, `.gte`, `.lt`, `.lte`) on `createdAt` to the range (`by_orgId_and_createdAt` has `createdAt` right after `orgId`)"),
        ('"by_orgId_and_status"', '(r) => r.status === "open"', "add `.eq(…)` on `status` to the range (`by_orgId_and_status` has `status` right after `orgId`)"),
        # Another index starts with the range's fields and the filtered one: use it.
        # (nothing else queries it here, so unused-index reports it: the advice says to keep it)
        ('"by_orgId"', "(r) => r.createdAt > args.since", "range over index `by_orgId_and_createdAt` instead (it starts with `orgId`, `createdAt`: keep it, unused-index reports it only because nothing queries it yet)"),
        # None does: a new one with the range's fields first.
        ('"by_orgId"', '(r) => r.kind === "bug"', "add `kind` to an index after the range's fields (e.g. `by_orgId_and_kind`)"),
    ],
)
def test_the_index_advice_follows_the_schema(tmp_path, index, kept, advice):
    schema = TASKS_SCHEMA.replace(
        '.index("by_orgId_and_createdAt", ["orgId", "createdAt"]),',
        '.index("by_orgId_and_createdAt", ["orgId", "createdAt"])\n    .index("by_orgId_and_status", ["orgId", "status", "kind"]),',
    )
    body = (
        f'const rows = await ctx.db.query("tasks").withIndex({index}, (q) => q.eq("orgId", args.orgId)).collect();\n'
        f"return rows.filter({kept});"
    )
    project = write_project(tmp_path / "app", {"schema.ts": dedent(schema), "t.ts": dedent(_handler(body))}, schema=None)
    _, result = check_project(project, select=["unbounded-collect"])
    (finding,) = result.findings
    assert advice in finding.message


_OTHER_QUERY = """
import { query } from "./_generated/server";
import { v } from "convex/values";

export const g = query({
  args: { orgId: v.id("orgs") },
  handler: async (ctx, args) => {
    return await ctx.db.query("tasks").{rest};
  },
});
"""


@pytest.mark.parametrize(
    ("schema_line", "kept", "elsewhere", "advice"),
    [
        # The index it names is queried elsewhere: no finding removes it.
        (
            None,
            "(r) => r.createdAt > args.since",
            'withIndex("by_orgId_and_createdAt", (q) => q.eq("orgId", args.orgId)).take(10)',
            "range over index `by_orgId_and_createdAt` instead (already in the schema, it starts with `orgId`, `createdAt`)",
        ),
        # filter-on-query adds an index for the same fields elsewhere: the advice names that one.
        (
            None,
            '(r) => r.kind === "bug"',
            'withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).filter((q) => q.eq(q.field("kind"), "bug")).take(10)',
            "add `kind` to an index after the range's fields (`by_orgId_and_kind`, the index filter-on-query adds for them)",
        ),
        # The name the style gives is taken by an index on other fields: never that name.
        (
            '.index("by_orgId_and_kind", ["orgId", "status"])',
            '(r) => r.kind === "bug"',
            'withIndex("by_orgId_and_kind", (q) => q.eq("orgId", args.orgId)).take(10)',
            "add `kind` to an index after the range's fields (e.g. `by_orgId_and_kind_2`)",
        ),
    ],
)
def test_the_index_advice_follows_the_schema_plan(tmp_path, schema_line, kept, elsewhere, advice):
    """The advice agrees with what the index rules' fixes do to the schema (one plan): an index
    queried elsewhere is simply there; a new index for the same fields is the one
    filter-on-query adds; a suggested name is never one another index has."""
    schema = tasks_schema_plus(schema_line) if schema_line else TASKS_SCHEMA
    body = (
        'const rows = await ctx.db.query("tasks").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).collect();\n'
        f"return rows.filter({kept});"
    )
    files = {"schema.ts": dedent(schema), "t.ts": dedent(_handler(body)), "g.ts": dedent(_OTHER_QUERY.replace("{rest}", elsewhere))}
    project = write_project(tmp_path / "app", files, schema=None)
    _, result = check_project(project, select=["unbounded-collect"])
    (finding,) = [f for f in result.findings if f.path.name == "t.ts"]
    assert advice in finding.message
