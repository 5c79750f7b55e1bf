"""``agentloop worker``: run durable tasks from a queue in a database until stopped.

The worker launches DBOS with this process's tools and model settings, recovers the pending
tasks of its worker id (and of ``--recover-from`` workers), then dequeues up to
``--concurrency`` tasks at a time. SIGTERM or Ctrl-C: stop taking tasks, let running steps end
(``--grace`` seconds), leave the rest to recovery.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from agentloop._defaults import DEFAULT_MODEL

from ._common import UsageError, check_model

__all__ = ["DB_ENV", "add_db_flag", "add_parser", "run_worker"]

DB_ENV = "AGENTLOOP_TASKS_DB"

EXAMPLES = """\
examples:
  # one machine: tasks in ./agentloop-tasks.sqlite
  agentloop worker --tools tools.py
  agentloop submit "Summarise report.txt" --wait

  # several machines on one PostgreSQL, 4 tasks at a time each
  agentloop worker --tools tools.py --db postgresql://u:p@db/tasks --worker-id web-1 -c 4
  # web-1 died for good: web-3 takes over its unfinished tasks
  agentloop worker --tools tools.py --db postgresql://u:p@db/tasks --worker-id web-3 \\
      --recover-from web-1

  # offline, against a shared emulator (`agentloop emulator --port 8080`)
  GEMINI_API_KEY=x GEMINI_BASE_URL=http://127.0.0.1:8080 agentloop worker --tools tools.py
"""


def add_db_flag(p: argparse.ArgumentParser, default: Any = None) -> None:
    p.add_argument(
        "--db",
        metavar="URL_OR_PATH",
        default=default,
        help=f"task database: a SQLite file or sqlite:/// URL, or postgresql://... for "
        f"several machines (default ${DB_ENV} or ./agentloop-tasks.sqlite)",
    )


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "worker",
        help="run durable tasks from the task queue until stopped (needs agentloop[durable])",
        description="Run durable tasks from the queue in --db until SIGTERM or Ctrl-C. Each "
        "model request and tool call is a checkpoint: a task cut by a crash resumes where it "
        "stopped, on this worker after a restart (same --worker-id) or on one started with "
        "--recover-from. Tools that are not @tool(idempotent=True) and were running at the "
        "crash wait for `agentloop tasks approve|reject`.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--tools",
        action="append",
        metavar="FILE_OR_MODULE",
        help="a .py file or module whose @tool (or public) functions tasks may call; repeatable",
    )
    add_db_flag(p)
    p.add_argument(
        "-c",
        "--concurrency",
        type=int,
        default=1,
        metavar="N",
        help="tasks this worker runs at once (default 1; the queue keeps one value, set by "
        "the last worker started)",
    )
    p.add_argument(
        "--worker-id",
        metavar="ID",
        default=None,
        help="stable id of this worker (default: the host name); give each worker on one "
        "machine its own. On start, its unfinished tasks are recovered",
    )
    p.add_argument(
        "--recover-from",
        action="append",
        metavar="ID",
        default=[],
        help="also take over the unfinished tasks of this dead worker; repeatable (never "
        "name a worker that is still running: its tasks would run twice)",
    )
    p.add_argument(
        "--model",
        default=None,
        help=f"model id (default: the config file's, else {DEFAULT_MODEL})",
    )
    p.add_argument("--system", metavar="TEXT", default=None, help="system instruction")
    p.add_argument(
        "--max-steps",
        type=int,
        default=20,
        metavar="N",
        help="most model requests per task (default 20)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="on SIGTERM/Ctrl-C, how long running steps may take to finish (default 10)",
    )
    p.add_argument(
        "--poll-interval",
        type=float,
        default=0.2,
        metavar="SECONDS",
        help="how often an idle worker looks for tasks (default 0.2)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="use an in-process emulator (answers only this worker; for several processes "
        "run `agentloop emulator` and set GEMINI_BASE_URL instead)",
    )
    from ._otel import add_otel_flag

    add_otel_flag(p)


def db_arg(args: argparse.Namespace) -> str | None:
    value = getattr(args, "db", None) or os.environ.get(DB_ENV) or None
    return str(value) if value else None


def run_worker(args: argparse.Namespace) -> int:
    from agentloop._defaults import redact
    from agentloop.durable import TaskQueue, database_url

    from ._common import open_backend
    from ._tools import load_tools, tools_option

    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.max_steps < 1:
        raise UsageError(f"--max-steps must be at least 1, got {args.max_steps}")
    if args.poll_interval <= 0:
        raise UsageError(f"--poll-interval must be positive, got {args.poll_interval}")
    args.model = check_model(args.model or DEFAULT_MODEL)
    tools = load_tools(args.tools, tools_option(args))
    try:
        url = database_url(db_arg(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from agentloop.durable import default_worker_id

    from ._claim import claim_worker_id, duplicate_warning

    worker_id = args.worker_id or default_worker_id()
    held, release_id = claim_worker_id(url, worker_id)
    if not held:
        print(duplicate_warning(worker_id), file=sys.stderr, flush=True)
    backend = open_backend("offline" if args.offline else "auto")
    backend.announce()
    queue = TaskQueue(
        url,
        tools=tools,
        model=args.model,
        system_instruction=args.system,
        max_steps=args.max_steps,
        client=backend.client,
        poll_interval=args.poll_interval,
    )

    def on_sigterm(signum: int, frame: Any) -> None:
        queue.request_stop()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    in_flight = 0

    def started(worker: str) -> None:
        names = ", ".join(t.name for t in tools) or "none"
        recovering = f"; recovering {', '.join(args.recover_from)}" if args.recover_from else ""
        print(
            f"agentloop worker {worker}: taking tasks from {redact(url)} (concurrency "
            f"{args.concurrency}, model {args.model}, tools: {names}){recovering}. "
            "Ctrl-C or SIGTERM stops it.",
            file=sys.stderr,
            flush=True,
        )

    try:
        in_flight = queue.run_worker(
            concurrency=args.concurrency,
            worker_id=worker_id,
            recover_from=args.recover_from,
            grace=args.grace,
            on_started=started,
        )
        left = f"; {in_flight} task(s) left mid-step for recovery" if in_flight else ""
        print(f"agentloop worker: stopped{left}", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        queue.close()
        backend.close()
        release_id()
    if in_flight:
        # Tool threads still running cannot be stopped and would hold the interpreter open;
        # their tasks are already left to recovery, so end the process here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
