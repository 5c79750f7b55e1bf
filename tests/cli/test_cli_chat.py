"""``agentloop chat`` driven through stdin: streaming, tools, commands, saved sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import CLI, agentloop

TOOLS = '''
from agentloop import tool


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 21, "unit": "celsius"}


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file from the disk.

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"


def helper_not_a_tool() -> None:
    """Public, but the file has @tool functions, so only those are loaded."""
'''


def _tools(home: Path) -> Path:
    path = home / "my_tools.py"
    path.write_text(TOOLS)
    return path


@pytest.mark.slow
def test_chat_smoke_in_a_subprocess(tmp_path: Path) -> None:
    """A real process (slow); in-process: test_chat_commands_and_strategy_switch and the
    other in-process chat tests."""
    proc = agentloop(
        "chat",
        "--session",
        "s1",
        home=tmp_path,
        stdin="I have 2 dogs in my house.\nHow many paws are in my house?\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "emulator" in proc.stderr.splitlines()[0]
    assert "new session 's1'" in proc.stderr
    assert "8 paws" in proc.stdout
    assert (tmp_path / "sessions.db").is_file()


def test_chat_commands_and_strategy_switch(cli: CLI) -> None:
    script = (
        "\n".join(
            [
                "I have 2 dogs in my house.",
                "/strategy",
                "/strategy stateless",
                "How many paws are in my house?",
                "/strategy sideways",
                "/usage",
                "/history",
                "/save",
                "/nonsense",
                "/exit",
                "this line is never sent",
            ]
        )
        + "\n"
    )
    proc = cli("chat", "--session", "s1", "--system", "Be brief.", stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert "emulator" in proc.stderr.splitlines()[0]
    assert "new session 's1'" in proc.stderr
    assert out[0].startswith("model> (agentloop emulator) Following my instructions (Be brief.)")
    assert "strategy: stateful" in out
    assert "strategy: stateless (the history carries over)" in out
    assert any("8 paws" in line for line in out)
    assert "unknown strategy 'sideways'; use stateful or stateless" in out
    usage = next(line for line in out if line.startswith("usage this session:"))
    assert "2 model requests" in usage and "tokens=" in usage
    assert "6 steps in session 's1':" in out
    assert any("user_input       How many paws are in my house?" in line for line in out)
    assert any(line.startswith("saved session 's1' to ") for line in out)
    assert any(line.startswith("unknown command /nonsense") for line in out)
    assert "never sent" not in proc.stdout
    assert (cli.home / "sessions.db").is_file()


def test_chat_session_resumes_later(cli: CLI) -> None:
    first = cli("chat", "--session", "pets", stdin="I have 3 cats.\n")
    assert first.returncode == 0, first.stderr
    second = cli("chat", "--session", "pets", stdin="How many paws are in my house?\n/history\n")
    assert second.returncode == 0, second.stderr
    assert "resumed session 'pets' (3 steps)" in second.stderr
    # A new emulator never saw the first turn: the chain is replayed locally.
    assert "replayed the full history" in second.stdout
    assert "12 paws" in second.stdout
    assert "6 steps in session 'pets':" in second.stdout


def test_chat_continue_resumes_the_last_session_with_its_settings(cli: CLI) -> None:
    tools = _tools(cli.home)
    first = cli(
        "chat",
        "--session",
        "w1",
        "--tools",
        str(tools),
        "--model",
        "gemini-3.5-flash-lite",
        "--strategy",
        "stateless",
        "--temperature",
        "0.3",
        stdin="I have 1 dog.\n",
    )
    assert first.returncode == 0, first.stderr
    cli("chat", "--session", "older", stdin="hello\n")
    (cli.home / "elsewhere").mkdir()
    cli.monkeypatch.chdir(cli.home / "elsewhere")  # the tools file path was recorded absolute
    again = cli("chat", "--session", "w1", stdin="What is the weather in Oslo?\n/tools\n")
    assert again.returncode == 0, again.stderr
    assert "resumed session 'w1'" in again.stderr
    assert (
        "model gemini-3.5-flash-lite, strategy stateless, tools: get_weather, delete_file"
        in again.stderr
    )
    assert "-> get_weather(city='Oslo')" in again.stdout
    assert "  delete_file (asks for approval): Delete a file from the disk." in again.stdout
    last = cli("chat", "-c", stdin="/history\n")
    assert "resumed session 'w1'" in last.stderr  # the most recently used one


def test_chat_continue_without_sessions_is_a_usage_error(cli: CLI) -> None:
    proc = cli("chat", "-c")
    assert proc.returncode == 2
    assert "no session to continue" in proc.stderr


def test_chat_shows_tool_calls_and_asks_for_approval(cli: CLI) -> None:
    tools = _tools(cli.home)
    script = "What is the weather in Oslo?\nPlease delete the file notes.txt\ny\n/history\n"
    proc = cli("chat", "--tools", str(tools), stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "tools: get_weather, delete_file." in proc.stderr  # helper_not_a_tool left out
    assert "  -> get_weather(city='Oslo')" in out
    assert '  <- get_weather returned {"city": "Oslo", "temperature": 21' in out
    # The demo model makes up the path from the words of the request.
    assert "(waiting for approval: delete_file(path=" in out
    assert "approve delete_file(path=" in out and "? [y/N/a=all this turn]" in out
    assert "  <- delete_file returned deleted " in out
    assert out.index("approve delete_file") < out.index("<- delete_file returned")


def test_chat_rejected_approval_is_reported_to_the_model(cli: CLI) -> None:
    tools = _tools(cli.home)
    proc = cli("chat", "--tools", str(tools), stdin="Please delete the file notes.txt\nno\n")
    assert proc.returncode == 0, proc.stderr
    assert "  <- delete_file failed" in proc.stdout
    assert "did not approve" in proc.stdout


def test_chat_approve_all_for_a_turn(cli: CLI) -> None:
    tools = cli.home / "files.py"
    tools.write_text(
        "from agentloop import tool\n\n\n"
        "@tool(requires_approval=True)\n"
        "def delete_file(path: str) -> str:\n"
        '    """Delete a file from the disk.\n\n    Args:\n        path: The file.\n    """\n'
        "    return f'deleted {path}'\n"
    )
    # Two files in one request: the demo model makes one call per name, both need approval.
    proc = cli("chat", "--tools", str(tools), stdin="Please delete the file Alpha and Beta\na\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("? [y/N/a=all this turn]") == 1
    assert proc.stdout.count("<- delete_file returned deleted") == 2


def test_chat_model_tools_clear_and_multiline(cli: CLI) -> None:
    script = (
        "\n".join(
            [
                "/model",
                "/model Not A Model",
                "/model gemini-3.5-flash-lite",
                "/tools",
                '"""',
                "first line",
                "second line",
                '"""',
                "/history",
                "/clear",
                "/history",
            ]
        )
        + "\n"
    )
    proc = cli("chat", "--session", "m1", stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "model: gemini-3.5-flash" in out
    assert "'Not A Model' is not a model id" in out
    assert "model: gemini-3.5-flash-lite (from the next turn; the history carries over)" in out
    assert "no tools (start the chat with --tools FILE_OR_MODULE)" in out
    assert "You said: first line\nmodel> second line I am" in out  # one message, two lines
    assert "3 steps in session 'm1':" in out
    assert "new session 'chat-" in out and "(session 'm1' is kept)" in out
    assert "0 steps in session 'chat-" in out
    listing = cli("sessions", "list")
    assert "m1" in listing.stdout


def test_chat_store_flag_and_stateless_start(cli: CLI) -> None:
    store = cli.home / "elsewhere" / "chats.db"
    proc = cli(
        "chat",
        "--store",
        str(store),
        "--strategy",
        "stateless",
        "--model",
        "gemini-3.5-flash-lite",
        stdin="hello\n/strategy\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "strategy: stateless" in proc.stdout
    assert "model gemini-3.5-flash-lite" in proc.stderr
    assert store.is_file() and not (cli.home / "sessions.db").exists()


def test_chat_generation_options_reach_the_request(cli: CLI) -> None:
    proc = cli(
        "chat",
        "--session",
        "g1",
        "--temperature",
        "0.5",
        "--thinking-level",
        "low",
        "-o",
        "max_output_tokens=300",
        "-o",
        "seed=7",
        stdin="hello\n",
    )
    assert proc.returncode == 0, proc.stderr
    shown = cli("sessions", "show", "g1", "--json")
    import json

    data = json.loads(shown.stdout)
    config = data["settings"]["generation_config"]
    assert config["temperature"] == 0.5 and config["thinking_level"] == "low"
    assert config["max_output_tokens"] == 300 and config["seed"] == 7


def test_sessions_started_in_the_same_second_never_share_an_id(cli: CLI) -> None:
    """Two chats (or a /clear) in one second each get their own session: none is lost."""
    first = cli("chat", stdin="one\n/clear\ntwo\n/clear\n/clear\n/save\n")
    second = cli("chat", stdin="three\n")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "another window changed" not in first.stdout + first.stderr + second.stderr
    assert "was empty)" in first.stdout  # the /clear of an empty session keeps nothing
    assert "has no messages yet: nothing to save" in first.stdout
    listing = cli("sessions", "list").stdout
    assert "3 sessions" in listing
    for text in ("one", "two", "three"):
        assert f"3 steps  {text}" in listing


def test_a_script_whose_turns_fail_exits_1(cli: CLI) -> None:
    failed = cli("chat", "-o", "max_output_tokens=abc", stdin="hi\nagain\n")
    assert failed.returncode == 1 and "2 turns failed" in failed.stderr
    assert cli("chat", stdin="hi\n").returncode == 0


def test_a_piped_line_that_is_not_an_answer_is_the_next_message(cli: CLI) -> None:
    tools = _tools(cli.home)
    script = "Please delete the file notes.txt\nWhat is 2 plus 2?\n"
    proc = cli("chat", "--tools", str(tools), stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "not approved: 'What is 2 plus 2?' is not an answer" in out
    assert "  <- delete_file failed" in proc.stdout
    assert "You said: What is 2 plus 2?" in proc.stdout  # the line went on as a message
