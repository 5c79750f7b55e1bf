"""Typed journal records (``loop/records.py``): one class per kind, the saved form stable, and
one ``ConversationState.apply`` for the live path and the replay."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loop_helpers import call, say

from agentloop import Conversation, tool
from agentloop.errors import SnapshotError
from agentloop.loop import records
from agentloop.loop.persist import fold
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, ScriptedModel
from agentloop.types import Usage, encode_step

USAGE = Usage(total_input_tokens=10, total_output_tokens=2, total_tokens=12)

EXAMPLES: list[records.Record] = [
    records.TurnStarted("stateless"),
    records.TurnStarted("stateful", 1765000000.25),
    records.StepAdded(b'{"type":"user_input","content":[{"type":"text","text":"hi"}]}'),
    records.ResponseReceived("i1", "completed", USAGE),
    records.ResponseReceived(None, "failed", None),
    records.ChainMoved("i1", 4),
    records.ChainMoved(None, 0),
    records.CallsStarted(["c1", "c2"]),
    records.TurnPaused(["c1"], ["c1"], 2, ["i1", "i2"], USAGE),
    records.TurnResumed({"c1": [True, None]}),
    records.TurnEnded("completed"),
    records.TurnRolledBack(),
    records.Snapshot({"format": "agentloop.conversation"}),
    records.ViewChanged({"start": 2, "prefix": [], "max_tool_result_chars": None}),
    records.UsageCounted(USAGE, 0.5),
    records.Rewound(2),
]


def test_every_kind_round_trips_through_its_saved_form() -> None:
    assert {type(r) for r in EXAMPLES} == set(records.KINDS.values())  # every kind
    for record in EXAMPLES:
        text = records.encode(record)
        assert json.loads(text)["k"] == record.kind
        assert records.decode(text) == record


def test_the_saved_form_is_the_one_older_versions_wrote() -> None:
    assert records.encode(records.ChainMoved("i1", 4)) == '{"k":"chain","id":"i1","covers":4}'
    assert records.encode(records.TurnEnded("completed")) == '{"k":"end","status":"completed"}'
    step = records.StepAdded(b'{"type":"thought"}')
    assert records.encode(step) == '{"k":"step","step":{"type":"thought"}}'


def test_unknown_kinds_are_skipped_and_malformed_ones_named() -> None:
    assert records.decode('{"k":"from-the-future","x":1}') is None
    with pytest.raises(records.RecordError, match="not a journal record"):
        records.decode("not json")
    with pytest.raises(records.RecordError, match="'chain'"):
        records.decode('{"k":"chain"}')
    with pytest.raises(SnapshotError, match=r"journal record 1 \('chain'\)"):
        fold(['{"k":"turn","strategy":"stateful"}', '{"k":"chain","covers":"x","id":null}'])


def test_the_replayed_state_is_the_live_state(emu: Emulator, scripted: ScriptedModel) -> None:
    """The live path applies the records it writes; folding them gives the same state."""

    @tool(requires_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return f"paid {amount}"

    @tool
    def look() -> str:
        """Look."""
        return "a room"

    scripted.add(
        [call("look", "c1")],
        [call("pay", "c2", amount=5)],
        say("paid"),
        say("bye"),
    )
    store = SQLiteStore(":memory:")
    conv = Conversation(emu.client(), tools=[pay, look], store=store, id="r1")
    conv.send("pay 5")
    paused = fold(store.read("r1").records).state
    assert paused.to_wire() == conv._state.to_wire()
    conv.approve("c2")
    conv.resume()
    conv.send("thanks")
    replayed = fold(store.read("r1").records).state
    assert replayed.to_wire() == conv._state.to_wire()
    assert replayed.usage == conv.usage and replayed.settled() is conv.status


# The kinds every turn writes build their text directly; it must be the bytes json writes for
# their dict (the saved form older versions wrote and read).
_names = st.one_of(st.none(), st.text())
_numbers = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70)
)
_usages = st.one_of(
    st.none(),
    st.builds(
        Usage,
        total_input_tokens=st.integers(0, 10**9),
        total_output_tokens=st.integers(0, 10**9),
        total_tokens=st.integers(0, 10**9),
    ),
)


def _json(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _usage(usage: Usage | None) -> object:
    return None if usage is None else json.loads(encode_step(usage))


@settings(max_examples=300, deadline=None)
@given(name=_names, text=st.text(), number=_numbers, covers=st.integers(0, 2**40), usage=_usages)
def test_the_kinds_written_directly_are_what_json_writes(
    name: str | None, text: str, number: float | None, covers: int, usage: Usage | None
) -> None:
    cases: list[tuple[records.Record, dict[str, object]]] = [
        (records.TurnStarted(text, None), {"k": "turn", "strategy": text}),
        (records.TurnStarted(text, number), {"k": "turn", "strategy": text, "t": number}),
        (records.ChainMoved(name, covers), {"k": "chain", "id": name, "covers": covers}),
        (records.TurnEnded(text), {"k": "end", "status": text}),
        (
            records.ResponseReceived(name, text, usage),
            {"k": "response", "id": name, "status": text, "usage": _usage(usage)},
        ),
        (
            records.UsageCounted(usage, number),
            {"k": "usage", "usage": _usage(usage), "cost": number},
        ),
    ]
    for record, data in cases:
        if data.get("t", 0) is None:  # no time: the key is left out
            continue
        assert records.encode(record) == _json(data)


def test_a_lone_surrogate_in_a_record_raises_as_before() -> None:
    for record in (
        records.ChainMoved("i\ud800", 1),
        records.ResponseReceived("i\udfff", "completed", None),
        records.TurnEnded("\ud83d"),
    ):
        with pytest.raises(UnicodeEncodeError):
            records.encode(record)
    assert records.encode(records.TurnEnded("fin ✓ 🎉")) == '{"k":"end","status":"fin ✓ 🎉"}'


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(st.text(), max_size=12))
def test_the_calls_started_record_is_what_json_writes(ids: list[str]) -> None:
    assert records.encode(records.CallsStarted(ids)) == _json({"k": "started", "ids": ids})
    assert records.decode(records.encode(records.CallsStarted(ids))) == records.CallsStarted(ids)
