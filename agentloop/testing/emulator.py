"""The sans-I/O core of the Interactions API emulator: ``Emulator.handle(...)``.

``handle`` takes a request (method, path, query, headers, body bytes) and returns an
:class:`EmulatorResponse`. It never opens sockets, sleeps or awaits; latency and dropped
streams are *recorded* on the response and applied by the adapters (httpx transport,
ASGI app). State (stored interactions, event logs) is guarded by one lock so the loopback
server thread and the test thread can share an emulator.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentloop.types import (
    REDACTED,
    RUNNING_STATUSES,
    InputError,
    Interaction,
    input_to_steps,
    step_adapter,
    steps_adapter,
)

from ._errors import ApiException, error_body
from ._sse import encode_event, step_events
from ._validation import (
    MAX_JSON_DEPTH,
    check_agent,
    check_function_pairs,
    check_input_steps,
    check_labels,
    check_model,
    describe,
    environment_id,
    missing_fields,
    new_api_id,
    normalise_input,
    open_calls,
    parse_body,
    validate,
)
from .demo import DemoModel
from .faults import Faults, StreamErrorFault
from .limits import Cut, apply_limits
from .models import Model, ModelRequest, Reply, as_reply
from .signatures import Signer
from .tokens import token_count
from .webhooks import (
    DEFAULT_WEBHOOK_SECRET,
    WebhookDelivery,
    event_type_for,
    post_in_background,
    signed,
    webhook_event,
)

if TYPE_CHECKING:
    from agentloop.client import AsyncClient, Client

    from .transport import EmulatorTransport

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_STORED_BYTES",
    "DEFAULT_REQUEST_LOG_BYTES",
    "DEFAULT_REQUEST_LOG_SIZE",
    "MAX_JSON_DEPTH",
    "Emulator",
    "EmulatorResponse",
    "RecordedRequest",
    "RequestLog",
]

log = logging.getLogger("agentloop.testing")

_PATH = re.compile(
    r"^(?:/[^/]+)*?/(?P<ver>v\d+[a-z0-9]*)(?:/projects/[^/]+/locations/[^/]+)?"
    r"/interactions(?:/(?P<id>[^/:]+)(?P<cancel>/cancel|:cancel)?)?/?$"
)
_REDACTED = "<redacted>"
_TOO_DEEP = "Invalid JSON payload received: the request is nested too deeply"
_SECRET_HEADERS = frozenset({"x-goog-api-key", "authorization"})

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
"""Request bodies larger than this (20 MiB) are answered 413 without being read further."""
DEFAULT_REQUEST_LOG_SIZE = 1000
#: The request log keeps at most this many body bytes (the newest request always).
DEFAULT_REQUEST_LOG_BYTES = 64 * 1024 * 1024
#: Stored interactions are kept up to this many request bytes; the oldest finished ones go
#: first (then they are 404, as if expired), so a long-running emulator's memory is bounded.
DEFAULT_MAX_STORED_BYTES = 256 * 1024 * 1024
"""How many authenticated requests ``Emulator.requests`` keeps (oldest dropped first)."""


@dataclass
class EmulatorResponse:
    """What the core answers. Either ``body`` bytes or ``events`` (SSE frames, lazily).

    ``drop_after`` asks the adapter to cut the connection after that many SSE events;
    ``delay`` asks it to wait that many seconds before answering.
    """

    status: int
    headers: dict[str, str]
    body: bytes = b""
    events: Iterator[bytes] | None = None
    drop_after: int | None = None
    delay: float = 0.0

    @property
    def is_stream(self) -> bool:
        """Whether the answer is an SSE stream (``events``) rather than ``body``."""
        return self.events is not None

    def json(self) -> Any:
        """The body, parsed as JSON."""
        return json.loads(self.body)


@dataclass
class RecordedRequest:
    """One request as the emulator saw it (API key redacted)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The parsed JSON body, or ``None`` when empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class RequestLog(list[RecordedRequest]):
    """A list of the last ``maxlen`` recorded requests, whose bodies hold at most ``max_bytes``
    together: appending past either bound drops the oldest (the newest is always kept)."""

    def __init__(self, maxlen: int, max_bytes: int = DEFAULT_REQUEST_LOG_BYTES) -> None:
        super().__init__()
        self.maxlen = maxlen
        self.max_bytes = max_bytes
        self._bytes = 0

    def append(self, item: RecordedRequest, /) -> None:
        super().append(item)
        self._bytes += len(item.body)
        drop = 0
        while len(self) - drop > 1 and (
            len(self) - drop > self.maxlen or self._bytes > self.max_bytes
        ):
            self._bytes -= len(self[drop].body)
            drop += 1
        if drop:
            del self[:drop]


