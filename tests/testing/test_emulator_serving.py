"""Serving adapters: pytest fixtures, agentloop clients in-process, loopback server, CLI."""

from __future__ import annotations

import logging
import sys
from typing import Any

import httpx
import pytest
from _http import http_client

from agentloop.testing import Emulator, ScriptedModel
from agentloop.testing import server as server_mod

pytest_plugins = ["pytester"]


def test_emulator_client_fixture(emulator: Emulator, emulator_client: Any) -> None:
    it = emulator_client.interactions.create(model="gemini-3.5-flash", input="hi fixture")
    assert "hi fixture" in it.output_text
    assert emulator.requests[-1].json == {"model": "gemini-3.5-flash", "input": "hi fixture"}


async def test_async_emulator_client_fixture(
    emulator: Emulator, async_emulator_client: Any
) -> None:
    it = await async_emulator_client.interactions.create(model="gemini-3.5-flash", input="hi async")
    assert "hi async" in it.output_text
    assert emulator.interaction(it.id).output_text == it.output_text


def test_emulator_url_fixture(emulator: Emulator, emulator_url: str) -> None:
    assert emulator_url.startswith("http://127.0.0.1:")
    with http_client() as http:
        res = http.post(
            f"{emulator_url}/v1beta/interactions",
            headers={"x-goog-api-key": "k"},
            json={"model": "gemini-3.5-flash", "input": "over the loopback"},
        )
        assert res.status_code == 200 and "over the loopback" in res.text
        assert http.get(f"{emulator_url}/v1beta/interactions/x").status_code == 401


def test_serve_drops_streams_mid_way() -> None:
    emu = Emulator(ScriptedModel(["a b c d e f g h", "again"]))
    emu.faults.drop_stream(after_events=3)
    with emu.serve() as url, http_client(base_url=url, headers={"x-goog-api-key": "k"}) as client:
        lines: list[str] = []
        with (
            pytest.raises(httpx.RemoteProtocolError),
            client.stream(
                "POST",
                "/v1beta/interactions",
                json={"model": "gemini-3.5-flash", "input": "x", "stream": True},
            ) as res,
        ):
            lines.extend(line for line in res.iter_lines() if line.startswith("data: "))
        assert len(lines) == 3
        ok = client.post(
            "/v1beta/interactions", json={"model": "gemini-3.5-flash", "input": "y", "stream": True}
        )
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
            res = await client.post(
                "/v1/interactions",
                headers={"x-goog-api-key": "k"},
                json={"model": "gemini-3.5-flash", "input": "x"},
            )
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
    assert server_mod.main(["--model", "gpt"]) == 2
    assert "invalid choice: 'gpt'" in capsys.readouterr().err


