"""HTTP for the tests: an ASGI app served on a loopback port in a thread, and httpx clients
for the tests' own requests to such servers, sharing one TLS context.

httpx builds a verifying TLS context for every client created without ``verify`` (and for
each ``httpx.get``/``httpx.stream``), loading the CA bundle again: about 20 ms of CPU each,
though the servers here are plain HTTP. ``http_client()`` is ``httpx.Client`` with the
context agentloop's own clients share (httpx's default one, built once).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from typing import Any

import httpx

from agentloop.client._base import tls_context
from agentloop.testing.server import serve_config


def tls() -> ssl.SSLContext:
    """httpx's default verifying context, built once (the one agentloop's clients share)."""
    return tls_context()


def http_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` with the shared TLS context."""
    return httpx.Client(verify=tls(), **kwargs)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on uvicorn at a free loopback port in a thread; yield its base URL."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    with serve_config(config, "127.0.0.1", 0, "the app") as url:
        yield url
