"""A task loop that dies (``os._exit``) at a chosen boundary, or recovers what one left.

``python _crash_task.py SPEC CONV_ID POINT LOG MODE`` with SPEC a JSON ``[kind, target,
schema]`` (see ``StoreSpec``), POINT one of ``CRASH_POINTS`` or ``none``, LOG a file where
every tool run appends its name (so runs are counted across processes), MODE ``run`` (start
the task, die at POINT) or ``recover`` (load the conversation, ``recover()`` it, approve or
reject calls in doubt as ``--reject`` says). Prints the final turn's status as JSON.

The model is a function of the history (stateless strategy), so a second process with a
fresh emulator carries on where the first one stopped: look ``a`` up (idempotent), then pay
(not idempotent), then answer.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from _store_workers import StoreSpec

from agentloop import Conversation, tool
from agentloop.testing import Emulator, FunctionModel

CRASH_POINTS = (
    "request-1",  # the first request is in flight
    "journal-response-1",  # the first response arrived; its journal write never happens
    "tool-lookup",  # inside the idempotent tool, after its work
    "tool-pay",  # inside the non-idempotent tool, after its work
    "journal-result-pay",  # pay returned; its result is never journaled
    "request-3",  # both results journaled, the last request is in flight
)


def die() -> None:
    sys.stdout.flush()
    os._exit(137)


def main(argv: list[str]) -> None:
    kind, target, schema = json.loads(argv[0])
    conv_id, point, log_path, mode = argv[1:5]
    reject = "--reject" in argv
    crashing = mode == "run"

    def ran(name: str) -> None:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(name + "\n")
            log.flush()
            os.fsync(log.fileno())
        if crashing and point == f"tool-{name}":
            die()

    @tool(idempotent=True)
    def lookup(key: str) -> str:
        """Look a key up (safe to repeat).

        Args:
            key: The key.
        """
        ran("lookup")
        return f"value of {key}"

    @tool
    def pay(amount: int) -> str:
        """Pay an amount (not safe to repeat).

        Args:
            amount: How much.
        """
        ran("pay")
        return f"paid {amount}"

    def model(request: Any) -> Any:
        ids = {s.id for s in request.history if s.type == "function_call"}
        answered = {s.call_id for s in request.history if s.type == "function_result"}
        number = 1 + len(answered)
        if crashing and point == f"request-{number}":
            die()
        if "c1" not in ids:
            return [
                {"type": "function_call", "id": "c1", "name": "lookup", "arguments": {"key": "a"}}
            ]
        if "c2" not in ids:
            return [
                {"type": "function_call", "id": "c2", "name": "pay", "arguments": {"amount": 5}}
            ]
        return [{"type": "model_output", "content": [{"type": "text", "text": "all done"}]}]

    client = Emulator(model=FunctionModel(model)).client()
    store = StoreSpec(kind, target, schema).open()
    journal: Any = CrashingStore(store, point) if crashing else store
    tools = [lookup, pay]
    if mode == "run":
        conv = Conversation(client, tools=tools, strategy="stateless", store=journal, id=conv_id)
        turn = conv.send("do the task")
    else:
        conv = store.load(conv_id, client=client, tools=tools)
        needed = conv.needs_recovery
        turn = conv.recover() if needed else None
        doubt = list(conv.in_doubt)
        if turn is not None and turn.status == "awaiting_approval":
            for call_id in doubt:
                if reject:
                    conv.reject(call_id, "it may have paid already")
                else:
                    conv.approve(call_id)
            turn = conv.resume()
        print(
            json.dumps(
                {"needed": needed, "in_doubt": doubt, "status": turn.status if turn else None}
            )
        )
        store.close()
        return
    print(json.dumps({"status": turn.status}))
    store.close()


class CrashingStore:
    """The real store, except that the process dies instead of one chosen journal write."""

    def __init__(self, inner: Any, point: str) -> None:
        self.inner, self.point = inner, point

    def append(
        self, id: str, records: Any, *, expected_version: int, meta: Any = None, **lease: Any
    ) -> int:
        kinds = [json.loads(r).get("k") for r in records]
        if self.point == "journal-response-1" and "response" in kinds:
            die()
        if self.point == "journal-result-pay" and any(
            '"function_result"' in r and '"c2"' in r for r in records
        ):
            die()
        result: int = self.inner.append(
            id, records, expected_version=expected_version, meta=meta, **lease
        )
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


if __name__ == "__main__":
    main(sys.argv[1:])
