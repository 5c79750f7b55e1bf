"""``requires_continuation`` hops are continued automatically (spec §8), in both strategies."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agentloop import Client, Conversation


def _server(bodies: list[dict[str, Any]]) -> httpx.MockTransport:
    hops = [
        {
            "id": "hop1",
            "status": "requires_continuation",
            "continuation_token": "tok1",
            "steps": [
                {"type": "model_output", "content": [{"type": "text", "text": "part one, "}]}
            ],
            "usage": {"total_tokens": 10},
        },
        {
            "id": "hop2",
            "status": "completed",
            "steps": [{"type": "model_output", "content": [{"type": "text", "text": "part two."}]}],
            "usage": {"total_tokens": 5},
        },
    ]

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=hops[len(bodies) - 1])

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_long_decode_is_continued(strategy: str) -> None:
    bodies: list[dict[str, Any]] = []
    client = Client(api_key="k", http_client=httpx.Client(transport=_server(bodies)))
    conv = Conversation(client, strategy=strategy)
    turn = conv.send("write a long essay")

    assert turn.status == "completed"
    assert turn.output_text == "part one, part two."
    assert turn.interaction_ids == ["hop1", "hop2"]
    assert turn.usage.total_tokens == 15
    first, second = bodies
    assert second["continuation_token"] == "tok1"
    if strategy == "stateful":
        assert second["previous_interaction_id"] == "hop1" and "input" not in second
    else:
        assert second["store"] is False and second["input"] == first["input"]
    assert [s.type for s in conv.history] == ["user_input", "model_output", "model_output"]
