"""``agentloop sessions [list|show|delete]`` over the sessions ``chat`` saved."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import CLI, agentloop


def test_sessions_smoke_in_a_subprocess(tmp_path: Path) -> None:
    proc = agentloop("sessions", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no sessions in ")


def test_list_show_delete(cli: CLI) -> None:
    assert cli("chat", "--session", "alpha", stdin="I have 2 dogs.\n").returncode == 0
    assert cli("chat", "--session", "beta", stdin="hello\nhow are you\n").returncode == 0
    listing = cli("sessions")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("2 sessions in ") and lines[0].endswith("(newest first):")
    assert lines[1].split()[0] == "beta" and lines[2].split()[0] == "alpha"
    assert "6 steps  hello" in lines[1] and "3 steps  I have 2 dogs." in lines[2]

    shown = cli("sessions", "show", "alpha")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(
        "session 'alpha': model gemini-3.5-flash, strategy stateful, tools: none, 3 steps"
    )
    assert "  0  user_input       I have 2 dogs." in shown.stdout

    data = json.loads(cli("sessions", "list", "--json").stdout)
    assert [row["id"] for row in data] == ["beta", "alpha"]
    assert data[1]["title"] == "I have 2 dogs."

    deleted = cli("sessions", "delete", "alpha")
    assert deleted.returncode == 0 and deleted.stdout.strip() == "deleted 1 session: alpha"
    assert cli("sessions").stdout.startswith("1 session in ")
    again = cli("sessions", "show", "alpha")
    assert again.returncode == 2 and "no session 'alpha'" in again.stderr
    assert "known: beta" in again.stderr


def test_show_reads_the_tools_and_time_a_run_saved(cli: CLI) -> None:
    (cli.home / "weather.py").write_text(
        "def get_weather(city: str) -> dict:\n"
        '    """Get the weather.\n\n    Args:\n        city: The city.\n    """\n'
        "    return {'city': city, 'temperature': 20}\n"
    )
    ran = cli("run", "What is the weather in Paris?", "--tools", "weather.py", "--session", "p")
    assert ran.returncode == 0, ran.stderr
    first = cli("sessions", "show", "p").stdout.splitlines()[0]
    assert "tools: get_weather," in first and "updated -" not in first


def test_reading_sessions_never_creates_a_store(cli: CLI) -> None:
    typo = cli.home / "nowhere" / "chats.db"
    listing = cli("sessions", "--store", str(typo))
    assert listing.returncode == 0 and "no such file" in listing.stdout
    as_json = cli("sessions", "list", "--json", "--store", str(typo))
    assert as_json.returncode == 0 and as_json.stdout.strip() == "[]"  # still JSON
    shown = cli("sessions", "show", "a", "--store", str(typo))
    assert shown.returncode == 2 and "there is no file" in shown.stderr
    assert not typo.parent.exists()
