"""Code roles: production code, tests and scripts are judged differently.

A test's N+1 loop costs nothing in production and a one-off migration runs once, so their
findings would drown the signal of the code that serves users. Tests are never reported
above info; scripts (scripts/, migrations/, seeds, dev-only code) are reported at info unless
the finding says a Convex per-function limit is at risk (32,000 documents or 16 MiB read,
4,096 calls, one paginated query per function: e.g. a whole table read in one function whose
estimated size reaches 32,000 documents under `[cost]`, or `.paginate()` in a loop), which
breaks a script as surely as production code.

Example code is judged like scripts too: a Convex root that sits under a folder of examples,
demos, templates or samples inside the directory the user checked (a component repository's
`example/convex`) shows how to use something; it serves no users. Only the folders between
the checked directory and the Convex root count, so an app checked from inside its own
`examples/foo` is production code. Evals are not in the list: an eval's reference answer is
the code a model is graded against, so what it reads is part of what it teaches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from convex_xray.engine.findings import Finding, Severity

PRODUCTION = "production"
TEST = "test"
SCRIPT = "script"
ROLES = (PRODUCTION, TEST, SCRIPT)

# Matched against the path from the file's Convex root (see `role_of`, `_matches`).
DEFAULT_TEST = (
    "*.test.*",
    "*.spec.*",
    "**/__tests__/**",
    "**/tests/**",
    "**/test/**",
    "**/__mocks__/**",
    # End-to-end fixtures deployed beside the app (`e2e_actions.ts`, `e2e/seed.ts`): they serve
    # the test runner, not users.
    "e2e*",
    "*.e2e.*",
    "*_e2e.*",
    "**/e2e/**",
)
DEFAULT_SCRIPT = (
    "**/scripts/**",
    "**/script/**",
    "**/migrations/**",
    "**/migration/**",
    "*migrations.*",  # `provider_migrations.ts`, `userMigrations.ts` (not `migrationStatus.ts`)
    "*migration.*",
    "*Migrations.*",
    "*Migration.*",
    "seed*",
    "**/seeds/**",
    "**/seed/**",  # folders of seed code: `seed/`, `demoSeed/`, `demo_seed/` (not `seeder_utils/`)
    "**/*Seed/**",
    "**/*Seeds/**",
    "**/*_seed/**",
    "**/*-seed/**",
    "**/dev/**",
    "devOnly*",
    "dev_only*",
)
# Folders of demo code (matched whole, any case) between the checked directory and a Convex root.
EXAMPLE_FOLDERS = frozenset(
    {"example", "examples", "demo", "demos", "template", "templates", "sample", "samples"}
)
# A convex-test suite in a file of any name: it imports the harness.
_TEST_HARNESS = (b'from "convex-test"', b"from 'convex-test'")
# Rules whose findings never change tier with the role (a file that does not parse is broken
# wherever it is).
NEVER_DEMOTED = frozenset({"syntax-error"})


@dataclass
class RolesConfig:
    """`[roles]` in convex-xray.toml: globs added to the defaults; `production` globs win."""

    test: list[str] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    production: list[str] = field(default_factory=list)


@cache  # a pure function of the glob: every finding's file asks for the same few globs
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob: `*` and `?` stay within one folder, `**/` spans any number of them
    (including none), `/**` everything below."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _matches(candidates: list[str], patterns: Iterable[str]) -> bool:
    """Whether a path matches a glob; a glob without `/` matches the file name."""
    for pattern in patterns:
        regex = _glob_regex(pattern)
        for candidate in candidates:
            target = candidate if "/" in pattern else candidate.rsplit("/", 1)[-1]
            if regex.match(target):
                return True
    return False


def _relative(path: Path, bases: Iterable[Path | None]) -> list[str]:
    return [path.relative_to(b).as_posix() for b in bases if b is not None and path.is_relative_to(b)]


def role_of(
    path: Path, root: Path | None, bases: Iterable[Path], config: RolesConfig, data: bytes | None = None
) -> str:
    """The role of `path`. The defaults match its path from its Convex `root` only (a
    project that lives under a folder named `tests/` is not a test); configured globs also
    match from `bases` (the config file's folder, the project). `data` (the file's bytes)
    reveals convex-test suites."""
    bases = list(bases)  # read twice below
    if configured_production(path, root, bases, config):
        return PRODUCTION
    inside = _relative(path, [root]) or [path.name]
    configured = inside + _relative(path, bases)
    if _matches(inside, DEFAULT_TEST) or _matches(configured, config.test):
        return TEST
    if data is not None and uses_test_harness(data):
        return TEST
    if _matches(inside, DEFAULT_SCRIPT) or _matches(configured, config.script):
        return SCRIPT
    return PRODUCTION


def example_folder(root: Path | None, scope: Path | None) -> str | None:
    """The folder of examples a Convex `root` sits in (`apps/examples`), counted from `scope`,
    the directory the user checked (the folders from there down to the root, not the root's
    own files nor anything above the checked directory), or None."""
    if root is None or scope is None or not root.is_relative_to(scope):
        return None
    parts = root.relative_to(scope).parts
    for index, part in enumerate(parts):
        if part.lower() in EXAMPLE_FOLDERS:
            return "/".join(parts[: index + 1])
    return None


def uses_test_harness(data: bytes) -> bool:
    """Whether the text imports convex-test (all `role_of` reads of a file's text)."""
    return any(marker in data for marker in _TEST_HARNESS)


def configured_production(path: Path, root: Path | None, bases: Iterable[Path], config: RolesConfig) -> bool:
    """Whether a `[roles] production` glob names the file (it then stays production whatever
    the code says about itself)."""
    if not config.production:
        return False
    inside = _relative(path, [root]) or [path.name]
    return _matches(inside + _relative(path, bases), config.production)


def apply_role(finding: Finding, role: str) -> None:
    """Record the role and cap the tier it allows."""
    finding.role = role
    if finding.rule in NEVER_DEMOTED:
        return
    if role == TEST or (role == SCRIPT and not finding.limit_risk):
        finding.severity = min(finding.severity, Severity.INFO)
