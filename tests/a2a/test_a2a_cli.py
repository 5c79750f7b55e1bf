"""``agentloop a2a serve``: the agent reference, the bind rule, and a real server process
(restart, token, secrets) driven by the a2a-sdk's client and by ``A2AAgent``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _lazy import lazy_module
from a2a_helpers import collect, message

from agentloop import Agent
from agentloop.cli import main
from agentloop.cli._agentref import load_agent_ref
from agentloop.cli._common import UsageError
from agentloop.testing import Emulator
from agentloop.testing.server import DEFAULT_SIGNING_KEY

# a2a-sdk and agentloop.a2a load in the worker that runs these tests, not at collection.
a2a_client = lazy_module("a2a.client")
proto = lazy_module("a2a.helpers.proto_helpers")
a2a_types = lazy_module("a2a.types")
agentloop_a2a = lazy_module("agentloop.a2a")

AGENTS = '''
from agentloop import Agent, tool

@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 17}


weather = Agent("weather", tools=[get_weather], description="Knows the weather.")
not_an_agent = 42
'''

TOKEN = "tok-a2a-never-shown"
API_KEY = "gemini-key-never-shown"


@pytest.fixture
def agents_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_agents.py"
    path.write_text(AGENTS)
    return path


def test_load_agent_ref_finds_the_agent(agents_file: Path) -> None:
    agent = load_agent_ref(f"{agents_file}:weather")
    assert isinstance(agent, Agent) and agent.name == "weather"


@pytest.mark.parametrize(
    ("suffix", "says"),
    [
        (":missing", "has no attribute 'missing' \\(it defines: .*weather"),
        (":not_an_agent", "is an int, not an agentloop.Agent"),
        ("", "expected FILE.py:NAME or module:NAME"),
    ],
)
def test_load_agent_ref_says_what_is_wrong(agents_file: Path, suffix: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        load_agent_ref(f"{agents_file}{suffix}")
    with pytest.raises(UsageError, match="no such file"):
        load_agent_ref("nowhere.py:weather")


def test_serving_beyond_loopback_needs_a_token(
    agents_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["a2a", "serve", "--agent", f"{agents_file}:weather", "--host", "0.0.0.0"])
    assert code == 2
    assert "pass --token SECRET too" in capsys.readouterr().err


def test_serving_needs_an_agent_not_a_function(
    agents_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["a2a", "serve", "--agent", f"{agents_file}:get_weather"]) == 2
    assert "serves an agentloop.Agent" in capsys.readouterr().err


def test_a_port_in_use_is_one_line_before_anything_says_it_serves(
    agents_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for argv in (
            ["a2a", "serve", "--agent", f"{agents_file}:weather", "--port", port],
            ["serve", "--port", port],
        ):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert f"port {port} on 127.0.0.1 is in use" in err and "--port 0" in err
            assert " on http://" not in err  # it never claimed to serve


def test_a2a_without_an_action_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["a2a"]) == 2
    assert "agentloop a2a serve --agent" in capsys.readouterr().err


# --- a real server process -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    def __init__(self, agents: Path, store: Path, port: int, emulator_url: str) -> None:
        env = {
            **os.environ,
            "GEMINI_API_KEY": API_KEY,
            "GEMINI_BASE_URL": emulator_url,
            "AGENTLOOP_HOME": str(store.parent),
            "PYTHONUNBUFFERED": "1",
        }
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentloop", "a2a", "serve", "--agent", f"{agents}:weather",
             "--port", str(port), "--store", str(store), "--token", TOKEN, "-v"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.proc.communicate()
            try:
                httpx.get(self.url + "/.well-known/agent-card.json", timeout=1)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, "agentloop a2a serve did not come up"
                time.sleep(0.05)

    def stop(self) -> str:
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=30)
        return out + err


@pytest.fixture
def emulator_url() -> Iterator[str]:
    with Emulator(signing_key=DEFAULT_SIGNING_KEY).serve() as url:
        yield url


@pytest.mark.slow
async def test_a_server_process_keeps_contexts_across_a_restart_and_never_shows_secrets(
    agents_file: Path, tmp_path: Path, emulator_url: str
) -> None:
    store, port = tmp_path / "a2a.db", _free_port()
    auth = {"authorization": f"Bearer {TOKEN}"}
    server = Process(agents_file, store, port, emulator_url)
    logs = []
    try:
        card = httpx.get(server.url + "/.well-known/agent-card.json").text  # public
        assert '"name":"weather"' in card.replace(" ", "")
        assert TOKEN not in card and API_KEY not in card
        assert httpx.post(server.url + "/", json={}).status_code == 401  # no token

        async with httpx.AsyncClient(headers=auth, timeout=30) as http:
            client = await a2a_client.create_client(
                server.url, a2a_client.ClientConfig(httpx_client=http, streaming=False)
            )
            (first,) = await collect(client, message("I have 2 dogs."))
            assert first.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
            context_id = first.task.context_id

            # An agentloop agent calls it through A2AAgent; name and description from the card.
            remote = agentloop_a2a.A2AAgent(server.url, headers=auth)
            assert remote.name == "weather"
            turn = await Agent("boss", tools=[remote]).arun(
                "use weather for Oslo", client=Emulator().async_client()
            )
            assert not turn.tool_calls[0].is_error
            assert "Oslo" in turn.tool_calls[0].result.result
    finally:
        logs.append(server.stop())

    server = Process(agents_file, store, port, emulator_url)  # a new process, the same store
    try:
        async with httpx.AsyncClient(headers=auth, timeout=30) as http:
            client = await a2a_client.create_client(
                server.url, a2a_client.ClientConfig(httpx_client=http, streaming=False)
            )
            (again,) = await collect(
                client, message("How many paws do they have?", context_id=context_id)
            )
            assert again.task.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
            assert "8" in proto.get_artifact_text(again.task.artifacts[0])
            before = await client.get_task(a2a_types.GetTaskRequest(id=first.task.id))
            assert before.status.state == a2a_types.TaskState.TASK_STATE_COMPLETED
    finally:
        logs.append(server.stop())
    text = "\n".join(logs)
    assert "agentloop A2A agent 'weather'" in text and "POST / HTTP/1.1" in text  # -v logs
    assert TOKEN not in text and API_KEY not in text
