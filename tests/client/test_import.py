"""Importing the package, or any light part of it, loads only what that part needs."""

from __future__ import annotations

import subprocess
import sys

CLIENT_HEAVY = ("starlette", "uvicorn", "google.genai", "agentloop.testing")
# Each statement with the modules it must not load, from the lightest to the heaviest, run in
# one interpreter (each one starts in ~0.1-0.5 s of CPU). What a statement's forbidden modules
# are is printed after it: imports only add modules, so none of them is loaded by the statement
# on its own when none is loaded here by it and every statement before it, and a heavy module
# is blamed on the first statement that loads it.
LIGHT = [
    ("import agentloop", CLIENT_HEAVY),
    (  # the command line and the web app import their dependencies per command / request
        "import agentloop.cli, agentloop.web, agentloop.stores.sessions",
        (
            "uvicorn",
            "starlette",
            "httpx",
            "agentloop.testing",
            "agentloop.client",
            "pydantic",
            "ag_ui",
            "rich",
            "prompt_toolkit",
        ),
    ),
    ("import agentloop.stores", ("psycopg",)),  # PostgreSQL's driver only when opened
    ("import agentloop.client", CLIENT_HEAVY),
    ("from agentloop import Client, errors", CLIENT_HEAVY),
    (  # tracing loads only with an observer
        "import agentloop.observe, agentloop.loop.conversation",
        ("opentelemetry", "agentloop.loop._tracing"),
    ),
    (  # the pytest plugin: the emulator and its server only when a fixture is used
        "import agentloop.testing.pytest_plugin",
        ("starlette", "uvicorn", "agentloop.testing.emulator"),
    ),
    ("import agentloop.testing", ("starlette", "uvicorn")),
    ("import agentloop.testing.recordings", ("vcr",)),  # vcrpy only when recording
]


def test_import_does_not_load_heavy_modules() -> None:
    loaded = "[m for m in {!r} if any(k == m or k.startswith(m + '.') for k in sys.modules)]"
    code = "import sys\n" + "".join(
        f"{statement}\nprint({statement!r}, {loaded.format(heavy)})\n" for statement, heavy in LIGHT
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines == [f"{statement} []" for statement, _ in LIGHT], lines
