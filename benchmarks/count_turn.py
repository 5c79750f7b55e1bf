"""Instructions per plain text turn, for A/B runs under valgrind (issue 27).

Runs ``bench_turn``'s conversation (the same settings, tools and reply) for N turns after
five warm-up turns, with ``create`` handing back replies parsed before the turns start (no
HTTP). Its instruction count does not depend on the machine's load, so it shows changes of
1-2 % that CPU time on a shared machine cannot. Count twice and take the difference::

    export PYTHONHASHSEED=0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python3 benchmarks/count_turn.py 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python3 benchmarks/count_turn.py 400
    # instructions per turn: (I refs of the second - I refs of the first) / 400

``--instrumented`` counts with ``agentloop.instrument()`` on (OpenTelemetry's default no-op
providers: agentloop's own cost of being observed). ``--async`` counts
``AsyncConversation.send`` instead. ``--tools`` counts ``bench_tools``' turn
instead (10 calls, then the answer; a new conversation every 20 turns), with the registry
answering each batch with outcomes built beforehand: the engine's side of a tool turn, without
the pool's threads (whose timing would move the count). The count repeats to a few hundred
instructions for one build, but unrelated changes (classes added or rebuilt elsewhere) move it
by up to ~3 %: CPython's type-attribute cache is indexed by type version tags. (``python3``
must be the interpreter itself, not a shell shim: valgrind does not follow an ``exec``.)
"""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _payloads as P

from agentloop import AsyncConversation, Conversation
from agentloop.types import Interaction

WARM = 5


class _Interactions:
    """``client.interactions`` whose ``create`` hands back the replies parsed beforehand."""

    def __init__(self, replies: list[Interaction]) -> None:
        self.replies = replies

    def create(self, **body: Any) -> Interaction:
        return self.replies.pop()


class _AsyncInteractions(_Interactions):
    async def create(self, **body: Any) -> Interaction:  # type: ignore[override]
        return self.replies.pop()


class _Client:
    def __init__(self, interactions: _Interactions) -> None:
        self.interactions = interactions


def main() -> None:
    turns = int(sys.argv[1])
    if "--instrumented" in sys.argv:  # OpenTelemetry's default (no-op) providers
        from agentloop import instrument

        instrument()
    if "--tools" in sys.argv:
        tool_turns(turns)
        return
    replies = [Interaction.model_validate_json(P.reply_json()) for _ in range(WARM + 400)]

    settings: dict[str, Any] = {
        "model": P.MODEL,
        "system_instruction": P.SYSTEM,
        "tools": P.TOOLS,
        "generation_config": P.request_fields()["generation_config"],
    }
    gc.disable()
    if "--async" not in sys.argv:
        conv = Conversation(_Client(_Interactions(replies)), **settings)  # type: ignore[arg-type]
        for _ in range(WARM + turns):
            conv.send(P.USER)
        return

    async def run() -> None:
        conv = AsyncConversation(_Client(_AsyncInteractions(replies)), **settings)  # type: ignore[arg-type]
        for _ in range(WARM + turns):
            await conv.send(P.USER)

    asyncio.run(run())


def tool_turns(turns: int) -> None:
    import bench_tools as BT

    from agentloop import ToolRegistry
    from agentloop.tools import ToolOutcome
    from agentloop.types import FunctionCallStep, FunctionResultStep, encode_step

    script = BT._ScriptedTransport()
    replies: list[Interaction] = []
    batches: list[list[ToolOutcome]] = []
    for _ in range(2 * (WARM + 400)):
        interaction = Interaction.model_validate_json(script.reply())
        replies.append(interaction)
        calls = [s for s in interaction.steps or [] if isinstance(s, FunctionCallStep)]
        if calls:
            batch = []
            for call in calls:
                result = FunctionResultStep(call_id=call.id, name=call.name, result="result")
                batch.append(ToolOutcome(call, result, value="result", wire=encode_step(result)))
            batches.append(batch)
    replies.reverse()
    batches.reverse()

    class Registry(ToolRegistry):
        def run(self, calls: Any, **options: Any) -> list[ToolOutcome]:  # type: ignore[override]
            return batches.pop()

        async def arun(self, calls: Any, **options: Any) -> list[ToolOutcome]:  # type: ignore[override]
            return batches.pop()

    registry = Registry(BT._tools())
    sync = "--async" not in sys.argv
    client = _Client((_Interactions if sync else _AsyncInteractions)(replies))

    def conversation() -> Any:
        conv = (Conversation if sync else AsyncConversation)(
            client,  # type: ignore[arg-type]
            model=P.MODEL,
            tools=[registry],
        )
        conv.tools = registry  # the batches' answers, not the pool
        return conv

    gc.disable()
    if sync:
        conv = conversation()
        for i in range(WARM + turns):
            if i and i % 20 == 0:
                conv = conversation()
            conv.send("go")
        return

    async def run() -> None:
        conv = conversation()
        for i in range(WARM + turns):
            if i and i % 20 == 0:
                conv = conversation()
            await conv.send("go")

    asyncio.run(run())


if __name__ == "__main__":
    main()
