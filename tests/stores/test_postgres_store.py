"""What only ``PostgresStore`` does: schemas, secrets kept out of every message, reconnects."""

from __future__ import annotations

import logging
import traceback
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from _services import postgres_dsn

from agentloop.errors import InputError, StoreError
from agentloop.stores import PostgresStore

CANARY = "CANARY-pw-7f3a9"


@pytest.fixture
def dsn() -> str:
    return postgres_dsn()


@pytest.fixture
def schemas(dsn: str) -> Iterator[list[str]]:
    """Schema names for one test, dropped afterwards."""
    names: list[str] = []
    yield names
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'.encode())


def new_schema(names: list[str]) -> str:
    names.append(f"t_pg_{uuid.uuid4().hex[:12]}")
    return names[-1]


def with_password(dsn: str, password: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    user = parts.username or "agentloop"
    host = parts.netloc.rpartition("@")[2]
    quoted = urllib.parse.quote(password, safe="")
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{quoted}@{host}"))


def test_schemas_keep_stores_apart(dsn: str, schemas: list[str]) -> None:
    with (
        PostgresStore(dsn, schema=new_schema(schemas)) as a,
        PostgresStore(dsn, schema=new_schema(schemas)) as b,
    ):
        a.append("same-id", ['{"in":"a"}'], expected_version=0)
        assert b.ids() == [] and b.version("same-id") == 0
        b.append("same-id", ['{"in":"b"}'], expected_version=0)
        assert a.read("same-id").records == ['{"in":"a"}']


def test_repr_hides_the_password(dsn: str) -> None:
    password = urllib.parse.urlsplit(dsn).password
    store = PostgresStore(dsn, schema="t_repr")  # nothing connects until first use
    assert f":{password}@" not in repr(store) and ":***@" in repr(store)
    for form in (
        f"postgresql://u:{CANARY}@127.0.0.1:1/db",
        f"postgresql://u:{urllib.parse.quote(CANARY + '@/:')}@127.0.0.1:1/db",
        f"host=127.0.0.1 port=1 user=u password={CANARY} dbname=db",
        f"host=127.0.0.1 password='{CANARY} x' dbname=db",
        f"postgresql://u@127.0.0.1:1/db?password={CANARY}&sslmode=disable",
    ):
        text = repr(PostgresStore(form))
        assert CANARY not in text and "***" in text, text


def test_a_wrong_password_fails_without_showing_it(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = PostgresStore(with_password(dsn, CANARY), schema="t_never_created")
    with pytest.raises(StoreError) as info:
        store.append("a", ["{}"], expected_version=0)
    err = info.value
    shown = "".join(traceback.format_exception(err)) + repr(err) + caplog.text
    assert "password authentication failed" in str(err) or "connect" in str(err)
    assert "server is running" in str(err)
    assert CANARY not in shown and urllib.parse.quote(CANARY) not in shown


def test_an_unreachable_server_is_a_store_error() -> None:
    store = PostgresStore(f"postgresql://u:{CANARY}@127.0.0.1:1/db?connect_timeout=2")
    with pytest.raises(StoreError, match=r"connecting.*server is running") as info:
        store.read("a")
    assert CANARY not in str(info.value)


def test_the_store_reconnects_after_the_server_dropped_it(dsn: str, schemas: list[str]) -> None:
    import psycopg

    with PostgresStore(dsn, schema=new_schema(schemas)) as store:
        store.append("r", ['{"n":1}'], expected_version=0)
        assert store._conn is not None
        pid = store._conn.info.backend_pid
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreError, match="reconnects on the next call"):
            store.read("r")
        assert store.append("r", ['{"n":2}'], expected_version=1) == 2


async def test_async_reconnects_and_runs_on_several_event_loops(
    dsn: str, schemas: list[str]
) -> None:
    store = PostgresStore(dsn, schema=new_schema(schemas))
    try:
        await store.aappend("l", ['{"loop":1}'], expected_version=0)
        import asyncio
        import threading

        box: list[int] = []
        thread = threading.Thread(
            target=lambda: box.append(
                asyncio.run(store.aappend("l", ['{"loop":2}'], expected_version=1))
            )
        )
        thread.start()
        thread.join(30)
        assert box == [2]
        assert (await store.aread("l")).records == ['{"loop":1}', '{"loop":2}']
    finally:
        await store.aclose()


def test_a_loop_that_ended_takes_its_connection_with_it(dsn: str, schemas: list[str]) -> None:
    """``asyncio.run`` per call: each run's loop gets a connection of its own, closed when that
    loop is collected, not left open on the server until the connection object goes."""
    import asyncio
    import gc
    import warnings

    store = PostgresStore(dsn, schema=new_schema(schemas))
    try:

        async def append(n: int) -> Any:
            await store.aappend("l", [f'{{"n":{n}}}'], expected_version=n)
            return store._aconns[asyncio.get_running_loop()][1][0]

        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)  # "deleted while still open"
            connections = [asyncio.run(append(n)) for n in range(2)]
            gc.collect()
        assert [c.closed for c in connections] == [True, True]
        assert store.read("l").records == ['{"n":0}', '{"n":1}']
    finally:
        store.close()


def test_bad_arguments(dsn: str) -> None:
    with pytest.raises(InputError, match="identifier"):
        PostgresStore(dsn, schema='x"; DROP TABLE y; --')
    with pytest.raises(InputError, match="DSN"):
        PostgresStore("")
