"""Whether a helper called in a loop only reads, so its calls can be made once per key before the loop.

A helper (`getPersonWithUser(ctx, id)`) may be prefetched like a `db.get` when calling it
earlier, once per distinct key instead of once per item, cannot change what the function does:
nothing it reaches writes (`db.insert/patch/replace/delete`), runs another Convex function
(`runQuery/runMutation/runAction`), schedules or fetches, and every helper it calls is found
and only reads too. Its result for a key is then what it would have returned in the loop,
given the same database (Convex fixes `Date.now()` and seeds `Math.random()` for the whole
execution of a query or mutation).

What may still differ is said, not hidden: a helper that throws may throw for another item
first (the calls now run together), and one that logs logs once per key, before the loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convex_xray.engine.memo import MemoKey
from convex_xray.engine.model import FileModel, FunctionModel, HelperCall
from convex_xray.engine.syntax import text_of

if TYPE_CHECKING:
    from convex_xray.engine.context import RuleContext

_WRITES = re.compile(
    r"\.\s*(?:insert|patch|replace|delete)\s*\(|\brun(?:Query|Mutation|Action)\s*\(|\bscheduler\b"
)
_THROWS = re.compile(r"\bthrow\b")
_LOGS = re.compile(r"\bconsole\s*\.")
_MAX_HELPERS = 64  # a helper reaching more than this is not worth proving read-only


@dataclass(frozen=True)
class HelperEffects:
    refusal: str | None  # why its calls cannot be moved (it may write, or we cannot tell)
    differences: tuple[str, ...] = ()  # what changes when they are (the fix is then unsafe)


_EFFECTS: MemoKey[HelperEffects] = MemoKey("what calling a helper may do besides reading")


def helper_effects(ctx: RuleContext, call: HelperCall) -> HelperEffects:
    """What calling `call`'s helper may do besides reading the database."""
    model = ctx.model
    assert model is not None
    cached = ctx.memo.get(_EFFECTS, call.node.id)
    if cached is not None:
        return cached
    return ctx.memo.put(_EFFECTS, _effects(ctx, model, call), call.node.id)


def _effects(ctx: RuleContext, model: FileModel, call: HelperCall) -> HelperEffects:
    if call.factory or call.via_reference:
        return HelperEffects("it is called through an object or passed by reference")
    resolved = ctx.workspace.resolve_call(model, call)
    if resolved is None:
        return HelperEffects("it is not found in the workspace")
    throws = logs = False
    seen: set[int] = set()
    work: list[tuple[FileModel, FunctionModel]] = [resolved]
    while work:
        owner, function = work.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        if len(seen) > _MAX_HELPERS:
            return HelperEffects("it reaches too many helpers to prove it only reads")
        if function.run_calls or function.schedules or function.fetches:
            return HelperEffects("it runs other functions, schedules or fetches")
        text = text_of(function.node)
        if _WRITES.search(text):
            return HelperEffects("it may write")
        throws = throws or bool(_THROWS.search(text))
        logs = logs or bool(_LOGS.search(text))
        for inner in function.helper_calls:
            found = ctx.workspace.resolve_call(owner, inner)
            if found is None:
                return HelperEffects(f"it calls `{inner.callee}`, which is not found")
            work.append(found)
    differences = []
    if throws:
        differences.append("when several items fail, another item's error may be the one thrown")
    if logs:
        differences.append("its logs come once per key, before the loop")
    return HelperEffects(None, tuple(differences))
