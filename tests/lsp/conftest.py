"""Fixtures for the language server's end-to-end tests (helpers live in `harness`)."""

from tests.lsp.harness import start  # noqa: F401  (re-exported as a fixture)
