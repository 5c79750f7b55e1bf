"""Two live workers with one id are noticed: the id is held (a file lock next to a SQLite task
database, a PostgreSQL advisory lock) while its worker runs, and a second claim warns."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from _services import postgres_dsn

from agentloop.cli._claim import claim_worker_id

from .durable_helpers import worker


def test_a_second_claim_of_a_live_id_fails_on_sqlite(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "tasks.sqlite")
    held, release = claim_worker_id(url, "web-1")
    assert held
    again, _ = claim_worker_id(url, "web-1")
    assert not again
    other, release_other = claim_worker_id(url, "web-2")
    assert other  # another id is free
    release()
    after, release_after = claim_worker_id(url, "web-1")  # a stopped worker frees its id
    assert after
    release_after()
    release_other()


def test_a_second_claim_of_a_live_id_fails_on_postgres() -> None:
    dsn = postgres_dsn()
    held, release = claim_worker_id(dsn, "pg-worker-1")
    try:
        assert held
        assert not claim_worker_id(dsn, "pg-worker-1")[0]
    finally:
        release()
    held, release = claim_worker_id(dsn, "pg-worker-1")
    assert held
    release()


@pytest.mark.slow  # two real worker processes
def test_two_live_workers_with_one_id_the_second_warns(tmp_path: Path) -> None:
    pytest.importorskip("dbos")
    tools_py = tmp_path / "tools.py"
    tools_py.write_text("def ping() -> str:\n    return 'pong'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    db = str(tmp_path / "tasks.sqlite")
    with worker(tools_py, db, "same", env, "--offline") as first:
        assert "taking tasks" in _stderr_line(first, "taking tasks")
        with worker(tools_py, db, "same", env, "--offline") as second:
            line = _stderr_line(second, "warning")
            assert "another live worker already runs with id 'same'" in line
    with worker(tools_py, db, "same", env, "--offline") as again:  # both stopped: id free
        assert "warning" not in _stderr_line(again, "taking tasks")


def _stderr_line(proc: subprocess.Popen[str], wanted: str) -> str:
    assert proc.stderr is not None
    for line in proc.stderr:  # ends when the process does
        if wanted in line:
            return line
    raise AssertionError(f"the worker ended without printing {wanted!r}")


def test_the_default_worker_id_is_public_and_the_host_name() -> None:
    import socket

    from agentloop.durable import default_worker_id

    assert default_worker_id() == (socket.gethostname() or "agentloop-worker")


@pytest.mark.parametrize(
    ("status", "finished"),
    [
        ("queued", False),
        ("running", False),
        ("awaiting_approval", False),
        ("completed", True),
        ("failed", True),
        ("cancelled", True),
    ],
)
def test_task_info_says_whether_the_task_has_finished(status: str, finished: bool) -> None:
    from agentloop.durable import TaskInfo

    assert TaskInfo(id="t", status=status).finished is finished
