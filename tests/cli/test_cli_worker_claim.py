"""Two live workers with one id are noticed: the id is held (a file lock next to a SQLite task
database, a PostgreSQL advisory lock) while its worker runs, and a second claim warns."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _services import postgres_dsn
from cli_helpers import offline_env

from agentloop.cli._claim import claim_worker_id


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
    (tmp_path / "tools.py").write_text("def ping() -> str:\n    return 'pong'\n")
    env = offline_env(tmp_path)
    db = str(tmp_path / "tasks.sqlite")
    first = _worker(tmp_path, db, env)
    try:
        assert "taking tasks" in _stderr_line(first, "taking tasks")
        second = _worker(tmp_path, db, env)
        try:
            line = _stderr_line(second, "warning")
            assert "another live worker already runs with id 'same'" in line
        finally:
            _stop(second)
    finally:
        _stop(first)
    assert "warning" not in (first.stderr.read() if first.stderr else "")


def _worker(home: Path, db: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "agentloop", "worker", "--tools", "tools.py", "--db", db,
         "--worker-id", "same", "--grace", "0", "--offline"],
        cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _stderr_line(proc: subprocess.Popen[str], wanted: str) -> str:
    assert proc.stderr is not None
    for line in proc.stderr:  # ends when the process does
        if wanted in line:
            return line
    raise AssertionError(f"the worker ended without printing {wanted!r}")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
