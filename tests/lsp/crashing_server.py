"""The language server with one extra rule that always raises: a robustness test runs it as
`python tests/lsp/crashing_server.py` (nothing here is loaded by the real server)."""

from __future__ import annotations

from collections.abc import Iterator

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Finding, Severity
from convex_xray.engine.registry import RuleMeta, all_rules, register

all_rules()  # the real rules first: the registry loads them only while it is empty

META = RuleMeta(
    code="CX999", slug="always-crashes", severity=Severity.WARNING, summary="test only: raises"
)


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    raise RuntimeError(f"boom in {ctx.path.name}")


if __name__ == "__main__":
    from convex_xray.lsp.server import run_server

    run_server()
