"""``agentloop run --session NAME`` journals the task; a killed run resumes with ``--resume``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentloop.testing import Emulator, FunctionModel

TOOLS = '''
import os
from pathlib import Path

from agentloop import tool


@tool
def step(n: int) -> str:
    """Do step n of the job (not safe to repeat).

    Args:
        n: The step number.
    """
    log = Path(os.environ["RUN_LOG"])
    with log.open("a") as handle:
        handle.write(f"start {n}\\n")
    if n == 2 and os.environ.get("DIE_AT_2"):
        os._exit(9)  # killed in the middle of the task
    with log.open("a") as handle:
        handle.write(f"done {n}\\n")
    return f"did {n}"
'''


def model(request: Any) -> list[dict[str, Any]]:
    done = sum(1 for s in request.history if getattr(s, "type", None) == "function_result")
    if done < 3:
        n = done + 1
        return [{"type": "function_call", "id": f"c{n}", "name": "step", "arguments": {"n": n}}]
    return [{"type": "model_output", "content": [{"type": "text", "text": "All 3 done."}]}]


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with Emulator(model=FunctionModel(model), api_keys={"run-key"}).serve() as url:
        yield url


def agentloop(tmp: Path, api: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "GEMINI_API_KEY": "run-key",
        "GEMINI_BASE_URL": api,
        "RUN_LOG": str(tmp / "log.txt"),
        "AGENTLOOP_HOME": str(tmp),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "agentloop", "run", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        cwd=tmp,
        stdin=subprocess.DEVNULL,  # nobody at a terminal to ask
    )


@pytest.mark.slow
def test_a_killed_run_resumes_without_rerunning_finished_steps(tmp_path: Path, api: str) -> None:
    (tmp_path / "job.py").write_text(TOOLS)
    store = str(tmp_path / "sessions.db")
    first = agentloop(
        tmp_path, api, "Do the job.", "--tools", "job.py", "--session", "job", "--store", store,
        DIE_AT_2="1",
    )  # fmt: skip
    assert first.returncode == 9, first.stderr
    nothing = agentloop(tmp_path, api, "--resume", "--tools", "job.py", "--store", store)
    assert nothing.returncode == 2 and "--resume needs --session" in nothing.stderr
    # Step 2 was in flight: nobody is here to decide whether to run it again, so the turn
    # stays paused (never "rejected by a human"), and says how to go on.
    paused = agentloop(
        tmp_path, api, "--session", "job", "--resume", "--tools", "job.py", "--store", store
    )
    assert paused.returncode == 1 and "the turn stays paused" in paused.stderr
    assert "step(n=2)" in paused.stderr and "rejected" not in paused.stderr
    second = agentloop(
        tmp_path, api, "--session", "job", "--resume", "--yes", "--tools", "job.py",
        "--store", store,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "All 3 done."
    assert "may have run already" in second.stderr
    log = (tmp_path / "log.txt").read_text().split("\n")
    # Step 1 finished before the kill: never again. Step 2 was in flight: approved, run again.
    assert log.count("done 1") == 1 and log.count("start 2") == 2 and log.count("done 3") == 1
    again = agentloop(
        tmp_path, api, "--session", "job", "--resume", "--tools", "job.py", "--store", store
    )
    assert again.returncode == 1 and "nothing to resume" in again.stderr
