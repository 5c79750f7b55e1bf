"""What the durable-task tests share: a deterministic multi-step model, tools that log every
start and end to a file, worker subprocesses, and a fresh PostgreSQL database per test run."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentloop import tool
from agentloop.testing import FunctionModel
from agentloop.tools import Tool

ROOT = Path(__file__).resolve().parents[2]
TASK = re.compile(r"task (\S+): make (\d+) (\w+) calls( at once)?")


def task_text(tag: str, calls: int, tool_name: str = "step", at_once: bool = False) -> str:
    return f"task {tag}: make {calls} {tool_name} calls" + (" at once" if at_once else "")


class TaskModel:
    """The model of every durable test: for ``task TAG: make N TOOL calls`` it calls TOOL once
    per request (``i`` = how many results it has seen), then answers; ``... calls at once``
    asks for all N calls in its first response. Every request it sees is logged as (tag,
    results seen), so repeated requests can be counted."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.model = FunctionModel(self)

    def __call__(self, request: Any) -> Any:
        m = TASK.search(request.last_user_text)
        if m is None:
            return "I only run test tasks."
        tag, calls, name, at_once = m.group(1), int(m.group(2)), m.group(3), bool(m.group(4))
        results = 0
        for step in reversed(request.history):
            if getattr(step, "type", None) == "user_input":
                break
            if getattr(step, "type", None) == "function_result":
                results += 1
        with self.lock:
            self.seen.append((tag, results))
        if at_once and results == 0 and calls:
            return [
                {"type": "function_call", "name": name, "arguments": {"i": i, "tag": tag}}
                for i in range(calls)
            ]
        if results < calls and not at_once:
            return [
                {"type": "function_call", "name": name, "arguments": {"i": results, "tag": tag}}
            ]
        return f"finished {calls} {name} calls for {tag}"

    def repeats(self) -> dict[tuple[str, int], int]:
        with self.lock:
            counts = collections.Counter(self.seen)
        return {key: n for key, n in counts.items() if n > 1}


TOOLS_PY = '''
"""Test tools: each logs "start"/"end" lines (tag, i, pid) to $AGENTLOOP_TEST_TOOL_LOG and
sleeps $AGENTLOOP_TEST_TOOL_DELAY seconds in between."""
import os, time
from agentloop import tool


def _log(kind, tag, i):
    with open(os.environ["AGENTLOOP_TEST_TOOL_LOG"], "a") as f:
        f.write(f"{kind} {tag} {i} {os.getpid()}\\n")


def _work(name, tag, i):
    _log("start", tag, i)
    time.sleep(float(os.environ.get("AGENTLOOP_TEST_TOOL_DELAY", "0")))
    _log("end", tag, i)
    return f"{name} {i} of {tag} done"


def _idempotent(fn):
    try:
        return tool(idempotent=True)(fn)
    except TypeError:  # before Tool.idempotent exists: the attribute is what workers read
        t = tool(fn)
        t.idempotent = True
        return t


@_idempotent
def step(i: int, tag: str) -> str:
    """A step that is safe to run again."""
    return _work("step", tag, i)


@tool
def charge(i: int, tag: str) -> str:
    """A step with a side effect that must not run twice."""
    return _work("charge", tag, i)
'''


def idempotent(fn: Callable[..., Any]) -> Tool[..., Any]:
    try:
        return tool(idempotent=True)(fn)  # type: ignore[call-arg,no-any-return]
    except TypeError:
        made = tool(fn)
        made.idempotent = True  # type: ignore[attr-defined]
        return made


def tool_log(path: Path) -> list[tuple[str, str, int, int]]:
    """(kind, tag, i, pid) lines of the tool log."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        kind, tag, i, pid = line.split()
        out.append((kind, tag, int(i), int(pid)))
    return out


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def cli_env(api_url: str, log: Path, delay: float = 0.0) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        GEMINI_API_KEY="durable-test-key",
        GEMINI_BASE_URL=api_url,
        AGENTLOOP_TEST_TOOL_LOG=str(log),
        AGENTLOOP_TEST_TOOL_DELAY=str(delay),
    )
    return env


def agentloop(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentloop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def worker(
    tools_py: Path,
    db: str,
    worker_id: str,
    env: dict[str, str],
    *extra: str,
) -> Iterator[subprocess.Popen[str]]:
    """An ``agentloop worker`` subprocess; SIGTERMed (then killed) on exit if still running."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentloop",
            "worker",
            "--tools",
            str(tools_py),
            "--db",
            db,
            "--worker-id",
            worker_id,
            "--poll-interval",
            "0.05",
            "--grace",
            "2",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@contextlib.contextmanager
def fresh_postgres(dsn: str) -> Iterator[str]:
    """A new, empty database on the server of ``dsn`` (dropped afterwards); its URL."""
    import psycopg

    name = f"agentloop_dbos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = dsn.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tasks_json(db: str, env: dict[str, str]) -> list[dict[str, Any]]:
    proc = agentloop("tasks", "--db", db, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data: list[dict[str, Any]] = json.loads(proc.stdout)
    return data
