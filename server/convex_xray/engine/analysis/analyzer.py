"""Builds the Convex code model of one file from its tree-sitter tree.

Candidate nodes are found with tree-sitter queries (run in C); Python only looks at
those candidates and walks up their ancestors to learn the enclosing function and the
iteration contexts. No full-tree walk in Python. The analyzer is a stack of layers, one
module each: state < loops < handles < chains < calls < declarations < analyzer."""

from __future__ import annotations

from typing import NamedTuple

from tree_sitter import Language, Node, QueryCursor

from convex_xray.engine.analysis.declarations import DeclarationAnalysis
from convex_xray.engine.analysis.options import AnalysisOptions
from convex_xray.engine.analysis.queries import candidate_query
from convex_xray.engine.analysis.state import ImportedLoopHelper
from convex_xray.engine.analysis.vocabulary import MEMBER_METHODS
from convex_xray.engine.model import (
    FileModel,
)
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import call_args, text_of


class Candidates(NamedTuple):
    """The candidate nodes of one file, each list in source order (of the calls' arguments)."""

    member_calls: list[tuple[Node, Node, Node]]  # `x.m(...)` of a known method: (call, x, m)
    named_calls: list[tuple[Node, Node, Node]]  # `x.m(...)` on a plain name `x`, any method
    ctx_calls: list[tuple[Node, Node, Node, Node]]  # `a.b.m(...)`: (call, a, b, m)
    member_args: list[Node]  # plain names passed to member calls
    plain_calls: list[tuple[Node, Node]]  # `f(...)` with an argument list: (call, f)
    named_plain_calls: list[tuple[Node, Node]]  # `f(...)` and `` f`...` ``: (call, f)
    client_calls: list[tuple[Node, Node, Node]]  # `client.m(ctx, ...)`: (call, client, m)
    declarators: list[tuple[Node, Node, Node]]  # `const x = f(...)`: (declarator, x, value)


def candidates(root: Node, language: Language) -> Candidates:
    """One `matches` pass of `candidate_query`, sorted into the analyzer's candidates."""
    found = Candidates([], [], [], [], [], [], [], [])
    member_calls, named_calls, ctx_calls, member_args = found.member_calls, found.named_calls, found.ctx_calls, found.member_args
    for _pattern, capture in QueryCursor(candidate_query(language)).matches(root):
        if "call" in capture:
            call, obj, method = capture["call"][0], capture["object"][0], capture["method"][0]
            member_args.extend(a for a in capture["args"][0].named_children if a.type == "identifier")
            if method.type != "property_identifier":
                continue  # `this.#m(...)`
            if obj.is_named and text_of(method) in MEMBER_METHODS:
                member_calls.append((call, obj, method))
            if obj.type == "identifier":
                named_calls.append((call, obj, method))
            elif obj.type == "member_expression":
                inner = obj.child_by_field_name("object")
                prop = obj.child_by_field_name("property")
                if inner is not None and inner.type == "identifier" and prop is not None and prop.type == "property_identifier":
                    ctx_calls.append((call, inner, prop, method))
        elif "plain_call" in capture:
            call, callee = capture["plain_call"][0], capture["callee"][0]
            arguments = call.child_by_field_name("arguments")
            if arguments is not None and arguments.type == "arguments":
                found.plain_calls.append((call, callee))
            found.named_plain_calls.append((call, callee))
        elif "client_call" in capture:
            found.client_calls.append((capture["client_call"][0], capture["client"][0], capture["client_method"][0]))
        elif "declarator" in capture:
            found.declarators.append((capture["declarator"][0], capture["name"][0], capture["value"][0]))
    return found


class FileAnalyzer(DeclarationAnalysis):
    """One pass over one file. Use `analyze_file`."""

    def collect_factory_values(self, declarators: list[tuple[Node, Node, Node]]) -> None:
        """`const loader = makeLoader(ctx)`, `const repo = new UserRepo(ctx)`: the closures and
        methods of what they return read through the captured ctx. `declarators`: (declarator,
        name, value) in source order."""
        for declarator, name_node, value in declarators:
            # Awaited results are data (a Map of users, a list): only what a factory returns
            # synchronously (an object of closures, a class instance) reads later.
            if value.type not in ("call_expression", "new_expression"):
                continue
            callee = value.child_by_field_name("function") or value.child_by_field_name("constructor")
            if callee is None or callee.type not in ("identifier", "member_expression"):
                continue
            if not any(self.carries_handle(arg, None) for arg in call_args(value)):
                continue
            prefix = "new " if value.type == "new_expression" else ""
            name = text_of(name_node)
            self.factory_values.setdefault(name, []).append((declarator, prefix + text_of(callee)))

    def run(self) -> FileModel:
        root = self.source.root
        self.collect_top_level(root)
        found = candidates(root, self.source.language)
        member_calls, named_calls, plain_calls = found.member_calls, found.named_calls, found.plain_calls
        imported = self.model.imports
        for call, callee in found.named_plain_calls:
            name = text_of(callee)
            if name in imported:
                self.model.imported_calls.append((call, name))
        client_calls, ctx_calls, member_args, declarators = found.client_calls, found.ctx_calls, found.member_args, found.declarators
        self.collect_factory_values(declarators)
        # Member calls worth following whatever the method is called: on namespaces, on the
        # file's objects and classes, on imported names, on what a ctx-taking factory returned.
        # (One static query for every file: a query built per file from its names cost more
        # to compile than the rest of the file's analysis.)
        owners = {b.local for b in self.model.imports.values()} | self.method_owners | set(self.factory_values)
        if owners:
            for call, obj, method in named_calls:
                if text_of(obj) in owners and text_of(method) not in MEMBER_METHODS:  # those came above
                    member_calls.append((call, obj, method))
        self.collect_local_functions(plain_calls, member_args)
        for call, obj, method in member_calls:
            self.member_call(call, obj, text_of(method))
        for call, callee in plain_calls:
            self.plain_call(call, text_of(callee))
        for call, client, method in client_calls:
            self.client_call(call, text_of(client), text_of(method))
        for call, ctx_object, prop, method in ctx_calls:
            self.ctx_property_call(call, text_of(ctx_object), text_of(prop), text_of(method))
        # Source order everywhere (candidates arrive grouped by query pattern).
        for events in (self.model.reads, self.model.run_calls, self.model.schedules, self.model.fetches, self.model.helper_calls, self.model.client_calls):
            events.sort(key=lambda e: e.start)
        for function in self.model.functions:
            for events in (function.reads, function.run_calls, function.schedules, function.fetches, function.helper_calls):
                events.sort(key=lambda e: e.start)
        self.model.chains.sort(key=lambda c: c.root.start_byte)
        self.model.index_refs.sort(key=lambda r: r.node.start_byte)
        return self.model


def analyze_file(
    source: SourceFile, options: AnalysisOptions | None = None, imported_loop_helper: ImportedLoopHelper | None = None
) -> FileModel:
    """`imported_loop_helper(specifier, name)`: whether an imported function runs its callback
    per item (the workspace reads the other file), so app wrappers count across files."""
    return FileAnalyzer(source, options or AnalysisOptions(), imported_loop_helper).run()
