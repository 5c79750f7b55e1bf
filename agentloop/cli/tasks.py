"""``agentloop submit`` and ``agentloop tasks``: put durable tasks on the queue, watch them,
decide on calls that wait for approval.

Both talk to the task database only (no worker, no model, no tools needed here).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._common import UsageError
from ._render import short
from .worker import add_db_flag, db_arg

__all__ = ["add_submit_parser", "add_tasks_parser", "run_submit", "run_tasks"]

SUBMIT_EXAMPLES = """\
examples:
  agentloop submit "Count the lines of every file in ./data" --wait
  agentloop submit "Refund order 1234" --id refund-1234 --json     # again: same task
  agentloop submit "Nightly report" --db postgresql://u:p@db/tasks
"""

TASKS_EXAMPLES = """\
examples:
  agentloop tasks                          # every task: status, progress, answer
  agentloop tasks --json                   # one JSON array
  agentloop tasks show task-1a2b --follow  # its events as they happen, until it ends
  agentloop tasks approve task-1a2b call_X # run a call that waits for approval
  agentloop tasks reject task-1a2b call_X --reason "already refunded"
  agentloop tasks cancel task-1a2b
"""


def add_submit_parser(sub: Any) -> None:
    submit = sub.add_parser(
        "submit",
        help="put a durable task on the task queue, run by `agentloop worker` (needs [durable])",
        description="Enqueue a task and print its id; a worker on the same --db runs it. "
        "Submitting an --id that exists does not create a second task.",
        epilog=SUBMIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    submit.add_argument("task", metavar="TASK", help="what the agent should do")
    add_db_flag(submit)
    submit.add_argument("--id", metavar="TASK_ID", default=None, help="the task's id")
    submit.add_argument("--wait", action="store_true", help="wait for the answer and print it")
    submit.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --wait: give up waiting after this long (the task goes on)",
    )
    submit.add_argument(
        "--json",
        action="store_true",
        help="print JSON (id, status, output_text, tool_calls, usage)",
    )


def add_tasks_parser(sub: Any) -> None:
    tasks = sub.add_parser(
        "tasks",
        help="list durable tasks; show, approve, reject or cancel one (needs [durable])",
        description="List the tasks of --db with status (queued, running, awaiting_approval, "
        "completed, failed, cancelled) and progress.",
        epilog=TASKS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_flag(tasks)
    tasks.add_argument("--json", action="store_true", help="print one JSON array")
    tasks.add_argument("--limit", type=int, default=None, metavar="N", help="newest N only")
    actions = tasks.add_subparsers(dest="tasks_command", metavar="ACTION")
    show = actions.add_parser("show", help="a task's status and full history")
    show.add_argument("id", metavar="ID")
    show.add_argument(
        "--follow", action="store_true", help="print its events as they happen until it ends"
    )
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    for name, what in (
        ("approve", "run a call that waits for a decision"),
        ("reject", "refuse a call that waits; the model gets an error result"),
    ):
        p = actions.add_parser(name, help=what)
        p.add_argument("id", metavar="ID")
        p.add_argument("call_id", metavar="CALL_ID")
        if name == "reject":
            p.add_argument("--reason", default=None, help="told to the model")
    cancel = actions.add_parser("cancel", help="stop a task for good")
    cancel.add_argument("id", metavar="ID")
    for p in (show, cancel, *[actions.choices[n] for n in ("approve", "reject")]):
        add_db_flag(p, default=argparse.SUPPRESS)


def _queue(args: argparse.Namespace) -> Any:
    from agentloop.durable import TaskQueue

    try:
        return TaskQueue(db_arg(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _dump(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str), flush=True)


# --- submit ----------------------------------------------------------------------------------


def run_submit(args: argparse.Namespace) -> int:
    from agentloop.errors import TaskFailedError, TaskTimeoutError

    if not args.task.strip():
        raise UsageError("TASK is empty; say what the agent should do")
    with _queue(args) as queue:
        handle = queue.submit(args.task, id=args.id)
        if args.id is not None:  # an id names one task: a second submit returns the first
            known = queue.info(handle.id)
            if known.text != args.task:
                print(
                    f"agentloop submit: warning: task {handle.id!r} already exists with another "
                    f"text ({known.text[:60]!r}); it is the one returned. Use a new --id for a "
                    "new task",
                    file=sys.stderr,
                    flush=True,
                )
        if not args.wait:
            if args.json:
                _dump(queue.info(handle.id).to_json())
            else:
                print(handle.id, flush=True)
            return 0
        print(f"submitted {handle.id}; waiting for a worker...", file=sys.stderr, flush=True)
        try:
            result = handle.result(timeout=args.timeout)
        except TaskFailedError as exc:
            if args.json:
                _dump(
                    {
                        "id": handle.id,
                        "status": exc.status,
                        "output_text": "",
                        "tool_calls": [],
                        "usage": {},
                        "error": str(exc),
                    }
                )
            else:
                print(f"agentloop submit: {exc}", file=sys.stderr)
            return 1
        except TaskTimeoutError as exc:
            print(f"agentloop submit: {exc}", file=sys.stderr)
            return 1
        if args.json:
            _dump(result.to_json())
        else:
            print(result.output_text, flush=True)
    return 0


# --- tasks -----------------------------------------------------------------------------------


def _missing_database(args: argparse.Namespace) -> Path | None:
    """The SQLite task database file ``tasks`` would read, when it does not exist (reading
    must not create one: a mistyped ``--db`` would look like an empty queue)."""
    from agentloop.durable import database_url

    try:
        url = database_url(db_arg(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url[len("sqlite:///") :])
    return None if path.exists() else path


def run_tasks(args: argparse.Namespace) -> int:
    import dbos  # noqa: F401  # without the [durable] extra, say so first (main's handler)

    action = getattr(args, "tasks_command", None)
    missing = _missing_database(args)
    if missing is not None:
        where = f"no task database at {missing}"
        if action is None and db_arg(args) is None:
            print(f"no tasks ({where} yet; agentloop submit TASK creates it)", flush=True)
            return 0
        raise UsageError(f"{where}; give --db where the worker keeps its tasks (or submit one)")
    with _queue(args) as queue:
        if action is None:
            return _list(queue, args)
        if action == "show":
            return _show(queue, args)
        if action == "approve":
            queue.approve(args.id, args.call_id)
            print(f"approved {args.call_id} of {args.id}", flush=True)
        elif action == "reject":
            queue.reject(args.id, args.call_id, args.reason)
            print(f"rejected {args.call_id} of {args.id}", flush=True)
        elif action == "cancel":
            return _cancel(queue, args.id)
    return 0


def _cancel(queue: Any, task_id: str) -> int:
    """Cancel a task; one that had already ended says so (exit 1) and stays as it was."""
    info = queue.info(task_id)
    if info.finished:
        print(
            f"agentloop tasks: {task_id} had already finished ({info.status}); nothing to cancel",
            file=sys.stderr,
            flush=True,
        )
        return 1
    queue.cancel(task_id)
    print(f"cancelled {task_id}", flush=True)
    return 0


def _list(queue: Any, args: argparse.Namespace) -> int:
    infos = queue.tasks(limit=args.limit)
    if args.json:
        _dump([info.to_json() for info in infos])
        return 0
    if not infos:
        print('no tasks (submit one with: agentloop submit "TASK")', file=sys.stderr)
        return 0
    print(f"{'ID':<20} {'STATUS':<17} {'REQ':>3} {'CALLS':>5}  {'LAST TOOL':<14} TASK / ANSWER")
    for info in infos:
        progress = info.progress
        shown = info.output_text or info.error or info.text
        last = short(progress.get("last_tool_call") or "-", 14)
        print(
            f"{short(info.id, 20):<20} {info.status:<17} {progress.get('requests', 0):>3} "
            f"{progress.get('tool_calls', 0):>5}  {last:<14} {short(shown, 60)}"
        )
    return 0


def _show(queue: Any, args: argparse.Namespace) -> int:
    info = queue.info(args.id)
    as_json = getattr(args, "json", False)
    if args.follow:
        for event in queue.events(args.id, follow=True):
            if as_json:
                print(json.dumps(event, ensure_ascii=False, default=str), flush=True)
            else:
                for line in event_lines(args.id, event):
                    print(line, flush=True)
        return 0
    history: list[Any] | None = None
    if info.status in ("completed", "failed"):
        try:
            history = queue.history(args.id)
        except Exception:  # a task that failed before it had a conversation
            history = None
    if as_json:
        data = info.to_json()
        if history is not None:
            data["history"] = history
        else:
            data["events"] = list(queue.events(args.id))
        _dump(data)
        return 0
    print(f"task {info.id}: {info.status} (worker {info.worker or '-'})")
    print(f"task: {info.text}")
    if history is not None:
        for step in history:
            shown = step_line(step)
            if shown is not None:
                print(shown)
    else:
        for event in queue.events(args.id):
            for line in event_lines(args.id, event):
                print(line)
    if info.error:
        print(f"error: {info.error}")
    return 0


def _texts(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(
        str(block.get("text", "")) for block in content or [] if isinstance(block, dict)
    )


def step_line(step: dict[str, Any]) -> str | None:
    """One line for a step of a finished task's history (``None``: not shown)."""
    kind = step.get("type")
    if kind == "user_input":
        return f"user: {short(_texts(step.get('content')))}"
    if kind == "model_output":
        return f"model: {short(_texts(step.get('content')))}"
    if kind == "function_call":
        return f"-> {step.get('name')}({short(step.get('arguments'), 120)})  [{step.get('id')}]"
    if kind == "function_result":
        mark = " (error)" if step.get("is_error") else ""
        return f"<- {step.get('name')}{mark}: {short(step.get('result'))}"
    if kind == "thought":
        return None
    return f"({kind})"


