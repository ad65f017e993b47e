"""safetyrules: work-safety obligations as executable, explainable policy.

The public API is small and stable: `load_policy`, `load_policy_text`, `Policy.evaluate`,
`Policy.evaluate_many`, the result types, `Limits`, and one exception hierarchy rooted at
`SafetyRulesError` (`PolicyError`, `InputError` and its `FactError`, `FactsFileError`, `ParamError`,
`DateError`, `LimitError`). See docs/api.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safetyrules.version import __version__

__all__ = [
    "DateError",
    "EnterpriseResult",
    "FactError",
    "FactsFileError",
    "InputError",
    "LimitError",
    "Limits",
    "Outcome",
    "ParamError",
    "Policy",
    "PolicyError",
    "RuleResult",
    "SafetyRulesError",
    "UnknownFieldWarning",
    "__version__",
    "load_policy",
    "load_policy_text",
]

from safetyrules.errors import DateError, InputError, LimitError, SafetyRulesError
from safetyrules.limits import Limits

if TYPE_CHECKING:
    from safetyrules.api import FactError, Policy, UnknownFieldWarning, load_policy, load_policy_text
    from safetyrules.diagnostics import PolicyError
    from safetyrules.engine.params import ParamError
    from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult
    from safetyrules.facts.errors import FactsFileError


def __getattr__(name: str) -> Any:
    """Import lazily so that `import safetyrules` stays light (no lark or pydantic until needed)."""
    if name in ("FactError", "Policy", "UnknownFieldWarning", "load_policy", "load_policy_text"):
        from safetyrules import api

        return getattr(api, name)
    if name == "ParamError":
        from safetyrules.engine.params import ParamError

        return ParamError
    if name == "FactsFileError":
        from safetyrules.facts.errors import FactsFileError

        return FactsFileError
    if name == "PolicyError":
        from safetyrules.diagnostics import PolicyError

        return PolicyError
    if name in ("EnterpriseResult", "Outcome", "RuleResult"):
        from safetyrules.engine import results

        return getattr(results, name)
    raise AttributeError(name)
