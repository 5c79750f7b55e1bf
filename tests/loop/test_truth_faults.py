"""Regression tests of issue 20's fault list (the engine and tool parts), through both drivers.

Each test names its fault; the lease and second-writer faults are in test_leases.py, the
store faults in tests/stores, the durable ones in tests/durable, the web ones in tests/web.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from loop_helpers import bodies, call, get_weather, say

from agentloop import Compaction, UsageLimits, tool
from agentloop.errors import InvalidRequestError, MalformedResponseError, UsageLimitExceeded
from agentloop.loop.compaction import SUMMARY_INSTRUCTION
from agentloop.testing import Emulator, FunctionModel, ScriptedModel


def test_a_call_id_of_an_earlier_turn_is_refused_and_never_chained_onto(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    """Fault 6: the turn failed but the conversation chained onto the bad interaction, and
    every later send was 400."""
    conv = drive.conv(drive.client(max_retries=0), tools=[get_weather])
    scripted.add([call("get_weather", "c1", city="Oslo")], say("warm"))
    drive(conv.send("weather?"))
    chain = conv.last_interaction_id
    scripted.add([call("get_weather", "c1", city="Rome")])
    with pytest.raises(MalformedResponseError, match="'c1' that is already used"):
        drive(conv.send("and Rome?"))
    assert conv.last_interaction_id == chain
    assert [s.type for s in conv.history].count("function_call") == 1
    scripted.add(say("still fine"))
    assert drive(conv.send("next")).output_text == "still fine"


def test_compactions_summary_requests_count_against_the_turns_limits(drive: Any) -> None:
    """Fault 9: per-turn ``UsageLimits`` ignored compaction's summary requests
    (``max_requests=12`` sent 15)."""
    counter = itertools.count()

    def model(request: Any) -> Any:
        if request.system_instruction == SUMMARY_INSTRUCTION:
            return "a short summary"
        return [call("fetch", f"f{next(counter)}", page=1)]

    @tool
    def fetch(page: int) -> str:
        """Fetch a long page.

        Args:
            page: Which page.
        """
        return "lorem ipsum " * 300

    emu = Emulator(model=FunctionModel(model))
    driver = type(drive)(drive.kind, emu)
    try:
        conv = driver.conv(
            tools=[fetch],
            compaction=Compaction(trigger_tokens=1500, keep_recent=2, summarize="model"),
        )
        with pytest.raises(UsageLimitExceeded) as info:
            driver(conv.send("read it all", limits=UsageLimits(max_requests=6)))
        assert len(bodies(emu)) <= 6  # summaries included
        summaries = [b for b in bodies(emu) if b.get("system_instruction") == SUMMARY_INSTRUCTION]
        assert summaries, "the test must make compaction summarise"
        assert info.value.turn is not None and info.value.turn.status == "usage_limit"
        assert conv.usage.requests == len(bodies(emu))
    finally:
        driver.close()


def test_misspelt_arguments_come_back_as_an_error_and_the_tool_does_not_run(
    drive: Any, scripted: ScriptedModel
) -> None:
    """Fault 10: a model that misspelt every argument ran ``pay(0, 'default-account')``."""
    ran: list[tuple[int, str]] = []

    @tool
    def pay(amount: int = 0, account: str = "default-account") -> str:
        """Pay.

        Args:
            amount: How much.
            account: Which account.
        """
        ran.append((amount, account))
        return "paid"

    conv = drive.conv(tools=[pay])
    scripted.add([call("pay", "p1", amout=5, acount="savings")], say("I will fix that"))
    turn = drive(conv.send("pay 5 from savings"))
    (record,) = turn.tool_calls
    assert record.is_error and ran == []
    text = record.result.result
    assert "amout: Unexpected argument" in text and "acount: Unexpected argument" in text
    assert "parameters: account, amount" in text


def test_a_summary_too_big_to_send_is_dropped(drive: Any, scripted: ScriptedModel) -> None:
    """Fault 13: a summary larger than the context window could not be dropped
    (``compact()`` returned None and every later request was too large)."""
    conv = drive.conv(compaction=Compaction(keep_recent=2, summarize=lambda steps: "S" * 40_000))
    for n in range(3):
        scripted.add(say(f"answer {n}"))
        drive(conv.send(f"question {n}"))
    first = drive(conv.compact())  # no trigger: the summary is kept as written
    assert first is not None and len(conv.model_view[0].content[0].text) >= 40_000
    dropped = drive(conv.compact())  # nothing new folds: the big summary itself goes
    assert dropped is not None and dropped.tokens_after < first.tokens_after
    marker = conv.model_view[0].content[0].text
    assert marker.startswith("[") and "omitted to fit the context window" in marker
    assert drive(conv.compact()) is None  # nothing left to shrink
    scripted.add(say("still fine"))
    assert drive(conv.send("next")).output_text == "still fine"
    # With a trigger, a summary over half of it is never kept in the first place.
    conv.compaction = Compaction(
        trigger_tokens=4000, keep_recent=2, summarize=lambda steps: "S" * 40_000
    )
    for n in range(2):
        scripted.add(say(f"more {n}"))
        drive(conv.send(f"more {n}"))
    assert drive(conv.compact()) is not None
    assert "omitted to fit" in conv.model_view[0].content[0].text


def test_a_tool_result_over_the_request_size_limit(drive: Any) -> None:
    """Fault 14: one tool result over the API's request size limit made every later send 413,
    with no advice."""

    @tool
    def dump(size: int) -> str:
        """Dump a large text.

        Args:
            size: How many characters.
        """
        return "z" * size

    scripted = ScriptedModel()
    emu = Emulator(model=scripted, max_body_bytes=20_000)
    driver = type(drive)(drive.kind, emu)
    try:
        conv = driver.conv(driver.client(max_retries=0), tools=[dump])
        scripted.add([call("dump", "d1", size=50_000)])
        with pytest.raises(InvalidRequestError) as info:
            driver(conv.send("dump it"))
        assert info.value.status_code == 413
        assert "Compaction(max_tool_result_chars=" in str(info.value)
        (result,) = [s for s in conv.history if s.type == "function_result"]
        assert len(result.result) == 50_000  # history keeps what the tool returned
        conv.compaction = Compaction(max_tool_result_chars=2_000)  # the advice
        scripted.add(say("ok now"))
        assert driver(conv.send("go on")).output_text == "ok now"
    finally:
        driver.close()


def test_a_result_over_the_apis_limit_is_always_sent_truncated(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    from agentloop.loop.compaction import MAX_SENT_RESULT_BYTES

    @tool
    def dump() -> str:
        """Dump a text over the API's request size limit."""
        return "y" * (MAX_SENT_RESULT_BYTES + 1000)

    conv = drive.conv(tools=[dump])
    scripted.add([call("dump", "d1")], say("got it"), say("and more"))
    assert drive(conv.send("dump")).output_text == "got it"
    sent = conv.model_view[-3].result
    assert "over the API's request size limit" in sent and len(sent) < MAX_SENT_RESULT_BYTES
    assert drive(conv.send("more?")).output_text == "and more"
