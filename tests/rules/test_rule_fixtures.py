"""Every fixture directory `tests/fixtures/<rule>/` is a small Convex project whose
`// expect: <rule>` annotations must equal, exactly, what that rule reports."""

from __future__ import annotations

import pytest

from convex_xray.engine.registry import all_rules, resolve_rule
from tests.support.project import FIXTURES, check_project, expectations, reported

FIXTURE_DIRS = sorted(p for p in FIXTURES.iterdir() if p.is_dir() and resolve_rule(p.name))


@pytest.mark.parametrize("directory", FIXTURE_DIRS, ids=lambda p: p.name)
def test_fixture_annotations_match_exactly(directory):
    rule = directory.name
    workspace, result = check_project(directory, select=[rule])
    assert not result.failures, result.failures
    expected = expectations(directory, rule)
    got = reported(directory, [f for f in result.findings if f.rule == rule], workspace)
    missing = expected - got
    unexpected = got - expected
    assert not missing and not unexpected, f"missing: {dict(missing)}\nunexpected: {dict(unexpected)}"


@pytest.mark.parametrize("directory", FIXTURE_DIRS, ids=lambda p: p.name)
def test_fixture_has_positive_and_negative_cases(directory):
    text = "\n".join(p.read_text(encoding="utf-8") for p in directory.rglob("*.ts"))
    assert "// expect:" in text, "a rule fixture needs cases that fire"
    assert "// ok:" in text, "a rule fixture needs near misses that stay silent (`// ok: why`)"


def test_every_rule_has_a_fixture_directory():
    have = {p.name for p in FIXTURE_DIRS}
    missing = [r.meta.slug for r in all_rules() if r.meta.slug not in have]
    assert not missing, f"rules without fixtures: {missing}"
