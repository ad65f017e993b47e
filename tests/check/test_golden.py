"""Golden diagnostics: each `golden/<NN>-<name>.policy` holds one mistake in an otherwise valid policy, and
`golden/<NN>-<name>.expected` holds exactly what `render_all` prints for it (file names relative to this
folder, so the files are the same on every machine). The first line of each policy is a comment
`# expect: code[, code…]` naming the diagnostic codes the mistake must produce, so a golden file cannot
silently start recording a different mistake.

After a deliberate change of a message, regenerate the expected files and review the diff:

    SAFETYRULES_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/check/test_golden.py
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

from safetyrules.check.pipeline import compile_paths, compile_sources
from safetyrules.diagnostics import display_width, render_all

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
CASES = sorted(GOLDEN.glob("*.policy"))
UPDATE = os.environ.get("SAFETYRULES_UPDATE_GOLDEN") == "1"

# Every code that the parser and the checker can emit (grep `sink.error(`, `sink.warning(`, `Diagnostic(`
# in src/safetyrules/syntax and src/safetyrules/check). `io` comes from reading files, tested below.
ALL_CODES = {
    "syntax", "too-deep", "bad-literal",
    "duplicate-name", "shadowed-name", "missing-policy", "duplicate-policy", "duplicate-item", "bad-period",
    "missing-item", "duplicate-catalogue-id", "unimplemented", "reserved-param-type", "missing-default",
    "missing-source", "not-constant", "unordered-dates", "unknown-type", "cycle", "type-mismatch",
    "missing-implements", "unknown-catalogue-id", "unknown-severity", "missing-due", "misplaced-item",
    "missing-each", "missing-require", "not-a-record", "unknown-field", "not-a-param", "not-ordered",
    "unknown-name", "unknown-enum-code", "not-a-list", "unknown-function", "arity", "not-a-rule", "unused",
    "too-costly", "definition-chain-too-deep", "number-too-large", "duration-too-large",
    # the fact schema (check/schema.py)
    "duplicate-code", "empty-enum", "bad-set", "duplicate-field", "missing-subject", "duplicate-subject",
    "missing-key", "bad-key", "bad-timezone", "bad-dated", "bad-option", "recursive-record", "reserved-name",
    # the language revision (docs/language.md, "Deprecated forms"): warnings for the earlier forms
    "deprecated-source", "deprecated-met", "deprecated-every", "deprecated-candidate", "deprecated-implicit-param",
    "wrong-engine-param",
}


def _name(path: Path) -> str:
    return f"{GOLDEN.name}/{path.name}"


def _compile(path: Path) -> tuple[str, list[str], set[str]]:
    text = path.read_text(encoding="utf-8")
    header = re.match(r"# expect: (.*)\n", text)
    assert header is not None, f"{path.name} must start with `# expect: code, …`"
    compilation = compile_sources({_name(path): text})
    return (render_all(compilation.diagnostics, compilation.sources),
            [d.code for d in compilation.diagnostics],
            {c.strip() for c in header.group(1).split(",")})


def test_there_are_enough_golden_files() -> None:
    assert len(CASES) >= 30
    numbers = [p.name.split("-", 1)[0] for p in CASES]
    assert len(set(numbers)) == len(numbers), "golden file numbers must be unique"
    for p in CASES:
        assert p.with_suffix(".expected").exists() or UPDATE, f"{p.name} has no .expected file"
    orphans = {p.stem for p in GOLDEN.glob("*.expected")} - {p.stem for p in CASES}
    assert not orphans, f".expected files without a policy: {sorted(orphans)}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden(path: Path) -> None:
    rendered, codes, expected_codes = _compile(path)
    assert set(codes) == expected_codes, f"{path.name}: got {codes}"
    expected_file = path.with_suffix(".expected")
    if UPDATE:
        expected_file.write_text(rendered + "\n", encoding="utf-8")
    assert rendered + "\n" == expected_file.read_text(encoding="utf-8")
    # machine independence: only relative file names in the output
    assert str(HERE) not in rendered
    for line in rendered.splitlines():
        m = re.match(r"(\S+?):\d+:\d+: (error|warning)\[", line)
        if m:
            assert m.group(1) == _name(path)


def test_golden_files_cover_every_code() -> None:
    seen: set[str] = set()
    for path in CASES:
        seen |= set(_compile(path)[1])
    assert ALL_CODES - seen == set()
    assert seen - ALL_CODES == set(), "a new diagnostic code: add it to ALL_CODES (and a golden file)"


def test_golden_files_are_otherwise_valid() -> None:
    # The fragments that the golden files are made from must be clean, or a file would hold two mistakes.
    base = (HERE / "golden_base.policy").read_text(encoding="utf-8")
    compilation = compile_sources({"base.policy": base})
    assert compilation.diagnostics == []


def test_every_code_found_in_the_sources_is_listed() -> None:
    src = Path(__file__).resolve().parents[2] / "src" / "safetyrules"
    found: set[str] = set()
    for folder in ("syntax", "check"):
        for f in (src / folder).glob("*.py"):
            text = f.read_text(encoding="utf-8")
            found |= set(re.findall(r'(?:sink\.(?:error|warning)|Diagnostic)\(\s*"([a-z-]+)"', text))
    # `io` needs a missing file and `new-catalogue-id` a what-if addition: both are tested elsewhere
    assert found - {"io", "new-catalogue-id"} <= ALL_CODES, sorted(found - ALL_CODES)


def test_io_diagnostic(tmp_path: Path) -> None:
    compilation = compile_paths([tmp_path / "missing.policy"])
    assert [d.code for d in compilation.diagnostics] == ["io"]
    assert compilation.policy is None
    (tmp_path / "empty").mkdir()
    assert [d.code for d in compile_paths([tmp_path / "empty"]).diagnostics] == ["io"]


# ------------------------------------------------------------------------------------------ caret placement


def _caret_under(rendered: str, needle: str) -> None:
    """Under the diagnostic whose message names `needle`, the caret starts exactly under `needle` as a
    terminal shows the source line (tabs to multiples of 8, CJK characters two cells wide)."""
    lines = rendered.splitlines()
    head = next(i for i, line in enumerate(lines)
                if re.search(r": (error|warning)\[", line) and needle in line)
    source_line, caret_line = lines[head + 1], lines[head + 2]
    shown = source_line.expandtabs(8)
    caret_at = display_width(caret_line.expandtabs(8)[: caret_line.index("^")])
    assert caret_at == display_width(shown[: shown.index(needle)]), f"\n{source_line}\n{caret_line}"


def test_caret_is_shifted_by_the_display_width_of_chinese_text() -> None:
    path = next(p for p in CASES if "chinese" in p.name)
    _caret_under(_compile(path)[0], "principl")
    assert any(unicodedata.east_asian_width(ch) == "W" for ch in path.read_text(encoding="utf-8"))


def test_caret_is_under_the_error_after_a_tab() -> None:
    text = 'policy p {\n\ttitle zh "a" en "b"\n}\ndefine x =\temploye_count\n'
    compilation = compile_sources({"tab.policy": text})
    _caret_under(render_all(compilation.diagnostics, compilation.sources), "employe_count")
