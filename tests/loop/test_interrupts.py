"""Ctrl-C never lands halfway through a change of a conversation's state: the blocking driver
holds a SIGINT while the engine runs and delivers it at the engine's next effect."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from loop_helpers import call, results, say

from agentloop import Conversation, tool
from agentloop.loop import _interrupts
from agentloop.loop.state import ConversationState
from agentloop.testing import Emulator, ScriptedModel


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own SIGINT handler, as in a plain script, and a protection not installed yet."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are only handled in the main thread")
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_while_results_are_recorded_is_held_until_the_next_effect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []

    @tool
    def step(who: str) -> str:
        """One step."""
        ran.append(who)
        return f"did {who}"

    add = ConversationState._add
    fired: list[bool] = []

    def add_then_ctrl_c(self: ConversationState, step: Any, wire: bytes, turn: Any) -> None:
        if step.type == "function_result" and not fired:
            fired.append(True)
            signal.raise_signal(signal.SIGINT)  # Ctrl-C between two results being recorded
        add(self, step, wire, turn)

    monkeypatch.setattr(ConversationState, "_add", add_then_ctrl_c)
    scripted = ScriptedModel([[call("step", w, who=w) for w in "abc"], say("done"), say("next")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[step])
    with pytest.raises(KeyboardInterrupt):
        conv.send("do all three")
    assert fired and ran == ["a", "b", "c"]
    assert results(conv) == {"a": "did a", "b": "did b", "c": "did c"}  # none "Not run"
    monkeypatch.setattr(ConversationState, "_add", add)
    assert conv.send("go on").output_text in ("done", "next")


@pytest.mark.usefixtures("default_sigint")
def test_the_handler_is_python_s_own_outside_engine_code_and_twice_always_stops() -> None:
    conv = Conversation(Emulator(model=ScriptedModel([say("hi")])).client())
    conv.send("hello")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back after
    protection = _interrupts._PROTECTION
    assert protection.enter()  # as a turn driven in the main thread does
    try:
        assert signal.getsignal(signal.SIGINT) == protection.handle
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # not in engine code: as Python's own handler
        protection.depth = 1  # in engine code: the first is held, a second one is raised
        try:
            signal.raise_signal(signal.SIGINT)
            assert protection.held
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
            assert not protection.held
        finally:
            protection.depth = 0
    finally:
        protection.leave()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_application_handler_is_left_alone() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are only handled in the main thread")
    previous = signal.getsignal(signal.SIGINT)

    def mine(signum: int, frame: Any) -> None:
        pass

    signal.signal(signal.SIGINT, mine)
    try:
        assert not _interrupts._PROTECTION.enter()
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_nothing_is_installed_outside_the_main_thread_or_under_an_event_loop() -> None:
    seen: list[bool] = []
    worker = threading.Thread(target=lambda: seen.append(_interrupts._PROTECTION.enter()))
    worker.start()
    worker.join()

    async def under_a_loop() -> None:
        seen.append(_interrupts._PROTECTION.enter())

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(under_a_loop())
    finally:
        loop.close()
    assert seen == [False, False]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_right_after_a_store_write_leaves_store_and_conversation_together(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A SIGINT as the store returns from a write (before the conversation notes the new
    version) is held until the engine's next effect: the next turns are not refused as a
    conflict, and the store holds what the conversation holds."""
    from agentloop.stores import SQLiteStore

    @tool
    def step(who: str) -> str:
        """One step."""
        return f"did {who}"

    store = SQLiteStore(tmp_path / "c.db")
    append = SQLiteStore.append
    writes: list[int] = []

    def append_then_ctrl_c(self: SQLiteStore, *args: Any, **kwargs: Any) -> int:
        version = append(self, *args, **kwargs)
        writes.append(version)
        if len(writes) == 3:  # the lease and input, the calls started, then their results
            signal.raise_signal(signal.SIGINT)
        return version

    monkeypatch.setattr(SQLiteStore, "append", append_then_ctrl_c)
    scripted = ScriptedModel([[call("step", "a", who="a")], say("done"), say("next")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[step], store=store, id="c1")
    with pytest.raises(KeyboardInterrupt):
        conv.send("go")
    monkeypatch.setattr(SQLiteStore, "append", append)
    assert results(conv) == {"a": "did a"}
    assert conv.send("go on").output_text in ("done", "next")
    reloaded = Conversation.from_store(store, "c1", client=Emulator().client(), tools=[step])
    assert [s.model_dump() for s in reloaded.history] == [s.model_dump() for s in conv.history]
    store.close()


@pytest.mark.usefixtures("default_sigint")
def test_leaving_at_interpreter_exit_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream left unfinished is closed at interpreter exit, when the signal module's
    globals may already be gone: putting the handler back then fails quietly."""
    protection = _interrupts._PROTECTION
    assert protection.enter()
    real = _interrupts._set_handler

    def gone(signum: int, handler: Any) -> Any:
        raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable")

    monkeypatch.setattr(_interrupts, "_set_handler", gone)
    protection.leave()  # no exception
    monkeypatch.setattr(_interrupts, "_set_handler", real)
    real(int(signal.SIGINT), signal.default_int_handler)
