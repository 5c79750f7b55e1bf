"""Bytes that are not UTF-8 piped into ``agentloop chat`` give a one-line error for that line;
the chat goes on with the rest of the input (it used to end with a traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import CLI

BYTES = b"hello\n\xff\xfe not utf-8\nsecond line\n"


def test_non_utf8_input_is_refused_line_by_line_in_process(cli: CLI) -> None:
    proc = cli("chat", "--session", "bytes", stdin=BYTES)
    assert proc.returncode == 1, proc.stderr  # a script learns one message failed
    assert "1 turn failed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "the input cannot be sent" in proc.stderr
    assert "Nothing was added to history" in proc.stderr
    assert "You said: hello" in proc.stdout and "You said: second line" in proc.stdout


@pytest.mark.slow
def test_non_utf8_input_is_refused_line_by_line(tmp_path: Path) -> None:
    """The same through a real pipe (in-process above)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GEMINI_BASE_URL")}
    env["AGENTLOOP_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "agentloop", "chat", "--session", "bytes"],
        input=BYTES,
        capture_output=True,
        env=env,
        timeout=60,
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert "the input cannot be sent" in err and "Nothing was added to history" in err
    assert "You said: hello" in out and "You said: second line" in out
