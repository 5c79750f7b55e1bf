"""The web app's routes: the page, its assets, the sessions API and the AG-UI endpoint.

Handlers are plain module functions that find the app's state on ``request.app.state.web``
(``WebState``); ``routes()`` lists them, so another feature adds an endpoint with one more
``Route``. Who may call them is decided before any route runs (``_guard.Guard``); errors
become JSON answers in one place (``EXCEPTION_HANDLERS``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ag_ui.core import RunAgentInput
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentloop._guard import Refused
from agentloop.errors import AgentloopError, SnapshotError, StoreError, TurnInProgressError
from agentloop.stores.sessions import valid_session_id

if TYPE_CHECKING:
    from ._app import _Hub

log = logging.getLogger("agentloop.web")

__all__ = ["EXCEPTION_HANDLERS", "STATIC", "STRATEGIES", "WebState", "routes"]

STRATEGIES = ("stateful", "stateless")
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "markdown.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


@dataclass
class WebState:
    """What the handlers need: the sessions hub, the page's info, the page and its assets."""

    hub: _Hub
    info: dict[str, Any]
    index_html: bytes
    assets: dict[str, bytes]


def _web(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def _sse(frames: AsyncIterator[str], request: Request) -> StreamingResponse:
    return StreamingResponse(
        _while_connected(frames, request),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _while_connected(frames: AsyncIterator[str], request: Request) -> AsyncIterator[str]:
    """Stop following when the client has gone (the run goes on; ``/events`` replays it):
    writing on to a closed connection costs a warning a frame."""
    try:
        async for frame in frames:
            if await request.is_disconnected():
                return
            yield frame
    finally:
        await frames.aclose()  # type: ignore[attr-defined]


def _user_text(message: Any) -> str:
    content = getattr(message, "content", None)
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        text = getattr(part, "text", None)
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts)


async def _json_body(request: Request) -> Any:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        raise Refused(415, "send JSON (Content-Type: application/json)")
    try:
        return json.loads(await request.body())
    except (ValueError, RecursionError) as exc:
        raise Refused(400, f"the body is not JSON: {exc}") from None


async def page(request: Request) -> Response:
    return Response(
        _web(request).index_html,
        media_type="text/html; charset=utf-8",
        headers={"content-security-policy": _CSP, "x-content-type-options": "nosniff"},
    )


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    assets = _web(request).assets
    if name not in assets:
        return Response("not found", status_code=404)
    return Response(
        assets[name],
        media_type=STATIC[name],
        headers={"x-content-type-options": "nosniff", "cache-control": "no-cache"},
    )


async def info(request: Request) -> Response:
    return JSONResponse(_web(request).info)


async def list_sessions(request: Request) -> Response:
    return JSONResponse({"sessions": _web(request).hub.listing()})


async def get_session(request: Request) -> Response:
    hub = _web(request).hub
    return JSONResponse(hub.detail(hub.get(request.path_params["id"])))


async def patch_session(request: Request) -> Response:
    hub = _web(request).hub
    live = hub.get(request.path_params["id"], create=True)
    body = await _json_body(request)
    value = body.get("strategy") if isinstance(body, dict) else None
    if value not in STRATEGIES:
        raise Refused(400, 'send {"strategy": "stateful"} or {"strategy": "stateless"}')
    if live.running:
        raise Refused(409, "a turn is running; switch the strategy between turns")
    live.conv.strategy = value
    hub.save(live)
    return JSONResponse(hub.summary(live))


async def delete_session(request: Request) -> Response:
    id = request.path_params["id"]
    if not valid_session_id(id):
        raise Refused(400, f"{id!r} is not a session id")
    if not await _web(request).hub.delete(id):
        raise Refused(404, f"no session {id!r}")
    return JSONResponse({"deleted": id})


async def stop_session(request: Request) -> Response:
    hub = _web(request).hub
    hub.get(request.path_params["id"])  # an id that names no session: 400 or 404
    stopped = await hub.stop(request.path_params["id"])
    return JSONResponse({"stopped": stopped})


async def follow_session(request: Request) -> Response:
    live = _web(request).hub.get(request.path_params["id"])
    if live.run is None:
        raise Refused(404, "no run of this session in this server")
    return _sse(live.run.follow(), request)


async def get_branches(request: Request) -> Response:
    hub = _web(request).hub
    return JSONResponse(hub.branches(hub.get(request.path_params["id"])))


async def rerun(request: Request) -> Response:
    hub = _web(request).hub
    live = hub.get(request.path_params["id"])
    body = await _json_body(request)
    turn = body.get("turn") if isinstance(body, dict) else None
    if isinstance(turn, bool) or not isinstance(turn, int):
        raise Refused(400, 'send {"turn": N}: the index of the turn to re-run')
    return JSONResponse(await hub.rerun(live, turn))


async def agui(request: Request) -> Response:
    hub = _web(request).hub
    body = await _json_body(request)
    try:
        data = RunAgentInput.model_validate(body)
    except ValidationError as exc:
        raise Refused(400, f"not an AG-UI RunAgentInput: {exc}") from None
    if not data.run_id or len(data.run_id) > 128:
        raise Refused(400, "runId must be 1-128 characters (it names the run's messages)")
    props = data.forwarded_props if isinstance(data.forwarded_props, dict) else {}
    wanted = props.get("strategy")
    if wanted is not None and wanted not in STRATEGIES:
        raise Refused(400, f"forwardedProps.strategy {wanted!r}: stateful|stateless")
    decisions: dict[str, tuple[bool, str | None]] | None = None
    text: str | None = None
    if data.resume:
        decisions = {}
        for entry in data.resume:
            payload = entry.payload if isinstance(entry.payload, dict) else {}
            ok = entry.status == "resolved" and payload.get("approved") is True
            reason = payload.get("reason")
            decisions[entry.interrupt_id] = (ok, str(reason) if reason else None)
    else:
        last = data.messages[-1] if data.messages else None
        if last is None or getattr(last, "role", None) != "user":
            raise Refused(400, "the last message must be the user's new message")
        text = _user_text(last)
        if not text.strip():
            raise Refused(400, "the user's message is empty")
    # Only now, the request being sound, is a new thread's session made (a resume needs one).
    live = hub.get(data.thread_id, create=not data.resume)
    if wanted is not None and not live.running:
        live.conv.strategy = wanted
    run = hub.start(live, data.run_id, text, decisions)
    return _sse(run.follow(), request)


def routes() -> list[Route]:
    """Every route of the app (a feature adds its endpoint here)."""
    return [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/info", info),
        Route("/api/sessions", list_sessions),
        Route("/api/sessions/{id}", get_session, methods=["GET"]),
        Route("/api/sessions/{id}", patch_session, methods=["PATCH"]),
        Route("/api/sessions/{id}", delete_session, methods=["DELETE"]),
        Route("/api/sessions/{id}/stop", stop_session, methods=["POST"]),
        Route("/api/sessions/{id}/events", follow_session),
        Route("/api/sessions/{id}/branches", get_branches, methods=["GET"]),
        Route("/api/sessions/{id}/rerun", rerun, methods=["POST"]),
        Route("/agui", agui, methods=["POST"]),
    ]


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _in_progress(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=409)


async def _agentloop_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, (SnapshotError, StoreError)):  # the server's stored data, not the request
        log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        message = "the session's stored data cannot be read or written; the server's log says why"
        return JSONResponse({"error": message}, status_code=500)
    return JSONResponse({"error": str(exc)}, status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, a method not allowed), as JSON too."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Refused: _refused,
    TurnInProgressError: _in_progress,
    AgentloopError: _agentloop_error,
    HTTPException: _http_error,
}
