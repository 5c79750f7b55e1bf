"""SSE, resume, background runs, cancel, and fault injection through the transports."""

from __future__ import annotations

import json

import httpx
import pytest
from emulator_helpers import PATH, call, create, error_of, events_of

from agentloop.testing import Emulator, Reply, ScriptedModel


def _reply_with_call() -> Reply:
    return Reply(
        steps=[
            {"type": "thought", "summary": [{"type": "text", "text": "think"}]},
            {"type": "function_call", "name": "lookup", "arguments": {"q": "a long query value"}},
        ]
    )


def test_stream_order_deltas_and_requires_action() -> None:
    emu = Emulator(ScriptedModel([_reply_with_call()]))
    res = call(emu, body={"model": "gemini-3.5-flash", "input": "x", "stream": True})
    assert res.headers["content-type"] == "text/event-stream"
    events = events_of(res)
    kinds = [(e["event_type"], e.get("index")) for e in events]
    assert kinds[0] == ("interaction.created", None)
    assert kinds[-1] == ("interaction.completed", None)
    assert events[0]["interaction"]["status"] == "in_progress"
    assert events[-1]["interaction"]["status"] == "requires_action"
    assert events[-1]["interaction"]["usage"]["total_tokens"] > 0
    deltas = [e["delta"] for e in events if e["event_type"] == "step.delta"]
    assert deltas[0] == {"type": "thought_summary", "content": {"type": "text", "text": "think"}}
    assert deltas[1]["type"] == "thought_signature" and deltas[1]["signature"]
    fragments = [d["arguments"] for d in deltas if d["type"] == "arguments_delta"]
    assert len(fragments) > 1 and json.loads("".join(fragments)) == {"q": "a long query value"}
    start = next(e for e in events if e["event_type"] == "step.start" and e["index"] == 1)
    assert start["step"]["type"] == "function_call" and start["step"]["id"].startswith("call_")
    # The stored interaction equals what the stream described.
    stored = call(emu, "GET", f"{PATH}/{events[0]['interaction']['id']}").json()
    assert stored["steps"][0]["signature"] == deltas[1]["signature"]
    assert [e["event_id"] for e in events] == sorted({e["event_id"] for e in events})


def test_alt_sse_and_get_stream_replay() -> None:
    emu = Emulator()
    res = call(
        emu, body={"model": "gemini-3.5-flash", "input": "hello world"}, query={"alt": "sse"}
    )
    events = events_of(res)
    iid = events[0]["interaction"]["id"]
    texts = [
        e["delta"]["text"]
        for e in events
        if e["event_type"] == "step.delta" and e["delta"]["type"] == "text"
    ]
    assert len(texts) >= 3
    replay = events_of(call(emu, "GET", f"{PATH}/{iid}", query={"stream": "true"}))
    assert replay == events
    after = events_of(
        call(
            emu,
            "GET",
            f"{PATH}/{iid}",
            query={"stream": "true", "last_event_id": events[3]["event_id"]},
        )
    )
    assert after == events[4:]
    last = events_of(
        call(
            emu,
            "GET",
            f"{PATH}/{iid}",
            query={"stream": "true", "last_event_id": events[-1]["event_id"]},
        )
    )
    assert last == []
    err = error_of(
        call(emu, "GET", f"{PATH}/{iid}", query={"stream": "true", "last_event_id": "evt_nope"})
    )
    assert err["code"] == 400 and "evt_nope" in err["message"]
    err = error_of(call(emu, "GET", f"{PATH}/{iid}", query={"last_event_id": "evt_0001"}))
    assert "stream=true" in err["message"]


def test_builtin_tool_steps_stream_with_payload_deltas() -> None:
    emu = Emulator()
    events = events_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": "Who won?",
                "stream": True,
                "tools": [{"type": "google_search"}],
            },
        )
    )
    starts = [e["step"]["type"] for e in events if e["event_type"] == "step.start"]
    assert starts == ["thought", "google_search_call", "google_search_result", "model_output"]
    deltas = [e["delta"]["type"] for e in events if e["event_type"] == "step.delta"]
    assert "google_search_call" in deltas and "text_annotation_delta" in deltas


def test_background_polls_advance_and_complete_all() -> None:
    emu = Emulator(ScriptedModel(["a", "b", "c"]), background_polls=2)
    started = create(emu, input="x", background=True)
    assert set(started) >= {"id", "object", "status", "model"} and "steps" not in started
    assert started["status"] == "in_progress"
    statuses = [call(emu, "GET", f"{PATH}/{started['id']}").json()["status"] for _ in range(3)]
    assert statuses == ["in_progress", "in_progress", "completed"]
    second = create(emu, input="y", background=True)
    assert emu.advance(second["id"]) == "completed"
    third = create(emu, input="z", background=True)
    emu.complete_all()
    assert emu.interaction(third["id"]).output_text == "c"
    err = error_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": "w",
                "background": True,
                "previous_interaction_id": create(emu, input="q", background=True)["id"],
            },
        )
    )
    assert err["code"] == 400 and "in_progress" in err["message"]


