"""`convex-xray.toml`: discovered upward from the checked path; every mistake is a precise error."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convex_xray.engine.cost import CostAssumptions
from convex_xray.engine.findings import Severity
from convex_xray.engine.model import FunctionKind
from convex_xray.engine.registry import all_rules, resolve_rule
from convex_xray.engine.roles import ROLES, RolesConfig

CONFIG_NAME = "convex-xray.toml"
OFF = "off"


class ConfigError(Exception):
    """A bad configuration: which file, which key, and why. A file with several mistakes
    raises one error listing all of them (`problems`, each `(key, why)`); `key` and `why`
    are the first."""

    def __init__(self, path: Path | None, key: str | None, why: str, problems: list[tuple[str | None, str]] | None = None) -> None:
        self.path = path
        self.problems = problems or [(key, why)]
        self.key, self.why = self.problems[0]
        where = str(path) if path else "<settings>"
        lines = [f"{k}: {w}" if k else w for k, w in self.problems]
        if len(lines) == 1:
            super().__init__(f"{where}: {lines[0]}")
        else:
            super().__init__(f"{where}: {len(lines)} problems:\n" + "\n".join(f"  {line}" for line in lines))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a choice is close to `word`, else ``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class Config:
    path: Path | None = None
    select: list[str] = field(default_factory=list)  # empty = all rules
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity | None] = field(default_factory=dict)  # None = off
    take_limit: int = 100
    large_take: int = 500  # `.take(n)` at or above this is "all" in disguise
    small_tables: set[str] = field(default_factory=set)
    builders: dict[str, FunctionKind] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    fail_on: Severity = Severity.WARNING
    fetch_timeout_ms: int = 10_000
    roles: RolesConfig = field(default_factory=RolesConfig)
    cost: CostAssumptions = field(default_factory=CostAssumptions)

    @property
    def base(self) -> Path | None:
        return self.path.parent if self.path else None


_BUILDER_KINDS = {
    "query": FunctionKind.QUERY,
    "mutation": FunctionKind.MUTATION,
    "action": FunctionKind.ACTION,
    "internal-query": FunctionKind.INTERNAL_QUERY,
    "internal-mutation": FunctionKind.INTERNAL_MUTATION,
    "internal-action": FunctionKind.INTERNAL_ACTION,
    "internalQuery": FunctionKind.INTERNAL_QUERY,
    "internalMutation": FunctionKind.INTERNAL_MUTATION,
    "internalAction": FunctionKind.INTERNAL_ACTION,
}

_KNOWN_KEYS = {
    "select",
    "ignore",
    "severity",
    "take-limit",
    "large-take",
    "small-tables",
    "builders",
    "exclude",
    "fail-on",
    "fetch-timeout-ms",
    "roles",
    "cost",
}


def find_config(start: Path) -> Path | None:
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate in [directory, *directory.parents]:
        path = candidate / CONFIG_NAME
        if path.is_file():
            return path
        if (candidate / ".git").exists():
            break
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    # Imported here: most projects have no config file, and the parser costs start-up time.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, None, f"invalid TOML: {error}") from None
    return config_from_dict(raw, path)


LEVELS = "error, warning, info, hint or off"
_FAIL_LEVELS = "error, warning, info or hint"


def config_from_dict(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Validate everything and report every mistake at once (one `ConfigError`)."""
    config = Config(path=path)
    problems: list[tuple[str | None, str]] = []
    rule_names = [name for rule in all_rules() for name in (rule.meta.slug, rule.meta.code)]

    for key in raw:
        if key not in _KNOWN_KEYS:
            problems.append((key, f"unknown key{did_you_mean(key, _KNOWN_KEYS)} (known: {', '.join(sorted(_KNOWN_KEYS))})"))

    def unknown_rule(name: str) -> str:
        return f"unknown rule {name!r}{did_you_mean(name, rule_names)} (see `convex-xray rules`)"

    def rule_list(key: str) -> list[str]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append((key, "must be a list of rule slugs or codes"))
            return []
        slugs = []
        for item in value:
            rule = resolve_rule(item)
            if rule is None:
                problems.append((key, unknown_rule(item)))
                continue
            slugs.append(rule.meta.slug)
        return slugs

    def positive_int(key: str, default: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append((key, f"must be a positive integer, got {value!r}"))
            return default
        return value

    def string_list(key: str, what: str) -> list[str]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append((key, f"must be a list of {what}"))
            return []
        return list(value)

    config.select = rule_list("select")
    config.ignore = rule_list("ignore")
    config.take_limit = positive_int("take-limit", config.take_limit)
    config.large_take = positive_int("large-take", config.large_take)
    config.fetch_timeout_ms = positive_int("fetch-timeout-ms", config.fetch_timeout_ms)

    severities = raw.get("severity", {})
    if not isinstance(severities, dict):
        problems.append(("severity", "must be a table of rule = level"))
        severities = {}
    for name, level in severities.items():
        rule = resolve_rule(name)
        if rule is None:
            problems.append((f"severity.{name}", unknown_rule(name)))
        if not isinstance(level, str):
            problems.append((f"severity.{name}", f"must be {LEVELS}, got {level!r}"))
            continue
        if level.strip().lower() == OFF:
            if rule is not None:
                config.severity[rule.meta.slug] = None
            continue
        try:
            parsed = Severity.parse(level)
        except ValueError:
            choices = [s.label for s in Severity] + [OFF]
            problems.append((f"severity.{name}", f"unknown severity {level!r}{did_you_mean(level.lower(), choices)} (expected {LEVELS})"))
            continue
        if rule is not None:
            config.severity[rule.meta.slug] = parsed

    config.small_tables = set(string_list("small-tables", "table names"))
    config.exclude = string_list("exclude", "glob patterns")

    builders = raw.get("builders", {})
    if not isinstance(builders, dict):
        problems.append(("builders", "must be a table like `query = [\"authedQuery\"]`"))
        builders = {}
    for kind_name, names in builders.items():
        kind = _BUILDER_KINDS.get(kind_name)
        if kind is None:
            problems.append((f"builders.{kind_name}", f"unknown function kind{did_you_mean(kind_name, _BUILDER_KINDS)} (use one of {', '.join(_BUILDER_KINDS)})"))
            continue
        if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
            problems.append((f"builders.{kind_name}", "must be a list of function names"))
            continue
        for name in names:
            config.builders[name] = kind

    roles = raw.get("roles", {})
    if not isinstance(roles, dict):
        problems.append(("roles", 'must be a table like `test = ["e2e/**"]`'))
        roles = {}
    for role, patterns in roles.items():
        if role not in ROLES:
            problems.append((f"roles.{role}", f"unknown role{did_you_mean(role, ROLES)} (use one of {', '.join(ROLES)})"))
        elif not isinstance(patterns, list) or not all(isinstance(v, str) for v in patterns):
            problems.append((f"roles.{role}", "must be a list of glob patterns"))
        else:
            setattr(config.roles, role, list(patterns))

    config.cost = _cost_assumptions(raw.get("cost", {}), problems)

    fail_on = raw.get("fail-on", "warning")
    if not isinstance(fail_on, str):
        problems.append(("fail-on", f"must be {_FAIL_LEVELS}"))
    else:
        try:
            config.fail_on = Severity.parse(fail_on)
        except ValueError:
            choices = [s.label for s in Severity]
            problems.append(("fail-on", f"unknown severity {fail_on!r}{did_you_mean(fail_on.lower(), choices)} (expected {_FAIL_LEVELS})"))
    if problems:
        raise ConfigError(path, None, "", problems)
    return config


_COST_KEYS = {
    "per-parent": "per_parent",
    "per-tenant": "per_tenant",
    "table": "table",
    "client-array": "client_array",
    "page": "page",
    "warn-score": "warn_score",
    "conditional-share": "conditional_share",
    "per-parent-log": "per_parent_log",
    "reference": "reference",
    "in-flight": "in_flight",
    "per-closed-parent": "per_closed_parent",
}
_COST_LISTS = {"log-tables": "log_tables", "growing-tables": "growing_tables"}


def _cost_assumptions(raw: object, problems: list[tuple[str | None, str]]) -> CostAssumptions:
    """`[cost]`: the sizes assumed where the code does not say (`per-tenant = 500`). Mistakes
    go to `problems`, reported with every other one (a bad key keeps its default)."""
    if not isinstance(raw, dict):
        problems.append(("cost", "must be a table like `per-tenant = 500`"))
        return CostAssumptions()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _COST_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                problems.append((f"cost.{key}", f"must be a list of table names, got {value!r}"))
            else:
                values[_COST_LISTS[key]] = frozenset(value)
            continue
        name = _COST_KEYS.get(key)
        if name is None:
            known = sorted({*_COST_KEYS, *_COST_LISTS})
            spelled = key.replace("_", "-")  # TOML keys here use dashes: `per_parent` means `per-parent`
            problems.append((f"cost.{key}", f"unknown key{did_you_mean(spelled, known)} (known: {', '.join(known)})"))
        elif isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append((f"cost.{key}", f"must be a positive integer, got {value!r}"))
        elif name == "conditional_share" and value > 100:
            problems.append((f"cost.{key}", f"is a percentage (1-100), got {value!r}"))
        else:
            values[name] = value
    return CostAssumptions(**values)
