"""Fixtures of the shared store suite: every test taking ``spec`` or ``store`` runs once per
store kind (a SQLite file in tmp_path; PostgreSQL from ``AGENTLOOP_TEST_POSTGRES_DSN`` in a
schema of its own per test module, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from _services import postgres_dsn
from _store_workers import StoreSpec

from agentloop.stores import ConversationStore

KINDS = ["sqlite", "postgres"]


@pytest.fixture(scope="module")
def pg_schema() -> Iterator[tuple[str, str]]:
    """(dsn, schema) of a schema private to this test module, dropped after it."""
    dsn = postgres_dsn()
    name = f"t_stores_{uuid.uuid4().hex[:12]}"
    yield dsn, name
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'.encode())


@pytest.fixture(params=KINDS)
def spec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StoreSpec:
    """How to open (another connection to) an empty store of one kind."""
    if request.param == "sqlite":
        return StoreSpec("sqlite", str(tmp_path_factory.mktemp("store") / "store.db"))
    dsn, schema = request.getfixturevalue("pg_schema")
    spec = StoreSpec("postgres", dsn, schema)
    with spec.open() as store:  # the schema is shared by the module's tests: start empty
        for id in store.ids():
            store.delete(id)
    return spec


@pytest.fixture
def store(spec: StoreSpec) -> Iterator[ConversationStore]:
    with spec.open() as opened:
        yield opened
