"""Every endpoint, both clients: request shape on the wire and the parsed result."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from client_fakes import (
    BASE,
    CANARY,
    Server,
    interaction,
    json_reply,
    make_async_client,
    make_client,
)

from agentloop import AsyncClient, Client
from agentloop.errors import (
    MissingAPIKeyError,
    RequestValidationError,
    StateError,
    UnknownFieldError,
)
from agentloop.testing import Emulator
from agentloop.types import FunctionCallStep, Interaction, RawJSON, TextContent


def test_create_sends_the_documented_request() -> None:
    server = Server(json_reply(interaction(text="hello")))
    client = make_client(server)
    result = client.interactions.create(model="gemini-3.5-flash", input="Hi", store=False)
    request = server.last
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/v1beta/interactions"
    assert request.headers["x-goog-api-key"] == CANARY
    assert request.headers["api-revision"] == "2026-05-20"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"  # the spec's header table
    assert json.loads(request.content) == {
        "model": "gemini-3.5-flash",
        "input": "Hi",
        "store": False,
    }
    assert isinstance(result, Interaction)
    assert result.output_text == "hello"
    assert result.usage is not None and result.usage.total_tokens == 7


async def test_async_create_sends_the_documented_request() -> None:
    server = Server(json_reply(interaction(text="hello")))
    async with make_async_client(server) as client:
        result = await client.interactions.create(model="m", input="Hi")
    assert str(server.last.url) == f"{BASE}/v1beta/interactions"
    assert server.last.headers["x-goog-api-key"] == CANARY
    assert server.last.headers["api-revision"] == "2026-05-20"
    assert server.body() == {"model": "m", "input": "Hi"}
    assert result.output_text == "hello"


def test_create_body_accepts_models_rawjson_and_extra_body() -> None:
    server = Server(json_reply(interaction()))
    client = make_client(server)
    raw = RawJSON(b'{"type":"thought","signature":"c2ln","future_key":[1,2]}')
    call = FunctionCallStep(id="c1", name="f", arguments={"x": 1})
    client.interactions.create(
        model="m",
        input=[raw, call, {"type": "user_input", "content": [TextContent(text="é")]}],
        previous_interaction_id=None,  # None is left out, as the SDK does
        tools=[{"type": "function", "name": "f"}],
        extra_body={"new_field": {"a": 1}},
    )
    content = server.last.content
    # RawJSON bytes are spliced verbatim (byte-exact, key order kept).
    assert b'{"type":"thought","signature":"c2ln","future_key":[1,2]}' in content
    assert json.loads(content) == {
        "model": "m",
        "input": [
            {"type": "thought", "signature": "c2ln", "future_key": [1, 2]},
            {"type": "function_call", "id": "c1", "name": "f", "arguments": {"x": 1}},
            {"type": "user_input", "content": [{"type": "text", "text": "é"}]},
        ],
        "tools": [{"type": "function", "name": "f"}],
        "new_field": {"a": 1},
    }


def test_rawjson_nested_inside_dicts_is_spliced() -> None:
    from agentloop.client._core import encode_json

    value = {
        "a": [1, {"b": RawJSON(b'{"z":true}'), 'q"k': "é"}],
        "m": TextContent(text="t"),
        "r": (RawJSON(b"[1]"),),
    }
    assert json.loads(encode_json(value)) == {
        "a": [1, {"b": {"z": True}, 'q"k': "é"}],
        "m": {"type": "text", "text": "t"},
        "r": [[1]],
    }
    history = [RawJSON(b'{"type":"user_input","content":"x"}')] * 3
    assert encode_json(history) == b"[" + b",".join(h.data for h in history) + b"]"
    with pytest.raises(TypeError, match="cannot send a object"):
        encode_json({"x": object()})


def test_create_rejects_bad_bodies_before_sending() -> None:
    server = Server(json_reply(interaction()))
    client = make_client(server)
    with pytest.raises(UnknownFieldError, match=r"'modle'.*extra_body") as info:
        client.interactions.create(modle="m", input="x")  # type: ignore[call-overload]
    assert isinstance(info.value, TypeError)  # as an unexpected keyword argument is
    with pytest.raises(RequestValidationError, match="not both"):
        client.interactions.create(model="m", agent="a", input="x")
    with pytest.raises(RequestValidationError, match="model interactions only"):
        client.interactions.create(agent="a", generation_config={"seed": 1}, input="x")
    with pytest.raises(RequestValidationError, match="not both"):
        client.interactions.create(model="m", agent_config={"type": "dynamic"}, input="x")
    with pytest.raises(ValueError, match="needs model="):
        client.interactions.create(input="x")
    assert server.requests == []


def test_get_cancel_delete() -> None:
    server = Server(
        json_reply(interaction(id="int_bg", status="in_progress")),
        json_reply(interaction(id="int_bg", status="in_progress")),
        json_reply(interaction(id="int_bg", status="cancelled")),
        json_reply({}),
    )
    client = make_client(server)
    got = client.interactions.get("int_bg")
    assert got.status == "in_progress"
    assert server.last.method == "GET"
    assert server.last.url.path == "/v1beta/interactions/int_bg"
    assert dict(server.last.url.params) == {"stream": "false"}
    client.interactions.get("int_bg", include_input=True)
    assert dict(server.last.url.params) == {"stream": "false", "include_input": "true"}
    cancelled = client.interactions.cancel("int_bg")
    assert cancelled.status == "cancelled"
    assert server.last.method == "POST"
    assert server.last.url.path == "/v1beta/interactions/int_bg/cancel"
    assert server.last.content == b""
    assert client.interactions.delete("int_bg") is None
    assert server.last.method == "DELETE"
    assert server.last.url.path == "/v1beta/interactions/int_bg"
    assert all(r.headers["x-goog-api-key"] == CANARY for r in server.requests)


async def test_async_get_cancel_delete() -> None:
    server = Server(
        json_reply(interaction(id="int_bg", status="in_progress")),
        json_reply(interaction(id="int_bg", status="cancelled")),
        json_reply({}),
    )
    client = make_async_client(server)
    assert (await client.interactions.get("int_bg")).status == "in_progress"
    assert (await client.interactions.cancel("int_bg")).status == "cancelled"
    assert server.last.url.path == "/v1beta/interactions/int_bg/cancel"
    assert await client.interactions.delete("int_bg") is None
    assert [r.method for r in server.requests] == ["GET", "POST", "DELETE"]
    await client.close()


def test_bad_ids_are_rejected() -> None:
    client = make_client(Server(json_reply({})))
    with pytest.raises(RequestValidationError):
        client.interactions.get("a/b")
    with pytest.raises(RequestValidationError):
        client.interactions.delete("")
    with pytest.raises(RequestValidationError, match="last_event_id"):
        client.interactions.get("x", last_event_id="e1")  # type: ignore[call-overload]


def test_wait_polls_with_backoff_until_not_running() -> None:
    from client_fakes import Sleeps

    server = Server(
        json_reply(interaction(status="queued")),
        json_reply(interaction(status="in_progress")),
        json_reply(interaction(status="in_progress")),
        json_reply(interaction(status="requires_action")),
    )
    sleeps = Sleeps()
    client = make_client(server, sleeps)
    result = client.interactions.wait("int_1", poll_interval=2.0, max_interval=4.0)
    assert result.status == "requires_action"
    assert sleeps.calls == [2.0, 3.0, 4.0]
    assert len(server.requests) == 4


def test_wait_timeout_is_a_clear_error() -> None:
    from client_fakes import Sleeps

    from agentloop.errors import APITimeoutError

    sleeps = Sleeps()
    client = make_client(Server(json_reply(interaction(status="in_progress"))), sleeps)
    with pytest.raises(APITimeoutError, match="still in_progress"):
        client.interactions.wait("int_1", poll_interval=1.0, timeout=3.0)
    assert sum(sleeps.calls) <= 3.0


async def test_async_wait() -> None:
    from client_fakes import Sleeps

    sleeps = Sleeps()
    server = Server(json_reply(interaction(status="in_progress")), json_reply(interaction()))
    client = make_async_client(server, sleeps)
    result = await client.interactions.wait("int_1", poll_interval=0.5)
    assert result.status == "completed"
    assert sleeps.calls == [0.5]


def test_missing_key_is_clear_and_lazy(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(json_reply(interaction()))
    client = Client(http_client=httpx.Client(transport=httpx.MockTransport(server)))
    with pytest.raises(MissingAPIKeyError, match="GEMINI_API_KEY"):
        client.interactions.create(model="m", input="x")
    assert server.requests == []


def test_environment_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", CANARY)
    monkeypatch.setenv("GEMINI_BASE_URL", "http://env.test/prefix/")
    server = Server(json_reply(interaction()))
    client = Client(
        http_client=httpx.Client(transport=httpx.MockTransport(server)), api_version="v1"
    )
    client.interactions.create(model="m", input="x")
    assert str(server.last.url) == "http://env.test/prefix/v1/interactions"
    assert server.last.headers["x-goog-api-key"] == CANARY
    monkeypatch.delenv("GEMINI_BASE_URL")
    assert Client(api_key="k").base_url == "https://generativelanguage.googleapis.com"


def test_owned_http_client_is_closed_by_context_manager() -> None:
    with Client(api_key="k") as client:
        http = client._http
    assert http.is_closed
    user_http = httpx.Client()
    with Client(api_key="k", http_client=user_http):
        pass
    assert not user_http.is_closed  # the caller owns it
    user_http.close()


async def test_async_owned_http_client_is_closed() -> None:
    async with AsyncClient(api_key="k") as client:
        http = client._http
    assert http.is_closed


def test_a_closed_client_says_so_instead_of_an_httpx_runtime_error() -> None:
    server = Server(json_reply(interaction()))
    client = Client(api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(server)))
    client.close()  # a caller's http_client stays open: the client itself is closed
    with pytest.raises(StateError, match=r"this Client is closed .*create a new one"):
        client.interactions.create(model="m", input="x")
    own = Client(api_key="k", base_url="http://127.0.0.1:9")
    with own:
        pass
    with pytest.raises(StateError, match="this Client is closed"):
        own.interactions.get("i1")
    assert server.requests == []

    async def closed_async() -> None:
        async with AsyncClient(api_key="k", base_url="http://127.0.0.1:9") as gone:
            pass
        with pytest.raises(StateError, match="this AsyncClient is closed"):
            await gone.interactions.create(model="m", input="x")

    asyncio.run(closed_async())


def test_an_async_client_goes_on_in_a_new_event_loop() -> None:
    """``asyncio.run`` twice with one ``AsyncClient`` (or a sync entry point running its own
    loop first): its own connections ended with the first loop, so it opens new ones instead
    of failing inside httpx with "Event loop is closed"."""
    emulator = Emulator()
    with emulator.serve() as url:
        client = AsyncClient(api_key="k", base_url=url)

        async def ask() -> str:
            return (await client.interactions.create(model="gemini-3.5-flash", input="hi")).status

        first_http = client._http
        assert asyncio.run(ask()) == "completed"
        assert asyncio.run(ask()) == "completed"  # a new loop: new connections
        assert client._http is not first_http

        async def ask_and_close() -> str:
            try:
                return await ask()
            finally:
                await client.close()

        assert asyncio.run(ask_and_close()) == "completed"
        assert client._http.is_closed
        with pytest.raises(StateError, match="this AsyncClient is closed"):
            asyncio.run(ask())


def test_an_async_client_runs_outside_asyncio_too() -> None:
    """httpx runs under trio as well: the event-loop bookkeeping above is asyncio's only."""
    trio = pytest.importorskip("trio", reason="trio comes with selenium (the dev extra)")
    server = Server(json_reply(interaction()))
    client = AsyncClient(
        api_key="k", http_client=httpx.AsyncClient(transport=httpx.MockTransport(server))
    )

    async def ask() -> str:
        return (await client.interactions.create(model="m", input="x")).status

    assert trio.run(ask) == "completed"
    assert len(server.requests) == 1


