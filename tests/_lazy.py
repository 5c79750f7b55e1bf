"""Heavy optional packages, imported where a test uses them rather than at collection.

Every xdist worker collects the whole suite, so a package imported by a test module at module
level is imported by every worker (google-genai, a2a-sdk, dbos, pydantic-evals and mcp cost
0.2-0.4 s of CPU each). ``lazy_module(name)`` stands for the module and imports it on the
first attribute read, so only a worker that runs such a test pays for it;
``require(name)`` skips a module whose package is missing without importing the package.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys
from typing import Any

import pytest


class LazyModule:
    """A module imported on the first attribute read (``sdk.Interaction``)."""

    def __init__(self, name: str) -> None:
        self._lazy_name = name

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            # Collection probes every module-level object (``__test__`` and such): no import.
            raise AttributeError(attribute)
        module = sys.modules.get(self._lazy_name)
        if module is not None:
            return getattr(module, attribute)
        # A first import builds a large heap that lives to the end of the session: the
        # collector waits (as during collection, tests/conftest.py), and tests/conftest.py
        # freezes it after the test.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return getattr(importlib.import_module(self._lazy_name), attribute)
        finally:
            if enabled:
                gc.enable()

    def __repr__(self) -> str:
        return f"<lazy module {self._lazy_name!r}>"


def lazy_module(name: str) -> Any:
    """Stand for module ``name`` (``sdk = lazy_module("google.genai.interactions")``)."""
    return LazyModule(name)


def require(name: str, reason: str | None = None) -> None:
    """Skip the calling test module unless package ``name`` is installed, importing nothing."""
    if importlib.util.find_spec(name) is None:
        pytest.skip(reason or f"needs {name}", allow_module_level=True)
