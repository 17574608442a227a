"""The text report: concise when piped, full on a terminal, worst first, `--top`,
`--statistics`, and counts that agree with what `--fix` and `--diff` do."""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from convex_xray.cli.main import main
from convex_xray.cli.output.order import fixable_count, ordered
from convex_xray.engine.findings import Finding, Severity, Span
from tests.support.project import EXAMPLE_APP

CONCISE = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning|info|hint) "
    r"(?P<code>CX\d{3}) \[(?P<slug>[a-z-]+)\] (?P<message>\S.*)$"
)
RANK = {"error": 4, "warning": 3, "info": 2, "hint": 1}


@pytest.fixture
def example(tmp_path, monkeypatch) -> Path:
    app = tmp_path / "club-hub"
    shutil.copytree(EXAMPLE_APP, app)
    monkeypatch.chdir(app)
    return app


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv, "--no-cache"])
    out, err = capsys.readouterr()
    return code, out, err


def test_piped_output_is_one_line_per_problem_with_its_severity(example, capsys):
    code, out, _ = run(capsys, ".")
    assert code == 1
    body, footer = out.rstrip("\n").split("\n\n")
    heads = [CONCISE.match(line) for line in body.splitlines()]
    assert heads and all(heads), [line for line in body.splitlines() if not CONCISE.match(line)]
    total = int(re.match(r"Found (\d+) problems", footer).group(1))
    assert len(heads) == total
    # worst first: the severities never go up
    ranks = [RANK[h.group("severity")] for h in heads if h]
    assert ranks == sorted(ranks, reverse=True)
    for tier, count in re.findall(r"(\d+) (error|warning|info|hint)s?\b", footer.splitlines()[0]):
        assert sum(1 for h in heads if h and h.group("severity") == count) == int(tier)


def test_full_form_on_a_terminal(example, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "1")
    _, out, _ = run(capsys, ".", "--top", "3")
    lines = out.splitlines()
    assert lines[0].startswith("Checked 27 files in 2 roots;")  # the header names the roots
    assert lines[1] == "  convex/  app, 25 files (convex/ in the folder checked)"
    assert lines[2].startswith("  convex/betterAuth/  component, 2 files")
    heads = [i for i, line in enumerate(lines) if CONCISE.match(line)]
    assert len(heads) == 3
    for i in heads:  # the code frame under each
        assert re.match(r"^\s+\d+ \| ", lines[i + 1]) and lines[i + 2].lstrip().startswith("| ")
    assert "help: " in out
    assert re.search(r"^… and \d+ more problems not shown \(--top 3\)\.$", out, re.M)
    # `--output-format concise` wins over the terminal
    _, out, _ = run(capsys, ".", "--top", "3", "--output-format", "concise")
    assert len(out.split("\n\n")[0].splitlines()) == 4 and " | " not in out


def test_top_keeps_the_counts_of_everything(example, capsys):
    _, everything, _ = run(capsys, ".")
    _, top, _ = run(capsys, ".", "--top", "5")
    assert top.splitlines()[:5] == everything.splitlines()[:5]
    assert top.split("\n\n")[-1].split("(")[0] == everything.split("\n\n")[-1].split("(")[0]
    assert main(["check", ".", "--top", "0"]) == 2


def test_show_fixes_in_concise_form(example, capsys):
    _, out, _ = run(capsys, ".", "--show-fixes", "--select", "better-auth-id-field")
    lines = out.splitlines()
    assert CONCISE.match(lines[0]) and lines[1] == '        help: Match on `"_id"` (safe fix: --fix applies it)'


def test_sort_by_file(example, capsys):
    _, out, _ = run(capsys, ".", "--sort", "file")
    places = [(m.group("path"), int(m.group("line")), int(m.group("col"))) for m in map(CONCISE.match, out.splitlines()) if m]
    assert places == sorted(places)


@dataclass(slots=True)
class _Cost:
    score: float


@dataclass(slots=True)
class _Costed(Finding):
    """A finding as the cost model will return it (`finding.cost.score`)."""

    cost: Any = None


def _finding(line: int, severity: Severity, score: float | None = None) -> Finding:
    span = Span(Path("/app/convex/a.ts"), line * 100, line * 100 + 5)
    if score is None:
        return Finding("r", "CX999", severity, span, f"at {line}")
    return _Costed("r", "CX999", severity, span, f"at {line}", cost=_Cost(score))


def test_order_uses_the_cost_score_when_there_is_one():
    findings = [
        _finding(1, Severity.WARNING),
        _finding(2, Severity.WARNING, score=5),
        _finding(3, Severity.ERROR),
        _finding(4, Severity.WARNING, score=50),
        _finding(5, Severity.INFO, score=1000),
        _finding(6, Severity.WARNING),
    ]
    lines = lambda found: [f.message for f in found]  # noqa: E731
    assert lines(ordered(findings)) == ["at 3", "at 4", "at 2", "at 1", "at 6", "at 5"]
    assert lines(ordered(findings, "cost")) == ["at 5", "at 4", "at 2", "at 3", "at 1", "at 6"]
    assert lines(ordered(findings, "file")) == [f"at {n}" for n in range(1, 7)]
    # none has a score: severity, then file and line
    plain = [_finding(n, s) for n, s in [(1, Severity.INFO), (2, Severity.ERROR), (3, Severity.INFO)]]
    assert lines(ordered(plain)) == ["at 2", "at 1", "at 3"]


def test_statistics_agree_with_the_report(example, capsys):
    _, table, _ = run(capsys, ".", "--statistics")
    _, report, _ = run(capsys, ".")
    total = table.strip().splitlines()[-1].split()
    assert total[0] == re.search(r"Found (\d+) problems", report).group(1)
    assert re.search(rf"^{total[-1]} fixable with `--fix`", report, re.M)


def test_diff_and_fix_counts_agree_with_fixable(example, capsys):
    _, report, _ = run(capsys, ".")
    safe = int(re.search(r"^(\d+) fixable with `--fix`", report, re.M).group(1))
    unsafe = int(re.search(r"\((\d+) more with `--fix --unsafe-fixes`\)", report).group(1))
    before = {p: p.read_bytes() for p in example.rglob("*.ts")}

    _, out, err = run(capsys, ".", "--diff")
    assert "Fixed" not in out + err
    # One finding per loop: fixing a loop's first read can expose the next one's fix.
    assert re.search(rf"^Would fix (?:{safe} problems; |\d+ problems \({safe} offered by the first check)", err, re.M)
    assert {p: p.read_bytes() for p in example.rglob("*.ts")} == before

    # With unsafe fixes, fixing to a fixpoint applies more than the first check offers;
    # the report says so instead of contradicting the count above.
    _, _, err = run(capsys, ".", "--diff", "--unsafe-fixes")
    applied, offered = map(int, re.search(r"^Would fix (\d+) problems \((\d+) offered by the first check; fixing those exposed more", err, re.M).groups())
    assert offered == safe + unsafe and applied > offered

    _, out, _ = run(capsys, ".", "--fix")
    assert re.search(rf"^Fixed (?:{safe} problems; |\d+ problems \({safe} offered by the first check)", out, re.M)
    assert "Would fix" not in out


def test_fixable_counts_only_fixes_that_apply():
    finding = _finding(1, Severity.WARNING)
    assert fixable_count([finding]) == 0
