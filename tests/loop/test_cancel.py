"""``conv.cancel()`` (issue 20): a turn stopped from another thread or task takes the
interruption path of Ctrl-C and ``task.cancel()`` (the outcome rule), through both drivers,
journaled on SQLite: the turn ends ``"cancelled"``, history stays sendable and the journal
says what history says."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from loop_helpers import call, journaled_history, results, say

from agentloop import AsyncClient, AsyncConversation, Client, Conversation, tool
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, ScriptedModel


def journaled(store: SQLiteStore, id: str) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in journaled_history(store, id)]


def wire(conv: Any) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in conv.history]


@tool
def look(what: str) -> str:
    """Look something up.

    Args:
        what: What.
    """
    return f"found {what}"


class SlowSecondRequest:
    """A turn whose tool makes the next model response hang (blocking driver) until
    ``release``; ``in_flight`` is set once that request waits."""

    def __init__(self) -> None:
        self.in_flight, self.release = threading.Event(), threading.Event()
        self.scripted = ScriptedModel()
        self.emu = Emulator(model=self.scripted)
        emu = self.emu

        @tool
        def slow_next(what: str) -> str:
            """Look something up (the next model response is slow).

            Args:
                what: What.
            """
            emu.faults.latency(60)
            return f"found {what}"

        self.tool = slow_next
        self.scripted.add([call("slow_next", "c1", what="x")], say("too late"))

    def hang(self, seconds: float) -> None:
        self.in_flight.set()
        self.release.wait(30)

    def cancel(self, conv: Conversation) -> None:
        """Cancel while the request waits, then let its response arrive (a blocking request
        is dropped when it returns)."""
        assert conv.cancel() is True
        self.release.set()

    def client(self) -> Client:
        return Client(
            http_client=httpx.Client(transport=self.emu.transport(sleep=self.hang), timeout=None),
            api_key="emulator-key",
            base_url="http://emulator.local",
        )


def test_no_turn_running_is_a_no_op() -> None:
    conv = Conversation(Emulator(model=ScriptedModel([say("hi")])).client())
    assert conv.cancel() is False
    assert conv.send("hello").output_text == "hi"
    assert conv.cancel() is False


def test_cancel_from_a_thread_drops_the_model_request(tmp_path: Any) -> None:
    """Sync: ``cancel()`` from another thread while the turn's second request waits ends the
    turn, when that response arrives, with what it had (the tool's result; the response is
    dropped), and the next send works."""
    slow = SlowSecondRequest()
    store = SQLiteStore(tmp_path / "s.db")
    conv = Conversation(slow.client(), tools=[slow.tool], store=store, id="s")
    stopper = threading.Thread(target=lambda: slow.in_flight.wait(30) and slow.cancel(conv))
    stopper.start()
    try:
        turn = conv.send("look x up")
    finally:
        stopper.join()
        slow.release.set()
    assert turn.status == "cancelled"
    assert results(conv) == {"c1": "found x"}  # the tool ran: its result is kept
    assert conv.needs_recovery is False and conv.in_doubt == []
    assert journaled(store, "s") == wire(conv)
    assert conv.cancel() is False  # the turn is over
    slow.scripted.add(say("hello again"))
    assert conv.send("go on").output_text == "hello again"
    assert journaled(store, "s") == wire(conv)


def test_cancel_from_a_thread_during_parallel_tools(tmp_path: Any) -> None:
    """Sync: three calls. ``a`` finishes within the grace period (real result), ``b`` does
    not (in doubt), ``c`` waits in the queue ("not run" unless it started meanwhile)."""
    both, gate, hang = threading.Barrier(3), threading.Event(), threading.Event()
    ran: list[str] = []

    @tool
    def quick(who: str) -> str:
        """Pay, finishing once the turn is cancelled.

        Args:
            who: Whom.
        """
        ran.append(who)
        both.wait(30)
        assert gate.wait(30)
        return f"paid {who}"

    @tool
    def stuck(who: str) -> str:
        """Pay, never finishing in time.

        Args:
            who: Whom.
        """
        ran.append(who)
        both.wait(30)
        hang.wait(30)
        return "too late"

    @tool
    def queued(who: str) -> str:
        """Pay, queued behind the others.

        Args:
            who: Whom.
        """
        ran.append(who)
        return f"paid {who}"

    scripted = ScriptedModel()
    emu = Emulator(model=scripted)
    store = SQLiteStore(tmp_path / "s.db")
    conv = Conversation(emu.client(), tools=[quick, stuck, queued], store=store, id="s")
    conv.interrupt_grace = 0.5  # a finishes well within it; b outlasts it
    conv.tools._get_pool().max_workers = 2  # the third call waits in the queue
    scripted.add(
        [call("quick", "a", who="a"), call("stuck", "b", who="b"), call("queued", "c", who="c")],
        say("after"),
    )

    def stop() -> None:
        both.wait(30)  # a and b are running
        assert conv.cancel() is True
        gate.set()

    stopper = threading.Thread(target=stop)
    stopper.start()
    try:
        turn = conv.send("pay everyone")
    finally:
        stopper.join()
        hang.set()
    known = results(conv)
    assert known["a"] == "paid a"
    if "c" in ran:  # a's slot came free before the turn dropped the queue: c ran, and says so
        assert known["c"] == "paid c"
    else:
        assert known["c"].startswith("Not run:") and "conv.cancel()" in known["c"]
    assert "b" not in known and conv.in_doubt == ["b"]
    assert turn.status == "awaiting_approval"  # a human decides about the call in doubt
    assert journaled(store, "s") == wire(conv)
    reloaded = Conversation.from_store(
        store, "s", client=emu.client(), tools=[quick, stuck, queued]
    )
    assert reloaded.in_doubt == ["b"]
    assert conv.send("go on").output_text == "after"
    assert results(conv)["b"].startswith("Outcome unknown")
    assert journaled(store, "s") == wire(conv)


def test_cancel_a_stream_ends_it_with_the_turn() -> None:
    """Sync stream: the stream ends with ``TurnCompleted`` (status ``cancelled``)."""
    scripted = ScriptedModel([[call("look", "c1", what="x")], say("next")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[look])
    events = list(_cancel_after_first_result(conv))
    assert type(events[-1]).__name__ == "TurnCompleted"
    assert events[-1].turn.status == "cancelled"
    assert results(conv) == {"c1": "found x"}
    assert conv.send("again").output_text == "next"  # the cancelled turn sent nothing more


def _cancel_after_first_result(conv: Conversation) -> Any:
    with conv.stream("look x up") as events:
        for event in events:
            yield event
            if type(event).__name__ == "ToolCallFinished":
                assert conv.cancel() is True  # the caller's own thread: the next safe point


def test_cancel_from_a_task_abandons_the_model_request(tmp_path: Any) -> None:
    """Async: the same from another task."""

    async def main() -> None:
        in_flight = asyncio.Event()

        async def hang(seconds: float) -> None:
            in_flight.set()
            await asyncio.Event().wait()  # until cancelled

        scripted = ScriptedModel()
        emu = Emulator(model=scripted)

        @tool
        def slow_next(what: str) -> str:
            """Look something up (the next model response is slow).

            Args:
                what: What.
            """
            emu.faults.latency(60)
            return f"found {what}"

        scripted.add([call("slow_next", "c1", what="x")], say("too late"))
        store = SQLiteStore(tmp_path / "s.db")
        client = AsyncClient(
            http_client=httpx.AsyncClient(transport=emu.transport(async_sleep=hang), timeout=None),
            api_key="emulator-key",
            base_url="http://emulator.local",
        )
        conv = AsyncConversation(client, tools=[slow_next], store=store, id="s")

        async def stop() -> bool:
            await in_flight.wait()
            return conv.cancel()

        stopper = asyncio.create_task(stop())
        turn = await conv.send("look x up")
        assert await stopper is True
        assert turn.status == "cancelled"
        assert results(conv) == {"c1": "found x"}
        assert journaled(store, "s") == wire(conv)
        scripted.add(say("hello again"))
        assert (await conv.send("go on")).output_text == "hello again"
        assert journaled(store, "s") == wire(conv)
        assert conv.cancel() is False

    asyncio.run(main())


def test_cancel_from_a_task_during_parallel_tools(tmp_path: Any) -> None:
    """Async: ``quick`` finishes within the grace period, ``stuck`` is in doubt."""

    async def main() -> None:
        started, gate = asyncio.Event(), asyncio.Event()
        count = [0]

        @tool
        async def quick(who: str) -> str:
            """Pay, finishing once the turn is cancelled.

            Args:
                who: Whom.
            """
            count[0] += 1
            if count[0] == 2:
                started.set()
            await gate.wait()
            return f"paid {who}"

        @tool
        async def stuck(who: str) -> str:
            """Pay, never finishing.

            Args:
                who: Whom.
            """
            count[0] += 1
            if count[0] == 2:
                started.set()
            await asyncio.Event().wait()
            return "never"

        scripted = ScriptedModel()
        emu = Emulator(model=scripted)
        store = SQLiteStore(tmp_path / "s.db")
        conv = AsyncConversation(emu.async_client(), tools=[quick, stuck], store=store, id="s")
        conv.interrupt_grace = 0.5
        scripted.add([call("quick", "a", who="a"), call("stuck", "b", who="b")], say("after"))

        async def stop() -> None:
            await started.wait()
            assert conv.cancel() is True
            gate.set()

        stopper = asyncio.create_task(stop())
        turn = await conv.send("pay both")
        await stopper
        assert results(conv) == {"a": "paid a"}
        assert conv.in_doubt == ["b"] and turn.status == "awaiting_approval"
        assert journaled(store, "s") == wire(conv)
        assert (await conv.send("go on")).output_text == "after"
        assert results(conv)["b"].startswith("Outcome unknown")
        assert journaled(store, "s") == wire(conv)

    asyncio.run(main())


IN_TOOL: list[Any] = []  # the event a running ``wait_long`` sets (one per test)


@tool
async def wait_long(what: str) -> str:
    """Take long (until cancelled).

    Args:
        what: What.
    """
    IN_TOOL[-1].set()
    await asyncio.Event().wait()
    return "never"


def long_turn(in_tool: Any, *replies: Any) -> AsyncConversation:
    """An async conversation whose first call runs ``wait_long`` (which sets ``in_tool``)."""
    IN_TOOL.append(in_tool)
    scripted = ScriptedModel([[call("wait_long", "c1", what="x")], *replies])
    conv = AsyncConversation(Emulator(model=scripted).async_client(), tools=[wait_long])
    conv.interrupt_grace = 0.0
    return conv


def test_cancel_from_another_thread_stops_an_async_turn() -> None:
    """``AsyncConversation.cancel()`` is thread-safe: a UI thread may call it."""

    async def main() -> None:
        in_tool = threading.Event()
        conv = long_turn(in_tool, say("after"))
        answers: list[bool] = []
        ui = threading.Thread(target=lambda: answers.append(in_tool.wait(30) and conv.cancel()))
        ui.start()
        turn = await conv.send("go")
        await asyncio.to_thread(ui.join)
        assert answers == [True]
        assert conv.in_doubt == ["c1"] and turn.status == "awaiting_approval"
        conv.reject("c1", "stopped by the user")
        assert (await conv.resume()).output_text == "after"

    asyncio.run(main())


def test_a_plain_task_cancel_still_raises() -> None:
    """Only ``conv.cancel()`` ends the turn quietly; ``task.cancel()`` propagates as before."""

    async def main() -> None:
        in_tool = asyncio.Event()
        conv = long_turn(in_tool)
        task = asyncio.create_task(conv.send("go"))
        await in_tool.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_cancel_stops_a_background_turn() -> None:
    """Sync: a background turn running server-side is cancelled (``BackgroundTurn.cancel``)."""
    scripted = ScriptedModel([say("never"), say("after")])
    emu = Emulator(model=scripted, background_polls=5)
    conv = Conversation(emu.client())
    handle = conv.send("slow task", background=True)
    assert not handle.done
    assert conv.cancel() is True
    assert handle.done and handle.status == "cancelled"
    assert conv.cancel() is False
    assert conv.send("hello").output_text == "never"  # the queue moved on; history is usable


def test_cancel_stops_an_async_background_turn() -> None:
    """Async: ``cancel()`` schedules ``AsyncBackgroundTurn.cancel`` on the turn's loop."""

    async def main() -> None:
        scripted = ScriptedModel([say("never"), say("after")])
        emu = Emulator(model=scripted, background_polls=5)
        conv = AsyncConversation(emu.async_client())
        handle = await conv.send("slow task", background=True)
        assert conv.cancel() is True
        while not handle.done:
            await asyncio.sleep(0)
        assert handle.status == "cancelled"
        assert conv.cancel() is False
        assert (await conv.send("hello")).output_text == "never"

    asyncio.run(main())


def test_cancel_from_a_thread_drops_a_streamed_request() -> None:
    """Sync stream: cancelled while the streamed request waits; the stream ends with the
    cancelled turn."""
    slow = SlowSecondRequest()
    conv = Conversation(slow.client(), tools=[slow.tool])
    stopper = threading.Thread(target=lambda: slow.in_flight.wait(30) and slow.cancel(conv))
    stopper.start()
    try:
        with conv.stream("look x up") as stream:
            events = list(stream)
    finally:
        stopper.join()
        slow.release.set()
    assert type(events[-1]).__name__ == "TurnCompleted"
    assert events[-1].turn.status == "cancelled"
    assert results(conv) == {"c1": "found x"}
    slow.scripted.add(say("hello again"))
    assert conv.send("go on").output_text == "hello again"
