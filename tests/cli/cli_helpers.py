"""Run ``python -m agentloop`` in a subprocess, offline, with a private session store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SECRET_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL")


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env["AGENTLOOP_HOME"] = str(home)
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
