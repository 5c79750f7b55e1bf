"""``--agent FILE.py:NAME`` on ``run``, ``chat`` and ``serve``: the agent's tools and
instructions come with it; bad specs get one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import CLI

TEAM = '''
from agentloop import Agent, tool


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 17}


def instructions(ctx):
    return f"You are {ctx.agent.name}; turn {ctx.turn}."


forecaster = Agent("forecaster", instructions=instructions, tools=[get_weather])
not_an_agent = 42
'''


def _team(home: Path) -> Path:
    path = home / "team.py"
    path.write_text(TEAM)
    return path


def test_run_with_an_agent_uses_its_tools(cli: CLI) -> None:
    spec = f"{_team(cli.home)}:forecaster"
    result = cli("run", "What is the weather in Lisbon?", "--agent", spec)
    assert result.returncode == 0, result.stderr
    assert "calling get_weather(city='Lisbon')" in result.stderr
    assert '"temperature": 17' in result.stdout


def test_chat_with_an_agent(cli: CLI) -> None:
    spec = f"{_team(cli.home)}:forecaster"
    result = cli("chat", "--agent", spec, stdin="What is the weather in Oslo?\n")
    assert result.returncode == 0, result.stderr
    assert "get_weather" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("{team}", "file (or module) and the agent's variable name"),
        ("{team}:nobody", "nobody is no such name (agents there: forecaster)"),
        ("{team}:not_an_agent", "a int, not an Agent"),
        ("missing.py:x", "no such file"),
    ],
)
def test_bad_agent_specs_get_one_line(cli: CLI, spec: str, words: str) -> None:
    team = _team(cli.home)
    result = cli("run", "hi", "--agent", spec.format(team=team))
    assert result.returncode != 0
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_agent_and_tools_do_not_mix(cli: CLI) -> None:
    team = _team(cli.home)
    result = cli("run", "hi", "--agent", f"{team}:forecaster", "--tools", str(team))
    assert result.returncode != 0 and "drop --tools/--system" in result.stderr


def test_the_web_app_runs_the_agent(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from agentloop import Agent
    from agentloop.testing import Emulator
    from agentloop.web import create_app

    emu = Emulator()
    agent = Agent("greeter", instructions=lambda ctx: f"greet on turn {ctx.turn}")
    app = create_app(agent=agent, client=emu.async_client(), store=tmp_path / "web.db")
    body = {
        "threadId": "t1",
        "runId": "r1",
        "state": {},
        "messages": [{"id": "m1", "role": "user", "content": "hello"}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        response = client.post("/agui", json=body)
        assert response.status_code == 200, response.text
    assert emu.requests[-1].json["system_instruction"] == "greet on turn 1"

    # a handoff shows as an AG-UI custom event
    billing = Agent("billing", instructions="billing", description="Billing")
    triage = Agent("triage", instructions="triage", handoffs=[billing])
    app = create_app(agent=triage, client=emu.async_client(), store=tmp_path / "web2.db")
    body["messages"][0]["content"] = "Transfer me to billing"
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        response = client.post("/agui", json=body)
    assert '"name":"agentloop.handoff"' in response.text.replace(" ", "")
    assert emu.requests[-1].json["system_instruction"] == "billing"


def test_serve_checks_the_agent_before_serving(cli: CLI) -> None:
    pytest.importorskip("uvicorn")
    team = _team(cli.home)
    result = cli("serve", "--agent", f"{team}:nobody", "--port", "0")
    assert result.returncode != 0 and "nobody is no such name" in result.stderr


def test_a_chat_session_remembers_its_agent(cli: CLI) -> None:
    spec = f"{_team(cli.home)}:forecaster"
    first = cli("chat", "--agent", spec, "--session", "s1", stdin="hello\n")
    assert first.returncode == 0, first.stderr
    again = cli("chat", "--session", "s1", stdin="What is the weather in Oslo?\n")
    assert again.returncode == 0, again.stderr
    assert "tools: get_weather" in again.stderr
