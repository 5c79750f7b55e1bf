"""The sans-I/O core of the client: request specs, body encoding, response classification.

Nothing here opens a socket, sleeps or awaits; the sync and async drivers call these functions
and only move bytes. Retry policy and notifications live in :mod:`._retry`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Union

import httpx
from pydantic import ValidationError

from agentloop._defaults import redact
from agentloop.errors import (
    AgentloopError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConfigurationError,
    ContextWindowExceededError,
    InvalidURLError,
    MissingAPIKeyError,
    RequestEncodingError,
    RequestValidationError,
    UnknownFieldError,
    error_class_for_status,
)
from agentloop.types import (
    RUNNING_STATUSES,
    AgentId,
    CreateInteractionRequest,
    FunctionCallStep,
    Interaction,
    Modality,
    ModelId,
    ServiceTier,
    encode_json,
)
from agentloop.types._base import wire_errors

from ._retry import parse_retry_after

__all__ = [
    "API_REVISION",
    "DEFAULT_BASE_URL",
    "DEFAULT_STREAM_IDLE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "CreateParams",
    "RequestFactory",
    "RequestSpec",
    "TimeoutTypes",
    "WaitPlan",
    "api_error",
    "build_cancel",
    "build_create",
    "build_delete",
    "build_get",
    "check_base_url",
    "decoding_error",
    "encode_json",
    "is_event_stream",
    "parse_interaction",
    "request_error",
    "resume_spec",
    "stream_content_error",
    "transport_error",
]

API_REVISION = "2026-05-20"
"""The Interactions API revision this client speaks (sent with every request)."""
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
"""Where requests go when neither ``base_url=`` nor ``GEMINI_BASE_URL`` says otherwise."""
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
DEFAULT_STREAM_IDLE_TIMEOUT = 600.0
"""Seconds a stream may go without an event (keep-alive comments do not count)."""

TimeoutTypes = Union[float, httpx.Timeout, None]


class CreateParams(TypedDict, total=False):
    """The body fields of ``interactions.create`` (spec section 2), except ``stream``."""

    model: ModelId
    agent: AgentId
    input: Any
    previous_interaction_id: str
    store: bool
    background: bool
    system_instruction: str
    tools: Any
    generation_config: Any
    response_format: Any
    response_mime_type: str
    response_modalities: list[Modality]
    safety_settings: Any
    service_tier: ServiceTier
    environment: Any
    agent_config: Any
    labels: dict[str, str]
    webhook_config: Any
    continuation_token: str
    cached_content: str


BODY_FIELDS = frozenset(
    field.alias or name for name, field in CreateInteractionRequest.model_fields.items()
)


MIN_SCRUBBED_KEY = 8
"""Keys shorter than this are not scrubbed from texts (too likely to be part of words);
agentloop never puts a key into a text in the first place."""


def _key_pattern(value: str) -> str:
    """A pattern for ``value`` wherever it appears, glued to other characters or not, with
    any of its characters possibly JSON-escaped (``\\u0041``, ``\\/``): a server may echo
    the key inside a word, or escaped, and both decode to the key."""
    parts = []
    for char in value:
        escapes = [re.escape(char)]
        if ord(char) < 0x10000:
            code = f"{ord(char):04x}"
            escapes.append(
                "\\\\u" + "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in code)
            )
        if char == "/":
            escapes.append(re.escape("\\/"))
        parts.append("(?:" + "|".join(escapes) + ")")
    return "".join(parts)


class _Secret:
    """Holds the API key so that no repr, str, log or pickle of a holder can show it."""

    __slots__ = ("_bytes", "_patterns", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._bytes = value.encode("utf-8", "surrogateescape")
        self._patterns: tuple[re.Pattern[str], re.Pattern[bytes]] | None = None

    def get(self) -> str:
        return self._value

    def _compiled(self) -> tuple[re.Pattern[str], re.Pattern[bytes]]:
        if self._patterns is None:
            text = _key_pattern(self._value)
            self._patterns = (re.compile(text), re.compile(text.encode("utf-8", "surrogateescape")))
        return self._patterns

    # The key may hide behind JSON escapes (\u0041, \/): a text without the key and
    # without such an escape is returned as is. The backslash test first: most texts have none.
    def scrub(self, text: str) -> str:
        if len(self._value) < MIN_SCRUBBED_KEY or (
            self._value not in text
            and ("\\" not in text or ("\\u" not in text and "\\/" not in text))
        ):
            return text
        return self._compiled()[0].sub("***", text)

    def scrub_bytes(self, data: bytes) -> bytes:
        if len(self._value) < MIN_SCRUBBED_KEY or (
            self._bytes not in data
            and (b"\\" not in data or (b"\\u" not in data and b"\\/" not in data))
        ):
            return data
        return self._compiled()[1].sub(b"***", data)

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("the API key holder cannot be pickled")


_HOST = re.compile(r"[A-Za-z0-9.\-]+|[0-9A-Fa-f:.]+")  # names (IDNA-encoded), IPv4, IPv6


def check_base_url(base: str) -> str:
    """``base`` without its trailing ``/``, or :class:`InvalidURLError` naming it."""
    problem = ""
    try:
        url = httpx.URL(base)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        problem = str(exc)
    else:
        if url.scheme not in ("http", "https"):
            problem = "it must start with http:// or https://"
        elif not url.host:
            problem = "it has no host name"
        elif not _HOST.fullmatch(url.raw_host.decode("ascii", "replace")):
            problem = f"{url.host!r} is not a host name"
        elif url.query or url.fragment:
            problem = "it must not have a query (?...) or a fragment (#...)"
    if problem:
        raise InvalidURLError(
            f"the API base URL {base!r} is not usable ({problem}); pass a URL like "
            f"{DEFAULT_BASE_URL!r} or 'http://127.0.0.1:8765' as Client(base_url=...) or "
            "GEMINI_BASE_URL"
        )
    return base.rstrip("/")


class ClientConfig:
    """Where and how to talk to the API; shared by both drivers."""

    __slots__ = ("_headers", "_key", "api_version", "base_url", "stream_idle_timeout")

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        api_version: str,
        stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT,
    ) -> None:
        if api_key is not None and not isinstance(api_key, str):
            raise ConfigurationError(
                f"api_key is the API key as a str, not {type(api_key).__name__} (the value "
                "is not shown); leave it out to read GEMINI_API_KEY"
            )
        key = api_key if api_key is not None else os.environ.get("GEMINI_API_KEY")
        self._key = _Secret(key) if key else None
        base = base_url or os.environ.get("GEMINI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = check_base_url(base)
        self.api_version = api_version.strip("/")
        if stream_idle_timeout is not None and not stream_idle_timeout > 0:
            raise ConfigurationError(
                f"stream_idle_timeout must be a positive number of seconds or None (no "
                f"deadline), got {stream_idle_timeout!r}"
            )
        self.stream_idle_timeout = stream_idle_timeout
        self._headers: tuple[dict[str, str], dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f"base_url={redact(self.base_url)!r}, api_version={self.api_version!r}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path}"

    def headers(self, stream: bool) -> dict[str, str]:
        """Request headers; built once, at the first request (a missing key fails here)."""
        if self._headers is None:
            if self._key is None:
                raise MissingAPIKeyError()
            # Few headers on purpose (RequestFactory merges them with the client's once).
            common = {
                "x-goog-api-key": self._key.get(),
                "Api-Revision": API_REVISION,
                "Content-Type": "application/json",
            }
            self._headers = (
                {**common, "Accept": "application/json"},  # the spec's header table (1)
                {**common, "Accept": "text/event-stream"},
            )
        return self._headers[1] if stream else self._headers[0]

    def scrub(self, text: str) -> str:
        """Replace the key, where it is a whole token, in text that came from elsewhere (an
        echoed error, a response body, a stream event). Keys shorter than
        ``MIN_SCRUBBED_KEY`` characters are left alone: they would mangle words."""
        return text if self._key is None else self._key.scrub(text)

    @property
    def scrubber(self) -> Callable[[str], str] | None:
        """:meth:`scrub` with one call less, or None when there is nothing to scrub (no key,
        or one too short): for per-event use."""
        if self._key is None or len(self._key.get()) < MIN_SCRUBBED_KEY:
            return None
        return self._key.scrub

    def scrub_bytes(self, data: bytes) -> bytes:
        """:meth:`scrub` for response bytes (one ``in`` test when the key is absent)."""
        return data if self._key is None else self._key.scrub_bytes(data)


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """Everything needed to send one request; the drivers turn it into bytes on a wire."""

    method: Literal["GET", "POST", "DELETE"]
    url: str
    params: dict[str, str] | None = None
    body: bytes | None = None
    stream: bool = False
    timeout: TimeoutTypes | httpx.Timeout = None

    @property
    def label(self) -> str:
        """How errors name the request (credentials in the URL, if any, hidden)."""
        return f"{self.method} {redact(self.url)}"


class RequestFactory:
    """Turns specs into ``httpx.Request`` objects for one httpx client, used as is.

    The httpx client's headers, params and cookies apply as ``build_request`` would apply
    them (its auth and event hooks apply in ``send``). ``build_request`` re-normalises every
    header on every call (~18 µs, and ``httpx.Request(content=...)`` alone ~8 µs); while the
    client has no params and no cookies, merging its headers with ours once (again whenever
    its headers change) and adding what httpx would add (``Host``, ``Content-Length``) gives
    the same request, header for header, for ~3 µs.
    """

    __slots__ = (
        "_client_headers",
        "_config",
        "_headers",
        "_http",
        "_timeout",
        "_urls",
        "_with_host",
    )

    def __init__(
        self,
        config: ClientConfig,
        http: httpx.Client | httpx.AsyncClient,
        timeout: TimeoutTypes | httpx.Timeout,
    ) -> None:
        self._config = config
        self._http = http
        self._timeout = None if timeout is None else _timeout_dict(timeout)
        self._headers: dict[bool, httpx.Headers] = {}
        self._with_host: dict[tuple[bool, bytes], httpx.Headers] = {}
        self._client_headers: list[tuple[bytes, bytes]] | None = None
        # Parsing a URL costs httpx ~12 µs; the create URL is the same on every call.
        self._urls: dict[str | tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}

    def _timeout_for(self, spec: RequestSpec) -> dict[str, float | None]:
        if spec.timeout is not None:
            timeout = _timeout_dict(spec.timeout)
        elif self._timeout is not None:
            timeout = self._timeout
        else:
            timeout = self._http.timeout.as_dict()
        idle = self._config.stream_idle_timeout
        if spec.stream and idle is not None:
            # A silent connection (not even keep-alives) ends at the idle deadline too.
            read = timeout.get("read")
            if read is None or read > idle:
                timeout = {**timeout, "read": idle}
        return timeout

    def build(self, spec: RequestSpec) -> httpx.Request:
        http = self._http
        timeout = self._timeout_for(spec)
        if http.params or http.cookies:
            return http.build_request(
                spec.method,
                spec.url,
                params=spec.params,
                content=spec.body,
                headers=self._config.headers(spec.stream),
                extensions={"timeout": timeout},
            )
        client_headers = http.headers.raw
        if client_headers != self._client_headers:  # first use, or the caller changed them
            self._headers.clear()
            self._with_host.clear()
            self._client_headers = client_headers
        key = (spec.url, tuple(spec.params.items())) if spec.params else spec.url
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= 32:  # ids make get/cancel/delete URLs unique: stay bounded
                self._urls.clear()
            url = httpx.URL(spec.url)
            if spec.params:  # ?alt=sse on every streamed create: merging costs ~40 µs
                url = url.copy_merge_params(spec.params)
            self._urls[key] = url
        extensions = {"timeout": timeout}
        merged = self._headers.get(spec.stream)
        if merged is None:
            merged = httpx.Headers(http.headers)
            merged.update(self._config.headers(spec.stream))
            self._headers[spec.stream] = merged
        if not spec.body and spec.method == "POST":  # a cancel: httpx adds Content-Length: 0
            return httpx.Request(
                spec.method, url, headers=merged, content=b"", extensions=extensions
            )
        # The headers httpx would send: Host first, the client's, ours, Content-Length. Given
        # them and the body's stream, httpx does not re-normalise every header (~6 µs).
        headers = self._with_host.get((spec.stream, url.netloc))
        if headers is None:
            headers = merged
            if "Host" not in headers:
                headers = httpx.Headers([(b"Host", url.netloc), *merged.raw])
            self._with_host[spec.stream, url.netloc] = headers
        if spec.body:
            headers = headers.copy()
            headers["Content-Length"] = str(len(spec.body))
        request = httpx.Request(
            spec.method,
            url,
            headers=headers,
            stream=httpx.ByteStream(spec.body or b""),
            extensions=extensions,
        )
        request.read()
        return request


def _timeout_dict(timeout: float | httpx.Timeout) -> dict[str, float | None]:
    return httpx.Timeout(timeout).as_dict()


def _check_create(body: Mapping[str, Any]) -> None:
    """The SDK's client-side checks (spec 2.8); raise before anything is sent."""
    unknown = [key for key in body if key not in BODY_FIELDS]
    if unknown:
        raise UnknownFieldError(
            f"create() got an unexpected keyword argument {unknown[0]!r}; send fields the "
            f"client does not know with extra_body={{{unknown[0]!r}: ...}}"
        )
    has_agent = "agent" in body or "agent_config" in body
    if "model" in body and has_agent:
        raise RequestValidationError(
            "pass either model= (a model interaction) or agent=/agent_config= "
            "(an agent interaction), not both"
        )
    if "model" not in body and "agent" not in body:
        raise RequestValidationError(
            "create() needs model= (e.g. model='gemini-3.5-flash') or agent="
        )
    for key in ("generation_config", "cached_content"):
        if key in body and has_agent:
            raise RequestValidationError(
                f"{key} applies to model interactions only; remove it when using agent="
            )


