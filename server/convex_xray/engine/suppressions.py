"""Disable comments: `// convex-xray-disable-next-line slug[, slug] -- reason`, file-wide
`// convex-xray-disable slug`, and the ESLint plugin's equivalents for matching rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from tree_sitter import Node

from convex_xray.engine.findings import Edit, Finding
from convex_xray.engine.registry import resolve_rule
from convex_xray.engine.source import SourceFile

# ESLint rule names from @convex-dev/eslint-plugin that mean the same thing as ours.
ESLINT_EQUIVALENTS = {
    "@convex-dev/no-collect-in-query": "unbounded-collect",
    "@convex-dev/no-filter-in-query": "filter-on-query",
}

_DIRECTIVE = re.compile(
    r"(?://|/\*)\s*(?P<kind>convex-xray-disable-next-line|convex-xray-disable-line|convex-xray-disable|"
    r"eslint-disable-next-line|eslint-disable-line)\b(?P<rest>[^\n]*)"
)


@dataclass
class Suppression:
    line: int | None  # 0-based line it silences; None = whole file
    rules: frozenset[str] | None  # None = every rule
    comment_line: int
    start: int  # byte range of the comment (for removing unused ones)
    end: int
    used: bool = False
    used_rules: set[str] = field(default_factory=set)  # rules it actually silenced

    def matches(self, finding_line: int, rule: str, also: Iterable[int] = ()) -> bool:
        if self.line is not None and self.line != finding_line and self.line not in also:
            return False
        return self.rules is None or rule in self.rules


@dataclass
class Suppressions:
    items: list[Suppression] = field(default_factory=list)

    def silences(self, finding: Finding, line: int, also: Iterable[int] = ()) -> bool:
        """Whether a comment silences `finding` on `line` (or on one of the `also` lines: see
        `anchor_lines`)."""
        silenced = False
        for item in self.items:
            if item.matches(line, finding.rule, also):
                item.used = True
                item.used_rules.add(finding.rule)
                silenced = True
        return silenced


_CHAIN_TYPES = frozenset(
    {
        "member_expression",
        "call_expression",
        "await_expression",
        "parenthesized_expression",
        "non_null_expression",
        "as_expression",
        "satisfies_expression",
    }
)


def _is_statement(node: Node) -> bool:
    return node.type.endswith(("_statement", "_declaration"))


def anchor_lines(source: SourceFile, offset: int) -> tuple[int, ...]:
    """Other 0-based lines a line comment may target to silence a finding at `offset`: where
    its expression chain starts (where ESLint reports a call: `await ctx.db` on one line,
    `.collect()` three lines down) and where the innermost statement holding it starts
    (the comment sits above the statement). Never further out than that statement."""
    node: Node | None = source.root.descendant_for_byte_range(offset, offset)
    if node is None:
        return ()
    lines = source.lines
    chain_start = node
    while chain_start.parent is not None and chain_start.parent.type in _CHAIN_TYPES:
        chain_start = chain_start.parent
    statement: Node | None = node
    while statement is not None and not _is_statement(statement):
        statement = statement.parent
    found = {lines.line_of(chain_start.start_byte)}
    if statement is not None and statement.type != "program":
        found.add(lines.line_of(statement.start_byte))
    return tuple(sorted(found))


def _rule_names(rest: str, eslint: bool) -> frozenset[str] | None:
    body = rest.split("--", 1)[0].replace("*/", " ")
    names = [n.strip() for n in body.split(",") if n.strip()]
    names = [n.split()[0] for n in names]
    if eslint:
        mapped = {ESLINT_EQUIVALENTS[n] for n in names if n in ESLINT_EQUIVALENTS}
        return frozenset(mapped) if mapped else frozenset({"<eslint-only>"})
    return frozenset(_slug(n) for n in names) if names else None


def _slug(name: str) -> str:
    """A rule code (`CX201`) names the same rule as its slug; anything else stays as written."""

    rule = resolve_rule(name)
    return rule.meta.slug if rule is not None else name


def parse_suppressions(source: SourceFile) -> Suppressions:
    result = Suppressions()
    if b"-disable" not in source.data:
        return result
    lines = source.lines
    for match in _DIRECTIVE.finditer(source.text):
        kind = match.group("kind")
        eslint = kind.startswith("eslint")
        rules = _rule_names(match.group("rest"), eslint)
        if eslint and rules is None:
            continue  # a blanket eslint-disable is ESLint's business, not ours
        start = len(source.text[: match.start()].encode("utf-8"))
        end = start + len(match.group(0).encode("utf-8"))
        comment_line = lines.line_of(start)
        if kind.endswith("next-line"):
            target: int | None = comment_line + 1
        elif kind.endswith("line"):
            target = comment_line
        else:
            target = None
        result.items.append(Suppression(target, rules, comment_line, start, end))
    return result


REASON_PLACEHOLDER = "<reason>"

_DISABLE_LINE = re.compile(
    r"^(?P<head>\s*//\s*convex-xray-disable-next-line\s+)(?P<names>[^\n]*?)(?P<tail>\s*(?:--.*)?)$"
)


def disable_comment_edit(source: SourceFile, offset: int, slug: str) -> Edit:
    """The suppression fix, for every rule: `// convex-xray-disable-next-line <slug> --
    <reason>` above the line of `offset` with that line's indentation (or the slug added
    to such a comment already there). The reason is a placeholder for the author to fill."""
    lines = source.lines
    line = lines.line_of(offset)
    start = lines.line_starts[line]
    indent = source.line_indent(offset)
    if line > 0:
        previous_start = lines.line_starts[line - 1]
        previous = source.slice(previous_start, lines.line_end(line - 1))
        match = _DISABLE_LINE.match(previous)
        if match:
            names = [n.strip() for n in match.group("names").split(",") if n.strip()]
            at = previous_start + len((match.group("head") + match.group("names")).encode("utf-8"))
            if slug in names:
                return Edit.insert(source.path, at, "")
            return Edit.insert(source.path, at, f", {slug}" if names else slug)
    end = lines.line_end(line)
    newline = source.data[end : lines.line_end(line, include_break=True)].decode() or source.style.newline
    return Edit.insert(
        source.path,
        start,
        f"{indent}// convex-xray-disable-next-line {slug} -- {REASON_PLACEHOLDER}{newline}",
    )
