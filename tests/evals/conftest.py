from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pydantic_evals", reason="agentloop[evals] is not installed")

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
