"""The web chat and the AG-UI endpoint (extra ``agentloop[web]``: starlette, uvicorn,
ag-ui-protocol).

``create_app(tools=[...])`` returns an ASGI app: ``GET /`` is a chat page (plain HTML/CSS/JS
shipped here, no build step, works offline), ``POST /agui`` speaks the AG-UI protocol, and
``/api/sessions`` lists, shows, switches and deletes sessions. ``agentloop serve`` runs it with
uvicorn. starlette and ag-ui are imported only when ``create_app`` is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        try:
            from ._app import create_app
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            from agentloop.errors import AgentloopError

            raise AgentloopError(
                f"the web chat needs the [web] extra ({exc.name} is missing): "
                "pip install 'agentloop[web]'"
            ) from None
        return create_app
    raise AttributeError(f"module 'agentloop.web' has no attribute {name!r}")
