"""MCPToolset's logic (listing, schemas, calls, results, errors, approvals, journaling, list
changes) against the real test server in this process, connected in memory
(``MCPToolset.memory``). The transports themselves: test_stdio.py and test_http.py."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from _lazy import lazy_module
from mcp_helpers import bodies, call, results_sent

from agentloop import AsyncConversation, Conversation, ToolRegistry, tool
from agentloop.errors import ConfigurationError, MCPServerError
from agentloop.mcp import MCPTool, MCPToolset, adapt_schema
from agentloop.testing import Emulator, ScriptedModel

# The test server, written with mcp (imported by the first test that builds one).
mcp_test_server = lazy_module("mcp_test_server")


def memory_toolset(**options: Any) -> MCPToolset:
    """A fresh test server in this process, connected in memory."""
    return MCPToolset.memory(mcp_test_server.build(), **options)


@pytest.fixture(scope="module")
def shared() -> Iterator[MCPToolset]:
    """This module's server: calls of ``pid`` need approval."""
    with memory_toolset(requires_approval={"pid"}) as toolset:
        yield toolset


def server_listing() -> list[Any]:
    """The test server's own tool listing."""
    listed: list[Any] = anyio.run(mcp_test_server.build().list_tools)
    return listed


def test_declarations_match_the_servers_tools(shared: MCPToolset) -> None:
    listed = server_listing()
    tools = shared.tools()
    assert [t.name for t in tools] == [t.name for t in listed]
    for ours, theirs in zip(tools, listed, strict=True):
        assert isinstance(ours, MCPTool) and ours.mcp_name == theirs.name
        decl = ours.declaration()
        assert decl == {
            "type": "function",
            "name": theirs.name,
            "description": theirs.description,
            "parameters": adapt_schema(theirs.input_schema),
        }
    describe = next(t for t in tools if t.name == "describe").parameters
    text = json.dumps(describe)
    assert "$ref" not in text and "$defs" not in text and "title" not in text
    assert describe["properties"]["point"]["properties"]["x"] == {"type": "integer"}
    assert describe["required"] == ["point"]
    assert shared.tools() is tools  # listed once, then cached


def test_a_call_result_reaches_the_model(shared: MCPToolset) -> None:
    model = ScriptedModel(
        [
            [call("add", "c1", a=2, b=3), call("describe", "c2", point={"x": 7}, tags=["t"])],
            "five",
        ]
    )
    emu = Emulator(model=model)
    conv = Conversation(emu.client(), tools=[shared])
    turn = conv.send("add 2 and 3")
    assert turn.output_text == "five"
    first = bodies(emu)[0]
    assert {t["name"] for t in first["tools"]} >= {"add", "describe", "refuse"}
    sent = results_sent(emu)
    assert sent["c1"]["result"] == {"result": 5} and not sent["c1"].get("is_error")
    assert sent["c2"]["result"] == {"point": {"x": 7, "y": 0}, "tags": ["t"], "mode": "fast"}


def test_error_results_and_raising_tools_come_back_as_is_error(shared: MCPToolset) -> None:
    model = ScriptedModel(
        [
            [
                call("refuse", "c1", reason="not today"),
                call("crash", "c2"),
                call("add", "c3", a="x"),  # the server rejects the arguments
            ],
            "sorry",
        ]
    )
    emu = Emulator(model=model)
    turn = Conversation(emu.client(), tools=[shared]).send("go")
    assert turn.output_text == "sorry"  # the loop went on
    sent = results_sent(emu)
    assert all(s["is_error"] is True for s in sent.values())
    assert "refused: not today" in sent["c1"]["result"]
    assert "crash" in sent["c2"]["result"]
    assert "validation error" in sent["c3"]["result"] and "b" in sent["c3"]["result"]


