"""Shared measurement helpers for the convex-xray benchmarks (stdlib only).

Every measurement runs the command in a fresh child process and reports wall time
(time.perf_counter around the whole process) and peak RSS of that process tree's
largest member:

* with GNU time (``/usr/bin/time -v -o FILE``): "Maximum resident set size";
* otherwise through a tiny Python shim that runs the command and reports its own
  ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` — a fresh shim per run, so the
  number belongs to that run alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

GNU_TIME = "/usr/bin/time"

_SHIM = r"""
import json, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as fh:
    json.dump({"maxrss_kb": ru.ru_maxrss, "rc": rc}, fh)
sys.exit(rc)
"""


def _gnu_time_ok() -> bool:
    if not os.path.exists(GNU_TIME):
        return False
    try:
        r = subprocess.run(
            [GNU_TIME, "-v", "-o", os.devnull, "true"], capture_output=True, timeout=10
        )
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


_HAVE_GNU_TIME: bool | None = None


@dataclass
class Run:
    cmd: list[str]
    wall_s: float
    peak_rss_mb: float | None
    returncode: int
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")

    def summary(self) -> dict:
        d = asdict(self)
        d.pop("stdout")
        d["stderr_tail"] = self.stderr[-2000:]
        d.pop("stderr")
        return d


def measure(
    cmd: list[str],
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Run:
    """Run `cmd` once in a fresh process; wall time and peak RSS (MiB)."""
    global _HAVE_GNU_TIME
    if _HAVE_GNU_TIME is None:
        _HAVE_GNU_TIME = _gnu_time_ok()
    with tempfile.NamedTemporaryFile("r", suffix=".rss", delete=False) as tf:
        rss_file = tf.name
    try:
        if _HAVE_GNU_TIME:
            full = [GNU_TIME, "-v", "-o", rss_file, *cmd]
        else:
            full = [sys.executable, "-c", _SHIM, rss_file, *cmd]
        t0 = time.perf_counter()
        p = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - t0
        rss_mb = None
        try:
            text = Path(rss_file).read_text()
            if _HAVE_GNU_TIME:
                m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
                rss_mb = int(m.group(1)) / 1024 if m else None
            else:
                rss_mb = json.loads(text)["maxrss_kb"] / 1024
        except (OSError, ValueError, KeyError):
            pass
        return Run(cmd, wall, rss_mb, p.returncode, p.stdout, p.stderr)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(rss_file)


def median_runs(runs: list[Run]) -> dict:
    """Median wall time and median peak RSS over runs (plus the raw values)."""
    walls = [r.wall_s for r in runs]
    rss = [r.peak_rss_mb for r in runs if r.peak_rss_mb is not None]
    return {
        "runs": len(runs),
        "wall_s": round(statistics.median(walls), 4),
        "wall_s_all": [round(w, 4) for w in walls],
        "peak_rss_mb": round(statistics.median(rss), 1) if rss else None,
        "peak_rss_mb_all": [round(x, 1) for x in rss],
    }


def machine_facts() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    node = None
    if shutil.which("node"):
        try:
            node = subprocess.run(
                ["node", "--version"], capture_output=True, text=True, timeout=20
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            node = None
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "ram_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "node": node,
        "rss_method": "GNU time -v"
        if (_HAVE_GNU_TIME if _HAVE_GNU_TIME is not None else _gnu_time_ok())
        else "getrusage(RUSAGE_CHILDREN) shim",
    }
