"""The shared test harness: projects from snippets, checks, inline expectations, fixes."""
