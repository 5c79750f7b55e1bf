"""What serving and calling an agent over A2A costs, above the agent's own turn.

All in one process on the emulator (no sockets: ``httpx.ASGITransport``), so the figures are
agentloop's and the a2a-sdk's CPU, not the network's. Per message, medians of interleaved
rounds, each message in a new context (a new journaled conversation):

* the turn alone: ``await agent.aconversation(store=..., id=...).send(text)``;
* served: the same turn through ``agentloop.a2a.create_app``, sent with the a2a-sdk's client
  (``SendMessage``, not streaming);
* called: the same turn through ``A2AAgent`` as a tool (``ToolRegistry.arun``): streamed
  (progress events), plus the caller's side (card cached, no journal);
* the a2a-sdk floor: ``SendMessage`` to the SDK's own app with an executor that answers at
  once (no model, no journal): what the protocol machinery costs by itself.
"""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from typing import Any

from _harness import Row, interleaved_batches, us

BASE = "http://127.0.0.1"


def run(quick: bool) -> list[Row]:
    if importlib.util.find_spec("a2a") is None:
        return [Row("A2A", "", note="skipped: a2a-sdk is not installed (agentloop[a2a])")]
    import httpx
    from a2a.client import ClientConfig, create_client
    from a2a.helpers.proto_helpers import new_text_message
    from a2a.types import Role, SendMessageRequest, TaskState

    from agentloop import Agent, ToolRegistry
    from agentloop.a2a import A2AAgent, create_app
    from agentloop.stores import SQLiteStore
    from agentloop.testing import Emulator
    from agentloop.types import FunctionCallStep

    n, repeats = (20, 3) if quick else (100, 5)
    agent = Agent("echo", description="Echoes.")
    emulator = Emulator()
    store = SQLiteStore(":memory:")
    app = create_app(agent, SQLiteStore(":memory:"), client=emulator.async_client())
    loop = asyncio.new_event_loop()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1")
    config = ClientConfig(httpx_client=http, streaming=False)
    client = loop.run_until_complete(create_client("http://127.0.0.1", config))
    direct_client = emulator.async_client()
    floor = loop.run_until_complete(_floor_client())
    registry = ToolRegistry(
        [A2AAgent("http://127.0.0.1", name="echo", description="Echoes.", httpx_client=http)]
    )

    async def alone(k: int) -> None:
        for _ in range(k):
            conv = agent.aconversation(direct_client, store=store, id=uuid.uuid4().hex)
            turn = await conv.send("hello")
            assert turn.status == "completed"

    async def served(k: int) -> None:
        for _ in range(k):
            message = new_text_message("hello", role=Role.ROLE_USER)
            async for event in client.send_message(SendMessageRequest(message=message)):
                assert event.task.status.state == TaskState.TASK_STATE_COMPLETED

    async def sdk(k: int) -> None:
        for _ in range(k):
            message = new_text_message("hello", role=Role.ROLE_USER)
            async for event in floor.send_message(SendMessageRequest(message=message)):
                assert event.task.status.state == TaskState.TASK_STATE_COMPLETED

    async def called(k: int) -> None:
        for i in range(k):
            call = FunctionCallStep(id=f"c{i}", name="echo", arguments={"task": "hello"})
            (outcome,) = await registry.arun([call])
            assert not outcome.is_error, outcome.result

    try:
        times = interleaved_batches(
            {
                "alone": lambda k: loop.run_until_complete(alone(k)),
                "served": lambda k: loop.run_until_complete(served(k)),
                "called": lambda k: loop.run_until_complete(called(k)),
                "sdk": lambda k: loop.run_until_complete(sdk(k)),
            },
            n=n,
            repeats=repeats,
        )
    finally:
        registry.close()
        loop.run_until_complete(http.aclose())
        left = asyncio.all_tasks(loop)  # the SDK's idle task consumers
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.close()
    return [
        Row(
            "A2A message/send in process: overhead above the agent's own turn",
            us(times["served"] - times["alone"]),
            f"the turn alone {us(times['alone'])}",
            f"{times['served'] / times['alone']:.2f}x the turn",
            note=f"the a2a-sdk alone (an executor that answers at once): {us(times['sdk'])}",
            values=times,
        ),
        Row(
            "A2AAgent tool call in process: overhead above the agent's own turn",
            us(times["called"] - times["alone"]),
            f"the turn alone {us(times['alone'])}",
            f"{times['called'] / times['alone']:.2f}x the turn",
            values=times,
        ),
    ]


async def _floor_client() -> Any:
    """The a2a-sdk's own app and client, with an executor that completes at once."""
    import httpx
    from a2a.client import ClientConfig, create_client
    from a2a.helpers.proto_helpers import new_task_from_user_message, new_text_part
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
    from starlette.applications import Starlette

    class AtOnce(AgentExecutor):
        async def execute(self, context: RequestContext, queue: EventQueue) -> None:
            assert context.message is not None
            assert context.task_id is not None and context.context_id is not None
            updater = TaskUpdater(queue, context.task_id, context.context_id)
            await queue.enqueue_event(new_task_from_user_message(context.message))
            await updater.start_work()
            await updater.add_artifact([new_text_part("hello")], artifact_id="response")
            await updater.complete()

        async def cancel(self, context: RequestContext, queue: EventQueue) -> None:
            pass

    interface = AgentInterface(url=BASE, protocol_binding="JSONRPC", protocol_version="1.0")
    card = AgentCard(
        name="floor",
        description="Answers at once.",
        version="1",
        supported_interfaces=[interface],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="floor", name="floor", description="Answers.", tags=["x"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=AtOnce(), task_store=InMemoryTaskStore(), agent_card=card
    )
    app = Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE)
    return await create_client(BASE, ClientConfig(httpx_client=http, streaming=False))
