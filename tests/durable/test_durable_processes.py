"""Kill and recover real ``agentloop worker`` processes (SIGKILL) on SQLite and PostgreSQL.

The model is the emulator on a loopback port (shared by every process; it logs each request
it answers); the tools log every start and end to a file. So "completed requests and tool
calls were not repeated" is counted where they happen, not inferred from the task database.
"""

from __future__ import annotations

import collections
import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _lazy import require
from _services import postgres_dsn

from agentloop.durable import TaskQueue
from agentloop.testing import Emulator

from .durable_helpers import (
    TOOLS_PY,
    TaskModel,
    agentloop,
    cli_env,
    fresh_postgres,
    kill,
    task_text,
    tasks_json,
    tool_log,
    wait_for,
    worker,
)

require("dbos")  # dbos itself loads in the worker that runs these tests

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield str(tmp_path / "tasks.sqlite")
    else:
        with fresh_postgres(postgres_dsn()) as url:
            yield url


def started(log: Path, tag: str, i: int) -> bool:
    return any(k == "start" and t == tag and n == i for k, t, n, _ in tool_log(log))


def counts(log: Path, kind: str) -> collections.Counter[tuple[str, int]]:
    return collections.Counter((t, n) for k, t, n, _ in tool_log(log) if k == kind)


def creates(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests if r.method == "POST")


