"""``agentloop emulator`` is reachable through the main command and serves real HTTP."""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import offline_env

from agentloop import Client


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.1):
            return proc.stderr.readline()
    raise AssertionError("agentloop emulator printed nothing")


def test_emulator_subcommand_serves_the_api(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentloop", "emulator", "--port", "0", "--log-level", "warning"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=offline_env(tmp_path),
    )
    try:
        line = _first_line(proc, timeout=30)
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        with Client(api_key="any-key", base_url=match.group(0)) as client:
            interaction = client.interactions.create(model="gemini-3.5-flash", input="Hello")
        assert "(agentloop emulator)" in interaction.output_text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_emulator_subcommand_rejects_unknown_model(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentloop", "emulator", "--model", "gpt-9"],
        capture_output=True, text=True, timeout=60, env=offline_env(tmp_path),
    )
    assert proc.returncode == 2
    assert "invalid choice: 'gpt-9'" in proc.stderr and "Traceback" not in proc.stderr
