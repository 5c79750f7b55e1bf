"""The request checks of every agentloop HTTP server (``agentloop serve``, ``agentloop a2a
serve``): the token, the Host header (DNS rebinding), the Origin header (cross-site
requests) and, for the web chat, the body size.

* ``refusal(request, token)``: pure function of the request headers, no I/O: without a token
  only loopback host names are served; a request that changes something (not ``GET``) must
  come from the page's own origin when the browser says where it comes from; with a token,
  every request but a ``public`` one carries ``Authorization: Bearer TOKEN``;
* ``Guard``: ASGI middleware that applies it before any route of the web chat runs (the page
  ``/`` is public, the static assets hold no data) and refuses a body larger than
  ``max_body`` bytes (413) before it is read whole;
* ``failure_message(exc, log, what)``: what a server tells its client of a turn that failed.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_HOSTS", "Guard", "Refused", "failure_message", "loopback_host", "refusal"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def loopback_host(request: Any) -> bool:
    """Whether the request's Host header names a loopback host."""
    host = (request.headers.get("host") or "").lower()
    host = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS


def failure_message(exc: BaseException, log: logging.Logger, what: str) -> str | None:
    """What a server (the web chat, A2A) tells its client of ``what`` (a turn) failing on
    ``exc``, logged in full here: None when the error's own text is the client's to read (an
    ``AgentloopError`` that says what to do). A tool's ``sys.exit()`` or KeyboardInterrupt ends
    the turn, not the server; the server's own failures (a hook, an instructions function)
    stay in its log."""
    from agentloop.errors import AgentloopError, HookError

    if isinstance(exc, SystemExit):
        message = f"a tool called sys.exit({exc.code!r}); the turn stopped"
    elif isinstance(exc, KeyboardInterrupt):
        message = "a tool raised KeyboardInterrupt; the turn stopped"
    elif isinstance(exc, AgentloopError) and not isinstance(exc, HookError):
        log.warning("%s failed: %s: %s", what, type(exc).__name__, exc)
        return None
    else:
        log.error("%s failed", what, exc_info=exc)
        return f"the server failed ({type(exc).__name__}); its log says why"
    log.error("%s: %s (the server goes on)", what, message)
    return message


def check_token(token: str | None) -> None:
    """Refuse an empty token: anyone sends it (``Bearer ``), and with a token set the Host
    check against DNS rebinding is off (``--token "$UNSET"`` is the usual way in)."""
    if token is not None and (not isinstance(token, str) or not token.strip()):
        from agentloop.errors import ConfigurationError

        raise ConfigurationError(
            "token is empty; give a secret (python -c 'import secrets; "
            "print(secrets.token_urlsafe())'), or no token to serve on loopback only"
        )


def refusal(request: Any, token: str | None, *, public: bool = False) -> tuple[int, str] | None:
    """``(status, message)`` when the request must be refused, else None.

    Without a token only loopback host names are served; a non-GET request from another
    origin is refused; with a token every request but a ``public`` one must carry
    ``Authorization: Bearer TOKEN`` (compared in constant time)."""
    if token is None and not loopback_host(request):
        return 403, "refused: without a token only loopback host names are served"
    origin = request.headers.get("origin")
    cross_site = origin is not None and urlsplit(origin).netloc != request.headers.get("host")
    if cross_site and request.method != "GET":
        return 403, f"cross-origin request from {origin!r} refused"
    if token is not None and not public:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return 401, "missing or wrong token: send Authorization: Bearer TOKEN"
    return None


class Refused(Exception):
    """An HTTP refusal with a message the client is shown (``{"error": message}``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Guard:
    """ASGI middleware: ``refusal`` and the body-size limit before any route runs."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope)
        page = scope["path"] == "/"
        refused = refusal(request, self.token, public=page)
        if refused is None and not page:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body:
                refused = 413, self._too_large()
        if refused is not None:
            await _refuse(send, *refused, plain=page)
            return
        await self.app(scope, self._limited(receive), send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body} bytes"

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that refuses a body growing past the limit (no Content-Length)."""
        seen = 0
        limit = self.max_body

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise Refused(413, self._too_large())
            return message

        return receive_limited


async def _refuse(send: Send, status: int, message: str, *, plain: bool = False) -> None:
    if plain:
        body, kind = message.encode(), b"text/plain; charset=utf-8"
    else:
        body, kind = json.dumps({"error": message}).encode(), b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
