"""Whether the packages an app's types depend on are installed where tsc would look for them.

Two cases where a missing package changes what tsc makes of code the fixes write:

`defineSchema({ ...authTables, users: defineTable(…) })` with `authTables` from a package: when
that package is not installed but `convex` is, tsc types the spread as `any`, the schema object
as a loose record and every index range of the data model as taking one field (the second
`.eq(…)` of a range is `Property 'eq' does not exist on type 'IndexRange'`). A fix that writes a
range with more than one condition then adds a type error to that checkout, however right the
range is (`uninstalled_spreads`).

`export const run = migrations.runner(internal.migrations.backfill)` with `migrations` built
from a package that is not installed: the exported value is `any` and typed through the
generated `api`, which is typed through it (TS7022). Each such value makes tsc type the `api`
again inside its typing of the `api`, so with enough of them in one Convex root it reaches its
instantiation depth limit and gives up on the program's function references (TS2589 across the
app, values typed `{}`), and which errors it reports moves with any change to what a function
returns (`api_refers_to_itself`). With a few, tsc types the rest of the app as usual.

When `convex` is not installed either, nothing is typed and nothing is gated.

Only the filesystem is read: a package resolves from a file the way Node looks for it, a
`node_modules/<package>` directory in the file's folder or one above it. (TypeScript `paths`
mappings of a package name are not followed.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from convex_xray.engine.memo import MemoKey, merged_per_file_text, per_revision
from convex_xray.engine.schema import Schema
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import string_value, text_of
from convex_xray.engine.workspace import Workspace

_UNINSTALLED: MemoKey[tuple[str, ...]] = MemoKey("packages a schema spreads that are not installed")


def package_of(specifier: str) -> str | None:
    """The package a bare module specifier names (`@scope/pkg/server` -> `@scope/pkg`,
    `pkg/sub` -> `pkg`); None for a relative or absolute path, an alias (`@/x`, `~/x`) or a
    built-in (`node:fs`)."""
    if not specifier or specifier.startswith((".", "/", "~", "#", "node:")) or ":" in specifier:
        return None
    parts = specifier.split("/")
    if specifier.startswith("@"):
        if len(parts) < 2 or parts[0] == "@" or not parts[1]:
            return None
        return "/".join(parts[:2])
    return parts[0]


def resolves(package: str, start: Path) -> bool:
    """Whether `node_modules/<package>` is a directory in `start`'s folder or one above it."""
    folder = start if start.is_dir() else start.parent
    for directory in (folder, *folder.parents):
        if os.path.isdir(directory / "node_modules" / package):
            return True
    return False


def uninstalled_spreads(schema: Schema | None) -> tuple[str, ...]:
    """The packages `schema` spreads tables from that do not resolve from the file importing
    them, while `convex` resolves from the schema: tsc then gives every index range one field.
    Empty when all are installed, or when `convex` is not (then nothing is typed). Read once per
    schema (the workspace reads the schema again when its source changes)."""
    if schema is None or not schema.spread_from:
        return ()
    known = schema.memo.get(_UNINSTALLED)
    if known is not None:
        return known
    missing: list[str] = []
    if resolves("convex", schema.path):
        for specifier, importer in schema.spread_from:
            package = package_of(specifier)
            if package is not None and package not in missing and not resolves(package, importer):
                missing.append(package)
    return schema.memo.put(_UNINSTALLED, tuple(missing))


@dataclass(frozen=True, slots=True)
class SelfTypedApi:
    """An exported value that makes a root's generated `api` refer to itself: `name` in `path`,
    built from `package`, which is not installed. `count`: how many such values the root has
    (this one is the first found)."""

    path: Path
    name: str
    package: str
    count: int = 1


# How many values typing the api through itself a root may have before no fix is offered there.
# Each one nests another typing of the whole `api` inside the one before (tsc reports TS7022 on
# each); measured with tsc 5.9 on a copy of theanthonybrooks+salconvex with its first k runners
# exported: k <= 11 gives no TS2589, k = 12 gives 186, all 17 give 884, and the point stays at
# 12 with 16 of its 90 modules or with module folders three levels deeper; convex-evals' api
# takes 33 without any. Gated at half the lowest point seen, for apps whose functions cost tsc
# twice as deep a typing.
SELF_TYPED_CASCADE = 6

_SELF_TYPED: MemoKey[tuple[int, dict[Path, SelfTypedApi | None]]] = MemoKey(
    "roots whose api refers to itself"
)
_HITS_BY_ROOT: MemoKey[tuple[int, dict[Path, tuple[SelfTypedApi, ...]]]] = MemoKey(
    "each root's values that type the api through itself"
)
_SELF_TYPED_FILES: MemoKey[dict[Path, tuple[bytes, tuple[SelfTypedApi, ...]]]] = MemoKey(
    "a file's values that type the api through itself"
)
# A function reference through the generated api (`internal.a.b`, `api.a.b`), not a member of
# a longer path (`ctx.internal`); `components.…` is typed from convex.config, not the modules.
_API_REFERENCE = re.compile(r"(?<![\w$.])(?:internal|api)\s*\.\s*[A-Za-z_$]")


def api_refers_to_itself(workspace: Workspace, path: Path) -> SelfTypedApi | None:
    """The first exported value of `path`'s Convex root that is built from a package that does
    not resolve (while `convex` does) and takes a function reference through the generated
    `api`, when the root has at least `SELF_TYPED_CASCADE` of them: tsc then cannot type that
    root's function references, so no fix to its code can be shown to type-check there. Read
    once per workspace revision."""
    root = workspace.root_of(path)
    if root is None:
        return None
    found = per_revision(workspace, _SELF_TYPED, dict)
    if root.path not in found:
        found[root.path] = _self_typed(workspace, root.path)
    return found[root.path]


