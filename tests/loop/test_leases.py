"""The live-turn lease of stored conversations, through both drivers (issue 20, faults 3, 5).

A second writer that loads a conversation while another runs a turn of it sees that turn as
running elsewhere (not as needing recovery), and its ``send``/``recover`` raise
``TurnInProgressError`` naming the owner and the expiry, with nothing written or sent. After
the lease expires (the writer died), recovery works as before.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from loop_helpers import bodies, call, say

from agentloop import AsyncConversation, Conversation, tool
from agentloop.errors import ConflictError, TurnInProgressError
from agentloop.loop import lease
from agentloop.loop.lease import owner_id, write
from agentloop.loop.records import Journal
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, FunctionModel, ScriptedModel


class Crash(BaseException):
    """The process dies here."""


def blocking_pay(entered: threading.Event, release: threading.Event, log: list[str]) -> Any:
    @tool
    def pay(amount: int) -> str:
        """Pay (not safe to repeat).

        Args:
            amount: How much.
        """
        log.append("pay")
        entered.set()
        assert release.wait(30)
        return f"paid {amount}"

    return pay


def in_thread(kind: str, emu: Emulator, make: Any, text: str) -> tuple[threading.Thread, list[Any]]:
    """Run one turn of a new conversation (``make(client)``) in a thread of its own."""
    out: list[Any] = []

    def run() -> None:
        try:
            if kind == "sync":
                out.append(make(emu.client()).send(text))
            else:

                async def go() -> Any:
                    return await make(emu.async_client()).send(text)

                out.append(asyncio.run(go()))
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_second_writer_sees_a_live_turn_and_cannot_take_it_over(
    drive: Any, scripted: ScriptedModel, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "s.db"
    entered, release, log = threading.Event(), threading.Event(), []
    pay = blocking_pay(entered, release, log)
    scripted.add([call("pay", "c1", amount=5)], say("paid"), say("second writer"))
    cls = Conversation if drive.kind == "sync" else AsyncConversation
    first, out = in_thread(
        drive.kind, emu, lambda c: cls(c, tools=[pay], store=SQLiteStore(path), id="s"), "pay 5"
    )
    try:
        assert entered.wait(30)
        store = SQLiteStore(path)
        version, requests = store.version("s"), len(bodies(emu))
        second = drive.cls().from_store(store, "s", client=drive.client(), tools=[pay])
        assert not second.needs_recovery  # the turn is running, not cut short
        assert second.running_elsewhere is not None
        owner, _ = second.running_elsewhere
        for attempt in (lambda: second.send("hi"), second.recover):
            with pytest.raises(TurnInProgressError) as info:
                drive(attempt())
            assert info.value.owner == owner and info.value.expires is not None
            assert owner in str(info.value) and "expires at" in str(info.value)
        with pytest.raises(TurnInProgressError) as info:  # time travel waits for it too
            drive(second.rewind())
        assert info.value.owner == owner
        with pytest.raises(TurnInProgressError, match="in progress"):
            drive(second.fork())  # the live turn is not a turn cut short to fork and recover
        assert second.status == "running" and len(second.turns) == 1
        assert store.version("s") == version and len(bodies(emu)) == requests
    finally:
        release.set()
        first.join(30)
    turn = out[0]
    assert not isinstance(turn, BaseException), turn
    assert turn.status == "completed" and turn.tool_calls[0].result.result == "paid 5"
    assert log == ["pay"]
    # The second writer reloads and goes on; the first turn's real result is in its history.
    again = drive.cls().from_store(SQLiteStore(path), "s", client=drive.client(), tools=[pay])
    assert again.running_elsewhere is None and not again.needs_recovery
    results = [s for s in again.history if s.type == "function_result"]
    assert [r.result for r in results] == ["paid 5"]
    assert drive(again.send("and now?")).output_text == "second writer"


def test_the_lease_is_renewed_while_a_long_tool_runs(
    drive: Any, scripted: ScriptedModel, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "s.db"
    entered, release, log = threading.Event(), threading.Event(), []
    pay = blocking_pay(entered, release, log)
    scripted.add([call("pay", "c1", amount=5)], say("paid"))
    cls = Conversation if drive.kind == "sync" else AsyncConversation
    store_a = SQLiteStore(path, lease_seconds=0.3)
    first, out = in_thread(
        drive.kind, emu, lambda c: cls(c, tools=[pay], store=store_a, id="s"), "pay"
    )
    try:
        assert entered.wait(30)
        time.sleep(0.7)  # well past one lease: only renewal keeps it live
        second = drive.cls().from_store(SQLiteStore(path), "s", client=drive.client())
        assert second.running_elsewhere is not None and not second.needs_recovery
        with pytest.raises(TurnInProgressError):
            drive(second.send("hi"))
    finally:
        release.set()
        first.join(30)
    assert out[0].status == "completed"
    assert SQLiteStore(path).read("s").lease_owner is None  # given back at the end


def test_after_the_lease_expires_recovery_works_as_before(
    drive: Any, scripted: ScriptedModel, tmp_path: Path
) -> None:
    log: list[str] = []

    @tool
    def pay(amount: int) -> str:
        """Pay; the process dies inside.

        Args:
            amount: How much.
        """
        log.append("pay")
        raise Crash

    store = SQLiteStore(tmp_path / "s.db")
    scripted.add([call("pay", "c1", amount=5)], say("recovered"))
    conv = drive.conv(tools=[pay], store=store, id="s")
    with pytest.raises(Crash):
        drive(conv.send("pay"))
    # As if that writer ran on another machine and died: its lease lives on until it expires.
    dead = store.read("s").lease_owner
    assert dead is not None
    version = store.version("s")
    store.append(
        "s", [], expected_version=version, owner="pid 1 on elsewhere (x)", lease_seconds=0.4,
        take_over=dead,
    )  # fmt: skip
    second = drive.cls().from_store(store, "s", client=drive.client(), tools=[pay])
    assert second.running_elsewhere is not None and not second.needs_recovery
    with pytest.raises(TurnInProgressError):
        drive(second.recover())
    time.sleep(0.5)
    assert second.running_elsewhere is None and second.needs_recovery
    turn = drive(second.recover())
    assert turn.status == "awaiting_approval" and second.in_doubt == ["c1"]
    assert log == ["pay"]


def test_a_stale_writer_leaves_no_record_and_a_retry_never_duplicates(
    drive: Any, scripted: ScriptedModel, emu: Emulator, tmp_path: Path
) -> None:
    """Fault 5: the losing writer's model request was sent and its input stored before the
    conflict, and the advised retry stored it twice."""
    path = tmp_path / "s.db"
    entered, release, log = threading.Event(), threading.Event(), []
    pay = blocking_pay(entered, release, log)
    scripted.add(say("hello"), [call("pay", "c1", amount=1)], say("paid"), say("b's answer"))
    drive(drive.conv(store=SQLiteStore(path), id="s").send("hello"))
    b = drive.cls().from_store(SQLiteStore(path), "s", client=drive.client(), tools=[pay])
    cls = Conversation if drive.kind == "sync" else AsyncConversation
    a_thread, out = in_thread(
        drive.kind,
        emu,
        lambda c: cls.from_store(SQLiteStore(path), "s", client=c, tools=[pay]),
        "a pays",
    )
    try:
        assert entered.wait(30)
        mid = drive.cls().from_store(SQLiteStore(path), "s", client=drive.client(), tools=[pay])
        requests = len(bodies(emu))
        with pytest.raises(TurnInProgressError):
            drive(mid.send("b during a's turn"))
        assert len(bodies(emu)) == requests
    finally:
        release.set()
        a_thread.join(30)
    assert out[0].status == "completed"
    store = SQLiteStore(path)
    version = store.version("s")
    with pytest.raises(ConflictError, match="Nothing was written"):
        drive(b.send("b's message"))
    assert store.version("s") == version and len(bodies(emu)) == requests + 1
    b = drive.cls().from_store(store, "s", client=drive.client(), tools=[pay])  # the advice
    assert drive(b.send("b's message")).output_text == "b's answer"
    texts = [s.content[0].text for s in b.history if s.type == "user_input"]
    assert texts == ["hello", "a pays", "b's message"]


def test_four_writers_never_duplicate_a_message(tmp_path: Path) -> None:
    """Fault 5 under load: writers that reload on conflict and wait on a live turn store each
    of their messages exactly once."""
    emu = Emulator(model=FunctionModel(lambda request: "ok"))
    path = tmp_path / "s.db"
    Conversation(emu.client(), store=SQLiteStore(path), id="s").send("start")

    def writer(name: str) -> None:
        store = SQLiteStore(path)
        conv = Conversation.from_store(store, "s", client=emu.client())
        for i in range(6):
            while True:
                try:
                    conv.send(f"{name}-{i}")
                    break
                except (ConflictError, TurnInProgressError):
                    time.sleep(0.005)
                    conv = Conversation.from_store(store, "s", client=emu.client())

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    conv = Conversation.from_store(SQLiteStore(path), "s", client=emu.client())
    texts = [s.content[0].text for s in conv.history if s.type == "user_input"]
    assert sorted(texts) == sorted(["start"] + [f"w{n}-{i}" for n in range(4) for i in range(6)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_renews_its_own_leases(tmp_path: Path) -> None:
    """The child starts with no tracked leases and no renewer thread (the parent's is not
    there), and takes a fresh lock: one the parent held at fork time cannot hang it."""
    store = SQLiteStore(tmp_path / "s.db", lease_seconds=30)
    journal = Journal("parent")
    owner_id(journal)
    journal.holding = True
    write(store, journal, None)  # held, so tracked by this process's renewer
    assert id(journal) in lease._renewer._tracked
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_child_tracks, args=(str(tmp_path / "child.db"),))
    with lease._renewer._lock:  # held by the parent while it forks
        child.start()
    child.join(60)  # a bound for a hung child, not a timing check
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0
    assert id(journal) in lease._renewer._tracked  # the parent's own, untouched
    journal.holding = False
    write(store, journal, None)  # gives it back
    store.close()


def _child_tracks(path: str) -> None:
    renewer = lease._renewer
    assert not renewer._tracked and renewer._thread is None and not renewer._due
    store = SQLiteStore(path, lease_seconds=30)
    journal = Journal("child")
    owner_id(journal)
    journal.holding = True
    write(store, journal, None)  # tracks it: the child's own renewer thread starts
    assert id(journal) in renewer._tracked and renewer._thread is not None
    assert store.read("child").lease_owner == journal.owner
    journal.holding = False
    write(store, journal, None)
    store.close()