def test_per_call_timeout_reaches_httpx() -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return json_reply(interaction())

    client = Client(api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    client.interactions.create(model="m", input="x", timeout=3.5)
    assert seen[-1] == {"connect": 3.5, "read": 3.5, "write": 3.5, "pool": 3.5}


def test_a_success_body_is_read_leniently_and_one_that_is_no_object_is_an_api_error() -> None:
    """As the SDK reads it (wire specification 9.2): a body without ``status`` is an
    interaction whose status is ``None``; a body that is not a JSON object is an error."""
    from agentloop.errors import APIError

    lenient = make_client(Server(json_reply({"id": "x", "steps": []})))  # no status
    it = lenient.interactions.get("x")
    assert it.status is None and it.id == "x"
    client = make_client(Server(json_reply(["not", "an", "interaction"])))
    with pytest.raises(APIError, match="not an interaction"):
        client.interactions.get("x")


def test_unknown_types_round_trip_through_the_client() -> None:
    payload = {
        "id": "int_u",
        "status": "completed",
        "object": "interaction",
        "brand_new_field": {"x": [1, 2]},
        "steps": [
            {"type": "teleport_call", "id": "t", "target": {"x": 1}},
            {
                "type": "model_output",
                "content": [
                    {"type": "hologram", "frames": 3},
                    {
                        "type": "text",
                        "text": "done",
                        "annotations": [{"type": "future_cite", "k": 1}],
                    },
                ],
            },
        ],
    }
    server = Server(json_reply(payload))
    client = make_client(server)
    result = client.interactions.create(model="m", input="x")
    assert result.model_dump(mode="json") == payload
    assert result.output_text == "done"
    # Resent as history, the unknown steps come back byte-for-byte equivalent.
    client.interactions.create(model="m", input=result.steps, store=False)
    assert server.body()["input"] == payload["steps"]
