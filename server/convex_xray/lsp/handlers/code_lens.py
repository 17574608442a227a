"""Code lenses: estimated reads above every Convex function."""

from __future__ import annotations

from lsprotocol import types

from convex_xray.engine.writers import cost_assumptions
from convex_xray.lsp import convert
from convex_xray.lsp.handlers.commands import Commands
from convex_xray.lsp.lens import lenses


class CodeLenses(Commands):
    """Code lenses: estimated reads above every Convex function."""

    def on_code_lens(self, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        doc = self.documents.get(params.text_document.uri)
        if (
            doc is None
            or doc.project is None
            or not self.settings_for(doc.project).code_lens.enable
        ):
            return None
        model = doc.project.workspace.model(doc.path)
        if model is None:
            return None
        lines = doc.source.lines
        return [
            types.CodeLens(
                range=convert.range_of(lines, lens.start, lens.end, self.encoding),
                command=types.Command(title=lens.title, command=""),
            )
            for lens in lenses(doc.project.workspace, model, cost_assumptions(doc.project.workspace, doc.project.config))
        ]
