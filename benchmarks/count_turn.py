"""Instructions per plain text turn, for A/B runs under valgrind (issue 27).

Runs ``bench_turn``'s conversation (the same settings, tools and reply) for N turns after
five warm-up turns, with ``create`` handing back replies parsed before the turns start (no
HTTP). Its instruction count does not depend on the machine's load, so it shows changes of
1-2 % that CPU time on a shared machine cannot. Count twice and take the difference::

    export PYTHONHASHSEED=0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python3 benchmarks/count_turn.py 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python3 benchmarks/count_turn.py 400
    # instructions per turn: (I refs of the second - I refs of the first) / 400

``--async`` counts ``AsyncConversation.send`` instead. The count repeats to a few hundred
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


def main() -> None:
    turns = int(sys.argv[1])
    replies = [Interaction.model_validate_json(P.reply_json()) for _ in range(WARM + 400)]

    class Interactions:
        def create(self, **body: Any) -> Interaction:
            return replies.pop()

    class AsyncInteractions:
        async def create(self, **body: Any) -> Interaction:
            return replies.pop()

    class Client:
        def __init__(self, interactions: Any) -> None:
            self.interactions = interactions

    settings: dict[str, Any] = {
        "model": P.MODEL,
        "system_instruction": P.SYSTEM,
        "tools": P.TOOLS,
        "generation_config": P.request_fields()["generation_config"],
    }
    gc.disable()
    if "--async" not in sys.argv:
        conv = Conversation(Client(Interactions()), **settings)  # type: ignore[arg-type]
        for _ in range(WARM + turns):
            conv.send(P.USER)
        return

    async def run() -> None:
        conv = AsyncConversation(Client(AsyncInteractions()), **settings)  # type: ignore[arg-type]
        for _ in range(WARM + turns):
            await conv.send(P.USER)

    asyncio.run(run())


if __name__ == "__main__":
    main()
