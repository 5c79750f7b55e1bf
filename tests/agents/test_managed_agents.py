"""Managed agents as tools: a background interaction whose id is journaled before waiting, so
recovery after a crash waits on the same interaction; cancellation cancels it. Both drivers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_helpers import call, done, say

from agentloop import Agent, ManagedAgent
from agentloop.client import AsyncClient, Client
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, FunctionModel

DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])
RESEARCH = "deep-research-pro-preview-12-2025"


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, nothing is journaled."""


def model(request: Any) -> Any:
    if request.agent is not None:
        return say(f"report on {request.last_user_text}")
    last = request.history[-1]
    if last.type == "function_result":
        return say(f"summary: {last.result}")
    return [call("research", "m1", task="solar panels")]


def clients(emu: Emulator, driver: str, crash_on_poll: bool) -> Any:
    """A client on the emulator whose first poll of a background run may 'crash'."""
    transport = emu.transport()

    def check(request: httpx.Request) -> None:
        if crash_on_poll and request.method == "GET":
            raise Crash()

    kwargs: dict[str, Any] = {"api_key": "k", "base_url": "http://emulator.local"}
    if driver == "sync":

        class SyncT(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                check(request)
                return transport.handle_request(request)

        return Client(http_client=httpx.Client(transport=SyncT()), sleep=lambda s: None, **kwargs)

    class AsyncT(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            check(request)
            return await transport.handle_async_request(request)

    async def no_sleep(seconds: float) -> None:
        return None

    return AsyncClient(http_client=httpx.AsyncClient(transport=AsyncT()), sleep=no_sleep, **kwargs)


def lead() -> Agent:
    research = ManagedAgent(RESEARCH, name="research", description="Deep research")
    return Agent("lead", instructions="lead", tools=[research])


@DRIVERS
async def test_a_managed_agent_runs_in_the_background_and_returns_its_output(driver: str) -> None:
    emu = Emulator(FunctionModel(model))
    agent = lead()
    client = clients(emu, driver, crash_on_poll=False)
    conv = agent.conversation(client) if driver == "sync" else agent.aconversation(client)
    turn = await done(conv.send("go"))
    assert turn.output_text == "summary: report on solar panels"
    (managed,) = [r.json for r in emu.requests if r.method == "POST" and r.json.get("agent")]
    assert managed["agent"] == RESEARCH and managed["background"] is True


@DRIVERS
async def test_recovery_waits_on_the_same_background_interaction(
    driver: str, tmp_path: Path
) -> None:
    emu = Emulator(FunctionModel(model))
    agent = lead()
    path = tmp_path / "c.db"
    crashing = clients(emu, driver, crash_on_poll=True)
    with SQLiteStore(path) as store:
        conv = (agent.conversation if driver == "sync" else agent.aconversation)(
            crashing, store=store, id="m"
        )
        with pytest.raises(Crash):
            await done(conv.send("go"))
    (started,) = [i for i in emu.interaction_ids if emu.interaction(i).agent == RESEARCH]
    assert str(emu.interaction(started).status) == "in_progress"  # paid for, still running

    # a new process: load the journal and recover
    with SQLiteStore(path) as store:
        client = clients(emu, driver, crash_on_poll=False)
        cls = None if driver == "sync" else type(conv)
        again = store.load("m", client=client, agent=agent, cls=cls)
        assert again.needs_recovery
        turn = await done(again.recover())
    assert turn.output_text == "summary: report on solar panels"
    creates = [r for r in emu.requests if r.method == "POST" and (r.json or {}).get("agent")]
    assert len(creates) == 1  # no second managed run


async def test_cancelling_the_parent_cancels_the_managed_interaction() -> None:
    emu = Emulator(FunctionModel(model), background_polls=10**6)
    agent = lead()
    polled = asyncio.Event()

    async def sleep(seconds: float) -> None:
        polled.set()
        await asyncio.sleep(0.01)

    client = AsyncClient(
        api_key="k",
        base_url="http://emulator.local",
        sleep=sleep,
        http_client=httpx.AsyncClient(transport=emu.transport()),
    )
    conv = agent.aconversation(client)
    # The managed run never finishes by itself: no need to wait the default 5 s grace for it.
    conv.interrupt_grace = 0.1
    task = asyncio.ensure_future(conv.send("go"))
    await asyncio.wait_for(polled.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (started,) = [i for i in emu.interaction_ids if emu.interaction(i).agent == RESEARCH]
    assert str(emu.interaction(started).status) == "cancelled"


def test_cancelling_a_blocking_parent_cancels_the_managed_interaction() -> None:
    """A sync parent polls the run in a thread that cannot be interrupted: stopping the turn
    cancels the run (no bill, and the thread's wait ends)."""
    import threading
    import time

    emu = Emulator(FunctionModel(model), background_polls=10**6)
    polled = threading.Event()

    def sleep(seconds: float) -> None:
        polled.set()
        time.sleep(0.01)

    client = Client(
        api_key="k",
        base_url="http://emulator.local",
        sleep=sleep,
        http_client=httpx.Client(transport=emu.transport()),
    )
    conv = lead().conversation(client)
    conv.interrupt_grace = 0.1
    stopper = threading.Thread(target=lambda: (polled.wait(10), conv.cancel()))
    stopper.start()
    conv.send("go")
    stopper.join(10)
    (started,) = [i for i in emu.interaction_ids if emu.interaction(i).agent == RESEARCH]
    deadline = time.monotonic() + 10
    while str(emu.interaction(started).status) != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.01)  # the cancel is sent from a thread of its own
    assert str(emu.interaction(started).status) == "cancelled"
