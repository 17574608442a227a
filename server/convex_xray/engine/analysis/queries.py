"""The tree-sitter queries that find candidate nodes (run in C) for the analyzer."""

from __future__ import annotations

from functools import cache

from tree_sitter import Language, Query

from convex_xray.engine.analysis.vocabulary import MEMBER_METHODS

_QUERY_SOURCE = f"""
((call_expression
  function: (member_expression object: (_) @object property: (property_identifier) @method)
  arguments: (arguments) @args) @member_call
 (#any-of? @method {" ".join(f'"{m}"' for m in sorted(MEMBER_METHODS))}))
(call_expression function: (identifier) @callee arguments: (arguments) @args) @plain_call
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
"""


@cache
def candidate_query(language: Language) -> Query:
    return Query(language, _QUERY_SOURCE)


@cache
def declarator_query(language: Language) -> Query:
    """`const x = f(...)` / `new C(...)` / `await f(...)`: candidates for factory-made readers."""
    return Query(
        language,
        """(variable_declarator name: (identifier) @name
  value: [(call_expression) (new_expression) (await_expression)] @value) @declarator""",
    )
