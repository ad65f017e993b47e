"""How long the slow fuzz variants run: `SAFETYRULES_FUZZ_EXAMPLES=N` (default 2,000 examples a test)."""

from __future__ import annotations

import os

LONG_EXAMPLES = int(os.environ.get("SAFETYRULES_FUZZ_EXAMPLES", "2000"))
