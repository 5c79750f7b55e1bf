"""Durable tasks (``agentloop.durable`` on DBOS): the cost of a checkpointed tool step, and
task throughput with one and two worker processes on PostgreSQL.

* Tool step: a task whose first response asks for N tool calls. The durable cost of a task is
  measured inside its workflow (first to last recorded DBOS step, so queue latency is out);
  the plain cost is ``Conversation.send`` of the same turn. Per tool step:
  ``(T(N) - T(0)) / N`` for each, overhead = durable - plain. SQLite (a file) and PostgreSQL
  (loopback) are measured; target <= 3 ms per step on PostgreSQL.
* Throughput: 100 one-request tasks submitted at once to 1, then 2 ``agentloop worker``
  processes (4 tasks at a time each) on PostgreSQL, against a loopback emulator.

PostgreSQL comes from ``AGENTLOOP_TEST_POSTGRES_DSN`` (a fresh database is created and
dropped); without it those rows are skipped. ``--quick`` keeps only the SQLite step row.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _harness import Row, us

ROOT = Path(__file__).resolve().parents[1]
PG_ENV = "AGENTLOOP_TEST_POSTGRES_DSN"


def _model(request: Any) -> Any:
    text = request.last_user_text
    n = int(text.split()[1]) if text.startswith("calls ") else 0
    if any(getattr(s, "type", None) == "function_result" for s in request.history[-n - 1 :]):
        return "done"
    if n == 0:
        return "done"
    return [{"type": "function_call", "name": "noop", "arguments": {"i": i}} for i in range(n)]


def noop(i: int) -> int:
    """Does nothing."""
    return i


@contextlib.contextmanager
def _postgres() -> Iterator[str | None]:
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        yield None
        return
    import psycopg

    name = f"agentloop_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{dsn.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _task_seconds(queue: Any, task_id: str) -> float:
    steps = queue._client().list_workflow_steps(task_id)
    return (steps[-1]["completed_at_epoch_ms"] - steps[0]["started_at_epoch_ms"]) / 1000


def _idempotent(fn: Any) -> Any:
    from agentloop import tool

    try:
        return tool(idempotent=True)(fn)
    except TypeError:  # before Tool.idempotent exists: the attribute is what workers read
        made = tool(fn)
        made.idempotent = True
        return made


def _step_cost(db: str, n: int, rounds: int, idempotent: bool = False) -> tuple[float, float]:
    """(durable, plain) seconds per tool step."""
    from agentloop import Conversation, tool
    from agentloop.durable import TaskQueue
    from agentloop.testing import Emulator, FunctionModel

    emulator = Emulator(FunctionModel(_model))
    tools = [_idempotent(noop) if idempotent else tool(noop)]
    durable: dict[int, list[float]] = {0: [], n: []}
    plain: dict[int, list[float]] = {0: [], n: []}
    with TaskQueue(db, tools=tools, client=emulator.client(), poll_interval=0.02) as queue:
        queue.start_worker(worker_id=f"bench-{uuid.uuid4().hex[:6]}")
        queue.submit("calls 0").result(timeout=60)  # warm up
        for _ in range(rounds):
            for k in (0, n):  # interleaved
                handle = queue.submit(f"calls {k}")
                handle.result(timeout=120)
                durable[k].append(_task_seconds(queue, handle.id))
                conv = Conversation(emulator.client(), tools=tools)
                t0 = time.perf_counter()
                conv.send(f"calls {k}")
                plain[k].append(time.perf_counter() - t0)
    med = statistics.median
    return (med(durable[n]) - med(durable[0])) / n, (med(plain[n]) - med(plain[0])) / n


def step_rows(quick: bool) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d, p = _step_cost(str(Path(tmp) / "bench.sqlite"), 10 if quick else 20, 2 if quick else 5)
    rows.append(
        Row(
            "durable tool step, SQLite file (overhead over a plain step)",
            us(d - p),
            peer=f"durable {us(d)} vs plain {us(p)}",
            note="a tool that is not idempotent: 'started' step + result step",
            values={"durable_s": d, "plain_s": p},
        )
    )
    if quick:
        return rows
    with _postgres() as url:
        if url is None:
            rows.append(Row("durable tool step, PostgreSQL", "", note=f"skipped: no {PG_ENV}"))
            return rows
        d, p = _step_cost(url, 20, 5)
        di, pi = _step_cost(url, 20, 5, idempotent=True)
    rows.append(
        Row(
            "durable tool step, PostgreSQL loopback (overhead over a plain step)",
            us(d - p),
            peer=f"durable {us(d)} vs plain {us(p)}",
            target="<= 3 ms",
            ok=(d - p) <= 3e-3,
            note="a tool that is not idempotent: 'started' step + result step",
            values={"durable_s": d, "plain_s": p},
        )
    )
    rows.append(
        Row(
            "durable step of an idempotent tool, PostgreSQL loopback (overhead)",
            us(di - pi),
            peer=f"durable {us(di)} vs plain {us(pi)}",
            target="<= 3 ms",
            ok=(di - pi) <= 3e-3,
            note="@tool(idempotent=True): the result step only",
            values={"durable_s": di, "plain_s": pi},
        )
    )
    return rows


TOOLS_PY = '''
from agentloop import tool


@tool
def noop(i: int) -> int:
    """Does nothing."""
    return i
'''


def _throughput(url: str, api: str, workers: int, tasks: int, tmp: Path) -> float:
    """Tasks per second for ``tasks`` one-request tasks on ``workers`` worker processes."""
    from agentloop.durable import TaskQueue

    tools_py = tmp / "bench_tools.py"
    tools_py.write_text(TOOLS_PY)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        GEMINI_API_KEY="bench",
        GEMINI_BASE_URL=api,
    )
    procs = []
    with TaskQueue(url) as queue:
        try:
            for k in range(workers):
                cmd = [sys.executable, "-m", "agentloop", "worker", "--tools", str(tools_py)]
                cmd += ["--db", url, "--worker-id", f"bench-{k}", "-c", "4"]
                cmd += ["--poll-interval", "0.05"]
                proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
                procs.append(proc)
                assert proc.stderr is not None
                while "taking tasks" not in proc.stderr.readline():
                    if proc.poll() is not None:
                        raise RuntimeError("a benchmark worker did not start")
            tag = uuid.uuid4().hex[:6]
            t0 = time.perf_counter()
            ids = [queue.submit("calls 0", id=f"{tag}-{i}").id for i in range(tasks)]
            while True:
                rows = queue._client().list_workflows(
                    workflow_ids=ids, status="SUCCESS", load_input=False, load_output=False
                )
                if len(rows) == tasks:
                    break
                time.sleep(0.05)
            return tasks / (time.perf_counter() - t0)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


def throughput_rows(quick: bool) -> list[Row]:
    if quick:
        return []
    from agentloop.testing import Emulator, FunctionModel

    with _postgres() as url:
        if url is None:
            return [Row("durable throughput, PostgreSQL", "", note=f"skipped: no {PG_ENV}")]
        with (
            Emulator(FunctionModel(_model)).serve() as api,
            tempfile.TemporaryDirectory() as tmp,
        ):
            one = _throughput(url, api, 1, 100, Path(tmp))
            two = _throughput(url, api, 2, 100, Path(tmp))
    return [
        Row(
            "durable throughput, 100 one-request tasks, PostgreSQL",
            f"1 worker {one:.1f}/s",
            peer=f"2 workers {two:.1f}/s",
            ratio=f"{two / one:.2f}x",
            target="2 workers > 1",
            ok=two > one,
            note="4 tasks at a time per worker process",
            values={"one_per_s": one, "two_per_s": two},
        )
    ]


def run(quick: bool) -> list[Row]:
    return [*step_rows(quick), *throughput_rows(quick)]
