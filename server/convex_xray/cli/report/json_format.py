"""The report as JSON for tools: the same content as the Markdown and HTML (docs/report.md)."""

from __future__ import annotations

import json

from convex_xray import __version__
from convex_xray.cli.report.model import Report

REPORT_JSON_VERSION = 1


def render_json(report: Report) -> str:
    document = {
        "version": REPORT_JSON_VERSION,
        "tool": {"name": "convex-xray", "version": __version__},
        **report.to_dict(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
