"""Error classes, retry counts and waits (no real sleeping), Retry-After, on_retry."""

from __future__ import annotations

import asyncio
import pickle

import httpx
import pytest
from client_fakes import (
    Server,
    Sleeps,
    error_reply,
    interaction,
    json_reply,
    make_async_client,
    make_client,
)

from agentloop import errors
from agentloop.client import RetryEvent, RetryPolicy, on_retry

CASES = [
    (400, errors.InvalidRequestError, "INVALID_ARGUMENT"),
    (401, errors.AuthenticationError, "UNAUTHENTICATED"),
    (403, errors.PermissionDeniedError, "PERMISSION_DENIED"),
    (404, errors.NotFoundError, "NOT_FOUND"),
    (409, errors.APIConflictError, "ABORTED"),
    (418, errors.InvalidRequestError, None),
    (422, errors.InvalidRequestError, None),
    (429, errors.RateLimitError, "RESOURCE_EXHAUSTED"),
    (500, errors.ServerError, "INTERNAL"),
    (503, errors.ServerError, "UNAVAILABLE"),
]


@pytest.mark.parametrize(("code", "cls", "api_status"), CASES)
def test_status_maps_to_error_class(code: int, cls: type, api_status: str | None) -> None:
    server = Server(error_reply(code, "it went wrong", api_status))
    client = make_client(server, max_retries=0)
    with pytest.raises(cls) as info:
        client.interactions.get("int_1")
    err = info.value
    assert isinstance(err, errors.APIError)
    assert err.status_code == code
    assert err.status == api_status
    assert err.code == code
    assert err.message == "it went wrong"
    assert err.body == {
        "error": {
            "code": code,
            "message": "it went wrong",
            **({"status": api_status} if api_status else {}),
        }
    }
    assert f"HTTP {code}" in str(err) and "it went wrong" in str(err)
    assert err.hint and err.hint in str(err)  # says what to do
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is cls
    assert (clone.status_code, clone.status, clone.message, clone.body) == (
        code,
        api_status,
        "it went wrong",
        err.body,
    )
    assert len(server.requests) == 1


@pytest.mark.parametrize(("code", "cls", "api_status"), CASES)
async def test_async_status_maps_to_error_class(
    code: int, cls: type, api_status: str | None
) -> None:
    client = make_async_client(Server(error_reply(code, "bad", api_status)), max_retries=0)
    with pytest.raises(cls):
        await client.interactions.create(model="m", input="x")


def test_non_json_error_body_still_maps_by_status() -> None:
    server = Server(httpx.Response(502, text="<html>Bad Gateway</html>"))
    client = make_client(server, max_retries=0)
    with pytest.raises(errors.ServerError, match="Bad Gateway") as info:
        client.interactions.get("x")
    assert info.value.body is None


def test_sdk_string_error_code() -> None:
    reply = httpx.Response(429, json={"error": {"code": "too_many_requests", "message": "slow"}})
    client = make_client(Server(reply), max_retries=0)
    with pytest.raises(errors.RateLimitError) as info:
        client.interactions.get("x")
    assert info.value.code == "too_many_requests"
    assert "too_many_requests" in str(info.value)


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_then_succeed(code: int) -> None:
    server = Server(error_reply(code), error_reply(code), json_reply(interaction()))
    sleeps = Sleeps()
    client = make_client(server, sleeps)
    assert client.interactions.create(model="m", input="x").status == "completed"
    assert len(server.requests) == 3
    assert len(sleeps.calls) == 2
    # exponential: 0.5 s then 1 s, plus at most 0.25 s jitter each
    assert 0.5 <= sleeps.calls[0] <= 0.75 and 1.0 <= sleeps.calls[1] <= 1.25
    assert server.requests[0].content == server.requests[2].content


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(code: int) -> None:
    server = Server(error_reply(code))
    sleeps = Sleeps()
    client = make_client(server, sleeps)
    with pytest.raises(errors.APIError):
        client.interactions.create(model="m", input="x")
    assert len(server.requests) == 1 and sleeps.calls == []


