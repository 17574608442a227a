"""Finds `fetch` (and axios) calls to external services with no timeout.

## What it does
Reports `fetch(url)` and `fetch(url, init)` whose `init` has no `signal`, and axios calls
(`axios.get/post/put/patch/delete/request`) whose config has neither `timeout` nor
`signal`, in Convex actions, HTTP actions and the helpers they call. (Queries and mutations
cannot call `fetch`, so a `fetch` in a plain helper runs in an action.) SDK clients whose
default timeout is as long as the action itself (`new OpenAI({...})` from `openai`,
`new Anthropic({...})` from `@anthropic-ai/sdk`: 10 minutes) are reported at the
constructor when their options set no `timeout`.

When the options are a variable, the rule looks for its `const` in the same function: an
object literal there without `signal` is reported (without a fix); a variable it cannot
see, or an object with a spread (`{ ...defaults }`) that may carry a `signal`, is left
alone rather than guessed at.

## Why is this bad?
`fetch` has no default timeout. When the other side hangs, the action waits until Convex
kills it at its own time limit (10 minutes), holding a concurrent-action slot the whole
time, and whatever was scheduled after it runs late or not at all. A timeout turns the
hang into an error the code can retry or report.

## Example
```ts
const response = await fetch("https://api.example.com/v1/transcribe", {
  method: "POST",
  body: JSON.stringify({ url: args.audioUrl }),
});
```

Use instead:
```ts
const response = await fetch("https://api.example.com/v1/transcribe", {
  method: "POST",
  body: JSON.stringify({ url: args.audioUrl }),
  signal: AbortSignal.timeout(10_000),
});
```

A client built by a helper (`function getOpenAI() { return new OpenAI({...}) }`, a const
arrow, or a lazily built module client `client ??= new OpenAI(...)`) is reported where it is
built when that file is checked. When the helper lives outside the checked Convex folders
(a shared `lib/` reached by a relative import or a tsconfig alias), the call to it in an
action is reported instead (`getOpenAI().chat.completions.create(...)`,
`const c = getOpenAI()`), with the construction as related information.

## Fix safety
The fix adds `signal: AbortSignal.timeout(<fetch-timeout-ms>)` to the options object, or
`{ signal: ... }` as a second argument (`timeout: <ms>` for axios). It is unsafe: a slow
but working request now fails after the timeout, which changes behaviour; pick a limit
that fits the service. LLM and transcription calls get 120 s (`new OpenAI`/`new Anthropic`,
and `fetch` to a model or audio endpoint: by the URL, or by the function around it when the
URL is a name), other calls `fetch-timeout-ms`. In an editor that takes snippet edits (LSP 3.18
`snippetEditSupport`) the value is a placeholder to type over.

## Options
`fetch-timeout-ms` (default 10000): the timeout the fix inserts for plain HTTP calls. SDK clients other than the
two above are not checked (most, like Stripe's, have a shorter default).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from tree_sitter import Language, Node, Query, QueryCursor

from convex_xray.engine.context import RuleContext
from convex_xray.engine.findings import Edit, Finding, Fix, FixAvailability, Related, Severity, Span
from convex_xray.engine.model import FetchCall, FileModel, FunctionModel, HelperCall
from convex_xray.engine.registry import RuleMeta, register
from convex_xray.engine.source import SourceFile
from convex_xray.engine.syntax import call_args, descendants, text_of, unwrap

META = RuleMeta(
    code="CX402",
    slug="fetch-without-timeout",
    severity=Severity.INFO,
    summary="`fetch` (and axios) in actions without a timeout",
    fix=FixAvailability.SOMETIMES,
)

# SDK clients whose default timeout is as long as an action may run: class -> package.
SDK_CLIENTS = {"OpenAI": "openai", "Anthropic": "@anthropic-ai/sdk"}

# LLM and transcription calls routinely take longer than a plain HTTP call: a 10 s limit
# would turn working requests into failures. Their fixes get a generous limit instead.
SLOW_API_MS = 120_000
_GENERATED = re.compile(r"(?:^|/)_generated/")
_SLOW_API = re.compile(
    r"openai|anthropic|whisper|transcri|speech|audio|generativelanguage|gemini|groq|mistral|"
    r"deepgram|assemblyai|elevenlabs|replicate|openrouter|together\.|cohere|completions|/chat|llm",
    re.IGNORECASE,
)


def _timeout_ms(ctx: RuleContext, call: FetchCall) -> int:
    """The limit the fix inserts: generous for an LLM or transcription endpoint (by the URL,
    or the function around the call when the URL is a name), `fetch-timeout-ms` otherwise."""
    args = call_args(call.node)
    target = text_of(args[0]) if args else ""
    if _SLOW_API.search(target):
        return max(SLOW_API_MS, ctx.config.fetch_timeout_ms)
    first = unwrap(args[0]) if args else None
    if first is not None and first.type != "string" and call.function is not None and _SLOW_API.search(text_of(call.function.node)):
        return max(SLOW_API_MS, ctx.config.fetch_timeout_ms)
    return ctx.config.fetch_timeout_ms
SDK_MODULES = frozenset(SDK_CLIENTS.values())

_NEW_QUERY = "(new_expression constructor: (identifier) @class) @new"

# axios: where the config argument sits, by method.
AXIOS_CONFIG = {
    "get": 1,
    "delete": 1,
    "head": 1,
    "options": 1,
    "post": 2,
    "put": 2,
    "patch": 2,
    "request": 0,
}


def milliseconds(value: int) -> str:
    """`10000` -> `10_000` (numeric separators read better in a timeout)."""
    return f"{value:_}" if value >= 10_000 else str(value)


def _keys(obj: Node) -> tuple[set[str], bool]:
    """Property names of an object literal, and whether it has a spread."""
    keys: set[str] = set()
    spread = False
    for member in obj.named_children:
        if member.type == "pair":
            key = member.child_by_field_name("key")
            name = text_of(key)
            keys.add(name.strip("'\"`"))
        elif member.type == "shorthand_property_identifier":
            keys.add(text_of(member))
        elif member.type == "method_definition":
            keys.add(text_of(member.child_by_field_name("name")))
        elif member.type == "spread_element":
            spread = True
    return keys, spread


def _local_object(function: FunctionModel | None, name: str) -> Node | None:
    """`const init = { ... }` inside the function (the object literal), if any."""
    if function is None:
        return None
    stack = [function.node]
    while stack:
        node = stack.pop()
        if node.type == "variable_declarator" and text_of(node.child_by_field_name("name")) == name:
            value = unwrap(node.child_by_field_name("value"))
            declaration = node.parent
            if (
                value is not None
                and value.type == "object"
                and declaration is not None
                and text_of(declaration.child_by_field_name("kind")) == "const"
            ):
                return value
            return None
        stack.extend(node.named_children)
    return None


def merge_into_object(source: SourceFile, obj: Node, entry: str) -> Edit:
    """Add `entry` (`signal: ...`) as the object's last property, in its formatting."""
    members = [c for c in obj.named_children if c.type != "comment"]
    path = source.path
    if not members:
        return Edit(path, obj.start_byte, obj.end_byte, f"{{ {entry} }}")
    last = members[-1]
    between = source.slice(last.end_byte, obj.end_byte - 1)
    comma = between.lstrip().startswith(",")
    comma_at = last.end_byte + len(between) - len(between.lstrip()) + 1 if comma else last.end_byte
    lines = source.lines
    multiline = lines.line_of(last.end_byte) != lines.line_of(obj.end_byte - 1)
    if multiline:
        line = lines.line_of(last.start_byte)
        text = source.slice(lines.line_starts[line], lines.line_end(line))
        indent = text[: len(text) - len(text.lstrip())]
        if comma:
            return Edit.insert(path, comma_at, f"\n{indent}{entry},")
        return Edit.insert(path, last.end_byte, f",\n{indent}{entry}")
    if comma:
        return Edit.insert(path, comma_at, f" {entry}")
    return Edit.insert(path, last.end_byte, f", {entry}")


