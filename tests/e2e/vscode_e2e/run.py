"""Run the VS Code end-to-end test once: `python tests/e2e/vscode_e2e/run.py [--keep]`.

Installs what is missing into the cache (see harness.py), then drives code-server in
headless Chromium. Exit status 0 when the Problems panel listed convex-xray's problems and
the batch-fetch Quick Fix produced, on disk, exactly the text the CLI's fix produces.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    args = parser.parse_args()
    began = time.monotonic()
    try:
        tools = harness.ensure_tools()
    except harness.SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    harness.log(f"tools ready in {time.monotonic() - began:.0f}s; vsix {tools.vsix.name}")
    outcome = harness.run_e2e(tools, keep=args.keep)
    for entry in outcome.report.get("steps", []):
        print(
            f"{entry['at_ms']:>7} ms  {entry['step']}"
            + (f": {json.dumps(entry['detail'])}" if "detail" in entry else "")
        )
    if outcome.ok:
        print(f"VS Code e2e passed in {time.monotonic() - began:.0f}s")
        return 0
    print(f"VS Code e2e FAILED: {outcome.error}\nartifacts: {outcome.artifacts}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
