"""The project's own documents (policies, policy tests, scenarios): reading them within limits, and YAML.

Every document is read through `read_document`: only a regular file (a FIFO or a device would block or never
end), at most `limits.max_document_bytes`, UTF-8 with an optional byte-order mark. YAML is read by
`load_yaml`, which keeps timestamps as text (dates and instants then reach pydantic and `date.fromisoformat`
as ISO text, so instants keep their offsets) and refuses, before building any Python object, documents nested
deeper than `limits.max_nesting` or with more than `limits.max_yaml_nodes` nodes once aliases are expanded
(an alias bomb is a few lines that expand to billions of nodes). `check_tree` bounds what any loader built
(YAML or TOML): nesting, list lengths and integers, naming the key path of the first problem.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from safetyrules.errors import InputError, LimitError
from safetyrules.limits import DEFAULT, Limits


class TextTimestampLoader(yaml.SafeLoader):
    """A SafeLoader without the implicit timestamp type."""


TextTimestampLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_INT_TAG = "tag:yaml.org,2002:int"
_MAX_INT_DIGITS = 40  # longer integer scalars are refused before int() (Python refuses > 4300 digits itself)


class DocumentError(InputError):
    """A document that cannot be read or is outside the limits; `where` is a key path or a line, if known."""

    def __init__(self, message: str, where: str = "", line: int | None = None, column: int | None = None) -> None:
        self.where = where
        self.reason = message
        self.line, self.column = line, column
        super().__init__(f"{where}: {message}" if where else message)


class DocumentLimitError(DocumentError, LimitError):
    """A document larger, deeper or with bigger numbers than the limits allow."""


def read_document(path: Path, limits: Limits = DEFAULT) -> str:
    """The text of a document the project reads whole: a regular UTF-8 file within `max_document_bytes`.

    A leading byte-order mark is dropped. Raises `DocumentError` saying what is wrong (the caller names the
    file); a text that is not UTF-8 is reported at the line and column of its first bad byte.
    """
    try:
        info = os.stat(path)  # stat does not open: a FIFO is not waited on
    except (OSError, ValueError) as e:
        raise DocumentError(f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DocumentError("is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError("is not a regular file (a pipe, a socket or a device): refused, it could block")
    if info.st_size > limits.max_document_bytes:
        raise DocumentLimitError(f"{info.st_size:,} bytes: larger than the limit of {limits.max_document_bytes:,} "
                                 "bytes (max_document_bytes)")
    try:
        with open(path, "rb") as f:
            data = f.read(limits.max_document_bytes + 1)  # the file may have grown since stat
    except OSError as e:
        raise DocumentError(f"cannot read: {e.strerror or e}") from None
    if len(data) > limits.max_document_bytes:
        raise DocumentLimitError(f"larger than the limit of {limits.max_document_bytes:,} bytes (max_document_bytes)")
    return decode_utf8(data)


def decode_utf8(data: bytes) -> str:
    """UTF-8 text without a leading byte-order mark; `DocumentError` at the first bad byte's line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line, column = utf8_position(data, e.start)
        raise DocumentError(f"byte 0x{data[e.start]:02x} is not UTF-8; save the file as UTF-8",
                            f"line {line}, column {column}", line, column) from None


def utf8_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte `offset` of mostly-UTF-8 `data`."""
    start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


class _BoundedLoader(TextTimestampLoader):
    """Refuses nesting beyond the limit while composing, so no recursion runs away."""

    def __init__(self, text: str, limits: Limits) -> None:
        super().__init__(text)
        self._limits = limits
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > self._limits.max_nesting:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise DocumentLimitError(f"nested deeper than {self._limits.max_nesting} levels (max_nesting)",
                                         f"line {mark.line + 1}, column {mark.column + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose_yaml(text: str, limits: Limits = DEFAULT) -> tuple[Any, yaml.Node | None]:
    """The data of a one-document YAML text and its node graph (for line numbers).

    Raises `yaml.YAMLError` for bad syntax and `DocumentLimitError` beyond the limits.
    """
    loader = _BoundedLoader(text, limits)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_graph(node, limits)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def load_yaml(text: str, limits: Limits = DEFAULT) -> Any:
    """A one-document YAML text as Python data, timestamps as text, within `limits`."""
    return compose_yaml(text, limits)[0]


def _where(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_graph(root: yaml.Node, limits: Limits) -> None:
    """Expanded node count and depth of the graph (aliases share nodes: counted once per use, computed once
    per node), and integer scalars too long to convert."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            on_path.discard(key)
            if size[key] > limits.max_yaml_nodes:
                raise DocumentLimitError(f"more than {limits.max_yaml_nodes:,} nodes once aliases are expanded "
                                         "(max_yaml_nodes): refused, not expanded", _where(node))
            if depth[key] > limits.max_nesting:
                raise DocumentLimitError(f"nested deeper than {limits.max_nesting} levels once aliases are "
                                         "expanded (max_nesting)", _where(node))
            continue
        if key in size:
            continue
        if key in on_path:
            raise DocumentLimitError("an alias refers to a node that contains it (a recursive document)",
                                     _where(node))
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and len(node.value) > _MAX_INT_DIGITS:
            raise DocumentLimitError(f"an integer of {len(node.value)} characters: outside ±{limits.max_int:,} "
                                     "(max_int)", _where(node))
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)


def key_path(parent: str, key: object) -> str:
    """`patches[1].where.industry`: the path of a value inside a document, for messages."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def _walk(data: Any) -> Iterator[tuple[str, int, Any]]:
    """(key path, depth, value) of every value of a tree of dicts and lists, iteratively."""
    stack: list[tuple[str, int, Any]] = [("", 1, data)]
    seen: set[int] = set()
    while stack:
        path, level, value = stack.pop()
        yield path, level, value
        if isinstance(value, dict | list):
            if id(value) in seen:  # YAML aliases share objects: each is checked once
                continue
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((key_path(path, k), level + 1, v) for k, v in reversed(list(items)))


def check_tree(data: Any, limits: Limits = DEFAULT) -> None:
    """`DocumentLimitError` naming the key path of the first value beyond the limits: nesting deeper than
    `max_nesting`, a list longer than `max_list_items`, an integer outside `±max_int`."""
    for path, level, value in _walk(data):
        if level > limits.max_nesting:
            raise DocumentLimitError(f"nested deeper than {limits.max_nesting} levels (max_nesting)", path)
        if isinstance(value, list) and len(value) > limits.max_list_items:
            raise DocumentLimitError(f"{len(value):,} items: more than {limits.max_list_items:,} (max_list_items)",
                                     path)
        if isinstance(value, int) and not isinstance(value, bool) and not limits.check_int(value):
            raise DocumentLimitError(f"the integer {short_int(value)} is outside ±{limits.max_int:,} (max_int)",
                                     path)


def short_int(value: int) -> str:
    """An integer for a message: in full when short, else its size (str() of a huge int is refused)."""
    if value.bit_length() <= 128:
        return str(value)
    return f"{'-' if value < 0 else ''}of about {int(value.bit_length() * 0.30103) + 1:,} digits"
