"""Shared test configuration. Tests never touch the network: no real API key may leak in."""

from __future__ import annotations

import gc
import sys

import pytest


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_BASE_URL",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_USE_ENTERPRISE",
        "GOOGLE_GENAI_API_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> object:
    # Collection builds a large heap that lives to the end of the session; collecting garbage
    # while it grows only re-walks it (about 2 s of CPU per worker), so the collector waits.
    gc.disable()
    try:
        return (yield)
    finally:
        gc.enable()


_MODULES_FROZEN = [0]  # len(sys.modules) at the last gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    # Everything collection built (modules, test items, parametrized values) lives to the end
    # of the session: moving it out of the collector's reach keeps each later full collection
    # from walking it again (several seconds of CPU per worker on this suite).
    gc.freeze()
    _MODULES_FROZEN[0] = len(sys.modules)


def pytest_runtest_logfinish() -> None:
    # Heavy optional packages (google-genai, a2a-sdk, dbos, pydantic-ai, mcp, starlette) are
    # imported by the first test that uses them, not at collection (tests/_lazy.py). Their
    # modules live to the end of the session too: once a test has imported one, collect the
    # garbage and move what is left out of the collector's reach, as after collection.
    if len(sys.modules) - _MODULES_FROZEN[0] >= 100:
        gc.collect()
        gc.freeze()
        _MODULES_FROZEN[0] = len(sys.modules)
