"""The sync driver: ``Client`` on ``httpx.Client``. All decisions live in the sans-I/O core."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, overload

import httpx
from typing_extensions import Self, Unpack

from agentloop.errors import AgentloopError, StreamNotFinishedError
from agentloop.types import Interaction, InteractionEvent

from . import _core, _http
from ._base import MISSING as _MISSING
from ._base import ClientBase, tls_context
from ._core import DEFAULT_STREAM_IDLE_TIMEOUT, CreateParams, RequestSpec, TimeoutTypes
from ._retry import RetryPolicy, emit_retry
from ._stream import StreamState

__all__ = ["Client", "InteractionStream", "Interactions"]


class Client(ClientBase[httpx.Client]):
    """A client of the Gemini Interactions API.

    >>> client = Client()                      # key from GEMINI_API_KEY
    >>> it = client.interactions.create(model="gemini-3.5-flash", input="Hello")
    >>> it.output_text

    ``stream_idle_timeout`` (seconds, default 600, ``None`` for no deadline): a stream that
    sends no event for that long (keep-alive comments do not count) is treated as dropped:
    it is resumed from its last event, or ends with ``StreamTimeoutError`` (an
    ``APITimeoutError``). A caller's ``http_client`` is used as is: its headers, params,
    cookies, auth and event hooks apply to every request.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str = "v1beta",
        timeout: TimeoutTypes = _MISSING,
        max_retries: int | None = None,
        http_client: httpx.Client | None = None,
        *,
        retry: RetryPolicy | None = None,
        max_retry_after: float | None = None,
        stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._setup(
            api_key,
            base_url,
            api_version,
            timeout,
            max_retries,
            http_client,
            retry,
            max_retry_after,
            lambda t, transport: _http.Client(timeout=t, transport=transport, verify=tls_context()),
            stream_idle_timeout,
        )
        self._sleep = sleep
        self.interactions = Interactions(self)

    def close(self) -> None:
        """Close the HTTP client if this client created it; using this client after raises."""
        self._close_http()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------------

    def _attempt(self, spec: RequestSpec) -> httpx.Response:
        response = self._transport().send(self._requests.build(spec), stream=spec.stream)
        if response.status_code == 200 and (
            not spec.stream or _core.is_event_stream(response.headers)
        ):
            return response
        if spec.stream:
            try:
                response.read()
            finally:
                response.close()
        if response.status_code == 200:  # a stream request answered with JSON, HTML...
            raise _core.stream_content_error(self._config, response.headers, response.content)
        raise _core.api_error(
            self._config, response.status_code, response.headers, response.content
        )

    def _send(self, spec: RequestSpec) -> httpx.Response:
        """Send with retries; httpx failures come out as agentloop errors."""
        try:
            return self._send_retrying(spec)
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            error = _core.request_error(self._config, exc, spec)
        raise error  # outside the except block: no httpx request (and header) in the context

    def _send_retrying(self, spec: RequestSpec) -> httpx.Response:
        try:
            return self._attempt(spec)  # the common case: no tenacity at all
        except (AgentloopError, httpx.TransportError) as exc:
            if not self._retry.should_retry(exc) or self._retry.max_retries < 1:
                raise
            first: BaseException | None = exc
        for attempt in self._retry.retrying(self._sleep):
            with attempt:
                if first is not None:
                    replay, first = first, None
                    raise replay  # lets tenacity account for the failed first attempt
                return self._attempt(spec)
        raise AssertionError("unreachable: tenacity reraises the last error")


