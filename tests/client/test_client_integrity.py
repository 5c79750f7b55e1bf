"""Issue 10, client side: a streamed create is sent once, streams have an idle deadline, a
caller's httpx client is used as is, the key is scrubbed from everything received, nothing of
httpx/pydantic escapes, and call arguments that are not a JSON object are marked, never
guessed. Every test runs through both drivers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from client_fakes import (
    BASE,
    CANARY,
    DroppingStream,
    Server,
    Sleeps,
    error_reply,
    interaction,
    json_reply,
    sse_bytes,
    sse_reply,
    text_stream_events,
)

from agentloop import AsyncClient, Client, errors
from agentloop.loop.history import encode_step
from agentloop.types import FunctionCallStep, Interaction

DRIVERS = ["sync", "async"]


def _client(driver: str, server: Server, **kwargs: Any) -> Client | AsyncClient:
    kwargs.setdefault("api_key", CANARY)
    kwargs.setdefault("base_url", BASE)
    sleeps = Sleeps()
    if driver == "sync":
        return Client(
            http_client=kwargs.pop("http_client", None)
            or httpx.Client(transport=httpx.MockTransport(server)),
            sleep=sleeps,
            **kwargs,
        )
    return AsyncClient(
        http_client=kwargs.pop("http_client", None)
        or httpx.AsyncClient(transport=httpx.MockTransport(server)),
        sleep=sleeps.asleep,
        **kwargs,
    )


def stream(driver: str, server: Server, **kwargs: Any) -> tuple[list[Any], Interaction]:
    """Create a streamed interaction; its events and final interaction (or the error)."""
    client = _client(driver, server, **kwargs)
    if isinstance(client, Client):
        with client.interactions.create(model="m", input="x", stream=True) as s:
            return list(s), s.interaction

    async def run() -> tuple[list[Any], Interaction]:
        assert isinstance(client, AsyncClient)
        s = await client.interactions.create(model="m", input="x", stream=True)
        async with s:
            return [e async for e in s], s.interaction

    return asyncio.run(run())


def create(driver: str, server: Server, **kwargs: Any) -> Interaction:
    client = _client(driver, server, **kwargs)
    if isinstance(client, Client):
        return client.interactions.create(model="m", input="x")
    return asyncio.run(client.interactions.create(model="m", input="x"))


def get(driver: str, server: Server, **kwargs: Any) -> Interaction:
    client = _client(driver, server, **kwargs)
    if isinstance(client, Client):
        return client.interactions.get("int_1")
    return asyncio.run(client.interactions.get("int_1"))


class SlowStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Sends ``chunks``, then a keep-alive comment every ``interval`` s up to ``limit`` of
    them, then ``tail`` (and closes cleanly)."""

    def __init__(
        self, chunks: list[bytes], *, interval: float, limit: int, tail: bytes = b""
    ) -> None:
        self.chunks, self.interval, self.limit, self.tail = chunks, interval, limit, tail
        self.sent_keepalives = 0

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        for _ in range(self.limit):
            time.sleep(self.interval)
            self.sent_keepalives += 1
            yield b": keep-alive\n\n"
        if self.tail:
            yield self.tail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        for _ in range(self.limit):
            await asyncio.sleep(self.interval)
            self.sent_keepalives += 1
            yield b": keep-alive\n\n"
        if self.tail:
            yield self.tail


def slow_reply(stream: SlowStream) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)


# --- item 6: a streamed create is sent once ----------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_json_200_to_a_stream_request_is_one_post_and_names_the_content_type(
    driver: str,
) -> None:
    server = Server(json_reply(interaction()))
    with pytest.raises(errors.APIError, match="application/json") as info:
        stream(driver, server)
    assert info.value.status_code == 200 and "not resent" in str(info.value)
    assert [r.method for r in server.requests] == ["POST"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_empty_event_stream_is_one_post_and_a_clear_error(driver: str) -> None:
    empty = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"")
    server = Server(empty)
    with pytest.raises(errors.APIError, match="text/event-stream' but the stream ended"):
        stream(driver, server)
    assert [r.method for r in server.requests] == ["POST"]
    # Keep-alive comments only: still no event, still one POST.
    server = Server(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b": hi\n\n")
    )
    with pytest.raises(errors.APIError, match="without any event"):
        stream(driver, server)
    assert len(server.requests) == 1


