"""safetyrules: work-safety obligations as executable, explainable policy.

The public API is small and stable: `load_policy`, `load_policy_text`, `Policy.evaluate`,
`Policy.evaluate_many`, and the result types. See docs/api.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "EnterpriseResult",
    "Outcome",
    "Policy",
    "PolicyError",
    "RuleResult",
    "__version__",
    "load_policy",
    "load_policy_text",
]

if TYPE_CHECKING:
    from safetyrules.api import Policy, load_policy, load_policy_text
    from safetyrules.diagnostics import PolicyError
    from safetyrules.engine.results import EnterpriseResult, Outcome, RuleResult


def __getattr__(name: str) -> Any:
    """Import lazily so that `import safetyrules` stays light (no lark or pydantic until needed)."""
    if name in ("Policy", "load_policy", "load_policy_text"):
        from safetyrules import api

        return getattr(api, name)
    if name == "PolicyError":
        from safetyrules.diagnostics import PolicyError

        return PolicyError
    if name in ("EnterpriseResult", "Outcome", "RuleResult"):
        from safetyrules.engine import results

        return getattr(results, name)
    raise AttributeError(name)
