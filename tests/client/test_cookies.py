"""The httpx clients agentloop makes for itself read responses for cookies only when they set
one (``agentloop.client._http``): the cookies kept and sent are exactly httpx's own."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from agentloop import AsyncClient, Client
from agentloop.client import _http

# Responses in turn: what each sets (None: no Set-Cookie header at all).
SET_COOKIES: list[list[str] | None] = [
    None,
    ["session=abc; Path=/"],
    None,
    ["theme=dark; Path=/v1beta", "other=x; Domain=elsewhere.example; Path=/"],
    None,
    ["session=; Path=/; Max-Age=0"],  # deleted
    None,
]
PATHS = ["/v1beta/interactions", "/v1beta/interactions", "/other", "/v1beta/x", "/v1beta/x"]


def _handler(sent: list[str | None]) -> Any:
    replies = iter(SET_COOKIES)

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        headers = [("content-type", "application/json")]
        headers += [("set-cookie", value) for value in next(replies) or []]
        return httpx.Response(200, headers=headers, content=b"{}")

    return handle


def _paths() -> list[str]:
    return [PATHS[n % len(PATHS)] for n in range(len(SET_COOKIES))]


def _sync_run(http_type: Any) -> list[str | None]:
    sent: list[str | None] = []
    transport = httpx.MockTransport(_handler(sent))
    if http_type is httpx.Client:
        http: httpx.Client = httpx.Client(transport=transport)
    else:
        http = http_type(timeout=5.0, transport=transport, verify=True)
    with http:
        for path in _paths():
            http.post(f"http://api.example{path}", content=b"{}")
    return sent


async def _async_run(http_type: Any) -> list[str | None]:
    sent: list[str | None] = []
    transport = httpx.MockTransport(_handler(sent))
    if http_type is httpx.AsyncClient:
        http: httpx.AsyncClient = httpx.AsyncClient(transport=transport)
    else:
        http = http_type(timeout=5.0, transport=transport, verify=True)
    async with http:
        for path in _paths():
            await http.post(f"http://api.example{path}", content=b"{}")
    return sent


def test_cookies_are_kept_and_sent_exactly_as_httpx_does() -> None:
    expected = _sync_run(httpx.Client)
    # (Not a trivial case: cookies are set, scoped by path and domain, and deleted.)
    assert expected == [
        None,
        None,
        "session=abc",
        "session=abc",
        "theme=dark; session=abc",
        "theme=dark; session=abc",
        "theme=dark",
    ]
    assert _sync_run(_http.Client) == expected
    assert asyncio.run(_async_run(httpx.AsyncClient)) == expected
    assert asyncio.run(_async_run(_http.AsyncClient)) == expected


def test_only_responses_that_set_a_cookie_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[bool] = []
    extract = httpx.Cookies.extract_cookies

    def counting(self: httpx.Cookies, response: httpx.Response) -> None:
        read.append("set-cookie" in response.headers)
        extract(self, response)

    monkeypatch.setattr(httpx.Cookies, "extract_cookies", counting)
    _sync_run(_http.Client)
    assert read == [True] * sum(1 for cookies in SET_COOKIES if cookies)
    read.clear()
    _sync_run(httpx.Client)  # (httpx reads every one)
    assert len(read) == len(SET_COOKIES)


def test_cookies_set_on_the_client_stay_lean() -> None:
    http = _http.Client(timeout=5.0, transport=httpx.MockTransport(_handler([])), verify=True)
    http.cookies = {"a": "1"}
    assert isinstance(http.cookies, _http.LeanCookies) and http.cookies["a"] == "1"
    http.close()


def test_only_the_clients_agentloop_makes_are_lean() -> None:
    with Client(api_key="k", base_url="http://127.0.0.1:9") as own:
        assert isinstance(own._http, _http.Client)
        assert isinstance(own._http.cookies, _http.LeanCookies)
    assert isinstance(
        AsyncClient(api_key="k", base_url="http://127.0.0.1:9")._http, _http.AsyncClient
    )
    with httpx.Client() as mine, Client(api_key="k", http_client=mine) as client:
        assert client._http is mine and type(mine.cookies) is httpx.Cookies