@pytest.mark.parametrize("driver", DRIVERS)
def test_reset_after_the_status_line_is_not_resent(driver: str) -> None:
    server = Server(sse_reply([], drop=True), sse_reply(text_stream_events()))
    with pytest.raises(errors.StreamInterruptedError, match="not resent") as info:
        stream(driver, server)
    assert info.value.events_delivered == 0
    assert [r.method for r in server.requests] == ["POST"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_once_events_arrived_a_create_resumes_only_by_get(driver: str) -> None:
    events = text_stream_events()
    server = Server(
        sse_reply(events[:4], drop=True),
        sse_reply([], drop=True),  # the resume itself drops before an event: GET again
        sse_reply(events[4:]),
    )
    seen, final = stream(driver, server)
    assert len(seen) == len(events) and final.output_text == "Hello world"
    methods = [(r.method, dict(r.url.params)) for r in server.requests]
    assert methods == [
        ("POST", {"alt": "sse"}),
        ("GET", {"stream": "true", "last_event_id": "ev4"}),
        ("GET", {"stream": "true", "last_event_id": "ev4"}),
    ]


# --- item 7: the stream idle deadline ------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_keepalives_only_end_with_a_timeout_error(driver: str) -> None:
    events = text_stream_events()
    body = SlowStream([sse_bytes(events[:1])], interval=0.01, limit=500)
    server = Server(slow_reply(body))
    with pytest.raises(errors.APITimeoutError, match="stream_idle_timeout") as info:
        stream(driver, server, stream_idle_timeout=0.05, max_retries=0)
    err = info.value
    assert isinstance(err, errors.StreamTimeoutError)
    assert isinstance(err, errors.StreamInterruptedError)
    assert err.events_delivered == 1 and err.interaction_id == "int_s"
    # Ended by the deadline, not by the body's end (keep-alives never reset it). No lower bound:
    # how many keep-alives fit in 0.05 s depends on the machine's load.
    assert body.sent_keepalives < 500


@pytest.mark.parametrize("driver", DRIVERS)
def test_idle_stream_is_resumed_like_a_drop(driver: str) -> None:
    events = text_stream_events()
    body = SlowStream([sse_bytes(events[:3])], interval=0.01, limit=500)
    server = Server(slow_reply(body), sse_reply(events[3:]))
    seen, final = stream(driver, server, stream_idle_timeout=0.05)
    assert [e.event_id for e in seen] == [e["event_id"] for e in events]
    assert final.output_text == "Hello world"
    resume = server.requests[1]
    assert resume.method == "GET" and resume.url.params["last_event_id"] == "ev3"


@pytest.mark.parametrize("driver", DRIVERS)
def test_idle_deadline_off_and_events_reset_it(driver: str) -> None:
    events = text_stream_events()
    # 0.12 s of keep-alives in all, never 0.05 s without an event... is what the next case
    # checks; here with the deadline off, a long quiet stretch is fine.
    body = SlowStream([sse_bytes(events[:2])], interval=0.01, limit=8, tail=sse_bytes(events[2:]))
    seen, _ = stream(driver, Server(slow_reply(body)), stream_idle_timeout=None)
    assert len(seen) == len(events)

    class Trickle(httpx.SyncByteStream, httpx.AsyncByteStream):
        """One event every 0.02 s: each resets a 0.05 s deadline, though it all takes longer."""

        def __iter__(self) -> Iterator[bytes]:
            for event in events:
                time.sleep(0.02)
                yield sse_bytes([event])

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for event in events:
                await asyncio.sleep(0.02)
                yield sse_bytes([event])

    server = Server(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Trickle())
    )
    seen, final = stream(driver, server, stream_idle_timeout=0.05, max_retries=0)
    assert len(seen) == len(events) and final.status == "completed"


