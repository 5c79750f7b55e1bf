"""pytest plugin (entry point ``agentloop``): fixtures backed by the emulator.

Imports nothing heavy at load time: the emulator (and uvicorn for ``emulator_url``) load
only when a fixture is used.

Fixtures: ``emulator`` (a fresh ``Emulator()`` per test), ``emulator_client`` (a sync
``agentloop.Client`` bound in-process), ``async_emulator_client`` (``AsyncClient``) and
``emulator_url`` (base URL of a loopback server running that emulator).

Recordings: with pytest-recording installed, every ``@pytest.mark.vcr`` test gets agentloop's
vcrpy defaults (``agentloop.testing.recordings``): the API key and configured secrets never
reach a cassette, requests match on method, path and JSON body, streams replay. A project's
own ``vcr_config`` fixture still wins option by option. More secrets to keep out: the ini
option ``agentloop_vcr_secret_env`` (names of environment variables); ``agentloop_vcr_defaults
= false`` turns the defaults off for a project whose cassettes are not agentloop's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agentloop.testing import Emulator


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "agentloop_vcr_secret_env",
        "environment variables whose values agentloop keeps out of vcr cassettes (besides "
        "GEMINI_API_KEY and GOOGLE_API_KEY)",
        type="linelist",
        default=[],
    )
    parser.addini(
        "agentloop_vcr_defaults",
        "apply agentloop's vcrpy defaults to @pytest.mark.vcr tests (default true; false leaves "
        "pytest-recording's own)",
        type="bool",
        default=True,
    )


def _secret_env(config: pytest.Config) -> tuple[str, ...]:
    from agentloop.testing.recordings import DEFAULT_SECRET_ENV

    extra = [str(name) for name in config.getini("agentloop_vcr_secret_env")]
    return (*DEFAULT_SECRET_ENV, *extra)


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording's hook: give the test's ``VCR`` agentloop's defaults (the options of
    the ``vcr_config`` fixture still win) and a cassette writer that scrubs secrets."""
    from agentloop.testing.recordings import configure_vcr

    if config.getini("agentloop_vcr_defaults"):
        configure_vcr(vcr, secret_env=_secret_env(config))


class _VcrConfig:
    """Registered after pytest-recording, so its ``vcr_config`` (``{}``) gives way to this one;
    a project's own ``vcr_config`` fixture (in a conftest) still overrides it."""

    @pytest.fixture
    def vcr_config(self, request: pytest.FixtureRequest) -> dict[str, Any]:
        """agentloop's vcrpy options (``agentloop.testing.recordings.vcr_config()``)."""
        from agentloop.testing.recordings import vcr_config

        return vcr_config(secret_env=_secret_env(request.config))


def pytest_configure(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if (
        manager.has_plugin("recording")
        and not manager.has_plugin("agentloop-vcr-config")
        and config.getini("agentloop_vcr_defaults")
    ):
        config.pluginmanager.register(_VcrConfig(), "agentloop-vcr-config")


REPLAY_KEY = "replayed-from-cassette"
"""The ``GEMINI_API_KEY`` a ``@pytest.mark.vcr`` test gets while it replays a cassette with no
key set (requests never leave the process; the key is not matched)."""


@pytest.fixture(autouse=True)
def _agentloop_replay_key(request: pytest.FixtureRequest) -> Iterator[None]:
    """Replaying needs no key: a vcr test whose cassette has recordings gets a stand-in key."""
    import os

    if request.node.get_closest_marker("vcr") is None or os.environ.get("GEMINI_API_KEY"):
        yield
        return
    try:
        cassette = request.getfixturevalue("vcr")
    except pytest.FixtureLookupError:  # pytest-recording is not installed
        cassette = None
    if cassette is None or not len(cassette):
        yield
        return
    os.environ["GEMINI_API_KEY"] = REPLAY_KEY
    try:
        yield
    finally:
        if os.environ.get("GEMINI_API_KEY") == REPLAY_KEY:
            del os.environ["GEMINI_API_KEY"]


@pytest.fixture
def emulator() -> Emulator:
    """A fresh emulator (demo model, any API key accepted)."""
    from agentloop.testing import Emulator

    return Emulator()


@pytest.fixture
def emulator_client(emulator: Emulator) -> Iterator[Any]:
    """An ``agentloop.Client`` talking to ``emulator`` in-process; closed after the test."""
    client = emulator.client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def async_emulator_client(emulator: Emulator) -> Any:
    """An ``agentloop.AsyncClient`` talking to ``emulator`` in-process.

    A plain (sync) fixture, so it works in any pytest-asyncio mode (``strict`` included, no
    ``asyncio_mode = auto`` needed) and with anyio: the in-process client holds no sockets
    and needs no ``await`` to set up or close.
    """
    return emulator.async_client()


@pytest.fixture
def emulator_url(emulator: Emulator) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of a loopback server running ``emulator``."""
    with emulator.serve() as url:
        yield url