def test_default_policy_makes_five_attempts_with_capped_backoff() -> None:
    server = Server(error_reply(503))
    sleeps = Sleeps()
    client = make_client(server, sleeps, retry=RetryPolicy(max_delay=1.5, jitter=0.0))
    with pytest.raises(errors.ServerError):
        client.interactions.create(model="m", input="x")
    assert len(server.requests) == 5
    assert sleeps.calls == [0.5, 1.0, 1.5, 1.5]


def test_max_retries_configures_and_disables() -> None:
    server = Server(error_reply(500))
    client = make_client(server, max_retries=1)
    with pytest.raises(errors.ServerError):
        client.interactions.get("x")
    assert len(server.requests) == 2
    server2 = Server(error_reply(500))
    with pytest.raises(errors.ServerError):
        make_client(server2, max_retries=0).interactions.get("x")
    assert len(server2.requests) == 1


def test_custom_retry_statuses() -> None:
    server = Server(error_reply(409))
    client = make_client(server, retry=RetryPolicy(retry_statuses=frozenset({503})))
    with pytest.raises(errors.APIConflictError) as info:
        client.interactions.get("x")
    assert len(server.requests) == 1
    # An HTTP 409 is an API error, not a store conflict (issue 21).
    assert not isinstance(info.value, errors.ConflictError)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "0.3"}, 0.3),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),  # ms wins
    ],
)
def test_retry_after_is_honoured(headers: dict[str, str], expected: float) -> None:
    server = Server(error_reply(429, **headers), json_reply(interaction()))
    sleeps = Sleeps()
    make_client(server, sleeps).interactions.create(model="m", input="x")
    assert sleeps.calls == [pytest.approx(expected)]


def test_retry_after_http_date() -> None:
    from agentloop.client._retry import parse_retry_after

    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "garbage"}) is None
    assert parse_retry_after({}) is None


def test_zero_retry_after_falls_back_to_backoff() -> None:
    server = Server(error_reply(503, **{"Retry-After": "0"}), json_reply(interaction()))
    sleeps = Sleeps()
    make_client(server, sleeps, retry=RetryPolicy(jitter=0.0)).interactions.get("x")
    assert sleeps.calls == [0.5]


def test_retry_after_beyond_cap_raises_with_the_wait_it_asked_for() -> None:
    server = Server(error_reply(429, "quota", **{"Retry-After": "120"}))
    sleeps = Sleeps()
    client = make_client(server, sleeps)
    with pytest.raises(errors.RateLimitError) as info:
        client.interactions.create(model="m", input="x")
    assert info.value.retry_after == 120.0
    assert "120 s" in str(info.value)
    assert sleeps.calls == [] and len(server.requests) == 1
    # A larger cap lets it wait.
    server2 = Server(error_reply(429, **{"Retry-After": "120"}), json_reply(interaction()))
    sleeps2 = Sleeps()
    make_client(server2, sleeps2, max_retry_after=300).interactions.get("x")
    assert sleeps2.calls == [120.0]


def _raise(exc: Exception) -> httpx.Response:
    raise exc


def test_connection_errors_are_retried_then_wrapped() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    server = Server(fail)
    sleeps = Sleeps()
    client = make_client(server, sleeps, max_retries=2)
    with pytest.raises(errors.APIConnectionError) as info:
        client.interactions.create(model="m", input="x")
    assert not isinstance(info.value, errors.APITimeoutError)
    assert "ConnectError" in str(info.value) and "POST http://api.test" in str(info.value)
    assert len(server.requests) == 3 and len(sleeps.calls) == 2
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert pickle.loads(pickle.dumps(info.value)).message == info.value.message


def test_connect_timeout_is_retried_read_timeout_is_not() -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectTimeout("slow connect", request=request)
        return json_reply(interaction())

    assert make_client(Server(flaky)).interactions.get("x").status == "completed"

    def read_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow read", request=request)

    server = Server(read_timeout)
    with pytest.raises(errors.APITimeoutError, match="timed out"):
        make_client(server).interactions.create(model="m", input="x")
    assert len(server.requests) == 1  # the POST may have been processed: never resent


