"""Recordings: ``@pytest.mark.vcr`` tests record live traffic once and replay it offline.

An inner pytest session (pytester) records against a running emulator with a key, the server
stops, and the same tests replay from their cassettes with no key: sync, async, streaming and
a tool loop. The key is never in a cassette, and a changed request fails with a diff against
the closest recording.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import http_client

pytest.importorskip("vcr", reason="agentloop[recordings] is not installed")
pytest.importorskip("pytest_recording", reason="agentloop[recordings] is not installed")

pytest_plugins = ["pytester"]

KEY = "live-secret-key-0123456789"

TESTS = '''
import os

import pytest

from agentloop import AsyncClient, AsyncConversation, Client, Conversation, tool


@tool
def get_weather(city: str) -> dict:
    """Get the weather.

    Args:
        city: The city.
    """
    return {"city": city, "temperature": 17}


def client():
    return Client(base_url=os.environ["RECORDED_URL"])


@pytest.mark.vcr
def test_sync():
    with client() as c:
        turn = Conversation(c).send(os.environ.get("RECORDED_MESSAGE", "Hello there"))
    assert "emulator" in turn.output_text


@pytest.mark.vcr
async def test_async():
    c = AsyncClient(base_url=os.environ["RECORDED_URL"])
    async with AsyncConversation(c) as conv:
        turn = await conv.send("Hello from async")
    await c.close()
    assert turn.output_text


@pytest.mark.vcr
def test_stream():
    with client() as c:
        events = list(Conversation(c).stream("Tell me a short story"))
    assert [e for e in events if e.type == "text_delta"]
    assert events[-1].type == "turn_completed"


def test_vcr_config_is_agentloops(vcr_config):
    assert vcr_config["match_on"] == ("method", "path", "body")
    assert ("x-goog-api-key", None) in vcr_config["filter_headers"]
    assert ("key", None) in vcr_config["filter_query_parameters"]


@pytest.mark.vcr
def test_tool_loop():
    with client() as c:
        turn = Conversation(c, tools=[get_weather]).send("What is the weather in Paris?")
    assert [call.name for call in turn.tool_calls] == ["get_weather"]
    assert turn.model_requests == 2
'''


@contextlib.contextmanager
def in_process_server() -> Iterator[str]:
    from agentloop.testing import Emulator

    with Emulator(api_keys=[KEY]).serve() as url:
        yield url


@contextlib.contextmanager
def emulator_subprocess() -> Iterator[str]:
    """``agentloop emulator`` in its own process, standing in for the live API."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentloop", "emulator", "--port", "0", "--api-key", KEY],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _import_what_the_inner_tests_use() -> None:
    """Run the inner tests' code paths once here: pytester restores ``sys.modules`` after each
    in-process run, and a module first imported inside one would come back as a second copy
    (with its own classes) in the next."""
    import anyio

    from agentloop import AsyncConversation, Conversation, tool
    from agentloop.testing import Emulator

    @tool
    def ping(city: str) -> str:
        """Ping.

        Args:
            city: A city.
        """
        return city

    emulator = Emulator()
    with emulator.client() as c:
        Conversation(c, tools=[ping]).send("What is the weather in Paris?")
        list(Conversation(c).stream("hi"))

    async def main() -> None:
        async with AsyncConversation(emulator.async_client(), tools=[ping]) as conv:
            await conv.send("What is the weather in Paris?")

    anyio.run(main)


_import_what_the_inner_tests_use()


# Plugins the inner sessions do not need: hypothesis's would import (and assertion-rewrite)
# hypothesis afresh in every in-process session.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")


def record_and_replay(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: object
) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_recorded=TESTS)
    with server as url:  # type: ignore[attr-defined]
        monkeypatch.setenv("RECORDED_URL", url)
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        recorded = pytester.runpytest_inprocess("--record-mode=once", *QUIET)
        recorded.assert_outcomes(passed=5)
    tapes = sorted((pytester.path / "cassettes" / "test_recorded").glob("*.yaml"))
    assert [t.stem for t in tapes] == ["test_async", "test_stream", "test_sync", "test_tool_loop"]
    for tape in tapes:
        text = tape.read_text()
        assert KEY not in text and "x-goog-api-key" not in text.lower()
    assert "event: " in (tapes[1].read_text())  # the stream is kept as SSE

    # The server is gone and so is the key: everything replays from the cassettes.
    monkeypatch.delenv("GEMINI_API_KEY")
    replayed = pytester.runpytest_inprocess(*QUIET)
    replayed.assert_outcomes(passed=5)

    monkeypatch.setenv("RECORDED_MESSAGE", "Hello, changed")
    changed = pytester.runpytest_inprocess(*QUIET, "-k", "test_sync")
    changed.assert_outcomes(failed=1)
    out = changed.stdout.str()
    assert "no recorded interaction matches it (the closest differ in body)" in out
    assert re.search(r'-\s+"text": "Hello there"', out)
    assert re.search(r'\+\s+"text": "Hello, changed"', out)


def test_record_then_replay_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_and_replay(pytester, monkeypatch, in_process_server())


@pytest.mark.slow
def test_record_against_an_emulator_process_then_replay(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_and_replay(pytester, monkeypatch, emulator_subprocess())


def test_configured_secrets_never_reach_a_cassette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from agentloop.testing.recordings import use_cassette

    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    body = {"model": "gemini-3.5-flash", "input": f"key {KEY}, token tok-abcdef"}
    headers = {"x-goog-api-key": KEY, "Authorization": "Bearer tok-abcdef"}
    tape = tmp_path / "t.yaml"
    with (
        in_process_server() as url,
        use_cassette(tape, secrets=["tok-abcdef"]),
        http_client() as http,
    ):
        response = http.post(f"{url}/v1beta/interactions?key={KEY}", json=body, headers=headers)
        assert response.status_code == 200
    text = tape.read_text()
    assert KEY not in text and "tok-abcdef" not in text
    assert "<GEMINI_API_KEY>" in text and "<SECRET-1>" in text
    assert "x-goog-api-key" not in text.lower() and "authorization" not in text.lower()


def test_the_defaults_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nagentloop_vcr_defaults = false\n")
    pytester.makepyfile(test_plain="def test_cfg(vcr_config):\n    assert vcr_config == {}\n")
    pytester.runpytest_inprocess(*QUIET).assert_outcomes(passed=1)
