"""Whether a read's table is outside the schema that governs its file."""

from __future__ import annotations

from convex_xray.engine.context import RuleContext


def outside_schema(ctx: RuleContext, table: str | None) -> bool:
    """True only when the schema is known and complete and has no such table (a component's
    table reached through `ctx.db as any`, a typo): then the read says nothing about the
    app's tables, and only `unknown-table` speaks about it. System tables (`_storage`...)
    are never in a schema."""
    if table is None or table.startswith("_"):
        return False
    schema = ctx.schema
    return schema is not None and schema.knows_table_absent(table)
