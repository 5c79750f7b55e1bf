"""``conv.turns``, ``fork``, ``rewind`` and ``replay``: time travel on a conversation.

The state work is pure (``timetravel.py``); these mixins of ``Conversation`` and
``AsyncConversation`` build the branch conversation, journal what changed (a fork's first
record is a snapshot of its prefix, its store meta names the parent and the fork point; a
rewind is one ``rewind`` record, the turns it left stay in the journal) and run the re-run
turn of a replay. The store writes go through the drivers' own ``Persist`` handling.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, cast

from agentloop.errors import ConflictError, InputError, TurnIndexError, TurnInProgressError

from .effects import Effect, Persist
from .records import Journal, Rewound, Snapshot, encode
from .state import ConversationState
from .timetravel import (
    TurnInfo,
    edited_state,
    seed_state,
    turn_index,
    turn_infos,
)

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._core import ConversationCore as _Base
else:
    _Base = object

__all__ = ["AsyncTimeTravel", "TimeTravel"]

_Writes = Generator[Effect, Any, None]


class _TimeTravelCore(_Base):
    """What the sync and async methods share: checks, building branches, the records."""

    @property
    def turns(self) -> list[TurnInfo]:
        """The conversation's user turns, oldest first (``TurnInfo``: ``index``, ``input``,
        ``output_text``, ``interaction_id``, ``usage``, ``time``): where ``fork``,
        ``rewind`` and ``replay`` can go back to."""
        return turn_infos(self._state)

    def _busy(self) -> bool:
        """A turn is being driven (or a background turn is suspended), here or, for a stored
        conversation loaded while another writer's live turn holds its lease, there."""
        return self._state.status.active is not None or self.running_elsewhere is not None

    def _branch(
        self, state: ConversationState, id: str | None, at: int, kind: str
    ) -> tuple[Self, _Writes]:
        """A new conversation of this class and settings on ``state`` (tools shared, not
        owned), and the protocol that journals it to the store as a branch."""
        new: Self = cast(Any, type(self))(
            self.client,  # shared: a client passed in is not the fork's to close
            strategy=self.strategy,
            deps=self.deps,
            id=id,
            compaction=self.compaction,
            limits=self.limits,
            hooks=self.hooks,
        )
        new.settings = self.settings  # frozen: every setting, shared as it is
        new.output_retries, new.output_validators = self.output_retries, self.output_validators
        new.interrupt_grace = self.interrupt_grace
        if self._agents is not None:  # run by an Agent: the same graph, read from new's history
            new._agents = self._agents.bound_to(new)
        new.tools = self.tools  # the same tools; the parent owns them (close() it last)
        new._owns_tools = False
        state.strategy = self.strategy
        state.status.label = new.id
        new._state = state
        if self.store is None:
            return new, _nothing()
        mark = state.turn_log.marks[at] if 0 <= at < len(state.turn_log) else None
        fork = {
            "kind": kind,
            "at": at,
            "interaction_id": mark.interaction_ids[-1] if mark and mark.interaction_ids else None,
            "parent_version": self._state.journal.version if self._state.journal else None,
        }
        meta = {
            key: value
            for key, value in self._store_meta.items()
            if key not in ("settings", "title", "parent", "fork")
        }
        new._attach(self.store, 0, {**meta, "parent": self.id, "fork": fork})
        journal = state.journal
        assert journal is not None
        journal.pending.append(encode(Snapshot(new.to_dict())))
        journal.meta = new._saved_settings()
        new._journaled_settings = journal.meta
        return new, _created(journal)

    def _fork(self, at: int | None, id: str | None, what: str = "fork") -> tuple[Self, _Writes]:
        if id is not None and (not isinstance(id, str) or not id):
            raise InputError(f"id must be a non-empty str (the fork's id), not {id!r}")
        if id is not None and id == self.id:
            raise InputError(f"id={id!r} is this conversation's own id; a fork needs a new one")
        index = turn_index(self._state, at, running=self._busy(), what=what)
        return self._branch(seed_state(self._state, index + 1), id, index, "fork")

    def _rewind(self, turns: int) -> _Writes:
        elsewhere = self.running_elsewhere
        if elsewhere is not None:
            owner, expires = elsewhere
            raise TurnInProgressError(
                f"conversation {self.id} is running a turn in another writer ({owner}); nothing "
                "was changed. rewind() after that turn finishes, on the conversation loaded again",
                conversation_id=self.id,
                owner=owner,
                expires=expires,
            )
        if self._busy():
            raise TurnInProgressError(
                f"conversation {self.id} is running a turn; rewind() after it finishes"
            )
        count = len(self._state.turn_log)
        if isinstance(turns, bool) or not isinstance(turns, int) or not 1 <= turns <= count:
            raise TurnIndexError(
                f"rewind(turns={turns!r}): give how many turns to go back, 1..{count} "
                f"(the conversation has {count}); see conv.turns"
                if count
                else "rewind(): the conversation has no turns to go back from"
            )
        state = self._state
        journal = state.journal
        if journal is None:
            state.commit(Rewound(count - turns))  # the same change a replay makes
            return _nothing()
        # All or nothing: a write the store refuses (or fails) leaves this conversation as it
        # was, so the rewind may be retried, or the conversation reloaded, without losing a turn.
        # ``rewind_in_place`` replaces these attributes (it never changes them in place).
        before = {name: getattr(state, name) for name in _REWOUND}
        written = len(journal.pending)
        state.commit(Rewound(count - turns))
        return _persist_or_undo(journal, state, before, written)

    def _replay(
        self, at: int, input: Any, edit: Mapping[str, Any] | None
    ) -> tuple[Self, _Writes, Any]:
        """The branch of a replay and what to run in it: the input to send, or ``None`` to
        ``recover()`` (edited tool results)."""
        if at is None:
            raise TurnIndexError("replay(at): give the index of the turn to re-run")
        index = turn_index(self._state, at, running=self._busy(), what="replay")
        if edit is not None:
            if input is not None:
                raise InputError(
                    "replay() takes input= or edit=, not both: edited tool results re-run the "
                    "turn's own input"
                )
            if not isinstance(edit, Mapping):
                raise InputError(f"edit must be a dict {{call_id: new_result}}, not {edit!r}")
            state = edited_state(self._state, index, edit)
            conv, writes = self._branch(state, None, index, "replay")
            return conv, writes, None
        if input is None:
            input = turn_infos(self._state)[index].input
            if not input:
                raise InputError(f"turn {index} has no user input to re-run; pass input=")
        conv, writes = self._rerun_branch(index, None)
        return conv, writes, input

    def _rerun_branch(self, at: int, id: str | None) -> tuple[Self, _Writes]:
        """The branch to re-run turn ``at`` in: this conversation's turns before it (stored
        as a ``replay`` branch); the caller sends the turn's (new) input to it."""
        index = turn_index(self._state, at, running=self._busy(), what="re-run")
        return self._branch(seed_state(self._state, index), id, index, "replay")


