"""The emulator as a Starlette (ASGI) app. Imports starlette, so load it lazily."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from .emulator import Emulator, EmulatorResponse

__all__ = ["ACCESS_LOGGER", "StreamDropped", "create_app"]

_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH"]
ACCESS_LOGGER = "agentloop.emulator.access"
"""The logger of the access log: one INFO line per request, the ``key`` query redacted."""
access_log = logging.getLogger(ACCESS_LOGGER)


class StreamDropped(Exception):
    """Raised inside the response stream to make the server cut the connection."""


def create_app(emulator: Emulator, *, sleep: Callable[[float], Any] | None = None) -> Starlette:
    """A Starlette app answering every path through ``emulator.handle`` (``app.state.emulator``).

    Bodies over ``emulator.max_body_bytes`` get 413 before they are read (by their
    ``content-length``) or as soon as the limit is passed. With the ``ACCESS_LOGGER`` enabled
    at INFO, each request is logged in one line.
    """
    do_sleep = sleep or asyncio.sleep

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        body = await _read_body(request, emulator.max_body_bytes)
        if body is None:
            result = emulator.too_large(_declared_length(request))
        else:
            result = emulator.handle(
                request.method,
                request.scope["path"],
                dict(request.query_params),
                dict(request.headers),
                body,
            )
        if access_log.isEnabledFor(logging.INFO):
            _log_access(request, result, time.perf_counter() - started)
        if result.delay:
            await do_sleep(result.delay)
        if result.events is None:
            return Response(result.body, status_code=result.status, headers=result.headers)
        return StreamingResponse(
            _frames(result.events, result.drop_after),
            status_code=result.status,
            headers=result.headers,
            media_type="text/event-stream",
        )

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])
    app.state.emulator = emulator
    return app


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.headers.get("content-length", ""))
    except ValueError:
        return None


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or ``None`` as soon as it is known to exceed ``limit`` (never read past it)."""
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _log_access(request: Request, result: EmulatorResponse, seconds: float) -> None:
    client = request.client
    who = f"{client.host}:{client.port}" if client else "-"
    path = request.scope["path"]
    query = request.scope.get("query_string", b"").decode("latin-1")
    if query:
        pairs = [(k, "<redacted>" if k == "key" else v) for k, v in parse_qsl(query, True)]
        path += "?" + urlencode(pairs, safe="<>")
    kind = " (stream)" if result.is_stream else ""
    access_log.info(
        '%s - "%s %s" %d%s %.1f ms',
        who,
        request.method,
        path,
        result.status,
        kind,
        seconds * 1000,
    )


async def _frames(frames: Iterator[bytes], drop_after: int | None) -> AsyncIterator[bytes]:
    for sent, frame in enumerate(frames):
        if drop_after is not None and sent >= drop_after:
            # An exception after the headers went out makes uvicorn close the connection
            # without ending the chunked body: the client sees a dropped stream.
            raise StreamDropped(f"emulated fault: connection dropped after {drop_after} events")
        yield frame
        await asyncio.sleep(0)
