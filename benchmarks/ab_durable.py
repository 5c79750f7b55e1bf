"""Issue 27 A/B: a durable batch's checkpoints with and without group commit, in one worker.

``PYTHONPATH=. python3 benchmarks/ab_durable.py [--rounds N] [--postgres]``

``bench_durable``'s row "durable tool call step vs a bare DBOS step": tasks whose first
response asks for 10 ``@tool(idempotent=True)`` calls, and tasks with none, measured inside
their workflows (first to last recorded step), per call ``(T(10) - T(0)) / 10``, against a
workflow of 10 bare ``DBOS.run_step`` calls. One worker process runs every variant: before
each pair of tasks the worker's runtime is switched between writing each call's checkpoint
(and each "started" record) in a transaction of its own ("off") and the group commit of calls
that finish together, with a response's "started" records written together ("on"), in rounds
alternating off on on off ... (Both read a response's recorded steps in one query.) The
worker's process CPU per call (``time.process_time``: every thread) is printed beside the wall
figures, which a loaded machine makes noisy.

SQLite by default (a temporary file); ``--postgres``: a fresh database from
``AGENTLOOP_TEST_POSTGRES_DSN``.

``--only off|on --calls K --tasks N`` runs N tasks of K calls in one mode and nothing else,
for counting what they cost under a tracer, e.g. the disk syncs::

    strace -f -c -e trace=fsync,fdatasync python3 benchmarks/ab_durable.py --only on --calls 10

"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_durable as BD

CALLS = 10


@contextlib.contextmanager
def _database(postgres: bool) -> Iterator[str]:
    if not postgres:
        with tempfile.TemporaryDirectory() as tmp:
            yield str(Path(tmp) / "tasks.sqlite")
        return
    with BD._postgres() as url:
        if url is None:
            raise SystemExit(f"--postgres needs {BD.PG_ENV}")
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--only", choices=["off", "on"], help="one mode, --tasks tasks")
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per task with --only")
    parser.add_argument("--tasks", type=int, default=20, help="tasks with --only")
    args = parser.parse_args()

    from agentloop.durable import TaskQueue, _driver
    from agentloop.testing import Emulator, FunctionModel

    emulator = Emulator(FunctionModel(BD._model))
    tools = [BD._idempotent(BD.noop)]
    BD._register_bare()
    wall: dict[str, dict[int, list[float]]] = {m: {0: [], CALLS: []} for m in ("off", "on")}
    cpu: dict[str, dict[int, list[float]]] = {m: {0: [], CALLS: []} for m in ("off", "on")}
    bare: list[float] = []
    with (
        _database(args.postgres) as db,
        TaskQueue(db, tools=tools, client=emulator.client(), poll_interval=0.02) as queue,
    ):
        queue.start_worker(worker_id="ab-durable")
        runtime = _driver.current_runtime()
        queue.submit("calls 0").result(timeout=60)  # warm up
        if args.only is not None:
            runtime.group_commit = args.only == "on"
            for _ in range(args.tasks):
                queue.submit(f"calls {args.calls}").result(timeout=120)
            return
        for round_ in range(args.rounds):
            bare.append(BD._bare_seconds(queue, CALLS) / CALLS)
            for mode in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                runtime.group_commit = mode == "on"
                for k in (0, CALLS):
                    started = time.process_time()
                    handle = queue.submit(f"calls {k}")
                    handle.result(timeout=120)
                    cpu[mode][k].append(time.process_time() - started)
                    wall[mode][k].append(BD._task_seconds(queue, handle.id))
    med = statistics.median
    step = med(bare)
    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{where}, {args.rounds} rounds; a bare DBOS step {step * 1e3:.2f} ms (median)")
    for mode in ("off", "on"):
        per_call = (med(wall[mode][CALLS]) - med(wall[mode][0])) / CALLS
        cpu_call = (med(cpu[mode][CALLS]) - med(cpu[mode][0])) / CALLS
        print(
            f"group commit {mode:3s}: {per_call * 1e3:.2f} ms a call ({per_call / step:.2f}x a "
            f"bare step), process CPU {cpu_call * 1e3:.2f} ms a call"
        )


if __name__ == "__main__":
    main()
