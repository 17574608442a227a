"""The Convex vocabulary: function builders, per-item array methods, handle types, node kinds."""

from __future__ import annotations

import re

from convex_xray.engine.model import (
    FunctionKind,
)

STANDARD_BUILDERS: dict[str, FunctionKind] = {
    "query": FunctionKind.QUERY,
    "mutation": FunctionKind.MUTATION,
    "action": FunctionKind.ACTION,
    "internalQuery": FunctionKind.INTERNAL_QUERY,
    "internalMutation": FunctionKind.INTERNAL_MUTATION,
    "internalAction": FunctionKind.INTERNAL_ACTION,
    "httpAction": FunctionKind.HTTP_ACTION,
    "queryGeneric": FunctionKind.QUERY,
    "mutationGeneric": FunctionKind.MUTATION,
    "actionGeneric": FunctionKind.ACTION,
    "internalQueryGeneric": FunctionKind.INTERNAL_QUERY,
    "internalMutationGeneric": FunctionKind.INTERNAL_MUTATION,
    "internalActionGeneric": FunctionKind.INTERNAL_ACTION,
    "httpActionGeneric": FunctionKind.HTTP_ACTION,
}


# convex-helpers and friends: `const authedQuery = customQuery(query, ...)`.
CUSTOM_BUILDER_FACTORIES: dict[str, FunctionKind] = {
    "customQuery": FunctionKind.QUERY,
    "customMutation": FunctionKind.MUTATION,
    "customAction": FunctionKind.ACTION,
    "zCustomQuery": FunctionKind.QUERY,
    "zCustomMutation": FunctionKind.MUTATION,
    "zCustomAction": FunctionKind.ACTION,
}


# Array methods whose callback runs once per element.
ITERATION_METHODS = frozenset(
    {
        "map",
        "forEach",
        "flatMap",
        "filter",
        "reduce",
        "reduceRight",
        "some",
        "every",
        "find",
        "findIndex",
        "findLast",
        "findLastIndex",
    }
)


# Helpers that call their callback (second argument) once per element of their first:
# convex-helpers' `asyncMap` (= `Promise.all(xs.map(fn))`), p-map and its look-alikes.
# True when the items run concurrently, False when one after another.
LOOP_HELPERS: dict[str, bool] = {
    "asyncMap": True,
    "pMap": True,
    "pmap": True,
    "mapAsync": True,
    "asyncForEach": False,
    "forEachAsync": False,
    "mapSeries": False,
    "pMapSeries": False,
}


# Convex Ents (`ctx.table("t")…`): the methods that read documents. A chain with none of
# them (`ctx.table("t").insert({...})`) only writes.
ENTS_READ_METHODS = frozenset(
    {"get", "getX", "getMany", "getManyX", "first", "firstX", "unique", "uniqueX", "paginate",
     "docs", "take", "map", "filter", "order", "search", "has", "edge", "edgeX"}
)
ENTS_WRITE_METHODS = frozenset({"insert", "insertMany"})


CTX_TYPE_RE = re.compile(
    r"\b(?:Generic)?(?:Query|Mutation|Action)Ctx\b|\bGenericActionCtx\b|\bRunQueryCtx\b"
)


DB_TYPE_RE = re.compile(r"\b(?:Generic)?Database(?:Reader|Writer)\b")


DEFAULT_CTX_NAMES = frozenset({"ctx", "context"})


SMALL_LITERAL_LIMIT = 8


FUNCTION_TYPES = frozenset(
    {"arrow_function", "function_expression", "function_declaration", "method_definition",
     "generator_function_declaration", "generator_function"}
)


LOOP_TYPES = frozenset({"for_in_statement", "for_statement", "while_statement", "do_statement"})


# Member calls whose method name can matter. Filtering by name in the query keeps the other
# ~80% of member calls (`q.eq`, `v.string`, `out.push`...) from ever reaching Python.
MEMBER_METHODS = frozenset(
    {
        "query",
        "get",
        "runQuery",
        "runMutation",
        "runAction",
        "runAfter",
        "runAt",
        "vectorSearch",
        "from",
        "post",
        "put",
        "patch",
        "delete",
        "request",
        "table",
        "edge",
        "edgeX",
        *ITERATION_METHODS,
    }
)
