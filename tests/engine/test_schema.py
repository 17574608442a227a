"""The schema model: tables, fields and indexes in every form, with spans; degrading gracefully."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from convex_xray.engine.schema import IMPLICIT_INDEXES, Schema, index_name_parts, read_schema
from convex_xray.engine.source import SourceFile
from convex_xray.engine.workspace import Workspace, discover_roots
from tests.support.project import check_project, write_project


def read(code: str) -> Schema:
    return read_schema(SourceFile(Path("/app/convex/schema.ts"), textwrap.dedent(code)))


def span_text(workspace_or_source, span) -> str:
    if isinstance(workspace_or_source, Workspace):
        source = workspace_or_source.source(span.path)
    else:
        source = workspace_or_source
    return source.slice(span.start, span.end)


INLINE = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({ name: v.string(), orgId: v.id("orgs"), "e-mail": v.string() })
    .index("by_orgId", ["orgId"])
    .index("by_orgId_and_name", ["orgId", "name"]),
  "orgs": defineTable({ name: v.string(), slug: v.string() })
    .index("by_slug", { fields: ["slug"], staged: true })
    .index("by_name", { fields: ["name"] }),
  posts: defineTable(v.object({ body: v.string(), orgId: v.id("orgs"), embedding: v.array(v.float64()) }))
    .index("by_orgId", ["orgId"])
    .searchIndex("search_body", { searchField: "body", filterFields: ["orgId"] })
    .vectorIndex("by_embedding", { vectorField: "embedding", dimensions: 1536, filterFields: ["orgId"], staged: true }),
  settings: defineTable({}),
});
"""


def test_inline_tables_and_every_index_form():
    schema = read(INLINE)
    assert schema.usable and schema.complete and schema.error is None
    assert list(schema.tables) == ["users", "orgs", "posts", "settings"]
    users = schema.tables["users"]
    assert list(users.fields) == ["name", "orgId", "e-mail"]
    assert [(i.name, i.fields, i.kind, i.staged) for i in users.indexes.values()] == [
        ("by_orgId", ["orgId"], "index", False),
        ("by_orgId_and_name", ["orgId", "name"], "index", False),
    ]
    orgs = schema.tables["orgs"]
    assert orgs.indexes["by_slug"].fields == ["slug"] and orgs.indexes["by_slug"].staged
    assert orgs.indexes["by_name"].fields == ["name"] and not orgs.indexes["by_name"].staged
    posts = schema.tables["posts"]
    assert list(posts.fields) == ["body", "orgId", "embedding"]  # v.object({...}) unwrapped
    search = posts.indexes["search_body"]
    assert (search.kind, search.fields, search.filter_fields, search.is_database_index) == (
        "searchIndex",
        ["body"],
        ["orgId"],
        False,
    )
    vector = posts.indexes["by_embedding"]
    assert (vector.kind, vector.fields, vector.filter_fields, vector.staged) == (
        "vectorIndex",
        ["embedding"],
        ["orgId"],
        True,
    )
    assert schema.tables["settings"].fields == {} and schema.tables["settings"].indexes == {}
    assert all(t.indexes_known for t in schema.tables.values())


def test_implicit_indexes():
    table = read(INLINE).tables["users"]
    assert set(IMPLICIT_INDEXES) == {"by_id", "by_creation_time"}
    by_id = table.index("by_id")
    assert (by_id.fields, by_id.kind, by_id.span, by_id.is_database_index) == (
        ["_id"],
        "implicit",
        None,
        True,
    )
    assert table.index("by_creation_time").fields == ["_creationTime"]
    assert table.index("by_nothing") is None
    assert table.all_index_names == ["by_orgId", "by_orgId_and_name", "by_id", "by_creation_time"]


