"""Finding the real services that integration tests need (PostgreSQL, Chromium).

A test that needs a missing service skips with the reason printed; with
``AGENTLOOP_TEST_REQUIRE_SERVICES=1`` (set by ``.ci/run``, which starts every service first)
it fails instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

POSTGRES_ENV = "AGENTLOOP_TEST_POSTGRES_DSN"


def unavailable(reason: str) -> NoReturn:
    """Skip (locally) or fail (in CI) because a service is missing."""
    if os.environ.get("AGENTLOOP_TEST_REQUIRE_SERVICES"):
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_dsn() -> str:
    """The DSN of a PostgreSQL server for tests (``AGENTLOOP_TEST_POSTGRES_DSN``)."""
    dsn = os.environ.get(POSTGRES_ENV)
    if not dsn:
        unavailable(
            f"no PostgreSQL: set {POSTGRES_ENV}=postgresql://user:pass@127.0.0.1/db "
            "(bash .ci/services starts one)"
        )
    return dsn


def chromium_path() -> str:
    """The system Chromium (Debian's ``chromium``); browsers are never downloaded."""
    path = os.environ.get("AGENTLOOP_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        unavailable("no chromium on PATH (apt-get install chromium chromium-driver)")
    return path
