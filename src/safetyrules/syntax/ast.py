"""The policy AST: immutable nodes, each with a source span that equality ignores.

Two trees are equal whatever their positions (as in Jinja's `nodes.py` and Catala's marks), which is what
the format → parse round trip needs. Blocks keep their items in source order; `RuleDecl` offers typed
accessors so that later stages need not scan items by hand.

Every expression node has a `checked_type` slot: the type the checker gave it (a `check.types.LangType`,
read with `check.types.type_of`), None until checked. The checker is its only writer; equality ignores it.
Types live on the nodes rather than in a side table keyed by `id(node)`, which a copied or rebuilt tree loses.
"""

from __future__ import annotations

import builtins
import datetime as dt
from dataclasses import dataclass, field
from typing import TypeVar

from safetyrules.diagnostics import NO_SPAN, Span

# ------------------------------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class IntLit:
    value: int
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StringLit:
    value: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DateLit:
    value: dt.date
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class InstantLit:
    value: dt.datetime
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


DURATION_UNITS = ("year", "month", "week", "day", "hour", "minute")


@dataclass(frozen=True, slots=True)
class DurationLit:
    amount: int
    unit: str  # one of DURATION_UNITS (singular)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NullLit:
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Name:
    """A field of the enterprise, a bound variable, a param, a definition or a rule."""

    id: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class AsOf:
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Field:
    target: Expr
    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ParamAt:
    """`param at date`: a dated param's value in force on a given day."""

    param: str
    at: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


QUANTIFIERS = ("any", "all", "count", "sum", "max", "min", "find")
ORDER_PICKS = ("latest", "earliest")


@dataclass(frozen=True, slots=True)
class Quantifier:
    """`any(x in C where F: B)` and its kin: a bounded loop over a finite collection."""

    kind: str  # one of QUANTIFIERS
    var: str
    collection: Expr
    where: Expr | None
    body: Expr | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class OrderPick:
    """`latest(x in C where F by K)`: the element with the greatest (least) key."""

    kind: str  # one of ORDER_PICKS
    var: str
    collection: Expr
    where: Expr | None
    key: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IntRange:
    low: Expr
    high: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SetLit:
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


BINARY_OPS = ("implies", "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*")


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # one of BINARY_OPS
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IsTest:
    """`x is null`, `x is known`, `x is unknown` (and their negations)."""

    operand: Expr
    test: str  # "null" | "known" | "unknown"
    negated: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IfThenElse:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    checked_type: object = field(default=None, compare=False, repr=False)


Expr = (
    IntLit
    | StringLit
    | DateLit
    | InstantLit
    | DurationLit
    | BoolLit
    | NullLit
    | Name
    | AsOf
    | Field
    | ParamAt
    | Call
    | Quantifier
    | OrderPick
    | IntRange
    | SetLit
    | Unary
    | Binary
    | IsTest
    | IfThenElse
)

# ------------------------------------------------------------------------------------------ block items