def _check_call(ctx: RuleContext, call: FetchCall) -> Finding | None:
    args = call_args(call.node)
    if not args:
        return None
    limit = _timeout_ms(ctx, call)
    ms = milliseconds(limit)
    if call.callee == "fetch":
        position, wanted, entry = 1, {"signal"}, f"signal: AbortSignal.timeout({ms})"
    else:
        method = call.callee.split(".", 1)[1]
        if method not in AXIOS_CONFIG:
            return None
        position, wanted, entry = AXIOS_CONFIG[method], {"timeout", "signal"}, f"timeout: {ms}"
    config = unwrap(args[position]) if position < len(args) else None
    fix: Fix | None = None
    title = f"Add a {limit / 1000:g} s timeout (`{entry}`; a slower answer now fails)"
    if config is None:
        if position != len(args):
            return None  # axios.post(url) with no data: no place for a config without guessing
        edit = Edit.insert(ctx.path, args[-1].end_byte, f", {{ {entry} }}")
        fix = Fix.unsafe(title, [edit.with_placeholder(ms)])
    elif config.type == "object":
        keys, spread = _keys(config)
        if keys & wanted or spread:
            return None
        fix = Fix.unsafe(title, [merge_into_object(ctx.source, config, entry).with_placeholder(ms)])
    elif config.type == "identifier":
        local = _local_object(call.function, text_of(config))
        if local is None:
            return None  # options we cannot see: no claim
        keys, spread = _keys(local)
        if keys & wanted or spread:
            return None
    else:
        return None
    if call.callee == "fetch":
        message = (
            "`fetch` without a timeout: if the service never answers, the action waits until Convex "
            f"stops it (10 minutes). Pass `signal: AbortSignal.timeout({ms})`."
        )
    else:
        message = (
            f"`{call.callee}` without a `timeout`: axios waits forever by default, so a hung service "
            f"holds the action until Convex stops it (10 minutes). Pass `timeout: {ms}`."
        )
    callee = call.node.child_by_field_name("function")
    anchor = callee if callee is not None else call.node
    return ctx.finding(META, Span(ctx.path, anchor.start_byte, anchor.end_byte), message, fix=fix)


