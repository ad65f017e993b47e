"""The fact contract a policy evaluates against: its subject's model, its event dates, its local time, its labels.

A policy that declares its facts (`enum`, `record`, `subject` in `.policy` files) gets a contract built from
that schema at load time: pydantic models (`facts/declared.py`), as-of rules (`schema.as_of_rules`), the
subject's time zone and the enumerations' labels. A policy that declares none gets :data:`BUILTIN`, the 附件4
contract of `facts/models.py`. The seed policy declares a schema that accepts exactly what the built-in
models accept (a test proves it), so it is served by the built-in models and their specific error messages.

Every stage that reads facts takes the contract rather than a model: loaders and `validate_record` validate
with :attr:`FactContract.model`, the checker types rules against it, the engines take the as-of view with
:attr:`FactContract.as_of`, the columnar tables are laid out from it (a declared enumeration's class carries
its codes' labels for explanations).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

from pydantic import BaseModel

from .as_of import BUILTIN_RULES, EVENT_DATE_PATHS, AsOfRules, Effect, compile_rules
from .models import LOCAL_TIMEZONE, Enterprise
from .schema import FactSchema, as_of_rules


@dataclass(frozen=True, slots=True, eq=False)
class FactContract:
    """What a policy's rules read, and how records of it are checked and seen as of a date."""

    model: type[BaseModel]
    """The subject's pydantic model (the built-in `Enterprise`, or built from the declared schema)."""
    events: dict[str, Effect]
    """The event dates by path (`hazards[].found_on`) with their effect: facts dated after the evaluation date
    are hidden (see `facts.as_of`); the columnar engine applies the same rules to its tables."""
    timezone: dt.timezone
    """The facts' local time: an instant's date is taken here."""
    schema: FactSchema | None = None
    """The declared schema (None: the built-in contract, declared nowhere)."""
    subject: str = "enterprise"
    """The subject record's name in the policy language."""
    key: str = "id"
    """The subject's identifying field: results, reports and duplicate checks name a subject by it."""
    as_of: AsOfRules = field(init=False)
    """:attr:`events` compiled for `facts.as_of.as_of_view`."""

    def __post_init__(self) -> None:
        rules = BUILTIN_RULES if self.model is Enterprise else compile_rules(self.events)
        object.__setattr__(self, "as_of", rules)  # frozen: set once, derived from the events

    @property
    def builtin(self) -> bool:
        """Whether records are read with the hand-written 附件4 models (`facts.models`)."""
        return self.model is Enterprise


@cache
def builtin_contract() -> FactContract:
    return FactContract(Enterprise, {p: r.effect for p, r in EVENT_DATE_PATHS.items()}, LOCAL_TIMEZONE)


_CONTRACTS: dict[int, tuple[FactSchema, FactContract]] = {}


def contract_for(schema: FactSchema | None) -> FactContract:
    """The contract of a declared schema (built once per schema object); :func:`builtin_contract` when the
    policy declares none, or declares exactly the built-in contract."""
    if schema is None:
        return builtin_contract()
    cached = _CONTRACTS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    from .declared import build_models, differences

    models = build_models(schema)
    events, _kept = as_of_rules(schema)
    timezone = schema.root.timezone or LOCAL_TIMEZONE
    builtin = builtin_contract()
    same = (not differences(models.subject, Enterprise) and timezone == LOCAL_TIMEZONE
            and {p: str(e) for p, e in events.items()} == {p: str(r.effect) for p, r in EVENT_DATE_PATHS.items()})
    if same:
        contract = FactContract(builtin.model, builtin.events, builtin.timezone,
                                schema, schema.subject, schema.root.key or "id")
    else:
        contract = FactContract(models.subject, {p: Effect(e) for p, e in events.items()},
                                timezone, schema, schema.subject, schema.root.key or "id")
    if len(_CONTRACTS) > 64:  # policies loaded over and over (what-if runs, tests): keep the map small
        _CONTRACTS.clear()
    _CONTRACTS[id(schema)] = (schema, contract)
    return contract


def enum_name(cls: type[Enum]) -> str | None:
    """A declared enumeration's name in the policy language, if the class was built from a schema."""
    from .declared import ENUM_NAME

    name = getattr(cls, ENUM_NAME, None)
    return name if isinstance(name, str) else None
