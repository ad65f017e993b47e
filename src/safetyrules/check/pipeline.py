"""Source files → parsed modules → checked policy, with every diagnostic of every file.

This is the one place where the front end's stages are chained (as Jinja's `Environment.compile` is), so
that the CLI, the library and the tests all see the same diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safetyrules.check.checker import CheckedPolicy, check
from safetyrules.diagnostics import Diagnostic, Span, sort_key
from safetyrules.syntax import ast
from safetyrules.syntax.parser import parse

POLICY_SUFFIX = ".policy"


@dataclass(slots=True)
class Compilation:
    sources: dict[str, str]  # file name → text, for rendering diagnostics under the source line
    modules: list[ast.Module]
    diagnostics: list[Diagnostic]
    policy: CheckedPolicy | None

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


def read_sources(paths: list[Path]) -> tuple[dict[str, str], list[Diagnostic]]:
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
            try:
                sources[display_name(f, root)] = f.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                diags.append(_file_error(str(f), f"cannot read: {err}"))
    return sources, diags


def _file_error(file: str, message: str) -> Diagnostic:
    from safetyrules.diagnostics import Severity

    return Diagnostic("io", Severity.ERROR, message, Span(file, 0, 0, 0, 0))


def compile_sources(sources: dict[str, str], extra: list[Diagnostic] | None = None,
                    extension_files: frozenset[str] = frozenset()) -> Compilation:
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
        checked = check(modules, frozenset(unparsed), extension_files)
        diags.extend(checked.diagnostics)
        if not any(d.is_error for d in diags):
            policy = checked.policy
    diags.sort(key=sort_key)
    return Compilation(sources, modules, diags, policy)


def compile_paths(paths: list[Path], extensions: list[Path] | None = None) -> Compilation:
    """Compile a policy; `extensions` are what-if additions (rules that may implement new catalogue ids)."""
    sources, diags = read_sources(paths)
    extension_files: set[str] = set()
    if extensions:
        more, more_diags = read_sources(extensions)
        sources.update(more)
        diags.extend(more_diags)
        extension_files = set(more)
    return compile_sources(sources, diags, frozenset(extension_files))
