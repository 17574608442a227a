"""The example app as a corpus: what every rule reports on it is checked in, so a change in
any rule's behaviour shows up as a reviewable diff of tests/snapshots/club-hub.txt.

Regenerate after an intended change: `CONVEX_XRAY_UPDATE_SNAPSHOTS=1 pytest tests/test_example_app.py`.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from convex_xray.engine.registry import all_rules
from tests.support.project import EXAMPLE_APP, check_project

SNAPSHOT = Path(__file__).parent / "snapshots" / "club-hub.txt"


def _report() -> tuple[str, Counter[str]]:
    workspace, result = check_project(EXAMPLE_APP)
    assert not result.failures, result.failures
    assert not result.problems, result.problems
    lines = []
    for finding in result.findings:
        source = workspace.source(finding.path)
        line = source.lines.line_of(finding.span.start) + 1
        relative = finding.path.relative_to(EXAMPLE_APP.resolve()).as_posix()
        lines.append(f"{relative}:{line} {finding.rule} {finding.severity.label} [{finding.function or '-'}]")
    return "\n".join(lines) + "\n", Counter(f.rule for f in result.findings)


def test_example_app_report_matches_the_snapshot():
    report, _ = _report()
    if os.environ.get("CONVEX_XRAY_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(report, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    assert report == expected, "the example app's findings changed; review and regenerate the snapshot"


def test_example_app_exercises_every_rule():
    _, by_rule = _report()
    # unused-suppression is a hygiene rule about our own comments; the app has none to judge.
    # syntax-error: the example app compiles (its fixture is tests/fixtures/syntax-error).
    exempt = ("unused-suppression", "syntax-error")
    missing = [r.meta.slug for r in all_rules() if by_rule[r.meta.slug] == 0 and r.meta.slug not in exempt]
    assert not missing, f"the example app has no case of: {missing}"


@pytest.mark.parametrize("function", ["teams.ts:listForOrg", "enrollments.ts:forPlayer", "reminders.ts:recipients"])
def test_deduplicated_batches_in_the_app_are_never_warned(function):
    path, name = function.split(":")
    _, result = check_project(EXAMPLE_APP)
    hits = [
        f
        for f in result.findings
        if f.path.name == path and f.function == name and f.rule in ("n-plus-one-read", "n-plus-one-call")
    ]
    assert hits == []
