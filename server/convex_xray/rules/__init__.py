"""The rules: one module per anti-pattern, each with its documentation as the module docstring."""
