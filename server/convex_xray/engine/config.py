"""`convex-xray.toml`: discovered upward from the checked path; every mistake is a precise error."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convex_xray.engine.findings import Severity
from convex_xray.engine.model import FunctionKind
from convex_xray.engine.registry import resolve_rule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CONFIG_NAME = "convex-xray.toml"
OFF = "off"


class ConfigError(Exception):
    """A bad configuration: which file, which key, and why."""

    def __init__(self, path: Path | None, key: str | None, why: str) -> None:
        self.path = path
        self.key = key
        self.why = why
        where = str(path) if path else "<settings>"
        super().__init__(f"{where}: {key}: {why}" if key else f"{where}: {why}")


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
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, None, f"invalid TOML: {error}") from None
    return config_from_dict(raw, path)


def config_from_dict(raw: dict[str, Any], path: Path | None = None) -> Config:

    config = Config(path=path)
    for key in raw:
        if key not in _KNOWN_KEYS:
            raise ConfigError(path, key, f"unknown key (known: {', '.join(sorted(_KNOWN_KEYS))})")

    def rule_list(key: str) -> list[str]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(path, key, "must be a list of rule slugs or codes")
        slugs = []
        for item in value:
            rule = resolve_rule(item)
            if rule is None:
                raise ConfigError(path, key, f"unknown rule {item!r}")
            slugs.append(rule.meta.slug)
        return slugs

    def positive_int(key: str, default: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(path, key, f"must be a positive integer, got {value!r}")
        return value

    config.select = rule_list("select")
    config.ignore = rule_list("ignore")
    config.take_limit = positive_int("take-limit", config.take_limit)
    config.large_take = positive_int("large-take", config.large_take)
    config.fetch_timeout_ms = positive_int("fetch-timeout-ms", config.fetch_timeout_ms)

    severities = raw.get("severity", {})
    if not isinstance(severities, dict):
        raise ConfigError(path, "severity", "must be a table of rule = level")
    for name, level in severities.items():
        rule = resolve_rule(name)
        if rule is None:
            raise ConfigError(path, f"severity.{name}", "unknown rule")
        if not isinstance(level, str):
            raise ConfigError(path, f"severity.{name}", "must be error, warning, info, hint or off")
        if level.lower() == OFF:
            config.severity[rule.meta.slug] = None
            continue
        try:
            config.severity[rule.meta.slug] = Severity.parse(level)
        except ValueError as error:
            raise ConfigError(path, f"severity.{name}", str(error)) from None

    small = raw.get("small-tables", [])
    if not isinstance(small, list) or not all(isinstance(v, str) for v in small):
        raise ConfigError(path, "small-tables", "must be a list of table names")
    config.small_tables = set(small)

    exclude = raw.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(v, str) for v in exclude):
        raise ConfigError(path, "exclude", "must be a list of glob patterns")
    config.exclude = list(exclude)

    builders = raw.get("builders", {})
    if not isinstance(builders, dict):
        raise ConfigError(path, "builders", "must be a table like `query = [\"authedQuery\"]`")
    for kind_name, names in builders.items():
        kind = _BUILDER_KINDS.get(kind_name)
        if kind is None:
            raise ConfigError(path, f"builders.{kind_name}", f"unknown function kind (use one of {', '.join(k for k in _BUILDER_KINDS if '-' in k or k in ('query', 'mutation', 'action'))})")
        if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
            raise ConfigError(path, f"builders.{kind_name}", "must be a list of function names")
        for name in names:
            config.builders[name] = kind

    fail_on = raw.get("fail-on", "warning")
    if not isinstance(fail_on, str):
        raise ConfigError(path, "fail-on", "must be error, warning, info or hint")
    try:
        config.fail_on = Severity.parse(fail_on)
    except ValueError as error:
        raise ConfigError(path, "fail-on", str(error)) from None
    return config
