"""The second-domain example (`examples/fire-safety/`): a policy that declares its own facts (a venue with
inspections, drills and fire hazards) runs through every CLI verb and the library, on both engines, with no
Python written for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules import load_policy
from safetyrules.cli import cli
from safetyrules.columnar import FactTables, compile_policy
from safetyrules.columnar.tables import layout_for
from safetyrules.engine.params import ParamTable
from safetyrules.facts import FactSource, Loaded

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fire-safety"
POLICY = EXAMPLE / "fire.policy"
FACTS = EXAMPLE / "venues.jsonl"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def records() -> list[dict[str, object]]:
    policy = load_policy(POLICY)
    return [x.record for x in FactSource(FACTS, contract=policy.contract) if isinstance(x, Loaded)]


def test_check_accepts_it() -> None:
    code, out, err = run("check", str(POLICY))
    assert code == 0, err
    assert "0 error(s), 0 warning(s); 5 rules" in out + err


def test_its_own_policy_tests_pass() -> None:
    code, out, err = run("test", str(EXAMPLE))
    assert code == 0, out + err
    assert "10 passed, 0 failed" in out + err


def test_eval_on_both_engines_gives_the_same_outcomes() -> None:
    outcomes = {}
    for engine in ("reference", "columnar"):
        code, out, err = run("eval", "--policy", str(POLICY), "--facts", str(FACTS), "--as-of", "2022-12-31",
                             "--engine", engine, "--format", "json")
        assert code == 0, err
        doc = json.loads(out)
        outcomes[engine] = {(r["enterprise"], r["rule"], r["outcome"], r.get("due_on")) for r in doc["results"]}
    assert len(outcomes["reference"]) == 6 * 5
    assert outcomes["reference"] == outcomes["columnar"]


def test_outcomes_follow_the_clauses() -> None:
    policy = load_policy(POLICY)
    by_code = {str(r["code"]): r for r in records()}
    result = {(x.enterprise, x.rule): x for x in
              (r for rec in by_code.values() for r in policy.evaluate_record(rec, "2022-12-31").results)}
    # V003: last inspection 2022-09-01, due 2022-10-01, 91 days late; last drill 2021-11-10, due 2022-05-10
    assert str(result["V003", "inspections_other"].outcome) == "violated"
    assert result["V003", "inspections_other"].due_on.isoformat() == "2022-10-01"
    assert result["V003", "drills_key_unit"].due_on.isoformat() == "2022-05-10"
    # V002: a drill at 2022-09-30T20:00Z is 2022-10-01 in +08:00, so the next is due 2023-04-01
    assert result["V002", "drills_key_unit"].due_on.isoformat() == "2023-04-01"
    # V005: established 2022-12-10, first inspection due a month later
    assert str(result["V005", "inspections_other"].outcome) == "pending"
    # V006: key_unit absent — which drill duty applies is unknown
    assert str(result["V006", "drills_key_unit"].outcome) == "unknown"
    # a venue is named by its key `code`
    assert result["V003", "hazards_remediated"].enterprise == "V003"


def test_the_columnar_engine_agrees_record_by_record() -> None:
    policy = load_policy(POLICY)
    recs = records()
    program = compile_policy(policy.program, ParamTable(policy.program))
    frame = program.run(FactTables.from_records(recs, layout_for(policy.contract)), __import__("datetime").date(
        2022, 12, 31))
    columnar = {(e, str(r)): str(o) for e, r, o in frame.select("enterprise", "rule", "outcome").iter_rows()}
    reference = {(x.enterprise, x.rule): str(x.outcome) for rec in recs
                 for x in policy.evaluate_record(rec, "2022-12-31").results}
    assert columnar == reference


def test_explain_names_the_venue_and_cites_the_clause() -> None:
    code, out, err = run("explain", "--policy", str(POLICY), "--facts", str(FACTS), "--as-of", "2022-12-31",
                         "--enterprise", "V003", "--rule", "hazards_remediated")
    assert code == 0, err
    assert "第三十三条" in out and "F-2022-07" in out and "2022-10-31" in out
    assert "Violated" in out or "violated" in out


def test_whatif_finds_who_changes_status(tmp_path: Path) -> None:
    # the scenario names its policy and facts relative to itself
    for engine in ("reference", "columnar"):
        out_dir = tmp_path / engine
        code, out, err = run("whatif", str(EXAMPLE / "whatif-quarterly.yaml"), "--out", str(out_dir),
                             "--engine", engine)
        assert code == 0, err
        assert "V003" in out and "violated → satisfied" in out
        report = json.loads((out_dir / "whatif.json").read_text(encoding="utf-8"))
        assert "V003" in json.dumps(report, ensure_ascii=False)


def test_schema_describes_the_declared_facts() -> None:
    code, out, err = run("schema", "--policy", str(POLICY))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["required"] == ["code"]
    assert set(doc["properties"]) >= {"code", "kind", "key_unit", "inspections", "drills", "fire_hazards"}
    assert doc["$defs"]["UnitKind"]["x-labels-en"]["government"].startswith("government body")


def test_records_of_another_contract_are_refused_with_their_reasons(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"code": "X1", "kind": "school"}\n{"id": "E1"}\n'
                   '{"code": "X2", "fire_hazards": [{"found_on": "2022-05-01", "remediated_on": "2022-04-01"}]}\n',
                   encoding="utf-8")
    code, _out, err = run("eval", "--policy", str(POLICY), "--facts", str(bad), "--as-of", "2022-12-31")
    assert code == 3, err
    assert "kind" in err and "code" in err and "remediated_on" in err
    assert "loaded 0, rejected 3" in err


def test_without_facts_the_example_town_is_not_read() -> None:
    code, _, err = run("eval", "--policy", str(POLICY))
    assert code == 2
    assert "declares its own facts" in err


def test_the_streaming_monitor_refuses_it_clearly() -> None:
    from safetyrules.stream import Monitor

    with pytest.raises(ValueError, match="declares its own facts"):
        Monitor(load_policy(POLICY))


def test_it_is_formatted_and_inspect_lists_its_rules() -> None:
    code, out, err = run("fmt", "--check", str(POLICY))
    assert code == 0, out + err
    code, out, err = run("inspect", str(POLICY), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert [r["name"] for r in doc["rules"]] == ["inspections_government", "inspections_other", "drills_key_unit",
                                                 "drills_other", "hazards_remediated"]


def test_csv_files_use_the_subjects_name_and_key(tmp_path: Path) -> None:
    # the main file holds one row per venue; a list's file `<stem>.<field>.csv` ties rows by `venue_code`
    (tmp_path / "venues.csv").write_text("code,name,kind,key_unit,established_on\n"
                                         "V1,永兴商场,enterprise,true,2010-06-18\n"
                                         "V2,桃源小学,government,true,1987-09-01\n", encoding="utf-8")
    (tmp_path / "venues.inspections.csv").write_text("venue_code,date\nV1,2022-12-02\nV2,2022-11-20\n",
                                                     encoding="utf-8")
    (tmp_path / "venues.drills.csv").write_text("venue_code,held_at\nV1,2022-09-30T20:00:00Z\n", encoding="utf-8")
    policy = load_policy(POLICY)
    loaded = [x for x in FactSource(tmp_path / "venues.csv", contract=policy.contract)]
    assert all(isinstance(x, Loaded) for x in loaded), loaded
    by_code = {x.record["code"]: x.record for x in loaded if isinstance(x, Loaded)}
    assert [str(i["date"]) for i in by_code["V2"]["inspections"]] == ["2022-11-20"]
    assert by_code["V1"]["drills"][0]["held_at"].isoformat() == "2022-10-01T04:00:00+08:00"
    assert by_code["V2"]["drills"] == []  # the list has its file: no row there is no drill (docs/facts.md)
    (tmp_path / "venues.inspections.csv").write_text("venue_code,date\nV9,2022-12-02\n", encoding="utf-8")
    code, _out, err = run("eval", "--policy", str(POLICY), "--facts", str(tmp_path / "venues.csv"))
    assert code == 3 and "V9" in err  # a row of no venue is input lost: rejected with its position


def test_parquet_tables_of_declared_facts_are_validated_and_evaluated(tmp_path: Path) -> None:
    # a decimal bound and a declared date order are checked on the tables as on the records
    import polars as pl

    policy = load_policy(POLICY)
    FactTables.from_records(records(), layout_for(policy.contract)).write_parquet(tmp_path / "good")
    code, out, err = run("eval", "--policy", str(POLICY), "--facts", str(tmp_path / "good"), "--engine",
                         "columnar", "--as-of", "2022-12-31", "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)["results"]) == 6 * 5
    tables = FactTables.from_records(records(), layout_for(policy.contract))
    tables.enterprises = tables.enterprises.with_columns(
        pl.when(pl.col("code") == "V001").then(pl.lit("-3")).otherwise(pl.col("floor_area_m2")).alias("floor_area_m2"))
    hazards = tables.children["fire_hazards"]
    tables.children["fire_hazards"] = hazards.with_columns(pl.col("found_on").dt.offset_by("100d"))
    tables.write_parquet(tmp_path / "bad")
    code, _out, err = run("eval", "--policy", str(POLICY), "--facts", str(tmp_path / "bad"), "--engine",
                          "columnar", "--as-of", "2022-12-31")
    assert code == 3, err
    assert "floor_area_m2" in err and "below the least allowed value 0" in err
    assert "date_order" in err and "remediated_on" in err
