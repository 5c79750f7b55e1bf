"""The fast paths of the wire layer give exactly what the general paths give.

One SSE event per chunk (how the API sends most of them) skips the line-by-line decoder;
text deltas are joined once per text block; open unions discriminate in Rust. Each is checked
here against the general path or against the behaviour it must keep.
"""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import httpx
import pytest
from _http import http_client
from client_fakes import (
    CANARY,
    DroppingStream,
    Server,
    make_client,
    sse_bytes,
    text_stream_events,
)
from pydantic import TypeAdapter, ValidationError

from agentloop.client import StreamAccumulator
from agentloop.client._sse import SSEDecoder, SSEMessage
from agentloop.client._stream import event_adapter
from agentloop.errors import APIError
from agentloop.types import (
    FunctionCallStep,
    Interaction,
    InteractionEvent,
    StepDeltaEvent,
    TextDelta,
    UnknownEvent,
)
from agentloop.types._base import wire_errors
from agentloop.types.content import Content, TextContent, UnknownContent
from agentloop.types.events import UnknownDelta
from agentloop.types.steps import ModelOutputStep, UnknownStep

# --- SSE: the one-event shortcut -----------------------------------------------------------------


def _decoded(chunks: list[bytes]) -> list[SSEMessage]:
    decoder = SSEDecoder()
    out: list[SSEMessage] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def _via_single(chunks: list[bytes]) -> list[str]:
    """Each chunk through ``single`` when it takes it, else through ``feed``."""
    decoder = SSEDecoder()
    out: list[str] = []
    for chunk in chunks:
        data = decoder.single(chunk)
        if data is not None:
            out.append(data)
        else:
            out += [m.data for m in decoder.feed(chunk)]
    return out + [m.data for m in decoder.close()]


@pytest.mark.parametrize(
    "chunks",
    [
        [b'event: step.delta\ndata: {"a":1}\n\n', b'event: step.delta\ndata: {"a":2}\n\n'],
        # Not a lone event block: an id line, CRLF ends, a comment, two events, a cut event.
        [b'event: x\nid: 7\ndata: {"a":1}\n\n', b'event: x\ndata: {"a":2}\n\n'],
        [b'event: x\r\ndata: {"a":1}\r\n\r\n', b'event: x\ndata: {"a":2}\n\n'],
        [b": keep-alive\n\n", b'event: x\ndata: {"a":1}\n\n'],
        [b'event: x\ndata: {"a":1}\n\nevent: x\ndata: {"a":2}\n\n'],
        [b'event: x\ndata: {"a":', b"1}\n\n", b'event: x\ndata: {"a":2}\n\n'],
        [b"event: x\n", b'data: {"a":1}\n\n', b'event: x\ndata: {"a":2}\n\n'],
        [b'event: x\ndata: {"a":1}\ndata: {"b":2}\n\n'],
        # The sentinel ends the stream whichever way it comes.
        [b'event: x\ndata: {"a":1}\n\n', b"event: d\ndata: [DONE]\n\n", b"event: x\ndata: 3\n\n"],
        ['event: x\ndata: {"t":"h\u00e9"}\n\n'.encode(), b"event: x\ndata: \xff\n\n"],
    ],
)
def test_single_gives_what_feed_gives(chunks: list[bytes]) -> None:
    assert _via_single(chunks) == [m.data for m in _decoded(chunks)]


def test_single_takes_only_a_lone_event_block() -> None:
    decoder = SSEDecoder()
    assert decoder.single(b'event: step.delta\ndata: {"a":1}\n\n') == '{"a":1}'
    for chunk in (
        b'data: {"a":1}\n\n',  # no event line
        b'event: x\nid: 1\ndata: {"a":1}\n\n',
        b'event: x\ndata: {"a":1}\n',  # not complete yet
        b'event: x\r\ndata: {"a":1}\r\n\r\n',
        b"event: x\ndata: [DONE]\n\n",
    ):
        assert decoder.single(chunk) is None, chunk
    decoder.feed(b"event: x\n")  # a pending field: the next block is not a lone one
    assert decoder.single(b'event: x\ndata: {"a":1}\n\n') is None


def _one_event_per_chunk(events: list[dict[str, Any]]) -> httpx.Response:
    chunks = [sse_bytes([event]) for event in events]
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=DroppingStream(chunks, drop=False),
    )