class Interactions:
    """``client.interactions``: create, get, cancel, delete and wait."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._config = client._config

    @overload
    def create(
        self,
        *,
        stream: Literal[True],
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes = None,
        **body: Unpack[CreateParams],
    ) -> InteractionStream: ...

    @overload
    def create(
        self,
        *,
        stream: Literal[False] = False,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes = None,
        **body: Unpack[CreateParams],
    ) -> Interaction: ...

    def create(
        self,
        *,
        stream: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes = None,
        **body: Any,
    ) -> Interaction | InteractionStream:
        """Create an interaction; keyword arguments are the request body fields (spec 2).

        With ``stream=True`` returns an :class:`InteractionStream` of typed events.
        """
        spec = _core.build_create(
            self._config, body, stream=stream, extra_body=extra_body, timeout=timeout
        )
        if stream:
            state = self._client._stream_state(resend=False)
            return InteractionStream._open(self._client, spec, state)
        return _core.parse_interaction(self._config, self._client._send(spec).content)

    @overload
    def get(
        self,
        interaction_id: str,
        *,
        stream: Literal[True],
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: TimeoutTypes = None,
    ) -> InteractionStream: ...

    @overload
    def get(
        self,
        interaction_id: str,
        *,
        stream: Literal[False] = False,
        include_input: bool | None = None,
        timeout: TimeoutTypes = None,
    ) -> Interaction: ...

    def get(
        self,
        interaction_id: str,
        *,
        stream: bool = False,
        last_event_id: str | None = None,
        include_input: bool | None = None,
        timeout: TimeoutTypes = None,
    ) -> Interaction | InteractionStream:
        """Fetch an interaction, or (``stream=True``) reopen its event stream after
        ``last_event_id``."""
        spec = _core.build_get(
            self._config,
            interaction_id,
            stream=stream,
            last_event_id=last_event_id,
            include_input=include_input,
            timeout=timeout,
        )
        if stream:
            state = self._client._stream_state(
                resend=True, interaction_id=interaction_id, last_event_id=last_event_id
            )
            return InteractionStream._open(self._client, spec, state)
        return _core.parse_interaction(self._config, self._client._send(spec).content)

    def cancel(self, interaction_id: str, *, timeout: TimeoutTypes = None) -> Interaction:
        """Cancel a running background interaction."""
        spec = _core.build_cancel(self._config, interaction_id, timeout)
        return _core.parse_interaction(self._config, self._client._send(spec).content)

    def delete(self, interaction_id: str, *, timeout: TimeoutTypes = None) -> None:
        """Delete a stored interaction."""
        self._client._send(_core.build_delete(self._config, interaction_id, timeout))

    def wait(
        self,
        interaction_id: str,
        *,
        poll_interval: float = 1.0,
        max_interval: float = 10.0,
        timeout: float | None = None,
    ) -> Interaction:
        """Poll a background interaction until it is no longer queued or in progress."""
        plan = _core.WaitPlan(interaction_id, poll_interval, max_interval, timeout)
        while True:
            interaction = self.get(interaction_id)
            delay = plan.next_delay(interaction)
            if delay is None:
                return interaction
            self._client._sleep(delay)


class InteractionStream:
    """The events of one interaction, as they arrive; :attr:`interaction` at the end.

    Dropped connections are resumed from the last event id, so each event is seen once. A
    create is never sent twice: a stream that breaks before its first event ends with an
    error instead.
    """

    def __init__(
        self, client: Client, spec: RequestSpec, state: StreamState, response: httpx.Response
    ) -> None:
        self._client = client
        self._spec = spec
        self._state = state
        self._done = False
        self._response: httpx.Response | None = response
        self._events = self._run()

    @classmethod
    def _open(cls, client: Client, spec: RequestSpec, state: StreamState) -> InteractionStream:
        # Opened now, so that HTTP errors (401, 404...) raise from create()/get() itself.
        return cls(client, spec, state, client._send(spec))

    def __iter__(self) -> Iterator[InteractionEvent]:
        return self._events  # loops run the generator itself: no extra call per event

    def __next__(self) -> InteractionEvent:
        return self._events.__next__()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._events.close()
        if self._response is not None:
            self._response.close()
            self._response = None

    @property
    def interaction(self) -> Interaction:
        """The interaction assembled from the stream; available once iteration ended."""
        if not self._done:
            raise StreamNotFinishedError(
                "the stream has not ended yet: iterate it to the end (or call until_done()) "
                "before reading .interaction"
            )
        return self._state.accumulator.interaction

    def until_done(self) -> Interaction:
        """Consume the remaining events and return the final interaction."""
        for _ in self:
            pass
        return self.interaction

    def _run(self) -> Generator[InteractionEvent, None, None]:
        state = self._state
        while True:
            response = self._response
            assert response is not None
            broken: httpx.TransportError | None = None
            failed: AgentloopError | None = None
            try:
                for chunk in response.iter_bytes():
                    for event in state.events(chunk):
                        yield event
                    if state.finished:
                        break
            except httpx.TransportError as exc:  # a drop, a read timeout, the idle deadline
                broken = exc
            except httpx.RequestError as exc:  # a body that cannot be decoded: not resumable
                failed = _core.request_error(self._client._config, exc, self._spec)
            finally:
                response.close()
            if failed is not None:
                raise failed
            for event in state.end(complete=broken is None):
                yield event
            if broken is None and state.finished:
                self._done = True
                return
            self._response = self._reconnect(broken)
            state.new_connection()

    def _reconnect(self, broken: httpx.TransportError | None) -> httpx.Response:
        state = self._state
        error = state.give_up(broken)
        if error is not None:
            raise error
        policy = self._client._retry
        event = policy.stream_retry_event(state.resumes_without_progress, broken)
        emit_retry(event)
        self._client._sleep(event.wait)
        spec = _core.resume_spec(self._client._config, self._spec, state)
        try:
            return self._client._send(spec)
        except AgentloopError as exc:
            if state.delivered == 0:
                raise
            error = state.interrupted(f"resuming failed: {exc}", None)
        raise error
