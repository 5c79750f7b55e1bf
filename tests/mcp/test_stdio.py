"""MCPToolset over stdio: the test server as a real subprocess. The toolset's logic is tested
in memory (test_toolset.py); here, what only a process shows."""

from __future__ import annotations

import os

import pytest
from mcp_helpers import call, results_sent, stdio_toolset

from agentloop import Conversation
from agentloop.testing import Emulator, ScriptedModel


def test_a_stdio_server_runs_in_its_own_process_and_answers_calls() -> None:
    model = ScriptedModel([[call("add", "c1", a=1, b=2), call("pid", "c2")], "ok"])
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[stdio_toolset(requires_approval={"pid"})]) as conv:
        turn = conv.send("go")
        assert turn.status == "awaiting_approval"
        assert [c.id for c in conv.pending_approvals] == ["c2"]
        conv.approve("c2")
        assert conv.resume().output_text == "ok"
    sent = results_sent(emu)
    assert sent["c1"]["result"] == {"result": 3}
    server_pid = sent["c2"]["result"]["result"]
    assert isinstance(server_pid, int) and server_pid != os.getpid()


@pytest.mark.slow
def test_closing_the_conversation_stops_the_server() -> None:
    toolset = stdio_toolset()
    model = ScriptedModel([[call("pid", "c1")], "ok"])
    with Conversation(Emulator(model=model).client(), tools=[toolset]) as conv:
        turn = conv.send("go")
        server_pid = turn.tool_calls[0].result.result["result"]
        os.kill(server_pid, 0)  # running
        assert repr(toolset).endswith(", started)")
    assert repr(toolset).endswith(", closed)")
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)