def test_an_image_result_becomes_a_content_list(shared: MCPToolset) -> None:
    model = ScriptedModel([[call("picture", "c1")], "a dot"])
    emu = Emulator(model=model)
    Conversation(emu.client(), tools=[shared]).send("draw")
    result = results_sent(emu)["c1"]["result"]
    assert result[0] == {"type": "text", "text": "a red dot"}
    assert result[1]["type"] == "image" and result[1]["mime_type"] == "image/png"
    assert base64.b64decode(result[1]["data"]).startswith(b"\x89PNG")


@tool
def local_echo(text: str) -> str:
    """Echo locally."""
    return text.upper()


async def test_async_driver_runs_parallel_calls_beside_local_tools(shared: MCPToolset) -> None:
    model = ScriptedModel(
        [
            [
                call("add", "c1", a=1, b=1),
                call("add", "c2", a=2, b=2),
                call("local_echo", "c3", text="hi"),
            ],
            "done",
        ]
    )
    emu = Emulator(model=model)
    conv = AsyncConversation(emu.async_client(), tools=[shared, local_echo])
    await shared.astart()  # starts (or finds started) without blocking this loop
    turn = await conv.send("go")
    assert turn.output_text == "done"
    sent = results_sent(emu)
    assert sent["c1"]["result"] == {"result": 2} and sent["c2"]["result"] == {"result": 4}
    assert sent["c3"]["result"] == "HI"


async def test_async_driver_on_a_fresh_loop_each_turn(shared: MCPToolset) -> None:
    # The toolset's connection lives on its own loop: a loop per turn does not break it.
    model = ScriptedModel([[call("add", "c1", a=1, b=2)], "three"])
    emu = Emulator(model=model)
    conv = AsyncConversation(emu.async_client(), tools=[shared])
    turn = await asyncio.get_running_loop().run_in_executor(
        None, lambda: asyncio.run(conv.send("go"))
    )
    assert turn.tool_calls[0].result.result == {"result": 3}


def test_registry_accepts_toolsets_beside_functions(shared: MCPToolset) -> None:
    registry = ToolRegistry([local_echo, shared])
    assert registry.names[0] == "local_echo" and "add" in registry.names
    assert registry.get("add") is next(t for t in shared.tools() if t.name == "add")
    copied = ToolRegistry([registry])
    assert copied.toolsets == [shared] and copied.names == registry.names


def test_prefix_include_and_exclude_choose_and_rename_tools() -> None:
    toolset = memory_toolset(prefix="t_", include={"add", "pid", "refuse"}, exclude={"refuse"})
    tools = toolset._build(server_listing())  # the listing step alone, no process
    assert [t.name for t in tools] == ["t_add", "t_pid"]
    assert [t.mcp_name for t in tools] == ["add", "pid"]
    assert tools[0].declaration()["name"] == "t_add"
    assert repr(toolset).endswith("not started)")


def test_include_naming_a_missing_tool_is_a_clear_error() -> None:
    toolset = memory_toolset(include={"add", "nope"})
    with pytest.raises(MCPServerError) as info:
        toolset._build(server_listing())
    assert "nope" in str(info.value) and "it has: add, describe" in str(info.value)


def test_approval_by_name_pauses_only_that_tool(shared: MCPToolset) -> None:
    model = ScriptedModel([[call("add", "c1", a=1, b=2), call("pid", "c2")], "ok"])
    emu = Emulator(model=model)
    conv = Conversation(emu.client(), tools=[shared])
    turn = conv.send("go")
    assert turn.status == "awaiting_approval"
    assert [c.id for c in conv.pending_approvals] == ["c2"]
    conv.approve("c2")
    turn = conv.resume()
    assert turn.output_text == "ok"
    sent = results_sent(emu)
    assert sent["c1"]["result"] == {"result": 3}
    assert sent["c2"]["result"]["result"] == os.getpid()  # the server runs in this process


def test_approval_policy_is_kept_on_every_tool() -> None:
    def policy(call: Any, ctx: Any) -> bool:
        return True

    toolset = memory_toolset(requires_approval=policy)
    assert all(t.requires_approval is policy for t in toolset._build(server_listing()))
    everything = memory_toolset(requires_approval=True)._build(server_listing())
    assert all(t.requires_approval is True for t in everything)


