"""The TLS context of the httpx clients a ``Client`` creates: httpx's default, built once."""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import httpx
import pytest

from agentloop import Client
from agentloop.client._base import tls_context


def test_one_verifying_context_is_shared_and_rebuilt_when_the_ca_settings_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    shared = tls_context()
    assert tls_context() is shared
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # httpx reads it when it builds one
    other = tls_context()
    assert other is not shared and tls_context() is other
    assert other.verify_mode == ssl.CERT_REQUIRED and other.check_hostname


def test_the_http_client_a_client_creates_verifies_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []
    real = httpx.Client.__init__

    def recording(self: httpx.Client, **kwargs: Any) -> None:
        made.append(kwargs.get("verify"))
        real(self, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", recording)
    with Client(api_key="k"):
        pass
    assert made == [tls_context()]  # the async client is its unasync mirror
