"""The CLI's result cache (`.convex-xray-cache/`): a second run over unchanged code is instant.

The key covers everything a result depends on: the tool version, the configuration and
rule selection, the checked paths, and the content hash of every Convex source file of
the workspace plus the project files that steer resolution (`convex.json`,
`tsconfig.json`). Any change anywhere gives a new key, so a hit is always exactly what a
fresh run would report. Entries are JSON (never pickle: a cache directory in a cloned
repository must not be able to run code).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from convex_xray import __version__
from convex_xray.engine.config import Config
from convex_xray.engine.cost import Cost
from convex_xray.engine.findings import Applicability, Edit, Finding, Fix, Related, Severity, Span
from convex_xray.engine.runner import CheckResult
from convex_xray.engine.workspace import FileProblem, Workspace

CACHE_DIR_NAME = ".convex-xray-cache"
FORMAT = 4  # 2: findings carry role and limit_risk; 3: fixes validated, none without edits; 4: `cost`
KEEP_ENTRIES = 16  # older entries are pruned


def cache_dir_for(workspace: Workspace, config: Config) -> Path:
    if config.path is not None:
        return config.path.parent / CACHE_DIR_NAME
    if workspace.base is not None:
        return workspace.base / CACHE_DIR_NAME
    return Path.cwd() / CACHE_DIR_NAME


def _project_files(workspace: Workspace) -> list[Path]:
    """Files outside the sources that change how code is resolved."""
    found: set[Path] = set()
    for root in workspace.roots:
        for directory in [root.path, *root.path.parents][:4]:
            for name in ("convex.json", "tsconfig.json"):
                candidate = directory / name
                if candidate.is_file():
                    found.add(candidate)
    return sorted(found)


def cache_key(
    workspace: Workspace,
    config: Config,
    targets: list[Path] | None,
    select: list[str],
    ignore: list[str],
) -> str:
    digest = hashlib.sha256()
    settings = {
        "format": FORMAT,
        "version": __version__,
        "config": {k: _plain(v) for k, v in sorted(dataclasses.asdict(config).items()) if k != "path"},
        "select": select,
        "ignore": ignore,
        "targets": [str(t) for t in targets] if targets is not None else None,
        "roots": [str(r.path) for r in workspace.roots],
        "scope": str(workspace.scope) if workspace.scope is not None else None,  # roles read it
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in [*workspace.files(), *_project_files(workspace)]:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as error:
            digest.update(f"unreadable:{error.errno}".encode())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Severity):
        return value.label
    if hasattr(value, "value"):
        return value.value
    return value


# -- (de)serialisation ---------------------------------------------------------------------


def _span(span: Span) -> list[Any]:
    return [str(span.path), span.start, span.end]


def _unspan(data: list[Any]) -> Span:
    return Span(Path(data[0]), int(data[1]), int(data[2]))


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "title": fix.title,
        "applicability": fix.applicability.value,
        "edits": [[str(e.path), e.start, e.end, e.new_text] for e in fix.edits],
    }


def _unfix(data: dict[str, Any] | None) -> Fix | None:
    if data is None:
        return None
    edits = tuple(Edit(Path(p), int(s), int(e), str(t)) for p, s, e, t in data["edits"])
    return Fix(str(data["title"]), edits, Applicability(data["applicability"]))


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "code": finding.code,
        "severity": finding.severity.label,
        "span": _span(finding.span),
        "message": finding.message,
        "related": [[_span(r.span), r.message] for r in finding.related],
        "fix": _fix(finding.fix),
        "alternatives": [_fix(f) for f in finding.alternatives],
        "function": finding.function,
        "limit_risk": finding.limit_risk,
        "role": finding.role,
        "cost": finding.cost.to_dict() if finding.cost is not None else None,
    }


def _unfinding(data: dict[str, Any]) -> Finding:
    return Finding(
        rule=data["rule"],
        code=data["code"],
        severity=Severity.parse(data["severity"]),
        span=_unspan(data["span"]),
        message=data["message"],
        related=[Related(_unspan(s), m) for s, m in data["related"]],
        fix=_unfix(data["fix"]),
        alternatives=[f for f in (_unfix(a) for a in data["alternatives"]) if f is not None],
        function=data["function"],
        limit_risk=bool(data.get("limit_risk", False)),
        role=str(data.get("role", "production")),
        cost=Cost.from_dict(data["cost"]) if data.get("cost") else None,
    )


def load(directory: Path, key: str) -> CheckResult | None:
    """The cached result for `key`, or None (missing, unreadable or from another format)."""
    path = directory / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("key") != key:
            return None
        result = CheckResult(
            findings=[_unfinding(f) for f in data["findings"]],
            files=int(data["files"]),
            problems=[FileProblem(Path(p), m) for p, m in data["problems"]],
            failures=[],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    os.utime(path)  # most recently used
    return result


def store(directory: Path, key: str, result: CheckResult) -> None:
    """Write the entry atomically; a failure to cache never fails the run."""
    if result.failures:
        return  # never cache a run in which a rule crashed
    data = {
        "format": FORMAT,
        "key": key,
        "version": __version__,
        "files": result.files,
        "findings": [_finding(f) for f in result.findings],
        "problems": [[str(p.path), p.message] for p in result.problems],
    }
    try:
        directory.mkdir(parents=True, exist_ok=True)
        gitignore = directory / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("*\n", encoding="utf-8")
        fd, temp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temp, directory / f"{key}.json")
        entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
    except OSError:
        return
