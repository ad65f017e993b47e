"""Policy bundles: the digest is stable (the same policy gives the same digest and the same bundle, byte for
byte, wherever it lives); a tampered bundle is refused; a bundle loads and serves the same policy."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules.api import bundled_policy_path, load_policy
from safetyrules.cli import cli
from safetyrules.service.bundle import (
    BundleError,
    build_bundle,
    digest_files,
    load_bundle,
    open_policy,
    policy_digest,
    read_bundle,
)

ROOT = Path(__file__).resolve().parents[2]


def _members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _write(bundle: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(bundle, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_the_digest_is_stable(tmp_path: Path) -> None:
    digest = policy_digest(ROOT / "policies" / "annex4")
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert policy_digest(bundled_policy_path()) == digest  # the packaged copy is the same policy
    copy = tmp_path / "elsewhere" / "annex4"
    shutil.copytree(ROOT / "policies" / "annex4", copy)
    assert policy_digest(copy) == digest  # paths are relative to the policy folder
    (copy / "notes.txt").write_text("not part of the policy", encoding="utf-8")
    assert policy_digest(copy) == digest
    (copy / "30-risk.policy").write_text((copy / "30-risk.policy").read_text(encoding="utf-8") + "\n",
                                         encoding="utf-8")
    assert policy_digest(copy) != digest
    # framing: moving bytes from one file's end to the next file's start changes the digest
    assert digest_files([("a", b"xy"), ("b", b"z")]) != digest_files([("a", b"x"), ("b", b"yz")])


def test_bundles_are_reproducible_and_carry_a_manifest(tmp_path: Path) -> None:
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    manifest = build_bundle(ROOT / "policies" / "annex4", first)
    build_bundle(ROOT / "policies" / "annex4", second)
    assert first.read_bytes() == second.read_bytes()
    assert manifest["name"] == "annex4" and manifest["digest"] == policy_digest(ROOT / "policies" / "annex4")
    assert manifest["engine"]["name"] == "safetyrules" and manifest["engine"]["version"]
    members = _members(first)
    assert json.loads(members["manifest.json"]) == manifest
    assert "policy/00-annex4.policy" in members and "policy/tests/30-risk.test.yaml" in members
    printed = CliRunner().invoke(cli, ["schema"]).output
    assert json.loads(members["schema.json"]) == json.loads(printed)
    assert set(manifest["files"]) == set(members) - {"manifest.json"}


def test_a_bundle_loads_and_serves_the_same_policy(tmp_path: Path) -> None:
    bundle = tmp_path / "annex4.tar.gz"
    build_bundle(ROOT / "policies" / "annex4", bundle, version="2022.1")
    loaded = load_bundle(bundle)
    assert loaded.name == "annex4" and loaded.version == "2022.1"
    assert loaded.digest == policy_digest(ROOT / "policies" / "annex4") == policy_digest(bundle)
    record = {"id": "E1", "industry": "construction", "risk_assessments": [{"date": "2020-11-03",
                                                                           "comprehensive": True}]}
    assert loaded.policy.evaluate(record, "2022-06-30").to_json(False) == \
        load_policy().evaluate(record, "2022-06-30").to_json(False)
    opened = open_policy(bundle)
    assert (opened.name, opened.version, opened.digest) == ("annex4", "2022.1", loaded.digest)
    folder = loaded.folder
    assert folder.is_dir()
    del loaded
    import gc

    gc.collect()
    assert not folder.exists()  # the unpacked files go with the bundle object


@pytest.mark.parametrize("change", ["edit_policy", "edit_test", "edit_schema", "add_file", "remove_file",
                                    "edit_manifest_digest", "consistent_rehash"])
def test_a_tampered_bundle_is_refused(tmp_path: Path, change: str) -> None:
    bundle = tmp_path / "annex4.tar.gz"
    build_bundle(ROOT / "policies" / "annex4", bundle)
    members = _members(bundle)
    manifest = json.loads(members["manifest.json"])
    if change == "edit_policy":
        members["policy/30-risk.policy"] = members["policy/30-risk.policy"].replace(b"1 year", b"2 years")
    elif change == "edit_test":
        members["policy/tests/30-risk.test.yaml"] += b"\n# edited\n"
    elif change == "edit_schema":
        members["schema.json"] = b"{}"
    elif change == "add_file":
        members["policy/99-extra.policy"] = b""
    elif change == "remove_file":
        del members["policy/60-enforcement.policy"]
    elif change == "edit_manifest_digest":
        manifest["digest"] = "sha256:" + "0" * 64
        members["manifest.json"] = json.dumps(manifest).encode()
    elif change == "consistent_rehash":  # the file hashes updated too, but not the policy digest
        import hashlib

        members["policy/30-risk.policy"] += b"\n"
        manifest["files"]["policy/30-risk.policy"] = hashlib.sha256(members["policy/30-risk.policy"]).hexdigest()
        members["manifest.json"] = json.dumps(manifest).encode()
    tampered = tmp_path / "tampered.tar.gz"
    _write(tampered, members)
    with pytest.raises(BundleError, match="altered"):
        load_bundle(tampered)
    result = CliRunner().invoke(cli, ["serve", "--policy", str(tampered)])
    assert result.exit_code == 3 and "altered" in result.output


@pytest.mark.parametrize("kind", ["not_gzip", "no_manifest", "path_escape", "symlink"])
def test_what_is_not_a_bundle_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.tar.gz"
    if kind == "not_gzip":
        path.write_bytes(b"not a bundle")
    elif kind == "no_manifest":
        _write(path, {"policy/a.policy": b""})
    elif kind == "path_escape":
        _write(path, {"manifest.json": b"{}", "../evil.policy": b""})
    else:
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo("policy/link.policy")
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    with pytest.raises(BundleError):
        read_bundle(path)
    assert not (tmp_path.parent / "evil.policy").exists()


def test_the_bundle_command(tmp_path: Path) -> None:
    out = tmp_path / "annex4.tar.gz"
    result = CliRunner().invoke(cli, ["bundle", str(ROOT / "policies" / "annex4"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert policy_digest(ROOT / "policies" / "annex4") in result.output and out.is_file()
    assert CliRunner().invoke(cli, ["bundle", str(tmp_path / "nope"), "--out", str(out)]).exit_code == 2
    assert CliRunner().invoke(cli, ["bundle", str(ROOT / "policies" / "annex4"), "--out",
                                    str(tmp_path / "no" / "dir.tar.gz")]).exit_code == 2
    broken = tmp_path / "broken.policy"
    broken.write_text("policy p {\n  title zh \"测试\" en \"Test\"\n}\n\nobligation r {\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["bundle", str(broken), "--out", str(tmp_path / "b.tar.gz")])
    assert result.exit_code == 4 and not (tmp_path / "b.tar.gz").exists()
    assert gzip.decompress(out.read_bytes())[:13] == b"manifest.json"  # first: readable without unpacking all
