"""The fixes keep the example app's meaning: convex-test runs its functions before and after.

`tests/equivalence_driver.py` copies `examples/club-hub`, applies `convex-xray check --fix`
(and, separately, `--fix --unsafe-fixes`), runs the convex-test spec in
`examples/club-hub/tests/` on the original and on each fixed copy, and compares results,
database states and database call counts; both fixed copies must typecheck. Needs Node.js
and npm (the packages are installed once, cached by the lockfile's hash).
"""

from __future__ import annotations

import pytest
from equivalence_driver import missing_node_tools, run

pytestmark = pytest.mark.node


@pytest.fixture(scope="session")
def equivalence_report():
    missing = missing_node_tools()
    if missing:
        pytest.skip(f"the convex-test equivalence suite needs Node.js and npm: {missing}")
    return run()


def test_fixes_keep_results_and_compile(equivalence_report):
    assert equivalence_report.ok, equivalence_report.text()


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