@pytest.mark.parametrize("driver", DRIVERS)
def test_silent_stream_read_timeout_is_the_idle_deadline(driver: str) -> None:
    server = Server(sse_reply(text_stream_events()))
    stream(driver, server, stream_idle_timeout=2.5)
    assert server.last.extensions["timeout"]["read"] == 2.5
    server = Server(json_reply(interaction()))
    create(driver, server, stream_idle_timeout=2.5)
    assert server.last.extensions["timeout"]["read"] == 5.0  # only streams get it


@pytest.mark.parametrize("cls", [Client, AsyncClient])
@pytest.mark.parametrize("value", [0, -1.0])
def test_idle_timeout_must_be_positive(cls: type[Client] | type[AsyncClient], value: float) -> None:
    with pytest.raises(errors.ConfigurationError, match="stream_idle_timeout"):
        cls(api_key=CANARY, base_url=BASE, stream_idle_timeout=value)


# --- item 10: the caller's httpx client is used as is --------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_callers_http_client_params_cookies_headers_auth_and_hooks_apply(driver: str) -> None:
    server = Server(json_reply(interaction()), sse_reply(text_stream_events()))
    hooked: list[str] = []
    common: dict[str, Any] = {
        "transport": httpx.MockTransport(server),
        "params": {"tenant": "t1"},
        "cookies": {"session": "s1"},
        "headers": {"x-team": "blue"},
        "auth": httpx.BasicAuth("proxy-user", "proxy-pass"),
    }
    http: httpx.Client | httpx.AsyncClient
    if driver == "sync":
        http = httpx.Client(
            event_hooks={"request": [lambda r: hooked.append(r.url.path)]}, **common
        )
    else:

        async def hook(request: httpx.Request) -> None:
            hooked.append(request.url.path)

        http = httpx.AsyncClient(event_hooks={"request": [hook]}, **common)
    create(driver, server, http_client=http)
    stream(driver, server, http_client=http)
    for request in server.requests:
        assert request.url.params["tenant"] == "t1"
        assert request.headers["cookie"] == "session=s1"
        assert request.headers["x-team"] == "blue"
        assert request.headers["authorization"].startswith("Basic ")
        assert request.headers["x-goog-api-key"] == CANARY
    assert server.requests[1].url.params["alt"] == "sse"
    assert hooked == ["/v1beta/interactions", "/v1beta/interactions"]


# --- item 11: the key is scrubbed from everything received ---------------------------------


def _no_key(*values: object) -> None:
    for value in values:
        assert CANARY not in str(value) and CANARY not in repr(value)


@pytest.mark.parametrize("driver", DRIVERS)
def test_200_body_echoing_the_key_is_scrubbed(driver: str) -> None:
    bad = httpx.Response(200, content=f'["key {CANARY} rejected"]'.encode())  # no object
    with pytest.raises(errors.APIError) as info:
        create(driver, Server(bad))
    _no_key(info.value, info.value.message, info.value.body)
    assert "***" in str(info.value)

    failed = interaction(status="failed")
    failed["errors"] = [{"code": 400, "message": f"API key not valid:\n{CANARY}"}]
    it = get(driver, Server(json_reply(failed)))
    _no_key(it, it.errors, it.model_dump_json())
    assert it.errors is not None and it.errors[0].message == "API key not valid:\n***"


