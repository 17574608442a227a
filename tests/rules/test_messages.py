"""Every rule's words, rendered for real findings (all rule fixtures and the example app):
messages, related-location notes, fix titles and the CLI's cost line are checked for the
mechanical mistakes a reader trips over: "1 reads" / "3 read", a doubled word, a Markdown
code span left in a plain-text place (the Problems panel, the quick-fix menu), a leaked
`None` / `undefined` / unformatted `{placeholder}`, unbalanced backticks or brackets, and a
message that names a different fix than the one offered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import pytest

from convex_xray.cli.output.text import cost_text
from convex_xray.engine.findings import Finding
from convex_xray.lsp.convert import plain
from convex_xray.rules.support.words import plural
from tests.support.project import EXAMPLE_APP, FIXTURES, check_project

# Nouns the messages count. "1 <plural>" and "<n != 1> <singular>" are mistakes.
_COUNTED = (
    "read", "call", "function call", "document", "row", "item", "index", "table", "query",
    "function", "finding", "problem", "file", "loop", "page", "result", "write", "field",
    "key", "id", "iteration", "job", "request", "root", "fix", "minute", "second", "byte",
    "entry", "member", "argument", "scheduler call", "element", "time", "rule", "line",
)
_PLURALS = {plural(word.split()[-1]): word for word in _COUNTED} | {"queries": "query", "indexes": "index", "entries": "entry"}
_SINGULARS = {word.split()[-1] for word in _COUNTED}
# A number then an optional adjective, then the noun ("1 more loop", "2 reads per item").
_COUNT = re.compile(
    r"(?<![\w.,(\[-])(\d[\d,_]*)(?![\d.])\s+(?:(?:more|other|new|unused|sequential|separate)\s+)?([a-z]+)\b(?:\s+([a-z]+))?"
)
# Two-word nouns count by their last word ("2 function calls", "1 scheduler call").
_COMPOUND_HEADS = {"function", "scheduler"}
_CODE = re.compile(r"`[^`\n]*`")
_QUOTED = re.compile(r'"[^"\n]*"')
_DOUBLED = re.compile(r"\b([A-Za-z]+)\s+\1\b", re.IGNORECASE)
_LEAKS = re.compile(r"\b(None|undefined|NaN|nan)\b|\{[a-z_]+\}|<[a-z_]+ object at")


def prose(text: str) -> str:
    """The words a reader reads as English: code spans and quoted strings taken out."""
    return _QUOTED.sub("«s»", _CODE.sub("«c»", text))


def problems_in(text: str, *, plain_text: bool = False) -> list[str]:
    """The mechanical mistakes in one user-visible string (empty when it reads right)."""
    found: list[str] = []
    words = prose(text)
    for number, noun, following in _COUNT.findall(words):
        if noun in _COMPOUND_HEADS and following.startswith("call"):
            noun = following
        value = int(number.replace(",", "").replace("_", ""))
        if value == 1 and noun in _PLURALS:
            found.append(f"'1 {noun}': one is singular")
        elif value != 1 and noun in _SINGULARS and not words.count(f"{number} {noun}-"):
            found.append(f"'{number} {noun}': {number} wants the plural")
    for match in _DOUBLED.finditer(words):
        found.append(f"doubled word {match.group(0)!r}")
    for match in _LEAKS.finditer(words):
        found.append(f"leaked placeholder {match.group(0)!r}")
    if text.count("`") % 2:
        found.append("an odd number of backticks (a broken code span)")
    for left, right in ("()", "[]"):
        if words.count(left) != words.count(right):
            found.append(f"unbalanced {left}{right}")
    if "  " in text or " ." in words or " ," in words or ".." in words.replace("…", ""):
        found.append("stray spacing or punctuation")
    if plain_text and ("`" in text or "**" in text):
        found.append("Markdown in a plain-text place")
    return found


@dataclass(frozen=True)
class Shown:
    rule: str
    kind: str  # message, related, fix, cost
    text: str
    where: str


def _shown(finding: Finding, where: str) -> Iterator[Shown]:
    yield Shown(finding.rule, "message", finding.message, where)
    for item in finding.related:
        yield Shown(finding.rule, "related", item.message, where)
    for fix in [finding.fix, *finding.alternatives]:
        if fix is not None:
            yield Shown(finding.rule, "fix", fix.title, where)
    cost = cost_text(finding)
    if cost:
        yield Shown(finding.rule, "cost", cost, where)


@cache
def rendered() -> tuple[tuple[Shown, ...], tuple[Finding, ...]]:
    """Every distinct string the rules produce on the fixtures and the example app."""
    seen: dict[tuple[str, str, str], Shown] = {}
    findings: list[Finding] = []
    projects = sorted(p for p in FIXTURES.iterdir() if p.is_dir()) + [EXAMPLE_APP]
    for project in projects:
        _, result = check_project(project)
        findings += result.findings
        for finding in result.findings:
            for shown in _shown(finding, project.name):
                seen.setdefault((shown.rule, shown.kind, shown.text), shown)
    return tuple(seen.values()), tuple(findings)


def test_the_checker_catches_each_mistake():
    """The checks below would pass on anything if the checker found nothing: it must flag these."""
    bad = {
        "`db.get(id)` runs once per item: 1 reads per item.": "'1 reads'",
        "3 read per call.": "'3 read'",
        "inside 1 more loops": "'1 loops'",
        "Remove index `by_a` and use `by_b` in 2 query": "'2 query'",
        "the the loop": "doubled word",
        "Table None has no index": "leaked placeholder",
        "runs {count} times": "leaked placeholder",
        "`db.get(id) runs once": "odd number of backticks",
        "reads (N assumed 10 per call.": "unbalanced ()",
        "reads all  documents": "stray spacing",
    }
    for text, expected in bad.items():
        assert any(expected in p for p in problems_in(text)), (text, problems_in(text))
    assert any("Markdown" in p for p in problems_in("Use `.take(10)`", plain_text=True))
    good = [
        "`db.get(id)` runs once per item: 1 read per item, 20 reads per call.",
        "Remove index `by_a` and use `by_b` in 1 query",
        "`.take(1000)` reads up to 1,000 `players` documents per call",
        "`.take(10_000)` reads up to 10,000 documents; `a a` in code is fine",
        "Add a 10 s timeout (a slower answer now fails)",
    ]
    for text in good:
        assert problems_in(text) == [], (text, problems_in(text))


def test_every_rule_is_rendered():
    """The fixtures exercise every rule's words (a rule missing here would go unchecked)."""
    from convex_xray.engine.registry import all_rules

    shown_rules = {s.rule for s in rendered()[0]}
    missing = sorted(r.meta.slug for r in all_rules() if r.meta.slug not in shown_rules)
    assert not missing, f"no finding of these rules in the fixtures: {missing}"


