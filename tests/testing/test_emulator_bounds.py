"""Issue 20, fault 11: the emulator under hostile or heavy traffic.

A mistyped ``"type": {}`` is a 400 (it was a 500), stored interactions and the request log
stay within their byte budgets, and a large request is parsed without holding the lock that
every other client needs.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from agentloop.testing import Emulator
from agentloop.testing.emulator import RecordedRequest, RequestLog

KEY = {"x-goog-api-key": "k"}
MODEL = "gemini-3.5-flash"


def create(emu: Emulator, body: dict[str, Any]) -> Any:
    return emu.handle("POST", "/v1beta/interactions", {}, KEY, json.dumps(body).encode())


@pytest.mark.parametrize(
    "body",
    [
        {"model": MODEL, "input": "hi", "tools": [{"type": {}}]},
        {"model": MODEL, "input": [{"type": {}}]},
        {"model": MODEL, "input": {"type": {}}},
        {"model": MODEL, "input": [{"type": "user_input", "content": [{"type": {}}]}]},
        {"model": MODEL, "input": "hi", "response_format": {"type": {}}},
        {"model": MODEL, "input": "hi", "tools": [{"type": [1]}]},
    ],
)
def test_a_type_that_is_not_a_string_is_a_400(body: dict[str, Any]) -> None:
    response = create(Emulator(), body)
    assert response.status == 400, response.body
    assert b"INVALID_ARGUMENT" in response.body


def test_stored_interactions_stay_within_their_byte_budget() -> None:
    emu = Emulator(max_stored_bytes=20_000)
    ids = []
    for n in range(40):
        response = create(emu, {"model": MODEL, "input": f"{n} " + "x" * 2_000})
        assert response.status == 200
        ids.append(json.loads(response.body)["id"])
    assert 0 < len(emu.interaction_ids) < 12
    assert emu.interaction_ids[-1] == ids[-1]  # the newest is kept
    assert emu.handle("GET", f"/v1beta/interactions/{ids[0]}", {}, KEY, b"").status == 404
    # Chaining onto a kept interaction still works after its ancestors went.
    last = create(emu, {"model": MODEL, "input": "more", "previous_interaction_id": ids[-1]})
    assert last.status == 200


def test_the_request_log_keeps_a_bounded_number_of_bytes() -> None:
    log = RequestLog(1000, max_bytes=10_000)
    for _ in range(50):
        log.append(RecordedRequest("POST", "/x", {}, {}, bytes(1_000)))
    assert sum(len(r.body) for r in log) <= 10_000 and len(log) >= 9
    log.append(RecordedRequest("POST", "/x", {}, {}, bytes(50_000)))
    assert len(log) == 1  # the newest is always kept


def test_a_large_request_is_parsed_without_the_lock() -> None:
    """While one request is being parsed and checked, another client is served."""
    parsing, release = threading.Event(), threading.Event()

    class Slow(Emulator):
        def _prepare(self, raw: bytes) -> Any:
            if b"big" in raw:
                parsing.set()
                assert release.wait(30)
            return super()._prepare(raw)

    emu = Slow()
    out: list[Any] = []
    big = threading.Thread(target=lambda: out.append(create(emu, {"model": MODEL, "input": "big"})))
    big.start()
    try:
        assert parsing.wait(30)
        done: list[Any] = []
        other = threading.Thread(
            target=lambda: done.append(create(emu, {"model": MODEL, "input": "small"}))
        )
        other.start()
        other.join(30)
        assert done and done[0].status == 200  # served while the big one was being parsed
    finally:
        release.set()
        big.join(30)
    assert out[0].status == 200
