"""``agentloop chat`` driven through a pipe: streaming, tools, commands, saved sessions."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import agentloop

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


def test_chat_commands_and_strategy_switch(tmp_path: Path) -> None:
    script = "\n".join([
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
    ]) + "\n"
    proc = agentloop("chat", "--session", "s1", "--system", "Be brief.", home=tmp_path,
                     stdin=script)
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
    assert (tmp_path / "sessions.db").is_file()


def test_chat_session_resumes_in_a_new_process(tmp_path: Path) -> None:
    first = agentloop("chat", "--session", "pets", home=tmp_path, stdin="I have 3 cats.\n")
    assert first.returncode == 0, first.stderr
    second = agentloop("chat", "--session", "pets", home=tmp_path,
                       stdin="How many paws are in my house?\n/history\n")
    assert second.returncode == 0, second.stderr
    assert "resumed session 'pets' (3 steps)" in second.stderr
    # The new process's emulator never saw the first turn: the chain is replayed locally.
    assert "replayed the full history" in second.stdout
    assert "12 paws" in second.stdout
    assert "6 steps in session 'pets':" in second.stdout


def test_chat_shows_tool_calls_and_asks_for_approval(tmp_path: Path) -> None:
    tools = tmp_path / "my_tools.py"
    tools.write_text(TOOLS)
    script = "What is the weather in Oslo?\nPlease delete the file notes.txt\ny\n/history\n"
    proc = agentloop("chat", "--tools", str(tools), home=tmp_path, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "tools: get_weather, delete_file." in proc.stderr  # helper_not_a_tool left out
    assert "  -> get_weather(city='Oslo')" in out
    assert '  <- get_weather returned {"city": "Oslo", "temperature": 21' in out
    # The demo model makes up the path from the words of the request.
    assert "(waiting for approval: delete_file(path=" in out
    assert "approve delete_file(path=" in out and "? [y/N]" in out
    assert "  <- delete_file returned deleted " in out
    assert out.index("approve delete_file") < out.index("<- delete_file returned")


def test_chat_rejected_approval_is_reported_to_the_model(tmp_path: Path) -> None:
    tools = tmp_path / "my_tools.py"
    tools.write_text(TOOLS)
    proc = agentloop("chat", "--tools", str(tools), home=tmp_path,
                     stdin="Please delete the file notes.txt\nno\n")
    assert proc.returncode == 0, proc.stderr
    assert "  <- delete_file failed" in proc.stdout
    assert "did not approve" in proc.stdout


def test_chat_store_flag_and_stateless_start(tmp_path: Path) -> None:
    store = tmp_path / "elsewhere" / "chats.db"
    proc = agentloop("chat", "--store", str(store), "--strategy", "stateless",
                     "--model", "gemini-3.5-flash-lite", home=tmp_path,
                     stdin="hello\n/strategy\n")
    assert proc.returncode == 0, proc.stderr
    assert "strategy: stateless" in proc.stdout
    assert "model gemini-3.5-flash-lite" in proc.stderr
    assert store.is_file() and not (tmp_path / "sessions.db").exists()
