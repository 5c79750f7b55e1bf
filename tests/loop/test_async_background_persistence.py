"""AsyncConversation, structured output, background turns, persistence and secrets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from loop_helpers import bodies, call, delete_file, get_time, get_weather, open_calls, say
from pydantic import BaseModel, Field

from agentloop import AsyncConversation, Conversation
from agentloop.errors import (
    APITimeoutError,
    MaxStepsExceeded,
    OutputValidationError,
    StateError,
    TurnInProgressError,
)
from agentloop.loop import TurnCompleted, from_bytes, from_uri
from agentloop.stores import SQLiteStore
from agentloop.testing import DemoModel, Emulator, ScriptedModel


class Recipe(BaseModel):
    recipe_name: str = Field(description="Name of the recipe.")
    ingredients: list[str] = Field(description="List of ingredients.")
    prep_time_minutes: int | None = Field(default=None, description="Prep time in minutes.")


# --- async driver ----------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
async def test_async_tool_loop(emu: Emulator, scripted: ScriptedModel, strategy: str) -> None:
    scripted.add(
        [call("get_weather", "c1", city="Lima"), call("get_time", "c2", city="Lima")],
        say("Sunny, noon."),
        say("bye"),
    )
    async with emu.async_client() as client:
        conv = AsyncConversation(client, tools=[get_weather, get_time], strategy=strategy)
        turn = await conv.send("weather and time in Lima")
        assert turn.output_text == "Sunny, noon."
        assert [c.result.result for c in turn.tool_calls] == [
            {"city": "Lima", "temperature": 22, "unit": "celsius"},
            "12:00 in Lima",
        ]
        assert (await conv.send("thanks")).output_text == "bye"
    assert len(bodies(emu)) == 3


async def test_async_stream_and_limits(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add([call("get_weather", "c1", city="X")], say("streamed answer"))
    async with emu.async_client() as client:
        conv = AsyncConversation(client, tools=[get_weather])
        events = [event async for event in conv.stream("go")]
        assert events[-1].type == "turn_completed"
        text = "".join(e.text for e in events if e.type == "text_delta")
        assert text == "streamed answer"

        scripted.add([call("get_weather", "c2", city="Y")], say("unused"))
        conv.max_steps = 1
        with pytest.raises(MaxStepsExceeded):
            await conv.send("again")
        assert open_calls(conv.history) == set()


async def test_async_approval(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add([call("delete_file", "c1", path="/a")], say("ok"))
    async with emu.async_client() as client:
        conv = AsyncConversation(client, tools=[delete_file])
        turn = await conv.send("delete /a")
        assert turn.status == "awaiting_approval"
        conv.approve("c1")
        assert (await conv.resume()).output_text == "ok"


async def test_many_async_conversations_share_one_client() -> None:
    emu = Emulator(model=DemoModel())
    async with emu.async_client() as client:
        convs = [AsyncConversation(client) for _ in range(20)]
        turns = await asyncio.gather(*(c.send(f"hello {i}") for i, c in enumerate(convs)))
    assert all(t.status == "completed" and "emulator" in t.output_text for t in turns)


# --- structured output -------------------------------------------------------------------------


def test_structured_output_with_demo_model() -> None:
    emu = Emulator(model=DemoModel())
    conv = Conversation(emu.client())
    turn = conv.send("Give me a recipe for banana bread", response_model=Recipe)
    assert isinstance(turn.output, Recipe)
    assert turn.output.recipe_name and turn.output.ingredients
    fmt = bodies(emu)[0]["response_format"]
    assert fmt["type"] == "text" and fmt["mime_type"] == "application/json"
    assert fmt["schema"]["required"] == ["recipe_name", "ingredients"]
    # Plain turns afterwards get plain text again.
    assert isinstance(conv.send("thanks").output, str)
    assert "response_format" not in bodies(emu)[1]


def test_structured_output_mismatch_is_a_clear_error(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say('{"recipe_name": 3}'), say("fine"))
    conv = Conversation(emu.client())
    with pytest.raises(OutputValidationError, match="response model") as info:
        conv.send("recipe?", response_model=Recipe, output_retries=0)
    assert info.value.turn is not None and info.value.turn.output_text == '{"recipe_name": 3}'
    assert conv.send("ok").output_text == "fine"


# --- background --------------------------------------------------------------------------------


def test_background_turn_wait_and_poll() -> None:
    emu = Emulator(model=ScriptedModel([say("long analysis")]), background_polls=2)
    sleeps: list[float] = []
    conv = Conversation(emu.client(sleep=sleeps.append))
    handle = conv.send("analyse", background=True)
    assert handle.status == "in_progress" and not handle.done
    assert bodies(emu)[0]["background"] is True
    with pytest.raises(RuntimeError, match="still running"):
        handle.result()
    turn = handle.wait()
    assert turn.output_text == "long analysis" and handle.done
    assert conv.history[-1].type == "model_output"


def test_background_turn_with_tools_continues_in_foreground() -> None:
    emu = Emulator(
        model=ScriptedModel([[call("get_weather", "c1", city="Bern")], say("Bern is mild.")])
    )
    conv = Conversation(emu.client(sleep=lambda s: None), tools=[get_weather])
    handle = conv.send("weather in Bern", background=True)
    while handle.poll() in ("in_progress", "queued"):
        pass
    turn = handle.result()
    assert turn.output_text == "Bern is mild." and turn.tool_calls[0].name == "get_weather"


def test_a_background_turn_that_failed_is_done_and_says_so_again() -> None:
    from agentloop import UsageLimits
    from agentloop.errors import UsageLimitExceeded

    emu = Emulator(
        model=ScriptedModel([[call("get_weather", "c1", city="Bern")], say("Bern is mild.")])
    )
    conv = Conversation(emu.client(sleep=lambda s: None), tools=[get_weather])
    handle = conv.send("weather", background=True, limits=UsageLimits(max_requests=1))
    with pytest.raises(UsageLimitExceeded):
        handle.wait()
    assert handle.done and handle.status == "usage_limit"
    for again in (handle.wait, handle.result):
        with pytest.raises(UsageLimitExceeded):
            again()
    assert handle.poll() == "usage_limit"


def test_waiting_polls_once_more_at_the_deadline() -> None:
    """A run that ends just before the deadline is seen: the last wait is what is left."""
    from agentloop.client._core import WaitPlan
    from agentloop.types import Interaction

    plan = WaitPlan("v1_x", poll_interval=1.0, max_interval=10.0, timeout=0.5)
    running = Interaction.model_validate({"id": "v1_x", "status": "in_progress"})
    assert 0.4 < plan.next_delay(running) <= 0.5  # not an error before having waited at all
    with pytest.raises(APITimeoutError):
        plan.next_delay(running)


def test_background_cancel(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add(say("never"), say("after cancel"))
    conv = Conversation(emu.client())
    handle = conv.send("slow task", background=True)
    turn = handle.cancel()
    assert turn.status == "cancelled"
    assert conv.send("hello").output_text == "never"  # the queue moved on; history is usable


def test_background_needs_stateful(emu: Emulator) -> None:
    conv = Conversation(emu.client(), strategy="stateless")
    with pytest.raises(ValueError, match="stateful"):
        conv.send("x", background=True)


# --- persistence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_save_and_load_resume_the_conversation(
    emu: Emulator, scripted: ScriptedModel, tmp_path: Path, strategy: str
) -> None:
    scripted.add([call("get_weather", "c1", city="Quito")], say("warm"), say("still warm"))
    client = emu.client()
    conv = Conversation(client, tools=[get_weather], strategy=strategy, system_instruction="hi")
    conv.send("weather in Quito")
    path = tmp_path / "c.json"
    conv.save(path)
    loaded = Conversation.load(path, client=client, tools=[get_weather])
    assert loaded.id == conv.id and loaded.strategy == strategy
    assert [s.model_dump() for s in loaded.history] == [s.model_dump() for s in conv.history]
    assert loaded.last_interaction_id == conv.last_interaction_id
    assert loaded.send("and now?").output_text == "still warm"
    last = bodies(emu)[-1]
    if strategy == "stateful":
        assert last["previous_interaction_id"] == conv.last_interaction_id
    else:
        assert len(last["input"]) == 6


def test_saved_file_never_holds_the_api_key(tmp_path: Path) -> None:
    canary = "AIzaCANARY-do-not-leak-123"
    emu = Emulator(model=ScriptedModel([say("hi")]), api_keys={canary})
    conv = Conversation(emu.client(api_key=canary))
    conv.send("hello")
    conv.save(tmp_path / "c.json")
    store = SQLiteStore(tmp_path / "s.db")
    store.save(conv)
    store.close()
    assert canary not in (tmp_path / "c.json").read_text()
    assert canary.encode() not in (tmp_path / "s.db").read_bytes()
    assert canary not in repr(conv)


def test_sqlite_store_keeps_many_conversations(
    emu: Emulator, scripted: ScriptedModel, tmp_path: Path
) -> None:
    scripted.add(say("a1"), say("b1"), say("a2"))
    client = emu.client()
    with SQLiteStore(tmp_path / "convs.db") as store:
        a = Conversation(client, id="alpha")
        b = Conversation(client, id="beta", strategy="stateless")
        a.send("hi from a")
        b.send("hi from b")
        store.save(a)
        store.save(b)
        assert set(store.ids()) == {"alpha", "beta"} and "alpha" in store
        again = store.load("alpha", client=client)
        assert again.send("more").output_text == "a2"
        store.save(again)
        assert len(store.load("alpha", client=client).history) == 6  # 2 turns x 3 steps
        store.delete("beta")
        assert store.ids() == ["alpha"]
        with pytest.raises(KeyError, match="no conversation 'beta'"):
            store.load("beta", client=client)


def test_loading_garbage_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Conversation.load(bad, client=Emulator().client())
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a conversation saved by agentloop"):
        Conversation.load(bad, client=Emulator().client())


def test_save_is_atomic_and_keeps_the_old_file_on_failure(
    emu: Emulator, scripted: ScriptedModel, tmp_path: Path
) -> None:
    scripted.add(say("x"))
    conv = Conversation(emu.client())
    conv.send("one")
    path = tmp_path / "c.json"
    conv.save(path)
    before = path.read_text()
    conv.extra_body["unserialisable"] = object()
    with pytest.raises(TypeError):
        conv.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


# --- inputs ------------------------------------------------------------------------------------


def test_multimodal_inputs(emu: Emulator, scripted: ScriptedModel, tmp_path: Path) -> None:
    scripted.add(say("a cat"))
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    conv = Conversation(emu.client())
    from agentloop.loop import from_file

    turn = conv.send(
        [
            {"type": "text", "text": "What is this?"},
            from_file(image),
            from_uri("https://example.com/a.mp3"),
            from_bytes(b"%PDF-1.4", "application/pdf"),
        ]
    )
    assert turn.output_text == "a cat"
    content = bodies(emu)[0]["input"][0]["content"]
    assert [c["type"] for c in content] == ["text", "image", "audio", "document"]
    assert content[1]["mime_type"] == "image/png" and content[2]["uri"].endswith("a.mp3")
    with pytest.raises(ValueError, match="mime_type"):
        from_uri("https://example.com/blob")


def test_turn_events_end_with_turn_completed_and_turn_fields(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("hello"))
    conv = Conversation(emu.client())
    *_, last = conv.stream("hi")
    assert isinstance(last, TurnCompleted)
    turn = last.turn
    assert [s.type for s in turn.steps] == ["user_input", "thought", "model_output"]
    assert turn.input[0].type == "user_input" and turn.output == "hello"
    assert "Turn(status='completed'" in repr(turn)


def test_no_new_turn_while_a_background_turn_runs(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add(say("slow result"), say("next"))
    conv = Conversation(emu.client(sleep=lambda s: None))
    handle = conv.send("slow", background=True)
    with pytest.raises(RuntimeError, match="still running"):
        conv.send("in between")
    assert handle.wait().output_text == "slow result"
    assert conv.send("after").output_text == "next"
    assert [s.type for s in conv.history].count("user_input") == 2  # nothing half-recorded


async def test_task_cancellation_closes_open_calls(emu: Emulator, scripted: ScriptedModel) -> None:
    started = asyncio.Event()

    from agentloop import tool

    @tool
    async def slow(x: int) -> int:
        """Never finishes in time.

        Args:
            x: anything.
        """
        started.set()
        await asyncio.sleep(3600)
        return x

    scripted.add([call("slow", "c1", x=1)], say("after"))
    async with emu.async_client() as client:
        conv = AsyncConversation(client, tools=[slow])
        conv.interrupt_grace = 0.05  # the call outlives its grace period: it is in doubt
        task = asyncio.create_task(conv.send("go"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert conv.in_doubt == ["c1"]  # it started: never recorded as "not run"
        assert (await conv.send("again")).output_text == "after"
        closing = next(s for s in conv.history if s.type == "function_result")
        assert closing.is_error and closing.result.startswith("Outcome unknown")


# --- background turns through both drivers ---------------------------------------------------


def _no_sleep(drive: Any) -> dict[str, Any]:
    async def nap(seconds: float) -> None:
        return None

    return {"sleep": nap if drive.is_async else (lambda s: None)}


def test_background_wait_poll_and_refusal_in_both_drivers(drive: Any) -> None:
    emu = Emulator(model=ScriptedModel([say("long analysis"), say("next")]), background_polls=2)
    drive.emu = emu
    conv = drive.conv(drive.client(**_no_sleep(drive)))
    handle = drive(conv.send("analyse", background=True))
    assert type(handle).__name__ == ("AsyncBackgroundTurn" if drive.is_async else "BackgroundTurn")
    assert handle.status == "in_progress" and not handle.done
    with pytest.raises(TurnInProgressError, match="still running"):
        drive(conv.send("in between"))
    with pytest.raises(StateError, match="still running"):
        handle.result()
    assert drive(handle.poll()) in ("in_progress", "completed")
    turn = drive(handle.wait())
    assert turn.output_text == "long analysis" and handle.done
    assert drive(conv.send("after")).output_text == "next"
    assert [s.type for s in conv.history].count("user_input") == 2


def test_background_cancel_in_both_drivers(drive: Any, scripted: ScriptedModel) -> None:
    scripted.add(say("never"), say("after cancel"))
    conv = drive.conv(drive.client(**_no_sleep(drive)))
    handle = drive(conv.send("slow task", background=True))
    turn = drive(handle.cancel())
    assert turn.status == "cancelled"
    assert drive(conv.send("hello")).status == "completed"
