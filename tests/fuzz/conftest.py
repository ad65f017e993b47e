"""The fuzzing harness: every reader of untrusted input, driven by hypothesis.

Any exception that is not a diagnostic or a documented refusal (a `SafetyRulesError`) is a failure. Each
target has a quick test that runs in CI and a `slow` variant with many more examples. The long run:

    SAFETYRULES_RUN_SLOW=1 .venv/bin/python -m pytest tests/fuzz -m slow

(`SAFETYRULES_FUZZ_EXAMPLES=N` sets the number of examples of the slow variants: see `budget.py`.)
"""
