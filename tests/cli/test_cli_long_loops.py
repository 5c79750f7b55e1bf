"""``--compact-at``, ``--max-tokens``, ``--max-cost``/``--price`` and ``/usage`` in the CLI."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import CLI

WEATHER = '''
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 19}
'''

TASK = "What is the weather in Lisbon?"


def _tools(tmp_path: Path) -> str:
    path = tmp_path / "weather_tools.py"
    path.write_text(WEATHER)
    return str(path)


def test_run_stops_at_max_tokens(cli: CLI) -> None:
    proc = cli("run", TASK, "--tools", _tools(cli.home), "--max-tokens", "5")
    assert proc.returncode == 1
    assert "usage limit reached" in proc.stderr and "max_total_tokens=5" in proc.stderr


def test_run_with_compaction_and_a_cost_limit_completes(cli: CLI) -> None:
    proc = cli(
        "run",
        TASK,
        "--tools",
        _tools(cli.home),
        "--compact-at",
        "100000",
        "--max-cost",
        "10",
        "--price",
        "0.3,2.5",
    )
    assert proc.returncode == 0, proc.stderr
    assert "completed: 2 model requests" in proc.stderr


def test_max_cost_needs_a_price(cli: CLI) -> None:
    for command in (["run", TASK], ["chat"]):
        proc = cli(*command, "--max-cost", "1")
        assert proc.returncode == 2
        assert "--max-cost needs the model's price: add --price IN,OUT" in proc.stderr
    proc = cli("run", TASK, "--price", "cheap")
    assert proc.returncode == 2 and "--price takes two numbers" in proc.stderr


def test_chat_usage_shows_tokens_and_cost(cli: CLI) -> None:
    script = "Hello there.\n/usage\n/exit\n"
    proc = cli(
        "chat",
        "--session",
        "u1",
        "--price",
        "1,2",
        "--compact-at",
        "5000",
        stdin=script,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("usage so far:"))
    assert "1 model requests" in line and "cost 0.0" in line
    # Resumed in a new process, the session's running total carries over.
    proc = cli("chat", "--session", "u1", "--price", "1,2", stdin="Again.\n/usage\n/exit\n")
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("usage so far:"))
    assert "2 model requests" in line
