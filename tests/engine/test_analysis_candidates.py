"""The analyzer's candidate nodes come from one broad member-call pattern sorted in Python: they
must be the nodes the narrow patterns (one per kind, as tree-sitter would match them) find."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_sitter import Query, QueryCursor

from convex_xray.engine.analysis.analyzer import candidates
from convex_xray.engine.analysis.vocabulary import MEMBER_METHODS
from convex_xray.engine.source import SourceFile
from tests.support.project import FIXTURES

# The narrow patterns, one per kind of candidate.
_NARROW = f"""
((call_expression
  function: (member_expression object: (_) @object property: (property_identifier) @method)
  arguments: (arguments) @args) @member_call
 (#any-of? @method {" ".join(f'"{m}"' for m in sorted(MEMBER_METHODS))}))
(call_expression function: (member_expression) arguments: (arguments (identifier) @member_arg))
(call_expression
  function: (member_expression object: (identifier) @named_object property: (property_identifier) @named_method)
  arguments: (arguments)) @named_call
(call_expression
  function: (member_expression
    object: (member_expression object: (identifier) @ctx_object property: (property_identifier) @ctx_property)
    property: (property_identifier) @ctx_method)
  arguments: (arguments)) @ctx_call
"""

SNIPPET = """
class Repo { #load(id) { return this.#db.get(id); } async list(ctx) { return this.#load(ctx, id); } }
export const f = query({ handler: async (ctx, { ids }) => {
  const a = await ctx.db.get(ids[0]);
  const rows = await ctx.db.query("users").withIndex("by_x", (q) => q.eq("x", a.x)).collect();
  await Promise.all(ids.map((id) => ctx.db.get(id)));
  helpers.load(ctx, id, /* c */ other);
  (ctx).db.get(id); super.m(x); obj?.m?.(y); a.b.c.d(e, f.g(h), i);
  tag`x${ctx.db.get(z)}`;
  return rows.filter((r) => r.ok).map((r) => r.id);
} });
"""


def _texts() -> list[tuple[str, str]]:
    files = sorted(FIXTURES.rglob("*.ts"))[:40] + sorted(FIXTURES.rglob("*.tsx"))[:5]
    return [("snippet.ts", SNIPPET), ("snippet.tsx", SNIPPET)] + [(p.name, p.read_text(encoding="utf-8")) for p in files]


@pytest.mark.parametrize(("name", "text"), _texts(), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "")
def test_the_broad_pattern_finds_what_the_narrow_ones_do(name, text):
    source = SourceFile(Path(name), text)
    expected: dict[str, list] = {"member_call": [], "member_arg": [], "named_call": [], "ctx_call": []}
    for _, capture in QueryCursor(Query(source.language, _NARROW)).matches(source.root):
        if "member_call" in capture:
            expected["member_call"].append((capture["member_call"][0].id, capture["object"][0].id, capture["method"][0].id))
        elif "member_arg" in capture:
            expected["member_arg"].append(capture["member_arg"][0].id)
        elif "named_call" in capture:
            expected["named_call"].append((capture["named_call"][0].id, capture["named_object"][0].id, capture["named_method"][0].id))
        else:
            expected["ctx_call"].append(tuple(capture[k][0].id for k in ("ctx_call", "ctx_object", "ctx_property", "ctx_method")))
    found = candidates(source.root, source.language)
    assert [tuple(n.id for n in c) for c in found.member_calls] == expected["member_call"]
    assert [tuple(n.id for n in c) for c in found.named_calls] == expected["named_call"]
    assert [tuple(n.id for n in c) for c in found.ctx_calls] == expected["ctx_call"]
    assert sorted(n.id for n in found.member_args) == sorted(expected["member_arg"])  # a set of names


def test_the_snippet_has_every_kind():
    source = SourceFile(Path("a.ts"), SNIPPET)
    found = candidates(source.root, source.language)
    assert found.member_calls and found.named_calls and found.ctx_calls and found.member_args
