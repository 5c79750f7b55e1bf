"""``agentloop chat``: an interactive chat that streams, runs tools and keeps sessions.

On a terminal: line editing and input history (prompt-toolkit), Markdown and colour (rich), a
spinner with the elapsed time until the first token, Ctrl-C cancels the running turn (the
history stays valid; a second Ctrl-C quits). Without them, or when piped, plain text: stdin is
read one message per line so the chat can be scripted (and tested) with a pipe; ``NO_COLOR``
turns colour off. rich and prompt-toolkit (the ``[cli]`` extra) are imported only when used.

Sessions live in the store (``--store``) with their settings: a resumed session keeps its
model, strategy, system instruction, generation settings and the ``--tools`` it was started with.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
import time
from pathlib import Path
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
from ._limits import long_loop_settings, usage_line
from ._render import Printer, branch_lines, call_text, log_event, short, step_line, turn_line
from ._tools import agent_settings, load_agent, load_tools, saved_tool_specs, tools_option

__all__ = ["run_chat"]

COMMANDS = {
    "/attach": "attach a file (image, PDF, audio) to your next message: /attach photo.jpg",
    "/strategy": "show the strategy, or switch: /strategy stateful|stateless",
    "/model": "show the model, or switch: /model gemini-3.5-flash-lite",
    "/tools": "list the tools the model may call",
    "/history": "list the steps of this conversation",
    "/usage": "tokens and model requests used in this session so far",
    "/turns": "list the turns of this session (what /fork and /rewind take)",
    "/fork": "go on in a new branch from turn N (default: now): /fork [N]",
    "/rewind": "go back N turns in this session (default 1): /rewind [N]",
    "/branches": "draw this session's branch tree, or switch: /branches [SESSION]",
    "/clear": "start a new, empty session with the same settings",
    "/save": "save the session now (it is also saved after every turn)",
    "/help": "this list",
    "/exit": "leave (Ctrl-D works too)",
}
MULTILINE = '"""'


def _new_session_id() -> str:
    """A new session's id: when it began, and a random tag, so that two chats started in the
    same second (or a ``/clear``) never share a session."""
    return f"{time.strftime('chat-%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _color_wanted() -> bool:
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


# --- input --------------------------------------------------------------------------------------


# What a piped line may answer to an approval question (anything else is the next message).
_ANSWERS = frozenset({"", "y", "yes", "n", "no", "a", "all"})


class _Input:
    """Lines from a terminal (prompt-toolkit when installed, else ``input``) or a pipe.

    A message of several lines: on a terminal Alt+Enter (or Esc, Enter) adds a line; in any
    mode, a line of just ``\"\"\"`` starts a block that ends at the next ``\"\"\"`` line.
    """

    def __init__(self, history_file: Path | None = None) -> None:
        self.interactive = sys.stdin.isatty()
        self._session: Any = None
        self._back: list[str] = []  # lines read ahead and given back (``unread``)
        if self.interactive and sys.stdout.isatty():
            try:
                from prompt_toolkit import PromptSession
                from prompt_toolkit.history import FileHistory, InMemoryHistory
                from prompt_toolkit.key_binding import KeyBindings
            except ImportError:  # no [cli] extra: readline still gives line editing
                with contextlib.suppress(ImportError):
                    import readline  # noqa: F401
            else:
                keys = KeyBindings()

                @keys.add("escape", "enter")
                def _newline(event: Any) -> None:
                    event.current_buffer.insert_text("\n")

                history: Any = InMemoryHistory()
                if history_file is not None:
                    try:
                        history_file.parent.mkdir(parents=True, exist_ok=True)
                        history = FileHistory(str(history_file))
                    except OSError:
                        pass
                self._session = PromptSession(history=history, key_bindings=keys)

    def _line(self, prompt: str) -> str | None:
        if self._session is not None:
            from prompt_toolkit.formatted_text import FormattedText

            try:
                text: str = self._session.prompt(FormattedText([("bold", prompt)]))
                return text
            except EOFError:
                return None
        if self.interactive:
            try:
                return input(prompt)
            except EOFError:
                print()
                return None
        line = sys.stdin.readline()
        return line.rstrip("\r\n") if line else None

    def unread(self, line: str) -> None:
        """Give ``line`` back: the next ``read`` returns it."""
        self._back.append(line)

    def read(self, prompt: str, *, question: bool = False) -> str | None:
        """The next message (``None`` at the end of input); Ctrl-C raises KeyboardInterrupt."""
        if question and not self.interactive:
            # A question (not the routine prompt) belongs in a transcript.
            print(prompt.rstrip(), flush=True)
        line = self._back.pop() if self._back else self._line(prompt)
        if line is None or question or line.strip() != MULTILINE:
            return line
        lines: list[str] = []
        while True:
            more = self._line("... ")
            if more is None or more.strip() == MULTILINE:
                return "\n".join(lines)
            lines.append(more)


