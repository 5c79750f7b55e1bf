"""The ``agentloop`` logger: one INFO line per model request and per tool call."""

from __future__ import annotations

import logging

import pytest
from otel_helpers import DRIVERS, call, explode, get_weather, run_turn, say

from agentloop.testing import Emulator, ScriptedModel


@pytest.mark.parametrize("driver", DRIVERS)
def test_info_lines_per_request_and_tool_call_without_content(
    emu: Emulator, scripted: ScriptedModel, caplog: pytest.LogCaptureFixture, driver: str
) -> None:
    caplog.set_level(logging.INFO, logger="agentloop")
    scripted.add(
        [call("get_weather", "c1", city="Reykjavik"), call("explode", "c2", reason="kaboom")],
        say("chilly and loud"),
    )
    _, turn = run_turn(driver, emu, "private question", tools=[get_weather, explode])
    lines = [r.getMessage() for r in caplog.records if r.name == "agentloop"]
    requests = [line for line in lines if line.startswith("model request:")]
    tools = [line for line in lines if line.startswith("tool call:")]
    assert len(requests) == 2 and len(tools) == 2
    first = turn.interaction_ids[0]
    assert f"interaction={first}" in requests[0]
    assert "model=gemini-3.5-flash" in requests[0] and "strategy=stateful" in requests[0]
    assert "status=requires_action" in requests[0] and "status=completed" in requests[1]
    usage = turn.usage
    assert requests[-1].count("tokens=") == 1 and "ms=" in requests[-1]
    assert usage.total_input_tokens is not None
    assert any("name=get_weather" in t and " ok " in t for t in tools)
    assert any("name=explode" in t and "error=ValueError" in t for t in tools)
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "agentloop")
    text = "\n".join(lines)
    for content in ("Reykjavik", "kaboom", "private question", "chilly"):
        assert content not in text


def test_debug_adds_sizes(
    emu: Emulator, scripted: ScriptedModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentloop")
    scripted.add([call("get_weather", "c1", city="Oslo")], say("cold"))
    run_turn("sync", emu, "hi", tools=[get_weather])
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG
             and r.name == "agentloop"]  # fmt: skip
    assert any("arguments_bytes=15" in line for line in debug)  # {"city":"Oslo"}
    assert any(line.startswith("model request sizes:") for line in debug)


def test_silent_by_default_without_an_observer(emu: Emulator, scripted: ScriptedModel) -> None:
    from agentloop import Conversation

    logger = logging.getLogger("agentloop")
    assert not logger.isEnabledFor(logging.INFO)  # the default: WARNING from the root
    conv = Conversation(emu.client())
    assert conv.engine().observe is None  # nothing wraps the turn, nothing runs per step
    logger.setLevel(logging.INFO)
    try:
        assert conv.engine().observe is not None
    finally:
        logger.setLevel(logging.NOTSET)
