"""The conversation's explicit status and its one transition table (``loop/status.py``),
seen through the public API, and the table itself."""

from __future__ import annotations

from typing import Any

import pytest
from loop_helpers import call, say

from agentloop import Conversation, tool
from agentloop.errors import AgentloopError, StateError, TurnInProgressError
from agentloop.loop.status import TRANSITIONS, ConversationStatus, StatusMachine
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, ScriptedModel

S = ConversationStatus


def test_every_illegal_move_raises_the_one_named_error() -> None:
    moves = ("start", "resume", "recover", "compact", "suspend", "continue", "finish")
    for status, allowed in TRANSITIONS.items():
        for move in moves:
            machine = StatusMachine(lambda status=status: status, label="c1")
            if status in (S.RUNNING, S.SUSPENDED):
                machine.active = status
            if move in allowed:
                machine.move(move)  # type: ignore[arg-type]
                continue
            with pytest.raises(StateError) as info:
                machine.move(move)  # type: ignore[arg-type]
            assert isinstance(info.value, AgentloopError)
            assert machine.status is status  # a refused move changes nothing
            if status in (S.RUNNING, S.SUSPENDED):
                assert isinstance(info.value, TurnInProgressError)


def test_a_turn_moves_idle_running_idle(emu: Emulator, scripted: ScriptedModel) -> None:
    seen: list[ConversationStatus] = []

    @tool
    def look() -> str:
        """Look around."""
        seen.append(conv.status)
        with pytest.raises(TurnInProgressError, match="running a turn"):
            conv.send("again")
        return "a room"

    scripted.add([call("look", "c1")], say("done"))
    conv = Conversation(emu.client(), tools=[look])
    assert conv.status is S.IDLE and str(conv.status) == "idle"
    conv.send("look")
    assert seen == [S.RUNNING]
    assert conv.status is S.IDLE and not conv.running


def test_approval_and_recovery_are_statuses(emu: Emulator, scripted: ScriptedModel) -> None:
    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    scripted.add([call("pay", "c1", amount=3)], say("ok"))
    conv = Conversation(emu.client(), tools=[pay])
    conv.send("pay 3")
    assert conv.status is S.AWAITING_APPROVAL
    with pytest.raises(StateError, match="nothing to recover"):
        conv.recover()
    conv.approve("c1")
    assert conv.resume().output_text == "ok" and conv.status is S.IDLE
    with pytest.raises(StateError, match="no paused turn"):
        conv.resume()


def test_a_conversation_saved_mid_turn_needs_recovery(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    saved: dict[str, Any] = {}

    @tool
    def snap() -> str:
        """Save the conversation."""
        saved.update(conv.to_dict())
        return "saved"

    scripted.add([call("snap", "c1")], say("fine"), say("fine"))
    conv = Conversation(emu.client(), tools=[snap])
    conv.send("go")
    loaded = Conversation.from_dict(saved, client=emu.client(), tools=[snap])
    assert loaded.status is S.NEEDS_RECOVERY and loaded.needs_recovery
    turn = loaded.recover()  # snap had started and is not idempotent: in doubt
    assert turn.status == "awaiting_approval" and loaded.in_doubt == ["c1"]
    assert loaded.status is S.AWAITING_APPROVAL
    loaded.reject("c1", "done by hand")
    assert loaded.resume().output_text == "fine" and loaded.status is S.IDLE


def test_a_background_turn_is_suspended_until_it_finishes() -> None:
    emu = Emulator(model=ScriptedModel([say("long")]), background_polls=2)
    conv = Conversation(emu.client(sleep=lambda s: None))
    handle = conv.send("analyse", background=True)
    assert conv.status is S.SUSPENDED and not conv.running
    with pytest.raises(TurnInProgressError, match="background turn"):
        conv.send("more")
    assert handle.wait().output_text == "long"
    assert conv.status is S.IDLE


def test_a_journaled_conversation_loads_in_the_status_it_was_left(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    scripted.add([call("pay", "c1", amount=3)])
    store = SQLiteStore(":memory:")
    Conversation(emu.client(), tools=[pay], store=store, id="s1").send("pay 3")
    loaded = Conversation.from_store(store, "s1", client=emu.client(), tools=[pay])
    assert loaded.status is S.AWAITING_APPROVAL and loaded.pending_approvals[0].id == "c1"