def build_create(
    config: ClientConfig,
    body: Mapping[str, Any],
    *,
    stream: bool = False,
    extra_body: Mapping[str, Any] | None = None,
    timeout: TimeoutTypes | httpx.Timeout = None,
) -> RequestSpec:
    """``POST /{ver}/interactions``. ``None`` values are left out, as the SDK does."""
    fields = {key: value for key, value in body.items() if value is not None}
    _check_create(fields)
    if stream:
        fields["stream"] = True
    if extra_body:
        fields.update(extra_body)
    try:
        content = encode_json(fields)
    except (TypeError, ValueError, RecursionError) as exc:  # an unknown type, lone
        # surrogates, a reference cycle or nesting deeper than Python's recursion limit
        raise RequestEncodingError(
            f"the request body cannot be encoded as JSON ({type(exc).__name__}: {exc}); "
            "pass JSON-compatible values, with text that is valid Unicode"
        ) from None
    return RequestSpec(
        "POST",
        config.url("interactions"),
        {"alt": "sse"} if stream else None,
        content,
        stream,
        timeout,
    )


def _check_id(interaction_id: str) -> str:
    if not isinstance(interaction_id, str) or not interaction_id or "/" in interaction_id:
        raise RequestValidationError(
            f"interaction id must be a non-empty string without '/', got {interaction_id!r}"
        )
    return interaction_id


