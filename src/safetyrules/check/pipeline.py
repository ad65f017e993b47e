"""Source files → parsed modules → checked policy, with every diagnostic of every file.

This is the one place where the front end's stages are chained (as Jinja's `Environment.compile` is), so
that the CLI, the library and the tests all see the same diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safetyrules.check.checker import CheckedPolicy, check
from safetyrules.check.schema import check_schema
from safetyrules.diagnostics import Diagnostic, DiagnosticSink, Span, sort_key
from safetyrules.facts.schema import FactSchema
from safetyrules.limits import DEFAULT, Limits
from safetyrules.syntax import ast
from safetyrules.syntax.parser import parse
from safetyrules.yamltext import DocumentError, read_document

POLICY_SUFFIX = ".policy"


@dataclass(slots=True)
class Compilation:
    sources: dict[str, str]  # file name → text, for rendering diagnostics under the source line
    modules: list[ast.Module]
    diagnostics: list[Diagnostic]
    policy: CheckedPolicy | None
    roots: tuple[str, ...] = ()  # the paths given to `compile_paths` (files or folders), to name the policy again

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def policy_files(path: Path) -> list[Path]:
    """A policy is one `.policy` file or a folder of them (read in name order)."""
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{POLICY_SUFFIX}") if p.is_file())
    return [path]


def display_name(file: Path, root: Path) -> str:
    """How diagnostics name a file: relative to the working folder, else to the folder given."""
    try:
        return str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        base = root.parent
        return str(file.relative_to(base)) if file.is_relative_to(base) else str(file)


def read_sources(paths: list[Path], limits: Limits = DEFAULT) -> tuple[dict[str, str], list[Diagnostic]]:
    sources: dict[str, str] = {}
    diags: list[Diagnostic] = []
    for root in paths:
        if not root.exists():
            diags.append(_file_error(str(root), "no such file or folder"))
            continue
        files = policy_files(root)
        if not files:
            diags.append(_file_error(str(root), f"no `{POLICY_SUFFIX}` files in this folder"))
        for f in files:
            text, problem = read_policy_file(f, display_name(f, root), limits)
            if problem is not None:
                diags.append(problem)
            else:
                sources[display_name(f, root)] = text
    return sources, diags


def read_policy_file(path: Path, name: str | None = None, limits: Limits = DEFAULT) -> tuple[str, Diagnostic | None]:
    """A policy file's text (a leading byte-order mark dropped), or an `io` diagnostic at the line and column
    of the problem: not a regular file (a FIFO or a device is refused, never waited on), larger than
    `limits.max_document_bytes`, not UTF-8."""
    try:
        return read_document(path, limits), None
    except DocumentError as e:
        return "", _file_error(name or str(path), e.reason, e.line or 1, e.column or 1)


def _file_error(file: str, message: str, line: int = 1, column: int = 1) -> Diagnostic:
    from safetyrules.diagnostics import Severity

    return Diagnostic("io", Severity.ERROR, message, Span(file, line, column, line, column + 1))


def compile_sources(sources: dict[str, str], extra: list[Diagnostic] | None = None,
                    extension_files: frozenset[str] = frozenset(), limits: Limits = DEFAULT) -> Compilation:
    diags = list(extra or [])
    modules: list[ast.Module] = []
    unparsed: set[str] = set()
    for name, text in sources.items():
        result = parse(text, name)
        diags.extend(result.diagnostics)
        modules.append(result.module)
        unparsed |= result.unparsed_names
    policy = None
    if modules and not any(d.code == "io" for d in diags):
        checked = check(modules, frozenset(unparsed), extension_files, limits)
        diags.extend(checked.diagnostics)
        if not any(d.is_error for d in diags):
            policy = checked.policy
    diags.sort(key=sort_key)
    return Compilation(sources, modules, diags, policy)


def compile_paths(paths: list[Path], extensions: list[Path] | None = None, limits: Limits = DEFAULT) -> Compilation:
    """Compile a policy; `extensions` are what-if additions (rules that may implement new catalogue ids)."""
    sources, diags = read_sources(paths, limits)
    extension_files: set[str] = set()
    if extensions:
        more, more_diags = read_sources(extensions, limits)
        sources.update(more)
        diags.extend(more_diags)
        extension_files = set(more)
    compilation = compile_sources(sources, diags, frozenset(extension_files), limits)
    compilation.roots = tuple(str(p) for p in paths)
    return compilation


def subject_established(folder: Path) -> bool:
    """Whether the subject of the policy in `folder` (its `.policy` files, as `safetyrules check FOLDER` and
    the language server read them) has an establishment date, so that `due by` reads `new_entrant_grace`. A
    policy that declares no subject reads the built-in contract. What `safetyrules fmt` needs to name the
    params the engines read in the deadlines' text."""
    from safetyrules.check.checker import ESTABLISHED_FIELD
    from safetyrules.facts.contract import builtin_contract

    for path in sorted(folder.glob(f"*{POLICY_SUFFIX}")):
        text, problem = read_policy_file(path)
        if problem is not None:
            continue
        for decl in parse(text, str(path)).module.decls:
            if isinstance(decl, ast.RecordDecl) and decl.kind == "subject":
                return any(f.name == ESTABLISHED_FIELD for f in decl.fields)
    return ESTABLISHED_FIELD in builtin_contract().model.model_fields


def read_schema(paths: list[Path], limits: Limits = DEFAULT) -> tuple[FactSchema | None, dict[str, str],
                                                                      list[Diagnostic]]:
    """The fact schema declared in the policy files at ``paths`` (only the `enum`, `record` and `subject`
    declarations are read and checked: a schema can be inspected or compared whatever the rules say), with the
    sources and the diagnostics. ``None`` when the files declare no schema or it has errors."""
    sources, diagnostics = read_sources(paths, limits)
    decls: list[ast.EnumDecl | ast.RecordDecl] = []
    for name, text in sources.items():
        result = parse(text, name)
        diagnostics.extend(result.diagnostics)
        decls.extend(d for d in result.module.decls if isinstance(d, ast.EnumDecl | ast.RecordDecl))
    sink = DiagnosticSink()
    schema = check_schema(decls, sink) if not any(d.is_error for d in diagnostics) else None
    diagnostics.extend(sink.items)
    diagnostics.sort(key=sort_key)
    return schema, sources, diagnostics
