"""The pygls server: registration only. Each LSP method is bound to its handler here.

Handlers stay thin: they find the document's snapshot and project (`session`), ask the
engine, and convert (`convert`); diagnostics leave through `publish`. Everything runs on
the event loop thread, so the engine's caches need no locks; long work (indexing a
workspace) yields between files. The server is a stack of layers, one module each:
state < publish < handlers/{checking < indexing < documents < workspace < pull < lifecycle
< code_actions < commands < code_lens < navigation}."""

from __future__ import annotations

import contextlib
from typing import Any

from lsprotocol import types

from convex_xray.lsp.handlers.navigation import Navigation
from convex_xray.lsp.state import (
    APPLY_ALL_FIXES,
    FIX_ALL_KIND,
    LIST_RULES_REQUEST,
    SHOW_RULE_DOCUMENTATION,
)


class ConvexXrayServer(Navigation):
    """The convex-xray language server: its state and one layer per feature (see `handlers/`)."""


def create_server() -> ConvexXrayServer:
    server = ConvexXrayServer()

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        server.on_initialize(params)

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        await server.on_initialized()

    @server.feature(types.SHUTDOWN)
    def shutdown(params: None) -> None:
        server.on_shutdown()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.on_did_open(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        server.on_did_change(params)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.on_did_save(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.on_did_close(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        await server.on_did_change_configuration(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        server.on_did_change_watched_files(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        server.on_did_change_workspace_folders(params)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
            resolve_provider=True,
        ),
    )
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        await server.still_wanted(params.text_document.uri)
        return server.on_code_action(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(params: types.CodeAction) -> types.CodeAction:
        return server.on_code_action_resolve(params)

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    async def code_lens(params: types.CodeLensParams) -> list[types.CodeLens] | None:
        await server.still_wanted(params.text_document.uri)
        return server.on_code_lens(params)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def goto_definition(params: types.DefinitionParams) -> list[types.Location] | None:
        return server.on_definition(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(params: types.HoverParams) -> types.Hover | None:
        return server.on_hover(params)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def find_references(params: types.ReferenceParams) -> list[types.Location] | None:
        return server.on_references(params)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=['"', "'"])
    )
    def complete(params: types.CompletionParams) -> types.CompletionList | None:
        return server.on_completion(params)

    @server.command(APPLY_ALL_FIXES)
    async def apply_all_fixes(*args: Any) -> dict[str, Any]:
        return await server.apply_all_fixes(args)

    @server.command(SHOW_RULE_DOCUMENTATION)
    async def show_rule_documentation(*args: Any) -> dict[str, Any]:
        return await server.show_rule_documentation(args)

    @server.feature(LIST_RULES_REQUEST)
    def list_rules(params: Any) -> list[dict[str, str]]:
        return server.list_rules()

    return server


def run_server(tcp: tuple[str, int] | None = None) -> None:
    """Serve LSP on stdio, or on TCP at `tcp=(host, port)`."""
    server = create_server()
    with contextlib.suppress(KeyboardInterrupt):
        if tcp is not None:
            server.start_tcp(*tcp)
        else:
            server.start_io()