def test_mcp_calls_are_journaled_and_a_loaded_conversation_keeps_using_the_server(
    shared: MCPToolset, tmp_path: Path
) -> None:
    from agentloop.stores import open_store

    store = open_store(tmp_path / "conversations.db")
    model = ScriptedModel(
        [[call("add", "c1", a=1, b=2)], "three", [call("add", "c2", a=3, b=4)], "seven"]
    )
    emu = Emulator(model=model)
    conv = Conversation(emu.client(), tools=[shared], store=store, id="mcp-task")
    conv.send("1+2")
    assert store.read("mcp-task").meta["settings"]["tool_names"][:2] == ["add", "describe"]
    loaded = Conversation.from_store(store, "mcp-task", client=emu.client(), tools=[shared])
    assert loaded.history == conv.history
    turn = loaded.send("3+4")
    assert turn.tool_calls[0].result.result == {"result": 7}
    results = [s for s in loaded.history if getattr(s, "type", None) == "function_result"]
    assert [r.result for r in results] == [{"result": 3}, {"result": 7}]
    again = Conversation.from_store(store, "mcp-task", client=emu.client(), tools=[shared])
    assert again.history == loaded.history  # the second turn was journaled too
    store.close()


def test_memory_takes_only_a_server_object() -> None:
    with pytest.raises(ConfigurationError, match=r"MCPToolset.memory\(\) takes an MCP server"):
        MCPToolset.memory("python server.py")


def test_stdio_and_http_refuse_arguments_they_cannot_use() -> None:
    with pytest.raises(
        ConfigurationError, match=r"args is a list of arguments, e\.g\. \['s\.py'\]"
    ):
        MCPToolset.stdio("python", "s.py")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="the program to start"):
        MCPToolset.stdio(123)  # type: ignore[arg-type]
    with pytest.raises(
        ConfigurationError, match=r"MCPToolset.stdio\('agentloop', \['mcp', 'serve'\]\)"
    ):
        MCPToolset.stdio("agentloop mcp serve")  # a command line in one string
    with pytest.raises(ConfigurationError, match="http:// or https:// URL"):
        MCPToolset.http("not a url")


def test_a_memory_toolset_is_named_after_its_server_and_closes() -> None:
    model = ScriptedModel([[call("add", "c1", a=2, b=2)], "four"])
    toolset = memory_toolset()
    assert toolset.name == "test-server" and repr(toolset).endswith("not started)")
    with Conversation(Emulator(model=model).client(), tools=[toolset]) as conv:
        assert conv.send("go").tool_calls[0].result.result == {"result": 4}
        assert repr(toolset).endswith(", started)")
    assert repr(toolset).endswith(", closed)")


def test_a_server_announcing_new_tools_is_listed_again() -> None:
    model = ScriptedModel([[call("grow", "c1")], "grown", [call("extra", "c2")], "used it"])
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[memory_toolset()]) as conv:
        before = conv.tools.declarations()
        conv.send("grow")
        deadline = time.monotonic() + 5
        while "extra" not in conv.tools.names and time.monotonic() < deadline:
            time.sleep(0.01)
        after = conv.tools.declarations()
        assert [d["name"] for d in after] == [d["name"] for d in before] + ["extra"]
        assert after[0] is before[0]  # unchanged tools keep their declarations
        assert conv.send("use it").output_text == "used it"
        assert results_sent(emu)["c2"]["result"] == {"result": "extra!"}


def test_a_call_timeout_is_an_error_result() -> None:
    model = ScriptedModel([[call("sleep", "c1", seconds=1)], "too slow"])
    emu = Emulator(model=model)
    with Conversation(emu.client(), tools=[memory_toolset(timeout=0.05)]) as conv:
        assert conv.send("go").output_text == "too slow"
        result = results_sent(emu)["c1"]
        assert result["is_error"] is True and "timed out after 0.05 s" in result["result"]
