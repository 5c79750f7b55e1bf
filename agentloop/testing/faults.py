"""Fault injection: scheduled HTTP errors, latency and streams dropped mid-way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Faults", "HttpErrorFault", "StreamErrorFault"]

Match = Callable[[str, str], bool]


@dataclass
class HttpErrorFault:
    status: int
    remaining: int | None
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    message: str | None = None
    match: Match | None = None


@dataclass
class StreamErrorFault:
    after_events: int
    remaining: int | None
    code: int
    status: str
    message: str
    match: Match | None = None


@dataclass
class _Counted:
    value: float
    remaining: int | None
    match: Match | None = None


def _matches(match: Match | None, method: str, path: str) -> bool:
    return match is None or match(method, path)


def _take(items: list[Any], method: str, path: str) -> Any:
    for item in items:
        if not _matches(item.match, method, path):
            continue
        if item.remaining is not None:
            item.remaining -= 1
            if item.remaining <= 0:
                items.remove(item)
        return item
    return None


class Faults:
    """Faults to apply to the next requests, in the order they were scheduled.

    ``match`` (optional) is ``match(method, path) -> bool`` to target some requests only.
    ``count=None`` means every matching request from now on. ``clear()`` removes everything.
    """

    def __init__(self) -> None:
        self._errors: list[HttpErrorFault] = []
        self._latency: list[_Counted] = []
        self._drops: list[_Counted] = []
        self._stream_errors: list[StreamErrorFault] = []

    def http_error(
        self,
        status: int,
        *,
        count: int | None = 1,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        message: str | None = None,
        match: Match | None = None,
    ) -> Faults:
        """Answer the next ``count`` requests with ``status`` (e.g. 408, 429, 500, 503)."""
        self._errors.append(
            HttpErrorFault(status, count, retry_after, retry_after_ms, message, match)
        )
        return self

    def latency(
        self, seconds: float, *, count: int | None = 1, match: Match | None = None
    ) -> Faults:
        """Delay the next ``count`` responses by ``seconds`` (applied by the I/O adapters)."""
        self._latency.append(_Counted(seconds, count, match))
        return self

    def drop_stream(
        self, after_events: int, *, count: int | None = 1, match: Match | None = None
    ) -> Faults:
        """Cut the next ``count`` SSE responses after ``after_events`` events."""
        self._drops.append(_Counted(after_events, count, match))
        return self

    def stream_error(
        self,
        after_events: int,
        *,
        code: int = 500,
        status: str = "INTERNAL",
        message: str | None = None,
        count: int | None = 1,
        match: Match | None = None,
    ) -> Faults:
        """End the next ``count`` SSE responses with an ``error`` event after
        ``after_events`` events (the API's mid-stream failure: HTTP 200, then
        ``{"event_type": "error", "error": {...}}``, then the stream closes)."""
        text = message or f"emulated mid-stream error after {after_events} events"
        self._stream_errors.append(StreamErrorFault(after_events, count, code, status, text, match))
        return self

    def clear(self) -> None:
        """Forget every fault still pending."""
        self._errors.clear()
        self._latency.clear()
        self._drops.clear()
        self._stream_errors.clear()

    # --- used by the emulator core ---

    def _take_error(self, method: str, path: str) -> HttpErrorFault | None:
        fault: HttpErrorFault | None = _take(self._errors, method, path)
        return fault

    def _take_latency(self, method: str, path: str) -> float:
        item = _take(self._latency, method, path)
        return float(item.value) if item is not None else 0.0

    def _take_stream_error(self, method: str, path: str) -> StreamErrorFault | None:
        fault: StreamErrorFault | None = _take(self._stream_errors, method, path)
        return fault

    def _take_drop(self, method: str, path: str) -> int | None:
        item = _take(self._drops, method, path)
        return int(item.value) if item is not None else None
