"""Recordings: record live Interactions API traffic once with vcrpy, replay it offline.

``pip install 'agentloop[recordings]'`` (vcrpy and pytest-recording). With pytest-recording
installed, the agentloop pytest plugin applies :func:`vcr_config` to every
``@pytest.mark.vcr`` test: ``pytest --record-mode=once`` records a cassette, later runs replay
it with no key and no network. Outside pytest, ``use_cassette(path)`` does the same.

The defaults:

- the API key never reaches a cassette: the ``x-goog-api-key`` and ``Authorization`` headers
  and the ``key`` query parameter are removed, and the values of ``GEMINI_API_KEY``,
  ``GOOGLE_API_KEY`` and any configured secret are replaced by a placeholder wherever they
  appear (headers, URLs, bodies, responses). The cassette writer scrubs again, so a project's
  own ``vcr_config`` cannot let the key through;
- requests match on method, path and JSON body (key order ignored), not on host or port, so
  a cassette recorded against one server replays for any base URL;
- streamed (SSE) responses are recorded whole and replayed through the same stream decoder;
- a request no recording matches fails with vcrpy's explanation and a diff of its JSON body
  against the closest recorded request.

vcrpy is imported only when a cassette is used: ``import agentloop.testing`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "API_KEY_HEADERS",
    "API_KEY_QUERY_PARAMETERS",
    "DEFAULT_SECRET_ENV",
    "configure_vcr",
    "scrub_cassette",
    "use_cassette",
    "vcr_config",
]

API_KEY_HEADERS = ("x-goog-api-key", "authorization")
"""Request headers removed before a request is recorded or matched."""
API_KEY_QUERY_PARAMETERS = ("key",)
"""Query parameters removed before a request is recorded or matched."""
DEFAULT_SECRET_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
"""Environment variables whose values are replaced by ``<NAME>`` in cassettes."""

MATCH_ON = ("method", "path", "body")


def _secret_pairs(
    secrets: Iterable[str], secret_env: Iterable[str]
) -> list[tuple[str, Callable[..., str | None]]]:
    pairs: list[tuple[str, Callable[..., str | None]]] = []
    for name in secret_env:
        pairs.append((f"<{name}>", lambda _rq=None, _rs=None, name=name: os.environ.get(name)))
    for i, value in enumerate(secrets, 1):
        pairs.append((f"<SECRET-{i}>", lambda _rq=None, _rs=None, value=value: value))
    return pairs


def vcr_config(
    *,
    secrets: Iterable[str] = (),
    secret_env: Iterable[str] = DEFAULT_SECRET_ENV,
) -> dict[str, Any]:
    """agentloop's vcrpy options: keyword arguments for ``vcr.VCR(...)`` or
    ``vcr.use_cassette(path, ...)``, or the value of a pytest-recording ``vcr_config`` fixture.

    ``secrets``: more literal values to keep out of cassettes (tokens, passwords);
    ``secret_env``: environment variables whose values are kept out.
    """
    return {
        "match_on": MATCH_ON,
        "filter_headers": [(h, None) for h in API_KEY_HEADERS],
        "filter_query_parameters": [(q, None) for q in API_KEY_QUERY_PARAMETERS],
        "filter_sensitive_data": _secret_pairs(list(secrets), list(secret_env)),
        "decode_compressed_response": True,
    }


def scrub_cassette(
    cassette: dict[str, Any], *, secrets: Iterable[str] = (), secret_env: Iterable[str] = ()
) -> dict[str, Any]:
    """A copy of a vcrpy cassette dict (``{"requests": [...], "responses": [...]}``) without
    API key headers, key query parameters and the given secret values."""
    from vcr import filters
    from vcr.request import Request

    values = [v for v in secrets if v]
    values += [os.environ[n] for n in (*DEFAULT_SECRET_ENV, *secret_env) if os.environ.get(n)]
    requests = []
    for request in cassette.get("requests", []):
        if isinstance(request, Request):
            request = Request._from_dict(request._to_dict())
            filters.replace_headers(request, [(h, None) for h in API_KEY_HEADERS])
            filters.replace_query_parameters(request, [(q, None) for q in API_KEY_QUERY_PARAMETERS])
            for value in values:
                request = Request._from_dict(
                    filters.replace_text(request._to_dict(), value, "<SECRET>")
                )
        requests.append(request)
    responses = list(cassette.get("responses", []))
    for value in values:
        responses = filters.replace_text(responses, value, "<SECRET>")
    return {**cassette, "requests": requests, "responses": responses}


class _ScrubbingPersister:
    """Wraps a vcrpy persister: every cassette is scrubbed again as it is written."""

    def __init__(self, inner: Any, secrets: Iterable[str], secret_env: Iterable[str]) -> None:
        self.inner = inner
        self.secrets = list(secrets)
        self.secret_env = list(secret_env)

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        return self.inner.load_cassette(cassette_path, serializer=serializer)

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        scrubbed = scrub_cassette(cassette_dict, secrets=self.secrets, secret_env=self.secret_env)
        self.inner.save_cassette(cassette_path, scrubbed, serializer=serializer)


def configure_vcr(
    vcr: Any, *, secrets: Iterable[str] = (), secret_env: Iterable[str] = DEFAULT_SECRET_ENV
) -> Any:
    """Give a ``vcr.VCR`` agentloop's defaults (:func:`vcr_config`; options passed to its
    ``use_cassette`` still win) and a cassette writer that scrubs the API key and secrets."""
    secrets, secret_env = list(secrets), list(secret_env)
    for key, value in vcr_config(secrets=secrets, secret_env=secret_env).items():
        setattr(vcr, key, value)
    if not isinstance(vcr.persister, _ScrubbingPersister):
        vcr.register_persister(_ScrubbingPersister(vcr.persister, secrets, secret_env))
    return vcr


def use_cassette(
    path: str | os.PathLike[str],
    *,
    record_mode: str = "once",
    secrets: Iterable[str] = (),
    secret_env: Iterable[str] = DEFAULT_SECRET_ENV,
) -> Any:
    """A vcrpy cassette context (``with use_cassette("case.yaml"): ...``) with agentloop's
    defaults: with ``record_mode="once"`` a missing cassette is recorded from live traffic and
    an existing one is replayed (an unmatched request then fails)."""
    try:
        import vcr as vcrpy
    except ImportError:
        from agentloop.errors import ConfigurationError

        raise ConfigurationError(
            "recordings need vcrpy: pip install 'agentloop[recordings]'"
        ) from None
    recorder = configure_vcr(
        vcrpy.VCR(record_mode=record_mode), secrets=secrets, secret_env=secret_env
    )
    return recorder.use_cassette(str(Path(path)))
