"""The files changed since a git ref, for `check --changed-since REF`.

This is the only place convex-xray runs a subprocess, and only for that CLI flag: the
language server and a plain `check` never run git (or anything else).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

GIT_TIMEOUT_S = 60


class GitError(Exception):
    """git is missing, the directory is not a work tree, or the ref is unknown."""


def _git(args: list[str], cwd: Path) -> str:
    git = shutil.which("git")
    if git is None:
        raise GitError("--changed-since needs git, and git is not on PATH")
    try:
        done = subprocess.run(
            [git, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"`git {' '.join(args)}` took longer than {GIT_TIMEOUT_S}s") from None
    except OSError as error:
        raise GitError(f"cannot run git: {error}") from None
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise GitError(
            message[-1] if message else f"`git {' '.join(args)}` failed ({done.returncode})"
        )
    return done.stdout


def repository_root(start: Path) -> Path:
    directory = start if start.is_dir() else start.parent
    try:
        out = _git(["rev-parse", "--show-toplevel"], directory)
    except GitError as error:
        raise GitError(f"{start}: not inside a git work tree ({error})") from None
    return Path(out.strip()).resolve()


def changed_files(ref: str, start: Path) -> list[Path]:
    """Files that differ from `ref` (committed since, staged or not) plus untracked files
    that are not ignored, as absolute paths that exist now.

    When `ref` is a branch that has moved on (a pull request's base), changes are taken
    from the merge base, so the base branch's own new commits do not count as "changed".
    """
    if ref.startswith("-"):
        raise GitError(f"--changed-since expects a git ref, got {ref!r}")
    root = repository_root(start)
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    except GitError:
        raise GitError(
            f"unknown git ref {ref!r} (in a shallow CI clone, fetch it first: `git fetch origin {ref}`)"
        ) from None
    try:
        base = _git(["merge-base", ref, "HEAD"], root).strip() or ref
    except GitError:
        base = ref  # no common history (or a shallow clone): compare with the ref itself
    names = _git(["diff", "--name-only", "-z", "--no-renames", base, "--"], root).split("\0")
    names += _git(["ls-files", "--others", "--exclude-standard", "-z"], root).split("\0")
    found = set()
    for name in names:
        if not name:
            continue
        path = (root / name).resolve()
        if path.is_file():
            found.add(path)
    return sorted(found)