def test_spans_point_at_the_source():
    source = SourceFile(Path("/app/convex/schema.ts"), textwrap.dedent(INLINE))
    schema = read_schema(source)
    for table in schema.tables.values():
        assert span_text(source, table.name_span).strip('"') == table.name
        assert span_text(source, table.definition).startswith("defineTable(")
        for index in table.indexes.values():
            assert span_text(source, index.name_span) == f'"{index.name}"'
            assert span_text(source, index.span).startswith(f'.{index.kind}("{index.name}"')
            assert span_text(source, index.span).endswith(")")
    assert span_text(source, schema.tables["orgs"].name_span) == '"orgs"'
    users = schema.tables["users"]
    # a new index goes right after the last one, with the same indentation
    assert users.insert_at.start == users.indexes["by_orgId_and_name"].span.end
    assert users.index_indent == "    "
    settings = schema.tables["settings"]
    assert span_text(source, settings.definition) == "defineTable({})"
    assert settings.insert_at.start == settings.definition.end


def test_tables_as_variables_and_chained_on_variables():
    schema = read(
        """
        const base = defineTable({ a: v.string(), b: v.number() });
        const users = defineTable({ name: v.string() }).index("by_name", ["name"]);
        export const tables = {
          users,
          extended: base.index("by_a", ["a"]).index("by_b", ["b"]),
          aliased: users,
        };
        export default defineSchema(tables, { schemaValidation: false });
        """
    )
    assert schema.complete
    assert list(schema.tables) == ["users", "extended", "aliased"]
    assert list(schema.tables["users"].indexes) == ["by_name"]
    assert list(schema.tables["extended"].fields) == ["a", "b"]
    assert list(schema.tables["extended"].indexes) == ["by_a", "by_b"]
    assert list(schema.tables["aliased"].indexes) == ["by_name"]


def _project(tmp_path: Path, files: dict[str, str], tsconfig: str | None = None) -> Workspace:
    project = tmp_path / "app"
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    if tsconfig is not None:
        (project / "tsconfig.json").write_text(tsconfig, encoding="utf-8")
    return Workspace(discover_roots(project), base=project)


def test_tables_in_other_files_and_spreads_through_aliases(tmp_path):
    workspace = _project(
        tmp_path,
        {
            "convex/schema.ts": """
                import { defineSchema, defineTable } from "convex/server";
                import { moduleTables } from "@schema/modules";
                import { teams } from "./schema/teams";
                import { authTables } from "./authTables";
                export default defineSchema({
                  ...authTables,
                  ...moduleTables,
                  teams,
                  users: defineTable({ name: v.string() }),
                });
            """,
            "convex/schema/modules.ts": """
                import { defineTable } from "convex/server";
                import { notesTable as notes } from "./notes";
                export const moduleTables = {
                  notes,
                  tags: defineTable({ label: v.string() }).index("by_label", ["label"]),
                };
            """,
            "convex/schema/notes.ts": """
                export const notesTable = defineTable({ text: v.string() }).index("by_text", ["text"]);
            """,
            "convex/schema/teams.ts": """
                export const teams = defineTable({ name: v.string() })
                  .index("by_name", ["name"]);
            """,
            "convex/authTables.ts": """
                export const authTables = {
                  authSessions: defineTable({ userId: v.id("users") }).index("userId", ["userId"]),
                };
            """,
        },
        tsconfig='{ "compilerOptions": { "baseUrl": ".", "paths": { "@schema/*": ["./convex/schema/*"] } } }',
    )
    schema_path = workspace.roots[0].schema_path
    schema = workspace.schema_for(schema_path)
    assert schema.usable and schema.complete
    assert sorted(schema.tables) == ["authSessions", "notes", "tags", "teams", "users"]
    assert list(schema.tables["notes"].indexes) == ["by_text"]
    assert list(schema.tables["authSessions"].indexes) == ["userId"]
    teams = schema.tables["teams"]
    # the name is where the schema names it; the definition and indexes where they are written
    assert teams.name_span.path == schema_path and span_text(workspace, teams.name_span) == "teams"
    assert teams.definition.path.name == "teams.ts"
    assert teams.indexes["by_name"].span.path.name == "teams.ts"
    assert span_text(workspace, teams.indexes["by_name"].name_span) == '"by_name"'
    notes = schema.tables["notes"]
    assert (
        notes.name_span.path.name == "modules.ts"
        and span_text(workspace, notes.name_span) == "notes"
    )
    assert span_text(workspace, notes.indexes["by_text"].name_span) == '"by_text"'
    assert span_text(workspace, schema.tables["tags"].name_span) == "tags"


