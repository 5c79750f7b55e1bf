"""The store contract, run against every store (see conftest: SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import threading
from collections import Counter

import pytest
from _store_workers import StoreSpec, forked_writer, process_writer, record, rmw_appends

from agentloop.errors import ConflictError, ConversationNotFoundError, InputError, StoreError
from agentloop.stores import ConversationInfo, ConversationStore, StoredConversation

# Texts whose exact bytes matter: key order, spacing, escapes, every kind of Unicode, size.
EXACT = [
    '{"b":1,"a":2}',
    '{ "spaced" : [1, 2.50, 1e3, -0.0] ,\n  "z" : null }',
    json.dumps({"text": "héllo ✓ 你好 🎉 שלום e\u0301 \u200d"}, ensure_ascii=False),
    json.dumps({"text": "🎉 ascii-escaped"}),
    '{"esc":"quote \\" backslash \\\\ newline \\n tab \\t nul \\u0000 \\/"}',
    '{"nested":{"z":1,"a":{"y":[{"b":2,"a":1}]}},"dup":1,"dup":2}',
    json.dumps({"big": "x" * 1_000_000 + "é", "after": [1, 2, 3]}, ensure_ascii=False),
    "{}",
]


def writers_records(records: list[str]) -> Counter[tuple[str, int]]:
    """How often each (writer, i) was stored; checks that every record written by a
    read-modify-write loop landed right after the version its writer had read."""
    decoded = [json.loads(r) for r in records]
    for position, d in enumerate(decoded):
        if d["based_on"] >= 0:
            assert d["based_on"] == position, f"record {position} was based on a stale read: {d}"
    return Counter((d["writer"], d["i"]) for d in decoded)


def test_it_is_a_conversation_store(store: ConversationStore) -> None:
    assert isinstance(store, ConversationStore)


def test_records_come_back_byte_equal(store: ConversationStore) -> None:
    assert store.append("c1", EXACT, expected_version=0) == len(EXACT)
    stored = store.read("c1")
    assert isinstance(stored, StoredConversation)
    assert stored.id == "c1" and stored.version == len(EXACT)
    assert stored.records == EXACT
    assert [r.encode() for r in stored.records] == [r.encode() for r in EXACT]


def test_read_after_returns_only_newer_records(store: ConversationStore) -> None:
    texts = [record("w", i) for i in range(10)]
    store.append("c", texts[:4], expected_version=0)
    store.append("c", texts[4:], expected_version=4)
    assert store.read("c", after=0).records == texts
    assert store.read("c", after=4).records == texts[4:]
    tail = store.read("c", after=9)
    assert tail.records == texts[9:] and tail.version == 10
    assert store.read("c", after=10).records == []
    with pytest.raises(InputError, match="after"):
        store.read("c", after=-1)


def test_versions_count_records(store: ConversationStore) -> None:
    assert store.version("v") == 0 and "v" not in store
    assert store.append("v", ['{"n":1}'], expected_version=0) == 1
    assert store.append("v", ['{"n":2}', '{"n":3}'], expected_version=1) == 3
    assert store.append("v", [], expected_version=3) == 3  # a check that writes nothing
    assert store.version("v") == 3 and "v" in store
    assert store.read("v").records == ['{"n":1}', '{"n":2}', '{"n":3}']


def test_an_empty_conversation_exists_at_version_zero(store: ConversationStore) -> None:
    assert store.append("e", [], expected_version=0, meta={"title": "empty"}) == 0
    assert "e" in store and store.version("e") == 0
    assert store.read("e") == StoredConversation(
        id="e",
        version=0,
        records=[],
        meta={"title": "empty"},
        created=store.read("e").created,
        updated=store.read("e").updated,
    )
    assert store.append("e", ['{"first":true}'], expected_version=0) == 1


def test_meta_is_replaced_only_when_given(store: ConversationStore) -> None:
    store.append("m", ["{}"], expected_version=0, meta={"title": "first", "model": "x"})
    store.append("m", ["{}"], expected_version=1)
    assert store.read("m").meta == {"title": "first", "model": "x"}
    store.append("m", [], expected_version=2, meta={"title": "renamed ✓"})
    assert store.read("m").meta == {"title": "renamed ✓"}
    assert store.list()[0].meta == {"title": "renamed ✓"}
    with pytest.raises(InputError, match="JSON"):
        store.append("m", [], expected_version=2, meta={"bad": object()})


def test_stale_writer_gets_conflict_and_writes_nothing(spec: StoreSpec) -> None:
    with spec.open() as a, spec.open() as b:
        a.append("k", ['{"by":"a","n":1}'], expected_version=0)
        seen_by_b = b.version("k")
        a.append("k", ['{"by":"a","n":2}'], expected_version=1, meta={"by": "a"})
        with pytest.raises(ConflictError) as info:
            b.append("k", ['{"by":"b"}'], expected_version=seen_by_b, meta={"by": "b"})
        err = info.value
        assert (err.conversation_id, err.expected_version, err.actual_version) == ("k", 1, 2)
        assert "another writer" in str(err) and "store.load('k'" in str(err)
        after = a.read("k")  # nothing of b's, nothing of a's lost
        assert after.records == ['{"by":"a","n":1}', '{"by":"a","n":2}']
        assert after.version == 2 and after.meta == {"by": "a"}
        # Reload and retry: b's record goes after a's.
        assert b.append("k", ['{"by":"b"}'], expected_version=b.version("k")) == 3
        assert a.read("k", after=2).records == ['{"by":"b"}']


def test_creating_twice_conflicts(store: ConversationStore) -> None:
    store.append("x", ['{"v":1}'], expected_version=0)
    with pytest.raises(ConflictError) as info:
        store.append("x", ['{"v":"other"}'], expected_version=0)
    assert info.value.actual_version == 1
    with pytest.raises(ConflictError) as missing:
        store.append("nope", ['{"v":1}'], expected_version=3)
    assert missing.value.actual_version == 0
    assert "nope" not in store and store.read("x").records == ['{"v":1}']


def test_conflict_with_zero_records_is_still_a_conflict(store: ConversationStore) -> None:
    store.append("z", ["{}", "{}"], expected_version=0)
    with pytest.raises(ConflictError):
        store.append("z", [], expected_version=1, meta={"touched": True})
    assert store.read("z").meta == {}


def test_bad_arguments_are_input_errors_and_write_nothing(store: ConversationStore) -> None:
    bad: list[tuple[object, object, object]] = [
        ("", ["{}"], 0),
        ("b", [{"a": 1}], 0),
        ("b", '{"a":1}', 0),
        ("b", ["{}"], -1),
        ("b", ["{}"], True),
        ("b", ["{}"], "0"),
    ]
    for id, records, expected in bad:
        with pytest.raises(InputError):
            store.append(id, records, expected_version=expected)  # type: ignore[arg-type]
    assert store.ids() == []


def test_list_is_newest_first(store: ConversationStore) -> None:
    store.append("a", ["{}"], expected_version=0, meta={"title": "A"})
    store.append("b", ["{}", "{}"], expected_version=0)
    store.append("c", ["{}"], expected_version=0)
    assert store.ids() == ["c", "b", "a"]
    store.append("a", ["{}"], expected_version=1)
    infos = store.list()
    assert [i.id for i in infos] == ["a", "c", "b"] == store.ids()
    first = infos[0]
    assert isinstance(first, ConversationInfo)
    assert (first.version, first.meta) == (2, {"title": "A"})
    assert first.updated > first.created > 0
    assert infos[1].created == infos[1].updated


def test_delete(store: ConversationStore) -> None:
    store.append("d", ['{"old":1}', '{"old":2}'], expected_version=0)
    store.append("keep", ['{"k":1}'], expected_version=0)
    assert store.delete("d") is True
    assert store.delete("d") is False
    assert "d" not in store and store.version("d") == 0 and store.ids() == ["keep"]
    with pytest.raises(ConversationNotFoundError):
        store.read("d")
    assert store.append("d", ['{"new":1}'], expected_version=0) == 1  # a fresh start
    assert store.read("d").records == ['{"new":1}']
    assert store.read("keep").records == ['{"k":1}']


def test_missing_id_says_what_to_do(store: ConversationStore) -> None:
    with pytest.raises(ConversationNotFoundError) as info:
        store.read("ghost")
    message = str(info.value)
    assert "'ghost'" in message and repr(store) in message and "store.ids()" in message
    assert isinstance(info.value, KeyError)


def test_a_closed_store_says_so(spec: StoreSpec) -> None:
    store = spec.open()
    store.append("c", ["{}"], expected_version=0)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.read("c")
    with spec.open() as again:
        assert again.version("c") == 1


def test_a_thousand_records_in_order(store: ConversationStore) -> None:
    texts = [record("w", i) for i in range(1000)]
    version = 0
    for start in range(0, 1000, 100):
        version = store.append("big", texts[start : start + 100], expected_version=version)
    assert version == 1000
    assert store.read("big").records == texts
    assert store.read("big", after=990).records == texts[990:]


async def test_async_api(spec: StoreSpec) -> None:
    store = spec.open()
    try:
        assert await store.aversion("as") == 0
        assert await store.aappend("as", EXACT[:3], expected_version=0, meta={"t": 1}) == 3
        assert await store.aappend("as", EXACT[3:5], expected_version=3) == 5
        stored = await store.aread("as")
        assert stored.records == EXACT[:5] and stored.meta == {"t": 1}
        assert (await store.aread("as", after=3)).records == EXACT[3:5]
        with pytest.raises(ConflictError) as info:
            await store.aappend("as", ["{}"], expected_version=3)
        assert info.value.actual_version == 5
        with pytest.raises(ConversationNotFoundError):
            await store.aread("missing")
        assert [i.id for i in await store.alist()] == ["as"]
        assert store.read("as").records == EXACT[:5]  # sync and async see the same data
        assert await store.adelete("as") is True
        assert await store.adelete("as") is False
    finally:
        await store.aclose()
    with pytest.raises(StoreError, match="closed"):
        await store.aread("as")


async def test_async_tasks_racing_lose_nothing(spec: StoreSpec) -> None:
    stores = [spec.open() for _ in range(3)]

    async def writer(store: ConversationStore, name: str) -> None:
        for i in range(8):
            while True:
                version = await store.aversion("race")
                try:
                    await store.aappend(
                        "race", [record(name, i, version)], expected_version=version
                    )
                    break
                except ConflictError:
                    await asyncio.sleep(0)

    try:
        await asyncio.gather(*(writer(s, f"t{n}") for n, s in enumerate(stores)))
        stored = await stores[0].aread("race")
    finally:
        for s in stores:
            await s.aclose()
    assert stored.version == 24
    assert writers_records(stored.records) == Counter(
        {(f"t{n}", i): 1 for n in range(3) for i in range(8)}
    )


@pytest.mark.parametrize("shared", [True, False], ids=["one-store-object", "store-per-thread"])
def test_threads_read_modify_write_lose_nothing(spec: StoreSpec, shared: bool) -> None:
    threads_n, per_thread = 4, 15
    stores = [spec.open()] * threads_n if shared else [spec.open() for _ in range(threads_n)]
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def body(n: int) -> None:
        try:
            barrier.wait()
            rmw_appends(stores[n], "threads", f"w{n}", per_thread)
        except BaseException as exc:  # pragma: no cover - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        stored = stores[0].read("threads")
    finally:
        for s in set(stores):
            s.close()
    assert stored.version == threads_n * per_thread == len(stored.records)
    counts = writers_records(stored.records)
    assert counts == Counter({(f"w{n}", i): 1 for n in range(threads_n) for i in range(per_thread)})
    for n in range(threads_n):  # each writer's records in its own order
        mine = [json.loads(r)["i"] for r in stored.records if json.loads(r)["writer"] == f"w{n}"]
        assert mine == list(range(per_thread))


@pytest.mark.slow
def test_processes_read_modify_write_lose_nothing(spec: StoreSpec) -> None:
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, like two CLI windows
    procs_n, per_proc = 3, 30
    start = ctx.Barrier(procs_n)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=process_writer, args=(spec, "procs", f"p{n}", per_proc, start, results))
        for n in range(procs_n)
    ]
    for p in procs:
        p.start()
    done = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    with spec.open() as store:
        stored = store.read("procs")
    assert set(done) == {f"p{n}" for n in range(procs_n)}
    assert stored.version == procs_n * per_proc == len(stored.records)
    assert writers_records(stored.records) == Counter(
        {(f"p{n}", i): 1 for n in range(procs_n) for i in range(per_proc)}
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_does_not_share_the_parents_connection(spec: StoreSpec) -> None:
    ctx = multiprocessing.get_context("fork")
    with spec.open() as store:
        store.append("fork", [record("parent", 0)], expected_version=0)
        results = ctx.Queue()
        child = ctx.Process(target=forked_writer, args=(store, "fork", 5, results))
        child.start()
        status, value = results.get(timeout=60)
        child.join(30)
        assert (status, child.exitcode) == ("ok", 0), value
        # The parent's connection still works after the child used (and dropped) its copy.
        store.append("fork", [record("parent", 1)], expected_version=store.version("fork"))
        stored = store.read("fork")
    assert writers_records(stored.records) == Counter(
        {("parent", 0): 1, ("parent", 1): 1, **{("child", i): 1 for i in range(5)}}
    )
