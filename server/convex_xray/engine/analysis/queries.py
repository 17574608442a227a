"""The tree-sitter queries that find candidate nodes (run in C) for the analyzer.

One query for the whole file: each `matches` call walks every node of the tree in C, and
that walk, not the number of patterns, is most of its cost (three separate passes cost
2.5x one pass with all their patterns on a 730-file app)."""

from __future__ import annotations

from functools import cache

from tree_sitter import Language, Query

_QUERY_SOURCE = """
; `x.m(...)`, `a.b.m(...)`: every member call, sorted in Python (`FileAnalyzer.run`) into calls of
; the known methods, calls on a plain name, calls on `a.b`, and the plain names passed to them
; (one broad pattern instead of four narrow ones: 10 ms less to compile per grammar and ~13%
; less matching on convex-crm, where `ctx.db.get(x)` matched three of them)
(call_expression
  function: (member_expression object: _ @object property: _ @method)
  arguments: (arguments) @args) @call
; `f(...)` and tagged templates `f`...`` (the analyzer follows calls with an argument list;
; the model keeps calls of imported names either way, for fetch-without-timeout)
(call_expression function: (identifier) @callee) @plain_call
((call_expression
  function: (member_expression object: (identifier) @client property: (property_identifier) @client_method)
  arguments: (arguments . (identifier) @client_ctx)) @client_call
 (#any-of? @client_ctx "ctx" "context"))
; `const x = f(...)` / `new C(...)` / `await f(...)`: candidates for factory-made readers
(variable_declarator name: (identifier) @name
  value: [(call_expression) (new_expression) (await_expression)] @value) @declarator
"""


@cache
def candidate_query(language: Language) -> Query:
    return Query(language, _QUERY_SOURCE)

