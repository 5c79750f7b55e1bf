"""Importing the package (and the client) stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("starlette", "uvicorn", "google.genai", "agentloop.testing")


@pytest.mark.parametrize(
    "statement",
    ["import agentloop", "import agentloop.client", "from agentloop import Client, errors"],
)
def test_import_does_not_load_heavy_modules(statement: str) -> None:
    code = f"import sys; {statement}; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
