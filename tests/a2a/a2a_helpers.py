"""Helpers of the A2A tests: agents, an in-process A2A server and the a2a-sdk's client."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
from _lazy import lazy_module

from agentloop import Agent, tool
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator
from agentloop.testing.server import DEFAULT_SIGNING_KEY

if TYPE_CHECKING:
    from a2a.client import Client
    from a2a.types import SendMessageRequest, StreamResponse

# a2a-sdk and agentloop.a2a load in the worker that runs the A2A tests, not at collection.
a2a_client = lazy_module("a2a.client")
a2a_types = lazy_module("a2a.types")
proto = lazy_module("a2a.helpers.proto_helpers")
agentloop_a2a = lazy_module("agentloop.a2a")

BASE = "http://127.0.0.1"

deleted: list[str] = []


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 22}


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (asks first).

    Args:
        path: The file to delete.
    """
    deleted.append(path)
    return f"deleted {path}"


weather_agent = Agent(
    "weather",
    instructions="Answer weather questions briefly.",
    tools=[get_weather, delete_file],
    description="Knows the weather of any city.",
)


def message(text: str, *, context_id: str = "", task_id: str = "") -> SendMessageRequest:
    msg = proto.new_text_message(text, role=a2a_types.Role.ROLE_USER, context_id=context_id or None)
    if task_id:
        msg.task_id = task_id
    request: SendMessageRequest = a2a_types.SendMessageRequest(message=msg)
    return request


async def collect(client: Client, request: SendMessageRequest) -> list[StreamResponse]:
    return [event async for event in client.send_message(request)]


class Server:
    """An A2A app in process, reached through httpx.ASGITransport."""

    def __init__(
        self, agent: Agent, store: Any = None, *, token: str | None = None, model: Any = None
    ) -> None:
        # The fixed key of the CLI's emulator: a "restarted" server accepts old signatures.
        self.emulator = Emulator(signing_key=DEFAULT_SIGNING_KEY, model=model)
        self.store = store if store is not None else SQLiteStore(":memory:")
        self.app = agentloop_a2a.create_app(
            agent, self.store, client=self.emulator.async_client(), token=token
        )
        headers = {"a2a-version": "1.0"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(self.app), base_url=BASE, headers=headers
        )

    async def client(self, *, streaming: bool = False) -> Client:
        config = a2a_client.ClientConfig(httpx_client=self.http, streaming=streaming)
        client: Client = await a2a_client.create_client(BASE, config)
        return client

    async def rpc(self, method: str, params: Any, *, id: Any = 1) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": id, "method": method, "params": params}
        response = await self.http.post("/", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def history(self, context_id: str) -> list[Any]:
        """The journaled steps of the conversation behind ``context_id``."""
        conv = Agent("reader").conversation(self.emulator.client(), store=self.store, id=context_id)
        return conv.history


class Switch(httpx.AsyncBaseTransport):
    """An in-process transport whose app can be replaced (a server that restarts)."""

    def __init__(self, app: Any) -> None:
        self.to(app)

    def to(self, app: Any) -> None:
        self.transport = httpx.ASGITransport(app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.transport.handle_async_request(request)


@contextlib.contextmanager
def loopback(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread (real streaming)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
