"""JSON Lines and JSON loading: positions, rejections, warnings, file errors, round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from safetyrules.facts import (
    Enterprise,
    FactsFileError,
    FactSource,
    Loaded,
    LoadReport,
    Position,
    Rejected,
    load,
    write_jsonl,
)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


def by_line(items: list[Loaded | Rejected]) -> dict[int, Loaded | Rejected]:
    return {item.position.line or 0: item for item in items}


def rejected_paths(item: Loaded | Rejected) -> list[tuple[str, str]]:
    assert isinstance(item, Rejected), item
    return [(error.path, error.code) for error in item.errors]


@pytest.fixture
def town(tmp_path: Path, example: dict[str, Any]) -> Path:
    """A JSON Lines file breaking every rule once, among good records."""
    hazard = {"id": "H1", "found_on": "2022-05-03", "remediated_on": "2022-05-01"}
    return write_lines(
        tmp_path / "town.jsonl",
        [
            dumps(example),  # 1
            dumps({"id": "E2", "employee_count": "many"}),  # 2 wrong type
            dumps({"id": "E3", "industry": "mines"}),  # 3 unknown enum code
            "",  # 4 blank: skipped
            dumps({"id": "E5", "established_on": "2022-02-30"}),  # 5 impossible date
            dumps({"id": "E6", "hazards": [{"id": "H0"}, hazard]}),  # 6 remediated before found
            '{"id": "E7", "name": "broken"',  # 7 bad JSON
            "[1, 2]",  # 8 not an object
            dumps({**example, "name": "again"}),  # 9 duplicate id of line 1
            dumps({"id": "E10", "wechat": "x", "staff": [{"id": "S1", "shoe_size": 42}]}),  # 10 extra fields
            dumps({"id": "E11", "wechat": "y"}),  # 11 the same extra field again
            dumps({"id": "E12"}),  # 12 fine
        ],
    )


def test_each_bad_record_is_rejected_at_its_position(town: Path) -> None:
    source = FactSource(town)
    items = by_line(list(source))
    assert sorted(items) == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]
    assert [line for line, item in items.items() if isinstance(item, Loaded)] == [1, 10, 11, 12]
    assert rejected_paths(items[2]) == [("employee_count", "int_type")]
    assert rejected_paths(items[3]) == [("industry", "enum")]
    assert rejected_paths(items[5]) == [("established_on", "date_value")]
    assert rejected_paths(items[6]) == [("hazards[1].remediated_on", "remediated_before_found")]
    assert rejected_paths(items[7]) == [("", "json_invalid")]
    assert rejected_paths(items[8]) == [("", "not_object")]
    assert rejected_paths(items[9]) == [("id", "duplicate_id")]
    assert str(items[6].position) == f"{town}:6"
    assert source.report.loaded == 4 and source.report.rejected == 7 and source.report.total == 11


def test_messages_are_readable(town: Path) -> None:
    items = by_line(list(load(town)))
    bad_json = items[7]
    assert isinstance(bad_json, Rejected)
    assert bad_json.errors[0].message.startswith("invalid JSON at column 30: Expecting ")
    duplicate = items[9]
    assert isinstance(duplicate, Rejected)
    (error,) = duplicate.errors
    assert f"first at {town}:1, again at {town}:9" in error.message
    assert error.message_zh.startswith("字段 id：企业 id 91350525MA31XXXX0K 重复")
    wrong = items[2]
    assert isinstance(wrong, Rejected)
    assert str(wrong) == f"{town}:2: employee_count: Input should be a valid integer (got 'many')"
    assert wrong.errors[0].message_zh == "字段 employee_count：应为整数"


def test_unknown_fields_are_kept_and_warned_once(town: Path) -> None:
    report = LoadReport()
    items = by_line(list(load(town, report)))
    loaded = items[10]
    assert isinstance(loaded, Loaded)
    assert loaded.record["wechat"] == "x" and loaded.record["staff"] == [{"id": "S1", "shoe_size": 42}]
    assert loaded.model.model_extra == {"wechat": "x"}
    assert report.warnings == [
        f"unknown field 'wechat' (first at {town}:10): kept, ignored by the rules / "
        "未知字段 wechat：已保留，规则不读取",
        f"unknown field 'staff[].shoe_size' (first at {town}:10): kept, ignored by the rules / "
        "未知字段 staff[].shoe_size：已保留，规则不读取",
    ]
    assert report.unknown_fields["wechat"].count == 2
    assert report.summary() == "loaded 4, rejected 7, 2 warnings"


def test_loaded_record_is_the_dump_without_unset_fields(town: Path, example: dict[str, Any]) -> None:
    first = next(iter(load(town)))
    assert isinstance(first, Loaded)
    assert first.record == first.model.model_dump(exclude_unset=True)
    assert first.record["hazards"][0]["remediated_on"] is None
    assert first.model.model_dump(mode="json", exclude_unset=True) == example


def test_an_invalid_duplicate_reports_both_problems(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", [dumps({"id": "A"}), dumps({"id": "A", "employee_count": -3})])
    items = list(load(path))
    assert rejected_paths(items[1]) == [("id", "duplicate_id"), ("employee_count", "greater_than_equal")]


def test_duplicates_across_files_sharing_a_report(tmp_path: Path) -> None:
    report = LoadReport()
    first = write_lines(tmp_path / "a.jsonl", [dumps({"id": "A"})])
    second = write_lines(tmp_path / "b.ndjson", [dumps({"id": "B"}), dumps({"id": "A"})])
    items = [*load(first, report), *load(second, report)]
    assert [type(item).__name__ for item in items] == ["Loaded", "Loaded", "Rejected"]
    last = items[2]
    assert isinstance(last, Rejected)
    assert f"first at {first}:1, again at {second}:2" in last.errors[0].message
    assert (report.loaded, report.rejected) == (2, 1)


def test_bom_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + dumps({"id": "A"}).encode() + b"\n" + b'{"id": "\xff"}\n')
    items = list(load(path))
    assert isinstance(items[0], Loaded)
    assert rejected_paths(items[1]) == [("", "encoding")]
    assert items[1].position.line == 2


# -- JSON ----------------------------------------------------------------------------------------------


def test_json_array_positions_name_record_and_line(tmp_path: Path) -> None:
    path = tmp_path / "town.json"
    path.write_text(
        '[\n  {"id": "A"},\n  {"id": "B",\n   "employee_count": -1},\n  "text",\n  {"id": "D"}\n]\n',
        encoding="utf-8",
    )
    items = list(load(path))
    assert [(item.position.record, item.position.line) for item in items] == [(1, 2), (2, 3), (3, 5), (4, 6)]
    assert [type(item).__name__ for item in items] == ["Loaded", "Rejected", "Rejected", "Loaded"]
    assert str(items[1].position) == f"{path}:3 (record 2)"
    assert rejected_paths(items[1]) == [("employee_count", "greater_than_equal")]
    assert rejected_paths(items[2]) == [("", "not_object")]


def test_json_single_object_and_empty_array(tmp_path: Path, example: dict[str, Any]) -> None:
    single = tmp_path / "one.json"
    single.write_text(json.dumps(example, ensure_ascii=False, indent=2), encoding="utf-8")
    (item,) = list(load(single))
    assert isinstance(item, Loaded) and item.position == Position(str(single), 1, 1)
    empty = tmp_path / "none.json"
    empty.write_text(" [ ] ", encoding="utf-8")
    assert list(load(empty)) == []


def test_broken_json_array_record_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "A"},\n {"id": "B" "name": "x"},\n {"id": "C"}]', encoding="utf-8")
    report = LoadReport()
    items = list(load(path, report))
    assert isinstance(items[0], Loaded)
    assert rejected_paths(items[1]) == [("", "json_invalid")]
    broken = items[1]
    assert isinstance(broken, Rejected) and broken.position == Position(str(path), 2, 2)
    assert "line 2 column 13" in broken.errors[0].message
    assert isinstance(items[2], Loaded) and items[2].position == Position(str(path), 3, 3)
    assert (report.loaded, report.rejected) == (2, 1)


def test_json_missing_comma_between_records(tmp_path: Path) -> None:
    path = tmp_path / "comma.json"
    path.write_text('[{"id": "A"}\n{"id": "B"}]', encoding="utf-8")
    items = list(load(path))
    assert isinstance(items[0], Loaded)
    assert rejected_paths(items[1]) == [("", "json_invalid")]  # the record after the missing comma
    assert items[1].position == Position(str(path), 2, 2)
    assert len(items) == 2


# -- files ---------------------------------------------------------------------------------------------


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FactsFileError, match="no such file"):
        FactSource(tmp_path / "missing.jsonl")
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(FactsFileError, match="not a file"):
        load(tmp_path / "folder.jsonl")
    (tmp_path / "facts.txt").write_text("{}", encoding="utf-8")
    with pytest.raises(FactsFileError, match=r"unknown file type '\.txt'; expected one of \.jsonl"):
        load(tmp_path / "facts.txt")
    bad = tmp_path / "latin.json"
    bad.write_bytes(b'{"id": "\xe9"}')
    with pytest.raises(FactsFileError, match="not valid UTF-8"):
        list(load(bad))


def test_a_source_is_read_once(town: Path) -> None:
    source = FactSource(town)
    list(source)
    with pytest.raises(RuntimeError):
        iter(source)


def test_write_jsonl_round_trip(tmp_path: Path, town: Path, example: dict[str, Any]) -> None:
    loaded = [item for item in load(town) if isinstance(item, Loaded)]
    models_path, records_path = tmp_path / "models.jsonl", tmp_path / "records.jsonl"
    assert write_jsonl((item.model for item in loaded), models_path) == 4
    assert write_jsonl((item.record for item in loaded), records_path) == 4
    for path in (models_path, records_path):
        again = list(load(path))
        assert all(isinstance(item, Loaded) for item in again)
        assert [item.record for item in again if isinstance(item, Loaded)] == [item.record for item in loaded]
    first_line = models_path.read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first_line) == example
    assert Enterprise.model_validate_json(first_line).model_dump(exclude_unset=True) == loaded[0].record


def test_large_jsonl_streams_with_one_percent_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(100_000):
            if n % 100 == 99:
                out.write('{"id": "bad' if n % 200 == 99 else f'{{"id": "E{n}", "employee_count": "x"}}')
            else:
                out.write(f'{{"id": "E{n}", "employee_count": {n % 300}, "above_designated_size": true}}')
            out.write("\n")
    source = FactSource(path)
    items = iter(source)
    next(items)
    assert source.report.total == 1  # lazy: one record read so far
    rejected_lines = [item.position.line for item in items if isinstance(item, Rejected)]
    assert source.report.rejected == len(rejected_lines) == 1_000
    assert source.report.loaded == 99_000
    assert rejected_lines[:2] == [100, 200]


def test_thousands_of_full_records_all_load(tmp_path: Path, example: dict[str, Any]) -> None:
    # speed is measured in benchmarks/, not here: this only says that every record of a larger file loads
    path = write_lines(tmp_path / "many.jsonl", [dumps({**example, "id": f"E{n}"}) for n in range(2_000)])
    assert sum(isinstance(item, Loaded) for item in load(path)) == 2_000
