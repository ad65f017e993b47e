"""`safetyrules lsp`: the Language Server Protocol over `lsp.analysis`, with pygls (the `lsp` extra).

Capabilities: diagnostics on open, change and save (every diagnostic of the policy the file belongs to, with its
code, its help line and the related places; the folder is checked with the editor's unsaved texts in place of the
files on disk), hover, go to definition, find references, completion (triggered by `.` and `"`), document
symbols, formatting (`syntax.formatter`, as `safetyrules fmt`) and a quick fix for each did-you-mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from safetyrules import __version__
from safetyrules.check.pipeline import subject_established
from safetyrules.diagnostics import Diagnostic, Severity, Span
from safetyrules.limits import DEFAULT, Limits
from safetyrules.lsp.analysis import Analysis, Completion, Symbol, analyse
from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import parse

_SEVERITY = {Severity.ERROR: lsp.DiagnosticSeverity.Error, Severity.WARNING: lsp.DiagnosticSeverity.Warning,
             Severity.NOTE: lsp.DiagnosticSeverity.Information}
_COMPLETION_KIND = {"field": lsp.CompletionItemKind.Field, "variable": lsp.CompletionItemKind.Variable,
                    "param": lsp.CompletionItemKind.Constant, "define": lsp.CompletionItemKind.Value,
                    "rule": lsp.CompletionItemKind.Event, "code": lsp.CompletionItemKind.EnumMember,
                    "keyword": lsp.CompletionItemKind.Keyword, "function": lsp.CompletionItemKind.Function,
                    "unit": lsp.CompletionItemKind.Unit}
_SYMBOL_KIND = {"policy": lsp.SymbolKind.Namespace, "param": lsp.SymbolKind.Constant,
                "define": lsp.SymbolKind.Variable, "obligation": lsp.SymbolKind.Class,
                "candidate": lsp.SymbolKind.Interface,
                "trigger": lsp.SymbolKind.Event, "enum": lsp.SymbolKind.Enum, "code": lsp.SymbolKind.EnumMember,
                "record": lsp.SymbolKind.Struct, "subject": lsp.SymbolKind.Struct, "field": lsp.SymbolKind.Field}


def _path(uri: str) -> Path | None:
    fs = to_fs_path(uri)
    return Path(fs).resolve() if fs else None


def _uri(file: str) -> str:
    return from_fs_path(file) or file


class _State:
    """The analyses of the policies the editor has open, and the diagnostics published from them."""

    def __init__(self, server: LanguageServer, limits: Limits) -> None:
        self.server = server
        self.limits = limits
        self.analyses: dict[Path, Analysis] = {}  # policy folder → its latest analysis
        self.parsed: dict[str, Analysis] = {}  # file → the latest analysis in which that file parsed (completion)
        self.published: dict[Path, set[str]] = {}  # policy folder → the URIs given diagnostics

    # ---------------------------------------------------------------- texts and positions
    def open_files(self) -> dict[Path, str]:
        out: dict[Path, str] = {}
        for uri, doc in self.server.workspace.text_documents.items():
            path = _path(uri)
            if path is not None:
                out[path] = doc.source
        return out

    def lines(self, analysis: Analysis | None, file: str) -> list[str]:
        text = analysis.sources.get(file) if analysis is not None else None
        if text is None:
            text = self.open_files().get(Path(file)) or ""
        return text.split("\n")

    def range(self, span: Span, lines: Sequence[str]) -> lsp.Range:
        start = ServerTextPosition(max(span.line, 1) - 1, max(span.column, 1) - 1)  # a span nowhere: the top
        end = ServerTextPosition(max(span.end_line, span.line, 1) - 1, max(span.end_column, 1) - 1)
        server_range = ServerTextRange(start, max(start, end))
        return self.server.workspace.position_codec.range_to_client_units(lines, server_range)

    def location(self, analysis: Analysis, span: Span) -> lsp.Location:
        return lsp.Location(_uri(span.file), self.range(span, self.lines(analysis, span.file)))

    def position(self, uri: str, position: lsp.Position) -> tuple[str, int, int, str] | None:
        """A client position as (file, 1-based line, 1-based column in characters, the line's text now)."""
        path = _path(uri)
        if path is None:
            return None
        text = self.server.workspace.get_text_document(uri).source
        lines = text.split("\n")
        at = self.server.workspace.position_codec.position_from_client_units(
            lines, lsp.Position(position.line, position.character))
        line_text = lines[at.line] if at.line < len(lines) else ""
        return str(path), at.line + 1, at.character + 1, line_text

    # ---------------------------------------------------------------- analyses
    def refresh(self, uri: str) -> Analysis | None:
        """Analyse the policy of `uri` again, and publish the diagnostics of each of its files."""
        path = _path(uri)
        if path is None:
            return None
        analysis = analyse(path, self.open_files(), self.limits)
        folder = path.parent
        self.analyses[folder] = analysis
        for file in analysis.sources:
            if not any(d.code in ("syntax", "bad-literal", "too-deep") and d.span.file == file
                       for d in analysis.diagnostics):
                self.parsed[file] = analysis
        self.publish(folder, analysis)
        return analysis

    def analysis(self, uri: str) -> Analysis | None:
        path = _path(uri)
        if path is None:
            return None
        return self.analyses.get(path.parent) or self.refresh(uri)

    def publish(self, folder: Path, analysis: Analysis) -> None:
        by_uri: dict[str, list[lsp.Diagnostic]] = {_uri(f): [] for f in analysis.sources}
        for d in analysis.diagnostics:
            by_uri.setdefault(_uri(d.span.file), []).append(self.diagnostic(analysis, d))
        for uri in self.published.get(folder, set()) - set(by_uri):
            by_uri[uri] = []  # a file no longer part of the policy: its diagnostics are cleared
        self.published[folder] = {u for u, ds in by_uri.items() if ds}
        for uri, diags in by_uri.items():
            self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags))

    def diagnostic(self, analysis: Analysis, d: Diagnostic) -> lsp.Diagnostic:
        lines = self.lines(analysis, d.span.file)
        related = [lsp.DiagnosticRelatedInformation(self.location(analysis, r.span), r.message) for r in d.related]
        fix = analysis.fix(d)
        data: dict[str, Any] | None = None
        if fix is not None:
            r = self.range(fix.span, lines)
            data = {"title": fix.title, "newText": fix.text,
                    "range": [r.start.line, r.start.character, r.end.line, r.end.character]}
        return lsp.Diagnostic(
            range=self.range(d.span, lines), message=d.message + (f"\nhelp: {d.suggestion}" if d.suggestion else ""),
            severity=_SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Error), code=d.code, source="safetyrules",
            related_information=related or None, data=data)

    def close(self, uri: str) -> None:
        path = _path(uri)
        if path is None:
            return
        folder = path.parent
        if any(p.parent == folder for p in self.open_files()):
            self.refresh(next(_uri(str(p)) for p in self.open_files() if p.parent == folder))
            return
        for u in self.published.pop(folder, set()):
            self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=u, diagnostics=[]))
        self.analyses.pop(folder, None)


