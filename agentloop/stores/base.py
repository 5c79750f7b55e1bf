"""The store protocol: what every conversation store does, and the parts they share.

A store keeps, per conversation id, an append-only list of *records* (JSON texts written by
the conversation side, opaque to the store), a *version* (the number of records stored), a
small *meta* object (title, model, ...), two timestamps and a *live-turn lease*. Writers use
optimistic concurrency: ``append`` names the version it read, and fails with
:class:`~agentloop.errors.ConflictError` (writing nothing) if another writer got there first.

The lease says which writer is running a turn of the conversation right now: ``append`` with
``owner=`` and ``lease_seconds=`` takes it (or renews it, or with ``lease_seconds=0`` gives it
back) in the same atomic write, ``renew_lease`` extends it while a long tool runs, and while
it is live every other writer's ``append`` fails with
:class:`~agentloop.errors.TurnInProgressError` naming the owner and the expiry, writing
nothing. A lease nobody renews expires: a crashed writer blocks nobody for longer than
``lease_seconds``.
"""

from __future__ import annotations

import abc
import builtins
import datetime
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from agentloop.errors import (
    ConflictError,
    ConversationNotFoundError,
    InputError,
    TurnInProgressError,
)

__all__ = ["DEFAULT_LEASE_SECONDS", "ConversationInfo", "ConversationStore", "StoredConversation"]

log = logging.getLogger("agentloop.stores")

#: How long a live-turn lease lasts unless renewed (a running turn renews it every third of it).
DEFAULT_LEASE_SECONDS = 30.0


def conversation_class(client: Any) -> Any:
    """The conversation class a loaded conversation gets when none is named: an
    ``AsyncConversation`` for an ``AsyncClient``, else a ``Conversation``."""
    from agentloop.client import AsyncClient
    from agentloop.loop import AsyncConversation, Conversation

    return AsyncConversation if isinstance(client, AsyncClient) else Conversation


@dataclass(frozen=True)
class StoredConversation:
    """What :meth:`ConversationStore.read` returns.

    ``records`` are the JSON texts stored after position ``after`` of the read, in order, each
    byte-equal to the text given to ``append``; ``version`` is the total number of records
    stored (so the next ``append`` passes ``expected_version=version``). ``lease_owner`` and
    ``lease_expires`` name the writer running a turn of it now and when its lease runs out
    (``None`` when no lease is live at the time of the read).
    """

    id: str
    version: int
    records: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0
    lease_owner: str | None = None
    lease_expires: float | None = None


