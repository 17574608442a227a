"""Finds `ctx.runQuery/runMutation/runAction` made once per item (N+1 function calls).

## What it does
Reports `ctx.runQuery`, `ctx.runMutation` and `ctx.runAction` calls inside a loop or a
per-item callback, directly or through helpers the call graph can resolve (reported at
the helper call, with the `ctx.run*` inside the helper as related information).

## Why is this bad?
In an action every `ctx.run*` is a separate function execution: its own transaction,
its own network round trip, its own read set. An alias lookup plus an alias store per
mention turns 30 mentions into 60 function runs. One internal function that takes an
array does the same work in one transaction.

## Example
```ts
for (const mention of mentions) {
  const player = await ctx.runQuery(internal.players.byAlias, { alias: mention.text });
  await ctx.runMutation(internal.insights.link, { mentionId: mention.id, playerId: player?._id });
}
```

Use instead:
```ts
const players = await ctx.runQuery(internal.players.byAliases, {
  aliases: mentions.map((m) => m.text),
});
await ctx.runMutation(internal.insights.linkMany, {
  links: mentions.map((m, i) => ({ mentionId: m.id, playerId: players[i]?._id })),
});
```

## Fix safety
No fix: the message names the batch internal function to write (it does not exist yet).

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.rules.support.iteration import costly_loops, line_of, loop_phrase
from convex_xray.rules.support.words import is_plural, last_word, plural

META = RuleMeta(
    code="CX102",
    slug="n-plus-one-call",
    severity=Severity.WARNING,
    summary="`ctx.runQuery/runMutation/runAction` per iteration, also through helpers",
    fix=FixAvailability.SOMETIMES,
)


def _batch_name(ref: str | None) -> str | None:
    if not ref:
        return None
    compact = "".join(ref.split())
    if compact.startswith("components."):
        return None
    head, _, last = compact.rpartition(".")
    if not head or not last.isidentifier():
        return None
    verbs = ("get", "find", "load", "lookup", "store", "save", "apply", "update", "create", "delete", "link")
    if last.startswith(verbs) and last_word(last) != last:
        # `getPlayer` -> `getPlayers`; already plural (`findSimilarPlayers`): a batch of those.
        word = last_word(last)
        if is_plural(word):
            return f"{head}.{last}Batch"
        return f"{head}.{last[: -len(word)]}{plural(word)}"
    return f"{head}.{last}Many"


def _component_client_calls(ctx: RuleContext) -> Iterator[Finding]:
    """`aggregate.count(ctx, ...)` per item: every method of a component client runs a query
    or mutation inside the component, so it is an N+1 call like `ctx.runQuery`."""
    assert ctx.model is not None
    for call in ctx.model.client_calls:
        loops = costly_loops(call)
        if not loops:
            continue
        component = ctx.workspace.component_client(ctx.model, call.client)
        if component is None:
            continue
        innermost = loops[-1]
        message = (
            f"`{call.client}.{call.method}(ctx, …)` calls into the `{component}` component once per "
            f"{loop_phrase(ctx.source, loops)}: each call runs a function inside the component "
            "(20 items = 20 runs). Use the client's batch method if it has one, or pass the whole "
            "list to one call."
        )
        related = [
            Related(Span(ctx.path, innermost.header_start, innermost.header_end), f"the loop (line {line_of(ctx.source, innermost.header_start)})")
        ]
        yield ctx.finding(META, call.node, message, related=related)


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    for call in ctx.model.run_calls:
        loops = costly_loops(call)
        if not loops:
            continue
        innermost = loops[-1]
        ref = " ".join((call.ref or "…").split())
        batch = _batch_name(call.ref)
        instead = f"write `{batch}` taking an array and call it once" if batch else "pass the whole list to one internal function instead"
        message = (
            f"`ctx.{call.method}({ref})` runs once per {loop_phrase(ctx.source, loops)}: every call is "
            f"its own function run and transaction (20 items = 20 runs). Outside the loop, {instead}."
        )
        related = [
            Related(Span(ctx.path, innermost.header_start, innermost.header_end), f"the loop (line {line_of(ctx.source, innermost.header_start)})")
        ]
        yield ctx.finding(META, call.node, message, related=related)
    yield from _component_client_calls(ctx)
    for helper in ctx.model.helper_calls:
        loops = costly_loops(helper)
        if not loops:
            continue
        resolved = ctx.workspace.resolve_call(ctx.model, helper)
        if resolved is None:
            continue
        summary = ctx.workspace.summary(*resolved)
        if not summary.calls_functions or summary.first_call is None:
            continue
        innermost = loops[-1]
        message = (
            f"`{helper.callee}(…)` calls {summary.first_call_text} ({summary.run_calls} function run"
            f"{'s' if summary.run_calls != 1 else ''} per call) once per {loop_phrase(ctx.source, loops)}. "
            "Batch the work into one internal function that takes an array."
        )
        related = [
            Related(summary.first_call, f"`{helper.callee}` calls {summary.first_call_text} here"),
            Related(Span(ctx.path, innermost.header_start, innermost.header_end), f"the loop (line {line_of(ctx.source, innermost.header_start)})"),
        ]
        yield ctx.finding(META, helper.node, message, related=related)
