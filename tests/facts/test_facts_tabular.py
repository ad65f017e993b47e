"""CSV and Excel fact files: main table plus one child table per list field."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest

from safetyrules.facts import Enterprise, FactsFileError, FactSource, Loaded, Rejected, load

Table = tuple[list[str], list[list[object]]]


# -- writing test files (independent of the loader's code) ---------------------------------------------


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted columns of a JSON object; a list of codes inside an object becomes one ``a,b`` cell."""
    cells: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            cells.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            cells[prefix + key] = ",".join(value) if value else "[]"
        else:
            cells[prefix + key] = value
    return cells


def tables(records: list[dict[str, Any]], list_fields: list[str]) -> dict[str, Table]:
    """The main table ("") and one child table per list field, as header + rows of JSON values."""
    main_rows: list[dict[str, Any]] = []
    children: dict[str, list[dict[str, Any]]] = {name: [] for name in list_fields}
    for record in records:
        row = flatten({k: v for k, v in record.items() if k not in list_fields})
        for name in list_fields:
            value = record.get(name, "absent")
            if value is None:
                row[name] = "null"
            elif value == "absent":
                row[name] = "unknown"
            for item in value if isinstance(value, list) else []:
                cells = flatten(item) if isinstance(item, dict) else {"date": item}
                children[name].append({"enterprise_id": record["id"], **cells})
        main_rows.append(row)
    result = {"": _table(main_rows)}
    result.update({name: _table(rows) for name, rows in children.items()})
    return result


def _table(rows: list[dict[str, Any]]) -> Table:
    header: list[str] = []
    for row in rows:
        header += [key for key in row if key not in header]
    return header, [[row.get(key, "") for key in header] for row in rows]


def csv_cell(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([[csv_cell(cell) for cell in row] for row in rows])
    return path


def write_csv_tables(main: Path, parts: dict[str, Table]) -> Path:
    for name, (header, rows) in parts.items():
        write_csv(main if not name else main.with_name(f"{main.stem}.{name}.csv"), header, rows)
    return main


def xlsx_cell(value: object) -> object:
    if value is None:
        return "null"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)  # stored by Excel as a date
    return value


def write_xlsx(path: Path, parts: dict[str, Table], native: bool = True) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, (header, rows) in parts.items():
        sheet = workbook.create_sheet(name or "enterprises")
        sheet.append(header)
        for row in rows:
            sheet.append([xlsx_cell(cell) if native else cell for cell in row])
    workbook.save(path)
    return path


# -- records -------------------------------------------------------------------------------------------


@pytest.fixture
def records(example: dict[str, Any]) -> list[dict[str, Any]]:
    """The contract's example and a sparse enterprise showing null, [] and absent lists."""
    list_fields = [name for name, value in example.items() if isinstance(value, list)]
    sparse: dict[str, Any] = {
        "id": "E2",
        "name": "乙公司",
        "principal": None,
        "employee_count": 0,
        "risk_control": {"levels": [], "established_on": None},
        "internal_assessments": None,
        "staff": [{"id": "S9", "on_duty": False, "hired_on": "2022-01-01"}],
        "accidents": [],
    }
    for name in list_fields:
        if name not in sparse and name != "hazards":  # hazards stays absent (unknown)
            sparse[name] = []
    return [example, sparse]


