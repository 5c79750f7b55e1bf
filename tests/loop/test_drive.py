"""The public engine entry point and the one drive loop, as a driver of one's own uses them;
``stream()`` as a context manager; a client the conversation created is closed with it."""

from __future__ import annotations

from typing import Any

import pytest
from loop_helpers import call, get_weather, say

from agentloop import AsyncConversation, Conversation, Hooks
from agentloop.loop import TurnCompleted
from agentloop.loop.drive import drive
from agentloop.loop.effects import RunTools, SendRequest
from agentloop.loop.events import LoopEvent, TextDelta
from agentloop.loop.status import ConversationStatus
from agentloop.testing import Emulator, ScriptedModel


class RecordingWorld:
    """A world of one's own: requests go to a client, tools to the registry; it keeps a log
    of what it performed (as a DBOS workflow or a sub-agent driver would record steps)."""

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.log: list[str] = []

    def request(self, effect: SendRequest, box: list[Any]) -> Any:
        self.log.append("request")
        box.append(self.conv.client.interactions.create(**effect.body))
        yield from ()

    def perform(self, effect: Any) -> Any:
        self.log.append(type(effect).__name__)
        if isinstance(effect, RunTools):
            return self.conv.tools.run(effect.calls)
        hook = getattr(effect, "hook", None)
        if hook is not None:
            return hook(effect.event)
        raise AssertionError(f"unexpected {effect!r}")


def test_a_driver_of_ones_own_runs_a_turn_through_the_public_entry_point(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("get_weather", "c1", city="Oslo")], say("cold"))
    seen: list[str] = []
    hooks = Hooks(before_tool=lambda request: seen.append(request.name))
    conv = Conversation(emu.client(), tools=[get_weather], hooks=hooks)
    world = RecordingWorld(conv)
    events: list[LoopEvent] = list(drive(conv.engine().start("weather?"), world))
    turn = events[-1].turn  # type: ignore[attr-defined]
    assert isinstance(events[-1], TurnCompleted) and turn.output_text == "cold"
    assert world.log == ["request", "RunHook", "RunTools", "request"]
    assert seen == ["get_weather"]  # hooks run in every driver
    assert conv.status is ConversationStatus.IDLE
    assert [s.type for s in conv.history][-1] == "model_output"


def test_stream_as_a_context_manager_ends_the_turn_cleanly(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("a long answer"), say("next"))
    conv = Conversation(emu.client())
    with conv.stream("hi") as events:
        for event in events:
            if isinstance(event, TextDelta):
                break  # leave early: the turn must not hold the conversation
    assert conv.status is ConversationStatus.IDLE
    assert conv.send("again").output_text == "next"


async def test_async_stream_as_a_context_manager(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add(say("a long answer"), say("next"))
    conv = AsyncConversation(emu.async_client())
    async with conv.stream("hi") as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    assert conv.status is ConversationStatus.IDLE
    assert (await conv.send("again")).output_text == "next"


def test_a_client_the_conversation_created_is_closed_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    with Conversation() as conv:
        client = conv.client
    assert client._http.is_closed
    given = Emulator().client()
    with Conversation(given):
        pass
    assert not given._http.is_closed  # a client passed in belongs to the caller