@pytest.mark.parametrize("driver", DRIVERS)
def test_sse_error_event_echoing_the_key_is_scrubbed(driver: str) -> None:
    events = [
        *text_stream_events()[:2],
        {"event_type": "error", "error": {"code": 403, "message": f"key={CANARY}."}},
    ]
    seen, final = stream(driver, Server(sse_reply(events)))
    _no_key(seen, final, final.model_dump_json())
    assert final.status == "failed"
    assert final.errors is not None and final.errors[0].message == "key=***."

    bad = text_stream_events()[:1]
    raw = sse_bytes(bad) + f'data: {{"event_type": 7, "k": "{CANARY}"}}\n\n'.encode()
    reply = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=raw)
    with pytest.raises(errors.APIError, match="not a valid event") as info:
        stream(driver, Server(reply))
    _no_key(info.value)


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_key_is_scrubbed_glued_or_escaped_and_short_keys_never(driver: str) -> None:
    """Issue 20, fault 12: a key echoed glued to word characters or ``\\u``-escaped stayed."""
    key = "abcdefgh12"
    server = Server(error_reply(400, f"xx{key}yy is not {key}; see {key}-ish and {key}"))
    with pytest.raises(errors.InvalidRequestError) as info:
        create(driver, server, api_key=key, max_retries=0)
    assert info.value.message == "xx***yy is not ***; see ***-ish and ***"
    escaped = "\\u0061bcd\\u0065fgh12"  # JSON for "abcdefgh12"
    body = '{"error": {"code": 400, "message": "bad key ' + escaped + 'x", "status": "X"}}'
    server = Server(httpx.Response(400, content=body.encode()))
    with pytest.raises(errors.InvalidRequestError) as info:
        create(driver, server, api_key=key, max_retries=0)
    assert key not in str(info.value) and key not in repr(info.value.body)
    assert "bad key ***x" in str(info.value)

    server = Server(error_reply(400, "error: the request was wrong"))
    with pytest.raises(errors.InvalidRequestError) as info:
        create(driver, server, api_key="e", max_retries=0)
    assert info.value.message == "error: the request was wrong"


# --- item 12: nothing of httpx or pydantic escapes -------------------------------------------


def _function_call_stream(arguments_text: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"event_type": "interaction.created", "interaction": {"id": "i", "status": "in_progress"}},
        {
            "event_type": "step.start",
            "index": 0,
            "step": {"type": "function_call", "id": "call_1", "name": "archive", "arguments": {}},
        },
        {
            "event_type": "step.delta",
            "index": 0,
            "delta": {"type": "arguments_delta", "arguments": arguments_text},
        },
        {"event_type": "step.stop", "index": 0},
        {
            "event_type": "interaction.completed",
            "interaction": {"id": "i", "status": "requires_action"},
        },
    ]
    return events


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    "text",
    ["[1, 2]", '{"pattern": "*.log", "delete_after": tr', '"*.log"', "null"],
)
def test_streamed_arguments_that_are_not_an_object_are_marked_not_guessed(
    driver: str, text: str
) -> None:
    _, final = stream(driver, Server(sse_reply(_function_call_stream(text))))
    (call,) = final.function_calls
    assert isinstance(call, FunctionCallStep)
    assert call.arguments == {} and call.invalid_arguments == text
    # The marker is local: never on the wire nor in history's encoding.
    assert encode_step(call) == (
        b'{"type":"function_call","id":"call_1","name":"archive","arguments":{}}'
    )
    assert "invalid" not in final.model_dump_json()


@pytest.mark.parametrize("driver", DRIVERS)
def test_valid_streamed_arguments_are_not_marked(driver: str) -> None:
    _, final = stream(driver, Server(sse_reply(_function_call_stream('{"pattern": "*.log"}'))))
    (call,) = final.function_calls
    assert call.arguments == {"pattern": "*.log"} and call.invalid_arguments is None


@pytest.mark.parametrize("driver", DRIVERS)
def test_non_streamed_arguments_that_are_not_an_object_are_marked(driver: str) -> None:
    body = interaction(status="requires_action")
    body["steps"] = [
        {"type": "function_call", "id": "a", "name": "f", "arguments": [1, 2]},
        {"type": "function_call", "id": "b", "name": "f", "arguments": '{"x": 1}'},
        {"type": "function_call", "id": "c", "name": "f", "arguments": "{broken"},
        {"type": "function_call", "id": "d", "name": "f", "arguments": {"ok": True}},
    ]
    it = create(driver, Server(json_reply(body)))
    marks = {c.id: (c.arguments, c.invalid_arguments) for c in it.function_calls}
    assert marks == {
        "a": ({}, "[1, 2]"),
        "b": ({"x": 1}, None),  # an object sent as JSON text is what the model meant
        "c": ({}, "{broken"),
        "d": ({"ok": True}, None),
    }