def expected(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [Enterprise.model_validate(record).model_dump(exclude_unset=True) for record in records]


def list_fields_of(example: dict[str, Any]) -> list[str]:
    return [name for name, value in example.items() if isinstance(value, list)]


def test_csv_round_trip(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    main = write_csv_tables(tmp_path / "town.csv", tables(records, list_fields_of(records[0])))
    source = FactSource(main)
    items = list(source)
    assert all(isinstance(item, Loaded) for item in items), items
    assert [item.record for item in items if isinstance(item, Loaded)] == expected(records)
    assert [str(item.position) for item in items] == [f"{main}:2", f"{main}:3"]
    assert source.report.warnings == []


def test_xlsx_round_trip(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = write_xlsx(tmp_path / "town.xlsx", tables(records, list_fields_of(records[0])))
    source = FactSource(path)
    items = list(source)
    assert all(isinstance(item, Loaded) for item in items), items
    assert [item.record for item in items if isinstance(item, Loaded)] == expected(records)
    assert [str(item.position) for item in items] == [
        f"{path}[enterprises]:row 2",
        f"{path}[enterprises]:row 3",
    ]
    assert source.report.warnings == []


def test_xlsx_with_text_cells_only(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    parts: dict[str, Table] = {
        name: (header, [[csv_cell(cell) for cell in row] for row in rows])
        for name, (header, rows) in tables(records, list_fields_of(records[0])).items()
    }
    items = list(load(write_xlsx(tmp_path / "text.xlsx", parts, native=False)))
    assert [item.record for item in items if isinstance(item, Loaded)] == expected(records)


def test_child_table_without_rows_gives_an_empty_list_and_no_table_leaves_it_absent(tmp_path: Path) -> None:
    main = write_csv(tmp_path / "t.csv", ["id"], [["A"]])
    write_csv(tmp_path / "t.hazards.csv", ["enterprise_id", "id"], [])
    (item,) = list(load(main))
    assert isinstance(item, Loaded) and item.record == {"id": "A", "hazards": []}


# -- CSV rules -----------------------------------------------------------------------------------------


def test_csv_cells_and_errors_are_positioned(tmp_path: Path) -> None:
    main = write_csv(
        tmp_path / "town.csv",
        [
            "id",
            "name",
            "above_designated_size",
            "principal",
            "principal.name",
            "wechat",
            "contact.phone",
            "hazards",
        ],
        [
            ["A", "甲", "TRUE", "", "张某", "wx-a", "0595-1", ""],
            ["B", "", "yes", "", "", "", "", ""],
            ["C", "丙", "", "null", "李某", "", "", ""],
            ["A", "again", "", "", "", "", "", ""],
            ["", "", "", "", "", "", "", ""],
            ["D", "", "", "", "", "wx-d", "", "null"],
            ["E", "", "", "", "", "", "", "maybe"],
        ],
    )
    write_csv(
        tmp_path / "town.hazards.csv",
        ["enterprise_id", "id", "found_on", "remediated_on", "plan.time_limit"],
        [
            ["A", "H1", "2022-05-03", "null", "2022-07-31"],
            ["A", "H2", "2022-05-03", "2022-05-01", ""],
            ["Z", "H9", "", "", ""],
        ],
    )
    write_csv(tmp_path / "town.notes.csv", ["x"], [["1"]])
    source = FactSource(main)
    items = {str(item.position): item for item in source}

    first = items[f"{main}:2"]
    assert isinstance(first, Rejected)
    (error,) = first.errors
    assert (error.path, error.code) == ("hazards[1].remediated_on", "remediated_before_found")
    assert str(error.source) == f"{tmp_path / 'town.hazards.csv'}:3"
    assert str(error).endswith(f"(from {tmp_path / 'town.hazards.csv'}:3)")

    second = items[f"{main}:3"]
    assert isinstance(second, Rejected)
    assert [(e.path, e.code) for e in second.errors] == [("above_designated_size", "bool_type")]

    third = items[f"{main}:4"]
    assert isinstance(third, Rejected)
    assert [(e.path, e.code) for e in third.errors] == [("principal.name", "cell")]

    duplicate = items[f"{main}:5"]
    assert isinstance(duplicate, Rejected)
    assert f"first at {main}:2, again at {main}:5" in duplicate.errors[0].message

    fourth = items[f"{main}:7"]
    assert isinstance(fourth, Loaded)
    assert fourth.record == {"id": "D", "wechat": "wx-d", "hazards": None}

    fifth = items[f"{main}:8"]
    assert isinstance(fifth, Rejected) and fifth.errors[0].path == "hazards"

    ghost = items[f"{tmp_path / 'town.hazards.csv'}:4"]  # a child row of no enterprise is rejected, not dropped
    assert isinstance(ghost, Rejected)
    assert [(e.path, e.code) for e in ghost.errors] == [("enterprise_id", "row")]
    assert "no enterprise 'Z'" in ghost.errors[0].message

    assert len(items) == 7
    assert source.report.rejected == 6
    assert source.report.warnings == [
        f"{tmp_path / 'town.notes.csv'}: ignored, 'notes' is not a list field of the contract / "
        "已忽略：notes 不是事实契约中的列表字段",
        f"unknown field 'wechat' (first at {main}:7): kept, ignored by the rules / 未知字段 wechat：已保留，规则不读取",
    ]


def test_csv_unknown_dotted_column_is_kept_nested(tmp_path: Path) -> None:
    main = write_csv(
        tmp_path / "t.csv", ["id", "contact.phone", "principal.nickname"], [["A", "0595", "老张"]]
    )
    (item,) = list(load(main))
    assert isinstance(item, Loaded)
    assert item.record == {"id": "A", "contact": {"phone": "0595"}, "principal": {"nickname": "老张"}}


def test_csv_multiline_cell_keeps_line_numbers(tmp_path: Path) -> None:
    main = tmp_path / "t.csv"
    main.write_text('id,name\nA,"two\nlines"\nB,x\nC,\n', encoding="utf-8")
    assert [item.position.line for item in load(main)] == [2, 4, 5]


def test_csv_rows_beyond_the_header_and_in_unnamed_columns(tmp_path: Path) -> None:
    main = tmp_path / "t.csv"
    main.write_text("id,,name\nA,,x\nB,oops,y\nC,,z,extra\n", encoding="utf-8")
    items = list(load(main))
    assert [type(item).__name__ for item in items] == ["Loaded", "Rejected", "Rejected"]
    assert all(isinstance(item, Rejected) and item.errors[0].code == "cell" for item in items[1:])


def test_csv_encoding(tmp_path: Path) -> None:
    main = write_csv(tmp_path / "gbk.csv", ["id", "name"], [["A", "永春县"]], encoding="gb18030")
    with pytest.raises(FactsFileError, match="gb18030"):
        list(load(main))
    (item,) = list(FactSource(main, encoding="gb18030"))
    assert isinstance(item, Loaded) and item.record["name"] == "永春县"


@pytest.mark.parametrize(
    ("main_header", "child", "message"),
    [
        (["name"], None, "no 'id' column"),
        (["id", "hazards.id"], None, "'hazards' is a list field; its items go in the 'hazards' table"),
        (["id", "name.first"], None, "'name' is a str field"),
        (["id", "name", "name"], None, "column 'name' appears twice"),
        (["id"], (["id", "found_on"], "hazards"), "no 'enterprise_id' column"),
        (["id"], (["enterprise_id", "date", "note"], "internal_assessments"), "exactly one column"),
    ],
)
def test_csv_layout_errors(
    tmp_path: Path, main_header: list[str], child: tuple[list[str], str] | None, message: str
) -> None:
    main = write_csv(tmp_path / "t.csv", main_header, [["A"] * len(main_header)])
    if child is not None:
        write_csv(tmp_path / f"t.{child[1]}.csv", child[0], [])
    with pytest.raises(FactsFileError, match=re.escape(message)):
        list(load(main))


# -- Excel rules ---------------------------------------------------------------------------------------


def test_xlsx_cells_rows_and_sheets(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    main = workbook.active
    main.title = "enterprises"
    main.append(["id", "employee_count", "established_on", "risk_control.levels"])
    main.append([1001, 12.0, dt.datetime(2012, 5, 18), "enterprise; workshop"])
    main.append([])
    main.append(["E3", 3.5, 20120518, None])
    accidents = workbook.create_sheet("accidents")
    accidents.append(["enterprise_id", "id", "occurred_at"])
    accidents.append(["E3", "A1", dt.datetime(2021, 8, 9, 10, 20)])
    accidents.append([None, "A2", "2021-08-09T10:20:00+08:00"])
    workbook.create_sheet("说明")
    path = tmp_path / "t.xlsx"
    workbook.save(path)

    source = FactSource(path)
    items = list(source)
    first, second = items[:2]
    assert isinstance(first, Loaded)
    assert first.record == {
        "id": "1001",
        "employee_count": 12,
        "established_on": dt.date(2012, 5, 18),
        "risk_control": {"levels": ["enterprise", "workshop"]},
        "accidents": [],
    }
    assert isinstance(second, Rejected)
    assert str(second.position) == f"{path}[enterprises]:row 4"
    assert [(e.path, e.code) for e in second.errors] == [
        ("established_on", "date_type"),
        ("employee_count", "int_type"),
        ("accidents[0].occurred_at", "timezone_aware"),
    ]
    assert str(second.errors[2].source) == f"{path}[accidents]:row 2"
    orphan = items[2]
    assert len(items) == 3
    assert isinstance(orphan, Rejected) and str(orphan.position) == f"{path}[accidents]:row 3"
    assert [(e.path, e.code) for e in orphan.errors] == [("enterprise_id", "row")]
    assert source.report.warnings == [f"{path}[说明]: sheet ignored, not a list field of the contract / "
                                      "已忽略该工作表：不是事实契约中的列表字段"]


def test_xlsx_file_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(FactsFileError, match=r"not a readable \.xlsx workbook"):
        list(load(broken))
    workbook = openpyxl.Workbook()
    workbook.active.title = "Sheet1"
    workbook.save(tmp_path / "nosheet.xlsx")
    with pytest.raises(FactsFileError, match="no sheet 'enterprises'"):
        list(load(tmp_path / "nosheet.xlsx"))
