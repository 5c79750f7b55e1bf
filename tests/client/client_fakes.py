"""Shared fakes for client tests: a scripted MockTransport server and SSE helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from agentloop import AsyncClient, Client

CANARY = "AIzaSy-CANARY-8c1f2e77-do-not-leak"
BASE = "http://api.test"

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


def interaction(id: str = "int_1", status: str = "completed", text: str = "hi") -> dict[str, Any]:
    return {
        "id": id,
        "object": "interaction",
        "status": status,
        "model": "gemini-3.5-flash",
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": text}]}],
        "usage": {"total_tokens": 7},
    }


def json_reply(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


def error_reply(
    status: int, message: str = "boom", api_status: str | None = None, **headers: str
) -> httpx.Response:
    err: dict[str, Any] = {"code": status, "message": message}
    if api_status:
        err["status"] = api_status
    return httpx.Response(status, json={"error": err}, headers=headers)


def sse_bytes(events: list[dict[str, Any]], *, done: bool = False) -> bytes:
    out = "".join(f"event: {e.get('event_type')}\ndata: {json.dumps(e)}\n\n" for e in events)
    if done:
        out += "data: [DONE]\n\n"
    return out.encode()


class DroppingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields the given chunks, then breaks the connection (httpx.ReadError)."""

    def __init__(self, chunks: list[bytes], *, drop: bool = True) -> None:
        self.chunks = chunks
        self.drop = drop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.drop:
            raise httpx.ReadError("connection reset by peer")


def sse_reply(
    events: list[dict[str, Any]], *, drop: bool = False, chunk: int = 0
) -> httpx.Response:
    data = sse_bytes(events)
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=DroppingStream(chunks, drop=drop),
    )


class Server:
    """Answers requests from a script (a list of replies, last one repeats) and records them."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request) if callable(reply) else reply

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


class Sleeps:
    """Injectable sleep that records instead of sleeping (sync and async)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(server: Server, sleeps: Sleeps | None = None, **kwargs: Any) -> Client:
    sleeps = sleeps or Sleeps()
    kwargs.setdefault("api_key", CANARY)
    return Client(
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
        sleep=sleeps,
        **kwargs,
    )


def make_async_client(server: Server, sleeps: Sleeps | None = None, **kwargs: Any) -> AsyncClient:
    sleeps = sleeps or Sleeps()
    kwargs.setdefault("api_key", CANARY)
    return AsyncClient(
        base_url=BASE,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
        sleep=sleeps.asleep,
        **kwargs,
    )


def text_stream_events(
    id: str = "int_s", texts: tuple[str, ...] = ("Hello ", "world")
) -> list[dict[str, Any]]:
    """A canonical stream: created, thought, model_output text deltas, completed."""
    events: list[dict[str, Any]] = [
        {"event_type": "interaction.created", "interaction": {"id": id, "status": "in_progress"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "thought"}},
        {
            "event_type": "step.delta",
            "index": 0,
            "delta": {"type": "thought_signature", "signature": "c2ln"},
        },
        {"event_type": "step.stop", "index": 0},
        {"event_type": "step.start", "index": 1, "step": {"type": "model_output"}},
    ]
    events += [
        {"event_type": "step.delta", "index": 1, "delta": {"type": "text", "text": t}}
        for t in texts
    ]
    events += [
        {"event_type": "step.stop", "index": 1},
        {
            "event_type": "interaction.completed",
            "interaction": {"id": id, "status": "completed", "usage": {"total_tokens": 9}},
        },
    ]
    for n, event in enumerate(events, 1):
        event["event_id"] = f"ev{n}"
    return events
