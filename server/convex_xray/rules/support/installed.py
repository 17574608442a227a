"""What the fixes say when a package the app's types depend on is not installed (see
`convex_xray.engine.packages`)."""

from __future__ import annotations

from convex_xray.engine.packages import uninstalled_spreads
from convex_xray.engine.schema import Schema


def one_field_ranges_note(schema: Schema | None) -> str:
    """Why a fix writing a range of more than one condition is not offered for a query of
    `schema`'s data model ("" when it can be)."""
    missing = uninstalled_spreads(schema)
    if not missing:
        return ""
    names = ", ".join(f"`{name}`" for name in missing)
    verb = "is" if len(missing) == 1 else "are"
    return (
        f" No fix: {names}, whose tables the schema spreads, {verb} not installed, so TypeScript types every"
        " index range of this data model with one field and a range of more than one would not type-check;"
        " install it to get the fix."
    )


__all__ = ["one_field_ranges_note"]
