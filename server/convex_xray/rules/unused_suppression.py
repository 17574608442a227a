"""Finds disable comments that suppress nothing.

## What it does
Reports a `// convex-xray-disable-next-line <rule>` (or `-disable-line`, or file-wide
`// convex-xray-disable <rule>`) comment when the rules it names reported nothing there,
and a rule name inside such a comment that silenced nothing while the others did. A name
that is no rule at all (a typo) is reported too.

It runs after every other rule, so it knows which comments were used. Rules left out by
`--select` still run, silently, so `--select unused-suppression` judges every comment.
A comment naming a rule that did not run (in `ignore`, turned `off`, or crashed on the
file) is left alone, and a blanket comment (no rule named) is judged only when every rule
ran. ESLint's own `eslint-disable` comments belong to ESLint and are never reported.

## Why is this bad?
A stale disable comment hides the next real problem on that line: once the code is fixed
the comment stays, and when the anti-pattern comes back nobody hears about it. Comments
that name a rule that does not exist never worked in the first place.

## Example
```ts
export const list = query({
  handler: async (ctx) => {
    // convex-xray-disable-next-line unbounded-collect -- small table
    return await ctx.db.query("settings").take(10);
  },
});
```

Use instead:
```ts
export const list = query({
  handler: async (ctx) => {
    return await ctx.db.query("settings").take(10);
  },
});
```

## Fix safety
Safe: it deletes the comment (the whole line when the comment is alone on it), or only
the unused names from its rule list. Comments are never code. A `/* ... */` comment that
spans several lines gets no fix.

## Options
None. It is a hint (shown faded in editors) and does not fail CI unless `fail-on = "hint"`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Severity, Span
from convex_xray.engine.registry import RuleMeta, all_rules, register, resolve_rule
from convex_xray.engine.source import SourceFile
from convex_xray.engine.suppressions import Suppression

META = RuleMeta(
    code="CX501",
    slug="unused-suppression",
    severity=Severity.HINT,
    summary="disable comment that suppresses nothing",
    fix=FixAvailability.SOMETIMES,
    scope="post",
    unnecessary=True,
)

_KIND = re.compile(r"convex-xray-disable(?:-next-line|-line)?\b")


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.suppressions is None or ctx.model is None:
        return
    every_rule = {r.meta.slug for r in all_rules() if r.meta.scope != "post"}
    for item in ctx.suppressions.items:
        comment = ctx.source.data[item.start : item.end].decode("utf-8", "replace")
        if "eslint-disable" in comment:
            continue  # ESLint's directive: its other rules are none of our business
        if item.rules is None:  # blanket: silences every rule
            if not item.used and every_rule <= ctx.active_rules:
                yield _whole(ctx, item, comment, _message(item, [], []))
            continue
        if META.slug in item.rules:
            continue  # it may silence this very rule; judging it would be circular
        unknown = sorted(n for n in item.rules if resolve_rule(n) is None)
        known = item.rules - set(unknown)
        if known - ctx.active_rules:
            # Some named rule did not run here (--select, ignore, off, crashed): the comment
            # may still be needed; only names that are no rule at all are certainly useless.
            if unknown:
                yield from _names(ctx, item, comment, unknown, unknown)
            continue
        idle = sorted(known - item.used_rules)
        if not item.used:
            yield _whole(ctx, item, comment, _message(item, idle, unknown))
        elif idle or unknown:
            yield from _names(ctx, item, comment, idle + unknown, unknown)


def _message(item: Suppression, idle: list[str], unknown: list[str]) -> str:
    where = "in this file" if item.line is None else f"on line {item.line + 1}"
    if not idle and not unknown:
        return f"Unused disable comment: no rule reported anything {where}."
    parts = []
    if idle:
        names = ", ".join(f"`{n}`" for n in idle)
        parts.append(f"{names} reported nothing {where}")
    if unknown:
        names = ", ".join(f"`{n}`" for n in unknown)
        parts.append(f"{names} {'is' if len(unknown) == 1 else 'are'} not a convex-xray rule")
    return "Unused disable comment: " + "; ".join(parts) + "."


def _whole(ctx: RuleContext, item: Suppression, comment: str, message: str) -> Finding:
    end = _comment_end(comment, item)
    fix = None
    if end is not None:
        fix = Fix.safe(
            "Remove the unused disable comment", [_delete_comment(ctx.source, item.start, end)]
        )
    return ctx.finding(
        META, Span(ctx.path, item.start, end if end is not None else item.end), message, fix=fix
    )


def _names(
    ctx: RuleContext, item: Suppression, comment: str, drop: list[str], unknown: list[str]
) -> Iterator[Finding]:
    """Report the names in the rule list that silenced nothing, and drop them in one fix."""
    located = _rule_list(comment)
    if located is None:
        return
    offset, entries = located
    kept = [text for text, _, _ in entries if _as_slug(text) not in drop]
    fix = None
    if kept and len(kept) < len(entries):
        first, last = entries[0], entries[-1]
        start = item.start + len(comment[: offset + first[1]].encode("utf-8"))
        end = item.start + len(comment[: offset + last[2]].encode("utf-8"))
        fix = Fix.safe(
            "Remove the unused rule names", [Edit(ctx.path, start, end, ", ".join(kept))]
        )
    for text, begin, finish in entries:
        slug = _as_slug(text)
        if slug not in drop:
            continue
        start = item.start + len(comment[: offset + begin].encode("utf-8"))
        end = item.start + len(comment[: offset + finish].encode("utf-8"))
        where = "in this file" if item.line is None else f"on line {item.line + 1}"
        why = "is not a convex-xray rule" if slug in unknown else f"reported nothing {where}"
        yield ctx.finding(
            META,
            Span(ctx.path, start, end),
            f"`{text}` in this disable comment {why}; the comment's other rules are still used.",
            fix=fix,
        )


def _as_slug(name: str) -> str:
    rule = resolve_rule(name)
    return rule.meta.slug if rule is not None else name


def _rule_list(comment: str) -> tuple[int, list[tuple[str, int, int]]] | None:
    """The comma-separated rule names after the directive: (offset in the comment,
    [(name, start, end)] relative to that offset). None unless each entry is one word."""
    match = _KIND.search(comment)
    if match is None:
        return None
    rest = comment[match.end() :]
    stop = len(rest)
    for marker in ("--", "*/"):
        at = rest.find(marker)
        if at != -1:
            stop = min(stop, at)
    body = rest[:stop]
    entries: list[tuple[str, int, int]] = []
    position = 0
    for part in body.split(","):
        word = part.strip()
        if word:
            if len(word.split()) != 1:
                return None
            begin = position + part.index(word)
            entries.append((word, begin, begin + len(word)))
        position += len(part) + 1
    return (match.end(), entries) if entries else None


def _comment_end(comment: str, item: Suppression) -> int | None:
    """Byte offset where the comment ends: the line's end for `//` (without a `\\r`), just
    after `*/` for a block comment, None when the block comment goes on to other lines."""
    if comment.startswith("/*"):
        close = comment.find("*/")
        if close == -1:
            return None
        return item.start + len(comment[: close + 2].encode("utf-8"))
    return item.start + len(comment.rstrip("\r").encode("utf-8"))


def _delete_comment(source: SourceFile, start: int, end: int) -> Edit:
    data = source.data
    lines = source.lines
    line = lines.line_of(start)
    line_start = lines.line_starts[line]
    line_end = lines.line_end(line)
    before = data[line_start:start]
    after = data[end:line_end]
    if not before.strip() and not after.strip():
        # Alone on its line: remove the line with its line break.
        return Edit.delete(source.path, line_start, lines.line_end(line, include_break=True))
    if not after.strip():
        # Trailing comment after code: remove it and the spaces before it.
        return Edit.delete(source.path, start - (len(before) - len(before.rstrip())), end)
    # Code follows (a block comment mid-line): remove it and the spaces after it.
    return Edit.delete(source.path, start, end + (len(after) - len(after.lstrip())))
