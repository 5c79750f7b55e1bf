"""The ``agentloop`` command: ``demo``, ``chat``, ``run``, ``serve``, ``sessions``, ``mcp``,
``a2a``, ``emulator``.

Also ``python -m agentloop``. Subcommands import their modules (and the client, the emulator,
uvicorn) only when they run, so ``import agentloop.cli`` stays cheap.

Adding a command: write ``_add_NAME(sub)`` (its options, each with a help text) and a handler
``run_NAME(args) -> int`` in its own module, then list both in ``_COMMANDS`` below.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from agentloop._defaults import DEFAULT_MODEL

from ._common import UsageError
from ._otel import add_otel_flag

__all__ = ["main"]

THINKING_LEVELS = ("minimal", "low", "medium", "high")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit code 2) instead of the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _backend_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--real",
        dest="backend",
        action="store_const",
        const="real",
        help="use the real API; fail if GEMINI_API_KEY is not set",
    )
    group.add_argument(
        "--offline",
        "--emulator",
        dest="backend",
        action="store_const",
        const="offline",
        help="use the bundled emulator even if GEMINI_API_KEY is set",
    )
    p.set_defaults(backend="auto")


def _verbose_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what agentloop does (requests, retries, tool calls) on stderr",
    )


def _model_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=None,
        help=f"model id (default: the config file's, else {DEFAULT_MODEL})",
    )


def _attach_flag(p: argparse.ArgumentParser, when: str) -> None:
    p.add_argument(
        "-a",
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help=f"send a file with {when}: an image, PDF, audio or video file (the media "
        "type comes from the extension); repeatable",
    )


def _tools_flag(p: argparse.ArgumentParser, who: str) -> None:
    p.add_argument(
        "--tools",
        action="append",
        metavar="FILE_OR_MODULE",
        help=f"a .py file or module whose @tool (or public) functions {who} may call; repeatable",
    )


def _agent_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--agent",
        metavar="FILE.py:NAME",
        help="run the agentloop.Agent called NAME in FILE.py (or module:NAME): its "
        "instructions, model, tools, sub-agents and handoffs",
    )


def _store_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="PATH_OR_URL",
        default=None,
        help="where sessions are kept: a SQLite file, sqlite:///path or postgresql://... "
        "(default $AGENTLOOP_HOME/sessions.db or ~/.agentloop/sessions.db)",
    )


def _mcp_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mcp",
        action="append",
        metavar='"COMMAND ARGS"',
        help="an MCP server to run (stdio) whose tools the model may call; repeatable",
    )
    p.add_argument(
        "--mcp-url",
        action="append",
        metavar="URL",
        help="an MCP server reached over streamable HTTP; repeatable",
    )


def _generation_flags(p: argparse.ArgumentParser) -> None:
    """--temperature, --thinking-level and -o key=value (the generation_config)."""
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        metavar="T",
        help="sampling temperature, e.g. 0.2 (default: the model's)",
    )
    p.add_argument(
        "--thinking-level",
        choices=THINKING_LEVELS,
        default=None,
        help="how much the model thinks before answering (default: the model's)",
    )
    p.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any generation_config field, e.g. -o max_output_tokens=200 -o seed=7 "
        "(VALUE is read as JSON when it parses, else as text); repeatable",
    )


def _add_demo(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="a short tour: streaming, a tool loop, strategies, structured output",
        description="A short tour: a streamed turn, a tool loop, a strategy switch and "
        "structured output. Offline on the bundled emulator without GEMINI_API_KEY.",
        epilog=_examples("agentloop demo", "agentloop demo --model gemini-3.5-flash-lite"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _model_flag(demo)
    _backend_flags(demo)
    _verbose_flag(demo)


def _add_chat(sub: Any) -> None:
    chat = sub.add_parser(
        "chat",
        help="interactive chat with tools and saved sessions",
        description="An interactive chat that streams, runs tools and saves the session "
        "after every turn. Type /help inside for its commands.",
        epilog=_examples(
            "agentloop chat",
            "agentloop chat --tools tools.py --session work",
            "agentloop chat -c                      # continue the last session",
            "printf 'hi\\n' | agentloop chat         # scripted, one message per line",
            "agentloop chat -a photo.jpg             # the first message carries the image",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _model_flag(chat)
    _tools_flag(chat, "the model")
    _agent_flag(chat)
    _mcp_flags(chat)
    chat.add_argument(
        "--strategy",
        choices=["stateful", "stateless"],
        default=None,
        help="stateful (server keeps history, default) or stateless (store=false)",
    )
    chat.add_argument("--system", metavar="TEXT", default=None, help="system instruction")
    _attach_flag(chat, "the first message (/attach FILE in the chat adds more)")
    session = chat.add_mutually_exclusive_group()
    session.add_argument(
        "--session", metavar="NAME", default=None, help="resume (or start) the session NAME"
    )
    session.add_argument(
        "-c",
        "--continue",
        dest="continue_last",
        action="store_true",
        help="continue the most recently used session",
    )
    _store_flag(chat)
    _generation_flags(chat)
    _backend_flags(chat)
    _verbose_flag(chat)
    add_otel_flag(chat)
    from ._limits import add_long_loop_flags

    add_long_loop_flags(chat)


def _add_run(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run an autonomous task with tools until it is done",
        description="An autonomous tool loop: progress on stderr, the answer on stdout. "
        "Exit code 0 when the task completed, 1 when it failed.",
        epilog=_examples(
            'agentloop run "What is the weather in Lisbon?" --tools weather.py',
            "agentloop run - --json < task.txt       # the task from stdin, the turn as JSON",
            'agentloop run "Migrate the db" --tools ops.py --session migrate   # journaled',
            "agentloop run --session migrate --resume --tools ops.py   # after a crash",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "task",
        metavar="TASK",
        nargs="?",
        default=None,
        help="what the agent should do ('-' reads it from stdin; optional with --resume)",
    )
    run.add_argument(
        "--session",
        metavar="NAME",
        default=None,
        help="journal every step to the session NAME in the store; an existing session "
        "gets TASK as its next turn",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="finish the session's turn that a crash or kill cut short (needs --session): "
        "journaled tool results are reused; a call that may have run asks for approval",
    )
    _attach_flag(run, "the task")
    _store_flag(run)
    _tools_flag(run, "the agent")
    _agent_flag(run)
    _mcp_flags(run)
    run.add_argument(
        "--max-steps",
        type=int,
        default=None,
        metavar="N",
        help="most model requests before giving up (default 10; a session keeps its own)",
    )
    _model_flag(run)
    run.add_argument(
        "--system",
        metavar="TEXT",
        default=None,
        help="system instruction (default: a short autonomous-agent prompt)",
    )
    run.add_argument(
        "--strategy",
        choices=["stateful", "stateless"],
        default=None,
        help="stateful (default) or stateless (store=false)",
    )
    run.add_argument(
        "--yes",
        action="store_true",
        help="approve every call that waits for approval (default: ask on a terminal, else "
        "reject). With --resume this includes the calls that were running when the run "
        "stopped: they run again, a second time if they had finished; calls with a journaled "
        "result are never run again",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the finished turn as JSON on stdout (progress on stderr)",
    )
    _generation_flags(run)
    _backend_flags(run)
    _verbose_flag(run)
    add_otel_flag(run)
    from ._limits import add_long_loop_flags

    add_long_loop_flags(run)


def _add_serve(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve a web chat and the AG-UI endpoint (needs agentloop[web])",
        description="Serve the web chat page (GET /) and the AG-UI protocol (POST /agui). "
        "Turns keep running when a tab is closed; sessions live in the store.",
        epilog=_examples(
            "agentloop serve --tools tools.py                 # http://127.0.0.1:8000",
            "agentloop serve --host 0.0.0.0 --token S3CRET     # beyond loopback: token needed",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _tools_flag(serve, "the model")
    _agent_flag(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    _store_flag(serve)
    serve.add_argument(
        "--token",
        default=None,
        help="require 'Authorization: Bearer TOKEN' on every API request (the page asks for it "
        "once); required when --host is not a loopback address",
    )
    _model_flag(serve)
    serve.add_argument("--system", metavar="TEXT", default=None, help="system instruction")
    serve.add_argument(
        "--strategy",
        choices=["stateful", "stateless"],
        default=None,
        help="strategy of new sessions (default stateful); switchable in the page",
    )
    _generation_flags(serve)
    _backend_flags(serve)
    _verbose_flag(serve)
    add_otel_flag(serve)


def _add_sessions(sub: Any) -> None:
    sessions = sub.add_parser(
        "sessions",
        help="list, show, search or delete saved chat sessions",
        description="The sessions of agentloop chat and agentloop serve.",
        epilog=_examples(
            "agentloop sessions                     # list, newest first",
            "agentloop sessions show work",
            "agentloop sessions delete work old-1",
            'agentloop sessions search "invoice"     # sessions whose messages mention it',
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sessions.add_argument(
        "action",
        nargs="?",
        choices=["list", "show", "delete", "search"],
        default="list",
        help="list (default), show a session's history, delete sessions, or search their "
        "messages for TEXT",
    )
    sessions.add_argument(
        "ids", nargs="*", metavar="ID|TEXT", help="session ids (show, delete); TEXT (search)"
    )
    _store_flag(sessions)
    sessions.add_argument(
        "--json", action="store_true", help="print JSON instead of text (list, show, search)"
    )
    _verbose_flag(sessions)


def _add_mcp(sub: Any) -> None:
    mcp = sub.add_parser(
        "mcp",
        help="MCP: serve @tool functions to other MCP clients (needs agentloop[mcp])",
        description="Model Context Protocol. For MCP servers' tools in chat and run, see their "
        "--mcp and --mcp-url options.",
        epilog=_examples("agentloop mcp serve --tools tools.py --name my-tools"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", parser_class=_Parser)
    serve = actions.add_parser(
        "serve",
        help="serve the tools of --tools files over MCP on stdin/stdout",
        description="An MCP server (stdio) for the @tool functions of --tools: point an MCP "
        "client's server command at it. stdout carries the protocol; logs go to stderr.",
    )
    serve.add_argument(
        "--tools",
        action="append",
        required=True,
        metavar="FILE_OR_MODULE",
        help="a .py file or module whose @tool (or public) functions to serve; repeatable",
    )
    serve.add_argument("--name", default="agentloop", help="server name shown to clients")
    serve.add_argument(
        "--allow-approval-tools",
        action="store_true",
        help="also serve tools that require approval (the MCP client's user approves calls)",
    )
    _verbose_flag(serve)


# name -> (add the parser, "module:function" that runs it)
_COMMANDS: dict[str, tuple[Callable[[Any], None], str]] = {
    "demo": (_add_demo, "demo:run_demo"),
    "chat": (_add_chat, "chat:run_chat"),
    "run": (_add_run, "run:run_task"),
    "serve": (_add_serve, "serve:run_serve"),
    "sessions": (_add_sessions, "sessions:run_sessions"),
    "mcp": (_add_mcp, "mcp:run_mcp"),
}

from .models import add_models_parser as _add_models  # noqa: E402

_COMMANDS["models"] = (_add_models, "models:run_models")


# Durable tasks (agentloop.durable): their parsers live in worker.py and tasks.py.
from . import a2a as _a2a_cli  # noqa: E402
from . import tasks as _tasks_cli  # noqa: E402
from . import worker as _worker_cli  # noqa: E402

_COMMANDS.update(
    worker=(_worker_cli.add_parser, "worker:run_worker"),
    submit=(_tasks_cli.add_submit_parser, "tasks:run_submit"),
    tasks=(_tasks_cli.add_tasks_parser, "tasks:run_tasks"),
    a2a=(_a2a_cli.add_parser, "a2a:run_a2a"),
)

# Evals (agentloop.evals): the parser lives in eval.py.
from . import eval as _eval_cli  # noqa: E402

_COMMANDS["eval"] = (_eval_cli.add_parser, "eval:run_eval")


def _parser() -> argparse.ArgumentParser:
    """The command line's parser, its epilog naming the config file of the moment."""
    from ._config import config_path

    parser = _commands_parser()
    parser.epilog = (
        f"Defaults for --model, --system, --tools, --store, --strategy, --temperature "
        f"and --thinking-level can be set in {config_path()} (TOML). "
        "Run 'agentloop COMMAND --help' for a command's options and examples."
    )
    return parser


