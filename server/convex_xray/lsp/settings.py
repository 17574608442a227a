"""Editor settings (section `convexXray`): nested, fully defaulted, structured with cattrs.

A bad value never stops the server: it is reported (the caller shows and logs the
problems) and that key keeps its default. Editor settings are merged over the project's
`convex-xray.toml`; a key left at its default does not override the project's value
(clients such as VS Code always send every key).
"""

from __future__ import annotations

import enum
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from convex_xray.engine.config import OFF, Config
from convex_xray.engine.findings import Severity
from convex_xray.engine.registry import resolve_rule

SECTION = "convexXray"


class RunMode(enum.Enum):
    ON_TYPE = "onType"
    ON_SAVE = "onSave"


@attrs.define
class CodeLensSettings:
    enable: bool = True


@attrs.define
class Settings:
    run: RunMode = RunMode.ON_TYPE
    debounce_ms: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    unsafe_fixes: bool = False
    select: list[str] = attrs.Factory(list)
    ignore: list[str] = attrs.Factory(list)
    severity: dict[str, str] = attrs.Factory(dict)
    take_limit: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    code_lens: CodeLensSettings = attrs.Factory(CodeLensSettings)
    config_file: str | None = None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _strict(kind: type) -> Any:
    def structure(value: Any, _: type) -> Any:
        # bool is an int in Python; neither may pass for the other here.
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)
    for kind in (bool, int, str):
        converter.register_structure_hook(kind, _strict(kind))

    def severity_level(value: Any, _: type) -> str:
        if not isinstance(value, str) or (
            value.strip().lower() != OFF and value.strip().upper() not in Severity.__members__
        ):
            raise ValueError(f"{value!r} is not one of error, warning, info, hint, off")
        return value.strip().lower()

    def severity_map(value: Any, _: type) -> dict[str, str]:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object of rule: level, got {value!r}")
        return {str(k): severity_level(v, str) for k, v in value.items()}

    converter.register_structure_hook_func(lambda t: t == dict[str, str], severity_map)

    def string_list(value: Any, _: type) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"expected a list of strings, got {value!r}")
        return [v.strip() for v in value if v.strip()]

    converter.register_structure_hook_func(lambda t: t == list[str], string_list)

    def optional_str(value: Any, _: type) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise TypeError(f"expected a path or null, got {value!r}")
        return value.strip()

    converter.register_structure_hook_func(lambda t: t == (str | None), optional_str)

    def attrs_hook(cls: type) -> Any:
        renames: dict[str, Any] = {
            f.name: override(rename=_camel(f.name)) for f in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, converter, **renames)

    converter.register_structure_hook_factory(attrs.has, attrs_hook)
    return converter


_CONVERTER = _make_converter()
_KEYS = {_camel(f.name): f.name for f in attrs.fields(Settings)}


def _describe(error: BaseException) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        leaves = [_describe(e) for e in error.exceptions]
        return "; ".join(leaves) or str(error)
    text = str(error)
    for name, key in ((n, k) for k, n in _KEYS.items()):
        text = text.replace(f"'{name}'", f"`{key}`")
    return text


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from an editor payload (`{...}`, `{"settings": {...}}` or `{"convexXray": {...}}`).

    Returns the settings and human-readable problems; each bad key keeps its default.
    """
    if raw is None:
        return Settings(), []
    if isinstance(raw, dict) and set(raw) <= {"settings", SECTION} and raw:
        raw = raw.get("settings", raw.get(SECTION))
        if raw is None:
            return Settings(), []
    if not isinstance(raw, dict):
        return Settings(), [
            f"{SECTION}: expected an object of settings, got {raw!r}; using the defaults"
        ]
    problems: list[str] = []
    good: dict[str, Any] = {}
    # Dotted keys (`codeLens.enable`) as some clients send them.
    payload: dict[str, Any] = {}
    for key, value in raw.items():
        if "." in key:
            head, _, tail = key.partition(".")
            nested = payload.setdefault(head, {})
            if isinstance(nested, dict):
                nested[tail] = value
        else:
            payload[key] = value
    for key, value in payload.items():
        if key not in _KEYS:
            continue  # client-only keys (path, interpreter, trace) are not ours
        try:
            _CONVERTER.structure({key: value}, Settings)
        except Exception as error:
            problems.append(f"{SECTION}.{key}: {_describe(error)}; using the default")
            continue
        good[key] = value
    try:
        return _CONVERTER.structure(good, Settings), problems
    except Exception as error:  # pragma: no cover - every key was validated alone
        return Settings(), [*problems, f"{SECTION}: {_describe(error)}; using the defaults"]


def _rule_slugs(names: list[str], key: str, problems: list[str]) -> list[str]:
    slugs = []
    for name in names:
        rule = resolve_rule(name)
        if rule is None:
            problems.append(f"{SECTION}.{key}: unknown rule {name!r}; ignored")
            continue
        slugs.append(rule.meta.slug)
    return slugs


def merge_config(settings: Settings, project: Config) -> tuple[Config, list[str]]:
    """The project's config with the editor settings on top."""
    problems: list[str] = []
    defaults = Settings()
    config = replace(
        project,
        select=list(project.select),
        ignore=list(project.ignore),
        severity=dict(project.severity),
    )
    select = _rule_slugs(settings.select, "select", problems)
    if select:
        config.select = select
    for slug in _rule_slugs(settings.ignore, "ignore", problems):
        if slug not in config.ignore:
            config.ignore.append(slug)
    for name, level in settings.severity.items():
        rule = resolve_rule(name)
        if rule is None:
            problems.append(f"{SECTION}.severity: unknown rule {name!r}; ignored")
            continue
        config.severity[rule.meta.slug] = None if level == OFF else Severity.parse(level)
    if settings.take_limit != defaults.take_limit:
        config.take_limit = settings.take_limit
    return config, problems


def config_file_for(settings: Settings, folder: Path) -> Path | None:
    """The explicit config file of the settings, relative to the folder."""
    if settings.config_file is None:
        return None
    text = re.sub(r"\$\{workspaceFolder\}", str(folder), settings.config_file)
    path = Path(text).expanduser()
    return path if path.is_absolute() else folder / path
