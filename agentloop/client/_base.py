"""What ``Client`` and ``AsyncClient`` share: configuration, retry policy and identity."""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import httpx

from agentloop.errors import ConfigurationError, StateError

from . import _core
from ._core import ClientConfig, TimeoutTypes
from ._retry import RetryPolicy
from ._stream import StreamState

__all__ = ["MISSING", "AsyncClientBase", "ClientBase", "policy_from", "tls_context"]

MISSING: Any = object()
H = TypeVar("H", httpx.Client, httpx.AsyncClient)


def policy_from(
    retry: RetryPolicy | None, max_retries: int | None, max_retry_after: float | None
) -> RetryPolicy:
    policy = retry or RetryPolicy()
    if max_retries is not None and (
        isinstance(max_retries, bool) or not isinstance(max_retries, int)
    ):
        raise ConfigurationError(
            f"max_retries is a whole number (0: no retries), not {type(max_retries).__name__} "
            f"{max_retries!r}"
        )
    if max_retry_after is not None and (
        isinstance(max_retry_after, bool) or not isinstance(max_retry_after, (int, float))
    ):
        raise ConfigurationError(
            f"max_retry_after is a number of seconds, not {type(max_retry_after).__name__}"
        )
    changes: dict[str, Any] = {}
    if max_retries is not None:
        changes["max_retries"] = max(0, max_retries)
    if max_retry_after is not None:
        changes["max_retry_after"] = max_retry_after
    if not changes:
        return policy
    return RetryPolicy(**{**policy.__dict__, **changes})


