"""JUnit XML for CI systems that show test reports (GitLab, Jenkins, Azure Pipelines, CircleCI).

One `<testsuite>` per file with findings, one failing `<testcase>` per finding (the
`type` attribute is the severity). A rule that crashed is an `<error>`, a file that could
not be read is `<skipped>`. A clean run is one passing test case, so the report is never
empty.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from convex_xray.cli.output.locations import locate
from convex_xray.engine.findings import Finding
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.workspace import Workspace

# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _display(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:
        return path.as_posix()


def _case(workspace: Workspace, finding: Finding, classname: str) -> ET.Element:
    where = locate(workspace, finding.span)
    case = ET.Element(
        "testcase",
        {
            "name": _clean(f"{finding.code} {finding.rule} at {where.line}:{where.column}"),
            "classname": _clean(classname),
            "file": _clean(classname),
            "line": str(where.line),
            "time": "0",
        },
    )
    lines = [
        f"{classname}:{where.line}:{where.column}: {finding.code} [{finding.rule}] {finding.message}"
    ]
    for item in finding.related:
        at = locate(workspace, item.span)
        lines.append(f"  = {_display(at.path)}:{at.line}:{at.column}: {item.message}")
    if finding.fix is not None:
        lines.append(f"  help: {finding.fix.title} ({finding.fix.applicability.value} fix)")
    failure = ET.SubElement(
        case, "failure", {"message": _clean(finding.message), "type": finding.severity.label}
    )
    failure.text = _clean("\n".join(lines))
    return case


def render_junit(workspace: Workspace, result: CheckResult) -> str:
    by_file: dict[Path, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_file[finding.path].append(finding)
    suites = ET.Element("testsuites", {"name": "convex-xray"})
    total_tests = total_failures = total_errors = total_skipped = 0
    for path in sorted(by_file):
        name = _display(path)
        suite = ET.SubElement(suites, "testsuite", {"name": _clean(name)})
        for finding in by_file[path]:
            suite.append(_case(workspace, finding, name))
        count = len(by_file[path])
        suite.attrib.update(
            {
                "tests": str(count),
                "failures": str(count),
                "errors": "0",
                "skipped": "0",
                "time": "0",
            }
        )
        total_tests += count
        total_failures += count
    if result.failures or result.problems:
        suite = ET.SubElement(suites, "testsuite", {"name": "convex-xray"})
        for failure in result.failures:
            where = _display(failure.path) if failure.path else "workspace"
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "name": _clean(f"rule {failure.rule} on {where}"),
                    "classname": "convex-xray",
                    "time": "0",
                },
            )
            ET.SubElement(
                case, "error", {"message": _clean(failure.error), "type": "internal-error"}
            )
        for problem in result.problems:
            name = _display(problem.path)
            case = ET.SubElement(
                suite,
                "testcase",
                {"name": _clean(f"read {name}"), "classname": "convex-xray", "time": "0"},
            )
            ET.SubElement(case, "skipped", {"message": _clean(problem.message)})
        count = len(result.failures) + len(result.problems)
        suite.attrib.update(
            {
                "tests": str(count),
                "failures": "0",
                "errors": str(len(result.failures)),
                "skipped": str(len(result.problems)),
                "time": "0",
            }
        )
        total_tests += count
        total_errors += len(result.failures)
        total_skipped += len(result.problems)
    if total_tests == 0:
        suite = ET.SubElement(
            suites,
            "testsuite",
            {
                "name": "convex-xray",
                "tests": "1",
                "failures": "0",
                "errors": "0",
                "skipped": "0",
                "time": "0",
            },
        )
        ET.SubElement(
            suite,
            "testcase",
            {"name": f"{result.files} files checked", "classname": "convex-xray", "time": "0"},
        )
        total_tests = 1
    suites.attrib.update(
        {
            "tests": str(total_tests),
            "failures": str(total_failures),
            "errors": str(total_errors),
            "skipped": str(total_skipped),
            "time": f"{result.elapsed_ms / 1000:.3f}",
        }
    )
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