@pytest.mark.parametrize("one_per_chunk", [True, False])
def test_streamed_key_is_scrubbed_plain_or_escaped(one_per_chunk: bool) -> None:
    escaped = json.dumps(CANARY, ensure_ascii=False)[1:-1].replace("A", "\\u0041")
    parts = [f"key {CANARY} ", "line\nbreak ", "and {ESC} end"]
    events = text_stream_events(texts=tuple(parts))
    data = sse_bytes(events).replace(b"{ESC}", escaped.encode())
    reply = (
        _one_event_per_chunk(events)
        if one_per_chunk
        else httpx.Response(200, headers={"content-type": "text/event-stream"}, content=data)
    )
    if one_per_chunk:  # put the escaped key into its chunk too
        assert isinstance(reply.stream, DroppingStream)
        reply.stream.chunks = [c.replace(b"{ESC}", escaped.encode()) for c in reply.stream.chunks]
    client = make_client(Server(reply))
    stream = client.interactions.create(model="m", input="x", stream=True)
    seen = list(stream)
    deltas = [e.delta for e in seen if isinstance(e, StepDeltaEvent)]
    texts = [delta.text for delta in deltas if isinstance(delta, TextDelta)]
    assert texts == ["key *** ", "line\nbreak ", "and *** end"]
    assert stream.interaction.output_text == "key *** line\nbreak and *** end"
    assert CANARY not in repr(seen)


def test_one_event_per_chunk_streams_like_one_chunk() -> None:
    events = text_stream_events(texts=("a", "b", "c"))
    one = make_client(Server(_one_event_per_chunk(events)))
    whole = make_client(
        Server(
            httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=sse_bytes(events)
            )
        )
    )
    split = one.interactions.create(model="m", input="x", stream=True)
    joined = whole.interactions.create(model="m", input="x", stream=True)
    assert list(split) == list(joined)
    assert split.interaction == joined.interaction
    assert split.interaction.output_text == "abc"


# --- text deltas joined once ---------------------------------------------------------------------


def _acc(events: list[dict[str, Any]]) -> StreamAccumulator:
    acc = StreamAccumulator()
    for event in events:
        acc.feed(event_adapter.validate_python(event))
    return acc


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": "step.delta", "index": index, "delta": delta}


