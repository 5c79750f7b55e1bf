"""The API key (a canary here) never shows up in reprs, errors, pickles or logs."""

from __future__ import annotations

import logging
import pickle
import traceback

import httpx
import pytest
from client_fakes import (
    CANARY,
    Server,
    error_reply,
    make_async_client,
    make_client,
    sse_reply,
    text_stream_events,
)

from agentloop import Client, errors
from agentloop.client import RetryEvent, on_retry


def _texts(exc: BaseException) -> list[str]:
    return [
        repr(exc),
        str(exc),
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        repr(pickle.dumps(exc)),
        repr(vars(exc)),
    ]


def test_canary_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "agentloop", "agentloop.client"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    retries: list[RetryEvent] = []

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    # An error body that echoes the key must be scrubbed too.
    echo = error_reply(400, f"API key {CANARY} is not valid")
    events = text_stream_events()
    server = Server(
        error_reply(429, "slow down", **{"Retry-After": "1"}),
        echo,
        error_reply(401, "bad key"),
        boom,
        boom,
        sse_reply(events[:5], drop=True),
        lambda r: sse_reply([], drop=True),
    )
    client = make_client(server, max_retries=1)
    texts = [repr(client), str(client), repr(client._config), repr(client.interactions.__dict__)]
    raised: list[BaseException] = []
    with on_retry(retries.append):
        for call in (
            lambda: client.interactions.create(model="m", input="x"),  # 429 then 400 echo
            lambda: client.interactions.get("a"),  # 401
            lambda: client.interactions.get("b"),  # connect error x2
            lambda: list(client.interactions.create(model="m", input="x", stream=True)),
        ):
            with pytest.raises(errors.AgentloopError) as info:
                call()
            raised.append(info.value)
    assert [type(e) for e in raised] == [
        errors.InvalidRequestError,
        errors.AuthenticationError,
        errors.APIConnectionError,
        errors.StreamInterruptedError,
    ]
    assert "***" in str(raised[0])
    for exc in raised:
        texts += _texts(exc)
        assert exc.__cause__ is None
    texts += [repr(r) for r in retries]
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    assert caplog.records, "logging was captured"
    assert len(retries) >= 3
    for text in texts:
        assert CANARY not in text
    # ...while it was sent, and only as the header.
    for request in server.requests:
        assert request.headers["x-goog-api-key"] == CANARY
        assert CANARY not in str(request.url) and CANARY.encode() not in request.content


async def test_async_canary(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_async_client(Server(error_reply(403, "denied")), max_retries=0)
    with pytest.raises(errors.PermissionDeniedError) as info:
        await client.interactions.get("x")
    for text in [*_texts(info.value), repr(client), *(r.getMessage() for r in caplog.records)]:
        assert CANARY not in text


def test_key_holder_is_opaque() -> None:
    client = make_client(Server(error_reply(500)))
    holder = client._config._key
    assert repr(holder) == "'***'" and str(holder) == "'***'"
    with pytest.raises(TypeError):
        pickle.dumps(holder)


def test_credentials_in_the_base_url_stay_out_of_reprs_and_errors() -> None:
    """A proxy's ``user:password@`` in ``base_url`` (or GEMINI_BASE_URL) is hidden where the
    URL is shown: the client's repr, connection errors."""
    import httpx

    from agentloop.errors import APIConnectionError

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = Client(
        api_key="k",
        base_url="http://proxyuser:hunter2pw@127.0.0.1:1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
    )
    assert "hunter2pw" not in repr(client) and "proxyuser:***@" in repr(client)
    with pytest.raises(APIConnectionError) as info:
        client.interactions.create(model="gemini-3.5-flash", input="hi")
    assert "hunter2pw" not in str(info.value) and "proxyuser:***@127.0.0.1:1" in str(info.value)