@dataclass
class _Prepared:
    """A create request parsed and checked outside the lock."""

    body: dict[str, Any]
    req: Any
    inputs: list[dict[str, Any]]
    input_models: list[Any]
    input_tokens: int
    size: int


@dataclass
class _Record:
    id: str
    body: dict[str, Any]
    input_steps: list[dict[str, Any]]
    created: str
    updated: str
    status: str = "in_progress"
    outputs: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    environment_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    background: bool = False
    polls: int = 0
    pending: ModelRequest | None = None
    continuation_token: str | None = None
    # Cumulative state, so that chaining onto this record costs O(new steps), not O(chain):
    parent: _Record | None = None
    children: list[_Record] = field(default_factory=list)
    input_models: list[Any] = field(default_factory=list)
    input_tokens: int = 0  # tokens of this record's input steps
    request_tokens: int = 0  # total_input_tokens of this request (chain, input, config)
    output_models: list[Any] = field(default_factory=list)
    output_tokens: int = 0
    # ``chain[:chain_len]`` is the whole history through this record's outputs (step models);
    # the list is shared with the descendants that extended it in place (copied on a branch).
    chain: list[Any] | None = None
    size: int = 0  # the request body's bytes, counted against ``max_stored_bytes``
    chain_len: int = 0
    chain_tokens: int = 0
    open_calls: dict[str, str] = field(default_factory=dict)  # unanswered function calls
    broken: str | None = None  # id of a deleted ancestor: chaining onto this record is 404


