"""Run the ``agentloop`` command in-process (``run_cli``) or, for smoke tests, in a subprocess.

In-process runs call ``agentloop.cli.main(argv)`` with stdin from a string and stdout/stderr
captured; the environment is offline (no API key) with a private ``AGENTLOOP_HOME`` and config
directory, so nothing of the user's leaks in.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentloop.cli import main

SECRET_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class CLI:
    """``cli("chat", "--session", "s1", stdin="hi\\n")`` -> ``Result``."""

    def __init__(
        self, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.home = home
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        monkeypatch.setenv("AGENTLOOP_HOME", str(home))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
        monkeypatch.delenv("AGENTLOOP_CONFIG", raising=False)
        monkeypatch.delenv("NO_COLOR", raising=False)
        for name in SECRET_VARS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.chdir(home)

    def __call__(self, *argv: str, stdin: str | bytes = "") -> Result:
        """Bytes are decoded as Python decodes a piped stdin under a C or UTF-8 locale (UTF-8,
        undecodable bytes kept as lone surrogates)."""
        self.capsys.readouterr()  # drop anything printed before
        text = (
            io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="surrogateescape")
            if isinstance(stdin, bytes)
            else io.StringIO(stdin)
        )
        self.monkeypatch.setattr(sys, "stdin", text)
        try:
            code = main(list(argv))
        except SystemExit as exc:  # the emulator's own argparse exits
            code = int(exc.code) if isinstance(exc.code, int) else 2
        finally:
            logger = logging.getLogger("agentloop")
            for handler in [h for h in logger.handlers if getattr(h, "_agentloop_cli", False)]:
                logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
        out, err = self.capsys.readouterr()
        return Result(code, out, err)


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env["AGENTLOOP_HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def agentloop(
    *args: str,
    home: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python -m agentloop ARGS`` in a subprocess (smoke tests: one per command)."""
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env or offline_env(home),
        cwd=cwd or home,
        timeout=timeout,
    )
