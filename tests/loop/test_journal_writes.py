"""How often a journaled turn writes to its store, and what its first write carries.

A tool turn writes four times, each before what depends on it: the live-turn lease with the
turn's first records (before the first request), the response that asked for calls with their
"started" record (before the tools run), the results (before the next request), and the end
(giving the lease back). A lease refused at that first write undoes the turn: nothing is
written, sent or changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from loop_helpers import bodies, call, get_weather, say

from agentloop.errors import TurnInProgressError
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, ScriptedModel


class CountingStore(SQLiteStore):
    """A real SQLite store that remembers each append's records and lease."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[tuple[list[str], float | None]] = []

    def append(
        self,
        id: str,
        records: Sequence[str],
        *,
        expected_version: int,
        meta: Any = None,
        owner: str | None = None,
        lease_seconds: float | None = None,
        take_over: str | None = None,
    ) -> int:
        version = super().append(
            id, records, expected_version=expected_version, meta=meta, owner=owner,
            lease_seconds=lease_seconds, take_over=take_over,
        )  # fmt: skip
        self.writes.append(([json.loads(r)["k"] for r in records], lease_seconds))
        return version


def test_a_tool_turn_writes_four_times_the_first_with_the_lease(
    drive: Any, scripted: ScriptedModel, tmp_path: Path
) -> None:
    store = CountingStore(tmp_path / "s.db")
    calls = [call("get_weather", "c1", city="Oslo"), call("get_weather", "c2", city="Rome")]
    scripted.add(calls, say("done"))
    conv = drive.conv(tools=[get_weather], store=store, id="s")
    turn = drive(conv.send("weather in Oslo and Rome"))
    assert turn.status == "completed"
    kinds = [kinds for kinds, _ in store.writes]
    assert kinds == [
        ["turn", "step"],  # the turn and its input, with the lease: before the first request
        ["usage", "response", "step", "step", "chain", "started"],  # before the tools run
        ["step", "step"],  # the results, before the next request
        ["usage", "response", "step", "step", "chain", "end"],  # the end
    ]
    leases = [seconds for _, seconds in store.writes]
    assert leases[0] is not None and leases[0] > 0  # taken with the first records
    assert leases[-1] == 0.0  # given back with the last
    assert store.read("s").lease_owner is None


def test_a_lease_refused_at_the_first_write_changes_nothing(
    drive: Any, scripted: ScriptedModel, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "s.db"
    scripted.add(say("hello"), say("again"))
    conv = drive.conv(store=SQLiteStore(path), id="s")
    drive(conv.send("hello"))
    store = SQLiteStore(path)
    version = store.version("s")
    # Another writer takes the lease (its turn runs elsewhere).
    store.append("s", [], expected_version=version, owner="pid 1 on elsewhere (x)",
                 lease_seconds=60.0)  # fmt: skip
    history, requests = conv.history, len(bodies(emu))
    turns, usage = len(conv.turns), conv.usage.requests
    with pytest.raises(TurnInProgressError):
        drive(conv.send("while it runs"))
    assert conv.history == history and len(conv.turns) == turns
    assert conv.usage.requests == usage and len(bodies(emu)) == requests
    assert store.version("s") == version
    assert conv._state.journal is not None and conv._state.journal.pending == []
    assert not conv.needs_recovery and not conv.running
