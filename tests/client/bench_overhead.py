"""Per-call overhead of ``Client.interactions.create`` against a raw httpx post (not a test).

Run: .venv/bin/python tests/client/bench_overhead.py
Both sides use the same httpx.MockTransport server and the same small Interaction payload.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable

import httpx

from agentloop import Client
from agentloop.client._core import ClientConfig, build_create
from agentloop.types import RawJSON

PAYLOAD = json.dumps(
    {
        "id": "int_1",
        "object": "interaction",
        "status": "completed",
        "model": "gemini-3.5-flash",
        "steps": [
            {"type": "thought", "signature": "c2ln"},
            {
                "type": "model_output",
                "content": [{"type": "text", "text": "Hello, how can I help?"}],
            },
        ],
        "usage": {"total_tokens": 20, "total_input_tokens": 5, "total_output_tokens": 15},
    }
).encode()
URL = "http://api.test/v1beta/interactions"
BODY = {"model": "gemini-3.5-flash", "input": "Hello"}


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=PAYLOAD, headers={"content-type": "application/json"})


def per_call_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    raw = httpx.Client(transport=httpx.MockTransport(handler))
    client = Client(
        api_key="k",
        base_url="http://api.test",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )

    def baseline() -> object:
        return raw.post(URL, json=BODY, headers={"x-goog-api-key": "k"}).json()

    def ours() -> object:
        return client.interactions.create(**BODY)  # type: ignore[arg-type]

    for fn in (baseline, ours):
        per_call_us(fn, 1000)
    gc.disable()
    a = [per_call_us(baseline, 500) for _ in range(1)]
    b = [per_call_us(ours, 500) for _ in range(1)]
    for _ in range(39):  # interleaved, so machine load hits both sides alike
        a.append(per_call_us(baseline, 500))
        b.append(per_call_us(ours, 500))
    gc.enable()
    print(f"raw httpx post + .json(): min {min(a):6.1f} us  median {statistics.median(a):6.1f} us")
    print(
        f"client.interactions.create: min {min(b):6.1f} us  median {statistics.median(b):6.1f} us"
    )
    ratio_median = statistics.median(b) / statistics.median(a)
    print(f"ratio: min {min(b) / min(a):.3f}  median {ratio_median:.3f}")

    config = ClientConfig("k", "http://x", "v1beta")
    step = json.dumps({"type": "model_output", "content": [{"type": "text", "text": "x" * 200}]})
    for size in (100, 1000):
        history = [RawJSON(step.encode()) for _ in range(size)]
        parts = [h.data for h in history]
        # A kept result pays for fresh pages, as a real request body does.
        kept: list[bytes] = []

        def join(parts: list[bytes] = parts, kept: list[bytes] = kept) -> None:
            kept.append(b",".join(parts))
            del kept[:-2]

        def body(history: list[RawJSON] = history, kept: list[bytes] = kept) -> None:
            spec = build_create(config, {"model": "m", "input": history})
            kept.append(spec.body or b"")
            del kept[:-2]

        join_us = min(per_call_us(join, 300) for _ in range(5))
        body_us = min(per_call_us(body, 300) for _ in range(5))
        print(f"{size} RawJSON steps: b','.join {join_us:6.1f} us, create body {body_us:6.1f} us")


if __name__ == "__main__":
    main()
