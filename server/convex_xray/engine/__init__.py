"""The language-neutral engine: text in, findings out (no LSP, no argv)."""
