"""Baselines: record today's findings so a legacy app can adopt the checks and fail only on new ones.

A finding is identified by a fingerprint that does not involve line numbers: the rule, the
file (relative to the baseline file's directory), the enclosing function, and the text of
the line where the finding starts with whitespace collapsed. Findings with the same
fingerprint in the same function are told apart by an occurrence index (their order in the
file), so adding code above a baselined finding never resurrects it, while a second copy
of the same anti-pattern in the same function is still new.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convex_xray.engine.findings import Finding
from convex_xray.engine.workspace import Workspace

BASELINE_VERSION = 1
FINGERPRINT_KEY = "convexXray/v1"  # the name used for SARIF partialFingerprints
_SNIPPET_LIMIT = 240  # stored for people; the fingerprint covers the whole line
_SPACE = re.compile(r"\s+")


class BaselineError(Exception):
    """A baseline file that cannot be read: which file and why."""


@dataclass(frozen=True, slots=True)
class Entry:
    rule: str
    path: str  # posix, relative to the baseline file's directory
    function: str  # "" outside any function
    snippet: str  # the normalised line (possibly shortened for storage)
    fingerprint: str  # hash of rule, path, function and the whole normalised line
    occurrence: int = 0  # index among findings with the same fingerprint
    message: str = ""  # for people reading the file; never matched

    @property
    def key(self) -> tuple[str, int]:
        return (self.fingerprint, self.occurrence)

    @property
    def id(self) -> str:
        return f"{self.fingerprint}:{self.occurrence}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "path": self.path,
            "function": self.function,
            "snippet": self.snippet,
            "fingerprint": self.fingerprint,
            "occurrence": self.occurrence,
            "message": self.message,
        }


@dataclass
class BaselineSummary:
    """What filtering through a baseline did, for the report."""

    path: Path
    matched: int = 0
    new: int = 0
    stale: list[Entry] = field(default_factory=list)
    written: int | None = None  # entries written by --write-baseline / --prune-baseline
    pruned: bool = False  # the stale entries were dropped from the file

    def to_dict(self) -> dict[str, int]:
        return {"matched": self.matched, "new": self.new, "stale": len(self.stale)}


@dataclass
class Baseline:
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BaselineError(
                f"{path}: baseline file not found (create it with --write-baseline)"
            ) from None
        except (OSError, UnicodeDecodeError) as error:
            raise BaselineError(f"{path}: cannot read: {error}") from None
        except ValueError as error:
            raise BaselineError(f"{path}: not JSON: {error}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
            raise BaselineError(f'{path}: not a convex-xray baseline (no "entries" list)')
        version = raw.get("version")
        if version != BASELINE_VERSION:
            raise BaselineError(
                f"{path}: baseline version {version!r} is not supported (expected {BASELINE_VERSION})"
            )
        entries = []
        for index, item in enumerate(raw["entries"]):
            try:
                entries.append(
                    Entry(
                        rule=str(item["rule"]),
                        path=str(item["path"]),
                        function=str(item.get("function") or ""),
                        snippet=str(item.get("snippet", "")),
                        fingerprint=str(item["fingerprint"]),
                        occurrence=int(item.get("occurrence", 0)),
                        message=str(item.get("message", "")),
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                raise BaselineError(
                    f"{path}: entry {index} is malformed (needs rule, path, fingerprint)"
                ) from None
        return cls(entries)

    def dumps(self) -> str:
        entries = sorted(
            self.entries, key=lambda e: (e.path, e.rule, e.function, e.fingerprint, e.occurrence)
        )
        document = {
            "version": BASELINE_VERSION,
            "tool": "convex-xray",
            "note": "Findings recorded by `convex-xray check --write-baseline`; "
            "`--baseline` reports only findings not listed here.",
            "entries": [e.to_dict() for e in entries],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def write(self, path: Path) -> None:
        from convex_xray.engine.fixes import write_atomically

        existed = path.exists()
        write_atomically(path, self.dumps().encode("utf-8"))
        if not existed:  # a new file gets the usual permissions, not the temp file's 0600
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(path, 0o666 & ~umask)


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def relative_path(path: Path, base_dir: Path) -> str:
    try:
        return Path(os.path.relpath(path, base_dir)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def _line_text(workspace: Workspace, finding: Finding) -> str:
    source = workspace.source(finding.path)
    if source is None:
        return ""
    lines = source.lines
    line = lines.line_of(finding.span.start)
    return source.slice(lines.line_starts[line], lines.line_end(line))


def _hash(*parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
    return digest[:20]


def entries_for(workspace: Workspace, findings: Sequence[Finding], base_dir: Path) -> list[Entry]:
    """One entry per finding, in the same order, with occurrence indexes assigned in file order."""
    pending: list[tuple[Finding, str, str, str, str]] = []
    for finding in findings:
        path = relative_path(finding.path, base_dir)
        function = finding.function or ""
        line = normalise(_line_text(workspace, finding))
        pending.append((finding, path, function, line, _hash(finding.rule, path, function, line)))
    order = sorted(range(len(pending)), key=lambda i: pending[i][0].sort_key())
    seen: dict[str, int] = defaultdict(int)
    occurrences = [0] * len(pending)
    for index in order:
        fingerprint = pending[index][4]
        occurrences[index] = seen[fingerprint]
        seen[fingerprint] += 1
    entries = []
    for (finding, path, function, line, fingerprint), occurrence in zip(
        pending, occurrences, strict=True
    ):
        entries.append(
            Entry(
                rule=finding.rule,
                path=path,
                function=function,
                snippet=line[:_SNIPPET_LIMIT],
                fingerprint=fingerprint,
                occurrence=occurrence,
                message=finding.message,
            )
        )
    return entries


def fingerprints(workspace: Workspace, findings: Sequence[Finding], base_dir: Path) -> list[str]:
    """The baseline fingerprint of each finding (`hash:occurrence`), e.g. for SARIF."""
    return [e.id for e in entries_for(workspace, findings, base_dir)]


@dataclass
class Scope:
    """What a run looked at: entries outside it are neither matched nor stale, and are kept
    as they are when the baseline is rewritten."""

    base_dir: Path
    files: set[Path] | None = None  # None: every file of the workspace
    rules: set[str] | None = None  # None: every rule

    def covers(self, entry: Entry) -> bool:
        if self.rules is not None and entry.rule not in self.rules:
            return False
        if self.files is None:
            return True
        return Path(os.path.normpath(self.base_dir / entry.path)) in self.files


def apply_baseline(
    workspace: Workspace, findings: Sequence[Finding], baseline: Baseline, scope: Scope, path: Path
) -> tuple[list[Finding], BaselineSummary, list[Entry]]:
    """(new findings, summary, entries that still occur) for findings filtered through `baseline`."""
    known = {e.key: e for e in baseline.entries}
    current = entries_for(workspace, findings, scope.base_dir)
    new: list[Finding] = []
    still: list[Entry] = []
    for finding, entry in zip(findings, current, strict=True):
        if entry.key in known:
            still.append(known[entry.key])
        else:
            new.append(finding)
    present = {e.key for e in current}
    stale = [e for e in baseline.entries if e.key not in present and scope.covers(e)]
    summary = BaselineSummary(path=path, matched=len(still), new=len(new), stale=stale)
    return new, summary, still


def pruned(baseline: Baseline, stale: Iterable[Entry]) -> Baseline:
    gone = {e.key for e in stale}
    return Baseline([e for e in baseline.entries if e.key not in gone])


def recorded(
    workspace: Workspace, findings: Sequence[Finding], scope: Scope, previous: Baseline | None
) -> Baseline:
    """Today's findings as a baseline; entries of `previous` outside this run's scope are kept."""
    entries = entries_for(workspace, findings, scope.base_dir)
    if previous is not None:
        entries += [e for e in previous.entries if not scope.covers(e)]
    unique = {e.key: e for e in entries}
    return Baseline(list(unique.values()))
