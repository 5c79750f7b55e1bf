"""Time travel: ``turns``, ``fork``, ``rewind`` and ``replay``, through both drivers and both
strategies, against the emulator's request log."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from loop_helpers import answered_once, bodies, call, delete_file, encodes, say
from memory_store import MemoryStore

from agentloop import ToolContext, tool
from agentloop.errors import AgentloopError, InputError, TurnIndexError, TurnInProgressError
from agentloop.loop import StrategyFallback
from agentloop.testing import Emulator, ScriptedModel


def texts(steps: list[Any]) -> list[str]:
    return [c["text"] for s in steps for c in s.get("content") or [] if c.get("type") == "text"]


def three_turns(drive: Any, scripted: ScriptedModel, **kwargs: Any) -> Any:
    scripted.add(say("one"), say("two"), say("three"))
    conv = drive.conv(**kwargs)
    for text in ("first", "second", "third"):
        drive(conv.send(text))
    return conv


def test_turns_list_each_user_turn(drive: Any, scripted: ScriptedModel) -> None:
    conv = three_turns(drive, scripted)
    turns = conv.turns
    assert [t.index for t in turns] == [0, 1, 2]
    assert [t.input_text for t in turns] == ["first", "second", "third"]
    assert [t.input[0].type for t in turns] == ["user_input"] * 3
    assert [t.output_text for t in turns] == ["one", "two", "three"]
    assert turns[-1].interaction_id == conv.last_interaction_id
    assert all(t.interaction_id for t in turns) and len({t.interaction_id for t in turns}) == 3
    assert all(t.usage.total_tokens and t.time and t.status == "completed" for t in turns)
    assert sum(t.steps for t in turns) == len(conv.history)


def test_a_stateful_fork_chains_onto_the_fork_point_and_sends_only_the_new_input(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    conv = three_turns(drive, scripted)
    turns = conv.turns
    history = conv.history
    fork = drive(conv.fork(at=1))
    assert fork.id != conv.id and type(fork) is type(conv)
    assert [t.input_text for t in fork.turns] == ["first", "second"]
    assert fork.last_interaction_id == turns[1].interaction_id
    assert conv.history == history  # the original is untouched

    scripted.add(say("forked"), say("four"))
    before = len(bodies(emu))
    turn = drive(fork.send("what if"))
    body = bodies(emu)[before]
    assert body["previous_interaction_id"] == turns[1].interaction_id
    assert texts(body["input"]) == ["what if"] and len(body["input"]) == 1
    assert turn.output_text == "forked"
    # The server's chain is the shared prefix: the model saw turns 0 and 1, then the new input.
    seen = [s for s in scripted.requests[-1].history if s.type == "user_input"]
    assert [s.content[0].text for s in seen] == ["first", "second", "what if"]

    # Both go on independently.
    drive(conv.send("fourth"))
    body = bodies(emu)[-1]
    assert body["previous_interaction_id"] == turns[2].interaction_id
    assert [t.input_text for t in conv.turns] == ["first", "second", "third", "fourth"]
    assert [t.input_text for t in fork.turns] == ["first", "second", "what if"]
    assert answered_once(fork.history) and encodes(fork.history)


def test_a_stateless_fork_carries_the_prefix(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    conv = three_turns(drive, scripted, strategy="stateless")
    fork = drive(conv.fork(0))
    assert fork.strategy == "stateless" and fork.last_interaction_id is None
    scripted.add(say("again"))
    drive(fork.send("what if"))
    body = bodies(emu)[-1]
    assert body["store"] is False and "previous_interaction_id" not in body
    assert texts(body["input"]) == ["first", "one", "what if"]


def test_a_stateful_fork_of_store_false_turns_replays_the_prefix_once(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    conv = three_turns(drive, scripted, strategy="stateless")  # nothing stored on the server
    fork = drive(conv.fork(1))
    fork.strategy = "stateful"
    scripted.add(say("replayed"), say("chained"))
    drive(fork.send("what if"))
    first = bodies(emu)[-1]
    assert "previous_interaction_id" not in first and "store" not in first
    assert texts(first["input"]) == ["first", "one", "second", "two", "what if"]
    drive(fork.send("and then"))
    second = bodies(emu)[-1]
    assert second["previous_interaction_id"] == fork.turns[2].interaction_id
    assert texts(second["input"]) == ["and then"]


def test_fork_defaults_to_now_and_takes_negative_indexes(
    drive: Any, scripted: ScriptedModel
) -> None:
    conv = three_turns(drive, scripted)
    now = drive(conv.fork(id="mine"))
    assert now.id == "mine" and now.history == conv.history
    assert now.last_interaction_id == conv.last_interaction_id
    back = drive(conv.fork(-2))
    assert [t.input_text for t in back.turns] == ["first", "second"]


def test_a_deleted_interaction_at_the_fork_point_falls_back_to_replay(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    conv = three_turns(drive, scripted)
    point = conv.turns[1].interaction_id
    drive(conv.client.interactions.delete(point))
    fork = drive(conv.fork(1))
    scripted.add(say("replayed"))
    events = drive.events(fork.stream("what if"))
    fallback = [e for e in events if isinstance(e, StrategyFallback)]
    assert len(fallback) == 1 and fallback[0].previous_interaction_id == point
    first, second = bodies(emu)[-2:]
    assert first["previous_interaction_id"] == point
    assert "previous_interaction_id" not in second
    assert texts(second["input"]) == ["first", "one", "second", "two", "what if"]
    assert fork.turns[-1].output_text == "replayed"


def test_rewind_goes_back_and_chains_onto_the_turn_kept(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    conv = three_turns(drive, scripted)
    turns = conv.turns
    assert drive(conv.rewind()) is None
    assert [t.input_text for t in conv.turns] == ["first", "second"]
    assert conv.last_interaction_id == turns[1].interaction_id
    scripted.add(say("again"))
    drive(conv.send("third, differently"))
    body = bodies(emu)[-1]
    assert body["previous_interaction_id"] == turns[1].interaction_id
    assert texts(body["input"]) == ["third, differently"]
    drive(conv.rewind(3))
    assert conv.turns == [] and conv.history == [] and conv.last_interaction_id is None


def counting_weather(log: list[str]) -> Any:
    @tool
    def weather(city: str) -> dict[str, Any]:
        """The weather of a city.

        Args:
            city: The city.
        """
        log.append(city)
        return {"city": city, "temperature": 22}

    return weather


def test_replay_with_an_edited_tool_result(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    log: list[str] = []
    scripted.add(say("hi"), [call("weather", "c1", city="Paris")], say("22 degrees"))
    conv = drive.conv(tools=[counting_weather(log)])
    drive(conv.send("hello"))
    drive(conv.send("weather in Paris?"))
    asked = conv.turns[1].interaction_ids[0]
    assert log == ["Paris"]

    scripted.add(say("freezing"))
    fork = drive(conv.replay(1, edit={"c1": {"city": "Paris", "temperature": -5}}))
    assert log == ["Paris"]  # the tool did not run again
    body = bodies(emu)[-1]
    assert body["previous_interaction_id"] == asked
    assert [s["type"] for s in body["input"]] == ["function_result"]
    assert body["input"][0]["result"] == {"city": "Paris", "temperature": -5}
    assert fork.turns[-1].output_text == "freezing"
    assert [t.input_text for t in fork.turns] == ["hello", "weather in Paris?"]
    assert answered_once(fork.history) and encodes(fork.history)
    # The original keeps its own answer.
    assert conv.turns[-1].output_text == "22 degrees"
    results = [s for s in conv.history if s.type == "function_result"]
    assert results[0].result == {"city": "Paris", "temperature": 22}


def test_replay_with_an_edited_result_keeps_the_other_calls_results(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    log: list[str] = []
    scripted.add(
        [call("weather", "a", city="Paris"), call("weather", "b", city="Rome")],
        say("both"),
        say("edited"),
    )
    conv = drive.conv(tools=[counting_weather(log)], strategy="stateless")
    drive(conv.send("two cities"))
    fork = drive(conv.replay(0, edit={"b": "sunny"}))
    assert sorted(log) == ["Paris", "Rome"]  # nothing ran twice
    body = bodies(emu)[-1]
    results = {s["call_id"]: s["result"] for s in body["input"] if s["type"] == "function_result"}
    assert results == {"a": {"city": "Paris", "temperature": 22}, "b": "sunny"}
    assert fork.turns[-1].output_text == "edited"


def test_replay_reruns_a_turn_with_its_own_or_a_new_input(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    conv = three_turns(drive, scripted)
    turns = conv.turns
    scripted.add(say("two again"), say("other"))
    same = drive(conv.replay(1))
    body = bodies(emu)[-1]
    assert body["previous_interaction_id"] == turns[0].interaction_id
    assert texts(body["input"]) == ["second"]
    assert [t.output_text for t in same.turns] == ["one", "two again"]
    other = drive(conv.replay(0, input="hello instead"))
    body = bodies(emu)[-1]
    assert "previous_interaction_id" not in body and texts(body["input"]) == ["hello instead"]
    assert [t.input_text for t in other.turns] == ["hello instead"]
    assert len(conv.turns) == 3


def test_a_fork_carries_pending_approvals_and_approves_nothing(
    drive: Any, scripted: ScriptedModel
) -> None:
    scripted.add([call("delete_file", "d1", path="a.txt")])
    conv = drive.conv(tools=[delete_file])
    turn = drive(conv.send("delete a.txt"))
    assert turn.status == "awaiting_approval"
    conv.approve("d1")  # a decision in the original is not carried
    fork = drive(conv.fork())
    assert [c.id for c in fork.pending_approvals] == ["d1"]
    assert fork.turns[-1].status == "awaiting_approval"
    with pytest.raises(AgentloopError, match="no decision yet"):
        drive(fork.resume())
    fork.reject("d1", "not in this branch")
    scripted.add(say("kept it"), say("deleted it"))
    assert drive(fork.resume()).output_text == "kept it"
    done = drive(conv.resume())
    assert [c.result.result for c in done.tool_calls] == ["deleted a.txt"]


def test_a_fork_of_an_earlier_paused_turn_is_paused_again(
    drive: Any, scripted: ScriptedModel
) -> None:
    scripted.add([call("delete_file", "d1", path="a.txt")], say("fine"))
    conv = drive.conv(tools=[delete_file])
    drive(conv.send("delete a.txt"))
    drive(conv.send("never mind"))  # answers d1 as not approved, in turn 1
    fork = drive(conv.fork(0))
    assert [c.id for c in fork.pending_approvals] == ["d1"]
    assert [s.type for s in fork.history][-1] == "function_call"


def test_bad_input_is_one_line_agentloop_errors(drive: Any, scripted: ScriptedModel) -> None:
    conv = three_turns(drive, scripted)
    cases: list[tuple[Any, type[Exception]]] = [
        (lambda: conv.fork(3), TurnIndexError),
        (lambda: conv.fork(-4), TurnIndexError),
        (lambda: conv.fork("1"), TurnIndexError),
        (lambda: conv.fork(id=conv.id), InputError),
        (lambda: conv.rewind(0), TurnIndexError),
        (lambda: conv.rewind(4), TurnIndexError),
        (lambda: conv.replay(7), TurnIndexError),
        (lambda: conv.replay(0, edit={"nope": 1}), InputError),
        (lambda: conv.replay(0, input="x", edit={"nope": 1}), InputError),
    ]
    for make, kind in cases:
        with pytest.raises(kind) as info:
            drive(make())
        assert isinstance(info.value, AgentloopError)
        assert "\n" not in str(info.value)
    empty = drive.conv()
    with pytest.raises(TurnIndexError, match="no turns yet"):
        drive(empty.fork())
    assert len(conv.turns) == 3


def test_forking_a_turn_in_progress_is_refused(emu: Emulator, scripted: ScriptedModel) -> None:
    from agentloop import Conversation

    entered, release = threading.Event(), threading.Event()

    @tool
    def slow() -> str:
        """Wait."""
        entered.set()
        release.wait(10)
        return "done"

    scripted.add(say("zero"), [call("slow", "s1")], say("one"))
    conv = Conversation(emu.client(), tools=[slow])
    conv.send("turn zero")
    worker = threading.Thread(target=conv.send, args=("turn one",))
    worker.start()
    try:
        assert entered.wait(10)
        with pytest.raises(TurnInProgressError, match="in progress"):
            conv.fork()
        with pytest.raises(TurnInProgressError):
            conv.rewind()
        fork = conv.fork(0)  # a turn that ended can still be forked
        assert [t.input_text for t in fork.turns] == ["turn zero"]
    finally:
        release.set()
        worker.join()
    assert conv.turns[-1].output_text == "one"


class Crash(BaseException):
    """The process dies here."""


def test_a_fork_with_an_in_doubt_call_at_the_fork_point_does_not_run_it(
    drive: Any, scripted: ScriptedModel
) -> None:
    log: list[str] = []
    crash = {"on": True}

    @tool
    def pay(amount: int) -> str:
        """Pay (not safe to repeat).

        Args:
            amount: How much.
        """
        log.append("pay")
        if crash.pop("on", False):
            raise Crash
        return f"paid {amount}"

    store = MemoryStore()
    scripted.add(say("hello"), [call("pay", "p1", amount=5)])
    conv = drive.conv(tools=[pay], store=store, id="orig")
    drive(conv.send("hi"))
    with pytest.raises(Crash):
        drive(conv.send("pay 5"))
    loaded = drive.cls().from_store(store, "orig", client=drive.client(), tools=[pay])
    assert loaded.needs_recovery and log == ["pay"]

    fork = drive(loaded.fork())  # the fork point is the cut turn
    assert fork.needs_recovery
    turn = drive(fork.recover())
    assert turn.status == "awaiting_approval" and fork.in_doubt == ["p1"]
    assert log == ["pay"]  # not run by forking, nor by recovering the fork
    reloaded = drive.cls().from_store(store, fork.id, client=drive.client(), tools=[pay])
    assert reloaded.in_doubt == ["p1"]
    # The original is still cut short, and still decides for itself.
    again = drive.cls().from_store(store, "orig", client=drive.client(), tools=[pay])
    assert again.needs_recovery


def test_turns_survive_save_load_and_the_journal(
    drive: Any, scripted: ScriptedModel, tmp_path: Any
) -> None:
    store = MemoryStore()
    conv = three_turns(drive, scripted, store=store, id="j")
    turns = conv.turns
    loaded = drive.cls().from_store(store, "j", client=drive.client())
    assert loaded.turns == turns
    conv.save(tmp_path / "c.json")
    assert drive.cls().load(tmp_path / "c.json", client=drive.client()).turns == turns
    # A file saved before turns were recorded: turns are found from the history.
    data = json.loads((tmp_path / "c.json").read_text())
    del data["state"]["turns"]
    old = drive.cls().from_dict(data, client=drive.client())
    assert [t.input_text for t in old.turns] == ["first", "second", "third"]
    assert [t.output_text for t in old.turns] == ["one", "two", "three"]


def test_rewind_is_journaled_and_the_removed_turns_stay(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    store = MemoryStore()
    conv = three_turns(drive, scripted, store=store, id="r")
    version = store.version("r")
    point = conv.turns[0].interaction_id
    drive(conv.rewind(2))
    records = store.read("r").records
    assert len(records) == version + 1 and json.loads(records[-1]) == {"k": "rewind", "turns": 1}
    loaded = drive.cls().from_store(store, "r", client=drive.client())
    assert [t.input_text for t in loaded.turns] == ["first"]
    assert loaded.last_interaction_id == point
    scripted.add(say("second again"))
    drive(loaded.send("second, again"))
    assert bodies(emu)[-1]["previous_interaction_id"] == point
    final = drive.cls().from_store(store, "r", client=drive.client())
    assert [t.input_text for t in final.turns] == ["first", "second, again"]
    assert final.history == loaded.history


def test_a_rewind_the_store_refuses_changes_nothing_and_can_be_retried(
    drive: Any, scripted: ScriptedModel, tmp_path: Any
) -> None:
    import sqlite3

    from agentloop.errors import ConflictError, StoreError
    from agentloop.stores import SQLiteStore

    path = tmp_path / "r.db"
    conv = three_turns(drive, scripted, store=SQLiteStore(path, timeout=0.1), id="r")
    history = list(conv.history)
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreError):
            drive(conv.rewind())
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert conv.history == history and len(conv.turns) == 3 and conv.status == "idle"
    drive(conv.rewind())  # the retry the error advises: one turn goes, not two
    assert [t.input_text for t in conv.turns] == ["first", "second"]
    stored = drive.cls().from_store(SQLiteStore(path), "r", client=drive.client())
    assert stored.history == conv.history
    drive(stored.rewind())  # another writer moves first: this one is stale
    history = list(conv.history)
    with pytest.raises(ConflictError):
        drive(conv.rewind())
    assert conv.history == history and [t.input_text for t in conv.turns] == ["first", "second"]


def test_forks_of_a_compacted_conversation_keep_the_view_that_belongs_to_them(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    from agentloop import Compaction

    scripted.add(say("one"), say("two"), say("three"), say("four"))
    conv = drive.conv(compaction=Compaction(keep_recent=2))
    drive(conv.send("first"))
    drive(conv.send("second"))
    drive(conv.compact())
    drive(conv.send("third"))  # replays the compacted view once, then chains again
    view = conv.model_view
    assert len(view) < len(conv.history)

    late = drive(conv.fork(2))  # compaction lies inside the prefix: the same view
    assert [s.type for s in late.model_view] == [s.type for s in view]
    early = drive(conv.fork(0))  # the summary covers later steps: the fork has its own prefix
    assert early.model_view == early.history == conv.history[:3]
    drive(early.send("what if"))
    body = bodies(emu)[-1]
    assert body["previous_interaction_id"] == conv.turns[0].interaction_id
    assert texts(body["input"]) == ["what if"]


def test_every_fork_point_gives_a_valid_state_that_round_trips(drive: Any) -> None:
    """Fork at every turn of a conversation with tools, a rejection and a paused turn: each
    fork's history is the prefix, sendable, and its stored form loads back equal."""
    from agentloop.testing import ScriptedModel as Scripted

    model = Scripted(
        [
            [call("weather", "w1", city="Oslo")],
            say("cold"),
            say("hi"),
            [call("delete_file", "d1", path="x")],
            say("not deleted"),
            [call("weather", "w2", city="Rome"), call("weather", "w3", city="Pisa")],
            say("warm"),
            [call("delete_file", "d2", path="y")],
        ]
    )
    drive.emu.model = model
    store = MemoryStore()
    log: list[str] = []
    tools = [counting_weather(log), delete_file]
    conv = drive.conv(tools=tools, store=store, id="p")
    drive(conv.send("weather?"))
    drive(conv.send("hello"))
    drive(conv.send("delete x"))
    conv.reject("d1")
    drive(conv.resume())
    drive(conv.send("two cities"))
    drive(conv.send("delete y"))  # stays paused
    assert len(conv.turns) == 5 and conv.pending_approvals
    ends = [sum(t.steps for t in conv.turns[: i + 1]) for i in range(5)]
    for at in range(5):
        fork = drive(conv.fork(at, id=f"p{at}"))
        assert fork.history == conv.history[: ends[at]]
        assert encodes(fork.history)
        assert answered_once(fork.history) == (at != 4)
        assert [c.id for c in fork.pending_approvals] == (["d2"] if at == 4 else [])
        loaded = drive.cls().from_store(store, f"p{at}", client=drive.client(), tools=tools)
        assert loaded.history == fork.history and loaded.turns == fork.turns
        assert loaded.last_interaction_id == fork.last_interaction_id
        again = drive.cls().from_dict(fork.to_dict(), client=drive.client(), tools=tools)
        assert again.turns == fork.turns
    assert sorted(log) == ["Oslo", "Pisa", "Rome"]  # forking ran nothing


