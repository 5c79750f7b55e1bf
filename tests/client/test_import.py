"""Importing the package (and the client) stays light."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("starlette", "uvicorn", "google.genai", "agentloop.testing")
# From the lightest to the heaviest, in one interpreter (each one starts in ~0.4 s of CPU):
# what a statement loads is printed after it, so a heavy module is blamed on the first
# statement that loads it, and none is loaded by any of them exactly when none is loaded here.
STATEMENTS = ["import agentloop", "import agentloop.client", "from agentloop import Client, errors"]


def test_import_does_not_load_heavy_modules() -> None:
    code = "import sys\n" + "".join(
        f"{statement}\nprint({statement!r}, [m for m in {HEAVY!r} if m in sys.modules])\n"
        for statement in STATEMENTS
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.splitlines()
    assert loaded == [f"{statement} []" for statement in STATEMENTS], loaded