@dataclass(frozen=True, slots=True)
class Bilingual:
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Title:
    text: Bilingual
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Source:
    """A cited clause: the document's own section label and the Chinese text quoted."""

    section: str
    quote: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Catalogue:
    ids: tuple[str, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ParamDefault:
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ParamFrom:
    """A dated value: in force from `start` (inclusive) until the next dated value."""

    start: dt.date
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Implements:
    ids: tuple[str, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SeverityItem:
    level: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Effective:
    start: dt.date
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Applies:
    cond: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Unless:
    """An exception (Catala's default logic): when `when` holds the rule is not applicable."""

    name: str
    source: Source
    when: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Require:
    cond: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DueContinuous:
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DueBy:
    """`due by DEADLINE [done DATE] [grace PARAM]` (`met` is the deprecated word for `done`)."""

    deadline: Expr
    met: Expr | None  # the date of the act (`done …`)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    reserved: Name | None = None  # `grace new_entrant_grace`: the engine-read param the text names


@dataclass(frozen=True, slots=True)
class DueEvery:
    """`due every PERIOD [from PARAM] last done DATE [first due DATE]`."""

    period: Expr
    last: Expr  # the date of the latest act (`last done …`)
    first: Expr | None  # the first due date (`first due …`)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    reserved: Name | None = None  # `from periodic_first_due_anchor`: the engine-read param the text names


@dataclass(frozen=True, slots=True)
class DueWithin:
    """`due within WINDOW after DATE done DATE [late for PARAM]`."""

    window: Expr
    after: Expr
    done: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    reserved: Name | None = None  # `late for late_act_memory`: the engine-read param the text names


@dataclass(frozen=True, slots=True)
class DueOn:
    """`due on DATE done DATE [late for PARAM]`."""

    deadline: Expr
    done: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    reserved: Name | None = None  # `late for late_act_memory`: the engine-read param the text names


Due = (
    DueContinuous
    | DueBy
    | DueEvery
    | DueWithin
    | DueOn
)


@dataclass(frozen=True, slots=True)
class When:
    """`when COND` of a `candidate`: the subject is an enforcement candidate when COND holds."""

    cond: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Effect:
    text: Bilingual
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Remedy:
    text: Bilingual
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Each:
    var: str
    collection: Expr
    where: Expr | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TriggerOn:
    date: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Listing:
    duration: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


PolicyItem = (
    Title
    | Document
    | Period
    | Catalogue
)
RuleItem = (
    Implements
    | Title
    | Source
    | SeverityItem
    | Effective
    | Applies
    | Unless
    | Require
    | DueContinuous
    | DueBy
    | DueEvery
    | DueWithin
    | DueOn
    | Effect
    | Each
    | TriggerOn
    | Listing
    | Remedy
    | When
)

# ------------------------------------------------------------------------------------------ declarations


@dataclass(frozen=True, slots=True)
class TypeRef:
    name: str
    is_set: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PolicyDecl:
    name: str
    items: tuple[PolicyItem, ...]
    doc: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ParamDecl:
    name: str
    type: TypeRef
    items: tuple[ParamItem, ...]
    doc: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DefineDecl:
    name: str
    type: TypeRef | None
    value: Expr
    doc: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)


_I = TypeVar("_I")


@dataclass(frozen=True, slots=True)
class RuleDecl:
    """An `obligation`, a `trigger` (credit-record entry) or a `candidate` (who is an enforcement candidate)."""

    kind: str  # "obligation" | "trigger" | "candidate"
    name: str
    items: tuple[RuleItem, ...]
    doc: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    def first(self, kind: type[_I]) -> _I | None:
        for item in self.items:
            if isinstance(item, kind):
                return item
        return None

    def all(self, kind: type[_I]) -> list[_I]:
        return [item for item in self.items if isinstance(item, kind)]

    @property
    def due(self) -> Due | None:
        for item in self.items:
            if isinstance(item, DueContinuous | DueBy | DueEvery | DueWithin | DueOn):
                return item
        return None

    @property
    def implements(self) -> tuple[str, ...]:
        return tuple(i for item in self.all(Implements) for i in item.ids)

    @property
    def outcome_kind(self) -> str:
        """What `violated(…)`/`triggered(…)` see: a candidate is an obligation (violated: a candidate)."""
        return "trigger" if self.kind == "trigger" else "obligation"


# ------------------------------------------------------------------------------------------ the fact schema


@dataclass(frozen=True, slots=True)
class Label:
    """What a person reads for a record, a field or an enumeration: its name in Chinese and English."""

    text: Bilingual
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class EnumCode:
    """One code of an enumeration, with its Chinese and English label."""

    code: str
    label: Bilingual
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class EnumDecl:
    """`enum industry { label … code construction zh "建筑施工" en "construction" … }`."""

    name: str
    items: tuple[Label | EnumCode, ...]
    doc: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def codes(self) -> tuple[EnumCode, ...]:
        return tuple(i for i in self.items if isinstance(i, EnumCode))

    @property
    def label(self) -> Label | None:
        return next((i for i in self.items if isinstance(i, Label)), None)


FIELD_KINDS = ("simple", "list", "set")


@dataclass(frozen=True, slots=True)
class FieldType:
    """`text`, `hazard`, `list<hazard>`, `set<risk_level>`: a type name, plain or in a list or a set."""

    kind: str  # one of FIELD_KINDS
    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FieldKept:
    """`kept`: a date that is not an event (an expiry date, a deadline): the as-of view keeps it."""

    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FieldDated:
    """`dated` on a `list<date>`: each date is its item's own date; later items are not on record yet."""

    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FieldMin:
    """`>= 0`: the least value a number may have."""

    value: int
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FieldMax:
    """`<= 9999`: the greatest value a number may have."""

    value: int
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FieldNotBefore:
    """`>= found_on`: a date that is never before another field of the same record."""

    other: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


FieldOption = Label | FieldKept | FieldDated | FieldMin | FieldMax | FieldNotBefore


@dataclass(frozen=True, slots=True)
class FieldDecl:
    name: str
    type: FieldType
    options: tuple[FieldOption, ...]
    doc: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    def first(self, kind: builtins.type[_I]) -> _I | None:  # `type` is a field here
        for option in self.options:
            if isinstance(option, kind):
                return option
        return None


@dataclass(frozen=True, slots=True)
class RecordKey:
    """`key id`: the field that identifies a subject record."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RecordTimezone:
    """`timezone "+08:00"`: the local time in which an instant's date is taken."""

    offset: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RecordDated:
    """`dated found_on`: the record did not exist before that date (a later list item is not on record yet;
    a later object is null)."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


RecordItem = Label | RecordKey | RecordTimezone | RecordDated | FieldDecl
ParamItem = ParamDefault | ParamFrom | Source | Label


@dataclass(frozen=True, slots=True)
class RecordDecl:
    """`record hazard { … }`, or `subject enterprise { … }` for the record every evaluation is about."""

    kind: str  # "record" | "subject"
    name: str
    items: tuple[RecordItem, ...]
    doc: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    name_span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def fields(self) -> tuple[FieldDecl, ...]:
        return tuple(i for i in self.items if isinstance(i, FieldDecl))

    def first(self, kind: type[_I]) -> _I | None:
        for item in self.items:
            if isinstance(item, kind):
                return item
        return None


Decl = (
    PolicyDecl
    | ParamDecl
    | DefineDecl
    | RuleDecl
    | EnumDecl
    | RecordDecl
)


@dataclass(frozen=True, slots=True)
class Comment:
    line: int
    column: int
    text: str  # including the leading '#'


@dataclass(frozen=True, slots=True)
class Module:
    """One policy file."""

    decls: tuple[Decl, ...]
    file: str = field(default="<string>", compare=False)
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)