def build_get(
    config: ClientConfig,
    interaction_id: str,
    *,
    stream: bool = False,
    last_event_id: str | None = None,
    include_input: bool | None = None,
    timeout: TimeoutTypes | httpx.Timeout = None,
) -> RequestSpec:
    """``GET /{ver}/interactions/{id}`` (``stream=true`` reopens its event stream)."""
    if last_event_id is not None and not stream:
        raise RequestValidationError("last_event_id only applies with stream=True")
    params = {"stream": "true" if stream else "false"}
    if last_event_id is not None:
        params["last_event_id"] = last_event_id
    if include_input is not None:
        params["include_input"] = "true" if include_input else "false"
    url = config.url(f"interactions/{_check_id(interaction_id)}")
    return RequestSpec("GET", url, params, None, stream, timeout)


def build_cancel(
    config: ClientConfig, interaction_id: str, timeout: TimeoutTypes | httpx.Timeout = None
) -> RequestSpec:
    url = config.url(f"interactions/{_check_id(interaction_id)}/cancel")
    return RequestSpec("POST", url, None, b"", False, timeout)


def build_delete(
    config: ClientConfig, interaction_id: str, timeout: TimeoutTypes | httpx.Timeout = None
) -> RequestSpec:
    url = config.url(f"interactions/{_check_id(interaction_id)}")
    return RequestSpec("DELETE", url, None, None, False, timeout)


