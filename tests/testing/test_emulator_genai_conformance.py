"""The official google-genai 3.3.0 client runs the seed guides' scenarios against the emulator.

Every raw JSON response and every SSE event the emulator sends is validated with the SDK's
own types (``Interaction`` / ``InteractionSSEEvent``), and nothing may fall back to the SDK's
``Unknown*`` classes (which would mean a known object had the wrong shape).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from _http import tls
from _lazy import lazy_module
from _sdk import models_built_once

from agentloop.testing import Emulator, Reply, ScriptedModel
from agentloop.testing.emulator import EmulatorResponse

# The official SDK (imported by the first test that uses it, not at collection).
genai = lazy_module("google.genai")
gx = lazy_module("google.genai._interactions")
gi = lazy_module("google.genai.interactions")
gtypes = lazy_module("google.genai.types")
API_KEY = "test-key"


@pytest.fixture(scope="module", autouse=True)
def _sdk_models_built_once() -> Iterator[None]:
    with models_built_once():
        yield


@functools.cache
def sse_adapter() -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(gi.InteractionSSEEvent)


class Wire:
    """Wraps ``Emulator.handle`` to keep every response body / SSE frame sent."""

    def __init__(self, emulator: Emulator) -> None:
        self.bodies: list[tuple[int, bytes]] = []
        self.frames: list[bytes] = []
        inner = emulator.handle

        def handle(*args: Any) -> EmulatorResponse:
            res = inner(*args)
            if res.events is not None:
                res.events = self._tee(res.events)
            else:
                self.bodies.append((res.status, res.body))
            return res

        emulator.handle = handle  # type: ignore[method-assign]

    def _tee(self, frames: Iterator[bytes]) -> Iterator[bytes]:
        for frame in frames:
            self.frames.append(frame)
            yield frame


def _no_unknowns(obj: Any, path: str = "") -> None:
    assert not type(obj).__name__.startswith("Unknown"), f"{path} fell back to {type(obj)}"
    if isinstance(obj, pydantic.BaseModel):
        for name in type(obj).model_fields:
            _no_unknowns(obj.__dict__.get(name), f"{path}.{name}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            _no_unknowns(item, f"{path}[{i}]")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Emulator, str, Wire]]:
    emulator = Emulator(api_keys={API_KEY}, background_polls=1)
    wire = Wire(emulator)
    with emulator.serve() as url:
        yield emulator, url, wire


def make_client(url: str, key: str = API_KEY) -> genai.Client:
    # The SDK builds a fresh verifying context (reading the CA bundle, ~20 ms) for each of its
    # two httpx clients; the emulator is plain HTTP, so one context serves every client here.
    return genai.Client(
        api_key=key,
        http_options=gtypes.HttpOptions(
            base_url=url,
            client_args={"verify": tls()},
            async_client_args={"verify": tls(), "ssl": tls()},
            api_version="v1beta",
            headers={"Api-Revision": "2026-05-20"},
            retry_options=gtypes.HttpRetryOptions(attempts=1),
            timeout=10_000,
        ),
    )


@pytest.fixture
def client(
    server: tuple[Emulator, str, Wire], monkeypatch: pytest.MonkeyPatch
) -> Iterator[genai.Client]:
    emulator, url, wire = server
    for var in (
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_USE_ENTERPRISE",
        "GOOGLE_GENAI_API_VERSION",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    emulator.faults.clear()
    wire.bodies.clear()
    wire.frames.clear()
    yield make_client(url)
    # Whatever the test did, the wire must validate with the SDK's own types.
    for status, body in wire.bodies:
        payload = json.loads(body)
        if status == 200 and payload != {}:
            _no_unknowns(gi.Interaction.model_validate(payload))
        elif status != 200:
            assert set(payload["error"]) >= {"code", "message", "status"}
    for frame in wire.frames:
        lines = frame.decode().strip().split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: ")
        event = json.loads(lines[1][6:])
        assert lines[0][7:] == event["event_type"] and event.get("event_id")
        _no_unknowns(sse_adapter().validate_python(event))


def test_text_generation(client: genai.Client) -> None:
    it = client.interactions.create(
        model="gemini-3.5-flash", input="Explain how AI works in a few words"
    )
    assert it.status == "completed"
    assert "agentloop emulator" in it.output_text
    assert it.steps[0].type == "thought" and it.steps[0].signature
    assert it.usage.total_tokens == it.usage.total_input_tokens + it.usage.total_output_tokens


def test_system_instruction_and_generation_config(client: genai.Client) -> None:
    it = client.interactions.create(
        model="gemini-3.5-flash",
        system_instruction="You are a cat. Your name is Neko.",
        input="Hello there",
        generation_config={"thinking_level": "low", "temperature": 1.0},
    )
    assert "Neko" in it.output_text


def test_streaming(client: genai.Client, server: tuple[Emulator, str, Wire]) -> None:
    events = list(
        client.interactions.create(
            model="gemini-3.5-flash", input="Explain how AI works", stream=True
        )
    )
    kinds = [e.event_type for e in events]
    assert kinds[0] == "interaction.created" and kinds[-1] == "interaction.completed"
    assert kinds[1:4] == ["step.start", "step.delta", "step.stop"]
    assert events[2].delta.type == "thought_signature"
    texts = [
        e.delta.text for e in events if e.event_type == "step.delta" and e.delta.type == "text"
    ]
    assert len(texts) > 2
    assert len({e.event_id for e in events}) == len(events)
    final = client.interactions.get(events[0].interaction.id)
    assert "".join(texts) == final.output_text
    assert events[-1].interaction.status == "completed"


def test_stream_resume_with_last_event_id(client: genai.Client) -> None:
    events = list(
        client.interactions.create(model="gemini-3.5-flash", input="Tell me more", stream=True)
    )
    iid = events[0].interaction.id
    replay = list(client.interactions.get(iid, stream=True, last_event_id=events[4].event_id))
    assert [e.event_id for e in replay] == [e.event_id for e in events[5:]]


def test_stateful_multi_turn(client: genai.Client) -> None:
    first = client.interactions.create(model="gemini-3.5-flash", input="I have 2 dogs in my house.")
    second = client.interactions.create(
        model="gemini-3.5-flash",
        input="How many paws are in my house?",
        previous_interaction_id=first.id,
    )
    assert "8" in second.output_text
    assert [s.type for s in second.steps] == ["thought", "model_output"]


def test_stateless_multi_turn(client: genai.Client) -> None:
    history: list[Any] = [
        {"type": "user_input", "content": [{"type": "text", "text": "I have 2 dogs in my house."}]}
    ]
    first = client.interactions.create(model="gemini-3.5-flash", store=False, input=history)
    history += [step.model_dump() for step in first.steps]
    history.append(
        {
            "type": "user_input",
            "content": [{"type": "text", "text": "How many paws are in my house?"}],
        }
    )
    second = client.interactions.create(model="gemini-3.5-flash", store=False, input=history)
    assert "8 paws" in second.steps[-1].content[0].text
    with pytest.raises(gx.NotFoundError):
        client.interactions.get(first.id)


WEATHER = {
    "type": "function",
    "name": "get_current_temperature",
    "description": "Gets the current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city name, e.g. San Francisco"}
        },
        "required": ["location"],
    },
}


def _run_tool(step: Any) -> dict[str, Any]:
    result = {"location": step.arguments["location"], "temperature": "22", "unit": "celsius"}
    return {
        "type": "function_result",
        "name": step.name,
        "call_id": step.id,
        "result": [{"type": "text", "text": json.dumps(result)}],
    }


def test_function_calling_stateful(client: genai.Client) -> None:
    user_input: Any = "What is the temperature in London?"
    previous_id = None
    calls = []
    for _ in range(4):
        interaction = client.interactions.create(
            model="gemini-3.5-flash",
            input=user_input,
            tools=[WEATHER],
            previous_interaction_id=previous_id,
        )
        results = [_run_tool(s) for s in interaction.steps if s.type == "function_call"]
        calls += [s for s in interaction.steps if s.type == "function_call"]
        if not results:
            break
        assert interaction.status == "requires_action"
        user_input, previous_id = results, interaction.id
    assert [c.arguments for c in calls] == [{"location": "London"}]
    assert interaction.status == "completed"
    assert "22" in interaction.output_text


def test_function_calling_stateless(client: genai.Client) -> None:
    history: list[Any] = [
        {
            "type": "user_input",
            "content": [{"type": "text", "text": "What is the temperature in London?"}],
        }
    ]
    for _ in range(4):
        interaction = client.interactions.create(
            model="gemini-3.5-flash", store=False, input=history, tools=[WEATHER]
        )
        results = []
        for step in interaction.steps:
            history.append(step.model_dump())
            if step.type == "function_call":
                results.append(_run_tool(step))
                history.append(results[-1])
        if not results:
            break
    assert "celsius" in interaction.output_text


def test_structured_output(client: genai.Client) -> None:
    class Recipe(pydantic.BaseModel):
        recipe_name: str = pydantic.Field(description="Name of the recipe.")
        ingredients: list[str] = pydantic.Field(description="List of ingredients.")
        prep_time_minutes: int | None = pydantic.Field(description="Prep time in minutes.")

    it = client.interactions.create(
        model="gemini-3.5-flash",
        input="Give me a recipe for banana bread",
        response_format={
            "type": "text",
            "mime_type": "application/json",
            "schema": Recipe.model_json_schema(),
        },
    )
    recipe = Recipe.model_validate_json(it.output_text)
    assert 1 <= len(recipe.ingredients) <= 3


def test_google_search_with_citations(client: genai.Client) -> None:
    it = client.interactions.create(
        model="gemini-3.5-flash", input="Who won the euro 2024?", tools=[{"type": "google_search"}]
    )
    assert [s.type for s in it.steps] == [
        "thought",
        "google_search_call",
        "google_search_result",
        "model_output",
    ]
    assert it.steps[2].call_id == it.steps[1].id
    block = it.steps[-1].content[0]
    cite = block.annotations[0]
    assert cite.type == "url_citation" and cite.url.startswith("https://")
    assert cite.end_index == len(block.text.encode())


def test_code_execution_and_url_context(client: genai.Client) -> None:
    it = client.interactions.create(
        model="gemini-3.5-flash",
        input="Compute 6*7 and read https://example.org/page",
        tools=[{"type": "code_execution"}, {"type": "url_context"}],
    )
    kinds = [s.type for s in it.steps]
    assert kinds[1:5] == [
        "code_execution_call",
        "code_execution_result",
        "url_context_call",
        "url_context_result",
    ]
    assert it.steps[2].result.strip() == "42"
    assert it.steps[4].result[0].url == "https://example.org/page"


def test_multimodal_input(client: genai.Client) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    it = client.interactions.create(
        model="gemini-3.5-flash",
        input=[
            {"type": "text", "text": "Compare this local image and this remote audio file."},
            {"type": "image", "data": png, "mime_type": "image/jpeg"},
            {"type": "audio", "uri": "https://example.com/sample.mp3", "mime_type": "audio/mp3"},
        ],
    )
    assert "Compare this local image" in it.output_text


def test_image_output(client: genai.Client) -> None:
    it = client.interactions.create(
        model="gemini-3.1-flash-image", input="Generate an image of a futuristic city skyline"
    )
    assert base64.b64decode(it.output_image.data).startswith(b"\x89PNG\r\n\x1a\n")
    assert it.output_image.mime_type == "image/png"


def test_background_and_polling(client: genai.Client) -> None:
    started = client.interactions.create(
        model="gemini-3.5-flash",
        background=True,
        input="Write a detailed analysis of AI in healthcare.",
    )
    assert started.status == "in_progress" and not started.steps
    statuses = []
    for _ in range(5):
        result = client.interactions.get(started.id)
        statuses.append(result.status)
        if result.status == "completed":
            break
    assert statuses == ["in_progress", "completed"]
    assert "healthcare" in result.output_text


def test_deferred_tier_is_queued_with_a_status_update(client: genai.Client) -> None:
    started = client.interactions.create(
        model="gemini-3.5-flash",
        background=True,
        input="Summarise the news.",
        extra_body={"service_tier": "flex"},
    )
    assert started.status == "queued"
    statuses = [client.interactions.get(started.id).status for _ in range(3)]
    assert statuses == ["in_progress", "in_progress", "completed"]
    events = list(client.interactions.get(started.id, stream=True))
    assert [e.event_type for e in events[:2]] == [
        "interaction.created",
        "interaction.status_update",
    ]
    update = events[1]
    assert isinstance(update, gi.InteractionStatusUpdate)
    assert (update.interaction_id, update.status) == (started.id, "in_progress")


def test_cancel_and_delete(client: genai.Client) -> None:
    started = client.interactions.create(
        model="gemini-3.5-flash", background=True, input="A long task"
    )
    cancelled = client.interactions.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert client.interactions.get(started.id).status == "cancelled"
    with pytest.raises(gx.BadRequestError):
        client.interactions.cancel(started.id)
    client.interactions.delete(started.id)
    with pytest.raises(gx.NotFoundError):
        client.interactions.get(started.id)
    with pytest.raises(gx.NotFoundError):
        client.interactions.create(
            model="gemini-3.5-flash", input="hi", previous_interaction_id=started.id
        )


def test_agent_with_remote_environment(client: genai.Client) -> None:
    it = client.interactions.create(
        agent="antigravity-preview-05-2026",
        environment="remote",
        input="Write a Python script that prints the first 20 Fibonacci numbers.",
    )
    assert it.environment_id and it.environment_id.startswith("env_")
    assert it.environment_id in it.output_text and it.agent == "antigravity-preview-05-2026"


def test_include_input(client: genai.Client) -> None:
    it = client.interactions.create(model="gemini-3.5-flash", input="remember me")
    assert client.interactions.get(it.id, include_input=True).input == "remember me"


def test_errors_map_to_sdk_exceptions(
    client: genai.Client, server: tuple[Emulator, str, Wire]
) -> None:
    emulator, url, _ = server
    wrong = make_client(url, key="wrong-key")  # keep a reference: GC closes its transport
    with pytest.raises(gx.PermissionDeniedError):
        wrong.interactions.create(model="gemini-3.5-flash", input="hi")
    with pytest.raises(gx.NotFoundError):
        client.interactions.get("v1_doesnotexist")
    first = client.interactions.create(
        model="gemini-3.5-flash", input="Temperature in Paris?", tools=[WEATHER]
    )
    assert first.status == "requires_action"
    with pytest.raises(gx.BadRequestError, match=first.steps[1].id):
        client.interactions.create(
            model="gemini-3.5-flash",
            input="never mind",
            previous_interaction_id=first.id,
            tools=[WEATHER],
        )
    emulator.faults.http_error(429, retry_after=1)
    with pytest.raises(gx.RateLimitError):
        client.interactions.create(model="gemini-3.5-flash", input="hi")
    emulator.faults.http_error(503)
    with pytest.raises(gx.InternalServerError):
        client.interactions.create(model="gemini-3.5-flash", input="hi")


def test_sdk_retries_honour_retry_after(server: tuple[Emulator, str, Wire]) -> None:
    emulator, url, _ = server
    emulator.faults.http_error(429, count=2, retry_after_ms=1)
    sdk = genai.Client(
        api_key=API_KEY,
        http_options=gtypes.HttpOptions(
            base_url=url,
            client_args={"verify": tls()},
            async_client_args={"verify": tls(), "ssl": tls()},
            api_version="v1beta",
            retry_options=gtypes.HttpRetryOptions(attempts=3),
        ),
    )
    before = len(emulator.requests)
    assert sdk.interactions.create(model="gemini-3.5-flash", input="hi").status == "completed"
    assert len(emulator.requests) - before == 3


def test_dropped_stream_then_resume(
    client: genai.Client, server: tuple[Emulator, str, Wire]
) -> None:
    emulator, _, _ = server
    emulator.faults.drop_stream(after_events=3)
    seen = []
    with pytest.raises(Exception):  # noqa: B017 - the SDK surfaces the cut as httpx/SDK errors
        for event in client.interactions.create(
            model="gemini-3.5-flash", input="hello", stream=True
        ):
            seen.append(event)
    assert len(seen) == 3
    rest = list(
        client.interactions.get(
            seen[0].interaction.id, stream=True, last_event_id=seen[-1].event_id
        )
    )
    assert rest[-1].event_type == "interaction.completed"


async def test_async_client(client: genai.Client) -> None:
    aio = client.aio
    try:
        it = await aio.interactions.create(model="gemini-3.5-flash", input="hello async")
        assert "hello async" in it.output_text
        stream = await aio.interactions.create(
            model="gemini-3.5-flash", input="stream me", stream=True
        )
        kinds = [event.event_type async for event in stream]
        assert kinds[-1] == "interaction.completed"
    finally:
        await aio.aclose()  # its connections belong to this test's event loop


def test_continuation_hops_with_a_checkpoint(
    client: genai.Client, server: tuple[Emulator, str, Wire], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, _, _ = server

    def hops() -> ScriptedModel:
        return ScriptedModel(
            [Reply(steps=["part one "], status="requires_continuation"), "part two"]
        )

    monkeypatch.setattr(emulator, "model", hops())
    merged = client.interactions.create(model="gemini-3.5-flash", input="write a lot")
    assert merged.status == "completed" and len(merged.continuation_ids or []) == 2
    monkeypatch.setattr(emulator, "model", hops())
    events = list(
        client.interactions.create(model="gemini-3.5-flash", input="write a lot", stream=True)
    )
    updates = [e for e in events if e.event_type == "interaction.status_update"]
    assert len(updates) == 1 and updates[0].continuation_token
    completed = [e for e in events if e.event_type == "interaction.completed"]
    assert [e.interaction.status for e in completed] == ["requires_continuation", "completed"]
    assert completed[0].interaction.continuation_token == updates[0].continuation_token
