"""Policy bundles: one file that carries a policy, its fact schema and its tests, with a digest that names it.

A bundle is a gzipped tar with

    manifest.json      format, name, title, version, digest, engine (safetyrules version), files {path: sha256}
    schema.json        the JSON Schema of the facts the policy declares (what `safetyrules schema` prints)
    policy/…           the policy's `.policy` files and its `*.test.yaml` tests, at their paths in the folder

The digest (`policy_digest`) is SHA-256 over the policy's files — `.policy` sources and `*.test.yaml` tests —
sorted by their path relative to the policy folder, each framed by its path and length. The service and the
decision records name the policy they ran by it, so a decision can be matched to the bundle that made it.
Building is reproducible: the same policy gives the same bundle, byte for byte. `load_bundle` refuses a
bundle whose files do not match the manifest or whose digest does not match its policy files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from safetyrules import __version__
from safetyrules.api import Policy, bundled_policy_path, load_policy
from safetyrules.errors import InputError
from safetyrules.limits import DEFAULT, Limits
from safetyrules.provenance import digest_files, policy_file_paths

BUNDLE_FORMAT = "safetyrules-bundle/1"
MAX_BUNDLE_FILES = 10_000


class BundleError(InputError):
    """A bundle that cannot be used: unreadable, not a bundle, or its contents do not match its manifest."""


def policy_digest(policy_path: str | Path | None = None) -> str:
    """The content digest of a policy folder (or one `.policy` file; default: the bundled 附件4 policy), the
    same as the `digest` of a bundle built from it. For a bundle file, its verified manifest digest."""
    path = Path(policy_path) if policy_path is not None else bundled_policy_path()
    if is_bundle(path):
        return read_bundle(path).digest
    return digest_files((rel, file.read_bytes()) for rel, file in policy_file_paths(path))


def short_version(digest: str) -> str:
    """The version of a policy that was given none: its digest, shortened (`sha256:1a2b3c4d5e6f`)."""
    return digest[: len("sha256:") + 12]


def is_bundle(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".tar.gz") or path.name.endswith(".tgz"))


def fact_schema_json(policy: Policy) -> dict[str, Any]:
    """The JSON Schema `safetyrules schema` prints for a policy: its declared facts, else the built-in contract."""
    if policy.contract.schema is not None:
        from safetyrules.facts.declared import json_schema

        return json_schema(policy.contract.schema)
    from safetyrules.facts import enterprise_json_schema

    return enterprise_json_schema()


def _canonical(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8") + b"\n"


def build_bundle(policy_dir: str | Path, out_path: str | Path, version: str | None = None,
                 limits: Limits = DEFAULT) -> dict[str, Any]:
    """Write a bundle of the policy at `policy_dir` to `out_path` and return its manifest. The policy is loaded
    first: one with errors raises `PolicyError` and nothing is written. `version` defaults to the short digest."""
    source = Path(policy_dir)
    policy = load_policy(source, limits=limits)
    files = [(rel, path.read_bytes()) for rel, path in policy_file_paths(source)]
    digest = digest_files(files)
    members: dict[str, bytes] = {f"policy/{rel}": data for rel, data in files}
    members["schema.json"] = _canonical(fact_schema_json(policy))
    manifest = {
        "format": BUNDLE_FORMAT,
        "name": policy.name,
        "title": policy.title.to_json(),
        "version": version or short_version(digest),
        "digest": digest,
        "engine": {"name": "safetyrules", "version": __version__},
        "rules": len(policy.rules()),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(members.items())},
    }
    members["manifest.json"] = _canonical(manifest)
    buffer = io.BytesIO()
    # reproducible: fixed order, times, owners and modes; gzip without a time stamp or a file name
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ["manifest.json", *sorted(n for n in members if n != "manifest.json")]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(members[name]), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(members[name]))
    Path(out_path).write_bytes(buffer.getvalue())
    return manifest


@dataclass(frozen=True, slots=True)
class BundleContents:
    """A bundle read and verified, not yet loaded: its manifest and its files by path in the bundle."""

    manifest: dict[str, Any]
    files: dict[str, bytes]

    @property
    def digest(self) -> str:
        return str(self.manifest["digest"])

    @property
    def policy_files(self) -> dict[str, bytes]:
        return {name.removeprefix("policy/"): data for name, data in self.files.items() if name.startswith("policy/")}


def read_bundle(path: str | Path, limits: Limits = DEFAULT) -> BundleContents:
    """Read a bundle and verify it: only regular files at safe paths, every file listed in the manifest with
    its SHA-256, and the digest of the policy files as the manifest says. Raises `BundleError` otherwise."""
    where = Path(path)
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(where, mode="r:gz") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_BUNDLE_FILES:
                    raise BundleError(f"{where}: more than {MAX_BUNDLE_FILES:,} files: not a policy bundle")
                name = member.name
                pure = PurePosixPath(name)
                if not member.isfile() or pure.is_absolute() or ".." in pure.parts or name in files \
                        or str(pure) != name:
                    raise BundleError(f"{where}: unexpected member `{name}` (a bundle holds regular files only)")
                total += member.size
                if total > limits.max_document_bytes:
                    raise BundleError(f"{where}: larger than {limits.max_document_bytes:,} bytes unpacked "
                                      "(max_document_bytes)")
                handle = tar.extractfile(member)
                files[name] = handle.read() if handle is not None else b""
    except (OSError, tarfile.TarError, EOFError) as e:
        raise BundleError(f"{where}: not a readable bundle (tar.gz): {e}") from None
    if "manifest.json" not in files:
        raise BundleError(f"{where}: no manifest.json: not a policy bundle")
    try:
        manifest = json.loads(files["manifest.json"].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BundleError(f"{where}: manifest.json is not JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{where}: manifest.json: not a {BUNDLE_FORMAT} manifest")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not isinstance(manifest.get("digest"), str):
        raise BundleError(f"{where}: manifest.json: `files` and `digest` are missing")
    present = {name for name in files if name != "manifest.json"}
    extra, missing = sorted(present - set(listed)), sorted(set(listed) - present)
    if extra:
        raise BundleError(f"{where}: {extra[0]} is not listed in the manifest: the bundle was altered / 策略包已被改动")
    if missing:
        raise BundleError(f"{where}: {missing[0]} is listed in the manifest but missing: the bundle was altered / "
                          "策略包已被改动")
    for name in sorted(present):
        if hashlib.sha256(files[name]).hexdigest() != listed[name]:
            raise BundleError(f"{where}: {name} does not match its SHA-256 in the manifest: the bundle was altered "
                              "/ 策略包已被改动")
    del files["manifest.json"]
    contents = BundleContents(manifest, files)
    actual = digest_files(contents.policy_files.items())
    if actual != contents.digest:
        raise BundleError(f"{where}: the policy files' digest {actual} is not the manifest's {contents.digest}: "
                          "the bundle was altered / 策略包摘要不符，已被改动")
    return contents


class LoadedBundle:
    """A verified bundle and its loaded policy. The policy files are unpacked into a temporary folder (the
    explanations cite `file:line:col` in them), removed when this object is garbage-collected."""

    def __init__(self, path: Path, contents: BundleContents, policy: Policy, folder: Path) -> None:
        self.path = path
        self.manifest = contents.manifest
        self.schema: dict[str, Any] | None = json.loads(contents.files["schema.json"].decode("utf-8")) \
            if "schema.json" in contents.files else None
        self.policy = policy
        self.folder = folder
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder.parent, True)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.policy.name))

    @property
    def version(self) -> str:
        return str(self.manifest.get("version") or short_version(self.digest))

    @property
    def digest(self) -> str:
        return str(self.manifest["digest"])


def load_bundle(path: str | Path, limits: Limits = DEFAULT) -> LoadedBundle:
    """Verify a bundle (`read_bundle`) and load its policy (`PolicyError` if it does not check with this
    version of safetyrules)."""
    where = Path(path)
    contents = read_bundle(where, limits)
    name = str(contents.manifest.get("name") or "policy")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "policy"
    folder = Path(tempfile.mkdtemp(prefix="safetyrules-bundle-")) / safe
    try:
        for rel, data in contents.policy_files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        policy = load_policy(folder, limits=limits)
    except BaseException:
        shutil.rmtree(folder.parent, ignore_errors=True)
        raise
    return LoadedBundle(where, contents, policy, folder)


@dataclass(frozen=True, slots=True)
class OpenedPolicy:
    """A policy ready to serve or replay, with what names it: a folder, a `.policy` file or a bundle."""

    policy: Policy
    name: str
    version: str
    digest: str
    schema: dict[str, Any]
    source: str
    bundle: LoadedBundle | None = None  # kept alive while the policy is used (its unpacked files)


def open_policy(path: str | Path | None = None, limits: Limits = DEFAULT) -> OpenedPolicy:
    """Load a policy folder, a `.policy` file or a bundle (`*.tar.gz`, verified first; default: the bundled
    附件4 policy) with its name, version (a bundle's, else the short digest), digest and fact schema.
    Raises `PolicyError` or `BundleError`."""
    where = Path(path) if path is not None else bundled_policy_path()
    if is_bundle(where):
        bundle = load_bundle(where, limits)
        return OpenedPolicy(bundle.policy, bundle.name, bundle.version, bundle.digest,
                            bundle.schema if bundle.schema is not None else fact_schema_json(bundle.policy),
                            str(where), bundle)
    policy = load_policy(where, limits=limits)
    digest = policy_digest(where)
    return OpenedPolicy(policy, policy.name, short_version(digest), digest, fact_schema_json(policy), str(where))
