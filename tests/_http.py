"""HTTP for the tests: an ASGI app served on a loopback port in a thread, and httpx clients
for the tests' own requests to such servers, sharing one TLS context.

httpx builds a verifying TLS context for every client created without ``verify`` (and for
each ``httpx.get``/``httpx.stream``), loading the CA bundle again: about 20 ms of CPU each,
though the servers here are plain HTTP. ``http_client()`` is ``httpx.Client`` with the
context agentloop's own clients share (httpx's default one, built once).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from agentloop.client._base import tls_context


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

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
