"""``agentloop run/chat --mcp "COMMAND ARGS"`` and ``--mcp-url``."""

from __future__ import annotations

import json
import shlex
import sys

import pytest
from mcp_helpers import SERVER

from agentloop.cli import main


@pytest.mark.slow
def test_run_with_an_mcp_server_calls_its_tools(capsys: pytest.CaptureFixture[str]) -> None:
    """A real server process (slow); covered by test_run_with_an_mcp_url (the same wiring)
    and test_stdio.py (a stdio toolset)."""
    command = shlex.join([sys.executable, SERVER])
    code = main(["run", "--offline", "--json", "--mcp", command, "add the integers 2 and 3"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "tools: add, describe, refuse" in err
    turn = json.loads(out)
    calls = turn["tool_calls"]
    assert calls and calls[0]["name"] == "add"


def test_run_with_an_mcp_url(http_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--offline", "--mcp-url", http_url, "add the integers 2 and 3"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "tools: add, describe" in err


def test_a_server_that_does_not_start_fails_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["run", "--offline", "--mcp", "agentloop-no-such-server --x", "do it"])
    err = capsys.readouterr().err
    assert code == 1
    assert "MCPServerError" in err and "agentloop-no-such-server" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--mcp", ""], "--mcp needs a command"),
        (["--mcp", "'unclosed"], "cannot be split"),
        (["--mcp-url", "ftp://x"], "not an http"),
    ],
)
def test_bad_mcp_flags_are_usage_errors(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--offline", *flags, "task"]) == 2
    assert message in capsys.readouterr().err
