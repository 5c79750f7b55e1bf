"""``agentloop a2a serve --agent file.py:NAME``: serve an ``agentloop.Agent`` over A2A.

The a2a-sdk (extra ``agentloop[a2a]``) is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import UsageError, a_or_an

__all__ = ["add_parser", "run_a2a"]

EXAMPLES = """\
examples:
  agentloop a2a serve --agent agents.py:support
  agentloop a2a serve --agent agents.py:support --port 9000 --store sessions.db
  agentloop a2a serve --agent agents.py:support --host 0.0.0.0 --token "$A2A_TOKEN"
"""


def add_parser(sub: Any) -> None:
    """The ``a2a`` command and its ``serve`` action."""
    parser = sub.add_parser(
        "a2a",
        help="A2A: serve an agent over the Agent2Agent protocol (needs agentloop[a2a])",
        description="Serve an agentloop Agent to other agents over the Agent2Agent (A2A) "
        "protocol. Call remote A2A agents from Python with agentloop.a2a.A2AAgent.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="a2a_command", metavar="ACTION", parser_class=type(parser))
    serve = actions.add_parser(
        "serve",
        help="serve an agent (card at /.well-known/agent-card.json, JSON-RPC at /)",
        description="Serve an agentloop Agent over A2A. Each A2A context is a journaled "
        "conversation in --store, so contexts go on after a restart.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--agent",
        required=True,
        metavar="FILE.py:NAME",
        help="the Agent to serve: a .py file (or module) and the variable holding it",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any)")
    serve.add_argument(
        "--store",
        metavar="PATH_OR_URL",
        default=None,
        help="where contexts are journaled: a SQLite file, sqlite:///path or postgresql://... "
        "(default $AGENTLOOP_HOME/sessions.db or ~/.agentloop/sessions.db)",
    )
    serve.add_argument(
        "--token",
        metavar="SECRET",
        default=None,
        help="require 'Authorization: Bearer SECRET' on every A2A request; needed to bind "
        "beyond loopback",
    )
    from . import _backend_flags, _verbose_flag

    _backend_flags(serve)
    _verbose_flag(serve)


def run_a2a(args: argparse.Namespace) -> int:
    if args.a2a_command != "serve":
        raise UsageError("say what to do: agentloop a2a serve --agent file.py:NAME")
    from .serve import check_bind, listen, run_app

    check_bind(args)
    try:
        import uvicorn  # noqa: F401

        from agentloop.a2a import create_app
    except ImportError as exc:
        raise UsageError(
            f"agentloop a2a needs the [a2a] extra ({exc.name} is missing): "
            "pip install 'agentloop[a2a]'"
        ) from None
    from agentloop.agents import Agent
    from agentloop.errors import ConfigurationError

    from ._agentref import load_agent_ref
    from ._common import open_backend

    agent = load_agent_ref(args.agent)
    if not isinstance(agent, Agent):
        raise UsageError(
            f"--agent {args.agent!r} is {a_or_an(type(agent).__name__)}; agentloop a2a serve "
            "serves an agentloop.Agent"
        )
    store = args.store
    if store is None:
        from agentloop.stores.sessions import default_store_path

        path = default_store_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        store = str(path)
    backend = open_backend(args.backend, asynchronous=True)
    try:
        app = create_app(agent, store, client=backend.client, token=args.token)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    sock, url = listen(args)
    backend.announce()
    print(
        f"agentloop A2A agent {agent.name!r} on {url}/ "
        f"(card: /.well-known/agent-card.json; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    run_app(app, sock, args.verbose)
    return 0