def task_row(db: str, env: dict[str, str], task_id: str) -> dict[str, Any]:
    return {row["id"]: row for row in tasks_json(db, env)}[task_id]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_killed_worker_restarted_with_its_id_finishes_without_repeating_work(
    kind: str, tmp_path: Path
) -> None:
    model = TaskModel()
    emulator = Emulator(model.model)
    tools_py = tmp_path / "tools.py"
    tools_py.write_text(TOOLS_PY)
    log = tmp_path / "tools.log"
    with emulator.serve() as api, database(kind, tmp_path) as db:
        slow_env = cli_env(api, log, delay=1.5)
        done = agentloop("submit", task_text("t1", 3), "--db", db, "--id", "t1", env=slow_env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "t1"
        with worker(tools_py, db, "w1", slow_env) as first:
            wait_for(lambda: started(log, "t1", 1), 60, "the second tool call")
            kill(first)  # SIGKILL while the tool call i=1 runs
        assert task_row(db, slow_env, "t1")["status"] == "running"
        assert creates(emulator) == 2

        env = cli_env(api, log, delay=0.0)
        with worker(tools_py, db, "w1", env):
            # Submitting the same id again is idempotent: it waits for the same task.
            out = agentloop(
                "submit",
                task_text("t1", 3),
                "--db",
                db,
                "--id",
                "t1",
                "--wait",
                "--json",
                env=env,
            )
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["status"] == "completed"
        assert result["output_text"] == "finished 3 step calls for t1"
        assert [c["arguments"]["i"] for c in result["tool_calls"]] == [0, 1, 2]
    # Every model request was sent once: 3 tool rounds and the answer.
    assert sorted(model.seen) == [("t1", 0), ("t1", 1), ("t1", 2), ("t1", 3)]
    assert creates(emulator) == 4
    # Completed tool calls ran once; the idempotent call in flight at the kill ran again.
    assert counts(log, "end") == {("t1", 0): 1, ("t1", 1): 1, ("t1", 2): 1}
    assert counts(log, "start") == {("t1", 0): 1, ("t1", 1): 2, ("t1", 2): 1}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_non_idempotent_call_in_flight_at_the_kill_waits_for_approval(
    kind: str, tmp_path: Path
) -> None:
    model = TaskModel()
    emulator = Emulator(model.model)
    tools_py = tmp_path / "tools.py"
    tools_py.write_text(TOOLS_PY)
    log = tmp_path / "tools.log"
    with emulator.serve() as api, database(kind, tmp_path) as db:
        slow_env = cli_env(api, log, delay=1.5)
        text = task_text("c1", 2, "charge")
        assert agentloop("submit", text, "--db", db, "--id", "c1", env=slow_env).returncode == 0
        with worker(tools_py, db, "w1", slow_env) as first:
            wait_for(lambda: started(log, "c1", 1), 60, "the second charge")
            kill(first)

        env = cli_env(api, log, delay=0.0)
        with worker(tools_py, db, "w1", env), TaskQueue(db) as queue:
            wait_for(
                lambda: queue.info("c1").status == "awaiting_approval", 60, "awaiting_approval"
            )
            row = task_row(db, env, "c1")  # as `agentloop tasks --json` shows it
            assert row["status"] == "awaiting_approval"
            (waiting,) = row["progress"]["awaiting"]
            assert waiting["name"] == "charge"
            assert waiting["arguments"] == {"i": 1, "tag": "c1"}
            assert counts(log, "start")[("c1", 1)] == 1  # not run again on its own
            shown = agentloop("tasks", "show", "c1", "--db", db, env=env)
            assert shown.returncode == 0, shown.stderr
            assert f"agentloop tasks approve c1 {waiting['id']}" in shown.stdout

            approved = agentloop("tasks", "approve", "c1", waiting["id"], "--db", db, env=env)
            assert approved.returncode == 0, approved.stderr
            out = agentloop("submit", text, "--db", db, "--id", "c1", "--wait", "--json", env=env)
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["status"] == "completed"
        assert result["output_text"] == "finished 2 charge calls for c1"
    assert sorted(model.seen) == [("c1", 0), ("c1", 1), ("c1", 2)]
    assert counts(log, "start") == {("c1", 0): 1, ("c1", 1): 2}  # run again once approved
    assert counts(log, "end") == {("c1", 0): 1, ("c1", 1): 1}


def test_two_workers_on_postgres_a_killed_one_is_taken_over_with_recover_from(
    tmp_path: Path,
) -> None:
    model = TaskModel()
    emulator = Emulator(model.model)
    tools_py = tmp_path / "tools.py"
    tools_py.write_text(TOOLS_PY)
    log = tmp_path / "tools.log"
    tags = [f"p{k:02d}" for k in range(20)]
    with emulator.serve() as api, fresh_postgres(postgres_dsn()) as db, TaskQueue(db) as queue:
        env = cli_env(api, log, delay=0.15)
        with (
            worker(tools_py, db, "wa", env, "-c", "3") as a,
            worker(tools_py, db, "wb", env, "-c", "3"),
        ):
            for tag in tags:  # from this process: 20 CLI start-ups would dwarf the run
                queue.submit(task_text(tag, 3), id=tag)

            def a_mid_task() -> bool:
                pids = {pid for *_, pid in tool_log(log)}
                done = sum(1 for t in queue.tasks() if t.status == "completed")
                return len(pids) >= 2 and done >= 4 and len(unfinished_by(log, a.pid)) > 0

            wait_for(a_mid_task, 120, "both workers busy and worker wa mid-tool")
            kill(a)
            a_open = unfinished_by(log, a.pid)
            orphaned = [t.id for t in queue.tasks() if t.worker == "wa" and t.status == "running"]
            assert orphaned  # wa died with tasks in hand
            with worker(tools_py, db, "wc", env, "--recover-from", "wa"):
                wait_for(
                    lambda: all(t.status == "completed" for t in queue.tasks()),
                    120,
                    "all 20 tasks completed",
                )
                final = tasks_json(db, env)  # the CLI's view of the same tasks
    by_id = {r["id"]: r for r in final}
    assert sorted(by_id) == tags  # 20 tasks, each exactly one
    for tag in tags:
        assert by_id[tag]["output_text"] == f"finished 3 step calls for {tag}"
    for tag in orphaned:
        assert by_id[tag]["worker"] in ("wb", "wc")
    # Each task's model requests: one per round; a request could only be sent twice if it was
    # in flight on wa at the kill (wa ran at most 3 tasks at once).
    repeats = model.repeats()
    assert set(t for t, _ in repeats) <= set(orphaned)
    assert sum(n - 1 for n in repeats.values()) <= 3
    assert {(t, n) for t, n in model.seen} == {(t, n) for t in tags for n in range(4)}
    # Tool calls: every call ended once, except a call wa was running at the kill, which ran
    # again (the tools are idempotent); nothing that had ended ran again.
    ends = counts(log, "end")
    assert set(ends) == {(t, i) for t in tags for i in range(3)}
    twice = {key for key, n in ends.items() if n > 1}
    assert twice <= a_open_or_just_ended(a_open, log, a.pid)
    assert all(n <= 2 for n in ends.values())


def unfinished_by(log: Path, pid: int) -> set[tuple[str, int]]:
    open_calls: set[tuple[str, int]] = set()
    for kind, tag, i, who in tool_log(log):
        if who != pid:
            continue
        if kind == "start":
            open_calls.add((tag, i))
        else:
            open_calls.discard((tag, i))
    return open_calls


def a_open_or_just_ended(a_open: set[tuple[str, int]], log: Path, pid: int) -> set[tuple[str, int]]:
    """The calls wa had started and not recorded at the kill: those it had not ended, plus its
    last ended calls (a call can end in the tool a moment before DBOS records it)."""
    ended = [(t, i) for kind, t, i, who in tool_log(log) if who == pid and kind == "end"]
    return set(a_open) | set(ended[-3:])


def test_sigterm_lets_the_running_call_finish_and_leaves_nothing_in_doubt(
    tmp_path: Path,
) -> None:
    model = TaskModel()
    emulator = Emulator(model.model)
    tools_py = tmp_path / "tools.py"
    tools_py.write_text(TOOLS_PY)
    log = tmp_path / "tools.log"
    db = str(tmp_path / "tasks.sqlite")
    with emulator.serve() as api, TaskQueue(db) as queue:
        slow_env = cli_env(api, log, delay=1.5)
        queue.submit(task_text("g1", 2, "charge"), id="g1")
        with worker(tools_py, db, "w1", slow_env, "--grace", "20") as first:
            wait_for(lambda: started(log, "g1", 0), 60, "the first charge")
            first.send_signal(signal.SIGTERM)  # mid-call: it may finish, then the task parks
            assert first.wait(timeout=60) == 0
            assert first.stderr is not None
            assert "stopped" in first.stderr.read()
        assert counts(log, "end") == {("g1", 0): 1}  # the call in flight finished
        assert queue.info("g1").status == "running"  # pending, left to recovery

        with worker(tools_py, db, "w1", cli_env(api, log, delay=0.0)):
            result = queue.task("g1").result(timeout=60)
        assert result.output_text == "finished 2 charge calls for g1"
    # Not in doubt: the non-idempotent call had finished and was recorded before the stop.
    assert counts(log, "start") == {("g1", 0): 1, ("g1", 1): 1}
    assert sorted(model.seen) == [("g1", 0), ("g1", 1), ("g1", 2)]
