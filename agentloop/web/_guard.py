"""The request checks of every agentloop HTTP server (``agentloop serve``, ``agentloop a2a
serve``): the token, the Host header (DNS rebinding) and the Origin header (cross-site
requests). Pure functions of the request headers, no I/O."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_HOSTS", "loopback_host", "refusal"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def loopback_host(request: Any) -> bool:
    """Whether the request's Host header names a loopback host."""
    host = (request.headers.get("host") or "").lower()
    host = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return host in LOOPBACK_HOSTS


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
