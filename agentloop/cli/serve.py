"""``agentloop serve``: the web chat and the AG-UI endpoint, served by uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from ._common import UsageError, generation_config, model_of
from ._tools import agent_settings, load_agent, load_tools

__all__ = ["check_bind", "is_loopback", "run_serve"]


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
    """The rule of every server command: loopback unless ``--token``; a valid ``--port``."""
    if not is_loopback(args.host) and not args.token:
        raise UsageError(
            f"--host {args.host} is reachable from other machines: pass --token SECRET too "
            "(or bind 127.0.0.1)"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")


def run_serve(args: argparse.Namespace) -> int:
    check_bind(args)
    try:
        import uvicorn

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
    tools = load_tools(args.tools)
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
    backend.announce()
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"agentloop web chat on http://{host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    level = "info" if args.verbose else "warning"
    uvicorn.run(app, host=args.host, port=args.port, log_level=level)
    return 0
