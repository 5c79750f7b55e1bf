"""The terminal chat in a real terminal (tmux): line editing, Ctrl-C mid-turn, resume with tools.

``agentloop chat`` runs in a detached tmux session on a private socket; keys are sent with
``send-keys`` and the screen is read with ``capture-pane``. One test saves the screen as
docs/img/cli-chat.svg (rendered by rich from the captured ANSI text) for docs/cli.md.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import offline_env

from tests._services import unavailable

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

TOOLS = '''
import time
from pathlib import Path

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


@tool
def slow_report(topic: str) -> str:
    """Write a slow report about a topic.

    Args:
        topic: The topic.
    """
    release = Path(__file__).with_name("release")
    for _ in range(600):  # waits for the test, at most 30 s
        if release.exists():
            break
        time.sleep(0.05)
    return f"report on {topic}"
'''


class Terminal:
    """A tmux session running one command; keys in, screen text out."""

    def __init__(self, home: Path) -> None:
        if shutil.which("tmux") is None:
            unavailable("no tmux (apt-get install tmux)")
        self.socket = f"agentloop-test-{uuid.uuid4().hex[:8]}"
        self.home = home
        self.session = "chat"

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return proc.stdout

    def start(self, *argv: str) -> None:
        env = offline_env(self.home, PYTHONPATH=os.pathsep.join(sys.path))
        env.pop("NO_COLOR", None)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.isidentifier())
        command = (
            f"cd {shlex.quote(str(self.home))} && env -i {exports} TERM=xterm-256color "
            f"{shlex.quote(sys.executable)} -m agentloop {' '.join(map(shlex.quote, argv))}"
            "; echo '[exited]'; sleep 60"
        )
        self.tmux("new-session", "-d", "-s", self.session, "-x", "110", "-y", "40", command)

    def screen(self, ansi: bool = False) -> str:
        args = ["capture-pane", "-p", "-J", "-t", self.session]
        if ansi:
            args.insert(2, "-e")
        return self.tmux(*args)

    def wait_for(self, text: str, timeout: float = 20, after: int = 0) -> str:
        """Wait until ``text`` shows on screen (at or after character ``after``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen[after:]:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")

    def wait_match(self, pattern: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never showed; the screen:\n{self.screen()}")

    def wait_prompt(self, count: int) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count("you>") >= count:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"no prompt #{count}; the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    (tmp_path / "tools.py").write_text(TOOLS)
    terminal = Terminal(tmp_path)
    try:
        yield terminal
    finally:
        terminal.close()


def test_line_editing_and_input_history(term: Terminal) -> None:
    term.start("chat", "--session", "edit")
    term.wait_prompt(1)
    term.type("hello tmux")
    term.keys("Left", "Left", "Left", "Left", "BSpace")
    term.type("-")  # edit in the middle of the line: "hello-tmux"
    term.keys("Enter")
    term.wait_for("You said: hello-tmux")
    term.wait_prompt(2)
    term.keys("Up")  # recalls the last message, not "^[[A"
    screen = term.wait_for("you> hello-tmux", after=term.screen().rindex("You said"))
    assert "^[[A" not in screen
    term.keys("Enter")
    term.wait_prompt(3)
    assert term.screen().count("You said: hello-tmux") == 2
    term.type("/exit")
    term.keys("Enter")
    term.wait_for("[exited]")


def test_ctrl_c_cancels_the_turn_and_the_chat_goes_on(term: Terminal) -> None:
    term.start("chat", "--tools", "tools.py", "--session", "cancel")
    term.wait_prompt(1)
    term.type("Write a slow report about the moon")
    term.keys("Enter")
    term.wait_match(r"running slow_report… \d+\.\ds")  # a spinner with the elapsed time
    term.keys("C-c")
    term.wait_for("turn cancelled")
    # The call was running: it is in doubt, never "not run" (issue 20).
    term.wait_for("whether it finished is unknown")
    (term.home / "release").touch()
    term.wait_prompt(2)
    term.type("What is the weather in Oslo?")
    term.keys("Enter")
    term.wait_for('get_weather returned {"city": "Oslo"')
    term.wait_prompt(3)
    term.type("/history")
    term.keys("Enter")
    term.wait_for("steps in session 'cancel'")
    # The call in doubt was answered by the next message: history is valid.
    term.wait_for("function_result")
    term.wait_prompt(4)
    term.keys("C-c")
    term.wait_for("Ctrl-C again")
    term.wait_prompt(5)
    term.keys("C-c")
    try:
        term.wait_for("[exited]", timeout=5)
    except AssertionError:  # the key came as the prompt was drawn, before it read keys
        assert term.screen().count("Ctrl-C again") == 1  # not taken as a first Ctrl-C again
        term.keys("C-c")
        term.wait_for("[exited]")


def test_resume_remembers_the_tools_and_saves_a_screenshot(term: Terminal) -> None:
    term.start(
        "chat", "--tools", "tools.py", "--session", "trip", "--model", "gemini-3.5-flash-lite"
    )
    term.wait_prompt(1)
    term.type("I have 2 dogs in my house.")
    term.keys("Enter")
    term.wait_prompt(2)
    term.keys("C-d")
    term.wait_for("[exited]")
    term.close()

    again = Terminal(term.home)
    try:
        again.start("chat", "-c")  # no --tools: the session remembers them
        again.wait_for("resumed session 'trip'")
        again.wait_for("model gemini-3.5-flash-lite")
        again.wait_prompt(1)
        again.type("What is the weather in Lisbon and Paris?")
        again.keys("Enter")
        again.wait_for("← get_weather returned")
        again.wait_prompt(2)
        again.type("How many paws are in my house?")
        again.keys("Enter")
        again.wait_for("8 paws")
        again.wait_prompt(3)
        _save_svg(again.screen(ansi=True), ROOT / "docs" / "img" / "cli-chat.svg")
    finally:
        again.close()


def _save_svg(ansi: str, path: Path) -> None:
    from rich.console import Console
    from rich.text import Text

    with open(os.devnull, "w") as sink:
        console = Console(record=True, width=110, force_terminal=True, file=sink)
        console.print(Text.from_ansi(ansi.rstrip() + "\n"))
    path.parent.mkdir(parents=True, exist_ok=True)
    console.save_svg(str(path), title="agentloop chat")
    assert path.stat().st_size > 2000


def test_run_asks_for_approval_on_a_terminal(term: Terminal) -> None:
    term.start("run", "Please delete the file notes.txt", "--tools", "tools.py")
    term.wait_for("allow delete_file(path=")
    term.type("y")
    term.keys("Enter")
    screen = term.wait_for("[exited]")
    assert "delete_file returned deleted" in screen
    assert "completed: 2 model requests, 1 tool call" in screen
