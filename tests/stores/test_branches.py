"""Stored branches on SQLite and PostgreSQL: a fork is a conversation of its own with meta
naming its parent and fork point; ``list()`` shows it, ``load`` works on every branch, a
rewind keeps the turns it left in the journal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from _store_workers import StoreSpec

from agentloop import AsyncConversation, Conversation
from agentloop.errors import InputError
from agentloop.testing import Emulator, ScriptedModel


def say(text: str) -> list[dict[str, Any]]:
    return [{"type": "model_output", "content": [{"type": "text", "text": text}]}]


def inputs(conv: Any) -> list[str]:
    return [t.input_text for t in conv.turns]


def creates(emu: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emu.requests if r.method == "POST"]


def test_a_fork_is_stored_as_a_branch(spec: StoreSpec) -> None:
    emu = Emulator(model=ScriptedModel([say("one"), say("two"), say("three"), say("forked")]))
    with spec.open() as store:
        conv = Conversation(emu.client(), store=store, id="main-line")
        for text in ("first", "second", "third"):
            conv.send(text)
        point = conv.turns[1].interaction_id
        fork = conv.fork(1, id="what-if")
        infos = {info.id: info for info in store.list()}
        assert set(infos) == {"main-line", "what-if"}
        meta = infos["what-if"].meta
        assert meta["parent"] == "main-line"
        assert meta["fork"]["at"] == 1 and meta["fork"]["interaction_id"] == point
        assert meta["title"] == "first" and meta["settings"]["model"] == conv.model
        assert "parent" not in infos["main-line"].meta
        fork.send("what if")
    with spec.open() as again:  # another connection, e.g. another process
        loaded = again.load("what-if", client=emu.client())
        assert inputs(loaded) == ["first", "second", "what if"]
        assert creates(emu)[-1]["previous_interaction_id"] == point
        original = again.load("main-line", client=emu.client())
        assert inputs(original) == ["first", "second", "third"]
        # A taken id is refused, and nothing is written.
        with pytest.raises(InputError, match="'main-line' is already stored"):
            loaded.fork(0, id="main-line")
        # A fork of a fork names its own parent.
        deeper = loaded.fork(0)
        assert again.list()[0].id == deeper.id
        assert again.list()[0].meta["parent"] == "what-if"


def test_a_rewind_keeps_the_removed_turns_in_the_journal(spec: StoreSpec) -> None:
    emu = Emulator(model=ScriptedModel([say("one"), say("two"), say("two again")]))
    with spec.open() as store:
        conv = Conversation(emu.client(), store=store, id="r")
        conv.send("first")
        conv.send("second")
        conv.rewind()
        conv.send("second, again")
        records = [json.loads(r) for r in store.read("r").records]
        kept = [
            r["step"] for r in records if r["k"] == "step" and r["step"]["type"] == "user_input"
        ]
        assert [s["content"][0]["text"] for s in kept] == ["first", "second", "second, again"]
        assert {"k": "rewind", "turns": 1} in records
    with spec.open() as again:
        loaded = again.load("r", client=emu.client())
        assert inputs(loaded) == ["first", "second, again"]
        assert [t.output_text for t in loaded.turns] == ["one", "two again"]


def test_async_fork_and_rewind_on_the_store(spec: StoreSpec) -> None:
    emu = Emulator(model=ScriptedModel([say("one"), say("two"), say("forked")]))

    async def main() -> None:
        async with spec.open() as store:
            conv = AsyncConversation(emu.async_client(), store=store, id="a")
            await conv.send("first")
            await conv.send("second")
            fork = await conv.fork(0, id="a-fork")
            await fork.send("instead")
            await conv.rewind()
            metas = {info.id: info.meta for info in store.list()}
            assert metas["a-fork"]["parent"] == "a" and "parent" not in metas["a"]
            loaded = store.load("a-fork", client=emu.client())
            assert inputs(loaded) == ["first", "instead"]
            assert inputs(store.load("a", client=emu.client())) == ["first"]

    asyncio.run(main())