# --- responses ---------------------------------------------------------------------------------


_validate_interaction = Interaction.__pydantic_validator__.validate_json  # no Python wrapper


def parse_interaction(config: ClientConfig, content: bytes) -> Interaction:
    """One pass, in Rust: the response bytes straight into the model.

    The key is scrubbed first (a body may echo it). A ``function_call`` whose ``arguments``
    are not a JSON object is kept with ``arguments={}`` and marked
    (``FunctionCallStep.invalid_arguments``), as the stream assembler does.
    """
    content = config.scrub_bytes(content)
    try:
        interaction: Interaction = _validate_interaction(content)
        return interaction
    except ValidationError as exc:
        error = exc
    repaired = _repair_arguments(content)
    if repaired is not None:
        return repaired
    raise APIError(
        f"the API answered 200 with a body that is not an interaction "
        f"({len(wire_errors(error))} problems): {content[:200]!r}",
        status_code=200,
    )


def _repair_arguments(content: bytes) -> Interaction | None:
    """The interaction with non-object call arguments replaced by ``{}`` (and marked), or
    None when that is not what was wrong."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return None
    invalid: dict[int, str] = {}
    changed = False
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("type") != "function_call":
            continue
        arguments = step.get("arguments")
        if isinstance(arguments, dict):
            continue
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        try:
            parsed = json.loads(raw) if isinstance(arguments, str) else None
        except ValueError:
            parsed = None
        changed = True
        if isinstance(parsed, dict):
            step["arguments"] = parsed  # an object sent as JSON text: what the model meant
            continue
        step["arguments"] = {}
        invalid[index] = raw
    if not changed:
        return None
    try:
        interaction = Interaction.model_validate(data)
    except ValidationError:
        return None
    for index, raw in invalid.items():
        step = (interaction.steps or [])[index]
        if isinstance(step, FunctionCallStep):
            step.mark_invalid_arguments(raw)
    return interaction


def stream_content_error(
    config: ClientConfig, headers: Mapping[str, str], content: bytes
) -> APIError:
    """The error for a 200 to a streaming request that is not an event stream (e.g. JSON)."""
    kind = headers.get("content-type") or "no content type"
    snippet = config.scrub(content[:200].decode("utf-8", "replace"))
    return APIError(
        f"the API answered a streaming request with 200 and {kind!r} instead of "
        f"'text/event-stream' (a proxy or a wrong base URL?); the request was not resent. "
        f"Body: {snippet!r}",
        status_code=200,
    )


def is_event_stream(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").lower().startswith("text/event-stream")


def decoding_error(exc: httpx.DecodingError, spec: RequestSpec) -> APIError:
    """Our error for a response body httpx could not decode (bad gzip, charset...)."""
    return APIError(
        f"{spec.label}: the response body could not be decoded ({type(exc).__name__}: {exc})",
        status_code=200,
    )


# The API's wording for a request longer than the context window ("The input token count
# (N) exceeds the maximum number of tokens allowed (M).") and close variants.
_CONTEXT_OVERFLOW = re.compile(
    r"input token count|context (window|length)|(prompt|input) is too long", re.IGNORECASE
)


def api_error(
    config: ClientConfig, status_code: int, headers: Mapping[str, str], content: bytes
) -> APIError:
    """The error for a non-200 answer, from the API's ``{"error": {...}}`` body."""
    text = config.scrub(content.decode("utf-8", "replace"))
    body: Any = None
    status: str | None = None
    code: int | str | None = None
    message = ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        raw_status = error.get("status")
        status = raw_status if isinstance(raw_status, str) else None
        raw_code = error.get("code")
        code = raw_code if isinstance(raw_code, (int, str)) else None
    if not message:
        snippet = text.strip()[:300]
        message = snippet or httpx.codes.get_reason_phrase(status_code) or "error"
    cls = error_class_for_status(status_code)
    if status_code == 400 and _CONTEXT_OVERFLOW.search(message):
        cls = ContextWindowExceededError
    return cls(
        message,
        status_code=status_code,
        status=status,
        code=code,
        body=body,
        retry_after=parse_retry_after(headers),
    )