# --- output -------------------------------------------------------------------------------------


class _PlainView:
    """Plain text: streamed text after ``model> ``, one line per tool call and result."""

    def __init__(self) -> None:
        self.out = Printer(sys.stdout, text_prefix="model> ")

    def begin(self, label: str = "thinking") -> None:
        pass

    def event(self, event: Any) -> None:
        self.out.event(event)

    def end(self) -> None:
        self.out.end_line()

    def note(self, text: str) -> None:
        self.out.line(text)

    def error(self, text: str) -> None:
        self.out.end_line()
        print(text, file=sys.stderr, flush=True)


class _Waiting:
    """A spinner and the seconds since it started (rich renders it on each refresh)."""

    def __init__(self, label: str = "thinking") -> None:
        self.label = label
        self.start = time.monotonic()

    def __rich__(self) -> Any:
        from rich.spinner import Spinner

        seconds = time.monotonic() - self.start
        return Spinner("dots", text=f"{self.label}… {seconds:.1f}s", style="dim")


class _RichView:
    """Markdown and colour on a terminal; a spinner until the first event of a turn."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False)
        self._live: Any = None
        self._text = ""
        self._waiting = False

    def _stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._waiting = False
        self._text = ""

    def begin(self, label: str = "thinking") -> None:
        """Show a spinner with the elapsed time until the next event."""
        from rich.live import Live

        self._stop()
        self._live = Live(
            _Waiting(label), console=self.console, transient=True, refresh_per_second=10
        )
        self._live.start()
        self._waiting = True

    def _markdown(self) -> Any:
        from rich.markdown import Markdown

        return Markdown(self._text)

    def event(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind in (
            "interaction_started",
            "step_started",
            "interaction_completed",
            "thought_delta",
        ):
            return  # keep the spinner (or the text) on screen
        if kind == "text_delta":
            if self._waiting or self._live is None:
                from rich.live import Live

                self._stop()
                self._live = Live(
                    self._markdown(),
                    console=self.console,
                    refresh_per_second=12,
                    vertical_overflow="visible",
                )
                self._live.start()
            self._text += event.text
            self._live.update(self._markdown())
            return
        if kind == "turn_completed":
            self._stop()
            return
        self._stop()
        if kind == "tool_call_started":
            self.console.print(f"  [cyan]→[/] {_escape(call_text(event.call))}", style="dim")
            self.begin(f"running {event.call.name}")
        elif kind == "tool_call_finished":
            name = _escape(event.call.name)
            took = f" [dim]({event.duration:.2f}s)[/]"
            if event.is_error:
                detail = _escape(short(event.error or ""))
                self.console.print(f"  [red]← {name} failed:[/] {detail}{took}")
            else:
                detail = _escape(short(event.result.result))
                self.console.print(f"  [green]←[/] {name} returned {detail}{took}")
            self.begin()  # the model reads the results next
        elif kind == "approval_required":
            names = _escape(", ".join(call_text(c) for c in event.calls))
            self.console.print(f"  [yellow]waiting for approval:[/] {names}")
        elif kind == "strategy_fallback":
            self.console.print("  (the server no longer knew the conversation; replayed it)")
        elif kind == "retrying":
            self.console.print(f"  [yellow](retrying, attempt {event.attempt})[/]")
        elif kind == "stream_error":
            self.console.print(f"  [red](server error {event.code})[/]")

    def end(self) -> None:
        self._stop()

    def note(self, text: str) -> None:
        self._stop()
        self.console.print(_escape(text), style="dim")

    def error(self, text: str) -> None:
        self._stop()
        self.console.print(f"[red]{_escape(text)}[/]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _view() -> Any:
    if _color_wanted():
        try:
            return _RichView()
        except ImportError:
            pass
    return _PlainView()


# --- the chat -----------------------------------------------------------------------------------


class _Chat:
    def __init__(
        self,
        conv: Any,
        sessions: Any,
        meta: dict[str, Any],
        reader: _Input,
        view: Any,
        make_conv: Any,
    ) -> None:
        self.conv = conv
        self.sessions = sessions
        self.meta = meta
        self.reader = reader
        self.view = view
        self.make_conv = make_conv  # (template) -> a new, empty conversation, same settings
        self.interrupted = False  # the last Ctrl-C has not been followed by input yet
        self.approve_all = False
        self.failed = 0  # turns that ended with an error (a script's exit code says so)
        self.requests = 0
        self.tokens: dict[str, int] = {}
        self.attached: list[Any] = []  # files for the next message (-a, /attach)
        self.attached_names: list[str] = []

    @property
    def name(self) -> str:
        return str(self.conv.id)

    def note(self, text: str) -> None:
        self.view.note(text)

    def save(self) -> None:
        self.sessions.save(self.conv, self.meta)

    # --- one user message ----------------------------------------------------------------------

    def turn(self, text: str) -> None:
        from agentloop.errors import AgentloopError, ConflictError

        if not self.meta.get("title"):
            self.meta["title"] = " ".join(text.split())[:60]
        self.approve_all = False
        turn = None
        message = with_attachments(text, self.attached)
        self.attached, self.attached_names = [], []
        self.view.begin()
        try:
            turn = self._follow(self.conv.stream(message))
            while turn is not None and turn.status == "awaiting_approval":
                turn = self._approve(turn)
        except KeyboardInterrupt:
            # The engine recorded what is known of each call (real results; calls that were
            # running are in doubt, the others "not run"): the history stays valid.
            self.view.end()
            self.view.error("(turn cancelled; the conversation continues — Ctrl-C again quits)")
            doubt = [c.name for c in self.conv.pending_approvals if c.id in self.conv.in_doubt]
            if doubt:
                self.view.error(
                    f"({', '.join(doubt)} was running: whether it finished is unknown; your "
                    "next message tells the model so)"
                )
            self.interrupted = True
        except ConflictError:
            # Another window (or process) wrote to this session first: nothing of ours was
            # written. Take its steps and let the user send again; no turn is lost.
            self.view.end()
            old = self.conv
            self.conv = self.sessions.load(old.id, client=old.client, tools=[old.tools])
            self.conv.compaction, self.conv.limits = old.compaction, old.limits
            self.view.error(
                f"another window changed session {self.name!r}: reloaded it "
                f"({plural(len(self.conv.history), 'step')}); send your message again"
            )
            self.failed += 1  # this message was not sent
        except AgentloopError as exc:
            self.view.end()
            partial = exc.turn
            if partial is not None:
                self._count(partial)
            self.view.error(f"error: {exc}")
            self.failed += 1
        else:
            if turn is not None:
                self._count(turn)
        finally:
            self.view.end()
            self.save()

    def _follow(self, events: Any) -> Any:
        turn = None
        for event in events:
            log_event(event)
            self.view.event(event)
            if event.type == "turn_completed":
                turn = event.turn
        return turn

    def _approve(self, turn: Any) -> Any:
        for call in turn.pending_approvals:
            if self.approve_all:
                self.conv.approve(call.id)
                continue
            answer = self.reader.read(
                f"approve {call_text(call)}? [y/N/a=all this turn] ", question=True
            )
            choice = (answer or "").strip().lower()
            if answer is not None and not self.reader.interactive and choice not in _ANSWERS:
                # A script's next line that is not an answer is its next message: given
                # back, and the call is not approved (a terminal's "N" default).
                self.reader.unread(answer)
                self.note(f"not approved: {answer[:40]!r} is not an answer (y/N/a); sent next")
                choice = "n"
            if choice in ("a", "all"):
                self.approve_all = True
            if choice in ("y", "yes", "a", "all"):
                self.conv.approve(call.id)
            else:
                self.conv.reject(call.id, "the user did not approve this call")
        self._count(turn)
        self.view.begin()
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
        if name == "/attach":
            self.attach(arg)
        elif name == "/strategy":
            if arg:
                if arg not in ("stateful", "stateless"):
                    self.note(f"unknown strategy {arg!r}; use stateful or stateless")
                else:
                    self.conv.strategy = arg
                    self.save()
                    self.note(f"strategy: {arg} (the history carries over)")
            else:
                self.note(f"strategy: {self.conv.strategy}")
        elif name == "/model":
            if arg:
                try:
                    self.conv.model = check_model(arg)
                except UsageError as exc:
                    self.note(str(exc).replace("--model ", ""))
                else:
                    self.save()
                    self.note(f"model: {arg} (from the next turn; the history carries over)")
            else:
                self.note(f"model: {self.conv.model}")
        elif name == "/tools":
            tools = list(self.conv.tools)
            if not tools:
                self.note("no tools (start the chat with --tools FILE_OR_MODULE)")
            for t in tools:
                ask = " (asks for approval)" if t.requires_approval else ""
                self.note(f"  {t.name}{ask}: {short(t.description or '', 80)}")
        elif name == "/history":
            history = self.conv.history
            self.note(f"{plural(len(history), 'step')} in session {self.name!r}:")
            for i, step in enumerate(history):
                self.note(step_line(i, step))
        elif name == "/usage":
            self.note(self.usage_text())
            self.note(usage_line(self.conv))
        elif name == "/clear":
            self.save()
            old = self.name
            self.conv = self.make_conv(self.conv)
            self.meta = {k: v for k, v in self.meta.items() if k not in ("title", "updated")}
            self.requests, self.tokens = 0, {}
            kept = f"session {old!r} is kept" if old in self.sessions else f"{old!r} was empty"
            self.note(f"new session {self.name!r} ({kept})")
        elif name in ("/turns", "/fork", "/rewind", "/branches"):
            self.time_travel(name, arg)
        elif name == "/save":
            self.save()
            if self.name in self.sessions:
                self.note(f"saved session {self.name!r} to {self.sessions.where}")
            else:
                self.note(f"session {self.name!r} has no messages yet: nothing to save")
        elif name == "/help":
            for cmd, text in COMMANDS.items():
                self.note(f"  {cmd:<10} {text}")
            self.note('  """        start or end a message of several lines (Alt+Enter too)')
        else:
            self.note(f"unknown command {name}; try {', '.join(COMMANDS)}")
        return True

    def attach(self, path: str) -> None:
        """``/attach FILE``: the file goes with the next message."""
        if not path:
            pending = ", ".join(self.attached_names) or "none"
            self.note(f"attached to your next message: {pending} (add one: /attach FILE)")
            return
        try:
            (block,) = attachments([path])
        except UsageError as exc:
            self.note(str(exc))
            return
        self.attached.append(block)
        self.attached_names.append(path)
        self.note(f"attached {path} ({block.mime_type}) to your next message")

    # --- time travel (/turns, /fork, /rewind, /branches) ------------------------------------------

    def time_travel(self, name: str, arg: str) -> None:
        from agentloop.errors import AgentloopError

        try:
            if name == "/turns":
                turns = self.conv.turns
                self.note(f"{plural(len(turns), 'turn')} in session {self.name!r}:")
                for info in turns:
                    self.note(turn_line(info))
            elif name == "/fork":
                self._fork(_turn_arg(arg, "/fork N"))
            elif name == "/rewind":
                count = _turn_arg(arg, "/rewind N")
                self.conv.rewind(1 if count is None else count)
                self.save()
                self.note(
                    f"went back to {plural(len(self.conv.turns), 'turn')} (the turns left are "
                    "kept in the session's journal; /fork first to go on with them too)"
                )
            elif arg:
                self._switch(arg)
            else:
                root, children = self.sessions.family(self.name)
                for line in branch_lines(root, children, current=self.name):
                    self.note(f"  {line}")
        except (AgentloopError, UsageError) as exc:
            self.note(f"error: {exc}")

    def _fork(self, at: int | None) -> None:
        self.save()
        old = self.name
        base = old[:100]
        n = 1
        while f"{base}-fork{n}" in self.sessions:
            n += 1
        fork = self.conv.fork(at, id=f"{base}-fork{n}")
        self.conv = fork
        self.meta = {k: v for k, v in self.meta.items() if k != "updated"}
        self.save()
        where = "now" if at is None else f"turn {fork.turns[-1].index}" if fork.turns else "start"
        self.note(f"new branch {self.name!r} from {old!r} at {where} (session {old!r} is kept)")

    def _switch(self, id: str) -> None:
        if id not in self.sessions:
            raise UsageError(f"no session {id!r}; /branches lists this session's branches")
        self.save()
        old = self.conv
        self.conv = self.sessions.load(id, client=old.client, tools=[old.tools])
        self.conv.compaction, self.conv.limits = old.compaction, old.limits
        self.meta = self.sessions.meta(id)
        self.note(f"switched to session {id!r} ({plural(len(self.conv.turns), 'turn')})")

    def usage_text(self) -> str:
        """The /usage line (a hook: other features may add cost or limits here)."""
        parts = ", ".join(f"{k.removeprefix('total_')}={v}" for k, v in self.tokens.items())
        requests = plural(self.requests, "model request")
        return f"usage this session: {requests}; {parts or 'no tokens'}"

    def loop(self) -> None:
        prompt = "you> "
        self.interrupted = False
        while True:
            try:
                line = self.reader.read(prompt)
            except KeyboardInterrupt:
                if self.interrupted:
                    break
                self.interrupted = True
                self.view.note("(Ctrl-C again, /exit or Ctrl-D quits)")
                continue
            if line is None:
                break
            self.interrupted = False
            if not line.strip():
                continue
            if line.strip().startswith("/"):
                if not self.command(line.strip()):
                    break
                continue
            self.turn(line)


