"""Defaults and one small helper shared across agentloop: each is defined here once."""

from __future__ import annotations

import os

__all__ = ["DEFAULT_MODEL", "new_id"]

DEFAULT_MODEL = "gemini-3.5-flash"
"""The model used when none is given: by ``Conversation``, the CLI, task queues, the web chat."""


def new_id(prefix: str = "", nbytes: int = 8) -> str:
    """A fresh random id: ``prefix`` followed by ``nbytes`` random bytes in hex."""
    return prefix + os.urandom(nbytes).hex()
