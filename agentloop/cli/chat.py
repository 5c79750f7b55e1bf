"""``agentloop chat``: an interactive chat that streams, runs tools and keeps sessions.

Reads lines from stdin when it is not a terminal, so it can be scripted (and tested) with a
pipe. Sessions live in a ``SQLiteStore`` and are saved after every turn.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from ._common import check_model, mcp_toolsets, open_backend
from ._limits import long_loop_settings, usage_line
from ._render import Printer, call_text, short
from ._tools import load_tools

__all__ = ["run_chat"]

COMMANDS = {
    "/strategy": "show the strategy, or switch: /strategy stateful|stateless",
    "/history": "list the steps of this conversation",
    "/usage": "tokens and model requests used in this session so far",
    "/save": "save the session now (it is also saved after every turn)",
    "/help": "this list",
    "/exit": "leave (Ctrl-D works too)",
}


def default_store_path() -> Path:
    home = os.environ.get("AGENTLOOP_HOME")
    base = Path(home) if home else Path.home() / ".agentloop"
    return base / "sessions.db"


class _Input:
    """Lines from a terminal (with a prompt) or from a pipe (without one)."""

    def __init__(self) -> None:
        self.interactive = sys.stdin.isatty()

    def read(self, prompt: str, *, show_when_piped: bool = False) -> str | None:
        if show_when_piped and not self.interactive:
            # A question (not the routine prompt) belongs in a transcript.
            print(prompt.rstrip(), flush=True)
        if self.interactive:
            try:
                return input(prompt)
            except EOFError:
                print()
                return None
        line = sys.stdin.readline()
        return line.rstrip("\r\n") if line else None


def _step_line(index: int, step: Any) -> str:
    kind = getattr(step, "type", "?")
    if kind == "function_call":
        detail = call_text(step)
    elif kind == "function_result":
        detail = f"{step.name or step.call_id}: {short(step.result, 100)}"
    elif kind in ("user_input", "model_output"):
        content = step.content if isinstance(step.content, list) else [step.content]
        detail = (
            " ".join(
                getattr(c, "text", None) or f"[{getattr(c, 'type', 'content')}]"
                for c in content
                if c is not None
            )
            if step.content is not None
            else ""
        )
        detail = short(detail, 100)
    else:
        detail = ""
    return f"{index:3d}  {kind:<16} {detail}".rstrip()


class _Chat:
    def __init__(self, conv: Any, store: Any, name: str, reader: _Input) -> None:
        self.conv = conv
        self.store = store
        self.name = name
        self.reader = reader
        self.out = Printer(sys.stdout, text_prefix="model> ")
        self.requests = 0
        self.tokens: dict[str, int] = {}

    def note(self, text: str) -> None:
        self.out.line(text)

    def save(self) -> None:
        self.store.save(self.conv, self.name)

    # --- one user message ----------------------------------------------------------------------

    def turn(self, text: str) -> None:
        from agentloop.errors import AgentloopError

        turn = None
        try:
            turn = self._follow(self.conv.stream(text))
            while turn is not None and turn.status == "awaiting_approval":
                turn = self._approve(turn)
        except AgentloopError as exc:
            self.out.end_line()
            partial = getattr(exc, "turn", None)
            if partial is not None:
                self._count(partial)
            print(f"error: {exc}", file=sys.stderr, flush=True)
        else:
            if turn is not None:
                self._count(turn)
        finally:
            self.out.end_line()
            self.save()

    def _follow(self, events: Any) -> Any:
        turn = None
        for event in events:
            self.out.event(event)
            if event.type == "turn_completed":
                turn = event.turn
        return turn

    def _approve(self, turn: Any) -> Any:
        for call in turn.pending_approvals:
            answer = self.reader.read(f"approve {call_text(call)}? [y/N] ", show_when_piped=True)
            if (answer or "").strip().lower() in ("y", "yes"):
                self.conv.approve(call.id)
            else:
                self.conv.reject(call.id, "the user did not approve this call")
        self._count(turn)
        return self._follow(self.conv.resume_stream())

    def _count(self, turn: Any) -> None:
        self.requests += turn.model_requests
        for key, value in turn.usage.model_dump(mode="json").items():
            if isinstance(value, int):
                self.tokens[key] = self.tokens.get(key, 0) + value

    # --- slash commands ------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a /command; returns False when the chat should end."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/strategy":
            if arg:
                if arg not in ("stateful", "stateless"):
                    self.note(f"unknown strategy {arg!r}; use stateful or stateless")
                else:
                    self.conv.strategy = arg
                    self.save()
                    self.note(f"strategy: {arg} (the history carries over)")
            else:
                self.note(f"strategy: {self.conv.strategy}")
        elif name == "/history":
            history = self.conv.history
            self.note(f"{len(history)} steps in session {self.name!r}:")
            for i, step in enumerate(history):
                self.note(_step_line(i, step))
        elif name == "/usage":
            parts = ", ".join(f"{k.removeprefix('total_')}={v}" for k, v in self.tokens.items())
            self.note(f"usage this session: {self.requests} model requests; {parts or 'no tokens'}")
            self.note(usage_line(self.conv))
        elif name == "/save":
            self.save()
            self.note(f"saved session {self.name!r} to {self.store.path}")
        elif name == "/help":
            for cmd, text in COMMANDS.items():
                self.note(f"  {cmd:<10} {text}")
        else:
            self.note(f"unknown command {name}; try {', '.join(COMMANDS)}")
        return True

    def loop(self) -> None:
        prompt = "you> "
        while True:
            line = self.reader.read(prompt)
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    break
                continue
            self.turn(line)


def run_chat(args: argparse.Namespace) -> int:
    from agentloop import Conversation
    from agentloop.stores import SQLiteStore

    from . import DEFAULT_MODEL

    model = check_model(args.model) if args.model else None
    servers = mcp_toolsets(args.mcp, args.mcp_url)
    tools: list[Any] = [*load_tools(args.tools), *servers]
    long_loop_settings(args, model or DEFAULT_MODEL)  # check the flags before anything starts
    store_path = Path(args.store) if args.store else default_store_path()
    backend = open_backend(args.backend)
    backend.announce()
    try:
        with SQLiteStore(store_path) as store:
            name = args.session or time.strftime("chat-%Y%m%d-%H%M%S")
            if name in store:
                overrides = {
                    k: v
                    for k, v in (
                        ("model", model),
                        ("strategy", args.strategy),
                        ("system_instruction", args.system),
                    )
                    if v is not None
                }
                conv = store.load(name, client=backend.client, tools=tools, **overrides)
                what = f"resumed session {name!r} ({len(conv.history)} steps)"
            else:
                conv = Conversation(
                    backend.client,
                    model=model or DEFAULT_MODEL,
                    tools=tools,
                    strategy=args.strategy or "stateful",
                    system_instruction=args.system,
                    id=name,
                )
                what = f"new session {name!r} (resume with: agentloop chat --session {name})"
            for key, value in long_loop_settings(args, conv.model).items():
                setattr(conv, key, value)  # compaction=, limits= (priced for the session's model)
            tool_names = ", ".join(conv.tools.names) or "none"
            print(
                f"{what}; model {conv.model}, strategy {conv.strategy}, tools: {tool_names}. "
                "Type /help for commands.",
                file=sys.stderr,
                flush=True,
            )
            chat = _Chat(conv, store, name, _Input())
            chat.loop()
            chat.save()
    finally:
        backend.close()
        for server in servers:
            server.close()
    return 0