async def test_async_retries_use_the_async_sleep() -> None:
    server = Server(
        error_reply(500), error_reply(429, **{"retry-after-ms": "10"}), json_reply(interaction())
    )
    sleeps = Sleeps()
    client = make_async_client(server, sleeps, retry=RetryPolicy(jitter=0.0))
    result = await client.interactions.create(model="m", input="x")
    assert result.status == "completed"
    assert sleeps.calls == [0.5, 0.01]


def test_on_retry_reports_events_in_its_context_only() -> None:
    seen: list[RetryEvent] = []
    server = Server(error_reply(503, "overloaded"), json_reply(interaction()))
    client = make_client(server, retry=RetryPolicy(jitter=0.0))
    with on_retry(seen.append):
        client.interactions.get("x")
    assert seen == [RetryEvent(1, 0.5, 503, "ServerError", "overloaded")]
    server.replies = [error_reply(503), json_reply(interaction())]
    client.interactions.get("x")  # outside the context: not reported
    assert len(seen) == 1


async def test_on_retry_follows_asyncio_tasks() -> None:
    seen_a: list[RetryEvent] = []
    seen_b: list[RetryEvent] = []

    async def run(seen: list[RetryEvent], code: int) -> None:
        server = Server(error_reply(code), json_reply(interaction()))
        client = make_async_client(server)
        with on_retry(seen.append):
            await asyncio.sleep(0)
            await client.interactions.get("x")

    await asyncio.gather(run(seen_a, 500), run(seen_b, 429))
    assert [e.status_code for e in seen_a] == [500]
    assert [e.status_code for e in seen_b] == [429]


def test_transport_and_misc_errors_pickle() -> None:
    samples: list[errors.AgentloopError] = [
        errors.MissingAPIKeyError(),
        errors.APIConnectionError("down"),
        errors.APITimeoutError("slow"),
        errors.StreamInterruptedError(
            "cut", interaction_id="i", last_event_id="e3", events_delivered=3
        ),
    ]
    for err in samples:
        clone = pickle.loads(pickle.dumps(err))
        assert type(clone) is type(err) and str(clone) == str(err)
    assert "GEMINI_API_KEY" in str(errors.MissingAPIKeyError())
    assert issubclass(errors.RequestValidationError, ValueError)


def test_every_error_is_one_agentloop_class_with_at_most_one_builtin_line() -> None:
    """httpx's rule: one hierarchy; a class may also be one builtin (for ``except ValueError``
    code), never several but for the two compatibility cases the tree marks."""
    import inspect

    from agentloop import errors as module

    classes = [
        c
        for c in vars(module).values()
        if inspect.isclass(c) and issubclass(c, Exception) and c.__module__ == module.__name__
    ]
    tree = (module.__doc__ or "").split("HTTP errors carry")[0]
    for cls in classes:
        assert f" {cls.__name__}" in tree, f"{cls.__name__} is missing from the tree"
        if issubclass(cls, Warning):
            continue
        assert issubclass(cls, errors.AgentloopError), cls
        builtins = [
            b
            for b in cls.__mro__
            if b.__module__ == "builtins" and b not in (BaseException, Exception, object)
        ]
        # the builtins a class is also one of form a single line (TimeoutError < OSError),
        # but for the two the tree marks: they keep what their calls raised before
        lines = {b for b in builtins if not any(o is not b and issubclass(o, b) for o in builtins)}
        allowed = {
            errors.StateError: {RuntimeError, ValueError},
            errors.TurnInProgressError: {RuntimeError, ValueError},
            errors.RequestEncodingError: {ValueError, TypeError},
            errors.UnknownFieldError: {ValueError, TypeError},
        }
        assert len(lines) <= 1 or lines == allowed.get(cls), (cls, lines)
