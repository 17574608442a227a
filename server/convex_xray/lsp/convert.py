"""Engine <-> LSP conversions: the only place that turns findings, fixes and byte spans into
`lsprotocol` types (and LSP positions back into bytes).

Every byte offset becomes a position through the `LineIndex` of the snapshot it was
computed on, in the encoding negotiated with the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from lsprotocol import types

from convex_xray.engine.findings import Edit, Finding, Fix, Severity
from convex_xray.engine.registry import resolve_rule
from convex_xray.engine.source import Encoding, LineIndex, SourceFile, TextChange

SOURCE = "convex-xray"

_ENCODINGS = {
    types.PositionEncodingKind.Utf8: Encoding.UTF8,
    types.PositionEncodingKind.Utf16: Encoding.UTF16,
    types.PositionEncodingKind.Utf32: Encoding.UTF32,
    "utf-8": Encoding.UTF8,
    "utf-16": Encoding.UTF16,
    "utf-32": Encoding.UTF32,
}

_SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}

# Where a path's byte offsets are turned into positions (the snapshot the spans refer to).
LinesFor = Callable[[Path], LineIndex | None]
UriFor = Callable[[Path], str]


def encoding_of(kind: types.PositionEncodingKind | str | None) -> Encoding:
    return _ENCODINGS.get(kind or "utf-16", Encoding.UTF16)


def position(lines: LineIndex, offset: int, encoding: Encoding) -> types.Position:
    line, column = lines.position(offset, encoding)
    return types.Position(line=line, character=column)


def range_of(lines: LineIndex, start: int, end: int, encoding: Encoding) -> types.Range:
    return types.Range(start=position(lines, start, encoding), end=position(lines, end, encoding))


def offset_of(lines: LineIndex, pos: types.Position, encoding: Encoding) -> int:
    return lines.offset(pos.line, pos.character, encoding)


# -- incoming edits ----------------------------------------------------------------------------


def text_changes(
    source: SourceFile, changes: Sequence[types.TextDocumentContentChangeEvent], encoding: Encoding
) -> list[TextChange]:
    """`didChange` content changes as byte-level changes, each in the coordinates of the text
    after the previous one (as LSP sends them)."""
    result: list[TextChange] = []
    lines = source.lines
    data = source.data
    for number, change in enumerate(changes):
        if isinstance(change, types.TextDocumentContentChangePartial):
            start = offset_of(lines, change.range.start, encoding)
            end = max(start, offset_of(lines, change.range.end, encoding))
            text_change = TextChange(start, end, change.text)
        else:  # the whole document
            text_change = TextChange(0, len(data), change.text)
        result.append(text_change)
        if number + 1 < len(changes):
            data = (
                data[: text_change.start]
                + text_change.text.encode("utf-8")
                + data[text_change.end :]
            )
            lines = LineIndex(data)
    return result


# -- diagnostics -------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def plain(text: str) -> str:
    """Messages and titles for places that show text as is (the Problems panel, the
    quick-fix menu): a Markdown code span becomes the code in single quotes, as compilers
    write it; code that is already a string literal keeps its own quotes. Hovers keep the
    Markdown."""

    def unquote(match: re.Match[str]) -> str:
        code = match.group(1)
        return code if code[0] in "\"'" and code[-1] == code[0] and len(code) > 1 else f"'{code}'"

    return _CODE_SPAN.sub(unquote, text)



def diagnostic(
    finding: Finding,
    lines: LineIndex,
    encoding: Encoding,
    *,
    lines_for: LinesFor,
    uri_for: UriFor,
    version: int | None,
) -> types.Diagnostic:
    """A finding as the client shows it. Its fixes are not sent: no client reads them from the
    diagnostic, code actions find the finding again by the diagnostic's code and range
    (`CodeActions.finding_for`), and their titles were a fifth of every publish (ConvexPress
    `emails/internals.ts`: 31 KB, each keystroke)."""
    rule = resolve_rule(finding.rule)
    related: list[types.DiagnosticRelatedInformation] = []
    for item in finding.related:
        other = lines if item.span.path == finding.path else lines_for(item.span.path)
        if other is None:
            continue
        related.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=uri_for(item.span.path),
                    range=range_of(other, item.span.start, item.span.end, encoding),
                ),
                message=plain(item.message),
            )
        )
    return types.Diagnostic(
        range=range_of(lines, finding.span.start, finding.span.end, encoding),
        message=plain(finding.message) or finding.rule,
        severity=_SEVERITIES[finding.severity],
        code=finding.rule,
        code_description=types.CodeDescription(href=rule.meta.docs_url) if rule else None,
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary]
        if rule is not None and rule.meta.unnecessary
        else None,
        related_information=related or None,
        data={"version": version, "ruleCode": finding.code},
    )


# -- edits -------------------------------------------------------------------------------------


def workspace_edit(
    edits: Iterable[Edit],
    encoding: Encoding,
    *,
    lines_for: LinesFor,
    uri_for: UriFor,
    version_for: Callable[[Path], int | None],
    document_changes: bool,
    snippets: bool = False,
) -> types.WorkspaceEdit:
    """Edits (bytes, possibly several files) as a `WorkspaceEdit`: versioned document edits for
    clients that support them (so a stale edit is refused), a plain change map otherwise.
    With `snippets` (the client declares `workspaceEdit.snippetEditSupport`, LSP 3.18), an
    edit that has a snippet goes as a `SnippetTextEdit`: the editor puts the cursor on its
    placeholder (a timeout's value) to type over."""
    by_path: dict[Path, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    text_edits: dict[Path, list[types.TextEdit]] = {}
    snippet_edits: dict[Path, list[types.TextEdit | types.SnippetTextEdit]] = {}
    for path, path_edits in by_path.items():
        lines = lines_for(path)
        if lines is None:
            continue
        ordered = sorted(path_edits, key=lambda e: (e.start, e.end))
        text_edits[path] = [
            types.TextEdit(range=range_of(lines, e.start, e.end, encoding), new_text=e.new_text)
            for e in ordered
        ]
        snippet_edits[path] = [
            types.SnippetTextEdit(range=plain.range, snippet=types.StringValue(value=e.snippet))
            if e.snippet is not None
            else plain
            for e, plain in zip(ordered, text_edits[path], strict=True)
        ]
    if document_changes and snippets:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri_for(path), version=version_for(path)
                    ),
                    edits=list(items),
                )
                for path, items in sorted(snippet_edits.items())
            ]
        )
    if document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri_for(path), version=version_for(path)
                    ),
                    edits=list(items),
                )
                for path, items in sorted(text_edits.items())
            ]
        )
    return types.WorkspaceEdit(
        changes={uri_for(path): list(items) for path, items in sorted(text_edits.items())}
    )


def fix_title(fix: Fix) -> str:
    """The quick-fix menu's text, plain."""
    return plain(fix.title)