def _ids(shown: Shown) -> str:
    return f"{shown.rule}-{shown.kind}"


@pytest.mark.parametrize("kind", ["message", "related", "fix", "cost"])
def test_rule_words_read_right(kind: str):
    bad = []
    for shown in rendered()[0]:
        if shown.kind != kind:
            continue
        problems = problems_in(shown.text) + [p for p in problems_in(plain(shown.text), plain_text=True) if "Markdown" in p]
        if problems:
            bad.append(f"[{shown.rule}] ({shown.where}) {shown.text}\n    -> {'; '.join(problems)}")
    assert not bad, "\n".join(bad)


# The fix a message tells the reader to make, and the words the offered fix's title starts with.
_NAMED_FIXES = {
    "Batch-fetch": ("Batch-fetch",),
    "Prefetch": ("Prefetch",),
}


def test_the_fix_a_message_names_is_the_fix_offered():
    """A message that says "Batch-fetch …" must not come with a fix titled "Prefetch …"."""
    wrong = []
    for finding in rendered()[1]:
        if finding.fix is None:
            continue
        for named, titles in _NAMED_FIXES.items():
            if f"{named} " in finding.message and not finding.fix.title.startswith(titles):
                wrong.append(f"[{finding.rule}] says {named!r}, offers {finding.fix.title!r}")
    assert not wrong, "\n".join(sorted(set(wrong)))
