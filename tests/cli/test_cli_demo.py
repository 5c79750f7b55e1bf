"""``agentloop demo`` end to end in a subprocess: offline, and on the real-API code path."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import agentloop, offline_env

from agentloop.testing import Emulator


def test_demo_runs_offline_and_shows_every_part(tmp_path: Path) -> None:
    proc = agentloop("demo", home=tmp_path)
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
    # strategy switch keeps the history: the stateless turn remembers the dogs
    assert "stateless" in out and "8 paws" in out
    # structured output parsed into the pydantic model
    assert "model> Recipe(recipe_name=" in out
    assert "Done: 4 turns" in out


def test_demo_uses_the_real_api_path_when_a_key_is_set(tmp_path: Path) -> None:
    emulator = Emulator(api_keys={"test-key"})
    with emulator.serve() as url:
        env = offline_env(tmp_path, GEMINI_API_KEY="test-key", GEMINI_BASE_URL=url)
        proc = agentloop("demo", home=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"Using the Gemini Interactions API at {url}"
    assert "8 paws" in proc.stdout
    posts = [r for r in emulator.requests if r.method == "POST"]
    assert len(posts) == 5  # chat, tool call + results, stateless turn, structured output
    assert posts[3].json["store"] is False and "previous_interaction_id" not in posts[3].json
    assert "test-key" not in proc.stdout + proc.stderr


def test_demo_offline_flag_wins_over_a_key(tmp_path: Path) -> None:
    env = offline_env(tmp_path, GEMINI_API_KEY="would-be-real",
                      GEMINI_BASE_URL="http://127.0.0.1:9")  # nothing listens there
    proc = agentloop("demo", "--offline", home=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "--offline" in proc.stdout.splitlines()[0]


def test_version_and_help(tmp_path: Path) -> None:
    proc = agentloop("--version", home=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("agentloop ")
    proc = agentloop("--help", home=tmp_path)
    assert proc.returncode == 0
    for command in ("demo", "chat", "run", "emulator"):
        assert command in proc.stdout