@pytest.mark.parametrize("driver", DRIVERS)
def test_undecodable_body_is_an_api_error(driver: str) -> None:
    garbage = httpx.Response(
        200,
        headers={"content-encoding": "gzip", "content-type": "application/json"},
        stream=DroppingStream([b"this is not gzip"], drop=False),
    )
    with pytest.raises(errors.APIError, match="could not be decoded"):
        create(driver, Server(garbage))
    bad_stream = httpx.Response(
        200,
        headers={"content-encoding": "gzip", "content-type": "text/event-stream"},
        stream=DroppingStream([b"not gzip at all"], drop=False),
    )
    with pytest.raises(errors.APIError, match="could not be decoded"):
        stream(driver, Server(bad_stream))


@pytest.mark.parametrize(
    "url", ["http://[::1]:8000", "https://généra.example/v", "http://localhost:80/api/"]
)
def test_usable_base_urls_are_accepted(url: str) -> None:
    assert Client(api_key=CANARY, base_url=url).base_url == url.rstrip("/")


@pytest.mark.parametrize("cls", [Client, AsyncClient])
@pytest.mark.parametrize(
    "url", ["htp//typo.example", "http://exa mple.com", "http://", "ftp://host", "http://h/?q=1"]
)
def test_mistyped_base_url_fails_at_construction(
    cls: Callable[..., Any], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(errors.InvalidURLError) as info:
        cls(api_key=CANARY, base_url=url)
    assert isinstance(info.value, ValueError) and isinstance(info.value, errors.ConfigurationError)
    assert repr(url) in str(info.value)
    monkeypatch.setenv("GEMINI_BASE_URL", url)
    with pytest.raises(errors.InvalidURLError, match="GEMINI_BASE_URL"):
        cls(api_key=CANARY)


def test_stream_events_that_do_not_assemble_are_an_api_error() -> None:
    events = _function_call_stream("{}")
    # A server-tool style delta merging a name that is not a string into the call.
    events.insert(
        3, {"event_type": "step.delta", "index": 0, "delta": {"type": "function_call", "name": 7}}
    )
    for driver in DRIVERS:
        with pytest.raises(errors.APIError, match="do not assemble"):
            stream(driver, Server(sse_reply(events)))


def test_unmarked_calls_equal_their_wire_twins() -> None:
    # The (private) marker must not make steps unequal to the same step read back.
    call = FunctionCallStep(id="a", name="f", arguments={})
    assert call == FunctionCallStep.model_validate(json.loads(encode_step(call)))


@pytest.mark.parametrize("driver", DRIVERS)
def test_unencodable_request_bodies_are_agentloop_errors(driver: str) -> None:
    server = Server(json_reply(interaction()))
    client = _client(driver, server)
    for body in ("caf\udce9", {"x": object()}):
        with pytest.raises(errors.RequestEncodingError, match="cannot be encoded") as info:
            if isinstance(client, Client):
                client.interactions.create(model="m", input=body)
            else:
                asyncio.run(client.interactions.create(model="m", input=body))
        assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    assert server.requests == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_later_changes_to_the_callers_http_client_apply(driver: str) -> None:
    with_cookie = httpx.Response(
        200, json=interaction(), headers={"set-cookie": "route=r7; Path=/"}
    )
    server = Server(json_reply(interaction()), with_cookie, json_reply(interaction()))
    http: httpx.Client | httpx.AsyncClient
    if driver == "sync":
        http = httpx.Client(transport=httpx.MockTransport(server), headers={"x-team": "blue"})
    else:
        http = httpx.AsyncClient(transport=httpx.MockTransport(server), headers={"x-team": "blue"})
    client = _client(driver, server, http_client=http)

    def send() -> None:
        if isinstance(client, Client):
            client.interactions.create(model="m", input="x")
        else:
            asyncio.run(client.interactions.create(model="m", input="x"))

    send()
    http.headers["x-team"] = "red"  # changed in place after a first request
    send()  # answered with a cookie
    send()
    first, second, third = server.requests
    assert first.headers["x-team"] == "blue" and second.headers["x-team"] == "red"
    assert "cookie" not in second.headers and third.headers["cookie"] == "route=r7"
    assert third.headers["x-goog-api-key"] == CANARY
