"""Streaming create/get, both clients: typed events, assembly, retries and resume."""

from __future__ import annotations

import httpx
import pytest
from client_fakes import (
    Server,
    Sleeps,
    error_reply,
    make_async_client,
    make_client,
    sse_bytes,
    sse_reply,
    text_stream_events,
)

from agentloop import errors
from agentloop.client import InteractionStream, RetryEvent, on_retry


def test_stream_create_request_and_events() -> None:
    events = text_stream_events()
    server = Server(sse_reply(events, chunk=7))  # tiny chunks: events split across reads
    client = make_client(server)
    with client.interactions.create(model="m", input="Hi", stream=True) as stream:
        assert isinstance(stream, InteractionStream)
        with pytest.raises(errors.StreamNotFinishedError, match="iterate it to the end"):
            _ = stream.interaction
        seen = list(stream)
    request = server.last
    assert request.url.params["alt"] == "sse"
    assert request.headers["accept"] == "text/event-stream"
    assert server.body() == {"model": "m", "input": "Hi", "stream": True}
    assert [e.event_type for e in seen] == [e["event_type"] for e in events]
    texts = [e.delta.text for e in seen if e.event_type == "step.delta" and e.delta.type == "text"]
    assert texts == ["Hello ", "world"]
    final = stream.interaction
    assert final.id == "int_s" and final.status == "completed"
    assert final.output_text == "Hello world"
    assert final.steps is not None and final.steps[0].model_dump()["signature"] == "c2ln"


async def test_async_stream_create() -> None:
    events = text_stream_events()
    server = Server(sse_reply(events, chunk=5))
    client = make_async_client(server)
    async with await client.interactions.create(model="m", input="Hi", stream=True) as stream:
        seen = [event async for event in stream]
    assert len(seen) == len(events)
    assert stream.interaction.output_text == "Hello world"
    assert server.last.url.params["alt"] == "sse"


def test_until_done_and_done_sentinel() -> None:
    reply = httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=sse_bytes(text_stream_events()[:-1], done=True),
    )
    client = make_client(Server(reply))
    final = client.interactions.create(model="m", input="x", stream=True).until_done()
    assert final.output_text == "Hello world" and final.status == "in_progress"


def test_stream_http_error_raises_from_create() -> None:
    client = make_client(Server(error_reply(401, "API key not valid")))
    with pytest.raises(errors.AuthenticationError, match="API key not valid"):
        client.interactions.create(model="m", input="x", stream=True)


def test_stream_retried_on_error_statuses_but_never_resent_after_a_200() -> None:
    events = text_stream_events()
    server = Server(error_reply(503), sse_reply(events))
    sleeps = Sleeps()
    retries: list[RetryEvent] = []
    client = make_client(server, sleeps)
    with on_retry(retries.append):
        stream = client.interactions.create(model="m", input="x", stream=True)
        assert len(list(stream)) == len(events)
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert len(sleeps.calls) == 1 and retries[0].status_code == 503
    assert stream.interaction.output_text == "Hello world"

    # Headers arrived, then the connection broke before any event: the create may have
    # started an interaction, so it is not sent again.
    server = Server(sse_reply([], drop=True), sse_reply(events))
    stream = make_client(server).interactions.create(model="m", input="x", stream=True)
    with pytest.raises(errors.StreamInterruptedError, match="not resent"):
        list(stream)
    assert [r.method for r in server.requests] == ["POST"]


def _resume_server(events: list[dict], cut: int) -> Server:
    def resume(request: httpx.Request) -> httpx.Response:
        last = request.url.params["last_event_id"]
        position = next(i for i, e in enumerate(events) if e["event_id"] == last)
        # Replay one event too many: the client must drop the duplicate.
        return sse_reply(events[position:])

    return Server(sse_reply(events[:cut], drop=True), resume)


def test_dropped_stream_resumes_from_last_event_id_exactly_once() -> None:
    events = text_stream_events(texts=("a", "b", "c", "d"))
    server = _resume_server(events, cut=7)
    sleeps = Sleeps()
    client = make_client(server, sleeps)
    stream = client.interactions.create(model="m", input="x", stream=True)
    seen = list(stream)
    assert [e.event_id for e in seen] == [e["event_id"] for e in events]
    resume = server.requests[1]
    assert resume.method == "GET"
    assert resume.url.path == "/v1beta/interactions/int_s"
    assert dict(resume.url.params) == {"stream": "true", "last_event_id": "ev7"}
    assert resume.headers["accept"] == "text/event-stream"
    assert stream.interaction.output_text == "abcd"
    assert len(sleeps.calls) == 1


async def test_async_dropped_stream_resumes() -> None:
    events = text_stream_events(texts=("a", "b", "c"))
    server = _resume_server(events, cut=6)
    client = make_async_client(server)
    stream = await client.interactions.create(model="m", input="x", stream=True)
    seen = [e async for e in stream]
    assert [e.event_id for e in seen] == [e["event_id"] for e in events]
    assert server.requests[1].url.params["last_event_id"] == "ev6"
    assert stream.interaction.output_text == "abc"


