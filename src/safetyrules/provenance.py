"""Where a result comes from: the policy's name and content digest, and the engine's version.

A policy's digest is the SHA-256 of the files it is made of — its `.policy` sources and `*.test.yaml` tests,
by path relative to the policy folder — so the same policy has the same digest wherever it is loaded from
(a folder, the packaged copy, a bundle built from it: `safetyrules bundle`). Every result of the library,
the CLI and the service carries it, so a decision can be reproduced against the exact policy it was made on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

POLICY_SUFFIX = ".policy"
TEST_SUFFIX = ".test.yaml"


def _is_policy_file(relative: PurePosixPath) -> bool:
    if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
        return False
    return relative.name.endswith(POLICY_SUFFIX) or relative.name.endswith(TEST_SUFFIX)


def policy_file_paths(policy_path: Path) -> list[tuple[str, Path]]:
    """The files a policy is made of, as (path relative to the policy folder, file): its `.policy` sources and
    `*.test.yaml` tests, sorted by relative path. A single `.policy` file is itself."""
    if not policy_path.is_dir():
        return [(policy_path.name, policy_path)]
    found = []
    for path in policy_path.rglob("*"):
        relative = PurePosixPath(path.relative_to(policy_path).as_posix())
        if path.is_file() and _is_policy_file(relative):
            found.append((str(relative), path))
    return sorted(found)


def digest_files(files: Iterable[tuple[str, bytes]]) -> str:
    """`sha256:` and the hex SHA-256 over the files sorted by path, each framed by its path and length (so that
    no two different sets of files give the same stream)."""
    h = hashlib.sha256()
    for path, data in sorted(files):
        name = path.encode("utf-8")
        h.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big"))
        h.update(data)
    return "sha256:" + h.hexdigest()


def sources_digest(sources: Mapping[str, str], roots: Iterable[str | Path] = ()) -> str:
    """The digest of a loaded policy: that of its folder or file when it was loaded from exactly one (tests
    included, as `policy_file_paths` lists them), else of the source texts it was loaded from."""
    paths = [Path(r) for r in roots]
    if len(paths) == 1 and paths[0].exists():
        return digest_files((rel, file.read_bytes()) for rel, file in policy_file_paths(paths[0]))
    return digest_files((name, text.encode("utf-8")) for name, text in sources.items())
