from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# Checked without importing pydantic-evals: each xdist worker collects every test module, and
# only the worker that runs these tests needs it.
if importlib.util.find_spec("pydantic_evals") is None:  # pragma: no cover - dev install has it
    collect_ignore_glob = ["test_*.py"]

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