def test_unresolvable_spread_marks_the_schema_incomplete():
    schema = read(
        """
        import { authTables } from "@convex-dev/auth/server";
        export default defineSchema({ ...authTables, users: defineTable({}) });
        """
    )
    assert schema.usable and not schema.complete
    assert list(schema.tables) == ["users"]
    assert not schema.knows_table_absent("authAccounts")  # might come from the spread
    assert schema.elsewhere == ["`authTables` from `@convex-dev/auth/server`"]


def test_spreads_the_schema_can_read_are_not_elsewhere():
    schema = read(
        """
        const local = { notes: defineTable({}) };
        export default defineSchema({ ...local, ...makeTables() });
        """
    )
    assert list(schema.tables) == ["notes"] and schema.elsewhere == []


@pytest.mark.parametrize(
    "code",
    [
        "export default defineSchema({ [name]: defineTable({}), ok: defineTable({}) });",
        "export default defineSchema(Object.fromEntries(names.map((n) => [n, defineTable({})])));",
        "export default defineSchema({ ...makeTables(), ok: defineTable({}) });",
        "export default defineSchema({ ok: defineTable({}), t: tableFromSomewhere });",
    ],
)
def test_dynamic_tables_make_the_schema_incomplete(code):
    schema = read(code)
    assert schema.usable and not schema.complete


def test_complete_schema_knows_absent_tables():
    schema = read(INLINE)
    assert schema.knows_table_absent("nope") and not schema.knows_table_absent("users")
    assert schema.table(None) is None and schema.table("nope") is None


def test_tables_whose_indexes_cannot_be_seen():
    schema = read(
        """
        export default defineSchema({
          built: makeTable("x"),
          fromVar: unknownTable.index("by_a", ["a"]),
          computed: defineTable({ a: v.string() }).index(indexName, ["a"]).index("by_a", ["a"]),
          spreadFields: defineTable({ ...common, b: v.string() }).index("by_b", ["b"]),
        });
        """
    )
    assert not schema.tables["built"].indexes_known
    assert not schema.tables["fromVar"].indexes_known
    assert not schema.tables["computed"].indexes_known  # any name might be the computed one
    assert schema.tables["spreadFields"].indexes_known
    assert schema.tables["spreadFields"].fields is None  # field set unknown


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("const x = 1;\n", "no `defineSchema(...)` call found"),
        ("export default defineSchema();\n", "no tables argument"),
        (
            'export default defineSchema({ t: defineTable({ a: v.string() }).index("by_a", ["a"]), u: defineTable({',
            None,
        ),
        ("export default defineSchema(", None),
        ("\x7f\x7f garbage ((((", None),
    ],
)
def test_broken_schema_degrades_without_raising(code, error):
    schema = read(code)
    if error is not None:
        assert error in schema.error
    assert not (schema.usable and schema.complete)  # never "sure" about a broken schema


def test_half_parsed_schema_keeps_its_tables_but_is_not_trusted():
    schema = read(
        INLINE.replace(
            '.index("by_orgId", ["orgId"])\n    .index("by_orgId_and_name"',
            '.index("by_orgId", ["orgId"]\n    .index("by_orgId_and_name"',
        )
    )
    assert "syntax errors" in schema.error
    assert not schema.usable and not schema.complete
    assert "users" in schema.tables  # what could be read stays there for navigation


def test_deeply_nested_schema_does_not_crash():
    nested = (
        "export default defineSchema({ t: defineTable({ a: "
        + "v.optional(" * 3000
        + "v.string()"
        + ")" * 3000
        + " }) });"
    )
    schema = read(nested)
    assert isinstance(schema, Schema)


def test_index_name_parts():
    assert index_name_parts("by_orgId_and_status") == ["orgId", "status"]
    assert index_name_parts("by_org_status") == ["org", "status"]
    assert index_name_parts("userId") == ["userId"]


# -- in a workspace: components, broken or missing schemas -------------------------------------------

APP_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
export default defineSchema({
  users: defineTable({ name: v.string() }).index("by_name", ["name"]),
});
"""

COMPONENT_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
export default defineSchema({
  user: defineTable({ email: v.string() }).index("email_name", ["email", "name"]),
  session: defineTable({ token: v.string() }).index("token", ["token"]),
});
"""


