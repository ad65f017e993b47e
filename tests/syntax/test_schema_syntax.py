"""The fact schema's syntax (`enum`, `record`, `subject`): parsed with spans, formatted canonically; and — while
the engines read the built-in fact contract — a declared schema that differs from it is refused, never ignored."""

from __future__ import annotations

from pathlib import Path

from safetyrules.check.pipeline import compile_sources
from safetyrules.syntax import ast
from safetyrules.syntax.formatter import format_module
from safetyrules.syntax.parser import parse

TEXT = (Path(__file__).parent / "data" / "schema.policy").read_text(encoding="utf-8")


def test_schema_declarations_parse_into_typed_nodes() -> None:
    result = parse(TEXT, "schema.policy")
    assert result.diagnostics == []
    industry, hazard, enterprise = result.module.decls
    assert isinstance(industry, ast.EnumDecl)
    assert [c.code for c in industry.codes] == ["construction", "mining"]
    assert industry.label is not None and industry.label.text == ast.Bilingual("行业", "industry")
    assert isinstance(hazard, ast.RecordDecl) and hazard.kind == "record" and hazard.doc == ("a hazard",)
    assert hazard.first(ast.RecordDated) == ast.RecordDated("found_on")
    found_on = hazard.fields[1]
    assert found_on.name == "found_on" and found_on.doc == ("when found",)
    assert found_on.type == ast.FieldType("simple", "date")
    assert found_on.first(ast.Label) == ast.Label(ast.Bilingual("发现日期", "found on"))
    assert found_on.span.line == 13 and found_on.name_span.line == 14
    assert hazard.fields[2].options == (ast.FieldNotBefore("found_on"),)
    assert hazard.fields[3].options == (ast.FieldMin(0),)
    assert hazard.fields[4].options == (ast.FieldKept(),)
    assert isinstance(enterprise, ast.RecordDecl) and enterprise.kind == "subject"
    assert enterprise.first(ast.RecordKey) == ast.RecordKey("id")
    assert enterprise.first(ast.RecordTimezone) == ast.RecordTimezone("+08:00")
    assert [f.type for f in enterprise.fields] == [
        ast.FieldType("simple", "text"), ast.FieldType("list", "hazard"), ast.FieldType("list", "date"),
        ast.FieldType("set", "industry")]
    assert enterprise.fields[2].options == (ast.FieldDated(),)


def test_schema_declarations_format_to_a_fixed_point_and_keep_comments() -> None:
    module = parse(TEXT, "schema.policy").module
    formatted = format_module(module)
    again = parse(formatted, "formatted.policy")
    assert again.diagnostics == [] and again.module == module
    assert format_module(again.module) == formatted
    assert "# a count" in formatted and "# trailing" in formatted


def test_a_mistake_in_a_schema_declaration_is_positioned() -> None:
    result = parse("record r {\n  field x date\n}\n", "bad.policy")
    (diag,) = result.diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("syntax", 2, 11)
    assert "r" in result.unparsed_names


def test_a_schema_other_than_the_built_in_contract_types_the_rules() -> None:
    # the declared subject is what the rules read: its fields resolve, the built-in contract's do not
    header = 'policy p { title zh "题" en "t" }\n'
    compilation = compile_sources({"p.policy": header + TEXT})
    assert compilation.errors == []
    assert compilation.policy is not None and compilation.policy.contract.subject == "enterprise"
    assert not compilation.policy.contract.builtin  # it declares fewer fields than the built-in contract
    rule = ('obligation o { implements "x" title zh "题" en "t" source "一" quote "原文" '
            'require management.full_time_safety_staff >= 1 due continuous }\n')
    (unknown,) = compile_sources({"p.policy": header + TEXT + rule}).errors
    assert unknown.code == "unknown-name" and "management" in unknown.message