def test_clean_close_before_completion_also_resumes() -> None:
    events = text_stream_events()
    server = Server(sse_reply(events[:3]), sse_reply(events[3:]))
    stream = make_client(server).interactions.create(model="m", input="x", stream=True)
    assert len(list(stream)) == len(events)
    assert server.requests[1].url.params["last_event_id"] == "ev3"


def test_resume_gives_up_and_reports_the_partial_interaction() -> None:
    events = text_stream_events()
    server = Server(sse_reply(events[:6], drop=True), lambda r: sse_reply([], drop=True))
    client = make_client(server, max_retries=2)
    stream = client.interactions.create(model="m", input="x", stream=True)
    seen = []
    with pytest.raises(errors.StreamInterruptedError) as info:
        for event in stream:
            seen.append(event)
    err = info.value
    assert len(seen) == 6
    assert err.interaction_id == "int_s" and err.last_event_id == "ev6"
    assert err.events_delivered == 6
    assert err.partial_interaction.output_text == "Hello "
    assert len(server.requests) == 3  # first + 2 resumes without progress
    assert "interactions.get" in str(err)


def test_resume_failure_status_becomes_stream_interrupted() -> None:
    events = text_stream_events()
    server = Server(sse_reply(events[:4], drop=True), error_reply(404, "gone"))
    stream = make_client(server).interactions.create(model="m", input="x", stream=True)
    with pytest.raises(errors.StreamInterruptedError, match="gone"):
        list(stream)


def test_no_resume_without_interaction_id_or_event_ids() -> None:
    events = [dict(e) for e in text_stream_events()]
    for e in events:
        e.pop("event_id")
    server = Server(sse_reply(events[:5], drop=True))
    stream = make_client(server).interactions.create(model="m", input="x", stream=True)
    with pytest.raises(errors.StreamInterruptedError, match="no event_id"):
        list(stream)
    no_created = text_stream_events()[1:]
    server = Server(sse_reply(no_created[:3], drop=True))
    stream = make_client(server).interactions.create(model="m", input="x", stream=True)
    with pytest.raises(errors.StreamInterruptedError, match="no interaction id"):
        list(stream)


def test_get_stream_with_last_event_id() -> None:
    events = text_stream_events()
    server = Server(sse_reply(events[5:]))
    client = make_client(server)
    stream = client.interactions.get("int_s", stream=True, last_event_id="ev5")
    seen = list(stream)
    assert dict(server.last.url.params) == {"stream": "true", "last_event_id": "ev5"}
    assert len(seen) == len(events) - 5
    # Only the steps after ev5 were seen; the interaction id is known from the call.
    assert stream.interaction.id == "int_s" and stream.interaction.status == "completed"


async def test_async_get_stream_and_aclose() -> None:
    events = text_stream_events()
    server = Server(sse_reply(events))
    client = make_async_client(server)
    stream = await client.interactions.get("int_s", stream=True)
    first = await stream.__anext__()
    assert first.event_type == "interaction.created"
    await stream.aclose()
    with pytest.raises(errors.StreamNotFinishedError):
        _ = stream.interaction


def test_close_midway_stops_reading() -> None:
    server = Server(sse_reply(text_stream_events()))
    stream = make_client(server).interactions.create(model="m", input="x", stream=True)
    next(stream)
    stream.close()
    with pytest.raises(StopIteration):
        next(stream)
    assert len(server.requests) == 1


def test_malformed_event_is_an_api_error() -> None:
    reply = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=b"data: {not json\n\n"
    )
    stream = make_client(Server(reply)).interactions.create(model="m", input="x", stream=True)
    with pytest.raises(errors.APIError, match="not a valid event"):
        list(stream)


async def test_async_stream_retried_on_error_statuses_but_never_resent_after_a_200() -> None:
    events = text_stream_events()
    server = Server(error_reply(429), sse_reply(events))
    sleeps = Sleeps()
    client = make_async_client(server, sleeps)
    stream = await client.interactions.create(model="m", input="x", stream=True)
    assert len([e async for e in stream]) == len(events)
    assert [r.method for r in server.requests] == ["POST"] * 2 and len(sleeps.calls) == 1

    server = Server(sse_reply([], drop=True), sse_reply(events))
    stream = await make_async_client(server).interactions.create(model="m", input="x", stream=True)
    with pytest.raises(errors.StreamInterruptedError, match="not resent"):
        _ = [e async for e in stream]
    assert [r.method for r in server.requests] == ["POST"]


def test_unknown_event_and_step_types_pass_through_the_stream() -> None:
    events = [
        {"event_type": "interaction.created", "interaction": {"id": "u", "status": "in_progress"}},
        {"event_type": "interaction.sparkle", "sparkle": 1},
        {"event_type": "step.start", "index": 0, "step": {"type": "hologram", "frames": 1}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "hologram", "frames": 2}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "interaction.completed", "interaction": {"id": "u", "status": "completed"}},
    ]
    stream = make_client(Server(sse_reply(events))).interactions.create(
        model="m", input="x", stream=True
    )
    seen = list(stream)
    assert seen[1].model_dump(mode="json") == events[1]
    step = (stream.interaction.steps or [])[0]
    assert step.model_dump(mode="json") == {"type": "hologram", "frames": 2}