def _turn_arg(arg: str, form: str) -> int | None:
    if not arg:
        return None
    try:
        return int(arg)
    except ValueError:
        raise UsageError(f"{arg!r} is not a turn number; use {form} (see /turns)") from None


def _history_file() -> Path:
    home = os.environ.get("AGENTLOOP_HOME")
    base = Path(home) if home else Path.home() / ".agentloop"
    return base / "chat_history"


_TEMPLATED = frozenset({"model", "system_instruction", "generation_config"})


def run_chat(args: argparse.Namespace) -> int:
    from agentloop import Conversation
    from agentloop.stores.sessions import open_sessions

    model = check_model(args.model) if args.model else None
    config = generation_config(args)
    attachments(args.attach)  # a missing or unknown file is an error before anything starts
    sessions = open_sessions(args.store)
    try:
        name = args.session
        if args.continue_last:
            infos = sessions.list()
            if not infos:
                raise UsageError(f"-c: there is no session to continue in {sessions.where}")
            name = infos[0].id
        resuming = name is not None and name in sessions
        meta = sessions.meta(name) if resuming else {}
        if resuming:  # the session's own settings win over the config file's defaults
            for key in getattr(args, "from_config", ()):
                setattr(args, key, None)
            model = check_model(args.model) if args.model else None
            config = generation_config(args)
        tool_specs, option = args.tools, tools_option(args)
        if tool_specs is None and resuming:
            tool_specs = meta.get("tools") or None  # the tools the session was started with
            option = tools_option(args, name)
        agent_spec = getattr(args, "agent", None)
        if agent_spec is None and resuming and args.tools is None:
            agent_spec = meta.get("agent") or None  # the agent the session was started with
        agent = load_agent(agent_spec)
        from_agent = agent_settings(agent, args)
        servers = mcp_toolsets(args.mcp, args.mcp_url)
        tools: list[Any] = [
            *(from_agent.pop("tools", None) or load_tools(tool_specs, option)),
            *servers,
        ]
        long_loop_settings(args, model or model_of(args))  # check the flags before anything
        if args.tools is not None or not resuming:
            meta["tools"] = saved_tool_specs(args.tools)
        if agent_spec is not None:
            where, _, variable = agent_spec.rpartition(":")
            path = Path(where)
            meta["agent"] = f"{path.resolve()}:{variable}" if path.is_file() else agent_spec
        backend = open_backend(args.backend)
        backend.announce()
        try:
            if resuming:
                overrides = {
                    k: v
                    for k, v in (
                        ("model", model),
                        ("strategy", args.strategy),
                        ("system_instruction", args.system),
                        ("generation_config", config),
                    )
                    if v is not None
                }
                conv = sessions.load(name, client=backend.client, tools=tools, **overrides)
                if agent is not None:
                    agent._attach(conv)
                what = f"resumed session {name!r} ({plural(len(conv.history), 'step')})"
            else:
                name = name or _new_session_id()
                conv = None
                what = f"new session {name!r} (resume with: agentloop chat --session {name})"

            def make_conv(template: Any = None, id: str | None = None) -> Any:
                """A new, empty conversation with ``template``'s settings (else the options')."""
                t = template
                settings: dict[str, Any] = {
                    "model": t.model if t is not None else model_of(args),
                    "tools": tools,
                    "strategy": t.strategy if t is not None else (args.strategy or "stateful"),
                    "system_instruction": t.system_instruction if t is not None else args.system,
                    "generation_config": t.generation_config if t is not None else config,
                }
                settings.update(
                    {k: v for k, v in from_agent.items() if t is None or k not in _TEMPLATED}
                )
                new = sessions.create(
                    Conversation,
                    backend.client,
                    id=id or _new_session_id(),
                    **settings,
                )
                if agent is not None:
                    agent._attach(new)
                for key, value in long_loop_settings(args, new.model).items():
                    setattr(new, key, value)  # compaction=, limits= (priced for its model)
                return new

            if conv is None:
                conv = make_conv(None, name)
            else:
                for key, value in long_loop_settings(args, conv.model).items():
                    setattr(conv, key, value)  # compaction=, limits= (priced for its model)
            tool_names = ", ".join(conv.tools.names) or "none"
            print(
                f"{what}; model {conv.model}, strategy {conv.strategy}, tools: {tool_names}. "
                "Type /help for commands.",
                file=sys.stderr,
                flush=True,
            )
            chat = _Chat(conv, sessions, meta, _Input(_history_file()), _view(), make_conv)
            for path in args.attach:
                chat.attach(path)
            chat.loop()
            chat.save()
        finally:
            backend.close()
            for server in servers:
                server.close()
    finally:
        sessions.close()
    if chat.failed and not chat.reader.interactive:
        # A script (stdin not a terminal) learns that some of its messages failed.
        print(f"{plural(chat.failed, 'turn')} failed (see the errors above)", file=sys.stderr)
        return 1
    return 0
