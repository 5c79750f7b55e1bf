"""``open_store`` picks the store from a URL or path (that ``import agentloop.stores`` stays light
is checked with the other light imports in tests/client/test_import.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentloop.errors import InputError
from agentloop.stores import ConversationStore, PostgresStore, SQLiteStore, open_store


def test_postgres_urls() -> None:
    for url in ("postgresql://u:pw@127.0.0.1:1/db", "postgres://u:pw@127.0.0.1:1/db"):
        store = open_store(url)  # connects on first use only
        assert isinstance(store, PostgresStore) and isinstance(store, ConversationStore)
        assert "pw" not in repr(store)


def test_sqlite_url_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url_store = open_store(f"sqlite://{tmp_path}/a.db")
    assert isinstance(url_store, SQLiteStore) and url_store.path == tmp_path / "a.db"
    url_store.append("x", ["{}"], expected_version=0)
    url_store.close()
    with open_store(str(tmp_path / "a.db")) as plain:  # the same file by plain path
        assert plain.version("x") == 1
    with open_store(tmp_path / "b.db") as from_path:
        assert isinstance(from_path, SQLiteStore)
    monkeypatch.setenv("HOME", str(tmp_path))
    with open_store("~/c.db") as home:
        assert isinstance(home, SQLiteStore) and home.path == tmp_path / "c.db"


def test_unknown_or_empty() -> None:
    with pytest.raises(InputError, match=r"mysql.*postgresql://"):
        open_store("mysql://u@h/db")
    with pytest.raises(InputError, match="needs a path"):
        open_store("sqlite://")
    with pytest.raises(InputError, match="empty"):
        open_store("")
