"""Finds `ctx.runQuery/runMutation/runAction` made once per item (N+1 function calls).

## What it does
Reports `ctx.runQuery`, `ctx.runMutation` and `ctx.runAction` calls inside a loop or a
per-item callback, directly or through helpers the call graph can resolve (reported at
the helper call, with the `ctx.run*` inside the helper as related information).

One finding per loop, with every per-item call as a related location and the loop's
total calls (sized as in n-plus-one-read) as its cost.

## Why is this bad?
In an action every `ctx.run*` is a separate function execution: its own transaction,
its own network round trip, its own read set. In a query or mutation the called function
runs inside the caller's transaction: the cost is function-call overhead, so there it is
info unless the loop grows with a tenant or a table. An alias lookup plus an alias store per
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

Workflow steps (`step.runAction/runQuery/runMutation` in a `@convex-dev/workflow`
handler, `workflow.define({ handler: async (step, args) => … })`) are described for what
they are: each step is a journaled function run, and the handler is replayed from its
journal after every step, so N steps in a loop cost N runs, N journal entries and N
replays of a growing journal. That is the workflow's design (each step retried and
recorded on its own), so it is always info, with the advice to pass the list to one step
when it can be long.

## Fix safety
No fix: the message names the batch internal function to write (it does not exist yet).

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.cost import Cost, Growth, is_action_context, loop_cost, nested_multiplies
from convex_xray.engine.guards import condition_over, used_values
from convex_xray.engine.findings import Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import Event, Loop, RunCall
from convex_xray.engine.syntax import function_params, param_pattern, text_of
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.rules.support.iteration import costly_loops, line_of, loop_phrase, severity_of
from convex_xray.rules.support.words import is_plural, last_word, plural

META = RuleMeta(
    code="CX102",
    slug="n-plus-one-call",
    severity=Severity.WARNING,
    summary="`ctx.runQuery/runMutation/runAction` once per item of a loop, also through helpers",
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
        if word == "One":  # `applyOne` -> `applyMany`, not `applyOnes`
            return f"{head}.{last[: -len(word)]}Many"
        if is_plural(word):
            return f"{head}.{last}Batch"
        return f"{head}.{last[: -len(word)]}{plural(word)}"
    return f"{head}.{last}Many"


# Marks a component client call in a loop group (where a `ctx.run*` keeps its reference).
COMPONENT = "<component>"


def _context_phrase(call_in_action: bool, known: bool = True) -> str:
    if call_in_action:
        return (
            "in an action every call is a separate function run with its own transaction and round trip"
        )
    if not known:
        # A helper whose `ctx` says nothing about its callers: both cases are true somewhere.
        return (
            "called from an action, every call is a separate function run with its own transaction "
            "and round trip; from a query or mutation, it shares the caller's transaction and costs "
            "function-call overhead"
        )
    return (
        "in a query or mutation the called function shares the caller's transaction, so each "
        "call costs function-call overhead (argument validation, a nested run), not a new transaction"
    )


_FUNCTION_TYPES = frozenset({"arrow_function", "function_expression", "method_definition"})


def workflow_step(ctx: RuleContext, event: Event) -> str | None:
    """The step parameter's name when `event` is `step.run*(…)` directly in a workflow
    handler: `<manager>.define({ handler: async (step, args) => … })` in a file that uses
    `@convex-dev/workflow` (or a manager whose name or module says workflow)."""
    if not isinstance(event, RunCall) or ctx.model is None:
        return None
    callee = event.node.child_by_field_name("function")
    receiver = text_of(callee.child_by_field_name("object")) if callee is not None else ""
    # The function whose first parameter is the receiver: the handler, through per-item
    # callbacks (`ids.map((id) => step.runMutation(…))`) that do not rebind the name.
    node = event.node.parent
    while node is not None:
        if node.type == "function_declaration":
            return None
        if node.type in _FUNCTION_TYPES:
            names = [text_of(param_pattern(p)) for p in function_params(node)]
            if names and names[0] == receiver:
                break
            if receiver in names:
                return None
        node = node.parent
    if node is None:
        return None
    # The handler: a `handler:` value (or method) of the object given to `X.define(...)`.
    pair = node if node.type == "method_definition" else node.parent
    if pair is None or pair.type not in ("pair", "method_definition"):
        return None
    key = pair.child_by_field_name("key") if pair.type == "pair" else pair.child_by_field_name("name")
    if text_of(key) != "handler":
        return None
    obj = pair.parent
    arguments = obj.parent if obj is not None else None
    call = arguments.parent if arguments is not None and arguments.type == "arguments" else None
    define = call.child_by_field_name("function") if call is not None else None
    if define is None or define.type != "member_expression" or text_of(define.child_by_field_name("property")) != "define":
        return None
    manager = text_of(define.child_by_field_name("object"))
    binding = ctx.model.imports.get(manager)
    uses_workflow = any(b.module.startswith("@convex-dev/workflow") for b in ctx.model.imports.values())
    if uses_workflow or "workflow" in manager.lower() or (binding is not None and "workflow" in binding.module.lower()):
        return receiver
    return None


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    # innermost loop -> [(node, loops, description, related, calls per item, batch ref)]
    groups: dict[int, list[tuple[Event, tuple[Loop, ...], str, list[Related], int, str | None]]] = {}
    for call in ctx.model.run_calls:
        loops = costly_loops(call)
        if not loops:
            continue
        ref = " ".join((call.ref or "…").split())
        receiver = workflow_step(ctx, call) or "ctx"
        groups.setdefault(loops[-1].node.id, []).append((call, loops, f"`{receiver}.{call.method}({ref})`", [], 1, call.ref))
    # `aggregate.count(ctx, ...)` per item: every method of a component client runs a query or
    # mutation inside the component, so it is an N+1 call like `ctx.runQuery`.
    for client_call in ctx.model.client_calls:
        loops = costly_loops(client_call)
        if not loops:
            continue
        component = ctx.workspace.component_client(ctx.model, client_call.client)
        if component is None:
            continue
        described = f"`{client_call.client}.{client_call.method}(ctx, …)` (the `{component}` component)"
        groups.setdefault(loops[-1].node.id, []).append((client_call, loops, described, [], 1, COMPONENT))
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
        if summary.reads_db and summary.first_read is not None:
            # The helper also reads the database: n-plus-one-read reports this loop and names
            # the calls too (one problem, one diagnostic).
            continue
        related = [Related(summary.first_call, f"`{helper.callee}` calls {summary.first_call_text} here")]
        described = f"`{helper.callee}(…)` (calls {summary.first_call_text}, {summary.run_calls} per call)"
        groups.setdefault(loops[-1].node.id, []).append((helper, loops, described, related, max(1, summary.run_calls), None))
    for group in groups.values():
        yield _loop_finding(ctx, sorted(group, key=lambda item: item[0].start))


def _loop_finding(ctx: RuleContext, group: list[tuple[Event, tuple[Loop, ...], str, list[Related], int, str | None]]) -> Finding:
    assert ctx.model is not None
    first, loops, _, _, _, _ = group[0]
    innermost = loops[-1]
    count = sum(item[4] for item in group)
    sequential = (innermost.is_statement or not innermost.concurrent) and any(item[0].awaited for item in group)
    conditions = [(item[4], condition_over(item[0].node, innermost.node, used_values(item[0]))) for item in group]
    cost = loop_cost(
        loops, count, ctx.model, first.function, ctx.cost, sequential=sequential, unit="function calls",
        conditional=tuple((weight, c) for weight, c in conditions if c is not None),
        schema=ctx.schema, trigger=ctx.trigger(first.function),
    )
    in_action = is_action_context(first.function)
    names = [item[2] for item in group]
    if all(workflow_step(ctx, item[0]) is not None for item in group):
        return _workflow_finding(ctx, group, cost, sequential)
    what = names[0] if len(names) == 1 else ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    mode = "sequentially" if sequential else "concurrently" if innermost.in_promise_all else "once each"
    message = (
        f"{what} {'runs' if len(names) == 1 else 'run'} once per {loop_phrase(ctx.source, loops)}, {mode}: "
        f"{cost.explain()}; {_context_phrase(in_action, known=in_action or cost.context != 'helper')}. "
    )
    related: list[Related] = []
    for event, _, described, extra, _, _ in group:
        related.extend(extra)
        if event is not first:
            related.append(Related(Span(ctx.path, event.start, event.end), f"also once per item: {described}"))
    related.append(
        Related(Span(ctx.path, innermost.header_start, innermost.header_end), f"the loop (line {line_of(ctx.source, innermost.header_start)})")
    )
    batch = _batch_name(group[0][5]) if len(group) == 1 else None
    message += (
        "Call the component once with the whole list (its batch method, if it has one)."
        if all(item[5] == COMPONENT for item in group)
        else f"Outside the loop, write `{batch}` taking an array and call it once."
        if batch and in_action
        else "Pass the whole list to one internal function instead."
        if in_action
        else "Call a plain helper function with `ctx` instead, or pass the whole list to one function."
    )
    severity = severity_of(cost, ctx.cost)
    if not in_action and not (cost.growth >= Growth.PER_PARENT_LOG or nested_multiplies(cost)):
        # Inside one transaction the calls add overhead, not round trips or transactions.
        severity = Severity.INFO
    return ctx.finding(META, first.node, message, severity=severity, related=related, cost=cost)


def _workflow_finding(
    ctx: RuleContext,
    group: list[tuple[Event, tuple[Loop, ...], str, list[Related], int, str | None]],
    cost: Cost,
    sequential: bool,
) -> Finding:
    """Per-item workflow steps: real cost, but journaled steps, not an action's N+1."""
    first, loops, _, _, _, _ = group[0]
    innermost = loops[-1]
    names = [item[2] for item in group]
    what = names[0] if len(names) == 1 else ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    mode = "one after another" if sequential else "in parallel" if innermost.in_promise_all else "once each"
    message = (
        f"{what} {'is a workflow step' if len(names) == 1 else 'are workflow steps'} taken once per "
        f"{loop_phrase(ctx.source, loops)}, {mode}: {cost.explain()}. Each step is a journaled function "
        "run (its own transaction, retried and recorded on its own), and the workflow replays its journal "
        "after every step, so the journal and the replays grow with the list. That is fine for a handful of "
        "items; when the list can be long, pass it to one step that handles the batch (or hand the items "
        "to a workpool)."
    )
    related = [item_related for item in group for item_related in item[3]]
    related += [
        Related(Span(ctx.path, event.start, event.end), f"also a step per item: {described}")
        for event, _, described, _, _, _ in group
        if event is not first
    ]
    related.append(
        Related(Span(ctx.path, innermost.header_start, innermost.header_end), f"the loop (line {line_of(ctx.source, innermost.header_start)})")
    )
    return ctx.finding(META, first.node, message, severity=Severity.INFO, related=related, cost=cost)
