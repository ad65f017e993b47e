"""`python -m safetyrules.spark timeline …` (safetyrules.spark.cli)."""

from safetyrules.spark.cli import main

main()