@cache
def _new_query(language: Language) -> Query:
    return Query(language, _NEW_QUERY)


def _sdk_clients(ctx: RuleContext) -> Iterator[Finding]:
    """`new OpenAI({ apiKey })` without `timeout`: every request may wait 10 minutes."""
    assert ctx.model is not None
    imports = ctx.model.imports
    wanted = {
        local
        for local, binding in imports.items()
        if binding.module in SDK_MODULES
        and (binding.imported == "default" or binding.imported in SDK_CLIENTS)
    }
    if not wanted:
        return
    limit = max(SLOW_API_MS, ctx.config.fetch_timeout_ms)  # model calls: generous
    ms = milliseconds(limit)
    entry = f"timeout: {ms}"
    for _, capture in QueryCursor(_new_query(ctx.source.language)).matches(ctx.source.root):
        node, cls = capture["new"][0], capture["class"][0]
        name = text_of(cls)
        if name not in wanted:
            continue
        function = ctx.model.function_at(node.start_byte)
        if function is not None and (function.kind.is_query or function.kind.is_mutation):
            continue
        arguments = node.child_by_field_name("arguments")
        args = call_args(node) if arguments is not None else []
        options = unwrap(args[0]) if args else None
        title = f"Add a {limit / 1000:g} s timeout (`{entry}`; a slower answer now fails)"
        if options is None:
            if args:
                continue
            edit = (
                Edit(ctx.path, arguments.start_byte, arguments.end_byte, f"({{ {entry} }})")
                if arguments is not None
                else Edit.insert(ctx.path, node.end_byte, f"({{ {entry} }})")
            )
        elif options.type == "object":
            keys, spread = _keys(options)
            if "timeout" in keys or spread:
                continue
            edit = merge_into_object(ctx.source, options, entry)
        else:
            continue  # options we cannot see
        yield ctx.finding(
            META,
            Span(ctx.path, node.start_byte, cls.end_byte),
            f"`{name}` client without a `timeout`: the SDK waits up to 10 minutes per request, as long "
            f"as Convex lets the action run. Pass `{entry}`.",
            fix=Fix.unsafe(title, [edit.with_placeholder(ms)]),
        )


