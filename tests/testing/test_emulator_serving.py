"""Serving adapters: pytest fixtures, agentloop clients in-process, loopback server, CLI."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from agentloop.testing import Emulator, ScriptedModel
from agentloop.testing import server as server_mod


def test_plugin_import_is_light() -> None:
    code = ("import sys, agentloop.testing.pytest_plugin; "
            "print([m for m in ('starlette', 'uvicorn', 'agentloop.testing.emulator') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    code = ("import sys, agentloop.testing; "
            "print([m for m in ('starlette', 'uvicorn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_emulator_client_fixture(emulator: Emulator, emulator_client: Any) -> None:
    it = emulator_client.interactions.create(model="gemini-3.5-flash", input="hi fixture")
    assert "hi fixture" in it.output_text
    assert emulator.requests[-1].json == {"model": "gemini-3.5-flash", "input": "hi fixture"}


async def test_async_emulator_client_fixture(emulator: Emulator,
                                             async_emulator_client: Any) -> None:
    it = await async_emulator_client.interactions.create(model="gemini-3.5-flash", input="hi async")
    assert "hi async" in it.output_text
    assert emulator.interaction(it.id).output_text == it.output_text


def test_emulator_url_fixture(emulator: Emulator, emulator_url: str) -> None:
    assert emulator_url.startswith("http://127.0.0.1:")
    res = httpx.post(f"{emulator_url}/v1beta/interactions", headers={"x-goog-api-key": "k"},
                     json={"model": "gemini-3.5-flash", "input": "over the loopback"})
    assert res.status_code == 200 and "over the loopback" in res.text
    assert httpx.get(f"{emulator_url}/v1beta/interactions/x").status_code == 401


def test_serve_drops_streams_mid_way() -> None:
    emu = Emulator(ScriptedModel(["a b c d e f g h", "again"]))
    emu.faults.drop_stream(after_events=3)
    with emu.serve() as url, httpx.Client(base_url=url,
                                          headers={"x-goog-api-key": "k"}) as client:
        lines: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError), client.stream(
                "POST", "/v1beta/interactions",
                json={"model": "gemini-3.5-flash", "input": "x", "stream": True}) as res:
            lines.extend(line for line in res.iter_lines() if line.startswith("data: "))
        assert len(lines) == 3
        ok = client.post("/v1beta/interactions", json={"model": "gemini-3.5-flash", "input": "y",
                                                       "stream": True})
        assert ok.status_code == 200 and ok.text.count("event: ") > 3


def test_asgi_app_applies_latency_with_injected_sleep() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    emu = Emulator(ScriptedModel(["a"]))
    emu.faults.latency(3.0)
    transport = httpx.ASGITransport(app=emu.asgi_app(sleep=fake_sleep))

    async def go() -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            res = await client.post("/v1/interactions", headers={"x-goog-api-key": "k"},
                                    json={"model": "gemini-3.5-flash", "input": "x"})
            return res.status_code

    import asyncio

    assert asyncio.run(go()) == 200 and slept == [3.0]


def test_cli_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    ran: list[Any] = []
    def fake_run(self: Any, sockets: list[Any]) -> None:
        ran.append((self.config, sockets[0].getsockname()[1]))

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    assert server_mod.main(["--host", "127.0.0.1", "--port", "0", "--api-key", "s3cret"]) == 0
    config, port = ran[0]
    assert config.host == "127.0.0.1" and port > 0
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:{port}" in err and "s3cret" not in err
    with pytest.raises(SystemExit):
        server_mod.main(["--model", "gpt"])
