"""MCPToolset over streamable HTTP, against a real server on a loopback port (served in a thread
of this process; the slow test stops a server process)."""

from __future__ import annotations

import logging
import time

import pytest
from mcp_helpers import call, results_sent, start_http_server, stop

from agentloop import AsyncConversation, Conversation
from agentloop.mcp import MCPToolset
from agentloop.testing import Emulator, ScriptedModel


def test_http_tools_are_declared_and_called(http_url: str) -> None:
    model = ScriptedModel(
        [[call("web_add", "c1", a=20, b=22), call("web_refuse", "c2", reason="no")], "42"]
    )
    emu = Emulator(model=model)
    toolset = MCPToolset.http(http_url, prefix="web_", headers={"Authorization": "Bearer s3cret"})
    assert "s3cret" not in repr(toolset)
    with Conversation(emu.client(), tools=[toolset]) as conv:
        turn = conv.send("add")
        assert turn.output_text == "42"
        assert "web_describe" in conv.tools.names
        sent = results_sent(emu)
        assert sent["c1"]["result"] == {"result": 42}
        assert sent["c2"]["is_error"] is True and "refused: no" in sent["c2"]["result"]


async def test_http_with_the_async_driver(http_url: str) -> None:
    model = ScriptedModel([[call("add", "c1", a=1, b=2)], "three"])
    emu = Emulator(model=model)
    async with MCPToolset.http(http_url) as toolset:
        conv = AsyncConversation(emu.async_client(), tools=[toolset])
        turn = await conv.send("add")
        assert turn.tool_calls[0].result.result == {"result": 3}


def test_the_tool_list_is_refreshed_when_the_server_says_it_changed(http_url: str) -> None:
    # Last in the module: it adds a tool to the shared server.
    model = ScriptedModel([[call("grow", "c1")], "grown", [call("extra", "c2")], "used it"])
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[MCPToolset.http(http_url)]) as conv:
        conv.send("grow")
        deadline = time.monotonic() + 5
        while "extra" not in conv.tools.names and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "extra" in conv.tools.names
        turn = conv.send("use it")
        assert turn.output_text == "used it"
        assert results_sent(emu)["c2"]["result"] == {"result": "extra!"}
        declared = [t["name"] for t in emu.requests[-1].json["tools"]]
        assert "extra" in declared


@pytest.mark.slow
def test_a_stopped_http_server_gives_error_results_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="agentloop.mcp")
    proc, url = start_http_server()
    model = ScriptedModel([[call("add", "c1", a=1, b=1)], "two", [call("add", "c2", a=2, b=2)]])
    model.add("the tool is down", [call("add", "c3", a=3, b=3)], "still down")
    model.add([call("add", "c4", a=4, b=4)], "down again")
    emu = Emulator(model=model)
    try:
        with Conversation(emu.client(), tools=[MCPToolset.http(url, startup_timeout=3)]) as conv:
            assert conv.send("one").output_text == "two"
            stop(proc)
            turn = conv.send("two")
            assert turn.output_text == "the tool is down"
            result = results_sent(emu)["c2"]
            assert result["is_error"] is True
            assert "add" in result["result"]
            # the next call tries to reconnect, fails, and says so
            assert conv.send("three").output_text == "still down"
            third = results_sent(emu)["c3"]
            assert third["is_error"] is True and "failed to start" in third["result"]
            # a turn after that still runs on the last known tools
            assert conv.send("four").output_text == "down again"
            assert results_sent(emu)["c4"]["is_error"] is True
            assert "keeping the last tool list" in caplog.text
    finally:
        stop(proc)
