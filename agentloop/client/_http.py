"""The httpx clients a ``Client`` or ``AsyncClient`` makes for itself (never a caller's).

They are httpx's own, but for one thing: a response is read for cookies only when it has a
``Set-Cookie`` header. For every response, httpx otherwise builds a ``urllib`` request and,
for the cookie jar, an ``email`` message of the headers, and the jar then finds no cookie
in them: about 30 µs of CPU a request, a third of httpx's whole cost per request on an
in-process transport. The Interactions API sets no cookies. The jar and its policy are the
standard ones, whose only other header (``Set-Cookie2``) is off by default, so the cookies
kept are exactly the ones httpx would keep.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["AsyncClient", "Client", "LeanCookies"]


class LeanCookies(httpx.Cookies):
    """``httpx.Cookies`` that read a response only when it sets a cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _LeanCookiesClient:
    """Keeps the client's cookies in :class:`LeanCookies` (httpx reads and writes them through
    its public ``cookies`` property: extracting, merging, redirects). Mixed in before
    ``httpx.Client`` or ``httpx.AsyncClient``, whose ``__init__`` it calls."""

    _lean_cookies: LeanCookies

    def __init__(self, *, timeout: Any, transport: Any, verify: Any) -> None:
        super().__init__(timeout=timeout, transport=transport, verify=verify)  # type: ignore[call-arg]
        self.cookies = None

    @property
    def cookies(self) -> httpx.Cookies:
        return self._lean_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._lean_cookies = LeanCookies(cookies)


class Client(_LeanCookiesClient, httpx.Client):
    """``httpx.Client`` with :class:`LeanCookies`."""


class AsyncClient(_LeanCookiesClient, httpx.AsyncClient):
    """``httpx.AsyncClient`` with :class:`LeanCookies`."""
