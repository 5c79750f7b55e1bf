"""Target 2: cost per tool step with no network, next to pydantic-ai and the OpenAI Agents SDK.

The scripted work is the same everywhere: a turn in which the model asks for 10 tool calls
at once, the framework runs 10 trivial sync tools, and the model then answers with text.
agentloop talks to an in-process httpx transport that replays canned reply bytes (so the
figure *includes* httpx's in-process request cost, about 2 requests per 10 tool steps); the
peers call their scripted model objects directly, with no HTTP layer at all.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import _payloads as P
from _harness import Row, interleaved_batches, us

CALLS = 10


def lookup_0(query: str) -> str:
    """Look something up.

    Args:
        query: what to look up.
    """
    return f"result for {query}"


def _tools() -> list[Callable[[str], str]]:
    """Ten distinct tool functions (same body), named tool_0 .. tool_9."""
    out = []
    for i in range(10):

        def fn(query: str) -> str:
            return f"result for {query}"

        fn.__name__ = fn.__qualname__ = f"tool_{i}"
        fn.__doc__ = lookup_0.__doc__
        out.append(fn)
    return out


# --- agentloop -------------------------------------------------------------------------------


class _ScriptedTransport:
    """httpx transport: odd requests get 10 calls, even ones the final text (fresh ids)."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.calls_template = P.tool_calls_reply(0, CALLS).replace(b"call_0_", b"call_@_")
        self.calls_template = self.calls_template.replace(b"v1_calls_0", b"v1_calls_@")
        self.text = P.text_reply(0)

    def reply(self) -> bytes:
        n = next(self.counter)
        if n % 2 == 0:
            return self.calls_template.replace(b"@", str(n).encode())
        return self.text


def agentloop_sync(turns_per_conv: int = 20) -> Callable[[int], None]:
    import httpx

    from agentloop import Client, Conversation, ToolRegistry

    script = _ScriptedTransport()
    headers = {"content-type": "application/json"}
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=script.reply(), headers=headers)
    )
    client = Client(
        api_key=P.API_KEY,
        base_url="http://bench.local",
        http_client=httpx.Client(transport=transport),
    )
    registry = ToolRegistry(_tools())

    def batch(turns: int) -> None:
        conv = None
        for i in range(turns):
            if i % turns_per_conv == 0:
                conv = Conversation(client, model=P.MODEL, tools=[registry])
            assert conv is not None
            turn = conv.send("go")
            assert len(turn.tool_calls) == CALLS, turn

    return batch