def event_lines(task_id: str, event: dict[str, Any]) -> list[str]:
    """Lines for one progress event of a task."""
    kind = event.get("type")
    if kind == "model_response":
        lines = [f"model: {short(event['text'])}"] if event.get("text") else []
        for call in event.get("function_calls") or []:
            lines.append(f"-> {call['name']}({short(call['arguments'], 120)})  [{call['id']}]")
        return lines
    if kind == "tool_calls_finished":
        return [
            f"<- {call.get('name')}{' (error)' if call.get('is_error') else ''}: "
            f"{short(call.get('result'))}"
            for call in event.get("calls") or []
        ]
    if kind == "awaiting_approval":
        lines = []
        for call in event.get("calls") or []:
            lines.append(
                f"awaiting approval: {call['name']}({short(call['arguments'], 120)}) "
                f"[{call['id']}]: {call.get('why', '')}"
            )
            lines.append(
                f"  agentloop tasks approve {task_id} {call['id']}   "
                f"(or: agentloop tasks reject {task_id} {call['id']})"
            )
        return lines
    if kind in ("approved", "rejected"):
        return [f"{kind}: {event.get('name')} [{event.get('call_id')}]"]
    if kind == "completed":
        return [f"done: {event.get('output_text', '')}"]
    if kind == "failed":
        return [f"failed: {event.get('error', '')}"]
    if kind == "strategy_fallback":
        return ["the server forgot the chain; the history was replayed"]
    return [f"({kind})"]
