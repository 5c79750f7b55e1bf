"""Servers that fail to start, die, or are killed: clear errors, restarts, the loop goes on."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from mcp_helpers import call, results_sent, stdio_toolset

from agentloop import AsyncConversation, Conversation
from agentloop.errors import AgentloopError, MCPServerError
from agentloop.mcp import MCPToolset
from agentloop.testing import Emulator, ScriptedModel


def test_a_missing_command_fails_the_first_turn_with_a_clear_error() -> None:
    toolset = MCPToolset.stdio("agentloop-no-such-mcp-server", ["--flag"])
    emu = Emulator(model=ScriptedModel(["never asked"]))
    conv = Conversation(emu.client(), tools=[toolset])
    with pytest.raises(MCPServerError) as info:
        conv.send("hello")
    assert isinstance(info.value, AgentloopError)
    message = str(info.value)
    assert "agentloop-no-such-mcp-server" in message and "failed to start" in message
    assert "give its full path" in message
    assert "not found" in message
    assert info.value.server == "agentloop-no-such-mcp-server --flag"
    assert emu.requests == [] and conv.history == []  # nothing was sent, nothing recorded
    conv.close()


def test_a_server_that_exits_at_once_shows_its_stderr() -> None:
    script = "import sys; sys.stderr.write('config file missing: /etc/x.toml\\n'); sys.exit(2)"
    toolset = MCPToolset.stdio(sys.executable, ["-c", script], name="broken")
    with toolset, pytest.raises(MCPServerError) as info:
        toolset.tools()
    message = str(info.value)
    assert "MCP server 'broken' failed to start" in message
    assert "config file missing: /etc/x.toml" in message


async def test_a_server_that_never_answers_times_out_instead_of_hanging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Reads stdin until it closes, never writes: a server stuck before the handshake.
    script = "import sys; sys.stdin.read()"
    toolset = MCPToolset.stdio(sys.executable, ["-c", script], startup_timeout=0.5)
    conv = AsyncConversation(
        Emulator(model=ScriptedModel(["never asked"])).async_client(), tools=[toolset]
    )
    # the startup timeout fired (not the backstop, which says "did not answer")
    with pytest.raises(MCPServerError, match=r"did not start within 0\.5 s"):
        await conv.send("hello")
    await conv.aclose()
    import gc

    gc.collect()  # a failed future nobody read is reported when it is collected
    assert "never retrieved" not in caplog.text


@pytest.mark.slow
def test_a_killed_server_is_restarted_for_the_next_call() -> None:
    model = ScriptedModel([[call("pid", "c1")], "one", [call("pid", "c2")], "two"])
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[stdio_toolset()]) as conv:
        first = conv.send("pid?").tool_calls[0].result.result["result"]
        os.kill(first, signal.SIGKILL)
        time.sleep(0.2)  # let the connection see the end of the process
        turn = conv.send("pid again?")
        assert turn.output_text == "two"
        second = results_sent(emu)["c2"]
        assert not second.get("is_error")
        assert second["result"]["result"] != first


@pytest.mark.slow
def test_a_server_dying_during_a_call_is_an_error_result_and_the_loop_goes_on() -> None:
    model = ScriptedModel([[call("die", "c1"), call("add", "c2", a=1, b=1)], "recovered"])
    model.add([call("add", "c3", a=2, b=2)], "four")
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[stdio_toolset()]) as conv:
        turn = conv.send("go")
        assert turn.output_text == "recovered"
        died = results_sent(emu)["c1"]
        assert died["is_error"] is True
        assert "stopped (or the connection to it was lost) while running 'die'" in died["result"]
        assert "may or may not have taken effect" in died["result"]
        turn = conv.send("again")  # the next call restarts the server
        assert results_sent(emu)["c3"]["result"] == {"result": 4}
        assert turn.output_text == "four"


@pytest.mark.slow
def test_idempotent_tools_are_retried_once_on_a_restarted_server() -> None:
    model = ScriptedModel([[call("die", "c1")], "gave up"])
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[stdio_toolset(idempotent=True)]) as conv:
        turn = conv.send("go")
        assert turn.output_text == "gave up"
        result = results_sent(emu)["c1"]
        assert result["is_error"] is True
        assert "stopped again (or the connection" in result["result"]  # retried exactly once
        assert all(t.idempotent for t in conv.tools)


@pytest.mark.slow
def test_a_call_timeout_is_an_error_result() -> None:
    model = ScriptedModel([[call("sleep", "c1", seconds=2)], "too slow"])
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[stdio_toolset(timeout=0.5)]) as conv:
        turn = conv.send("go")
        assert turn.output_text == "too slow"
        result = results_sent(emu)["c1"]
        assert result["is_error"] is True and "timed out after 0.5 s" in result["result"]


@pytest.mark.slow
def test_a_stdio_server_announcing_new_tools_is_listed_again() -> None:
    model = ScriptedModel([[call("grow", "c1")], "grown"])
    with Conversation(Emulator(model=model).client(), tools=[stdio_toolset()]) as conv:
        before = conv.tools.declarations()
        conv.send("grow")
        deadline = time.monotonic() + 5
        while "extra" not in conv.tools.names and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "extra" in conv.tools.names
        after = conv.tools.declarations()
        assert [d["name"] for d in after] == [d["name"] for d in before] + ["extra"]
        assert after[0] is before[0]  # unchanged tools keep their declarations
