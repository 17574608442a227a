"""Generic tree helpers against the slow and obvious way."""

from __future__ import annotations

from pathlib import Path

import pytest

from convex_xray.engine import syntax
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import descend_path, descendants

TEXTS = [
    'export const list = query({ handler: async (ctx) => {\n  for (const x of xs) { await ctx.db.get(x._id); }\n} });\n',
    "const f = (a: number): string => `${a} ${[1, [2, [3]]].map((v) => v)}`;\n",
    "function g() {\n  if (a) { return (b as any)!.c?.d(e) }\n",  # unterminated: ERROR and MISSING nodes
    "let y = [1, 2;\nconst z = {a: 1, b: };\n",
    "",
    "a\n;;\n",
]


def _walk_up(top, node) -> list:
    chain = [node]
    while chain[-1].id != top.id:
        chain.append(chain[-1].parent)
    return list(reversed(chain))


@pytest.mark.parametrize("fast", [True, False], ids=["child_with_descendant", "cursor"])
@pytest.mark.parametrize(("text", "name"), [(t, n) for t in TEXTS for n in ("a.ts", "a.tsx")])
def test_descend_path_is_the_parent_chain_of_every_node(monkeypatch, text, name, fast):
    """From the root and from a node inside, to every node below it, zero-width (MISSING)
    nodes included: the path is the chain of parents."""
    if not fast:
        monkeypatch.setattr(syntax, "_CHILD_WITH_DESCENDANT", None)
    source = SourceFile(Path(name), text)
    root = source.root
    tops = [root, *[n for n in descendants(root) if n.child_count > 1][:5]]
    checked = 0
    for top in tops:
        for node in descendants(top):
            assert [n.id for n in descend_path(top, node)] == [n.id for n in _walk_up(top, node)]
            checked += 1
    assert checked >= len(tops)


def test_the_zero_width_nodes_are_covered():
    """The texts above hold a MISSING node (zero width): the case the descent can miss."""
    assert any(n.is_missing for t in TEXTS for n in descendants(SourceFile(Path("a.ts"), t).root))