def agentloop_async(
    loop: asyncio.AbstractEventLoop, turns_per_conv: int = 20
) -> Callable[[int], None]:
    import httpx

    from agentloop import AsyncClient, AsyncConversation, ToolRegistry

    script = _ScriptedTransport()
    headers = {"content-type": "application/json"}

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=script.reply(), headers=headers)

    client = AsyncClient(
        api_key=P.API_KEY,
        base_url="http://bench.local",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    registry = ToolRegistry(_tools())

    async def many(turns: int) -> None:
        conv = None
        for i in range(turns):
            if i % turns_per_conv == 0:
                conv = AsyncConversation(client, model=P.MODEL, tools=[registry])
            assert conv is not None
            turn = await conv.send("go")
            assert len(turn.tool_calls) == CALLS

    return lambda n: loop.run_until_complete(many(n))


def dict_loop() -> Callable[[int], None]:
    """A hand-written loop over dicts: the floor for 'the loop itself'."""
    tools = {f"tool_{i}": fn for i, fn in enumerate(_tools())}
    replies = [json.loads(P.tool_calls_reply(0, CALLS)), json.loads(P.text_reply(0))]

    def batch(turns: int) -> None:
        for _ in range(turns):
            history: list[dict[str, Any]] = [{"type": "user_input", "content": "go"}]
            for reply in replies:
                steps = reply["steps"]
                history.extend(steps)
                for step in steps:
                    if step["type"] == "function_call":
                        out = tools[step["name"]](**step["arguments"])
                        history.append(
                            {
                                "type": "function_result",
                                "call_id": step["id"],
                                "name": step["name"],
                                "result": out,
                            }
                        )

    return batch


# --- peers -----------------------------------------------------------------------------------


def pydantic_ai_batch() -> Callable[[int], None] | str:
    try:
        from pydantic_ai import Agent
        from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
        from pydantic_ai.models.function import AgentInfo, FunctionModel
    except ImportError:
        return "skipped: pydantic-ai-slim is not installed (pip install -e '.[bench]')"

    counter = itertools.count()

    def model(messages: list[Any], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        if any(getattr(p, "part_kind", "") == "tool-return" for p in last.parts):
            return ModelResponse(parts=[TextPart("Done.")])
        n = next(counter)
        return ModelResponse(
            parts=[
                ToolCallPart(f"tool_{i % 10}", {"query": f"item {i}"}, tool_call_id=f"c{n}_{i}")
                for i in range(CALLS)
            ]
        )

    agent = Agent(FunctionModel(model), tools=_tools())

    def batch(turns: int) -> None:
        for _ in range(turns):
            result = agent.run_sync("go")
            assert result.output == "Done."

    return batch


def openai_agents_batch(loop: asyncio.AbstractEventLoop) -> Callable[[int], None] | str:
    try:
        from agents import Agent, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
        from agents.models.interface import Model
        from openai.types.responses import (
            ResponseFunctionToolCall,
            ResponseOutputMessage,
            ResponseOutputText,
        )
    except ImportError:
        return "skipped: openai-agents is not installed (pip install -e '.[bench]')"

    set_tracing_disabled(True)
    counter = itertools.count()

    class ScriptedModel(Model):
        async def get_response(
            self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
        ) -> ModelResponse:
            last = input[-1] if isinstance(input, list) else {}
            if isinstance(last, dict) and last.get("type") == "function_call_output":
                text = ResponseOutputText(type="output_text", text="Done.", annotations=[])
                msg = ResponseOutputMessage(
                    id="m", type="message", role="assistant", status="completed", content=[text]
                )
                return ModelResponse(output=[msg], usage=Usage(), response_id=None)
            n = next(counter)
            calls = [
                ResponseFunctionToolCall(
                    type="function_call",
                    call_id=f"c{n}_{i}",
                    name=f"tool_{i % 10}",
                    arguments=json.dumps({"query": f"item {i}"}),
                )
                for i in range(CALLS)
            ]
            return ModelResponse(output=calls, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    agent = Agent(name="bench", model=ScriptedModel(), tools=[function_tool(fn) for fn in _tools()])

    async def many(turns: int) -> None:
        for _ in range(turns):
            result = await Runner.run(agent, "go")
            assert result.final_output == "Done."

    return lambda n: loop.run_until_complete(many(n))


def run(quick: bool) -> list[Row]:
    turns, repeats = (20, 5) if quick else (100, 9)
    loop = asyncio.new_event_loop()
    try:
        variants: dict[str, Callable[[int], None]] = {
            "sync": agentloop_sync(),
            "async": agentloop_async(loop),
            "dict": dict_loop(),
        }
        skipped: dict[str, str] = {}
        for name, made in (
            ("pydantic-ai", pydantic_ai_batch()),
            ("openai-agents", openai_agents_batch(loop)),
        ):
            if isinstance(made, str):
                skipped[name] = made
            else:
                variants[name] = made
        per_turn = interleaved_batches(variants, n=turns, repeats=repeats)
    finally:
        loop.close()
    step = {name: t / CALLS for name, t in per_turn.items()}
    rows = [
        Row(
            "per tool step, sync Conversation (in-process)",
            us(step["sync"]),
            f"hand-written dict loop {us(step['dict'])}",
            "",
            "≤ 50 µs",
            step["sync"] <= 50e-6,
            values={"sync_s": step["sync"], "dict_s": step["dict"]},
        ),
        Row(
            "per tool step, AsyncConversation (in-process)",
            us(step["async"]),
            "",
            "",
            "≤ 60 µs",
            step["async"] <= 60e-6,
            values={"async_s": step["async"]},
        ),
    ]
    for name, factor in (("pydantic-ai", 25), ("openai-agents", 15)):
        label = (
            "pydantic-ai FunctionModel" if name == "pydantic-ai" else "OpenAI Agents scripted Model"
        )
        figure = f"per tool step vs {label}"
        if name in skipped:
            rows.append(
                Row(figure, us(step["sync"]), target=f"≥ {factor}x less", note=skipped[name])
            )
            continue
        best = min(step["sync"], step["async"])
        ratio = step[name] / best
        rows.append(
            Row(
                figure,
                us(best),
                f"{name} {us(step[name])}",
                f"{ratio:.1f}x less",
                f"≥ {factor}x less",
                ratio >= factor,
                values={"agentloop_s": best, "peer_s": step[name], "ratio": ratio},
            )
        )
    return rows