def transport_error(
    config: ClientConfig, exc: httpx.TransportError, spec: RequestSpec
) -> APIConnectionError:
    """Our error for an httpx transport failure; no request (hence no header) is kept."""
    detail = config.scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{spec.label} timed out ({detail})")
    return APIConnectionError(f"{spec.label} failed ({detail})")


def request_error(
    config: ClientConfig, exc: httpx.RequestError | httpx.InvalidURL, spec: RequestSpec
) -> AgentloopError:
    """Our error for any httpx failure of a request (nothing of httpx escapes)."""
    if isinstance(exc, httpx.TransportError):
        return transport_error(config, exc, spec)
    if isinstance(exc, httpx.DecodingError):
        return decoding_error(exc, spec)
    if isinstance(exc, httpx.InvalidURL):
        return RequestValidationError(f"{spec.label}: the URL is not valid ({exc})")
    detail = config.scrub(f"{type(exc).__name__}: {exc}")
    return APIConnectionError(f"{spec.label} failed ({detail})")


def resume_spec(config: ClientConfig, original: RequestSpec, state: Any) -> RequestSpec:
    """The request that continues a broken stream: ``GET .../{id}?stream=true&
    last_event_id=...``, or the original GET while it delivered nothing. A create (POST) is
    never resent once the API answered it: :meth:`StreamState.resume_reason` stops first."""
    if state.delivered == 0:
        assert original.method == "GET", "a create is never resent after its status line"
        return original
    return build_get(
        config,
        state.accumulator.interaction_id,
        stream=True,
        last_event_id=state.last_event_id,
        timeout=original.timeout,
    )


