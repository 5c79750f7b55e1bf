"""``agentloop emulator`` is reachable through the main command and serves real HTTP."""

from __future__ import annotations

import queue
import re
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_helpers import CLI, offline_env

from agentloop import Client
from agentloop.errors import InvalidRequestError


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
        [sys.executable, "-m", "agentloop", "emulator", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=offline_env(tmp_path),
    )
    reader: threading.Thread | None = None
    try:
        line = _first_line(proc, timeout=30)
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        with Client(api_key="secret-key", base_url=match.group(0)) as client:
            interaction = client.interactions.create(model="gemini-3.5-flash", input="Hello")
            assert "(agentloop emulator)" in interaction.output_text
            with pytest.raises(InvalidRequestError, match="not found"):
                client.interactions.create(model="gemini-3.5-flsh", input="Hello")
        # --log-level info (the default) prints an access line per request.
        # The rest of stderr, read by a thread (the pipe is buffered past the first line).
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(x) for x in proc.stderr or []], daemon=True
        )
        reader.start()
        seen: list[str] = []
        while sum('"POST /v1beta/interactions" ' in x for x in seen) < 2:
            seen.append(lines.get(timeout=10))
        access = [x for x in seen if '"POST /v1beta/interactions" ' in x]
        assert '" 200 ' in access[0] and '" 400 ' in access[1], seen
        assert all("secret-key" not in x for x in seen)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if reader is not None:
            reader.join(10)  # it ends at the pipe's end, the process's exit
        if proc.stderr is not None:
            proc.stderr.close()


def test_emulator_subcommand_rejects_unknown_model(cli: CLI) -> None:
    # In-process: argument checking needs no server process (the test above is the real one).
    proc = cli("emulator", "--model", "gpt-9")
    assert proc.returncode == 2
    assert "invalid choice: 'gpt-9'" in proc.stderr and "Traceback" not in proc.stderr
