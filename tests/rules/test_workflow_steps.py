"""Workflow steps in a loop are described as journaled steps (always info), an action's
`ctx.run*` in a loop keeps the action wording (tests/fixtures/n-plus-one-call/convex/workflows.ts)."""

from __future__ import annotations

from convex_xray.engine.findings import Severity
from tests.support.project import FIXTURES, check_project


def _by_line():
    directory = FIXTURES / "n-plus-one-call"
    workspace, result = check_project(directory, select=["n-plus-one-call"])
    path = (directory / "convex" / "workflows.ts").resolve()
    source = workspace.source(path)
    assert source is not None
    return {
        source.lines.line_of(f.span.start) + 1: f
        for f in result.findings
        if f.span.path.resolve() == path
    }


def test_steps_in_a_loop_are_journaled_steps_at_info():
    found = _by_line()
    for line in (12, 14):
        finding = found[line]
        assert finding.severity is Severity.INFO
        assert "workflow step" in finding.message and "journal" in finding.message
        assert "transaction and round trip" not in finding.message
    assert "`step.runMutation(internal.workflows.markSeen)`" in found[14].message


def test_an_action_loop_keeps_the_action_wording():
    finding = _by_line()[27]
    assert "workflow step" not in finding.message and "journal" not in finding.message
    assert "separate function run with its own transaction" in finding.message
