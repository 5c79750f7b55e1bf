"""Two ``agentloop chat --session X`` windows: a turn written by the other window is never
lost; the stale window gets one line, reloads the session and goes on."""

from __future__ import annotations

from cli_helpers import CLI

from agentloop.stores import open_store
from agentloop.testing import Emulator
from agentloop.testing.server import DEFAULT_SIGNING_KEY

# While window 1 runs its tool, "window 2" (another conversation on the same session in the
# same store) writes a whole turn.
TOOLS = '''
import os

from agentloop import tool


@tool
def get_weather(city: str) -> dict:
    """Get the weather.

    Args:
        city: The city.
    """
    from agentloop.stores import open_store
    from agentloop.testing import Emulator
    from agentloop.testing.server import DEFAULT_SIGNING_KEY

    # The other window runs offline too: the same emulator key signs and checks thoughts.
    emulator = Emulator(signing_key=DEFAULT_SIGNING_KEY)
    store = open_store(os.path.join(os.environ["AGENTLOOP_HOME"], "sessions.db"))
    other = store.load("shared", client=emulator.client())
    other.send("hello from window 2")
    store.close()
    return {"city": city, "temperature": 21}
'''


def test_a_second_window_gets_one_line_and_no_turn_is_lost(cli: CLI) -> None:
    (cli.home / "tools.py").write_text(TOOLS)
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
    lines = [line for line in result.stderr.splitlines() if "another window" in line]
    assert len(lines) == 1 and "reloaded it" in lines[0] and "send your message again" in lines[0]
    assert "Traceback" not in result.stderr
    store = open_store(str(cli.home / "sessions.db"))
    conv = store.load("shared", client=Emulator(signing_key=DEFAULT_SIGNING_KEY).client())
    texts = [s.content[0].text for s in conv.history if s.type == "user_input" and s.content]
    # Window 1's message was journaled before its model call; window 2, loading the session
    # mid-turn, answered window 1's open call as interrupted and added its own turn; window 1's
    # late tool result conflicted (nothing written), it reloaded and went on on top.
    assert texts == ["hi", "What is the weather in Rome?", "hello from window 2", "and tomorrow?"]
    results = [s for s in conv.history if s.type == "function_result"]
    assert len(results) == 1 and results[0].is_error
    assert "interrupted before a result was recorded" in str(results[0].result)
    store.close()
