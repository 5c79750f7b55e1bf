"""The tool-outcome rule (issue 20, faults 1 and 2), through both drivers.

A call's recorded outcome is what is known: its real result if the tool returned, even when
the turn is then interrupted or a hook fails; *in doubt* if it started and it is unknown
whether it finished (unless idempotent); "not run" only if it never started. History and
journal say the same.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from loop_helpers import call, journaled_history, results, say

from agentloop import AsyncConversation, Conversation, Hooks, tool
from agentloop.errors import HookError
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, ScriptedModel


def journal_results(store: SQLiteStore, id: str) -> dict[str, str]:
    history = journaled_history(store, id)
    return {s.call_id: s.result for s in history if s.type == "function_result"}


def test_ctrl_c_during_parallel_tools_records_what_finished(tmp_path: Any) -> None:
    """Sync: Ctrl-C while three calls run. ``a`` had finished, ``c`` finishes within the
    grace period, ``b`` (where Ctrl-C landed) is in doubt; ``d`` never started."""
    a_done, b_hit, c_started = threading.Event(), threading.Event(), threading.Event()
    ran: list[str] = []

    @tool
    def pay(who: str) -> str:
        """Pay someone (not safe to repeat).

        Args:
            who: Whom.
        """
        ran.append(who)
        if who == "a":
            a_done.set()
        elif who == "c":
            c_started.set()
            assert b_hit.wait(30)  # still running when Ctrl-C lands
        elif who == "b":
            assert a_done.wait(30) and c_started.wait(30)
            b_hit.set()
            raise KeyboardInterrupt  # Ctrl-C, in the calling thread
        return f"paid {who}"

    @tool(timeout=60)
    def later(who: str) -> str:
        """Queued behind the others.

        Args:
            who: Whom.
        """
        ran.append(who)
        return f"paid {who}"

    scripted = ScriptedModel()
    emu = Emulator(model=scripted)
    store = SQLiteStore(tmp_path / "s.db")
    conv = Conversation(emu.client(), tools=[pay, later], store=store, id="s")
    conv.tools._get_pool().max_workers = 2  # d waits in the queue behind a and c
    scripted.add(
        [
            call("pay", "a", who="a"),
            call("pay", "c", who="c"),
            call("later", "d", who="d"),
            call("pay", "b", who="b"),
        ],
        say("after"),
    )
    with pytest.raises(KeyboardInterrupt):
        conv.send("pay everyone")
    known = results(conv)
    assert known["a"] == "paid a" and known["c"] == "paid c"
    assert conv.in_doubt == ["b"] and "b" not in known
    if "d" in ran:  # the pool had a free slot after all: it ran, and that is what is recorded
        assert known["d"] == "paid d"
    else:
        assert known["d"].startswith("Not run:")
    assert journal_results(store, "s") == known  # the journal says the same
    assert Conversation.from_store(store, "s", client=emu.client()).in_doubt == ["b"]
    turn = conv.send("go on")
    assert turn.output_text == "after"
    assert results(conv)["b"].startswith("Outcome unknown")


def test_cancelling_an_async_turn_records_what_finished(tmp_path: Any) -> None:
    """Async: ``task.cancel()`` on ``send`` (a web Stop) while calls run."""

    async def main() -> None:
        a_done, b_started, hang = asyncio.Event(), asyncio.Event(), asyncio.Event()
        c_started, c_go = threading.Event(), threading.Event()

        @tool
        async def fast(who: str) -> str:
            """Pay quickly.

            Args:
                who: Whom.
            """
            a_done.set()
            return f"paid {who}"

        @tool
        async def stuck(who: str) -> str:
            """Pay, never finishing.

            Args:
                who: Whom.
            """
            b_started.set()
            await hang.wait()
            return "never"

        @tool
        def threaded(who: str) -> str:
            """Pay from a thread; finishes once the turn is cancelled.

            Args:
                who: Whom.
            """
            c_started.set()
            assert c_go.wait(30)
            return f"paid {who}"

        scripted = ScriptedModel()
        emu = Emulator(model=scripted)
        store = SQLiteStore(tmp_path / "s.db")
        conv = AsyncConversation(
            emu.async_client(), tools=[fast, stuck, threaded], store=store, id="s"
        )
        conv.interrupt_grace = 0.3
        scripted.add(
            [
                call("fast", "a", who="a"),
                call("stuck", "b", who="b"),
                call("threaded", "c", who="c"),
            ],
            say("after"),
        )
        task = asyncio.create_task(conv.send("pay"))
        await a_done.wait()
        await b_started.wait()
        assert await asyncio.to_thread(c_started.wait, 30)
        task.cancel()
        c_go.set()  # c finishes during the grace period
        with pytest.raises(asyncio.CancelledError):
            await task
        known = results(conv)
        assert known == {"a": "paid a", "c": "paid c"}
        assert conv.in_doubt == ["b"]
        assert journal_results(store, "s") == known
        assert (await conv.send("go on")).output_text == "after"
        assert results(conv)["b"].startswith("Outcome unknown")

    asyncio.run(main())


def test_an_idempotent_call_cut_short_is_approved_to_run_again(drive: Any) -> None:
    runs: list[str] = []

    @tool(idempotent=True)
    def look(key: str) -> str:
        """Look up (safe to repeat).

        Args:
            key: Which.
        """
        runs.append(key)
        if len(runs) == 1:
            raise KeyboardInterrupt
        return f"value of {key}"

    scripted = ScriptedModel([[call("look", "k1", key="x")], say("found it")])
    emu = Emulator(model=scripted)
    driver = type(drive)(drive.kind, emu)
    try:
        conv = driver.conv(tools=[look])
        with pytest.raises(KeyboardInterrupt):
            driver(conv.send("look x up"))
        assert conv.in_doubt == [] and [c.id for c in conv.pending_approvals] == ["k1"]
        turn = driver(conv.resume())  # no decision needed: it is safe to run again
        assert turn.output_text == "found it" and results(conv)["k1"] == "value of x"
        assert runs == ["x", "x"]
    finally:
        driver.close()


def test_an_after_tool_hook_that_raises_keeps_the_real_result(
    drive: Any, scripted: ScriptedModel, tmp_path: Any
) -> None:
    """Fault 2: history and journal said "Not run: the turn stopped on HookError"."""
    paid: list[int] = []

    @tool
    def pay(amount: int) -> str:
        """Pay (not safe to repeat).

        Args:
            amount: How much.
        """
        paid.append(amount)
        return f"paid {amount}"

    def audit(event: Any) -> None:
        raise RuntimeError("audit log is down")

    store = SQLiteStore(tmp_path / "s.db")
    conv = drive.conv(tools=[pay], hooks=Hooks(after_tool=audit), store=store, id="s")
    scripted.add([call("pay", "p1", amount=5)])
    with pytest.raises(HookError):
        drive(conv.send("pay 5"))
    assert paid == [5]
    assert results(conv) == {"p1": "paid 5"} == journal_results(store, "s")
    assert not conv.needs_recovery and conv.in_doubt == []
    conv.hooks = None
    scripted.add(say("done"))
    assert drive(conv.send("go on")).output_text == "done"
    assert paid == [5]  # never run twice


def test_a_redaction_an_after_tool_hook_made_stands_when_a_later_one_fails(
    drive: Any, scripted: ScriptedModel
) -> None:
    """Fail closed: the first call's hook redacted its result; the second call's hook fails.
    The first keeps the redaction (history, journal, what the next request sends)."""

    @tool
    def read(key: str) -> str:
        """Read a secret.

        Args:
            key: Which.
        """
        return f"secret-{key}"

    def redact_then_fail(event: Any) -> Any:
        if event.call.id == "r2":
            raise RuntimeError("audit log is down")
        return "[redacted]"

    conv = drive.conv(tools=[read], hooks=Hooks(after_tool=redact_then_fail))
    scripted.add([call("read", "r1", key="a"), call("read", "r2", key="b")], say("done"))
    with pytest.raises(HookError):
        drive(conv.send("read both"))
    assert results(conv) == {"r1": "[redacted]", "r2": "secret-b"}
    conv.hooks = None
    drive(conv.send("go on"))
    assert "secret-a" not in json.dumps(conv.to_dict())
