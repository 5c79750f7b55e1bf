"""The ``Agent`` definition: conversations built from it, one-shot runs, reload from a store."""

from __future__ import annotations

import pytest

from agentloop import Agent, AsyncConversation, Conversation, tool
from agentloop.errors import ConfigurationError
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator


@tool
def get_weather(city: str) -> dict[str, object]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 22}


weather = Agent("weather", instructions="Be brief.", tools=[get_weather], description="Weather")


def test_agent_is_frozen_and_checked() -> None:
    with pytest.raises(AttributeError):
        weather.name = "other"  # type: ignore[misc]
    with pytest.raises(ConfigurationError, match="name"):
        Agent("")
    with pytest.raises(ConfigurationError, match="output_retries"):
        Agent("a", output_retries=-1)


def test_conversation_carries_the_definition() -> None:
    emu = Emulator()
    conv = weather.conversation(emu.client())
    assert isinstance(conv, Conversation)
    turn = conv.send("What is the weather in London?")
    assert [c.name for c in turn.tool_calls] == ["get_weather"]
    assert emu.requests[-1].json["system_instruction"] == "Be brief."


def test_run_is_one_task_in_a_fresh_conversation() -> None:
    emu = Emulator()
    first = weather.run("What is the weather in Paris?", client=emu.client())
    second = weather.run("What is the weather in Rome?", client=emu.client())
    assert "Paris" in first.output_text and "Rome" in second.output_text
    assert "previous_interaction_id" not in emu.requests[-2].json


def test_conversation_reloads_from_a_store() -> None:
    emu = Emulator()
    store = SQLiteStore(":memory:")
    weather.conversation(emu.client(), store=store, id="s1").send("hello")
    again = weather.conversation(emu.client(), store=store, id="s1")
    assert again.history[0].type == "user_input" and len(again.history) >= 2


async def test_async_run_and_stream() -> None:
    emu = Emulator()
    conv = weather.aconversation(emu.async_client())
    assert isinstance(conv, AsyncConversation)
    turn = await weather.arun("What is the weather in Oslo?", client=emu.async_client())
    assert "Oslo" in turn.output_text
    events = [type(e).__name__ async for e in weather.astream("hi", client=emu.async_client())]
    assert events[-1] == "TurnCompleted"


def test_an_agent_named_in_words_is_a_tool_of_a_tool_name() -> None:
    from agentloop import Agent

    assert Agent("my agent", instructions="x").as_tool().name == "my_agent"
    assert Agent("3 wise men", instructions="x").as_tool().name == "_3_wise_men"
