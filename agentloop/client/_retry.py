"""Retry policy, decisions and notifications (sans-I/O; the drivers do the sleeping).

The first attempt of every call runs without tenacity: a tenacity ``Retrying`` object is only
built once an attempt has failed with something worth retrying, so the common path pays
nothing for it.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from agentloop.errors import APIError

__all__ = [
    "RetryEvent",
    "RetryPolicy",
    "emit_retry",
    "on_retry",
    "parse_retry_after",
]

logger = logging.getLogger("agentloop.client")

_RETRY_STATUSES = frozenset({408, 409, 429})
# Only failures that happen before the request reached the server are safe to resend.
_RETRY_TRANSPORT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """One retry about to happen (or one stream reconnect)."""

    attempt: int
    """The attempt that just failed (1 = the first try)."""
    wait: float
    """Seconds until the next attempt."""
    status_code: int | None
    """HTTP status of the failure, None for a connection problem."""
    kind: str
    """Error class name: ``RateLimitError``, ``ConnectError``, ``StreamDropped``..."""
    message: str


_callbacks: ContextVar[tuple[Callable[[RetryEvent], None], ...]] = ContextVar(
    "agentloop_retry_callbacks", default=()
)


def on_retry(callback: Callable[[RetryEvent], None]) -> contextlib.AbstractContextManager[None]:
    """Call ``callback`` for every retry made in the current context (thread or task) only."""
    return _Listening(callback)


class _Listening(contextlib.AbstractContextManager[None]):
    # A class, not @contextmanager: every model request of a conversation enters one.
    __slots__ = ("_callback", "_token")

    def __init__(self, callback: Callable[[RetryEvent], None]) -> None:
        self._callback = callback

    def __enter__(self) -> None:
        self._token = _callbacks.set((*_callbacks.get(), self._callback))

    def __exit__(self, *exc_info: object) -> None:
        _callbacks.reset(self._token)


def emit_retry(event: RetryEvent) -> None:
    logger.info(
        "retrying in %.2fs after attempt %d failed: %s %s",
        event.wait,
        event.attempt,
        event.status_code if event.status_code is not None else event.kind,
        event.message,
    )
    for callback in _callbacks.get():
        callback(event)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms`` wins over ``Retry-After``
    (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _event_for(attempt: int, wait: float, exc: BaseException | None) -> RetryEvent:
    if isinstance(exc, APIError):
        return RetryEvent(attempt, wait, exc.status_code, type(exc).__name__, exc.message)
    kind = type(exc).__name__ if exc is not None else "StreamDropped"
    return RetryEvent(attempt, wait, None, kind, str(exc) if exc is not None else "")


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried. ``RetryPolicy(max_retries=0)`` disables retries."""

    max_retries: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    """A longer server-requested wait is not slept on: the error is raised instead."""
    retry_statuses: frozenset[int] | None = None
    """HTTP statuses to retry; None means 408, 409, 429 and every 5xx."""

    def should_retry(self, exc: BaseException) -> bool:
        """Whether a request that failed with ``exc`` is tried again (status and error kind)."""
        if isinstance(exc, APIError):
            code = exc.status_code
            if code is None:
                return False
            if self.retry_statuses is not None:
                wanted = code in self.retry_statuses
            else:
                wanted = code in _RETRY_STATUSES or code >= 500
            if not wanted:
                return False
            return exc.retry_after is None or exc.retry_after <= self.max_retry_after
        return isinstance(exc, _RETRY_TRANSPORT)

    def _backoff(self) -> tenacity.wait.wait_base:
        return tenacity.wait_exponential_jitter(
            initial=self.initial_delay, max=self.max_delay, jitter=self.jitter
        )

    def backoff(self, attempt: int) -> float:
        """The backoff wait after failed attempt ``attempt`` (1-based)."""
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.attempt_number = attempt
        return float(self._backoff()(state))

    def _tenacity_kwargs(self) -> dict[str, Any]:
        backoff = self._backoff()

        def wait(state: tenacity.RetryCallState) -> float:
            # The server's hint wins (a zero hint falls back to backoff, like the SDK).
            exc = state.outcome.exception() if state.outcome else None
            hint = getattr(exc, "retry_after", None)
            return float(hint) if hint else float(backoff(state))

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait_s = state.next_action.sleep if state.next_action else 0.0
            emit_retry(_event_for(state.attempt_number, wait_s, exc))

        return {
            "stop": tenacity.stop_after_attempt(self.max_retries + 1),
            "wait": wait,
            "retry": tenacity.retry_if_exception(self.should_retry),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def retrying(self, sleep: Callable[[float], None]) -> tenacity.Retrying:
        """A tenacity ``Retrying`` following this policy, waiting with ``sleep``."""
        return tenacity.Retrying(sleep=sleep, **self._tenacity_kwargs())

    def async_retrying(self, sleep: Callable[[float], Any]) -> tenacity.AsyncRetrying:
        """A tenacity ``AsyncRetrying`` following this policy, waiting with ``sleep``."""
        return tenacity.AsyncRetrying(sleep=sleep, **self._tenacity_kwargs())

    def stream_retry_event(self, attempt: int, exc: BaseException | None) -> RetryEvent:
        """The event (and wait) before reconnecting a dropped stream."""
        return _event_for(attempt, self.backoff(attempt), exc)
