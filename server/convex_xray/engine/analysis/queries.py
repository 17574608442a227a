"""The tree-sitter queries that find candidate nodes (run in C) for the analyzer.

One query for the whole file: each `matches` call walks every node of the tree in C, and
that walk, not the number of patterns, is most of its cost (three separate passes cost
2.5x one pass with all their patterns on a 730-file app)."""

from __future__ import annotations

from functools import cache

from tree_sitter import Language, Query

from convex_xray.engine.analysis.vocabulary import MEMBER_METHODS

_QUERY_SOURCE = f"""
((call_expression
  function: (member_expression object: (_) @object property: (property_identifier) @method)
  arguments: (arguments) @args) @member_call
 (#any-of? @method {" ".join(f'"{m}"' for m in sorted(MEMBER_METHODS))}))
; `f(...)` and tagged templates `f`...`` (the analyzer follows calls with an argument list;
; the model keeps calls of imported names either way, for fetch-without-timeout)
(call_expression function: (identifier) @callee) @plain_call
(call_expression function: (member_expression) arguments: (arguments (identifier) @member_arg))
((call_expression
  function: (member_expression object: (identifier) @client property: (property_identifier) @client_method)
  arguments: (arguments . (identifier) @client_ctx)) @client_call
 (#any-of? @client_ctx "ctx" "context"))
(call_expression
  function: (member_expression object: (identifier) @named_object property: (property_identifier) @named_method)
  arguments: (arguments)) @named_call
(call_expression
  function: (member_expression
    object: (member_expression object: (identifier) @ctx_object property: (property_identifier) @ctx_property)
    property: (property_identifier) @ctx_method)
  arguments: (arguments)) @ctx_call
; `const x = f(...)` / `new C(...)` / `await f(...)`: candidates for factory-made readers
(variable_declarator name: (identifier) @name
  value: [(call_expression) (new_expression) (await_expression)] @value) @declarator
"""


@cache
def candidate_query(language: Language) -> Query:
    return Query(language, _QUERY_SOURCE)