def tls_context() -> ssl.SSLContext:
    """The TLS context of the httpx clients a ``Client`` creates, shared by all of them.

    Building one loads the CA bundle (about 20 ms of CPU), which httpx would otherwise do for
    every client; httpx recommends sharing one. It is httpx's own default context, rebuilt when
    ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` (which httpx reads) change.
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _nothing_configured(api_key: str | None, base_url: str | None, http_client: Any) -> bool:
    return (
        api_key is None
        and base_url is None
        and http_client is None
        and not os.environ.get("GEMINI_API_KEY", "").strip()
        and not os.environ.get("GEMINI_BASE_URL", "").strip()
    )


class ClientBase(Generic[H]):
    """Configuration shared by the two drivers; only the byte transport differs."""

    _config: ClientConfig
    _retry: RetryPolicy
    _http: H
    _owns_http: bool
    _make_http: Callable[[], H]
    _closed: bool
    _offline: bool
    _requests: _core.RequestFactory

    def _setup(
        self,
        api_key: str | None,
        base_url: str | None,
        api_version: str,
        timeout: TimeoutTypes,
        max_retries: int | None,
        http_client: H | None,
        retry: RetryPolicy | None,
        max_retry_after: float | None,
        make_http: Callable[[TimeoutTypes, Any], H],
        stream_idle_timeout: float | None = _core.DEFAULT_STREAM_IDLE_TIMEOUT,
    ) -> None:
        transport: Any = None
        self._offline = _nothing_configured(api_key, base_url, http_client)
        if self._offline:
            # Nothing points this client at the API: the bundled emulator answers, as the
            # CLI does without a key, and one log line per process says so.
            from agentloop.testing.offline import (
                OFFLINE_BASE_URL,
                announce_offline,
                bundled_emulator,
            )

            transport = bundled_emulator().transport()
            api_key, base_url = "offline", OFFLINE_BASE_URL
            announce_offline()
        self._config = ClientConfig(api_key, base_url, api_version, stream_idle_timeout)
        self._retry = policy_from(retry, max_retries, max_retry_after)
        self._owns_http = http_client is None
        call_timeout: TimeoutTypes = None
        if http_client is None:
            # Our own httpx client carries the timeout; per-call timeouts stay None.
            own_timeout = _core.DEFAULT_TIMEOUT if timeout is MISSING else timeout
            self._make_http = lambda: make_http(own_timeout, transport)
            http_client = self._make_http()
        elif timeout is not MISSING:
            call_timeout = timeout
        self._closed = False
        self._closed_by: str | None = None  # who closes it, when not its own caller
        self._use(http_client, call_timeout)

    def _use(self, http_client: H, call_timeout: TimeoutTypes = None) -> None:
        self._http = http_client
        self._requests = _core.RequestFactory(self._config, http_client, call_timeout)

    def _transport(self) -> H:
        """The HTTP client the next request goes through: not a closed one."""
        if self._closed or self._http.is_closed:
            if self._closed_by is not None:  # a client a conversation made for itself
                raise StateError(
                    f"this conversation is closed: the {type(self).__name__} it made was closed "
                    f"by {self._closed_by}; create a new conversation, or load this one "
                    "from its store (store.load(id, ...))"
                )
            raise StateError(
                f"this {type(self).__name__} is closed (close() was called, its with block "
                "ended, or the http_client given to it was closed): create a new one"
            )
        return self._http

    def _close_http(self) -> None:
        self._closed = True
        if self._owns_http:
            http: Any = self._http  # an httpx.Client: AsyncClientBase closes its own
            http.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._config!r})"

    @property
    def offline(self) -> bool:
        """True when this client talks to the bundled emulator because nothing configured it.

        That is: no ``api_key``, no ``GEMINI_API_KEY``, no ``base_url``, no
        ``GEMINI_BASE_URL`` and no ``http_client``. A server that must never answer from the
        emulator can refuse to start when this is true.
        """
        return self._offline

    @property
    def base_url(self) -> str:
        """The API root requests go to (``GEMINI_BASE_URL`` or the public endpoint)."""
        return self._config.base_url

    @property
    def api_version(self) -> str:
        """The API revision sent with every request."""
        return self._config.api_version

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed requests are retried."""
        return self._retry

    @property
    def stream_idle_timeout(self) -> float | None:
        """Seconds a stream may go without an event before it counts as dropped."""
        return self._config.stream_idle_timeout

    def _stream_state(
        self, *, resend: bool, interaction_id: str | None = None, last_event_id: str | None = None
    ) -> StreamState:
        return StreamState(
            max_resumes=self._retry.max_retries,
            interaction_id=interaction_id,
            last_event_id=last_event_id,
            resend=resend,
            idle_timeout=self._config.stream_idle_timeout,
            scrub=self._config.scrubber,
        )


class AsyncClientBase(ClientBase[httpx.AsyncClient]):
    """An ``AsyncClient``'s connections belong to the event loop they were opened in. Used in
    a new loop after that one ended (``asyncio.run`` twice, or a synchronous entry point that
    ran its own loop, as ``evals.evaluate``), a client that made its own httpx client starts a
    new one: the old connections can be neither used nor closed from the new loop. (A
    caller's ``http_client`` is the caller's to manage.)"""

    _loop: asyncio.AbstractEventLoop | None = None

    def _transport(self) -> httpx.AsyncClient:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio, through httpx's anyio): left to httpx
            return super()._transport()
        if loop is not self._loop:
            old, self._loop = self._loop, loop
            if old is not None and old.is_closed() and self._owns_http and not self._closed:
                self._use(self._make_http())
        return super()._transport()

    async def _leave_loop(self) -> None:
        """Close the connections opened in the running event loop, which is about to end (a
        synchronous entry point that ran its own loop, as ``evals.evaluate``): no later loop
        could close them. The next request, in any loop, opens new ones. Only for a client
        that made its own httpx client."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio: nothing of ours is bound to a loop
            return
        if self._owns_http and not self._closed and self._loop is loop:
            old = self._http
            self._use(self._make_http())
            self._loop = None
            await old.aclose()

    async def _close_http(self) -> None:  # type: ignore[override]
        self._closed = True
        loop = self._loop
        if self._owns_http and (loop is None or not loop.is_closed()):
            await self._http.aclose()