@pytest.fixture
def fake_uvicorn_run(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    import uvicorn

    ran: list[Any] = []

    def fake_run(self: Any, sockets: list[Any]) -> None:
        ran.append((self.config, sockets[0].getsockname()[1]))

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    monkeypatch.delenv(server_mod.SIGNING_KEY_ENV, raising=False)
    return ran


def _served_emulator(ran: list[Any]) -> Emulator:
    emulator: Emulator = ran[-1][0].app.state.emulator
    return emulator


@pytest.fixture(autouse=True)
def _restore_access_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() configures the access logger of the process; undo it after each test.
    from agentloop.testing.asgi import ACCESS_LOGGER

    logger = logging.getLogger(ACCESS_LOGGER)
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setattr(logger, "propagate", True)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--log-level", "foo"], "argument --log-level: invalid choice: 'foo'"),
        (["--port", "99999"], "'99999' is not a port"),
        (["--port", "http"], "'http' is not a port"),
        (["--context-window", "0"], "'0' is not a positive whole number"),
        (["--max-body-bytes", "lots"], "'lots' is not a positive whole number"),
        (["--background-polls", "-1"], "'-1' is not a whole number, 0 or more"),
        (["--api-key", " "], "an empty key"),
    ],
)
def test_cli_bad_flags_are_one_line_errors(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert server_mod.main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_port_in_use_is_a_one_line_error(
    fake_uvicorn_run: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert server_mod.main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and len(err.strip().splitlines()) == 1
    assert fake_uvicorn_run == []


def test_cli_missing_extra_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert server_mod.main(["--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "agentloop emulator: error: the emulator server needs the [emulator] extra "
        "(uvicorn is missing): pip install 'agentloop[emulator]'"
    )


def test_cli_options_reach_the_emulator(
    fake_uvicorn_run: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        server_mod.main(
            [
                "--port",
                "0",
                "--context-window",
                "500",
                "--allow-unknown-models",
                "--max-body-bytes",
                "1000",
                "--request-log-size",
                "3",
                "--log-level",
                "WARNING",
            ]
        )
        == 0
    )
    emu = _served_emulator(fake_uvicorn_run)
    assert (emu.context_window, emu.allow_unknown_models, emu.max_body_bytes) == (500, True, 1000)
    assert emu.requests.maxlen == 3
    assert "context window: 500" in capsys.readouterr().err
    assert server_mod.main(["--port", "0"]) == 0
    emu = _served_emulator(fake_uvicorn_run)
    assert (emu.context_window, emu.allow_unknown_models) == (None, False)


def _thought_history(emu: Emulator) -> list[dict[str, Any]]:
    first = emu.handle(
        "POST",
        "/v1beta/interactions",
        {},
        {"x-goog-api-key": "k"},
        b'{"model": "gemini-3.5-flash", "input": "hi", "store": false}',
    ).json()
    return [
        {"type": "user_input", "content": "hi"},
        *first["steps"],
        {"type": "user_input", "content": "again"},
    ]


def _replay(emu: Emulator, history: list[dict[str, Any]]) -> int:
    import json

    body = {"model": "gemini-3.5-flash", "input": history, "store": False}
    return emu.handle(
        "POST", "/v1beta/interactions", {}, {"x-goog-api-key": "k"}, json.dumps(body).encode()
    ).status


def test_cli_signing_key_is_stable_across_restarts(
    fake_uvicorn_run: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server_mod.main(["--port", "0"])
    history = _thought_history(_served_emulator(fake_uvicorn_run))
    server_mod.main(["--port", "0"])  # "restarted": a new emulator, the default key
    assert _replay(_served_emulator(fake_uvicorn_run), history) == 200
    server_mod.main(["--port", "0", "--signing-key", "team-secret"])
    assert _replay(_served_emulator(fake_uvicorn_run), history) == 400  # another key
    keyed = _thought_history(_served_emulator(fake_uvicorn_run))
    monkeypatch.setenv(server_mod.SIGNING_KEY_ENV, "team-secret")
    server_mod.main(["--port", "0"])
    assert _replay(_served_emulator(fake_uvicorn_run), keyed) == 200
    err = capsys.readouterr().err
    assert "team-secret" not in err and "signing key: $AGENTLOOP_EMULATOR_SIGNING_KEY" in err


def test_access_log_at_info_redacts_the_key(caplog: pytest.LogCaptureFixture) -> None:
    from agentloop.testing.asgi import ACCESS_LOGGER

    emu = Emulator(ScriptedModel(["a"]))
    transport = httpx.ASGITransport(app=emu.asgi_app())

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            await client.post(
                "/v1beta/interactions?key=s3cret&alt=sse",
                json={"model": "gemini-3.5-flash", "input": "x"},
            )

    import asyncio

    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        asyncio.run(go())
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(lines) == 1
    assert '"POST /v1beta/interactions?key=<redacted>&alt=sse" 200 (stream)' in lines[0]
    assert "s3cret" not in lines[0]


def test_cli_access_log_handler_only_at_info(
    monkeypatch: pytest.MonkeyPatch, fake_uvicorn_run: list[Any]
) -> None:
    from agentloop.testing.asgi import ACCESS_LOGGER

    logger = logging.getLogger(ACCESS_LOGGER)
    server_mod.main(["--port", "0", "--log-level", "warning"])
    assert logger.handlers == [] and not logger.isEnabledFor(logging.INFO)
    server_mod.main(["--port", "0", "--log-level", "info"])
    assert len(logger.handlers) == 1 and logger.isEnabledFor(logging.INFO)


def test_async_fixture_works_in_strict_mode(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin's async fixture needs no ``asyncio_mode = auto`` (run in-process)."""
    # Only the two plugins at stake (autoloading every installed plugin costs seconds).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(
        test_strict_plugin_user=(
            "import pytest\n"
            "from agentloop import AsyncConversation\n\n"
            "@pytest.mark.asyncio\n"
            "async def test_it(async_emulator_client, emulator):\n"
            "    turn = await AsyncConversation(async_emulator_client).send('hi strict')\n"
            "    assert 'hi strict' in turn.output_text\n"
            "    assert len(emulator.requests) == 1\n"
        )
    )
    # pytester, not a bare pytest.main(): its inner session skips the five full garbage
    # collections that end a session, which here would walk this whole run's heap.
    result = pytester.runpytest_inprocess(
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "agentloop.testing.pytest_plugin",
        "-p",
        "pytest_asyncio.plugin",
    )
    result.assert_outcomes(passed=1)
