"""Target 1: per-turn cost against a loopback server, next to raw httpx and google-genai."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import _payloads as P
from _harness import Row, interleaved_batches, us


@contextlib.contextmanager
def loopback_server() -> Iterator[str]:
    """The canned-reply server (``_server.py``) in a subprocess; yields its base URL."""
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen(
        [sys.executable, os.path.join(here, "_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url)
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.post(f"{url}/{P.VERSION}/interactions", content=b"{}")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _headers() -> dict[str, str]:
    from agentloop.client._core import ClientConfig

    return dict(ClientConfig(P.API_KEY, "http://x", P.VERSION).headers(False))


def _sync_variants(
    url: str, transport: Any = None, own: bool = False
) -> tuple[dict[str, Callable[[int], Any]], list[Any]]:
    """Batches of raw httpx posts, ``create`` calls and ``send`` calls to ``url`` (through
    ``transport`` when given: ``benchmarks/ab_wire.py`` runs them in-process too). The client
    is given an ``httpx.Client`` configured as the raw one; with ``own``, also ``create_own``
    and ``send_own``: a ``Client`` with the httpx client it makes itself (the default)."""
    import httpx

    from agentloop import Client, Conversation

    fields = P.request_fields()
    body = P.request_body()
    headers = _headers()
    endpoint = f"{url}/{P.VERSION}/interactions"
    raw = httpx.Client(timeout=30, transport=transport)
    client = Client(
        api_key=P.API_KEY, base_url=url, http_client=httpx.Client(timeout=30, transport=transport)
    )

    def raw_batch(n: int) -> None:
        for _ in range(n):
            response = raw.post(endpoint, content=body, headers=headers)
            assert response.status_code == 200
            response.content  # noqa: B018

    def batches(client: Client) -> dict[str, Callable[[int], Any]]:
        def create_batch(n: int) -> None:
            for _ in range(n):
                client.interactions.create(**fields)

        def send_batch(n: int) -> None:
            conv = Conversation(client, **P.conversation_settings())
            for _ in range(n):
                conv.send(P.USER)

        return {"create": create_batch, "send": send_batch}

    variants: dict[str, Callable[[int], Any]] = {"raw": raw_batch, **batches(client)}
    keep = [raw, client]
    if own:
        own_client = Client(api_key=P.API_KEY, base_url=url)
        variants.update({f"{name}_own": batch for name, batch in batches(own_client).items()})
        keep.append(own_client)
    return variants, keep


def _async_variants(
    url: str, loop: asyncio.AbstractEventLoop, own: bool = False
) -> tuple[dict[str, Callable[[int], Any]], list[Any]]:
    """``_sync_variants``' batches through ``AsyncClient`` and ``AsyncConversation``."""
    import httpx

    from agentloop import AsyncClient, AsyncConversation

    fields = P.request_fields()
    body = P.request_body()
    headers = _headers()
    endpoint = f"{url}/{P.VERSION}/interactions"
    raw = httpx.AsyncClient(timeout=30)
    client = AsyncClient(api_key=P.API_KEY, base_url=url, http_client=httpx.AsyncClient(timeout=30))

    async def raw_many(n: int) -> None:
        for _ in range(n):
            response = await raw.post(endpoint, content=body, headers=headers)
            assert response.status_code == 200
            response.content  # noqa: B018

    def batches(client: AsyncClient) -> dict[str, Callable[[int], Any]]:
        async def create_many(n: int) -> None:
            for _ in range(n):
                await client.interactions.create(**fields)

        async def send_many(n: int) -> None:
            conv = AsyncConversation(client, **P.conversation_settings())
            for _ in range(n):
                await conv.send(P.USER)

        return {
            "create": lambda n: loop.run_until_complete(create_many(n)),
            "send": lambda n: loop.run_until_complete(send_many(n)),
        }

    variants: dict[str, Callable[[int], Any]] = {
        "raw": lambda n: loop.run_until_complete(raw_many(n)),
        **batches(client),
    }
    keep = [raw, client]
    if own:
        own_client = AsyncClient(api_key=P.API_KEY, base_url=url)
        variants.update({f"{name}_own": batch for name, batch in batches(own_client).items()})
        keep.append(own_client)
    return variants, keep