@dataclass(frozen=True)
class ConversationInfo:
    """One line of :meth:`ConversationStore.list`: a stored conversation without its records."""

    id: str
    version: int
    created: float
    updated: float
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ConversationStore(Protocol):
    """Where durable conversations keep their journal.

    Implemented by :class:`~agentloop.stores.SQLiteStore` and
    :class:`~agentloop.stores.PostgresStore`; :func:`~agentloop.stores.open_store` picks one
    from a URL or path. Every method has an ``a``-prefixed async twin with the same meaning.

    Records are JSON texts (one JSON object each), stored and returned exactly as given: the
    store never parses or re-encodes them. A conversation's version is the number of records
    it holds; ``0`` also means "does not exist".
    """

    def append(
        self,
        id: str,
        records: Sequence[str],
        *,
        expected_version: int,
        meta: Mapping[str, Any] | None = None,
        owner: str | None = None,
        lease_seconds: float | None = None,
        take_over: str | None = None,
    ) -> int:
        """Append ``records`` atomically iff the stored version is ``expected_version``.

        ``expected_version=0`` creates the conversation. ``meta``, when given, replaces the
        stored meta. Appending no records is allowed (checks the version, updates meta and
        the ``updated`` time). Returns the new version; raises
        :class:`~agentloop.errors.ConflictError` (and writes nothing) on a version mismatch.

        The live-turn lease: if another writer than ``owner`` (or ``take_over``, a lease this
        writer knows is dead) holds a live lease, raises
        :class:`~agentloop.errors.TurnInProgressError` and writes nothing. With ``owner`` and
        ``lease_seconds``, the write also takes or renews the lease for ``lease_seconds``
        (``0``: releases it).
        """
        ...

    def renew_lease(self, id: str, owner: str, *, seconds: float) -> float | None:
        """Extend ``owner``'s lease on ``id`` to ``seconds`` from now; the new expiry, or
        ``None`` when ``owner`` does not hold it (any more)."""
        ...

    def read(self, id: str, *, after: int = 0) -> StoredConversation:
        """The conversation with its records after position ``after`` (0: all of them).

        Raises :class:`~agentloop.errors.ConversationNotFoundError` for an unknown id.
        """
        ...

    def version(self, id: str) -> int:
        """The stored version (number of records); 0 if there is no such conversation."""
        ...

    def list(self) -> builtins.list[ConversationInfo]:
        """Every stored conversation, most recently updated first."""
        ...

    def ids(self) -> builtins.list[str]:
        """The stored ids, most recently updated first."""
        ...

    def delete(self, id: str) -> bool:
        """Delete a conversation and its records; ``False`` if there was none."""
        ...

    def __contains__(self, id: object) -> bool: ...

    def close(self) -> None:
        """Release the connection; the store cannot be used afterwards."""
        ...

    def __enter__(self) -> ConversationStore: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def aappend(
        self,
        id: str,
        records: Sequence[str],
        *,
        expected_version: int,
        meta: Mapping[str, Any] | None = None,
        owner: str | None = None,
        lease_seconds: float | None = None,
        take_over: str | None = None,
    ) -> int:
        """Async :meth:`append`."""
        ...

    async def arenew_lease(self, id: str, owner: str, *, seconds: float) -> float | None:
        """Async :meth:`renew_lease`."""
        ...

    async def aread(self, id: str, *, after: int = 0) -> StoredConversation:
        """Async :meth:`read`."""
        ...

    async def aversion(self, id: str) -> int:
        """Async :meth:`version`."""
        ...

    async def alist(self) -> builtins.list[ConversationInfo]:
        """Async :meth:`list`."""
        ...

    async def adelete(self, id: str) -> bool:
        """Async :meth:`delete`."""
        ...

    async def aclose(self) -> None:
        """Async :meth:`close` (closes the async connection too, where there is one)."""
        ...

    def load(
        self,
        id: str,
        *,
        client: Any = None,
        tools: Iterable[Any] = (),
        cls: Any = None,
        **overrides: Any,
    ) -> Any:
        """Rebuild the conversation ``id`` (a ``Conversation`` unless ``cls`` says otherwise)."""
        ...

    def save(self, conversation: Any, id: str | None = None) -> str:
        """Store ``conversation`` under ``id`` (default: its own id); returns the id."""
        ...


# --- shared by the implementations ------------------------------------------------------------


