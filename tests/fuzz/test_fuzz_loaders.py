"""Fuzzing the fact loaders: random bytes, JSON-ish text, and mutants of the town's records written as JSON Lines,
JSON and CSV.

Loading never raises anything but `FactsFileError` (a problem of the whole file); every non-blank line of a JSON
Lines file is accounted for (loaded + rejected); valid records mixed with hostile lines are all loaded.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetyrules.facts import FactsFileError, FactSource, Loaded, Rejected
from safetyrules.limits import Limits

LONG_EXAMPLES = int(os.environ.get("SAFETYRULES_FUZZ_EXAMPLES", "2000"))
QUICK = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
SMALL = Limits(max_record_bytes=4096, max_nesting=12, max_list_items=50, max_document_bytes=200_000)

TOWN = Path(__file__).resolve().parents[2] / "examples" / "town.jsonl"
VALID: list[dict[str, Any]] = [
    {"id": f"V{i}", "name": "企业", "employee_count": i, "principal": {"name": "赖某"}} for i in range(3)
]
TOWN_RECORDS: list[dict[str, Any]] = [json.loads(line) for line in TOWN.read_text("utf-8").splitlines()[:20]]

HOSTILE_VALUES: list[Any] = [
    None, True, 0, -1, 10**13, 10**13 + 1, 2**63, -(2**63) - 1, 1e300, 1.5, "", " ", "\u0000", "永春", "\ud800",
    "2022-02-30", "22011-01-01", "0000-01-01", "2021-08-09T10:20:00", [], {}, [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]],
    {"id": None}, list(range(60)), {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {}}}}}}}}}}}},
]
HOSTILE_LINES: list[bytes] = [
    b"[" * 10_000, b"{" * 3000, b'{"id": "x", "n": ' + b"9" * 5000 + b"}", b"NaN", b'{"id": "x", "v": Infinity}',
    b'{"id": "\\ud800"}', b"\xff\xfe", b"\xed\xa0\x80", b'{"id": "d", "id": "d"}', b"1e999", b"\x00", b"}",
    b'{"id": ""}', b'{"id": "big", "x": "' + b"y" * 5000 + b'"}', b'"', b"\xef\xbb\xbf{}", b'{"id": "q\r"}',
]


def _mutate(record: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A town record with a few fields (at any level) replaced by hostile values."""
    record = json.loads(json.dumps(record))
    for _ in range(data.draw(st.integers(1, 3))):
        node: Any = record
        for _depth in range(data.draw(st.integers(0, 2))):
            children = [v for v in (node.values() if isinstance(node, dict) else node) if isinstance(v, dict | list)]
            if not children:
                break
            node = data.draw(st.sampled_from(children))
        if isinstance(node, dict):
            key = data.draw(st.sampled_from([*node, "extra", "id"]) if node else st.just("id"))
            node[key] = data.draw(st.sampled_from(HOSTILE_VALUES))
        elif isinstance(node, list) and node:
            node[data.draw(st.integers(0, len(node) - 1))] = data.draw(st.sampled_from(HOSTILE_VALUES))
    return record


def _dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")


def load_all(path: Path, limits: Limits = SMALL) -> tuple[list[Loaded | Rejected], FactSource | None]:
    """Everything a file gives; a file-level problem is the one allowed exception."""
    try:
        source = FactSource(path, limits=limits)
        items = list(source)
    except FactsFileError:
        return [], None
    for item in items:
        str(item).encode("utf-8")  # every message can be printed
    return items, source


def load_bytes(data: bytes, suffix: str) -> tuple[list[Loaded | Rejected], FactSource | None]:
    with tempfile.TemporaryDirectory(prefix="fuzz-loaders-") as folder:
        path = Path(folder) / f"facts{suffix}"
        path.write_bytes(data)
        return load_all(path)


