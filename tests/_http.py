"""httpx clients for the tests' own requests to loopback servers, sharing one TLS context.

httpx builds a verifying TLS context for every client created without ``verify`` (and for
each ``httpx.get``/``httpx.stream``), loading the CA bundle again: about 20 ms of CPU each,
though the servers here are plain HTTP. ``http_client()`` is ``httpx.Client`` with httpx's
own default context, built once.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls() -> ssl.SSLContext:
    """httpx's default verifying context, built once."""
    return httpx.create_ssl_context()


def http_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` with the shared TLS context."""
    return httpx.Client(verify=tls(), **kwargs)
