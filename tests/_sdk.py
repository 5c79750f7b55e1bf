"""google-genai, the test-only oracle, without its per-call model building.

The SDK (un)marshals every request body, response and SSE event, and resolves its open
unions, through a pydantic model it builds afresh each time with ``create_model`` (4-10 ms of
CPU each: most of the time of the tests that drive it). The same arguments build the same
model, so :func:`models_built_once` builds each once and reuses it; what the SDK validates,
and how, is unchanged.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from _lazy import lazy_module

SERIALIZERS = "google.genai._gaos.utils.serializers"


@contextlib.contextmanager
def models_built_once() -> Iterator[None]:
    """While open, the SDK's ``create_model`` calls with equal arguments share one model."""
    build = lazy_module(SERIALIZERS).create_model  # imports the SDK with the collector off
    serializers = sys.modules[SERIALIZERS]
    built: dict[Any, Any] = {}

    def create_model(name: str, **fields: Any) -> Any:
        key = (
            name,
            *((k, tuple(v.items()) if isinstance(v, dict) else v) for k, v in fields.items()),
        )
        try:
            model = built.get(key)
        except TypeError:  # an unhashable type: built as the SDK builds it
            return build(name, **fields)
        if model is None:
            model = built[key] = build(name, **fields)
        return model

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serializers, "create_model", create_model)
        yield
