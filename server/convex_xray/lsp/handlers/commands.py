"""Commands and custom requests: apply all fixes, show a rule's documentation, list the rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from convex_xray.engine.registry import all_rules, resolve_rule
from convex_xray.lsp.handlers.code_actions import CodeActions
from convex_xray.lsp.state import APPLY_ALL_FIXES, SHOW_RULE_DOCUMENTATION


class Commands(CodeActions):
    """Commands and custom requests: apply all fixes, show a rule's documentation, list the rules."""

    async def apply_all_fixes(self, args: Sequence[Any]) -> dict[str, Any]:
        uri = args[0] if args else None
        if isinstance(uri, dict):
            uri = uri.get("uri")
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams(
                f"{APPLY_ALL_FIXES} expects [uri] or [{{uri}}], got {list(args)!r}"
            )
        doc = self.documents.get(uri)
        if doc is None or doc.project is None:
            return {"applied": False, "reason": "not an open Convex document"}
        edit = self.fix_all_edit(doc)
        if edit is None:
            return {"applied": False, "reason": "nothing to fix"}
        result = await self.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label="convex-xray: fix all")
        )
        return {"applied": bool(result.applied), "reason": result.failure_reason}

    async def show_rule_documentation(self, args: Sequence[Any]) -> dict[str, Any]:
        slug = args[0] if args else None
        rule = resolve_rule(slug) if isinstance(slug, str) else None
        if rule is None:
            raise JsonRpcInvalidParams(
                f"{SHOW_RULE_DOCUMENTATION} expects [slug], got {list(args)!r}"
            )
        url = rule.meta.docs_url
        if self.show_document_support:
            result = await self.window_show_document_async(
                types.ShowDocumentParams(uri=url, external=True)
            )
            return {"shown": bool(result.success), "url": url}
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=f"{rule.meta.slug}: {url}")
        )
        return {"shown": False, "url": url}

    def list_rules(self) -> list[dict[str, str]]:
        return [
            {
                "slug": r.meta.slug,
                "code": r.meta.code,
                "summary": r.meta.summary,
                "url": r.meta.docs_url,
            }
            for r in all_rules()
        ]