def _nothing() -> _Writes:
    return
    yield  # a generator that yields nothing


_REWOUND = (
    "history",
    "turn_log",
    "view",
    "chain_id",
    "chain_len",
    "open_calls",
    "call_ids",
    "paused",
    "cut",
    "progress",
    "checkpoint",
)
"""What a ``Rewound`` record changes in a state (``timetravel.rewind_in_place``)."""


def _persist_or_undo(
    journal: Journal, state: ConversationState, before: dict[str, Any], written: int
) -> _Writes:
    try:
        yield Persist(journal)
    except BaseException:
        if len(journal.pending) > written:  # not written: the record and its change go
            del journal.pending[written:]
            for name, value in before.items():
                setattr(state, name, value)
        raise


def _created(journal: Journal) -> _Writes:
    """Write a new branch (version 0): a conflict means the id is taken."""
    try:
        yield Persist(journal)
    except ConflictError:
        raise InputError(
            f"a conversation {journal.id!r} is already stored; pass another id= (or none: a new "
            "id is made)"
        ) from None


class TimeTravel(_TimeTravelCore):
    """``fork``, ``rewind``, ``replay`` of ``Conversation`` (blocking)."""

    def fork(self, at: int | None = None, *, id: str | None = None) -> Self:
        """A new conversation whose history is this one's up to turn ``at`` (an index into
        ``turns``, negative from the end; ``None``: now), with the same settings and tools.

        Stateful, it continues from the interaction that ended turn ``at``: its next request
        sends ``previous_interaction_id`` and only the new input (the server keeps the shared
        prefix); stateless, it carries the prefix. If the server no longer has that
        interaction (deleted, expired, or ``store=false`` turns) the prefix is replayed once.
        Approvals pending or calls in doubt at that point are carried, never run by forking.
        With a store, the fork is stored under ``id`` (default: a new id) with meta naming its
        parent and fork point. This conversation is unchanged."""
        conv, writes = self._fork(at, id)
        conv._effects(writes)
        return conv

    def rewind(self, turns: int = 1) -> None:
        """Go back ``turns`` turns in this conversation (the history, the server chain and any
        pending approvals of those turns go); with a store, the removed turns stay in the
        journal as a branch."""
        self._effects(self._rewind(turns))

    def replay(self, at: int, *, input: Any = None, edit: Mapping[str, Any] | None = None) -> Self:
        """Re-run turn ``at`` as a fork and return the fork (its last turn is the re-run):
        with the turn's own input, a new ``input``, or ``edit={call_id: new_result}`` to
        answer the model's calls in that turn differently (the other calls of the same model
        step keep their results; nothing is run again). This conversation is unchanged."""
        conv, writes, run = self._replay(at, input, edit)
        conv._effects(writes)
        driver = cast(Any, conv)
        if run is None:
            driver.recover()
        else:
            driver.send(run)
        return conv

    def _effects(self, proto: _Writes) -> None:
        from ._sync import ConversationWorld, drive

        for _ in drive(cast(Any, proto), ConversationWorld(cast(Any, self), False)):
            pass


class AsyncTimeTravel(_TimeTravelCore):
    """``fork``, ``rewind``, ``replay`` of ``AsyncConversation`` (awaited: they write to the
    store)."""

    async def fork(self, at: int | None = None, *, id: str | None = None) -> Self:
        """See ``Conversation.fork``."""
        conv, writes = self._fork(at, id)
        await conv._effects(writes)
        return conv

    async def rewind(self, turns: int = 1) -> None:
        """See ``Conversation.rewind``."""
        await self._effects(self._rewind(turns))

    async def replay(
        self, at: int, *, input: Any = None, edit: Mapping[str, Any] | None = None
    ) -> Self:
        """See ``Conversation.replay``."""
        conv, writes, run = self._replay(at, input, edit)
        await conv._effects(writes)
        driver = cast(Any, conv)
        if run is None:
            await driver.recover()
        else:
            await driver.send(run)
        return conv

    async def _effects(self, proto: _Writes) -> None:
        from ._async import AsyncConversationWorld, adrive

        async for _ in adrive(cast(Any, proto), AsyncConversationWorld(cast(Any, self), False)):
            pass
