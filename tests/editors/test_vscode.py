"""The VS Code extension under editors/vscode: its manifest names the language, the grammar (the one tested in
test_textmate.py) and the language configuration, and its script starts `safetyrules lsp`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"


def test_the_manifest_contributes_the_language_and_the_grammar() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    [language] = manifest["contributes"]["languages"]
    assert language["id"] == "safetyrules" and language["extensions"] == [".policy"]
    config = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"
    [grammar] = manifest["contributes"]["grammars"]
    path = (VSCODE / grammar["path"]).resolve()
    assert path == (ROOT / "editors" / "safetyrules.tmLanguage.json").resolve()
    assert json.loads(path.read_text(encoding="utf-8"))["scopeName"] == grammar["scopeName"]
    assert (VSCODE / manifest["main"]).is_file()
    assert "vscode-languageclient" in manifest["dependencies"]


def test_the_extension_starts_the_language_server() -> None:
    script = (VSCODE / "extension.js").read_text(encoding="utf-8")
    assert re.search(r'config\.get\("server\.args", \["lsp"\]\)', script)
    assert 'language: "safetyrules"' in script
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["safetyrules.server.command"]["default"] == "safetyrules"
    assert settings["safetyrules.server.args"]["default"] == ["lsp"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_extension_script_is_valid_javascript() -> None:
    subprocess.run(["node", "--check", str(VSCODE / "extension.js")], check=True)
