"""The emulator as a dependable test server: size limits, a bounded log, hostile bodies."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from emulator_helpers import PATH, call, create, error_of

from agentloop import Conversation
from agentloop.errors import InvalidRequestError
from agentloop.testing import KNOWN_MODELS, Emulator, ScriptedModel
from agentloop.testing._schema import Hints
from agentloop.testing.demo import _arith

MB = 1024 * 1024


def _big_body(size: int) -> bytes:
    return json.dumps({"model": "gemini-3.5-flash", "input": "x" * size}).encode()


def test_oversized_bodies_get_413_and_are_not_recorded() -> None:
    emu = Emulator(max_body_bytes=MB)
    res = call(emu, body=_big_body(2 * MB))
    err = error_of(res)
    assert err["code"] == 413 and "exceeds the limit" in err["message"]
    assert str(MB) in err["message"]
    assert len(emu.requests) == 0
    assert call(emu, body=_big_body(MB // 2)).status == 200  # under the limit: served


def test_default_body_limit_is_20_mib() -> None:
    emu = Emulator()
    assert emu.max_body_bytes == 20 * MB
    assert call(emu, body=_big_body(20 * MB + 1)).status == 413


def test_unauthenticated_requests_are_not_recorded() -> None:
    emu = Emulator(api_keys={"good"})
    for _ in range(5):
        assert call(emu, body=_big_body(3 * MB), key=None).status == 401
        assert call(emu, body=_big_body(3 * MB), key="bad").status == 403
    assert len(emu.requests) == 0  # ten 3 MB bodies, nothing kept
    assert call(emu, body={"model": "gemini-3.5-flash", "input": "hi"}, key="good").status == 200
    assert [r.json["input"] for r in emu.requests] == ["hi"]


def test_request_log_is_a_bounded_ring_buffer() -> None:
    emu = Emulator(ScriptedModel(["ok"] * 30), request_log_size=10)
    for i in range(30):
        create(emu, input=f"message {i}")
    assert len(emu.requests) == 10
    assert [r.json["input"] for r in emu.requests] == [f"message {i}" for i in range(20, 30)]
    assert emu.requests[-1].json["input"] == "message 29" and len(emu.requests[-3:]) == 3


def test_asgi_refuses_a_declared_oversized_body_without_reading_it() -> None:
    emu = Emulator(max_body_bytes=MB)
    app = emu.asgi_app()
    reads: list[int] = []

    async def go() -> tuple[int, bytes]:
        sent: list[dict[str, object]] = []
        chunk = b"x" * (256 * 1024)

        async def receive() -> dict[str, object]:
            reads.append(len(chunk))
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": PATH,
            "raw_path": PATH.encode(),
            "query_string": b"",
            "headers": [(b"content-length", str(50 * MB).encode()), (b"x-goog-api-key", b"k")],
            "http_version": "1.1",
            "scheme": "http",
            "server": ("e", 80),
            "client": ("c", 1),
            "root_path": "",
        }
        await app(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        body = b"".join(
            m.get("body", b"")
            for m in sent  # type: ignore[misc]
            if m["type"] == "http.response.body"
        )
        return int(status), body  # type: ignore[call-overload]

    status, body = asyncio.run(go())
    assert status == 413 and b"exceeds the limit" in body
    assert reads == []  # not one chunk of the 50 MB was read


def test_asgi_stops_reading_an_undeclared_body_at_the_limit() -> None:
    emu = Emulator(max_body_bytes=MB)
    transport = httpx.ASGITransport(app=emu.asgi_app())
    produced: list[int] = []

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):  # 10 MB offered in 256 KB chunks, no content-length
            produced.append(1)
            yield b"x" * (256 * 1024)

    async def go() -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            res = await client.post(PATH, headers={"x-goog-api-key": "k"}, content=chunks())
            return res.status_code

    assert asyncio.run(go()) == 413
    assert len(emu.requests) == 0
    assert len(produced) < 10  # reading stopped just past 1 MB of the 10 MB offered


@pytest.mark.parametrize("depth", [101, 5000, 200_000])
def test_deeply_nested_json_is_400_not_a_traceback(depth: int) -> None:
    raw = (
        b'{"model": "gemini-3.5-flash", "input": "hi", "generation_config": {"x": '
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )
    err = error_of(call(Emulator(), body=raw))
    assert (err["code"], err["status"]) == (400, "INVALID_ARGUMENT")
    assert "nest" in err["message"]


def test_json_nested_within_the_limit_is_served() -> None:
    params: dict[str, object] = {"type": "string"}
    for _ in range(40):
        params = {"type": "object", "properties": {"a": params}}
    tool = {"type": "function", "name": "deep", "parameters": params}
    assert create(Emulator(), input="hi", tools=[tool])["status"] == "completed"


@pytest.mark.parametrize(
    "expr",
    [
        "((9**64)**64)**64",
        "(((9**64)**64)**64)**64",
        "2**64**64",
        "9**9**9",
        "(" * 150 + "1" + ")" * 150,
        "-" * 100 + "1",
        "1" + "*99999999" * 30,
        "1.5**64**2",
        "1e308*10",
    ],
)
def test_demo_arithmetic_is_bounded(expr: str) -> None:
    assert _arith(expr) is None


def test_demo_arithmetic_still_computes() -> None:
    assert _arith("2**10") == 1024
    assert _arith("(3 + 4) * 5 - 6 / 2") == 32.0
    assert _arith("2**64 * 3") == 3 * 2**64


def test_demo_code_execution_with_a_huge_power_answers() -> None:
    emu = Emulator()
    out = create(
        emu, input="Compute (((9^64)^64)^64)^64 please", tools=[{"type": "code_execution"}]
    )
    assert out["status"] == "completed"
    result = next(s for s in out["steps"] if s["type"] == "code_execution_result")
    assert "Compute" in result["result"]  # not evaluated: echoed instead
    out = create(emu, input="What is 6*7?", tools=[{"type": "code_execution"}])
    result = next(s for s in out["steps"] if s["type"] == "code_execution_result")
    assert result["result"] == "42\n"


def test_unknown_model_is_the_real_apis_400() -> None:
    err = error_of(call(Emulator(), body={"model": "gemini-3.5-flsh", "input": "hi"}))
    assert (err["code"], err["status"]) == (400, "INVALID_ARGUMENT")
    assert "'gemini-3.5-flsh' is not found" in err["message"]
    assert "allow_unknown_models" in err["message"]


def test_known_models_and_resource_names_pass() -> None:
    emu = Emulator(ScriptedModel(["ok"] * (len(KNOWN_MODELS) + 1)))
    for model in sorted(KNOWN_MODELS):
        create(emu, model=model, input="hi")
    create(emu, model="models/gemini-3.5-flash", input="hi")


def test_unknown_models_opt_out() -> None:
    emu = Emulator(allow_unknown_models=True)
    assert create(emu, model="my-fine-tune-7", input="hi")["status"] == "completed"


def test_a_typo_fails_offline_through_the_client() -> None:
    conv = Conversation(Emulator().client(), model="gemini-3.5-flahs")
    with pytest.raises(InvalidRequestError, match=r"gemini-3\.5-flahs"):
        conv.send("hi")


def test_exhausted_script_fails_at_once_without_retries() -> None:
    emu = Emulator(ScriptedModel(["one", "two"]))
    slept: list[float] = []
    client = emu.client(max_retries=5, sleep=slept.append)
    conv = Conversation(client)
    conv.send("a")
    conv.send("b")
    started = len(emu.requests)
    with pytest.raises(InvalidRequestError, match=r"no replies left \(2 were given\)"):
        conv.send("c")
    assert len(emu.requests) == started + 1 and slept == []  # one request, no retry


def test_a_scripted_reply_the_emulator_cannot_send_fails_at_once_without_retries() -> None:
    """A retry would take the next scripted reply and hide the broken one."""
    broken = [{"type": "function_call", "id": "e", "name": "ok", "arguments": '{"x": 1'}]
    scripted = ScriptedModel([broken, "meant for after the call"])
    emu = Emulator(scripted)
    slept: list[float] = []
    with pytest.raises(InvalidRequestError, match=r"invalid function_call step.*ScriptedModel"):
        Conversation(emu.client(max_retries=5, sleep=slept.append)).send("go")
    assert len(emu.requests) == 1 and slept == [] and scripted.remaining == 1


def test_exhausted_script_in_a_background_run_fails_the_interaction() -> None:
    emu = Emulator(ScriptedModel([]))
    out = create(emu, input="x", background=True)
    emu.advance(out["id"])
    got = emu.interaction(out["id"])
    assert got.status == "failed"
    assert got.errors and "no replies left (0 were given)" in str(got.errors[0])


def test_demo_hints_read_a_bounded_prefix() -> None:
    # Some hint patterns backtrack on long text; they only ever see the first 4000 chars.
    hints = Hints.from_text("Reach me at " + "a" * 100_000 + " or bob@example.com")
    assert len(hints.text) == 4000 and hints.emails == []
    assert Hints.from_text("Reach bob@example.com").emails == ["bob@example.com"]
