"""``agentloop demo``: offline, and on the real-API code path; --version and --help."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import CLI, agentloop

from agentloop.testing import Emulator


@pytest.mark.slow
def test_demo_smoke_in_a_subprocess(tmp_path: Path) -> None:
    """A real process (slow); in-process: test_demo_runs_offline_and_shows_every_part."""
    proc = agentloop("demo", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "emulator" in proc.stdout.splitlines()[0]
    assert "Done: 4 turns" in proc.stdout and "Traceback" not in proc.stderr


def test_demo_runs_offline_and_shows_every_part(cli: CLI) -> None:
    proc = cli("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    first = out.splitlines()[0]
    assert "emulator" in first and "GEMINI_API_KEY" in first  # says so, in one line
    assert "Traceback" not in proc.stderr
    # streamed chat turn
    assert "you> I have 2 dogs in my house." in out
    # tool loop: calls and results printed as they happen, then the answer
    assert "-> get_weather(city='London')" in out
    assert "-> get_weather(city='Paris')" in out
    assert '<- get_weather returned {"city": "London", "temperature": 14' in out
    assert out.index("-> get_weather(city='London')") < out.index("<- get_weather returned")
    assert "(2 tool calls in 2 requests)" in out
    # strategy switch keeps the history: the stateless turn remembers the dogs
    assert "stateless" in out and "8 paws" in out
    # structured output parsed into the pydantic model
    assert "model> Recipe(recipe_name=" in out
    assert "Done: 4 turns, 5 model requests" in out


def test_demo_uses_the_real_api_path_when_a_key_is_set(cli: CLI) -> None:
    emulator = Emulator(api_keys={"test-key"})
    with emulator.serve() as url:
        cli.monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        cli.monkeypatch.setenv("GEMINI_BASE_URL", url)
        proc = cli("demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"Using the Gemini Interactions API at {url}"
    assert "8 paws" in proc.stdout
    posts = [r for r in emulator.requests if r.method == "POST"]
    assert len(posts) == 5  # chat, tool call + results, stateless turn, structured output
    assert posts[3].json["store"] is False and "previous_interaction_id" not in posts[3].json
    assert "test-key" not in proc.stdout + proc.stderr


def test_demo_offline_flag_wins_over_a_key(cli: CLI) -> None:
    cli.monkeypatch.setenv("GEMINI_API_KEY", "would-be-real")
    cli.monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    proc = cli("demo", "--offline")
    assert proc.returncode == 0, proc.stderr
    assert "--offline" in proc.stdout.splitlines()[0]


def test_version_and_help(cli: CLI) -> None:
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("agentloop ")
    proc = cli("--help")
    assert proc.returncode == 0
    for command in ("demo", "chat", "run", "serve", "sessions", "emulator"):
        assert command in proc.stdout


@pytest.mark.parametrize("command", ["demo", "chat", "run", "serve", "sessions"])
def test_every_option_has_help_and_every_command_examples(cli: CLI, command: str) -> None:
    import argparse

    from agentloop.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = sub.choices[command]
    for action in parser._actions:
        assert action.help, f"agentloop {command} {action.option_strings or action.dest}"
    proc = cli(command, "--help")
    assert proc.returncode == 0 and "examples:" in proc.stdout
