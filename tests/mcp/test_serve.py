"""``agentloop mcp serve --tools tools.py``: agentloop tools served to a real MCP client."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_helpers import call, results_sent

from agentloop import Conversation
from agentloop.cli._tools import load_tools
from agentloop.mcp import MCPToolset, mcp_server
from agentloop.testing import Emulator, ScriptedModel

REPO = str(Path(__file__).resolve().parents[2])

TOOLS = '''
from agentloop import ToolError, tool

print("printed at import: must not reach the protocol on stdout")


@tool
def shout(text: str, times: int = 1) -> str:
    """Shout a text.

    Args:
        text: What to shout.
        times: How many times.
    """
    print("printed by a tool: goes to stderr, never into the protocol")
    return " ".join([text.upper()] * times)


@tool
def lookup(key: str) -> dict:
    """Look a key up."""
    if key == "missing":
        raise ToolError("no such key; try 'a'")
    return {"key": key, "value": 1}


@tool
def bail() -> str:
    """Exits (a careless helper): its call fails, the server goes on."""
    raise SystemExit(3)


@tool(requires_approval=True)
def delete_everything() -> str:
    """Dangerous: needs approval."""
    return "deleted"
'''


@pytest.fixture(scope="module")
def tools_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("served") / "served_tools.py"
    path.write_text(TOOLS)
    return str(path)


def serve_args(tools_file: str) -> list[str]:
    return ["-m", "agentloop", "mcp", "serve", "--tools", tools_file, "--name", "served"]


def env() -> dict[str, str]:
    return {"PYTHONPATH": REPO}  # this checkout of agentloop, not an installed one


def check_a_client_session(target: Any, tools_file: str) -> None:
    """A raw MCP SDK client on ``target`` lists and calls the served tools."""
    from mcp import Client

    declared = {t.name: t for t in load_tools([tools_file])}

    async def session() -> dict[str, Any]:
        async with Client(target) as client:
            listed = await client.list_tools()
            return {
                "server": client.server_info.name if client.server_info else None,
                "tools": listed.tools,
                "shout": await client.call_tool("shout", {"text": "hi", "times": 2}),
                "lookup": await client.call_tool("lookup", {"key": "a"}),
                "missing": await client.call_tool("lookup", {"key": "missing"}),
                "invalid": await client.call_tool("shout", {"times": "many"}),
                "approval": await client.call_tool("delete_everything", {}),
                "bail": await client.call_tool("bail", {}),
                "after": await client.call_tool("shout", {"text": "still"}),
            }

    got = anyio.run(session)
    assert got["server"] == "served"
    # declarations from the @tool schemas; the tool that needs approval is not served
    assert [t.name for t in got["tools"]] == ["shout", "lookup", "bail"]
    for listed in got["tools"]:
        assert listed.input_schema == declared[listed.name].parameters
        assert listed.description == declared[listed.name].description
    shout = got["shout"]
    assert not shout.is_error and [c.text for c in shout.content] == ["HI HI"]
    assert got["lookup"].structured_content == {"key": "a", "value": 1}
    assert got["missing"].is_error and got["missing"].content[0].text == "no such key; try 'a'"
    invalid = got["invalid"]
    assert invalid.is_error and "Invalid arguments for tool 'shout'" in invalid.content[0].text
    assert "text: Field required" in invalid.content[0].text
    assert got["approval"].is_error and "Unknown tool 'delete_everything'" in (
        got["approval"].content[0].text
    )
    assert got["bail"].is_error and "sys.exit()" in got["bail"].content[0].text
    assert [c.text for c in got["after"].content] == ["STILL"]


def test_served_tools_in_memory(tools_file: str) -> None:
    """What ``agentloop mcp serve`` serves (``mcp_server``), to a client in this process."""
    check_a_client_session(mcp_server(load_tools([tools_file]), name="served"), tools_file)


def test_served_tools_round_trip_through_a_memory_toolset(tools_file: str) -> None:
    model = ScriptedModel(
        [[call("shout", "c1", text="ok"), call("lookup", "c2", key="missing")], "done"]
    )
    emu = Emulator(model=model)
    toolset = MCPToolset.memory(mcp_server(load_tools([tools_file]), name="served"))
    assert toolset.name == "served"
    with Conversation(emu.client(), tools=[toolset]) as conv:
        assert conv.send("go").output_text == "done"
    sent = results_sent(emu)
    assert sent["c1"]["result"] == "OK" and not sent["c1"].get("is_error")
    assert sent["c2"]["is_error"] is True and sent["c2"]["result"] == "no such key; try 'a'"


@pytest.mark.slow
def test_an_mcp_client_session_lists_and_calls_served_tools(
    tools_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``agentloop mcp serve`` as a real process on stdio (in memory above)."""
    from mcp import StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=serve_args(tools_file), env=env())
    check_a_client_session(params, tools_file)
    # nothing a tool printed (at import or during a call) reached the protocol
    assert "Failed to parse" not in caplog.text


@pytest.mark.slow
def test_served_tools_round_trip_through_an_mcp_toolset(tools_file: str) -> None:
    model = ScriptedModel(
        [[call("shout", "c1", text="ok"), call("lookup", "c2", key="missing")], "done"]
    )
    emu = Emulator(model=model)
    toolset = MCPToolset.stdio(sys.executable, serve_args(tools_file), env=env())
    with Conversation(emu.client(), tools=[toolset]) as conv:
        assert conv.send("go").output_text == "done"
    sent = results_sent(emu)
    assert sent["c1"]["result"] == "OK" and not sent["c1"].get("is_error")
    assert sent["c2"]["is_error"] is True and sent["c2"]["result"] == "no such key; try 'a'"


def test_serve_cli_without_a_tools_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agentloop.cli import main

    assert main(["mcp"]) == 2
    assert "agentloop mcp serve --tools" in capsys.readouterr().err
    assert main(["mcp", "serve"]) == 2
    assert "--tools" in capsys.readouterr().err
    assert main(["mcp", "serve", "--tools", os.path.join(REPO, "no_such_file.py")]) == 2
    assert "no such file" in capsys.readouterr().err
