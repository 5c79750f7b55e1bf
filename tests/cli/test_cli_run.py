"""``agentloop run``: progress on stderr, the answer (or JSON) on stdout, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import agentloop

WEATHER = '''
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 19}


def _private_helper() -> None:
    pass
'''


def _tools(tmp_path: Path) -> Path:
    path = tmp_path / "weather_tools.py"
    path.write_text(WEATHER)
    return path


def test_run_prints_progress_and_the_answer(tmp_path: Path) -> None:
    proc = agentloop("run", "What is the weather in Lisbon?", "--tools", str(_tools(tmp_path)),
                     home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.splitlines()
    assert "emulator" in err[0]
    assert "task: What is the weather in Lisbon? (tools: get_weather; max 10 steps)" in err
    assert "[1] calling get_weather(city='Lisbon')" in err
    assert '[1] get_weather returned {"city": "Lisbon", "temperature": 19}' in err
    assert err[-1].startswith("completed: 2 model requests, 1 tool calls")
    assert proc.stdout.strip().endswith(
        'get_weather returned {"city": "Lisbon", "temperature": 19}.'
    )


def test_run_json_prints_the_turn(tmp_path: Path) -> None:
    proc = agentloop("run", "What is the weather in Lisbon?", "--tools", str(_tools(tmp_path)),
                     "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "completed"
    assert data["tool_calls"][0]["name"] == "get_weather"
    assert data["tool_calls"][0]["result"] == {"city": "Lisbon", "temperature": 19}
    assert [s["type"] for s in data["steps"]] == [
        "user_input", "thought", "function_call", "function_result", "thought", "model_output",
    ]
    assert data["model_requests"] == 2 and data["usage"]["total_tokens"] > 0


def test_run_from_an_importable_module(tmp_path: Path) -> None:
    (tmp_path / "pkg_tools_mod.py").write_text(WEATHER)
    env_dir = tmp_path
    proc = agentloop("run", "What is the weather in Rome?", "--tools", "pkg_tools_mod",
                     home=tmp_path, cwd=env_dir)
    assert proc.returncode == 0, proc.stderr
    assert "[1] calling get_weather(city='Rome')" in proc.stderr


def test_run_fails_with_exit_1_when_max_steps_is_hit(tmp_path: Path) -> None:
    proc = agentloop("run", "What is the weather in Lisbon?", "--tools", str(_tools(tmp_path)),
                     "--max-steps", "1", "--json", home=tmp_path)
    assert proc.returncode == 1
    assert "max_steps=1" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["status"] == "max_steps"


def test_run_without_tools_answers_directly(tmp_path: Path) -> None:
    proc = agentloop("run", "Say hello", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "(agentloop emulator)" in proc.stdout
