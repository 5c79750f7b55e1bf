"""The web app's guard, as ASGI middleware: one place decides who may call what.

* **Host** (DNS rebinding): without a token, only loopback host names are served;
* **Origin** (cross-site requests): a request that changes something (not ``GET``) must come
  from the page's own origin when the browser says where it comes from;
* **token**: with ``token=``, every API request carries ``Authorization: Bearer TOKEN``;
* **body size**: a request body larger than ``max_body`` bytes is refused (413) before it is
  read whole.

The page itself (``/``) gets the Host check; the static assets none (they hold no data).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_HOSTS", "Guard", "Refused", "loopback"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def loopback(host: str) -> bool:
    """Whether a ``Host`` header names this machine's loopback interface."""
    host = host.lower()
    host = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS


class Refused(Exception):
    """An HTTP refusal with a message the client is shown (``{"error": message}``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Guard:
    """ASGI middleware: Host, Origin, token and body-size checks before any route runs."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            self._check(scope, headers)
        except Refused as refused:
            await _refuse(send, refused.status, refused.message, plain=scope["path"] == "/")
            return
        await self.app(scope, self._limited(receive, send), send)

    def _check(self, scope: Scope, headers: dict[str, str]) -> None:
        if self.token is None and not loopback(headers.get("host", "")):
            if scope["path"] == "/":
                raise Refused(403, "refused: not a loopback host")
            raise Refused(403, "refused: without a token only loopback host names are served")
        if scope["path"] == "/":
            return
        origin = headers.get("origin")
        if (
            origin is not None
            and scope["method"] != "GET"
            and urlsplit(origin).netloc != headers.get("host")
        ):
            raise Refused(403, f"cross-origin request from {origin!r} refused")
        if self.token is not None:
            scheme, _, value = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), self.token.encode()
            ):
                raise Refused(401, "missing or wrong token: send Authorization: Bearer TOKEN")
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise Refused(413, self._too_large())

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body} bytes"

    def _limited(self, receive: Receive, send: Send) -> Receive:
        """``receive`` that refuses a body growing past the limit (no Content-Length)."""
        seen = 0
        limit = self.max_body

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(self._too_large())
            return message

        return receive_limited


class _BodyTooLarge(Refused):
    def __init__(self, message: str) -> None:
        super().__init__(413, message)


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
