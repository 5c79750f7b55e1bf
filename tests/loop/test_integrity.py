"""History integrity: no fault, input or race corrupts, loses or duplicates a conversation's steps.

Each test is a regression test of a case that broke (issue #10), run through both drivers.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from loop_helpers import answered_once, bodies, call, encodes, get_weather, open_calls, say

from agentloop import ToolContext, tool
from agentloop.errors import (
    InputError,
    InvalidRequestError,
    MalformedResponseError,
    ServerError,
    TurnInProgressError,
)
from agentloop.testing import Emulator, ScriptedModel


def user_texts(body: dict[str, Any]) -> list[str]:
    return [
        c["text"]
        for s in body["input"]
        if s["type"] == "user_input"
        for c in s["content"]
        if c.get("type") == "text"
    ]


# 1. An unencodable value never corrupts history ------------------------------------------------


@tool
def list_dir() -> list[str]:
    """List a directory whose entries are not valid UTF-8."""
    return ["ok.txt", "bad-\udcff.txt"]  # what os.listdir gives for a non-UTF-8 name


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_unencodable_tool_result_keeps_history_sendable(
    drive: Any, scripted: ScriptedModel, emu: Emulator, strategy: str
) -> None:
    scripted.add([call("list_dir", "c1")], say("two files"), say("second answer"))
    conv = drive.conv(tools=[list_dir], strategy=strategy)
    turn = drive(conv.send("list it"))
    assert turn.status == "completed"
    assert encodes(conv.history) and answered_once(conv.history)
    assert [s.type for s in conv.history].count("function_result") == 1
    # The next request carries the new message (it used to go out with input: []).
    assert drive(conv.send("and now?")).output_text == "second answer"
    assert user_texts(bodies(emu)[-1])[-1] == "and now?"


def test_unencodable_user_input_is_refused_before_anything_changes(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    scripted.add(say("hi"))
    conv = drive.conv()
    drive(conv.send("hello"))
    before = conv.history
    with pytest.raises(InputError, match="Nothing was added"):
        drive(conv.send("bad \udcff input"))
    with pytest.raises(InputError):
        conv.stream("bad \udcff input")  # refused at once, before iteration
    assert conv.history == before
    assert len(bodies(emu)) == 1


# 3. One turn at a time ------------------------------------------------------------------------


def test_a_second_turn_from_another_thread_is_refused(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    from agentloop import Conversation

    entered, release = threading.Event(), threading.Event()

    @tool
    def slow() -> str:
        """Wait until released."""
        entered.set()
        release.wait(5)
        return "done"

    scripted.add([call("slow", "c1")], say("first"), say("second"))
    conv = Conversation(emu.client(), tools=[slow])
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(conv.send("a")))
    worker.start()
    assert entered.wait(5)
    assert conv.running
    before = conv.history
    with pytest.raises(TurnInProgressError, match="one turn at a time"):
        conv.send("b")
    with pytest.raises(TurnInProgressError):
        list(conv.stream("b"))
    assert conv.history == before  # the refused turn changed nothing
    release.set()
    worker.join(5)
    assert results[0].output_text == "first"
    assert conv.send("b").output_text == "second"
    assert answered_once(conv.history)


async def test_gathered_sends_on_one_conversation(emu: Emulator, scripted: ScriptedModel) -> None:
    from agentloop import AsyncConversation

    @tool
    async def pause() -> str:
        """Let other tasks run while the turn holds the conversation."""
        await asyncio.sleep(0.01)
        return "ok"

    scripted.add([call("pause", "c1")], say("first"), say("second"))
    async with emu.async_client() as client:
        conv = AsyncConversation(client, tools=[pause])
        outcomes = await asyncio.gather(conv.send("a"), conv.send("b"), return_exceptions=True)
        assert sum(isinstance(o, TurnInProgressError) for o in outcomes) == 1
        assert [o.output_text for o in outcomes if not isinstance(o, Exception)] == ["first"]
        assert (await conv.send("b")).output_text == "second"
        assert answered_once(conv.history) and encodes(conv.history)


# 4. Malformed responses ------------------------------------------------------------------------


def test_repeated_call_ids_run_nothing_and_do_not_brick(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    runs: list[str] = []

    @tool
    def touch(path: str) -> str:
        """Touch a file.

        Args:
            path: The file.
        """
        runs.append(path)
        return "ok"

    scripted.add(
        [call("touch", "dup", path="a"), call("touch", "dup", path="b")],
        say("recovered"),
    )
    conv = drive.conv(tools=[touch])
    with pytest.raises(MalformedResponseError, match="'dup'") as info:
        drive(conv.send("touch both"))
    assert runs == []
    assert info.value.turn is not None and info.value.turn.input
    assert conv.history == []  # nothing usable came back: the turn left no trace
    assert drive(conv.send("try again")).output_text == "recovered"
    assert "previous_interaction_id" not in bodies(emu)[-1]  # never chained onto the bad one
    assert answered_once(conv.history)


def test_a_call_id_that_repeats_history_is_refused(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    scripted.add(
        [call("get_weather", "c1", city="Oslo")],
        say("first"),
        [{"type": "thought"}, call("get_weather", "c1", city="Rome")],
        say("fine"),
    )
    conv = drive.conv(tools=[get_weather])
    drive(conv.send("Oslo?"))
    with pytest.raises(MalformedResponseError):
        drive(conv.send("Rome?"))
    assert drive(conv.send("Rome, again?")).output_text == "fine"
    assert answered_once(conv.history) and encodes(conv.history)


# 5. A snapshot ending in an unanswered call can be resumed ------------------------------------


def test_checkpoint_saved_inside_a_tool_can_be_loaded_and_continued(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    saved: list[dict[str, Any]] = []

    @tool
    def checkpoint(ctx: ToolContext) -> str:
        """Save the conversation, then the process 'crashes'."""
        saved.append(ctx.conversation.to_dict())
        return "saved"

    scripted.add([call("checkpoint", "c1")], say("unused"), say("after the crash"))
    conv = drive.conv(tools=[checkpoint])
    drive(conv.send("checkpoint please"))
    loaded = drive.cls().from_dict(saved[0], client=drive.client(), tools=[checkpoint])
    assert open_calls(loaded.history) == {"c1"}
    assert loaded.needs_recovery
    turn = drive(loaded.send("continue"))
    assert turn.output_text == "after the crash"
    result = next(s for s in loaded.history if s.type == "function_result")
    # saved while the call ran: it may have run, and history never says it did not
    assert result.is_error and str(result.result).startswith("Outcome unknown: this call started")
    assert answered_once(loaded.history) and not loaded.needs_recovery


@pytest.mark.parametrize(
    ("field", "edit"),
    [
        ("history[1].call_id", lambda s: s["state"]["history"].__setitem__(1, _orphan())),
        ("chain.covers", lambda s: s["state"]["chain"].__setitem__("covers", 99)),
        ("strategy", lambda s: s["state"].__setitem__("strategy", "sideways")),
        ("history[0]", lambda s: s["state"]["history"].__setitem__(0, {"type": 3})),
    ],
)
def test_inconsistent_snapshots_are_refused_naming_the_field(
    drive: Any, scripted: ScriptedModel, field: str, edit: Any
) -> None:
    scripted.add(say("hi"))
    conv = drive.conv()
    drive(conv.send("hello"))
    data = conv.to_dict()
    edit(data)
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        drive.cls().from_dict(data, client=drive.client())


def _orphan() -> dict[str, Any]:
    return {"type": "function_result", "call_id": "nope", "name": "x", "result": "r"}


# 13. A failed turn that received nothing leaves history as it was ------------------------------


@pytest.mark.parametrize("status", [400, 500])
def test_failed_turn_without_model_output_is_undone(
    drive: Any, scripted: ScriptedModel, emu: Emulator, status: int
) -> None:
    scripted.add(say("first"), say("second"))
    conv = drive.conv(drive.client(max_retries=0))
    drive(conv.send("one"))
    before, chain = conv.history, conv.last_interaction_id
    emu.faults.http_error(status, count=1)
    with pytest.raises((InvalidRequestError, ServerError)) as info:
        drive(conv.send("two"))
    turn = info.value.turn  # type: ignore[attr-defined]
    assert [s.content[0].text for s in turn.input] == ["two"]
    assert conv.history == before and conv.last_interaction_id == chain
    assert drive(conv.send("two")).output_text == "second"
    assert user_texts(bodies(emu)[-1]) == ["two"]  # the model sees the message once


def test_failed_turn_after_model_output_keeps_it_and_answers_calls(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    def call_then_fail(request: object) -> list[dict[str, object]]:
        emu.faults.http_error(500, count=1)  # hits the request that carries the result
        return [call("get_weather", "c1", city="Rome")]

    scripted.add(call_then_fail, say("done"))
    conv = drive.conv(drive.client(max_retries=0), tools=[get_weather])
    with pytest.raises(ServerError):
        drive(conv.send("weather?"))
    assert [s.type for s in conv.history] == ["user_input", "function_call", "function_result"]
    assert answered_once(conv.history)
    assert drive(conv.send("and?")).output_text == "done"