def _self_typed(workspace: Workspace, root: Path) -> SelfTypedApi | None:
    if not resolves("convex", root):
        return None
    hits = _hits_by_root(workspace).get(root, ())
    if len(hits) < SELF_TYPED_CASCADE:
        return None
    first = min(hits, key=lambda hit: hit.path)  # (min keeps a file's own order)
    return SelfTypedApi(first.path, first.name, first.package, len(hits))


def _hits_by_root(workspace: Workspace) -> dict[Path, tuple[SelfTypedApi, ...]]:
    """Every root's self-typing values, grouped from each file's (merged again only when a file
    changed since says something else), so that each root does not walk every file."""

    def merge(files: Iterator[tuple[SelfTypedApi, ...]]) -> dict[Path, tuple[SelfTypedApi, ...]]:
        grouped: dict[Path, list[SelfTypedApi]] = {}
        for found in files:
            for hit in found:
                owner = workspace.root_of(hit.path)
                if owner is not None:
                    grouped.setdefault(owner.path, []).append(hit)
        return {root: tuple(hits) for root, hits in grouped.items()}

    return merged_per_file_text(workspace, _HITS_BY_ROOT, _SELF_TYPED_FILES, _file_self_typed, merge)


def _file_self_typed(path: Path, source: SourceFile) -> tuple[SelfTypedApi, ...]:
    # Kept with the file's text: a package installed later is seen once the file changes or
    # the workspace is made again (the next CLI run, a restart of the server).
    if "_generated" in path.parts or _API_REFERENCE.search(source.text) is None:
        return ()
    return _self_typed_in(source)


def _self_typed_in(source: SourceFile) -> tuple[SelfTypedApi, ...]:
    """Each `export const x = <built from a missing package>(… internal.… …)` at the top of a
    module."""
    found: list[SelfTypedApi] = []
    missing: dict[str, str] = {}  # local name -> the package it comes from
    for statement in source.root.named_children:
        if statement.type == "import_statement":
            _missing_imports(statement, source.path, missing)
            continue
        exported = statement.type == "export_statement"
        declaration = statement.child_by_field_name("declaration") if exported else statement
        if declaration is None or declaration.type not in (
            "lexical_declaration",
            "variable_declaration",
        ):
            continue
        for declarator in declaration.named_children:
            if declarator.type != "variable_declarator":
                continue
            name = declarator.child_by_field_name("name")
            value = declarator.child_by_field_name("value")
            if name is None or name.type != "identifier" or value is None:
                continue
            package = missing.get(_root_name(value) or "")
            if package is None:
                continue
            missing[text_of(name)] = package  # `const migrations = new Migrations(…)` is `any` too
            if exported and _references_api_outside_functions(value):
                found.append(SelfTypedApi(source.path, text_of(name), package))
    return tuple(found)


_FUNCTION_NODES = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function",
        "generator_function",
        "method_definition",
        "class_body",
    }
)


def _references_api_outside_functions(value: Node) -> bool:
    """Whether `value` names `internal.…`/`api.…` where tsc evaluates it to type `value`: as
    an argument (`runner(internal.x)`), not inside a callback's body (`define({ handler:
    async (step) => step.run(internal.x) })`), which tsc checks later, after the value's
    type is settled (seen on ialex: a workflow defined that way types nothing through itself)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if node.type in _FUNCTION_NODES:
            continue
        if node.type == "member_expression":
            obj = node.child_by_field_name("object")
            if obj is not None and obj.type == "identifier" and text_of(obj) in ("internal", "api"):
                return True
        stack.extend(node.named_children)
    return False


def _missing_imports(statement: Node, path: Path, missing: dict[str, str]) -> None:
    """The local names a value import from a package that does not resolve binds."""
    if any(child.type == "type" for child in statement.children):
        return  # `import type …`: only types, no value
    specifier = statement.child_by_field_name("source")
    package = package_of(string_value(specifier) or "") if specifier is not None else None
    if package is None or package == "convex" or resolves(package, path):
        return
    stack = [c for c in statement.named_children if c.type == "import_clause"]
    while stack:
        node = stack.pop()
        if node.type == "identifier":
            missing[text_of(node)] = package
        elif node.type == "import_specifier":
            local = node.child_by_field_name("alias") or node.child_by_field_name("name")
            if local is not None:
                missing[text_of(local)] = package
        else:
            stack.extend(node.named_children)


def _root_name(value: Node) -> str | None:
    """The name an expression is built from: `new M(…)`, `m.runner(…)`, `await m.x` -> `M`/`m`."""
    node: Node | None = value
    for _ in range(32):
        if node is None:
            return None
        if node.type == "identifier":
            return text_of(node)
        if node.type == "new_expression":
            node = node.child_by_field_name("constructor")
        elif node.type == "call_expression":
            node = node.child_by_field_name("function")
        elif node.type == "member_expression":
            node = node.child_by_field_name("object")
        elif node.type in (
            "await_expression",
            "parenthesized_expression",
            "non_null_expression",
            "as_expression",
            "satisfies_expression",
        ):
            node = node.named_children[0] if node.named_children else None
        else:
            return None
    return None


__all__ = [
    "SELF_TYPED_CASCADE",
    "SelfTypedApi",
    "api_refers_to_itself",
    "package_of",
    "resolves",
    "uninstalled_spreads",
]