def build_server(limits: Limits = DEFAULT) -> LanguageServer:
    """A language server for policy files (not started: `start_io()` speaks over standard input and output)."""
    server = LanguageServer("safetyrules", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
    state = _State(server, limits)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
        state.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        state.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: lsp.DidSaveTextDocumentParams) -> None:
        state.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
        state.close(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(params: lsp.HoverParams) -> lsp.Hover | None:
        analysis = state.analysis(params.text_document.uri)
        at = state.position(params.text_document.uri, params.position)
        if analysis is None or at is None:
            return None
        occ = analysis.at(*at[:3])
        if occ is None:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=analysis.hover(occ)),
                         range=state.range(occ.span, state.lines(analysis, occ.span.file)))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(params: lsp.DefinitionParams) -> lsp.Location | None:
        analysis = state.analysis(params.text_document.uri)
        at = state.position(params.text_document.uri, params.position)
        occ = analysis.at(*at[:3]) if analysis is not None and at is not None else None
        target = analysis.definition(occ.key) if analysis is not None and occ is not None else None
        return state.location(analysis, target.span) if analysis is not None and target is not None else None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        analysis = state.analysis(params.text_document.uri)
        at = state.position(params.text_document.uri, params.position)
        occ = analysis.at(*at[:3]) if analysis is not None and at is not None else None
        if analysis is None or occ is None:
            return None
        return [state.location(analysis, o.span)
                for o in analysis.references(occ.key, params.context.include_declaration)]

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", '"']))
    def completion(params: lsp.CompletionParams) -> lsp.CompletionList | None:
        at = state.position(params.text_document.uri, params.position)
        if at is None:
            return None
        file, line, column, line_text = at
        analysis = state.parsed.get(file) or state.analysis(params.text_document.uri)
        if analysis is None:
            return None
        return lsp.CompletionList(is_incomplete=False, items=[
            _completion_item(c) for c in analysis.completions(file, line, column, line_text)])

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
        analysis = state.analysis(params.text_document.uri)
        path = _path(params.text_document.uri)
        if analysis is None or path is None:
            return None
        lines = state.lines(analysis, str(path))
        return [_symbol(state, s, lines) for s in analysis.symbols(str(path))]

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        uri = params.text_document.uri
        text = server.workspace.get_text_document(uri).source
        result = parse(text, uri)
        if not result.ok:
            return None  # a file that does not parse is not formatted (as `safetyrules fmt`)
        path = _path(uri)  # the deadlines name the params the engines read, as `safetyrules fmt` writes them
        formatted = format_module(result.module, subject_established(path.parent) if path is not None else None)
        if formatted == text:
            return []
        lines = text.split("\n")
        end = state.server.workspace.position_codec.position_to_client_units(
            lines, ServerTextPosition(len(lines) - 1, len(lines[-1])))
        return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=formatted)]

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        uri = params.text_document.uri
        analysis = state.analysis(uri)
        path = _path(uri)
        if analysis is None or path is None:
            return None
        lines = state.lines(analysis, str(path))
        actions = []
        for d in analysis.diagnostics:
            if d.span.file != str(path):
                continue
            fix = analysis.fix(d)
            where = state.range(d.span, lines)
            if fix is None or not _overlaps(where, params.range):
                continue
            sent = [c for c in params.context.diagnostics if c.code == d.code and c.range == where]
            edit = lsp.TextEdit(range=state.range(fix.span, lines), new_text=fix.text)
            actions.append(lsp.CodeAction(title=fix.title, kind=lsp.CodeActionKind.QuickFix,
                                          diagnostics=sent or [state.diagnostic(analysis, d)], is_preferred=True,
                                          edit=lsp.WorkspaceEdit(changes={uri: [edit]})))
        return actions

    return server


def _overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    def key(p: lsp.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _completion_item(c: Completion) -> lsp.CompletionItem:
    doc = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=c.documentation) if c.documentation else None
    return lsp.CompletionItem(label=c.label, kind=_COMPLETION_KIND.get(c.kind, lsp.CompletionItemKind.Text),
                              detail=c.detail or None, documentation=doc)


def _symbol(state: _State, s: Symbol, lines: Sequence[str]) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(name=s.name, kind=_SYMBOL_KIND.get(s.kind, lsp.SymbolKind.Object),
                              range=state.range(s.span, lines), selection_range=state.range(s.selection, lines),
                              detail=s.detail or None, children=[_symbol(state, c, lines) for c in s.children] or None)


def main(limits: Limits = DEFAULT) -> None:
    """Serve over standard input and output until the client exits."""
    build_server(limits).start_io()
