"""``agentloop run``: progress on stderr, the answer (or JSON) on stdout, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import CLI, agentloop

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


def _tools(home: Path) -> Path:
    path = home / "weather_tools.py"
    path.write_text(WEATHER)
    return path


@pytest.mark.slow
def test_run_smoke_in_a_subprocess(tmp_path: Path) -> None:
    """A real process (slow); in-process: test_run_prints_progress_and_the_answer."""
    proc = agentloop(
        "run", "What is the weather in Lisbon?", "--tools", str(_tools(tmp_path)), home=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "[1] calling get_weather(city='Lisbon')" in proc.stderr
    assert proc.stdout.strip().endswith('"temperature": 19}.')


def test_run_prints_progress_and_the_answer(cli: CLI) -> None:
    proc = cli("run", "What is the weather in Lisbon?", "--tools", str(_tools(cli.home)))
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.splitlines()
    assert "emulator" in err[0]
    assert "task: What is the weather in Lisbon? (tools: get_weather; max 10 steps)" in err
    assert "[1] calling get_weather(city='Lisbon')" in err
    assert '[1] get_weather returned {"city": "Lisbon", "temperature": 19}' in err
    assert err[-1].startswith("completed: 2 model requests, 1 tool call, ")
    assert proc.stdout.strip().endswith(
        'get_weather returned {"city": "Lisbon", "temperature": 19}.'
    )


def test_run_reads_the_task_from_stdin(cli: CLI) -> None:
    proc = cli(
        "run", "-", "--tools", str(_tools(cli.home)), stdin="What is the weather\nin Lisbon?\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "[1] calling get_weather(city='Lisbon')" in proc.stderr
    empty = cli("run", "-", stdin="  \n")
    assert empty.returncode == 2 and "TASK is empty" in empty.stderr


def test_run_json_prints_the_turn(cli: CLI) -> None:
    proc = cli("run", "What is the weather in Lisbon?", "--tools", str(_tools(cli.home)), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "completed"
    assert data["tool_calls"][0]["name"] == "get_weather"
    assert data["tool_calls"][0]["result"] == {"city": "Lisbon", "temperature": 19}
    assert [s["type"] for s in data["steps"]] == [
        "user_input",
        "thought",
        "function_call",
        "function_result",
        "thought",
        "model_output",
    ]
    assert data["model_requests"] == 2 and data["usage"]["total_tokens"] > 0


def test_run_from_an_importable_module(cli: CLI) -> None:
    (cli.home / "pkg_tools_mod.py").write_text(WEATHER)
    cli.monkeypatch.syspath_prepend(str(cli.home))  # python -m puts the cwd on sys.path
    proc = cli("run", "What is the weather in Rome?", "--tools", "pkg_tools_mod")
    assert proc.returncode == 0, proc.stderr
    assert "[1] calling get_weather(city='Rome')" in proc.stderr


def test_run_fails_with_exit_1_when_max_steps_is_hit(cli: CLI) -> None:
    proc = cli(
        "run",
        "What is the weather in Lisbon?",
        "--tools",
        str(_tools(cli.home)),
        "--max-steps",
        "1",
        "--json",
    )
    assert proc.returncode == 1
    assert "max_steps=1" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["status"] == "max_steps"
    assert "(tools: get_weather; max 1 step)" in proc.stderr


def test_run_without_tools_answers_directly(cli: CLI) -> None:
    proc = cli("run", "Say hello")
    assert proc.returncode == 0, proc.stderr
    assert "(agentloop emulator)" in proc.stdout
    assert "0 tool calls" in proc.stderr


def test_run_options_system_and_generation_config(cli: CLI) -> None:
    proc = cli(
        "run",
        "Say hello",
        "--system",
        "Your name is Ada.",
        "--json",
        "--temperature",
        "0.1",
        "-o",
        "max_output_tokens=50",
    )
    assert proc.returncode == 0, proc.stderr
    assert "I am Ada" in json.loads(proc.stdout)["output_text"]


def test_verbose_logs_on_stderr(cli: CLI) -> None:
    quiet = cli("run", "Say hello")
    loud = cli("run", "Say hello", "-v")
    assert loud.returncode == 0, loud.stderr
    assert "INFO agentloop" not in quiet.stderr
    assert "INFO agentloop" in loud.stderr


def test_config_file_supplies_defaults(cli: CLI) -> None:
    config = cli.home / "config" / "agentloop"
    config.mkdir(parents=True)
    _tools(config)
    (config / "config.toml").write_text(
        'model = "gemini-3.5-flash-lite"\nsystem = "Your name is Ada."\n'
        'tools = ["weather_tools.py"]\n'
    )
    proc = cli("run", "What is the weather in Lisbon?", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "tools: get_weather" in proc.stderr  # relative to the config file
    chat = cli("chat", "--model", "gemini-3.5-flash", stdin="hello\n")
    assert "model gemini-3.5-flash," in chat.stderr  # the command line wins
    assert "I am Ada" in chat.stdout
    # A resumed session keeps its own model over the config file's.
    cli("chat", "--session", "own", "--model", "gemini-3.5-pro", stdin="hi\n")
    resumed = cli("chat", "--session", "own", stdin="hi again\n")
    assert "model gemini-3.5-pro," in resumed.stderr
    (config / "config.toml").write_text("tools = ['gone.py']\n")
    gone = cli("run", "hi")
    assert gone.returncode == 2 and "tools (in " in gone.stderr and "config.toml" in gone.stderr
    (config / "config.toml").write_text("modle = 'x'\n")
    bad = cli("run", "hi")
    assert bad.returncode == 2 and "unknown key 'modle'" in bad.stderr
    for text, says in (
        ("temperature = 9\n", "temperature (in "),
        ("thinking_level = 'max'\n", "is one of minimal, low, medium, high, not 'max'"),
    ):
        (config / "config.toml").write_text(text)
        wrong = cli("run", "hi")
        assert wrong.returncode == 2 and says in wrong.stderr and "config.toml" in wrong.stderr


def test_a_config_file_named_by_agentloop_config_must_exist(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTLOOP_CONFIG", str(cli.home / "agentloop.tmol"))
    missing = cli("run", "hi")
    assert missing.returncode == 2 and "AGENTLOOP_CONFIG names" in missing.stderr


def test_run_on_a_session_applies_the_options_given_and_keeps_its_tools(cli: CLI) -> None:
    tools = _tools(cli.home)
    first = cli("run", "What is the weather in Paris?", "--tools", str(tools), "--session", "s1")
    assert first.returncode == 0, first.stderr
    again = cli(
        "run", "hello", "--session", "s1", "--max-steps", "3", "--model", "gemini-2.5-pro",
        "--strategy", "stateless", "--system", "Talk like a pirate",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "(tools: get_weather; max 3 steps)" in again.stderr  # its tools, the new limit
    assert "Talk like a pirate" in again.stdout
    shown = cli("sessions", "show", "s1")
    assert "gemini-2.5-pro" in shown.stdout and "stateless" in shown.stdout
    plain = cli("run", "hello again", "--session", "s1")  # nothing given: what it was saved with
    assert "(tools: get_weather; max 3 steps)" in plain.stderr, plain.stderr