def _genai_client(url: str) -> Any:
    from google import genai
    from google.genai import types as gtypes

    return genai.Client(
        api_key=P.API_KEY,
        http_options=gtypes.HttpOptions(
            base_url=url,
            api_version=P.VERSION,
            headers={"Api-Revision": "2026-05-20"},
            retry_options=gtypes.HttpRetryOptions(attempts=1),
            timeout=30_000,
        ),
    )


OWN = "its own httpx client"
"""The rows without it give the client an ``httpx.Client`` configured as the raw one (the same
httpx code on both sides); the rows with it use the one a ``Client`` makes by default, whose
cookie handling skips responses that set none (``agentloop/client/_http.py``)."""


def run(quick: bool) -> list[Row]:
    n, repeats = (30, 5) if quick else (150, 9)
    rows: list[Row] = []
    with loopback_server() as url:
        variants, _keep = _sync_variants(url, own=True)
        wall = interleaved_batches(variants, n=n, repeats=repeats)
        for name, label in (
            ("create", "client.interactions.create"),
            ("send", "Conversation.send"),
            ("create_own", f"client.interactions.create, {OWN}"),
            ("send_own", f"Conversation.send, {OWN}"),
        ):
            ratio = wall[name] / wall["raw"]
            bound = 1.05 if name.startswith("create") else 1.10
            rows.append(
                Row(
                    f"per turn, sync loopback: {label}",
                    us(wall[name]),
                    f"raw httpx {us(wall['raw'])}",
                    f"{ratio:.2f}x",
                    f"≤ {bound:.2f}x raw httpx",
                    ratio <= bound,
                    values={"agentloop_s": wall[name], "raw_s": wall["raw"], "ratio": ratio},
                )
            )
        loop = asyncio.new_event_loop()
        try:
            avariants, _akeep = _async_variants(url, loop, own=True)
            awall = interleaved_batches(avariants, n=n, repeats=repeats)
        finally:
            loop.close()
        for name, label in (
            ("create", "AsyncClient interactions.create"),
            ("send", "AsyncConversation.send"),
            ("create_own", f"AsyncClient interactions.create, {OWN}"),
            ("send_own", f"AsyncConversation.send, {OWN}"),
        ):
            ratio = awall[name] / awall["raw"]
            rows.append(
                Row(
                    f"per turn, async loopback: {label}",
                    us(awall[name]),
                    f"raw httpx.AsyncClient {us(awall['raw'])}",
                    f"{ratio:.2f}x",
                    "≤ 1.10x raw httpx",
                    ratio <= 1.10,
                    values={"agentloop_s": awall[name], "raw_s": awall["raw"], "ratio": ratio},
                )
            )
        rows.append(_vs_genai(url, variants, quick))
    return rows


def _vs_genai(url: str, variants: dict[str, Callable[[int], Any]], quick: bool) -> Row:
    figure = "client CPU per create vs google-genai"
    try:
        gclient = _genai_client(url)
    except ImportError:
        return Row(
            figure,
            "",
            ratio="",
            target="≥ 25x less",
            note="skipped: google-genai is not installed (pip install -e '.[bench]')",
        )
    fields = P.request_fields()

    def genai_batch(n: int) -> None:
        for _ in range(n):
            gclient.interactions.create(**fields)

    n, repeats = (5, 3) if quick else (20, 7)
    pair = {"create": variants["create"], "genai": genai_batch}
    cpu = interleaved_batches(pair, n=n, repeats=repeats, clock=time.process_time)
    wall = interleaved_batches(pair, n=n, repeats=repeats)
    ratio = cpu["genai"] / cpu["create"]
    return Row(
        figure,
        f"{us(cpu['create'])} CPU ({us(wall['create'])} wall)",
        f"google-genai {us(cpu['genai'])} CPU ({us(wall['genai'])} wall)",
        f"{ratio:.1f}x less",
        "≥ 25x less",
        ratio >= 25,
        note="process_time has a coarse tick on some systems; wall times are shown too",
        values={
            "agentloop_cpu_s": cpu["create"],
            "genai_cpu_s": cpu["genai"],
            "agentloop_wall_s": wall["create"],
            "genai_wall_s": wall["genai"],
            "ratio": ratio,
        },
    )
