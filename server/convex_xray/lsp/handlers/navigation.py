"""Go to definition, hover, references and completion on table, index and field names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lsprotocol import types

from convex_xray.lsp import convert
from convex_xray.lsp.handlers.code_lens import CodeLenses
from convex_xray.lsp.navigation import Target, completions, definition, hover, references, target_at
from convex_xray.lsp.session import (
    Document,
    Project,
)


def markup(text: str, markdown: bool) -> types.MarkupContent:
    if markdown:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)
    plain = text.replace("**", "").replace("`", "")
    return types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain)


class Navigation(CodeLenses):
    """Go to definition, hover, references and completion on table, index and field names."""

    def target(self, uri: str, position: types.Position) -> tuple[Document, Target] | None:
        doc = self.documents.get(uri)
        if doc is None or doc.project is None:
            return None
        offset = convert.offset_of(doc.source.lines, position, self.encoding)
        model = doc.project.workspace.model(doc.path)
        target = target_at(doc.project.workspace, model, doc.source, offset)
        return (doc, target) if target is not None else None

    def locations(self, project: Project, spans: Iterable[Any]) -> list[types.Location]:
        lines_for = self.lines_for(project)
        locations = []
        for span in spans:
            lines = lines_for(span.path)
            if lines is None:
                continue
            locations.append(
                types.Location(
                    uri=self.uri_for(span.path),
                    range=convert.range_of(lines, span.start, span.end, self.encoding),
                )
            )
        return locations

    def on_definition(self, params: types.DefinitionParams) -> list[types.Location] | None:
        found = self.target(params.text_document.uri, params.position)
        if found is None:
            return None
        doc, target = found
        assert doc.project is not None
        return (
            self.locations(doc.project, definition(doc.project.workspace, doc.path, target))
            or None
        )

    def on_hover(self, params: types.HoverParams) -> types.Hover | None:
        found = self.target(params.text_document.uri, params.position)
        if found is None:
            return None
        doc, target = found
        assert doc.project is not None
        text = hover(doc.project.workspace, doc.path, target)
        if text is None:
            return None
        span = target.span
        hover_range = (
            convert.range_of(doc.source.lines, span.start, span.end, self.encoding)
            if span.path == doc.path
            else None
        )
        return types.Hover(contents=markup(text, self.hover_markdown), range=hover_range)

    def on_references(self, params: types.ReferenceParams) -> list[types.Location] | None:
        found = self.target(params.text_document.uri, params.position)
        if found is None:
            return None
        doc, target = found
        assert doc.project is not None
        spans = references(
            doc.project.workspace,
            doc.path,
            target,
            include_declaration=params.context.include_declaration,
        )
        return self.locations(doc.project, spans)

    def on_completion(self, params: types.CompletionParams) -> types.CompletionList | None:
        doc = self.documents.get(params.text_document.uri)
        if doc is None or doc.project is None:
            return None
        lines = doc.source.lines
        offset = convert.offset_of(lines, params.position, self.encoding)
        candidates = completions(doc.project.workspace, doc.source, offset)
        if not candidates:
            return None
        kinds = {
            "table": types.CompletionItemKind.Class,
            "index": types.CompletionItemKind.Reference,
            "field": types.CompletionItemKind.Field,
        }
        items = [
            types.CompletionItem(
                label=c.label,
                kind=kinds[c.kind],
                detail=c.detail,
                documentation=markup(c.documentation, self.completion_markdown)
                if c.documentation
                else None,
                sort_text=c.sort,
                text_edit=types.TextEdit(
                    range=convert.range_of(lines, c.start, c.end, self.encoding), new_text=c.label
                ),
            )
            for c in candidates
        ]
        return types.CompletionList(is_incomplete=False, items=items)
