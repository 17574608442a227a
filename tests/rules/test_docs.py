"""The docs are tests: every rule documents itself the same way, the generated pages are up
to date, every `Example` fires its rule and every `Use instead` stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.cli import docs
from convex_xray.engine.registry import all_rules
from tests.support.project import check_project, write_project

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "rules"
RULES = all_rules()
IDS = [rule.meta.slug for rule in RULES]


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_docstring_sections(rule):
    assert rule.doc.splitlines()[0].strip(), "a one-line summary first"
    assert docs.sections(rule) == list(docs.SECTIONS)
    example, instead = docs.snippets(rule)
    assert example.strip(), "`## Example` has a ```ts block"
    assert instead.strip(), "`Use instead:` has a ```ts block"


def test_generated_docs_are_up_to_date():
    problems = docs.stale(DOCS_DIR)
    assert not problems, f"out of date: {problems}; run `python -m convex_xray.cli.docs`"


def test_generator_writes_and_checks(tmp_path):
    out = tmp_path / "rules"
    assert docs.main(["--out", str(out), "--check"]) == 1
    assert docs.main(["--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {f"{slug}.md" for slug in IDS} | {"README.md"}
    assert docs.main(["--out", str(out), "--check"]) == 0
    (out / "unknown-index.md").write_text("edited by hand\n")
    (out / "gone-rule.md").write_text(docs.GENERATED + "\n# a rule that no longer exists\n")
    assert docs.stale(out) == ["gone-rule.md", "unknown-index.md"]
    docs.write(out)
    assert not (out / "gone-rule.md").exists() and docs.stale(out) == []


def _findings(tmp_path: Path, rule, snippet: str):
    project = write_project(tmp_path, docs.example_files(rule, snippet), schema=None)
    _, result = check_project(project, select=[rule.meta.slug])
    assert not result.failures, result.failures
    return [f for f in result.findings if f.rule == rule.meta.slug]


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_example_fires(tmp_path, rule):
    example, _ = docs.snippets(rule)
    found = _findings(tmp_path / "example", rule, example)
    assert found, f"the `Example` of {rule.meta.slug} does not fire it"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_use_instead_is_silent(tmp_path, rule):
    _, instead = docs.snippets(rule)
    found = _findings(tmp_path / "instead", rule, instead)
    assert not found, [f.message for f in found]


def test_snippet_wrapping():
    rule = next(r for r in RULES if r.meta.slug == "fetch-without-timeout")
    files = docs.example_files(rule, 'const r = await fetch("https://x.example");\n')
    assert set(files) == {"docExample.ts", "schema.ts"}
    assert "export const docExample = action({" in files["docExample.ts"]
    assert '    const r = await fetch("https://x.example");' in files["docExample.ts"]
    multi = docs.example_files(
        rule,
        "// convex/schema.ts\nexport default defineSchema({});\n// convex/a.ts\nexport const x = 1;\n",
    )
    assert multi["schema.ts"] == "export default defineSchema({});\n"
    assert multi["a.ts"].startswith("import { query") and multi["a.ts"].endswith(
        "export const x = 1;\n"
    )
