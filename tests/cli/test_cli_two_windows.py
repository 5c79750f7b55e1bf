"""Two ``agentloop chat --session X`` windows (issue 20, fault 3): while window 1 runs a turn,
window 2 sees it running elsewhere and is refused in one line, naming the owner and the
lease's expiry; window 1's turn ends with its real tool result and nothing is lost.

Window 2 is a second ``agentloop chat`` process in the slow suite; in the default suite it is
the same command run in this process, by another writer of the store (a process costs ~0.6 s
of CPU to start)."""

from __future__ import annotations

import pytest
from cli_helpers import CLI

from agentloop.stores import open_store
from agentloop.testing import Emulator
from agentloop.testing.server import DEFAULT_SIGNING_KEY

# While window 1 runs its tool, window 2 (`agentloop chat` on the same session) tries to send a
# message; what it printed on stderr is saved for the test.
TOOLS = '''
import contextlib
import io
import os
import subprocess
import sys

from agentloop import tool
from agentloop.cli import main


def in_a_second_process() -> str:
    window2 = subprocess.run(
        [sys.executable, "-m", "agentloop", "chat", "--session", "shared"],
        input="hello from window 2\\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    return window2.stderr


def in_this_process() -> str:
    # Another writer (its own store connection and lease owner), with its own stdin and
    # output while it runs: window 1 waits for this tool meanwhile.
    stderr = io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO("hello from window 2\\n")
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            main(["chat", "--session", "shared"])
    finally:
        sys.stdin = stdin
    return stderr.getvalue()


@tool
def get_weather(city: str) -> dict:
    """Get the weather.

    Args:
        city: The city.
    """
    with open(os.path.join(os.environ["AGENTLOOP_HOME"], "window2.txt"), "w") as out:
        out.write(WINDOW2())
    return {"city": city, "temperature": 21}
'''


@pytest.mark.parametrize(
    "window2",
    [
        pytest.param("in_a_second_process", marks=pytest.mark.slow, id="two-processes"),
        pytest.param("in_this_process", id="one-process"),
    ],
)
def test_a_second_window_is_refused_while_a_turn_runs_and_nothing_is_lost(
    cli: CLI, window2: str
) -> None:
    (cli.home / "tools.py").write_text(TOOLS.replace("WINDOW2", window2))
    first = cli("chat", "--session", "shared", stdin="hi\n")
    assert first.returncode == 0, first.stderr
    result = cli(
        "chat",
        "--session",
        "shared",
        "--tools",
        "tools.py",
        stdin="What is the weather in Rome?\nand tomorrow?\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "another window" not in result.stderr
    window2 = (cli.home / "window2.txt").read_text()
    refused = [line for line in window2.splitlines() if "running a turn in another writer" in line]
    assert len(refused) == 1 and "lease expires at" in refused[0] and "pid " in refused[0]
    assert "Traceback" not in window2
    store = open_store(str(cli.home / "sessions.db"))
    conv = store.load("shared", client=Emulator(signing_key=DEFAULT_SIGNING_KEY).client())
    texts = [s.content[0].text for s in conv.history if s.type == "user_input" and s.content]
    assert texts == ["hi", "What is the weather in Rome?", "and tomorrow?"]
    results = [s for s in conv.history if s.type == "function_result"]
    assert len(results) == 1 and not results[0].is_error  # the real result, not "interrupted"
    assert not conv.needs_recovery and conv.running_elsewhere is None
    store.close()