class Emulator:
    """A local Interactions API: stateful store, function calling, SSE, background, faults.

    ``model``: who answers (default :class:`DemoModel`). ``api_keys``: ``None`` accepts any
    non-empty key; a set accepts only those (others get 403). ``clock`` returns epoch seconds.
    ``background_polls``: how many GETs a background run stays ``in_progress`` before it
    runs (a ``flex``/``deferred`` ``service_tier`` first spends one GET ``queued``).
    ``signing_key``: the thought-signature secret (default: ``DEFAULT_SIGNING_KEY``, the same
    for every emulator, so saved conversations continue against a new one).
    ``context_window``: most input tokens a request may carry (stored chain included; see
    :mod:`agentloop.testing.tokens` for the rule), else the real API's 400; ``None`` = no limit.
    ``allow_unknown_models``: accept any model id (default: only ``KNOWN_MODELS``, like the
    real API, so a typo fails offline too). ``max_body_bytes``: larger bodies get 413.
    ``request_log_size``: how many authenticated requests :attr:`requests` keeps (and at most
    ``DEFAULT_REQUEST_LOG_BYTES`` of their bodies). ``max_stored_bytes``: stored interactions
    are kept up to this many request bytes; beyond it the oldest finished ones are forgotten
    (404 afterwards, as an expired interaction), so memory stays bounded.
    ``webhook_secret``: the ``whsec_`` key webhook deliveries are signed with (stable by
    default); ``deliver_webhook(delivery)`` replaces the default deliverer, which POSTs to
    loopback URLs from a thread (see :mod:`agentloop.testing.webhooks`).
    """

    def __init__(
        self,
        model: Model | None = None,
        api_keys: set[str] | frozenset[str] | list[str] | None = None,
        *,
        clock: Callable[[], float] | None = None,
        background_polls: int = 1,
        signing_key: bytes | None = None,
        context_window: int | None = None,
        allow_unknown_models: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        request_log_size: int = DEFAULT_REQUEST_LOG_SIZE,
        max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        deliver_webhook: Callable[[WebhookDelivery], None] | None = None,
    ) -> None:
        self.model: Model = model if model is not None else DemoModel()
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.clock = clock or time.time
        self.background_polls = background_polls
        self.context_window = context_window
        self.allow_unknown_models = allow_unknown_models
        self.max_body_bytes = max_body_bytes
        self.max_stored_bytes = max_stored_bytes
        self._stored_bytes = 0
        self.faults = Faults()
        self.requests = RequestLog(request_log_size)
        """The last ``request_log_size`` authenticated requests, oldest first (key redacted)."""
        self.steps_processed = 0
        """Steps validated, counted or checked so far: linear in the traffic, never in the
        length of the stored chains (a regression test's measure of work, not of time)."""
        self.webhook_secret = webhook_secret
        self.webhook_deliveries: list[WebhookDelivery] = []
        """Every webhook delivery made (or refused), oldest first."""
        self._deliver = deliver_webhook or post_in_background
        self._signer = Signer(signing_key)
        self._store: dict[str, _Record] = {}
        self._tokens: dict[str, _Record] = {}  # continuation tokens and the hop that issued them
        self._lock = threading.RLock()

    # --- public helpers for tests ---------------------------------------------------------

    def interaction(self, interaction_id: str, *, include_input: bool = False) -> Interaction:
        """The stored interaction as an ``agentloop.types.Interaction`` (KeyError if absent)."""
        with self._lock:
            rec = self._store[interaction_id]
            return Interaction.model_validate(self._resource(rec, include_input))

    @property
    def interaction_ids(self) -> list[str]:
        """The ids of every interaction the emulator holds, oldest first."""
        with self._lock:
            return list(self._store)

    def advance(self, interaction_id: str) -> str:
        """Run a pending background interaction now; returns its new status."""
        with self._lock:
            rec = self._store[interaction_id]
            if rec.status in RUNNING_STATUSES and rec.pending is not None:
                self._run(rec, rec.pending)
            return rec.status

    def complete_all(self) -> None:
        """Run every pending background interaction."""
        with self._lock:
            for rec in list(self._store.values()):
                if rec.status in RUNNING_STATUSES and rec.pending is not None:
                    self._run(rec, rec.pending)

    # --- adapters (lazy imports keep the core free of I/O libraries) ----------------------

    def transport(
        self,
        *,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Any] | None = None,
    ) -> EmulatorTransport:
        """An httpx transport (sync and async) that calls :meth:`handle` in-process."""
        from .transport import EmulatorTransport

        return EmulatorTransport(self, sleep=sleep, async_sleep=async_sleep)

    def asgi_app(self, *, sleep: Callable[[float], Any] | None = None) -> Any:
        """A Starlette app serving this emulator."""
        from .asgi import create_app

        return create_app(self, sleep=sleep)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
        """Run a loopback uvicorn server in a thread; yields its base URL."""
        from .server import serve

        return serve(self, host=host, port=port)

    def client(self, **kwargs: Any) -> Client:
        """An ``agentloop.Client`` bound to this emulator in-process (no sockets)."""
        from agentloop.client import Client, _http

        kwargs.setdefault("api_key", "emulator-key")
        kwargs.setdefault("base_url", "http://emulator.local")
        # The kind of httpx client a Client makes for itself (cookies read only when set).
        http = _http.Client(transport=self.transport(), timeout=None, verify=True)
        return Client(http_client=http, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """An ``agentloop.AsyncClient`` bound to this emulator in-process (no sockets)."""
        from agentloop.client import AsyncClient, _http

        kwargs.setdefault("api_key", "emulator-key")
        kwargs.setdefault("base_url", "http://emulator.local")
        http = _http.AsyncClient(transport=self.transport(), timeout=None, verify=True)
        return AsyncClient(http_client=http, **kwargs)

    # --- the handler ----------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> EmulatorResponse:
        """Answer one HTTP request. Pure: no sockets, no sleeping.

        Order: size limit (413), authentication (401/403), then the request is recorded in
        :attr:`requests`, faults apply, and the route answers. Unauthenticated and oversized
        requests are never recorded, so they cannot grow the emulator's memory.
        """
        method = method.upper()
        headers = {k.lower(): v for k, v in headers.items()}
        if len(body) > self.max_body_bytes:
            return self.too_large(len(body))
        try:
            self._authenticate(headers, query)
        except ApiException as exc:
            return _error(exc)
        # A create request is parsed and checked before the lock is taken: that work grows
        # with the body (seconds for a large one) and touches no shared state, so one big
        # request never stalls the other clients.
        prepared: _Prepared | ApiException | None = None
        match = _PATH.match(path)
        if method == "POST" and match is not None and match.group("id") is None:
            try:
                prepared = self._prepare(body)
            except ApiException as exc:
                prepared = exc
            except RecursionError:
                prepared = ApiException(400, _TOO_DEEP)
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    method,
                    path,
                    {k: (_REDACTED if k == "key" else v) for k, v in query.items()},
                    {k: (_REDACTED if k in _SECRET_HEADERS else v) for k, v in headers.items()},
                    body,
                )
            )
            delay = self.faults._take_latency(method, path)
            fault = self.faults._take_error(method, path)
            if fault is not None:
                extra: dict[str, str] = {}
                if fault.retry_after is not None:
                    extra["retry-after"] = str(fault.retry_after)
                if fault.retry_after_ms is not None:
                    extra["retry-after-ms"] = str(fault.retry_after_ms)
                msg = fault.message or f"emulated fault: HTTP {fault.status}"
                response = _error(ApiException(fault.status, msg), extra)
            else:
                try:
                    if isinstance(prepared, ApiException):
                        raise prepared
                    if prepared is not None:
                        response = self._create(prepared, query)
                    else:
                        response = self._dispatch(method, path, query, body)
                except ApiException as exc:
                    response = _error(exc)
                except RecursionError:
                    response = _error(ApiException(400, _TOO_DEEP))
            if response.is_stream:
                response.drop_after = self.faults._take_drop(method, path)
                broken = self.faults._take_stream_error(method, path)
                if broken is not None and response.events is not None:
                    response.events = self._ending_in_error(response.events, broken)
            response.delay = delay
            return response

    def too_large(self, size: int | None = None) -> EmulatorResponse:
        """The 413 answer to a body over :attr:`max_body_bytes` (adapters use it before reading)."""
        got = f" ({size} bytes)" if size is not None else ""
        return _error(
            ApiException(
                413,
                f"Request payload size exceeds the limit: {self.max_body_bytes} bytes{got}. "
                "Send large media by uri, or raise the emulator's max_body_bytes.",
                "INVALID_ARGUMENT",
            )
        )

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
    ) -> EmulatorResponse:
        m = _PATH.match(path)
        if m is None:
            raise ApiException(
                404,
                f"no such route: {method} {path}; the emulator serves "
                "/{version}/interactions[/{id}[/cancel]]",
            )
        interaction_id, cancel = m.group("id"), m.group("cancel")
        if interaction_id is None:
            if method != "POST":
                raise ApiException(405, f"{method} is not supported on {path}; use POST")
            return self._create(self._prepare(body), query)
        if cancel:
            if method != "POST":
                raise ApiException(405, f"{method} is not supported on {path}; use POST")
            return self._cancel(interaction_id)
        if method == "GET":
            return self._get(interaction_id, query)
        if method == "DELETE":
            return self._delete(interaction_id)
        raise ApiException(405, f"{method} is not supported on {path}; use GET or DELETE")

    def _authenticate(self, headers: dict[str, str], query: dict[str, str]) -> None:
        key = headers.get("x-goog-api-key") or query.get("key")
        auth = headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            raise ApiException(
                401,
                "Method doesn't allow unregistered callers: send an API "
                "key in the x-goog-api-key header",
            )
        if self.api_keys is not None and key not in self.api_keys:
            raise ApiException(403, "API key not valid. Please pass a valid API key.")

    # --- create ---------------------------------------------------------------------------

    def _prepare(self, raw: bytes) -> _Prepared:
        """The checks of a create request that need no shared state (run without the lock)."""
        body = parse_body(raw)
        req = validate(body)
        if req.model is not None and not self.allow_unknown_models:
            check_model(req.model)
        if req.agent is not None:
            check_agent(req.agent, req.agent_config, allow_unknown=self.allow_unknown_models)
        if req.labels:
            check_labels(req.labels)
        try:
            new_steps = input_to_steps(req.input)
        except (InputError, ValidationError) as exc:
            raise ApiException(400, f"input: {describe(exc)}") from None
        inputs = [normalise_input(s.model_dump(mode="json")) for s in new_steps]
        self._signer.verify(inputs)
        input_models = list(steps_adapter.validate_python(inputs))
        input_tokens = sum(token_count(s) for s in inputs)
        return _Prepared(body, req, inputs, input_models, input_tokens, len(raw))

    def _create(self, prepared: _Prepared, query: dict[str, str]) -> EmulatorResponse:
        body, req, inputs = prepared.body, prepared.req, prepared.inputs
        input_models, input_tokens = prepared.input_models, prepared.input_tokens
        prev = None
        if req.previous_interaction_id is not None:
            prev = self._lookup(req.previous_interaction_id, "previous_interaction_id")
            if prev.broken is not None:
                raise ApiException(
                    404,
                    f"interaction {prev.broken!r} in the history chain was "
                    "deleted; start a new conversation",
                )
            if prev.status in RUNNING_STATUSES:
                raise ApiException(
                    400,
                    f"previous interaction {prev.id} is still {prev.status}; wait for it to finish",
                    "FAILED_PRECONDITION",
                )
        if not inputs and prev is None:
            raise ApiException(
                400, "input is required (or previous_interaction_id to continue a conversation)"
            )
        check_input_steps(inputs)
        self.steps_processed += len(inputs)
        # The stored chain is kept cumulatively on ``prev``: nothing before it is re-read.
        history: list[Any] = prev.chain[: prev.chain_len] if prev and prev.chain else []
        history += input_models
        history_tokens = (prev.chain_tokens if prev else 0) + input_tokens
        pending_calls = dict(prev.open_calls) if prev is not None else {}
        checked = inputs
        if req.continuation_token is not None:
            hop = self._tokens.get(req.continuation_token)
            if hop is None:
                raise ApiException(
                    400,
                    f"continuation_token {req.continuation_token!r} was not issued by this "
                    "server; send the token of the interaction that ended requires_continuation",
                )
            if req.store is not False:
                if prev is None or prev.id != hop.id:
                    raise ApiException(
                        400,
                        f"continuation_token belongs to interaction {hop.id}; send it with "
                        f"previous_interaction_id={hop.id!r}",
                    )
            else:
                # Stateless: the original input, then the hop.
                history = input_models + hop.output_models
                history_tokens = input_tokens + hop.output_tokens
                checked = inputs + hop.outputs
        check_function_pairs(checked, pending_calls)
        request_tokens = history_tokens + _config_tokens(body)
        if self.context_window is not None and request_tokens > self.context_window:
            raise ApiException(
                400,
                f"The input token count ({request_tokens}) exceeds the maximum number of "
                f"tokens allowed ({self.context_window}).",
            )
        now = self._now()
        stored = req.store is not False
        rec = _Record(
            id=new_api_id("v1_"),
            body=body,
            input_steps=inputs,
            created=now,
            updated=now,
            background=bool(req.background),
            parent=prev if stored else None,
            input_models=input_models,
            input_tokens=input_tokens,
            request_tokens=request_tokens,
        )
        if rec.background and body.get("service_tier") in _DEFERRED_TIERS:
            rec.status = "queued"
        rec.environment_id = environment_id(req, prev)
        mreq = ModelRequest(
            history=history,
            tools=list(req.tools or []),
            system_instruction=req.system_instruction,
            generation_config=req.generation_config,
            response_format=req.response_format,
            model=req.model,
            agent=req.agent,
            body=body,
            environment=rec.environment_id,
            interaction_id=rec.id,
        )
        self._emit(rec, "interaction.created", interaction=self._snapshot(rec))
        if stored:
            self._store[rec.id] = rec
            rec.size = prepared.size
            self._stored_bytes += rec.size
            if prev is not None:
                prev.children.append(rec)
            self._evict(keep=rec)
        stream = bool(req.stream) or query.get("alt") == "sse"
        if rec.background:
            rec.pending = mreq
            if stream:
                return self._sse(rec, 0)
            return _json(self._snapshot(rec, full=True))
        self._run(rec, mreq, raise_errors=True)
        if stream:
            return self._sse(rec, 0)
        return _json(self._resource(rec))

    def _run(self, rec: _Record, mreq: ModelRequest, raise_errors: bool = False) -> None:
        rec.pending = None
        if rec.status == "queued":
            self._set_status(rec, "in_progress")
        limit = _generation_limits(mreq)
        cut = None
        try:
            reply = as_reply(self.model(mreq))
            steps, models, cut = self._finalise(reply, limit)
        except Exception as exc:
            if isinstance(exc, ApiException):
                error = exc
            else:
                log.exception("emulator model failed")
                error = ApiException(
                    500, f"the emulator's model raised {type(exc).__name__}: {exc}"
                )
            if raise_errors:
                self._forget(rec)
                raise error from None
            code = error.status.lower()
            reply = Reply(status="failed", errors=[{"code": code, "message": error.message}])
            steps, models, cut = [], [], None
        rec.outputs = steps
        rec.output_models = models
        rec.output_tokens = sum(token_count(s) for s in steps)
        self.steps_processed += len(steps)
        calls = any(s.get("type") == "function_call" for s in steps)
        rec.status = reply.status or ("requires_action" if calls else "completed")
        if cut is not None and cut.reason == "max_output_tokens":
            rec.status = "incomplete"  # the model stopped at the limit, mid-output
        rec.errors = reply.errors
        if rec.status == "requires_continuation":
            # Long-decode hop (spec §8): the next request continues with this token.
            rec.continuation_token = new_api_id("ct_")
            self._tokens[rec.continuation_token] = rec
        if reply.usage is not None:
            usage = reply.usage
            rec.usage = usage if isinstance(usage, dict) else usage.model_dump(mode="json")
        else:
            output = rec.output_tokens
            if cut is not None and cut.reason == "max_output_tokens":
                output = min(output, limit[0] or output)
            rec.usage = {
                "total_input_tokens": rec.request_tokens,
                "total_output_tokens": output,
                "total_tokens": rec.request_tokens + output,
            }
        rec.updated = self._now()
        self._settle(rec)
        so_far = 0
        for index, step in enumerate(steps):
            for event in step_events(index, step):
                if event["event_type"] == "step.stop":
                    # Per-step usage: this step's output tokens, and the running totals.
                    spent = token_count(step)
                    so_far += spent
                    event["step_usage"] = {"total_output_tokens": spent, "total_tokens": spent}
                    event["usage"] = {
                        "total_input_tokens": rec.request_tokens,
                        "total_output_tokens": so_far,
                        "total_tokens": rec.request_tokens + so_far,
                    }
                self._emit(rec, event.pop("event_type"), **event)
        if rec.continuation_token is not None:
            # The mid-stream checkpoint (spec §6.2, §8): a stream cut after this event can
            # be continued with the token instead of repeating the output.
            self._emit(
                rec,
                "interaction.status_update",
                interaction_id=rec.id,
                status="in_progress",
                continuation_token=rec.continuation_token,
            )
        self._emit(rec, "interaction.completed", interaction=self._snapshot(rec, final=True))
        self._notify(rec)

    def _notify(self, rec: _Record) -> None:
        """Deliver the webhook event of ``rec``'s new status to ``webhook_config.uris``."""
        config = rec.body.get("webhook_config")
        uris = config.get("uris") if isinstance(config, dict) else None
        kind = event_type_for(rec.status)
        if not uris or kind is None:
            return
        assert isinstance(config, dict)
        body = webhook_event(
            kind, rec.id, rec.status, self._now(), config.get("user_metadata"), rec.errors
        )
        for uri in uris:
            headers = signed(body, self.webhook_secret, new_api_id("msg_"), self.clock())
            delivery = WebhookDelivery(str(uri), body, headers)
            self.webhook_deliveries.append(delivery)
            self._deliver(delivery)

    def _set_status(self, rec: _Record, status: str) -> None:
        rec.status = status
        self._emit(rec, "interaction.status_update", interaction_id=rec.id, status=status)

    def _settle(self, rec: _Record) -> None:
        """Record what chaining onto ``rec`` needs: open calls, the cumulative chain, tokens."""
        rec.open_calls = open_calls(rec.outputs)
        if self._store.get(rec.id) is not rec:
            return  # store=false: nothing can chain onto it
        prev = rec.parent
        chain: list[Any] = []
        base = 0
        if prev is not None and prev.chain is not None:
            chain = prev.chain
            if len(chain) != prev.chain_len:
                chain = chain[: prev.chain_len]  # a second branch from prev: copy its prefix
            base = prev.chain_tokens
        chain += rec.input_models
        chain += rec.output_models
        rec.chain, rec.chain_len = chain, len(chain)
        rec.chain_tokens = base + rec.input_tokens + rec.output_tokens

    def _evict(self, keep: _Record) -> None:
        """Forget the oldest finished interactions while the stored ones exceed
        ``max_stored_bytes`` (they are 404 afterwards, as if they had expired)."""
        if self._stored_bytes <= self.max_stored_bytes:
            return
        for old in list(self._store.values()):
            if self._stored_bytes <= self.max_stored_bytes:
                break
            if old is keep or old.status in RUNNING_STATUSES:
                continue
            self._forget(old)
            for child in old.children:  # they keep their own cumulative chain
                child.parent = None
            old.children = []
            if old.continuation_token is not None:
                self._tokens.pop(old.continuation_token, None)

    def _forget(self, rec: _Record) -> None:
        if self._store.get(rec.id) is rec:
            del self._store[rec.id]
            self._stored_bytes -= rec.size
        if rec.parent is not None and rec in rec.parent.children:
            rec.parent.children.remove(rec)

    def _finalise(
        self, reply: Reply, limit: tuple[int | None, list[str]] = (None, [])
    ) -> tuple[list[dict[str, Any]], list[Any], Cut | None]:
        """Steps as wire dicts and models: ids minted, results paired, the generation limits
        applied (``limits``), thoughts signed (over the steps as returned)."""
        out: list[dict[str, Any]] = []
        models: list[Any] = []
        last_call: dict[str, str] = {}
        for item in reply.steps:
            if isinstance(item, str):
                item = {"type": "model_output", "content": [{"type": "text", "text": item}]}
            step = dict(item) if isinstance(item, dict) else item.model_dump(mode="json")
            kind = str(step.get("type", ""))
            if kind.endswith("_call"):
                if not step.get("id"):
                    step["id"] = new_api_id(
                        "call_" if kind == "function_call" else kind.split("_")[0][:6] + "_"
                    )
                last_call[kind[:-5]] = step["id"]
            elif kind.endswith("_result") and kind != "function_result" and not step.get("call_id"):
                step["call_id"] = last_call.get(kind[:-7], new_api_id("call_"))
            try:
                model = step_adapter.validate_python(step)
                missing = missing_fields(step)
                if missing:
                    raise _bad_step(kind, f"{missing[0]} is required")
            except ValidationError as exc:
                raise _bad_step(kind, describe(exc)) from None
            out.append(model.model_dump(mode="json"))
            models.append(model)
        cut = apply_limits(out, *limit) if out else None
        if cut is not None:
            out = cut.steps
            models = [step_adapter.validate_python(step) for step in out]
        for i, step in enumerate(out):
            if step.get("type") == "thought" and not step.get("signature"):
                end = next(
                    (j for j in range(i + 1, len(out)) if out[j].get("type") == "thought"), len(out)
                )
                signed = {"type": "thought", "signature": self._signer.sign(step, out[i + 1 : end])}
                signed.update({k: v for k, v in step.items() if k not in signed})
                out[i] = signed
                models[i] = step_adapter.validate_python(signed)
        return out, models, cut

    # --- get / cancel / delete ------------------------------------------------------------

    def _get(self, interaction_id: str, query: dict[str, str]) -> EmulatorResponse:
        rec = self._lookup(interaction_id, "interaction")
        stream = _flag(query, "stream")
        last = query.get("last_event_id")
        if last is not None and not stream:
            raise ApiException(400, "last_event_id is only allowed with stream=true")
        if rec.status == "queued" and not stream:
            self._set_status(rec, "in_progress")  # a deferred tier's first poll starts it
        elif rec.status in RUNNING_STATUSES and rec.pending is not None and not stream:
            rec.polls += 1
            if rec.polls > self.background_polls:
                self._run(rec, rec.pending)
        if stream:
            start = 0
            if last is not None:
                ids = [e["event_id"] for e in rec.events]
                if last not in ids:
                    raise ApiException(
                        400, f"last_event_id {last!r} is not an event of interaction {rec.id}"
                    )
                start = ids.index(last) + 1
            return self._sse(rec, start)
        return _json(self._resource(rec, _flag(query, "include_input")))

    def _cancel(self, interaction_id: str) -> EmulatorResponse:
        rec = self._lookup(interaction_id, "interaction")
        if not (rec.background and rec.status in RUNNING_STATUSES):
            raise ApiException(
                400,
                f"interaction {rec.id} is {rec.status}; only a running "
                "background interaction can be cancelled",
                "FAILED_PRECONDITION",
            )
        rec.pending = None
        rec.status = "cancelled"
        rec.updated = self._now()
        self._settle(rec)
        self._emit(rec, "interaction.completed", interaction=self._snapshot(rec, final=True))
        self._notify(rec)
        return _json(self._resource(rec))

    def _delete(self, interaction_id: str) -> EmulatorResponse:
        rec = self._lookup(interaction_id, "interaction")
        self._forget(rec)
        # Interactions chained onto it lose their history: chaining onto them is a 404 now.
        stack = list(rec.children)
        while stack:
            child = stack.pop()
            if child.broken is None:
                child.broken = interaction_id
                stack.extend(child.children)
        return _json({})

    # --- helpers --------------------------------------------------------------------------

    def _now(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))

    def _lookup(self, interaction_id: str, what: str) -> _Record:
        rec = self._store.get(interaction_id)
        if rec is None:
            raise ApiException(
                404,
                f"{what} {interaction_id!r} not found: it does not exist, "
                "was created with store=false, or was deleted",
            )
        return rec

    def _ending_in_error(self, frames: Iterator[bytes], fault: StreamErrorFault) -> Iterator[bytes]:
        """``frames`` cut after ``fault.after_events`` events by an ``error`` event (a string
        ``code``, as the spec recommends for SSE errors, section 9.1); the stored interaction
        then reads ``failed`` with that error and the steps the stream had finished."""
        sent: list[bytes] = []
        for frame in frames:
            if len(sent) >= fault.after_events:
                break
            sent.append(frame)
            yield frame
        error = {"code": fault.status.lower(), "message": fault.message}
        event = {"event_type": "error", "error": error, "event_id": f"evt_{len(sent) + 1:04d}"}
        rec = self._record_of(sent)
        if rec is not None:
            with self._lock:
                rec.status = "failed"
                rec.errors = [dict(error)]
                done = sum(1 for e in rec.events[: len(sent)] if e["event_type"] == "step.stop")
                rec.outputs = rec.outputs[:done]
                rec.events = [*rec.events[: len(sent)], event]
        yield encode_event(event)

    def _record_of(self, frames: list[bytes]) -> _Record | None:
        """The stored interaction a stream's first frames name (``interaction.created``)."""
        for frame in frames[:2]:
            data = frame.split(b"data: ", 1)[-1]
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                found = json.loads(data).get("interaction", {}).get("id")
                if found:
                    with self._lock:
                        return self._store.get(found)
        return None

    def _emit(self, rec: _Record, event_type: str, **fields: Any) -> None:
        event = {"event_type": event_type, **fields, "event_id": f"evt_{len(rec.events) + 1:04d}"}
        rec.events.append(event)

    def _snapshot(self, rec: _Record, *, full: bool = False, final: bool = False) -> dict[str, Any]:
        snap: dict[str, Any] = {"id": rec.id, "object": "interaction", "status": rec.status}
        who = "agent" if rec.body.get("agent") is not None else "model"
        snap[who] = rec.body.get(who)
        snap["created"] = rec.created
        tier = rec.body.get("service_tier")
        if tier is not None:  # in the stream's snapshots too (spec 6.2)
            snap["service_tier"] = tier
        if final:
            snap["updated"] = rec.updated
            if rec.usage is not None:
                snap["usage"] = rec.usage
            if rec.errors:
                snap["errors"] = rec.errors
        if (full or final) and rec.environment_id is not None:
            snap["environment_id"] = rec.environment_id
        if (full or final) and rec.continuation_token is not None:
            snap["continuation_token"] = rec.continuation_token
        return snap

    def _resource(self, rec: _Record, include_input: bool = False) -> dict[str, Any]:
        res = self._snapshot(rec, full=True)
        res["updated"] = rec.updated
        if rec.status not in RUNNING_STATUSES:
            res["steps"] = rec.outputs
        if rec.usage is not None:
            res["usage"] = rec.usage
        if rec.body.get("previous_interaction_id"):
            res["previous_interaction_id"] = rec.body["previous_interaction_id"]
        if rec.errors:
            res["errors"] = rec.errors
        if include_input and "input" in rec.body:
            res["input"] = rec.body["input"]
        for key in ECHOED_SETTINGS:  # the request's settings, as the API echoes them
            if rec.body.get(key) is not None:
                res[key] = rec.body[key]
        if isinstance(res.get("environment"), dict):
            res["environment"] = _redacted_environment(res["environment"])
        return res

    def _sse(self, rec: _Record, start: int) -> EmulatorResponse:
        def frames() -> Iterator[bytes]:
            i = start
            while True:
                with self._lock:
                    if i < len(rec.events):
                        event = rec.events[i]
                    elif rec.status in RUNNING_STATUSES and rec.pending is not None:
                        # A watched background run becomes available as the stream is read.
                        self._run(rec, rec.pending)
                        continue
                    else:
                        return
                i += 1
                yield encode_event(event)

        headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        return EmulatorResponse(200, headers, events=frames())