def check_jsonl(lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    items, source = load_bytes(data, ".jsonl")
    assert source is not None  # a JSON Lines file is never refused as a whole
    physical = data.split(b"\n")[:-1]
    first = physical[0].removeprefix(b"\xef\xbb\xbf") if physical else b""  # a BOM opens only the file
    non_blank = sum(1 for line in [first, *physical[1:]] if line.strip())
    assert source.report.loaded + source.report.rejected == len(items) == non_blank


def check_mixed(lines: list[bytes], suffix: str) -> None:
    """VALID records between hostile ones: all of them load, in any format."""
    if suffix == ".jsonl":
        body = [_dump(VALID[0]), *lines, _dump(VALID[1]), b"", _dump(VALID[2])]
        items, _ = load_bytes(b"\n".join(body) + b"\n", suffix)
    else:  # a JSON array with the hostile texts as records
        body = [_dump(VALID[0]), *lines, _dump(VALID[1]), _dump(VALID[2])]
        items, _ = load_bytes(b"[\n" + b",\n".join(body) + b"\n]", suffix)
    loaded = {item.model.id for item in items if isinstance(item, Loaded)}
    assert {"V0", "V1", "V2"} <= loaded, [str(i) for i in items if isinstance(i, Rejected)]


def check_csv(rows: list[list[str]], raw_tail: bytes) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "employee_count", "principal.name"])
    writer.writerow(["V0", "a", "1", "p"])
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8", "surrogatepass") + raw_tail + b"\r\nV1,b,2,q\r\n"
    items, source = load_bytes(data, ".csv")
    if source is not None:
        loaded = {item.model.id for item in items if isinstance(item, Loaded)}
        assert "V0" in loaded


# -- strategies -----------------------------------------------------------------------------------------

json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
hostile_line = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(HOSTILE_LINES),
    json_ish.map(lambda v: json.dumps(v).encode()),
    st.text(alphabet='{}[]",:0123456789-eE.\\nu tfalsr', max_size=80).map(str.encode),
)
cell = st.one_of(st.text(max_size=12), st.sampled_from(['"', '"x', 'x"y', "\u0000", "9" * 5000, "\r", "\n", ""]))


@st.composite
def mutated_lines(draw: st.DrawFn) -> list[bytes]:
    data = draw(st.data())
    records = draw(st.lists(st.sampled_from(TOWN_RECORDS), min_size=1, max_size=4))
    return [_dump(_mutate(r, data)) for r in records]


# -- tests ----------------------------------------------------------------------------------------------


@QUICK
@given(st.lists(hostile_line, max_size=8))
def test_json_lines_of_random_text(lines: list[bytes]) -> None:
    check_jsonl([line.replace(b"\n", b" ") for line in lines])


@QUICK
@given(mutated_lines())
def test_json_lines_of_mutated_town_records(lines: list[bytes]) -> None:
    check_jsonl(lines)


@QUICK
@given(st.lists(hostile_line, max_size=6), st.sampled_from([".jsonl", ".json"]))
def test_valid_records_among_hostile_ones_all_load(lines: list[bytes], suffix: str) -> None:
    if suffix == ".json":  # an unbalanced bracket in a record may swallow the records after it, by design
        lines = [line for line in lines if _balanced(line)]
    check_mixed([line.replace(b"\n", b" ") for line in lines], suffix)


@QUICK
@given(st.binary(max_size=300), st.sampled_from([".jsonl", ".json", ".csv"]))
def test_random_bytes_never_raise(data: bytes, suffix: str) -> None:
    load_bytes(data, suffix)


@QUICK
@given(st.lists(st.lists(cell, max_size=5), max_size=5), st.binary(max_size=40))
def test_csv_of_hostile_cells(rows: list[list[str]], raw_tail: bytes) -> None:
    check_csv(rows, raw_tail.replace(b"\n", b" ").replace(b"\r", b" "))


def _balanced(line: bytes) -> bool:
    """Whether brackets balance outside strings (what lets the JSON loader find where a bad record ends)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


# -- the long run ---------------------------------------------------------------------------------------


@pytest.mark.slow
@LONG
@given(st.lists(st.one_of(hostile_line, mutated_lines().map(lambda ls: ls[0])), max_size=10))
def test_long_json_lines(lines: list[bytes]) -> None:
    check_jsonl([line.replace(b"\n", b" ") for line in lines])


@pytest.mark.slow
@LONG
@given(st.lists(hostile_line, max_size=8), st.sampled_from([".jsonl", ".json"]))
def test_long_mixed(lines: list[bytes], suffix: str) -> None:
    if suffix == ".json":
        lines = [line for line in lines if _balanced(line)]
    check_mixed([line.replace(b"\n", b" ") for line in lines], suffix)


@pytest.mark.slow
@LONG
@given(st.lists(st.lists(cell, max_size=6), max_size=8), st.binary(max_size=80))
def test_long_csv(rows: list[list[str]], raw_tail: bytes) -> None:
    check_csv(rows, raw_tail.replace(b"\n", b" ").replace(b"\r", b" "))
