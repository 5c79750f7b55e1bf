"""Targets 3-5: stateless replay, SSE streaming and tool schemas (all in-process)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from typing import Any

import _payloads as P
from _harness import Row, interleaved, per_call, us

# --- 3. stateless replay ---------------------------------------------------------------------


def history_dicts(n: int) -> list[dict[str, Any]]:
    """``n`` wire steps cycling user input, a function call, its result and model text."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            out.append({"type": "user_input", "content": f"Question number {i}: what is new?"})
        elif kind == 1:
            out.append(
                {
                    "type": "function_call",
                    "id": f"call_{i}",
                    "name": "search",
                    "arguments": {"query": f"news {i}", "limit": 5},
                }
            )
        elif kind == 2:
            out.append(
                {
                    "type": "function_result",
                    "call_id": f"call_{i - 1}",
                    "name": "search",
                    "result": f"Five results about topic {i}: alpha, beta, gamma, delta.",
                }
            )
        else:
            out.append(
                {
                    "type": "model_output",
                    "content": [{"type": "text", "text": f"Here is the answer {i}. " * 4}],
                }
            )
    return out


def replay_rows(quick: bool) -> list[Row]:
    """Per-turn client cost of a stateless turn at N history steps vs ``json.dumps``.

    The client's history-dependent work in a stateless turn is: take the cached wire bytes of
    every step and build the request body (``ConversationState.input_fields`` + the client's
    ``build_create``). That is what is timed, against ``json.dumps`` of the same steps as dicts.
    """
    from agentloop.client._core import ClientConfig, build_create
    from agentloop.loop.engine import ConversationState
    from agentloop.loop.history import History

    config = ClientConfig(P.API_KEY, "http://bench.local", P.VERSION)
    static = {"model": P.MODEL, "system_instruction": P.SYSTEM}
    rows: list[Row] = []
    sizes = (10, 100, 1000)
    per_size: dict[int, dict[str, float]] = {}
    for n_steps in sizes:
        dicts = history_dicts(n_steps)
        state = ConversationState(history=History.from_wire(dicts), strategy="stateless")

        def agentloop_turn(state: ConversationState = state) -> None:
            body = dict(static)
            body.update(state.input_fields())
            build_create(config, body)

        def dumps(dicts: list[dict[str, Any]] = dicts) -> None:
            json.dumps({**static, "store": False, "input": dicts})

        n = max(20, 20000 // n_steps) if not quick else max(5, 4000 // n_steps)
        times = interleaved(
            {"agentloop": agentloop_turn, "dumps": dumps}, n=n, repeats=5 if quick else 9
        )
        per_size[n_steps] = times
        ratio = times["agentloop"] / times["dumps"]
        rows.append(
            Row(
                f"stateless turn body, {n_steps} steps of history",
                us(times["agentloop"]),
                f"json.dumps {us(times['dumps'])}",
                f"{ratio:.2f}x",
                "≤ 2x json.dumps",
                ratio <= 2.0,
                values={
                    "agentloop_s": times["agentloop"],
                    "dumps_s": times["dumps"],
                    "ratio": ratio,
                },
            )
        )
    growth = per_size[1000]["agentloop"] / per_size[100]["agentloop"]
    rows.append(
        Row(
            "stateless body growth, 100 -> 1000 steps",
            f"{growth:.1f}x",
            "",
            "",
            "linear (~10x)",
            growth <= 13.0,
            values={"growth": growth},
        )
    )
    return rows


# --- 4. streaming ----------------------------------------------------------------------------


def sse_clients() -> tuple[Any, Any, str, int]:
    """An httpx client answering every request with the emulator's SSE frames of a streamed
    text reply (one frame per chunk), an agentloop ``Client`` on it, the stream URL and the
    number of events."""
    import httpx

    from agentloop import Client

    frames = P.sse_frames()

    class Frames(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            return iter(frames)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Frames())

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = Client(api_key=P.API_KEY, base_url="http://bench.local", http_client=http)
    return http, client, f"http://bench.local/{P.VERSION}/interactions?alt=sse", len(frames)


def stream_rows(quick: bool) -> list[Row]:
    """agentloop's cost per SSE event on top of httpx delivering the same frames."""
    http, client, url, events = sse_clients()
    body = P.request_body()

    def raw() -> None:
        with http.stream("POST", url, content=body) as response:
            for _ in response.iter_bytes():
                pass

    def raw_json() -> None:
        # The least a hand-written client does: split the frames and json.loads each one.
        with http.stream("POST", url, content=body) as response:
            for chunk in response.iter_bytes():
                for line in chunk.split(b"\n"):
                    if line.startswith(b"data: "):
                        json.loads(line[6:])

    fields = {"model": P.MODEL, "input": P.USER}

    def agentloop() -> None:
        stream = client.interactions.create(stream=True, **fields)
        for _ in stream:
            pass
        assert stream.interaction.status == "completed"

    n = 5 if quick else 20
    times = interleaved(
        {"raw": raw, "raw_json": raw_json, "agentloop": agentloop}, n=n, repeats=5 if quick else 9
    )
    extra = (times["agentloop"] - times["raw"]) / events
    over_json = (times["agentloop"] - times["raw_json"]) / events
    return [
        Row(
            f"streaming, cost per SSE event ({events} events)",
            us(extra),
            f"httpx stream {us(times['raw'] / events)}/event",
            "",
            "≤ 4 µs/event",
            extra <= 4e-6,
            note="agentloop = SSE decoding, typed events (pydantic), "
            "accumulating the final interaction; measured above httpx delivering the frames",
            values={
                "per_event_s": extra,
                "raw_s": times["raw"],
                "agentloop_s": times["agentloop"],
                "events": events,
            },
        ),
        Row(
            "streaming, per SSE event above split + json.loads",
            us(over_json),
            f"hand-written json.loads {us((times['raw_json'] - times['raw']) / events)}/event",
            "",
            "",
            None,
            values={"per_event_s": over_json},
        ),
    ]


# --- 5. tool schemas -------------------------------------------------------------------------


def _new_function(i: int) -> Callable[..., Any]:
    def search(
        query: str, limit: int = 10, tags: list[str] | None = None, exact: bool = False
    ) -> list[str]:
        """Search the knowledge base.

        Args:
            query: words to look for.
            limit: most results to return.
            tags: only results with these tags.
            exact: match the whole phrase.
        """
        return [query] * limit

    search.__name__ = search.__qualname__ = f"search_{i}"
    return search


def schema_rows(quick: bool) -> list[Row]:
    from agentloop.tools import tool

    counter = iter(range(10**9))
    for _ in range(20):  # warm-up: type schemas, docstring parser
        tool(_new_function(next(counter))).declaration()

    def new_tool() -> None:
        tool(_new_function(next(counter))).declaration()

    cached = tool(_new_function(next(counter)))
    first = cached.declaration()

    def again() -> None:
        assert cached.declaration() is first

    n = 100 if quick else 500
    samples = [per_call(new_tool, n) for _ in range(5 if quick else 9)]
    new_cost = statistics.median(samples)
    cached_cost = statistics.median(per_call(again, 10000) for _ in range(5))
    return [
        Row(
            "new tool: @tool + declaration (after warm-up)",
            us(new_cost),
            "",
            "",
            "≤ 150 µs",
            new_cost <= 150e-6,
            values={"new_tool_s": new_cost},
        ),
        Row(
            "tool declaration again (cached)",
            us(cached_cost),
            "",
            "",
            "same object",
            True,
            values={"cached_s": cached_cost},
        ),
    ]