def test_component_schemas_are_kept_apart(tmp_path):
    workspace = _project(
        tmp_path,
        {
            "convex/schema.ts": APP_SCHEMA,
            "convex/users.ts": "export const list = query({ handler: async (ctx) => null });\n",
            "convex/convex.config.ts": 'import betterAuth from "./betterAuth/convex.config";\nconst app = defineApp();\napp.use(betterAuth);\nexport default app;\n',
            "convex/betterAuth/convex.config.ts": 'import { defineComponent } from "convex/server";\nexport default defineComponent("betterAuth");\n',
            "convex/betterAuth/schema.ts": COMPONENT_SCHEMA,
            "convex/betterAuth/adapter.ts": "export const findOne = query({ handler: async (ctx) => null });\n",
        },
    )
    root = workspace.roots[0]
    convex = root.path
    assert root.schema_path == convex / "schema.ts"
    assert list(root.components.values()) == ["betterAuth"]
    app = workspace.schema_for(convex / "users.ts")
    component = workspace.schema_for(convex / "betterAuth" / "adapter.ts")
    assert list(app.tables) == ["users"] and app.component is None
    assert sorted(component.tables) == ["session", "user"] and component.component == "betterAuth"
    assert workspace.schema_for(convex / "betterAuth" / "schema.ts") is component
    assert [list(s.tables) for s in workspace.app_schemas()] == [["users"]]
    assert workspace.is_schema_file(convex / "schema.ts")
    assert workspace.is_schema_file(convex / "betterAuth" / "schema.ts")
    assert not workspace.is_schema_file(convex / "users.ts")
    assert workspace.component_of(convex / "betterAuth" / "adapter.ts") == convex / "betterAuth"
    assert workspace.component_of(convex / "users.ts") is None


def test_schema_edits_invalidate_the_cached_schema(tmp_path):
    workspace = _project(tmp_path, {"convex/schema.ts": APP_SCHEMA})
    path = workspace.roots[0].schema_path
    assert list(workspace.schema_for(path).tables["users"].indexes) == ["by_name"]
    edited = APP_SCHEMA.replace('.index("by_name", ["name"])', '.index("by_email", ["email"])')
    workspace.set_source(SourceFile(path, edited))
    assert list(workspace.schema_for(path).tables["users"].indexes) == ["by_email"]
    workspace.forget(path)
    assert list(workspace.schema_for(path).tables["users"].indexes) == ["by_name"]


BAD_INDEX_QUERY = {
    "users.ts": """
    export const list = query({
      args: {},
      handler: async (ctx) => await ctx.db.query("users").withIndex("by_nope", (q) => q.eq("name", "a")).first(),
    });
    """
}


def test_schema_dependent_rules_fire_with_a_good_schema(tmp_path):
    project = write_project(tmp_path / "app", BAD_INDEX_QUERY, schema=APP_SCHEMA)
    _, result = check_project(project, select=["unknown-index"])
    assert [f.rule for f in result.findings] == ["unknown-index"]


@pytest.mark.parametrize(
    "schema",
    [
        None,  # missing
        APP_SCHEMA.replace('["name"])', '["name"]'),  # syntax error
        "export default defineSchema(tablesFromElsewhere);\n",  # unresolvable
        APP_SCHEMA.replace('.index("by_name", ["name"])', '.index(dynamicName, ["name"])'),
        b"\xff\xfe not utf-8",
    ],
    ids=["missing", "syntax-error", "unresolvable", "dynamic-index", "not-utf8"],
)
def test_schema_dependent_rules_stay_silent_when_the_schema_is_unknown(tmp_path, schema):
    project = write_project(
        tmp_path / "app", BAD_INDEX_QUERY, schema=schema if isinstance(schema, str) else None
    )
    if isinstance(schema, bytes):
        (project / "convex" / "schema.ts").write_bytes(schema)
    _workspace, result = check_project(project, select=["unknown-index"])
    assert result.findings == []
    assert not result.failures
    if isinstance(schema, bytes):
        assert any("not UTF-8" in p.message for p in result.problems)
