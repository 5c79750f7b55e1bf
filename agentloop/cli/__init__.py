"""The ``agentloop`` command: ``demo``, ``chat``, ``run``, ``emulator`` and ``mcp serve``.

Also ``python -m agentloop``. Subcommands import their modules (and the client, the emulator,
uvicorn) only when they run, so ``import agentloop.cli`` stays cheap.
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any, NoReturn

from ._common import UsageError

__all__ = ["main"]

DEFAULT_MODEL = "gemini-3.5-flash"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit code 2) instead of the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
        dest="backend",
        action="store_const",
        const="offline",
        help="use the bundled emulator even if GEMINI_API_KEY is set",
    )
    p.set_defaults(backend="auto")


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


def _parser() -> argparse.ArgumentParser:
    from ._limits import add_long_loop_flags

    parser = _Parser(
        prog="agentloop",
        description="Chatbots and autonomous tool-using agents on the Gemini Interactions API. "
        "Without GEMINI_API_KEY every command runs offline on the bundled emulator.",
    )
    from agentloop import __version__

    parser.add_argument("--version", action="version", version=f"agentloop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser(
        "demo", help="a short tour: streaming, a tool loop, strategies, structured output"
    )
    demo.add_argument("--model", default=DEFAULT_MODEL, help=f"model id (default {DEFAULT_MODEL})")
    _backend_flags(demo)

    chat = sub.add_parser("chat", help="interactive chat with tools and saved sessions")
    chat.add_argument("--model", default=None, help=f"model id (default {DEFAULT_MODEL})")
    chat.add_argument(
        "--tools",
        action="append",
        metavar="FILE_OR_MODULE",
        help="a .py file or module whose @tool (or public) functions the model "
        "may call; repeatable",
    )
    chat.add_argument(
        "--strategy",
        choices=["stateful", "stateless"],
        default=None,
        help="stateful (server keeps history, default) or stateless (store=false)",
    )
    chat.add_argument("--system", metavar="TEXT", default=None, help="system instruction")
    _mcp_flags(chat)
    chat.add_argument(
        "--session", metavar="NAME", default=None, help="resume (or start) the session NAME"
    )
    chat.add_argument(
        "--store",
        metavar="PATH",
        default=None,
        help="SQLite file of sessions (default $AGENTLOOP_HOME/sessions.db or "
        "~/.agentloop/sessions.db)",
    )
    _backend_flags(chat)
    add_long_loop_flags(chat)

    run = sub.add_parser("run", help="run an autonomous task with tools until it is done")
    run.add_argument("task", metavar="TASK", help="what the agent should do")
    run.add_argument(
        "--tools",
        action="append",
        metavar="FILE_OR_MODULE",
        help="a .py file or module whose @tool (or public) functions the agent "
        "may call; repeatable",
    )
    run.add_argument(
        "--max-steps",
        type=int,
        default=10,
        metavar="N",
        help="most model requests before giving up (default 10)",
    )
    run.add_argument("--model", default=DEFAULT_MODEL, help=f"model id (default {DEFAULT_MODEL})")
    run.add_argument(
        "--system",
        metavar="TEXT",
        default=None,
        help="system instruction (default: a short autonomous-agent prompt)",
    )
    run.add_argument("--strategy", choices=["stateful", "stateless"], default="stateful")
    _mcp_flags(run)
    run.add_argument(
        "--yes",
        action="store_true",
        help="approve tools that require approval (default: reject them)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the finished turn as JSON on stdout (progress on stderr)",
    )
    _backend_flags(run)
    add_long_loop_flags(run)

    sub.add_parser(
        "emulator", help="serve a local emulator of the Interactions API", add_help=False
    )

    mcp = sub.add_parser("mcp", help="MCP: serve @tool functions to other MCP clients")
    mcp_sub = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", parser_class=_Parser)
    serve = mcp_sub.add_parser("serve", help="serve the tools of --tools files over MCP (stdio)")
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
    return parser


def _utf8_safe() -> None:
    # Model text is Unicode; a C-locale terminal must not crash the CLI on a non-ASCII sign.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


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
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    handlers: dict[str, Any] = {"demo": _demo, "chat": _chat, "run": _run, "mcp": _mcp}
    try:
        return int(handlers[args.command](args))
    except UsageError as exc:
        print(f"agentloop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nagentloop {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from agentloop.errors import AgentloopError

        if not isinstance(exc, AgentloopError):
            raise
        print(f"agentloop {args.command}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args)


def _chat(args: argparse.Namespace) -> int:
    from .chat import run_chat

    return run_chat(args)


def _run(args: argparse.Namespace) -> int:
    from .run import run_task

    return run_task(args)


def _mcp(args: argparse.Namespace) -> int:
    from .mcp import run_mcp

    return run_mcp(args)
