"""``A2AAgent``: an agentloop agent calling another over A2A (in process)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from _http import tls
from _lazy import lazy_module
from a2a_helpers import BASE, Server, Switch, collect, deleted, loopback, message, weather_agent

from agentloop import Agent, tool
from agentloop.errors import ConfigurationError
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, ScriptedModel

# a2a-sdk and agentloop.a2a load in the worker that runs these tests, not at collection.
a2a_client = lazy_module("a2a.client")
a2a_types = lazy_module("a2a.types")
agentloop_a2a = lazy_module("agentloop.a2a")


def remote_tool(server: Server, **kwargs: Any) -> agentloop_a2a.A2AAgent:
    return agentloop_a2a.A2AAgent(
        BASE,
        name="weather_desk",
        description="Asks the weather desk.",
        httpx_client=server.http,
        **kwargs,
    )


def remote_turns(server: Server, context_id: str) -> list[str]:
    history = server.history(context_id)
    return [s.content[0].text for s in history if s.type == "user_input"]


async def test_an_agent_calls_another_and_follow_ups_continue_its_context(server: Server) -> None:
    progress: list[agentloop_a2a.RemoteProgress] = []
    desk = remote_tool(server, on_event=progress.append)
    boss = Agent("boss", tools=[desk])
    store = SQLiteStore(":memory:")
    local = Emulator()
    async with boss.aconversation(local.async_client(), store=store, id="boss-1") as conv:
        turn = await conv.send("use weather_desk for Oslo")
        (call,) = turn.tool_calls
        assert call.name == "weather_desk" and not call.is_error
        assert "You said: Oslo" in call.result.result
        assert call.result.result in turn.output_text
        states = [p.state for p in progress]
        assert states[0] == "submitted" and states[-1] == "completed"
        assert {p.call_id for p in progress} == {call.id}
        streamed = "".join(p.text for p in progress if p.state == "working")
        assert call.result.result in streamed  # the chunks, then the whole output

        turn = await conv.send("use weather_desk for Paris")
        assert not turn.tool_calls[0].is_error

    (context_id,) = server.store.ids()  # both calls went to one remote conversation
    assert remote_turns(server, context_id) == ["Oslo", "Paris"]

    # A later process loads the conversation: the remote context is read from its journal.
    again = boss.aconversation(local.async_client(), store=store, id="boss-1")
    turn = await again.send("use weather_desk for Rome")
    assert not turn.tool_calls[0].is_error
    assert server.store.ids() == [context_id]
    assert remote_turns(server, context_id) == ["Oslo", "Paris", "Rome"]


def calls(*tasks: str) -> ScriptedModel:
    """A local model that calls weather_desk once per turn with each task in turn."""
    model = ScriptedModel()
    for n, task in enumerate(tasks):
        model.add(
            [
                {
                    "type": "function_call",
                    "id": f"c{n}",
                    "name": "weather_desk",
                    "arguments": {"task": task},
                }
            ],
            f"turn {n} done",
        )
    return model


async def test_a_remote_question_comes_back_and_the_answer_continues_the_task(
    server: Server,
) -> None:
    boss = Agent("boss", tools=[remote_tool(server)])
    local = Emulator(model=calls("please delete_file cache.txt", "approve"))
    async with boss.aconversation(local.async_client()) as conv:
        turn = await conv.send("clean the cache")
        result = turn.tool_calls[0].result.result
        assert "waiting for input" in result and "delete_file" in result
        assert deleted == []
        turn = await conv.send("yes, go ahead")
        assert "delete_file returned" in turn.tool_calls[0].result.result
        assert len(deleted) == 1
    (context_id,) = server.store.ids()  # one remote context, one remote task answered
    assert remote_turns(server, context_id) == ["please delete_file cache.txt"]


async def test_a_failed_remote_task_is_an_error_result() -> None:
    # The remote model id is unknown: its API answers 400, the remote task fails.
    srv = Server(Agent("fragile", model="gemini-no-such-model", description="Breaks."))
    desk = remote_tool(srv)
    turn = await Agent("boss", tools=[desk]).arun(
        "use weather_desk: hello", client=Emulator().async_client()
    )
    (call,) = turn.tool_calls
    assert call.is_error and "ended the task failed" in (call.error or "")
    assert "gemini-no-such-model" in (call.error or "")


async def test_an_unreachable_agent_is_an_error_result() -> None:
    desk = agentloop_a2a.A2AAgent("http://127.0.0.1:9", name="nobody", description="Not there.")
    turn = await Agent("boss", tools=[desk]).arun(
        "use nobody: hello", client=Emulator().async_client()
    )
    (call,) = turn.tool_calls
    assert call.is_error and "could not be reached" in (call.error or "")


async def test_recovery_reattaches_to_the_remote_task_instead_of_sending_it_again(
    server: Server,
) -> None:
    boss = Agent("boss", tools=[remote_tool(server)])
    store = SQLiteStore(":memory:")
    local = Emulator()
    async with boss.aconversation(local.async_client(), store=store, id="boss-2") as conv:
        turn = await conv.send("use weather_desk for Lima")
    (call,) = turn.tool_calls
    (context_id,) = server.store.ids()
    assert remote_turns(server, context_id) == ["Lima"]

    # The process died right after the remote task id was journaled, before the result.
    records = store.read("boss-2").records
    cut = next(i for i, r in enumerate(records) if f"call:{call.id}" in r) + 1
    crashed = SQLiteStore(":memory:")
    crashed.append("boss-2", records[:cut], expected_version=0)

    reloaded = boss.aconversation(local.async_client(), store=crashed, id="boss-2")
    assert reloaded.needs_recovery
    again = await reloaded.recover()
    assert again.status == "completed"
    (redone,) = again.tool_calls
    assert redone.id == call.id and not redone.is_error
    assert redone.result.result == call.result.result  # the remote task's output
    assert remote_turns(server, context_id) == ["Lima"]  # not sent again


def test_a2a_agent_wants_an_http_url() -> None:
    with pytest.raises(ConfigurationError, match="base URL"):
        agentloop_a2a.A2AAgent("localhost:8000")


def test_headers_stay_out_of_the_repr() -> None:
    desk = agentloop_a2a.A2AAgent(
        "http://127.0.0.1:8000", name="x", description="X.", headers={"Authorization": "Bearer s3"}
    )
    assert "s3" not in repr(desk)
    (declared,) = desk.tools()
    assert declared.name == "x" and declared.idempotent
    assert list(declared.parameters["properties"]) == ["task"]


async def test_an_answer_reaches_a_remote_agent_that_restarted(tmp_path: Path) -> None:
    path = tmp_path / "remote.db"
    first = Server(weather_agent, SQLiteStore(path))
    switch = Switch(first.app)
    http = httpx.AsyncClient(transport=switch, base_url=BASE)
    desk = agentloop_a2a.A2AAgent(
        BASE, name="weather_desk", description="The desk.", httpx_client=http
    )
    local = Emulator(model=calls("please delete_file cache.txt", "approve"))
    async with Agent("boss", tools=[desk]).aconversation(local.async_client()) as conv:
        turn = await conv.send("clean the cache")
        assert "waiting for input" in turn.tool_calls[0].result.result
        first.store.close()
        second = Server(weather_agent, SQLiteStore(path))  # its task store starts empty
        switch.to(second.app)
        turn = await conv.send("yes")
        (call,) = turn.tool_calls
        assert not call.is_error and "delete_file returned" in call.result.result
    assert len(deleted) == 1


async def test_cancelling_the_callers_turn_cancels_the_remote_task() -> None:
    remote, started, release = jobs_server()
    try:
        with loopback(remote.app) as url:
            seen: list[agentloop_a2a.RemoteProgress] = []
            desk = agentloop_a2a.A2AAgent(
                url, name="jobs", description="Runs jobs.", on_event=seen.append
            )
            conv = Agent("boss", tools=[desk]).aconversation(Emulator().async_client())
            conv.interrupt_grace = 0.1  # the remote job will not finish: no need to wait for it
            running = asyncio.create_task(conv.send("use jobs: long_job nightly"))
            await asyncio.to_thread(started.wait, 30)
            await asyncio.wait_for(_until(lambda: any(e.state == "working" for e in seen)), 30)
            running.cancel()  # after the caller saw the remote task run
            with contextlib.suppress(asyncio.CancelledError):
                await running
            task_id = seen[0].task_id
            async with httpx.AsyncClient(timeout=30, verify=tls()) as http:
                client = await a2a_client.create_client(
                    url, a2a_client.ClientConfig(httpx_client=http)
                )
                task = await client.get_task(a2a_types.GetTaskRequest(id=task_id))
            assert task.status.state == a2a_types.TaskState.TASK_STATE_CANCELED
            release.set()  # the job's thread ends before the server stops
    finally:
        release.set()


async def test_a_missing_token_is_said_to_be_one() -> None:
    srv = Server(weather_agent, token="s3cret-token")
    anonymous = httpx.AsyncClient(
        transport=httpx.ASGITransport(srv.app), base_url=BASE, headers={"a2a-version": "1.0"}
    )
    desk = agentloop_a2a.A2AAgent(
        BASE, name="weather_desk", description="Asks the weather desk.", httpx_client=anonymous
    )
    turn = await Agent("boss", tools=[desk]).arun(
        "use weather_desk: hello", client=Emulator().async_client()
    )
    (call,) = turn.tool_calls
    assert call.is_error and "refused the request (HTTP 401)" in (call.error or "")
    assert "Bearer TOKEN" in (call.error or "") and "could not be reached" not in (call.error or "")


async def test_a_timeout_bounds_a_remote_call_and_cancels_the_remote_task() -> None:
    remote, _started, release = jobs_server()
    try:
        with loopback(remote.app) as url:
            seen: list[agentloop_a2a.RemoteProgress] = []
            desk = agentloop_a2a.A2AAgent(
                url, name="jobs", description="Runs jobs.", on_event=seen.append, timeout=1.0
            )
            turn = await Agent("boss", tools=[desk]).arun(
                "use jobs: long_job nightly", client=Emulator().async_client()
            )
            (call,) = turn.tool_calls
            assert call.is_error and "timed out" in (call.error or "").lower()
            canceled = a2a_types.TaskState.TASK_STATE_CANCELED
            async with httpx.AsyncClient(timeout=30, verify=tls()) as http:
                client = await a2a_client.create_client(
                    url, a2a_client.ClientConfig(httpx_client=http)
                )
                request = a2a_types.GetTaskRequest(id=seen[0].task_id)
                for _ in range(1000):  # the remote agent ends its turn as it is told
                    task = await client.get_task(request)
                    if task.status.state == canceled:
                        break
                    await asyncio.sleep(0.01)
            assert task.status.state == canceled
            release.set()
    finally:
        release.set()


def jobs_server() -> tuple[Server, threading.Event, threading.Event]:
    """A remote agent whose job starts (``started``) and ends when ``release`` is set."""
    started, release = threading.Event(), threading.Event()

    @tool
    async def long_job(name: str) -> str:
        """A long job.

        Args:
            name: The job.
        """
        started.set()
        await asyncio.to_thread(release.wait, 30)
        return "job finished"

    return Server(Agent("jobs", tools=[long_job], description="Runs jobs.")), started, release


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_recovery_follows_a_remote_task_that_is_still_running() -> None:
    from a2a.types import SendMessageConfiguration

    from agentloop.loop.notes import write_note
    from agentloop.tools import ToolContext

    remote, started, release = jobs_server()
    try:
        with loopback(remote.app) as url:
            async with httpx.AsyncClient(timeout=30, verify=tls()) as http:
                client = await a2a_client.create_client(
                    url, a2a_client.ClientConfig(httpx_client=http, streaming=False)
                )
                request = message("long_job nightly")
                request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
                (first,) = await collect(client, request)
            await asyncio.to_thread(started.wait, 30)
            # What a crashed caller left in its journal: the call's remote task id.
            store = SQLiteStore(":memory:")
            conv = Agent("boss").aconversation(Emulator().async_client(), store=store, id="b")
            write_note(conv, f"a2a:{url}:call:c9", first.task.id)
            seen: list[str] = []

            def following(event: agentloop_a2a.RemoteProgress) -> None:
                seen.append(event.state)
                release.set()  # the job ends only once the caller follows the task again

            desk = agentloop_a2a.A2AAgent(
                url, name="jobs", description="Runs jobs.", on_event=following
            )
            ctx = ToolContext(call_id="c9", tool_name="jobs", conversation=conv)
            result = await asyncio.wait_for(desk.tools()[0].function("long_job nightly", ctx), 30)
            assert "job finished" in result
            assert seen[0] == "working" and seen[-1] == "completed"
            (context_id,) = remote.store.ids()
            assert [s.type for s in remote.history(context_id)].count("user_input") == 1
    finally:
        release.set()


async def test_an_answer_to_a_task_cancelled_meanwhile_goes_to_its_context(
    server: Server,
) -> None:
    from a2a.types import CancelTaskRequest

    boss = Agent("boss", tools=[remote_tool(server)])
    local = Emulator(model=calls("please delete_file cache.txt", "what is the weather in Oslo?"))
    async with boss.aconversation(local.async_client()) as conv:
        turn = await conv.send("clean the cache")
        assert "waiting for input" in turn.tool_calls[0].result.result
        client = await server.client()
        (context_id,) = server.store.ids()
        (task,) = (await client.list_tasks(a2a_types.ListTasksRequest(context_id=context_id))).tasks
        await client.cancel_task(CancelTaskRequest(id=task.id))  # someone else cancels it
        turn = await conv.send("never mind, the weather then")
        (call,) = turn.tool_calls
        assert not call.is_error and "Oslo" in call.result.result
    assert deleted == []
    assert server.store.ids() == [context_id]  # the same remote conversation