@functools.cache
def _commands_parser() -> argparse.ArgumentParser:
    # Built once per process: argparse takes ~4 ms to build every command's options, and
    # main() may run many times in one process (tests, programs that embed the CLI). Parsing
    # does not change a parser.
    parser = _Parser(
        prog="agentloop",
        description="Chatbots and autonomous tool-using agents on the Gemini Interactions API. "
        "Without GEMINI_API_KEY every command runs offline on the bundled emulator.",
    )
    from agentloop import __version__

    parser.add_argument("--version", action="version", version=f"agentloop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add, _ in _COMMANDS.values():
        add(sub)
    sub.add_parser(
        "emulator", help="serve a local emulator of the Interactions API", add_help=False
    )
    return parser


def _utf8_safe() -> None:
    # Model text is Unicode; a C-locale terminal must not crash the CLI on a non-ASCII sign.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def _verbose() -> None:
    import logging

    logger = logging.getLogger("agentloop")
    if not any(getattr(h, "_agentloop_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._agentloop_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _apply_config(args: argparse.Namespace) -> None:
    """Fill options the command line left unset from the user's config file."""
    from ._config import load_config

    config = load_config()
    args.from_config = set()  # a resumed chat keeps its own settings over these defaults
    for key, value in config.items():
        if getattr(args, key, "absent") is None:
            setattr(args, key, value)
            args.from_config.add(key)


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    import importlib

    module, _, function = _COMMANDS[command][1].partition(":")
    handler: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(f"{__name__}.{module}"), function
    )
    return handler


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Any:
    """The parser of the (sub)command ``args`` were parsed for (``parser`` itself if none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices.get(getattr(args, action.dest, None) or "")
            if sub is not None:
                return _command_parser(sub, args)
    return parser


def _quiet_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Run the ``agentloop`` command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    _utf8_safe()
    if args_list[:1] == ["emulator"]:
        # The emulator owns its flags (agentloop.testing.server); pass them through untouched.
        from agentloop.testing.server import main as emulator_main

        return emulator_main(args_list[1:])
    parser = _parser()
    try:
        args, unknown = parser.parse_known_args(args_list)
        if unknown:  # said by the command's own parser, which names its own --help
            _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    stop_tracing = None
    try:
        if getattr(args, "verbose", False):
            _verbose()
        _apply_config(args)
        stop_tracing = _tracing(args)
        with _one_line_warnings(args.command):
            return int(_handler(args.command)(args))
    except ImportError as exc:
        from ._extras import extra_message

        message = extra_message(args.command, exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"agentloop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nagentloop {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout left (``agentloop sessions | head``): stop quietly, as Unix
        # tools do; stdout goes to devnull so the interpreter's final flush cannot fail again.
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a killed writer
    except Exception as exc:
        from agentloop.errors import AgentloopError

        if not isinstance(exc, AgentloopError):
            raise
        from agentloop.errors import ConfigurationError

        if isinstance(exc, ConfigurationError):  # a setting that cannot work: usage, exit 2
            print(f"agentloop {args.command}: error: {exc}", file=sys.stderr)
            return 2
        print(f"agentloop {args.command}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        if stop_tracing is not None:
            stop_tracing()


@contextlib.contextmanager
def _one_line_warnings(command: str) -> Iterator[None]:
    """agentloop's own warnings print as one line on stderr, each once."""
    import warnings

    from agentloop.errors import MissingToolsWarning

    def show(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
        print(f"agentloop {command}: warning: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("once", MissingToolsWarning)
        original = warnings.showwarning
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = original


def _tracing(args: argparse.Namespace) -> Callable[[], None] | None:
    """Start exporting traces when --otel or the OTEL_* variables ask for it."""
    from ._otel import OTEL_COMMANDS, exporter_choice, start_tracing

    if args.command not in OTEL_COMMANDS:
        return None
    exporter = exporter_choice(getattr(args, "otel", None))
    return start_tracing(args.command, exporter) if exporter else None
