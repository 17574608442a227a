"""`convex-xray.toml`: every key, precise errors (file, key, why), discovery upward, --config."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from convex_xray.cli.main import main
from convex_xray.engine.config import (
    CONFIG_NAME,
    Config,
    ConfigError,
    config_from_dict,
    find_config,
    load_config,
)
from convex_xray.engine.findings import Severity
from convex_xray.engine.model import FunctionKind
from tests.support.project import DEFAULT_SCHEMA, check_project, write_project


def write_config(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONFIG_NAME
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_defaults():
    config = load_config(None)
    assert config == Config()
    assert (config.select, config.ignore, config.severity) == ([], [], {})
    assert (config.take_limit, config.large_take, config.fetch_timeout_ms) == (100, 500, 10_000)
    assert config.small_tables == set() and config.builders == {} and config.exclude == []
    assert config.fail_on is Severity.WARNING
    assert config.base is None


def test_every_key(tmp_path):
    path = write_config(
        tmp_path,
        """
        select = ["unbounded-collect", "CX301"]
        ignore = ["better-auth-id-field"]
        take-limit = 25
        large-take = 1000
        small-tables = ["settings", "featureFlags"]
        exclude = ["convex/legacy/**", "**/*.test.ts"]
        fail-on = "error"
        fetch-timeout-ms = 3000

        [severity]
        unbounded-collect = "info"
        CX301 = "hint"
        better-auth-id-field = "off"

        [builders]
        query = ["authedQuery", "orgQuery"]
        mutation = ["authedMutation"]
        action = ["authedAction"]
        internal-query = ["iq"]
        internal-mutation = ["im"]
        internalAction = ["ia"]
        """,
    )
    config = load_config(path)
    assert config.path == path and config.base == tmp_path
    assert config.select == ["unbounded-collect", "unknown-index"]  # codes become slugs
    assert config.ignore == ["better-auth-id-field"]
    assert (config.take_limit, config.large_take, config.fetch_timeout_ms) == (25, 1000, 3000)
    assert config.small_tables == {"settings", "featureFlags"}
    assert config.exclude == ["convex/legacy/**", "**/*.test.ts"]
    assert config.fail_on is Severity.ERROR
    assert config.severity == {
        "unbounded-collect": Severity.INFO,
        "unknown-index": Severity.HINT,
        "better-auth-id-field": None,
    }
    assert config.builders == {
        "authedQuery": FunctionKind.QUERY,
        "orgQuery": FunctionKind.QUERY,
        "authedMutation": FunctionKind.MUTATION,
        "authedAction": FunctionKind.ACTION,
        "iq": FunctionKind.INTERNAL_QUERY,
        "im": FunctionKind.INTERNAL_MUTATION,
        "ia": FunctionKind.INTERNAL_ACTION,
    }


@pytest.mark.parametrize(
    ("raw", "key", "why"),
    [
        ({"selct": []}, "selct", "unknown key"),
        ({"select": "unbounded-collect"}, "select", "must be a list of rule slugs or codes"),
        ({"select": ["no-such-rule"]}, "select", "unknown rule 'no-such-rule'"),
        ({"ignore": [1]}, "ignore", "must be a list"),
        ({"take-limit": 0}, "take-limit", "must be a positive integer, got 0"),
        ({"take-limit": "10"}, "take-limit", "must be a positive integer, got '10'"),
        ({"take-limit": True}, "take-limit", "must be a positive integer, got True"),
        ({"large-take": -1}, "large-take", "must be a positive integer"),
        ({"fetch-timeout-ms": 1.5}, "fetch-timeout-ms", "must be a positive integer"),
        ({"severity": "warning"}, "severity", "must be a table"),
        ({"severity": {"nope": "info"}}, "severity.nope", "unknown rule"),
        (
            {"severity": {"unbounded-collect": "loud"}},
            "severity.unbounded-collect",
            "unknown severity 'loud'",
        ),
        (
            {"severity": {"unbounded-collect": 3}},
            "severity.unbounded-collect",
            "must be error, warning, info, hint or off",
        ),
        ({"small-tables": "settings"}, "small-tables", "must be a list of table names"),
        ({"exclude": [1, 2]}, "exclude", "must be a list of glob patterns"),
        ({"builders": ["authedQuery"]}, "builders", "must be a table"),
        ({"builders": {"querry": ["x"]}}, "builders.querry", "unknown function kind"),
        (
            {"builders": {"query": "authedQuery"}},
            "builders.query",
            "must be a list of function names",
        ),
        ({"fail-on": "never"}, "fail-on", "unknown severity 'never'"),
        ({"fail-on": 2}, "fail-on", "must be error, warning, info or hint"),
    ],
)
def test_errors_name_the_file_the_key_and_why(tmp_path, raw, key, why):
    path = tmp_path / CONFIG_NAME
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, path)
    error = caught.value
    assert (error.path, error.key) == (path, key)
    assert why in error.why
    assert str(error).startswith(f"{path}: {key}: ")


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(
        ConfigError, match=r"unknown key \(known: builders, cost, exclude, .*take-limit\)"
    ):
        config_from_dict({"nope": 1})


def test_toml_syntax_error_names_the_file_and_the_line(tmp_path):
    path = write_config(tmp_path, 'select = ["unbounded-collect"\ntake-limit = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == path and caught.value.key is None
    assert "invalid TOML" in caught.value.why and "line" in caught.value.why


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    path = tmp_path / CONFIG_NAME
    path.write_bytes(b"select = ['\xff']")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


# -- discovery ----------------------------------------------------------------------------------------


def test_found_upward_from_the_checked_path(tmp_path):
    path = write_config(tmp_path / "repo", "take-limit = 7\n")
    (tmp_path / "repo" / "convex" / "lib").mkdir(parents=True)
    (tmp_path / "repo" / "convex" / "lib" / "a.ts").write_text("")
    assert find_config(tmp_path / "repo") == path
    assert find_config(tmp_path / "repo" / "convex" / "lib") == path
    assert find_config(tmp_path / "repo" / "convex" / "lib" / "a.ts") == path


def test_nearest_config_wins(tmp_path):
    write_config(tmp_path / "repo", "take-limit = 7\n")
    inner = write_config(tmp_path / "repo" / "packages" / "backend", "take-limit = 8\n")
    (tmp_path / "repo" / "packages" / "backend" / "convex").mkdir()
    assert find_config(tmp_path / "repo" / "packages" / "backend" / "convex") == inner


def test_discovery_stops_at_the_repository_root(tmp_path):
    write_config(tmp_path, "take-limit = 7\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "convex").mkdir()
    assert find_config(tmp_path / "repo" / "convex") is None


# -- the CLI: exit 2 with the precise message; --config; keys take effect ---------------------------------

COLLECT = {
    "messages.ts": """
    export const recent = query({
      args: { orgId: v.id("orgs") },
      handler: async (ctx, args) => {
        // A whole org's activity log to keep ten: a warning (a parent's few children, or an
        // org's members, would be info).
        const all = await ctx.db.query("activityLogs").withIndex("by_orgId", (q) => q.eq("orgId", args.orgId)).collect();
        return all.slice(0, 10);
      },
    });
    """
}


LOG_SCHEMA = DEFAULT_SCHEMA.replace(
    "export default defineSchema({",
    'export default defineSchema({\n  activityLogs: defineTable({ orgId: v.id("orgs") }).index("by_orgId", ["orgId"]),',
)


@pytest.fixture
def app(tmp_path):
    return write_project(tmp_path / "app", COLLECT, schema=LOG_SCHEMA)


def test_cli_bad_config_exits_2_with_file_key_and_why(app, capsys):
    path = write_config(app, "take-limit = -3\n")
    code = main(["check", str(app)])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err.strip()
        == f"convex-xray: config error: {path}: take-limit: must be a positive integer, got -3"
    )


def test_cli_toml_syntax_error_exits_2(app, capsys):
    path = write_config(app, "select = [\n")
    assert main(["check", str(app)]) == 2
    err = capsys.readouterr().err
    assert f"config error: {path}: invalid TOML" in err
    assert "Traceback" not in err


def test_cli_explicit_config(app, tmp_path, capsys):
    elsewhere = write_config(tmp_path / "configs", 'ignore = ["unbounded-collect"]\n')
    assert main(["check", str(app), "--format", "json"]) == 1
    capsys.readouterr()
    assert main(["check", str(app), "--config", str(elsewhere)]) == 0
    capsys.readouterr()
    assert main(["check", str(app), "--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: file not found" in capsys.readouterr().err


def test_config_keys_take_effect(app):
    _, result = check_project(app, select=["unbounded-collect"])
    finding = result.findings[0]
    assert finding.severity is Severity.WARNING and finding.fix is not None

    config = config_from_dict({"severity": {"unbounded-collect": "hint"}, "take-limit": 37})
    _, result = check_project(app, select=["unbounded-collect"], config=config)
    assert [f.severity for f in result.findings] == [Severity.HINT]

    config = config_from_dict({"small-tables": ["activityLogs"]})
    _, result = check_project(app, select=["unbounded-collect"], config=config)
    assert result.findings == []

    config = config_from_dict({"severity": {"unbounded-collect": "off"}})
    _, result = check_project(app, config=config)
    assert "unbounded-collect" not in {f.rule for f in result.findings}


def test_take_limit_is_the_n_the_message_suggests_and_no_truncating_fix(tmp_path):
    """The whole range is returned: `.take(37)` would drop rows, so it is advice, not a fix."""
    project = write_project(
        tmp_path / "p",
        {
            "a.ts": """
            export const all = query({
              args: {},
              handler: async (ctx, args) => {
                return await ctx.db.query("comments").withIndex("by_postId", (q) => q.eq("postId", args.id)).collect();
              },
            });
            """
        },
    )
    config = config_from_dict({"take-limit": 37})
    _, result = check_project(project, select=["unbounded-collect"], config=config)
    assert result.findings[0].fix is None
    assert "`.take(37)`" in result.findings[0].message


def test_cli_fail_on_from_config(app, capsys):
    write_config(app, 'fail-on = "error"\n')
    assert main(["check", str(app)]) == 0  # only warnings
    capsys.readouterr()
    assert main(["check", str(app), "--fail-on", "warning"]) == 1  # the flag wins


def test_cli_exclude_from_config(app, capsys):
    write_config(app, 'exclude = ["convex/messages.ts"]\n')
    assert main(["check", str(app), "--format", "json"]) == 0
    assert '"files": 1' in capsys.readouterr().out  # only schema.ts is left


def test_cli_builders_from_config(tmp_path, capsys):
    project = write_project(
        tmp_path / "b",
        {
            "a.ts": """
            export const list = teamQuery(async (ctx) => {
              const all = await ctx.db.query("activityLogs").withIndex("by_orgId", (q) => q.eq("orgId", "x")).collect();
              return all.length;
            });
            """
        },
        schema=LOG_SCHEMA,
    )
    assert main(["check", str(project), "--select", "unbounded-collect"]) == 0
    capsys.readouterr()
    write_config(project, '[builders]\nquery = ["teamQuery"]\n')
    assert main(["check", str(project), "--select", "unbounded-collect"]) == 1


def test_every_mistake_at_once_with_suggestions(tmp_path):
    path = tmp_path / CONFIG_NAME
    raw = {
        "selct": ["unbounded-collect"],
        "ignore": ["unbounded-colect", "filter-without-index"],
        "take-limit": 0,
        "severity": {"large-take": "warn", "unknown-index": "off", "n-plus-one-red": "error"},
        "fail-on": "eror",
        "builders": {"querry": ["authedQuery"]},
    }
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, path)
    error = caught.value
    keys = [key for key, _ in error.problems]
    assert keys == ["selct", "ignore", "ignore", "take-limit", "severity.large-take", "severity.n-plus-one-red", "builders.querry", "fail-on"]
    why: dict[str, str] = {}
    for key, text in error.problems:
        why.setdefault(key, text)  # the first per key
    assert "did you mean 'select'?" in why["selct"]
    assert "did you mean 'unbounded-collect'?" in why["ignore"]
    assert "'filter-without-index'" in str(error) and "did you mean" not in str(error).split("filter-without-index")[1].split("\n")[0]
    assert "did you mean 'warning'?" in why["severity.large-take"] and "error, warning, info, hint or off" in why["severity.large-take"]
    assert "did you mean 'n-plus-one-read'?" in why["severity.n-plus-one-red"]
    assert "did you mean 'query'?" in why["builders.querry"]
    assert "did you mean 'error'?" in why["fail-on"]
    assert str(error).startswith(f"{path}: 8 problems:\n  selct: unknown key")
    assert len(str(error).splitlines()) == 9


def test_readme_lists_every_key_and_it_parses():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib

    from convex_xray.engine.config import _KNOWN_KEYS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Configuration")[1].split("```toml\n")[1].split("```")[0]
    raw = tomllib.loads(block)
    assert set(raw) == _KNOWN_KEYS  # every key, and only real ones
    config_from_dict(raw)  # the example is valid as copied
    assert "error | warning | info | hint | off" in block
