"""In-process httpx transport (sync and async) over ``Emulator.handle`` — no sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .emulator import Emulator, EmulatorResponse

__all__ = ["EmulatorTransport"]


class _EventStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """SSE frames for both sync and async clients; may cut the stream after N events."""

    def __init__(self, frames: Iterator[bytes], drop_after: int | None) -> None:
        self._frames = frames
        self._drop_after = drop_after

    def _chunks(self) -> Iterator[bytes]:
        for sent, frame in enumerate(self._frames):
            if self._drop_after is not None and sent >= self._drop_after:
                raise httpx.RemoteProtocolError(
                    f"emulated fault: connection dropped after {self._drop_after} events"
                )
            yield frame

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


class EmulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Use as ``httpx.Client(transport=t)`` or ``httpx.AsyncClient(transport=t)``.

    Latency faults are applied with ``sleep`` / ``async_sleep`` (injectable for tests).
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self.emulator = emulator
        self._sleep = sleep or time.sleep
        self._async_sleep = async_sleep or asyncio.sleep

    def _call(self, request: httpx.Request, body: bytes) -> EmulatorResponse:
        query = {k: v for k, v in request.url.params.multi_items()}
        return self.emulator.handle(
            request.method, request.url.path, query, dict(request.headers), body
        )

    @staticmethod
    def _response(result: EmulatorResponse, request: httpx.Request) -> httpx.Response:
        if result.events is not None:
            return httpx.Response(
                result.status,
                headers=result.headers,
                request=request,
                stream=_EventStream(result.events, result.drop_after),
            )
        return httpx.Response(
            result.status, headers=result.headers, content=result.body, request=request
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        result = self._call(request, request.read())
        if result.delay:
            self._sleep(result.delay)
        return self._response(result, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        result = self._call(request, await request.aread())
        if result.delay:
            await self._async_sleep(result.delay)
        return self._response(result, request)
