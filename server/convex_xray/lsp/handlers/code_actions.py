"""Quick fixes, "disable for this line", "show documentation", fix-all, and resolving their edits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified

from convex_xray.engine.findings import Applicability, Edit, Finding, Fix
from convex_xray.engine.registry import resolve_rule
from convex_xray.engine.source import LineIndex
from convex_xray.engine.suppressions import disable_comment_edit
from convex_xray.lsp import convert
from convex_xray.lsp.handlers.lifecycle import Lifecycle
from convex_xray.lsp.session import (
    Document,
    minimal_edits,
)
from convex_xray.lsp.state import FIX_ALL_KIND, SHOW_RULE_DOCUMENTATION


def kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    if only is None:
        return True
    return any(kind == o or kind.startswith(f"{o}.") for o in only)


class CodeActions(Lifecycle):
    """Quick fixes, "disable for this line", "show documentation", fix-all, and resolving their edits."""

    def finding_for(self, doc: Document, diagnostic: types.Diagnostic) -> Finding | None:
        lines = doc.source.lines
        start = convert.offset_of(lines, diagnostic.range.start, self.encoding)
        end = convert.offset_of(lines, diagnostic.range.end, self.encoding)
        same_rule = [f for f in doc.shown if f.rule == diagnostic.code and f.path == doc.path]
        for finding in same_rule:
            if finding.span.start == start and finding.span.end == end:
                return finding
        overlapping = [f for f in same_rule if f.span.start <= end and start <= f.span.end]
        return overlapping[0] if len(overlapping) == 1 else None

    def on_code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        doc = self.documents.get(params.text_document.uri)
        if doc is None or doc.project is None:
            return None
        only = params.context.only
        actions: list[types.CodeAction] = []
        if kind_wanted(types.CodeActionKind.QuickFix, only):
            for diagnostic in params.context.diagnostics:
                if diagnostic.source != convert.SOURCE or not isinstance(diagnostic.code, str):
                    continue
                actions += self.quick_fixes(doc, diagnostic)
        settings = self.settings_for(doc.project)
        wants_fix_all = only is not None and kind_wanted(FIX_ALL_KIND, only)
        fixable = any(
            f.fix is not None
            and f.fix.edits
            and (
                f.fix.applicability is Applicability.SAFE
                or (settings.unsafe_fixes and f.fix.applicability is Applicability.UNSAFE)
            )
            for f in doc.shown
        )
        if wants_fix_all or (only is None and fixable):
            action = types.CodeAction(
                title="Fix all convex-xray problems"
                + (" (including unsafe fixes)" if settings.unsafe_fixes else ""),
                kind=FIX_ALL_KIND,
                data={"uri": doc.uri, "version": doc.version, "type": "fixAll"},
            )
            if not self.resolve_edits:
                action.edit = self.fix_all_edit(doc)
                action.data = None
            actions.append(action)
        return actions

    def quick_fixes(self, doc: Document, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        slug = str(diagnostic.code)
        finding = self.finding_for(doc, diagnostic)
        actions: list[types.CodeAction] = []
        if finding is not None:
            for number, fix in enumerate([finding.fix, *finding.alternatives]):
                if fix is None or not fix.edits:
                    continue  # the engine drops these; a quick fix must apply an edit
                action = types.CodeAction(
                    title=convert.fix_title(fix),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=True
                    if number == 0 and fix.applicability is Applicability.SAFE
                    else None,
                )
                if self.resolve_edits:
                    action.data = {
                        "uri": doc.uri,
                        "version": doc.version,
                        "type": "fix",
                        "rule": finding.rule,
                        "start": finding.span.start,
                        "end": finding.span.end,
                        "fix": number,
                    }
                else:
                    action.edit = self.fix_edit(doc, fix)
                actions.append(action)
            anchor = finding.span.start
        else:
            anchor = convert.offset_of(doc.source.lines, diagnostic.range.start, self.encoding)
        rule = resolve_rule(slug)
        if rule is None:
            return actions
        edit = disable_comment_edit(doc.source, anchor, rule.meta.slug)
        actions.append(
            types.CodeAction(
                title=f"Disable {rule.meta.slug} for this line",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                edit=self.workspace_edit([edit], self.lines_for(doc.project)),
            )
        )
        actions.append(
            types.CodeAction(
                title=f"Show documentation for {rule.meta.slug}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                command=types.Command(
                    title=f"Show documentation for {rule.meta.slug}",
                    command=SHOW_RULE_DOCUMENTATION,
                    arguments=[rule.meta.slug],
                ),
            )
        )
        return actions

    def fix_edit(self, doc: Document, fix: Fix) -> types.WorkspaceEdit:
        return self.workspace_edit(fix.edits, self.lines_for(doc.project))

    def fix_all_edit(
        self, doc: Document, *, unsafe: bool | None = None
    ) -> types.WorkspaceEdit | None:
        project = doc.project
        if project is None:
            return None
        if unsafe is None:
            unsafe = self.settings_for(project).unsafe_fixes
        changed, _ = project.fix_all(doc.path, unsafe=unsafe)
        if not changed:
            return None
        edits: list[Edit] = []
        snapshots: dict[Path, LineIndex] = {}
        for path, (before, after) in changed.items():
            edits += minimal_edits(path, before.data, after)
            snapshots[path] = before.lines
        return self.workspace_edit(edits, snapshots.get)

    def on_code_action_resolve(self, action: types.CodeAction) -> types.CodeAction:
        data = action.data
        if not isinstance(data, dict) or "uri" not in data:
            return action
        doc = self.documents.get(data["uri"])
        if doc is None or doc.version != data.get("version"):
            raise JsonRpcContentModified(
                f"{data['uri']} changed since this code action was offered (version {data.get('version')}); request it again"
            )
        if data.get("type") == "fixAll":
            action.edit = self.fix_all_edit(doc) or types.WorkspaceEdit(changes={})
            return action
        finding = next(
            (
                f
                for f in doc.shown
                if f.rule == data.get("rule")
                and f.span.start == data.get("start")
                and f.span.end == data.get("end")
            ),
            None,
        )
        fixes = [finding.fix, *finding.alternatives] if finding is not None else []
        number = data.get("fix", 0)
        fix = fixes[number] if isinstance(number, int) and 0 <= number < len(fixes) else None
        if fix is None:
            raise JsonRpcContentModified(
                "the diagnostic of this code action is gone; request it again"
            )
        action.edit = self.fix_edit(doc, fix)
        return action
