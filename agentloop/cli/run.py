"""``agentloop run "TASK"``: an autonomous tool loop that reports progress and the answer.

Progress goes to stderr and the answer (or, with ``--json``, the whole turn) to stdout, so the
output can be piped. Exit code 0 when the task completed, 1 when it failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from ._common import (
    UsageError,
    attachments,
    check_model,
    generation_config,
    mcp_toolsets,
    model_of,
    open_backend,
    plural,
    with_attachments,
)
from ._limits import long_loop_settings
from ._render import call_text, log_event, short, turn_to_json
from ._tools import agent_settings, load_agent, load_tools, saved_tool_specs, tools_option

__all__ = ["DEFAULT_MAX_STEPS", "DEFAULT_SYSTEM", "run_task"]

DEFAULT_MAX_STEPS = 10  # --max-steps of a new run (a resumed session keeps its own)

DEFAULT_SYSTEM = (
    "You are an autonomous agent. Work on the user's task step by step, calling the "
    "available tools whenever they help, and check their results. When the task is done, "
    "reply with the final answer only."
)


class _Progress:
    def __init__(self) -> None:
        self.request = 0

    def __call__(self, event: Any) -> None:
        kind = event.type
        if kind == "interaction_started":
            self.request += 1
            self.say(f"[{self.request}] asking the model")
        elif kind == "tool_call_started":
            self.say(f"[{self.request}] calling {call_text(event.call)}")
        elif kind == "tool_call_finished":
            what = (
                f"failed: {short(event.error or '')}"
                if event.is_error
                else f"returned {short(event.result.result)}"
            )
            self.say(f"[{self.request}] {event.call.name} {what}")
        elif kind == "strategy_fallback":
            self.say(f"[{self.request}] the server forgot the chain; replaying the history")
        elif kind == "compacted":
            self.say(
                f"[{self.request}] compacted the history sent to the model: "
                f"~{event.tokens_before} -> ~{event.tokens_after} tokens"
            )
        elif kind == "retrying":
            self.say(f"[{self.request}] retrying (attempt {event.attempt}): {event.reason}")
        elif kind == "recovered":
            parts = []
            if event.rerun:
                parts.append(f"calls to run again: {', '.join(event.rerun)}")
            if event.in_doubt:
                parts.append(
                    f"calls that may have run (a decision first): {', '.join(event.in_doubt)}"
                )
            if not parts:
                parts.append("no call to run; sending the request again")
            self.say(f"[{self.request}] recovering: " + "; ".join(parts))

    @staticmethod
    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def _follow(events: Any, progress: _Progress) -> Any:
    turn = None
    for event in events:
        log_event(event)
        progress(event)
        if event.type == "turn_completed":
            turn = event.turn
    return turn


def _ask(call: Any, in_doubt: bool) -> bool:
    """Ask on the terminal whether ``call`` may run (stdin and stderr are a TTY)."""
    question = (
        f"run {call_text(call)} again? It may have run already; yes runs it a second time "
        "if it had finished [y/N] "
        if in_doubt
        else f"allow {call_text(call)}? [y/N] "
    )
    try:
        sys.stderr.write(question)
        sys.stderr.flush()
        answer = sys.stdin.readline()
    except (EOFError, OSError):
        return False
    return answer.strip().lower() in ("y", "yes")


def _drive(
    conv: Any, events: Any, approve: bool, progress: _Progress, session: str | None = None
) -> Any:
    """Follow ``events`` (``None``: the session's paused turn) and decide its approvals: asked on
    a terminal, all approved with ``--yes``, else rejected; a call in doubt (it may have run)
    is never decided without a person: the turn stays paused (``None`` is returned)."""
    interactive = not approve and sys.stdin.isatty() and sys.stderr.isatty()
    turn = _follow(events, progress) if events is not None else None
    while conv.pending_approvals and (turn is None or turn.status == "awaiting_approval"):
        pending = conv.pending_approvals
        doubt = set(conv.in_doubt)
        again = [call_text(c) for c in pending if c.id in doubt]
        if again and not (approve or interactive):
            resume = f"agentloop run --session {session} --resume" if session else "--resume"
            progress.say(
                f"[{progress.request}] these calls were running when the last run stopped and "
                f"may have run already: {', '.join(again)}. Nobody is here to decide, so the "
                f"turn stays paused: check whether they took effect, then run `{resume}` in a "
                "terminal (it asks), or add --yes to run them again"
            )
            return turn
        if again:
            progress.say(
                f"[{progress.request}] journaled results are reused; these calls were running "
                f"when the last run stopped and may have run already: {', '.join(again)}. "
                + (
                    "--yes runs them again."
                    if approve
                    else "They run again only if approved (--yes approves them)."
                )
            )
        for call in pending:
            in_doubt = call.id in doubt
            if approve:
                note = " again (--yes)" if in_doubt else " (--yes)"
                progress.say(f"[{progress.request}] approved {call_text(call)}{note}")
                conv.approve(call.id)
            elif interactive:
                if _ask(call, in_doubt):
                    conv.approve(call.id)
                else:
                    conv.reject(call.id, "the user did not approve this call")
            else:
                hint = "it requires approval; --yes would run it"
                progress.say(f"[{progress.request}] rejected {call_text(call)} ({hint})")
                conv.reject(call.id, "not approved: run agentloop with --yes to allow this tool")
        turn = _follow(conv.resume_stream(), progress)
    return turn


def _files(blocks: list[Any]) -> str:
    return f" + {plural(len(blocks), 'attached file')}" if blocks else ""


def _task_text(args: argparse.Namespace) -> str | None:
    task = args.task
    if task == "-":
        if sys.stdin.isatty():
            raise UsageError("TASK is '-' but stdin is a terminal; pipe the task in")
        task = sys.stdin.read()
    if task is None:
        if not args.resume:
            raise UsageError("TASK is missing; say what the agent should do")
        return None
    if not task.strip():
        raise UsageError("TASK is empty; say what the agent should do")
    return str(task)


def run_task(args: argparse.Namespace) -> int:
    from agentloop import Conversation
    from agentloop.errors import AgentloopError, TurnError

    if args.max_steps is not None and args.max_steps < 1:
        raise UsageError(f"--max-steps must be at least 1, got {args.max_steps}")
    if args.resume and not args.session:
        raise UsageError("--resume needs --session NAME (the session to resume)")
    task = _task_text(args)
    attached = attachments(args.attach)
    if attached and task is None:
        raise UsageError("-a/--attach needs a TASK to go with the files")
    sessions = None
    if args.session:
        from agentloop.stores.sessions import open_sessions

        sessions = open_sessions(args.store)
    resuming = sessions is not None and args.session in sessions
    meta: dict[str, Any] = sessions.meta(args.session) if resuming else {}  # type: ignore[union-attr]
    if resuming:  # the session's own settings win over the config file's defaults (as chat)
        for key in getattr(args, "from_config", ()):
            setattr(args, key, None)
    model = model_of(args)
    config = generation_config(args)
    tool_specs, option = args.tools, tools_option(args)
    if tool_specs is None and resuming:
        tool_specs = meta.get("tools") or None  # the tools the session was started with
        option = tools_option(args, args.session)
    agent = load_agent(getattr(args, "agent", None))
    from_agent = agent_settings(agent, args)
    servers = mcp_toolsets(args.mcp, args.mcp_url)
    tools: list[Any] = [
        *(from_agent.pop("tools", None) or load_tools(tool_specs, option)),
        *servers,
    ]
    model = from_agent.get("model", model)
    long_loop = long_loop_settings(args, model)
    if args.tools is not None or not resuming:
        meta["tools"] = saved_tool_specs(args.tools)
    if task is not None and not meta.get("title"):
        meta["title"] = " ".join(task.split())[:60]
    backend = open_backend(args.backend)
    backend.announce()
    progress = _Progress()
    conv: Any = None
    try:
        if resuming:
            assert sessions is not None
            # What the command line says explicitly wins over what the session was saved with.
            overrides = {
                k: v
                for k, v in (
                    ("model", check_model(args.model) if args.model else None),
                    ("strategy", args.strategy),
                    ("system_instruction", args.system),
                    ("generation_config", config),
                )
                if v is not None
            }
            conv = sessions.load(args.session, client=backend.client, tools=tools, **overrides)
            if agent is not None:
                agent._attach(conv)
            if args.max_steps is not None:
                conv.max_steps = args.max_steps
            for key, value in long_loop.items():
                setattr(conv, key, value)
            progress.say(
                f"session {args.session!r}: {plural(len(conv.history), 'step')} so far"
                + ("; its last turn was cut short" if conv.needs_recovery else "")
                + ("; its last turn waits for decisions" if conv.pending_approvals else "")
            )
        elif args.resume:
            raise UsageError(
                f"there is no session {args.session!r} to resume; list them with agentloop sessions"
            )
        else:
            settings: dict[str, Any] = {
                "model": model,
                "tools": tools,
                "strategy": args.strategy or "stateful",
                "system_instruction": args.system or DEFAULT_SYSTEM,
                "max_steps": args.max_steps or DEFAULT_MAX_STEPS,
                "generation_config": config,
                **long_loop,
                **from_agent,
            }
            if sessions is not None:
                conv = sessions.create(Conversation, backend.client, id=args.session, **settings)
            else:
                conv = Conversation(backend.client, **settings)
            if agent is not None:
                agent._attach(conv)
        names = ", ".join(conv.tools.names) or "none"
        limit = plural(conv.max_steps, "step")
        try:
            if args.resume and task is None and conv.pending_approvals:
                progress.say(
                    f"resuming the paused turn: {plural(len(conv.pending_approvals), 'call')} "
                    "to decide"
                )
                turn = _drive(conv, None, args.yes, progress, args.session)
            elif args.resume:
                if not conv.needs_recovery:
                    if task is None:
                        progress.say(
                            f"session {args.session!r} has nothing to resume: its last turn "
                            "finished (give a TASK to start a new one)"
                        )
                        return 1
                    progress.say(
                        f"task: {short(task, 120)}{_files(attached)} (tools: {names}; max {limit})"
                    )
                    turn = _drive(
                        conv,
                        conv.stream(with_attachments(task, attached)),
                        args.yes,
                        progress,
                        args.session,
                    )
                else:
                    progress.say(f"resuming the cut turn (tools: {names}; max {limit})")
                    turn = _drive(conv, conv.recover_stream(), args.yes, progress, args.session)
            else:
                assert task is not None
                progress.say(
                    f"task: {short(task, 120)}{_files(attached)} (tools: {names}; max {limit})"
                )
                turn = _drive(
                    conv,
                    conv.stream(with_attachments(task, attached)),
                    args.yes,
                    progress,
                    args.session,
                )
        except TurnError as exc:
            turn = exc.turn
            progress.say(f"failed: {exc}")
            if args.json and turn is not None:
                print(json.dumps(turn_to_json(turn), indent=2, ensure_ascii=False))
            return 1
        except AgentloopError as exc:
            progress.say(f"failed: {exc}")
            return 1
    finally:
        backend.close()
        if sessions is not None:
            with contextlib.suppress(AgentloopError):  # (the session itself is journaled)
                if conv is not None and args.session in sessions:
                    sessions.save(conv, meta)
            sessions.close()
        for server in servers:
            server.close()
    ok = turn is not None and turn.status == "completed"
    if turn is not None:
        progress.say(
            f"{turn.status}: {plural(turn.model_requests, 'model request')}, "
            f"{plural(len(turn.tool_calls), 'tool call')}, "
            f"{plural(turn.usage.total_tokens or 0, 'token')}"
        )
        if args.json:
            print(json.dumps(turn_to_json(turn), indent=2, ensure_ascii=False))
        else:
            print(turn.output_text)
    return 0 if ok else 1
