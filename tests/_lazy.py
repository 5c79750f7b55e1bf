"""Heavy optional packages, imported where a test uses them rather than at collection.

Every xdist worker collects the whole suite, so a package imported by a test module at module
level is imported by every worker (google-genai, a2a-sdk, dbos, pydantic-evals and mcp cost
0.2-0.4 s of CPU each). ``lazy_module(name)`` stands for the module and imports it on the
first attribute read, so only a worker that runs such a test pays for it;
``require(name)`` skips a module whose package is missing without importing the package.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

import pytest


class LazyModule:
    """A module imported on the first attribute read (``sdk.Interaction``)."""

    def __init__(self, name: str) -> None:
        self._lazy_name = name

    def _lazy_load(self) -> ModuleType:
        return importlib.import_module(self._lazy_name)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            # Collection probes every module-level object (``__test__`` and such): no import.
            raise AttributeError(attribute)
        return getattr(self._lazy_load(), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._lazy_name!r}>"


def lazy_module(name: str) -> Any:
    """Stand for module ``name`` (``sdk = lazy_module("google.genai.interactions")``)."""
    return LazyModule(name)


def require(name: str, reason: str | None = None) -> None:
    """Skip the calling test module unless package ``name`` is installed, importing nothing."""
    if importlib.util.find_spec(name) is None:
        pytest.skip(reason or f"needs {name}", allow_module_level=True)
