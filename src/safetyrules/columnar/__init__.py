"""The columnar engine: the reference semantics over a whole population at once, with polars.

    from safetyrules import load_policy
    from safetyrules.columnar import FactTables, compile_policy
    program = compile_policy(load_policy().program, ParamTable(...))
    results = program.run(FactTables.from_records(records), as_of)   # long format, one row per (enterprise, rule)
"""

from safetyrules.columnar.compile import compile_policy, evaluate_population
from safetyrules.columnar.kernel import RESULT_COLUMNS, ColumnarProgram
from safetyrules.columnar.tables import FactTables

__all__ = ["RESULT_COLUMNS", "ColumnarProgram", "FactTables", "compile_policy", "evaluate_population"]