class WaitPlan:
    """When to poll a background interaction again (sans-I/O; the drivers do get and sleep).

    Waits grow x1.5 from ``poll_interval`` up to ``max_interval``. ``timeout`` bounds the wait
    measured as the larger of wall-clock time and the total slept (an injected sleep that
    returns at once still counts its seconds).
    """

    __slots__ = ("_delay", "_max", "_slept", "_started", "interaction_id", "timeout")

    def __init__(
        self,
        interaction_id: str,
        poll_interval: float,
        max_interval: float,
        timeout: float | None,
    ) -> None:
        self.interaction_id = interaction_id
        self.timeout = timeout
        self._delay = max(poll_interval, 0.0)
        self._max = max(max_interval, poll_interval)
        self._started = time.monotonic()
        self._slept = 0.0

    def next_delay(self, interaction: Interaction) -> float | None:
        """``None`` when ``interaction`` is done; else seconds to sleep before the next poll."""
        if interaction.status not in RUNNING_STATUSES:
            return None
        delay = self._delay
        elapsed = max(time.monotonic() - self._started, self._slept)
        if self.timeout is not None:
            left = self.timeout - elapsed
            if left <= 0:
                raise APITimeoutError(
                    f"interaction {self.interaction_id!r} is still {interaction.status} after "
                    f"{self.timeout:g} s of waiting; call wait() again with a longer timeout, "
                    "or cancel() it"
                )
            if delay > left:  # the last poll comes at the deadline, not a delay before it
                self._slept = self.timeout  # (then the wait is over)
                return left
        self._slept += delay
        self._delay = min(delay * 1.5, self._max)
        return delay