# --- module helpers ----------------------------------------------------------------------


ECHOED_SETTINGS = (
    "system_instruction",
    "tools",
    "generation_config",
    "response_format",
    "response_modalities",
    "response_mime_type",
    "safety_settings",
    "service_tier",
    "agent_config",
    "environment",
    "labels",
    "webhook_config",
    "cached_content",
)
"""The request fields an interaction resource echoes (spec section 3)."""


def _redacted_environment(env: dict[str, Any]) -> dict[str, Any]:
    """An environment as echoed: env var values are secrets and never come back."""
    variables = env.get("env")
    if not isinstance(variables, dict):
        return env
    hidden = {
        name: (
            REDACTED
            if isinstance(value, str)
            else {**value, "value": REDACTED}
            if isinstance(value, dict) and "value" in value
            else value
        )
        for name, value in variables.items()
    }
    return {**env, "env": hidden}


def _generation_limits(mreq: ModelRequest) -> tuple[int | None, list[str]]:
    config = mreq.generation_config
    if config is None:
        return None, []
    return config.max_output_tokens, [s for s in config.stop_sequences or [] if s]


_DEFERRED_TIERS = frozenset({"flex", "deferred"})


def _config_tokens(body: dict[str, Any]) -> int:
    """Tokens of the system instruction and tool declarations, as sent (see ``tokens``)."""
    total = 0
    if body.get("system_instruction") is not None:
        total += token_count(body["system_instruction"])
    tools = body.get("tools")
    if isinstance(tools, list):
        total += sum(token_count(tool) for tool in tools)
    return total


def _json(payload: Any) -> EmulatorResponse:
    return EmulatorResponse(
        200, {"content-type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode()
    )


def _error(exc: ApiException, extra: dict[str, str] | None = None) -> EmulatorResponse:
    headers = {"content-type": "application/json", **(extra or {})}
    return EmulatorResponse(exc.code, headers, error_body(exc.code, exc.message, exc.status))


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def _bad_step(kind: str, problem: str) -> ApiException:
    """A model step the emulator cannot send: the script's (or model function's) mistake, so
    answered at once with a status clients do not retry (a retry would take the next reply)."""
    return ApiException(
        400,
        f"the emulator's model produced an invalid {kind} step: {problem}; fix the reply given "
        "to ScriptedModel (or returned by the model function)",
        "FAILED_PRECONDITION",
    )
