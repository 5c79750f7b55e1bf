"""Conversations journaling to the real stores (the record format is the loop's business; here
the point is that it goes through SQLite and PostgreSQL intact, and conflicts surface)."""

from __future__ import annotations

from typing import Any

import pytest
from _store_workers import StoreSpec

from agentloop import AsyncConversation, Conversation
from agentloop.errors import ConflictError
from agentloop.testing import Emulator, ScriptedModel


def say(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "thought"},
        {"type": "model_output", "content": [{"type": "text", "text": f"{text} ✓ ünïcode"}]},
    ]


def user_texts(conv: Any) -> list[str]:
    return [s.content[0].text for s in conv.history if s.type == "user_input"]


def test_save_then_load_keeps_journaling(spec: StoreSpec) -> None:
    emu = Emulator(model=ScriptedModel([say("one"), say("two")]))
    conv = Conversation(emu.client(), id="plain", system_instruction="Sé breve")
    conv.send("first 🎉")
    with spec.open() as store:
        assert store.save(conv, "saved") == "saved"
        assert store.version("saved") == 1
        loaded = store.load("saved", client=emu.client())
        assert loaded.history == conv.history and loaded.system_instruction == "Sé breve"
        loaded.send("second")
        assert store.version("saved") > 1  # the loaded conversation journals its turn
    with spec.open() as again:
        assert user_texts(again.load("saved", client=emu.client())) == ["first 🎉", "second"]


def test_a_stale_conversation_gets_a_conflict(spec: StoreSpec) -> None:
    emu = Emulator(model=ScriptedModel([say("a"), say("b"), say("c")]))
    with spec.open() as one, spec.open() as two:  # two writers, e.g. two processes
        first = Conversation(emu.client(), store=one, id="task")
        first.send("a")
        second = two.load("task", client=emu.client())
        first.send("b")
        version = two.version("task")
        with pytest.raises(ConflictError, match="reload"):
            second.send("c")
        assert two.version("task") == version  # nothing written by the stale one
        fresh = two.load("task", client=emu.client())
        assert user_texts(fresh) == ["a", "b"]
        assert fresh.send("c").output_text.startswith("c")
        assert user_texts(one.load("task", client=emu.client())) == ["a", "b", "c"]


async def test_async_conversation_journals_through_the_async_api(spec: StoreSpec) -> None:
    emu = Emulator(model=ScriptedModel([say("x"), say("y")]))
    store = spec.open()
    try:
        conv = AsyncConversation(emu.async_client(), store=store, id="async-task")
        await conv.send("hello")
        stored = await store.aread("async-task")
        assert stored.version == len(stored.records) > 0
        loaded = AsyncConversation.from_store(store, "async-task", client=emu.async_client())
        assert loaded.history == conv.history
        await loaded.send("again")
        assert user_texts(store.load("async-task", client=emu.client())) == ["hello", "again"]
    finally:
        await store.aclose()


def test_a_live_turn_is_leased_against_a_second_writer(spec: StoreSpec) -> None:
    """Issue 20, fault 3, on every store: a second writer loading mid-turn sees the turn
    running elsewhere and cannot take it over; the first keeps its real tool result."""
    import threading

    from agentloop import tool
    from agentloop.errors import TurnInProgressError

    entered, release = threading.Event(), threading.Event()

    @tool
    def pay(amount: int) -> str:
        """Pay (not safe to repeat).

        Args:
            amount: How much.
        """
        entered.set()
        assert release.wait(30)
        return f"paid {amount}"

    call = {"type": "function_call", "id": "p1", "name": "pay", "arguments": {"amount": 3}}
    emu = Emulator(model=ScriptedModel([[call], say("paid"), say("next")]))
    with spec.open() as one, spec.open() as two:
        first = Conversation(emu.client(), tools=[pay], store=one, id="live")
        worker = threading.Thread(target=first.send, args=("pay 3",))
        worker.start()
        try:
            assert entered.wait(30)
            second = two.load("live", client=emu.client(), tools=[pay])
            assert not second.needs_recovery and second.running_elsewhere is not None
            version = two.version("live")
            with pytest.raises(TurnInProgressError) as info:
                second.send("barging in")
            assert info.value.owner == second.running_elsewhere[0]
            assert two.version("live") == version
        finally:
            release.set()
            worker.join(30)
        results = [s.result for s in first.history if s.type == "function_result"]
        assert results == ["paid 3"]
        fresh = two.load("live", client=emu.client(), tools=[pay])
        assert fresh.running_elsewhere is None and not fresh.needs_recovery
        assert fresh.send("next").output_text.startswith("next")


def test_saving_a_journaling_conversation_to_its_own_store_never_overwrites(
    spec: StoreSpec,
) -> None:
    """``store.save(conv)`` of a conversation that journals there: nothing to replace (it is
    saved as it goes); a stale copy never erases another writer's turn, and a conversation
    saved to its own store goes on journaling."""
    emu = Emulator(model=ScriptedModel([say("a"), say("b"), say("c")]))
    with spec.open() as store:
        first = Conversation(emu.client(), store=store, id="shared")
        first.send("from first")
        second = store.load("shared", client=emu.client())
        second.send("from second")
        assert store.save(first) == "shared"  # first is stale: nothing of second's is lost
        assert user_texts(store.load("shared", client=emu.client())) == [
            "from first",
            "from second",
        ]
        store.save(second)
        second.send("again")  # no conflict with its own save
        assert user_texts(store.load("shared", client=emu.client())) == [
            "from first",
            "from second",
            "again",
        ]
