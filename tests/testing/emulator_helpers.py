"""Small helpers for driving ``Emulator.handle`` directly in tests."""

from __future__ import annotations

import json
from typing import Any

from agentloop.testing import Emulator
from agentloop.testing.emulator import EmulatorResponse

PATH = "/v1beta/interactions"


def call(
    emu: Emulator,
    method: str = "POST",
    path: str = PATH,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    key: str | None = "k",
) -> EmulatorResponse:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-goog-api-key"] = key
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    return emu.handle(method, path, query or {}, headers, raw)


def create(emu: Emulator, **body: Any) -> dict[str, Any]:
    body.setdefault("model", "gemini-3.5-flash")
    res = call(emu, body=body)
    assert res.status == 200, res.body
    data: dict[str, Any] = res.json()
    return data


def error_of(res: EmulatorResponse) -> dict[str, Any]:
    assert res.status != 200
    err: dict[str, Any] = res.json()["error"]
    assert err["code"] == res.status
    return err


def events_of(res: EmulatorResponse) -> list[dict[str, Any]]:
    assert res.events is not None, res.body
    out = []
    for frame in res.events:
        text = frame.decode()
        data = next(line[6:] for line in text.splitlines() if line.startswith("data: "))
        out.append(json.loads(data))
    return out