def test_background_stream_runs_when_read() -> None:
    emu = Emulator(ScriptedModel(["streamed later"]))
    started = create(emu, input="x", background=True)
    events = events_of(call(emu, "GET", f"{PATH}/{started['id']}", query={"stream": "true"}))
    assert events[-1]["interaction"]["status"] == "completed"
    assert emu.interaction(started["id"]).output_text == "streamed later"
    bg_stream = events_of(
        call(
            Emulator(ScriptedModel(["s"])),
            body={"model": "gemini-3.5-flash", "input": "x", "background": True, "stream": True},
        )
    )
    assert bg_stream[-1]["interaction"]["status"] == "completed"


def test_cancel_rules() -> None:
    emu = Emulator(ScriptedModel(["a"]))
    started = create(emu, input="x", background=True)
    res = call(emu, "POST", f"{PATH}/{started['id']}/cancel", b"")
    assert res.status == 200 and res.json()["status"] == "cancelled"
    assert call(emu, "GET", f"{PATH}/{started['id']}").json()["status"] == "cancelled"
    err = error_of(call(emu, "POST", f"{PATH}/{started['id']}/cancel", b""))
    assert (err["code"], err["status"]) == (400, "FAILED_PRECONDITION")
    done = create(Emulator(ScriptedModel(["a"])), input="x")
    assert error_of(call(emu, "POST", f"{PATH}/{done['id']}/cancel", b""))["code"] == 404
    events = events_of(call(emu, "GET", f"{PATH}/{started['id']}", query={"stream": "true"}))
    assert events[-1]["interaction"]["status"] == "cancelled"


def test_http_error_faults_with_retry_after() -> None:
    emu = Emulator(ScriptedModel(["ok"]))
    emu.faults.http_error(429, count=2, retry_after=2, retry_after_ms=1500, message="slow down")
    first = call(emu, body={"model": "gemini-3.5-flash", "input": "x"})
    assert error_of(first) == {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}
    assert first.headers["retry-after"] == "2" and first.headers["retry-after-ms"] == "1500"
    assert call(emu, body={"model": "gemini-3.5-flash", "input": "x"}).status == 429
    assert call(emu, body={"model": "gemini-3.5-flash", "input": "x"}).status == 200
    emu.faults.http_error(503, match=lambda method, path: method == "GET")
    assert call(emu, "GET", f"{PATH}/nope").status == 503
    assert error_of(call(emu, "GET", f"{PATH}/nope"))["status"] == "NOT_FOUND"
    emu.faults.http_error(500, count=None)
    assert [call(emu, body={}).status for _ in range(3)] == [500, 500, 500]
    emu.faults.clear()
    assert len(emu.requests) == 8


def test_latency_is_recorded_and_applied_with_injected_sleep() -> None:
    emu = Emulator(ScriptedModel(["a", "b"]))
    slept: list[float] = []
    emu.faults.latency(1.5)
    with httpx.Client(
        transport=emu.transport(sleep=slept.append),
        base_url="http://e",
        headers={"x-goog-api-key": "k"},
    ) as client:
        body = {"model": "gemini-3.5-flash", "input": "x"}
        assert client.post(PATH, json=body).status_code == 200
        assert client.post(PATH, json=body).status_code == 200
    assert slept == [1.5]


async def test_async_transport_latency_and_drop() -> None:
    emu = Emulator(ScriptedModel(["one two three four five six seven"]))
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    emu.faults.latency(0.25).drop_stream(after_events=2)
    transport = emu.transport(async_sleep=fake_sleep)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", headers={"x-goog-api-key": "k"}
    ) as client:
        chunks: list[bytes] = []
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream(
                "POST", PATH, json={"model": "gemini-3.5-flash", "input": "x", "stream": True}
            ) as res:
                assert res.status_code == 200
                async for chunk in res.aiter_bytes():
                    chunks.append(chunk)
    assert slept == [0.25] and len(chunks) == 2
    first = json.loads(chunks[0].decode().split("data: ", 1)[1])
    iid = first["interaction"]["id"]
    # The run finished server-side: the client can resume after what it saw.
    second = json.loads(chunks[1].decode().split("data: ", 1)[1])
    rest = events_of(
        call(
            emu,
            "GET",
            f"{PATH}/{iid}",
            query={"stream": "true", "last_event_id": second["event_id"]},
        )
    )
    assert rest[0]["event_id"] == "evt_0003" and rest[-1]["event_type"] == "interaction.completed"


def test_sync_transport_drop_stream() -> None:
    emu = Emulator()
    emu.faults.drop_stream(after_events=4)
    with httpx.Client(
        transport=emu.transport(), base_url="http://e", headers={"x-goog-api-key": "k"}
    ) as client:
        lines: list[str] = []
        with (
            pytest.raises(httpx.RemoteProtocolError),
            client.stream(
                "POST", PATH, json={"model": "gemini-3.5-flash", "input": "x", "stream": True}
            ) as res,
        ):
            lines.extend(line for line in res.iter_lines() if line.startswith("data: "))
        assert len(lines) == 4
        # Only one stream is dropped; a non-stream request never consumes the fault.
        res = client.post(PATH, json={"model": "gemini-3.5-flash", "input": "x", "stream": True})
        assert res.text.count("data: ") > 4


def test_drop_is_kept_for_streams_only() -> None:
    emu = Emulator()
    emu.faults.drop_stream(after_events=1)
    plain = call(emu, body={"model": "gemini-3.5-flash", "input": "x"})
    assert plain.drop_after is None
    streamed = call(emu, body={"model": "gemini-3.5-flash", "input": "x", "stream": True})
    assert streamed.drop_after == 1
