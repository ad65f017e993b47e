"""Every command of the README and of docs/ runs as written, and the README's Python example prints what its
comment says.

The commands are the lines of ```sh blocks that start with `safetyrules `; each document's commands run in
order in a fresh folder holding what the document assumes is there: the repository's `policies/` and
`examples/`, the example town as `town.jsonl` and `province.jsonl`, the town as a Parquet folder `province/`, a
year of its events as `events.jsonl` / `town-2022.jsonl`, and `docs/whatif.md`'s own scenario examples as
`scenario.yaml` / `scenario.toml`. A command passes when it exits 0 and prints no traceback.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI = Path(sys.executable).with_name("safetyrules")


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def commands(doc: Path) -> list[str]:
    found = []
    for block in fenced(doc.read_text(encoding="utf-8"), "sh"):
        for line in block.splitlines():
            if line.startswith("safetyrules "):
                found.append(re.split(r"\s{2,}#", line)[0].strip())  # drop the trailing comment
    return found


DOCS_WITH_COMMANDS = [doc for doc in DOCS if commands(doc)]


@pytest.fixture(scope="module")
def workdir_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from safetyrules.columnar import FactTables

    base = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "policies", base / "policies")
    shutil.copytree(ROOT / "examples", base / "examples")
    town = ROOT / "examples" / "town.jsonl"
    for name in ("town.jsonl", "province.jsonl"):
        shutil.copy(town, base / name)
    records = [json.loads(line) for line in town.read_text(encoding="utf-8").splitlines()]
    FactTables.from_records(records).write_parquet(base / "province")
    subprocess.run([str(CLI), "synth", "--events", "--out", str(base / "events.jsonl")], check=True,
                   capture_output=True)
    shutil.copy(base / "events.jsonl", base / "town-2022.jsonl")
    shutil.copy(ROOT / "examples" / "stricter.policy", base / "stricter.policy")  # docs/whatif.md's rules_add
    whatif = (ROOT / "docs" / "whatif.md").read_text(encoding="utf-8")
    (base / "scenario.yaml").write_text(fenced(whatif, "yaml")[0], encoding="utf-8")
    (base / "scenario.toml").write_text(fenced(whatif, "toml")[0], encoding="utf-8")
    return base


@pytest.mark.parametrize("doc", DOCS_WITH_COMMANDS, ids=lambda d: d.name)
def test_every_command_runs_as_written(doc: Path, workdir_template: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    shutil.copytree(workdir_template, workdir)
    env = {**os.environ, "COLUMNS": "160"}
    for command in commands(doc):
        argv = shlex.split(command)
        run = subprocess.run([str(CLI), *argv[1:]], cwd=workdir, capture_output=True, text=True, env=env,
                             timeout=600, check=False)
        assert "Traceback" not in run.stderr, f"{doc.name}: `{command}`\n{run.stderr}"
        assert run.returncode == 0, f"{doc.name}: `{command}` exited {run.returncode}\n{run.stderr[-3000:]}"


def test_readme_python_example_prints_what_it_says() -> None:
    (block,) = fenced((ROOT / "README.md").read_text(encoding="utf-8"), "python")
    printed = io.StringIO()
    with redirect_stdout(printed):
        exec(compile(block, "README.md", "exec"), {})  # the project's own README, not policy text
    (comment,) = re.findall(r"print\(.*\)\s+#\s*(.+)$", block, flags=re.M)
    promised = comment.rstrip("…").strip()
    assert printed.getvalue().startswith(promised), (printed.getvalue(), promised)


@pytest.mark.parametrize("doc", [d for d in DOCS if fenced(d.read_text(encoding="utf-8"), "python")],
                         ids=lambda d: d.name)
def test_python_examples_run(doc: Path, workdir_template: Path, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(workdir_template, tmp_path / "work")
    monkeypatch.chdir(tmp_path / "work")
    namespace: dict[str, object] = {}  # a document's examples build on each other, like a session
    for block in fenced(doc.read_text(encoding="utf-8"), "python"):
        with redirect_stdout(io.StringIO()):
            exec(compile(block, doc.name, "exec"), namespace)  # the project's own docs, not policy text
