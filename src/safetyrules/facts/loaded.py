"""What reading a fact file gives: each record loaded (:class:`Loaded`) or rejected with its reasons
(:class:`Rejected`), and the counts and warnings of a load (:class:`LoadReport`). Plain data shared by the
loaders of every format (`loaders.py`, `_tabular.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .errors import FieldError, Position


@dataclass(frozen=True, slots=True)
class Loaded:
    """A valid record: its position, the model, and ``model.model_dump(exclude_unset=True)``."""

    position: Position
    model: BaseModel  # an `Enterprise`, or the subject model of a policy's declared schema
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that breaks the contract, with every reason found."""

    position: Position
    errors: list[FieldError]

    def __str__(self) -> str:
        return f"{self.position}: " + "; ".join(str(error) for error in self.errors)


@dataclass(slots=True)
class UnknownField:
    """An extra field not in the contract: kept on the records, ignored by the rules."""

    path: str
    first: Position
    count: int = 1


@dataclass
class LoadReport:
    """Counts and warnings of one or more loads.

    Pass the same report to several :class:`FactSource`\\ s to count them together and to detect ``id``\\ s
    duplicated across files.
    """

    loaded: int = 0
    rejected: int = 0
    warnings: list[str] = field(default_factory=list)
    unknown_fields: dict[str, UnknownField] = field(default_factory=dict)
    seen_ids: dict[str, Position] = field(default_factory=dict, repr=False)

    @property
    def total(self) -> int:
        """Records read, loaded or rejected."""
        return self.loaded + self.rejected

    def summary(self) -> str:
        """One line: ``loaded 99000, rejected 1000, 2 warnings``."""
        return f"loaded {self.loaded}, rejected {self.rejected}, {len(self.warnings)} warnings"

    def note_unknown_field(self, path: str, position: Position, suggestion: str | None = None) -> None:
        """Count an extra field; the first sighting of each path adds one warning (with the contract field
        its name is closest to, when one is: a misspelt field is silently unknown to every rule)."""
        known = self.unknown_fields.get(path)
        if known is not None:
            known.count += 1
            return
        self.unknown_fields[path] = UnknownField(path, position)
        hint = f"; did you mean {suggestion!r}? / 是否应为 {suggestion}？" if suggestion is not None else ""
        self.warnings.append(f"unknown field {path!r} (first at {position}): kept, ignored by the rules{hint} / "
                             f"未知字段 {path}：已保留，规则不读取")
