"""The emulator as a Starlette (ASGI) app. Imports starlette, so load it lazily."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["StreamDropped", "create_app"]

_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH"]


class StreamDropped(Exception):
    """Raised inside the response stream to make the server cut the connection."""


def create_app(emulator: Emulator, *, sleep: Callable[[float], Any] | None = None) -> Starlette:
    """A Starlette app answering every path through ``emulator.handle``."""
    do_sleep = sleep or asyncio.sleep

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        result = emulator.handle(
            request.method,
            request.scope["path"],
            dict(request.query_params),
            dict(request.headers),
            body,
        )
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

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])


async def _frames(frames: Iterator[bytes], drop_after: int | None) -> AsyncIterator[bytes]:
    for sent, frame in enumerate(frames):
        if drop_after is not None and sent >= drop_after:
            # An exception after the headers went out makes uvicorn close the connection
            # without ending the chunked body: the client sees a dropped stream.
            raise StreamDropped(f"emulated fault: connection dropped after {drop_after} events")
        yield frame
        await asyncio.sleep(0)
