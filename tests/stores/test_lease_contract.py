"""The live-turn lease, run against every store (see conftest: SQLite and PostgreSQL)."""

from __future__ import annotations

import pickle
import time

import pytest
from _store_workers import StoreSpec

from agentloop.errors import ConflictError, InputError, TurnInProgressError
from agentloop.stores import ConversationStore

A = "pid 1 on host-a (aaaa)"
B = "pid 2 on host-b (bbbb)"


def test_a_lease_keeps_every_other_writer_out_and_says_who_holds_it(spec: StoreSpec) -> None:
    with spec.open() as a, spec.open() as b:
        a.append("k", ['{"n":1}'], expected_version=0, owner=A, lease_seconds=60)
        stored = b.read("k")
        assert stored.lease_owner == A
        assert stored.lease_expires is not None and stored.lease_expires > time.time() + 30
        for owner in (B, None):  # another lease holder, or a writer without a lease
            kwargs = {"owner": owner, "lease_seconds": 60} if owner else {}
            with pytest.raises(TurnInProgressError) as info:
                b.append("k", ['{"n":"b"}'], expected_version=1, **kwargs)
            err = info.value
            assert (err.conversation_id, err.owner) == ("k", A)
            assert err.expires == pytest.approx(stored.lease_expires, abs=1)
            assert A in str(err) and "expires at" in str(err) and "Nothing was written" in str(err)
            assert pickle.loads(pickle.dumps(err)).owner == A
        assert b.read("k").records == ['{"n":1}']  # nothing of b's
        # The holder goes on writing (and renewing), then gives the lease back.
        assert a.append("k", ['{"n":2}'], expected_version=1, owner=A, lease_seconds=60) == 2
        assert a.append("k", [], expected_version=2, owner=A, lease_seconds=0) == 2
        assert b.read("k").lease_owner is None
        assert b.append("k", ['{"n":"b"}'], expected_version=2, owner=B, lease_seconds=60) == 3


def test_the_lease_is_checked_before_the_version(store: ConversationStore) -> None:
    store.append("k", ["{}"], expected_version=0, owner=A, lease_seconds=60)
    with pytest.raises(TurnInProgressError):  # stale and busy: busy is what to wait for
        store.append("k", ["{}"], expected_version=0, owner=B, lease_seconds=60)
    with pytest.raises(ConflictError):  # the holder itself still needs the right version
        store.append("k", ["{}"], expected_version=0, owner=A, lease_seconds=60)


def test_an_expired_lease_blocks_nobody(store: ConversationStore) -> None:
    store.append("k", ["{}"], expected_version=0, owner=A, lease_seconds=0.2)
    assert store.read("k").lease_owner == A
    time.sleep(0.3)
    assert store.read("k").lease_owner is None
    assert store.renew_lease("k", B, seconds=5) is None  # B never held it
    assert store.append("k", ["{}"], expected_version=1, owner=B, lease_seconds=60) == 2
    assert store.read("k").lease_owner == B


def test_take_over_replaces_a_dead_writers_live_lease(store: ConversationStore) -> None:
    store.append("k", ["{}"], expected_version=0, owner=A, lease_seconds=60)
    v = store.append("k", ["{}"], expected_version=1, owner=B, lease_seconds=60, take_over=A)
    assert v == 2 and store.read("k").lease_owner == B


def test_renewing_extends_only_the_holders_lease(store: ConversationStore) -> None:
    store.append("k", ["{}"], expected_version=0, owner=A, lease_seconds=1)
    first = store.read("k").lease_expires
    renewed = store.renew_lease("k", A, seconds=120)
    assert renewed is not None and first is not None and renewed > first + 60
    assert store.read("k").lease_expires == pytest.approx(renewed)
    assert store.renew_lease("k", B, seconds=120) is None
    assert store.renew_lease("missing", A, seconds=1) is None


def test_lease_arguments_are_checked(store: ConversationStore) -> None:
    with pytest.raises(InputError, match="owner"):
        store.append("k", ["{}"], expected_version=0, lease_seconds=5)
    with pytest.raises(InputError, match="lease_seconds"):
        store.append("k", ["{}"], expected_version=0, owner=A, lease_seconds=-1)
    assert store.version("k") == 0


async def test_async_lease(spec: StoreSpec) -> None:
    a, b = spec.open(), spec.open()
    try:
        await a.aappend("k", ["{}"], expected_version=0, owner=A, lease_seconds=60)
        with pytest.raises(TurnInProgressError):
            await b.aappend("k", ["{}"], expected_version=1, owner=B, lease_seconds=60)
        assert await a.arenew_lease("k", A, seconds=60) is not None
        assert (await b.aread("k")).lease_owner == A
        await a.aappend("k", [], expected_version=1, owner=A, lease_seconds=0)
        assert await b.aappend("k", ["{}"], expected_version=1) == 2
    finally:
        await a.aclose()
        await b.aclose()


def test_a_non_json_meta_row_reads_as_empty(spec: StoreSpec) -> None:
    """Fault 7: one unreadable meta row broke list() and load() of every conversation."""
    with spec.open() as store:
        store.append("good", ["{}"], expected_version=0, meta={"title": "fine"})
        store.append("bad", ["{}"], expected_version=0, meta={"title": "x"})
        _corrupt_meta(spec, "bad")
        listed = {info.id: info.meta for info in store.list()}
        assert listed == {"good": {"title": "fine"}, "bad": {}}
        assert store.read("bad").meta == {}
        store.append("bad", [], expected_version=1, meta={"title": "repaired"})
        assert store.read("bad").meta == {"title": "repaired"}


def _corrupt_meta(spec: StoreSpec, id: str) -> None:
    if spec.kind == "sqlite":
        import sqlite3

        db = sqlite3.connect(spec.target)
        db.execute("UPDATE conversations SET meta = '{not json' WHERE id = ?", (id,))
        db.commit()
        db.close()
        return
    import psycopg

    with psycopg.connect(spec.target, autocommit=True) as conn:
        conn.execute(
            f'UPDATE "{spec.schema}".agentloop_conversations SET meta = %s WHERE id = %s'.encode(),
            ("{not json", id),
        )
