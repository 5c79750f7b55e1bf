"""``agentloop run "TASK"``: an autonomous tool loop that reports progress and the answer.

Progress goes to stderr and the answer (or, with ``--json``, the whole turn) to stdout, so the
output can be piped. Exit code 0 when the task completed, 1 when it failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._common import UsageError, check_model, mcp_toolsets, open_backend
from ._limits import long_loop_settings
from ._render import call_text, short, turn_to_json
from ._tools import load_tools

__all__ = ["DEFAULT_SYSTEM", "run_task"]

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
        elif kind == "retry":
            self.say(f"[{self.request}] retrying (attempt {event.attempt}): {event.reason}")

    @staticmethod
    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def _follow(events: Any, progress: _Progress) -> Any:
    turn = None
    for event in events:
        progress(event)
        if event.type == "turn_completed":
            turn = event.turn
    return turn


def _drive(conv: Any, task: str, approve: bool, progress: _Progress) -> Any:
    turn = _follow(conv.stream(task), progress)
    while turn is not None and turn.status == "awaiting_approval":
        for call in turn.pending_approvals:
            if approve:
                progress.say(f"[{progress.request}] approved {call_text(call)} (--yes)")
                conv.approve(call.id)
            else:
                progress.say(
                    f"[{progress.request}] rejected {call_text(call)} "
                    "(it requires approval; pass --yes to allow)"
                )
                conv.reject(call.id, "not approved: run agentloop with --yes to allow this tool")
        turn = _follow(conv.resume_stream(), progress)
    return turn


def run_task(args: argparse.Namespace) -> int:
    from agentloop import Conversation
    from agentloop.errors import TurnError

    model = check_model(args.model)
    if args.max_steps < 1:
        raise UsageError(f"--max-steps must be at least 1, got {args.max_steps}")
    if not args.task.strip():
        raise UsageError("TASK is empty; say what the agent should do")
    servers = mcp_toolsets(args.mcp, args.mcp_url)
    tools: list[Any] = [*load_tools(args.tools), *servers]
    long_loop = long_loop_settings(args, model)
    backend = open_backend(args.backend)
    backend.announce()
    progress = _Progress()
    try:
        conv = Conversation(
            backend.client,
            model=model,
            tools=tools,
            strategy=args.strategy,
            system_instruction=args.system or DEFAULT_SYSTEM,
            max_steps=args.max_steps,
            **long_loop,
        )
        names = ", ".join(conv.tools.names) or "none"
        progress.say(f"task: {short(args.task, 120)} (tools: {names}; max {args.max_steps} steps)")
        try:
            turn = _drive(conv, args.task, args.yes, progress)
        except TurnError as exc:
            turn = exc.turn
            progress.say(f"failed: {exc}")
            if args.json and turn is not None:
                print(json.dumps(turn_to_json(turn), indent=2, ensure_ascii=False))
            return 1
    finally:
        backend.close()
        for server in servers:
            server.close()
    ok = turn is not None and turn.status == "completed"
    if turn is not None:
        calls = len(turn.tool_calls)
        progress.say(
            f"{turn.status}: {turn.model_requests} model requests, {calls} tool calls, "
            f"{turn.usage.total_tokens or 0} tokens"
        )
        if args.json:
            print(json.dumps(turn_to_json(turn), indent=2, ensure_ascii=False))
        else:
            print(turn.output_text)
    return 0 if ok else 1