def _sdk_names(model: FileModel) -> set[str]:
    return {
        local
        for local, binding in model.imports.items()
        if binding.module in SDK_MODULES and (binding.imported == "default" or binding.imported in SDK_CLIENTS)
    }


def _unbounded_client(model: FileModel, function: FunctionModel) -> Node | None:
    """The `new OpenAI(...)` without `timeout` that `function` returns: directly, or through a
    name it assigns the client to (`client ??= new OpenAI(...); return client`)."""
    wanted = _sdk_names(model)
    if not wanted:
        return None
    built: Node | None = None
    names: set[str] = set()
    returned: list[Node] = []
    body = function.node.child_by_field_name("body")
    if body is not None and body.type != "statement_block":
        returned.append(body)
    for node in descendants(function.node):
        if node.type == "new_expression" and text_of(node.child_by_field_name("constructor")) in wanted:
            args = call_args(node) if node.child_by_field_name("arguments") is not None else []
            options = unwrap(args[0]) if args else None
            if options is not None and (options.type != "object" or "timeout" in _keys(options)[0] or _keys(options)[1]):
                continue  # has a timeout, or options we cannot see
            built = node
            holder = node.parent
            while holder is not None and holder.type in ("parenthesized_expression", "as_expression", "non_null_expression"):
                holder = holder.parent
            if holder is not None and holder.type in ("variable_declarator", "assignment_expression", "augmented_assignment_expression"):
                target = holder.child_by_field_name("name") or holder.child_by_field_name("left")
                names.add(text_of(target))
        elif node.type == "return_statement" and node.named_children:
            returned.append(node.named_children[0])
    if built is None:
        return None
    for value in returned:
        if built.start_byte >= value.start_byte and built.end_byte <= value.end_byte:
            return built
        plain = unwrap(value)
        if plain is not None and plain.type == "identifier" and text_of(plain) in names:
            return built  # `return client` (a value derived from it, `String(client.x)`, is not the client)
    return None


def _helper_clients(ctx: RuleContext) -> Iterator[Finding]:
    """`getOpenAI()` in an action, where `getOpenAI` (outside the checked folders) returns a
    client built without `timeout`."""
    assert ctx.model is not None
    # Only imported helpers: a helper of this file is checked (and reported) where it builds the client.
    for call, name in ctx.model.imported_calls:
        function = ctx.model.function_at(call.start_byte)
        if function is None or function.kind.is_query or function.kind.is_mutation:
            continue
        binding = ctx.model.imports.get(name)
        if binding is not None and _GENERATED.search(binding.module):
            # Convex's generated builders (`internalAction`, `httpAction` from `_generated/server`)
            # build no client: not worth reading (and, as `.js`, parsing with a second grammar).
            continue
        probe = HelperCall(node=call, function=function, loops=(), awaited=False, callee=name)
        resolved = ctx.workspace.resolve_call(ctx.model, probe)
        if resolved is None:
            continue
        target_model, target = resolved
        if ctx.workspace.inside_roots(target_model.path):
            continue  # checked: reported at the construction
        built = _unbounded_client(target_model, target)
        if built is None:
            continue
        cls = text_of(built.child_by_field_name("constructor"))
        line = target_model.source.lines.line_of(built.start_byte) + 1
        yield ctx.finding(
            META,
            Span(ctx.path, call.start_byte, call.end_byte),
            f"`{name}()` returns an `{cls}` client built without a `timeout` ({target_model.path.name}, line {line}): "
            "the SDK waits up to 10 minutes per request, as long as Convex lets the action run. Pass "
            f"`timeout: {milliseconds(max(SLOW_API_MS, ctx.config.fetch_timeout_ms))}` where the client is built.",
            related=[Related(Span(target_model.path, built.start_byte, built.end_byte), f"the `{cls}` client is built here")],
        )


@register(META)
def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.model is None:
        return
    for call in ctx.model.fetches:
        function = call.function
        if function is None or function.kind.is_query or function.kind.is_mutation:
            continue  # module scope, or where Convex does not allow fetch at all
        finding = _check_call(ctx, call)
        if finding is not None:
            yield finding
    yield from _sdk_clients(ctx)
    yield from _helper_clients(ctx)
