"""Reports a file that does not parse, at its first syntax error.

## What it does
Reports the first place where the TypeScript / JavaScript parser gives up (an unexpected
token or a missing one) in a Convex source file. Only source files are parsed (`.ts`,
`.tsx`, `.js`, `.jsx`, `.mts`, `.mjs`, `.cts`, `.cjs`; not `.d.ts`, JSON or Markdown).

## Why is this bad?
The file does not compile, so it cannot be deployed; and what the other rules say about it
comes from the parser's best guess around the damage: reads and loops near the error may
be missed or misplaced. Without this report a broken file would be checked silently. No
fix is offered inside code that does not parse.

## Example
```ts
export const list = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("players").collect(;
  },
});
```

Use instead:
```ts
export const list = query({
  args: {},
  handler: async (ctx) => {
    return await ctx.db.query("players").take(50);
  },
});
```

## Fix safety
No automatic fix: only the author knows what was meant.

## Options
None. Always an error, and disable comments do not silence it (`ignore` in the
configuration still turns the rule off).
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Finding, FixAvailability, Severity, Span
from convex_xray.engine.registry import RuleMeta, register

META = RuleMeta(
    code="CX001",
    slug="syntax-error",
    severity=Severity.ERROR,
    summary="a source file that does not parse (first syntax error)",
    fix=FixAvailability.NEVER,
    suppressible=False,
)

DOC_SCHEMA = """
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  players: defineTable({ name: v.string() }),
});
"""

_SHOWN = 30  # characters of the unexpected text quoted in the message


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    source = ctx.model.source
    node = source.first_error()
    if node is None:
        return
    if node.is_missing:
        message = f"Syntax error: missing `{node.type}` here."
        span = Span(ctx.path, node.start_byte, node.end_byte)
    else:
        text = " ".join(source.node_text(node).split())
        shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
        message = f"Syntax error: unexpected `{shown}`." if shown else "Syntax error."
        # An ERROR node can swallow the rest of the file: underline its first line only.
        line_end = source.lines.line_end(source.lines.line_of(node.start_byte))
        span = Span(ctx.path, node.start_byte, max(node.start_byte, min(node.end_byte, line_end)))
    yield ctx.finding(
        META,
        span,
        f"{message} The file does not compile; findings near the error come from the parser's "
        "recovery and may be missing, and no fix is offered in the damaged code.",
    )
