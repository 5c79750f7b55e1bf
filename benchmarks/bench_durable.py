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
    """``calls N``: N calls in the first response, then the answer; ``rounds N``: one call per
    response, N times, then the answer."""
    kind, _, count = request.last_user_text.partition(" ")
    n = int(count or 0)
    results = 0
    for step in reversed(request.history):
        if getattr(step, "type", None) == "user_input":
            break
        results += getattr(step, "type", None) == "function_result"
    if kind == "calls":
        if results or not n:
            return "done"
        return [{"type": "function_call", "name": "noop", "arguments": {"i": i}} for i in range(n)]
    if results >= n:
        return "done"
    return [{"type": "function_call", "name": "noop", "arguments": {"i": results}}]


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


_bare_workflow: Any = None


def _register_bare() -> None:
    """A workflow of ``n`` bare DBOS steps (each returns its index), registered before the
    worker launches DBOS: what a checkpointed step costs with no agentloop around it."""
    global _bare_workflow
    if _bare_workflow is not None:
        return
    from dbos import DBOS

    def bare(n: int) -> int:
        for i in range(n):
            DBOS.run_step({"name": "bare"}, lambda i=i: i)
        return n

    _bare_workflow = DBOS.workflow(name="agentloop_bench_bare_steps")(bare)


def _bare_seconds(queue: Any, n: int) -> float:
    from dbos import DBOS

    handle = DBOS.start_workflow(_bare_workflow, n)
    handle.get_result()
    return _task_seconds(queue, handle.workflow_id)


def _step_cost(
    db: str,
    n: int,
    rounds: int,
    idempotent: bool = False,
    kind: str = "rounds",
    bare: list[float] | None = None,
) -> tuple[float, float]:
    """(durable, plain) seconds per tool round (``rounds``: a request and one call) or per
    call of a batch (``calls``); ``bare`` gets the seconds per bare DBOS step, measured
    interleaved in the same worker."""
    from agentloop import Conversation, tool
    from agentloop.durable import TaskQueue
    from agentloop.testing import Emulator, FunctionModel

    emulator = Emulator(FunctionModel(_model))
    tools = [_idempotent(noop) if idempotent else tool(noop)]
    durable: dict[int, list[float]] = {0: [], n: []}
    plain: dict[int, list[float]] = {0: [], n: []}
    if bare is not None:
        _register_bare()
    with TaskQueue(db, tools=tools, client=emulator.client(), poll_interval=0.02) as queue:
        queue.start_worker(worker_id=f"bench-{uuid.uuid4().hex[:6]}")
        queue.submit(f"{kind} 0").result(timeout=60)  # warm up
        for _ in range(rounds):
            if bare is not None:
                bare.append(_bare_seconds(queue, n) / n)
            for k in (0, n):  # interleaved
                handle = queue.submit(f"{kind} {k}")
                handle.result(timeout=120)
                durable[k].append(_task_seconds(queue, handle.id))
                conv = Conversation(emulator.client(), tools=tools)
                t0 = time.perf_counter()
                conv.send(f"{kind} {k}")
                plain[k].append(time.perf_counter() - t0)
    med = statistics.median
    return (med(durable[n]) - med(durable[0])) / n, (med(plain[n]) - med(plain[0])) / n


def _row(figure: str, d: float, p: float, note: str, target: bool) -> Row:
    return Row(
        figure,
        us(d - p),
        peer=f"durable {us(d)} vs plain {us(p)}",
        target="<= 3 ms" if target else "",
        ok=(d - p) <= 3e-3 if target else None,
        note=note,
        values={"durable_s": d, "plain_s": p},
    )


def _vs_bare(where: str, durable: float, bare: float) -> Row:
    ratio = durable / bare
    return Row(
        f"durable tool call step vs a bare DBOS step, {where}",
        us(durable),
        peer=f"bare DBOS step {us(bare)}",
        ratio=f"{ratio:.2f}x",
        target="≤ 1.5x a bare DBOS step",
        ok=ratio <= 1.5,
        note="per call of 10 @tool(idempotent=True) calls in one response (the whole durable "
        "turn's cost per call, measured inside the workflow) against a workflow of bare "
        "DBOS.run_step calls, interleaved in the same worker",
        values={"durable_s": durable, "bare_s": bare, "ratio": ratio},
    )


ROUND = "a tool round: request step + 'started' + result step + progress/stream events"
BATCH = "per call of 20 calls in one response (they run concurrently)"
IDEMPOTENT = "per call of 20 in one response, @tool(idempotent=True): no 'started' step"


def step_rows(quick: bool) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.sqlite")
        d, p = _step_cost(db, 5 if quick else 10, 2 if quick else 5)
        rows.append(_row("durable tool round, SQLite file (overhead)", d, p, ROUND, False))
        bare: list[float] = []
        d, p = _step_cost(db, 10, 2 if quick else 5, idempotent=True, kind="calls", bare=bare)
        rows.append(_vs_bare("SQLite file", d, statistics.median(bare)))
        if not quick:
            d, p = _step_cost(db, 20, 5, kind="calls")
            rows.append(_row("durable tool call, SQLite file (overhead)", d, p, BATCH, False))
    if quick:
        return rows
    with _postgres() as url:
        if url is None:
            rows.append(Row("durable tool step, PostgreSQL", "", note=f"skipped: no {PG_ENV}"))
            return rows
        d, p = _step_cost(url, 10, 5)
        rows.append(_row("durable tool round, PostgreSQL loopback (overhead)", d, p, ROUND, True))
        d, p = _step_cost(url, 20, 5, kind="calls")
        rows.append(_row("durable tool call, PostgreSQL loopback (overhead)", d, p, BATCH, True))
        d, p = _step_cost(url, 20, 5, idempotent=True, kind="calls")
        rows.append(
            _row("durable idempotent tool call, PostgreSQL (overhead)", d, p, IDEMPOTENT, True)
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
            ids = [queue.submit("rounds 0", id=f"{tag}-{i}").id for i in range(tasks)]
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
