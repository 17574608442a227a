"""Renderers for check results: text, json, json-lines, github, sarif, junit."""