class _StoreBase(abc.ABC):
    """Argument checks, error messages, context managers, ``load`` and ``save``."""

    def _check_append(
        self,
        id: str,
        records: Sequence[str],
        expected_version: int,
        owner: str | None = None,
        lease_seconds: float | None = None,
    ) -> Sequence[str]:
        self._check_id(id)
        self._check_lease(owner, lease_seconds, needed=False)
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise InputError(
                f"expected_version must be an int (the version you read), not "
                f"{type(expected_version).__name__}"
            )
        if expected_version < 0:
            raise InputError(f"expected_version must be >= 0, not {expected_version}")
        if isinstance(records, str):
            raise InputError("records must be a sequence of JSON texts, not one str; wrap it")
        records = list(records)
        for i, record in enumerate(records):
            if not isinstance(record, str):
                raise InputError(
                    f"record {i} is a {type(record).__name__}; records are JSON texts (str), "
                    "e.g. json.dumps(obj)"
                )
        return records

    @staticmethod
    def _check_lease(owner: object, seconds: object, *, needed: bool = True) -> None:
        if owner is None and not needed:
            if seconds is not None:
                raise InputError("lease_seconds needs owner= (the writer taking the lease)")
            return
        if not isinstance(owner, str) or not owner:
            raise InputError(f"a lease owner is a non-empty str, not {owner!r}")
        if seconds is None and not needed:
            return
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise InputError(f"lease_seconds must be a number >= 0, not {seconds!r}")

    @staticmethod
    def _check_id(id: object) -> None:
        if not isinstance(id, str) or not id:
            raise InputError(f"a conversation id is a non-empty str, not {id!r}")

    @staticmethod
    def _check_after(after: int) -> None:
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InputError(f"after must be an int >= 0 (records already read), not {after!r}")

    @staticmethod
    def _meta_text(meta: Mapping[str, Any] | None) -> str | None:
        if meta is None:
            return None
        if not isinstance(meta, Mapping):
            raise InputError(f"meta must be a dict (a small JSON object), not {type(meta)}")
        try:
            return json.dumps(dict(meta), ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise InputError(f"meta must be JSON-serializable: {exc}") from None

    def _meta_dict(self, text: str | None, id: str = "?") -> dict[str, Any]:
        """The stored meta; a row another program left unreadable reads as empty (logged),
        so one bad row never breaks ``list()`` or ``load()`` of the others (or of itself)."""
        if not text:
            return {}
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as exc:
            log.warning(
                "%r: the meta of conversation %r is not JSON (%s); it is read as {} and "
                "replaced by the next write",
                self,
                id,
                exc,
            )
            return {}
        return value if isinstance(value, dict) else {}

    def _busy(self, id: str, owner: str, expires: float, now: float) -> TurnInProgressError:
        when = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
        return TurnInProgressError(
            f"conversation {id!r} in {self!r} is running a turn in another writer "
            f"({owner}); its lease expires at {when:%Y-%m-%d %H:%M:%S} UTC (in "
            f"{max(0.0, expires - now):.0f} s) unless that writer renews it. Nothing was "
            f"written. Wait for that turn to finish, then reload the conversation "
            f"(store.load({id!r}, ...)) and send again; if that writer died, recover() works "
            "once its lease has expired",
            conversation_id=id,
            owner=owner,
            expires=expires,
        )

    def _conflict(self, id: str, expected: int, actual: int) -> ConflictError:
        return ConflictError(
            f"conversation {id!r} in {self!r} was changed by another writer: it is at version "
            f"{actual}, this writer expected version {expected}. Nothing was written; reload it "
            f"(store.load({id!r}, ...) or store.read({id!r})) and try again.",
            conversation_id=id,
            expected_version=expected,
            actual_version=actual,
        )

    def _not_found(self, id: str) -> ConversationNotFoundError:
        return ConversationNotFoundError(
            f"no conversation {id!r} in {self!r}; store.ids() lists the stored ids"
        )

    def ids(self) -> builtins.list[str]:
        """The stored ids, most recently updated first."""
        return [info.id for info in self.list()]

    @abc.abstractmethod
    def list(self) -> builtins.list[ConversationInfo]: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def load(
        self,
        id: str,
        *,
        client: Any = None,
        tools: Iterable[Any] = (),
        cls: Any = None,
        **overrides: Any,
    ) -> Any:
        """Rebuild the conversation ``id`` (a ``Conversation`` unless ``cls`` says otherwise).

        The conversation side does the work (``cls.from_store``); the result keeps journaling
        to this store.
        """
        agent = overrides.get("agent")
        if agent is not None and not isinstance(agent, str):
            # agentloop.Agent: the conversation runs its graph (``agent=`` strings name the
            # API's agents, as in ``Conversation(agent=...)``)
            del overrides["agent"]
            return agent._load(self, id, client=client, cls=cls, **overrides)
        if cls is None:
            cls = conversation_class(client)
        return cls.from_store(self, id, client=client, tools=tools, **overrides)

    def save(self, conversation: Any, id: str | None = None) -> str:
        """Store ``conversation`` under ``id`` (default: its own id); returns the id."""
        return str(conversation.save_to_store(self, id))
