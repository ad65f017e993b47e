"""Hostile fact files: every family of malformed input is rejected record by record, with its position and
field, and never costs another record (issue 14). Each test covers a family across the formats it applies to."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from safetyrules.facts import FactsFileError, FactSource, Loaded, LoadReport, Rejected
from safetyrules.facts._shapes import field_shapes
from safetyrules.facts.checks import RecordDecoder, validate_record
from safetyrules.facts.loaders import _bounded_lines
from safetyrules.facts.models import Enterprise
from safetyrules.limits import DEFAULT, Limits

GOOD = [{"id": "G1", "name": "好企业"}, {"id": "G2", "employee_count": 3}]


def codes(item: Loaded | Rejected) -> list[tuple[str, str]]:
    assert isinstance(item, Rejected), item
    return [(e.path, e.code) for e in item.errors]


def jsonl(path: Path, lines: list[str | bytes]) -> Path:
    """GOOD[0], the lines, GOOD[1]: the good records around the hostile ones must load."""
    body = [json.dumps(GOOD[0]).encode(), *(x.encode() if isinstance(x, str) else x for x in lines),
            json.dumps(GOOD[1]).encode()]
    path.write_bytes(b"\n".join(body) + b"\n")
    return path


def json_array(path: Path, records: list[str]) -> Path:
    path.write_text("[\n" + ",\n".join([json.dumps(GOOD[0]), *records, json.dumps(GOOD[1])]) + "\n]\n", "utf-8")
    return path


def read(path: Path, limits: Limits = DEFAULT) -> tuple[list[Loaded | Rejected], LoadReport]:
    source = FactSource(path, limits=limits)
    items = list(source)
    return items, source.report


def assert_good_loaded(items: list[Loaded | Rejected]) -> None:
    loaded = [item.model.id for item in items if isinstance(item, Loaded)]
    assert loaded == ["G1", "G2"], items


def int_paths() -> list[tuple[str, Any]]:
    """Every integer field of the contract, as (path, a record putting `value` there)."""
    out = []
    for name, shape in field_shapes(Enterprise).items():
        if shape.kind == "scalar" and shape.scalar == "int":
            out.append((name, lambda v, n=name: {n: v}))
        elif shape.kind == "object" and shape.model is not None:
            for sub, sub_shape in field_shapes(shape.model).items():
                if sub_shape.scalar == "int":
                    out.append((f"{name}.{sub}", lambda v, n=name, s=sub: {n: {s: v}}))
        elif shape.kind == "list" and shape.item is not None and shape.item.model is not None:
            for sub, sub_shape in field_shapes(shape.item.model).items():
                if sub_shape.scalar == "int":
                    out.append((f"{name}[0].{sub}", lambda v, n=name, s=sub: {n: [{s: v}]}))
    return out


INT_PATHS = int_paths()


# -- nesting ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opener", ["[", '{"a":'])
@pytest.mark.parametrize("depth", [65, 900, 10_000])
def test_deep_nesting_rejects_one_record_in_json_lines_and_json(tmp_path: Path, opener: str, depth: int) -> None:
    closer = "]" if opener == "[" else "}"
    deep = f'{{"id": "D", "extra": {opener * depth}1{closer * depth}}}'
    for path in (jsonl(tmp_path / "t.jsonl", [deep, opener * depth]), json_array(tmp_path / "t.json", [deep])):
        items, report = read(path)
        assert_good_loaded(items)
        deep_item = items[1]
        assert isinstance(deep_item, Rejected) and codes(deep_item) == [(deep_item.errors[0].path, "nesting_limit")]
        # the path, unless the decoder itself ran out of depth (then the record as a whole)
        assert deep_item.errors[0].path.startswith("extra") or depth > 900
        assert "nested deeper than 64 levels" in str(deep_item) and "嵌套超过 64 层" in deep_item.errors[0].message_zh
        if path.suffix == ".jsonl":  # an unclosed line: too deep for the decoder, or merely not JSON
            assert codes(items[2])[0][1] in ("nesting_limit", "json_invalid")
        assert report.loaded == 2


def test_nesting_limit_is_exact_and_counts_the_record_as_level_one(tmp_path: Path) -> None:
    limits = Limits(max_nesting=5)
    ok = {"id": "A", "x": [[[1]]]}  # record 1, x 2, 3, 4
    too_deep = {"id": "B", "x": [[[[1]]]], "hazards": [{"plan": {"y": [1]}}]}  # x: 5 levels below; y: level 5
    limits_ok = validate_record(ok, limits)
    assert limits_ok.model is not None
    check = validate_record(too_deep, Limits(max_nesting=4))
    assert [(e.path, e.code) for e in check.errors] == [("x[0][0][0]", "nesting_limit"),
                                                        ("hazards[0].plan.y", "nesting_limit")]


def test_json_array_resumes_after_any_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    bad = ['{"id": "B1", "name": "unterminated}', '{"id": "B2" "x": 1}', "[" * 5000 + "]" * 5000,
           '{"id": "B4", "v": ' + "9" * 5000 + "}", "nope"]
    path.write_text("[" + ",\n".join([json.dumps(GOOD[0]), *bad, json.dumps(GOOD[1])]) + "]", "utf-8")
    items, report = read(path)
    assert_good_loaded(items)
    assert [item.position.record for item in items] == [1, 2, 3, 4, 5, 6, 7]
    assert report.rejected == 5


# -- numbers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "build"), INT_PATHS, ids=[p for p, _ in INT_PATHS])
def test_every_int_field_is_bounded(path: str, build: Any) -> None:
    for value in (DEFAULT.max_int + 1, -(DEFAULT.max_int + 1), 2**63, 10**4000):
        check = validate_record({"id": "I", **build(value)})
        assert [(e.path, e.code) for e in check.errors] in ([(path, "int_limit")], [(path, "less_than_equal")],
                                                            [(path, "greater_than_equal")]), (path, value)
    year_like = path.endswith(".year")  # 1 … 9999
    assert validate_record({"id": "I", **build(9999 if year_like else DEFAULT.max_int)}).model is not None
    wider = Limits(max_int=10**15)
    assert validate_record({"id": "I", **build(10**14)}, wider).model is not None or year_like


@pytest.mark.parametrize("digits", [20, 4301, 5000, 100_000])
def test_long_integers_in_every_format(tmp_path: Path, digits: int) -> None:
    number = "9" * digits
    items, _ = read(jsonl(tmp_path / "t.jsonl", [f'{{"id": "N", "employee_count": {number}}}',
                                                  f'{{"id": "M", "note": -{number}}}']))
    assert isinstance(items[0], Loaded) and isinstance(items[3], Loaded)
    assert codes(items[1]) == [("employee_count", "int_limit")]
    if digits > 4000:  # too long to convert: rejected even where an extra field would be kept
        assert codes(items[2]) == [("note", "int_limit")]
    else:
        assert isinstance(items[2], Loaded)
    items, _ = read(json_array(tmp_path / "t.json", [f'{{"id": "N", "employee_count": {number}}}']))
    assert_good_loaded(items)
    assert codes(items[1]) == [("employee_count", "int_limit")]
    main = tmp_path / "t.csv"
    main.write_text(f"id,employee_count\nG1,1\nN,{number}\nG2,2\n", "utf-8")
    items, _ = read(main)
    assert_good_loaded(items)
    assert codes(items[1])[0][0] == "employee_count"


def test_nan_and_infinity_are_not_json(tmp_path: Path) -> None:
    items, _ = read(jsonl(tmp_path / "t.jsonl", ['{"id": "A", "x": NaN}', '{"id": "B", "y": [Infinity]}']))
    assert_good_loaded(items)
    assert codes(items[1]) == [("x", "json_invalid")] and codes(items[2]) == [("y[0]", "json_invalid")]


# -- silent loss or invention ----------------------------------------------------------------------------


def test_duplicate_keys_reject_the_record_naming_the_key(tmp_path: Path) -> None:
    lines = ['{"id": "A", "name": "x", "name": "y"}', '{"id": "B", "principal": {"name": "p", "name": "q"}}',
             '{"id": "C", "hazards": [{}, {"id": "h", "id": "h"}]}']
    for path in (jsonl(tmp_path / "t.jsonl", lines), json_array(tmp_path / "t.json", lines)):
        items, _ = read(path)
        assert_good_loaded(items)
        assert [codes(item) for item in items[1:4]] == [
            [("name", "duplicate_key")], [("principal.name", "duplicate_key")], [("hazards[1].id", "duplicate_key")]
        ]
        assert "'name' is given more than once" in str(items[1])


@pytest.mark.parametrize("blank", ["", " ", "\t", "\u3000"])
def test_blank_id_is_rejected(tmp_path: Path, blank: str) -> None:
    items, _ = read(jsonl(tmp_path / "t.jsonl", [json.dumps({"id": blank}), json.dumps({"id": blank})]))
    assert_good_loaded(items)
    assert codes(items[1]) == [("id", "empty_id")] == codes(items[2])  # and not a duplicate id
    main = tmp_path / "t.csv"
    main.write_text(f"id,name\nG1,a\n{blank},b\nG2,c\n", "utf-8")
    items, _ = read(main)
    assert_good_loaded(items)
    assert codes(items[1])[0][0] == "id"


def test_unpaired_surrogates_are_rejected_anywhere(tmp_path: Path) -> None:
    lines = [r'{"id": "A", "name": "\ud800"}', r'{"id": "B", "x": {"\udfff": 1}}', r'{"id": "\ud83d"}',
             r'{"id": "C", "name": "\ud83d\ude00"}']  # the last is a pair: an emoji
    items, _ = read(jsonl(tmp_path / "t.jsonl", lines))
    assert [codes(item) for item in items[1:4]] == [[("name", "text_invalid")], [("x.'\\udfff'", "text_invalid")],
                                                   [("id", "text_invalid")]]
    assert isinstance(items[4], Loaded) and items[4].model.name == "\U0001f600"


def test_unknown_field_warning_suggests_the_field_meant(tmp_path: Path) -> None:
    items, report = read(jsonl(tmp_path / "t.jsonl", ['{"id": "A", "industy": "mining", "principal": {"nmae": "x"}}',
                                                      '{"id": "B", "wechat": "w"}']))
    assert all(isinstance(item, Loaded) for item in items)
    assert any("'industy'" in w and "did you mean 'industry'?" in w for w in report.warnings)
    assert any("'principal.nmae'" in w and "did you mean 'name'?" in w for w in report.warnings)
    assert any("'wechat'" in w and "did you mean" not in w for w in report.warnings)


# -- sizes -----------------------------------------------------------------------------------------------


def test_lists_over_the_limit_are_rejected_naming_the_field(tmp_path: Path) -> None:
    limits = Limits(max_list_items=10)
    lists = [name for name, shape in field_shapes(Enterprise).items() if shape.kind == "list"]
    for name in [*lists, "risk_control.levels", "extra"]:
        record: dict[str, Any] = {"id": "L"}
        if name == "risk_control.levels":
            record["risk_control"] = {"levels": ["team"] * 11}
        else:
            record[name] = [{}] * 11 if name != "internal_assessments" else ["2020-01-01"] * 11
        check = validate_record(record, limits)
        assert [(e.path, e.code) for e in check.errors] == [(name, "list_limit")], name
        items, _ = read(jsonl(tmp_path / "t.jsonl", [json.dumps(record)]), limits)
        assert_good_loaded(items)
        assert codes(items[1]) == [(name, "list_limit")]
        record[name if "." not in name else "risk_control"] = (
            {"levels": ["team"] * 10} if "." in name else record[name][:10])
        assert validate_record(record, limits).model is not None  # 10 is allowed
    assert validate_record({"id": "L", "staff": [{}] * 11}, Limits(max_list_items=11)).model is not None


def test_over_long_json_lines_are_skipped_without_being_held(tmp_path: Path) -> None:
    limit = 1000
    long_line = json.dumps({"id": "X", "name": "x" * 5000})
    path = jsonl(tmp_path / "t.jsonl", [long_line, json.dumps({"id": "Y", "name": "y" * 900})])
    items, _ = read(path, Limits(max_record_bytes=limit))
    assert [type(item).__name__ for item in items] == ["Loaded", "Rejected", "Loaded", "Loaded"]
    assert codes(items[1]) == [("", "record_limit")] and str(len(long_line)) in str(items[1])
    assert isinstance(items[2], Loaded) and items[2].position.line == 3
    # never more than the limit (+1) read at once, however long the line
    reads: list[int] = []

    class Spy(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:  # type: ignore[override]
            line = super().readline(size)
            reads.append(len(line))
            return line

    lines = list(_bounded_lines(Spy(b"a" * 3_000_000 + b"\nshort\n"), limit))
    assert [(n, line, size) for n, line, size in lines] == [(1, None, 3_000_000), (2, b"short\n", 6)]
    assert max(reads) <= 1 << 20


def test_json_file_over_the_document_limit_is_a_file_error(tmp_path: Path) -> None:
    path = json_array(tmp_path / "t.json", [json.dumps({"id": "A", "name": "x" * 2000})])
    with pytest.raises(FactsFileError, match="more than the limit of 1000 bytes"):
        read(path, Limits(max_document_bytes=1000))
    assert read(path)[1].loaded == 3


# -- the same checks for a dict given to the library ------------------------------------------------------


def test_validate_record_gives_the_loaders_errors(tmp_path: Path) -> None:
    records = [
        {"id": ""}, {"id": "A", "employee_count": 2**63}, {"id": "B", "x": [[[[[[1]]]]]]},
        {"id": "C", "staff": [{}] * 6}, {"id": "D", "name": "\ud800"}, {"id": "E", "established_on": "2022-02-30"},
        {"id": "F", "hazards": [{"found_on": "2022-05-03", "remediated_on": "2022-05-01"}]}, [1], {"id": "G"},
    ]
    limits = Limits(max_nesting=5, max_list_items=5)
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", "utf-8")
    items, _ = read(path, limits)
    for record, item in zip(records, items, strict=True):
        check = validate_record(record, limits)
        assert check.errors == (item.errors if isinstance(item, Rejected) else []), record
        decoder = RecordDecoder()
        again = validate_record(decoder.decode(json.dumps(record)), limits, thorough=decoder.suspect)
        assert again.errors == check.errors


# -- CSV quoting -----------------------------------------------------------------------------------------


def test_unterminated_quote_rejects_its_row_and_the_rest_is_read(tmp_path: Path) -> None:
    main = tmp_path / "t.csv"
    main.write_text('id,name\nG1,a\nQ,"never closed\nR,r\nS,s\n', "utf-8")
    items, report = read(main)
    assert [type(i).__name__ for i in items] == ["Loaded", "Rejected", "Loaded", "Loaded"]
    assert items[1].position.line == 3 and "quoted cell opened on line 3" in str(items[1])
    assert "引号" in items[1].errors[0].message_zh
    assert (report.loaded, report.rejected) == (3, 1)


def test_quote_closed_by_a_later_row_does_not_swallow_the_rows_between(tmp_path: Path) -> None:
    main = tmp_path / "t.csv"
    main.write_text('id,name\nG1,a\nQ,"stray\nR,r\nS,"x"y\nG2,b\n', "utf-8")
    items, report = read(main)
    by_line = {item.position.line: item for item in items}
    assert isinstance(by_line[2], Loaded) and isinstance(by_line[4], Loaded) and isinstance(by_line[6], Loaded)
    assert isinstance(by_line[3], Rejected) and "runs to line 5" in str(by_line[3])
    assert isinstance(by_line[5], Rejected)  # its own stray quote
    assert report.rejected == 2


def test_csv_line_over_the_record_limit(tmp_path: Path) -> None:
    main = tmp_path / "t.csv"
    main.write_text("id,name\nG1,a\nL," + "x" * 5000 + "\nG2,b\n", "utf-8")
    items, _ = read(main, Limits(max_record_bytes=1000))
    assert_good_loaded(items)
    assert "longer than the limit of 1000" in str(items[1])


def test_broken_child_row_rejects_its_enterprise_and_orphans_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id\nG1\nE3\nG2\n", "utf-8")
    (tmp_path / "t.hazards.csv").write_text(
        'enterprise_id,id\nG1,H1\n,H2\nZZ,H3\nE3,"H4\n', "utf-8"
    )
    items, report = read(tmp_path / "t.csv")
    assert_good_loaded(items)
    by_pos = {str(item.position).rsplit("/", 1)[-1]: item for item in items}
    assert codes(by_pos["t.csv:3"]) == [("hazards", "row")]  # E3: its row could not be read
    assert codes(by_pos["t.hazards.csv:3"]) == [("enterprise_id", "row")]
    assert "no enterprise 'ZZ'" in str(by_pos["t.hazards.csv:4"])
    assert report.rejected == 3


# -- Excel -----------------------------------------------------------------------------------------------


def test_excel_cells_without_a_readable_value_reject_their_row(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "enterprises"
    sheet.append(["id", "name", "village"])
    sheet.append(["G1", "a", "v"])
    sheet.append(["F", "=A2&\"x\"", "v"])  # a formula: openpyxl saves no value
    sheet.append(["M1", "m", "merged"])
    sheet.append(["M2", "m", None])
    sheet.merge_cells("C4:C5")
    sheet.append(["G2", "b", "v"])
    hazards = workbook.create_sheet("hazards")
    hazards.append(["enterprise_id", "id"])
    hazards.append(["G1", "=1+1"])
    path = tmp_path / "t.xlsx"
    workbook.save(path)
    items, _ = read(path)
    by_row = {item.position.line: item for item in items}
    assert isinstance(by_row[6], Loaded) and isinstance(by_row[4], Loaded)
    assert codes(by_row[3]) == [("name", "cell")] and "cell B3 holds a formula" in str(by_row[3])
    assert codes(by_row[5]) == [("village", "cell")] and "merged range C4:C5" in str(by_row[5])
    assert codes(by_row[2]) == [("hazards[0].id", "cell")] and "B2" in str(by_row[2])


def test_csv_module_state_is_not_changed() -> None:
    # the loaders bound rows themselves: the process-wide csv field limit stays as it was
    assert csv.field_size_limit() == 131072


def test_a_damaged_sheet_is_a_file_error_not_a_traceback(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "enterprises"
    sheet.append(["id"])
    sheet.append(["G1"])
    good = tmp_path / "good.xlsx"
    workbook.save(good)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(damaged, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(b"</sheetData>", b'<row r="9"><c r="A9"><v>1</v></row></sheetData>')
            out.writestr(item, data)
    with pytest.raises(FactsFileError, match=r"damaged\.xlsx\[enterprises\]: the sheet cannot be read"):
        read(damaged)


def test_a_json_array_record_that_lost_its_closing_brace_does_not_swallow_the_next(tmp_path: Path) -> None:
    parts = [json.dumps({"id": f"E{i}", "industry": "retail"}) for i in range(5)]
    parts[1] = parts[1][:-1]  # the second record's '}' is lost
    path = tmp_path / "arr.json"
    path.write_text("[\n" + ",\n".join(parts) + "\n]\n", encoding="utf-8")
    items = list(FactSource(path))
    assert [type(i).__name__ for i in items] == ["Loaded", "Rejected", "Loaded", "Loaded", "Loaded"]
    assert items[1].position.line == 3


def test_a_child_table_larger_than_the_limit_is_refused_not_held(tmp_path: Path) -> None:
    (tmp_path / "town.csv").write_text("id,name\nE1,甲\n", encoding="utf-8")
    (tmp_path / "town.hazards.csv").write_text("enterprise_id,id,found_on\n" + "E1,H,2022-01-01\n" * 200,
                                               encoding="utf-8")
    with pytest.raises(FactsFileError, match="held in memory"):
        list(FactSource(tmp_path / "town.csv", limits=Limits(max_document_bytes=1_000)))
    assert sum(isinstance(i, Loaded) for i in FactSource(tmp_path / "town.csv")) == 1
