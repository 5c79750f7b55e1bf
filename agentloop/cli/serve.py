"""``agentloop serve``: the web chat and the AG-UI endpoint, served by uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any

from ._common import UsageError, generation_config, model_of
from ._tools import agent_settings, load_agent, load_tools, tools_option

__all__ = ["check_bind", "is_loopback", "listen", "run_app", "run_serve"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _tool_specs(specs: list[str] | None) -> list[str]:
    # Files are recorded by absolute path, so a session keeps working from another folder.
    return [str(Path(s).resolve()) if Path(s).is_file() else s for s in specs or []]


def check_bind(args: argparse.Namespace) -> None:
    """The rule of every server command: loopback unless ``--token``; a valid ``--port``; a
    token that is not empty."""
    if args.token is not None and not args.token.strip():
        raise UsageError(
            "--token is empty (an unset variable?); give a secret, or leave --token out on loopback"
        )
    if not is_loopback(args.host) and not args.token:
        raise UsageError(
            f"--host {args.host} is reachable from other machines: pass --token SECRET too "
            "(or bind 127.0.0.1)"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")


def listen(args: argparse.Namespace) -> tuple[socket.socket, str]:
    """Bind ``--host``/``--port`` now (``--port 0``: a free one): the socket and the base URL
    to print. A port in use is a one-line error (a ``ConfigurationError``: exit 2) before
    anything says it serves."""
    from agentloop.testing.server import listen as listen_on

    sock = listen_on(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    return sock, f"http://{host}:{sock.getsockname()[1]}"


def run_app(app: Any, sock: socket.socket, verbose: bool) -> None:
    """Serve ``app`` with uvicorn on the bound ``sock`` until Ctrl-C."""
    import uvicorn

    config = uvicorn.Config(app, log_level="info" if verbose else "warning")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def run_serve(args: argparse.Namespace) -> int:
    check_bind(args)
    try:
        import uvicorn  # noqa: F401

        from agentloop.web import create_app
    except ImportError as exc:
        raise UsageError(
            f"agentloop serve needs the [web] extra ({exc.name} is missing): "
            "pip install 'agentloop[web]'"
        ) from None
    from ._common import open_backend

    agent = load_agent(getattr(args, "agent", None))
    if agent is not None:
        agent_settings(agent, args)  # refuses --tools/--system beside --agent
    model = model_of(args) if agent is None or args.model or agent.model is None else agent.model
    tools = load_tools(args.tools, tools_option(args))
    backend = open_backend(args.backend, asynchronous=True)
    app = create_app(
        tools=tools,
        store=args.store,
        client=backend.client,
        model=model,
        system_instruction=args.system,
        strategy=args.strategy or "stateful",
        generation_config=generation_config(args),
        token=args.token,
        meta={"tools": _tool_specs(args.tools)},
        offline=backend.offline,
        backend_note=backend.description,
        agent=agent,
    )
    sock, url = listen(args)
    backend.announce()
    print(f"agentloop web chat on {url}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
    run_app(app, sock, args.verbose)
    return 0
