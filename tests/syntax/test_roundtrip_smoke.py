from pathlib import Path

from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import parse

SAMPLE = """
policy p {
  title zh "题" en "title"
}

obligation o {
  implements "x"
  require any(h in hazards where h.major: h.reported_on is not null) and not (1 + 2 * 3 < 4)
  due continuous
}
"""


def test_format_is_a_fixed_point() -> None:
    first = parse(SAMPLE, "s.policy")
    assert first.ok, first.diagnostics
    text = format_module(first.module)
    again = parse(text, "t.policy")
    assert again.module == first.module
    assert format_module(again.module) == text


def test_grammar_is_shipped_in_the_package() -> None:
    import safetyrules.syntax

    assert (Path(safetyrules.syntax.__file__).parent / "safetyrules.lark").read_text().startswith("//")
