"""The lowered rule program: what every engine runs (see `program.py` for its form, `lowering.py` for the pass)."""

from safetyrules.lower.lowering import lower
from safetyrules.lower.program import Deadline, Program, RuleIR

__all__ = ["Deadline", "Program", "RuleIR", "lower"]
