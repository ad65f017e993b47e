"""JSON Lines straight into the columnar tables (`columnar.jsonl`): the same tables as the record path builds,
and on malformed input the same positioned messages (file, line, field, reason), in the same order, the same
counts and warnings, and the same outcomes for the records accepted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from safetyrules import load_policy
from safetyrules.cli import cli
from safetyrules.columnar import FactTables
from safetyrules.columnar.jsonl import read_jsonl_batches
from safetyrules.columnar.tables import layout_for
from safetyrules.facts.loaders import FactSource

ROOT = Path(__file__).resolve().parents[2]
TOWN = (ROOT / "examples" / "town.jsonl").read_text(encoding="utf-8").splitlines()


def _record(i: int, number: int | None = None, **changes: Any) -> dict[str, Any]:
    """The i-th record of the example town, its id `E<number>` (default: i)."""
    record: dict[str, Any] = json.loads(TOWN[i % len(TOWN)])
    record["id"] = f"E{i if number is None else number:04d}"
    record.update(changes)
    return record


def _line(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False)


def _with(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`record` with the value at a dotted path (`hazards.0.found_on`) replaced (or deleted for `...`)."""
    *parents, last = path.split(".")
    node: Any = record
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return record


def _first_with(key: str) -> int:
    return next(i for i, line in enumerate(TOWN) if json.loads(line).get(key))


def _malformed() -> list[str]:
    h = _first_with("hazards")
    a = _first_with("accidents")
    lines = [
        _line(_record(0)),
        "{not json",
        "[1, 2]",
        _line(_record(3, employee_count="many")),
        _line(_record(4, employee_count=5.0)),
        _line(_record(5, above_designated_size=1)),
        _line(_record(6, nickname="x")),  # an unknown field: a warning, accepted
        _line(_record(7, id="E0000")),  # a repeated id
        _line(_with(_record(8), "id", ...)),
        _line(_record(9, id="  ")),
        '{"id": "E0010", "id": "E0011"}',  # a repeated key
        _line(_record(12, established_on="2022-13-01")),
        _line(_record(13, established_on="2022/01/01")),
        _line(_record(14, industry="bakery")),
        _line(_with(_record(h), "hazards.0.remediated_on", "1999-01-01")),
        _line(_with(_record(a), "accidents.0.occurred_at", "2021-08-09T10:20:00")),  # no offset
        _line(_with(_record(a, 1000), "accidents.0.occurred_at", "2021-08-09 10:20+08:00")),  # valid, unusual
        _line(_with(_record(a, 2000), "accidents.0.occurred_at", "2021-08-09T02:20:00Z")),
        _line(_record(18, hazards={"found_on": "2020-01-01"})),
        _line(_record(19, principal=["x"])),
        _line(_record(20, hazards=["x"])),
        _line(_record(21, employee_count=10**20)),
        '{"id": "E0022", "employee_count": NaN}',
        _line(_record(23, name="SURROGATE")).replace('"SURROGATE"', '"\\ud800"'),
        _line(_record(24, employee_count=-3)),
        _line(_record(25, _absent="name")),
        _line(_record(26, employee_count=10**14)),
        _line(_with(_record(h, 1001), "hazards.0.colour", "red")),  # an unknown field in an item
        _line(_with(_with(_record(27), "principal.name", ...), "management", ...)),  # absent: accepted
        _line(_record(28, name=None, principal=None, hazards=None, internal_assessments=[])),
        "",
        _line(_record(29, internal_assessments=["2020-01-01", 5])),
        _line(_record(30, employee_count=True)),
        _line(_record(31, name=7)),
        _line(_record(32, changes=[{"date": "2021-01-01", "major": "yes"}])),
        _line(_record(33, id=5)),
        _line(_record(34, safety_costs=[{"year": 0}])),
        _line(_record(35, note='a "quoted": text')),
    ]
    return lines


def _rejections(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("loaded ")]


def _run(path: Path, engine: str) -> Any:
    return CliRunner().invoke(cli, ["eval", "--engine", engine, "--facts", str(path), "--as-of", "2022-06-30",
                                    "--format", "jsonl", "--no-explain"])


def test_malformed_lines_give_the_record_paths_messages(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(("\ufeff" + "\n".join(_malformed()) + "\n").encode("utf-8") + b"\xff\xfe bad bytes\n"
                     + _line(_record(40)).encode("utf-8") + b"\n")
    rows, columnar = _run(path, "compiled"), _run(path, "columnar")
    assert rows.exit_code == columnar.exit_code == 3, columnar.output
    assert _rejections(columnar.stderr) == _rejections(rows.stderr)
    summary = [line for line in rows.stderr.splitlines() if line.startswith("loaded ")]
    assert summary and summary[0] in columnar.stderr.splitlines()
    assert len(re.findall(r"bad\.jsonl:\d+", rows.stderr)) >= 25

    keys = ("enterprise", "rule", "outcome", "due_on", "days_overdue", "days_remaining", "listed_until")

    def outcomes(stdout: str) -> list[tuple[Any, ...]]:  # enterprises in file order, rules in declared order
        rows = [tuple(json.loads(line)[k] for k in keys) for line in stdout.splitlines()]
        return sorted(rows, key=lambda r: (order.index(str(r[0])), rules.index(str(r[1]))))

    order = list(dict.fromkeys(json.loads(line)["enterprise"] for line in rows.stdout.splitlines()))
    rules = list(dict.fromkeys(json.loads(line)["rule"] for line in rows.stdout.splitlines()))

    assert outcomes(columnar.stdout) == outcomes(rows.stdout)
    first = [json.loads(line) for line in columnar.stdout.splitlines()]
    assert [r["enterprise"] for r in first if r["rule"] == rules[0]] == order  # the file's order


def test_the_tables_are_the_record_paths(tmp_path: Path) -> None:
    """Every record of the example town, split over batches: the same tables as `FactTables.from_records`
    of the loaded records (null, empty and absent kept apart), in file order."""
    path = tmp_path / "town.jsonl"
    path.write_text("\n".join(TOWN) + "\n", encoding="utf-8")
    policy = load_policy()
    source = FactSource(path, contract=policy.contract)
    batches = list(read_jsonl_batches(source, layout_for(policy.contract), batch=70))
    assert len(batches) == 5 and not any(b.rejected for b in batches)
    got = FactTables.concat([b.tables for b in batches])
    records = [item.record for item in FactSource(path, contract=policy.contract)]
    expected = FactTables.from_records(records, layout_for(policy.contract))
    for name in ["", *expected.children]:
        want = expected.table(name)
        assert got.table(name).select(want.columns).equals(want), name
    assert source.report.loaded == len(TOWN) and source.report.rejected == 0
