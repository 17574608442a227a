"""The command line: `convex-xray check`, `rules`, `explain`, `lsp`; output formats, cache, workers."""
