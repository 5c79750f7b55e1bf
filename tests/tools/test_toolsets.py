"""The ``Toolset`` protocol: tools known only at run time, expanded by the registry."""

from __future__ import annotations

from typing import Any

import pytest

from agentloop import Conversation, Tool, ToolRegistry, tool
from agentloop.testing import Emulator, ScriptedModel
from agentloop.tools import ToolDefinitionError, Toolset


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


@tool
def shout(text: str) -> str:
    """Shout."""
    return text.upper()


class Counting:
    """A toolset that records how it is used."""

    def __init__(self, *tools: Tool[..., Any]) -> None:
        self.current: list[Tool[..., Any]] = list(tools)
        self.asked = 0
        self.closed = 0

    def tools(self) -> list[Tool[..., Any]]:
        self.asked += 1
        return self.current

    def close(self) -> None:
        self.closed += 1


def test_a_toolset_is_recognised_and_expanded_lazily() -> None:
    toolset = Counting(shout)
    assert isinstance(toolset, Toolset)
    registry = ToolRegistry([ping, toolset])
    assert toolset.asked == 0 and bool(registry)  # nothing asked at construction
    assert registry.names == ["ping", "shout"]
    assert registry.get("shout") is shout and "shout" in registry and len(registry) == 2
    assert [d["name"] for d in registry.declarations()] == ["ping", "shout"]


def test_declarations_follow_the_toolsets_changes() -> None:
    toolset = Counting(shout)
    registry = ToolRegistry([toolset])
    first = registry.declarations()
    assert registry.declarations() is first  # unchanged tools: cached
    toolset.current = [shout, ping]
    assert [d["name"] for d in registry.declarations()] == ["shout", "ping"]


def test_a_name_clash_with_a_toolset_is_reported() -> None:
    registry = ToolRegistry([ping, Counting(ping.__class__(ping.function, name="ping"))])
    with pytest.raises(ToolDefinitionError, match="prefix"):
        registry.names  # noqa: B018


def test_closing_the_registry_or_conversation_closes_toolsets() -> None:
    toolset = Counting(shout)
    ToolRegistry([toolset]).close()
    assert toolset.closed == 1
    with Conversation(Emulator().client(), tools=[toolset]) as conv:
        assert conv.tools.toolsets == [toolset]
    assert toolset.closed == 2


def test_a_conversation_calls_toolset_tools() -> None:
    call = {"type": "function_call", "id": "c1", "name": "shout", "arguments": {"text": "hi"}}
    emu = Emulator(model=ScriptedModel([[call], "done"]))
    conv = Conversation(emu.client(), tools=[Counting(shout)])
    turn = conv.send("go")
    assert turn.tool_calls[0].result.result == "HI"


def test_approval_rules_of_toolset_tools_are_asked() -> None:
    @tool(requires_approval=lambda call, ctx: call.arguments.get("text") == "rm")
    def guarded(text: str) -> str:
        """Guarded."""
        return text

    registry = ToolRegistry([Counting(guarded)])
    ask = {"type": "function_call", "id": "c1", "name": "guarded", "arguments": {"text": "rm"}}
    ok = {**ask, "arguments": {"text": "ls"}}
    from agentloop.types import FunctionCallStep

    assert registry.needs_approval(FunctionCallStep.model_validate(ask)) is True
    assert registry.needs_approval(FunctionCallStep.model_validate(ok)) is False
