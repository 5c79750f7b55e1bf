"""A2A (Agent2Agent protocol) on the official a2a-sdk (extra ``agentloop[a2a]``).

- ``create_app(agent, store=None)``: serve an ``agentloop.Agent`` as an A2A server (an ASGI
  app; ``agentloop a2a serve --agent file.py:NAME`` runs it with uvicorn). Each A2A context is
  a journaled conversation, so it goes on after a restart.
- ``A2AAgent(url)``: a remote A2A agent as a tool (``tools=[A2AAgent(url)]``), like a
  sub-agent: one string parameter ``task``.

The a2a-sdk is imported only when one of these names is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import A2AAgent, RemoteProgress
    from ._server import create_app

__all__ = ["A2AAgent", "RemoteProgress", "create_app"]

_HOMES = {"create_app": "_server", "A2AAgent": "_client", "RemoteProgress": "_client"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agentloop.a2a' has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(f"{__name__}.{home}")
    except ImportError as exc:
        if not (exc.name or "").startswith(("a2a", "starlette", "sse_starlette", "google")):
            raise
        from agentloop.errors import ConfigurationError

        raise ConfigurationError(
            f"agentloop.a2a needs the [a2a] extra ({exc.name} is missing): "
            "pip install 'agentloop[a2a]'"
        ) from None
    return getattr(module, name)
