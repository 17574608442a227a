"""The convex-xray language server: thin LSP handlers over the same engine as the CLI."""
