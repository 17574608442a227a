"""The fixes keep the example app's meaning: convex-test runs its functions before and after.

`tests/e2e/equivalence_driver.py` copies `examples/club-hub`, applies `convex-xray check --fix`
(and, separately, `--fix --unsafe-fixes`), runs the convex-test spec in
`examples/club-hub/tests/` on the original and on each fixed copy, and compares results,
database states and database call counts; both fixed copies must typecheck. Needs Node.js
and npm (the packages are installed once, cached by the lockfile's hash).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.equivalence_driver import (
    Copy,
    Report,
    _first_difference,
    check_batch_fetch,
    compare,
    missing_node_tools,
    run,
)


@pytest.fixture(scope="session")
def equivalence_report():
    missing = missing_node_tools()
    if missing:
        pytest.skip(f"the convex-test equivalence suite needs Node.js and npm: {missing}")
    return run()


@pytest.mark.node
def test_fixes_keep_results_and_compile(equivalence_report):
    assert equivalence_report.ok, equivalence_report.text()


@pytest.mark.node
def test_the_suite_exercised_the_fixes(equivalence_report):
    report = equivalence_report
    assert report.cases >= 100
    assert report.fixed["safe"] > 0 and report.fixed["unsafe"] > report.fixed["safe"]
    # Every function with a safe batch-fetch fix was rewritten and run, with fewer calls or waits.
    assert report.batch_fetched
    assert report.batch_fetched <= report.changed["safe"]
    for function in report.batch_fetched:
        counts = report.counts["safe"][function]
        assert counts.calls[1] < counts.calls[0] or counts.waits[1] < counts.waits[0], function


# The driver's comparison on hand-made records (no Node needed).


def _record(fn, returned, calls=3, waits=3, state=None):
    record = {"fn": fn, "kind": "query", "outcome": {"returned": returned}}
    record["counts"] = {"calls": calls, "waits": waits, "docs": 0}
    if state is not None:
        record["state"] = state
    return record


def _copies(before: dict, after: dict) -> tuple[Copy, Copy]:
    original, fixed = Copy("original", Path("o")), Copy("safe", Path("s"))
    original.results, fixed.results = before, after
    original.spec_ok = fixed.spec_ok = True
    return original, fixed


def test_compare_flags_a_changed_result_where_it_first_differs():
    original, fixed = _copies(
        {"a:f": _record("a:f", [{"name": "Ann", "n": 1}])},
        {"a:f": _record("a:f", [{"name": "Ann", "n": 2}])},
    )
    report = Report()
    compare(original, fixed, report, allowed_to_differ={})
    assert len(report.problems) == 1
    assert "a:f: result differs" in report.problems[0]
    assert "first at .returned[0].n" in report.problems[0]


def test_compare_flags_more_calls_or_waits_and_changed_state():
    original, fixed = _copies(
        {"a:f": _record("a:f", 1, calls=3, waits=3), "a:g": _record("a:g", 1, state={"t": [1]})},
        {"a:f": _record("a:f", 1, calls=4, waits=2), "a:g": _record("a:g", 1, state={"t": [1, 2]})},
    )
    report = Report()
    compare(original, fixed, report, allowed_to_differ={})
    assert any("a:f: more calls" in p for p in report.problems)
    assert not any("a:f: more waits" in p for p in report.problems)
    assert any("a:g: database state differs" in p and "(length)" in p for p in report.problems)


def test_compare_allows_listed_changes_and_only_reports_lenient_ones():
    original, fixed = _copies(
        {"a:f": _record("a:f", None), "a:g": _record("a:g", [1, 2])},
        {"a:f": _record("a:f", 5, calls=9), "a:g": _record("a:g", [2, 1])},
    )
    report = Report()
    compare(
        original,
        fixed,
        report,
        allowed_to_differ={"a:f": "a bug fix"},
        lenient={"a:g": "redundant-index"},
    )
    assert report.problems == []
    assert any("a:f" in n and "as intended" in n for n in report.notes)
    assert any("a:g" in n and "redundant-index" in n for n in report.notes)


def test_batch_fetched_function_must_make_fewer_calls_or_waits():
    original, fixed = _copies(
        {"a:f": _record("a:f", 1, calls=5, waits=5)}, {"a:f": _record("a:f", 1, calls=5, waits=5)}
    )
    report = Report(batch_fetched={"a:f"}, changed={"safe": {"a:f"}})
    compare(original, fixed, report, allowed_to_differ={})
    check_batch_fetch(report)
    assert any("neither fewer calls" in p for p in report.problems)
    fixed.results["a:f"]["counts"]["waits"] = 1
    report = Report(batch_fetched={"a:f"}, changed={"safe": {"a:f"}})
    compare(original, fixed, report, allowed_to_differ={})
    check_batch_fetch(report)
    assert report.problems == []


def test_first_difference_paths():
    assert _first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == (".a[1].b", 2, 3)
    assert _first_difference([1], [1, 2]) == (" (length)", 1, 2)
    assert _first_difference({"a": 1}, {}) == (".a", 1, "<missing>")