def test_a_saved_form_with_impossible_turns_is_refused(scripted: ScriptedModel) -> None:
    from agentloop import Conversation
    from agentloop.errors import SnapshotError

    scripted.add(say("one"))
    conv = Conversation(Emulator(model=scripted).client())
    conv.send("first")
    data = conv.to_dict()
    data["state"]["turns"][0]["end"] = 99
    with pytest.raises(SnapshotError, match="turns: not a list of turns"):
        Conversation.from_dict(data)


def test_async_forking_a_turn_in_progress_is_refused(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    import asyncio

    from agentloop import AsyncConversation

    async def main() -> None:
        entered, release = asyncio.Event(), asyncio.Event()

        @tool
        async def slow() -> str:
            """Wait."""
            entered.set()
            await release.wait()
            return "done"

        scripted.add(say("zero"), [call("slow", "s1")], say("one"))
        conv = AsyncConversation(emu.async_client(), tools=[slow])
        await conv.send("turn zero")
        task = asyncio.create_task(conv.send("turn one"))
        await entered.wait()
        with pytest.raises(TurnInProgressError, match="in progress"):
            await conv.fork()
        with pytest.raises(TurnInProgressError):
            await conv.replay(1)
        fork = await conv.fork(0)
        assert [t.input_text for t in fork.turns] == ["turn zero"]
        release.set()
        assert (await task).output_text == "one"

    asyncio.run(main())


def test_seed_state_from_inside_a_running_turn_carries_it_cut_short(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    """What a fork sub-agent started by a tool call sees: the prefix up to the parent's latest
    interaction, its turn cut short there (the call in flight open, never run again)."""
    from agentloop import Conversation
    from agentloop.loop.timetravel import seed_state

    seen: list[Any] = []

    @tool
    def spawn(ctx: ToolContext) -> str:
        """Start a child."""
        parent = ctx.conversation
        seen.append(seed_state(parent._state, len(parent._state.turn_log)))
        return "spawned"

    scripted.add(say("zero"), [call("spawn", "k1")], say("one"))
    conv = Conversation(emu.client(), tools=[spawn])
    conv.send("turn zero")
    conv.send("turn one")
    (child,) = seen
    assert child.cut is not None and child.cut.started == {"k1"}
    assert set(child.open_calls) == {"k1"} and child.history[-1].id == "k1"
    assert child.chain_id == conv.turns[1].interaction_ids[0]
    assert child.chain_len == len(child.history)


def test_rewind_past_a_pause_drops_its_approvals_and_a_journaled_replay_reloads(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    log: list[str] = []
    store = MemoryStore()
    tools = [counting_weather(log), delete_file]
    scripted.add([call("weather", "w1", city="Oslo")], say("cold"))
    scripted.add([call("delete_file", "d1", path="x")])
    conv = drive.conv(tools=tools, store=store, id="j")
    drive(conv.send("weather?"))
    drive(conv.send("delete x"))
    assert conv.pending_approvals and conv.status == "awaiting_approval"
    drive(conv.rewind())
    assert conv.pending_approvals == [] and conv.status == "idle"
    assert answered_once(conv.history)
    reloaded = drive.cls().from_store(store, "j", client=drive.client(), tools=tools)
    assert reloaded.pending_approvals == [] and reloaded.history == conv.history

    scripted.add(say("freezing"))
    fork = drive(conv.replay(0, edit={"w1": "minus 20"}))
    assert log == ["Oslo"]
    loaded = drive.cls().from_store(store, fork.id, client=drive.client(), tools=tools)
    assert loaded.history == fork.history and loaded.turns == fork.turns
    assert loaded.turns[-1].output_text == "freezing"
    assert store.read(fork.id).meta["fork"]["kind"] == "replay"


def test_a_paused_turn_a_new_message_left_undecided_reads_interrupted(
    drive: Any, scripted: ScriptedModel
) -> None:
    store = MemoryStore()
    scripted.add([call("delete_file", "d1", path="/tmp/a")], say("ok"))
    conv = drive.conv(tools=[delete_file], store=store, id="p")
    assert drive(conv.send("delete it")).status == "awaiting_approval"
    assert conv.turns[0].status == "awaiting_approval"
    drive(conv.send("never mind"))
    assert [t.status for t in conv.turns] == ["interrupted", "completed"]
    loaded = drive.cls().from_store(store, "p", client=drive.client(), tools=[delete_file])
    assert [t.status for t in loaded.turns] == ["interrupted", "completed"]
    fork = drive(loaded.fork(0))  # a fork there is paused again, as the turn was then
    assert fork.pending_approvals and fork.turns[0].status == "awaiting_approval"


def test_misuse_of_a_conversation_is_a_clear_agentloop_error(drive: Any, tmp_path: Any) -> None:
    from agentloop.errors import ConfigurationError, ConversationNotFoundError, StoreError

    other = Emulator().client() if drive.is_async else Emulator().async_client()
    with pytest.raises(ConfigurationError, match=r"use (Async)?Conversation\(client\)"):
        drive.cls()(other)  # the other driver's client
    with pytest.raises(ConfigurationError, match="store= takes a ConversationStore"):
        drive.conv(store=str(tmp_path / "chats.db"), id="x")
    with pytest.raises(ConversationNotFoundError, match="no saved conversation at"):
        drive.cls().load(tmp_path / "missing.json", client=drive.client())
    conv = drive.conv()
    with pytest.raises(StoreError, match="it is a folder"):
        conv.save(tmp_path)
    with pytest.raises(TurnIndexError, match="no turns yet"):
        drive(conv.fork(0))