def test_text_runs_split_by_other_deltas_and_steps() -> None:
    acc = _acc(
        [
            {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
            _delta(0, {"type": "text", "text": "a"}),
            _delta(0, {"type": "text", "text": "b"}),
            _delta(0, {"type": "image", "data": "AAAA", "mime_type": "image/png"}),
            _delta(0, {"type": "text", "text": "c"}),
            {"event_type": "step.start", "index": 1, "step": {"type": "model_output"}},
            _delta(1, {"type": "text", "text": "x"}),
            _delta(0, {"type": "text", "text": "d"}),  # back to step 0: its last block
            _delta(1, {"type": "text", "text": "y", "extra": 1}),  # a text delta with extras
        ]
    )
    steps = [step.model_dump(mode="json") for step in acc.interaction.steps or []]
    assert steps == [
        {
            "type": "model_output",
            "content": [
                {"type": "text", "text": "ab"},
                {"type": "image", "data": "AAAA", "mime_type": "image/png"},
                {"type": "text", "text": "cd"},
            ],
        },
        {"type": "model_output", "content": [{"type": "text", "text": "xy"}]},
    ]


def test_reading_the_interaction_mid_stream_does_not_lose_text() -> None:
    acc = _acc([{"event_type": "step.start", "index": 0, "step": {"type": "model_output"}}])
    acc.feed(event_adapter.validate_python(_delta(0, {"type": "text", "text": "Hel"})))
    assert acc.interaction.output_text == "Hel"
    acc.feed(event_adapter.validate_python(_delta(0, {"type": "text", "text": "lo"})))
    assert acc.interaction.output_text == "Hello"
    acc.feed(event_adapter.validate_python(_delta(0, {"type": "text", "text": "!"})))
    assert acc.interaction.output_text == "Hello!"


# --- open unions ---------------------------------------------------------------------------------

events = TypeAdapter(InteractionEvent)
contents = TypeAdapter(list[Content])


def test_unknown_tags_validate_as_the_unknown_member() -> None:
    event = events.validate_json('{"event_type":"step.teleport","x":1,"event_id":"e"}')
    assert isinstance(event, UnknownEvent) and event.raw == {
        "event_type": "step.teleport",
        "x": 1,
        "event_id": "e",
    }
    assert isinstance(events.validate_python({"x": 1}), UnknownEvent)  # no tag at all
    delta = events.validate_json('{"event_type":"step.delta","delta":{"type":"smell","q":2}}')
    assert isinstance(delta, StepDeltaEvent) and isinstance(delta.delta, UnknownDelta)
    assert delta.delta.raw == {"type": "smell", "q": 2}


def test_an_invalid_object_of_a_known_type_is_an_error_not_an_unknown_object() -> None:
    for bad in (
        '{"event_type":"step.delta","index":"first"}',
        '{"event_type":"step.delta","delta":{"type":"text","text":5}}',
    ):
        with pytest.raises(ValidationError) as info:
            events.validate_json(bad)
        assert any(e["type"] in ("int_parsing", "string_type") for e in info.value.errors())
    with pytest.raises(ValidationError):
        contents.validate_python([{"type": "text", "text": ["not", "text"]}])
    with pytest.raises(ValidationError):  # a tag that is not a string is no known tag
        contents.validate_python([{"type": {}, "text": "x"}])


def test_wire_errors_read_like_a_closed_union() -> None:
    with pytest.raises(ValidationError) as info:
        Interaction.model_validate(
            {"status": "completed", "steps": [{"type": "function_call", "arguments": [1]}]}
        )
    assert [(e["loc"], e["type"]) for e in wire_errors(info.value)] == [
        (("steps", 0, "function_call", "arguments"), "dict_type")
    ]
    assert info.value.error_count() == 2  # pydantic's own list keeps the unknown's refusal


def test_model_instances_keep_their_class() -> None:
    unknown = UnknownContent(type="text", text="x")  # an unknown object under a known tag
    step = ModelOutputStep.model_validate({"content": [unknown, TextContent(text="y")]})
    assert [type(block) for block in step.content or []] == [UnknownContent, TextContent]
    assert step.model_dump(mode="json")["content"] == [
        {"type": "text", "text": "x"},
        {"type": "text", "text": "y"},
    ]


def test_a_body_with_an_invalid_known_step_is_an_api_error() -> None:
    body = {
        "id": "i",
        "status": "completed",
        "steps": [
            {"type": "weird", "z": 1},
            {"type": "model_output", "content": [{"type": "text", "text": 7}]},
        ],
    }
    server = Server(httpx.Response(200, json=body))
    with pytest.raises(APIError, match="not an interaction"):
        make_client(server).interactions.create(model="m", input="x")
    body["steps"][1] = {"type": "model_output", "content": [{"type": "text", "text": "ok"}]}
    it = Interaction.model_validate(body)
    assert isinstance((it.steps or [])[0], UnknownStep) and it.output_text == "ok"


# --- the invalid-arguments marker ----------------------------------------------------------------


def test_invalid_arguments_marker_survives_copies_and_compares() -> None:
    data = {"type": "function_call", "id": "c1", "name": "f", "arguments": {}}
    plain, marked = FunctionCallStep.model_validate(data), FunctionCallStep.model_validate(data)
    assert plain == marked and plain.invalid_arguments is None
    marked.mark_invalid_arguments("[1, 2]")
    assert plain != marked
    for twin in (marked.model_copy(), copy.deepcopy(marked), pickle.loads(pickle.dumps(marked))):
        assert twin.invalid_arguments == "[1, 2]" and twin == marked
    assert marked.model_dump(mode="json") == data  # local: never on the wire
    assert FunctionCallStep(name="f").invalid_arguments is None


# --- requests built without httpx's per-request header normalisation --------------------------


@pytest.mark.parametrize("client_headers", [{}, {"X-Team": "a"}, {"Host": "proxy.local"}])
def test_requests_are_what_httpx_build_request_makes(client_headers: dict[str, str]) -> None:
    from agentloop.client import _core

    http = http_client(headers=client_headers, timeout=7)
    config = _core.ClientConfig(CANARY, "http://api.test:8080", "v1beta")
    factory = _core.RequestFactory(config, http, None)
    specs = [
        _core.build_create(config, {"model": "m", "input": "héllo"}),
        _core.build_create(config, {"model": "m", "input": "x"}, stream=True),
        _core.build_get(config, "int_1", stream=True, last_event_id="e 7"),
        _core.build_cancel(config, "int_1"),
        _core.build_delete(config, "int_1"),
    ]
    for spec in specs * 2:  # the second round comes from the caches
        ours = factory.build(spec)
        theirs = http.build_request(
            spec.method,
            spec.url,
            params=spec.params,
            content=spec.body,
            headers=config.headers(spec.stream),
            extensions=ours.extensions,
        )
        assert (ours.method, ours.url, ours.headers.raw, ours.content) == (
            theirs.method,
            theirs.url,
            theirs.headers.raw,
            theirs.content,
        )
    http.headers["X-Later"] = "1"  # a change to the client's headers applies from then on
    assert factory.build(specs[0]).headers["X-Later"] == "1"
